/*
 * fault_vfs.h — a seeded, test-only fault-injection file layer for the
 * engine (struct chalk_vfs, engine/vfs.h), in the spirit of SQLite's crash
 * VFS and LevelDB's FaultInjectionTestEnv.
 *
 * It passes every call through to the real syscalls, so the engine reads
 * back what it wrote exactly as in production, and on the side it keeps the
 * DURABLE state of every file it has seen: the bytes an fdatasync made
 * durable and the names a directory fsync made durable. On top of that:
 *
 *   - fail the Nth operation of some kinds (write, fsync, ...) with EIO or
 *     ENOSPC, once or for good                     fault_vfs_fail_nth()
 *   - "crash" at operation number N: that op and every later one returns
 *     -EIO, as if the process had died there           fault_vfs_crash_at()
 *   - after the engine is closed, rewrite the real files into one state a
 *     real machine could show after that crash     fault_vfs_apply_crash()
 *
 * The model (what a crash keeps, what it loses) is described at the top of
 * fault_vfs.c, with its limits. The whole layer is deterministic for a given
 * seed and a given sequence of calls; an engine with background threads can
 * reorder calls between runs, so a failing seed is best re-run a few times.
 *
 * Left out: a fault rule per file (rules match operation kinds, not paths)
 * and faults on reads (reads bypass the vfs). Interview topics:
 * tx.durability (at the model, fault_vfs.c).
 */
#ifndef CHALK_TEST_FAULT_VFS_H
#define CHALK_TEST_FAULT_VFS_H

#include <stdint.h>
#include <stdio.h>

#include "vfs.h"

/* Kinds of operation, as bits, to say which ops a fault applies to. */
enum fault_op {
    FAULT_OP_OPEN      = 1u << 0,
    FAULT_OP_WRITE     = 1u << 1,  /* pwrite */
    FAULT_OP_SYNC      = 1u << 2,  /* fdatasync of a file */
    FAULT_OP_TRUNCATE  = 1u << 3,
    FAULT_OP_RENAME    = 1u << 4,
    FAULT_OP_UNLINK    = 1u << 5,
    FAULT_OP_SYNC_DIR  = 1u << 6,
    FAULT_OP_CLOSE     = 1u << 7,
    FAULT_OP_ANY       = 0xffu,
};

/* What a crash keeps of the bytes written since a file's last fdatasync. */
enum fault_crash_mode {
    FAULT_CRASH_DROP_UNSYNCED, /* nothing: the file is exactly as last synced */
    FAULT_CRASH_KEEP_PREFIX,   /* a random prefix of the unsynced writes, in
                                  order, cut at a random byte */
    FAULT_CRASH_PREFIX_GARBAGE,/* as KEEP_PREFIX, then random bytes or zeros
                                  where the rest of the cut write would be */
    FAULT_CRASH_REORDER,       /* pages written back out of order: each
                                  4 KiB page of each unsynced write is kept
                                  or lost independently */
    FAULT_CRASH_RANDOM,        /* one of the four above, chosen per file */
};

struct fault_vfs;

/* A new layer with its PRNG seeded by `seed`. NULL on ENOMEM. */
struct fault_vfs *fault_vfs_new(uint64_t seed);
/* Free the layer (NULL ok). Call it after chalk_close(): it closes nothing. */
void fault_vfs_free(struct fault_vfs *fv);

/* The struct chalk_vfs to put in chalk_options.vfs. Valid until free. */
const struct chalk_vfs *fault_vfs_get(struct fault_vfs *fv);

/* Fail the nth (1 = the next) future operation whose kind is in `kinds`
 * with -err (EIO, ENOSPC, ...). forever=1: that one and every later op of
 * those kinds fail. A failed write writes nothing; a failed fdatasync loses
 * the file's unsynced writes (see "fsyncgate" in fault_vfs.c). One rule at
 * a time: a new call replaces the previous rule. */
void fault_vfs_fail_nth(struct fault_vfs *fv, unsigned kinds, uint64_t nth,
                        int err, int forever);
void fault_vfs_clear_faults(struct fault_vfs *fv);

/* Make `percent` of the pwrites of at least `min_len` bytes short: they
 * write a random non-empty prefix and return its length, as POSIX allows
 * (a signal, a quota edge). The caller must loop. percent 0 turns it off.
 * Kept across crashes. */
void fault_vfs_short_writes(struct fault_vfs *fv, unsigned percent, size_t min_len);

/* Crash at absolute operation number `op` (1-based, every kind counts;
 * fault_vfs_ops() tells how many were done): from that op on, every call
 * returns -EIO (close still closes). A write at the crash op is performed as
 * an unsynced write, so a crash can tear it. 0 = never. */
void fault_vfs_crash_at(struct fault_vfs *fv, uint64_t op);
/* Crash now: the next operation and all later ones fail. */
void fault_vfs_crash_now(struct fault_vfs *fv);
int  fault_vfs_crashed(const struct fault_vfs *fv);

/* Operations performed (or refused) so far, all kinds / only `kinds`. */
uint64_t fault_vfs_ops(const struct fault_vfs *fv);
uint64_t fault_vfs_ops_of(const struct fault_vfs *fv, unsigned kinds);
/* Operations that failed because of an injected fault or the crash. */
uint64_t fault_vfs_injected(const struct fault_vfs *fv);

/* Print one line per operation to `out` (NULL: stop). For debugging a seed. */
void fault_vfs_trace(struct fault_vfs *fv, FILE *out);

/* Make the real files look like the disk after a power loss: every name and
 * byte not made durable is undone as the mode says, unlinked-but-unsynced
 * files come back. Closes every fd the layer still tracks (the process is
 * dead). Then forgets everything — the current files become the new durable
 * state — and clears the crash and fault rules, so the same layer can serve
 * the reopen. Call it after chalk_close(). Returns 0 or -errno. */
int fault_vfs_apply_crash(struct fault_vfs *fv, enum fault_crash_mode mode);

/* Treat everything on disk now as durable and forget the past (no crash). */
void fault_vfs_reset(struct fault_vfs *fv);

/* The layer's PRNG, for tests that want reproducible choices of their own. */
uint64_t fault_vfs_rand(struct fault_vfs *fv);

#endif /* CHALK_TEST_FAULT_VFS_H */
