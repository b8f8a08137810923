/*
 * cmdexec.c — chalk-server's commands run in the test process (the seam of
 * cmdexec.h): a fake client, process_command(), its reply blocks read back
 * as bytes; and the two RESP2 helpers the model tests compare with.
 *
 * Left out: RESP3 (every fake client speaks RESP2 unless a test sends
 * HELLO 3, and cx_sorted only understands RESP2's types).
 */
#include "cmdexec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocking.h"
#include "commands.h"
#include "composite.h"
#include "config.h"

static void quiet(void *arg, enum chalk_log_level level, const char *msg)
{
    (void)arg, (void)level, (void)msg;
}

static int open_engine(const char *dir, long long segment_size)
{
    chalk_options opt;
    chalk_options_init(&opt);
    opt.fsync = CHALK_FSYNC_NO;
    opt.segment_size = (uint64_t)segment_size;
    opt.compact_dead_ratio = 0;          /* compactions only when the test asks */
    opt.log = quiet;
    return chalk_open(dir, &opt, &server.db) == CHALK_OK ? 0 : -1;
}

int cx_start(const char *dir, long long segment_size)
{
    config_init_defaults(&server.cfg);
    server.cfg.appendfsync = FSYNC_NO;   /* no reply is held for a group commit */
    server.cfg.loglevel = LL_NOTHING;
    if (commands_init() < 0)
        return -1;
    return open_engine(dir, segment_size);
}

int cx_reopen(const char *dir, long long segment_size)
{
    if (chalk_close(server.db) != CHALK_OK)
        return -1;
    server.db = NULL;
    return open_engine(dir, segment_size);
}

int cx_compact(void) { return chalk_compact(server.db) == CHALK_OK ? 0 : -1; }
void cx_compact_poll(void) { chalk_poll(server.db); }
int cx_compact_wait(void) { return chalk_compact_wait(server.db) == CHALK_OK ? 0 : -1; }

void cx_reap_all(void)
{
    while (cp_reap() > 0)
        ;
}

void cx_stop(void)
{
    chalk_close(server.db);
    server.db = NULL;
    commands_free();
    chalk_batch_free(server.scratch);
    server.scratch = NULL;
    config_free(&server.cfg);
}

client *cx_client(void) { return client_create(-1, CLIENT_LOCAL); }

/* Everything appended to c's reply blocks since the last call, drained
 * as if the socket had taken it. */
static char *take_reply(client *c, size_t *len)
{
    size_t n = 0;
    for (reply_block *b = c->reply_head; b; b = b->next)
        n += b->used - b->sent;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t off = 0;
    for (reply_block *b = c->reply_head; b; b = b->next) {
        memcpy(out + off, b->buf + b->sent, b->used - b->sent);
        off += b->used - b->sent;
    }
    out[n] = '\0';
    if (n)
        client_on_sent(c, (ssize_t)n);
    *len = n;
    return out;
}

static void drop_args(client *c)
{
    for (int i = 0; i < c->argc; i++)
        free(c->argv[i].ptr);
    free(c->argv);
    c->argv = NULL;
    c->argc = 0;
}

void cx_client_free(client *c)
{
    drop_args(c);
    client_free_now(c);
}

/* process_command, then keep argv only while the client waits. */
static char *run_current(client *c, size_t *len)
{
    if (process_command(c) == PC_DONE)
        drop_args(c);
    return take_reply(c, len);
}

char *cx_run(client *c, int argc, const char *const *argv, const size_t *lens, size_t *len)
{
    drop_args(c);
    c->argv = calloc((size_t)argc, sizeof *c->argv);
    if (!c->argv)
        return NULL;
    for (int i = 0; i < argc; i++) {
        size_t l = lens ? lens[i] : strlen(argv[i]);
        c->argv[i].ptr = malloc(l + 1);        /* the parser's shape: bytes + NUL */
        if (!c->argv[i].ptr) {
            c->argc = i;
            drop_args(c);
            return NULL;
        }
        memcpy(c->argv[i].ptr, argv[i], l);
        c->argv[i].ptr[l] = '\0';
        c->argv[i].len = l;
    }
    c->argc = argc;
    return run_current(c, len);
}

char *cx_cmd(client *c, size_t *len, ...)
{
    const char *argv[64];
    int argc = 0;
    va_list ap;
    va_start(ap, len);
    for (const char *a; argc < 64 && (a = va_arg(ap, const char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    return cx_run(c, argc, argv, NULL, len);
}

bool cx_blocked(const client *c) { return blocking_is_blocked(c); }

char *cx_resume(client *c, size_t *len) { return run_current(c, len); }

/* ---- RESP2 replies --------------------------------------------------------- */

/* Bytes up to and including the next CRLF from p, or 0. */
static size_t line_len(const char *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (p[i] == '\r' && p[i + 1] == '\n')
            return i + 2;
    return 0;
}

size_t cx_value_len(const char *p, size_t n)
{
    size_t l = line_len(p, n);
    if (l == 0)
        return 0;
    long long count = strtoll(p + 1, NULL, 10);
    switch (p[0]) {
    case '+': case '-': case ':':
        return l;
    case '$':
        if (count < 0)
            return l;
        return l + (size_t)count + 2 <= n ? l + (size_t)count + 2 : 0;
    case '*': {
        size_t off = l;
        for (long long i = 0; i < count; i++) {
            size_t e = cx_value_len(p + off, n - off);
            if (e == 0)
                return 0;
            off += e;
        }
        return off;
    }
    default:
        return 0;
    }
}

typedef struct { const char *p; size_t len; } span;

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    size_t m = x->len < y->len ? x->len : y->len;
    int r = memcmp(x->p, y->p, m);
    return r ? r : (x->len > y->len) - (x->len < y->len);
}

char *cx_sorted(const char *reply, size_t len, int group)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    memcpy(out, reply, len);
    out[len] = '\0';
    if (len == 0 || reply[0] != '*' || strtoll(reply + 1, NULL, 10) <= 0)
        return out;
    size_t head = line_len(reply, len);
    long long n = strtoll(reply + 1, NULL, 10) / group;
    span *s = calloc((size_t)n, sizeof *s);
    if (!s)
        return out;
    size_t off = head;
    for (long long i = 0; i < n; i++) {
        s[i].p = reply + off;
        for (int g = 0; g < group; g++) {
            size_t e = cx_value_len(reply + off, len - off);
            if (e == 0) {                      /* malformed: leave it as is */
                free(s);
                return out;
            }
            off += e;
        }
        s[i].len = (size_t)(reply + off - s[i].p);
    }
    qsort(s, (size_t)n, sizeof *s, cmp_span);
    off = head;
    for (long long i = 0; i < n; i++) {
        memcpy(out + off, s[i].p, s[i].len);
        off += s[i].len;
    }
    free(s);
    return out;
}

long cx_items(const char *p, size_t n, const char **out, size_t *lens, long max, size_t *used)
{
    size_t head = line_len(p, n);
    if (head == 0 || p[0] != '*')
        return -1;
    long count = strtol(p + 1, NULL, 10);
    size_t off = head;
    for (long i = 0; i < count; i++) {
        size_t l = line_len(p + off, n - off), e = cx_value_len(p + off, n - off);
        if (e == 0 || i >= max || (p[off] != '$' && p[off] != ':'))
            return -1;
        bool null = p[off] == '$' && p[off + 1] == '-';
        out[i] = null ? NULL : p[off] == ':' ? p + off + 1 : p + off + l;
        lens[i] = null ? 0 : p[off] == ':' ? l - 3 : e - l - 2;
        off += e;
    }
    *used = off;
    return count < 0 ? 0 : count;
}
