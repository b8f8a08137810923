/*
 * ring.c — consistent hashing over N servers, laid out exactly like
 * twemproxy's ketama distribution (with hash: md5), so a client using this
 * ring and a twemproxy in front of the same servers send a key to the same
 * server.
 *
 * The one idea: put many points per server on a circle of 2^32 hashes; a
 * key belongs to the first point clockwise from hash(key). Adding or
 * removing a server moves only the keys between its points and their
 * neighbours (about 1/N of them), where `hash % N` would move almost all.
 *
 * The layout (ketama, as twemproxy builds it in ketama_update()):
 *   - server i gets  floorf(w_i/W * 160/4 * N + 1e-10) * 4  points
 *     (160 for equal weights), computed in single-precision float like
 *     the original, because the float rounding decides the count;
 *   - for j in 0 .. points/4 - 1: digest = MD5("<name>-<j>"); each digest
 *     gives 4 points, point k = digest bytes [4k .. 4k+3] read
 *     little-endian;
 *   - the points are sorted by value; a key's hash (MD5 of the key, its
 *     first 4 bytes little-endian) goes to the first point >= hash,
 *     wrapping to point 0 past the end.
 *   - <name> is twemproxy's server name: the configured name if one is
 *     given, else "host:port" ("host" alone when port is 11211).
 *
 * Invariant: points[] is sorted by value (ties keep build order, as
 * qsort would not guarantee: for equal values we sort by server index to
 * stay deterministic; twemproxy's order is then unspecified too).
 *
 * Left out on purpose: removing failed servers on the fly
 * (auto_eject_hosts); libmemcached's weighted variant (different formula).
 * Cost: the caller rebuilds the ring when membership changes.
 *
 * Interview topics: repl.sharding, cache.distributed, gateway.patterns.
 */
#include <chalk/client.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ring_point {
    uint32_t value;  /* position on the circle */
    int server;      /* index of the owner */
} ring_point;

struct chalkc_ring {
    ring_point *points;
    size_t npoints;
    int nservers;
};

uint32_t chalkc_ketama_hash(const void *key, size_t len, unsigned alignment)
{
    unsigned char d[16];
    chalkc_md5(key, len, d);
    const unsigned char *b = d + (alignment & 3) * 4;
    return (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 |
           (uint32_t)b[0];
}

static int point_cmp(const void *a, const void *b)
{
    const ring_point *x = a, *y = b;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return x->server - y->server;
}

/* twemproxy's point count, float arithmetic and all. */
static unsigned ketama_points_for(int weight, int total_weight, int nservers)
{
    float pct = (float)weight / (float)total_weight;
    float x = pct * 160 / 4 * (float)nservers;
    return (unsigned)(floorf((float)(x + 0.0000000001)) * 4);
}

/* @interview(repl.sharding): How does a client pick the shard of a key so
 * that adding a server moves few keys? Consistent hashing: each server owns
 * 160 pseudo-random points on a 32-bit circle (more for a heavier weight),
 * a key goes to the next point clockwise from its hash; a new server takes
 * over only the arcs before its own points, about 1/N of the keys. */
int chalkc_ring_new(int n, const char *const *names, const int *weights,
                    chalkc_ring **out)
{
    *out = NULL;
    if (n < 1 || !names)
        return CHALKC_EINVAL;
    int total = 0;
    for (int i = 0; i < n; i++) {
        if (weights && weights[i] < 1)
            return CHALKC_EINVAL;
        total += weights ? weights[i] : 1;
    }
    chalkc_ring *r = calloc(1, sizeof(*r));
    size_t cap = 0;
    for (int i = 0; i < n; i++)
        cap += ketama_points_for(weights ? weights[i] : 1, total, n);
    if (!r || !(r->points = malloc((cap ? cap : 1) * sizeof(ring_point)))) {
        free(r);
        return CHALKC_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        unsigned pts = ketama_points_for(weights ? weights[i] : 1, total, n);
        for (unsigned j = 0; j < pts / 4; j++) {
            char host[300];
            int hl = snprintf(host, sizeof(host), "%s-%u", names[i], j);
            for (unsigned k = 0; k < 4; k++)
                r->points[r->npoints++] = (ring_point){
                    chalkc_ketama_hash(host, (size_t)hl, k), i};
        }
    }
    qsort(r->points, r->npoints, sizeof(ring_point), point_cmp);
    r->nservers = n;
    *out = r;
    return 0;
}

void chalkc_ring_free(chalkc_ring *r)
{
    if (!r)
        return;
    free(r->points);
    free(r);
}

size_t chalkc_ring_points(const chalkc_ring *r)
{
    return r->npoints;
}

/* @interview(cache.distributed): How does a distributed cache spread keys
 * over nodes without a coordinator? Every client builds the same ring from
 * the same server list and hashes keys the same way, so they all agree on
 * a key's node with no lookup service; twemproxy does this in a proxy,
 * chalkc_ring_lookup() does it in the client (docs/client.md compares). */
int chalkc_ring_lookup(const chalkc_ring *r, const void *key, size_t len)
{
    if (r->npoints == 0)
        return 0;
    uint32_t h = chalkc_ketama_hash(key, len, 0);
    size_t lo = 0, hi = r->npoints;
    while (lo < hi) { /* first point with value >= h */
        size_t mid = lo + (hi - lo) / 2;
        if (r->points[mid].value < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (hi == r->npoints)
        hi = 0; /* past the last point: wrap around the circle */
    return r->points[hi].server;
}
