/*
 * bench/chalk_driver.c — Chalk behind kv_driver.h, plus the measurements
 * only Chalk has: group commit with batches in flight, recovery with and
 * without hint files, write amplification after overwrites and compaction.
 *
 * The one idea: Chalk is driven through its public header only
 * (include/chalk/engine.h), exactly as an embedding application would,
 * with the durability the peers get (see peers.c):
 *   durable=0  CHALK_FSYNC_NO, chalk_put per key;
 *   durable=1  CHALK_FSYNC_ALWAYS, chalk_write_sync per batch of 100: one
 *              batch on disk before the next is written, like LevelDB's
 *              sync=true writes from one thread.
 * Group commit (several batches covered by one fdatasync) is measured in a
 * row of its own, because the peers are not given the same chance there.
 *
 * Left out on purpose: expiry, deletes, iterators. Cost: their speed is not
 * measured here.
 *
 * Interview topics: tx.durability (group_commit_fill: what one fdatasync
 * per group buys), storage.recovery (recovery_phase: hints vs log scan);
 * the figures, in docs/PERFORMANCE.md.
 */
#include "kv_driver.h"

#include <chalk/engine.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef CHALK_VERSION
#define CHALK_VERSION "?"
#endif

typedef struct cdb {
    chalk_db    *db;
    chalk_batch *batch;     /* reused by put_batch */
    int          durable;
    int          in_flight; /* batches written whose callback has not run */
    int          failed;    /* first error a callback reported */
} cdb;

static const char *cdb_version(void) { return CHALK_VERSION; }

/* The engine's log lines: warnings and errors only, so that the benchmark's
 * output stays a table. */
static void quiet_log(void *arg, enum chalk_log_level level, const char *msg)
{
    (void)arg;
    if (level >= CHALK_LOG_WARN)
        fprintf(stderr, "chalk: %s\n", msg);
}

static int cdb_fail(const char *what, int rc)
{
    fprintf(stderr, "chalk %s: %s\n", what, chalk_strerror(rc));
    return -1;
}

static int cdb_open_opts(const char *dir, int durable, uint64_t segment_size, void **out)
{
    cdb *c = calloc(1, sizeof *c);
    chalk_options opt;
    if (!c || !(c->batch = chalk_batch_new())) {
        free(c);
        return -1;
    }
    chalk_options_init(&opt);
    opt.fsync = durable ? CHALK_FSYNC_ALWAYS : CHALK_FSYNC_NO;
    opt.log = quiet_log;
    if (segment_size)
        opt.segment_size = segment_size;
    c->durable = durable;
    int rc = chalk_open(dir, &opt, &c->db);
    if (rc != CHALK_OK) {
        chalk_batch_free(c->batch);
        free(c);
        return cdb_fail("open", rc);
    }
    *out = c;
    return 0;
}

static int cdb_open(const char *dir, int durable, void **out)
{
    return cdb_open_opts(dir, durable, 0, out);
}

static int cdb_close(void *h)
{
    cdb *c = h;
    int rc = chalk_close(c->db);
    chalk_batch_free(c->batch);
    free(c);
    return rc == CHALK_OK ? 0 : cdb_fail("close", rc);
}

static int cdb_put_batch(void *h, const kv_pair *p, size_t n)
{
    cdb *c = h;
    int rc;
    if (n == 1 && !c->durable) {
        rc = chalk_put(c->db, p->key, p->klen, p->val, p->vlen, 0);
        return rc == CHALK_OK ? 0 : cdb_fail("put", rc);
    }
    chalk_batch_clear(c->batch);
    for (size_t i = 0; i < n; i++)
        if ((rc = chalk_batch_put(c->batch, p[i].key, p[i].klen, p[i].val, p[i].vlen, 0)))
            return cdb_fail("batch_put", rc);
    /* durable: returns after the fdatasync covering this batch completed. */
    rc = c->durable ? chalk_write_sync(c->db, c->batch) : chalk_write(c->db, c->batch, NULL, NULL);
    return rc == CHALK_OK ? 0 : cdb_fail("write", rc);
}

static void on_commit(void *arg, int status)
{
    cdb *c = arg;
    c->in_flight--;
    if (status != CHALK_OK && !c->failed)
        c->failed = status;
}

/* Submit what is queued and wait until at most `limit` batches are still in
 * flight, sleeping on the engine's event fd as an event loop would. */
static int wait_in_flight(cdb *c, int limit)
{
    while (c->in_flight > limit) {
        int rc = chalk_flush(c->db);
        if (rc != CHALK_OK)
            return cdb_fail("flush", rc);
        struct pollfd pfd = { chalk_event_fd(c->db), POLLIN, 0 };
        if (poll(&pfd, 1, 1000) < 0)
            return -1;
        if ((rc = chalk_poll(c->db)) < 0)
            return cdb_fail("poll", rc);
    }
    return c->failed ? cdb_fail("commit", c->failed) : 0;
}

/* The end of a timed fill under CHALK_FSYNC_NO: chalk_put only queues, so
 * write one marker batch with a callback and wait for it. Batches reach the
 * log in order, so when its callback runs (NO: "handed to the OS"), every
 * put before it was written too. The marker adds one key. */
static int cdb_settle(void *h)
{
    cdb *c = h;
    static const char marker[] = "~bench-settle";
    chalk_batch_clear(c->batch);
    int rc = chalk_batch_put(c->batch, marker, sizeof marker - 1, "", 0, 0);
    if (rc == CHALK_OK)
        rc = chalk_write(c->db, c->batch, on_commit, c);
    if (rc != CHALK_OK)
        return cdb_fail("settle", rc);
    c->in_flight++;
    return wait_in_flight(c, 0);
}

static int cdb_get(void *h, const void *key, size_t klen, size_t *vlen)
{
    cdb *c = h;
    chalk_value v = { 0 };
    int rc = chalk_get(c->db, key, klen, &v);
    if (rc == CHALK_ENOTFOUND)
        return 1;
    if (rc != CHALK_OK)
        return cdb_fail("get", rc);
    *vlen = v.len;
    chalk_value_free(&v);
    return 0;
}

const kv_driver kv_chalk = {
    "chalk", cdb_version, cdb_open, cdb_put_batch, cdb_settle, cdb_get, cdb_close,
};

/* ---- Chalk-only measurements ------------------------------------------------ */

#define GROUP_WINDOW 16   /* batches in flight: 16 clients of a server */

/* Fill batches of 100 keys key ids from perm[first..first+count). */
static int fill_batch(cdb *c, const bench_cfg *cfg, const char *value_base, size_t first,
                      size_t count, char *val)
{
    char key[BENCH_KEY_SIZE];
    chalk_batch_clear(c->batch);
    for (size_t j = 0; j < count; j++) {
        uint64_t id = cfg->perm[first + j];
        bench_key(key, id);
        bench_value(val, value_base, cfg->value_size, id);
        if (chalk_batch_put(c->batch, key, sizeof key, val, cfg->value_size, 0) != CHALK_OK)
            return -1;
    }
    return 0;
}

/* Durable 100-op batches with GROUP_WINDOW of them in flight: the way
 * chalk-server drives the engine. ops/s; *per_fsync: batches per fdatasync. */
static double group_commit_fill(const bench_cfg *cfg, const char *value_base, const char *dir,
                                double *per_fsync)
{
    void *h;
    char *val = malloc(cfg->value_size);
    if (!val || cdb_open(dir, 1, &h) != 0) {
        free(val);
        return -1;
    }
    cdb *c = h;
    chalk_stats before, after;
    chalk_stats_get(c->db, &before);
    size_t batches = 0;
    double start = bench_now();
    for (size_t i = 0; i < cfg->sync_keys; i += BENCH_SYNC_BATCH, batches++) {
        size_t n = cfg->sync_keys - i < BENCH_SYNC_BATCH ? cfg->sync_keys - i : BENCH_SYNC_BATCH;
        if (fill_batch(c, cfg, value_base, i, n, val) != 0 ||
            chalk_write(c->db, c->batch, on_commit, c) != CHALK_OK)
            goto fail;
        c->in_flight++;
        if (c->in_flight >= GROUP_WINDOW && wait_in_flight(c, GROUP_WINDOW - 1) != 0)
            goto fail;
    }
    if (wait_in_flight(c, 0) != 0)
        goto fail;
    double secs = bench_now() - start;
    chalk_stats_get(c->db, &after);
    *per_fsync = (double)batches / (double)(after.fsyncs - before.fsyncs);
    free(val);
    cdb_close(c);
    return (double)cfg->sync_keys / secs;
fail:
    free(val);
    cdb_close(c);
    return -1;
}

/* Random fill with 8 MiB segments, so that most data sits in sealed
 * segments that compaction can give hint files to. */
static int recovery_fill(const bench_cfg *cfg, const char *value_base, const char *dir)
{
    void *h;
    char *val = malloc(cfg->value_size);
    char key[BENCH_KEY_SIZE];
    int rc = -1;
    if (!val || cdb_open_opts(dir, 0, 8u << 20, &h) != 0)
        goto out;
    rc = 0;
    for (size_t i = 0; i < cfg->keys && rc == 0; i++) {
        bench_key(key, cfg->perm[i]);
        bench_value(val, value_base, cfg->value_size, cfg->perm[i]);
        rc = cdb_put_batch(h, &(kv_pair){ key, sizeof key, val, cfg->value_size }, 1);
    }
    rc |= cdb_close(h);
out:
    free(val);
    return rc;
}

/* Open and time it; returns ms or NAN-ish -1, and leaves *out open. */
static double timed_open(const char *dir, void **out)
{
    double t0 = bench_now();
    if (cdb_open_opts(dir, 0, 8u << 20, out) != 0)
        return -1;
    return (bench_now() - t0) * 1e3;
}

/* Start a compaction and wait for it. Returns 1 if one completed (the
 * engine's compaction counter moved), 0 if none ran, -1 on error: a
 * figure "after compaction" is only reported when there was one. */
static int compact_now(cdb *c)
{
    chalk_stats before, after;
    chalk_stats_get(c->db, &before);
    int rc = chalk_compact(c->db);
    if (rc != CHALK_OK && rc != CHALK_EBUSY)
        return cdb_fail("compact", rc);
    if ((rc = chalk_compact_wait(c->db)) != CHALK_OK)
        return cdb_fail("compact_wait", rc);
    chalk_stats_get(c->db, &after);
    if (after.compactions == before.compactions) {
        fprintf(stderr, "chalk: no compaction ran; figures after compaction not reported\n");
        return 0;
    }
    return 1;
}

/* Overwrite every key `passes` times (permutation shifted each pass), then
 * compact; returns the engine's write amplification, or -1. */
static double overwrite_and_compact(cdb *c, const bench_cfg *cfg, const char *value_base,
                                    int passes)
{
    char key[BENCH_KEY_SIZE];
    char *val = malloc(cfg->value_size);
    if (!val)
        return -1;
    for (int p = 1; p <= passes; p++)
        for (size_t i = 0; i < cfg->keys; i++) {
            uint64_t id = cfg->perm[(i + (size_t)p * 7919) % cfg->keys];
            bench_key(key, id);
            bench_value(val, value_base, cfg->value_size, id + (uint64_t)p);
            if (chalk_put(c->db, key, sizeof key, val, cfg->value_size, 0) != CHALK_OK) {
                free(val);
                return -1;
            }
        }
    free(val);
    if (compact_now(c) != 1)
        return -1;
    chalk_stats st;
    chalk_stats_get(c->db, &st);
    return st.write_amplification;
}

/* Recovery from the log alone, then after compaction (hint files), then
 * write amplification on the same store. */
static void recovery_phase(const bench_cfg *cfg, const char *value_base, const char *dir,
                           double *res)
{
    void *h;
    if (recovery_fill(cfg, value_base, dir) != 0)
        return;
    double ms = timed_open(dir, &h);
    if (ms < 0)
        return;
    res[ROW_RECOVERY_LOG_MS] = ms;
    if (compact_now(h) == 1) {
        cdb_close(h);
        if ((ms = timed_open(dir, &h)) < 0)
            return;
        res[ROW_RECOVERY_HINT_MS] = ms;
    }
    chalk_stats st;
    chalk_stats_get(((cdb *)h)->db, &st);
    if (st.keys)
        res[ROW_INDEX_PER_KEY] = (double)st.index_memory_bytes / (double)st.keys;
    double wa = overwrite_and_compact(h, cfg, value_base, 3);
    if (wa > 0)
        res[ROW_WRITE_AMP] = wa;
    cdb_close(h);
}

void chalk_bench_extra(const bench_cfg *cfg, const char *value_base, double *res)
{
    char dir[4096];
    double per_fsync = 0;
    snprintf(dir, sizeof dir, "%s/chalk-group", cfg->dir);
    if (bench_mkdir_fresh(dir) == 0) {
        double ops = group_commit_fill(cfg, value_base, dir, &per_fsync);
        if (ops > 0) {
            res[ROW_GROUP_COMMIT] = ops;
            res[ROW_GROUP_BATCHES_PER_FSYNC] = per_fsync;
        }
    }
    snprintf(dir, sizeof dir, "%s/chalk-recovery", cfg->dir);
    if (bench_mkdir_fresh(dir) == 0)
        recovery_phase(cfg, value_base, dir, res);
    bench_rm_tree(dir);
    snprintf(dir, sizeof dir, "%s/chalk-group", cfg->dir);
    bench_rm_tree(dir);
}
