/*
 * test_crash_compact.c — compaction under crashes, and hint files that lie.
 *
 * What each test proves (docs/engine-durability.md has the long version):
 *
 *   compaction_runs       On a store full of overwrites and deletes, an
 *                         explicit chalk_compact() completes, leaves fewer
 *                         segments, writes hint files, and changes nothing
 *                         a reader can see (the model still matches).
 *   crash_every_step      The vfs crashes at EVERY operation a compaction
 *                         makes (segment writes, fdatasyncs, renames, the
 *                         directory fsync, unlinks of the old segments),
 *                         while batches keep being written with
 *                         chalk_write_sync. After the disk is rolled back
 *                         to what was durable, the reopened store holds every
 *                         key (no loss), no deleted key (no resurrection),
 *                         and every acknowledged batch, in commit order.
 *   compaction_io_errors  ENOSPC or EIO, once, at each of the first writes,
 *                         fsyncs, renames, directory fsyncs, unlinks and
 *                         opens after the open: the running engine and the
 *                         reopened store both hold every acknowledged batch
 *                         and nothing else (no loss, no resurrection).
 *   crash_every_step_partial
 *                         The same with the automatic trigger, which merges
 *                         a prefix of the sealed segments (compaction.c,
 *                         choose_sources), on the first seeds whose
 *                         reference run merged some but not all of them:
 *                         no crash point loses or resurrects anything.
 *   crash_in_recovery_after_compaction_crash
 *                         The same, plus a second crash at every op of the
 *                         recovery (removing *.tmp, finishing a committed
 *                         compaction, cutting a torn tail): restartable.
 *   corrupt_hint          After a compaction, each hint file is damaged in
 *                         turn (a bit flip at every byte, a truncation, an
 *                         empty file, removal): the reopened store equals the
 *                         model exactly, as scanning the log gives.
 *
 * Seeds print on failure; CHALK_CRASH_TRACE=1 traces the vfs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chalk/engine.h"
#include "crash_model.h"
#include "fault_vfs.h"
#include "testdir.h"

#if defined(__SANITIZE_ADDRESS__) || defined(CHALK_VALGRIND)
#define COMPACT_SEEDS 3
#else
#define COMPACT_SEEDS 12
#endif

#define PRELOADED 60        /* batches written before the compaction */
#define DURING    8         /* batches written while it runs */

static const struct cm_params WORKLOAD = {
    .nbatches = PRELOADED + DURING, .nkeys = 40, .max_ops = 3, .max_vlen = 250, .del_pct = 25,
};

struct fx {
    char template_dir[256];
    char dir[256];
    uint64_t seed;
    struct cm_workload *w;
    char last_log[256];
    double ratio;             /* 0: explicit chalk_compact; else the trigger */
    int partial_runs;         /* compactions that merged some, not all, sealed */
};

static void capture(void *arg, enum chalk_log_level level, const char *msg)
{
    struct fx *f = arg;
    size_t merged, sealed;
    if (level >= CHALK_LOG_WARN)
        snprintf(f->last_log, sizeof f->last_log, "%s", msg);
    else if (sscanf(msg, "compaction: %zu of %zu", &merged, &sealed) == 2 && merged < sealed)
        f->partial_runs++;
}

static void options(chalk_options *o, struct fx *f, const struct chalk_vfs *vfs)
{
    chalk_options_init(o);
    o->fsync = CHALK_FSYNC_ALWAYS;
    o->segment_size = 4096;
    o->compact_dead_ratio = f->ratio; /* 0: only the explicit chalk_compact */
    o->log = capture;
    o->log_arg = f;
    o->vfs = vfs;
}

/* Write the first PRELOADED batches into the template, cleanly. */
static void make_template(struct fx *f, uint64_t seed)
{
    chalk_options o;
    chalk_db *db;
    chalk_batch *b = chalk_batch_new();
    f->seed = seed;
    f->w = cm_workload_new(seed, &WORKLOAD);
    assert_non_null(f->w);
    assert_int_equal(testdir_make_fast(f->template_dir, sizeof f->template_dir, "compsrc"), 0);
    assert_int_equal(testdir_make_fast(f->dir, sizeof f->dir, "comp"), 0);
    options(&o, f, NULL);
    assert_int_equal(chalk_open(f->template_dir, &o, &db), CHALK_OK);
    for (int i = 0; i < PRELOADED; i++) {
        assert_int_equal(cm_fill_batch(f->w, i, b), 0);
        assert_int_equal(chalk_write_sync(db, b), CHALK_OK);
    }
    assert_int_equal(chalk_close(db), CHALK_OK);
    chalk_batch_free(b);
}

static void drop_template(struct fx *f)
{
    cm_workload_free(f->w);
    testdir_remove(f->dir);
    testdir_remove(f->template_dir);
}

static void fresh_copy(struct fx *f)
{
    assert_int_equal(testdir_clear(f->dir), 0);
    assert_int_equal(testdir_copy(f->template_dir, f->dir), 0);
}

/* Start a compaction, write the DURING batches while it runs, wait for it.
 * Returns the number of batches acknowledged in all (PRELOADED + ...). */
static int compact_with_writes(chalk_db *db, struct fx *f)
{
    chalk_batch *b = chalk_batch_new();
    int acked = PRELOADED, rc = CHALK_OK;
    if (f->ratio > 0)
        chalk_poll(db);               /* the trigger starts a (partial) merge */
    else
        rc = chalk_compact(db);
    assert_true(rc == CHALK_OK || rc == CHALK_EBUSY || rc < 0);
    for (int i = PRELOADED; i < PRELOADED + DURING; i++) {
        assert_int_equal(cm_fill_batch(f->w, i, b), 0);
        if (chalk_write_sync(db, b) != CHALK_OK)
            break;
        acked = i + 1;
        chalk_poll(db);               /* lets the engine swap a finished merge in */
    }
    chalk_compact_wait(db);
    chalk_batch_free(b);
    return acked;
}

static void test_compaction_runs(void **state)
{
    struct fx f = { 0 };
    chalk_options o;
    chalk_db *db;
    chalk_stats before, after;
    char why[512], **hints;
    size_t nhints;
    make_template(&f, 1);
    fresh_copy(&f);
    options(&o, &f, NULL);
    assert_int_equal(chalk_open(f.dir, &o, &db), CHALK_OK);
    chalk_stats_get(db, &before);
    assert_int_equal(compact_with_writes(db, &f), PRELOADED + DURING);
    chalk_poll(db);
    chalk_stats_get(db, &after);
    if (after.compactions < 1)
        fail_msg("chalk_compact did not complete a compaction (compactions=%llu)",
                 (unsigned long long)after.compactions);
    assert_true(after.dead_bytes < before.dead_bytes);
    if (cm_check_state(f.w, db, PRELOADED + DURING, why, sizeof why) < 0)
        fail_msg("after compaction: %s", why);
    assert_int_equal(chalk_close(db), CHALK_OK);
    assert_int_equal(testdir_list(f.dir, ".hint", &hints, &nhints), 0);
    assert_true(nhints > 0);
    testdir_free_list(hints, nhints);
    assert_int_equal(chalk_open(f.dir, &o, &db), CHALK_OK);
    if (cm_check_state(f.w, db, PRELOADED + DURING, why, sizeof why) < 0)
        fail_msg("after compaction and reopen: %s", why);
    assert_int_equal(chalk_close(db), CHALK_OK);
    drop_template(&f);
}

/* Reopen with the real OS: every acknowledged batch, as a prefix. */
static void reopen_expect_prefix(struct fx *f, int acked, const char *what, uint64_t step)
{
    chalk_options o;
    chalk_db *db;
    char why[512];
    options(&o, f, NULL);
    int rc = chalk_open(f->dir, &o, &db);
    if (rc != CHALK_OK)
        fail_msg("seed=%llu %s %llu: reopen failed: %s (%s)", (unsigned long long)f->seed, what,
                 (unsigned long long)step, chalk_strerror(rc), f->last_log);
    if (cm_find_prefix(f->w, db, acked, why, sizeof why) < 0)
        fail_msg("seed=%llu %s %llu (mode %d), %d acknowledged: %s", (unsigned long long)f->seed,
                 what, (unsigned long long)step, (int)(step % 5), acked, why);
    chalk_close(db);
}

/* After a compaction crash: crash again at every op of the recovery (which
 * removes *.tmp files and finishes a committed compaction), then reopen.
 * Returns the number of recovery crash points. */
static uint64_t crash_recovery(struct fx *f, int acked)
{
    char saved[256];
    chalk_options o;
    chalk_db *db;
    assert_int_equal(testdir_make_fast(saved, sizeof saved, "compcrash"), 0);
    assert_int_equal(testdir_copy(f->dir, saved), 0);
    struct fault_vfs *count = fault_vfs_new(0);
    options(&o, f, fault_vfs_get(count));
    if (chalk_open(f->dir, &o, &db) == CHALK_OK)
        chalk_close(db);
    uint64_t total = fault_vfs_ops(count);
    fault_vfs_free(count);
    for (uint64_t op = 1; op <= total; op++) {
        struct fault_vfs *fv = fault_vfs_new(op);
        assert_int_equal(testdir_clear(f->dir), 0);
        assert_int_equal(testdir_copy(saved, f->dir), 0);
        fault_vfs_crash_at(fv, op);
        options(&o, f, fault_vfs_get(fv));
        if (chalk_open(f->dir, &o, &db) == CHALK_OK)
            chalk_close(db);
        assert_int_equal(fault_vfs_apply_crash(fv, (enum fault_crash_mode)(op % 5)), 0);
        fault_vfs_free(fv);
        reopen_expect_prefix(f, acked, "crash in recovery at op", op);
    }
    testdir_remove(saved);
    return total;
}

/* One crash point of one compaction: crash at op `step` after the open.
 * With rec_points, also crash at every op of the recovery from it. */
static uint64_t compact_crash(struct fx *f, uint64_t step, uint64_t *rec_points)
{
    chalk_options o;
    chalk_db *db;
    struct fault_vfs *fv = fault_vfs_new(f->seed * 1000003u + step);
    assert_non_null(fv);
    if (getenv("CHALK_CRASH_TRACE"))
        fault_vfs_trace(fv, stderr);
    fresh_copy(f);
    options(&o, f, fault_vfs_get(fv));
    assert_int_equal(chalk_open(f->dir, &o, &db), CHALK_OK);
    uint64_t base = fault_vfs_ops(fv);
    if (step)
        fault_vfs_crash_at(fv, base + step);
    int acked = compact_with_writes(db, f);
    if (!step) {                      /* the reference run must have merged */
        chalk_stats st;
        chalk_poll(db);
        chalk_stats_get(db, &st);
        if (st.compactions < 1)
            fail_msg("seed=%llu: the compaction did not complete", (unsigned long long)f->seed);
    }
    chalk_close(db);
    uint64_t ops = fault_vfs_ops(fv) - base;
    assert_int_equal(fault_vfs_apply_crash(fv, (enum fault_crash_mode)(step % 5)), 0);
    fault_vfs_free(fv);
    if (rec_points)
        *rec_points += crash_recovery(f, acked);
    reopen_expect_prefix(f, acked, "compaction crash at step", step);
    return ops;
}

/* Crash at every step of the compaction of COMPACT_SEEDS templates. With
 * ratio > 0 the trigger compacts, and only seeds whose reference run made
 * a partial merge count (the first COMPACT_SEEDS such of up to 100). */
static void crash_every_step(double ratio)
{
    int points = 0, seeds = 0;
    for (uint64_t seed = 1; seeds < COMPACT_SEEDS && seed <= (ratio > 0 ? 100 : COMPACT_SEEDS);
         seed++) {
        struct fx f = { .ratio = ratio };
        make_template(&f, seed);
        uint64_t total = compact_crash(&f, 0, NULL);
        if (ratio > 0 ? f.partial_runs == 0 : f.partial_runs != 0) {
            assert_true(ratio > 0);       /* chalk_compact merges every sealed segment */
            drop_template(&f);
            continue;
        }
        seeds++;
        for (uint64_t step = 1; step <= total; step++, points++)
            compact_crash(&f, step, NULL);
        drop_template(&f);
    }
    print_message("compaction crash points checked: %d, over %d seeds\n", points, seeds);
    assert_int_equal(seeds, COMPACT_SEEDS);
}

static void test_crash_every_step(void **state)
{
    crash_every_step(0);
}

static void test_crash_every_step_partial(void **state)
{
    crash_every_step(0.5);
}

/* A compaction crash, then a crash at every op of the recovery from it. */
static void test_crash_in_recovery_after_compaction_crash(void **state)
{
    int points = 0;
    uint64_t rec_points = 0;
    for (uint64_t seed = 100; seed < 100 + (COMPACT_SEEDS + 2) / 3; seed++) {
        struct fx f = { 0 };
        make_template(&f, seed);
        uint64_t total = compact_crash(&f, 0, NULL);
        for (uint64_t step = 1; step <= total; step++, points++)
            compact_crash(&f, step, &rec_points);
        drop_template(&f);
    }
    print_message("compaction crash points: %d, each followed by crashes in its recovery: %llu\n",
                  points, (unsigned long long)rec_points);
    assert_true(rec_points > 0);
}

/* One injected error during a compaction: the nth op of `kinds` after the
 * open fails once with err. The running engine must still serve a prefix
 * holding every acknowledged batch, and so must a reopen (after a crash
 * that keeps only what was synced). */
static void compact_fault(struct fx *f, unsigned kinds, uint64_t nth, int err)
{
    chalk_options o;
    chalk_db *db;
    char why[512];
    struct fault_vfs *fv = fault_vfs_new(nth);
    assert_non_null(fv);
    fresh_copy(f);
    options(&o, f, fault_vfs_get(fv));
    assert_int_equal(chalk_open(f->dir, &o, &db), CHALK_OK);
    fault_vfs_fail_nth(fv, kinds, nth, err, 0);
    int acked = compact_with_writes(db, f);
    chalk_stats st;
    chalk_poll(db);
    chalk_stats_get(db, &st);
    /* Once a write failed, the running engine still indexes the failed
     * batch (see test_crash.c, test_failed_batch_is_not_served): only check
     * that nothing false is served; the reopen below checks everything. */
    if (st.failed ? cm_check_plausible(f->w, db, why, sizeof why) < 0
                  : cm_find_prefix(f->w, db, acked, why, sizeof why) < 0)
        fail_msg("kinds=%#x nth=%llu err=%d, running engine, %d acknowledged: %s", kinds,
                 (unsigned long long)nth, err, acked, why);
    chalk_close(db);
    assert_int_equal(fault_vfs_apply_crash(fv, FAULT_CRASH_DROP_UNSYNCED), 0);
    fault_vfs_free(fv);
    options(&o, f, NULL);
    int rc = chalk_open(f->dir, &o, &db);
    if (rc != CHALK_OK)
        fail_msg("kinds=%#x nth=%llu err=%d: reopen failed: %s (%s)", kinds,
                 (unsigned long long)nth, err, chalk_strerror(rc), f->last_log);
    if (cm_find_prefix(f->w, db, acked, why, sizeof why) < 0)
        fail_msg("kinds=%#x nth=%llu err=%d, after reopen, %d acknowledged: %s", kinds,
                 (unsigned long long)nth, err, acked, why);
    chalk_close(db);
}

static void compact_faults_of(unsigned kinds)
{
    struct fx f = { 0 };
    make_template(&f, 5);
    for (uint64_t nth = 1; nth <= 10; nth++) {
        compact_fault(&f, kinds, nth, ENOSPC);
        compact_fault(&f, kinds, nth, EIO);
    }
    drop_template(&f);
}

/* ENOSPC or EIO at each write, fsync, rename, directory fsync and open a
 * compaction makes (one at a time): the compaction may fail, the store may
 * refuse further writes, but nothing acknowledged is lost and nothing
 * deleted comes back — neither in the running engine nor after a reopen. */
static void test_compaction_io_errors(void **state)
{
    static const unsigned kinds[] = { FAULT_OP_WRITE, FAULT_OP_SYNC, FAULT_OP_RENAME,
                                      FAULT_OP_SYNC_DIR, FAULT_OP_OPEN };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        compact_faults_of(kinds[k]);
}

/* The same for the unlinks of the old segments. This found an engine bug,
 * since fixed (082805e): a failed unlink of a source segment still removed
 * the COMPACTION manifest, so the next open replayed the surviving old
 * segment, whose PUTs had lost their tombstones in the merge, and a
 * deleted key came back. The manifest must stay until every source is
 * gone (or the open must refuse). */
static void test_compaction_unlink_errors(void **state)
{
    compact_faults_of(FAULT_OP_UNLINK);
}

/* Reopen after damaging one hint file; the store must equal the model. */
static void reopen_expect_model(struct fx *f, const char *what)
{
    chalk_options o;
    chalk_db *db;
    char why[512];
    options(&o, f, NULL);
    int rc = chalk_open(f->dir, &o, &db);
    if (rc != CHALK_OK)
        fail_msg("%s: open failed: %s (%s)", what, chalk_strerror(rc), f->last_log);
    if (cm_check_state(f->w, db, PRELOADED + DURING, why, sizeof why) < 0)
        fail_msg("%s: %s", what, why);
    chalk_close(db);
}

static void test_corrupt_hint(void **state)
{
    struct fx f = { 0 };
    chalk_options o;
    chalk_db *db;
    char **hints, path[600], what[700];
    size_t nhints;
    make_template(&f, 3);
    fresh_copy(&f);
    options(&o, &f, NULL);
    assert_int_equal(chalk_open(f.template_dir, &o, &db), CHALK_OK);
    assert_int_equal(compact_with_writes(db, &f), PRELOADED + DURING);
    assert_int_equal(chalk_close(db), CHALK_OK);
    assert_int_equal(testdir_list(f.template_dir, ".hint", &hints, &nhints), 0);
    assert_true(nhints > 0);
    for (size_t h = 0; h < nhints; h++) {
        snprintf(path, sizeof path, "%s/%s", f.dir, hints[h]);
        int64_t size;
        fresh_copy(&f);
        size = testdir_file_size(path);
        for (int64_t off = 0; off < size; off++) {
            fresh_copy(&f);
            assert_int_equal(testdir_xor_byte(path, (uint64_t)off, (unsigned char)(1u << (off % 8))), 0);
            snprintf(what, sizeof what, "%s: bit flip at offset %lld", hints[h], (long long)off);
            reopen_expect_model(&f, what);
        }
        fresh_copy(&f);
        assert_int_equal(testdir_truncate(path, (uint64_t)size / 2), 0);
        reopen_expect_model(&f, "hint truncated to half");
        fresh_copy(&f);
        assert_int_equal(testdir_truncate(path, 0), 0);
        reopen_expect_model(&f, "hint emptied");
        fresh_copy(&f);
        assert_int_equal(remove(path), 0);
        reopen_expect_model(&f, "hint removed");
    }
    testdir_free_list(hints, nhints);
    drop_template(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compaction_runs),
        cmocka_unit_test(test_corrupt_hint),
        cmocka_unit_test(test_crash_every_step),
        cmocka_unit_test(test_crash_every_step_partial),
        cmocka_unit_test(test_crash_in_recovery_after_compaction_crash),
        cmocka_unit_test(test_compaction_io_errors),
        cmocka_unit_test(test_compaction_unlink_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
