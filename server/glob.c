/*
 * glob.c — glob matching for KEYS and SCAN MATCH, with a work bound that
 * does not depend on how nasty the pattern is.
 *
 * The problem: Redis's stringmatchlen() tries, for each '*', every
 * possible length of the run it covers, recursively; a pattern like
 * "*a*a*a*a*a*a*a*b" against "aaaa...a" then explores a number of ways
 * exponential in the number of stars (CVE-2022-36021: one KEYS call
 * could hang a server). Redis 7 bounded it twice: a recursion depth limit
 * (1000 nested stars, against stack overflow) and "skipLongerMatches" (if
 * the rest of the pattern matches at no position after a star, no earlier
 * star needs to try a longer run either), which makes it polynomial.
 *
 * The one idea here: every element other than '*' matches exactly ONE
 * byte, so cut the pattern at its stars into star-free runs ("segments"):
 *     head * mid1 * mid2 * ... * tail
 * The head can only match at the string's start and the tail only at its
 * end (each run matches exactly as many bytes as it has elements), and
 * each middle run may as well match at its LEFTMOST possible place: any
 * later place leaves less room for the runs after it, never more. So there
 * is no backtracking at all: two anchored comparisons and one left-to-right
 * search per middle run, with constant stack. A run of plain bytes is
 * found with memmem (linear time); a run with '?' or sets is tried only
 * where its longest plain part occurs (memmem again), or at each position
 * if it has none. Work: O(string) for plain runs, at most
 * O(pattern × string) otherwise, whatever the number of stars.
 *
 * Left out on purpose: compiling a pattern once for the many keys of a
 * KEYS/SCAN call. The cost: each key re-parses the pattern, which is
 * linear in the pattern and dwarfed by reading the keys.
 *
 * Differences from Redis (tests/unit/test_glob.c checks everything else
 * against a port of Redis 7's function):
 *   - set ranges compare bytes as unsigned (0..255); Redis compares plain
 *     `char`, which is signed on x86 and unsigned on ARM, so a range that
 *     crosses 0x7f/0x80 already differs between Redis builds;
 *   - no nesting limit is needed, so a pattern with more than 1000 stars
 *     that does match is reported as a match (Redis says no match).
 *
 * Interview topics: (none of its own; see docs/server-commands.md, KEYS).
 */
#include "glob.h"

#include <stdint.h>
#include <string.h>

static inline unsigned char fold(unsigned char c, bool nocase)
{
    return nocase && c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* A set "[...]" starting at pat[0] == '['. Sets *hit to whether byte c is
 * matched and returns the number of pattern bytes the set occupies. A set
 * without its ']' runs to the end of the pattern (Redis). */
static size_t match_set(const unsigned char *pat, size_t plen, unsigned char c, bool nocase,
                        bool *hit)
{
    size_t i = 1;
    bool neg = i < plen && pat[i] == '^';
    bool match = false;
    if (neg)
        i++;
    while (i < plen && pat[i] != ']') {
        if (pat[i] == '\\' && i + 1 < plen) {
            i++;
            match |= pat[i] == c;              /* Redis: exact even with nocase */
        } else if (i + 2 < plen && pat[i + 1] == '-') {
            unsigned lo = pat[i], hi = pat[i + 2];
            if (lo > hi) {                     /* Redis: swap, THEN fold */
                unsigned t = lo;
                lo = hi;
                hi = t;
            }
            unsigned x = fold(c, nocase);
            lo = fold((unsigned char)lo, nocase);
            hi = fold((unsigned char)hi, nocase);
            match |= x >= lo && x <= hi;
            i += 2;
        } else {
            match |= fold(pat[i], nocase) == fold(c, nocase);
        }
        i++;
    }
    *hit = neg ? !match : match;
    return i < plen ? i + 1 : plen;            /* past ']', or the end */
}

/* One non-star element at pat[0]: does it match byte c? Sets *used to the
 * pattern bytes the element occupies. */
static bool match_one(const unsigned char *pat, size_t plen, unsigned char c, bool nocase,
                      size_t *used)
{
    bool hit;
    switch (pat[0]) {
    case '?':
        *used = 1;
        return true;
    case '[':
        *used = match_set(pat, plen, c, nocase, &hit);
        return hit;
    case '\\':
        if (plen >= 2) {
            *used = 2;
            return fold(pat[1], nocase) == fold(c, nocase);
        }
        /* a trailing '\' is itself */
        __attribute__((fallthrough));
    default:
        *used = 1;
        return fold(pat[0], nocase) == fold(c, nocase);
    }
}

/* One star-free run of the pattern: its bytes, and the number of string
 * bytes it matches (one per element). */
typedef struct segment {
    const unsigned char *pat;
    size_t plen;
    size_t k;                    /* elements = bytes of string it matches */
    bool literal;                /* plain bytes only: memmem can find it */
    const unsigned char *anchor; /* its longest stretch of plain bytes */
    size_t anchor_len;           /* (none with nocase): anchor_len bytes */
    size_t anchor_elem;          /* starting at this element of the run */
} segment;

/* Read the run at pat[*pos] up to the next '*' (or the end) into *g and
 * move *pos there. A '*' inside a set or after '\' is not a star:
 * match_one steps over whole elements. */
static void read_segment(const unsigned char *pat, size_t plen, size_t *pos, bool nocase,
                         segment *g)
{
    size_t p = *pos;
    g->pat = pat + p;
    g->k = 0;
    g->literal = !nocase;
    g->anchor = NULL;
    g->anchor_len = g->anchor_elem = 0;
    size_t run_len = 0, run_elem = 0;          /* the plain run being read */
    while (p < plen && pat[p] != '*') {
        size_t used;
        bool plain = pat[p] != '?' && pat[p] != '[' && pat[p] != '\\';
        if (!plain)
            g->literal = false;
        if (plain && !nocase) {
            if (run_len++ == 0)
                run_elem = g->k;
            if (run_len >= g->anchor_len) {   /* ties: the later one */
                g->anchor_len = run_len;
                g->anchor_elem = run_elem;
                g->anchor = pat + p + 1 - run_len;
            }
        } else {
            run_len = 0;
        }
        match_one(pat + p, plen - p, 0, false, &used);
        p += used;
        g->k++;
    }
    g->plen = (size_t)(pat + p - g->pat);
    *pos = p;
}

/* Does run g match the g->k bytes at str? */
static bool segment_at(const segment *g, const unsigned char *str, bool nocase)
{
    size_t p = 0;
    for (size_t i = 0; i < g->k; i++) {
        size_t used;
        if (!match_one(g->pat + p, g->plen - p, str[i], nocase, &used))
            return false;
        p += used;
    }
    return true;
}

/* The leftmost place in str[0..n) where run g matches, or NULL. */
static const unsigned char *segment_find(const segment *g, const unsigned char *str, size_t n,
                                         bool nocase)
{
    if (g->k > n)
        return NULL;
    if (g->literal)
        return memmem(str, n, g->pat, g->plen);
    if (!g->anchor_len) {
        for (size_t i = 0; i + g->k <= n; i++)
            if (segment_at(g, str + i, nocase))
                return str + i;
        return NULL;
    }
    /* Only where its plain anchor occurs can the run match: memmem jumps
     * from one such place to the next, each checked whole. */
    for (size_t i = 0; i + g->k <= n;) {
        const unsigned char *hit = memmem(str + i + g->anchor_elem, n - i - g->anchor_elem,
                                          g->anchor, g->anchor_len);
        if (!hit)
            return NULL;
        size_t start = (size_t)(hit - str) - g->anchor_elem;
        if (start + g->k > n)
            return NULL;
        if (segment_at(g, str + start, nocase))
            return str + start;
        i = start + 1;
    }
    return NULL;
}

/* Where the pattern's last '*' ends, or 0 if it has none. */
static size_t after_last_star(const unsigned char *pat, size_t plen)
{
    size_t p = 0, after = 0;
    while (p < plen) {
        size_t used = 1;
        if (pat[p] == '*')
            after = p + 1;
        else
            match_one(pat + p, plen - p, 0, false, &used);
        p += used;
    }
    return after;
}

bool glob_match_bounded(const char *pattern, size_t plen, const char *string, size_t slen,
                        bool nocase)
{
    const unsigned char *pat = (const unsigned char *)pattern;
    const unsigned char *str = (const unsigned char *)string;
    if (slen == 0)
        return plen == 0;                      /* Redis: "*" does not match "" */
    size_t pos = 0, tail_pos = after_last_star(pat, plen);
    segment head, tail;
    read_segment(pat, plen, &pos, nocase, &head);
    if (tail_pos == 0)                         /* no star: one exact run */
        return head.k == slen && segment_at(&head, str, nocase);
    read_segment(pat, plen, &tail_pos, nocase, &tail);
    if (head.k + tail.k > slen || !segment_at(&head, str, nocase) ||
        !segment_at(&tail, str + slen - tail.k, nocase))
        return false;
    /* The middle runs, each at its leftmost place in what is left between
     * the head and the tail. */
    size_t s = head.k, end = slen - tail.k;
    size_t last_star = (size_t)(tail.pat - pat) - 1;
    while (pos < last_star) {
        while (pos < last_star && pat[pos] == '*')
            pos++;
        if (pos >= last_star)
            break;
        segment mid;
        read_segment(pat, plen, &pos, nocase, &mid);
        const unsigned char *hit = segment_find(&mid, str + s, end - s, nocase);
        if (!hit)
            return false;
        s = (size_t)(hit - str) + mid.k;
    }
    return true;
}
