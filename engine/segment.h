/*
 * segment.h — segment files: naming, listing, creating, and reading them
 * record by record. The byte format is in record.c.
 *
 * Segment lifecycle (the arrows name the function that makes them):
 *
 *   (none) --seg_create()--> ACTIVE --log_roll()--> SEALED
 *                                                     |  compaction_swap()
 *   (none) --compaction thread, seg_create(MERGED)--> SEALED (merged)
 *   SEALED --compaction_swap() then seg_unlink()--> (gone)
 *
 * seg_reader is usable without an engine (chalk-check and chalk-dump use
 * it): open a file, validate its header, then walk verified records.
 */
#ifndef CHALK_SEGMENT_H
#define CHALK_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct chalk_vfs;

#define SEG_PATH_MAX 4096

/* dir/NNNNNNNNNN<suffix> into buf, e.g. suffix ".log" or ".hint". */
void seg_path(char *buf, size_t cap, const char *dir, uint32_t id, const char *suffix);

/* The ids of every dir/NNNNNNNNNN.log, ascending, in a malloc'd array.
 * Returns 0 or CHALK_EIO / CHALK_ENOMEM. */
int seg_list(const char *dir, uint32_t **ids, size_t *n);

/* Create dir/<id><suffix> (O_EXCL), write its segment header, fdatasync it
 * and fsync the directory. *fd_out is a write fd from the vfs. Returns 0,
 * CHALK_EIO or CHALK_ENOSPC. */
int seg_create(const struct chalk_vfs *vfs, const char *dir, uint32_t id,
               const char *suffix, uint32_t flags, int *fd_out);

/* Write all n bytes at off through the vfs, looping over short writes (they
 * are normal: a pwrite may write less than asked). 0 or -errno (-EIO when a
 * write makes no progress). */
int vfs_pwrite_all(const struct chalk_vfs *vfs, int fd, const void *buf, size_t n, uint64_t off);

/* Map an errno-style negative result (-EIO, -ENOSPC, ...) to a CHALK_E*. */
int seg_errno_to_chalk(int neg_errno);

/* ---- reading a segment record by record -------------------------------- */
struct seg_reader {
    int       fd;              /* O_RDONLY, owned */
    uint64_t  file_size;
    uint64_t  off;             /* offset of the next record */
    struct seg_header header;
    uint8_t  *buf;             /* window of the file: [buf_off, buf_off+buf_len) */
    size_t    buf_cap;
    uint64_t  buf_off;
    size_t    buf_len;
    const char *why;           /* after an error: what was wrong, for the log */
    uint64_t  resume;          /* after CHALK_ECORRUPT: the first offset at
                                  which a LATER record could start — the end
                                  of the bad record when its header verified
                                  (its length is then trustworthy), else the
                                  byte after its start */
};

/* Open path and validate its header. Returns 0, CHALK_EIO, CHALK_ECORRUPT
 * (bad magic/checksum, or a file shorter than a header: r->why says which),
 * CHALK_EVERSION, CHALK_ENOMEM. On error nothing stays open. */
int seg_reader_open(struct seg_reader *r, const char *path);

/* Read the next record into *rec (pointers valid until the next call) and
 * its offset into *rec_off. Returns 1 (a record), 0 (clean end of file),
 * CHALK_ECORRUPT (r->off is the offset of the bad or truncated record, r->why
 * says what), CHALK_EIO or CHALK_ENOMEM. A stated size larger than the rest
 * of the file is reported as corrupt without allocating. */
int seg_reader_next(struct seg_reader *r, struct record_view *rec, uint64_t *rec_off);

void seg_reader_close(struct seg_reader *r);

/* ---- torn tail or damage? ------------------------------------------------ */
/* A crash in the middle of an append can only damage the END of the log:
 * whatever follows the first bad byte was written later, so it is garbage,
 * zeros, or nothing. A record that verifies AFTER a bad one proves the log
 * went on past the damage. The rule recovery (recover.c, rules R4/R5) and
 * chalk-check (tools/check.c) both apply, through this one function:
 *
 *   The bad point of the newest segment is a TORN TAIL if and only if no
 *   record that verifies (both checksums) and whose seq is higher than that
 *   of the last whole batch before the bad point starts at or after the
 *   bad record's end (its stated end when its header verified, else the
 *   byte after its start). Otherwise it is CORRUPTION.
 *
 * The seq condition: a verified record with an older seq cannot be a
 * continuation of this log (seqs only grow within a segment), so it proves
 * nothing. */
struct seg_after {
    uint64_t first_off;        /* offset of the first record found */
    uint64_t first_seq;        /* its seq */
    uint64_t records;          /* it plus the records chained after it that
                                  verify; 0 = nothing valid follows */
};

/* Scan r's file from offset `from` byte by byte for the first record that
 * verifies with a seq above min_seq, then count the records chained after
 * it. Uses r's window (one read per MiB) and moves r->off: the reader is
 * only good for seg_reader_close (or its fd) afterwards. Cost: one header
 * checksum per byte scanned, paid only after a problem was found.
 * Returns 0 (see out->records), CHALK_EIO or CHALK_ENOMEM. */
int seg_find_valid_after(struct seg_reader *r, uint64_t from, uint64_t min_seq,
                         struct seg_after *out);

/* 1 if bytes [from, to) of fd are all zero (a read error counts as "no").
 * A newest segment ending in zeros after its last record is what
 * fsync=always's pre-written tail leaves after a crash, or while the store
 * is open (log.c, group_prezero): no record was ever there. Recovery cuts
 * it like any torn tail; recovery and the tools only name it. */
int seg_all_zero(int fd, uint64_t from, uint64_t to);

#endif /* CHALK_SEGMENT_H */
