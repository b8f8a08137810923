/*
 * test_engine_sync_direct.c — which thread performs a chalk_write_sync's
 * fdatasync (write.c, chalk_write_sync: one durable batch on the caller's
 * thread).
 *
 * What it proves, through a vfs that records the thread of every fdatasync
 * (a vfs forces the pwrite+fdatasync backend, whose own thread performs
 * groups handed to it):
 *   - a lone synchronous writer appends and fdatasyncs on its OWN thread,
 *     under every policy (no hand-off to the backend's thread);
 *   - with an async batch pending (the server's group commit), the batch
 *     joins that group and the backend's thread performs it: both batches
 *     are acknowledged by the one fdatasync, callbacks included;
 *   - an fdatasync EIO on the direct path fails the batch with CHALK_EIO,
 *     is not retried, and every later write is refused (CHALK_EFAILED).
 *
 * Left out: timings (bench/engine_bench measures the latency, never
 * asserted here); short writes and the pre-written tail on this path
 * (test_engine_short_write.c, test_engine_prezero.c use chalk_write_sync).
 *
 * Interview topics: tx.durability (tagged at log.c).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chalk/engine.h"
#include "dbopen.h"
#include "fault_vfs.h"
#include "testdir.h"
#include "vfs.h"

/* Forwards every call to the fault vfs; counts fdatasyncs by thread. */
struct spy {
    struct chalk_vfs vfs;
    const struct chalk_vfs *in;
    pthread_t caller;
    pthread_mutex_t mu;
    unsigned on_caller, elsewhere;
};

static int spy_open(void *c, const char *p, int f, int m)
{
    struct spy *s = c;
    return s->in->open(s->in->ctx, p, f, m);
}
static ssize_t spy_pwrite(void *c, int fd, const void *b, size_t n, uint64_t off)
{
    struct spy *s = c;
    return s->in->pwrite(s->in->ctx, fd, b, n, off);
}
static int spy_fdatasync(void *c, int fd)
{
    struct spy *s = c;
    pthread_mutex_lock(&s->mu);
    if (pthread_equal(pthread_self(), s->caller)) s->on_caller++;
    else s->elsewhere++;
    pthread_mutex_unlock(&s->mu);
    return s->in->fdatasync(s->in->ctx, fd);
}
static int spy_ftruncate(void *c, int fd, uint64_t len)
{
    struct spy *s = c;
    return s->in->ftruncate(s->in->ctx, fd, len);
}
static int spy_rename(void *c, const char *a, const char *b)
{
    struct spy *s = c;
    return s->in->rename(s->in->ctx, a, b);
}
static int spy_unlink(void *c, const char *p)
{
    struct spy *s = c;
    return s->in->unlink(s->in->ctx, p);
}
static int spy_fsync_dir(void *c, const char *d)
{
    struct spy *s = c;
    return s->in->fsync_dir(s->in->ctx, d);
}
static int spy_close(void *c, int fd)
{
    struct spy *s = c;
    return s->in->close(s->in->ctx, fd);
}

struct fixture {
    char dir[512];
    struct fault_vfs *fv;
    struct spy spy;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(testdir_make_fast(f->dir, sizeof f->dir, "engine_sync_direct"), 0);
    f->fv = fault_vfs_new(7);
    f->spy.in = fault_vfs_get(f->fv);
    f->spy.vfs = (struct chalk_vfs){ &f->spy, spy_open, spy_pwrite, spy_fdatasync, spy_ftruncate,
                                     spy_rename, spy_unlink, spy_fsync_dir, spy_close };
    f->spy.caller = pthread_self();
    pthread_mutex_init(&f->spy.mu, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    fault_vfs_free(f->fv);
    pthread_mutex_destroy(&f->spy.mu);
    testdir_remove(f->dir);
    free(f);
    return 0;
}

static chalk_db *open_db(struct fixture *f, enum chalk_fsync fs)
{
    chalk_options o;
    test_options(&o, fs);
    o.io = CHALK_IO_PSYNC;
    o.vfs = &f->spy.vfs;
    return test_open(f->dir, &o);
}

/* fdatasyncs since the last call: on the caller's thread, elsewhere. */
static void syncs(struct fixture *f, unsigned *here, unsigned *there)
{
    pthread_mutex_lock(&f->spy.mu);
    *here = f->spy.on_caller;
    *there = f->spy.elsewhere;
    f->spy.on_caller = f->spy.elsewhere = 0;
    pthread_mutex_unlock(&f->spy.mu);
}

static int put_sync(chalk_db *db, const char *k)
{
    chalk_batch *b = chalk_batch_new();
    assert_non_null(b);
    for (int i = 0; i < 100; i++) {
        char key[64];
        int n = snprintf(key, sizeof key, "%s-%d", k, i);
        assert_int_equal(chalk_batch_put(b, key, (size_t)n, "value", 5, 0), CHALK_OK);
    }
    int rc = chalk_write_sync(db, b);
    chalk_batch_free(b);
    return rc;
}

static void lone_writer(struct fixture *f, enum chalk_fsync fs)
{
    chalk_db *db = open_db(f, fs);
    unsigned here, there;
    syncs(f, &here, &there);
    for (int i = 0; i < 5; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        assert_int_equal(put_sync(db, k), CHALK_OK);
        syncs(f, &here, &there);
        assert_int_equal(here, 1);     /* its one fdatasync, on this thread */
        assert_int_equal(there, 0);
    }
    assert_int_equal(chalk_close(db), CHALK_OK);
}

static void test_lone_writer_always(void **state) { lone_writer(*state, CHALK_FSYNC_ALWAYS); }
static void test_lone_writer_no(void **state) { lone_writer(*state, CHALK_FSYNC_NO); }

static void status_cb(void *arg, int status) { *(int *)arg = status; }

/* An async batch is pending: the sync batch joins its group, which the
 * backend's thread performs; one fdatasync acknowledges both. */
static void test_pending_group_keeps_backend(void **state)
{
    struct fixture *f = *state;
    chalk_db *db = open_db(f, CHALK_FSYNC_ALWAYS);
    chalk_batch *b = chalk_batch_new();
    assert_int_equal(chalk_batch_put(b, "async", 5, "a", 1, 0), CHALK_OK);
    int status = 1;
    unsigned here, there;
    syncs(f, &here, &there);
    assert_int_equal(chalk_write(db, b, status_cb, &status), CHALK_OK);   /* pending */
    chalk_batch_free(b);
    assert_int_equal(put_sync(db, "sync"), CHALK_OK);
    syncs(f, &here, &there);
    assert_int_equal(here, 0);
    assert_int_equal(there, 1);
    assert_int_equal(status, CHALK_OK);   /* its callback ran, acknowledged */
    chalk_value v;
    assert_int_equal(chalk_get(db, "async", 5, &v), CHALK_OK);
    chalk_value_free(&v);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

/* An fdatasync EIO on the direct path: the batch fails, nothing retried,
 * the engine refuses every later write; a reopen keeps the acked batch. */
static void test_direct_fsync_eio(void **state)
{
    struct fixture *f = *state;
    chalk_db *db = open_db(f, CHALK_FSYNC_ALWAYS);
    assert_int_equal(put_sync(db, "acked"), CHALK_OK);
    unsigned here, there;
    syncs(f, &here, &there);
    fault_vfs_fail_nth(f->fv, FAULT_OP_SYNC, 1, EIO, 0);
    assert_int_equal(put_sync(db, "doomed"), CHALK_EIO);
    syncs(f, &here, &there);
    assert_int_equal(here, 1);        /* the failing one, on this thread */
    assert_int_equal(there, 0);
    assert_int_equal(put_sync(db, "later"), CHALK_EFAILED);
    assert_int_equal(chalk_put(db, "later", 5, "x", 1, 0), CHALK_EFAILED);
    syncs(f, &here, &there);
    assert_int_equal(here + there, 0);   /* never retried */
    assert_int_not_equal(chalk_close(db), CHALK_OK);
    fault_vfs_clear_faults(f->fv);
    db = open_db(f, CHALK_FSYNC_ALWAYS);
    chalk_value v;
    assert_int_equal(chalk_get(db, "acked-99", 8, &v), CHALK_OK);
    chalk_value_free(&v);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lone_writer_always, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lone_writer_no, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_group_keeps_backend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_direct_fsync_eio, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
