/*
 * test_model_hash.c — every hash command, run in process through the
 * server's real dispatcher (cmdexec.h), against a model hash: a sorted
 * array of fields with their values (kvmodel.h).
 *
 * Commands: HSET HMSET HSETNX HGET HMGET HDEL HEXISTS HLEN HSTRLEN HGETALL
 * HKEYS HVALS HINCRBY HINCRBYFLOAT HSCAN HRANDFIELD.
 *
 * test_hash_edges: the cases Redis 7 documents or does, one by one — the
 * exact WRONGTYPE text from every command, a hash deleted with its last
 * field (EXISTS 0), binary fields and values (NUL, CR LF, empty), integer
 * and float errors and overflow, HRANDFIELD's count 0 / negative counts
 * (repetition allowed) / WITHVALUES.
 * test_hash_random: a seeded sequence of 4000 mixed commands on three
 * hashes and a string, each reply compared with the model's; the engine is
 * reopened and compacted in the middle (modelfix.h) and every hash is
 * compared whole (HGETALL, HLEN, HSCAN) after each.
 *
 * Order: HGETALL, HKEYS, HVALS and HSCAN's order is unspecified in Redis,
 * so those replies are compared sorted (cx_sorted); replies of random
 * commands are checked for what they promise (membership, distinctness,
 * count), not for which members were drawn.
 *
 * Interview topics: none (a test).
 */
#include <math.h>
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

/* Valgrind computes long double in 64 bits, so HINCRBYFLOAT's infinity
 * checks (Redis adds in long double) step aside under it. */
#include "on_valgrind.h"

#define S(lit) {(char *)(lit), sizeof(lit) - 1}
static const mstr fields[] = {
    S("a"), S("b"), S("c"), S("d"), S("e"), S("f"), S(""), S("x\0y"), S("\r\n"),
    S("a-much-longer-field-name-than-the-others"),
};
static const mstr values[] = {S("1"), S("-5"), S("10"), S("abc"), S("1.5"), S(""), S("v\0\r\n")};
static const char *const keys[] = {"h0", "h1", "h2", "str"};
#define NFIELDS (long)(sizeof fields / sizeof *fields)
#define NVALUES (long)(sizeof values / sizeof *values)

static const mstr *rand_field(mfix *f) { return &fields[rng_below(&f->rng, NFIELDS)]; }
static const mstr *rand_value(mfix *f) { return &values[rng_below(&f->rng, NVALUES)]; }

/* ---- one random command each ------------------------------------------------ */

static void step_hset(mfix *f, mkey *k, const char *key, const char *cmd)
{
    long pairs = 1 + rng_below(&f->rng, 3);
    ca_str(&f->a, cmd);
    ca_str(&f->a, key);
    long added = 0;
    const mstr *fv[6];
    for (long i = 0; i < pairs; i++) {
        fv[2 * i] = rand_field(f);
        fv[2 * i + 1] = rand_value(f);
        ca_ms(&f->a, fv[2 * i]);
        ca_ms(&f->a, fv[2 * i + 1]);
    }
    if (!k)
        k = km_create(&f->m, key, strlen(key), MT_HASH);
    for (long i = 0; i < pairs; i++)
        added += km_hash_set(k, fv[2 * i]->p, fv[2 * i]->len, fv[2 * i + 1]->p, fv[2 * i + 1]->len);
    if (strcmp(cmd, "HSET") == 0)
        rb_int(&f->want, added);
    else
        rb_ok(&f->want);
}

static void step_hsetnx(mfix *f, mkey *k, const char *key)
{
    const mstr *fl = rand_field(f), *v = rand_value(f);
    ca_str(&f->a, "HSETNX");
    ca_str(&f->a, key);
    ca_ms(&f->a, fl);
    ca_ms(&f->a, v);
    if (!k)
        k = km_create(&f->m, key, strlen(key), MT_HASH);
    bool absent = km_find(k, fl->p, fl->len) < 0;
    if (absent)
        km_hash_set(k, fl->p, fl->len, v->p, v->len);
    rb_int(&f->want, absent);
}

/* HGET, HEXISTS, HSTRLEN: one field, looked up. */
static void step_field_read(mfix *f, mkey *k, const char *key, int which)
{
    static const char *const names[] = {"HGET", "HEXISTS", "HSTRLEN"};
    const mstr *fl = rand_field(f);
    ca_str(&f->a, names[which]);
    ca_str(&f->a, key);
    ca_ms(&f->a, fl);
    long pos = k ? km_find(k, fl->p, fl->len) : -1;
    if (which == 0 && pos >= 0)
        rb_str(&f->want, &k->vals[pos]);
    else if (which == 0)
        rb_null(&f->want);
    else if (which == 1)
        rb_int(&f->want, pos >= 0);
    else
        rb_int(&f->want, pos >= 0 ? (long long)k->vals[pos].len : 0);
}

static void step_hmget(mfix *f, mkey *k, const char *key)
{
    long n = 1 + rng_below(&f->rng, 4);
    ca_str(&f->a, "HMGET");
    ca_str(&f->a, key);
    rb_arr(&f->want, n);
    for (long i = 0; i < n; i++) {
        const mstr *fl = rand_field(f);
        ca_ms(&f->a, fl);
        long pos = k ? km_find(k, fl->p, fl->len) : -1;
        if (pos >= 0)
            rb_str(&f->want, &k->vals[pos]);
        else
            rb_null(&f->want);
    }
}

static void step_hdel(mfix *f, mkey *k, const char *key)
{
    long n = 1 + rng_below(&f->rng, 3), removed = 0;
    ca_str(&f->a, "HDEL");
    ca_str(&f->a, key);
    for (long i = 0; i < n; i++) {
        const mstr *fl = rand_field(f);
        ca_ms(&f->a, fl);
        long pos = k ? km_find(k, fl->p, fl->len) : -1;
        if (pos >= 0) {
            km_remove_at(k, (size_t)pos);
            removed++;
        }
    }
    rb_int(&f->want, removed);
    km_drop_if_empty(&f->m, k);
}

/* HLEN, HKEYS, HVALS, HGETALL: the whole hash. Returns the unordered group. */
static int step_whole(mfix *f, mkey *k, const char *key, int which)
{
    static const char *const names[] = {"HLEN", "HKEYS", "HVALS", "HGETALL"};
    ca_str(&f->a, names[which]);
    ca_str(&f->a, key);
    if (which == 0) {
        rb_int(&f->want, k ? (long long)k->n : 0);
        return 0;
    }
    rb_arr(&f->want, k ? (long)k->n * (which == 3 ? 2 : 1) : 0);
    for (size_t i = 0; k && i < k->n; i++) {
        if (which != 2)
            rb_str(&f->want, &k->items[i]);
        if (which != 1)
            rb_str(&f->want, &k->vals[i]);
    }
    return which == 3 ? 2 : 1;
}

static void verify_all(mfix *f)
{
    for (size_t i = 0; i < 3; i++) {
        mkey *k = km_get(&f->m, keys[i], strlen(keys[i]));
        ca_reset(&f->a);
        rb_reset(&f->want);
        mfix_check(f, step_whole(f, k, keys[i], 3));     /* HGETALL */
        EXPECT_INT(f, k ? (long long)k->n : 0, "HLEN", keys[i]);
        EXPECT_INT(f, k != NULL, "EXISTS", keys[i]);     /* 0 exactly when empty */
        mfix_check_scan(f, "HSCAN", keys[i], NULL, 3);
    }
}

/* Redis's strict integer syntax (string2ll): optional '-', no '+', no
 * leading zeros, no spaces, fits in a long long. */
static bool strict_ll(const mstr *s, long long *out)
{
    if (s->len == 0 || s->len > 20)
        return false;
    char buf[32];
    memcpy(buf, s->p, s->len);
    buf[s->len] = '\0';
    char *end;
    long long v = strtoll(buf, &end, 10);
    char back[32];
    snprintf(back, sizeof back, "%lld", v);
    if (*end || strcmp(back, buf) != 0)
        return false;
    *out = v;
    return true;
}

static void step_hincrby(mfix *f, mkey *k, const char *key)
{
    const mstr *fl = rand_field(f);
    long long incr = rng_below(&f->rng, 7) - 3, cur = 0;
    ca_str(&f->a, "HINCRBY");
    ca_str(&f->a, key);
    ca_ms(&f->a, fl);
    ca_fmt(&f->a, "%lld", incr);
    long pos = k ? km_find(k, fl->p, fl->len) : -1;
    if (pos >= 0 && !strict_ll(&k->vals[pos], &cur)) {
        rb_err(&f->want, "hash value is not an integer");
        return;
    }
    char v[32];
    int vl = snprintf(v, sizeof v, "%lld", cur + incr);
    if (!k)
        k = km_create(&f->m, key, strlen(key), MT_HASH);
    km_hash_set(k, fl->p, fl->len, v, (size_t)vl);
    rb_int(&f->want, cur + incr);
}

static void step_hincrbyfloat(mfix *f, mkey *k, const char *key)
{
    static const char *const incrs[] = {"0.5", "-1.25", "2", "-0.75"};
    const mstr *fl = rand_field(f);
    const char *incr = incrs[rng_below(&f->rng, 4)];
    ca_str(&f->a, "HINCRBYFLOAT");
    ca_str(&f->a, key);
    ca_ms(&f->a, fl);
    ca_str(&f->a, incr);
    long pos = k ? km_find(k, fl->p, fl->len) : -1;
    double cur = 0;
    if (pos >= 0) {
        char *end;
        cur = strtod(k->vals[pos].p, &end);   /* values are NUL-terminated copies */
        if (k->vals[pos].len == 0 || end != k->vals[pos].p + k->vals[pos].len) {
            rb_err(&f->want, "hash value is not a float");
            return;
        }
    }
    rbuf num = {0};
    rb_double(&num, cur + strtod(incr, NULL));   /* "$n\r\n<digits>\r\n" */
    rb_raw(&f->want, num.p, num.len);
    char *digits = strstr(num.p, "\r\n") + 2;
    if (!k)
        k = km_create(&f->m, key, strlen(key), MT_HASH);
    km_hash_set(k, fl->p, fl->len, digits, strlen(digits) - 2);
    rb_free(&num);
}

/* HRANDFIELD key count [WITHVALUES]: checked for what it promises. */
static void check_hrandfield(mfix *f, mkey *k, const char *key, long count, bool withvalues)
{
    ca_reset(&f->a);
    ca_str(&f->a, "HRANDFIELD");
    ca_str(&f->a, key);
    ca_fmt(&f->a, "%ld", count);
    if (withvalues)
        ca_str(&f->a, "WITHVALUES");
    size_t len;
    char *r = run_args(f->c, &f->a, &len);
    mfix_check_sample(k, r, len, count, withvalues, NULL, 0);
    free(r);
}

static void step_hrandfield(mfix *f, mkey *k, const char *key)
{
    if (rng_below(&f->rng, 3) == 0) {              /* no count: one field or null */
        ca_str(&f->a, "HRANDFIELD");
        ca_str(&f->a, key);
        size_t len;
        char *r = run_args(f->c, &f->a, &len);
        if (!k) {
            assert_string_equal(r, "$-1\r\n");
        } else {
            const char *body = strstr(r, "\r\n") + 2;
            assert_true(km_find(k, body, (size_t)strtol(r + 1, NULL, 10)) >= 0);
        }
        free(r);
        return;
    }
    check_hrandfield(f, k, key, rng_below(&f->rng, 13) - 6, rng_below(&f->rng, 2));
}

static void hash_step(mfix *f)
{
    const char *key = keys[rng_below(&f->rng, 20) == 0 ? 3 : rng_below(&f->rng, 3)];
    mkey *k = km_get(&f->m, key, strlen(key));
    long cmd = rng_below(&f->rng, 17);
    ca_reset(&f->a);
    rb_reset(&f->want);
    if (k && k->type != MT_HASH) {                 /* "str": every command refuses */
        static const char *const any[] = {"HGET", "HEXISTS", "HSTRLEN", "HDEL"};
        ca_str(&f->a, cmd == 16 ? "HLEN" : any[cmd % 4]);
        ca_str(&f->a, key);
        if (cmd != 16)
            ca_ms(&f->a, rand_field(f));
        rb_err(&f->want, WRONGTYPE);
        mfix_check(f, 0);
        return;
    }
    int unordered = 0;
    switch (cmd) {
    case 0: case 1: step_hset(f, k, key, "HSET"); break;
    case 2: step_hset(f, k, key, "HMSET"); break;
    case 3: step_hsetnx(f, k, key); break;
    case 4: case 5: case 6: step_field_read(f, k, key, (int)(cmd - 4)); break;
    case 7: step_hmget(f, k, key); break;
    case 8: case 9: step_hdel(f, k, key); break;
    case 10: case 11: case 12: unordered = step_whole(f, k, key, (int)rng_below(&f->rng, 4)); break;
    case 13: step_hincrby(f, k, key); break;
    case 14: step_hincrbyfloat(f, k, key); break;
    case 15: step_hrandfield(f, k, key); return;
    default:
        mfix_check_scan(f, "HSCAN", key, rng_below(&f->rng, 2) ? "?" : NULL, 1 + rng_below(&f->rng, 5));
        return;
    }
    mfix_check(f, unordered);
}

static void test_hash_random(void **state)
{
    mfix *f = *state;
    mfix_random_run(f, 0x6a09e667f3bcc909ULL, 4000, hash_step, verify_all);
}

static void test_hash_wrongtype_and_missing(void **state)
{
    mfix *f = *state;
    EXPECT_RAW(f, "+OK\r\n", "SET", "str", "x");
    EXPECT_ERR(f, WRONGTYPE, "HSET", "str", "f", "v");
    EXPECT_ERR(f, WRONGTYPE, "HMSET", "str", "f", "v");
    EXPECT_ERR(f, WRONGTYPE, "HSETNX", "str", "f", "v");
    EXPECT_ERR(f, WRONGTYPE, "HGET", "str", "f");
    EXPECT_ERR(f, WRONGTYPE, "HMGET", "str", "f", "g");
    EXPECT_ERR(f, WRONGTYPE, "HDEL", "str", "f");
    EXPECT_ERR(f, WRONGTYPE, "HEXISTS", "str", "f");
    EXPECT_ERR(f, WRONGTYPE, "HLEN", "str");
    EXPECT_ERR(f, WRONGTYPE, "HSTRLEN", "str", "f");
    EXPECT_ERR(f, WRONGTYPE, "HGETALL", "str");
    EXPECT_ERR(f, WRONGTYPE, "HKEYS", "str");
    EXPECT_ERR(f, WRONGTYPE, "HVALS", "str");
    EXPECT_ERR(f, WRONGTYPE, "HINCRBY", "str", "f", "1");
    EXPECT_ERR(f, WRONGTYPE, "HINCRBYFLOAT", "str", "f", "1");
    EXPECT_ERR(f, WRONGTYPE, "HSCAN", "str", "0");
    EXPECT_ERR(f, WRONGTYPE, "HRANDFIELD", "str");
    EXPECT_ERR(f, WRONGTYPE, "HRANDFIELD", "str", "2");
    EXPECT_RAW(f, "$1\r\nx\r\n", "GET", "str");   /* untouched */
    /* a missing key is an empty hash */
    EXPECT_RAW(f, "*0\r\n", "HGETALL", "nokey");
    EXPECT_RAW(f, "*0\r\n", "HKEYS", "nokey");
    EXPECT_RAW(f, "*0\r\n", "HVALS", "nokey");
    EXPECT_INT(f, 0, "HLEN", "nokey");
    EXPECT_INT(f, 0, "HSTRLEN", "nokey", "f");
    EXPECT_INT(f, 0, "HDEL", "nokey", "f");
    EXPECT_RAW(f, "$-1\r\n", "HGET", "nokey", "f");
    EXPECT_RAW(f, "*2\r\n$-1\r\n$-1\r\n", "HMGET", "nokey", "f", "g");
    EXPECT_RAW(f, "$-1\r\n", "HRANDFIELD", "nokey");
    EXPECT_RAW(f, "*0\r\n", "HRANDFIELD", "nokey", "3");
    EXPECT_RAW(f, "*0\r\n", "HRANDFIELD", "nokey", "-3", "WITHVALUES");
    EXPECT_RAW(f, "*2\r\n$1\r\n0\r\n*0\r\n", "HSCAN", "nokey", "0");
    EXPECT_INT(f, 0, "EXISTS", "nokey");
}

static void test_hash_last_field_deletes_the_key(void **state)
{
    mfix *f = *state;
    EXPECT_INT(f, 2, "HSET", "h", "a", "1", "b", "2");
    EXPECT_INT(f, 1, "HDEL", "h", "a", "a", "zz");      /* a twice counts once */
    EXPECT_INT(f, 1, "EXISTS", "h");
    EXPECT_INT(f, 1, "HDEL", "h", "b");
    EXPECT_INT(f, 0, "EXISTS", "h");
    EXPECT_INT(f, 0, "HLEN", "h");
    EXPECT_RAW(f, "+none\r\n", "TYPE", "h");
    EXPECT_INT(f, 1, "HSET", "h2", "a", "1", "a", "2");  /* the last value wins */
    EXPECT_RAW(f, "$1\r\n2\r\n", "HGET", "h2", "a");
    EXPECT_ERR(f, "wrong number of arguments for 'hset' command", "HSET", "h2", "a", "1", "b");
    EXPECT_ERR(f, "wrong number of arguments for 'hmset' command", "HMSET", "h2", "a", "1", "b");
    EXPECT_ERR(f, "wrong number of arguments for 'hset' command", "HSET", "h2", "a");
}

static void test_hash_binary_fields(void **state)
{
    mfix *f = *state;
    rb_reset(&f->want);
    rb_int(&f->want, 3);
    ca_reset(&f->a);
    ca_str(&f->a, "HSET");
    ca_add(&f->a, "b\0in", 4);
    ca_add(&f->a, "x\0y", 3), ca_add(&f->a, "\r\n\0", 3);
    ca_add(&f->a, "", 0), ca_add(&f->a, "", 0);
    ca_add(&f->a, "\r\n", 2), ca_add(&f->a, "*1\r\n", 4);
    mfix_check(f, 0);
    rb_reset(&f->want);
    rb_arr(&f->want, 6);
    rb_bulk(&f->want, "", 0), rb_bulk(&f->want, "", 0);
    rb_bulk(&f->want, "\r\n", 2), rb_bulk(&f->want, "*1\r\n", 4);
    rb_bulk(&f->want, "x\0y", 3), rb_bulk(&f->want, "\r\n\0", 3);
    ca_reset(&f->a);
    ca_str(&f->a, "HGETALL");
    ca_add(&f->a, "b\0in", 4);
    mfix_check(f, 2);
    rb_reset(&f->want);
    rb_int(&f->want, 3);
    ca_reset(&f->a);
    ca_str(&f->a, "HSTRLEN");
    ca_add(&f->a, "b\0in", 4);
    ca_add(&f->a, "x\0y", 3);
    mfix_check(f, 0);
    EXPECT_INT(f, 0, "EXISTS", "b");                   /* the key is the 4 bytes */
}

static void test_hash_numbers(void **state)
{
    mfix *f = *state;
    EXPECT_INT(f, 1, "HSET", "n", "max", "9223372036854775807");
    EXPECT_ERR(f, "increment or decrement would overflow", "HINCRBY", "n", "max", "1");
    EXPECT_INT(f, -9223372036854775807LL - 1, "HINCRBY", "n", "min", "-9223372036854775808");
    EXPECT_ERR(f, "increment or decrement would overflow", "HINCRBY", "n", "min", "-1");
    EXPECT_ERR(f, "value is not an integer or out of range", "HINCRBY", "n", "x", "abc");
    EXPECT_ERR(f, "value is not an integer or out of range", "HINCRBY", "n", "x", "1.5");
    EXPECT_INT(f, 1, "HSET", "n", "txt", "12a");
    EXPECT_ERR(f, "hash value is not an integer", "HINCRBY", "n", "txt", "1");
    EXPECT_ERR(f, "hash value is not a float", "HINCRBYFLOAT", "n", "txt", "1");
    EXPECT_ERR(f, "value is not a valid float", "HINCRBYFLOAT", "n", "x", "abc");
    EXPECT_RAW(f, "$4\r\n10.5\r\n", "HINCRBYFLOAT", "n", "x", "10.5");
    EXPECT_RAW(f, "$1\r\n3\r\n", "HINCRBYFLOAT", "n", "x", "-7.5");
    EXPECT_INT(f, 5, "HINCRBY", "n", "x", "2");        /* "3" is an integer again */
    if (RUNNING_ON_VALGRIND)
        return;
    EXPECT_ERR(f, "value is NaN or Infinity", "HINCRBYFLOAT", "n", "x", "inf");
    /* Redis adds in long double: 1e308 + 1e308 is finite there; near
     * long double's maximum (1.19e4932) the sum is not */
    EXPECT_INT(f, 1, "HSET", "n", "big", "1e4932");
    EXPECT_ERR(f, "increment would produce NaN or Infinity", "HINCRBYFLOAT", "n", "big", "1e4932");
    EXPECT_INT(f, 0, "HEXISTS", "n", "x2");
}

static void test_hash_randfield_counts(void **state)
{
    mfix *f = *state;
    EXPECT_INT(f, 2, "HSET", "r", "a", "1", "b", "2");
    mkey *k = km_create(&f->m, "r", 1, MT_HASH);
    km_hash_set(k, "a", 1, "1", 1);
    km_hash_set(k, "b", 1, "2", 1);
    EXPECT_RAW(f, "*0\r\n", "HRANDFIELD", "r", "0");
    EXPECT_RAW(f, "*0\r\n", "HRANDFIELD", "r", "0", "WITHVALUES");
    check_hrandfield(f, k, "r", 5, false);     /* more than there are: each once */
    check_hrandfield(f, k, "r", 1, true);
    check_hrandfield(f, k, "r", -7, false);    /* negative: 7, repeated */
    check_hrandfield(f, k, "r", -7, true);
    EXPECT_ERR(f, "value is not an integer or out of range", "HRANDFIELD", "r", "x");
    EXPECT_ERR(f, "syntax error", "HRANDFIELD", "r", "1", "WITHSCORES");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hash_wrongtype_and_missing, mfix_setup, mfix_teardown),
        cmocka_unit_test_setup_teardown(test_hash_last_field_deletes_the_key, mfix_setup, mfix_teardown),
        cmocka_unit_test_setup_teardown(test_hash_binary_fields, mfix_setup, mfix_teardown),
        cmocka_unit_test_setup_teardown(test_hash_numbers, mfix_setup, mfix_teardown),
        cmocka_unit_test_setup_teardown(test_hash_randfield_counts, mfix_setup, mfix_teardown),
        cmocka_unit_test_setup_teardown(test_hash_random, mfix_setup, mfix_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
