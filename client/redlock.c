/*
 * redlock.c — Redlock: a lock held on a majority of N independent servers,
 * and compare-and-delete without server-side scripting.
 *
 * The one idea: one server holding a lock is a single point of failure
 * (and with async replication a failover can hand the lock to a second
 * client). Redlock takes the lock on N independent masters with the same
 * random token and a TTL, and holds it only if a MAJORITY said yes quickly
 * enough that the TTL, minus the time spent and a margin for clock drift,
 * still leaves validity time.
 *
 *   acquire:  t0 = now
 *             for each server: SET resource token NX PX ttl  (short timeout)
 *             elapsed = now - t0; drift = ttl/100 + 2 ms
 *             validity = ttl - elapsed - drift
 *             held  iff  OKs >= N/2 + 1  and  validity > 0
 *             else release everywhere (some servers may have said yes)
 *
 * Release must delete the key only if it still holds OUR token (else we
 * would free a lock that expired and was taken by someone else). Redis
 * does this with a Lua script; Chalk deliberately has no EVAL, so we use
 * optimistic locking, which both servers have:
 *
 *   WATCH k; GET k  → not our token: UNWATCH, done (not ours)
 *                   → our token: MULTI; DEL k; EXEC
 *   EXEC returns nil if k changed after WATCH (expired and re-taken): then
 *   nothing was deleted, which is exactly right.
 *
 * Left out on purpose: automatic retry with random delay, lock extension.
 * Cost: the caller loops; see client/examples/lock.c.
 *
 * Interview topics: lock.distributed.
 */
#include <chalk/client.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 16 random bytes from the kernel, as 32 hex characters. */
static int random_token(char out[33])
{
    unsigned char b[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return CHALKC_EIO;
    ssize_t n = read(fd, b, sizeof(b));
    close(fd);
    if (n != (ssize_t)sizeof(b))
        return CHALKC_EIO;
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

int chalkc_compare_and_delete(chalkc_conn *c, const char *key,
                              const char *token)
{
    chalkc_reply *r = NULL;
    int rc = chalkc_command(c, &r, "WATCH %s", key);
    chalkc_reply_free(r);
    if (rc != 0)
        return rc;
    rc = chalkc_command(c, &r, "GET %s", key);
    int ours = rc == 0 && r->type == CHALKC_REPLY_STRING &&
               strcmp(r->str, token) == 0;
    chalkc_reply_free(r);
    if (rc != 0 || !ours) {
        int urc = chalkc_command(c, &r, "UNWATCH");
        chalkc_reply_free(r);
        return rc != 0 ? rc : (urc < 0 && urc != CHALKC_ESERVER ? urc : 0);
    }
    /* Pipelined: MULTI, DEL (QUEUED), EXEC in one round trip. */
    chalkc_appendf(c, "MULTI");
    chalkc_appendf(c, "DEL %s", key);
    chalkc_appendf(c, "EXEC");
    int deleted = 0;
    for (int i = 0; i < 3; i++) {
        int grc = chalkc_get_reply(c, &r);
        if (grc < 0 && grc != CHALKC_ESERVER)
            return grc;
        /* EXEC: [1] when DEL ran; nil when the WATCHed key changed. */
        if (i == 2 && r->type == CHALKC_REPLY_ARRAY && r->elements == 1 &&
            r->element[0]->type == CHALKC_REPLY_INTEGER)
            deleted = r->element[0]->integer == 1;
        chalkc_reply_free(r);
    }
    return deleted;
}

/* @interview(lock.distributed): How does Redlock decide it holds the lock,
 * and why is that still not enough for correctness? It needs SET NX PX to
 * succeed on a majority of independent servers with time left over after
 * subtracting the acquisition time and a clock-drift margin. But a client
 * paused (GC, swap) past the TTL still believes it holds the lock: only a
 * fencing token checked by the protected resource makes that safe. */
int chalkc_redlock_lock(chalkc_conn *const *conns, int n, const char *resource,
                        int ttl_ms, chalkc_redlock_result *res)
{
    if (!conns || n < 1 || !resource || ttl_ms < 1 || !res)
        return CHALKC_EINVAL;
    memset(res, 0, sizeof(*res));
    int rc = random_token(res->token);
    if (rc != 0)
        return rc;
    int64_t t0 = chalkc_now_ms();
    for (int i = 0; i < n; i++) {
        chalkc_reply *r = NULL;
        if (conns[i] && chalkc_command(conns[i], &r, "SET %s %s NX PX %d",
                                       resource, res->token, ttl_ms) == 0 &&
            r->type == CHALKC_REPLY_STATUS)
            res->acquired_on++;
        chalkc_reply_free(r);
    }
    int64_t elapsed = chalkc_now_ms() - t0;
    int64_t drift = ttl_ms / 100 + 2;
    res->validity_ms = ttl_ms - elapsed - drift;
    if (res->acquired_on >= n / 2 + 1 && res->validity_ms > 0)
        return 0;
    chalkc_redlock_unlock(conns, n, resource, res->token);
    return CHALKC_ENOTLOCKED;
}

int chalkc_redlock_unlock(chalkc_conn *const *conns, int n,
                          const char *resource, const char *token)
{
    int released = 0;
    for (int i = 0; i < n; i++)
        if (conns[i] && chalkc_compare_and_delete(conns[i], resource, token) == 1)
            released++;
    return released;
}
