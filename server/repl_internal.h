/*
 * repl_internal.h — what the repl_*.c files share: the backlog, the
 * full-sync payload's writer and reader, the replication state (one
 * struct, hanging off server.repl) and the functions the files call
 * across each other. Other server files include repl_hooks.h only.
 */
#ifndef CHALK_REPL_INTERNAL_H
#define CHALK_REPL_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "repl_hooks.h"

/* ---- the backlog (repl_backlog.c) --------------------------------------- */
typedef struct repl_backlog {
    char *buf;                /* size bytes, circular */
    size_t size;              /* repl-backlog-size */
    size_t idx;               /* where the next byte goes */
    size_t histlen;           /* valid bytes, <= size */
    long long end_offset;     /* stream offset of the last byte written */
} repl_backlog;

repl_backlog *backlog_new(size_t size);    /* NULL on ENOMEM */
void backlog_free(repl_backlog *bl);
void backlog_append(repl_backlog *bl, const void *p, size_t len);
/* Offset of the first byte still held (end_offset + 1 when empty). */
long long backlog_first_offset(const repl_backlog *bl);
/* Copy the bytes from stream offset `from` (>= first, <= end+1) to the end
 * through fn in at most two pieces. 0, or -1 if `from` is not covered. */
int backlog_copy_from(const repl_backlog *bl, long long from,
                      void (*fn)(void *arg, const char *p, size_t len), void *arg);
/* The invariants (repl_backlog.c); 0 if they hold. */
int backlog_check_invariants(const repl_backlog *bl);

/* ---- the full-sync payload (repl_snapshot.c) ---------------------------- */
struct XXH64_state_s;
typedef struct snap_writer {
    chalk_snapshot *snap;        /* the data as of the snapshot point */
    chalk_iter *it;              /* where the transfer is */
    struct XXH64_state_s *hash;  /* of the payload bytes so far */
    uint64_t records;
} snap_writer;
/* Acquire the snapshot and write the payload header to out. */
int  snapw_begin(snap_writer *w, client *out);
/* 1 done (trailer written), 0 more to do, negative CHALK_E*. */
int  snapw_step(snap_writer *w, client *out, size_t budget);
void snapw_free(snap_writer *w);
/* Read exactly n bytes: 0, or -1 (EOF, timeout, error). */
typedef int (*snap_read_fn)(void *arg, void *buf, size_t n);
/* Receive and verify a payload, copying it to out. 0 or -1 with err. */
int  snap_receive(snap_read_fn rd, void *arg, FILE *out, uint64_t *records,
                  char *err, size_t errlen);
/* Replace the data set with the (verified) payload file. CHALK_OK or error. */
int  snap_load_file(const char *path, uint64_t *records);

/* ---- the handshake thread (repl_handshake.c) --------------------------- */
enum { HS_RUNNING, HS_DONE, HS_ABANDONED };
enum { HS_ERROR, HS_FULL, HS_CONTINUE };

/* One handshake attempt: filled by the main thread, then owned by the
 * thread until phase leaves HS_RUNNING (repl_handshake.c). */
struct repl_handshake {
    pthread_t tid;
    atomic_int phase;            /* HS_RUNNING → HS_DONE | HS_ABANDONED */
    /* in: a copy, the thread never reads server state */
    char host[256];
    int port, my_port, timeout_ms;
    char user[128], pass[512];
    char replid[41];
    long long want;              /* first stream byte wanted; -1 = "PSYNC ? -1" */
    char tmp_path[4200];
    /* out */
    int fd;
    int result;                  /* HS_* */
    char new_replid[41];
    long long new_offset;
    char err[300];
    uint64_t records;
    /* the thread's buffered reader; what is left after the payload is
     * the start of the stream */
    char buf[64 * 1024];
    size_t bpos, blen;
};

/* The thread's body: connect, greet, PSYNC, receive a snapshot. */
void *hs_thread(void *arg);
/* Close the socket (if still ours) and free. */
void hs_free(struct repl_handshake *h);

/* ---- shared state (hangs off server.repl) ------------------------------- */
enum repl_link {                 /* follower side, see repl_follower.c */
    LINK_NONE = 0,               /* a leader: nobody to follow */
    LINK_CONNECT,                /* must (re)connect when next_attempt_ms comes */
    LINK_HANDSHAKE,              /* the handshake thread runs */
    LINK_CONNECTED,              /* the stream flows (master client exists) */
};

struct repl_replica;             /* repl_leader.c */
struct repl_handshake;           /* repl_follower.c */

struct repl_state {
    /* identity and stream position (PSYNC2) */
    char replid[41];             /* the history we are a part of */
    char replid2[41];            /* the previous one (after a promotion) */
    long long offset;            /* master_repl_offset: last stream byte */
    long long second_offset;     /* replid2 is valid up to here (+1); -1 */
    repl_backlog *backlog;       /* NULL until the first replica */
    char *unit;                  /* RESP args of the unit being captured */
    size_t unit_len, unit_cap;
    long unit_args;              /* arguments in unit (after the name) */
    chalk_batch *apply;          /* follower: reused for each CHALK.APPLY */
    char *fwd;                   /* follower: reused to re-encode a command */
    size_t fwd_cap;

    /* leader side */
    struct repl_replica *replicas;
    int nreplicas;               /* after PSYNC/SYNC (connected_slaves) */
    uint64_t sync_full, sync_partial_ok, sync_partial_err;
    char last_psync_decision[200];
    int64_t last_ping_ms;

    /* follower side */
    enum repl_link link;
    char master_host[256];
    int master_port;
    client *master;              /* LINK_CONNECTED: the link as a client */
    struct repl_handshake *hs;   /* LINK_HANDSHAKE: the thread's job */
    int64_t next_attempt_ms;     /* LINK_CONNECT: when to try */
    int64_t backoff_ms;          /* doubles per failure, 100 ms .. 5 s */
    int64_t last_io_ms;          /* last byte from the leader */
    int64_t last_ack_ms;
    int64_t link_down_since_ms;
    long long saved_offset;      /* offset last written to repl-state */
    uint64_t load_keys;          /* keys loaded by the last full sync */

    /* WAIT */
    struct repl_waiter *waiters;
};

/* repl_stream.c */
void stream_feed_bytes(const char *p, size_t len);   /* backlog + replicas */
long long stream_resp_size(const client *c);         /* bytes of c->argv as RESP */
int  stream_apply(client *c);                        /* CHALK.APPLY on a follower */
int  stream_ensure_backlog(void);
void repl_new_replid(char out[41]);

/* repl_leader.c */
void leader_feed(const char *p, size_t len);         /* every replica */
void leader_drop_all_replicas(const char *why);
void leader_drop_syncing_replicas(void);
void leader_tick(void);
void leader_cron(int64_t now);
int  leader_count_acked(long long offset);
void leader_send_getack(void);
void leader_replconf(client *c);
void leader_psync(client *c, bool is_sync);
size_t leader_info(char *out, size_t cap);
bool leader_is_replica_client(const client *c);
void leader_forget(client *c);
void leader_forget_waiter(client *c);
void leader_shutdown(void);
void leader_wait(client *c, long numreplicas, long long timeout_ms);
void leader_role(client *c);

/* repl_follower.c */
int  follower_start(const char *host, int port);
void follower_stop(void);
void follower_tick(void);
void follower_cron(int64_t now);
size_t follower_info(char *out, size_t cap);
void follower_forget(client *c);
void follower_role(client *c);
void follower_save_state(void);
void follower_forget_position(void);
int  follower_init(void);
void follower_shutdown(void);

#endif /* CHALK_REPL_INTERNAL_H */
