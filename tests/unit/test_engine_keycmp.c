/*
 * test_engine_keycmp.c — the ordered index's key comparison
 * (idx_keycmp_inline in engine/index.h, idx_keycmp in index_util.c) against
 * a byte-at-a-time reference.
 *
 * What it proves: comparing 8-byte big-endian words gives exactly memcmp's
 * order, shorter-first on a common prefix, for keys of every length from 0
 * to 80 (the word loop, the byte tail, and the memcmp path past 64 bytes),
 * with the first difference at every position and with bytes on both sides
 * of 0x80 (a signed comparison, or a word compared in the wrong byte order,
 * fails here). The comparison is the engine's performance hot spot, so it
 * was rewritten for speed: this test is what keeps the speed honest.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "index.h"

/* The definition: unsigned bytes, first difference decides, then length. */
static int ref_cmp(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    size_t common = alen < blen ? alen : blen;
    for (size_t i = 0; i < common; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return (alen > blen) - (alen < blen);
}

static int sign(int x) { return (x > 0) - (x < 0); }

static void check_pair(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    int want = ref_cmp(a, alen, b, blen);
    assert_int_equal(sign(idx_keycmp_inline(a, alen, b, blen)), want);
    assert_int_equal(sign(idx_keycmp(a, alen, b, blen)), want);
    assert_int_equal(sign(idx_keycmp_inline(b, blen, a, alen)), -want);
}

/* Equal prefixes, then one differing byte at every position of every
 * length, with low/high byte values (0x01 vs 0xfe straddles 0x80). */
static void test_first_difference_everywhere(void **state)
{
    (void)state;
    unsigned char a[80], b[80];
    static const unsigned char vals[][2] = { { 0x00, 0x01 }, { 0x7f, 0x80 }, { 0x01, 0xfe },
                                             { 0x30, 0x39 } };
    for (size_t len = 1; len <= sizeof a; len++)
        for (size_t pos = 0; pos < len; pos++)
            for (size_t v = 0; v < sizeof vals / sizeof vals[0]; v++) {
                memset(a, 0x30, len);
                memset(b, 0x30, len);
                a[pos] = vals[v][0];
                b[pos] = vals[v][1];
                /* A later byte that disagrees the other way: only the
                 * first difference may decide. */
                if (pos + 1 < len) {
                    a[len - 1] = 0xff;
                    b[len - 1] = 0x00;
                }
                check_pair(a, len, b, len);
            }
}

/* A common prefix of every length: shorter first, equal when equal. */
static void test_prefixes_and_lengths(void **state)
{
    (void)state;
    unsigned char k[80];
    for (size_t i = 0; i < sizeof k; i++)
        k[i] = (unsigned char)(i * 37 + 11);
    for (size_t alen = 0; alen <= sizeof k; alen++)
        for (size_t blen = 0; blen <= sizeof k; blen++)
            check_pair(k, alen, k, blen);
    assert_int_equal(idx_keycmp_inline(NULL, 0, NULL, 0), 0);
    assert_true(idx_keycmp_inline(NULL, 0, "a", 1) < 0);
}

/* Random keys of random lengths over a tiny alphabet (long shared
 * prefixes), xorshift-seeded so a failure replays. */
static void test_random_pairs(void **state)
{
    (void)state;
    uint64_t s = 0x9e3779b97f4a7c15u;
    unsigned char a[80], b[80];
    for (int n = 0; n < 200000; n++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        size_t alen = s % 81, blen = (s >> 8) % 81;
        for (size_t i = 0; i < sizeof a; i++) {
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            a[i] = (unsigned char)((s & 1) ? 0x80 : 0x7f);
            b[i] = (s & 0x7e) ? a[i] : (unsigned char)(s >> 16);
        }
        check_pair(a, alen, b, blen);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_difference_everywhere),
        cmocka_unit_test(test_prefixes_and_lengths),
        cmocka_unit_test(test_random_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
