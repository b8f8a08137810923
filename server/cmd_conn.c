/*
 * cmd_conn.c — the connection commands: PING ECHO QUIT RESET HELLO AUTH
 * SELECT. They change the state of one connection (protocol version,
 * authentication, database), never the data.
 *
 * The one idea: a connection carries state (RESP version, authenticated,
 * selected db, name) that every later request is interpreted with, which
 * is what REST's statelessness forbids and why a RESP client pool must
 * reset a connection (RESET) before lending it out again.
 *
 * Left out on purpose: ACL users (AUTH <user> <pass> accepts only
 * "default"), so there is one password for everything; the cost is no
 * least-privilege accounts.
 *
 * Interview topics: auth.basics (check_auth), api.versioning (HELLO).
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "multi.h"
#include "pubsub.h"
#include "server.h"
#include "util.h"

static void ping_command(client *c)
{
    if (c->argc > 2) {
        reply_error(c, "wrong number of arguments for 'ping' command");
        return;
    }
    if (c->resp < 3 && pubsub_client_count(c) > 0) {   /* RESP2 subscribed mode */
        reply_array(c, 2);
        reply_bulk_cstr(c, "pong");
        reply_bulk(c, c->argc == 2 ? c->argv[1].ptr : "", c->argc == 2 ? c->argv[1].len : 0);
        return;
    }
    if (c->argc == 2)
        reply_bulk(c, c->argv[1].ptr, c->argv[1].len);
    else
        reply_simple(c, "PONG");
}

static void echo_command(client *c) { reply_bulk(c, c->argv[1].ptr, c->argv[1].len); }

static void quit_command(client *c)
{
    reply_ok(c);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

static void select_command(client *c)
{
    long long db;
    /* Redis: a non-number is a number error, a number out of range is a DB
     * index error; clients tell the two apart by the text. */
    if (!arg_ll(c, &c->argv[1], &db))
        return;
    if (db < 0 || db >= server.cfg.databases) {
        reply_error(c, ERR_DB_INDEX);
        return;
    }
    c->db = (int)db;
    reply_ok(c);
}

/* Constant-time comparison: the time a wrong password takes to refuse must
 * not tell an attacker how many leading bytes were right. */
static bool password_ok(const resp_arg *given)
{
    const char *want = server.cfg.requirepass;
    size_t wlen = strlen(want);
    unsigned diff = (unsigned)(wlen ^ given->len);
    for (size_t i = 0; i < given->len; i++)
        diff |= (unsigned char)given->ptr[i] ^ (unsigned char)(wlen ? want[i % wlen] : 0);
    return diff == 0 && wlen > 0;
}

/* @interview(auth.basics): How does a client authenticate here, and why
 * are there no sessions or JWTs? The connection is the session: AUTH checks
 * the password once (constant-time compare) and marks the connection
 * authenticated until it closes or RESETs, so there is no token to issue,
 * store, expire or revoke. JWTs and session cookies exist because HTTP is
 * stateless and every request must prove who it is; a long-lived TCP
 * connection does not need that, but it does need TLS on untrusted
 * networks, since the password crosses the wire in clear. */
static int check_auth(client *c, const resp_arg *user, const resp_arg *pass)
{
    if (server.cfg.requirepass[0] == '\0' && user) {
        /* Redis 7: with no password the default user is "nopass", so
         * AUTH default <anything> succeeds and any other user is unknown. */
        if (!arg_is(user, "default")) {
            reply_error(c, "-WRONGPASS invalid username-password pair or user is disabled.");
            return -1;
        }
        c->authenticated = true;
        return 0;
    }
    if (server.cfg.requirepass[0] == '\0') {
        reply_error(c, "AUTH <password> called without any password configured for the default "
                       "user. Are you sure your configuration is correct?");
        return -1;
    }
    if ((user && !arg_is(user, "default")) || !password_ok(pass)) {
        reply_error(c, "-WRONGPASS invalid username-password pair or user is disabled.");
        return -1;
    }
    c->authenticated = true;
    return 0;
}

static void auth_command(client *c)
{
    if (c->argc > 3) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    if (check_auth(c, c->argc == 3 ? &c->argv[1] : NULL, &c->argv[c->argc - 1]) == 0)
        reply_ok(c);
}

static void hello_reply(client *c)
{
    reply_map(c, 7);
    reply_bulk_cstr(c, "server");
    reply_bulk_cstr(c, "redis");
    reply_bulk_cstr(c, "version");
    reply_bulk_cstr(c, CHALK_REDIS_VERSION);
    reply_bulk_cstr(c, "proto");
    reply_long(c, c->resp);
    reply_bulk_cstr(c, "id");
    reply_long(c, (long long)c->id);
    reply_bulk_cstr(c, "mode");
    reply_bulk_cstr(c, "standalone");
    reply_bulk_cstr(c, "role");
    reply_bulk_cstr(c, "master");
    reply_bulk_cstr(c, "modules");
    reply_array(c, 0);
}

/* @interview(api.versioning): How does a client and server agree on a
 * protocol version? HELLO <protover> is the negotiation: the client asks
 * for RESP3, the server answers in the new format with a map describing
 * itself (version, proto), or with -NOPROTO if it cannot, and a client
 * that never says HELLO keeps RESP2. Old clients keep working unchanged,
 * new features are opt-in per connection, and the reply writer degrades
 * each RESP3 type to its RESP2 shape (reply.c): versioning by negotiation
 * rather than by URL (/v2/) or header. */
static void hello_command(client *c)
{
    long long ver = 0;
    int i = 1;
    if (c->argc >= 2) {
        if (!string_to_ll(c->argv[1].ptr, c->argv[1].len, &ver)) {
            reply_error(c, "Protocol version is not an integer or out of range");
            return;
        }
        i = 2;
        if (ver < 2 || ver > 3) {
            reply_error(c, "-NOPROTO unsupported protocol version");
            return;
        }
    }
    const char *setname = NULL;
    for (; i < c->argc; i++) {
        int left = c->argc - i - 1;
        if (arg_is(&c->argv[i], "auth") && left >= 2) {
            if (check_auth(c, &c->argv[i + 1], &c->argv[i + 2]) < 0)
                return;
            i += 2;
        } else if (arg_is(&c->argv[i], "setname") && left >= 1) {
            setname = c->argv[++i].ptr;
        } else {
            reply_errorf(c, "Syntax error in HELLO option '%.128s'", c->argv[i].ptr);
            return;
        }
    }
    if (!c->authenticated) {
        reply_error(c, "-NOAUTH HELLO must be called with the client already authenticated, "
                       "otherwise the HELLO <proto> AUTH <user> <pass> option can be used to "
                       "authenticate the client and select the RESP protocol version at the same time");
        return;
    }
    if (setname && client_set_name(c, setname) < 0)
        return;
    if (ver)
        c->resp = (int)ver;
    hello_reply(c);
}

/* RESET: back to a fresh connection's state (a pool does this before
 * lending a connection to someone else). */
static void reset_command(client *c)
{
    c->resp = 2;
    c->db = 0;
    c->authenticated = server.cfg.requirepass[0] == '\0';
    client_set_name(c, NULL);
    if (c->flags & CLIENT_MONITOR) {
        c->flags &= ~(uint32_t)CLIENT_MONITOR;
        server.nmonitors--;
    }
    c->flags &= ~(uint32_t)CLIENT_NO_EVICT;
    multi_reset(c);                      /* DISCARD + UNWATCH (multi.c) */
    pubsub_client_free(c);               /* leave every channel (pubsub.c) */
    reply_simple(c, "RESET");
}

static const command_arg ping_args[] = {{"message", ARG_STRING, NULL, ARGF_OPTIONAL, NULL}, {0}};
static const command_arg echo_args[] = {{"message", ARG_STRING, NULL, 0, NULL}, {0}};
static const command_arg select_args[] = {{"index", ARG_INTEGER, NULL, 0, NULL}, {0}};
static const command_arg auth_args[] = {
    {"username", ARG_STRING, NULL, ARGF_OPTIONAL, NULL},
    {"password", ARG_STRING, NULL, 0, NULL}, {0}};
static const command_arg hello_auth[] = {
    {"username", ARG_STRING, NULL, 0, NULL}, {"password", ARG_STRING, NULL, 0, NULL}, {0}};
static const command_arg hello_opts[] = {
    {"protover", ARG_INTEGER, NULL, 0, NULL},
    {"auth", ARG_BLOCK, "AUTH", ARGF_OPTIONAL, hello_auth},
    {"clientname", ARG_STRING, "SETNAME", ARGF_OPTIONAL, NULL}, {0}};
static const command_arg hello_args[] = {{"arguments", ARG_BLOCK, NULL, ARGF_OPTIONAL, hello_opts}, {0}};

#define CONN CMD_FAST | CMD_LOADING | CMD_STALE
const command_def cmd_conn_table[] = {
    {"ping", ping_command, -1, CONN, 0, 0, 0, "connection", "1.0.0", "O(1)",
     "Returns the server's liveliness response.", ping_args, NULL},
    {"echo", echo_command, 2, CONN, 0, 0, 0, "connection", "1.0.0", "O(1)",
     "Returns the given string.", echo_args, NULL},
    {"quit", quit_command, -1, CONN | CMD_NO_AUTH, 0, 0, 0, "connection", "1.0.0", "O(1)",
     "Closes the connection.", NULL, NULL},
    {"select", select_command, 2, CONN, 0, 0, 0, "connection", "1.0.0", "O(1)",
     "Changes the selected database.", select_args, NULL},
    {"auth", auth_command, -2, CONN | CMD_NO_AUTH | CMD_NOSCRIPT | CMD_SKIP_MONITOR | CMD_SKIP_SLOWLOG,
     0, 0, 0, "connection", "1.0.0", "O(N) where N is the number of passwords defined for the user",
     "Authenticates the connection.", auth_args, NULL},
    {"hello", hello_command, -1, CONN | CMD_NO_AUTH | CMD_NOSCRIPT | CMD_SKIP_MONITOR | CMD_SKIP_SLOWLOG,
     0, 0, 0, "connection", "6.0.0", "O(1)", "Handshakes with the Redis server.", hello_args, NULL},
    {"reset", reset_command, 1, CONN | CMD_NO_AUTH | CMD_NOSCRIPT, 0, 0, 0, "connection", "6.2.0",
     "O(1)", "Resets the connection.", NULL, NULL},
    {0},
};
