/*
 * cmd_config.c — CONFIG GET / SET / RESETSTAT / REWRITE / HELP over the
 * settings table of config.c.
 *
 * The one idea: CONFIG SET of several settings is all-or-nothing (Redis 7):
 * each is applied, and if one fails every one already applied is restored
 * from the value read before the change.
 *
 * Protected settings (paths: dir, logfile, unixsocket, pidfile) are refused
 * to clients that are not local unless enable-protected-configs is "yes":
 * a remote attacker who got a connection must not be able to point the
 * server at another directory (the classic Redis-to-shell attack wrote a
 * crontab or an authorized_keys file with CONFIG SET dir + SAVE).
 *
 * Settings the engine keeps a copy of (appendfsync) are handed to it after
 * the whole SET succeeded: apply_to_engine().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "server.h"
#include "util.h"

static void config_get_command(client *c)
{
    void *slot = reply_deferred(c);
    long pairs = 0;
    for (size_t i = 0; config_name_at(i); i++) {
        const char *name = config_name_at(i);
        bool hit = false;
        for (int a = 2; a < c->argc && !hit; a++)
            hit = glob_match(c->argv[a].ptr, c->argv[a].len, name, strlen(name), true);
        if (!hit)
            continue;
        char value[1024];
        config_get(&server.cfg, name, value, sizeof value);
        reply_bulk_cstr(c, name);
        reply_bulk_cstr(c, value);
        pairs++;
    }
    reply_set_deferred_map(c, slot, pairs);
}

static bool protected_allowed(client *c)
{
    int mode = server.cfg.enable_protected_configs;
    return mode == PROT_YES || (mode == PROT_LOCAL && (c->flags & CLIENT_LOCAL));
}

/* Settings the engine holds a copy of are handed to it once the whole
 * CONFIG SET succeeded (so a rolled-back SET never reaches the engine).
 * appendfsync: chalk_set_fsync keeps every promise already made (a write
 * accepted under always still waits for its fsync after a switch to no).
 * server_write reads server.cfg.appendfsync to decide whether to hold a
 * reply, and the engine now agrees with it. */
static void apply_to_engine(void)
{
    if (!server.db)
        return;
    int rc = chalk_set_fsync(server.db, (enum chalk_fsync)server.cfg.appendfsync);
    if (rc != CHALK_OK)                /* only CHALK_EINVAL: the table's range */
        server_log(LL_WARNING, "chalk_set_fsync: %s", chalk_strerror(rc));
}

static void config_set_command(client *c)
{
    if (c->argc % 2 != 0) {
        reply_errorf(c, "wrong number of arguments for 'config|set' command");
        return;
    }
    int n = (c->argc - 2) / 2;
    char (*old)[1024] = calloc((size_t)n, sizeof *old);
    if (!old) {
        reply_error(c, "out of memory");
        return;
    }
    char err[256];
    int i;
    for (i = 0; i < n; i++) {
        const char *name = c->argv[2 + 2 * i].ptr, *value = c->argv[3 + 2 * i].ptr;
        if (config_get(&server.cfg, name, old[i], sizeof old[i]) < 0) {
            reply_errorf(c, "Unknown option or number of arguments for CONFIG SET - '%.64s'", name);
            break;
        }
        if (config_is_protected(name) && !protected_allowed(c)) {
            reply_errorf(c, "CONFIG SET failed (possibly related to argument '%.64s') - can't set "
                            "protected config", name);
            break;
        }
        if (config_set(&server.cfg, name, value, true, err, sizeof err) < 0) {
            reply_errorf(c, "CONFIG SET failed (possibly related to argument '%.64s') - %s", name, err);
            break;
        }
    }
    if (i == n) {
        apply_to_engine();
        reply_ok(c);
    } else                               /* roll back what was applied */
        while (--i >= 0)
            config_set(&server.cfg, c->argv[2 + 2 * i].ptr, old[i], false, err, sizeof err);
    free(old);
}

static void config_resetstat_command(client *c)
{
    server.stat_connections = server.stat_rejected_conn = server.stat_commands = 0;
    server.stat_net_in = server.stat_net_out = 0;
    server.stat_keyspace_hits = server.stat_keyspace_misses = server.stat_expired_keys = 0;
    server.stat_evicted_clients_obl = server.stat_total_errors = 0;
    server.stat_io_reads = server.stat_io_writes = server.stat_io_submits = 0;
    memset(server.ops_sample_cmds, 0, sizeof server.ops_sample_cmds);
    memset(server.ops_sample_in, 0, sizeof server.ops_sample_in);
    memset(server.ops_sample_out, 0, sizeof server.ops_sample_out);
    memset(server.ops_sample_ms, 0, sizeof server.ops_sample_ms);
    commands_reset_stats();
    server.nerrorstats = 0;
    gc_reset_stats();
    reply_ok(c);
}

static void config_rewrite_command(client *c)
{
    if (!server.config_file[0]) {
        reply_error(c, "The server is running without a config file");
        return;
    }
    if (config_rewrite(&server.cfg, server.config_file) < 0) {
        server_log(LL_WARNING, "CONFIG REWRITE failed: %s", server.config_file);
        reply_error(c, "Rewriting config file: failed (see the server log)");
        return;
    }
    server_log(LL_NOTICE, "CONFIG REWRITE executed with success.");
    reply_ok(c);
}

static void config_help_command(client *c)
{
    static const char *const lines[] = {
        "GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>", "    Set the configuration <directive> to <value>.",
        "RESETSTAT", "    Reset statistics reported by the INFO command.",
        "REWRITE", "    Rewrite the configuration file.", NULL};
    reply_help(c, "CONFIG", lines);
}

static const command_arg get_args[] = {{"parameter", ARG_STRING, NULL, ARGF_MULTIPLE, NULL}, {0}};
static const command_arg set_pair[] = {
    {"parameter", ARG_STRING, NULL, 0, NULL}, {"value", ARG_STRING, NULL, 0, NULL}, {0}};
static const command_arg set_args[] = {{"data", ARG_BLOCK, NULL, ARGF_MULTIPLE, set_pair}, {0}};

#define CF CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE
static const command_def config_subs[] = {
    {"get", config_get_command, -3, CF, 0, 0, 0, "server", "2.0.0",
     "O(N) when N is the number of configuration parameters provided",
     "Returns the effective values of configuration parameters.", get_args, NULL},
    {"set", config_set_command, -4, CF, 0, 0, 0, "server", "2.0.0",
     "O(N) when N is the number of configuration parameters provided",
     "Sets configuration parameters in-flight.", set_args, NULL},
    {"resetstat", config_resetstat_command, 2, CF, 0, 0, 0, "server", "2.0.0", "O(1)",
     "Resets the server's statistics.", NULL, NULL},
    {"rewrite", config_rewrite_command, 2, CF, 0, 0, 0, "server", "2.8.0", "O(1)",
     "Persists the effective configuration to file.", NULL, NULL},
    {"help", config_help_command, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "server", "5.0.0", "O(1)",
     "Returns helpful text about the different subcommands.", NULL, NULL},
    {0},
};

const command_def cmd_config_table[] = {
    {"config", NULL, -2, 0, 0, 0, 0, "server", "2.0.0", "Depends on subcommand.",
     "A container for server configuration commands.", NULL, config_subs},
    {0},
};
