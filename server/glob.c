/*
 * glob.c — glob matching for KEYS and SCAN MATCH, with a work bound that
 * does not depend on how nasty the pattern is.
 *
 * The one idea: Redis's stringmatchlen() tries, for each '*', every
 * possible length of the run it covers, recursively; a pattern like
 * "*a*a*a*a*a*a*a*b" against "aaaa...a" then explores a number of ways
 * exponential in the number of stars (CVE-2022-36021: one KEYS call
 * could hang a server). Redis 7 bounded it twice: a recursion depth limit
 * (1000 nested stars, against stack overflow) and "skipLongerMatches" (if
 * the rest of the pattern matches at no position after a star, no earlier
 * star needs to try a longer run either), which makes the search
 * polynomial. Here the same observation is used from the start, the way
 * shell globbers do it: every element other than '*' matches exactly one
 * byte, so when a later element fails it is always enough to give the
 * MOST RECENT star one more byte and retry from there; earlier stars never
 * need revisiting (whatever they could absorb, the latest star absorbs
 * too). One loop, two saved positions, no recursion: at most
 * plen × slen element tests, and constant stack. Before that loop, the
 * elements after the LAST star are matched against the string's last
 * bytes (they can match nowhere else), which rejects most keys of a
 * "*suffix" pattern in O(suffix) instead of O(plen × slen).
 *
 * Left out on purpose: compiling a pattern once for the many keys of a
 * KEYS/SCAN call. The cost: each key re-parses the pattern's sets, which
 * is linear in the pattern and dwarfed by reading the keys.
 *
 * Differences from Redis (documented, tested against util.c's port):
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

/* The matcher proper: one loop, two saved positions, no recursion. */
static bool match_run(const unsigned char *pat, size_t plen, const unsigned char *str,
                      size_t slen, bool nocase)
{
    size_t p = 0, s = 0;
    size_t star_p = SIZE_MAX, star_s = 0;      /* the most recent '*' */
    while (s < slen) {
        size_t used;
        if (p < plen && pat[p] == '*') {
            star_p = ++p;                      /* retry point: just after it */
            star_s = s;                        /* it covers nothing yet */
        } else if (p < plen && match_one(pat + p, plen - p, str[s], nocase, &used)) {
            p += used;
            s++;
        } else if (star_p != SIZE_MAX) {
            p = star_p;                        /* the latest star takes */
            s = ++star_s;                      /* one more byte */
        } else {
            return false;
        }
    }
    while (p < plen && pat[p] == '*')
        p++;
    return p == plen;
}

/* Where the pattern's last '*' ends (0 if it has none), and in *k the
 * number of elements after it. Those k elements can only match the
 * string's LAST k bytes, one each. */
static size_t after_last_star(const unsigned char *pat, size_t plen, size_t *k)
{
    size_t p = 0, after = 0, n = 0;
    while (p < plen) {
        size_t used = 1;
        if (pat[p] == '*') {
            after = p + 1;
            n = 0;
        } else {
            match_one(pat + p, plen - p, 0, false, &used);
            n++;
        }
        p += used;
    }
    *k = n;
    return after;
}

/* Anchoring the tail first is the cheap test that rejects most keys
 * ("*:name" against "user:1:email" fails on its last bytes at once), and
 * leaves a head that ends in '*' for match_run. */
bool glob_match_bounded(const char *pattern, size_t plen, const char *string, size_t slen,
                        bool nocase)
{
    const unsigned char *pat = (const unsigned char *)pattern;
    const unsigned char *str = (const unsigned char *)string;
    if (slen == 0)
        return plen == 0;                      /* Redis: "*" does not match "" */
    size_t k, head = after_last_star(pat, plen, &k);
    if (head == 0)
        return match_run(pat, plen, str, slen, nocase);
    if (k > slen || !match_run(pat + head, plen - head, str + slen - k, k, nocase))
        return false;
    return match_run(pat, head, str, slen - k, nocase);
}
