/*
 * cmd_scan.c — listing keys: KEYS (all at once), SCAN (a page at a time,
 * with a cursor), RANDOMKEY.
 *
 * The one idea: SCAN's cursor is the engine's hash-index cursor
 * (chalk_scan): a position in the hash space, where the index keeps its
 * buckets in hash order (a bucket is the top bits of the hash), so that
 * counting it up visits buckets in an order that stays valid when the
 * table doubles or halves between two calls (a bucket of the old size is
 * the same slice of the hash space as the buckets it becomes). That
 * is what lets SCAN promise, with NO state on the server: every key that
 * exists for the whole scan is returned at least once; a key may come
 * twice; keys added or removed meanwhile may or may not appear. The
 * client keeps the only state, the cursor; 0 starts and 0 ends.
 *
 * The engine has one hash index for every database (keys are prefixed by
 * their db byte, keyspace.h), so a cursor walks all databases and this
 * file keeps the keys of the client's database: a page may be short, or
 * even empty with a non-zero cursor, which SCAN's contract allows
 * (Redis's MATCH does the same). To keep pages useful, one call walks
 * until it has seen COUNT keys of its database or 10 × COUNT keys in all.
 *
 * KEYS walks the database's prefix of the ordered index instead (the keys
 * come out sorted, which Redis does not promise), O(keys in the database):
 * it blocks the one thread for the whole walk, which is why production
 * code uses SCAN.
 *
 * Left out of this file: scanning a collection's members (HSCAN, SSCAN,
 * ZSCAN live with their types, cmd_hash.c, cmd_set.c, cmd_zset.c). SCAN's
 * TYPE filter asks
 * ks_type, which reads a value only when its size could be a collection's
 * main record.
 *
 * Interview topics: none tagged here; the cursor's walk is explained at
 * hidx_scan in engine/hash_index.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "glob.h"
#include "keyops.h"
#include "server.h"
#include "util.h"

/* ---- KEYS ----------------------------------------------------------------- */

/* "*" matches every key, also the empty one (stringmatch alone would not:
 * Redis special-cases it the same way). */
static bool all_keys(const resp_arg *pat) { return pat->len == 1 && pat->ptr[0] == '*'; }

static void keys_command(client *c)
{
    const resp_arg *pat = &c->argv[1];
    bool all = all_keys(pat);
    char prefix[KS_HDR];
    ks_prefix(prefix, c->db);
    chalk_iter *it = chalk_iter_new(server.db, NULL);
    if (!it) {
        reply_engine_error(c, CHALK_ENOMEM);
        return;
    }
    void *slot = reply_deferred(c);
    long n = 0;
    for (chalk_iter_seek(it, prefix, KS_HDR); chalk_iter_valid(it); chalk_iter_next(it)) {
        size_t eklen, klen;
        const char *key, *ek = chalk_iter_key(it, &eklen);
        if (!ks_decode(ek, eklen, c->db, &key, &klen))
            break;                      /* past the database's range */
        if (all || glob_match_bounded(pat->ptr, pat->len, key, klen, false)) {
            reply_bulk(c, key, klen);
            n++;
        }
    }
    chalk_iter_free(it);
    if (slot)
        reply_set_deferred_array(c, slot, n);
}

/* ---- SCAN ----------------------------------------------------------------- */

typedef struct scan_page {
    int db;
    int64_t now;
    char **keys;                 /* copies of the Redis keys of db */
    size_t *lens;
    size_t n, cap;
    size_t seen;                 /* keys of any db the walk visited */
    bool oom;
} scan_page;

static void scan_collect(void *arg, const void *ek, size_t eklen, int64_t expire_at_ms)
{
    scan_page *p = arg;
    const char *key;
    size_t klen;
    p->seen++;
    if (!ks_decode(ek, eklen, p->db, &key, &klen) || (expire_at_ms && expire_at_ms <= p->now))
        return;
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        char **k = realloc(p->keys, cap * sizeof *k);
        if (k)
            p->keys = k;
        size_t *l = k ? realloc(p->lens, cap * sizeof *l) : NULL;
        if (!l) {
            p->oom = true;
            return;
        }
        p->lens = l;
        p->cap = cap;
    }
    char *copy = malloc(klen + 1);
    if (!copy) {
        p->oom = true;
        return;
    }
    memcpy(copy, key, klen);
    p->keys[p->n] = copy;
    p->lens[p->n++] = klen;
}

static void page_free(scan_page *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->keys[i]);
    free(p->keys);
    free(p->lens);
}

typedef struct scan_opts {
    long long count;             /* COUNT, default 10 */
    const resp_arg *match;       /* NULL: every key */
    const resp_arg *type;        /* NULL: every type */
} scan_opts;

/* Redis's parseScanCursorOrReply (util.c string_to_cursor). */
static bool parse_cursor(client *c, const resp_arg *a, uint64_t *out)
{
    if (string_to_cursor(a->ptr, out))
        return true;
    reply_error(c, "invalid cursor");
    return false;
}

static bool parse_scan_opts(client *c, scan_opts *o)
{
    memset(o, 0, sizeof *o);
    o->count = 10;
    for (int i = 2; i < c->argc; i += 2) {
        bool has_value = i + 1 < c->argc;
        const resp_arg *a = &c->argv[i];
        if (arg_is(a, "count") && has_value) {
            if (!arg_ll(c, &c->argv[i + 1], &o->count))
                return false;
            if (o->count < 1) {
                reply_error(c, ERR_SYNTAX);
                return false;
            }
        } else if (arg_is(a, "match") && has_value) {
            o->match = all_keys(&c->argv[i + 1]) ? NULL : &c->argv[i + 1];
        } else if (arg_is(a, "type") && has_value) {
            o->type = &c->argv[i + 1];
        } else {
            reply_error(c, ERR_SYNTAX);
            return false;
        }
    }
    return true;
}

static bool scan_keep(const scan_opts *o, int db, const char *key, size_t klen)
{
    if (o->match && !glob_match_bounded(o->match->ptr, o->match->len, key, klen, false))
        return false;
    if (!o->type)
        return true;
    int type = ks_type(db, key, klen);
    return type >= 0 && strcasecmp(o->type->ptr, ks_type_name(type)) == 0;
}

static void scan_command(client *c)
{
    uint64_t cursor;
    scan_opts o;
    if (!parse_cursor(c, &c->argv[1], &cursor) || !parse_scan_opts(c, &o))
        return;
    scan_page p = {.db = c->db, .now = now_ms()};
    size_t want = (size_t)o.count, limit = want > SIZE_MAX / 10 ? SIZE_MAX : want * 10;
    do {
        cursor = chalk_scan(server.db, cursor, want, scan_collect, &p);
    } while (cursor != 0 && p.n < want && p.seen < limit && !p.oom);
    if (p.oom) {
        page_free(&p);
        reply_engine_error(c, CHALK_ENOMEM);
        return;
    }
    reply_array(c, 2);
    reply_bulk_long(c, (long long)cursor);
    void *slot = reply_deferred(c);
    long n = 0;
    for (size_t i = 0; i < p.n; i++)
        if (scan_keep(&o, c->db, p.keys[i], p.lens[i])) {
            reply_bulk(c, p.keys[i], p.lens[i]);
            n++;
        }
    if (slot)
        reply_set_deferred_array(c, slot, n);
    page_free(&p);
}

/* ---- RANDOMKEY ------------------------------------------------------------ */

/* The engine draws from every database at once: retry a few times for a
 * key of the client's database, then fall back to its first key in order
 * (so a small database next to a big one is still answered, less
 * randomly). */
static void randomkey_command(client *c)
{
    const char *key;
    size_t klen;
    for (int attempt = 0; attempt < 64; attempt++) {
        chalk_value v;
        if (chalk_random_key(server.db, &v) != CHALK_OK)
            break;
        bool mine = ks_decode(v.data, v.len, c->db, &key, &klen);
        if (mine)
            reply_bulk(c, key, klen);
        chalk_value_free(&v);
        if (mine)
            return;
    }
    char prefix[KS_HDR];
    ks_prefix(prefix, c->db);
    chalk_iter *it = chalk_iter_new(server.db, NULL);
    if (!it) {
        reply_engine_error(c, CHALK_ENOMEM);
        return;
    }
    chalk_iter_seek(it, prefix, KS_HDR);
    size_t eklen;
    const char *ek = chalk_iter_valid(it) ? chalk_iter_key(it, &eklen) : NULL;
    if (ek && ks_decode(ek, eklen, c->db, &key, &klen))
        reply_bulk(c, key, klen);
    else
        reply_null(c);
    chalk_iter_free(it);
}

/* ---- the table ------------------------------------------------------------ */

static const command_arg keys_args[] = {{"pattern", ARG_PATTERN, NULL, 0, NULL}, {0}};
static const command_arg scan_args[] = {
    {"cursor", ARG_INTEGER, NULL, 0, NULL},
    {"pattern", ARG_PATTERN, "MATCH", ARGF_OPTIONAL, NULL},
    {"count", ARG_INTEGER, "COUNT", ARGF_OPTIONAL, NULL},
    {"type", ARG_STRING, "TYPE", ARGF_OPTIONAL, NULL}, {0}};

const command_def cmd_scan_table[] = {
    {"keys", keys_command, 2, CMD_READONLY, 0, 0, 0, "generic", "1.0.0",
     "O(N) with N being the number of keys in the database, under the assumption that the key "
     "names in the database and the given pattern have limited length.",
     "Returns all key names that match a pattern.", keys_args, NULL},
    {"scan", scan_command, -2, CMD_READONLY, 0, 0, 0, "generic", "2.8.0",
     "O(1) for every call. O(N) for a complete iteration, including enough command calls for the "
     "cursor to return back to 0. N is the number of elements inside the collection.",
     "Iterates over the key names in the database.", scan_args, NULL},
    {"randomkey", randomkey_command, 1, CMD_READONLY, 0, 0, 0, "generic", "1.0.0", "O(1)",
     "Returns a random key name from the database.", NULL, NULL},
    {0},
};
