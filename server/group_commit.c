/*
 * group_commit.c — when the server closes a group commit under appendfsync
 * always: the pacing between "a group became durable" and "issue the next".
 *
 * The one idea: the clients whose replies a completed fdatasync just
 * released are the next group's best members. Issue the next group only
 * once they had a chance to write again, not the instant the disk is free.
 *
 * Why groups split without it (measured: 50 clients, one write each in
 * flight, only ~24 writes per fdatasync). The engine used to issue the
 * next group from inside chalk_poll, the moment group A's fdatasync
 * completed, with whatever had queued meanwhile (group B). A's replies went
 * out only after that, so A's clients wrote again while B's fdatasync ran
 * and formed group C. Two half-size groups alternate forever:
 *
 *   disk:     [ fsync A (25) ][ fsync B (25) ][ fsync C (25) ] ...
 *   clients:  A released ─▶ A writes again while B runs ─▶ join C, not B
 *
 * The fix, per completion (gc_after_poll, then gc_flush every loop turn):
 *   1. never call chalk_flush while a group is in flight (that asks the
 *      engine to issue the next group by itself at completion);
 *   2. at completion, remember how many writes the last cycle had: the
 *      replies just released plus those still queued (expect);
 *   3. each loop turn, issue the queued group once as many writes are
 *      queued again (everyone came back), or when the deadline passes:
 *      half the mean fdatasync time, capped at 2 ms;
 *   4. a lone client never waits: its own write is the whole cycle
 *      (expect = 1), so its next write is issued the turn it arrives.
 * In steady state the groups merge into one of ~all clients, so the disk
 * does one fdatasync per round trip of the whole client population.
 *
 * The dynamics in one line: writes per fdatasync ≈ writers in flight only
 * if the group closes after they are all back; closing on "disk idle"
 * instead splits the population into as many groups as fit in one round
 * trip. The deadline bounds what waiting costs: at most half an fdatasync
 * of extra latency for the writes already queued, in exchange for up to
 * twice the writes per fdatasync.
 *
 * Left out on purpose: counting clients rather than writes (a pipelining
 * client counts once per write; both grow together), adaptive deadlines
 * (MySQL's binlog_group_commit_sync_delay is a fixed knob; ours follows the
 * disk), and any pacing under no / everysec, where groups are cheap writes.
 *
 * @interview(tx.durability): How does group commit's batch size depend on
 * client concurrency, and how do you get big batches? Each client has one
 * write in flight, so a batch holds at most the clients that wrote since the
 * last flush. Flushing as soon as the disk is free splits the clients into
 * alternating half-groups; waiting (bounded) until the clients just
 * acknowledged write again keeps them in one group, doubling writes per
 * fsync.
 */
#include "group_commit.h"

#include "server.h"

/* After chalk_poll: if it released held replies under always, gather. */
void gc_after_poll(int callbacks)
{
    if (callbacks <= 0 || !server.db || server.cfg.appendfsync != FSYNC_ALWAYS)
        return;
    chalk_commit_state st;
    chalk_commit_state_get(server.db, &st);
    struct group_commit *gc = &server.gc;
    gc->completions++;
    gc->released += (uint64_t)callbacks;
    int64_t wait_us = (int64_t)(st.fsync_usec_avg / 2);
    if (wait_us > 2000)
        wait_us = 2000;
    gc->expect = (size_t)callbacks + st.pending_callbacks;
    gc->deadline_us = now_us() + wait_us;
    gc->gathering = wait_us > 0;
}

void gc_flush(void)
{
    if (!server.db)
        return;
    struct group_commit *gc = &server.gc;
    if (server.cfg.appendfsync != FSYNC_ALWAYS) {
        gc->gathering = false;
        chalk_flush(server.db);        /* no/everysec: a cheap write, no pacing */
        return;
    }
    chalk_commit_state st;
    chalk_commit_state_get(server.db, &st);
    if (st.inflight) {                 /* rule 1: its completion decides */
        gc->gathering = false;
        return;
    }
    if (gc->gathering && st.pending_callbacks < gc->expect && now_us() < gc->deadline_us) {
        gc->waits += st.pending_callbacks > 0;   /* rule 3: they are coming back */
        return;
    }
    gc->gathering = false;
    chalk_flush(server.db);
}

int gc_poll_timeout(int timeout_ms)
{
    const struct group_commit *gc = &server.gc;
    if (!gc->gathering)
        return timeout_ms;
    int64_t left_us = gc->deadline_us - now_us();
    int cap = left_us <= 0 ? 0 : (int)((left_us + 999) / 1000);
    return cap < timeout_ms ? cap : timeout_ms;
}

void gc_reset_stats(void)
{
    server.gc.completions = server.gc.released = server.gc.waits = 0;
}
