/*
 * test_engine_absent.c — chalk_batch_put_absent (engine.h): a put of a key
 * the caller knows is absent links a new entry without searching for it.
 * One batch mixes it with what may come before it legally: a delete of the
 * same key earlier in the batch (a recreated list's leftovers), plain puts
 * that overwrite existing keys, and prepared puts. The engine's invariants
 * (one entry per key in both indexes, live bytes, the expiry set), the
 * count and every value read back must hold, before and after a reopen;
 * they fail if the "absent" flag reached an operation it was not given to
 * (the overwrite then links a second entry for its key).
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
#include "db.h"
#include "dbopen.h"
#include "testdir.h"

static void check(chalk_db *db)
{
    assert_int_equal(db_check_invariants(db), 0);
    assert_int_equal(chalk_count(db), 12);
    for (int i = 0; i < 10; i++) {
        char k[16], v[16];
        snprintf(k, sizeof k, "new:%d", i);
        snprintf(v, sizeof v, "n%d", i);
        test_assert_value(db, k, v);
    }
    test_assert_value(db, "old", "overwritten");
    test_assert_value(db, "gone", "recreated");
}

static void test_put_absent(void **state)
{
    (void)state;
    char dir[512];
    assert_int_equal(testdir_make(dir, sizeof dir, "engine_absent"), 0);
    chalk_options o;
    test_options(&o, CHALK_FSYNC_NO);
    chalk_db *db = test_open(dir, &o);
    assert_int_equal(chalk_put(db, "old", 3, "first", 5, 0), CHALK_OK);
    assert_int_equal(chalk_put(db, "gone", 4, "leftover", 8, 0), CHALK_OK);

    chalk_batch *b = chalk_batch_new();
    assert_non_null(b);
    chalk_key gone, keys[10];
    char names[10][16], vals[10][16];
    assert_int_equal(chalk_batch_delete(b, "gone", 4), CHALK_OK);
    chalk_key_prepare(db, &gone, "gone", 4);
    assert_int_equal(chalk_batch_put_absent(b, &gone, "recreated", 9, 0), CHALK_OK);
    for (int i = 0; i < 10; i++) {
        size_t n = (size_t)snprintf(names[i], sizeof names[i], "new:%d", i);
        size_t vn = (size_t)snprintf(vals[i], sizeof vals[i], "n%d", i);
        chalk_key_prepare(db, &keys[i], names[i], n);
        assert_int_equal(chalk_batch_put_absent(b, &keys[i], vals[i], vn, 0), CHALK_OK);
        if (i == 4)   /* a plain overwrite between absent puts */
            assert_int_equal(chalk_batch_put(b, "old", 3, "overwritten", 11, 0), CHALK_OK);
    }
    assert_int_equal(chalk_write_sync(db, b), CHALK_OK);
    check(db);

    /* The batch is reused: a plain put after clearing is not absent. */
    chalk_batch_clear(b);
    assert_int_equal(chalk_batch_put(b, "new:3", 5, "n3", 2, 0), CHALK_OK);
    assert_int_equal(chalk_write_sync(db, b), CHALK_OK);
    check(db);

    chalk_batch_free(b);
    assert_int_equal(chalk_close(db), CHALK_OK);
    db = test_open(dir, &o);
    check(db);
    assert_int_equal(chalk_close(db), CHALK_OK);
    testdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_absent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
