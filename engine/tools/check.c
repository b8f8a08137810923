/*
 * chalk-check — verify every checksum of a Chalk data directory, and
 * optionally repair a torn tail (the engine's redis-check-aof).
 *
 *   chalk-check [--repair [--force]] DIR
 *
 * What it does: walks every segment NNNNNNNNNN.log in id order with the
 * engine's own verified reader (seg_reader_next in segment.c, record_decode
 * in record.c — there is no second decoder here), checks the batch framing
 * of record.c (each batch's run of records ends with a COMMIT record), and
 * reports the file and offset of the first problem of each segment.
 *
 * The one idea: tell a TORN TAIL from CORRUPTION. A crash in the middle of
 * an append leaves garbage or a half batch at the end of the newest segment
 * (the newest one not written by compaction, as recovery decides), and
 * normally nothing valid after it: recovery drops it, and --repair may
 * truncate it (to the end of the last whole batch). A file no longer than
 * a segment header with only compaction outputs after it is a creation the
 * crash interrupted (recover.c's read_headers): --repair moves it aside. A bad record in a sealed segment is damage to bytes that were
 * once durable (sealed segments are fsynced before the next one exists).
 * A bad record in the newest segment with valid records AFTER it is either
 * damage too, or a crash that wrote the last unsynced pages out of order;
 * the tool cannot know which, and cutting there would drop those records —
 * perhaps acknowledged ones — so --repair refuses both unless --force is
 * given too. To see what follows a bad record, the tool asks the engine's
 * own scan (seg_find_valid_after in segment.c, which recovery uses for the
 * same decision, so the two cannot disagree): byte by byte for a record
 * whose two checksums verify (a false match needs a 32-bit and a 64-bit
 * checksum to collide) and whose seq is newer than the last whole batch
 * before the problem. The engine refuses to open in exactly the cases
 * this tool calls CORRUPT, and truncates exactly what it calls TORN TAIL.
 *
 * Exit status: 0 every segment clean (or every problem repaired), 1 a
 * problem remains, 2 usage or I/O error (or the directory is in use).
 *
 * Left out on purpose: hint files are not checked, only counted (recovery
 * falls back to the log when a hint file is bad, so the log is the truth;
 * leftovers of an interrupted compaction are named, not judged), and repair
 * never rewrites a record: it only truncates, or with --force moves a
 * segment with an unreadable header aside as NNNNNNNNNN.log.corrupt.
 *
 * @interview(storage.recovery): How do you tell a crash's torn write from
 * real corruption? By where the bad bytes are and what follows them: a torn
 * append sits at the end of the newest segment with nothing valid after it,
 * and is safe to cut; a bad record in a sealed segment, or one followed by
 * valid records, may be damage to acknowledged data, so it is reported with
 * file and offset and cut only when the operator insists (--force).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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

enum verdict { SEG_CLEAN, SEG_TORN_TAIL, SEG_CORRUPT, SEG_IO_ERROR };

struct seg_report {
    uint32_t     id;
    int          newest;        /* the active (last) segment */
    int          merged;        /* written by compaction */
    uint64_t     file_size;
    uint64_t     records;       /* valid records before the first problem */
    uint64_t     batches;       /* COMMIT records among them */
    uint64_t     good_end;      /* end of the last whole batch */
    uint64_t     bad_off;       /* first problem (valid when verdict != CLEAN) */
    const char  *why;
    int          header_bad;
    int          zero_tail;     /* every byte from good_end on is zero */
    uint64_t     scan_from;     /* where to look for valid records after it */
    uint64_t     last_seq;      /* seq of the last whole batch before it */
    uint64_t     valid_after;   /* verifiable records found from scan_from */
    uint64_t     first_valid_after;
    enum verdict verdict;
};

struct options {
    const char *dir;
    int         repair, force, quiet;
};

/* ---- checking one segment --------------------------------------------- */

/* Walk the records; stop at the first bad one. Batch framing: records of a
 * batch share a seq and the last one carries COMMIT. scan_from is where the
 * records that might follow the problem start: the next batch (a batch cut
 * off in the middle of the file), the end of a bad record whose header
 * verified or else the byte after its start (the reader's `resume`), or the
 * end of the file (a last batch without its COMMIT whose records are all
 * valid: a torn batch, its valid records are expected and prove nothing). */
static int walk_records(struct seg_reader *r, struct seg_report *rep)
{
    struct record_view rv;
    uint64_t off, open_seq = 0;
    int in_batch = 0, rc;
    while ((rc = seg_reader_next(r, &rv, &off)) == 1) {
        if (in_batch && rv.seq != open_seq) {
            rep->bad_off = rep->scan_from = off;
            rep->why = "a batch ends without its COMMIT record";
            return CHALK_ECORRUPT;
        }
        rep->records++;
        in_batch = !(rv.flags & REC_F_COMMIT);
        open_seq = rv.seq;
        if (!in_batch) {
            rep->batches++;
            rep->good_end = off + rv.size;
            rep->last_seq = rv.seq;
        }
    }
    if (rc == CHALK_ECORRUPT) {
        rep->bad_off = r->off;
        rep->scan_from = r->resume;
        rep->why = r->why;
    } else if (rc == 0 && in_batch) {
        rep->bad_off = rep->good_end;
        rep->scan_from = r->file_size;
        rep->why = "the last batch has no COMMIT record (cut short)";
        rc = CHALK_ECORRUPT;
    }
    return rc;
}

/* newest: the segment recovery treats as the active one (the highest id
 * not written by compaction, or an unreadable one with only compaction
 * outputs after it). */
static void check_segment(const char *dir, uint32_t id, int newest, struct seg_report *rep)
{
    char path[SEG_PATH_MAX];
    struct seg_reader r;
    memset(rep, 0, sizeof *rep);
    rep->id = id;
    rep->newest = newest;
    rep->good_end = SEG_HEADER_SIZE;
    seg_path(path, sizeof path, dir, id, ".log");
    int rc = seg_reader_open(&r, path);
    if (rc == 0 && r.header.segment_id != id) {
        seg_reader_close(&r);
        rc = CHALK_ECORRUPT;
        r.why = "the header names another segment id";
    }
    if (rc != 0) {
        rep->header_bad = 1;
        rep->why = r.why ? r.why : code_name(rc);
        rep->verdict = rc == CHALK_EIO ? SEG_IO_ERROR : SEG_CORRUPT;
        /* As recovery does: a newest file no longer than a header is a
         * segment whose creation a crash interrupted, not damage. */
        struct stat st;
        if (rc == CHALK_ECORRUPT && newest && stat(path, &st) == 0 &&
            (uint64_t)st.st_size <= SEG_HEADER_SIZE)
            rep->verdict = SEG_TORN_TAIL;
        return;
    }
    rep->file_size = r.file_size;
    rep->merged = (r.header.flags & SEG_F_MERGED) != 0;
    rc = walk_records(&r, rep);
    if (rc == CHALK_ECORRUPT) {
        /* The engine's own rule (segment.h): torn iff nothing valid and
         * newer follows. Asked for sealed segments too, for the report. */
        struct seg_after after;
        const char *why = rep->why;
        rc = seg_find_valid_after(&r, rep->scan_from, rep->last_seq, &after);
        rep->why = rc == 0 ? why : code_name(rc);
        rep->valid_after = after.records;
        rep->first_valid_after = after.first_off;
        if (rc == 0)
            rc = CHALK_ECORRUPT;
    } else if (rc != 0) {
        rep->why = code_name(rc);
    }
    if (rc == CHALK_ECORRUPT && rep->valid_after == 0)
        rep->zero_tail = seg_all_zero(r.fd, rep->good_end, rep->file_size);
    seg_reader_close(&r);
    if (rc == 0)
        rep->verdict = SEG_CLEAN;
    else if (rc != CHALK_ECORRUPT)
        rep->verdict = SEG_IO_ERROR;
    else
        rep->verdict = newest && rep->valid_after == 0 ? SEG_TORN_TAIL : SEG_CORRUPT;
}

/* The id of the newest segment that is not a compaction output: the only
 * one recovery lets end in a torn append (rule R4 of recover.c). 0 if none. */
static uint32_t newest_appended(const char *dir, const uint32_t *ids, size_t n)
{
    char path[SEG_PATH_MAX];
    struct seg_reader r;
    for (size_t i = n; i-- > 0;) {
        seg_path(path, sizeof path, dir, ids[i], ".log");
        if (seg_reader_open(&r, path) != 0)
            return ids[i];          /* unreadable header: judged on its own */
        int merged = (r.header.flags & SEG_F_MERGED) != 0;
        seg_reader_close(&r);
        if (!merged)
            return ids[i];
    }
    return 0;
}

/* ---- reporting and repairing ------------------------------------------ */

static void print_report(const struct seg_report *rep)
{
    static const char *names[] = { "ok", "TORN TAIL", "CORRUPT", "I/O ERROR" };
    printf("%010u.log  %-9s %llu records, %llu batches, %llu bytes%s%s\n", rep->id,
           names[rep->verdict], (unsigned long long)rep->records,
           (unsigned long long)rep->batches, (unsigned long long)rep->file_size,
           rep->merged ? ", merged" : "", rep->newest ? ", active" : "");
    if (rep->verdict == SEG_CLEAN)
        return;
    if (rep->header_bad) {
        printf("    segment header: %s\n", rep->why);
        if (rep->verdict == SEG_TORN_TAIL)
            printf("    a crash while creating it: recovery removes it; --repair moves it aside\n");
        return;
    }
    printf("    offset %llu: %s\n", (unsigned long long)rep->bad_off, rep->why);
    printf("    last whole batch ends at offset %llu; %llu bytes after it\n",
           (unsigned long long)rep->good_end,
           (unsigned long long)(rep->file_size - rep->good_end));
    if (rep->valid_after)
        printf("    %llu valid records follow (the first at offset %llu): damage, or pages written "
               "out of order by a crash; cutting here drops them\n",
               (unsigned long long)rep->valid_after, (unsigned long long)rep->first_valid_after);
    if (rep->verdict == SEG_TORN_TAIL && rep->zero_tail)
        printf("    all zeros: the tail fsync=always writes ahead of its records (the store "
               "crashed or is open), or lost pages; no record in them\n");
    if (rep->verdict == SEG_TORN_TAIL)
        printf("    a crash mid-append: recovery drops these bytes; --repair truncates them\n");
    else if (!rep->newest)
        printf("    inside a sealed segment: durable data is damaged (--repair --force truncates)\n");
}

/* Truncate a segment to `len` bytes and make that durable. */
static int truncate_segment(const char *path, uint64_t len)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = 0;
    /* fdatasync: a repair that a power loss could undo would be a lie. */
    if (ftruncate(fd, (off_t)len) < 0 || fdatasync(fd) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

/* Move a segment with a bad header aside, and sync the directory. */
static int move_aside(const char *dir, const char *path)
{
    char to[SEG_PATH_MAX + 16];
    snprintf(to, sizeof to, "%s.corrupt", path);
    if (rename(path, to) < 0)
        return -errno;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = dfd < 0 || fsync(dfd) < 0 ? -errno : 0;
    if (dfd >= 0)
        close(dfd);
    printf("    repaired: moved %s aside to %s\n", path, to);
    return rc;
}

/* Returns 1 if repaired, 0 if refused, -errno on failure. */
static int repair_segment(const struct options *o, const struct seg_report *rep)
{
    char path[SEG_PATH_MAX];
    seg_path(path, sizeof path, o->dir, rep->id, ".log");
    if (rep->verdict == SEG_CORRUPT && !o->force) {
        printf("    not repaired: the cut could drop acknowledged data (add --force to cut anyway)\n");
        return 0;
    }
    if (rep->header_bad) {
        int rc = move_aside(o->dir, path);
        return rc < 0 ? rc : 1;
    }
    int rc = truncate_segment(path, rep->good_end);
    if (rc < 0)
        return rc;
    printf("    repaired: truncated %010u.log from %llu to %llu bytes (%llu bytes dropped)\n",
           rep->id, (unsigned long long)rep->file_size, (unsigned long long)rep->good_end,
           (unsigned long long)(rep->file_size - rep->good_end));
    if (rep->verdict == SEG_CORRUPT)
        printf("    warning: records after the cut are lost; older versions of their keys "
               "may reappear\n");
    return 1;
}

/* --repair must not race a running engine: take its lock (dir/LOCK). */
static int lock_dir(const char *dir)
{
    char path[SEG_PATH_MAX];
    snprintf(path, sizeof path, "%s/LOCK", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? -1 : -2;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        close(fd);
        return -2;
    }
    return fd;   /* held until exit */
}

/* Files of an interrupted compaction are not damage: say what recovery
 * will do with them (compaction.c, "Crash at any step"). Hints are counted,
 * not checked. */
static void print_notes(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    unsigned hints = 0;
    if (!d)
        return;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".tmp") == 0)
            printf("note: %s: output of an unfinished compaction; recovery removes it\n", e->d_name);
        else if (strcmp(e->d_name, "COMPACTION") == 0)
            printf("note: COMPACTION: a committed compaction whose old segments are not all "
                   "removed yet; recovery finishes it\n");
        else if (n > 5 && strcmp(e->d_name + n - 5, ".hint") == 0)
            hints++;
    }
    closedir(d);
    if (hints)
        printf("note: %u hint file%s, not checked (a bad hint makes recovery scan its segment)\n",
               hints, hints == 1 ? "" : "s");
}

static int usage(void)
{
    fprintf(stderr, "usage: chalk-check [--repair [--force]] DIR\n"
                    "  verify every record checksum and batch of a Chalk data directory\n"
                    "  --repair  truncate a torn tail of the newest segment\n"
                    "  --force   with --repair: also cut where acknowledged data may be lost\n"
                    "exit: 0 clean, 1 problems remain, 2 usage or I/O error\n");
    return 2;
}

static int parse_args(int argc, char **argv, struct options *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--repair") == 0)
            o->repair = 1;
        else if (strcmp(argv[i], "--force") == 0)
            o->force = 1;
        else if (argv[i][0] == '-' || o->dir)
            return -1;
        else
            o->dir = argv[i];
    }
    return o->dir && (!o->force || o->repair) ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct options o;
    if (parse_args(argc, argv, &o) < 0)
        return usage();
    if (o.repair && lock_dir(o.dir) == -2) {
        fprintf(stderr, "chalk-check: %s is in use by a running engine (LOCK held)\n", o.dir);
        return 2;
    }
    uint32_t *ids;
    size_t n;
    if (seg_list(o.dir, &ids, &n) != 0) {
        fprintf(stderr, "chalk-check: cannot list %s: %s\n", o.dir, strerror(errno));
        return 2;
    }
    printf("chalk-check: %s, %zu segment%s\n", o.dir, n, n == 1 ? "" : "s");
    uint64_t records = 0, batches = 0, torn = 0, corrupt = 0, repaired = 0;
    int io_error = 0;
    uint32_t newest = newest_appended(o.dir, ids, n);
    for (size_t i = 0; i < n; i++) {
        struct seg_report rep;
        check_segment(o.dir, ids[i], ids[i] == newest, &rep);
        print_report(&rep);
        records += rep.records;
        batches += rep.batches;
        torn += rep.verdict == SEG_TORN_TAIL;
        corrupt += rep.verdict == SEG_CORRUPT;
        io_error |= rep.verdict == SEG_IO_ERROR;
        if (o.repair && (rep.verdict == SEG_TORN_TAIL || rep.verdict == SEG_CORRUPT)) {
            int rc = repair_segment(&o, &rep);
            if (rc < 0) {
                fprintf(stderr, "chalk-check: repair failed: %s\n", strerror(-rc));
                io_error = 1;
            }
            repaired += rc > 0;
        }
    }
    free(ids);
    print_notes(o.dir);
    printf("summary: %zu segment%s, %llu records, %llu batches; %llu torn tail, "
           "%llu corrupt, %llu repaired\n", n, n == 1 ? "" : "s", (unsigned long long)records,
           (unsigned long long)batches, (unsigned long long)torn,
           (unsigned long long)corrupt, (unsigned long long)repaired);
    if (io_error)
        return 2;
    return torn + corrupt > repaired ? 1 : 0;
}
