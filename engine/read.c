/*
 * read.c — the read path: hash lookup → (segment, offset, size) → one pread
 * (or a memcpy from the pending buffer) → verify the checksum → value.
 *
 * The one idea: keys in memory, values on disk, and the OS page cache as the
 * value cache. A hot value costs a pread that the kernel answers from RAM;
 * a cold one costs one disk read, never more, because the index gives the
 * exact offset and size.
 *
 * Sealed segments are read through a read-only mmap (options.mmap_reads,
 * the default): no syscall per read, the page cache read in place, the
 * record verified there and only the value copied out. The active segment
 * too, once its records are written (active_mapped: mapped at segment_size,
 * so it never remaps as it grows); its unwritten tail is copied from the
 * log's memory, and a test vfs keeps every active read on pread. The price
 * of mmap, as in LMDB: a disk error on a mapped page is a SIGBUS, not
 * CHALK_EIO. Mapping only sealed segments, after recovery has truncated
 * whatever it truncates, keeps the other danger (a mapped file shrinking)
 * away. With mmap_reads=0 every read is one pread.
 *
 * Left out on purpose: an engine-level value cache. It would duplicate the
 * page cache (two copies of hot data).
 *
 * @interview(cache.fundamentals): Where is the cache in this engine, and what
 * does it cost to miss it? The kernel's page cache: values are read from
 * it through read-only mmaps of the segments (the newest records straight
 * from the log's memory), so
 * recently written or read segments are served from memory and evicted by
 * the kernel's LRU; a miss costs exactly one disk read because the
 * in-memory index knows the record's offset and size. Every read still
 * verifies the record's checksum, so a copy that went bad is never served.
 *
 * @interview(db.sql-vs-nosql): What does a key-value engine give up compared
 * with a SQL database, and what does it gain? It gives up queries over
 * values, joins, secondary indexes and schemas (the caller encodes those into
 * keys); it gains a read that is one hash lookup and one pread, a write that
 * is one append, and a recovery that is one sequential scan: predictable
 * latency that a query planner cannot promise.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "db.h"

/* pread all n bytes: a short read is normal and means "ask again" until EOF,
 * and EOF before n bytes means the file is shorter than the index believes. */
static int pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (uint8_t *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return CHALK_EIO;
        if (r == 0) return CHALK_ECORRUPT;
        got += (size_t)r;
    }
    return 0;
}

/* A sealed, mapped segment: verify the record in place and copy out only
 * the value. No syscall; the page cache is read directly. */
static int read_mapped(chalk_db *db, const struct seg_info *s, uint64_t off, uint32_t size,
                       uint8_t **buf, struct record_view *rv)
{
    if (off + size > s->map_len || record_decode(s->map + off, size, rv) != (int64_t)size) {
        db_logf(db, CHALK_LOG_ERROR, "checksum mismatch reading segment %010u offset %llu",
                s->id, (unsigned long long)off);
        return CHALK_ECORRUPT;
    }
    uint8_t *b = malloc((size_t)rv->vlen + 1);
    if (!b) return CHALK_ENOMEM;
    memcpy(b, rv->value, rv->vlen);
    rv->value = b;      /* db_value_from_record finds the value at buf */
    rv->key = NULL;
    *buf = b;
    return 0;
}

/* The active segment, mapped once at its final size (segment_size) so that
 * it never needs remapping as it grows: a MAP_SHARED mapping sees what
 * pwrite and io_uring write, because both go through the same page cache.
 * Only bytes below log.good_end (written by a group that completed) are
 * ever read through it: pages past the end of the file would be a SIGBUS.
 * Records still pending or in flight are copied from memory before this is
 * asked. NULL if the record is not (yet) readable through a mapping: the
 * caller preads. Not with a test vfs: there a "successful" write need not
 * have reached the file, and pread's short read is an error, not a signal.
 * The mapping outlives the roll: seg_table_map leaves a mapped segment
 * alone, and the larger length only covers bytes nothing points at. */
static struct seg_info *active_mapped(chalk_db *db, uint32_t seg, uint64_t off, uint32_t size)
{
    if (!db->opt.mmap_reads || db->opt.vfs || seg != db->log.seg_id ||
        off + size > db->log.good_end)
        return NULL;
    struct seg_info *s = seg_table_find(&db->segs, seg);
    if (!s) return NULL;
    if (!s->map) {
        uint64_t len = db->opt.segment_size > db->log.good_end ? db->opt.segment_size
                                                                : db->log.good_end;
        void *m = mmap(NULL, (size_t)len, PROT_READ, MAP_SHARED, s->rfd, 0);
        if (m == MAP_FAILED) return NULL;
        madvise(m, (size_t)len, MADV_RANDOM);
        s->map = m;
        s->map_len = (size_t)len;
    }
    return off + size <= s->map_len ? s : NULL;   /* grown past it: pread */
}

int db_read_record(chalk_db *db, uint32_t seg, uint64_t off, uint32_t size,
                   uint8_t **buf, struct record_view *rv)
{
    /* After a failed group, its records (and everything queued after it)
     * are still in the index but were never written, or not durably: say
     * so, rather than serve unacknowledged bytes or cry "corruption". */
    if (db->log.failed && seg == db->log.seg_id && off + size > db->log.good_end)
        return CHALK_EFAILED;
    if (seg == db->log.seg_id && off + size <= db->log.good_end) {
        struct seg_info *as = active_mapped(db, seg, off, size);
        if (as) return read_mapped(db, as, off, size, buf, rv);
    }
    struct seg_info *ms = seg_table_find(&db->segs, seg);
    if (ms && ms->map && seg != db->log.seg_id) return read_mapped(db, ms, off, size, buf, rv);
    uint8_t *b = malloc((size_t)size + 1);
    if (!b) return CHALK_ENOMEM;
    int rc = 0;
    if (!log_read_memory(&db->log, seg, off, b, size)) {
        struct seg_info *s = seg_table_find(&db->segs, seg);
        rc = s ? pread_full(s->rfd, b, size, off) : CHALK_EIO;
    }
    if (rc == 0 && record_decode(b, size, rv) != (int64_t)size) rc = CHALK_ECORRUPT;
    if (rc) {
        if (rc == CHALK_ECORRUPT)
            db_logf(db, CHALK_LOG_ERROR, "checksum mismatch reading segment %010u offset %llu",
                    seg, (unsigned long long)off);
        free(b);
        return rc;
    }
    *buf = b;
    return 0;
}

void db_value_from_record(uint8_t *buf, const struct record_view *rv, chalk_value *out)
{
    /* Reuse the record buffer: slide the value to its start (a no-op when
     * read_mapped already copied only the value). */
    if (rv->value != buf) memmove(buf, rv->value, rv->vlen);
    buf[rv->vlen] = 0;
    out->data = buf;
    out->len = rv->vlen;
    out->expire_at_ms = rv->expire_at_ms;
}

/* The live, unexpired entry for key (whose idx_hash is hash), or NULL. */
static idx_entry *lookup_hashed(chalk_db *db, const void *key, size_t klen, uint64_t hash)
{
    idx_entry *e = hidx_find(db->h, hash, key, klen);
    /* Lazy expiry: an expired key is invisible; it is not removed here
     * (a read never writes, and a replica must not expire on its own
     * clock). chalk_expire_sample lets the caller delete it. */
    if (e && db_expired_now(e)) return NULL;
    return e;
}

static idx_entry *lookup(chalk_db *db, const void *key, size_t klen)
{
    if (klen > CHALK_MAX_KEY_SIZE) return NULL;
    return lookup_hashed(db, key, klen, idx_hash(key, klen));
}

/* Read e's record into *out (the value of the key e indexes). */
static int read_entry(chalk_db *db, const idx_entry *e, chalk_value *out)
{
    uint8_t *buf;
    struct record_view rv;
    int rc = db_read_record(db, e->segment_id, e->offset, e->record_size, &buf, &rv);
    if (rc) return rc;
    db_value_from_record(buf, &rv, out);
    return 0;
}

int chalk_get(chalk_db *db, const void *key, size_t klen, chalk_value *out)
{
    memset(out, 0, sizeof *out);
    idx_entry *e = lookup(db, key, klen);
    return e ? read_entry(db, e, out) : CHALK_ENOTFOUND;
}

int chalk_exists(chalk_db *db, const void *key, size_t klen)
{
    return lookup(db, key, klen) != NULL;
}

/* ---- prepared keys --------------------------------------------------------
 * A command that looks a key up and then writes it (HSET's field, SADD's
 * member, ZADD's member) hashed it twice, and its bucket's cache miss came
 * at the lookup, with nothing to overlap it. A chalk_key is hashed once;
 * its bucket is prefetched when it is prepared, so the caller's work
 * before the lookup (the server reads the collection's main record) runs
 * while the bucket comes in; the put reuses the hash (write.c). */
void chalk_key_prepare(chalk_db *db, chalk_key *k, const void *key, size_t klen)
{
    k->key = key;
    k->klen = klen;
    k->hash = idx_hash(key, klen);
    if (klen <= CHALK_MAX_KEY_SIZE) hidx_prefetch(db->h, k->hash);
}

/* The entry behind a prepared key's bucket, second step (hidx_prefetch_entry). */
void chalk_key_prefetch_entry(chalk_db *db, const chalk_key *k)
{
    if (k->klen <= CHALK_MAX_KEY_SIZE) hidx_prefetch_entry(db->h, k->hash);
}

/* Third step: the record of the entry the bucket leads to (hidx_peek_entry),
 * when it is readable through a mapping (a sealed segment, or the active
 * one below good_end: past the written end of the file a real load could
 * be a SIGBUS). __builtin_prefetch never faults and nothing is read from
 * the mapping here, so a stale or wrong guess costs a wasted load only. */
void chalk_key_prefetch_record(chalk_db *db, const chalk_key *k)
{
    if (k->klen > CHALK_MAX_KEY_SIZE || !db->opt.mmap_reads || db->opt.vfs) return;
    const idx_entry *e = hidx_peek_entry(db->h, k->hash);
    if (!e) return;
    uint64_t end = (uint64_t)e->offset + e->record_size;
    if (e->segment_id == db->log.seg_id && end > db->log.good_end) return;
    const struct seg_info *s = seg_table_find(&db->segs, e->segment_id);
    if (s && s->map && end <= s->map_len) __builtin_prefetch(s->map + e->offset);
}

int chalk_get_prepared(chalk_db *db, const chalk_key *k, chalk_value *out)
{
    memset(out, 0, sizeof *out);
    if (k->klen > CHALK_MAX_KEY_SIZE) return CHALK_ENOTFOUND;
    idx_entry *e = lookup_hashed(db, k->key, k->klen, k->hash);
    return e ? read_entry(db, e, out) : CHALK_ENOTFOUND;
}

int chalk_exists_prepared(chalk_db *db, const chalk_key *k)
{
    return k->klen <= CHALK_MAX_KEY_SIZE && lookup_hashed(db, k->key, k->klen, k->hash) != NULL;
}

int chalk_get_expiry(chalk_db *db, const void *key, size_t klen, int64_t *expire_at_ms)
{
    idx_entry *e = lookup(db, key, klen);
    if (!e) return CHALK_ENOTFOUND;
    *expire_at_ms = e->expire_at_ms;
    return 0;
}

/* Where e's record is (e: a lookup's result, NULL if it found nothing). */
static int locate_entry(const idx_entry *e, chalk_location *out)
{
    if (!e) return CHALK_ENOTFOUND;
    out->segment_id = e->segment_id;
    out->offset = e->offset;
    out->record_size = e->record_size;
    out->value_size = e->record_size - REC_OVERHEAD - e->klen;
    return 0;
}

int chalk_locate(chalk_db *db, const void *key, size_t klen, chalk_location *out)
{
    return locate_entry(lookup(db, key, klen), out);
}

int chalk_locate_prepared(chalk_db *db, const chalk_key *k, chalk_location *out)
{
    if (k->klen > CHALK_MAX_KEY_SIZE) return CHALK_ENOTFOUND;
    return locate_entry(lookup_hashed(db, k->key, k->klen, k->hash), out);
}

uint64_t chalk_count(const chalk_db *db)
{
    return hidx_count(db->h);
}

void chalk_value_free(chalk_value *v)
{
    if (!v) return;
    free(v->data);
    memset(v, 0, sizeof *v);
}
