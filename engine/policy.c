/*
 * policy.c — changing the fsync policy of an open engine (chalk_set_fsync),
 * what CONFIG SET appendfsync does at run time.
 *
 * The one idea: a policy is a promise made when a batch is ACKNOWLEDGED
 * (its callback runs), so a switch must keep every promise already made and
 * never let a callback claim more than is true:
 *
 *   switch            group in flight           pending group (not issued)
 *   ───────────────   ───────────────────────   ────────────────────────────
 *   → ALWAYS          keeps its own sync flag:  fdatasync'ed when issued
 *                     written under no/every-   (log_flush reads the new
 *                     sec, acknowledged as such policy); the fdatasync of
 *                                               the same file also covers the
 *                                               in-flight bytes written before
 *   ALWAYS → other    already carries sync=1    still fdatasync'ed: its batches
 *                                               were written under ALWAYS and
 *                                               their callers wait for disk
 *
 * So after chalk_set_fsync(ALWAYS) returns, every batch written from then on
 * is acknowledged only after an fdatasync covering it, and one written just
 * before (still pending) too; a batch already in flight without a sync is
 * acknowledged by the policy it was written under, never as durable by
 * mistake: callbacks carry no "durable" flag, the policy at write time is
 * the promise. Switching to ALWAYS also queues a sync of whatever earlier
 * policies left unsynced, so the switch is a durability point soon after.
 *
 * Left out on purpose: changing the io backend or segment size of an open
 * engine (reopen for that): they shape files and threads, not promises.
 *
 * @interview(tx.durability): Can the durability level change while the
 * database runs, and what happens to writes already in flight? Yes: each
 * write is promised the policy in force when it was written. chalk_set_fsync
 * makes batches not yet issued follow the stronger of the old and new
 * policies (a write accepted under always still waits for its fdatasync),
 * and batches already handed to the OS keep the promise they were made.
 */
#include "db.h"

int chalk_set_fsync(chalk_db *db, enum chalk_fsync policy)
{
    if (policy != CHALK_FSYNC_NO && policy != CHALK_FSYNC_EVERYSEC &&
        policy != CHALK_FSYNC_ALWAYS)
        return CHALK_EINVAL;
    struct log *lg = &db->log;
    enum chalk_fsync old = lg->policy;
    if (old == policy) return CHALK_OK;
    /* Leaving ALWAYS: batches queued under it keep their promise. */
    if (old == CHALK_FSYNC_ALWAYS && lg->pending) lg->pending->sync = 1;
    lg->policy = policy;
    db->opt.fsync = policy;
    if (policy == CHALK_FSYNC_EVERYSEC) db->last_everysec_usec = log_now_usec();
    /* Entering ALWAYS: make what NO/EVERYSEC left unsynced durable soon
     * (non-blocking: queued behind the group in flight, if any). Best
     * effort: if it cannot be queued (ENOMEM), the next ALWAYS group's
     * fdatasync of the same file covers those bytes anyway. */
    if (policy == CHALK_FSYNC_ALWAYS && !lg->failed && (lg->unsynced || lg->inflight))
        (void)log_request_sync(lg);
    db_logf(db, CHALK_LOG_INFO, "fsync policy changed: %s -> %s",
            old == CHALK_FSYNC_ALWAYS ? "always" : old == CHALK_FSYNC_EVERYSEC ? "everysec" : "no",
            policy == CHALK_FSYNC_ALWAYS ? "always"
            : policy == CHALK_FSYNC_EVERYSEC ? "everysec" : "no");
    return CHALK_OK;
}

/* Group-commit pacing (chalk-server's group_commit.c): whether a group is
 * in flight, how many callbacks wait in the next one, and how long an
 * fdatasync takes on average here. Read-only, O(1). */
void chalk_commit_state_get(const chalk_db *db, chalk_commit_state *out)
{
    const struct log *lg = &db->log;
    out->inflight = lg->inflight != NULL;
    out->pending_callbacks = lg->pending ? lg->pending->ncbs : 0;
    out->fsync_usec_avg = lg->fsyncs ? lg->fsync_usec_total / lg->fsyncs : 0;
}
