/*
 * index_util.c — the two functions both indexes agree on: how a key hashes
 * and how two keys compare.
 *
 * The one idea: a key is an arbitrary byte string (it may be empty and may
 * hold NUL bytes), so it is always passed as (pointer, length) and never as
 * a C string. Hashing is XXH3-64 over those bytes; ordering is memcmp over
 * the common prefix, and on a tie the shorter key sorts first ("a" < "a\0" <
 * "ab" < "b"). This is the order LevelDB's BytewiseComparator and Redis's
 * ZRANGEBYLEX use, so a prefix scan is one seek plus a walk.
 *
 * Left out on purpose: a seeded (keyed) hash. A client that can choose keys
 * could in principle build many keys with colliding XXH3 values and turn one
 * hash bucket into a long chain (hash flooding). Redis uses SipHash with a
 * random per-process seed for that reason; XXH3 is several times faster on
 * short keys, and a seed could be added with XXH3_64bits_withSeed without
 * changing any caller. The cost: an adversary who knows the hash can slow
 * point lookups down to a list walk.
 *
 * Interview topics: index.optimization (through the indexes that use these).
 */
#include <string.h>
#include <xxhash.h>

#include "index.h"

uint64_t idx_hash(const void *key, size_t klen)
{
    return XXH3_64bits(key, klen);
}

int idx_keycmp(const void *a, size_t alen, const void *b, size_t blen)
{
    /* memcmp with a NULL pointer is undefined even for length 0, and an
     * empty key may well arrive as (NULL, 0): the inline version never
     * touches a pointer when the common length is 0. */
    return idx_keycmp_inline(a, alen, b, blen);
}
