/*
 * compaction.c — merge sealed segments into new ones that hold only the
 * live records, with a hint file each, and swap them in while reads and
 * writes go on.
 *
 *   chalk_compact, or the trigger; then slices in chalk_poll (caller's thread)
 *     1. sources (choose_sources) = every sealed segment for chalk_compact,
 *        a PREFIX of them in seq order for the trigger (below), in seq
 *        order; live = the index's (segment, offset) of every key whose
 *        newest record is in a source, collected COMPACT_STEP_KEYS entries
 *        per slice (collect_step)
 *   merge_thread (background)
 *        sorts the locations of `live` (by_loc, sort_by_loc), then:
 *     2. walk the sources in order; copy each record that is in `live` and
 *        not expired into NNNNNNNNNN.log.tmp (new ids, flag MERGED), rolling
 *        at segment_size, and build its hint (hint.c)
 *     3. fdatasync each output and its .hint.tmp
 *     4. rename them to .log / .hint, then fsync the directory
 *     5. write the manifest COMPACTION (the source ids): tmp, fdatasync,
 *        rename, fsync the directory.  ← the commit point
 *   compaction_poll → swap, in slices (caller's thread, swap_step)
 *     6. point every entry that still names its copied record at the copy;
 *        drop entries whose record was dropped as expired
 *   db_unlink_doomed (now, or when the last snapshot is released; the
 *   files are deleted by a short-lived thread, joined before the next
 *   compaction and at close)
 *     7. unlink the sources, fsync the directory, unlink the manifest,
 *        fsync the directory; if any unlink fails, the manifest stays and
 *        no compaction runs until a reopen finishes step 7
 *
 * Crash at any step loses no key and resurrects no deleted key:
 *   before 4: only *.tmp exist, recovery removes them; sources intact.
 *   between 4 and 5: outputs and all sources exist: duplicates, same seqs
 *     (recover.c R1 keeps one); nothing lost.
 *   after 5: the manifest says which sources are replaced; recovery
 *     finishes step 7 before replaying (recover_finish_compaction). Without
 *     the manifest, deleting sources in some order could remove a segment
 *     holding a tombstone while one holding the older PUT survives: the key
 *     would come back. With it, sources go all together, logically.
 *
 * Tombstones are dropped by the merge (it copies only what the index points
 * at). That is safe when no older record of their key survives outside the
 * sources, which holds when the sources are a PREFIX in seq order: with B
 * the lowest seq outside them, every record with seq < B is in a source,
 * and every other segment, sealed or active, holds only seqs >= B. So a
 * tombstone in a source (seq < B) has every older record of its key in a
 * source too, and those are dead (the key is deleted or was rewritten
 * later): none is copied. A PUT outside the sources that a source's
 * tombstone hid cannot exist. Every sealed segment is always such a prefix
 * (the active one holds the newest seqs): that is the full merge.
 *   Why seq ranges and not ids: log segments hold increasing seqs in id
 * order (a batch, and an atomic group, never spans two), but an output
 * keeps its records' old seqs (recover.c R1) under a new, higher id. So
 * each segment's [seq_lo, seq_hi] is tracked (db.h: exact for outputs, set
 * here in swap_begin and at open by recovery; a log segment's seq_lo read
 * from its first record, its top bounded by the next log segment's
 * seq_lo), and the prefix condition is CHECKED when sources are chosen
 * (pick_prefix: the highest seq of the prefix below the lowest outside
 * it); when ranges overlap no short prefix passes and every sealed segment
 * is merged. The merge walks the sources in seq order, so its outputs get
 * ascending, disjoint ranges and later prefixes stay checkable.
 *   What else "every sealed segment is a source" used to cover, checked
 * for prefixes: the manifest lists exactly the sources, and recovery
 * deletes exactly those (step 7); the other segments keep their files,
 * hints and live bytes untouched (swap_step moves bytes only from sources
 * to outputs); snapshots keep doomed sources readable as before; the log
 * (log.c, log_psync.c) only ever writes the active segment, never a
 * source; hint files exist only for outputs and still list PUTs only.
 *
 * The caller's thread never pays O(keys) at once: steps 1 and 6 run in
 * slices of COMPACT_STEP_KEYS entries, one per chalk_poll, and keep the
 * event fd readable until done (like Redis's incremental rehash). The
 * longest slice is stats' compaction_pause_usec_max.
 *
 * The policy (pick_prefix; docs/engine.md, "Partial merges"): among the
 * safe prefixes that leave at most compact_dead_ratio/2 dead behind, the
 * one that reclaims the most bytes net of those it copies, the shortest on
 * ties. Garbage at the OLD end of the log (a queue: RPUSH, then LPOP of
 * the oldest items) is reclaimed without copying the live tail.
 *
 * Left out on purpose: merging a set that is not a seq prefix, e.g. the
 * newest segments alone. Their tombstones would have to be copied (an
 * older PUT of their key may survive outside), so outputs would hold
 * tombstones and hint files would need a kind. The cost: garbage at the
 * NEW end (pops of a stack, LPUSH then LPOP, whose tombstones are the
 * newest records) is still reclaimed only by merging everything.
 *
 * @interview(storage.log-structured): Why a log, and what does it cost
 * compared with an LSM tree or a B-tree? Appends are sequential writes,
 * the fastest thing a disk does, and a crash can only tear the tail. The
 * cost is garbage: overwritten records stay on disk until compaction copies
 * the live ones out (write amplification ~1 + live/dead per cycle, space
 * amplification up to 1/(1-dead_ratio)). An LSM tree also sorts on disk so
 * values need not fit an in-memory key index, at the price of rewriting
 * data at every level; a B-tree updates pages in place (random writes, a
 * WAL for atomicity) but never needs compaction.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "hint.h"
#include "segment.h"
#include "vfs.h"

#define WRITE_BUF (1u << 20)
#define COMPACT_STEP_KEYS 4096   /* entries per slice on the caller's thread */
#define MANIFEST_MAGIC "CHALKCMP"

#define SWAP_LOOKAHEAD 4         /* live slots tried past the swap's cursor */

/* One collected entry. `live` stays in the order step 1's hash scan
 * visited the entries, which is the order step 6's scan visits them again
 * (unless the table resized, or entries were removed or added between):
 * the swap finds an entry's slot at its cursor, a sequential read, and
 * only falls back to a binary search of `by_loc` when that fails. */
struct live_loc {
    uint32_t seg, off;         /* where the newest record was at the start */
    uint64_t seq;
    uint32_t new_seg, new_off; /* filled by the thread; new_seg 0 = dropped */
};

/* `live` sorted by location, by the thread: the merge walks it in step with
 * the segments, the swap searches it. A location collected twice (a scan
 * across a resize) appears twice; the merge fills both slots. */
struct loc_ref {
    uint32_t seg, off;
    uint32_t slot;             /* index into live */
};

enum comp_phase {
    COMP_IDLE,
    COMP_COLLECT,              /* caller: slices of step 1 in chalk_poll */
    COMP_MERGE,                /* the thread: steps 2-5 */
    COMP_SWAP,                 /* caller: slices of step 6 in chalk_poll */
};

struct compaction {
    enum comp_phase phase;
    pthread_t thread;          /* exists, unjoined, while phase == COMP_MERGE */
    _Atomic int finished;      /* set by the thread as its last act */
    uint64_t  cursor;          /* hash-scan cursor of the current slice phase */
    size_t    live_cap;
    idx_entry **drop;          /* one swap slice's expired entries */
    size_t    ndrop, drop_cap;
    int       last_result;
    uint64_t  failed_at_usec;  /* the automatic trigger backs off after a failure */
    int       scheduled;       /* chalk_compact_schedule: run one more when idle */
    int       explicit_req;    /* the running one was asked for (chalk_compact),
                                  not started by the dead-ratio trigger */
    int64_t   ended_ms;        /* unix ms when the last one succeeded; 0 = none */
    /* input: immutable while the thread runs */
    chalk_db *db;              /* the thread reads dir, vfs, opt, next_seg_id, log.efd */
    uint32_t *src;             /* in seq order (choose_sources) */
    size_t    nsrc;
    size_t    nsealed;         /* sealed segments when it started: nsrc < nsealed
                                  is a partial merge */
    struct live_loc *live;
    size_t    nlive;
    struct loc_ref *by_loc;    /* nlive refs, sorted by the thread */
    size_t    swap_next;       /* step 6: the live slot expected next */
    int64_t   now_ms;
    /* output: the thread's until `finished` */
    int       status;
    uint32_t *out;
    struct out_range { uint64_t lo, hi; } *out_seq;   /* each output's seqs, beside out */
    size_t    nout, outcap;
    uint64_t  bytes_written;
    int       ofd;             /* the output being written */
    uint64_t  olen;
    uint8_t  *wbuf;
    size_t    wlen;
    struct hint_buf hint;
};

static int cmp_loc(uint32_t seg_a, uint32_t off_a, uint32_t seg_b, uint32_t off_b)
{
    if (seg_a != seg_b) return seg_a < seg_b ? -1 : 1;
    return (off_a > off_b) - (off_a < off_b);
}

static int cmp_ref(const void *a, const void *b)
{
    const struct loc_ref *x = a, *y = b;
    return cmp_loc(x->seg, x->off, y->seg, y->off);
}

/* Sort n refs by location, as qsort with cmp_ref would, in O(n): an LSD
 * radix sort on the 64-bit (seg, off), one counting pass per byte, skipping
 * the bytes every ref shares (the high bytes of the offsets and most of the
 * segment ids). A pass is stable, so after the last one the order is by the
 * whole key. Why not qsort: the refs come in hash order, and glibc's
 * merge sort, a compare call per step, was 2% (LPUSH) to 5% (LPOP) of
 * the server's CPU samples over 1M pipelined commands that compacted
 * once. Falls back to qsort when the scratch buffer cannot be had. */
static uint64_t ref_key(const struct loc_ref *r)
{
    return (uint64_t)r->seg << 32 | r->off;
}

static void sort_by_loc(struct loc_ref *v, size_t n)
{
    struct loc_ref *tmp = n > 1 ? malloc(n * sizeof *tmp) : NULL;
    if (!tmp) {
        if (n > 1) qsort(v, n, sizeof *v, cmp_ref);
        return;
    }
    uint64_t all_or = 0, all_and = ~(uint64_t)0;
    for (size_t i = 0; i < n; i++) {
        uint64_t k = ref_key(&v[i]);
        all_or |= k;
        all_and &= k;
    }
    struct loc_ref *from = v, *to = tmp;
    for (unsigned shift = 0; shift < 64; shift += 8) {
        if ((((all_or ^ all_and) >> shift) & 0xff) == 0) continue;   /* one value: a no-op pass */
        size_t pos[256] = { 0 };
        for (size_t i = 0; i < n; i++) pos[(ref_key(&from[i]) >> shift) & 0xff]++;
        for (size_t d = 0, sum = 0; d < 256; d++) {
            size_t cnt = pos[d];
            pos[d] = sum;
            sum += cnt;
        }
        for (size_t i = 0; i < n; i++) to[pos[(ref_key(&from[i]) >> shift) & 0xff]++] = from[i];
        struct loc_ref *t = from;
        from = to;
        to = t;
    }
    if (from != v) memcpy(v, from, n * sizeof *v);
    free(tmp);
}

static int is_source(const struct compaction *c, uint32_t seg)
{
    for (size_t i = 0; i < c->nsrc; i++) if (c->src[i] == seg) return 1;
    return 0;
}

/* ---- the merge thread -------------------------------------------------- */

static int out_flush(struct compaction *c)
{
    const struct chalk_vfs *vfs = c->db->vfs;
    int rc = vfs_pwrite_all(vfs, c->ofd, c->wbuf, c->wlen, c->olen - c->wlen);
    c->wlen = 0;
    return rc ? seg_errno_to_chalk(rc) : 0;
}

/* Step 3 for the current output: data then hint, both synced. Why fdatasync
 * before the rename: once renamed the file is trusted by recovery and its
 * sources may be deleted; its bytes must already be durable. */
static int out_finish(struct compaction *c)
{
    const struct chalk_vfs *vfs = c->db->vfs;
    if (c->ofd < 0) return 0;
    int rc = out_flush(c);
    if (rc == 0) rc = vfs->fdatasync(vfs->ctx, c->ofd) < 0 ? CHALK_EIO : 0;
    vfs->close(vfs->ctx, c->ofd);
    c->ofd = -1;
    if (rc == 0) rc = hint_write(vfs, c->db->dir, c->out[c->nout - 1], &c->hint);
    hint_buf_free(&c->hint);
    return rc;
}

static int out_start(struct compaction *c)
{
    if (c->nout == c->outcap) {
        size_t cap = c->outcap ? 2 * c->outcap : 8;
        uint32_t *n = realloc(c->out, cap * sizeof *n);
        if (!n) return CHALK_ENOMEM;
        c->out = n;
        struct out_range *r = realloc(c->out_seq, cap * sizeof *r);
        if (!r) return CHALK_ENOMEM;
        c->out_seq = r;
        c->outcap = cap;
    }
    uint32_t id = atomic_fetch_add(&c->db->next_seg_id, 1);
    int rc = seg_create(c->db->vfs, c->db->dir, id, ".log.tmp", SEG_F_MERGED, &c->ofd);
    if (rc) return rc;
    c->out_seq[c->nout] = (struct out_range){ 0, 0 };
    c->out[c->nout++] = id;
    c->olen = SEG_HEADER_SIZE;
    c->wlen = 0;
    return 0;
}

/* Step 2 for one record that stays. */
static int copy_record(struct compaction *c, struct live_loc *l, const struct record_view *rv)
{
    const uint8_t *raw = rv->key - REC_HEADER_SIZE;
    int rc = 0;
    if (c->ofd >= 0 && c->olen > SEG_HEADER_SIZE && c->olen + rv->size > c->db->opt.segment_size)
        rc = out_finish(c);
    if (rc == 0 && c->ofd < 0) rc = out_start(c);
    if (rc == 0 && c->wlen + rv->size > WRITE_BUF) rc = out_flush(c);
    if (rc) return rc;
    l->new_seg = c->out[c->nout - 1];
    l->new_off = (uint32_t)c->olen;
    struct out_range *sr = &c->out_seq[c->nout - 1];
    if (!sr->lo || rv->seq < sr->lo) sr->lo = rv->seq;
    if (rv->seq > sr->hi) sr->hi = rv->seq;
    rc = hint_add(&c->hint, rv->seq, rv->expire_at_ms, l->new_off, rv->size, rv->key, rv->klen);
    if (rc) return rc;
    c->olen += rv->size;
    c->bytes_written += rv->size;
    if (rv->size > WRITE_BUF) {          /* a big record: write it directly */
        uint8_t *keep = c->wbuf;
        c->wbuf = (uint8_t *)raw;        /* the reader's private window buffer */
        if (!(rv->flags & REC_F_COMMIT)) record_mark_committed(c->wbuf, rv->size);
        c->wlen = rv->size;
        rc = out_flush(c);
        c->wbuf = keep;
        return rc;
    }
    memcpy(c->wbuf + c->wlen, raw, rv->size);
    /* Each copy is a batch of its own, so it must carry the commit flag;
     * a record that was the last of its batch already does, with both
     * checksums verified by the reader: no need to compute them again. */
    if (!(rv->flags & REC_F_COMMIT)) record_mark_committed(c->wbuf + c->wlen, rv->size);
    c->wlen += rv->size;
    return 0;
}

/* The first ref of segment id in by_loc (sorted by location). */
static size_t first_ref(const struct compaction *c, uint32_t id)
{
    size_t lo = 0, hi = c->nlive;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->by_loc[mid].seg < id) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Step 2 for source id. The sources come in seq order (choose_sources),
 * not id order, so each starts its walk of by_loc at its own first ref. */
static int merge_segment(struct compaction *c, uint32_t id)
{
    const struct loc_ref *r0 = c->by_loc;
    size_t li = first_ref(c, id);
    char path[SEG_PATH_MAX];
    struct seg_reader r;
    struct record_view rv;
    uint64_t off;
    int rc;
    seg_path(path, sizeof path, c->db->dir, id, ".log");
    if ((rc = seg_reader_open(&r, path)) != 0) return rc;
    while ((rc = seg_reader_next(&r, &rv, &off)) == 1) {
        uint32_t o = (uint32_t)off;
        while (li < c->nlive && cmp_loc(r0[li].seg, r0[li].off, id, o) < 0) li++;
        if (li == c->nlive || cmp_loc(r0[li].seg, r0[li].off, id, o) != 0) continue;   /* dead */
        if (rv.expire_at_ms && rv.expire_at_ms <= c->now_ms) continue;        /* expired */
        struct live_loc *l = &c->live[r0[li].slot];
        if ((rc = copy_record(c, l, &rv)) != 0) break;
        for (size_t j = li + 1; j < c->nlive && r0[j].seg == id && r0[j].off == o; j++) {
            c->live[r0[j].slot].new_seg = l->new_seg;       /* the same record, collected twice */
            c->live[r0[j].slot].new_off = l->new_off;
        }
    }
    seg_reader_close(&r);
    return rc < 0 ? rc : 0;
}

/* Steps 4 and 5. */
static int publish(struct compaction *c)
{
    const struct chalk_vfs *vfs = c->db->vfs;
    const char *dir = c->db->dir;
    char from[SEG_PATH_MAX], to[SEG_PATH_MAX];
    for (size_t i = 0; i < c->nout; i++) {
        static const char *ext[2][2] = { { ".log.tmp", ".log" }, { ".hint.tmp", ".hint" } };
        for (int k = 0; k < 2; k++) {
            seg_path(from, sizeof from, dir, c->out[i], ext[k][0]);
            seg_path(to, sizeof to, dir, c->out[i], ext[k][1]);
            if (vfs->rename(vfs->ctx, from, to) < 0) return CHALK_EIO;
        }
    }
    /* Why fsync the directory here: the renames must be durable before the
     * manifest allows the sources to be deleted. */
    if (vfs->fsync_dir(vfs->ctx, dir) < 0) return CHALK_EIO;
    size_t len = 8 + 4 + 4 * c->nsrc + 8;
    uint8_t *m = malloc(len);
    if (!m) return CHALK_ENOMEM;
    memcpy(m, MANIFEST_MAGIC, 8);
    put_le32(m + 8, (uint32_t)c->nsrc);
    for (size_t i = 0; i < c->nsrc; i++) put_le32(m + 12 + 4 * i, c->src[i]);
    put_le64(m + len - 8, record_checksum(m, len - 8));
    snprintf(from, sizeof from, "%s/COMPACTION.tmp", dir);
    snprintf(to, sizeof to, "%s/COMPACTION", dir);
    int fd = vfs->open(vfs->ctx, from, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), rc = 0;
    if (fd < 0) rc = CHALK_EIO;
    if (rc == 0 && vfs_pwrite_all(vfs, fd, m, len, 0) != 0) rc = CHALK_EIO;
    if (rc == 0 && vfs->fdatasync(vfs->ctx, fd) < 0) rc = CHALK_EIO;
    if (fd >= 0) vfs->close(vfs->ctx, fd);
    free(m);
    /* The commit point: once this rename is durable, the sources are gone
     * as far as recovery is concerned. */
    if (rc == 0 && vfs->rename(vfs->ctx, from, to) < 0) rc = CHALK_EIO;
    if (rc == 0 && vfs->fsync_dir(vfs->ctx, dir) < 0) rc = CHALK_EIO;
    return rc;
}

static void discard_outputs(struct compaction *c)
{
    char path[SEG_PATH_MAX];
    for (size_t i = 0; i < c->nout; i++) {
        seg_path(path, sizeof path, c->db->dir, c->out[i], ".log.tmp");
        c->db->vfs->unlink(c->db->vfs->ctx, path);
        seg_path(path, sizeof path, c->db->dir, c->out[i], ".hint.tmp");
        c->db->vfs->unlink(c->db->vfs->ctx, path);
    }
    c->nout = 0;
}

static void *merge_thread(void *arg)
{
    struct compaction *c = arg;
    int rc = 0;
    /* Step 1's end, off the caller's thread: the locations, sorted. */
    c->by_loc = malloc((c->nlive ? c->nlive : 1) * sizeof *c->by_loc);
    c->wbuf = malloc(WRITE_BUF);
    if (!c->wbuf || !c->by_loc) rc = CHALK_ENOMEM;
    for (size_t i = 0; rc == 0 && i < c->nlive; i++)
        c->by_loc[i] = (struct loc_ref){ c->live[i].seg, c->live[i].off, (uint32_t)i };
    if (rc == 0) sort_by_loc(c->by_loc, c->nlive);
    for (size_t i = 0; rc == 0 && i < c->nsrc; i++) rc = merge_segment(c, c->src[i]);
    if (rc == 0) rc = out_finish(c);
    if (rc == 0) rc = publish(c);
    if (rc != 0 && c->ofd >= 0) { c->db->vfs->close(c->db->vfs->ctx, c->ofd); c->ofd = -1; }
    if (rc != 0) discard_outputs(c);     /* after a failed publish, renamed ones stay:
                                            harmless duplicates for recovery */
    hint_buf_free(&c->hint);
    free(c->wbuf);
    c->wbuf = NULL;
    c->status = rc;
    atomic_store(&c->finished, 1);
    log_signal(&c->db->log);             /* wake the caller: chalk_poll swaps */
    return NULL;
}

/* ---- the caller's side: incremental steps ------------------------------ */

struct collect { struct compaction *c; int err; };

static void collect_live(void *arg, idx_entry *e)
{
    struct collect *k = arg;
    struct compaction *c = k->c;
    if (!is_source(c, e->segment_id) || k->err) return;
    if (c->nlive == c->live_cap) {
        size_t cap = c->live_cap ? 2 * c->live_cap : 1024;
        struct live_loc *n = realloc(c->live, cap * sizeof *n);
        if (!n) { k->err = CHALK_ENOMEM; return; }
        c->live = n;
        c->live_cap = cap;
    }
    if (c->nlive == UINT32_MAX) { k->err = CHALK_ENOMEM; return; }   /* loc_ref.slot is 32 bits */
    c->live[c->nlive++] = (struct live_loc){ e->segment_id, e->offset, e->seq, 0, 0 };
}

static void compaction_reset(struct compaction *c)
{
    free(c->src);
    free(c->live);
    free(c->by_loc);
    free(c->out);
    free(c->out_seq);
    free(c->drop);
    chalk_db *db = c->db;
    int last = c->last_result;
    uint64_t failed_at = c->failed_at_usec;
    int scheduled = c->scheduled;
    int64_t ended_ms = c->ended_ms;
    memset(c, 0, sizeof *c);
    c->db = db;
    c->ofd = -1;
    c->last_result = last;
    c->failed_at_usec = failed_at;
    c->scheduled = scheduled;
    c->ended_ms = ended_ms;
}

static void compaction_end(chalk_db *db, int rc)
{
    struct compaction *c = db->comp;
    c->phase = COMP_IDLE;
    c->last_result = rc;
    c->failed_at_usec = rc ? log_now_usec() : 0;
    if (rc == 0) c->ended_ms = db_now_ms();
    if (rc) db_logf(db, CHALK_LOG_ERROR, "compaction failed: %s (old segments kept)", chalk_strerror(rc));
}

static void note_pause(chalk_db *db, uint64_t t0)
{
    uint64_t pause = log_now_usec() - t0;
    if (pause > db->compact_pause_usec_max) db->compact_pause_usec_max = pause;
}

/* Step 1, one slice: collect the locations of ~COMPACT_STEP_KEYS entries.
 * Entries that change between slices are harmless: one overwritten after
 * being collected is copied as a dead record (the swap sees its seq moved
 * on and skips it); one overwritten before points at the active segment,
 * which is never a source. The hash scan's cursor visits every key that
 * exists for the whole scan. Sorting waits for the thread. */
static void collect_step(chalk_db *db, struct compaction *c)
{
    struct collect k = { c, 0 };
    c->cursor = hidx_scan(db->h, c->cursor, COMPACT_STEP_KEYS, collect_live, &k);
    if (k.err) { compaction_end(db, k.err); return; }
    if (c->cursor != 0) return;
    c->now_ms = db_now_ms();
    atomic_store(&c->finished, 0);
    if (pthread_create(&c->thread, NULL, merge_thread, c) != 0) { compaction_end(db, CHALK_ENOMEM); return; }
    c->phase = COMP_MERGE;
}

struct swap_ctx {
    chalk_db *db;
    struct compaction *c;
    int err;
    struct seg_info *from, *to; /* the last segments looked up (a slice adds none) */
};

/* The live slot of the record at (seg, off), or NULL: first at the swap's
 * cursor and a few slots past it (entries removed since step 1 leave slots
 * the scan no longer visits), then by binary search, which also moves the
 * cursor. */
static struct live_loc *swap_find(struct compaction *c, uint32_t seg, uint32_t off)
{
    for (size_t i = c->swap_next; i < c->nlive && i < c->swap_next + SWAP_LOOKAHEAD; i++)
        if (c->live[i].seg == seg && c->live[i].off == off) {
            c->swap_next = i + 1;
            return &c->live[i];
        }
    size_t lo = 0, hi = c->nlive;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_loc(c->by_loc[mid].seg, c->by_loc[mid].off, seg, off) < 0) lo = mid + 1;
        else hi = mid;
    }
    if (lo == c->nlive || c->by_loc[lo].seg != seg || c->by_loc[lo].off != off) return NULL;
    c->swap_next = (size_t)c->by_loc[lo].slot + 1;
    return &c->live[c->by_loc[lo].slot];
}

static struct seg_info *swap_seg(struct swap_ctx *s, struct seg_info **cache, uint32_t id)
{
    if (!*cache || (*cache)->id != id) *cache = seg_table_find(&s->db->segs, id);
    return *cache;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(idx_entry *const *)a, y = (uintptr_t)*(idx_entry *const *)b;
    return (x > y) - (x < y);
}

static void swap_one(void *arg, idx_entry *e)
{
    struct swap_ctx *s = arg;
    struct compaction *c = s->c;
    if (!is_source(c, e->segment_id)) return;
    struct live_loc *l = swap_find(c, e->segment_id, e->offset);
    /* A location names one immutable record, so a found l is that record;
     * the seq compare is a cheap guard, not a case that occurs. */
    if (!l || l->seq != e->seq) return;
    struct seg_info *from = swap_seg(s, &s->from, e->segment_id);
    struct seg_info *to = l->new_seg ? swap_seg(s, &s->to, l->new_seg) : NULL;
    if (!from || (l->new_seg && !to)) return;
    if (to) {                                    /* moved: same version, new place */
        from->live_bytes -= e->record_size;
        e->segment_id = l->new_seg;
        e->offset = l->new_off;
        to->live_bytes += e->record_size;
        return;
    }
    if (c->ndrop == c->drop_cap) {               /* dropped as expired: removed after the slice */
        size_t cap = c->drop_cap ? 2 * c->drop_cap : 256;
        idx_entry **n = realloc(c->drop, cap * sizeof *n);
        if (!n) { s->err = CHALK_ENOMEM; return; }
        c->drop = n;
        c->drop_cap = cap;
    }
    c->drop[c->ndrop++] = e;
}

/* Step 6 begins: the outputs join the segment table. */
static int swap_begin(chalk_db *db, struct compaction *c)
{
    char path[SEG_PATH_MAX];
    for (size_t i = 0; i < c->nout; i++) {
        seg_path(path, sizeof path, db->dir, c->out[i], ".log");
        int rfd = open(path, O_RDONLY | O_CLOEXEC);
        off_t size = rfd >= 0 ? lseek(rfd, 0, SEEK_END) : -1;
        if (rfd < 0 || seg_table_add(&db->segs, c->out[i], rfd, (uint64_t)size, SEG_F_MERGED) != 0) {
            db_logf(db, CHALK_LOG_ERROR, "compaction: cannot open %s; keeping the old segments", path);
            if (rfd >= 0) close(rfd);
            return CHALK_EIO;
        }
        struct seg_info *si = seg_table_find(&db->segs, c->out[i]);
        si->seq_lo = c->out_seq[i].lo;
        si->seq_hi = c->out_seq[i].hi;
        seg_table_map(db, c->out[i]);
    }
    c->phase = COMP_SWAP;
    c->cursor = 0;
    c->swap_next = 0;
    return 0;
}

/* Step 6, one slice. Between slices some entries point at the sources and
 * some at the outputs: both exist, both hold the same record. */
static void swap_step(chalk_db *db, struct compaction *c)
{
    struct swap_ctx s = { db, c, 0, NULL, NULL };
    c->ndrop = 0;
    c->cursor = hidx_scan(db->h, c->cursor, COMPACT_STEP_KEYS, swap_one, &s);
    /* A scan across a resize may visit an entry twice: dedupe the pointers,
     * then remove them before the caller can touch them. */
    if (c->ndrop > 1) qsort(c->drop, c->ndrop, sizeof *c->drop, cmp_ptr);
    for (size_t i = 0; i < c->ndrop; i++) {
        idx_entry *e = c->drop[i];
        if (i > 0 && c->drop[i - 1] == e) continue;
        db_index_delete(db, e->key, e->klen, e->hash);   /* snapshots keep a copy */
    }
    if (c->cursor != 0) return;
    for (size_t i = 0; i < c->nsrc; i++) {
        struct seg_info *si = seg_table_find(&db->segs, c->src[i]);
        if (si) si->doomed = 1;
    }
    db->compaction_bytes += c->bytes_written;
    db->compactions++;
    db_logf(db, CHALK_LOG_INFO, "compaction: %zu of %zu sealed segments -> %zu, %llu bytes written, "
            "longest pause %llu us", c->nsrc, c->nsealed, c->nout, (unsigned long long)c->bytes_written,
            (unsigned long long)db->compact_pause_usec_max);
    compaction_end(db, 0);
    db_unlink_doomed(db, 0);
}

/* Advance the compaction by one slice. With wait=1, block for the merge
 * thread instead of returning while it runs. */
static void compaction_step(chalk_db *db, int wait)
{
    struct compaction *c = db->comp;
    if (!c || c->phase == COMP_IDLE) return;
    if (c->phase == COMP_MERGE) {
        if (!wait && !atomic_load(&c->finished)) return;
        pthread_join(c->thread, NULL);
        if (c->status) { compaction_end(db, c->status); return; }
        if (swap_begin(db, c) != 0) { compaction_end(db, CHALK_EIO); return; }
    }
    uint64_t t0 = log_now_usec();
    if (c->phase == COMP_COLLECT) collect_step(db, c);
    else swap_step(db, c);
    note_pause(db, t0);
    /* More slices to go: keep the caller's event fd readable so that its
     * loop comes back to chalk_poll soon, between its own requests. */
    if (c->phase == COMP_COLLECT || c->phase == COMP_SWAP) log_signal(&db->log);
}

/* Bytes of the active segment that no index entry points at any more
 * (overwritten or deleted since the segment was started). */
static uint64_t active_dead_bytes(chalk_db *db)
{
    const struct seg_info *s = seg_table_find(&db->segs, db->log.seg_id);
    uint64_t total = db->log.tail > SEG_HEADER_SIZE ? db->log.tail - SEG_HEADER_SIZE : 0;
    return s && total > s->live_bytes ? total - s->live_bytes : 0;
}

/* ---- choosing the sources ------------------------------------------------ */

struct cand {
    uint32_t id;
    uint64_t lo, hi;           /* its seqs lie in [lo, hi]; lo = 0: no record */
    uint64_t live, dead;       /* bytes */
};

static int cmp_cand(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->lo != y->lo) return x->lo < y->lo ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* s->seq_lo of a sealed LOG segment, read from its first record the first
 * time it is needed (one pread; the segment was synced when it was
 * sealed). 0 and *lo = 0 for a segment without records; CHALK_EIO or
 * CHALK_ECORRUPT if the header cannot be read (the caller merges all). */
static int seg_seq_lo(struct seg_info *s, uint64_t *lo)
{
    uint8_t hdr[REC_HEADER_SIZE];
    struct record_view rv;
    *lo = s->seq_lo;
    if (*lo || s->size <= SEG_HEADER_SIZE) return 0;
    if (pread(s->rfd, hdr, sizeof hdr, SEG_HEADER_SIZE) != (ssize_t)sizeof hdr) return CHALK_EIO;
    if (record_decode_header(hdr, sizeof hdr, &rv) <= 0) return CHALK_ECORRUPT;
    *lo = s->seq_lo = rv.seq;
    return 0;
}

/* The sealed segments as candidates, in id order. A merged segment's range
 * is exact (its seq_hi is known); a log segment's ends below the next log
 * segment's first seq (seqs only grow along the log; a batch, and an
 * atomic group, never spans two segments), and the newest sealed one below
 * db->next_seq. 0, or an error from seg_seq_lo. */
static int list_candidates(chalk_db *db, struct cand *v, size_t *n)
{
    uint64_t next_lo = db->next_seq;
    *n = 0;
    for (size_t i = db->segs.n; i-- > 0;) {
        struct seg_info *s = &db->segs.v[i];
        if (s->id == db->log.seg_id || s->doomed) continue;
        uint64_t lo = 0, hi = 0, total = s->size - SEG_HEADER_SIZE;
        if (!(s->flags & SEG_F_MERGED)) {
            int rc = seg_seq_lo(s, &lo);
            if (rc) return rc;
            hi = !lo ? 0 : s->seq_hi ? s->seq_hi : next_lo - 1;
            if (lo) next_lo = lo;
        } else if (s->seq_lo && s->seq_hi) {
            lo = s->seq_lo;
            hi = s->seq_hi;
        } else if (s->size > SEG_HEADER_SIZE) {          /* not known: it could hold any seq */
            lo = 1;
            hi = db->next_seq - 1;
        }
        v[(*n)++] = (struct cand){ s->id, lo, hi, s->live_bytes, total - s->live_bytes };
    }
    return 0;
}

/* How many of the n candidates, sorted by seq (cmp_cand), to merge: the
 * policy (docs/engine.md, "Partial merges"). A prefix of k is SAFE when
 * every seq in it is below every seq outside it (the tombstone rule at the
 * top of this file); k = n always is. It is ENOUGH when what stays sealed
 * afterwards is at most ratio/2 dead: the trigger then waits for at least
 * half a full cycle's garbage before the next compaction (each costs two
 * scans of the whole index on the caller's thread, whatever it merges).
 * Among safe, enough prefixes: the one that reclaims the most bytes net of
 * those it copies (dead - live), the shortest on ties. */
static size_t pick_prefix(const struct cand *v, size_t n, double ratio)
{
    uint64_t *suffix_min = malloc((n + 1) * sizeof *suffix_min);
    if (!suffix_min) return n;
    uint64_t total = 0, dead = 0, dead_k = 0, live_k = 0, prefix_max = 0;
    suffix_min[n] = UINT64_MAX;
    for (size_t i = n; i-- > 0;) {
        suffix_min[i] = v[i].lo && v[i].lo < suffix_min[i + 1] ? v[i].lo : suffix_min[i + 1];
        total += v[i].live + v[i].dead;
        dead += v[i].dead;
    }
    size_t best = n;
    int64_t best_gain = INT64_MIN;
    for (size_t k = 1; k <= n; k++) {
        dead_k += v[k - 1].dead;
        live_k += v[k - 1].live;
        if (v[k - 1].hi > prefix_max) prefix_max = v[k - 1].hi;
        int safe = prefix_max < suffix_min[k];
        int enough = (double)(dead - dead_k) <= ratio / 2 * (double)(total - dead_k);
        int64_t gain = (int64_t)dead_k - (int64_t)live_k;
        if (safe && enough && gain > best_gain) {
            best = k;
            best_gain = gain;
        }
    }
    free(suffix_min);
    return best;
}

/* Fill c->src: every sealed segment for an explicit request, else the
 * prefix pick_prefix chooses; in seq order either way, so that the outputs
 * hold ascending, disjoint seq ranges and later prefixes stay safe. When a
 * first record cannot be read, every sealed segment in id order (today's
 * full merge: always safe). 0 or CHALK_ENOMEM. */
static int choose_sources(chalk_db *db, struct compaction *c, int partial)
{
    size_t n = 0, k;
    struct cand *v = malloc((db->segs.n ? db->segs.n : 1) * sizeof *v);
    c->src = malloc((db->segs.n ? db->segs.n : 1) * sizeof *c->src);
    if (!v || !c->src) { free(v); return CHALK_ENOMEM; }
    if (list_candidates(db, v, &n) != 0) {
        partial = 0;
        n = 0;
        for (size_t i = 0; i < db->segs.n; i++)
            if (db->segs.v[i].id != db->log.seg_id && !db->segs.v[i].doomed)
                v[n++] = (struct cand){ .id = db->segs.v[i].id };
    } else {
        qsort(v, n, sizeof *v, cmp_cand);
    }
    k = partial ? pick_prefix(v, n, db->opt.compact_dead_ratio) : n;
    for (size_t i = 0; i < k; i++) c->src[i] = v[i].id;
    c->nsrc = k;
    c->nsealed = n;
    free(v);
    return 0;
}

/* Start a compaction of the sealed segments. seal_active (an explicit
 * request: chalk_compact, the server's BGSAVE/SAVE/BGREWRITEAOF) first rolls
 * the active segment when it holds dead bytes, so that a small data set,
 * which never fills a 64 MiB segment, is compacted too. The cost: db_roll's
 * fdatasync on the caller's thread and one new segment file per explicit
 * request (never more: a second request finds nothing dead in the new,
 * empty active segment). The automatic trigger does not roll: it fires on
 * sealed segments only, so it never multiplies small files. */
static int compaction_start(chalk_db *db, int seal_active)
{
    if (db->log.failed) return CHALK_EFAILED;
    db_unlink_join(db);                          /* learn how the last one ended */
    if (db->compact_error) return db->compact_error;
    if (!db->comp) {
        db->comp = calloc(1, sizeof *db->comp);
        if (!db->comp) return CHALK_ENOMEM;
        db->comp->db = db;
    }
    struct compaction *c = db->comp;
    /* A second compaction waits for the first one's sources to be gone:
     * one manifest at a time. */
    if (c->phase != COMP_IDLE) return CHALK_EBUSY;
    for (size_t i = 0; i < db->segs.n; i++) if (db->segs.v[i].doomed) return CHALK_EBUSY;
    db_unlink_join(db);                          /* the previous manifest is gone */
    /* An open atomic group cannot roll (txn.h): its records stay together. */
    if (seal_active && !db->group.open && active_dead_bytes(db) > 0) {
        int rc = db_roll(db);
        if (rc) return rc;
    }
    compaction_reset(c);
    c->explicit_req = seal_active;
    int rc = choose_sources(db, c, !seal_active);
    if (rc) return rc;
    c->last_result = 0;
    if (c->nsrc == 0) {                          /* nothing sealed: done at once */
        c->ended_ms = db_now_ms();                /* (LASTSAVE still moves) */
        return 0;
    }
    c->phase = COMP_COLLECT;
    c->cursor = 0;
    compaction_step(db, 0);
    return 0;
}

int chalk_compact(chalk_db *db)
{
    return compaction_start(db, 1);
}

int chalk_compact_schedule(chalk_db *db)
{
    int rc = chalk_compact(db);
    if (rc != CHALK_EBUSY) return rc;
    db->comp->scheduled = 1;                     /* EBUSY implies db->comp */
    return 1;
}

/* A scheduled request starts once the running compaction is swapped in and
 * its sources deleted (EBUSY until then: tried again at the next poll). */
static void maybe_run_scheduled(chalk_db *db)
{
    struct compaction *c = db->comp;
    if (!c || !c->scheduled || c->phase != COMP_IDLE) return;
    int rc = compaction_start(db, 1);
    if (rc == CHALK_EBUSY) return;
    c->scheduled = 0;
    if (rc) db_logf(db, CHALK_LOG_ERROR, "scheduled compaction: %s", chalk_strerror(rc));
}

void compaction_stats(const chalk_db *db, chalk_stats *out)
{
    const struct compaction *c = db->comp;
    out->compaction_running = c && c->phase != COMP_IDLE;
    out->compaction_explicit = out->compaction_running && c->explicit_req;
    out->compaction_scheduled = c && c->scheduled;
    out->compaction_last_status = c ? c->last_result : 0;
    out->compaction_last_end_ms = c ? c->ended_ms : 0;
}

/* The trigger: dead bytes of the sealed segments over the ratio. */
static void maybe_trigger(chalk_db *db)
{
    uint64_t total = 0, live = 0;
    if (db->opt.compact_dead_ratio <= 0 || db->log.failed) return;
    if (db->comp && db->comp->phase != COMP_IDLE) return;
    /* After a failure (ENOSPC...), wait a minute rather than rescanning the
     * index on every poll. */
    if (db->comp && db->comp->failed_at_usec && log_now_usec() - db->comp->failed_at_usec < 60000000u) return;
    for (size_t i = 0; i < db->segs.n; i++) {
        const struct seg_info *s = &db->segs.v[i];
        if (s->id == db->log.seg_id || s->doomed) continue;
        total += s->size - SEG_HEADER_SIZE;
        live += s->live_bytes;
    }
    if (total >= db->opt.segment_size / 2 && (double)(total - live) > db->opt.compact_dead_ratio * (double)total)
        compaction_start(db, 0);
}

void compaction_poll(chalk_db *db)
{
    compaction_step(db, 0);
    maybe_run_scheduled(db);
    maybe_trigger(db);
}

int chalk_compact_wait(chalk_db *db)
{
    while (db->comp && db->comp->phase != COMP_IDLE) compaction_step(db, 1);
    return db->comp ? db->comp->last_result : 0;
}

/* At close: a collection not yet merged is abandoned; a merge is waited for
 * and, since it committed, swapped in. */
void compaction_shutdown(chalk_db *db)
{
    db_unlink_join(db);
    if (!db->comp) return;
    if (db->comp->phase == COMP_COLLECT) db->comp->phase = COMP_IDLE;
    chalk_compact_wait(db);
    compaction_reset(db->comp);
    free(db->comp);
    db->comp = NULL;
}

/* Step 7: delete the sources. The files are unlinked by a short-lived
 * thread (an unlink of a big file and two directory fsyncs took ~50 ms on
 * the caller's thread at 1M keys); the segment table lets go of them at
 * once. The next compaction joins that thread before writing its manifest,
 * and chalk_close joins it, so two manifests never overlap. */
struct unlink_job {
    const struct chalk_vfs *vfs;
    char     *dir;
    uint32_t *ids;
    size_t    n;
    int       failed;          /* an unlink or directory fsync failed */
};

/* 0, or -errno of the first failure; ENOENT counts as done. */
static int unlink_listed(const struct chalk_vfs *vfs, const char *dir, const uint32_t *ids, size_t n)
{
    char path[SEG_PATH_MAX];
    int first = 0;
    for (size_t i = 0; i < n; i++) {
        static const char *ext[2] = { ".log", ".hint" };
        for (int k = 0; k < 2; k++) {
            seg_path(path, sizeof path, dir, ids[i], ext[k]);
            int rc = vfs->unlink(vfs->ctx, path);
            if (rc < 0 && rc != -ENOENT && !first) first = rc;
        }
    }
    int rc = vfs->fsync_dir(vfs->ctx, dir);
    return first ? first : rc < 0 ? rc : 0;
}

/* Why this order, and why a failure keeps the manifest: the manifest must
 * outlive every source it names. If one source could not be deleted, the
 * merge already dropped the tombstones that hid its PUTs; only the
 * manifest still says "this file is dead", so recovery deletes it (or
 * refuses to open) instead of replaying it. */
static void unlink_sources(struct unlink_job *j)
{
    char path[SEG_PATH_MAX];
    if (unlink_listed(j->vfs, j->dir, j->ids, j->n) != 0) {
        j->failed = 1;
        return;
    }
    snprintf(path, sizeof path, "%s/COMPACTION", j->dir);
    j->vfs->unlink(j->vfs->ctx, path);
    j->vfs->fsync_dir(j->vfs->ctx, j->dir);
}

static void unlink_done(chalk_db *db, struct unlink_job *j)
{
    if (j->failed) {
        db->compact_error = CHALK_EIO;
        db_logf(db, CHALK_LOG_ERROR, "could not delete the old segments of a compaction: "
                "COMPACTION kept, no further compaction until reopen (recovery deletes them)");
    }
    free(j->ids);
    free(j);
}

static void *unlink_thread(void *arg)
{
    unlink_sources(arg);
    return NULL;
}

void db_unlink_join(chalk_db *db)
{
    if (!db->unlink_job) return;
    pthread_join(db->unlink_thread, NULL);
    unlink_done(db, db->unlink_job);
    db->unlink_job = NULL;
}

void db_unlink_doomed(chalk_db *db, int wait)
{
    if (db->snaps) return;                       /* a snapshot may read them */
    size_t n = 0;
    for (size_t i = 0; i < db->segs.n; i++) n += db->segs.v[i].doomed != 0;
    if (n == 0) return;
    db_unlink_join(db);
    struct unlink_job *j = calloc(1, sizeof *j);
    uint32_t *ids = malloc(n * sizeof *ids);
    if (!j || !ids) { free(j); free(ids); return; }   /* retried at the next call */
    for (size_t i = db->segs.n; i-- > 0;)
        if (db->segs.v[i].doomed) {
            ids[j->n++] = db->segs.v[i].id;
            seg_table_remove(&db->segs, db->segs.v[i].id);   /* closes its fd */
        }
    j->vfs = db->vfs;
    j->dir = db->dir;
    j->ids = ids;
    if (!wait && pthread_create(&db->unlink_thread, NULL, unlink_thread, j) == 0) {
        db->unlink_job = j;
        return;
    }
    unlink_sources(j);
    unlink_done(db, j);
}

/* Recovery: a manifest on disk means a compaction committed but its sources
 * may not all be gone: finish step 7 before anything is replayed. */
int recover_finish_compaction(chalk_db *db)
{
    char path[SEG_PATH_MAX];
    snprintf(path, sizeof path, "%s/COMPACTION", db->dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    uint8_t buf[4096 * 4 + 20];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n < 20 || memcmp(buf, MANIFEST_MAGIC, 8) != 0 || (size_t)n != 20 + 4 * (size_t)get_le32(buf + 8) ||
        get_le64(buf + n - 8) != record_checksum(buf, (size_t)n - 8)) {
        /* Written and synced before its rename, so it cannot be torn. */
        db_logf(db, CHALK_LOG_ERROR, "%s is corrupt", path);
        return CHALK_ECORRUPT;
    }
    uint32_t count = get_le32(buf + 8);
    uint32_t ids[4096];
    for (uint32_t i = 0; i < count; i++) ids[i] = get_le32(buf + 12 + 4 * i);
    if (unlink_listed(db->vfs, db->dir, ids, count) != 0) {
        /* Replaying a source the merge made obsolete could resurrect keys. */
        db_logf(db, CHALK_LOG_ERROR, "cannot delete the old segments listed in %s: refusing to open", path);
        return CHALK_EIO;
    }
    db->vfs->unlink(db->vfs->ctx, path);
    db->vfs->fsync_dir(db->vfs->ctx, db->dir);
    db_logf(db, CHALK_LOG_INFO, "finished an interrupted compaction: %u old segments removed", count);
    return 0;
}
