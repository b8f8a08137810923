/*
 * recover.c — rebuild the indexes at open by replaying the log.
 *
 *   db_recover
 *     1. remove leftovers of an interrupted compaction (*.tmp)
 *     2. list the segments; read their headers (merged or not)
 *     3a. merge every valid, sorted hint file by key into the empty hash
 *        index (load_sorted_hints: one entry per key, kept in key order)
 *     3b. replay the other segments in id order: from an unsorted hint
 *        file if valid (hint.c), else by scanning its records (scan_segment)
 *     4. build the ordered index once, from every live key in key order
 *        (build_ordered), then drop the tombstone markers (finish); live
 *        bytes per segment and the expiry set were kept up to date record
 *        by record (replay_apply)
 *     5. reopen the newest non-merged segment for appends, or create one
 *
 * The rules, in the order recovery applies them:
 *   R1. Newest seq wins: a record is applied only if no record with a
 *       higher seq was seen for its key. Compaction's output has new ids
 *       but old seqs, so ids alone could not order records. Between equal
 *       seqs the higher segment id wins, then the later record in a
 *       segment (superseded): so the order of replay does not matter, and
 *       step 3a can take every sorted hint file first.
 *   R2. A batch is applied whole, at its COMMIT record (record.c).
 *   R3. A tombstone stays as a marker until the end, so that an older PUT
 *       met later (in a merged segment) cannot resurrect the key.
 *   R4. The bad point of a segment is its first invalid record, or the
 *       start of a batch without its COMMIT. In the NEWEST non-merged
 *       segment it is a TORN TAIL if and only if no record that verifies,
 *       with a seq higher than the last whole batch before it, starts after
 *       the bad record (segment.h, seg_find_valid_after): a crash mid-
 *       append leaves only garbage, zeros or nothing after the bad point.
 *       A torn tail is truncated, logged, counted. Only the newest segment
 *       can hold unsynced bytes: db_roll syncs a segment before the next
 *       one exists.
 *   R5. Anything else is CORRUPTION: a bad point in a sealed segment, or in
 *       the newest one with valid records after it. Open fails with
 *       CHALK_ECORRUPT naming the file and offset, unless options.repair
 *       truncates there (logged, with how many valid records it drops).
 *       Cost of hint files: a merged segment loaded from its hint is not
 *       read at open, so a bit flip in it is found when that value is read
 *       (chalk_get returns CHALK_ECORRUPT, never the bad bytes) or by
 *       chalk-check, not at open. Bitcask makes the same trade.
 *
 * Why R4 refuses when valid records follow, although a power loss can
 * cause that too: the page cache may write the dirty pages of the unsynced
 * tail back out of order, so a lost (zero) page can sit before a page that
 * did reach the disk (fault_vfs.c, FAULT_CRASH_REORDER). The records after
 * such a hole were never synced, so never acknowledged under ALWAYS, and
 * cutting them would be right. But a bit flip, or a sector the disk
 * returns as zeros, in the synced part looks exactly the same, and there
 * the records after it may be acknowledged. Recovery cannot tell the two
 * apart (the log does not record where the last fdatasync ended), so it
 * takes the side that loses nothing: it refuses, names the file and the
 * offset, and leaves the cut to the operator (repair=1, or chalk-check
 * --repair --force). Redis does the same with an AOF damaged in its middle
 * (only a truncated tail is loaded; redis-check-aof --fix cuts). The cost:
 * after a power loss that wrote pages out of order, open may need repair.
 * What no rule can save: a bit flip in the very last record looks like a
 * torn append and is cut (that record's acknowledgement is lost).
 *
 * @interview(storage.recovery): How does a log-structured store recover
 * after a crash, and how does it tell a torn write from corruption? It
 * replays every segment in order, verifying each record's checksums, and
 * rebuilds the in-memory index (newest sequence number wins). A bad record
 * at the tail of the newest segment, with nothing valid after it, is the
 * expected result of a crash mid-append and is truncated; a bad record
 * anywhere else, or one followed by valid records, cannot be told from
 * damage to acknowledged data, so it is reported, never skipped.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "hint.h"
#include "segment.h"
#include "vfs.h"

/* The records of a batch whose COMMIT has not been read yet. */
struct pending_op {
    uint8_t  kind;
    uint64_t seq;
    uint32_t off, size;
    int64_t  expire_at_ms;
    uint32_t klen;
    uint8_t *key;              /* malloc'd copy */
};
struct pending_batch {
    struct pending_op *v;
    size_t n, cap;
    uint64_t start;            /* offset of its first record */
};

static void pending_clear(struct pending_batch *pb)
{
    for (size_t i = 0; i < pb->n; i++) free(pb->v[i].key);
    pb->n = 0;
}

/* The state of one recovery, passed down every replay function. */
struct recovery {
    chalk_db   *db;
    idx_entry **markers;       /* entries that became tombstone markers (R3),
                                  each possibly more than once: dropped in finish */
    size_t      n_markers, cap_markers;
    idx_entry **merged;        /* step 3a's entries, in key order */
    size_t      n_merged;
    idx_entry **fresh;         /* entries step 3b created, in log order */
    size_t      n_fresh, cap_fresh;
};

/* One record to apply, from a log scan or a hint file. */
struct replayed {
    uint8_t     kind;          /* REC_PUT or REC_DEL */
    uint64_t    seq;
    uint32_t    seg, off, size;
    int64_t     expire_at_ms;
    const void *key;
    uint32_t    klen;
};

/* Widen segment seg's seq range (seg_info.seq_lo/seq_hi) to [lo, hi];
 * lo = 0: no record seen. Compaction chooses its sources by these ranges. */
struct seq_range { uint64_t lo, hi; };

static void range_add(struct seq_range *r, uint64_t seq)
{
    if (!r->lo || seq < r->lo) r->lo = seq;
    if (seq > r->hi) r->hi = seq;
}

static void note_seq_range(chalk_db *db, uint32_t seg, const struct seq_range *r)
{
    struct seg_info *s = seg_table_find(&db->segs, seg);
    if (!s || !r->lo) return;
    if (!s->seq_lo || r->lo < s->seq_lo) s->seq_lo = r->lo;
    if (r->hi > s->seq_hi) s->seq_hi = r->hi;
}

static void live_add(chalk_db *db, uint32_t seg, int64_t delta)
{
    struct seg_info *s = seg_table_find(&db->segs, seg);
    assert(s);                  /* replay_segment adds a segment before replaying it */
    s->live_bytes = (uint64_t)((int64_t)s->live_bytes + delta);
}

/* Append e to a growing array of entries. 0 or CHALK_ENOMEM. */
static int push_entry(idx_entry ***v, size_t *n, size_t *cap, idx_entry *e)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        idx_entry **nv = realloc(*v, c * sizeof *nv);
        if (!nv) return CHALK_ENOMEM;
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = e;
    return 0;
}

/* R1 with the tie rule that makes the order of segments irrelevant: the
 * sorted hint files are merged first (load_sorted_hints), the other
 * segments follow in id order. Replaying all in id order, the last of the
 * records with the highest seq won: the one in the highest segment id,
 * and in one segment the last (two PUTs of one key in one batch share a
 * seq). Comparing (seq, segment id), and letting an equal pair replace,
 * picks that same record in any order of segments. */
static int superseded(const idx_entry *e, const struct replayed *r)
{
    return e->seq > r->seq || (e->seq == r->seq && e->segment_id > r->seg);
}

/* Apply one record under rules R1 and R3, keeping the per-segment live
 * bytes and the expiry set up to date as it goes. Why here and not in one
 * pass at the end: that pass visited every entry in hash order, a cache
 * miss per key — 22% of opening 1M keys. 0 or CHALK_ENOMEM. */
static int replay_apply(struct recovery *rec, const struct replayed *r)
{
    chalk_db *db = rec->db;
    uint64_t hash = idx_hash(r->key, r->klen);
    idx_entry *e = hidx_find(db->h, hash, r->key, r->klen);
    if (e && superseded(e, r)) return 0;          /* R1 */
    int was_marker = e && e->record_size == 0;
    if (!e) {                                     /* the ordered index: in finish */
        e = db_entry_new(db, r->key, r->klen, hash);
        if (!e) return CHALK_ENOMEM;
        hidx_insert_new(db->h, e);                /* hidx_find just missed it */
        if (push_entry(&rec->fresh, &rec->n_fresh, &rec->cap_fresh, e) != 0)
            return CHALK_ENOMEM;                  /* open fails; db_free frees h */
    } else if (e->record_size) {
        live_add(db, e->segment_id, -(int64_t)e->record_size);
    }
    e->seq = r->seq;
    e->segment_id = r->seg;
    e->offset = r->off;
    if (r->seq >= db->next_seq) db->next_seq = r->seq + 1;
    if (r->kind != REC_PUT) {                     /* 0: tombstone marker (R3) */
        e->record_size = 0;
        db_expiry_update(db, e, 0);
        return was_marker ? 0 : push_entry(&rec->markers, &rec->n_markers,
                                           &rec->cap_markers, e);
    }
    e->record_size = r->size;
    live_add(db, r->seg, r->size);
    db_expiry_update(db, e, r->expire_at_ms);
    return 0;
}

static int apply_batch(struct recovery *rec, struct pending_batch *pb, uint32_t seg)
{
    int rc = 0;
    for (size_t i = 0; i < pb->n && rc == 0; i++) {
        struct pending_op *o = &pb->v[i];
        struct replayed r = { o->kind, o->seq, seg, o->off, o->size, o->expire_at_ms,
                              o->key, o->klen };
        rc = replay_apply(rec, &r);
    }
    pending_clear(pb);
    return rc;
}

static int pending_push(struct pending_batch *pb, const struct record_view *rv, uint64_t off)
{
    if (pb->n == pb->cap) {
        size_t cap = pb->cap ? 2 * pb->cap : 16;
        struct pending_op *nv = realloc(pb->v, cap * sizeof *nv);
        if (!nv) return CHALK_ENOMEM;
        pb->v = nv;
        pb->cap = cap;
    }
    uint8_t *k = malloc(rv->klen ? rv->klen : 1);
    if (!k) return CHALK_ENOMEM;
    if (rv->klen) memcpy(k, rv->key, rv->klen);
    pb->v[pb->n++] = (struct pending_op){ rv->kind, rv->seq, (uint32_t)off, rv->size,
                                          rv->expire_at_ms, rv->klen, k };
    return 0;
}

/* The first problem of a segment, as scan_segment found it. */
struct bad_point {
    const char *why;           /* NULL: the segment is clean */
    uint64_t    off;           /* where a cut would go: the bad record, or
                                  the start of the batch it belongs to */
    uint64_t    scan_from;     /* where later records could start */
    uint64_t    last_seq;      /* seq of the last whole batch before it */
};

/* Truncate `path` to bad->off and make the cut durable; log it. */
static int cut_segment(chalk_db *db, const char *path, const struct bad_point *bad,
                       uint64_t *size, const char *what, const char *note)
{
    int fd = db->vfs->open(db->vfs->ctx, path, O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) return CHALK_EIO;
    int rc = db->vfs->ftruncate(db->vfs->ctx, fd, bad->off);
    if (rc == 0) rc = db->vfs->fdatasync(db->vfs->ctx, fd);
    db->vfs->close(db->vfs->ctx, fd);
    if (rc < 0) return seg_errno_to_chalk(rc);
    db_logf(db, CHALK_LOG_WARN, "%s %s at offset %llu (%s): dropped %llu bytes%s", what, path,
            (unsigned long long)bad->off, bad->why, (unsigned long long)(*size - bad->off), note);
    db->truncated_bytes += *size - bad->off;
    *size = bad->off;
    return 0;
}

/* R4/R5: cut segment `path` at its bad point, or refuse. r is still open on
 * it (the scan for later records reads through it). */
static int handle_bad_point(chalk_db *db, struct seg_reader *r, const char *path, int newest,
                            const struct bad_point *bad, uint64_t *size)
{
    struct seg_after after = { 0 };
    if (newest) {
        int rc = seg_find_valid_after(r, bad->scan_from, bad->last_seq, &after);
        if (rc) return rc;
        if (after.records == 0)
            return cut_segment(db, path, bad, size, "torn tail of",
                               seg_all_zero(r->fd, bad->off, *size)
                               ? ", all zeros (the pre-written chunk of fsync=always, or lost "
                                 "pages: no record in them)" : "");
    }
    if (!db->opt.repair) {
        if (newest)
            db_logf(db, CHALK_LOG_ERROR, "corruption in newest segment %s at offset %llu: %s; "
                    "but %llu valid records follow (the first at offset %llu, seq %llu), so this "
                    "is not a torn append and they may be acknowledged writes (to truncate "
                    "there, dropping them: open with repair=1, or run chalk-check --repair "
                    "--force on the directory)", path,
                    (unsigned long long)bad->off, bad->why, (unsigned long long)after.records,
                    (unsigned long long)after.first_off, (unsigned long long)after.first_seq);
        else
            db_logf(db, CHALK_LOG_ERROR, "corruption in sealed segment %s at offset %llu: %s "
                    "(to truncate there: open with repair=1, or run chalk-check --repair "
                    "--force on the directory)", path,
                    (unsigned long long)bad->off, bad->why);
        return CHALK_ECORRUPT;
    }
    return cut_segment(db, path, bad, size, newest ? "repair: truncated newest segment"
                                                   : "repair: truncated sealed segment",
                       after.records ? ", valid records among them" : "");
}

/* Replay one segment's records (rule R2). On return *r is still open (its
 * fd becomes the segment's read fd) and *size is the valid length. */
static int scan_segment(struct recovery *rec, struct seg_reader *r, const char *path,
                        int newest, uint64_t *size)
{
    chalk_db *db = rec->db;
    struct pending_batch pb = { 0 };
    struct record_view rv;
    struct bad_point bad = { 0 };
    struct seq_range range = { 0, 0 };         /* of the batches applied */
    uint64_t off, last_seq = 0;
    int rc;
    uint32_t seg = r->header.segment_id;
    while ((rc = seg_reader_next(r, &rv, &off)) == 1) {
        if (pb.n && rv.seq != pb.v[0].seq) {      /* a batch without its COMMIT */
            bad = (struct bad_point){ "batch without its commit record", pb.start, off, last_seq };
            break;
        }
        if (!pb.n) pb.start = off;
        if ((rc = pending_push(&pb, &rv, off)) != 0) goto out;
        if (!(rv.flags & REC_F_COMMIT)) continue;
        last_seq = rv.seq;
        range_add(&range, rv.seq);
        if ((rc = apply_batch(rec, &pb, seg)) != 0) goto out;
    }
    if (rc == 0 && pb.n)
        bad = (struct bad_point){ "batch without its commit record at end of file", pb.start,
                                  r->file_size, last_seq };
    if (rc == CHALK_ECORRUPT) {
        bad = (struct bad_point){ r->why, pb.n ? pb.start : off, r->resume, last_seq };
        rc = 0;
    }
    if (rc < 0) goto out;
    *size = r->file_size;
    rc = bad.why ? handle_bad_point(db, r, path, newest, &bad, size) : 0;
out:
    note_seq_range(db, seg, &range);           /* what stays: a cut drops only later batches */
    pending_clear(&pb);
    free(pb.v);
    return rc;
}

/* Step 1: a *.tmp is an unfinished compaction output; the segments it was
 * copied from are all still there (they are unlinked only after the rename). */
static void remove_tmp_files(chalk_db *db)
{
    DIR *d = opendir(db->dir);
    if (!d) return;
    struct dirent *de;
    char path[SEG_PATH_MAX];
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 4 || strcmp(de->d_name + len - 4, ".tmp") != 0) continue;
        snprintf(path, sizeof path, "%s/%s", db->dir, de->d_name);
        db->vfs->unlink(db->vfs->ctx, path);
        db_logf(db, CHALK_LOG_INFO, "removed unfinished compaction file %s", path);
    }
    closedir(d);
}

struct seg_candidate {
    uint32_t id;
    uint32_t flags;
    int      done;             /* replayed by load_sorted_hints */
};

static uint64_t seg_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : UINT64_MAX;
}

/* Step 2: headers. *newest = the newest non-merged id, or 0.
 *
 * A file holding no more than a (bad) header is a segment whose creation
 * was interrupted (seg_create crashed before its header was durable) if
 * every segment after it is a merged one: creation only ever happens for
 * the newest non-merged segment, while merged outputs take ids from the
 * same counter. Nothing can be in such a file: it is removed. Anywhere
 * else (a sealed segment always holds records) it is corruption. */
static int read_headers(chalk_db *db, uint32_t *ids, size_t *n,
                        struct seg_candidate *out, uint32_t *newest)
{
    char path[SEG_PATH_MAX];
    struct seg_reader r;
    int torn = -1;                      /* index of an interrupted creation */
    *newest = 0;
    for (size_t i = 0; i < *n; i++) {
        seg_path(path, sizeof path, db->dir, ids[i], ".log");
        int rc = seg_reader_open(&r, path), opened = rc == 0;   /* closed on error */
        if (rc == CHALK_ECORRUPT && torn < 0 && seg_file_size(path) <= SEG_HEADER_SIZE) {
            torn = (int)i;
            out[i] = (struct seg_candidate){ ids[i], 0, 0 };
            continue;
        }
        const char *why = rc ? (r.why ? r.why : "cannot open") : NULL;
        if (rc == 0 && r.header.segment_id != ids[i]) { rc = CHALK_ECORRUPT; why = "id differs from file name"; }
        if (rc == 0 && torn >= 0 && !(r.header.flags & SEG_F_MERGED)) {
            rc = CHALK_ECORRUPT;          /* the short file was not the newest */
            seg_path(path, sizeof path, db->dir, ids[torn], ".log");
            why = "file shorter than a segment header, and not the newest segment";
        }
        if (opened && rc != 0) seg_reader_close(&r);
        if (rc != 0) {
            db_logf(db, CHALK_LOG_ERROR, "%s: %s", path, why);
            return rc;
        }
        out[i] = (struct seg_candidate){ ids[i], r.header.flags, 0 };
        if (!(r.header.flags & SEG_F_MERGED)) *newest = ids[i];
        seg_reader_close(&r);
    }
    if (torn >= 0) {
        seg_path(path, sizeof path, db->dir, ids[torn], ".log");
        db_logf(db, CHALK_LOG_WARN, "removing %s: its creation was interrupted", path);
        int rc = db->vfs->unlink(db->vfs->ctx, path);
        if (rc < 0 && rc != -ENOENT) return seg_errno_to_chalk(rc);
        memmove(&ids[torn], &ids[torn + 1], (*n - (size_t)torn - 1) * sizeof *ids);
        memmove(&out[torn], &out[torn + 1], (*n - (size_t)torn - 1) * sizeof *out);
        (*n)--;
    }
    return 0;
}

/* Apply every entry of a validated hint file (all PUTs: merged segments
 * hold no tombstones). */
static int apply_hint(struct recovery *rec, struct hint_file *hf)
{
    struct hint_entry he;
    struct seq_range range = { 0, 0 };
    int rc = 0;
    while (rc == 0 && hint_next(hf, &he)) {
        struct replayed r = { REC_PUT, he.seq, hf->seg_id, he.offset, he.record_size,
                              he.expire_at_ms, he.key, he.klen };
        range_add(&range, he.seq);
        rc = replay_apply(rec, &r);
    }
    note_seq_range(rec->db, hf->seg_id, &range);
    return rc;
}

/* Step 3 for one segment. It joins the segment table first, so that
 * replay_apply can count its live bytes; the table owns the fd from then
 * on (also on failure: db_free closes it). */
static int replay_segment(struct recovery *rec, const struct seg_candidate *c, int newest)
{
    chalk_db *db = rec->db;
    char path[SEG_PATH_MAX];
    struct seg_reader r;
    struct hint_file hf;
    uint64_t size;
    seg_path(path, sizeof path, db->dir, c->id, ".log");
    int rc = seg_reader_open(&r, path);
    if (rc) return rc;
    size = r.file_size;
    rc = seg_table_add(&db->segs, c->id, r.fd, size, c->flags);
    if (rc) { seg_reader_close(&r); return rc; }
    if ((c->flags & SEG_F_MERGED) && hint_open(db, c->id, size, &hf) == 0) {
        rc = apply_hint(rec, &hf);
        hint_close(&hf);
    } else {
        rc = scan_segment(rec, &r, path, newest, &size);
        if (rc == 0) seg_table_find(&db->segs, c->id)->size = size;   /* after a cut */
    }
    r.fd = -1;                                  /* owned by the table */
    seg_reader_close(&r);
    return rc;
}

/* ---- step 3a: the sorted hint files, merged -------------------------------
 *
 * Every valid, sorted hint file is read first and all of them are merged
 * by key (a binary heap of cursors, one per file), the way an LSM tree
 * merges sorted runs. The merge yields each key once, with its winning
 * record (highest seq, then highest segment id), already in key order: the
 * hash index takes it with no duplicate search (hidx_insert_new) and the
 * ordered index is built bottom up (oidx_bulk_load) instead of by one
 * descent per key. The other segments (logs, merged ones whose hint is
 * missing, invalid or unsorted) are replayed after, key by key. */
struct hint_cursor {
    struct hint_file  hf;
    struct hint_entry cur;     /* the file's current (smallest unread) entry */
    struct seq_range  range;   /* of the entries read so far */
};

static int cursor_less(const struct hint_cursor *a, const struct hint_cursor *b)
{
    return idx_keycmp_inline(a->cur.key, a->cur.klen, b->cur.key, b->cur.klen) < 0;
}

static void heap_down(struct hint_cursor **h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && cursor_less(h[l], h[m])) m = l;
        if (l + 1 < n && cursor_less(h[l + 1], h[m])) m = l + 1;
        if (m == i) return;
        struct hint_cursor *t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* Move the top cursor to its next entry; *n shrinks when it is done. */
static void heap_advance(struct hint_cursor **h, size_t *n)
{
    range_add(&h[0]->range, h[0]->cur.seq);   /* every entry leaves through here */
    if (!hint_next(&h[0]->hf, &h[0]->cur)) h[0] = h[--*n];
    heap_down(h, *n, 0);
}

/* Make the entry of one merged key; it joins the indexes in index_merged.
 * Its expiry waits in the entry (expire_slot 0: not in the set yet). */
static idx_entry *emit_hint_entry(chalk_db *db, const struct hint_entry *he, uint32_t seg)
{
    idx_entry *e = db_entry_new(db, he->key, he->klen, idx_hash(he->key, he->klen));
    if (!e) return NULL;
    e->seq = he->seq;
    e->segment_id = seg;
    e->offset = he->offset;
    e->record_size = he->record_size;
    e->expire_at_ms = he->expire_at_ms;
    live_add(db, seg, he->record_size);
    if (he->seq >= db->next_seq) db->next_seq = he->seq + 1;
    return e;
}

#define HASH_PREFETCH_AHEAD 16   /* keys: enough misses in flight to hide one */

/* Link the merged entries v[0..n) into the empty hash index (the ordered
 * index is built in finish). Each key goes in with no duplicate search
 * (the merge yields a key once), its random bucket prefetched
 * HASH_PREFETCH_AHEAD keys early: a miss per key was 41% of the open once
 * the rest was fast. */
static void index_merged(chalk_db *db, idx_entry **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i + HASH_PREFETCH_AHEAD < n) hidx_prefetch(db->h, v[i + HASH_PREFETCH_AHEAD]->hash);
        hidx_insert_new(db->h, v[i]);
        int64_t exp = v[i]->expire_at_ms;
        if (exp) db_expiry_update(db, v[i], exp);
    }
}

/* Merge the cursors h[0..n) into entries; *count = entries made. */
static int merge_hints(chalk_db *db, struct hint_cursor **h, size_t n, idx_entry **out,
                       size_t *count)
{
    for (size_t i = n; i-- > 0;) heap_down(h, n, i);
    while (n > 0) {
        struct hint_entry win = h[0]->cur;
        uint32_t win_seg = h[0]->hf.seg_id;
        heap_advance(h, &n);
        while (n > 0 && idx_keycmp_inline(h[0]->cur.key, h[0]->cur.klen, win.key, win.klen) == 0) {
            const struct hint_entry *c = &h[0]->cur;
            if (c->seq > win.seq || (c->seq == win.seq && h[0]->hf.seg_id > win_seg)) {
                win = *c;
                win_seg = h[0]->hf.seg_id;
            }
            heap_advance(h, &n);
        }
        if (!(out[*count] = emit_hint_entry(db, &win, win_seg))) return CHALK_ENOMEM;
        (*count)++;
    }
    return 0;
}

/* Open c's segment and its hint; if the hint is valid and sorted, the
 * segment joins the table and *cur holds the open hint (1); else nothing
 * changed (0: the segment is replayed in step 3b). <0 on error. */
static int open_sorted_hint(chalk_db *db, struct seg_candidate *c, struct hint_cursor *cur)
{
    char path[SEG_PATH_MAX];
    struct seg_reader r;
    seg_path(path, sizeof path, db->dir, c->id, ".log");
    int rc = seg_reader_open(&r, path);
    if (rc) return rc;
    if (hint_open(db, c->id, r.file_size, &cur->hf) != 0) { seg_reader_close(&r); return 0; }
    if (!cur->hf.sorted) {
        hint_close(&cur->hf);
        seg_reader_close(&r);
        return 0;
    }
    rc = seg_table_add(&db->segs, c->id, r.fd, r.file_size, c->flags);
    if (rc == 0) r.fd = -1;                     /* owned by the table */
    seg_reader_close(&r);
    if (rc) { hint_close(&cur->hf); return rc; }
    c->done = 1;
    return 1;
}

/* Step 3a. Runs first, on empty indexes. */
static int load_sorted_hints(struct recovery *rec, struct seg_candidate *c, size_t n)
{
    chalk_db *db = rec->db;
    struct hint_cursor *cur = calloc(n ? n : 1, sizeof *cur);
    struct hint_cursor **heap = calloc(n ? n : 1, sizeof *heap);
    idx_entry **entries = NULL;
    size_t nh = 0, total = 0, made = 0;
    int rc = cur && heap ? 0 : CHALK_ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!(c[i].flags & SEG_F_MERGED)) continue;
        rc = open_sorted_hint(db, &c[i], &cur[nh]);
        if (rc == 1) total += cur[nh++].hf.left;
        rc = rc < 0 ? rc : 0;
    }
    size_t live = 0;
    for (size_t i = 0; i < nh; i++)
        if (hint_next(&cur[i].hf, &cur[i].cur)) heap[live++] = &cur[i];
    if (rc == 0 && live > 0 && !(entries = malloc(total * sizeof *entries))) rc = CHALK_ENOMEM;
    if (rc == 0 && live > 0) rc = merge_hints(db, heap, live, entries, &made);
    if (rc == 0) {
        index_merged(db, entries, made);
        rec->merged = entries;                  /* finish builds the ordered index */
        rec->n_merged = made;
        entries = NULL;
    } else {
        for (size_t i = 0; i < made; i++) db_entry_free(db, entries[i]);   /* in no index */
    }
    for (size_t i = 0; i < nh; i++) {
        note_seq_range(db, cur[i].hf.seg_id, &cur[i].range);
        hint_close(&cur[i].hf);
    }
    free(entries);
    free(heap);
    free(cur);
    return rc;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(idx_entry *const *)a, y = (uintptr_t)*(idx_entry *const *)b;
    return (x > y) - (x < y);
}

/* A key's first 8 bytes as a big-endian number (zero-padded): comparing
 * two of them orders keys as idx_keycmp does, unless they are equal. */
struct keyed { uint64_t prefix; idx_entry *e; };

static uint64_t key_prefix(const idx_entry *e)
{
    uint64_t p = 0;
    for (uint32_t i = 0; i < 8; i++) p = p << 8 | (i < e->klen ? e->key[i] : 0);
    return p;
}

static int cmp_keyed(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    if (x->prefix != y->prefix) return x->prefix < y->prefix ? -1 : 1;
    return idx_keycmp_inline(x->e->key, x->e->klen, y->e->key, y->e->klen);
}

/* Sort v[0..n) by key, in place. Why a prefix beside each pointer: most
 * comparisons are then decided inside the array, without following the
 * pointer to the key (a cache miss). 16 bytes per key, for the sort. */
static int sort_by_key(idx_entry **v, size_t n)
{
    struct keyed *k = malloc((n ? n : 1) * sizeof *k);
    if (!k) return CHALK_ENOMEM;
    for (size_t i = 0; i < n; i++) k[i] = (struct keyed){ key_prefix(v[i]), v[i] };
    qsort(k, n, sizeof *k, cmp_keyed);
    for (size_t i = 0; i < n; i++) v[i] = k[i].e;
    free(k);
    return 0;
}

/* Step 4a: build the ordered index once, from every live entry in key
 * order: step 3a's (sorted by the merge) and step 3b's new keys (sorted
 * here), merged, tombstone markers left out (they are dropped next). Why
 * not one oidx_insert per key during the replay: log records come in write
 * order, so each insert was a B+tree descent with a cache miss per key
 * comparison, over half of a log-only open. The two lists hold different
 * keys: 3b creates an entry only for a key the hash index did not have. */
static int build_ordered(struct recovery *rec)
{
    idx_entry **a = rec->merged, **b = rec->fresh, **out;
    size_t na = rec->n_merged, nb = rec->n_fresh, i = 0, j = 0, n = 0;
    if (sort_by_key(b, nb) != 0) return CHALK_ENOMEM;
    if (!(out = malloc((na + nb ? na + nb : 1) * sizeof *out))) return CHALK_ENOMEM;
    while (i < na || j < nb) {
        idx_entry *e = j >= nb || (i < na && idx_keycmp_inline(a[i]->key, a[i]->klen, b[j]->key,
                                                               b[j]->klen) < 0) ? a[i++] : b[j++];
        if (e->record_size != 0) out[n++] = e;
    }
    int rc = oidx_bulk_load(rec->db->o, out, n);
    free(out);
    return rc;
}

/* Step 4b: drop the tombstone markers (R3) from the hash index. An entry
 * can be in the list twice (marker, then PUT, then marker again): sorted,
 * each is seen once; one that a newer PUT revived (record_size != 0)
 * stays. */
static int finish(struct recovery *rec)
{
    chalk_db *db = rec->db;
    while (hidx_rehash_step(db->h, 4096)) {}    /* start serving with one table */
    int rc = build_ordered(rec);
    if (rc) return rc;                          /* entries are all in h: db_free frees them */
    if (rec->n_markers > 1) qsort(rec->markers, rec->n_markers, sizeof *rec->markers, cmp_ptr);
    for (size_t i = 0; i < rec->n_markers; i++) {
        idx_entry *e = rec->markers[i];
        if ((i > 0 && e == rec->markers[i - 1]) || e->record_size != 0) continue;
        hidx_remove(db->h, e->hash, e->key, e->klen);
        db_entry_free(db, e);
    }
    return 0;
}

/* Step 5. */
static int open_active(chalk_db *db, uint32_t newest)
{
    char path[SEG_PATH_MAX];
    if (newest) {
        seg_path(path, sizeof path, db->dir, newest, ".log");
        int fd = db->vfs->open(db->vfs->ctx, path, O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0) return seg_errno_to_chalk(fd);
        log_set_active(&db->log, newest, fd, seg_table_find(&db->segs, newest)->size);
        return 0;
    }
    uint32_t id = atomic_fetch_add(&db->next_seg_id, 1);
    int wfd, rc = seg_create(db->vfs, db->dir, id, ".log", 0, &wfd);
    if (rc) return rc;
    seg_path(path, sizeof path, db->dir, id, ".log");
    int rfd = open(path, O_RDONLY | O_CLOEXEC);
    if (rfd < 0) { db->vfs->close(db->vfs->ctx, wfd); return CHALK_EIO; }
    rc = seg_table_add(&db->segs, id, rfd, SEG_HEADER_SIZE, 0);
    if (rc) { close(rfd); db->vfs->close(db->vfs->ctx, wfd); return rc; }
    log_set_active(&db->log, id, wfd, SEG_HEADER_SIZE);
    return 0;
}

/* Size the hash index once for the keys the hint files announce (the log
 * segments' key counts are unknown until scanned: those still grow the
 * table). An overestimate (keys in several hints, or a hint found invalid
 * later) costs 8 bytes per unused slot; a failure only costs speed. */
static void reserve_for_hints(chalk_db *db, const struct seg_candidate *c, size_t n)
{
    uint64_t keys = 0;
    for (size_t i = 0; i < n; i++)
        if (c[i].flags & SEG_F_MERGED) keys += hint_count(db->dir, c[i].id);
    if (keys > 0 && hidx_reserve(db->h, (size_t)keys) != 0)
        db_logf(db, CHALK_LOG_INFO, "cannot presize the hash index for %llu keys: it grows instead",
                (unsigned long long)keys);
}

int db_recover(chalk_db *db)
{
    uint32_t *ids = NULL, newest = 0;
    size_t n = 0;
    remove_tmp_files(db);
    int rc = recover_finish_compaction(db);
    if (rc) return rc;
    hint_remove_orphans(db);
    rc = seg_list(db->dir, &ids, &n);
    if (rc) return rc;
    struct seg_candidate *c = calloc(n ? n : 1, sizeof *c);
    if (!c) { free(ids); return CHALK_ENOMEM; }
    db->next_seq = 1;
    atomic_store(&db->next_seg_id, n ? ids[n - 1] + 1 : 1);
    rc = read_headers(db, ids, &n, c, &newest);
    if (rc == 0) reserve_for_hints(db, c, n);
    struct recovery rec = { .db = db };
    if (rc == 0) rc = load_sorted_hints(&rec, c, n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (!c[i].done) rc = replay_segment(&rec, &c[i], c[i].id == newest);
    if (rc == 0) rc = finish(&rec);
    free(rec.markers);
    free(rec.merged);
    free(rec.fresh);
    if (rc == 0) rc = open_active(db, newest);
    for (size_t i = 0; rc == 0 && i < db->segs.n; i++) seg_table_map(db, db->segs.v[i].id);
    free(c);
    free(ids);
    return rc;
}
