/*
 * networking.c — clients: accepting them, their query buffers, running
 * their requests, their output, limits, and closing them.
 *
 * The connection state machine (functions named on the arrows):
 *
 *   accept_on_listener ──► ACTIVE ──client_on_read──► parse ─► run ─► ACTIVE
 *        │ maxclients,        │ ▲                         │
 *        │ protected mode     │ └── hold_reply_release ◄──┤ held replies (appendfsync
 *        ▼                    │     client_make_ready     │ always), CLIENT PAUSE:
 *      refused: error,        │                           ▼ WAITING (not reading)
 *      closed at once         │ QUIT, protocol error ─► CLOSE_AFTER_REPLY
 *                             │ EOF, limits, KILL ─────► CLOSE_ASAP
 *                             ▼                                 │
 *                   free_closing_clients (before sleep) ◄───────┘
 *                   waits for pending commits and in-flight I/O
 *
 * Rules this file keeps:
 *  1. A client is freed only in free_closing_clients (or by the io_uring
 *     backend once its in-flight operations drained), never in the middle
 *     of a command or an event batch: client_close_async marks it.
 *  2. The query buffer grows only with bytes actually read (doubling when
 *     full), never with a length a client announced.
 *  3. Replies leave in order: a held reply holds every reply after it.
 *
 * @interview(resilience.backpressure): How does the server push back on a
 * client that sends faster than it reads, or on too many clients? Three
 * bounds: maxclients refuses the next connection with an error; the query
 * buffer limit closes a client whose unparsed input grows past it; the
 * output buffer limits close a client whose unread replies pile up (hard
 * limit at once, soft limit if it lasts). While a client waits (a held
 * reply, CLIENT PAUSE) we stop reading its socket, so TCP's own flow
 * control slows the sender instead of our memory absorbing it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "blocking.h"
#include "commands.h"
#include "keyspace.h"
#include "loop.h"
#include "multi.h"
#include "pubsub.h"
#include "reply.h"
#include "repl_hooks.h"
#include "server.h"

#define QBUF_FIRST 1024
#define QBUF_CHUNK (16 * 1024)
#define QBUF_KEEP  (64 * 1024)       /* an empty buffer above this is freed */
#define MAX_ACCEPTS_PER_CALL 1000
#define PREFETCH_AHEAD 16            /* requests looked at by prefetch_keys */

static const char protected_mode_err[] =
    "-DENIED Chalk is running in protected mode because protected mode is enabled and no "
    "password is set for the default user. In this mode connections are only accepted from "
    "the loopback interface. If you want to connect from external computers to Chalk you may "
    "adopt one of the following solutions: 1) Just disable protected mode sending the command "
    "'CONFIG SET protected-mode no' from the loopback interface by connecting to Chalk from the "
    "same host the server is running, however MAKE SURE Chalk is not publicly accessible from "
    "internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively "
    "you can just disable the protected mode by editing the Chalk configuration file, and "
    "setting the protected mode option to 'no', and then restarting the server. 3) If you "
    "started the server manually just for testing, restart it with the '--protected-mode no' "
    "option. 4) Set up an authentication password for the default user. NOTE: You only need to "
    "do one of the above things in order for the server to start accepting connections from "
    "the outside.\r\n";

/* ---- creating and freeing ---------------------------------------------- */

static void describe_peer(client *c)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (c->flags & CLIENT_UNIX_SOCKET) {
        snprintf(c->addr, sizeof c->addr, "%s:0", server.cfg.unixsocket);
        snprintf(c->laddr, sizeof c->laddr, "%s:0", server.cfg.unixsocket);
        return;
    }
    for (int which = 0; which < 2; which++) {
        len = sizeof sa;
        int rc = which == 0 ? getpeername(c->fd, (struct sockaddr *)&sa, &len)
                            : getsockname(c->fd, (struct sockaddr *)&sa, &len);
        if (rc == 0 && sa.ss_family == AF_INET) {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
            inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof ip);
            port = ntohs(s4->sin_port);
            if (which == 0 && (ntohl(s4->sin_addr.s_addr) >> 24) == 127)
                c->flags |= CLIENT_LOCAL;
        } else if (rc == 0 && sa.ss_family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
            inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof ip);
            port = ntohs(s6->sin6_port);
            if (which == 0 && (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) ||
                               strncmp(ip, "::ffff:127.", 11) == 0))
                c->flags |= CLIENT_LOCAL;
        }
        snprintf(which == 0 ? c->addr : c->laddr, sizeof c->addr, "%s:%d", ip, port);
    }
}

static void tune_socket(int fd, bool tcp)
{
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    if (!tcp)
        return;
    int yes = 1;
    /* Replies are already batched per loop iteration, so Nagle's delay
     * would only add latency. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    if (server.cfg.tcp_keepalive > 0) {
        int idle = (int)server.cfg.tcp_keepalive;
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &yes, sizeof yes);
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    }
}

client *client_create(int fd, uint32_t flags)
{
    client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    c->flags = flags;
    c->id = ++server.next_client_id;
    c->resp = 2;
    c->authenticated = server.cfg.requirepass[0] == '\0';
    c->ctime_ms = c->last_ms = now_ms();
    c->last_cmd = "NULL";
    c->parser.bulk_len = -1;
    describe_peer(c);
    c->next = server.clients;
    if (server.clients)
        server.clients->prev = c;
    server.clients = c;
    server.nclients++;
    return c;
}

static void unlink_from(client **head, client *c, size_t next_off)
{
    for (client **p = head; *p; p = (client **)((char *)*p + next_off))
        if (*p == c) {
            *p = *(client **)((char *)c + next_off);
            return;
        }
}

/* Free now: the backend has no I/O in flight on it, no commit is pending. */
void client_free_now(client *c)
{
    if (c->flags & CLIENT_PENDING_WRITE)
        unlink_from(&server.pending_writes, c, offsetof(client, pw_next));
    if (c->flags & CLIENT_IN_READY)
        unlink_from(&server.ready, c, offsetof(client, ready_next));
    if (c->flags & CLIENT_MONITOR)
        server.nmonitors--;
    if (c->prev)
        c->prev->next = c->next;
    else
        server.clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    server.nclients--;
    if (c->fd >= 0)
        close(c->fd);
    multi_client_free(c);                  /* UNWATCH, drop a MULTI queue */
    blocking_client_free(c);               /* a disconnect while blocked */
    pubsub_client_free(c);                 /* leave its channels, patterns */
    repl_client_free(c);                   /* a replica, the link to our leader, WAIT */
    resp_parser_free(&c->parser);
    for (reply_block *b = c->reply_head, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    free(c->qbuf);
    free(c->name);
    free(c->iovs);
    free(c);
}

void client_close_async(client *c)
{
    if (c->flags & (CLIENT_ON_CLOSE_LIST | CLIENT_DRAINING))
        return;
    c->flags |= CLIENT_CLOSE_ASAP | CLIENT_ON_CLOSE_LIST;
    c->close_next = server.to_close;
    server.to_close = c;
}

void client_close(client *c) { client_close_async(c); }

/* Before sleeping: free the clients marked for closing. One with a commit
 * still pending stays until its callback has run (the callback holds a
 * pointer to it); one with io_uring operations in flight is freed by the
 * backend when they complete. */
void free_closing_clients(void)
{
    client *keep = NULL;
    client *c = server.to_close;
    server.to_close = NULL;
    while (c) {
        client *next = c->close_next;
        if (c->commits_pending > 0) {
            c->close_next = keep;
            keep = c;
        } else if (server.io->close_client(server.loop, c)) {
            client_free_now(c);
        } else {
            c->flags &= ~(uint32_t)CLIENT_ON_CLOSE_LIST;
            c->flags |= CLIENT_DRAINING;       /* the backend frees it */
        }
        c = next;
    }
    server.to_close = keep;
}

/* ---- accepting --------------------------------------------------------- */

static void refuse(int fd, const char *msg)
{
    /* Best effort: the socket is fresh, its buffer empty, a short error
     * fits; if it does not, the close alone says it. */
    ssize_t rc = write(fd, msg, strlen(msg));
    (void)rc;
    close(fd);
}

/* A new connection on listener lfd: admit it or refuse it. */
void client_accepted(int fd, int lfd)
{
    bool is_unix = false;
    for (int i = 0; i < server.nlisten; i++)
        if (server.listen_fds[i] == lfd)
            is_unix = server.listen_unix[i];
    if (server.nclients >= (uint64_t)server.cfg.maxclients) {
        server.stat_rejected_conn++;
        refuse(fd, "-ERR max number of clients reached\r\n");
        return;
    }
    tune_socket(fd, !is_unix);
    client *c = client_create(fd, is_unix ? CLIENT_UNIX_SOCKET | CLIENT_LOCAL : 0);
    if (!c) {
        close(fd);
        return;
    }
    /* @interview(security.basics): What does protected mode protect
     * against? A server started with no password and reachable from a
     * network is an open database: protected mode refuses every
     * non-loopback client until a password is set or the operator opts
     * out explicitly. Secure defaults (bind to loopback, refuse instead of
     * trust, tiny limits before AUTH, DEBUG only from localhost) beat
     * documentation nobody reads. */
    if (server.cfg.protected_mode && server.cfg.requirepass[0] == '\0' &&
        !(c->flags & CLIENT_LOCAL)) {
        server_log(LL_VERBOSE, "Denied connection from %s: protected mode", c->addr);
        server.stat_rejected_conn++;
        c->fd = -1;
        refuse(fd, protected_mode_err);
        client_free_now(c);
        return;
    }
    server.stat_connections++;
    if (server.io->add_client(server.loop, c) < 0) {
        client_close_async(c);
        return;
    }
    server_log(LL_DEBUG, "Accepted %s", c->addr);
}

/* epoll: the listener is readable; accept what is queued (bounded, so a
 * connection storm cannot starve the clients already connected). */
void accept_on_listener(int lfd)
{
    for (int i = 0; i < MAX_ACCEPTS_PER_CALL; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                server_log(LL_WARNING, "Accepting client connection: %s", strerror(errno));
            return;
        }
        client_accepted(fd, lfd);
    }
}

/* ---- input ------------------------------------------------------------- */

/* Offer the backend room to read into. Parsed bytes are dropped first; the
 * buffer doubles when it is full of unparsed bytes, or below QBUF_CHUNK
 * when the last read filled it to the end (rule 2: both grow with bytes
 * actually read). A new client starts with QBUF_FIRST bytes (an idle
 * connection, which under io_uring always has a recv posted, costs 1 KB,
 * not 16); a client sending more per round trip (a pipeline of MSETs:
 * 16 x 300 bytes) reaches QBUF_CHUNK in a few reads instead of taking
 * 1 KB per read, a loop turn and a reply write each, forever; past
 * QBUF_CHUNK at least QBUF_CHUNK bytes are offered per read. */
int client_read_space(client *c, char **buf, size_t *len)
{
    bool filled = c->qcap > 0 && c->qlen == c->qcap && c->qcap < QBUF_CHUNK;
    if (c->qpos > 0) {
        memmove(c->qbuf, c->qbuf + c->qpos, c->qlen - c->qpos);
        c->qlen -= c->qpos;
        c->qpos = 0;
    }
    size_t want = c->qcap >= QBUF_CHUNK ? QBUF_CHUNK : filled ? c->qcap - c->qlen + 1 : 1;
    if (c->qcap - c->qlen < want) {
        size_t cap = c->qcap ? c->qcap * 2 : QBUF_FIRST;
        while (cap - c->qlen < want)
            cap *= 2;
        char *n = realloc(c->qbuf, cap);
        if (!n) {
            client_close_async(c);
            return -1;
        }
        c->qbuf = n;
        c->qcap = cap;
    }
    *buf = c->qbuf + c->qlen;
    *len = c->qcap - c->qlen;
    return 0;
}

void client_on_read(client *c, ssize_t n)
{
    if (n <= 0) {
        if (n < 0)
            server_log(LL_VERBOSE, "Reading from client %s: %s", c->addr, strerror((int)-n));
        client_close_async(c);
        return;
    }
    c->qlen += (size_t)n;
    c->last_ms = now_ms();
    server.stat_net_in += (uint64_t)n;
    if (c->qlen - c->qpos > (size_t)server.cfg.client_query_buffer_limit) {
        server_log(LL_WARNING, "Closing client that reached max query buffer length: "
                   "id=%llu addr=%s qbuf=%zu", (unsigned long long)c->id, c->addr, c->qlen - c->qpos);
        client_close_async(c);
        return;
    }
    client_process_input(c);
}

static void protocol_error(client *c)
{
    server_log(LL_VERBOSE, "Protocol error (%s) from client: id=%llu addr=%s",
               c->parser.err, (unsigned long long)c->id, c->addr);
    reply_error(c, c->parser.err);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
    c->qpos = c->qlen;             /* ignore whatever else it sent */
}

/* A command must wait: stop reading c, so what it sends next stays in the
 * socket (TCP's flow control, not our memory, absorbs it) and runs only
 * after the waiting command, in order. A blocked client (BLPOP ...) may
 * wait for hours, so its hangup is still watched: the backend reports it
 * at once (client_on_hangup), as Redis, which keeps reading it, does; one
 * waiting only for a group commit or CLIENT PAUSE is not watched (its wait
 * is short, and a poll per held SET would cost a syscall or an SQE). */
static void stop_reading(client *c)
{
    c->flags |= CLIENT_WAITING;
    if (blocking_is_blocked(c))
        c->flags |= CLIENT_WATCH_HANGUP;
    else
        c->flags &= ~(uint32_t)CLIENT_WATCH_HANGUP;
    server.io->set_read(server.loop, c, false);
}

/* The backend saw the peer of a watched client hang up (EOF, reset) while
 * it was not read. Whatever it had sent after its blocking command is
 * dropped with it, as Redis drops a query buffer on EOF. */
void client_on_hangup(client *c)
{
    if (c->flags & CLIENT_CLOSE_ASAP)
        return;
    server_log(LL_VERBOSE, "Client %s closed the connection while blocked", c->addr);
    client_close_async(c);
}

/* The first-key lookup of a pipelined GET/SET/INCR is mostly two cache
 * misses: its hash-index bucket, then the entry the bucket points to.
 * When one read brought several complete requests, start loading the
 * buckets of the first keys of the request just parsed and of the
 * PREFETCH_AHEAD requests after it before running it, then, in a second
 * pass once those
 * buckets have arrived, the entries they lead to (chalk_key_prefetch_entry),
 * and in a third, once those have arrived, the records the entries point
 * to (chalk_key_prefetch_record; not for a blind write such as SET, which
 * never reads its old record), so those misses overlap instead of
 * coming one after another. With
 * one request per read (pipeline 1) the look ahead finds an empty buffer
 * and costs nothing. A hint only: nothing here can fail or change
 * what a request does (the parser and process_command decide everything,
 * as before); a wrong guess (a SELECT in between, a key that is not one)
 * costs one hash and one prefetch. Only for commands whose first key is
 * argument 1, and not before AUTH. A command whose lookup goes past that
 * key's record has a prefetch hint (command.prefetch, commands.h: HGET's
 * field record, cmd_hash.c; ZADD's member record, cmd_zset.c), called with
 * the first four arguments: its keys join the same passes. (Why it can pay: one after another, 16
 * lookups wait for memory 16 times; prefetched together they wait about
 * once, as the CPU keeps several misses in flight.) The request just
 * parsed (c->argv) is in the passes too: it runs first, and alone its
 * lookup waited for its bucket, entry and record one after another while
 * the others' loads were already in flight (INCR P16: ~1 lookup in 16 paid
 * the full ~0.5 us of misses). */
static void prefetch_keys(client *c)
{
    if (c->parser.kind != 0 || !c->authenticated || c->qpos == c->qlen)
        return;                        /* nothing, or not at a request boundary */
    const char *buf = c->qbuf + c->qpos;
    size_t len = c->qlen - c->qpos;
    resp_slice arg[PREFETCH_AHEAD + 1][CMD_PREFETCH_ARGS];  /* name, key, ... */
    int narg[PREFETCH_AHEAD + 1];
    int seen = 0, nreq = 0;            /* requests looked at, of them with a key */
    if (c->argc >= 2) {                /* the request about to run */
        narg[nreq] = c->argc < CMD_PREFETCH_ARGS ? c->argc : CMD_PREFETCH_ARGS;
        for (int j = 0; j < narg[nreq]; j++)
            arg[nreq][j] = (resp_slice){c->argv[j].ptr, c->argv[j].len};
        nreq++;
    }
    for (; seen < PREFETCH_AHEAD; seen++) {
        int argc;
        size_t used = resp_peek(buf, len, arg[nreq], CMD_PREFETCH_ARGS, &argc);
        if (used == 0)
            break;
        buf += used;
        len -= used;
        if (argc >= 2)
            narg[nreq++] = argc < CMD_PREFETCH_ARGS ? argc : CMD_PREFETCH_ARGS;
    }
    chalk_key kk[2 * (PREFETCH_AHEAD + 1)];  /* hash and length only: the bytes are freed */
    bool record[2 * (PREFETCH_AHEAD + 1)];   /* the command reads kk[i]'s record */
    const int kmax = (int)(sizeof kk / sizeof kk[0]);
    int nk = 0;
    for (int i = 0; i < nreq && nk < kmax; i++) {
        const resp_slice *name = &arg[i][0], *key = &arg[i][1];
        const command *cmd = command_lookup(name->ptr, name->len);  /* its last answer: cheap */
        ks_buf ek;                     /* the engine key, never malloc'd here */
        if (!cmd || cmd->def->first_key != 1 || cmd->nsubs != 0 ||
            key->len > sizeof ek.small - KS_HDR || ks_key(&ek, c->db, key->ptr, key->len) < 0)
            continue;
        int first = nk;
        chalk_key_prepare(server.db, &kk[nk++], ek.p, ek.len);
        ks_free(&ek);
        if (cmd->prefetch)             /* the command's other records (HGET's field) */
            nk += cmd->prefetch(c->db, arg[i], narg[i], &kk[nk], kmax - nk);
        for (int j = first; j < nk; j++)
            record[j] = !cmd->blind_write;
    }
    for (int i = 0; i < nk; i++)       /* second pass: the buckets have arrived */
        chalk_key_prefetch_entry(server.db, &kk[i]);
    for (int i = 0; i < nk; i++)       /* third pass: the entries have arrived */
        if (record[i])
            chalk_key_prefetch_record(server.db, &kk[i]);
}

/* Parse and run every complete request in the query buffer, in order,
 * until one must wait or the client is closing. */
void client_process_input(client *c)
{
    bool looked_ahead = false;
    while (!(c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY))) {
        if (!c->cmd_ready) {
            resp_limits lim = {
                .max_bulk = server.cfg.proto_max_bulk_len,
                .unauthenticated = !c->authenticated,
            };
            size_t used = 0;
            int rc = resp_parse(&c->parser, c->qbuf + c->qpos, c->qlen - c->qpos, &used, &lim);
            c->qpos += used;
            if (rc == RESP_ERROR) {
                protocol_error(c);
                break;
            }
            if (rc == RESP_AGAIN)
                break;
            if (c->parser.argc == 0) {
                resp_parser_reset(&c->parser);
                continue;
            }
            c->argc = c->parser.argc;
            c->argv = c->parser.argv;
            c->cmd_ready = true;
            if (!looked_ahead) {
                looked_ahead = true;
                prefetch_keys(c);      /* the next requests of this read */
            }
        }
        if (process_command(c) == PC_WAIT) {
            if (!(c->flags & CLIENT_WAITING))
                stop_reading(c);
            return;
        }
        c->cmd_ready = false;
        client_reset_args(c);
    }
    if (c->qpos == c->qlen) {
        c->qpos = c->qlen = 0;
        if (c->qcap > QBUF_KEEP) {     /* a big request passed: give it back */
            free(c->qbuf);
            c->qbuf = NULL;
            c->qcap = 0;
        }
    }
}

void client_reset_args(client *c)
{
    resp_parser_reset(&c->parser);
    c->argc = 0;
    c->argv = NULL;
}

/* A waiting client may go on: run it before the loop sleeps again. */
void client_make_ready(client *c)
{
    if (!(c->flags & CLIENT_WAITING) || (c->flags & CLIENT_IN_READY))
        return;
    c->flags |= CLIENT_IN_READY;
    c->ready_next = server.ready;
    server.ready = c;
}

void process_ready_clients(void)
{
    while (server.ready) {
        client *c = server.ready;
        server.ready = c->ready_next;
        c->flags &= ~(uint32_t)CLIENT_IN_READY;
        if (c->flags & CLIENT_CLOSE_ASAP)
            continue;
        c->flags &= ~(uint32_t)CLIENT_WAITING;
        client_process_input(c);
        if (!(c->flags & (CLIENT_WAITING | CLIENT_CLOSE_ASAP))) {
            c->flags &= ~(uint32_t)CLIENT_WATCH_HANGUP;
            server.io->set_read(server.loop, c, true);
        }
    }
}

/* ---- output ------------------------------------------------------------ */

/* How far the client's output may be sent: up to the first held reply. */
static uint64_t send_limit(const client *c)
{
    return c->held_count ? c->held[c->held_head] : c->out_total;
}

bool client_has_sendable(const client *c)
{
    return send_limit(c) > c->out_sent;
}

void client_wants_write(client *c)
{
    if (c->flags & (CLIENT_PENDING_WRITE | CLIENT_CLOSE_ASAP))
        return;
    c->flags |= CLIENT_PENDING_WRITE;
    c->pw_next = server.pending_writes;
    server.pending_writes = c;
}

size_t client_out_iov(client *c, void *iovp, size_t max, size_t *bytes)
{
    struct iovec *iov = iovp;
    uint64_t left = send_limit(c) - c->out_sent;
    size_t n = 0;
    *bytes = 0;
    for (reply_block *b = c->reply_head; b && n < max && left > 0; b = b->next) {
        size_t avail = b->used - b->sent;
        if (avail > left)
            avail = (size_t)left;
        if (!avail)
            continue;
        iov[n].iov_base = b->buf + b->sent;
        iov[n].iov_len = avail;
        *bytes += avail;
        left -= avail;
        n++;
    }
    return n;
}

void client_on_sent(client *c, ssize_t n)
{
    if (n < 0) {
        server_log(LL_VERBOSE, "Error writing to client %s: %s", c->addr, strerror((int)-n));
        client_close_async(c);
        return;
    }
    c->out_sent += (uint64_t)n;
    c->reply_bytes -= (size_t)n;
    server.stat_net_out += (uint64_t)n;
    size_t left = (size_t)n;
    while (c->reply_head && left > 0) {
        reply_block *b = c->reply_head;
        size_t take = b->used - b->sent < left ? b->used - b->sent : left;
        b->sent += take;
        left -= take;
        if (b->sent == b->used && (b->used == b->size || b != c->reply_tail)) {
            c->reply_head = b->next;
            if (!c->reply_head)
                c->reply_tail = NULL;
            free(b);
        } else if (b->sent == b->used) {
            b->sent = b->used = 0;     /* the tail, drained: reuse it */
        }
    }
    if (c->reply_bytes == 0)
        c->soft_limit_since = 0;
    if ((c->flags & CLIENT_CLOSE_AFTER_REPLY) && c->out_sent == c->out_total)
        client_close_async(c);
}

/* Which client-output-buffer-limit class applies to c. */
static int obuf_class(const client *c)
{
    if (repl_client_type_is(c, "replica"))
        return OBUF_REPLICA;
    if (pubsub_client_count(c) > 0)
        return OBUF_PUBSUB;
    return OBUF_NORMAL;
}

/* Output buffer limits (client-output-buffer-limit), per class: over the
 * hard limit, or over the soft limit for soft-seconds, the client goes. */
static void check_output_limits(client *c, int64_t now)
{
    const long long *lim = server.cfg.obuf[obuf_class(c)];
    long long hard = lim[OBUF_HARD], soft = lim[OBUF_SOFT];
    bool over_hard = hard > 0 && c->reply_bytes > (size_t)hard;
    bool over_soft = false;
    if (soft > 0 && c->reply_bytes > (size_t)soft) {
        if (!c->soft_limit_since)
            c->soft_limit_since = now;
        over_soft = now - c->soft_limit_since >= lim[OBUF_SOFT_SECS] * 1000;
    } else {
        c->soft_limit_since = 0;
    }
    if ((over_hard || over_soft) && !(c->flags & CLIENT_CLOSE_ASAP)) {
        server_log(LL_WARNING, "Client id=%llu addr=%s scheduled to be closed ASAP for "
                   "overcoming of output buffer limits.", (unsigned long long)c->id, c->addr);
        server.stat_evicted_clients_obl++;
        client_close_async(c);
    }
}

/* Before sleeping: one send per client with output (replies batched). */
void handle_pending_writes(void)
{
    int64_t now = now_ms();
    while (server.pending_writes) {
        client *c = server.pending_writes;
        server.pending_writes = c->pw_next;
        c->flags &= ~(uint32_t)CLIENT_PENDING_WRITE;
        if (c->flags & CLIENT_CLOSE_ASAP)
            continue;
        check_output_limits(c, now);
        if (!(c->flags & CLIENT_CLOSE_ASAP) && client_has_sendable(c))
            server.io->send(server.loop, c);
        else if ((c->flags & CLIENT_CLOSE_AFTER_REPLY) && c->out_sent == c->out_total)
            client_close_async(c);
    }
}

/* ---- holding replies for a group commit -------------------------------- */

int hold_reply_begin(client *c)
{
    if (c->held_count == CLIENT_MAX_HELD)
        return -1;                 /* process_command waits before this */
    c->held[(c->held_head + c->held_count) % CLIENT_MAX_HELD] = c->out_total;
    c->held_count++;
    c->commits_pending++;
    return 0;
}

/* The engine says the write is durable (status 0) or failed. Batches
 * complete in the order they were written, so this is always the oldest
 * held reply. A failed write was never acknowledged: we close the
 * connection rather than send the reply that would claim it. */
void hold_reply_release(client *c, int status)
{
    c->commits_pending--;
    if (c->held_count > 0) {
        c->held_head = (c->held_head + 1) % CLIENT_MAX_HELD;
        c->held_count--;
    }
    if (status != 0) {
        server_log(LL_WARNING, "Write failed (%s): closing client %s without its reply",
                   chalk_strerror(status), c->addr);
        client_close_async(c);
        return;
    }
    client_wants_write(c);
    client_make_ready(c);
}

/* ---- periodic ---------------------------------------------------------- */

void clients_cron(int64_t now)
{
    for (client *c = server.clients; c; c = c->next) {
        if (c->flags & CLIENT_CLOSE_ASAP)
            continue;
        if (server.cfg.timeout > 0 && !(c->flags & CLIENT_WAITING) &&
            !(c->flags & CLIENT_MONITOR) && c->commits_pending == 0 &&
            now - c->last_ms > server.cfg.timeout * 1000) {
            server_log(LL_VERBOSE, "Closing idle client %s", c->addr);
            client_close_async(c);
            continue;
        }
        if (c->reply_bytes)
            check_output_limits(c, now);
        if ((c->flags & CLIENT_WAITING) && c->cmd_ready)
            client_make_ready(c);          /* CLIENT PAUSE may have ended */
    }
}
