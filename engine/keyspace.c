/*
 * keyspace.c — what it means for a key to point at a record: its one
 * idx_entry in both indexes, the per-segment live-byte accounting that
 * drives compaction, the expiry set, and the copies snapshots keep.
 *
 * The one idea: the indexes are a projection of the log. Every change to an
 * entry goes through db_index_put / db_index_delete, which keep three
 * derived numbers true at once: the key's place in hidx+oidx, the live
 * bytes of the segment it points into, and its slot in the expiry set.
 *
 * @interview(arch.event-sourcing): How is a log-structured store an instance
 * of event sourcing? The append-only log of records is the source of truth
 * and is never edited; the hash and ordered indexes are a projection rebuilt
 * by replaying it (recover.c), exactly as a read model is rebuilt from an
 * event stream. Compaction is snapshotting the projection back into a
 * shorter log.
 *
 * @interview(index.optimization): Why two indexes, and what does each cost?
 * The hash index answers GET in O(1) expected but cannot answer "keys from
 * X in order"; the ordered index answers range and prefix scans in O(log n)
 * per seek. Both point at the same idx_entry (key bytes stored once), so the
 * second index costs only its node overhead per key; every write pays both
 * updates, the classic price of a secondary index.
 *
 * Left out on purpose: a per-key lock or version chain. The engine is used
 * from one thread; snapshots keep explicit copies instead (cost: one copy
 * per key changed while a snapshot lives, per snapshot).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "db.h"

/* ---- the segment table ------------------------------------------------- */

struct seg_info *seg_table_find(struct seg_table *t, uint32_t id)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->v[mid].id == id) return &t->v[mid];
        if (t->v[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

int seg_table_add(struct seg_table *t, uint32_t id, int rfd, uint64_t size, uint32_t flags)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 16;
        struct seg_info *nv = realloc(t->v, cap * sizeof *nv);
        if (!nv) return CHALK_ENOMEM;
        t->v = nv;
        t->cap = cap;
    }
    size_t i = t->n;
    while (i > 0 && t->v[i - 1].id > id) i--;    /* keep sorted */
    memmove(&t->v[i + 1], &t->v[i], (t->n - i) * sizeof *t->v);
    t->v[i] = (struct seg_info){ .id = id, .rfd = rfd, .size = size, .flags = flags };
    t->n++;
    return 0;
}

void seg_table_remove(struct seg_table *t, uint32_t id)
{
    struct seg_info *s = seg_table_find(t, id);
    if (!s) return;
    if (s->rfd >= 0) close(s->rfd);
    if (s->map) munmap((void *)s->map, s->map_len);
    size_t i = (size_t)(s - t->v);
    memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof *t->v);
    t->n--;
}

/* Why only sealed segments here: the active one grows, so read.c maps it
 * separately, once, at its final size (active_mapped) and reads through
 * that mapping only the bytes already written. Why
 * MADV_RANDOM: point reads touch one record; the default read-around would
 * pull in 128 KiB around each cold one. */
void seg_table_map(chalk_db *db, uint32_t id)
{
    struct seg_info *s = seg_table_find(&db->segs, id);
    if (!db->opt.mmap_reads || !s || s->map || id == db->log.seg_id || s->size <= SEG_HEADER_SIZE) return;
    void *m = mmap(NULL, (size_t)s->size, PROT_READ, MAP_SHARED, s->rfd, 0);
    if (m == MAP_FAILED) return;
    madvise(m, (size_t)s->size, MADV_RANDOM);
    s->map = m;
    s->map_len = (size_t)s->size;
}

uint64_t db_total_record_bytes(const chalk_db *db)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < db->segs.n; i++) {
        const struct seg_info *s = &db->segs.v[i];
        uint64_t size = s->id == db->log.seg_id ? db->log.tail : s->size;
        if (size > SEG_HEADER_SIZE) sum += size - SEG_HEADER_SIZE;
    }
    return sum;
}

uint64_t db_live_bytes(const chalk_db *db)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < db->segs.n; i++) sum += db->segs.v[i].live_bytes;
    return sum;
}

int seg_table_check_invariants(const chalk_db *db)
{
    const struct seg_table *t = &db->segs;
    int active = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct seg_info *s = &t->v[i];
        uint64_t size = s->id == db->log.seg_id ? db->log.tail : s->size;
        if (i > 0 && t->v[i - 1].id >= s->id) return 1;
        if (s->live_bytes + SEG_HEADER_SIZE > size && s->live_bytes) return 2;
        if (s->id == db->log.seg_id) {
            active++;
            if (s->flags & SEG_F_MERGED) return 3;
        }
    }
    return active == 1 ? 0 : 3;
}

static void live_add(chalk_db *db, uint32_t seg, int64_t delta)
{
    struct seg_info *s = seg_table_find(&db->segs, seg);
    if (s) s->live_bytes = (uint64_t)((int64_t)s->live_bytes + delta);
}

/* ---- the expiry set ---------------------------------------------------- */

void db_expiry_update(chalk_db *db, idx_entry *e, int64_t expire_at_ms)
{
    struct expiry_set *x = &db->exp;
    e->expire_at_ms = expire_at_ms;
    if (expire_at_ms && !e->expire_slot) {
        if (x->n == x->cap) {
            size_t cap = x->cap ? 2 * x->cap : 64;
            idx_entry **nv = realloc(x->v, cap * sizeof *nv);
            if (!nv) { e->expire_at_ms = expire_at_ms; return; }  /* only sampling misses it */
            x->v = nv;
            x->cap = cap;
        }
        x->v[x->n++] = e;
        e->expire_slot = (uint32_t)x->n;
    } else if (!expire_at_ms && e->expire_slot) {
        size_t i = e->expire_slot - 1;           /* swap with the last one */
        x->v[i] = x->v[--x->n];
        x->v[i]->expire_slot = (uint32_t)(i + 1);
        e->expire_slot = 0;
    }
}

/* ---- entries ----------------------------------------------------------- */

idx_entry *db_entry_new(chalk_db *db, const void *key, size_t klen, uint64_t hash)
{
    idx_entry *e = calloc(1, sizeof *e + klen);
    if (!e) return NULL;
    e->hash = hash;
    e->klen = (uint32_t)klen;
    if (klen) memcpy(e->key, key, klen);
    db->entry_bytes += sizeof *e + klen;
    return e;
}

void db_entry_free(chalk_db *db, idx_entry *e)
{
    db->entry_bytes -= sizeof *e + e->klen;
    free(e);
}

void db_snapshot_preserve(chalk_db *db, const idx_entry *e)
{
    for (struct chalk_snapshot *s = db->snaps; s; s = s->next) {
        if (e->seq > s->seq || oidx_find(s->saved, e->key, e->klen)) continue;
        idx_entry *c = malloc(sizeof *c + e->klen);
        if (!c) continue;   /* the snapshot then shows the newer version */
        memcpy(c, e, sizeof *c + e->klen);
        c->hnext = NULL;
        c->expire_slot = 0;
        int err = 0;
        oidx_insert(s->saved, c, &err);
        if (err) free(c);
    }
}

int db_index_put(chalk_db *db, const void *key, size_t klen, uint64_t hash, uint64_t seq,
                 uint32_t seg, uint32_t off, uint32_t size, int64_t expire_at_ms, int absent)
{
    /* absent: hidx_insert_new below asserts it in Debug builds. */
    idx_entry *e = absent ? NULL : hidx_find(db->h, hash, key, klen);
    if (e) {                                   /* overwrite in place */
        if (db->snaps) db_snapshot_preserve(db, e);
        live_add(db, e->segment_id, -(int64_t)e->record_size);
    } else {
        int err = 0;
        e = db_entry_new(db, key, klen, hash);
        if (!e) return CHALK_ENOMEM;
        hidx_insert_new(db->h, e);             /* hidx_find missed it, or absent */
        oidx_insert(db->o, e, &err);
        if (err) {
            hidx_remove(db->h, hash, key, klen);
            db_entry_free(db, e);
            return CHALK_ENOMEM;
        }
    }
    e->seq = seq;
    e->segment_id = seg;
    e->offset = off;
    e->record_size = size;
    live_add(db, seg, size);
    db_expiry_update(db, e, expire_at_ms);
    return 0;
}

int db_index_delete(chalk_db *db, const void *key, size_t klen, uint64_t hash)
{
    idx_entry *e = hidx_remove(db->h, hash, key, klen);
    if (!e) return 0;
    if (db->snaps) db_snapshot_preserve(db, e);
    oidx_remove_entry(db->o, e);                /* the same entry: found by address */
    live_add(db, e->segment_id, -(int64_t)e->record_size);
    db_expiry_update(db, e, 0);
    db_entry_free(db, e);
    return 1;
}

/* ---- the engine's invariants --------------------------------------------
 *   1. both indexes hold the same number of entries;
 *   2. each segment's live_bytes is the sum of record_size of the entries
 *      pointing into it, and every entry points into a known segment;
 *   3. an entry is in the expiry set iff it has an expiry, at its slot;
 *   plus each structure's own: hidx, oidx, the segment table, the log. */
struct inv_ctx { chalk_db *db; uint64_t *live; int bad; };

static void inv_entry(void *arg, idx_entry *e)
{
    struct inv_ctx *c = arg;
    struct seg_info *s = seg_table_find(&c->db->segs, e->segment_id);
    if (!s) { c->bad = 2; return; }
    c->live[s - c->db->segs.v] += e->record_size;
    int in_set = e->expire_slot && e->expire_slot <= c->db->exp.n &&
                 c->db->exp.v[e->expire_slot - 1] == e;
    if ((e->expire_at_ms != 0) != in_set) c->bad = 3;
}

int db_check_invariants(chalk_db *db)
{
    int r;
    if ((r = hidx_check_invariants(db->h)) != 0) return 100 + r;
    if ((r = oidx_check_invariants(db->o)) != 0) return 200 + r;
    if ((r = seg_table_check_invariants(db)) != 0) return 300 + r;
    if ((r = log_check_invariants(&db->log)) != 0) return 400 + r;
    if (hidx_count(db->h) != oidx_count(db->o)) return 1;
    struct inv_ctx c = { db, calloc(db->segs.n ? db->segs.n : 1, sizeof(uint64_t)), 0 };
    if (!c.live) return CHALK_ENOMEM;
    uint64_t cur = 0;
    if (hidx_rehashing(db->h)) while (hidx_rehash_step(db->h, 1024)) {}   /* scan sees each key once */
    do cur = hidx_scan(db->h, cur, 4096, inv_entry, &c); while (cur != 0);
    for (size_t i = 0; !c.bad && i < db->segs.n; i++)
        if (c.live[i] != db->segs.v[i].live_bytes) c.bad = 2;
    free(c.live);
    return c.bad;
}
