/*
 * score.c — numbers as bytes that sort like the numbers.
 *
 * The one idea: the ordered index compares keys with memcmp, byte by byte,
 * unsigned. To make a sorted set's score index ordered by score, the score
 * must be written so that unsigned byte order IS numeric order.
 *
 * Doubles (IEEE 754): take the 64 bits, big-endian (most significant
 * byte first, so memcmp compares the sign and exponent first). For a
 * positive number the bits already grow with the value; the sign bit is 0,
 * which would sort positives BELOW negatives, so flip the sign bit to 1.
 * For a negative number the magnitude bits grow as the value falls, so
 * flip ALL the bits: the sign becomes 0 (below every positive) and larger
 * magnitudes become smaller bytes.
 *
 *   value        bits               encoded
 *   -inf         FFF0000000000000   000FFFFFFFFFFFFF
 *   -1.0         BFF0000000000000   400FFFFFFFFFFFFF
 *   -0.0         8000000000000000   (stored as +0.0, see below)
 *   +0.0         0000000000000000   8000000000000000
 *   1.0          3FF0000000000000   BFF0000000000000
 *   +inf         7FF0000000000000   FFF0000000000000
 *
 * -0.0 and +0.0 compare equal as numbers but would encode differently, so
 * a member scored -0 would sort before a member scored 0 whatever their
 * names. Normalising -0.0 to +0.0 keeps "equal scores sort by member".
 * NaN is never stored: every command rejects it first (Redis's rule).
 *
 * Integers: two's complement with the sign bit flipped, big-endian:
 * INT64_MIN → 00..00, -1 → 7F..FF, 0 → 80..00, INT64_MAX → FF..FF.
 *
 * Left out: variable-length encodings (a small integer costs 8 bytes).
 *
 * Interview topics: index.optimization (the score index is a secondary
 * index whose key is this encoding; see composite.h).
 */
#include "score.h"
#include "util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_be64(uint64_t u, unsigned char out[8])
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (unsigned char)(u & 0xff);
        u >>= 8;
    }
}

static uint64_t get_be64(const unsigned char in[8])
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = (u << 8) | in[i];
    return u;
}

void score_encode(double d, unsigned char out[SCORE_BYTES])
{
    if (d == 0.0)
        d = 0.0;                            /* -0.0 → +0.0 */
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    u = (u & 0x8000000000000000ull) ? ~u : (u | 0x8000000000000000ull);
    put_be64(u, out);
}

double score_decode(const unsigned char in[SCORE_BYTES])
{
    uint64_t u = get_be64(in);
    u = (u & 0x8000000000000000ull) ? (u & ~0x8000000000000000ull) : ~u;
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

void pos_encode(int64_t v, unsigned char out[8])
{
    put_be64((uint64_t)v ^ 0x8000000000000000ull, out);
}

int64_t pos_decode(const unsigned char in[8])
{
    return (int64_t)(get_be64(in) ^ 0x8000000000000000ull);
}

int score_format(double d, char out[32])
{
    if (isinf(d))
        return snprintf(out, 32, "%s", d > 0 ? "inf" : "-inf");
    if (d == floor(d) && fabs(d) < 1e15)      /* exact as a long long: digits by */
        return (int)ll_to_string(out, (long long)d); /* hand ("%.0f" was 4% of ZPOPMIN) */
    if (d == floor(d) && fabs(d) < 1e17)
        return snprintf(out, 32, "%.0f", d);        /* "10", not "1e+01" */
    for (int prec = 1; prec < 17; prec++) {
        int n = snprintf(out, 32, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            return n;
    }
    return snprintf(out, 32, "%.17g", d);
}
