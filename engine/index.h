/*
 * index.h — the engine's two in-memory indexes over one set of entries.
 *
 * Every live key has exactly one idx_entry, owned by the engine (db.c).
 * Both indexes hold pointers to the same entries, so a key's bytes live in
 * memory once:
 *   - hidx (hash_index.c): XXH3-64 hash table with chaining and incremental
 *     rehashing — point lookups in O(1), no request pays for a whole resize.
 *   - oidx (ordered_index.c): an ordered structure over the same entries —
 *     range and prefix scans in key order (memcmp order, shorter first).
 * Neither index allocates or frees entries: insert returns the entry it
 * replaced (same key) and remove returns the entry it unlinked; the engine
 * frees an entry once both indexes have let go of it.
 *
 * The fields hnext, hash, klen and key belong to the indexes' contract; the
 * engine may add payload fields in the middle but must keep those four.
 */
#ifndef CHALK_INDEX_H
#define CHALK_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct idx_entry {
    struct idx_entry *hnext;   /* next entry in the same hash bucket, its top
                                  16 bits holding filter bits: only
                                  hash_index.c may read it */
    uint64_t hash;             /* idx_hash(key): cached so a rehash never re-hashes */
    int64_t  expire_at_ms;     /* absolute unix ms; 0 = none */
    uint64_t seq;              /* engine: seq of the batch that wrote the newest
                                  record (recovery: newest seq wins; snapshots:
                                  an entry newer than a snapshot is not in it) */
    uint32_t segment_id;       /* segment holding the newest record */
    uint32_t offset;           /* of that record's first byte */
    uint32_t record_size;      /* header + key + value + trailer; 0 only
                                  inside recovery: a tombstone marker */
    uint32_t expire_slot;      /* engine-private: position in its expiry set */
    uint32_t klen;
    unsigned char key[];       /* klen bytes, not NUL-terminated */
} idx_entry;

/* XXH3-64 of the key: the one hash function of the engine. */
uint64_t idx_hash(const void *key, size_t klen);

/* Byte-order comparison used by the ordered index: memcmp, shorter first on
 * a common prefix. Negative, 0 or positive. */
int idx_keycmp(const void *a, size_t alen, const void *b, size_t blen);

/* The same order, inlined for the ordered index's hot loops: short keys
 * (Chalk's typical 10–40 bytes) are compared 8 bytes at a time as
 * big-endian words, which orders them exactly as memcmp does, without a
 * call into libc per comparison; long keys go to memcmp. A B+tree descent
 * makes ~20 comparisons, so the call overhead was a fifth of an insert. */
static inline int idx_keycmp_inline(const void *a, size_t alen, const void *b, size_t blen)
{
    const unsigned char *pa = a, *pb = b;
    size_t common = alen < blen ? alen : blen, i = 0;
    if (common > 64) {
        int c = memcmp(pa, pb, common);
        if (c != 0)
            return c;
        i = common;
    }
    for (; i + 8 <= common; i += 8) {
        uint64_t x, y;
        memcpy(&x, pa + i, 8);
        memcpy(&y, pb + i, 8);
        if (x != y) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            x = __builtin_bswap64(x);
            y = __builtin_bswap64(y);
#endif
            return x < y ? -1 : 1;
        }
    }
    for (; i < common; i++)
        if (pa[i] != pb[i])
            return pa[i] < pb[i] ? -1 : 1;
    return (alen > blen) - (alen < blen);
}

/* ---- hash index -------------------------------------------------------- */
typedef struct hidx hidx;

hidx *hidx_new(void);                            /* NULL on ENOMEM */
/* Free the table; calls free_entry(arg, e) for every entry if non-NULL. */
void  hidx_free(hidx *h, void (*free_entry)(void *arg, idx_entry *e), void *arg);
/* Size the table for n keys at once (a power of two >= n), finishing any
 * resize under way, so that the next inserts up to n keys start none. For a
 * caller that knows the count ahead (recovery: hint file headers). Never
 * shrinks. 0, or CHALK_ENOMEM (nothing changed). */
int   hidx_reserve(hidx *h, size_t n);
idx_entry *hidx_find(hidx *h, uint64_t hash, const void *key, size_t klen);
/* Link e (e->hash must be set). Returns the entry with the same key that it
 * replaced (unlinked, for the caller to free), or NULL. Sets *err to 0, or
 * to CHALK_ENOMEM (then nothing changed) when err is non-NULL. */
idx_entry *hidx_insert(hidx *h, idx_entry *e, int *err);
/* Link e (e->hash set) whose key is in NO table: the caller has just
 * looked it up with hidx_find and not found it, with no change since. It
 * skips hidx_insert's duplicate search: a new key walks its chain once,
 * not twice. Cannot fail (chaining needs no memory to link). */
void hidx_insert_new(hidx *h, idx_entry *e);
/* Start loading the bucket a new key with this hash would be linked into
 * (during a resize, also the old table's bucket, which a lookup reads).
 * For a caller that knows its next keys ahead (recovery's bulk load, the
 * write path: write.c, hash_ahead): the
 * random bucket is a cache miss per key, and several misses in flight cost
 * about as much as one. A hint only: nothing changes. */
void hidx_prefetch(const hidx *h, uint64_t hash);
/* The second step of the same hint, for a caller that prefetched several
 * buckets with hidx_prefetch and has done other work since: read the bucket
 * (by now likely in cache) and start loading the first entry of its chain
 * when the link's filter bits say the key may be there. A lookup's own cost
 * is that entry's cache miss (its hash is the first thing compared), so
 * overlapping several such misses is what pays. A hint only. */
void hidx_prefetch_entry(const hidx *h, uint64_t hash);
/* The third step, for a caller whose entries have had time to arrive: the
 * first entry of the key's chain, as far as the links' filter bits allow
 * the key, whose cached hash is this one (the end of its key is prefetched),
 * else NULL. No key comparison, no resize step: a guess for a hint
 * (chalk_key_prefetch_record), never an answer. */
const idx_entry *hidx_peek_entry(const hidx *h, uint64_t hash);
/* Unlink and return the entry with this key, or NULL. */
idx_entry *hidx_remove(hidx *h, uint64_t hash, const void *key, size_t klen);
size_t hidx_count(const hidx *h);
size_t hidx_memory(const hidx *h);               /* bytes of tables (not entries) */
int    hidx_rehashing(const hidx *h);            /* 1 while a resize is under way */
/* Move up to n buckets of an ongoing resize; returns 1 if more remain. Each
 * find/insert/remove also moves a bounded number of buckets. */
int    hidx_rehash_step(hidx *h, size_t n);
/* A resize-proof cursor scan (Redis's SCAN contract): visit whole buckets
 * from cursor, in memory order, until about `count` entries were visited;
 * return the next cursor (0 = done). The cursor is a position in the hash
 * space (below 2^48): see "Why a bucket is picked by the top bits" in
 * hash_index.c. */
uint64_t hidx_scan(hidx *h, uint64_t cursor, size_t count,
                   void (*fn)(void *arg, idx_entry *e), void *arg);
idx_entry *hidx_random(hidx *h, uint64_t (*rand64)(void *arg), void *arg); /* NULL if empty */
/* Check the numbered invariants listed in hash_index.c; 0 if all hold, else
 * the number of the first broken one. */
int    hidx_check_invariants(const hidx *h);

/* ---- ordered index ----------------------------------------------------- */
typedef struct oidx oidx;
typedef struct oidx_iter oidx_iter;

oidx *oidx_new(void);
void  oidx_free(oidx *o);                        /* does not free entries */
idx_entry *oidx_insert(oidx *o, idx_entry *e, int *err);  /* as hidx_insert */
/* Build an EMPTY index from v[0..n), entries in strictly increasing key
 * order (the caller's promise; oidx_check_invariants verifies it), bottom
 * up with no key comparison. 0; CHALK_EINVAL if the index is not empty;
 * CHALK_ENOMEM (then the index is still empty). */
int   oidx_bulk_load(oidx *o, idx_entry *const *v, size_t n);
idx_entry *oidx_remove(oidx *o, const void *key, size_t klen);
/* Unlink e itself (an entry linked in o, e.g. just unlinked from the hash
 * index, which shares it): e, or NULL if e is not in o. The same descent
 * as oidx_remove, but the leaf finds e by its address, so no other
 * entry's key is loaded there. */
idx_entry *oidx_remove_entry(oidx *o, idx_entry *e);
idx_entry *oidx_find(const oidx *o, const void *key, size_t klen);
size_t oidx_count(const oidx *o);
/* The number of entries whose key is < key (so, if key is in the index, its
 * 0-based position in key order). O(log n): inner nodes count their
 * subtrees' entries. key may be NULL when klen is 0 (then 0). */
size_t oidx_rank(const oidx *o, const void *key, size_t klen);
size_t oidx_memory(const oidx *o);
int    oidx_check_invariants(const oidx *o);

/* An iterator survives modification of the index: if the index changed
 * since its last step, it re-seeks to the first key after the one it last
 * returned (it keeps its own copy of that key). */
oidx_iter *oidx_iter_new(oidx *o);
void oidx_iter_free(oidx_iter *it);
void oidx_iter_seek(oidx_iter *it, const void *key, size_t klen); /* first >= key; NULL,0 = first */
idx_entry *oidx_iter_entry(oidx_iter *it);       /* NULL when past the end */
void oidx_iter_next(oidx_iter *it);
/* Position on the entry of 0-based rank `rank` in key order (the entry e
 * with oidx_rank(e->key) == rank), or past the end if rank >= count.
 * O(log n). Afterwards the iterator behaves as after oidx_iter_seek. */
void oidx_iter_seek_rank(oidx_iter *it, size_t rank);
/* CHALK_OK, or CHALK_ENOMEM if the iterator could not copy a key (it then
 * reads as past the end, so a caller that stops on NULL should check this
 * to tell "done" from "failed"). Added by the index engineer. */
int  oidx_iter_status(const oidx_iter *it);

#endif /* CHALK_INDEX_H */
