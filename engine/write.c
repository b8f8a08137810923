/*
 * write.c — the write path: a batch becomes records at the log's tail, the
 * indexes change at once, and the batch's callback waits for group commit.
 *
 *   chalk_write(b)
 *     1. refuse if the engine failed (CHALK_EFAILED) or a size is too big
 *     2. roll to a new segment if the batch does not fit (db_roll)
 *     3. reserve the batch's bytes in the pending group (log_append)
 *     4. encode its records: one seq, COMMIT flag on the last (record.c)
 *     5. point the indexes at them (db_index_put / db_index_delete)
 *     6. queue the callback; auto-flush a large pending group
 *   chalk_write_sync, alone: 1-6, then write + fdatasync on the caller's
 *   thread (write_sync_inline); with a group in flight or pending: 4,
 *   submits the group with its fdatasync, then 5 while the disk works
 *   (write_sync_overlapped).
 *
 * The one idea: the index is updated BEFORE the bytes reach the disk, so a
 * read right after a write sees it (served from the pending buffer by
 * log_read_memory) while durability is confirmed separately, through the
 * callback. The server must not reply before the callback under ALWAYS.
 *
 * Left out on purpose: writing a tombstone only when the key exists inside
 * a batch (chalk_batch_delete always writes one: a batch cannot know what
 * the keyspace will hold when it is applied). Cost: a few dead bytes.
 *
 * @interview(db.crud): How do create, update and delete work in a
 * log-structured KV store? All three are appends: a PUT record for create
 * and update (the index then points at the newest one, the old record
 * becomes dead bytes) and a DELETE tombstone for delete (needed so that
 * recovery does not resurrect the key from an older record). Read is one
 * hash lookup and one pread.
 */
#include <assert.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "segment.h"
#include "vfs.h"

#define AUTOFLUSH_BYTES   (1u << 20)    /* submit a group on its own past this */
#define BACKPRESSURE_BYTES (64u << 20)  /* wait for the disk past this */

struct batch_op {
    uint8_t  kind;             /* REC_PUT / REC_DELETE */
    uint8_t  hashed;           /* 1: hash is idx_hash(key), given by the caller */
    uint8_t  absent;           /* 1: the caller knows the key is absent (put_absent) */
    uint32_t klen, vlen;
    uint64_t hash;             /* see hashed (chalk_batch_put_prepared) */
    int64_t  expire_at_ms;
    size_t   data_off;         /* key then value, in chalk_batch.data */
};

struct chalk_batch {
    struct batch_op *ops;
    size_t   n, cap;
    uint8_t *data;
    size_t   dlen, dcap;
    uint64_t bytes;            /* sum of record sizes */
};

chalk_batch *chalk_batch_new(void) { return calloc(1, sizeof(chalk_batch)); }

void chalk_batch_free(chalk_batch *b)
{
    if (!b) return;
    free(b->ops);
    free(b->data);
    free(b);
}

void chalk_batch_clear(chalk_batch *b) { b->n = b->dlen = 0; b->bytes = 0; }
size_t chalk_batch_count(const chalk_batch *b) { return b->n; }

/* hash: the key's idx_hash when the caller has it (a chalk_key), else NULL.
 * absent: chalk_batch_put_absent's promise. */
static int batch_add(chalk_batch *b, uint8_t kind, const void *key, size_t klen,
                     const void *val, size_t vlen, int64_t expire_at_ms, const uint64_t *hash,
                     uint8_t absent)
{
    if (klen > CHALK_MAX_KEY_SIZE || vlen > CHALK_MAX_VALUE_SIZE) return CHALK_ETOOBIG;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 8;
        struct batch_op *n = realloc(b->ops, cap * sizeof *n);
        if (!n) return CHALK_ENOMEM;
        b->ops = n;
        b->cap = cap;
    }
    if (b->dlen + klen + vlen > b->dcap) {
        size_t cap = b->dcap ? b->dcap : 256;
        while (cap < b->dlen + klen + vlen) cap *= 2;
        uint8_t *n = realloc(b->data, cap);
        if (!n) return CHALK_ENOMEM;
        b->data = n;
        b->dcap = cap;
    }
    b->ops[b->n++] = (struct batch_op){ .kind = kind, .hashed = hash != NULL, .absent = absent,
                                        .klen = (uint32_t)klen, .vlen = (uint32_t)vlen,
                                        .hash = hash ? *hash : 0,
                                        .expire_at_ms = expire_at_ms, .data_off = b->dlen };
    if (klen) memcpy(b->data + b->dlen, key, klen);
    if (vlen) memcpy(b->data + b->dlen + klen, val, vlen);
    b->dlen += klen + vlen;
    b->bytes += record_size(klen, vlen);
    return 0;
}

int chalk_batch_put(chalk_batch *b, const void *key, size_t klen,
                    const void *val, size_t vlen, int64_t expire_at_ms)
{
    return batch_add(b, REC_PUT, key, klen, val, vlen, expire_at_ms, NULL, 0);
}

int chalk_batch_put_prepared(chalk_batch *b, const chalk_key *k,
                             const void *val, size_t vlen, int64_t expire_at_ms)
{
    return batch_add(b, REC_PUT, k->key, k->klen, val, vlen, expire_at_ms, &k->hash, 0);
}

int chalk_batch_put_absent(chalk_batch *b, const chalk_key *k,
                           const void *val, size_t vlen, int64_t expire_at_ms)
{
    return batch_add(b, REC_PUT, k->key, k->klen, val, vlen, expire_at_ms, &k->hash, 1);
}

int chalk_batch_delete(chalk_batch *b, const void *key, size_t klen)
{
    return batch_add(b, REC_DELETE, key, klen, NULL, 0, 0, NULL, 0);
}

int chalk_batch_delete_prepared(chalk_batch *b, const chalk_key *k)
{
    return batch_add(b, REC_DELETE, k->key, k->klen, NULL, 0, 0, &k->hash, 0);
}

int db_check_writable(const chalk_db *db)
{
    return db->log.failed ? CHALK_EFAILED : 0;
}

/* Seal the active segment and start the next one. Blocking on purpose, once
 * per segment_size bytes: the sealed segment's last group is written and
 * fdatasync'ed BEFORE the new file exists, whatever the fsync policy, so
 * that only the newest segment can ever have a torn tail (recovery's rule:
 * a bad record in a sealed segment is corruption, never a crash). */
int db_roll(chalk_db *db)
{
    char path[SEG_PATH_MAX];
    if (log_request_sync(&db->log) != 0) return CHALK_ENOMEM;
    log_drain(&db->log);
    if (db->log.failed || log_trim(&db->log) != 0) return CHALK_EFAILED;   /* no zero tail sealed */
    struct seg_info *old = seg_table_find(&db->segs, db->log.seg_id);
    if (old) old->size = db->log.tail;
    uint32_t id = atomic_fetch_add(&db->next_seg_id, 1);
    int wfd, rc = seg_create(db->vfs, db->dir, id, ".log", 0, &wfd);
    if (rc) return rc;
    seg_path(path, sizeof path, db->dir, id, ".log");
    int rfd = open(path, O_RDONLY | O_CLOEXEC);
    if (rfd < 0 || seg_table_add(&db->segs, id, rfd, SEG_HEADER_SIZE, 0) != 0) {
        if (rfd >= 0) close(rfd);
        db->vfs->close(db->vfs->ctx, wfd);
        return CHALK_EIO;
    }
    uint32_t sealed = db->log.seg_id;
    log_set_active(&db->log, id, wfd, SEG_HEADER_SIZE);
    seg_table_map(db, sealed);          /* written and synced above: final */
    db_logf(db, CHALK_LOG_DEBUG, "rolled to segment %010u", id);
    return 0;
}

/* Step 4: encode every record of b at p. */
static void encode_batch(const chalk_db *db, const chalk_batch *b, uint8_t *p, uint64_t seq)
{
    for (size_t i = 0; i < b->n; i++) {
        const struct batch_op *op = &b->ops[i];
        const uint8_t *key = b->data + op->data_off;
        /* In an atomic group, chalk_group_end flags the group's last record. */
        uint8_t flags = i + 1 == b->n && !db->group.open ? REC_F_COMMIT : 0;
        p += record_encode(p, op->kind, flags, seq, op->expire_at_ms, key, op->klen,
                           key + op->klen, op->vlen);
    }
}

/* Step 5 reads one random hash bucket per key: a cache miss each at a
 * million keys. The keys are known before they are indexed, so their
 * hashes are computed and their buckets prefetched HASH_AHEAD keys ahead
 * (a batch), and for the first keys before step 4 encodes the records (a
 * single put: the miss overlaps the encoding and its checksum). */
#define HASH_AHEAD 4

struct hash_ring {
    uint64_t h[HASH_AHEAD];
    size_t   next;             /* ops [0, next) are hashed and prefetched */
};

static void hash_ahead(chalk_db *db, const chalk_batch *b, struct hash_ring *r, size_t upto)
{
    for (; r->next < upto && r->next < b->n; r->next++) {
        const struct batch_op *op = &b->ops[r->next];
        /* A prepared key's hash was computed once, by chalk_key_prepare. */
        uint64_t h = op->hashed ? op->hash : idx_hash(b->data + op->data_off, op->klen);
        assert(!op->hashed || op->hash == idx_hash(b->data + op->data_off, op->klen));
        r->h[r->next % HASH_AHEAD] = h;
        hidx_prefetch(db->h, h);
    }
}

/* Step 5: point the indexes at the records encode_batch laid out from file
 * offset off (record_size gives each one's place without reading them).
 * r: from hash_ahead(db, b, r, HASH_AHEAD), called before step 4. */
static int index_batch(chalk_db *db, const chalk_batch *b, uint64_t off, uint64_t seq,
                       struct hash_ring *r)
{
    for (size_t i = 0; i < b->n; i++) {
        const struct batch_op *op = &b->ops[i];
        const uint8_t *key = b->data + op->data_off;
        uint32_t sz = (uint32_t)record_size(op->klen, op->vlen);
        uint64_t hash = r->h[i % HASH_AHEAD];
        hash_ahead(db, b, r, i + 1 + HASH_AHEAD);   /* overwrites slot i: read above */
        int rc = 0;
        if (op->kind == REC_PUT)
            rc = db_index_put(db, key, op->klen, hash, seq, db->log.seg_id, (uint32_t)off,
                              sz, op->expire_at_ms, op->absent);
        else
            db_index_delete(db, key, op->klen, hash);
        if (rc) return rc;
        off += sz;
    }
    return 0;
}

/* Steps 1 and 2: refuse or roll. */
static int write_prepare(chalk_db *db, const chalk_batch *b)
{
    int rc = db_check_writable(db);
    if (rc) return rc;
    if (b->bytes > UINT32_MAX - SEG_HEADER_SIZE) return CHALK_ETOOBIG;
    if (b->bytes && db->log.tail > SEG_HEADER_SIZE &&
        db->log.tail + b->bytes > db->opt.segment_size && !db->group.last_bytes) {
        rc = db_roll(db);   /* a batch never spans two segments */
        if (rc) return rc;
    }
    /* An atomic group with records cannot roll (txn.h): offsets are u32. */
    if (db->log.tail + b->bytes > UINT32_MAX) return CHALK_ETOOBIG;
    return 0;
}

int chalk_write(chalk_db *db, const chalk_batch *b, chalk_commit_cb cb, void *arg)
{
    int rc = write_prepare(db, b);
    if (rc) return rc;
    /* Reserve the callback's slot first so that nothing can fail once the
     * batch is applied ("on error nothing was applied"). */
    if (cb && log_reserve_callback(&db->log) != 0) return CHALK_ENOMEM;
    if (b->n) {
        uint64_t off;
        uint8_t *p = log_append(&db->log, (size_t)b->bytes, &off);
        if (!p) return CHALK_ENOMEM;
        /* An ENOMEM while indexing leaves the log and the index disagreeing;
         * the only honest state after that is "failed" (reopen recovers). */
        uint64_t seq = db->group.open ? db->group.seq : db->next_seq;
        struct hash_ring r = { .next = 0 };
        hash_ahead(db, b, &r, HASH_AHEAD);
        encode_batch(db, b, p, seq);
        if (index_batch(db, b, off, seq, &r) != 0) {
            db->log.failed = CHALK_ENOMEM;
            return CHALK_ENOMEM;
        }
        if (db->group.open) {          /* txn.c: where its last record is */
            db->group.last_off = off;
            db->group.last_bytes = b->bytes;
        } else {
            db->next_seq++;
        }
        db->user_bytes += b->bytes;
    }
    if (cb) log_add_callback(&db->log, cb, arg);   /* slot reserved above */
    if (log_pending_bytes(&db->log) >= AUTOFLUSH_BYTES) {
        log_reap(&db->log);
        if (db->log.inflight && log_pending_bytes(&db->log) >= BACKPRESSURE_BYTES)
            log_drain(&db->log);
        log_flush(&db->log);
    }
    return 0;
}

static void sync_cb(void *arg, int status) { *(int *)arg = status; }

/* chalk_write_sync's path when other groups are in flight or pending (see
 * chalk_write_sync): the disk and the CPU work at the same time.
 * The batch is encoded (step 4) and its group handed to the backend with
 * its fdatasync at once; the indexes are updated (step 5) while the write
 * and fdatasync run; then we wait. A durable batch thus costs about
 * max(index update, write + fdatasync) instead of their sum: for 100 keys
 * of 16 + 100 bytes the index update measured 50–90 µs here, against
 * ~150 µs for a fast fdatasync, and with io_uring the batch took 17–22 %
 * less time than doing both in turn (docs/engine.md, "Performance"). Safe
 * because nothing can read between submission and indexing (one thread),
 * and the records do not depend on the index. The cost is a hand-off (two
 * wake-ups) that log_sync_inline avoids: on a heavily loaded machine it
 * can eat the gain, and with the thread backend it measured even. */
static int write_sync_overlapped(chalk_db *db, const chalk_batch *b)
{
    int status = 1;   /* not yet called */
    int rc = write_prepare(db, b);
    if (rc) return rc;
    if (log_reserve_callback(&db->log) != 0) return CHALK_ENOMEM;
    uint64_t off, seq = db->next_seq;
    uint8_t *p = log_append(&db->log, (size_t)b->bytes, &off);
    if (!p) return CHALK_ENOMEM;
    struct hash_ring r = { .next = 0 };
    hash_ahead(db, b, &r, HASH_AHEAD);
    encode_batch(db, b, p, seq);
    log_add_callback(&db->log, sync_cb, &status);
    int submitted = log_request_sync(&db->log);   /* pending exists: no allocation */
    assert(submitted == 0);
    (void)submitted;
    rc = index_batch(db, b, off, seq, &r);
    if (rc) db->log.failed = CHALK_ENOMEM;       /* as in chalk_write */
    db->next_seq++;
    db->user_bytes += b->bytes;
    log_drain(&db->log);                          /* status lives on this stack */
    log_run_callbacks(&db->log);
    if (rc) return rc;
    return status == 1 ? (db->log.failed ? db->log.failed : CHALK_EIO) : status;
}

/* The plain path: chalk_write, then chalk_sync's write + fdatasync on this
 * thread (log_sync_inline). */
static int write_sync_inline(chalk_db *db, const chalk_batch *b)
{
    int status = 1;
    int rc = chalk_write(db, b, sync_cb, &status);
    if (rc) return rc;
    rc = chalk_sync(db);
    return status == 1 ? rc : status;
}

/* Which path a durable batch takes (docs/engine-durability.md, "One
 * durable batch on the caller's thread").
 *
 * A LONE synchronous writer (nothing in flight, nothing
 * pending: no group another caller is waiting on) appends and fdatasyncs on
 * its own thread, as LevelDB does: it waits anyway, and a hand-off only adds
 * latency. io_uring punts every FSYNC to an io-wq kernel worker and the
 * thread backend wakes its own thread, so either way the overlapped path
 * pays a thread hop and a wake-up back; measured (bench/engine_bench, one
 * writer, batches of 100, always): the hop costs more than the index
 * update it overlaps. The index is updated first, then log_sync_inline writes
 * and fdatasyncs the group (prezero and short writes as for any group), so
 * the error semantics are the group path's: a failed write or fdatasync
 * fails this batch and the engine (group_finished, never retried).
 *
 * Anything in flight or pending (the server's async group commit, held
 * replies waiting on it): the overlapped path, unchanged, so other callers'
 * groups keep their order and share the fdatasync. The policy does not
 * matter: chalk_write_sync fdatasyncs under every policy. */
int chalk_write_sync(chalk_db *db, const chalk_batch *b)
{
    /* An open atomic group keeps its bytes in memory, and an empty batch
     * has nothing to overlap: the plain path. */
    if (db->group.open || b->n == 0 || db->log.hold) return write_sync_inline(db, b);
    log_reap(&db->log);   /* a finished group no longer counts as in flight */
    if (!db->log.inflight && !db->log.pending) return write_sync_inline(db, b);
    return write_sync_overlapped(db, b);
}

/* ---- one-operation batches --------------------------------------------- */

static int write_one(chalk_db *db, uint8_t kind, const void *key, size_t klen,
                     const void *val, size_t vlen, int64_t expire_at_ms)
{
    /* A stack batch with no copy of the bytes beyond the record itself. */
    struct batch_op op = { .kind = kind, .klen = (uint32_t)klen, .vlen = (uint32_t)vlen,
                           .expire_at_ms = expire_at_ms, .data_off = 0 };
    uint8_t small[256];
    uint8_t *data = klen + vlen <= sizeof small ? small : malloc(klen + vlen);
    if (!data) return CHALK_ENOMEM;
    if (klen) memcpy(data, key, klen);
    if (vlen) memcpy(data + klen, val, vlen);
    chalk_batch b = { .ops = &op, .n = 1, .cap = 1, .data = data, .dlen = klen + vlen,
                      .dcap = klen + vlen, .bytes = record_size(klen, vlen) };
    int rc = chalk_write(db, &b, NULL, NULL);
    if (data != small) free(data);
    return rc;
}

int chalk_put(chalk_db *db, const void *key, size_t klen,
              const void *val, size_t vlen, int64_t expire_at_ms)
{
    if (klen > CHALK_MAX_KEY_SIZE || vlen > CHALK_MAX_VALUE_SIZE) return CHALK_ETOOBIG;
    return write_one(db, REC_PUT, key, klen, val, vlen, expire_at_ms);
}

int chalk_delete(chalk_db *db, const void *key, size_t klen)
{
    if (klen > CHALK_MAX_KEY_SIZE) return CHALK_ETOOBIG;
    idx_entry *e = hidx_find(db->h, idx_hash(key, klen), key, klen);
    if (!e) return CHALK_ENOTFOUND;
    int expired = db_expired_now(e);   /* e is freed by the write */
    int rc = write_one(db, REC_DELETE, key, klen, NULL, 0, 0);
    if (rc) return rc;
    return expired ? CHALK_ENOTFOUND : CHALK_OK;
}

/* The server's WATCH hook: every key a batch writes (chalk_batch_foreach). */
void chalk_batch_foreach(const chalk_batch *b, chalk_batch_op_fn fn, void *arg)
{
    for (size_t i = 0; i < b->n; i++)
        fn(arg, b->ops[i].kind == REC_DELETE, b->data + b->ops[i].data_off, b->ops[i].klen);
}
