/*
 * test_engine_partial.c — partial merges (engine/compaction.c,
 * choose_sources): the automatic trigger merges a prefix of the sealed
 * segments in seq order, never a set that could drop a tombstone while an
 * older record of its key survives.
 *
 *   fifo_merges_only_the_dead_prefix
 *                         Keys written in order and deleted oldest first
 *                         (a queue): the compaction merges the dead oldest
 *                         segments only and copies less than one segment,
 *                         where a full merge would copy every live value.
 *                         A key put and deleted inside that prefix stays
 *                         deleted, in memory and after a reopen, and the
 *                         file that held its tombstone is gone.
 *   older_put_in_a_newer_id
 *                         A compaction output has a higher id than the log
 *                         segment after it but older seqs. A tombstone in
 *                         that log segment (otherwise all dead) must not be
 *                         dropped without the output holding its key's PUT:
 *                         after the automatic compaction and a reopen the
 *                         key stays deleted. (Fails when sources are chosen
 *                         by id without the seq check.)
 *   overlapping_ranges_merge_all
 *                         When the oldest segment's seq range reaches past
 *                         the others' (as an output written before outputs
 *                         kept seq order may), no prefix is safe: every
 *                         sealed segment is merged, as before partial
 *                         merges existed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "chalk/engine.h"
#include "db.h"
#include "dbopen.h"
#include "testdir.h"

#define SEG_SIZE 16384
#define VLEN     1000
#define NKEYS    400
#define POPPED   300         /* the oldest keys, deleted */

static void options(chalk_options *o, double ratio)
{
    test_options(o, CHALK_FSYNC_NO);
    o->segment_size = SEG_SIZE;
    o->compact_dead_ratio = ratio;
}

static void value_of(char *v, int i)
{
    memset(v, 'a' + i % 26, VLEN);
    snprintf(v, VLEN, "value-%d", i);
}

static void put_key(chalk_db *db, int i)
{
    char k[16], v[VLEN];
    int n = snprintf(k, sizeof k, "q:%04d", i);
    value_of(v, i);
    assert_int_equal(chalk_put(db, k, (size_t)n, v, VLEN, 0), CHALK_OK);
}

static void del_key(chalk_db *db, int i)
{
    char k[16];
    int n = snprintf(k, sizeof k, "q:%04d", i);
    assert_int_equal(chalk_delete(db, k, (size_t)n), CHALK_OK);
}

static int has_key(chalk_db *db, const char *key)
{
    chalk_value v;
    int rc = chalk_get(db, key, strlen(key), &v);
    if (rc == CHALK_OK) chalk_value_free(&v);
    assert_true(rc == CHALK_OK || rc == CHALK_ENOTFOUND);
    return rc == CHALK_OK;
}

static void check_queue(chalk_db *db)
{
    char k[16], v[VLEN];
    assert_int_equal(db_check_invariants(db), 0);
    assert_false(has_key(db, "early"));
    for (int i = 0; i < NKEYS; i++) {
        snprintf(k, sizeof k, "q:%04d", i);
        if (i < POPPED) {
            assert_false(has_key(db, k));
            continue;
        }
        chalk_value got;
        assert_int_equal(chalk_get(db, k, strlen(k), &got), CHALK_OK);
        value_of(v, i);
        assert_int_equal(got.len, VLEN);
        assert_memory_equal(got.data, v, VLEN);
        chalk_value_free(&got);
    }
}

/* check_queue, then again after a reopen; closes db, removes dir. */
static void check_queue_and_reopen(chalk_db *db, const char *dir)
{
    chalk_options o;
    check_queue(db);
    assert_int_equal(chalk_close(db), CHALK_OK);
    options(&o, 0);
    db = test_open(dir, &o);
    check_queue(db);
    assert_int_equal(chalk_close(db), CHALK_OK);
    testdir_remove(dir);
}

/* The queue: "early" put and deleted among the first writes, NKEYS keys
 * in order, the oldest POPPED deleted. No chalk_poll: nothing compacts. */
static void fill_queue(chalk_db *db)
{
    char v[VLEN];
    value_of(v, 0);
    assert_int_equal(chalk_put(db, "early", 5, v, VLEN, 0), CHALK_OK);
    for (int i = 0; i < 5; i++) put_key(db, i);
    assert_int_equal(chalk_delete(db, "early", 5), CHALK_OK);
    for (int i = 5; i < NKEYS; i++) put_key(db, i);
    for (int i = 0; i < POPPED; i++) del_key(db, i);
}

/* Let the automatic trigger start a compaction and finish it. */
static void compact_by_trigger(chalk_db *db)
{
    chalk_poll(db);
    assert_int_equal(chalk_compact_wait(db), CHALK_OK);
    chalk_poll(db);
}

static void test_fifo_merges_only_the_dead_prefix(void **state)
{
    (void)state;
    char dir[512], path[600];
    chalk_options o;
    chalk_stats st;
    assert_int_equal(testdir_make(dir, sizeof dir, "engine_partial_fifo"), 0);
    options(&o, 0.5);
    chalk_db *db = test_open(dir, &o);
    fill_queue(db);
    compact_by_trigger(db);
    chalk_stats_get(db, &st);
    assert_int_equal(st.compactions, 1);
    /* A full merge copies the 100 live values (~100 KB); the dead prefix
     * holds none of them. */
    if (st.compaction_bytes_written >= SEG_SIZE)
        fail_msg("compaction wrote %llu bytes: more than the dead prefix",
                 (unsigned long long)st.compaction_bytes_written);
    db_unlink_join(db);                       /* the sources' files are deleted */
    snprintf(path, sizeof path, "%s/%010u.log", dir, 1u);   /* held early's tombstone */
    assert_int_not_equal(access(path, F_OK), 0);
    check_queue_and_reopen(db, dir);
}

static void put_junk(chalk_db *db, int times)
{
    char v[VLEN];
    for (int i = 0; i < times; i++) {
        value_of(v, i);
        assert_int_equal(chalk_put(db, "junk", 4, v, VLEN, 0), CHALK_OK);
    }
}

static void test_older_put_in_a_newer_id(void **state)
{
    (void)state;
    char dir[512], v[VLEN];
    chalk_options o;
    chalk_stats st;
    assert_int_equal(testdir_make(dir, sizeof dir, "engine_partial_ids"), 0);
    options(&o, 0);
    chalk_db *db = test_open(dir, &o);
    value_of(v, 7);
    assert_int_equal(chalk_put(db, "k", 1, v, VLEN, 0), CHALK_OK);
    for (int i = 0; i < 5; i++) put_key(db, i);
    put_junk(db, 20);                         /* dead bytes: chalk_compact rolls */
    /* The explicit compaction rolls the active segment (id A) and merges
     * the sealed ones into an output with id A + 1: k's PUT is there. */
    assert_int_equal(chalk_compact(db), CHALK_OK);
    assert_int_equal(chalk_compact_wait(db), CHALK_OK);
    chalk_poll(db);
    /* k's tombstone goes to segment A, which then fills with dead junk. */
    assert_int_equal(chalk_delete(db, "k", 1), CHALK_OK);
    put_junk(db, 20);
    assert_int_equal(chalk_close(db), CHALK_OK);

    options(&o, 0.5);
    db = test_open(dir, &o);
    compact_by_trigger(db);
    chalk_stats_get(db, &st);
    assert_int_equal(st.compactions, 1);
    assert_false(has_key(db, "k"));
    assert_int_equal(db_check_invariants(db), 0);
    assert_int_equal(chalk_close(db), CHALK_OK);
    options(&o, 0);
    db = test_open(dir, &o);
    assert_false(has_key(db, "k"));
    for (int i = 0; i < 5; i++) {
        char k[16];
        snprintf(k, sizeof k, "q:%04d", i);
        assert_true(has_key(db, k));
    }
    assert_int_equal(db_check_invariants(db), 0);
    assert_int_equal(chalk_close(db), CHALK_OK);
    testdir_remove(dir);
}

static void test_overlapping_ranges_merge_all(void **state)
{
    (void)state;
    char dir[512];
    chalk_options o;
    chalk_stats st;
    assert_int_equal(testdir_make(dir, sizeof dir, "engine_partial_overlap"), 0);
    options(&o, 0.5);
    chalk_db *db = test_open(dir, &o);
    fill_queue(db);
    /* The oldest sealed segment claims seqs up to the newest. */
    struct seg_info *oldest = &db->segs.v[0];
    assert_int_not_equal(oldest->id, db->log.seg_id);
    oldest->seq_hi = db->next_seq - 1;
    compact_by_trigger(db);
    chalk_stats_get(db, &st);
    assert_int_equal(st.compactions, 1);
    /* Every live value was copied. */
    if (st.compaction_bytes_written < (NKEYS - POPPED) * VLEN)
        fail_msg("compaction wrote %llu bytes: not every sealed segment was merged",
                 (unsigned long long)st.compaction_bytes_written);
    check_queue_and_reopen(db, dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_merges_only_the_dead_prefix),
        cmocka_unit_test(test_older_put_in_a_newer_id),
        cmocka_unit_test(test_overlapping_ranges_merge_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
