/*
 * cmd_string.c — the string commands: GET SET SETNX SETEX PSETEX GETSET
 * GETDEL GETEX MGET MSET MSETNX APPEND STRLEN GETRANGE SETRANGE SUBSTR,
 * with Redis 7's replies and error texts. (Counters: cmd_counter.c; LCS:
 * cmd_lcs.c.)
 *
 * The one idea: a Redis string is one engine record (keyspace.h: type
 * byte 0, then the bytes), so every command is the one shape of
 * commands.c: parse → look up (ks_get_string) → check type → change
 * (ks_set_string / server_write: never the engine directly, or appendfsync
 * always would acknowledge before durable) → reply. A read-modify-write
 * (APPEND, SETRANGE; INCR in cmd_counter.c) is atomic because one thread runs every command;
 * a multi-key write (MSET) is one batch, so a crash keeps all of it or none.
 *
 * Left out on purpose: in-place updates. APPEND and SETRANGE rewrite the
 * whole value as a new record (the log never updates in place), so
 * appending a byte to a 100 MB string writes 100 MB; Redis appends in
 * memory. The lesson: a log-structured store makes big mutable values
 * expensive, which is why the composite types store elements as separate
 * records. Also left out: remembering how a string was made, so OBJECT
 * ENCODING is derived from the bytes (cmd_keys.c).
 *
 * Interview topics: query.n-plus-one (MGET), db.crud (SET).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "expire.h"
#include "keyops.h"
#include "notify.h"
#include "server.h"
#include "util.h"

#define KEY(i) c->argv[i].ptr, c->argv[i].len

/* ---- SET and its options, shared with GETEX ------------------------------ */

enum {
    SET_NX = 1 << 0, SET_XX = 1 << 1, SET_GET = 1 << 2, SET_KEEPTTL = 1 << 3,
    SET_PERSIST = 1 << 4, SET_EX = 1 << 5, SET_PX = 1 << 6, SET_EXAT = 1 << 7,
    SET_PXAT = 1 << 8,
};
#define SET_EXPIRE (SET_EX | SET_PX | SET_EXAT | SET_PXAT)

typedef struct set_opts {
    unsigned flags;              /* SET_* */
    const resp_arg *expire;      /* the EX/PX/EXAT/PXAT argument, or NULL */
} set_opts;

/* One expiry token: legal if no other expiry, KEEPTTL or PERSIST was
 * given (the same token twice is allowed: the last one wins, as in Redis). */
static bool take_expire(client *c, int *j, unsigned flag, set_opts *o)
{
    if ((o->flags & (SET_EXPIRE & ~flag)) || (o->flags & (SET_KEEPTTL | SET_PERSIST)) ||
        *j + 1 >= c->argc)
        return false;
    o->flags |= flag;
    o->expire = &c->argv[++*j];
    return true;
}

/* Redis's parseExtendedStringArgumentsOrReply, for SET (getex false) and
 * GETEX (getex true). false: the syntax error was replied. Each line reads
 * "legal if <conditions>, and then set the flag" (the |= is never 0). */
static bool parse_set_opts(client *c, int first, bool getex, set_opts *o)
{
    memset(o, 0, sizeof *o);
    for (int j = first; j < c->argc; j++) {
        const resp_arg *a = &c->argv[j];
        bool ok;
        if (arg_is(a, "nx"))
            ok = !getex && !(o->flags & SET_XX) && (o->flags |= SET_NX);
        else if (arg_is(a, "xx"))
            ok = !getex && !(o->flags & SET_NX) && (o->flags |= SET_XX);
        else if (arg_is(a, "get"))
            ok = !getex && (o->flags |= SET_GET);
        else if (arg_is(a, "keepttl"))
            ok = !getex && !(o->flags & (SET_PERSIST | SET_EXPIRE)) && (o->flags |= SET_KEEPTTL);
        else if (arg_is(a, "persist"))
            ok = getex && !(o->flags & (SET_KEEPTTL | SET_EXPIRE)) && (o->flags |= SET_PERSIST);
        else if (arg_is(a, "ex"))
            ok = take_expire(c, &j, SET_EX, o);
        else if (arg_is(a, "px"))
            ok = take_expire(c, &j, SET_PX, o);
        else if (arg_is(a, "exat"))
            ok = take_expire(c, &j, SET_EXAT, o);
        else if (arg_is(a, "pxat"))
            ok = take_expire(c, &j, SET_PXAT, o);
        else
            ok = false;
        if (!ok) {
            reply_error(c, ERR_SYNTAX);
            return false;
        }
    }
    return true;
}

static void reply_bad_expire(client *c, const char *cmd)
{
    reply_errorf(c, "invalid expire time in '%s' command", cmd);
}

/* The absolute expiry (unix ms) an EX/PX/EXAT/PXAT argument asks for.
 * Redis refuses a value <= 0 and anything that overflows; an EXAT/PXAT in
 * the past is accepted (the key is then expired at once). false: the
 * error was replied. */
static bool parse_expire(client *c, unsigned flags, const resp_arg *arg, const char *cmd,
                         int64_t *out)
{
    long long v;
    if (!arg_ll(c, arg, &v))
        return false;
    long long unit = flags & (SET_EX | SET_EXAT) ? 1000 : 1;
    int64_t base = flags & (SET_EX | SET_PX) ? now_ms() : 0;
    if (v <= 0 || !expire_deadline(v, unit, base, out) || *out <= 0) {
        reply_bad_expire(c, cmd);
        return false;
    }
    return true;
}

static void reply_value(client *c, const chalk_value *v)
{
    reply_bulk(c, ks_payload(v), ks_payload_len(v));
}

/* The heart of SET, SETNX, SETEX, PSETEX: Redis's setGenericCommand. */
static void set_generic(client *c, const set_opts *o, const resp_arg *key, const resp_arg *val,
                        const char *cmd, bool nx_integer_reply)
{
    int64_t expire_at = 0;
    if (o->expire && !parse_expire(c, o->flags, o->expire, cmd, &expire_at))
        return;
    chalk_value old = {0};
    int found = 0;
    if (o->flags & (SET_GET | SET_NX | SET_XX | SET_KEEPTTL)) {
        int rc = ks_lookup(c->db, key->ptr, key->len, &old);
        if (rc != CHALK_OK && rc != CHALK_ENOTFOUND) {
            reply_engine_error(c, rc);
            return;
        }
        found = rc == CHALK_OK;
        if (found && (o->flags & SET_GET) && ks_type_of(&old) != KS_STRING) {
            chalk_value_free(&old);
            reply_error(c, ERR_WRONGTYPE);
            return;
        }
    }
    if (((o->flags & SET_NX) && found) || ((o->flags & SET_XX) && !found)) {
        if (o->flags & SET_GET)
            found ? reply_value(c, &old) : reply_null(c);
        else if (nx_integer_reply)
            reply_long(c, 0);
        else
            reply_null(c);
        chalk_value_free(&old);
        return;
    }
    if ((o->flags & SET_KEEPTTL) && found)
        expire_at = old.expire_at_ms;
    int rc = ks_set_string(c, c->db, key->ptr, key->len, val->ptr, val->len, expire_at);
    if (rc == CHALK_OK) {                  /* keyspace events (notify.c) */
        notify_keyspace_event(NOTIFY_STRING, "set", c->db, key->ptr, key->len);
        if (o->expire)
            notify_keyspace_event(NOTIFY_GENERIC, "expire", c->db, key->ptr, key->len);
    }
    if (rc != CHALK_OK)
        reply_engine_error(c, rc);
    else if (o->flags & SET_GET)
        found ? reply_value(c, &old) : reply_null(c);
    else if (nx_integer_reply)
        reply_long(c, 1);
    else
        reply_ok(c);
    chalk_value_free(&old);
}

/* @interview(db.crud): What are create, read, update and delete in a
 * key-value store? SET is create-or-update (an upsert; NX makes it
 * create-only, XX update-only), GET is read, DEL is delete: each is one
 * record appended to the log plus one index change, so an update costs
 * the same as a create and never rewrites the old bytes in place. */
static void set_command(client *c)
{
    set_opts o;
    if (!parse_set_opts(c, 3, false, &o))
        return;
    set_generic(c, &o, &c->argv[1], &c->argv[2], "set", false);
}

static void setnx_command(client *c)
{
    set_opts o = {.flags = SET_NX};
    set_generic(c, &o, &c->argv[1], &c->argv[2], "setnx", true);
}

static void setex_common(client *c, unsigned unit_flag, const char *cmd)
{
    set_opts o = {.flags = unit_flag, .expire = &c->argv[2]};
    set_generic(c, &o, &c->argv[1], &c->argv[3], cmd, false);
}

static void setex_command(client *c) { setex_common(c, SET_EX, "setex"); }
static void psetex_command(client *c) { setex_common(c, SET_PX, "psetex"); }

static void getset_command(client *c)
{
    set_opts o = {.flags = SET_GET};
    set_generic(c, &o, &c->argv[1], &c->argv[2], "getset", false);
}

/* ---- reads --------------------------------------------------------------- */

/* The start of GET, GETDEL and GETEX: the string at argv[1] into *v
 * (chalk_value_free it), true; or false after replying the null (no such
 * key) or the error (WRONGTYPE; ks_get_string). */
static bool get_or_null(client *c, chalk_value *v)
{
    int r = ks_get_string(c, c->db, KEY(1), v, true);
    if (r == 0)
        reply_null(c);
    return r > 0;
}

static void get_command(client *c)
{
    chalk_value v;
    if (!get_or_null(c, &v))
        return;
    reply_value(c, &v);
    chalk_value_free(&v);
}

static void getdel_command(client *c)
{
    chalk_value v;
    if (!get_or_null(c, &v))
        return;
    chalk_batch *b = ks_batch();
    int rc = b ? ks_delete_key(b, c->db, KEY(1)) : CHALK_ENOMEM;
    if (rc >= 0)
        rc = server_write(c, b);
    if (rc != CHALK_OK)
        reply_engine_error(c, rc);
    else
    {
        notify_keyspace_event(NOTIFY_GENERIC, "del", c->db, KEY(1));   /* notify.c */
        reply_value(c, &v);
    }
    chalk_value_free(&v);
}

/* GETEX key [EX s | PX ms | EXAT t | PXAT t | PERSIST] */
static void getex_command(client *c)
{
    set_opts o;
    int64_t expire_at = 0;
    if (!parse_set_opts(c, 2, true, &o))
        return;
    if (o.expire && !parse_expire(c, o.flags, o.expire, "getex", &expire_at))
        return;
    chalk_value v;
    if (!get_or_null(c, &v))
        return;
    int rc = CHALK_OK;
    const char *event = NULL;                  /* keyspace event (notify.c) */
    if (o.expire && expire_at <= now_ms()) {   /* a time in the past: delete */
        event = "del";
        chalk_batch *b = ks_batch();
        rc = b ? ks_delete_key(b, c->db, KEY(1)) : CHALK_ENOMEM;
        if (rc >= 0)
            rc = server_write(c, b);
    } else if (o.expire) {
        event = "expire";
        rc = ks_put_value(c, c->db, KEY(1), &v, expire_at);
    } else if ((o.flags & SET_PERSIST) && v.expire_at_ms) {
        event = "persist";
        rc = ks_put_value(c, c->db, KEY(1), &v, 0);
    }
    if (rc == CHALK_OK && event)
        notify_keyspace_event(NOTIFY_GENERIC, event, c->db, KEY(1));
    if (rc != CHALK_OK)
        reply_engine_error(c, rc);
    else
        reply_value(c, &v);
    chalk_value_free(&v);
}

/* @interview(query.n-plus-one): What is the N+1 problem, and what does a
 * database offer against it? Fetching N things with N requests pays N
 * round trips (and N parses, N syscalls); MGET returns N keys in one
 * request and one reply, so the client waits for the network once. The
 * same cure in SQL is a join or an IN (...) list instead of a query per
 * row; in Redis it is MGET/MSET or pipelining. */
static void mget_command(client *c)
{
    reply_array(c, c->argc - 1);
    for (int i = 1; i < c->argc; i++) {
        chalk_value v;
        int rc = ks_lookup_read(c->db, KEY(i), &v);
        if (rc == CHALK_OK && ks_type_of(&v) == KS_STRING)
            reply_value(c, &v);
        else
            reply_null(c);       /* absent, another type, or unreadable */
        if (rc == CHALK_OK)
            chalk_value_free(&v);
    }
}

static void strlen_command(client *c)
{
    chalk_value v;
    int r = ks_get_string(c, c->db, KEY(1), &v, true);
    if (r == 0)
        reply_long(c, 0);
    if (r <= 0)
        return;
    reply_long(c, (long long)ks_payload_len(&v));
    chalk_value_free(&v);
}

/* GETRANGE's index arithmetic, Redis's getrangeCommand: negative indexes
 * count from the end, then both are clamped into the string. Returns
 * false for an empty result. */
static bool clamp_range(long long start, long long end, size_t len, size_t *from, size_t *n)
{
    long long slen = (long long)len;         /* <= 512 MB: no overflow below */
    if (start < 0 && end < 0 && start > end)
        return false;
    if (start < 0)
        start = slen + start;
    if (end < 0)
        end = slen + end;
    if (start < 0)
        start = 0;
    if (end < 0)
        end = 0;
    if (end >= slen)
        end = slen - 1;
    if (start > end || slen == 0)
        return false;
    *from = (size_t)start;
    *n = (size_t)(end - start + 1);
    return true;
}

static void getrange_command(client *c)
{
    long long start, end;
    if (!arg_ll(c, &c->argv[2], &start) || !arg_ll(c, &c->argv[3], &end))
        return;
    chalk_value v;
    int r = ks_get_string(c, c->db, KEY(1), &v, true);
    if (r == 0)
        reply_bulk(c, "", 0);
    if (r <= 0)
        return;
    size_t from, n;
    if (clamp_range(start, end, ks_payload_len(&v), &from, &n))
        reply_bulk(c, ks_payload(&v) + from, n);
    else
        reply_bulk(c, "", 0);
    chalk_value_free(&v);
}

/* ---- multi-key writes ---------------------------------------------------- */

/* MSET / MSETNX: every pair in ONE batch, so recovery applies all of them
 * or none (Redis: atomic because single-threaded; here also crash-atomic). */
/* Up to MSET_RUN pairs from argv[first]: their engine keys built and
 * hashed once (chalk_key_prepare starts loading each bucket), then the
 * entries the buckets lead to prefetched together, so the type lookups'
 * cache misses overlap instead of coming one after another (prefetch_keys
 * in networking.c covers only argument 1 of a pipelined request); the
 * lookup and the put reuse the hash. */
#define MSET_RUN 16
static int mset_run(client *c, chalk_batch *b, int first, int npairs)
{
    ks_buf ek[MSET_RUN];
    chalk_key kk[MSET_RUN];
    int built = 0, rc = CHALK_OK;
    for (; built < npairs; built++) {
        const resp_arg *k = &c->argv[first + 2 * built];
        if (ks_key(&ek[built], c->db, k->ptr, k->len) < 0) {
            rc = CHALK_ENOMEM;
            break;
        }
        chalk_key_prepare(server.db, &kk[built], ek[built].p, ek[built].len);
    }
    for (int j = 0; j < built; j++)          /* the buckets have arrived */
        chalk_key_prefetch_entry(server.db, &kk[j]);
    for (int j = 0; rc == CHALK_OK && j < built; j++) {
        int i = first + 2 * j;
        ks_buf ev;
        rc = ks_replace_prepare_key(b, c->db, KEY(i), &kk[j]);
        if (rc != CHALK_OK)
            break;
        if (ks_value(&ev, KS_STRING, c->argv[i + 1].ptr, c->argv[i + 1].len) < 0) {
            rc = CHALK_ENOMEM;
            break;
        }
        rc = chalk_batch_put_prepared(b, &kk[j], ev.p, ev.len, 0);
        ks_free(&ev);
    }
    for (int j = 0; j < built; j++)
        ks_free(&ek[j]);
    return rc;
}

/* MSET / MSETNX: every pair in ONE batch, so recovery applies all of them
 * or none (Redis: atomic because single-threaded; here also crash-atomic). */
static int mset_write(client *c)
{
    chalk_batch *b = ks_batch();
    if (!b)
        return CHALK_ENOMEM;
    for (int i = 1; i + 1 < c->argc; i += 2 * MSET_RUN) {
        int left = (c->argc - i) / 2;
        int rc = mset_run(c, b, i, left < MSET_RUN ? left : MSET_RUN);
        if (rc != CHALK_OK)
            return rc;
    }
    int rc = server_write(c, b);
    for (int i = 1; rc == CHALK_OK && i + 1 < c->argc; i += 2)
        notify_keyspace_event(NOTIFY_STRING, "set", c->db, KEY(i));   /* notify.c */
    return rc;
}

static bool mset_arity(client *c, const char *cmd)
{
    if (c->argc % 2 == 1)
        return true;
    reply_errorf(c, "wrong number of arguments for '%s' command", cmd);
    return false;
}

static void mset_command(client *c)
{
    if (!mset_arity(c, "mset"))
        return;
    int rc = mset_write(c);
    if (rc != CHALK_OK)
        reply_engine_error(c, rc);
    else
        reply_ok(c);
}

static void msetnx_command(client *c)
{
    if (!mset_arity(c, "msetnx"))
        return;
    for (int i = 1; i < c->argc; i += 2)
        if (ks_exists(c->db, KEY(i))) {
            reply_long(c, 0);
            return;
        }
    int rc = mset_write(c);
    if (rc != CHALK_OK)
        reply_engine_error(c, rc);
    else
        reply_long(c, 1);
}

/* ---- read-modify-write --------------------------------------------------- */

/* Redis's checkStringLength: a string of `have` + `add` bytes must fit
 * proto-max-bulk-len. Checked BEFORE anything is allocated, without
 * overflow, so "SETRANGE k 9223372036854775807 x" costs nothing. */
static bool size_ok(client *c, unsigned long long have, unsigned long long add)
{
    unsigned long long max = (unsigned long long)server.cfg.proto_max_bulk_len;
    if (have > max || add > max - have) {
        reply_error(c, "string exceeds maximum allowed size (proto-max-bulk-len)");
        return false;
    }
    return true;
}

/* The end of APPEND and SETRANGE: store as argv[1] the string of `len`
 * bytes made of the old one (v, if found) with val's bytes written at
 * offset `at` (a gap reads as zero bytes), keeping the key's expiry; free
 * v; publish `event` and reply the new length, or reply the error. */
static void splice_reply(client *c, chalk_value *v, bool found, size_t len, size_t at,
                         const resp_arg *val, const char *event)
{
    size_t have = found ? ks_payload_len(v) : 0;
    char *buf = calloc(1, 1 + len);          /* [0]: the type byte */
    int rc = buf ? CHALK_OK : CHALK_ENOMEM;
    if (buf) {
        buf[0] = KS_STRING;
        if (have)
            memcpy(buf + 1, ks_payload(v), have);
        memcpy(buf + 1 + at, val->ptr, val->len);
        chalk_value nv = {.data = buf, .len = len + 1};
        rc = ks_put_value(c, c->db, KEY(1), &nv, found ? v->expire_at_ms : 0);
    }
    free(buf);
    chalk_value_free(v);
    if (rc != CHALK_OK) {
        reply_engine_error(c, rc);
        return;
    }
    notify_keyspace_event(NOTIFY_STRING, event, c->db, KEY(1));   /* notify.c */
    reply_long(c, (long long)len);
}

static void append_command(client *c)
{
    chalk_value v = {0};
    int r = ks_get_string(c, c->db, KEY(1), &v, false);
    if (r < 0)
        return;
    size_t have = r ? ks_payload_len(&v) : 0;
    if (!size_ok(c, have, c->argv[2].len)) {
        chalk_value_free(&v);
        return;
    }
    splice_reply(c, &v, r > 0, have + c->argv[2].len, have, &c->argv[2], "append");
}

static void setrange_command(client *c)
{
    long long offset;
    if (!arg_ll(c, &c->argv[2], &offset))
        return;
    if (offset < 0) {
        reply_error(c, "offset is out of range");
        return;
    }
    chalk_value v = {0};
    int r = ks_get_string(c, c->db, KEY(1), &v, false);
    if (r < 0)
        return;
    size_t have = r ? ks_payload_len(&v) : 0;
    const resp_arg *val = &c->argv[3];
    if (val->len == 0 || !size_ok(c, (unsigned long long)offset, val->len)) {
        if (val->len == 0)
            reply_long(c, (long long)have);   /* nothing to write */
        chalk_value_free(&v);
        return;
    }
    size_t end = (size_t)offset + val->len, len = end > have ? end : have;
    splice_reply(c, &v, r > 0, len, (size_t)offset, val, "setrange");
}

/* ---- the table ----------------------------------------------------------- */

static const command_arg key_value_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL}, {"value", ARG_STRING, NULL, 0, NULL}, {0}};
static const command_arg set_cond[] = {
    {"nx", ARG_PURE_TOKEN, "NX", 0, NULL}, {"xx", ARG_PURE_TOKEN, "XX", 0, NULL}, {0}};
static const command_arg set_expiry[] = {
    {"seconds", ARG_INTEGER, "EX", 0, NULL}, {"milliseconds", ARG_INTEGER, "PX", 0, NULL},
    {"unix-time-seconds", ARG_UNIX_TIME, "EXAT", 0, NULL},
    {"unix-time-milliseconds", ARG_UNIX_TIME, "PXAT", 0, NULL},
    {"keepttl", ARG_PURE_TOKEN, "KEEPTTL", 0, NULL}, {0}};
static const command_arg set_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL}, {"value", ARG_STRING, NULL, 0, NULL},
    {"condition", ARG_ONEOF, NULL, ARGF_OPTIONAL, set_cond},
    {"get", ARG_PURE_TOKEN, "GET", ARGF_OPTIONAL, NULL},
    {"expiration", ARG_ONEOF, NULL, ARGF_OPTIONAL, set_expiry}, {0}};
static const command_arg getex_expiry[] = {
    {"seconds", ARG_INTEGER, "EX", 0, NULL}, {"milliseconds", ARG_INTEGER, "PX", 0, NULL},
    {"unix-time-seconds", ARG_UNIX_TIME, "EXAT", 0, NULL},
    {"unix-time-milliseconds", ARG_UNIX_TIME, "PXAT", 0, NULL},
    {"persist", ARG_PURE_TOKEN, "PERSIST", 0, NULL}, {0}};
static const command_arg getex_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL}, {"expiration", ARG_ONEOF, NULL, ARGF_OPTIONAL, getex_expiry}, {0}};
static const command_arg setex_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL}, {"seconds", ARG_INTEGER, NULL, 0, NULL},
    {"value", ARG_STRING, NULL, 0, NULL}, {0}};
static const command_arg psetex_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL}, {"milliseconds", ARG_INTEGER, NULL, 0, NULL},
    {"value", ARG_STRING, NULL, 0, NULL}, {0}};
static const command_arg pair_members[] = {
    {"key", ARG_KEY, NULL, 0, NULL}, {"value", ARG_STRING, NULL, 0, NULL}, {0}};
static const command_arg mset_args[] = {{"data", ARG_BLOCK, NULL, ARGF_MULTIPLE, pair_members}, {0}};
static const command_arg range_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL}, {"start", ARG_INTEGER, NULL, 0, NULL},
    {"end", ARG_INTEGER, NULL, 0, NULL}, {0}};
static const command_arg setrange_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL}, {"offset", ARG_INTEGER, NULL, 0, NULL},
    {"value", ARG_STRING, NULL, 0, NULL}, {0}};

#define W (CMD_WRITE | CMD_DENYOOM)
#define WF (CMD_WRITE | CMD_DENYOOM | CMD_FAST)
#define R (CMD_READONLY)
#define RF (CMD_READONLY | CMD_FAST)
#define S "string"
const command_def cmd_string_table[] = {
    {"get", get_command, 2, RF, 1, 1, 1, S, "1.0.0", "O(1)",
     "Returns the string value of a key.", args_key, NULL},
    {"set", set_command, -3, W, 1, 1, 1, S, "1.0.0", "O(1)",
     "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
     set_args, NULL},
    {"setnx", setnx_command, 3, WF, 1, 1, 1, S, "1.0.0", "O(1)",
     "Set the string value of a key only when the key doesn't exist.", key_value_args, NULL},
    {"setex", setex_command, 4, W, 1, 1, 1, S, "2.0.0", "O(1)",
     "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
     setex_args, NULL},
    {"psetex", psetex_command, 4, W, 1, 1, 1, S, "2.6.0", "O(1)",
     "Sets both string value and expiration time in milliseconds of a key. The key is created if "
     "it doesn't exist.", psetex_args, NULL},
    {"getset", getset_command, 3, WF, 1, 1, 1, S, "1.0.0", "O(1)",
     "Returns the previous string value of a key after setting it to a new value.", key_value_args, NULL},
    {"getdel", getdel_command, 2, CMD_WRITE | CMD_FAST, 1, 1, 1, S, "6.2.0", "O(1)",
     "Returns the string value of a key after deleting the key.", args_key, NULL},
    {"getex", getex_command, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, S, "6.2.0", "O(1)",
     "Returns the string value of a key after setting its expiration time.", getex_args, NULL},
    {"mget", mget_command, -2, RF, 1, -1, 1, S, "1.0.0", "O(N) where N is the number of keys to retrieve.",
     "Atomically returns the string values of one or more keys.", args_keys, NULL},
    {"mset", mset_command, -3, W, 1, -1, 2, S, "1.0.1", "O(N) where N is the number of keys to set.",
     "Atomically creates or modifies the string values of one or more keys.", mset_args, NULL},
    {"msetnx", msetnx_command, -3, W, 1, -1, 2, S, "1.0.1", "O(N) where N is the number of keys to set.",
     "Atomically modifies the string values of one or more keys only when all keys don't exist.",
     mset_args, NULL},
    {"append", append_command, 3, WF, 1, 1, 1, S, "2.0.0",
     "O(1) in Redis; O(N) in Chalk, which rewrites the whole value as a new log record",
     "Appends a string to the value of a key. Creates the key if it doesn't exist.", key_value_args, NULL},
    {"strlen", strlen_command, 2, RF, 1, 1, 1, S, "2.2.0", "O(1)",
     "Returns the length of a string value.", args_key, NULL},
    {"getrange", getrange_command, 4, R, 1, 1, 1, S, "2.4.0",
     "O(N) where N is the length of the returned string.",
     "Returns a substring of the string stored at a key.", range_args, NULL},
    {"substr", getrange_command, 4, R, 1, 1, 1, S, "1.0.0",
     "O(N) where N is the length of the returned string.",
     "Returns a substring from a string value.", range_args, NULL},
    {"setrange", setrange_command, 4, W, 1, 1, 1, S, "2.2.0",
     "O(1), not counting the time taken to copy the new string in place; O(N) in Chalk (the value is "
     "rewritten)",
     "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't "
     "exist.", setrange_args, NULL},
{0},
};
