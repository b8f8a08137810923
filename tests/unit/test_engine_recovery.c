/*
 * test_engine_recovery.c — recovery's rules (recover.c R1–R5):
 *   - a segment holding a batch is cut at EVERY byte offset from the batch's
 *     start to its end; each reopen shows the batch whole or not at all,
 *     everything before it intact, and the dropped bytes counted;
 *   - a bit flip in a sealed segment fails the open with CHALK_ECORRUPT;
 *     repair=1 opens it, keeping what precedes the flip;
 *   - a bit flip in the newest segment's LAST record is a torn tail:
 *     truncated, not fatal (a flip with valid records after it is refused:
 *     test_crash_midlog.c);
 *   - writes after a truncation land where the log now ends.
 * Run over both I/O paths.
 */
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
#include "testdir.h"

struct fixture {
    enum chalk_io io;
    char dir[512], work[512];
};

static int open_with(struct fixture *f, const char *dir, uint64_t segsize, int repair, chalk_db **db)
{
    chalk_options o;
    test_options(&o, CHALK_FSYNC_NO);
    o.io = f->io;
    o.repair = repair;
    if (segsize) o.segment_size = segsize;
    return chalk_open(dir, &o, db);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->io = *(enum chalk_io *)*state;
    assert_int_equal(testdir_make_fast(f->dir, sizeof f->dir, "engine_rec"), 0);
    assert_int_equal(testdir_make_fast(f->work, sizeof f->work, "engine_rec_work"), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    testdir_remove(f->dir);
    testdir_remove(f->work);
    free(f);
    return 0;
}

static int has(chalk_db *db, const char *k, const char *v)
{
    chalk_value val;
    int rc = chalk_get(db, k, strlen(k), &val);
    if (rc == CHALK_ENOTFOUND) return 0;
    assert_int_equal(rc, CHALK_OK);
    int same = val.len == strlen(v) && memcmp(val.data, v, val.len) == 0;
    chalk_value_free(&val);
    assert_true(same);
    return 1;
}

static void one_segment_path(const char *dir, char *out, size_t n)
{
    char **names;
    size_t count;
    assert_int_equal(testdir_list(dir, ".log", &names, &count), 0);
    assert_int_equal(count, 1);
    snprintf(out, n, "%s/%s", dir, names[0]);
    testdir_free_list(names, count);
}

static void test_truncate_batch_at_every_byte(void **state)
{
    struct fixture *f = *state;
    chalk_db *db;
    char seg[1100];
    assert_int_equal(open_with(f, f->dir, 0, 0, &db), CHALK_OK);
    assert_int_equal(chalk_put(db, "before1", 7, "one", 3, 0), CHALK_OK);
    assert_int_equal(chalk_put(db, "before2", 7, "two", 3, 0), CHALK_OK);
    assert_int_equal(chalk_put(db, "victim", 6, "old", 3, 0), CHALK_OK);
    assert_int_equal(chalk_sync(db), CHALK_OK);
    one_segment_path(f->dir, seg, sizeof seg);
    int64_t start = testdir_file_size(seg);
    chalk_batch *b = chalk_batch_new();
    chalk_batch_put(b, "b1", 2, "x1", 2, 0);
    chalk_batch_put(b, "b2", 2, "x2", 2, 1ll << 50);
    chalk_batch_delete(b, "victim", 6);
    chalk_batch_put(b, "before1", 7, "ONE", 3, 0);
    assert_int_equal(chalk_write_sync(db, b), CHALK_OK);
    chalk_batch_free(b);
    assert_int_equal(chalk_close(db), CHALK_OK);
    int64_t end = testdir_file_size(seg);
    assert_true(end > start + 100);

    for (int64_t cut = start; cut <= end; cut++) {
        char wseg[1100];
        assert_int_equal(testdir_clear(f->work), 0);
        assert_int_equal(testdir_copy(f->dir, f->work), 0);
        one_segment_path(f->work, wseg, sizeof wseg);
        assert_int_equal(testdir_truncate(wseg, (uint64_t)cut), 0);
        assert_int_equal(open_with(f, f->work, 0, 0, &db), CHALK_OK);
        int whole = cut == end;
        assert_int_equal(has(db, "before2", "two"), 1);
        assert_int_equal(has(db, "before1", whole ? "ONE" : "one"), 1);
        assert_int_equal(has(db, "victim", "old"), !whole);
        assert_int_equal(has(db, "b1", "x1"), whole);
        assert_int_equal(has(db, "b2", "x2"), whole);
        chalk_stats st;
        chalk_stats_get(db, &st);
        assert_int_equal(st.recovery_truncated_bytes, whole ? 0 : (uint64_t)(cut - start));
        /* The log continues where the valid part ends. */
        assert_int_equal(chalk_put(db, "after", 5, "cut", 3, 0), CHALK_OK);
        assert_int_equal(chalk_close(db), CHALK_OK);
        assert_int_equal(open_with(f, f->work, 0, 0, &db), CHALK_OK);
        assert_int_equal(has(db, "after", "cut"), 1);
        assert_int_equal(has(db, "b1", "x1"), whole);
        assert_int_equal(chalk_close(db), CHALK_OK);
    }
}

/* Fill several 4 KiB segments; return the number of keys written. */
static int fill(struct fixture *f, chalk_db **dbp)
{
    assert_int_equal(open_with(f, f->dir, 4096, 0, dbp), CHALK_OK);
    char k[16], v[200];
    memset(v, 'v', sizeof v);
    int n;
    for (n = 0; n < 60; n++) {
        int kl = snprintf(k, sizeof k, "key%03d", n);
        assert_int_equal(chalk_put(*dbp, k, (size_t)kl, v, sizeof v, 0), CHALK_OK);
    }
    assert_int_equal(chalk_close(*dbp), CHALK_OK);
    return n;
}

static void test_bit_flip_sealed_segment(void **state)
{
    struct fixture *f = *state;
    chalk_db *db;
    int n = fill(f, &db);
    char **names, path[1100];
    size_t count;
    assert_int_equal(testdir_list(f->dir, ".log", &names, &count), 0);
    assert_true(count >= 3);
    snprintf(path, sizeof path, "%s/%s", f->dir, names[0]);   /* the oldest: sealed */
    testdir_free_list(names, count);
    /* Flip a bit inside the 4th record's value: offset 32 + 3*(40+6+200) + 100. */
    assert_int_equal(testdir_xor_byte(path, 32 + 3 * 246 + 100, 0x10), 0);
    assert_int_equal(open_with(f, f->dir, 4096, 0, &db), CHALK_ECORRUPT);
    assert_null(db);
    /* repair=1: truncates there; the three records before it survive. */
    assert_int_equal(open_with(f, f->dir, 4096, 1, &db), CHALK_OK);
    assert_int_equal(chalk_exists(db, "key000", 6), 1);
    assert_int_equal(chalk_exists(db, "key002", 6), 1);
    assert_int_equal(chalk_exists(db, "key003", 6), 0);
    assert_int_equal(chalk_exists(db, "key059", 6), 1);
    assert_true(chalk_count(db) < (uint64_t)n);
    assert_int_equal(chalk_close(db), CHALK_OK);
    /* Repaired for good: a normal open now succeeds. */
    assert_int_equal(open_with(f, f->dir, 4096, 0, &db), CHALK_OK);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

static void test_bit_flip_newest_segment_is_torn_tail(void **state)
{
    struct fixture *f = *state;
    chalk_db *db;
    fill(f, &db);
    char **names, path[1100];
    size_t count;
    assert_int_equal(testdir_list(f->dir, ".log", &names, &count), 0);
    snprintf(path, sizeof path, "%s/%s", f->dir, names[count - 1]);
    testdir_free_list(names, count);
    int64_t size = testdir_file_size(path);
    assert_int_equal(testdir_xor_byte(path, (uint64_t)size - 3, 0x01), 0);   /* last record */
    assert_int_equal(open_with(f, f->dir, 4096, 0, &db), CHALK_OK);
    assert_int_equal(chalk_exists(db, "key058", 6), 1);
    assert_int_equal(chalk_exists(db, "key059", 6), 0);
    chalk_stats st;
    chalk_stats_get(db, &st);
    assert_int_equal(st.recovery_truncated_bytes, 246);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

/* A crash inside seg_create (before its header was durable) leaves a newest
 * file of at most a header's size: removed at open, nothing lost. A bad
 * header in a bigger file is corruption. */
static void test_interrupted_segment_creation(void **state)
{
    struct fixture *f = *state;
    chalk_db *db;
    int n = fill(f, &db);
    char **names, path[1100];
    size_t count;
    assert_int_equal(testdir_list(f->dir, ".log", &names, &count), 0);
    unsigned last = (unsigned)atoi(names[count - 1]);
    testdir_free_list(names, count);
    for (int variant = 0; variant < 3; variant++) {
        snprintf(path, sizeof path, "%s/%010u.log", f->dir, last + 1);
        FILE *fp = fopen(path, "wb");
        assert_non_null(fp);
        size_t len = variant == 0 ? 0 : variant == 1 ? 10 : 32;
        for (size_t i = 0; i < len; i++) fputc(0xA5, fp);
        fclose(fp);
        assert_int_equal(open_with(f, f->dir, 4096, 0, &db), CHALK_OK);
        assert_int_equal(chalk_count(db), (uint64_t)n);
        assert_int_equal(chalk_close(db), CHALK_OK);
        assert_true(testdir_file_size(path) < 0);   /* removed */
    }
    /* 33 bytes of garbage: not an interrupted creation; refused. */
    snprintf(path, sizeof path, "%s/%010u.log", f->dir, last + 1);
    FILE *fp = fopen(path, "wb");
    for (int i = 0; i < 33; i++) fputc(0xA5, fp);
    fclose(fp);
    db = NULL;
    assert_int_equal(open_with(f, f->dir, 4096, 0, &db), CHALK_ECORRUPT);
}

/* A bit flipped in a sealed segment while the store is open: the read
 * returns CHALK_ECORRUPT, through the mapping and through pread alike. */
static void test_bit_flip_while_open_detected_on_read(void **state)
{
    struct fixture *f = *state;
    chalk_db *db;
    fill(f, &db);
    char **names, path[1100];
    size_t count;
    assert_int_equal(testdir_list(f->dir, ".log", &names, &count), 0);
    snprintf(path, sizeof path, "%s/%s", f->dir, names[0]);
    testdir_free_list(names, count);
    for (int mmap_reads = 0; mmap_reads < 2; mmap_reads++) {
        chalk_options o;
        chalk_options_init(&o);
        o.io = f->io;
        o.log = test_quiet_log;
        o.segment_size = 4096;
        o.mmap_reads = mmap_reads;
        assert_int_equal(chalk_open(f->dir, &o, &db), CHALK_OK);
        chalk_value v;
        assert_int_equal(chalk_get(db, "key001", 6, &v), CHALK_OK);
        chalk_value_free(&v);
        /* key001's value: second record of the oldest segment. */
        assert_int_equal(testdir_xor_byte(path, 32 + 246 + 60, 0x08), 0);
        assert_int_equal(chalk_get(db, "key001", 6, &v), CHALK_ECORRUPT);
        assert_null(v.data);
        assert_int_equal(chalk_get(db, "key002", 6, &v), CHALK_OK);   /* neighbours fine */
        chalk_value_free(&v);
        assert_int_equal(testdir_xor_byte(path, 32 + 246 + 60, 0x08), 0);   /* undo */
        assert_int_equal(chalk_close(db), CHALK_OK);
    }
}

static enum chalk_io io_uring_mode = CHALK_IO_URING, io_psync_mode = CHALK_IO_PSYNC;

#define BOTH(fn) \
    cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, &io_uring_mode), \
    cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, &io_psync_mode)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_truncate_batch_at_every_byte),
        BOTH(test_bit_flip_sealed_segment),
        BOTH(test_bit_flip_newest_segment_is_torn_tail),
        BOTH(test_interrupted_segment_creation),
        BOTH(test_bit_flip_while_open_detected_on_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
