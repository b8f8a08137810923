/*
 * notify.c — keyspace notifications: Redis's way of turning data changes
 * into pub/sub messages (notify-keyspace-events, off by default).
 *
 * The one idea: a change is published twice, once per point of view. A
 * client interested in ONE KEY subscribes to __keyspace@0__:mykey and
 * hears "set", "del", "expired"...; a client interested in ONE KIND OF
 * CHANGE subscribes to __keyevent@0__:expired and hears the names of the
 * keys. Both are ordinary channels (pubsub.c), so patterns work too:
 * PSUBSCRIBE __keyevent@*__:expired.
 *
 * Left out on purpose: delivery guarantees beyond pub/sub's. A client that
 * is disconnected misses events, and an "expired" event is published when
 * the server deletes the key (lazily on access or by the expiry cycle), not
 * at the exact expiry time.
 *
 * Interview topics: realtime.notifications (notify_keyspace_event).
 */
#include "notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pubsub.h"
#include "server.h"

int notify_parse_flags(const char *s)
{
    static const char letters[] = "KEg$lshzxetmn";
    int flags = 0;
    for (; s && *s; s++) {
        if (*s == 'A') {
            flags |= NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH |
                     NOTIFY_ZSET | NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM;
            continue;
        }
        if (*s == 'd')
            continue;              /* module key type events: none here */
        const char *p = strchr(letters, *s);
        if (!p)
            return -1;
        flags |= 1 << (p - letters);
    }
    return flags;
}

/* "__keyspace@0__:" + key (or "__keyevent@0__:" + event) in buf, or a
 * malloc'd buffer when it does not fit. Returns the length. */
static size_t channel_name(char *buf, size_t size, char **heap, const char *kind, int db,
                           const void *name, size_t len)
{
    char head[40];
    int h = snprintf(head, sizeof head, "__%s@%d__:", kind, db);
    size_t total = (size_t)h + len;
    char *out = total <= size ? buf : (*heap = malloc(total));
    if (!out)
        return 0;
    memcpy(out, head, (size_t)h);
    memcpy(out + h, name, len);
    return total;
}

/* Publish msg on channel __<space>@<db>__:<name>. */
static void publish_on(const char *space, int db, const void *name, size_t nlen, const void *msg,
                       size_t mlen)
{
    char buf[256];
    char *heap = NULL;
    size_t n = channel_name(buf, sizeof buf, &heap, space, db, name, nlen);
    if (n)
        pubsub_publish(heap ? heap : buf, n, msg, mlen);
    free(heap);
}

/* @interview(realtime.notifications): How can clients react to changes in
 * the data without polling? Keyspace notifications publish every change
 * (or chosen classes: expirations 'x', lists 'l'...) on pub/sub channels
 * named after the key or the event, so a cache can invalidate its copy on
 * "set"/"del", and a scheduler can act on "expired" keys. Like all pub/sub
 * they are fire-and-forget: a subscriber that reconnects must resync. */
void notify_keyspace_event(int type, const char *event, int db, const void *key, size_t klen)
{
    int flags = notify_parse_flags(server.cfg.notify_keyspace_events);
    if (flags <= 0 || !(flags & type) || !(flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT)))
        return;
    size_t elen = strlen(event);
    if (flags & NOTIFY_KEYSPACE)
        publish_on("keyspace", db, key, klen, event, elen);
    if (flags & NOTIFY_KEYEVENT)
        publish_on("keyevent", db, event, elen, key, klen);
}

void notify_expired(const void *ek, size_t eklen)
{
    const unsigned char *p = ek;
    if (eklen >= 2 && p[1] == 'k')               /* a main record (keyspace.h) */
        notify_keyspace_event(NOTIFY_EXPIRED, "expired", p[0], p + 2, eklen - 2);
}
