/*
 * expire.c — making expired keys go away: lazily, when a command meets
 * one, and actively, a few at a time, every server tick.
 *
 * The one idea (Redis's): an expiry needs no timer per key. The engine
 * already hides a key whose time has passed (every read compares
 * expire_at_ms with the clock), so correctness never depends on deleting
 * on time; deleting is only about reclaiming memory and disk. Two ways do
 * it:
 *   - lazy (expire_if_needed): a lookup that misses asks the engine to
 *     delete the key if its index still holds it; cost O(1), but a key
 *     nobody asks for again would stay forever;
 *   - active (expire_cycle): each tick, sample 20 keys that carry an
 *     expiry (chalk_expire_sample), delete the expired ones, and go on
 *     sampling while more than a quarter of a sample was expired and a
 *     quarter of the tick is not used up. A sample is a statistical
 *     estimate of how much of the key set is expired: repeat only while
 *     it is worth it, and never stall the loop.
 *
 * Replication: deletions are writes, and a replica must not expire keys on
 * its own clock (its clock may run ahead of its primary's, and a read of
 * the replica must not disagree with the primary's stream). It hides them
 * (the engine does) and waits for the primary's delete. expire_may_delete()
 * is that switch (false on a follower). A primary's expiry deletes reach
 * the stream like any write: the active cycle's batch through
 * server_write, the lazy path's through propagate_delete().
 *
 * Left out on purpose: Redis's adaptive effort (active-expire-effort) and
 * its fast cycle run before sleeping. The cost: with many keys expiring at
 * once, memory and disk come back at most ~25% of one core's time per
 * tick, which is the trade Redis makes too.
 *
 * Interview topics: cache.ttl.
 */
#include "expire.h"

#include "commands.h"
#include "composite.h"
#include "notify.h"
#include "repl_hooks.h"
#include "server.h"

enum {
    EXPIRE_SAMPLE = 20,          /* keys looked at per round (Redis: 20) */
    EXPIRE_REPEAT_PCT = 25,      /* go on while > 25% of a sample expired */
    EXPIRE_TIME_PCT = 25,        /* at most 25% of a tick (Redis: 25) */
};

bool expire_may_delete(void)
{
    /* A follower waits for its leader's deletes (repl_stream.c). */
    return server.db != NULL && !repl_is_replica();
}

bool expire_deadline(long long amount, long long unit_ms, int64_t base_ms, int64_t *out)
{
    long long ms;
    if (__builtin_mul_overflow(amount, unit_ms, &ms))
        return false;
    int64_t when;
    if (__builtin_add_overflow((int64_t)ms, base_ms, &when))
        return false;
    *out = when;
    return true;
}

/* The deletion of an expired key counts as a write (server.dirty). */
static void expired_one(void)
{
    server.stat_expired_keys++;
    server.dirty++;
}

/* The lazy path deletes with chalk_delete (it must first learn whether
 * the key was there), so it did not go through server_write: hand the
 * same delete to the replication stream, as server_write would have, so
 * that followers drop their copy too. */
static void propagate_delete(const void *ek, size_t eklen)
{
    chalk_batch *b = chalk_batch_new();
    if (b && chalk_batch_delete(b, ek, eklen) == CHALK_OK)
        repl_feed_batch(b);
    chalk_batch_free(b);
}

void expire_if_needed(const void *ek, size_t eklen)
{
    if (!expire_may_delete())
        return;
    /* chalk_delete writes a tombstone only if the index holds the key, and
     * then it says ENOTFOUND when that key had expired: the index shrinking
     * is how we learn that an expired key (not an absent one) went away.
     * No reply waits for this tombstone: were it lost in a crash, the key
     * would still be expired after recovery. */
    uint64_t before = chalk_count(server.db);
    int rc = chalk_delete(server.db, ek, eklen);
    if (rc == CHALK_ENOTFOUND && chalk_count(server.db) < before) {
        expired_one();
        propagate_delete(ek, eklen);
        cp_expired(NULL, ek, eklen);   /* a collection's members: composite.h */
        notify_expired(ek, eklen);     /* keyspace event (notify.c) */
    }
}

struct sample_ctx {
    chalk_batch *batch;          /* the deletes of this round */
    long found;
};

static void on_expired(void *arg, const void *key, size_t klen, int64_t expire_at_ms)
{
    struct sample_ctx *s = arg;
    (void)expire_at_ms;
    if (chalk_batch_delete(s->batch, key, klen) == CHALK_OK &&
        cp_expired(s->batch, key, klen) == CHALK_OK) { /* members: composite.h */
        s->found++;
        notify_expired(key, klen);                     /* keyspace event (notify.c) */
    }
}

/* One round: sample, delete what expired in one batch. Returns how many
 * were deleted, or a negative error (the cycle then stops). */
static long expire_round(int64_t now)
{
    chalk_batch *b = chalk_batch_new();
    if (!b)
        return CHALK_ENOMEM;
    struct sample_ctx s = {.batch = b};
    int rc = chalk_expire_sample(server.db, now, EXPIRE_SAMPLE, on_expired, &s);
    if (rc >= 0 && s.found)
        rc = server_write(NULL, b);
    chalk_batch_free(b);
    if (rc < 0)
        return rc;
    for (long i = 0; i < s.found; i++)
        expired_one();
    return s.found;
}

/* @interview(cache.ttl): How do TTLs work, and when is an expired key's
 * memory reclaimed? A key stores its absolute expiry time; every read
 * compares it with the clock, so an expired key is never served, whether
 * or not it was deleted yet. Deletion happens lazily when a command touches
 * the key, and actively here: each tick samples 20 keys with a TTL,
 * deletes the expired ones and repeats while more than 25% of the sample
 * had expired, within a time budget. So the work is bounded per tick and
 * the share of expired-but-undeleted keys stays around 25% at worst. */
long expire_cycle(int64_t now)
{
    if (!expire_may_delete())
        return 0;
    cp_reap();                    /* one slice of lazy free (composite.h) */
    int64_t budget_us = 1000 * 1000 / (server.cfg.hz > 0 ? server.cfg.hz : 10) * EXPIRE_TIME_PCT / 100;
    int64_t start = now_us();
    long total = 0;
    for (int round = 0; round < 10000; round++) {
        long n = expire_round(now);
        if (n < 0)
            break;
        total += n;
        if (n * 100 <= (long)EXPIRE_SAMPLE * EXPIRE_REPEAT_PCT)
            break;                 /* few expired: not worth another round */
        if (now_us() - start > budget_us)
            break;
    }
    return total;
}
