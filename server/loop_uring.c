/*
 * loop_uring.c — the completion backend: io_uring for accept, recv and send.
 *
 * The one idea: instead of asking "which sockets are ready?" and then
 * making one syscall per socket, we queue the operations themselves
 * ("accept on this listener", "receive into this buffer", "send these
 * blocks") and hand the kernel the whole queue with ONE io_uring_enter per
 * loop iteration, which also collects the completions. A pipeline burst
 * from 50 clients is 50 recv completions and 50 sends for one syscall.
 *
 * Operations in flight per client: at most one recv (into the free tail of
 * its query buffer) and one sendmsg (over its reply blocks). Their buffers
 * must not move until the completion arrives: the query buffer is only
 * resized when no recv is in flight (client_read_space is called just
 * before arming one), and reply blocks never move (reply.c).
 *
 * user_data of every SQE: a pointer with a tag in its low 3 bits:
 *
 *   tag  pointer           operation
 *   1    listener slot     accept (re-armed after each completion)
 *   2    client            recv
 *   3    client            sendmsg
 *   4    (none)            poll on the engine's event fd
 *   5    client            poll for the peer's hangup (a blocked client)
 *
 * A client blocked in BLPOP & co. has no recv posted (what it sends next
 * must wait in the socket, not run early) but a one-shot POLL_ADD for
 * POLLRDHUP: a peer that leaves while blocked is closed at once. The poll
 * may outlive the block; its completion then changes nothing.
 *
 * Closing a client with operations in flight: shutdown(2) its socket so
 * they complete (a recv returns 0), and free it when the last completion
 * is seen (client_free_now). Never free memory the kernel may still write.
 *
 * Left out on purpose: provided buffer rings and multishot recv (less
 * memory per idle client, but buffers then belong to the kernel and the
 * code grows a buffer-recycling protocol); registered files; SQPOLL (a
 * kernel thread spinning on the queue trades a core for fewer syscalls).
 */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "loop.h"
#include "server.h"

enum { TAG_ACCEPT = 1, TAG_RECV = 2, TAG_SEND = 3, TAG_ENGINE = 4, TAG_HANGUP = 5, TAG_MASK = 7 };
#define SEND_IOVS 32

struct listener_slot { _Alignas(8) int fd; };   /* aligned: its address carries a tag */

struct send_state {               /* must live until the send completes */
    struct msghdr mh;
    struct iovec iov[SEND_IOVS];
};

struct loop {
    struct io_uring ring;
    struct listener_slot listeners[MAX_LISTENERS];
    int nlisteners;
    int engine_fd;
    uint64_t engine_gen;          /* generation of the engine fd's poll */
    bool engine_armed;
};

static struct io_uring_sqe *get_sqe(loop *l)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);
    if (!sqe) {                   /* the queue is full: submit it, retry */
        io_uring_submit(&l->ring);
        server.stat_io_submits++;
        sqe = io_uring_get_sqe(&l->ring);
    }
    return sqe;
}

static inline uint64_t tagged(void *p, int tag) { return (uint64_t)(uintptr_t)p | (uint64_t)tag; }

/* Every operation we use must be supported, or we fall back to epoll. */
static int probe_ops(struct io_uring *ring)
{
    struct io_uring_probe *probe = io_uring_get_probe_ring(ring);
    if (!probe)
        return -ENOSYS;
    int ok = io_uring_opcode_supported(probe, IORING_OP_ACCEPT) &&
             io_uring_opcode_supported(probe, IORING_OP_RECV) &&
             io_uring_opcode_supported(probe, IORING_OP_SENDMSG) &&
             io_uring_opcode_supported(probe, IORING_OP_POLL_ADD);
    io_uring_free_probe(probe);
    return ok ? 0 : -ENOSYS;
}

static int ur_create(loop **out, int max_clients)
{
    loop *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    /* COOP_TASKRUN: a socket that becomes ready queues its recv's task
     * work without interrupting this thread (no IPI); the work runs at the
     * next io_uring_enter, which the loop makes anyway. Kernels before 5.19
     * refuse the flag: then the ring is made without it. */
    static const unsigned flags[] = {IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN,
                                     IORING_SETUP_CQSIZE};
    int rc = -EINVAL;
    for (size_t i = 0; i < sizeof flags / sizeof flags[0] && rc == -EINVAL; i++) {
        struct io_uring_params p = {.flags = flags[i],
                                    .cq_entries = 65536};  /* one recv + one send per client */
        rc = io_uring_queue_init_params(4096, &l->ring, &p);
    }
    if (rc == 0 && (rc = probe_ops(&l->ring)) < 0)
        io_uring_queue_exit(&l->ring);
    if (rc < 0) {
        free(l);
        return rc;
    }
    l->engine_fd = -1;
    *out = l;
    return 0;
}

static void ur_destroy(loop *l)
{
    io_uring_queue_exit(&l->ring);
    free(l);
}

static int arm_accept(loop *l, struct listener_slot *s)
{
    struct io_uring_sqe *sqe = get_sqe(l);
    if (!sqe)
        return -EBUSY;
    io_uring_prep_accept(sqe, s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, tagged(s, TAG_ACCEPT));
    return 0;
}

static int ur_add_listener(loop *l, int fd)
{
    if (l->nlisteners == MAX_LISTENERS)
        return -ENOSPC;
    struct listener_slot *s = &l->listeners[l->nlisteners++];
    s->fd = fd;
    return arm_accept(l, s);
}

/* The engine fd's poll carries a generation in its user_data (above the
 * tag bits): after DEBUG RELOAD reopens the engine, a completion of the old
 * fd's poll is recognised and ignored. */
static uint64_t engine_ud(const loop *l) { return (l->engine_gen << 3) | TAG_ENGINE; }

static int arm_engine(loop *l)
{
    struct io_uring_sqe *sqe = get_sqe(l);
    if (!sqe)
        return -EBUSY;
    io_uring_prep_poll_add(sqe, l->engine_fd, POLLIN);
    io_uring_sqe_set_data64(sqe, engine_ud(l));
    l->engine_armed = true;
    return 0;
}

static int ur_add_fd(loop *l, int fd)
{
    if (l->engine_armed) {        /* a new engine: withdraw the old poll */
        struct io_uring_sqe *sqe = get_sqe(l);
        if (sqe) {
            io_uring_prep_poll_remove(sqe, engine_ud(l));
            io_uring_sqe_set_data64(sqe, 0);          /* tag 0: ignored */
        }
    }
    l->engine_fd = fd;
    l->engine_gen++;
    return arm_engine(l);
}

static bool may_read(const client *c)
{
    return !(c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY | CLIENT_READ_PAUSED |
                         CLIENT_WAITING));
}

static void arm_recv(loop *l, client *c)
{
    if (c->io_recv_inflight || !may_read(c))
        return;
    char *buf;
    size_t len;
    if (client_read_space(c, &buf, &len) < 0)
        return;
    struct io_uring_sqe *sqe = get_sqe(l);
    if (!sqe) {
        client_close_async(c);
        return;
    }
    io_uring_prep_recv(sqe, c->fd, buf, len, 0);
    io_uring_sqe_set_data64(sqe, tagged(c, TAG_RECV));
    c->io_recv_inflight = true;
    c->io_inflight++;
}

static bool watches_hangup(const client *c)
{
    return (c->flags & (CLIENT_READ_PAUSED | CLIENT_WATCH_HANGUP)) ==
               (CLIENT_READ_PAUSED | CLIENT_WATCH_HANGUP) &&
           !(c->flags & CLIENT_CLOSE_ASAP);
}

/* One poll at a time per client: an earlier block's poll still in flight
 * serves this block too. */
static void arm_hangup(loop *l, client *c)
{
    if (c->io_hangup_inflight || !watches_hangup(c))
        return;
    struct io_uring_sqe *sqe = get_sqe(l);
    if (!sqe) {
        client_close_async(c);
        return;
    }
    io_uring_prep_poll_add(sqe, c->fd, POLLRDHUP);
    io_uring_sqe_set_data64(sqe, tagged(c, TAG_HANGUP));
    c->io_hangup_inflight = true;
    c->io_inflight++;
}

static int ur_add_client(loop *l, client *c)
{
    c->iovs = calloc(1, sizeof(struct send_state));
    if (!c->iovs)
        return -ENOMEM;
    arm_recv(l, c);
    return 0;
}

static void ur_set_read(loop *l, client *c, bool on)
{
    if (on)
        c->flags &= ~(uint32_t)CLIENT_READ_PAUSED;
    else
        c->flags |= CLIENT_READ_PAUSED;
    if (on)
        arm_recv(l, c);
    else
        arm_hangup(l, c);
}

/* Queue one sendmsg over as many reply blocks as fit; it is submitted with
 * everything else at the next io_uring_enter. */
static void ur_send(loop *l, client *c)
{
    if (c->io_send_inflight || (c->flags & CLIENT_CLOSE_ASAP) || !client_has_sendable(c))
        return;
    struct send_state *st = c->iovs;
    size_t bytes;
    size_t n = client_out_iov(c, st->iov, SEND_IOVS, &bytes);
    if (n == 0)
        return;
    memset(&st->mh, 0, sizeof st->mh);
    st->mh.msg_iov = st->iov;
    st->mh.msg_iovlen = n;
    struct io_uring_sqe *sqe = get_sqe(l);
    if (!sqe) {
        client_close_async(c);
        return;
    }
    io_uring_prep_sendmsg(sqe, c->fd, &st->mh, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, tagged(c, TAG_SEND));
    c->io_send_inflight = true;
    c->io_inflight++;
    server.stat_io_writes++;
}

static bool ur_close_client(loop *l, client *c)
{
    if (c->io_inflight == 0)
        return true;
    shutdown(c->fd, SHUT_RDWR);   /* in-flight recv/send complete promptly */
    return false;
}

/* ---- completions ---------------------------------------------------------- */

static void on_accept(loop *l, struct listener_slot *s, int res)
{
    /* At shutdown server_shutdown shuts the listener down, which ends the
     * accept in flight with -EINVAL: expected, not worth a warning. */
    bool stopping = server.shutdown_asap || server.shutdown_signal;
    if (res >= 0)
        client_accepted(res, s->fd);
    else if (res != -EAGAIN && res != -EINTR && res != -ECONNABORTED && !stopping)
        server_log(LL_WARNING, "Accepting client connection: %s", strerror(-res));
    if (!stopping)
        arm_accept(l, s);
}

/* After an operation of a closing client completes: free it once the last
 * one is in. */
static bool reap_if_closing(client *c)
{
    if (!(c->flags & CLIENT_DRAINING))
        return false;
    if (c->io_inflight == 0)
        client_free_now(c);
    return true;
}

static void on_recv(loop *l, client *c, int res)
{
    c->io_recv_inflight = false;
    c->io_inflight--;
    server.stat_io_reads++;
    if (reap_if_closing(c))
        return;
    if (c->flags & CLIENT_CLOSE_ASAP)
        return;
    if (res == -EAGAIN || res == -EINTR || res == -ENOBUFS) {
        arm_recv(l, c);
        return;
    }
    client_on_read(c, res);
    arm_recv(l, c);
}

static void on_send(loop *l, client *c, int res)
{
    c->io_send_inflight = false;
    c->io_inflight--;
    if (reap_if_closing(c))
        return;
    if (c->flags & CLIENT_CLOSE_ASAP)
        return;
    if (res == -EAGAIN || res == -EINTR)
        res = 0;
    client_on_sent(c, res);
    if (client_has_sendable(c))
        ur_send(l, c);            /* a short send: queue the rest */
}

/* POLLHUP and POLLERR are reported whatever the mask asked for. A poll
 * that completes after its client was served (the peer half-closed while
 * being read normally) is left to the recv, which sees the EOF itself. */
static void on_hangup(loop *l, client *c, int res)
{
    c->io_hangup_inflight = false;
    c->io_inflight--;
    if (reap_if_closing(c) || !watches_hangup(c))
        return;
    if (res > 0 && (res & (POLLRDHUP | POLLHUP | POLLERR)))
        client_on_hangup(c);
    else if (res >= 0)
        arm_hangup(l, c);
}

static void dispatch(loop *l, struct io_uring_cqe *cqe)
{
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    int tag = (int)(ud & TAG_MASK);
    void *p = (void *)(uintptr_t)(ud & ~(uint64_t)TAG_MASK);
    switch (tag) {
    case TAG_ACCEPT: on_accept(l, p, cqe->res); break;
    case TAG_RECV: on_recv(l, p, cqe->res); break;
    case TAG_SEND: on_send(l, p, cqe->res); break;
    case TAG_HANGUP: on_hangup(l, p, cqe->res); break;
    case TAG_ENGINE:
        if (ud != engine_ud(l))
            break;                /* the poll of a closed engine fd */
        l->engine_armed = false;
        server_on_engine_event();
        arm_engine(l);
        break;
    default: break;
    }
}

/* One io_uring_enter: submit everything queued since the last call (recvs
 * re-armed, sends of this iteration's replies, accepts) and wait for at
 * least one completion or the timeout; then handle all completions. */
static int ur_poll(loop *l, int timeout_ms)
{
    struct __kernel_timespec ts = {.tv_sec = timeout_ms / 1000,
                                   .tv_nsec = (long long)(timeout_ms % 1000) * 1000000};
    struct io_uring_cqe *cqe;
    server.stat_io_submits++;
    int rc = io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, &ts, NULL);
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY)
        return rc;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&l->ring, head, cqe) {
        dispatch(l, cqe);
        seen++;
    }
    io_uring_cq_advance(&l->ring, seen);
    return 0;
}

const struct loop_backend loop_uring_backend = {
    .name = "io_uring",
    .create = ur_create,
    .destroy = ur_destroy,
    .add_listener = ur_add_listener,
    .add_fd = ur_add_fd,
    .add_client = ur_add_client,
    .set_read = ur_set_read,
    .send = ur_send,
    .close_client = ur_close_client,
    .poll = ur_poll,
};
