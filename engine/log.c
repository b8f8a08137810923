/*
 * log.c — group commit: how appended batches become durable and how their
 * callers learn it, without the caller's thread ever waiting on the disk.
 *
 * The one idea: fdatasync costs about the same for 1 batch as for 1000, so
 * batches that arrive while one fdatasync runs wait together for the next
 * one. chalk_write only appends bytes to `pending` (memory); chalk_flush
 * hands all of pending to the backend as ONE write plus (under ALWAYS) ONE
 * fdatasync; while that group is in flight the next one accumulates. The
 * backend signals an eventfd; chalk_poll reaps the group and runs its
 * callbacks, which is when the server releases the held replies.
 *
 * Left out on purpose: more than one group in flight (a pipeline of
 * write(N+1) overlapping fsync(N) would raise throughput a little at the
 * price of out-of-order completions); and a time-based flush inside the
 * engine (the caller decides when a group closes, by calling chalk_flush
 * before it sleeps, which is exactly when no more requests are coming).
 *
 * @interview(tx.durability): What do appendfsync always, everysec and no
 * promise, and how is always made fast? ALWAYS acknowledges a batch only
 * after an fdatasync covering it completed, so an acknowledged write survives
 * power loss; EVERYSEC fdatasyncs once a second (a crash loses up to ~1 s of
 * acknowledged writes) and NO leaves it to the kernel's writeback (~30 s).
 * Group commit makes ALWAYS affordable: every batch that arrived while the
 * previous fdatasync ran shares the next one, so throughput is batches per
 * fdatasync times fdatasyncs per second.
 */
#include "log.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "segment.h"
#include "vfs.h"

uint64_t log_now_usec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void log_signal(struct log *lg)
{
    uint64_t one = 1;
    ssize_t r = write(lg->efd, &one, sizeof one);
    (void)r;   /* EAGAIN means the counter is already non-zero: still readable */
}

static void log_clear_signal(struct log *lg)
{
    uint64_t v;
    ssize_t r = read(lg->efd, &v, sizeof v);
    (void)r;   /* EAGAIN: nothing to clear */
}

/* The ONE place the I/O path is chosen. A vfs (fault injection) forces the
 * pwrite path: io_uring performs the syscalls in the kernel, beyond any
 * user-space seam. */
int log_open(struct log *lg, const chalk_options *opt, const struct chalk_vfs *vfs,
             chalk_log_fn logf, void *log_arg)
{
    memset(lg, 0, sizeof *lg);
    lg->vfs = vfs;
    lg->policy = opt->fsync;
    lg->fd = -1;
    lg->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (lg->efd < 0) return CHALK_EIO;
    int want_uring = opt->io != CHALK_IO_PSYNC && opt->vfs == NULL;
    if (opt->io == CHALK_IO_URING && opt->vfs != NULL) {
        logf(log_arg, CHALK_LOG_ERROR, "io=uring cannot be combined with a test vfs");
        goto fail;
    }
    if (want_uring) {
        lg->be = &log_backend_uring;
        if (lg->be->start(lg) == 0) goto started;
        if (opt->io == CHALK_IO_URING) {
            logf(log_arg, CHALK_LOG_ERROR, "io_uring unavailable (io_uring_queue_init failed) and io=uring was demanded");
            goto fail;
        }
        logf(log_arg, CHALK_LOG_WARN, "io_uring unavailable: falling back to pwrite+fdatasync");
    }
    lg->be = &log_backend_psync;
    if (lg->be->start(lg) != 0) goto fail;
started:
    return 0;
fail:
    close(lg->efd);
    lg->efd = -1;
    return opt->io == CHALK_IO_URING ? CHALK_EINVAL : CHALK_EIO;
}

static void group_free(struct log_group *g)
{
    if (!g) return;
    free(g->buf);
    free(g->cbs);
    free(g);
}

/* Free g, keeping its buffer (up to SPARE_MAX bytes) for the next pending
 * group: a fresh buffer costs a page fault per 4 KiB written into it and
 * realloc's copies as it grows (at 1M puts of 116 bytes under fsync no,
 * ~45k of the fill's 71k page faults). The cap keeps a huge value's
 * buffer from staying allocated for good. */
#define SPARE_MAX (4u << 20)

static void group_recycle(struct log *lg, struct log_group *g)
{
    if (!lg->spare && g->buf && g->cap <= SPARE_MAX) {
        lg->spare = g->buf;
        lg->spare_cap = g->cap;
        g->buf = NULL;
    }
    group_free(g);
}

void log_close(struct log *lg)
{
    log_drain(lg);
    (void)log_trim(lg);   /* a failure leaves a zero tail: recovery cuts it */
    if (lg->be) lg->be->stop(lg);
    group_free(lg->pending);
    lg->pending = NULL;
    while (lg->done_head) {
        struct log_group *g = lg->done_head;
        lg->done_head = g->next;
        group_free(g);
    }
    if (lg->fd >= 0) lg->vfs->close(lg->vfs->ctx, lg->fd);
    lg->fd = -1;
    if (lg->efd >= 0) close(lg->efd);
    lg->efd = -1;
    free(lg->spare);
    lg->spare = NULL;
}

void log_set_active(struct log *lg, uint32_t seg_id, int fd, uint64_t tail)
{
    if (lg->fd >= 0) lg->vfs->close(lg->vfs->ctx, lg->fd);
    lg->seg_id = seg_id;
    lg->fd = fd;
    lg->tail = tail;
    lg->good_end = tail;
    lg->prepared = tail;   /* a new segment, or one recovery cut to tail */
}

static struct log_group *pending_group(struct log *lg)
{
    if (lg->pending) return lg->pending;
    struct log_group *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->seg_id = lg->seg_id;
    g->fd = lg->fd;
    g->off = lg->tail;
    g->buf = lg->spare;
    g->cap = lg->spare ? lg->spare_cap : 0;
    lg->spare = NULL;
    lg->pending = g;
    return g;
}

uint8_t *log_append(struct log *lg, size_t n, uint64_t *off)
{
    struct log_group *g = pending_group(lg);
    if (!g) return NULL;
    if (g->len + n > g->cap) {
        size_t cap = g->cap ? g->cap : 64 * 1024;
        while (cap < g->len + n) cap *= 2;
        uint8_t *nb = realloc(g->buf, cap);
        if (!nb) return NULL;
        g->buf = nb;
        g->cap = cap;
    }
    *off = g->off + g->len;
    uint8_t *p = g->buf + g->len;
    g->len += n;
    lg->tail += n;
    return p;
}

int log_reserve_callback(struct log *lg)
{
    struct log_group *g = pending_group(lg);
    if (!g) return CHALK_ENOMEM;
    if (g->ncbs == g->cbcap) {
        size_t cap = g->cbcap ? 2 * g->cbcap : 16;
        struct log_cb *n = realloc(g->cbs, cap * sizeof *n);
        if (!n) return CHALK_ENOMEM;
        g->cbs = n;
        g->cbcap = cap;
    }
    return 0;
}

void log_add_callback(struct log *lg, chalk_commit_cb cb, void *arg)
{
    struct log_group *g = lg->pending;
    assert(g && g->ncbs < g->cbcap);   /* log_reserve_callback() came first */
    g->cbs[g->ncbs++] = (struct log_cb){ cb, arg };
}

size_t log_pending_bytes(const struct log *lg)
{
    return lg->pending ? lg->pending->len : 0;
}

static void done_push(struct log *lg, struct log_group *g)
{
    g->next = NULL;
    if (lg->done_tail) lg->done_tail->next = g;
    else lg->done_head = g;
    lg->done_tail = g;
}

/* Pre-writing the tail: why an ALWAYS group is followed by zeros.
 *
 * An fdatasync after an APPEND must also make the file's new size durable:
 * on ext4/xfs that is a journal commit (a second device write and cache
 * flush) on top of the data blocks. An fdatasync after OVERWRITING blocks
 * the file already has (written, not merely fallocate'd: unwritten extents
 * need a metadata change too) only flushes the data. So when an ALWAYS
 * group would end past `prepared`, its one write goes on with zeros up to
 * the next PREZERO_CHUNK boundary past its end, and its one fdatasync pays
 * the journal commit for the whole chunk; the ~60 groups of 16 KiB that
 * follow in that chunk are overwrites. Measured here (bench/engine_bench:
 * the fdatasync reference rows): 15.6 KiB appends + fdatasync ~6.5k/s,
 * overwrites of written blocks ~11k/s (docs/engine-durability.md).
 *
 * Costs: every log byte reaches the disk twice under ALWAYS (as a zero,
 * then as itself); one group per chunk carries the chunk's zeros and a
 * slower fdatasync; a crashed store's newest segment ends in up to a chunk
 * of zeros, which recovery cuts as a torn tail (recover.c says "zero
 * tail"); log_trim cuts it on a clean close and before a roll seals a
 * segment. Not done for NO/EVERYSEC: their fdatasyncs are rare, and the
 * page cache would only absorb the zeros. The segment format is unchanged:
 * a reader never sees the zeros (they are past the last record).
 *
 * If the buffer cannot grow (ENOMEM), the group is written without zeros:
 * pre-writing is an optimisation, never a condition. */
#define PREZERO_CHUNK (1u << 20)

static void group_prezero(struct log *lg, struct log_group *g)
{
    g->wlen = g->len;
    uint64_t end = g->off + g->len;
    if (!g->sync || g->len == 0 || lg->policy != CHALK_FSYNC_ALWAYS ||
        g->seg_id != lg->seg_id || end <= lg->prepared)
        return;
    uint64_t target = (end / PREZERO_CHUNK + 1) * PREZERO_CHUNK;
    size_t need = (size_t)(target - g->off);
    if (need > g->cap) {
        uint8_t *nb = realloc(g->buf, need);
        if (!nb) return;
        g->buf = nb;
        g->cap = need;
    }
    memset(g->buf + g->len, 0, need - g->len);
    g->wlen = need;
    lg->prepared = target;
    lg->prezero_bytes += need - g->len;
}

int log_trim(struct log *lg)
{
    if (lg->fd < 0 || lg->prepared <= lg->tail || lg->failed) return lg->failed;
    const struct chalk_vfs *vfs = lg->vfs;
    int rc = vfs->ftruncate(vfs->ctx, lg->fd, lg->tail);
    if (rc == 0) rc = vfs->fdatasync(vfs->ctx, lg->fd);
    if (rc < 0) {
        lg->failed = seg_errno_to_chalk(rc);   /* never retried: group_finished */
        return lg->failed;
    }
    lg->prepared = lg->tail;
    return 0;
}

static void group_finished(struct log *lg, struct log_group *g);

/* Hand pending to the disk. A group that needs an fdatasync (ALWAYS, or a
 * sync request) goes to the backend, which writes and syncs it in the
 * background. A group that needs none (NO, EVERYSEC between its ticks) is
 * written right here with pwrite, as Redis writes its AOF from its event
 * loop: a buffered write only copies into the page cache and does not wait
 * for the disk (unless the kernel throttles a process that dirties pages
 * faster than they are written back, which would slow any writer). Sent to
 * io_uring instead, such a write is punted by ext4 to an io-wq worker
 * thread, and its wake-up, the write and the completion's wake-up of the
 * loop cost ~0.8 us of CPU per write request at pipeline 1, 50 clients
 * (INCR, 200k requests: /proc task times of the iou-wrk thread), more than
 * the write itself. The group completes before log_flush returns. */
void log_flush(struct log *lg)
{
    struct log_group *g = lg->pending;
    if (!g || lg->inflight || lg->hold) return;
    lg->pending = NULL;
    if (lg->failed) {
        /* Never write after a failure: these batches fail with the error. */
        g->status = lg->failed;
        done_push(lg, g);
        log_signal(lg);              /* so the caller's loop runs chalk_poll */
        return;
    }
    if (lg->policy == CHALK_FSYNC_ALWAYS) g->sync = 1;
    if (g->len == 0 && !g->sync) {   /* only callbacks (empty batches) */
        done_push(lg, g);
        log_signal(lg);
        return;
    }
    group_prezero(lg, g);
    lg->inflight = g;
    lg->flush_requested = 0;
    if (!g->sync) {                  /* no fdatasync: write it here, now */
        log_perform(lg, g);
        group_finished(lg, g);
        if (lg->done_head) log_signal(lg);   /* its callbacks: chalk_poll */
        return;
    }
    lg->be->submit(lg, g);
}

int log_request_sync(struct log *lg)
{
    struct log_group *g = pending_group(lg);
    if (!g) return CHALK_ENOMEM;
    g->sync = 1;
    log_flush(lg);
    return 0;
}

/* A finished group: account for it, remember a failure, queue callbacks
 * (or, without callbacks, free it and keep its buffer: group_recycle).
 *
 * Why a failed write or fdatasync is never retried: after an fsync error,
 * Linux may have dropped the dirty pages' error state and marked them clean;
 * a retried fsync then "succeeds" without the data being on disk
 * (PostgreSQL's fsyncgate, 2018). So the group fails, every later batch
 * fails too (CHALK_EFAILED), and only a reopen (recovery reads what really
 * is on disk) brings the engine back. */
static void group_finished(struct log *lg, struct log_group *g)
{
    lg->inflight = NULL;
    if (g->status == 0) {
        if (g->seg_id == lg->seg_id) lg->good_end = g->off + g->len;
        lg->bytes_written += g->len;
        lg->unsynced = g->synced ? 0 : lg->unsynced + g->len;
        if (g->synced) {
            lg->fsyncs++;
            lg->fsync_usec_total += g->fsync_usec;
            if (g->fsync_usec > lg->fsync_usec_max) lg->fsync_usec_max = g->fsync_usec;
        }
    } else if (!lg->failed) {
        lg->failed = g->status;
    }
    /* Nothing to deliver (chalk_put, chalk_write without a callback): free
     * it now rather than when the caller next polls; a caller that never
     * polls would otherwise keep every group's buffer. */
    if (g->ncbs == 0) {
        group_recycle(lg, g);
        return;
    }
    done_push(lg, g);
}

int log_reap(struct log *lg)
{
    if (!lg->inflight) return 0;
    struct log_group *g = lg->be->reap(lg);
    if (!g) return 0;
    group_finished(lg, g);
    /* The next group accumulated meanwhile: send it if it was asked for. */
    if (lg->pending && (lg->flush_requested || lg->pending->sync)) log_flush(lg);
    return 1;
}

/* Sleep until the group in flight completes. */
static void wait_inflight(struct log *lg)
{
    while (lg->inflight) {
        if (log_reap(lg)) continue;
        /* Clear, re-check, then sleep: a completion that lands between the
         * reap above and the clear is caught by the second reap. */
        log_clear_signal(lg);
        if (log_reap(lg)) continue;
        struct pollfd p = { .fd = lg->efd, .events = POLLIN };
        poll(&p, 1, 1000);
    }
}

void log_drain(struct log *lg)
{
    for (;;) {
        log_reap(lg);
        log_flush(lg);
        if (!lg->inflight) break;
        wait_inflight(lg);
    }
    /* Callbacks are waiting: keep the caller's event fd readable so that
     * its loop calls chalk_poll() to run them. */
    if (lg->done_head) log_signal(lg);
}

/* Short writes are normal: vfs_pwrite_all loops. Never retried on error:
 * see group_finished(). */
void log_perform(struct log *lg, struct log_group *g)
{
    const struct chalk_vfs *vfs = lg->vfs;
    int rc = vfs_pwrite_all(vfs, g->fd, g->buf + g->done, g->wlen - g->done, g->off + g->done);
    if (rc < 0) {
        g->status = seg_errno_to_chalk(rc);
        return;
    }
    g->done = g->wlen;
    if (!g->sync) return;
    uint64_t t0 = log_now_usec();
    rc = vfs->fdatasync(vfs->ctx, g->fd);
    g->fsync_usec = log_now_usec() - t0;
    if (rc < 0) g->status = seg_errno_to_chalk(rc);
    else g->synced = 1;
}

void log_sync_inline(struct log *lg)
{
    wait_inflight(lg);
    /* An open atomic group (hold) or a failure: the general path. */
    if (lg->hold || lg->failed) {
        log_request_sync(lg);
        log_drain(lg);
        return;
    }
    struct log_group *g = lg->pending ? lg->pending : pending_group(lg);
    if (!g) {
        log_drain(lg);
        return;
    }
    lg->pending = NULL;
    g->sync = 1;
    group_prezero(lg, g);
    lg->inflight = g;           /* for the invariants while it runs */
    log_perform(lg, g);
    group_finished(lg, g);
}

int log_run_callbacks(struct log *lg)
{
    int n = 0;
    log_clear_signal(lg);
    log_reap(lg);
    while (lg->done_head) {
        struct log_group *g = lg->done_head;
        lg->done_head = g->next;
        if (!lg->done_head) lg->done_tail = NULL;
        for (size_t i = 0; i < g->ncbs; i++, n++)
            if (g->cbs[i].cb) g->cbs[i].cb(g->cbs[i].arg, g->status);
        group_recycle(lg, g);
    }
    return n;
}

static int copy_from(const struct log_group *g, uint32_t seg_id, uint64_t off,
                     void *dst, size_t n)
{
    if (!g || g->seg_id != seg_id || off < g->off || off + n > g->off + g->len) return 0;
    memcpy(dst, g->buf + (off - g->off), n);
    return 1;
}

int log_read_memory(const struct log *lg, uint32_t seg_id, uint64_t off, void *dst, size_t n)
{
    return copy_from(lg->pending, seg_id, off, dst, n) ||
           copy_from(lg->inflight, seg_id, off, dst, n);
}

int log_check_invariants(const struct log *lg)
{
    const struct log_group *p = lg->pending, *f = lg->inflight;
    if (p && p->seg_id == lg->seg_id && p->off + p->len != lg->tail) return 2;
    if (p && f && p->seg_id == f->seg_id && p->off != f->off + f->len) return 2;
    if (!p && f && f->seg_id == lg->seg_id && f->off + f->len != lg->tail) return 2;
    if (p && p->len > p->cap) return 3;
    return 0;
}
