/*
 * repl_backlog.c — the replication backlog: the last repl-backlog-size
 * bytes of the stream, in a circular buffer, so that a follower that lost
 * its link for a moment continues where it stopped (PSYNC → +CONTINUE)
 * instead of transferring the whole data set again.
 *
 * The one idea: the stream is a sequence of bytes numbered by offset since
 * the history began (replid). The backlog holds the window
 * [end_offset - histlen + 1, end_offset]; a follower asking for offset o
 * is served from it iff first <= o <= end_offset + 1.
 *
 * Invariants (backlog_check_invariants):
 *   1. histlen <= size, idx < size;
 *   2. first_offset = end_offset - histlen + 1 >= 1 (the window never
 *      starts before the history did);
 *   3. the byte of offset end_offset sits just before idx, circularly (by
 *      construction in backlog_append; unit_repl_backlog checks it against
 *      a model of the whole stream).
 *
 * Left out on purpose: Redis 7's shared replication buffer (the backlog
 * and every replica's output share one list of reference-counted blocks).
 * Here each online replica gets its own copy of each unit; the cost is
 * memory proportional to replicas x unsent bytes.
 *
 * @interview(repl.replication): Why can a follower that disconnects for a
 * second resume, and when can it not? The leader keeps the last N bytes of
 * the stream (repl-backlog-size); a follower reconnects with "PSYNC replid
 * offset" and if that offset is still inside the window it receives only
 * the missing bytes (+CONTINUE). Once writes have pushed its offset out of
 * the window, only a full resync (snapshot + stream) can bring it back, so
 * the backlog should hold more than write-rate x longest expected outage.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "repl_internal.h"

repl_backlog *backlog_new(size_t size)
{
    repl_backlog *bl = calloc(1, sizeof *bl);
    if (!bl)
        return NULL;
    bl->buf = malloc(size ? size : 1);
    if (!bl->buf) {
        free(bl);
        return NULL;
    }
    bl->size = size ? size : 1;
    return bl;
}

void backlog_free(repl_backlog *bl)
{
    if (!bl)
        return;
    free(bl->buf);
    free(bl);
}

/* Short copies are the common case (one unit); a write longer than the
 * whole backlog keeps only its tail. */
void backlog_append(repl_backlog *bl, const void *p, size_t len)
{
    const char *src = p;
    bl->end_offset += (long long)len;
    if (len > bl->size) {
        src += len - bl->size;
        len = bl->size;
    }
    while (len > 0) {
        size_t room = bl->size - bl->idx;
        size_t n = len < room ? len : room;
        memcpy(bl->buf + bl->idx, src, n);
        bl->idx = (bl->idx + n) % bl->size;
        bl->histlen = bl->histlen + n > bl->size ? bl->size : bl->histlen + n;
        src += n;
        len -= n;
    }
    assert(backlog_check_invariants(bl) == 0);
}

long long backlog_first_offset(const repl_backlog *bl)
{
    return bl->end_offset - (long long)bl->histlen + 1;
}

int backlog_copy_from(const repl_backlog *bl, long long from,
                      void (*fn)(void *arg, const char *p, size_t len), void *arg)
{
    if (from < backlog_first_offset(bl) || from > bl->end_offset + 1)
        return -1;
    size_t want = (size_t)(bl->end_offset + 1 - from);
    size_t start = (bl->idx + bl->size - want) % bl->size;
    while (want > 0) {
        size_t n = bl->size - start < want ? bl->size - start : want;
        fn(arg, bl->buf + start, n);
        start = (start + n) % bl->size;
        want -= n;
    }
    return 0;
}

int backlog_check_invariants(const repl_backlog *bl)
{
    if (bl->histlen > bl->size || bl->idx >= bl->size)
        return -1;
    if (backlog_first_offset(bl) > bl->end_offset + 1)
        return -1;
    if (bl->histlen > (size_t)bl->end_offset)
        return -1;                 /* more bytes held than were ever written */
    return 0;
}
