/*
 * ordered_index.c — the ordered index (oidx): the live entries in key order,
 * for range scans, prefix scans and ordered iteration.
 *
 * The one idea: an in-memory B+tree whose nodes hold only POINTERS to the
 * engine's idx_entry structs, never key bytes. Leaves hold up to 62 entry
 * pointers and are chained left to right, so a scan is one descent and then
 * a walk along arrays; inner nodes hold child pointers and, for each child,
 * a pointer to the first entry of its subtree, which is the separator that
 * a descent compares with. A key's bytes live once, in its entry.
 *
 * Why a B+tree and not a skiplist (Redis's choice for sorted sets) — the
 * figures are for 64-bit pointers, glibc malloc, random insertion order:
 *
 *                       memory per key                 lookup, 1M keys
 *   B+tree of pointers  8 B × 1/fill (≈0.7) ≈ 12 B,    ~4 node visits, each a
 *                       +~4% for inner nodes, one      binary search inside a
 *                       malloc per 62 keys             512-byte node
 *   skiplist            node per key: entry pointer +  ~2·log2(n) ≈ 40 pointer
 *                       1.33 forward pointers + level  hops, each a likely
 *                       byte + malloc header ≈ 32 B    cache miss
 *                       (Redis's, with score, span and
 *                       backward link: ≈ 60 B)
 *   hash index (for     8 B of bucket per slot, load   one bucket + chain:
 *   comparison)         0.5–1 ⇒ 8–16 B; no order       ~1–2 cache misses
 *
 * Both ordered structures compare keys through the entry pointer (one miss
 * per comparison, ~log2(n) of them); the B+tree saves the misses on the
 * structure itself and most of the memory. The skiplist's merits are
 * simpler code (no splits, merges or borrowing: the bulk of this file) and
 * easy lock-free variants, which a single-threaded engine does not need.
 *
 * Node rules (the constants below):
 *   - a leaf splits in half when full — except when a key is appended after
 *     the last key of the whole index: then the full leaf stays full and the
 *     new leaf starts with the one new key (SQLite's "quick balance"), so
 *     loading keys in order fills leaves to 100% instead of 50%;
 *   - a node whose count falls below a QUARTER of its capacity borrows from
 *     or merges with a sibling. A quarter, not the textbook half: with half,
 *     a delete right after a split would merge the halves back and the next
 *     insert would split them again (thrashing); a quarter leaves room.
 *
 * Invariants (oidx_check_invariants() returns the number of the first one
 * broken; 8 is under "abbreviated keys"):
 *   1. The tree has a root and every leaf is at depth `height` (1 = the
 *      root is a leaf).
 *   2. Occupancy: a leaf holds at most OIDX_LEAF_CAP entries, and at least
 *      OIDX_LEAF_MIN unless it is the root or the last leaf (which may hold
 *      fewer, down to 1, after a quick-balance split); an inner node holds
 *      2..OIDX_INNER_CAP children if it is the root, else
 *      OIDX_INNER_MIN..OIDX_INNER_CAP.
 *   3. Reading the leaves in tree order gives the entries in strictly
 *      increasing idx_keycmp order (so no key appears twice).
 *   4. In every inner node, min[i] is the first entry of child[i]'s subtree
 *      (pointer equality): separators never point at an entry the index
 *      has let go of, which matters because the engine frees entries.
 *   5. The leaf chain (next pointers) links the leaves in tree order and the
 *      last leaf's next is NULL.
 *   6. count is the number of entries; leaves and inners count the nodes
 *      (oidx_memory is computed from them).
 *   7. In every inner node, cnt[i] is the number of entries in child[i]'s
 *      subtree: the tree is an ORDER-STATISTICS tree, so the rank of a key
 *      (oidx_rank) and the entry at a rank (oidx_iter_seek_rank) are one
 *      descent, O(log n), instead of a walk of O(rank) entries.
 *   8. In every inner node, plen <= OIDX_PFX_MAX, every min[i]'s key starts
 *      with pfx[0..plen), and abbr[i] == abbr_of(min[i]'s key, plen).
 *
 * Iterators and modification: every insert or remove bumps `mods`. An
 * iterator remembers its leaf and position plus a private copy of the
 * current key; if mods has changed when it is next used, its leaf may have
 * been split, merged or freed, so it re-seeks by key instead (to the first
 * key >= the copy for iter_entry, > the copy for iter_next). Hence: no
 * crash, no key twice, and no key that stayed in the index is skipped.
 * An iterator points at its index: free it before oidx_free(). A new
 * iterator is unpositioned (oidx_iter_entry returns NULL) until a seek.
 *
 * Counts (invariant 7): each inner slot carries its subtree's entry count,
 * 8 bytes more per child slot, in inner nodes only (one inner node per
 * 16-31 leaves: +0.3 B/key, 12.4 -> 12.7 B/key at 1M random keys, ascending
 * 8.8 -> 9.1; docs/engine-indexes.md). Every path
 * that moves entries or children keeps them exact: path_fixup after an
 * insert (recounting the slot it passed), remove_rec and rebalance after a
 * remove, the splits and shift_items that move (child, min, cnt) triples,
 * and the bulk loader, which counts bottom-up as it builds each level.
 * A rank descent sums the counts of the slots left of the one it takes.
 *
 * Abbreviated keys in inner nodes (invariant 8, "abbreviated keys" below):
 * each separator also has 8 bytes of its key, taken after the node's common
 * prefix, so a descent through inner nodes compares numbers in the node
 * instead of loading separators' entries (only a tie loads one). 8 bytes
 * per child slot plus 17 per node, in inner nodes only: 752 -> 1016 bytes,
 * +0.3 B/key at 1M random keys (12.7 -> 13.0; docs/engine-indexes.md).
 *
 * Left out on purpose:
 *   - abbreviated keys in LEAVES: they would spare the leaf's binary
 *     search its entry loads too, but at 8 bytes per key slot the B+tree
 *     doubles (12.4 -> 24.5 B/key measured, for +18 % random puts), a
 *     memory-for-speed trade this index does not make;
 *   - backward iteration (a prev pointer per leaf and iter_prev): reverse
 *     scans (ZREVRANGE) seek by rank instead, one O(log n) seek per chunk
 *     read forward (server/zset.c slice_reverse);
 *   - bulk loading into a NON-empty tree: oidx_bulk_load only builds an
 *     empty one (recovery's case); a merge of sorted input into a big tree
 *     goes through oidx_insert, one descent per key.
 *
 * Interview topics: index.optimization.
 */
#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "chalk/engine.h"
#include "index.h"

#define OIDX_LEAF_CAP    62                  /* 8 + 8 + 62 × 8 = 512-byte leaf */
#define OIDX_INNER_CAP   31                  /* 24 + 31 × 32 = 1016-byte inner node */
#define OIDX_LEAF_MIN    (OIDX_LEAF_CAP / 4)
#define OIDX_INNER_MIN   (OIDX_INNER_CAP / 4)
#define OIDX_MAX_HEIGHT  40   /* > log_7(2^64) + 2: inner nodes have >= 7 children */
#define OIDX_PFX_MAX     16   /* bytes of an inner node's common prefix it keeps */

typedef struct onode {        /* the header both node kinds start with */
    uint16_t n;               /* entries (leaf) or children (inner) */
    uint8_t  leaf;            /* 1 for a leaf */
} onode;

/* @interview(index.optimization): What does an index cost, and which kind
 * fits which query? A hash index answers "get key" in O(1) with ~1 cache
 * miss but cannot list keys in order; this B+tree answers "keys from k" and
 * prefix scans in O(log n) + the walk, for ~12 bytes per key of pointers.
 * Every index also costs writes: each put updates both, which is why Chalk
 * keeps exactly two, over one shared copy of each key. */
typedef struct oleaf {
    onode hdr;
    struct oleaf *next;                      /* right neighbour, NULL for the last */
    idx_entry *e[OIDX_LEAF_CAP];             /* sorted by key */
} oleaf;

typedef struct oinner {
    onode hdr;
    uint8_t plen;                            /* every min[i]'s key starts with pfx[0..plen) */
    unsigned char pfx[OIDX_PFX_MAX];
    /* What a descent reads comes first (prefetch_node loads only that):
     * the abbreviations it searches and the child it takes. */
    uint64_t abbr[OIDX_INNER_CAP];           /* min[i]'s abbreviated key (abbr_of) */
    onode *child[OIDX_INNER_CAP];
    idx_entry *min[OIDX_INNER_CAP];          /* first entry of child[i]'s subtree */
    size_t cnt[OIDX_INNER_CAP];              /* entries in child[i]'s subtree */
} oinner;

struct oidx {
    onode *root;              /* never NULL; an empty index is an empty leaf */
    int height;               /* levels; 1 = the root is a leaf */
    size_t count;             /* entries */
    size_t leaves, inners;    /* nodes, for oidx_memory */
    uint64_t mods;            /* bumped by every change: iterators re-seek */
};

struct oidx_iter {
    oidx *o;
    oleaf *leaf;              /* position; trusted only while mods == o->mods */
    int pos;
    uint64_t mods;
    int state;                /* ITER_NONE (unpositioned), ITER_AT, ITER_END */
    int err;                  /* 0 or CHALK_ENOMEM (then state is ITER_END) */
    unsigned char *key;       /* copy of the current entry's key */
    size_t klen, cap;
};

enum { ITER_NONE, ITER_AT, ITER_END };

#define AS_LEAF(n)  ((oleaf *)(n))
#define AS_INNER(n) ((oinner *)(n))

static int cmp_entry(const idx_entry *e, const void *key, size_t klen)
{
    return idx_keycmp_inline(e->key, e->klen, key, klen);
}

/* The first entry of a node's subtree (the node must not be empty). */
static idx_entry *first_of(const onode *n)
{
    assert(n->n > 0);
    return n->leaf ? AS_LEAF(n)->e[0] : AS_INNER(n)->min[0];
}

/* The number of entries under a node: O(1) for a leaf, a sum of at most
 * OIDX_INNER_CAP counts for an inner node. */
static size_t total_of(const onode *n)
{
    if (n->leaf)
        return n->n;
    size_t t = 0;
    for (int i = 0; i < n->n; i++)
        t += AS_INNER(n)->cnt[i];
    return t;
}

/* ---- abbreviated keys in inner nodes -------------------------------------
 *
 * A descent compares the key with ~5 separators per inner node, and each
 * separator is an entry pointer: a dependent load per comparison, a cache
 * miss at the lowest inner level (its separators are one key in ~30, spread
 * over the heap). So each inner node also keeps, per separator, 8 bytes of
 * its key as a big-endian number — not the key's first 8 bytes, which keys
 * with a common prefix share ("user:1234…", the benchmark's 16-digit keys
 * start with ten zeros), but the 8 bytes after the node's common prefix:
 * plen bytes that every separator of the node starts with, pfx[0..plen),
 * kept in the node (at most OIDX_PFX_MAX; any prefix of the true common
 * prefix is correct, a shorter one only tells fewer keys apart).
 *
 * A search first compares the key with pfx: a key that differs there (or
 * ends inside it) is below or above every separator of the node at once.
 * Otherwise its own 8 bytes after plen decide against each separator's;
 * only when those are equal does the comparison load the separator's entry.
 * Zero padding past a key's end keeps the order: where two abbreviations
 * differ, the keys differ at that byte, or the shorter key ended there and
 * sorts first — exactly idx_keycmp's order; equal abbreviations prove
 * nothing and fall back to the full comparison.
 *
 * Kept exact (invariant 8) by inner_set, which every write of a separator
 * goes through (it shortens plen, and redoes the node's abbreviations, if
 * the new separator does not start with pfx), and by inner_refresh, which
 * recomputes a node whose separators came from another node (splits,
 * borrowing, merges, a new root, the bulk loader).
 *
 * Before this, the lowest inner level prefetched its separators' keys for
 * 4 rounds of its binary search (inner_rounds); abbreviations need no
 * entry at all. Measured (docs/engine-indexes.md): 1M random puts, CPU of
 * the put loop, median -10 % against the hash filter bits alone;
 * cachegrind D1 misses 44.3 -> 35.0 per put. */

/* key's 8 bytes from off as a big-endian number, zeros past its end. */
static inline uint64_t abbr_of(const unsigned char *key, size_t klen, size_t off)
{
    uint64_t v = 0;
    if (klen >= off + 8) {
        memcpy(&v, key + off, 8);
    } else if (klen > off) {
        memcpy(&v, key + off, klen - off);
    }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* Length of the common prefix of a[0..alen) and b[0..blen). */
static size_t common_len(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen, i = 0;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

/* Recompute every abbreviation of p against its prefix length plen. */
static void abbr_all(oinner *p)
{
    for (int i = 0; i < p->hdr.n; i++)
        p->abbr[i] = abbr_of(p->min[i]->key, p->min[i]->klen, p->plen);
}

/* Recompute p's prefix (from all its separators) and abbreviations. */
static void inner_refresh(oinner *p)
{
    size_t plen = 0;
    if (p->hdr.n > 0) {
        const idx_entry *f = p->min[0];
        plen = f->klen < OIDX_PFX_MAX ? f->klen : OIDX_PFX_MAX;
        if (plen > 0)
            memcpy(p->pfx, f->key, plen);
        for (int i = 1; i < p->hdr.n && plen > 0; i++)
            plen = common_len(p->pfx, plen, p->min[i]->key, p->min[i]->klen);
    }
    p->plen = (uint8_t)plen;
    abbr_all(p);
}

/* Make e the separator of slot i (< hdr.n) of p. */
static void inner_set(oinner *p, int i, idx_entry *e)
{
    p->min[i] = e;
    size_t keep = common_len(p->pfx, p->plen, e->key, e->klen);
    if (keep < p->plen) {                     /* rare: the prefix shrinks */
        p->plen = (uint8_t)keep;
        abbr_all(p);
    } else {
        p->abbr[i] = abbr_of(e->key, e->klen, p->plen);
    }
}

/* Ask the CPU to start loading the cache lines of e's key. */
static inline void prefetch_key(const idx_entry *e)
{
    /* klen and the key's first bytes share a line; a 16-byte key may
     * straddle into the next one (integer arithmetic: no pointer past the
     * entry is formed for a shorter key; a prefetch never faults). */
    __builtin_prefetch(e->key);
    __builtin_prefetch((const void *)((uintptr_t)e->key + 15));
}

/* A binary search over entry pointers waits for one cache miss per round:
 * each round's entry is known only after the previous comparison. But the
 * first `rounds` rounds can only probe 2^rounds - 1 fixed positions, so load
 * them all at once: 5 rounds in a leaf (31 of up to 62 entries, of ~6
 * rounds) then cost about one miss instead of five. (Measured at 1M keys:
 * 3→4 rounds in leaves gained most, 4→5 ~7 % more, all 6 nothing more.) This is
 * memory-level parallelism, the same trick as Eytzinger-layout searches,
 * with no change to the node. Positions follow the loops below exactly:
 * mid = (lo + hi) / 2, then [lo, mid) or [mid + 1, hi). */
static void prefetch_search(idx_entry *const *v, int lo, int hi, int rounds)
{
    int mid = (lo + hi) / 2;                  /* lo < hi: callers and below */
    prefetch_key(v[mid]);
    if (rounds > 1 && lo < mid)
        prefetch_search(v, lo, mid, rounds - 1);
    if (rounds > 1 && mid + 1 < hi)
        prefetch_search(v, mid + 1, hi, rounds - 1);
}

/* Index of the first entry >= key in a leaf (n if none). */
static int leaf_lower_bound(const oleaf *l, const void *key, size_t klen)
{
    int lo = 0, hi = l->hdr.n;
    if (lo < hi)
        prefetch_search(l->e, lo, hi, 5);
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cmp_entry(l->e[mid], key, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The child whose subtree can hold key: the last i with min[i] <= key, or
 * child 0 for a key below every separator. Compares abbreviated keys (see
 * above); an entry is loaded only on a tie. */
static int inner_child(const oinner *p, const void *key, size_t klen)
{
    int lo = 1, hi = p->hdr.n;
    size_t plen = p->plen, m = klen < plen ? klen : plen;
    int c = idx_keycmp_inline(key, m, p->pfx, m);
    if (c < 0 || (c == 0 && klen < plen))
        return 0;                             /* below every separator */
    if (c > 0)
        return hi - 1;                        /* above every separator */
    uint64_t ak = abbr_of(key, klen, plen);
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        uint64_t am = p->abbr[mid];
        if (am < ak || (am == ak && cmp_entry(p->min[mid], key, klen) <= 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo - 1;
}

/* Load all of child node c at once, as soon as its pointer is known. A
 * descent otherwise pays a cache miss for the node's header (is it a
 * leaf? how many entries?) and only then, one memory latency later, the
 * misses on the lines its binary search probes (a leaf is 8 lines, an
 * inner node 16): at 1M keys the header load alone was two thirds of
 * oidx_insert's own time. The depth says which kind c is without reading
 * it: leaves are all at depth height - 1 (invariant 1). */
static inline void prefetch_node(const oidx *o, const onode *c, int child_depth)
{
    size_t size = child_depth == o->height - 1 ? sizeof(oleaf) : offsetof(oinner, min);
    for (size_t off = 0; off < size; off += 64)
        __builtin_prefetch((const char *)c + off);
}

/* The child of inner node n (at depth) that can hold key, prefetched. */
static inline onode *child_for(const oidx *o, const oinner *n, int depth, const void *key,
                               size_t klen, int *slot)
{
    int i = inner_child(n, key, klen);
    onode *c = n->child[i];
    prefetch_node(o, c, depth + 1);
    if (slot != NULL) {                       /* an insert: path_fixup writes these */
        *slot = i;
        __builtin_prefetch(&n->min[i], 1);
        __builtin_prefetch(&n->cnt[i], 1);
    }
    return c;
}

static oleaf *descend(const oidx *o, const void *key, size_t klen)
{
    const onode *n = o->root;
    for (int depth = 0; !n->leaf; depth++)
        n = child_for(o, AS_INNER(n), depth, key, klen, NULL);
    return (oleaf *)n;
}

/* ---- life cycle -------------------------------------------------------- */

static oleaf *leaf_new(oidx *o)
{
    oleaf *l = calloc(1, sizeof(*l));
    if (l != NULL) {
        l->hdr.leaf = 1;
        o->leaves++;
    }
    return l;
}

static oinner *inner_new(oidx *o)
{
    oinner *p = calloc(1, sizeof(*p));
    if (p != NULL)
        o->inners++;
    return p;
}

static void node_free(oidx *o, onode *n)
{
    if (n->leaf)
        o->leaves--;
    else
        o->inners--;
    free(n);
}

oidx *oidx_new(void)
{
    oidx *o = calloc(1, sizeof(*o));
    if (o == NULL)
        return NULL;
    oleaf *root = leaf_new(o);
    if (root == NULL) {
        free(o);
        return NULL;
    }
    o->root = &root->hdr;
    o->height = 1;
    return o;
}

static void free_subtree(oidx *o, onode *n)
{
    if (!n->leaf)
        for (int i = 0; i < n->n; i++)
            free_subtree(o, AS_INNER(n)->child[i]);
    node_free(o, n);
}

void oidx_free(oidx *o)
{
    if (o == NULL)
        return;
    free_subtree(o, o->root);
    free(o);
}

/* ---- bulk load ----------------------------------------------------------
 *
 * Why: recovery has every key of the hint files in key order at once (it
 * merges the sorted hint files). One insert per key pays a descent and a
 * binary search in a leaf — ~20 key comparisons through entry pointers, a
 * cache miss each — for 1M keys a third of the time of opening the store.
 * Built bottom-up from sorted input, the tree needs no comparison at all:
 * cut the array into leaves, then the leaves' list into parents, and so on
 * up to one root. Each level spreads its items evenly over ceil(m / fill)
 * nodes, so every node holds at least half of `fill` (invariant 2).
 *
 * Why leaves are filled to 3/4, not full: the keys that come next (the
 * log after the hints, then the caller's writes) land at random places,
 * and an insert into a full leaf splits it. Built full, 1M keys from hints
 * plus ~60k from the log split nearly every leaf once: the ordered index
 * took 15.5 MB instead of 12.4 MB (one insert per key). A quarter free
 * absorbs that (PostgreSQL's B-tree fillfactor is the same idea, 90% by
 * default for indexes that mostly grow at the right). */
#define OIDX_BULK_LEAF_FILL  (OIDX_LEAF_CAP * 3 / 4)     /* 46 of 62 */

/* Parents for level[0..m) (m > 1), written over level[0..p); returns p, or
 * 0 on ENOMEM (then every node of the level is freed). */
static size_t build_parents(oidx *o, onode **level, size_t m)
{
    size_t p = (m + OIDX_INNER_CAP - 1) / OIDX_INNER_CAP, pos = 0;
    for (size_t j = 0; j < p; j++) {
        int cnt = (int)(m / p + (j < m % p));
        oinner *in = inner_new(o);
        if (in == NULL) {
            for (size_t k = 0; k < j; k++) free_subtree(o, level[k]);
            for (size_t k = pos; k < m; k++) free_subtree(o, level[k]);
            return 0;
        }
        for (int k = 0; k < cnt; k++) {
            in->child[k] = level[pos + (size_t)k];
            in->min[k] = first_of(in->child[k]);
            in->cnt[k] = total_of(in->child[k]);   /* children are complete */
        }
        in->hdr.n = (uint16_t)cnt;
        inner_refresh(in);
        pos += (size_t)cnt;
        level[j] = &in->hdr;      /* j < pos: children already copied */
    }
    return p;
}

/* Leaves for v[0..n) (n > 0) into level[0..m); 0 or CHALK_ENOMEM. */
static int build_leaves(oidx *o, idx_entry *const *v, size_t n, onode **level, size_t m)
{
    oleaf *prev = NULL;
    size_t pos = 0;
    for (size_t i = 0; i < m; i++) {
        int cnt = (int)(n / m + (i < n % m));
        oleaf *l = leaf_new(o);
        if (l == NULL) {
            for (size_t k = 0; k < i; k++) node_free(o, level[k]);
            return CHALK_ENOMEM;
        }
        memcpy(l->e, v + pos, (size_t)cnt * sizeof *v);
        l->hdr.n = (uint16_t)cnt;
        pos += (size_t)cnt;
        if (prev != NULL) prev->next = l;
        prev = l;
        level[i] = &l->hdr;
    }
    return 0;
}

/* @interview(index.optimization): Why is building an index over existing
 * data much faster than inserting its rows one by one? Sorted input lets
 * the tree be built bottom up: fill leaves left to right, then each level
 * of parents, with no search and no split (what CREATE INDEX does after
 * sorting). Here it halved the CPU time of opening 1M keys from hints. */
int oidx_bulk_load(oidx *o, idx_entry *const *v, size_t n)
{
    if (o->count != 0) return CHALK_EINVAL;
    if (n == 0) return 0;
    size_t m = (n + OIDX_BULK_LEAF_FILL - 1) / OIDX_BULK_LEAF_FILL;
    onode **level = malloc(m * sizeof *level);
    if (level == NULL) return CHALK_ENOMEM;
    int height = 1;
    if (build_leaves(o, v, n, level, m) != 0) { free(level); return CHALK_ENOMEM; }
    while (m > 1) {
        m = build_parents(o, level, m);
        if (m == 0) { free(level); return CHALK_ENOMEM; }
        height++;
    }
    node_free(o, o->root);        /* the empty root leaf */
    o->root = level[0];
    o->height = height;
    o->count = n;
    o->mods++;
    free(level);
    return 0;
}

size_t oidx_count(const oidx *o) { return o->count; }

size_t oidx_memory(const oidx *o)
{
    return sizeof(*o) + o->leaves * sizeof(oleaf) + o->inners * sizeof(oinner);
}

idx_entry *oidx_find(const oidx *o, const void *key, size_t klen)
{
    const oleaf *l = descend(o, key, klen);
    int pos = leaf_lower_bound(l, key, klen);
    if (pos < l->hdr.n && cmp_entry(l->e[pos], key, klen) == 0)
        return l->e[pos];
    return NULL;
}

/* @interview(index.optimization): How does a B-tree answer "what is the
 * rank of this key" or "give me the 100000th key" without a scan? Keep, next
 * to each child pointer, the number of entries under it (an order-statistics
 * tree): a descent adds up the counts of the children it skips, so both are
 * O(log n). It is how Redis's skiplist answers ZRANK with its span fields. */
size_t oidx_rank(const oidx *o, const void *key, size_t klen)
{
    const onode *n = o->root;
    size_t rank = 0;
    for (int depth = 0; !n->leaf; depth++) {
        const oinner *p = AS_INNER(n);
        int i = inner_child(p, key, klen);
        for (int j = 0; j < i; j++)           /* every entry left of child i is < key */
            rank += p->cnt[j];
        n = p->child[i];
    }
    return rank + (size_t)leaf_lower_bound(AS_LEAF(n), key, klen);
}

/* ---- insert ------------------------------------------------------------ */

/* The one descent an insert makes: the inner nodes it passed and the child
 * taken in each, then the leaf and the key's place in it. Recording the
 * path lets the insert change the tree bottom-up without a second descent:
 * every comparison is a dereference of an entry (a likely cache miss), so
 * descending once instead of twice halves the insert's misses. */
typedef struct ins_path {
    oinner *node[OIDX_MAX_HEIGHT];            /* node[0] is the root */
    int     slot[OIDX_MAX_HEIGHT];            /* child taken in node[d] */
    int     depth;                            /* inner nodes on the path */
    oleaf  *leaf;
    int     pos;                              /* first entry >= key in leaf */
    int     found;                            /* leaf->e[pos] has the key */
} ins_path;

static void descend_path(const oidx *o, const void *key, size_t klen, ins_path *ip)
{
    onode *n = o->root;
    ip->depth = 0;
    while (!n->leaf) {
        ip->node[ip->depth] = AS_INNER(n);
        n = child_for(o, AS_INNER(n), ip->depth, key, klen, &ip->slot[ip->depth]);
        ip->depth++;
    }
    ip->leaf = AS_LEAF(n);
    ip->pos = leaf_lower_bound(ip->leaf, key, klen);
    ip->found = ip->pos < n->n && cmp_entry(ip->leaf->e[ip->pos], key, klen) == 0;
}

/* Nodes an insert may need, allocated BEFORE anything changes so that an
 * allocation failure leaves the tree untouched (the contract: ENOMEM ⇒
 * nothing changed). */
typedef struct node_pool {
    oleaf *leaf;                              /* for the leaf split */
    oinner *inner[OIDX_MAX_HEIGHT];           /* for inner splits + a new root */
    int ninner;
} node_pool;

static void pool_release(oidx *o, node_pool *pl)
{
    if (pl->leaf != NULL)
        node_free(o, &pl->leaf->hdr);
    while (pl->ninner > 0)
        node_free(o, &pl->inner[--pl->ninner]->hdr);
}

/* A new key into a full leaf splits it, and every full node above it
 * splits too; a full root needs a new root above it. */
static int pool_fill(oidx *o, const ins_path *ip, node_pool *pl)
{
    memset(pl, 0, sizeof(*pl));
    if (ip->found || ip->leaf->hdr.n < OIDX_LEAF_CAP)
        return 0;                             /* a replace, or no split */
    if ((pl->leaf = leaf_new(o)) == NULL)
        return CHALK_ENOMEM;
    int need = 0, d = ip->depth - 1;
    for (; d >= 0 && ip->node[d]->hdr.n == OIDX_INNER_CAP; d--)
        need++;                               /* this full parent splits too */
    if (d < 0)
        need++;                               /* even the root: a new root above */
    for (int i = 0; i < need; i++) {
        if ((pl->inner[pl->ninner] = inner_new(o)) == NULL) {
            pool_release(o, pl);
            return CHALK_ENOMEM;
        }
        pl->ninner++;
    }
    return 0;
}

static oinner *pool_inner(node_pool *pl)
{
    assert(pl->ninner > 0);
    return pl->inner[--pl->ninner];
}

/* Insert e at pos into the full leaf l, moving the upper part to nl. */
static void leaf_split_insert(oleaf *l, int pos, idx_entry *e, oleaf *nl)
{
    idx_entry *all[OIDX_LEAF_CAP + 1];
    memcpy(all, l->e, pos * sizeof(*all));
    all[pos] = e;
    memcpy(all + pos + 1, l->e + pos, (OIDX_LEAF_CAP - pos) * sizeof(*all));
    /* Quick balance: appending past the last key keeps l full. */
    int left = (l->next == NULL && pos == OIDX_LEAF_CAP) ? OIDX_LEAF_CAP
                                                         : (OIDX_LEAF_CAP + 1) / 2;
    l->hdr.n = (uint16_t)left;
    memcpy(l->e, all, left * sizeof(*all));
    nl->hdr.n = (uint16_t)(OIDX_LEAF_CAP + 1 - left);
    memcpy(nl->e, all + left, nl->hdr.n * sizeof(*all));
    nl->next = l->next;
    l->next = nl;
}

/* Insert child c at pos of p (which has room). */
static void inner_insert_at(oinner *p, int pos, onode *c)
{
    int tail = p->hdr.n - pos;
    memmove(p->child + pos + 1, p->child + pos, tail * sizeof(p->child[0]));
    memmove(p->min + pos + 1, p->min + pos, tail * sizeof(p->min[0]));
    memmove(p->cnt + pos + 1, p->cnt + pos, tail * sizeof(p->cnt[0]));
    memmove(p->abbr + pos + 1, p->abbr + pos, tail * sizeof(p->abbr[0]));
    p->child[pos] = c;
    p->cnt[pos] = total_of(c);
    p->hdr.n++;
    inner_set(p, pos, first_of(c));
}

/* Insert child c at pos into the full inner node p, moving half to np. */
static void inner_split_insert(oinner *p, int pos, onode *c, oinner *np)
{
    int half = (OIDX_INNER_CAP + 1) / 2;
    int moved = OIDX_INNER_CAP - half;        /* children that go to np first */
    memcpy(np->child, p->child + half, moved * sizeof(p->child[0]));
    memcpy(np->min, p->min + half, moved * sizeof(p->min[0]));
    memcpy(np->cnt, p->cnt + half, moved * sizeof(p->cnt[0]));
    np->hdr.n = (uint16_t)moved;
    p->hdr.n = (uint16_t)half;
    if (pos <= half)
        inner_insert_at(p, pos, c);
    else
        inner_insert_at(np, pos - half, c);
    inner_refresh(p);                         /* each half: its own, longer prefix */
    inner_refresh(np);
}

/* Put e into the leaf at ip's place. Returns the entry it replaced (same
 * key) or NULL; *sibling is the new right neighbour when the leaf split. */
static idx_entry *leaf_put(const ins_path *ip, idx_entry *e, node_pool *pl, onode **sibling)
{
    oleaf *l = ip->leaf;
    int pos = ip->pos;
    if (ip->found) {
        idx_entry *old = l->e[pos];
        l->e[pos] = e;
        return old;
    }
    if (l->hdr.n < OIDX_LEAF_CAP) {
        memmove(l->e + pos + 1, l->e + pos, (l->hdr.n - pos) * sizeof(l->e[0]));
        l->e[pos] = e;
        l->hdr.n++;
    } else {
        leaf_split_insert(l, pos, e, pl->leaf);
        *sibling = &pl->leaf->hdr;
        pl->leaf = NULL;
    }
    return NULL;
}

/* Walk the recorded path bottom-up: refresh each separator (e may be the
 * new first entry of a subtree, or replace it) and the count of the slot
 * passed (the child may have gained an entry, or split and lost half), and
 * link the sibling a split below produced, splitting full parents in turn. Returns the
 * sibling of the root when the root itself split, else NULL. */
static onode *path_fixup(ins_path *ip, node_pool *pl, onode *sibling)
{
    for (int d = ip->depth - 1; d >= 0; d--) {
        oinner *p = ip->node[d];
        int i = ip->slot[d];
        if (p->min[i] != first_of(p->child[i]))
            inner_set(p, i, first_of(p->child[i]));
        p->cnt[i] = total_of(p->child[i]);
        if (sibling == NULL)
            continue;
        if (p->hdr.n < OIDX_INNER_CAP) {
            inner_insert_at(p, i + 1, sibling);
            sibling = NULL;
        } else {
            oinner *np = pool_inner(pl);
            inner_split_insert(p, i + 1, sibling, np);
            sibling = &np->hdr;
        }
    }
    return sibling;
}

idx_entry *oidx_insert(oidx *o, idx_entry *e, int *err)
{
    ins_path ip;
    node_pool pl;
    descend_path(o, e->key, e->klen, &ip);
    int rc = pool_fill(o, &ip, &pl);
    if (err != NULL)
        *err = rc;
    if (rc != 0)
        return NULL;
    onode *sibling = NULL;
    idx_entry *old = leaf_put(&ip, e, &pl, &sibling);
    sibling = path_fixup(&ip, &pl, sibling);
    if (sibling != NULL) {                    /* the root split: grow a level */
        oinner *root = pool_inner(&pl);
        root->child[0] = o->root;
        root->min[0] = first_of(o->root);
        root->cnt[0] = total_of(o->root);
        root->hdr.n = 1;
        inner_insert_at(root, 1, sibling);
        inner_refresh(root);
        o->root = &root->hdr;
        o->height++;
        assert(o->height <= OIDX_MAX_HEIGHT);
    }
    assert(pl.leaf == NULL && pl.ninner == 0);
    if (old == NULL)
        o->count++;
    o->mods++;
    return old;
}

/* ---- remove ------------------------------------------------------------ */

static int node_min(const onode *n) { return n->leaf ? OIDX_LEAF_MIN : OIDX_INNER_MIN; }

/* Move k items from the front of r to the end of l, or (k < 0) -k items
 * from the end of l to the front of r. Items are entries in leaves and
 * (child, min, cnt, abbr) in inner nodes; inner nodes are then refreshed
 * (abbreviations are relative to their node's prefix). */
static void shift_items(onode *l, onode *r, int k)
{
    unsigned char *la[4], *ra[4];
    size_t isz[4];
    int arrays = 1;
    if (l->leaf) {
        la[0] = (unsigned char *)AS_LEAF(l)->e;
        ra[0] = (unsigned char *)AS_LEAF(r)->e;
        isz[0] = sizeof(idx_entry *);
    } else {
        la[0] = (unsigned char *)AS_INNER(l)->child;
        ra[0] = (unsigned char *)AS_INNER(r)->child;
        isz[0] = sizeof(onode *);
        la[1] = (unsigned char *)AS_INNER(l)->min;
        ra[1] = (unsigned char *)AS_INNER(r)->min;
        isz[1] = sizeof(idx_entry *);
        la[2] = (unsigned char *)AS_INNER(l)->cnt;
        ra[2] = (unsigned char *)AS_INNER(r)->cnt;
        isz[2] = sizeof(size_t);
        la[3] = (unsigned char *)AS_INNER(l)->abbr;
        ra[3] = (unsigned char *)AS_INNER(r)->abbr;
        isz[3] = sizeof(uint64_t);
        arrays = 4;
    }
    for (int arr = 0; arr < arrays; arr++) {
        unsigned char *a = la[arr], *b = ra[arr];
        size_t sz = isz[arr];
        if (k > 0) {
            memcpy(a + l->n * sz, b, k * sz);
            memmove(b, b + k * sz, (r->n - k) * sz);
        } else {
            memmove(b + -k * sz, b, r->n * sz);
            memcpy(b, a + (l->n + k) * sz, -k * sz);
        }
    }
    l->n = (uint16_t)(l->n + k);
    r->n = (uint16_t)(r->n - k);
    if (!l->leaf) {
        inner_refresh(AS_INNER(l));
        inner_refresh(AS_INNER(r));
    }
}

/* child[i] of p fell below its minimum: merge it with a neighbour if both
 * fit in one node, else even the two out. Either keeps invariant 2. */
static void rebalance(oidx *o, oinner *p, int i)
{
    int li = i > 0 ? i - 1 : 0;               /* the pair is child[li], child[li+1] */
    onode *l = p->child[li], *r = p->child[li + 1];
    int cap = l->leaf ? OIDX_LEAF_CAP : OIDX_INNER_CAP;
    if (l->n + r->n <= cap) {
        shift_items(l, r, r->n);              /* all of r into l */
        if (l->leaf)
            AS_LEAF(l)->next = AS_LEAF(r)->next;
        node_free(o, r);
        int tail = p->hdr.n - (li + 2);
        memmove(p->child + li + 1, p->child + li + 2, tail * sizeof(p->child[0]));
        memmove(p->min + li + 1, p->min + li + 2, tail * sizeof(p->min[0]));
        memmove(p->cnt + li + 1, p->cnt + li + 2, tail * sizeof(p->cnt[0]));
        memmove(p->abbr + li + 1, p->abbr + li + 2, tail * sizeof(p->abbr[0]));
        p->hdr.n--;
    } else {
        shift_items(l, r, (l->n + r->n) / 2 - l->n);
        inner_set(p, li + 1, first_of(r));
        p->cnt[li + 1] = total_of(r);
    }
    inner_set(p, li, first_of(l));
    p->cnt[li] = total_of(l);
}

/* Where entry `want` sits in leaf l, found by its address: a pass over
 * the leaf's pointer array (in cache: prefetch_node loaded the leaf),
 * where leaf_lower_bound's binary search loads an entry's key per round,
 * a cache miss each for entries that are nowhere else in cache. n if it
 * is not there. */
static int leaf_find_entry(const oleaf *l, const idx_entry *want)
{
    int pos = 0;
    while (pos < l->hdr.n && l->e[pos] != want)
        pos++;
    return pos;
}

/* Remove key (or, when want is not NULL, the entry want, whose key it is)
 * from n's subtree. */
static idx_entry *remove_rec(oidx *o, onode *n, const void *key, size_t klen,
                             const idx_entry *want)
{
    if (n->leaf) {
        oleaf *l = AS_LEAF(n);
        int pos = want ? leaf_find_entry(l, want) : leaf_lower_bound(l, key, klen);
        if (pos == n->n || cmp_entry(l->e[pos], key, klen) != 0)
            return NULL;
        idx_entry *e = l->e[pos];
        memmove(l->e + pos, l->e + pos + 1, (n->n - pos - 1) * sizeof(l->e[0]));
        n->n--;
        return e;
    }
    oinner *p = AS_INNER(n);
    int i = inner_child(p, key, klen);
    idx_entry *e = remove_rec(o, p->child[i], key, klen, want);
    if (e == NULL)
        return NULL;
    p->cnt[i]--;                              /* rebalance recounts what it moves */
    if (p->child[i]->n < node_min(p->child[i]))
        rebalance(o, p, i);
    else if (p->min[i] != first_of(p->child[i]))
        inner_set(p, i, first_of(p->child[i]));
    return e;
}

static idx_entry *remove_top(oidx *o, const void *key, size_t klen, const idx_entry *want)
{
    idx_entry *e = remove_rec(o, o->root, key, klen, want);
    if (e == NULL)
        return NULL;
    if (!o->root->leaf && o->root->n == 1) { /* a root with one child: drop a level */
        onode *old = o->root;
        o->root = AS_INNER(old)->child[0];
        node_free(o, old);
        o->height--;
    }
    o->count--;
    o->mods++;
    return e;
}

idx_entry *oidx_remove(oidx *o, const void *key, size_t klen)
{
    return remove_top(o, key, klen, NULL);
}

idx_entry *oidx_remove_entry(oidx *o, idx_entry *e)
{
    return remove_top(o, e->key, e->klen, e);
}

/* ---- iterators --------------------------------------------------------- */

oidx_iter *oidx_iter_new(oidx *o)
{
    oidx_iter *it = calloc(1, sizeof(*it));
    if (it != NULL) {
        it->o = o;
        it->state = ITER_NONE;
    }
    return it;
}

void oidx_iter_free(oidx_iter *it)
{
    if (it == NULL)
        return;
    free(it->key);
    free(it);
}

int oidx_iter_status(const oidx_iter *it) { return it->err; }

/* Settle on (leaf, pos), stepping to the next leaf if pos is past this one,
 * and copy the key there: the copy is what lets us find our place again
 * after the tree changed under us. */
static void iter_land(oidx_iter *it, oleaf *l, int pos)
{
    if (pos == l->hdr.n) {
        l = l->next;            /* only the first leaf of a tree can be empty */
        pos = 0;
    }
    it->mods = it->o->mods;
    if (l == NULL) {
        it->state = ITER_END;
        return;
    }
    const idx_entry *e = l->e[pos];
    if (e->klen > it->cap) {
        unsigned char *k = realloc(it->key, e->klen);
        if (k == NULL) {        /* without the copy we could not re-seek */
            it->err = CHALK_ENOMEM;
            it->state = ITER_END;
            return;
        }
        it->key = k;
        it->cap = e->klen;
    }
    if (e->klen > 0)
        memcpy(it->key, e->key, e->klen);
    it->klen = e->klen;
    it->leaf = l;
    it->pos = pos;
    it->state = ITER_AT;
}

void oidx_iter_seek(oidx_iter *it, const void *key, size_t klen)
{
    if (it->err != 0)
        return;
    oleaf *l = descend(it->o, key, klen);
    iter_land(it, l, leaf_lower_bound(l, key, klen));
}

void oidx_iter_seek_rank(oidx_iter *it, size_t rank)
{
    if (it->err != 0)
        return;
    if (rank >= it->o->count) {
        it->mods = it->o->mods;
        it->state = ITER_END;
        return;
    }
    const onode *n = it->o->root;
    while (!n->leaf) {                        /* rank < entries under n */
        const oinner *p = AS_INNER(n);
        int i = 0;
        while (rank >= p->cnt[i])
            rank -= p->cnt[i++];
        assert(i < n->n);
        n = p->child[i];
    }
    assert(rank < n->n);
    iter_land(it, (oleaf *)n, (int)rank);
}

/* The tree changed since we landed: find our key again. after = 1 moves
 * past it (for next), after = 0 stays on it if it is still there. */
static void iter_reseek(oidx_iter *it, int after)
{
    oleaf *l = descend(it->o, it->key, it->klen);
    int pos = leaf_lower_bound(l, it->key, it->klen);
    if (after && pos < l->hdr.n && cmp_entry(l->e[pos], it->key, it->klen) == 0)
        pos++;
    iter_land(it, l, pos);
}

idx_entry *oidx_iter_entry(oidx_iter *it)
{
    if (it->state != ITER_AT)
        return NULL;
    if (it->mods != it->o->mods)
        iter_reseek(it, 0);
    return it->state == ITER_AT ? it->leaf->e[it->pos] : NULL;
}

void oidx_iter_next(oidx_iter *it)
{
    if (it->state != ITER_AT)
        return;
    if (it->mods != it->o->mods)
        iter_reseek(it, 1);
    else
        iter_land(it, it->leaf, it->pos + 1);
}

/* ---- invariants -------------------------------------------------------- */

typedef struct check_ctx {
    const oidx *o;
    const oleaf *prev_leaf;   /* the leaf visited before, in tree order */
    const idx_entry *last;    /* the last entry seen, in tree order */
    size_t entries, leaves, inners;
} check_ctx;

static int check_leaf(check_ctx *c, const oleaf *l)
{
    int is_root = &l->hdr == c->o->root;
    if (l->hdr.n > OIDX_LEAF_CAP || (!is_root && l->hdr.n == 0) ||
        (!is_root && l->next != NULL && l->hdr.n < OIDX_LEAF_MIN))
        return 2;
    for (int i = 0; i < l->hdr.n; i++) {
        if (c->last != NULL && idx_keycmp(c->last->key, c->last->klen,
                                          l->e[i]->key, l->e[i]->klen) >= 0)
            return 3;
        c->last = l->e[i];
    }
    if (c->prev_leaf != NULL && c->prev_leaf->next != l)
        return 5;
    c->prev_leaf = l;
    c->entries += l->hdr.n;
    c->leaves++;
    return 0;
}

static int check_node(check_ctx *c, const onode *n, int depth)
{
    if (n->leaf)
        return depth == c->o->height ? check_leaf(c, (const oleaf *)n) : 1;
    if (depth >= c->o->height)
        return 1;
    const oinner *p = (const oinner *)n;
    int lo = n == c->o->root ? 2 : OIDX_INNER_MIN;
    if (n->n < lo || n->n > OIDX_INNER_CAP)
        return 2;
    c->inners++;
    for (int i = 0; i < n->n; i++) {
        size_t before = c->entries;
        int rc = check_node(c, p->child[i], depth + 1);
        if (rc != 0)
            return rc;
        if (p->child[i]->n == 0 || p->min[i] != first_of(p->child[i]))
            return 4;
        if (p->cnt[i] != c->entries - before)
            return 7;
        const idx_entry *m = p->min[i];
        if (p->plen > OIDX_PFX_MAX || m->klen < p->plen ||
            (p->plen > 0 && memcmp(m->key, p->pfx, p->plen) != 0) ||
            p->abbr[i] != abbr_of(m->key, m->klen, p->plen))
            return 8;
    }
    return 0;
}

int oidx_check_invariants(const oidx *o)
{
    if (o->root == NULL || o->height < 1)
        return 1;
    check_ctx c = { .o = o };
    int rc = check_node(&c, o->root, 1);
    if (rc != 0)
        return rc;
    if (c.prev_leaf == NULL || c.prev_leaf->next != NULL)
        return 5;
    if (c.entries != o->count || c.leaves != o->leaves || c.inners != o->inners)
        return 6;
    return 0;
}
