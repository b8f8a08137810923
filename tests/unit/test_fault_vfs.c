/*
 * test_fault_vfs.c — tests of the fault-injection layer itself
 * (tests/unit/helpers/fault_vfs.c), without the engine.
 *
 * The crash tests are only as good as the crash model, so the model gets its
 * own checks: synced bytes survive, unsynced ones are dropped or torn, names
 * need a directory fsync, unlinks are undone, a failed fdatasync loses its
 * data for good (fsyncgate), and faults fire at exactly the Nth op.
 * Left out: the engine (test_crash*.c use it). Interview topics: see
 * fault_vfs.c (tx.durability).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault_vfs.h"
#include "testdir.h"

struct fx {
    char dir[256];
    struct fault_vfs *fv;
    const struct chalk_vfs *v;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f || testdir_make_fast(f->dir, sizeof f->dir, "faultvfs") < 0)
        return -1;
    f->fv = fault_vfs_new(42);
    f->v = fault_vfs_get(f->fv);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    fault_vfs_free(f->fv);
    testdir_remove(f->dir);
    free(f);
    return 0;
}

static void path(const struct fx *f, const char *name, char *out)
{
    snprintf(out, 512, "%s/%s", f->dir, name);
}

/* Read a whole small file into buf (NUL-terminated); its size or -1. */
static long slurp(const char *p, char *buf, size_t n)
{
    int fd = open(p, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t r = read(fd, buf, n - 1);
    close(fd);
    buf[r < 0 ? 0 : r] = 0;
    return r;
}

static int vopen(struct fx *f, const char *name)
{
    char p[512];
    path(f, name, p);
    int fd = f->v->open(f->v->ctx, p, O_RDWR | O_CREAT, 0644);
    assert_true(fd >= 0);
    return fd;
}

static void vwrite(struct fx *f, int fd, const char *s, uint64_t off)
{
    assert_int_equal(f->v->pwrite(f->v->ctx, fd, s, strlen(s), off), (ssize_t)strlen(s));
}

static void test_synced_bytes_survive_unsynced_dropped(void **state)
{
    struct fx *f = *state;
    char p[512], buf[64];
    int fd = vopen(f, "a");
    vwrite(f, fd, "hello", 0);
    assert_int_equal(f->v->fdatasync(f->v->ctx, fd), 0);
    assert_int_equal(f->v->fsync_dir(f->v->ctx, f->dir), 0);
    vwrite(f, fd, "world", 5);
    assert_int_equal(f->v->close(f->v->ctx, fd), 0);
    path(f, "a", p);
    assert_int_equal(slurp(p, buf, sizeof buf), 10);     /* the cache shows all */
    assert_int_equal(fault_vfs_apply_crash(f->fv, FAULT_CRASH_DROP_UNSYNCED), 0);
    assert_int_equal(slurp(p, buf, sizeof buf), 5);
    assert_string_equal(buf, "hello");
}

static void test_prefix_modes_keep_synced_part(void **state)
{
    struct fx *f = *state;
    char p[512], buf[64];
    path(f, "a", p);
    for (int mode = FAULT_CRASH_KEEP_PREFIX; mode <= FAULT_CRASH_RANDOM; mode++) {
        for (int round = 0; round < 50; round++) {
            testdir_clear(f->dir);
            int fd = vopen(f, "a");
            vwrite(f, fd, "durable|", 0);
            assert_int_equal(f->v->fdatasync(f->v->ctx, fd), 0);
            assert_int_equal(f->v->fsync_dir(f->v->ctx, f->dir), 0);
            vwrite(f, fd, "abcdefgh", 8);
            f->v->close(f->v->ctx, fd);
            assert_int_equal(fault_vfs_apply_crash(f->fv, (enum fault_crash_mode)mode), 0);
            long n = slurp(p, buf, sizeof buf);
            assert_true(n >= 8 && n <= 16);
            assert_memory_equal(buf, "durable|", 8);
            if (mode == FAULT_CRASH_KEEP_PREFIX)  /* no garbage: a true prefix */
                assert_memory_equal(buf + 8, "abcdefgh", (size_t)n - 8);
        }
    }
}

/* REORDER: each 4 KiB page of an unsynced write survives on its own, so a
 * later page can outlive an earlier one; lost pages read as zeros. */
static void test_reorder_keeps_pages_independently(void **state)
{
    struct fx *f = *state;
    char p[512];
    static char data[3 * 4096], back[3 * 4096 + 1];
    int kept_later_only = 0;
    path(f, "a", p);
    memset(data, 'x', sizeof data);
    for (int round = 0; round < 64; round++) {
        testdir_clear(f->dir);
        int fd = vopen(f, "a");
        assert_int_equal(f->v->fsync_dir(f->v->ctx, f->dir), 0);
        assert_int_equal(f->v->pwrite(f->v->ctx, fd, data, sizeof data, 0), (ssize_t)sizeof data);
        f->v->close(f->v->ctx, fd);
        assert_int_equal(fault_vfs_apply_crash(f->fv, FAULT_CRASH_REORDER), 0);
        long n = slurp(p, back, sizeof back);
        assert_true(n >= 0 && n <= (long)sizeof data && n % 4096 == 0);
        for (long page = 0; page < n / 4096; page++) {
            char c = back[page * 4096];
            assert_true(c == 'x' || c == 0);
            for (int k = 0; k < 4096; k++)
                assert_int_equal(back[page * 4096 + k], c);
            kept_later_only |= page > 0 && c == 'x' && back[0] == 0;
        }
    }
    assert_true(kept_later_only);
}

static void test_new_name_needs_dir_fsync(void **state)
{
    struct fx *f = *state;
    char p[512];
    int fd = vopen(f, "new");
    vwrite(f, fd, "data", 0);
    assert_int_equal(f->v->fdatasync(f->v->ctx, fd), 0);  /* bytes, not the name */
    f->v->close(f->v->ctx, fd);
    assert_int_equal(fault_vfs_apply_crash(f->fv, FAULT_CRASH_KEEP_PREFIX), 0);
    path(f, "new", p);
    assert_int_equal(access(p, F_OK), -1);
}

static void test_unsynced_unlink_and_rename_are_undone(void **state)
{
    struct fx *f = *state;
    char a[512], b[512], c[512], buf[64];
    path(f, "a", a);
    path(f, "b", b);
    path(f, "c", c);
    int fd = vopen(f, "a");
    vwrite(f, fd, "AAA", 0);
    f->v->fdatasync(f->v->ctx, fd);
    f->v->close(f->v->ctx, fd);
    fd = vopen(f, "c");
    vwrite(f, fd, "CCC", 0);
    f->v->fdatasync(f->v->ctx, fd);
    f->v->close(f->v->ctx, fd);
    assert_int_equal(f->v->fsync_dir(f->v->ctx, f->dir), 0);
    assert_int_equal(f->v->rename(f->v->ctx, a, b), 0);   /* not synced */
    assert_int_equal(f->v->unlink(f->v->ctx, c), 0);      /* not synced */
    assert_int_equal(access(c, F_OK), -1);
    assert_int_equal(fault_vfs_apply_crash(f->fv, FAULT_CRASH_DROP_UNSYNCED), 0);
    assert_int_equal(slurp(a, buf, sizeof buf), 3);
    assert_string_equal(buf, "AAA");
    assert_int_equal(access(b, F_OK), -1);
    assert_int_equal(slurp(c, buf, sizeof buf), 3);
    assert_string_equal(buf, "CCC");
}

static void test_synced_rename_sticks(void **state)
{
    struct fx *f = *state;
    char a[512], b[512], buf[64];
    path(f, "a", a);
    path(f, "b", b);
    int fd = vopen(f, "a");
    vwrite(f, fd, "AAA", 0);
    f->v->fdatasync(f->v->ctx, fd);
    f->v->close(f->v->ctx, fd);
    assert_int_equal(f->v->rename(f->v->ctx, a, b), 0);
    assert_int_equal(f->v->fsync_dir(f->v->ctx, f->dir), 0);
    assert_int_equal(fault_vfs_apply_crash(f->fv, FAULT_CRASH_DROP_UNSYNCED), 0);
    assert_int_equal(access(a, F_OK), -1);
    assert_int_equal(slurp(b, buf, sizeof buf), 3);
}

/* Pre-existing files are adopted as durable; an O_TRUNC is not durable
 * until synced. */
static void test_adopted_file_and_truncate(void **state)
{
    struct fx *f = *state;
    char a[512], buf[64];
    path(f, "old", a);
    FILE *fp = fopen(a, "w");
    fputs("before", fp);
    fclose(fp);
    int fd = f->v->open(f->v->ctx, a, O_RDWR, 0);
    assert_true(fd >= 0);
    assert_int_equal(f->v->ftruncate(f->v->ctx, fd, 2), 0);
    f->v->close(f->v->ctx, fd);
    assert_int_equal(slurp(a, buf, sizeof buf), 2);
    assert_int_equal(fault_vfs_apply_crash(f->fv, FAULT_CRASH_DROP_UNSYNCED), 0);
    assert_int_equal(slurp(a, buf, sizeof buf), 6);
    assert_string_equal(buf, "before");
}

/* fsyncgate: after a failed fdatasync, a later one "succeeds" but the data
 * written before the failure never reaches the disk. */
static void test_failed_fsync_loses_data_for_good(void **state)
{
    struct fx *f = *state;
    char a[512], buf[64];
    path(f, "a", a);
    int fd = vopen(f, "a");
    f->v->fsync_dir(f->v->ctx, f->dir);
    vwrite(f, fd, "lost", 0);
    fault_vfs_fail_nth(f->fv, FAULT_OP_SYNC, 1, EIO, 0);
    assert_int_equal(f->v->fdatasync(f->v->ctx, fd), -EIO);
    assert_int_equal(f->v->fdatasync(f->v->ctx, fd), 0);   /* the lie */
    assert_int_equal(slurp(a, buf, sizeof buf), 4);        /* reads still see it */
    f->v->close(f->v->ctx, fd);
    assert_int_equal(fault_vfs_apply_crash(f->fv, FAULT_CRASH_DROP_UNSYNCED), 0);
    assert_int_equal(slurp(a, buf, sizeof buf), 0);
}

static void test_fail_nth_once_and_forever(void **state)
{
    struct fx *f = *state;
    int fd = vopen(f, "a");
    fault_vfs_fail_nth(f->fv, FAULT_OP_WRITE, 3, ENOSPC, 0);
    vwrite(f, fd, "1", 0);
    vwrite(f, fd, "2", 1);
    assert_int_equal(f->v->pwrite(f->v->ctx, fd, "3", 1, 2), -ENOSPC);
    vwrite(f, fd, "4", 2);                                /* once: fine again */
    assert_int_equal(f->v->fdatasync(f->v->ctx, fd), 0);  /* other kinds untouched */
    fault_vfs_fail_nth(f->fv, FAULT_OP_WRITE | FAULT_OP_SYNC, 2, EIO, 1);
    vwrite(f, fd, "5", 3);
    assert_int_equal(f->v->fdatasync(f->v->ctx, fd), -EIO);
    assert_int_equal(f->v->pwrite(f->v->ctx, fd, "6", 1, 4), -EIO);
    assert_int_equal(f->v->fdatasync(f->v->ctx, fd), -EIO);
    assert_int_equal(fault_vfs_injected(f->fv), 4);
    fault_vfs_clear_faults(f->fv);
    vwrite(f, fd, "7", 4);
    f->v->close(f->v->ctx, fd);
}

static void test_short_writes(void **state)
{
    struct fx *f = *state;
    char data[64];
    int shorts = 0;
    memset(data, 'z', sizeof data);
    int fd = vopen(f, "a");
    fault_vfs_short_writes(f->fv, 100, 2);
    assert_int_equal(f->v->pwrite(f->v->ctx, fd, data, 1, 0), 1);   /* under min_len */
    for (int i = 0; i < 20; i++) {
        ssize_t w = f->v->pwrite(f->v->ctx, fd, data, sizeof data, 0);
        assert_true(w >= 1 && w <= (ssize_t)sizeof data);
        shorts += w < (ssize_t)sizeof data;
    }
    assert_int_equal(shorts, 20);
    fault_vfs_short_writes(f->fv, 0, 0);
    assert_int_equal(f->v->pwrite(f->v->ctx, fd, data, sizeof data, 0), (ssize_t)sizeof data);
    f->v->close(f->v->ctx, fd);
}

/* Crash at op N: N-1 ops happen, op N and later fail; a write at the crash
 * op may be torn in; counting restarts after apply_crash. */
static void test_crash_at_op(void **state)
{
    struct fx *f = *state;
    char a[512], buf[64];
    path(f, "a", a);
    int fd = vopen(f, "a");                                    /* op 1 */
    f->v->fsync_dir(f->v->ctx, f->dir);                        /* op 2 */
    vwrite(f, fd, "abc", 0);                                   /* op 3 */
    fault_vfs_crash_at(f->fv, 5);
    assert_int_equal(f->v->fdatasync(f->v->ctx, fd), 0);       /* op 4 */
    assert_false(fault_vfs_crashed(f->fv));
    assert_int_equal(f->v->pwrite(f->v->ctx, fd, "def", 3, 3), -EIO); /* op 5 */
    assert_true(fault_vfs_crashed(f->fv));
    assert_int_equal(f->v->fdatasync(f->v->ctx, fd), -EIO);
    assert_int_equal(f->v->close(f->v->ctx, fd), 0);
    assert_int_equal(fault_vfs_ops(f->fv), 7);
    assert_int_equal(fault_vfs_ops_of(f->fv, FAULT_OP_WRITE), 2);
    assert_int_equal(fault_vfs_apply_crash(f->fv, FAULT_CRASH_DROP_UNSYNCED), 0);
    assert_int_equal(slurp(a, buf, sizeof buf), 3);
    assert_string_equal(buf, "abc");
    assert_false(fault_vfs_crashed(f->fv));
    assert_int_equal(fault_vfs_ops(f->fv), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_synced_bytes_survive_unsynced_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefix_modes_keep_synced_part, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reorder_keeps_pages_independently, setup, teardown),
        cmocka_unit_test_setup_teardown(test_new_name_needs_dir_fsync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsynced_unlink_and_rename_are_undone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_synced_rename_sticks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adopted_file_and_truncate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_fsync_loses_data_for_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_nth_once_and_forever, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_at_op, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
