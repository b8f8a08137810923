/*
 * composite.c — the helpers every collection type shares: reading and
 * writing its main record, building sub-record keys, walking one key's
 * sub-records in order, and carrying them along on DEL / RENAME / COPY;
 * and the pieces of command that are the same for every type (the
 * *LEN / *CARD, *SCAN and *RANDMEMBER commands, the tail of a command that
 * replies how many members it changed, the destination of a *STORE).
 * The encoding itself is defined once, in composite.h.
 *
 * The one idea: a collection is a range of the ordered index. Every
 * command reads what it needs with point lookups and range walks, then
 * makes ALL its changes (sub-records and the main record's new count) in
 * ONE engine batch, which the engine applies atomically and recovery
 * applies all-or-nothing: a crash never leaves a count that disagrees
 * with the members, and MULTI/EXEC and replication see one unit.
 *
 * Left out on purpose: in-memory structures per collection (Redis's
 * listpack / skiplist / dict). Every member is its own engine record, so
 * a member costs a record header and an index entry (~100 B of memory
 * for the key in the indexes, see docs/engine.md) and each read of a value
 * goes to the page cache. The gain: one log, one recovery path, one
 * replication stream for every type.
 *
 * Interview topics: db.sql-vs-nosql (cp_subkey), perf.single-thread (cp_reap).
 */
#include "composite.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "keyops.h"
#include "notify.h"
#include "score.h"
#include "server.h"
#include "util.h"

static void put_le64(unsigned char *p, uint64_t u)
{
    for (int i = 0; i < 8; i++, u >>= 8)
        p[i] = (unsigned char)(u & 0xff);
}

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--)
        u = (u << 8) | p[i];
    return u;
}

/* Decode a main record's value into m; false if it is malformed. */
static bool meta_decode(const chalk_value *v, cp_meta *m)
{
    const unsigned char *p = v->data;
    m->type = ks_type_of(v);
    m->expire_at_ms = v->expire_at_ms;
    if (m->type == KS_STRING)
        return true;
    if (v->len < 9)
        return false;
    m->count = get_le64(p + 1);
    if (m->type == KS_LIST) {
        if (v->len < 25)
            return false;
        m->head = (int64_t)get_le64(p + 9);
        m->tail = (int64_t)get_le64(p + 17);
    }
    return true;
}

int cp_lookup_quiet(int db, const void *key, size_t klen, int type, cp_meta *m)
{
    memset(m, 0, sizeof *m);
    m->db = db;
    m->key = key;
    m->klen = klen;
    m->type = type;
    chalk_value v;
    int rc = ks_lookup(db, key, klen, &v);
    if (rc == CHALK_ENOTFOUND)
        return 0;
    if (rc != CHALK_OK)
        return rc;
    bool ok = meta_decode(&v, m);
    chalk_value_free(&v);
    if (!ok)
        return CHALK_ECORRUPT;
    if (m->type != type)
        return CP_WRONGTYPE;
    m->exists = m->loaded = true;
    m->count0 = m->count;
    m->head0 = m->head;
    m->tail0 = m->tail;
    return 1;
}

int cp_lookup(client *c, int db, const resp_arg *key, int type, cp_meta *m)
{
    int rc = cp_lookup_quiet(db, key->ptr, key->len, type, m);
    if (rc == CP_WRONGTYPE)
        reply_error(c, ERR_WRONGTYPE);
    else if (rc < 0)
        reply_engine_error(c, rc);
    return rc < 0 ? -1 : rc;
}

/* Does the main record on disk already say what m says? */
static bool meta_unchanged(const cp_meta *m)
{
    return m->loaded && m->exists && m->count == m->count0 && m->head == m->head0 &&
           m->tail == m->tail0;
}

int cp_meta_store(chalk_batch *b, const cp_meta *m)
{
    if (meta_unchanged(m))
        return CHALK_OK;
    ks_buf ek;
    if (ks_key(&ek, m->db, m->key, m->klen) < 0)
        return CHALK_ENOMEM;
    int rc;
    if (m->count == 0) {
        rc = m->exists ? chalk_batch_delete(b, ek.p, ek.len) : CHALK_OK;
    } else {
        unsigned char v[25];
        v[0] = (unsigned char)m->type;
        put_le64(v + 1, m->count);
        put_le64(v + 9, (uint64_t)m->head);
        put_le64(v + 17, (uint64_t)m->tail);
        rc = chalk_batch_put(b, ek.p, ek.len, v, m->type == KS_LIST ? 25 : 9, m->expire_at_ms);
    }
    ks_free(&ek);
    return rc;
}

int cp_begin(chalk_batch *b, const cp_meta *m)
{
    if (m->exists)
        return CHALK_OK;
    long n = cp_purge(b, m->db, m->key, m->klen);
    return n < 0 ? (int)n : CHALK_OK;
}

/* @interview(db.sql-vs-nosql): How do tables map onto a key-value store?
 * A row becomes a key built from the table and the primary key, and a
 * table is a key range: here a hash field is [db]['h'][keylen][key][field]
 * → value, so HGETALL is a range scan of one prefix, the way a clustered
 * primary-key index is scanned in an SQL engine. What the KV store leaves
 * to the application is what SQL gives: joins, constraints and secondary
 * indexes kept in step (see the sorted-set score index in cmd_zset.c). */
int cp_subkey(ks_buf *out, int db, int kind, const void *key, size_t klen,
              const void *s1, size_t n1, const void *s2, size_t n2)
{
    if (ks_reserve(out, cp_prefix_len(klen) + n1 + n2) < 0)
        return -1;
    unsigned char *p = (unsigned char *)out->p;
    p[0] = (unsigned char)db;
    p[1] = (unsigned char)kind;
    p[2] = (unsigned char)(klen >> 24);
    p[3] = (unsigned char)(klen >> 16);
    p[4] = (unsigned char)(klen >> 8);
    p[5] = (unsigned char)klen;
    p += 6;
    if (klen)
        memcpy(p, key, klen);
    p += klen;
    if (n1)
        memcpy(p, s1, n1);
    if (n2)
        memcpy(p + n1, s2, n2);
    return 0;
}

/* ---- iteration ---------------------------------------------------------- */

int cp_iter_open(cp_iter *ci, int db, int kind, const void *key, size_t klen,
                 const void *from, size_t flen)
{
    memset(ci, 0, sizeof *ci);
    ci->it = chalk_iter_new(server.db, NULL);
    if (!ci->it || cp_subkey(&ci->prefix, db, kind, key, klen, NULL, 0, NULL, 0) < 0) {
        cp_iter_close(ci);
        return CHALK_ENOMEM;
    }
    ks_buf start;
    if (cp_subkey(&start, db, kind, key, klen, from, from ? flen : 0, NULL, 0) < 0) {
        cp_iter_close(ci);
        return CHALK_ENOMEM;
    }
    chalk_iter_seek(ci->it, start.p, start.len);
    ks_free(&start);
    return CHALK_OK;
}

static bool iter_at(cp_iter *ci, bool compare)
{
    if (!ci->it || !chalk_iter_valid(ci->it))
        return false;
    size_t len;
    const char *k = chalk_iter_key(ci->it, &len);
    if (len < ci->prefix.len || (compare && memcmp(k, ci->prefix.p, ci->prefix.len) != 0))
        return false;
    ci->suffix = k + ci->prefix.len;
    ci->slen = len - ci->prefix.len;
    return true;
}

bool cp_iter_valid(cp_iter *ci) { return iter_at(ci, true); }
bool cp_iter_valid_inside(cp_iter *ci) { return iter_at(ci, false); }

void cp_iter_next(cp_iter *ci) { chalk_iter_next(ci->it); }

int cp_iter_value(cp_iter *ci, chalk_value *out) { return chalk_iter_value(ci->it, out); }

void cp_iter_close(cp_iter *ci)
{
    if (ci->it)
        chalk_iter_free(ci->it);
    ci->it = NULL;
    ks_free(&ci->prefix);
}

/* ---- point access ------------------------------------------------------- */

int cp_key_prepare(cp_key *pk, int db, int kind, const void *key, size_t klen, const void *s,
                   size_t slen)
{
    if (cp_subkey(&pk->buf, db, kind, key, klen, s, slen, NULL, 0) < 0)
        return CHALK_ENOMEM;
    chalk_key_prepare(server.db, &pk->ck, pk->buf.p, pk->buf.len);
    return CHALK_OK;
}

void cp_key_free(cp_key *pk) { ks_free(&pk->buf); }
int cp_key_get(const cp_key *pk, chalk_value *out) { return chalk_get_prepared(server.db, &pk->ck, out); }
int cp_key_has(const cp_key *pk) { return chalk_exists_prepared(server.db, &pk->ck); }

int cp_key_put(chalk_batch *b, const cp_key *pk, const void *val, size_t vlen)
{
    return chalk_batch_put_prepared(b, &pk->ck, val, vlen, 0);
}

int cp_key_del(chalk_batch *b, const cp_key *pk)
{
    return chalk_batch_delete_prepared(b, &pk->ck);
}

int cp_key_hint(int db, int kind, const resp_slice *key, const resp_slice *sub, chalk_key *out,
                int max)
{
    cp_key k;
    if (max < 1 || cp_key_prepare(&k, db, kind, key->ptr, key->len, sub->ptr, sub->len) != CHALK_OK)
        return 0;
    out[0] = k.ck;                /* its hash and length outlive k's bytes */
    cp_key_free(&k);
    return 1;
}

int cp_get(int db, int kind, const void *key, size_t klen, const void *s, size_t slen,
           chalk_value *out)
{
    ks_buf k;
    if (cp_subkey(&k, db, kind, key, klen, s, slen, NULL, 0) < 0)
        return CHALK_ENOMEM;
    int rc = chalk_get(server.db, k.p, k.len, out);
    ks_free(&k);
    return rc;
}

int cp_has(int db, int kind, const void *key, size_t klen, const void *s, size_t slen)
{
    ks_buf k;
    if (cp_subkey(&k, db, kind, key, klen, s, slen, NULL, 0) < 0)
        return 0;
    int yes = chalk_exists(server.db, k.p, k.len);
    ks_free(&k);
    return yes;
}

int cp_put(chalk_batch *b, int db, int kind, const void *key, size_t klen,
           const void *s1, size_t n1, const void *s2, size_t n2, const void *val, size_t vlen)
{
    ks_buf k;
    if (cp_subkey(&k, db, kind, key, klen, s1, n1, s2, n2) < 0)
        return CHALK_ENOMEM;
    int rc = chalk_batch_put(b, k.p, k.len, val, vlen, 0);
    ks_free(&k);
    return rc;
}

int cp_del(chalk_batch *b, int db, int kind, const void *key, size_t klen,
           const void *s1, size_t n1, const void *s2, size_t n2)
{
    ks_buf k;
    if (cp_subkey(&k, db, kind, key, klen, s1, n1, s2, n2) < 0)
        return CHALK_ENOMEM;
    int rc = chalk_batch_delete(b, k.p, k.len);
    ks_free(&k);
    return rc;
}

/* ---- whole-key operations ----------------------------------------------- */

static const int all_kinds[] = {CP_HASH, CP_SET, CP_LIST, CP_ZMEMBER, CP_ZSCORE};
#define NKINDS (sizeof all_kinds / sizeof *all_kinds)

/* Walk one kind of (db, key): re-key each sub-record under dst (if given)
 * and / or delete it, stopping after `max` (0 = all). Returns the number
 * of sub-records handled or an error. */
static long members_of_kind(chalk_batch *b, int kind, int db, const void *key, size_t klen,
                            int dstdb, const void *dst, size_t dstlen, bool del, long max)
{
    cp_iter ci;
    long n = 0;
    int rc = cp_iter_open(&ci, db, kind, key, klen, NULL, 0);
    for (; rc == CHALK_OK && (!max || n < max) && cp_iter_valid(&ci); cp_iter_next(&ci), n++) {
        if (dst) {
            chalk_value v;
            rc = cp_iter_value(&ci, &v);
            if (rc != CHALK_OK)
                break;
            rc = cp_put(b, dstdb, kind, dst, dstlen, ci.suffix, ci.slen, NULL, 0, v.data, v.len);
            chalk_value_free(&v);
        }
        if (rc == CHALK_OK && del)
            rc = cp_del(b, db, kind, key, klen, ci.suffix, ci.slen, NULL, 0);
    }
    if (rc == CHALK_OK && ci.it)
        rc = chalk_iter_status(ci.it);
    cp_iter_close(&ci);
    return rc == CHALK_OK ? n : rc;
}

/* Delete up to max sub-records of (db, key), all kinds. Returns how many
 * (== max: there may be more), or an error. */
static long delete_some(chalk_batch *b, int db, const void *key, size_t klen, long max)
{
    long total = 0;
    for (size_t i = 0; i < NKINDS && (!max || total < max); i++) {
        long n = members_of_kind(b, all_kinds[i], db, key, klen, 0, NULL, 0, true,
                                 max ? max - total : 0);
        if (n < 0)
            return n;
        total += n;
    }
    return total;
}

long cp_purge(chalk_batch *b, int db, const void *key, size_t klen)
{
    long n = delete_some(b, db, key, klen, 0);
    if (n >= 0 && cp_has(db, CP_GRAVE, key, klen, NULL, 0))
        n = cp_del(b, db, CP_GRAVE, key, klen, NULL, 0, NULL, 0) == CHALK_OK ? n : CHALK_ENOMEM;
    return n;
}

/* Delete: at most CP_SYNC_DELETE sub-records now; if there may be more,
 * leave a grave for cp_reap. */
static int delete_members(chalk_batch *b, int db, const void *key, size_t klen)
{
    long n = delete_some(b, db, key, klen, CP_SYNC_DELETE);
    if (n < 0)
        return (int)n;
    if (n < CP_SYNC_DELETE)
        return CHALK_OK;
    return cp_put(b, db, CP_GRAVE, key, klen, NULL, 0, NULL, 0, "", 0);
}

int cp_members(chalk_batch *b, int db, const void *key, size_t klen,
               int dstdb, const void *dst, size_t dstlen, bool del)
{
    if (del && !dst)
        return delete_members(b, db, key, klen);
    if (dst) {
        /* The destination may hold leftovers of an expired collection and
         * its grave: both go first, or the reaper would later delete the
         * members copied now. */
        long n = cp_purge(b, dstdb, dst, dstlen);
        if (n < 0)
            return (int)n;
    }
    for (size_t i = 0; i < NKINDS; i++) {
        long n = members_of_kind(b, all_kinds[i], db, key, klen, dstdb, dst, dstlen, del, 0);
        if (n < 0)
            return (int)n;
    }
    return CHALK_OK;
}

/* Does (db, key) own any sub-record? One seek per kind, memory only. */
static bool has_members(int db, const void *key, size_t klen)
{
    for (size_t i = 0; i < NKINDS; i++) {
        cp_iter ci;
        if (cp_iter_open(&ci, db, all_kinds[i], key, klen, NULL, 0) != CHALK_OK)
            return false;
        bool any = cp_iter_valid(&ci);
        cp_iter_close(&ci);
        if (any)
            return true;
    }
    return false;
}

int cp_expired(chalk_batch *b, const void *ek, size_t eklen)
{
    const unsigned char *p = ek;
    if (eklen < KS_HDR || p[1] != KS_KIND_KEY)
        return CHALK_OK;
    const char *key = (const char *)p + KS_HDR;
    size_t klen = eklen - KS_HDR;
    if (!has_members(p[0], key, klen))
        return CHALK_OK;
    if (b)
        return cp_put(b, p[0], CP_GRAVE, key, klen, NULL, 0, NULL, 0, "", 0);
    chalk_batch *own = chalk_batch_new();
    int rc = own ? cp_put(own, p[0], CP_GRAVE, key, klen, NULL, 0, NULL, 0, "", 0) : CHALK_ENOMEM;
    if (rc == CHALK_OK)
        rc = server_write(NULL, own);
    chalk_batch_free(own);
    return rc;
}

/* The first grave of any database: true and (db, key) copied into *key. */
static bool first_grave(int *db, ks_buf *key)
{
    bool found = false;
    for (int d = 0; d < server.cfg.databases && !found; d++) {
        unsigned char prefix[2] = {(unsigned char)d, CP_GRAVE};
        chalk_iter *it = chalk_iter_new(server.db, NULL);
        if (!it)
            return false;
        chalk_iter_seek(it, prefix, 2);
        size_t len;
        const unsigned char *k = chalk_iter_valid(it) ? chalk_iter_key(it, &len) : NULL;
        if (k && len >= 6 && k[0] == d && k[1] == CP_GRAVE) {
            size_t klen = (size_t)k[2] << 24 | (size_t)k[3] << 16 | (size_t)k[4] << 8 | k[5];
            if (klen == len - 6 && ks_reserve(key, klen) == 0) {
                memcpy(key->p, k + 6, klen);
                *db = d;
                found = true;
            }
        }
        chalk_iter_free(it);
    }
    return found;
}

/* Is (db, key) a live collection? Then a grave of that name is stale: a
 * name reused in the same batch as its deletion (RENAME / COPY / *STORE
 * onto it) purged the old members itself. A live string is no reason to
 * stop: strings own no sub-records, so everything left is garbage. */
static bool live_collection(int db, const void *key, size_t klen)
{
    chalk_value v;
    ks_buf ek;
    if (ks_key(&ek, db, key, klen) < 0)
        return false;
    bool live = false;
    if (chalk_get(server.db, ek.p, ek.len, &v) == CHALK_OK) {
        live = ks_type_of(&v) != KS_STRING;
        chalk_value_free(&v);
    }
    ks_free(&ek);
    return live;
}

/* @interview(perf.single-thread): Why can deleting one key stall a server, and
 * how is that avoided? Freeing a collection of a million members is a
 * million operations inside one command, and a single-threaded server
 * serves nobody meanwhile. UNLINK (Redis's lazyfree) makes the key
 * invisible at once and frees the rest later: here a "grave" record
 * queues the work in the engine, and each tick deletes one bounded slice
 * (cp_reap), so other clients wait at most one slice. */
long cp_reap(void)
{
    if (!server.db)
        return 0;
    ks_buf key;
    int db;
    if (!first_grave(&db, &key))
        return 0;
    chalk_batch *b = chalk_batch_new();
    long n;
    if (live_collection(db, key.p, key.len))
        n = 0;                     /* stale: its creator purged the leftovers */
    else
        n = b ? delete_some(b, db, key.p, key.len, CP_REAP_SLICE) : CHALK_ENOMEM;
    if (n >= 0 && n < CP_REAP_SLICE &&
        cp_del(b, db, CP_GRAVE, key.p, key.len, NULL, 0, NULL, 0) != CHALK_OK)
        n = CHALK_ENOMEM;
    if (n >= 0 && chalk_batch_count(b)) {
        int rc = server_write(NULL, b);
        if (rc != CHALK_OK)
            n = rc;
    }
    chalk_batch_free(b);
    ks_free(&key);
    return n;
}

/* ---- shared by the families --------------------------------------------- */

bool cp_commit(client *c, chalk_batch *b)
{
    if (chalk_batch_count(b) == 0)
        return true;
    int rc = server_write(c, b);
    if (rc != CHALK_OK) {
        reply_engine_error(c, rc);
        return false;
    }
    return true;
}

struct dup_ctx {
    const resp_arg *arg;
    long idx;
};

static int cmp_dup(const void *a, const void *b)
{
    const struct dup_ctx *x = a, *y = b;
    size_t n = x->arg->len < y->arg->len ? x->arg->len : y->arg->len;
    int d = memcmp(x->arg->ptr, y->arg->ptr, n);
    if (d == 0 && x->arg->len != y->arg->len)
        d = x->arg->len < y->arg->len ? -1 : 1;
    if (d == 0)
        d = x->idx < y->idx ? -1 : x->idx > y->idx;
    return d;
}

/* Sorting (argument, index) pairs groups equal arguments in index order:
 * O(n log n) rather than comparing every pair. */
long *cp_prev_dups(client *c, int first, int step, long n)
{
    long *prev = malloc((size_t)(n ? n : 1) * sizeof *prev);
    if (!prev)
        return NULL;
    for (long i = 0; i < n; i++)
        prev[i] = -1;
    if (n < 2)
        return prev;               /* one argument (the common case): nothing to sort */
    struct dup_ctx *v = malloc((size_t)n * sizeof *v);
    if (!v) {
        free(prev);
        return NULL;
    }
    for (long i = 0; i < n; i++) {
        v[i].arg = &c->argv[first + i * step];
        v[i].idx = i;
    }
    qsort(v, (size_t)n, sizeof *v, cmp_dup);
    for (long i = 1; i < n; i++)
        if (v[i].arg->len == v[i - 1].arg->len &&
            memcmp(v[i].arg->ptr, v[i - 1].arg->ptr, v[i].arg->len) == 0)
            prev[v[i].idx] = v[i - 1].idx;
    free(v);
    return prev;
}

bool cp_random_count(client *c, const resp_arg *a, long long *count)
{
    if (!arg_ll(c, a, count))
        return false;
    if (*count != LLONG_MIN)
        return true;
    reply_error(c, "value is out of range, value must between -9223372036854775807 and "
                   "9223372036854775807");
    return false;
}

uint64_t cp_random(void)
{
    return ((uint64_t)random() << 33) ^ ((uint64_t)random() << 11) ^ (uint64_t)random();
}

/* ---- HSCAN / SSCAN / ZSCAN ----------------------------------------------
 *
 * The cursor must be an integer, and a scan must return every member that
 * existed for the whole scan (duplicates allowed). Our members are sorted,
 * so the cursor names where to resume: the first (up to) 7 bytes of the
 * next member, t(next), packed as ((bytes big-endian << 3) | length) + 1,
 * 0 meaning done. Resuming seeks to the first member >= t(next). A page
 * stops only where t changes, so members sharing a 7-byte prefix are
 * never split across pages (no skip, no endless loop); the cost is that a
 * page may exceed COUNT when many members share their first 7 bytes. */

static uint64_t cursor_of(const char *s, size_t len)
{
    size_t n = len < 7 ? len : 7;
    uint64_t u = 0;
    for (size_t i = 0; i < 7; i++)
        u = (u << 8) | (i < n ? (unsigned char)s[i] : 0);
    return ((u << 3) | n) + 1;
}

static size_t cursor_seek(uint64_t cur, char out[7])
{
    uint64_t x = cur - 1;
    size_t n = x & 7;
    x >>= 3;
    for (int i = 6; i >= 0; i--, x >>= 8)
        out[i] = (char)(x & 0xff);
    return n > 7 ? 7 : n;
}

static bool same_t(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t an = alen < 7 ? alen : 7, bn = blen < 7 ? blen : 7;
    return an == bn && memcmp(a, b, an) == 0;
}

struct scan_opts {
    uint64_t cursor;
    const resp_arg *match;
    long long count;
};

/* Redis's parseScanCursorOrReply (util.c string_to_cursor). */
static bool scan_cursor(client *c, uint64_t *cursor)
{
    if (string_to_cursor(c->argv[2].ptr, cursor))
        return true;
    reply_error(c, "invalid cursor");
    return false;
}

static bool scan_parse(client *c, struct scan_opts *o)
{
    o->match = NULL;
    o->count = 10;
    for (int i = 3; i < c->argc; i += 2) {
        if (i + 1 >= c->argc) {
            reply_error(c, ERR_SYNTAX);
            return false;
        }
        if (arg_is(&c->argv[i], "match")) {
            o->match = &c->argv[i + 1];
        } else if (arg_is(&c->argv[i], "count")) {
            if (!arg_ll(c, &c->argv[i + 1], &o->count))
                return false;
            if (o->count < 1) {
                reply_error(c, ERR_SYNTAX);
                return false;
            }
        } else {
            reply_error(c, ERR_SYNTAX);
            return false;
        }
    }
    return true;
}

void cp_reply_value(client *c, cp_iter *ci, int mode)
{
    chalk_value v;
    if (cp_iter_value(ci, &v) != CHALK_OK) {
        reply_null(c);
        return;
    }
    if (mode == CP_SCAN_SCORES && v.len == SCORE_BYTES) {
        char buf[32];
        int n = score_format(score_decode(v.data), buf);
        reply_bulk(c, buf, (size_t)n);
    } else {
        reply_bulk(c, v.data, v.len);
    }
    chalk_value_free(&v);
}

/* Walk one page from (from, flen): the number of members it covers and
 * the cursor after it. */
static int scan_page(const cp_meta *m, int kind, const char *from, size_t flen,
                     long long count, long *visited, uint64_t *next)
{
    cp_iter ci;
    *visited = 0;
    *next = 0;
    if (!m->exists)
        return CHALK_OK;
    if (cp_iter_open(&ci, m->db, kind, m->key, m->klen, from, flen) != CHALK_OK)
        return CHALK_ENOMEM;
    char last[7];
    size_t lastlen = 0;
    for (; cp_iter_valid(&ci); cp_iter_next(&ci), (*visited)++) {
        if (*visited >= count && !same_t(ci.suffix, ci.slen, last, lastlen)) {
            *next = cursor_of(ci.suffix, ci.slen);
            break;
        }
        lastlen = ci.slen < 7 ? ci.slen : 7;
        memcpy(last, ci.suffix, lastlen);
    }
    cp_iter_close(&ci);
    return CHALK_OK;
}

void cp_scan_command(client *c, int type, int kind, int mode)
{
    struct scan_opts o;
    cp_meta mm, *m = &mm;
    int found;
    if (!scan_cursor(c, &o.cursor) || (found = cp_lookup(c, c->db, &c->argv[1], type, m)) < 0)
        return;
    if (!found) {                      /* Redis: no key, no option checks */
        reply_array(c, 2);
        reply_bulk(c, "0", 1);
        reply_array(c, 0);
        return;
    }
    if (!scan_parse(c, &o))
        return;
    char from[7];
    size_t flen = o.cursor ? cursor_seek(o.cursor, from) : 0;
    long visited;
    uint64_t next;
    cp_iter ci = {0};
    if (scan_page(m, kind, from, flen, o.count, &visited, &next) != CHALK_OK ||
        (m->exists && cp_iter_open(&ci, m->db, kind, m->key, m->klen, from, flen) != CHALK_OK)) {
        reply_engine_error(c, CHALK_ENOMEM);
        return;
    }
    reply_array(c, 2);
    reply_bulk_long(c, (long long)next);
    void *slot = reply_deferred(c);
    long n = 0;
    for (long i = 0; i < visited && cp_iter_valid(&ci); i++, cp_iter_next(&ci)) {
        if (o.match && !glob_match(o.match->ptr, o.match->len, ci.suffix, ci.slen, false))
            continue;
        reply_bulk(c, ci.suffix, ci.slen);
        n++;
        if (mode != CP_SCAN_KEYS) {
            cp_reply_value(c, &ci, mode);
            n++;
        }
    }
    cp_iter_close(&ci);
    reply_set_deferred_array(c, slot, n);
}

/* ---- random members ------------------------------------------------------
 * The collection is a sorted range, and the ordered index counts its
 * subtrees (chalk_rank, chalk_iter_seek_rank): "the i-th member" is one
 * seek by rank, O(log n), because sub-records never expire and a
 * collection's range holds exactly its count records. We draw the
 * indices, sort them, and visit them in order: a seek by rank per pick
 * when they are few (count > CP_SEEK_PICKS * picks: O(k log n), as Redis's
 * O(k) up to the log), else one walk of the range (O(n), cheaper than k
 * seeks then). */

struct pick {
    uint64_t index;         /* position in the collection */
    long slot;              /* where in the output it goes */
};

static int cmp_pick(const void *a, const void *b)
{
    const struct pick *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* k random indices below count, sorted; distinct ones if asked (the
 * caller asks for distinct ones only when k < count / 2, so redrawing the
 * duplicates converges fast). */
static void draw_indices(struct pick *p, long k, uint64_t count, bool distinct)
{
    long have = 0;
    while (have < k) {
        for (long i = have; i < k; i++)
            p[i].index = cp_random() % count;
        qsort(p, (size_t)k, sizeof *p, cmp_pick);
        if (!distinct)
            break;
        have = 1;
        for (long i = 1; i < k; i++)
            if (p[i].index != p[have - 1].index)
                p[have++] = p[i];
    }
    for (long i = 0; i < k; i++)
        p[i].slot = i;
}

static int item_fill(cp_item *it, cp_iter *ci, bool values)
{
    it->s = malloc(ci->slen ? ci->slen : 1);
    if (!it->s)
        return CHALK_ENOMEM;
    memcpy(it->s, ci->suffix, ci->slen);
    it->slen = ci->slen;
    if (!values)
        return CHALK_OK;
    chalk_value v;
    int rc = cp_iter_value(ci, &v);
    if (rc != CHALK_OK)
        return rc;
    it->v = v.data;
    it->vlen = v.len;
    return CHALK_OK;
}

static void shuffle(cp_item *items, long n)
{
    for (long i = n - 1; i > 0; i--) {
        long j = (long)(cp_random() % (uint64_t)(i + 1));
        cp_item t = items[i];
        items[i] = items[j];
        items[j] = t;
    }
}

int cp_kind_base(const cp_meta *m, int kind, uint64_t *base)
{
    ks_buf k;
    if (cp_subkey(&k, m->db, kind, m->key, m->klen, NULL, 0, NULL, 0) < 0)
        return CHALK_ENOMEM;
    int rc = chalk_rank(server.db, k.p, k.len, base);
    ks_free(&k);
    return rc;
}

enum { CP_SEEK_PICKS = 16 };

/* Fill items[p[i].slot] with the members at the sorted indices p[0..want):
 * by seeks by rank or by one walk (see above). *got = how many filled. */
static int fill_picks(const cp_meta *m, int kind, const struct pick *p, long want, bool values,
                      cp_item *items, long *got)
{
    bool seek = m->count / CP_SEEK_PICKS > (uint64_t)want;
    uint64_t base = 0;
    cp_iter ci;
    int rc = seek ? cp_kind_base(m, kind, &base) : CHALK_OK;
    if (rc == CHALK_OK)
        rc = cp_iter_open(&ci, m->db, kind, m->key, m->klen, NULL, 0);
    if (rc != CHALK_OK)
        return rc;
    long next = 0;
    for (uint64_t at = 0; rc == CHALK_OK && next < want; cp_iter_next(&ci), at++) {
        if (seek && p[next].index > at) {
            at = p[next].index;
            chalk_iter_seek_rank(ci.it, base + at);
        }
        if (!cp_iter_valid(&ci))
            break;
        while (rc == CHALK_OK && next < want && p[next].index == at)
            rc = item_fill(&items[p[next++].slot], &ci, values);
    }
    if (rc == CHALK_OK)
        rc = chalk_iter_status(ci.it);
    cp_iter_close(&ci);
    *got = next;
    return rc;
}

/* Every member of m, in order. *got = how many filled. */
static int fill_all(const cp_meta *m, int kind, bool values, cp_item *items, long want,
                    long *got)
{
    cp_iter ci;
    int rc = cp_iter_open(&ci, m->db, kind, m->key, m->klen, NULL, 0);
    long next = 0;
    for (; rc == CHALK_OK && next < want && cp_iter_valid(&ci); cp_iter_next(&ci))
        rc = item_fill(&items[next++], &ci, values);
    if (rc == CHALK_OK && ci.it)
        rc = chalk_iter_status(ci.it);
    cp_iter_close(&ci);
    *got = next;
    return rc;
}

int cp_random_items(const cp_meta *m, int kind, long k, bool distinct, bool values,
                    cp_item **out, long *n)
{
    *out = NULL;
    *n = 0;
    if (!m->exists || m->count == 0 || k <= 0)
        return CHALK_OK;
    /* Distinct picks of half the collection or more: take it all, shuffle,
     * keep k (redrawing duplicates would not converge fast). */
    bool all = distinct && (uint64_t)k >= m->count / 2;
    long want = all ? (long)m->count : k, got = 0;
    cp_item *items = calloc((size_t)want, sizeof *items);
    struct pick *p = all ? NULL : malloc((size_t)want * sizeof *p);
    int rc = items && (all || p) ? CHALK_OK : CHALK_ENOMEM;
    if (rc == CHALK_OK && !all) {
        draw_indices(p, want, m->count, distinct);
        rc = fill_picks(m, kind, p, want, values, items, &got);
    } else if (rc == CHALK_OK) {
        rc = fill_all(m, kind, values, items, want, &got);
    }
    free(p);
    if (rc != CHALK_OK) {
        cp_items_free(items, want);
        return rc;
    }
    shuffle(items, got);
    for (long i = k; i < got; i++)
        free(items[i].s), free(items[i].v);
    *out = items;
    *n = got < k ? got : k;
    return CHALK_OK;
}

void cp_items_free(cp_item *items, long n)
{
    for (long i = 0; items && i < n; i++) {
        free(items[i].s);
        free(items[i].v);
    }
    free(items);
}

void cp_reply_score(client *c, double score)
{
    if (c->resp >= 3) {
        reply_double(c, score);
        return;
    }
    char buf[32];
    reply_bulk(c, buf, (size_t)score_format(score, buf));
}

static void reply_item_value(client *c, const cp_item *it, int mode)
{
    if (mode == CP_SCAN_SCORES && it->vlen == SCORE_BYTES)
        cp_reply_score(c, score_decode((const unsigned char *)it->v));
    else
        reply_bulk(c, it->v, it->vlen);
}

void cp_random_reply(client *c, const cp_meta *m, int kind, long long count, bool single,
                     int mode)
{
    if (!m->exists) {
        if (single)
            reply_null(c);
        else
            reply_array(c, 0);
        return;
    }
    if (count > 0 && (uint64_t)count > m->count)
        count = (long long)m->count;  /* distinct: at most all of them */
    if (count < -(1LL << 40)) {
        reply_error(c, "value is out of range");      /* Chalk's cap: memory */
        return;
    }
    cp_item *items;
    long n;
    long k = (long)(count < 0 ? -count : count);
    if (cp_random_items(m, kind, k, count > 0, mode != CP_SCAN_KEYS, &items, &n) != CHALK_OK) {
        reply_engine_error(c, CHALK_ENOMEM);
        return;
    }
    if (single) {
        reply_bulk(c, items[0].s, items[0].slen);
        cp_items_free(items, n);
        return;
    }
    bool pairs = mode != CP_SCAN_KEYS;
    reply_array(c, pairs && c->resp < 3 ? 2 * n : n);
    for (long i = 0; i < n; i++) {
        if (pairs && c->resp >= 3)
            reply_array(c, 2);
        reply_bulk(c, items[i].s, items[i].slen);
        if (pairs)
            reply_item_value(c, &items[i], mode);
    }
    cp_items_free(items, n);
}

void cp_randmember_command(client *c, int type, int kind, const char *with, int with_mode)
{
    long long count = 1;
    bool with_given = false;
    if (c->argc >= 3 && !cp_random_count(c, &c->argv[2], &count))
        return;
    if ((c->argc == 4 && !(with_given = arg_is(&c->argv[3], with))) || c->argc > 4) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], type, &m) < 0)
        return;
    cp_random_reply(c, &m, kind, count, c->argc == 2, with_given ? with_mode : CP_SCAN_KEYS);
}

void cp_notify(int type, const char *event, const cp_meta *m)
{
    notify_keyspace_event(type, event, m->db, m->key, m->klen);
    if (m->exists && m->count == 0)
        notify_keyspace_event(NOTIFY_GENERIC, "del", m->db, m->key, m->klen);
}

void cp_card_command(client *c, int type)
{
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], type, &m) < 0)
        return;
    reply_long(c, (long long)m.count);
}

int cp_store_begin(chalk_batch *b, int db, const resp_arg *dst, int type, long n, cp_meta *m)
{
    int existed = ks_delete_key(b, db, dst->ptr, dst->len);
    if (existed < 0)
        return existed;
    *m = (cp_meta){.db = db, .key = dst->ptr, .klen = dst->len, .type = type,
                   .exists = existed == 1, .count = (uint64_t)n};
    long purged = cp_purge(b, db, dst->ptr, dst->len);  /* all of the old dst, now */
    return purged < 0 ? (int)purged : existed;
}

void cp_notify_stored(int type, const char *event, int db, const resp_arg *dst, long n,
                      bool existed)
{
    if (n)
        notify_keyspace_event(type, event, db, dst->ptr, dst->len);
    else if (existed)
        notify_keyspace_event(NOTIFY_GENERIC, "del", db, dst->ptr, dst->len);
}

void cp_reply_changed(client *c, chalk_batch *b, int rc, long n, int type, const char *event,
                      const cp_meta *m)
{
    if (rc != CHALK_OK) {
        reply_engine_error(c, rc);
        return;
    }
    if (n && !cp_commit(c, b))
        return;                       /* cp_commit replied the error */
    if (n)
        cp_notify(type, event, m);
    reply_long(c, n);
}
