/*
 * cmd_info.c — INFO [section ...]: the server's counters as "field:value"
 * lines under "# Section" headers, with Redis's field names so that every
 * dashboard, exporter and habit built for Redis reads Chalk.
 *
 * The one idea: every number here is a true counter or gauge kept where the
 * event happens (networking.c, commands.c, the engine's chalk_stats), never
 * an estimate made up at INFO time. Chalk's own figures carry a chalk_
 * prefix (engine segments, write/space amplification, fsync latency).
 *
 * Left out on purpose: latencystats (per-command latency percentiles); the
 * cost is that only the mean per command (commandstats usec_per_call) and
 * the worst spikes (LATENCY) are visible, not the tail of each command.
 */
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "commands.h"
#include "keyspace.h"
#include "pubsub.h"
#include "repl_hooks.h"
#include "server.h"

typedef struct info_buf {
    char *p;
    size_t len, cap;
} info_buf;

static void add(info_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(info_buf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (b->p && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
        char *np = realloc(b->p, cap);
        if (!np)
            return;
        b->p = np;
        b->cap = cap;
    }
}

static void human(char *out, size_t len, double bytes)
{
    const char *units = "BKMGT";
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    snprintf(out, len, u ? "%.2f%c" : "%.0f%c", bytes, units[u]);
}

static long long rss_bytes(void)
{
    long pages_total = 0, pages_rss = 0;
    FILE *fp = fopen("/proc/self/statm", "r");
    if (fp) {
        if (fscanf(fp, "%ld %ld", &pages_total, &pages_rss) != 2)
            pages_rss = 0;
        fclose(fp);
    }
    return (long long)pages_rss * sysconf(_SC_PAGESIZE);
}

static void section_server(info_buf *b)
{
    struct utsname u;
    uname(&u);
    int64_t now = now_us();
    int64_t up = (now / 1000 - server.start_ms) / 1000;
    add(b, "# Server\r\nredis_version:%s\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\n"
           "redis_build_id:%s\r\nredis_mode:standalone\r\nos:%s %s %s\r\narch_bits:%d\r\n"
           "monotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:%s\r\natomicvar_api:c11-builtin\r\n"
           "gcc_version:%d.%d.%d\r\nprocess_id:%d\r\nprocess_supervised:no\r\nrun_id:%s\r\n"
           "tcp_port:%lld\r\nserver_time_usec:%lld\r\nuptime_in_seconds:%lld\r\nuptime_in_days:%lld\r\n"
           "hz:%lld\r\nconfigured_hz:%lld\r\nlru_clock:%lld\r\nexecutable:%s\r\nconfig_file:%s\r\n"
           "io_threads_active:0\r\nchalk_version:%s\r\nchalk_git_sha1:%s\r\nchalk_io_backend:%s\r\n\r\n",
        CHALK_REDIS_VERSION, CHALK_GIT_SHA, u.sysname, u.release, u.machine, (int)sizeof(void *) * 8,
        server_io_backend_name(),
#ifdef __GNUC__
        __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__,
#else
        0, 0, 0,
#endif
        (int)server.pid, server.run_id, server.cfg.port, (long long)now, (long long)up,
        (long long)up / 86400, server.cfg.hz, server.cfg.hz, (long long)(now / 1000000) & 0xFFFFFF,
        server.exec_path, server.config_file, CHALK_VERSION, CHALK_GIT_SHA, server_io_backend_name());
}

static void section_clients(info_buf *b)
{
    size_t max_in = 0, max_out = 0;
    long long waiting = 0, held = 0;
    for (client *c = server.clients; c; c = c->next) {
        if (c->qlen - c->qpos > max_in) max_in = c->qlen - c->qpos;
        if (c->reply_bytes > max_out) max_out = c->reply_bytes;
        waiting += (c->flags & CLIENT_WAITING) != 0;
        held += c->commits_pending > 0;
    }
    add(b, "# Clients\r\nconnected_clients:%llu\r\ncluster_connections:0\r\nmaxclients:%lld\r\n"
           "client_recent_max_input_buffer:%zu\r\nclient_recent_max_output_buffer:%zu\r\n"
           "blocked_clients:%lld\r\ntracking_clients:0\r\nclients_in_timeout_table:0\r\n"
           "total_blocking_keys:0\r\ntotal_blocking_keys_on_nokey:0\r\n"
           "chalk_clients_waiting_for_fsync:%lld\r\n\r\n",
        (unsigned long long)server.nclients, server.cfg.maxclients, max_in, max_out, waiting, held);
}

static void section_memory(info_buf *b, const chalk_stats *st)
{
    struct mallinfo2 mi = mallinfo2();
    long long used = (long long)(mi.uordblks + mi.hblkhd), rss = rss_bytes();
    char h_used[32], h_rss[32], h_max[32];
    human(h_used, sizeof h_used, (double)used);
    human(h_rss, sizeof h_rss, (double)rss);
    human(h_max, sizeof h_max, (double)server.cfg.maxmemory);
    add(b, "# Memory\r\nused_memory:%lld\r\nused_memory_human:%s\r\nused_memory_rss:%lld\r\n"
           "used_memory_rss_human:%s\r\nmaxmemory:%lld\r\nmaxmemory_human:%s\r\n"
           "maxmemory_policy:%s\r\nmem_fragmentation_ratio:%.2f\r\nmem_allocator:libc\r\n"
           "chalk_index_memory:%llu\r\n\r\n",
        used, h_used, rss, h_rss, server.cfg.maxmemory, h_max, server.cfg.maxmemory_policy,
        used ? (double)rss / (double)used : 0.0, (unsigned long long)st->index_memory_bytes);
}

/* BGSAVE and BGREWRITEAOF are both a compaction in Chalk: rdb_* and
 * aof_rewrite_* report the same one (running, scheduled, last status);
 * rdb_last_save_time is LASTSAVE's value (cmd_server.c). */
static void section_persistence(info_buf *b, const chalk_stats *st)
{
    static const char *const fsync[] = {"no", "everysec", "always"};
    long long saved = st->compaction_last_end_ms / 1000;
    if (saved < server.last_save_s)
        saved = server.last_save_s;
    const char *comp_status = st->compaction_last_status ? "err" : "ok";
    add(b, "# Persistence\r\nloading:0\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\n"
           "rdb_changes_since_last_save:%llu\r\nrdb_bgsave_in_progress:%d\r\nrdb_last_save_time:%lld\r\n"
           "rdb_last_bgsave_status:%s\r\naof_enabled:1\r\naof_rewrite_in_progress:%d\r\n"
           "aof_rewrite_scheduled:%d\r\naof_last_bgrewrite_status:%s\r\n"
           "aof_last_write_status:%s\r\n"
           "chalk_appendfsync:%s\r\nchalk_log_io:%s\r\nchalk_keys:%llu\r\nchalk_keys_with_expiry:%llu\r\n"
           "chalk_segments:%llu\r\nchalk_live_bytes:%llu\r\nchalk_dead_bytes:%llu\r\n"
           "chalk_user_bytes_written:%llu\r\nchalk_compaction_bytes_written:%llu\r\n"
           "chalk_write_amplification:%.3f\r\nchalk_space_amplification:%.3f\r\nchalk_compactions:%llu\r\n"
           "chalk_compaction_pause_usec_max:%llu\r\n"
           "chalk_fsyncs:%llu\r\nchalk_fsync_usec_total:%llu\r\nchalk_fsync_usec_avg:%llu\r\n"
           "chalk_fsync_usec_max:%llu\r\nchalk_last_recovery_usec:%llu\r\n"
           "chalk_recovery_truncated_bytes:%llu\r\nchalk_hash_rehashing:%llu\r\n"
           "chalk_group_commits:%llu\r\nchalk_group_commit_writes:%llu\r\n"
           "chalk_writes_per_fsync:%.2f\r\nchalk_group_commit_waits:%llu\r\n\r\n",
        (unsigned long long)server.dirty, st->compaction_running, saved, comp_status,
        st->compaction_running, st->compaction_scheduled, comp_status, st->failed ? "err" : "ok",
        fsync[server.cfg.appendfsync], st->io_path ? st->io_path : "none", (unsigned long long)st->keys,
        (unsigned long long)st->keys_with_expiry, (unsigned long long)st->segments,
        (unsigned long long)st->live_bytes, (unsigned long long)st->dead_bytes,
        (unsigned long long)st->user_bytes_written, (unsigned long long)st->compaction_bytes_written,
        st->write_amplification, st->space_amplification, (unsigned long long)st->compactions,
        (unsigned long long)st->compaction_pause_usec_max, (unsigned long long)st->fsyncs, (unsigned long long)st->fsync_usec_total,
        (unsigned long long)(st->fsyncs ? st->fsync_usec_total / st->fsyncs : 0),
        (unsigned long long)st->fsync_usec_max, (unsigned long long)st->last_recovery_usec,
        (unsigned long long)st->recovery_truncated_bytes, (unsigned long long)st->rehash_in_progress,
        (unsigned long long)server.gc.completions, (unsigned long long)server.gc.released,
        server.gc.completions ? (double)server.gc.released / (double)server.gc.completions : 0.0,
        (unsigned long long)server.gc.waits);
}

/* Rates over the last ~1.6 s of cron samples (16 samples at hz 10). */
static double rate(const uint64_t *v)
{
    int newest = (server.ops_sample_idx + 15) % 16, oldest = server.ops_sample_idx;
    if (server.ops_sample_ms[oldest] == 0)
        oldest = 0;
    int64_t ms = server.ops_sample_ms[newest] - server.ops_sample_ms[oldest];
    return ms > 0 ? (double)(v[newest] - v[oldest]) * 1000.0 / (double)ms : 0.0;
}

static void section_stats(info_buf *b)
{
    add(b, "# Stats\r\ntotal_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
           "instantaneous_ops_per_sec:%.0f\r\ntotal_net_input_bytes:%llu\r\ntotal_net_output_bytes:%llu\r\n"
           "instantaneous_input_kbps:%.2f\r\ninstantaneous_output_kbps:%.2f\r\nrejected_connections:%llu\r\n"
           "expired_keys:%llu\r\nevicted_keys:0\r\nevicted_clients:0\r\nkeyspace_hits:%llu\r\n"
           "keyspace_misses:%llu\r\npubsub_channels:%ld\r\npubsub_patterns:%ld\r\n"
           "total_error_replies:%llu\r\nclient_output_buffer_limit_disconnections:%llu\r\n"
           "total_reads_processed:%llu\r\ntotal_writes_processed:%llu\r\nchalk_io_submits:%llu\r\n\r\n",
        (unsigned long long)server.stat_connections, (unsigned long long)server.stat_commands,
        rate(server.ops_sample_cmds), (unsigned long long)server.stat_net_in,
        (unsigned long long)server.stat_net_out, rate(server.ops_sample_in) / 1024,
        rate(server.ops_sample_out) / 1024, (unsigned long long)server.stat_rejected_conn,
        (unsigned long long)server.stat_expired_keys, (unsigned long long)server.stat_keyspace_hits,
        (unsigned long long)server.stat_keyspace_misses, pubsub_numchannels(), pubsub_numpat(),
        (unsigned long long)server.stat_total_errors,
        (unsigned long long)server.stat_evicted_clients_obl, (unsigned long long)server.stat_io_reads,
        (unsigned long long)server.stat_io_writes, (unsigned long long)server.stat_io_submits);
}

static void section_replication(info_buf *b)
{
    char text[16384];
    repl_info(text, sizeof text);          /* repl_hooks.c */
    add(b, "%s\r\n", text);
}

static double tv_secs(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

static void section_cpu(info_buf *b)
{
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    add(b, "# CPU\r\nused_cpu_sys:%.6f\r\nused_cpu_user:%.6f\r\nused_cpu_sys_children:%.6f\r\n"
           "used_cpu_user_children:%.6f\r\n\r\n",
        tv_secs(self.ru_stime), tv_secs(self.ru_utime), tv_secs(kids.ru_stime), tv_secs(kids.ru_utime));
}

static void one_cmdstat(command *cmd, void *arg)
{
    if (!cmd->calls && !cmd->rejected_calls && !cmd->failed_calls)
        return;
    add(arg, "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=%llu,failed_calls=%llu\r\n",
        cmd->fullname, (unsigned long long)cmd->calls, (unsigned long long)cmd->usec,
        cmd->calls ? (double)cmd->usec / (double)cmd->calls : 0.0,
        (unsigned long long)cmd->rejected_calls, (unsigned long long)cmd->failed_calls);
}

static void section_commandstats(info_buf *b)
{
    add(b, "# Commandstats\r\n");
    commands_foreach(one_cmdstat, b);
    add(b, "\r\n");
}

static void section_errorstats(info_buf *b)
{
    add(b, "# Errorstats\r\n");
    for (int i = 0; i < server.nerrorstats; i++)
        add(b, "errorstat_%s:count=%llu\r\n", server.errorstats[i].prefix,
            (unsigned long long)server.errorstats[i].count);
    add(b, "\r\n");
}

static void section_keyspace(info_buf *b)
{
    int ndb = (int)server.cfg.databases;
    uint64_t keys[256], expires[256];
    ks_count_all(keys, expires, ndb);
    add(b, "# Keyspace\r\n");
    for (int i = 0; i < ndb; i++)
        if (keys[i])
            add(b, "db%d:keys=%llu,expires=%llu,avg_ttl=0\r\n", i, (unsigned long long)keys[i],
                (unsigned long long)expires[i]);
    add(b, "\r\n");
}

/* Which sections: none = "default"; "all" adds commandstats;
 * "everything" too. Names are case-insensitive. */
static bool wants(client *c, const char *section, bool in_default)
{
    if (c->argc == 1)
        return in_default;
    for (int i = 1; i < c->argc; i++) {
        if (arg_is(&c->argv[i], section) || arg_is(&c->argv[i], "all") ||
            arg_is(&c->argv[i], "everything") || (in_default && arg_is(&c->argv[i], "default")))
            return true;
    }
    return false;
}

static void info_command(client *c)
{
    info_buf b = {0};
    chalk_stats st = {0};
    if (server.db)
        chalk_stats_get(server.db, &st);
    if (wants(c, "server", true)) section_server(&b);
    if (wants(c, "clients", true)) section_clients(&b);
    if (wants(c, "memory", true)) section_memory(&b, &st);
    if (wants(c, "persistence", true)) section_persistence(&b, &st);
    if (wants(c, "stats", true)) section_stats(&b);
    if (wants(c, "replication", true)) section_replication(&b);
    if (wants(c, "cpu", true)) section_cpu(&b);
    if (wants(c, "commandstats", false)) section_commandstats(&b);
    if (wants(c, "errorstats", true)) section_errorstats(&b);
    if (wants(c, "keyspace", true)) section_keyspace(&b);
    if (b.len >= 2)
        b.len -= 2;                    /* no blank line after the last section */
    reply_verbatim(c, "txt", b.p ? b.p : "", b.len);
    free(b.p);
}

static const command_arg info_args[] = {{"section", ARG_STRING, NULL, ARGF_OPTIONAL | ARGF_MULTIPLE, NULL}, {0}};

const command_def cmd_info_table[] = {
    {"info", info_command, -1, CMD_LOADING | CMD_STALE, 0, 0, 0, "server", "1.0.0", "O(1)",
     "Returns information and statistics about the server.", info_args, NULL},
    {0},
};
