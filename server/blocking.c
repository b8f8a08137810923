/*
 * blocking.c — the waiting room of the blocking pops (BLPOP BRPOP BLMOVE
 * BRPOPLPUSH BZPOPMIN BZPOPMAX).
 *
 * The one idea: a blocked client is a client whose command has not
 * finished. The handler finds nothing, calls blocking_wait(), and
 * process_command answers PC_WAIT: the loop keeps the command's arguments,
 * stops reading the client, and runs THE SAME COMMAND again when the
 * client is made ready. So serving a blocked client is just running its
 * command again; no second code path pops for it. It is made ready:
 *   - by a push: LPUSH / RPUSH / LMOVE / ZADD ... call blocking_key_ready(),
 *     which wakes the waiters of that key, oldest first;
 *   - by every server tick (clients_cron re-runs waiting commands), which
 *     is how a timeout is noticed: the re-run sees its deadline passed
 *     and replies the null. Timeouts are thus as precise as the tick
 *     (1000/hz ms); Redis keeps a sorted structure of deadlines instead.
 *
 * State of one client (struct blocked_state, c->blocked):
 *
 *   not waiting --blocking_wait()--> waiting --command runs again-->
 *       served (blocking_done) | timed out (blocking_wait false) |
 *       still nothing (stays waiting, keeps its place in line)
 *   waiting --disconnect--> freed by client_free_now (blocking_client_free)
 *
 * FIFO: among the clients waiting on one key, the one that started
 * waiting first is served first. blocking_may_serve() refuses an element
 * to a waiter while an older waiter of the same key is alive. The loop
 * watches a blocked client's socket for its peer's hangup and closes it
 * at once (client_on_hangup, networking.c); a waiter whose peer left
 * since the loop last looked is caught here (peer_gone), so a
 * disconnected client never takes an element.
 *
 * Left out on purpose: being woken by a replica's stream (a write a
 * follower applies from its leader calls no blocking_key_ready; the tick
 * finds it) and a radix tree of deadlines (see above). The cost: each
 * blocked client re-runs its command once per tick.
 *
 * Interview topics: queue.async and queue.priority-jobs (the waiting side
 * of BLMOVE and BZPOPMIN; the answers sit at lmove_generic, zset_pop).
 */
#include "blocking.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "commands.h"
#include "composite.h"
#include "multi.h"
#include "server.h"
#include "util.h"

struct blocked_state {
    int64_t since_us;        /* when the wait started: the FIFO order */
    int64_t deadline_ms;     /* absolute; 0 = wait forever */
};

bool blocking_parse_timeout(client *c, const resp_arg *a, long long *ms)
{
    double secs;
    if (!string_to_double(a->ptr, a->len, &secs)) {
        reply_error(c, "timeout is not a float or out of range");
        return false;
    }
    if (secs * 1000 > 9.2e18) {          /* Redis 7.2's text (and +inf) */
        reply_error(c, "timeout is out of range");
        return false;
    }
    if (secs < 0) {
        reply_error(c, "timeout is negative");
        return false;
    }
    *ms = (long long)ceil(secs * 1000);
    return true;
}

bool blocking_is_blocked(const client *c) { return c->blocked != NULL; }

void blocking_client_free(client *c)
{
    if (!c->blocked)
        return;
    free(c->blocked);
    c->blocked = NULL;
    server.nblocked--;
}

void blocking_done(client *c) { blocking_client_free(c); }

bool blocking_wait(client *c, long long timeout_ms)
{
    if (multi_in_exec(c))
        return false;              /* inside EXEC: behave as LPOP (Redis) */
    if (!c->blocked) {
        c->blocked = calloc(1, sizeof *c->blocked);
        if (!c->blocked)
            return false;
        server.nblocked++;
        c->blocked->since_us = now_us();
        c->blocked->deadline_ms = timeout_ms ? now_ms() + timeout_ms : 0;
        return true;
    }
    if (c->blocked->deadline_ms && now_ms() >= c->blocked->deadline_ms) {
        blocking_done(c);
        return false;
    }
    return true;
}

/* The keys a blocked command waits on: argv[1 .. last]. */
static int last_key(const client *c)
{
    const resp_arg *name = &c->argv[0];
    if (name->len == 6 && strncasecmp(name->ptr, "blmove", 6) == 0)
        return 1;
    if (name->len == 10 && strncasecmp(name->ptr, "brpoplpush", 10) == 0)
        return 1;
    return c->argc - 2;            /* BLPOP BRPOP BZPOPMIN BZPOPMAX */
}

static bool waits_on(const client *c, int db, const void *key, size_t klen)
{
    if (!c->blocked || c->db != db || (c->flags & CLIENT_CLOSE_ASAP) || c->argc < 2)
        return false;
    for (int i = 1; i <= last_key(c); i++)
        if (c->argv[i].len == klen && memcmp(c->argv[i].ptr, key, klen) == 0)
            return true;
    return false;
}

/* The socket of a client we stopped reading: closed by its peer? */
static bool peer_gone(client *c)
{
    char byte;
    if (c->fd < 0)
        return false;
    ssize_t n = recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

int blocking_first_ready(client *c, int type, cp_meta *m, long long *ms)
{
    if (!blocking_parse_timeout(c, &c->argv[c->argc - 1], ms)) {
        blocking_done(c);
        return -1;
    }
    for (int i = 1; i < c->argc - 1; i++) {
        int found = cp_lookup(c, c->db, &c->argv[i], type, m);
        if (found < 0) {
            blocking_done(c);
            return -1;
        }
        if (found && blocking_may_serve(c, m->db, m->key, m->klen))
            return i;
    }
    return 0;
}

bool blocking_may_serve(client *c, int db, const void *key, size_t klen)
{
    if (c->blocked && peer_gone(c)) {
        client_close_async(c);      /* it left while waiting: serve nobody */
        return false;
    }
    int64_t mine = c->blocked ? c->blocked->since_us : INT64_MAX;
    for (client *o = server.clients; o; o = o->next) {
        if (o == c || !waits_on(o, db, key, klen))
            continue;
        bool older = o->blocked->since_us < mine ||
                     (o->blocked->since_us == mine && o->id < c->id);
        if (!older)
            continue;
        if (peer_gone(o)) {
            client_close_async(o);  /* never serve a vanished client */
            continue;
        }
        return false;
    }
    return true;
}

static int cmp_since_desc(const void *a, const void *b)
{
    const client *x = *(client *const *)a, *y = *(client *const *)b;
    return x->blocked->since_us < y->blocked->since_us ? 1 :
           x->blocked->since_us > y->blocked->since_us ? -1 : 0;
}

/* server.ready is a stack: pushing the newest waiter first makes the
 * oldest run first. */
void blocking_key_ready(int db, const void *key, size_t klen)
{
    if (server.nblocked == 0)
        return;                    /* the common case: nobody waits, no walk */
    size_t n = 0, cap = 0;
    client **v = NULL;
    for (client *o = server.clients; o; o = o->next) {
        if (!waits_on(o, db, key, klen))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            client **nv = realloc(v, ncap * sizeof *nv);
            if (!nv)
                break;
            v = nv;
            cap = ncap;
        }
        v[n++] = o;
    }
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_since_desc);
    for (size_t i = 0; i < n; i++)
        client_make_ready(v[i]);
    free(v);
}
