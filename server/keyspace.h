/*
 * keyspace.h — how Redis's numbered databases and typed values map onto the
 * engine's flat byte keys. THE one place this encoding is defined.
 *
 * Engine key of a Redis key (its "main record"):
 *
 *   offset  size  meaning
 *   0       1     database number, 0..databases-1 (SELECT)
 *   1       1     kind: 'k' = the main record of a Redis key.
 *                 The other kinds are the sub-records of hashes, lists,
 *                 sets and sorted sets, defined in composite.h: 'h' hash
 *                 field, 's' set member, 'l' list item, 'm' sorted-set
 *                 member → score, 'z' sorted-set score index, 'g' grave
 *                 (a deleted collection being reaped). They start with the
 *                 same db byte, so that a database is one contiguous
 *                 prefix range.
 *   2       n     the Redis key, raw bytes (may contain NUL)
 *
 * Engine value of a main record:
 *
 *   offset  size  meaning
 *   0       1     type, Redis's numbering: 0 string, 1 list, 2 set, 3 zset,
 *                 4 hash
 *   1       n     payload: for a string, its bytes; for other types,
 *                 the member count (and a list's head and tail):
 *                 composite.h
 *
 * Expiry is not in the bytes: it is the engine record's expire_at_ms.
 * A record is valid iff its key is >= 2 bytes, byte 0 < databases, and
 * (for kind 'k') its value is >= 1 byte with a known type.
 *
 * The one idea: a database is a one-byte key prefix, so it is a
 * contiguous range of the ordered index. Left out on purpose: a structure
 * per database (Redis keeps a hash table per db); the cost is that DBSIZE
 * and FLUSHDB walk the prefix (keyspace.c).
 *
 * @interview(arch.multi-tenancy): Are Redis's numbered databases a way to
 * host several tenants? Only a namespace: SELECT n prefixes every key with
 * one byte, so tenants cannot see each other's keys, but they share one
 * thread, one log, one fsync policy, one password and one memory budget,
 * and FLUSHALL or a slow command of one hurts all. Real isolation means
 * a process (or machine) per tenant, or per-tenant ACLs, quotas and rate
 * limits at least.
 */
#ifndef CHALK_KEYSPACE_H
#define CHALK_KEYSPACE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct client client;

#define KS_HDR 2                 /* db byte + kind byte */
enum { KS_KIND_KEY = 'k' };
enum { KS_STRING = 0, KS_LIST = 1, KS_SET = 2, KS_ZSET = 3, KS_HASH = 4 };

/* An encoded key or value: small ones in place, big ones malloc'd. */
typedef struct ks_buf {
    char *p;                     /* points at small or at a malloc'd block */
    size_t len;
    char small[256];
} ks_buf;

static inline void ks_free(ks_buf *b)
{
    if (b->p && b->p != b->small)
        free(b->p);
    b->p = NULL;
    b->len = 0;
}

/* Room for n bytes. 0 or -1 (ENOMEM). */
static inline int ks_reserve(ks_buf *b, size_t n)
{
    b->p = n <= sizeof b->small ? b->small : malloc(n);
    b->len = n;
    return b->p ? 0 : -1;
}

/* The engine key of Redis key `key` in database db. 0 or -1. */
static inline int ks_key(ks_buf *b, int db, const void *key, size_t klen)
{
    if (ks_reserve(b, KS_HDR + klen) < 0)
        return -1;
    b->p[0] = (char)db;
    b->p[1] = KS_KIND_KEY;
    if (klen)
        memcpy(b->p + KS_HDR, key, klen);
    return 0;
}

/* The engine value of a typed payload. 0 or -1. */
static inline int ks_value(ks_buf *b, int type, const void *data, size_t len)
{
    if (ks_reserve(b, 1 + len) < 0)
        return -1;
    b->p[0] = (char)type;
    if (len)
        memcpy(b->p + 1, data, len);
    return 0;
}

/* The two-byte prefix of every main record of database db. */
static inline void ks_prefix(char out[KS_HDR], int db)
{
    out[0] = (char)db;
    out[1] = KS_KIND_KEY;
}

/* 1 if engine key ek is a main record of db (then key and klen give the
 * Redis key), 0 if not. */
static inline int ks_decode(const void *ek, size_t eklen, int db, const char **key, size_t *klen)
{
    const unsigned char *p = ek;
    if (eklen < KS_HDR || p[0] != (unsigned char)db || p[1] != KS_KIND_KEY)
        return 0;
    *key = (const char *)p + KS_HDR;
    *klen = eklen - KS_HDR;
    return 1;
}

/* Whole-database helpers (keyspace.c). */
/* Keys of db: an ordered walk of its prefix, O(keys in db). When only db
 * 0 holds data and no composite records exist this equals chalk_count(). */
uint64_t ks_db_size(int db);
/* Keys and keys-with-expiry of every db in one walk (INFO keyspace). */
void ks_count_all(uint64_t *keys, uint64_t *expires, int ndb);
/* Delete every record (main and composite) of db, or of all dbs if db < 0,
 * in batches of 1024 deletes. Returns the number of main records deleted
 * or a negative CHALK_E* error. Not atomic across batches: a crash in the
 * middle leaves part of the data (Redis's FLUSHALL is atomic in memory and
 * loses everything on a crash without persistence anyway). */
long long ks_flush(client *c, int db);

#endif /* CHALK_KEYSPACE_H */
