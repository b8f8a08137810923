/*
 * modelfix.h — the fixture every per-command model test (test_model_*.c)
 * shares: a fresh data directory with the server's engine opened in it, a
 * fake client (cmdexec.h), the model (kvmodel.h), and the driver of the
 * seeded random sequence that reopens the engine and compacts it on the way.
 *
 * The random run, for nops operations of `step`:
 *   op nops/3      the engine is closed and opened again (recovery from the log);
 *                  `verify` must then find every key as the model has it
 *   op nops/2      a compaction starts; every op until 3*nops/4 is followed by
 *                  one chalk_poll, so commands write while it runs and before
 *                  its swap (which a chalk_poll makes)
 *   op 3*nops/4    the compaction is waited for; `verify` again
 *   the end        graves are reaped, the engine reopened (now from the
 *                  compacted segments and their hints), `verify` a last time
 * Segments are tiny (8 KiB) so that a few thousand ops seal 10 to 50 of
 * them and the compaction has dead segments to drop.
 *
 * The model's own check: with CHALK_MODEL_TRACE=<file> in the environment,
 * the random run appends every command it compares and the reply the model
 * expects to <file>, so that tests/e2e/test_model_vs_redis.py can replay
 * them on a real redis-server. The format, one record after another:
 *
 *   T\n                      a new sequence: start from an empty database
 *   C <argc> <unordered>\n   a command (unordered: cx_sorted's group, 0 if ordered)
 *   <len>\n<bytes>\n         each argument, argc times
 *   <len>\n<bytes>\n         then the expected reply
 *
 * A random command whose effect is drawn by the server (SPOP) is recorded
 * as its deterministic equivalent (SREM of the members it popped).
 *
 * Interview topics: none (test code).
 */
#ifndef CHALK_TEST_MODELFIX_H
#define CHALK_TEST_MODELFIX_H

#include <stdint.h>
#include <stdio.h>

#include "kvmodel.h"

typedef struct mfix {
    char dir[4096];
    client *c;
    kvmodel m;
    rbuf want;            /* the expected reply being built */
    cargs a;              /* the command being built */
    uint64_t rng;
    FILE *trace;          /* CHALK_MODEL_TRACE during a random run, or NULL */
} mfix;

/* cmocka setup / teardown: *state becomes an mfix. */
int mfix_setup(void **state);
int mfix_teardown(void **state);

/* Run one command built in f->a and compare with f->want (check_reply). */
void mfix_check(mfix *f, int unordered);
/* Run the words (NULL-terminated) and compare with f->want. */
void mfix_expect(mfix *f, int unordered, ...);

/* Append a command and its expected reply to the trace (see above). */
void mfix_trace(mfix *f, const cargs *a, const char *want, size_t wlen, int unordered);

typedef void mfix_step_fn(mfix *f);
typedef void mfix_verify_fn(mfix *f);
/* The random run described above; it first makes "str" a string key (the
 * wrong type for every command of the families). */
void mfix_random_run(mfix *f, uint64_t seed, long nops, mfix_step_fn *step, mfix_verify_fn *verify);

/* One command (words, no NULL needed), one expected reply: the edge cases. */
#define EXPECT_INT(f, v, ...) do { rb_reset(&(f)->want); rb_int(&(f)->want, v); \
        mfix_expect(f, 0, __VA_ARGS__, NULL); } while (0)
#define EXPECT_ERR(f, msg, ...) do { rb_reset(&(f)->want); rb_err(&(f)->want, msg); \
        mfix_expect(f, 0, __VA_ARGS__, NULL); } while (0)
#define EXPECT_RAW(f, raw, ...) do { rb_reset(&(f)->want); rb_raw(&(f)->want, raw, strlen(raw)); \
        mfix_expect(f, 0, __VA_ARGS__, NULL); } while (0)

/* SCAN-family check: HSCAN / SSCAN / ZSCAN key from cursor 0 to 0 (with
 * MATCH match if not NULL, COUNT count). Every member of the model that
 * matches comes back, with its value or score; nothing else does (a member
 * twice is allowed, as in Redis). */
void mfix_check_scan(mfix *f, const char *cmd, const char *key, const char *match, long count);
/* A random sample (HRANDFIELD, SRANDMEMBER, ZRANDMEMBER, SPOP with a
 * count): the reply holds min(count, size) distinct members for count >= 0,
 * -count members, repetition allowed, for count < 0; all of k's, with their
 * values or scores when pairs. Copies the first max members into out
 * (the caller frees them) and returns how many members the reply holds. */
long mfix_check_sample(const mkey *k, const char *reply, size_t len, long count, bool pairs,
                       mstr *out, long max);

/* Glob match of the patterns the SCAN tests use ('*', '?' and literals). */
int mfix_glob(const char *pat, const char *s, size_t len);

#endif /* CHALK_TEST_MODELFIX_H */
