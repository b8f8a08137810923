/*
 * lock.c — distributed locks: one server's SET NX PX lock with safe
 * release, a fencing token, and Redlock across three servers.
 *
 * The one idea: a lock in a shared store is a key that only one client can
 * create (SET NX) and that dies on its own (PX) if the holder does. Its
 * value is a random token so that only the holder can release it
 * (compare-and-delete). A lease can still expire while its holder is
 * paused, so the resource itself must reject stale holders: every grant
 * also gets a FENCING TOKEN (an INCR'd number) that the resource checks
 * only ever increases.
 *
 *   client A: lock (token 33) ... long GC pause ......... write(33) REJECTED
 *   client B:            lease expired → lock (token 34) write(34) ok
 *
 * Left out on purpose: lock renewal (a watchdog extending PX) and waiting
 * queues. Cost: pick a TTL longer than the critical section.
 *
 * Run: chalk-example-lock -p 6379 [-p 6380 -p 6381]   (three -p for Redlock)
 * Interview topics: lock.distributed.
 */
#include "example.h"

/* The protected resource: it remembers the highest fencing token seen and
 * refuses writes carrying an older one. It lives in the store, too. */
static int resource_write(chalkc_conn *c, long long fence, const char *who)
{
    chalkc_reply_free(ex_cmd(c, "WATCH fence:last"));
    chalkc_reply *r = ex_cmd(c, "GET fence:last");
    long long last = r->type == CHALKC_REPLY_STRING ? atoll(r->str) : 0;
    chalkc_reply_free(r);
    if (fence <= last) {
        chalkc_reply_free(ex_cmd(c, "UNWATCH"));
        printf("    resource: write by %s with fence %lld REJECTED (seen %lld)\n",
               who, fence, last);
        return 0;
    }
    chalkc_appendf(c, "MULTI");
    chalkc_appendf(c, "SET fence:last %lld", fence);
    chalkc_appendf(c, "SET resource:data %s", who);
    chalkc_appendf(c, "EXEC");
    int ok = 0;
    for (int i = 0; i < 4; i++) {
        chalkc_get_reply(c, &r);
        if (i == 3)
            ok = r && r->type == CHALKC_REPLY_ARRAY;
        chalkc_reply_free(r);
    }
    printf("    resource: write by %s with fence %lld %s\n", who, fence,
           ok ? "accepted" : "lost a race");
    return ok;
}

static int single_server(chalkc_conn *a, chalkc_conn *b)
{
    int failed = 0;
    chalkc_reply_free(ex_cmd(a, "DEL lock:report fence:counter fence:last"));
    printf("one server: SET lock:report <token> NX PX 1000\n");
    chalkc_reply *r = ex_cmd(a, "SET lock:report token-A NX PX 1000");
    failed |= ex_check(r->type == CHALKC_REPLY_STATUS, "A takes the lock");
    chalkc_reply_free(r);
    long long fence_a = ex_int(a, "INCR fence:counter");
    r = ex_cmd(b, "SET lock:report token-B NX PX 1000");
    failed |= ex_check(r->type == CHALKC_REPLY_NIL, "B is refused while A holds it");
    chalkc_reply_free(r);
    failed |= ex_check(chalkc_compare_and_delete(b, "lock:report", "token-B") == 0,
                       "B cannot release A's lock (wrong token)");
    printf("  A pauses (think GC) for 1100 ms: its lease expires\n");
    ex_sleep_ms(1100);
    r = ex_cmd(b, "SET lock:report token-B NX PX 1000");
    failed |= ex_check(r->type == CHALKC_REPLY_STATUS, "B takes the expired lock");
    chalkc_reply_free(r);
    long long fence_b = ex_int(b, "INCR fence:counter");
    failed |= ex_check(resource_write(b, fence_b, "B") == 1, "B writes with its fence");
    failed |= ex_check(resource_write(a, fence_a, "A") == 0,
                       "A wakes up and writes: the fencing token stops it");
    failed |= ex_check(chalkc_compare_and_delete(a, "lock:report", "token-A") == 0,
                       "A's late release does not delete B's lock");
    failed |= ex_check(chalkc_compare_and_delete(b, "lock:report", "token-B") == 1,
                       "B releases its own lock");
    return failed;
}

static int redlock(const ex_args *args)
{
    chalkc_conn *a[3], *b[3];
    chalkc_redlock_result ra, rb;
    int failed = 0;
    for (int i = 0; i < 3; i++) {
        a[i] = ex_connect(args, i, 0);
        b[i] = ex_connect(args, i, 0);
        chalkc_reply_free(ex_cmd(a[i], "DEL lock:invoice"));
    }
    printf("Redlock over 3 servers: SET NX PX on each, a majority (2) needed\n");
    int rc = chalkc_redlock_lock(a, 3, "lock:invoice", 2000, &ra);
    printf("  A: %s on %d/3, validity %lld ms (ttl 2000 - elapsed - drift)\n",
           rc == 0 ? "locked" : "refused", ra.acquired_on, (long long)ra.validity_ms);
    failed |= ex_check(rc == 0 && ra.acquired_on == 3, "A holds the lock on all three");
    /* On server 0, A's key is replaced by B's (as if it expired there and
     * B took it): now B tries for the majority. */
    chalkc_reply_free(ex_cmd(b[0], "DEL lock:invoice"));
    chalkc_reply_free(ex_cmd(b[0], "SET lock:invoice token-B"));
    rc = chalkc_redlock_lock(b, 3, "lock:invoice", 2000, &rb);
    printf("  B: %s on %d/3\n", rc == 0 ? "locked" : "refused", rb.acquired_on);
    failed |= ex_check(rc == CHALKC_ENOTLOCKED, "B, with no majority, is refused");
    int released = chalkc_redlock_unlock(a, 3, "lock:invoice", ra.token);
    printf("  A releases: deleted on %d servers (not server 0: not its token)\n", released);
    failed |= ex_check(released == 2, "compare-and-delete spares a key that is not ours");
    for (int i = 0; i < 3; i++) {
        chalkc_reply_free(ex_cmd(a[i], "DEL lock:invoice"));
        chalkc_close(a[i]);
        chalkc_close(b[i]);
    }
    return failed;
}

int main(int argc, char **argv)
{
    ex_args args = ex_parse(argc, argv);
    chalkc_conn *a = ex_connect(&args, 0, 0), *b = ex_connect(&args, 0, 0);
    int failed = single_server(a, b);
    chalkc_close(a);
    chalkc_close(b);
    if (args.nports >= 3)
        failed |= redlock(&args);
    else
        printf("(give three -p ports to also run Redlock)\n");
    return failed;
}
