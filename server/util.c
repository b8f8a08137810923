/*
 * util.c — number parsing and printing with Redis's exact rules, the
 * rank-range rule of LRANGE / ZRANGE, glob matching, files.
 *
 * The one idea: parse user input strictly and never trust it to be small.
 * string_to_ll refuses what Redis refuses ("+1", "01", " 1", "1 "), so a
 * client gets the same `-ERR value is not an integer or out of range` it
 * would from Redis; glob_match is Redis's matcher with its two defences
 * against pathological patterns (a nesting limit and giving up once the
 * rest of the string is too short). Each rule is written once here (the
 * RESP parser's length headers share string_to_ll's digit loop through
 * util.h's decimal_digits_to_ll), so two commands cannot drift apart.
 *
 * Left out on purpose: locale handling (strtod runs in the C locale, which
 * Chalk never changes); the cost would be a "1,5" parsed differently by a
 * process that called setlocale.
 *
 * Interview topics: none tagged here; refusing oversized or pathological
 * input is security.basics (networking.c).
 */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

size_t ll_to_string(char *buf, long long v)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    size_t n = (size_t)(tmp + sizeof tmp - p);
    memcpy(buf, p, n);
    buf[n] = 0;
    return n;
}

bool string_to_ll(const char *s, size_t len, long long *out)
{
    if (len == 0 || len > 20)
        return false;
    if (len == 1 && s[0] == '0') {
        *out = 0;
        return true;
    }
    bool neg = s[0] == '-';
    size_t i = neg ? 1 : 0;
    if (i == len || s[i] < '1' || s[i] > '9')
        return false;                 /* "-", "-0", "01", "+1", " 1" */
    return decimal_digits_to_ll(s + i, len - i, neg, out);
}

bool string_to_cursor(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (isspace((unsigned char)s[0]) || *end != '\0' || errno == ERANGE)
        return false;
    *out = v;
    return true;
}

bool rank_range(long long n, long long *start, long long *stop)
{
    if (*start < 0)
        *start += n;
    if (*stop < 0)
        *stop += n;
    if (*start < 0)
        *start = 0;
    if (*start > *stop || *start >= n)
        return false;
    if (*stop >= n)
        *stop = n - 1;
    return true;
}

bool string_to_long_double(const char *s, size_t len, long double *out)
{
    char buf[5 * 1024];
    if (len == 0 || len >= sizeof buf || isspace((unsigned char)s[0]))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    long double v = strtold(buf, &end);
    if ((size_t)(end - buf) != len || isnan(v) ||
        (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || v == 0)))
        return false;
    *out = v;
    return true;
}

int long_double_to_human(char *buf, size_t size, long double v)
{
    int n = snprintf(buf, size, "%.17Lf", v);
    if (n < 0 || (size_t)n >= size)
        return -1;
    if (strchr(buf, '.')) {
        while (n > 0 && buf[n - 1] == '0')
            n--;
        if (n > 0 && buf[n - 1] == '.')
            n--;
    }
    if (n == 2 && buf[0] == '-' && buf[1] == '0')
        buf[0] = '0', n = 1;
    buf[n] = '\0';
    return n;
}

bool string_to_double(const char *s, size_t len, double *out)
{
    char buf[256];
    if (len == 0 || len >= sizeof buf || isspace((unsigned char)s[0]))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (strlen(buf) != len)
        return false;                 /* an embedded NUL */
    char *end;
    errno = 0;
    double d = strtod(buf, &end);
    if (*end != '\0' || isnan(d) || (errno == ERANGE && !isinf(d) && d != 0))
        return false;
    *out = d;
    return true;
}

/* One [...] class at pat (after the '['); returns whether c matched and
 * advances pat and plen to the closing ']'. */
static bool match_class(const char **pat, size_t *plen, char c, bool nocase)
{
    const char *p = *pat + 1;
    size_t n = *plen - 1;
    bool neg = n && *p == '^';
    bool hit = false;
    if (neg)
        p++, n--;
    while (n) {
        if (*p == '\\' && n >= 2) {
            p++, n--;
            if (*p == c) hit = true;
        } else if (*p == ']') {
            break;
        } else if (n >= 3 && p[1] == '-') {
            int lo = (unsigned char)p[0], hi = (unsigned char)p[2], x = (unsigned char)c;
            if (lo > hi) { int t = lo; lo = hi; hi = t; }
            if (nocase) { lo = tolower(lo); hi = tolower(hi); x = tolower(x); }
            if (x >= lo && x <= hi) hit = true;
            p += 2, n -= 2;
        } else if (nocase ? tolower((unsigned char)*p) == tolower((unsigned char)c) : *p == c) {
            hit = true;
        }
        p++, n--;
    }
    if (n == 0) {                     /* no closing ']': stay on the last byte */
        p--;
        n = 1;
    }
    *pat = p;
    *plen = n;
    return neg ? !hit : hit;
}

static bool match_impl(const char *pat, size_t plen, const char *str, size_t slen,
                       bool nocase, bool *skip_longer, int nesting)
{
    if (nesting > 1000)
        return false;                 /* pathological pattern: give up */
    while (plen && slen) {
        switch (pat[0]) {
        case '*':
            while (plen > 1 && pat[1] == '*')
                pat++, plen--;
            if (plen == 1)
                return true;
            while (slen) {
                if (match_impl(pat + 1, plen - 1, str, slen, nocase, skip_longer, nesting + 1))
                    return true;
                if (*skip_longer)
                    return false;
                str++, slen--;
            }
            *skip_longer = true;      /* no suffix matched: shorter ones can't */
            return false;
        case '?':
            str++, slen--;
            break;
        case '[':
            if (!match_class(&pat, &plen, str[0], nocase))
                return false;
            str++, slen--;
            break;
        case '\\':
            if (plen >= 2)
                pat++, plen--;
            /* fall through */
        default:
            if (nocase ? tolower((unsigned char)pat[0]) != tolower((unsigned char)str[0])
                       : pat[0] != str[0])
                return false;
            str++, slen--;
            break;
        }
        pat++, plen--;
        if (slen == 0)
            while (plen && *pat == '*')
                pat++, plen--;
    }
    return plen == 0 && slen == 0;
}

bool glob_match(const char *pat, size_t plen, const char *str, size_t slen, bool nocase)
{
    bool skip_longer = false;
    return match_impl(pat, plen, str, slen, nocase, &skip_longer, 0);
}

int read_whole_file(const char *path, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size > (1 << 26)) {
        close(fd);
        return -1;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n <= 0)
            break;                    /* a short file: keep what we read */
        got += (size_t)n;
    }
    close(fd);
    if (!buf)
        return -1;
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

void str_lower(char *out, size_t outlen, const char *s, size_t len)
{
    size_t i = 0;
    for (; i < len && i + 1 < outlen; i++)
        out[i] = (char)tolower((unsigned char)s[i]);
    if (outlen)
        out[i] = '\0';
}
