/*
 * test_util_ll.c — ll_to_string (server/util.c), the printf-free decimal
 * formatter of INCR and reply_bulk_long: agrees with "%lld" at the edges and
 * on a sweep, and round-trips through string_to_ll.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "util.h"

static void check(long long v)
{
    char want[32], got[32];
    snprintf(want, sizeof want, "%lld", v);
    size_t n = ll_to_string(got, v);
    assert_int_equal(n, strlen(want));
    assert_string_equal(got, want);
    long long back;
    assert_true(string_to_ll(got, n, &back));
    assert_true(back == v);
}

static void test_edges(void **state)
{
    (void)state;
    const long long edges[] = {0, 1, -1, 9, 10, -10, 99, 100, INT_MAX, INT_MIN,
                               (long long)INT_MAX + 1, LLONG_MAX, LLONG_MIN, LLONG_MIN + 1};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        check(edges[i]);
}

static void test_sweep(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 100000; i++) {       /* xorshift: every magnitude */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t u = x >> (i % 64);
        check((long long)(i % 2 ? 0 - u : u));   /* wraps, never overflows */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
