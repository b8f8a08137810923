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

#endif /* CHALK_SEGMENT_H */
