/*
 * test_client_reply.c — the RESP2/RESP3 reader of libchalk (client/reply.c)
 * and the request builder (client/format.c), byte by byte.
 *
 * Every valid reply is fed whole, then split at every byte into two
 * feeds, then one byte per feed: all three must build the same tree.
 * Every hostile reply (CVE-2021-32762's class: huge announced lengths,
 * negative lengths, million-deep nesting) must give CHALKC_EPROTOCOL
 * without allocating from the announced number.
 */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <chalk/client.h>

/* Renders a tree compactly so trees from different feeds can be compared. */
static void dump(const chalkc_reply *r, char *out, size_t cap)
{
    char tmp[256];
    if (r->attribute) {
        strncat(out, "|", cap - strlen(out) - 1);
        dump(r->attribute, out, cap);
    }
    snprintf(tmp, sizeof(tmp), "%s(%lld,%zu,%.*s,%s)[",
             chalkc_reply_type_name(r->type), r->integer, r->len,
             (int)(r->len > 40 ? 40 : r->len), r->str ? r->str : "",
             r->vtype);
    strncat(out, tmp, cap - strlen(out) - 1);
    for (size_t i = 0; i < r->elements; i++)
        dump(r->element[i], out, cap);
    strncat(out, "]", cap - strlen(out) - 1);
}

/* Feeds data in pieces cut at the given points; returns get()'s result. */
static int parse_split(const char *data, size_t len, size_t cut,
                       size_t step, chalkc_reply **out)
{
    chalkc_reader *rd = chalkc_reader_new();
    int rc = 0;
    size_t pos = 0;
    *out = NULL;
    while (pos < len) {
        size_t n = step ? step : (pos < cut ? cut - pos : len - pos);
        if (n > len - pos)
            n = len - pos;
        assert_int_equal(chalkc_reader_feed(rd, data + pos, n) <= 0, 1);
        pos += n;
        rc = chalkc_reader_get(rd, out);
        if (rc != 0)
            break;
    }
    if (rc == 1)
        assert_int_equal(chalkc_reader_pending(rd), len - pos);
    chalkc_reader_free(rd);
    return rc;
}

static void check_all_splits(const char *data, size_t len, const char *want)
{
    char whole[4096] = "", piece[4096];
    chalkc_reply *r;
    assert_int_equal(parse_split(data, len, len, 0, &r), 1);
    dump(r, whole, sizeof(whole));
    chalkc_reply_free(r);
    if (want)
        assert_string_equal(whole, want);
    for (size_t cut = 1; cut < len; cut++) {
        piece[0] = '\0';
        assert_int_equal(parse_split(data, len, cut, 0, &r), 1);
        dump(r, piece, sizeof(piece));
        chalkc_reply_free(r);
        assert_string_equal(piece, whole);
    }
    piece[0] = '\0';
    assert_int_equal(parse_split(data, len, 0, 1, &r), 1);
    dump(r, piece, sizeof(piece));
    chalkc_reply_free(r);
    assert_string_equal(piece, whole);
}

#define CHECK(lit, want) check_all_splits(lit, sizeof(lit) - 1, want)

static void test_resp2_types(void **state)
{
    (void)state;
    CHECK("+OK\r\n", "status(0,2,OK,)[]");
    CHECK("-ERR bad\r\n", "error(0,7,ERR bad,)[]");
    CHECK(":-42\r\n", "integer(-42,3,-42,)[]");
    CHECK("$5\r\nhe\0lo\r\n", "string(0,5,he,)[]");
    CHECK("$0\r\n\r\n", "string(0,0,,)[]");
    CHECK("$-1\r\n", "nil(0,0,,)[]");
    CHECK("*-1\r\n", "nil(0,0,,)[]");
    CHECK("*0\r\n", "array(0,0,,)[]");
    CHECK("*2\r\n*1\r\n:1\r\n$1\r\nx\r\n",
          "array(0,0,,)[array(0,0,,)[integer(1,1,1,)[]]string(0,1,x,)[]]");
}

static void test_resp3_types(void **state)
{
    (void)state;
    CHECK("_\r\n", "nil(0,0,,)[]");
    CHECK("#t\r\n", "boolean(1,1,t,)[]");
    CHECK("#f\r\n", "boolean(0,1,f,)[]");
    CHECK(",3.25\r\n", "double(0,4,3.25,)[]");
    CHECK(",-inf\r\n", "double(0,4,-inf,)[]");
    CHECK("(3492890328409238509324850943850943825024385\r\n", NULL);
    CHECK("!9\r\nERR oops!\r\n", "error(0,9,ERR oops!,)[]");
    CHECK("=15\r\ntxt:Some string\r\n", "verbatim(0,11,Some string,txt)[]");
    CHECK("%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n",
          "map(0,0,,)[status(0,1,a,)[]integer(1,1,1,)[]status(0,1,b,)[]"
          "integer(2,1,2,)[]]");
    CHECK("~2\r\n+a\r\n#t\r\n", "set(0,0,,)[status(0,1,a,)[]boolean(1,1,t,)[]]");
    CHECK(">3\r\n+message\r\n+ch\r\n$2\r\nhi\r\n", NULL);
    /* An attribute describes the reply that follows it. */
    CHECK("|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n",
          "|attribute(0,0,,)[status(0,3,ttl,)[]integer(3600,4,3600,)[]]"
          "string(0,1,v,)[]");
    CHECK("*2\r\n:1\r\n|1\r\n+k\r\n+v\r\n:2\r\n",
          "array(0,0,,)[integer(1,1,1,)[]|attribute(0,0,,)[status(0,1,k,)[]"
          "status(0,1,v,)[]]integer(2,1,2,)[]]");
    chalkc_reply *r;
    assert_int_equal(parse_split(",1.5\r\n", 6, 6, 0, &r), 1);
    assert_true(r->dval == 1.5);
    chalkc_reply_free(r);
}

/* Two replies back to back: the second stays buffered after the first. */
static void test_pipelined_replies(void **state)
{
    (void)state;
    const char in[] = "+OK\r\n:7\r\n$-1\r\n";
    chalkc_reader *rd = chalkc_reader_new();
    chalkc_reply *r;
    assert_int_equal(chalkc_reader_feed(rd, in, sizeof(in) - 1), 0);
    assert_int_equal(chalkc_reader_get(rd, &r), 1);
    assert_int_equal(r->type, CHALKC_REPLY_STATUS);
    chalkc_reply_free(r);
    assert_int_equal(chalkc_reader_get(rd, &r), 1);
    assert_int_equal(r->integer, 7);
    chalkc_reply_free(r);
    assert_int_equal(chalkc_reader_get(rd, &r), 1);
    assert_int_equal(r->type, CHALKC_REPLY_NIL);
    chalkc_reply_free(r);
    assert_int_equal(chalkc_reader_get(rd, &r), 0);
    assert_null(r);
    chalkc_reader_free(rd);
}

/* Feeds a hostile input whole, split at every byte, and byte by byte:
 * every way must fail, and none may hand out a reply. */
static void expect_protocol_error(const char *data, size_t len)
{
    chalkc_reply *r;
    for (size_t cut = 1; cut <= len; cut++) {
        int rc = parse_split(data, len, cut, 0, &r);
        assert_null(r);
        assert_int_equal(rc, CHALKC_EPROTOCOL);
    }
    assert_int_equal(parse_split(data, len, 0, 1, &r), CHALKC_EPROTOCOL);
    assert_null(r);
}
#define BAD(lit) expect_protocol_error(lit, sizeof(lit) - 1)

static void test_hostile_lengths(void **state)
{
    (void)state;
    BAD("*9223372036854775807\r\n");
    BAD("*9223372036854775808\r\n");   /* overflows long long */
    BAD("*4294967296\r\n");
    BAD("%1152921504606846976\r\n");   /* 2n would overflow size_t math */
    BAD("$-2\r\n");
    BAD("*-2\r\n");
    BAD("$9999999999\r\n");
    BAD("$99999999999999999999999\r\n");
    BAD("$\r\n");
    BAD("$1x\r\n");
    BAD(":12a\r\n");
    BAD(":\r\n");
    BAD("#x\r\n");
    BAD("_x\r\n");
    BAD(",abc\r\n");
    BAD("(12a\r\n");
    BAD("=2\r\nab\r\n");               /* verbatim without "fmt:" */
    BAD("$1\r\nabX\r\n");              /* payload longer than announced */
    BAD("?\r\n");
    BAD("*?\r\n");                     /* streamed aggregates: not supported */
    BAD("|1\r\n+a\r\n+b\r\n|1\r\n+c\r\n+d\r\n+x\r\n");
}

/* A number announced but not sent must not be allocated: the reader holds
 * only what arrived. Checked with mallinfo2 outside sanitizer builds. */
static void test_no_allocation_from_announced_length(void **state)
{
    (void)state;
    const char in[] = "*2147483647\r\n:1\r\n:2\r\n:3\r\n";
    chalkc_reader *rd = chalkc_reader_new();
    chalkc_reply *r;
#ifndef CHALK_SANITIZE
    struct mallinfo2 before = mallinfo2();
#endif
    assert_int_equal(chalkc_reader_feed(rd, in, sizeof(in) - 1), 0);
    assert_int_equal(chalkc_reader_get(rd, &r), 0); /* waiting for more */
    assert_int_equal(chalkc_reader_pending(rd), 0); /* all items consumed... */
    assert_int_equal(chalkc_reader_busy(rd), 1);    /* ...mid-reply still */
#ifndef CHALK_SANITIZE
    struct mallinfo2 after = mallinfo2();
    assert_true(after.uordblks - before.uordblks < 64 * 1024);
#endif
    chalkc_reader_free(rd);

    /* $ with a big but legal length: nothing is allocated for the payload
     * until it has all arrived. */
    rd = chalkc_reader_new();
    const char bulk[] = "$536870912\r\nabc";
#ifndef CHALK_SANITIZE
    before = mallinfo2();
#endif
    assert_int_equal(chalkc_reader_feed(rd, bulk, sizeof(bulk) - 1), 0);
    assert_int_equal(chalkc_reader_get(rd, &r), 0);
#ifndef CHALK_SANITIZE
    after = mallinfo2();
    assert_true(after.uordblks - before.uordblks < 64 * 1024);
#endif
    chalkc_reader_free(rd);
}

static void test_million_deep_nesting(void **state)
{
    (void)state;
    size_t n = 1000000;
    char *in = malloc(n * 4 + 4);
    for (size_t i = 0; i < n; i++)
        memcpy(in + i * 4, "*1\r\n", 4);
    memcpy(in + n * 4, ":1\r\n", 4);
    chalkc_reader *rd = chalkc_reader_new();
    chalkc_reply *r;
    assert_int_equal(chalkc_reader_feed(rd, in, n * 4 + 4), 0);
    assert_int_equal(chalkc_reader_get(rd, &r), CHALKC_EPROTOCOL);
    assert_non_null(strstr(chalkc_reader_errstr(rd), "nested too deep"));
    /* Sticky: the reader stays failed. */
    assert_int_equal(chalkc_reader_feed(rd, "+OK\r\n", 5), CHALKC_EPROTOCOL);
    chalkc_reader_free(rd);
    /* Exactly at the limit is fine. */
    rd = chalkc_reader_new();
    for (int i = 0; i < CHALKC_MAX_DEPTH; i++)
        chalkc_reader_feed(rd, "*1\r\n", 4);
    chalkc_reader_feed(rd, ":1\r\n", 4);
    assert_int_equal(chalkc_reader_get(rd, &r), 1);
    chalkc_reply_free(r);
    chalkc_reader_free(rd);
    free(in);
}

/* A hostile reply cut short (the peer closes mid-reply) leaves the
 * reader waiting, never crashing; freeing the half-built tree is clean. */
static void test_truncated_replies_free_cleanly(void **state)
{
    (void)state;
    const char in[] = "*3\r\n%1\r\n+k\r\n|1\r\n+a\r\n*2\r\n:1\r\n";
    for (size_t cut = 0; cut < sizeof(in) - 1; cut++) {
        chalkc_reader *rd = chalkc_reader_new();
        chalkc_reply *r;
        chalkc_reader_feed(rd, in, cut);
        assert_int_equal(chalkc_reader_get(rd, &r), 0);
        chalkc_reader_free(rd);
    }
}

static void test_format(void **state)
{
    (void)state;
    char *out;
    size_t len;
    const char *argv[] = {"SET", "k\r\n", ""};
    assert_int_equal(chalkc_format_argv(&out, &len, 3, argv, NULL), 0);
    assert_int_equal(len, strlen("*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$0\r\n\r\n"));
    assert_memory_equal(out, "*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$0\r\n\r\n", len);
    free(out);
}

static int fmt(char **out, size_t *len, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int rc = chalkc_format_command(out, len, f, ap);
    va_end(ap);
    return rc;
}

static void test_format_printf(void **state)
{
    (void)state;
    char *out;
    size_t len;
    /* Words split at spaces; %s may hold a space; %b may hold a NUL. */
    assert_int_equal(fmt(&out, &len, "SET key:%d %s %b 100%%", 7, "a b",
                         "x\0y", (size_t)3), 0);
    const char want5[] = "*5\r\n$3\r\nSET\r\n$5\r\nkey:7\r\n$3\r\na b\r\n"
                         "$3\r\nx\0y\r\n$4\r\n100%\r\n";
    assert_int_equal(len, sizeof(want5) - 1);
    assert_memory_equal(out, want5, len);
    free(out);
    assert_int_equal(fmt(&out, &len, "GET %q", "x"), CHALKC_EINVAL);
    assert_int_equal(fmt(&out, &len, "   "), CHALKC_EINVAL);
    assert_int_equal(fmt(&out, &len, "INCRBY %s %lld", "n", -5LL), 0);
    assert_memory_equal(out, "*3\r\n$6\r\nINCRBY\r\n$1\r\nn\r\n$2\r\n-5\r\n", len);
    free(out);
}

/* Pub/sub messages in both shapes; anything else is refused. */
static void test_message_parse(void **state)
{
    (void)state;
    static const struct {
        const char *wire;
        int rc;
        const char *kind, *channel, *payload;
    } cases[] = {
        {"*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n", 0, "message", "ch", "hi"},
        {">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n", 0, "message", "ch", "hi"},
        {">4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$2\r\nch\r\n$1\r\nx\r\n", 0,
         "pmessage", "ch", "x"},
        {"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n", 0, "subscribe", "ch", NULL},
        {"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n", 0, "unsubscribe", NULL, NULL},
        {"+OK\r\n", CHALKC_EPROTOCOL, NULL, NULL, NULL},
        {"*2\r\n$7\r\nmessage\r\n$2\r\nch\r\n", CHALKC_EPROTOCOL, NULL, NULL, NULL},
        {"*3\r\n:1\r\n$2\r\nch\r\n$2\r\nhi\r\n", CHALKC_EPROTOCOL, NULL, NULL, NULL},
        {"*3\r\n$7\r\nmessage\r\n*0\r\n$2\r\nhi\r\n", CHALKC_EPROTOCOL, NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        chalkc_reply *r;
        chalkc_message m;
        assert_int_equal(parse_split(cases[i].wire, strlen(cases[i].wire),
                                     strlen(cases[i].wire), 0, &r), 1);
        assert_int_equal(chalkc_message_parse(r, &m), cases[i].rc);
        if (cases[i].rc == 0) {
            assert_string_equal(m.kind, cases[i].kind);
            if (cases[i].channel)
                assert_string_equal(m.channel, cases[i].channel);
            else
                assert_null(m.channel);
            if (cases[i].payload)
                assert_string_equal(m.payload, cases[i].payload);
        }
        chalkc_reply_free(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resp2_types),
        cmocka_unit_test(test_resp3_types),
        cmocka_unit_test(test_pipelined_replies),
        cmocka_unit_test(test_hostile_lengths),
        cmocka_unit_test(test_no_allocation_from_announced_length),
        cmocka_unit_test(test_million_deep_nesting),
        cmocka_unit_test(test_truncated_replies_free_cleanly),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_printf),
        cmocka_unit_test(test_message_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
