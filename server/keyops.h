/*
 * keyops.h — operations on one whole Redis key, whatever its type: look it
 * up (with lazy expiry), delete it, rename it, copy it. Every command that
 * deletes, renames or copies a key goes through ks_delete_key,
 * ks_rename_key or ks_copy_key, so that when composite types (hash, list,
 * set, zset: sub-records of other kinds next to the main record, see
 * keyspace.h) arrive, there is ONE place per operation that must learn to
 * carry their sub-records along: keyops.c, function key_members().
 *
 * Composite types: their sub-records never expire; expiry lives on the
 * main record only, and every access goes through the main record first,
 * so an expired collection is invisible as a whole (composite.h). Expiry
 * deletes the members through cp_expired (expire.c), a delete, rename or
 * copy through key_members → cp_members (keyops.c).
 *
 * The design (the one idea, what is left out and what it costs, the
 * interview topics) is at the top of keyops.c.
 */
#ifndef CHALK_KEYOPS_H
#define CHALK_KEYOPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <chalk/engine.h>

#include "keyspace.h"

typedef struct client client;

/* The type byte of a main record's value, or -1 if it has none. */
static inline int ks_type_of(const chalk_value *v)
{
    return v->len ? ((const unsigned char *)v->data)[0] : -1;
}
/* The payload after the type byte (for a string: its bytes). */
static inline const char *ks_payload(const chalk_value *v) { return (const char *)v->data + 1; }
static inline size_t ks_payload_len(const chalk_value *v) { return v->len ? v->len - 1 : 0; }

/* Redis's TYPE name of a type byte ("string", "list", ...), "none" for -1. */
const char *ks_type_name(int type);

/* Look up Redis key `key` of database db. Returns CHALK_OK and *out (free
 * it with chalk_value_free), CHALK_ENOTFOUND (absent, or expired: an
 * expired key met here is deleted, see expire_if_needed), or an engine
 * read error (CHALK_EIO, CHALK_ECORRUPT, CHALK_ENOMEM). */
int ks_lookup(int db, const void *key, size_t klen, chalk_value *out);
/* ks_lookup, counting keyspace_hits / keyspace_misses (read commands). */
int ks_lookup_read(int db, const void *key, size_t klen, chalk_value *out);
/* 1 if the key exists (and has not expired), 0 if not. Never touches disk. */
int ks_exists(int db, const void *key, size_t klen);
/* The key's expiry (0 = none): CHALK_OK, or CHALK_ENOTFOUND. */
int ks_expiry(int db, const void *key, size_t klen, int64_t *expire_at_ms);

/* The type (KS_STRING ... KS_HASH) of key in db, -1 if there is no such
 * key (an expired one met here is deleted), or a CHALK_E* error (all are
 * < -1). Reads the value only if its size is that of a collection's main
 * record: for almost every string it never touches the disk. */
int ks_type(int db, const void *key, size_t klen);

/* Add to batch b the deletes that remove key from db (main record and,
 * for composite types, its sub-records). Returns 1 if the key existed, 0
 * if not (nothing added), or a negative CHALK_E* error. */
int ks_delete_key(chalk_batch *b, int db, const void *key, size_t klen);
/* Add to b the puts that store the key (value v, expiry expire_at_ms) as
 * `dst` in database dstdb, replacing whatever dst held (its deletes are
 * added too). v is the source's main record as ks_lookup returned it.
 * Returns CHALK_OK or a negative CHALK_E* error. */
int ks_copy_key(chalk_batch *b, int srcdb, const void *src, size_t srclen, const chalk_value *v,
                int dstdb, const void *dst, size_t dstlen, int64_t expire_at_ms);
/* ks_copy_key to dst, then delete src: one batch, so a crash keeps either
 * the old name or the new one, never both or neither. */
int ks_rename_key(chalk_batch *b, int db, const void *src, size_t srclen, const chalk_value *v,
                  int dstdb, const void *dst, size_t dstlen, int64_t expire_at_ms);

/* Before a write that replaces key's value with a string (SET, MSET):
 * add to b the deletes of the sub-records the key owns if it holds a
 * collection. Memory-only unless the old value could be a collection's
 * main record (9 or 25 bytes). CHALK_OK or a
 * CHALK_E* error. */
int ks_replace_prepare(chalk_batch *b, int db, const void *key, size_t klen);
/* The same for a key whose engine key k (ks_key's bytes, alive while k is
 * used) the caller prepared with chalk_key_prepare: not hashed again. */
int ks_replace_prepare_key(chalk_batch *b, int db, const void *key, size_t klen, const chalk_key *k);

/* Store a string value (type byte + bytes) for key in db, replacing
 * whatever it held (a collection's sub-records too), through
 * server_write (so under appendfsync always the reply written after this
 * call is held until durable). Returns CHALK_OK or a CHALK_E* error. */
int ks_set_string(client *c, int db, const void *key, size_t klen, const void *val, size_t vlen,
                  int64_t expire_at_ms);

/* Look up key in db as a string for client c: 1 and *v if it holds a
 * string, 0 if there is no such key, -1 if an error was replied (the
 * WRONGTYPE error for another type, or an engine error). count_read:
 * count keyspace_hits / keyspace_misses (read commands). */
int ks_get_string(client *c, int db, const void *key, size_t klen, chalk_value *v, bool count_read);

/* Store main-record value v (type byte + payload, as ks_lookup returned
 * it) for key in db with expiry expire_at_ms, through server_write:
 * changing a key's expiry rewrites its record (the expiry lives in the
 * record). Returns CHALK_OK or a CHALK_E* error. */
int ks_put_value(client *c, int db, const void *key, size_t klen, const chalk_value *v,
                 int64_t expire_at_ms);

/* A batch for one command, reused (the engine copies it on write). NULL on
 * ENOMEM. Never hold it across commands. */
chalk_batch *ks_batch(void);

#endif /* CHALK_KEYOPS_H */
