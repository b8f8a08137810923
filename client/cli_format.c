/*
 * cli_format.c — how chalk-cli prints: redis-cli's reply format (so habits
 * and scripts carry over), its argument splitting, and the --wire view.
 *
 * The one idea: output is an interface. People (and scripts) know
 * redis-cli's "(integer) 1", "(nil)", "1) ..." numbered and indented
 * arrays, and its --raw mode; matching them byte for byte means a lesson
 * written with redis-cli works with chalk-cli. tests/e2e/test_client_cli.py
 * diffs the two on the same server.
 *
 * The TTY format, by reply type (as redis-cli 7 prints it):
 *   status      OK                     error     (error) ERR ...
 *   integer     (integer) 42           string    "quoted \x00 repr"
 *   nil         (nil)                  double    (double) 3.14
 *   boolean     (true) / (false)       verbatim  the text, unquoted
 *   big number  (big number) 1234      empty     (empty array/hash/set)
 *   array/set/push: "N) item" per element, set uses "N~", map "N# k => v";
 *   nested aggregates indent by the index width + 2.
 * --raw: strings as bytes, integers bare, elements one per line, nil as an
 * empty line, errors as text.
 *
 * Left out on purpose: --csv and --json output. Cost: use --raw and a
 * script.
 *
 * Interview topics: none; the RESP lesson of --wire is in docs/client.md.
 */
#include "cli.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 256;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    sb_put(b, tmp, n < (int)sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* redis's sdscatrepr: quotes, escapes \\ \" \n \r \t \a \b, hex for the rest. */
static void sb_repr(sbuf *b, const char *s, size_t len)
{
    sb_put(b, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '\\': sb_puts(b, "\\\\"); break;
        case '"':  sb_puts(b, "\\\""); break;
        case '\n': sb_puts(b, "\\n"); break;
        case '\r': sb_puts(b, "\\r"); break;
        case '\t': sb_puts(b, "\\t"); break;
        case '\a': sb_puts(b, "\\a"); break;
        case '\b': sb_puts(b, "\\b"); break;
        default:
            if (isprint(c))
                sb_put(b, (const char *)&c, 1);
            else
                sb_printf(b, "\\x%02x", c);
        }
    }
    sb_put(b, "\"", 1);
}

void cli_print_repr(FILE *f, const char *s, size_t len)
{
    sbuf b = {0};
    sb_repr(&b, s, len);
    if (b.p)
        fwrite(b.p, 1, b.len, f);
    free(b.p);
}

static int is_aggregate(const chalkc_reply *r)
{
    return r->type == CHALKC_REPLY_ARRAY || r->type == CHALKC_REPLY_MAP ||
           r->type == CHALKC_REPLY_SET || r->type == CHALKC_REPLY_PUSH;
}

static void format_tty(sbuf *b, const chalkc_reply *r, const char *prefix);

/* Does the TTY format print r on several lines? (Then a map value starts
 * on a line of its own, as redis-cli 7 does for alignment.) */
static int is_multiline(const chalkc_reply *r)
{
    switch (r->type) {
    case CHALKC_REPLY_ARRAY:
    case CHALKC_REPLY_SET:
    case CHALKC_REPLY_PUSH:
        if (r->elements == 0)
            return 0;
        return r->elements > 1 || is_multiline(r->element[0]);
    case CHALKC_REPLY_MAP:
        if (r->elements == 0)
            return 0;
        return r->elements > 2 || is_multiline(r->element[1]);
    default:
        return 0;
    }
}

static void format_tty_empty(sbuf *b, const chalkc_reply *r)
{
    switch (r->type) {
    case CHALKC_REPLY_ARRAY: sb_puts(b, "(empty array)\n"); break;
    case CHALKC_REPLY_MAP:   sb_puts(b, "(empty hash)\n"); break;
    case CHALKC_REPLY_SET:   sb_puts(b, "(empty set)\n"); break;
    default:                 sb_puts(b, "(empty push)\n"); break;
    }
}

/* Aggregates, as redis-cli's cliFormatReplyTTY: the first element goes on
 * the line the parent already started; the others get the prefix. */
static void format_tty_aggregate(sbuf *b, const chalkc_reply *r,
                                 const char *prefix)
{
    int is_map = r->type == CHALKC_REPLY_MAP;
    size_t count = is_map ? r->elements / 2 : r->elements;
    unsigned idxlen = 0;
    size_t i = count;
    do {
        idxlen++;
        i /= 10;
    } while (i);
    size_t plen = strlen(prefix);
    char *child_prefix = malloc(plen + idxlen + 3);
    if (!child_prefix) {
        b->oom = 1;
        return;
    }
    memcpy(child_prefix, prefix, plen);
    memset(child_prefix + plen, ' ', idxlen + 2);
    child_prefix[plen + idxlen + 2] = '\0';
    char sep = r->type == CHALKC_REPLY_SET ? '~' : is_map ? '#' : ')';
    for (i = 0; i < r->elements; i++) {
        size_t human = (is_map ? i / 2 : i) + 1;
        sb_printf(b, "%s%*zu%c ", i == 0 ? "" : prefix, (int)idxlen, human, sep);
        format_tty(b, r->element[i], child_prefix);
        if (is_map) {
            i++;
            if (b->len > 0)
                b->len--; /* drop the key's newline */
            sb_puts(b, " => ");
            if (is_multiline(r->element[i])) {
                sb_puts(b, "\n");
                sb_puts(b, child_prefix);
            }
            format_tty(b, r->element[i], child_prefix);
        }
    }
    free(child_prefix);
}

static void format_tty(sbuf *b, const chalkc_reply *r, const char *prefix)
{
    switch (r->type) {
    case CHALKC_REPLY_ERROR:   sb_printf(b, "(error) %s\n", r->str); break;
    case CHALKC_REPLY_STATUS:  sb_put(b, r->str, r->len); sb_puts(b, "\n"); break;
    case CHALKC_REPLY_INTEGER: sb_printf(b, "(integer) %lld\n", r->integer); break;
    case CHALKC_REPLY_DOUBLE:  sb_printf(b, "(double) %s\n", r->str); break;
    case CHALKC_REPLY_BIGNUM:  sb_printf(b, "(big number) %s\n", r->str); break;
    case CHALKC_REPLY_STRING:  sb_repr(b, r->str, r->len); sb_puts(b, "\n"); break;
    case CHALKC_REPLY_VERBATIM: sb_put(b, r->str, r->len); sb_puts(b, "\n"); break;
    case CHALKC_REPLY_NIL:     sb_puts(b, "(nil)\n"); break;
    case CHALKC_REPLY_BOOL:    sb_puts(b, r->integer ? "(true)\n" : "(false)\n"); break;
    case CHALKC_REPLY_ATTRIBUTE: break; /* never a reply on its own */
    default:
        if (r->elements == 0)
            format_tty_empty(b, r);
        else
            format_tty_aggregate(b, r, prefix);
    }
}

/* redis-cli's cliFormatReplyRaw. */
static void format_raw(sbuf *b, const chalkc_reply *r)
{
    switch (r->type) {
    case CHALKC_REPLY_NIL: break;
    case CHALKC_REPLY_ERROR: sb_put(b, r->str, r->len); sb_puts(b, "\n"); break;
    case CHALKC_REPLY_BOOL: sb_puts(b, r->integer ? "(true)" : "(false)"); break;
    case CHALKC_REPLY_INTEGER: sb_printf(b, "%lld", r->integer); break;
    case CHALKC_REPLY_MAP:
        for (size_t i = 0; i + 1 < r->elements; i += 2) {
            if (i > 0)
                sb_puts(b, "\n");
            format_raw(b, r->element[i]);
            sb_puts(b, " ");
            format_raw(b, r->element[i + 1]);
        }
        break;
    case CHALKC_REPLY_ATTRIBUTE: break;
    default:
        if (is_aggregate(r)) {
            for (size_t i = 0; i < r->elements; i++) {
                if (i > 0)
                    sb_puts(b, "\n");
                format_raw(b, r->element[i]);
            }
        } else {
            sb_put(b, r->str, r->len); /* status, string, double, ... */
        }
    }
}

int cli_format_reply(const chalkc_reply *r, int raw, char **buf, size_t *len)
{
    sbuf b = {0};
    if (raw) {
        format_raw(&b, r);
        sb_puts(&b, "\n");
    } else {
        format_tty(&b, r, "");
    }
    if (b.oom) {
        free(b.p);
        return CHALKC_ENOMEM;
    }
    *buf = b.p;
    *len = b.len;
    return 0;
}

/* ---- argument splitting (redis's sdssplitargs) -------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads one double-quoted word starting after the quote; returns the
 * position after the closing quote, or NULL if unbalanced. */
static const char *split_dquoted(const char *p, sbuf *w)
{
    for (;;) {
        if (!*p)
            return NULL;
        if (p[0] == '\\' && p[1] == 'x' && hexval(p[2]) >= 0 && hexval(p[3]) >= 0) {
            char c = (char)(hexval(p[2]) * 16 + hexval(p[3]));
            sb_put(w, &c, 1);
            p += 4;
        } else if (p[0] == '\\' && p[1]) {
            char c = p[1];
            c = c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t'
              : c == 'b' ? '\b' : c == 'a' ? '\a' : c;
            sb_put(w, &c, 1);
            p += 2;
        } else if (*p == '"') {
            /* the closing quote must be followed by a space or the end */
            return (p[1] && !isspace((unsigned char)p[1])) ? NULL : p + 1;
        } else {
            sb_put(w, p++, 1);
        }
    }
}

static const char *split_squoted(const char *p, sbuf *w)
{
    for (;;) {
        if (!*p)
            return NULL;
        if (p[0] == '\\' && p[1] == '\'') {
            sb_put(w, "'", 1);
            p += 2;
        } else if (*p == '\'') {
            return (p[1] && !isspace((unsigned char)p[1])) ? NULL : p + 1;
        } else {
            sb_put(w, p++, 1);
        }
    }
}

int cli_split_args(const char *line, char ***argv_out, size_t **lens_out)
{
    char **argv = NULL;
    size_t *lens = NULL;
    int argc = 0;
    const char *p = line;
    for (;;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        sbuf w = {0};
        sb_put(&w, "", 0);
        if (*p == '"')
            p = split_dquoted(p + 1, &w);
        else if (*p == '\'')
            p = split_squoted(p + 1, &w);
        else
            while (*p && !isspace((unsigned char)*p))
                sb_put(&w, p++, 1);
        char **na = realloc(argv, (size_t)(argc + 1) * sizeof(*na));
        size_t *nl = realloc(lens, (size_t)(argc + 1) * sizeof(*nl));
        if (na) argv = na;
        if (nl) lens = nl;
        if (!p || !na || !nl || w.oom) {
            free(w.p);
            cli_free_args(argc, argv, lens);
            return -1;
        }
        argv[argc] = w.p;
        lens[argc++] = w.len;
    }
    *argv_out = argv;
    *lens_out = lens;
    return argc;
}

void cli_free_args(int argc, char **argv, size_t *lens)
{
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
    free(lens);
}

/* ---- --wire --------------------------------------------------------------- */

/* The tap's state per direction: a partial line, and how many payload
 * bytes (plus CRLF) of a bulk string are still to come. */
typedef struct wire_dir {
    char line[4096];
    size_t len;
    long long payload_left;
} wire_dir;

static const char *wire_annotation(const char *l, size_t n, char *tmp,
                                   size_t cap, long long *payload)
{
    long long v = n > 1 ? strtoll(l + 1, NULL, 10) : 0;
    switch (l[0]) {
    case '*': snprintf(tmp, cap, "array of %lld", v); break;
    case '%': snprintf(tmp, cap, "map of %lld pairs", v); break;
    case '~': snprintf(tmp, cap, "set of %lld", v); break;
    case '>': snprintf(tmp, cap, "push of %lld", v); break;
    case '|': snprintf(tmp, cap, "attribute of %lld pairs", v); break;
    case '+': return "simple string";
    case '-': return "error";
    case ':': return "integer";
    case ',': return "double";
    case '#': return "boolean";
    case '_': return "null";
    case '(': return "big number";
    case '$': case '!': case '=':
        if (v < 0)
            return "null bulk string (RESP2)";
        *payload = v + 2;
        snprintf(tmp, cap, "%s of %lld bytes follows",
                 l[0] == '$' ? "bulk string" : l[0] == '!' ? "blob error"
                 : "verbatim string", v);
        break;
    default: return "?";
    }
    return tmp;
}

static void wire_emit(wire_dir *d, char dir, int is_payload)
{
    char tmp[96];
    const char *note = "payload";
    sbuf b = {0};
    sb_puts(&b, dir == 'S' ? "-> " : "<- ");
    sb_repr(&b, d->line, d->len);
    if (!is_payload)
        note = wire_annotation(d->line, d->len, tmp, sizeof(tmp), &d->payload_left);
    if (b.p)
        printf("%-40s # %s\n", b.p, note);
    free(b.p);
    d->len = 0;
}

void cli_wire_tap(void *ud, char dir, const char *buf, size_t len)
{
    wire_dir *d = (wire_dir *)ud + (dir == 'S' ? 0 : 1);
    for (size_t i = 0; i < len; i++) {
        if (d->len < sizeof(d->line))
            d->line[d->len++] = buf[i];
        if (d->payload_left > 0) {
            if (--d->payload_left == 0)
                wire_emit(d, dir, 1);
        } else if (buf[i] == '\n') {
            wire_emit(d, dir, 0);
        }
    }
    fflush(stdout);
}

size_t cli_wire_state_size(void) { return 2 * sizeof(wire_dir); }
