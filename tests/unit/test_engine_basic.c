/*
 * test_engine_basic.c — the engine's contract, run once per I/O path
 * (io_uring and pwrite+fdatasync): put/get/delete/exists with empty, binary
 * and 1+ MiB keys and values; expiry; reopen; a second open is refused; an
 * unknown segment version is refused; group commit (callbacks through
 * chalk_event_fd + chalk_poll, durable after reopen); segment roll-over;
 * ordered iteration and snapshots; prepared keys (hashed once), for
 * lookups, puts and deletes; the record prefetch hint; the log's group
 * buffer reused; the event fd's timer consumed by chalk_poll.
 */
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "chalk/engine.h"
#include "db.h"
#include "dbopen.h"
#include "record.h"
#include "testdir.h"

struct fixture {
    enum chalk_io io;
    char dir[512];
};

static chalk_db *open_db(struct fixture *f, enum chalk_fsync fs, uint64_t segsize)
{
    chalk_options o;
    test_options(&o, fs);
    o.io = f->io;
    if (segsize) o.segment_size = segsize;
    chalk_db *db = test_open(f->dir, &o);
    chalk_stats st;
    chalk_stats_get(db, &st);
    assert_string_equal(st.io_path, f->io == CHALK_IO_URING ? "io_uring" : "pwrite+fdatasync");
    return db;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->io = *(enum chalk_io *)*state;
    assert_int_equal(testdir_make(f->dir, sizeof f->dir, "engine_basic"), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    testdir_remove(f->dir);
    free(f);
    return 0;
}

static void check_value(chalk_db *db, const void *k, size_t kl, const void *v, size_t vl)
{
    chalk_value val;
    assert_int_equal(chalk_get(db, k, kl, &val), CHALK_OK);
    assert_int_equal(val.len, vl);
    if (vl) assert_memory_equal(val.data, v, vl);
    assert_int_equal(((char *)val.data)[vl], 0);
    chalk_value_free(&val);
}

static void test_put_get_delete(void **state)
{
    struct fixture *f = *state;
    chalk_db *db = open_db(f, CHALK_FSYNC_NO, 0);
    size_t big = (1u << 20) + 3;
    uint8_t *bigv = malloc(big);
    for (size_t i = 0; i < big; i++) bigv[i] = (uint8_t)(i * 7);
    assert_int_equal(chalk_put(db, "a", 1, "1", 1, 0), CHALK_OK);
    assert_int_equal(chalk_put(db, "", 0, "empty key", 9, 0), CHALK_OK);
    assert_int_equal(chalk_put(db, "e", 1, "", 0, 0), CHALK_OK);
    assert_int_equal(chalk_put(db, "b\0in", 4, "\0\1\2", 3, 0), CHALK_OK);
    assert_int_equal(chalk_put(db, "big", 3, bigv, big, 0), CHALK_OK);
    assert_int_equal(chalk_put(db, "a", 1, "2", 1, 0), CHALK_OK);      /* overwrite */
    assert_int_equal(chalk_count(db), 5);
    for (int round = 0; round < 2; round++) {   /* before and after a reopen */
        check_value(db, "a", 1, "2", 1);
        check_value(db, "", 0, "empty key", 9);
        check_value(db, "e", 1, "", 0);
        check_value(db, "b\0in", 4, "\0\1\2", 3);
        check_value(db, "big", 3, bigv, big);
        assert_int_equal(chalk_exists(db, "b\0in", 4), 1);
        assert_int_equal(chalk_exists(db, "b", 1), 0);
        chalk_location loc;
        assert_int_equal(chalk_locate(db, "big", 3, &loc), CHALK_OK);
        assert_int_equal(loc.value_size, big);
        assert_int_equal(chalk_close(db), CHALK_OK);
        db = open_db(f, CHALK_FSYNC_NO, 0);
    }
    /* Over the maximum: refused before the pointer is read. */
    assert_int_equal(chalk_put(db, "k", (size_t)CHALK_MAX_KEY_SIZE + 1, "v", 1, 0), CHALK_ETOOBIG);
    assert_int_equal(chalk_put(db, "k", 1, "v", (size_t)CHALK_MAX_VALUE_SIZE + 1, 0), CHALK_ETOOBIG);
    chalk_batch *tb = chalk_batch_new();
    assert_int_equal(chalk_batch_put(tb, "k", 1, "v", (size_t)CHALK_MAX_VALUE_SIZE + 1, 0), CHALK_ETOOBIG);
    assert_int_equal(chalk_batch_count(tb), 0);
    chalk_batch_free(tb);
    assert_int_equal(chalk_delete(db, "a", 1), CHALK_OK);
    assert_int_equal(chalk_delete(db, "a", 1), CHALK_ENOTFOUND);
    assert_int_equal(chalk_delete(db, "", 0), CHALK_OK);
    chalk_value v;
    assert_int_equal(chalk_get(db, "a", 1, &v), CHALK_ENOTFOUND);
    assert_int_equal(chalk_close(db), CHALK_OK);
    db = open_db(f, CHALK_FSYNC_NO, 0);
    assert_int_equal(chalk_get(db, "a", 1, &v), CHALK_ENOTFOUND);
    assert_int_equal(chalk_get(db, "", 0, &v), CHALK_ENOTFOUND);
    assert_int_equal(chalk_count(db), 3);
    chalk_stats st;
    chalk_stats_get(db, &st);
    assert_true(st.dead_bytes > 0 && st.live_bytes > big);
    assert_int_equal(chalk_close(db), CHALK_OK);
    free(bigv);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void count_key(void *arg, const void *k, size_t kl, int64_t exp) { (*(int *)arg)++; }

static void test_expiry(void **state)
{
    struct fixture *f = *state;
    chalk_db *db = open_db(f, CHALK_FSYNC_NO, 0);
    int64_t now = now_ms();
    assert_int_equal(chalk_put(db, "past", 4, "x", 1, now - 1000), CHALK_OK);
    assert_int_equal(chalk_put(db, "future", 6, "y", 1, now + 3600000), CHALK_OK);
    assert_int_equal(chalk_put(db, "never", 5, "z", 1, 0), CHALK_OK);
    for (int round = 0; round < 2; round++) {
        chalk_value v;
        int64_t exp;
        assert_int_equal(chalk_get(db, "past", 4, &v), CHALK_ENOTFOUND);
        assert_int_equal(chalk_exists(db, "past", 4), 0);
        assert_int_equal(chalk_get(db, "future", 6, &v), CHALK_OK);
        assert_int_equal(v.expire_at_ms, now + 3600000);
        chalk_value_free(&v);
        assert_int_equal(chalk_get_expiry(db, "future", 6, &exp), CHALK_OK);
        assert_int_equal(exp, now + 3600000);
        assert_int_equal(chalk_get_expiry(db, "never", 5, &exp), CHALK_OK);
        assert_int_equal(exp, 0);
        assert_int_equal(chalk_count(db), 3);   /* DBSIZE counts it until removed */
        int n = 0;
        assert_int_equal(chalk_expire_sample(db, now, 20, count_key, &n), 1);
        assert_int_equal(n, 1);
        chalk_stats st;
        chalk_stats_get(db, &st);
        assert_int_equal(st.keys_with_expiry, 2);
        assert_int_equal(chalk_close(db), CHALK_OK);
        db = open_db(f, CHALK_FSYNC_NO, 0);
    }
    /* Overwriting without expiry removes it from the expiry set. */
    assert_int_equal(chalk_put(db, "future", 6, "y", 1, 0), CHALK_OK);
    chalk_stats st;
    chalk_stats_get(db, &st);
    assert_int_equal(st.keys_with_expiry, 1);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

static void test_second_open_locked(void **state)
{
    struct fixture *f = *state;
    chalk_db *db = open_db(f, CHALK_FSYNC_NO, 0), *db2 = NULL;
    chalk_options o;
    chalk_options_init(&o);
    o.io = f->io;
    o.log = test_quiet_log;
    assert_int_equal(chalk_open(f->dir, &o, &db2), CHALK_ELOCKED);
    assert_null(db2);
    assert_int_equal(chalk_close(db), CHALK_OK);
    assert_int_equal(chalk_open(f->dir, &o, &db2), CHALK_OK);   /* released */
    assert_int_equal(chalk_close(db2), CHALK_OK);
}

static void test_unknown_version_refused(void **state)
{
    struct fixture *f = *state;
    char path[700];
    uint8_t h[SEG_HEADER_SIZE];
    seg_header_encode(h, 1, 0);
    put_le32(h + 8, SEG_VERSION + 1);
    put_le32(h + 28, (uint32_t)record_checksum(h, 28));
    snprintf(path, sizeof path, "%s/0000000001.log", f->dir);
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, h, sizeof h), (ssize_t)sizeof h);
    close(fd);
    chalk_options o;
    chalk_options_init(&o);
    o.io = f->io;
    o.log = test_quiet_log;
    chalk_db *db = NULL;
    assert_int_equal(chalk_open(f->dir, &o, &db), CHALK_EVERSION);
    assert_null(db);
}

struct cb_count { int ok, fail, calls; };
static void commit_cb(void *arg, int status)
{
    struct cb_count *c = arg;
    c->calls++;
    if (status == CHALK_OK) c->ok++; else c->fail++;
}

static void test_group_commit(void **state)
{
    struct fixture *f = *state;
    chalk_db *db = open_db(f, CHALK_FSYNC_ALWAYS, 0);
    chalk_batch *b = chalk_batch_new();
    struct cb_count c = { 0 };
    enum { N = 2000 };
    for (int i = 0; i < N; i++) {
        char k[32], v[32];
        int kl = snprintf(k, sizeof k, "key%05d", i), vl = snprintf(v, sizeof v, "val%d", i);
        chalk_batch_clear(b);
        assert_int_equal(chalk_batch_put(b, k, (size_t)kl, v, (size_t)vl, 0), CHALK_OK);
        if (i % 3 == 0) assert_int_equal(chalk_batch_delete(b, "nokey", 5), CHALK_OK);
        assert_int_equal(chalk_write(db, b, commit_cb, &c), CHALK_OK);
        /* Readable at once, before it is durable. */
        if (i % 500 == 0) check_value(db, k, (size_t)kl, v, (size_t)vl);
        if (i % 100 == 99) assert_int_equal(chalk_flush(db), CHALK_OK);
    }
    assert_int_equal(chalk_flush(db), CHALK_OK);
    struct pollfd p = { .fd = chalk_event_fd(db), .events = POLLIN };
    for (int spins = 0; c.calls < N && spins < 10000; spins++) {
        poll(&p, 1, 1000);
        int n = chalk_poll(db);
        assert_true(n >= 0);
        chalk_flush(db);
    }
    assert_int_equal(c.ok, N);
    assert_int_equal(c.fail, 0);
    chalk_stats st;
    chalk_stats_get(db, &st);
    assert_true(st.fsyncs >= 1);
    assert_true(st.fsyncs < N);    /* grouped: fewer fsyncs than batches */
    assert_int_equal(chalk_close(db), CHALK_OK);
    chalk_batch_free(b);
    db = open_db(f, CHALK_FSYNC_ALWAYS, 0);
    assert_int_equal(chalk_count(db), N);
    check_value(db, "key01999", 8, "val1999", 7);
    /* chalk_write_sync: durable on return. */
    b = chalk_batch_new();
    chalk_batch_put(b, "s", 1, "sync", 4, 0);
    assert_int_equal(chalk_write_sync(db, b), CHALK_OK);
    chalk_batch_free(b);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

static void test_roll_over(void **state)
{
    struct fixture *f = *state;
    chalk_db *db = open_db(f, CHALK_FSYNC_NO, 4096);
    char v[300];
    memset(v, 'v', sizeof v);
    for (int i = 0; i < 200; i++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "k%d", i);
        assert_int_equal(chalk_put(db, k, (size_t)kl, v, sizeof v, 0), CHALK_OK);
    }
    uint8_t *huge = calloc(1, 10000);   /* bigger than a segment: one of its own */
    assert_int_equal(chalk_put(db, "huge", 4, huge, 10000, 0), CHALK_OK);
    chalk_stats st;
    chalk_stats_get(db, &st);
    assert_true(st.segments > 10);
    assert_int_equal(chalk_close(db), CHALK_OK);
    db = open_db(f, CHALK_FSYNC_NO, 4096);
    assert_int_equal(chalk_count(db), 201);
    check_value(db, "k0", 2, v, sizeof v);
    check_value(db, "k199", 4, v, sizeof v);
    check_value(db, "huge", 4, huge, 10000);
    assert_int_equal(chalk_close(db), CHALK_OK);
    free(huge);
}

static void test_iteration_and_snapshot(void **state)
{
    struct fixture *f = *state;
    chalk_db *db = open_db(f, CHALK_FSYNC_NO, 0);
    const char *keys[] = { "b", "a", "ab", "c", "", "abc" };
    for (int i = 0; i < 6; i++)
        assert_int_equal(chalk_put(db, keys[i], strlen(keys[i]), "v1", 2, 0), CHALK_OK);
    chalk_put(db, "x", 1, "gone", 4, now_ms() - 1);    /* expired: skipped */
    chalk_snapshot *snap;
    assert_int_equal(chalk_snapshot_acquire(db, &snap), CHALK_OK);
    /* Changes after the snapshot. */
    chalk_put(db, "a", 1, "v2", 2, 0);
    chalk_delete(db, "c", 1);
    chalk_put(db, "d", 1, "new", 3, 0);
    const char *live_order[] = { "", "a", "ab", "abc", "b", "d" };
    const char *snap_order[] = { "", "a", "ab", "abc", "b", "c" };
    for (int pass = 0; pass < 2; pass++) {
        chalk_iter *it = chalk_iter_new(db, pass ? snap : NULL);
        const char **want = pass ? snap_order : live_order;
        int n = 0;
        for (chalk_iter_seek_first(it); chalk_iter_valid(it); chalk_iter_next(it), n++) {
            size_t kl;
            const void *k = chalk_iter_key(it, &kl);
            assert_true(n < 6);
            assert_int_equal(kl, strlen(want[n]));
            assert_memory_equal(k, want[n], kl);
            chalk_value v;
            assert_int_equal(chalk_iter_value(it, &v), CHALK_OK);
            const char *expect = !strcmp(want[n], "a") && !pass ? "v2" : !strcmp(want[n], "d") ? "new" : "v1";
            assert_int_equal(v.len, strlen(expect));
            assert_memory_equal(v.data, expect, v.len);
            chalk_value_free(&v);
        }
        assert_int_equal(n, 6);
        assert_int_equal(chalk_iter_status(it), CHALK_OK);
        chalk_iter_seek(it, "ab", 2);   /* seek: first key >= "ab" */
        size_t kl;
        assert_true(chalk_iter_valid(it));
        assert_memory_equal(chalk_iter_key(it, &kl), "ab", 2);
        chalk_iter_free(it);
    }
    /* A live iterator survives writes under it. */
    chalk_iter *it = chalk_iter_new(db, NULL);
    int n = 0;
    for (chalk_iter_seek_first(it); chalk_iter_valid(it); chalk_iter_next(it), n++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "zz%d", n);
        chalk_put(db, k, (size_t)kl, "w", 1, 0);
        assert_true(n < 1000);
    }
    chalk_iter_free(it);
    chalk_snapshot_release(db, snap);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

struct seen { int n; char hit[64]; };
static void scan_cb(void *arg, const void *k, size_t kl, int64_t exp)
{
    struct seen *s = arg;
    int i = 0;
    for (size_t j = 1; j < kl; j++) i = i * 10 + (((const char *)k)[j] - '0');
    s->n++;
    s->hit[i] = 1;
}

static void test_scan_and_random_key(void **state)
{
    struct fixture *f = *state;
    chalk_db *db = open_db(f, CHALK_FSYNC_NO, 0);
    chalk_value v;
    assert_int_equal(chalk_random_key(db, &v), CHALK_ENOTFOUND);
    for (int i = 0; i < 64; i++) {
        char k[8];
        int kl = snprintf(k, sizeof k, "s%d", i);
        assert_int_equal(chalk_put(db, k, (size_t)kl, "v", 1, 0), CHALK_OK);
    }
    struct seen s = { 0 };
    uint64_t cur = 0;
    int calls = 0;
    do { cur = chalk_scan(db, cur, 5, scan_cb, &s); calls++; } while (cur != 0 && calls < 1000);
    assert_true(calls > 1);                     /* the cursor really paged */
    for (int i = 0; i < 64; i++) assert_int_equal(s.hit[i], 1);
    assert_true(s.n >= 64);
    assert_int_equal(chalk_random_key(db, &v), CHALK_OK);
    assert_true(v.len >= 2 && ((char *)v.data)[0] == 's');
    chalk_value_free(&v);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

/* EVERYSEC: with the caller polling its event fd, an fdatasync happens
 * within about a second without any chalk_flush/chalk_sync. */
static void test_everysec_tick(void **state)
{
    struct fixture *f = *state;
    chalk_db *db = open_db(f, CHALK_FSYNC_EVERYSEC, 0);
    chalk_stats st;
    chalk_stats_get(db, &st);
    uint64_t before = st.fsyncs;
    assert_int_equal(chalk_put(db, "k", 1, "v", 1, 0), CHALK_OK);
    struct pollfd p = { .fd = chalk_event_fd(db), .events = POLLIN };
    for (int i = 0; i < 50 && st.fsyncs == before; i++) {   /* up to ~5 s */
        poll(&p, 1, 100);
        chalk_poll(db);
        chalk_stats_get(db, &st);
    }
    assert_true(st.fsyncs > before);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

/* The 1 Hz timer behind chalk_event_fd fires under every policy (the
 * compaction trigger); chalk_poll skips reading it until its next expiry
 * is due, but must consume each expiry, or the event fd stays readable
 * and the caller's loop spins: three ticks in a row, each seen and then
 * gone after one chalk_poll. */
static void test_timer_consumed(void **state)
{
    struct fixture *f = *state;
    chalk_db *db = open_db(f, CHALK_FSYNC_NO, 0);
    struct pollfd p = { .fd = chalk_event_fd(db), .events = POLLIN };
    for (int tick = 0; tick < 3; tick++) {
        assert_int_equal(poll(&p, 1, 3000), 1);      /* the timer fired */
        assert_int_equal(chalk_poll(db), 0);
        assert_int_equal(poll(&p, 1, 0), 0);         /* and was consumed */
    }
    assert_int_equal(chalk_close(db), CHALK_OK);
}

/* compact_dead_ratio: overwriting everything makes the sealed segments
 * mostly dead; chalk_poll starts a compaction on its own. */
static void test_dead_ratio_triggers_compaction(void **state)
{
    struct fixture *f = *state;
    chalk_options o;
    test_options(&o, CHALK_FSYNC_NO);
    o.io = f->io;
    o.segment_size = 4096;
    o.compact_dead_ratio = 0.5;
    chalk_db *db;
    assert_int_equal(chalk_open(f->dir, &o, &db), CHALK_OK);
    char v[100];
    memset(v, 'v', sizeof v);
    for (int round = 0; round < 4; round++)
        for (int i = 0; i < 100; i++) {
            char k[8];
            int kl = snprintf(k, sizeof k, "d%d", i);
            assert_int_equal(chalk_put(db, k, (size_t)kl, v, sizeof v, 0), CHALK_OK);
        }
    chalk_stats st;
    chalk_stats_get(db, &st);
    assert_true(st.dead_bytes > st.live_bytes);
    chalk_poll(db);                          /* the trigger */
    assert_int_equal(chalk_compact_wait(db), CHALK_OK);
    chalk_poll(db);
    chalk_stats_get(db, &st);
    assert_int_equal(st.compactions, 1);
    assert_true(st.dead_bytes < st.live_bytes);
    assert_int_equal(chalk_count(db), 100);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

/* A 40 MiB value in 16 MiB segments: a record bigger than a segment gets
 * one of its own, is read back through the mapping, survives a compaction
 * (which writes records over its 1 MiB buffer directly) and a reopen. */
static void test_big_value_through_compaction(void **state)
{
    struct fixture *f = *state;
    size_t big = 40u << 20;
    uint8_t *v = malloc(big);
    for (size_t i = 0; i < big; i++) v[i] = (uint8_t)(i * 131 + (i >> 20));
    chalk_db *db = open_db(f, CHALK_FSYNC_NO, 16u << 20);
    assert_int_equal(chalk_put(db, "small", 5, "s", 1, 0), CHALK_OK);
    assert_int_equal(chalk_put(db, "big", 3, v, big, 0), CHALK_OK);
    assert_int_equal(chalk_put(db, "after", 5, "a", 1, 0), CHALK_OK);   /* seals big's segment */
    assert_int_equal(chalk_put(db, "small", 5, "S", 1, 0), CHALK_OK);   /* dead bytes */
    check_value(db, "big", 3, v, big);
    assert_int_equal(chalk_compact(db), CHALK_OK);
    assert_int_equal(chalk_compact_wait(db), CHALK_OK);
    check_value(db, "big", 3, v, big);
    assert_int_equal(chalk_close(db), CHALK_OK);
    db = open_db(f, CHALK_FSYNC_NO, 16u << 20);
    check_value(db, "big", 3, v, big);
    check_value(db, "small", 5, "S", 1);
    check_value(db, "after", 5, "a", 1);
    chalk_stats st;
    chalk_stats_get(db, &st);
    assert_int_equal(st.compactions, 0);      /* a new handle's counter */
    assert_int_equal(chalk_close(db), CHALK_OK);
    free(v);
}

/* Memory per key, measured (docs/engine.md quotes it): 100k keys of 16
 * bytes. The bound is generous; the printed figure is the lesson. */
static void test_memory_per_key(void **state)
{
    struct fixture *f = *state;
    chalk_db *db = open_db(f, CHALK_FSYNC_NO, 0);
    enum { N = 100000 };
    char k[17], v[100];
    memset(v, 'v', sizeof v);
    for (int i = 0; i < N; i++) {
        snprintf(k, sizeof k, "key%013d", i);
        assert_int_equal(chalk_put(db, k, 16, v, sizeof v, 0), CHALK_OK);
    }
    chalk_stats st;
    chalk_stats_get(db, &st);
    double per_key = (double)st.index_memory_bytes / (double)st.keys;
    printf("memory per 16-byte key: %.1f bytes (index_memory_bytes %llu for %llu keys)\n",
           per_key, (unsigned long long)st.index_memory_bytes, (unsigned long long)st.keys);
    assert_int_equal(st.keys, N);
    assert_true(per_key > 16 + 40 && per_key < 200);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

/* Prepared keys (chalk_key_prepare): the lookup and the put that reuse
 * the key's hash agree with the plain calls, in a batch that mixes both
 * kinds and holds more operations than the write path hashes ahead, before
 * and after a reopen; an expired key is invisible to them too. */
static void test_prepared_keys(void **state)
{
    struct fixture *f = *state;
    chalk_db *db = open_db(f, CHALK_FSYNC_NO, 0);
    enum { N = 20 };
    char key[N][16];
    chalk_key k[N];
    chalk_value v;
    chalk_batch *b = chalk_batch_new();
    assert_non_null(b);
    for (int i = 0; i < N; i++) {
        size_t len = (size_t)snprintf(key[i], sizeof key[i], "pk:%d", i);
        chalk_key_prepare(db, &k[i], key[i], len);
        assert_int_equal(chalk_exists_prepared(db, &k[i]), 0);
        assert_int_equal(chalk_get_prepared(db, &k[i], &v), CHALK_ENOTFOUND);
        if (i % 2)
            assert_int_equal(chalk_batch_put_prepared(b, &k[i], key[i], len, 0), CHALK_OK);
        else
            assert_int_equal(chalk_batch_put(b, key[i], len, key[i], len, 0), CHALK_OK);
    }
    assert_int_equal(chalk_write_sync(db, b), CHALK_OK);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            assert_int_equal(chalk_exists_prepared(db, &k[i]), 1);
            assert_int_equal(chalk_get_prepared(db, &k[i], &v), CHALK_OK);
            assert_int_equal(v.len, k[i].klen);
            assert_memory_equal(v.data, key[i], v.len);
            chalk_value_free(&v);
            /* the plain lookup finds what the prepared put indexed */
            assert_int_equal(chalk_get(db, key[i], k[i].klen, &v), CHALK_OK);
            chalk_value_free(&v);
            chalk_location loc, ploc;
            assert_int_equal(chalk_locate(db, key[i], k[i].klen, &loc), CHALK_OK);
            assert_int_equal(chalk_locate_prepared(db, &k[i], &ploc), CHALK_OK);
            assert_int_equal(ploc.segment_id, loc.segment_id);
            assert_int_equal(ploc.offset, loc.offset);
            assert_int_equal(ploc.record_size, loc.record_size);
            assert_int_equal(ploc.value_size, k[i].klen);
        }
        assert_int_equal(chalk_close(db), CHALK_OK);
        db = open_db(f, CHALK_FSYNC_NO, 0);     /* a chalk_key outlives its handle */
    }
    chalk_key gone;
    assert_int_equal(chalk_put(db, "gone", 4, "x", 1, now_ms() - 1000), CHALK_OK);
    chalk_key_prepare(db, &gone, "gone", 4);
    assert_int_equal(chalk_exists_prepared(db, &gone), 0);
    assert_int_equal(chalk_get_prepared(db, &gone, &v), CHALK_ENOTFOUND);
    chalk_location loc;
    assert_int_equal(chalk_locate_prepared(db, &gone, &loc), CHALK_ENOTFOUND);   /* expired */
    chalk_key absent;
    chalk_key_prepare(db, &absent, "absent", 6);
    assert_int_equal(chalk_locate_prepared(db, &absent, &loc), CHALK_ENOTFOUND);
    chalk_batch_free(b);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

/* chalk_batch_delete_prepared deletes exactly as chalk_batch_delete: a
 * present key (also one put earlier in the same batch), an absent one (a
 * tombstone all the same), then a put of the same key later in the batch
 * wins. Fails if the delete uses another hash than the key's (it misses
 * the entry), is not a delete, or writes no tombstone (the key comes back
 * after the reopen). */
static void test_delete_prepared(void **state)
{
    struct fixture *f = *state;
    chalk_db *db = open_db(f, CHALK_FSYNC_NO, 0);
    enum { N = 8 };
    char key[N][16];
    chalk_key k[N];
    for (int i = 0; i < N; i++) {
        size_t len = (size_t)snprintf(key[i], sizeof key[i], "dk:%d", i);
        assert_int_equal(chalk_put(db, key[i], len, "old", 3, 0), CHALK_OK);
        chalk_key_prepare(db, &k[i], key[i], len);
    }
    chalk_key fresh, never;
    chalk_key_prepare(db, &fresh, "fresh", 5);
    chalk_key_prepare(db, &never, "never", 5);
    chalk_batch *b = chalk_batch_new();
    assert_non_null(b);
    for (int i = 0; i < N; i += 2)            /* even keys: deleted */
        assert_int_equal(chalk_batch_delete_prepared(b, &k[i]), CHALK_OK);
    assert_int_equal(chalk_batch_put_prepared(b, &fresh, "f", 1, 0), CHALK_OK);
    assert_int_equal(chalk_batch_delete_prepared(b, &fresh), CHALK_OK);
    assert_int_equal(chalk_batch_delete_prepared(b, &never), CHALK_OK);
    assert_int_equal(chalk_batch_put_prepared(b, &k[2], "new", 3, 0), CHALK_OK);
    assert_int_equal(chalk_batch_count(b), N / 2 + 4);
    assert_int_equal(chalk_write_sync(db, b), CHALK_OK);
    for (int round = 0; round < 2; round++) {   /* before and after a reopen */
        assert_int_equal(db_check_invariants(db), 0);
        assert_int_equal(chalk_count(db), N / 2 + 1);
        for (int i = 0; i < N; i++) {
            if (i == 2)
                check_value(db, key[i], k[i].klen, "new", 3);
            else if (i % 2)
                check_value(db, key[i], k[i].klen, "old", 3);
            else
                assert_int_equal(chalk_exists(db, key[i], k[i].klen), 0);
        }
        assert_int_equal(chalk_exists(db, "fresh", 5), 0);
        assert_int_equal(chalk_exists(db, "never", 5), 0);
        assert_int_equal(chalk_close(db), CHALK_OK);
        db = open_db(f, CHALK_FSYNC_NO, 0);
    }
    chalk_batch_clear(b);
    assert_int_equal(chalk_batch_delete_prepared(b, &k[1]), CHALK_OK);
    assert_int_equal(chalk_write(db, b, NULL, NULL), CHALK_OK);
    assert_int_equal(chalk_exists_prepared(db, &k[1]), 0);
    assert_int_equal(chalk_count(db), N / 2);
    chalk_batch_free(b);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

/* chalk_key_prefetch_record is a hint only: for keys in sealed, mapped
 * segments, in the active segment below and past its written end (pending
 * in memory: a load there would be a SIGBUS), expired, absent, and after a
 * compaction moved every key and unlinked the old segments, it must neither
 * fault nor change anything. Fails (SIGBUS) if it loads the record instead
 * of prefetching it past the written end (checked); the other cases are
 * for ASan. */
static void test_prefetch_record(void **state)
{
    struct fixture *f = *state;
    chalk_db *db = open_db(f, CHALK_FSYNC_NO, 64u << 10);
    enum { N = 1500 };
    char key[N][16];
    chalk_key k[N], pend, big, gone, absent;
    for (int i = 0; i < N; i++) {             /* ~80 KB: a roll seals the first segment */
        size_t len = (size_t)snprintf(key[i], sizeof key[i], "rk:%d", i);
        assert_int_equal(chalk_put(db, key[i], len, key[i], len, 0), CHALK_OK);
        chalk_key_prepare(db, &k[i], key[i], len);
    }
    assert_int_equal(chalk_sync(db), CHALK_OK);
    check_value(db, key[N - 1], k[N - 1].klen, key[N - 1], k[N - 1].klen);  /* maps the active one */
    chalk_stats st;
    chalk_stats_get(db, &st);
    assert_true(st.segments >= 2);
    size_t bigsz = 24u << 10;                  /* fits the active segment: no roll */
    uint8_t *bigv = calloc(1, bigsz);
    assert_non_null(bigv);
    assert_int_equal(chalk_put(db, "big", 3, bigv, bigsz, 0), CHALK_OK);      /* pending */
    assert_int_equal(chalk_put(db, "pend", 4, "p", 1, 0), CHALK_OK);          /* past the file's end */
    assert_int_equal(chalk_put(db, "gone", 4, "g", 1, now_ms() - 1000), CHALK_OK);
    chalk_key_prepare(db, &big, "big", 3);
    chalk_key_prepare(db, &pend, "pend", 4);
    chalk_key_prepare(db, &gone, "gone", 4);
    chalk_key_prepare(db, &absent, "absent", 6);
    for (int round = 0; round < 2; round++) {   /* before and after a compaction */
        for (int i = 0; i < N; i++)
            chalk_key_prefetch_record(db, &k[i]);
        chalk_key_prefetch_record(db, &big);
        chalk_key_prefetch_record(db, &pend);
        chalk_key_prefetch_record(db, &gone);
        chalk_key_prefetch_record(db, &absent);
        assert_int_equal(db_check_invariants(db), 0);
        assert_int_equal(chalk_count(db), N + 3);   /* the expired key is still indexed */
        for (int i = 0; i < N; i += 37)
            check_value(db, key[i], k[i].klen, key[i], k[i].klen);
        check_value(db, "pend", 4, "p", 1);
        assert_int_equal(chalk_exists_prepared(db, &gone), 0);
        if (round == 0) {
            assert_int_equal(chalk_compact(db), CHALK_OK);
            assert_int_equal(chalk_compact_wait(db), CHALK_OK);
        }
    }
    free(bigv);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

/* The log frees a finished group without callbacks at once and hands its
 * buffer to the next pending group (log.c, group_recycle): after many
 * chalk_puts and no poll, the done list holds only the groups that carry
 * callbacks (still run in order by the poll), and the next group writes
 * into the kept buffer. Values read back from it, before and after a
 * reopen. Fails with the early free removed, and with the buffer not
 * reused (both checked). */
static int cb_order[8], cb_count;
static void order_cb(void *arg, int status)
{
    assert_int_equal(status, CHALK_OK);
    cb_order[cb_count++] = (int)(intptr_t)arg;
}

static void test_log_buffer_reuse(void **state)
{
    struct fixture *f = *state;
    chalk_db *db = open_db(f, CHALK_FSYNC_NO, 0);
    char key[32], val[100];
    chalk_batch *b = chalk_batch_new();
    assert_non_null(b);
    cb_count = 0;
    for (int i = 0; i < 30000; i++) {          /* ~4.4 MB: several 1 MiB groups */
        size_t kl = (size_t)snprintf(key, sizeof key, "lb:%d", i);
        memset(val, 'a' + i % 26, sizeof val);
        assert_int_equal(chalk_put(db, key, kl, val, sizeof val, 0), CHALK_OK);
        if (i % 5000 == 4999) {
            chalk_batch_clear(b);
            assert_int_equal(chalk_batch_put(b, "cb", 2, key, kl, 0), CHALK_OK);
            assert_int_equal(chalk_write(db, b, order_cb, (void *)(intptr_t)(i / 5000)),
                             CHALK_OK);
        }
    }
    log_drain(&db->log);                       /* every group finished, none polled */
    for (const struct log_group *g = db->log.done_head; g; g = g->next)
        assert_true(g->ncbs > 0);
    assert_int_equal(chalk_poll(db), 6);       /* frees the rest, keeping a buffer */
    for (int i = 0; i < 6; i++)
        assert_int_equal(cb_order[i], i);
    const uint8_t *kept = db->log.spare;
    assert_non_null(kept);
    assert_int_equal(chalk_put(db, "next", 4, "n", 1, 0), CHALK_OK);
    assert_ptr_equal(db->log.pending->buf, kept);
    assert_null(db->log.spare);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 30000; i += 997) {
            size_t kl = (size_t)snprintf(key, sizeof key, "lb:%d", i);
            memset(val, 'a' + i % 26, sizeof val);
            check_value(db, key, kl, val, sizeof val);
        }
        check_value(db, "next", 4, "n", 1);
        assert_int_equal(db_check_invariants(db), 0);
        assert_int_equal(chalk_close(db), CHALK_OK);
        db = open_db(f, CHALK_FSYNC_NO, 0);
    }
    chalk_batch_free(b);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

static enum chalk_io io_uring_mode = CHALK_IO_URING, io_psync_mode = CHALK_IO_PSYNC;

#define BOTH(fn) \
    cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, &io_uring_mode), \
    cmocka_unit_test_prestate_setup_teardown(fn, setup, teardown, &io_psync_mode)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_put_get_delete),
        BOTH(test_expiry),
        BOTH(test_prepared_keys),
        BOTH(test_delete_prepared),
        BOTH(test_prefetch_record),
        BOTH(test_log_buffer_reuse),
        BOTH(test_second_open_locked),
        BOTH(test_unknown_version_refused),
        BOTH(test_group_commit),
        BOTH(test_roll_over),
        BOTH(test_iteration_and_snapshot),
        BOTH(test_scan_and_random_key),
        BOTH(test_everysec_tick),
        BOTH(test_timer_consumed),
        BOTH(test_dead_ratio_triggers_compaction),
        BOTH(test_big_value_through_compaction),
        cmocka_unit_test_prestate_setup_teardown(test_memory_per_key, setup, teardown, &io_psync_mode),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
