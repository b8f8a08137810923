/*
 * test_engine_iofallback.c — what happens where io_uring is forbidden (as
 * in many containers): a child process installs a seccomp filter that makes
 * io_uring_setup fail with EPERM, then
 *   - CHALK_IO_AUTO opens on the pwrite+fdatasync path, says so in a WARN
 *     log line, and works (write, sync, reopen);
 *   - CHALK_IO_URING refuses to open with CHALK_EINVAL.
 * No hook in the engine: the kernel itself says no.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "chalk/engine.h"
#include "testdir.h"

/* Deny io_uring_setup with EPERM; allow everything else. */
static int forbid_io_uring(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

struct seen { int warned; };
static void log_cb(void *arg, enum chalk_log_level l, const char *m)
{
    struct seen *s = arg;
    if (l == CHALK_LOG_WARN && strstr(m, "io_uring unavailable")) s->warned = 1;
}

/* Runs in the child; returns the exit code (0 = all good, else the step). */
static int child(const char *dir)
{
    if (forbid_io_uring() != 0) return 10;
    struct seen s = { 0 };
    chalk_options o;
    chalk_options_init(&o);
    o.log = log_cb;
    o.log_arg = &s;
    o.fsync = CHALK_FSYNC_ALWAYS;
    o.io = CHALK_IO_URING;
    chalk_db *db = NULL;
    if (chalk_open(dir, &o, &db) != CHALK_EINVAL || db) return 11;
    o.io = CHALK_IO_AUTO;
    if (chalk_open(dir, &o, &db) != CHALK_OK) return 12;
    chalk_stats st;
    chalk_stats_get(db, &st);
    if (strcmp(st.io_path, "pwrite+fdatasync") != 0) return 13;
    if (!s.warned) return 14;
    chalk_batch *b = chalk_batch_new();
    chalk_batch_put(b, "k", 1, "v", 1, 0);
    if (chalk_write_sync(db, b) != CHALK_OK) return 15;
    chalk_batch_free(b);
    if (chalk_close(db) != CHALK_OK) return 16;
    if (chalk_open(dir, &o, &db) != CHALK_OK) return 17;
    chalk_value v;
    if (chalk_get(db, "k", 1, &v) != CHALK_OK || v.len != 1) return 18;
    chalk_value_free(&v);
    return chalk_close(db) == CHALK_OK ? 0 : 19;
}

static void test_auto_falls_back_when_io_uring_is_forbidden(void **state)
{
    char dir[512];
    assert_int_equal(testdir_make(dir, sizeof dir, "engine_iofallback"), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(child(dir));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    if (WEXITSTATUS(status) != 0) fail_msg("child failed at step %d", WEXITSTATUS(status));
    testdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auto_falls_back_when_io_uring_is_forbidden),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
