/*
 * kvmodel.c — the arrays-of-strings model of kvmodel.h, the expected-reply
 * builder and the check that compares a command's reply with it.
 */
#include "kvmodel.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <cmocka.h>

#include "cmdexec.h"

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        abort();
    return q;
}

int ms_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int r = memcmp(a, b, alen < blen ? alen : blen);
    return r ? r : (alen > blen) - (alen < blen);
}

mstr ms_dup(const char *p, size_t len)
{
    mstr s = {xrealloc(NULL, len + 1), len};
    memcpy(s.p, p, len);
    s.p[len] = '\0';
    return s;
}

/* ---- keys -------------------------------------------------------------- */

mkey *km_get(kvmodel *m, const char *k, size_t klen)
{
    for (size_t i = 0; i < m->n; i++)
        if (ms_cmp(m->keys[i].name.p, m->keys[i].name.len, k, klen) == 0)
            return &m->keys[i];
    return NULL;
}

mkey *km_create(kvmodel *m, const char *k, size_t klen, int type)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 8;
        m->keys = xrealloc(m->keys, m->cap * sizeof *m->keys);
    }
    mkey *key = &m->keys[m->n++];
    memset(key, 0, sizeof *key);
    key->name = ms_dup(k, klen);
    key->type = type;
    return key;
}

mkey *km_get_or_create(kvmodel *m, const char *k, size_t klen, int type)
{
    mkey *key = km_get(m, k, klen);
    return key ? key : km_create(m, k, klen, type);
}

static void free_contents(mkey *k)
{
    for (size_t i = 0; i < k->n; i++) {
        free(k->items[i].p);
        if (k->vals)
            free(k->vals[i].p);
    }
    free(k->items);
    free(k->vals);
    free(k->scores);
}

void km_drop(kvmodel *m, mkey *k)
{
    free_contents(k);
    free(k->name.p);
    *k = m->keys[--m->n];                    /* key order does not matter */
}

void km_drop_if_empty(kvmodel *m, mkey *k)
{
    if (k && k->n == 0)
        km_drop(m, k);
}

void km_free(kvmodel *m)
{
    while (m->n)
        km_drop(m, &m->keys[0]);
    free(m->keys);
    memset(m, 0, sizeof *m);
}

/* ---- members ----------------------------------------------------------- */

long km_find(const mkey *k, const char *p, size_t len)
{
    size_t lo = 0, hi = k->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int r = ms_cmp(k->items[mid].p, k->items[mid].len, p, len);
        if (r == 0)
            return (long)mid;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1 - (long)lo;
}

void km_insert_at(mkey *k, size_t pos, const char *p, size_t len,
                  const char *val, size_t vlen, double score)
{
    if (k->n == k->cap) {
        k->cap = k->cap ? k->cap * 2 : 8;
        k->items = xrealloc(k->items, k->cap * sizeof *k->items);
        if (k->type == MT_HASH)
            k->vals = xrealloc(k->vals, k->cap * sizeof *k->vals);
        if (k->type == MT_ZSET)
            k->scores = xrealloc(k->scores, k->cap * sizeof *k->scores);
    }
    size_t tail = k->n - pos;
    memmove(&k->items[pos + 1], &k->items[pos], tail * sizeof *k->items);
    k->items[pos] = ms_dup(p, len);
    if (k->type == MT_HASH) {
        memmove(&k->vals[pos + 1], &k->vals[pos], tail * sizeof *k->vals);
        k->vals[pos] = ms_dup(val, vlen);
    }
    if (k->type == MT_ZSET) {
        memmove(&k->scores[pos + 1], &k->scores[pos], tail * sizeof *k->scores);
        k->scores[pos] = score;
    }
    k->n++;
}

void km_remove_at(mkey *k, size_t pos)
{
    size_t tail = k->n - pos - 1;
    free(k->items[pos].p);
    memmove(&k->items[pos], &k->items[pos + 1], tail * sizeof *k->items);
    if (k->vals) {
        free(k->vals[pos].p);
        memmove(&k->vals[pos], &k->vals[pos + 1], tail * sizeof *k->vals);
    }
    if (k->scores)
        memmove(&k->scores[pos], &k->scores[pos + 1], tail * sizeof *k->scores);
    k->n--;
}

bool km_set_add(mkey *k, const char *p, size_t len)
{
    long pos = km_find(k, p, len);
    if (pos >= 0)
        return false;
    km_insert_at(k, (size_t)(-1 - pos), p, len, NULL, 0, 0);
    return true;
}

bool km_set_rem(mkey *k, const char *p, size_t len)
{
    long pos = km_find(k, p, len);
    if (pos < 0)
        return false;
    km_remove_at(k, (size_t)pos);
    return true;
}

bool km_hash_set(mkey *k, const char *f, size_t flen, const char *v, size_t vlen)
{
    long pos = km_find(k, f, flen);
    if (pos >= 0) {
        free(k->vals[pos].p);
        k->vals[pos] = ms_dup(v, vlen);
        return false;
    }
    km_insert_at(k, (size_t)(-1 - pos), f, flen, v, vlen, 0);
    return true;
}

long km_zfind(const mkey *k, const char *p, size_t len)
{
    for (size_t i = 0; i < k->n; i++)
        if (ms_cmp(k->items[i].p, k->items[i].len, p, len) == 0)
            return (long)i;
    return -1;
}

void km_zset(mkey *k, const char *p, size_t len, double score)
{
    long at = km_zfind(k, p, len);
    if (at >= 0)
        km_remove_at(k, (size_t)at);
    if (score == 0)
        score = 0;                           /* a stored -0 reads back as 0 in Redis */
    size_t pos = 0;                          /* first element after (score, p) */
    while (pos < k->n && (k->scores[pos] < score ||
                          (k->scores[pos] == score &&
                           ms_cmp(k->items[pos].p, k->items[pos].len, p, len) < 0)))
        pos++;
    km_insert_at(k, pos, p, len, NULL, 0, score);
}

void km_copy_into(kvmodel *m, const char *dst, size_t dlen, int type,
                  const mstr *items, const double *scores, size_t n)
{
    mkey *old = km_get(m, dst, dlen);
    if (old)
        km_drop(m, old);
    if (n == 0)
        return;
    mkey *k = km_create(m, dst, dlen, type);
    for (size_t i = 0; i < n; i++) {
        if (type == MT_ZSET)
            km_zset(k, items[i].p, items[i].len, scores[i]);
        else
            km_set_add(k, items[i].p, items[i].len);
    }
}

/* ---- expected replies ------------------------------------------------------ */

void rb_reset(rbuf *b) { b->len = 0; }

void rb_free(rbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void rb_raw(rbuf *b, const char *p, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        b->cap = (b->len + len + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, p, len);
    b->len += len;
    b->p[b->len] = '\0';
}

static void rb_fmt(rbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rb_fmt(rbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    rb_raw(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void rb_int(rbuf *b, long long v) { rb_fmt(b, ":%lld\r\n", v); }
void rb_null(rbuf *b) { rb_raw(b, "$-1\r\n", 5); }
void rb_null_array(rbuf *b) { rb_raw(b, "*-1\r\n", 5); }
void rb_arr(rbuf *b, long n) { rb_fmt(b, "*%ld\r\n", n); }
void rb_ok(rbuf *b) { rb_raw(b, "+OK\r\n", 5); }
void rb_str(rbuf *b, const mstr *s) { rb_bulk(b, s->p, s->len); }

void rb_bulk(rbuf *b, const char *p, size_t len)
{
    rb_fmt(b, "$%zu\r\n", len);
    rb_raw(b, p, len);
    rb_raw(b, "\r\n", 2);
}

void rb_err(rbuf *b, const char *msg)
{
    rb_fmt(b, "%s%s\r\n", msg[0] == '-' ? "" : "-ERR ", msg);
}

/* The shortest "%.Ng" without an exponent that reads back as d: Redis 7's
 * form for the values these tests use (small integers, halves, quarters,
 * infinities). */
void rb_double(rbuf *b, double d)
{
    char tmp[64];
    if (isinf(d)) {
        snprintf(tmp, sizeof tmp, "%s", d > 0 ? "inf" : "-inf");
    } else {
        for (int prec = 1; prec <= 17; prec++) {   /* shortest, without an exponent */
            snprintf(tmp, sizeof tmp, "%.*g", prec, d);
            if (strtod(tmp, NULL) == d && !strchr(tmp, 'e'))
                break;
        }
    }
    rb_bulk(b, tmp, strlen(tmp));
}

/* ---- argv ---------------------------------------------------------------- */

void ca_reset(cargs *a) { a->argc = 0; }

void ca_add(cargs *a, const char *p, size_t len)
{
    assert_true(a->argc < 64);
    a->argv[a->argc] = p;
    a->lens[a->argc] = len;
    a->argc++;
}

void ca_str(cargs *a, const char *s) { ca_add(a, s, strlen(s)); }
void ca_ms(cargs *a, const mstr *s) { ca_add(a, s->p, s->len); }

void ca_fmt(cargs *a, const char *fmt, ...)
{
    assert_true(a->argc < 64);
    char *dst = a->own[a->argc];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst, sizeof a->own[0], fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && (size_t)n < sizeof a->own[0]);
    ca_add(a, dst, (size_t)n);
}

/* ---- running and comparing ---------------------------------------------------- */

void print_escaped(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '\r')
            fputs("\\r", stderr);
        else if (ch == '\n')
            fputs("\\n", stderr);
        else if (ch < 32 || ch >= 127 || ch == '\\')
            fprintf(stderr, "\\x%02x", ch);
        else
            fputc(ch, stderr);
    }
}

char *run_args(client *c, const cargs *a, size_t *len)
{
    char *r = cx_run(c, a->argc, a->argv, a->lens, len);
    assert_non_null(r);
    return r;
}

void check_reply(client *c, const cargs *a, const rbuf *want, int unordered)
{
    size_t len;
    char *got = run_args(c, a, &len);
    const char *w = want->p ? want->p : "";
    char *g2 = unordered ? cx_sorted(got, len, unordered) : got;
    char *w2 = unordered ? cx_sorted(w, want->len, unordered) : (char *)w;
    bool same = len == want->len && memcmp(g2, w2, len) == 0;
    if (!same) {
        fputs("command:", stderr);
        for (int i = 0; i < a->argc; i++) {
            fputs(" '", stderr);
            print_escaped(a->argv[i], a->lens[i]);
            fputc('\'', stderr);
        }
        fputs("\n   want: ", stderr);
        print_escaped(w2, want->len);
        fputs("\n    got: ", stderr);
        print_escaped(g2, len);
        fputc('\n', stderr);
    }
    if (unordered) {
        free(g2);
        free(w2);
    }
    free(got);
    assert_true(same);
}

uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}
