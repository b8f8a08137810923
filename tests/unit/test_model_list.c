/*
 * test_model_list.c — every list command, run in process through the
 * server's real dispatcher (cmdexec.h), against a model list: an array of
 * byte strings in list order (kvmodel.h).
 *
 * Commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP (with count) LLEN LRANGE
 * LINDEX LSET LREM LTRIM LINSERT LPOS LMOVE RPOPLPUSH BLPOP BRPOP BLMOVE
 * BRPOPLPUSH.
 *
 * test_list_edges: WRONGTYPE from every command (exact text), a list
 * deleted with its last element (by LPOP, LREM, LTRIM, LMOVE), missing
 * keys, LPOS's and the pops' argument errors, binary elements.
 * test_list_blocking: a BLPOP / BLMOVE on an empty list waits (no reply);
 * a push by another client, then the re-run the loop would do, serves it;
 * a deadline passed gives the null array.
 * test_list_random: 4000 seeded mixed commands on three lists and a string
 * (indexes from -7 to 7 on lists of 0 to ~15 elements, so negative and
 * out-of-range indexes are frequent), each reply compared with the model;
 * reopen and compaction in the middle (modelfix.h), every list compared
 * whole (LRANGE 0 -1, LLEN, EXISTS) after each.
 *
 * Interview topics: none (a test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmdexec.h"
#include "modelfix.h"

#define S(lit) {(char *)(lit), sizeof(lit) - 1}
static const mstr elems[] = {S("a"), S("b"), S("c"), S(""), S("x\0y"), S("\r\n"), S("1")};
static const char *const keys[] = {"l0", "l1", "l2", "str"};
#define NELEMS (long)(sizeof elems / sizeof *elems)

static const mstr *rand_elem(mfix *f) { return &elems[rng_below(&f->rng, NELEMS)]; }
static long rand_index(mfix *f) { return rng_below(&f->rng, 15) - 7; }

static mkey *list_of(mfix *f, const char *key)
{
    return km_get_or_create(&f->m, key, strlen(key), MT_LIST);
}

static void push(mkey *k, bool left, const mstr *e)
{
    km_insert_at(k, left ? 0 : k->n, e->p, e->len, NULL, 0, 0);
}

/* Pop one element from the model into out (caller frees out->p). */
static mstr pop(mkey *k, bool left)
{
    size_t at = left ? 0 : k->n - 1;
    mstr e = ms_dup(k->items[at].p, k->items[at].len);
    km_remove_at(k, at);
    return e;
}

/* Redis's LRANGE / LTRIM index normalisation: [*start, *end] inside the
 * list, or false when the range is empty. */
static bool norm_range(long n, long start, long end, long *s, long *e)
{
    if (start < 0)
        start += n;
    if (end < 0)
        end += n;
    if (start < 0)
        start = 0;
    if (start > end || start >= n)
        return false;
    if (end >= n)
        end = n - 1;
    *s = start;
    *e = end;
    return true;
}

static void verify_all(mfix *f)
{
    for (size_t i = 0; i < 3; i++) {
        mkey *k = km_get(&f->m, keys[i], strlen(keys[i]));
        rb_reset(&f->want);
        rb_arr(&f->want, k ? (long)k->n : 0);
        for (size_t j = 0; k && j < k->n; j++)
            rb_str(&f->want, &k->items[j]);
        mfix_expect(f, 0, "LRANGE", keys[i], "0", "-1", NULL);
        EXPECT_INT(f, k ? (long long)k->n : 0, "LLEN", keys[i]);
        EXPECT_INT(f, k != NULL, "EXISTS", keys[i]);
    }
}

/* ---- one random command each ---------------------------------------------- */

static void step_push(mfix *f, mkey *k, const char *key)
{
    static const char *const names[] = {"LPUSH", "RPUSH", "LPUSHX", "RPUSHX"};
    int which = (int)rng_below(&f->rng, 4);
    long n = 1 + rng_below(&f->rng, 3);
    ca_str(&f->a, names[which]);
    ca_str(&f->a, key);
    if (which >= 2 && !k) {                      /* the X forms need a list */
        for (long i = 0; i < n; i++)
            ca_ms(&f->a, rand_elem(f));
        rb_int(&f->want, 0);
        return;
    }
    k = list_of(f, key);
    for (long i = 0; i < n; i++) {
        const mstr *e = rand_elem(f);
        ca_ms(&f->a, e);
        push(k, which % 2 == 0, e);
    }
    rb_int(&f->want, (long long)k->n);
}

static void step_pop(mfix *f, mkey *k, const char *key)
{
    bool left = rng_below(&f->rng, 2), with_count = rng_below(&f->rng, 2);
    long count = rng_below(&f->rng, 5);
    ca_str(&f->a, left ? "LPOP" : "RPOP");
    ca_str(&f->a, key);
    if (!with_count) {
        if (!k) {
            rb_null(&f->want);
            return;
        }
        mstr e = pop(k, left);
        rb_str(&f->want, &e);
        free(e.p);
        km_drop_if_empty(&f->m, k);
        return;
    }
    ca_fmt(&f->a, "%ld", count);
    if (!k) {
        rb_null_array(&f->want);
        return;
    }
    long take = count < (long)k->n ? count : (long)k->n;
    rb_arr(&f->want, take);
    for (long i = 0; i < take; i++) {
        mstr e = pop(k, left);
        rb_str(&f->want, &e);
        free(e.p);
    }
    km_drop_if_empty(&f->m, k);
}

static void step_lrange(mfix *f, mkey *k, const char *key)
{
    long start = rand_index(f), end = rand_index(f), s, e;
    ca_str(&f->a, "LRANGE");
    ca_str(&f->a, key);
    ca_fmt(&f->a, "%ld", start);
    ca_fmt(&f->a, "%ld", end);
    if (!k || !norm_range((long)k->n, start, end, &s, &e)) {
        rb_arr(&f->want, 0);
        return;
    }
    rb_arr(&f->want, e - s + 1);
    for (long i = s; i <= e; i++)
        rb_str(&f->want, &k->items[i]);
}

static void step_ltrim(mfix *f, mkey *k, const char *key)
{
    /* biased to keep something: random -7..7 ranges would empty most lists */
    long start = rng_below(&f->rng, 7) - 3, end = rng_below(&f->rng, 9) - 1, s, e;
    ca_str(&f->a, "LTRIM");
    ca_str(&f->a, key);
    ca_fmt(&f->a, "%ld", start);
    ca_fmt(&f->a, "%ld", end);
    rb_ok(&f->want);
    if (!k)
        return;
    if (!norm_range((long)k->n, start, end, &s, &e)) {
        km_drop(&f->m, k);
        return;
    }
    while ((long)k->n > e + 1)
        km_remove_at(k, k->n - 1);
    for (long i = 0; i < s; i++)
        km_remove_at(k, 0);
}

/* LINDEX and LSET: one index. */
static void step_index(mfix *f, mkey *k, const char *key, bool set)
{
    long idx = rand_index(f);
    const mstr *v = rand_elem(f);
    ca_str(&f->a, set ? "LSET" : "LINDEX");
    ca_str(&f->a, key);
    ca_fmt(&f->a, "%ld", idx);
    if (set)
        ca_ms(&f->a, v);
    long n = k ? (long)k->n : 0, at = idx < 0 ? idx + n : idx;
    bool in = at >= 0 && at < n;
    if (!set) {
        if (in)
            rb_str(&f->want, &k->items[at]);
        else
            rb_null(&f->want);
    } else if (!k) {
        rb_err(&f->want, "no such key");
    } else if (!in) {
        rb_err(&f->want, "index out of range");
    } else {
        free(k->items[at].p);
        k->items[at] = ms_dup(v->p, v->len);
        rb_ok(&f->want);
    }
}

static void step_lrem(mfix *f, mkey *k, const char *key)
{
    long count = rng_below(&f->rng, 7) - 3, removed = 0;
    const mstr *e = rand_elem(f);
    ca_str(&f->a, "LREM");
    ca_str(&f->a, key);
    ca_fmt(&f->a, "%ld", count);
    ca_ms(&f->a, e);
    long limit = count < 0 ? -count : count;
    for (long i = 0; k && i < (long)k->n && (limit == 0 || removed < limit); i++) {
        long at = count < 0 ? (long)k->n - 1 - i : i;   /* negative: from the tail */
        if (ms_cmp(k->items[at].p, k->items[at].len, e->p, e->len) == 0) {
            km_remove_at(k, (size_t)at);
            removed++;
            if (count >= 0)
                i--;
        }
    }
    rb_int(&f->want, removed);
    km_drop_if_empty(&f->m, k);
}

static void step_linsert(mfix *f, mkey *k, const char *key)
{
    bool before = rng_below(&f->rng, 2);
    const mstr *pivot = rand_elem(f), *e = rand_elem(f);
    ca_str(&f->a, "LINSERT");
    ca_str(&f->a, key);
    ca_str(&f->a, before ? "BEFORE" : "AFTER");
    ca_ms(&f->a, pivot);
    ca_ms(&f->a, e);
    if (!k) {
        rb_int(&f->want, 0);
        return;
    }
    for (size_t i = 0; i < k->n; i++)
        if (ms_cmp(k->items[i].p, k->items[i].len, pivot->p, pivot->len) == 0) {
            km_insert_at(k, before ? i : i + 1, e->p, e->len, NULL, 0, 0);
            rb_int(&f->want, (long long)k->n);
            return;
        }
    rb_int(&f->want, -1);
}

/* LPOS key element [RANK r] [COUNT c] [MAXLEN m], the model's scan. */
static void step_lpos(mfix *f, mkey *k, const char *key)
{
    const mstr *e = rand_elem(f);
    long rank = rng_below(&f->rng, 3) ? 1 : (rng_below(&f->rng, 2) ? 1 : -1) * (1 + rng_below(&f->rng, 3));
    bool has_count = rng_below(&f->rng, 2);
    long count = rng_below(&f->rng, 4), maxlen = rng_below(&f->rng, 3) ? 0 : rng_below(&f->rng, 6);
    ca_str(&f->a, "LPOS");
    ca_str(&f->a, key);
    ca_ms(&f->a, e);
    if (rank != 1 || rng_below(&f->rng, 2)) {
        ca_str(&f->a, "RANK");
        ca_fmt(&f->a, "%ld", rank);
    }
    if (has_count) {
        ca_str(&f->a, "COUNT");
        ca_fmt(&f->a, "%ld", count);
    }
    if (maxlen) {
        ca_str(&f->a, "MAXLEN");
        ca_fmt(&f->a, "%ld", maxlen);
    }
    long n = k ? (long)k->n : 0, found[32], nfound = 0, skip = (rank < 0 ? -rank : rank) - 1;
    long want = has_count ? (count ? count : 32) : 1;
    for (long i = 0; i < n && (maxlen == 0 || i < maxlen) && nfound < want; i++) {
        long at = rank < 0 ? n - 1 - i : i;
        if (ms_cmp(k->items[at].p, k->items[at].len, e->p, e->len) != 0)
            continue;
        if (skip > 0)
            skip--;
        else
            found[nfound++] = at;
    }
    if (!has_count) {
        if (nfound)
            rb_int(&f->want, found[0]);
        else
            rb_null(&f->want);
        return;
    }
    rb_arr(&f->want, nfound);
    for (long i = 0; i < nfound; i++)
        rb_int(&f->want, found[i]);
}

/* LMOVE / RPOPLPUSH / BLMOVE / BRPOPLPUSH from key to a random list.
 * Returns false (nothing sent) for a blocking form on an empty source. */
static bool step_move(mfix *f, mkey *k, const char *key)
{
    int form = (int)rng_below(&f->rng, 4);      /* LMOVE RPOPLPUSH BLMOVE BRPOPLPUSH */
    bool from_left = rng_below(&f->rng, 2), to_left = rng_below(&f->rng, 2);
    const char *dst = keys[rng_below(&f->rng, 20) == 0 ? 3 : rng_below(&f->rng, 3)];
    if (form % 2 == 1)
        from_left = false, to_left = true;
    if (form >= 2 && !k)
        return false;
    static const char *const names[] = {"LMOVE", "RPOPLPUSH", "BLMOVE", "BRPOPLPUSH"};
    ca_str(&f->a, names[form]);
    ca_str(&f->a, key);
    ca_str(&f->a, dst);
    if (form % 2 == 0) {
        ca_str(&f->a, from_left ? "LEFT" : "RIGHT");
        ca_str(&f->a, to_left ? "LEFT" : "RIGHT");
    }
    if (form >= 2)
        ca_str(&f->a, "0");
    mkey *d = km_get(&f->m, dst, strlen(dst));
    if (!k) {
        rb_null(&f->want);
    } else if (d && d->type != MT_LIST) {
        rb_err(&f->want, WRONGTYPE);
    } else {
        mstr e = pop(k, from_left);
        push(list_of(f, dst), to_left, &e);
        rb_str(&f->want, &e);
        free(e.p);
        km_drop_if_empty(&f->m, km_get(&f->m, key, strlen(key)));
    }
    return true;
}

/* BLPOP / BRPOP key other 0: served at once by the first non-empty list.
 * Returns false (nothing sent) when both are empty: it would block. */
static bool step_bpop(mfix *f, const char *key)
{
    bool left = rng_below(&f->rng, 2);
    const char *names[2] = {key, keys[rng_below(&f->rng, 4)]};
    rb_reset(&f->want);
    for (int i = 0; i < 2; i++) {
        mkey *k = km_get(&f->m, names[i], strlen(names[i]));
        if (!k)
            continue;
        if (k->type != MT_LIST) {
            rb_err(&f->want, WRONGTYPE);
            break;
        }
        mstr e = pop(k, left);
        rb_arr(&f->want, 2);
        rb_bulk(&f->want, names[i], strlen(names[i]));
        rb_str(&f->want, &e);
        free(e.p);
        km_drop_if_empty(&f->m, k);
        break;
    }
    if (f->want.len == 0)
        return false;
    ca_str(&f->a, left ? "BLPOP" : "BRPOP");
    ca_str(&f->a, names[0]);
    ca_str(&f->a, names[1]);
    ca_str(&f->a, "0");
    return true;
}

static void list_step(mfix *f)
{
    const char *key = keys[rng_below(&f->rng, 20) == 0 ? 3 : rng_below(&f->rng, 3)];
    mkey *k = km_get(&f->m, key, strlen(key));
    long cmd = rng_below(&f->rng, 18);
    ca_reset(&f->a);
    rb_reset(&f->want);
    if (k && k->type != MT_LIST) {
        static const char *const any[] = {"LLEN", "LPOP", "RPOP"};
        ca_str(&f->a, any[cmd % 3]);
        ca_str(&f->a, key);
        rb_err(&f->want, WRONGTYPE);
        mfix_check(f, 0);
        return;
    }
    switch (cmd) {
    case 0: case 1: case 2: case 16: step_push(f, k, key); break;
    case 3: case 4: step_pop(f, k, key); break;
    case 5: step_lrange(f, k, key); break;
    case 6: step_ltrim(f, k, key); break;
    case 7: step_index(f, k, key, false); break;
    case 8: step_index(f, k, key, true); break;
    case 9: step_lrem(f, k, key); break;
    case 10: step_linsert(f, k, key); break;
    case 11: step_lpos(f, k, key); break;
    case 12: case 13:
        if (!step_move(f, k, key))
            return;
        break;
    case 14:
        if (!step_bpop(f, key))
            return;
        break;
    default:
        ca_str(&f->a, "LLEN");
        ca_str(&f->a, key);
        rb_int(&f->want, k ? (long long)k->n : 0);
        break;
    }
    mfix_check(f, 0);
}

static void test_list_random(void **state)
{
    mfix *f = *state;
    mfix_random_run(f, 0xbb67ae8584caa73bULL, 4000, list_step, verify_all);
}

/* ---- the edge cases, one by one ------------------------------------------- */

static void test_list_wrongtype_and_missing(void **state)
{
    mfix *f = *state;
    EXPECT_RAW(f, "+OK\r\n", "SET", "str", "x");
    EXPECT_INT(f, 1, "RPUSH", "l", "a");
    EXPECT_ERR(f, WRONGTYPE, "LPUSH", "str", "a");
    EXPECT_ERR(f, WRONGTYPE, "RPUSH", "str", "a");
    EXPECT_ERR(f, WRONGTYPE, "LPUSHX", "str", "a");
    EXPECT_ERR(f, WRONGTYPE, "RPUSHX", "str", "a");
    EXPECT_ERR(f, WRONGTYPE, "LPOP", "str");
    EXPECT_ERR(f, WRONGTYPE, "RPOP", "str", "2");
    EXPECT_ERR(f, WRONGTYPE, "LLEN", "str");
    EXPECT_ERR(f, WRONGTYPE, "LRANGE", "str", "0", "-1");
    EXPECT_ERR(f, WRONGTYPE, "LINDEX", "str", "0");
    EXPECT_ERR(f, WRONGTYPE, "LSET", "str", "0", "a");
    EXPECT_ERR(f, WRONGTYPE, "LREM", "str", "0", "a");
    EXPECT_ERR(f, WRONGTYPE, "LTRIM", "str", "0", "1");
    EXPECT_ERR(f, WRONGTYPE, "LINSERT", "str", "BEFORE", "a", "b");
    EXPECT_ERR(f, WRONGTYPE, "LPOS", "str", "a");
    EXPECT_ERR(f, WRONGTYPE, "LMOVE", "str", "l", "LEFT", "LEFT");
    EXPECT_ERR(f, WRONGTYPE, "LMOVE", "l", "str", "LEFT", "LEFT");   /* the destination */
    EXPECT_ERR(f, WRONGTYPE, "RPOPLPUSH", "l", "str");
    EXPECT_ERR(f, WRONGTYPE, "BLPOP", "str", "0");
    EXPECT_ERR(f, WRONGTYPE, "BRPOP", "nokey", "str", "0");
    EXPECT_ERR(f, WRONGTYPE, "BLMOVE", "l", "str", "LEFT", "RIGHT", "0");
    EXPECT_ERR(f, WRONGTYPE, "BRPOPLPUSH", "str", "l", "0");
    EXPECT_RAW(f, "*1\r\n$1\r\na\r\n", "LRANGE", "l", "0", "-1");   /* untouched */
    /* a missing source with a wrong-type destination: nothing to move */
    EXPECT_RAW(f, "$-1\r\n", "LMOVE", "nokey", "str", "LEFT", "LEFT");
    EXPECT_RAW(f, "$-1\r\n", "LPOP", "nokey");
    EXPECT_RAW(f, "*-1\r\n", "LPOP", "nokey", "2");
    EXPECT_RAW(f, "*-1\r\n", "RPOP", "nokey", "0");
    EXPECT_RAW(f, "*0\r\n", "LPOP", "l", "0");
    EXPECT_ERR(f, "value is out of range, must be positive", "LPOP", "l", "-1");
    EXPECT_RAW(f, "*0\r\n", "LRANGE", "nokey", "0", "-1");
    EXPECT_RAW(f, "$-1\r\n", "LINDEX", "nokey", "0");
    EXPECT_ERR(f, "no such key", "LSET", "nokey", "0", "a");
    EXPECT_ERR(f, "index out of range", "LSET", "l", "1", "a");
    EXPECT_ERR(f, "index out of range", "LSET", "l", "-2", "a");
    EXPECT_INT(f, 0, "LINSERT", "nokey", "BEFORE", "a", "b");
    EXPECT_INT(f, -1, "LINSERT", "l", "AFTER", "zz", "b");
    EXPECT_ERR(f, "syntax error", "LINSERT", "l", "MIDDLE", "a", "b");
    EXPECT_RAW(f, "+OK\r\n", "LTRIM", "nokey", "0", "1");
    EXPECT_INT(f, 0, "LPUSHX", "nokey", "a");
    EXPECT_INT(f, 0, "EXISTS", "nokey");
    EXPECT_RAW(f, "$-1\r\n", "LPOS", "nokey", "a");
    EXPECT_RAW(f, "*0\r\n", "LPOS", "nokey", "a", "COUNT", "1");
    EXPECT_ERR(f, "RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
                  "or use negative to start from the end of the list", "LPOS", "l", "a", "RANK", "0");
    EXPECT_ERR(f, "COUNT can't be negative", "LPOS", "l", "a", "COUNT", "-1");
    EXPECT_ERR(f, "MAXLEN can't be negative", "LPOS", "l", "a", "MAXLEN", "-1");
    EXPECT_ERR(f, "timeout is negative", "BLPOP", "l", "-1");
    EXPECT_ERR(f, "timeout is not a float or out of range", "BLPOP", "l", "abc");
}

static void test_list_last_element_deletes_the_key(void **state)
{
    mfix *f = *state;
    EXPECT_INT(f, 2, "RPUSH", "l", "a", "b");
    EXPECT_RAW(f, "*2\r\n$1\r\na\r\n$1\r\nb\r\n", "LPOP", "l", "5");
    EXPECT_INT(f, 0, "EXISTS", "l");
    EXPECT_INT(f, 3, "RPUSH", "l", "a", "b", "a");
    EXPECT_INT(f, 1, "LREM", "l", "-1", "a");
    EXPECT_RAW(f, "*2\r\n$1\r\na\r\n$1\r\nb\r\n", "LRANGE", "l", "-100", "100");
    EXPECT_INT(f, 1, "LREM", "l", "0", "a");
    EXPECT_INT(f, 1, "LREM", "l", "0", "b");
    EXPECT_INT(f, 0, "EXISTS", "l");
    EXPECT_INT(f, 2, "RPUSH", "l", "a", "b");
    EXPECT_RAW(f, "+OK\r\n", "LTRIM", "l", "1", "0");     /* start > stop: empties it */
    EXPECT_INT(f, 0, "EXISTS", "l");
    EXPECT_INT(f, 1, "RPUSH", "l", "a");
    EXPECT_RAW(f, "$1\r\na\r\n", "LMOVE", "l", "m", "RIGHT", "LEFT");
    EXPECT_INT(f, 0, "EXISTS", "l");
    EXPECT_RAW(f, "$1\r\na\r\n", "RPOPLPUSH", "m", "m");  /* one element onto itself */
    EXPECT_INT(f, 1, "LLEN", "m");
    EXPECT_RAW(f, "+list\r\n", "TYPE", "m");
}

static void test_list_binary_elements(void **state)
{
    mfix *f = *state;
    ca_reset(&f->a);
    ca_str(&f->a, "RPUSH");
    ca_add(&f->a, "k\0\r\n", 4);
    ca_add(&f->a, "x\0y", 3);
    ca_add(&f->a, "", 0);
    ca_add(&f->a, "$2\r\n", 4);
    rb_reset(&f->want);
    rb_int(&f->want, 3);
    mfix_check(f, 0);
    ca_reset(&f->a);
    ca_str(&f->a, "LRANGE");
    ca_add(&f->a, "k\0\r\n", 4);
    ca_str(&f->a, "-3");
    ca_str(&f->a, "-1");
    rb_reset(&f->want);
    static const char want[] = "*3\r\n$3\r\nx\0y\r\n$0\r\n\r\n$4\r\n$2\r\n\r\n";
    rb_raw(&f->want, want, sizeof want - 1);
    mfix_check(f, 0);
    ca_reset(&f->a);
    ca_str(&f->a, "LPOS");
    ca_add(&f->a, "k\0\r\n", 4);
    ca_add(&f->a, "", 0);
    rb_reset(&f->want);
    rb_int(&f->want, 1);
    mfix_check(f, 0);
    EXPECT_INT(f, 0, "EXISTS", "k");
}

/* ---- blocking: the wait, the push that serves it, the deadline -------------- */

static void test_list_blocking(void **state)
{
    mfix *f = *state;
    client *other = cx_client();
    size_t len;
    char *r = cx_cmd(f->c, &len, "BLPOP", "q1", "q2", "0", NULL);
    assert_int_equal(len, 0);                        /* no reply: it waits */
    assert_true(cx_blocked(f->c));
    assert_int_equal(server.nblocked, 1);            /* a push looks for waiters */
    free(r);
    r = cx_cmd(other, &len, "RPUSH", "q2", "job", NULL);
    assert_string_equal(r, ":1\r\n");
    free(r);
    r = cx_resume(f->c, &len);                       /* what the loop does next */
    assert_string_equal(r, "*2\r\n$2\r\nq2\r\n$3\r\njob\r\n");
    free(r);
    assert_false(cx_blocked(f->c));
    assert_int_equal(server.nblocked, 0);            /* pushes skip the walk again */
    EXPECT_INT(f, 0, "EXISTS", "q2");                /* the pop emptied it */

    r = cx_cmd(f->c, &len, "BLMOVE", "src", "dst", "RIGHT", "LEFT", "0", NULL);
    assert_int_equal(len, 0);
    free(r);
    free(cx_cmd(other, &len, "LPUSH", "src", "a", "b", NULL));
    r = cx_resume(f->c, &len);
    assert_string_equal(r, "$1\r\na\r\n");
    free(r);
    EXPECT_RAW(f, "*1\r\n$1\r\nb\r\n", "LRANGE", "src", "0", "-1");
    EXPECT_RAW(f, "*1\r\n$1\r\na\r\n", "LRANGE", "dst", "0", "-1");

    r = cx_cmd(f->c, &len, "BRPOP", "empty", "0.01", NULL);
    assert_int_equal(len, 0);
    free(r);
    usleep(30 * 1000);                               /* the deadline passes */
    r = cx_resume(f->c, &len);
    assert_string_equal(r, "*-1\r\n");
    free(r);
    assert_false(cx_blocked(f->c));
    assert_int_equal(server.nblocked, 0);            /* a timeout leaves no count */
    cx_client_free(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_list_wrongtype_and_missing, mfix_setup, mfix_teardown),
        cmocka_unit_test_setup_teardown(test_list_last_element_deletes_the_key, mfix_setup, mfix_teardown),
        cmocka_unit_test_setup_teardown(test_list_binary_elements, mfix_setup, mfix_teardown),
        cmocka_unit_test_setup_teardown(test_list_blocking, mfix_setup, mfix_teardown),
        cmocka_unit_test_setup_teardown(test_list_random, mfix_setup, mfix_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
