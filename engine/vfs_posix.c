/*
 * vfs_posix.c — the production chalk_vfs: each function is the plain system
 * call, with the result turned into ">= 0 or -errno".
 *
 * The one idea: every disk-changing call of the engine goes through this
 * table, so a test can swap it for one that injects faults (vfs.h).
 *
 * Left out on purpose: retrying a failed fdatasync. After an fsync error
 * Linux may already have marked the dirty pages clean, so a second fsync
 * can "succeed" without the data being on disk (PostgreSQL's "fsyncgate",
 * 2018). The error is returned as is; the engine fails the batches it
 * covered and refuses further writes (see log.c).
 *
 * Interview topics: tx.durability (see log.c for the policy itself).
 */
#include "vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static int posix_open(void *ctx, const char *path, int flags, int mode)
{
    int fd = open(path, flags, mode);
    return fd < 0 ? -errno : fd;
}

/* One pwrite; the caller loops on short writes (they are normal). */
static ssize_t posix_pwrite(void *ctx, int fd, const void *buf, size_t n, uint64_t off)
{
    ssize_t w;
    do {
        w = pwrite(fd, buf, n, (off_t)off);
    } while (w < 0 && errno == EINTR);
    return w < 0 ? -errno : w;
}

static int posix_fdatasync(void *ctx, int fd)
{
    return fdatasync(fd) < 0 ? -errno : 0;
}

static int posix_ftruncate(void *ctx, int fd, uint64_t len)
{
    return ftruncate(fd, (off_t)len) < 0 ? -errno : 0;
}

static int posix_rename(void *ctx, const char *from, const char *to)
{
    return rename(from, to) < 0 ? -errno : 0;
}

static int posix_unlink(void *ctx, const char *path)
{
    return unlink(path) < 0 ? -errno : 0;
}

/* Why a directory fsync: creating, renaming or unlinking a file changes the
 * directory, not the file; only an fsync of the directory makes that change
 * durable (POSIX leaves it unspecified otherwise, and ext4/xfs do lose it). */
static int posix_fsync_dir(void *ctx, const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

static int posix_close(void *ctx, int fd)
{
    return close(fd) < 0 ? -errno : 0;
}

const struct chalk_vfs vfs_posix = {
    .ctx = NULL,
    .open = posix_open,
    .pwrite = posix_pwrite,
    .fdatasync = posix_fdatasync,
    .ftruncate = posix_ftruncate,
    .rename = posix_rename,
    .unlink = posix_unlink,
    .fsync_dir = posix_fsync_dir,
    .close = posix_close,
};
