/*
 * config.c — the settings table: defaults, redis.conf syntax, the command
 * line, CONFIG GET / SET / REWRITE.
 *
 * The one idea: one row per setting (name, type, where it lives in
 * chalk_config, default, range, flags). Parsing a file, parsing flags,
 * CONFIG GET and CONFIG SET are all loops over this table, so a new setting
 * is one row and can never be readable but not settable by accident.
 *
 * The file syntax is redis.conf's: one directive per line, `name value...`,
 * '#' comments, values split like a shell (quotes allowed). The command
 * line `chalk-server [file] --port 6380 --dir /tmp/x` is turned into the
 * same text ("port 6380\ndir /tmp/x\n") and applied after the file, so
 * flags win, as with redis-server.
 *
 * Left out on purpose: `include`, and changing dir, bind or port at run
 * time (the engine and the listeners are set up once; CONFIG SET refuses
 * them as immutable). appendfsync does change at run time: cmd_config.c
 * hands it to the engine (chalk_set_fsync). Settings Redis has but Chalk does not use
 * (save, appendonly, maxmemory...) are accepted and reported so that
 * redis.conf files and redis-benchmark keep working; CONFIG GET shows them.
 *
 * Interview topics: none tagged here; the appendfsync row is the
 * user-facing side of tx.durability (engine/policy.c), protected-mode and
 * requirepass of security.basics (networking.c).
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "resp_parse.h"
#include "server.h"
#include "util.h"

enum cfg_type { T_BOOL, T_INT, T_MEMORY, T_STRING, T_ENUM, T_OCTAL, T_OBUF };
enum {
    F_IMMUTABLE = 1 << 0,   /* start-up only */
    F_PROTECTED = 1 << 1,   /* a path: CONFIG SET needs enable-protected-configs */
    F_SENSITIVE = 1 << 2,   /* not logged */
};

typedef struct config_def {
    const char *name;
    enum cfg_type type;
    size_t offset;               /* into chalk_config */
    const char *deflt;
    long long min, max;
    const char *const *names;    /* T_ENUM: value names, index = value */
    unsigned flags;
} config_def;

static const char *const fsync_names[] = {"no", "everysec", "always", NULL};
static const char *const level_names[] = {"debug", "verbose", "notice", "warning", "nothing", NULL};
static const char *const io_names[] = {"auto", "uring", "epoll", NULL};
static const char *const prot_names[] = {"no", "yes", "local", NULL};

#define OFF(f) offsetof(chalk_config, f)
#define GB (1024LL * 1024 * 1024)

static const config_def table[] = {
    {"port", T_INT, OFF(port), "6379", 0, 65535, NULL, F_IMMUTABLE},
    {"bind", T_STRING, OFF(bind), "127.0.0.1 -::1", 0, 0, NULL, F_IMMUTABLE},
    {"unixsocket", T_STRING, OFF(unixsocket), "", 0, 0, NULL, F_IMMUTABLE | F_PROTECTED},
    {"unixsocketperm", T_OCTAL, OFF(unixsocketperm), "0", 0, 0777, NULL, F_IMMUTABLE},
    {"dir", T_STRING, OFF(dir), "./data", 0, 0, NULL, F_IMMUTABLE | F_PROTECTED},
    {"appendfsync", T_ENUM, OFF(appendfsync), "everysec", 0, 0, fsync_names, 0},
    {"databases", T_INT, OFF(databases), "16", 1, 256, NULL, F_IMMUTABLE},
    {"maxclients", T_INT, OFF(maxclients), "10000", 1, 1000000, NULL, 0},
    {"timeout", T_INT, OFF(timeout), "0", 0, INT_MAX, NULL, 0},
    {"protected-mode", T_BOOL, OFF(protected_mode), "yes", 0, 0, NULL, 0},
    {"requirepass", T_STRING, OFF(requirepass), "", 0, 0, NULL, F_SENSITIVE},
    {"loglevel", T_ENUM, OFF(loglevel), "notice", 0, 0, level_names, 0},
    {"logfile", T_STRING, OFF(logfile), "", 0, 0, NULL, F_IMMUTABLE | F_PROTECTED},
    {"io-backend", T_ENUM, OFF(io_backend), "auto", 0, 0, io_names, F_IMMUTABLE},
    {"proto-max-bulk-len", T_MEMORY, OFF(proto_max_bulk_len), "512mb", 1024 * 1024, 512LL * 1024 * 1024, NULL, 0},
    {"client-query-buffer-limit", T_MEMORY, OFF(client_query_buffer_limit), "1gb", 1024 * 1024, 4 * GB, NULL, 0},
    {"client-output-buffer-limit", T_OBUF, OFF(obuf_spec), "normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60", 0, 0, NULL, 0},
    {"slowlog-log-slower-than", T_INT, OFF(slowlog_log_slower_than), "10000", -1, LLONG_MAX, NULL, 0},
    {"slowlog-max-len", T_INT, OFF(slowlog_max_len), "128", 0, 1000000, NULL, 0},
    {"latency-monitor-threshold", T_INT, OFF(latency_monitor_threshold), "0", 0, LLONG_MAX, NULL, 0},
    {"enable-debug-command", T_ENUM, OFF(enable_debug_command), "local", 0, 0, prot_names, F_IMMUTABLE},
    {"enable-protected-configs", T_ENUM, OFF(enable_protected_configs), "local", 0, 0, prot_names, F_IMMUTABLE},
    {"tcp-backlog", T_INT, OFF(tcp_backlog), "511", 0, INT_MAX, NULL, F_IMMUTABLE},
    {"tcp-keepalive", T_INT, OFF(tcp_keepalive), "300", 0, INT_MAX, NULL, 0},
    {"hz", T_INT, OFF(hz), "10", 1, 500, NULL, 0},
    {"chalk-segment-size", T_MEMORY, OFF(segment_size), "64mb", 4096, 4 * GB, NULL, F_IMMUTABLE},
    {"save", T_STRING, OFF(save), "", 0, 0, NULL, 0},
    {"appendonly", T_BOOL, OFF(appendonly), "yes", 0, 0, NULL, 0},
    {"pidfile", T_STRING, OFF(pidfile), "", 0, 0, NULL, F_IMMUTABLE | F_PROTECTED},
    {"maxmemory", T_MEMORY, OFF(maxmemory), "0", 0, LLONG_MAX, NULL, 0},
    {"maxmemory-policy", T_STRING, OFF(maxmemory_policy), "noeviction", 0, 0, NULL, 0},
    {"active-expire-effort", T_INT, OFF(active_expire_effort), "1", 1, 10, NULL, 0},
    {"notify-keyspace-events", T_STRING, OFF(notify_keyspace_events), "", 0, 0, NULL, 0},
    {"replicaof", T_STRING, OFF(replicaof), "", 0, 0, NULL, F_IMMUTABLE},
    {"masterauth", T_STRING, OFF(masterauth), "", 0, 0, NULL, F_SENSITIVE},
    {"masteruser", T_STRING, OFF(masteruser), "", 0, 0, NULL, 0},
    {"replica-read-only", T_BOOL, OFF(replica_read_only), "yes", 0, 0, NULL, 0},
    {"repl-backlog-size", T_MEMORY, OFF(repl_backlog_size), "1mb", 16 * 1024, 4 * GB, NULL, 0},
    {"repl-timeout", T_INT, OFF(repl_timeout), "60", 1, INT_MAX, NULL, 0},
    {"repl-ping-replica-period", T_INT, OFF(repl_ping_replica_period), "10", 1, INT_MAX, NULL, 0},
};
#define NCONFIG (sizeof table / sizeof table[0])

static const config_def *find_def(const char *name)
{
    for (size_t i = 0; i < NCONFIG; i++)
        if (strcasecmp(table[i].name, name) == 0)
            return &table[i];
    return NULL;
}

const char *config_name_at(size_t i) { return i < NCONFIG ? table[i].name : NULL; }

int config_is_protected(const char *name)
{
    const config_def *d = find_def(name);
    return d && (d->flags & F_PROTECTED);
}

int config_parse_memory(const char *s, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno || v < 0)
        return -1;
    long long mul = 1;
    if (*end) {
        static const struct { const char *u; long long m; } units[] = {
            {"k", 1000}, {"kb", 1024}, {"m", 1000000}, {"mb", 1024 * 1024},
            {"g", 1000000000LL}, {"gb", GB}, {"b", 1}};
        mul = 0;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (strcasecmp(end, units[i].u) == 0)
                mul = units[i].m;
        if (!mul)
            return -1;
    }
    if (v > LLONG_MAX / mul)
        return -1;
    *out = v * mul;
    return 0;
}

/* client-output-buffer-limit: "<class> <hard> <soft> <secs>" repeated, for
 * the classes normal, replica (alias slave) and pubsub; a class not named
 * keeps its value. All or nothing: a bad group changes no class. */
static int parse_obuf(chalk_config *cfg, const char *value)
{
    resp_parser p = {0};
    if (resp_split_inline(&p, value, strlen(value)) < 0 || p.argc % 4 != 0 || p.argc == 0) {
        resp_parser_free(&p);
        return -1;
    }
    long long v[3][3];
    memcpy(v, cfg->obuf, sizeof v);
    int rc = 0;
    for (int i = 0; i < p.argc && rc == 0; i += 4) {
        const char *cls = p.argv[i].ptr;
        int k = !strcasecmp(cls, "normal") ? OBUF_NORMAL
              : !strcasecmp(cls, "replica") || !strcasecmp(cls, "slave") ? OBUF_REPLICA
              : !strcasecmp(cls, "pubsub") ? OBUF_PUBSUB : -1;
        long long h, s, secs;
        if (k < 0 || config_parse_memory(p.argv[i + 1].ptr, &h) ||
            config_parse_memory(p.argv[i + 2].ptr, &s) ||
            !string_to_ll(p.argv[i + 3].ptr, p.argv[i + 3].len, &secs) || secs < 0) {
            rc = -1;
            break;
        }
        v[k][OBUF_HARD] = h;
        v[k][OBUF_SOFT] = s;
        v[k][OBUF_SOFT_SECS] = secs;
    }
    resp_parser_free(&p);
    if (rc == 0)
        memcpy(cfg->obuf, v, sizeof v);
    return rc;
}

/* "argument(s) must be one of the following: a, b, c" (Redis's text),
 * every name of the enum, cut short only if err is too small. */
static void enum_names_error(const char *const *names, char *err, size_t errlen)
{
    size_t n = (size_t)snprintf(err, errlen, "argument(s) must be one of the following: ");
    for (int i = 0; names[i] && n < errlen; i++)
        n += (size_t)snprintf(err + n, errlen - n, "%s%s", i ? ", " : "", names[i]);
}

static int parse_value(chalk_config *cfg, const config_def *d, const char *value,
                       char *err, size_t errlen)
{
    char *field = (char *)cfg + d->offset;
    long long v = 0;
    switch (d->type) {
    case T_BOOL:
        if (strcasecmp(value, "yes") == 0) v = 1;
        else if (strcasecmp(value, "no") == 0) v = 0;
        else goto bad;
        *(bool *)field = v;
        return 0;
    case T_INT:
        if (!string_to_ll(value, strlen(value), &v)) goto bad;
        break;
    case T_MEMORY:
        if (config_parse_memory(value, &v)) goto bad;
        break;
    case T_OCTAL: {
        char *end;
        v = strtoll(value, &end, 8);
        if (end == value || *end) goto bad;
        break;
    }
    case T_ENUM:
        for (int i = 0; d->names[i]; i++)
            if (strcasecmp(d->names[i], value) == 0) {
                *(int *)field = i;
                return 0;
            }
        goto bad;
    case T_OBUF:
        if (parse_obuf(cfg, value)) goto bad;
        __attribute__((fallthrough));     /* keep the text too */
    case T_STRING: {
        char *copy = strdup(value);
        if (!copy) goto bad;
        free(*(char **)field);
        *(char **)field = copy;
        return 0;
    }
    }
    if (v < d->min || v > d->max) {
        snprintf(err, errlen, "argument must be between %lld and %lld inclusive", d->min, d->max);
        return -1;
    }
    *(long long *)field = v;
    return 0;
bad:
    snprintf(err, errlen, "argument couldn't be parsed into an integer");
    if (d->type == T_BOOL)
        snprintf(err, errlen, "argument must be 'yes' or 'no'");
    else if (d->type == T_ENUM)
        enum_names_error(d->names, err, errlen);
    else if (d->type == T_OBUF)
        snprintf(err, errlen, "Invalid arguments");
    return -1;
}

void config_init_defaults(chalk_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    char err[128];
    for (size_t i = 0; i < NCONFIG; i++) {
        int rc = parse_value(cfg, &table[i], table[i].deflt, err, sizeof err);
        assert(rc == 0 && "every default in the table parses");
        (void)rc;
    }
}

void config_free(chalk_config *cfg)
{
    for (size_t i = 0; i < NCONFIG; i++)
        if (table[i].type == T_STRING || table[i].type == T_OBUF) {
            char **f = (char **)((char *)cfg + table[i].offset);
            free(*f);
            *f = NULL;
        }
}

int config_set(chalk_config *cfg, const char *name, const char *value,
               bool at_runtime, char *err, size_t errlen)
{
    const config_def *d = find_def(name);
    if (!d) {
        snprintf(err, errlen, "Unknown option or number of arguments for CONFIG SET - '%s'", name);
        return -1;
    }
    if (at_runtime && (d->flags & F_IMMUTABLE)) {
        snprintf(err, errlen, "can't set immutable config");
        return -1;
    }
    return parse_value(cfg, d, value, err, errlen);
}

int config_get(const chalk_config *cfg, const char *name, char *out, size_t outlen)
{
    const config_def *d = find_def(name);
    if (!d)
        return -1;
    const char *field = (const char *)cfg + d->offset;
    switch (d->type) {
    case T_BOOL: snprintf(out, outlen, "%s", *(const bool *)field ? "yes" : "no"); break;
    case T_INT:
    case T_MEMORY: snprintf(out, outlen, "%lld", *(const long long *)field); break;
    case T_OCTAL: snprintf(out, outlen, "%llo", *(const long long *)field); break;
    case T_ENUM: snprintf(out, outlen, "%s", d->names[*(const int *)field]); break;
    case T_OBUF:
        snprintf(out, outlen, "normal %lld %lld %lld replica %lld %lld %lld pubsub %lld %lld %lld",
                 cfg->obuf[0][0], cfg->obuf[0][1], cfg->obuf[0][2], cfg->obuf[1][0], cfg->obuf[1][1],
                 cfg->obuf[1][2], cfg->obuf[2][0], cfg->obuf[2][1], cfg->obuf[2][2]);
        break;
    case T_STRING: snprintf(out, outlen, "%s", *(char *const *)field ? *(char *const *)field : ""); break;
    }
    return 0;
}

/* One directive: name and its values joined by spaces (like Redis, `bind
 * 127.0.0.1 ::1` keeps both addresses in one string). */
static int apply_line(chalk_config *cfg, resp_parser *p, int lineno, char *err, size_t errlen)
{
    char value[8192];
    size_t off = 0;
    value[0] = '\0';
    for (int i = 1; i < p->argc; i++) {
        int n = snprintf(value + off, sizeof value - off, "%s%s", i > 1 ? " " : "", p->argv[i].ptr);
        if (n < 0 || (size_t)n >= sizeof value - off)
            return snprintf(err, errlen, "line %d: value too long", lineno), -1;
        off += (size_t)n;
    }
    char why[256];
    if (p->argc < 2 && strcasecmp(p->argv[0].ptr, "save") && strcasecmp(p->argv[0].ptr, "requirepass")) {
        snprintf(err, errlen, "line %d: '%s': wrong number of arguments", lineno, p->argv[0].ptr);
        return -1;
    }
    if (config_set(cfg, p->argv[0].ptr, value, false, why, sizeof why) < 0) {
        snprintf(err, errlen, "line %d: '%s %s': %s", lineno, p->argv[0].ptr,
                 find_def(p->argv[0].ptr) && (find_def(p->argv[0].ptr)->flags & F_SENSITIVE) ? "***" : value,
                 find_def(p->argv[0].ptr) ? why : "Bad directive or wrong number of arguments");
        return -1;
    }
    return 0;
}

int config_load_string(chalk_config *cfg, const char *text, char *err, size_t errlen)
{
    int lineno = 0;
    const char *line = text;
    while (*line) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        lineno++;
        resp_parser p = {0};
        int rc = 0;
        size_t start = 0;
        while (start < len && (line[start] == ' ' || line[start] == '\t'))
            start++;
        if (start < len && line[start] != '#') {
            if (resp_split_inline(&p, line, len) < 0) {
                snprintf(err, errlen, "line %d: unbalanced quotes", lineno);
                rc = -1;
            } else if (p.argc > 0) {
                rc = apply_line(cfg, &p, lineno, err, errlen);
            }
        }
        resp_parser_free(&p);
        if (rc < 0)
            return -1;
        line += len + (nl ? 1 : 0);
    }
    return 0;
}

int config_load_file(chalk_config *cfg, const char *path, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    if (read_whole_file(path, &text, &len) < 0) {
        snprintf(err, errlen, "can't open config file '%s': %s", path, strerror(errno));
        return -1;
    }
    int rc = config_load_string(cfg, text, err, errlen);
    free(text);
    return rc;
}

/* Quote a value for the file if it needs it. */
static void write_directive(FILE *fp, const chalk_config *cfg, const config_def *d)
{
    char v[1024];
    config_get(cfg, d->name, v, sizeof v);
    if (d->type == T_STRING && (v[0] == '\0' || strpbrk(v, " \t\"'")) &&
        strcmp(d->name, "bind") && strcmp(d->name, "save"))
        fprintf(fp, "%s \"%s\"\n", d->name, v);
    else
        fprintf(fp, "%s %s\n", d->name, v);
}

int config_rewrite(const chalk_config *cfg, const char *path)
{
    char *old = NULL;
    size_t oldlen = 0;
    if (read_whole_file(path, &old, &oldlen) < 0)
        old = NULL;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *fp = fopen(tmp, "w");
    if (!fp) {
        free(old);
        return -1;
    }
    bool done[NCONFIG] = {false};
    for (const char *line = old; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char name[128];
        size_t n = 0;
        while (n < len && n < sizeof name - 1 && line[n] != ' ' && line[n] != '\t')
            name[n] = line[n], n++;
        name[n] = '\0';
        const config_def *d = line[0] != '#' ? find_def(name) : NULL;
        if (d && !done[d - table]) {
            write_directive(fp, cfg, d);
            done[d - table] = true;
        } else if (!d) {
            fprintf(fp, "%.*s\n", (int)len, line);
        }
        line += len + (nl ? 1 : 0);
    }
    chalk_config defaults;
    config_init_defaults(&defaults);
    for (size_t i = 0; i < NCONFIG; i++) {
        char a[1024], b[1024];
        config_get(cfg, table[i].name, a, sizeof a);
        config_get(&defaults, table[i].name, b, sizeof b);
        if (!done[i] && strcmp(a, b) != 0)
            write_directive(fp, cfg, &table[i]);
    }
    config_free(&defaults);
    free(old);
    /* Write the new file then rename it over the old one: a crash leaves
     * either the old file or the new one, never half of each. */
    int rc = fflush(fp) == 0 && fsync(fileno(fp)) == 0 ? 0 : -1;
    if (fclose(fp) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    return rc;
}
