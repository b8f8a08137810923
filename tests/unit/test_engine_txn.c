/*
 * test_engine_txn.c — atomic groups (chalk_group_begin/end: what the
 * server's EXEC runs in) and the embedded transaction (chalk_txn_*).
 *
 * Groups: one seq and one COMMIT for the whole group (read back from the
 * segment file); later writes see earlier ones; a crash cut at EVERY byte of
 * the group recovers all of it or none of it; chalk_sync inside a group does
 * not put its bytes on disk; the segment does not roll inside a group;
 * chalk_close commits an open group.
 * Txns: read-your-writes, commit as one batch, abort, and the conflict rule
 * (a key read, then written / deleted / created / expired by someone else
 * → CHALK_ECONFLICT and nothing written; blind writes never conflict).
 */
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
#include "dbopen.h"
#include "record.h"
#include "testdir.h"

static chalk_db *open_db(const char *dir, uint64_t segsize)
{
    chalk_options o;
    test_options(&o, CHALK_FSYNC_ALWAYS);
    o.io = CHALK_IO_PSYNC;
    o.compact_dead_ratio = 0;
    if (segsize) o.segment_size = segsize;
    return test_open(dir, &o);
}

static int setup(void **state)
{
    char *dir = malloc(512);
    assert_int_equal(testdir_make(dir, 512, "engine_txn"), 0);
    *state = dir;
    return 0;
}

static int teardown(void **state)
{
    testdir_remove(*state);
    free(*state);
    return 0;
}

/* "" if absent, else the value (static buffer). */
static const char *get_str(chalk_db *db, const char *k)
{
    static char buf[256];
    chalk_value v;
    int rc = chalk_get(db, k, strlen(k), &v);
    if (rc == CHALK_ENOTFOUND) return "";
    assert_int_equal(rc, CHALK_OK);
    snprintf(buf, sizeof buf, "%.*s", (int)v.len, (char *)v.data);
    chalk_value_free(&v);
    return buf;
}

static void put_str(chalk_db *db, const char *k, const char *v)
{
    assert_int_equal(chalk_put(db, k, strlen(k), v, strlen(v), 0), CHALK_OK);
}

/* The only segment file of dir (these tests never roll unless asked). */
static void segment_path(const char *dir, char *out, size_t n)
{
    char **names;
    size_t count;
    assert_int_equal(testdir_list(dir, ".log", &names, &count), 0);
    assert_true(count >= 1);
    snprintf(out, n, "%s/%s", dir, names[count - 1]);
    testdir_free_list(names, count);
}

/* Decode every record of a segment file: their seqs and flags. */
static size_t read_records(const char *path, uint64_t *seqs, uint8_t *flags, size_t max)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static uint8_t buf[1 << 16];
    size_t len = fread(buf, 1, sizeof buf, f), n = 0;
    fclose(f);
    for (size_t off = SEG_HEADER_SIZE; off < len && n < max;) {
        struct record_view rv;
        int64_t sz = record_decode(buf + off, len - off, &rv);
        assert_true(sz > 0);
        seqs[n] = rv.seq;
        flags[n++] = rv.flags;
        off += (size_t)sz;
    }
    return n;
}

static void test_group_is_one_batch(void **state)
{
    const char *dir = *state;
    chalk_db *db = open_db(dir, 0);
    put_str(db, "before", "1");
    assert_int_equal(chalk_group_begin(db), CHALK_OK);
    assert_int_equal(chalk_group_begin(db), CHALK_EBUSY);
    put_str(db, "x", "1");
    assert_string_equal(get_str(db, "x"), "1");          /* later commands see it */
    put_str(db, "x", "2");
    chalk_batch *b = chalk_batch_new();
    chalk_batch_put(b, "y", 1, "3", 1, 0);
    chalk_batch_delete(b, "before", 6);
    assert_int_equal(chalk_write(db, b, NULL, NULL), CHALK_OK);
    assert_int_equal(chalk_group_end(db), CHALK_OK);
    assert_int_equal(chalk_group_end(db), CHALK_EINVAL);
    put_str(db, "after", "4");
    assert_int_equal(chalk_close(db), CHALK_OK);

    char path[600];
    uint64_t seqs[16];
    uint8_t flags[16];
    segment_path(dir, path, sizeof path);
    size_t n = read_records(path, seqs, flags, 16);
    assert_int_equal(n, 6);              /* before | x x y del(before) | after */
    for (size_t i = 1; i <= 4; i++) {
        assert_int_equal(seqs[i], seqs[1]);                 /* one seq */
        assert_int_equal(flags[i] & REC_F_COMMIT, i == 4);  /* one COMMIT */
    }
    assert_true(seqs[0] < seqs[1] && seqs[1] < seqs[5]);
    assert_true(flags[0] & REC_F_COMMIT);
    assert_true(flags[5] & REC_F_COMMIT);

    db = open_db(dir, 0);
    assert_string_equal(get_str(db, "x"), "2");          /* newest of the group */
    assert_string_equal(get_str(db, "y"), "3");
    assert_string_equal(get_str(db, "before"), "");
    assert_string_equal(get_str(db, "after"), "4");
    chalk_batch_free(b);
    chalk_close(db);
}

/* Cut the log at every byte inside the group: all or nothing. */
static void test_group_crash_at_every_byte(void **state)
{
    const char *dir = *state;
    char copy[512], path[600];
    chalk_db *db = open_db(dir, 0);
    put_str(db, "a", "0");
    put_str(db, "b", "0");
    chalk_close(db);
    segment_path(dir, path, sizeof path);
    int64_t start = testdir_file_size(path);
    db = open_db(dir, 0);
    assert_int_equal(chalk_group_begin(db), CHALK_OK);
    put_str(db, "a", "-5");
    put_str(db, "b", "+5");
    put_str(db, "c", "new");
    assert_int_equal(chalk_group_end(db), CHALK_OK);
    chalk_close(db);
    int64_t end = testdir_file_size(path);
    assert_true(end > start);
    assert_int_equal(testdir_make(copy, sizeof copy, "engine_txn_cut"), 0);
    for (int64_t cut = start; cut <= end; cut++) {
        char cpath[600];
        testdir_clear(copy);
        assert_int_equal(testdir_copy(dir, copy), 0);
        segment_path(copy, cpath, sizeof cpath);
        assert_int_equal(testdir_truncate(cpath, (uint64_t)cut), 0);
        db = open_db(copy, 0);
        int all = cut == end;
        assert_string_equal(get_str(db, "a"), all ? "-5" : "0");
        assert_string_equal(get_str(db, "b"), all ? "+5" : "0");
        assert_string_equal(get_str(db, "c"), all ? "new" : "");
        chalk_close(db);
    }
    testdir_remove(copy);
}

/* chalk_sync inside a group leaves the group's bytes in memory; a roll is
 * postponed until the group ends. Sizes are where the records end (under
 * ALWAYS the log writes zeros ahead of its tail: log.c, group_prezero). */
static void test_group_holds_bytes_and_roll(void **state)
{
    const char *dir = *state;
    char path[600], val[1024];
    memset(val, 'v', sizeof val);
    chalk_db *db = open_db(dir, 4096);
    put_str(db, "k0", "x");
    assert_int_equal(chalk_sync(db), CHALK_OK);
    segment_path(dir, path, sizeof path);
    int64_t before = testdir_nonzero_size(path);
    assert_int_equal(chalk_group_begin(db), CHALK_OK);
    for (int i = 0; i < 10; i++) {      /* ~10 KiB: over the 4 KiB segment */
        char k[16];
        snprintf(k, sizeof k, "g%d", i);
        assert_int_equal(chalk_put(db, k, strlen(k), val, sizeof val, 0), CHALK_OK);
    }
    assert_int_equal(chalk_sync(db), CHALK_OK);
    assert_int_equal(testdir_nonzero_size(path), before);   /* nothing of it on disk */
    char again[600];
    segment_path(dir, again, sizeof again);
    assert_string_equal(again, path);                    /* no roll */
    assert_int_equal(chalk_group_end(db), CHALK_OK);
    assert_int_equal(chalk_sync(db), CHALK_OK);
    assert_true(testdir_nonzero_size(path) > before + 10 * 1024);
    put_str(db, "after", "y");                           /* now it rolls */
    chalk_close(db);
    segment_path(dir, again, sizeof again);
    assert_string_not_equal(again, path);
    db = open_db(dir, 4096);
    for (int i = 0; i < 10; i++) {
        char k[16];
        snprintf(k, sizeof k, "g%d", i);
        assert_int_equal(chalk_exists(db, k, strlen(k)), 1);
    }
    assert_string_equal(get_str(db, "after"), "y");
    chalk_close(db);
}

static void test_empty_group(void **state)
{
    chalk_db *db = open_db(*state, 0);
    assert_int_equal(chalk_group_begin(db), CHALK_OK);
    assert_int_equal(chalk_group_end(db), CHALK_OK);
    put_str(db, "k", "v");
    chalk_close(db);
    db = open_db(*state, 0);
    assert_string_equal(get_str(db, "k"), "v");
    chalk_close(db);
}

/* chalk_close with a group open commits it first (DEBUG RELOAD in EXEC). */
static void test_close_ends_group(void **state)
{
    chalk_db *db = open_db(*state, 0);
    assert_int_equal(chalk_group_begin(db), CHALK_OK);
    put_str(db, "a", "1");
    put_str(db, "b", "2");
    assert_int_equal(chalk_close(db), CHALK_OK);
    db = open_db(*state, 0);
    assert_string_equal(get_str(db, "a"), "1");
    assert_string_equal(get_str(db, "b"), "2");
    assert_int_equal(chalk_group_begin(db), CHALK_OK);   /* not left open */
    assert_int_equal(chalk_group_end(db), CHALK_OK);
    chalk_close(db);
}

static const char *txn_str(chalk_txn *t, const char *k)
{
    static char buf[256];
    chalk_value v;
    int rc = chalk_txn_get(t, k, strlen(k), &v);
    if (rc == CHALK_ENOTFOUND) return "";
    assert_int_equal(rc, CHALK_OK);
    snprintf(buf, sizeof buf, "%.*s", (int)v.len, (char *)v.data);
    chalk_value_free(&v);
    return buf;
}

static void test_txn_read_your_writes_and_commit(void **state)
{
    chalk_db *db = open_db(*state, 0);
    put_str(db, "a", "10");
    put_str(db, "gone", "x");
    chalk_txn *t;
    assert_int_equal(chalk_txn_begin(db, &t), CHALK_OK);
    assert_string_equal(txn_str(t, "a"), "10");
    assert_int_equal(chalk_txn_put(t, "a", 1, "7", 1, 0), CHALK_OK);
    assert_int_equal(chalk_txn_put(t, "b", 1, "3", 1, 0), CHALK_OK);
    assert_int_equal(chalk_txn_delete(t, "gone", 4), CHALK_OK);
    assert_string_equal(txn_str(t, "a"), "7");           /* its own write */
    assert_string_equal(txn_str(t, "gone"), "");         /* its own delete */
    assert_string_equal(get_str(db, "a"), "10");         /* nobody else sees it */
    assert_string_equal(get_str(db, "b"), "");
    assert_int_equal(chalk_txn_commit(t, NULL, NULL), CHALK_OK);
    assert_string_equal(get_str(db, "a"), "7");
    assert_string_equal(get_str(db, "b"), "3");
    assert_string_equal(get_str(db, "gone"), "");
    chalk_close(db);

    char path[600];                                      /* one batch on disk */
    uint64_t seqs[16];
    uint8_t flags[16];
    segment_path(*state, path, sizeof path);
    size_t n = read_records(path, seqs, flags, 16);
    assert_int_equal(n, 5);
    assert_int_equal(seqs[2], seqs[4]);
    assert_int_equal(flags[2] | flags[3], 0);
    assert_int_equal(flags[4], REC_F_COMMIT);
}

static void test_txn_abort(void **state)
{
    chalk_db *db = open_db(*state, 0);
    chalk_txn *t;
    assert_int_equal(chalk_txn_begin(db, &t), CHALK_OK);
    chalk_txn_put(t, "a", 1, "1", 1, 0);
    chalk_txn_abort(t);
    chalk_txn_abort(NULL);
    assert_string_equal(get_str(db, "a"), "");
    chalk_close(db);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum change { CH_PUT, CH_DELETE, CH_CREATE, CH_EXPIRE, CH_NONE, CH_OTHER_KEY };

/* The txn reads "k", someone changes it, the txn writes "out" and commits. */
static int conflict_case(chalk_db *db, enum change ch)
{
    chalk_delete(db, "k", 1);
    chalk_delete(db, "out", 3);
    if (ch != CH_CREATE) {
        int64_t exp = ch == CH_EXPIRE ? now_ms() + 150 : 0;
        assert_int_equal(chalk_put(db, "k", 1, "v", 1, exp), CHALK_OK);
    }
    chalk_txn *t;
    chalk_value v;
    assert_int_equal(chalk_txn_begin(db, &t), CHALK_OK);
    int rc = chalk_txn_get(t, "k", 1, &v);
    assert_int_equal(rc, ch == CH_CREATE ? CHALK_ENOTFOUND : CHALK_OK);
    chalk_value_free(&v);
    chalk_txn_put(t, "out", 3, "done", 4, 0);
    switch (ch) {
    case CH_PUT:    put_str(db, "k", "v"); break;                  /* same bytes */
    case CH_DELETE: chalk_delete(db, "k", 1); break;
    case CH_CREATE: put_str(db, "k", "new"); break;
    case CH_EXPIRE: usleep(400 * 1000); break;
    case CH_NONE:   break;
    case CH_OTHER_KEY: put_str(db, "other", "x"); break;
    }
    rc = chalk_txn_commit(t, NULL, NULL);
    assert_int_equal(chalk_exists(db, "out", 3), rc == CHALK_OK);  /* nothing on conflict */
    return rc;
}

static void test_txn_conflicts(void **state)
{
    chalk_db *db = open_db(*state, 0);
    assert_int_equal(conflict_case(db, CH_PUT), CHALK_ECONFLICT);
    assert_int_equal(conflict_case(db, CH_DELETE), CHALK_ECONFLICT);
    assert_int_equal(conflict_case(db, CH_CREATE), CHALK_ECONFLICT);
    assert_int_equal(conflict_case(db, CH_EXPIRE), CHALK_ECONFLICT);
    assert_int_equal(conflict_case(db, CH_NONE), CHALK_OK);
    assert_int_equal(conflict_case(db, CH_OTHER_KEY), CHALK_OK);
    assert_string_equal(chalk_strerror(CHALK_ECONFLICT),
                        "transaction conflict: a key it read has changed");
    chalk_close(db);
}

/* A blind write (never read) does not conflict, and the last writer wins. */
static void test_txn_blind_write(void **state)
{
    chalk_db *db = open_db(*state, 0);
    chalk_txn *t;
    assert_int_equal(chalk_txn_begin(db, &t), CHALK_OK);
    chalk_txn_put(t, "k", 1, "txn", 3, 0);
    put_str(db, "k", "other");
    assert_int_equal(chalk_txn_commit(t, NULL, NULL), CHALK_OK);
    assert_string_equal(get_str(db, "k"), "txn");
    chalk_close(db);
}

/* Transfer in a loop of txns interleaved with a conflicting writer: the
 * retry loop of docs/transactions.md conserves the total. */
static void test_txn_transfer_retry(void **state)
{
    chalk_db *db = open_db(*state, 0);
    put_str(db, "acct:a", "100");
    put_str(db, "acct:b", "100");
    int conflicts = 0;
    for (int i = 0; i < 200; i++) {
        for (int attempt = 0;; attempt++) {
            chalk_txn *t;
            assert_int_equal(chalk_txn_begin(db, &t), CHALK_OK);
            long a = atol(txn_str(t, "acct:a")), b = atol(txn_str(t, "acct:b"));
            if (i % 7 == 0 && attempt == 0) {   /* another writer sneaks in */
                char s[32];
                snprintf(s, sizeof s, "%ld", a);
                put_str(db, "acct:a", s);         /* same value, new version */
            }
            char sa[32], sb[32];
            snprintf(sa, sizeof sa, "%ld", a - 1);
            snprintf(sb, sizeof sb, "%ld", b + 1);
            chalk_txn_put(t, "acct:a", 6, sa, strlen(sa), 0);
            chalk_txn_put(t, "acct:b", 6, sb, strlen(sb), 0);
            int rc = chalk_txn_commit(t, NULL, NULL);
            if (rc == CHALK_OK) break;
            assert_int_equal(rc, CHALK_ECONFLICT);
            conflicts++;
        }
    }
    assert_int_equal(conflicts, 29);
    assert_string_equal(get_str(db, "acct:a"), "-100");
    assert_string_equal(get_str(db, "acct:b"), "300");
    chalk_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_group_is_one_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_crash_at_every_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_holds_bytes_and_roll, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_ends_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_read_your_writes_and_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_abort, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_conflicts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_blind_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_txn_transfer_retry, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
