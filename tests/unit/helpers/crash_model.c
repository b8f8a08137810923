/*
 * crash_model.c — seeded batches and their model (crash_model.h).
 *
 * The one idea: make every possible post-crash state recognisable. Values
 * carry the number of the batch that wrote them, so comparing the store
 * with "the model after k batches" for each k finds the one prefix it can
 * be, and a torn batch (some of its keys new, some old) matches no k.
 * Left out: expiry (time would make states depend on the clock) and values
 * larger than a few KiB (the crash tests want many small records).
 * Interview topics: tx.atomicity and tx.durability are what it checks; the
 * tags sit in test_crash.c and fault_vfs.c.
 */
#include "crash_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cm_op {
    int   key;              /* universe index */
    int   del;              /* 1 = delete */
    char *val;              /* put: malloc'd */
    size_t vlen;
};

struct cm_batch {
    struct cm_op *ops;
    int nops;
};

struct cm_workload {
    struct cm_params p;
    struct cm_batch *batches;
    /* state[k * nkeys + j]: op that last wrote key j within the first k
     * batches (NULL = never written or deleted). */
    const struct cm_op **state;
};

static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

size_t cm_key(int j, char *buf)
{
    int n = snprintf(buf, 32, "key%c%03d", 0, j);   /* binary-safe on purpose */
    return (size_t)n;
}

/* A unique value for op `op` of batch `b`: "b<batch>.<op>:" then filler. */
static int make_value(struct cm_op *o, int b, int op, size_t len)
{
    char tag[32];
    int t = snprintf(tag, sizeof tag, "b%d.%d:", b, op);
    o->vlen = (size_t)t + len;
    if (!(o->val = malloc(o->vlen + 1)))
        return -1;
    memcpy(o->val, tag, (size_t)t);
    for (size_t i = 0; i < len; i++)
        o->val[t + i] = (char)('a' + (b + op + (int)i) % 26);
    return 0;
}

/* Draw batch b: n distinct keys (a partial Fisher-Yates shuffle of the
 * universe), some of them deleted. */
static int draw_batch(struct cm_workload *w, uint64_t *rng, int b, int *perm)
{
    struct cm_batch *bt = &w->batches[b];
    int n = 1 + (int)(next_rand(rng) % (uint64_t)w->p.max_ops);
    if (!(bt->ops = calloc((size_t)n, sizeof *bt->ops)))
        return -1;
    bt->nops = n;
    for (int i = 0; i < n; i++) {
        int r = i + (int)(next_rand(rng) % (uint64_t)(w->p.nkeys - i));
        int t = perm[i];
        perm[i] = perm[r];
        perm[r] = t;
        struct cm_op *o = &bt->ops[i];
        o->key = perm[i];
        o->del = (int)(next_rand(rng) % 100) < w->p.del_pct;
        if (!o->del && make_value(o, b, i, next_rand(rng) % ((uint64_t)w->p.max_vlen + 1)) < 0)
            return -1;
    }
    return 0;
}

static void fill_states(struct cm_workload *w)
{
    int nk = w->p.nkeys;
    for (int b = 0; b < w->p.nbatches; b++) {
        memcpy(&w->state[(size_t)(b + 1) * nk], &w->state[(size_t)b * nk], (size_t)nk * sizeof *w->state);
        for (int i = 0; i < w->batches[b].nops; i++) {
            const struct cm_op *o = &w->batches[b].ops[i];
            w->state[(size_t)(b + 1) * nk + o->key] = o->del ? NULL : o;
        }
    }
}

struct cm_workload *cm_workload_new(uint64_t seed, const struct cm_params *p)
{
    int *perm = NULL;
    struct cm_workload *w = calloc(1, sizeof *w);
    if (!w || p->max_ops > p->nkeys || p->max_ops < 1)
        goto fail;
    w->p = *p;
    w->batches = calloc((size_t)p->nbatches, sizeof *w->batches);
    w->state = calloc((size_t)(p->nbatches + 1) * (size_t)p->nkeys, sizeof *w->state);
    if (!w->batches || !w->state)
        goto fail;
    perm = malloc((size_t)p->nkeys * sizeof *perm);
    if (!perm)
        goto fail;
    for (int j = 0; j < p->nkeys; j++)
        perm[j] = j;
    uint64_t rng = seed;
    for (int b = 0; b < p->nbatches; b++)
        if (draw_batch(w, &rng, b, perm) < 0)
            goto fail;
    free(perm);
    fill_states(w);
    return w;
fail:
    free(perm);
    cm_workload_free(w);
    return NULL;
}

void cm_workload_free(struct cm_workload *w)
{
    if (!w)
        return;
    for (int b = 0; w->batches && b < w->p.nbatches; b++) {
        for (int i = 0; i < w->batches[b].nops; i++)
            free(w->batches[b].ops[i].val);
        free(w->batches[b].ops);
    }
    free(w->batches);
    free(w->state);
    free(w);
}

int cm_nbatches(const struct cm_workload *w) { return w->p.nbatches; }

int cm_fill_batch(const struct cm_workload *w, int i, chalk_batch *b)
{
    chalk_batch_clear(b);
    for (int k = 0; k < w->batches[i].nops; k++) {
        const struct cm_op *o = &w->batches[i].ops[k];
        char key[32];
        size_t klen = cm_key(o->key, key);
        int rc = o->del ? chalk_batch_delete(b, key, klen)
                        : chalk_batch_put(b, key, klen, o->val, o->vlen, 0);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Compare one key with what the model says. 0 or -1 (why filled). */
static int check_key(const struct cm_op *want, chalk_db *db, int j, char *why, size_t n)
{
    char key[32];
    size_t klen = cm_key(j, key);
    chalk_value v = { 0 };
    int rc = chalk_get(db, key, klen, &v);
    int ok = want ? rc == CHALK_OK && v.len == want->vlen && memcmp(v.data, want->val, v.len) == 0
                  : rc == CHALK_ENOTFOUND;
    if (!ok)
        snprintf(why, n, "key %03d: want %.*s, got %s %.*s", j,
                 want ? (int)(want->vlen < 16 ? want->vlen : 16) : 6, want ? want->val : "absent",
                 chalk_strerror(rc), rc == CHALK_OK ? (int)(v.len < 16 ? v.len : 16) : 0,
                 rc == CHALK_OK ? (const char *)v.data : "");
    chalk_value_free(&v);
    return ok ? 0 : -1;
}

int cm_check_state(const struct cm_workload *w, chalk_db *db, int k, char *why, size_t n)
{
    uint64_t live = 0;
    for (int j = 0; j < w->p.nkeys; j++) {
        const struct cm_op *want = w->state[(size_t)k * w->p.nkeys + j];
        live += want != NULL;
        if (check_key(want, db, j, why, n) < 0)
            return -1;
    }
    if (chalk_count(db) != live) {
        snprintf(why, n, "chalk_count %llu, model %llu", (unsigned long long)chalk_count(db),
                 (unsigned long long)live);
        return -1;
    }
    return 0;
}

int cm_find_prefix(const struct cm_workload *w, chalk_db *db, int lo, char *why, size_t n)
{
    char first[256] = "";
    for (int k = lo; k <= w->p.nbatches; k++) {
        if (cm_check_state(w, db, k, why, n) == 0)
            return k;
        if (k == lo)
            snprintf(first, sizeof first, "%s", why);
    }
    snprintf(why, n, "no prefix >= %d matches; against %d: %s", lo, lo, first);
    return -1;
}

/* Was (val, len) ever written to key j by the workload? */
static int in_history(const struct cm_workload *w, int j, const void *val, size_t len)
{
    for (int b = 0; b < w->p.nbatches; b++)
        for (int i = 0; i < w->batches[b].nops; i++) {
            const struct cm_op *o = &w->batches[b].ops[i];
            if (o->key == j && !o->del && o->vlen == len && memcmp(o->val, val, len) == 0)
                return 1;
        }
    return 0;
}

int cm_check_plausible(const struct cm_workload *w, chalk_db *db, char *why, size_t n)
{
    for (int j = 0; j < w->p.nkeys; j++) {
        char key[32];
        size_t klen = cm_key(j, key);
        chalk_value v = { 0 };
        int rc = chalk_get(db, key, klen, &v);
        int ok = rc == CHALK_ENOTFOUND || rc == CHALK_ECORRUPT || rc == CHALK_EFAILED ||
                 rc == CHALK_EIO || (rc == CHALK_OK && in_history(w, j, v.data, v.len));
        if (!ok)
            snprintf(why, n, "key %03d: %s %.*s", j, rc == CHALK_OK ? "a value never written:"
                     : chalk_strerror(rc), rc == CHALK_OK ? (int)(v.len < 24 ? v.len : 24) : 0,
                     rc == CHALK_OK ? (const char *)v.data : "");
        chalk_value_free(&v);
        if (!ok)
            return -1;
    }
    return 0;
}

int cm_apply_all(const struct cm_workload *w, chalk_db *db)
{
    chalk_batch *b = chalk_batch_new();
    int rc = b ? 0 : CHALK_ENOMEM;
    for (int i = 0; rc == 0 && i < w->p.nbatches; i++)
        if ((rc = cm_fill_batch(w, i, b)) == 0)
            rc = chalk_write_sync(db, b);
    chalk_batch_free(b);
    return rc;
}
