/*
 * dbopen.c — the engine tests' options, must-succeed open and value check
 * (dbopen.h).
 *
 * The one idea: one place for what every engine test repeats before its
 * first write. Left out: anything a test is about (io path, segment size).
 * Interview topics: none (test plumbing).
 */
#include "dbopen.h"

#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

void test_quiet_log(void *arg, enum chalk_log_level level, const char *msg)
{
    (void)arg;
    if (getenv("CHALK_TEST_LOG"))
        fprintf(stderr, "log %d: %s\n", (int)level, msg);
}

void test_options(chalk_options *o, enum chalk_fsync fsync)
{
    chalk_options_init(o);
    o->fsync = fsync;
    o->log = test_quiet_log;
}

chalk_db *test_open(const char *dir, const chalk_options *o)
{
    chalk_db *db = NULL;
    assert_int_equal(chalk_open(dir, o, &db), CHALK_OK);
    return db;
}

static void grouped_cb(void *arg, int status) { *(int *)arg = status; }

int test_write_grouped(chalk_db *db, const chalk_batch *b)
{
    int status = 1;   /* no CHALK_* status is 1 */
    int rc = chalk_write(db, b, grouped_cb, &status);
    if (rc) return rc;
    /* A failed flush or poll fails the batch too, and its callback says
     * so: the batch's status is the one result to wait for. */
    (void)chalk_flush(db);
    while (status == 1) {
        struct pollfd p = { .fd = chalk_event_fd(db), .events = POLLIN };
        poll(&p, 1, 100);
        (void)chalk_poll(db);
    }
    return status;
}

void test_assert_value(chalk_db *db, const char *key, const char *want)
{
    chalk_value v;
    assert_int_equal(chalk_get(db, key, strlen(key), &v), CHALK_OK);
    assert_int_equal(v.len, strlen(want));
    assert_memory_equal(v.data, want, v.len);
    chalk_value_free(&v);
}
