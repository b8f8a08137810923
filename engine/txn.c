/*
 * txn.c — atomicity across several writes: the atomic group the server's
 * EXEC runs in (chalk_group_begin / chalk_group_end), and the embedded
 * optimistic transaction (chalk_txn_*).
 *
 * The one idea: the log already makes ONE batch all-or-nothing (every
 * record carries the batch's seq, only the last is flagged COMMIT, and
 * recovery applies a run of records only when it reaches that flag:
 * record.c). Both features here reduce "many writes" to "one batch":
 *
 *   - a GROUP stretches one batch over several chalk_write calls: same seq,
 *     no COMMIT flag until chalk_group_end sets it on the last record. The
 *     indexes change at each write, so later commands of an EXEC see the
 *     earlier ones (INCR x; INCR x → 1, 2) without any overlay; and the log
 *     holds the group's bytes in memory (log.hold) until the flag is set.
 *   - a TXN buffers its writes in memory and writes them with one
 *     chalk_write at commit, after checking that nothing it read changed.
 *
 * Group state machine (db->group.open, txn.h):
 *
 *     closed ──chalk_group_begin()──▶ open ──chalk_write()──▶ open (records)
 *       ▲                                                      │
 *       └─────────────── chalk_group_end(): flag COMMIT ◀──────┘
 *
 * Left out on purpose: rolling a group back (Redis's EXEC never rolls back,
 * see docs/transactions.md; undoing index changes would need an undo log of
 * every overwritten entry). Cost: a failed write in the middle of a group
 * leaves the earlier ones applied — exactly Redis's EXEC semantics. For the
 * txn: no snapshot reads (reads see the live db; validation at commit
 * rejects what changed), no range reads (so no phantom problem to solve),
 * and a linear search of the write set (a real engine indexes it, e.g.
 * RocksDB's WriteBatchWithIndex). Cost: O(writes) per read in a txn.
 *
 * @interview(tx.acid): What does each ACID letter mean in Chalk, and which
 * code guarantees it? A: a group or txn is one log batch and recovery
 * applies a batch only at its COMMIT record (chalk_group_end sets it,
 * scan_segment in recover.c checks it). C: the application's invariants
 * hold because A and I do (a transfer's two writes land together, from a
 * state nobody else changed: chalk_txn_commit's validation or WATCH). I:
 * one thread executes everything, so a group or a txn commit never
 * interleaves with another writer. D: under CHALK_FSYNC_ALWAYS a batch's
 * callback (the server's held reply) fires only after the fdatasync
 * covering its COMMIT record (log.c).
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

/* ---- the atomic group -------------------------------------------------- */

int chalk_group_begin(chalk_db *db)
{
    if (db->group.open) return CHALK_EBUSY;
    int rc = db_check_writable(db);
    if (rc) return rc;
    /* One seq for the whole group, reserved now so that a snapshot taken
     * inside the group (seq = next_seq - 1) sees the group's writes. */
    db->group = (struct db_group){ .open = 1, .seq = db->next_seq++ };
    db->log.hold = 1;
    return 0;
}

/* The group's last record: walk the records of its last batch (all still in
 * the pending buffer: log.hold kept it there). */
static uint8_t *group_last_record(chalk_db *db, const struct db_group *grp, size_t *size)
{
    struct log_group *g = db->log.pending;
    struct record_view rv;
    assert(g && grp->last_off >= g->off && grp->last_off + grp->last_bytes <= g->off + g->len);
    uint8_t *p = g->buf + (grp->last_off - g->off);
    uint8_t *end = p + grp->last_bytes;
    for (;;) {
        int64_t sz = record_decode_header(p, (size_t)(end - p), &rv);
        assert(sz > 0 && p + sz <= end);
        if (p + sz == end) { *size = (size_t)sz; return p; }
        p += sz;
    }
}

int chalk_group_end(chalk_db *db)
{
    if (!db->group.open) return CHALK_EINVAL;
    struct db_group grp = db->group;
    db->group = (struct db_group){ 0 };
    db->log.hold = 0;
    if (grp.last_bytes == 0) return db_check_writable(db);   /* empty group */
    if (db->log.failed) return CHALK_EFAILED;   /* never committed: dropped */
    size_t size;
    uint8_t *last = group_last_record(db, &grp, &size);
    /* THE COMMIT POINT of an EXEC: from here recovery applies the whole
     * group once these bytes are on disk, and none of it before. The flag
     * is set in memory; durability comes with the next group commit. */
    record_mark_committed(last, size);
    return 0;
}

/* ---- the embedded transaction ------------------------------------------ */

struct txn_write {
    uint8_t *key, *val;          /* malloc'd copies; val NULL for a delete */
    size_t   klen, vlen;
    int64_t  expire_at_ms;
};

struct txn_read {
    uint8_t *key;                /* malloc'd copy */
    size_t   klen;
    uint64_t version;            /* seq of its newest record; 0 = absent */
};

struct chalk_txn {
    chalk_db *db;
    struct txn_write *w;         /* in order; the newest write of a key wins */
    size_t nw, wcap;
    struct txn_read *r;          /* first read of each key */
    size_t nr, rcap;
};

/* A key's version: the seq of its newest record, 0 if absent or expired.
 * Seqs only grow, so an equal version means "not written since". */
static uint64_t key_version(chalk_db *db, const void *key, size_t klen)
{
    idx_entry *e = hidx_find(db->h, idx_hash(key, klen), key, klen);
    return e && !db_expired_now(e) ? e->seq : 0;
}

static int grow(void **v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap) return 0;
    size_t ncap = *cap ? 2 * *cap : 8;
    void *nv = realloc(*v, ncap * elem);
    if (!nv) return CHALK_ENOMEM;
    *v = nv;
    *cap = ncap;
    return 0;
}

static uint8_t *dup_bytes(const void *p, size_t n)
{
    uint8_t *d = malloc(n ? n : 1);
    if (d && n) memcpy(d, p, n);
    return d;
}

int chalk_txn_begin(chalk_db *db, chalk_txn **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return CHALK_ENOMEM;
    (*out)->db = db;
    return 0;
}

static const struct txn_write *find_write(const chalk_txn *t, const void *key, size_t klen)
{
    for (size_t i = t->nw; i-- > 0;)
        if (t->w[i].klen == klen && memcmp(t->w[i].key, key, klen) == 0) return &t->w[i];
    return NULL;
}

static int remember_read(chalk_txn *t, const void *key, size_t klen)
{
    for (size_t i = 0; i < t->nr; i++)
        if (t->r[i].klen == klen && memcmp(t->r[i].key, key, klen) == 0) return 0;
    if (grow((void **)&t->r, &t->rcap, t->nr, sizeof *t->r)) return CHALK_ENOMEM;
    uint8_t *k = dup_bytes(key, klen);
    if (!k) return CHALK_ENOMEM;
    t->r[t->nr++] = (struct txn_read){ k, klen, key_version(t->db, key, klen) };
    return 0;
}

static int value_from_write(const struct txn_write *w, chalk_value *out)
{
    if (!w->val) return CHALK_ENOTFOUND;
    out->data = malloc(w->vlen + 1);
    if (!out->data) return CHALK_ENOMEM;
    memcpy(out->data, w->val, w->vlen);
    ((uint8_t *)out->data)[w->vlen] = 0;
    out->len = w->vlen;
    out->expire_at_ms = w->expire_at_ms;
    return 0;
}

int chalk_txn_get(chalk_txn *t, const void *key, size_t klen, chalk_value *out)
{
    memset(out, 0, sizeof *out);
    const struct txn_write *w = find_write(t, key, klen);
    if (w) return value_from_write(w, out);      /* read your own writes */
    /* Remember the version BEFORE reading: same thread, so nothing can
     * change in between; the order only matters for the reader's intuition. */
    int rc = remember_read(t, key, klen);
    return rc ? rc : chalk_get(t->db, key, klen, out);
}

static int add_write(chalk_txn *t, const void *key, size_t klen, const void *val, size_t vlen,
                     int64_t expire_at_ms, int is_delete)
{
    if (klen > CHALK_MAX_KEY_SIZE || vlen > CHALK_MAX_VALUE_SIZE) return CHALK_ETOOBIG;
    if (grow((void **)&t->w, &t->wcap, t->nw, sizeof *t->w)) return CHALK_ENOMEM;
    struct txn_write w = { dup_bytes(key, klen), NULL, klen, vlen, expire_at_ms };
    if (!is_delete) w.val = dup_bytes(val, vlen);
    if (!w.key || (!is_delete && !w.val)) { free(w.key); free(w.val); return CHALK_ENOMEM; }
    t->w[t->nw++] = w;
    return 0;
}

int chalk_txn_put(chalk_txn *t, const void *key, size_t klen,
                  const void *val, size_t vlen, int64_t expire_at_ms)
{
    return add_write(t, key, klen, val, vlen, expire_at_ms, 0);
}

int chalk_txn_delete(chalk_txn *t, const void *key, size_t klen)
{
    return add_write(t, key, klen, NULL, 0, 0, 1);
}

/* @interview(tx.optimistic-locking): What is optimistic concurrency
 * control, and when is it better than locks? Work without locks, remember
 * what you read (here: each key's version), and at commit check that none
 * of it changed, retrying on conflict. It wins when conflicts are rare and
 * holding locks across round trips would cost more (Redis's WATCH, this
 * validation); pessimistic locking (SELECT ... FOR UPDATE) wins under heavy
 * contention, where optimistic transactions would keep retrying. */
static int txn_validate(const chalk_txn *t)
{
    for (size_t i = 0; i < t->nr; i++)
        if (key_version(t->db, t->r[i].key, t->r[i].klen) != t->r[i].version)
            return CHALK_ECONFLICT;
    return 0;
}

static int txn_build_batch(const chalk_txn *t, chalk_batch *b)
{
    int rc = 0;
    for (size_t i = 0; i < t->nw && rc == 0; i++) {
        const struct txn_write *w = &t->w[i];
        rc = w->val ? chalk_batch_put(b, w->key, w->klen, w->val, w->vlen, w->expire_at_ms)
                    : chalk_batch_delete(b, w->key, w->klen);
    }
    return rc;
}

int chalk_txn_commit(chalk_txn *t, chalk_commit_cb cb, void *arg)
{
    chalk_batch *b = NULL;
    int rc = txn_validate(t);
    if (rc == 0 && !(b = chalk_batch_new())) rc = CHALK_ENOMEM;
    if (rc == 0) rc = txn_build_batch(t, b);
    /* Validation and write run back to back on the db's only thread:
     * nothing can commit in between, which is what makes it serializable. */
    if (rc == 0) rc = chalk_write(t->db, b, cb, arg);
    chalk_batch_free(b);
    chalk_txn_abort(t);
    return rc;
}

void chalk_txn_abort(chalk_txn *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->nw; i++) { free(t->w[i].key); free(t->w[i].val); }
    for (size_t i = 0; i < t->nr; i++) free(t->r[i].key);
    free(t->w);
    free(t->r);
    free(t);
}
