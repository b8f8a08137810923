/*
 * reply.c — the reply tree and the RESP2/RESP3 reader of libchalk.
 *
 * The one idea: a reply is parsed ITEM BY ITEM from a byte buffer, with an
 * explicit stack of open aggregates, so the reader can stop at any byte and
 * resume when more arrive, and so a hostile peer cannot make it allocate
 * from a number it merely announced. An item (a type byte, its line, and for
 * bulk types the payload) is consumed only when all its bytes are buffered;
 * an aggregate's element array grows as children actually arrive.
 *
 * The grammar (RESP2 + RESP3), one item per line, every line ends in CRLF:
 *
 *   +<text>        simple string          -<text>        error
 *   :<int>         integer                ,<double>      double (inf, nan)
 *   #t | #f        boolean                _              null
 *   (<digits>      big number
 *   $<len> <bytes> bulk string ($-1 = RESP2 null)
 *   !<len> <bytes> blob error             =<len> <fmt:bytes> verbatim
 *   *<n>           array of n items (*-1 = RESP2 null)
 *   %<n>           map of n key/value pairs (2n items)
 *   ~<n>           set        ><n>  push (out-of-band)
 *   |<n>           attribute: n pairs describing the NEXT reply
 *
 * Invariants:
 *   1. stack[0..depth) are the open aggregates, innermost last; each has
 *      filled < expected children completed.
 *   2. Bytes before pos are consumed; no reply node points into buf.
 *   3. An aggregate's element array never holds more than filled+1 slots
 *      beyond what has arrived (it doubles toward expected).
 *
 * Left out on purpose: inline (telnet-style) replies, which servers never
 * send; streamed RESP3 aggregates (`*?`) and streamed strings (`$?`), which
 * no server sends unasked — both are protocol errors here. Cost: a server
 * using them could not be read.
 *
 * Interview topics: none directly; this is the RESP lesson (docs/client.md),
 * and the defence against CVE-2021-32762-style replies.
 */
#include <chalk/client.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader_frame {
    chalkc_reply *agg;   /* the aggregate being filled */
    size_t expected;     /* children it announced (2n for map/attribute) */
    size_t filled;       /* children completed so far */
    size_t capacity;     /* slots allocated in agg->element */
} reader_frame;

struct chalkc_reader {
    char *buf;              /* received bytes */
    size_t len;             /* bytes in buf */
    size_t cap;             /* bytes allocated */
    size_t pos;             /* first unconsumed byte */
    size_t line_scanned;    /* bytes after pos known to hold no CRLF */
    reader_frame stack[CHALKC_MAX_DEPTH];
    int depth;
    chalkc_reply *root;     /* the reply being built */
    chalkc_reply *pending_attr; /* a finished attribute awaiting its reply */
    int err;                /* sticky error code, 0 if none */
    char errstr[128];
};

/* ---- reply nodes -------------------------------------------------------- */

void chalkc_reply_free(chalkc_reply *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->elements; i++)
        chalkc_reply_free(r->element[i]);
    free(r->element);
    free(r->str);
    chalkc_reply_free(r->attribute);
    free(r);
}

const char *chalkc_reply_type_name(chalkc_reply_type t)
{
    static const char *const names[] = {
        "?", "status", "error", "integer", "string", "nil", "array", "map",
        "set", "attribute", "push", "double", "boolean", "big number",
        "verbatim",
    };
    if ((int)t < 1 || (int)t > CHALKC_REPLY_VERBATIM)
        return "?";
    return names[t];
}

static chalkc_reply *reply_new(chalkc_reply_type t)
{
    chalkc_reply *r = calloc(1, sizeof(*r));
    if (r)
        r->type = t;
    return r;
}

/* Copies len bytes into r->str, NUL-terminated. */
static int reply_set_str(chalkc_reply *r, const char *s, size_t len)
{
    r->str = malloc(len + 1);
    if (!r->str)
        return CHALKC_ENOMEM;
    memcpy(r->str, s, len);
    r->str[len] = '\0';
    r->len = len;
    return 0;
}

/* ---- reader plumbing ----------------------------------------------------- */

chalkc_reader *chalkc_reader_new(void)
{
    return calloc(1, sizeof(chalkc_reader));
}

static void reader_drop_tree(chalkc_reader *r)
{
    /* Open attributes are not linked into root (nor into each other): free
     * them separately — but find them all before freeing anything, since a
     * frame above an attribute lives inside it. */
    chalkc_reply *attrs[CHALKC_MAX_DEPTH];
    int nattrs = 0;
    for (int i = 0; i < r->depth; i++)
        if (r->stack[i].agg->type == CHALKC_REPLY_ATTRIBUTE)
            attrs[nattrs++] = r->stack[i].agg;
    for (int i = 0; i < nattrs; i++)
        chalkc_reply_free(attrs[i]);
    chalkc_reply_free(r->root);
    chalkc_reply_free(r->pending_attr);
    r->root = r->pending_attr = NULL;
    r->depth = 0;
}

void chalkc_reader_free(chalkc_reader *r)
{
    if (!r)
        return;
    reader_drop_tree(r);
    free(r->buf);
    free(r);
}

const char *chalkc_reader_errstr(const chalkc_reader *r)
{
    return r->errstr;
}

size_t chalkc_reader_pending(const chalkc_reader *r)
{
    return r->len - r->pos;
}

int chalkc_reader_busy(const chalkc_reader *r)
{
    return r->len > r->pos || r->depth > 0 || r->pending_attr != NULL;
}

static int reader_fail(chalkc_reader *r, int err, const char *what)
{
    r->err = err;
    snprintf(r->errstr, sizeof(r->errstr), "%s (at byte %zu of the buffer)",
             what, r->pos);
    reader_drop_tree(r);
    return err;
}

int chalkc_reader_feed(chalkc_reader *r, const char *buf, size_t len)
{
    if (r->err)
        return r->err;
    if (len == 0)
        return 0;
    /* Slide consumed bytes out before growing (partial reads are normal:
     * the unconsumed tail is the start of a reply still arriving). */
    if (r->pos > 0 && (r->pos == r->len || r->pos > r->cap / 2)) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    if (r->len + len > r->cap) {
        size_t ncap = r->cap ? r->cap : 4096;
        while (ncap < r->len + len)
            ncap *= 2;
        char *nbuf = realloc(r->buf, ncap);
        if (!nbuf)
            return reader_fail(r, CHALKC_ENOMEM, "out of memory");
        r->buf = nbuf;
        r->cap = ncap;
    }
    memcpy(r->buf + r->len, buf, len);
    r->len += len;
    return 0;
}

/* Finds the CRLF ending the line that starts at pos+1 (after the type byte).
 * Returns the line's length, -1 if the CRLF has not arrived yet, or -2 if
 * the line is longer than max (a protocol error). */
static long long reader_line(chalkc_reader *r, size_t max)
{
    size_t start = r->pos + 1;
    size_t from = start + r->line_scanned;
    for (size_t i = from; i + 1 < r->len; i++) {
        if (r->buf[i] == '\r' && r->buf[i + 1] == '\n')
            return (long long)(i - start);
    }
    size_t avail = r->len > start ? r->len - start : 0;
    r->line_scanned = avail > 0 ? avail - 1 : 0;
    return avail > max ? -2 : -1;
}

/* Strict decimal: optional '-', 1-19 digits, no overflow. */
static int parse_ll(const char *s, size_t len, long long *out)
{
    size_t i = 0;
    int neg = 0;
    unsigned long long v = 0;
    if (len > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == len || len - i > 19)
        return -1;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > (unsigned long long)INT64_MAX + (unsigned long long)neg)
        return -1;
    *out = neg ? (long long)(0 - v) : (long long)v;
    return 0;
}

/* ---- building the tree -------------------------------------------------- */

/* Appends child to the innermost open aggregate, growing its array by
 * doubling (never to more than expected: invariant 3). */
static int frame_push_child(reader_frame *f, chalkc_reply *child)
{
    if (f->agg->elements == f->capacity) {
        size_t ncap = f->capacity ? f->capacity * 2 : 4;
        if (ncap > f->expected)
            ncap = f->expected;
        chalkc_reply **ne = realloc(f->agg->element, ncap * sizeof(*ne));
        if (!ne)
            return CHALKC_ENOMEM;
        f->agg->element = ne;
        f->capacity = ncap;
    }
    f->agg->element[f->agg->elements++] = child;
    return 0;
}

/* Links a new node into the tree: as root, or as the next child of the
 * innermost aggregate. A pending attribute attaches to it. */
static int reader_link(chalkc_reader *r, chalkc_reply *node)
{
    if (node->type != CHALKC_REPLY_ATTRIBUTE && r->pending_attr) {
        node->attribute = r->pending_attr;
        r->pending_attr = NULL;
    }
    if (node->type == CHALKC_REPLY_ATTRIBUTE)
        return 0; /* held by its frame until complete */
    if (r->depth == 0) {
        r->root = node;
        return 0;
    }
    if (frame_push_child(&r->stack[r->depth - 1], node) != 0) {
        chalkc_reply_free(node);
        return CHALKC_ENOMEM;
    }
    return 0;
}

/* A node just completed: bump the parent's count and close every aggregate
 * that this completes. Returns 1 when the root reply is complete. */
static int reader_complete(chalkc_reader *r, chalkc_reply *node)
{
    for (;;) {
        if (node->type == CHALKC_REPLY_ATTRIBUTE) {
            r->pending_attr = node;
            if (r->depth == 0)
                return 0;
            return 0; /* the attribute is not a child: nothing to count */
        }
        if (r->depth == 0)
            return 1;
        reader_frame *f = &r->stack[r->depth - 1];
        f->filled++;
        if (f->filled < f->expected)
            return 0;
        node = f->agg;
        r->depth--;
    }
}

/* ---- items ---------------------------------------------------------------- */

static int item_aggregate(chalkc_reader *r, char type, long long n,
                          chalkc_reply **node)
{
    chalkc_reply_type t;
    switch (type) {
    case '*': t = CHALKC_REPLY_ARRAY; break;
    case '%': t = CHALKC_REPLY_MAP; break;
    case '~': t = CHALKC_REPLY_SET; break;
    case '>': t = CHALKC_REPLY_PUSH; break;
    default:  t = CHALKC_REPLY_ATTRIBUTE; break;
    }
    if (n == -1 && type == '*') {
        *node = reply_new(CHALKC_REPLY_NIL);
        return *node ? 1 : CHALKC_ENOMEM;
    }
    if (n < 0 || n > CHALKC_MAX_ELEMENTS)
        return reader_fail(r, CHALKC_EPROTOCOL, "aggregate length out of range");
    if (t == CHALKC_REPLY_ATTRIBUTE && r->pending_attr)
        return reader_fail(r, CHALKC_EPROTOCOL, "two attributes in a row");
    if (n > 0 && r->depth == CHALKC_MAX_DEPTH)
        return reader_fail(r, CHALKC_EPROTOCOL, "replies nested too deep");
    if (t == CHALKC_REPLY_ATTRIBUTE && n == 0)
        return reader_fail(r, CHALKC_EPROTOCOL, "empty attribute");
    *node = reply_new(t);
    if (!*node)
        return CHALKC_ENOMEM;
    if (n == 0)
        return 1; /* complete at once */
    int rc = reader_link(r, *node);
    if (rc != 0)
        return rc;
    reader_frame *f = &r->stack[r->depth++];
    f->agg = *node;
    f->expected = (size_t)n * ((t == CHALKC_REPLY_MAP ||
                                t == CHALKC_REPLY_ATTRIBUTE) ? 2 : 1);
    f->filled = 0;
    f->capacity = 0;
    return 0; /* open: not complete */
}

/* A bulk-type item: $ ! =. Waits until <len> bytes and CRLF have arrived. */
static int item_bulk(chalkc_reader *r, char type, const char *line,
                     size_t linelen, chalkc_reply **node)
{
    long long n;
    if (parse_ll(line, linelen, &n) != 0)
        return reader_fail(r, CHALKC_EPROTOCOL, "bad bulk length");
    if (n == -1 && type == '$') {
        *node = reply_new(CHALKC_REPLY_NIL);
        r->pos += 1 + linelen + 2;
        return *node ? 1 : CHALKC_ENOMEM;
    }
    if (n < 0 || n > CHALKC_MAX_BULK)
        return reader_fail(r, CHALKC_EPROTOCOL, "bulk length out of range");
    size_t start = r->pos + 1 + linelen + 2;
    if (r->len - start < (size_t)n + 2)
        return 0; /* not all here: consume nothing, allocate nothing */
    const char *data = r->buf + start;
    if (data[n] != '\r' || data[n + 1] != '\n')
        return reader_fail(r, CHALKC_EPROTOCOL, "bulk not followed by CRLF");
    chalkc_reply_type t = type == '$' ? CHALKC_REPLY_STRING
                        : type == '!' ? CHALKC_REPLY_ERROR
                                      : CHALKC_REPLY_VERBATIM;
    if (t == CHALKC_REPLY_VERBATIM && (n < 4 || data[3] != ':'))
        return reader_fail(r, CHALKC_EPROTOCOL, "verbatim without a format");
    *node = reply_new(t);
    if (!*node)
        return CHALKC_ENOMEM;
    size_t skip = 0;
    if (t == CHALKC_REPLY_VERBATIM) {
        memcpy((*node)->vtype, data, 3);
        skip = 4;
    }
    if (reply_set_str(*node, data + skip, (size_t)n - skip) != 0) {
        chalkc_reply_free(*node);
        *node = NULL;
        return CHALKC_ENOMEM;
    }
    r->pos = start + (size_t)n + 2;
    return 1;
}

/* A one-line scalar: + - : , # _ ( */
static int item_scalar(chalkc_reader *r, char type, const char *line,
                       size_t len, chalkc_reply **node)
{
    static const struct { char c; chalkc_reply_type t; } map[] = {
        {'+', CHALKC_REPLY_STATUS}, {'-', CHALKC_REPLY_ERROR},
        {':', CHALKC_REPLY_INTEGER}, {',', CHALKC_REPLY_DOUBLE},
        {'#', CHALKC_REPLY_BOOL}, {'_', CHALKC_REPLY_NIL},
        {'(', CHALKC_REPLY_BIGNUM},
    };
    chalkc_reply_type t = 0;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (map[i].c == type)
            t = map[i].t;
    long long iv = 0;
    if (t == CHALKC_REPLY_INTEGER && parse_ll(line, len, &iv) != 0)
        return reader_fail(r, CHALKC_EPROTOCOL, "bad integer");
    if (t == CHALKC_REPLY_BOOL) {
        if (len != 1 || (line[0] != 't' && line[0] != 'f'))
            return reader_fail(r, CHALKC_EPROTOCOL, "bad boolean");
        iv = line[0] == 't';
    }
    if (t == CHALKC_REPLY_NIL && len != 0)
        return reader_fail(r, CHALKC_EPROTOCOL, "bad null");
    if (t == CHALKC_REPLY_BIGNUM) {
        size_t i = (len > 0 && line[0] == '-') ? 1 : 0;
        if (i == len)
            return reader_fail(r, CHALKC_EPROTOCOL, "bad big number");
        for (; i < len; i++)
            if (line[i] < '0' || line[i] > '9')
                return reader_fail(r, CHALKC_EPROTOCOL, "bad big number");
    }
    if (memchr(line, '\r', len) || memchr(line, '\n', len))
        return reader_fail(r, CHALKC_EPROTOCOL, "CR or LF inside a line");
    *node = reply_new(t);
    if (!*node || reply_set_str(*node, line, len) != 0) {
        chalkc_reply_free(*node);
        *node = NULL;
        return CHALKC_ENOMEM;
    }
    (*node)->integer = iv;
    if (t == CHALKC_REPLY_DOUBLE) {
        char *end;
        errno = 0;
        (*node)->dval = strtod((*node)->str, &end);
        if (len == 0 || *end != '\0') {
            chalkc_reply_free(*node);
            *node = NULL;
            return reader_fail(r, CHALKC_EPROTOCOL, "bad double");
        }
    }
    r->pos += 1 + len + 2;
    return 1;
}

/* Parses one item at pos. Returns 1 with *node complete, 0 with *node an
 * open aggregate (or NULL when the item's bytes are not all here yet: then
 * *need_more is set), or a negative error. */
static int reader_item(chalkc_reader *r, chalkc_reply **node, int *need_more)
{
    *node = NULL;
    *need_more = 0;
    if (r->pos >= r->len) {
        *need_more = 1;
        return 0;
    }
    char type = r->buf[r->pos];
    int is_text = type == '+' || type == '-' || type == '(' || type == ',';
    if (!strchr("+-:,#_($!=*%~>|", type) || type == '\0')
        return reader_fail(r, CHALKC_EPROTOCOL, "unknown reply type byte");
    long long linelen = reader_line(r, is_text ? (size_t)CHALKC_MAX_BULK
                                               : CHALKC_MAX_LINE);
    if (linelen == -2)
        return reader_fail(r, CHALKC_EPROTOCOL, "line too long");
    if (linelen < 0) {
        *need_more = 1;
        return 0;
    }
    const char *line = r->buf + r->pos + 1;
    if (strchr("$!=", type)) {
        int rc = item_bulk(r, type, line, (size_t)linelen, node);
        if (rc == 0)
            *need_more = 1;
        else
            r->line_scanned = 0;
        return rc;
    }
    r->line_scanned = 0;
    if (strchr("*%~>|", type)) {
        long long n;
        if (parse_ll(line, (size_t)linelen, &n) != 0)
            return reader_fail(r, CHALKC_EPROTOCOL, "bad aggregate length");
        r->pos += 1 + (size_t)linelen + 2;
        return item_aggregate(r, type, n, node);
    }
    return item_scalar(r, type, line, (size_t)linelen, node);
}

int chalkc_reader_get(chalkc_reader *r, chalkc_reply **out)
{
    *out = NULL;
    if (r->err)
        return r->err;
    for (;;) {
        chalkc_reply *node;
        int need_more;
        int rc = reader_item(r, &node, &need_more);
        if (rc < 0) {
            if (r->err == 0) /* an ENOMEM that did not go through fail */
                return reader_fail(r, rc, "out of memory");
            return rc;
        }
        if (need_more)
            return 0;
        if (rc == 0)
            continue; /* an aggregate opened: read its children */
        /* A complete scalar or empty aggregate: link, then close parents. */
        rc = reader_link(r, node);
        if (rc != 0)
            return reader_fail(r, rc, "out of memory");
        if (reader_complete(r, node)) {
            *out = r->root;
            r->root = NULL;
            return 1;
        }
    }
}
