/*
 * test_client_conn.c — libchalk's connection against a fake server (a
 * thread in this process that answers with canned, often broken, bytes):
 * every failure must come back as its error code, never a crash or hang.
 * Also the breaker's state machine, the backoff bounds, and MD5 vectors.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include <chalk/client.h>

typedef struct fake {
    int lfd;              /* listening socket */
    int port;
    const char *reply;    /* bytes to send after each request */
    size_t reply_len;
    int hang_ms;          /* after replying, wait this long before closing */
    int requests;         /* requests to answer before closing */
    int drip_ms;          /* > 0: send the reply one byte at a time */
    pthread_t th;
} fake;

static void *fake_main(void *arg)
{
    fake *f = arg;
    int fd = accept(f->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    char buf[4096];
    for (int i = 0; i < f->requests; i++) {
        if (read(fd, buf, sizeof(buf)) <= 0)
            break;
        for (size_t k = 0; f->drip_ms && k < f->reply_len; k++) {
            if (send(fd, f->reply + k, 1, MSG_NOSIGNAL) < 0)
                break;
            usleep((useconds_t)f->drip_ms * 1000);
        }
        if (!f->drip_ms && f->reply_len &&
            send(fd, f->reply, f->reply_len, MSG_NOSIGNAL) < 0)
            break;
    }
    if (f->hang_ms)
        usleep((useconds_t)f->hang_ms * 1000);
    close(fd);
    return NULL;
}

static void fake_start(fake *f, const char *reply, size_t len, int requests,
                       int hang_ms)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(f->lfd, 4), 0);
    getsockname(f->lfd, (struct sockaddr *)&sa, &sl);
    f->port = ntohs(sa.sin_port);
    f->reply = reply;
    f->reply_len = len;
    f->requests = requests;
    f->hang_ms = hang_ms;
    pthread_create(&f->th, NULL, fake_main, f);
}

static void fake_stop(fake *f)
{
    pthread_join(f->th, NULL);
    close(f->lfd);
}

static chalkc_conn *connect_to(int port, int read_timeout_ms)
{
    chalkc_options o;
    chalkc_conn *c = NULL;
    chalkc_options_init(&o);
    o.port = port;
    o.read_timeout_ms = read_timeout_ms;
    assert_int_equal(chalkc_connect(&o, &c, NULL, 0), 0);
    return c;
}

/* One GET against a fake that answers `reply`; returns the result code. */
static int one_get(const char *reply, size_t len, int hang_ms, int timeout_ms,
                   chalkc_conn **keep)
{
    fake f = {0};
    fake_start(&f, reply, len, 1, hang_ms);
    chalkc_conn *c = connect_to(f.port, timeout_ms);
    chalkc_reply *r = (chalkc_reply *)1;
    int rc = chalkc_command(c, &r, "GET %s", "k");
    if (rc != 0 && rc != CHALKC_ESERVER)
        assert_null(r);
    chalkc_reply_free(r);
    if (keep)
        *keep = c;
    else
        chalkc_close(c);
    fake_stop(&f);
    return rc;
}
#define GET(lit) one_get(lit, sizeof(lit) - 1, 0, 2000, NULL)

static void test_refused(void **state)
{
    (void)state;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    bind(s, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(s, (struct sockaddr *)&sa, &sl);
    close(s); /* the port is free again: nobody listens */
    chalkc_options o;
    chalkc_options_init(&o);
    o.port = ntohs(sa.sin_port);
    chalkc_conn *c = (chalkc_conn *)1;
    char err[128] = "";
    assert_int_equal(chalkc_connect(&o, &c, err, sizeof(err)), CHALKC_ECONNECT);
    assert_null(c);
    assert_non_null(strstr(err, "refused"));
    o.unix_path = "/nonexistent/chalk.sock";
    assert_int_equal(chalkc_connect(&o, &c, NULL, 0), CHALKC_ECONNECT);
    o.unix_path = NULL;
    o.host = "no-such-host.invalid";
    assert_int_equal(chalkc_connect(&o, &c, NULL, 0), CHALKC_ERESOLVE);
}

static void test_replies_and_server_errors(void **state)
{
    (void)state;
    assert_int_equal(GET("$3\r\nabc\r\n"), 0);
    assert_int_equal(GET("-ERR wrong type\r\n"), CHALKC_ESERVER);
    assert_int_equal(GET("!5\r\nERR x\r\n"), CHALKC_ESERVER);
}

static void test_hostile_replies(void **state)
{
    (void)state;
    assert_int_equal(GET("*9223372036854775807\r\n"), CHALKC_EPROTOCOL);
    assert_int_equal(GET("*4294967296\r\n"), CHALKC_EPROTOCOL);
    assert_int_equal(GET("$-2\r\n"), CHALKC_EPROTOCOL);
    assert_int_equal(GET("$9999999999\r\n"), CHALKC_EPROTOCOL);
    assert_int_equal(GET("@hello\r\n"), CHALKC_EPROTOCOL);
    /* Announced but never sent, then the peer closes: mid-reply close. */
    assert_int_equal(GET("*2147483647\r\n:1\r\n"), CHALKC_ECLOSED);
    assert_int_equal(GET("*3\r\n:1\r\n"), CHALKC_ECLOSED);
    assert_int_equal(GET("$10\r\nabc"), CHALKC_ECLOSED);
    assert_int_equal(GET(""), CHALKC_ECLOSED);
}

static void test_timeout_is_sticky(void **state)
{
    (void)state;
    chalkc_conn *c;
    /* The fake reads the request and answers nothing for 1.5 s. */
    assert_int_equal(one_get("", 0, 1500, 100, &c), CHALKC_ETIMEOUT);
    assert_int_equal(chalkc_conn_error(c), CHALKC_ETIMEOUT);
    chalkc_reply *r;
    assert_int_equal(chalkc_command(c, &r, "PING"), CHALKC_ETIMEOUT);
    assert_null(r);
    assert_non_null(strstr(chalkc_conn_errstr(c), "timed out"));
    chalkc_close(c);
}

/* A server that sends a byte every 30 ms never lets a single wait time
 * out, but the read timeout bounds the whole reply. */
static void test_timeout_bounds_a_dripping_reply(void **state)
{
    (void)state;
    fake f = {.drip_ms = 30};
    const char slow[] = "$40\r\n0123456789012345678901234567890123456789\r\n";
    fake_start(&f, slow, sizeof(slow) - 1, 1, 0);
    chalkc_conn *c = connect_to(f.port, 300);
    chalkc_reply *r;
    assert_int_equal(chalkc_command(c, &r, "GET k"), CHALKC_ETIMEOUT);
    chalkc_close(c);
    fake_stop(&f);
}

static void test_pipeline_order(void **state)
{
    (void)state;
    fake f = {0};
    const char replies[] = "+OK\r\n:2\r\n$1\r\nv\r\n";
    fake_start(&f, replies, sizeof(replies) - 1, 1, 0);
    chalkc_conn *c = connect_to(f.port, 2000);
    chalkc_appendf(c, "SET k v");
    chalkc_appendf(c, "INCR n");
    chalkc_appendf(c, "GET k");
    assert_int_equal(chalkc_pending_replies(c), 3);
    chalkc_reply *r;
    assert_int_equal(chalkc_get_reply(c, &r), 0);
    assert_int_equal(r->type, CHALKC_REPLY_STATUS);
    chalkc_reply_free(r);
    assert_int_equal(chalkc_get_reply(c, &r), 0);
    assert_int_equal(r->integer, 2);
    chalkc_reply_free(r);
    assert_int_equal(chalkc_get_reply(c, &r), 0);
    assert_string_equal(r->str, "v");
    chalkc_reply_free(r);
    assert_int_equal(chalkc_pending_replies(c), 0);
    chalkc_close(c);
    fake_stop(&f);
}

static void test_unix_socket(void **state)
{
    (void)state;
    char dir[] = "/tmp/chalk-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/s.sock", dir);
    fake f = {0};
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    strcpy(sun.sun_path, path);
    f.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(f.lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    listen(f.lfd, 1);
    f.reply = "+PONG\r\n";
    f.reply_len = 7;
    f.requests = 1;
    pthread_create(&f.th, NULL, fake_main, &f);
    chalkc_options o;
    chalkc_options_init(&o);
    o.unix_path = path;
    chalkc_conn *c;
    assert_int_equal(chalkc_connect(&o, &c, NULL, 0), 0);
    chalkc_reply *r;
    assert_int_equal(chalkc_command(c, &r, "PING"), 0);
    assert_string_equal(r->str, "PONG");
    chalkc_reply_free(r);
    chalkc_close(c);
    fake_stop(&f);
    unlink(path);
    rmdir(dir);
}

static void test_breaker_states(void **state)
{
    (void)state;
    chalkc_breaker *b = chalkc_breaker_new(3, 1000);
    int64_t t = 5000;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(chalkc_breaker_allow(b, t), 0);
        chalkc_breaker_record(b, 0, t);
    }
    assert_int_equal(chalkc_breaker_get_state(b), CHALKC_BREAKER_CLOSED);
    chalkc_breaker_record(b, 0, t); /* third consecutive failure */
    assert_int_equal(chalkc_breaker_get_state(b), CHALKC_BREAKER_OPEN);
    assert_int_equal(chalkc_breaker_allow(b, t + 999), CHALKC_EBREAKER);
    /* Cool-down over: exactly one trial goes through. */
    assert_int_equal(chalkc_breaker_allow(b, t + 1000), 0);
    assert_int_equal(chalkc_breaker_get_state(b), CHALKC_BREAKER_HALF_OPEN);
    assert_int_equal(chalkc_breaker_allow(b, t + 1001), CHALKC_EBREAKER);
    chalkc_breaker_record(b, 0, t + 1002); /* trial failed: open again */
    assert_int_equal(chalkc_breaker_get_state(b), CHALKC_BREAKER_OPEN);
    assert_int_equal(chalkc_breaker_allow(b, t + 1500), CHALKC_EBREAKER);
    assert_int_equal(chalkc_breaker_allow(b, t + 2002), 0);
    chalkc_breaker_record(b, 1, t + 2003); /* trial succeeded: closed */
    assert_int_equal(chalkc_breaker_get_state(b), CHALKC_BREAKER_CLOSED);
    assert_string_equal(chalkc_breaker_state_name(CHALKC_BREAKER_HALF_OPEN),
                        "half-open");
    /* A success resets the count of consecutive failures. */
    chalkc_breaker_record(b, 0, t);
    chalkc_breaker_record(b, 0, t);
    chalkc_breaker_record(b, 1, t);
    chalkc_breaker_record(b, 0, t);
    chalkc_breaker_record(b, 0, t);
    assert_int_equal(chalkc_breaker_get_state(b), CHALKC_BREAKER_CLOSED);
    chalkc_breaker_free(b);
}

static void test_backoff_full_jitter(void **state)
{
    (void)state;
    chalkc_retry_policy p = {.max_attempts = 5, .base_delay_ms = 10,
                             .max_delay_ms = 100};
    uint64_t rng = 42;
    int seen_max[8] = {0};
    for (int i = 0; i < 2000; i++) {
        for (int a = 0; a < 6; a++) {
            int d = chalkc_backoff_ms(&p, a, &rng);
            int cap = 10 << a;
            if (cap > 100)
                cap = 100;
            assert_true(d >= 0 && d <= cap);
            if (d > seen_max[a])
                seen_max[a] = d;
        }
    }
    /* Jitter spreads over the whole range, and the range grows. */
    assert_true(seen_max[0] >= 8 && seen_max[3] >= 70 && seen_max[5] >= 90);
    assert_true(chalkc_error_is_transient(CHALKC_ETIMEOUT));
    assert_false(chalkc_error_is_transient(CHALKC_ESERVER));
    assert_false(chalkc_error_is_transient(CHALKC_EPROTOCOL));
}

static void md5_hex(const char *s, size_t len, char out[33])
{
    unsigned char d[16];
    chalkc_md5(s, len, d);
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void test_md5_vectors(void **state)
{
    (void)state;
    char h[33];
    md5_hex("", 0, h);
    assert_string_equal(h, "d41d8cd98f00b204e9800998ecf8427e");
    md5_hex("abc", 3, h);
    assert_string_equal(h, "900150983cd24fb0d6963f7d28e17f72");
    const char *s80 = "1234567890123456789012345678901234567890"
                      "1234567890123456789012345678901234567890";
    md5_hex(s80, 80, h);
    assert_string_equal(h, "57edf4a22be3c955ac49da2e2107b67a");
    const char *s56 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    md5_hex(s56, 56, h);
    assert_string_equal(h, "8215ef0796a20bcaaae116d3876c664a");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_replies_and_server_errors),
        cmocka_unit_test(test_hostile_replies),
        cmocka_unit_test(test_timeout_is_sticky),
        cmocka_unit_test(test_timeout_bounds_a_dripping_reply),
        cmocka_unit_test(test_pipeline_order),
        cmocka_unit_test(test_unix_socket),
        cmocka_unit_test(test_breaker_states),
        cmocka_unit_test(test_backoff_full_jitter),
        cmocka_unit_test(test_md5_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
