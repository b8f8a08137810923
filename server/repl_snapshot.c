/*
 * repl_snapshot.c — the full-sync payload: how a leader writes a consistent
 * copy of its data to a follower while it keeps serving, and how the
 * follower receives, verifies and loads it.
 *
 * The one idea: the engine's snapshot (chalk_snapshot_acquire) freezes the
 * data as of the snapshot point — the sealed segments it reads are
 * immutable, compaction keeps them until release — so the leader can walk
 * it a little at a time (snapw_step, bounded per loop tick) while new
 * writes go on. Writes after the snapshot point travel in the stream that
 * follows the payload.
 *
 * The payload, framed on the wire as Redis's diskless transfer does:
 *   "$EOF:<40 random chars>\r\n" <payload> <the same 40 chars>
 * so that `redis-cli --replica` skips it without understanding it.
 *
 * Payload format (all integers little-endian):
 *
 *   header
 *   offset  size  meaning
 *   0       8     magic "CHALKSYN"
 *   8       4     version, 1
 *
 *   record, once per live key, in key order
 *   0       1     tag 'R'
 *   1       4     key length k
 *   5       4     value length v
 *   9       8     expire_at_ms (signed; 0 = none)
 *   17      k     engine key (keyspace.h: db byte, kind byte, key)
 *   17+k    v     engine value
 *
 *   trailer
 *   0       1     tag 'E'
 *   1       8     number of records
 *   9       8     XXH64 (seed 0) of every payload byte before this field
 *
 * A payload is valid iff the magic and version match, every tag is 'R'
 * until one 'E', the count matches the records read and the checksum
 * matches. Only a valid payload is ever loaded (snap_receive verifies
 * before snap_load_file runs).
 *
 * Left out on purpose: shipping the sealed segment files themselves (the
 * log IS a snapshot format). The cost of re-encoding: CPU on the leader;
 * the gain: a follower never inherits dead records or a different segment
 * size, and the payload is engine-version independent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "commands.h"
#include "keyspace.h"
#include "repl_internal.h"
#include "server.h"

static const char magic[8] = {'C', 'H', 'A', 'L', 'K', 'S', 'Y', 'N'};

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* ---- writer (leader, main thread) --------------------------------------- */

static void emit(snap_writer *w, client *out, const void *p, size_t len)
{
    XXH64_update(w->hash, p, len);
    reply_raw(out, p, len);
}

int snapw_begin(snap_writer *w, client *out)
{
    memset(w, 0, sizeof *w);
    w->hash = XXH64_createState();
    if (!w->hash || chalk_snapshot_acquire(server.db, &w->snap) != CHALK_OK)
        return CHALK_ENOMEM;
    w->it = chalk_iter_new(server.db, w->snap);
    if (!w->it)
        return CHALK_ENOMEM;
    XXH64_reset(w->hash, 0);
    chalk_iter_seek_first(w->it);
    unsigned char hdr[12];
    memcpy(hdr, magic, 8);
    put_u32(hdr + 8, 1);
    emit(w, out, hdr, sizeof hdr);
    return CHALK_OK;
}

static int emit_record(snap_writer *w, client *out, size_t *bytes)
{
    size_t klen;
    const void *key = chalk_iter_key(w->it, &klen);
    chalk_value v = {0};
    int rc = chalk_iter_value(w->it, &v);
    if (rc != CHALK_OK)
        return rc;
    unsigned char meta[17];
    meta[0] = 'R';
    put_u32(meta + 1, (uint32_t)klen);
    put_u32(meta + 5, (uint32_t)v.len);
    put_u64(meta + 9, (uint64_t)chalk_iter_expiry(w->it));
    emit(w, out, meta, sizeof meta);
    emit(w, out, key, klen);
    emit(w, out, v.data, v.len);
    *bytes += sizeof meta + klen + v.len;
    chalk_value_free(&v);
    w->records++;
    return CHALK_OK;
}

/* Write records until `budget` bytes went out. 1: the trailer is written
 * (done), 0: more to do, or a negative CHALK_E* (the iterator failed). */
int snapw_step(snap_writer *w, client *out, size_t budget)
{
    size_t bytes = 0;
    for (; chalk_iter_valid(w->it) && bytes < budget; chalk_iter_next(w->it)) {
        int rc = emit_record(w, out, &bytes);
        if (rc != CHALK_OK)
            return rc;
    }
    if (chalk_iter_valid(w->it))
        return 0;
    if (chalk_iter_status(w->it) != CHALK_OK)
        return chalk_iter_status(w->it);
    unsigned char tr[17];
    tr[0] = 'E';
    put_u64(tr + 1, w->records);
    emit(w, out, tr, 9);
    put_u64(tr + 9, XXH64_digest(w->hash));
    reply_raw(out, tr + 9, 8);
    return 1;
}

void snapw_free(snap_writer *w)
{
    chalk_iter_free(w->it);
    if (w->snap)
        chalk_snapshot_release(server.db, w->snap);
    XXH64_freeState(w->hash);
    memset(w, 0, sizeof *w);
}

/* ---- receiver (follower, handshake thread) ------------------------------ */

struct recv_ctx {
    snap_read_fn rd;
    void *arg;
    FILE *out;
    XXH64_state_t *hash;
};

static int take(struct recv_ctx *x, void *buf, size_t n, bool hashed)
{
    if (x->rd(x->arg, buf, n) < 0)
        return -1;
    if (hashed)
        XXH64_update(x->hash, buf, n);
    return fwrite(buf, 1, n, x->out) == n ? 0 : -2;
}

/* Copy a long stretch through a bounded buffer. */
static int take_long(struct recv_ctx *x, size_t n)
{
    char buf[64 * 1024];
    while (n > 0) {
        size_t k = n < sizeof buf ? n : sizeof buf;
        int rc = take(x, buf, k, true);
        if (rc < 0)
            return rc;
        n -= k;
    }
    return 0;
}

static int fail(char *err, size_t errlen, const char *why, int rc)
{
    snprintf(err, errlen, "%s", why);
    return rc;
}

int snap_receive(snap_read_fn rd, void *arg, FILE *out, uint64_t *records, char *err, size_t errlen)
{
    struct recv_ctx x = {rd, arg, out, XXH64_createState()};
    unsigned char hdr[17];
    int rc = -1;
    *records = 0;
    if (!x.hash)
        return fail(err, errlen, "out of memory", -1);
    XXH64_reset(x.hash, 0);
    if ((rc = take(&x, hdr, 12, true)) < 0)
        goto done;
    rc = -3;
    if (memcmp(hdr, magic, 8) != 0 || get_u32(hdr + 8) != 1)
        goto done;
    for (;;) {
        if ((rc = take(&x, hdr, 1, true)) < 0)
            goto done;
        if (hdr[0] == 'E')
            break;
        rc = -3;
        if (hdr[0] != 'R')
            goto done;
        if ((rc = take(&x, hdr + 1, 16, true)) < 0 ||
            (rc = take_long(&x, (size_t)get_u32(hdr + 1) + get_u32(hdr + 5))) < 0)
            goto done;
        (*records)++;
    }
    if ((rc = take(&x, hdr + 1, 8, true)) < 0 || (rc = take(&x, hdr + 9, 8, false)) < 0)
        goto done;
    rc = get_u64(hdr + 1) == *records && get_u64(hdr + 9) == XXH64_digest(x.hash) ? 0 : -4;
done:
    XXH64_freeState(x.hash);
    if (rc == -1)
        return fail(err, errlen, "the leader closed the link or timed out mid-snapshot", -1);
    if (rc == -2)
        return fail(err, errlen, "writing the snapshot to disk failed (disk full?)", -1);
    if (rc == -3)
        return fail(err, errlen, "the snapshot is not a Chalk payload (bad magic, version or tag)", -1);
    if (rc == -4)
        return fail(err, errlen, "the snapshot's record count or checksum does not match", -1);
    return 0;
}

/* ---- loading (follower, main thread) ------------------------------------ */

static int load_records(FILE *f, chalk_batch *b, uint64_t *records)
{
    unsigned char meta[17];
    char *buf = NULL;
    size_t cap = 0;
    int rc = CHALK_OK;
    while (rc == CHALK_OK && fread(meta, 1, 1, f) == 1 && meta[0] == 'R') {
        if (fread(meta + 1, 1, 16, f) != 16)
            return CHALK_ECORRUPT;
        size_t k = get_u32(meta + 1), v = get_u32(meta + 5);
        if (k + v + 1 > cap) {
            char *n = realloc(buf, k + v + 1);
            if (!n) {
                rc = CHALK_ENOMEM;
                break;
            }
            buf = n;
            cap = k + v + 1;
        }
        if (fread(buf, 1, k + v, f) != k + v) {
            rc = CHALK_ECORRUPT;
            break;
        }
        rc = chalk_batch_put(b, buf, k, buf + k, v, (int64_t)get_u64(meta + 9));
        (*records)++;
        if (rc == CHALK_OK && chalk_batch_count(b) >= 1024) {
            rc = server_write(NULL, b);
            chalk_batch_clear(b);
        }
    }
    free(buf);
    if (rc == CHALK_OK && chalk_batch_count(b))
        rc = server_write(NULL, b);
    return rc;
}

/* Replace the whole data set with the verified payload in `path`. Runs on
 * the main thread, so no client sees the data between the flush and the
 * end of the load (the follower is unavailable meanwhile, as a Redis
 * replica answers -LOADING). */
int snap_load_file(const char *path, uint64_t *records)
{
    FILE *f = fopen(path, "rb");
    chalk_batch *b = chalk_batch_new();
    unsigned char hdr[12];
    int rc = f && b ? CHALK_OK : CHALK_EIO;
    *records = 0;
    if (rc == CHALK_OK && fread(hdr, 1, sizeof hdr, f) != sizeof hdr)
        rc = CHALK_ECORRUPT;
    if (rc == CHALK_OK) {
        long long gone = ks_flush(NULL, -1);
        rc = gone < 0 ? (int)gone : CHALK_OK;
    }
    if (rc == CHALK_OK)
        rc = load_records(f, b, records);
    if (rc == CHALK_OK)
        rc = chalk_sync(server.db);
    chalk_batch_free(b);
    if (f)
        fclose(f);
    return rc;
}
