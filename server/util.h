/*
 * util.h — small pure helpers shared by the server's files and its tests:
 * Redis-exact number parsing, glob matching, reading a file.
 */
#ifndef CHALK_UTIL_H
#define CHALK_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Redis's string2ll: optional '-', digits, no leading zeros (except "0"),
 * no spaces, no '+', fits a long long. true on success. */
bool string_to_ll(const char *s, size_t len, long long *out);
/* Redis's string-to-double for arguments: strtod over the whole string, no
 * leading space, not NaN; "inf", "-inf", "+inf" are allowed. */
bool string_to_double(const char *s, size_t len, double *out);
/* Redis's stringmatchlen: * ? [abc] [^a-z] \x; nocase for CONFIG GET.
 * Bounded: a pattern nested too deep stops matching rather than recursing
 * without end (Redis CVE-2022-36021 class). */
bool glob_match(const char *pat, size_t plen, const char *str, size_t slen, bool nocase);
/* Read a whole file into a malloc'd, NUL-terminated buffer. 0 or -1 (errno). */
int read_whole_file(const char *path, char **out, size_t *len);
/* Lower-case copy into out (at most outlen-1 bytes). */
void str_lower(char *out, size_t outlen, const char *s, size_t len);

#endif /* CHALK_UTIL_H */
