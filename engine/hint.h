/*
 * hint.h — hint files: for each segment written by compaction, the list of
 * its records' keys and locations, so that recovery rebuilds the index
 * without reading values (Bitcask's idea). Format: hint.c.
 */
#ifndef CHALK_HINT_H
#define CHALK_HINT_H

#include <stddef.h>
#include <stdint.h>

struct chalk_db;
struct chalk_vfs;

/* An in-memory hint file being built. */
struct hint_buf {
    uint8_t *data;
    size_t   len, cap;
    uint32_t count;
};

/* Append one entry. 0 or CHALK_ENOMEM. */
int  hint_add(struct hint_buf *hb, uint64_t seq, int64_t expire_at_ms, uint32_t off,
              uint32_t size, const void *key, uint32_t klen);
/* Write dir/<seg_id>.hint.tmp (header + entries + checksum) and fdatasync
 * it. The caller renames it. 0, CHALK_EIO, CHALK_ENOSPC, CHALK_ENOMEM. */
int  hint_write(const struct chalk_vfs *vfs, const char *dir, uint32_t seg_id,
                const struct hint_buf *hb);
void hint_buf_free(struct hint_buf *hb);

/* Recovery reads a hint file through this iterator. */
struct hint_file {
    uint8_t *buf;              /* the whole file, validated */
    size_t   pos;              /* offset of the next entry */
    uint32_t left;             /* entries not yet returned */
    uint32_t seg_id;
    int      sorted;           /* 1 if keys strictly increase (hint_sort):
                                  recovery can merge it (recover.c) */
};
struct hint_entry {            /* one entry; key points into hint_file.buf */
    uint64_t seq;
    int64_t  expire_at_ms;
    uint32_t offset, record_size, klen;
    const uint8_t *key;
};
/* Read dir/<seg_id>.hint whole and validate it (checksum, header, every
 * entry inside a segment of seg_size bytes) before anything is returned: a
 * hint is used all or not at all. 0 (close it with hint_close),
 * CHALK_ENOTFOUND if absent, CHALK_ECORRUPT if invalid (logged: the caller
 * scans the segment instead). */
int  hint_open(struct chalk_db *db, uint32_t seg_id, uint64_t seg_size, struct hint_file *hf);
/* The next entry into *out: 1, or 0 at the end. */
int  hint_next(struct hint_file *hf, struct hint_entry *out);
void hint_close(struct hint_file *hf);
/* The entry count in the header of dir/<seg_id>.hint, not yet validated
 * (bounded by what the file's size can hold), or 0 if absent or unreadable.
 * Recovery sizes the hash index with it (hidx_reserve). */
uint32_t hint_count(const char *dir, uint32_t seg_id);
/* Remove hint files whose segment does not exist. */
void hint_remove_orphans(struct chalk_db *db);

#endif /* CHALK_HINT_H */
