/*
 * test_score.c — the order-preserving encodings of score.c: for doubles
 * (sorted-set scores) and signed 64-bit integers (list positions), memcmp
 * of the encodings must order exactly as the numbers do, decoding must
 * give the number back, and -0.0 must encode as +0.0. Also the shortest
 * round-trip text of a score (Redis 7.2's format).
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "score.h"

static int sign(int x) { return (x > 0) - (x < 0); }

static int cmp_double(double a, double b) { return (a > b) - (a < b); }

static void check_pair(double a, double b)
{
    unsigned char ea[8], eb[8];
    score_encode(a, ea);
    score_encode(b, eb);
    assert_int_equal(sign(memcmp(ea, eb, 8)), cmp_double(a, b));
}

static void test_double_order_on_edges(void **state)
{
    (void)state;
    const double v[] = {
        -INFINITY, -DBL_MAX, -1e300, -2.5, -1.0, -1e-300, -4.9e-324, -0.0, 0.0, 4.9e-324,
        1e-300, 0.1, 1.0, 1.0000000000000002, 2.5, 1e300, DBL_MAX, INFINITY,
    };
    size_t n = sizeof v / sizeof *v;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            check_pair(v[i], v[j]);
}

static void test_negative_zero_is_zero(void **state)
{
    (void)state;
    unsigned char a[8], b[8];
    score_encode(-0.0, a);
    score_encode(0.0, b);
    assert_memory_equal(a, b, 8);
    assert_false(signbit(score_decode(a)));
}

static double random_double(unsigned *seed)
{
    uint64_t u = 0;
    for (int i = 0; i < 4; i++)
        u = (u << 16) ^ (uint64_t)(rand_r(seed) & 0xffff);
    double d;
    memcpy(&d, &u, sizeof d);
    return isnan(d) ? 0.0 : d;
}

static void test_double_order_random_and_round_trip(void **state)
{
    (void)state;
    unsigned seed = 6;
    for (int i = 0; i < 200000; i++) {
        double a = random_double(&seed), b = i % 3 ? random_double(&seed) : -a;
        check_pair(a, b);
        unsigned char e[8];
        score_encode(a, e);
        double back = score_decode(e);
        assert_true(back == a);
        if (a != 0)
            assert_memory_equal(&back, &a, sizeof a);   /* bit-exact */
    }
}

static void test_int64_order_and_round_trip(void **state)
{
    (void)state;
    const int64_t v[] = {INT64_MIN, INT64_MIN + 1, -4294967296LL, -256, -1, 0, 1, 255, 256,
                         4294967296LL, INT64_MAX - 1, INT64_MAX};
    size_t n = sizeof v / sizeof *v;
    for (size_t i = 0; i < n; i++) {
        unsigned char ei[8];
        pos_encode(v[i], ei);
        assert_true(pos_decode(ei) == v[i]);
        for (size_t j = 0; j < n; j++) {
            unsigned char ej[8];
            pos_encode(v[j], ej);
            assert_int_equal(sign(memcmp(ei, ej, 8)), (v[i] > v[j]) - (v[i] < v[j]));
        }
    }
}

static void test_format_is_shortest_round_trip(void **state)
{
    (void)state;
    char buf[32];
    struct { double d; const char *s; } cases[] = {
        {0.1, "0.1"}, {10, "10"}, {-0.0, "0"}, {1e300, "1e+300"}, {-2.5e-7, "-2.5e-07"},
        {INFINITY, "inf"}, {-INFINITY, "-inf"}, {123456.789, "123456.789"},
        {0.30000000000000004, "0.30000000000000004"}, {1e17, "1e+17"},
        {9007199254740993.0, "9007199254740992"},
        /* integers below 1e15 take the digits-by-hand path, above it "%.0f" */
        {-3, "-3"}, {999999999999999.0, "999999999999999"}, {-999999999999999.0, "-999999999999999"},
        {1e15, "1000000000000000"}, {-1e15 - 2, "-1000000000000002"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int n = score_format(cases[i].d, buf);
        assert_int_equal(n, (int)strlen(cases[i].s));
        assert_string_equal(buf, cases[i].s);
    }
    unsigned seed = 7;
    for (int i = 0; i < 20000; i++) {
        double d = random_double(&seed);
        if (isinf(d))
            continue;
        score_format(d, buf);
        assert_true(strtod(buf, NULL) == d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_double_order_on_edges),
        cmocka_unit_test(test_negative_zero_is_zero),
        cmocka_unit_test(test_double_order_random_and_round_trip),
        cmocka_unit_test(test_int64_order_and_round_trip),
        cmocka_unit_test(test_format_is_shortest_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
