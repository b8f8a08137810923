/*
 * bench/peers.c — LevelDB, RocksDB and LMDB behind kv_driver.h, through
 * their C APIs (leveldb/c.h, rocksdb/c.h, lmdb.h), configured the way their
 * own benchmarks configure them, with the settings that make the comparison
 * fair written next to them.
 *
 * The one idea: "equal durability" is a per-engine setting, so it is spelled
 * out here once:
 *   durable=0  LevelDB/RocksDB sync=false (the OS writes the log back);
 *              LMDB MDB_WRITEMAP|MDB_NOSYNC|MDB_NOMETASYNC (the OS writes
 *              the map back).  Chalk: CHALK_FSYNC_NO.
 *   durable=1  LevelDB/RocksDB sync=true on every write batch (an fsync of
 *              the write-ahead log before the write returns); LMDB default
 *              flags (fdatasync of data and meta page at every commit).
 *              Chalk: CHALK_FSYNC_ALWAYS and chalk_write_sync.
 *
 * Left out on purpose: tuning. Compression is switched off in LevelDB and
 * RocksDB (Chalk does not compress, and the values are random bytes anyway);
 * everything else is each library's default, as a user would first meet it.
 * Cost: a tuned RocksDB (bigger memtables, more background jobs) would write
 * faster than shown; docs/PERFORMANCE.md says so.
 *
 * Interview topics: see kv_driver.h (the figures, not this glue, answer them).
 */
#include "kv_driver.h"

#include <leveldb/c.h>
#include <lmdb.h>
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ROCKSDB_VERSION_STRING
#define ROCKSDB_VERSION_STRING "?"
#endif

/* ---- LevelDB -------------------------------------------------------------- */

typedef struct ldb {
    leveldb_t              *db;
    leveldb_options_t      *opt;
    leveldb_writeoptions_t *wopt;
    leveldb_readoptions_t  *ropt;
} ldb;

static const char *ldb_version(void)
{
    static char buf[32];   /* constant after the first call */
    snprintf(buf, sizeof buf, "%d.%d", leveldb_major_version(), leveldb_minor_version());
    return buf;
}

static int ldb_close(void *h)
{
    ldb *l = h;
    if (l->db)
        leveldb_close(l->db);
    leveldb_readoptions_destroy(l->ropt);
    leveldb_writeoptions_destroy(l->wopt);
    leveldb_options_destroy(l->opt);
    free(l);
    return 0;
}

static int ldb_open(const char *dir, int durable, void **out)
{
    ldb *l = calloc(1, sizeof *l);
    if (!l)
        return -1;
    l->opt = leveldb_options_create();
    leveldb_options_set_create_if_missing(l->opt, 1);
    leveldb_options_set_compression(l->opt, leveldb_no_compression);
    l->wopt = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(l->wopt, (unsigned char)durable);
    l->ropt = leveldb_readoptions_create();
    char *err = NULL;
    l->db = leveldb_open(l->opt, dir, &err);
    if (err) {
        fprintf(stderr, "leveldb_open %s: %s\n", dir, err);
        leveldb_free(err);
        ldb_close(l);
        return -1;
    }
    *out = l;
    return 0;
}

static int ldb_put_batch(void *h, const kv_pair *p, size_t n)
{
    ldb *l = h;
    char *err = NULL;
    if (n == 1) {
        leveldb_put(l->db, l->wopt, p->key, p->klen, p->val, p->vlen, &err);
    } else {
        /* A batch per call, not one per handle: put_batch is called from
         * several threads at once by the group-commit row. */
        leveldb_writebatch_t *batch = leveldb_writebatch_create();
        for (size_t i = 0; i < n; i++)
            leveldb_writebatch_put(batch, p[i].key, p[i].klen, p[i].val, p[i].vlen);
        leveldb_write(l->db, l->wopt, batch, &err);
        leveldb_writebatch_destroy(batch);
    }
    if (err) {
        fprintf(stderr, "leveldb write: %s\n", err);
        leveldb_free(err);
        return -1;
    }
    return 0;
}

static int ldb_get(void *h, const void *key, size_t klen, size_t *vlen)
{
    ldb *l = h;
    char *err = NULL;
    char *v = leveldb_get(l->db, l->ropt, key, klen, vlen, &err);
    if (err) {
        fprintf(stderr, "leveldb_get: %s\n", err);
        leveldb_free(err);
        return -1;
    }
    if (!v)
        return 1;
    leveldb_free(v);
    return 0;
}

const kv_driver kv_leveldb = {
    "leveldb", ldb_version, ldb_open, ldb_put_batch, NULL, ldb_get, ldb_close,
};

/* ---- RocksDB -------------------------------------------------------------- */

typedef struct rdb {
    rocksdb_t              *db;
    rocksdb_options_t      *opt;
    rocksdb_writeoptions_t *wopt;
    rocksdb_readoptions_t  *ropt;
} rdb;

static const char *rdb_version(void) { return ROCKSDB_VERSION_STRING; }

static int rdb_close(void *h)
{
    rdb *r = h;
    if (r->db)
        rocksdb_close(r->db);
    rocksdb_readoptions_destroy(r->ropt);
    rocksdb_writeoptions_destroy(r->wopt);
    rocksdb_options_destroy(r->opt);
    free(r);
    return 0;
}

static int rdb_open(const char *dir, int durable, void **out)
{
    rdb *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    r->opt = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(r->opt, 1);
    rocksdb_options_set_compression(r->opt, rocksdb_no_compression);
    r->wopt = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(r->wopt, (unsigned char)durable);
    r->ropt = rocksdb_readoptions_create();
    char *err = NULL;
    r->db = rocksdb_open(r->opt, dir, &err);
    if (err) {
        fprintf(stderr, "rocksdb_open %s: %s\n", dir, err);
        rocksdb_free(err);
        rdb_close(r);
        return -1;
    }
    *out = r;
    return 0;
}

static int rdb_put_batch(void *h, const kv_pair *p, size_t n)
{
    rdb *r = h;
    char *err = NULL;
    if (n == 1) {
        rocksdb_put(r->db, r->wopt, p->key, p->klen, p->val, p->vlen, &err);
    } else {
        rocksdb_writebatch_t *batch = rocksdb_writebatch_create();   /* per call: see ldb */
        for (size_t i = 0; i < n; i++)
            rocksdb_writebatch_put(batch, p[i].key, p[i].klen, p[i].val, p[i].vlen);
        rocksdb_write(r->db, r->wopt, batch, &err);
        rocksdb_writebatch_destroy(batch);
    }
    if (err) {
        fprintf(stderr, "rocksdb write: %s\n", err);
        rocksdb_free(err);
        return -1;
    }
    return 0;
}

static int rdb_get(void *h, const void *key, size_t klen, size_t *vlen)
{
    rdb *r = h;
    char *err = NULL;
    char *v = rocksdb_get(r->db, r->ropt, key, klen, vlen, &err);
    if (err) {
        fprintf(stderr, "rocksdb_get: %s\n", err);
        rocksdb_free(err);
        return -1;
    }
    if (!v)
        return 1;
    rocksdb_free(v);
    return 0;
}

const kv_driver kv_rocksdb = {
    "rocksdb", rdb_version, rdb_open, rdb_put_batch, NULL, rdb_get, rdb_close,
};

/* ---- LMDB ------------------------------------------------------------------ */

typedef struct mdb {
    MDB_env *env;
    MDB_dbi  dbi;
    MDB_txn *reader;   /* one read-only txn, reset/renewed around every get */
    char    *copy;     /* where get copies a value out of the map */
    size_t   copy_cap;
} mdb;

static const char *mdb_ver(void)
{
    static char buf[32];   /* constant after the first call */
    int major, minor, patch;
    mdb_version(&major, &minor, &patch);
    snprintf(buf, sizeof buf, "%d.%d.%d", major, minor, patch);
    return buf;
}

static int mdb_fail(const char *what, int rc)
{
    fprintf(stderr, "lmdb %s: %s\n", what, mdb_strerror(rc));
    return -1;
}

static int mdb_close_driver(void *h)
{
    mdb *m = h;
    if (m->reader)
        mdb_txn_abort(m->reader);
    if (m->env)
        mdb_env_close(m->env);   /* with MDB_NOSYNC: no sync, like the peers */
    free(m->copy);
    free(m);
    return 0;
}

/* The map must hold the whole database: 1 KiB per key is ~4x what the
 * B-tree needs for 16+100-byte pairs; the file stays sparse. */
static int mdb_open_driver(const char *dir, int durable, void **out)
{
    mdb *m = calloc(1, sizeof *m);
    MDB_txn *txn = NULL;
    int rc;
    if (!m)
        return -1;
    unsigned flags = MDB_NOTLS;
    if (!durable)
        flags |= MDB_WRITEMAP | MDB_NOSYNC | MDB_NOMETASYNC;
    if ((rc = mdb_env_create(&m->env)) ||
        (rc = mdb_env_set_mapsize(m->env, (size_t)16 << 30)) ||
        (rc = mdb_env_open(m->env, dir, flags, 0644)) ||
        (rc = mdb_txn_begin(m->env, NULL, 0, &txn)) ||
        (rc = mdb_dbi_open(txn, NULL, 0, &m->dbi)) ||
        (rc = mdb_txn_commit(txn)) ||
        (rc = mdb_txn_begin(m->env, NULL, MDB_RDONLY, &m->reader))) {
        mdb_close_driver(m);
        return mdb_fail("open", rc);
    }
    mdb_txn_reset(m->reader);
    *out = m;
    return 0;
}

static int mdb_put_batch(void *h, const kv_pair *p, size_t n)
{
    mdb *m = h;
    MDB_txn *txn;
    int rc = mdb_txn_begin(m->env, NULL, 0, &txn);
    if (rc)
        return mdb_fail("txn_begin", rc);
    for (size_t i = 0; i < n; i++) {
        MDB_val k = { p[i].klen, (void *)p[i].key };
        MDB_val v = { p[i].vlen, (void *)p[i].val };
        if ((rc = mdb_put(txn, m->dbi, &k, &v, 0))) {
            mdb_txn_abort(txn);
            return mdb_fail("put", rc);
        }
    }
    /* The commit point; with durable=1 it fdatasyncs before returning. */
    if ((rc = mdb_txn_commit(txn)))
        return mdb_fail("commit", rc);
    return 0;
}

/* LMDB hands out a pointer into the map; copying the value out (into a
 * reused buffer) keeps the work close to the engines whose get returns a
 * malloc'd copy, without letting LMDB skip reading the value at all. */
static int mdb_get_driver(void *h, const void *key, size_t klen, size_t *vlen)
{
    mdb *m = h;
    MDB_val k = { klen, (void *)key }, v;
    int rc = mdb_txn_renew(m->reader);
    if (rc)
        return mdb_fail("txn_renew", rc);
    rc = mdb_get(m->reader, m->dbi, &k, &v);
    if (rc == 0) {
        if (v.mv_size > m->copy_cap) {
            char *grown = realloc(m->copy, v.mv_size);
            if (!grown) {
                mdb_txn_reset(m->reader);
                return -1;
            }
            m->copy = grown;
            m->copy_cap = v.mv_size;
        }
        memcpy(m->copy, v.mv_data, v.mv_size);
        *vlen = v.mv_size;
    }
    mdb_txn_reset(m->reader);
    if (rc == MDB_NOTFOUND)
        return 1;
    return rc ? mdb_fail("get", rc) : 0;
}

const kv_driver kv_lmdb = {
    "lmdb", mdb_ver, mdb_open_driver, mdb_put_batch, NULL, mdb_get_driver, mdb_close_driver,
};
