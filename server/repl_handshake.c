/*
 * repl_handshake.c — the follower's handshake with its leader, on a
 * short-lived thread: connect, PING, AUTH, REPLCONF, PSYNC, and for a full
 * resync the reception and verification of the snapshot.
 *
 * The one idea: each of these steps may block for as long as the network
 * or the leader likes, so they run here, with blocking sockets bounded by
 * repl-timeout (SO_RCVTIMEO/SO_SNDTIMEO, which also bound connect), and
 * never on the event loop. The thread reads only its struct
 * repl_handshake (a copy of what it needs) and writes only its results
 * there; repl_follower.c picks them up on the main thread. The steps, in
 * Redis 7's order, are drawn in repl_follower.c's state diagram.
 *
 * Ownership: the main thread creates the job and detaches the thread.
 * Whoever moves `phase` second (the thread to HS_DONE, or the main thread
 * to HS_ABANDONED on REPLICAOF NO ONE / shutdown) frees it.
 *
 * Left out on purpose: TLS; the "$<len>" RDB framing (a Redis leader's
 * RDB is not a Chalk payload: refused with a clear error).
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "repl_internal.h"

static int hs_fail(struct repl_handshake *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int hs_fail(struct repl_handshake *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->err, sizeof h->err, fmt, ap);
    va_end(ap);
    return -1;
}

static int hs_fill(struct repl_handshake *h)
{
    h->bpos = 0;
    ssize_t n;
    do
        n = recv(h->fd, h->buf, sizeof h->buf, 0);
    while (n < 0 && errno == EINTR);
    h->blen = n > 0 ? (size_t)n : 0;
    return n > 0 ? 0 : -1;
}

static int hs_read_exact(void *arg, void *out, size_t n)
{
    struct repl_handshake *h = arg;
    char *dst = out;
    while (n > 0) {
        if (h->bpos == h->blen && hs_fill(h) < 0)
            return -1;
        size_t k = h->blen - h->bpos < n ? h->blen - h->bpos : n;
        memcpy(dst, h->buf + h->bpos, k);
        h->bpos += k;
        dst += k;
        n -= k;
    }
    return 0;
}

/* One reply line, without its CRLF. Empty lines are keepalives. */
static int hs_read_line(struct repl_handshake *h, char *out, size_t cap)
{
    size_t n = 0;
    for (;;) {
        char ch;
        if (hs_read_exact(h, &ch, 1) < 0)
            return -1;
        if (ch == '\n')
            break;
        if (n + 1 < cap)
            out[n++] = ch;
    }
    if (n > 0 && out[n - 1] == '\r')
        n--;
    out[n] = '\0';
    return 0;
}

static int hs_send(struct repl_handshake *h, int argc, const char **argv)
{
    char buf[2048];
    size_t off = (size_t)snprintf(buf, sizeof buf, "*%d\r\n", argc);
    for (int i = 0; i < argc && off < sizeof buf; i++)
        off += (size_t)snprintf(buf + off, sizeof buf - off, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    if (off >= sizeof buf)
        return -1;
    return send(h->fd, buf, off, MSG_NOSIGNAL) == (ssize_t)off ? 0 : -1;
}

/* Send a command and read its one-line reply into line. */
static int hs_ask(struct repl_handshake *h, int argc, const char **argv, char *line, size_t cap)
{
    if (hs_send(h, argc, argv) < 0)
        return hs_fail(h, "sending %s: %s", argv[0], strerror(errno));
    do
        if (hs_read_line(h, line, cap) < 0)
            return hs_fail(h, "no reply to %s (closed or timed out)", argv[0]);
    while (line[0] == '\0');
    return 0;
}

static int hs_connect(struct repl_handshake *h)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", h->port);
    int rc = getaddrinfo(h->host, port, &hints, &res);
    if (rc != 0)
        return hs_fail(h, "resolving %s: %s", h->host, gai_strerror(rc));
    h->fd = -1;
    for (struct addrinfo *a = res; a && h->fd < 0; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        struct timeval tv = {h->timeout_ms / 1000, (h->timeout_ms % 1000) * 1000};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);   /* bounds connect too */
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            h->fd = fd;
        else {
            snprintf(h->err, sizeof h->err, "connecting to %s:%d: %s", h->host, h->port, strerror(errno));
            close(fd);
        }
    }
    freeaddrinfo(res);
    return h->fd >= 0 ? 0 : -1;
}

/* PING, AUTH, REPLCONF ×2: Redis 7's order. */
static int hs_greet(struct repl_handshake *h)
{
    char line[512], port[16];
    const char *ping[] = {"PING"};
    if (hs_ask(h, 1, ping, line, sizeof line) < 0)
        return -1;
    if (line[0] != '+' && strncmp(line, "-NOAUTH", 7) != 0)
        return hs_fail(h, "unexpected reply to PING: '%.200s' (not a "
                        "Chalk/Redis leader?)", line);
    if (h->pass[0]) {
        const char *auth[] = {"AUTH", h->user, h->pass};
        int argc = h->user[0] ? 3 : 2;
        if (!h->user[0])
            auth[1] = h->pass;
        if (hs_ask(h, argc, auth, line, sizeof line) < 0)
            return -1;
        if (line[0] != '+')
            return hs_fail(h, "AUTH refused: %.200s", line);
    }
    snprintf(port, sizeof port, "%d", h->my_port);
    const char *lp[] = {"REPLCONF", "listening-port", port};
    const char *capa[] = {"REPLCONF", "capa", "eof", "capa", "psync2"};
    if (hs_ask(h, 3, lp, line, sizeof line) < 0 || hs_ask(h, 5, capa, line, sizeof line) < 0)
        return -1;
    if (line[0] != '+')
        return hs_fail(h, "REPLCONF refused: %.200s", line);
    return 0;
}

static int hs_receive_snapshot(struct repl_handshake *h)
{
    char line[512], mark[41];
    do
        if (hs_read_line(h, line, sizeof line) < 0)
            return hs_fail(h, "the leader closed before the snapshot");
    while (line[0] == '\0');
    if (strncmp(line, "$EOF:", 5) != 0 || strlen(line + 5) != 40)
        return hs_fail(h, "unexpected snapshot framing '%.60s' (a Redis "
                        "leader's RDB is not a Chalk payload)", line);
    FILE *f = fopen(h->tmp_path, "wb");
    if (!f)
        return hs_fail(h, "creating %.200s: %s", h->tmp_path, strerror(errno));
    int rc = snap_receive(hs_read_exact, h, f, &h->records, h->err, sizeof h->err);
    if (rc == 0 && hs_read_exact(h, mark, 40) < 0)
        rc = hs_fail(h, "the leader closed before the EOF mark");
    if (rc == 0 && memcmp(mark, line + 5, 40) != 0)
        rc = hs_fail(h, "the EOF mark after the payload does not match");
    /* fflush + fsync: a full disk shows up here, not after the swap. */
    if ((fflush(f) != 0 || fsync(fileno(f)) != 0) && rc == 0)
        rc = hs_fail(h, "writing %.200s: %s", h->tmp_path, strerror(errno));
    fclose(f);
    return rc;
}

static int hs_psync(struct repl_handshake *h)
{
    char line[512], off[32];
    snprintf(off, sizeof off, "%lld", h->want);
    const char *psync[] = {"PSYNC", h->want < 0 ? "?" : h->replid, off};
    if (hs_ask(h, 3, psync, line, sizeof line) < 0)
        return -1;
    if (strncmp(line, "+FULLRESYNC ", 12) == 0 &&
        sscanf(line + 12, "%40s %lld", h->new_replid, &h->new_offset) == 2) {
        h->result = HS_FULL;
        return hs_receive_snapshot(h);
    }
    if (strncmp(line, "+CONTINUE", 9) == 0) {
        h->result = HS_CONTINUE;
        if (sscanf(line + 9, " %40s", h->new_replid) != 1)
            h->new_replid[0] = '\0';
        return 0;
    }
    return hs_fail(h, "PSYNC refused: '%.200s'", line);
}

void hs_free(struct repl_handshake *h)
{
    if (h->fd >= 0)
        close(h->fd);
    free(h);
}

void *hs_thread(void *arg)
{
    struct repl_handshake *h = arg;
    if (hs_connect(h) < 0 || hs_greet(h) < 0 || hs_psync(h) < 0)
        h->result = HS_ERROR;
    if (atomic_exchange(&h->phase, HS_DONE) == HS_ABANDONED) {
        if (h->result == HS_FULL)
            unlink(h->tmp_path);
        hs_free(h);                 /* nobody waits for us any more */
    }
    return NULL;
}
