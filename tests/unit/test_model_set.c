/*
 * test_model_set.c — every set command, run in process through the
 * server's real dispatcher (cmdexec.h), against a model set: a sorted
 * array of byte strings (kvmodel.h).
 *
 * Commands: SADD SREM SISMEMBER SMISMEMBER SCARD SMEMBERS SINTER SUNION
 * SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE SINTERCARD SPOP SRANDMEMBER
 * SMOVE SSCAN.
 *
 * test_set_edges: WRONGTYPE from every command, also when only one of
 * several keys is the wrong type; a set deleted with its last member (SREM,
 * SPOP, SMOVE) and a *STORE of an empty result deleting its destination;
 * count 0 and negative counts; binary members.
 * test_set_random: 4000 seeded mixed commands on three sets and a string,
 * each reply compared with the model (SMEMBERS and the algebra sorted,
 * SPOP / SRANDMEMBER checked for what they promise, SPOP's members taken
 * out of the model); reopen and compaction in the middle (modelfix.h).
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

#include <cmocka.h>

#include "cmdexec.h"
#include "modelfix.h"

#define S(lit) {(char *)(lit), sizeof(lit) - 1}
static const mstr members[] = {
    S("a"), S("b"), S("c"), S("d"), S("e"), S(""), S("x\0y"), S("\r\n"), S("1"), S("22"),
};
static const char *const keys[] = {"s0", "s1", "s2", "str"};
#define NMEMBERS (long)(sizeof members / sizeof *members)

static const mstr *rand_member(mfix *f) { return &members[rng_below(&f->rng, NMEMBERS)]; }
static const char *rand_key(mfix *f) { return keys[rng_below(&f->rng, 20) == 0 ? 3 : rng_below(&f->rng, 3)]; }

static void expect_members(mfix *f, const mkey *k)
{
    rb_arr(&f->want, k ? (long)k->n : 0);
    for (size_t i = 0; k && i < k->n; i++)
        rb_str(&f->want, &k->items[i]);
}

static void verify_all(mfix *f)
{
    for (size_t i = 0; i < 3; i++) {
        mkey *k = km_get(&f->m, keys[i], strlen(keys[i]));
        rb_reset(&f->want);
        expect_members(f, k);
        mfix_expect(f, 1, "SMEMBERS", keys[i], NULL);
        EXPECT_INT(f, k ? (long long)k->n : 0, "SCARD", keys[i]);
        EXPECT_INT(f, k != NULL, "EXISTS", keys[i]);
        mfix_check_scan(f, "SSCAN", keys[i], NULL, 4);
    }
}

/* ---- the set algebra, the model's way ------------------------------------- */

enum { OP_INTER, OP_UNION, OP_DIFF };

/* The result of op over nkeys keys into a temporary key (type MT_SET, not
 * in the model); false if one of them is of the wrong type. */
static bool algebra(mfix *f, int op, const char *const *names, int nkeys, mkey *out)
{
    memset(out, 0, sizeof *out);
    out->type = MT_SET;
    for (int i = 0; i < nkeys; i++) {
        mkey *k = km_get(&f->m, names[i], strlen(names[i]));
        if (k && k->type != MT_SET)
            return false;
    }
    mkey *first = km_get(&f->m, names[0], strlen(names[0]));
    for (size_t j = 0; op != OP_UNION && first && j < first->n; j++) {
        bool keep = true;
        for (int i = 1; i < nkeys; i++) {
            mkey *k = km_get(&f->m, names[i], strlen(names[i]));
            bool in = k && km_find(k, first->items[j].p, first->items[j].len) >= 0;
            if (op == OP_INTER ? !in : in)
                keep = false;
        }
        if (keep)
            km_set_add(out, first->items[j].p, first->items[j].len);
    }
    for (int i = 0; op == OP_UNION && i < nkeys; i++) {
        mkey *k = km_get(&f->m, names[i], strlen(names[i]));
        for (size_t j = 0; k && j < k->n; j++)
            km_set_add(out, k->items[j].p, k->items[j].len);
    }
    return true;
}

static void free_tmp(mkey *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->items[i].p);
    free(k->items);
}

/* SINTER / SUNION / SDIFF, their STORE forms, SINTERCARD. */
static int step_algebra(mfix *f, const char *key)
{
    static const char *const names[] = {"SINTER", "SUNION", "SDIFF"};
    static const char *const stores[] = {"SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"};
    int op = (int)rng_below(&f->rng, 3), form = (int)rng_below(&f->rng, 3);
    int nkeys = 1 + (int)rng_below(&f->rng, 3);
    const char *in[3] = {key, rand_key(f), rand_key(f)};
    const char *dst = keys[rng_below(&f->rng, 4)];
    long limit = rng_below(&f->rng, 4);
    if (form == 2)
        op = OP_INTER;
    ca_str(&f->a, form == 0 ? names[op] : form == 1 ? stores[op] : "SINTERCARD");
    if (form == 1)
        ca_str(&f->a, dst);
    if (form == 2)
        ca_fmt(&f->a, "%d", nkeys);
    for (int i = 0; i < nkeys; i++)
        ca_str(&f->a, in[i]);
    if (form == 2 && limit) {
        ca_str(&f->a, "LIMIT");
        ca_fmt(&f->a, "%ld", limit);
    }
    mkey res;
    if (!algebra(f, op, in, nkeys, &res)) {
        rb_err(&f->want, WRONGTYPE);
        free_tmp(&res);
        return 0;
    }
    if (form == 0)
        expect_members(f, &res);
    else if (form == 2)
        rb_int(&f->want, limit && (long)res.n > limit ? limit : (long long)res.n);
    else {
        rb_int(&f->want, (long long)res.n);
        km_copy_into(&f->m, dst, strlen(dst), MT_SET, res.items, NULL, res.n);
    }
    free_tmp(&res);
    return form == 0;
}

/* ---- one random command each ---------------------------------------------- */

/* SADD / SREM of one to three members (repeats allowed). */
static void step_add_rem(mfix *f, mkey *k, const char *key, bool add)
{
    long n = 1 + rng_below(&f->rng, 3), changed = 0;
    ca_str(&f->a, add ? "SADD" : "SREM");
    ca_str(&f->a, key);
    if (add && !k)
        k = km_create(&f->m, key, strlen(key), MT_SET);
    for (long i = 0; i < n; i++) {
        const mstr *m = rand_member(f);
        ca_ms(&f->a, m);
        if (k)
            changed += add ? km_set_add(k, m->p, m->len) : km_set_rem(k, m->p, m->len);
    }
    rb_int(&f->want, changed);
    km_drop_if_empty(&f->m, k);
}

static void step_ismember(mfix *f, mkey *k, const char *key, bool multi)
{
    long n = multi ? 1 + rng_below(&f->rng, 4) : 1;
    ca_str(&f->a, multi ? "SMISMEMBER" : "SISMEMBER");
    ca_str(&f->a, key);
    if (multi)
        rb_arr(&f->want, n);
    for (long i = 0; i < n; i++) {
        const mstr *m = rand_member(f);
        ca_ms(&f->a, m);
        rb_int(&f->want, k && km_find(k, m->p, m->len) >= 0);
    }
}

static void step_smove(mfix *f, mkey *k, const char *key)
{
    const char *dst = rand_key(f);
    const mstr *m = rand_member(f);
    ca_str(&f->a, "SMOVE");
    ca_str(&f->a, key);
    ca_str(&f->a, dst);
    ca_ms(&f->a, m);
    mkey *d = km_get(&f->m, dst, strlen(dst));
    if (!k) {
        rb_int(&f->want, 0);
    } else if (d && d->type != MT_SET) {
        rb_err(&f->want, WRONGTYPE);
    } else if (d == k || km_find(k, m->p, m->len) < 0) {
        rb_int(&f->want, km_find(k, m->p, m->len) >= 0 && d == k);
    } else {
        km_set_rem(k, m->p, m->len);
        km_drop_if_empty(&f->m, k);
        km_set_add(km_get_or_create(&f->m, dst, strlen(dst), MT_SET), m->p, m->len);
        rb_int(&f->want, 1);
    }
}

/* What SPOP did, for the trace: the SREM of the members it popped. */
static void trace_srem(mfix *f, const char *key, const mstr *popped, long n)
{
    cargs t;
    char want[32];
    ca_reset(&t);
    ca_str(&t, "SREM");
    ca_str(&t, key);
    for (long i = 0; i < n; i++)
        ca_ms(&t, &popped[i]);
    int wl = snprintf(want, sizeof want, ":%ld\r\n", n);
    mfix_trace(f, &t, want, (size_t)wl, 0);
}

/* SPOP / SRANDMEMBER with a count: a sample; SPOP's leaves the model. */
static void step_sample(mfix *f, mkey *k, const char *key, bool pop)
{
    long count = pop ? rng_below(&f->rng, 5) : rng_below(&f->rng, 11) - 5;
    ca_str(&f->a, pop ? "SPOP" : "SRANDMEMBER");
    ca_str(&f->a, key);
    ca_fmt(&f->a, "%ld", count);
    size_t len;
    char *r = run_args(f->c, &f->a, &len);
    mstr got[16];
    long n = mfix_check_sample(k, r, len, count, false, got, 16);
    if (pop && n > 0)
        trace_srem(f, key, got, n);
    for (long i = 0; i < n && i < 16; i++) {
        if (pop)
            km_set_rem(k, got[i].p, got[i].len);
        free(got[i].p);
    }
    if (pop)
        km_drop_if_empty(&f->m, k);
    free(r);
}

/* SPOP / SRANDMEMBER without a count: one member or null. */
static void step_one(mfix *f, mkey *k, const char *key, bool pop)
{
    ca_str(&f->a, pop ? "SPOP" : "SRANDMEMBER");
    ca_str(&f->a, key);
    size_t len;
    char *r = run_args(f->c, &f->a, &len);
    if (!k) {
        assert_string_equal(r, "$-1\r\n");
    } else {
        const char *body = strstr(r, "\r\n") + 2;
        size_t blen = (size_t)strtol(r + 1, NULL, 10);
        assert_true(km_find(k, body, blen) >= 0);
        if (pop) {
            mstr m = {(char *)body, blen};
            trace_srem(f, key, &m, 1);
            km_set_rem(k, body, blen);
            km_drop_if_empty(&f->m, k);
        }
    }
    free(r);
}

static void set_step(mfix *f)
{
    const char *key = rand_key(f);
    mkey *k = km_get(&f->m, key, strlen(key));
    long cmd = rng_below(&f->rng, 16);
    ca_reset(&f->a);
    rb_reset(&f->want);
    int unordered = 0;
    if (k && k->type != MT_SET && cmd != 11) {     /* the algebra checks every key itself */
        static const char *const any[] = {"SCARD", "SMEMBERS", "SPOP", "SRANDMEMBER"};
        ca_str(&f->a, any[cmd % 4]);
        ca_str(&f->a, key);
        rb_err(&f->want, WRONGTYPE);
        mfix_check(f, 0);
        return;
    }
    switch (cmd) {
    case 0: case 1: case 2: step_add_rem(f, k, key, true); break;
    case 3: case 4: step_add_rem(f, k, key, false); break;
    case 5: step_ismember(f, k, key, false); break;
    case 6: step_ismember(f, k, key, true); break;
    case 7:
        ca_str(&f->a, "SCARD");
        ca_str(&f->a, key);
        rb_int(&f->want, k ? (long long)k->n : 0);
        break;
    case 8:
        ca_str(&f->a, "SMEMBERS");
        ca_str(&f->a, key);
        expect_members(f, k);
        unordered = 1;
        break;
    case 9: case 10: case 11: unordered = step_algebra(f, key); break;
    case 12: step_smove(f, k, key); break;
    case 13: step_sample(f, k, key, rng_below(&f->rng, 2)); return;
    case 14: step_one(f, k, key, rng_below(&f->rng, 2)); return;
    default:
        mfix_check_scan(f, "SSCAN", key, rng_below(&f->rng, 2) ? "?" : NULL, 1 + rng_below(&f->rng, 5));
        return;
    }
    mfix_check(f, unordered);
}

static void test_set_random(void **state)
{
    mfix *f = *state;
    mfix_random_run(f, 0x3c6ef372fe94f82bULL, 4000, set_step, verify_all);
}

/* ---- the edge cases, one by one ------------------------------------------- */

static void test_set_wrongtype_and_missing(void **state)
{
    mfix *f = *state;
    EXPECT_RAW(f, "+OK\r\n", "SET", "str", "x");
    EXPECT_INT(f, 2, "SADD", "s", "a", "b");
    EXPECT_ERR(f, WRONGTYPE, "SADD", "str", "a");
    EXPECT_ERR(f, WRONGTYPE, "SREM", "str", "a");
    EXPECT_ERR(f, WRONGTYPE, "SISMEMBER", "str", "a");
    EXPECT_ERR(f, WRONGTYPE, "SMISMEMBER", "str", "a");
    EXPECT_ERR(f, WRONGTYPE, "SCARD", "str");
    EXPECT_ERR(f, WRONGTYPE, "SMEMBERS", "str");
    EXPECT_ERR(f, WRONGTYPE, "SINTER", "s", "str");
    EXPECT_ERR(f, WRONGTYPE, "SINTER", "nokey", "str");    /* every key is checked */
    EXPECT_ERR(f, WRONGTYPE, "SUNION", "s", "str");
    EXPECT_ERR(f, WRONGTYPE, "SDIFF", "s", "str");
    EXPECT_ERR(f, WRONGTYPE, "SINTERSTORE", "d", "s", "str");
    EXPECT_ERR(f, WRONGTYPE, "SUNIONSTORE", "d", "str");
    EXPECT_ERR(f, WRONGTYPE, "SDIFFSTORE", "d", "str", "s");
    EXPECT_ERR(f, WRONGTYPE, "SINTERCARD", "2", "s", "str");
    EXPECT_ERR(f, WRONGTYPE, "SPOP", "str");
    EXPECT_ERR(f, WRONGTYPE, "SPOP", "str", "2");
    EXPECT_ERR(f, WRONGTYPE, "SRANDMEMBER", "str");
    EXPECT_ERR(f, WRONGTYPE, "SRANDMEMBER", "str", "-2");
    EXPECT_ERR(f, WRONGTYPE, "SMOVE", "str", "s", "a");
    EXPECT_ERR(f, WRONGTYPE, "SMOVE", "s", "str", "a");
    EXPECT_ERR(f, WRONGTYPE, "SSCAN", "str", "0");
    EXPECT_INT(f, 0, "SMOVE", "nokey", "str", "a");       /* no source: nothing to check */
    EXPECT_INT(f, 2, "SCARD", "s");                       /* untouched */
    EXPECT_INT(f, 0, "SCARD", "nokey");
    EXPECT_RAW(f, "*0\r\n", "SMEMBERS", "nokey");
    EXPECT_RAW(f, "*2\r\n:0\r\n:1\r\n", "SMISMEMBER", "s", "zz", "a");
    EXPECT_RAW(f, "*2\r\n:0\r\n:0\r\n", "SMISMEMBER", "nokey", "a", "b");
    EXPECT_RAW(f, "*0\r\n", "SINTER", "s", "nokey");
    EXPECT_RAW(f, "$-1\r\n", "SPOP", "nokey");
    EXPECT_RAW(f, "*0\r\n", "SPOP", "nokey", "2");
    EXPECT_RAW(f, "$-1\r\n", "SRANDMEMBER", "nokey");
    EXPECT_RAW(f, "*0\r\n", "SRANDMEMBER", "nokey", "-2");
    EXPECT_RAW(f, "*0\r\n", "SPOP", "s", "0");
    EXPECT_RAW(f, "*0\r\n", "SRANDMEMBER", "s", "0");
    EXPECT_ERR(f, "value is out of range, must be positive", "SPOP", "s", "-1");
    EXPECT_ERR(f, "numkeys should be greater than 0", "SINTERCARD", "0", "s");
    EXPECT_ERR(f, "LIMIT can't be negative", "SINTERCARD", "1", "s", "LIMIT", "-1");
    EXPECT_ERR(f, "Number of keys can't be greater than number of args", "SINTERCARD", "3", "s");
    EXPECT_INT(f, 1, "SINTERCARD", "1", "s", "LIMIT", "1");
    EXPECT_INT(f, 2, "SINTERCARD", "1", "s", "LIMIT", "0");
    EXPECT_INT(f, 0, "EXISTS", "nokey");
}

static void test_set_empty_sets_are_deleted(void **state)
{
    mfix *f = *state;
    EXPECT_INT(f, 2, "SADD", "s", "a", "b");
    EXPECT_INT(f, 2, "SREM", "s", "a", "b", "c");
    EXPECT_INT(f, 0, "EXISTS", "s");
    EXPECT_INT(f, 1, "SADD", "s", "a");
    EXPECT_RAW(f, "$1\r\na\r\n", "SPOP", "s");
    EXPECT_INT(f, 0, "EXISTS", "s");
    EXPECT_INT(f, 2, "SADD", "s", "a", "b");
    mkey *k = km_create(&f->m, "s", 1, MT_SET);
    km_set_add(k, "a", 1), km_set_add(k, "b", 1);
    size_t len;
    char *r = cx_cmd(f->c, &len, "SPOP", "s", "5", NULL);
    assert_int_equal(mfix_check_sample(k, r, len, 5, false, NULL, 0), 2);   /* all of them */
    free(r);
    EXPECT_INT(f, 0, "EXISTS", "s");
    EXPECT_INT(f, 1, "SADD", "s", "a");
    EXPECT_INT(f, 1, "SMOVE", "s", "t", "a");
    EXPECT_INT(f, 0, "EXISTS", "s");
    EXPECT_INT(f, 1, "SISMEMBER", "t", "a");
    EXPECT_INT(f, 1, "SMOVE", "t", "t", "a");             /* onto itself: a member, unchanged */
    EXPECT_INT(f, 1, "SCARD", "t");
    /* a *STORE whose result is empty deletes the destination, whatever it was */
    EXPECT_RAW(f, "+OK\r\n", "SET", "dst", "string");
    EXPECT_INT(f, 0, "SINTERSTORE", "dst", "t", "nokey");
    EXPECT_INT(f, 0, "EXISTS", "dst");
    EXPECT_INT(f, 1, "SUNIONSTORE", "dst", "t");
    EXPECT_RAW(f, "+set\r\n", "TYPE", "dst");
    EXPECT_INT(f, 0, "SDIFFSTORE", "dst", "t", "dst");
    EXPECT_INT(f, 0, "EXISTS", "dst");
}

static void test_set_negative_counts_repeat(void **state)
{
    mfix *f = *state;
    EXPECT_INT(f, 1, "SADD", "one", "only");
    mkey *k = km_create(&f->m, "one", 3, MT_SET);
    km_set_add(k, "only", 4);
    size_t len;
    char *r = cx_cmd(f->c, &len, "SRANDMEMBER", "one", "-4", NULL);
    assert_int_equal(mfix_check_sample(k, r, len, -4, false, NULL, 0), 4);
    assert_string_equal(r, "*4\r\n$4\r\nonly\r\n$4\r\nonly\r\n$4\r\nonly\r\n$4\r\nonly\r\n");
    free(r);
    r = cx_cmd(f->c, &len, "SRANDMEMBER", "one", "4", NULL);
    assert_string_equal(r, "*1\r\n$4\r\nonly\r\n");      /* positive: each once */
    free(r);
}

static void test_set_binary_members(void **state)
{
    mfix *f = *state;
    ca_reset(&f->a);
    ca_str(&f->a, "SADD");
    ca_add(&f->a, "b\0", 2);
    ca_add(&f->a, "x\0y", 3);
    ca_add(&f->a, "x\0z", 3);
    ca_add(&f->a, "\r\n", 2);
    ca_add(&f->a, "", 0);
    ca_add(&f->a, "x", 1);
    rb_reset(&f->want);
    rb_int(&f->want, 5);
    mfix_check(f, 0);
    ca_reset(&f->a);
    ca_str(&f->a, "SMISMEMBER");
    ca_add(&f->a, "b\0", 2);
    ca_add(&f->a, "x\0y", 3);
    ca_add(&f->a, "x\0", 2);
    ca_add(&f->a, "", 0);
    rb_reset(&f->want);
    rb_raw(&f->want, "*3\r\n:1\r\n:0\r\n:1\r\n", 16);
    mfix_check(f, 0);
    EXPECT_INT(f, 0, "EXISTS", "b");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_set_wrongtype_and_missing, mfix_setup, mfix_teardown),
        cmocka_unit_test_setup_teardown(test_set_empty_sets_are_deleted, mfix_setup, mfix_teardown),
        cmocka_unit_test_setup_teardown(test_set_negative_counts_repeat, mfix_setup, mfix_teardown),
        cmocka_unit_test_setup_teardown(test_set_binary_members, mfix_setup, mfix_teardown),
        cmocka_unit_test_setup_teardown(test_set_random, mfix_setup, mfix_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
