/*
 * test_model_zset.c — every sorted-set command, run in process through the
 * server's real dispatcher (cmdexec.h), against a model sorted set: an
 * array kept in (score, member) order (kvmodel.h, km_zset).
 *
 * Commands: ZADD (NX XX GT LT CH INCR) ZREM ZSCORE ZMSCORE ZINCRBY ZCARD
 * ZCOUNT ZLEXCOUNT ZRANK ZREVRANK ZRANGE (BYSCORE BYLEX REV LIMIT
 * WITHSCORES) ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX
 * ZREVRANGE ZRANGESTORE ZREMRANGEBYSCORE ZREMRANGEBYRANK ZREMRANGEBYLEX
 * ZPOPMIN ZPOPMAX BZPOPMIN BZPOPMAX ZRANDMEMBER ZSCAN ZUNIONSTORE
 * ZINTERSTORE.
 *
 * The model's one choice: every range is computed the plain way — the
 * indexes of the elements that qualify, in order, reversed for REV, then
 * LIMIT's offset and count — and compared with what the server's rank and
 * score indexes give (zset.c). Lex ranges are only asked of "zl", whose
 * members all have score 0 (Redis leaves BYLEX over differing scores
 * unspecified). Scores are integers, halves and infinities, so every
 * formatting of them agrees with Redis's. ZUNIONSTORE / ZINTERSTORE follow
 * Redis's arithmetic to the letter (combine): inputs visited smallest
 * first, inf - inf = 0, a NaN weight product (0 * inf) zeroed for every
 * union contribution but only for the intersection's first input.
 *
 * test_zset_edges: WRONGTYPE from every command, ZADD's flag errors and
 * flag semantics, NaN from inf - inf, a set deleted with its last member by
 * every removing command, infinite scores in ranges, LIMIT and WITHSCORES
 * errors, counts 0 and negative, binary members.
 * test_zset_random: 5000 seeded commands on three sorted sets and a string,
 * ranks -7..7, reopen and compaction in the middle (modelfix.h).
 *
 * Interview topics: none (a test).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmdexec.h"
#include "modelfix.h"

#define S(lit) {(char *)(lit), sizeof(lit) - 1}
static const mstr members[] = {
    S("a"), S("b"), S("c"), S("d"), S("e"), S("m"), S(""), S("x\0y"), S("\r\n"),
};
static const char *const scores[] = {"-inf", "+inf", "inf", "-2", "-1.5", "0", "1", "1", "2.5", "3", "10"};
static const char *const score_bounds[] = {"-inf", "+inf", "(1", "1", "-1.5", "(0", "2.5", "(3", "10", "(-inf"};
static const char *const lex_bounds[] = {"-", "+", "[a", "(a", "[c", "(c", "[", "(x", "[x\0y", "(\r\n"};
static const size_t lex_bound_lens[] = {1, 1, 2, 2, 2, 2, 1, 2, 4, 3};
static const char *const keys[] = {"z0", "z1", "zl", "str"};
#define NMEMBERS (long)(sizeof members / sizeof *members)
#define COUNT_OF(a) (long)(sizeof a / sizeof *a)

static const mstr *rand_member(mfix *f) { return &members[rng_below(&f->rng, NMEMBERS)]; }
static bool is_lex_key(const char *key) { return strcmp(key, "zl") == 0; }

/* ---- ranges, the model's way -------------------------------------------------- */

typedef struct range {
    int by;                  /* 0 rank, 1 score, 2 lex */
    bool rev;
    long start, stop;        /* rank */
    double min, max;         /* score */
    bool minex, maxex;
    const char *lmin, *lmax; /* lex: "-", "+", "[x", "(x" with their lengths */
    size_t lminlen, lmaxlen;
    bool limit;
    long offset, count;
} range;

static double parse_bound(const char *s, bool *ex)
{
    *ex = s[0] == '(';
    return strtod(s + *ex, NULL);              /* strtod reads "inf", "+inf", "-inf" */
}

static bool above_min(const range *r, double sc) { return r->minex ? sc > r->min : sc >= r->min; }
static bool below_max(const range *r, double sc) { return r->maxex ? sc < r->max : sc <= r->max; }

static int lex_cmp_bound(const mstr *m, const char *b, size_t blen)
{
    return ms_cmp(m->p, m->len, b + 1, blen - 1);
}

static bool lex_in(const range *r, const mstr *m)
{
    if (r->lmin[0] == '+' || r->lmax[0] == '-')
        return false;
    if (r->lmin[0] != '-') {
        int c = lex_cmp_bound(m, r->lmin, r->lminlen);
        if (c < 0 || (c == 0 && r->lmin[0] == '('))
            return false;
    }
    if (r->lmax[0] != '+') {
        int c = lex_cmp_bound(m, r->lmax, r->lmaxlen);
        if (c > 0 || (c == 0 && r->lmax[0] == '('))
            return false;
    }
    return true;
}

/* The indexes into k of the range's elements, in reply order; returns how many. */
static long range_select(const mkey *k, const range *r, long *out)
{
    long n = k ? (long)k->n : 0, got = 0;
    if (r->by == 0) {
        long s = r->start < 0 ? r->start + n : r->start, e = r->stop < 0 ? r->stop + n : r->stop;
        if (s < 0)
            s = 0;
        if (e >= n)
            e = n - 1;
        for (long i = s; i <= e; i++)
            out[got++] = r->rev ? n - 1 - i : i;
        return got;
    }
    long skip = r->limit ? r->offset : 0, take = r->limit && r->count >= 0 ? r->count : n;
    if (skip < 0)
        return 0;
    for (long j = 0; j < n && got < take; j++) {
        long i = r->rev ? n - 1 - j : j;
        bool in = r->by == 1 ? above_min(r, k->scores[i]) && below_max(r, k->scores[i])
                             : lex_in(r, &k->items[i]);
        if (in && skip > 0)
            skip--;
        else if (in)
            out[got++] = i;
    }
    return got;
}

static void rand_range(mfix *f, range *r, int by)
{
    memset(r, 0, sizeof *r);
    r->by = by;
    r->rev = rng_below(&f->rng, 2);
    r->start = rng_below(&f->rng, 15) - 7;
    r->stop = rng_below(&f->rng, 15) - 7;
    const char *lo = score_bounds[rng_below(&f->rng, COUNT_OF(score_bounds))];
    const char *hi = score_bounds[rng_below(&f->rng, COUNT_OF(score_bounds))];
    r->min = parse_bound(lo, &r->minex);
    r->max = parse_bound(hi, &r->maxex);
    long a = rng_below(&f->rng, COUNT_OF(lex_bounds)), b = rng_below(&f->rng, COUNT_OF(lex_bounds));
    r->lmin = lex_bounds[a], r->lminlen = lex_bound_lens[a];
    r->lmax = lex_bounds[b], r->lmaxlen = lex_bound_lens[b];
    r->limit = by != 0 && rng_below(&f->rng, 3) == 0;
    r->offset = rng_below(&f->rng, 4);
    r->count = rng_below(&f->rng, 5) - 1;
}

/* The two bound arguments of r, in the order the command takes them
 * (max first for REV and the ZREV... commands). */
static void add_bounds(cargs *a, const range *r, bool max_first)
{
    for (int side = 0; side < 2; side++) {
        bool is_min = (side == 0) != max_first;
        if (r->by == 0) {
            ca_fmt(a, "%ld", side == 0 ? r->start : r->stop);
        } else if (r->by == 1) {
            double v = is_min ? r->min : r->max;
            const char *ex = (is_min ? r->minex : r->maxex) ? "(" : "";
            if (isinf(v))
                ca_fmt(a, "%s%s", ex, v > 0 ? "+inf" : "-inf");
            else
                ca_fmt(a, "%s%g", ex, v);
        } else {
            ca_add(a, is_min ? r->lmin : r->lmax, is_min ? r->lminlen : r->lmaxlen);
        }
    }
}

static void add_limit(cargs *a, const range *r)
{
    if (!r->limit)
        return;
    ca_str(a, "LIMIT");
    ca_fmt(a, "%ld", r->offset);
    ca_fmt(a, "%ld", r->count);
}

static void expect_elems(mfix *f, const mkey *k, const long *idx, long n, bool withscores)
{
    rb_arr(&f->want, n * (withscores ? 2 : 1));
    for (long i = 0; i < n; i++) {
        rb_str(&f->want, &k->items[idx[i]]);
        if (withscores)
            rb_double(&f->want, k->scores[idx[i]]);
    }
}

static void verify_all(mfix *f)
{
    for (size_t i = 0; i < 3; i++) {
        mkey *k = km_get(&f->m, keys[i], strlen(keys[i]));
        long idx[64];
        range all = {.by = 0, .start = 0, .stop = -1};
        long n = range_select(k, &all, idx);
        rb_reset(&f->want);
        expect_elems(f, k, idx, n, true);
        mfix_expect(f, 0, "ZRANGE", keys[i], "0", "-1", "WITHSCORES", NULL);
        EXPECT_INT(f, k ? (long long)k->n : 0, "ZCARD", keys[i]);
        EXPECT_INT(f, k != NULL, "EXISTS", keys[i]);
        mfix_check_scan(f, "ZSCAN", keys[i], NULL, 4);
    }
}

/* ---- the reading commands ------------------------------------------------------ */

/* ZRANGE in every form, ZRANGEBYSCORE / ZREVRANGEBYSCORE / ZRANGEBYLEX /
 * ZREVRANGEBYLEX / ZREVRANGE, or ZRANGESTORE into another key. */
static void step_range(mfix *f, mkey *k, const char *key, bool store)
{
    range r;
    int by = (int)rng_below(&f->rng, is_lex_key(key) ? 3 : 2);
    rand_range(f, &r, by);
    bool withscores = by != 2 && !store && rng_below(&f->rng, 2);
    bool classic = !store && rng_below(&f->rng, 2);        /* the older command names */
    static const char *const old[2][3] = {{"ZRANGE", "ZRANGEBYSCORE", "ZRANGEBYLEX"},
                                          {"ZREVRANGE", "ZREVRANGEBYSCORE", "ZREVRANGEBYLEX"}};
    const char *dst = keys[rng_below(&f->rng, 2)];
    if (classic && by == 0 && !r.rev)
        classic = false;                                    /* plain ZRANGE: the new form */
    if (store) {
        ca_str(&f->a, "ZRANGESTORE");
        ca_str(&f->a, dst);
    } else {
        ca_str(&f->a, classic ? old[r.rev][by] : "ZRANGE");
    }
    ca_str(&f->a, key);
    add_bounds(&f->a, &r, r.rev && by != 0);
    if (!classic) {
        if (by)
            ca_str(&f->a, by == 1 ? "BYSCORE" : "BYLEX");
        if (r.rev)
            ca_str(&f->a, "REV");
    }
    add_limit(&f->a, &r);
    if (withscores)
        ca_str(&f->a, "WITHSCORES");
    long idx[64];
    long n = range_select(k, &r, idx);
    if (!store) {
        expect_elems(f, k, idx, n, withscores);
        return;
    }
    rb_int(&f->want, n);
    mstr items[64];
    double sc[64];
    for (long i = 0; i < n; i++)
        items[i] = ms_dup(k->items[idx[i]].p, k->items[idx[i]].len), sc[i] = k->scores[idx[i]];
    km_copy_into(&f->m, dst, strlen(dst), MT_ZSET, items, sc, (size_t)n);
    for (long i = 0; i < n; i++)
        free(items[i].p);
}

/* ZCOUNT / ZLEXCOUNT. */
static void step_count(mfix *f, mkey *k, const char *key)
{
    range r;
    int by = is_lex_key(key) && rng_below(&f->rng, 2) ? 2 : 1;
    rand_range(f, &r, by);
    r.rev = false, r.limit = false;
    ca_str(&f->a, by == 1 ? "ZCOUNT" : "ZLEXCOUNT");
    ca_str(&f->a, key);
    add_bounds(&f->a, &r, false);
    long idx[64];
    rb_int(&f->want, range_select(k, &r, idx));
}

/* ZSCORE, ZMSCORE, ZRANK, ZREVRANK [WITHSCORE]. */
static void step_lookup(mfix *f, mkey *k, const char *key)
{
    int which = (int)rng_below(&f->rng, 4);
    static const char *const names[] = {"ZSCORE", "ZMSCORE", "ZRANK", "ZREVRANK"};
    long n = which == 1 ? 1 + rng_below(&f->rng, 3) : 1;
    bool withscore = which >= 2 && rng_below(&f->rng, 2);
    ca_str(&f->a, names[which]);
    ca_str(&f->a, key);
    if (which == 1)
        rb_arr(&f->want, n);
    for (long i = 0; i < n; i++) {
        const mstr *m = rand_member(f);
        ca_ms(&f->a, m);
        long at = k ? km_zfind(k, m->p, m->len) : -1;
        if (at < 0 && withscore)
            rb_null_array(&f->want);
        else if (at < 0)
            rb_null(&f->want);
        else if (which < 2)
            rb_double(&f->want, k->scores[at]);
        else {
            if (withscore)
                rb_arr(&f->want, 2);
            rb_int(&f->want, which == 2 ? at : (long)k->n - 1 - at);
            if (withscore)
                rb_double(&f->want, k->scores[at]);
        }
    }
    if (withscore)
        ca_str(&f->a, "WITHSCORE");
}

/* ---- the writing commands -------------------------------------------------------- */

static const char *rand_score(mfix *f, const char *key)
{
    return is_lex_key(key) ? "0" : scores[rng_below(&f->rng, COUNT_OF(scores))];
}

typedef struct zadd_flags { bool nx, xx, gt, lt, ch, incr; } zadd_flags;

/* One pair of ZADD in the model (zsetAdd in Redis's t_zset.c): returns
 * 0 nothing done, 1 added, 2 updated, 3 processed without a change, -1 NaN. */
static int model_zadd(mkey *k, const zadd_flags *fl, double score, const mstr *m, double *out)
{
    long at = km_zfind(k, m->p, m->len);
    if (at < 0) {
        if (fl->xx)
            return 0;
        km_zset(k, m->p, m->len, score);
        *out = score;
        return 1;
    }
    double cur = k->scores[at];
    if (fl->nx)
        return 0;
    if (fl->incr)
        score += cur;
    if (isnan(score))
        return -1;
    if ((fl->lt && score >= cur) || (fl->gt && score <= cur))
        return 0;
    *out = score;
    if (score == cur)
        return 3;
    km_zset(k, m->p, m->len, score);
    return 2;
}

static void add_flags(mfix *f, zadd_flags *fl, const char *key)
{
    fl->nx = rng_below(&f->rng, 5) == 0;
    fl->xx = !fl->nx && rng_below(&f->rng, 5) == 0;
    fl->gt = !fl->nx && rng_below(&f->rng, 5) == 0;
    fl->lt = !fl->nx && !fl->gt && rng_below(&f->rng, 5) == 0;
    fl->ch = rng_below(&f->rng, 3) == 0;
    fl->incr = rng_below(&f->rng, 5) == 0 && !is_lex_key(key);
    const char *names[] = {"NX", "XX", "GT", "LT", "CH", "INCR"};
    bool on[] = {fl->nx, fl->xx, fl->gt, fl->lt, fl->ch, fl->incr};
    for (int i = 0; i < 6; i++)
        if (on[i])
            ca_str(&f->a, names[i]);
}

/* ZADD with flags, or ZINCRBY (= ZADD INCR without flags). */
static void step_zadd(mfix *f, mkey *k, const char *key, bool zincrby)
{
    zadd_flags fl = {.incr = zincrby};
    ca_str(&f->a, zincrby ? "ZINCRBY" : "ZADD");
    ca_str(&f->a, key);
    if (!zincrby)
        add_flags(f, &fl, key);
    long pairs = fl.incr ? 1 : 1 + rng_below(&f->rng, 3);
    double sc[3];
    const mstr *ms[3];
    for (long i = 0; i < pairs; i++) {
        const char *s = rand_score(f, key);
        ms[i] = rand_member(f);
        sc[i] = strtod(s, NULL);
        ca_str(&f->a, s);
        ca_ms(&f->a, ms[i]);
    }
    if (!k)
        k = km_create(&f->m, key, strlen(key), MT_ZSET);
    long added = 0, changed = 0, processed = 0;
    double last = 0;
    for (long i = 0; i < pairs; i++) {
        int rc = model_zadd(k, &fl, sc[i], ms[i], &last);
        if (rc < 0) {
            rb_err(&f->want, "resulting score is not a number (NaN)");
            km_drop_if_empty(&f->m, k);
            return;
        }
        added += rc == 1;
        changed += rc == 1 || rc == 2;
        processed += rc != 0;
    }
    km_drop_if_empty(&f->m, k);
    if (fl.incr && processed)
        rb_double(&f->want, last);
    else if (fl.incr)
        rb_null(&f->want);
    else
        rb_int(&f->want, fl.ch ? changed : added);
}

static void step_zrem(mfix *f, mkey *k, const char *key)
{
    long n = 1 + rng_below(&f->rng, 3), removed = 0;
    ca_str(&f->a, "ZREM");
    ca_str(&f->a, key);
    for (long i = 0; i < n; i++) {
        const mstr *m = rand_member(f);
        ca_ms(&f->a, m);
        long at = k ? km_zfind(k, m->p, m->len) : -1;
        if (at >= 0) {
            km_remove_at(k, (size_t)at);
            removed++;
        }
    }
    rb_int(&f->want, removed);
    km_drop_if_empty(&f->m, k);
}

/* ZREMRANGEBYRANK / BYSCORE / BYLEX. */
static void step_zremrange(mfix *f, mkey *k, const char *key)
{
    range r;
    int by = (int)rng_below(&f->rng, is_lex_key(key) ? 3 : 2);
    static const char *const names[] = {"ZREMRANGEBYRANK", "ZREMRANGEBYSCORE", "ZREMRANGEBYLEX"};
    rand_range(f, &r, by);
    r.rev = false, r.limit = false;
    ca_str(&f->a, names[by]);
    ca_str(&f->a, key);
    add_bounds(&f->a, &r, false);
    long idx[64];
    long n = range_select(k, &r, idx);
    for (long i = n - 1; i >= 0; i--)          /* ascending indexes: remove from the end */
        km_remove_at(k, (size_t)idx[i]);
    rb_int(&f->want, n);
    km_drop_if_empty(&f->m, k);
}

/* ZPOPMIN / ZPOPMAX [count]; BZPOPMIN / BZPOPMAX key other 0 when one of
 * them has members. Returns false (nothing sent) if the blocking form
 * would block. */
static bool step_pop(mfix *f, mkey *k, const char *key)
{
    bool max = rng_below(&f->rng, 2), blocking = rng_below(&f->rng, 3) == 0;
    if (blocking) {                            /* keys in order: the first with members */
        const char *other = keys[rng_below(&f->rng, 4)];
        mkey *o = km_get(&f->m, other, strlen(other));
        if (!k && !o)
            return false;                          /* it would block */
        ca_str(&f->a, max ? "BZPOPMAX" : "BZPOPMIN");
        ca_str(&f->a, key);
        ca_str(&f->a, other);
        ca_str(&f->a, "0");
        if (!k && o->type != MT_ZSET) {
            rb_err(&f->want, WRONGTYPE);
            return true;
        }
        mkey *from = k ? k : o;
        const char *name = k ? key : other;
        size_t at = max ? from->n - 1 : 0;
        rb_arr(&f->want, 3);
        rb_bulk(&f->want, name, strlen(name));
        rb_str(&f->want, &from->items[at]);
        rb_double(&f->want, from->scores[at]);
        km_remove_at(from, at);
        km_drop_if_empty(&f->m, from);
        return true;
    }
    bool with_count = rng_below(&f->rng, 2);
    long count = with_count ? rng_below(&f->rng, 5) : 1;
    ca_str(&f->a, max ? "ZPOPMAX" : "ZPOPMIN");
    ca_str(&f->a, key);
    if (with_count)
        ca_fmt(&f->a, "%ld", count);
    long n = k ? (count < (long)k->n ? count : (long)k->n) : 0;
    rb_arr(&f->want, 2 * n);
    for (long i = 0; i < n; i++) {
        size_t at = max ? k->n - 1 : 0;
        rb_str(&f->want, &k->items[at]);
        rb_double(&f->want, k->scores[at]);
        km_remove_at(k, at);
    }
    km_drop_if_empty(&f->m, k);
    return true;
}

/* Redis's zunionInterAggregate: a SUM that is NaN (inf - inf) is 0; MIN
 * and MAX keep the total when the new value is NaN. */
static double aggregate(int agg, double total, double v)
{
    if (agg == 0)
        return isnan(total + v) ? 0 : total + v;
    if (agg == 1)
        return v < total ? v : total;
    return v > total ? v : total;
}

/* The order Redis visits the sources in: by cardinality, smallest first,
 * ties in argument order (a stable sort, zuiCompareByCardinality). */
static void source_order(mkey *const *src, int n, int *order)
{
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = 1; i < n; i++)                  /* insertion sort: stable */
        for (int j = i; j > 0; j--) {
            size_t a = src[order[j - 1]] ? src[order[j - 1]]->n : 0;
            size_t b = src[order[j]] ? src[order[j]]->n : 0;
            if (a <= b)
                break;
            int t = order[j];
            order[j] = order[j - 1], order[j - 1] = t;
        }
}

/* The score of member m in the union / intersection, as Redis computes it:
 * contributions in source order, each weighted; a NaN product (0 * inf) is
 * 0 for every union contribution but, in an intersection, only for the
 * first source's. Returns false if m is not in the result. */
static bool combine(mkey *const *src, const double *w, const int *order, int n, bool inter,
                    int agg, const mstr *m, double *out)
{
    bool have = false;
    for (int r = 0; r < n; r++) {
        int i = order[r];
        long at = src[i] ? km_zfind(src[i], m->p, m->len) : -1;
        if (at < 0 && inter)
            return false;
        if (at < 0)
            continue;
        double v = w[i] * src[i]->scores[at];
        if (isnan(v) && (!inter || r == 0))
            v = 0;
        *out = have ? aggregate(agg, *out, v) : v;
        have = true;
    }
    return have;
}

/* ZUNIONSTORE / ZINTERSTORE dst numkeys (1 to 3) [WEIGHTS] [AGGREGATE]. */
static void step_zstore(mfix *f, const char *key)
{
    static const char *const weights[] = {"1", "2", "-1", "0.5", "0"};
    static const char *const aggs[] = {"SUM", "MIN", "MAX"};
    bool inter = rng_below(&f->rng, 2);
    int nkeys = 1 + (int)rng_below(&f->rng, 3), agg = (int)rng_below(&f->rng, 3);
    const char *in[3] = {key, keys[rng_below(&f->rng, 4)], keys[rng_below(&f->rng, 3)]};
    const char *dst = keys[rng_below(&f->rng, 2)];
    double w[3] = {1, 1, 1};
    bool with_w = rng_below(&f->rng, 2), with_agg = rng_below(&f->rng, 2);
    ca_str(&f->a, inter ? "ZINTERSTORE" : "ZUNIONSTORE");
    ca_str(&f->a, dst);
    ca_fmt(&f->a, "%d", nkeys);
    for (int i = 0; i < nkeys; i++)
        ca_str(&f->a, in[i]);
    if (with_w) {
        ca_str(&f->a, "WEIGHTS");
        for (int i = 0; i < nkeys; i++) {
            const char *ws = weights[rng_below(&f->rng, 5)];
            w[i] = strtod(ws, NULL);
            ca_str(&f->a, ws);
        }
    }
    if (with_agg) {
        ca_str(&f->a, "AGGREGATE");
        ca_str(&f->a, aggs[agg]);
    } else {
        agg = 0;
    }
    mkey *src[3];
    for (int i = 0; i < nkeys; i++) {
        src[i] = km_get(&f->m, in[i], strlen(in[i]));
        if (src[i] && src[i]->type != MT_ZSET) {
            rb_err(&f->want, WRONGTYPE);
            return;
        }
    }
    int order[3];
    source_order(src, nkeys, order);
    mkey res = {.type = MT_ZSET};
    for (int i = 0; i < nkeys; i++)
        for (size_t j = 0; src[i] && j < src[i]->n; j++) {
            double score;
            const mstr *m = &src[i]->items[j];
            if (km_zfind(&res, m->p, m->len) < 0 &&
                combine(src, w, order, nkeys, inter, agg, m, &score))
                km_zset(&res, m->p, m->len, score);
        }
    rb_int(&f->want, (long long)res.n);
    km_copy_into(&f->m, dst, strlen(dst), MT_ZSET, res.items, res.scores, res.n);
    for (size_t i = 0; i < res.n; i++)
        free(res.items[i].p);
    free(res.items);
    free(res.scores);
}

static void step_randmember(mfix *f, mkey *k, const char *key)
{
    long count = rng_below(&f->rng, 11) - 5;
    bool withscores = rng_below(&f->rng, 2);
    ca_str(&f->a, "ZRANDMEMBER");
    ca_str(&f->a, key);
    ca_fmt(&f->a, "%ld", count);
    if (withscores)
        ca_str(&f->a, "WITHSCORES");
    size_t len;
    char *r = run_args(f->c, &f->a, &len);
    mfix_check_sample(k, r, len, count, withscores, NULL, 0);
    free(r);
}

static void zset_step(mfix *f)
{
    const char *key = keys[rng_below(&f->rng, 25) == 0 ? 3 : rng_below(&f->rng, 3)];
    mkey *k = km_get(&f->m, key, strlen(key));
    long cmd = rng_below(&f->rng, 18);
    ca_reset(&f->a);
    rb_reset(&f->want);
    if (k && k->type != MT_ZSET) {
        static const char *const any[] = {"ZCARD", "ZPOPMIN", "ZRANDMEMBER"};
        ca_str(&f->a, any[cmd % 3]);
        ca_str(&f->a, key);
        rb_err(&f->want, WRONGTYPE);
        mfix_check(f, 0);
        return;
    }
    switch (cmd) {
    case 0: case 1: case 2: case 3: step_zadd(f, k, key, false); break;
    case 4: step_zadd(f, k, key, true); break;
    case 5: step_zrem(f, k, key); break;
    case 6: case 7: case 8: step_range(f, k, key, false); break;
    case 9: step_range(f, k, key, true); break;
    case 10: step_count(f, k, key); break;
    case 11: step_lookup(f, k, key); break;
    case 12: step_zremrange(f, k, key); break;
    case 13:
        if (!step_pop(f, k, key))
            return;
        break;
    case 14:
        if (is_lex_key(key))
            return;                                /* its members stay at score 0 */
        step_zstore(f, key);
        break;
    case 15: step_randmember(f, k, key); return;
    case 16:
        mfix_check_scan(f, "ZSCAN", key, rng_below(&f->rng, 2) ? "?" : NULL, 1 + rng_below(&f->rng, 5));
        return;
    default:
        ca_str(&f->a, "ZCARD");
        ca_str(&f->a, key);
        rb_int(&f->want, k ? (long long)k->n : 0);
        break;
    }
    mfix_check(f, 0);
}

static void test_zset_random(void **state)
{
    mfix *f = *state;
    mfix_random_run(f, 0xa54ff53a5f1d36f1ULL, 5000, zset_step, verify_all);
}

/* ---- the edge cases, one by one ------------------------------------------- */

static void test_zset_wrongtype_and_missing(void **state)
{
    mfix *f = *state;
    EXPECT_RAW(f, "+OK\r\n", "SET", "str", "x");
    EXPECT_INT(f, 1, "ZADD", "z", "1", "a");
    EXPECT_ERR(f, WRONGTYPE, "ZADD", "str", "1", "a");
    EXPECT_ERR(f, WRONGTYPE, "ZINCRBY", "str", "1", "a");
    EXPECT_ERR(f, WRONGTYPE, "ZREM", "str", "a");
    EXPECT_ERR(f, WRONGTYPE, "ZSCORE", "str", "a");
    EXPECT_ERR(f, WRONGTYPE, "ZMSCORE", "str", "a");
    EXPECT_ERR(f, WRONGTYPE, "ZCARD", "str");
    EXPECT_ERR(f, WRONGTYPE, "ZCOUNT", "str", "-inf", "+inf");
    EXPECT_ERR(f, WRONGTYPE, "ZLEXCOUNT", "str", "-", "+");
    EXPECT_ERR(f, WRONGTYPE, "ZRANK", "str", "a");
    EXPECT_ERR(f, WRONGTYPE, "ZREVRANK", "str", "a");
    EXPECT_ERR(f, WRONGTYPE, "ZRANGE", "str", "0", "-1");
    EXPECT_ERR(f, WRONGTYPE, "ZRANGE", "str", "-inf", "+inf", "BYSCORE");
    EXPECT_ERR(f, WRONGTYPE, "ZRANGEBYSCORE", "str", "-inf", "+inf");
    EXPECT_ERR(f, WRONGTYPE, "ZREVRANGEBYSCORE", "str", "+inf", "-inf");
    EXPECT_ERR(f, WRONGTYPE, "ZRANGEBYLEX", "str", "-", "+");
    EXPECT_ERR(f, WRONGTYPE, "ZREVRANGEBYLEX", "str", "+", "-");
    EXPECT_ERR(f, WRONGTYPE, "ZREVRANGE", "str", "0", "-1");
    EXPECT_ERR(f, WRONGTYPE, "ZRANGESTORE", "d", "str", "0", "-1");
    EXPECT_ERR(f, WRONGTYPE, "ZREMRANGEBYSCORE", "str", "-inf", "+inf");
    EXPECT_ERR(f, WRONGTYPE, "ZREMRANGEBYRANK", "str", "0", "-1");
    EXPECT_ERR(f, WRONGTYPE, "ZREMRANGEBYLEX", "str", "-", "+");
    EXPECT_ERR(f, WRONGTYPE, "ZPOPMIN", "str");
    EXPECT_ERR(f, WRONGTYPE, "ZPOPMAX", "str", "2");
    EXPECT_ERR(f, WRONGTYPE, "BZPOPMIN", "str", "0");
    EXPECT_ERR(f, WRONGTYPE, "BZPOPMAX", "nokey", "str", "0");
    EXPECT_ERR(f, WRONGTYPE, "ZRANDMEMBER", "str");
    EXPECT_ERR(f, WRONGTYPE, "ZRANDMEMBER", "str", "2");
    EXPECT_ERR(f, WRONGTYPE, "ZSCAN", "str", "0");
    EXPECT_ERR(f, WRONGTYPE, "ZUNIONSTORE", "d", "2", "z", "str");
    EXPECT_ERR(f, WRONGTYPE, "ZINTERSTORE", "d", "2", "nokey", "str");
    EXPECT_RAW(f, "*2\r\n$1\r\na\r\n$1\r\n1\r\n", "ZRANGE", "z", "0", "-1", "WITHSCORES");
    EXPECT_RAW(f, "$-1\r\n", "ZSCORE", "nokey", "a");
    EXPECT_RAW(f, "*2\r\n$-1\r\n$-1\r\n", "ZMSCORE", "nokey", "a", "b");
    EXPECT_RAW(f, "$-1\r\n", "ZRANK", "nokey", "a");
    EXPECT_RAW(f, "$-1\r\n", "ZREVRANK", "z", "zz");
    EXPECT_RAW(f, "*-1\r\n", "ZRANK", "z", "zz", "WITHSCORE");
    EXPECT_RAW(f, "*2\r\n:0\r\n$1\r\n1\r\n", "ZREVRANK", "z", "a", "WITHSCORE");
    EXPECT_RAW(f, "*0\r\n", "ZRANGE", "nokey", "0", "-1");
    EXPECT_RAW(f, "*0\r\n", "ZPOPMIN", "nokey");
    EXPECT_RAW(f, "*0\r\n", "ZPOPMAX", "nokey", "3");
    EXPECT_RAW(f, "$-1\r\n", "ZRANDMEMBER", "nokey");
    EXPECT_RAW(f, "*0\r\n", "ZRANDMEMBER", "nokey", "-3");
    EXPECT_INT(f, 0, "ZCARD", "nokey");
    EXPECT_INT(f, 0, "ZCOUNT", "nokey", "-inf", "+inf");
    EXPECT_INT(f, 0, "ZREMRANGEBYRANK", "nokey", "0", "-1");
    EXPECT_INT(f, 0, "ZREM", "nokey", "a");
    EXPECT_RAW(f, "*2\r\n$1\r\n0\r\n*0\r\n", "ZSCAN", "nokey", "0");
    EXPECT_INT(f, 0, "EXISTS", "nokey");
}

static void test_zset_zadd_flags(void **state)
{
    mfix *f = *state;
    EXPECT_ERR(f, "XX and NX options at the same time are not compatible", "ZADD", "z", "NX", "XX", "1", "a");
    EXPECT_ERR(f, "GT, LT, and/or NX options at the same time are not compatible",
               "ZADD", "z", "NX", "GT", "1", "a");
    EXPECT_ERR(f, "GT, LT, and/or NX options at the same time are not compatible",
               "ZADD", "z", "GT", "LT", "1", "a");
    EXPECT_ERR(f, "INCR option supports a single increment-element pair", "ZADD", "z", "INCR", "1", "a", "2", "b");
    EXPECT_ERR(f, "syntax error", "ZADD", "z", "1", "a", "2");
    EXPECT_ERR(f, "value is not a valid float", "ZADD", "z", "nan", "a");
    EXPECT_ERR(f, "value is not a valid float", "ZADD", "z", "1", "a", "x", "b");
    EXPECT_INT(f, 0, "EXISTS", "z");                              /* nothing was added */
    EXPECT_INT(f, 0, "ZADD", "z", "XX", "1", "a");                 /* XX on no key: no key */
    EXPECT_RAW(f, "$-1\r\n", "ZADD", "z", "XX", "INCR", "1", "a");
    EXPECT_INT(f, 0, "EXISTS", "z");
    EXPECT_INT(f, 2, "ZADD", "z", "1", "a", "2", "b");
    EXPECT_INT(f, 1, "ZADD", "z", "NX", "5", "a", "3", "c");       /* a kept at 1 */
    EXPECT_INT(f, 1, "ZADD", "z", "XX", "CH", "5", "a", "9", "new");
    EXPECT_INT(f, 0, "ZADD", "z", "GT", "CH", "4", "a");           /* 4 < 5: not updated */
    EXPECT_INT(f, 1, "ZADD", "z", "LT", "CH", "4", "a");
    EXPECT_INT(f, 1, "ZADD", "z", "GT", "7", "d");                 /* GT still adds */
    EXPECT_INT(f, 0, "ZADD", "z", "CH", "4", "a");                 /* same score: no change */
    EXPECT_RAW(f, "$-1\r\n", "ZADD", "z", "GT", "INCR", "-1", "a");
    EXPECT_RAW(f, "$1\r\n6\r\n", "ZADD", "z", "GT", "INCR", "2", "a");
    EXPECT_RAW(f, "$-1\r\n", "ZADD", "z", "NX", "INCR", "2", "a");
    EXPECT_RAW(f, "$3\r\n1.5\r\n", "ZINCRBY", "z", "1.5", "fresh");
    EXPECT_RAW(f, "*10\r\n$5\r\nfresh\r\n$3\r\n1.5\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"
                  "$1\r\na\r\n$1\r\n6\r\n$1\r\nd\r\n$1\r\n7\r\n", "ZRANGE", "z", "-100", "100", "WITHSCORES");
}

static void test_zset_infinite_scores(void **state)
{
    mfix *f = *state;
    EXPECT_INT(f, 3, "ZADD", "z", "-inf", "a", "+inf", "b", "0", "c");
    EXPECT_RAW(f, "*6\r\n$1\r\na\r\n$4\r\n-inf\r\n$1\r\nc\r\n$1\r\n0\r\n$1\r\nb\r\n$3\r\ninf\r\n",
               "ZRANGE", "z", "0", "-1", "WITHSCORES");
    EXPECT_RAW(f, "*3\r\n$1\r\na\r\n$1\r\nc\r\n$1\r\nb\r\n", "ZRANGEBYSCORE", "z", "-inf", "+inf");
    EXPECT_RAW(f, "*1\r\n$1\r\nc\r\n", "ZRANGEBYSCORE", "z", "(-inf", "(+inf");
    EXPECT_RAW(f, "*1\r\n$1\r\nc\r\n", "ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "1", "1");
    EXPECT_RAW(f, "*2\r\n$1\r\nb\r\n$1\r\nc\r\n", "ZRANGE", "z", "inf", "0", "BYSCORE", "REV");
    EXPECT_INT(f, 1, "ZCOUNT", "z", "-inf", "-inf");
    EXPECT_INT(f, 0, "ZCOUNT", "z", "(inf", "+inf");
    EXPECT_RAW(f, "$4\r\n-inf\r\n", "ZSCORE", "z", "a");
    EXPECT_RAW(f, "$3\r\ninf\r\n", "ZINCRBY", "z", "1", "b");
    EXPECT_ERR(f, "resulting score is not a number (NaN)", "ZINCRBY", "z", "-inf", "b");
    EXPECT_ERR(f, "resulting score is not a number (NaN)", "ZADD", "z", "INCR", "+inf", "a");
    EXPECT_RAW(f, "$3\r\ninf\r\n", "ZSCORE", "z", "b");                 /* unchanged */
    EXPECT_INT(f, 3, "ZUNIONSTORE", "u", "2", "z", "z");
    EXPECT_RAW(f, "*6\r\n$1\r\na\r\n$4\r\n-inf\r\n$1\r\nc\r\n$1\r\n0\r\n$1\r\nb\r\n$3\r\ninf\r\n",
               "ZRANGE", "u", "0", "-1", "WITHSCORES");
    /* -inf + inf and 0 * inf are NaN; Redis makes them 0 */
    EXPECT_INT(f, 3, "ZINTERSTORE", "i", "2", "z", "z", "WEIGHTS", "1", "-1");
    EXPECT_RAW(f, "*6\r\n$1\r\na\r\n$1\r\n0\r\n$1\r\nb\r\n$1\r\n0\r\n$1\r\nc\r\n$1\r\n0\r\n",
               "ZRANGE", "i", "0", "-1", "WITHSCORES");
    EXPECT_INT(f, 3, "ZUNIONSTORE", "w", "1", "z", "WEIGHTS", "0");
    EXPECT_RAW(f, "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", "ZRANGEBYSCORE", "w", "0", "0");
    /* Redis visits the inputs smallest first, whatever their order in the
     * command: inf + inf - inf is 0 (NaN), not inf */
    EXPECT_INT(f, 1, "ZADD", "a", "inf", "x");
    EXPECT_INT(f, 2, "ZADD", "b", "inf", "x", "1", "y");
    EXPECT_INT(f, 3, "ZADD", "c", "-inf", "x", "1", "y", "2", "z");
    EXPECT_INT(f, 3, "ZUNIONSTORE", "d", "3", "a", "c", "b");
    EXPECT_RAW(f, "$1\r\n0\r\n", "ZSCORE", "d", "x");
    /* ZINTERSTORE zeroes a NaN product (0 * inf) for its first input only;
     * a later one makes the SUM NaN, which is 0; MIN and MAX ignore it */
    EXPECT_INT(f, 1, "ZINTERSTORE", "q", "2", "a", "a", "WEIGHTS", "2", "0");
    EXPECT_RAW(f, "$1\r\n0\r\n", "ZSCORE", "q", "x");
    EXPECT_INT(f, 1, "ZINTERSTORE", "q", "2", "a", "a", "WEIGHTS", "0", "2");
    EXPECT_RAW(f, "$3\r\ninf\r\n", "ZSCORE", "q", "x");
    EXPECT_INT(f, 1, "ZINTERSTORE", "q", "2", "a", "a", "WEIGHTS", "2", "0", "AGGREGATE", "MIN");
    EXPECT_RAW(f, "$3\r\ninf\r\n", "ZSCORE", "q", "x");
    EXPECT_INT(f, 1, "ZINTERSTORE", "q", "2", "b", "a", "WEIGHTS", "2", "0");   /* a is first */
    EXPECT_RAW(f, "$3\r\ninf\r\n", "ZSCORE", "q", "x");
    EXPECT_INT(f, 1, "ZUNIONSTORE", "q", "2", "a", "a", "WEIGHTS", "2", "0", "AGGREGATE", "MIN");
    EXPECT_RAW(f, "$1\r\n0\r\n", "ZSCORE", "q", "x");
    EXPECT_RAW(f, "*4\r\n$1\r\nb\r\n$3\r\ninf\r\n$1\r\nc\r\n$1\r\n0\r\n", "ZPOPMAX", "z", "2");
    EXPECT_RAW(f, "*3\r\n$1\r\nz\r\n$1\r\na\r\n$4\r\n-inf\r\n", "BZPOPMIN", "z", "0");
    EXPECT_INT(f, 0, "EXISTS", "z");
}

static void test_zset_ranges_and_counts(void **state)
{
    mfix *f = *state;
    EXPECT_INT(f, 4, "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d");
    EXPECT_RAW(f, "*2\r\n$1\r\nc\r\n$1\r\nd\r\n", "ZRANGE", "z", "-2", "-1");
    EXPECT_RAW(f, "*2\r\n$1\r\nb\r\n$1\r\na\r\n", "ZRANGE", "z", "-2", "-1", "REV");
    EXPECT_RAW(f, "*2\r\n$1\r\nb\r\n$1\r\na\r\n", "ZREVRANGE", "z", "-2", "100");
    EXPECT_RAW(f, "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n", "ZRANGE", "z", "-100", "100");
    EXPECT_RAW(f, "*0\r\n", "ZRANGE", "z", "2", "1");
    EXPECT_RAW(f, "*0\r\n", "ZRANGE", "z", "-1", "-2");
    EXPECT_RAW(f, "*0\r\n", "ZRANGE", "z", "4", "10");
    EXPECT_INT(f, 0, "ZREMRANGEBYRANK", "z", "-1", "-2");
    EXPECT_RAW(f, "*1\r\n$1\r\nc\r\n", "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "2", "1");
    EXPECT_RAW(f, "*2\r\n$1\r\nb\r\n$1\r\na\r\n", "ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV",
               "LIMIT", "2", "-1");
    EXPECT_RAW(f, "*0\r\n", "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "2");
    EXPECT_RAW(f, "*0\r\n", "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "0");
    EXPECT_ERR(f, "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
               "ZRANGE", "z", "0", "-1", "LIMIT", "0", "1");
    EXPECT_ERR(f, "syntax error, WITHSCORES not supported in combination with BYLEX",
               "ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES");
    EXPECT_ERR(f, "min or max is not a float", "ZRANGE", "z", "1", "x", "BYSCORE");
    EXPECT_ERR(f, "min or max is not a float", "ZCOUNT", "z", "(1", "x");
    EXPECT_ERR(f, "min or max not valid string range item", "ZRANGE", "z", "a", "b", "BYLEX");
    EXPECT_ERR(f, "min or max not valid string range item", "ZLEXCOUNT", "z", "a", "+");
    EXPECT_ERR(f, "value is out of range, must be positive", "ZPOPMIN", "z", "-1");
    EXPECT_RAW(f, "*0\r\n", "ZPOPMIN", "z", "0");
    EXPECT_RAW(f, "*0\r\n", "ZRANDMEMBER", "z", "0");
    EXPECT_ERR(f, "at least 1 input key is needed for 'zunionstore' command", "ZUNIONSTORE", "d", "0", "z");
    EXPECT_ERR(f, "syntax error", "ZUNIONSTORE", "d", "2", "z", "nokey", "WEIGHTS", "1");
    EXPECT_ERR(f, "syntax error", "ZINTERSTORE", "d", "1", "z", "AGGREGATE", "AVG");
    EXPECT_INT(f, 1, "ZADD", "one", "5", "only");
    mkey *k = km_create(&f->m, "one", 3, MT_ZSET);
    km_zset(k, "only", 4, 5);
    size_t len;
    char *r = cx_cmd(f->c, &len, "ZRANDMEMBER", "one", "-3", "WITHSCORES", NULL);
    assert_int_equal(mfix_check_sample(k, r, len, -3, true, NULL, 0), 3);   /* repeated */
    free(r);
    EXPECT_RAW(f, "*2\r\n$4\r\nonly\r\n$1\r\n5\r\n", "ZRANDMEMBER", "one", "3", "WITHSCORES");
}

static void test_zset_empty_sets_are_deleted(void **state)
{
    mfix *f = *state;
    EXPECT_INT(f, 2, "ZADD", "z", "1", "a", "2", "b");
    EXPECT_INT(f, 2, "ZREM", "z", "a", "b", "c");
    EXPECT_INT(f, 0, "EXISTS", "z");
    EXPECT_INT(f, 2, "ZADD", "z", "1", "a", "2", "b");
    EXPECT_RAW(f, "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n", "ZPOPMIN", "z", "10");
    EXPECT_INT(f, 0, "EXISTS", "z");
    EXPECT_INT(f, 2, "ZADD", "z", "1", "a", "2", "b");
    EXPECT_INT(f, 2, "ZREMRANGEBYSCORE", "z", "-inf", "+inf");
    EXPECT_INT(f, 0, "EXISTS", "z");
    EXPECT_INT(f, 2, "ZADD", "z", "1", "a", "2", "b");
    EXPECT_INT(f, 2, "ZREMRANGEBYRANK", "z", "0", "-1");
    EXPECT_INT(f, 0, "EXISTS", "z");
    EXPECT_INT(f, 2, "ZADD", "z", "0", "a", "0", "b");
    EXPECT_INT(f, 2, "ZREMRANGEBYLEX", "z", "-", "+");
    EXPECT_INT(f, 0, "EXISTS", "z");
    EXPECT_INT(f, 1, "ZADD", "z", "1", "a");
    EXPECT_RAW(f, "*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n", "BZPOPMAX", "z", "0");
    EXPECT_INT(f, 0, "EXISTS", "z");
    /* a store with an empty result deletes its destination */
    EXPECT_INT(f, 1, "ZADD", "d", "1", "a");
    EXPECT_INT(f, 0, "ZRANGESTORE", "d", "z", "0", "-1");
    EXPECT_INT(f, 0, "EXISTS", "d");
    EXPECT_RAW(f, "+OK\r\n", "SET", "d", "string");
    EXPECT_INT(f, 0, "ZUNIONSTORE", "d", "1", "nokey");
    EXPECT_INT(f, 0, "EXISTS", "d");
    EXPECT_INT(f, 1, "ZADD", "d", "1", "a");
    EXPECT_INT(f, 1, "ZADD", "e", "1", "b");
    EXPECT_INT(f, 0, "ZINTERSTORE", "d", "2", "d", "e");
    EXPECT_INT(f, 0, "EXISTS", "d");
}

static void test_zset_binary_members(void **state)
{
    mfix *f = *state;
    ca_reset(&f->a);
    ca_str(&f->a, "ZADD");
    ca_add(&f->a, "k\0", 2);
    static const char *const mem[] = {"x\0y", "x\0", "\r\n", "", "x"};
    static const size_t len[] = {3, 2, 2, 0, 1};
    for (int i = 0; i < 5; i++) {
        ca_str(&f->a, "0");
        ca_add(&f->a, mem[i], len[i]);
    }
    rb_reset(&f->want);
    rb_int(&f->want, 5);
    mfix_check(f, 0);
    ca_reset(&f->a);                   /* lex order is byte order: "" \r\n x x\0 x\0y */
    ca_str(&f->a, "ZRANGEBYLEX");
    ca_add(&f->a, "k\0", 2);
    ca_add(&f->a, "(x", 2);
    ca_add(&f->a, "[x\0y", 4);
    rb_reset(&f->want);
    rb_arr(&f->want, 2);
    rb_bulk(&f->want, "x\0", 2);
    rb_bulk(&f->want, "x\0y", 3);
    mfix_check(f, 0);
    ca_reset(&f->a);
    ca_str(&f->a, "ZRANK");
    ca_add(&f->a, "k\0", 2);
    ca_add(&f->a, "\r\n", 2);
    rb_reset(&f->want);
    rb_int(&f->want, 1);
    mfix_check(f, 0);
    EXPECT_INT(f, 0, "EXISTS", "k");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_zset_wrongtype_and_missing, mfix_setup, mfix_teardown),
        cmocka_unit_test_setup_teardown(test_zset_zadd_flags, mfix_setup, mfix_teardown),
        cmocka_unit_test_setup_teardown(test_zset_infinite_scores, mfix_setup, mfix_teardown),
        cmocka_unit_test_setup_teardown(test_zset_ranges_and_counts, mfix_setup, mfix_teardown),
        cmocka_unit_test_setup_teardown(test_zset_empty_sets_are_deleted, mfix_setup, mfix_teardown),
        cmocka_unit_test_setup_teardown(test_zset_binary_members, mfix_setup, mfix_teardown),
        cmocka_unit_test_setup_teardown(test_zset_random, mfix_setup, mfix_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
