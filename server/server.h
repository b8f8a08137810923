/*
 * server.h — the shapes every server file shares: the one `server` struct
 * (the only global mutable state in chalk-server), the client (one
 * connection), and the functions the files call across each other.
 *
 * The one idea: a client is a pair of byte queues (query buffer in, reply
 * blocks out) plus a little state; the event loop moves bytes between the
 * socket and those queues, the command thread turns query bytes into reply
 * bytes. Nothing else touches a client.
 *
 * Left out on purpose: threads for I/O (Redis 6's io-threads). One thread
 * runs the loop and every command, which makes every command atomic for
 * free; the cost is that one core bounds throughput (see docs/server.md).
 *
 * Interview topics: perf.single-thread (server.c), perf.io-model (loop.h).
 */
#ifndef CHALK_SERVER_H
#define CHALK_SERVER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <chalk/engine.h>

#include "config.h"
#include "group_commit.h"
#include "resp_parse.h"

#define CHALK_REDIS_VERSION "7.2.4"   /* what clients see as redis_version */

typedef struct client client;
typedef struct loop loop;
struct command;

/* ---- reply blocks ------------------------------------------------------ */
/* The output of a client is a chain of blocks. Blocks never move once
 * written, so an io_uring send may point into one while commands keep
 * appending to the tail. */
typedef struct reply_block {
    struct reply_block *next;
    size_t size;             /* capacity of buf */
    size_t used;             /* bytes written into buf */
    size_t sent;             /* bytes of buf already handed to the socket */
    char buf[];
} reply_block;

/* ---- client flags ------------------------------------------------------ */
enum {
    CLIENT_CLOSE_AFTER_REPLY = 1 << 0,  /* QUIT, protocol error: flush, close */
    CLIENT_CLOSE_ASAP        = 1 << 1,  /* close without flushing */
    CLIENT_PENDING_WRITE     = 1 << 2,  /* on server.pending_writes */
    CLIENT_UNIX_SOCKET       = 1 << 3,
    CLIENT_LOCAL             = 1 << 4,  /* loopback or unix socket peer */
    CLIENT_MONITOR           = 1 << 5,
    CLIENT_NO_EVICT          = 1 << 6,
    CLIENT_READ_PAUSED       = 1 << 7,  /* the loop is not reading it */
    CLIENT_IN_READY          = 1 << 8,  /* on server.ready list */
    CLIENT_ON_CLOSE_LIST     = 1 << 9,  /* on server.to_close */
    CLIENT_WAITING           = 1 << 10, /* a command waits (pause, hold ring full) */
    CLIENT_DRAINING          = 1 << 11, /* closed; waiting for in-flight I/O */
    CLIENT_WATCH_HANGUP      = 1 << 12, /* not read, but its hangup is watched (blocked) */
};

/* Replies held for a group commit: the absolute output offset where each
 * uncommitted write's reply starts, oldest first (see hold_reply_begin). */
#define CLIENT_MAX_HELD 64

struct client {
    uint64_t id;              /* CLIENT ID: unique, increasing */
    int fd;
    uint32_t flags;           /* CLIENT_* */
    int resp;                 /* protocol: 2 or 3 (HELLO) */
    int db;                   /* SELECTed database */
    bool authenticated;
    char *name;               /* CLIENT SETNAME, or NULL */
    char lib_name[64];        /* CLIENT SETINFO lib-name */
    char lib_ver[32];
    char addr[64];            /* peer "ip:port" or the unix path */
    char laddr[64];           /* local end */
    int64_t ctime_ms;         /* connected at */
    int64_t last_ms;          /* last interaction (timeout, CLIENT LIST idle) */
    const char *last_cmd;     /* name of the last command run */

    /* input */
    char *qbuf;               /* query buffer: bytes read, not yet parsed */
    size_t qcap, qlen, qpos;  /* capacity, bytes in it, parse position */
    resp_parser parser;       /* state of the request being parsed */
    int argc;                 /* the parsed command (argv owned by parser) */
    resp_arg *argv;

    /* output */
    reply_block *reply_head, *reply_tail;
    size_t reply_bytes;       /* bytes queued, not yet sent */
    uint64_t out_total;       /* bytes ever appended (absolute offsets) */
    uint64_t out_sent;        /* bytes ever sent */
    int64_t soft_limit_since; /* when it first went over the soft limit */

    /* group commit: replies held until their write is durable */
    uint64_t held[CLIENT_MAX_HELD]; /* ring of absolute output offsets */
    int held_head, held_count;
    int commits_pending;      /* chalk_write callbacks not yet delivered */

    /* event-loop bookkeeping (the backend's, opaque to everyone else) */
    int io_inflight;          /* uring: SQEs submitted, CQEs not yet seen */
    bool io_send_inflight;
    bool io_recv_inflight;
    bool io_hangup_inflight;  /* uring: a poll for the peer's hangup */
    bool epoll_out;           /* epoll: EPOLLOUT armed */
    void *iovs;               /* uring: msghdr + iovecs of the send in flight */

    client *prev, *next;      /* server.clients */
    client *pw_next;          /* server.pending_writes */
    client *ready_next;       /* server.ready: has unparsed bytes to run */
    client *close_next;       /* server.to_close */
    bool cmd_ready;           /* argv parsed, waiting to run (paused) */
    struct multi_state *mstate; /* multi.c: MULTI queue, WATCHed keys; NULL if unused */
    struct blocked_state *blocked; /* blocking.c: non-NULL while BLPOP & co. wait */
    struct pubsub_client *pubsub;  /* pubsub.c: its channels and patterns, or NULL */
};

/* ---- the server -------------------------------------------------------- */
#define MAX_LISTENERS 8
#define SLOWLOG_MAX_ARGS 32

typedef struct slowlog_entry {
    uint64_t id;
    int64_t time_s;
    int64_t duration_us;
    int argc;                 /* as stored (<= SLOWLOG_MAX_ARGS) */
    char **argv;
    size_t *arglen;
    char addr[64];
    char name[64];
} slowlog_entry;

typedef struct latency_event {
    char name[32];
    int64_t last_time_s, last_ms, max_ms;
    int64_t hist_time[160];   /* LATENCY HISTORY ring: time, latency ms */
    int64_t hist_ms[160];
    int hist_len, hist_next;
} latency_event;

struct server {
    chalk_config cfg;                 /* every setting (config.c) */
    chalk_db *db;                     /* the engine */
    loop *loop;
    const struct loop_backend *io;    /* the chosen backend */
    char config_file[4096];           /* "" if none */
    char exec_path[4096];
    pid_t pid;
    char run_id[41];
    int64_t start_ms;
    int listen_fds[MAX_LISTENERS];
    bool listen_unix[MAX_LISTENERS];
    int nlisten;
    int engine_fd;                    /* chalk_event_fd, -1 without engine */

    client *clients;                  /* every connection */
    uint64_t nclients;
    uint64_t next_client_id;
    client *pending_writes;           /* have output to flush before sleep */
    client *ready;                    /* have complete commands to run */
    client *to_close;                 /* closed asynchronously, freed before sleep */
    uint64_t nmonitors;
    long nblocked;                    /* clients waiting in BLPOP & co. (blocking.c) */

    volatile sig_atomic_t shutdown_signal; /* set by the signal handler */
    bool shutdown_asap;               /* SHUTDOWN command */
    int64_t pause_end_ms;             /* CLIENT PAUSE */
    bool pause_all;                   /* ALL (true) or WRITE (false) */

    /* stats (INFO stats), all true counters */
    uint64_t stat_connections, stat_rejected_conn, stat_commands;
    uint64_t stat_net_in, stat_net_out;
    uint64_t stat_keyspace_hits, stat_keyspace_misses, stat_expired_keys;
    uint64_t stat_evicted_clients_obl, stat_total_errors;
    uint64_t stat_io_reads, stat_io_writes, stat_io_submits;
    uint64_t ops_sample_cmds[16], ops_sample_in[16], ops_sample_out[16];
    int64_t ops_sample_ms[16];
    int ops_sample_idx;
    int64_t last_save_s;
    uint64_t dirty;                   /* writes since the last SAVE */
    struct group_commit gc;           /* when a group commit closes (group_commit.c) */
    uint64_t unexpected_errors;

    slowlog_entry *slowlog;           /* ring, cfg.slowlog_max_len */
    size_t slowlog_len, slowlog_cap, slowlog_next;
    uint64_t slowlog_next_id;
    struct {                          /* commands.c, call(): the end of one command */
        uint64_t client_id;           /* whose command ended at end_us (0: none) */
        int64_t end_us;
        uint64_t net_in;              /* stat_net_in at that moment */
    } cmd_clock;
    latency_event latency[8];
    int nlatency;
    struct { char prefix[32]; uint64_t count; } errorstats[64]; /* INFO errorstats */
    int nerrorstats;

    struct command *commands;         /* the dispatch table (commands.c) */
    int ncommands;
    struct command *lookup_last;      /* command_lookup's last answer (commands.c) */
    chalk_batch *scratch;             /* reused by server_put/server_del */
    struct multi_shared *multi;       /* multi.c: WATCHed keys → clients, EXEC state */
    struct pubsub_server *pubsub;     /* pubsub.c: channel → subscribers, patterns */
    struct repl_state *repl;          /* repl_*.c: role, stream, replicas, link */
};

extern struct server server;

/* ---- log.c --------------------------------------------------------------- */
enum { LL_DEBUG = 0, LL_VERBOSE, LL_NOTICE, LL_WARNING, LL_NOTHING };
void server_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void server_log_engine(void *arg, enum chalk_log_level level, const char *msg);
int64_t now_ms(void);
int64_t now_us(void);

/* ---- networking.c: clients, buffers -------------------------------------- */
client *client_create(int fd, uint32_t flags);
void client_close(client *c);           /* frees now or once I/O drains */
void client_free_now(client *c);        /* only when no I/O is in flight */
void client_close_async(client *c);     /* close at the next safe point */
void client_wants_write(client *c);     /* queue on server.pending_writes */
int  client_read_space(client *c, char **buf, size_t *len);
void client_on_read(client *c, ssize_t n);
void client_on_hangup(client *c);       /* a watched (blocked) peer left */
void client_process_input(client *c);
size_t client_out_iov(client *c, void *iov, size_t max, size_t *bytes);
void client_on_sent(client *c, ssize_t n);
bool client_has_sendable(const client *c);
void client_reset_args(client *c);
void accept_on_listener(int lfd);
void client_accepted(int fd, int lfd);
void handle_pending_writes(void);
void process_ready_clients(void);
void client_unblock(client *c);
void clients_cron(int64_t now);
void free_closing_clients(void);
void client_make_ready(client *c);

/* ---- the group-commit hold (networking.c) -------------------------------- */
/* A write command whose reply must wait for durability calls
 * hold_reply_begin(c) BEFORE writing its reply; the engine callback calls
 * hold_reply_release(c, status). Until then the reply (and every reply
 * after it, to keep order) stays queued. */
int  hold_reply_begin(client *c);
void hold_reply_release(client *c, int status);

/* ---- server.c ------------------------------------------------------------ */
int  server_init(void);
int  server_run(void);
void server_shutdown(void);
void server_before_sleep(void);
void server_on_engine_event(void);
int  server_open_engine(void);
const char *server_io_backend_name(void);

/* ---- monitor / slowlog / latency (cmd_server.c) -------------------------- */
void monitor_feed(client *c);
void slowlog_push(client *c, int64_t duration_us);
void latency_add_sample(const char *event, int64_t ms);
void slowlog_free_all(void);

/* ---- cmd_client.c ------------------------------------------------------- */
/* Set or clear (NULL) a client's name; replies the error and returns -1 if
 * the name has spaces or special characters. */
int client_set_name(client *c, const char *name);

#endif /* CHALK_SERVER_H */
