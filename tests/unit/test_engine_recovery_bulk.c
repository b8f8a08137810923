/*
 * test_engine_recovery_bulk.c — the fast paths of recovery stay exact.
 *
 * What it proves:
 *   - hidx_reserve (engine/hash_index.c) sizes the table once: n inserts
 *     after reserve(n) start no resize, a reserve in the middle of a resize
 *     finishes it and loses no key, and a reserve never shrinks;
 *   - a store reopened from hint files plus a log written after them gives
 *     exactly the model's contents (newest write wins across hints and log,
 *     deletes in the log hide keys that hints still hold, expiry survives),
 *     both in key order (ordered index) and by point lookup (hash index);
 *   - the engine's invariants hold after the reopen: each segment's live
 *     bytes and the expiry set, which recovery now keeps record by record,
 *     match the entries (db_check_invariants).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chalk/engine.h"
#include "db.h"
#include "index.h"
#include "testdir.h"

/* ---- hidx_reserve ------------------------------------------------------- */

static idx_entry *entry_for(uint64_t i)
{
    idx_entry *e = calloc(1, sizeof(*e) + sizeof i);
    assert_non_null(e);
    memcpy(e->key, &i, sizeof i);
    e->klen = sizeof i;
    e->hash = idx_hash(e->key, e->klen);
    return e;
}

static void free_entry(void *arg, idx_entry *e) { (void)arg; free(e); }

static void test_reserve_then_fill_never_resizes(void **state)
{
    (void)state;
    hidx *h = hidx_new();
    assert_non_null(h);
    assert_int_equal(hidx_reserve(h, 5000), 0);
    size_t mem = hidx_memory(h);
    for (uint64_t i = 0; i < 5000; i++) {
        int err = 1;
        assert_null(hidx_insert(h, entry_for(i), &err));
        assert_int_equal(err, 0);
        assert_false(hidx_rehashing(h));
    }
    assert_int_equal(hidx_memory(h), mem);      /* no table was added */
    assert_int_equal(hidx_count(h), 5000);
    assert_int_equal(hidx_check_invariants(h), 0);
    hidx_free(h, free_entry, NULL);
}

static void test_reserve_mid_resize_keeps_keys(void **state)
{
    (void)state;
    hidx *h = hidx_new();
    assert_non_null(h);
    uint64_t n = 0;
    while (!hidx_rehashing(h) || n < 100) {     /* stop inside a resize */
        assert_null(hidx_insert(h, entry_for(n), NULL));
        n++;
        if (n > 100 && hidx_rehashing(h)) break;
    }
    assert_true(hidx_rehashing(h));
    size_t before = hidx_memory(h);
    assert_int_equal(hidx_reserve(h, 1), 0);     /* smaller: finishes, keeps size */
    assert_false(hidx_rehashing(h));
    assert_true(hidx_memory(h) < before);       /* the old table is gone */
    size_t mem = hidx_memory(h);
    assert_int_equal(hidx_reserve(h, 2), 0);
    assert_int_equal(hidx_memory(h), mem);      /* never shrinks */
    assert_int_equal(hidx_reserve(h, 100000), 0);
    assert_true(hidx_memory(h) > mem);
    assert_int_equal(hidx_check_invariants(h), 0);
    assert_int_equal(hidx_count(h), n);
    for (uint64_t i = 0; i < n; i++)
        assert_non_null(hidx_find(h, idx_hash(&i, sizeof i), &i, sizeof i));
    hidx_free(h, free_entry, NULL);
}

/* ---- recovery from hints plus log --------------------------------------- */

#define NKEYS 3000

static void quiet(void *arg, enum chalk_log_level lvl, const char *msg)
{
    (void)arg; (void)lvl; (void)msg;
}

static void open_db(const char *dir, chalk_db **db)
{
    chalk_options opt;
    chalk_options_init(&opt);
    opt.segment_size = 16384;                    /* many segments, many hints */
    opt.fsync = CHALK_FSYNC_NO;
    opt.log = quiet;
    assert_int_equal(chalk_open(dir, &opt, db), CHALK_OK);
}

static void key_of(char *k, int i) { snprintf(k, 16, "k%07d", (i * 7919) % NKEYS); }

/* The model: version[i] (0 = absent) of key_of(i), value "v<version>-<i>",
 * expiry expiry[i]. */
static int version[NKEYS];
static int64_t expiry[NKEYS];

static void put_version(chalk_db *db, int i, int v, int64_t exp)
{
    char k[16], val[32];
    key_of(k, i);
    int n = snprintf(val, sizeof val, "v%d-%d", v, i);
    assert_int_equal(chalk_put(db, k, strlen(k), val, (size_t)n, exp), CHALK_OK);
    version[i] = v;
    expiry[i] = exp;
}

static void count_key(void *arg, const void *key, size_t klen, int64_t expire_at_ms)
{
    (void)key; (void)klen; (void)expire_at_ms;
    (*(size_t *)arg)++;
}

static void check_model(chalk_db *db)
{
    size_t live = 0;
    for (int i = 0; i < NKEYS; i++) {
        char k[16], want[32];
        key_of(k, i);
        chalk_value v;
        int rc = chalk_get(db, k, strlen(k), &v);
        if (!version[i]) {
            assert_int_equal(rc, CHALK_ENOTFOUND);
            continue;
        }
        live++;
        assert_int_equal(rc, CHALK_OK);
        int n = snprintf(want, sizeof want, "v%d-%d", version[i], i);
        assert_int_equal(v.len, (size_t)n);
        assert_memory_equal(v.data, want, (size_t)n);
        assert_int_equal(v.expire_at_ms, expiry[i]);
        chalk_value_free(&v);
    }
    chalk_stats st;
    chalk_stats_get(db, &st);
    assert_int_equal(st.keys, live);
}

/* Keys come back in strictly increasing order, as many as are live. */
static void check_order(chalk_db *db, size_t live)
{
    chalk_iter *it = chalk_iter_new(db, NULL);
    assert_non_null(it);
    chalk_iter_seek_first(it);
    char prev[64] = "";
    size_t n = 0, plen = 0;
    for (; chalk_iter_valid(it); chalk_iter_next(it), n++) {
        size_t klen;
        const void *k = chalk_iter_key(it, &klen);
        assert_true(klen < sizeof prev);
        if (n) {
            int c = memcmp(prev, k, klen < plen ? klen : plen);
            assert_true(c < 0 || (c == 0 && plen < klen));
        }
        memcpy(prev, k, klen);
        plen = klen;
    }
    chalk_iter_free(it);
    assert_int_equal(n, live);
}

static void test_hints_plus_log_match_model(void **state)
{
    (void)state;
    char dir[256];
    chalk_db *db;
    assert_int_equal(testdir_make(dir, sizeof dir, "recbulk"), 0);
    open_db(dir, &db);
    int64_t far = 4102444800000;                 /* 2100: set, not expired */
    for (int i = 0; i < NKEYS; i++) put_version(db, i, 1, i % 5 ? 0 : far);
    for (int i = 0; i < NKEYS; i += 3) put_version(db, i, 2, 0);
    assert_int_equal(chalk_compact(db), CHALK_OK);
    assert_int_equal(chalk_compact_wait(db), CHALK_OK);
    /* After the hints: overwrite some keys, delete others, re-add a few. */
    for (int i = 0; i < NKEYS; i += 4) put_version(db, i, 3, 0);
    for (int i = 1; i < NKEYS; i += 5) {
        char k[16];
        key_of(k, i);
        assert_int_equal(chalk_delete(db, k, strlen(k)), CHALK_OK);
        version[i] = 0;
        expiry[i] = 0;
    }
    for (int i = 1; i < NKEYS; i += 25) put_version(db, i, 4, 0);
    for (int i = 1; i < NKEYS; i += 50) {        /* marker, PUT, marker again */
        char k[16];
        key_of(k, i);
        assert_int_equal(chalk_delete(db, k, strlen(k)), CHALK_OK);
        version[i] = 0;
        expiry[i] = 0;
    }
    assert_int_equal(chalk_close(db), CHALK_OK);
    char **hints = NULL;
    size_t nh = 0;
    assert_int_equal(testdir_list(dir, ".hint", &hints, &nh), 0);
    assert_true(nh > 1);                         /* the test needs several */
    testdir_free_list(hints, nh);
    for (int round = 0; round < 2; round++) {    /* twice: reopen is stable */
        open_db(dir, &db);
        check_model(db);
        assert_int_equal(db_check_invariants(db), 0);   /* live bytes, expiry set */
        size_t live = 0, expiring = 0, sampled = 0;
        for (int i = 0; i < NKEYS; i++) {
            live += version[i] != 0;
            expiring += expiry[i] != 0;
        }
        assert_true(expiring > 0);
        check_order(db, live);
        /* The expiry set was rebuilt: sampling it in 2100 finds every one. */
        chalk_expire_sample(db, far, NKEYS * 2, count_key, &sampled);
        assert_int_equal(sampled, expiring);
        assert_int_equal(chalk_close(db), CHALK_OK);
    }
    testdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reserve_then_fill_never_resizes),
        cmocka_unit_test(test_reserve_mid_resize_keeps_keys),
        cmocka_unit_test(test_hints_plus_log_match_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
