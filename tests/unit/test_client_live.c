/*
 * test_client_live.c — libchalk against real redis-server processes that
 * this test starts (and always stops): the pool's bound, wait timeout and
 * health check; retries only for idempotent calls and the breaker opening;
 * pub/sub in RESP2 subscribed mode and as RESP3 pushes; Redlock on three
 * servers, with one and then two of them down; AUTH and HELLO.
 * The pool, retry/breaker and AUTH/HELLO tests run against chalk-server
 * too (from $CHALK_BIN_DIR, as ctest sets it); pub/sub and Redlock need
 * commands chalk-server may not have yet, and run against it in
 * tests/e2e/test_client_examples.py once it has them. Each kind is skipped
 * when its binary is missing.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <setjmp.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <chalk/client.h>

#define REDIS "/usr/bin/redis-server"

extern char **environ;

/* Which server a test runs against (the cmocka state). */
typedef struct server_kind {
    const char *name;      /* "redis" or "chalk" */
    char bin[512];         /* its binary */
} server_kind;

typedef struct server {
    const server_kind *kind;
    pid_t pid;
    int port;
    char dir[64];
} server;

static server_kind redis_kind = {"redis", REDIS};
static server_kind chalk_kind = {"chalk", ""};

static int free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    bind(s, (struct sockaddr *)&sa, sizeof(sa));
    getsockname(s, (struct sockaddr *)&sa, &sl);
    close(s);
    return ntohs(sa.sin_port);
}

static chalkc_conn *try_connect(int port, const char *password, int proto)
{
    chalkc_options o;
    chalkc_conn *c = NULL;
    chalkc_options_init(&o);
    o.port = port;
    o.password = password;
    o.protocol = proto;
    o.read_timeout_ms = 5000;
    chalkc_connect(&o, &c, NULL, 0);
    return c;
}

/* Every server process a test spawned and has not stopped yet, by value: a
 * failed assertion longjmps out of the test (its stack, and the server
 * structs on it, are gone), so the teardown stop_spawned() stops these and
 * removes their directories. Without it a failing test left its server
 * running. */
typedef struct spawned {
    pid_t pid;
    char dir[64];
} spawned;
static spawned live[16];

static void live_add(pid_t pid, const char *dir)
{
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        if (live[i].pid == 0) {
            live[i].pid = pid;
            snprintf(live[i].dir, sizeof live[i].dir, "%s", dir);
            return;
        }
    fail_msg("more than 16 live servers in one test");
}

static void live_remove(pid_t pid)
{
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        if (live[i].pid == pid)
            live[i].pid = 0;
}

static int stop_spawned(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++) {
        if (live[i].pid == 0)
            continue;
        kill(live[i].pid, SIGKILL);
        waitpid(live[i].pid, NULL, 0);
        live[i].pid = 0;
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", live[i].dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", live[i].dir);
    }
    return 0;
}

/* Spawns the server's process, output to /dev/null. */
static void server_spawn(server *s, const char *password)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", s->port);
    const char *redis_argv[] = {s->kind->bin, "--port", port, "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no", "--dir", s->dir,
                                password ? "--requirepass" : NULL, password, NULL};
    const char *chalk_argv[] = {s->kind->bin, "--port", port, "--bind", "127.0.0.1",
                                "--dir", s->dir,
                                password ? "--requirepass" : NULL, password, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    char *const *argv = (char *const *)(s->kind == &redis_kind ? redis_argv : chalk_argv);
    assert_int_equal(posix_spawn(&s->pid, s->kind->bin, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    live_add(s->pid, s->dir);
}

/* Starts the server on s->port (a free one the first time) and waits for
 * it to answer. A process that exits at once is respawned: right after a
 * restart the old listening socket can linger for a moment. */
static void server_start(server *s, const char *password)
{
    if (!s->port)
        s->port = free_port();
    if (!s->dir[0]) {
        snprintf(s->dir, sizeof(s->dir), "/tmp/chalk-live-XXXXXX");
        assert_non_null(mkdtemp(s->dir));
    }
    server_spawn(s, password);
    for (int i = 0; i < 200; i++) { /* up to 10 s for the first PONG */
        chalkc_conn *c = try_connect(s->port, password, 0);
        if (c) {
            chalkc_close(c);
            return;
        }
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
            live_remove(s->pid);
            server_spawn(s, password);
        }
        usleep(50000);
    }
    fail_msg("%s did not start", s->kind->name);
}

/* Is anything still accepting connections on the port? */
static int port_listening(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int up = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return up;
}

/* Stops the server and waits until its port refuses connections: with
 * io_uring the listening socket can outlive the process for a moment, and
 * a connection made then would land in a backlog nobody will accept. */
static void server_stop(server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        live_remove(s->pid);
        s->pid = 0;
        for (int i = 0; i < 250 && port_listening(s->port); i++)
            usleep(20000);
    }
}

static void server_cleanup(server *s)
{
    char cmd[128];
    server_stop(s);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", s->dir);
    if (s->dir[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", s->dir);
}

/* Setup: skip when the kind's binary is not there. */
static int have_server(void **state)
{
    server_kind *k = *state;
    if (k == &chalk_kind) {
        const char *dir = getenv("CHALK_BIN_DIR");
        snprintf(k->bin, sizeof(k->bin), "%s/chalk-server", dir ? dir : ".");
    }
    if (access(k->bin, X_OK) != 0)
        skip();
    return 0;
}

/* ---- pool ------------------------------------------------------------------ */

static void test_pool_bound_wait_and_health(void **state)
{
    server s = {.kind = *state};
    server_start(&s, NULL);
    chalkc_pool_options po = {.max_size = 2, .wait_timeout_ms = 100,
                              .health_check_idle_ms = 0};
    chalkc_options_init(&po.conn);
    po.conn.port = s.port;
    chalkc_pool *p;
    assert_int_equal(chalkc_pool_new(&po, &p), 0);
    chalkc_conn *a, *b, *c;
    assert_int_equal(chalkc_pool_borrow(p, &a), 0);
    assert_int_equal(chalkc_pool_borrow(p, &b), 0);
    /* The bound holds: a third borrower waits, then gives up. */
    assert_int_equal(chalkc_pool_borrow(p, &c), CHALKC_EPOOL);
    chalkc_pool_stats st;
    chalkc_pool_get_stats(p, &st);
    assert_int_equal(st.size, 2);
    assert_int_equal(st.waits, 1);
    assert_int_equal(st.timeouts, 1);
    chalkc_pool_return(p, a);
    assert_int_equal(chalkc_pool_borrow(p, &c), 0);
    assert_ptr_equal(c, a); /* reused, not reconnected */
    chalkc_pool_return(p, c);
    chalkc_pool_return(p, b);
    /* The server restarts, so both idle connections are dead: the health
     * check on borrow finds them and the pool replaces them. */
    server_stop(&s);
    server_start(&s, NULL);
    chalkc_reply *r;
    assert_int_equal(chalkc_pool_borrow(p, &c), 0);
    assert_int_equal(chalkc_command(c, &r, "PING"), 0);
    chalkc_reply_free(r);
    chalkc_pool_return(p, c);
    chalkc_pool_get_stats(p, &st);
    assert_int_equal(st.discarded, 2);
    assert_int_equal(st.created, 3);
    chalkc_pool_free(p);
    server_cleanup(&s);
}

/* Many threads share a small pool: every command lands, and the pool never
 * holds more than max_size connections. */
typedef struct pool_worker {
    chalkc_pool *p;
    int failures;
} pool_worker;

static void *pool_worker_main(void *arg)
{
    pool_worker *w = arg;
    for (int i = 0; i < 50; i++) {
        chalkc_conn *c;
        chalkc_reply *r;
        if (chalkc_pool_borrow(w->p, &c) != 0) {
            w->failures++;
            continue;
        }
        if (chalkc_command(c, &r, "INCR %s", "pool:counter") != 0)
            w->failures++;
        chalkc_reply_free(r);
        chalkc_pool_return(w->p, c);
    }
    return NULL;
}

static void test_pool_shared_by_threads(void **state)
{
    server s = {.kind = *state};
    server_start(&s, NULL);
    chalkc_pool_options po = {.max_size = 3, .wait_timeout_ms = 10000,
                              .health_check_idle_ms = -1};
    chalkc_options_init(&po.conn);
    po.conn.port = s.port;
    chalkc_pool *p;
    assert_int_equal(chalkc_pool_new(&po, &p), 0);
    pthread_t th[8];
    pool_worker w[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (pool_worker){.p = p};
        pthread_create(&th[i], NULL, pool_worker_main, &w[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    chalkc_pool_stats st;
    chalkc_pool_get_stats(p, &st);
    assert_true(st.created <= 3 && st.size <= 3);
    chalkc_conn *c;
    chalkc_reply *r;
    assert_int_equal(chalkc_pool_borrow(p, &c), 0);
    assert_int_equal(chalkc_command(c, &r, "GET pool:counter"), 0);
    assert_string_equal(r->str, "400");
    chalkc_reply_free(r);
    chalkc_pool_return(p, c);
    chalkc_pool_free(p);
    server_cleanup(&s);
}

/* ---- retries and the breaker -------------------------------------------- */

static void test_retry_idempotent_only_and_breaker(void **state)
{
    chalkc_pool_options po = {.max_size = 1, .wait_timeout_ms = 100};
    chalkc_options_init(&po.conn);
    po.conn.port = free_port(); /* nobody listens */
    chalkc_pool *p;
    assert_int_equal(chalkc_pool_new(&po, &p), 0);
    chalkc_retry_policy rp = {.max_attempts = 3, .base_delay_ms = 1,
                              .max_delay_ms = 4};
    const char *incr[] = {"INCR", "n"}, *get[] = {"GET", "n"};
    chalkc_reply *r;
    /* Non-idempotent: one attempt only, so one failure: still closed. */
    chalkc_breaker *b = chalkc_breaker_new(2, 60000);
    assert_int_equal(chalkc_call(p, b, &rp, 0, 2, incr, NULL, &r), CHALKC_ECONNECT);
    assert_int_equal(chalkc_breaker_get_state(b), CHALKC_BREAKER_CLOSED);
    chalkc_breaker_free(b);
    /* Idempotent: retried, so the two failures open the breaker... */
    b = chalkc_breaker_new(2, 60000);
    assert_int_equal(chalkc_call(p, b, &rp, 1, 2, get, NULL, &r), CHALKC_EBREAKER);
    assert_int_equal(chalkc_breaker_get_state(b), CHALKC_BREAKER_OPEN);
    /* ...and the next call fails fast without touching the network. */
    assert_int_equal(chalkc_call(p, b, &rp, 1, 2, get, NULL, &r), CHALKC_EBREAKER);
    assert_null(r);
    chalkc_breaker_free(b);
    chalkc_pool_free(p);

    /* A live server: an error REPLY is not a failure of the server. */
    server s = {.kind = *state};
    server_start(&s, NULL);
    po.conn.port = s.port;
    assert_int_equal(chalkc_pool_new(&po, &p), 0);
    b = chalkc_breaker_new(1, 60000);
    const char *bad[] = {"NOSUCHCOMMAND"};
    assert_int_equal(chalkc_call(p, b, &rp, 1, 1, bad, NULL, &r), CHALKC_ESERVER);
    assert_int_equal(r->type, CHALKC_REPLY_ERROR);
    chalkc_reply_free(r);
    assert_int_equal(chalkc_breaker_get_state(b), CHALKC_BREAKER_CLOSED);
    assert_int_equal(chalkc_call(p, b, &rp, 0, 2, incr, NULL, &r), 0);
    assert_int_equal(r->integer, 1);
    chalkc_reply_free(r);
    chalkc_breaker_free(b);
    chalkc_pool_free(p);
    server_cleanup(&s);
}

/* ---- pub/sub ---------------------------------------------------------------- */

static void expect_message(chalkc_conn *sub, const char *kind, const char *channel,
                           const char *payload, chalkc_reply_type type)
{
    chalkc_reply *r;
    chalkc_message m;
    assert_int_equal(chalkc_get_reply(sub, &r), 0);
    assert_int_equal(r->type, type);
    assert_int_equal(chalkc_message_parse(r, &m), 0);
    assert_string_equal(m.kind, kind);
    assert_string_equal(m.channel, channel);
    if (payload)
        assert_string_equal(m.payload, payload);
    chalkc_reply_free(r);
}

static void test_pubsub_resp2_and_resp3(void **state)
{
    server s = {.kind = *state};
    server_start(&s, NULL);
    chalkc_conn *pub = try_connect(s.port, NULL, 0);
    for (int proto = 2; proto <= 3; proto++) {
        chalkc_conn *sub = try_connect(s.port, NULL, proto);
        const char *chans[] = {"news", "alerts"};
        chalkc_reply_type t = proto == 3 ? CHALKC_REPLY_PUSH : CHALKC_REPLY_ARRAY;
        assert_int_equal(chalkc_subscribe(sub, 0, 2, chans), 0);
        expect_message(sub, "subscribe", "news", NULL, t);
        expect_message(sub, "subscribe", "alerts", NULL, t);
        chalkc_reply *r;
        assert_int_equal(chalkc_command(pub, &r, "PUBLISH news %s", "hello"), 0);
        assert_int_equal(r->integer, 1);
        chalkc_reply_free(r);
        expect_message(sub, "message", "news", "hello", t);
        if (proto == 3) {
            /* RESP3: the same connection still answers commands. */
            assert_int_equal(chalkc_command(sub, &r, "PING"), 0);
            assert_int_equal(r->type, CHALKC_REPLY_STATUS);
            chalkc_reply_free(r);
        }
        chalkc_close(sub);
    }
    chalkc_close(pub);
    server_cleanup(&s);
}

/* RESP3: an invalidation push that arrives while we wait for a reply goes
 * to the push handler, and the reply we asked for still comes back. */
static void count_push(void *ud, chalkc_reply *push)
{
    if (push->elements >= 1 && push->element[0]->str &&
        !strcmp(push->element[0]->str, "invalidate"))
        ++*(int *)ud;
    chalkc_reply_free(push);
}

static void test_resp3_push_handler(void **state)
{
    server s = {.kind = *state};
    server_start(&s, NULL);
    chalkc_conn *a = try_connect(s.port, NULL, 3), *b = try_connect(s.port, NULL, 0);
    int pushes = 0;
    chalkc_reply *r;
    chalkc_set_push_handler(a, count_push, &pushes);
    assert_int_equal(chalkc_command(a, &r, "CLIENT TRACKING on"), 0);
    chalkc_reply_free(r);
    assert_int_equal(chalkc_command(a, &r, "GET tracked"), 0);
    chalkc_reply_free(r);
    assert_int_equal(chalkc_command(b, &r, "SET tracked v"), 0);
    chalkc_reply_free(r);
    usleep(100000); /* let the invalidation reach a's socket first */
    assert_int_equal(chalkc_command(a, &r, "PING"), 0);
    assert_int_equal(r->type, CHALKC_REPLY_STATUS);
    assert_string_equal(r->str, "PONG");
    chalkc_reply_free(r);
    assert_int_equal(pushes, 1);
    chalkc_close(a);
    chalkc_close(b);
    server_cleanup(&s);
}

/* ---- Redlock ------------------------------------------------------------------ */

static void test_redlock_majority(void **state)
{
    server s[3] = {{.kind = *state}, {.kind = *state}, {.kind = *state}};
    chalkc_conn *a[3], *b[3];
    for (int i = 0; i < 3; i++) {
        server_start(&s[i], NULL);
        a[i] = try_connect(s[i].port, NULL, 0);
        b[i] = try_connect(s[i].port, NULL, 0);
    }
    chalkc_redlock_result ra, rb;
    assert_int_equal(chalkc_redlock_lock(a, 3, "res", 10000, &ra), 0);
    assert_int_equal(ra.acquired_on, 3);
    assert_true(ra.validity_ms > 0 && ra.validity_ms < 10000);
    /* Held: another client cannot get it. */
    assert_int_equal(chalkc_redlock_lock(b, 3, "res", 10000, &rb), CHALKC_ENOTLOCKED);
    /* Only the holder's token releases it. */
    assert_int_equal(chalkc_compare_and_delete(b[0], "res", "not-my-token"), 0);
    assert_int_equal(chalkc_redlock_unlock(a, 3, "res", ra.token), 3);
    assert_int_equal(chalkc_redlock_lock(b, 3, "res", 10000, &rb), 0);
    assert_int_equal(chalkc_redlock_unlock(b, 3, "res", rb.token), 3);
    /* One server down: 2 of 3 is still a majority. */
    server_stop(&s[2]);
    assert_int_equal(chalkc_redlock_lock(a, 3, "res2", 10000, &ra), 0);
    assert_int_equal(ra.acquired_on, 2);
    chalkc_redlock_unlock(a, 3, "res2", ra.token);
    /* Two down: no majority, and the one partial lock is released. */
    server_stop(&s[1]);
    assert_int_equal(chalkc_redlock_lock(b, 3, "res3", 10000, &rb), CHALKC_ENOTLOCKED);
    assert_int_equal(rb.acquired_on, 1);
    chalkc_reply *r;
    assert_int_equal(chalkc_command(b[0], &r, "EXISTS res3"), 0);
    assert_int_equal(r->integer, 0);
    chalkc_reply_free(r);
    for (int i = 0; i < 3; i++) {
        chalkc_close(a[i]);
        chalkc_close(b[i]);
        server_cleanup(&s[i]);
    }
}

/* ---- AUTH and HELLO ----------------------------------------------------------- */

static void test_auth_and_hello(void **state)
{
    server s = {.kind = *state};
    server_start(&s, "s3cret");
    chalkc_options o;
    chalkc_options_init(&o);
    o.port = s.port;
    chalkc_conn *c;
    char err[256];
    /* Without AUTH: connected, but commands are refused. */
    assert_int_equal(chalkc_connect(&o, &c, NULL, 0), 0);
    chalkc_reply *r;
    assert_int_equal(chalkc_command(c, &r, "GET k"), CHALKC_ESERVER);
    assert_non_null(strstr(r->str, "NOAUTH"));
    chalkc_reply_free(r);
    assert_int_equal(chalkc_auth(c, NULL, "wrong"), CHALKC_ESERVER);
    assert_int_equal(chalkc_auth(c, NULL, "s3cret"), 0);
    chalkc_close(c);
    /* Wrong password at connect: ESERVER with the server's words. */
    o.password = "wrong";
    assert_int_equal(chalkc_connect(&o, &c, err, sizeof(err)), CHALKC_ESERVER);
    assert_non_null(strstr(err, "WRONGPASS"));
    /* HELLO 3 with AUTH: RESP3 from then on (HELLO answers with a map). */
    o.password = "s3cret";
    o.protocol = 3;
    assert_int_equal(chalkc_connect(&o, &c, NULL, 0), 0);
    assert_int_equal(chalkc_conn_protocol(c), 3);
    assert_int_equal(chalkc_hello(c, 3, NULL, NULL, &r), 0);
    assert_int_equal(r->type, CHALKC_REPLY_MAP);
    chalkc_reply_free(r);
    assert_int_equal(chalkc_hello(c, 2, NULL, NULL, &r), 0);
    assert_int_equal(r->type, CHALKC_REPLY_ARRAY); /* RESP2: flat array */
    chalkc_reply_free(r);
    assert_int_equal(chalkc_hello(c, 4, NULL, NULL, NULL), CHALKC_EINVAL);
    chalkc_close(c);
    server_cleanup(&s);
}

/* ---- binary-safe pipelining and the va_list form ----------------------------- */

static int vcommand_wrapper(chalkc_conn *c, chalkc_reply **r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = chalkc_vcommand(c, r, fmt, ap);
    va_end(ap);
    return rc;
}

/* chalkc_append_argv queues a value with NUL and CR LF bytes in it,
 * chalkc_flush sends the queue before any reply is read, and the value comes
 * back byte for byte; chalkc_vcommand is chalkc_command with a va_list. */
static void test_append_argv_flush_and_vcommand(void **state)
{
    server s = {.kind = *state};
    server_start(&s, NULL);
    chalkc_conn *c = try_connect(s.port, NULL, 2);
    assert_non_null(c);
    const char val[] = {'a', '\0', '\r', '\n', 'b'};
    const char *set[] = {"SET", "bin", val};
    size_t setlen[] = {3, 3, sizeof val};
    const char *get[] = {"GET", "bin"};
    size_t getlen[] = {3, 3};
    assert_int_equal(chalkc_append_argv(c, 3, set, setlen), 0);
    assert_int_equal(chalkc_append_argv(c, 2, get, getlen), 0);
    assert_int_equal(chalkc_pending_replies(c), 2);
    assert_int_equal(chalkc_flush(c), 0);
    chalkc_reply *r;
    assert_int_equal(chalkc_get_reply(c, &r), 0);
    assert_int_equal(r->type, CHALKC_REPLY_STATUS);
    chalkc_reply_free(r);
    assert_int_equal(chalkc_get_reply(c, &r), 0);
    assert_int_equal(r->type, CHALKC_REPLY_STRING);
    assert_int_equal(r->len, sizeof val);
    assert_memory_equal(r->str, val, sizeof val);
    chalkc_reply_free(r);
    assert_int_equal(vcommand_wrapper(c, &r, "APPEND %s %b", "bin", "xy", (size_t)2), 0);
    assert_int_equal(r->type, CHALKC_REPLY_INTEGER);
    assert_int_equal(r->integer, (long long)sizeof val + 2);
    chalkc_reply_free(r);
    chalkc_close(c);
    server_cleanup(&s);
}

#define BOTH(f) cmocka_unit_test_prestate_setup_teardown(f, have_server, stop_spawned, &redis_kind), \
                cmocka_unit_test_prestate_setup_teardown(f, have_server, stop_spawned, &chalk_kind)
#define REDIS_ONLY(f) cmocka_unit_test_prestate_setup_teardown(f, have_server, stop_spawned, &redis_kind)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(test_pool_bound_wait_and_health),
        BOTH(test_pool_shared_by_threads),
        BOTH(test_retry_idempotent_only_and_breaker),
        BOTH(test_auth_and_hello),
        BOTH(test_append_argv_flush_and_vcommand),
        BOTH(test_pubsub_resp2_and_resp3),
        BOTH(test_redlock_majority),
        REDIS_ONLY(test_resp3_push_handler), /* CLIENT TRACKING: chalk-server has none yet */
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
