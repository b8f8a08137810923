/*
 * test_engine_recovery_bulk.c — the fast paths of recovery stay exact.
 *
 * What it proves:
 *   - hidx_reserve (engine/hash_index.c) sizes the table once: n inserts
 *     after reserve(n) start no resize, a reserve in the middle of a resize
 *     finishes it and loses no key, and a reserve never shrinks;
 *   - a store reopened from hint files plus a log written after them gives
 *     exactly the model's contents (newest write wins across hints and log,
 *     deletes in the log hide keys that hints still hold, expiry survives),
 *     both in key order (ordered index) and by point lookup (hash index);
 *   - oidx_bulk_load builds a valid B+tree for every size around the node
 *     capacities (one leaf, a full leaf, one more, full inner levels...),
 *     which then takes inserts and removes like any other, and refuses a
 *     non-empty index;
 *   - two generations of hint files holding the same keys (an old merged
 *     segment put back beside the newer one) recover the newest versions:
 *     the merge keeps the highest seq;
 *   - a hint file whose entries are not sorted (older format) is still
 *     used, key by key, with the same result;
 *   - a log-only open (whose ordered index is built by sorting its keys)
 *     gives every live key in order, also keys sharing long prefixes, keys
 *     that are prefixes of others, and keys with NUL bytes;
 *   - the engine's invariants hold after the reopen: each segment's live
 *     bytes and the expiry set, which recovery now keeps record by record,
 *     match the entries (db_check_invariants).
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
#include "db.h"
#include "index.h"
#include "record.h"
#include "testdir.h"

/* ---- hidx_reserve ------------------------------------------------------- */

static idx_entry *entry_for(uint64_t i)
{
    idx_entry *e = calloc(1, sizeof(*e) + sizeof i);
    assert_non_null(e);
    memcpy(e->key, &i, sizeof i);
    e->klen = sizeof i;
    e->hash = idx_hash(e->key, e->klen);
    return e;
}

static void free_entry(void *arg, idx_entry *e) { (void)arg; free(e); }

static void test_reserve_then_fill_never_resizes(void **state)
{
    (void)state;
    hidx *h = hidx_new();
    assert_non_null(h);
    assert_int_equal(hidx_reserve(h, 5000), 0);
    size_t mem = hidx_memory(h);
    for (uint64_t i = 0; i < 5000; i++) {
        int err = 1;
        assert_null(hidx_insert(h, entry_for(i), &err));
        assert_int_equal(err, 0);
        assert_false(hidx_rehashing(h));
    }
    assert_int_equal(hidx_memory(h), mem);      /* no table was added */
    assert_int_equal(hidx_count(h), 5000);
    assert_int_equal(hidx_check_invariants(h), 0);
    hidx_free(h, free_entry, NULL);
}

static void test_reserve_mid_resize_keeps_keys(void **state)
{
    (void)state;
    hidx *h = hidx_new();
    assert_non_null(h);
    uint64_t n = 0;
    while (!hidx_rehashing(h) || n < 100) {     /* stop inside a resize */
        assert_null(hidx_insert(h, entry_for(n), NULL));
        n++;
        if (n > 100 && hidx_rehashing(h)) break;
    }
    assert_true(hidx_rehashing(h));
    size_t before = hidx_memory(h);
    assert_int_equal(hidx_reserve(h, 1), 0);     /* smaller: finishes, keeps size */
    assert_false(hidx_rehashing(h));
    assert_true(hidx_memory(h) < before);       /* the old table is gone */
    size_t mem = hidx_memory(h);
    assert_int_equal(hidx_reserve(h, 2), 0);
    assert_int_equal(hidx_memory(h), mem);      /* never shrinks */
    assert_int_equal(hidx_reserve(h, 100000), 0);
    assert_true(hidx_memory(h) > mem);
    assert_int_equal(hidx_check_invariants(h), 0);
    assert_int_equal(hidx_count(h), n);
    for (uint64_t i = 0; i < n; i++)
        assert_non_null(hidx_find(h, idx_hash(&i, sizeof i), &i, sizeof i));
    hidx_free(h, free_entry, NULL);
}

/* ---- oidx_bulk_load ------------------------------------------------------ */

static idx_entry *entry_be(uint64_t i)           /* key: i big-endian, so sorted */
{
    idx_entry *e = calloc(1, sizeof(*e) + 8);
    assert_non_null(e);
    for (int b = 0; b < 8; b++) e->key[b] = (unsigned char)(i >> (56 - 8 * b));
    e->klen = 8;
    e->hash = idx_hash(e->key, 8);
    return e;
}

static void bulk_one(size_t n)
{
    idx_entry **v = malloc((n + 1) * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < n; i++) v[i] = entry_be(2 * i);     /* even keys */
    oidx *o = oidx_new();
    assert_non_null(o);
    assert_int_equal(oidx_bulk_load(o, v, n), 0);
    assert_int_equal(oidx_check_invariants(o), 0);
    assert_int_equal(oidx_count(o), n);
    oidx_iter *it = oidx_iter_new(o);
    oidx_iter_seek(it, NULL, 0);
    for (size_t i = 0; i < n; i++, oidx_iter_next(it))
        assert_ptr_equal(oidx_iter_entry(it), v[i]);
    assert_null(oidx_iter_entry(it));
    oidx_iter_free(it);
    for (size_t i = 0; i < n; i += 1 + n / 50)
        assert_ptr_equal(oidx_find(o, v[i]->key, 8), v[i]);
    if (n > 0) {                                 /* not empty: refused, unchanged */
        assert_int_equal(oidx_bulk_load(o, v, n), CHALK_EINVAL);
        assert_int_equal(oidx_count(o), n);
    }
    /* Afterwards it is an ordinary tree: odd keys in, half the even out. */
    idx_entry **odd = malloc((n + 1) * sizeof *odd);
    assert_non_null(odd);
    for (size_t i = 0; i < n; i++) {
        int err = 1;
        odd[i] = entry_be(2 * i + 1);
        assert_null(oidx_insert(o, odd[i], &err));
        assert_int_equal(err, 0);
    }
    for (size_t i = 0; i < n; i += 2)
        assert_ptr_equal(oidx_remove(o, v[i]->key, 8), v[i]);
    assert_int_equal(oidx_check_invariants(o), 0);
    assert_int_equal(oidx_count(o), n + n / 2);
    oidx_free(o);
    for (size_t i = 0; i < n; i++) { free(v[i]); free(odd[i]); }
    free(v);
    free(odd);
}

static void test_bulk_load_every_shape(void **state)
{
    (void)state;
    /* Leaf capacity 62, bulk leaf fill 46, inner capacity 31 (ordered_index.c). */
    static const size_t sizes[] = { 0, 1, 2, 45, 46, 47, 61, 62, 63, 92, 93, 124, 125,
                                    46 * 31, 46 * 31 + 1, 62 * 31, 62 * 31 + 1,
                                    46 * 31 * 31, 46 * 31 * 31 + 1, 62 * 31 * 31 + 1, 100003 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        bulk_one(sizes[i]);
}

/* ---- recovery from hints plus log --------------------------------------- */

#define NKEYS 3000

/* Counts the log lines that say a hint file was rejected. */
static void quiet(void *arg, enum chalk_log_level lvl, const char *msg)
{
    (void)lvl;
    if (arg && strstr(msg, "hint file") && strstr(msg, "invalid")) (*(int *)arg)++;
}

static int hints_rejected;

static void open_db(const char *dir, chalk_db **db)
{
    chalk_options opt;
    chalk_options_init(&opt);
    opt.segment_size = 16384;                    /* many segments, many hints */
    opt.fsync = CHALK_FSYNC_NO;
    opt.log = quiet;
    opt.log_arg = &hints_rejected;
    assert_int_equal(chalk_open(dir, &opt, db), CHALK_OK);
}

static void key_of(char *k, int i) { snprintf(k, 16, "k%07d", (i * 7919) % NKEYS); }

/* The model: version[i] (0 = absent) of key_of(i), value "v<version>-<i>",
 * expiry expiry[i]. */
static int version[NKEYS];
static int64_t expiry[NKEYS];

static void put_version(chalk_db *db, int i, int v, int64_t exp)
{
    char k[16], val[32];
    key_of(k, i);
    int n = snprintf(val, sizeof val, "v%d-%d", v, i);
    assert_int_equal(chalk_put(db, k, strlen(k), val, (size_t)n, exp), CHALK_OK);
    version[i] = v;
    expiry[i] = exp;
}

static void count_key(void *arg, const void *key, size_t klen, int64_t expire_at_ms)
{
    (void)key; (void)klen; (void)expire_at_ms;
    (*(size_t *)arg)++;
}

static void check_model(chalk_db *db)
{
    size_t live = 0;
    for (int i = 0; i < NKEYS; i++) {
        char k[16], want[32];
        key_of(k, i);
        chalk_value v;
        int rc = chalk_get(db, k, strlen(k), &v);
        if (!version[i]) {
            assert_int_equal(rc, CHALK_ENOTFOUND);
            continue;
        }
        live++;
        assert_int_equal(rc, CHALK_OK);
        int n = snprintf(want, sizeof want, "v%d-%d", version[i], i);
        assert_int_equal(v.len, (size_t)n);
        assert_memory_equal(v.data, want, (size_t)n);
        assert_int_equal(v.expire_at_ms, expiry[i]);
        chalk_value_free(&v);
    }
    chalk_stats st;
    chalk_stats_get(db, &st);
    assert_int_equal(st.keys, live);
}

/* Keys come back in strictly increasing order, as many as are live. */
static void check_order(chalk_db *db, size_t live)
{
    chalk_iter *it = chalk_iter_new(db, NULL);
    assert_non_null(it);
    chalk_iter_seek_first(it);
    char prev[64] = "";
    size_t n = 0, plen = 0;
    for (; chalk_iter_valid(it); chalk_iter_next(it), n++) {
        size_t klen;
        const void *k = chalk_iter_key(it, &klen);
        assert_true(klen < sizeof prev);
        if (n) {
            int c = memcmp(prev, k, klen < plen ? klen : plen);
            assert_true(c < 0 || (c == 0 && plen < klen));
        }
        memcpy(prev, k, klen);
        plen = klen;
    }
    chalk_iter_free(it);
    assert_int_equal(n, live);
}

static void test_hints_plus_log_match_model(void **state)
{
    (void)state;
    char dir[256];
    chalk_db *db;
    assert_int_equal(testdir_make(dir, sizeof dir, "recbulk"), 0);
    open_db(dir, &db);
    int64_t far = 4102444800000;                 /* 2100: set, not expired */
    for (int i = 0; i < NKEYS; i++) put_version(db, i, 1, i % 5 ? 0 : far);
    for (int i = 0; i < NKEYS; i += 3) put_version(db, i, 2, 0);
    assert_int_equal(chalk_compact(db), CHALK_OK);
    assert_int_equal(chalk_compact_wait(db), CHALK_OK);
    /* After the hints: overwrite some keys, delete others, re-add a few. */
    for (int i = 0; i < NKEYS; i += 4) put_version(db, i, 3, 0);
    for (int i = 1; i < NKEYS; i += 5) {
        char k[16];
        key_of(k, i);
        assert_int_equal(chalk_delete(db, k, strlen(k)), CHALK_OK);
        version[i] = 0;
        expiry[i] = 0;
    }
    for (int i = 1; i < NKEYS; i += 25) put_version(db, i, 4, 0);
    for (int i = 1; i < NKEYS; i += 50) {        /* marker, PUT, marker again */
        char k[16];
        key_of(k, i);
        assert_int_equal(chalk_delete(db, k, strlen(k)), CHALK_OK);
        version[i] = 0;
        expiry[i] = 0;
    }
    assert_int_equal(chalk_close(db), CHALK_OK);
    char **hints = NULL;
    size_t nh = 0;
    assert_int_equal(testdir_list(dir, ".hint", &hints, &nh), 0);
    assert_true(nh > 1);                         /* the test needs several */
    testdir_free_list(hints, nh);
    for (int round = 0; round < 2; round++) {    /* twice: reopen is stable */
        open_db(dir, &db);
        check_model(db);
        assert_int_equal(db_check_invariants(db), 0);   /* live bytes, expiry set */
        size_t live = 0, expiring = 0, sampled = 0;
        for (int i = 0; i < NKEYS; i++) {
            live += version[i] != 0;
            expiring += expiry[i] != 0;
        }
        assert_true(expiring > 0);
        check_order(db, live);
        /* The expiry set was rebuilt: sampling it in 2100 finds every one. */
        chalk_expire_sample(db, far, NKEYS * 2, count_key, &sampled);
        assert_int_equal(sampled, expiring);
        assert_int_equal(chalk_close(db), CHALK_OK);
    }
    testdir_remove(dir);
}

/* ---- hint files put back, or unsorted ------------------------------------ */

static size_t live_keys(void)
{
    size_t live = 0;
    for (int i = 0; i < NKEYS; i++) live += version[i] != 0;
    return live;
}

static void check_reopen(const char *dir)
{
    chalk_db *db;
    hints_rejected = 0;
    open_db(dir, &db);
    assert_int_equal(hints_rejected, 0);         /* every hint file was used */
    check_model(db);
    assert_int_equal(db_check_invariants(db), 0);
    check_order(db, live_keys());
    assert_int_equal(chalk_close(db), CHALK_OK);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*len ? *len : 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

static void spill(const char *path, const uint8_t *b, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, len, f), len);
    fclose(f);
}

static void copy_file(const char *from_dir, const char *to_dir, const char *name)
{
    char a[512], b[512];
    size_t len;
    snprintf(a, sizeof a, "%s/%s", from_dir, name);
    snprintf(b, sizeof b, "%s/%s", to_dir, name);
    uint8_t *buf = slurp(a, &len);
    spill(b, buf, len);
    free(buf);
}

/* Copy every hint file and its segment from `from` to `to`. */
static size_t copy_hinted_segments(const char *from, const char *to)
{
    char **names = NULL;
    size_t n = 0;
    assert_int_equal(testdir_list(from, ".hint", &names, &n), 0);
    for (size_t i = 0; i < n; i++) {
        char seg[64];
        copy_file(from, to, names[i]);
        snprintf(seg, sizeof seg, "%.10s.log", names[i]);
        copy_file(from, to, seg);
    }
    testdir_free_list(names, n);
    return n;
}

static void fill_and_compact(chalk_db *db, int v)
{
    for (int i = 0; i < NKEYS; i++)
        if (v == 1 || i % 2 == 0) put_version(db, i, v, i % 7 ? 0 : 4102444800000 + v);
    assert_int_equal(chalk_compact(db), CHALK_OK);
    assert_int_equal(chalk_compact_wait(db), CHALK_OK);
}

static void test_two_generations_of_hints(void **state)
{
    (void)state;
    char dir[256], stash[256];
    chalk_db *db;
    memset(version, 0, sizeof version);
    memset(expiry, 0, sizeof expiry);
    assert_int_equal(testdir_make(dir, sizeof dir, "recbulk2"), 0);
    assert_int_equal(testdir_make(stash, sizeof stash, "recbulk2s"), 0);
    open_db(dir, &db);
    fill_and_compact(db, 1);
    assert_int_equal(chalk_close(db), CHALK_OK);
    assert_true(copy_hinted_segments(dir, stash) > 1);
    open_db(dir, &db);
    fill_and_compact(db, 2);                     /* merges (and deletes) the first */
    for (int i = 0; i < NKEYS; i += 3) put_version(db, i, 3, 0);
    assert_int_equal(chalk_close(db), CHALK_OK);
    /* Put the first generation back: same keys, older seqs, lower ids. */
    copy_hinted_segments(stash, dir);
    check_reopen(dir);
    testdir_remove(stash);
    testdir_remove(dir);
}

/* Rewrite a hint file with its entries in reverse key order (layout:
 * hint.c; 24-byte header, 28 bytes + key per entry, XXH3-64 trailer). */
static void reverse_hint(const char *path)
{
    size_t len;
    uint8_t *b = slurp(path, &len);
    uint32_t count = get_le32(b + 16);
    assert_true(count > 1);
    size_t *off = malloc(count * sizeof *off), p = 24;
    uint8_t *out = malloc(len);
    assert_non_null(off);
    assert_non_null(out);
    for (uint32_t i = 0; i < count; i++) {
        off[i] = p;
        p += 28 + get_le32(b + p + 24);
    }
    memcpy(out, b, 24);
    size_t w = 24;
    for (uint32_t i = count; i-- > 0;) {
        size_t n = 28 + get_le32(b + off[i] + 24);
        memcpy(out + w, b + off[i], n);
        w += n;
    }
    assert_int_equal(w, len - 8);
    put_le64(out + w, record_checksum(out, w));
    spill(path, out, len);
    free(off);
    free(out);
    free(b);
}

static void test_unsorted_hint_still_used(void **state)
{
    (void)state;
    char dir[256], path[512];
    chalk_db *db;
    memset(version, 0, sizeof version);
    memset(expiry, 0, sizeof expiry);
    assert_int_equal(testdir_make(dir, sizeof dir, "recbulk3"), 0);
    open_db(dir, &db);
    fill_and_compact(db, 1);
    for (int i = 0; i < NKEYS; i += 5) put_version(db, i, 2, 0);
    assert_int_equal(chalk_close(db), CHALK_OK);
    char **names = NULL;
    size_t n = 0;
    assert_int_equal(testdir_list(dir, ".hint", &names, &n), 0);
    assert_true(n > 1);
    snprintf(path, sizeof path, "%s/%s", dir, names[n / 2]);
    reverse_hint(path);
    testdir_free_list(names, n);
    check_reopen(dir);
    testdir_remove(dir);
}

/* ---- a log-only open sorts its keys ------------------------------------- */

/* Key j: a 12-byte common prefix, then j in decimal, and for odd j a NUL
 * byte and more: long shared prefixes (the sort's 8-byte prefix ties, the
 * full comparison decides), keys that are prefixes of others, binary. */
static size_t odd_key(char *k, int j)
{
    size_t n = (size_t)snprintf(k, 64, "shared:pref:%d", j);
    if (j % 2) { k[n++] = '\0'; k[n++] = (char)(j % 251); }
    return n;
}

static void test_log_only_keys_in_order(void **state)
{
    (void)state;
    char dir[256], k[64];
    chalk_db *db;
    assert_int_equal(testdir_make(dir, sizeof dir, "recbulk4"), 0);
    open_db(dir, &db);
    for (int j = 0; j < 2000; j++) {
        size_t n = odd_key(k, (j * 7919) % 2000);
        assert_int_equal(chalk_put(db, k, n, "v", 1, 0), CHALK_OK);
    }
    for (int j = 0; j < 2000; j += 3) {          /* tombstones: not in the index */
        size_t n = odd_key(k, j);
        assert_int_equal(chalk_delete(db, k, n), CHALK_OK);
    }
    assert_int_equal(chalk_close(db), CHALK_OK);
    open_db(dir, &db);
    assert_int_equal(db_check_invariants(db), 0);
    size_t live = 0;
    for (int j = 0; j < 2000; j++) {
        size_t n = odd_key(k, j);
        assert_int_equal(chalk_exists(db, k, n), j % 3 != 0);
        live += j % 3 != 0;
    }
    check_order(db, live);
    assert_int_equal(chalk_close(db), CHALK_OK);
    testdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reserve_then_fill_never_resizes),
        cmocka_unit_test(test_reserve_mid_resize_keeps_keys),
        cmocka_unit_test(test_bulk_load_every_shape),
        cmocka_unit_test(test_hints_plus_log_match_model),
        cmocka_unit_test(test_two_generations_of_hints),
        cmocka_unit_test(test_unsorted_hint_still_used),
        cmocka_unit_test(test_log_only_keys_in_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
