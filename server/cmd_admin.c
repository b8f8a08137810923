/*
 * cmd_admin.c — watching the server work: SLOWLOG, LATENCY, MONITOR.
 *
 * The one idea: measure every command where it runs (process_command's
 * call()) and keep the few worth keeping: the slowest ones with their
 * arguments (SLOWLOG), the worst latency per event with a short history
 * (LATENCY), and, on demand, every command as it happens (MONITOR).
 *
 * Left out on purpose: trace ids that cross processes. Chalk is one hop;
 * a request's whole path is visible in one place. The cost: correlating a
 * slow request in an application with a SLOWLOG entry is by time and
 * client name (CLIENT SETNAME), not by id.
 *
 * @interview(obs.tracing): How would you find out why a request was slow?
 * Start from the three signals the server keeps: SLOWLOG lists commands
 * whose execution exceeded slowlog-log-slower-than with their arguments,
 * client and time; INFO commandstats gives calls, total and mean time per
 * command (a RED-style view: rate, errors, duration); LATENCY tracks
 * spikes per event. Execution time excludes waiting in the socket and the
 * loop, so a slow client with an empty SLOWLOG points at the network or at
 * the loop being busy with others: that is where distributed tracing
 * (spans carried across services) takes over.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "server.h"

/* ---- SLOWLOG -------------------------------------------------------------- */

static void entry_free(slowlog_entry *e)
{
    for (int i = 0; i < e->argc; i++)
        free(e->argv[i]);
    free(e->argv);
    free(e->arglen);
    memset(e, 0, sizeof *e);
}

void slowlog_free_all(void)
{
    for (size_t i = 0; i < server.slowlog_len; i++)
        entry_free(&server.slowlog[i]);
    free(server.slowlog);
    server.slowlog = NULL;
    server.slowlog_len = server.slowlog_cap = server.slowlog_next = 0;
}

/* Keep at most 32 arguments of at most 128 bytes each, as Redis does, so
 * that a slow MSET of a million keys costs a bounded entry. */
static void entry_fill(slowlog_entry *e, client *c, int64_t duration_us)
{
    int argc = c->argc > SLOWLOG_MAX_ARGS ? SLOWLOG_MAX_ARGS : c->argc;
    e->id = server.slowlog_next_id++;
    e->time_s = now_ms() / 1000;
    e->duration_us = duration_us;
    e->argv = calloc((size_t)argc, sizeof *e->argv);
    e->arglen = calloc((size_t)argc, sizeof *e->arglen);
    if (!e->argv || !e->arglen)
        return;
    e->argc = argc;
    for (int i = 0; i < argc; i++) {
        char buf[160];
        size_t len = c->argv[i].len;
        if (i == argc - 1 && argc < c->argc)
            len = (size_t)snprintf(buf, sizeof buf, "... (%d more arguments)", c->argc - argc + 1);
        else if (len > 128)
            len = (size_t)snprintf(buf, sizeof buf, "%.128s... (%zu more bytes)", c->argv[i].ptr,
                                   c->argv[i].len - 128);
        else
            memcpy(buf, c->argv[i].ptr, len);
        e->argv[i] = malloc(len + 1);
        if (e->argv[i])
            memcpy(e->argv[i], buf, len);
        e->arglen[i] = e->argv[i] ? len : 0;
    }
    snprintf(e->addr, sizeof e->addr, "%s", c->addr);
    snprintf(e->name, sizeof e->name, "%s", c->name ? c->name : "");
}

void slowlog_push(client *c, int64_t duration_us)
{
    long long limit = server.cfg.slowlog_log_slower_than;
    size_t max = (size_t)server.cfg.slowlog_max_len;
    if (limit < 0 || duration_us < limit || max == 0)
        return;
    if (server.slowlog_cap != max) {            /* slowlog-max-len changed */
        slowlog_free_all();
        server.slowlog = calloc(max, sizeof *server.slowlog);
        if (!server.slowlog)
            return;
        server.slowlog_cap = max;
    }
    slowlog_entry *e = &server.slowlog[server.slowlog_next];
    entry_free(e);
    entry_fill(e, c, duration_us);
    server.slowlog_next = (server.slowlog_next + 1) % max;
    if (server.slowlog_len < max)
        server.slowlog_len++;
}

static void slowlog_get(client *c)
{
    long long count = 10;
    if (c->argc == 3 && !arg_ll_range(c, &c->argv[2], -1, 1LL << 40,
                                      "count should be greater than or equal to -1", &count))
        return;
    if (count < 0 || (size_t)count > server.slowlog_len)
        count = (long long)server.slowlog_len;
    reply_array(c, count);
    for (long long i = 0; i < count; i++) {         /* newest first */
        size_t idx = (server.slowlog_next + server.slowlog_cap - 1 - (size_t)i) % server.slowlog_cap;
        slowlog_entry *e = &server.slowlog[idx];
        reply_array(c, 6);
        reply_long(c, (long long)e->id);
        reply_long(c, e->time_s);
        reply_long(c, e->duration_us);
        reply_array(c, e->argc);
        for (int a = 0; a < e->argc; a++)
            reply_bulk(c, e->argv[a] ? e->argv[a] : "", e->arglen[a]);
        reply_bulk_cstr(c, e->addr);
        reply_bulk_cstr(c, e->name);
    }
}

static void slowlog_len(client *c) { reply_long(c, (long long)server.slowlog_len); }

static void slowlog_reset(client *c)
{
    for (size_t i = 0; i < server.slowlog_cap; i++)
        entry_free(&server.slowlog[i]);
    server.slowlog_len = server.slowlog_next = 0;
    reply_ok(c);
}

static void slowlog_help(client *c)
{
    static const char *const lines[] = {
        "GET [<count>]", "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:", "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name", "LEN", "    Return the length of the slowlog.",
        "RESET", "    Reset the slowlog.", NULL};
    reply_help(c, "SLOWLOG", lines);
}

/* ---- LATENCY -------------------------------------------------------------- */

void latency_add_sample(const char *event, int64_t ms)
{
    latency_event *ev = NULL;
    for (int i = 0; i < server.nlatency; i++)
        if (strcmp(server.latency[i].name, event) == 0)
            ev = &server.latency[i];
    if (!ev) {
        if (server.nlatency == (int)(sizeof server.latency / sizeof server.latency[0]))
            return;
        ev = &server.latency[server.nlatency++];
        memset(ev, 0, sizeof *ev);
        snprintf(ev->name, sizeof ev->name, "%s", event);
    }
    int64_t now = now_ms() / 1000;
    ev->last_time_s = now;
    ev->last_ms = ms;
    if (ms > ev->max_ms)
        ev->max_ms = ms;
    int last = (ev->hist_next + 159) % 160;
    if (ev->hist_len && ev->hist_time[last] == now) {   /* one sample per second */
        if (ms > ev->hist_ms[last])
            ev->hist_ms[last] = ms;
        return;
    }
    ev->hist_time[ev->hist_next] = now;
    ev->hist_ms[ev->hist_next] = ms;
    ev->hist_next = (ev->hist_next + 1) % 160;
    if (ev->hist_len < 160)
        ev->hist_len++;
}

static void latency_latest(client *c)
{
    reply_array(c, server.nlatency);
    for (int i = 0; i < server.nlatency; i++) {
        latency_event *ev = &server.latency[i];
        reply_array(c, 4);
        reply_bulk_cstr(c, ev->name);
        reply_long(c, ev->last_time_s);
        reply_long(c, ev->last_ms);
        reply_long(c, ev->max_ms);
    }
}

static void latency_history(client *c)
{
    for (int i = 0; i < server.nlatency; i++) {
        latency_event *ev = &server.latency[i];
        if (!arg_is(&c->argv[2], ev->name))
            continue;
        reply_array(c, ev->hist_len);
        for (int k = 0; k < ev->hist_len; k++) {
            int idx = (ev->hist_next - ev->hist_len + k + 160) % 160;
            reply_array(c, 2);
            reply_long(c, ev->hist_time[idx]);
            reply_long(c, ev->hist_ms[idx]);
        }
        return;
    }
    reply_array(c, 0);
}

static void latency_reset(client *c)
{
    long long n = 0;
    for (int i = 0; i < server.nlatency; i++) {
        bool hit = c->argc == 2;
        for (int a = 2; a < c->argc; a++)
            hit |= arg_is(&c->argv[a], server.latency[i].name);
        if (hit) {
            n++;
            server.latency[i] = server.latency[--server.nlatency];
            i--;
        }
    }
    reply_long(c, n);
}

static void latency_doctor(client *c)
{
    char text[512];
    int n = snprintf(text, sizeof text,
        server.nlatency == 0
            ? "Dave, no latency spike was observed during the lifetime of this Chalk instance, not "
              "in the slightest bit. (latency-monitor-threshold is %lld ms; 0 disables it.)\n"
            : "Dave, I have observed latency spikes in this Chalk instance: see LATENCY LATEST and "
              "LATENCY HISTORY <event>. (latency-monitor-threshold is %lld ms.)\n",
        server.cfg.latency_monitor_threshold);
    reply_verbatim(c, "txt", text, (size_t)n);
}

static void latency_help(client *c)
{
    static const char *const lines[] = {
        "DOCTOR", "    Return a human readable latency analysis report.",
        "HISTORY <event>", "    Return time-latency samples for the <event> class.",
        "LATEST", "    Return the latest latency samples for all events.",
        "RESET [<event> ...]", "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)", NULL};
    reply_help(c, "LATENCY", lines);
}

/* ---- MONITOR -------------------------------------------------------------- */

/* Append s quoted the way redis-cli prints strings ("a\x00b"). */
static size_t quote(char *out, size_t cap, const char *s, size_t len)
{
    size_t o = 0;
    if (o < cap) out[o++] = '"';
    for (size_t i = 0; i < len && o + 5 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') { out[o++] = '\\'; out[o++] = (char)ch; }
        else if (ch == '\n') { out[o++] = '\\'; out[o++] = 'n'; }
        else if (ch == '\r') { out[o++] = '\\'; out[o++] = 'r'; }
        else if (ch < 32 || ch > 126) o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
        else out[o++] = (char)ch;
    }
    if (o < cap) out[o++] = '"';
    return o;
}

void monitor_feed(client *c)
{
    char line[4096];
    int64_t us = now_us();
    size_t o = (size_t)snprintf(line, sizeof line, "+%lld.%06lld [%d %s]", (long long)(us / 1000000),
                                (long long)(us % 1000000), c->db, c->addr);
    for (int i = 0; i < c->argc && o + 8 < sizeof line; i++) {
        line[o++] = ' ';
        o += quote(line + o, sizeof line - o - 3, c->argv[i].ptr, c->argv[i].len);
    }
    line[o++] = '\r';
    line[o++] = '\n';
    for (client *m = server.clients; m; m = m->next)
        if ((m->flags & CLIENT_MONITOR) && m != c && !(m->flags & CLIENT_CLOSE_ASAP))
            reply_raw(m, line, o);
}

static void monitor_command(client *c)
{
    if (c->flags & CLIENT_MONITOR)
        return;
    c->flags |= CLIENT_MONITOR;
    server.nmonitors++;
    reply_ok(c);
}

static const command_arg count_arg[] = {{"count", ARG_INTEGER, NULL, ARGF_OPTIONAL, NULL}, {0}};
static const command_arg event_arg[] = {{"event", ARG_STRING, NULL, 0, NULL}, {0}};
static const command_arg events_arg[] = {{"event", ARG_STRING, NULL, ARGF_OPTIONAL | ARGF_MULTIPLE, NULL}, {0}};

#define ADM CMD_ADMIN | CMD_LOADING | CMD_STALE
static const command_def slowlog_subs[] = {
    {"get", slowlog_get, -2, ADM, 0, 0, 0, "server", "2.2.12", "O(N) where N is the number of entries returned",
     "Returns the slow log's entries.", count_arg, NULL},
    {"len", slowlog_len, 2, ADM, 0, 0, 0, "server", "2.2.12", "O(1)",
     "Returns the number of entries in the slow log.", NULL, NULL},
    {"reset", slowlog_reset, 2, ADM, 0, 0, 0, "server", "2.2.12", "O(N) where N is the number of entries in the slowlog",
     "Clears all entries from the slow log.", NULL, NULL},
    {"help", slowlog_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "server", "6.2.0", "O(1)",
     "Show helpful text about the different subcommands", NULL, NULL},
    {0},
};
static const command_def latency_subs[] = {
    {"latest", latency_latest, 2, ADM, 0, 0, 0, "server", "2.8.13", "O(1)",
     "Returns the latest latency samples for all events.", NULL, NULL},
    {"history", latency_history, 3, ADM, 0, 0, 0, "server", "2.8.13", "O(1)",
     "Returns timestamp-latency samples for an event.", event_arg, NULL},
    {"reset", latency_reset, -2, ADM, 0, 0, 0, "server", "2.8.13", "O(1)",
     "Resets the latency data for one or more events.", events_arg, NULL},
    {"doctor", latency_doctor, 2, ADM, 0, 0, 0, "server", "2.8.13", "O(1)",
     "Returns a human-readable latency analysis report.", NULL, NULL},
    {"help", latency_help, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "server", "2.8.13", "O(1)",
     "Returns helpful text about the different subcommands.", NULL, NULL},
    {0},
};

const command_def cmd_admin_table[] = {
    {"slowlog", NULL, -2, 0, 0, 0, 0, "server", "2.2.12", "Depends on subcommand.",
     "A container for slow log commands.", NULL, slowlog_subs},
    {"latency", NULL, -2, 0, 0, 0, 0, "server", "2.8.13", "Depends on subcommand.",
     "A container for latency diagnostics commands.", NULL, latency_subs},
    {"monitor", monitor_command, 1, ADM | CMD_NOSCRIPT, 0, 0, 0, "server", "1.0.0", "O(1)",
     "Listens for all requests received by the server in real-time.", NULL, NULL},
    {0},
};
