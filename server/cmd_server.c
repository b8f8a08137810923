/*
 * cmd_server.c — server-wide commands: DBSIZE FLUSHDB FLUSHALL TIME
 * LASTSAVE SAVE BGSAVE BGREWRITEAOF SHUTDOWN.
 *
 * The one idea: Redis's persistence commands keep their names and their
 * promises, mapped onto a log-structured engine. There is no snapshot to
 * write, because the log IS the data: SAVE makes everything durable
 * (chalk_sync) and compacts the sealed segments, writing hint files that
 * make the next start fast; BGSAVE and BGREWRITEAOF start that compaction
 * in the background, which is what an AOF rewrite is in Redis (drop the
 * history, keep the live data).
 *
 * Left out on purpose: RDB files, so DUMP-style backups are a copy of the
 * data directory taken after SAVE (the engine's lock prevents a second
 * process from opening it meanwhile).
 *
 * Interview topics: none tagged here; the promise behind SAVE is
 * tx.durability (engine/log.c, engine/policy.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "commands.h"
#include "keyspace.h"
#include "server.h"

static void dbsize_command(client *c) { reply_long(c, (long long)ks_db_size(c->db)); }

static bool flush_mode_ok(client *c)
{
    if (c->argc == 2 && !arg_is(&c->argv[1], "sync") && !arg_is(&c->argv[1], "async")) {
        reply_error(c, ERR_SYNTAX);
        return false;
    }
    return c->argc <= 2;
}

/* FLUSHDB / FLUSHALL [ASYNC|SYNC]: both run synchronously here (the deletes
 * are tombstones appended to the log; compaction reclaims the space
 * later), which is what ASYNC buys in Redis anyway. */
static void flush_common(client *c, int db)
{
    if (!flush_mode_ok(c))
        return;
    long long rc = ks_flush(c, db);
    if (rc < 0) {
        reply_engine_error(c, (int)rc);
        return;
    }
    reply_ok(c);
}

static void flushdb_command(client *c) { flush_common(c, c->db); }
static void flushall_command(client *c) { flush_common(c, -1); }

static void time_command(client *c)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    reply_array(c, 2);
    reply_bulk_long(c, tv.tv_sec);
    reply_bulk_long(c, tv.tv_usec);
}

/* LASTSAVE: the end of the last SAVE, or of the last compaction that
 * succeeded (BGSAVE's, or the automatic trigger's), as Redis's lastsave
 * moves when a save completes: clients poll it to see a BGSAVE finish.
 * cmd_info.c's rdb_last_save_time is the same value. */
static void lastsave_command(client *c)
{
    chalk_stats st = {0};
    if (server.db)
        chalk_stats_get(server.db, &st);
    long long compacted = st.compaction_last_end_ms / 1000;
    reply_long(c, compacted > server.last_save_s ? compacted : server.last_save_s);
}

/* SAVE: durable now (fdatasync), then a compaction we wait for (after the
 * one running, if any: Redis refuses SAVE during a BGSAVE, Chalk waits).
 * Blocks the server like Redis's SAVE; use BGSAVE in production. */
static void save_command(client *c)
{
    int rc = chalk_sync(server.db);
    if (rc == CHALK_OK) {
        rc = chalk_compact(server.db);
        if (rc == CHALK_EBUSY) {           /* the running one, then ours */
            chalk_compact_wait(server.db);
            rc = chalk_compact(server.db);
        }
        if (rc == CHALK_OK || rc == CHALK_EBUSY)
            rc = chalk_compact_wait(server.db);
    }
    if (rc != CHALK_OK) {
        reply_engine_error(c, rc);
        return;
    }
    server.last_save_s = now_ms() / 1000;
    server.dirty = 0;
    reply_ok(c);
}

static int start_compaction(client *c)
{
    int rc = chalk_compact(server.db);
    if (rc == CHALK_EBUSY) {
        reply_error(c, "Background save already in progress");
        return -1;
    }
    if (rc != CHALK_OK) {
        reply_engine_error(c, rc);
        return -1;
    }
    /* Writes from now on are changes since this save (Redis subtracts the
     * count at the start when the save succeeds: the same number). */
    server.dirty = 0;
    return 0;
}

/* BGSAVE [SCHEDULE], mapped onto Redis's rules with compaction as the
 * child process: a compaction that was asked for (SAVE, BGSAVE,
 * BGREWRITEAOF: all the same operation here) is a save in progress, and
 * Redis refuses BGSAVE then, SCHEDULE or not. One the dead-ratio trigger
 * started is the analog of Redis's automatic AOF rewrite: SCHEDULE makes
 * the engine remember the request and start it from chalk_poll once that
 * one is done (Redis runs it from serverCron when the child exits).
 * Plain BGSAVE is refused either way (Redis words the second case
 * differently; Chalk keeps one text). */
static void bgsave_command(client *c)
{
    if (c->argc > 2 || (c->argc == 2 && !arg_is(&c->argv[1], "schedule"))) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    chalk_stats st;
    chalk_stats_get(server.db, &st);
    if (c->argc == 2 && st.compaction_explicit) {
        reply_error(c, "Background save already in progress");
        return;
    }
    if (c->argc == 2) {
        int rc = chalk_compact_schedule(server.db);
        if (rc < 0) {
            reply_engine_error(c, rc);
            return;
        }
        if (rc == 0)                       /* scheduled: counted until it starts */
            server.dirty = 0;
        reply_simple(c, rc == 1 ? "Background saving scheduled" : "Background saving started");
        return;
    }
    if (start_compaction(c) == 0)
        reply_simple(c, "Background saving started");
}

static void bgrewriteaof_command(client *c)
{
    if (start_compaction(c) == 0)
        reply_simple(c, "Background append only file rewriting started");
}

/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: no reply on success (the
 * connection closes as the server exits), as in Redis. The engine is
 * closed either way, which fsyncs: NOSAVE does not skip durability. */
static void shutdown_command(client *c)
{
    for (int i = 1; i < c->argc; i++) {
        if (arg_is(&c->argv[i], "abort")) {
            reply_error(c, "No shutdown in progress.");
            return;
        }
        if (!arg_is(&c->argv[i], "nosave") && !arg_is(&c->argv[i], "save") &&
            !arg_is(&c->argv[i], "now") && !arg_is(&c->argv[i], "force")) {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    server_log(LL_WARNING, "User requested shutdown (SHUTDOWN from %s)", c->addr);
    server.shutdown_asap = true;
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

/* Add to b, for every record of database `from`: its delete (puts false),
 * or its put under database `to` with the same value and expiry (puts
 * true). Returns the number of records or a negative CHALK_E* error. */
static long long add_db_records(chalk_batch *b, int from, int to, bool puts)
{
    unsigned char prefix = (unsigned char)from;
    chalk_iter *it = chalk_iter_new(server.db, NULL);
    long long n = 0;
    int rc = CHALK_OK;
    if (!it)
        return CHALK_ENOMEM;
    for (chalk_iter_seek(it, &prefix, 1); chalk_iter_valid(it) && rc == CHALK_OK; chalk_iter_next(it)) {
        size_t klen;
        const unsigned char *k = chalk_iter_key(it, &klen);
        if (klen < 1 || k[0] != prefix)
            break;
        n++;
        if (!puts) {
            rc = chalk_batch_delete(b, k, klen);
            continue;
        }
        chalk_value v = {0};
        unsigned char *nk = malloc(klen);
        rc = nk ? chalk_iter_value(it, &v) : CHALK_ENOMEM;
        if (rc == CHALK_OK) {
            memcpy(nk, k, klen);
            nk[0] = (unsigned char)to;
            rc = chalk_batch_put(b, nk, klen, v.data, v.len, chalk_iter_expiry(it));
        }
        free(nk);
        chalk_value_free(&v);
    }
    chalk_iter_free(it);
    return rc == CHALK_OK ? n : rc;
}

/* SWAPDB a b: O(N) here, O(1) in Redis. A database is a key prefix on
 * disk, so swapping two means rewriting every record of both with the
 * prefix byte exchanged. It is ONE batch (all deletes, then all puts), so a
 * crash leaves both databases swapped or neither. */
static void swapdb_command(client *c)
{
    long long a, b;
    if (!arg_ll_range(c, &c->argv[1], INT32_MIN, INT32_MAX, "invalid first DB index", &a) ||
        !arg_ll_range(c, &c->argv[2], INT32_MIN, INT32_MAX, "invalid second DB index", &b))
        return;
    if (a < 0 || b < 0 || a >= server.cfg.databases || b >= server.cfg.databases) {
        reply_error(c, ERR_DB_INDEX);
        return;
    }
    chalk_batch *batch = chalk_batch_new();
    long long rc = batch ? 0 : CHALK_ENOMEM;
    if (a != b) {
        if (rc >= 0) rc = add_db_records(batch, (int)a, (int)b, false);
        if (rc >= 0) rc = add_db_records(batch, (int)b, (int)a, false);
        if (rc >= 0) rc = add_db_records(batch, (int)a, (int)b, true);
        if (rc >= 0) rc = add_db_records(batch, (int)b, (int)a, true);
        if (rc >= 0 && chalk_batch_count(batch))
            rc = server_write(c, batch);
    }
    chalk_batch_free(batch);
    if (rc < 0)
        reply_engine_error(c, (int)rc);
    else
        reply_ok(c);
}

static const command_arg flush_oneof[] = {
    {"async", ARG_PURE_TOKEN, "ASYNC", 0, NULL}, {"sync", ARG_PURE_TOKEN, "SYNC", 0, NULL}, {0}};
static const command_arg flush_args[] = {{"flush-type", ARG_ONEOF, NULL, ARGF_OPTIONAL, flush_oneof}, {0}};
static const command_arg swapdb_args[] = {
    {"index1", ARG_INTEGER, NULL, 0, NULL}, {"index2", ARG_INTEGER, NULL, 0, NULL}, {0}};
static const command_arg bgsave_args[] = {{"schedule", ARG_PURE_TOKEN, "SCHEDULE", ARGF_OPTIONAL, NULL}, {0}};
static const command_arg save_oneof[] = {
    {"nosave", ARG_PURE_TOKEN, "NOSAVE", 0, NULL}, {"save", ARG_PURE_TOKEN, "SAVE", 0, NULL}, {0}};
static const command_arg shutdown_args[] = {
    {"save-selector", ARG_ONEOF, NULL, ARGF_OPTIONAL, save_oneof},
    {"now", ARG_PURE_TOKEN, "NOW", ARGF_OPTIONAL, NULL},
    {"force", ARG_PURE_TOKEN, "FORCE", ARGF_OPTIONAL, NULL},
    {"abort", ARG_PURE_TOKEN, "ABORT", ARGF_OPTIONAL, NULL}, {0}};

const command_def cmd_server_table[] = {
    {"dbsize", dbsize_command, 1, CMD_READONLY, 0, 0, 0, "server", "1.0.0",
     "O(N) in Chalk: a walk of the database's key range (O(1) in Redis)",
     "Returns the number of keys in the database.", NULL, NULL},
    {"flushdb", flushdb_command, -1, CMD_WRITE, 0, 0, 0, "server", "1.0.0",
     "O(N) where N is the number of keys in the selected database",
     "Removes all keys from the current database.", flush_args, NULL},
    {"flushall", flushall_command, -1, CMD_WRITE, 0, 0, 0, "server", "1.0.0",
     "O(N) where N is the total number of keys in all databases",
     "Removes all keys from all databases.", flush_args, NULL},
    {"swapdb", swapdb_command, 3, CMD_WRITE, 0, 0, 0, "server", "4.0.0",
     "O(N) in Chalk where N is the number of records of both databases (O(1) in Redis): "
     "a database is a key prefix, so its records are rewritten, in one atomic batch",
     "Swaps two Redis databases.", swapdb_args, NULL},
    {"time", time_command, 1, CMD_FAST | CMD_LOADING | CMD_STALE, 0, 0, 0, "server", "2.6.0", "O(1)",
     "Returns the server time.", NULL, NULL},
    {"lastsave", lastsave_command, 1, CMD_FAST | CMD_LOADING | CMD_STALE, 0, 0, 0, "server", "1.0.0", "O(1)",
     "Returns the Unix timestamp of the last successful save (in Chalk: sync + compaction) to disk.", NULL, NULL},
    {"save", save_command, 1, CMD_ADMIN | CMD_NOSCRIPT | CMD_NO_MULTI, 0, 0, 0, "server", "1.0.0",
     "O(N) where N is the total number of keys in all databases",
     "Synchronously makes every write durable, then compacts the log and writes hint files (blocks the server).",
     NULL, NULL},
    {"bgsave", bgsave_command, -1, CMD_ADMIN | CMD_NOSCRIPT, 0, 0, 0, "server", "1.0.0", "O(1)",
     "Starts a background compaction of the log, writing hint files (Chalk's snapshot).", bgsave_args, NULL},
    {"bgrewriteaof", bgrewriteaof_command, 1, CMD_ADMIN | CMD_NOSCRIPT, 0, 0, 0, "server", "1.0.0", "O(1)",
     "Starts a background compaction of the log (Chalk's AOF rewrite): live records are merged into new "
     "segments with hint files.", NULL, NULL},
    {"shutdown", shutdown_command, -1, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_NO_MULTI,
     0, 0, 0, "server", "1.0.0", "O(N) when saving, where N is the total number of keys in all databases",
     "Synchronously makes every write durable and shuts down the server.", shutdown_args, NULL},
    {0},
};
