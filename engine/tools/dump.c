/*
 * chalk-dump — print every record of a Chalk data directory, one per line,
 * so that a reader can watch the log grow while typing commands.
 *
 *   chalk-dump [--values] [SEGMENT-ID] DIR
 *
 * What it does: walks the segments NNNNNNNNNN.log in id order with the
 * engine's own verified reader (seg_reader_next, segment.c) and prints, per
 * record: segment, offset, seq, kind, flags, key (escaped), value size and
 * expiry; --values adds the first bytes of each value. A summary follows.
 * Only one segment is shown when its id is given.
 *
 * The one idea: the log IS the database. Everything an index holds can be
 * rebuilt from these lines (that is what recovery does), and reading them
 * shows why a log-structured store needs compaction: every overwrite and
 * every delete is one more line, and the old lines stay until a merge.
 *
 * Left out on purpose: hint files (a summary of a merged segment; the
 * segment itself is the truth) and any attempt to read past a bad record —
 * the first bad record of a segment ends its listing with the reason, and
 * the exit status is 1. chalk-check tells torn tails from corruption.
 * Zeros after the last record of the newest segment (the tail
 * fsync=always writes ahead of its records, engine/log.c) are named as
 * such, and are not an error.
 *
 * Exit status: 0 all records read, 1 a bad record or header, 2 usage / I/O.
 *
 * @interview(arch.event-sourcing): What does an event-sourced store look
 * like from the inside? Like this listing: an append-only sequence of
 * changes, each with its sequence number, from which the current state is
 * derived by replaying it in order; deletes are events too (tombstones),
 * and a merge that keeps only the newest event per key is a snapshot.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chalk/engine.h"
#include "record.h"
#include "segment.h"

/* The reader's error codes by name (chalk_strerror lives in the engine
 * proper, which this tool does not need). */
static const char *code_name(int rc)
{
    switch (rc) {
    case CHALK_EIO:      return "I/O error";
    case CHALK_ECORRUPT: return "corrupt";
    case CHALK_EVERSION: return "unknown format version";
    case CHALK_ENOMEM:   return "out of memory";
    default:             return "error";
    }
}

#define KEY_SHOWN   48   /* bytes of a key printed before "..." */
#define VALUE_SHOWN 32   /* bytes of a value printed with --values */

struct totals {
    uint64_t segments, records, puts, deletes, batches, bytes, with_expiry;
};

/* Print up to `max` bytes as a C-like quoted string: printable ASCII as is,
 * \" \\ \n \r \t, anything else \xHH (keys are binary-safe). */
static void print_escaped(const uint8_t *p, size_t len, size_t max)
{
    putchar('"');
    for (size_t i = 0; i < len && i < max; i++) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\r')
            fputs("\\r", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (isprint(c))
            putchar(c);
        else
            printf("\\x%02x", c);
    }
    putchar('"');
    if (len > max)
        printf("...(%zu bytes)", len);
}

/* An absolute expiry as ms and UTC time; "-" for none. */
static void print_expiry(int64_t ms)
{
    if (ms == 0) {
        fputs("-", stdout);
        return;
    }
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    char when[32] = "?";
    if (gmtime_r(&s, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%lld(%s)", (long long)ms, when);
}

static void print_record(uint32_t id, uint64_t off, const struct record_view *rv,
                         int values)
{
    printf("%010u.log %8llu %6llu %-6s %-6s ", id, (unsigned long long)off,
           (unsigned long long)rv->seq, rv->kind == REC_PUT ? "PUT" : "DEL",
           rv->flags & REC_F_COMMIT ? "commit" : "-");
    print_escaped(rv->key, rv->klen, KEY_SHOWN);
    printf(" vsize=%u expire=", rv->vlen);
    print_expiry(rv->expire_at_ms);
    if (values && rv->kind == REC_PUT) {
        fputs(" value=", stdout);
        print_escaped(rv->value, rv->vlen, VALUE_SHOWN);
    }
    putchar('\n');
}

static void count_record(struct totals *t, const struct record_view *rv)
{
    t->records++;
    t->bytes += rv->size;
    t->puts += rv->kind == REC_PUT;
    t->deletes += rv->kind == REC_DELETE;
    t->batches += (rv->flags & REC_F_COMMIT) != 0;
    t->with_expiry += rv->expire_at_ms != 0;
}

/* Dump one segment. Returns 0, 1 (a bad record or header) or 2 (I/O). */
static int dump_segment(const char *dir, uint32_t id, int last, int values, struct totals *t)
{
    char path[SEG_PATH_MAX];
    struct seg_reader r;
    struct record_view rv;
    uint64_t off;
    seg_path(path, sizeof path, dir, id, ".log");
    int rc = seg_reader_open(&r, path);
    if (rc != 0) {
        printf("%010u.log: %s (%s)\n", id, code_name(rc), r.why ? r.why : "?");
        return rc == CHALK_EIO ? 2 : 1;
    }
    t->segments++;
    printf("# %010u.log: version %u, %s, %llu bytes\n", id, r.header.version,
           r.header.flags & SEG_F_MERGED ? "merged by compaction" : "appended",
           (unsigned long long)r.file_size);
    while ((rc = seg_reader_next(&r, &rv, &off)) == 1) {
        print_record(id, off, &rv, values);
        count_record(t, &rv);
    }
    if (rc == CHALK_ECORRUPT && last && seg_all_zero(r.fd, r.off, r.file_size)) {
        /* fsync=always writes zeros ahead of its records (engine/log.c);
         * only the newest segment may end so (a roll cuts them). */
        printf("# %010u.log %llu: %llu bytes of zeros (the tail fsync=always writes ahead, or "
               "lost pages): no records\n", id, (unsigned long long)r.off,
               (unsigned long long)(r.file_size - r.off));
        rc = 0;
    } else if (rc < 0) {
        printf("%010u.log %8llu !! %s: %s; %llu bytes not shown\n", id,
               (unsigned long long)r.off, code_name(rc), r.why ? r.why : "?",
               (unsigned long long)(r.file_size - r.off));
    }
    seg_reader_close(&r);
    return rc == 0 ? 0 : rc == CHALK_EIO ? 2 : 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: chalk-dump [--values] [SEGMENT-ID] DIR\n"
                    "  print every record of a Chalk data directory\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int values = 0;
    long only = -1;
    for (int i = 1; i < argc; i++) {
        char *end;
        long v = strtol(argv[i], &end, 10);
        if (strcmp(argv[i], "--values") == 0)
            values = 1;
        else if (argv[i][0] == '-')
            return usage();
        else if (i + 1 < argc && *end == 0 && v >= 0)
            only = v;
        else if (!dir)
            dir = argv[i];
        else
            return usage();
    }
    uint32_t *ids;
    size_t n;
    if (!dir)
        return usage();
    if (seg_list(dir, &ids, &n) != 0) {
        fprintf(stderr, "chalk-dump: cannot list %s: %s\n", dir, strerror(errno));
        return 2;
    }
    printf("# SEGMENT        OFFSET    SEQ KIND   FLAGS  KEY vsize expire [value]\n");
    struct totals t = { 0 };
    int status = 0;
    for (size_t i = 0; i < n; i++) {
        if (only >= 0 && ids[i] != (uint32_t)only)
            continue;
        int rc = dump_segment(dir, ids[i], i + 1 == n, values, &t);
        status = rc > status ? rc : status;
    }
    free(ids);
    printf("# summary: %llu segment%s, %llu records (%llu PUT, %llu DEL, %llu with expiry), "
           "%llu batches, %llu bytes of records\n",
           (unsigned long long)t.segments, t.segments == 1 ? "" : "s", (unsigned long long)t.records,
           (unsigned long long)t.puts, (unsigned long long)t.deletes,
           (unsigned long long)t.with_expiry, (unsigned long long)t.batches,
           (unsigned long long)t.bytes);
    return status;
}
