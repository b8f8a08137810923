/*
 * resilience.c — what a client does when the server is slow or down:
 * retries with exponential backoff and full jitter (idempotent commands
 * only), and a circuit breaker that stops calling a server that keeps
 * failing.
 *
 * The one idea: a failure is information. A transient one (timeout, reset)
 * may pass, so wait a random, growing while and try again — but only if
 * running the command twice is harmless. A run of failures means the
 * server is down or drowning: stop sending it work for a cool-down, then
 * let ONE trial call find out whether it is back.
 *
 * The breaker's states (transitions name the function that makes them):
 *
 *            record(fail) x threshold
 *   CLOSED ───────────────────────────► OPEN ◄──────────┐
 *     ▲                                   │ allow() after │ record(fail)
 *     │ record(ok)                        │ cooldown      │
 *     │                                   ▼               │
 *     └─────────────────────────────── HALF_OPEN ─────────┘
 *                                    (one trial call; other callers
 *                                     get CHALKC_EBREAKER meanwhile)
 *
 * Left out on purpose: a sliding failure-RATE window (we count consecutive
 * failures, simpler to read, noisier under a low steady error rate);
 * retry budgets across callers; hedged requests. Cost: under heavy load a
 * fleet of clients may still retry too much — see docs/client.md.
 *
 * Interview topics: resilience.circuit-breaker.
 */
#include <chalk/client.h>

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "conn_internal.h"

int64_t chalkc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- circuit breaker ------------------------------------------------------ */

struct chalkc_breaker {
    pthread_mutex_t mu;
    chalkc_breaker_state state;
    int failures;          /* consecutive failures while CLOSED */
    int threshold;         /* failures that open the breaker */
    int cooldown_ms;       /* OPEN lasts this long before a trial */
    int64_t opened_at_ms;  /* when it last opened */
    int trial_in_flight;   /* HALF_OPEN: the one trial call is out */
};

chalkc_breaker *chalkc_breaker_new(int failure_threshold, int cooldown_ms)
{
    chalkc_breaker *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    pthread_mutex_init(&b->mu, NULL);
    b->threshold = failure_threshold > 0 ? failure_threshold : 1;
    b->cooldown_ms = cooldown_ms;
    return b;
}

void chalkc_breaker_free(chalkc_breaker *b)
{
    if (!b)
        return;
    pthread_mutex_destroy(&b->mu);
    free(b);
}

/* @interview(resilience.circuit-breaker): What is a circuit breaker and
 * why half-open? After N consecutive failures the breaker opens and calls
 * fail fast (no timeout to wait out, no load on a drowning server); after a
 * cool-down it lets exactly one trial call through (half-open): success
 * closes it, failure re-opens it for another cool-down. */
int chalkc_breaker_allow(chalkc_breaker *b, int64_t now_ms)
{
    int rc = 0;
    pthread_mutex_lock(&b->mu);
    if (b->state == CHALKC_BREAKER_OPEN &&
        now_ms - b->opened_at_ms >= b->cooldown_ms) {
        b->state = CHALKC_BREAKER_HALF_OPEN;
        b->trial_in_flight = 0;
    }
    if (b->state == CHALKC_BREAKER_OPEN)
        rc = CHALKC_EBREAKER;
    else if (b->state == CHALKC_BREAKER_HALF_OPEN) {
        if (b->trial_in_flight)
            rc = CHALKC_EBREAKER;
        else
            b->trial_in_flight = 1;
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

void chalkc_breaker_record(chalkc_breaker *b, int ok, int64_t now_ms)
{
    pthread_mutex_lock(&b->mu);
    if (ok) {
        b->state = CHALKC_BREAKER_CLOSED;
        b->failures = 0;
    } else if (b->state == CHALKC_BREAKER_HALF_OPEN ||
               ++b->failures >= b->threshold) {
        b->state = CHALKC_BREAKER_OPEN;
        b->opened_at_ms = now_ms;
        b->failures = 0;
    }
    b->trial_in_flight = 0;
    pthread_mutex_unlock(&b->mu);
}

chalkc_breaker_state chalkc_breaker_get_state(chalkc_breaker *b)
{
    pthread_mutex_lock(&b->mu);
    chalkc_breaker_state s = b->state;
    pthread_mutex_unlock(&b->mu);
    return s;
}

const char *chalkc_breaker_state_name(chalkc_breaker_state s)
{
    switch (s) {
    case CHALKC_BREAKER_CLOSED:    return "closed";
    case CHALKC_BREAKER_OPEN:      return "open";
    case CHALKC_BREAKER_HALF_OPEN: return "half-open";
    }
    return "?";
}

/* ---- retries --------------------------------------------------------------- */

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9E3779B97F4A7C15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* @interview(resilience.circuit-breaker): Why exponential backoff with FULL
 * jitter? Doubling the wait gives a struggling server room; drawing the
 * actual wait uniformly from [0, cap] spreads the retries of many clients
 * that failed at the same instant, instead of having them all come back
 * together in synchronized waves (the thundering herd). */
int chalkc_backoff_ms(const chalkc_retry_policy *p, int attempt, uint64_t *rng)
{
    long long cap = p->base_delay_ms > 0 ? p->base_delay_ms : 1;
    for (int i = 0; i < attempt && cap < p->max_delay_ms; i++)
        cap *= 2;
    if (p->max_delay_ms > 0 && cap > p->max_delay_ms)
        cap = p->max_delay_ms;
    return (int)(xorshift64(rng) % (uint64_t)(cap + 1));
}

int chalkc_error_is_transient(int err)
{
    return err == CHALKC_ECONNECT || err == CHALKC_ETIMEOUT ||
           err == CHALKC_EIO || err == CHALKC_ECLOSED || err == CHALKC_EPOOL;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* One attempt: breaker check, borrow, run, return, record. */
static int call_once(chalkc_pool *p, chalkc_breaker *b, int argc,
                     const char *const *argv, const size_t *argvlen,
                     chalkc_reply **out)
{
    chalkc_conn *c;
    if (b && chalkc_breaker_allow(b, chalkc_now_ms()) != 0)
        return CHALKC_EBREAKER;
    int rc = chalkc_pool_borrow(p, &c);
    if (rc == 0) {
        rc = chalkc_command_argv(c, argc, argv, argvlen, out);
        chalkc_pool_return(p, c);
    }
    /* An error REPLY means the server is alive and answering. */
    if (b)
        chalkc_breaker_record(b, !chalkc_error_is_transient(rc), chalkc_now_ms());
    return rc;
}

/* @interview(resilience.circuit-breaker): Which calls may be retried? Only
 * idempotent ones. After a timeout the client cannot know whether the
 * server ran the command: a retried GET or SET k v changes nothing, a
 * retried INCR or LPUSH applies twice. So the caller marks idempotency and
 * chalkc_call() retries transient failures only for those. */
int chalkc_call(chalkc_pool *p, chalkc_breaker *b,
                const chalkc_retry_policy *policy, int idempotent, int argc,
                const char *const *argv, const size_t *argvlen,
                chalkc_reply **out)
{
    int attempts = (policy && idempotent && policy->max_attempts > 1)
                   ? policy->max_attempts : 1;
    uint64_t rng = (uint64_t)chalkc_now_ms() ^ (uint64_t)(uintptr_t)out;
    int rc = 0;
    *out = NULL;
    for (int i = 0; i < attempts; i++) {
        if (i > 0)
            sleep_ms(chalkc_backoff_ms(policy, i - 1, &rng));
        rc = call_once(p, b, argc, argv, argvlen, out);
        if (!chalkc_error_is_transient(rc))
            break;
    }
    return rc;
}
