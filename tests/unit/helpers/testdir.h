/*
 * testdir.h — temporary data directories and file surgery for unit tests.
 *
 * Every engine test works in its own fresh directory under $TMPDIR (or
 * /tmp), removed at the end unless CHALK_KEEP_TESTDIR is set in the
 * environment (then its path is printed, to inspect with chalk-dump). The
 * file helpers do the damage the durability tests need: truncate a file, flip
 * a bit, copy a directory to replay a crash point many times.
 *
 * All functions return 0 or -errno, like the rest of Chalk.
 */
#ifndef CHALK_TEST_TESTDIR_H
#define CHALK_TEST_TESTDIR_H

#include <stddef.h>
#include <stdint.h>

/* Create a fresh directory "<tmp>/chalk-<tag>-XXXXXX" into buf (size n). */
int testdir_make(char *buf, size_t n, const char *tag);
/* The same under /dev/shm when it is writable: for crash tests, where the
 * fault vfs, not the disk, decides what is durable, so a real fdatasync
 * need not cost a disk flush. Falls back to testdir_make. */
int testdir_make_fast(char *buf, size_t n, const char *tag);
/* Remove a directory tree (rm -rf), or keep it if CHALK_KEEP_TESTDIR is set. */
int testdir_remove(const char *path);
/* Empty a directory of every regular file in it (not recursive). */
int testdir_clear(const char *path);
/* Copy every regular file of src into dst (which must exist). */
int testdir_copy(const char *src, const char *dst);

/* The size of a file, or -errno. */
int64_t testdir_file_size(const char *path);
/* The size of a file without its trailing zero bytes (where its records
 * end when fsync=always has written zeros ahead of them: engine/log.c),
 * or -errno. */
int64_t testdir_nonzero_size(const char *path);
int testdir_truncate(const char *path, uint64_t len);
/* XOR the byte at `off` with `mask` (a bit flip when mask has one bit). */
int testdir_xor_byte(const char *path, uint64_t off, unsigned char mask);
/* Names of the regular files in dir ending in `suffix`, sorted, as one
 * malloc'd array of malloc'd strings (free with testdir_free_list). */
int testdir_list(const char *dir, const char *suffix, char ***names, size_t *count);
void testdir_free_list(char **names, size_t count);

#endif /* CHALK_TEST_TESTDIR_H */
