/*
 * job_queue.c — a priority job queue with delayed jobs, retries with
 * backoff, and a dead-letter list, on sorted sets and lists.
 *
 * The one idea: a sorted set is a priority queue. Two of them:
 *   jq:ready    member = job id, score = priority (lower runs first)
 *   jq:delayed  member = job id, score = the wall-clock ms it becomes due
 * plus jq:job:<id> (a hash: payload, priority, attempts) and jq:dead (a
 * list of jobs that failed too often).
 *
 *   enqueue(job, prio, delay)  HSET jq:job:<id>; ZADD ready|delayed
 *   promote()                  due = ZRANGEBYSCORE delayed -inf now
 *                              MULTI; ZADD ready prio id; ZREM delayed id; EXEC
 *   take()                     ZPOPMIN ready  (atomic: two workers never get
 *                              the same job)
 *   fail(job)                  attempts+1; < max: back to delayed with
 *                              backoff 2^attempts * base; else RPUSH jq:dead
 *
 * Left out on purpose: a visibility timeout (a worker that dies holding a
 * job loses it; a real queue keeps taken jobs in a "processing" set and
 * re-queues them when their lease expires) and blocking waits (BZPOPMIN).
 * Cost: this is at-most-once delivery for a crashed worker.
 *
 * Run: chalk-example-job-queue -p 6379
 * Interview topics: queue.priority-jobs.
 */
#include "example.h"

#define MAX_ATTEMPTS 3
#define BACKOFF_MS 50

static void enqueue(chalkc_conn *c, const char *id, const char *payload,
                    int prio, int delay_ms)
{
    chalkc_reply_free(ex_cmd(c, "HSET jq:job:%s payload %s priority %d attempts 0",
                             id, payload, prio));
    if (delay_ms > 0)
        chalkc_reply_free(ex_cmd(c, "ZADD jq:delayed %lld %s",
                                 ex_wall_ms() + delay_ms, id));
    else
        chalkc_reply_free(ex_cmd(c, "ZADD jq:ready %d %s", prio, id));
}

/* Moves due delayed jobs to the ready queue; returns how many. */
static int promote(chalkc_conn *c)
{
    chalkc_reply *due = ex_cmd(c, "ZRANGEBYSCORE jq:delayed -inf %lld", ex_wall_ms());
    int moved = 0;
    for (size_t i = 0; i < due->elements; i++) {
        const char *id = due->element[i]->str;
        chalkc_reply *p = ex_cmd(c, "HGET jq:job:%s priority", id);
        chalkc_appendf(c, "MULTI");
        chalkc_appendf(c, "ZADD jq:ready %s %s", p->str ? p->str : "0", id);
        chalkc_appendf(c, "ZREM jq:delayed %s", id);
        chalkc_appendf(c, "EXEC");
        for (int k = 0; k < 4; k++) {
            chalkc_reply *r;
            chalkc_get_reply(c, &r);
            chalkc_reply_free(r);
        }
        chalkc_reply_free(p);
        moved++;
    }
    chalkc_reply_free(due);
    return moved;
}

/* Pops the most urgent ready job into id; returns 0 if none. */
static int take(chalkc_conn *c, char *id, size_t cap)
{
    chalkc_reply *r = ex_cmd(c, "ZPOPMIN jq:ready");
    int got = r->elements >= 1;
    if (got)
        snprintf(id, cap, "%s", r->element[0]->str);
    chalkc_reply_free(r);
    return got;
}

/* A failed run: retry later with exponential backoff, or dead-letter it. */
static void fail(chalkc_conn *c, const char *id)
{
    long long attempts = ex_int(c, "HINCRBY jq:job:%s attempts 1", id);
    if (attempts >= MAX_ATTEMPTS) {
        chalkc_reply_free(ex_cmd(c, "RPUSH jq:dead %s", id));
        printf("    %s failed %lld times: moved to the dead-letter list\n", id, attempts);
        return;
    }
    long long delay = (long long)BACKOFF_MS << attempts;
    chalkc_reply_free(ex_cmd(c, "ZADD jq:delayed %lld %s", ex_wall_ms() + delay, id));
    printf("    %s failed (attempt %lld): retry in %lld ms\n", id, attempts, delay);
}

/* @interview(queue.priority-jobs): How do you build a job queue with
 * priorities, delays and retries on a key-value store? A sorted set scored
 * by priority is the ready queue (ZPOPMIN takes the most urgent job
 * atomically); a second one scored by due time holds delayed jobs and
 * retries with backoff; jobs that keep failing go to a dead-letter list for
 * a human instead of blocking the queue forever. */
int main(int argc, char **argv)
{
    ex_args a = ex_parse(argc, argv);
    chalkc_conn *c = ex_connect(&a, 0, 0);
    int failed = 0;
    chalkc_reply_free(ex_cmd(c, "DEL jq:ready jq:delayed jq:dead jq:job:email "
                             "jq:job:report jq:job:payment jq:job:flaky jq:job:later"));
    enqueue(c, "report", "build-monthly-report", 5, 0);
    enqueue(c, "email", "send-welcome-email", 3, 0);
    enqueue(c, "payment", "charge-card", 1, 0);
    enqueue(c, "flaky", "call-broken-api", 2, 0);
    enqueue(c, "later", "reminder-in-200ms", 0, 200);
    printf("queued: report(5) email(3) payment(1) flaky(2, always fails), "
           "later(0, delayed 200 ms)\n");

    char order[256] = "", id[64];
    int64_t start = chalkc_now_ms();
    while (chalkc_now_ms() - start < 3000) {
        promote(c);
        if (!take(c, id, sizeof(id))) {
            if (ex_int(c, "ZCARD jq:delayed") == 0)
                break; /* nothing ready, nothing pending: done */
            ex_sleep_ms(10);
            continue;
        }
        printf("  run %s\n", id);
        if (!strcmp(id, "flaky")) {
            fail(c, id);
            continue;
        }
        strncat(order, id, sizeof(order) - strlen(order) - 2);
        strcat(order, " ");
        chalkc_reply_free(ex_cmd(c, "DEL jq:job:%s", id));
    }
    printf("completed in order: %s\n", order);
    failed |= ex_check(!strncmp(order, "payment email report ", 21),
                       "ready jobs ran by priority (1, 3, 5)");
    failed |= ex_check(strstr(order, "later") != NULL,
                       "the delayed job ran once due, despite its top priority only then");
    chalkc_reply *dead = ex_cmd(c, "LRANGE jq:dead 0 -1");
    failed |= ex_check(dead->elements == 1 && !strcmp(dead->element[0]->str, "flaky"),
                       "the always-failing job was retried, then dead-lettered");
    chalkc_reply_free(dead);
    chalkc_close(c);
    return failed;
}
