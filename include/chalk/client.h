/*
 * chalk/client.h — libchalk, the C client of Chalk (and of any server that
 * speaks RESP2/RESP3, such as redis-server). This header is the manual:
 * every function says what it takes, who owns the memory, what it returns
 * and every error it can return. docs/client.md is the chapter.
 *
 * Naming: the engine's embedded API (chalk/engine.h) owns the chalk_ and
 * CHALK_ prefixes; the client uses chalkc_ and CHALKC_ so that a program may
 * link both.
 *
 * The pieces, in reading order:
 *   reply.c      the reply tree and the RESP2/RESP3 reader (incremental,
 *                hostile-input safe)
 *   conn.c       a connection: TCP or unix socket, timeouts, commands from
 *                argv or a format, pipelining, AUTH, HELLO, pub/sub helpers
 *   format.c     the printf-like command builder
 *   pool.c       a connection pool (max size, wait timeout, health check)
 *   resilience.c retries with exponential backoff + full jitter, the
 *                circuit breaker
 *   ring.c md5.c consistent hashing, ketama-compatible (twemproxy)
 *   redlock.c    Redlock over N independent servers
 *
 * Errors: every function that can fail returns 0 (CHALKC_OK) or a negative
 * CHALKC_E* code; chalkc_strerror() names the code and chalkc_conn_errstr()
 * gives the details of a connection's last failure. A connection that hit a
 * timeout, an I/O error, a closed peer or a protocol error is BROKEN: the
 * reply stream is out of step, so every later call on it fails with the
 * same code; close it and connect again (the pool does this for you).
 *
 * Threading: a chalkc_conn is used by one thread at a time. A chalkc_pool
 * and a chalkc_breaker may be shared by threads (they lock internally).
 */
#ifndef CHALK_CLIENT_H
#define CHALK_CLIENT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------ */
enum chalkc_error {
    CHALKC_OK          =  0,
    CHALKC_ECONNECT    = -1,  /* connection refused / unreachable / no such
                                 unix socket */
    CHALKC_ERESOLVE    = -2,  /* the host name did not resolve */
    CHALKC_ETIMEOUT    = -3,  /* connect, read or write took longer than its
                                 timeout; the connection is broken */
    CHALKC_EIO         = -4,  /* read()/write() failed (errno in errstr) */
    CHALKC_ECLOSED     = -5,  /* the peer closed the connection, possibly
                                 in the middle of a reply */
    CHALKC_EPROTOCOL   = -6,  /* the bytes received are not valid RESP, or
                                 exceed a limit (CHALKC_MAX_*) */
    CHALKC_ESERVER     = -7,  /* the server answered with an error reply
                                 (-ERR ... or !<len>); the reply is still
                                 handed out so the caller can read it */
    CHALKC_ENOMEM      = -8,  /* an allocation failed */
    CHALKC_EINVAL      = -9,  /* a bad argument (NULL, bad format string) */
    CHALKC_EPOOL       = -10, /* the pool had no free connection within its
                                 wait timeout */
    CHALKC_EBREAKER    = -11, /* the circuit breaker is open: the call was
                                 not attempted */
    CHALKC_ENOTLOCKED  = -12, /* Redlock: a majority was not reached within
                                 the lock's validity time */
};

/* A static, human-readable name of a CHALKC_E* code. Never NULL. */
const char *chalkc_strerror(int err);

/* ---- replies ----------------------------------------------------------- */
/* Every RESP2 and RESP3 type. The first byte of each on the wire is given;
 * RESP3's blob error (!) is reported as CHALKC_REPLY_ERROR too. */
typedef enum chalkc_reply_type {
    CHALKC_REPLY_STATUS = 1,  /* +OK            simple string, in str/len  */
    CHALKC_REPLY_ERROR,       /* -ERR x  !<len> error text, in str/len     */
    CHALKC_REPLY_INTEGER,     /* :42            in integer                 */
    CHALKC_REPLY_STRING,      /* $<len>         bulk string, in str/len    */
    CHALKC_REPLY_NIL,         /* _  $-1  *-1    no value                   */
    CHALKC_REPLY_ARRAY,       /* *<n>           element[0..n)              */
    CHALKC_REPLY_MAP,         /* %<n>           element[0..2n): k,v,k,v    */
    CHALKC_REPLY_SET,         /* ~<n>           element[0..n)              */
    CHALKC_REPLY_ATTRIBUTE,   /* |<n>           k,v pairs; only ever found
                                                in reply->attribute        */
    CHALKC_REPLY_PUSH,        /* ><n>           out-of-band (pub/sub, ...) */
    CHALKC_REPLY_DOUBLE,      /* ,3.14          in dval; text in str/len   */
    CHALKC_REPLY_BOOL,        /* #t  #f         in integer (1 / 0)         */
    CHALKC_REPLY_BIGNUM,      /* (1234...       decimal digits in str/len  */
    CHALKC_REPLY_VERBATIM,    /* =<len>         format in vtype ("txt"),
                                                the text after "txt:" in
                                                str/len                    */
} chalkc_reply_type;

typedef struct chalkc_reply {
    chalkc_reply_type type;
    long long integer;             /* INTEGER, BOOL */
    double dval;                   /* DOUBLE */
    char *str;                     /* NUL-terminated; binary-safe with len */
    size_t len;                    /* bytes in str, without the NUL */
    char vtype[4];                 /* VERBATIM: "txt", "mkd", ... */
    size_t elements;               /* aggregates: number of element[] */
    struct chalkc_reply **element; /* aggregates: the children, owned */
    struct chalkc_reply *attribute;/* RESP3 attribute that preceded this
                                      reply (type ATTRIBUTE), or NULL; owned */
} chalkc_reply;

/* Frees a reply and everything under it. NULL is a no-op. */
void chalkc_reply_free(chalkc_reply *r);

/* A static name of a reply type ("array", "map", ...). */
const char *chalkc_reply_type_name(chalkc_reply_type t);

/* ---- the reader (the RESP parser on its own) ---------------------------- */
/* Limits that make a hostile or broken peer cost an error, never memory:
 * the reader never allocates from an announced length before the bytes
 * arrive, and nesting deeper than CHALKC_MAX_DEPTH is a protocol error. */
#define CHALKC_MAX_DEPTH     64                       /* aggregate nesting */
#define CHALKC_MAX_BULK      (512LL * 1024 * 1024)    /* like proto-max-bulk-len */
#define CHALKC_MAX_ELEMENTS  ((long long)INT32_MAX)   /* per aggregate */
#define CHALKC_MAX_LINE      (64 * 1024)              /* a header line: $, *, :... */

typedef struct chalkc_reader chalkc_reader;

/* A new, empty reader. Returns NULL when out of memory. */
chalkc_reader *chalkc_reader_new(void);
/* Frees the reader, its buffered bytes and any half-built reply. */
void chalkc_reader_free(chalkc_reader *r);
/* Appends len bytes (copied) to the reader's buffer.
 * Returns 0, CHALKC_ENOMEM, or CHALKC_EPROTOCOL if the reader already failed. */
int chalkc_reader_feed(chalkc_reader *r, const char *buf, size_t len);
/* Takes the next complete reply out of the buffered bytes.
 * Returns 1 with *out set (caller frees it with chalkc_reply_free), 0 when
 * more bytes are needed (*out = NULL), or CHALKC_EPROTOCOL / CHALKC_ENOMEM
 * (*out = NULL). An error is sticky: the reader fails from then on;
 * chalkc_reader_errstr() says what was wrong and where. */
int chalkc_reader_get(chalkc_reader *r, chalkc_reply **out);
/* The last error's description, or "" if none. Owned by the reader. */
const char *chalkc_reader_errstr(const chalkc_reader *r);
/* Bytes buffered but not yet consumed by a complete reply. */
size_t chalkc_reader_pending(const chalkc_reader *r);
/* 1 if the reader is in the middle of a reply (bytes buffered, or an
 * aggregate or attribute begun but not finished), else 0. */
int chalkc_reader_busy(const chalkc_reader *r);

/* ---- connections ------------------------------------------------------- */
typedef struct chalkc_options {
    const char *host;        /* "127.0.0.1" or a name; ignored if unix_path */
    int port;                /* TCP port (default 6379 when 0) */
    const char *unix_path;   /* connect to this unix socket instead, or NULL */
    int connect_timeout_ms;  /* 0 = wait as long as the kernel does */
    int read_timeout_ms;     /* bounds the wait for each whole reply;
                                0 = no timeout */
    int write_timeout_ms;    /* per flush; 0 = no timeout */
    const char *user;        /* AUTH user (ACL), or NULL for "default" */
    const char *password;    /* AUTH password, or NULL for no AUTH */
    int protocol;            /* 2 or 3: send HELLO <n> at connect; 0 = send
                                nothing and speak whatever the server does
                                (RESP2 for redis-server) */
    int db;                  /* SELECT db at connect when > 0 */
} chalkc_options;

/* Fills o with the defaults: 127.0.0.1:6379, connect timeout 2000 ms, no
 * read/write timeout, no AUTH, protocol 0, db 0. */
void chalkc_options_init(chalkc_options *o);

typedef struct chalkc_conn chalkc_conn;

/* Connects, then runs HELLO (when protocol is 2 or 3, carrying AUTH), or
 * AUTH (when a password is set and protocol is 0), then SELECT (db > 0).
 * On success *out is a connection the caller frees with chalkc_close().
 * On failure *out is NULL and, if errbuf is not NULL, a description is
 * written there (errbuf_len bytes at most).
 * Returns 0, CHALKC_EINVAL, CHALKC_ERESOLVE, CHALKC_ECONNECT, CHALKC_ETIMEOUT,
 * CHALKC_ENOMEM, CHALKC_EIO, CHALKC_ECLOSED, CHALKC_EPROTOCOL, or
 * CHALKC_ESERVER (AUTH/HELLO/SELECT refused: wrong password, NOPROTO...). */
int chalkc_connect(const chalkc_options *opt, chalkc_conn **out,
                   char *errbuf, size_t errbuf_len);
/* Closes the socket and frees the connection and its queued output. */
void chalkc_close(chalkc_conn *c);
/* The details of the last failure on c ("" if none). Owned by c. */
const char *chalkc_conn_errstr(const chalkc_conn *c);
/* 0 if usable, or the sticky error code that broke the connection. */
int chalkc_conn_error(const chalkc_conn *c);
/* The RESP version in use: 3 after a successful HELLO 3, else 2. */
int chalkc_conn_protocol(const chalkc_conn *c);
/* The socket's file descriptor (for poll()), or -1. */
int chalkc_conn_fd(const chalkc_conn *c);

/* A one-command round trip: queue, flush, read one reply.
 * argv[i] is argvlen[i] bytes (binary-safe); argvlen may be NULL, then each
 * argv[i] is a C string. The bytes are copied before the call returns.
 * Returns 0 with *out set; CHALKC_ESERVER with *out set to the error reply;
 * or a negative code (the connection errors listed at chalkc_connect, and
 * CHALKC_EINVAL) with *out NULL. The caller frees *out. */
int chalkc_command_argv(chalkc_conn *c, int argc, const char *const *argv,
                        const size_t *argvlen, chalkc_reply **out);
/* The same with a printf-like format, split into arguments at spaces:
 *   %s  a C string            %b  binary: (const void *ptr, size_t len)
 *   %d  int   %lld long long  %zu size_t   %f  double   %%  a literal %
 * A conversion inside a word joins it ("key:%d" is one argument); an
 * argument from %s or %b may contain spaces. Unknown conversions fail with
 * CHALKC_EINVAL before anything is sent. Returns as chalkc_command_argv. */
int chalkc_command(chalkc_conn *c, chalkc_reply **out, const char *fmt, ...);
int chalkc_vcommand(chalkc_conn *c, chalkc_reply **out, const char *fmt,
                    va_list ap);

/* Pipelining: queue commands without waiting, then read their replies in
 * order. chalkc_append* only buffer (no I/O); chalkc_get_reply flushes the
 * queued bytes on its first call and then reads one reply per call, so N
 * queued commands cost one round trip instead of N.
 * chalkc_append_argv/chalkc_appendf return 0, CHALKC_EINVAL or CHALKC_ENOMEM
 * (or the connection's sticky error). chalkc_get_reply returns as
 * chalkc_command_argv. chalkc_pending_replies() counts replies owed. */
int chalkc_append_argv(chalkc_conn *c, int argc, const char *const *argv,
                       const size_t *argvlen);
int chalkc_appendf(chalkc_conn *c, const char *fmt, ...);
int chalkc_flush(chalkc_conn *c);
int chalkc_get_reply(chalkc_conn *c, chalkc_reply **out);
size_t chalkc_pending_replies(const chalkc_conn *c);

/* Builds the RESP bytes of a command from a format (see chalkc_command)
 * into a new buffer *out of *outlen bytes that the caller frees with free().
 * Returns 0, CHALKC_EINVAL or CHALKC_ENOMEM. Exposed for tests and tools. */
int chalkc_format_command(char **out, size_t *outlen, const char *fmt,
                          va_list ap);
/* Builds a command's RESP bytes from argv (argvlen may be NULL). */
int chalkc_format_argv(char **out, size_t *outlen, int argc,
                       const char *const *argv, const size_t *argvlen);

/* The wire tap (chalk-cli --wire): fn is called with every chunk of bytes
 * written (dir 'S', sent) and read (dir 'R', received), before parsing.
 * fn must not call back into c. NULL removes the tap. */
typedef void chalkc_wire_fn(void *ud, char dir, const char *buf, size_t len);
void chalkc_set_wire_tap(chalkc_conn *c, chalkc_wire_fn *fn, void *ud);

/* Push handler (RESP3): when set, push replies (type PUSH) that arrive
 * while chalkc_get_reply waits for a regular reply are handed to fn (which
 * takes ownership) and skipped. When unset, pushes are returned by
 * chalkc_get_reply like any reply, which is what a subscriber loop wants. */
typedef void chalkc_push_fn(void *ud, chalkc_reply *push);
void chalkc_set_push_handler(chalkc_conn *c, chalkc_push_fn *fn, void *ud);

/* AUTH [user] password. Returns 0, CHALKC_ESERVER (refused), or a
 * connection error. */
int chalkc_auth(chalkc_conn *c, const char *user, const char *password);
/* HELLO <protover> [AUTH user password]: switches the protocol to 2 or 3.
 * *out (optional, may be NULL) receives the server's hello map.
 * Returns 0, CHALKC_ESERVER (e.g. NOPROTO from a RESP2-only server),
 * CHALKC_EINVAL (protover not 2 or 3), or a connection error. */
int chalkc_hello(chalkc_conn *c, int protover, const char *user,
                 const char *password, chalkc_reply **out);

/* ---- pub/sub ------------------------------------------------------------ */
/* Pub/sub works in both protocols: in RESP2 the connection enters
 * "subscribed mode" and messages arrive as 3-element arrays; in RESP3 they
 * arrive as push replies. chalkc_subscribe sends SUBSCRIBE (or PSUBSCRIBE
 * when pattern is 1) for n channels and does not wait: the confirmations
 * arrive like messages, through chalkc_get_reply. Returns as
 * chalkc_append_argv plus the flush's connection errors. */
int chalkc_subscribe(chalkc_conn *c, int pattern, int n,
                     const char *const *channels);
typedef struct chalkc_message {
    const char *kind;       /* "message", "pmessage", "subscribe", ... */
    const char *pattern;    /* pmessage: the matching pattern, else NULL */
    const char *channel;    /* the channel */
    const char *payload;    /* message: the data; subscribe: NULL */
    size_t payload_len;
    long long count;        /* subscribe/unsubscribe: subscriptions left */
} chalkc_message;
/* Reads a pub/sub reply (RESP2 array or RESP3 push) into m, whose pointers
 * point into r (valid while r lives). Returns 0, or CHALKC_EPROTOCOL if r is
 * not a pub/sub message. */
int chalkc_message_parse(const chalkc_reply *r, chalkc_message *m);

/* ---- connection pool ---------------------------------------------------- */
typedef struct chalkc_pool chalkc_pool;
typedef struct chalkc_pool_options {
    chalkc_options conn;      /* how to connect each connection (copied;
                                 the strings must outlive the pool) */
    int max_size;             /* at most this many connections exist */
    int wait_timeout_ms;      /* borrow waits this long for a free one */
    int health_check_idle_ms; /* PING a connection on borrow if it sat idle
                                 at least this long; 0 = PING every borrow,
                                 -1 = never */
} chalkc_pool_options;
typedef struct chalkc_pool_stats {
    int size;             /* connections open (idle + borrowed) */
    int idle;             /* open and waiting in the pool */
    long long created;    /* connections ever opened */
    long long discarded;  /* closed because broken or failing the check */
    long long waits;      /* borrows that had to wait */
    long long timeouts;   /* borrows that gave up (CHALKC_EPOOL) */
} chalkc_pool_stats;

/* Creates an empty pool (connections open lazily). Returns 0, CHALKC_EINVAL
 * (max_size < 1) or CHALKC_ENOMEM. Free with chalkc_pool_free(). */
int chalkc_pool_new(const chalkc_pool_options *o, chalkc_pool **out);
/* Closes every idle connection and frees the pool. Every borrowed
 * connection must have been returned first. */
void chalkc_pool_free(chalkc_pool *p);
/* Hands out a healthy connection: an idle one (PINGed first if idle long
 * enough; a failing one is discarded and the next tried), or a new one if
 * fewer than max_size exist, or waits up to wait_timeout_ms for a return.
 * Returns 0 with *out set, CHALKC_EPOOL (waited too long), or a connect
 * error (the server is down). */
int chalkc_pool_borrow(chalkc_pool *p, chalkc_conn **out);
/* Gives c back. A broken connection (chalkc_conn_error() != 0), one with
 * replies still owed, or one that subscribed (chalkc_subscribe) is closed
 * instead of pooled. */
void chalkc_pool_return(chalkc_pool *p, chalkc_conn *c);
void chalkc_pool_get_stats(chalkc_pool *p, chalkc_pool_stats *s);

/* ---- resilience: circuit breaker and retries ----------------------------- */
typedef enum chalkc_breaker_state {
    CHALKC_BREAKER_CLOSED = 0,  /* calls flow; failures are counted */
    CHALKC_BREAKER_OPEN,        /* calls fail fast until the cool-down ends */
    CHALKC_BREAKER_HALF_OPEN,   /* one trial call is let through */
} chalkc_breaker_state;

typedef struct chalkc_breaker chalkc_breaker;
/* A breaker that opens after failure_threshold consecutive failures and
 * lets one trial through after cooldown_ms. Returns NULL on ENOMEM. */
chalkc_breaker *chalkc_breaker_new(int failure_threshold, int cooldown_ms);
void chalkc_breaker_free(chalkc_breaker *b);
/* May a call go ahead at now_ms (a monotonic clock, chalkc_now_ms())?
 * Returns 0 (yes; in HALF_OPEN only the first asker gets 0) or
 * CHALKC_EBREAKER. */
int chalkc_breaker_allow(chalkc_breaker *b, int64_t now_ms);
/* Reports the outcome of an allowed call (ok = 1 success, 0 failure). */
void chalkc_breaker_record(chalkc_breaker *b, int ok, int64_t now_ms);
chalkc_breaker_state chalkc_breaker_get_state(chalkc_breaker *b);
const char *chalkc_breaker_state_name(chalkc_breaker_state s);
/* Monotonic milliseconds (CLOCK_MONOTONIC). */
int64_t chalkc_now_ms(void);

typedef struct chalkc_retry_policy {
    int max_attempts;   /* total tries, >= 1 */
    int base_delay_ms;  /* the first backoff cap */
    int max_delay_ms;   /* no backoff cap grows beyond this */
} chalkc_retry_policy;
/* The full-jitter backoff before retry number attempt (0-based): a uniform
 * random delay in [0, min(max_delay, base_delay * 2^attempt)], drawn from
 * *rng (any nonzero seed; updated). */
int chalkc_backoff_ms(const chalkc_retry_policy *p, int attempt, uint64_t *rng);
/* Is err worth retrying? Connection-level failures only (ECONNECT, ETIMEOUT,
 * EIO, ECLOSED, EPOOL); never ESERVER or EPROTOCOL. Returns 1 or 0. */
int chalkc_error_is_transient(int err);

/* One command through pool + breaker + retries: borrows, runs, returns.
 * A transient failure is retried (after a jittered backoff) ONLY when
 * idempotent is 1: a timed-out INCR may have run, and retrying it would
 * count twice. breaker may be NULL; policy NULL = one attempt.
 * Returns as chalkc_command_argv, plus CHALKC_EBREAKER and CHALKC_EPOOL. */
int chalkc_call(chalkc_pool *p, chalkc_breaker *b,
                const chalkc_retry_policy *policy, int idempotent, int argc,
                const char *const *argv, const size_t *argvlen,
                chalkc_reply **out);

/* ---- consistent hashing (ketama) ----------------------------------------- */
typedef struct chalkc_ring chalkc_ring;
/* Builds twemproxy's ketama continuum (distribution: ketama, hash: md5) for
 * n servers named names[i] (twemproxy's server name: the name given in its
 * config, else "host:port", else just "host" when the port is 11211 — the
 * ring hashes exactly the names it is given, so that rule is the caller's)
 * with weights[i] >= 1 (NULL = all 1).
 * Returns 0, CHALKC_EINVAL or CHALKC_ENOMEM. Free with chalkc_ring_free. */
int chalkc_ring_new(int n, const char *const *names, const int *weights,
                    chalkc_ring **out);
void chalkc_ring_free(chalkc_ring *r);
/* The index (0..n-1) of the server that owns key. */
int chalkc_ring_lookup(const chalkc_ring *r, const void *key, size_t len);
/* Number of points on the continuum (160 per server for equal weights). */
size_t chalkc_ring_points(const chalkc_ring *r);
/* twemproxy's md5 key hash: the first 4 digest bytes, little-endian. */
uint32_t chalkc_ketama_hash(const void *key, size_t len, unsigned alignment);
/* MD5 of len bytes into digest[16]. */
void chalkc_md5(const void *data, size_t len, unsigned char digest[16]);

/* ---- Redlock ------------------------------------------------------------ */
typedef struct chalkc_redlock_result {
    char token[33];      /* the random value set on each server (hex) */
    int acquired_on;     /* servers that said OK */
    int64_t validity_ms; /* time left on the lock after acquisition */
} chalkc_redlock_result;
/* Tries once to take `resource` on a majority of the n connections with
 * SET resource token NX PX ttl_ms. Success needs n/2+1 OKs AND a positive
 * validity: ttl - elapsed - drift, drift = ttl/100 + 2 ms (clock drift
 * between servers). On failure the partial locks are released.
 * Returns 0 (res filled), CHALKC_ENOTLOCKED, CHALKC_EINVAL or CHALKC_ENOMEM.
 * Per-server connection errors count as "not acquired there". */
int chalkc_redlock_lock(chalkc_conn *const *conns, int n, const char *resource,
                        int ttl_ms, chalkc_redlock_result *res);
/* Releases on every server, deleting the key only where its value is still
 * our token (WATCH/GET/MULTI/DEL/EXEC: no EVAL needed). Returns the number
 * of servers where our lock was deleted (>= 0). */
int chalkc_redlock_unlock(chalkc_conn *const *conns, int n,
                          const char *resource, const char *token);
/* Compare-and-delete on one server: deletes key iff its value is token.
 * Returns 1 (deleted), 0 (not ours, or changed under us), or a negative
 * connection error. */
int chalkc_compare_and_delete(chalkc_conn *c, const char *key,
                              const char *token);

#ifdef __cplusplus
}
#endif
#endif
