/*
 * cmd_ttl.c — the expiry commands: EXPIRE PEXPIRE EXPIREAT PEXPIREAT (with
 * NX XX GT LT), TTL PTTL EXPIRETIME PEXPIRETIME, PERSIST.
 *
 * The one idea: an expiry is an absolute unix time in milliseconds stored
 * in the key's engine record (expire_at_ms, 0 = none). Every command here
 * turns its argument into that one number (relative ones add "now"),
 * checking for overflow BEFORE the arithmetic, so EXPIRE k
 * 9223372036854775807 is Redis's "invalid expire time" error and never
 * undefined behaviour; a time already past deletes the key at once, as
 * Redis does, rather than storing a record nobody can see.
 *
 * Left out on purpose: changing only the expiry of a record. The log never
 * updates in place, so EXPIRE rewrites the key's record with the new time:
 * O(size of the value) instead of Redis's O(1). A separate "expiry
 * record" kind would make it O(1) at the cost of a second lookup on every
 * read. The cost is paid by EXPIRE/PERSIST on big values only.
 *
 * Interview topics: cache.ttl (the mechanism: expire.c).
 */
#include <string.h>

#include "commands.h"
#include "expire.h"
#include "keyops.h"
#include "notify.h"
#include "server.h"

#define KEY(i) c->argv[i].ptr, c->argv[i].len

enum { EXP_NX = 1, EXP_XX = 2, EXP_GT = 4, EXP_LT = 8 };

/* Redis's parseExtendedExpireArgumentsOrReply. false: error replied. */
static bool parse_expire_flags(client *c, int *flags)
{
    *flags = 0;
    for (int j = 3; j < c->argc; j++) {
        const resp_arg *a = &c->argv[j];
        if (arg_is(a, "nx")) *flags |= EXP_NX;
        else if (arg_is(a, "xx")) *flags |= EXP_XX;
        else if (arg_is(a, "gt")) *flags |= EXP_GT;
        else if (arg_is(a, "lt")) *flags |= EXP_LT;
        else {
            reply_errorf(c, "Unsupported option %.128s", a->ptr);
            return false;
        }
    }
    if ((*flags & EXP_NX) && (*flags & (EXP_XX | EXP_GT | EXP_LT))) {
        reply_error(c, "NX and XX, GT or LT options at the same time are not compatible");
        return false;
    }
    if ((*flags & EXP_GT) && (*flags & EXP_LT)) {
        reply_error(c, "GT and LT options at the same time are not compatible");
        return false;
    }
    return true;
}

/* May a key whose expiry is `cur` (0 = none, i.e. infinite) take `when`?
 * Redis's rules: GT fails against no expiry; LT succeeds against it. */
static bool flags_allow(int flags, int64_t cur, int64_t when)
{
    if ((flags & EXP_NX) && cur)
        return false;
    if ((flags & EXP_XX) && !cur)
        return false;
    if ((flags & EXP_GT) && (!cur || when <= cur))
        return false;
    if ((flags & EXP_LT) && cur && when >= cur)
        return false;
    return true;
}

/* Set key's expiry to `when` (or delete it if `when` has passed). */
static int apply_expire(client *c, const chalk_value *v, int64_t when)
{
    if (when > now_ms())
        return ks_put_value(c, c->db, KEY(1), v, when);
    chalk_batch *b = ks_batch();
    int rc = b ? ks_delete_key(b, c->db, KEY(1)) : CHALK_ENOMEM;
    return rc < 0 ? rc : server_write(c, b);
}

/* The record of key argv[1] into *v (chalk_value_free it): true; or
 * false after replying 0 (no such key: EXPIRE* and PERSIST change nothing)
 * or the engine's error. */
static bool lookup_or_zero(client *c, chalk_value *v)
{
    int rc = ks_lookup(c->db, KEY(1), v);
    if (rc == CHALK_OK)
        return true;
    if (rc == CHALK_ENOTFOUND)
        reply_long(c, 0);
    else
        reply_engine_error(c, rc);
    return false;
}

static void expire_generic(client *c, int64_t base, long long unit, const char *cmd)
{
    int flags;
    long long amount;
    int64_t when;
    if (!parse_expire_flags(c, &flags) || !arg_ll(c, &c->argv[2], &amount))
        return;
    if (!expire_deadline(amount, unit, base, &when)) {
        reply_errorf(c, "invalid expire time in '%s' command", cmd);
        return;
    }
    chalk_value v;
    if (!lookup_or_zero(c, &v))
        return;
    if (!flags_allow(flags, v.expire_at_ms, when)) {
        chalk_value_free(&v);
        reply_long(c, 0);
        return;
    }
    int rc = apply_expire(c, &v, when);
    chalk_value_free(&v);
    if (rc != CHALK_OK) {
        reply_engine_error(c, rc);
        return;
    }
    notify_keyspace_event(NOTIFY_GENERIC, when > now_ms() ? "expire" : "del", c->db, KEY(1));
    reply_long(c, 1);
}

static void expire_command(client *c) { expire_generic(c, now_ms(), 1000, "expire"); }
static void pexpire_command(client *c) { expire_generic(c, now_ms(), 1, "pexpire"); }
static void expireat_command(client *c) { expire_generic(c, 0, 1000, "expireat"); }
static void pexpireat_command(client *c) { expire_generic(c, 0, 1, "pexpireat"); }

/* TTL PTTL EXPIRETIME PEXPIRETIME: -2 no key, -1 no expiry; seconds are
 * rounded to nearest, as Redis does ((ms + 500) / 1000). Never reads the
 * value: the expiry is in the index. */
static void ttl_generic(client *c, bool ms, bool absolute)
{
    int64_t at;
    int rc = ks_expiry(c->db, KEY(1), &at);
    if (rc == CHALK_ENOTFOUND) {
        reply_long(c, -2);
        return;
    }
    if (rc != CHALK_OK) {
        reply_engine_error(c, rc);
        return;
    }
    if (at == 0) {
        reply_long(c, -1);
        return;
    }
    long long t = absolute ? at : at - now_ms();
    if (t < 0)
        t = 0;
    reply_long(c, ms ? t : (t + 500) / 1000);
}

static void ttl_command(client *c) { ttl_generic(c, false, false); }
static void pttl_command(client *c) { ttl_generic(c, true, false); }
static void expiretime_command(client *c) { ttl_generic(c, false, true); }
static void pexpiretime_command(client *c) { ttl_generic(c, true, true); }

static void persist_command(client *c)
{
    chalk_value v;
    if (!lookup_or_zero(c, &v))
        return;
    bool had = v.expire_at_ms != 0;
    int rc = had ? ks_put_value(c, c->db, KEY(1), &v, 0) : CHALK_OK;
    chalk_value_free(&v);
    if (rc != CHALK_OK) {
        reply_engine_error(c, rc);
        return;
    }
    if (had)
        notify_keyspace_event(NOTIFY_GENERIC, "persist", c->db, KEY(1));   /* notify.c */
    reply_long(c, had);
}

/* ---- the table ------------------------------------------------------------ */

static const command_arg cond[] = {
    {"nx", ARG_PURE_TOKEN, "NX", 0, NULL}, {"xx", ARG_PURE_TOKEN, "XX", 0, NULL},
    {"gt", ARG_PURE_TOKEN, "GT", 0, NULL}, {"lt", ARG_PURE_TOKEN, "LT", 0, NULL}, {0}};
static const command_arg expire_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL}, {"seconds", ARG_INTEGER, NULL, 0, NULL},
    {"condition", ARG_ONEOF, NULL, ARGF_OPTIONAL, cond}, {0}};
static const command_arg pexpire_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL}, {"milliseconds", ARG_INTEGER, NULL, 0, NULL},
    {"condition", ARG_ONEOF, NULL, ARGF_OPTIONAL, cond}, {0}};
static const command_arg expireat_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL}, {"unix-time-seconds", ARG_UNIX_TIME, NULL, 0, NULL},
    {"condition", ARG_ONEOF, NULL, ARGF_OPTIONAL, cond}, {0}};
static const command_arg pexpireat_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL}, {"unix-time-milliseconds", ARG_UNIX_TIME, NULL, 0, NULL},
    {"condition", ARG_ONEOF, NULL, ARGF_OPTIONAL, cond}, {0}};

#define G "generic"
#define WF (CMD_WRITE | CMD_FAST)
#define RF (CMD_READONLY | CMD_FAST)
#define CHALK_EXPIRE_COST "O(1) in Redis; O(size of the value) in Chalk, which rewrites the record"
const command_def cmd_ttl_table[] = {
    {"expire", expire_command, -3, WF, 1, 1, 1, G, "1.0.0", CHALK_EXPIRE_COST,
     "Sets the expiration time of a key in seconds.", expire_args, NULL},
    {"pexpire", pexpire_command, -3, WF, 1, 1, 1, G, "2.6.0", CHALK_EXPIRE_COST,
     "Sets the expiration time of a key in milliseconds.", pexpire_args, NULL},
    {"expireat", expireat_command, -3, WF, 1, 1, 1, G, "1.2.0", CHALK_EXPIRE_COST,
     "Sets the expiration time of a key to a Unix timestamp.", expireat_args, NULL},
    {"pexpireat", pexpireat_command, -3, WF, 1, 1, 1, G, "2.6.0", CHALK_EXPIRE_COST,
     "Sets the expiration time of a key to a Unix milliseconds timestamp.", pexpireat_args, NULL},
    {"ttl", ttl_command, 2, RF, 1, 1, 1, G, "1.0.0", "O(1)",
     "Returns the expiration time in seconds of a key.", args_key, NULL},
    {"pttl", pttl_command, 2, RF, 1, 1, 1, G, "2.6.0", "O(1)",
     "Returns the expiration time in milliseconds of a key.", args_key, NULL},
    {"expiretime", expiretime_command, 2, RF, 1, 1, 1, G, "7.0.0", "O(1)",
     "Returns the expiration time of a key as a Unix timestamp.", args_key, NULL},
    {"pexpiretime", pexpiretime_command, 2, RF, 1, 1, 1, G, "7.0.0", "O(1)",
     "Returns the expiration time of a key as a Unix milliseconds timestamp.", args_key, NULL},
    {"persist", persist_command, 2, WF, 1, 1, 1, G, "2.2.0", CHALK_EXPIRE_COST,
     "Removes the expiration time of a key.", args_key, NULL},
    {0},
};
