/*
 * test_engine_rank.c — the engine's order statistics (chalk_rank,
 * chalk_iter_seek_rank) against a model, through the public API:
 *   - ranks of present keys, absent keys, the empty key and past the end,
 *     while keys are written and deleted (also across a reopen, whose
 *     ordered index is bulk loaded: its counts are built bottom-up);
 *   - seek by rank lands on the key of that rank and then iterates on;
 *   - expired keys the index still holds are COUNTED by chalk_rank (the
 *     documented contract) while seek by rank onto one moves on to the
 *     next visible key;
 *   - an iterator over a snapshot refuses a seek by rank (CHALK_EINVAL).
 * The index-level model test (every split, merge and borrow) is in
 * test_ordered_index.c; this one checks the wiring and the contract.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "chalk/engine.h"
#include "dbopen.h"
#include "testdir.h"

#define NKEYS 3000

static chalk_db *open_db(const char *dir)
{
    chalk_options o;
    test_options(&o, CHALK_FSYNC_NO);
    return test_open(dir, &o);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Key i: "k" + 5 decimal digits, so byte order is numeric order. */
static void key_of(int i, char out[8])
{
    snprintf(out, 8, "k%05d", i);
}

static void check_all(chalk_db *db, const unsigned char *held)
{
    chalk_iter *it = chalk_iter_new(db, NULL);
    assert_non_null(it);
    uint64_t r = 0, rank;
    for (int i = 0; i < NKEYS; i++) {
        char k[8];
        key_of(i, k);
        assert_int_equal(chalk_rank(db, k, 6, &rank), CHALK_OK);
        assert_int_equal(rank, r);
        if (held[i] && i % 7 == 0) {             /* the key at that rank */
            chalk_iter_seek_rank(it, r);
            assert_true(chalk_iter_valid(it));
            size_t kl;
            const void *got = chalk_iter_key(it, &kl);
            assert_int_equal(kl, 6);
            assert_memory_equal(got, k, 6);
        }
        r += held[i];
    }
    assert_int_equal(chalk_rank(db, "z", 1, &rank), CHALK_OK);   /* past all */
    assert_int_equal(rank, r);
    assert_int_equal(chalk_rank(db, NULL, 0, &rank), CHALK_OK);  /* before all */
    assert_int_equal(rank, 0);
    chalk_iter_seek_rank(it, r);                                  /* past the end */
    assert_false(chalk_iter_valid(it));
    assert_int_equal(chalk_iter_status(it), CHALK_OK);
    chalk_iter_free(it);
}

static void test_rank_model_and_reopen(void **state)
{
    (void)state;
    char dir[512];
    assert_int_equal(testdir_make_fast(dir, sizeof dir, "engine_rank"), 0);
    chalk_db *db = open_db(dir);
    unsigned char *held = calloc(NKEYS, 1);
    assert_non_null(held);
    uint64_t rng = 42;
    for (int round = 0; round < 4; round++) {
        for (int n = 0; n < NKEYS; n++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            int i = (int)((rng >> 33) % NKEYS);
            char k[8];
            key_of(i, k);
            if ((rng >> 20) % 3 != 0) {
                assert_int_equal(chalk_put(db, k, 6, "v", 1, 0), CHALK_OK);
                held[i] = 1;
            } else {
                int rc = chalk_delete(db, k, 6);
                assert_true(rc == CHALK_OK || rc == CHALK_ENOTFOUND);
                held[i] = 0;
            }
        }
        check_all(db, held);
    }
    assert_int_equal(chalk_close(db), CHALK_OK);
    db = open_db(dir);                 /* recovery bulk loads the index */
    check_all(db, held);
    assert_int_equal(chalk_rank(db, "k", 1, NULL), CHALK_EINVAL);
    assert_int_equal(chalk_rank(db, NULL, 1, &(uint64_t){0}), CHALK_EINVAL);
    assert_int_equal(chalk_close(db), CHALK_OK);
    free(held);
    testdir_remove(dir);
}

/* Keys a b c d e; c has expired but is still in the index. */
static void test_rank_counts_expired_seek_skips_them(void **state)
{
    (void)state;
    char dir[512];
    assert_int_equal(testdir_make_fast(dir, sizeof dir, "engine_rank_exp"), 0);
    chalk_db *db = open_db(dir);
    const char *keys = "abcde";
    for (int i = 0; i < 5; i++)
        assert_int_equal(chalk_put(db, keys + i, 1, "v", 1, i == 2 ? now_ms() - 1 : 0), CHALK_OK);
    uint64_t rank;
    assert_int_equal(chalk_rank(db, "d", 1, &rank), CHALK_OK);
    assert_int_equal(rank, 3);                    /* a, b and the expired c */
    chalk_iter *it = chalk_iter_new(db, NULL);
    assert_non_null(it);
    chalk_iter_seek_rank(it, 2);                  /* c's rank: moves on to d */
    assert_true(chalk_iter_valid(it));
    size_t kl;
    assert_memory_equal(chalk_iter_key(it, &kl), "d", 1);
    chalk_iter_next(it);
    assert_memory_equal(chalk_iter_key(it, &kl), "e", 1);
    chalk_iter_seek_rank(it, 1);
    assert_memory_equal(chalk_iter_key(it, &kl), "b", 1);
    chalk_iter_free(it);

    chalk_snapshot *snap;
    assert_int_equal(chalk_snapshot_acquire(db, &snap), CHALK_OK);
    it = chalk_iter_new(db, snap);
    assert_non_null(it);
    chalk_iter_seek_rank(it, 0);
    assert_false(chalk_iter_valid(it));
    assert_int_equal(chalk_iter_status(it), CHALK_EINVAL);
    chalk_iter_free(it);
    chalk_snapshot_release(db, snap);
    assert_int_equal(chalk_close(db), CHALK_OK);
    testdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rank_model_and_reopen),
        cmocka_unit_test(test_rank_counts_expired_seek_skips_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
