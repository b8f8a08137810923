/*
 * conn.c — one client connection: connect (TCP or unix socket) with
 * timeouts, queue commands, flush them, read replies; AUTH and HELLO.
 *
 * The one idea: a connection is two byte streams kept in step. Output is a
 * queue of request bytes (chalkc_append_*), flushed in one write when a
 * reply is wanted; input goes through the incremental reader (reply.c).
 * `owed` counts replies the server still owes us; pipelining is just
 * letting owed grow beyond 1 before reading.
 *
 * State of a connection:
 *
 *   chalkc_connect() ──► OK ──(timeout, EIO, peer closed, bad RESP)──► BROKEN
 *                        ▲ │                                  (sticky: every
 *                        └─┘ append / flush / get_reply        call fails with
 *                                                              the same code)
 *
 * Why BROKEN is final: after a timeout we do not know whether the server
 * ran the command, and a late reply would be read as the answer to the
 * NEXT command. Reconnecting is the only safe move (the pool does it).
 *
 * Timeouts: the socket is non-blocking and every wait is a poll() with the
 * remaining budget, so a dead server costs at most the timeout. Short writes
 * and partial reads are normal and handled by looping.
 *
 * Left out on purpose: TLS, RESP3 client-side caching (CLIENT TRACKING),
 * an async/event-loop API (hiredis's async.c). Cost: one blocking call at a
 * time per connection; use a pool for concurrency.
 *
 * Interview topics: query.n-plus-one (pipelining, at chalkc_get_reply).
 */
#include <chalk/client.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "conn_internal.h"

const char *chalkc_strerror(int err)
{
    switch (err) {
    case CHALKC_OK:         return "ok";
    case CHALKC_ECONNECT:   return "could not connect";
    case CHALKC_ERESOLVE:   return "could not resolve host";
    case CHALKC_ETIMEOUT:   return "timed out";
    case CHALKC_EIO:        return "I/O error";
    case CHALKC_ECLOSED:    return "connection closed by the server";
    case CHALKC_EPROTOCOL:  return "protocol error";
    case CHALKC_ESERVER:    return "error reply from the server";
    case CHALKC_ENOMEM:     return "out of memory";
    case CHALKC_EINVAL:     return "invalid argument";
    case CHALKC_EPOOL:      return "no pooled connection free in time";
    case CHALKC_EBREAKER:   return "circuit breaker open";
    case CHALKC_ENOTLOCKED: return "lock not acquired";
    default:                return "unknown error";
    }
}

void chalkc_options_init(chalkc_options *o)
{
    memset(o, 0, sizeof(*o));
    o->host = "127.0.0.1";
    o->port = 6379;
    o->connect_timeout_ms = 2000;
}

/* Marks c broken with err; returns err. */
int conn_fail(chalkc_conn *c, int err, const char *fmt, const char *detail)
{
    c->err = err;
    snprintf(c->errstr, sizeof(c->errstr), fmt, detail ? detail : "");
    return err;
}

/* Waits until fd is ready for events, at most timeout_ms (0 = forever).
 * Returns 0, CHALKC_ETIMEOUT or CHALKC_EIO. */
static int wait_fd(int fd, short events, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    int64_t deadline = chalkc_now_ms() + timeout_ms;
    for (;;) {
        int left = -1;
        if (timeout_ms > 0) {
            int64_t l = deadline - chalkc_now_ms();
            left = l > 0 ? (int)l : 0;
        }
        int n = poll(&p, 1, left);
        if (n > 0)
            return 0;
        if (n == 0)
            return CHALKC_ETIMEOUT;
        if (errno != EINTR)
            return CHALKC_EIO;
    }
}

/* Non-blocking connect to one address, waiting at most timeout_ms. */
static int connect_addr(const struct sockaddr *sa, socklen_t salen, int family,
                        int timeout_ms, int *fd_out)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return CHALKC_EIO;
    int rc = 0;
    if (connect(fd, sa, salen) != 0) {
        if (errno != EINPROGRESS) {
            rc = CHALKC_ECONNECT;
        } else if ((rc = wait_fd(fd, POLLOUT, timeout_ms)) == 0) {
            int soerr = 0;
            socklen_t l = sizeof(soerr);
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &l);
            if (soerr != 0) {
                errno = soerr;
                rc = CHALKC_ECONNECT;
            }
        }
    }
    if (rc != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return rc;
    }
    if (family != AF_UNIX) {
        /* Requests are small and we wait for each reply: Nagle's delay
         * would add up to 40 ms per round trip. */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    *fd_out = fd;
    return 0;
}

static int connect_unix(chalkc_conn *c, const chalkc_options *o)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(o->unix_path) >= sizeof(sun.sun_path))
        return conn_fail(c, CHALKC_EINVAL, "unix socket path too long%s", "");
    strcpy(sun.sun_path, o->unix_path);
    int rc = connect_addr((struct sockaddr *)&sun, sizeof(sun), AF_UNIX,
                          o->connect_timeout_ms, &c->fd);
    if (rc != 0)
        return conn_fail(c, rc, "%s", rc == CHALKC_ETIMEOUT
                         ? "connect timed out" : strerror(errno));
    return 0;
}

static int connect_tcp(chalkc_conn *c, const chalkc_options *o)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res, *ai;
    char port[16];
    snprintf(port, sizeof(port), "%d", o->port ? o->port : 6379);
    int grc = getaddrinfo(o->host ? o->host : "127.0.0.1", port, &hints, &res);
    if (grc != 0)
        return conn_fail(c, CHALKC_ERESOLVE, "%s", gai_strerror(grc));
    int rc = CHALKC_ECONNECT;
    for (ai = res; ai; ai = ai->ai_next) {
        rc = connect_addr(ai->ai_addr, ai->ai_addrlen, ai->ai_family,
                          o->connect_timeout_ms, &c->fd);
        if (rc == 0)
            break;
    }
    int saved = errno;
    freeaddrinfo(res);
    if (rc != 0)
        return conn_fail(c, rc, "%s", rc == CHALKC_ETIMEOUT
                         ? "connect timed out" : strerror(saved));
    return 0;
}

/* HELLO / AUTH / SELECT as the options ask. */
static int connect_handshake(chalkc_conn *c, const chalkc_options *o)
{
    int rc = 0;
    if (o->protocol == 2 || o->protocol == 3)
        rc = chalkc_hello(c, o->protocol, o->user, o->password, NULL);
    else if (o->password)
        rc = chalkc_auth(c, o->user, o->password);
    if (rc == 0 && o->db > 0) {
        chalkc_reply *r = NULL;
        rc = chalkc_command(c, &r, "SELECT %d", o->db);
        if (rc == CHALKC_ESERVER)
            conn_fail(c, rc, "SELECT: %s", r->str);
        chalkc_reply_free(r);
    }
    return rc;
}

int chalkc_connect(const chalkc_options *o, chalkc_conn **out, char *errbuf,
                   size_t errbuf_len)
{
    *out = NULL;
    if (!o)
        return CHALKC_EINVAL;
    chalkc_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return CHALKC_ENOMEM;
    c->fd = -1;
    c->protocol = 2;
    c->read_timeout_ms = o->read_timeout_ms;
    c->write_timeout_ms = o->write_timeout_ms;
    c->reader = chalkc_reader_new();
    int rc = c->reader ? 0 : CHALKC_ENOMEM;
    if (rc == 0)
        rc = o->unix_path ? connect_unix(c, o) : connect_tcp(c, o);
    if (rc == 0)
        rc = connect_handshake(c, o);
    if (rc != 0) {
        if (errbuf && errbuf_len)
            snprintf(errbuf, errbuf_len, "%s", c->errstr[0] ? c->errstr
                     : chalkc_strerror(rc));
        chalkc_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

void chalkc_close(chalkc_conn *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    chalkc_reader_free(c->reader);
    free(c->out);
    free(c);
}

const char *chalkc_conn_errstr(const chalkc_conn *c) { return c->errstr; }
int chalkc_conn_error(const chalkc_conn *c) { return c->err; }
int chalkc_conn_protocol(const chalkc_conn *c) { return c->protocol; }
int chalkc_conn_fd(const chalkc_conn *c) { return c->fd; }
size_t chalkc_pending_replies(const chalkc_conn *c) { return c->owed; }

void chalkc_set_wire_tap(chalkc_conn *c, chalkc_wire_fn *fn, void *ud)
{
    c->wire_fn = fn;
    c->wire_ud = ud;
}

void chalkc_set_push_handler(chalkc_conn *c, chalkc_push_fn *fn, void *ud)
{
    c->push_fn = fn;
    c->push_ud = ud;
}

/* Queues already-formatted request bytes; takes ownership of buf. */
static int conn_queue(chalkc_conn *c, char *buf, size_t len)
{
    if (c->outlen + len > c->outcap) {
        size_t ncap = c->outcap ? c->outcap : 1024;
        while (ncap < c->outlen + len)
            ncap *= 2;
        char *n = realloc(c->out, ncap);
        if (!n) {
            free(buf);
            return CHALKC_ENOMEM;
        }
        c->out = n;
        c->outcap = ncap;
    }
    memcpy(c->out + c->outlen, buf, len);
    c->outlen += len;
    c->owed++;
    free(buf);
    return 0;
}

int chalkc_append_argv(chalkc_conn *c, int argc, const char *const *argv,
                       const size_t *argvlen)
{
    char *buf;
    size_t len;
    if (c->err)
        return c->err;
    int rc = chalkc_format_argv(&buf, &len, argc, argv, argvlen);
    return rc != 0 ? rc : conn_queue(c, buf, len);
}

static int conn_vappendf(chalkc_conn *c, const char *fmt, va_list ap)
{
    char *buf;
    size_t len;
    if (c->err)
        return c->err;
    int rc = chalkc_format_command(&buf, &len, fmt, ap);
    return rc != 0 ? rc : conn_queue(c, buf, len);
}

int chalkc_appendf(chalkc_conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = conn_vappendf(c, fmt, ap);
    va_end(ap);
    return rc;
}

int chalkc_flush(chalkc_conn *c)
{
    size_t done = 0;
    if (c->err)
        return c->err;
    if (c->wire_fn && c->outlen)
        c->wire_fn(c->wire_ud, 'S', c->out, c->outlen);
    while (done < c->outlen) {
        ssize_t n = send(c->fd, c->out + done, c->outlen - done, MSG_NOSIGNAL);
        if (n > 0) {
            done += (size_t)n; /* a short write: loop for the rest */
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = wait_fd(c->fd, POLLOUT, c->write_timeout_ms);
            if (rc != 0)
                return conn_fail(c, rc, "write: %s", chalkc_strerror(rc));
            continue;
        }
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
            return conn_fail(c, CHALKC_ECLOSED, "write: %s", strerror(errno));
        return conn_fail(c, CHALKC_EIO, "write: %s", strerror(errno));
    }
    c->outlen = 0;
    return 0;
}

/* Reads what is available into the reader, waiting at most until
 * deadline_ms (0 = no deadline). */
static int conn_read_some(chalkc_conn *c, int64_t deadline_ms)
{
    char buf[16384];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n > 0) {
            if (c->wire_fn)
                c->wire_fn(c->wire_ud, 'R', buf, (size_t)n);
            int rc = chalkc_reader_feed(c->reader, buf, (size_t)n);
            return rc != 0 ? conn_fail(c, rc, "%s", "out of memory") : 0;
        }
        if (n == 0)
            return conn_fail(c, CHALKC_ECLOSED, "%s",
                             chalkc_reader_busy(c->reader)
                             ? "server closed the connection mid-reply"
                             : "server closed the connection");
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int left = 0;
            if (deadline_ms) {
                int64_t l = deadline_ms - chalkc_now_ms();
                left = l > 0 ? (int)l : 1; /* expired: poll 1 ms, then time out */
            }
            int rc = wait_fd(c->fd, POLLIN, left);
            if (rc != 0)
                return conn_fail(c, rc, "read: %s", chalkc_strerror(rc));
            continue;
        }
        if (errno == ECONNRESET)
            return conn_fail(c, CHALKC_ECLOSED, "read: %s", strerror(errno));
        return conn_fail(c, CHALKC_EIO, "read: %s", strerror(errno));
    }
}

/* Reads the next reply of any kind (including pushes). The read timeout
 * bounds the whole reply, so a server dripping one byte at a time cannot
 * hold us longer than that. */
static int conn_read_reply(chalkc_conn *c, chalkc_reply **out)
{
    int64_t deadline = c->read_timeout_ms > 0
                       ? chalkc_now_ms() + c->read_timeout_ms : 0;
    for (;;) {
        int rc = chalkc_reader_get(c->reader, out);
        if (rc == 1)
            return 0;
        if (rc < 0)
            return conn_fail(c, rc, "%s", chalkc_reader_errstr(c->reader));
        rc = conn_read_some(c, deadline);
        if (rc != 0)
            return rc;
    }
}

/* @interview(query.n-plus-one): How does pipelining fix the N+1 problem's
 * cost? N commands are appended to one output buffer, flushed in one write,
 * and their N replies read back in order, so the client pays one network
 * round trip instead of N; the server does the same work. MGET goes further
 * (one command), pipelining works for any mix of commands. */
int chalkc_get_reply(chalkc_conn *c, chalkc_reply **out)
{
    *out = NULL;
    if (c->err)
        return c->err;
    int rc = chalkc_flush(c);
    if (rc != 0)
        return rc;
    for (;;) {
        chalkc_reply *r;
        rc = conn_read_reply(c, &r);
        if (rc != 0)
            return rc;
        if (r->type == CHALKC_REPLY_PUSH && c->push_fn) {
            c->push_fn(c->push_ud, r); /* out-of-band: not the reply owed */
            continue;
        }
        if (r->type != CHALKC_REPLY_PUSH && c->owed > 0)
            c->owed--;
        *out = r;
        return r->type == CHALKC_REPLY_ERROR ? CHALKC_ESERVER : 0;
    }
}

int chalkc_command_argv(chalkc_conn *c, int argc, const char *const *argv,
                        const size_t *argvlen, chalkc_reply **out)
{
    *out = NULL;
    int rc = chalkc_append_argv(c, argc, argv, argvlen);
    return rc != 0 ? rc : chalkc_get_reply(c, out);
}

int chalkc_vcommand(chalkc_conn *c, chalkc_reply **out, const char *fmt,
                    va_list ap)
{
    *out = NULL;
    int rc = conn_vappendf(c, fmt, ap);
    return rc != 0 ? rc : chalkc_get_reply(c, out);
}

int chalkc_command(chalkc_conn *c, chalkc_reply **out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = chalkc_vcommand(c, out, fmt, ap);
    va_end(ap);
    return rc;
}

int chalkc_auth(chalkc_conn *c, const char *user, const char *password)
{
    const char *argv[3] = {"AUTH", user, password};
    chalkc_reply *r = NULL;
    int rc;
    if (!password)
        return CHALKC_EINVAL;
    if (user)
        rc = chalkc_command_argv(c, 3, argv, NULL, &r);
    else
        rc = chalkc_command_argv(c, 2, (const char *[]){"AUTH", password},
                                 NULL, &r);
    if (rc == CHALKC_ESERVER)
        conn_fail(c, 0, "AUTH: %s", r->str); /* reported, not broken */
    chalkc_reply_free(r);
    return rc;
}

int chalkc_hello(chalkc_conn *c, int protover, const char *user,
                 const char *password, chalkc_reply **out)
{
    const char *argv[5] = {"HELLO", protover == 3 ? "3" : "2", "AUTH",
                           user ? user : "default", password};
    chalkc_reply *r = NULL;
    if (out)
        *out = NULL;
    if (protover != 2 && protover != 3)
        return CHALKC_EINVAL;
    int rc = chalkc_command_argv(c, password ? 5 : 2, argv, NULL, &r);
    if (rc == CHALKC_ESERVER)
        conn_fail(c, 0, "HELLO: %s", r->str);
    if (rc == 0)
        c->protocol = protover;
    if (out && rc == 0)
        *out = r;
    else
        chalkc_reply_free(r);
    return rc;
}
