/*
 * test_crash_repair.c — chalk-check and the engine's recovery agree.
 *
 * What it proves: an operator who runs `chalk-check --repair` and then
 * starts the server gets the same store as the engine's own recovery (or
 * its repair=1 open), and the tool's verdict matches what chalk_open does:
 *
 *   sealed_flips   For a one-bit flip at every byte of a sealed segment:
 *                  chalk-check exits 1 exactly when chalk_open refuses with
 *                  CHALK_ECORRUPT (so every time); after
 *                  `chalk-check --repair --force` a plain open succeeds and
 *                  serves exactly what an open with repair=1 serves.
 *   newest_flips   For a one-bit flip at every byte of the newest segment
 *                  past its header: before its last record (valid records
 *                  follow) chalk_open refuses with CHALK_ECORRUPT and
 *                  chalk-check calls it corrupt (exit 1), `--repair` alone
 *                  refuses to cut (exit 1, file unchanged), and after
 *                  `--repair --force` the store equals the engine's
 *                  repair=1 open; in the last record both call it a torn
 *                  tail: `--repair` cuts it, and the store equals what a
 *                  plain open makes of it. Both ask seg_find_valid_after.
 *   torn_tails     For a cut at every byte of the newest segment's last
 *                  batches: chalk-check exits 1 (a torn tail), and after
 *                  `chalk-check --repair` the store equals what recovery
 *                  makes of the uncut file — then chalk-check exits 0.
 *
 * The tools are found through CHALK_BIN_DIR (set by ctest); without it the
 * tests are skipped. Left out: hint files (the tools do not read them).
 * Interview topics: storage.recovery (tagged in check.c and recover.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "chalk/engine.h"
#include "crash_model.h"
#include "dbopen.h"
#include "segment.h"
#include "testdir.h"

#if defined(__SANITIZE_ADDRESS__)
#define STRIDE 31            /* ASan: every 31st byte (the tools start slowly) */
#define TORN_SPAN 300
#else
#define STRIDE 3             /* every 3rd byte: 3 tool runs each */
#define TORN_SPAN 600        /* cuts in the last 600 bytes of the newest segment */
#endif

static const struct cm_params WORKLOAD = {
    .nbatches = 30, .nkeys = 10, .max_ops = 3, .max_vlen = 150, .del_pct = 20,
};

struct fx {
    char template_dir[256];
    char a[256], b[256];     /* two damaged copies: engine vs tool */
    char check[512];         /* path of chalk-check */
    struct cm_workload *w;
    char **segs;
    size_t nsegs;
};

/* What a store serves: per key, the status and the value. */
struct served {
    int rc[16];
    chalk_value v[16];
};

static void options(chalk_options *o, int repair)
{
    test_options(o, CHALK_FSYNC_ALWAYS);
    o->segment_size = 4096;
    o->compact_dead_ratio = 0;
    o->repair = repair;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    const char *bin = getenv("CHALK_BIN_DIR");
    chalk_options o;
    chalk_db *db;
    if (!f)
        return -1;
    *state = f;
    if (!bin)
        return 0;                       /* the tests skip */
    snprintf(f->check, sizeof f->check, "%s/chalk-check", bin);
    if (testdir_make_fast(f->template_dir, sizeof f->template_dir, "repsrc") < 0 ||
        testdir_make_fast(f->a, sizeof f->a, "repa") < 0 ||
        testdir_make_fast(f->b, sizeof f->b, "repb") < 0)
        return -1;
    f->w = cm_workload_new(31, &WORKLOAD);
    options(&o, 0);
    if (!f->w || chalk_open(f->template_dir, &o, &db) != CHALK_OK)
        return -1;
    if (cm_apply_all(f->w, db) != CHALK_OK || chalk_close(db) != CHALK_OK)
        return -1;
    return testdir_list(f->template_dir, ".log", &f->segs, &f->nsegs) < 0 || f->nsegs < 2 ? -1 : 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->w) {
        testdir_free_list(f->segs, f->nsegs);
        cm_workload_free(f->w);
        testdir_remove(f->a);
        testdir_remove(f->b);
        testdir_remove(f->template_dir);
    }
    free(f);
    return 0;
}

/* Run chalk-check with `args` on dir; its exit status. */
static int run_check(struct fx *f, const char *args, const char *dir)
{
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "'%s' %s '%s' >/dev/null 2>&1", f->check, args, dir);
    int st = system(cmd);
    assert_true(st != -1 && WIFEXITED(st));
    return WEXITSTATUS(st);
}

/* Both copies from the template, segment `seg` damaged the same way:
 * cut to `cut` bytes (if cut >= 0), else bit `mask` flipped at `off`. */
static void damage_both(struct fx *f, size_t seg, int64_t cut, uint64_t off, unsigned char mask)
{
    const char *dirs[2] = { f->a, f->b };
    for (int i = 0; i < 2; i++) {
        char path[600];
        assert_int_equal(testdir_clear(dirs[i]), 0);
        assert_int_equal(testdir_copy(f->template_dir, dirs[i]), 0);
        snprintf(path, sizeof path, "%s/%s", dirs[i], f->segs[seg]);
        if (cut >= 0)
            assert_int_equal(testdir_truncate(path, (uint64_t)cut), 0);
        else
            assert_int_equal(testdir_xor_byte(path, off, mask), 0);
    }
}

/* Open dir (repair as given) and record what every key serves. */
static void serve(struct fx *f, const char *dir, int repair, struct served *s)
{
    chalk_options o;
    chalk_db *db;
    options(&o, repair);
    int rc = chalk_open(dir, &o, &db);
    if (rc != CHALK_OK)
        fail_msg("open %s (repair=%d): %s", dir, repair, chalk_strerror(rc));
    for (int j = 0; j < WORKLOAD.nkeys; j++) {
        char key[32];
        size_t klen = cm_key(j, key);
        s->v[j] = (chalk_value){ 0 };
        s->rc[j] = chalk_get(db, key, klen, &s->v[j]);
    }
    chalk_close(db);
}

static void expect_same(const struct served *x, const struct served *y, const char *what)
{
    for (int j = 0; j < WORKLOAD.nkeys; j++) {
        int same = x->rc[j] == y->rc[j] &&
                   (x->rc[j] != CHALK_OK || (x->v[j].len == y->v[j].len &&
                                             memcmp(x->v[j].data, y->v[j].data, x->v[j].len) == 0));
        if (!same)
            fail_msg("%s: key %d: engine %s, tool-repaired %s", what, j,
                     chalk_strerror(x->rc[j]), chalk_strerror(y->rc[j]));
    }
}

static void served_free(struct served *s)
{
    for (int j = 0; j < WORKLOAD.nkeys; j++)
        chalk_value_free(&s->v[j]);
}

static void test_sealed_flips(void **state)
{
    struct fx *f = *state;
    char path[600], what[700];
    if (!f->w)
        skip();
    snprintf(path, sizeof path, "%s/%s", f->template_dir, f->segs[0]);
    int64_t size = testdir_file_size(path);
    for (int64_t off = 0; off < size; off += STRIDE) {
        struct served engine, tool;
        chalk_options o;
        chalk_db *db;
        damage_both(f, 0, -1, (uint64_t)off, (unsigned char)(1u << (off % 8)));
        snprintf(what, sizeof what, "flip at %s offset %lld", f->segs[0], (long long)off);
        options(&o, 0);
        if (chalk_open(f->a, &o, &db) != CHALK_ECORRUPT)
            fail_msg("%s: the engine opened it", what);
        if (run_check(f, "", f->a) != 1)
            fail_msg("%s: chalk-check did not exit 1", what);
        if (off < 32)                   /* a bad header: neither cuts it */
            continue;
        serve(f, f->a, 1, &engine);
        if (run_check(f, "--repair --force", f->b) != 0)
            fail_msg("%s: chalk-check --repair --force did not exit 0", what);
        serve(f, f->b, 0, &tool);
        expect_same(&engine, &tool, what);
        served_free(&engine);
        served_free(&tool);
    }
}

/* The offset of the last record of the template's segment `seg`. */
static uint64_t last_record_offset(struct fx *f, size_t seg)
{
    char path[600];
    struct seg_reader r;
    struct record_view rv;
    uint64_t off, last = 0;
    int rc;
    snprintf(path, sizeof path, "%s/%s", f->template_dir, f->segs[seg]);
    assert_int_equal(seg_reader_open(&r, path), 0);
    while ((rc = seg_reader_next(&r, &rv, &off)) == 1)
        last = off;
    seg_reader_close(&r);
    assert_int_equal(rc, 0);
    assert_true(last > SEG_HEADER_SIZE);
    return last;
}

static void test_newest_flips(void **state)
{
    struct fx *f = *state;
    char path[600], what[700];
    if (!f->w)
        skip();
    size_t last = f->nsegs - 1;
    uint64_t last_rec = last_record_offset(f, last);
    snprintf(path, sizeof path, "%s/%s", f->template_dir, f->segs[last]);
    int64_t size = testdir_file_size(path);
    snprintf(path, sizeof path, "%s/%s", f->b, f->segs[last]);     /* the tool's copy */
    for (int64_t off = SEG_HEADER_SIZE; off < size; off += STRIDE) {
        struct served engine, tool;
        chalk_options o;
        chalk_db *db;
        int mid = (uint64_t)off < last_rec;
        damage_both(f, last, -1, (uint64_t)off, (unsigned char)(1u << (off % 8)));
        snprintf(what, sizeof what, "flip at newest %s offset %lld", f->segs[last], (long long)off);
        options(&o, 0);
        int rc = chalk_open(f->a, &o, &db);
        if (rc == CHALK_OK)
            chalk_close(db);
        if (rc != (mid ? CHALK_ECORRUPT : CHALK_OK))
            fail_msg("%s: chalk_open returned %s", what, chalk_strerror(rc));
        if (run_check(f, "", f->b) != 1)
            fail_msg("%s: chalk-check did not exit 1", what);
        if (mid) {
            if (run_check(f, "--repair", f->b) != 1 || testdir_file_size(path) != size)
                fail_msg("%s: chalk-check --repair cut without --force", what);
            if (run_check(f, "--repair --force", f->b) != 0)
                fail_msg("%s: chalk-check --repair --force did not exit 0", what);
        } else if (run_check(f, "--repair", f->b) != 0) {
            fail_msg("%s: chalk-check --repair did not exit 0 on a torn tail", what);
        }
        serve(f, f->a, mid, &engine);
        serve(f, f->b, 0, &tool);
        expect_same(&engine, &tool, what);
        served_free(&engine);
        served_free(&tool);
    }
}

static void test_torn_tails(void **state)
{
    struct fx *f = *state;
    char path[600], what[700];
    if (!f->w)
        skip();
    size_t last = f->nsegs - 1;
    snprintf(path, sizeof path, "%s/%s", f->template_dir, f->segs[last]);
    int64_t size = testdir_file_size(path);
    int64_t from = size > TORN_SPAN ? size - TORN_SPAN : 33;
    for (int64_t cut = from; cut < size; cut += STRIDE) {
        struct served engine, tool;
        damage_both(f, last, cut, 0, 0);
        snprintf(what, sizeof what, "%s cut to %lld bytes", f->segs[last], (long long)cut);
        int st = run_check(f, "", f->b);
        if (st != 0 && st != 1)
            fail_msg("%s: chalk-check exited %d", what, st);
        serve(f, f->a, 0, &engine);
        if (run_check(f, "--repair", f->b) != 0)
            fail_msg("%s: chalk-check --repair did not exit 0", what);
        if (run_check(f, "", f->b) != 0)
            fail_msg("%s: still not clean after --repair", what);
        serve(f, f->b, 0, &tool);
        expect_same(&engine, &tool, what);
        served_free(&engine);
        served_free(&tool);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sealed_flips),
        cmocka_unit_test(test_newest_flips),
        cmocka_unit_test(test_torn_tails),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
