/*
 * cmdexec.h — run chalk-server's real commands in the test process, without
 * a socket: the seam the per-command model tests (test_model_*.c) use.
 *
 * The one idea: a client whose fd is -1 is still a whole client. cx_run()
 * hands it an argv, calls process_command() (the same lookup, arity checks
 * and handler a network request goes through) and takes the bytes the
 * handler appended to the client's reply blocks, as the socket would have.
 *
 * Left out on purpose: the event loop, group commit and replication. The
 * engine is opened with appendfsync no, so no reply is ever held; no loop
 * exists, so a blocked client (BLPOP on an empty list) is not woken by
 * anything: the test re-runs it with cx_resume(), which is exactly what the
 * loop does when a push makes it ready (blocking.c).
 *
 * Every function returns 0 or a negative error, except where it says.
 * The state is the server's own: `server` (its config, command table and
 * engine) and the clients; this file keeps none.
 *
 * Interview topics: none (test code).
 */
#ifndef CHALK_TEST_CMDEXEC_H
#define CHALK_TEST_CMDEXEC_H

#include <stdbool.h>
#include <stddef.h>

#include "server.h"

/* Set up `server` (default config, appendfsync no, the command table) and
 * open the engine in dir with segments of segment_size bytes. */
int cx_start(const char *dir, long long segment_size);
/* Close the engine and open it again (the same dir and segment size):
 * everything comes back from the log. */
int cx_reopen(const char *dir, long long segment_size);
/* Start a compaction; cx_compact_poll() lets it advance one step (call it
 * between commands); cx_compact_wait() finishes it. */
int cx_compact(void);
void cx_compact_poll(void);
int cx_compact_wait(void);
/* Reap every grave left by a lazy free (composite.c's cp_reap). */
void cx_reap_all(void);
void cx_stop(void);

client *cx_client(void);
void cx_client_free(client *c);

/* Run one command given as argc byte strings (lens[i] bytes each; lens may
 * be NULL for NUL-terminated strings). Returns the reply bytes, malloc'd
 * and NUL-terminated (free them), with their length in *len; "" if the
 * command blocked (cx_blocked). NULL only when out of memory. */
char *cx_run(client *c, int argc, const char *const *argv, const size_t *lens, size_t *len);
/* The same for NUL-terminated words: cx_cmd(c, &len, "HSET", "h", "f", "v", NULL). */
char *cx_cmd(client *c, size_t *len, ...);
/* A blocked client: is it waiting; run its command again (as the loop does
 * when it is made ready) and return the reply, "" if it still waits. */
bool cx_blocked(const client *c);
char *cx_resume(client *c, size_t *len);

/* ---- reading replies ----------------------------------------------------- */
/* Bytes of one RESP2 value starting at p (at most n bytes), or 0 if p does
 * not hold one whole value. */
size_t cx_value_len(const char *p, size_t n);
/* Canonical form of an unordered array reply: its elements, taken in
 * groups of `group` (1: SMEMBERS; 2: HGETALL's field-value pairs), sorted
 * by their bytes. Returns a malloc'd copy; non-arrays are copied as is. */
char *cx_sorted(const char *reply, size_t len, int group);

/* The elements of a RESP2 array of bulk strings (or integers) at p: their
 * bytes in out[i] (pointing into p; NULL and 0 for a null bulk), at most
 * max of them. Returns the element count (-1: not such an array) and the
 * bytes the array takes in *used. */
long cx_items(const char *p, size_t n, const char **out, size_t *lens, long max, size_t *used);

#endif /* CHALK_TEST_CMDEXEC_H */
