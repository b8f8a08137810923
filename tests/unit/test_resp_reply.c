/*
 * test_resp_reply.c — the reply writer (server/reply.c): every type's bytes
 * in RESP3 and its RESP2 degradation, deferred lengths, errors that cannot
 * break framing; and the group-commit hold (networking.c): a held reply and
 * every reply after it stay unsendable until the commit is released.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "reply.h"
#include "server.h"

static client *new_client(int resp)
{
    client *c = calloc(1, sizeof *c);
    c->resp = resp;
    c->fd = -1;
    return c;
}

static void free_client(client *c)
{
    for (reply_block *b = c->reply_head, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    free(c);
    server.pending_writes = NULL;
    server.ready = NULL;
}

/* Everything queued, as one string. */
static char *output(client *c)
{
    static char buf[8192];
    size_t o = 0;
    for (reply_block *b = c->reply_head; b; b = b->next) {
        memcpy(buf + o, b->buf + b->sent, b->used - b->sent);
        o += b->used - b->sent;
    }
    buf[o] = '\0';
    return buf;
}

static void all_types(client *c)
{
    reply_simple(c, "OK");
    reply_long(c, -42);
    reply_bulk(c, "ab", 2);
    reply_null(c);
    reply_null_array(c);
    reply_map(c, 1);
    reply_set(c, 2);
    reply_push(c, 1);
    reply_double(c, 1.5);
    reply_bool(c, 1);
    reply_bignum(c, "123456789012345678901234567890");
    reply_verbatim(c, "txt", "hi", 2);
}

static void test_resp3_types(void **state)
{
    client *c = new_client(3);
    all_types(c);
    assert_string_equal(output(c), "+OK\r\n:-42\r\n$2\r\nab\r\n_\r\n_\r\n%1\r\n~2\r\n>1\r\n,1.5\r\n#t\r\n"
                                   "(123456789012345678901234567890\r\n=6\r\ntxt:hi\r\n");
    free_client(c);
}

static void test_resp2_degradation(void **state)
{
    client *c = new_client(2);
    all_types(c);
    assert_string_equal(output(c), "+OK\r\n:-42\r\n$2\r\nab\r\n$-1\r\n*-1\r\n*2\r\n*2\r\n*1\r\n$3\r\n1.5\r\n"
                                   ":1\r\n$30\r\n123456789012345678901234567890\r\n$2\r\nhi\r\n");
    free_client(c);
}

static void test_errors(void **state)
{
    client *c = new_client(2);
    reply_error(c, "bad\r\nthing");
    reply_error(c, ERR_WRONGTYPE);
    reply_errorf(c, "n=%d", 7);
    assert_string_equal(output(c), "-ERR bad  thing\r\n-WRONGTYPE Operation against a key holding "
                                   "the wrong kind of value\r\n-ERR n=7\r\n");
    free_client(c);
}

static void test_deferred_length(void **state)
{
    client *c = new_client(3);
    reply_simple(c, "A");
    void *slot = reply_deferred(c);
    reply_long(c, 1);
    reply_long(c, 2);
    reply_set_deferred_array(c, slot, 2);
    void *m = reply_deferred(c);
    reply_set_deferred_map(c, m, 0);
    assert_string_equal(output(c), "+A\r\n*2\r\n:1\r\n:2\r\n%0\r\n");
    assert_int_equal(c->out_total, strlen(output(c)));
    free_client(c);
}

static void test_big_reply_spans_blocks(void **state)
{
    client *c = new_client(2);
    size_t n = 100000;
    char *big = malloc(n);
    memset(big, 'x', n);
    reply_bulk(c, big, n);
    assert_int_equal(c->reply_bytes, n + strlen("$100000\r\n\r\n"));
    struct iovec iov[8];
    size_t bytes;
    client_out_iov(c, iov, 8, &bytes);
    assert_int_equal(bytes, c->reply_bytes);
    free(big);
    free_client(c);
}

/* reply_bulk writes a bulk string straight into the tail block when it
 * fits, else piecewise: the bytes and the counters must be the same either
 * way, for strings that end exactly at, or straddle, a block's end, and for
 * one appended behind a filled deferred length (a 32-byte block). */
static void test_bulks_across_block_edges(void **state)
{
    client *c = new_client(2);
    size_t cap = 200000, n = 0;
    char *want = malloc(cap), *got = malloc(cap), val[64];
    memset(val, 'v', sizeof val);
    void *slot = reply_deferred(c);
    reply_set_deferred_array(c, slot, 3000);
    n += (size_t)snprintf(want + n, cap - n, "*3000\r\n");
    for (int i = 0; i < 3000; i++) {
        size_t len = (size_t)(i * 7) % sizeof val;   /* 0..63, empty ones too */
        reply_bulk(c, len ? val : NULL, len);
        n += (size_t)snprintf(want + n, cap - n, "$%zu\r\n", len);
        memcpy(want + n, val, len);
        n += len;
        memcpy(want + n, "\r\n", 2);
        n += 2;
    }
    size_t o = 0, blocks = 0;
    for (reply_block *b = c->reply_head; b; b = b->next, blocks++) {
        assert_true(b->used <= b->size);
        memcpy(got + o, b->buf + b->sent, b->used - b->sent);
        o += b->used - b->sent;
    }
    assert_true(blocks > 3);                 /* the edges were crossed */
    assert_int_equal(o, n);
    assert_memory_equal(got, want, n);
    assert_int_equal(c->out_total, n);
    assert_int_equal(c->reply_bytes, n);
    free(want);
    free(got);
    free_client(c);
}

/* The hold: replies after hold_reply_begin are not sendable until
 * hold_reply_release, and releases go in order. */
static void test_hold_until_commit(void **state)
{
    client *c = new_client(2);
    struct iovec iov[8];
    size_t bytes;
    reply_simple(c, "BEFORE");                 /* an earlier, unheld reply */
    assert_int_equal(hold_reply_begin(c), 0);
    reply_ok(c);                               /* write #1's reply */
    assert_int_equal(hold_reply_begin(c), 0);
    reply_ok(c);                               /* write #2's reply */
    reply_long(c, 5);                          /* a read after them */
    client_out_iov(c, iov, 8, &bytes);
    assert_int_equal(bytes, strlen("+BEFORE\r\n"));   /* only what precedes the hold */
    assert_int_equal(c->commits_pending, 2);
    hold_reply_release(c, 0);                  /* write #1 durable */
    client_out_iov(c, iov, 8, &bytes);
    assert_int_equal(bytes, strlen("+BEFORE\r\n+OK\r\n"));
    hold_reply_release(c, 0);                  /* write #2 durable */
    client_out_iov(c, iov, 8, &bytes);
    assert_int_equal(bytes, strlen("+BEFORE\r\n+OK\r\n+OK\r\n:5\r\n"));
    assert_int_equal(c->commits_pending, 0);
    free_client(c);
}

int main(void)
{
    server.cfg.loglevel = LL_NOTHING;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resp3_types),
        cmocka_unit_test(test_resp2_degradation),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_deferred_length),
        cmocka_unit_test(test_big_reply_spans_blocks),
        cmocka_unit_test(test_bulks_across_block_edges),
        cmocka_unit_test(test_hold_until_commit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
