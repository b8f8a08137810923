/*
 * conn_internal.h — the inside of a chalkc_conn, shared by the files of
 * libchalk (conn.c, pubsub.c, pool.c); not part of the public API.
 *
 * The design (the one idea, what is left out and what it costs, the
 * interview topics) is at the top of conn.c.
 */
#ifndef CHALK_CLIENT_CONN_INTERNAL_H
#define CHALK_CLIENT_CONN_INTERNAL_H

#include <chalk/client.h>

struct chalkc_conn {
    int fd;                   /* the socket, non-blocking; -1 if none */
    int err;                  /* sticky CHALKC_E* once broken, else 0 */
    char errstr[256];         /* details of the last failure */
    int protocol;             /* 2, or 3 after HELLO 3 */
    int read_timeout_ms;      /* 0 = wait forever */
    int write_timeout_ms;     /* 0 = wait forever */
    char *out;                /* queued request bytes not yet written */
    size_t outlen, outcap;
    size_t owed;              /* replies the server still owes us */
    chalkc_reader *reader;    /* the reply parser and its input buffer */
    chalkc_wire_fn *wire_fn;  /* --wire tap, or NULL */
    void *wire_ud;
    chalkc_push_fn *push_fn;  /* RESP3 push handler, or NULL */
    void *push_ud;
    int64_t last_used_ms;     /* pool: when it was last returned */
    int subscribed;           /* SUBSCRIBE was sent: never pool it again */
};

/* Records a failure on c: err becomes sticky (0 records text only). */
int conn_fail(chalkc_conn *c, int err, const char *fmt, const char *detail);

#endif
