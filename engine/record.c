/*
 * record.c — encode and decode log records and segment headers.
 *
 * The one idea: a reader must never trust a byte it has not verified. The
 * record header carries its own checksum, so a flipped bit in a length is
 * caught BEFORE the length is used to read or allocate anything; the record
 * trailer then covers header + key + value.
 *
 * Left out on purpose: compression (values are stored as given: a reader can
 * `hexdump` the log and see them), per-record padding/alignment (records are
 * packed: a pread of a value is one syscall at any offset), and a magic per
 * record (the checksums already make resynchronising after garbage
 * pointless: the engine never scans past a bad record, it truncates or
 * refuses there).
 *
 * ---- the segment file -------------------------------------------------
 * A segment is the file NNNNNNNNNN.log (10-digit decimal id): one segment
 * header, then records packed back to back.
 *
 * Segment header, 32 bytes, little-endian:
 *   off size field
 *     0    8 magic       "CHALKSEG"
 *     8    4 version     SEG_VERSION (1); other values → CHALK_EVERSION
 *    12    4 segment_id  equals the file name's number
 *    16    4 flags       SEG_F_MERGED: written by compaction
 *    20    8 reserved    zero
 *    28    4 hcrc        low 32 bits of XXH3-64 over bytes 0..27
 *
 * ---- one record ---------------------------------------------------------
 *   off        size  field
 *     0           4  hcrc          low 32 bits of XXH3-64 over bytes 4..31
 *     4           1  kind          1 = PUT, 2 = DELETE (tombstone)
 *     5           1  flags         bit 0 = COMMIT (last record of a batch)
 *     6           2  reserved      zero
 *     8           8  seq           the batch's sequence number
 *    16           8  expire_at_ms  int64, absolute unix ms, 0 = none
 *    24           4  klen          <= CHALK_MAX_KEY_SIZE
 *    28           4  vlen          <= CHALK_MAX_VALUE_SIZE, 0 for DELETE
 *    32        klen  key
 *    32+klen   vlen  value
 *    32+k+v       8  checksum      XXH3-64 over bytes 0 .. 32+klen+vlen-1
 *   total = 40 + klen + vlen bytes
 *
 * A record is valid if and only if: its hcrc matches bytes 4..31, its kind
 * is known, klen and vlen are within the maxima (and vlen = 0 for DELETE),
 * the file holds all 40+klen+vlen bytes, and its checksum matches.
 *
 * ---- batches (the atomicity rule) ---------------------------------------
 * Every record of a batch carries the batch's seq; seqs strictly increase
 * from batch to batch; a batch's records are contiguous and never span two
 * segments; only its LAST record has the COMMIT flag.
 *
 * A batch is valid if and only if all its records are valid and the run of
 * records with its seq ends with a valid record flagged COMMIT. In segments
 * written by compaction every record is flagged COMMIT (record_mark_
 * committed): only committed records are copied, and a batch's dead records
 * are not, so each copy is a batch of one. Recovery
 * applies a valid batch whole and drops anything else whole: the COMMIT
 * flag is the commit point, and because the COMMIT record's own checksum is
 * verified, a batch cut anywhere (even inside the COMMIT record) is dropped.
 *
 * @interview(tx.atomicity): How does the engine make a multi-key write all-
 * or-nothing across a crash? Every record of a batch carries the batch's
 * sequence number and only the last one carries the COMMIT flag; recovery
 * applies a batch only when it reaches that checksummed commit record, and
 * drops a batch without it whole. There is no undo log because nothing is
 * ever applied to disk in place.
 */
#include "record.h"

#include <string.h>
#include <xxhash.h>

#include "chalk/engine.h"

uint64_t record_checksum(const void *buf, size_t len)
{
    return XXH3_64bits(buf, len);
}

static uint32_t header_crc(const uint8_t *hdr)
{
    return (uint32_t)record_checksum(hdr + 4, REC_HEADER_SIZE - 4);
}

size_t record_encode(void *buf, uint8_t kind, uint8_t flags, uint64_t seq,
                     int64_t expire_at_ms, const void *key, uint32_t klen,
                     const void *val, uint32_t vlen)
{
    uint8_t *p = buf;
    p[4] = kind;
    p[5] = flags;
    p[6] = p[7] = 0;
    put_le64(p + 8, seq);
    put_le64(p + 16, (uint64_t)expire_at_ms);
    put_le32(p + 24, klen);
    put_le32(p + 28, vlen);
    put_le32(p, header_crc(p));
    if (klen) memcpy(p + REC_HEADER_SIZE, key, klen);
    if (vlen) memcpy(p + REC_HEADER_SIZE + klen, val, vlen);
    size_t body = REC_HEADER_SIZE + (size_t)klen + vlen;
    put_le64(p + body, record_checksum(p, body));
    return body + REC_TRAILER_SIZE;
}

int64_t record_decode_header(const void *buf, size_t avail, struct record_view *out)
{
    const uint8_t *p = buf;
    if (avail < REC_HEADER_SIZE) return REC_NEED_MORE;
    if (get_le32(p) != header_crc(p)) return CHALK_ECORRUPT;
    memset(out, 0, sizeof *out);
    out->kind = p[4];
    out->flags = p[5];
    out->seq = get_le64(p + 8);
    out->expire_at_ms = (int64_t)get_le64(p + 16);
    out->klen = get_le32(p + 24);
    out->vlen = get_le32(p + 28);
    if (out->kind != REC_PUT && out->kind != REC_DELETE) return CHALK_ECORRUPT;
    if (out->flags & ~REC_F_COMMIT) return CHALK_ECORRUPT;
    if (out->klen > CHALK_MAX_KEY_SIZE || out->vlen > CHALK_MAX_VALUE_SIZE) return CHALK_ECORRUPT;
    if (out->kind == REC_DELETE && out->vlen != 0) return CHALK_ECORRUPT;
    out->size = (uint32_t)record_size(out->klen, out->vlen);
    return out->size;
}

void record_mark_committed(uint8_t *rec, size_t size)
{
    rec[5] |= REC_F_COMMIT;
    put_le32(rec, header_crc(rec));
    put_le64(rec + size - REC_TRAILER_SIZE, record_checksum(rec, size - REC_TRAILER_SIZE));
}

int record_verify_body(const void *buf, const struct record_view *hdr)
{
    const uint8_t *p = buf;
    size_t body = hdr->size - REC_TRAILER_SIZE;
    return get_le64(p + body) == record_checksum(p, body) ? 0 : CHALK_ECORRUPT;
}

int64_t record_decode(const void *buf, size_t avail, struct record_view *out)
{
    int64_t n = record_decode_header(buf, avail, out);
    if (n <= 0) return n;
    if ((uint64_t)n > avail) return REC_NEED_MORE;
    if (record_verify_body(buf, out) != 0) return CHALK_ECORRUPT;
    out->key = (const uint8_t *)buf + REC_HEADER_SIZE;
    out->value = out->key + out->klen;
    return n;
}

void seg_header_encode(void *buf, uint32_t segment_id, uint32_t flags)
{
    uint8_t *p = buf;
    memset(p, 0, SEG_HEADER_SIZE);
    memcpy(p, SEG_MAGIC, 8);
    put_le32(p + 8, SEG_VERSION);
    put_le32(p + 12, segment_id);
    put_le32(p + 16, flags);
    put_le32(p + 28, (uint32_t)record_checksum(p, 28));
}

int seg_header_decode(const void *buf, struct seg_header *out)
{
    const uint8_t *p = buf;
    if (memcmp(p, SEG_MAGIC, 8) != 0) return CHALK_ECORRUPT;
    if (get_le32(p + 28) != (uint32_t)record_checksum(p, 28)) return CHALK_ECORRUPT;
    out->version = get_le32(p + 8);
    out->segment_id = get_le32(p + 12);
    out->flags = get_le32(p + 16);
    /* Checked after the checksum so that a bit flip is reported as
     * corruption, and a genuine future file as a version problem. */
    /* @interview(api.versioning): How does an on-disk format evolve without
     * breaking the readers already deployed? Every segment starts with a
     * format version, and a reader that meets one it does not know refuses
     * to open the directory (CHALK_EVERSION, a clear error) instead of
     * guessing; a change of layout bumps SEG_VERSION, and the new reader
     * either still decodes the old version or migrates it (compaction is
     * the natural place: it rewrites every live record anyway). Chalk has
     * one version so far, so its reader only refuses. */
    if (out->version != SEG_VERSION) return CHALK_EVERSION;
    return 0;
}
