/*
 * test_hint_order.c — a compaction's hint files come out sorted by key,
 * whatever order the log held the keys in.
 *
 * What it proves: hint_sort (engine/hint.c) leaves every hint file in
 * strictly ascending key order, and with every entry, for the three paths
 * it takes: keys written in ascending order (already sorted: kept), in
 * descending order (LPUSH's order: reversed in one pass), and shuffled
 * (qsort). The file is parsed byte by byte from the format documented at
 * the top of hint.c, so the test does not rely on hint_open's own check.
 * Recovery would still be correct with an unsorted hint (it falls back to
 * key-by-key loading), so only this test sees a sort that went wrong.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chalk/engine.h"
#include "record.h"
#include "testdir.h"

enum { NKEYS = 3000, HINT_HEADER = 24, HINT_ENTRY = 28 };

static void quiet(void *arg, enum chalk_log_level level, const char *msg) { (void)arg; (void)level; (void)msg; }

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= HINT_HEADER + 8);
    rewind(f);
    uint8_t *buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Check one hint file: entries fill it exactly and keys strictly ascend
 * (memcmp, then length). Returns its entry count. */
static uint32_t check_hint(const char *path)
{
    size_t len;
    uint8_t *b = read_file(path, &len);
    assert_memory_equal(b, "CHALKHNT", 8);
    uint32_t count = get_le32(b + 16);
    size_t p = HINT_HEADER, prev = 0;
    for (uint32_t i = 0; i < count; i++) {
        assert_true(p + HINT_ENTRY <= len - 8);
        uint32_t klen = get_le32(b + p + 24);
        if (i > 0) {
            uint32_t plen = get_le32(b + prev + 24);
            int c = memcmp(b + prev + HINT_ENTRY, b + p + HINT_ENTRY, plen < klen ? plen : klen);
            assert_true(c < 0 || (c == 0 && plen < klen));
        }
        prev = p;
        p += HINT_ENTRY + klen;
    }
    assert_int_equal(p, len - 8);
    free(b);
    return count;
}

/* Write NKEYS keys in the order `order` gives (0 ascending, 1 descending,
 * 2 shuffled), compact, and check every hint file. */
static void run_order(int order)
{
    char dir[256], path[512], key[16];
    chalk_db *db;
    chalk_options opt;
    chalk_options_init(&opt);
    opt.segment_size = 1 << 20;                  /* one output: one hint */
    opt.fsync = CHALK_FSYNC_NO;
    opt.compact_dead_ratio = 0;
    opt.log = quiet;
    assert_int_equal(testdir_make(dir, sizeof dir, "hintorder"), 0);
    assert_int_equal(chalk_open(dir, &opt, &db), CHALK_OK);
    int *ids = malloc(NKEYS * sizeof *ids);
    assert_non_null(ids);
    for (int i = 0; i < NKEYS; i++)
        ids[i] = order == 1 ? NKEYS - 1 - i : order == 2 ? (int)(((long)i * 1237) % NKEYS) : i;
    /* A key put first and deleted last: the dead bytes make chalk_compact
     * seal the active segment, and the live keys keep their order. */
    assert_int_equal(chalk_put(db, "dead", 4, "v", 1, 0), CHALK_OK);
    for (int i = 0; i < NKEYS; i++) {
        snprintf(key, sizeof key, "k%08d", ids[i]);
        assert_int_equal(chalk_put(db, key, strlen(key), "v", 1, 0), CHALK_OK);
    }
    assert_int_equal(chalk_delete(db, "dead", 4), CHALK_OK);
    assert_int_equal(chalk_compact(db), CHALK_OK);
    assert_int_equal(chalk_compact_wait(db), CHALK_OK);
    assert_int_equal(chalk_close(db), CHALK_OK);
    char **names = NULL;
    size_t n = 0;
    assert_int_equal(testdir_list(dir, ".hint", &names, &n), 0);
    assert_true(n >= 1);
    uint32_t total = 0;
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        total += check_hint(path);
    }
    assert_int_equal(total, NKEYS);
    testdir_free_list(names, n);
    free(ids);
    testdir_remove(dir);
}

static void test_ascending_log(void **state) { (void)state; run_order(0); }
static void test_descending_log(void **state) { (void)state; run_order(1); }
static void test_shuffled_log(void **state) { (void)state; run_order(2); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascending_log),
        cmocka_unit_test(test_descending_log),
        cmocka_unit_test(test_shuffled_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
