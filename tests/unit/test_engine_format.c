/*
 * test_engine_format.c — the record codec and segment header (record.c):
 * round trips of empty, binary and large records; every single-bit flip is
 * detected; a corrupt length is refused before it is trusted; an unknown
 * segment version is told apart from corruption.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chalk/engine.h"
#include "record.h"

static void roundtrip(const void *key, uint32_t klen, const void *val, uint32_t vlen,
                      uint8_t kind, uint8_t flags)
{
    size_t sz = (size_t)record_size(klen, vlen);
    uint8_t *buf = malloc(sz);
    assert_non_null(buf);
    assert_int_equal(record_encode(buf, kind, flags, 42, 1700000000123LL, key, klen, val, vlen), sz);
    struct record_view rv;
    assert_int_equal(record_decode(buf, sz, &rv), (int64_t)sz);
    assert_int_equal(rv.kind, kind);
    assert_int_equal(rv.flags, flags);
    assert_int_equal(rv.seq, 42);
    assert_int_equal(rv.expire_at_ms, 1700000000123LL);
    assert_int_equal(rv.klen, klen);
    assert_int_equal(rv.vlen, vlen);
    if (klen) assert_memory_equal(rv.key, key, klen);
    if (vlen) assert_memory_equal(rv.value, val, vlen);
    /* Every prefix is "need more", never a record and never corrupt. */
    for (size_t cut = 0; cut < sz && cut < 200; cut++)
        assert_int_equal(record_decode(buf, cut, &rv), REC_NEED_MORE);
    free(buf);
}

static void test_roundtrip_small(void **state)
{
    roundtrip("", 0, "", 0, REC_PUT, 0);
    roundtrip("k", 1, "", 0, REC_PUT, REC_F_COMMIT);
    roundtrip("", 0, "v", 1, REC_PUT, 0);
    roundtrip("a\0b", 3, "\0\0\xff", 3, REC_PUT, REC_F_COMMIT);
    roundtrip("gone", 4, NULL, 0, REC_DELETE, REC_F_COMMIT);
}

static void test_roundtrip_large(void **state)
{
    uint32_t vlen = (1u << 20) + 7;   /* 1 MiB + a bit */
    uint8_t *v = malloc(vlen);
    assert_non_null(v);
    for (uint32_t i = 0; i < vlen; i++) v[i] = (uint8_t)(i * 31 + 7);
    roundtrip("big", 3, v, vlen, REC_PUT, REC_F_COMMIT);
    free(v);
}

/* Flip every bit of a record once: decode must never accept it. */
static void test_every_bit_flip_detected(void **state)
{
    uint8_t buf[64];
    size_t sz = record_encode(buf, REC_PUT, REC_F_COMMIT, 7, 0, "key", 3, "value", 5);
    struct record_view rv;
    for (size_t bit = 0; bit < sz * 8; bit++) {
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        int64_t r = record_decode(buf, sz, &rv);
        assert_true(r == CHALK_ECORRUPT || r == REC_NEED_MORE);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    assert_int_equal(record_decode(buf, sz, &rv), (int64_t)sz);
}

/* A length beyond the maximum with a VALID header checksum (a buggy or
 * hostile writer) is refused from the header alone. */
static void test_oversized_length_refused(void **state)
{
    uint8_t buf[64];
    record_encode(buf, REC_PUT, 0, 1, 0, "k", 1, "v", 1);
    put_le32(buf + 28, CHALK_MAX_VALUE_SIZE + 1);
    put_le32(buf, (uint32_t)record_checksum(buf + 4, REC_HEADER_SIZE - 4));
    struct record_view rv;
    assert_int_equal(record_decode_header(buf, sizeof buf, &rv), CHALK_ECORRUPT);
    /* A DELETE carrying a value is structurally wrong. */
    record_encode(buf, REC_DELETE, 0, 1, 0, "k", 1, NULL, 0);
    put_le32(buf + 28, 1);
    put_le32(buf, (uint32_t)record_checksum(buf + 4, REC_HEADER_SIZE - 4));
    assert_int_equal(record_decode_header(buf, sizeof buf, &rv), CHALK_ECORRUPT);
}

static void test_segment_header(void **state)
{
    uint8_t h[SEG_HEADER_SIZE];
    struct seg_header sh;
    seg_header_encode(h, 17, SEG_F_MERGED);
    assert_int_equal(seg_header_decode(h, &sh), 0);
    assert_int_equal(sh.segment_id, 17);
    assert_int_equal(sh.flags, SEG_F_MERGED);
    assert_int_equal(sh.version, SEG_VERSION);
    /* A future version, correctly checksummed: EVERSION, not ECORRUPT. */
    put_le32(h + 8, SEG_VERSION + 1);
    put_le32(h + 28, (uint32_t)record_checksum(h, 28));
    assert_int_equal(seg_header_decode(h, &sh), CHALK_EVERSION);
    /* A bit flip: ECORRUPT. */
    seg_header_encode(h, 17, 0);
    h[13] ^= 4;
    assert_int_equal(seg_header_decode(h, &sh), CHALK_ECORRUPT);
    memcpy(h, "NOTCHALK", 8);
    assert_int_equal(seg_header_decode(h, &sh), CHALK_ECORRUPT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_small),
        cmocka_unit_test(test_roundtrip_large),
        cmocka_unit_test(test_every_bit_flip_detected),
        cmocka_unit_test(test_oversized_length_refused),
        cmocka_unit_test(test_segment_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
