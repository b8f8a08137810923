/*
 * test_glob.c — glob_match_bounded (server/glob.c): Redis's stringmatchlen
 * semantics, checked three ways:
 *   1. a table of cases whose answers come from Redis's documented and
 *      observed behaviour (sets, ranges, escapes, unclosed sets, "*" vs "");
 *   2. a differential run against a straight port of Redis 7's recursive
 *      stringmatchlen_impl (below, test-only), on 300k random patterns and
 *      strings over an alphabet full of metacharacters;
 *   3. the bound: pathological patterns (CVE-2022-36021's shape, and more
 *      stars than Redis's nesting limit) against a 100 KB string answer,
 *      with no recursion at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "glob.h"

static bool m(const char *pat, const char *str) { return glob_match_bounded(pat, strlen(pat), str, strlen(str), false); }
static bool mi(const char *pat, const char *str) { return glob_match_bounded(pat, strlen(pat), str, strlen(str), true); }

static void test_table(void **state)
{
    (void)state;
    assert_true(m("h?llo", "hello"));
    assert_false(m("h?llo", "hllo"));
    assert_true(m("h*llo", "hllo"));
    assert_true(m("h*llo", "heeeello"));
    assert_true(m("h[ae]llo", "hallo"));
    assert_false(m("h[ae]llo", "hillo"));
    assert_true(m("h[^e]llo", "hallo"));
    assert_false(m("h[^e]llo", "hello"));
    assert_true(m("h[a-b]llo", "hbllo"));
    assert_true(m("h[b-a]llo", "hbllo"));          /* bounds in either order */
    assert_true(m("h\\*", "h*"));
    assert_false(m("h\\*", "hx"));
    assert_true(m("*", "anything"));
    assert_false(m("*", ""));                        /* Redis: "" only matches "" */
    assert_true(m("", ""));
    assert_false(m("", "a"));
    assert_false(m("[", "["));                       /* an empty, unclosed set */
    assert_true(m("[^", "x"));                       /* unclosed negated set: any byte */
    assert_true(m("[a", "a"));                       /* unclosed set runs to the end */
    assert_false(m("[]a]", "]"));                    /* "[]" is empty, then "a]" */
    assert_true(m("h[a-]", "h]"));                   /* "a-]" is a range a..']' */
    assert_true(m("h[a-]", "h^"));
    assert_true(m("\\", "\\"));                      /* a trailing backslash is itself */
    assert_true(m("[\\]]", "]"));                    /* escaped ']' inside a set */
    assert_true(m("a*b*c", "aXXbYYc"));
    assert_false(m("a*b*c", "aXXbYY"));
    assert_true(m("*o", "o"));
    assert_true(m("**", "x"));
    assert_true(m("a\\", "a\\"));
    assert_true(mi("HeLLo", "hello"));
    assert_true(mi("h[A-Z]llo", "hello"));
    assert_false(mi("h[\\E]llo", "hello"));          /* escapes in sets stay exact */
    assert_true(m("[Z-a]", "_"));                    /* 'Z'..'a' spans "[\]^_`" */
    assert_false(mi("[Z-a]", "_"));                  /* nocase folds AFTER ordering the */
    assert_false(mi("[Z-a]", "z"));                  /* bounds: 'z'..'a', empty (Redis) */
    assert_true(glob_match_bounded("a\0b", 3, "a\0b", 3, false));   /* binary-safe */
    assert_false(glob_match_bounded("a\0b", 3, "a\0c", 3, false));
    assert_true(glob_match_bounded("?", 1, "\xff", 1, false));
}

/* ---- the reference: Redis 7's stringmatchlen_impl, ported for the test
 * (NUL-terminated copies, signed chars replaced by unsigned for ranges to
 * follow our documented choice; the match results are otherwise Redis's). */
static int ref_impl(const char *pattern, int patternLen, const char *string, int stringLen,
                    int nocase, int *skipLonger, int nesting)
{
    if (nesting > 1000)
        return 0;
    while (patternLen && stringLen) {
        switch (pattern[0]) {
        case '*':
            while (patternLen && pattern[1] == '*') {
                pattern++;
                patternLen--;
            }
            if (patternLen == 1)
                return 1;
            while (stringLen) {
                if (ref_impl(pattern + 1, patternLen - 1, string, stringLen, nocase, skipLonger,
                             nesting + 1))
                    return 1;
                if (*skipLonger)
                    return 0;
                string++;
                stringLen--;
            }
            *skipLonger = 1;
            return 0;
        case '?':
            string++;
            stringLen--;
            break;
        case '[': {
            int not, match;
            pattern++;
            patternLen--;
            not = pattern[0] == '^';
            if (not) {
                pattern++;
                patternLen--;
            }
            match = 0;
            while (1) {
                if (pattern[0] == '\\' && patternLen >= 2) {
                    pattern++;
                    patternLen--;
                    if (pattern[0] == string[0])
                        match = 1;
                } else if (pattern[0] == ']') {
                    break;
                } else if (patternLen == 0) {
                    pattern--;
                    patternLen++;
                    break;
                } else if (patternLen >= 3 && pattern[1] == '-') {
                    int start = (unsigned char)pattern[0], end = (unsigned char)pattern[2];
                    int c = (unsigned char)string[0];
                    if (start > end) {
                        int t = start;
                        start = end;
                        end = t;
                    }
                    if (nocase) {
                        start = start >= 'A' && start <= 'Z' ? start + 32 : start;
                        end = end >= 'A' && end <= 'Z' ? end + 32 : end;
                        c = c >= 'A' && c <= 'Z' ? c + 32 : c;
                    }
                    pattern += 2;
                    patternLen -= 2;
                    if (c >= start && c <= end)
                        match = 1;
                } else {
                    int a = (unsigned char)pattern[0], b = (unsigned char)string[0];
                    if (nocase) {
                        a = a >= 'A' && a <= 'Z' ? a + 32 : a;
                        b = b >= 'A' && b <= 'Z' ? b + 32 : b;
                    }
                    if (a == b)
                        match = 1;
                }
                pattern++;
                patternLen--;
            }
            if (not)
                match = !match;
            if (!match)
                return 0;
            string++;
            stringLen--;
            break;
        }
        case '\\':
            if (patternLen >= 2) {
                pattern++;
                patternLen--;
            }
            /* fall through */
        default: {
            int a = (unsigned char)pattern[0], b = (unsigned char)string[0];
            if (nocase) {
                a = a >= 'A' && a <= 'Z' ? a + 32 : a;
                b = b >= 'A' && b <= 'Z' ? b + 32 : b;
            }
            if (a != b)
                return 0;
            string++;
            stringLen--;
            break;
        }
        }
        pattern++;
        patternLen--;
        if (stringLen == 0) {
            while (*pattern == '*') {
                pattern++;
                patternLen--;
            }
            break;
        }
    }
    return patternLen == 0 && stringLen == 0;
}

static int ref_match(const char *pat, size_t plen, const char *str, size_t slen, int nocase)
{
    /* Redis's patterns and keys are sds: NUL-terminated; give the port the
     * same guarantee (it reads one byte past the end in places). */
    char *p = calloc(1, plen + 2), *s = calloc(1, slen + 2);
    memcpy(p, pat, plen);
    memcpy(s, str, slen);
    int skip = 0;
    int r = ref_impl(p, (int)plen, s, (int)slen, nocase, &skip, 0);
    free(p);
    free(s);
    return r;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void fill(char *buf, size_t n, const char *alphabet)
{
    size_t k = strlen(alphabet);
    for (size_t i = 0; i < n; i++)
        buf[i] = alphabet[rnd() % k];
}

static void test_differential_against_redis_port(void **state)
{
    (void)state;
    const char *pat_alpha = "ab*?[]^-\\AB";
    const char *str_alpha = "ab]-^\\*?[AB";
    char pat[16], str[16];
    unsigned long matches = 0;
    for (int iter = 0; iter < 300000; iter++) {
        size_t plen = rnd() % 13, slen = rnd() % 13;
        fill(pat, plen, pat_alpha);
        fill(str, slen, str_alpha);
        bool nocase = iter & 1;
        int want = ref_match(pat, plen, str, slen, nocase);
        bool got = glob_match_bounded(pat, plen, str, slen, nocase);
        if ((int)got != want)
            fail_msg("pattern '%.*s' string '%.*s' nocase %d: ours %d, Redis %d", (int)plen, pat,
                     (int)slen, str, nocase, got, want);
        matches += got;
    }
    assert_true(matches > 1000);   /* the random cases are not all misses */
}

/* Many stars against a long string of the letter they almost match: a
 * naive backtracking matcher takes exponential time here; ours revisits only
 * the latest star. The last case MATCHES with 1500 stars, where Redis's
 * nesting limit (1000) would give up and say no: the documented difference. */
static void test_pathological_patterns_terminate(void **state)
{
    (void)state;
    size_t slen = 100000;
    char *s = malloc(slen);
    memset(s, 'a', slen);
    char pat[4096];
    size_t n = 0;
    for (int i = 0; i < 1500; i++) {       /* > Redis's nesting limit of 1000 */
        pat[n++] = 'a';
        pat[n++] = '*';
    }
    pat[n++] = 'b';
    assert_false(glob_match_bounded(pat, n, s, slen, false));
    assert_false(glob_match_bounded("*a*a*a*a*a*a*a*a*a*a*a*a*a*b", 28, s, slen, false));
    pat[n - 1] = 'a';                      /* now it matches: 1500 stars, no recursion */
    assert_true(glob_match_bounded(pat, n, s, slen, false));
    /* a run between stars that almost matches everywhere: plain bytes are
     * found by memmem in linear time; with '?' it is tried at each place */
    n = 0;
    pat[n++] = '*';
    for (int i = 0; i < 200; i++)
        pat[n++] = 'a';
    pat[n++] = 'b';
    pat[n++] = '*';
    assert_false(glob_match_bounded(pat, n, s, slen, false));
    pat[100] = '?';
    assert_false(glob_match_bounded(pat, n, s, slen, false));
    s[slen / 2] = 'b';                     /* 'a'x200 'b' now occurs mid-string */
    pat[100] = 'a';
    assert_true(glob_match_bounded(pat, n, s, slen, false));
    assert_true(glob_match_bounded(pat, n, s, slen, true));
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_differential_against_redis_port),
        cmocka_unit_test(test_pathological_patterns_terminate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
