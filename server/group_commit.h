/*
 * group_commit.h — when the server closes a group commit under appendfsync
 * always (group_commit.c). The state lives in server.gc.
 */
#ifndef CHALK_GROUP_COMMIT_H
#define CHALK_GROUP_COMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct group_commit {
    bool     gathering;       /* a group just completed: wait for its clients */
    size_t   expect;          /* callbacks the last cycle had (released + queued) */
    int64_t  deadline_us;     /* stop waiting then (now_us clock) */
    /* INFO persistence counters (CONFIG RESETSTAT clears them) */
    uint64_t completions;     /* completions that released held replies */
    uint64_t released;        /* held replies released by them */
    uint64_t waits;           /* loop turns a flush was put off */
};

/* After chalk_poll ran `callbacks` callbacks: start gathering. */
void gc_after_poll(int callbacks);
/* In server_before_sleep, instead of chalk_flush: issue the next group now,
 * or put it off while the clients just released are still coming back. */
void gc_flush(void);
/* Cap the loop's poll timeout so that a put-off group is issued in time. */
int  gc_poll_timeout(int timeout_ms);
void gc_reset_stats(void);

#endif
