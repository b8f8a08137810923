/*
 * resp_parse.c — turns the bytes a client sent into requests (argv arrays).
 *
 * The grammar (RESP2 requests, as Redis accepts them):
 *
 *   request    = multibulk | inline
 *   multibulk  = "*" count CRLF *( bulk )       count <= INT_MAX; <= 0 is empty
 *   bulk       = "$" length CRLF <length bytes> CRLF
 *   inline     = line LF                        a CR before the LF is dropped;
 *                                               words split like a shell
 *                                               (resp_split_inline)
 *   count, length: optional "-", decimal digits, no spaces, fits a long long
 *
 *   example:  *2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n     ["ECHO", "hi"]
 *             PING\r\n                             ["PING"]  (telnet, nc)
 *
 * The one idea: NEVER allocate from a length the client announced. A
 * "*2147483647" header costs one integer in the parser state; a
 * "$536870912" header costs nothing until the bytes arrive, because the
 * caller's query buffer only grows as data is actually read, and the
 * argument array grows as arguments actually complete. Memory is bounded by
 * the bytes received, which client-query-buffer-limit bounds in turn.
 *
 * Errors are Redis 7's texts, byte for byte, so clients and people see what
 * they know. After an error the connection is closed: a stream that lost
 * its framing cannot be resynchronised (there is no request id to find the
 * next boundary, unlike HTTP/2 frames).
 *
 * resp_peek is a second, read-only reader of the same multibulk grammar
 * for hints (the server prefetches pipelined keys with it): it never
 * decides anything about a request, resp_parse does.
 *
 * Each argument is copied once, out of the query buffer (which moves as it
 * grows and is reused), into the parser's arena: one block of
 * RESP_ARENA_SIZE bytes per parser, kept from request to request, so a
 * small request's arguments cost a memcpy each and no malloc/free (two
 * malloc + two free per INCR were ~10% of the server's instructions on a
 * pipelined INCR). An argument that does not fit in what is left of the
 * arena is malloc'd on its own, and resp_parser_reset frees exactly those
 * (a pointer outside the arena).
 *
 * Left out on purpose: Redis's "big argument" trick (reading a large bulk
 * straight into its own buffer to avoid one copy). We copy each argument
 * once; the cost is one memcpy per argument.
 *
 * @interview(rest.fundamentals): How does RESP framing compare with a REST
 * request over HTTP? RESP is a stateful stream of length-prefixed arrays of
 * byte strings: no methods, paths, headers or content negotiation, the
 * command name is the first array element, and requests may be pipelined
 * with replies returned in order. HTTP/1.1 frames each request with a text
 * header block (method, path, headers, Content-Length), is designed
 * stateless, and pipelining is rarely used. RESP trades REST's uniform
 * interface and caching semantics for a parser this short and a few bytes
 * of overhead per request.
 */
#include "resp_parse.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A count or length header: optional '-', digits only (leading zeros
 * allowed, unlike string_to_ll for arguments), no overflow. */
static bool parse_ll(const char *s, size_t len, long long *out)
{
    if (len == 0 || len > 20)
        return false;
    bool neg = s[0] == '-';
    size_t i = neg ? 1 : 0;
    return decimal_digits_to_ll(s + i, len - i, neg, out);
}

static int fail(resp_parser *p, const char *msg)
{
    snprintf(p->err, sizeof p->err, "%s", msg);
    return RESP_ERROR;
}

/* Does ptr point into p's arena? (Compared as integers: the arena and a
 * malloc'd argument are different objects.) */
static bool in_arena(const resp_parser *p, const char *ptr)
{
    uintptr_t a = (uintptr_t)p->arena, x = (uintptr_t)ptr;
    return p->arena != NULL && x >= a && x < a + RESP_ARENA_SIZE;
}

/* Room for len bytes and a NUL: in the arena when they fit (8-aligned, as
 * malloc's would be at least), else malloc'd. NULL when out of memory. */
static char *arg_space(resp_parser *p, size_t len)
{
    if (!p->arena && !(p->arena = malloc(RESP_ARENA_SIZE)))
        return NULL;
    size_t need = (len + 1 + 7) & ~(size_t)7;
    if (len < RESP_ARENA_SIZE && need <= RESP_ARENA_SIZE - p->arena_used) {
        char *at = p->arena + p->arena_used;
        p->arena_used += need;
        return at;
    }
    return malloc(len + 1);
}

/* Append one argument (copied). Grows argv by doubling, from what has
 * arrived, never from the announced count. */
static int push_arg(resp_parser *p, const char *s, size_t len)
{
    if (p->argc == p->argv_cap) {
        int cap = p->argv_cap ? p->argv_cap * 2 : 8;
        resp_arg *n = realloc(p->argv, (size_t)cap * sizeof *n);
        if (!n)
            return -1;
        p->argv = n;
        p->argv_cap = cap;
    }
    char *copy = arg_space(p, len);
    if (!copy)
        return -1;
    if (len)
        memcpy(copy, s, len);
    copy[len] = '\0';
    p->argv[p->argc].ptr = copy;
    p->argv[p->argc].len = len;
    p->argc++;
    return 0;
}

/* Find the end of a length line ("*3\r\n", "$5\r\n") starting at buf.
 * Returns the offset of its '\r', -1 if more bytes are needed, -2 if the
 * line is too long to be a length (Redis: "too big ... count string"). */
static long find_crlf(const char *buf, size_t len)
{
    size_t scan = len < RESP_INLINE_MAX + 2 ? len : RESP_INLINE_MAX + 2;
    /* A length line is a few digits: its '\r' is found by hand in the
     * first bytes, without memchr's call and setup (three length lines per
     * GET, each read by resp_peek and then here). */
    size_t quick = scan < 16 ? scan : 16, i = 0;
    while (i < quick && buf[i] != '\r')
        i++;
    const char *cr = i < quick ? buf + i : memchr(buf + quick, '\r', scan - quick);
    if (!cr)
        return len > RESP_INLINE_MAX ? -2 : -1;
    if ((size_t)(cr - buf) > RESP_INLINE_MAX)
        return -2;
    if ((size_t)(cr - buf) + 1 >= len)
        return -1;                 /* the '\n' has not arrived yet */
    return cr - buf;
}

/* "*<count>\r\n": the request's header. */
static int parse_count(resp_parser *p, const char *buf, size_t len, size_t *pos,
                       const resp_limits *lim)
{
    long cr = find_crlf(buf + *pos, len - *pos);
    if (cr == -2)
        return fail(p, "Protocol error: too big mbulk count string");
    if (cr < 0)
        return RESP_AGAIN;
    long long n;
    if (!parse_ll(buf + *pos + 1, (size_t)cr - 1, &n) || n > INT_MAX)
        return fail(p, "Protocol error: invalid multibulk length");
    if (lim->unauthenticated && n > RESP_UNAUTH_MAX_ARGS)
        return fail(p, "Protocol error: unauthenticated multibulk length");
    *pos += (size_t)cr + 2;
    p->args_left = n > 0 ? n : 0;
    p->bulk_len = -1;
    return n > 0 ? RESP_AGAIN : RESP_DONE;    /* *0, *-1: an empty request */
}

/* "$<len>\r\n<bytes>\r\n": one argument. */
static int parse_bulk(resp_parser *p, const char *buf, size_t len, size_t *pos,
                      const resp_limits *lim)
{
    if (p->bulk_len < 0) {
        long cr = find_crlf(buf + *pos, len - *pos);
        if (cr == -2)
            return fail(p, "Protocol error: too big bulk count string");
        if (cr < 0)
            return RESP_AGAIN;
        if (buf[*pos] != '$') {
            snprintf(p->err, sizeof p->err, "Protocol error: expected '$', got '%c'",
                     buf[*pos]);
            return RESP_ERROR;
        }
        long long n;
        if (!parse_ll(buf + *pos + 1, (size_t)cr - 1, &n) || n < 0 || n > lim->max_bulk)
            return fail(p, "Protocol error: invalid bulk length");
        if (lim->unauthenticated && n > RESP_UNAUTH_MAX_BULK)
            return fail(p, "Protocol error: unauthenticated bulk length");
        *pos += (size_t)cr + 2;
        p->bulk_len = n;
    }
    /* The payload and its CRLF must all be here; until then consume nothing
     * more (the caller's buffer grows with what arrives, not with bulk_len). */
    if ((unsigned long long)(len - *pos) < (unsigned long long)p->bulk_len + 2)
        return RESP_AGAIN;
    if (push_arg(p, buf + *pos, (size_t)p->bulk_len) < 0)
        return fail(p, "Protocol error: out of memory");
    *pos += (size_t)p->bulk_len + 2;        /* like Redis, the CRLF is skipped */
    p->bulk_len = -1;
    p->args_left--;
    return p->args_left == 0 ? RESP_DONE : RESP_AGAIN;
}

/* One inline line: "SET k v\r\n" typed into telnet or nc. */
static int parse_inline(resp_parser *p, const char *buf, size_t len, size_t *pos)
{
    size_t avail = len - *pos;
    size_t scan = avail < RESP_INLINE_MAX + 1 ? avail : RESP_INLINE_MAX + 1;
    const char *nl = memchr(buf + *pos, '\n', scan);
    if (!nl)
        return avail > RESP_INLINE_MAX ? fail(p, "Protocol error: too big inline request")
                                       : RESP_AGAIN;
    size_t linelen = (size_t)(nl - (buf + *pos));
    if (linelen > RESP_INLINE_MAX)
        return fail(p, "Protocol error: too big inline request");
    size_t end = linelen;
    if (end && buf[*pos + end - 1] == '\r')
        end--;
    if (resp_split_inline(p, buf + *pos, end) < 0)
        return fail(p, "Protocol error: unbalanced quotes in request");
    *pos += linelen + 1;
    return RESP_DONE;
}

int resp_parse(resp_parser *p, const char *buf, size_t len, size_t *consumed,
               const resp_limits *lim)
{
    size_t pos = 0;
    int rc = RESP_AGAIN;
    *consumed = 0;
    if (len == 0)
        return RESP_AGAIN;
    if (p->kind == 0) {
        p->kind = buf[0] == '*' ? '*' : 'i';
        p->args_left = 0;
        p->bulk_len = -1;
        if (p->kind == '*') {
            rc = parse_count(p, buf, len, &pos, lim);
            if (rc == RESP_AGAIN && pos == 0)
                p->kind = 0;              /* header incomplete: start over */
            if (rc != RESP_AGAIN)
                goto out;
        }
    }
    if (p->kind == 'i') {
        rc = parse_inline(p, buf, len, &pos);
        if (rc == RESP_AGAIN)
            p->kind = 0;
        goto out;
    }
    while (p->kind == '*' && pos < len) {
        size_t before = pos;
        rc = parse_bulk(p, buf, len, &pos, lim);
        if (rc != RESP_AGAIN || pos == before)
            break;                        /* done, error, or waiting for bytes */
    }
out:
    *consumed = pos;
    if (rc != RESP_AGAIN)
        p->kind = 0;                      /* DONE or ERROR: next request */
    return rc;
}

/* "*<n>\r\n" or "$<n>\r\n" at buf[*pos] for resp_peek: false unless
 * the whole line is there and holds a number. */
static bool peek_header(const char *buf, size_t len, size_t *pos, char mark, long long *n)
{
    if (*pos >= len || buf[*pos] != mark)
        return false;
    long cr = find_crlf(buf + *pos, len - *pos);
    if (cr < 1 || !parse_ll(buf + *pos + 1, (size_t)cr - 1, n))
        return false;
    *pos += (size_t)cr + 2;
    return true;
}

size_t resp_peek(const char *buf, size_t len, resp_slice *out, int max, int *argc)
{
    size_t pos = 0;
    long long n, blen;
    if (!peek_header(buf, len, &pos, '*', &n) || n <= 0 || n > INT_MAX)
        return 0;
    for (long long i = 0; i < n; i++) {   /* ends at the buffer's end at the latest */
        if (!peek_header(buf, len, &pos, '$', &blen) || blen < 0 ||
            (unsigned long long)blen > len - pos || len - pos - (size_t)blen < 2)
            return 0;
        if (i < max)
            out[i] = (resp_slice){buf + pos, (size_t)blen};
        pos += (size_t)blen + 2;
    }
    *argc = (int)n;
    return pos;
}

void resp_parser_reset(resp_parser *p)
{
    for (int i = 0; i < p->argc; i++)
        if (!in_arena(p, p->argv[i].ptr))
            free(p->argv[i].ptr);
    p->arena_used = 0;
    p->argc = 0;
    p->kind = 0;
    p->args_left = 0;
    p->bulk_len = -1;
    p->err[0] = '\0';
}

void resp_parser_free(resp_parser *p)
{
    resp_parser_reset(p);
    free(p->argv);
    free(p->arena);
    p->argv = NULL;
    p->arena = NULL;
    p->argv_cap = 0;
}

static int hex_digit(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* One quoted word starting at line[*i] (the opening quote). Writes the
 * unescaped bytes to out (at least as long as the input) and advances *i
 * past the closing quote. Returns the word's length or -1 if unbalanced. */
static long split_quoted(const char *line, size_t len, size_t *i, char *out)
{
    char q = line[(*i)++];
    size_t n = 0;
    for (;;) {
        if (*i >= len)
            return -1;                         /* no closing quote */
        char ch = line[*i];
        if (q == '"' && ch == '\\' && *i + 3 < len && line[*i + 1] == 'x' &&
            hex_digit(line[*i + 2]) >= 0 && hex_digit(line[*i + 3]) >= 0) {
            out[n++] = (char)(hex_digit(line[*i + 2]) * 16 + hex_digit(line[*i + 3]));
            *i += 4;
        } else if (ch == '\\' && *i + 1 < len && (q == '"' || line[*i + 1] == '\'')) {
            char e = line[*i + 1];
            if (q == '"')
                e = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t'
                  : e == 'b' ? '\b' : e == 'a' ? '\a' : e;
            out[n++] = e;
            *i += 2;
        } else if (ch == q) {
            (*i)++;
            if (*i < len && !is_blank(line[*i]))
                return -1;                     /* "foo"bar is an error */
            return (long)n;
        } else {
            out[n++] = ch;
            (*i)++;
        }
    }
}

int resp_split_inline(resp_parser *p, const char *line, size_t len)
{
    char *word = malloc(len + 1);
    if (!word)
        return -1;
    size_t i = 0;
    int rc = 0;
    for (;;) {
        while (i < len && is_blank(line[i]))
            i++;
        if (i >= len)
            break;
        long n;
        if (line[i] == '"' || line[i] == '\'') {
            n = split_quoted(line, len, &i, word);
        } else {
            n = 0;
            while (i < len && !is_blank(line[i]))
                word[n++] = line[i++];
        }
        if (n < 0 || push_arg(p, word, (size_t)n) < 0) {
            rc = -1;
            break;
        }
    }
    free(word);
    return rc;
}
