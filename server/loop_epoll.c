/*
 * loop_epoll.c — the readiness backend: epoll, level-triggered.
 *
 * The one idea: ask the kernel which sockets are ready, then do the I/O
 * ourselves with plain read()/writev(). Replies are not written as commands
 * run: the server queues them and calls send() for each client with output
 * once per loop iteration, so a pipeline of N commands costs one writev.
 * A socket that cannot take all of it gets EPOLLOUT armed until it drains.
 *
 * A client blocked in BLPOP & co. is not read (its next commands must wait
 * in the socket) but is watched for EPOLLRDHUP, so a peer that leaves while
 * blocked is closed at once, not when its key is served.
 *
 * Left out on purpose: edge-triggered mode (fewer epoll_wait wake-ups, but
 * every handler must then loop to EAGAIN or lose events; level-triggered is
 * the version a reader can check by eye).
 *
 * State per fd: kind[fd] says what it is (listener, engine event fd,
 * client), conn[fd] is the client. The loop never frees a client itself:
 * closing is asynchronous (networking.c), so a client freed by another
 * client's command can never be touched by a stale event of this batch.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include "loop.h"
#include "server.h"

enum { FD_NONE = 0, FD_LISTENER, FD_ENGINE, FD_CLIENT };

struct loop {
    int epfd;
    int cap;                  /* size of kind[] and conn[] */
    unsigned char *kind;      /* FD_* by fd */
    client **conn;            /* the client of a FD_CLIENT fd */
    struct epoll_event events[256];
};

static int ensure_fd(loop *l, int fd)
{
    if (fd < l->cap)
        return 0;
    int cap = l->cap;
    while (cap <= fd)
        cap *= 2;
    unsigned char *k = realloc(l->kind, (size_t)cap);
    if (!k)
        return -ENOMEM;
    l->kind = k;
    client **c = realloc(l->conn, (size_t)cap * sizeof *c);
    if (!c)
        return -ENOMEM;
    l->conn = c;
    memset(l->kind + l->cap, 0, (size_t)(cap - l->cap));
    memset(l->conn + l->cap, 0, (size_t)(cap - l->cap) * sizeof *c);
    l->cap = cap;
    return 0;
}

static int ep_create(loop **out, int max_clients)
{
    loop *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->cap = 1024;
    l->kind = calloc((size_t)l->cap, 1);
    l->conn = calloc((size_t)l->cap, sizeof *l->conn);
    if (l->epfd < 0 || !l->kind || !l->conn) {
        int err = l->epfd < 0 ? -errno : -ENOMEM;
        if (l->epfd >= 0)
            close(l->epfd);
        free(l->kind);
        free(l->conn);
        free(l);
        return err;
    }
    *out = l;
    return 0;
}

static void ep_destroy(loop *l)
{
    close(l->epfd);
    free(l->kind);
    free(l->conn);
    free(l);
}

static int watch(loop *l, int fd, int kind, uint32_t events)
{
    int rc = ensure_fd(l, fd);
    if (rc < 0)
        return rc;
    struct epoll_event ev = {.events = events, .data.fd = fd};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -errno;
    l->kind[fd] = (unsigned char)kind;
    return 0;
}

static int ep_add_listener(loop *l, int fd) { return watch(l, fd, FD_LISTENER, EPOLLIN); }
static int ep_add_fd(loop *l, int fd) { return watch(l, fd, FD_ENGINE, EPOLLIN); }

static int ep_add_client(loop *l, client *c)
{
    int rc = watch(l, c->fd, FD_CLIENT, EPOLLIN);
    if (rc == 0)
        l->conn[c->fd] = c;
    return rc;
}

static void update(loop *l, client *c)
{
    uint32_t ev = 0;
    if (!(c->flags & CLIENT_READ_PAUSED))
        ev |= EPOLLIN;
    else if (c->flags & CLIENT_WATCH_HANGUP)
        ev |= EPOLLRDHUP;         /* blocked: not read, but its EOF is seen */
    if (c->epoll_out)
        ev |= EPOLLOUT;
    struct epoll_event e = {.events = ev, .data.fd = c->fd};
    epoll_ctl(l->epfd, EPOLL_CTL_MOD, c->fd, &e);
}

static void ep_set_read(loop *l, client *c, bool on)
{
    if (on)
        c->flags &= ~(uint32_t)CLIENT_READ_PAUSED;
    else
        c->flags |= CLIENT_READ_PAUSED;
    update(l, c);
}

/* Write as much as the socket takes; arm EPOLLOUT for the rest. A short
 * write is normal (the socket buffer is full): we just wait for room. */
static void ep_send(loop *l, client *c)
{
    struct iovec iov[64];
    while (client_has_sendable(c)) {
        size_t bytes;
        size_t n = client_out_iov(c, iov, 64, &bytes);
        ssize_t w = writev(c->fd, iov, (int)n);
        server.stat_io_writes++;
        if (w < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        client_on_sent(c, w < 0 ? -errno : w);
        if (w < 0 || (size_t)w < bytes)
            break;
    }
    bool want = client_has_sendable(c) && !(c->flags & CLIENT_CLOSE_ASAP);
    if (want != c->epoll_out) {
        c->epoll_out = want;
        update(l, c);
    }
}

static bool ep_close_client(loop *l, client *c)
{
    if (c->fd >= 0 && c->fd < l->cap) {
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        l->kind[c->fd] = FD_NONE;
        l->conn[c->fd] = NULL;
    }
    return true;
}

static void on_client_event(loop *l, client *c, uint32_t ev)
{
    if (c->flags & CLIENT_CLOSE_ASAP)
        return;
    if (ev & EPOLLOUT)
        ep_send(l, c);
    if ((c->flags & CLIENT_READ_PAUSED) && (c->flags & CLIENT_WATCH_HANGUP)) {
        /* A blocked client is not read: what it sent after its command
         * stays in the socket. Only its peer's FIN or a reset matter. */
        if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            client_on_hangup(c);
        return;
    }
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        char *buf;
        size_t len;
        if (client_read_space(c, &buf, &len) < 0)
            return;
        ssize_t n = read(c->fd, buf, len);
        server.stat_io_reads++;
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        client_on_read(c, n < 0 ? -errno : n);
    }
}

static int ep_poll(loop *l, int timeout_ms)
{
    int n = epoll_wait(l->epfd, l->events, 256, timeout_ms);
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++) {
        int fd = l->events[i].data.fd;
        if (fd >= l->cap)
            continue;
        switch (l->kind[fd]) {
        case FD_LISTENER: accept_on_listener(fd); break;
        case FD_ENGINE: server_on_engine_event(); break;
        case FD_CLIENT:
            if (l->conn[fd])
                on_client_event(l, l->conn[fd], l->events[i].events);
            break;
        default: break;
        }
    }
    return 0;
}

const struct loop_backend loop_epoll_backend = {
    .name = "epoll",
    .create = ep_create,
    .destroy = ep_destroy,
    .add_listener = ep_add_listener,
    .add_fd = ep_add_fd,
    .add_client = ep_add_client,
    .set_read = ep_set_read,
    .send = ep_send,
    .close_client = ep_close_client,
    .poll = ep_poll,
};
