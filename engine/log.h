/*
 * log.h — the log writer: appends to the active segment through group
 * commit. log.c holds the policy; a backend (log_uring.c, log_psync.c)
 * performs one group's write (+ fdatasync) without blocking the caller.
 *
 * A group is the bytes appended since the previous flush, all for the one
 * active segment (a roll drains the log first, so a group never spans two
 * segments), plus the callbacks of the batches those bytes hold.
 *
 *   chalk_write ─log_append()─▶ pending ─log_flush()─▶ inflight ─backend─▶ done
 *                                                                 │
 *                       chalk_poll ─log_run_callbacks()◀──────────┘
 *
 * A finished group with no callbacks skips the done list: it is freed at
 * once. A freed group's buffer becomes the next pending group's (spare).
 *
 * Rules (the file's invariants, checked by log_check_invariants):
 *   1. at most one group is in flight; the next one accumulates in pending;
 *   2. pending->off == inflight->off + inflight->len when both exist and
 *      are for the same segment, and pending->off + pending->len == tail;
 *   3. a group's buffer is not touched by the caller's thread once in
 *      flight, except to READ it (serving reads of not-yet-written records);
 *   4. callbacks run only from log_run_callbacks(), on the caller's thread.
 */
#ifndef CHALK_LOG_H
#define CHALK_LOG_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "chalk/engine.h"

struct chalk_vfs;
struct log;

struct log_cb {
    chalk_commit_cb cb;
    void           *arg;
};

struct log_group {
    uint32_t  seg_id;
    int       fd;              /* write fd of that segment (vfs) */
    uint64_t  off;             /* file offset of buf[0] */
    uint8_t  *buf;
    size_t    len, cap;
    size_t    wlen;            /* bytes the backend writes: len, plus the
                                  zeros that pre-write the tail (log_flush) */
    size_t    done;            /* bytes already written (short writes) */
    int       sync;            /* fdatasync after the write */
    int       synced;          /* backend: the fdatasync completed */
    struct log_cb *cbs;
    size_t    ncbs, cbcap;
    int       status;          /* 0 or CHALK_EIO / CHALK_ENOSPC */
    uint64_t  fsync_usec;      /* latency of its fdatasync, if any */
    uint64_t  submit_usec;     /* backend bookkeeping */
    struct log_group *next;    /* in the done list */
};

/* A backend: performs groups in the background and reports completion by
 * making lg->efd readable. Chosen once, in log_open(). */
struct log_backend {
    const char *name;          /* stats.io_path */
    int  (*start)(struct log *lg);                   /* 0 or CHALK_E* */
    void (*submit)(struct log *lg, struct log_group *g);
    /* Non-blocking: the finished in-flight group, or NULL. */
    struct log_group *(*reap)(struct log *lg);
    void (*stop)(struct log *lg);
};
extern const struct log_backend log_backend_uring;
extern const struct log_backend log_backend_psync;

struct log {
    const struct log_backend *be;
    void     *be_state;        /* the backend's own */
    const struct chalk_vfs *vfs;
    enum chalk_fsync policy;
    int       efd;             /* eventfd: completions (and other wake-ups) */
    uint32_t  seg_id;          /* active segment */
    int       fd;              /* its write fd, -1 if none */
    uint64_t  tail;            /* logical end: on disk + in flight + pending */
    uint64_t  good_end;        /* active segment: end of the last group that
                                  succeeded; after a failure, records past it
                                  were never (durably) written */
    struct log_group *pending, *inflight;
    uint8_t  *spare;           /* a finished group's buffer, for the next
                                  pending group (log.c, group_recycle) */
    size_t    spare_cap;       /* its capacity */
    struct log_group *done_head, *done_tail;
    int       failed;          /* CHALK_EIO / CHALK_ENOSPC once a group failed */
    int       flush_requested; /* chalk_flush ran while a group was in flight */
    int       hold;            /* an atomic group is open (txn.h): log_flush
                                  leaves pending in memory until it ends */
    uint64_t  prepared;        /* active segment: bytes [0, prepared) of the
                                  file are written and synced (records or the
                                  zeros of PREZERO_CHUNK): an ALWAYS group
                                  that ends below it only overwrites blocks */
    uint64_t  prezero_bytes;   /* zeros written ahead of the tail, in total */
    uint64_t  unsynced;        /* bytes written since the last fdatasync */
    uint64_t  fsyncs, fsync_usec_total, fsync_usec_max;
    uint64_t  bytes_written;
};

/* Pick the backend (io mode, vfs) and start it. Returns 0, CHALK_EINVAL
 * (io_uring demanded and unavailable), CHALK_EIO, CHALK_ENOMEM. */
int  log_open(struct log *lg, const chalk_options *opt, const struct chalk_vfs *vfs,
              chalk_log_fn logf, void *log_arg);
/* Drain (wait for the in-flight group), stop the backend, close the active
 * fd. Pending callbacks must have been run by the caller. */
void log_close(struct log *lg);

void log_set_active(struct log *lg, uint32_t seg_id, int fd, uint64_t tail);

/* Cut the active segment's file back to the log's tail if zeros were
 * written past it, and make that durable (ftruncate + fdatasync): before a
 * segment is sealed (db_roll) and at close, so that only the newest
 * segment of a crashed store can hold a zero tail. The log must be drained.
 * 0, or CHALK_EIO / CHALK_ENOSPC (then the log has failed). */
int  log_trim(struct log *lg);

/* Reserve n bytes at the log's tail for one batch; returns where to encode
 * them (valid until the next log_* call) and the file offset of the first
 * byte. NULL on ENOMEM. */
uint8_t *log_append(struct log *lg, size_t n, uint64_t *off);
/* Make room for one callback in the pending group: 0 or CHALK_ENOMEM.
 * Then log_add_callback() cannot fail. */
int  log_reserve_callback(struct log *lg);
void log_add_callback(struct log *lg, chalk_commit_cb cb, void *arg);
size_t log_pending_bytes(const struct log *lg);

/* Hand pending to the disk if nothing is in flight: to the backend when it
 * needs an fdatasync, else pwrite'd at once (buffered: it never waits for
 * the disk, see log.c). Never blocks on an fdatasync. */
void log_flush(struct log *lg);
/* Queue an fdatasync-only group (EVERYSEC's tick, chalk_sync). */
int  log_request_sync(struct log *lg);
/* Collect a finished group without blocking (no callbacks run). Returns 1
 * if one was collected. */
int  log_reap(struct log *lg);
/* Block until nothing is pending or in flight (flushing as needed). */
void log_drain(struct log *lg);
/* chalk_sync's path, and a lone chalk_write_sync's (write.c): wait for the
 * group in flight, then write and fdatasync everything pending right here,
 * on the caller's thread (it blocks anyway: a hand-off to a thread would
 * only add two wake-ups). */
void log_sync_inline(struct log *lg);
/* Write what is left of g, then fdatasync it if g->sync: blocking, through
 * the vfs. The psync backend's thread and log_sync_inline call it. */
void log_perform(struct log *lg, struct log_group *g);
/* Run the callbacks of finished groups. Returns how many ran. */
int  log_run_callbacks(struct log *lg);

/* Copy [off, off+n) of segment seg_id if it is still in memory (pending or
 * in flight). Returns 1 if copied, 0 if it is on disk. */
int  log_read_memory(const struct log *lg, uint32_t seg_id, uint64_t off, void *dst, size_t n);

int  log_check_invariants(const struct log *lg);

/* For backends: signal lg->efd. */
void log_signal(struct log *lg);
uint64_t log_now_usec(void);

#endif /* CHALK_LOG_H */
