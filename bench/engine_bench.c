/*
 * bench/engine_bench.c — the engine suite: Chalk vs LevelDB vs RocksDB vs
 * LMDB through their C APIs, side by side in one run, with the ratios and
 * issue 3's targets. `engine_bench --help` lists the knobs; bench/run.sh
 * runs it (1M keys, 3 repetitions; --quick: 200k keys, 1 repetition).
 *
 * The one idea: every engine does the same work through the same loop (the
 * kv_driver table), each engine of each repetition in a fresh child process
 * on a fresh directory, so that one engine's heap, threads or page cache
 * habits cannot tax the next, and the resident memory a child gains while
 * filling is that engine's alone. Ratios come from one run, where the noise
 * of a shared 2-core machine hits all engines alike.
 *
 * Method (docs/PERFORMANCE.md explains each row):
 *   - keys: 16 decimal digits; values: 100 random (incompressible) bytes;
 *   - fillseq / fillrandom: every key once, in order / in a random
 *     permutation, one put per call, no fsync;
 *   - readrandom: N gets (at most 2M) of uniformly random existing keys,
 *     each verified;
 *   - restart: close, open again (timed: the index rebuild), readrandom
 *     again, with the page cache warm (a process restart); then "cold": the
 *     files fsynced and dropped from the page cache (posix_fadvise), open
 *     again and 10k random reads (a machine restart: every miss is a disk
 *     read). Closing is not timed: Chalk's close fsyncs, LevelDB's does not;
 *   - durable fills: batches of 100 puts, each on disk before the next;
 *   - the disk's fdatasync rate: 4 KiB appended + fdatasync, in a loop
 *     (issue 3's reference); also one Chalk batch's bytes (15.6 KB)
 *     appended, and the same size overwriting blocks already written (what
 *     Chalk's log does under always: engine/log.c, group_prezero);
 *   - medians of the repetitions, with min–max; the first repetition is
 *     preceded by a small warm-up fill of every engine.
 *
 * Left out on purpose: multi-threaded writers and readers (Chalk's API is
 * single-threaded by design; LevelDB/RocksDB would gain from threads), range
 * scans, values larger than the page cache. Cost: the table says nothing
 * about those workloads.
 *
 * Interview topics: tx.durability (fsync_rate: the physical ceiling of
 * durable commits, and what group commit does about it).
 */
#include "kv_driver.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine_report.h"

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- scratch directories, memory, disk usage ----------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path) ? -1 : 0;
}

void bench_rm_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

int bench_mkdir_fresh(const char *dir)
{
    bench_rm_tree(dir);
    if (mkdir(dir, 0755) != 0) {
        fprintf(stderr, "mkdir %s: %s\n", dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int fresh_dir(char *out, size_t cap, const char *base, const char *name)
{
    snprintf(out, cap, "%s/%s", base, name);
    return bench_mkdir_fresh(out);
}

/* Bytes allocated on disk under dir (st_blocks, not the apparent size:
 * LMDB's map file is sparse). Recursive; symlinks are not followed. */
static uint64_t du_bytes(const char *dir)
{
    uint64_t total = 0;
    DIR *d = opendir(dir);
    struct dirent *ent;
    if (!d)
        return 0;
    while ((ent = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            total += du_bytes(path);
        else if (S_ISREG(st.st_mode))
            total += (uint64_t)st.st_blocks * 512;
    }
    closedir(d);
    return total;
}

/* A resident-memory field of /proc/self/status, in bytes: "RssAnon" (heap:
 * what the engine allocated) or "RssFile" (file pages mapped into the
 * process: LMDB's database, which also belongs to the page cache). */
static double rss_bytes(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t n = strlen(field);
    double kb = NAN;
    if (!f)
        return NAN;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, n) && line[n] == ':' && sscanf(line + n + 1, "%lf", &kb) == 1)
            break;
    fclose(f);
    return kb * 1024.0;
}

/* ---- the disk's own limit ------------------------------------------------- */

/* The bytes of one durable batch in Chalk's log: BENCH_SYNC_BATCH records
 * of a key, a value and 40 bytes of framing (engine/record.h: a 32-byte
 * header and an 8-byte checksum trailer). 100 × 156 = 15,600 at 100-byte
 * values. The peers' batches are of the same order (LevelDB: ~12 KiB). */
static size_t chalk_batch_bytes(const bench_cfg *cfg)
{
    return BENCH_SYNC_BATCH * (BENCH_KEY_SIZE + cfg->value_size + 40);
}

/* @interview(tx.durability): Why does a database need group commit? A
 * durable commit waits for fdatasync, and this loop measures how many of
 * those the disk completes per second with nothing else on the path: that
 * rate caps one-at-a-time durable commits, however fast the engine is.
 * Group commit covers many callers' batches with one fdatasync, so durable
 * throughput can grow past it (compare ROW_GROUP_COMMIT).
 *
 * size bytes are written at the file's end and fdatasync'ed, `iterations`
 * times: an APPEND, whose fdatasync must also make the new file size
 * durable (a journal commit on ext4). With prewritten, the file is first
 * filled with zeros and synced, so that each write OVERWRITES blocks the
 * file already has and its fdatasync flushes data only: the ceiling of
 * Chalk's log under always, which pre-writes its tail (engine/log.c). */
static double fsync_rate_of(const char *base, int iterations, size_t size, int prewritten)
{
    char path[4200];
    char *block = malloc(size);
    snprintf(path, sizeof path, "%s/fsync-probe", base);
    int fd = block ? open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644) : -1;
    if (fd < 0) {
        free(block);
        return NAN;
    }
    int done = 0;
    if (prewritten) {
        memset(block, 0, size);
        for (; done < iterations; done++)
            if (pwrite(fd, block, size, (off_t)done * (off_t)size) != (ssize_t)size)
                break;
        if (done < iterations || fdatasync(fd) != 0)
            iterations = -1;   /* reported as NAN below */
        done = 0;
    }
    memset(block, 'x', size);
    double start = bench_now();
    for (; done < iterations; done++) {
        if (pwrite(fd, block, size, (off_t)done * (off_t)size) != (ssize_t)size ||
            fdatasync(fd) != 0)
            break;
    }
    double secs = bench_now() - start;
    close(fd);
    unlink(path);
    free(block);
    return done == iterations ? done / secs : NAN;
}

/* The reference of issue 3: 4 KiB appended + fdatasync. */
static double fsync_rate(const char *base, int iterations)
{
    return fsync_rate_of(base, iterations, 4096, 0);
}

/* ---- the timed loops, identical for every engine ------------------------ */

typedef struct loop_ctx {
    const kv_driver *drv;
    const bench_cfg *cfg;
    const char      *value_base;
} loop_ctx;

/* Put keys first..first+count-1 in batches of `batch`: key i is perm[i]
 * (random) or i. Returns 0 or -1. Used by one thread or by several at once
 * on disjoint ranges. */
static int fill_range(const loop_ctx *c, void *db, size_t first, size_t count, size_t batch,
                      int random)
{
    char keys[BENCH_SYNC_BATCH][BENCH_KEY_SIZE];
    char *vals = malloc(BENCH_SYNC_BATCH * c->cfg->value_size);
    kv_pair pairs[BENCH_SYNC_BATCH];
    int rc = 0;
    if (!vals || batch > BENCH_SYNC_BATCH) {
        free(vals);
        return -1;
    }
    for (size_t i = first; i < first + count && rc == 0; i += batch) {
        size_t n = first + count - i < batch ? first + count - i : batch;
        for (size_t j = 0; j < n; j++) {
            uint64_t id = random ? c->cfg->perm[i + j] : i + j;
            char *val = vals + j * c->cfg->value_size;
            bench_key(keys[j], id);
            bench_value(val, c->value_base, c->cfg->value_size, id);
            pairs[j] = (kv_pair){ keys[j], BENCH_KEY_SIZE, val, c->cfg->value_size };
        }
        rc = c->drv->put_batch(db, pairs, n);
    }
    free(vals);
    return rc;
}

/* fill_range from 0, timed, settled. Returns ops/s, or NAN on error. */
static double timed_fill(const loop_ctx *c, void *db, size_t count, size_t batch, int random)
{
    double start = bench_now();
    if (fill_range(c, db, 0, count, batch, random) != 0 ||
        (c->drv->settle && c->drv->settle(db) != 0))
        return NAN;
    return count / (bench_now() - start);
}

/* ---- durable writers in parallel (the peers' group commit) --------------- */

#define GROUP_WRITERS 16   /* as many as Chalk's batches in flight */

typedef struct writer_arg {
    const loop_ctx *c;
    void           *db;
    size_t          first, count;
    int             rc;
} writer_arg;

static void *writer_main(void *p)
{
    writer_arg *w = p;
    w->rc = fill_range(w->c, w->db, w->first, w->count, BENCH_SYNC_BATCH, 1);
    return NULL;
}

/* GROUP_WRITERS threads write durable batches of 100 into one store at
 * once: LevelDB and RocksDB then merge waiting writers into one log write
 * and one fsync (their group commit); LMDB's single writer lock serialises
 * them. Chalk's API is single-threaded; it gets the same chance through
 * chalk_write's asynchronous callbacks instead (chalk_driver.c). ops/s. */
static double threaded_durable_fill(const loop_ctx *c)
{
    char dir[4096];
    void *db = NULL;
    pthread_t tid[GROUP_WRITERS];
    writer_arg w[GROUP_WRITERS];
    size_t per = c->cfg->sync_keys / GROUP_WRITERS, started = 0;
    int rc = 0;
    if (fresh_dir(dir, sizeof dir, c->cfg->dir, "group") || c->drv->open(dir, 1, &db))
        return NAN;
    double start = bench_now();
    for (; started < GROUP_WRITERS; started++) {
        w[started] = (writer_arg){ c, db, started * per, per, 0 };
        if (pthread_create(&tid[started], NULL, writer_main, &w[started]) != 0)
            break;
    }
    for (size_t i = 0; i < started; i++) {
        pthread_join(tid[i], NULL);
        rc |= w[i].rc;
    }
    double secs = bench_now() - start;
    rc |= c->drv->close(db);
    bench_rm_tree(dir);
    return rc || started < GROUP_WRITERS ? NAN : (double)(per * GROUP_WRITERS) / secs;
}

#define COLD_READS 10000        /* reads after dropping the page cache */
#define WARM_READS_MAX 2000000  /* reads per read row: keeps 10M keys in minutes */

static double timed_reads(const loop_ctx *c, void *db, size_t count, uint64_t seed)
{
    char key[BENCH_KEY_SIZE];
    uint64_t rng = seed;
    double start = bench_now();
    for (size_t i = 0; i < count; i++) {
        size_t vlen = 0;
        bench_key(key, bench_rand(&rng) % c->cfg->keys);
        int rc = c->drv->get(db, key, sizeof key, &vlen);
        if (rc != 0 || vlen != c->cfg->value_size) {
            fprintf(stderr, "%s: read %zu: %s\n", c->drv->name, i, rc ? "missing" : "bad length");
            return NAN;
        }
    }
    return count / (bench_now() - start);
}

/* ---- one engine, one repetition (runs in a child process) --------------- */

/* Fill randomly, read, measure memory and disk, restart, read again. */
/* Write back and drop from the page cache every file under dir, so that the
 * next open and reads come from the disk ("cold"), as after a reboot.
 * posix_fadvise(DONTNEED) only drops clean pages, hence the fsync first. */
static void evict_page_cache(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *ent;
    if (!d)
        return;
    while ((ent = readdir(d)) != NULL) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        fsync(fd);
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
    closedir(d);
}

/* Open the filled store again (timed: the index rebuild), then read. cold:
 * drop its files from the page cache first, and read fewer keys (each read
 * is a disk access). */
static void reopen_and_read(const loop_ctx *c, const char *dir, int cold, double *res)
{
    void *db = NULL;
    if (cold)
        evict_page_cache(dir);
    double t0 = bench_now();
    if (c->drv->open(dir, 0, &db) != 0)
        return;
    res[cold ? ROW_REOPEN_COLD_MS : ROW_REOPEN_MS] = (bench_now() - t0) * 1e3;
    size_t cap = cold ? COLD_READS : WARM_READS_MAX;
    size_t reads = c->cfg->keys < cap ? c->cfg->keys : cap;
    res[cold ? ROW_READ_COLD : ROW_READ_RESTART] =
        timed_reads(c, db, reads, c->cfg->seed + 1 + (uint64_t)cold);
    c->drv->close(db);
}

/* Fill randomly, read, measure memory and disk, reopen warm and cold. */
static void run_random_phase(const loop_ctx *c, double *res)
{
    char dir[4096];
    void *db = NULL;
    if (fresh_dir(dir, sizeof dir, c->cfg->dir, "random") || c->drv->open(dir, 0, &db))
        return;
    double anon0 = rss_bytes("RssAnon"), file0 = rss_bytes("RssFile");
    res[ROW_FILLRANDOM] = timed_fill(c, db, c->cfg->keys, 1, 1);
    res[ROW_READRANDOM] = timed_reads(c, db, c->cfg->keys < WARM_READS_MAX ? c->cfg->keys
                                                                  : WARM_READS_MAX, c->cfg->seed);
    res[ROW_MEM_PER_KEY] = (rss_bytes("RssAnon") - anon0) / (double)c->cfg->keys;
    res[ROW_MAPPED_PER_KEY] = (rss_bytes("RssFile") - file0) / (double)c->cfg->keys;
    c->drv->close(db);
    res[ROW_DISK_PER_KEY] = (double)du_bytes(dir) / (double)c->cfg->keys;
    reopen_and_read(c, dir, 0, res);
    if (!c->cfg->light)
        reopen_and_read(c, dir, 1, res);
    bench_rm_tree(dir);
}

/* A fill in a fresh directory; durable picks the batch size and fsyncs. */
static double fill_phase(const loop_ctx *c, const char *name, int durable, int random)
{
    char dir[4096];
    void *db = NULL;
    double ops = NAN;
    if (fresh_dir(dir, sizeof dir, c->cfg->dir, name) || c->drv->open(dir, durable, &db))
        return NAN;
    size_t count = durable ? c->cfg->sync_keys : c->cfg->keys;
    ops = timed_fill(c, db, count, durable ? BENCH_SYNC_BATCH : 1, random);
    if (c->drv->close(db) != 0)
        ops = NAN;
    bench_rm_tree(dir);
    return ops;
}

static void run_engine(const kv_driver *drv, const bench_cfg *cfg, const char *value_base,
                       double *res)
{
    loop_ctx c = { drv, cfg, value_base };
    run_random_phase(&c, res);
    if (cfg->light)
        return;
    res[ROW_FILLSEQ] = fill_phase(&c, "seq", 0, 0);
    /* The disk's rate again, right before and right after this engine's
     * durable fills: other processes' writeback makes fdatasync vary by 10x
     * within a minute. The higher of the two is kept: compared with it, an
     * engine's durable rate is never flattered by a bad moment of the disk. */
    size_t bb = chalk_batch_bytes(cfg);
    double before = fsync_rate(cfg->dir, cfg->fsync_iters);
    double before_batch = fsync_rate_of(cfg->dir, cfg->fsync_iters, bb, 0);
    double before_over = fsync_rate_of(cfg->dir, cfg->fsync_iters, bb, 1);
    res[ROW_FILLSEQ_SYNC] = fill_phase(&c, "seqsync", 1, 0);
    res[ROW_FILLRANDOM_SYNC] = fill_phase(&c, "randsync", 1, 1);
    res[ROW_FSYNC_RATE] = fmax(before, fsync_rate(cfg->dir, cfg->fsync_iters));
    res[ROW_FSYNC_RATE_BATCH] = fmax(before_batch, fsync_rate_of(cfg->dir, cfg->fsync_iters, bb, 0));
    res[ROW_FSYNC_RATE_OVERWRITE] = fmax(before_over,
                                         fsync_rate_of(cfg->dir, cfg->fsync_iters, bb, 1));
    res[ROW_SYNC_BATCHES] = res[ROW_FILLRANDOM_SYNC] / BENCH_SYNC_BATCH;
    res[ROW_SYNC_VS_DISK] = res[ROW_SYNC_BATCHES] / res[ROW_FSYNC_RATE];
    if (drv == &kv_chalk)
        chalk_bench_extra(cfg, value_base, res);
    else
        res[ROW_GROUP_COMMIT] = threaded_durable_fill(&c);
}

/* Fork, run one engine in the child writing into shared `res`, wait. */
static int run_isolated(const kv_driver *drv, const bench_cfg *cfg, const char *value_base,
                        double *res)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        run_engine(drv, cfg, value_base, res);
        fflush(NULL);
        _exit(0);
    }
    int status = 0;
    if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "engine_bench: %s child died (status %d)\n", drv->name, status);
        return -1;
    }
    return 0;
}

/* ---- command line and main ----------------------------------------------- */

static const kv_driver *const all_drivers[] = { &kv_chalk, &kv_leveldb, &kv_rocksdb, &kv_lmdb };
#define N_DRIVERS (sizeof all_drivers / sizeof all_drivers[0])

static int engine_selected(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return 1;
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
        "usage: engine_bench [--keys N] [--sync-keys N] [--reps R] [--value-size B]\n"
        "                    [--dir BASE] [--engines chalk,leveldb,rocksdb,lmdb]\n"
        "                    [--csv FILE] [--markdown FILE] [--fsync-iters N] [--seed S]\n"
        "                    [--light]   (fill random, reads, memory, reopen only)\n"
        "defaults: 1000000 keys, 100000 sync keys, 3 reps, 100-byte values, /var/tmp\n");
}

static int parse_args(int argc, char **argv, bench_args *a)
{
    *a = (bench_args){ .keys = 1000000, .sync_keys = 100000, .reps = 3, .value_size = 100,
                       .base = "/var/tmp", .engines = "chalk,leveldb,rocksdb,lmdb",
                       .fsync_iters = 2000, .seed = 42 };
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(opt, "--light")) {
            a->light = 1;
            continue;
        }
        if (!strcmp(opt, "--help") || !val)
            return -1;
        i++;
        if (!strcmp(opt, "--keys")) a->keys = strtoull(val, NULL, 10);
        else if (!strcmp(opt, "--sync-keys")) a->sync_keys = strtoull(val, NULL, 10);
        else if (!strcmp(opt, "--reps")) a->reps = atoi(val);
        else if (!strcmp(opt, "--value-size")) a->value_size = strtoull(val, NULL, 10);
        else if (!strcmp(opt, "--dir")) a->base = val;
        else if (!strcmp(opt, "--engines")) a->engines = val;
        else if (!strcmp(opt, "--csv")) a->csv = val;
        else if (!strcmp(opt, "--markdown")) a->markdown = val;
        else if (!strcmp(opt, "--fsync-iters")) a->fsync_iters = atoi(val);
        else if (!strcmp(opt, "--seed")) a->seed = strtoull(val, NULL, 10);
        else return -1;
    }
    if (a->keys < 1000 || a->sync_keys < BENCH_SYNC_BATCH || a->reps < 1 || a->reps > MAX_REPS ||
        a->value_size < 8 || a->fsync_iters < 10 || a->keys > UINT32_MAX)
        return -1;
    if (a->sync_keys > a->keys)
        a->sync_keys = a->keys;
    for (size_t e = 0; e < N_DRIVERS; e++)
        if (engine_selected(a->engines, all_drivers[e]->name))
            a->selected[a->n_selected++] = all_drivers[e];
    if (a->n_selected == 0)
        return -1;
    return 0;
}

/* Fisher–Yates over 0..n-1, seeded. */
static uint32_t *make_perm(size_t n, uint64_t seed)
{
    uint32_t *p = malloc(n * sizeof *p);
    if (!p)
        return NULL;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint32_t)i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = bench_rand(&seed) % (i + 1);
        uint32_t t = p[i]; p[i] = p[j]; p[j] = t;
    }
    return p;
}

/* A tiny run of every engine before the first repetition: warms the disk,
 * the page cache of the libraries' code and the directory, so the first
 * measured engine is not the one paying for cold caches. It runs in child
 * processes like the real runs: RocksDB keeps background threads after
 * close, and a process that forks after starting threads must not use them. */
static void warm_up(const bench_cfg *cfg, const char *value_base, const bench_args *a)
{
    bench_cfg small = *cfg;
    double scratch[ROW_COUNT];
    uint32_t *perm = make_perm(1000, cfg->seed);
    if (!perm)
        return;
    small.keys = 1000;
    small.sync_keys = BENCH_SYNC_BATCH;
    small.perm = perm;
    for (size_t e = 0; e < a->n_selected; e++)
        (void)run_isolated(a->selected[e], &small, value_base, scratch);
    free(perm);
}

int main(int argc, char **argv)
{
    bench_args a;
    if (parse_args(argc, argv, &a) != 0) {
        usage();
        return 2;
    }
    char base[4096];
    snprintf(base, sizeof base, "%s/chalk-engine-bench-XXXXXX", a.base);
    if (!mkdtemp(base)) {
        fprintf(stderr, "mkdtemp %s: %s\n", base, strerror(errno));
        return 1;
    }
    char value_base[4096];
    uint64_t rng = a.seed;
    char *value_big = a.value_size > sizeof value_base ? malloc(a.value_size) : value_base;
    uint32_t *perm = make_perm(a.keys, a.seed);
    bench_results *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE,
                            MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (!perm || !value_big || r == MAP_FAILED) {
        fprintf(stderr, "engine_bench: out of memory\n");
        return 1;
    }
    for (size_t b = 0; b < a.value_size; b++)
        value_big[b] = (char)bench_rand(&rng);
    for (size_t i = 0; i < sizeof r->v / sizeof(double); i++)
        ((double *)r->v)[i] = NAN;
    bench_cfg cfg = { a.keys, a.sync_keys, a.value_size, perm, a.seed, base, a.light,
                      a.fsync_iters };
    fprintf(stderr, "engine_bench: %zu keys (%zu durable), %d rep(s), in %s\n",
            a.keys, a.sync_keys, a.reps, base);
    warm_up(&cfg, value_big, &a);
    for (int rep = 0; rep < a.reps; rep++) {
        r->fsync_rate[rep] = fsync_rate(base, a.fsync_iters);
        fprintf(stderr, "  rep %d/%d: fdatasync %.0f/s\n", rep + 1, a.reps, r->fsync_rate[rep]);
        /* Rotate the order each repetition, so that no engine always runs
         * first (cold) or right after the heaviest one. */
        for (size_t i = 0; i < a.n_selected; i++) {
            size_t e = (i + (size_t)rep) % a.n_selected;
            double t0 = bench_now();
            cfg.seed = a.seed + (uint64_t)rep * 7919;
            run_isolated(a.selected[e], &cfg, value_big, r->v[rep][e]);
            fprintf(stderr, "  rep %d/%d: %-8s done in %.1f s\n", rep + 1, a.reps,
                    a.selected[e]->name, bench_now() - t0);
        }
    }
    int rc = report_engine_results(&a, a.selected, a.n_selected, r);
    bench_rm_tree(base);
    munmap(r, sizeof *r);
    free(perm);
    if (value_big != value_base)
        free(value_big);
    return rc;
}
