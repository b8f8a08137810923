/*
 * commands.c — the command table and the dispatcher every request goes
 * through.
 *
 * HOW TO ADD A COMMAND
 *   1. Put the handler in the file of its family, server/cmd_<family>.c
 *      (a new family = a new file; e.g. cmd_string.c, cmd_keys.c).
 *   2. In that file, add a row to its table, which must be named
 *      cmd_<family>_table and end with a row whose name is NULL:
 *
 *        const command_def cmd_string_table[] = {
 *            {"get", get_command, 2, CMD_READONLY | CMD_FAST, 1, 1, 1,
 *             "string", "1.0.0", "O(1)", "Returns the string value of a key.",
 *             get_args},
 *            {0},
 *        };
 *
 *      That is all: server/CMakeLists.txt finds every cmd_*.c and generates
 *      the list of tables (command_families.c in the build directory), and
 *      commands_init() registers every row. Arity, flags and key positions
 *      are Redis's (see its src/commands/<name>.json); args feed COMMAND
 *      DOCS, which redis-cli uses for its hints.
 *
 * THE ONE SHAPE of a handler (STYLE.md habit 7):
 *      parse arguments (arg_ll, arg_is ...; on error reply and return)
 *   →  look up (engine keys from keyspace.h; chalk_get / chalk_exists)
 *   →  check type (the value's type byte; ERR_WRONGTYPE)
 *   →  change (server_write / server_put / server_del: never chalk_put
 *      directly, or appendfsync always would acknowledge before durable)
 *   →  propagate / notify (replication hooks, when they exist)
 *   →  reply (reply.h), AFTER the change, so a held reply holds this one.
 *
 * Everything common happens here, in process_command, so that no handler
 * repeats it: lookup, arity, authentication, protected commands, CLIENT
 * PAUSE, timing for SLOWLOG / LATENCY / INFO commandstats, MONITOR.
 */
#include "commands.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blocking.h"
#include "keyspace.h"
#include "multi.h"
#include "pubsub.h"
#include "repl_hooks.h"
#include "util.h"

const command_arg args_key[] = {{"key", ARG_KEY, NULL, 0, NULL}, {0}};
const command_arg args_keys[] = {{"key", ARG_KEY, NULL, ARGF_MULTIPLE, NULL}, {0}};
const command_arg args_key_member[] = {
    {"key", ARG_KEY, NULL, 0, NULL}, {"member", ARG_STRING, NULL, 0, NULL}, {0}};
const command_arg args_key_members[] = {
    {"key", ARG_KEY, NULL, 0, NULL}, {"member", ARG_STRING, NULL, ARGF_MULTIPLE, NULL}, {0}};
const command_arg args_key_count[] = {
    {"key", ARG_KEY, NULL, 0, NULL}, {"count", ARG_INTEGER, NULL, ARGF_OPTIONAL, NULL}, {0}};

/* Generated from the list of server/cmd_*.c files (server/CMakeLists.txt). */
extern const command_def *const command_families[];

/* The run-time table lives in the server struct: server.commands, sorted
 * by name, server.ncommands rows. */

static int cmp_command(const void *a, const void *b)
{
    return strcmp(((const command *)a)->def->name, ((const command *)b)->def->name);
}

static int count_rows(const command_def *defs)
{
    int n = 0;
    while (defs && defs[n].name)
        n++;
    return n;
}

static int fill(command *out, const command_def *def, command *parent)
{
    memset(out, 0, sizeof *out);
    out->def = def;
    out->name_len = strlen(def->name);
    out->parent = parent;
    int n = snprintf(out->fullname, sizeof out->fullname, "%s%s%s",
                     parent ? parent->fullname : "", parent ? "|" : "", def->name);
    if (n < 0 || (size_t)n >= sizeof out->fullname)
        return -1;                         /* a name too long for the table */
    out->nsubs = count_rows(def->subcommands);
    if (out->nsubs) {
        out->subs = calloc((size_t)out->nsubs, sizeof *out->subs);
        if (!out->subs)
            return -1;
        for (int i = 0; i < out->nsubs; i++)
            if (fill(&out->subs[i], &def->subcommands[i], out) < 0)
                return -1;
        qsort(out->subs, (size_t)out->nsubs, sizeof *out->subs, cmp_command);
    }
    return 0;
}

/* Point every subcommand at its parent where the parent now lives. */
static void relink(command *arr, int n, command *parent)
{
    for (int i = 0; i < n; i++) {
        arr[i].parent = parent;
        relink(arr[i].subs, arr[i].nsubs, &arr[i]);
    }
}

int commands_init(void)
{
    int n = 0;
    for (int f = 0; command_families[f]; f++)
        n += count_rows(command_families[f]);
    server.commands = calloc((size_t)n, sizeof *server.commands);
    if (!server.commands)
        return -1;
    server.ncommands = 0;
    for (int f = 0; command_families[f]; f++)
        for (const command_def *d = command_families[f]; d->name; d++)
            if (fill(&server.commands[server.ncommands++], d, NULL) < 0)
                return -1;
    qsort(server.commands, (size_t)server.ncommands, sizeof *server.commands, cmp_command);
    /* Sorting moved every command, so the parent pointers fill() stored in
     * the subcommands point at the old slots: set them again. allowed()
     * reads a subcommand's NO_AUTH and PROTECTED flags through its parent. */
    relink(server.commands, server.ncommands, NULL);
    for (int i = 1; i < server.ncommands; i++)
        if (strcmp(server.commands[i - 1].fullname, server.commands[i].fullname) == 0) {
            server_log(LL_WARNING, "command '%s' is defined twice", server.commands[i].fullname);
            return -1;
        }
    /* Writes that replace a string without reading it (its type comes from
     * the index entry's value size, keyops.c type_located): prefetching
     * their old record would only load a line nobody reads. */
    static const char *const blind_writes[] = {"set", "setex", "psetex", "setnx", "mset",
                                               "msetnx", "del", "unlink", NULL};
    for (int i = 0; blind_writes[i]; i++) {
        command *cmd = command_lookup(blind_writes[i], strlen(blind_writes[i]));
        if (cmd)
            cmd->blind_write = true;
    }
    static const command_prefetch_hook *const hook_tables[] = {cmd_hash_prefetch_hooks,
                                                               cmd_zset_prefetch_hooks, NULL};
    for (int t = 0; hook_tables[t]; t++)
        for (const command_prefetch_hook *h = hook_tables[t]; h->name; h++) {
            command *cmd = command_lookup(h->name, strlen(h->name));
            if (!cmd) {
                server_log(LL_WARNING, "prefetch hint for unknown command '%s'", h->name);
                return -1;
            }
            cmd->prefetch = h->fn;
        }
    return 0;
}

void commands_free(void)
{
    server.lookup_last = NULL;
    for (int i = 0; i < server.ncommands; i++)
        free(server.commands[i].subs);
    free(server.commands);
    server.commands = NULL;
    server.ncommands = 0;
}

static command *find_in(command *arr, int n, const char *name, size_t len)
{
    char lower[64];
    if (len >= sizeof lower)
        return NULL;
    str_lower(lower, sizeof lower, name, len);
    if (strlen(lower) != len)
        return NULL;                   /* an embedded NUL */
    command_def kdef = {.name = lower};
    command key = {.def = &kdef};
    return bsearch(&key, arr, (size_t)n, sizeof *arr, cmp_command);
}

/* A pipeline or a busy server sends the same few names again and again, so
 * the last answer is tried first: one length check and one strncasecmp
 * against its name instead of lowering the name and a binary search of
 * ~240 names with strcmp (~300 instructions per command, ~7% of a
 * pipelined INCR's). A name with a NUL inside never matches it (the stored
 * name has none), as find_in refuses it. */
command *command_lookup(const char *name, size_t len)
{
    command *last = server.lookup_last;
    if (last && last->name_len == len && strncasecmp(name, last->def->name, len) == 0)
        return last;
    command *cmd = find_in(server.commands, server.ncommands, name, len);
    if (cmd)
        server.lookup_last = cmd;
    return cmd;
}

size_t commands_count(void) { return (size_t)server.ncommands; }

void commands_foreach(void (*fn)(command *cmd, void *arg), void *arg)
{
    for (int i = 0; i < server.ncommands; i++) {
        fn(&server.commands[i], arg);
        for (int j = 0; j < server.commands[i].nsubs; j++)
            fn(&server.commands[i].subs[j], arg);
    }
}

static void reset_one(command *cmd, void *arg)
{
    cmd->calls = cmd->usec = cmd->rejected_calls = cmd->failed_calls = 0;
}

void commands_reset_stats(void) { commands_foreach(reset_one, NULL); }

/* ---- checks before a command runs ------------------------------------- */

/* `-ERR unknown command 'foo', with args beginning with: 'a' 'b' ` */
static void reply_unknown(client *c)
{
    char args[160] = "";
    size_t off = 0;
    for (int i = 1; i < c->argc && off < 128; i++) {
        int n = snprintf(args + off, sizeof args - off, "'%.*s' ",
                         (int)(c->argv[i].len < 128 - off ? c->argv[i].len : 128 - off),
                         c->argv[i].ptr);
        if (n < 0 || (size_t)n >= sizeof args - off)
            break;
        off += (size_t)n;
    }
    reply_errorf(c, "unknown command '%.128s', with args beginning with: %s", c->argv[0].ptr, args);
}

/* A browser or an HTTP client pointed at us (or a cross-protocol attack
 * smuggling commands inside an HTTP body): Redis's defence is to close on
 * the first line that looks like HTTP, and log it. */
static bool looks_like_http(client *c)
{
    const resp_arg *name = &c->argv[0];
    char first = name->len ? (char)(name->ptr[0] | 0x20) : 0;   /* lower case for letters */
    if (first != 'p' && first != 'h' && first != 'g')
        return false;                      /* every command but a few: no compare at all */
    if (arg_is(name, "post") || arg_is(name, "host:"))
        return true;
    return c->argc == 3 && arg_is(name, "get") && strncmp(c->argv[2].ptr, "HTTP/", 5) == 0;
}

static bool debug_allowed(client *c)
{
    int mode = server.cfg.enable_debug_command;
    return mode == PROT_YES || (mode == PROT_LOCAL && (c->flags & CLIENT_LOCAL));
}

static bool arity_ok(const command_def *d, int argc)
{
    return d->arity > 0 ? argc == d->arity : argc >= -d->arity;
}

/* Find the command (and subcommand) for c->argv, replying the error and
 * returning NULL if there is none or the arity is wrong. */
static command *resolve(client *c)
{
    command *cmd = command_lookup(c->argv[0].ptr, c->argv[0].len);
    if (!cmd) {
        reply_unknown(c);
        return NULL;
    }
    if (cmd->nsubs && c->argc >= 2) {
        command *sub = find_in(cmd->subs, cmd->nsubs, c->argv[1].ptr, c->argv[1].len);
        if (!sub) {
            cmd->rejected_calls++;
            char up[64];
            snprintf(up, sizeof up, "%s", cmd->fullname);
            for (char *p = up; *p; p++)
                *p = (char)toupper((unsigned char)*p);
            reply_errorf(c, "unknown subcommand '%.128s'. Try %s HELP.", c->argv[1].ptr, up);
            return NULL;
        }
        cmd = sub;
    }
    if (!arity_ok(cmd->def, c->argc) || (!cmd->def->proc && c->argc < 2)) {
        cmd->rejected_calls++;
        reply_errorf(c, "wrong number of arguments for '%s' command", cmd->fullname);
        return NULL;
    }
    return cmd;
}

/* Everything that may refuse a command that exists. */
static bool allowed(client *c, command *cmd)
{
    const command_def *d = cmd->def;
    if (!c->authenticated && !(d->flags & CMD_NO_AUTH) &&
        !(cmd->parent && (cmd->parent->def->flags & CMD_NO_AUTH))) {
        reply_error(c, ERR_NOAUTH);
        cmd->rejected_calls++;
        return false;
    }
    if ((d->flags & CMD_PROTECTED || (cmd->parent && cmd->parent->def->flags & CMD_PROTECTED)) &&
        !debug_allowed(c)) {
        reply_errorf(c, "%s command not allowed. If the enable-debug-command option is set to "
                     "\"local\", you can run it from a local connection, otherwise you need to "
                     "set this option in the configuration file, and then restart the server.",
                     "DEBUG");
        cmd->rejected_calls++;
        return false;
    }
    return true;
}

/* CLIENT PAUSE, and a client with as many held replies as it can track,
 * make the command wait rather than run. */
static bool must_wait(client *c, command *cmd)
{
    if (c->held_count >= CLIENT_MAX_HELD)
        return true;
    if (server.pause_end_ms == 0)
        return false;
    if (now_ms() >= server.pause_end_ms) {
        server.pause_end_ms = 0;
        return false;
    }
    uint32_t f = cmd->def->flags | (cmd->parent ? cmd->parent->def->flags : 0);
    if (strcmp(cmd->fullname, "client|unpause") == 0 || strcmp(cmd->fullname, "client|pause") == 0)
        return false;
    return server.pause_all || (f & CMD_WRITE);
}

/* The clock of SLOWLOG, LATENCY and INFO commandstats: one read per
 * command, not two. Two gettimeofday per command were ~10% of the
 * server's CPU on PING P16 under io_uring. The commands of one pass over
 * a client's query buffer (client_process_input) run back to back, so the
 * end of one is the start of the next: the parsing of the next request
 * (and of a refused or queued one between them) counts in its time, as it
 * counts in the client's wait. A command's start is the previous command's
 * end only when
 *  1. that command was this client's (same CLIENT ID) and ran call(),
 *  2. no byte was read since (stat_net_in unchanged: the loop has not gone
 *     back to the sockets; every read of a client goes through
 *     client_on_read, which counts it), and
 *  3. nothing waited since (process_command forgets the end when a client
 *     must wait: a paused, held or blocked client resumes later, from the
 *     ready list, with no read; a blocked one runs its command again).
 * tests/e2e/test_server_commands.py checks each case.
 * Otherwise (the first command of a read, a command nested in EXEC) the
 * clock is read. Taking the start consumes the end, so a nested call never
 * reuses its parent's. */
static int64_t clock_start(const client *c)
{
    bool chained = server.cmd_clock.client_id == c->id
                   && server.cmd_clock.net_in == server.stat_net_in;
    server.cmd_clock.client_id = 0;
    return chained ? server.cmd_clock.end_us : now_us();
}

static int64_t clock_end(const client *c)
{
    int64_t end = now_us();
    server.cmd_clock.client_id = c->id;
    server.cmd_clock.end_us = end;
    server.cmd_clock.net_in = server.stat_net_in;
    return end;
}

static void clock_forget(void) { server.cmd_clock.client_id = 0; }

/* @interview(perf.single-thread): Why can one thread serve so many
 * clients? Each command is a short, in-memory step (the engine's indexes
 * are in memory, values come from the page cache) and the thread never
 * waits for the network or the disk: sockets are non-blocking and fsync
 * runs in the background (group commit). With no locks, every command and
 * every EXEC is atomic by construction, and the real limit is one core's
 * worth of parsing and syscalls: that is what pipelining and io_uring's
 * batched submissions attack. */
static void call(client *c, command *cmd)
{
    uint64_t errors_before = server.stat_total_errors;
    if (server.nmonitors && !(cmd->def->flags & CMD_SKIP_MONITOR))
        monitor_feed(c);
    int64_t start = clock_start(c);
    c->last_ms = start / 1000;
    cmd->def->proc(c);
    int64_t dur = clock_end(c) - start;
    cmd->calls++;
    cmd->usec += (uint64_t)dur;
    if (server.stat_total_errors != errors_before)
        cmd->failed_calls++;
    server.stat_commands++;
    c->last_cmd = cmd->fullname;
    if (!(cmd->def->flags & CMD_SKIP_SLOWLOG))
        slowlog_push(c, dur);
    if (server.cfg.latency_monitor_threshold > 0 && dur / 1000 >= server.cfg.latency_monitor_threshold)
        latency_add_sample("command", dur / 1000);
}

void command_call(client *c, command *cmd) { call(c, cmd); }

int process_command(client *c)
{
    if (repl_is_master_link(c))            /* the stream from our leader (repl_stream.c) */
        return repl_master_command(c);
    if (looks_like_http(c)) {
        server_log(LL_WARNING, "Possible SECURITY ATTACK detected. It looks like somebody is "
                   "sending POST or Host: commands to Chalk. This is likely due to an attacker "
                   "attempting to use Cross Protocol Scripting to compromise your Chalk "
                   "instance. Connection from %s aborted.", c->addr);
        client_close_async(c);
        return PC_DONE;
    }
    command *cmd = resolve(c);
    if (!cmd || !allowed(c, cmd)) {
        multi_flag_error(c);               /* in MULTI: EXEC → EXECABORT */
        return PC_DONE;
    }
    if (!pubsub_command_allowed(c, cmd))   /* RESP2 subscribed mode (pubsub.c) */
        return PC_DONE;
    if (!repl_command_allowed(c, cmd)) {   /* -READONLY on a follower */
        multi_flag_error(c);
        return PC_DONE;
    }
    if (must_wait(c, cmd)) {
        clock_forget();                    /* it runs later: a new clock read (call) */
        return PC_WAIT;
    }
    if (multi_queue(c, cmd))               /* in MULTI: +QUEUED (multi.c) */
        return PC_DONE;
    call(c, cmd);
    repl_end_unit();                       /* its writes: one CHALK.APPLY in the stream */
    if (!blocking_is_blocked(c))
        return PC_DONE;
    clock_forget();
    return PC_WAIT;                        /* BLPOP waits (blocking.c) */
}

/* ---- argument helpers -------------------------------------------------- */

bool arg_is(const resp_arg *a, const char *word)
{
    return strlen(word) == a->len && strncasecmp(a->ptr, word, a->len) == 0;
}

bool arg_ll(client *c, const resp_arg *a, long long *out)
{
    if (string_to_ll(a->ptr, a->len, out))
        return true;
    reply_error(c, ERR_NOT_INT);
    return false;
}

bool arg_ll_range(client *c, const resp_arg *a, long long min, long long max,
                  const char *err, long long *out)
{
    long long v;
    if (!string_to_ll(a->ptr, a->len, &v)) {
        reply_error(c, err ? err : ERR_NOT_INT);
        return false;
    }
    if (v < min || v > max) {
        if (err)
            reply_error(c, err);
        else
            reply_errorf(c, "value is out of range, must be between %lld and %lld", min, max);
        return false;
    }
    *out = v;
    return true;
}

bool arg_double(client *c, const resp_arg *a, double *out)
{
    if (string_to_double(a->ptr, a->len, out))
        return true;
    reply_error(c, ERR_NOT_FLOAT);
    return false;
}

/* ---- writes ------------------------------------------------------------ */

static void commit_done(void *arg, int status) { hold_reply_release(arg, status); }

/* The durability contract lives here: under appendfsync always the reply
 * to this write is held (hold_reply_begin) until the engine's callback says
 * an fdatasync covering the batch completed. The engine groups every batch
 * queued since the last group into one write + one fdatasync (gc_flush in
 * server_before_sleep decides when: group_commit.c), so a thousand clients
 * writing at once cost one fsync, not a thousand. */
int server_write(client *c, const chalk_batch *b)
{
    if (!server.db)
        return CHALK_ECLOSED;
    bool hold = c && server.cfg.appendfsync == FSYNC_ALWAYS && multi_holds_reply(c);
    if (hold && hold_reply_begin(c) < 0)
        hold = false;                      /* cannot happen: must_wait() */
    int rc = chalk_write(server.db, b, hold ? commit_done : NULL, hold ? c : NULL);
    if (rc != CHALK_OK && hold) {
        c->held_count--;                   /* never submitted: undo */
        c->commits_pending--;
    }
    if (rc == CHALK_OK) {
        server.dirty += chalk_batch_count(b);
        multi_touch_batch(b);              /* WATCH: whoever watches these keys */
        repl_feed_batch(b);                /* the replication stream (repl_stream.c) */
    }
    return rc;
}

/* One batch reused by every single-key write; the engine copies it. */
static chalk_batch *scratch_batch(void)
{
    if (!server.scratch)
        server.scratch = chalk_batch_new();
    else
        chalk_batch_clear(server.scratch);
    return server.scratch;
}

int server_put(client *c, const void *key, size_t klen, const void *val, size_t vlen,
               int64_t expire_at_ms)
{
    chalk_batch *b = scratch_batch();
    if (!b)
        return CHALK_ENOMEM;
    int rc = chalk_batch_put(b, key, klen, val, vlen, expire_at_ms);
    return rc == CHALK_OK ? server_write(c, b) : rc;
}

int server_del(client *c, const void *key, size_t klen)
{
    chalk_batch *b = scratch_batch();
    if (!b)
        return CHALK_ENOMEM;
    int rc = chalk_batch_delete(b, key, klen);
    return rc == CHALK_OK ? server_write(c, b) : rc;
}

void reply_engine_error(client *c, int err)
{
    switch (err) {
    case CHALK_ETOOBIG: reply_error(c, "string exceeds maximum allowed size (proto-max-bulk-len)"); break;
    case CHALK_ENOMEM: reply_error(c, "-OOM command not allowed when used memory > 'maxmemory'."); break;
    case CHALK_EFAILED:
    case CHALK_ENOSPC:
    case CHALK_EIO:
        reply_errorf(c, "-MISCONF Errors writing to the log (%s): writes are refused until "
                     "the server is restarted. Check the server log.", chalk_strerror(err));
        break;
    default: reply_errorf(c, "engine error: %s", chalk_strerror(err)); break;
    }
}
