/*
 * record.h — the record codec: the bytes of one log record and of a segment
 * header, encoded and decoded. Pure functions over buffers, no I/O, so the
 * engine, recovery, compaction and the operator tools (chalk-check,
 * chalk-dump) all read the log through the same ten lines of rules.
 *
 * The formats themselves (offset tables, checksum coverage, the validity
 * rules for a record and for a batch) are documented once, at the top of
 * record.c, the file that writes them.
 *
 * @interview(storage.log-structured): What does one entry of a log-structured
 * store look like on disk? A self-describing, checksummed record appended at
 * the end of the newest file: header (kind, seq, expiry, lengths), key,
 * value, checksum. Nothing is ever updated in place; a newer record for the
 * same key simply supersedes the older one.
 */
#ifndef CHALK_RECORD_H
#define CHALK_RECORD_H

#include <stddef.h>
#include <stdint.h>

/* ---- record ------------------------------------------------------------ */
#define REC_HEADER_SIZE  32u     /* fixed header before the key */
#define REC_TRAILER_SIZE 8u      /* XXH3-64 over header + key + value */
#define REC_OVERHEAD     (REC_HEADER_SIZE + REC_TRAILER_SIZE)

enum rec_kind {
    REC_PUT    = 1,              /* key := value (with optional expiry) */
    REC_DELETE = 2,              /* tombstone: key deleted (vlen == 0) */
};

enum rec_flags {
    REC_F_COMMIT = 0x01,         /* last record of its batch: the commit point */
};

/* A decoded record. key/value point INTO the buffer given to record_decode. */
struct record_view {
    uint8_t        kind;         /* enum rec_kind */
    uint8_t        flags;        /* enum rec_flags */
    uint64_t       seq;          /* the batch's sequence number */
    int64_t        expire_at_ms; /* absolute unix ms; 0 = none */
    uint32_t       klen;
    uint32_t       vlen;
    const uint8_t *key;
    const uint8_t *value;
    uint32_t       size;         /* whole record: REC_OVERHEAD + klen + vlen */
};

/* Return codes of record_decode / record_decode_header besides a size. */
#define REC_NEED_MORE 0          /* the buffer ends before the record does */

/* Bytes a record with these lengths occupies. */
static inline uint64_t record_size(uint64_t klen, uint64_t vlen)
{
    return REC_OVERHEAD + klen + vlen;
}

/* Encode one record into buf (capacity >= record_size(klen, vlen)).
 * Returns the number of bytes written. Cannot fail: lengths are checked by
 * the caller against CHALK_MAX_KEY_SIZE / CHALK_MAX_VALUE_SIZE. */
size_t record_encode(void *buf, uint8_t kind, uint8_t flags, uint64_t seq,
                     int64_t expire_at_ms, const void *key, uint32_t klen,
                     const void *val, uint32_t vlen);

/* Decode and verify only the 32-byte header at buf (avail bytes there).
 * Fills out (key/value pointers NULL) and returns the full record size,
 * REC_NEED_MORE if avail < REC_HEADER_SIZE, or CHALK_ECORRUPT (header
 * checksum, unknown kind, lengths over the maxima). The size is trustworthy
 * once this returns > 0: the header checksum covered the lengths. */
int64_t record_decode_header(const void *buf, size_t avail, struct record_view *out);

/* Decode and verify a whole record at buf. Returns its size (> 0),
 * REC_NEED_MORE when avail is shorter than the header or than the size the
 * (verified) header states, or CHALK_ECORRUPT. Never reads past avail. */
int64_t record_decode(const void *buf, size_t avail, struct record_view *out);

/* Mark the encoded record at rec (size bytes) as the commit of its own batch
 * and re-seal both checksums. Compaction uses it: it copies only committed,
 * live records, so each copy stands alone (its batch's other records may
 * have been dropped as dead). */
void record_mark_committed(uint8_t *rec, size_t size);

/* Verify the trailing checksum of a record whose header was decoded into
 * *hdr, given all hdr->size bytes at buf. 0 or CHALK_ECORRUPT. */
int record_verify_body(const void *buf, const struct record_view *hdr);

/* ---- segment header ---------------------------------------------------- */
#define SEG_HEADER_SIZE 32u
#define SEG_MAGIC       "CHALKSEG"   /* 8 bytes, no NUL */
#define SEG_VERSION     1u

enum seg_flags {
    SEG_F_MERGED = 0x01,         /* written by compaction (never the active one) */
};

struct seg_header {
    uint32_t version;
    uint32_t segment_id;
    uint32_t flags;              /* enum seg_flags */
};

/* Encode a segment header into buf (SEG_HEADER_SIZE bytes). */
void seg_header_encode(void *buf, uint32_t segment_id, uint32_t flags);

/* Decode and check the SEG_HEADER_SIZE bytes at buf: returns 0,
 * CHALK_ECORRUPT (bad magic or checksum) or CHALK_EVERSION (a well-formed
 * header of a version this build does not know). */
int seg_header_decode(const void *buf, struct seg_header *out);

/* ---- little-endian helpers (shared with hint.c) ------------------------- */
static inline void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t get_le32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static inline uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* The checksum of the format: XXH3-64 (the header checks keep its low 32). */
uint64_t record_checksum(const void *buf, size_t len);

#endif /* CHALK_RECORD_H */
