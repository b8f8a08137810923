/*
 * multi.h — MULTI / EXEC / DISCARD / WATCH / UNWATCH (multi.c) and the hooks
 * other server files call. The commands' table rows are in cmd_multi.c.
 *
 * Hooks (each a single call in someone else's file):
 *   process_command  multi_flag_error() when a command is refused while
 *                    queueing (unknown, wrong arity, NOAUTH), then
 *                    multi_queue() before running anything
 *   server_write     multi_holds_reply() to learn whether this write holds
 *                    its own reply, multi_touch_batch() after every write
 *                    (commands, expiry, FLUSHALL...: they all pass there)
 *   client_free_now  multi_client_free()
 *   RESET            multi_reset()
 *
 * The design (the one idea, what is left out and what it costs, the
 * interview topics) is at the top of multi.c.
 */
#ifndef CHALK_MULTI_H
#define CHALK_MULTI_H

#include <stdbool.h>

#include <chalk/engine.h>

typedef struct client client;
struct command;

/* Inside MULTI, a command refused before it could be queued makes EXEC
 * fail with EXECABORT. No-op outside MULTI. */
void multi_flag_error(client *c);
/* Inside MULTI: queue cmd (reply +QUEUED, or refuse it) and return true;
 * EXEC, DISCARD, MULTI, WATCH, QUIT and RESET run at once (false). */
bool multi_queue(client *c, struct command *cmd);
/* false for the client whose EXEC runs: its writes share EXEC's one held
 * reply. */
bool multi_holds_reply(const client *c);
/* Every key written by b: the clients that WATCH it will fail their EXEC. */
void multi_touch_batch(const chalk_batch *b);
/* True while c's EXEC runs its queued commands (a blocking command must
 * then not block: Redis runs BLPOP in MULTI as LPOP). */
bool multi_in_exec(const client *c);
/* CLIENT LIST: queued commands (-1 outside MULTI), and whether a watched
 * key was touched (flag 'd': EXEC will fail). */
int  multi_queued(const client *c);
bool multi_dirty_cas(const client *c);
void multi_client_free(client *c);
void multi_reset(client *c);         /* DISCARD + UNWATCH, no reply */
/* 0, or the number of the watched-keys table invariant that is broken
 * (listed in multi.c). For asserts and tests. */
int multi_check_invariants(void);

/* At shutdown, after every client is freed (so no key is watched any
 * more): the WATCH table and EXEC's empty batch (server.multi). */
void multi_free_all(void);

/* The handlers, registered by cmd_multi.c. */
void multi_command(client *c);
void exec_command(client *c);
void discard_command(client *c);
void watch_command(client *c);
void unwatch_command(client *c);

#endif /* CHALK_MULTI_H */
