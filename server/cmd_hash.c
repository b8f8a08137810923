/*
 * cmd_hash.c — the hash commands: HSET HGET HMGET HMSET HDEL HEXISTS HLEN
 * HGETALL HKEYS HVALS HINCRBY HINCRBYFLOAT HSETNX HSTRLEN HSCAN HRANDFIELD.
 *
 * The one idea: a hash is a table of one row per field. Each field is its
 * own engine record [db]['h'][klen][key][field] → value (composite.h), so
 * HGET is one point lookup and HGETALL is one range walk; the main record
 * keeps the field count, so HLEN never walks.
 *
 * Left out on purpose: Redis's small-hash listpack encoding (a whole small
 * hash in one value). The cost: every field pays a record header and an
 * index entry, even in a 3-field hash; the gain: HSET of one field in a
 * 100k-field hash writes one record, not the whole hash.
 *
 * Every command follows THE ONE SHAPE (commands.c): parse → look up the
 * main record (cp_lookup: WRONGTYPE) → change in ONE batch (sub-records +
 * the new count) → reply.
 *
 * Interview topics: query.n-plus-one (hmget_command).
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "composite.h"
#include "keyops.h"
#include "notify.h"
#include "util.h"

/* Set fields argv[first], argv[first+1], ... (field, value pairs) of m in
 * batch b; fk, if not NULL, is the first field's key, prepared before m was
 * looked up (cp_key_prepare). Returns the number of new fields, or a
 * CHALK_E* error. */
static long hash_set_pairs(client *c, chalk_batch *b, cp_meta *m, int first, const cp_key *fk)
{
    long npairs = (c->argc - first) / 2, added = 0;
    long *prev = cp_prev_dups(c, first, 2, npairs);
    if (!prev)
        return CHALK_ENOMEM;
    int rc = cp_begin(b, m);
    for (long i = 0; rc == CHALK_OK && i < npairs; i++) {
        const resp_arg *f = &c->argv[first + 2 * i], *v = f + 1;
        const cp_key *pk = i == 0 ? fk : NULL;
        if (prev[i] < 0 &&
            !(m->exists && (pk ? cp_key_has(pk)
                               : cp_has(m->db, CP_HASH, m->key, m->klen, f->ptr, f->len))))
            added++;
        rc = pk ? cp_key_put(b, pk, v->ptr, v->len)
                : cp_put(b, m->db, CP_HASH, m->key, m->klen, f->ptr, f->len, NULL, 0, v->ptr, v->len);
    }
    free(prev);
    m->count += (uint64_t)added;
    if (rc == CHALK_OK)
        rc = cp_meta_store(b, m);
    return rc == CHALK_OK ? added : rc;
}

static void hset_generic(client *c, bool reply_count)
{
    if (c->argc % 2 != 0) {
        reply_errorf(c, "wrong number of arguments for '%s' command", reply_count ? "hset" : "hmset");
        return;
    }
    cp_meta m;
    cp_key fk;    /* the first field's key: its bucket comes in during cp_lookup */
    if (cp_key_prepare(&fk, c->db, CP_HASH, c->argv[1].ptr, c->argv[1].len, c->argv[2].ptr,
                       c->argv[2].len) != CHALK_OK) {
        reply_engine_error(c, CHALK_ENOMEM);
        return;
    }
    if (cp_lookup(c, c->db, &c->argv[1], KS_HASH, &m) < 0)
        goto out;
    chalk_batch *b = ks_batch();
    long added = b ? hash_set_pairs(c, b, &m, 2, &fk) : CHALK_ENOMEM;
    if (added < 0) {
        reply_engine_error(c, (int)added);
        goto out;
    }
    if (!cp_commit(c, b))
        goto out;
    cp_notify(NOTIFY_HASH, "hset", &m);
    if (reply_count)
        reply_long(c, added);
    else
        reply_ok(c);
out:
    cp_key_free(&fk);
}

static void hset_command(client *c) { hset_generic(c, true); }
static void hmset_command(client *c) { hset_generic(c, false); }

static void hsetnx_command(client *c)
{
    cp_meta m;
    const resp_arg *f = &c->argv[2];
    if (cp_lookup(c, c->db, &c->argv[1], KS_HASH, &m) < 0)
        return;
    if (m.exists && cp_has(m.db, CP_HASH, m.key, m.klen, f->ptr, f->len)) {
        reply_long(c, 0);
        return;
    }
    chalk_batch *b = ks_batch();
    long added = b ? hash_set_pairs(c, b, &m, 2, NULL) : CHALK_ENOMEM;
    if (added < 0) {
        reply_engine_error(c, (int)added);
        return;
    }
    if (cp_commit(c, b)) {
        cp_notify(NOTIFY_HASH, "hset", &m);
        reply_long(c, 1);
    }
}

/* Reply a field's value v, read with status rc: v, or null. */
static void reply_read(client *c, int rc, chalk_value *v)
{
    if (rc == CHALK_OK) {
        reply_bulk(c, v->data, v->len);
        chalk_value_free(v);
    } else {
        reply_null(c);
    }
}

/* Reply one field's value, or null. */
static void reply_field(client *c, const cp_meta *m, const resp_arg *f)
{
    chalk_value v;
    int rc = m->exists ? cp_get(m->db, CP_HASH, m->key, m->klen, f->ptr, f->len, &v)
                       : CHALK_ENOTFOUND;
    reply_read(c, rc, &v);
}

static void hget_command(client *c)
{
    cp_meta m;
    cp_key fk;    /* the field's key: its bucket comes in during cp_lookup */
    if (cp_key_prepare(&fk, c->db, CP_HASH, c->argv[1].ptr, c->argv[1].len, c->argv[2].ptr,
                       c->argv[2].len) != CHALK_OK) {
        reply_engine_error(c, CHALK_ENOMEM);
        return;
    }
    if (cp_lookup(c, c->db, &c->argv[1], KS_HASH, &m) >= 0) {
        chalk_value v;
        reply_read(c, m.exists ? cp_key_get(&fk, &v) : CHALK_ENOTFOUND, &v);
    }
    cp_key_free(&fk);
}

/* The prefetch hint of HGET, HEXISTS, HSET, HINCRBY (key field ...): the
 * first field's record, whose index entry is the miss a pipelined HGET
 * waits for once the hash's main record has been prefetched. */
static int hash_field_prefetch(int db, const resp_slice *a, int n, chalk_key *out, int max)
{
    return n < 3 ? 0 : cp_key_hint(db, CP_HASH, &a[1], &a[2], out, max);
}

/* @interview(query.n-plus-one): What is the N+1 problem, and how does a
 * key-value store avoid it? Fetching a list and then each item with its
 * own request costs N+1 round trips; HMGET (or MGET, or a pipeline) asks
 * for N fields in ONE request: one round trip and one command-dispatch,
 * with N cheap point lookups inside the server (hmget_command). */
static void hmget_command(client *c)
{
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], KS_HASH, &m) < 0)
        return;
    reply_array(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++)
        reply_field(c, &m, &c->argv[i]);
}

static void hdel_command(client *c)
{
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], KS_HASH, &m) < 0)
        return;
    if (!m.exists) {
        reply_long(c, 0);
        return;
    }
    long n = c->argc - 2, deleted = 0;
    long *prev = cp_prev_dups(c, 2, 1, n);
    chalk_batch *b = ks_batch();
    int rc = prev && b ? CHALK_OK : CHALK_ENOMEM;
    for (long i = 0; rc == CHALK_OK && i < n; i++) {
        const resp_arg *f = &c->argv[2 + i];
        if (prev[i] >= 0 || !cp_has(m.db, CP_HASH, m.key, m.klen, f->ptr, f->len))
            continue;
        deleted++;
        rc = cp_del(b, m.db, CP_HASH, m.key, m.klen, f->ptr, f->len, NULL, 0);
    }
    free(prev);
    m.count -= (uint64_t)deleted;
    if (rc == CHALK_OK && deleted)
        rc = cp_meta_store(b, &m);
    cp_reply_changed(c, b, rc, deleted, NOTIFY_HASH, "hdel", &m);
}

static void hexists_command(client *c)
{
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], KS_HASH, &m) < 0)
        return;
    const resp_arg *f = &c->argv[2];
    reply_long(c, m.exists && cp_has(m.db, CP_HASH, m.key, m.klen, f->ptr, f->len));
}

static void hlen_command(client *c) { cp_card_command(c, KS_HASH); }

static void hstrlen_command(client *c)
{
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], KS_HASH, &m) < 0)
        return;
    const resp_arg *f = &c->argv[2];
    chalk_value v;
    if (m.exists && cp_get(m.db, CP_HASH, m.key, m.klen, f->ptr, f->len, &v) == CHALK_OK) {
        reply_long(c, (long long)v.len);
        chalk_value_free(&v);
    } else {
        reply_long(c, 0);
    }
}

enum { WANT_KEYS = 1, WANT_VALUES = 2 };

/* HGETALL / HKEYS / HVALS: one walk of the field range. */
static void hgetall_generic(client *c, int want)
{
    cp_meta m;
    if (cp_lookup(c, c->db, &c->argv[1], KS_HASH, &m) < 0)
        return;
    if (want == (WANT_KEYS | WANT_VALUES))
        reply_map(c, (long)m.count);
    else
        reply_array(c, (long)m.count);
    if (!m.exists)
        return;
    cp_iter ci;
    long n = 0;
    if (cp_iter_open(&ci, m.db, CP_HASH, m.key, m.klen, NULL, 0) == CHALK_OK) {
        for (; n < (long)m.count && cp_iter_valid(&ci); cp_iter_next(&ci), n++) {
            if (want & WANT_KEYS)
                reply_bulk(c, ci.suffix, ci.slen);
            if (want & WANT_VALUES)
                cp_reply_value(c, &ci, CP_SCAN_VALUES);
        }
        cp_iter_close(&ci);
    }
    for (; n < (long)m.count; n++) {       /* never: count is kept exact */
        if (want & WANT_KEYS)
            reply_null(c);
        if (want & WANT_VALUES)
            reply_null(c);
    }
}

static void hgetall_command(client *c) { hgetall_generic(c, WANT_KEYS | WANT_VALUES); }
static void hkeys_command(client *c) { hgetall_generic(c, WANT_KEYS); }
static void hvals_command(client *c) { hgetall_generic(c, WANT_VALUES); }

/* The read half of HINCRBY*: look up hash argv[1] into *m and read its
 * field argv[2], the text of the number to add to, into *out (a copy, NUL
 * terminated). 1 found, 0 no such field (or hash), -1 replied (WRONGTYPE,
 * an engine error). */
static int field_text(client *c, cp_meta *m, chalk_value *out)
{
    if (cp_lookup(c, c->db, &c->argv[1], KS_HASH, m) < 0)
        return -1;
    const resp_arg *f = &c->argv[2];
    int rc = m->exists ? cp_get(m->db, CP_HASH, m->key, m->klen, f->ptr, f->len, out)
                       : CHALK_ENOTFOUND;
    if (rc == CHALK_OK || rc == CHALK_ENOTFOUND)
        return rc == CHALK_OK;
    reply_engine_error(c, rc);
    return -1;
}

/* Store one field (new or not) and the count: the tail of HINCRBY*. */
static bool store_field(client *c, cp_meta *m, const resp_arg *f, bool is_new, const char *val,
                        size_t vlen, const char *event)
{
    chalk_batch *b = ks_batch();
    int rc = b ? cp_begin(b, m) : CHALK_ENOMEM;
    if (rc == CHALK_OK)
        rc = cp_put(b, m->db, CP_HASH, m->key, m->klen, f->ptr, f->len, NULL, 0, val, vlen);
    m->count += is_new;
    if (rc == CHALK_OK)
        rc = cp_meta_store(b, m);
    if (rc != CHALK_OK) {
        reply_engine_error(c, rc);
        return false;
    }
    if (!cp_commit(c, b))
        return false;
    cp_notify(NOTIFY_HASH, event, m);
    return true;
}

static void hincrby_command(client *c)
{
    long long incr, cur = 0;
    if (!arg_ll(c, &c->argv[3], &incr))
        return;
    cp_meta m;
    chalk_value v;
    int found = field_text(c, &m, &v);
    if (found < 0)
        return;
    if (found) {
        bool ok = string_to_ll(v.data, v.len, &cur);
        chalk_value_free(&v);
        if (!ok) {
            reply_error(c, "hash value is not an integer");
            return;
        }
    }
    if ((incr < 0 && cur < 0 && incr < LLONG_MIN - cur) ||
        (incr > 0 && cur > 0 && incr > LLONG_MAX - cur)) {
        reply_error(c, "increment or decrement would overflow");
        return;
    }
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lld", cur + incr);
    if (store_field(c, &m, &c->argv[2], !found, buf, (size_t)n, "hincrby"))
        reply_long(c, cur + incr);
}

static void hincrbyfloat_command(client *c)
{
    long double incr, cur = 0;
    if (!string_to_long_double(c->argv[3].ptr, c->argv[3].len, &incr)) {
        reply_error(c, ERR_NOT_FLOAT);
        return;
    }
    if (isinf(incr)) {
        reply_error(c, "value is NaN or Infinity");
        return;
    }
    cp_meta m;
    chalk_value v;
    int found = field_text(c, &m, &v);
    if (found < 0)
        return;
    if (found) {
        bool ok = string_to_long_double(v.data, v.len, &cur);
        chalk_value_free(&v);
        if (!ok) {
            reply_error(c, "hash value is not a float");
            return;
        }
    }
    long double sum = cur + incr;
    if (isnan(sum) || isinf(sum)) {
        reply_error(c, "increment would produce NaN or Infinity");
        return;
    }
    char buf[5200];
    int n = long_double_to_human(buf, sizeof buf, sum);     /* fits: sum is finite */
    if (n < 0)
        reply_engine_error(c, CHALK_EINVAL);
    else if (store_field(c, &m, &c->argv[2], !found, buf, (size_t)n, "hincrbyfloat"))
        reply_bulk(c, buf, (size_t)n);
}

static void hscan_command(client *c)
{
    cp_scan_command(c, KS_HASH, CP_HASH, CP_SCAN_VALUES);
}

static void hrandfield_command(client *c)
{
    cp_randmember_command(c, KS_HASH, CP_HASH, "withvalues", CP_SCAN_VALUES);
}

/* Arguments, for COMMAND DOCS (redis-cli's hints). */
static const command_arg h_pair[] = {
    {"field", ARG_STRING, NULL, 0, NULL},
    {"value", ARG_STRING, NULL, 0, NULL},
    {0}};
static const command_arg hset_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"data", ARG_BLOCK, NULL, ARGF_MULTIPLE, h_pair},
    {0}};
static const command_arg hsetnx_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"field", ARG_STRING, NULL, 0, NULL},
    {"value", ARG_STRING, NULL, 0, NULL},
    {0}};
static const command_arg key_field_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"field", ARG_STRING, NULL, 0, NULL},
    {0}};
static const command_arg key_fields_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"field", ARG_STRING, NULL, ARGF_MULTIPLE, NULL},
    {0}};
static const command_arg hincrby_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"field", ARG_STRING, NULL, 0, NULL},
    {"increment", ARG_INTEGER, NULL, 0, NULL},
    {0}};
static const command_arg hincrbyfloat_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"field", ARG_STRING, NULL, 0, NULL},
    {"increment", ARG_DOUBLE, NULL, 0, NULL},
    {0}};
static const command_arg scan_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"cursor", ARG_INTEGER, NULL, 0, NULL},
    {"pattern", ARG_PATTERN, "MATCH", ARGF_OPTIONAL, NULL},
    {"count", ARG_INTEGER, "COUNT", ARGF_OPTIONAL, NULL},
    {0}};
static const command_arg hrand_opts[] = {
    {"count", ARG_INTEGER, NULL, 0, NULL},
    {"withvalues", ARG_PURE_TOKEN, "WITHVALUES", ARGF_OPTIONAL, NULL},
    {0}};
static const command_arg hrandfield_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL},
    {"options", ARG_BLOCK, NULL, ARGF_OPTIONAL, hrand_opts},
    {0}};

const command_prefetch_hook cmd_hash_prefetch_hooks[] = {
    {"hget", hash_field_prefetch},
    {"hexists", hash_field_prefetch},
    {"hset", hash_field_prefetch},
    {"hincrby", hash_field_prefetch},
    {0},
};

const command_def cmd_hash_table[] = {
    {"hset", hset_command, -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "hash", "2.0.0",
     "O(1) for each field/value pair added, so O(N) to add N field/value pairs",
     "Creates or modifies the value of a field in a hash.", hset_args, NULL},
    {"hmset", hmset_command, -4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "hash", "2.0.0",
     "O(N) where N is the number of fields being set.",
     "Sets the values of multiple fields.", hset_args, NULL},
    {"hsetnx", hsetnx_command, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "hash", "2.0.0",
     "O(1)", "Sets the value of a field in a hash only when the field doesn't exist.", hsetnx_args, NULL},
    {"hget", hget_command, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash", "2.0.0", "O(1)",
     "Returns the value of a field in a hash.", key_field_args, NULL},
    {"hmget", hmget_command, -3, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash", "2.0.0",
     "O(N) where N is the number of fields being requested.",
     "Returns the values of all fields in a hash.", key_fields_args, NULL},
    {"hdel", hdel_command, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "hash", "2.0.0",
     "O(N) where N is the number of fields to be removed.",
     "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.",
     key_fields_args, NULL},
    {"hexists", hexists_command, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash", "2.0.0", "O(1)",
     "Determines whether a field exists in a hash.", key_field_args, NULL},
    {"hlen", hlen_command, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash", "2.0.0", "O(1)",
     "Returns the number of fields in a hash.", args_key, NULL},
    {"hstrlen", hstrlen_command, 3, CMD_READONLY | CMD_FAST, 1, 1, 1, "hash", "3.2.0", "O(1)",
     "Returns the length of the value of a field.", key_field_args, NULL},
    {"hgetall", hgetall_command, 2, CMD_READONLY, 1, 1, 1, "hash", "2.0.0",
     "O(N) where N is the size of the hash.", "Returns all fields and values in a hash.", args_key, NULL},
    {"hkeys", hkeys_command, 2, CMD_READONLY, 1, 1, 1, "hash", "2.0.0",
     "O(N) where N is the size of the hash.", "Returns all fields in a hash.", args_key, NULL},
    {"hvals", hvals_command, 2, CMD_READONLY, 1, 1, 1, "hash", "2.0.0",
     "O(N) where N is the size of the hash.", "Returns all values in a hash.", args_key, NULL},
    {"hincrby", hincrby_command, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "hash", "2.0.0",
     "O(1)", "Increments the integer value of a field in a hash by a number.", hincrby_args, NULL},
    {"hincrbyfloat", hincrbyfloat_command, 4, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "hash",
     "2.6.0", "O(1)", "Increments the floating point value of a field by a number.", hincrbyfloat_args, NULL},
    {"hscan", hscan_command, -3, CMD_READONLY, 1, 1, 1, "hash", "2.8.0",
     "O(1) for every call. O(N) for a complete iteration.",
     "Iterates over fields and values of a hash.", scan_args, NULL},
    {"hrandfield", hrandfield_command, -2, CMD_READONLY, 1, 1, 1, "hash", "6.2.0",
     "O(count * log(N)): one seek by rank per pick; O(N) when count > N/16: one walk (Redis: O(count))",
     "Returns one or more random fields from a hash.", hrandfield_args, NULL},
    {0},
};
