/*
 * cli.c — chalk-cli: redis-cli's flags and modes on top of libchalk, plus
 * two teaching modes (--wire, --time).
 *
 * The one idea: a CLI is a thin loop — split a line into arguments, send
 * them as one RESP array, print the reply the way people already read it.
 * Everything interesting (timeouts, RESP3, the parser's defences) is the
 * library's; this file only chooses WHICH loop: arguments on the command
 * line, lines on stdin, the interactive REPL (cli_repl.c), --latency or
 * --scan.
 *
 * Flags (redis-cli's where they exist):
 *   -h host  -p port  -s socket  -a password  --user name  -n db
 *   -r count (-1 = forever)  -i seconds between repeats
 *   -x  read the last argument from stdin      -e  exit 1 on an error reply
 *   -2 / -3  RESP2 / RESP3 (HELLO)              --raw / --no-raw
 *   --latency  --scan [--pattern p] [--count n]
 *   --wire  print the RESP bytes sent and received, escaped and annotated
 *   --time  print each command's round-trip time
 *
 * Left out on purpose: --cluster, --bigkeys, --rdb, --pipe, --csv, TLS.
 * Cost: use redis-cli for those; Chalk speaks the same protocol.
 *
 * Interview topics: none directly (docs/client.md: "Reading the wire").
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fputs("Usage: chalk-cli [OPTIONS] [cmd [arg [arg ...]]]\n"
          "  -h <host>        Server hostname (default: 127.0.0.1).\n"
          "  -p <port>        Server port (default: 6379).\n"
          "  -s <socket>      Server socket (overrides hostname and port).\n"
          "  -a <password>    Password to use when connecting to the server.\n"
          "  --user <name>    Username (ACL) to send with AUTH/HELLO.\n"
          "  -n <db>          Database number.\n"
          "  -r <repeat>      Execute specified command N times (-1: forever).\n"
          "  -i <interval>    Wait <interval> seconds per command (-r, --latency).\n"
          "  -x               Read last argument from STDIN.\n"
          "  -e               Return exit error code when command execution fails.\n"
          "  -2 | -3          Start session in RESP2 | RESP3 protocol mode.\n"
          "  --raw            Use raw formatting for replies.\n"
          "  --no-raw         Force formatted output even if not a tty.\n"
          "  --latency        Sample PING round trips continuously.\n"
          "  --scan           List all keys using SCAN.\n"
          "  --pattern <pat>  Keys pattern for --scan.\n"
          "  --count <n>      COUNT hint for --scan.\n"
          "  --wire           Print the RESP bytes sent and received (teaching).\n"
          "  --time           Print each command's round-trip time.\n"
          "  --help, --version\n", f);
}

/* Needs a value after flag i? Returns it, or exits with usage. */
static const char *need_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "Unrecognized option or bad number of args for: '%s'\n",
                argv[*i]);
        exit(1);
    }
    return argv[++*i];
}

/* Parses flags; returns the index of the first command word. */
static int parse_flags(cli_config *cfg, int argc, char **argv)
{
    int i;
    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") && i + 1 < argc) cfg->conn.host = need_value(argc, argv, &i);
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); exit(0); }
        else if (!strcmp(a, "-p")) cfg->conn.port = atoi(need_value(argc, argv, &i));
        else if (!strcmp(a, "-s")) cfg->conn.unix_path = need_value(argc, argv, &i);
        else if (!strcmp(a, "-a") || !strcmp(a, "--pass")) {
            cfg->conn.password = need_value(argc, argv, &i);
            fputs("Warning: Using a password with '-a' or '-u' option on the "
                  "command line interface may not be safe.\n", stderr);
        }
        else if (!strcmp(a, "--user")) cfg->conn.user = need_value(argc, argv, &i);
        else if (!strcmp(a, "-n")) cfg->conn.db = atoi(need_value(argc, argv, &i));
        else if (!strcmp(a, "-r")) cfg->repeat = atoi(need_value(argc, argv, &i));
        else if (!strcmp(a, "-i")) cfg->interval = atof(need_value(argc, argv, &i));
        else if (!strcmp(a, "-x")) cfg->stdin_last_arg = 1;
        else if (!strcmp(a, "-e")) cfg->exit_on_error = 1;
        else if (!strcmp(a, "-2")) cfg->conn.protocol = 2;
        else if (!strcmp(a, "-3")) cfg->conn.protocol = 3;
        else if (!strcmp(a, "--raw")) cfg->raw = 1;
        else if (!strcmp(a, "--no-raw")) cfg->raw = 0;
        else if (!strcmp(a, "--wire")) cfg->wire = 1;
        else if (!strcmp(a, "--time")) cfg->time = 1;
        else if (!strcmp(a, "--latency")) cfg->latency = 1;
        else if (!strcmp(a, "--scan")) cfg->scan = 1;
        else if (!strcmp(a, "--pattern")) cfg->pattern = need_value(argc, argv, &i);
        else if (!strcmp(a, "--count")) cfg->count = atoi(need_value(argc, argv, &i));
        else if (!strcmp(a, "-v") || !strcmp(a, "--version")) {
            printf("chalk-cli %s (git:%s)\n", CHALK_VERSION, CHALK_GIT_SHA);
            exit(0);
        } else {
            fprintf(stderr, "Unrecognized option or bad number of args for: '%s'\n", a);
            exit(1);
        }
    }
    return i;
}

/* AUTH, HELLO and SELECT after connecting, each allowed to fail with a
 * warning, as redis-cli does (a wrong password still gives a prompt, and
 * the server's NOAUTH replies explain the rest). */
static void cli_session_setup(cli_config *cfg)
{
    chalkc_reply *r = NULL;
    int rc;
    if (cfg->conn.password) {
        if (cfg->conn.user)
            rc = chalkc_command(cfg->c, &r, "AUTH %s %s", cfg->conn.user,
                                cfg->conn.password);
        else
            rc = chalkc_command(cfg->c, &r, "AUTH %s", cfg->conn.password);
        if (rc == CHALKC_ESERVER)
            fprintf(stderr, "AUTH failed: %s\n", r->str);
        chalkc_reply_free(r);
    }
    if (cfg->conn.protocol == 3) {
        rc = chalkc_hello(cfg->c, 3, NULL, NULL, &r);
        if (rc == CHALKC_ESERVER)
            fprintf(stderr, "HELLO failed: %s\n", chalkc_conn_errstr(cfg->c));
        chalkc_reply_free(r);
    }
    if (cfg->conn.db > 0) {
        rc = chalkc_command(cfg->c, &r, "SELECT %d", cfg->conn.db);
        if (rc == CHALKC_ESERVER) {      /* redis-cli's words; stay in db 0 */
            fprintf(stderr, "SELECT %d failed: %s\n", cfg->conn.db, r->str);
            cfg->conn.db = 0;
        }
        chalkc_reply_free(r);
    }
}

int cli_connect(cli_config *cfg)
{
    char err[256];
    if (cfg->c)
        return 0;
    chalkc_options plain = cfg->conn;
    plain.password = NULL;
    plain.protocol = 0;
    plain.db = 0;
    int rc = chalkc_connect(&plain, &cfg->c, err, sizeof(err));
    if (rc != 0) {
        if (cfg->conn.unix_path)
            fprintf(stderr, "Could not connect to Chalk at %s: %s\n",
                    cfg->conn.unix_path, err);
        else
            fprintf(stderr, "Could not connect to Chalk at %s:%d: %s\n",
                    cfg->conn.host, cfg->conn.port, err);
        return rc;
    }
    if (cfg->wire) {
        if (!cfg->wire_state)
            cfg->wire_state = calloc(1, cli_wire_state_size());
        if (cfg->wire_state)
            chalkc_set_wire_tap(cfg->c, cli_wire_tap, cfg->wire_state);
    }
    cli_session_setup(cfg);
    return 0;
}

static void sleep_seconds(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {.tv_sec = (time_t)s,
                          .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_reply(cli_config *cfg, const chalkc_reply *r)
{
    char *out;
    size_t len;
    if (cli_format_reply(r, cfg->raw, &out, &len) != 0)
        return;
    fwrite(out, 1, len, stdout);
    fflush(stdout);
    free(out);
}

/* Remembers what a reconnect must restore (the db after SELECT). */
static void track_session(cli_config *cfg, int argc, char **argv,
                          const chalkc_reply *r)
{
    if (argc == 2 && !strcasecmp(argv[0], "select") &&
        r->type == CHALKC_REPLY_STATUS)
        cfg->conn.db = atoi(argv[1]);
    if (argc == 1 && !strcasecmp(argv[0], "multi") &&
        r->type == CHALKC_REPLY_STATUS)
        cfg->in_tx = 1;
    if (argc == 1 && (!strcasecmp(argv[0], "exec") ||
                      !strcasecmp(argv[0], "discard")))
        cfg->in_tx = 0;
}

static int is_subscribe(const char *cmd)
{
    return !strcasecmp(cmd, "subscribe") || !strcasecmp(cmd, "psubscribe") ||
           !strcasecmp(cmd, "ssubscribe");
}

/* After (P)SUBSCRIBE the connection only listens: print every message
 * (and further confirmations) until the server goes away or Ctrl-C. */
static int listen_forever(cli_config *cfg)
{
    for (;;) {
        chalkc_reply *r;
        int rc = chalkc_get_reply(cfg->c, &r);
        if (rc != 0 && rc != CHALKC_ESERVER) {
            fprintf(stderr, "Error: %s\n", chalkc_conn_errstr(cfg->c));
            chalkc_close(cfg->c);
            cfg->c = NULL;
            return rc;
        }
        print_reply(cfg, r);
        chalkc_reply_free(r);
    }
}

int cli_run_command(cli_config *cfg, int argc, char **argv, size_t *lens)
{
    long long times = cfg->repeat;
    int retried = 0;
    for (long long n = 0; times < 0 || n < times; n++) {
        if (n > 0 && !retried)
            sleep_seconds(cfg->interval);
        int rc = cli_connect(cfg);
        if (rc != 0)
            return rc;
        chalkc_reply *r = NULL;
        if (is_subscribe(argv[0]) && !cfg->raw)
            printf("Reading messages... (press Ctrl-C to quit)\n");
        double t0 = now_seconds();
        rc = chalkc_command_argv(cfg->c, argc, (const char *const *)argv,
                                 lens, &r);
        double dt = now_seconds() - t0;
        if (rc != 0 && rc != CHALKC_ESERVER) {
            fprintf(stderr, "Error: %s\n", chalkc_conn_errstr(cfg->c));
            chalkc_close(cfg->c);
            cfg->c = NULL;
            /* Like redis-cli: in the REPL, a connection the server closed
             * (it restarted) is re-made and the command sent once more. */
            if (!cfg->interactive || retried++ ||
                (rc != CHALKC_ECLOSED && rc != CHALKC_EIO))
                return rc;
            n--;
            continue;
        }
        if (rc == CHALKC_ESERVER && cfg->exit_on_error) {
            /* redis-cli -e: the error goes to stderr, and we stop here. */
            fprintf(stderr, "%s\n", r->str);
            chalkc_reply_free(r);
            cfg->saw_error = 1;
            return CHALKC_ESERVER;
        }
        track_session(cfg, argc, argv, r);
        print_reply(cfg, r);
        if (cfg->time)
            printf("(%.3f ms round trip)\n", dt * 1000.0);
        int subscribed = is_subscribe(argv[0]) && r->type != CHALKC_REPLY_ERROR;
        chalkc_reply_free(r);
        if (subscribed)
            return listen_forever(cfg);
    }
    return 0;
}

/* -x: the whole of stdin becomes one more argument. */
static int read_stdin_arg(char **out, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf)
            return CHALKC_ENOMEM;
        size_t got = fread(buf + n, 1, cap - n, stdin);
        n += got;
        if (got == 0)
            break;
        if (n == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    *out = buf;
    *len = n;
    return 0;
}

static int run_args(cli_config *cfg, int argc, char **argv)
{
    size_t *lens = calloc((size_t)argc + 1, sizeof(*lens));
    char **args = calloc((size_t)argc + 1, sizeof(*args));
    char *extra = NULL;
    int rc = 0;
    if (!lens || !args)
        return 1;
    for (int i = 0; i < argc; i++) {
        args[i] = argv[i];
        lens[i] = strlen(argv[i]);
    }
    if (cfg->stdin_last_arg && read_stdin_arg(&extra, &lens[argc]) == 0)
        args[argc++] = extra;
    rc = cli_run_command(cfg, argc, args, lens);
    free(extra);
    free(args);
    free(lens);
    return rc != 0 ? 1 : 0;
}

/* Commands from stdin, one per line, split like the REPL splits them. */
static int run_stdin(cli_config *cfg)
{
    char *line = NULL;
    size_t cap = 0;
    int status = 0;
    cfg->exit_on_error = 0; /* as redis-cli: -e applies to arguments only */
    while (getline(&line, &cap, stdin) >= 0) {
        char **argv;
        size_t *lens;
        int argc = cli_split_args(line, &argv, &lens);
        if (argc < 0) {
            fputs("Invalid argument(s)\n", stderr);
            continue;
        }
        if (argc > 0 && cli_run_command(cfg, argc, argv, lens) != 0)
            status = 1;
        cli_free_args(argc, argv, lens);
        if (status)
            break;
    }
    free(line);
    return status;
}

/* --latency: PING every 10 ms; on a TTY, redraw min/max/avg in place; else
 * run for -i seconds (default 15) and print "min max avg samples" once. */
static int run_latency(cli_config *cfg, int tty)
{
    double min = 1e18, max = 0, sum = 0, start = now_seconds();
    long long count = 0;
    double span = cfg->interval > 0 ? cfg->interval : 15;
    if (cli_connect(cfg) != 0)
        return 1;
    for (;;) {
        chalkc_reply *r;
        double t0 = now_seconds();
        int rc = chalkc_command(cfg->c, &r, "PING");
        double ms = (now_seconds() - t0) * 1000.0;
        chalkc_reply_free(r);
        if (rc != 0) {
            fprintf(stderr, "\nI/O error: %s\n", chalkc_conn_errstr(cfg->c));
            return 1;
        }
        count++;
        sum += ms;
        min = ms < min ? ms : min;
        max = ms > max ? ms : max;
        if (tty) {
            printf("\x1b[0G\x1b[2Kmin: %.3f, max: %.3f, avg: %.3f (%lld samples)",
                   min, max, sum / (double)count, count);
            fflush(stdout);
        } else if (now_seconds() - start > span) {
            printf("%.3f %.3f %.3f %lld\n", min, max, sum / (double)count, count);
            return 0;
        }
        sleep_seconds(0.01);
    }
}

/* --scan: SCAN until the cursor comes back to 0, one key per line. */
static int run_scan(cli_config *cfg)
{
    char cursor[32] = "0";
    if (cli_connect(cfg) != 0)
        return 1;
    do {
        const char *argv[7] = {"SCAN", cursor};
        char count[16];
        int argc = 2;
        if (cfg->pattern) {
            argv[argc++] = "MATCH";
            argv[argc++] = cfg->pattern;
        }
        if (cfg->count > 0) {
            snprintf(count, sizeof(count), "%d", cfg->count);
            argv[argc++] = "COUNT";
            argv[argc++] = count;
        }
        chalkc_reply *r;
        int rc = chalkc_command_argv(cfg->c, argc, argv, NULL, &r);
        if (rc != 0 || r->type != CHALKC_REPLY_ARRAY || r->elements != 2 ||
            r->element[1]->type != CHALKC_REPLY_ARRAY) {
            fprintf(stderr, "Error: %s\n", r && r->str ? r->str
                    : chalkc_conn_errstr(cfg->c));
            chalkc_reply_free(r);
            return 1;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            const chalkc_reply *k = r->element[1]->element[i];
            fwrite(k->str, 1, k->len, stdout);
            fputc('\n', stdout);
        }
        chalkc_reply_free(r);
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

int main(int argc, char **argv)
{
    cli_config cfg = {0};
    chalkc_options_init(&cfg.conn);
    cfg.repeat = 1;
    cfg.raw = !isatty(STDOUT_FILENO);
    int first = parse_flags(&cfg, argc, argv);
    int status;
    if (cfg.latency)
        status = run_latency(&cfg, isatty(STDOUT_FILENO) && !cfg.raw);
    else if (cfg.scan)
        status = run_scan(&cfg);
    else if (first < argc)
        status = run_args(&cfg, argc - first, argv + first);
    else if (!isatty(STDIN_FILENO))
        status = run_stdin(&cfg);
    else
        status = cli_repl(&cfg);
    chalkc_close(cfg.c);
    free(cfg.wire_state);
    return status;
}
