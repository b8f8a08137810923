/*
 * pool.c — a connection pool: at most max_size connections to one server,
 * shared by threads, each borrowed by one caller at a time.
 *
 * The one idea: a TCP connect + HELLO/AUTH costs round trips (and the
 * server a file descriptor and buffers); a pool pays it once per
 * connection and hands the same connections out again and again. The
 * bound (max_size) is a promise to the server: this process will never
 * hold more connections than that, however many threads ask — extra
 * callers WAIT (up to wait_timeout_ms), which is backpressure.
 *
 * Rules (the locking story):
 *   - mu guards every field; a connection is either in idle[] or held by
 *     exactly one borrower, never both.
 *   - size counts idle + borrowed + being-connected; it never exceeds
 *     max_size (a slot is reserved BEFORE connecting, released on failure).
 *   - network I/O (connect, the PING health check) happens without mu held.
 *
 * Left out on purpose: idle eviction by age, min-idle warm-up, per-borrow
 * deadlines. Cost: an idle connection that a firewall silently dropped is
 * only found by the health check on borrow.
 *
 * Interview topics: pool.connections.
 */
#include <chalk/client.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "conn_internal.h"

struct chalkc_pool {
    pthread_mutex_t mu;
    pthread_cond_t returned;   /* signalled when a slot or connection frees */
    chalkc_pool_options opt;
    chalkc_conn **idle;        /* LIFO stack: the warmest connection first */
    int nidle;
    int size;                  /* connections that exist or are connecting */
    chalkc_pool_stats stats;
};

int chalkc_pool_new(const chalkc_pool_options *o, chalkc_pool **out)
{
    *out = NULL;
    if (!o || o->max_size < 1)
        return CHALKC_EINVAL;
    chalkc_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return CHALKC_ENOMEM;
    p->idle = calloc((size_t)o->max_size, sizeof(*p->idle));
    if (!p->idle) {
        free(p);
        return CHALKC_ENOMEM;
    }
    p->opt = *o;
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->returned, &ca);
    pthread_condattr_destroy(&ca);
    *out = p;
    return 0;
}

void chalkc_pool_free(chalkc_pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->nidle; i++)
        chalkc_close(p->idle[i]);
    free(p->idle);
    pthread_cond_destroy(&p->returned);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* Is an idle connection still alive? PING it if it sat long enough. */
static int pool_healthy(const chalkc_pool *p, chalkc_conn *c)
{
    int after = p->opt.health_check_idle_ms;
    if (after < 0 || chalkc_now_ms() - c->last_used_ms < after)
        return 1;
    chalkc_reply *r = NULL;
    int rc = chalkc_command(c, &r, "PING");
    chalkc_reply_free(r);
    return rc == 0;
}

/* Waits on the condition until the absolute monotonic deadline. */
static int pool_wait(chalkc_pool *p, int64_t deadline_ms)
{
    struct timespec ts = {.tv_sec = deadline_ms / 1000,
                          .tv_nsec = (deadline_ms % 1000) * 1000000L};
    return pthread_cond_timedwait(&p->returned, &p->mu, &ts);
}

/* @interview(pool.connections): What does a connection pool buy, and what
 * do its knobs mean? Reusing connections skips a TCP handshake and
 * HELLO/AUTH per request; max_size caps what one process costs the server
 * (each connection is an fd and buffers there); the wait timeout turns
 * "too many callers" into a bounded wait then an error instead of an
 * unbounded queue; the health check on borrow finds connections the server
 * or a firewall closed while they sat idle, before a request is lost. */
int chalkc_pool_borrow(chalkc_pool *p, chalkc_conn **out)
{
    int64_t deadline = chalkc_now_ms() + p->opt.wait_timeout_ms;
    int waited = 0;
    *out = NULL;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (p->nidle > 0) {
            chalkc_conn *c = p->idle[--p->nidle];
            pthread_mutex_unlock(&p->mu);
            if (pool_healthy(p, c)) {
                *out = c;
                return 0;
            }
            chalkc_close(c); /* dead: drop it, free its slot, try again */
            pthread_mutex_lock(&p->mu);
            p->size--;
            p->stats.discarded++;
            continue;
        }
        if (p->size < p->opt.max_size) {
            p->size++; /* reserve the slot, connect outside the lock */
            pthread_mutex_unlock(&p->mu);
            int rc = chalkc_connect(&p->opt.conn, out, NULL, 0);
            pthread_mutex_lock(&p->mu);
            if (rc == 0)
                p->stats.created++;
            else {
                p->size--;
                pthread_cond_signal(&p->returned);
            }
            pthread_mutex_unlock(&p->mu);
            return rc;
        }
        if (!waited++)
            p->stats.waits++;
        if (pool_wait(p, deadline) == ETIMEDOUT && p->nidle == 0 &&
            p->size >= p->opt.max_size) {
            p->stats.timeouts++;
            pthread_mutex_unlock(&p->mu);
            return CHALKC_EPOOL;
        }
    }
}

void chalkc_pool_return(chalkc_pool *p, chalkc_conn *c)
{
    /* Broken, owing replies, or subscribed (messages would arrive as the
     * next borrower's replies): close it instead. */
    int reusable = chalkc_conn_error(c) == 0 && chalkc_pending_replies(c) == 0 &&
                   !c->subscribed;
    c->last_used_ms = chalkc_now_ms();
    if (!reusable)
        chalkc_close(c);
    pthread_mutex_lock(&p->mu);
    if (reusable) {
        p->idle[p->nidle++] = c;
    } else {
        p->size--;
        p->stats.discarded++;
    }
    pthread_cond_signal(&p->returned);
    pthread_mutex_unlock(&p->mu);
}

void chalkc_pool_get_stats(chalkc_pool *p, chalkc_pool_stats *s)
{
    pthread_mutex_lock(&p->mu);
    *s = p->stats;
    s->size = p->size;
    s->idle = p->nidle;
    pthread_mutex_unlock(&p->mu);
}
