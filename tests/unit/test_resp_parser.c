/*
 * test_resp_parser.c — the request parser (server/resp_parse.c): the
 * grammar, Redis's exact error texts, the limits, and the promise that
 * nothing is allocated from an announced length. Every input is also fed
 * split at every byte boundary, and the result must not change.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp_parse.h"

static const resp_limits LIM = {.max_bulk = 512LL * 1024 * 1024, .unauthenticated = false};
static const resp_limits UNAUTH = {.max_bulk = 512LL * 1024 * 1024, .unauthenticated = true};

/* Feed `in` in chunks of `step` bytes (0 = whole), keeping unconsumed bytes
 * like a client's query buffer. Collects requests as "arg|arg|;" into out.
 * Returns the last status (RESP_ERROR stops). */
static int feed(const char *in, size_t len, size_t step, const resp_limits *lim,
                char *out, size_t outlen, char *err)
{
    resp_parser p = {0};
    p.bulk_len = -1;
    char *buf = malloc(len + 1);
    size_t have = 0, fed = 0, o = 0;
    int rc = RESP_AGAIN;
    out[0] = '\0';
    while (fed < len || have > 0) {
        size_t n = step && len - fed > step ? step : len - fed;
        memcpy(buf + have, in + fed, n);
        have += n;
        fed += n;
        size_t used;
        rc = resp_parse(&p, buf, have, &used, lim);
        memmove(buf, buf + used, have - used);
        have -= used;
        if (rc == RESP_ERROR) {
            strcpy(err, p.err);
            break;
        }
        if (rc == RESP_DONE) {
            for (int i = 0; i < p.argc; i++)
                o += (size_t)snprintf(out + o, outlen - o, "%.*s|", (int)p.argv[i].len, p.argv[i].ptr);
            o += (size_t)snprintf(out + o, outlen - o, ";");
            resp_parser_reset(&p);
            continue;               /* more requests may be buffered */
        }
        if (n == 0)
            break;                  /* nothing new and nothing parsed */
    }
    resp_parser_free(&p);
    free(buf);
    return rc;
}

/* Whole and split at every step size: the same requests, the same error. */
static void check(const char *in, const resp_limits *lim, const char *want, const char *want_err)
{
    size_t len = strlen(in);
    for (size_t step = 0; step <= len; step++) {
        char out[4096], err[128] = "";
        int rc = feed(in, len, step, lim, out, sizeof out, err);
        assert_string_equal(out, want);
        if (want_err) {
            assert_int_equal(rc, RESP_ERROR);
            assert_string_equal(err, want_err);
        } else {
            assert_int_not_equal(rc, RESP_ERROR);
        }
    }
}

static void test_multibulk(void **state)
{
    check("*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n", &LIM, "ECHO|hi|;", NULL);
    check("*1\r\n$0\r\n\r\n", &LIM, "|;", NULL);
    check("*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n", &LIM, "PING|;PING|;", NULL);
    check("*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n", &LIM, ";;PING|;", NULL);       /* empty requests */
}

/* Binary payloads: a NUL inside a bulk is just a byte. */
static void test_binary_bulk(void **state)
{
    const char in[] = "*2\r\n$3\r\nGET\r\n$3\r\na\0b\r\n";
    resp_parser p = {0};
    p.bulk_len = -1;
    size_t used;
    assert_int_equal(resp_parse(&p, in, sizeof in - 1, &used, &LIM), RESP_DONE);
    assert_int_equal(used, sizeof in - 1);
    assert_int_equal(p.argc, 2);
    assert_int_equal(p.argv[1].len, 3);
    assert_memory_equal(p.argv[1].ptr, "a\0b", 3);
    resp_parser_free(&p);
}

static void test_inline(void **state)
{
    check("PING\r\n", &LIM, "PING|;", NULL);
    check("SET k v\n", &LIM, "SET|k|v|;", NULL);
    check("  ECHO   \"a b\"  'c d'\r\n", &LIM, "ECHO|a b|c d|;", NULL);
    check("ECHO \"\\x41\\n\"\r\n", &LIM, "ECHO|A\n|;", NULL);
    check("\r\n\r\nPING\r\n", &LIM, ";;PING|;", NULL);
    check("ECHO \"abc\r\n", &LIM, "", "Protocol error: unbalanced quotes in request");
    check("ECHO \"a\"b\r\n", &LIM, "", "Protocol error: unbalanced quotes in request");
}

static void test_errors_are_redis_texts(void **state)
{
    check("*2147483648\r\n", &LIM, "", "Protocol error: invalid multibulk length");
    check("*3000000000\r\n", &LIM, "", "Protocol error: invalid multibulk length");
    check("*abc\r\n", &LIM, "", "Protocol error: invalid multibulk length");
    check("*1\r\n$-1\r\n", &LIM, "", "Protocol error: invalid bulk length");
    check("*1\r\n$abc\r\n", &LIM, "", "Protocol error: invalid bulk length");
    check("*1\r\n$536870913\r\n", &LIM, "", "Protocol error: invalid bulk length");
    check("*1\r\nx3\r\n", &LIM, "", "Protocol error: expected '$', got 'x'");
    check("*11\r\n", &UNAUTH, "", "Protocol error: unauthenticated multibulk length");
    check("*1\r\n$16385\r\n", &UNAUTH, "", "Protocol error: unauthenticated bulk length");
}

/* A huge announced count or length costs nothing until bytes arrive. */
static void test_no_allocation_from_announced_length(void **state)
{
    resp_parser p = {0};
    p.bulk_len = -1;
    size_t used;
    const char *h = "*2147483647\r\n";
    assert_int_equal(resp_parse(&p, h, strlen(h), &used, &LIM), RESP_AGAIN);
    assert_int_equal(used, strlen(h));
    assert_int_equal(p.argv_cap, 0);
    const char *b = "$536870912\r\nabc";
    assert_int_equal(resp_parse(&p, b, strlen(b), &used, &LIM), RESP_AGAIN);
    assert_int_equal(used, strlen("$536870912\r\n"));   /* header consumed, payload waits */
    assert_int_equal(p.argv_cap, 0);
    assert_int_equal(p.bulk_len, 536870912);
    resp_parser_free(&p);
}

/* Lines longer than 64 KB without their terminator are refused at 64 KB,
 * whether or not the terminator comes later (so split points don't matter). */
static void test_long_lines(void **state)
{
    size_t n = RESP_INLINE_MAX + 10;
    char *line = malloc(n + 3);
    memset(line, 'a', n);
    memcpy(line + n, "\r\n", 3);
    char out[64], err[128];
    assert_int_equal(feed(line, n + 2, 0, &LIM, out, sizeof out, err), RESP_ERROR);
    assert_string_equal(err, "Protocol error: too big inline request");
    assert_int_equal(feed(line, n, 4096, &LIM, out, sizeof out, err), RESP_ERROR);
    assert_string_equal(err, "Protocol error: too big inline request");
    line[0] = '*';
    assert_int_equal(feed(line, n, 0, &LIM, out, sizeof out, err), RESP_ERROR);
    assert_string_equal(err, "Protocol error: too big mbulk count string");
    free(line);
}

/* resp_peek (the prefetch hint) agrees with resp_parse on every complete
 * multibulk request: same length, same arguments; and sees nothing in any
 * truncated one, nor in inline, empty or malformed requests. */
static void test_peek(void **state)
{
    (void)state;
    static const char *reqs[] = {
        "*2\r\n$3\r\nGET\r\n$5\r\nkey:1\r\n",
        "*3\r\n$3\r\nSET\r\n$0\r\n\r\n$4\r\na\r\nb\r\n",
        "*1\r\n$4\r\nPING\r\n",
        "*4\r\n$4\r\nMSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nzz\r\n",
    };
    for (size_t r = 0; r < sizeof reqs / sizeof *reqs; r++) {
        const char *in = reqs[r];
        size_t len = strlen(in);
        resp_parser p = {0};
        p.bulk_len = -1;
        size_t used;
        assert_int_equal(resp_parse(&p, in, len, &used, &LIM), RESP_DONE);
        resp_slice a[2];
        int argc = -1;
        assert_int_equal(resp_peek(in, len, a, 2, &argc), used);
        assert_int_equal(argc, p.argc);
        for (int i = 0; i < argc && i < 2; i++) {
            assert_int_equal(a[i].len, p.argv[i].len);
            assert_memory_equal(a[i].ptr, p.argv[i].ptr, a[i].len);
            assert_true(a[i].ptr >= in && a[i].ptr + a[i].len <= in + len);
        }
        resp_parser_free(&p);
        for (size_t cut = 0; cut < len; cut++)        /* truncated: nothing */
            assert_int_equal(resp_peek(in, cut, a, 2, &argc), 0);
    }
    static const char *none[] = {
        "GET k\r\n", "*0\r\n", "*-1\r\n", "*1\r\n+PING\r\n", "*1\r\n$-1\r\n",
        "*x\r\n$1\r\na\r\n", "*1\r\n$9999999999999999999\r\na\r\n",
        "*3\r\n$1\r\na\r\n",
    };
    for (size_t r = 0; r < sizeof none / sizeof *none; r++) {
        resp_slice a[2];
        int argc;
        assert_int_equal(resp_peek(none[r], strlen(none[r]), a, 2, &argc), 0);
    }
}

static bool inside(const resp_parser *p, const char *ptr)
{
    uintptr_t a = (uintptr_t)p->arena, x = (uintptr_t)ptr;
    return p->arena != NULL && x >= a && x < a + RESP_ARENA_SIZE;
}

/* Arguments go to the parser's arena while they fit, and each request
 * starts it again (no malloc per argument); an argument that does not fit
 * is malloc'd on its own, and resp_parser_reset frees exactly those (ASan
 * and LeakSanitizer catch a free of an arena pointer or a leak). Every
 * argument keeps its bytes and its NUL, whichever place it is in. */
static void test_argument_arena(void **state)
{
    (void)state;
    resp_parser p = {0};
    p.bulk_len = -1;
    char req[8192], big[RESP_ARENA_SIZE + 1];
    memset(big, 'B', sizeof big);
    for (int round = 0; round < 3; round++) {
        /* a small request: every argument in the arena, from its start */
        const char *small = "*3\r\n$3\r\nSET\r\n$5\r\nkey:1\r\n$1\r\nv\r\n";
        size_t used;
        assert_int_equal(resp_parse(&p, small, strlen(small), &used, &LIM), RESP_DONE);
        assert_ptr_equal(p.argv[0].ptr, p.arena);
        for (int i = 0; i < p.argc; i++) {
            assert_true(inside(&p, p.argv[i].ptr));
            assert_int_equal(p.argv[i].ptr[p.argv[i].len], '\0');
        }
        assert_string_equal(p.argv[1].ptr, "key:1");
        resp_parser_reset(&p);
        /* 40 arguments of 20 bytes (24 with their NUL, aligned): the first
         * 21 fill the arena, the rest are malloc'd; one bigger than the
         * arena is malloc'd even first */
        size_t o = (size_t)snprintf(req, sizeof req, "*42\r\n$%zu\r\n", sizeof big);
        memcpy(req + o, big, sizeof big);
        o += sizeof big;
        o += (size_t)snprintf(req + o, sizeof req - o, "\r\n$4\r\nMSET\r\n");
        for (int i = 0; i < 40; i++)
            o += (size_t)snprintf(req + o, sizeof req - o, "$20\r\nargument-%011d\r\n", i);
        assert_int_equal(resp_parse(&p, req, o, &used, &LIM), RESP_DONE);
        assert_int_equal(used, o);
        assert_int_equal(p.argc, 42);
        assert_false(inside(&p, p.argv[0].ptr));
        assert_memory_equal(p.argv[0].ptr, big, sizeof big);
        assert_int_equal(p.argv[0].ptr[sizeof big], '\0');
        assert_true(inside(&p, p.argv[1].ptr));
        assert_string_equal(p.argv[1].ptr, "MSET");   /* 8 bytes of the arena */
        int in_arena = 0;
        for (int i = 2; i < 42; i++) {
            char want[21];
            snprintf(want, sizeof want, "argument-%011d", i - 2);
            assert_int_equal(p.argv[i].len, 20);
            assert_string_equal(p.argv[i].ptr, want);
            in_arena += inside(&p, p.argv[i].ptr);
        }
        assert_int_equal(in_arena, (RESP_ARENA_SIZE - 8) / 24);
        assert_false(inside(&p, p.argv[41].ptr));
        resp_parser_reset(&p);
    }
    resp_parser_free(&p);
    assert_null(p.arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multibulk),
        cmocka_unit_test(test_binary_bulk),
        cmocka_unit_test(test_inline),
        cmocka_unit_test(test_errors_are_redis_texts),
        cmocka_unit_test(test_no_allocation_from_announced_length),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_peek),
        cmocka_unit_test(test_argument_arena),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
