/*
 * test_crash_kill.c — process crashes (SIGKILL) on both I/O paths.
 *
 * What it proves: the fault vfs forces the pwrite path (io_uring bypasses
 * any user-space seam), so this test covers what it cannot — the io_uring
 * path — for the crash a process can have on a healthy machine. A child
 * process writes the crash model's batches under CHALK_FSYNC_ALWAYS and
 * reports each acknowledgement through a pipe; the parent kills it with
 * SIGKILL after a random number of acknowledgements (so groups are in
 * flight in the kernel), reopens the directory and checks that every
 * acknowledged batch is there and that the store is a prefix of commit
 * order. Run for CHALK_IO_AUTO (io_uring when the kernel allows it; the
 * path used is printed) and CHALK_IO_PSYNC.
 *
 * Left out: power loss (the page cache survives a SIGKILL, so this cannot
 * lose an unsynced byte; test_crash.c covers that) and timing assertions.
 *
 * Interview topics: tx.durability (tagged in test_crash.c: a process crash
 * is the easy half of "acknowledged means durable").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chalk/engine.h"
#include "crash_model.h"
#include "dbopen.h"
#include "testdir.h"

#if defined(__SANITIZE_ADDRESS__)
#define KILLS 20
#else
#define KILLS 100
#endif

static const struct cm_params WORKLOAD = {
    .nbatches = 200, .nkeys = 30, .max_ops = 4, .max_vlen = 400, .del_pct = 20,
};

static void options(chalk_options *o, enum chalk_io io)
{
    test_options(o, CHALK_FSYNC_ALWAYS);
    o->io = io;
    o->segment_size = 16384;
    o->compact_dead_ratio = 0;
}

struct ack {
    int fd;                    /* the pipe to the parent */
    int index;                 /* the batch */
};

/* In the child: tell the parent, in commit order, which batch is durable. */
static void on_commit(void *arg, int status)
{
    struct ack *a = arg;
    if (status == CHALK_OK && write(a->fd, &a->index, sizeof a->index) != sizeof a->index)
        _exit(3);
}

/* The child: write every batch with a callback, flushing every few, and
 * poll for completions; it never returns (killed, or _exit at the end). */
static void child(const char *dir, enum chalk_io io, const struct cm_workload *w, int fd)
{
    chalk_options o;
    chalk_db *db;
    static struct ack acks[256];
    chalk_batch *b = chalk_batch_new();
    options(&o, io);
    if (!b || chalk_open(dir, &o, &db) != CHALK_OK)
        _exit(2);
    for (int i = 0; i < cm_nbatches(w); i++) {
        acks[i] = (struct ack){ fd, i };
        if (cm_fill_batch(w, i, b) != 0 || chalk_write(db, b, on_commit, &acks[i]) != CHALK_OK)
            _exit(2);
        if (i % 3 == 2)
            chalk_flush(db);
        chalk_poll(db);
    }
    chalk_sync(db);
    chalk_close(db);
    _exit(0);
}

/* Read acknowledgements until `want` arrived (or the child ended); kill
 * it. Returns the highest acknowledged batch index, or -1. */
static int kill_after(pid_t pid, int fd, int want)
{
    int got = 0, last = -1, idx;
    while (got < want && read(fd, &idx, sizeof idx) == sizeof idx) {
        if (idx != last + 1)
            fail_msg("acknowledgements out of commit order: %d after %d", idx, last);
        last = idx;
        got++;
    }
    kill(pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    while (read(fd, &idx, sizeof idx) == sizeof idx)   /* acks sent before death */
        last = idx;
    return last;
}

static void kill_runs(enum chalk_io io, const char *name)
{
    struct cm_workload *w = cm_workload_new(4242, &WORKLOAD);
    uint64_t rng = 99;
    char dir[256], why[512];
    const char *path_used = "?";
    assert_non_null(w);
    for (int run = 0; run < KILLS; run++) {
        int fds[2];
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        int want = (int)((rng >> 33) % (uint64_t)cm_nbatches(w));
        assert_int_equal(testdir_make_fast(dir, sizeof dir, "kill"), 0);
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            child(dir, io, w, fds[1]);
        }
        close(fds[1]);
        int last = kill_after(pid, fds[0], want);
        if (last < want - 1)          /* the child died on its own: a real failure */
            fail_msg("%s: the child stopped after %d acks, before the kill", name, last + 1);
        close(fds[0]);
        chalk_options o;
        chalk_db *db;
        chalk_stats st;
        options(&o, io);
        int rc = chalk_open(dir, &o, &db);
        if (rc != CHALK_OK)
            fail_msg("%s, kill after %d acks: reopen failed: %s", name, want, chalk_strerror(rc));
        chalk_stats_get(db, &st);
        path_used = st.io_path;
        if (cm_find_prefix(w, db, last + 1, why, sizeof why) < 0)
            fail_msg("%s, killed after %d acks (last %d): %s", name, want, last, why);
        chalk_close(db);
        testdir_remove(dir);
    }
    print_message("%s: %d kills checked, reopened with io path %s\n", name, KILLS, path_used);
    cm_workload_free(w);
}

static void test_kill_auto_io(void **state) { kill_runs(CHALK_IO_AUTO, "io=auto"); }
static void test_kill_psync(void **state) { kill_runs(CHALK_IO_PSYNC, "io=psync"); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_auto_io),
        cmocka_unit_test(test_kill_psync),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
