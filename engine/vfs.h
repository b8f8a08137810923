/*
 * vfs.h — the seam between the engine and the file system.
 *
 * Every operation that CHANGES the disk (create/open for write, pwrite,
 * fdatasync, ftruncate, rename, unlink, directory fsync, close) goes through
 * a struct chalk_vfs. Production uses vfs_posix (the plain syscalls). Tests
 * plug in a fault-injecting implementation (tests/unit/helpers/fault_vfs.c)
 * in the spirit of SQLite's crash VFS and LevelDB's fault-injection Env: it
 * remembers what was synced, can fail the Nth write or fsync with EIO or
 * ENOSPC, and at a "crash" drops unsynced bytes (or keeps a random prefix
 * plus garbage) and undoes unsynced directory changes.
 *
 * Reads (pread, mmap) do not go through the vfs: they cannot make the disk
 * inconsistent, and a crash test reopens the directory with the real OS.
 * With a vfs set, the engine uses the pwrite+fdatasync path (io_uring
 * bypasses any user-space seam); both paths share every other line of code.
 *
 * Each function returns what the POSIX call returns on success (>= 0) or
 * -errno on failure; ctx is the implementation's own state.
 */
#ifndef CHALK_VFS_H
#define CHALK_VFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct chalk_vfs {
    void *ctx;
    int     (*open)(void *ctx, const char *path, int flags, int mode);   /* fd */
    ssize_t (*pwrite)(void *ctx, int fd, const void *buf, size_t n, uint64_t off);
    int     (*fdatasync)(void *ctx, int fd);
    int     (*ftruncate)(void *ctx, int fd, uint64_t len);
    int     (*rename)(void *ctx, const char *from, const char *to);
    int     (*unlink)(void *ctx, const char *path);
    int     (*fsync_dir)(void *ctx, const char *dir);  /* open(O_DIRECTORY)+fsync */
    int     (*close)(void *ctx, int fd);
};

/* The plain-syscall implementation (engine/vfs_posix.c). */
extern const struct chalk_vfs vfs_posix;

#endif /* CHALK_VFS_H */
