/*
 * glob.h — Redis's glob patterns (KEYS, SCAN MATCH), matched in bounded
 * work: O(pattern length × string length) steps at worst, no recursion.
 *
 * The design (the one idea, what is left out and what it costs, the
 * interview topics) is at the top of glob.c.
 */
#ifndef CHALK_GLOB_H
#define CHALK_GLOB_H

#include <stdbool.h>
#include <stddef.h>

/* Does `str` match glob `pat`? Redis's stringmatchlen() semantics:
 *   *        any run of bytes, also empty (but see below)
 *   ?        exactly one byte
 *   [abc]    one byte of the set; [^abc] one byte not in it; [a-z] a range
 *            (bounds in either order); \x in a set is x; a set missing its
 *            ']' runs to the end of the pattern
 *   \x       x itself (a '\' at the end of the pattern is a '\')
 *   other    itself; with nocase, ASCII letters ignore case (not inside
 *            \-escapes in a set, as in Redis)
 * As in Redis, the empty string matches only the empty pattern ("*" does
 * not match ""): KEYS and SCAN special-case a pattern that is exactly "*".
 * Both buffers may contain NUL bytes; neither needs a terminator. */
bool glob_match_bounded(const char *pat, size_t plen, const char *str, size_t slen, bool nocase);

#endif /* CHALK_GLOB_H */
