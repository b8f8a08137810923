/*
 * test_engine_policy.c — chalk_set_fsync (engine/policy.c): a policy is the
 * promise made to each batch when it is written, so a switch keeps promises
 * already made. Run once per I/O path (io_uring, pwrite+fdatasync).
 *
 * Each case fails if the rule it names is removed from policy.c:
 *   - leaving ALWAYS: a batch written under ALWAYS but not yet issued is
 *     still fdatasync'ed before its callback runs;
 *   - entering ALWAYS: the next batch's callback follows an fdatasync, and
 *     under NO afterwards no fdatasync happens;
 *   - a bad value is refused and changes nothing.
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "chalk/engine.h"
#include "dbopen.h"
#include "testdir.h"

struct fixture {
    enum chalk_io io;
    char dir[512];
    chalk_db *db;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->io = *(enum chalk_io *)*state;
    assert_int_equal(testdir_make(f->dir, sizeof f->dir, "engine_policy"), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->db) assert_int_equal(chalk_close(f->db), CHALK_OK);
    testdir_remove(f->dir);
    free(f);
    return 0;
}

static void open_db(struct fixture *f, enum chalk_fsync fs)
{
    chalk_options o;
    test_options(&o, fs);
    o.io = f->io;
    assert_int_equal(chalk_open(f->dir, &o, &f->db), CHALK_OK);
}

static uint64_t fsyncs(chalk_db *db)
{
    chalk_stats st;
    chalk_stats_get(db, &st);
    return st.fsyncs;
}

static void on_commit(void *arg, int status)
{
    assert_int_equal(status, CHALK_OK);
    (*(int *)arg)++;
}

/* Write one key with a callback; returns after chalk_write (not flushed). */
static void write_key(chalk_db *db, const char *key, int *done)
{
    chalk_batch *b = chalk_batch_new();
    assert_non_null(b);
    assert_int_equal(chalk_batch_put(b, key, 1, "v", 1, 0), CHALK_OK);
    assert_int_equal(chalk_write(db, b, on_commit, done), CHALK_OK);
    chalk_batch_free(b);
}

/* The event-loop way: flush, then poll the event fd until *done. */
static void wait_done(chalk_db *db, int *done)
{
    assert_int_equal(chalk_flush(db), CHALK_OK);
    for (int i = 0; i < 1000 && !*done; i++) {
        struct pollfd p = {.fd = chalk_event_fd(db), .events = POLLIN};
        poll(&p, 1, 10);
        assert_true(chalk_poll(db) >= 0);
        chalk_flush(db);
    }
    assert_int_equal(*done, 1);
}

static void test_leaving_always_keeps_the_promise(void **state)
{
    struct fixture *f = *state;
    open_db(f, CHALK_FSYNC_ALWAYS);
    int done = 0;
    write_key(f->db, "a", &done);            /* pending, written under ALWAYS */
    assert_int_equal(chalk_set_fsync(f->db, CHALK_FSYNC_NO), CHALK_OK);
    wait_done(f->db, &done);
    assert_true(fsyncs(f->db) >= 1);         /* its callback followed an fsync */

    uint64_t before = fsyncs(f->db);         /* a batch written under NO: none */
    done = 0;
    write_key(f->db, "b", &done);
    wait_done(f->db, &done);
    assert_int_equal(fsyncs(f->db), before);
}

static void test_entering_always(void **state)
{
    struct fixture *f = *state;
    open_db(f, CHALK_FSYNC_NO);
    int done = 0;
    write_key(f->db, "a", &done);
    wait_done(f->db, &done);
    assert_int_equal(fsyncs(f->db), 0);
    assert_int_equal(chalk_set_fsync(f->db, CHALK_FSYNC_ALWAYS), CHALK_OK);
    for (int i = 0; i < 5; i++) {
        uint64_t before = fsyncs(f->db);
        done = 0;
        write_key(f->db, "b", &done);
        wait_done(f->db, &done);
        assert_true(fsyncs(f->db) > before);
    }
    assert_int_equal(chalk_set_fsync(f->db, CHALK_FSYNC_ALWAYS), CHALK_OK);   /* no-op */
}

static void test_bad_value_refused(void **state)
{
    struct fixture *f = *state;
    open_db(f, CHALK_FSYNC_NO);
    assert_int_equal(chalk_set_fsync(f->db, (enum chalk_fsync)7), CHALK_EINVAL);
    int done = 0;
    write_key(f->db, "a", &done);
    wait_done(f->db, &done);
    assert_int_equal(fsyncs(f->db), 0);      /* still NO */
}

int main(void)
{
    static enum chalk_io uring = CHALK_IO_URING, psync = CHALK_IO_PSYNC;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate_setup_teardown(test_leaving_always_keeps_the_promise, setup, teardown, &uring),
        cmocka_unit_test_prestate_setup_teardown(test_leaving_always_keeps_the_promise, setup, teardown, &psync),
        cmocka_unit_test_prestate_setup_teardown(test_entering_always, setup, teardown, &uring),
        cmocka_unit_test_prestate_setup_teardown(test_entering_always, setup, teardown, &psync),
        cmocka_unit_test_prestate_setup_teardown(test_bad_value_refused, setup, teardown, &psync),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
