/*
 * cmd_counter.c — numbers stored as strings: INCR DECR INCRBY DECRBY
 * INCRBYFLOAT, with Redis 7's parsing rules, replies and error texts.
 *
 * The one idea: a counter is an atomic read-modify-write with no lock.
 * GET, add, SET from a client is a race (two clients read 5, both write
 * 6); INCR does the three steps inside one command, and one thread runs
 * every command, so no other command can run between them. The new value
 * is one record written through server_write, keeping the key's TTL, as
 * Redis does.
 *
 * Hostile input: the stored value must be a strict integer ("+1", " 1",
 * "01" are refused, as by Redis's string2ll), and every sum is checked for
 * overflow BEFORE it is computed (__builtin_add_overflow), so LLONG_MAX + 1
 * is "increment or decrement would overflow", never undefined behaviour.
 * INCRBYFLOAT uses long double and Redis's formatting (17 digits, trailing
 * zeros dropped), and refuses a result that is NaN or infinite.
 *
 * Left out on purpose: Redis's shared integer objects and the "int"
 * encoding in memory; the value is stored as its decimal text, so every
 * INCR parses and prints it (a few dozen bytes of work).
 *
 * Interview topics: (rate limiting and counters use INCR + EXPIRE; see
 * client/examples/rate_limit.c).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "keyops.h"
#include "notify.h"
#include "server.h"
#include "util.h"

#define KEY(i) c->argv[i].ptr, c->argv[i].len

/* Store the `len` bytes at buf + 1 (buf[0] takes the type byte) as the
 * string value of argv[1], with the given expiry. */
static int put_built(client *c, char *buf, size_t len, int64_t expire_at)
{
    buf[0] = KS_STRING;
    chalk_value v = {.data = buf, .len = len + 1};
    return ks_put_value(c, c->db, KEY(1), &v, expire_at);
}

/* INCR DECR INCRBY DECRBY: Redis's incrDecrCommand. */
static void incr_generic(client *c, long long by)
{
    chalk_value v = {0};
    int r = ks_get_string(c, c->db, KEY(1), &v, false);
    if (r < 0)
        return;
    long long cur = 0;
    if (r && !string_to_ll(ks_payload(&v), ks_payload_len(&v), &cur)) {
        chalk_value_free(&v);
        reply_error(c, ERR_NOT_INT);
        return;
    }
    int64_t expire_at = r ? v.expire_at_ms : 0;
    chalk_value_free(&v);
    long long sum;
    if (__builtin_add_overflow(cur, by, &sum)) {
        reply_error(c, "increment or decrement would overflow");
        return;
    }
    char buf[32];
    size_t n = ll_to_string(buf + 1, sum);
    int rc = put_built(c, buf, n, expire_at);
    if (rc != CHALK_OK) {
        reply_engine_error(c, rc);
        return;
    }
    notify_keyspace_event(NOTIFY_STRING, "incrby", c->db, KEY(1));   /* notify.c */
    reply_long(c, sum);
}

static void incr_command(client *c) { incr_generic(c, 1); }
static void decr_command(client *c) { incr_generic(c, -1); }

static void incrby_command(client *c)
{
    long long by;
    if (arg_ll(c, &c->argv[2], &by))
        incr_generic(c, by);
}

static void decrby_command(client *c)
{
    long long by;
    if (!arg_ll(c, &c->argv[2], &by))
        return;
    if (by == LLONG_MIN) {                   /* -by would overflow */
        reply_error(c, "decrement would overflow");
        return;
    }
    incr_generic(c, -by);
}

static void incrbyfloat_command(client *c)
{
    long double by, cur = 0;
    if (!string_to_long_double(c->argv[2].ptr, c->argv[2].len, &by)) {
        reply_error(c, ERR_NOT_FLOAT);
        return;
    }
    chalk_value v = {0};
    int r = ks_get_string(c, c->db, KEY(1), &v, false);
    if (r < 0)
        return;
    bool ok = !r || string_to_long_double(ks_payload(&v), ks_payload_len(&v), &cur);
    int64_t expire_at = r ? v.expire_at_ms : 0;
    chalk_value_free(&v);
    if (!ok) {
        reply_error(c, ERR_NOT_FLOAT);
        return;
    }
    long double sum = cur + by;
    if (isnan(sum) || isinf(sum)) {
        reply_error(c, "increment would produce NaN or Infinity");
        return;
    }
    char buf[5 * 1024];
    int n = long_double_to_human(buf + 1, sizeof buf - 1, sum);   /* util.c */
    int rc = n < 0 ? CHALK_EINVAL : put_built(c, buf, (size_t)n, expire_at);
    if (rc != CHALK_OK) {
        reply_engine_error(c, rc);
        return;
    }
    notify_keyspace_event(NOTIFY_STRING, "incrbyfloat", c->db, KEY(1));   /* notify.c */
    reply_bulk(c, buf + 1, (size_t)n);
}

/* ---- the table ----------------------------------------------------------- */

static const command_arg incrby_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL}, {"increment", ARG_INTEGER, NULL, 0, NULL}, {0}};
static const command_arg decrby_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL}, {"decrement", ARG_INTEGER, NULL, 0, NULL}, {0}};
static const command_arg incrbyfloat_args[] = {
    {"key", ARG_KEY, NULL, 0, NULL}, {"increment", ARG_DOUBLE, NULL, 0, NULL}, {0}};

#define WF (CMD_WRITE | CMD_DENYOOM | CMD_FAST)
const command_def cmd_counter_table[] = {
    {"incr", incr_command, 2, WF, 1, 1, 1, "string", "1.0.0", "O(1)",
     "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
     args_key, NULL},
    {"decr", decr_command, 2, WF, 1, 1, 1, "string", "1.0.0", "O(1)",
     "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
     args_key, NULL},
    {"incrby", incrby_command, 3, WF, 1, 1, 1, "string", "1.0.0", "O(1)",
     "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't "
     "exist.", incrby_args, NULL},
    {"decrby", decrby_command, 3, WF, 1, 1, 1, "string", "1.0.0", "O(1)",
     "Decrements a number from the integer value of a key. Uses 0 as initial value if the key "
     "doesn't exist.", decrby_args, NULL},
    {"incrbyfloat", incrbyfloat_command, 3, WF, 1, 1, 1, "string", "2.6.0", "O(1)",
     "Increment the floating point value of a key by a number. Uses 0 as initial value if the key "
     "doesn't exist.", incrbyfloat_args, NULL},
    {0},
};
