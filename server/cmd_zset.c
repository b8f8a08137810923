/*
 * cmd_zset.c — the sorted-set commands: ZADD ZREM ZSCORE ZMSCORE ZINCRBY
 * ZCARD ZCOUNT ZLEXCOUNT ZRANK ZREVRANK ZRANGE ZRANGEBYSCORE
 * ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZREVRANGE ZRANGESTORE
 * ZREMRANGEBYSCORE ZREMRANGEBYRANK ZREMRANGEBYLEX ZPOPMIN ZPOPMAX
 * ZRANDMEMBER ZSCAN ZUNIONSTORE ZINTERSTORE.
 *
 * The one idea: every range command is one description (zs_range: by
 * rank, score or lex; forward or reverse; LIMIT) handed to ONE walker
 * (zset.c, zs_walk) with a visitor that replies, counts or deletes. The
 * storage (member table + score index) is described in zset.c.
 *
 * Ranks come from the engine's order-statistics index (zset.c: zs_slice),
 * so ZRANK / ZREVRANK / ZCOUNT / ZLEXCOUNT are O(log n) and every range
 * O(log n + m), as in Redis. Left out on purpose: a member table in
 * memory (Redis's dict): ZSCORE is one engine lookup, a read of the value
 * when it is not cached.
 *
 * Interview topics: queue.priority-jobs (zset_pop), ratelimit.strategies
 * (remrange_generic).
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocking.h"
#include "commands.h"
#include "composite.h"
#include "keyops.h"
#include "notify.h"
#include "score.h"
#include "zset.h"

/* ---- ZADD / ZINCRBY ----------------------------------------------------------- */

enum { ZA_NX = 1, ZA_XX = 2, ZA_GT = 4, ZA_LT = 8, ZA_CH = 16, ZA_INCR = 32 };

/* Parse ZADD's flags; returns the index of the first score, or -1 replied. */
static int zadd_flags(client *c, int *flags, int forced)
{
    static const struct { const char *name; int flag; } words[] = {
        {"nx", ZA_NX}, {"xx", ZA_XX}, {"gt", ZA_GT}, {"lt", ZA_LT}, {"ch", ZA_CH}, {"incr", ZA_INCR},
    };
    int i = 2;
    *flags = forced;
    for (; i < c->argc; i++) {
        int f = 0;
        for (size_t w = 0; w < sizeof words / sizeof *words; w++)
            if (arg_is(&c->argv[i], words[w].name))
                f = words[w].flag;
        if (!f)
            break;
        *flags |= f;
    }
    int pairs = c->argc - i;
    if (pairs == 0 || pairs % 2) {
        reply_error(c, ERR_SYNTAX);
        return -1;
    }
    if ((*flags & ZA_NX) && (*flags & ZA_XX)) {
        reply_error(c, "XX and NX options at the same time are not compatible");
        return -1;
    }
    if (((*flags & ZA_GT) && (*flags & ZA_LT)) || ((*flags & ZA_NX) && (*flags & (ZA_GT | ZA_LT)))) {
        reply_error(c, "GT, LT, and/or NX options at the same time are not compatible");
        return -1;
    }
    if ((*flags & ZA_INCR) && pairs != 2) {
        reply_error(c, "INCR option supports a single increment-element pair");
        return -1;
    }
    return i;
}

/* The member state while one ZADD runs: earlier pairs of the same command
 * are not in the engine yet, so later duplicates read them from here. */
typedef struct zadd_state {
    bool exists;
    double score;
} zadd_state;
enum { ZADD_FEW = 4 };   /* pairs whose state zadd_generic keeps on its stack */

/* Apply one (score, member) pair; *changed / *added are counted; for
 * INCR, *result gets the new score and *aborted is set when a flag
 * blocks it. CHALK_OK, an error, or 1 for "NaN" (replied). */
static int zadd_one(client *c, chalk_batch *b, cp_meta *m, int flags, double score,
                    const resp_arg *mem, const cp_key *mk, zadd_state *st, long *added,
                    long *changed, double *result, bool *aborted)
{
    if ((flags & ZA_NX) && st->exists)
        return *aborted = true, CHALK_OK;
    if ((flags & ZA_XX) && !st->exists)
        return *aborted = true, CHALK_OK;
    double nscore = score;
    if ((flags & ZA_INCR) && st->exists) {
        nscore = st->score + score;
        if (isnan(nscore)) {
            reply_error(c, "resulting score is not a number (NaN)");
            return 1;
        }
    }
    if (st->exists && (((flags & ZA_GT) && !(nscore > st->score)) ||
                       ((flags & ZA_LT) && !(nscore < st->score))))
        return *aborted = true, CHALK_OK;
    *result = nscore;
    if (st->exists && nscore == st->score)
        return CHALK_OK;
    int rc = zs_put(b, m, mk, mem->ptr, mem->len, nscore, st->exists, st->score);
    if (!st->exists)
        (*added)++, m->count++;
    (*changed)++;
    st->exists = true;
    st->score = nscore;
    return rc;
}

static bool parse_score(client *c, const resp_arg *a, double *out)
{
    if (zs_parse_double(a->ptr, a->len, out))
        return true;
    reply_error(c, ERR_NOT_FLOAT);
    return false;
}

/* ZADD's body, shared with ZINCRBY. */
static void zadd_generic(client *c, int first, int flags)
{
    long npairs = (c->argc - first) / 2;   /* >= 1: zadd_flags */
    cp_key mk;
    mk.buf.p = NULL;                        /* cp_key_free before prepare: a no-op */
    /* A few pairs (the common ZADD key score member) need no malloc. */
    double scores_few[ZADD_FEW];
    zadd_state st_few[ZADD_FEW] = {{0}};
    bool few = npairs <= ZADD_FEW;
    double *scores = few ? scores_few : malloc((size_t)npairs * sizeof *scores);
    zadd_state *st = few ? st_few : calloc((size_t)npairs, sizeof *st);
    long *prev = cp_prev_dups(c, first + 1, 2, npairs);
    if (!scores || !st || !prev) {
        reply_engine_error(c, CHALK_ENOMEM);
        goto out;
    }
    for (long i = 0; i < npairs; i++)
        if (!parse_score(c, &c->argv[first + 2 * i], &scores[i]))
            goto out;
    cp_meta m;
    /* The first member's 'm' key: its bucket comes in during cp_lookup. */
    if (cp_key_prepare(&mk, c->db, CP_ZMEMBER, c->argv[1].ptr, c->argv[1].len,
                       c->argv[first + 1].ptr, c->argv[first + 1].len) != CHALK_OK) {
        reply_engine_error(c, CHALK_ENOMEM);
        goto out;
    }
    if (cp_lookup(c, c->db, &c->argv[1], KS_ZSET, &m) < 0)
        goto out;
    chalk_batch *b = ks_batch();
    int rc = b ? cp_begin(b, &m) : CHALK_ENOMEM;
    long added = 0, changed = 0;
    double result = 0;
    bool aborted = false;
    for (long i = 0; rc == CHALK_OK && i < npairs; i++) {
        const resp_arg *mem = &c->argv[first + 2 * i + 1];
        if (i > 0) {                /* each member's 'm' key: hashed once, read and put */
            cp_key_free(&mk);
            rc = cp_key_prepare(&mk, c->db, CP_ZMEMBER, c->argv[1].ptr, c->argv[1].len,
                                mem->ptr, mem->len);
        }
        if (rc != CHALK_OK)
            break;
        if (prev[i] >= 0)
            st[i] = st[prev[i]];
        else if ((rc = zs_score_key(&m, &mk, &st[i].score)) == CHALK_OK)
            st[i].exists = true;
        else if (rc == CHALK_ENOTFOUND)
            rc = CHALK_OK;
        if (rc == CHALK_OK)
            rc = zadd_one(c, b, &m, flags, scores[i], mem, &mk, &st[i], &added, &changed,
                          &result, &aborted);
    }
    if (rc == 1)
        goto out;                  /* NaN: replied, nothing written */
    if (rc == CHALK_OK && (m.exists || m.count))
        rc = cp_meta_store(b, &m);
    if (rc != CHALK_OK) {
        reply_engine_error(c, rc);
        goto out;
    }
    if (changed && !cp_commit(c, b))
        goto out;
    if (changed)
        cp_notify(NOTIFY_ZSET, (flags & ZA_INCR) ? "zincr" : "zadd", &m);
    if (added)
        blocking_key_ready(m.db, m.key, m.klen);
    if (flags & ZA_INCR) {
        if (aborted)
            reply_null(c);
        else
            cp_reply_score(c, result);
    } else {
        reply_long(c, (flags & ZA_CH) ? changed : added);
    }
out:
    cp_key_free(&mk);
    if (!few) {
        free(scores);
        free(st);
    }
    free(prev);
}

static void zadd_command(client *c)
{
    int flags, first = zadd_flags(c, &flags, 0);
    if (first >= 0)
        zadd_generic(c, first, flags);
}

/* ZINCRBY is ZADD INCR, flags included (Redis parses "ZINCRBY k NX 1"
 * as ZADD's flags too, and then lacks a pair: syntax error). */
static void zincrby_command(client *c)
{
    int flags, first = zadd_flags(c, &flags, ZA_INCR);
    if (first >= 0)
        zadd_generic(c, first, flags);
}

/* The prefetch hint of ZADD and ZINCRBY (the member's 'm' record, as
 * zadd_generic prepares it), only in the plain "key score member" shape: a[2] must start like a number (a flag such as NX starts
 * with a letter; "inf" is skipped too, a hint may miss). */
static int zadd_prefetch(int db, const resp_slice *a, int n, chalk_key *out, int max)
{
    if (n < 4 || a[2].len == 0)
        return 0;
    char c0 = a[2].ptr[0];
    if (!((c0 >= '0' && c0 <= '9') || c0 == '-' || c0 == '+' || c0 == '.'))
        return 0;
    return cp_key_hint(db, CP_ZMEMBER, &a[1], &a[3], out, max);
}

/* The prefetch hint of ZSCORE (key member). */
static int zscore_prefetch(int db, const resp_slice *a, int n, chalk_key *out, int max)
{
    return n < 3 ? 0 : cp_key_hint(db, CP_ZMEMBER, &a[1], &a[2], out, max);
}

/* ---- point reads ----------------------------------------------------------- */

static void zscore_command(client *c)
{
    cp_meta m;
    double s;
    if (cp_lookup(c, c->db, &c->argv[1], KS_ZSET, &m) < 0)
        return;
    if (zs_score(&m, c->argv[2].ptr, c->argv[2].len, &s) == CHALK_OK)
        cp_reply_score(c, s);
    else
        reply_null(c);
}

static void zmscore_command(client *c)
{
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], KS_ZSET, &m) < 0)
        return;
    reply_array(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        double s;
        if (zs_score(&m, c->argv[i].ptr, c->argv[i].len, &s) == CHALK_OK)
            cp_reply_score(c, s);
        else
            reply_null(c);
    }
}

static void zcard_command(client *c) { cp_card_command(c, KS_ZSET); }

static void zrem_command(client *c)
{
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], KS_ZSET, &m) < 0)
        return;
    long n = c->argc - 2, removed = 0;
    long *prev = cp_prev_dups(c, 2, 1, n);
    chalk_batch *b = ks_batch();
    int rc = prev && b ? CHALK_OK : CHALK_ENOMEM;
    for (long i = 0; rc == CHALK_OK && i < n; i++) {
        const resp_arg *mem = &c->argv[2 + i];
        double s;
        if (prev[i] >= 0 || zs_score(&m, mem->ptr, mem->len, &s) != CHALK_OK)
            continue;
        removed++;
        rc = zs_del(b, &m, mem->ptr, mem->len, s);
    }
    free(prev);
    m.count -= (uint64_t)removed;
    if (rc == CHALK_OK && removed)
        rc = cp_meta_store(b, &m);
    cp_reply_changed(c, b, rc, removed, NOTIFY_ZSET, "zrem", &m);
}

/* ---- range parsing -------------------------------------------------------------- */

/* Parse the two bounds at argv[i], argv[i+1] (min then max; for a reverse
 * walk Redis writes max first, the caller passes them swapped). */
static bool parse_bounds(client *c, zs_range *r, const resp_arg *lo, const resp_arg *hi)
{
    if (r->by == ZR_RANK)
        return arg_ll(c, lo, &r->start) && arg_ll(c, hi, &r->stop);
    if (r->by == ZR_SCORE) {
        if (zs_parse_score_bound(lo->ptr, lo->len, &r->min, &r->minex) &&
            zs_parse_score_bound(hi->ptr, hi->len, &r->max, &r->maxex))
            return true;
        reply_error(c, "min or max is not a float");
        return false;
    }
    if (zs_parse_lex_bound(lo->ptr, lo->len, &r->lmin) && zs_parse_lex_bound(hi->ptr, hi->len, &r->lmax))
        return true;
    reply_error(c, "min or max not valid string range item");
    return false;
}

/* Options after the bounds, from argv[i]: BYSCORE BYLEX REV (if `full`,
 * ZRANGE's form), LIMIT, WITHSCORES (if allowed). */
static bool parse_range_opts(client *c, int i, bool full, bool allow_ws, zs_range *r, bool *ws,
                             bool *has_limit)
{
    *ws = false;
    *has_limit = false;
    for (; i < c->argc; i++) {
        const resp_arg *a = &c->argv[i];
        if (full && arg_is(a, "byscore"))
            r->by = ZR_SCORE;
        else if (full && arg_is(a, "bylex"))
            r->by = ZR_LEX;
        else if (full && arg_is(a, "rev"))
            r->rev = true;
        else if (allow_ws && arg_is(a, "withscores"))
            *ws = true;
        else if (arg_is(a, "limit") && i + 2 < c->argc) {
            if (!arg_ll(c, &c->argv[i + 1], &r->offset) || !arg_ll(c, &c->argv[i + 2], &r->limit))
                return false;
            *has_limit = true;
            i += 2;
        } else {
            reply_error(c, ERR_SYNTAX);
            return false;
        }
    }
    return true;
}

/* ---- replying a range ------------------------------------------------------------- */

typedef struct reply_ctx {
    client *c;
    bool withscores;
    long n;
} reply_ctx;

static bool reply_visit(void *arg, const char *mem, size_t len, double score)
{
    reply_ctx *x = arg;
    if (x->withscores && x->c->resp >= 3)
        reply_array(x->c, 2);
    reply_bulk(x->c, mem, len);
    if (x->withscores)
        cp_reply_score(x->c, score);
    x->n += x->withscores && x->c->resp < 3 ? 2 : 1;
    return true;
}

static void range_reply(client *c, const zs_range *r, bool withscores)
{
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], KS_ZSET, &m) < 0)
        return;
    reply_ctx x = {.c = c, .withscores = withscores};
    zs_range walk = *r;
    walk.no_scores = !withscores;  /* reply_visit reads scores only then */
    void *slot = reply_deferred(c);
    if (r->offset < 0)
        m.exists = false;          /* Redis: a negative offset is empty */
    zs_walk(&m, &walk, reply_visit, &x);
    reply_set_deferred_array(c, slot, x.n);
}

/* The whole parse for ZRANGE's form (argv[lo], argv[lo+1], options). */
static bool zrange_parse(client *c, int lo, zs_range *r, bool *ws)
{
    bool has_limit, store = lo == 3;  /* ZRANGESTORE: no WITHSCORES */
    *r = (zs_range){.by = ZR_RANK, .limit = -1};
    if (!parse_range_opts(c, lo + 2, true, !store, r, ws, &has_limit))
        return false;
    if (has_limit && r->by == ZR_RANK && (r->offset != 0 || r->limit != -1)) {
        reply_error(c, "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return false;
    }
    if (*ws && r->by == ZR_LEX) {
        reply_error(c, "syntax error, WITHSCORES not supported in combination with BYLEX");
        return false;
    }
    const resp_arg *a = &c->argv[lo], *b = &c->argv[lo + 1];
    bool swap = r->rev && r->by != ZR_RANK;
    return parse_bounds(c, r, swap ? b : a, swap ? a : b);
}

static void zrange_command(client *c)
{
    zs_range r;
    bool ws;
    if (zrange_parse(c, 2, &r, &ws))
        range_reply(c, &r, ws);
}

/* ZRANGEBYSCORE and friends: fixed `by` and direction, no BY* words. */
static void range_fixed(client *c, int by, bool rev, bool allow_ws)
{
    zs_range r = {.by = by, .rev = rev, .limit = -1};
    bool ws, has_limit;
    if (!parse_range_opts(c, 4, false, true, &r, &ws, &has_limit))
        return;
    if (ws && !allow_ws) {
        reply_error(c, "syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    if (has_limit && by == ZR_RANK && (r.offset != 0 || r.limit != -1)) {
        reply_error(c, "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return;
    }
    const resp_arg *a = &c->argv[2], *b = &c->argv[3];
    bool swap = rev && by != ZR_RANK;
    if (parse_bounds(c, &r, swap ? b : a, swap ? a : b))
        range_reply(c, &r, ws);
}

static void zrangebyscore_command(client *c) { range_fixed(c, ZR_SCORE, false, true); }
static void zrevrangebyscore_command(client *c) { range_fixed(c, ZR_SCORE, true, true); }
static void zrangebylex_command(client *c) { range_fixed(c, ZR_LEX, false, false); }
static void zrevrangebylex_command(client *c) { range_fixed(c, ZR_LEX, true, false); }

static void zrevrange_command(client *c) { range_fixed(c, ZR_RANK, true, true); }

/* ---- counting ---------------------------------------------------------------------- */

static void count_generic(client *c, int by)
{
    zs_range r = {.by = by, .limit = -1};
    if (!parse_bounds(c, &r, &c->argv[2], &c->argv[3]))
        return;
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], KS_ZSET, &m) < 0)
        return;
    uint64_t n = 0;
    int rc = zs_count(&m, &r, &n);            /* O(log n): two ranks */
    if (rc != CHALK_OK)
        reply_engine_error(c, rc);
    else
        reply_long(c, (long long)n);
}

static void zcount_command(client *c) { count_generic(c, ZR_SCORE); }
static void zlexcount_command(client *c) { count_generic(c, ZR_LEX); }

/* O(log n): the member's score (one lookup), then the rank of its
 * (score, member) record in the score index (zs_rank). */
static void rank_generic(client *c, bool rev)
{
    bool withscore = c->argc == 4 && arg_is(&c->argv[3], "withscore");
    if (c->argc > 4) {
        reply_errorf(c, "wrong number of arguments for '%s' command", rev ? "zrevrank" : "zrank");
        return;
    }
    if (c->argc == 4 && !withscore) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    cp_meta m;
    double s;
    if (cp_lookup(c, c->db, &c->argv[1], KS_ZSET, &m) < 0)
        return;
    if (zs_score(&m, c->argv[2].ptr, c->argv[2].len, &s) != CHALK_OK) {
        if (withscore)
            reply_null_array(c);
        else
            reply_null(c);
        return;
    }
    uint64_t fwd;
    int rc = zs_rank(&m, c->argv[2].ptr, c->argv[2].len, s, &fwd);
    if (rc != CHALK_OK) {
        reply_engine_error(c, rc);
        return;
    }
    long long rank = rev ? (long long)(m.count - 1 - fwd) : (long long)fwd;
    if (withscore) {
        reply_array(c, 2);
        reply_long(c, rank);
        cp_reply_score(c, s);
    } else {
        reply_long(c, rank);
    }
}

static void zrank_command(client *c) { rank_generic(c, false); }
static void zrevrank_command(client *c) { rank_generic(c, true); }

/* ---- collecting: stores, removals, pops ------------------------------------------ */

typedef struct zitem {
    char *mem;
    size_t len;
    double score;
} zitem;

typedef struct zlist {
    zitem *v;
    long n, cap;
    long max;               /* stop after this many (0 = no limit) */
} zlist;

static bool collect_visit(void *arg, const char *mem, size_t len, double score)
{
    zlist *l = arg;
    if (l->n == l->cap) {
        long cap = l->cap ? 2 * l->cap : 16;
        zitem *v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v)
            return false;
        l->v = v;
        l->cap = cap;
    }
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return false;
    memcpy(copy, mem, len);
    l->v[l->n++] = (zitem){copy, len, score};
    return !l->max || l->n < l->max;
}

static void zlist_free(zlist *l)
{
    for (long i = 0; i < l->n; i++)
        free(l->v[i].mem);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* Add to b the removal of every element of l from m. */
static int remove_items(chalk_batch *b, cp_meta *m, const zlist *l)
{
    int rc = CHALK_OK;
    for (long i = 0; rc == CHALK_OK && i < l->n; i++)
        rc = zs_del(b, m, l->v[i].mem, l->v[i].len, l->v[i].score);
    m->count -= (uint64_t)l->n;
    if (rc == CHALK_OK && l->n)
        rc = cp_meta_store(b, m);
    return rc;
}

/* @interview(ratelimit.strategies): How does a sliding-window rate limiter
 * work on a sorted set? Each request is a member scored with its time:
 * ZREMRANGEBYSCORE key 0 <now-window>, then ZCARD key (requests in the
 * window), then ZADD key <now> <request-id> and EXPIRE key <window>, in
 * one MULTI/EXEC. Unlike a fixed window (INCR + EXPIRE) it has no burst at
 * window edges; it costs one member per request, where a token bucket
 * costs two numbers per client. */
static void remrange_generic(client *c, int by)
{
    static const char *const events[] = {"zremrangebyrank", "zremrangebyscore", "zremrangebylex"};
    zs_range r = {.by = by, .limit = -1};
    if (!parse_bounds(c, &r, &c->argv[2], &c->argv[3]))
        return;
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], KS_ZSET, &m) < 0)
        return;
    zlist l = {0};
    chalk_batch *b = ks_batch();
    int rc = b ? zs_walk(&m, &r, collect_visit, &l) : CHALK_ENOMEM;
    if (rc == CHALK_OK)
        rc = remove_items(b, &m, &l);
    cp_reply_changed(c, b, rc, l.n, NOTIFY_ZSET, events[by], &m);
    zlist_free(&l);
}

static void zremrangebyscore_command(client *c) { remrange_generic(c, ZR_SCORE); }
static void zremrangebyrank_command(client *c) { remrange_generic(c, ZR_RANK); }
static void zremrangebylex_command(client *c) { remrange_generic(c, ZR_LEX); }

/* Replace key dst (any type) with the sorted set l, in batch b. */
static int store_zset(chalk_batch *b, int db, const resp_arg *dst, const zlist *l, const char *event)
{
    cp_meta m;
    int rc = cp_store_begin(b, db, dst, KS_ZSET, l->n, &m);
    if (rc < 0)
        return rc;
    bool existed = rc == 1;
    rc = CHALK_OK;
    for (long i = 0; rc == CHALK_OK && i < l->n; i++)
        rc = zs_put(b, &m, NULL, l->v[i].mem, l->v[i].len, l->v[i].score, false, 0);
    m.exists = true;
    if (rc == CHALK_OK && l->n)
        rc = cp_meta_store(b, &m);
    if (rc == CHALK_OK && l->n)
        blocking_key_ready(db, dst->ptr, dst->len);   /* runs after this command */
    if (rc == CHALK_OK)                                /* published before the reply */
        cp_notify_stored(NOTIFY_ZSET, event, db, dst, l->n, existed);
    return rc;
}

static void zrangestore_command(client *c)
{
    zs_range r;
    bool ws;
    if (!zrange_parse(c, 3, &r, &ws))
        return;
    if (ws) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[2], KS_ZSET, &m) < 0)
        return;
    zlist l = {0};
    chalk_batch *b = ks_batch();
    int rc = b ? (r.offset < 0 ? CHALK_OK : zs_walk(&m, &r, collect_visit, &l)) : CHALK_ENOMEM;
    if (rc == CHALK_OK)
        rc = store_zset(b, c->db, &c->argv[1], &l, "zrangestore");
    if (rc != CHALK_OK)
        reply_engine_error(c, rc);
    else if (cp_commit(c, b))
        reply_long(c, l.n);
    zlist_free(&l);
}

/* @interview(queue.priority-jobs): How do you schedule jobs by priority or
 * run them later? Put each job in a sorted set with its priority, or its
 * due time in unix ms, as the score: ZADD jobs <due> <id>. Workers take the
 * smallest with ZPOPMIN (or BZPOPMIN to wait), or, for delayed jobs, poll
 * ZRANGE jobs -inf <now> BYSCORE LIMIT 0 10 and ZREM what they claim (the
 * ZREM's reply tells who won). The score index keeps them ordered, so
 * "next due" is a seek, not a scan. */
/* Pop up to count elements from the low (max=false) or high end of key.
 * Used by ZPOPMIN / ZPOPMAX and the blocking forms. Returns CHALK_OK
 * with *l filled (empty if the key is absent), or an error (replied when
 * it is WRONGTYPE: returns -1). */
static int zset_pop(client *c, const resp_arg *key, bool max, long long count, zlist *l)
{
    cp_meta m;
    if (cp_lookup(c, c->db, key, KS_ZSET, &m) < 0)
        return -1;
    zs_range r = {.by = ZR_RANK, .rev = max, .start = 0, .stop = count - 1, .limit = -1};
    chalk_batch *b = ks_batch();
    int rc = b ? zs_walk(&m, &r, collect_visit, l) : CHALK_ENOMEM;
    if (rc == CHALK_OK)
        rc = remove_items(b, &m, l);
    if (rc == CHALK_OK && l->n)
        rc = server_write(c, b);
    if (rc != CHALK_OK) {
        reply_engine_error(c, rc);
        return -1;
    }
    if (l->n)
        cp_notify(NOTIFY_ZSET, max ? "zpopmax" : "zpopmin", &m);
    return CHALK_OK;
}

static void reply_pairs(client *c, const zlist *l, bool nested)
{
    reply_array(c, nested && c->resp >= 3 ? l->n : 2 * l->n);
    for (long i = 0; i < l->n; i++) {
        if (nested && c->resp >= 3)
            reply_array(c, 2);
        reply_bulk(c, l->v[i].mem, l->v[i].len);
        cp_reply_score(c, l->v[i].score);
    }
}

static void pop_generic(client *c, bool max)
{
    long long count = 1;
    if (c->argc > 3) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    if (c->argc == 3 && !arg_ll_range(c, &c->argv[2], 0, LLONG_MAX,
                                      "value is out of range, must be positive", &count))
        return;
    zlist l = {0};
    if (count == 0) {
        cp_meta m;
        if (cp_lookup(c, c->db, &c->argv[1], KS_ZSET, &m) >= 0)
            reply_array(c, 0);
        return;
    }
    if (zset_pop(c, &c->argv[1], max, count, &l) == CHALK_OK)
        reply_pairs(c, &l, c->argc == 3);
    zlist_free(&l);
}

static void zpopmin_command(client *c) { pop_generic(c, false); }
static void zpopmax_command(client *c) { pop_generic(c, true); }

/* BZPOPMIN / BZPOPMAX: the first non-empty key, else wait (blocking.c). */
static void bzpop_generic(client *c, bool max)
{
    long long ms;
    cp_meta m;
    int ready = blocking_first_ready(c, KS_ZSET, &m, &ms);
    if (ready < 0)
        return;
    if (ready == 0) {
        if (!blocking_wait(c, ms))
            reply_null_array(c);
        return;
    }
    blocking_done(c);
    zlist l = {0};
    if (zset_pop(c, &c->argv[ready], max, 1, &l) == CHALK_OK && l.n == 1) {
        reply_array(c, 3);
        reply_bulk(c, m.key, m.klen);
        reply_bulk(c, l.v[0].mem, l.v[0].len);
        cp_reply_score(c, l.v[0].score);
    }
    zlist_free(&l);
}

static void bzpopmin_command(client *c) { bzpop_generic(c, false); }
static void bzpopmax_command(client *c) { bzpop_generic(c, true); }

static void zrandmember_command(client *c)
{
    cp_randmember_command(c, KS_ZSET, CP_ZMEMBER, "withscores", CP_SCAN_SCORES);
}

static void zscan_command(client *c)
{
    cp_scan_command(c, KS_ZSET, CP_ZMEMBER, CP_SCAN_SCORES);
}

/* ---- ZUNIONSTORE / ZINTERSTORE ------------------------------------------------------
 * Every source (a sorted set, or a plain set whose members score 1) is
 * read whole, weighted, and the lot sorted by member: equal members are
 * then adjacent and aggregated in one pass. O(N log N) in the total
 * number of elements (Redis: O(N) + O(M log M) with hash tables).
 *
 * The arithmetic is Redis's, edge cases included: the sources are visited
 * smallest first (Redis sorts them by cardinality, ties in argument order),
 * so a SUM of inf, inf and -inf is 0 or inf as in Redis; a NaN product
 * (weight 0 times an infinite score) counts as 0 in a union, but in an
 * intersection only for the first source visited — a later one makes the
 * SUM NaN, hence 0, and leaves MIN / MAX unchanged (agg). */

enum { AGG_SUM, AGG_MIN, AGG_MAX };

typedef struct src_item {
    zitem it;
    int src;                  /* its source's place in the visiting order (source_ranks) */
} src_item;

/* Redis's zunionInterAggregate, to the letter: a SUM that is NaN (inf +
 * -inf) is 0; MIN and MAX keep the total when the new value is NaN (a
 * later input's 0 * inf in ZINTERSTORE, see setop_compute). */
static double agg(int how, double total, double v)
{
    if (how == AGG_SUM)
        return isnan(total + v) ? 0 : total + v;
    if (how == AGG_MIN)
        return v < total ? v : total;
    return v > total ? v : total;
}

/* Read one source (zset 'm' records or set 's' records) into l. */
static int read_source(const cp_meta *m, zlist *l)
{
    if (!m->exists)
        return CHALK_OK;
    bool z = m->type == KS_ZSET;
    cp_iter ci;
    int rc = cp_iter_open(&ci, m->db, z ? CP_ZMEMBER : CP_SET, m->key, m->klen, NULL, 0);
    for (; rc == CHALK_OK && cp_iter_valid(&ci); cp_iter_next(&ci)) {
        double score = 1;
        if (z) {
            chalk_value v;
            rc = cp_iter_value(&ci, &v);
            if (rc != CHALK_OK)
                break;
            score = v.len == SCORE_BYTES ? score_decode(v.data) : 0;
            chalk_value_free(&v);
        }
        if (!collect_visit(l, ci.suffix, ci.slen, score))
            rc = CHALK_ENOMEM;
    }
    if (ci.it)
        cp_iter_close(&ci);
    return rc;
}

static int cmp_src_item(const void *a, const void *b)
{
    const src_item *x = a, *y = b;
    size_t n = x->it.len < y->it.len ? x->it.len : y->it.len;
    int d = memcmp(x->it.mem, y->it.mem, n);
    if (!d)
        d = (x->it.len > y->it.len) - (x->it.len < y->it.len);
    return d ? d : x->src - y->src;
}

/* rank[i]: the place of source i in Redis's visiting order, smallest
 * cardinality first, ties in argument order. 0 or CHALK_ENOMEM. */
typedef struct source_size {
    uint64_t count;
    int idx;
} source_size;

static int cmp_source_size(const void *a, const void *b)
{
    const source_size *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? -1 : 1;
    return x->idx - y->idx;
}

static int source_ranks(const cp_meta *metas, int n, int *rank)
{
    source_size *order = malloc((size_t)n * sizeof *order);
    if (!order)
        return CHALK_ENOMEM;
    for (int i = 0; i < n; i++)
        order[i] = (source_size){metas[i].exists ? metas[i].count : 0, i};
    qsort(order, (size_t)n, sizeof *order, cmp_source_size);
    for (int r = 0; r < n; r++)
        rank[order[r].idx] = r;
    free(order);
    return CHALK_OK;
}

struct setop {
    int nkeys;
    double *weights;
    int how;
    bool inter;
};

/* Parse numkeys, the keys' types (checked first, as Redis does), WEIGHTS
 * and AGGREGATE. 0 or -1 replied. */
static int setop_parse(client *c, struct setop *op, cp_meta **metas)
{
    long long n;
    if (!arg_ll(c, &c->argv[2], &n))
        return -1;
    if (n < 1) {
        reply_errorf(c, "at least 1 input key is needed for '%s' command",
                     op->inter ? "zinterstore" : "zunionstore");
        return -1;
    }
    if (n > c->argc - 3) {
        reply_error(c, ERR_SYNTAX);
        return -1;
    }
    op->nkeys = (int)n;
    op->weights = malloc((size_t)n * sizeof *op->weights);
    *metas = calloc((size_t)n, sizeof **metas);
    if (!op->weights || !*metas) {
        reply_engine_error(c, CHALK_ENOMEM);
        return -1;
    }
    for (int i = 0; i < n; i++)
        op->weights[i] = 1;
    for (int i = 0; i < n; i++) {
        const resp_arg *k = &c->argv[3 + i];
        int rc = cp_lookup_quiet(c->db, k->ptr, k->len, KS_ZSET, &(*metas)[i]);
        if (rc == CP_WRONGTYPE)
            rc = cp_lookup_quiet(c->db, k->ptr, k->len, KS_SET, &(*metas)[i]);
        if (rc < 0) {
            if (rc == CP_WRONGTYPE)
                reply_error(c, ERR_WRONGTYPE);
            else
                reply_engine_error(c, rc);
            return -1;
        }
    }
    for (int i = 3 + (int)n; i < c->argc; i++) {
        if (arg_is(&c->argv[i], "weights") && i + n < c->argc) {
            for (int k = 0; k < n; k++)
                if (!zs_parse_double(c->argv[i + 1 + k].ptr, c->argv[i + 1 + k].len, &op->weights[k])) {
                    reply_error(c, "weight value is not a float");
                    return -1;
                }
            i += (int)n;
        } else if (arg_is(&c->argv[i], "aggregate") && i + 1 < c->argc) {
            const resp_arg *a = &c->argv[++i];
            op->how = arg_is(a, "sum") ? AGG_SUM : arg_is(a, "min") ? AGG_MIN : arg_is(a, "max") ? AGG_MAX : -1;
            if (op->how < 0) {
                reply_error(c, ERR_SYNTAX);
                return -1;
            }
        } else {
            reply_error(c, ERR_SYNTAX);
            return -1;
        }
    }
    return 0;
}

/* Merge the sources into out. CHALK_OK or an error. */
static int setop_compute(const struct setop *op, const cp_meta *metas, zlist *out)
{
    src_item *all = NULL;
    long total = 0;
    int *rank = malloc((size_t)op->nkeys * sizeof *rank);
    int rc = rank ? source_ranks(metas, op->nkeys, rank) : CHALK_ENOMEM;
    for (int i = 0; rc == CHALK_OK && i < op->nkeys; i++) {
        zlist l = {0};
        rc = read_source(&metas[i], &l);
        src_item *grown = rc == CHALK_OK ? realloc(all, (size_t)(total + l.n + 1) * sizeof *all) : NULL;
        if (rc == CHALK_OK && !grown)
            rc = CHALK_ENOMEM;
        for (long k = 0; rc == CHALK_OK && k < l.n; k++) {
            double s = l.v[k].score * op->weights[i];
            if (isnan(s) && (!op->inter || rank[i] == 0))
                s = 0;
            grown[total++] = (src_item){{l.v[k].mem, l.v[k].len, s}, rank[i]};
            l.v[k].mem = NULL;
        }
        if (grown)
            all = grown;
        zlist_free(&l);
    }
    if (rc == CHALK_OK)
        qsort(all, (size_t)total, sizeof *all, cmp_src_item);
    for (long i = 0; rc == CHALK_OK && i < total;) {
        long j = i + 1;
        double s = all[i].it.score;
        for (; j < total && all[j].it.len == all[i].it.len &&
               !memcmp(all[j].it.mem, all[i].it.mem, all[i].it.len); j++)
            s = agg(op->how, s, all[j].it.score);
        if ((!op->inter || j - i == op->nkeys) && !collect_visit(out, all[i].it.mem, all[i].it.len, s))
            rc = CHALK_ENOMEM;
        i = j;
    }
    for (long i = 0; i < total; i++)
        free(all[i].it.mem);
    free(all);
    free(rank);
    return rc;
}

static void setop_command(client *c, bool inter)
{
    struct setop op = {.inter = inter};
    cp_meta *metas = NULL;
    zlist out = {0};
    if (setop_parse(c, &op, &metas) == 0) {
        chalk_batch *b = ks_batch();
        int rc = b ? setop_compute(&op, metas, &out) : CHALK_ENOMEM;
        if (rc == CHALK_OK)
            rc = store_zset(b, c->db, &c->argv[1], &out, op.inter ? "zinterstore" : "zunionstore");
        if (rc != CHALK_OK)
            reply_engine_error(c, rc);
        else if (cp_commit(c, b))
            reply_long(c, out.n);
    }
    zlist_free(&out);
    free(op.weights);
    free(metas);
}

static void zunionstore_command(client *c) { setop_command(c, false); }
static void zinterstore_command(client *c) { setop_command(c, true); }

/* Arguments, for COMMAND DOCS (redis-cli's hints). */
static const command_arg z_cond[] = {
    {"nx", ARG_PURE_TOKEN, "NX", 0, NULL},
    {"xx", ARG_PURE_TOKEN, "XX", 0, NULL},
    {0}};
static const command_arg z_cmp[] = {
    {"gt", ARG_PURE_TOKEN, "GT", 0, NULL},
    {"lt", ARG_PURE_TOKEN, "LT", 0, NULL},
    {0}};
static const command_arg z_pair[] = {
    {"score", ARG_DOUBLE, NULL, 0, NULL},
    {"member", ARG_STRING, NULL, 0, NULL},
    {0}};
static const command_arg zadd_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"condition", ARG_ONEOF, NULL, ARGF_OPTIONAL, z_cond},
    {"comparison", ARG_ONEOF, NULL, ARGF_OPTIONAL, z_cmp},
    {"change", ARG_PURE_TOKEN, "CH", ARGF_OPTIONAL, NULL},
    {"increment", ARG_PURE_TOKEN, "INCR", ARGF_OPTIONAL, NULL},
    {"data", ARG_BLOCK, NULL, ARGF_MULTIPLE, z_pair},
    {0}};
static const command_arg zincrby_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"increment", ARG_INTEGER, NULL, 0, NULL},
    {"member", ARG_STRING, NULL, 0, NULL},
    {0}};
static const command_arg score_range_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"min", ARG_DOUBLE, NULL, 0, NULL},
    {"max", ARG_DOUBLE, NULL, 0, NULL},
    {0}};
static const command_arg lex_range_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"min", ARG_STRING, NULL, 0, NULL},
    {"max", ARG_STRING, NULL, 0, NULL},
    {0}};
static const command_arg rank_range_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"start", ARG_INTEGER, NULL, 0, NULL},
    {"stop", ARG_INTEGER, NULL, 0, NULL},
    {0}};
static const command_arg zrank_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"member", ARG_STRING, NULL, 0, NULL},
    {"withscore", ARG_PURE_TOKEN, "WITHSCORE", ARGF_OPTIONAL, NULL},
    {0}};
static const command_arg z_limit[] = {
    {"offset", ARG_INTEGER, NULL, 0, NULL},
    {"count", ARG_INTEGER, NULL, 0, NULL},
    {0}};
static const command_arg z_sortby[] = {
    {"byscore", ARG_PURE_TOKEN, "BYSCORE", 0, NULL},
    {"bylex", ARG_PURE_TOKEN, "BYLEX", 0, NULL},
    {0}};
static const command_arg zrange_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"start", ARG_STRING, NULL, 0, NULL},
    {"stop", ARG_STRING, NULL, 0, NULL},
    {"sortby", ARG_ONEOF, NULL, ARGF_OPTIONAL, z_sortby},
    {"rev", ARG_PURE_TOKEN, "REV", ARGF_OPTIONAL, NULL},
    {"limit", ARG_BLOCK, "LIMIT", ARGF_OPTIONAL, z_limit},
    {"withscores", ARG_PURE_TOKEN, "WITHSCORES", ARGF_OPTIONAL, NULL},
    {0}};
static const command_arg zrangestore_args[] = {
    {"dst", ARG_KEY, NULL, 0, NULL},
    {"src", ARG_KEY, NULL, 0, NULL},
    {"min", ARG_STRING, NULL, 0, NULL},
    {"max", ARG_STRING, NULL, 0, NULL},
    {"sortby", ARG_ONEOF, NULL, ARGF_OPTIONAL, z_sortby},
    {"rev", ARG_PURE_TOKEN, "REV", ARGF_OPTIONAL, NULL},
    {"limit", ARG_BLOCK, "LIMIT", ARGF_OPTIONAL, z_limit},
    {0}};
static const command_arg zrangebyscore_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"min", ARG_DOUBLE, NULL, 0, NULL},
    {"max", ARG_DOUBLE, NULL, 0, NULL},
    {"withscores", ARG_PURE_TOKEN, "WITHSCORES", ARGF_OPTIONAL, NULL},
    {"limit", ARG_BLOCK, "LIMIT", ARGF_OPTIONAL, z_limit},
    {0}};
static const command_arg zrevrangebyscore_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"max", ARG_DOUBLE, NULL, 0, NULL},
    {"min", ARG_DOUBLE, NULL, 0, NULL},
    {"withscores", ARG_PURE_TOKEN, "WITHSCORES", ARGF_OPTIONAL, NULL},
    {"limit", ARG_BLOCK, "LIMIT", ARGF_OPTIONAL, z_limit},
    {0}};
static const command_arg zrangebylex_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"min", ARG_STRING, NULL, 0, NULL},
    {"max", ARG_STRING, NULL, 0, NULL},
    {"limit", ARG_BLOCK, "LIMIT", ARGF_OPTIONAL, z_limit},
    {0}};
static const command_arg zrevrangebylex_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"max", ARG_STRING, NULL, 0, NULL},
    {"min", ARG_STRING, NULL, 0, NULL},
    {"limit", ARG_BLOCK, "LIMIT", ARGF_OPTIONAL, z_limit},
    {0}};
static const command_arg zrevrange_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"start", ARG_INTEGER, NULL, 0, NULL},
    {"stop", ARG_INTEGER, NULL, 0, NULL},
    {"withscores", ARG_PURE_TOKEN, "WITHSCORES", ARGF_OPTIONAL, NULL},
    {0}};
static const command_arg bzpop_args[] = {
    {"key", ARG_KEY, NULL, ARGF_MULTIPLE, NULL},
    {"timeout", ARG_DOUBLE, NULL, 0, NULL},
    {0}};
static const command_arg zrand_opts[] = {
    {"count", ARG_INTEGER, NULL, 0, NULL},
    {"withscores", ARG_PURE_TOKEN, "WITHSCORES", ARGF_OPTIONAL, NULL},
    {0}};
static const command_arg zrandmember_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"options", ARG_BLOCK, NULL, ARGF_OPTIONAL, zrand_opts},
    {0}};
static const command_arg scan_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"cursor", ARG_INTEGER, NULL, 0, NULL},
    {"pattern", ARG_PATTERN, "MATCH", ARGF_OPTIONAL, NULL},
    {"count", ARG_INTEGER, "COUNT", ARGF_OPTIONAL, NULL},
    {0}};
static const command_arg z_agg[] = {
    {"sum", ARG_PURE_TOKEN, "SUM", 0, NULL},
    {"min", ARG_PURE_TOKEN, "MIN", 0, NULL},
    {"max", ARG_PURE_TOKEN, "MAX", 0, NULL},
    {0}};
static const command_arg zstore_args[] = {
    {"destination", ARG_KEY, NULL, 0, NULL},
    {"numkeys", ARG_INTEGER, NULL, 0, NULL},
    {"key", ARG_KEY, NULL, ARGF_MULTIPLE, NULL},
    {"weight", ARG_INTEGER, "WEIGHTS", ARGF_OPTIONAL | ARGF_MULTIPLE, NULL},
    {"aggregate", ARG_ONEOF, "AGGREGATE", ARGF_OPTIONAL, z_agg},
    {0}};

#define Z_ROW(name, proc, arity, flags, first, last, since, cx, summary, args)              \
    {name, proc, arity, flags, first, last, 1, "sorted-set", since, cx, summary, args, NULL}

const command_def cmd_zset_table[] = {
    Z_ROW("zadd", zadd_command, -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, "1.2.0",
          "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
          "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", zadd_args),
    Z_ROW("zincrby", zincrby_command, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, "1.2.0",
          "O(log(N)) where N is the number of elements in the sorted set.",
          "Increments the score of a member in a sorted set.", zincrby_args),
    Z_ROW("zrem", zrem_command, -3, CMD_WRITE | CMD_FAST, 1, 1, "1.2.0",
          "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.",
          "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", args_key_members),
    Z_ROW("zscore", zscore_command, 3, CMD_READONLY | CMD_FAST, 1, 1, "1.2.0", "O(1)",
          "Returns the score of a member in a sorted set.", args_key_member),
    Z_ROW("zmscore", zmscore_command, -3, CMD_READONLY | CMD_FAST, 1, 1, "6.2.0",
          "O(N) where N is the number of members being requested.",
          "Returns the score of one or more members in a sorted set.", args_key_members),
    Z_ROW("zcard", zcard_command, 2, CMD_READONLY | CMD_FAST, 1, 1, "1.2.0", "O(1)",
          "Returns the number of members in a sorted set.", args_key),
    Z_ROW("zcount", zcount_command, 4, CMD_READONLY, 1, 1, "2.0.0",
          "O(log(N)) with N being the number of elements in the sorted set (two ranks in the order-statistics index).",
          "Returns the count of members in a sorted set that have scores within a range.", score_range_args),
    Z_ROW("zlexcount", zlexcount_command, 4, CMD_READONLY, 1, 1, "2.8.9",
          "O(log(N)) with N being the number of elements in the sorted set (members of differing scores, unspecified in Redis: O(log(N)+M) with M counted).",
          "Returns the number of members in a sorted set within a lexicographical range.", lex_range_args),
    Z_ROW("zrank", zrank_command, -3, CMD_READONLY | CMD_FAST, 1, 1, "2.0.0",
          "O(log(N))",
          "Returns the index of a member in a sorted set ordered by ascending scores.", zrank_args),
    Z_ROW("zrevrank", zrevrank_command, -3, CMD_READONLY | CMD_FAST, 1, 1, "2.0.0",
          "O(log(N))",
          "Returns the index of a member in a sorted set ordered by descending scores.", zrank_args),
    Z_ROW("zrange", zrange_command, -4, CMD_READONLY, 1, 1, "1.2.0",
          "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned (BYLEX over differing scores: reverse walks add O(64 log N) per distinct score).",
          "Returns members in a sorted set within a range of indexes.", zrange_args),
    Z_ROW("zrangestore", zrangestore_command, -5, CMD_WRITE | CMD_DENYOOM, 1, 2, "6.2.0",
          "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key (M writes).",
          "Stores a range of members from sorted set in a key.", zrangestore_args),
    Z_ROW("zrangebyscore", zrangebyscore_command, -4, CMD_READONLY, 1, 1, "1.0.5",
          "O(log(N)+M) with N the number of elements in the sorted set and M the number of elements being returned.",
          "Returns members in a sorted set within a range of scores.", zrangebyscore_args),
    Z_ROW("zrevrangebyscore", zrevrangebyscore_command, -4, CMD_READONLY, 1, 1, "2.2.0",
          "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned.",
          "Returns members in a sorted set within a range of scores in reverse order.", zrevrangebyscore_args),
    Z_ROW("zrangebylex", zrangebylex_command, -4, CMD_READONLY, 1, 1, "2.8.9",
          "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned (members of differing scores: O(log(N)+offset+M)).",
          "Returns members in a sorted set within a lexicographical range.", zrangebylex_args),
    Z_ROW("zrevrangebylex", zrevrangebylex_command, -4, CMD_READONLY, 1, 1, "2.8.9",
          "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned (members of differing scores: O(64 log(N)) per distinct score walked).",
          "Returns members in a sorted set within a lexicographical range in reverse order.", zrevrangebylex_args),
    Z_ROW("zrevrange", zrevrange_command, -4, CMD_READONLY, 1, 1, "1.2.0",
          "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.",
          "Returns members in a sorted set within a range of indexes in reverse order.", zrevrange_args),
    Z_ROW("zremrangebyscore", zremrangebyscore_command, 4, CMD_WRITE, 1, 1, "1.2.0",
          "O(log(N)+M) with N the number of elements in the sorted set and M the number of elements removed by the operation.",
          "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", score_range_args),
    Z_ROW("zremrangebyrank", zremrangebyrank_command, 4, CMD_WRITE, 1, 1, "2.0.0",
          "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
          "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", rank_range_args),
    Z_ROW("zremrangebylex", zremrangebylex_command, 4, CMD_WRITE, 1, 1, "2.8.9",
          "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation (members of differing scores: O(log(N)+M) with M walked).",
          "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", lex_range_args),
    Z_ROW("zpopmin", zpopmin_command, -2, CMD_WRITE | CMD_FAST, 1, 1, "5.0.0",
          "O(log(N)*M) with N the number of elements in the sorted set, and M the number of elements popped.",
          "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", args_key_count),
    Z_ROW("zpopmax", zpopmax_command, -2, CMD_WRITE | CMD_FAST, 1, 1, "5.0.0",
          "O(log(N)*M) with N the number of elements in the sorted set, and M the number of elements popped.",
          "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", args_key_count),
    Z_ROW("zrandmember", zrandmember_command, -2, CMD_READONLY, 1, 1, "6.2.0",
          "O(count * log(N)): one seek by rank per pick; O(N) when count > N/16: one walk (Redis: O(count))",
          "Returns one or more random members from a sorted set.", zrandmember_args),
    Z_ROW("zscan", zscan_command, -3, CMD_READONLY, 1, 1, "2.8.0",
          "O(1) for every call. O(N) for a complete iteration.",
          "Iterates over members and scores of a sorted set.", scan_args),
    Z_ROW("zunionstore", zunionstore_command, -4, CMD_WRITE | CMD_DENYOOM, 1, 1, "2.0.0",
          "O(N log(N)) with N the total number of elements in the input sets",
          "Stores the union of multiple sorted sets in a key.", zstore_args),
    Z_ROW("zinterstore", zinterstore_command, -4, CMD_WRITE | CMD_DENYOOM, 1, 1, "2.0.0",
          "O(N log(N)) with N the total number of elements in the input sets",
          "Stores the intersect of multiple sorted sets in a key.", zstore_args),
    Z_ROW("bzpopmin", bzpopmin_command, -3, CMD_WRITE | CMD_FAST | CMD_BLOCKING, 1, -2, "5.0.0",
          "O(log(N)) with N being the number of elements in the sorted set.",
          "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", bzpop_args),
    Z_ROW("bzpopmax", bzpopmax_command, -3, CMD_WRITE | CMD_FAST | CMD_BLOCKING, 1, -2, "5.0.0",
          "O(log(N)) with N being the number of elements in the sorted set.",
          "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", bzpop_args),
    {0},
};

/* The look-ahead hints (commands.h command_prefetch), set by commands_init. */
const command_prefetch_hook cmd_zset_prefetch_hooks[] = {
    {"zadd", zadd_prefetch},
    {"zincrby", zadd_prefetch},
    {"zscore", zscore_prefetch},
    {0},
};
