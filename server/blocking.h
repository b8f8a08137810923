/*
 * blocking.h — clients waiting in BLPOP, BRPOP, BLMOVE, BRPOPLPUSH,
 * BZPOPMIN, BZPOPMAX (blocking.c). The commands themselves are in
 * cmd_list.c and cmd_zset.c; this is the waiting room they share.
 *
 * The design (the one idea, what is left out and what it costs, the
 * interview topics) is at the top of blocking.c.
 */
#ifndef CHALK_BLOCKING_H
#define CHALK_BLOCKING_H

#include <stdbool.h>
#include <stddef.h>

typedef struct client client;
typedef struct resp_arg resp_arg;
typedef struct cp_meta cp_meta;

/* Parse a blocking command's timeout (seconds, fractional allowed, 0 =
 * forever) into *ms. Replies Redis's error and returns false if bad. */
bool blocking_parse_timeout(client *c, const resp_arg *a, long long *ms);

/* May c take an element of (db, key) now? False when a client that
 * started waiting on that key earlier still waits (FIFO service). */
bool blocking_may_serve(client *c, int db, const void *key, size_t klen);

/* The start of BLPOP BRPOP BZPOPMIN BZPOPMAX (keys argv[1 .. argc-2], the
 * timeout last): parse the timeout into *ms, then look the keys up in
 * order. Returns the index of the first that holds a collection of `type`
 * (keyspace.h KS_*) that c may take from now (blocking_may_serve), with
 * its meta in *m; 0 when none does (the caller waits: blocking_wait);
 * -1 when the timeout or a lookup failed (WRONGTYPE, an engine error):
 * replied, and c waits no more (blocking_done). */
int blocking_first_ready(client *c, int type, cp_meta *m, long long *ms);

/* The command found nothing: wait (first call: start waiting with the
 * given timeout, 0 = forever) and return true, the handler replies
 * nothing; or return false when the wait is over (timed out, or c runs
 * inside EXEC and must not block): the handler replies its null. */
bool blocking_wait(client *c, long long timeout_ms);

/* The command was served (or failed): c waits no more. */
void blocking_done(client *c);

/* process_command's question after a command ran: did it start or keep
 * waiting? (Then its arguments are kept and it runs again when woken.) */
bool blocking_is_blocked(const client *c);

/* A push to (db, key): wake the clients that wait on it, oldest first. */
void blocking_key_ready(int db, const void *key, size_t klen);

/* client_free_now's hook: forget c's wait. */
void blocking_client_free(client *c);

#endif /* CHALK_BLOCKING_H */
