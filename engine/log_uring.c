/*
 * log_uring.c — the io_uring log backend: a group is one WRITE linked to one
 * FSYNC(DATASYNC) submitted together; completions arrive on the ring, whose
 * eventfd is the log's eventfd, and are reaped on the caller's thread
 * without blocking it.
 *
 * The one idea: the completion model. Instead of a thread blocking in
 * fdatasync (log_psync.c), the kernel performs write+fsync asynchronously
 * and posts two completion entries; the caller's event loop learns of them
 * through the same fd it already polls. No thread, one io_uring_enter per
 * group.
 *
 * One completion per durable group: when the ring has IORING_FEAT_CQE_SKIP
 * the WRITE carries IOSQE_CQE_SKIP_SUCCESS, so a group that goes well posts
 * only the FSYNC's CQE and wakes the caller's loop once, not twice (the
 * write's CQE used to arrive ~an fdatasync earlier and wake it for
 * nothing). Without the feature both CQEs are posted, as before.
 *
 * Short writes are normal here too: a short WRITE breaks the link (the
 * FSYNC completes with -ECANCELED), and reap re-issues the rest. A failed
 * or short skip-flagged WRITE still posts its CQE (the kernel then skips
 * the cancelled FSYNC's); should only the FSYNC's -ECANCELED arrive, the
 * bytes written are unknown and the write is re-issued from where this
 * round started (a pwrite at an offset is idempotent). Each round tags its
 * CQEs, so one from an earlier round can never be counted in this one.
 *
 * Left out on purpose: registered buffers and files (IORING_REGISTER_*),
 * SQPOLL. They save a little per-group CPU; a group costs one fdatasync
 * (~100 µs+) anyway. fsync_usec here measures write+fsync from submission.
 *
 * Interview topics: tx.durability (log.c).
 */
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>

#include "log.h"
#include "segment.h"

struct uring_state {
    struct io_uring ring;
    struct log_group *g;   /* the group in flight */
    int outstanding;       /* CQEs expected this round and not yet seen */
    int err;               /* first error of this round, CHALK_E* */
    int skip;              /* the ring has IORING_FEAT_CQE_SKIP */
    uint64_t round;        /* tags this round's CQEs (user_data >> 2) */
};

enum { OP_WRITE = 1, OP_FSYNC = 2, OP_MASK = 3 };

/* Submit what is left of s->g: the rest of its bytes, then its fsync. */
static void issue(struct log *lg, struct uring_state *s)
{
    struct log_group *g = s->g;
    int n = 0;
    s->round++;
    if (g->done < g->wlen) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
        io_uring_prep_write(sqe, g->fd, g->buf + g->done, (unsigned)(g->wlen - g->done),
                            g->off + g->done);
        sqe->user_data = s->round << 2 | OP_WRITE;
        n++;
        if (g->sync && !g->synced) {
            sqe->flags |= IOSQE_IO_LINK;            /* fsync only after the write */
            if (s->skip) {                          /* only the fsync's CQE, if all goes well */
                sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
                n--;
            }
        }
    }
    if (g->sync && !g->synced) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
        io_uring_prep_fsync(sqe, g->fd, IORING_FSYNC_DATASYNC);
        sqe->user_data = s->round << 2 | OP_FSYNC;
        n++;
    }
    s->outstanding = n;
    s->err = 0;
    g->submit_usec = log_now_usec();
    int rc = io_uring_submit(&s->ring);
    if (rc < 0) {   /* nothing was queued: complete the group with an error */
        s->outstanding = 0;
        s->err = CHALK_EIO;
        log_signal(lg);
    }
}

static int uring_start(struct log *lg)
{
    struct uring_state *s = calloc(1, sizeof *s);
    if (!s) return CHALK_ENOMEM;
    if (io_uring_queue_init(8, &s->ring, 0) < 0) {
        free(s);
        return CHALK_EIO;
    }
    /* Every CQE bumps the log's eventfd: the caller polls one fd. */
    if (io_uring_register_eventfd(&s->ring, lg->efd) < 0) {
        io_uring_queue_exit(&s->ring);
        free(s);
        return CHALK_EIO;
    }
    s->skip = (s->ring.features & IORING_FEAT_CQE_SKIP) != 0;
    lg->be_state = s;
    return 0;
}

static void uring_submit(struct log *lg, struct log_group *g)
{
    struct uring_state *s = lg->be_state;
    s->g = g;
    issue(lg, s);
}

static void handle_cqe(struct uring_state *s, const struct io_uring_cqe *cqe)
{
    struct log_group *g = s->g;
    int res = cqe->res;
    if (cqe->user_data >> 2 != s->round) return;   /* an earlier round's */
    s->outstanding--;
    if (res == -ECANCELED) return;          /* link broken by a short write */
    if ((cqe->user_data & OP_MASK) == OP_WRITE) {
        if (res > 0) g->done += (size_t)res;
        else if (!s->err) s->err = seg_errno_to_chalk(res < 0 ? res : -EIO);
        /* A skip-flagged write posts only when it fell short or failed,
         * and the kernel then skips the cancelled fsync's CQE. */
        if (s->skip && g->sync && !g->synced) s->outstanding = 0;
    } else {
        if (res == 0) {
            g->done = g->wlen;   /* it ran: the linked write wrote it all */
            g->synced = 1;
            g->fsync_usec = log_now_usec() - g->submit_usec;
        } else if (!s->err) {
            s->err = seg_errno_to_chalk(res);
        }
    }
}

static struct log_group *uring_reap(struct log *lg)
{
    struct uring_state *s = lg->be_state;
    struct io_uring_cqe *cqe;
    if (!s->g) return NULL;
    while (s->outstanding > 0 && io_uring_peek_cqe(&s->ring, &cqe) == 0) {
        handle_cqe(s, cqe);
        io_uring_cqe_seen(&s->ring, cqe);
    }
    if (s->outstanding > 0) return NULL;
    struct log_group *g = s->g;
    if (s->err) {
        g->status = s->err;          /* never retried: see group_finished() */
    } else if (g->done < g->wlen || (g->sync && !g->synced)) {
        issue(lg, s);                /* a short write: the rest, then fsync */
        return NULL;
    }
    s->g = NULL;
    return g;
}

static void uring_stop(struct log *lg)
{
    struct uring_state *s = lg->be_state;
    if (!s) return;
    io_uring_queue_exit(&s->ring);
    free(s);
    lg->be_state = NULL;
}

const struct log_backend log_backend_uring = {
    .name = "io_uring",
    .start = uring_start,
    .submit = uring_submit,
    .reap = uring_reap,
    .stop = uring_stop,
};
