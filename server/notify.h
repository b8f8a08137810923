/*
 * notify.h — keyspace notifications (notify.c): a write command tells
 * which event happened to which key, and, if notify-keyspace-events asks
 * for that class of event, a message goes out on pub/sub:
 *   __keyspace@<db>__:<key>   with the event name as the message ('K')
 *   __keyevent@<db>__:<event> with the key as the message      ('E')
 *
 * The design (the one idea, what is left out and what it costs, the
 * interview topics) is at the top of notify.c.
 */
#ifndef CHALK_NOTIFY_H
#define CHALK_NOTIFY_H

#include <stddef.h>

/* Event classes, Redis's flag letters (notify-keyspace-events). */
enum {
    NOTIFY_KEYSPACE = 1 << 0,  /* K */
    NOTIFY_KEYEVENT = 1 << 1,  /* E */
    NOTIFY_GENERIC  = 1 << 2,  /* g: DEL EXPIRE RENAME ... */
    NOTIFY_STRING   = 1 << 3,  /* $ */
    NOTIFY_LIST     = 1 << 4,  /* l */
    NOTIFY_SET      = 1 << 5,  /* s */
    NOTIFY_HASH     = 1 << 6,  /* h */
    NOTIFY_ZSET     = 1 << 7,  /* z */
    NOTIFY_EXPIRED  = 1 << 8,  /* x */
    NOTIFY_EVICTED  = 1 << 9,  /* e */
    NOTIFY_STREAM   = 1 << 10, /* t */
    NOTIFY_KEY_MISS = 1 << 11, /* m (not in A) */
    NOTIFY_NEW      = 1 << 12, /* n (not in A) */
};

/* Parse a notify-keyspace-events value ("KEA", "Elg", ""): the flags, or
 * -1 if a character is not one of "Ag$lshzxeKEtmdn". */
int notify_parse_flags(const char *s);

/* Publish `event` on `key` of database db if its class `type` (one
 * NOTIFY_* class) is enabled. Cheap when notifications are off. */
void notify_keyspace_event(int type, const char *event, int db, const void *key, size_t klen);

/* Expiry's hook: "expired" for the main record ek (an engine key). */
void notify_expired(const void *ek, size_t eklen);

#endif /* CHALK_NOTIFY_H */
