/*
 * cmd_set.c — the set commands: SADD SREM SISMEMBER SMISMEMBER SCARD
 * SMEMBERS SINTER SUNION SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE
 * SINTERCARD SPOP SRANDMEMBER SMOVE SSCAN.
 *
 * The one idea: a set member is a key with an empty value,
 * [db]['s'][klen][key][member] (composite.h): membership is one index
 * lookup that never touches the disk (chalk_exists), and the members come
 * out of a range walk already sorted, so SMEMBERS is ordered (Redis's is
 * not: any order is allowed, clients must not rely on one).
 *
 * Set algebra: SINTER walks the smallest set and probes the others
 * (Redis's algorithm: O(N*M), N the smallest, M the number of sets);
 * SUNION merges the sets (each is a sorted range: M iterators in step, no
 * lookups, O(total*M) comparisons in memory, set_merge); SDIFF merges too,
 * or walks the first set and probes the rest when that is much smaller
 * than the others (diff_probes). The *STORE forms write the result and delete the old
 * destination in ONE batch (atomic, even when the destination is a source).
 *
 * Left out on purpose: O(1) random members. SPOP / SRANDMEMBER draw their
 * positions and seek each one by rank (composite.c, cp_random_items):
 * O(count log N) where Redis is O(count); many picks (count > N / 16) walk
 * the set once instead, O(N).
 *
 * Interview topics: db.sql-vs-nosql (a set is a key range: composite.c,
 * cp_subkey).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "composite.h"
#include "keyops.h"
#include "notify.h"
#include "util.h"

static int set_has(const cp_meta *m, const void *member, size_t len)
{
    return m->exists && cp_has(m->db, CP_SET, m->key, m->klen, member, len);
}

static void sadd_command(client *c)
{
    cp_meta m;
    cp_key mk;    /* the first member's key: its bucket comes in during cp_lookup */
    if (cp_key_prepare(&mk, c->db, CP_SET, c->argv[1].ptr, c->argv[1].len, c->argv[2].ptr,
                       c->argv[2].len) != CHALK_OK) {
        reply_engine_error(c, CHALK_ENOMEM);
        return;
    }
    if (cp_lookup(c, c->db, &c->argv[1], KS_SET, &m) < 0) {
        cp_key_free(&mk);
        return;
    }
    long n = c->argc - 2, added = 0;
    long *prev = cp_prev_dups(c, 2, 1, n);
    chalk_batch *b = ks_batch();
    int rc = prev && b ? cp_begin(b, &m) : CHALK_ENOMEM;
    for (long i = 0; rc == CHALK_OK && i < n; i++) {
        const resp_arg *a = &c->argv[2 + i];
        if (prev[i] >= 0 ||
            (i == 0 ? m.exists && cp_key_has(&mk) : set_has(&m, a->ptr, a->len)))
            continue;
        added++;
        rc = i == 0 ? cp_key_put(b, &mk, "", 0)
                    : cp_put(b, m.db, CP_SET, m.key, m.klen, a->ptr, a->len, NULL, 0, "", 0);
    }
    free(prev);
    cp_key_free(&mk);
    m.count += (uint64_t)added;
    if (rc == CHALK_OK && added)
        rc = cp_meta_store(b, &m);
    cp_reply_changed(c, b, rc, added, NOTIFY_SET, "sadd", &m);
}

/* Remove the n members argv[first..] from m in b; returns how many were
 * there, or an error. */
static long set_remove_args(client *c, chalk_batch *b, cp_meta *m, int first, long n)
{
    long removed = 0;
    long *prev = cp_prev_dups(c, first, 1, n);
    int rc = prev ? CHALK_OK : CHALK_ENOMEM;
    for (long i = 0; rc == CHALK_OK && i < n; i++) {
        const resp_arg *a = &c->argv[first + i];
        if (prev[i] >= 0 || !set_has(m, a->ptr, a->len))
            continue;
        removed++;
        rc = cp_del(b, m->db, CP_SET, m->key, m->klen, a->ptr, a->len, NULL, 0);
    }
    free(prev);
    m->count -= (uint64_t)removed;
    if (rc == CHALK_OK && removed)
        rc = cp_meta_store(b, m);
    return rc == CHALK_OK ? removed : rc;
}

static void srem_command(client *c)
{
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], KS_SET, &m) < 0)
        return;
    chalk_batch *b = ks_batch();
    long removed = b ? set_remove_args(c, b, &m, 2, c->argc - 2) : CHALK_ENOMEM;
    if (removed < 0)
        reply_engine_error(c, (int)removed);
    else
        cp_reply_changed(c, b, CHALK_OK, removed, NOTIFY_SET, "srem", &m);
}

static void sismember_command(client *c)
{
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], KS_SET, &m) < 0)
        return;
    reply_long(c, set_has(&m, c->argv[2].ptr, c->argv[2].len));
}

static void smismember_command(client *c)
{
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], KS_SET, &m) < 0)
        return;
    reply_array(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++)
        reply_long(c, set_has(&m, c->argv[i].ptr, c->argv[i].len));
}

static void scard_command(client *c) { cp_card_command(c, KS_SET); }

/* ---- set algebra ---------------------------------------------------------- */

typedef struct member_list {
    cp_item *items;
    long n, cap;
} member_list;

static int list_add(member_list *l, const char *s, size_t len)
{
    if (l->n == l->cap) {
        long cap = l->cap ? l->cap * 2 : 16;
        cp_item *p = realloc(l->items, (size_t)cap * sizeof *p);
        if (!p)
            return CHALK_ENOMEM;
        l->items = p;
        l->cap = cap;
    }
    cp_item *it = &l->items[l->n];
    memset(it, 0, sizeof *it);
    it->s = malloc(len ? len : 1);
    if (!it->s)
        return CHALK_ENOMEM;
    memcpy(it->s, s, len);
    it->slen = len;
    l->n++;
    return CHALK_OK;
}

enum { OP_INTER, OP_UNION, OP_DIFF };

/* Look up the n set keys argv[first..]; metas malloc'd. 0, or -1 replied. */
static int load_sets(client *c, int first, int n, cp_meta **out)
{
    cp_meta *ms = calloc((size_t)(n ? n : 1), sizeof *ms);
    if (!ms) {
        reply_engine_error(c, CHALK_ENOMEM);
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (cp_lookup(c, c->db, &c->argv[first + i], KS_SET, &ms[i]) < 0) {
            free(ms);
            return -1;
        }
    *out = ms;
    return 0;
}

/* Does member (s, len) of set `from` belong to the result of op? */
static bool keep_member(int op, cp_meta *ms, int n, int from, const char *s, size_t len)
{
    for (int j = 0; j < n; j++) {
        if (j == from)
            continue;
        bool in = set_has(&ms[j], s, len);
        if (op == OP_INTER && !in)
            return false;
        if (op == OP_DIFF && j > 0 && in)
            return false;
        if (op == OP_UNION && in && j < from)
            return false;          /* already taken from an earlier set */
    }
    return true;
}

static int suffix_cmp(const cp_iter *a, const cp_iter *b)
{
    return bytes_cmp(a->suffix, a->slen, b->suffix, b->slen);
}

/* SUNION / SDIFF by merging: each set's members come out of the index in
 * memcmp order, so the n sets walked in step give every distinct member
 * once, together with which sets hold it, without a point lookup. O(total
 * members * n) comparisons of keys in memory, where probing is a hash
 * lookup (a likely cache miss) per member per other set. */
static int set_merge(int op, cp_meta *ms, int n, member_list *out)
{
    cp_iter *it = calloc((size_t)n, sizeof *it);
    bool *on = calloc((size_t)n, sizeof *on), *here = calloc((size_t)n, sizeof *here);
    int rc = it && on && here ? CHALK_OK : CHALK_ENOMEM;
    for (int i = 0; rc == CHALK_OK && i < n; i++)
        if (ms[i].exists && (rc = cp_iter_open(&it[i], ms[i].db, CP_SET, ms[i].key, ms[i].klen,
                                               NULL, 0)) == CHALK_OK)
            on[i] = cp_iter_valid(&it[i]);
    while (rc == CHALK_OK) {
        int min = -1, holders = 0;
        for (int i = 0; i < n; i++)
            if (on[i] && (min < 0 || suffix_cmp(&it[i], &it[min]) < 0))
                min = i;
        if (min < 0 || (op == OP_DIFF && !on[0]))
            break;                 /* all done; SDIFF: the first set is */
        for (int i = 0; i < n; i++)
            holders += here[i] = on[i] && suffix_cmp(&it[i], &it[min]) == 0;
        if (op == OP_UNION || (here[0] && holders == 1))
            rc = list_add(out, it[min].suffix, it[min].slen);
        for (int i = 0; i < n; i++)
            if (here[i]) {
                cp_iter_next(&it[i]);
                on[i] = cp_iter_valid(&it[i]);
            }
    }
    for (int i = 0; it && i < n; i++) {
        if (rc == CHALK_OK && it[i].it)
            rc = chalk_iter_status(it[i].it);
        cp_iter_close(&it[i]);
    }
    free(it);
    free(on);
    free(here);
    return rc;
}

/* Probing costs a point lookup per member of the first set per other set;
 * merging costs a step per member of every set. SDIFF of a small set
 * against big ones probes (Redis's "algorithm 1"), else it merges. */
static bool diff_probes(const cp_meta *ms, int n)
{
    uint64_t others = 0;
    for (int i = 1; i < n; i++)
        others += ms[i].count;
    return ms[0].count * (uint64_t)(n - 1) * 8 < others;
}

/* Walk the set(s) op needs, collecting the result (at most `limit`
 * members, 0 = no limit). CHALK_OK or an error. */
static int set_algebra(int op, cp_meta *ms, int n, long limit, member_list *out)
{
    if (op == OP_UNION || (op == OP_DIFF && !diff_probes(ms, n)))
        return set_merge(op, ms, n, out);
    int first = 0, last = op == OP_UNION ? n - 1 : 0;
    if (op == OP_INTER)
        for (int i = 0; i < n; i++) {
            if (!ms[i].exists)
                return CHALK_OK;   /* an empty set: empty intersection */
            if (ms[i].count < ms[first].count)
                first = last = i;
        }
    int rc = CHALK_OK;
    for (int i = first; i <= last && rc == CHALK_OK; i++) {
        if (!ms[i].exists)
            continue;
        cp_iter ci;
        rc = cp_iter_open(&ci, ms[i].db, CP_SET, ms[i].key, ms[i].klen, NULL, 0);
        for (; rc == CHALK_OK && cp_iter_valid(&ci); cp_iter_next(&ci)) {
            if (limit && out->n >= limit)
                break;
            if (keep_member(op, ms, n, i, ci.suffix, ci.slen))
                rc = list_add(out, ci.suffix, ci.slen);
        }
        if (ci.it)
            cp_iter_close(&ci);
    }
    return rc;
}

static void reply_members(client *c, const member_list *l)
{
    reply_set(c, l->n);
    for (long i = 0; i < l->n; i++)
        reply_bulk(c, l->items[i].s, l->items[i].slen);
}

static void algebra_command(client *c, int op, int first)
{
    cp_meta *ms;
    int n = c->argc - first;
    if (load_sets(c, first, n, &ms) < 0)
        return;
    member_list l = {0};
    int rc = set_algebra(op, ms, n, 0, &l);
    if (rc != CHALK_OK)
        reply_engine_error(c, rc);
    else
        reply_members(c, &l);
    cp_items_free(l.items, l.n);
    free(ms);
}

static void sinter_command(client *c) { algebra_command(c, OP_INTER, 1); }
static void sunion_command(client *c) { algebra_command(c, OP_UNION, 1); }
static void sdiff_command(client *c) { algebra_command(c, OP_DIFF, 1); }
static void smembers_command(client *c) { algebra_command(c, OP_UNION, 1); }

/* Replace key dst (whatever its type) by the set l, in batch b; *existed
 * tells whether dst was there (an empty result then deletes it). */
static int store_set(chalk_batch *b, int db, const resp_arg *dst, const member_list *l,
                     bool *existed)
{
    cp_meta m;
    int rc = cp_store_begin(b, db, dst, KS_SET, l->n, &m);
    if (rc < 0)
        return rc;
    *existed = rc == 1;
    rc = CHALK_OK;
    for (long i = 0; rc == CHALK_OK && i < l->n; i++)
        rc = cp_put(b, db, CP_SET, dst->ptr, dst->len, l->items[i].s, l->items[i].slen, NULL, 0,
                    "", 0);
    m.exists = true;               /* deleted above if it was there */
    if (rc == CHALK_OK && l->n)
        rc = cp_meta_store(b, &m);
    return rc;
}

static void algebra_store_command(client *c, int op)
{
    cp_meta *ms;
    int n = c->argc - 2;
    if (load_sets(c, 2, n, &ms) < 0)
        return;
    member_list l = {0};
    chalk_batch *b = ks_batch();
    int rc = b ? set_algebra(op, ms, n, 0, &l) : CHALK_ENOMEM;
    bool existed = false;
    if (rc == CHALK_OK)
        rc = store_set(b, c->db, &c->argv[1], &l, &existed);
    if (rc != CHALK_OK)
        reply_engine_error(c, rc);
    else if (cp_commit(c, b)) {
        static const char *const events[] = {"sinterstore", "sunionstore", "sdiffstore"};
        cp_notify_stored(NOTIFY_SET, events[op], c->db, &c->argv[1], l.n, existed);
        reply_long(c, l.n);
    }
    cp_items_free(l.items, l.n);
    free(ms);
}

static void sinterstore_command(client *c) { algebra_store_command(c, OP_INTER); }
static void sunionstore_command(client *c) { algebra_store_command(c, OP_UNION); }
static void sdiffstore_command(client *c) { algebra_store_command(c, OP_DIFF); }

static void sintercard_command(client *c)
{
    long long numkeys, limit = 0;
    if (!arg_ll_range(c, &c->argv[1], 1, LLONG_MAX, "numkeys should be greater than 0", &numkeys))
        return;
    if (numkeys > c->argc - 2) {
        reply_error(c, "Number of keys can't be greater than number of args");
        return;
    }
    for (int i = 2 + (int)numkeys; i < c->argc; i += 2) {
        if (!arg_is(&c->argv[i], "limit") || i + 1 >= c->argc) {
            reply_error(c, ERR_SYNTAX);
            return;
        }
        if (!arg_ll(c, &c->argv[i + 1], &limit))
            return;
        if (limit < 0) {
            reply_error(c, "LIMIT can't be negative");
            return;
        }
    }
    cp_meta *ms;
    if (load_sets(c, 2, (int)numkeys, &ms) < 0)
        return;
    member_list l = {0};
    int rc = set_algebra(OP_INTER, ms, (int)numkeys, (long)limit, &l);
    if (rc != CHALK_OK)
        reply_engine_error(c, rc);
    else
        reply_long(c, l.n);
    cp_items_free(l.items, l.n);
    free(ms);
}

static void spop_command(client *c)
{
    long long count = 1;
    if (c->argc > 3) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    if (c->argc == 3 && !arg_ll_range(c, &c->argv[2], 0, LLONG_MAX,
                                      "value is out of range, must be positive", &count))
        return;
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], KS_SET, &m) < 0)
        return;
    if (!m.exists) {
        if (c->argc == 3)
            reply_set(c, 0);
        else
            reply_null(c);
        return;
    }
    cp_item *items;
    long n;
    chalk_batch *b = ks_batch();
    int rc = b ? cp_random_items(&m, CP_SET, (long)(count > (long long)m.count ? (long long)m.count : count),
                                 true, false, &items, &n)
               : CHALK_ENOMEM;
    if (rc != CHALK_OK) {
        reply_engine_error(c, rc);
        return;
    }
    for (long i = 0; rc == CHALK_OK && i < n; i++)
        rc = cp_del(b, m.db, CP_SET, m.key, m.klen, items[i].s, items[i].slen, NULL, 0);
    m.count -= (uint64_t)n;
    if (rc == CHALK_OK)
        rc = cp_meta_store(b, &m);
    if (rc != CHALK_OK)
        reply_engine_error(c, rc);
    else if (cp_commit(c, b)) {
        cp_notify(NOTIFY_SET, "spop", &m);
        if (c->argc == 3)
            reply_set(c, n);
        for (long i = 0; i < n; i++)
            reply_bulk(c, items[i].s, items[i].slen);
        if (c->argc == 2 && n == 0)
            reply_null(c);
    }
    cp_items_free(items, n);
}

static void srandmember_command(client *c)
{
    long long count = 1;
    if (c->argc > 3) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    if (c->argc == 3 && !cp_random_count(c, &c->argv[2], &count))
        return;
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], KS_SET, &m) < 0)
        return;
    cp_random_reply(c, &m, CP_SET, count, c->argc == 2, CP_SCAN_KEYS);
}

static void smove_command(client *c)
{
    cp_meta src, dst;
    const resp_arg *mem = &c->argv[3];
    int found = cp_lookup(c, c->db, &c->argv[1], KS_SET, &src);
    if (found == 0) {
        reply_long(c, 0);          /* Redis: no source, no type check of dst */
        return;
    }
    if (found < 0 || cp_lookup(c, c->db, &c->argv[2], KS_SET, &dst) < 0)
        return;
    if (!set_has(&src, mem->ptr, mem->len)) {
        reply_long(c, 0);
        return;
    }
    bool same = src.klen == dst.klen && memcmp(src.key, dst.key, src.klen) == 0;
    if (same) {
        reply_long(c, 1);
        return;
    }
    chalk_batch *b = ks_batch();
    int rc = b ? cp_begin(b, &dst) : CHALK_ENOMEM;
    if (rc == CHALK_OK)
        rc = cp_del(b, src.db, CP_SET, src.key, src.klen, mem->ptr, mem->len, NULL, 0);
    src.count--;
    if (rc == CHALK_OK)
        rc = cp_meta_store(b, &src);
    if (rc == CHALK_OK && !set_has(&dst, mem->ptr, mem->len)) {
        dst.count++;
        rc = cp_put(b, dst.db, CP_SET, dst.key, dst.klen, mem->ptr, mem->len, NULL, 0, "", 0);
        if (rc == CHALK_OK)
            rc = cp_meta_store(b, &dst);
    }
    if (rc != CHALK_OK)
        reply_engine_error(c, rc);
    else if (cp_commit(c, b)) {
        cp_notify(NOTIFY_SET, "srem", &src);
        cp_notify(NOTIFY_SET, "sadd", &dst);
        reply_long(c, 1);
    }
}

static void sscan_command(client *c)
{
    cp_scan_command(c, KS_SET, CP_SET, CP_SCAN_KEYS);
}

/* Arguments, for COMMAND DOCS (redis-cli's hints). */
static const command_arg store_args[] = {
    {"destination", ARG_KEY, NULL, 0, NULL},
    {"key", ARG_KEY, NULL, ARGF_MULTIPLE, NULL},
    {0}};
static const command_arg sintercard_args[] = {
    {"numkeys", ARG_INTEGER, NULL, 0, NULL},
    {"key", ARG_KEY, NULL, ARGF_MULTIPLE, NULL},
    {"limit", ARG_INTEGER, "LIMIT", ARGF_OPTIONAL, NULL},
    {0}};
static const command_arg smove_args[] = {
    {"source", ARG_KEY, NULL, 0, NULL},
    {"destination", ARG_KEY, NULL, 0, NULL},
    {"member", ARG_STRING, NULL, 0, NULL},
    {0}};
static const command_arg scan_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"cursor", ARG_INTEGER, NULL, 0, NULL},
    {"pattern", ARG_PATTERN, "MATCH", ARGF_OPTIONAL, NULL},
    {"count", ARG_INTEGER, "COUNT", ARGF_OPTIONAL, NULL},
    {0}};

#define SET_ROW(name, proc, arity, flags, first, last, since, cx, summary, args)            \
    {name, proc, arity, flags, first, last, 1, "set", since, cx, summary, args, NULL}

const command_def cmd_set_table[] = {
    SET_ROW("sadd", sadd_command, -3, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, "1.0.0",
            "O(1) for each element added, so O(N) to add N elements",
            "Adds one or more members to a set. Creates the key if it doesn't exist.", args_key_members),
    SET_ROW("srem", srem_command, -3, CMD_WRITE | CMD_FAST, 1, 1, "1.0.0",
            "O(N) where N is the number of members to be removed.",
            "Removes one or more members from a set. Deletes the set if the last member was removed.", args_key_members),
    SET_ROW("sismember", sismember_command, 3, CMD_READONLY | CMD_FAST, 1, 1, "1.0.0", "O(1)",
            "Determines whether a member belongs to a set.", args_key_member),
    SET_ROW("smismember", smismember_command, -3, CMD_READONLY | CMD_FAST, 1, 1, "6.2.0",
            "O(N) where N is the number of elements being checked for membership",
            "Determines whether multiple members belong to a set.", args_key_members),
    SET_ROW("scard", scard_command, 2, CMD_READONLY | CMD_FAST, 1, 1, "1.0.0", "O(1)",
            "Returns the number of members in a set.", args_key),
    SET_ROW("smembers", smembers_command, 2, CMD_READONLY, 1, 1, "1.0.0",
            "O(N) where N is the set cardinality.", "Returns all members of a set.", args_key),
    SET_ROW("sinter", sinter_command, -2, CMD_READONLY, 1, -1, "1.0.0",
            "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
            "Returns the intersect of multiple sets.", args_keys),
    SET_ROW("sunion", sunion_command, -2, CMD_READONLY, 1, -1, "1.0.0",
            "O(N*M) where N is the total number of elements in all given sets and M the number of sets (the sets are merged in order: M comparisons in memory per member, no lookups)",
            "Returns the union of multiple sets.", args_keys),
    SET_ROW("sdiff", sdiff_command, -2, CMD_READONLY, 1, -1, "1.0.0",
            "O(N*M) where N is the total number of elements in all given sets and M the number of sets (merged in order); when the first set is much smaller than the others, O(N*M) with N its cardinality (probes)",
            "Returns the difference of multiple sets.", args_keys),
    SET_ROW("sinterstore", sinterstore_command, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, "1.0.0",
            "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
            "Stores the intersect of multiple sets in a key.", store_args),
    SET_ROW("sunionstore", sunionstore_command, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, "1.0.0",
            "O(N*M) where N is the total number of elements in all given sets and M the number of sets (merged in order, no lookups)",
            "Stores the union of multiple sets in a key.", store_args),
    SET_ROW("sdiffstore", sdiffstore_command, -3, CMD_WRITE | CMD_DENYOOM, 1, -1, "1.0.0",
            "O(N*M) where N is the total number of elements in all given sets and M the number of sets (merged in order); when the first set is much smaller than the others, O(N*M) with N its cardinality (probes)",
            "Stores the difference of multiple sets in a key.", store_args),
    SET_ROW("sintercard", sintercard_command, -3, CMD_READONLY, 0, 0, "7.0.0",
            "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
            "Returns the number of members of the intersect of multiple sets.", sintercard_args),
    SET_ROW("spop", spop_command, -2, CMD_WRITE | CMD_FAST, 1, 1, "1.0.0",
            "O(count * log(N)): one seek by rank per pick; O(N) when count > N/16: one walk (Redis: O(count))",
            "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", args_key_count),
    SET_ROW("srandmember", srandmember_command, -2, CMD_READONLY, 1, 1, "1.0.0",
            "O(count * log(N)): one seek by rank per pick; O(N) when count > N/16: one walk (Redis: O(count))",
            "Get one or multiple random members from a set", args_key_count),
    SET_ROW("smove", smove_command, 4, CMD_WRITE | CMD_FAST, 1, 2, "1.0.0", "O(1)",
            "Moves a member from one set to another.", smove_args),
    SET_ROW("sscan", sscan_command, -3, CMD_READONLY, 1, 1, "2.0.0",
            "O(1) for every call. O(N) for a complete iteration.", "Iterates over members of a set.", scan_args),
    {0},
};
