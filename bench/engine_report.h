/*
 * bench/engine_report.h — the engine suite's results and how they are
 * printed: a markdown table (median and min–max of the repetitions, the
 * ratio Chalk/peer per row), issue 3's targets with met / not met, and a
 * CSV for the plots (bench/report.py).
 *
 * The one idea: the numbers are summarised in one place, after every
 * engine ran, so that each printed ratio divides two medians of the same run.
 *
 * Left out on purpose: statistics beyond median and range (no means or
 * confidence intervals: with 3 repetitions on a shared machine, the range
 * is the honest spread). Interview topics: none of its own.
 */
#ifndef CHALK_BENCH_ENGINE_REPORT_H
#define CHALK_BENCH_ENGINE_REPORT_H

#include "kv_driver.h"

#define MAX_REPS 9
#define MAX_ENGINES 4

typedef struct bench_args {
    size_t      keys;
    size_t      sync_keys;
    int         reps;
    size_t      value_size;
    const char *base;        /* parent of the scratch directory */
    const char *engines;     /* comma-separated driver names */
    const char *csv;         /* NULL: no CSV */
    const char *markdown;    /* NULL: markdown only on stdout */
    int         fsync_iters;
    uint64_t    seed;
    int         light;       /* --light: see bench_cfg.light */
    const kv_driver *selected[MAX_ENGINES];  /* the engines to run, in order */
    size_t      n_selected;
} bench_args;

/* Lives in a MAP_SHARED mapping: the child processes write into it. */
typedef struct bench_results {
    double v[MAX_REPS][MAX_ENGINES][ROW_COUNT];  /* NAN = not measured */
    double fsync_rate[MAX_REPS];                 /* fdatasync/s of the disk */
} bench_results;

/* Print the table and targets to stdout (and a->markdown), the CSV to
 * a->csv. drivers[e] produced r->v[*][e]. Returns 0, or 1 if a file could
 * not be written. */
int report_engine_results(const bench_args *a, const kv_driver *const *drivers,
                          size_t n_drivers, const bench_results *r);

#endif /* CHALK_BENCH_ENGINE_REPORT_H */
