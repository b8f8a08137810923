/*
 * recover.c — rebuild the indexes at open by replaying the log.
 *
 *   db_recover
 *     1. remove leftovers of an interrupted compaction (*.tmp)
 *     2. list the segments; read their headers (merged or not)
 *     3. replay each segment in id order: from its hint file if it has a
 *        valid one (hint.c), else by scanning its records (scan_segment)
 *     4. drop the tombstone markers, recount live bytes, rebuild the
 *        expiry set (finish)
 *     5. reopen the newest non-merged segment for appends, or create one
 *
 * The rules, in the order recovery applies them:
 *   R1. Newest seq wins: a record is applied only if no record with a
 *       higher seq was seen for its key. Compaction's output has new ids
 *       but old seqs, so ids alone could not order records.
 *   R2. A batch is applied whole, at its COMMIT record (record.c).
 *   R3. A tombstone stays as a marker until the end, so that an older PUT
 *       met later (in a merged segment) cannot resurrect the key.
 *   R4. In the NEWEST non-merged segment, anything from the first invalid
 *       record (or from the start of a batch without its COMMIT) to the end
 *       is a torn append: truncated, logged, counted. Only that segment can
 *       hold unsynced bytes: db_roll syncs a segment before the next exists.
 *   R5. Anywhere else it is corruption: open fails with CHALK_ECORRUPT
 *       naming the file and offset, unless options.repair truncates there.
 *       Cost of hint files: a merged segment loaded from its hint is not
 *       read at open, so a bit flip in it is found when that value is read
 *       (chalk_get returns CHALK_ECORRUPT, never the bad bytes) or by
 *       chalk-check, not at open. Bitcask makes the same trade.
 *
 * @interview(storage.recovery): How does a log-structured store recover
 * after a crash, and how does it tell a torn write from corruption? It
 * replays every segment in order, verifying each record's checksums, and
 * rebuilds the in-memory index (newest sequence number wins). A bad record
 * at the tail of the newest segment is the expected result of a crash mid-
 * append and is truncated; a bad record anywhere else cannot come from a
 * crash (sealed segments were fsynced) so it is reported, never skipped.
 */
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

/* Apply one record under rules R1 and R3. 0 or CHALK_ENOMEM. */
int recover_apply(chalk_db *db, uint8_t kind, uint64_t seq, uint32_t seg, uint32_t off,
                  uint32_t size, int64_t expire_at_ms, const void *key, uint32_t klen)
{
    uint64_t hash = idx_hash(key, klen);
    idx_entry *e = hidx_find(db->h, hash, key, klen);
    if (e && e->seq > seq) return 0;              /* R1: older, already superseded */
    if (!e) {
        int err = 0;
        e = db_entry_new(db, key, klen, hash);
        if (!e) return CHALK_ENOMEM;
        hidx_insert(db->h, e, &err);
        if (!err) oidx_insert(db->o, e, &err);
        if (err) return CHALK_ENOMEM;             /* open fails; db_free frees h */
    }
    e->seq = seq;
    e->segment_id = seg;
    e->offset = off;
    e->record_size = kind == REC_PUT ? size : 0;  /* 0: tombstone marker (R3) */
    e->expire_at_ms = kind == REC_PUT ? expire_at_ms : 0;
    if (seq >= db->next_seq) db->next_seq = seq + 1;
    return 0;
}

static int apply_batch(chalk_db *db, struct pending_batch *pb, uint32_t seg)
{
    int rc = 0;
    for (size_t i = 0; i < pb->n && rc == 0; i++) {
        struct pending_op *o = &pb->v[i];
        rc = recover_apply(db, o->kind, o->seq, seg, o->off, o->size, o->expire_at_ms, o->key, o->klen);
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

/* R4/R5: cut segment `path` at `bad_off`, or refuse. */
static int handle_bad_tail(chalk_db *db, const char *path, int newest, uint64_t bad_off,
                           uint64_t *size, const char *why)
{
    if (!newest && !db->opt.repair) {
        db_logf(db, CHALK_LOG_ERROR, "corruption in sealed segment %s at offset %llu: %s "
                "(open with repair=1 to truncate there)", path, (unsigned long long)bad_off, why);
        return CHALK_ECORRUPT;
    }
    int fd = db->vfs->open(db->vfs->ctx, path, O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) return CHALK_EIO;
    int rc = db->vfs->ftruncate(db->vfs->ctx, fd, bad_off);
    if (rc == 0) rc = db->vfs->fdatasync(db->vfs->ctx, fd);
    db->vfs->close(db->vfs->ctx, fd);
    if (rc < 0) return seg_errno_to_chalk(rc);
    db_logf(db, CHALK_LOG_WARN, "%s %s at offset %llu (%s): dropped %llu bytes",
            newest ? "torn tail of" : "repair: truncated sealed segment", path,
            (unsigned long long)bad_off, why, (unsigned long long)(*size - bad_off));
    db->truncated_bytes += *size - bad_off;
    *size = bad_off;
    return 0;
}

/* Replay one segment's records (rule R2). On return *r is still open (its
 * fd becomes the segment's read fd) and *size is the valid length. */
static int scan_segment(chalk_db *db, struct seg_reader *r, const char *path, int newest,
                        uint64_t *size)
{
    struct pending_batch pb = { 0 };
    struct record_view rv;
    uint64_t off, bad_off = 0;
    const char *why = NULL;
    int rc;
    uint32_t seg = r->header.segment_id;
    while ((rc = seg_reader_next(r, &rv, &off)) == 1) {
        if (pb.n && rv.seq != pb.v[0].seq) {      /* a batch without its COMMIT */
            why = "batch without its commit record";
            bad_off = pb.start;
            break;
        }
        if (!pb.n) pb.start = off;
        if ((rc = pending_push(&pb, &rv, off)) != 0) goto out;
        if ((rv.flags & REC_F_COMMIT) && (rc = apply_batch(db, &pb, seg)) != 0) goto out;
    }
    if (rc == 0 && pb.n) { why = "batch without its commit record at end of file"; bad_off = pb.start; }
    if (rc == CHALK_ECORRUPT) { why = r->why; bad_off = pb.n ? pb.start : off; rc = 0; }
    if (rc < 0 && rc != CHALK_ECORRUPT) goto out;
    *size = r->file_size;
    rc = why ? handle_bad_tail(db, path, newest, bad_off, size, why) : 0;
out:
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

struct seg_candidate { uint32_t id; uint32_t flags; };

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
            out[i] = (struct seg_candidate){ ids[i], 0 };
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
        out[i] = (struct seg_candidate){ ids[i], r.header.flags };
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

/* Step 3 for one segment. */
static int replay_segment(chalk_db *db, const struct seg_candidate *c, int newest)
{
    char path[SEG_PATH_MAX];
    struct seg_reader r;
    uint64_t size;
    seg_path(path, sizeof path, db->dir, c->id, ".log");
    int rc = seg_reader_open(&r, path);
    if (rc) return rc;
    size = r.file_size;
    if (!((c->flags & SEG_F_MERGED) && hint_load(db, c->id, size) == 0))
        rc = scan_segment(db, &r, path, newest, &size);
    if (rc == 0) rc = seg_table_add(&db->segs, c->id, r.fd, size, c->flags);
    if (rc == 0) r.fd = -1;                     /* now owned by the table */
    seg_reader_close(&r);
    return rc;
}

struct finish_ctx { chalk_db *db; idx_entry **end; };

/* One pass over every entry: collect tombstone markers, count live bytes
 * per segment, rebuild the expiry set. */
static void finish_one(void *arg, idx_entry *e)
{
    struct finish_ctx *c = arg;
    if (e->record_size == 0) {
        *c->end++ = e;
        return;
    }
    struct seg_info *s = seg_table_find(&c->db->segs, e->segment_id);
    if (s) s->live_bytes += e->record_size;
    if (e->expire_at_ms && !e->expire_slot) db_expiry_update(c->db, e, e->expire_at_ms);
}

/* Step 4. */
static int finish(chalk_db *db)
{
    size_t n = hidx_count(db->h);
    idx_entry **markers = malloc((n ? n : 1) * sizeof *markers);
    if (!markers) return CHALK_ENOMEM;
    struct finish_ctx c = { db, markers };
    uint64_t cur = 0;
    /* Finish any resize first: a scan during one may visit a key twice. */
    while (hidx_rehash_step(db->h, 4096)) {}
    do cur = hidx_scan(db->h, cur, 4096, finish_one, &c); while (cur != 0);
    for (idx_entry **p = markers; p < c.end; p++) {
        idx_entry *e = *p;
        hidx_remove(db->h, e->hash, e->key, e->klen);
        oidx_remove(db->o, e->key, e->klen);
        db_entry_free(db, e);
    }
    free(markers);
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
    for (size_t i = 0; rc == 0 && i < n; i++) rc = replay_segment(db, &c[i], c[i].id == newest);
    if (rc == 0) rc = finish(db);
    if (rc == 0) rc = open_active(db, newest);
    for (size_t i = 0; rc == 0 && i < db->segs.n; i++) seg_table_map(db, db->segs.v[i].id);
    free(c);
    free(ids);
    return rc;
}
