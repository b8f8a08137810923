/*
 * reply.h — writing replies: one function per RESP type. Each appends to the
 * client's output blocks; nothing is sent until the loop flushes them
 * before it sleeps (many replies, one send).
 *
 * RESP3 types degrade to RESP2 per connection, as Redis does: map → flat
 * array of 2n, set/push → array, double/big number/verbatim → bulk string,
 * boolean → integer 1/0, null → $-1 (or *-1 for a null array).
 *
 * The design (the one idea, what is left out and what it costs, the
 * interview topics) is at the top of reply.c.
 */
#ifndef CHALK_REPLY_H
#define CHALK_REPLY_H

#include <stdarg.h>
#include <stddef.h>

typedef struct client client;

void reply_raw(client *c, const void *p, size_t len);       /* bytes as is */
void reply_simple(client *c, const char *s);                 /* +s */
void reply_ok(client *c);                                    /* +OK */
/* -ERR msg; if msg starts with '-' its own prefix is kept ("-WRONGTYPE ..."). */
void reply_error(client *c, const char *msg);
void reply_errorf(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_long(client *c, long long v);                     /* :v */
void reply_bulk(client *c, const void *p, size_t len);       /* $len bytes */
void reply_bulk_cstr(client *c, const char *s);              /* NULL → null */
void reply_bulk_long(client *c, long long v);                /* $ of digits */
void reply_null(client *c);                                  /* _ or $-1 */
void reply_null_array(client *c);                            /* _ or *-1 */
void reply_array(client *c, long n);                         /* *n */
void reply_map(client *c, long pairs);                       /* %n or *2n */
void reply_set(client *c, long n);                           /* ~n or *n */
void reply_push(client *c, long n);                          /* >n or *n */
void reply_double(client *c, double d);                      /* ,d or $ */
void reply_bool(client *c, int b);                           /* #t/#f or :1/:0 */
void reply_bignum(client *c, const char *digits);            /* (n or $ */
void reply_verbatim(client *c, const char *fmt3, const void *p, size_t len); /* =len fmt:... or $ */
void reply_help(client *c, const char *cmd, const char *const *lines); /* HELP output */

/* A length not known in advance (COMMAND, SCAN): reserve, reply the
 * elements, then set it. */
void *reply_deferred(client *c);
void reply_set_deferred_array(client *c, void *slot, long n);
void reply_set_deferred_map(client *c, void *slot, long pairs);

/* Common errors, Redis's texts. */
#define ERR_SYNTAX     "syntax error"
#define ERR_NOT_INT    "value is not an integer or out of range"
#define ERR_NOT_FLOAT  "value is not a valid float"
#define ERR_WRONGTYPE  "-WRONGTYPE Operation against a key holding the wrong kind of value"
#define ERR_NOAUTH     "-NOAUTH Authentication required."
#define ERR_NOKEY      "no such key"
#define ERR_OOR        "index out of range"
#define ERR_DB_INDEX   "DB index is out of range"

#endif /* CHALK_REPLY_H */
