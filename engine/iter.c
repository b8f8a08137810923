/*
 * iter.c — reading many keys: ordered iterators (live or over a snapshot),
 * ranks and seeks by rank (the ordered index's counts, O(log n)), Redis's
 * SCAN cursor over the hash index, RANDOMKEY, and the sampling that drives
 * active expiry.
 *
 * Snapshots, the design. A snapshot is a sequence number S plus a private
 * ordered index `saved`. While it lives, every overwrite or delete of a key
 * whose current entry has seq <= S first copies that entry into `saved`
 * (db_snapshot_preserve, unless the key is already there: the first copy is
 * the one S saw). An iterator over the snapshot merges two sorted streams:
 *   - saved:  versions S saw that have changed since: always visible;
 *   - live:   visible only if seq <= S and the key is not in saved.
 * Values are found through locations, so the segments those locations name
 * must survive: while any snapshot lives, compaction still merges and swaps,
 * but the old segments are only unlinked when the last snapshot goes
 * (db_unlink_doomed).
 * Cost: per snapshot, one entry copy (~56 bytes + key) for every key changed
 * while it lives, and O(snapshots) work per overwrite; disk space of
 * compacted segments is held until release. Taking a snapshot is O(1).
 *
 * Left out on purpose: snapshot reads of chalk_get (point reads at S): the
 * server needs snapshots for iteration (SCAN-like walks, full sync), and a
 * point read at S is the same lookup as chalk_iter_seek + a key compare.
 *
 * Interview topics: index.optimization (keyspace.c), tx.isolation lives in
 * transactions (the server's MULTI/EXEC): a snapshot here is read-only.
 */
#include <stdlib.h>
#include <string.h>

#include "db.h"

struct chalk_iter {
    chalk_db *db;
    const chalk_snapshot *snap;
    oidx_iter *live;
    oidx_iter *saved;          /* snapshots only */
    int        on_live, on_saved;   /* which streams sit on the current key */
    int        valid;
    int        status;
    uint8_t   *key;            /* copy of the current key */
    size_t     klen, kcap;
    int64_t    expire_at_ms;
};

/* ---- snapshots --------------------------------------------------------- */

int chalk_snapshot_acquire(chalk_db *db, chalk_snapshot **out)
{
    chalk_snapshot *s = calloc(1, sizeof *s);
    if (!s || !(s->saved = oidx_new())) { free(s); return CHALK_ENOMEM; }
    s->seq = db->next_seq - 1;
    s->next = db->snaps;
    db->snaps = s;
    *out = s;
    return 0;
}

static void free_saved(oidx *o)
{
    size_t n = oidx_count(o), i = 0;
    idx_entry **v = malloc((n ? n : 1) * sizeof *v);
    oidx_iter *it = oidx_iter_new(o);
    if (v && it) {
        for (oidx_iter_seek(it, NULL, 0); oidx_iter_entry(it) && i < n; oidx_iter_next(it))
            v[i++] = oidx_iter_entry(it);
        for (size_t j = 0; j < i; j++) {
            oidx_remove(o, v[j]->key, v[j]->klen);
            free(v[j]);
        }
    }
    oidx_iter_free(it);
    free(v);
    oidx_free(o);
}

void chalk_snapshot_release(chalk_db *db, chalk_snapshot *snap)
{
    for (chalk_snapshot **p = &db->snaps; *p; p = &(*p)->next) {
        if (*p != snap) continue;
        *p = snap->next;
        free_saved(snap->saved);
        free(snap);
        break;
    }
    if (!db->snaps) db_unlink_doomed(db, 0);   /* segments a compaction freed */
}

/* ---- ordered iteration ------------------------------------------------- */

chalk_iter *chalk_iter_new(chalk_db *db, const chalk_snapshot *snap)
{
    chalk_iter *it = calloc(1, sizeof *it);
    if (!it) return NULL;
    it->db = db;
    it->snap = snap;
    it->live = oidx_iter_new(db->o);
    if (snap) it->saved = oidx_iter_new(snap->saved);
    if (!it->live || (snap && !it->saved)) { chalk_iter_free(it); return NULL; }
    return it;
}

void chalk_iter_free(chalk_iter *it)
{
    if (!it) return;
    if (it->live) oidx_iter_free(it->live);
    if (it->saved) oidx_iter_free(it->saved);
    free(it->key);
    free(it);
}

static int set_current(chalk_iter *it, const idx_entry *e)
{
    if (e->klen > it->kcap) {
        uint8_t *k = realloc(it->key, e->klen);
        if (!k) { it->status = CHALK_ENOMEM; it->valid = 0; return -1; }
        it->key = k;
        it->kcap = e->klen;
    }
    if (e->klen) memcpy(it->key, e->key, e->klen);
    it->klen = e->klen;
    it->expire_at_ms = e->expire_at_ms;
    it->valid = 1;
    return 0;
}

/* Find the first visible key at or after the streams' positions. The
 * clock is read only when an entry has an expiry: most keys have none, and
 * a clock_gettime per step was ~30% of a 100-member ZRANGE. */
static void settle(chalk_iter *it)
{
    int64_t now = -1;
    for (;;) {
        idx_entry *a = oidx_iter_entry(it->live);
        idx_entry *b = it->saved ? oidx_iter_entry(it->saved) : NULL;
        int st = oidx_iter_status(it->live);
        if (st) { it->status = st; it->valid = 0; return; }
        if (!a && !b) { it->valid = 0; return; }
        int c = !a ? 1 : !b ? -1 : idx_keycmp(a->key, a->klen, b->key, b->klen);
        const idx_entry *cur = c >= 0 ? b : a;   /* same key: the saved version */
        it->on_live = c <= 0;
        it->on_saved = c >= 0;
        if (cur->expire_at_ms && now < 0) now = db_now_ms();
        int visible = !db_expired(cur, now) &&
                      (c >= 0 || !it->snap || a->seq <= it->snap->seq);
        if (visible) { set_current(it, cur); return; }
        if (it->on_live) oidx_iter_next(it->live);
        if (it->on_saved) oidx_iter_next(it->saved);
    }
}

void chalk_iter_seek(chalk_iter *it, const void *key, size_t klen)
{
    if (it->status) return;
    oidx_iter_seek(it->live, key, klen);
    if (it->saved) oidx_iter_seek(it->saved, key, klen);
    settle(it);
}

void chalk_iter_seek_first(chalk_iter *it) { chalk_iter_seek(it, NULL, 0); }
int chalk_iter_valid(const chalk_iter *it) { return it->valid && !it->status; }

void chalk_iter_next(chalk_iter *it)
{
    if (!chalk_iter_valid(it)) return;
    if (it->on_live) oidx_iter_next(it->live);
    if (it->on_saved) oidx_iter_next(it->saved);
    settle(it);
}

const void *chalk_iter_key(const chalk_iter *it, size_t *klen)
{
    *klen = it->klen;
    return it->key ? it->key : (const void *)"";
}

int64_t chalk_iter_expiry(const chalk_iter *it) { return it->expire_at_ms; }
int chalk_iter_status(const chalk_iter *it) { return it->status; }

/* The version of the current key the iterator must show, looked up afresh
 * (writes may have happened since the step). */
static const idx_entry *current_version(chalk_iter *it)
{
    if (it->snap) {
        const idx_entry *s = oidx_find(it->snap->saved, it->key, it->klen);
        if (s) return s;
    }
    const idx_entry *e = hidx_find(it->db->h, idx_hash(it->key, it->klen), it->key, it->klen);
    if (e && it->snap && e->seq > it->snap->seq) return NULL;
    return e;
}

int chalk_iter_value(chalk_iter *it, chalk_value *out)
{
    memset(out, 0, sizeof *out);
    if (!chalk_iter_valid(it)) return CHALK_EINVAL;
    const idx_entry *e = current_version(it);
    if (!e) return CHALK_ENOTFOUND;   /* live view: deleted since the step */
    uint8_t *buf;
    struct record_view rv;
    int rc = db_read_record(it->db, e->segment_id, e->offset, e->record_size, &buf, &rv);
    if (rc) {
        it->status = rc;
        return rc;
    }
    db_value_from_record(buf, &rv, out);
    return 0;
}

/* ---- order statistics ---------------------------------------------------- */

int chalk_rank(chalk_db *db, const void *key, size_t klen, uint64_t *rank)
{
    if (!rank || (!key && klen)) return CHALK_EINVAL;
    *rank = oidx_rank(db->o, key, klen);
    return 0;
}

void chalk_iter_seek_rank(chalk_iter *it, uint64_t rank)
{
    if (it->status) return;
    if (it->snap) {                    /* see engine.h: live counts only */
        it->status = CHALK_EINVAL;
        it->valid = 0;
        return;
    }
    oidx_iter_seek_rank(it->live, rank > SIZE_MAX ? SIZE_MAX : (size_t)rank);
    settle(it);
}

/* ---- SCAN, RANDOMKEY --------------------------------------------------- */

struct scan_ctx { chalk_key_fn fn; void *arg; int64_t now; };

static void scan_one(void *arg, idx_entry *e)
{
    struct scan_ctx *c = arg;
    if (!db_expired(e, c->now)) c->fn(c->arg, e->key, e->klen, e->expire_at_ms);
}

uint64_t chalk_scan(chalk_db *db, uint64_t cursor, size_t count, chalk_key_fn fn, void *arg)
{
    struct scan_ctx c = { fn, arg, db_now_ms() };
    return hidx_scan(db->h, cursor, count ? count : 10, scan_one, &c);
}

static uint64_t rand_adapter(void *arg) { return db_rand64(arg); }

int chalk_random_key(chalk_db *db, chalk_value *out)
{
    memset(out, 0, sizeof *out);
    int64_t now = db_now_ms();
    for (int tries = 0; tries < 100; tries++) {   /* expired keys are skipped */
        idx_entry *e = hidx_random(db->h, rand_adapter, db);
        if (!e) return CHALK_ENOTFOUND;
        if (db_expired(e, now)) continue;
        out->data = malloc((size_t)e->klen + 1);
        if (!out->data) return CHALK_ENOMEM;
        if (e->klen) memcpy(out->data, e->key, e->klen);
        ((char *)out->data)[e->klen] = 0;
        out->len = e->klen;
        out->expire_at_ms = e->expire_at_ms;
        return 0;
    }
    return CHALK_ENOTFOUND;
}

/* ---- active expiry ----------------------------------------------------- */

/* Redis's idea: do not keep keys sorted by expiry; sample random keys that
 * HAVE an expiry and report the expired ones. If many of a sample are
 * expired, the caller samples again (Redis repeats while > 25% expired).
 * Keys are copied first: fn may delete them, which edits the set. */
int chalk_expire_sample(chalk_db *db, int64_t now_ms, size_t max_sample,
                        chalk_key_fn fn, void *arg)
{
    struct expiry_set *x = &db->exp;
    if (x->n == 0 || max_sample == 0) return 0;
    if (max_sample > x->n) max_sample = x->n;
    idx_entry **hit = malloc(max_sample * sizeof *hit);
    if (!hit) return CHALK_ENOMEM;
    /* A window of max_sample consecutive slots from a random start: distinct
     * keys, and the whole set when max_sample >= its size. */
    size_t nhit = 0, start = (size_t)(db_rand64(db) % x->n);
    for (size_t i = 0; i < max_sample; i++) {
        idx_entry *e = x->v[(start + i) % x->n];
        if (db_expired(e, now_ms)) hit[nhit++] = e;
    }
    idx_entry **copies = malloc((nhit ? nhit : 1) * sizeof *copies);
    size_t ncopies = 0;
    for (size_t i = 0; copies && i < nhit; i++) {
        idx_entry *c = malloc(sizeof *c + hit[i]->klen);
        if (!c) break;
        memcpy(c, hit[i], sizeof *c + hit[i]->klen);
        copies[ncopies++] = c;
    }
    free(hit);
    for (size_t i = 0; i < ncopies; i++) {
        fn(arg, copies[i]->key, copies[i]->klen, copies[i]->expire_at_ms);
        free(copies[i]);
    }
    free(copies);
    return (int)ncopies;
}
