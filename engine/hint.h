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

/* Recovery: apply dir/<seg_id>.hint if present and wholly valid (its
 * checksum matches and every entry lies inside a segment of seg_size
 * bytes). Returns 0 if applied, CHALK_ENOTFOUND if absent, CHALK_ECORRUPT
 * if invalid (logged; nothing applied: the caller scans the segment). */
int  hint_load(struct chalk_db *db, uint32_t seg_id, uint64_t seg_size);
/* The entry count in the header of dir/<seg_id>.hint, not yet validated
 * (bounded by what the file's size can hold), or 0 if absent or unreadable.
 * Recovery sizes the hash index with it (hidx_reserve). */
uint32_t hint_count(const char *dir, uint32_t seg_id);
/* Remove hint files whose segment does not exist. */
void hint_remove_orphans(struct chalk_db *db);

#endif /* CHALK_HINT_H */
