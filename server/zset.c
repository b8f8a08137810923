/*
 * zset.c — a sorted set as two sub-record families (composite.h):
 *
 *   'm'  [db]['m'][klen][key][member]          → 8-byte score
 *   'z'  [db]['z'][klen][key][score8][member]  → (empty)
 *
 * The one idea: 'm' is the table (member → score: ZSCORE is one point
 * lookup), 'z' is a SECONDARY INDEX on the score, kept in the engine's
 * ordered index, whose keys sort by (score, member) because score8 is
 * score_encode()'s order-preserving form (score.c). Every change writes
 * both in one batch, so they never disagree, even across a crash.
 *
 * Ranks. The engine's ordered index is an order-statistics tree (each
 * inner node counts the keys under each child: ordered_index.c), and
 * chalk_rank / chalk_iter_seek_rank expose it. A member's rank is then
 *   chalk_rank([prefix][score8][member]) - chalk_rank([prefix])
 * because every key between the two starts with the prefix, and the keys
 * with this prefix are exactly the set's 'z' records: sub-records never
 * expire (so the engine's count holds no expired key here), and a key that
 * exists has no leftovers of an earlier incarnation (cp_begin purged them).
 * So every range becomes a slice [lo, hi) of forward ranks computed in
 * O(log n) (zs_slice), and a walk is a seek by rank plus m steps: ZRANK,
 * ZCOUNT, ZLEXCOUNT are O(log n), ZRANGE by index, score or lex (forward,
 * reverse, with LIMIT) O(log n + m), as in Redis (whose skiplist keeps a
 * span per link for the same purpose).
 *
 * Reverse walks: the engine's iterators only move forward, so a reverse
 * slice is read in chunks of ZS_CHUNK from its top end, each chunk one
 * seek by rank, and visited backwards: O(log n) per ZS_CHUNK elements.
 *
 * Left out on purpose: BYLEX on a set whose scores differ (Redis leaves the
 * result unspecified) is not sliced by rank: the walk from (first score,
 * min) of before is kept for it, with its O(64 log n) per distinct score
 * backwards (walk_reverse), so its replies do not change.
 *
 * Interview topics: index.optimization (zs_put, zs_slice).
 */
#include "zset.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "score.h"
#include "server.h"
#include "util.h"

int zs_score(const cp_meta *m, const void *member, size_t len, double *score)
{
    if (!m->exists)
        return CHALK_ENOTFOUND;
    cp_key mk;
    int rc = cp_key_prepare(&mk, m->db, CP_ZMEMBER, m->key, m->klen, member, len);
    if (rc == CHALK_OK)
        rc = zs_score_key(m, &mk, score);
    cp_key_free(&mk);
    return rc;
}

int zs_score_key(const cp_meta *m, const cp_key *mk, double *score)
{
    if (!m->exists)
        return CHALK_ENOTFOUND;
    chalk_value v;
    int rc = cp_key_get(mk, &v);
    if (rc != CHALK_OK)
        return rc;
    if (v.len != SCORE_BYTES)
        rc = CHALK_ECORRUPT;
    else
        *score = score_decode(v.data);
    chalk_value_free(&v);
    return rc;
}

/* @interview(index.optimization): How do you add a secondary index to a
 * key-value store, and what does it cost? Store a second record whose key
 * starts with the indexed value (here the score, encoded so byte order is
 * numeric order) and ends with the primary key (the member); a range query
 * becomes a seek plus a walk (ZRANGEBYSCORE). Each write now updates two
 * records atomically (zs_put deletes the old index entry and writes the
 * new), which is the write amplification every index costs; the index is
 * worth it when reads by that value are frequent. */
int zs_put(chalk_batch *b, const cp_meta *m, const cp_key *mk, const void *member, size_t len,
           double score, bool had_old, double old)
{
    unsigned char s[SCORE_BYTES], o[SCORE_BYTES];
    score_encode(score, s);
    int rc = CHALK_OK;
    if (had_old) {
        score_encode(old, o);
        rc = cp_del(b, m->db, CP_ZSCORE, m->key, m->klen, o, SCORE_BYTES, member, len);
    }
    /* The member's 'm' key was hashed for its lookup: its put reuses it. */
    if (rc == CHALK_OK)
        rc = mk ? cp_key_put(b, mk, s, SCORE_BYTES)
                : cp_put(b, m->db, CP_ZMEMBER, m->key, m->klen, member, len, NULL, 0, s,
                         SCORE_BYTES);
    if (rc == CHALK_OK)
        rc = cp_put(b, m->db, CP_ZSCORE, m->key, m->klen, s, SCORE_BYTES, member, len, "", 0);
    return rc;
}

int zs_del(chalk_batch *b, const cp_meta *m, const void *member, size_t len, double score)
{
    unsigned char s[SCORE_BYTES];
    score_encode(score, s);
    int rc = cp_del(b, m->db, CP_ZMEMBER, m->key, m->klen, member, len, NULL, 0);
    if (rc == CHALK_OK)
        rc = cp_del(b, m->db, CP_ZSCORE, m->key, m->klen, s, SCORE_BYTES, member, len);
    return rc;
}

/* ---- bounds ----------------------------------------------------------------- */

/* Redis's zslParseRange: strtod over the rest, which must be consumed
 * ("(" alone is an exclusive 0, as in Redis); s is NUL-terminated. */
bool zs_parse_score_bound(const char *s, size_t len, double *v, bool *excl)
{
    (void)len;
    *excl = s[0] == '(';
    if (*excl)
        s++;
    char *end;
    double d = strtod(s, &end);
    if (*end != '\0' || isnan(d))
        return false;
    *v = d;
    return true;
}

/* Redis's getDoubleFromObject: no leading space, all consumed, not NaN,
 * and no overflow to ±inf or underflow to 0 ("inf" itself is fine). */
bool zs_parse_double(const char *s, size_t len, double *v)
{
    if (len == 0 || isspace((unsigned char)s[0]))
        return false;
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (*end != '\0' || isnan(d) ||
        (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL || fpclassify(d) == FP_ZERO)))
        return false;
    *v = d;
    return true;
}

bool zs_parse_lex_bound(const char *s, size_t len, zs_lex *out)
{
    memset(out, 0, sizeof *out);
    if (len == 1 && (s[0] == '-' || s[0] == '+')) {
        out->kind = s[0] == '-' ? -1 : 1;
        return true;
    }
    if (len == 0 || (s[0] != '(' && s[0] != '['))
        return false;
    out->excl = s[0] == '(';
    out->p = s + 1;
    out->len = len - 1;
    return true;
}

/* Is member >= min (above_min) and <= max (below_max)? */
static bool lex_above_min(const zs_lex *min, const char *s, size_t len)
{
    if (min->kind)
        return min->kind < 0;
    int d = bytes_cmp(s, len, min->p, min->len);
    return min->excl ? d > 0 : d >= 0;
}

static bool lex_below_max(const zs_lex *max, const char *s, size_t len)
{
    if (max->kind)
        return max->kind > 0;
    int d = bytes_cmp(s, len, max->p, max->len);
    return max->excl ? d < 0 : d <= 0;
}

/* ---- the walk ------------------------------------------------------------------ */

struct walk {
    const zs_range *r;
    zs_visit_fn *fn;
    void *arg;
    long long index;        /* rank of the next element in walk order */
    long long start, stop;  /* normalised rank range */
    long long skipped, emitted;
    bool done;
};

/* 1: in range, 0: not yet (keep going), -1: past the end (stop). */
static int in_range(struct walk *w, const char *mem, size_t len, double score)
{
    const zs_range *r = w->r;
    long long idx = w->index++;
    switch (r->by) {
    case ZR_RANK:
        return idx < w->start ? 0 : idx > w->stop ? -1 : 1;
    case ZR_SCORE: {
        bool low = score < r->min || (r->minex && score == r->min);
        bool high = score > r->max || (r->maxex && score == r->max);
        if (r->rev)
            return high ? 0 : low ? -1 : 1;
        return low ? 0 : high ? -1 : 1;
    }
    default: {
        bool low = !lex_above_min(&r->lmin, mem, len), high = !lex_below_max(&r->lmax, mem, len);
        if (r->rev)
            return high ? 0 : low ? -1 : 1;
        return low ? 0 : high ? -1 : 1;
    }
    }
}

/* Feed one element through range, LIMIT and the visitor. */
static void feed(struct walk *w, const char *mem, size_t len, double score)
{
    int k = in_range(w, mem, len, score);
    if (k < 0) {
        w->done = true;
        return;
    }
    if (k == 0)
        return;
    if (w->skipped < w->r->offset) {
        w->skipped++;
        return;
    }
    if (w->r->limit >= 0 && w->emitted >= w->r->limit) {
        w->done = true;
        return;
    }
    w->emitted++;
    if (!w->fn(w->arg, mem, len, score))
        w->done = true;
}

/* Where a lex range starts: BYLEX assumes every member has the same score
 * (Redis's rule), so the start is (the first member's score, min). Fills
 * from (malloc'd when needed) and returns its length, 0 = from the start. */
static size_t lex_start(const cp_meta *m, const zs_lex *min, char **from)
{
    *from = NULL;
    if (min->kind != 0)
        return 0;
    cp_iter ci;
    size_t n = 0;
    if (cp_iter_open(&ci, m->db, CP_ZSCORE, m->key, m->klen, NULL, 0) != CHALK_OK)
        return 0;
    if (cp_iter_valid(&ci) && ci.slen >= SCORE_BYTES && (*from = malloc(SCORE_BYTES + min->len))) {
        memcpy(*from, ci.suffix, SCORE_BYTES);
        memcpy(*from + SCORE_BYTES, min->p, min->len);
        n = SCORE_BYTES + min->len;
    }
    cp_iter_close(&ci);
    return n;
}

/* Forward: seek to the range's start (score or lex), then step. */
static int walk_forward(const cp_meta *m, struct walk *w)
{
    const zs_range *r = w->r;
    unsigned char score_from[SCORE_BYTES];
    char *lex_from = NULL;
    const void *from = NULL;
    size_t flen = 0;
    if (r->by == ZR_SCORE) {
        score_encode(r->min, score_from);
        from = score_from, flen = SCORE_BYTES;
    } else if (r->by == ZR_LEX) {
        flen = lex_start(m, &r->lmin, &lex_from);
        from = lex_from;
    }
    cp_iter ci;
    int rc = cp_iter_open(&ci, m->db, CP_ZSCORE, m->key, m->klen, from, flen);
    free(lex_from);
    for (; rc == CHALK_OK && !w->done && cp_iter_valid(&ci); cp_iter_next(&ci)) {
        if (ci.slen < SCORE_BYTES)
            continue;
        feed(w, ci.suffix + SCORE_BYTES, ci.slen - SCORE_BYTES,
             score_decode((const unsigned char *)ci.suffix));
    }
    if (ci.it) {
        if (rc == CHALK_OK)
            rc = chalk_iter_status(ci.it);
        cp_iter_close(&ci);
    }
    return rc;
}

/* ---- walking backwards with a forward-only iterator ------------------------
 * The engine's iterators only move forward. The largest score below an
 * (exclusive) upper bound U is found by binary search on the 64-bit
 * encoded score: "is there an element with score8 in [v, U)?" is one
 * seek. 64 seeks find it; then the members of that score are read
 * forward and visited in reverse. */

static uint64_t be64(const unsigned char *p)
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = (u << 8) | p[i];
    return u;
}

static void put_be(uint64_t u, unsigned char *p)
{
    for (int i = 7; i >= 0; i--, u >>= 8)
        p[i] = (unsigned char)(u & 0xff);
}

/* Is there an element with encoded score in [v, upper) (upper_inf: no
 * upper bound)? */
static bool any_at_or_above(chalk_iter *it, ks_buf *key, size_t plen, uint64_t v, uint64_t upper,
                            bool upper_inf)
{
    put_be(v, (unsigned char *)key->p + plen);
    chalk_iter_seek(it, key->p, plen + SCORE_BYTES);
    if (!chalk_iter_valid(it))
        return false;
    size_t len;
    const char *k = chalk_iter_key(it, &len);
    if (len < plen + SCORE_BYTES || memcmp(k, key->p, plen) != 0)
        return false;
    return upper_inf || be64((const unsigned char *)k + plen) < upper;
}

/* The largest encoded score below upper: true and *out, or false. */
static bool prev_score(chalk_iter *it, ks_buf *key, size_t plen, uint64_t upper, bool upper_inf,
                       uint64_t *out)
{
    if (!upper_inf && upper == 0)
        return false;
    uint64_t lo = 0, hi = upper_inf ? UINT64_MAX : upper - 1;
    if (!any_at_or_above(it, key, plen, 0, upper, upper_inf))
        return false;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2 + 1;
        if (any_at_or_above(it, key, plen, mid, upper, upper_inf))
            lo = mid;
        else
            hi = mid - 1;
    }
    *out = lo;
    return true;
}

typedef struct group {
    char **mem;
    size_t *len;
    long n, cap;
} group;

static int group_add(group *g, const char *s, size_t len)
{
    if (g->n == g->cap) {
        long cap = g->cap ? 2 * g->cap : 16;
        char **m = realloc(g->mem, (size_t)cap * sizeof *m);
        if (m)
            g->mem = m;
        size_t *l = realloc(g->len, (size_t)cap * sizeof *l);
        if (l)
            g->len = l;
        if (!m || !l)
            return CHALK_ENOMEM;
        g->cap = cap;
    }
    g->mem[g->n] = malloc(len ? len : 1);
    if (!g->mem[g->n])
        return CHALK_ENOMEM;
    memcpy(g->mem[g->n], s, len);
    g->len[g->n++] = len;
    return CHALK_OK;
}

static void group_clear(group *g)
{
    for (long i = 0; i < g->n; i++)
        free(g->mem[i]);
    g->n = 0;
}

/* Read the members of score `enc` (forward) into g. */
static int read_group(chalk_iter *it, ks_buf *key, size_t plen, uint64_t enc, group *g)
{
    put_be(enc, (unsigned char *)key->p + plen);
    chalk_iter_seek(it, key->p, plen + SCORE_BYTES);
    for (; chalk_iter_valid(it); chalk_iter_next(it)) {
        size_t len;
        const char *k = chalk_iter_key(it, &len);
        if (len < plen + SCORE_BYTES || memcmp(k, key->p, plen + SCORE_BYTES) != 0)
            break;
        int rc = group_add(g, k + plen + SCORE_BYTES, len - plen - SCORE_BYTES);
        if (rc != CHALK_OK)
            return rc;
    }
    return chalk_iter_status(it);
}

static int walk_reverse(const cp_meta *m, struct walk *w)
{
    const zs_range *r = w->r;
    ks_buf key;
    size_t plen = cp_prefix_len(m->klen);
    if (cp_subkey(&key, m->db, CP_ZSCORE, m->key, m->klen, NULL, 0, "\0\0\0\0\0\0\0\0", 8) < 0)
        return CHALK_ENOMEM;
    chalk_iter *it = chalk_iter_new(server.db, NULL);
    uint64_t upper = 0;
    bool upper_inf = true;
    if (r->by == ZR_SCORE) {
        unsigned char e[SCORE_BYTES];
        score_encode(r->max, e);
        upper = be64(e) + (r->maxex ? 0 : 1);
        upper_inf = upper == 0;   /* wrapped: no bound */
    }
    group g = {0};
    int rc = it ? CHALK_OK : CHALK_ENOMEM;
    uint64_t enc;
    while (rc == CHALK_OK && !w->done && prev_score(it, &key, plen, upper, upper_inf, &enc)) {
        group_clear(&g);
        rc = read_group(it, &key, plen, enc, &g);
        unsigned char e[SCORE_BYTES];
        put_be(enc, e);
        double score = score_decode(e);
        for (long i = g.n - 1; rc == CHALK_OK && i >= 0 && !w->done; i--)
            feed(w, g.mem[i], g.len[i], score);
        upper = enc;
        upper_inf = false;
    }
    group_clear(&g);
    free(g.mem);
    free(g.len);
    if (it)
        chalk_iter_free(it);
    ks_free(&key);
    return rc;
}

/* ---- ranks: a range as a slice of forward ranks --------------------------- */

/* *out = how many of m's score-index records sort before the suffix
 * s1 s2 (score8, then member bytes); *at (if non-NULL) = 1 if the record
 * s1 s2 itself exists. Two O(log n) rank queries. */
static int idx_rank(const cp_meta *m, const void *s1, size_t n1, const void *s2, size_t n2,
                    uint64_t *out, bool *at)
{
    ks_buf k;
    if (cp_subkey(&k, m->db, CP_ZSCORE, m->key, m->klen, s1, n1, s2, n2) < 0)
        return CHALK_ENOMEM;
    uint64_t base, r;
    int rc = chalk_rank(server.db, k.p, cp_prefix_len(m->klen), &base);
    if (rc == CHALK_OK)
        rc = chalk_rank(server.db, k.p, k.len, &r);
    if (rc == CHALK_OK) {
        *out = r - base;
        if (at)
            *at = chalk_exists(server.db, k.p, k.len) == 1;
    }
    ks_free(&k);
    return rc;
}

/* *base = the engine-wide rank of m's first score-index record (of the
 * family's prefix): a seek by rank to base + r lands on forward rank r. */
static int family_base(const cp_meta *m, uint64_t *base)
{
    return cp_kind_base(m, CP_ZSCORE, base);
}

/* Records with encoded score < u (after = false) or <= u (after = true). */
static int score_rank(const cp_meta *m, double score, bool after, uint64_t *out)
{
    unsigned char e[SCORE_BYTES];
    score_encode(score, e);
    uint64_t u = be64(e);
    if (after && u == UINT64_MAX) {
        *out = m->count;
        return CHALK_OK;
    }
    put_be(after ? u + 1 : u, e);
    return idx_rank(m, e, SCORE_BYTES, NULL, 0, out, NULL);
}

/* Records of score s8 whose member is < the bound (after = false) or <=
 * it (after = true); "-" and "+" are 0 and count. */
static int lex_rank(const cp_meta *m, const unsigned char *s8, const zs_lex *b, bool after,
                    uint64_t *out)
{
    if (b->kind != 0) {
        *out = b->kind < 0 ? 0 : m->count;
        return CHALK_OK;
    }
    bool at = false;
    int rc = idx_rank(m, s8, SCORE_BYTES, b->p, b->len, out, &at);
    if (rc == CHALK_OK && after && at)
        (*out)++;
    return rc;
}

/* The score8 of the record of forward rank `rank` (< m->count). */
static int score_at_rank(const cp_meta *m, uint64_t rank, unsigned char s8[SCORE_BYTES])
{
    cp_iter ci;
    uint64_t base;
    int rc = family_base(m, &base);
    if (rc == CHALK_OK)
        rc = cp_iter_open(&ci, m->db, CP_ZSCORE, m->key, m->klen, NULL, 0);
    if (rc != CHALK_OK)
        return rc;
    chalk_iter_seek_rank(ci.it, base + rank);
    if (cp_iter_valid(&ci) && ci.slen >= SCORE_BYTES)
        memcpy(s8, ci.suffix, SCORE_BYTES);
    else
        rc = chalk_iter_status(ci.it) != CHALK_OK ? chalk_iter_status(ci.it) : CHALK_ECORRUPT;
    cp_iter_close(&ci);
    return rc;
}

/* BYLEX is sliced by rank only when every member has one score (Redis's
 * precondition): the first and the last record share it. *s8 = that score. */
static int lex_sliceable(const cp_meta *m, unsigned char s8[SCORE_BYTES], bool *yes)
{
    unsigned char last[SCORE_BYTES];
    int rc = score_at_rank(m, 0, s8);
    if (rc == CHALK_OK)
        rc = score_at_rank(m, m->count - 1, last);
    *yes = rc == CHALK_OK && memcmp(s8, last, SCORE_BYTES) == 0;
    return rc;
}

/* @interview(index.optimization): How does a sorted set answer ZCOUNT or
 * ZRANK in O(log n) without walking the members? With an index that knows
 * ranks: here the engine's B+tree counts the keys under each child, so "how
 * many records before (score, member)" is one descent, and a range count
 * is the difference of two such ranks (Redis's skiplist: the span stored on
 * each link). Without counts both cost a walk of every element counted. */
/* The forward ranks [*lo, *hi) of range r in m (before LIMIT), and whether
 * r can be sliced at all (*ok: false for BYLEX over differing scores). */
static int zs_slice(const cp_meta *m, const zs_range *r, uint64_t *lo, uint64_t *hi, bool *ok)
{
    int rc = CHALK_OK;
    unsigned char s8[SCORE_BYTES];
    *ok = true;
    if (r->by == ZR_RANK) {
        long long start = r->start, stop = r->stop, n = (long long)m->count;
        if (!rank_range(n, &start, &stop)) {                 /* util.c */
            *lo = *hi = 0;
            return CHALK_OK;
        }
        *lo = (uint64_t)(r->rev ? n - 1 - stop : start);
        *hi = (uint64_t)(r->rev ? n - start : stop + 1);
        return CHALK_OK;
    }
    if (r->by == ZR_SCORE) {
        rc = score_rank(m, r->min, r->minex, lo);
        if (rc == CHALK_OK)
            rc = score_rank(m, r->max, !r->maxex, hi);
    } else {
        rc = lex_sliceable(m, s8, ok);
        if (rc == CHALK_OK && *ok)
            rc = lex_rank(m, s8, &r->lmin, r->lmin.excl, lo);
        if (rc == CHALK_OK && *ok)
            rc = lex_rank(m, s8, &r->lmax, !r->lmax.excl, hi);
    }
    if (rc == CHALK_OK && *ok && *hi < *lo)
        *hi = *lo;
    return rc;
}

static bool count_visit(void *arg, const char *mem, size_t len, double score)
{
    (void)arg, (void)mem, (void)len, (void)score;
    return true;
}

int zs_count(const cp_meta *m, const zs_range *r, uint64_t *n)
{
    uint64_t lo = 0, hi = 0;
    bool ok = true;
    *n = 0;
    if (!m->exists || (r->by == ZR_SCORE && (r->min > r->max ||
                                             (r->min == r->max && (r->minex || r->maxex)))))
        return CHALK_OK;
    int rc = zs_slice(m, r, &lo, &hi, &ok);
    if (rc == CHALK_OK && ok) {
        *n = hi - lo;
        return CHALK_OK;
    }
    if (rc != CHALK_OK)
        return rc;
    struct walk w = {.r = r, .fn = count_visit};    /* BYLEX, mixed scores: walk */
    rc = walk_forward(m, &w);
    *n = (uint64_t)w.emitted;
    return rc;
}

int zs_rank(const cp_meta *m, const void *member, size_t len, double score, uint64_t *rank)
{
    unsigned char s8[SCORE_BYTES];
    score_encode(score, s8);
    return idx_rank(m, s8, SCORE_BYTES, member, len, rank, NULL);
}

/* ---- walking a slice -------------------------------------------------------- */

enum { ZS_CHUNK = 128 };

/* Visit forward ranks [lo, hi) of m in order: one seek, then steps. A
 * slice from rank 0 (ZPOPMIN, ZRANGE 0 n) starts where cp_iter_open's seek
 * to the prefix put the iterator; any other needs the family's base rank
 * and a seek by rank. Each step's key is compared with the prefix, except
 * in a slice longer than ZS_CHECK_EACH: there the last key is checked first
 * (one more seek by rank, O(log n)), and since memcmp order keeps every
 * key between the first and the last inside the prefix, the steps compare
 * nothing (that per-step memcmp was 9% of ZRANGE 0 99's time in perf). */
enum { ZS_CHECK_EACH = 16 };

static int slice_forward(const cp_meta *m, uint64_t lo, uint64_t hi, bool scores, zs_visit_fn *fn,
                         void *arg)
{
    if (hi <= lo)
        return CHALK_OK;
    bool ends = hi - lo > ZS_CHECK_EACH, by_rank = lo > 0 || ends;
    uint64_t base = 0;
    cp_iter ci;
    int rc = by_rank ? family_base(m, &base) : CHALK_OK;
    if (rc == CHALK_OK)
        rc = cp_iter_open(&ci, m->db, CP_ZSCORE, m->key, m->klen, NULL, 0);
    if (rc != CHALK_OK)
        return rc;
    bool ok = true;
    if (ends) {
        chalk_iter_seek_rank(ci.it, base + hi - 1);
        ok = cp_iter_valid(&ci);    /* false: ranks and keys disagree (a bug) */
    }
    if (by_rank)
        chalk_iter_seek_rank(ci.it, base + lo);
    ok = ok && cp_iter_valid(&ci);
    for (uint64_t i = lo; i < hi && ok; i++) {
        if (ci.slen >= SCORE_BYTES &&
            !fn(arg, ci.suffix + SCORE_BYTES, ci.slen - SCORE_BYTES,
                scores ? score_decode((const unsigned char *)ci.suffix) : 0))
            break;
        cp_iter_next(&ci);
        ok = ends ? cp_iter_valid_inside(&ci) : cp_iter_valid(&ci);
    }
    rc = chalk_iter_status(ci.it);
    cp_iter_close(&ci);
    return rc;
}

/* A chunk read forward, kept so it can be visited backwards. */
typedef struct chunk {
    group g;                  /* members */
    double score[ZS_CHUNK];
    int err;                  /* CHALK_ENOMEM if a member could not be copied */
} chunk;

static bool chunk_visit(void *arg, const char *mem, size_t len, double score)
{
    chunk *k = arg;
    if (group_add(&k->g, mem, len) != CHALK_OK) {
        k->err = CHALK_ENOMEM;
        return false;
    }
    k->score[k->g.n - 1] = score;
    return true;
}

/* Visit forward ranks [lo, hi) of m from hi - 1 down to lo: chunks of
 * ZS_CHUNK read forward from the top, each visited backwards. */
static int slice_reverse(const cp_meta *m, uint64_t lo, uint64_t hi, bool scores, zs_visit_fn *fn,
                         void *arg)
{
    chunk k = {0};
    int rc = CHALK_OK;
    bool go = true;
    while (rc == CHALK_OK && go && hi > lo) {
        uint64_t from = hi - lo > ZS_CHUNK ? hi - ZS_CHUNK : lo;
        group_clear(&k.g);
        rc = slice_forward(m, from, hi, scores, chunk_visit, &k);
        if (rc == CHALK_OK)
            rc = k.err;
        for (long i = k.g.n - 1; rc == CHALK_OK && go && i >= 0; i--)
            go = fn(arg, k.g.mem[i], k.g.len[i], k.score[i]);
        hi = from;
    }
    group_clear(&k.g);
    free(k.g.mem);
    free(k.g.len);
    return rc;
}

/* Apply LIMIT to the slice: skip `offset` from the walk's start, keep at
 * most `limit` (< 0: all). */
static void slice_limit(const zs_range *r, uint64_t *lo, uint64_t *hi)
{
    uint64_t n = *hi - *lo;
    uint64_t off = r->offset > 0 ? (uint64_t)r->offset : 0;
    uint64_t keep = off >= n ? 0 : n - off;
    if (r->limit >= 0 && (uint64_t)r->limit < keep)
        keep = (uint64_t)r->limit;
    if (r->rev) {
        *hi -= off >= n ? n : off;
        *lo = *hi - keep;
    } else {
        *lo += off >= n ? n : off;
        *hi = *lo + keep;
    }
}

int zs_walk(const cp_meta *m, const zs_range *r, zs_visit_fn *fn, void *arg)
{
    struct walk w = {.r = r, .fn = fn, .arg = arg};
    if (!m->exists)
        return CHALK_OK;
    if (r->by == ZR_SCORE && (r->min > r->max || (r->min == r->max && (r->minex || r->maxex))))
        return CHALK_OK;
    uint64_t lo, hi;
    bool ok;
    int rc = zs_slice(m, r, &lo, &hi, &ok);
    if (rc != CHALK_OK)
        return rc;
    if (ok) {
        slice_limit(r, &lo, &hi);
        return r->rev ? slice_reverse(m, lo, hi, !r->no_scores, fn, arg)
                      : slice_forward(m, lo, hi, !r->no_scores, fn, arg);
    }
    return r->rev ? walk_reverse(m, &w) : walk_forward(m, &w);   /* BYLEX, mixed scores */
}
