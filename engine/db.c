/*
 * db.c — the life of a chalk_db handle: options, open (lock, log backend,
 * recovery), the event-loop entry points (chalk_event_fd, chalk_flush,
 * chalk_poll, chalk_sync), stats, close.
 *
 * The one idea: one thread owns the handle. Background work (the log
 * backend, the compaction thread, the 1 Hz timer) only ever makes
 * chalk_event_fd() readable; the caller's thread then calls chalk_poll(),
 * which runs callbacks and swaps in finished work. No locks on the read and
 * write paths.
 *
 * Left out on purpose: multi-process access (flock makes a second opener
 * fail with CHALK_ELOCKED instead) and multi-threaded callers (Redis's
 * model: one command thread; see DESIGN.md).
 *
 * Interview topics: tx.durability (log.c), storage.recovery (recover.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "segment.h"
#include "vfs.h"

#define MIN_SEGMENT_SIZE 4096u
#define MAX_SEGMENT_SIZE (1u << 31)   /* offsets are 32-bit in idx_entry */

const char *chalk_strerror(int err)
{
    switch (err) {
    case CHALK_OK:        return "ok";
    case CHALK_ENOTFOUND: return "no such key";
    case CHALK_EIO:       return "I/O error";
    case CHALK_ENOSPC:    return "no space left on device";
    case CHALK_ELOCKED:   return "data directory is locked by another process";
    case CHALK_ECORRUPT:  return "corruption detected (checksum or structure)";
    case CHALK_EVERSION:  return "unknown file format version";
    case CHALK_EINVAL:    return "invalid argument";
    case CHALK_ENOMEM:    return "out of memory";
    case CHALK_ETOOBIG:   return "key or value too big";
    case CHALK_EFAILED:   return "engine failed after an I/O error; reopen it";
    case CHALK_EBUSY:     return "already running";
    case CHALK_ECLOSED:   return "engine is closing";
    case CHALK_ECONFLICT: return "transaction conflict: a key it read has changed";
    default:              return "unknown error";
    }
}

void chalk_options_init(chalk_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->segment_size = 64u << 20;
    opt->fsync = CHALK_FSYNC_EVERYSEC;
    opt->io = CHALK_IO_AUTO;
    opt->create_if_missing = 1;
    opt->compact_dead_ratio = 0.5;
    opt->mmap_reads = 1;
}

static void log_stderr(void *arg, enum chalk_log_level level, const char *msg)
{
    static const char *names[] = { "debug", "info", "warn", "error" };
    if (level == CHALK_LOG_DEBUG) return;
    fprintf(stderr, "chalk engine %s: %s\n", names[level], msg);
}

void db_logf(chalk_db *db, enum chalk_log_level lvl, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    db->opt.log(db->opt.log_arg, lvl, msg);
}

int64_t db_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t db_rand64(chalk_db *db)     /* splitmix64: per-handle, no global state */
{
    uint64_t z = (db->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int check_options(const chalk_options *o)
{
    if (o->segment_size < MIN_SEGMENT_SIZE || o->segment_size > MAX_SEGMENT_SIZE) return CHALK_EINVAL;
    if (o->fsync > CHALK_FSYNC_ALWAYS || o->io > CHALK_IO_PSYNC) return CHALK_EINVAL;
    if (o->compact_dead_ratio < 0 || o->compact_dead_ratio > 1) return CHALK_EINVAL;
    return 0;
}

/* dir/LOCK with flock(LOCK_EX|LOCK_NB). The lock file holds no data, so it
 * is opened directly rather than through the vfs. The lock dies with the
 * process, so a crash never leaves a stale lock behind. */
static int take_lock(chalk_db *db)
{
    char path[SEG_PATH_MAX];
    snprintf(path, sizeof path, "%s/LOCK", db->dir);
    db->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (db->lock_fd < 0) return CHALK_EIO;
    if (flock(db->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        int busy = errno == EWOULDBLOCK;
        db_logf(db, CHALK_LOG_ERROR, "%s is locked by another process", db->dir);
        return busy ? CHALK_ELOCKED : CHALK_EIO;
    }
    return 0;
}

/* The fd the caller polls: an epoll set of the log's eventfd and a 1 Hz
 * timer (EVERYSEC's tick, the compaction trigger). An epoll fd is itself
 * pollable, so the caller still sees ONE fd. The timer's expiries are at
 * absolute times (the first one second from now, then every second), so
 * that chalk_poll knows when the next one is due without asking. */
static int make_event_fd(chalk_db *db)
{
    db->next_tick_usec = log_now_usec() + 1000000;
    struct itimerspec its = { .it_interval = { 1, 0 },
                              .it_value = { (time_t)(db->next_tick_usec / 1000000),
                                            (long)(db->next_tick_usec % 1000000) * 1000 } };
    db->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    db->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (db->tfd < 0 || db->epfd < 0 ||
        timerfd_settime(db->tfd, TFD_TIMER_ABSTIME, &its, NULL) != 0) return CHALK_EIO;
    struct epoll_event ev = { .events = EPOLLIN };
    ev.data.fd = db->log.efd;
    if (epoll_ctl(db->epfd, EPOLL_CTL_ADD, db->log.efd, &ev) != 0) return CHALK_EIO;
    ev.data.fd = db->tfd;
    if (epoll_ctl(db->epfd, EPOLL_CTL_ADD, db->tfd, &ev) != 0) return CHALK_EIO;
    return 0;
}

/* Create the data directory if allowed. mkdir is not in the vfs (it never
 * holds data); the parent directory is fsync'ed through it, so that the new
 * directory's name, like every file's, is durable before anything in it. */
static int open_dir(const char *dir, const chalk_options *opt, const struct chalk_vfs *vfs)
{
    struct stat st;
    if (stat(dir, &st) == 0) return S_ISDIR(st.st_mode) ? 0 : CHALK_EINVAL;
    if (!opt->create_if_missing) return CHALK_EINVAL;
    if (mkdir(dir, 0755) != 0) return CHALK_EIO;
    char *copy = strdup(dir);
    if (!copy) return CHALK_ENOMEM;
    int rc = vfs->fsync_dir(vfs->ctx, dirname(copy));
    free(copy);
    return rc < 0 ? CHALK_EIO : 0;
}

static void free_entry_cb(void *arg, idx_entry *e) { db_entry_free(arg, e); }

static void db_free(chalk_db *db)
{
    if (db->h) hidx_free(db->h, free_entry_cb, db);
    if (db->o) oidx_free(db->o);
    while (db->segs.n) seg_table_remove(&db->segs, db->segs.v[db->segs.n - 1].id);
    free(db->segs.v);
    free(db->exp.v);
    if (db->epfd >= 0) close(db->epfd);
    if (db->tfd >= 0) close(db->tfd);
    if (db->lock_fd >= 0) close(db->lock_fd);   /* releases the flock */
    free(db->dir);
    free(db);
}

int chalk_open(const char *dir, const chalk_options *opt, chalk_db **out)
{
    chalk_options defaults;
    *out = NULL;
    if (!opt) { chalk_options_init(&defaults); opt = &defaults; }
    if (check_options(opt) != 0) return CHALK_EINVAL;
    uint64_t t0 = log_now_usec();
    chalk_db *db = calloc(1, sizeof *db);
    if (!db) return CHALK_ENOMEM;
    db->lock_fd = db->epfd = db->tfd = db->log.efd = db->log.fd = -1;
    db->opt = *opt;
    if (!db->opt.log) db->opt.log = log_stderr;
    db->vfs = opt->vfs ? opt->vfs : &vfs_posix;
    db->rng = t0 ^ (uint64_t)(uintptr_t)db;
    db->dir = strdup(dir);
    int rc = db->dir ? open_dir(dir, opt, db->vfs) : CHALK_ENOMEM;
    if (rc == 0) rc = take_lock(db);
    if (rc == 0) {
        db->h = hidx_new();
        db->o = oidx_new();
        if (!db->h || !db->o) rc = CHALK_ENOMEM;
    }
    if (rc == 0) rc = log_open(&db->log, &db->opt, db->vfs, db->opt.log, db->opt.log_arg);
    if (rc == 0) rc = db_recover(db);
    if (rc == 0) rc = make_event_fd(db);
    if (rc != 0) {
        if (db->log.be) log_close(&db->log);
        db_free(db);
        return rc;
    }
    db->recovery_usec = log_now_usec() - t0;
    db->last_everysec_usec = log_now_usec();
    db_logf(db, CHALK_LOG_INFO, "opened %s: %llu keys, %zu segments, io path %s, recovery %llu us",
            dir, (unsigned long long)hidx_count(db->h), db->segs.n, db->log.be->name,
            (unsigned long long)db->recovery_usec);
    *out = db;
    return 0;
}

int chalk_close(chalk_db *db)
{
    if (!db) return 0;
    if (db->group.open) chalk_group_end(db);   /* commit it, then sync it */
    compaction_shutdown(db);
    int rc = chalk_sync(db);
    log_run_callbacks(&db->log);
    log_close(&db->log);
    while (db->snaps) chalk_snapshot_release(db, db->snaps);
    db_unlink_doomed(db, 1);
    db_unlink_join(db);
    db_free(db);
    return rc;
}

int chalk_event_fd(chalk_db *db) { return db->epfd; }

int chalk_flush(chalk_db *db)
{
    if (db->log.failed) {
        log_flush(&db->log);   /* fails what is pending, for chalk_poll */
        return CHALK_EFAILED;
    }
    db->log.flush_requested = 1;
    log_flush(&db->log);
    return 0;
}

/* EVERYSEC: once a second, flush and fdatasync whatever was written. */
static void everysec_tick(chalk_db *db, uint64_t now)
{
    if (db->opt.fsync != CHALK_FSYNC_EVERYSEC || now - db->last_everysec_usec < 1000000) return;
    db->last_everysec_usec = now;
    if (db->log.unsynced || log_pending_bytes(&db->log)) log_request_sync(&db->log);
}

/* The timer must be read once it fired, or the event fd stays readable
 * (the caller's loop would spin); before its next expiry it cannot have
 * fired, and a read would be a syscall that finds nothing (one per poll,
 * i.e. per group commit). Its expiries are next_tick_usec + k seconds
 * (make_event_fd), and a read consumes all that have fired, so the next
 * is one second per tick read later; a read that finds nothing (the
 * kernel has not run the expiry yet) leaves it due. */
static void timer_consume(chalk_db *db, uint64_t now)
{
    uint64_t ticks;
    if (now < db->next_tick_usec) return;
    if (read(db->tfd, &ticks, sizeof ticks) == (ssize_t)sizeof ticks)
        db->next_tick_usec += ticks * 1000000;
}

int chalk_poll(chalk_db *db)
{
    uint64_t now = log_now_usec();
    timer_consume(db, now);
    everysec_tick(db, now);
    int n = log_run_callbacks(&db->log);
    compaction_poll(db);
    return n;
}

int chalk_sync(chalk_db *db)
{
    /* Whatever the policy, chalk_sync ends with an fdatasync, done on this
     * thread: it blocks anyway (log_sync_inline). */
    log_sync_inline(&db->log);
    log_run_callbacks(&db->log);
    return db->log.failed ? db->log.failed : 0;
}

void chalk_stats_get(chalk_db *db, chalk_stats *out)
{
    memset(out, 0, sizeof *out);
    out->keys = hidx_count(db->h);
    out->keys_with_expiry = db->exp.n;
    out->segments = db->segs.n;
    out->live_bytes = db_live_bytes(db);
    uint64_t total = db_total_record_bytes(db);
    out->dead_bytes = total > out->live_bytes ? total - out->live_bytes : 0;
    out->user_bytes_written = db->user_bytes;
    out->compaction_bytes_written = db->compaction_bytes;
    out->write_amplification = db->user_bytes
        ? (double)(db->user_bytes + db->compaction_bytes) / (double)db->user_bytes : 1.0;
    out->space_amplification = out->live_bytes ? (double)total / (double)out->live_bytes : 1.0;
    out->compactions = db->compactions;
    out->fsyncs = db->log.fsyncs;
    out->fsync_usec_total = db->log.fsync_usec_total;
    out->fsync_usec_max = db->log.fsync_usec_max;
    out->last_recovery_usec = db->recovery_usec;
    out->recovery_truncated_bytes = db->truncated_bytes;
    out->index_memory_bytes = hidx_memory(db->h) + oidx_memory(db->o) + db->entry_bytes;
    out->rehash_in_progress = (uint64_t)hidx_rehashing(db->h);
    out->io_path = db->log.be->name;
    out->failed = db->log.failed != 0;
    out->compaction_pause_usec_max = db->compact_pause_usec_max;
    compaction_stats(db, out);
}
