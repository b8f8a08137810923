/*
 * main.c — chalk-server's entry point: read the configuration (defaults,
 * then an optional config file, then --flags), start, run, shut down.
 *
 *   chalk-server                                   defaults: 127.0.0.1:6379, ./data
 *   chalk-server /etc/chalk.conf                   redis.conf syntax
 *   chalk-server --port 6380 --dir /tmp/x          flags, like redis-server
 *   chalk-server chalk.conf --appendfsync always   flags override the file
 *
 * Everything else lives in chalk_server_core (server.c and friends) so that
 * tests link it without this main().
 *
 * The one idea: configuration has one source of truth, applied in layers:
 * the flags become config-file text, parsed after the file by the same
 * table (config.c), so "flags win" needs no second parser.
 *
 * Left out on purpose: daemonizing and a sentinel mode; the cost is that a
 * service manager (systemd) must supervise it and restart it, and failover
 * needs an outside coordinator (docs/replication.md).
 *
 * Interview topics: none tagged here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: chalk-server [/path/to/chalk.conf] [options]\n"
            "       chalk-server -v or --version\n"
            "       chalk-server -h or --help\n\n"
            "Examples:\n"
            "       chalk-server (run with the defaults: 127.0.0.1:6379, data in ./data)\n"
            "       chalk-server /etc/chalk/6379.conf\n"
            "       chalk-server --port 7777 --dir /tmp/chalk\n"
            "       chalk-server /etc/mychalk.conf --loglevel verbose\n");
}

/* Turn "--port 6380 --bind a b" into "port 6380\nbind a b\n", Redis's way:
 * a value runs until the next "--name". Values are quoted so that spaces
 * inside one survive the config parser. */
static char *flags_to_config(int argc, char **argv, int first)
{
    size_t cap = 1;
    for (int i = first; i < argc; i++)
        cap += strlen(argv[i]) * 2 + 8;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t off = 0;
    out[0] = '\0';
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1] == '-' && a[2]) {
            off += (size_t)snprintf(out + off, cap - off, "%s%s", off ? "\n" : "", a + 2);
            continue;
        }
        off += (size_t)snprintf(out + off, cap - off, " \"");
        for (; *a && off + 3 < cap; a++) {
            if (*a == '"' || *a == '\\')
                out[off++] = '\\';
            out[off++] = *a;
        }
        off += (size_t)snprintf(out + off, cap - off, "\"");
    }
    snprintf(out + off, cap - off, "\n");
    return out;
}

static int load_config(int argc, char **argv)
{
    char err[512];
    config_init_defaults(&server.cfg);
    int first = 1;
    if (argc > 1 && argv[1][0] != '-') {
        snprintf(server.config_file, sizeof server.config_file, "%s", argv[1]);
        if (argv[1][0] != '/') {
            char cwd[2048];
            if (getcwd(cwd, sizeof cwd))
                snprintf(server.config_file, sizeof server.config_file, "%s/%s", cwd, argv[1]);
        }
        if (config_load_file(&server.cfg, argv[1], err, sizeof err) < 0) {
            fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (Chalk %s) ***\n%s\n", CHALK_VERSION, err);
            return -1;
        }
        first = 2;
    }
    char *text = flags_to_config(argc, argv, first);
    if (!text || config_load_string(&server.cfg, text, err, sizeof err) < 0) {
        fprintf(stderr, "\n*** FATAL CONFIG ERROR (Chalk %s) ***\nIn the command line options: %s\n",
                CHALK_VERSION, text ? err : "out of memory");
        free(text);
        return -1;
    }
    free(text);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version"))) {
        printf("Chalk server v=%s redis_version=%s sha=%s bits=%d\n", CHALK_VERSION,
               CHALK_REDIS_VERSION, CHALK_GIT_SHA, (int)(sizeof(void *) * 8));
        return 0;
    }
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
    }
    snprintf(server.exec_path, sizeof server.exec_path, "%s", argv[0]);
    if (load_config(argc, argv) < 0)
        return 1;
    if (server_init() < 0) {
        server_shutdown();
        return 1;
    }
    int rc = server_run();
    server_shutdown();
    return rc < 0 ? 1 : 0;
}
