/*
 * cmd_client.c — CLIENT: ID, SETNAME, GETNAME, SETINFO, LIST, INFO, KILL,
 * PAUSE, UNPAUSE, NO-EVICT, REPLY (ON only), HELP.
 *
 * The one idea: the server can describe and act on every connection it
 * holds (CLIENT LIST is the first thing to look at when "Redis is slow":
 * who is connected, idle how long, with how much unread output).
 *
 * Left out on purpose: CLIENT TRACKING / CACHING (server-assisted client
 * caching) and CLIENT REPLY OFF/SKIP; the cost is no invalidation push
 * messages for client-side caches.
 *
 * Interview topics: none tagged here. CLIENT LIST is the first tool of
 * obs.tracing (tagged in cmd_admin.c), and the omem it shows is what
 * resilience.backpressure bounds (networking.c).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "multi.h"
#include "pubsub.h"
#include "repl_hooks.h"
#include "server.h"
#include "util.h"

/* Names may not contain spaces or newlines (CLIENT LIST would break). */
int client_set_name(client *c, const char *name)
{
    if (name) {
        for (const char *p = name; *p; p++)
            if (*p < '!' || *p > '~') {
                reply_error(c, "Client names cannot contain spaces, newlines or special characters.");
                return -1;
            }
    }
    free(c->name);
    c->name = name && name[0] ? strdup(name) : NULL;
    return 0;
}

static void format_flags(const client *c, char *out)
{
    char *p = out;
    if (c->flags & CLIENT_MONITOR) *p++ = 'O';
    if (c->flags & CLIENT_CLOSE_ASAP) *p++ = 'A';
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY) *p++ = 'c';
    if (c->flags & CLIENT_WAITING) *p++ = 'b';
    if (c->flags & CLIENT_NO_EVICT) *p++ = 'e';
    if (multi_queued(c) >= 0) *p++ = 'x';      /* in MULTI (multi.c) */
    if (multi_dirty_cas(c)) *p++ = 'd';        /* a WATCHed key was touched */
    if (p == out) *p++ = 'N';
    *p = '\0';
}

/* One CLIENT LIST line, Redis 7's fields (those that mean something here). */
static int client_info_line(const client *c, char *out, size_t len, int64_t now)
{
    char flags[16];
    format_flags(c, flags);
    return snprintf(out, len,
        "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d sub=%ld psub=%ld "
        "ssub=0 multi=%d qbuf=%zu qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%zu rbp=0 obl=0 oll=0 "
        "omem=%zu tot-mem=%zu events=r cmd=%s user=default redir=-1 resp=%d lib-name=%s lib-ver=%s\n",
        (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
        (long long)(now - c->ctime_ms) / 1000, (long long)(now - c->last_ms) / 1000, flags, c->db,
        pubsub_client_channels(c), pubsub_client_patterns(c), multi_queued(c), c->qlen - c->qpos, c->qcap - c->qlen, c->qcap, c->reply_bytes,
        c->qcap + c->reply_bytes + sizeof *c, c->last_cmd, c->resp, c->lib_name, c->lib_ver);
}

/* CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id [id ...]]:
 * 1 if o is listed. */
static bool list_filter(client *c, const client *o)
{
    if (c->argc >= 4 && arg_is(&c->argv[2], "type"))
        return repl_client_type_is(o, c->argv[3].ptr);   /* normal, master, replica, pubsub */
    if (c->argc >= 4 && arg_is(&c->argv[2], "id")) {
        for (int i = 3; i < c->argc; i++)
            if (strtoull(c->argv[i].ptr, NULL, 10) == o->id)
                return true;
        return false;
    }
    return true;
}

static void client_list(client *c)
{
    if (c->argc != 2 && !(c->argc >= 4 && arg_is(&c->argv[2], "id")) &&
        !(c->argc == 4 && arg_is(&c->argv[2], "type"))) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    int64_t now = now_ms();
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (client *o = server.clients; o && buf; o = o->next) {
        if ((o->flags & CLIENT_CLOSE_ASAP) || !list_filter(c, o))
            continue;
        if (cap - len < 1024) {
            char *n = realloc(buf, cap * 2);
            if (!n)
                break;
            buf = n;
            cap *= 2;
        }
        len += (size_t)client_info_line(o, buf + len, cap - len, now);
    }
    if (!buf) {
        reply_error(c, "out of memory");
        return;
    }
    reply_verbatim(c, "txt", buf, len);
    free(buf);
}

static void client_info(client *c)
{
    char line[1024];
    int n = client_info_line(c, line, sizeof line, now_ms());
    reply_verbatim(c, "txt", line, (size_t)n);
}

static void client_id(client *c) { reply_long(c, (long long)c->id); }

static void client_setname(client *c)
{
    if (client_set_name(c, c->argv[2].ptr) == 0)
        reply_ok(c);
}

static void client_getname(client *c)
{
    if (c->name)
        reply_bulk_cstr(c, c->name);
    else
        reply_null(c);
}

static void client_setinfo(client *c)
{
    char *dst = arg_is(&c->argv[2], "lib-name") ? c->lib_name
              : arg_is(&c->argv[2], "lib-ver") ? c->lib_ver : NULL;
    if (!dst) {
        reply_errorf(c, "Unrecognized option '%.64s'", c->argv[2].ptr);
        return;
    }
    size_t cap = dst == c->lib_name ? sizeof c->lib_name : sizeof c->lib_ver;
    snprintf(dst, cap, "%s", c->argv[3].ptr);
    reply_ok(c);
}

static bool kill_matches(client *o, client *self, const char *field, const char *value, bool skipme)
{
    if (skipme && o == self)
        return false;
    if (!strcasecmp(field, "id"))
        return strtoull(value, NULL, 10) == o->id;
    if (!strcasecmp(field, "addr"))
        return strcmp(value, o->addr) == 0;
    if (!strcasecmp(field, "laddr"))
        return strcmp(value, o->laddr) == 0;
    if (!strcasecmp(field, "type"))
        return repl_client_type_is(o, value);   /* normal, master, replica, pubsub */
    if (!strcasecmp(field, "user"))
        return strcmp(value, "default") == 0;
    return false;
}

/* CLIENT KILL addr | CLIENT KILL <field> <value> [...] [SKIPME yes|no] */
static void client_kill(client *c)
{
    static const char *const fields[] = {"id", "addr", "laddr", "type", "user", NULL};
    bool old_style = c->argc == 3, skipme = true;
    if (!old_style && c->argc % 2 != 0) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    for (int i = 2; !old_style && i < c->argc; i += 2) {
        bool known = arg_is(&c->argv[i], "skipme");
        for (int f = 0; fields[f]; f++)
            known |= arg_is(&c->argv[i], fields[f]);
        if (!known) {
            reply_error(c, ERR_SYNTAX);
            return;
        }
        if (arg_is(&c->argv[i], "skipme"))
            skipme = arg_is(&c->argv[i + 1], "yes");
    }
    long long killed = 0;
    for (client *o = server.clients; o; o = o->next) {
        if (o->flags & CLIENT_CLOSE_ASAP)
            continue;
        bool all = true;
        if (old_style)
            all = kill_matches(o, c, "addr", c->argv[2].ptr, false);
        for (int i = 2; !old_style && i < c->argc && all; i += 2)
            if (!arg_is(&c->argv[i], "skipme"))
                all = kill_matches(o, c, c->argv[i].ptr, c->argv[i + 1].ptr, skipme);
        if (!all)
            continue;
        killed++;
        if (o == c)
            o->flags |= CLIENT_CLOSE_AFTER_REPLY;   /* reply first, then go */
        else
            client_close_async(o);
    }
    if (old_style && killed == 0)
        reply_error(c, "No such client");
    else if (old_style)
        reply_ok(c);
    else
        reply_long(c, killed);
}

static void client_pause(client *c)
{
    long long ms;
    if (!arg_ll_range(c, &c->argv[2], LLONG_MIN, (long long)1 << 50, "timeout is not an integer or out of range", &ms))
        return;
    if (ms < 0) {
        reply_error(c, "timeout is negative");   /* Redis's text */
        return;
    }
    bool all = true;
    if (c->argc == 4) {
        if (arg_is(&c->argv[3], "write"))
            all = false;
        else if (!arg_is(&c->argv[3], "all")) {
            reply_error(c, "CLIENT PAUSE mode must be WRITE or ALL");
            return;
        }
    }
    server.pause_end_ms = now_ms() + ms;
    server.pause_all = all;
    reply_ok(c);
}

static void client_unpause(client *c)
{
    server.pause_end_ms = 0;
    for (client *o = server.clients; o; o = o->next)
        if ((o->flags & CLIENT_WAITING) && o->cmd_ready)
            client_make_ready(o);
    reply_ok(c);
}

static void client_no_evict(client *c)
{
    if (arg_is(&c->argv[2], "on"))
        c->flags |= CLIENT_NO_EVICT;
    else if (arg_is(&c->argv[2], "off"))
        c->flags &= ~(uint32_t)CLIENT_NO_EVICT;
    else {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    reply_ok(c);
}

static void client_reply(client *c)
{
    if (arg_is(&c->argv[2], "on"))
        reply_ok(c);
    else
        reply_error(c, "CLIENT REPLY OFF|SKIP is not supported by Chalk");
}

static void client_help(client *c)
{
    static const char *const lines[] = {
        "ID", "    Return the ID of the current connection.",
        "INFO", "    Return information about the current client connection.",
        "GETNAME", "    Return the name of the current connection.",
        "KILL <ip:port>", "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]",
        "    Kill connections. Options are: ID, ADDR, LADDR, TYPE, USER, SKIPME.",
        "LIST", "    Return information about client connections.",
        "NO-EVICT (ON|OFF)", "    Protect current client connection from eviction.",
        "PAUSE <timeout> [WRITE|ALL]", "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "SETNAME <name>", "    Assign the name <name> to the current connection.",
        "SETINFO <LIB-NAME|LIB-VER> <value>", "    Set client meta attr.",
        "UNPAUSE", "    Stop the current client pause, resuming traffic.",
        NULL};
    reply_help(c, "CLIENT", lines);
}

static const command_arg setname_args[] = {{"connection-name", ARG_STRING, NULL, 0, NULL}, {0}};
static const command_arg pause_mode[] = {
    {"write", ARG_PURE_TOKEN, "WRITE", 0, NULL}, {"all", ARG_PURE_TOKEN, "ALL", 0, NULL}, {0}};
static const command_arg pause_args[] = {
    {"timeout", ARG_INTEGER, NULL, 0, NULL}, {"mode", ARG_ONEOF, NULL, ARGF_OPTIONAL, pause_mode}, {0}};
static const command_arg kill_args[] = {
    {"ip:port", ARG_STRING, NULL, ARGF_OPTIONAL, NULL},
    {"client-id", ARG_INTEGER, "ID", ARGF_OPTIONAL, NULL},
    {"addr", ARG_STRING, "ADDR", ARGF_OPTIONAL, NULL},
    {"laddr", ARG_STRING, "LADDR", ARGF_OPTIONAL, NULL},
    {"skipme", ARG_STRING, "SKIPME", ARGF_OPTIONAL, NULL}, {0}};
static const command_arg onoff_args[] = {{"enabled", ARG_STRING, NULL, 0, NULL}, {0}};
static const command_arg setinfo_args[] = {
    {"attr", ARG_STRING, NULL, 0, NULL}, {"value", ARG_STRING, NULL, 0, NULL}, {0}};

#define SUB CMD_LOADING | CMD_STALE | CMD_NOSCRIPT
static const command_def client_subs[] = {
    {"id", client_id, 2, SUB | CMD_FAST, 0, 0, 0, "connection", "5.0.0", "O(1)",
     "Returns the unique client ID of the connection.", NULL, NULL},
    {"info", client_info, 2, SUB, 0, 0, 0, "connection", "6.2.0", "O(1)",
     "Returns information about the connection.", NULL, NULL},
    {"list", client_list, -2, SUB | CMD_ADMIN, 0, 0, 0, "connection", "2.4.0",
     "O(N) where N is the number of client connections", "Lists open connections.", NULL, NULL},
    {"setname", client_setname, 3, SUB | CMD_FAST, 0, 0, 0, "connection", "2.6.9", "O(1)",
     "Sets the connection name.", setname_args, NULL},
    {"getname", client_getname, 2, SUB | CMD_FAST, 0, 0, 0, "connection", "2.6.9", "O(1)",
     "Returns the name of the connection.", NULL, NULL},
    {"setinfo", client_setinfo, 4, SUB | CMD_FAST, 0, 0, 0, "connection", "7.2.0", "O(1)",
     "Sets information specific to the client or connection.", setinfo_args, NULL},
    {"kill", client_kill, -3, SUB | CMD_ADMIN, 0, 0, 0, "connection", "2.4.0",
     "O(N) where N is the number of client connections", "Terminates open connections.", kill_args, NULL},
    {"pause", client_pause, -3, SUB | CMD_ADMIN, 0, 0, 0, "connection", "3.0.0", "O(1)",
     "Suspends commands processing.", pause_args, NULL},
    {"unpause", client_unpause, 2, SUB | CMD_ADMIN, 0, 0, 0, "connection", "6.2.0",
     "O(N) Where N is the number of paused clients", "Resumes processing commands from paused clients.", NULL, NULL},
    {"no-evict", client_no_evict, 3, SUB | CMD_ADMIN, 0, 0, 0, "connection", "7.0.0", "O(1)",
     "Sets the client eviction mode of the connection.", onoff_args, NULL},
    {"reply", client_reply, 3, SUB, 0, 0, 0, "connection", "3.2.0", "O(1)",
     "Instructs the server whether to reply to commands.", onoff_args, NULL},
    {"help", client_help, 2, SUB, 0, 0, 0, "connection", "5.0.0", "O(1)",
     "Returns helpful text about the different subcommands.", NULL, NULL},
    {0},
};

const command_def cmd_client_table[] = {
    {"client", NULL, -2, 0, 0, 0, 0, "connection", "2.4.0", "Depends on subcommand.",
     "A container for client connection commands.", NULL, client_subs},
    {0},
};
