/*
 * dbopen.h — opening an engine in a unit test: the options every engine
 * test starts from, and an open that must succeed.
 *
 * Each engine test used to carry its own copy of a silent log callback and
 * of an open_db() that filled chalk_options and asserted chalk_open; these
 * are that code once. A test still sets the options it is about (io path,
 * segment size, compaction trigger) on the struct test_options() fills.
 * Also: a durable write through the group path (test_write_grouped).
 * Left out: opens that are expected to fail (call chalk_open yourself).
 * Interview topics: none (test plumbing).
 */
#ifndef CHALK_TEST_DBOPEN_H
#define CHALK_TEST_DBOPEN_H

#include "chalk/engine.h"

/* A chalk_options.log that is silent unless CHALK_TEST_LOG is set in the
 * environment (then every engine log line goes to stderr). */
void test_quiet_log(void *arg, enum chalk_log_level level, const char *msg);

/* chalk_options_init(o), then fsync = the given policy, log = test_quiet_log. */
void test_options(chalk_options *o, enum chalk_fsync fsync);

/* chalk_open(dir, o) that must return CHALK_OK (a cmocka failure
 * otherwise); the open handle, closed by the caller with chalk_close. */
chalk_db *test_open(const char *dir, const chalk_options *o);

/* Assert that key (a C string) holds exactly want. */
void test_assert_value(chalk_db *db, const char *key, const char *want);

/* The group path: chalk_write, chalk_flush, then wait on chalk_event_fd and
 * chalk_poll until the batch's callback runs, as the server's event loop
 * does. Returns chalk_write's error or the batch's status. (chalk_write_sync
 * takes a shorter path for a lone writer: the caller's own thread writes
 * and fdatasyncs, write.c; this one always goes through the I/O backend.) */
int test_write_grouped(chalk_db *db, const chalk_batch *b);

#endif
