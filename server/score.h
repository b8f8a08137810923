/*
 * score.h — order-preserving encodings of numbers as bytes (score.c):
 * a sorted-set score (double) and a list position (int64) become 8 bytes
 * whose memcmp order is their numeric order, so the engine's ordered index
 * (which compares keys with memcmp) sorts sub-records by number.
 *
 * The design (the one idea, what is left out and what it costs, the
 * interview topics) is at the top of score.c.
 */
#ifndef CHALK_SCORE_H
#define CHALK_SCORE_H

#include <stddef.h>
#include <stdint.h>

#define SCORE_BYTES 8

/* Encode d (not NaN; -0.0 is stored as +0.0) into out[8], big-endian,
 * such that memcmp(enc(a), enc(b)) < 0 iff a < b. */
void score_encode(double d, unsigned char out[SCORE_BYTES]);
double score_decode(const unsigned char in[SCORE_BYTES]);

/* The same idea for a signed 64-bit integer (list positions). */
void pos_encode(int64_t v, unsigned char out[8]);
int64_t pos_decode(const unsigned char in[8]);

/* Redis's textual form of a score: the shortest "%.*g" that reads back as
 * the same double, "inf" / "-inf". Returns the length written (< 32). */
int score_format(double d, char out[32]);

#endif /* CHALK_SCORE_H */
