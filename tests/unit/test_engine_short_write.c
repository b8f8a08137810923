/*
 * test_engine_short_write.c — a durable write that the kernel cuts short,
 * on both I/O paths (io_uring and pwrite+fdatasync).
 *
 * A child process lowers RLIMIT_FSIZE (and ignores SIGXFSZ), so the write
 * that crosses the limit is short and the next one fails with EFBIG: the
 * kernel itself does the damage, no fault VFS in between. On io_uring this
 * is the path where the linked write's completion is posted although it
 * carries IOSQE_CQE_SKIP_SUCCESS and the fsync behind it is cancelled
 * (engine/log_uring.c). The child writes durable batches until one fails;
 * an alarm turns a hang into a failed test. The parent then reopens the
 * directory without the limit and checks, for each path twice: batches
 * written with chalk_write_sync by a lone writer (the caller's own pwrite +
 * fdatasync, write.c) and with chalk_write + chalk_flush, waiting for the
 * callback (the group goes through the backend: io_uring or its thread):
 *   - every acknowledged batch is there, whole;
 *   - the batch that failed is there whole or not at all;
 *   - nothing after it is there.
 * Left out: ENOSPC and EIO from fsync (test_engine_faults.c does them
 * through the fault VFS).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "chalk/engine.h"
#include "dbopen.h"
#include "testdir.h"

enum { KEYS_PER_BATCH = 100, VALUE_LEN = 100, MAX_BATCHES = 4000 };
#define FSIZE_LIMIT (1600u * 1000u)   /* between the 1 and 2 MiB pre-write marks */

static void key_of(char *k, int batch, int i)
{
    snprintf(k, 16, "b%05dk%03d", batch, i);
}

static void value_of(char *v, int batch, int i)
{
    memset(v, 'a' + (batch + i) % 26, VALUE_LEN);
}

/* In the child: write durable batches until one fails. Writes the number
 * acknowledged to fd; returns the exit code (0, or the failing step). */
static int child(const char *dir, enum chalk_io io, int grouped, int fd)
{
    signal(SIGXFSZ, SIG_IGN);
    alarm(60);                                  /* a hang fails the test */
    struct rlimit rl = { FSIZE_LIMIT, FSIZE_LIMIT };
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0) return 10;
    chalk_options o;
    chalk_options_init(&o);
    o.fsync = CHALK_FSYNC_ALWAYS;
    o.io = io;
    chalk_db *db = NULL;
    if (chalk_open(dir, &o, &db) != CHALK_OK) return 11;
    int acked = 0, rc = CHALK_OK;
    char k[16], v[VALUE_LEN];
    while (rc == CHALK_OK && acked < MAX_BATCHES) {
        chalk_batch *b = chalk_batch_new();
        if (!b) return 12;
        for (int i = 0; i < KEYS_PER_BATCH; i++) {
            key_of(k, acked, i);
            value_of(v, acked, i);
            if (chalk_batch_put(b, k, strlen(k), v, VALUE_LEN, 0) != CHALK_OK) return 13;
        }
        rc = grouped ? test_write_grouped(db, b) : chalk_write_sync(db, b);
        chalk_batch_free(b);
        if (rc == CHALK_OK) acked++;
    }
    if (rc == CHALK_OK) return 14;              /* the limit never bit */
    /* After a failed durable write the engine refuses further writes. */
    chalk_batch *b = chalk_batch_new();
    chalk_batch_put(b, "after", 5, "x", 1, 0);
    int again = grouped ? test_write_grouped(db, b) : chalk_write_sync(db, b);
    chalk_batch_free(b);
    if (again == CHALK_OK) return 15;
    (void)chalk_close(db);                      /* may report the failure */
    if (write(fd, &acked, sizeof acked) != (ssize_t)sizeof acked) return 16;
    return 0;
}

/* How many keys of `batch` the reopened store holds (checking values). */
static int keys_present(chalk_db *db, int batch)
{
    char k[16], v[VALUE_LEN];
    int n = 0;
    for (int i = 0; i < KEYS_PER_BATCH; i++) {
        key_of(k, batch, i);
        value_of(v, batch, i);
        chalk_value got;
        int rc = chalk_get(db, k, strlen(k), &got);
        if (rc == CHALK_ENOTFOUND) continue;
        assert_int_equal(rc, CHALK_OK);
        assert_int_equal(got.len, VALUE_LEN);
        assert_memory_equal(got.data, v, VALUE_LEN);
        chalk_value_free(&got);
        n++;
    }
    return n;
}

static void run(enum chalk_io io, int grouped, const char *tag)
{
    char dir[512];
    assert_int_equal(testdir_make(dir, sizeof dir, tag), 0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        _exit(child(dir, io, grouped, p[1]));
    }
    close(p[1]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("child killed by signal %d (SIGALRM = a hung write)", WTERMSIG(status));
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0) fail_msg("child failed at step %d", WEXITSTATUS(status));
    int acked = -1;
    assert_int_equal(read(p[0], &acked, sizeof acked), (ssize_t)sizeof acked);
    close(p[0]);
    assert_true(acked > 0);

    chalk_options o;
    chalk_options_init(&o);
    chalk_db *db = NULL;
    assert_int_equal(chalk_open(dir, &o, &db), CHALK_OK);
    for (int b = 0; b < acked; b++)
        assert_int_equal(keys_present(db, b), KEYS_PER_BATCH);
    int failed = keys_present(db, acked);       /* all or nothing */
    assert_true(failed == 0 || failed == KEYS_PER_BATCH);
    assert_int_equal(keys_present(db, acked + 1), 0);
    assert_int_equal(chalk_close(db), CHALK_OK);
    testdir_remove(dir);
}

static void test_short_write_io_uring(void **state)
{
    (void)state;
    run(CHALK_IO_URING, 0, "engine_short_uring");
}

static void test_short_write_io_uring_grouped(void **state)
{
    (void)state;
    run(CHALK_IO_URING, 1, "engine_short_uring_g");
}

static void test_short_write_pwrite(void **state)
{
    (void)state;
    run(CHALK_IO_PSYNC, 0, "engine_short_psync");
}

static void test_short_write_pwrite_grouped(void **state)
{
    (void)state;
    run(CHALK_IO_PSYNC, 1, "engine_short_psync_g");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_write_io_uring),
        cmocka_unit_test(test_short_write_io_uring_grouped),
        cmocka_unit_test(test_short_write_pwrite),
        cmocka_unit_test(test_short_write_pwrite_grouped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
