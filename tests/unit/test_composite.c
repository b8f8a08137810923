/*
 * test_composite.c — the composite-key encoding of server/composite.h
 * against a real engine: the sub-record key bytes (a golden dump that
 * doubles as documentation), the isolation that the key-length prefix
 * buys, purging leftovers on creation, and lazy free: a big collection's
 * grave reaped slice by slice until nothing of it remains (cp_reap).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "composite.h"
#include "keyops.h"
#include "server.h"
#include "testdir.h"

static char dir[4096];

static int setup(void **state)
{
    (void)state;
    chalk_options opt;
    chalk_options_init(&opt);
    opt.fsync = CHALK_FSYNC_NO;
    server.cfg.databases = 16;
    if (testdir_make(dir, sizeof dir, "composite") != 0)
        return -1;
    return chalk_open(dir, &opt, &server.db) == CHALK_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    chalk_close(server.db);
    server.db = NULL;
    testdir_remove(dir);
    return 0;
}

/* Number of sub-records of (db, key) of every kind, graves included. */
static long count_sub(int db, const char *key)
{
    static const int kinds[] = {CP_HASH, CP_SET, CP_LIST, CP_ZMEMBER, CP_ZSCORE, CP_GRAVE};
    long n = 0;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        cp_iter ci;
        assert_int_equal(cp_iter_open(&ci, db, kinds[i], key, strlen(key), NULL, 0), CHALK_OK);
        for (; cp_iter_valid(&ci); cp_iter_next(&ci))
            n++;
        cp_iter_close(&ci);
    }
    return n;
}

/* A set of n members "m<i>" under key, written directly. */
static void make_set(int db, const char *key, long n)
{
    cp_meta m = {.db = db, .key = key, .klen = strlen(key), .type = KS_SET};
    chalk_batch *b = chalk_batch_new();
    for (long i = 0; i < n; i++) {
        char mem[32];
        int len = snprintf(mem, sizeof mem, "m%ld", i);
        assert_int_equal(cp_put(b, db, CP_SET, key, m.klen, mem, (size_t)len, NULL, 0, "", 0),
                         CHALK_OK);
    }
    m.count = (uint64_t)n;
    assert_int_equal(cp_meta_store(b, &m), CHALK_OK);
    assert_int_equal(chalk_write(server.db, b, NULL, NULL), CHALK_OK);
    chalk_batch_free(b);
}

static void test_subkey_golden_bytes(void **state)
{
    (void)state;
    ks_buf k;
    assert_int_equal(cp_subkey(&k, 3, CP_HASH, "ab", 2, "f", 1, "\x00", 1), 0);
    const unsigned char want[] = {3, 'h', 0, 0, 0, 2, 'a', 'b', 'f', 0};
    assert_int_equal(k.len, sizeof want);
    assert_memory_equal(k.p, want, sizeof want);
    ks_free(&k);
    assert_int_equal(cp_prefix_len(2), 8);
}

static void test_key_length_prefix_isolates_keys(void **state)
{
    (void)state;
    chalk_batch *b = chalk_batch_new();
    cp_put(b, 0, CP_HASH, "a", 1, "bc", 2, NULL, 0, "1", 1);
    cp_put(b, 0, CP_HASH, "ab", 2, "c", 1, NULL, 0, "2", 1);
    assert_int_equal(chalk_write(server.db, b, NULL, NULL), CHALK_OK);
    chalk_batch_free(b);
    cp_iter ci;
    assert_int_equal(cp_iter_open(&ci, 0, CP_HASH, "a", 1, NULL, 0), CHALK_OK);
    assert_true(cp_iter_valid(&ci));
    assert_int_equal(ci.slen, 2);
    assert_memory_equal(ci.suffix, "bc", 2);
    cp_iter_next(&ci);
    assert_false(cp_iter_valid(&ci));      /* "ab"'s field is not "a"'s */
    cp_iter_close(&ci);
}

static void test_begin_purges_leftovers(void **state)
{
    (void)state;
    chalk_batch *b = chalk_batch_new();   /* members without a main record */
    cp_put(b, 1, CP_LIST, "k", 1, "\x80\0\0\0\0\0\0\0", 8, NULL, 0, "old", 3);
    cp_put(b, 1, CP_ZMEMBER, "k", 1, "x", 1, NULL, 0, "12345678", 8);
    assert_int_equal(chalk_write(server.db, b, NULL, NULL), CHALK_OK);
    cp_meta m;
    assert_int_equal(cp_lookup_quiet(1, "k", 1, KS_SET, &m), 0);
    chalk_batch_clear(b);
    assert_int_equal(cp_begin(b, &m), CHALK_OK);
    cp_put(b, 1, CP_SET, "k", 1, "new", 3, NULL, 0, "", 0);
    m.count = 1;
    assert_int_equal(cp_meta_store(b, &m), CHALK_OK);
    assert_int_equal(chalk_write(server.db, b, NULL, NULL), CHALK_OK);
    chalk_batch_free(b);
    assert_int_equal(count_sub(1, "k"), 1);
    assert_int_equal(cp_lookup_quiet(1, "k", 1, KS_SET, &m), 1);
    assert_int_equal(m.count, 1);
    assert_int_equal(cp_lookup_quiet(1, "k", 1, KS_HASH, &m), CP_WRONGTYPE);
}

static void test_big_delete_is_reaped_in_slices(void **state)
{
    (void)state;
    const long n = 3 * CP_REAP_SLICE;
    make_set(2, "big", n);
    make_set(2, "small", 10);
    chalk_batch *b = chalk_batch_new();
    assert_int_equal(ks_delete_key(b, 2, "big", 3), 1);
    assert_int_equal(ks_delete_key(b, 2, "small", 5), 1);
    assert_true(chalk_batch_count(b) < 2 * CP_SYNC_DELETE + 16);   /* bounded */
    assert_int_equal(chalk_write(server.db, b, NULL, NULL), CHALK_OK);
    chalk_batch_free(b);
    assert_int_equal(count_sub(2, "small"), 0);                    /* small: at once */
    assert_true(cp_has(2, CP_GRAVE, "big", 3, NULL, 0));
    assert_int_equal(count_sub(2, "big"), n - CP_SYNC_DELETE + 1); /* + the grave */
    int slices = 0;
    long got;
    while ((got = cp_reap()) > 0) {
        assert_true(got <= CP_REAP_SLICE);
        slices++;
        assert_true(slices < 100);
    }
    assert_int_equal(got, 0);
    assert_true(slices >= 3);
    assert_int_equal(count_sub(2, "big"), 0);
    assert_false(cp_has(2, CP_GRAVE, "big", 3, NULL, 0));
}

static void test_expired_collection_gets_a_grave(void **state)
{
    (void)state;
    make_set(4, "e", 5);
    ks_buf ek;
    ks_key(&ek, 4, "e", 1);
    assert_int_equal(cp_expired(NULL, ek.p, ek.len), CHALK_OK);
    assert_true(cp_has(4, CP_GRAVE, "e", 1, NULL, 0));
    assert_int_equal(chalk_delete(server.db, ek.p, ek.len), CHALK_OK);
    while (cp_reap() > 0)
        ;
    assert_int_equal(count_sub(4, "e"), 0);
    ks_free(&ek);
    /* a string has no members: no grave */
    ks_buf sk;
    ks_key(&sk, 4, "str", 3);
    assert_int_equal(cp_expired(NULL, sk.p, sk.len), CHALK_OK);
    assert_false(cp_has(4, CP_GRAVE, "str", 3, NULL, 0));
    ks_free(&sk);
}

/* A name reused in the batch that deletes it (RENAME / COPY / *STORE onto
 * a big collection): the grave that deletion leaves must not reap the new
 * members later. */
static void test_stale_grave_spares_the_new_collection(void **state)
{
    (void)state;
    make_set(5, "dst", CP_SYNC_DELETE + 500);
    chalk_batch *b = chalk_batch_new();
    assert_int_equal(ks_delete_key(b, 5, "dst", 3), 1);       /* leaves a grave */
    assert_true(cp_purge(b, 5, "dst", 3) >= CP_SYNC_DELETE);   /* what stores do */
    cp_meta m = {.db = 5, .key = "dst", .klen = 3, .type = KS_SET, .count = 2, .exists = true};
    cp_put(b, 5, CP_SET, "dst", 3, "n1", 2, NULL, 0, "", 0);
    cp_put(b, 5, CP_SET, "dst", 3, "n2", 2, NULL, 0, "", 0);
    assert_int_equal(cp_meta_store(b, &m), CHALK_OK);
    assert_int_equal(chalk_write(server.db, b, NULL, NULL), CHALK_OK);
    chalk_batch_free(b);
    while (cp_reap() > 0)
        ;
    assert_false(cp_has(5, CP_GRAVE, "dst", 3, NULL, 0));
    assert_int_equal(count_sub(5, "dst"), 2);
    assert_true(cp_has(5, CP_SET, "dst", 3, "n1", 2) && cp_has(5, CP_SET, "dst", 3, "n2", 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_subkey_golden_bytes),
        cmocka_unit_test_setup_teardown(test_key_length_prefix_isolates_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_begin_purges_leftovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_delete_is_reaped_in_slices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_collection_gets_a_grave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_grave_spares_the_new_collection, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
