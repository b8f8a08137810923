/*
 * example.h — the few lines every example shares: read -h/-p (repeatable
 * -p for multi-server examples), connect or exit, run a command or exit.
 * Header-only (static inline) because each example is one program.
 *
 * Examples exit 0 when what they demonstrate held, 1 when it did not, so
 * tests/e2e/test_client_examples.py can run them as tests.
 *
 * Interview topics: none here; each example's own file tags what it shows.
 */
#ifndef CHALK_EXAMPLE_H
#define CHALK_EXAMPLE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <chalk/client.h>

#define EX_MAX_SERVERS 8

typedef struct ex_args {
    const char *host;
    int ports[EX_MAX_SERVERS];
    int nports;
} ex_args;

/* -h host, -p port (repeatable); defaults 127.0.0.1:6379. */
static inline ex_args ex_parse(int argc, char **argv)
{
    ex_args a = {.host = "127.0.0.1"};
    for (int i = 1; i + 1 < argc; i++) {
        if (!strcmp(argv[i], "-h"))
            a.host = argv[++i];
        else if (!strcmp(argv[i], "-p") && a.nports < EX_MAX_SERVERS)
            a.ports[a.nports++] = atoi(argv[++i]);
    }
    if (a.nports == 0)
        a.ports[a.nports++] = 6379;
    return a;
}

static inline chalkc_conn *ex_connect(const ex_args *a, int i, int protocol)
{
    chalkc_options o;
    chalkc_conn *c;
    char err[256];
    chalkc_options_init(&o);
    o.host = a->host;
    o.port = a->ports[i];
    o.protocol = protocol;
    o.read_timeout_ms = 5000;
    int rc = chalkc_connect(&o, &c, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "connect %s:%d: %s\n", a->host, a->ports[i], err);
        exit(1);
    }
    return c;
}

/* Runs a formatted command; exits on a connection failure. An error reply
 * is returned (the caller decides). The caller frees the reply. */
static inline chalkc_reply *ex_cmd(chalkc_conn *c, const char *fmt, ...)
{
    chalkc_reply *r;
    va_list ap;
    va_start(ap, fmt);
    int rc = chalkc_vcommand(c, &r, fmt, ap);
    va_end(ap);
    if (rc != 0 && rc != CHALKC_ESERVER) {
        fprintf(stderr, "%s: %s\n", fmt, chalkc_conn_errstr(c));
        exit(1);
    }
    return r;
}

/* Runs a command whose integer reply is all we want. */
static inline long long ex_int(chalkc_conn *c, const char *fmt, ...)
{
    chalkc_reply *r;
    va_list ap;
    va_start(ap, fmt);
    int rc = chalkc_vcommand(c, &r, fmt, ap);
    va_end(ap);
    if (rc != 0 || r->type != CHALKC_REPLY_INTEGER) {
        fprintf(stderr, "%s: %s\n", fmt, rc == CHALKC_ESERVER ? r->str
                : chalkc_conn_errstr(c));
        exit(1);
    }
    long long v = r->integer;
    chalkc_reply_free(r);
    return v;
}

static inline void ex_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Wall-clock milliseconds: for timestamps stored in the server (shared by
 * processes), unlike chalkc_now_ms() which is monotonic and per-host. */
static inline long long ex_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Monotonic microseconds, for measuring short things. */
static inline double ex_now_ms_precise(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static inline int ex_check(int ok, const char *what)
{
    printf("  [%s] %s\n", ok ? "ok" : "FAILED", what);
    return ok ? 0 : 1;
}

#endif
