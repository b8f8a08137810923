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
 *   - a bad value is refused and changes nothing;
 *   - a group without an fdatasync is written by chalk_flush itself, one
 *     with an fdatasync is left to the backend (log.c, log_flush).
 */
#include <dirent.h>
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

/* Write one key (all of the string) with a callback; returns after
 * chalk_write (not flushed). */
static void write_key(chalk_db *db, const char *key, int *done)
{
    chalk_batch *b = chalk_batch_new();
    assert_non_null(b);
    assert_int_equal(chalk_batch_put(b, key, strlen(key), "v", 1, 0), CHALK_OK);
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

/* 1 if some *.log file of dir contains needle (read whole: tiny here). */
static int log_files_contain(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int found = 0;
    struct dirent *de;
    while (!found && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 4 || strcmp(de->d_name + n - 4, ".log") != 0) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        static char buf[1 << 20];
        size_t len = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        found = memmem(buf, len, needle, strlen(needle)) != NULL;
    }
    closedir(d);
    return found;
}

/* A group that needs no fdatasync is written by chalk_flush itself (log.c,
 * log_flush): when it returns nothing is in flight and the bytes are in the
 * segment file; the callback still runs from chalk_poll, whose event fd is
 * already readable. A group that needs one (ALWAYS) is left to the backend. */
static void test_no_sync_group_written_at_flush(void **state)
{
    struct fixture *f = *state;
    open_db(f, CHALK_FSYNC_NO);
    int done = 0;
    write_key(f->db, "inline-probe-key", &done);
    assert_false(log_files_contain(f->dir, "inline-probe-key"));
    assert_int_equal(chalk_flush(f->db), CHALK_OK);
    chalk_commit_state cs;
    chalk_commit_state_get(f->db, &cs);
    assert_int_equal(cs.inflight, 0);
    assert_true(log_files_contain(f->dir, "inline-probe-key"));
    assert_int_equal(done, 0);                        /* callbacks: only from chalk_poll */
    struct pollfd p = {.fd = chalk_event_fd(f->db), .events = POLLIN};
    assert_int_equal(poll(&p, 1, 0), 1);              /* readable at once */
    assert_int_equal(chalk_poll(f->db), 1);
    assert_int_equal(done, 1);
    assert_int_equal(fsyncs(f->db), 0);

    assert_int_equal(chalk_set_fsync(f->db, CHALK_FSYNC_ALWAYS), CHALK_OK);
    assert_int_equal(chalk_sync(f->db), CHALK_OK);
    done = 0;
    write_key(f->db, "synced-probe-key", &done);
    assert_int_equal(chalk_flush(f->db), CHALK_OK);
    chalk_commit_state_get(f->db, &cs);
    assert_int_equal(cs.inflight, 1);                 /* the backend has it */
    wait_done(f->db, &done);
    assert_true(log_files_contain(f->dir, "synced-probe-key"));
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
        cmocka_unit_test_prestate_setup_teardown(test_no_sync_group_written_at_flush, setup, teardown, &uring),
        cmocka_unit_test_prestate_setup_teardown(test_no_sync_group_written_at_flush, setup, teardown, &psync),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
