/*
 * db.h — the engine's internal state (struct chalk_db) and the helpers the
 * engine's files share. Not installed: the public contract is
 * include/chalk/engine.h.
 *
 * Files, in reading order:
 *   record.c      the bytes of a record and of a segment header
 *   segment.c     segment files: names, creation, a verified reader
 *   log.c         group commit (log_uring.c, log_psync.c: the two backends)
 *   db.c          open / close / poll / stats: the handle's life
 *   write.c       batches and the write path
 *   read.c        the read path
 *   keyspace.c    one key's entry in both indexes, the segment table, the
 *                 expiry set, snapshot preservation
 *   recover.c     rebuilding the indexes at open
 *   iter.c        ordered iteration, snapshots, SCAN, RANDOMKEY, expiry sampling
 *   compaction.c  merging sealed segments; hint.c their hint files
 *
 * Threading: everything here belongs to the caller's thread, except what the
 * log backend and the compaction thread touch, which is named in log.h and
 * compaction.c.
 */
#ifndef CHALK_DB_H
#define CHALK_DB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "chalk/engine.h"
#include "index.h"
#include "log.h"
#include "record.h"
#include "txn.h"

struct seg_info {
    uint32_t id;
    int      rfd;              /* O_RDONLY, for preads of values */
    uint64_t size;             /* bytes in the file (active: log.tail) */
    uint64_t live_bytes;       /* bytes of records the index points at */
    uint32_t flags;            /* SEG_F_MERGED */
    int      doomed;           /* compacted away; unlinked once no snapshot needs it */
    uint64_t seq_lo, seq_hi;   /* lowest / highest seq of its records, 0 = not known:
                                  exact for merged outputs (compaction.c, recovery);
                                  a log segment's seq_lo is read from its first
                                  record when a compaction needs it, and its seq_hi
                                  may stay 0 (bounded by the next log segment's
                                  seq_lo: seqs grow along the log) */
    const uint8_t *map;        /* read-only mapping of a sealed segment, or NULL */
    size_t   map_len;
};

/* Sorted by id. Invariants (seg_table_check_invariants):
 *   1. ids strictly increase;
 *   2. live_bytes <= size - SEG_HEADER_SIZE for every segment;
 *   3. exactly one segment is the log's active one, and it is not merged. */
struct seg_table {
    struct seg_info *v;
    size_t n, cap;
};

/* Keys that carry an expiry, for random sampling: entry->expire_slot is its
 * index here plus one (0 = not in the set). */
struct expiry_set {
    idx_entry **v;
    size_t n, cap;
};

struct chalk_snapshot {
    uint64_t seq;              /* sees batches with seq <= this */
    oidx    *saved;            /* versions overwritten or deleted since */
    struct chalk_snapshot *next;
};

struct compaction;             /* compaction.c */
struct unlink_job;             /* compaction.c */

struct chalk_db {
    char          *dir;
    chalk_options  opt;
    const struct chalk_vfs *vfs;
    int            lock_fd;
    hidx          *h;
    oidx          *o;
    struct seg_table segs;
    struct log     log;
    uint64_t       next_seq;
    _Atomic uint32_t next_seg_id;   /* also taken by the compaction thread */
    struct expiry_set exp;
    struct chalk_snapshot *snaps;
    uint64_t       rng;
    int            epfd;       /* chalk_event_fd: log efd + timer + compaction */
    int            tfd;        /* timerfd, 1 Hz: EVERYSEC and the compaction trigger */
    uint64_t       next_tick_usec;  /* tfd's next expiry (log_now_usec's clock):
                                       chalk_poll reads tfd only from then on */
    struct compaction *comp;
    uint64_t       entry_bytes;          /* malloc'd bytes of idx_entry */
    uint64_t       user_bytes;
    uint64_t       compaction_bytes;
    uint64_t       compactions;
    uint64_t       compact_pause_usec_max;
    uint64_t       recovery_usec;
    uint64_t       truncated_bytes;
    uint64_t       last_everysec_usec;
    struct db_group group;     /* txn.c: the open atomic group, if any */
    struct unlink_job *unlink_job;      /* compaction.c: deleting old segments */
    int            compact_error;       /* a compaction's old segments could not
                                           be deleted: no more until reopen */
    pthread_t      unlink_thread;
};

/* ---- logging ----------------------------------------------------------- */
void db_logf(chalk_db *db, enum chalk_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int64_t db_now_ms(void);
uint64_t db_rand64(chalk_db *db);

/* ---- keyspace.c: the segment table ------------------------------------- */
struct seg_info *seg_table_find(struct seg_table *t, uint32_t id);
int  seg_table_add(struct seg_table *t, uint32_t id, int rfd, uint64_t size, uint32_t flags);
void seg_table_remove(struct seg_table *t, uint32_t id);   /* closes rfd, unmaps */
/* Map sealed segment `id` for reads if options.mmap_reads (keyspace.c).
 * A segment is mapped only once it can no longer change. Failure is not an
 * error: reads then use pread. */
void seg_table_map(chalk_db *db, uint32_t id);
int  seg_table_check_invariants(const chalk_db *db);
uint64_t db_total_record_bytes(const chalk_db *db);
uint64_t db_live_bytes(const chalk_db *db);

/* ---- keyspace.c: one key in both indexes -------------------------------- */
idx_entry *db_entry_new(chalk_db *db, const void *key, size_t klen, uint64_t hash);
void db_entry_free(chalk_db *db, idx_entry *e);
/* Point key at a new record (creating its entry). 0 or CHALK_ENOMEM.
 * absent: the caller knows the key has no entry (chalk_batch_put_absent):
 * it is linked without searching for it. */
int  db_index_put(chalk_db *db, const void *key, size_t klen, uint64_t hash, uint64_t seq,
                  uint32_t seg, uint32_t off, uint32_t size, int64_t expire_at_ms, int absent);
/* Remove key; 1 if it was there, 0 if not. */
int  db_index_delete(chalk_db *db, const void *key, size_t klen, uint64_t hash);
void db_expiry_update(chalk_db *db, idx_entry *e, int64_t expire_at_ms);
/* Before e changes or goes: give each snapshot that can see it a copy. */
void db_snapshot_preserve(chalk_db *db, const idx_entry *e);
static inline int db_expired(const idx_entry *e, int64_t now_ms)
{
    return e->expire_at_ms != 0 && e->expire_at_ms <= now_ms;
}
/* db_expired at the present time; the clock is read only for an entry
 * with an expiry (most have none: a clock read per lookup was ~1.4% of
 * the server's LPUSH). */
static inline int db_expired_now(const idx_entry *e)
{
    return e->expire_at_ms != 0 && e->expire_at_ms <= db_now_ms();
}

/* Check the engine's numbered invariants (keyspace.c) and those of each
 * structure: 0, or 1-3 (engine), 1xx hidx, 2xx oidx, 3xx segment table,
 * 4xx log. O(keys): for tests and debugging. */
int  db_check_invariants(chalk_db *db);

/* ---- read.c ------------------------------------------------------------ */
/* Read and verify the record at (seg, off, size): *buf is malloc'd and
 * holds at least the value plus one byte (the whole record when read with
 * pread, only the value from a mapped segment); rv describes the record.
 * 0, CHALK_EIO, CHALK_ECORRUPT, CHALK_ENOMEM. */
int  db_read_record(chalk_db *db, uint32_t seg, uint64_t off, uint32_t size,
                    uint8_t **buf, struct record_view *rv);
/* Fill a chalk_value from a read record (takes ownership of buf). */
void db_value_from_record(uint8_t *buf, const struct record_view *rv, chalk_value *out);

/* ---- write.c ----------------------------------------------------------- */
int  db_roll(chalk_db *db);
int  db_check_writable(const chalk_db *db);

/* ---- recover.c, compaction.c, hint.c ----------------------------------- */
int  db_recover(chalk_db *db);
void compaction_poll(chalk_db *db);    /* swap a finished merge in; trigger */
void compaction_shutdown(chalk_db *db);
void compaction_stats(const chalk_db *db, chalk_stats *out); /* running, scheduled, last status */
/* Delete the doomed segments if no snapshot needs them: in a background
 * thread, or right here with wait=1. db_unlink_join waits for that thread. */
void db_unlink_doomed(chalk_db *db, int wait);
void db_unlink_join(chalk_db *db);
int  recover_finish_compaction(chalk_db *db);   /* a committed manifest's step 7 */

#endif /* CHALK_DB_H */
