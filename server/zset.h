/*
 * zset.h — the sorted-set storage helpers shared by cmd_zset.c and the
 * blocking pops (zset.c): one member = two sub-records kept in step
 * (composite.h), and an ordered walk of the score index in either
 * direction.
 *
 * The design (the one idea, what is left out and what it costs, the
 * interview topics) is at the top of zset.c.
 */
#ifndef CHALK_ZSET_H
#define CHALK_ZSET_H

#include <stdbool.h>
#include <stddef.h>

#include "composite.h"

/* The score of member of m: CHALK_OK and *score, CHALK_ENOTFOUND, error. */
int zs_score(const cp_meta *m, const void *member, size_t len, double *score);
/* The same, for the member's 'm' key prepared with cp_key_prepare. */
int zs_score_key(const cp_meta *m, const cp_key *mk, double *score);
/* Add to b the records of (member, score); if the member had a score
 * (had_old), the old index record is deleted first. mk: the member's 'm'
 * key prepared with cp_key_prepare (its put then reuses the hash), or
 * NULL. */
int zs_put(chalk_batch *b, const cp_meta *m, const cp_key *mk, const void *member, size_t len,
           double score, bool had_old, double old);
/* Add to b the deletes of both records of (member, score). */
int zs_del(chalk_batch *b, const cp_meta *m, const void *member, size_t len, double score);

/* ---- ranges ---------------------------------------------------------------- */
enum { ZR_RANK, ZR_SCORE, ZR_LEX };

typedef struct zs_lex {
    const char *p;          /* bound bytes (after the [ or ( ) */
    size_t len;
    int kind;               /* -1 = "-" (below all), 1 = "+", 0 = a value */
    bool excl;              /* "(": exclusive */
} zs_lex;

typedef struct zs_range {
    int by;                 /* ZR_* */
    bool rev;               /* walk from the highest */
    long long start, stop;  /* ZR_RANK: indexes (negative from the end) */
    double min, max;        /* ZR_SCORE */
    bool minex, maxex;
    zs_lex lmin, lmax;      /* ZR_LEX */
    long long offset, limit;/* LIMIT; limit < 0: no limit */
    bool no_scores;         /* the visitor ignores scores: a slice walk may
                             * pass 0 instead of decoding each (ZRANGE
                             * without WITHSCORES; decoding was 11% of it) */
} zs_range;

/* Called for each element of a range, in order; return false to stop. */
typedef bool zs_visit_fn(void *arg, const char *member, size_t len, double score);
/* Visit the elements of m in range r (LIMIT applied). CHALK_OK or an error.
 * The range becomes a slice of ranks (two rank queries, O(log n)), the
 * walk one seek by rank then m steps (reverse: one seek per 128): O(log n
 * + m) for m visited, LIMIT's offset included. BYLEX over members of
 * DIFFERENT scores (unspecified in Redis) walks as before: forward from
 * (first score, min), O(log n + offset + m); reverse O(64 log n) per
 * distinct score. */
int zs_walk(const cp_meta *m, const zs_range *r, zs_visit_fn *fn, void *arg);
/* *n = the number of elements of m in range r (ZR_SCORE or ZR_LEX; LIMIT
 * ignored): O(log n) — BYLEX over differing scores: O(log n + n counted).
 * CHALK_OK or an error. */
int zs_count(const cp_meta *m, const zs_range *r, uint64_t *n);
/* *rank = the 0-based ascending rank of member, whose score is `score` (it
 * must be in m: zs_score first). O(log n). CHALK_OK or an error. */
int zs_rank(const cp_meta *m, const void *member, size_t len, double score, uint64_t *rank);

/* Parse Redis's score bound "1.5", "(1.5", "-inf", "+inf" (s must be
 * NUL-terminated, as request arguments are). */
bool zs_parse_score_bound(const char *s, size_t len, double *v, bool *excl);
/* Parse a score or weight argument with Redis's rules (no leading space,
 * no NaN, no overflow / underflow). s NUL-terminated. */
bool zs_parse_double(const char *s, size_t len, double *v);
/* Parse Redis's lex bound "[a", "(a", "-", "+". */
bool zs_parse_lex_bound(const char *s, size_t len, zs_lex *out);

#endif /* CHALK_ZSET_H */
