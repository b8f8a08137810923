/*
 * cmd_command.c — COMMAND: the command table describing itself (COUNT,
 * LIST, INFO, DOCS, GETKEYS).
 *
 * The one idea: metadata that lives in one table serves everyone. The
 * dispatcher reads arity and flags from it; client libraries read COMMAND
 * INFO (key positions for cluster routing, flags for read/write routing);
 * redis-cli reads COMMAND DOCS for the grey argument hints it shows as you
 * type. No second source of truth can drift.
 *
 * Key specs (with their flags: RW/access/update...), command tips and ACL
 * categories are Redis's metadata about its commands: they come from
 * command_meta.c, generated from redis-server (command_meta.h says why),
 * and are printed the way Redis 7 prints them (sets in RESP3). A command
 * Redis does not have gets them derived from the table: one key spec from
 * first/last/step without flags, categories from group and flags.
 *
 * Interview topics: none tagged here. A protocol that describes itself is
 * RESP's answer to a schema; docs/beyond-kv.md compares it with GraphQL's
 * introspection and gRPC's .proto files (overview.api-protocols).
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "command_meta.h"
#include "commands.h"
#include "server.h"
#include "util.h"

static const struct { uint32_t flag; const char *name; } flag_names[] = {
    {CMD_WRITE, "write"}, {CMD_READONLY, "readonly"}, {CMD_DENYOOM, "denyoom"},
    {CMD_ADMIN, "admin"}, {CMD_PUBSUB, "pubsub"}, {CMD_NOSCRIPT, "noscript"},
    {CMD_BLOCKING, "blocking"}, {CMD_LOADING, "loading"}, {CMD_STALE, "stale"},
    {CMD_SKIP_MONITOR, "skip_monitor"}, {CMD_SKIP_SLOWLOG, "skip_slowlog"},
    {CMD_FAST, "fast"}, {CMD_NO_AUTH, "no_auth"}, {CMD_NO_MULTI, "no_multi"},
};

static void reply_flags(client *c, uint32_t flags)
{
    int n = 0;
    for (size_t i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++)
        n += (flags & flag_names[i].flag) != 0;
    reply_set(c, n);
    for (size_t i = 0; i < sizeof flag_names / sizeof flag_names[0]; i++)
        if (flags & flag_names[i].flag)
            reply_simple(c, flag_names[i].name);
}

const command_meta *command_meta_find(const char *fullname)
{
    size_t lo = 0, hi = command_meta_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(fullname, command_meta_table[mid].name);
        if (cmp == 0)
            return &command_meta_table[mid];
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* A space-separated list as a set (RESP2: an array) of simple strings, or
 * of bulk strings (Redis sends tips as bulk, flags and categories as
 * simple strings). */
static void reply_word_set(client *c, const char *words, bool bulk)
{
    long n = 0;
    for (const char *p = words; *p; p++)
        n += (p == words || p[-1] == ' ') && *p != ' ';
    reply_set(c, n);
    while (*words) {
        size_t len = strcspn(words, " ");
        char word[96];
        if (len) {
            assert(len < sizeof word);         /* generated words are short */
            memcpy(word, words, len);
            word[len] = '\0';
            if (bulk)
                reply_bulk(c, word, len);
            else
                reply_simple(c, word);
        }
        words += len + (words[len] == ' ');
    }
}

/* ACL categories, derived: @<group> plus @read/@write/@fast/@slow/@admin. */
static void reply_categories(client *c, const command_def *d)
{
    const char *cats[6];
    int n = 0;
    char group[40];
    snprintf(group, sizeof group, "@%s", strcmp(d->group, "generic") == 0 ? "keyspace" : d->group);
    cats[n++] = group;
    if (d->flags & CMD_WRITE) cats[n++] = "@write";
    if (d->flags & CMD_READONLY) cats[n++] = "@read";
    cats[n++] = d->flags & CMD_FAST ? "@fast" : "@slow";
    if (d->flags & CMD_ADMIN) { cats[n++] = "@admin"; cats[n++] = "@dangerous"; }
    reply_set(c, n);
    for (int i = 0; i < n; i++)
        reply_simple(c, cats[i]);
}

/* One key spec as Redis 7 prints it: [notes] flags begin_search find_keys. */
static void reply_meta_key_spec(client *c, const keyspec_meta *k)
{
    static const char *const bs_names[] = {"index", "keyword", "unknown"};
    static const char *const fk_names[] = {"range", "keynum", "unknown"};
    static const char *const fk_fields[][3] = {
        {"lastkey", "keystep", "limit"}, {"keynumidx", "firstkey", "keystep"}};
    reply_map(c, 3 + (k->notes != NULL));
    if (k->notes) {
        reply_bulk_cstr(c, "notes");
        reply_bulk_cstr(c, k->notes);
    }
    reply_bulk_cstr(c, "flags");
    reply_word_set(c, k->flags, false);
    reply_bulk_cstr(c, "begin_search");
    reply_map(c, 2);
    reply_bulk_cstr(c, "type");
    reply_bulk_cstr(c, bs_names[k->bs_type]);
    reply_bulk_cstr(c, "spec");
    if (k->bs_type == BS_INDEX) {
        reply_map(c, 1);
        reply_bulk_cstr(c, "index");
        reply_long(c, k->bs_pos);
    } else if (k->bs_type == BS_KEYWORD) {
        reply_map(c, 2);
        reply_bulk_cstr(c, "keyword");
        reply_bulk_cstr(c, k->bs_keyword);
        reply_bulk_cstr(c, "startfrom");
        reply_long(c, k->bs_pos);
    } else {
        reply_map(c, 0);
    }
    reply_bulk_cstr(c, "find_keys");
    reply_map(c, 2);
    reply_bulk_cstr(c, "type");
    reply_bulk_cstr(c, fk_names[k->fk_type]);
    reply_bulk_cstr(c, "spec");
    if (k->fk_type == FK_UNKNOWN) {
        reply_map(c, 0);
        return;
    }
    reply_map(c, 3);
    for (int i = 0; i < 3; i++) {
        reply_bulk_cstr(c, fk_fields[k->fk_type][i]);
        reply_long(c, k->fk[i]);
    }
}

/* Without metadata: one spec from first/last/step, no flags. */
static void reply_key_specs(client *c, const command_def *d)
{
    if (d->first_key <= 0) {
        reply_set(c, 0);
        return;
    }
    reply_set(c, 1);
    reply_map(c, 3);
    reply_bulk_cstr(c, "flags");
    reply_set(c, 0);
    reply_bulk_cstr(c, "begin_search");
    reply_map(c, 2);
    reply_bulk_cstr(c, "type");
    reply_bulk_cstr(c, "index");
    reply_bulk_cstr(c, "spec");
    reply_map(c, 1);
    reply_bulk_cstr(c, "index");
    reply_long(c, d->first_key);
    reply_bulk_cstr(c, "find_keys");
    reply_map(c, 2);
    reply_bulk_cstr(c, "type");
    reply_bulk_cstr(c, "range");
    reply_bulk_cstr(c, "spec");
    reply_map(c, 3);
    reply_bulk_cstr(c, "lastkey");
    reply_long(c, d->last_key < 0 ? d->last_key : d->last_key - d->first_key);
    reply_bulk_cstr(c, "keystep");
    reply_long(c, d->key_step);
    reply_bulk_cstr(c, "limit");
    reply_long(c, 0);
}

/* One COMMAND INFO entry: Redis 7's ten fields. */
static void reply_info(client *c, const command *cmd)
{
    const command_def *d = cmd->def;
    reply_array(c, 10);
    reply_bulk_cstr(c, cmd->fullname);
    reply_long(c, d->arity);
    reply_flags(c, d->flags);
    reply_long(c, d->first_key);
    reply_long(c, d->last_key);
    reply_long(c, d->key_step);
    const command_meta *m = command_meta_find(cmd->fullname);
    if (m) {
        reply_word_set(c, m->categories, false);
        reply_word_set(c, m->tips, true);
        reply_set(c, m->nspecs);
        for (int i = 0; i < m->nspecs; i++)
            reply_meta_key_spec(c, &m->specs[i]);
    } else {
        reply_categories(c, d);
        reply_set(c, 0);                           /* tips */
        reply_key_specs(c, d);
    }
    reply_set(c, cmd->nsubs);
    for (int i = 0; i < cmd->nsubs; i++)
        reply_info(c, &cmd->subs[i]);
}

static const char *const arg_type_names[] = {
    "string", "integer", "double", "key", "pattern", "unix-time", "pure-token", "oneof", "block"};

static void reply_args(client *c, const command_arg *args)
{
    int n = 0;
    while (args[n].name)
        n++;
    reply_array(c, n);
    for (const command_arg *a = args; a->name; a++) {
        int nflags = !!(a->flags & ARGF_OPTIONAL) + !!(a->flags & ARGF_MULTIPLE) +
                     !!(a->flags & ARGF_MULTIPLE_TOKEN);
        reply_map(c, 3 + (a->token != NULL) + (nflags > 0) + (a->sub != NULL) + (a->type == ARG_KEY));
        reply_bulk_cstr(c, "name");
        reply_bulk_cstr(c, a->name);
        reply_bulk_cstr(c, "type");
        reply_bulk_cstr(c, arg_type_names[a->type]);
        reply_bulk_cstr(c, "display_text");
        reply_bulk_cstr(c, a->name);
        if (a->type == ARG_KEY) {
            reply_bulk_cstr(c, "key_spec_index");
            reply_long(c, 0);
        }
        if (a->token) {
            reply_bulk_cstr(c, "token");
            reply_bulk_cstr(c, a->token);
        }
        if (nflags) {
            reply_bulk_cstr(c, "flags");
            reply_array(c, nflags);
            if (a->flags & ARGF_OPTIONAL) reply_simple(c, "optional");
            if (a->flags & ARGF_MULTIPLE) reply_simple(c, "multiple");
            if (a->flags & ARGF_MULTIPLE_TOKEN) reply_simple(c, "multiple_token");
        }
        if (a->sub) {
            reply_bulk_cstr(c, "arguments");
            reply_args(c, a->sub);
        }
    }
}

/* One COMMAND DOCS entry: a map of summary, since, group, complexity,
 * arguments, subcommands. */
static void reply_docs(client *c, const command *cmd)
{
    const command_def *d = cmd->def;
    reply_bulk_cstr(c, cmd->fullname);
    reply_map(c, 4 + (d->args != NULL) + (cmd->nsubs > 0));
    reply_bulk_cstr(c, "summary");
    reply_bulk_cstr(c, d->summary);
    reply_bulk_cstr(c, "since");
    reply_bulk_cstr(c, d->since);
    reply_bulk_cstr(c, "group");
    reply_bulk_cstr(c, d->group);
    reply_bulk_cstr(c, "complexity");
    reply_bulk_cstr(c, d->complexity);
    if (d->args) {
        reply_bulk_cstr(c, "arguments");
        reply_args(c, d->args);
    }
    if (cmd->nsubs) {
        reply_bulk_cstr(c, "subcommands");
        reply_map(c, cmd->nsubs);
        for (int i = 0; i < cmd->nsubs; i++)
            reply_docs(c, &cmd->subs[i]);
    }
}

/* Bare COMMAND: COMMAND INFO of everything. */
static void command_command(client *c)
{
    reply_array(c, server.ncommands);
    for (int i = 0; i < server.ncommands; i++)
        reply_info(c, &server.commands[i]);
}

static void command_count(client *c) { reply_long(c, server.ncommands); }

/* A name, or "container|sub", to its command (NULL if none). */
static command *lookup_full(const resp_arg *a)
{
    const char *bar = memchr(a->ptr, '|', a->len);
    command *cmd = command_lookup(a->ptr, bar ? (size_t)(bar - a->ptr) : a->len);
    if (!cmd || !bar)
        return cmd;
    for (int i = 0; i < cmd->nsubs; i++)
        if (strlen(cmd->subs[i].def->name) == a->len - (size_t)(bar - a->ptr) - 1 &&
            strncasecmp(cmd->subs[i].def->name, bar + 1, a->len - (size_t)(bar - a->ptr) - 1) == 0)
            return &cmd->subs[i];
    return NULL;
}

static void command_info(client *c)
{
    if (c->argc == 2) {
        command_command(c);
        return;
    }
    reply_array(c, c->argc - 2);
    for (int i = 2; i < c->argc; i++) {
        command *cmd = lookup_full(&c->argv[i]);
        if (cmd)
            reply_info(c, cmd);
        else
            reply_null(c);           /* Redis: a nil bulk, $-1 */
    }
}

static void command_docs(client *c)
{
    if (c->argc == 2) {
        reply_map(c, server.ncommands);
        for (int i = 0; i < server.ncommands; i++)
            reply_docs(c, &server.commands[i]);
        return;
    }
    void *slot = reply_deferred(c);
    long n = 0;
    for (int i = 2; i < c->argc; i++) {
        command *cmd = lookup_full(&c->argv[i]);
        if (cmd) {
            reply_docs(c, cmd);
            n++;
        }
    }
    reply_set_deferred_map(c, slot, n);
}

/* COMMAND LIST [FILTERBY MODULE m | ACLCAT cat | PATTERN pat] */
static void command_list(client *c)
{
    int mode = 0;                      /* 0 all, 1 module, 2 aclcat, 3 pattern */
    if (c->argc == 5 && arg_is(&c->argv[2], "filterby")) {
        mode = arg_is(&c->argv[3], "module") ? 1 : arg_is(&c->argv[3], "aclcat") ? 2
             : arg_is(&c->argv[3], "pattern") ? 3 : -1;
    } else if (c->argc != 2) {
        mode = -1;
    }
    if (mode < 0) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    void *slot = reply_deferred(c);
    long n = 0;
    for (int i = 0; i < server.ncommands && mode != 1; i++) {
        const command *cmd = &server.commands[i];
        if (mode == 2) {
            const char *cat = c->argv[4].ptr;
            bool hit = strcasecmp(cat, cmd->def->group) == 0 ||
                       (!strcasecmp(cat, "write") && (cmd->def->flags & CMD_WRITE)) ||
                       (!strcasecmp(cat, "read") && (cmd->def->flags & CMD_READONLY)) ||
                       (!strcasecmp(cat, "fast") && (cmd->def->flags & CMD_FAST)) ||
                       (!strcasecmp(cat, "admin") && (cmd->def->flags & CMD_ADMIN));
            if (!hit)
                continue;
        }
        if (mode == 3 && !glob_match(c->argv[4].ptr, c->argv[4].len, cmd->fullname,
                                     strlen(cmd->fullname), true))
            continue;
        reply_bulk_cstr(c, cmd->fullname);
        n++;
    }
    reply_set_deferred_array(c, slot, n);
}

/* COMMAND GETKEYS cmd arg...: the key positions of the table applied. */
static void command_getkeys(client *c)
{
    command *cmd = command_lookup(c->argv[2].ptr, c->argv[2].len);
    int argc = c->argc - 2;
    if (!cmd) {
        reply_error(c, "Invalid command specified");
        return;
    }
    const command_def *d = cmd->def;
    if (d->arity > 0 ? argc != d->arity : argc < -d->arity) {
        reply_error(c, "Invalid number of arguments specified for command");
        return;
    }
    if (d->first_key <= 0) {
        reply_error(c, "The command has no key arguments");
        return;
    }
    int last = d->last_key < 0 ? argc + d->last_key : d->last_key;
    void *slot = reply_deferred(c);
    long n = 0;
    for (int i = d->first_key; i <= last && i < argc; i += d->key_step ? d->key_step : 1) {
        reply_bulk(c, c->argv[2 + i].ptr, c->argv[2 + i].len);
        n++;
    }
    reply_set_deferred_array(c, slot, n);
}

static void command_help(client *c)
{
    static const char *const lines[] = {
        "(no subcommand)", "    Return details about all commands.",
        "COUNT", "    Return the total number of commands in this server.",
        "LIST", "    Return a list of all commands in this server.",
        "INFO [<command-name> ...]", "    Return details about multiple commands.",
        "DOCS [<command-name> ...]", "    Return documentation details about multiple commands.",
        "GETKEYS <full-command>", "    Return the keys from a full command.",
        NULL};
    reply_help(c, "COMMAND", lines);
}

static const command_arg names_arg[] = {{"command-name", ARG_STRING, NULL, ARGF_OPTIONAL | ARGF_MULTIPLE, NULL}, {0}};
static const command_arg filter_oneof[] = {
    {"module-name", ARG_STRING, "MODULE", 0, NULL},
    {"category", ARG_STRING, "ACLCAT", 0, NULL},
    {"pattern", ARG_PATTERN, "PATTERN", 0, NULL}, {0}};
static const command_arg list_args[] = {{"filterby", ARG_ONEOF, "FILTERBY", ARGF_OPTIONAL, filter_oneof}, {0}};
static const command_arg getkeys_args[] = {
    {"command", ARG_STRING, NULL, 0, NULL},
    {"arg", ARG_STRING, NULL, ARGF_OPTIONAL | ARGF_MULTIPLE, NULL}, {0}};

#define CC CMD_LOADING | CMD_STALE
static const command_def command_subs[] = {
    {"count", command_count, 2, CC, 0, 0, 0, "server", "2.8.13", "O(1)",
     "Returns a count of commands.", NULL, NULL},
    {"list", command_list, -2, CC, 0, 0, 0, "server", "7.0.0", "O(N) where N is the total number of Redis commands",
     "Returns a list of command names.", list_args, NULL},
    {"info", command_info, -2, CC, 0, 0, 0, "server", "2.8.13", "O(N) where N is the number of commands to look up",
     "Returns information about one, multiple or all commands.", names_arg, NULL},
    {"docs", command_docs, -2, CC, 0, 0, 0, "server", "7.0.0", "O(N) where N is the number of commands to look up",
     "Returns documentary information about one, multiple or all commands.", names_arg, NULL},
    {"getkeys", command_getkeys, -3, CC, 0, 0, 0, "server", "2.8.13", "O(N) where N is the number of arguments to the command",
     "Extracts the key names from an arbitrary command.", getkeys_args, NULL},
    {"help", command_help, 2, CC, 0, 0, 0, "server", "5.0.0", "O(1)",
     "Returns helpful text about the different subcommands.", NULL, NULL},
    {0},
};

const command_def cmd_command_table[] = {
    {"command", command_command, -1, CC, 0, 0, 0, "server", "2.8.13",
     "O(N) where N is the total number of Redis commands", "Returns detailed information about all commands.",
     NULL, command_subs},
    {0},
};
