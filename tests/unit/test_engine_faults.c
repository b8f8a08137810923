/*
 * test_engine_faults.c — I/O errors and crashes, through the fault vfs
 * (tests/unit/helpers/fault_vfs.c; a vfs forces the pwrite+fdatasync path):
 *   - an fdatasync EIO under ALWAYS fails the batch's callback with
 *     CHALK_EIO (never retried, never acknowledged), puts the engine in the
 *     failed state (CHALK_EFAILED for later writes), and a reopen serves
 *     every batch acknowledged before it;
 *   - a write ENOSPC fails the batch with CHALK_ENOSPC, same state;
 *   - a crash at EVERY vfs operation of a compaction (write, fsync, rename,
 *     directory fsync, unlink) then a power loss: the reopened store holds
 *     exactly the keys it held before, no deleted key resurrected.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chalk/engine.h"
#include "dbopen.h"
#include "fault_vfs.h"
#include "testdir.h"

struct fixture {
    char dir[512], base[512];
    struct fault_vfs *fv;
};

static chalk_db *open_db(struct fixture *f, const char *dir, int use_vfs, enum chalk_fsync fs)
{
    chalk_options o;
    test_options(&o, fs);
    o.segment_size = 4096;
    o.compact_dead_ratio = 0;
    o.io = CHALK_IO_PSYNC;
    if (use_vfs) o.vfs = fault_vfs_get(f->fv);
    return test_open(dir, &o);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_int_equal(testdir_make_fast(f->dir, sizeof f->dir, "engine_faults"), 0);
    assert_int_equal(testdir_make_fast(f->base, sizeof f->base, "engine_faults_base"), 0);
    f->fv = fault_vfs_new(42);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    fault_vfs_free(f->fv);
    testdir_remove(f->dir);
    testdir_remove(f->base);
    free(f);
    return 0;
}

static void status_cb(void *arg, int status) { *(int *)arg = status; }

static int write_and_wait(chalk_db *db, const char *k, const char *v)
{
    chalk_batch *b = chalk_batch_new();
    chalk_batch_put(b, k, strlen(k), v, strlen(v), 0);
    int status = 1;
    int rc = chalk_write(db, b, status_cb, &status);
    chalk_batch_free(b);
    if (rc) return rc;
    chalk_flush(db);
    struct pollfd p = { .fd = chalk_event_fd(db), .events = POLLIN };
    for (int i = 0; status == 1 && i < 200; i++) {
        poll(&p, 1, 100);
        chalk_poll(db);
    }
    return status;
}

static void fail_then_check(void **state, unsigned kind, int err, int want)
{
    struct fixture *f = *state;
    chalk_db *db = open_db(f, f->dir, 1, CHALK_FSYNC_ALWAYS);
    assert_int_equal(write_and_wait(db, "acked", "yes"), CHALK_OK);
    fault_vfs_fail_nth(f->fv, kind, 1, err, 0);
    assert_int_equal(write_and_wait(db, "doomed", "no"), want);
    chalk_stats st;
    chalk_stats_get(db, &st);
    assert_int_equal(st.failed, 1);
    /* Never retried then acknowledged: every later write is refused. */
    assert_int_equal(chalk_put(db, "later", 5, "x", 1, 0), CHALK_EFAILED);
    assert_int_equal(write_and_wait(db, "later", "x"), CHALK_EFAILED);
    assert_int_not_equal(chalk_close(db), CHALK_OK);
    fault_vfs_clear_faults(f->fv);
    db = open_db(f, f->dir, 0, CHALK_FSYNC_ALWAYS);
    chalk_value v;
    assert_int_equal(chalk_get(db, "acked", 5, &v), CHALK_OK);
    chalk_value_free(&v);
    assert_int_equal(chalk_get(db, "later", 5, &v), CHALK_ENOTFOUND);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

static void test_fsync_eio_fails_batch(void **state) { fail_then_check(state, FAULT_OP_SYNC, EIO, CHALK_EIO); }
static void test_write_enospc_fails_batch(void **state) { fail_then_check(state, FAULT_OP_WRITE, ENOSPC, CHALK_ENOSPC); }

/* The blocking path (chalk_write_sync does its own write+fdatasync): an
 * fsync EIO is returned, never retried, and the engine is failed. */
static void test_write_sync_fsync_eio(void **state)
{
    struct fixture *f = *state;
    chalk_db *db = open_db(f, f->dir, 1, CHALK_FSYNC_ALWAYS);
    chalk_batch *b = chalk_batch_new();
    chalk_batch_put(b, "one", 3, "1", 1, 0);
    assert_int_equal(chalk_write_sync(db, b), CHALK_OK);
    fault_vfs_fail_nth(f->fv, FAULT_OP_SYNC, 1, EIO, 0);
    uint64_t syncs = fault_vfs_ops_of(f->fv, FAULT_OP_SYNC);
    chalk_batch_clear(b);
    chalk_batch_put(b, "two", 3, "2", 1, 0);
    assert_int_equal(chalk_write_sync(db, b), CHALK_EIO);
    assert_int_equal(fault_vfs_ops_of(f->fv, FAULT_OP_SYNC), syncs + 1);   /* not retried */
    assert_int_equal(chalk_write_sync(db, b), CHALK_EFAILED);
    assert_int_equal(chalk_sync(db), CHALK_EIO);
    chalk_batch_free(b);
    assert_int_not_equal(chalk_close(db), CHALK_OK);
    fault_vfs_clear_faults(f->fv);
    db = open_db(f, f->dir, 0, CHALK_FSYNC_ALWAYS);
    chalk_value v;
    assert_int_equal(chalk_get(db, "one", 3, &v), CHALK_OK);
    chalk_value_free(&v);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

/* Keys 0..59: puts, overwrites, deletes (tombstones in sealed segments over
 * older PUTs), expired ones. Returns the expected set as a bitmap. */
static void build_base(struct fixture *f, char *expect)
{
    chalk_db *db = open_db(f, f->base, 0, CHALK_FSYNC_NO);
    char k[16], v[120];
    memset(v, 'x', sizeof v);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 60; i++) {
            snprintf(k, sizeof k, "key%02d", i);
            v[0] = (char)('a' + round);
            assert_int_equal(chalk_put(db, k, 5, v, sizeof v, 0), CHALK_OK);
            expect[i] = 1;
        }
    /* A first compaction: the PUTs move to merged segments whose ids are
     * HIGHER than the active one, which then receives the tombstones below:
     * unlinking sources in id order alone would drop a tombstone before the
     * older PUT it hides (the case the COMPACTION manifest exists for). */
    assert_int_equal(chalk_compact(db), CHALK_OK);
    assert_int_equal(chalk_compact_wait(db), CHALK_OK);
    for (int i = 0; i < 60; i += 3) {
        snprintf(k, sizeof k, "key%02d", i);
        assert_int_equal(chalk_delete(db, k, 5), CHALK_OK);
        expect[i] = 0;
    }
    assert_int_equal(chalk_put(db, "key01", 5, v, sizeof v, 1000), CHALK_OK);   /* expired in 1970 */
    expect[1] = 0;
    for (int i = 0; i < 10; i++) chalk_put(db, "pad", 3, v, sizeof v, 0);   /* seal the deletes */
    assert_int_equal(chalk_close(db), CHALK_OK);
}

static void check_expect(chalk_db *db, const char *expect)
{
    char k[16];
    for (int i = 0; i < 60; i++) {
        snprintf(k, sizeof k, "key%02d", i);
        chalk_value v;
        int rc = chalk_get(db, k, 5, &v);
        if (rc != (expect[i] ? CHALK_OK : CHALK_ENOTFOUND)) fail_msg("key%02d: got %d", i, rc);
        if (rc == CHALK_OK) {
            assert_int_equal(v.len, 120);
            assert_int_equal(((char *)v.data)[0], 'c');
        }
        chalk_value_free(&v);
    }
}

static void test_crash_at_every_compaction_step(void **state)
{
    struct fixture *f = *state;
    char expect[60];
    build_base(f, expect);
    /* Count the vfs operations of open + compaction + close once. */
    testdir_clear(f->dir);
    testdir_copy(f->base, f->dir);
    fault_vfs_reset(f->fv);
    uint64_t before = fault_vfs_ops(f->fv);
    chalk_db *db = open_db(f, f->dir, 1, CHALK_FSYNC_NO);
    uint64_t opened = fault_vfs_ops(f->fv);
    assert_int_equal(chalk_compact(db), CHALK_OK);
    assert_int_equal(chalk_compact_wait(db), CHALK_OK);
    check_expect(db, expect);
    assert_int_equal(chalk_close(db), CHALK_OK);
    uint64_t total = fault_vfs_ops(f->fv) - before;
    assert_true(total > opened - before + 10);
    if (getenv("CHALK_TEST_LOG")) fprintf(stderr, "crash points: %llu..%llu\n", (unsigned long long)(opened - before + 1), (unsigned long long)total);
    for (uint64_t n = opened - before + 1; n <= total; n++) {
        for (int mode = 0; mode < 2; mode++) {
            testdir_clear(f->dir);
            testdir_copy(f->base, f->dir);
            fault_vfs_reset(f->fv);
            uint64_t b0 = fault_vfs_ops(f->fv);
            db = open_db(f, f->dir, 1, CHALK_FSYNC_NO);
            fault_vfs_crash_at(f->fv, b0 + n);
            chalk_compact(db);
            chalk_compact_wait(db);
            chalk_close(db);
            assert_int_equal(fault_vfs_apply_crash(f->fv, mode ? FAULT_CRASH_RANDOM : FAULT_CRASH_DROP_UNSYNCED), 0);
            db = open_db(f, f->dir, 0, CHALK_FSYNC_NO);
            check_expect(db, expect);
            assert_int_equal(chalk_close(db), CHALK_OK);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fsync_eio_fails_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_enospc_fails_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_sync_fsync_eio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_at_every_compaction_step, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
