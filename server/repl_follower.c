/*
 * repl_follower.c — the follower's side: REPLICAOF, the handshake with the
 * leader, loading a full sync, the link that carries the stream, and
 * reconnecting when it breaks.
 *
 * The one idea: everything that may block (connect, the handshake's
 * request/reply steps, receiving a snapshot of any size) runs on a short-
 * lived thread with blocking sockets and timeouts (repl_handshake.c), so
 * the event loop never waits on the leader. The thread touches no server state: it gets a
 * copy of what it needs (struct repl_handshake) and leaves its result
 * there. The main thread then loads the snapshot (if any) and turns the
 * socket into an ordinary client whose commands are the stream.
 *
 * The link state machine (functions on the arrows):
 *
 *   LINK_NONE ──follower_start (REPLICAOF host port)──► LINK_CONNECT
 *       ▲                                                 │ follower_tick: time to try
 *       │ follower_stop                                   ▼ (backoff 100 ms .. 5 s)
 *       │ (REPLICAOF NO ONE)                          LINK_HANDSHAKE
 *       │                                  hs_thread: connect, PING, [AUTH],
 *       │                                  REPLCONF listening-port, REPLCONF capa
 *       │                                  eof psync2, PSYNC <replid> <offset+1>
 *       │                                       │ +CONTINUE         │ +FULLRESYNC id off
 *       │                                       │                   ▼ snap_receive into
 *       │                                       │              repl-sync.tmp, verify
 *       │                   follower_tick ◄─────┴───────────────────┘ (or error ─► CONNECT)
 *       │                   (full: snap_load_file, new replid; continue: keep data)
 *       │                                       ▼
 *       └───────────────────────────────── LINK_CONNECTED ── stream ─► repl_master_command
 *                                               │ link closed, repl-timeout, CLIENT KILL
 *                                               ▼ follower_forget
 *                                          LINK_CONNECT
 *
 * Durable position: the follower writes "<replid> <offset>" to
 * <dir>/repl-state once a second, but only after an empty engine write
 * queued behind everything applied so far has completed (its callback),
 * so the file never claims more than the log holds. Only a follower keeps
 * it: a promotion or a start as a leader removes it, since the data then
 * leaves that history. After a crash the
 * follower asks to continue from that offset; bytes it applied after it
 * are applied again, which is harmless because CHALK.APPLY ops are
 * absolute (see repl_stream.c).
 *
 * Left out on purpose: TLS, replica-announce-ip, serving reads during a
 * full sync's load (-LOADING); a load blocks the loop (a few hundred ms per
 * million keys). A crash in the middle of a load leaves no repl-state
 * (removed first), so the restarted follower does a full sync again.
 *
 * @interview(repl.replication): Can I read my own writes from a replica?
 * Not by default: replication is asynchronous, so a replica may be behind
 * the leader by its lag (INFO: master_repl_offset vs slave offsets). Read-
 * your-writes needs either reading from the leader, WAIT 1 before reading
 * from a replica that acknowledged, or a client that remembers the offset
 * of its write and reads from a replica whose offset is at least that.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "commands.h"
#include "loop.h"
#include "repl_internal.h"
#include "server.h"

/* ---- the durable position (repl-state) ---------------------------------- */

struct saved_pos {
    char replid[41];
    long long offset;
};

static void state_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", server.cfg.dir, name);
}

static void write_state_file(const char *replid, long long offset)
{
    char path[4200], tmp[4200];
    state_path(path, sizeof path, "repl-state");
    state_path(tmp, sizeof tmp, "repl-state.tmp");
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    int ok = fprintf(f, "chalk-repl-state 1 %s %lld\n", replid, offset) > 0;
    ok &= fclose(f) == 0;
    if (ok && rename(tmp, path) == 0)
        return;
    server_log(LL_WARNING, "Replication: could not write %s: %s", path, strerror(errno));
}

/* The engine calls this once everything written before the empty batch is
 * as durable as appendfsync promises: only now may the file claim it. */
static void state_durable(void *arg, int status)
{
    struct saved_pos *p = arg;
    /* Only a follower's position means anything: once promoted (or shut
     * down, see follower_shutdown) the data leaves that history. */
    if (status == CHALK_OK && server.repl && server.repl->link != LINK_NONE)
        write_state_file(p->replid, p->offset);
    free(p);
}

void follower_save_state(void)
{
    struct repl_state *st = server.repl;
    if (!server.db || st->saved_offset == st->offset)
        return;
    struct saved_pos *p = malloc(sizeof *p);
    chalk_batch *empty = chalk_batch_new();
    if (p && empty) {
        memcpy(p->replid, st->replid, sizeof p->replid);
        p->offset = st->offset;
        if (chalk_write(server.db, empty, state_durable, p) == CHALK_OK) {
            st->saved_offset = st->offset;
            p = NULL;
        }
    }
    free(p);
    chalk_batch_free(empty);
}

/* At start-up: the history this data set belongs to, if it has one. */
static void load_state_file(void)
{
    char path[4200], replid[41];
    long long offset;
    state_path(path, sizeof path, "repl-state");
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (fscanf(f, "chalk-repl-state 1 %40s %lld", replid, &offset) == 2 && strlen(replid) == 40) {
        memcpy(server.repl->replid, replid, sizeof replid);
        server.repl->offset = server.repl->saved_offset = offset;
        server_log(LL_NOTICE, "Replication position restored from repl-state: replid %s offset %lld",
                   replid, offset);
    }
    fclose(f);
}

/* ---- starting and stopping ----------------------------------------------- */

static void abandon_handshake(void)
{
    struct repl_handshake *h = server.repl->hs;
    if (!h)
        return;
    server.repl->hs = NULL;
    if (atomic_exchange(&h->phase, HS_ABANDONED) == HS_DONE) {
        if (h->result == HS_FULL)
            unlink(h->tmp_path);
        hs_free(h);
    }
}

int follower_start(const char *host, int port)
{
    struct repl_state *st = server.repl;
    follower_stop();
    repl_end_unit();
    snprintf(st->master_host, sizeof st->master_host, "%s", host);
    st->master_port = port;
    /* Our replicas followed our old history; they must resync with us
     * once we have joined the new one. */
    leader_drop_all_replicas("this server became a replica of another");
    st->link = LINK_CONNECT;
    st->next_attempt_ms = now_ms();
    st->backoff_ms = 100;
    st->link_down_since_ms = now_ms();
    server_log(LL_NOTICE, "Connecting to MASTER %s:%d", host, port);
    return 0;
}

/* REPLICAOF NO ONE, or a new REPLICAOF: leave the current leader. */
void follower_stop(void)
{
    struct repl_state *st = server.repl;
    if (st->link == LINK_NONE)
        return;
    abandon_handshake();
    st->link = LINK_NONE;
    if (st->master)
        client_close_async(st->master);
}

/* A leader's data moves on from the history it followed: a repl-state
 * left behind would let a restart claim a position its data no longer
 * matches. */
void follower_forget_position(void)
{
    char path[4200];
    state_path(path, sizeof path, "repl-state");
    unlink(path);
}

void follower_forget(client *c)
{
    struct repl_state *st = server.repl;
    if (c != st->master)
        return;
    st->master = NULL;
    follower_save_state();
    if (st->link != LINK_CONNECTED)
        return;
    server_log(LL_WARNING, "Connection with master lost; reconnecting in %lld ms",
               (long long)st->backoff_ms);
    st->link = LINK_CONNECT;
    st->link_down_since_ms = now_ms();
    st->next_attempt_ms = now_ms() + st->backoff_ms;
}

static void spawn_handshake(void)
{
    struct repl_state *st = server.repl;
    struct repl_handshake *h = calloc(1, sizeof *h);
    if (!h)
        return;
    h->fd = -1;
    snprintf(h->host, sizeof h->host, "%s", st->master_host);
    h->port = st->master_port;
    h->my_port = (int)server.cfg.port;
    h->timeout_ms = (int)server.cfg.repl_timeout * 1000;
    snprintf(h->user, sizeof h->user, "%s", server.cfg.masteruser);
    snprintf(h->pass, sizeof h->pass, "%s", server.cfg.masterauth);
    memcpy(h->replid, st->replid, sizeof h->replid);
    h->want = st->offset > 0 ? st->offset + 1 : -1;
    state_path(h->tmp_path, sizeof h->tmp_path, "repl-sync.tmp");
    atomic_init(&h->phase, HS_RUNNING);
    if (pthread_create(&h->tid, NULL, hs_thread, h) != 0) {
        free(h);
        return;
    }
    pthread_detach(h->tid);
    st->hs = h;
    st->link = LINK_HANDSHAKE;
    server_log(LL_NOTICE, "MASTER <-> REPLICA sync started: PSYNC %s %lld",
               h->want < 0 ? "?" : h->replid, h->want);
}

/* ---- the handshake's result ---------------------------------------------- */

/* The socket becomes a client; bytes the thread read past the payload are
 * the stream's first bytes and go into its query buffer before the loop
 * owns it (an io_uring receive may not race with our copy). */
static int link_up(struct repl_handshake *h)
{
    struct repl_state *st = server.repl;
    int fl = fcntl(h->fd, F_GETFL);
    fcntl(h->fd, F_SETFL, fl | O_NONBLOCK);
    int yes = 1;
    setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
    client *c = client_create(h->fd, 0);
    if (!c)
        return -1;
    h->fd = -1;
    c->authenticated = true;
    st->master = c;
    st->link = LINK_CONNECTED;
    st->last_io_ms = st->last_ack_ms = now_ms();
    st->backoff_ms = 100;
    while (h->bpos < h->blen) {
        char *buf;
        size_t room;
        if (client_read_space(c, &buf, &room) < 0)
            break;
        size_t n = h->blen - h->bpos < room ? h->blen - h->bpos : room;
        memcpy(buf, h->buf + h->bpos, n);
        c->qlen += n;
        h->bpos += n;
    }
    client_process_input(c);
    if (server.io->add_client(server.loop, c) < 0) {
        client_close_async(c);
        return -1;
    }
    return 0;
}

static int finish_full(struct repl_handshake *h)
{
    struct repl_state *st = server.repl;
    char path[4200];
    state_path(path, sizeof path, "repl-state");
    unlink(path);                       /* a crash mid-load must not claim a position */
    server_log(LL_NOTICE, "MASTER <-> REPLICA sync: payload verified (%llu records); flushing the "
               "old data and loading it", (unsigned long long)h->records);
    int64_t t0 = now_ms();
    int rc = snap_load_file(h->tmp_path, &st->load_keys);
    unlink(h->tmp_path);
    if (rc != CHALK_OK) {
        server_log(LL_WARNING, "MASTER <-> REPLICA sync: loading failed: %s", chalk_strerror(rc));
        return -1;
    }
    memcpy(st->replid, h->new_replid, sizeof st->replid);
    memset(st->replid2, '0', 40);
    st->second_offset = -1;
    st->offset = h->new_offset;
    backlog_free(st->backlog);
    st->backlog = NULL;
    stream_ensure_backlog();
    leader_drop_all_replicas("this server loaded a new data set");
    st->saved_offset = -1;
    server_log(LL_NOTICE, "MASTER <-> REPLICA sync: finished with success (%llu records loaded in "
               "%lld ms, replid %s offset %lld)", (unsigned long long)st->load_keys,
               (long long)(now_ms() - t0), st->replid, st->offset);
    return 0;
}

static void finish_continue(struct repl_handshake *h)
{
    struct repl_state *st = server.repl;
    if (h->new_replid[0] && strcmp(h->new_replid, st->replid) != 0) {
        /* The leader's history got a new id (it was promoted): ours so far
         * stays valid under the old id, for our own replicas (PSYNC2). */
        memcpy(st->replid2, st->replid, sizeof st->replid2);
        st->second_offset = st->offset + 1;
        memcpy(st->replid, h->new_replid, sizeof st->replid);
        leader_drop_all_replicas("the leader's replication id changed");
    }
    stream_ensure_backlog();
    server_log(LL_NOTICE, "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization "
               "from offset %lld.", st->offset + 1);
}

static void handshake_done(struct repl_handshake *h)
{
    struct repl_state *st = server.repl;
    int rc = -1;
    if (h->result == HS_ERROR)
        server_log(LL_WARNING, "MASTER <-> REPLICA sync failed: %s", h->err);
    else if (h->result == HS_FULL)
        rc = finish_full(h);
    else {
        finish_continue(h);
        rc = 0;
    }
    if (rc == 0 && link_up(h) == 0) {
        follower_save_state();
        return;
    }
    st->link = LINK_CONNECT;
    st->next_attempt_ms = now_ms() + st->backoff_ms;
    st->backoff_ms = st->backoff_ms * 2 > 5000 ? 5000 : st->backoff_ms * 2;
}

void follower_tick(void)
{
    struct repl_state *st = server.repl;
    if (st->link == LINK_CONNECT && now_ms() >= st->next_attempt_ms && server.db)
        spawn_handshake();
    struct repl_handshake *h = st->hs;
    if (st->link == LINK_HANDSHAKE && h && atomic_load(&h->phase) == HS_DONE) {
        st->hs = NULL;
        handshake_done(h);
        if (h->result == HS_FULL)
            unlink(h->tmp_path);
        hs_free(h);
    }
}

void follower_cron(int64_t now)
{
    struct repl_state *st = server.repl;
    follower_tick();
    if (st->link != LINK_CONNECTED || !st->master)
        return;
    if (now - st->last_io_ms > server.cfg.repl_timeout * 1000) {
        server_log(LL_WARNING, "MASTER timeout: no data nor PING received for %lld s",
                   server.cfg.repl_timeout);
        client_close_async(st->master);
        return;
    }
    if (now - st->last_ack_ms >= 1000) {
        char ack[96], num[24];
        int d = snprintf(num, sizeof num, "%lld", st->offset);
        int n = snprintf(ack, sizeof ack, "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$%d\r\n%s\r\n", d, num);
        reply_raw(st->master, ack, (size_t)n);
        st->last_ack_ms = now;
        follower_save_state();
    }
}

/* ---- INFO / ROLE ---------------------------------------------------------- */

size_t follower_info(char *out, size_t cap)
{
    struct repl_state *st = server.repl;
    int64_t now = now_ms();
    bool up = st->link == LINK_CONNECTED;
    int n = snprintf(out, cap,
                     "role:slave\r\nmaster_host:%s\r\nmaster_port:%d\r\nmaster_link_status:%s\r\n"
                     "master_last_io_seconds_ago:%lld\r\nmaster_sync_in_progress:%d\r\n"
                     "slave_read_repl_offset:%lld\r\nslave_repl_offset:%lld\r\n",
                     st->master_host, st->master_port, up ? "up" : "down",
                     up ? (long long)((now - st->last_io_ms) / 1000) : -1LL,
                     st->link == LINK_HANDSHAKE, st->offset, st->offset);
    if (!up && n >= 0 && (size_t)n < cap)
        n += snprintf(out + n, cap - (size_t)n, "master_link_down_since_seconds:%lld\r\n",
                      (long long)((now - st->link_down_since_ms) / 1000));
    if (n >= 0 && (size_t)n < cap)
        n += snprintf(out + n, cap - (size_t)n, "slave_priority:100\r\nslave_read_only:%d\r\n"
                      "replica_announced:1\r\n", server.cfg.replica_read_only ? 1 : 0);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

void follower_role(client *c)
{
    struct repl_state *st = server.repl;
    static const char *const names[] = {"none", "connect", "sync", "connected"};
    reply_array(c, 5);
    reply_bulk_cstr(c, "slave");
    reply_bulk_cstr(c, st->master_host);
    reply_long(c, st->master_port);
    reply_bulk_cstr(c, names[st->link]);
    reply_long(c, st->offset);
}

/* ---- start-up and shutdown ------------------------------------------------ */

int follower_init(void)
{
    const char *spec = server.cfg.replicaof;
    if (!spec || !spec[0]) {
        follower_forget_position();       /* started as a leader */
        return 0;
    }
    load_state_file();
    char host[256];
    int port;
    if (sscanf(spec, "%255s %d", host, &port) != 2 || port <= 0 || port > 65535) {
        server_log(LL_WARNING, "Bad replicaof '%s': expected 'host port'", spec);
        return -1;
    }
    return follower_start(host, port);
}

void follower_shutdown(void)
{
    struct repl_state *st = server.repl;
    abandon_handshake();
    if (server.db && st->link != LINK_NONE && chalk_sync(server.db) == CHALK_OK)
        write_state_file(st->replid, st->offset);
}
