/*
 * util.h — small pure helpers shared by the server's files and its tests:
 * Redis-exact number parsing and printing, the rank-range rule, glob
 * matching, reading a file.
 *
 * The design (the one idea, what is left out and what it costs, the
 * interview topics) is at the top of util.c.
 */
#ifndef CHALK_UTIL_H
#define CHALK_UTIL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The digits of a decimal integer, its sign given apart, into a long long:
 * s[0..len) must be at least one byte, every byte '0'..'9'; false when one
 * is not or the value does not fit (down to LLONG_MIN when neg). The core
 * that string_to_ll (Redis's rules for arguments) and the RESP parser's
 * count and length headers (resp_parse.c) share; each checks its own sign
 * and leading-zero rules first. Inline so that resp_parse.c still compiles
 * alone (tests/fuzz/run.sh builds the fuzz target from that one file). */
static inline bool decimal_digits_to_ll(const char *s, size_t len, bool neg, long long *out)
{
    if (len == 0)
        return false;
    unsigned long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (ULLONG_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1)
            return false;
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > LLONG_MAX)
            return false;
        *out = (long long)v;
    }
    return true;
}

/* Redis's string2ll: optional '-', digits, no leading zeros (except "0"),
 * no spaces, no '+', fits a long long. true on success. */
bool string_to_ll(const char *s, size_t len, long long *out);
/* Redis's ll2string: v in decimal into buf (>= 21 bytes), NUL-terminated;
 * returns the length. No printf: INCR's hot path formats one per call. */
size_t ll_to_string(char *buf, long long v);
/* Redis's string-to-double for arguments: strtod over the whole string, no
 * leading space, not NaN; "inf", "-inf", "+inf" are allowed. */
bool string_to_double(const char *s, size_t len, double *out);
/* Redis's parseScanCursorOrReply rule for a SCAN / HSCAN / SSCAN / ZSCAN
 * cursor: strtoull over the whole NUL-terminated string s (RESP arguments
 * are; a leading '-' wraps, as in Redis), no leading space, nothing after
 * the digits, no overflow. false: the caller replies "invalid cursor". */
bool string_to_cursor(const char *s, uint64_t *out);
/* Redis's rank-range rule (LRANGE LTRIM ZRANGE ZREMRANGEBYRANK) for a
 * collection of n elements: a negative index counts from the end, then
 * start is clamped to 0 and stop to n - 1. false when the range is empty.
 * (GETRANGE's rule differs: see cmd_string.c clamp_range.) */
bool rank_range(long long n, long long *start, long long *stop);
/* Redis's string2ld (INCRBYFLOAT, HINCRBYFLOAT): strtold over the whole
 * string (shorter than 5 KB), no leading space, not NaN, and not out of
 * long double's range ("1e5000" and "1e-5000" are refused; "inf" is not,
 * the commands refuse infinities themselves). */
bool string_to_long_double(const char *s, size_t len, long double *out);
/* Redis's ld2string in human mode (INCRBYFLOAT, HINCRBYFLOAT): %.17Lf with
 * trailing zeros (and a trailing point) removed, "-0" written "0". Returns
 * the length written into buf (NUL terminated), or -1 if size is too small
 * (5 KB holds any finite long double). */
int long_double_to_human(char *buf, size_t size, long double v);
/* Redis's stringmatchlen: * ? [abc] [^a-z] \x; nocase for CONFIG GET.
 * Bounded: a pattern nested too deep stops matching rather than recursing
 * without end (Redis CVE-2022-36021 class). */
bool glob_match(const char *pat, size_t plen, const char *str, size_t slen, bool nocase);
/* Read a whole file into a malloc'd, NUL-terminated buffer. 0 or -1 (errno). */
int read_whole_file(const char *path, char **out, size_t *len);
/* Lower-case copy into out (at most outlen-1 bytes). */
void str_lower(char *out, size_t outlen, const char *s, size_t len);

/* Byte strings in memcmp order, a shorter prefix first (the order of the
 * engine's keys, of sorted-set lex ranges and of channel names): <0, 0, >0.
 * Either pointer may be NULL when its length is 0. */
static inline int bytes_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int d = n ? memcmp(a, b, n) : 0;
    return d ? d : (alen > blen) - (alen < blen);
}

#endif /* CHALK_UTIL_H */
