/*
 * crash_model.h — a seeded workload of write batches and the in-memory model
 * the crash tests check a recovered store against.
 *
 * A workload is a fixed list of batches (puts and deletes of a few distinct
 * keys each) over a small key universe; every value written is unique (it
 * names its batch), so a recovered store matches the model after at most
 * one prefix of batches, and a half-applied batch matches none. The tests
 * then ask: is the recovered store EXACTLY the model after the first k
 * batches, for some k no smaller than the last acknowledged batch?
 *
 * Memory: the model keeps the value of every key after every batch
 * (nbatches x nkeys pointers): meant for a few hundred batches.
 */
#ifndef CHALK_TEST_CRASH_MODEL_H
#define CHALK_TEST_CRASH_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "chalk/engine.h"

struct cm_workload;

struct cm_params {
    int nbatches;   /* batches in the workload */
    int nkeys;      /* size of the key universe */
    int max_ops;    /* operations per batch: 1..max_ops (<= nkeys) */
    int max_vlen;   /* values: 0..max_vlen bytes (plus their tag) */
    int del_pct;    /* percent of operations that are deletes */
};

/* A workload drawn from `seed`. NULL on ENOMEM. */
struct cm_workload *cm_workload_new(uint64_t seed, const struct cm_params *p);
void cm_workload_free(struct cm_workload *w);
int  cm_nbatches(const struct cm_workload *w);

/* Fill b (cleared first) with batch i (0-based). 0 or a CHALK_E* code. */
int cm_fill_batch(const struct cm_workload *w, int i, chalk_batch *b);

/* Key number j of the universe into buf (>= 32 bytes); returns its length.
 * Keys are binary: they contain a NUL byte. */
size_t cm_key(int j, char *buf);

/* Compare the store with the model after the first k batches (0..n):
 * 0 if equal, else -1 with a reason in why. */
int cm_check_state(const struct cm_workload *w, chalk_db *db, int k, char *why, size_t n);

/* The smallest k in [lo, nbatches] whose model the store equals, or -1
 * (why then holds the mismatch against k = lo). */
int cm_find_prefix(const struct cm_workload *w, chalk_db *db, int lo, char *why, size_t n);

/* After damage and repair, or once the engine has failed, no state is
 * promised, only that nothing false is served: every key reads as absent,
 * as an error (CHALK_ECORRUPT, CHALK_EFAILED, CHALK_EIO), or as a value
 * the workload really wrote to it. 0, or -1 with a reason in why. */
int cm_check_plausible(const struct cm_workload *w, chalk_db *db, char *why, size_t n);

/* Apply the whole workload with chalk_write_sync; 0 or the first error. */
int cm_apply_all(const struct cm_workload *w, chalk_db *db);

#endif /* CHALK_TEST_CRASH_MODEL_H */
