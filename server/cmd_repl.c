/*
 * cmd_repl.c — the replication commands: REPLICAOF (SLAVEOF), ROLE, WAIT,
 * and the three a follower sends to its leader: REPLCONF, PSYNC, SYNC.
 * The machinery is in the repl_*.c files (repl_hooks.h names them).
 *
 * Each handler has the one shape: parse → act through repl_* → reply.
 *
 * REPLICAOF (SLAVEOF) is gated like a protected config (replicaof_allowed):
 * a client that is not local may run it only if enable-protected-configs is
 * "yes". Pointing a server at a leader of the attacker's choice replaces its
 * whole data set with the attacker's (a full sync), and a module-less Redis
 * of old was turned into a shell exactly that way (a rogue leader shipping a
 * payload). The `replicaof` setting at start-up is not a client and is not
 * gated. Redis 7 leaves REPLICAOF open and gates only paths and DEBUG; Chalk
 * reuses the protected-configs switch rather than adding a fourth setting.
 *
 * Interview topics: repl.replication (repl_stream.c, repl_backlog.c,
 * repl_follower.c), overview.consensus (WAIT, repl_leader.c),
 * cache.distributed (below).
 *
 * @interview(cache.distributed): How do you build a distributed cache out
 * of Chalk servers? Shard keys over several leaders with a consistent-hash
 * ring in the client (adding a node moves ~1/N of the keys), give each
 * shard replicas for read scaling and failover, and accept what a cache
 * may: asynchronous replication loses the last writes on a failover and a
 * replica read may be stale (bounded by its lag). Expiry stays consistent
 * because only the leader expires keys and ships the deletes; followers
 * merely hide expired keys on read.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "repl_internal.h"

/* During shutdown (after repl_shutdown) a last command may still arrive
 * while the loop drains: there is no replication state any more. */
static bool repl_alive(client *c)
{
    if (server.repl)
        return true;
    reply_error(c, "-LOADING Chalk is shutting down");
    return false;
}

/* Keep the `replicaof` setting in step with the role, so that CONFIG GET
 * shows it and CONFIG REWRITE persists it across a restart, as Redis. */
static void remember_role(const char *host, long long port)
{
    char value[300] = "", err[128];
    if (host)
        snprintf(value, sizeof value, "%s %lld", host, port);
    if (config_set(&server.cfg, "replicaof", value, false, err, sizeof err) < 0)
        server_log(LL_WARNING, "REPLICAOF: could not record the setting: %s", err);
}

/* enable-protected-configs: "yes" lets every client change the role,
 * "local" (the default) only loopback and unix-socket clients, "no" none. */
static bool replicaof_allowed(client *c)
{
    int mode = server.cfg.enable_protected_configs;
    if (mode == PROT_YES || (mode == PROT_LOCAL && (c->flags & CLIENT_LOCAL)))
        return true;
    reply_errorf(c, "%s command not allowed. If the enable-protected-configs option is set to "
                 "\"local\", you can run it from a local connection, otherwise you need to set "
                 "this option in the configuration file, and then restart the server.",
                 arg_is(&c->argv[0], "slaveof") ? "SLAVEOF" : "REPLICAOF");
    return false;
}

/* REPLICAOF host port | REPLICAOF NO ONE */
static void replicaof_command(client *c)
{
    struct repl_state *st = server.repl;
    if (!repl_alive(c) || !replicaof_allowed(c))
        return;
    if (arg_is(&c->argv[1], "no") && arg_is(&c->argv[2], "one")) {
        if (st->link != LINK_NONE) {
            follower_stop();
            follower_forget_position();
            /* PSYNC2: the history we followed stays valid under its old id
             * up to here, so our former peers can continue from us. */
            memcpy(st->replid2, st->replid, sizeof st->replid2);
            st->second_offset = st->offset + 1;
            repl_new_replid(st->replid);
            stream_ensure_backlog();
            server_log(LL_NOTICE, "MASTER MODE enabled (user request from '%s'); new replid %s, "
                       "previous %s valid up to offset %lld", c->addr, st->replid, st->replid2,
                       st->second_offset);
        }
        remember_role(NULL, 0);
        reply_ok(c);
        return;
    }
    long long port;
    if (!arg_ll_range(c, &c->argv[2], 1, 65535, "Invalid master port", &port))
        return;
    if (st->link != LINK_NONE && strcmp(st->master_host, c->argv[1].ptr) == 0 &&
        st->master_port == port) {
        reply_simple(c, "OK Already connected to specified master");
        return;
    }
    follower_start(c->argv[1].ptr, (int)port);
    remember_role(c->argv[1].ptr, port);
    server_log(LL_NOTICE, "REPLICAOF %s:%lld enabled (user request from '%s')", c->argv[1].ptr,
               port, c->addr);
    reply_ok(c);
}

static void role_command(client *c)
{
    if (!repl_alive(c))
        return;
    if (repl_is_replica())
        follower_role(c);
    else
        leader_role(c);
}

/* WAIT numreplicas timeout */
static void wait_command(client *c)
{
    long long n, timeout;
    if (!repl_alive(c))
        return;
    if (repl_is_replica()) {
        reply_error(c, "WAIT cannot be used with replica instances. Please also note that since "
                    "Redis 4.0 if a replica is configured to be writable (which is not the "
                    "default) writes to replicas are just local and are not propagated.");
        return;
    }
    if (!arg_ll_range(c, &c->argv[1], 0, 1 << 30, NULL, &n) ||
        !arg_ll_range(c, &c->argv[2], 0, LLONG_MAX / 2, "timeout is out of range", &timeout))
        return;
    leader_wait(c, (long)n, timeout);
}

static void replconf_command(client *c)
{
    if (server.repl)
        leader_replconf(c);               /* an ACK during shutdown: no reply */
}

static void psync_command(client *c)
{
    if (repl_alive(c))
        leader_psync(c, false);
}

static void sync_command(client *c)
{
    if (repl_alive(c))
        leader_psync(c, true);
}

static const command_arg replicaof_args[] = {
    {"host", ARG_STRING, NULL, 0, NULL}, {"port", ARG_INTEGER, NULL, 0, NULL}, {0}};
static const command_arg wait_args[] = {
    {"numreplicas", ARG_INTEGER, NULL, 0, NULL}, {"timeout", ARG_INTEGER, NULL, 0, NULL}, {0}};
static const command_arg psync_args[] = {
    {"replicationid", ARG_STRING, NULL, 0, NULL}, {"offset", ARG_INTEGER, NULL, 0, NULL}, {0}};

#define ADM CMD_ADMIN | CMD_NOSCRIPT | CMD_STALE
const command_def cmd_repl_table[] = {
    {"replicaof", replicaof_command, 3, ADM, 0, 0, 0, "server", "5.0.0", "O(1)",
     "Configures a server as replica of another, or promotes it to a master.", replicaof_args, NULL},
    {"slaveof", replicaof_command, 3, ADM, 0, 0, 0, "server", "1.0.0", "O(1)",
     "Sets a Redis server as a replica of another, or promotes it to being a master.",
     replicaof_args, NULL},
    {"role", role_command, 1, CMD_NOSCRIPT | CMD_LOADING | CMD_STALE | CMD_FAST, 0, 0, 0,
     "server", "2.8.12", "O(1)", "Returns the replication role.", NULL, NULL},
    {"wait", wait_command, 3, CMD_NOSCRIPT, 0, 0, 0, "generic", "3.0.0", "O(1)",
     "Blocks until the asynchronous replication of all preceding write commands sent by the "
     "connection is completed.", wait_args, NULL},
    {"replconf", replconf_command, -1, ADM | CMD_LOADING, 0, 0, 0, "server", "3.0.0", "O(1)",
     "An internal command for configuring the replication stream.", NULL, NULL},
    {"psync", psync_command, 3, ADM | CMD_NO_MULTI, 0, 0, 0, "server", "2.8.0", "O(1)",
     "An internal command used in replication.", psync_args, NULL},
    {"sync", sync_command, 1, ADM | CMD_NO_MULTI, 0, 0, 0, "server", "1.0.0", "O(1)",
     "An internal command used in replication.", NULL, NULL},
    {0},
};
