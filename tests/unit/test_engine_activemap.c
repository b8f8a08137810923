/*
 * test_engine_activemap.c — reads of the ACTIVE segment through its mapping
 * (engine/read.c, active_mapped): every record reads back right whether it
 * is pending, in flight, written (mapped), past the mapping's length (an
 * atomic group grew the segment beyond segment_size: pread), or in a
 * segment sealed by a roll while mapped. Fails (wrong value or SIGBUS) if
 * the mapping is read past what was written or past its length.
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

static chalk_db *open_db(const char *dir)
{
    chalk_options o;
    test_options(&o, CHALK_FSYNC_NO);
    o.segment_size = 4096;
    return test_open(dir, &o);
}

static void put(chalk_db *db, int i, int gen)
{
    char k[32], v[64];
    snprintf(k, sizeof k, "key%05d", i);
    snprintf(v, sizeof v, "value-%d-of-%05d-padding-padding", gen, i);
    assert_int_equal(chalk_put(db, k, strlen(k), v, strlen(v), 0), CHALK_OK);
}

static void check(chalk_db *db, int i, int gen)
{
    char k[32], v[64];
    snprintf(k, sizeof k, "key%05d", i);
    snprintf(v, sizeof v, "value-%d-of-%05d-padding-padding", gen, i);
    chalk_value out;
    assert_int_equal(chalk_get(db, k, strlen(k), &out), CHALK_OK);
    assert_int_equal(out.len, strlen(v));
    assert_memory_equal(out.data, v, out.len);
    chalk_value_free(&out);
}

static void test_active_reads_everywhere(void **state)
{
    (void)state;
    char dir[512];
    assert_int_equal(testdir_make(dir, sizeof dir, "activemap"), 0);
    chalk_db *db = open_db(dir);
    for (int i = 0; i < 20; i++) {          /* written, in the active segment */
        put(db, i, 1);
        check(db, i, 1);                    /* pending: from memory */
    }
    assert_int_equal(chalk_sync(db), CHALK_OK);
    for (int i = 0; i < 20; i++) check(db, i, 1);   /* mapped */
    /* An atomic group past segment_size: the active segment outgrows the
     * mapping's length, those records are read with pread. */
    assert_int_equal(chalk_group_begin(db), CHALK_OK);
    for (int i = 20; i < 400; i++) put(db, i, 1);
    assert_int_equal(chalk_group_end(db), CHALK_OK);
    assert_int_equal(chalk_sync(db), CHALK_OK);
    for (int i = 0; i < 400; i++) check(db, i, 1);
    /* Rolls: segments sealed while mapped, and new active ones. */
    for (int gen = 2; gen < 6; gen++) {
        for (int i = 0; i < 400; i += 3) put(db, i, gen);
        assert_int_equal(chalk_sync(db), CHALK_OK);
        for (int i = 0; i < 400; i += 3) check(db, i, gen);
    }
    chalk_stats st;
    chalk_stats_get(db, &st);
    assert_true(st.segments > 3);
    assert_int_equal(chalk_close(db), CHALK_OK);
    db = open_db(dir);                      /* reopened: the active tail mapped anew */
    for (int i = 0; i < 400; i += 3) check(db, i, 5);
    check(db, 1, 1);
    assert_int_equal(chalk_close(db), CHALK_OK);
    testdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_active_reads_everywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
