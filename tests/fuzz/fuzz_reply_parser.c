/*
 * fuzz_reply_parser.c — libFuzzer target for libchalk's RESP reader
 * (client/reply.c), the code that reads whatever a server, or something
 * pretending to be one, sends back.
 *
 * Each input is parsed twice: fed whole, and fed in chunks cut at
 * pseudo-random points (seeded from the input itself, so a crash
 * reproduces). Both must produce the same replies, in the same order, and
 * end in the same state (waiting, or failed). ASan/UBSan catch memory and
 * arithmetic errors; a reply tree must stay shallow: at most
 * CHALKC_MAX_DEPTH aggregates deep, plus one hop per attribute (an
 * attribute is parsed at the level of the reply it then hangs off), so
 * never more than 2 * CHALKC_MAX_DEPTH + 2 levels.
 *
 * Build and run: tests/fuzz/run_client.sh [seconds]   (clang + libFuzzer)
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <chalk/client.h>

/* Appends a canonical rendering of r to out (bounded). */
static void render(const chalkc_reply *r, char *out, size_t cap, int depth)
{
    char tmp[96];
    if (depth > 2 * CHALKC_MAX_DEPTH + 2)
        abort(); /* the reader let a too-deep tree through */
    size_t l = strlen(out);
    if (l + 200 > cap)
        return;
    if (r->attribute)
        render(r->attribute, out, cap, depth + 1);
    snprintf(tmp, sizeof(tmp), "<%d %lld %zu %zu ", (int)r->type, r->integer,
             r->len, r->elements);
    strcat(out, tmp);
    size_t n = r->len < 64 ? r->len : 64;
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), 3, "%02x", (unsigned char)r->str[i]);
    for (size_t i = 0; i < r->elements; i++)
        render(r->element[i], out, cap, depth + 1);
    strcat(out, ">");
}

/* Parses data fed in chunks; returns the final state (0 waiting, <0 error)
 * and renders every reply into out. */
static int parse(const uint8_t *data, size_t size, uint64_t seed, char *out,
                 size_t cap)
{
    chalkc_reader *rd = chalkc_reader_new();
    size_t pos = 0;
    int state = 0;
    out[0] = '\0';
    while (pos < size && state >= 0) {
        size_t n = size - pos;
        if (seed) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            n = 1 + seed % (n < 16 ? n : 16);
        }
        if (chalkc_reader_feed(rd, (const char *)data + pos, n) < 0)
            state = -1;
        pos += n;
        chalkc_reply *r;
        int rc;
        while (state >= 0 && (rc = chalkc_reader_get(rd, &r)) == 1) {
            render(r, out, cap, 0);
            strcat(out, "|");
            chalkc_reply_free(r);
        }
        if (state >= 0 && rc < 0)
            state = rc;
    }
    chalkc_reader_free(rd);
    return state;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char whole[1 << 16], split[1 << 16]; /* fuzzer-local scratch */
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < size && i < 8; i++)
        seed = seed * 31 + data[i];
    int a = parse(data, size, 0, whole, sizeof(whole));
    int b = parse(data, size, seed | 1, split, sizeof(split));
    if ((a < 0) != (b < 0) || strcmp(whole, split) != 0) {
        fprintf(stderr, "whole and split disagree: %d vs %d\n%s\n%s\n", a, b,
                whole, split);
        abort();
    }
    return 0;
}
