/*
 * resp_parse.h — the request parser's interface (grammar in resp_parse.c).
 *
 * A pure function of bytes: no sockets, no clients, no globals, so the unit
 * tests and the libFuzzer target drive it directly.
 *
 * The design (the one idea, what is left out and what it costs, the
 * interview topics) is at the top of resp_parse.c.
 */
#ifndef CHALK_RESP_PARSE_H
#define CHALK_RESP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* Redis's limits (networking.c in Redis 7). */
#define RESP_INLINE_MAX      (64 * 1024)  /* an inline line or a length line */
#define RESP_UNAUTH_MAX_ARGS 10           /* before AUTH, when required */
#define RESP_UNAUTH_MAX_BULK 16384

enum { RESP_ERROR = -1, RESP_AGAIN = 0, RESP_DONE = 1 };

typedef struct resp_arg {
    char  *ptr;               /* len bytes plus a NUL, owned by the parser:
                                 in its arena or malloc'd (resp_parse.c) */
    size_t len;
} resp_arg;

/* Argument bytes of one request that fit here are copied into the parser's
 * arena (allocated once, reused by every request) instead of one malloc
 * each; a bigger request's other arguments are malloc'd. */
#define RESP_ARENA_SIZE 512

typedef struct resp_limits {
    long long max_bulk;       /* proto-max-bulk-len */
    bool unauthenticated;     /* AUTH required and not given: tiny limits */
} resp_limits;

typedef struct resp_parser {
    int kind;                 /* 0: not started, '*': multibulk, 'i': inline */
    long long args_left;      /* multibulk: arguments still to come */
    long long bulk_len;       /* -1 until the current $<len> line is read */
    int argc;                 /* arguments complete so far */
    int argv_cap;             /* slots allocated (grows as args arrive) */
    resp_arg *argv;
    char *arena;              /* RESP_ARENA_SIZE bytes once an argument came */
    size_t arena_used;        /* bytes of it the current request holds */
    char err[128];            /* the error reply text, after RESP_ERROR */
} resp_parser;

/* Parse from buf[0..len). Sets *consumed to the bytes used (the caller drops
 * them; unconsumed bytes must be presented again, followed by more).
 * Returns RESP_DONE: one request in p->argc/p->argv (argc 0 = an empty
 * request such as a blank line or "*0", to be skipped);
 * RESP_AGAIN: need more bytes (some may have been consumed);
 * RESP_ERROR: p->err holds Redis's error text (without "-ERR "): reply it
 * and close the connection. Never allocates more than the bytes seen. */
int resp_parse(resp_parser *p, const char *buf, size_t len, size_t *consumed,
               const resp_limits *lim);

/* A byte range inside the caller's buffer (resp_peek). */
typedef struct resp_slice {
    const char *ptr;
    size_t len;
} resp_slice;

/* A look at the request at buf[0..len) for hints (the server prefetches
 * keys with it), never for running it: no allocation, no limits, no error
 * texts, and no parser state. Returns the bytes of the complete multibulk
 * request that starts there, with its argument count in *argc and its first
 * min(*argc, max) arguments in out[] (pointing into buf); 0 if there is none
 * (partial, inline, empty or malformed: resp_parse decides what those are). */
size_t resp_peek(const char *buf, size_t len, resp_slice *out, int max, int *argc);

/* Free the arguments of the last request; ready for the next one (the
 * arena is kept for it). */
void resp_parser_reset(resp_parser *p);
/* Free everything (the argv array too). */
void resp_parser_free(resp_parser *p);

/* Split an inline line like redis-cli/Redis's sdssplitargs: blanks separate,
 * "double quotes" with \n \r \t \b \a \xHH escapes, 'single quotes'.
 * Appends to p->argv. Returns 0 or -1 (unbalanced quotes). */
int resp_split_inline(resp_parser *p, const char *line, size_t len);

#endif /* CHALK_RESP_PARSE_H */
