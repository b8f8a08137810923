/*
 * cache_aside.c — cache-aside (lazy loading) with a TTL, and protection
 * against the cache stampede.
 *
 * The one idea: the application, not the cache, owns the logic. Read the
 * cache; on a miss, load from the database and put the value in the cache
 * with a TTL so stale data ages out. The danger is the stampede: when a hot
 * key is missing (cold start, or its TTL just fired), every concurrent
 * request misses at once and they all hit the database. The fix here is a
 * short per-key lock (SET lock NX PX): one request loads, the others wait
 * for the cache to fill.
 *
 *   get(k):  v = GET cache:k            → hit: return v
 *            SET lock:k token NX PX 2000 → won: GET cache:k again (filled
 *                                              meanwhile? use it), else
 *                                              v = db_load(k)
 *                                              SET cache:k v EX ttl
 *                                              compare-and-delete lock:k
 *                                      → lost: poll GET cache:k (10 ms)
 *
 * Left out on purpose: probabilistic early refresh (XFetch), negative
 * caching of "not found", invalidation on write. Cost: a hot key's expiry
 * still costs one slow request.
 *
 * Run: chalk-example-cache-aside -p 6379
 * Interview topics: cache.fundamentals.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "example.h"

typedef struct app {
    ex_args args;
    atomic_int db_loads;   /* how often the "database" was queried */
} app;

/* The slow source of truth: 100 ms per query. */
static void db_load(app *ap, const char *key, char *out, size_t cap)
{
    atomic_fetch_add(&ap->db_loads, 1);
    ex_sleep_ms(100);
    snprintf(out, cap, "profile-of-%s", key);
}

/* @interview(cache.fundamentals): What is cache-aside, and what goes wrong
 * with it under load? The app reads the cache, and on a miss loads from the
 * database and fills the cache with a TTL. When a hot key expires, every
 * concurrent reader misses together and stampedes the database; a per-key
 * lock (SET NX PX) lets one reader load while the rest wait for the fill. */
static int cache_get(app *ap, chalkc_conn *c, const char *key, int ttl_s,
                     char *out, size_t cap)
{
    for (int tries = 0; tries < 500; tries++) {
        chalkc_reply *r = ex_cmd(c, "GET cache:%s", key);
        if (r->type == CHALKC_REPLY_STRING) {
            snprintf(out, cap, "%s", r->str);
            chalkc_reply_free(r);
            return 1; /* hit */
        }
        chalkc_reply_free(r);
        char token[32];
        snprintf(token, sizeof(token), "%p-%d", (void *)c, tries);
        r = ex_cmd(c, "SET lock:%s %s NX PX 2000", key, token);
        int won = r->type == CHALKC_REPLY_STATUS;
        chalkc_reply_free(r);
        if (won) {
            char lock_key[128];
            snprintf(lock_key, sizeof(lock_key), "lock:%s", key);
            /* Check again under the lock: between our GET and our SET NX the
             * previous holder may have filled the cache and let go. */
            r = ex_cmd(c, "GET cache:%s", key);
            int filled = r->type == CHALKC_REPLY_STRING;
            if (filled)
                snprintf(out, cap, "%s", r->str);
            chalkc_reply_free(r);
            if (!filled) {
                db_load(ap, key, out, cap);
                chalkc_reply_free(ex_cmd(c, "SET cache:%s %s EX %d", key, out, ttl_s));
            }
            chalkc_compare_and_delete(c, lock_key, token);
            return filled; /* 1: hit after all; 0: miss, loaded */
        }
        ex_sleep_ms(10); /* someone else is loading: wait for the fill */
    }
    return -1;
}

typedef struct worker {
    app *ap;
    int hit;
} worker;

static void *reader(void *arg)
{
    worker *w = arg;
    chalkc_conn *c = ex_connect(&w->ap->args, 0, 0);
    char v[128];
    w->hit = cache_get(w->ap, c, "user:42", 1, v, sizeof(v));
    chalkc_close(c);
    return NULL;
}

/* N readers at once on a cold key: how many reach the database? */
static int stampede(app *ap, int n)
{
    pthread_t th[16];
    worker w[16];
    atomic_store(&ap->db_loads, 0);
    for (int i = 0; i < n; i++) {
        w[i] = (worker){.ap = ap};
        pthread_create(&th[i], NULL, reader, &w[i]);
    }
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    return atomic_load(&ap->db_loads);
}

int main(int argc, char **argv)
{
    app ap = {.args = ex_parse(argc, argv)};
    chalkc_conn *c = ex_connect(&ap.args, 0, 0);
    char v[128];
    int failed = 0;
    chalkc_reply_free(ex_cmd(c, "DEL cache:user:7 cache:user:42 lock:user:42"));

    printf("cache-aside: read the cache, on a miss load the DB and fill the cache\n");
    int first = cache_get(&ap, c, "user:7", 1, v, sizeof(v));
    int second = cache_get(&ap, c, "user:7", 1, v, sizeof(v));
    printf("  first read: %s, second read: %s (value %s)\n",
           first ? "hit" : "miss", second ? "hit" : "miss", v);
    failed |= ex_check(first == 0 && second == 1, "miss then hit");
    long long ttl = ex_int(c, "TTL cache:user:7");
    failed |= ex_check(ttl >= 0 && ttl <= 1, "the cached value carries a TTL");
    ex_sleep_ms(1100);
    int third = cache_get(&ap, c, "user:7", 1, v, sizeof(v));
    failed |= ex_check(third == 0, "after the TTL the value is reloaded (stale data ages out)");

    printf("stampede: 8 concurrent readers of a cold hot key\n");
    int loads = stampede(&ap, 8);
    printf("  database loads: %d (without the lock it would be up to 8)\n", loads);
    failed |= ex_check(loads == 1, "one reader loaded, the others waited for the fill");
    chalkc_close(c);
    return failed;
}
