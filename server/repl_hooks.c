/*
 * repl_hooks.c — where replication meets the rest of the server: start-up
 * and shutdown, the per-tick work, the checks process_command makes, the
 * client types CLIENT KILL knows, and INFO replication.
 *
 * The one idea: every other server file calls replication through the
 * small functions of repl_hooks.h, each a one-line edit at its call site,
 * so the rest of the server reads the same with or without replication.
 *
 * Left out on purpose: Redis's replica-serve-stale-data=no (a follower
 * with a broken link keeps serving its possibly old data, as Redis's
 * default) and min-replicas-to-write.
 *
 * @interview(repl.sharding): Replication copies all the data to every
 * follower; how do you scale past one leader's memory and write rate?
 * Shard: run several Chalk leaders, each owning a part of the key space,
 * and route each key by consistent hashing (client/ has the ring) or by
 * hash slots as Redis Cluster does (16384 slots moved between nodes).
 * Each shard then replicates on its own; what is lost is atomicity across
 * shards (an EXEC or a multi-key command must stay within one shard:
 * Redis's {hash tags}).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "repl_internal.h"
#include "server.h"

int repl_init(void)
{
    server.repl = calloc(1, sizeof *server.repl);
    if (!server.repl)
        return -1;
    repl_new_replid(server.repl->replid);
    memset(server.repl->replid2, '0', 40);
    server.repl->second_offset = -1;
    server.repl->backoff_ms = 100;
    snprintf(server.repl->last_psync_decision, sizeof server.repl->last_psync_decision, "none yet");
    return follower_init();
}

/* Before the engine closes: snapshots and iterators must be released, and
 * a follower records how far it got. */
void repl_shutdown(void)
{
    struct repl_state *st = server.repl;
    if (!st)
        return;
    repl_end_unit();
    follower_shutdown();
    leader_shutdown();                    /* frees replicas' snapshots, WAIT */
    st->master = NULL;
    st->link = LINK_NONE;
    backlog_free(st->backlog);
    free(st->unit);
    free(st->fwd);
    chalk_batch_free(st->apply);
    free(st);
    server.repl = NULL;
}

void repl_engine_closing(void)
{
    if (server.repl)
        leader_drop_syncing_replicas();
}

void repl_before_sleep(void)
{
    if (!server.repl)
        return;
    repl_end_unit();          /* writes made outside a command: expiry, unblocked pops */
    leader_tick();
    follower_tick();
}

void repl_cron(int64_t now)
{
    if (!server.repl)
        return;
    leader_cron(now);
    follower_cron(now);
}

void repl_client_free(client *c)
{
    if (!server.repl)
        return;
    leader_forget(c);
    leader_forget_waiter(c);
    follower_forget(c);
}

bool repl_is_replica(void) { return server.repl && server.repl->link != LINK_NONE; }

bool repl_is_master_link(const client *c) { return server.repl && c == server.repl->master; }

/* Only the command's own flags: a subcommand carries its own (CONFIG GET
 * is not a write), and a container's are 0. */
bool repl_command_allowed(client *c, const struct command *cmd)
{
    if (!(cmd->def->flags & CMD_WRITE) || !repl_is_replica() || !server.cfg.replica_read_only)
        return true;
    reply_error(c, "-READONLY You can't write against a read only replica.");
    return false;
}

bool repl_client_type_is(const client *c, const char *type)
{
    bool is_master = repl_is_master_link(c);
    bool is_replica = server.repl && leader_is_replica_client(c);
    if (!strcasecmp(type, "master"))
        return is_master;
    if (!strcasecmp(type, "replica") || !strcasecmp(type, "slave"))
        return is_replica;
    if (!strcasecmp(type, "normal"))
        return !is_master && !is_replica && !c->pubsub;
    if (!strcasecmp(type, "pubsub"))
        return c->pubsub != NULL;
    return false;
}

size_t repl_info(char *out, size_t cap)
{
    struct repl_state *st = server.repl;
    size_t off = (size_t)snprintf(out, cap, "# Replication\r\n");
    if (!st)
        return off;
    if (st->link == LINK_NONE)
        off += (size_t)snprintf(out + off, cap - off, "role:master\r\n");
    else
        off += follower_info(out + off, cap - off);
    off += leader_info(out + off, cap - off);
    const repl_backlog *bl = st->backlog;
    int n = snprintf(out + off, cap - off,
                     "master_failover_state:no-failover\r\nmaster_replid:%s\r\nmaster_replid2:%s\r\n"
                     "master_repl_offset:%lld\r\nsecond_repl_offset:%lld\r\nrepl_backlog_active:%d\r\n"
                     "repl_backlog_size:%lld\r\nrepl_backlog_first_byte_offset:%lld\r\n"
                     "repl_backlog_histlen:%zu\r\nsync_full:%llu\r\nsync_partial_ok:%llu\r\n"
                     "sync_partial_err:%llu\r\nlast_psync_decision:%s\r\n",
                     st->replid, st->replid2, st->offset, st->second_offset, bl != NULL,
                     server.cfg.repl_backlog_size, bl ? backlog_first_offset(bl) : 0,
                     bl ? bl->histlen : 0, (unsigned long long)st->sync_full,
                     (unsigned long long)st->sync_partial_ok, (unsigned long long)st->sync_partial_err,
                     st->last_psync_decision);
    off += n > 0 ? (size_t)n : 0;
    return off < cap ? off : cap - 1;
}
