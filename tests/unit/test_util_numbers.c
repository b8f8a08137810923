/*
 * test_util_numbers.c — the number rules in server/util.c that several
 * command families share (written once there so they cannot drift apart):
 * rank_range (LRANGE LTRIM ZRANGE ZREMRANGEBYRANK), string_to_cursor (SCAN
 * and the *SCAN commands), string_to_long_double and long_double_to_human
 * (INCRBYFLOAT HINCRBYFLOAT), decimal_digits_to_ll (string_to_ll and the
 * RESP parser's headers). Each expectation is Redis's behaviour; the e2e
 * tests compare the same rules with redis-server through the commands.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "on_valgrind.h"
#include "util.h"

/* rank_range(n, start, stop) → empty, or the clamped [from, to]. */
static void expect_range(long long n, long long start, long long stop, bool ok, long long from,
                         long long to)
{
    long long s = start, e = stop;
    assert_int_equal(rank_range(n, &s, &e), ok);
    if (ok) {
        assert_true(s == from);
        assert_true(e == to);
    }
}

static void test_rank_range(void **state)
{
    (void)state;
    expect_range(5, 0, -1, true, 0, 4);         /* the whole collection */
    expect_range(5, -3, -1, true, 2, 4);        /* from the end */
    expect_range(5, -100, 1, true, 0, 1);       /* start clamped to 0 */
    expect_range(5, 2, 100, true, 2, 4);        /* stop clamped to n - 1 */
    expect_range(5, 5, 100, false, 0, 0);       /* start past the end */
    expect_range(5, 3, 2, false, 0, 0);         /* start after stop */
    expect_range(5, -1, -2, false, 0, 0);
    expect_range(5, 0, -6, false, 0, 0);        /* stop before the start */
    expect_range(0, 0, -1, false, 0, 0);        /* empty collection */
    expect_range(1, LLONG_MIN + 1, LLONG_MAX, true, 0, 0);
}

static void test_cursor(void **state)
{
    (void)state;
    uint64_t c = 7;
    assert_true(string_to_cursor("0", &c) && c == 0);
    assert_true(string_to_cursor("18446744073709551615", &c) && c == UINT64_MAX);
    assert_true(string_to_cursor("-1", &c) && c == UINT64_MAX);      /* wraps, as in Redis */
    assert_false(string_to_cursor("18446744073709551616", &c));      /* overflow */
    assert_false(string_to_cursor(" 1", &c));
    assert_false(string_to_cursor("1 ", &c));
    assert_false(string_to_cursor("abc", &c));
    assert_false(string_to_cursor("1a", &c));
}

static bool ld(const char *s, long double *out) { return string_to_long_double(s, strlen(s), out); }

static void test_long_double_parse(void **state)
{
    (void)state;
    long double v = 0;
    assert_true(ld("10.5", &v) && v == 10.5L);
    assert_true(ld("-5.0e3", &v) && v == -5000.0L);
    assert_true(ld("inf", &v));                 /* the commands refuse it themselves */
    assert_false(ld("nan", &v));
    assert_false(ld("1e5000", &v));             /* out of long double's range */
    assert_false(ld("-1e5000", &v));
    assert_false(ld("1e-5000", &v));            /* underflows to 0 */
    assert_false(ld(" 1", &v));
    assert_false(ld("\v1", &v));
    assert_false(ld("1 ", &v));
    assert_false(ld("", &v));
    assert_false(string_to_long_double("1\0" "2", 3, &v));   /* an embedded NUL */
    char big[6000];
    memset(big, '1', sizeof big);
    assert_false(string_to_long_double(big, sizeof big, &v));  /* 5 KB or more */
}

static void expect_human(long double v, const char *want)
{
    char buf[5200];
    int n = long_double_to_human(buf, sizeof buf, v);
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(buf, want);
}

static void test_long_double_print(void **state)
{
    (void)state;
    expect_human(10.75L, "10.75");
    expect_human(5000.0L, "5000");               /* trailing zeros and point dropped */
    expect_human(-0.0L, "0");                    /* never "-0" */
    if (!RUNNING_ON_VALGRIND)       /* valgrind's long double is a double: 0.1L is (long double)0.1 */
        expect_human(0.1L, "0.1");
    expect_human((long double)0.1, "0.10000000000000001");   /* the double's error shows */
    expect_human(-3.5L, "-3.5");
    char small[4];
    assert_int_equal(long_double_to_human(small, sizeof small, 12345.0L), -1);
}

static void test_decimal_digits(void **state)
{
    (void)state;
    long long v = 0;
    assert_true(decimal_digits_to_ll("9223372036854775807", 19, false, &v) && v == LLONG_MAX);
    assert_true(decimal_digits_to_ll("9223372036854775808", 19, true, &v) && v == LLONG_MIN);
    assert_false(decimal_digits_to_ll("9223372036854775808", 19, false, &v));
    assert_false(decimal_digits_to_ll("9223372036854775809", 19, true, &v));
    assert_false(decimal_digits_to_ll("99999999999999999999", 20, false, &v));
    assert_true(decimal_digits_to_ll("007", 3, false, &v) && v == 7);   /* callers refuse zeros */
    assert_false(decimal_digits_to_ll("", 0, false, &v));
    assert_false(decimal_digits_to_ll("1-", 2, false, &v));
    /* string_to_ll's own rules on top: no leading zero, no "-0", no '+' */
    assert_false(string_to_ll("01", 2, &v));
    assert_false(string_to_ll("-0", 2, &v));
    assert_false(string_to_ll("+1", 2, &v));
    assert_true(string_to_ll("-12", 3, &v) && v == -12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rank_range),
        cmocka_unit_test(test_cursor),
        cmocka_unit_test(test_long_double_parse),
        cmocka_unit_test(test_long_double_print),
        cmocka_unit_test(test_decimal_digits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
