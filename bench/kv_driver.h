/*
 * bench/kv_driver.h — the one small interface every engine of the engine
 * benchmark is driven through (Chalk, LevelDB, RocksDB, LMDB).
 *
 * The one idea: a benchmark loop is written once, in engine_bench.c, and
 * calls an engine only through a table of four function pointers (open,
 * put_batch, get, close). Each engine's driver is a dozen lines of glue over
 * its own C API, so a reader can check in one screen that every engine is
 * asked to do exactly the same work at the same durability.
 *
 * Left out on purpose: deletes, scans and concurrent writers. The suite
 * measures what issue 3 asks (fills, point reads, restart, durable batches),
 * and every extra entry point is one more place where the engines could be
 * treated unequally. Cost: range-scan speed (LevelDB/RocksDB/LMDB's strength,
 * Chalk's ordered index) is not compared here.
 *
 * Interview topics: the figures it produces answer tx.durability (what
 * group commit buys against the disk's fdatasync rate), index.optimization
 * (hash vs B-tree vs LSM read cost) and storage.log-structured (write and
 * space amplification); docs/PERFORMANCE.md reads them.
 */
#ifndef CHALK_BENCH_KV_DRIVER_H
#define CHALK_BENCH_KV_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/* One put. Keys and values are owned by the caller. */
typedef struct kv_pair {
    const void *key;
    size_t      klen;
    const void *val;
    size_t      vlen;
} kv_pair;

typedef struct kv_driver {
    const char *name;                  /* "chalk", "leveldb", ... */
    /* The library's version, as the library itself reports it. */
    const char *(*version)(void);
    /* Open (creating) a database in the existing, empty-or-not directory
     * `dir`. durable=1: every put_batch returns only once its batch is on
     * disk (fdatasync or the engine's equivalent); durable=0: never fsync.
     * Returns 0 and *out, or -1 after printing why to stderr. */
    int (*open)(const char *dir, int durable, void **out);
    /* Apply n puts as one atomic batch (n == 1: the engine's plain put).
     * Returns 0 or -1. The peers' put_batch must be safe to call from
     * several threads at once on one handle (the group-commit row);
     * Chalk's is never called so (its API is single-threaded). */
    int (*put_batch)(void *db, const kv_pair *pairs, size_t n);
    /* Make sure every put so far was handed to the OS (not fsynced): the
     * end of a timed fill. NULL when put_batch already does it. */
    int (*settle)(void *db);
    /* Look up key: 0 and *vlen if found, 1 if absent, -1 on error. The
     * value is read (copied out of the engine) and released. */
    int (*get)(void *db, const void *key, size_t klen, size_t *vlen);
    /* Close, flushing what the engine flushes on close. Returns 0 or -1. */
    int (*close)(void *db);
} kv_driver;

extern const kv_driver kv_leveldb;
extern const kv_driver kv_rocksdb;
extern const kv_driver kv_lmdb;
extern const kv_driver kv_chalk;

/* ---- what the harness hands to every measurement ------------------------ */

/* The rows of the engine suite. Every engine fills the rows it can; the
 * others stay NAN and print as "-". */
enum bench_row {
    ROW_FILLSEQ,          /* ops/s, batch 1, fsync no */
    ROW_FILLRANDOM,       /* ops/s, batch 1, fsync no */
    ROW_READRANDOM,       /* ops/s */
    ROW_REOPEN_MS,        /* ms to open the filled store again (warm cache) */
    ROW_READ_RESTART,     /* ops/s right after that reopen */
    ROW_REOPEN_COLD_MS,   /* ms to open it with its files out of the page cache */
    ROW_READ_COLD,        /* ops/s of 10k random reads right after that */
    ROW_FSYNC_RATE,       /* the disk's fdatasync/s around the next two: max */
    ROW_FSYNC_RATE_BATCH, /* the same, appending one Chalk batch's bytes */
    ROW_FSYNC_RATE_OVERWRITE, /* the same size, overwriting written blocks */
    ROW_FILLSEQ_SYNC,     /* ops/s, batches of 100, each durable */
    ROW_FILLRANDOM_SYNC,  /* ops/s, batches of 100, each durable */
    ROW_SYNC_BATCHES,     /* durable batches/s (= FILLRANDOM_SYNC / 100) */
    ROW_SYNC_VS_DISK,     /* SYNC_BATCHES / FSYNC_RATE: per fdatasync of the moment */
    ROW_GROUP_COMMIT,     /* ops/s, durable 100-op batches, 16 at a time */
    ROW_GROUP_BATCHES_PER_FSYNC, /* Chalk: batches covered by one fdatasync */
    ROW_MEM_PER_KEY,      /* bytes of anonymous RSS per key after fill+reads */
    ROW_MAPPED_PER_KEY,   /* bytes of file-backed RSS (mmap) per key, same time */
    ROW_DISK_PER_KEY,     /* bytes on disk per key after the random fill */
    ROW_INDEX_PER_KEY,    /* Chalk: index_memory_bytes / keys (its own count) */
    ROW_RECOVERY_LOG_MS,  /* Chalk: open of N keys from the log alone */
    ROW_RECOVERY_HINT_MS, /* Chalk: open of N keys after compaction (hints) */
    ROW_WRITE_AMP,        /* Chalk: after 3 overwrites of every key + compact */
    ROW_COUNT
};

typedef struct bench_cfg {
    size_t          keys;        /* N for fills and reads */
    size_t          sync_keys;   /* keys written by each durable fill */
    size_t          value_size;  /* bytes per value (100) */
    const uint32_t *perm;        /* a random permutation of 0..keys-1 */
    uint64_t        seed;        /* for the random reads */
    const char     *dir;         /* an empty scratch directory of its own */
    int             light;       /* 1: only the random fill, reads, reopen */
    int             fsync_iters; /* iterations of the fdatasync probe */
} bench_cfg;

#define BENCH_KEY_SIZE 16
#define BENCH_SYNC_BATCH 100

/* Key i as 16 decimal digits: sequential i give keys in byte order. */
static inline void bench_key(char out[BENCH_KEY_SIZE], uint64_t i)
{
    for (int pos = BENCH_KEY_SIZE - 1; pos >= 0; pos--) {
        out[pos] = (char)('0' + i % 10);
        i /= 10;
    }
}

/* Value for key i: `base` (random, incompressible bytes) with i in its first
 * 8 bytes, so that no two values are equal. buf holds value_size bytes. */
static inline void bench_value(char *buf, const char *base, size_t value_size, uint64_t i)
{
    for (size_t b = 0; b < value_size; b++)
        buf[b] = base[b];
    for (size_t b = 0; b < 8 && b < value_size; b++)
        buf[b] = (char)(i >> (8 * b));
}

/* splitmix64: the benchmark's only random source, seeded per run. */
static inline uint64_t bench_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double bench_now(void);                  /* monotonic seconds */
int    bench_mkdir_fresh(const char *dir);  /* rm -rf then mkdir: 0 or -1 */
void   bench_rm_tree(const char *dir);      /* rm -rf, errors ignored */

/* Chalk-only measurements (recovery with and without hint files, group
 * commit, write amplification), in chalk_driver.c; fills res[ROW_*]. */
void chalk_bench_extra(const bench_cfg *cfg, const char *value_base, double *res);

#endif /* CHALK_BENCH_KV_DRIVER_H */
