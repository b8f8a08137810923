/*
 * cmd_keys.c — the generic key commands: DEL UNLINK EXISTS TYPE TOUCH
 * RENAME RENAMENX COPY MOVE OBJECT. (Expiry commands: cmd_ttl.c; KEYS,
 * SCAN, RANDOMKEY: cmd_scan.c.)
 *
 * The one idea: these commands work on a key whatever its type, so none of
 * them touches a record directly: they go through keyops.c
 * (ks_delete_key, ks_rename_key, ks_copy_key), the one place that knows a
 * key may own sub-records, and every change is ONE batch, so a crash
 * never leaves a RENAME half done.
 *
 * Left out on purpose:
 *   - DUMP / RESTORE: they need Redis's RDB value serialization (with its
 *     CRC64 and version trailer) to interoperate; a Chalk-only format would
 *     only look compatible. Not offered (unknown command).
 *   - UNLINK's background free: a delete here is a tombstone, already O(1)
 *     in the value's size, so UNLINK is DEL.
 *   - An access clock per key: OBJECT IDLETIME replies 0 and OBJECT FREQ
 *     replies Redis's "no LFU policy" error, because Chalk has no eviction
 *     policy that would need them (keeping them would cost memory per key
 *     and a write per read).
 *
 * Interview topics: db.crud (keyops.c, ks_delete_key).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "keyops.h"
#include "notify.h"
#include "server.h"
#include "util.h"

#define KEY(i) c->argv[i].ptr, c->argv[i].len

static int cmp_arg(const void *x, const void *y)
{
    const resp_arg *a = *(const resp_arg *const *)x, *b = *(const resp_arg *const *)y;
    if (a->len != b->len)
        return a->len < b->len ? -1 : 1;
    return memcmp(a->ptr, b->ptr, a->len);
}

static bool same_arg(const resp_arg *a, const resp_arg *b)
{
    return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

/* DEL k1 k2 ...: the distinct keys that exist, deleted in one batch.
 * Sorting first drops duplicates (DEL k k deletes one key, as in Redis),
 * because the batch changes the index only once it is written. */
static void del_command(client *c)
{
    int n = c->argc - 1;
    const resp_arg **keys = malloc((size_t)n * sizeof *keys);
    chalk_batch *b = ks_batch();
    if (!keys || !b) {
        free(keys);
        reply_engine_error(c, CHALK_ENOMEM);
        return;
    }
    for (int i = 0; i < n; i++)
        keys[i] = &c->argv[i + 1];
    qsort(keys, (size_t)n, sizeof *keys, cmp_arg);
    long long deleted = 0;
    int rc = CHALK_OK;
    for (int i = 0; i < n && rc >= 0; i++) {
        if (i > 0 && cmp_arg(&keys[i - 1], &keys[i]) == 0)
            continue;
        rc = ks_delete_key(b, c->db, keys[i]->ptr, keys[i]->len);
        deleted += rc > 0;
        if (rc > 0)                        /* keyspace event (notify.c) */
            notify_keyspace_event(NOTIFY_GENERIC, "del", c->db, keys[i]->ptr, keys[i]->len);
    }
    free(keys);
    if (rc >= 0 && deleted)
        rc = server_write(c, b);
    if (rc < 0)
        reply_engine_error(c, rc);
    else
        reply_long(c, deleted);
}

/* EXISTS and TOUCH count a key as often as it is named, as Redis does. */
static void exists_command(client *c)
{
    long long n = 0;
    for (int i = 1; i < c->argc; i++)
        n += ks_exists(c->db, KEY(i));
    reply_long(c, n);
}

static void type_command(client *c)
{
    int type = ks_type(c->db, KEY(1));
    if (type < -1)
        reply_engine_error(c, type);
    else
        reply_simple(c, ks_type_name(type));
}

/* RENAME / RENAMENX: value, type and TTL move to the new name in one
 * batch; an existing destination is replaced (RENAME) or wins (RENAMENX). */
static void rename_generic(client *c, bool nx)
{
    chalk_value v;
    int rc = ks_lookup(c->db, KEY(1), &v);
    if (rc == CHALK_ENOTFOUND) {
        reply_error(c, ERR_NOKEY);
        return;
    }
    if (rc != CHALK_OK) {
        reply_engine_error(c, rc);
        return;
    }
    if (same_arg(&c->argv[1], &c->argv[2]) ||
        (nx && ks_exists(c->db, KEY(2)))) {
        nx ? reply_long(c, 0) : reply_ok(c);   /* same name: nothing to do */
        chalk_value_free(&v);
        return;
    }
    chalk_batch *b = ks_batch();
    rc = b ? ks_rename_key(b, c->db, KEY(1), &v, c->db, KEY(2), v.expire_at_ms) : CHALK_ENOMEM;
    if (rc == CHALK_OK)
        rc = server_write(c, b);
    chalk_value_free(&v);
    if (rc != CHALK_OK) {
        reply_engine_error(c, rc);
        return;
    }
    notify_keyspace_event(NOTIFY_GENERIC, "rename_from", c->db, KEY(1));   /* notify.c */
    notify_keyspace_event(NOTIFY_GENERIC, "rename_to", c->db, KEY(2));
    nx ? reply_long(c, 1) : reply_ok(c);
}

static void rename_command(client *c) { rename_generic(c, false); }
static void renamenx_command(client *c) { rename_generic(c, true); }

/* A database number argument (COPY's DB, MOVE): Redis parses an int
 * (getIntFromObjectOrReply, with its error texts), then refuses what
 * SELECT would refuse. false: the error was replied. */
static bool arg_db(client *c, const resp_arg *a, int *db)
{
    long long v;
    if (!string_to_ll(a->ptr, a->len, &v)) {
        reply_error(c, ERR_NOT_INT);
        return false;
    }
    if (v < INT_MIN || v > INT_MAX) {
        reply_errorf(c, "value is out of range, value must between %d and %d", INT_MIN, INT_MAX);
        return false;
    }
    if (v < 0 || v >= server.cfg.databases) {
        reply_error(c, ERR_DB_INDEX);
        return false;
    }
    *db = (int)v;
    return true;
}

/* Copy (or move) src of c->db to dst of dstdb. Returns 1 done, 0 refused
 * (no source, or destination exists without replace), or a CHALK_E*. */
static int copy_or_move(client *c, const resp_arg *src, int dstdb, const resp_arg *dst,
                        bool replace, bool move)
{
    chalk_value v;
    int rc = ks_lookup(c->db, src->ptr, src->len, &v);
    if (rc == CHALK_ENOTFOUND)
        return 0;
    if (rc != CHALK_OK)
        return rc;
    if (!replace && ks_exists(dstdb, dst->ptr, dst->len)) {
        chalk_value_free(&v);
        return 0;
    }
    chalk_batch *b = ks_batch();
    if (!b)
        rc = CHALK_ENOMEM;
    else if (move)
        rc = ks_rename_key(b, c->db, src->ptr, src->len, &v, dstdb, dst->ptr, dst->len, v.expire_at_ms);
    else
        rc = ks_copy_key(b, c->db, src->ptr, src->len, &v, dstdb, dst->ptr, dst->len, v.expire_at_ms);
    if (rc == CHALK_OK)
        rc = server_write(c, b);
    chalk_value_free(&v);
    if (rc != CHALK_OK)
        return rc;
    if (move)                                /* keyspace events (notify.c) */
        notify_keyspace_event(NOTIFY_GENERIC, "move_from", c->db, src->ptr, src->len);
    notify_keyspace_event(NOTIFY_GENERIC, move ? "move_to" : "copy_to", dstdb, dst->ptr, dst->len);
    return 1;
}

/* COPY source destination [DB destination-db] [REPLACE] */
static void copy_command(client *c)
{
    int dstdb = c->db;
    bool replace = false;
    for (int j = 3; j < c->argc; j++) {
        if (arg_is(&c->argv[j], "replace")) {
            replace = true;
        } else if (arg_is(&c->argv[j], "db") && j + 1 < c->argc) {
            if (!arg_db(c, &c->argv[++j], &dstdb))
                return;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    if (dstdb == c->db && same_arg(&c->argv[1], &c->argv[2])) {
        reply_error(c, "source and destination objects are the same");
        return;
    }
    int rc = copy_or_move(c, &c->argv[1], dstdb, &c->argv[2], replace, false);
    if (rc < 0)
        reply_engine_error(c, rc);
    else
        reply_long(c, rc);
}

/* MOVE key db: the db argument must fit an int (Redis's getIntFromObject). */
static void move_command(client *c)
{
    int dstdb;
    if (!arg_db(c, &c->argv[2], &dstdb))
        return;
    if (dstdb == c->db) {
        reply_error(c, "source and destination objects are the same");
        return;
    }
    int rc = copy_or_move(c, &c->argv[1], dstdb, &c->argv[1], false, true);
    if (rc < 0)
        reply_engine_error(c, rc);
    else
        reply_long(c, rc);
}

static void touch_command(client *c) { exists_command(c); }

/* ---- OBJECT --------------------------------------------------------------- */

/* The encoding Redis would report for a string value made by SET: "int"
 * if it is a 64-bit integer in canonical form of at most 20 bytes,
 * "embstr" up to 44 bytes, "raw" beyond. (Redis reports "raw" for any
 * string APPEND or SETRANGE touched; Chalk does not remember how a value
 * was made.) For other types: the data-types issue refines this. */
static const char *encoding_of(const chalk_value *v)
{
    long long ll;
    switch (ks_type_of(v)) {
    case KS_STRING:
        if (ks_payload_len(v) <= 20 && string_to_ll(ks_payload(v), ks_payload_len(v), &ll))
            return "int";
        return ks_payload_len(v) <= 44 ? "embstr" : "raw";
    case KS_LIST: return "quicklist";
    case KS_SET: return "hashtable";
    case KS_ZSET: return "skiplist";
    case KS_HASH: return "hashtable";
    default: return "unknown";
    }
}

/* The OBJECT subcommands share: look the key up, null reply if absent. */
static bool object_lookup(client *c, chalk_value *v)
{
    int rc = ks_lookup(c->db, KEY(2), v);
    if (rc == CHALK_OK)
        return true;
    if (rc == CHALK_ENOTFOUND)
        reply_null(c);
    else
        reply_engine_error(c, rc);
    return false;
}

static void object_encoding_command(client *c)
{
    chalk_value v;
    if (!object_lookup(c, &v))
        return;
    reply_bulk_cstr(c, encoding_of(&v));
    chalk_value_free(&v);
}

static void object_freq_command(client *c)
{
    chalk_value v;
    if (!object_lookup(c, &v))
        return;
    chalk_value_free(&v);
    reply_error(c, "An LFU maxmemory policy is not selected, access frequency not tracked. Please "
                   "note that when switching between policies at runtime LRU and LFU data will "
                   "take some time to adjust.");
}

static void object_idletime_command(client *c)
{
    chalk_value v;
    if (!object_lookup(c, &v))
        return;
    chalk_value_free(&v);
    reply_long(c, 0);                        /* no access clock: see the top */
}

static void object_refcount_command(client *c)
{
    chalk_value v;
    if (!object_lookup(c, &v))
        return;
    chalk_value_free(&v);
    reply_long(c, 1);                        /* values are never shared */
}

static void object_help_command(client *c)
{
    static const char *const lines[] = {
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. Chalk keeps none: an error.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>. Chalk keeps no access clock: always 0.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key> (always 1).",
        "HELP",
        "    Print this help.",
        NULL};
    reply_help(c, "OBJECT", lines);
}

/* ---- the table ------------------------------------------------------------ */

static const command_arg rename_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL}, {"newkey", ARG_KEY, NULL, 0, NULL}, {0}};
static const command_arg copy_args[] = {
    {"source", ARG_KEY, NULL, 0, NULL}, {"destination", ARG_KEY, NULL, 0, NULL},
    {"destination-db", ARG_INTEGER, "DB", ARGF_OPTIONAL, NULL},
    {"replace", ARG_PURE_TOKEN, "REPLACE", ARGF_OPTIONAL, NULL}, {0}};
static const command_arg move_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL}, {"db", ARG_INTEGER, NULL, 0, NULL}, {0}};

#define G "generic"
static const command_def object_subs[] = {
    {"encoding", object_encoding_command, 3, CMD_READONLY, 2, 2, 1, G, "2.2.3", "O(1)",
     "Returns the internal encoding of a Redis object.", args_key, NULL},
    {"freq", object_freq_command, 3, CMD_READONLY, 2, 2, 1, G, "4.0.0", "O(1)",
     "Returns the logarithmic access frequency counter of a Redis object.", args_key, NULL},
    {"idletime", object_idletime_command, 3, CMD_READONLY, 2, 2, 1, G, "2.2.3", "O(1)",
     "Returns the time since the last access to a Redis object (always 0 in Chalk).", args_key, NULL},
    {"refcount", object_refcount_command, 3, CMD_READONLY, 2, 2, 1, G, "2.2.3", "O(1)",
     "Returns the reference count of a value of a key.", args_key, NULL},
    {"help", object_help_command, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, G, "6.2.0", "O(1)",
     "Returns helpful text about the different subcommands.", NULL, NULL},
    {0},
};

const command_def cmd_keys_table[] = {
    {"del", del_command, -2, CMD_WRITE, 1, -1, 1, G, "1.0.0",
     "O(N) where N is the number of keys that will be removed.",
     "Deletes one or more keys.", args_keys, NULL},
    {"unlink", del_command, -2, CMD_WRITE | CMD_FAST, 1, -1, 1, G, "4.0.0",
     "O(1) for each key removed (a delete is a tombstone: nothing to free in the background)",
     "Asynchronously deletes one or more keys.", args_keys, NULL},
    {"exists", exists_command, -2, CMD_READONLY | CMD_FAST, 1, -1, 1, G, "3.0.3",
     "O(N) where N is the number of keys to check.", "Determines whether one or more keys exist.",
     args_keys, NULL},
    {"type", type_command, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, G, "1.0.0", "O(1)",
     "Determines the type of value stored at a key.", args_key, NULL},
    {"touch", touch_command, -2, CMD_READONLY | CMD_FAST, 1, -1, 1, G, "3.2.1",
     "O(N) where N is the number of keys that will be touched.",
     "Returns the number of existing keys out of those specified (Chalk keeps no access time).",
     args_keys, NULL},
    {"rename", rename_command, 3, CMD_WRITE, 1, 2, 1, G, "1.0.0", "O(1)",
     "Renames a key and overwrites the destination.", rename_args, NULL},
    {"renamenx", renamenx_command, 3, CMD_WRITE | CMD_FAST, 1, 2, 1, G, "1.0.0", "O(1)",
     "Renames a key only when the target key name doesn't exist.", rename_args, NULL},
    {"copy", copy_command, -3, CMD_WRITE | CMD_DENYOOM, 1, 2, 1, G, "6.2.0",
     "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.",
     "Copies the value of a key to a new key.", copy_args, NULL},
    {"move", move_command, 3, CMD_WRITE | CMD_FAST, 1, 1, 1, G, "1.0.0", "O(1)",
     "Moves a key to another database.", move_args, NULL},
    {"object", NULL, -2, 0, 0, 0, 0, G, "2.2.3", "Depends on subcommand.",
     "A container for object introspection commands.", NULL, object_subs},
    {0},
};
