/*
 * modelfix.c — the shared fixture and random-run driver of modelfix.h.
 */
#include "modelfix.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <setjmp.h>
#include <cmocka.h>

#include "cmdexec.h"
#include "testdir.h"

#define MFIX_SEGMENT_SIZE (64 * 1024)

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
    cx_client_free(f->c);
    cx_stop();
    testdir_remove(f->dir);
    km_free(&f->m);
    rb_free(&f->want);
    free(f);
    return 0;
}

void mfix_check(mfix *f, int unordered) { check_reply(f->c, &f->a, &f->want, unordered); }

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
    f->rng = seed;
    for (long op = 0; op < nops; op++) {
        if (op == nops / 3) {
            assert_int_equal(cx_reopen(), 0);
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
    assert_int_equal(cx_reopen(), 0);
    verify(f);
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
