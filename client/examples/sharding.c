/*
 * sharding.c — client-side sharding with consistent hashing (ketama, the
 * same layout twemproxy uses), and what happens when a server is added.
 *
 * The one idea: every client builds the same ring from the same server
 * list, so all of them agree where a key lives without asking anyone; and
 * adding a server moves only ~1/N of the keys, where `hash % N` moves
 * nearly all of them (a cold cache, or a big migration).
 *
 *   chalk-example-sharding -p 7001 -p 7002 -p 7003
 *       writes 3000 keys through the ring, checks each server holds exactly
 *       the keys the ring gave it, and measures the keys that would move
 *       when a 4th server joins: ketama vs modulo.
 *   chalk-example-sharding --map [--weights 1,2,3] NAME...  < keys
 *       prints "<key> <name>" for each key on stdin: the ring only, no
 *       server (tests compare it with an independent implementation).
 *
 * Left out on purpose: resharding (moving the keys), replicas on the ring.
 * Cost: a joining server starts empty; as a cache that is fine.
 *
 * Interview topics: repl.sharding, cache.distributed, gateway.patterns.
 */
#include "example.h"

static int map_mode(int argc, char **argv, int first)
{
    int weights[EX_MAX_SERVERS], n = 0, have_w = 0;
    const char *names[EX_MAX_SERVERS];
    for (int i = first; i < argc; i++) {
        if (!strcmp(argv[i], "--weights") && i + 1 < argc) {
            char *p = argv[++i];
            for (int k = 0; k < EX_MAX_SERVERS && *p; k++) {
                weights[k] = (int)strtol(p, &p, 10);
                if (*p == ',')
                    p++;
            }
            have_w = 1;
        } else if (n < EX_MAX_SERVERS) {
            names[n++] = argv[i];
        }
    }
    chalkc_ring *ring;
    if (chalkc_ring_new(n, names, have_w ? weights : NULL, &ring) != 0)
        return 1;
    char line[512];
    while (fgets(line, sizeof(line), stdin)) {
        line[strcspn(line, "\n")] = '\0';
        printf("%s %s\n", line, names[chalkc_ring_lookup(ring, line, strlen(line))]);
    }
    chalkc_ring_free(ring);
    return 0;
}

/* Fraction of keys whose server changes when a server joins. */
static void movement(const char *const *names, int n, int keys, double *ketama,
                     double *modulo)
{
    chalkc_ring *before, *after;
    chalkc_ring_new(n, names, NULL, &before);
    chalkc_ring_new(n + 1, names, NULL, &after);
    int moved_k = 0, moved_m = 0;
    for (int i = 0; i < keys; i++) {
        char key[32];
        int len = snprintf(key, sizeof(key), "user:%d", i);
        moved_k += chalkc_ring_lookup(before, key, (size_t)len) !=
                   chalkc_ring_lookup(after, key, (size_t)len);
        uint32_t h = chalkc_ketama_hash(key, (size_t)len, 0);
        moved_m += h % (uint32_t)n != h % (uint32_t)(n + 1);
    }
    *ketama = (double)moved_k / keys;
    *modulo = (double)moved_m / keys;
    chalkc_ring_free(before);
    chalkc_ring_free(after);
}

/* @interview(gateway.patterns): Where does a proxy like twemproxy sit,
 * compared with client-side sharding? A proxy is a gateway between the
 * apps and the shards: clients stay simple and the server list lives in
 * one place, at the cost of an extra network hop and a tier to run.
 * Client-side sharding (this ring) skips the hop, but every client must
 * share the same list and hash; ketama-compatible rings let both agree. */
int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--map"))
        return map_mode(argc, argv, 2);
    ex_args a = ex_parse(argc, argv);
    int n = a.nports, failed = 0, keys = 3000;
    char names[EX_MAX_SERVERS + 1][64];
    const char *pn[EX_MAX_SERVERS + 1];
    chalkc_conn *c[EX_MAX_SERVERS];
    for (int i = 0; i < n; i++) {
        snprintf(names[i], sizeof(names[i]), "%s:%d", a.host, a.ports[i]);
        pn[i] = names[i];
        c[i] = ex_connect(&a, i, 0);
        chalkc_reply_free(ex_cmd(c[i], "DEL shard:count"));
    }
    snprintf(names[n], sizeof(names[n]), "%s:%d", a.host, 1); /* the newcomer */
    pn[n] = names[n];
    chalkc_ring *ring;
    chalkc_ring_new(n, pn, NULL, &ring);
    printf("ring: %d servers, %zu points\n", n, chalkc_ring_points(ring));
    int per[EX_MAX_SERVERS] = {0};
    for (int i = 0; i < keys; i++) {
        char key[32];
        int len = snprintf(key, sizeof(key), "user:%d", i);
        int s = chalkc_ring_lookup(ring, key, (size_t)len);
        per[s]++;
        chalkc_appendf(c[s], "INCR shard:count"); /* pipelined per server */
    }
    for (int s = 0; s < n; s++) {
        for (int i = 0; i < per[s]; i++) {
            chalkc_reply *r;
            chalkc_get_reply(c[s], &r);
            chalkc_reply_free(r);
        }
        long long stored = ex_int(c[s], "INCRBY shard:count 0");
        printf("  %-18s %5d keys (%.1f%%), server counted %lld\n", names[s], per[s],
               100.0 * per[s] / keys, stored);
        failed |= ex_check(stored == per[s], "the server got exactly its keys");
    }
    double mk, mm;
    movement(pn, n, 100000, &mk, &mm);
    printf("a server joins (%d -> %d): %.1f%% of keys move with ketama, "
           "%.1f%% with hash %% N\n", n, n + 1, 100 * mk, 100 * mm);
    if (n >= 2)
        failed |= ex_check(mk < 1.5 / (n + 1) && mm > 1.5 * mk,
                           "consistent hashing moves ~1/(N+1), modulo most keys");
    chalkc_ring_free(ring);
    for (int i = 0; i < n; i++)
        chalkc_close(c[i]);
    return failed;
}
