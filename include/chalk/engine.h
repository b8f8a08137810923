/*
 * chalk/engine.h — the embeddable Chalk storage engine. This header is the
 * manual: every function says what it returns and every error it can return.
 *
 * Chalk's engine is Bitcask-shaped: every change is appended to a log of
 * segment files; an in-memory hash index maps each live key to the place of
 * its newest record; an ordered index over the same keys serves range and
 * prefix scans. Values stay on disk (read back through the page cache), keys
 * stay in memory. docs/engine.md is the chapter that walks through it.
 *
 * Threading: a chalk_db is used from ONE thread (the caller's), like the
 * server's command thread. The engine may run background threads of its own
 * (fsync, compaction), but callbacks are only ever invoked on the caller's
 * thread, from chalk_poll(), chalk_sync() or chalk_close().
 *
 * Errors: every function that can fail returns 0 (CHALK_OK) or a negative
 * CHALK_E* code; chalk_strerror() names it. Functions that answer a yes/no
 * question return 1/0 or a negative error.
 *
 * Memory: the engine copies every key and value it is given; a caller may
 * free or reuse its buffers as soon as a call returns. Values handed out in
 * a chalk_value are owned by the caller and freed with chalk_value_free().
 *
 * Sizes: keys and values may be empty, may contain NUL bytes, and may be up
 * to CHALK_MAX_KEY_SIZE / CHALK_MAX_VALUE_SIZE bytes.
 */
#ifndef CHALK_ENGINE_H
#define CHALK_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 512 MiB of payload, Redis's largest string, plus a small allowance for
 * the encoding an application wraps around it: chalk-server prefixes every
 * key with 2 bytes (database, kind) and every value with a type byte
 * (server/keyspace.h), so a Redis string of exactly 512 MiB (its
 * proto-max-bulk-len) must still fit; composite keys (a hash field of
 * 512 MiB under a key of up to ~1000 bytes) too. Records stay far below the
 * 32-bit offsets of a segment. */
#define CHALK_MAX_SIZE_ALLOWANCE 1024u
#define CHALK_MAX_KEY_SIZE   (512u * 1024 * 1024 + CHALK_MAX_SIZE_ALLOWANCE)
#define CHALK_MAX_VALUE_SIZE (512u * 1024 * 1024 + CHALK_MAX_SIZE_ALLOWANCE)

/* ---- errors ------------------------------------------------------------ */
enum chalk_error {
    CHALK_OK        =  0,
    CHALK_ENOTFOUND = -1,  /* no such key (or it has expired) */
    CHALK_EIO       = -2,  /* an I/O error from the OS (read, write, fsync) */
    CHALK_ENOSPC    = -3,  /* the disk is full; nothing was acknowledged */
    CHALK_ELOCKED   = -4,  /* another process has the data directory open */
    CHALK_ECORRUPT  = -5,  /* a checksum or structural check failed */
    CHALK_EVERSION  = -6,  /* a file of an unknown format version */
    CHALK_EINVAL    = -7,  /* a bad argument (e.g. options out of range) */
    CHALK_ENOMEM    = -8,  /* an allocation failed */
    CHALK_ETOOBIG   = -9,  /* key or value over the maximum size */
    CHALK_EFAILED   = -10, /* a durable write failed earlier (e.g. fsync
                              EIO); the engine refuses further writes until
                              it is closed and reopened (see chalk_write) */
    CHALK_EBUSY     = -11, /* the operation is already running (compaction) */
    CHALK_ECLOSED   = -12, /* the engine is shutting down */
    CHALK_ECONFLICT = -13, /* chalk_txn_commit: a key the transaction read
                              was changed by someone else since */
};

/* A static, human-readable name for a CHALK_E* code ("no such key", ...). */
const char *chalk_strerror(int err);

/* ---- options ----------------------------------------------------------- */
enum chalk_fsync {
    CHALK_FSYNC_NO = 0,     /* never fsync: the OS writes back when it likes;
                               a power loss can lose ~30 s of writes */
    CHALK_FSYNC_EVERYSEC,   /* fsync once a second in the background: a power
                               loss loses up to ~1 s of writes */
    CHALK_FSYNC_ALWAYS,     /* a batch's callback fires only after an
                               fdatasync covering it completed (group commit) */
};

enum chalk_io {
    CHALK_IO_AUTO = 0,      /* io_uring if io_uring_queue_init succeeds,
                               else pwrite + fdatasync */
    CHALK_IO_URING,         /* io_uring or fail to open (CHALK_EINVAL) */
    CHALK_IO_PSYNC,         /* pwrite + fdatasync from a background thread */
};

enum chalk_log_level { CHALK_LOG_DEBUG, CHALK_LOG_INFO, CHALK_LOG_WARN, CHALK_LOG_ERROR };
typedef void (*chalk_log_fn)(void *arg, enum chalk_log_level level, const char *msg);

typedef struct chalk_options {
    uint64_t         segment_size;       /* roll to a new segment past this;
                                            default 64 MiB; 4096 .. 2 GiB
                                            (record offsets are 32-bit),
                                            else chalk_open: CHALK_EINVAL */
    enum chalk_fsync fsync;              /* default CHALK_FSYNC_EVERYSEC */
    enum chalk_io    io;                 /* default CHALK_IO_AUTO */
    int              create_if_missing;  /* default 1 */
    int              repair;             /* default 0: open fails on
                                            corruption (see chalk_open);
                                            1: truncate there (logged),
                                            dropping every record after */
    double           compact_dead_ratio; /* start a background compaction
                                            when dead/total bytes of sealed
                                            segments exceeds this; default
                                            0.5; 0 disables */
    chalk_log_fn     log;                /* default: lines to stderr */
    void            *log_arg;
    const struct chalk_vfs *vfs;         /* test-only I/O layer (fault
                                            injection); NULL = the OS */
    int              mmap_reads;         /* default 1: read values of sealed
                                            segments through a read-only
                                            mmap (no syscall per read; an
                                            I/O error on a mapped page is a
                                            SIGBUS, as in LMDB); 0: pread */
} chalk_options;

/* Fill *opt with the defaults above. */
void chalk_options_init(chalk_options *opt);

/* ---- open / close ------------------------------------------------------ */
typedef struct chalk_db chalk_db;

/* Open (creating if allowed) the database in directory `dir`, take its
 * exclusive lock (flock on dir/LOCK), and recover: rebuild the indexes from
 * hint files plus the log after them, truncating a torn tail of the newest
 * segment (logged: how many bytes were dropped).
 * A torn tail is a bad record (or a batch without its commit record) in the
 * newest segment with NO record that verifies, and is newer, after it: what
 * a crash mid-append leaves. Anything else is corruption: a bad record in a
 * sealed segment, or one in the newest segment followed by valid records
 * (a bit flip, a sector lost in the middle of the log — or, after a power
 * loss, pages written back out of order: the engine cannot tell these
 * apart, and cutting could drop acknowledged writes, so it refuses).
 * Returns CHALK_OK and *out, or: CHALK_ELOCKED (another process holds the
 * directory), CHALK_ECORRUPT (corruption as above, message logged with file
 * and offset; pass repair=1 to truncate there, or run chalk-check),
 * CHALK_EVERSION, CHALK_EIO, CHALK_ENOMEM, CHALK_EINVAL (an option out of
 * range, e.g. segment_size < 4096; or dir is missing and create_if_missing
 * is 0, or is not a directory). On error *out is NULL. */
int chalk_open(const char *dir, const chalk_options *opt, chalk_db **out);

/* Flush and fsync everything written, wait for background work (fsync,
 * compaction), deliver every pending callback, release the lock and free the
 * handle. Returns CHALK_OK or the first I/O error met while flushing (the
 * handle is freed either way). */
int chalk_close(chalk_db *db);

/* ---- values ------------------------------------------------------------ */
typedef struct chalk_value {
    void    *data;          /* malloc'd, len bytes plus a NUL after them */
    size_t   len;
    int64_t  expire_at_ms;  /* absolute unix time in ms; 0 = no expiry */
} chalk_value;

void chalk_value_free(chalk_value *v);   /* frees data, zeroes *v; NULL ok */

/* ---- point operations -------------------------------------------------- */
/* All writes below are a one-operation batch submitted with chalk_write()
 * and no callback: they are visible to reads at once and made durable by the
 * fsync policy in the background. Use chalk_write()/chalk_write_sync() to
 * learn when they are durable.
 * expire_at_ms: absolute unix time in ms, 0 = never. A key whose time has
 * passed is invisible to every read (lazy expiry); it is removed from disk by
 * compaction and from memory by compaction, an overwrite, or the caller
 * deleting what chalk_expire_sample() reports. */

/* Returns CHALK_OK, CHALK_ETOOBIG, CHALK_EFAILED, CHALK_ENOMEM, CHALK_EIO,
 * CHALK_ENOSPC (the last two: a segment roll failed, see chalk_write). */
int chalk_put(chalk_db *db, const void *key, size_t klen,
              const void *val, size_t vlen, int64_t expire_at_ms);

/* Returns CHALK_OK and fills *out, or CHALK_ENOTFOUND, CHALK_EIO,
 * CHALK_ECORRUPT (the record's checksum failed: never served), CHALK_ENOMEM,
 * CHALK_EFAILED (the engine failed and the key's newest record belongs to a
 * batch that was never acknowledged: its value is not served). */
int chalk_get(chalk_db *db, const void *key, size_t klen, chalk_value *out);

/* Returns CHALK_OK (it existed and a tombstone was written) or
 * CHALK_ENOTFOUND (nothing written), or a write error as chalk_put. */
int chalk_delete(chalk_db *db, const void *key, size_t klen);

/* 1 if the key exists and has not expired, 0 if not. Never touches disk. */
int chalk_exists(chalk_db *db, const void *key, size_t klen);

/* The key's expiry without reading its value: CHALK_OK and *expire_at_ms (0
 * = none), or CHALK_ENOTFOUND. Never touches disk. */
int chalk_get_expiry(chalk_db *db, const void *key, size_t klen, int64_t *expire_at_ms);

/* ---- prepared keys ------------------------------------------------------
 * A key hashed once for a lookup and a write of the same key (a command
 * that reads a member, then writes it, in one batch). chalk_key_prepare
 * computes the key's hash and starts fetching its hash-index bucket into
 * the CPU cache, so that work the caller does between the two calls (the
 * server reads the collection's main record) overlaps that cache miss.
 * The chalk_key does not copy the key: its bytes must stay unchanged and
 * alive while the chalk_key is used (a batch copies them when put). A
 * chalk_key is valid for any chalk_db (the hash depends only on the bytes)
 * until the key's bytes change; it holds no engine state. */
typedef struct chalk_key {
    const void *key;        /* the key bytes (not copied) */
    size_t      klen;
    uint64_t    hash;       /* the engine's hash of them */
} chalk_key;

/* Fill *k for key (never fails; a key over CHALK_MAX_KEY_SIZE is simply
 * never found, and refused by the batch as CHALK_ETOOBIG). */
void chalk_key_prepare(chalk_db *db, chalk_key *k, const void *key, size_t klen);
/* As chalk_get / chalk_exists, with the hash of k. */
int chalk_get_prepared(chalk_db *db, const chalk_key *k, chalk_value *out);
int chalk_exists_prepared(chalk_db *db, const chalk_key *k);
/* A hint for a caller that prepared several keys in a row (the server, for
 * the keys of a pipeline): once their buckets have had time to arrive,
 * start loading the index entry each bucket leads to, so that the lookups'
 * cache misses overlap instead of coming one after another. Uses only
 * k->hash and k->klen (the key bytes may be gone); changes nothing. */
void chalk_key_prefetch_entry(chalk_db *db, const chalk_key *k);
/* The third step of the same hint, once the entries have had time to
 * arrive: start loading the key's record (its first cache line) when the
 * bucket's first entry has k's hash and the record can be read through a
 * mapping (options.mmap_reads, no test vfs). Uses only k->hash and
 * k->klen; reads no value bytes and changes nothing: an absent, expired or
 * just-moved key costs at most a wasted load. */
void chalk_key_prefetch_record(chalk_db *db, const chalk_key *k);

/* Number of live keys in the index (keys past their expiry that no read or
 * cycle has removed yet are counted, as Redis's DBSIZE counts them). */
uint64_t chalk_count(const chalk_db *db);

/* ---- write batches ----------------------------------------------------- */
/* A batch is several puts and deletes applied atomically: after a crash,
 * recovery applies the whole batch or none of it. */
typedef struct chalk_batch chalk_batch;

chalk_batch *chalk_batch_new(void);                  /* NULL on ENOMEM */
void   chalk_batch_free(chalk_batch *b);             /* NULL ok */
void   chalk_batch_clear(chalk_batch *b);            /* empty it for reuse */
size_t chalk_batch_count(const chalk_batch *b);      /* operations in it */
/* Both return CHALK_OK, CHALK_ETOOBIG or CHALK_ENOMEM. */
int chalk_batch_put(chalk_batch *b, const void *key, size_t klen,
                    const void *val, size_t vlen, int64_t expire_at_ms);
int chalk_batch_delete(chalk_batch *b, const void *key, size_t klen);
/* As chalk_batch_put, for a key prepared by chalk_key_prepare: the write
 * reuses its hash instead of hashing the key again. Same returns. */
int chalk_batch_put_prepared(chalk_batch *b, const chalk_key *k,
                             const void *val, size_t vlen, int64_t expire_at_ms);
/* As chalk_batch_put_prepared, for a key the caller KNOWS is absent when
 * this operation is applied: not in the database (an expired key that is
 * still indexed counts as present) and not put by an earlier operation of
 * the same batch (a delete of it earlier in the batch is fine). The write
 * then links a new entry without searching the hash index for the key.
 * If the key is there after all, the index holds two entries for it:
 * Debug builds assert, Release builds do not check. Same returns. */
int chalk_batch_put_absent(chalk_batch *b, const chalk_key *k,
                           const void *val, size_t vlen, int64_t expire_at_ms);
/* As chalk_batch_delete, for a key prepared by chalk_key_prepare: the
 * delete reuses k->hash instead of hashing the key again (a caller that
 * just read the key with chalk_get_prepared: LPOP's head item). The key
 * may or may not be present; a tombstone is written either way. Same
 * returns as chalk_batch_delete. */
int chalk_batch_delete_prepared(chalk_batch *b, const chalk_key *k);

/* Called once per chalk_write(), on the caller's thread, from chalk_poll(),
 * chalk_sync() or chalk_close(), when the batch is as durable as the fsync
 * policy promises (ALWAYS: an fdatasync covering it completed; EVERYSEC/NO:
 * it was handed to the OS with write()). status is CHALK_OK or the error
 * that made it fail (CHALK_EIO, CHALK_ENOSPC): a failed batch was never
 * acknowledged and the engine is then in the failed state. */
typedef void (*chalk_commit_cb)(void *arg, int status);

/* Apply batch b: the indexes change at once (later reads see it), and its
 * records are queued for the log as one unit. cb (may be NULL) learns when
 * it is durable. The batch is copied; b may be reused on return.
 * Returns CHALK_OK, or CHALK_EFAILED (an earlier durable write failed, or
 * the sync that seals the active segment before a roll failed: no further
 * writes until reopen), CHALK_EIO / CHALK_ENOSPC (the batch does not fit
 * in the active segment and creating the next one failed; the engine is not
 * in the failed state, and the next write tries the roll again),
 * CHALK_ETOOBIG, CHALK_ENOMEM. On error nothing was applied and cb is
 * never called. */
int chalk_write(chalk_db *db, const chalk_batch *b, chalk_commit_cb cb, void *arg);

/* chalk_write() then wait until the batch is durable per the policy.
 * Returns CHALK_OK or the error its callback would have received. */
int chalk_write_sync(chalk_db *db, const chalk_batch *b);

/* ---- group commit and the event loop ----------------------------------- */
/* Group commit, for a caller with an event loop (chalk-server):
 *   1. run commands; each write calls chalk_write(..., cb, reply)
 *   2. before sleeping, call chalk_flush(): everything queued since the last
 *      flush becomes one write (and, under ALWAYS, one fdatasync) issued in
 *      the background; the caller does not block
 *   3. poll chalk_event_fd() for readability along with the sockets; when it
 *      is readable call chalk_poll(), which runs the callbacks of batches
 *      that became durable (the server then sends the held replies).
 * A caller without a loop just uses chalk_write_sync() or chalk_sync(). */

/* A file descriptor that becomes readable when chalk_poll() has work to do.
 * Never close it; it stays valid until chalk_close(). */
int chalk_event_fd(chalk_db *db);

/* Submit every queued record to the log now (one group). Non-blocking.
 * Returns CHALK_OK or CHALK_EFAILED. */
int chalk_flush(chalk_db *db);

/* Deliver completions: run the callbacks of every batch that became durable
 * (or failed) since the last call; clears the event fd. Also runs periodic
 * work (EVERYSEC fsync bookkeeping, the compaction trigger). Returns the
 * number of callbacks run, or a negative error. */
int chalk_poll(chalk_db *db);

/* Flush, then block until everything written so far is durable (fdatasync,
 * whatever the policy) and every callback has run. Returns CHALK_OK or the
 * I/O error. */
int chalk_sync(chalk_db *db);

/* ---- ordered iteration, snapshots -------------------------------------- */
/* Iterators walk keys in byte order (memcmp, shorter first on a tie).
 * Expired keys are skipped. Without a snapshot an iterator sees the live
 * data: writes made while it is open may or may not be seen, but it never
 * crashes, never returns a key twice and never skips a key that existed
 * unchanged for its whole life. With a snapshot it sees exactly the data as
 * of chalk_snapshot_acquire(), whatever is written or compacted meanwhile. */
typedef struct chalk_iter chalk_iter;
typedef struct chalk_snapshot chalk_snapshot;

/* Returns CHALK_OK and *out, or CHALK_ENOMEM. Release before chalk_close. */
int  chalk_snapshot_acquire(chalk_db *db, chalk_snapshot **out);
void chalk_snapshot_release(chalk_db *db, chalk_snapshot *snap);

/* snap may be NULL (live view). Returns NULL on ENOMEM. The iterator starts
 * unpositioned: call a seek first. Free before chalk_close. */
chalk_iter *chalk_iter_new(chalk_db *db, const chalk_snapshot *snap);
void chalk_iter_free(chalk_iter *it);
void chalk_iter_seek_first(chalk_iter *it);
void chalk_iter_seek(chalk_iter *it, const void *key, size_t klen); /* first key >= key */
int  chalk_iter_valid(const chalk_iter *it);                        /* 1 while on a key */
void chalk_iter_next(chalk_iter *it);
/* The current key; valid until the next call on the iterator. */
const void *chalk_iter_key(const chalk_iter *it, size_t *klen);
int64_t chalk_iter_expiry(const chalk_iter *it);                     /* 0 = none */
/* Read the current value: CHALK_OK, CHALK_EIO or CHALK_ECORRUPT (both also
 * stop the iterator), CHALK_ENOMEM, CHALK_ENOTFOUND (live view only: the key
 * was deleted after the iterator stepped onto it), CHALK_EINVAL (not on a
 * key). */
int  chalk_iter_value(chalk_iter *it, chalk_value *out);
/* CHALK_OK, or the first error the iterator met (it then stops). */
int  chalk_iter_status(const chalk_iter *it);

/* ---- order statistics (rank) --------------------------------------------
 * The ordered index counts the keys under each of its inner nodes, so the
 * position of a key in byte order, and the key at a position, are one
 * descent: O(log n), not a walk. A rank counts the keys the index HOLDS,
 * and it may hold keys past their expiry that neither a read (lazy expiry)
 * nor chalk_expire_sample's caller (active expiry) has deleted yet: they
 * are invisible to chalk_get and to iterators but counted here. So:
 *   - a rank is exact over a range of keys none of which has expired (the
 *     server's sorted sets: sub-records never expire, composite.h);
 *   - chalk_rank(b) - chalk_rank(a) is the number of keys in [a, b) the
 *     index holds, expired or not, whatever lies outside that range. */

/* *rank = the number of keys that sort before key (memcmp order, shorter
 * first), expired ones included: key's 0-based position if it is there,
 * else where it would go. key may be NULL when klen is 0 (then 0).
 * O(log n), never touches disk. Returns CHALK_OK, or CHALK_EINVAL (rank
 * NULL, or key NULL with klen > 0). */
int chalk_rank(chalk_db *db, const void *key, size_t klen, uint64_t *rank);

/* Position a live iterator (snap NULL) on the key of 0-based rank `rank`,
 * counted as chalk_rank counts (expired keys included): afterwards
 * chalk_rank(chalk_iter_key(it)) == rank when that key has not expired; if
 * it has, the iterator moves on to the next visible key, as chalk_iter_seek
 * would. rank >= the number of keys: not valid (past the end). O(log n).
 * An iterator over a snapshot cannot seek by rank (the live counts do not
 * describe the snapshot): its status becomes CHALK_EINVAL and it stops. */
void chalk_iter_seek_rank(chalk_iter *it, uint64_t rank);

/* ---- hash-order scan (Redis SCAN's cursor) ------------------------------ */
/* Visit the keys of one or more hash-index buckets starting at `cursor`
 * (0 = start) and return the next cursor (0 = done, else below 2^48). The
 * cursor is a position in the hash space (buckets are picked by the hash's
 * top bits, so it only grows): a full scan returns every key that existed
 * for the whole scan at least once, even across a resize, and a key may be
 * returned twice. `count` is a hint of how many keys to visit. fn is called
 * for each key; the key pointer is valid only during the call. */
typedef void (*chalk_key_fn)(void *arg, const void *key, size_t klen, int64_t expire_at_ms);
uint64_t chalk_scan(chalk_db *db, uint64_t cursor, size_t count, chalk_key_fn fn, void *arg);

/* A uniformly-ish random live key copied into *out (out->data, out->len;
 * expire_at_ms set), or CHALK_ENOTFOUND when empty. For RANDOMKEY. */
int chalk_random_key(chalk_db *db, chalk_value *out);

/* ---- expiry ------------------------------------------------------------ */
/* Active expiry, Redis's sampling idea: look at up to `max_sample` keys that
 * carry an expiry and call fn for each one whose time is <= now_ms. The
 * engine does NOT delete them: the caller decides (the server deletes them
 * with a batch it also replicates; a replica never expires on its own
 * clock). Returns the number of expired keys found. */
int chalk_expire_sample(chalk_db *db, int64_t now_ms, size_t max_sample,
                        chalk_key_fn fn, void *arg);

/* ---- compaction, introspection, stats ---------------------------------- */
/* Start a background compaction of the sealed segments (merge live records
 * into new segments + hint files, swap them in, delete the old ones). Reads
 * and writes go on meanwhile; the swap happens in chalk_poll() (or
 * chalk_compact_wait()). An explicit call first seals the active segment if
 * it holds dead bytes (a roll: one fdatasync on the caller's thread and a
 * new segment file), so that overwrites of a small data set are reclaimed
 * too; the automatic trigger (compact_dead_ratio) looks at sealed segments
 * only and never rolls. Returns CHALK_OK (also when nothing is sealed yet),
 * CHALK_EBUSY if one is running or the previous one's old segments still
 * wait for a snapshot to be released, CHALK_EFAILED, CHALK_ENOMEM.
 * chalk_compact_wait() blocks until none is running, swaps it in, and
 * returns the result of the last one (CHALK_OK or its error; on error the
 * old segments are kept and nothing changed). */
int chalk_compact(chalk_db *db);
int chalk_compact_wait(chalk_db *db);
/* chalk_compact, or, if one is running (CHALK_EBUSY), remember the request
 * and start it from chalk_poll() once the running one is done (Redis's
 * BGSAVE SCHEDULE). Returns CHALK_OK (started), 1 (scheduled), or another
 * error of chalk_compact. */
int chalk_compact_schedule(chalk_db *db);

/* Where a key's newest record lives (DEBUG OBJECT, chalk-dump lessons). */
typedef struct chalk_location {
    uint32_t segment_id;    /* file NNNNNNNNNN.log in the data directory */
    uint64_t offset;        /* of the record's first byte */
    uint32_t record_size;   /* header + key + value + checksum, in bytes */
    uint32_t value_size;
} chalk_location;
/* CHALK_OK and *out, or CHALK_ENOTFOUND. */
int chalk_locate(chalk_db *db, const void *key, size_t klen, chalk_location *out);
/* As chalk_locate, with the hash of k (chalk_key_prepare): for a caller
 * that locates a key and then writes it with chalk_batch_put_prepared. */
int chalk_locate_prepared(chalk_db *db, const chalk_key *k, chalk_location *out);

typedef struct chalk_stats {
    uint64_t keys;                  /* live keys in the index */
    uint64_t keys_with_expiry;
    uint64_t segments;              /* segment files, active one included */
    uint64_t live_bytes;            /* bytes of records the index points at */
    uint64_t dead_bytes;            /* overwritten, deleted or expired */
    uint64_t user_bytes_written;    /* by chalk_write and friends */
    uint64_t compaction_bytes_written;
    double   write_amplification;   /* (user + compaction) / user */
    double   space_amplification;   /* (live + dead) / live */
    uint64_t compactions;           /* completed */
    uint64_t fsyncs;                /* fdatasync calls completed */
    uint64_t fsync_usec_total;      /* their summed latency */
    uint64_t fsync_usec_max;
    uint64_t last_recovery_usec;    /* how long the last open took */
    uint64_t recovery_truncated_bytes; /* torn tail dropped at the last open */
    uint64_t index_memory_bytes;    /* hash + ordered index */
    uint64_t rehash_in_progress;    /* 1 while the hash index is resizing */
    const char *io_path;            /* "io_uring" or "pwrite+fdatasync" */
    int      failed;                /* 1 after a durable write failed */
    uint64_t compaction_pause_usec_max; /* longest stall compaction caused on
                                           the caller's thread (its start scan
                                           or its index swap) */
    int      compaction_running;    /* 1 from chalk_compact until its swap
                                       is done (INFO rdb_bgsave_in_progress) */
    int      compaction_explicit;   /* 1 if the running one was asked for
                                       (chalk_compact, _schedule), 0 if the
                                       dead-ratio trigger started it */
    int      compaction_scheduled;  /* 1 while a chalk_compact_schedule
                                       request waits for the running one */
    int      compaction_last_status;/* CHALK_OK or the error of the last
                                       compaction that finished */
    int64_t  compaction_last_end_ms;/* unix ms when the last successful one
                                       finished; 0 = none since chalk_open
                                       (INFO rdb_last_save_time, LASTSAVE) */
} chalk_stats;
void chalk_stats_get(chalk_db *db, chalk_stats *out);

/* Change the fsync policy of an open engine (CONFIG SET appendfsync;
 * engine/policy.c). Non-blocking. Each batch keeps the promise of the
 * policy it was written under: batches not yet issued to the log follow the
 * stronger of the old and new policy (leaving ALWAYS, those already queued
 * are still fdatasync'ed before their callbacks run); from the return on,
 * every new batch follows `policy`. Entering ALWAYS also queues a background
 * fdatasync of what earlier policies left unsynced. A batch already handed
 * to the OS without a sync is never reported as fsync'ed.
 * Returns CHALK_OK (also when the policy is unchanged) or CHALK_EINVAL (not
 * a CHALK_FSYNC_* value; nothing changed). */
int chalk_set_fsync(chalk_db *db, enum chalk_fsync policy);

/* Group-commit pacing, for a caller that chooses when a group closes
 * (chalk-server under appendfsync always: it sends the replies of a group
 * that became durable and lets those clients write again BEFORE it issues
 * the next group; see server/group_commit.c). Such a caller calls
 * chalk_flush only when `inflight` is 0: a chalk_flush made while a group
 * is in flight asks the engine to issue the next group by itself, the
 * moment the current one completes. engine/policy.c. */
typedef struct chalk_commit_state {
    int      inflight;           /* 1 while a group is being written (and
                                    fdatasync'ed) in the background */
    size_t   pending_callbacks;  /* callbacks of batches queued for the next
                                    group, not yet issued */
    uint64_t fsync_usec_avg;     /* mean fdatasync latency so far; 0 = none */
} chalk_commit_state;
void chalk_commit_state_get(const chalk_db *db, chalk_commit_state *out);

/* ---- atomic groups (engine/txn.c) --------------------------------------- */
/* An atomic group makes several chalk_write() calls ONE batch in the log:
 * recovery applies all of them or none. Each write still changes the
 * indexes at once, so a write in the group sees the earlier ones (the
 * server runs MULTI/EXEC inside one group: INCR x; INCR x → 1, 2).
 * Callbacks of the group's writes fire after the whole group is durable.
 *
 * Rules while a group is open:
 *   - only chalk_write (and the point operations built on it), reads and
 *     iterators; chalk_flush and chalk_sync do not submit the group's bytes
 *     (they stay in memory until chalk_group_end); chalk_close ends the
 *     group (commits it) before it syncs and closes;
 *   - the active segment does not roll once the group holds a record: it
 *     may exceed segment_size by the group's size;
 *   - a group cannot be rolled back: there is no abort (use chalk_txn for
 *     that). A failed write inside the group leaves the earlier ones in it.
 *
 * chalk_group_begin: CHALK_OK, CHALK_EBUSY (a group is already open),
 * CHALK_EFAILED (the engine failed earlier).
 * chalk_group_end: the commit point, in memory: flags the group's last
 * record COMMIT. CHALK_OK, CHALK_EINVAL (no group open), or CHALK_EFAILED
 * (the engine failed during the group: the group was not committed and
 * recovery will drop it). Durability follows as for any write: pass a
 * callback to chalk_write or call chalk_sync after chalk_group_end. */
int chalk_group_begin(chalk_db *db);
int chalk_group_end(chalk_db *db);

/* Visit every operation of b in order: is_delete 1 for a delete, the key
 * pointer valid during the call only. (The server's WATCH uses it to learn
 * which keys a write touches.) */
typedef void (*chalk_batch_op_fn)(void *arg, int is_delete, const void *key, size_t klen);
void chalk_batch_foreach(const chalk_batch *b, chalk_batch_op_fn fn, void *arg);

/* ---- transactions (engine/txn.c) --------------------------------------- */
/* An optimistic, serializable read-write transaction for embedded use:
 *
 *   chalk_txn *t;
 *   chalk_txn_begin(db, &t);
 *   chalk_txn_get(t, "a", 1, &v);           // read; remembers a's version
 *   chalk_txn_put(t, "a", 1, "9", 1, 0);    // buffered in t, not in db
 *   chalk_txn_get(t, "a", 1, &v);           // sees "9": its own write
 *   rc = chalk_txn_commit(t, NULL, NULL);   // ONE batch, or CHALK_ECONFLICT
 *
 * Writes are buffered in the transaction; nobody else sees them until
 * commit, which writes them as ONE batch (all-or-nothing in recovery).
 * Reads see the transaction's own writes first, then the live database.
 * Conflict detection (optimistic, like WATCH): every key read through
 * chalk_txn_get is remembered with its version (the seq of its newest
 * record, or "absent"); commit fails with CHALK_ECONFLICT, writing nothing,
 * if any of them has a different version then (written, deleted, expired,
 * or created). Because the check and the write happen in one step on the
 * caller's thread, every committed transaction is serializable at its
 * commit. Keys only written (blind writes) are not checked. A transaction
 * that will fail may have read values from different moments (no snapshot):
 * act on them only after a successful commit.
 * Threading: like the handle, a transaction is used from the db's thread;
 * it must be committed or aborted before chalk_close. */
typedef struct chalk_txn chalk_txn;

/* CHALK_OK and *out, or CHALK_ENOMEM. */
int chalk_txn_begin(chalk_db *db, chalk_txn **out);

/* As chalk_get, but the transaction's own put/delete of key wins.
 * CHALK_OK and *out (free with chalk_value_free), CHALK_ENOTFOUND, and the
 * errors of chalk_get; CHALK_ENOMEM if the read could not be remembered. */
int chalk_txn_get(chalk_txn *t, const void *key, size_t klen, chalk_value *out);

/* Buffer a put / a delete (a delete of a missing key is not an error).
 * CHALK_OK, CHALK_ETOOBIG, CHALK_ENOMEM. Nothing reaches the db before
 * chalk_txn_commit. */
int chalk_txn_put(chalk_txn *t, const void *key, size_t klen,
                  const void *val, size_t vlen, int64_t expire_at_ms);
int chalk_txn_delete(chalk_txn *t, const void *key, size_t klen);

/* Validate the reads, then chalk_write() the buffered writes as one batch
 * with cb/arg (see chalk_write; cb is not called on error). Frees t,
 * whatever the result. CHALK_OK, CHALK_ECONFLICT (nothing written), or the
 * errors of chalk_write. */
int chalk_txn_commit(chalk_txn *t, chalk_commit_cb cb, void *arg);

/* Drop the transaction and its buffered writes. NULL ok. */
void chalk_txn_abort(chalk_txn *t);

/* ---- the test-only I/O layer ------------------------------------------- */
/* When chalk_options.vfs is set, the engine performs every file operation
 * that changes the disk through it, so tests can inject faults (drop
 * unsynced bytes, fail the Nth write or fsync with EIO or ENOSPC, crash at a
 * step of compaction). Each function returns what the POSIX call would
 * (>= 0) or -errno. Defined in engine/vfs.h. */
struct chalk_vfs;

#ifdef __cplusplus
}
#endif
#endif /* CHALK_ENGINE_H */
