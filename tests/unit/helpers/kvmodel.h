/*
 * kvmodel.h — the obviously-correct model the per-command tests
 * (test_model_*.c) compare chalk-server's replies with: a handful of keys,
 * each an array of byte strings, plus the builders for the RESP2 reply a
 * command should give and the check that runs a command and compares.
 *
 * The model is plain arrays on purpose, so that it is easy to believe:
 *   list   items in list order
 *   set    items sorted by bytes (memcmp, shorter first on a tie)
 *   hash   items (fields) sorted by bytes, vals[i] the value of items[i]
 *   zset   items in (score, member) order, scores[i] the score of items[i]
 * A key whose collection becomes empty is removed (km_drop_if_empty), as
 * Redis deletes it. Everything is linear or binary search: the tests keep
 * a few dozen members per key.
 *
 * Allocation failures abort the test (these are tests, not the server).
 *
 * Interview topics: none (test code).
 */
#ifndef CHALK_TEST_KVMODEL_H
#define CHALK_TEST_KVMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server.h"

typedef struct mstr { char *p; size_t len; } mstr;

enum { MT_STRING = 1, MT_HASH, MT_LIST, MT_SET, MT_ZSET };

typedef struct mkey {
    mstr name;
    int type;                 /* MT_* */
    size_t n, cap;
    mstr *items;
    mstr *vals;               /* hash values */
    double *scores;           /* zset scores */
} mkey;

typedef struct kvmodel { mkey *keys; size_t n, cap; } kvmodel;

int   ms_cmp(const char *a, size_t alen, const char *b, size_t blen);
mstr  ms_dup(const char *p, size_t len);

mkey *km_get(kvmodel *m, const char *k, size_t klen);
mkey *km_create(kvmodel *m, const char *k, size_t klen, int type);
/* The key, created with `type` if missing. */
mkey *km_get_or_create(kvmodel *m, const char *k, size_t klen, int type);
void  km_drop(kvmodel *m, mkey *k);
void  km_drop_if_empty(kvmodel *m, mkey *k);
void  km_free(kvmodel *m);

/* Sorted collections (set, hash): position of p, or -1 - the position it
 * would be inserted at. */
long  km_find(const mkey *k, const char *p, size_t len);
/* Any type: insert at pos (val for hashes, score for zsets). */
void  km_insert_at(mkey *k, size_t pos, const char *p, size_t len,
                   const char *val, size_t vlen, double score);
void  km_remove_at(mkey *k, size_t pos);
/* Sets: add / remove p; return whether it changed. */
bool  km_set_add(mkey *k, const char *p, size_t len);
bool  km_set_rem(mkey *k, const char *p, size_t len);
/* Hashes: set field (true if new). */
bool  km_hash_set(mkey *k, const char *f, size_t flen, const char *v, size_t vlen);
/* Zsets: index of member (linear), -1 if absent; set a member's score
 * (inserted or moved to its place). */
long  km_zfind(const mkey *k, const char *p, size_t len);
void  km_zset(mkey *k, const char *p, size_t len, double score);
/* An independent copy of k's contents under a new name (for *STORE). */
void  km_copy_into(kvmodel *m, const char *dst, size_t dlen, int type,
                   const mstr *items, const double *scores, size_t n);

/* ---- expected replies (RESP2 bytes) ----------------------------------- */
typedef struct rbuf { char *p; size_t len, cap; } rbuf;
void rb_reset(rbuf *b);
void rb_free(rbuf *b);
void rb_raw(rbuf *b, const char *p, size_t len);
void rb_int(rbuf *b, long long v);
void rb_bulk(rbuf *b, const char *p, size_t len);
void rb_str(rbuf *b, const mstr *s);
void rb_null(rbuf *b);                 /* $-1 */
void rb_null_array(rbuf *b);           /* *-1 */
void rb_arr(rbuf *b, long n);
void rb_ok(rbuf *b);
void rb_err(rbuf *b, const char *msg); /* "-ERR msg", or msg as is if it starts with '-' */
void rb_double(rbuf *b, double d);     /* a score as a bulk string, Redis's format */
/* The WRONGTYPE error, exactly as Redis writes it. */
#define WRONGTYPE "-WRONGTYPE Operation against a key holding the wrong kind of value"

/* ---- commands: an argv being built ------------------------------------- */
typedef struct cargs { int argc; const char *argv[64]; size_t lens[64]; char own[64][48]; } cargs;
void ca_reset(cargs *a);
void ca_add(cargs *a, const char *p, size_t len);   /* borrowed: must outlive the run */
void ca_str(cargs *a, const char *s);               /* borrowed */
void ca_fmt(cargs *a, const char *fmt, ...) __attribute__((format(printf, 2, 3))); /* copied */
void ca_ms(cargs *a, const mstr *s);

/* Run a and compare its reply with want; unordered > 0 sorts both arrays
 * first in groups of that size (cx_sorted). On a mismatch prints the
 * command and both replies, escaped, and fails the test. */
void check_reply(client *c, const cargs *a, const rbuf *want, int unordered);
/* Run a and return its reply (malloc'd; *len bytes). */
char *run_args(client *c, const cargs *a, size_t *len);
/* Print bytes escaped (failure messages). */
void print_escaped(const char *p, size_t len);

/* A small deterministic generator (xorshift64*), seeded per test. */
uint64_t rng_next(uint64_t *s);
static inline long rng_below(uint64_t *s, long n) { return (long)(rng_next(s) % (uint64_t)n); }

#endif /* CHALK_TEST_KVMODEL_H */
