/*
 * keyops.c — one whole Redis key at a time: look it up with lazy expiry,
 * delete it, copy it, rename it, store a string.
 *
 * The one idea: a Redis key is a main record (keyspace.h) plus, for the
 * composite types, sub-records; whoever deletes, renames or copies a key
 * must move all of them in ONE engine batch, so that recovery applies the
 * whole change or none of it (a RENAME never leaves both names or
 * neither). Strings have no sub-records; key_members() is the one place
 * that hands the composite types' sub-records to composite.c.
 *
 * Left out on purpose: a type in the index. The type byte lives in the
 * value, and the engine reads whole records (checking their checksum);
 * ks_type avoids most reads by the value's size (known from memory), but a
 * string of exactly 8 or 24 bytes is read to tell it from a collection's
 * main record. The cost: one page-cache read for those, on TYPE, DEL,
 * SET-over, SCAN TYPE.
 *
 * Interview topics: db.crud (ks_delete_key: a delete is a tombstone).
 */
#include "keyops.h"

#include "commands.h"
#include "composite.h"
#include "expire.h"
#include "server.h"

const char *ks_type_name(int type)
{
    switch (type) {
    case KS_STRING: return "string";
    case KS_LIST: return "list";
    case KS_SET: return "set";
    case KS_ZSET: return "zset";
    case KS_HASH: return "hash";
    default: return "none";
    }
}

chalk_batch *ks_batch(void)
{
    if (!server.scratch)
        server.scratch = chalk_batch_new();
    else
        chalk_batch_clear(server.scratch);
    return server.scratch;
}

int ks_lookup(int db, const void *key, size_t klen, chalk_value *out)
{
    ks_buf ek;
    if (!server.db)
        return CHALK_ECLOSED;
    if (ks_key(&ek, db, key, klen) < 0)
        return CHALK_ENOMEM;
    int rc = chalk_get(server.db, ek.p, ek.len, out);
    if (rc == CHALK_ENOTFOUND)
        expire_if_needed(ek.p, ek.len);
    ks_free(&ek);
    return rc;
}

int ks_lookup_read(int db, const void *key, size_t klen, chalk_value *out)
{
    int rc = ks_lookup(db, key, klen, out);
    if (rc == CHALK_OK)
        server.stat_keyspace_hits++;
    else if (rc == CHALK_ENOTFOUND)
        server.stat_keyspace_misses++;
    return rc;
}

int ks_exists(int db, const void *key, size_t klen)
{
    ks_buf ek;
    if (!server.db || ks_key(&ek, db, key, klen) < 0)
        return 0;
    int yes = chalk_exists(server.db, ek.p, ek.len);
    if (!yes)
        expire_if_needed(ek.p, ek.len);
    ks_free(&ek);
    return yes;
}

int ks_expiry(int db, const void *key, size_t klen, int64_t *expire_at_ms)
{
    ks_buf ek;
    if (!server.db)
        return CHALK_ECLOSED;
    if (ks_key(&ek, db, key, klen) < 0)
        return CHALK_ENOMEM;
    int rc = chalk_get_expiry(server.db, ek.p, ek.len, expire_at_ms);
    if (rc == CHALK_ENOTFOUND)
        expire_if_needed(ek.p, ek.len);
    ks_free(&ek);
    return rc;
}

/* THE PLACE for composite types. A key of type `type` may own sub-records
 * besides its main record; when `dstdb`/`dst` are given, add to b a put
 * of each sub-record re-keyed under dst (copy, rename); when `del` is set,
 * add a delete of each (delete, rename, overwrite). Strings own none;
 * the composite types' cases are cp_members (composite.c), which walks the
 * sub-record prefix of (db, key) and adds the puts / deletes. */
static int key_members(chalk_batch *b, int type, int db, const void *key, size_t klen,
                       int dstdb, const void *dst, size_t dstlen, bool del)
{
    switch (type) {
    case KS_STRING:
        return CHALK_OK;           /* the main record is the whole key */
    default:                       /* hash, list, set, zset: composite.h */
        return cp_members(b, db, key, klen, dstdb, dst, dstlen, del);
    }
}

/* The type of a key without reading its value when possible. A
 * collection's main record has a value of 9 bytes (25 for a list,
 * composite.h); chalk_locate gives the size from memory, so only a value
 * of those sizes is read to learn its type, and every other key is a
 * string. If composite.h's sizes change, test_keys.py's "drop_its_members"
 * test fails. */
static bool maybe_collection(uint32_t value_size) { return value_size == 9 || value_size == 25; }

/* ks_type once engine key ek is located (rc and loc from chalk_locate). */
static int type_located(const void *ek, size_t eklen, int rc, const chalk_location *loc)
{
    if (rc == CHALK_ENOTFOUND)
        expire_if_needed(ek, eklen);
    else if (rc == CHALK_OK && maybe_collection(loc->value_size)) {
        chalk_value v;
        rc = chalk_get(server.db, ek, eklen, &v);
        if (rc == CHALK_OK) {
            rc = ks_type_of(&v);
            chalk_value_free(&v);
        }
    } else if (rc == CHALK_OK) {
        rc = KS_STRING;
    }
    return rc == CHALK_ENOTFOUND ? -1 : rc;
}

int ks_type(int db, const void *key, size_t klen)
{
    ks_buf ek;
    chalk_location loc;
    if (!server.db || ks_key(&ek, db, key, klen) < 0)
        return server.db ? CHALK_ENOMEM : CHALK_ECLOSED;
    int rc = type_located(ek.p, ek.len, chalk_locate(server.db, ek.p, ek.len, &loc), &loc);
    ks_free(&ek);
    return rc;
}

/* @interview(db.crud): What does a DELETE do in a log-structured store?
 * It appends a tombstone record: the index forgets the key at once, and
 * the old bytes stay in their segment until compaction copies the live
 * records elsewhere and drops the file. Nothing is updated in place, which
 * is why a delete is as cheap as a write, and why disk space comes back
 * only later. */
int ks_delete_key(chalk_batch *b, int db, const void *key, size_t klen)
{
    int type = ks_type(db, key, klen);
    if (type == -1)
        return 0;
    if (type < -1)
        return type;                        /* an engine error */
    ks_buf ek;
    int rc;
    if (ks_key(&ek, db, key, klen) < 0)
        return CHALK_ENOMEM;
    rc = chalk_batch_delete(b, ek.p, ek.len);
    ks_free(&ek);
    if (rc == CHALK_OK)
        rc = key_members(b, type, db, key, klen, -1, NULL, 0, true);
    return rc == CHALK_OK ? 1 : rc;
}

int ks_copy_key(chalk_batch *b, int srcdb, const void *src, size_t srclen, const chalk_value *v,
                int dstdb, const void *dst, size_t dstlen, int64_t expire_at_ms)
{
    int rc = ks_delete_key(b, dstdb, dst, dstlen);   /* the old dst, all of it */
    if (rc < 0)
        return rc;
    ks_buf ek;
    if (ks_key(&ek, dstdb, dst, dstlen) < 0)
        return CHALK_ENOMEM;
    rc = chalk_batch_put(b, ek.p, ek.len, v->data, v->len, expire_at_ms);
    ks_free(&ek);
    if (rc != CHALK_OK)
        return rc;
    return key_members(b, ks_type_of(v), srcdb, src, srclen, dstdb, dst, dstlen, false);
}

int ks_rename_key(chalk_batch *b, int db, const void *src, size_t srclen, const chalk_value *v,
                  int dstdb, const void *dst, size_t dstlen, int64_t expire_at_ms)
{
    int rc = ks_copy_key(b, db, src, srclen, v, dstdb, dst, dstlen, expire_at_ms);
    if (rc != CHALK_OK)
        return rc;
    ks_buf ek;
    if (ks_key(&ek, db, src, srclen) < 0)
        return CHALK_ENOMEM;
    rc = chalk_batch_delete(b, ek.p, ek.len);
    ks_free(&ek);
    if (rc != CHALK_OK)
        return rc;
    return key_members(b, ks_type_of(v), db, src, srclen, -1, NULL, 0, true);
}

/* A string write replaces whatever the key held; if that was a
 * collection, its sub-records must go in the same batch (ks_type reads
 * nothing for a key that is surely a string). */
static int replace_typed(chalk_batch *b, int type, int db, const void *key, size_t klen)
{
    if (type < -1)
        return type;
    if (type <= KS_STRING)
        return CHALK_OK;                    /* absent, or a string */
    return key_members(b, type, db, key, klen, -1, NULL, 0, true);
}

int ks_replace_prepare(chalk_batch *b, int db, const void *key, size_t klen)
{
    return replace_typed(b, ks_type(db, key, klen), db, key, klen);
}

int ks_replace_prepare_key(chalk_batch *b, int db, const void *key, size_t klen, const chalk_key *k)
{
    chalk_location loc;
    if (!server.db)
        return CHALK_ECLOSED;
    int rc = chalk_locate_prepared(server.db, k, &loc);
    return replace_typed(b, type_located(k->key, k->klen, rc, &loc), db, key, klen);
}

int ks_set_string(client *c, int db, const void *key, size_t klen, const void *val, size_t vlen,
                  int64_t expire_at_ms)
{
    ks_buf ek, ev;
    chalk_batch *b = ks_batch();
    if (!b)
        return CHALK_ENOMEM;
    int rc = ks_replace_prepare(b, db, key, klen);
    if (rc != CHALK_OK)
        return rc;
    if (ks_key(&ek, db, key, klen) < 0)
        return CHALK_ENOMEM;
    if (ks_value(&ev, KS_STRING, val, vlen) < 0) {
        ks_free(&ek);
        return CHALK_ENOMEM;
    }
    rc = chalk_batch_put(b, ek.p, ek.len, ev.p, ev.len, expire_at_ms);
    ks_free(&ek);
    ks_free(&ev);
    return rc == CHALK_OK ? server_write(c, b) : rc;
}

int ks_get_string(client *c, int db, const void *key, size_t klen, chalk_value *v, bool count_read)
{
    int rc = count_read ? ks_lookup_read(db, key, klen, v) : ks_lookup(db, key, klen, v);
    if (rc == CHALK_ENOTFOUND)
        return 0;
    if (rc != CHALK_OK) {
        reply_engine_error(c, rc);
        return -1;
    }
    if (ks_type_of(v) != KS_STRING) {
        chalk_value_free(v);
        reply_error(c, ERR_WRONGTYPE);
        return -1;
    }
    return 1;
}

int ks_put_value(client *c, int db, const void *key, size_t klen, const chalk_value *v,
                 int64_t expire_at_ms)
{
    ks_buf ek;
    if (ks_key(&ek, db, key, klen) < 0)
        return CHALK_ENOMEM;
    int rc = server_put(c, ek.p, ek.len, v->data, v->len, expire_at_ms);
    ks_free(&ek);
    return rc;
}
