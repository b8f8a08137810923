/*
 * test_engine_gaps.c — engine behaviour the qa-a audit found missing:
 *   - an explicit chalk_compact seals the active segment when it holds dead
 *     bytes, so that a small data set (one never-full 64 MiB segment) is
 *     compacted and gets a hint file (the server's BGSAVE relies on it);
 *   - chalk_compact_schedule during a running compaction remembers the
 *     request and runs it when the first one is done (BGSAVE SCHEDULE);
 *   - chalk_stats reports a compaction running / scheduled / its status;
 *   - a value of the maximum size (512 MiB + the allowance) is written, read
 *     back after a reopen and compacted; one byte more is refused. LARGE:
 *     ~2 GB of memory for a few seconds (the caller's buffer, the batch's
 *     copy, the value read back).
 */
#include <dirent.h>
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

static chalk_db *open_default(const char *dir)
{
    chalk_options o;
    chalk_options_init(&o);          /* 64 MiB segments: nothing ever seals */
    o.fsync = CHALK_FSYNC_NO;
    o.log = test_quiet_log;
    return test_open(dir, &o);
}

static int count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    size_t sl = strlen(suffix);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t l = strlen(e->d_name);
        if (l >= sl && strcmp(e->d_name + l - sl, suffix) == 0) n++;
    }
    closedir(d);
    return n;
}

static void put_str(chalk_db *db, const char *k, const char *v)
{
    assert_int_equal(chalk_put(db, k, strlen(k), v, strlen(v), 0), CHALK_OK);
}

/* SET k v1; SET k v2; compact: the dead v1 is reclaimed, a hint file
 * exists, and a second request with nothing dead does not roll again. */
static void test_explicit_compact_seals_active_segment(void **state)
{
    (void)state;
    char dir[512];
    assert_int_equal(testdir_make(dir, sizeof dir, "engine_gaps"), 0);
    chalk_db *db = open_default(dir);
    put_str(db, "k", "v1");
    put_str(db, "k", "v2");
    put_str(db, "other", "x");
    chalk_stats st;
    chalk_stats_get(db, &st);
    assert_true(st.dead_bytes > 0);
    assert_int_equal(count_files(dir, ".hint"), 0);

    assert_int_equal(chalk_compact(db), CHALK_OK);
    assert_int_equal(chalk_compact_wait(db), CHALK_OK);
    chalk_stats_get(db, &st);
    assert_int_equal(st.dead_bytes, 0);
    assert_int_equal(st.compactions, 1);
    assert_int_equal(st.compaction_running, 0);
    assert_int_equal(st.compaction_last_status, CHALK_OK);
    assert_int_equal(count_files(dir, ".hint"), 1);
    test_assert_value(db, "k", "v2");
    uint64_t segments = st.segments;

    assert_int_equal(chalk_compact(db), CHALK_OK);   /* nothing dead: no roll */
    assert_int_equal(chalk_compact_wait(db), CHALK_OK);
    chalk_stats_get(db, &st);
    assert_int_equal(st.segments, segments);
    assert_int_equal(chalk_close(db), CHALK_OK);

    db = open_default(dir);                          /* from the hint file */
    test_assert_value(db, "k", "v2");
    test_assert_value(db, "other", "x");
    assert_int_equal(chalk_count(db), 2);
    assert_int_equal(chalk_close(db), CHALK_OK);
    testdir_remove(dir);
}

/* A request made while a compaction runs is scheduled, then run: the dead
 * bytes written meanwhile are reclaimed without another call. */
static void test_schedule_runs_after_the_running_one(void **state)
{
    (void)state;
    char dir[512];
    assert_int_equal(testdir_make(dir, sizeof dir, "engine_gaps"), 0);
    chalk_db *db = open_default(dir);
    put_str(db, "k", "v1");
    put_str(db, "k", "v2");
    assert_int_equal(chalk_compact(db), CHALK_OK);
    chalk_stats st;
    chalk_stats_get(db, &st);
    assert_int_equal(st.compaction_running, 1);
    assert_int_equal(st.compaction_explicit, 1);
    assert_int_equal(chalk_compact(db), CHALK_EBUSY);
    put_str(db, "k", "v3");                          /* v2 is dead now */
    assert_int_equal(chalk_compact_schedule(db), 1);
    chalk_stats_get(db, &st);
    assert_int_equal(st.compaction_scheduled, 1);

    for (int i = 0; i < 1000; i++) {                 /* bounded, not timed */
        chalk_compact_wait(db);
        chalk_poll(db);
        chalk_stats_get(db, &st);
        if (!st.compaction_running && !st.compaction_scheduled) break;
    }
    assert_int_equal(st.compaction_running, 0);
    assert_int_equal(st.compaction_scheduled, 0);
    assert_int_equal(st.compactions, 2);
    assert_int_equal(st.dead_bytes, 0);
    test_assert_value(db, "k", "v3");
    assert_int_equal(chalk_close(db), CHALK_OK);
    testdir_remove(dir);
}

/* The dead-ratio trigger's compaction is not explicit (the server tells a
 * BGSAVE in progress from Redis's automatic-rewrite analog by it), and it
 * does not roll the active segment. */
static void test_automatic_compaction_is_not_explicit(void **state)
{
    (void)state;
    char dir[512];
    assert_int_equal(testdir_make(dir, sizeof dir, "engine_gaps"), 0);
    chalk_options o;
    test_options(&o, CHALK_FSYNC_NO);
    o.segment_size = 4096;
    o.compact_dead_ratio = 0.5;
    chalk_db *db = test_open(dir, &o);
    char v[200];
    memset(v, 'v', sizeof v);
    for (int i = 0; i < 100; i++)                    /* ~5 sealed segments, all dead */
        assert_int_equal(chalk_put(db, "k", 1, v, sizeof v, 0), CHALK_OK);
    chalk_stats st;
    chalk_stats_get(db, &st);
    uint64_t segments = st.segments;
    assert_int_equal(st.compaction_running, 0);
    chalk_poll(db);                                  /* the trigger fires here */
    chalk_stats_get(db, &st);
    assert_int_equal(st.compaction_running, 1);
    assert_int_equal(st.compaction_explicit, 0);
    assert_int_equal(st.segments, segments);         /* no roll */
    assert_int_equal(chalk_compact_wait(db), CHALK_OK);
    chalk_stats_get(db, &st);
    assert_int_equal(st.compaction_running, 0);
    assert_int_equal(st.compaction_explicit, 0);
    assert_int_equal(st.compactions, 1);
    assert_int_equal(chalk_close(db), CHALK_OK);
    testdir_remove(dir);
}

/* A recognisable pattern, so that a misplaced chunk would be caught. */
static void fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 4096) p[i] = (uint8_t)(i >> 12);
    p[n - 1] = 0xA5;
}

static void check(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 4096)
        if (p[i] != (uint8_t)(i >> 12)) fail_msg("byte %zu differs", i);
    assert_int_equal(p[n - 1], 0xA5);
}

static void test_value_of_the_maximum_size(void **state)
{
    (void)state;
    char dir[512];
    assert_int_equal(testdir_make(dir, sizeof dir, "engine_gaps"), 0);
    chalk_db *db = open_default(dir);
    size_t n = CHALK_MAX_VALUE_SIZE;
    assert_true(n > 512u * 1024 * 1024);             /* room for a type byte */
    uint8_t *big = calloc(1, n + 1);
    assert_non_null(big);
    fill(big, n);
    assert_int_equal(chalk_put(db, "big", 3, big, n + 1, 0), CHALK_ETOOBIG);
    assert_int_equal(chalk_put(db, "big", 3, big, n, 0), CHALK_OK);
    free(big);
    put_str(db, "small", "s");
    assert_int_equal(chalk_close(db), CHALK_OK);

    db = open_default(dir);                          /* recovered from the log */
    chalk_value v;
    assert_int_equal(chalk_get(db, "big", 3, &v), CHALK_OK);
    assert_int_equal(v.len, n);
    check(v.data, n);
    chalk_value_free(&v);
    put_str(db, "small", "t");                       /* something dead */
    assert_int_equal(chalk_compact(db), CHALK_OK);
    assert_int_equal(chalk_compact_wait(db), CHALK_OK);
    assert_int_equal(chalk_get(db, "big", 3, &v), CHALK_OK);  /* from the copy */
    assert_int_equal(v.len, n);
    check(v.data, n);
    chalk_value_free(&v);
    test_assert_value(db, "small", "t");
    assert_int_equal(chalk_close(db), CHALK_OK);
    testdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_explicit_compact_seals_active_segment),
        cmocka_unit_test(test_schedule_runs_after_the_running_one),
        cmocka_unit_test(test_automatic_compaction_is_not_explicit),
        cmocka_unit_test(test_value_of_the_maximum_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
