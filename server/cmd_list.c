/*
 * cmd_list.c — the list commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN
 * LRANGE LINDEX LSET LREM LTRIM LINSERT LPOS LMOVE RPOPLPUSH, and the
 * blocking BLPOP BRPOP BLMOVE BRPOPLPUSH (waiting: blocking.c).
 *
 * The one idea: a list is an array laid out in the ordered index. Item i
 * lives at position head + i, [db]['l'][klen][key][pos_encode(head + i)]
 * (composite.h), and the main record keeps head and tail (one past the
 * last). So:
 *   - LPUSH writes position head - 1, RPUSH position tail: O(1), nothing
 *     moves; positions are signed 64-bit, so 2^63 pushes on one side fit.
 *   - LINDEX / LSET are one point lookup / one put: O(1) (Redis: O(N)).
 *   - LRANGE is a seek and a walk: O(S + N) becomes O(log n + N).
 *   - LINSERT and LREM shift the items after the change by rewriting them:
 *     O(N), as in Redis (whose quicklist also moves memory).
 *
 * Left out on purpose: lists with holes (which would make LINSERT O(1)
 * and LINDEX O(N)). The invariant "items sit at every position of
 * [head, tail)" keeps index arithmetic trivial; the e2e tests check it by
 * reading lists back both by index (point lookups) and by range (walks).
 *
 * Interview topics: queue.async (lmove_generic).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "blocking.h"
#include "commands.h"
#include "composite.h"
#include "keyops.h"
#include "notify.h"
#include "score.h"
#include "util.h"

/* ---- positions ------------------------------------------------------------ */

static int item_get(const cp_meta *m, int64_t pos, chalk_value *out)
{
    unsigned char p[8];
    pos_encode(pos, p);
    return cp_get(m->db, CP_LIST, m->key, m->klen, p, 8, out);
}

static int item_put(chalk_batch *b, const cp_meta *m, int64_t pos, const void *v, size_t len)
{
    unsigned char p[8];
    pos_encode(pos, p);
    return cp_put(b, m->db, CP_LIST, m->key, m->klen, p, 8, NULL, 0, v, len);
}

static int item_del(chalk_batch *b, const cp_meta *m, int64_t pos)
{
    unsigned char p[8];
    pos_encode(pos, p);
    return cp_del(b, m->db, CP_LIST, m->key, m->klen, p, 8, NULL, 0);
}

/* Redis's index rule: negative counts from the end. false if outside. */
static bool list_index(const cp_meta *m, long long idx, int64_t *pos)
{
    long long n = (long long)m->count;
    if (idx < 0)
        idx += n;
    if (idx < 0 || idx >= n)
        return false;
    *pos = m->head + idx;
    return true;
}

/* Push one element on side `left` of m in b. The new position is outside
 * [head, tail), where no item of the list exists (every list change keeps
 * its items exactly there, and a new list's leftovers are deleted earlier
 * in the same batch by cp_begin; LMOVE on one list pops, i.e. deletes,
 * before it pushes), so the put is chalk_batch_put_absent: the engine
 * links the item without searching the hash index for it. */
static int list_push_one(chalk_batch *b, cp_meta *m, bool left, const void *v, size_t len)
{
    int64_t pos = left ? --m->head : m->tail++;
    m->count++;
    unsigned char p[8];
    pos_encode(pos, p);
    cp_key k;
    int rc = cp_key_prepare(&k, m->db, CP_LIST, m->key, m->klen, p, 8);
    if (rc == CHALK_OK)
        rc = chalk_batch_put_absent(b, &k.ck, v, len, 0);
    cp_key_free(&k);
    return rc;
}

static int item_prepare(cp_key *k, const cp_meta *m, int64_t pos)
{
    unsigned char p[8];
    pos_encode(pos, p);
    return cp_key_prepare(k, m->db, CP_LIST, m->key, m->klen, p, 8);
}

/* A pipeline of pops on one list reads the items one after another, each
 * lookup two dependent cache misses (its hash-index bucket, then its
 * entry). So each pop also hashes the keys of the next two items
 * (prefetch_ahead: the item's key with the position rewritten): the one
 * after next has its bucket fetched (chalk_key_prepare), the next one,
 * whose bucket the previous pop fetched, has its entry fetched
 * (chalk_key_prefetch_entry); the next pop (or the next item of LPOP key
 * count) then finds its bucket and entry in the cache. A hint only: two
 * more hashes per pop (~200 instructions), nothing read or changed. */
static void prefetch_ahead(const cp_key *k, int64_t pos, int64_t step, uint64_t count)
{
    char key[sizeof k->buf.small];
    size_t len = k->buf.len;             /* [prefix][pos_encode(pos)]: the position last */
    if (len > sizeof key)
        return;                          /* a long list name: no hint */
    memcpy(key, k->buf.p, len);
    for (uint64_t i = 1; i <= 2 && i < count; i++) {
        pos_encode(pos + (int64_t)i * step, (unsigned char *)key + len - 8);
        chalk_key ck;
        chalk_key_prepare(server.db, &ck, key, len);
        if (i == 1)
            chalk_key_prefetch_entry(server.db, &ck);
    }
}

/* Pop one element from side `left` of the non-empty list m into *out
 * (caller frees), adding its delete to b. The item's key is built and
 * hashed once for its read and its delete. */
static int list_pop_one(chalk_batch *b, cp_meta *m, bool left, chalk_value *out)
{
    int64_t pos = left ? m->head : m->tail - 1;
    cp_key k;
    int rc = item_prepare(&k, m, pos);
    if (rc != CHALK_OK)
        return rc;
    prefetch_ahead(&k, pos, left ? 1 : -1, m->count);
    rc = cp_key_get(&k, out);
    if (rc == CHALK_OK)
        rc = cp_key_del(b, &k);
    if (rc == CHALK_OK) {
        if (left)
            m->head++;
        else
            m->tail--;
        m->count--;
    }
    cp_key_free(&k);
    return rc;
}

/* ---- push ----------------------------------------------------------------- */

static void push_generic(client *c, bool left, bool only_existing)
{
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], KS_LIST, &m) < 0)
        return;
    if (only_existing && !m.exists) {
        reply_long(c, 0);
        return;
    }
    chalk_batch *b = ks_batch();
    int rc = b ? cp_begin(b, &m) : CHALK_ENOMEM;
    for (int i = 2; rc == CHALK_OK && i < c->argc; i++)
        rc = list_push_one(b, &m, left, c->argv[i].ptr, c->argv[i].len);
    if (rc == CHALK_OK)
        rc = cp_meta_store(b, &m);
    if (rc != CHALK_OK) {
        reply_engine_error(c, rc);
        return;
    }
    if (!cp_commit(c, b))
        return;
    cp_notify(NOTIFY_LIST, left ? "lpush" : "rpush", &m);
    reply_long(c, (long long)m.count);
    blocking_key_ready(m.db, m.key, m.klen);
}

static void lpush_command(client *c) { push_generic(c, true, false); }
static void rpush_command(client *c) { push_generic(c, false, false); }
static void lpushx_command(client *c) { push_generic(c, true, true); }
static void rpushx_command(client *c) { push_generic(c, false, true); }

/* ---- pop ------------------------------------------------------------------ */

static void pop_generic(client *c, bool left)
{
    long long count = 1;
    bool with_count = c->argc == 3;
    if (c->argc > 3) {
        reply_errorf(c, "wrong number of arguments for '%s' command", left ? "lpop" : "rpop");
        return;
    }
    if (with_count && !arg_ll_range(c, &c->argv[2], 0, LLONG_MAX,
                                    "value is out of range, must be positive", &count))
        return;
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], KS_LIST, &m) < 0)
        return;
    if (!m.exists) {
        if (with_count)
            reply_null_array(c);
        else
            reply_null(c);
        return;
    }
    long long n = count < (long long)m.count ? count : (long long)m.count;
    chalk_value one = {0};                /* LPOP key (no count): no malloc */
    chalk_value *vals = n <= 1 ? &one : calloc((size_t)n, sizeof *vals);
    chalk_batch *b = ks_batch();
    int rc = vals && b ? CHALK_OK : CHALK_ENOMEM;
    long long got = 0;
    for (; rc == CHALK_OK && got < n; got++)
        rc = list_pop_one(b, &m, left, &vals[got]);
    if (rc == CHALK_OK)
        rc = cp_meta_store(b, &m);
    if (rc != CHALK_OK)
        reply_engine_error(c, rc);
    else if (cp_commit(c, b)) {
        if (got)
            cp_notify(NOTIFY_LIST, left ? "lpop" : "rpop", &m);
        if (with_count)
            reply_array(c, (long)got);
        for (long long i = 0; i < got; i++)
            reply_bulk(c, vals[i].data, vals[i].len);
    }
    for (long long i = 0; vals && i < got; i++)
        chalk_value_free(&vals[i]);
    if (vals != &one)
        free(vals);
}

static void lpop_command(client *c) { pop_generic(c, true); }
static void rpop_command(client *c) { pop_generic(c, false); }

/* ---- read ----------------------------------------------------------------- */

static void llen_command(client *c) { cp_card_command(c, KS_LIST); }

static void lrange_command(client *c)
{
    long long start, stop;
    if (!arg_ll(c, &c->argv[2], &start) || !arg_ll(c, &c->argv[3], &stop))
        return;
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], KS_LIST, &m) < 0)
        return;
    if (!rank_range((long long)m.count, &start, &stop)) {   /* util.c */
        reply_array(c, 0);
        return;
    }
    long long want = stop - start + 1, n = 0;
    reply_array(c, (long)want);
    unsigned char from[8];
    pos_encode(m.head + start, from);
    cp_iter ci;
    if (cp_iter_open(&ci, m.db, CP_LIST, m.key, m.klen, from, 8) == CHALK_OK) {
        for (; n < want && cp_iter_valid(&ci); cp_iter_next(&ci), n++)
            cp_reply_value(c, &ci, CP_SCAN_VALUES);
        cp_iter_close(&ci);
    }
    for (; n < want; n++)
        reply_null(c);            /* never: the invariant says no holes */
}

/* LINDEX and LSET look the key up before parsing the index (Redis's
 * order: a missing key answers null / "no such key" whatever the index). */
static void lindex_command(client *c)
{
    long long idx;
    cp_meta m;
    int found = cp_lookup(c, c->db, &c->argv[1], KS_LIST, &m);
    if (found <= 0) {
        if (found == 0)
            reply_null(c);
        return;
    }
    if (!arg_ll(c, &c->argv[2], &idx))
        return;
    int64_t pos;
    chalk_value v;
    if (list_index(&m, idx, &pos) && item_get(&m, pos, &v) == CHALK_OK) {
        reply_bulk(c, v.data, v.len);
        chalk_value_free(&v);
    } else {
        reply_null(c);
    }
}

static void lset_command(client *c)
{
    long long idx;
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], KS_LIST, &m) < 0)
        return;
    if (!m.exists) {
        reply_error(c, ERR_NOKEY);
        return;
    }
    int64_t pos;
    if (!arg_ll(c, &c->argv[2], &idx))
        return;
    if (!list_index(&m, idx, &pos)) {
        reply_error(c, ERR_OOR);
        return;
    }
    chalk_batch *b = ks_batch();
    int rc = b ? item_put(b, &m, pos, c->argv[3].ptr, c->argv[3].len) : CHALK_ENOMEM;
    if (rc != CHALK_OK)
        reply_engine_error(c, rc);
    else if (cp_commit(c, b)) {
        cp_notify(NOTIFY_LIST, "lset", &m);
        reply_ok(c);
    }
}

static void ltrim_command(client *c)
{
    long long start, stop;
    if (!arg_ll(c, &c->argv[2], &start) || !arg_ll(c, &c->argv[3], &stop))
        return;
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], KS_LIST, &m) < 0)
        return;
    if (!m.exists) {
        reply_ok(c);
        return;
    }
    long long n = (long long)m.count;
    if (!rank_range(n, &start, &stop))
        start = n, stop = n - 1;  /* keep nothing */
    chalk_batch *b = ks_batch();
    int rc = b ? CHALK_OK : CHALK_ENOMEM;
    for (int64_t p = m.head; rc == CHALK_OK && p < m.head + start; p++)
        rc = item_del(b, &m, p);
    for (int64_t p = m.head + stop + 1; rc == CHALK_OK && p < m.tail; p++)
        rc = item_del(b, &m, p);
    int64_t h = m.head;
    m.head = h + start;
    m.tail = h + stop + 1;
    m.count = (uint64_t)(stop - start + 1);
    m.loaded = false;             /* rewrite even when nothing is trimmed: */
    if (rc == CHALK_OK)           /* Redis touches the key (WATCH) anyway */
        rc = cp_meta_store(b, &m);
    if (rc != CHALK_OK)
        reply_engine_error(c, rc);
    else if (cp_commit(c, b)) {
        cp_notify(NOTIFY_LIST, "ltrim", &m);
        reply_ok(c);
    }
}

/* ---- rewrite: LREM and LINSERT -------------------------------------------- */

/* Read the whole list, in order, into *out (n = m->count values). */
static int list_read_all(const cp_meta *m, chalk_value **out)
{
    chalk_value *vals = calloc((size_t)(m->count ? m->count : 1), sizeof *vals);
    if (!vals)
        return CHALK_ENOMEM;
    cp_iter ci;
    int rc = cp_iter_open(&ci, m->db, CP_LIST, m->key, m->klen, NULL, 0);
    uint64_t n = 0;
    for (; rc == CHALK_OK && n < m->count && cp_iter_valid(&ci); cp_iter_next(&ci), n++)
        rc = cp_iter_value(&ci, &vals[n]);
    if (ci.it)
        cp_iter_close(&ci);
    if (rc == CHALK_OK && n != m->count)
        rc = CHALK_ECORRUPT;
    if (rc != CHALK_OK) {
        for (uint64_t i = 0; i < n; i++)
            chalk_value_free(&vals[i]);
        free(vals);
        return rc;
    }
    *out = vals;
    return CHALK_OK;
}

/* The start of LREM and LINSERT: look up argv[1] as a list and read all of
 * its items (list_read_all; free them with free_vals). false when it
 * replied instead: WRONGTYPE, an engine error, or 0 for a missing key
 * (both commands answer 0 then). */
static bool load_items(client *c, cp_meta *m, chalk_value **vals)
{
    if (cp_lookup(c, c->db, &c->argv[1], KS_LIST, m) < 0)
        return false;
    if (!m->exists) {
        reply_long(c, 0);
        return false;
    }
    int rc = list_read_all(m, vals);
    if (rc != CHALK_OK) {
        reply_engine_error(c, rc);
        return false;
    }
    return true;
}

static void free_vals(chalk_value *vals, uint64_t n)
{
    for (uint64_t i = 0; vals && i < n; i++)
        chalk_value_free(&vals[i]);
    free(vals);
}

/* Lay out items vals[keep[k]] (k < nkeep) at positions head + from + k and
 * delete the positions after them up to the old tail. */
static int list_rewrite(chalk_batch *b, cp_meta *m, int64_t from, const chalk_value *vals,
                        const long *keep, long nkeep, const resp_arg *extra, long extra_at)
{
    int rc = CHALK_OK;
    int64_t pos = m->head + from;
    for (long k = 0; rc == CHALK_OK && k <= nkeep; k++) {
        if (k == extra_at && extra)
            rc = item_put(b, m, pos++, extra->ptr, extra->len);
        if (rc == CHALK_OK && k < nkeep)
            rc = item_put(b, m, pos++, vals[keep[k]].data, vals[keep[k]].len);
    }
    for (int64_t p = pos; rc == CHALK_OK && p < m->tail; p++)
        rc = item_del(b, m, p);
    m->tail = pos;
    m->count = (uint64_t)(m->tail - m->head);
    return rc;
}

static bool val_eq(const chalk_value *v, const resp_arg *a)
{
    return v->len == a->len && memcmp(v->data, a->ptr, a->len) == 0;
}

static void lrem_command(client *c)
{
    long long count;
    if (!arg_ll(c, &c->argv[2], &count))
        return;
    cp_meta m;
    chalk_value *vals;
    if (!load_items(c, &m, &vals))
        return;
    long n = (long)m.count, removed = 0, nkeep = 0, first = -1;
    bool *drop = calloc((size_t)n, sizeof *drop);
    long *keep = malloc((size_t)n * sizeof *keep);
    long long limit = count < 0 ? -count : count;
    for (long k = 0; drop && k < n && (!limit || removed < limit); k++) {
        long i = count < 0 ? n - 1 - k : k;
        if (val_eq(&vals[i], &c->argv[3]))
            drop[i] = true, removed++;
    }
    for (long i = 0; drop && keep && i < n; i++) {
        if (drop[i] && first < 0)
            first = i;
        if (!drop[i] && first >= 0)
            keep[nkeep++] = i;
    }
    chalk_batch *b = ks_batch();
    int rc = drop && keep && b ? CHALK_OK : CHALK_ENOMEM;
    if (rc == CHALK_OK && removed) {
        rc = list_rewrite(b, &m, first, vals, keep, nkeep, NULL, -1);
        if (rc == CHALK_OK)
            rc = cp_meta_store(b, &m);
    }
    cp_reply_changed(c, b, rc, removed, NOTIFY_LIST, "lrem", &m);
    free(drop);
    free(keep);
    free_vals(vals, (uint64_t)n);
}

static void linsert_command(client *c)
{
    bool before = arg_is(&c->argv[2], "before");
    if (!before && !arg_is(&c->argv[2], "after")) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    cp_meta m;
    chalk_value *vals;
    if (!load_items(c, &m, &vals))
        return;
    long n = (long)m.count, at = -1;
    for (long i = 0; i < n && at < 0; i++)
        if (val_eq(&vals[i], &c->argv[3]))
            at = before ? i : i + 1;
    if (at < 0) {
        free_vals(vals, (uint64_t)n);
        reply_long(c, -1);
        return;
    }
    long *keep = malloc((size_t)(n - at + 1) * sizeof *keep), nkeep = 0;
    for (long i = at; keep && i < n; i++)
        keep[nkeep++] = i;
    chalk_batch *b = ks_batch();
    int rc = keep && b ? CHALK_OK : CHALK_ENOMEM;
    m.tail++;                      /* one more item: rewrite runs to here */
    if (rc == CHALK_OK)
        rc = list_rewrite(b, &m, at, vals, keep, nkeep, &c->argv[4], 0);
    if (rc == CHALK_OK)
        rc = cp_meta_store(b, &m);
    if (rc != CHALK_OK)
        reply_engine_error(c, rc);
    else if (cp_commit(c, b)) {
        cp_notify(NOTIFY_LIST, "linsert", &m);
        reply_long(c, (long long)m.count);
    }
    free(keep);
    free_vals(vals, (uint64_t)n);
}

/* ---- LPOS ----------------------------------------------------------------- */

struct lpos_opts {
    long long rank, count, maxlen;
    bool with_count;
};

static bool lpos_parse(client *c, struct lpos_opts *o)
{
    *o = (struct lpos_opts){.rank = 1};
    for (int i = 3; i < c->argc; i += 2) {
        const resp_arg *opt = &c->argv[i];
        bool known = arg_is(opt, "rank") || arg_is(opt, "count") || arg_is(opt, "maxlen");
        if (!known || i + 1 >= c->argc) {
            reply_error(c, ERR_SYNTAX);   /* the name is checked before the value */
            return false;
        }
        long long v;
        const char *err = arg_is(opt, "count") ? "COUNT can't be negative"
                        : arg_is(opt, "maxlen") ? "MAXLEN can't be negative" : NULL;
        if (!arg_ll_range(c, &c->argv[i + 1], LLONG_MIN, LLONG_MAX, err, &v))
            return false;
        if (arg_is(opt, "rank")) {
            if (v == 0 || v == LLONG_MIN) {
                reply_error(c, "RANK can't be zero: use 1 to start from the first match, 2 from "
                               "the second ... or use negative to start from the end of the list");
                return false;
            }
            o->rank = v;
        } else if (arg_is(opt, "count") || arg_is(opt, "maxlen")) {
            bool cnt = arg_is(opt, "count");
            if (v < 0) {
                reply_error(c, cnt ? "COUNT can't be negative" : "MAXLEN can't be negative");
                return false;
            }
            if (cnt)
                o->count = v, o->with_count = true;
            else
                o->maxlen = v;
        } else {
            reply_error(c, ERR_SYNTAX);
            return false;
        }
    }
    return true;
}

/* Walk from the head (rank > 0) or the tail, one point lookup per item. */
static void lpos_command(client *c)
{
    struct lpos_opts o;
    if (!lpos_parse(c, &o))
        return;
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], KS_LIST, &m) < 0)
        return;
    void *slot = o.with_count ? reply_deferred(c) : NULL;
    long long skip = (o.rank < 0 ? -o.rank : o.rank) - 1, found = 0;
    long long n = (long long)m.count;
    for (long long k = 0; m.exists && k < n && (!o.maxlen || k < o.maxlen); k++) {
        long long idx = o.rank > 0 ? k : n - 1 - k;
        chalk_value v;
        if (item_get(&m, m.head + idx, &v) != CHALK_OK)
            break;
        bool eq = val_eq(&v, &c->argv[2]);
        chalk_value_free(&v);
        if (!eq || skip-- > 0)
            continue;
        reply_long(c, idx);
        found++;
        if (!o.with_count || (o.count && found >= o.count))
            break;
    }
    if (o.with_count)
        reply_set_deferred_array(c, slot, (long)found);
    else if (!found)
        reply_null(c);
}

/* ---- LMOVE / RPOPLPUSH ---------------------------------------------------- */

/* @interview(queue.async): How do you build a reliable work queue on a
 * key-value store? Producers LPUSH jobs; a worker moves a job with LMOVE
 * queue processing RIGHT LEFT (or BLMOVE to wait), which pops it from the
 * queue and pushes it onto a processing list in ONE atomic batch, so a
 * worker that crashes never loses the job: a reaper moves jobs that stay
 * too long in the processing list back to the queue, and the worker LREMs
 * the job when done. That is at-least-once delivery: jobs must be
 * idempotent. A plain RPOP would lose the job if the worker died after the
 * pop. */
/* Pop from src's side `from_left`, push onto dst's side `to_left`, in one
 * batch; reply the element (or null when src is empty). dst may be src. */
static void lmove_generic(client *c, const resp_arg *srckey, const resp_arg *dstkey,
                          bool from_left, bool to_left)
{
    cp_meta src, dst_store, *dst = &dst_store;
    if (cp_lookup(c, c->db, srckey, KS_LIST, &src) < 0)
        return;
    if (!src.exists) {
        reply_null(c);
        return;
    }
    bool same = srckey->len == dstkey->len && memcmp(srckey->ptr, dstkey->ptr, srckey->len) == 0;
    if (same)
        dst = &src;
    else if (cp_lookup(c, c->db, dstkey, KS_LIST, dst) < 0)
        return;
    chalk_value v = {0};
    chalk_batch *b = ks_batch();
    int rc = b ? cp_begin(b, dst) : CHALK_ENOMEM;
    if (rc == CHALK_OK)
        rc = list_pop_one(b, &src, from_left, &v);
    if (rc == CHALK_OK)
        rc = list_push_one(b, dst, to_left, v.data, v.len);
    if (rc == CHALK_OK && !same)
        rc = cp_meta_store(b, &src);
    if (rc == CHALK_OK)
        rc = cp_meta_store(b, dst);
    if (rc != CHALK_OK)
        reply_engine_error(c, rc);
    else if (cp_commit(c, b)) {
        cp_notify(NOTIFY_LIST, to_left ? "lpush" : "rpush", dst);   /* Redis's order */
        cp_notify(NOTIFY_LIST, from_left ? "lpop" : "rpop", &src);
        reply_bulk(c, v.data, v.len);
        blocking_key_ready(dst->db, dst->key, dst->klen);
    }
    chalk_value_free(&v);
}

static bool parse_side(client *c, const resp_arg *a, bool *left)
{
    *left = arg_is(a, "left");
    if (*left || arg_is(a, "right"))
        return true;
    reply_error(c, ERR_SYNTAX);
    return false;
}

static void lmove_command(client *c)
{
    bool from_left, to_left;
    if (parse_side(c, &c->argv[3], &from_left) && parse_side(c, &c->argv[4], &to_left))
        lmove_generic(c, &c->argv[1], &c->argv[2], from_left, to_left);
}

static void rpoplpush_command(client *c) { lmove_generic(c, &c->argv[1], &c->argv[2], false, true); }

/* ---- blocking forms --------------------------------------------------------
 * Each tries its non-blocking form on the first key that has an element
 * and whose older waiters are served (blocking_first_ready for the
 * multi-key pops, blocking_may_serve); finding none,
 * it waits (blocking_wait), and runs again when woken. */

static void bpop_generic(client *c, bool left)
{
    long long ms;
    cp_meta m;
    int ready = blocking_first_ready(c, KS_LIST, &m, &ms);
    if (ready < 0)
        return;
    if (ready == 0) {
        if (!blocking_wait(c, ms))
            reply_null_array(c);
        return;
    }
    chalk_value v = {0};
    chalk_batch *b = ks_batch();
    int rc = b ? list_pop_one(b, &m, left, &v) : CHALK_ENOMEM;
    if (rc == CHALK_OK)
        rc = cp_meta_store(b, &m);
    blocking_done(c);
    if (rc != CHALK_OK)
        reply_engine_error(c, rc);
    else if (cp_commit(c, b)) {
        cp_notify(NOTIFY_LIST, left ? "lpop" : "rpop", &m);
        reply_array(c, 2);
        reply_bulk(c, m.key, m.klen);
        reply_bulk(c, v.data, v.len);
    }
    chalk_value_free(&v);
}

static void blpop_command(client *c) { bpop_generic(c, true); }
static void brpop_command(client *c) { bpop_generic(c, false); }

static void bmove_generic(client *c, bool from_left, bool to_left, const resp_arg *timeout)
{
    long long ms;
    if (!blocking_parse_timeout(c, timeout, &ms)) {
        blocking_done(c);
        return;
    }
    cp_meta m;
    int found = cp_lookup(c, c->db, &c->argv[1], KS_LIST, &m);
    if (found > 0 && blocking_may_serve(c, m.db, m.key, m.klen)) {
        blocking_done(c);
        lmove_generic(c, &c->argv[1], &c->argv[2], from_left, to_left);
        return;
    }
    if (found < 0)
        blocking_done(c);
    else if (!blocking_wait(c, ms))
        reply_null_array(c);       /* Redis 7 times out every list block with *-1 */
}

static void blmove_command(client *c)
{
    bool from_left, to_left;
    if (parse_side(c, &c->argv[3], &from_left) && parse_side(c, &c->argv[4], &to_left))
        bmove_generic(c, from_left, to_left, &c->argv[5]);
    else
        blocking_done(c);
}

static void brpoplpush_command(client *c) { bmove_generic(c, false, true, &c->argv[3]); }

/* Arguments, for COMMAND DOCS (redis-cli's hints). */
static const command_arg side[] = {
    {"left", ARG_PURE_TOKEN, "LEFT", 0, NULL},
    {"right", ARG_PURE_TOKEN, "RIGHT", 0, NULL},
    {0}};
static const command_arg key_elements_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"element", ARG_STRING, NULL, ARGF_MULTIPLE, NULL},
    {0}};
static const command_arg range_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"start", ARG_INTEGER, NULL, 0, NULL},
    {"stop", ARG_INTEGER, NULL, 0, NULL},
    {0}};
static const command_arg lindex_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"index", ARG_INTEGER, NULL, 0, NULL},
    {0}};
static const command_arg lset_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"index", ARG_INTEGER, NULL, 0, NULL},
    {"element", ARG_STRING, NULL, 0, NULL},
    {0}};
static const command_arg lrem_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"count", ARG_INTEGER, NULL, 0, NULL},
    {"element", ARG_STRING, NULL, 0, NULL},
    {0}};
static const command_arg where[] = {
    {"before", ARG_PURE_TOKEN, "BEFORE", 0, NULL},
    {"after", ARG_PURE_TOKEN, "AFTER", 0, NULL},
    {0}};
static const command_arg linsert_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"where", ARG_ONEOF, NULL, 0, where},
    {"pivot", ARG_STRING, NULL, 0, NULL},
    {"element", ARG_STRING, NULL, 0, NULL},
    {0}};
static const command_arg lpos_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"element", ARG_STRING, NULL, 0, NULL},
    {"rank", ARG_INTEGER, "RANK", ARGF_OPTIONAL, NULL},
    {"num-matches", ARG_INTEGER, "COUNT", ARGF_OPTIONAL, NULL},
    {"len", ARG_INTEGER, "MAXLEN", ARGF_OPTIONAL, NULL},
    {0}};
static const command_arg lmove_args[] = {
    {"source", ARG_KEY, NULL, 0, NULL},
    {"destination", ARG_KEY, NULL, 0, NULL},
    {"wherefrom", ARG_ONEOF, NULL, 0, side},
    {"whereto", ARG_ONEOF, NULL, 0, side},
    {0}};
static const command_arg rpoplpush_args[] = {
    {"source", ARG_KEY, NULL, 0, NULL},
    {"destination", ARG_KEY, NULL, 0, NULL},
    {0}};
static const command_arg bpop_args[] = {
    {"key", ARG_KEY, NULL, ARGF_MULTIPLE, NULL},
    {"timeout", ARG_DOUBLE, NULL, 0, NULL},
    {0}};
static const command_arg blmove_args[] = {
    {"source", ARG_KEY, NULL, 0, NULL},
    {"destination", ARG_KEY, NULL, 0, NULL},
    {"wherefrom", ARG_ONEOF, NULL, 0, side},
    {"whereto", ARG_ONEOF, NULL, 0, side},
    {"timeout", ARG_DOUBLE, NULL, 0, NULL},
    {0}};
static const command_arg brpoplpush_args[] = {
    {"source", ARG_KEY, NULL, 0, NULL},
    {"destination", ARG_KEY, NULL, 0, NULL},
    {"timeout", ARG_DOUBLE, NULL, 0, NULL},
    {0}};

#define LIST_ROW(name, proc, arity, flags, first, last, since, cx, summary, args)           \
    {name, proc, arity, flags, first, last, 1, "list", since, cx, summary, args, NULL}

const command_def cmd_list_table[] = {
    LIST_ROW("lpush", lpush_command, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, "1.0.0",
             "O(1) for each element added, so O(N) to add N elements",
             "Prepends one or more elements to a list. Creates the key if it doesn't exist.", key_elements_args),
    LIST_ROW("rpush", rpush_command, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, "1.0.0",
             "O(1) for each element added, so O(N) to add N elements",
             "Appends one or more elements to a list. Creates the key if it doesn't exist.", key_elements_args),
    LIST_ROW("lpushx", lpushx_command, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, "2.2.0",
             "O(1) for each element added, so O(N) to add N elements",
             "Prepends one or more elements to a list only when the list exists.", key_elements_args),
    LIST_ROW("rpushx", rpushx_command, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, "2.2.0",
             "O(1) for each element added, so O(N) to add N elements",
             "Appends an element to a list only when the list exists.", key_elements_args),
    LIST_ROW("lpop", lpop_command, -2, CMD_WRITE | CMD_FAST, 1, 1, "1.0.0",
             "O(N) where N is the number of elements returned",
             "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", args_key_count),
    LIST_ROW("rpop", rpop_command, -2, CMD_WRITE | CMD_FAST, 1, 1, "1.0.0",
             "O(N) where N is the number of elements returned",
             "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", args_key_count),
    LIST_ROW("llen", llen_command, 2, CMD_READONLY | CMD_FAST, 1, 1, "1.0.0", "O(1)",
             "Returns the length of a list.", args_key),
    LIST_ROW("lrange", lrange_command, 4, CMD_READONLY, 1, 1, "1.0.0",
             "O(log N + M) where M is the number of elements returned (a seek, then a walk)",
             "Returns a range of elements from a list.", range_args),
    LIST_ROW("lindex", lindex_command, 3, CMD_READONLY, 1, 1, "1.0.0",
             "O(1) (positions are keys; Redis is O(N))", "Returns an element from a list by its index.", lindex_args),
    LIST_ROW("lset", lset_command, 4, CMD_WRITE | CMD_DENYOOM, 1, 1, "1.0.0",
             "O(1) (positions are keys; Redis is O(N))", "Sets the value of an element in a list by its index.", lset_args),
    LIST_ROW("lrem", lrem_command, 4, CMD_WRITE, 1, 1, "1.0.0",
             "O(N) where N is the length of the list (the items after the first removed one are rewritten)",
             "Removes elements from a list. Deletes the list if the last element was removed.", lrem_args),
    LIST_ROW("ltrim", ltrim_command, 4, CMD_WRITE, 1, 1, "1.0.0",
             "O(N) where N is the number of elements to be removed by the operation.",
             "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", range_args),
    LIST_ROW("linsert", linsert_command, 5, CMD_WRITE | CMD_DENYOOM, 1, 1, "2.2.0",
             "O(N) where N is the length of the list (the items after the pivot are rewritten)",
             "Inserts an element before or after another element in a list.", linsert_args),
    LIST_ROW("lpos", lpos_command, -3, CMD_READONLY, 1, 1, "6.0.6",
             "O(N) where N is the number of elements in the list, for the average case.",
             "Returns the index of matching elements in a list.", lpos_args),
    LIST_ROW("lmove", lmove_command, 5, CMD_WRITE | CMD_DENYOOM, 1, 2, "6.2.0", "O(1)",
             "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", lmove_args),
    LIST_ROW("rpoplpush", rpoplpush_command, 3, CMD_WRITE | CMD_DENYOOM, 1, 2, "1.2.0", "O(1)",
             "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", rpoplpush_args),
    LIST_ROW("blpop", blpop_command, -3, CMD_WRITE | CMD_BLOCKING, 1, -2, "2.0.0",
             "O(N) where N is the number of provided keys.",
             "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", bpop_args),
    LIST_ROW("brpop", brpop_command, -3, CMD_WRITE | CMD_BLOCKING, 1, -2, "2.0.0",
             "O(N) where N is the number of provided keys.",
             "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", bpop_args),
    LIST_ROW("blmove", blmove_command, 6, CMD_WRITE | CMD_DENYOOM | CMD_BLOCKING, 1, 2, "6.2.0", "O(1)",
             "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", blmove_args),
    LIST_ROW("brpoplpush", brpoplpush_command, 4, CMD_WRITE | CMD_DENYOOM | CMD_BLOCKING, 1, 2, "2.2.0", "O(1)",
             "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", brpoplpush_args),
    {0},
};
