/*
 * format.c — building the bytes of a command: from an argv array, or from a
 * printf-like format split into arguments at spaces.
 *
 * The one idea: a client only ever SENDS one RESP shape, an array of bulk
 * strings, so building a request is counting bytes, never escaping them —
 * that is what makes the protocol binary-safe. The request format, for
 * argc arguments (every line ends in CRLF, numbers in ASCII decimal):
 *
 *   bytes            meaning
 *   *<argc>\r\n      the array header: how many arguments follow
 *   $<len_i>\r\n     for each argument i: its length in bytes...
 *   <arg_i>\r\n      ...then exactly len_i bytes (any values, NUL too)
 *
 *   e.g. SET k v  =  "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
 *
 * A request is valid if and only if argc >= 1 and every argument is exactly
 * as long as its header says. (Servers also accept "inline" commands — plain
 * text lines, what telnet sends — but a client has no reason to.)
 *
 * Left out on purpose: hiredis's full printf (%i, %x, width, precision);
 * the subset here covers what commands need. Cost: format a number yourself
 * when you want hex.
 *
 * Interview topics: none; the protocol lesson is in docs/client.md.
 */
#include <chalk/client.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growable byte buffer. */
typedef struct fbuf {
    char *p;
    size_t len, cap;
} fbuf;

static int fbuf_put(fbuf *b, const void *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 64;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (!np)
            return CHALKC_ENOMEM;
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int chalkc_format_argv(char **out, size_t *outlen, int argc,
                       const char *const *argv, const size_t *argvlen)
{
    fbuf b = {0};
    char hdr[32];
    int n, rc = 0;
    *out = NULL;
    if (argc < 1 || !argv)
        return CHALKC_EINVAL;
    n = snprintf(hdr, sizeof(hdr), "*%d\r\n", argc);
    rc = fbuf_put(&b, hdr, (size_t)n);
    for (int i = 0; rc == 0 && i < argc; i++) {
        size_t len = argvlen ? argvlen[i] : strlen(argv[i]);
        n = snprintf(hdr, sizeof(hdr), "$%zu\r\n", len);
        rc = fbuf_put(&b, hdr, (size_t)n);
        if (rc == 0)
            rc = fbuf_put(&b, argv[i], len);
        if (rc == 0)
            rc = fbuf_put(&b, "\r\n", 2);
    }
    if (rc != 0) {
        free(b.p);
        return rc;
    }
    *out = b.p;
    *outlen = b.len;
    return 0;
}

/* The argument list being built from a format. */
typedef struct fargs {
    fbuf *args;   /* one buffer per argument */
    int n, cap;
} fargs;

static int fargs_new_arg(fargs *a)
{
    if (a->n == a->cap) {
        int ncap = a->cap ? a->cap * 2 : 8;
        fbuf *na = realloc(a->args, (size_t)ncap * sizeof(*na));
        if (!na)
            return CHALKC_ENOMEM;
        a->args = na;
        a->cap = ncap;
    }
    a->args[a->n++] = (fbuf){0};
    return 0;
}

static void fargs_free(fargs *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->args[i].p);
    free(a->args);
}

/* Appends one conversion's bytes (fmt points after the '%'); advances *fmt.
 * va_list is passed by pointer so the caller's copy advances too. */
static int format_conversion(fbuf *arg, const char **fmt, va_list *ap)
{
    char num[64];
    int n;
    const char *f = *fmt;
    if (f[0] == 's') {
        const char *s = va_arg(*ap, const char *);
        *fmt = f + 1;
        return fbuf_put(arg, s ? s : "", s ? strlen(s) : 0);
    }
    if (f[0] == 'b') {
        const void *p = va_arg(*ap, const void *);
        size_t len = va_arg(*ap, size_t);
        *fmt = f + 1;
        return fbuf_put(arg, p, len);
    }
    if (f[0] == '%') {
        *fmt = f + 1;
        return fbuf_put(arg, "%", 1);
    }
    if (f[0] == 'd') {
        n = snprintf(num, sizeof(num), "%d", va_arg(*ap, int));
        *fmt = f + 1;
    } else if (strncmp(f, "lld", 3) == 0) {
        n = snprintf(num, sizeof(num), "%lld", va_arg(*ap, long long));
        *fmt = f + 3;
    } else if (strncmp(f, "zu", 2) == 0) {
        n = snprintf(num, sizeof(num), "%zu", va_arg(*ap, size_t));
        *fmt = f + 2;
    } else if (f[0] == 'f') {
        n = snprintf(num, sizeof(num), "%.17g", va_arg(*ap, double));
        *fmt = f + 1;
    } else {
        return CHALKC_EINVAL;
    }
    return fbuf_put(arg, num, (size_t)n);
}

/* Splits fmt into arguments; a word starts at a non-space character. */
static int format_split(fargs *a, const char *fmt, va_list *ap)
{
    int in_word = 0, rc = 0;
    while (rc == 0 && *fmt) {
        if (*fmt == ' ') {
            in_word = 0;
            fmt++;
            continue;
        }
        if (!in_word) {
            rc = fargs_new_arg(a);
            in_word = 1;
            if (rc != 0)
                break;
        }
        fbuf *arg = &a->args[a->n - 1];
        if (*fmt == '%') {
            fmt++;
            rc = format_conversion(arg, &fmt, ap);
        } else {
            rc = fbuf_put(arg, fmt, 1);
            fmt++;
        }
    }
    return rc;
}

int chalkc_format_command(char **out, size_t *outlen, const char *fmt,
                          va_list ap)
{
    fargs a = {0};
    va_list cp;
    int rc;
    *out = NULL;
    if (!fmt)
        return CHALKC_EINVAL;
    va_copy(cp, ap);
    rc = format_split(&a, fmt, &cp);
    va_end(cp);
    if (rc == 0 && a.n == 0)
        rc = CHALKC_EINVAL;
    if (rc == 0) {
        const char **argv = malloc((size_t)a.n * sizeof(*argv));
        size_t *lens = malloc((size_t)a.n * sizeof(*lens));
        if (!argv || !lens) {
            rc = CHALKC_ENOMEM;
        } else {
            for (int i = 0; i < a.n; i++) {
                argv[i] = a.args[i].p ? a.args[i].p : "";
                lens[i] = a.args[i].len;
            }
            rc = chalkc_format_argv(out, outlen, a.n, argv, lens);
        }
        free(argv);
        free(lens);
    }
    fargs_free(&a);
    return rc;
}
