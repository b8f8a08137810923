/*
 * repl_hooks.h — leader-follower replication: the hooks other server files
 * call (the only replication header they include; repl_internal.h has the
 * state the repl_*.c files share). docs/replication.md is the
 * chapter; the handshake state machine is drawn in repl_follower.c.
 *
 * The one idea: a Chalk leader ships its ENGINE BATCHES, not the commands
 * that produced them. Every batch that server_write() applies is captured
 * (repl_feed_batch) into the current "unit"; when the command (or the
 * EXEC, or the expire cycle) ends, the unit becomes ONE RESP command
 *
 *     CHALK.APPLY  P <engine key> <value> <expire_at_ms>  D <engine key> ...
 *
 * appended to the replication stream (backlog + every replica's output).
 * A follower applies it as one engine batch. Offsets count stream bytes,
 * exactly as Redis's master_repl_offset does, so PSYNC, WAIT, INFO and
 * `redis-cli --replica` all work unchanged.
 *
 * Files:
 *   repl_backlog.c   the circular backlog of the stream (partial resync)
 *   repl_stream.c    units → CHALK.APPLY, the stream fan-out, applying it
 *   repl_leader.c    replicas: REPLCONF, PSYNC decision, full-sync transfer
 *   repl_snapshot.c  the full-sync payload format (writer and reader)
 *   repl_follower.c  REPLICAOF, loading a full sync, the link, repl-state
 *   repl_handshake.c the handshake thread (connect ... PSYNC, snapshot in)
 *   repl_hooks.c     the hooks below, start-up, INFO replication
 *   cmd_repl.c       REPLICAOF SLAVEOF ROLE WAIT REPLCONF PSYNC SYNC
 */
#ifndef CHALK_REPL_HOOKS_H
#define CHALK_REPL_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <chalk/engine.h>

typedef struct client client;
struct command;

/* ---- hooks called from files owned by others ---------------------------- */
int  repl_init(void);                      /* server_init, after the engine */
void repl_shutdown(void);                  /* server_shutdown, before chalk_close */
/* Before any other chalk_close (DEBUG RELOAD): replicas in the middle of a
 * full sync are dropped, releasing their engine snapshots; they come back
 * and sync again. */
void repl_engine_closing(void);
void repl_feed_batch(const chalk_batch *b);/* server_write, after success */
void repl_end_unit(void);                  /* after a top-level command; before sleep */
void repl_before_sleep(void);              /* bounded full-sync work, thread results */
void repl_cron(int64_t now);               /* ACKs, pings, timeouts, reconnects */
void repl_client_free(client *c);          /* client_free_now */
bool repl_is_replica(void);                /* a follower of someone */
bool repl_is_master_link(const client *c); /* the follower's link to its leader */
/* process_command: the stream from our leader (never replied to, except
 * REPLCONF GETACK). Returns PC_DONE. */
int  repl_master_command(client *c);
/* process_command: false (and -READONLY replied) for a write on a
 * read-only replica. */
bool repl_command_allowed(client *c, const struct command *cmd);
/* CLIENT KILL TYPE: does client c have type `type` (normal, master,
 * replica, slave, pubsub)? */
bool repl_client_type_is(const client *c, const char *type);
/* INFO replication: the section's text (with its "# Replication" title),
 * NUL-terminated, into out. Returns its length. */
size_t repl_info(char *out, size_t cap);

#endif /* CHALK_REPL_HOOKS_H */
