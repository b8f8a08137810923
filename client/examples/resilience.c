/*
 * resilience.c — retries with backoff and jitter, idempotency, and a
 * circuit breaker, watched while the server "goes down" and comes back.
 *
 * The one idea: to see resilience you need a failure you control. This
 * program puts a tiny TCP proxy between the client and the server; the
 * proxy can be switched off (it then accepts and immediately closes every
 * connection, like a crashing server). The client talks through a pool, a
 * breaker and a retry policy (chalkc_call()), and we print what happens:
 *
 *   up      GETs succeed                                  breaker: closed
 *   down    INCR (not idempotent): 1 attempt, no retry
 *           GET (idempotent): retried with jittered backoff
 *           3 consecutive failures                        breaker: open
 *           further calls fail fast, without a connection attempt
 *   up + cool-down: one trial call                        breaker: half-open
 *           it succeeds                                   breaker: closed
 *
 * The proxy counts connection attempts, so "no retry" and "fail fast" are
 * measured, not claimed.
 *
 * Left out on purpose: timeouts of a slow (not dead) server — set
 * read_timeout_ms and the same path applies — and retry budgets.
 *
 * Run: chalk-example-resilience -p 6379
 * Interview topics: resilience.circuit-breaker.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#include "example.h"

typedef struct proxy {
    int lfd;              /* listening socket */
    int port;             /* where the client connects */
    int upstream_port;    /* the real server */
    atomic_int down;      /* 1: accept and close at once */
    atomic_int accepts;   /* connection attempts seen */
    atomic_int stop;
    atomic_int pumps;     /* pump threads still running */
} proxy;

typedef struct pump {
    proxy *px;
    int a, b;             /* client side, server side */
} pump;

/* Copies bytes both ways until either side closes or the proxy goes down. */
static void *pump_main(void *arg)
{
    pump *p = arg;
    char buf[16384];
    struct pollfd fds[2] = {{.fd = p->a, .events = POLLIN}, {.fd = p->b, .events = POLLIN}};
    while (!atomic_load(&p->px->down) && !atomic_load(&p->px->stop)) {
        if (poll(fds, 2, 50) <= 0)
            continue;
        int from = fds[0].revents ? 0 : 1;
        ssize_t n = read(fds[from].fd, buf, sizeof(buf));
        if (n <= 0 || send(fds[1 - from].fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
            break;
    }
    close(p->a);
    close(p->b);
    atomic_fetch_sub(&p->px->pumps, 1);
    free(p);
    return NULL;
}

static int connect_upstream(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void *proxy_main(void *arg)
{
    proxy *px = arg;
    while (!atomic_load(&px->stop)) {
        struct pollfd pfd = {.fd = px->lfd, .events = POLLIN};
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        int fd = accept(px->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        atomic_fetch_add(&px->accepts, 1);
        int up = atomic_load(&px->down) ? -1 : connect_upstream(px->upstream_port);
        pump *p = up >= 0 ? malloc(sizeof(*p)) : NULL;
        pthread_t th;
        if (!p) {
            close(fd); /* "down": the connection dies at once */
            if (up >= 0)
                close(up);
            continue;
        }
        *p = (pump){px, fd, up};
        atomic_fetch_add(&px->pumps, 1);
        pthread_create(&th, NULL, pump_main, p);
        pthread_detach(th);
    }
    return NULL;
}

static int proxy_start(proxy *px, int upstream_port, pthread_t *th)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    px->lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (px->lfd < 0 || bind(px->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(px->lfd, 64) != 0)
        return -1;
    getsockname(px->lfd, (struct sockaddr *)&sa, &sl);
    px->port = ntohs(sa.sin_port);
    px->upstream_port = upstream_port;
    return pthread_create(th, NULL, proxy_main, px);
}

/* One call through pool + breaker + retries; prints what it cost. */
static int call(chalkc_pool *pool, chalkc_breaker *br, proxy *px,
                const chalkc_retry_policy *rp, int idempotent, const char *cmd,
                const char *key)
{
    const char *argv[2] = {cmd, key};
    chalkc_reply *r;
    int before = atomic_load(&px->accepts);
    double t0 = ex_now_ms_precise();
    int rc = chalkc_call(pool, br, rp, idempotent, 2, argv, NULL, &r);
    printf("  %-4s %-12s -> %-32s %d connection attempt(s), %6.1f ms, breaker %s\n",
           cmd, idempotent ? "(idempotent)" : "(not idemp.)",
           rc == 0 ? "ok" : chalkc_strerror(rc), atomic_load(&px->accepts) - before,
           ex_now_ms_precise() - t0,
           chalkc_breaker_state_name(chalkc_breaker_get_state(br)));
    chalkc_reply_free(r);
    return atomic_load(&px->accepts) - before;
}

/* @interview(resilience.circuit-breaker): How do retries and a circuit
 * breaker work together? Retries (idempotent calls only, with jittered
 * exponential backoff) absorb a blip; when failures persist, the breaker
 * opens so callers fail fast instead of piling retries onto a dead server,
 * and one half-open trial after the cool-down detects recovery. */
int main(int argc, char **argv)
{
    ex_args a = ex_parse(argc, argv);
    proxy px = {0};
    pthread_t th;
    int failed = 0;
    if (proxy_start(&px, a.ports[0], &th) != 0)
        return 1;
    chalkc_pool_options po = {.max_size = 2, .wait_timeout_ms = 1000,
                              .health_check_idle_ms = 0}; /* PING on borrow */
    chalkc_options_init(&po.conn);
    po.conn.port = px.port;
    chalkc_pool *pool;
    chalkc_pool_new(&po, &pool);
    chalkc_breaker *br = chalkc_breaker_new(3, 1000);
    chalkc_retry_policy rp = {.max_attempts = 3, .base_delay_ms = 20, .max_delay_ms = 200};
    uint64_t rng = 7;
    printf("backoff caps 20, 40, 80 ms; full jitter draws e.g. %d, %d, %d ms\n",
           chalkc_backoff_ms(&rp, 0, &rng), chalkc_backoff_ms(&rp, 1, &rng),
           chalkc_backoff_ms(&rp, 2, &rng));

    printf("server up:\n");
    call(pool, br, &px, &rp, 1, "GET", "res:k");
    failed |= ex_check(chalkc_breaker_get_state(br) == CHALKC_BREAKER_CLOSED, "closed");
    printf("server down:\n");
    atomic_store(&px.down, 1);
    ex_sleep_ms(150); /* the proxy drops the open connections too */
    failed |= ex_check(call(pool, br, &px, &rp, 0, "INCR", "res:n") == 1,
                       "a non-idempotent INCR is tried once: it may have run");
    failed |= ex_check(call(pool, br, &px, &rp, 1, "GET", "res:k") == 2,
                       "an idempotent GET is retried; its 2nd failure is the 3rd in a row");
    failed |= ex_check(chalkc_breaker_get_state(br) == CHALKC_BREAKER_OPEN,
                       "three consecutive failures opened the breaker");
    failed |= ex_check(call(pool, br, &px, &rp, 1, "GET", "res:k") == 0,
                       "while open, calls fail fast: no connection attempted");
    printf("server back; waiting out the 1000 ms cool-down:\n");
    atomic_store(&px.down, 0);
    ex_sleep_ms(1050);
    failed |= ex_check(call(pool, br, &px, &rp, 1, "GET", "res:k") == 1,
                       "one half-open trial call went through");
    failed |= ex_check(chalkc_breaker_get_state(br) == CHALKC_BREAKER_CLOSED,
                       "it succeeded: the breaker closed again");
    chalkc_pool_free(pool); /* closes the pooled connections */
    atomic_store(&px.stop, 1);
    pthread_join(th, NULL);
    while (atomic_load(&px.pumps) > 0)
        ex_sleep_ms(10);
    close(px.lfd);
    chalkc_breaker_free(br);
    return failed;
}
