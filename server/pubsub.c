/*
 * pubsub.c — publish / subscribe: fire-and-forget fan-out to whoever is
 * connected and listening right now.
 *
 * The one idea: a subscription is a pointer from a channel to a client.
 * PUBLISH looks up the channel's subscribers and appends the message to
 * each one's output buffer, then walks the patterns and does the same for
 * every pattern that matches; nothing is stored anywhere else. So:
 *   - a subscriber that is disconnected when a message is published never
 *     sees it (at-most-once delivery, no history, no acknowledgement);
 *   - a slow subscriber's messages pile up in ITS output buffer, bounded
 *     by client-output-buffer-limit's "pubsub" class (default 32mb hard,
 *     8mb for 60 s soft): past it the client is disconnected, with a log
 *     line, rather than letting one slow reader eat the server's memory.
 *
 * Structures (server.pubsub, allocated at the first subscription, freed
 * with the last): an array of channels sorted by name (binary search),
 * each with its subscribers; an array of (pattern, client) pairs. Each
 * client (c->pubsub) lists its own channels and patterns, so that a
 * disconnect removes exactly its entries.
 *
 * Left out on purpose: sharded pub/sub (SSUBSCRIBE: Chalk is not a
 * cluster; PUBSUB SHARDCHANNELS answers empty) and a hash table of
 * channels (the sorted array makes SUBSCRIBE O(channels) to insert).
 *
 * Interview topics: realtime.notifications (pubsub_publish).
 */
#include "pubsub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "commands.h"
#include "server.h"
#include "util.h"

typedef struct pubsub_str {
    char *p;
    size_t len;
} pubsub_str;

typedef struct pubsub_channel {
    pubsub_str name;
    client **subs;
    size_t nsubs, cap;
} pubsub_channel;

typedef struct pattern_sub {
    pubsub_str pat;
    client *c;
} pattern_sub;

struct pubsub_server {
    pubsub_channel *ch;        /* sorted by name */
    size_t nch, chcap;
    pattern_sub *pats;         /* in subscription order */
    size_t npats, patcap;
};

struct pubsub_client {
    pubsub_str *chans, *pats;
    size_t nchans, chcap, npats, patcap;
};

/* ---- small helpers ---------------------------------------------------------- */

static bool str_eq(const pubsub_str *s, const void *p, size_t len)
{
    return s->len == len && memcmp(s->p, p, len) == 0;
}

static int str_dup(pubsub_str *s, const void *p, size_t len)
{
    s->p = malloc(len + 1);
    if (!s->p)
        return -1;
    memcpy(s->p, p, len);
    s->p[len] = '\0';
    s->len = len;
    return 0;
}

/* Grow *arr (of *cap elements of size sz) to hold one more. 0 or -1. */
static int grow(void **arr, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 4;
    void *p = realloc(*arr, ncap * sz);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

static struct pubsub_server *registry(void)
{
    if (!server.pubsub)
        server.pubsub = calloc(1, sizeof *server.pubsub);
    return server.pubsub;
}

static struct pubsub_client *client_state(client *c)
{
    if (!c->pubsub)
        c->pubsub = calloc(1, sizeof *c->pubsub);
    return c->pubsub;
}

long pubsub_client_count(const client *c)
{
    return c->pubsub ? (long)(c->pubsub->nchans + c->pubsub->npats) : 0;
}

long pubsub_numpat(void) { return server.pubsub ? (long)server.pubsub->npats : 0; }
long pubsub_numchannels(void) { return server.pubsub ? (long)server.pubsub->nch : 0; }
long pubsub_client_channels(const client *c) { return c->pubsub ? (long)c->pubsub->nchans : 0; }
long pubsub_client_patterns(const client *c) { return c->pubsub ? (long)c->pubsub->npats : 0; }

/* Index of channel name in the registry, or where it would go (*found). */
static size_t find_channel(const struct pubsub_server *r, const void *name, size_t len, bool *found)
{
    size_t lo = 0, hi = r->nch;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int d = bytes_cmp(r->ch[mid].name.p, r->ch[mid].name.len, name, len);
        if (d == 0) {
            *found = true;
            return mid;
        }
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

/* Free the registry when nothing is subscribed any more. */
static void maybe_free_registry(void)
{
    struct pubsub_server *r = server.pubsub;
    if (r && r->nch == 0 && r->npats == 0) {
        free(r->ch);
        free(r->pats);
        free(r);
        server.pubsub = NULL;
    }
}

/* ---- channels ------------------------------------------------------------------- */

/* Subscribe c to channel: 1 if new, 0 if it already was, -1 ENOMEM. */
static int channel_add(client *c, const void *name, size_t len)
{
    struct pubsub_client *pc = client_state(c);
    struct pubsub_server *r = registry();
    if (!pc || !r)
        return -1;
    for (size_t i = 0; i < pc->nchans; i++)
        if (str_eq(&pc->chans[i], name, len))
            return 0;
    bool found;
    size_t at = find_channel(r, name, len, &found);
    if (!found) {
        if (grow((void **)&r->ch, &r->chcap, r->nch, sizeof *r->ch) < 0)
            return -1;
        memmove(&r->ch[at + 1], &r->ch[at], (r->nch - at) * sizeof *r->ch);
        memset(&r->ch[at], 0, sizeof *r->ch);
        if (str_dup(&r->ch[at].name, name, len) < 0) {
            memmove(&r->ch[at], &r->ch[at + 1], (r->nch - at) * sizeof *r->ch);
            return -1;
        }
        r->nch++;
    }
    pubsub_channel *ch = &r->ch[at];
    if (grow((void **)&ch->subs, &ch->cap, ch->nsubs, sizeof *ch->subs) < 0 ||
        grow((void **)&pc->chans, &pc->chcap, pc->nchans, sizeof *pc->chans) < 0 ||
        str_dup(&pc->chans[pc->nchans], name, len) < 0)
        return -1;
    pc->nchans++;
    ch->subs[ch->nsubs++] = c;
    return 1;
}

/* Unsubscribe c from channel: 1 if it was subscribed, else 0. */
static int channel_del(client *c, const void *name, size_t len)
{
    struct pubsub_client *pc = c->pubsub;
    struct pubsub_server *r = server.pubsub;
    size_t i = 0;
    while (pc && i < pc->nchans && !str_eq(&pc->chans[i], name, len))
        i++;
    if (!pc || i == pc->nchans || !r)
        return 0;
    bool found;
    size_t at = find_channel(r, name, len, &found);   /* name may be chans[i] */
    free(pc->chans[i].p);
    pc->chans[i] = pc->chans[--pc->nchans];
    if (!found)
        return 1;
    pubsub_channel *ch = &r->ch[at];
    for (size_t k = 0; k < ch->nsubs; k++)
        if (ch->subs[k] == c) {
            memmove(&ch->subs[k], &ch->subs[k + 1], (ch->nsubs - k - 1) * sizeof *ch->subs);
            ch->nsubs--;
            break;
        }
    if (ch->nsubs == 0) {
        free(ch->name.p);
        free(ch->subs);
        memmove(&r->ch[at], &r->ch[at + 1], (r->nch - at - 1) * sizeof *r->ch);
        r->nch--;
    }
    return 1;
}

static int pattern_add(client *c, const void *pat, size_t len)
{
    struct pubsub_client *pc = client_state(c);
    struct pubsub_server *r = registry();
    if (!pc || !r)
        return -1;
    for (size_t i = 0; i < pc->npats; i++)
        if (str_eq(&pc->pats[i], pat, len))
            return 0;
    if (grow((void **)&r->pats, &r->patcap, r->npats, sizeof *r->pats) < 0 ||
        grow((void **)&pc->pats, &pc->patcap, pc->npats, sizeof *pc->pats) < 0 ||
        str_dup(&pc->pats[pc->npats], pat, len) < 0)
        return -1;
    r->pats[r->npats].pat = pc->pats[pc->npats];   /* shares the client's copy */
    r->pats[r->npats++].c = c;
    pc->npats++;
    return 1;
}

static int pattern_del(client *c, const void *pat, size_t len)
{
    struct pubsub_client *pc = c->pubsub;
    struct pubsub_server *r = server.pubsub;
    size_t i = 0;
    while (pc && i < pc->npats && !str_eq(&pc->pats[i], pat, len))
        i++;
    if (!pc || i == pc->npats || !r)
        return 0;
    for (size_t k = 0; k < r->npats; k++)
        if (r->pats[k].c == c && str_eq(&r->pats[k].pat, pat, len)) {
            memmove(&r->pats[k], &r->pats[k + 1], (r->npats - k - 1) * sizeof *r->pats);
            r->npats--;
            break;
        }
    free(pc->pats[i].p);
    pc->pats[i] = pc->pats[--pc->npats];
    return 1;
}

void pubsub_client_free(client *c)
{
    struct pubsub_client *pc = c->pubsub;
    if (!pc)
        return;
    while (pc->nchans)
        channel_del(c, pc->chans[0].p, pc->chans[0].len);
    while (pc->npats) {
        pubsub_str last = pc->pats[pc->npats - 1];
        pattern_del(c, last.p, last.len);
    }
    free(pc->chans);
    free(pc->pats);
    free(pc);
    c->pubsub = NULL;
    maybe_free_registry();
}

/* ---- the subscribe family's replies ------------------------------------------ */

/* ["subscribe", channel, count] as a push (RESP3) or an array (RESP2). */
static void reply_sub(client *c, const char *kind, const void *name, size_t len, bool null_name)
{
    reply_push(c, 3);
    reply_bulk_cstr(c, kind);
    if (null_name)
        reply_null(c);
    else
        reply_bulk(c, name, len);
    reply_long(c, pubsub_client_count(c));
}

void pubsub_subscribe(client *c, bool pattern)
{
    for (int i = 1; i < c->argc; i++) {
        const resp_arg *a = &c->argv[i];
        int rc = pattern ? pattern_add(c, a->ptr, a->len) : channel_add(c, a->ptr, a->len);
        if (rc < 0) {
            reply_engine_error(c, CHALK_ENOMEM);
            return;
        }
        reply_sub(c, pattern ? "psubscribe" : "subscribe", a->ptr, a->len, false);
    }
}

void pubsub_unsubscribe(client *c, bool pattern)
{
    const char *kind = pattern ? "punsubscribe" : "unsubscribe";
    struct pubsub_client *pc = c->pubsub;
    if (c->argc == 1) {                /* all of them */
        size_t n = pc ? (pattern ? pc->npats : pc->nchans) : 0;
        if (n == 0)
            reply_sub(c, kind, NULL, 0, true);
        while (pc && (pattern ? pc->npats : pc->nchans)) {
            pubsub_str s = pattern ? pc->pats[0] : pc->chans[0];
            pubsub_str copy;
            if (str_dup(&copy, s.p, s.len) < 0)
                break;
            if (pattern)
                pattern_del(c, copy.p, copy.len);
            else
                channel_del(c, copy.p, copy.len);
            reply_sub(c, kind, copy.p, copy.len, false);
            free(copy.p);
        }
    } else {
        for (int i = 1; i < c->argc; i++) {
            const resp_arg *a = &c->argv[i];
            if (pattern)
                pattern_del(c, a->ptr, a->len);
            else
                channel_del(c, a->ptr, a->len);
            reply_sub(c, kind, a->ptr, a->len, false);
        }
    }
    if (pubsub_client_count(c) == 0 && c->pubsub) {
        pubsub_client_free(c);         /* back to normal mode */
    }
    maybe_free_registry();
}

/* ---- publishing ------------------------------------------------------------------ */

/* The pubsub class of client-output-buffer-limit ("pubsub 32mb 8mb 60"). */
static void pubsub_limits(long long *hard, long long *soft, long long *secs)
{
    *hard = 32LL << 20, *soft = 8LL << 20, *secs = 60;
    const char *spec = server.cfg.obuf_spec ? strstr(server.cfg.obuf_spec, "pubsub ") : NULL;
    if (!spec)
        return;
    char h[32], s[32];
    long long sec;
    if (sscanf(spec, "pubsub %31s %31s %lld", h, s, &sec) != 3)
        return;
    long long v[2];
    const char *t[2] = {h, s};
    for (int i = 0; i < 2; i++) {
        char *end;
        double d = strtod(t[i], &end);
        long long mul = 1;
        if (!strcasecmp(end, "k")) mul = 1000;
        else if (!strcasecmp(end, "kb")) mul = 1024;
        else if (!strcasecmp(end, "m")) mul = 1000000;
        else if (!strcasecmp(end, "mb")) mul = 1 << 20;
        else if (!strcasecmp(end, "g")) mul = 1000000000;
        else if (!strcasecmp(end, "gb")) mul = 1LL << 30;
        else if (*end) return;
        v[i] = (long long)(d * (double)mul);
    }
    *hard = v[0], *soft = v[1], *secs = sec;
}

/* A subscriber over its pubsub output limit is disconnected (Redis's log
 * line), so one slow reader cannot grow the server's memory without end. */
static void check_subscriber_limit(client *c)
{
    long long hard, soft, secs;
    pubsub_limits(&hard, &soft, &secs);
    bool over = hard > 0 && c->reply_bytes > (size_t)hard;
    if (!over && soft > 0 && c->reply_bytes > (size_t)soft) {
        int64_t now = now_ms();
        if (!c->soft_limit_since)
            c->soft_limit_since = now;
        over = now - c->soft_limit_since >= secs * 1000;
    }
    if (over && !(c->flags & CLIENT_CLOSE_ASAP)) {
        server_log(LL_WARNING, "Client id=%llu addr=%s scheduled to be closed ASAP for "
                   "overcoming of output buffer limits (pubsub class).",
                   (unsigned long long)c->id, c->addr);
        server.stat_evicted_clients_obl++;
        client_close_async(c);
    }
}

static void deliver(client *c, const pubsub_str *pat, const void *ch, size_t clen,
                    const void *msg, size_t mlen)
{
    if (c->flags & CLIENT_CLOSE_ASAP)
        return;
    reply_push(c, pat ? 4 : 3);
    reply_bulk_cstr(c, pat ? "pmessage" : "message");
    if (pat)
        reply_bulk(c, pat->p, pat->len);
    reply_bulk(c, ch, clen);
    reply_bulk(c, msg, mlen);
    check_subscriber_limit(c);
}

/* @interview(realtime.notifications): How do you push real-time
 * notifications, and what is lost when a subscriber is away? Pub/sub fans
 * a message out to every connected subscriber at once (PUBLISH is
 * O(subscribers)); it is at-most-once: a client that is offline or
 * reconnecting misses messages, and a slow one is cut off at its buffer
 * limit. When every message must arrive, use a list per recipient (LPUSH
 * + BLMOVE with a processing list) or a log with consumer offsets (Redis
 * streams, Kafka), which keep messages until they are acknowledged; pub/sub
 * is for "tell whoever is listening now" (presence, cache invalidation,
 * live dashboards). */
long pubsub_publish(const void *channel, size_t clen, const void *msg, size_t mlen)
{
    struct pubsub_server *r = server.pubsub;
    long n = 0;
    if (!r)
        return 0;
    bool found;
    size_t at = find_channel(r, channel, clen, &found);
    if (found) {
        pubsub_channel *ch = &r->ch[at];
        for (size_t i = 0; i < ch->nsubs; i++, n++)
            deliver(ch->subs[i], NULL, channel, clen, msg, mlen);
    }
    for (size_t i = 0; i < r->npats; i++)
        if (glob_match(r->pats[i].pat.p, r->pats[i].pat.len, channel, clen, false)) {
            deliver(r->pats[i].c, &r->pats[i].pat, channel, clen, msg, mlen);
            n++;
        }
    return n;
}

/* ---- RESP2 subscribed mode, PUBSUB ------------------------------------------------ */

bool pubsub_command_allowed(client *c, const struct command *cmd)
{
    if (c->resp >= 3 || pubsub_client_count(c) == 0)
        return true;
    static const char *const ok[] = {"subscribe", "unsubscribe", "psubscribe", "punsubscribe",
                                     "ssubscribe", "sunsubscribe", "ping", "quit", "reset"};
    const char *name = cmd->def->name;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (strcmp(name, ok[i]) == 0)
            return true;
    reply_errorf(c, "Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
                    "RESET are allowed in this context", cmd->fullname);
    return false;
}

void pubsub_channels_reply(client *c, const void *pat, size_t plen)
{
    struct pubsub_server *r = server.pubsub;
    void *slot = reply_deferred(c);
    long n = 0;
    for (size_t i = 0; r && i < r->nch; i++)
        if (!pat || glob_match(pat, plen, r->ch[i].name.p, r->ch[i].name.len, false)) {
            reply_bulk(c, r->ch[i].name.p, r->ch[i].name.len);
            n++;
        }
    reply_set_deferred_array(c, slot, n);
}

void pubsub_numsub_reply(client *c, int first)
{
    struct pubsub_server *r = server.pubsub;
    reply_array(c, 2L * (c->argc - first));   /* Redis: a flat array, in RESP3 too */
    for (int i = first; i < c->argc; i++) {
        bool found = false;
        size_t at = r ? find_channel(r, c->argv[i].ptr, c->argv[i].len, &found) : 0;
        reply_bulk(c, c->argv[i].ptr, c->argv[i].len);
        reply_long(c, found ? (long long)r->ch[at].nsubs : 0);
    }
}
