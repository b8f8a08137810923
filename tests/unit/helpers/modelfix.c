/*
 * modelfix.c — the shared fixture and random-run driver of modelfix.h.
 */
#include "modelfix.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <cmocka.h>

#include "cmdexec.h"
#include "testdir.h"

#define MFIX_SEGMENT_SIZE (8 * 1024)   /* the engine model test's size */

int mfix_setup(void **state)
{
    mfix *f = calloc(1, sizeof *f);
    if (!f || testdir_make(f->dir, sizeof f->dir, "model") != 0)
        return -1;
    if (cx_start(f->dir, MFIX_SEGMENT_SIZE) < 0)
        return -1;
    f->c = cx_client();
    if (!f->c)
        return -1;
    *state = f;
    return 0;
}

int mfix_teardown(void **state)
{
    mfix *f = *state;
    if (f->trace)
        fclose(f->trace);                  /* a run that failed half way */
    cx_client_free(f->c);
    cx_stop();
    testdir_remove(f->dir);
    km_free(&f->m);
    rb_free(&f->want);
    free(f);
    return 0;
}

void mfix_trace(mfix *f, const cargs *a, const char *want, size_t wlen, int unordered)
{
    if (!f->trace)
        return;
    fprintf(f->trace, "C %d %d\n", a->argc, unordered);
    for (int i = 0; i < a->argc; i++) {
        fprintf(f->trace, "%zu\n", a->lens[i]);
        fwrite(a->argv[i], 1, a->lens[i], f->trace);
        fputc('\n', f->trace);
    }
    fprintf(f->trace, "%zu\n", wlen);
    fwrite(want, 1, wlen, f->trace);
    fputc('\n', f->trace);
}

void mfix_check(mfix *f, int unordered)
{
    mfix_trace(f, &f->a, f->want.p ? f->want.p : "", f->want.len, unordered);
    check_reply(f->c, &f->a, &f->want, unordered);
}

void mfix_expect(mfix *f, int unordered, ...)
{
    ca_reset(&f->a);
    va_list ap;
    va_start(ap, unordered);
    for (const char *w; (w = va_arg(ap, const char *)) != NULL;)
        ca_str(&f->a, w);
    va_end(ap);
    mfix_check(f, unordered);
}

void mfix_random_run(mfix *f, uint64_t seed, long nops, mfix_step_fn *step, mfix_verify_fn *verify)
{
    const char *trace = getenv("CHALK_MODEL_TRACE");
    if (trace) {
        f->trace = fopen(trace, "a");
        assert_non_null(f->trace);
        fputs("T\n", f->trace);
    }
    rb_reset(&f->want);
    rb_ok(&f->want);
    mfix_expect(f, 0, "SET", "str", "x", NULL);   /* the wrong type for every command */
    km_create(&f->m, "str", 3, MT_STRING);
    f->rng = seed;
    for (long op = 0; op < nops; op++) {
        if (op == nops / 3) {
            assert_int_equal(cx_reopen(f->dir, MFIX_SEGMENT_SIZE), 0);
            verify(f);
        }
        if (op == nops / 2)
            assert_int_equal(cx_compact(), 0);
        if (op > nops / 2 && op < 3 * nops / 4)
            cx_compact_poll();
        if (op == 3 * nops / 4) {
            assert_int_equal(cx_compact_wait(), 0);
            chalk_stats st;
            chalk_stats_get(server.db, &st);
            assert_true(st.compactions >= 1);    /* it really ran */
            verify(f);
        }
        step(f);
    }
    verify(f);
    cx_reap_all();
    assert_int_equal(cx_compact(), 0);
    assert_int_equal(cx_compact_wait(), 0);
    assert_int_equal(cx_reopen(f->dir, MFIX_SEGMENT_SIZE), 0);
    verify(f);
    if (f->trace) {
        assert_int_equal(fclose(f->trace), 0);
        f->trace = NULL;
    }
}

int mfix_glob(const char *pat, const char *s, size_t len)
{
    if (*pat == '\0')
        return len == 0;
    if (*pat == '*')
        return mfix_glob(pat + 1, s, len) || (len > 0 && mfix_glob(pat, s + 1, len - 1));
    if (len == 0)
        return 0;
    return (*pat == '?' || *pat == *s) && mfix_glob(pat + 1, s + 1, len - 1);
}

/* ---- replies of unordered and random commands ------------------------------ */

/* Position of member p in k (any collection type), or -1. */
static long member_pos(const mkey *k, const char *p, size_t len)
{
    if (!k)
        return -1;
    if (k->type == MT_ZSET)
        return km_zfind(k, p, len);
    long pos = km_find(k, p, len);
    return pos >= 0 ? pos : -1;
}

/* The value a pair reply carries for member pos: a hash value, a score. */
static void check_pair_value(const mkey *k, long pos, const char *v, size_t vlen)
{
    if (k->type == MT_HASH) {
        assert_int_equal(vlen, k->vals[pos].len);
        assert_memory_equal(v, k->vals[pos].p, vlen);
        return;
    }
    rbuf want = {0};
    rb_double(&want, k->scores[pos]);
    const char *digits = strstr(want.p, "\r\n") + 2;
    bool same = vlen == strlen(digits) - 2 && memcmp(v, digits, vlen) == 0;
    if (!same) {
        fprintf(stderr, "score of '");
        print_escaped(k->items[pos].p, k->items[pos].len);
        fprintf(stderr, "': want %.*s, got ", (int)strlen(digits) - 2, digits);
        print_escaped(v, vlen);
        fputc('\n', stderr);
    }
    rb_free(&want);
    assert_true(same);
}

void mfix_check_scan(mfix *f, const char *cmd, const char *key, const char *match, long count)
{
    mkey *k = km_get(&f->m, key, strlen(key));
    bool pairs = k && k->type != MT_SET;
    char *seen = calloc((k ? k->n : 0) + 1, 1);
    char cursor[32] = "0";
    int rounds = 0;
    do {
        ca_reset(&f->a);
        ca_str(&f->a, cmd);
        ca_str(&f->a, key);
        ca_fmt(&f->a, "%s", cursor);
        if (match) {
            ca_str(&f->a, "MATCH");
            ca_str(&f->a, match);
        }
        ca_str(&f->a, "COUNT");
        ca_fmt(&f->a, "%ld", count);
        size_t len, used;
        char *r = run_args(f->c, &f->a, &len);
        assert_memory_equal(r, "*2\r\n$", 5);             /* [cursor, [items]] */
        char *p = strstr(r + 4, "\r\n") + 2;
        snprintf(cursor, sizeof cursor, "%.*s", (int)strtol(r + 5, NULL, 10), p);
        p = strstr(p, "\r\n") + 2;
        const char *it[256];
        size_t il[256];
        long n = cx_items(p, len - (size_t)(p - r), it, il, 256, &used);
        assert_true(n >= 0 && (!pairs || n % 2 == 0));
        for (long i = 0; i < n; i += pairs ? 2 : 1) {
            long pos = member_pos(k, it[i], il[i]);
            assert_true(pos >= 0);
            assert_true(mfix_glob(match ? match : "*", it[i], il[i]));
            if (pairs)
                check_pair_value(k, pos, it[i + 1], il[i + 1]);
            seen[pos] = 1;
        }
        free(r);
        assert_true(++rounds < 1000);
    } while (strcmp(cursor, "0") != 0);
    for (size_t i = 0; k && i < k->n; i++)    /* a member twice is allowed, none missed */
        assert_true(seen[i] || !mfix_glob(match ? match : "*", k->items[i].p, k->items[i].len));
    free(seen);
}

long mfix_check_sample(const mkey *k, const char *reply, size_t len, long count, bool pairs,
                       mstr *out, long max)
{
    const char *it[256];
    size_t il[256], used;
    long n = cx_items(reply, len, it, il, 256, &used);
    long size = k ? (long)k->n : 0;
    long want = count >= 0 ? (count < size ? count : size) : (size ? -count : 0);
    assert_int_equal(n, want * (pairs ? 2 : 1));
    char *picked = calloc((size_t)size + 1, 1);
    long got = 0, members = 0;
    for (long i = 0; i < n; i += pairs ? 2 : 1) {
        long pos = member_pos(k, it[i], il[i]);
        assert_true(pos >= 0);
        if (count > 0)
            assert_false(picked[pos]);             /* distinct when count > 0 */
        picked[pos] = 1;
        if (pairs)
            check_pair_value(k, pos, it[i + 1], il[i + 1]);
        if (out && got < max)
            out[got++] = ms_dup(it[i], il[i]);
        members++;
    }
    free(picked);
    return members;
}
