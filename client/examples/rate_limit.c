/*
 * rate_limit.c — three rate limiters on a key-value store: fixed window,
 * sliding window log, token bucket; and the burst that tells them apart.
 *
 * The one idea: a limiter is a counter with a memory of time, kept in the
 * shared store so every app server enforces the same limit.
 *   fixed window   INCR rl:<user>:<window#>; EXPIRE on the first hit.
 *                  One key per window, O(1) — but a burst at the end of one
 *                  window plus one at the start of the next passes 2x limit.
 *   sliding log    ZADD the request's timestamp; ZREMRANGEBYSCORE the ones
 *                  older than the window; ZCARD. Exact, but O(requests) of
 *                  memory per user.
 *   token bucket   {tokens, last refill} in a hash; refill by elapsed time,
 *                  spend one token per request. Allows bursts up to the
 *                  capacity and a steady rate after; O(1).
 * The sliding log and the bucket read-then-write, so they run inside
 * MULTI/EXEC (log) or WATCH + MULTI/EXEC (bucket) to stay correct when two
 * app servers update the same user at once.
 *
 * Left out on purpose: the sliding window COUNTER approximation, and Lua
 * (Chalk has no EVAL: WATCH/MULTI is the portable way). Cost: a busy
 * bucket may retry its WATCH.
 *
 * Run: chalk-example-rate-limit -p 6379
 * Interview topics: ratelimit.strategies.
 */
#include "example.h"

#define LIMIT 5        /* requests ... */
#define WINDOW_MS 1000 /* ... per second */

static int fixed_window(chalkc_conn *c, const char *user, long long now_ms)
{
    long long window = now_ms / WINDOW_MS;
    long long n = ex_int(c, "INCR rl:fw:%s:%lld", user, window);
    if (n == 1)
        chalkc_reply_free(ex_cmd(c, "PEXPIRE rl:fw:%s:%lld %d", user, window,
                                 2 * WINDOW_MS));
    return n <= LIMIT;
}

/* MULTI/EXEC pipelined: trim, count, add, one round trip, atomically. */
static int sliding_log(chalkc_conn *c, const char *user, long long now_ms,
                       int seq)
{
    chalkc_appendf(c, "MULTI");
    chalkc_appendf(c, "ZREMRANGEBYSCORE rl:log:%s -inf %lld", user, now_ms - WINDOW_MS);
    chalkc_appendf(c, "ZCARD rl:log:%s", user);
    chalkc_appendf(c, "ZADD rl:log:%s %lld %lld-%d", user, now_ms, now_ms, seq);
    chalkc_appendf(c, "PEXPIRE rl:log:%s %d", user, WINDOW_MS);
    chalkc_appendf(c, "EXEC");
    long long count = -1;
    for (int i = 0; i < 6; i++) {
        chalkc_reply *r;
        chalkc_get_reply(c, &r);
        if (i == 5 && r && r->type == CHALKC_REPLY_ARRAY && r->elements == 4)
            count = r->element[1]->integer;
        chalkc_reply_free(r);
    }
    /* The request is logged even when refused: a client hammering us keeps
     * itself limited. */
    return count >= 0 && count < LIMIT;
}

/* Token bucket: capacity LIMIT, refill LIMIT per WINDOW_MS. */
static int token_bucket(chalkc_conn *c, const char *user, long long now_ms)
{
    for (;;) {
        chalkc_reply_free(ex_cmd(c, "WATCH rl:tb:%s", user));
        chalkc_reply *r = ex_cmd(c, "HMGET rl:tb:%s tokens ts", user);
        double tokens = LIMIT;
        long long ts = now_ms;
        if (r->elements == 2 && r->element[0]->type == CHALKC_REPLY_STRING) {
            tokens = atof(r->element[0]->str);
            ts = atoll(r->element[1]->str);
        }
        chalkc_reply_free(r);
        tokens += (double)(now_ms - ts) * LIMIT / WINDOW_MS;
        if (tokens > LIMIT)
            tokens = LIMIT;
        int allowed = tokens >= 1.0;
        if (allowed)
            tokens -= 1.0;
        chalkc_appendf(c, "MULTI");
        chalkc_appendf(c, "HSET rl:tb:%s tokens %f ts %lld", user, tokens, now_ms);
        chalkc_appendf(c, "EXEC");
        int committed = 0;
        for (int i = 0; i < 3; i++) {
            chalkc_get_reply(c, &r);
            if (i == 2)
                committed = r && r->type == CHALKC_REPLY_ARRAY;
            chalkc_reply_free(r);
        }
        if (committed)
            return allowed; /* else: someone changed the bucket, retry */
    }
}

typedef int limiter_fn(chalkc_conn *c, const char *user, long long now_ms);

/* Sends n requests at time now_ms; returns how many were allowed. */
static int burst(chalkc_conn *c, const char *name, const char *user,
                 long long now_ms, int n)
{
    int allowed = 0;
    for (int i = 0; i < n; i++) {
        if (!strcmp(name, "fixed"))
            allowed += fixed_window(c, user, now_ms);
        else if (!strcmp(name, "sliding"))
            allowed += sliding_log(c, user, now_ms, i);
        else
            allowed += token_bucket(c, user, now_ms);
    }
    return allowed;
}

/* @interview(ratelimit.strategies): Fixed window, sliding log or token
 * bucket? Fixed window is one INCR per request but lets 2x the limit
 * through around a window boundary; the sliding log is exact but stores
 * every request; the token bucket is O(1), allows bursts up to its
 * capacity and then a steady rate. Keep the state in a shared store so all
 * app servers enforce one limit, and update it atomically. */
int main(int argc, char **argv)
{
    ex_args a = ex_parse(argc, argv);
    chalkc_conn *c = ex_connect(&a, 0, 0);
    int failed = 0;
    const char *names[] = {"fixed", "sliding", "bucket"};
    chalkc_reply_free(ex_cmd(c, "DEL rl:tb:u1 rl:tb:u2 rl:log:u1 rl:log:u2"));
    /* Use simulated time (a base far from "now", per run) so the window
     * boundary is exactly where we want it. */
    long long base = (ex_wall_ms() / WINDOW_MS + 1000) * WINDOW_MS;
    char key[64];
    printf("limit: %d requests per %d ms\n", LIMIT, WINDOW_MS);
    for (int k = 0; k < 3; k++) {
        snprintf(key, sizeof(key), "u1-%lld", base);
        int first = burst(c, names[k], key, base + 100, 8);
        printf("  %-8s 8 requests at once: %d allowed\n", names[k], first);
        failed |= ex_check(first == LIMIT, "a burst is cut at the limit");
    }
    printf("the boundary burst: 5 requests at t=990 ms, 5 more at t=1010 ms\n");
    int got[3];
    for (int k = 0; k < 3; k++) {
        snprintf(key, sizeof(key), "u2-%lld", base);
        got[k] = burst(c, names[k], key, base + 990, 5);
        got[k] += burst(c, names[k], key, base + 1010, 5);
        printf("  %-8s allowed %d of 10 within 20 ms\n", names[k], got[k]);
    }
    failed |= ex_check(got[0] == 10, "fixed window lets 2x the limit through at a boundary");
    failed |= ex_check(got[1] == LIMIT, "the sliding log holds the limit exactly");
    failed |= ex_check(got[2] == LIMIT, "the token bucket holds it (only 0.1 token refilled)");
    snprintf(key, sizeof(key), "u2-%lld", base);
    int later = burst(c, "bucket", key, base + 1010 + 400, 5);
    printf("  bucket, 400 ms later: %d allowed (refilled at %d/s)\n", later, LIMIT);
    failed |= ex_check(later == 2, "tokens come back at the refill rate");
    chalkc_close(c);
    return failed;
}
