/*
 * test_engine_prezero.c — the pre-written tail of fsync=always (log.c,
 * group_prezero and log_trim).
 *
 * What it proves, on both I/O paths (io_uring when the kernel allows it,
 * and pwrite), for a lone chalk_write_sync (done on the caller's thread)
 * and for the group path through the backend (test_write_grouped):
 *   - under ALWAYS a durable group leaves the active segment's file written
 *     with zeros up to the next 1 MiB boundary past the records (so that the
 *     next groups' fdatasyncs are overwrites), and under NO it does not;
 *   - a clean close cuts the zeros: the file ends at its last record;
 *   - a sealed segment never keeps zeros (db_roll trims before sealing), so
 *     a store that rolled many times under ALWAYS opens with nothing cut;
 *   - after a crash (a child process _exits without closing) the zero tail
 *     is cut as a torn tail, every acknowledged key is there, and the bytes
 *     cut are exactly the zeros.
 *
 * Left out: power loss (test_crash.c runs the crash model under ALWAYS
 * through the fault vfs, zeros included) and timings (the speed-up is
 * measured by bench/engine_bench, never asserted).
 *
 * Interview topics: tx.durability (tagged at log.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chalk/engine.h"
#include "dbopen.h"
#include "testdir.h"

#define CHUNK (1 << 20)   /* log.c's PREZERO_CHUNK */

static chalk_db *open_db(const char *dir, enum chalk_fsync fsync, enum chalk_io io,
                         uint64_t segsize)
{
    chalk_options o;
    test_options(&o, fsync);
    o.io = io;
    o.compact_dead_ratio = 0;
    if (segsize) o.segment_size = segsize;
    return test_open(dir, &o);
}

/* How a test's durable batches go: chalk_write_sync (a lone writer: the
 * caller's thread writes and fdatasyncs, write.c) or the group path through
 * the I/O backend (io_uring's linked write + FSYNC, or the pwrite thread),
 * as the server's group commit does. Both pre-write the zeros. */
enum path { SYNC, GROUPED };

static int write_durable(chalk_db *db, const chalk_batch *b, enum path path)
{
    return path == GROUPED ? test_write_grouped(db, b) : chalk_write_sync(db, b);
}

/* One durable batch of n keys "<tag><i>" with 200-byte values. */
static void write_batch_by(chalk_db *db, const char *tag, int first, int n,
                           enum path path)
{
    chalk_batch *b = chalk_batch_new();
    char key[32], val[200];
    memset(val, 'v', sizeof val);
    assert_non_null(b);
    for (int i = first; i < first + n; i++) {
        snprintf(key, sizeof key, "%s%d", tag, i);
        assert_int_equal(chalk_batch_put(b, key, strlen(key), val, sizeof val, 0), CHALK_OK);
    }
    assert_int_equal(write_durable(db, b, path), CHALK_OK);
    chalk_batch_free(b);
}

static void write_batch(chalk_db *db, const char *tag, int first, int n)
{
    write_batch_by(db, tag, first, n, SYNC);
}

static void expect_keys(chalk_db *db, const char *tag, int n)
{
    char key[32];
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "%s%d", tag, i);
        assert_int_equal(chalk_exists(db, key, strlen(key)), 1);
    }
}

/* Where a file's records end: its size without the trailing zeros. */
static int64_t records_end(const char *path)
{
    int64_t end = testdir_nonzero_size(path);
    assert_true(end >= 0);
    return end;
}

/* The file ends at its last record. A record ends with a checksum whose
 * last bytes may be zero (1 in 256 per byte), so "no zero tail" means fewer
 * than 8 trailing zeros; a pre-written tail left in place is ~1 MiB. */
static void expect_no_zero_tail(const char *path)
{
    int64_t size = testdir_file_size(path);
    assert_true(size >= records_end(path));
    assert_true(size - records_end(path) < 8);
}

/* The segment files of dir, in id order (names are zero-padded ids). */
static size_t segments(const char *dir, char paths[][600], size_t cap)
{
    char **names;
    size_t n;
    assert_int_equal(testdir_list(dir, ".log", &names, &n), 0);
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++)
        snprintf(paths[i], 600, "%s/%s", dir, names[i]);
    testdir_free_list(names, n);
    return n;
}

static void tail_then_close(enum chalk_io io, enum path path)
{
    char dir[512], seg[1][600];
    assert_int_equal(testdir_make(dir, sizeof dir, "prezero"), 0);
    chalk_db *db = open_db(dir, CHALK_FSYNC_ALWAYS, io, 0);
    write_batch_by(db, "k", 0, 20, path);
    assert_int_equal(segments(dir, seg, 1), 1);
    int64_t end = records_end(seg[0]);
    assert_true(end > 20 * 200);
    assert_int_equal(testdir_file_size(seg[0]), CHUNK);   /* zeros up to 1 MiB */
    write_batch_by(db, "j", 0, 20, path);                 /* an overwrite: no growth */
    assert_int_equal(testdir_file_size(seg[0]), CHUNK);
    assert_int_equal(chalk_close(db), CHALK_OK);
    expect_no_zero_tail(seg[0]);                          /* cut */
    db = open_db(dir, CHALK_FSYNC_ALWAYS, io, 0);
    chalk_stats st;
    chalk_stats_get(db, &st);
    assert_int_equal(st.recovery_truncated_bytes, 0);
    expect_keys(db, "k", 20);
    expect_keys(db, "j", 20);
    assert_int_equal(chalk_close(db), CHALK_OK);
    testdir_remove(dir);
}

static void test_tail_then_close_auto(void **state) { (void)state; tail_then_close(CHALK_IO_AUTO, SYNC); }
static void test_tail_then_close_psync(void **state) { (void)state; tail_then_close(CHALK_IO_PSYNC, SYNC); }
static void test_tail_then_close_auto_grouped(void **state)
{
    (void)state;
    tail_then_close(CHALK_IO_AUTO, GROUPED);
}
static void test_tail_then_close_psync_grouped(void **state)
{
    (void)state;
    tail_then_close(CHALK_IO_PSYNC, GROUPED);
}

/* NO (and EVERYSEC) never pre-write: chalk_sync's fdatasync is rare. */
static void test_no_policy_no_zeros(void **state)
{
    (void)state;
    char dir[512], seg[1][600];
    assert_int_equal(testdir_make(dir, sizeof dir, "prezero-no"), 0);
    chalk_db *db = open_db(dir, CHALK_FSYNC_NO, CHALK_IO_AUTO, 0);
    write_batch(db, "k", 0, 20);   /* chalk_write_sync: written and fdatasync'ed */
    assert_int_equal(segments(dir, seg, 1), 1);
    expect_no_zero_tail(seg[0]);
    assert_int_equal(chalk_close(db), CHALK_OK);
    testdir_remove(dir);
}

/* 64 KiB segments, ~100 rolls under ALWAYS: no sealed segment keeps a zero
 * tail (open would refuse a bad record in a sealed segment), nothing cut. */
static void test_roll_trims(void **state)
{
    (void)state;
    static char seg[256][600];
    char dir[512];
    assert_int_equal(testdir_make(dir, sizeof dir, "prezero-roll"), 0);
    chalk_db *db = open_db(dir, CHALK_FSYNC_ALWAYS, CHALK_IO_AUTO, 64 << 10);
    for (int i = 0; i < 300; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "b%d-", i);
        write_batch(db, tag, 0, 100);
    }
    size_t n = segments(dir, seg, 256);
    assert_true(n > 50);
    for (size_t i = 0; i + 1 < n; i++)   /* sealed: no zeros after the records */
        expect_no_zero_tail(seg[i]);
    assert_true(testdir_file_size(seg[n - 1]) > records_end(seg[n - 1]));   /* active */
    assert_int_equal(chalk_close(db), CHALK_OK);
    db = open_db(dir, CHALK_FSYNC_ALWAYS, CHALK_IO_AUTO, 64 << 10);
    chalk_stats st;
    chalk_stats_get(db, &st);
    assert_int_equal(st.recovery_truncated_bytes, 0);
    assert_int_equal(st.keys, 300 * 100);
    assert_int_equal(chalk_close(db), CHALK_OK);
    testdir_remove(dir);
}

/* A child writes durable batches and dies without closing: the zero tail
 * is on disk; open cuts exactly it and keeps every acknowledged key. */
static void crash_cut(enum chalk_io io, enum path path)
{
    char dir[512], seg[1][600];
    assert_int_equal(testdir_make(dir, sizeof dir, "prezero-crash"), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        chalk_options o;
        test_options(&o, CHALK_FSYNC_ALWAYS);
        o.io = io;
        chalk_db *db = NULL;
        if (chalk_open(dir, &o, &db) != CHALK_OK) _exit(2);
        chalk_batch *b = chalk_batch_new();
        char key[32], val[200];
        memset(val, 'v', sizeof val);
        for (int i = 0; i < 30; i++) {
            snprintf(key, sizeof key, "k%d", i);
            if (!b || chalk_batch_put(b, key, strlen(key), val, sizeof val, 0) != CHALK_OK)
                _exit(3);
        }
        _exit(write_durable(db, b, path) == CHALK_OK ? 0 : 4);   /* acknowledged, no close */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(segments(dir, seg, 1), 1);
    int64_t size = testdir_file_size(seg[0]);
    assert_int_equal(size, CHUNK);
    chalk_db *db = open_db(dir, CHALK_FSYNC_ALWAYS, io, 0);
    chalk_stats st;
    chalk_stats_get(db, &st);
    int64_t cut_to = testdir_file_size(seg[0]);
    assert_true(cut_to > 30 * 200);
    expect_no_zero_tail(seg[0]);                  /* cut right after the records */
    assert_int_equal(st.recovery_truncated_bytes, (uint64_t)(size - cut_to));
    expect_keys(db, "k", 30);
    assert_int_equal(chalk_close(db), CHALK_OK);
    assert_int_equal(testdir_file_size(seg[0]), cut_to);
    testdir_remove(dir);
}

static void test_crash_cut_auto(void **state) { (void)state; crash_cut(CHALK_IO_AUTO, SYNC); }
static void test_crash_cut_psync(void **state) { (void)state; crash_cut(CHALK_IO_PSYNC, SYNC); }
static void test_crash_cut_auto_grouped(void **state) { (void)state; crash_cut(CHALK_IO_AUTO, GROUPED); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tail_then_close_auto),
        cmocka_unit_test(test_tail_then_close_psync),
        cmocka_unit_test(test_tail_then_close_auto_grouped),
        cmocka_unit_test(test_tail_then_close_psync_grouped),
        cmocka_unit_test(test_no_policy_no_zeros),
        cmocka_unit_test(test_roll_trims),
        cmocka_unit_test(test_crash_cut_auto),
        cmocka_unit_test(test_crash_cut_psync),
        cmocka_unit_test(test_crash_cut_auto_grouped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
