/*
 * repl_leader.c — the leader's side: who its replicas are, the PSYNC
 * decision, the full-sync transfer, acknowledgements.
 *
 * The one idea: a replica is an ordinary client that said PSYNC. From then
 * on the leader writes the stream into that client's output like any
 * reply, and the replica's only input is "REPLCONF ACK <offset>".
 *
 * A replica's life (functions on the arrows):
 *
 *   client ──leader_replconf──► HANDSHAKE ──leader_psync──┬──► ONLINE
 *   (REPLCONF listening-port,               partial:      │   (stream to its output,
 *    capa)                                  +CONTINUE,    │    REPLCONF ACK every s)
 *                                           backlog bytes │        ▲
 *                                                         ▼        │ leader_tick:
 *                                           full: +FULLRESYNC, snapshot ─► SNAPSHOT
 *                                           stream kept in `pending`   payload done,
 *                                                                      pending sent
 *   any state ──client closes / repl-timeout / output limit──► freed (leader_forget)
 *
 * Rules:
 *  1. A replica receives the payload, then exactly the stream bytes after
 *     the snapshot point, in order: bytes fed while its snapshot is being
 *     sent wait in its `pending` buffer.
 *  2. The snapshot is taken with no unit open (repl_end_unit first), so the
 *     snapshot point is exactly the stream offset announced in +FULLRESYNC.
 *
 * Left out on purpose: diskless vs disk-based choice (always streamed from
 * an engine snapshot, nothing written), repl-diskless-sync-delay (no
 * batching of replicas arriving together: each gets its own snapshot
 * walk), min-replicas-to-write. The cost: N replicas syncing at once cost
 * N walks of the data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "blocking.h"
#include "commands.h"
#include "repl_internal.h"
#include "server.h"
#include "util.h"

#define SNAPSHOT_STEP_BYTES (256 * 1024)       /* per replica per tick */
#define SNAPSHOT_MAX_QUEUED (4 * 1024 * 1024)  /* don't outrun the socket */

enum replica_state { R_HANDSHAKE, R_SNAPSHOT, R_ONLINE };

struct repl_replica {
    struct repl_replica *next;
    client *c;
    enum replica_state state;
    bool closing;                /* closed, waiting to be freed */
    int listening_port;          /* REPLCONF listening-port */
    long long ack_offset;        /* REPLCONF ACK */
    int64_t ack_ms;
    snap_writer snap;            /* R_SNAPSHOT */
    char eofmark[41];
    char *pending;               /* R_SNAPSHOT: stream after the snapshot point */
    size_t plen, pcap;
    int64_t sync_start_ms;
};

static struct repl_replica *find(const client *c)
{
    for (struct repl_replica *r = server.repl->replicas; r; r = r->next)
        if (r->c == c)
            return r;
    return NULL;
}

bool leader_is_replica_client(const client *c)
{
    struct repl_replica *r = find(c);
    return r && r->state != R_HANDSHAKE;
}

static struct repl_replica *find_or_add(client *c)
{
    struct repl_replica *r = find(c);
    if (r)
        return r;
    r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->c = c;
    r->next = server.repl->replicas;
    server.repl->replicas = r;
    return r;
}

/* client_free_now's hook: the client is going; forget it. */
void leader_forget(client *c)
{
    struct repl_state *st = server.repl;
    for (struct repl_replica **p = &st->replicas; *p; p = &(*p)->next) {
        struct repl_replica *r = *p;
        if (r->c != c)
            continue;
        *p = r->next;
        if (r->state != R_HANDSHAKE) {
            st->nreplicas--;
            server_log(LL_NOTICE, "Connection with replica %s lost.", c->addr);
        }
        snapw_free(&r->snap);
        free(r->pending);
        free(r);
        return;
    }
}

static void drop(struct repl_replica *r, const char *why)
{
    if (r->closing)
        return;
    server_log(LL_WARNING, "Closing replica %s: %s", r->c->addr, why);
    r->closing = true;
    client_close_async(r->c);
}

void leader_drop_all_replicas(const char *why)
{
    for (struct repl_replica *r = server.repl->replicas; r; r = r->next)
        if (r->state != R_HANDSHAKE)
            drop(r, why);
}

/* Release every snapshot now (the engine is about to close): drop the
 * replicas still receiving one. */
void leader_drop_syncing_replicas(void)
{
    for (struct repl_replica *r = server.repl->replicas; r; r = r->next)
        if (r->state == R_SNAPSHOT) {
            snapw_free(&r->snap);
            drop(r, "the engine is being reopened during its full sync");
        }
}

/* ---- the stream to each replica ------------------------------------------ */

/* The stream buffered during a full sync counts against the replica
 * class of client-output-buffer-limit (hard limit), as Redis's does. */
static int pending_add(struct repl_replica *r, const char *p, size_t len)
{
    long long hard = server.cfg.obuf[OBUF_REPLICA][OBUF_HARD];
    if (hard > 0 && (long long)(r->plen + len) > hard)
        return -1;
    if (r->plen + len > r->pcap) {
        size_t cap = r->pcap ? r->pcap : 64 * 1024;
        while (cap < r->plen + len)
            cap *= 2;
        char *n = realloc(r->pending, cap);
        if (!n)
            return -1;
        r->pending = n;
        r->pcap = cap;
    }
    memcpy(r->pending + r->plen, p, len);
    r->plen += len;
    return 0;
}

void leader_feed(const char *p, size_t len)
{
    for (struct repl_replica *r = server.repl->replicas; r; r = r->next) {
        if (r->closing || r->state == R_HANDSHAKE)
            continue;
        if (r->state == R_ONLINE)
            reply_raw(r->c, p, len);
        else if (pending_add(r, p, len) < 0)
            drop(r, "the stream buffered during its full sync outgrew the replica output limit");
    }
}

/* ---- REPLCONF ------------------------------------------------------------ */

static void wake_waiters(void);

void leader_replconf(client *c)
{
    if (c->argc % 2 == 0) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    struct repl_replica *r = find_or_add(c);
    if (!r) {
        reply_error(c, "out of memory");
        return;
    }
    for (int i = 1; i < c->argc; i += 2) {
        const resp_arg *opt = &c->argv[i], *val = &c->argv[i + 1];
        long long v;
        if (arg_is(opt, "ack")) {
            if (string_to_ll(val->ptr, val->len, &v) && v > r->ack_offset)
                r->ack_offset = v;
            r->ack_ms = now_ms();
            wake_waiters();
            return;                       /* ACKs are never answered */
        } else if (arg_is(opt, "listening-port")) {
            if (!arg_ll_range(c, val, 0, 65535, NULL, &v))
                return;
            r->listening_port = (int)v;
        } else if (arg_is(opt, "getack")) {
            return;                       /* only a follower answers GETACK */
        } else if (!arg_is(opt, "capa") && !arg_is(opt, "ip-address") &&
                   !arg_is(opt, "rdb-only") && !arg_is(opt, "rdb-filter-only")) {
            reply_errorf(c, "Unrecognized REPLCONF option: %.64s", opt->ptr);
            return;
        }
    }
    reply_ok(c);
}

/* ---- PSYNC: partial or full? --------------------------------------------- */

/* 1 if the follower can continue from `from` (the first byte it lacks) of
 * history `replid`, 0 if not; `why` says which rule decided. */
static int can_continue(const char *replid, long long from, char *why, size_t wl)
{
    struct repl_state *st = server.repl;
    bool main_id = strcasecmp(replid, st->replid) == 0;
    bool old_id = st->second_offset > 0 && strcasecmp(replid, st->replid2) == 0;
    if (strcmp(replid, "?") == 0)
        return snprintf(why, wl, "full: the follower asked for one (PSYNC ? -1)"), 0;
    if (!main_id && !old_id)
        return snprintf(why, wl, "full: replid mismatch (follower has %.40s, ours %s, previous %s)",
                        replid, st->replid, st->replid2), 0;
    if (old_id && from > st->second_offset)
        return snprintf(why, wl, "full: offset %lld is past where our previous history %s "
                        "ended (%lld)", from, st->replid2, st->second_offset), 0;
    if (!st->backlog)
        return snprintf(why, wl, "full: no backlog yet"), 0;
    long long first = backlog_first_offset(st->backlog);
    if (from < first || from > st->backlog->end_offset + 1)
        return snprintf(why, wl, "full: offset %lld outside the backlog window [%lld, %lld]",
                        from, first, st->backlog->end_offset + 1), 0;
    snprintf(why, wl, "partial: offset %lld inside the backlog window [%lld, %lld]%s", from,
             first, st->backlog->end_offset + 1, old_id ? " (previous replid)" : "");
    return 1;
}

static void send_piece(void *arg, const char *p, size_t len) { reply_raw(arg, p, len); }

static void start_partial(struct repl_replica *r, long long from)
{
    char line[80];
    int n = snprintf(line, sizeof line, "+CONTINUE %s\r\n", server.repl->replid);
    reply_raw(r->c, line, (size_t)n);
    backlog_copy_from(server.repl->backlog, from, send_piece, r->c);
    r->state = R_ONLINE;
    r->ack_ms = now_ms();
    server.repl->nreplicas++;
    server.repl->sync_partial_ok++;
}

static int start_full(struct repl_replica *r, bool is_sync)
{
    struct repl_state *st = server.repl;
    repl_end_unit();                          /* rule 2: snapshot point = offset */
    if (stream_ensure_backlog() < 0)
        return -1;
    char line[128];
    if (!is_sync) {
        int n = snprintf(line, sizeof line, "+FULLRESYNC %s %lld\r\n", st->replid, st->offset);
        reply_raw(r->c, line, (size_t)n);
    }
    repl_new_replid(r->eofmark);
    int n = snprintf(line, sizeof line, "$EOF:%s\r\n", r->eofmark);
    reply_raw(r->c, line, (size_t)n);
    if (snapw_begin(&r->snap, r->c) != CHALK_OK)
        return -1;
    r->state = R_SNAPSHOT;
    r->sync_start_ms = now_ms();
    r->ack_offset = 0;
    r->ack_ms = now_ms();
    st->nreplicas++;
    st->sync_full++;
    server_log(LL_NOTICE, "Starting full sync of replica %s at offset %lld (snapshot streamed "
               "from the engine, EOF-marked)", r->c->addr, st->offset);
    long long hard = server.cfg.obuf[OBUF_REPLICA][OBUF_HARD];
    if (hard > 0 && hard < server.cfg.repl_backlog_size)
        server_log(LL_WARNING, "WARNING: the replica output buffer hard limit (%lld bytes) is "
                   "smaller than repl-backlog-size (%lld): a replica that falls behind is cut "
                   "before the backlog runs out, and comes back for another full sync (a known "
                   "cause of full-resync loops)", hard, server.cfg.repl_backlog_size);
    return 0;
}

/* PSYNC replid offset | SYNC */
void leader_psync(client *c, bool is_sync)
{
    struct repl_state *st = server.repl;
    if (st->link != LINK_NONE && st->link != LINK_CONNECTED) {
        reply_error(c, "-NOMASTERLINK Can't SYNC while not connected with my master");
        return;
    }
    struct repl_replica *r = find_or_add(c);
    if (!r || r->state != R_HANDSHAKE) {
        if (r)
            reply_error(c, "replica already syncing");
        else
            reply_error(c, "out of memory");
        return;
    }
    long long from = -1;
    const char *replid = is_sync ? "?" : c->argv[1].ptr;
    if (!is_sync && !string_to_ll(c->argv[2].ptr, c->argv[2].len, &from))
        from = -1;
    char why[sizeof st->last_psync_decision];
    if (is_sync)
        snprintf(why, sizeof why, "full: SYNC (an old protocol or redis-cli --replica)");
    if (!is_sync && can_continue(replid, from, why, sizeof why)) {
        snprintf(st->last_psync_decision, sizeof st->last_psync_decision, "%s", why);
        server_log(LL_NOTICE, "Replica %s asks for synchronization: %s. Partial resync accepted, "
                   "sending %lld bytes of backlog.", c->addr, why, st->backlog->end_offset + 1 - from);
        start_partial(r, from);
        return;
    }
    snprintf(st->last_psync_decision, sizeof st->last_psync_decision, "%s", why);
    server_log(LL_NOTICE, "Replica %s asks for synchronization: %s", c->addr, why);
    if (!is_sync && strcmp(replid, "?") != 0)
        st->sync_partial_err++;
    if (start_full(r, is_sync) < 0) {
        reply_error(c, "out of memory starting the full sync");
        c->flags |= CLIENT_CLOSE_AFTER_REPLY;
    }
}

/* ---- every loop iteration: push snapshots a step further ---------------- */

static void snapshot_step(struct repl_replica *r)
{
    if (r->c->reply_bytes > SNAPSHOT_MAX_QUEUED)
        return;                                    /* let the socket drain */
    int rc = snapw_step(&r->snap, r->c, SNAPSHOT_STEP_BYTES);
    if (rc < 0) {
        drop(r, chalk_strerror(rc));
        return;
    }
    if (rc == 0)
        return;
    reply_raw(r->c, r->eofmark, 40);
    if (r->plen)
        reply_raw(r->c, r->pending, r->plen);      /* rule 1 */
    server_log(LL_NOTICE, "Synchronization with replica %s succeeded: %llu records in %lld ms, "
               "then %zu bytes of stream buffered meanwhile", r->c->addr,
               (unsigned long long)r->snap.records, (long long)(now_ms() - r->sync_start_ms), r->plen);
    free(r->pending);
    r->pending = NULL;
    r->plen = r->pcap = 0;
    snapw_free(&r->snap);
    r->state = R_ONLINE;
}

void leader_tick(void)
{
    for (struct repl_replica *r = server.repl->replicas; r; r = r->next)
        if (r->state == R_SNAPSHOT && !r->closing)
            snapshot_step(r);
}

/* ---- every tick of the cron --------------------------------------------- */

void leader_cron(int64_t now)
{
    struct repl_state *st = server.repl;
    /* A leader with replicas pings in the stream, so that followers can
     * tell an idle leader from a dead one (their repl-timeout). A follower
     * forwards its leader's pings instead of making its own. */
    if (st->link == LINK_NONE && st->nreplicas > 0 &&
        now - st->last_ping_ms >= server.cfg.repl_ping_replica_period * 1000) {
        st->last_ping_ms = now;
        repl_end_unit();
        stream_feed_bytes("*1\r\n$4\r\nPING\r\n", 14);
    }
    for (struct repl_replica *r = st->replicas; r; r = r->next)
        if (r->state == R_ONLINE && !r->closing && now - r->ack_ms > server.cfg.repl_timeout * 1000)
            drop(r, "timeout (no REPLCONF ACK within repl-timeout)");
}

int leader_count_acked(long long offset)
{
    int n = 0;
    for (struct repl_replica *r = server.repl->replicas; r; r = r->next)
        if (r->state == R_ONLINE && !r->closing && r->ack_offset >= offset)
            n++;
    return n;
}

void leader_send_getack(void)
{
    static const char getack[] = "*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n";
    if (server.repl->nreplicas > 0 && server.repl->link == LINK_NONE)
        stream_feed_bytes(getack, sizeof getack - 1);
}

/* ---- WAIT ---------------------------------------------------------------- */

struct repl_waiter {
    struct repl_waiter *next;
    client *c;
    long long target;            /* offset the replicas must acknowledge */
    long numreplicas;
};

static void wake_waiters(void)
{
    for (struct repl_waiter *w = server.repl->waiters; w; w = w->next)
        if (leader_count_acked(w->target) >= w->numreplicas)
            client_make_ready(w->c);
}

static struct repl_waiter **waiter_of(const client *c)
{
    struct repl_waiter **p = &server.repl->waiters;
    while (*p && (*p)->c != c)
        p = &(*p)->next;
    return p;
}

void leader_forget_waiter(client *c)
{
    struct repl_waiter **p = waiter_of(c);
    if (*p) {
        struct repl_waiter *w = *p;
        *p = w->next;
        free(w);
    }
}

/* @interview(overview.consensus): Is WAIT synchronous replication, or
 * consensus? Neither quite: WAIT n blocks the client until n replicas
 * acknowledged its writes, so an acknowledged write survives the loss of
 * the leader if a replica that has it is promoted. But the write was
 * applied on the leader before WAIT, other clients already saw it, a
 * timeout does not roll it back, and nothing stops two nodes from both
 * acting as leader after a partition (split brain). Consensus (Raft,
 * Paxos) adds terms/epochs, majority quorums for election and commit, and
 * log truncation of the loser; Sentinel adds failure detection and
 * promotion by a quorum of observers, still with asynchronous data. */
void leader_wait(client *c, long numreplicas, long long timeout_ms)
{
    struct repl_waiter **p = waiter_of(c);
    if (!*p) {
        repl_end_unit();
        struct repl_waiter *w = calloc(1, sizeof *w);
        if (!w) {
            reply_error(c, "out of memory");
            return;
        }
        w->c = c;
        w->target = server.repl->offset;
        w->numreplicas = numreplicas;
        *p = w;
        if (leader_count_acked(w->target) < numreplicas)
            leader_send_getack();          /* ask now rather than wait a second */
    }
    int acked = leader_count_acked((*p)->target);
    if (acked < numreplicas && blocking_wait(c, timeout_ms))
        return;                            /* runs again when woken or each tick */
    blocking_done(c);
    leader_forget_waiter(c);
    reply_long(c, acked);
}

/* ---- INFO / ROLE --------------------------------------------------------- */

static const char *state_name(const struct repl_replica *r)
{
    return r->state == R_ONLINE ? "online" : "send_bulk";
}

size_t leader_info(char *out, size_t cap)
{
    size_t off = 0;
    int i = 0;
    int64_t now = now_ms();
    off += (size_t)snprintf(out, cap, "connected_slaves:%d\r\n", server.repl->nreplicas);
    for (struct repl_replica *r = server.repl->replicas; r && off < cap; r = r->next) {
        if (r->state == R_HANDSHAKE)
            continue;
        char ip[64];
        snprintf(ip, sizeof ip, "%s", r->c->addr);
        char *colon = strrchr(ip, ':');
        if (colon)
            *colon = '\0';
        off += (size_t)snprintf(out + off, cap - off,
                                "slave%d:ip=%s,port=%d,state=%s,offset=%lld,lag=%lld\r\n", i++, ip,
                                r->listening_port, state_name(r), r->ack_offset,
                                (long long)((now - r->ack_ms) / 1000));
    }
    return off < cap ? off : cap - 1;
}

void leader_role(client *c)
{
    reply_array(c, 3);
    reply_bulk_cstr(c, "master");
    reply_long(c, server.repl->offset);
    reply_array(c, server.repl->nreplicas);
    for (struct repl_replica *r = server.repl->replicas; r; r = r->next) {
        if (r->state == R_HANDSHAKE)
            continue;
        char ip[64];
        snprintf(ip, sizeof ip, "%s", r->c->addr);
        char *colon = strrchr(ip, ':');
        if (colon)
            *colon = '\0';
        reply_array(c, 3);
        reply_bulk_cstr(c, ip);
        reply_bulk_long(c, r->listening_port);
        reply_bulk_long(c, r->ack_offset);
    }
}

void leader_shutdown(void)
{
    while (server.repl->replicas)
        leader_forget(server.repl->replicas->c);
    while (server.repl->waiters)
        leader_forget_waiter(server.repl->waiters->c);
}
