/*
 * bench/engine_report.c — summarises and prints the engine suite (see
 * engine_report.h): medians with min–max, ratios Chalk/peer, the targets.
 *
 * The one idea: one table of row descriptions drives all three outputs
 * (markdown on stdout, the markdown file, the CSV), so a row cannot be
 * printed in one and forgotten in another.
 *
 * Left out on purpose: colour and terminal layout; the markdown is readable
 * as plain text. Interview topics: none of its own.
 */
#include "engine_report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct row_info {
    const char *name;     /* short id, also the CSV's row column */
    const char *unit;
    int         lower_is_better;
    const char *what;     /* one line for the table */
} row_info;

static const row_info rows[ROW_COUNT] = {
    [ROW_FILLSEQ]         = { "fillseq", "ops/s", 0, "fill sequential, 1 put/call, fsync no" },
    [ROW_FILLRANDOM]      = { "fillrandom", "ops/s", 0, "fill random, 1 put/call, fsync no" },
    [ROW_READRANDOM]      = { "readrandom", "ops/s", 0, "read random (all hits)" },
    [ROW_REOPEN_MS]       = { "reopen", "ms", 1, "open the filled store again (page cache warm)" },
    [ROW_READ_RESTART]    = { "readrestart", "ops/s", 0, "read random right after reopen" },
    [ROW_REOPEN_COLD_MS]  = { "reopen_cold", "ms", 1, "open it with its files dropped from the page cache" },
    [ROW_READ_COLD]       = { "readcold", "ops/s", 0, "10k random reads right after the cold open" },
    [ROW_FSYNC_RATE]      = { "fsync_rate", "ops/s", 0, "the disk's fdatasync/s: the higher of just before and just after the durable rows" },
    [ROW_FSYNC_RATE_BATCH] = { "fsync_rate_batch", "ops/s", 0, "the same, appending one Chalk batch's bytes (100 records) instead of 4 KiB" },
    [ROW_FSYNC_RATE_OVERWRITE] = { "fsync_rate_overwrite", "ops/s", 0, "the same size, overwriting blocks already written (Chalk's fsync=always path: log.c, group_prezero)" },
    [ROW_FILLSEQ_SYNC]    = { "fillseq_sync", "ops/s", 0, "fill sequential, durable batches of 100" },
    [ROW_FILLRANDOM_SYNC] = { "fillrandom_sync", "ops/s", 0, "fill random, durable batches of 100" },
    [ROW_SYNC_BATCHES]    = { "sync_batches", "batches/s", 0, "durable batches of 100 per second" },
    [ROW_SYNC_VS_DISK]    = { "sync_vs_disk", "x", 0, "durable batches/s ÷ the 4 KiB fdatasync rate measured around that engine's durable rows" },
    [ROW_GROUP_COMMIT]    = { "group_commit", "ops/s", 0, "durable 100-op batches, 16 at once (peers: 16 threads; Chalk: 16 in flight)" },
    [ROW_GROUP_BATCHES_PER_FSYNC] = { "batches_per_fsync", "batches", 0, "Chalk group commit: batches per fdatasync" },
    [ROW_MEM_PER_KEY]     = { "mem_per_key", "B/key", 1, "anonymous RSS gained per key (fill + reads)" },
    [ROW_MAPPED_PER_KEY]  = { "mapped_per_key", "B/key", 1, "file-backed RSS gained per key (mmap'd files)" },
    [ROW_DISK_PER_KEY]    = { "disk_per_key", "B/key", 1, "bytes on disk per key after fill random" },
    [ROW_INDEX_PER_KEY]   = { "index_per_key", "B/key", 1, "Chalk index memory per key (chalk_stats)" },
    [ROW_RECOVERY_LOG_MS] = { "recovery_log", "ms", 1, "Chalk open of N keys, log scan only" },
    [ROW_RECOVERY_HINT_MS]= { "recovery_hint", "ms", 1, "Chalk open of N keys after compaction (hints)" },
    [ROW_WRITE_AMP]       = { "write_amp", "x", 1, "Chalk write amplification, 3 overwrites + compact" },
};

typedef struct summary { double med, min, max; int n; } summary;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median, min and max of the non-NAN values among vals[0..n). */
static summary summarise(const double *vals, int n)
{
    double v[MAX_REPS];
    summary s = { NAN, NAN, NAN, 0 };
    for (int i = 0; i < n; i++)
        if (!isnan(vals[i]))
            v[s.n++] = vals[i];
    if (s.n == 0)
        return s;
    qsort(v, (size_t)s.n, sizeof v[0], cmp_double);
    s.min = v[0];
    s.max = v[s.n - 1];
    s.med = s.n % 2 ? v[s.n / 2] : (v[s.n / 2 - 1] + v[s.n / 2]) / 2;
    return s;
}

static summary cell(const bench_results *r, int reps, size_t engine, int row)
{
    double vals[MAX_REPS] = { 0 };
    for (int i = 0; i < reps && i < MAX_REPS; i++)
        vals[i] = r->v[i][engine][row];
    return summarise(vals, reps);
}

static void fmt_num(char *out, size_t cap, double x)
{
    if (isnan(x))
        snprintf(out, cap, "-");
    else if (fabs(x) >= 1000)
        snprintf(out, cap, "%.0f", x);
    else if (fabs(x) >= 10)
        snprintf(out, cap, "%.1f", x);
    else
        snprintf(out, cap, "%.2f", x);
}

static void fmt_cell(char *out, size_t cap, summary s)
{
    char med[24], lo[24], hi[24];
    fmt_num(med, sizeof med, s.med);
    if (s.n <= 1) {
        snprintf(out, cap, "%s", med);
        return;
    }
    fmt_num(lo, sizeof lo, s.min);
    fmt_num(hi, sizeof hi, s.max);
    snprintf(out, cap, "%s (%s–%s)", med, lo, hi);
}

static size_t chalk_index(const kv_driver *const *drivers, size_t n)
{
    for (size_t e = 0; e < n; e++)
        if (!strcmp(drivers[e]->name, "chalk"))
            return e;
    return n;
}

/* ---- the markdown table ---------------------------------------------------- */

static void print_header(FILE *f, const kv_driver *const *drivers, size_t n, size_t ci)
{
    fprintf(f, "| row | unit |");
    for (size_t e = 0; e < n; e++)
        fprintf(f, " %s %s |", drivers[e]->name, drivers[e]->version());
    for (size_t e = 0; e < n; e++)
        if (ci < n && e != ci)
            fprintf(f, " Chalk/%s |", drivers[e]->name);
    fprintf(f, "\n| --- | --- |");
    for (size_t e = 0; e < n + (ci < n ? n - 1 : 0); e++)
        fprintf(f, " ---: |");
    fprintf(f, "\n");
}

static void print_row(FILE *f, const bench_results *r, int reps, size_t n, size_t ci, int row)
{
    char buf[96];
    summary chalk = ci < n ? cell(r, reps, ci, row) : (summary){ NAN, NAN, NAN, 0 };
    fprintf(f, "| %s: %s | %s%s |", rows[row].name, rows[row].what, rows[row].unit,
            rows[row].lower_is_better ? " (lower is better)" : "");
    for (size_t e = 0; e < n; e++) {
        fmt_cell(buf, sizeof buf, cell(r, reps, e, row));
        fprintf(f, " %s |", buf);
    }
    for (size_t e = 0; e < n && ci < n; e++) {
        if (e == ci)
            continue;
        double ratio = chalk.med / cell(r, reps, e, row).med;
        if (isnan(ratio) || isinf(ratio))
            fprintf(f, " - |");
        else
            fprintf(f, " %.2f× |", ratio);
    }
    fprintf(f, "\n");
}

/* ---- issue 3's targets ------------------------------------------------------ */

static double best_peer(const bench_results *r, int reps, size_t n, size_t ci, int row)
{
    double best = NAN;
    for (size_t e = 0; e < n; e++) {
        double m = e == ci ? NAN : cell(r, reps, e, row).med;
        if (!isnan(m) && (isnan(best) || m > best))
            best = m;
    }
    return best;
}

static void print_target(FILE *f, const char *what, double value, double goal, int lower)
{
    const char *verdict = isnan(value) ? "not measured"
                        : (lower ? value < goal : value >= goal) ? "**met**" : "**not met**";
    char measured[24];
    fmt_num(measured, sizeof measured, value);
    /* Near the goal two decimals can round a miss up to the goal itself
     * (0.797 printed as 0.80 "not met"): show three there. */
    if (!isnan(value) && fabs(value - goal) < 0.01)
        snprintf(measured, sizeof measured, "%.3f", value);
    fprintf(f, "| %s | %s | %s%.2f | %s |\n", what, measured, lower ? "< " : "≥ ", goal, verdict);
}

static void print_targets(FILE *f, const bench_args *a, const kv_driver *const *drivers,
                          size_t n, size_t ci, const bench_results *r)
{
    int reps = a->reps;
    size_t lmdb = n;
    for (size_t e = 0; e < n; e++)
        if (!strcmp(drivers[e]->name, "lmdb"))
            lmdb = e;
    double chalk_nan = NAN;
#define CHALK(row) (ci < n ? cell(r, reps, ci, row).med : chalk_nan)
    double fsync = summarise(r->fsync_rate, reps).med;
    fprintf(f, "\n| target (issue 3) | measured | goal | verdict |\n| --- | ---: | ---: | --- |\n");
    print_target(f, "random writes, fsync no: Chalk / best peer",
                 CHALK(ROW_FILLRANDOM) / best_peer(r, reps, n, ci, ROW_FILLRANDOM), 1.5, 0);
    print_target(f, "random writes, durable batches: Chalk / best peer",
                 CHALK(ROW_FILLRANDOM_SYNC) / best_peer(r, reps, n, ci, ROW_FILLRANDOM_SYNC), 1.5, 0);
    print_target(f, "random writes, durable batches, 16 at once: Chalk / best peer",
                 CHALK(ROW_GROUP_COMMIT) / best_peer(r, reps, n, ci, ROW_GROUP_COMMIT), 1.5, 0);
    print_target(f, "random reads: Chalk / LMDB",
                 lmdb < n ? CHALK(ROW_READRANDOM) / cell(r, reps, lmdb, ROW_READRANDOM).med : NAN,
                 1.0, 0);
    /* Against the rate measured in Chalk's own process around its durable
     * fills (the run-wide rate if that is missing). */
    double own = CHALK(ROW_FSYNC_RATE);
    print_target(f, "durable batches/s: Chalk / disk fdatasync rate (4 KiB appends, measured around them)",
                 CHALK(ROW_SYNC_BATCHES) / (isnan(own) ? fsync : own), 0.8, 0);
    /* Not issue 3's target, printed so that no reader has to take the 4 KiB
     * reference on trust: against appends of a batch's own size, and against
     * the physical ceiling of what Chalk's log does under always (overwrites
     * of pre-written blocks: engine/log.c, group_prezero). */
    print_target(f, "(also) durable batches/s: Chalk / fdatasync rate of appends of one batch's size",
                 CHALK(ROW_SYNC_BATCHES) / CHALK(ROW_FSYNC_RATE_BATCH), 0.8, 0);
    print_target(f, "(also) durable batches/s: Chalk / fdatasync rate of overwrites of one batch's size",
                 CHALK(ROW_SYNC_BATCHES) / CHALK(ROW_FSYNC_RATE_OVERWRITE), 0.8, 0);
    /* Each engine's durable rows run minutes apart, and this disk's
     * fdatasync rate swings by 10x within a minute (other processes'
     * writeback): each engine divided by the disk's rate around its own
     * rows is the comparison that noise hurts least. */
    print_target(f, "(also) durable batches, each engine ÷ the disk's rate around it: Chalk / best peer",
                 CHALK(ROW_SYNC_VS_DISK) / best_peer(r, reps, n, ci, ROW_SYNC_VS_DISK), 1.5, 0);
    char what[128];
    snprintf(what, sizeof what, "recovery with hint files, seconds (measured at %zu keys%s)",
             a->keys, a->keys == 1000000 ? "" : "; the goal is for 1M");
    print_target(f, what, CHALK(ROW_RECOVERY_HINT_MS) / 1e3, 1.0, 1);
#undef CHALK
}

static void print_markdown(FILE *f, const bench_args *a, const kv_driver *const *drivers,
                           size_t n, const bench_results *r)
{
    size_t ci = chalk_index(drivers, n);
    summary fs = summarise(r->fsync_rate, a->reps);
    char fsync[96];
    fmt_cell(fsync, sizeof fsync, fs);
    fprintf(f, "## Engine suite\n\n%zu keys of %d bytes, values of %zu random bytes; durable "
            "rows write %zu keys in batches of %d; median of %d repetition(s), (min–max).\n"
            "The disk's fdatasync rate (4 KiB appended + fdatasync): **%s /s**.\n\n",
            a->keys, BENCH_KEY_SIZE, a->value_size, a->sync_keys, BENCH_SYNC_BATCH, a->reps, fsync);
    print_header(f, drivers, n, ci);
    for (int row = 0; row < ROW_COUNT; row++)
        print_row(f, r, a->reps, n, ci, row);
    print_targets(f, a, drivers, n, ci, r);
}

static int write_csv(const char *path, const bench_args *a, const kv_driver *const *drivers,
                     size_t n, const bench_results *r)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return 1;
    fprintf(f, "row,unit,engine,median,min,max,reps\n");
    summary fs = summarise(r->fsync_rate, a->reps);
    fprintf(f, "fdatasync,ops/s,disk,%.3f,%.3f,%.3f,%d\n", fs.med, fs.min, fs.max, fs.n);
    for (int row = 0; row < ROW_COUNT; row++)
        for (size_t e = 0; e < n; e++) {
            summary s = cell(r, a->reps, e, row);
            if (s.n)
                fprintf(f, "%s,%s,%s,%.3f,%.3f,%.3f,%d\n", rows[row].name, rows[row].unit,
                        drivers[e]->name, s.med, s.min, s.max, s.n);
        }
    return fclose(f) ? 1 : 0;
}

int report_engine_results(const bench_args *a, const kv_driver *const *drivers,
                          size_t n_drivers, const bench_results *r)
{
    int rc = 0;
    print_markdown(stdout, a, drivers, n_drivers, r);
    if (a->markdown) {
        FILE *f = fopen(a->markdown, "w");
        if (!f)
            return 1;
        print_markdown(f, a, drivers, n_drivers, r);
        rc |= fclose(f) ? 1 : 0;
    }
    if (a->csv)
        rc |= write_csv(a->csv, a, drivers, n_drivers, r);
    return rc;
}
