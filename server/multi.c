/*
 * multi.c — transactions the Redis way: MULTI queues commands, EXEC runs
 * them all at once as ONE engine batch, WATCH makes EXEC conditional on
 * keys nobody touched (optimistic locking), DISCARD / UNWATCH give up.
 *
 * The one idea: with one command thread, "atomic and isolated" is free —
 * EXEC runs its queue without letting any other client in between. What
 * is left to build is (1) durability and crash atomicity: EXEC opens an
 * engine atomic group (chalk_group_begin/end, engine/txn.c), so its writes
 * are framed in the log as ONE batch with ONE commit record and recovery
 * applies all of them or none; and (2) the check-and-set: WATCH.
 *
 * Per-client state machine (c->mstate->flags):
 *
 *            WATCH k (watch_command)          any write to k, by anyone,
 *   ┌──────┐ ─────────────────────▶ ┌────────┐ expiry, FLUSH (multi_touch_batch)
 *   │ idle │                        │watching│ ───────▶ MS_DIRTY_CAS set
 *   └──────┘ ◀── UNWATCH / EXEC ─── └────────┘
 *      │ MULTI (multi_command)          │ MULTI
 *      ▼                                ▼
 *   ┌────────────────────────────────────────┐  unknown cmd, bad arity,
 *   │ queueing: cmd → +QUEUED (multi_queue)   │─ refused → MS_DIRTY_EXEC
 *   └────────────────────────────────────────┘
 *      │ EXEC (exec_command)                 │ DISCARD (discard_command)
 *      ▼                                     ▼
 *   DIRTY_EXEC → -EXECABORT; DIRTY_CAS or a watched key expired → null
 *   array; else run the queue in one group → array of replies. All three
 *   end in idle with nothing watched.
 *
 * The watched-keys table: main engine key ([db]['k'][key], keyspace.h) →
 * the clients watching it. server_write calls multi_touch_batch after every
 * write, and every write passes there (commands, active and lazy expiry,
 * FLUSHDB/FLUSHALL, RENAME...), so "modified" needs no per-command code. A
 * composite sub-record ([db][kind][u32 klen][key]..., composite.h) maps to
 * its main key, so HSET/LPUSH/SADD/ZADD touch the key like SET does.
 *
 * Left out on purpose, and what it costs:
 *   - rollback: a command that fails inside EXEC (WRONGTYPE...) leaves the
 *     others applied, as in Redis: docs/transactions.md says why.
 *   - CLIENT PAUSE does not look inside a queue; a blocking command in EXEC
 *     must check multi_in_exec() (the datatypes code owns blocking).
 *   - the table never shrinks its bucket array.
 *   - touches are by name, not by version: the background reap of a deleted
 *     collection's sub-records (cp_reap) touches its key's name, so a WATCH
 *     on a new key of that name can fail once needlessly. Safe (one more
 *     retry); a per-key version would be exact but needs the engine's seq
 *     of every composite write (chalk_txn does use versions, engine/txn.c).
 *
 * @interview(tx.isolation): Which isolation level does Chalk give, and what
 * would weaker ones allow? Serializable, by construction: one thread runs
 * every command and every EXEC to completion, so transactions never
 * interleave (Redis's model; VoltDB's too). Read committed would allow
 * non-repeatable reads and lost updates between two clients' GET/SET
 * pairs; repeatable read (snapshot) still allows write skew. WATCH is what
 * turns a client's read-then-EXEC into a serializable read-modify-write.
 */
#include "multi.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "composite.h"
#include "keyspace.h"

enum {
    MS_MULTI      = 1 << 0,   /* between MULTI and EXEC/DISCARD */
    MS_DIRTY_CAS  = 1 << 1,   /* a watched key was touched: EXEC fails */
    MS_DIRTY_EXEC = 1 << 2,   /* a command was refused while queueing */
};

/* One watched key, shared by every client watching it. */
typedef struct watched_key {
    struct watched_key *next;     /* hash chain */
    uint64_t hash;
    client **clients;             /* who watches it */
    int nclients, cap;
    size_t len;
    char key[];                   /* main engine key: [db]['k'][Redis key] */
} watched_key;

typedef struct queued_cmd {
    struct command *cmd;
    int argc;
    resp_arg *argv;               /* deep copies */
} queued_cmd;

typedef struct watch_ref {
    watched_key *wk;
    bool live;                    /* existed, unexpired, at WATCH time */
} watch_ref;

struct multi_state {
    uint32_t flags;               /* MS_* */
    queued_cmd *q;
    int nq, qcap;
    watch_ref *w;
    int nw, wcap;
};

/* The server's share (server.multi). */
struct multi_shared {
    watched_key **buckets;
    size_t nbuckets, nkeys;
    client *exec_client;          /* whose EXEC is running, or NULL */
    chalk_batch *empty;           /* carries EXEC's durability callback */
};

static struct multi_shared *shared(void)
{
    if (!server.multi)
        server.multi = calloc(1, sizeof *server.multi);
    return server.multi;
}

static struct multi_state *state_of(client *c)
{
    if (!c->mstate)
        c->mstate = calloc(1, sizeof *c->mstate);
    return c->mstate;
}

static bool grow(void **v, int *cap, int n, size_t elem)
{
    if (n < *cap)
        return true;
    int ncap = *cap ? 2 * *cap : 4;
    void *nv = realloc(*v, (size_t)ncap * elem);
    if (!nv)
        return false;
    *v = nv;
    *cap = ncap;
    return true;
}

/* ---- the watched-keys table -------------------------------------------- */

static uint64_t key_hash(const void *p, size_t len)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull;          /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

static watched_key *table_find(const void *key, size_t len, uint64_t h)
{
    struct multi_shared *ms = server.multi;
    if (!ms || !ms->nkeys)
        return NULL;
    for (watched_key *wk = ms->buckets[h & (ms->nbuckets - 1)]; wk; wk = wk->next)
        if (wk->hash == h && wk->len == len && memcmp(wk->key, key, len) == 0)
            return wk;
    return NULL;
}

static bool table_grow(struct multi_shared *ms)
{
    size_t n = ms->nbuckets ? 2 * ms->nbuckets : 64;
    watched_key **nb = calloc(n, sizeof *nb);
    if (!nb)
        return ms->nbuckets != 0;                 /* keep the old array */
    for (size_t i = 0; i < ms->nbuckets; i++)
        for (watched_key *wk = ms->buckets[i], *next; wk; wk = next) {
            next = wk->next;
            wk->next = nb[wk->hash & (n - 1)];
            nb[wk->hash & (n - 1)] = wk;
        }
    free(ms->buckets);
    ms->buckets = nb;
    ms->nbuckets = n;
    return true;
}

static watched_key *table_add(const void *key, size_t len, uint64_t h)
{
    struct multi_shared *ms = shared();
    if (!ms || ((ms->nkeys >= ms->nbuckets) && !table_grow(ms)))
        return NULL;
    watched_key *wk = calloc(1, sizeof *wk + len);
    if (!wk)
        return NULL;
    wk->hash = h;
    wk->len = len;
    memcpy(wk->key, key, len);
    wk->next = ms->buckets[h & (ms->nbuckets - 1)];
    ms->buckets[h & (ms->nbuckets - 1)] = wk;
    ms->nkeys++;
    return wk;
}

static void table_remove(watched_key *wk)
{
    struct multi_shared *ms = server.multi;
    watched_key **pp = &ms->buckets[wk->hash & (ms->nbuckets - 1)];
    while (*pp != wk)
        pp = &(*pp)->next;
    *pp = wk->next;
    ms->nkeys--;
    free(wk->clients);
    free(wk);
}

/* The table's invariants, checked in debug builds after every change:
 *   1. nkeys is the number of entries, and no entry has zero clients;
 *   2. client c is in entry wk's list iff wk is in c's watch list, once;
 *   3. an entry sits in the bucket of its hash.
 * Returns 0, or the number of the first invariant broken. O(watches). */
int multi_check_invariants(void)
{
    struct multi_shared *sh = server.multi;
    size_t n = 0;
    for (size_t b = 0; sh && b < sh->nbuckets; b++)
        for (watched_key *wk = sh->buckets[b]; wk; wk = wk->next, n++) {
            if (wk->nclients <= 0)
                return 1;
            if ((wk->hash & (sh->nbuckets - 1)) != b)
                return 3;
            for (int i = 0; i < wk->nclients; i++) {
                const struct multi_state *ms = wk->clients[i]->mstate;
                int refs = 0;
                for (int j = 0; ms && j < ms->nw; j++)
                    refs += ms->w[j].wk == wk;
                if (refs != 1)
                    return 2;
            }
        }
    return sh && n != sh->nkeys ? 1 : 0;
}

/* ---- WATCH / UNWATCH --------------------------------------------------- */

static void unwatch_all(client *c)
{
    struct multi_state *ms = c->mstate;
    if (!ms)
        return;
    for (int i = 0; i < ms->nw; i++) {
        watched_key *wk = ms->w[i].wk;
        for (int j = 0; j < wk->nclients; j++)
            if (wk->clients[j] == c) {
                wk->clients[j] = wk->clients[--wk->nclients];
                break;
            }
        if (wk->nclients == 0)
            table_remove(wk);
    }
    ms->nw = 0;
    ms->flags &= ~(uint32_t)MS_DIRTY_CAS;
    assert(multi_check_invariants() == 0);
}

/* Watch one main engine key. false on ENOMEM. */
static bool watch_key(client *c, struct multi_state *ms, const ks_buf *ek)
{
    uint64_t h = key_hash(ek->p, ek->len);
    watched_key *wk = table_find(ek->p, ek->len, h);
    for (int i = 0; wk && i < ms->nw; i++)
        if (ms->w[i].wk == wk)
            return true;                          /* already watched */
    if (!grow((void **)&ms->w, &ms->wcap, ms->nw, sizeof *ms->w))
        return false;
    if (!wk && !(wk = table_add(ek->p, ek->len, h)))
        return false;
    if (!grow((void **)&wk->clients, &wk->cap, wk->nclients, sizeof *wk->clients)) {
        if (wk->nclients == 0)
            table_remove(wk);
        return false;
    }
    wk->clients[wk->nclients++] = c;
    /* Remember whether it was alive: if it expires before EXEC, EXEC fails
     * even though no write touched it yet (Redis 7's rule). */
    ms->w[ms->nw++] = (watch_ref){wk, chalk_exists(server.db, ek->p, ek->len) == 1};
    return true;
}

void watch_command(client *c)
{
    struct multi_state *ms = state_of(c);
    if (!ms) {
        reply_engine_error(c, CHALK_ENOMEM);
        return;
    }
    if (ms->flags & MS_MULTI) {
        reply_error(c, "WATCH inside MULTI is not allowed");
        return;
    }
    for (int i = 1; i < c->argc; i++) {
        ks_buf ek;
        bool ok = ks_key(&ek, c->db, c->argv[i].ptr, c->argv[i].len) == 0 && watch_key(c, ms, &ek);
        ks_free(&ek);
        if (!ok) {
            reply_engine_error(c, CHALK_ENOMEM);
            return;
        }
    }
    assert(multi_check_invariants() == 0);
    reply_ok(c);
}

void unwatch_command(client *c)
{
    unwatch_all(c);
    reply_ok(c);
}

/* @interview(tx.optimistic-locking): How does WATCH implement optimistic
 * locking, and what would the pessimistic version look like? WATCH locks
 * nothing: it registers the client on the key, every write to the key
 * (multi_touch_batch) marks the watchers dirty, and EXEC then refuses to run
 * (null reply) so the client re-reads and retries. A pessimistic lock
 * (SELECT ... FOR UPDATE, a Redlock) would block other writers for the
 * whole read-decide-write instead; better under heavy contention, worse
 * when conflicts are rare or clients are slow. */

/* A watched key that was alive at WATCH time and has expired since. */
static bool watched_key_expired(const struct multi_state *ms)
{
    for (int i = 0; i < ms->nw; i++)
        if (ms->w[i].live && chalk_exists(server.db, ms->w[i].wk->key, ms->w[i].wk->len) != 1)
            return true;
    return false;
}

/* ---- touching: every write marks its keys' watchers dirty --------------- */

static void touch_main_key(const void *key, size_t len)
{
    watched_key *wk = table_find(key, len, key_hash(key, len));
    for (int i = 0; wk && i < wk->nclients; i++)
        wk->clients[i]->mstate->flags |= MS_DIRTY_CAS;
}

/* An engine key of any kind → its main key, then touch that. */
static void touch_engine_key(void *arg, int is_delete, const void *key, size_t len)
{
    const unsigned char *p = key;
    if (len < KS_HDR)
        return;
    if (p[1] == KS_KIND_KEY) {
        touch_main_key(key, len);
        return;
    }
    bool composite = p[1] == CP_HASH || p[1] == CP_SET || p[1] == CP_LIST ||
                     p[1] == CP_ZMEMBER || p[1] == CP_ZSCORE;
    if (!composite || len < cp_prefix_len(0))
        return;
    /* [db][kind][u32 big-endian klen][key][suffix] (composite.h) */
    size_t klen = (size_t)p[2] << 24 | (size_t)p[3] << 16 | (size_t)p[4] << 8 | p[5];
    if (klen > len - cp_prefix_len(0))
        return;
    ks_buf main;
    if (ks_key(&main, p[0], p + cp_prefix_len(0), klen) == 0)
        touch_main_key(main.p, main.len);
    ks_free(&main);
}

void multi_touch_batch(const chalk_batch *b)
{
    if (server.multi && server.multi->nkeys)      /* nobody watches: free */
        chalk_batch_foreach(b, touch_engine_key, NULL);
}

/* ---- MULTI / queueing / DISCARD ------------------------------------------ */

static void free_queue(struct multi_state *ms)
{
    for (int i = 0; i < ms->nq; i++) {
        for (int j = 0; j < ms->q[i].argc; j++)
            free(ms->q[i].argv[j].ptr);
        free(ms->q[i].argv);
    }
    free(ms->q);
    ms->q = NULL;
    ms->nq = ms->qcap = 0;
    ms->flags &= ~(uint32_t)(MS_MULTI | MS_DIRTY_EXEC);
}

void multi_command(client *c)
{
    struct multi_state *ms = state_of(c);
    if (!ms) {
        reply_engine_error(c, CHALK_ENOMEM);
        return;
    }
    if (ms->flags & MS_MULTI) {
        reply_error(c, "MULTI calls can not be nested");
        return;
    }
    ms->flags |= MS_MULTI;
    reply_ok(c);
}

void multi_flag_error(client *c)
{
    if (c->mstate && (c->mstate->flags & MS_MULTI))
        c->mstate->flags |= MS_DIRTY_EXEC;
}

static bool copy_args(queued_cmd *q, const client *c)
{
    q->argc = 0;
    q->argv = calloc((size_t)c->argc, sizeof *q->argv);
    if (!q->argv)
        return false;
    for (int i = 0; i < c->argc; i++, q->argc++) {
        q->argv[i].ptr = malloc(c->argv[i].len + 1);
        if (!q->argv[i].ptr)
            return false;
        memcpy(q->argv[i].ptr, c->argv[i].ptr, c->argv[i].len + 1);
        q->argv[i].len = c->argv[i].len;
    }
    return true;
}

static bool runs_now(const struct command *cmd)
{
    static const char *const now[] = {"exec", "discard", "multi", "watch", "quit", "reset"};
    const char *name = cmd->parent ? cmd->parent->def->name : cmd->def->name;
    for (size_t i = 0; i < sizeof now / sizeof now[0]; i++)
        if (strcmp(name, now[i]) == 0)
            return true;
    return false;
}

bool multi_queue(client *c, struct command *cmd)
{
    struct multi_state *ms = c->mstate;
    if (!ms || !(ms->flags & MS_MULTI) || runs_now(cmd))
        return false;
    uint32_t flags = cmd->def->flags | (cmd->parent ? cmd->parent->def->flags : 0);
    if (flags & CMD_NO_MULTI) {
        reply_error(c, "Command not allowed inside a transaction");
        ms->flags |= MS_DIRTY_EXEC;
        return true;
    }
    if (!grow((void **)&ms->q, &ms->qcap, ms->nq, sizeof *ms->q)) {
        reply_engine_error(c, CHALK_ENOMEM);
        ms->flags |= MS_DIRTY_EXEC;
        return true;
    }
    queued_cmd *q = &ms->q[ms->nq++];
    q->cmd = cmd;
    if (!copy_args(q, c)) {
        reply_engine_error(c, CHALK_ENOMEM);
        ms->flags |= MS_DIRTY_EXEC;               /* freed with the queue */
        return true;
    }
    reply_simple(c, "QUEUED");
    return true;
}

void discard_command(client *c)
{
    struct multi_state *ms = c->mstate;
    if (!ms || !(ms->flags & MS_MULTI)) {
        reply_error(c, "DISCARD without MULTI");
        return;
    }
    free_queue(ms);
    unwatch_all(c);
    reply_ok(c);
}

int multi_queued(const client *c)
{
    return c->mstate && (c->mstate->flags & MS_MULTI) ? c->mstate->nq : -1;
}

bool multi_dirty_cas(const client *c)
{
    return c->mstate && (c->mstate->flags & MS_DIRTY_CAS);
}

void multi_reset(client *c)
{
    if (!c->mstate)
        return;
    free_queue(c->mstate);
    unwatch_all(c);
}

void multi_client_free(client *c)
{
    multi_reset(c);
    if (c->mstate) {
        free(c->mstate->w);
        free(c->mstate);
        c->mstate = NULL;
    }
}

void multi_free_all(void)
{
    struct multi_shared *ms = server.multi;
    if (!ms) return;
    for (size_t i = 0; i < ms->nbuckets; i++)     /* empty once all clients are */
        while (ms->buckets[i])                    /* gone; freed anyway if not */
            table_remove(ms->buckets[i]);
    free(ms->buckets);
    chalk_batch_free(ms->empty);
    free(ms);
    server.multi = NULL;
}

/* ---- EXEC ----------------------------------------------------------------- */

bool multi_in_exec(const client *c)
{
    return server.multi && server.multi->exec_client == c;
}

bool multi_holds_reply(const client *c)
{
    /* Only the EXEC client's own writes share EXEC's hold; another client
     * served meanwhile (a BLPOP woken by a push inside EXEC) holds its own. */
    return !multi_in_exec(c);
}

static void exec_durable(void *arg, int status) { hold_reply_release(arg, status); }

/* @interview(tx.acid): Where does EXEC get its D? Under appendfsync always
 * its whole reply is held (hold_reply_begin before the array header) and
 * released by the callback of an empty write queued right after the
 * group's COMMIT record, i.e. after the fdatasync covering all of EXEC's
 * writes: a client never sees an EXEC reply that a crash could undo. */
static void exec_release_hold(client *c, bool wrote)
{
    struct multi_shared *sh = server.multi;
    if (wrote && (sh->empty || (sh->empty = chalk_batch_new())) &&
        chalk_write(server.db, sh->empty, exec_durable, c) == CHALK_OK)
        return;
    /* Nothing written (or the engine failed: each write already replied
     * its error): nothing to wait for. Undo the hold, as server_write does. */
    c->held_count--;
    c->commits_pending--;
}

/* Run the queue inside one engine atomic group. */
static void exec_run(client *c, struct multi_state *ms)
{
    bool hold = server.db && server.cfg.appendfsync == FSYNC_ALWAYS && hold_reply_begin(c) == 0;
    uint64_t dirty_before = server.dirty;
    int group = server.db ? chalk_group_begin(server.db) : CHALK_ECLOSED;
    int argc = c->argc;
    resp_arg *argv = c->argv;
    server.multi->exec_client = c;
    reply_array(c, ms->nq);
    for (int i = 0; i < ms->nq; i++) {
        c->argc = ms->q[i].argc;
        c->argv = ms->q[i].argv;
        command_call(c, ms->q[i].cmd);
    }
    c->argc = argc;
    c->argv = argv;
    server.multi->exec_client = NULL;
    if (group == CHALK_OK)
        chalk_group_end(server.db);   /* the commit point (in the log's framing) */
    /* Replication needs nothing here: every write above went through
     * server_write → repl_feed_batch into the current unit, and
     * process_command calls repl_end_unit only after EXEC returns, so the
     * whole EXEC is ONE CHALK.APPLY in the stream, which a follower applies
     * as one engine batch (repl_stream.c): no replica client sees half of
     * it (test_bank_transfer_seen_from_a_replica). */
    if (hold)
        exec_release_hold(c, server.dirty != dirty_before);
}

void exec_command(client *c)
{
    struct multi_state *ms = c->mstate;
    if (!ms || !(ms->flags & MS_MULTI)) {
        reply_error(c, "EXEC without MULTI");
        return;
    }
    if (ms->flags & MS_DIRTY_EXEC)
        reply_error(c, "-EXECABORT Transaction discarded because of previous errors.");
    else if ((ms->flags & MS_DIRTY_CAS) || watched_key_expired(ms))
        reply_null_array(c);              /* optimistic lock lost: retry */
    else if (!shared())
        reply_engine_error(c, CHALK_ENOMEM);
    else {
        unwatch_all(c);                   /* its own writes must not count */
        exec_run(c, ms);
    }
    free_queue(ms);
    unwatch_all(c);
}
