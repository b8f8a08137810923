/*
 * test_crash_midlog.c — damage in the MIDDLE of the newest segment is
 * reported, never cut silently; a torn tail is still cut (recover.c R4/R5,
 * the rule in segment.h at seg_find_valid_after).
 *
 * What each test proves:
 *
 *   flip_mid_refused     A bit flip in a record of the newest segment with
 *                        valid records after it: open fails with
 *                        CHALK_ECORRUPT, the error line names the file and
 *                        the offset, nothing is cut (a second open refuses
 *                        again). repair=1 opens, logs the cut, keeps every
 *                        record before the flip and drops the rest.
 *   flip_inside_batch    A flip in the 2nd record of a 3-record batch: the
 *                        offset named is the batch's start (where a cut
 *                        would go), and repair drops the batch whole.
 *   header_flip_and_hole A flipped record header (its length unknown) and a
 *                        record overwritten by zeros (what a lost page looks
 *                        like): both refused when valid records follow.
 *   torn_tails_open      A cut inside the last record, garbage or zeros
 *                        after it, a flip in the last record: open succeeds,
 *                        logs "torn tail", counts exactly the bytes dropped.
 *   stale_record_after   A valid record with an OLD seq after garbage is
 *                        not proof the log went on (cut as a torn tail); one
 *                        with a newer seq is (refused).
 *   record_inside_value  A torn last record whose value holds the bytes of
 *                        a valid record: its verified header says where it
 *                        ends, so the record inside it is no proof (cut).
 *   segment_size_minimum chalk_open refuses segment_size < 4096 with
 *                        CHALK_EINVAL (engine.h).
 *
 * Interview topics: storage.recovery (tagged in recover.c and segment.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chalk/engine.h"
#include "record.h"
#include "segment.h"
#include "testdir.h"

#define NKEYS   20            /* one put per batch, key00 .. key19 */
#define BATCH_AT 10           /* plus one 3-record batch after key09 */
#define MAXRECS 32

struct rec { uint64_t off, size, seq; };

struct fx {
    char tmpl[256], dir[256];
    char seg_name[32];         /* the one segment's file name */
    char path[600];            /* that segment in dir */
    struct rec recs[MAXRECS];  /* the template's records, in order */
    size_t nrecs;
    uint64_t size;             /* the template segment's size */
    char log[8192];            /* every line the engine logged at the last open */
};

static void capture(void *arg, enum chalk_log_level level, const char *msg)
{
    struct fx *f = arg;
    size_t n = strlen(f->log);
    snprintf(f->log + n, sizeof f->log - n, "%s\n", msg);
}

static int open_db(struct fx *f, int repair, chalk_db **db)
{
    chalk_options o;
    chalk_options_init(&o);
    o.fsync = CHALK_FSYNC_NO;
    o.compact_dead_ratio = 0;
    o.repair = repair;
    o.log = capture;
    o.log_arg = f;
    f->log[0] = '\0';
    *db = NULL;
    return chalk_open(f->dir, &o, db);
}

static size_t value_of(int i, char *buf)
{
    memset(buf, 'a' + i % 26, 100);
    memcpy(buf, "value-", 6);
    buf[6] = (char)('0' + i / 10);
    buf[7] = (char)('0' + i % 10);
    return 100;
}

/* key00..key09, one batch {b0,b1,b2}, key10..key19; then note every record. */
static void write_template(struct fx *f)
{
    chalk_db *db;
    char key[16], val[100];
    snprintf(f->dir, sizeof f->dir, "%s", f->tmpl);
    assert_int_equal(open_db(f, 0, &db), CHALK_OK);
    for (int i = 0; i < NKEYS; i++) {
        if (i == BATCH_AT) {
            chalk_batch *b = chalk_batch_new();
            assert_int_equal(chalk_batch_put(b, "b0", 2, "x0", 2, 0), CHALK_OK);
            assert_int_equal(chalk_batch_put(b, "b1", 2, "x1", 2, 0), CHALK_OK);
            assert_int_equal(chalk_batch_put(b, "b2", 2, "x2", 2, 0), CHALK_OK);
            assert_int_equal(chalk_write_sync(db, b), CHALK_OK);
            chalk_batch_free(b);
        }
        int kl = snprintf(key, sizeof key, "key%02d", i);
        assert_int_equal(chalk_put(db, key, (size_t)kl, val, value_of(i, val), 0), CHALK_OK);
    }
    assert_int_equal(chalk_close(db), CHALK_OK);
}

static void index_template(struct fx *f)
{
    char **names, path[600];
    size_t count;
    struct seg_reader r;
    struct record_view rv;
    uint64_t off;
    int rc;
    assert_int_equal(testdir_list(f->tmpl, ".log", &names, &count), 0);
    assert_int_equal(count, 1);
    snprintf(f->seg_name, sizeof f->seg_name, "%s", names[0]);
    testdir_free_list(names, count);
    snprintf(path, sizeof path, "%s/%s", f->tmpl, f->seg_name);
    assert_int_equal(seg_reader_open(&r, path), 0);
    while ((rc = seg_reader_next(&r, &rv, &off)) == 1) {
        assert_true(f->nrecs < MAXRECS);
        f->recs[f->nrecs++] = (struct rec){ off, rv.size, rv.seq };
    }
    f->size = r.file_size;
    seg_reader_close(&r);
    assert_int_equal(rc, 0);
    assert_int_equal(f->nrecs, NKEYS + 3);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f || testdir_make_fast(f->tmpl, sizeof f->tmpl, "midsrc") < 0)
        return -1;
    write_template(f);
    index_template(f);
    if (testdir_make_fast(f->dir, sizeof f->dir, "mid") < 0)
        return -1;
    snprintf(f->path, sizeof f->path, "%s/%s", f->dir, f->seg_name);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    testdir_remove(f->dir);
    testdir_remove(f->tmpl);
    free(f);
    return 0;
}

static void fresh_copy(struct fx *f)
{
    assert_int_equal(testdir_clear(f->dir), 0);
    assert_int_equal(testdir_copy(f->tmpl, f->dir), 0);
}

/* The record index of key i (the batch's three records sit at BATCH_AT). */
static size_t rec_of_key(int i) { return (size_t)i + (i >= BATCH_AT ? 3 : 0); }

/* 1 if key i is there with its value, 0 if absent; anything else fails. */
static int has_key(chalk_db *db, int i)
{
    char key[16], want[100];
    chalk_value v;
    int kl = snprintf(key, sizeof key, "key%02d", i);
    size_t wl = value_of(i, want);
    int rc = chalk_get(db, key, (size_t)kl, &v);
    if (rc == CHALK_ENOTFOUND)
        return 0;
    assert_int_equal(rc, CHALK_OK);
    assert_int_equal(v.len, wl);
    assert_memory_equal(v.data, want, wl);
    chalk_value_free(&v);
    return 1;
}

/* The engine's error line names the file and the offset of the cut. */
static void expect_named(struct fx *f, uint64_t off)
{
    char want[700];
    snprintf(want, sizeof want, "%s at offset %llu:", f->path, (unsigned long long)off);
    if (!strstr(f->log, want))
        fail_msg("the log does not name \"%s\"; it said:\n%s", want, f->log);
    if (!strstr(f->log, "valid records follow"))
        fail_msg("the log does not say valid records follow:\n%s", f->log);
}

static void append(struct fx *f, const void *b, size_t n)
{
    FILE *fp = fopen(f->path, "ab");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, n, fp), n);
    fclose(fp);
}

static void test_flip_mid_refused(void **state)
{
    struct fx *f = *state;
    chalk_db *db;
    chalk_stats st;
    const struct rec *victim = &f->recs[rec_of_key(5)];
    fresh_copy(f);
    assert_int_equal(testdir_xor_byte(f->path, victim->off + REC_HEADER_SIZE + 40, 0x04), 0);
    for (int attempt = 0; attempt < 2; attempt++) {      /* refused, and stays refused */
        assert_int_equal(open_db(f, 0, &db), CHALK_ECORRUPT);
        assert_null(db);
        expect_named(f, victim->off);
        assert_int_equal(testdir_file_size(f->path), (int64_t)f->size);   /* nothing cut */
    }
    assert_int_equal(open_db(f, 1, &db), CHALK_OK);
    if (!strstr(f->log, "repair: truncated newest segment"))
        fail_msg("repair=1 did not log its cut:\n%s", f->log);
    for (int i = 0; i < NKEYS; i++)
        assert_int_equal(has_key(db, i), i < 5);
    chalk_stats_get(db, &st);
    assert_int_equal(st.recovery_truncated_bytes, f->size - victim->off);
    assert_int_equal(chalk_close(db), CHALK_OK);
    assert_int_equal(open_db(f, 0, &db), CHALK_OK);         /* repaired for good */
    assert_int_equal(has_key(db, 4), 1);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

static void test_flip_inside_batch(void **state)
{
    struct fx *f = *state;
    chalk_db *db;
    const struct rec *first = &f->recs[BATCH_AT], *second = &f->recs[BATCH_AT + 1];
    fresh_copy(f);
    assert_int_equal(testdir_xor_byte(f->path, second->off + second->size - 1, 0x80), 0);
    assert_int_equal(open_db(f, 0, &db), CHALK_ECORRUPT);
    expect_named(f, first->off);                  /* the batch's start, not the record's */
    assert_int_equal(open_db(f, 1, &db), CHALK_OK);
    assert_int_equal(chalk_exists(db, "b0", 2), 0);          /* the batch: all or nothing */
    assert_int_equal(chalk_exists(db, "b2", 2), 0);
    assert_int_equal(has_key(db, BATCH_AT - 1), 1);
    assert_int_equal(has_key(db, BATCH_AT), 0);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

static void test_header_flip_and_hole(void **state)
{
    struct fx *f = *state;
    chalk_db *db;
    const struct rec *victim = &f->recs[rec_of_key(12)];
    fresh_copy(f);                                 /* a length bit: the size is unknown */
    assert_int_equal(testdir_xor_byte(f->path, victim->off + 25, 0x01), 0);
    assert_int_equal(open_db(f, 0, &db), CHALK_ECORRUPT);
    expect_named(f, victim->off);
    fresh_copy(f);                                 /* zeros, as a lost page reads */
    for (uint64_t b = victim->off; b < victim->off + victim->size; b++) {
        unsigned char byte = 0;
        FILE *fp = fopen(f->path, "rb");
        assert_non_null(fp);
        assert_int_equal(fseek(fp, (long)b, SEEK_SET), 0);
        assert_int_equal(fread(&byte, 1, 1, fp), 1);
        fclose(fp);
        if (byte)
            assert_int_equal(testdir_xor_byte(f->path, b, byte), 0);
    }
    assert_int_equal(open_db(f, 0, &db), CHALK_ECORRUPT);
    expect_named(f, victim->off);
}

/* Open must succeed, cutting the file back to `good_end`. */
static void expect_torn(struct fx *f, uint64_t good_end, int keys_kept, const char *what)
{
    chalk_db *db;
    chalk_stats st;
    int64_t before = testdir_file_size(f->path);
    int rc = open_db(f, 0, &db);
    if (rc != CHALK_OK)
        fail_msg("%s: open returned %s; the log said:\n%s", what, chalk_strerror(rc), f->log);
    if (!strstr(f->log, "torn tail of"))
        fail_msg("%s: no torn-tail log line:\n%s", what, f->log);
    chalk_stats_get(db, &st);
    assert_int_equal(st.recovery_truncated_bytes, (uint64_t)before - good_end);
    for (int i = 0; i < NKEYS; i++)
        assert_int_equal(has_key(db, i), i < keys_kept);
    assert_int_equal(chalk_close(db), CHALK_OK);
    assert_int_equal(testdir_file_size(f->path), (int64_t)good_end);
}

static void test_torn_tails_open(void **state)
{
    struct fx *f = *state;
    const struct rec *last = &f->recs[f->nrecs - 1];
    unsigned char junk[4096];
    fresh_copy(f);                                 /* a cut inside the last record */
    assert_int_equal(testdir_truncate(f->path, last->off + last->size / 2), 0);
    expect_torn(f, last->off, NKEYS - 1, "cut mid-record");
    fresh_copy(f);                                 /* garbage after it */
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(i * 131 + 7);
    append(f, junk, 700);
    expect_torn(f, f->size, NKEYS, "garbage after the last record");
    fresh_copy(f);                                 /* zeros after it */
    memset(junk, 0, sizeof junk);
    append(f, junk, sizeof junk);
    expect_torn(f, f->size, NKEYS, "zeros after the last record");
    fresh_copy(f);                                 /* a flip in the last record */
    assert_int_equal(testdir_xor_byte(f->path, last->off + 50, 0x02), 0);
    expect_torn(f, last->off, NKEYS - 1, "flip in the last record");
}

/* A committed one-record batch with this seq. */
static size_t encode(uint8_t *buf, uint64_t seq, const void *val, uint32_t vlen)
{
    return record_encode(buf, REC_PUT, REC_F_COMMIT, seq, 0, "zz", 2, val, vlen);
}

static void test_stale_record_after(void **state)
{
    struct fx *f = *state;
    chalk_db *db;
    uint8_t junk[16], rec[REC_OVERHEAD + 8];
    memset(junk, 0x5a, sizeof junk);
    fresh_copy(f);                                 /* garbage, then an OLD record */
    append(f, junk, sizeof junk);
    append(f, rec, encode(rec, f->recs[0].seq, "old", 3));
    expect_torn(f, f->size, NKEYS, "stale record after garbage");
    fresh_copy(f);                                 /* garbage, then a NEWER record */
    append(f, junk, sizeof junk);
    append(f, rec, encode(rec, f->recs[f->nrecs - 1].seq + 1, "new", 3));
    assert_int_equal(open_db(f, 0, &db), CHALK_ECORRUPT);
    expect_named(f, f->size);
}

static void test_record_inside_value(void **state)
{
    struct fx *f = *state;
    uint8_t inner[REC_OVERHEAD + 8], outer[2 * REC_OVERHEAD + 16];
    uint64_t seq = f->recs[f->nrecs - 1].seq + 1;
    size_t in = encode(inner, seq + 100, "new", 3);
    size_t out = encode(outer, seq, inner, (uint32_t)in);
    fresh_copy(f);
    append(f, outer, out);
    assert_int_equal(testdir_xor_byte(f->path, f->size + out - 1, 0x01), 0);   /* its trailer */
    expect_torn(f, f->size, NKEYS, "torn record holding a record in its value");
}

static void test_segment_size_minimum(void **state)
{
    struct fx *f = *state;
    chalk_options o;
    chalk_db *db = (chalk_db *)f;                  /* must be reset to NULL */
    chalk_options_init(&o);
    o.log = capture;
    o.log_arg = f;
    fresh_copy(f);
    o.segment_size = 4095;
    assert_int_equal(chalk_open(f->dir, &o, &db), CHALK_EINVAL);
    assert_null(db);
    o.segment_size = 4096;
    assert_int_equal(chalk_open(f->dir, &o, &db), CHALK_OK);
    assert_int_equal(chalk_close(db), CHALK_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flip_mid_refused),
        cmocka_unit_test(test_flip_inside_batch),
        cmocka_unit_test(test_header_flip_and_hole),
        cmocka_unit_test(test_torn_tails_open),
        cmocka_unit_test(test_stale_record_after),
        cmocka_unit_test(test_record_inside_value),
        cmocka_unit_test(test_segment_size_minimum),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
