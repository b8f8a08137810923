/*
 * test_engine_model.c — a seeded random sequence of puts, deletes, batches
 * and already-expired puts, checked against a plain array model after
 * every reopen and every compaction (both I/O paths, 8 KiB segments so that
 * many segments exist). Also: a corrupt hint file gives the same result as
 * a valid one (the segment is scanned); a snapshot taken before a
 * compaction still reads its data after the swap; compaction reclaims
 * space and is counted in write amplification.
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
#include "db.h"
#include "dbopen.h"
#include "testdir.h"

#define NKEYS 150
#define SEGSIZE 8192

struct model { char *val[NKEYS]; };

struct fixture {
    enum chalk_io io;
    char dir[512];
    struct model m;
    uint64_t rng;
};

static uint64_t rnd(struct fixture *f)
{
    f->rng ^= f->rng << 13;
    f->rng ^= f->rng >> 7;
    f->rng ^= f->rng << 17;
    return f->rng;
}

static chalk_db *open_db(struct fixture *f)
{
    chalk_options o;
    chalk_options_init(&o);
    o.io = f->io;
    o.fsync = CHALK_FSYNC_NO;
    o.segment_size = SEGSIZE;
    o.compact_dead_ratio = 0;     /* compactions only when the test asks */
    o.mmap_reads = f->io == CHALK_IO_URING;   /* both read paths: mmap and pread */
    o.log = test_quiet_log;
    return test_open(f->dir, &o);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->io = *(enum chalk_io *)*state;
    f->rng = 0x9e3779b97f4a7c15ull;
    assert_int_equal(testdir_make_fast(f->dir, sizeof f->dir, "engine_model"), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < NKEYS; i++) free(f->m.val[i]);
    testdir_remove(f->dir);
    free(f);
    return 0;
}

static int keyname(char *k, int i) { return sprintf(k, "key%03d", i); }

static void check_model(chalk_db *db, const struct model *m)
{
    char k[16];
    int live = 0;
    assert_int_equal(db_check_invariants(db), 0);
    for (int i = 0; i < NKEYS; i++) {
        int kl = keyname(k, i);
        chalk_value v;
        int rc = chalk_get(db, k, (size_t)kl, &v);
        if (!m->val[i]) {
            assert_int_equal(rc, CHALK_ENOTFOUND);
            continue;
        }
        live++;
        assert_int_equal(rc, CHALK_OK);
        assert_int_equal(v.len, strlen(m->val[i]));
        assert_memory_equal(v.data, m->val[i], v.len);
        chalk_value_free(&v);
    }
    chalk_iter *it = chalk_iter_new(db, NULL);
    int n = 0;
    for (chalk_iter_seek_first(it); chalk_iter_valid(it); chalk_iter_next(it)) n++;
    assert_int_equal(chalk_iter_status(it), CHALK_OK);
    chalk_iter_free(it);
    assert_int_equal(n, live);
}

static void set_model(struct model *m, int i, const char *v)
{
    free(m->val[i]);
    m->val[i] = v ? strdup(v) : NULL;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void random_op(struct fixture *f, chalk_db *db, int step)
{
    char k[16], v[400];
    int i = (int)(rnd(f) % NKEYS), kl = keyname(k, i), what = (int)(rnd(f) % 10);
    int vl = snprintf(v, 40, "s%d-", step);
    int pad = (int)(rnd(f) % 300);
    memset(v + vl, 'a' + step % 26, (size_t)pad);
    vl += pad;
    v[vl] = 0;
    if (what < 5) {
        assert_int_equal(chalk_put(db, k, (size_t)kl, v, (size_t)vl, 0), CHALK_OK);
        set_model(&f->m, i, v);
    } else if (what < 7) {
        int rc = chalk_delete(db, k, (size_t)kl);
        assert_int_equal(rc, f->m.val[i] ? CHALK_OK : CHALK_ENOTFOUND);
        set_model(&f->m, i, NULL);
    } else if (what < 8) {     /* already expired: invisible at once */
        assert_int_equal(chalk_put(db, k, (size_t)kl, v, (size_t)vl, wall_ms() - 5), CHALK_OK);
        set_model(&f->m, i, NULL);
    } else {                   /* a batch of three */
        chalk_batch *b = chalk_batch_new();
        int j = (i + 1) % NKEYS, d = (i + 2) % NKEYS;
        char k2[16], k3[16];
        int kl2 = keyname(k2, j), kl3 = keyname(k3, d);
        chalk_batch_put(b, k, (size_t)kl, v, (size_t)vl, 0);
        chalk_batch_put(b, k2, (size_t)kl2, "batched", 7, 0);
        chalk_batch_delete(b, k3, (size_t)kl3);
        assert_int_equal(chalk_write(db, b, NULL, NULL), CHALK_OK);
        chalk_batch_free(b);
        set_model(&f->m, i, v);
        set_model(&f->m, j, "batched");
        set_model(&f->m, d, NULL);
    }
}

static void test_random_ops_reopen_compact(void **state)
{
    struct fixture *f = *state;
    chalk_db *db = open_db(f);
    for (int step = 0; step < 6000; step++) {
        random_op(f, db, step);
        if (step % 750 != 749) continue;
        check_model(db, &f->m);
        if ((step / 750) % 2 == 0) {
            assert_int_equal(chalk_close(db), CHALK_OK);
            db = open_db(f);
        } else {
            chalk_stats before, after;
            chalk_stats_get(db, &before);
            assert_int_equal(chalk_compact(db), CHALK_OK);
            for (int w = 0; w < 50; w++) random_op(f, db, step * 100 + w);   /* writes during the merge */
            assert_int_equal(chalk_compact_wait(db), CHALK_OK);
            chalk_stats_get(db, &after);
            assert_int_equal(after.compactions, before.compactions + 1);
            assert_true(after.segments < before.segments + 3);
            assert_true(after.write_amplification > 1.0);
        }
        check_model(db, &f->m);
    }
    chalk_stats st;
    chalk_stats_get(db, &st);
    assert_true(st.compaction_bytes_written > 0);
    assert_int_equal(chalk_close(db), CHALK_OK);
    db = open_db(f);           /* recovery from hints + log */
    check_model(db, &f->m);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

static void test_corrupt_hint_same_result(void **state)
{
    struct fixture *f = *state;
    chalk_db *db = open_db(f);
    for (int step = 0; step < 1500; step++) random_op(f, db, step);
    assert_int_equal(chalk_compact(db), CHALK_OK);
    assert_int_equal(chalk_compact_wait(db), CHALK_OK);
    assert_int_equal(chalk_close(db), CHALK_OK);
    char **names;
    size_t count;
    assert_int_equal(testdir_list(f->dir, ".hint", &names, &count), 0);
    assert_true(count >= 1);
    for (size_t i = 0; i < count; i++) {
        char path[1100];
        snprintf(path, sizeof path, "%s/%s", f->dir, names[i]);
        assert_int_equal(testdir_xor_byte(path, 40, 0x20), 0);
    }
    testdir_free_list(names, count);
    db = open_db(f);
    check_model(db, &f->m);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

static void test_snapshot_survives_compaction(void **state)
{
    struct fixture *f = *state;
    chalk_db *db = open_db(f);
    for (int step = 0; step < 1500; step++) random_op(f, db, step);
    struct model old = { { 0 } };
    for (int i = 0; i < NKEYS; i++) old.val[i] = f->m.val[i] ? strdup(f->m.val[i]) : NULL;
    chalk_snapshot *snap;
    assert_int_equal(chalk_snapshot_acquire(db, &snap), CHALK_OK);
    for (int step = 1500; step < 2500; step++) random_op(f, db, step);
    assert_int_equal(chalk_compact(db), CHALK_OK);
    assert_int_equal(chalk_compact_wait(db), CHALK_OK);
    for (int step = 2500; step < 2700; step++) random_op(f, db, step);
    /* The snapshot still shows exactly `old`, values included. */
    chalk_iter *it = chalk_iter_new(db, snap);
    int n = 0, live = 0;
    for (int i = 0; i < NKEYS; i++) live += old.val[i] != NULL;
    for (chalk_iter_seek_first(it); chalk_iter_valid(it); chalk_iter_next(it), n++) {
        size_t kl;
        const char *k = chalk_iter_key(it, &kl);
        char num[8] = { 0 };
        assert_int_equal(kl, 6);
        memcpy(num, k + 3, 3);
        int i = atoi(num);
        assert_non_null(old.val[i]);
        chalk_value v;
        assert_int_equal(chalk_iter_value(it, &v), CHALK_OK);
        assert_int_equal(v.len, strlen(old.val[i]));
        assert_memory_equal(v.data, old.val[i], v.len);
        chalk_value_free(&v);
    }
    assert_int_equal(n, live);
    chalk_iter_free(it);
    chalk_snapshot_release(db, snap);
    check_model(db, &f->m);
    assert_int_equal(chalk_close(db), CHALK_OK);
    db = open_db(f);
    check_model(db, &f->m);
    assert_int_equal(chalk_close(db), CHALK_OK);
    for (int i = 0; i < NKEYS; i++) free(old.val[i]);
}

/* Compaction's caller-side phases run in slices of a few thousand keys,
 * one per chalk_poll. With 20 000 keys there are several slices of both
 * the collection and the swap; writes, deletes and expiring keys between
 * slices must all survive, and the result must match a model. */
static void test_writes_between_compaction_slices(void **state)
{
    struct fixture *f = *state;
    enum { N = 20000 };
    uint32_t *ver = calloc(N, sizeof *ver);    /* 0 = absent, else value version */
    chalk_db *db = open_db(f);
    char k[16], v[16];
    for (int i = 0; i < N; i++) {
        snprintf(k, sizeof k, "s%05d", i);
        int vl = snprintf(v, sizeof v, "v%u", 1u);
        assert_int_equal(chalk_put(db, k, 6, v, (size_t)vl, 0), CHALK_OK);
        ver[i] = 1;
    }
    for (int i = 0; i < N; i += 2) {           /* half dead: worth compacting */
        snprintf(k, sizeof k, "s%05d", i);
        assert_int_equal(chalk_put(db, k, 6, "v2", 2, 0), CHALK_OK);
        ver[i] = 2;
    }
    chalk_stats st;
    assert_int_equal(chalk_compact(db), CHALK_OK);
    int polls = 0;
    for (;;) {
        for (int j = 0; j < 40; j++) {         /* writes between slices */
            int i = (int)(rnd(f) % N);
            snprintf(k, sizeof k, "s%05d", i);
            int what = (int)(rnd(f) % 3);
            if (what == 0) {
                assert_int_equal(chalk_delete(db, k, 6), ver[i] ? CHALK_OK : CHALK_ENOTFOUND);
                ver[i] = 0;
            } else if (what == 1) {
                ver[i] += 10;
                int vl = snprintf(v, sizeof v, "v%u", ver[i]);
                assert_int_equal(chalk_put(db, k, 6, v, (size_t)vl, 0), CHALK_OK);
            } else {
                assert_int_equal(chalk_put(db, k, 6, "x", 1, wall_ms() - 1), CHALK_OK);
                ver[i] = 0;
            }
        }
        chalk_poll(db);
        polls++;
        chalk_stats_get(db, &st);
        if (st.compactions == 1 || polls > 100000) break;
    }
    assert_int_equal(st.compactions, 1);
    assert_true(polls > 2);                    /* really sliced */
    assert_int_equal(db_check_invariants(db), 0);
    for (int round = 0; round < 2; round++) {  /* now, and after a reopen */
        for (int i = 0; i < N; i++) {
            snprintf(k, sizeof k, "s%05d", i);
            chalk_value val;
            int rc = chalk_get(db, k, 6, &val);
            if (!ver[i]) { assert_int_equal(rc, CHALK_ENOTFOUND); continue; }
            assert_int_equal(rc, CHALK_OK);
            int vl = snprintf(v, sizeof v, "v%u", ver[i]);
            assert_int_equal(val.len, (size_t)vl);
            assert_memory_equal(val.data, v, (size_t)vl);
            chalk_value_free(&val);
        }
        assert_int_equal(chalk_close(db), CHALK_OK);
        db = open_db(f);
    }
    assert_int_equal(chalk_close(db), CHALK_OK);
    free(ver);
}

/* A live iterator walks 12 000 keys while a compaction's slices move them
 * into new segments under it: every key is returned once, in order, and
 * every value reads back intact. */
static void test_iterator_across_compaction_slices(void **state)
{
    struct fixture *f = *state;
    enum { N = 12000 };
    chalk_db *db = open_db(f);
    char k[16], v[24];
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < N; i++) {
            snprintf(k, sizeof k, "it%05d", i);
            int vl = snprintf(v, sizeof v, "r%d-%05d", round, i);
            assert_int_equal(chalk_put(db, k, 7, v, (size_t)vl, 0), CHALK_OK);
        }
    chalk_iter *it = chalk_iter_new(db, NULL);
    assert_int_equal(chalk_compact(db), CHALK_OK);
    int n = 0;
    for (chalk_iter_seek_first(it); chalk_iter_valid(it); chalk_iter_next(it), n++) {
        size_t kl;
        const char *key = chalk_iter_key(it, &kl);
        snprintf(k, sizeof k, "it%05d", n);
        assert_int_equal(kl, 7);
        assert_memory_equal(key, k, 7);
        chalk_value val;
        assert_int_equal(chalk_iter_value(it, &val), CHALK_OK);
        int vl = snprintf(v, sizeof v, "r1-%05d", n);
        assert_int_equal(val.len, (size_t)vl);
        assert_memory_equal(val.data, v, (size_t)vl);
        chalk_value_free(&val);
        if (n % 50 == 0) chalk_poll(db);        /* a slice between steps */
    }
    assert_int_equal(chalk_iter_status(it), CHALK_OK);
    assert_int_equal(n, N);
    chalk_iter_free(it);
    assert_int_equal(chalk_compact_wait(db), CHALK_OK);
    chalk_stats st;
    chalk_stats_get(db, &st);
    assert_int_equal(st.compactions, 1);
    assert_int_equal(db_check_invariants(db), 0);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

static enum chalk_io io_uring_mode = CHALK_IO_URING, io_psync_mode = CHALK_IO_PSYNC;

#define BOTH(fn) \
    cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, &io_uring_mode), \
    cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, &io_psync_mode)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_random_ops_reopen_compact),
        BOTH(test_corrupt_hint_same_result),
        BOTH(test_snapshot_survives_compaction),
        BOTH(test_writes_between_compaction_slices),
        BOTH(test_iterator_across_compaction_slices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
