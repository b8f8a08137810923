/*
 * test_resp_args.c — argument parsing with Redis's exact rules (server/
 * util.c): string_to_ll refuses what Redis refuses, string_to_double, and
 * glob_match (Redis's stringmatchlen), including pathological patterns
 * that must answer promptly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static bool ll(const char *s, long long *v) { return string_to_ll(s, strlen(s), v); }

static void test_string_to_ll(void **state)
{
    long long v;
    assert_true(ll("0", &v) && v == 0);
    assert_true(ll("-1", &v) && v == -1);
    assert_true(ll("9223372036854775807", &v) && v == LLONG_MAX);
    assert_true(ll("-9223372036854775808", &v) && v == LLONG_MIN);
    const char *bad[] = {"", "-", "+1", "01", "-0", " 1", "1 ", "1a", "9223372036854775808",
                         "-9223372036854775809", "18446744073709551616", "1.0", "0x10", NULL};
    for (int i = 0; bad[i]; i++)
        assert_false(ll(bad[i], &v));
    assert_false(string_to_ll("1\0" "2", 3, &v));      /* an embedded NUL */
}

static void test_string_to_double(void **state)
{
    double d;
    assert_true(string_to_double("1.5", 3, &d) && d == 1.5);
    assert_true(string_to_double("-inf", 4, &d) && isinf(d) && d < 0);
    assert_true(string_to_double("+inf", 4, &d) && isinf(d));
    assert_true(string_to_double("1e3", 3, &d) && d == 1000);
    assert_false(string_to_double("nan", 3, &d));
    assert_false(string_to_double(" 1", 2, &d));
    assert_false(string_to_double("1x", 2, &d));
    assert_false(string_to_double("", 0, &d));
    assert_false(string_to_double("1\0" "2", 3, &d));
}

static bool gm(const char *p, const char *s) { return glob_match(p, strlen(p), s, strlen(s), false); }

static void test_glob(void **state)
{
    assert_true(gm("*", "anything"));
    assert_true(gm("h?llo", "hello"));
    assert_true(gm("h[ae]llo", "hallo"));
    assert_false(gm("h[^e]llo", "hello"));
    assert_true(gm("h[a-b]llo", "hbllo"));
    assert_true(gm("a\\*b", "a*b"));
    assert_false(gm("a\\*b", "axb"));
    assert_true(gm("*max*", "maxclients"));
    assert_false(gm("max", "maxclients"));
    assert_true(glob_match("MAX*", 4, "maxclients", 10, true));
}

/* Redis CVE-2022-36021: "a*a*a*...b" against "aaaa...": exponential without
 * the skip-longer rule; must answer at once here. */
static void test_glob_pathological(void **state)
{
    char pat[200], str[200];
    size_t n = 0;
    for (int i = 0; i < 60; i++) {
        pat[n++] = 'a';
        pat[n++] = '*';
    }
    pat[n++] = 'b';
    memset(str, 'a', 150);
    assert_false(glob_match(pat, n, str, 150, false));
    char deep[3000];
    memset(deep, '*', sizeof deep);
    deep[sizeof deep - 1] = 'x';
    assert_false(glob_match(deep, sizeof deep, str, 150, false));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string_to_ll),
        cmocka_unit_test(test_string_to_double),
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_glob_pathological),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
