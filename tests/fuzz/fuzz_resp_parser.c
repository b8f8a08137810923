/*
 * fuzz_resp_parser.c — libFuzzer target for the server's request parser
 * (server/resp_parse.c).
 *
 * Each input is parsed twice: whole, and cut into pieces at pseudo-random
 * points (seeded from the input) the way TCP may deliver it, keeping the
 * unconsumed bytes like a client's query buffer. Both runs must produce the
 * same requests, in the same order, and end the same way (same error text,
 * or "need more"); ASan/UBSan catch any memory error on the way. The first
 * byte chooses the limits (authenticated or not, a small max bulk length)
 * so the fuzzer explores the limit paths too.
 *
 *   bash tests/fuzz/run.sh [seconds]      (make fuzz)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp_parse.h"

typedef struct transcript {
    unsigned char *p;
    size_t len, cap;
} transcript;

static void emit(transcript *t, const void *data, size_t n)
{
    if (t->len + n > t->cap) {
        t->cap = (t->len + n) * 2 + 64;
        t->p = realloc(t->p, t->cap);
        if (!t->p)
            abort();
    }
    memcpy(t->p + t->len, data, n);
    t->len += n;
}

/* Parse `data` delivered in pieces; record every request and the end. */
static void run(const uint8_t *data, size_t size, const size_t *cuts, size_t ncuts,
                const resp_limits *lim, transcript *t)
{
    resp_parser p = {0};
    p.bulk_len = -1;
    unsigned char *buf = malloc(size + 1);
    size_t have = 0, fed = 0, cut = 0;
    int rc = RESP_AGAIN;
    while (fed < size) {
        size_t next = cut < ncuts && cuts[cut] > fed && cuts[cut] < size ? cuts[cut] : size;
        cut++;
        memcpy(buf + have, data + fed, next - fed);
        have += next - fed;
        fed = next;
        for (;;) {
            size_t used = 0;
            rc = resp_parse(&p, (const char *)buf, have, &used, lim);
            if (used > have)
                abort();                     /* consumed more than given */
            memmove(buf, buf + used, have - used);
            have -= used;
            if (rc != RESP_DONE)
                break;
            uint32_t argc = (uint32_t)p.argc;
            emit(t, "R", 1);
            emit(t, &argc, sizeof argc);
            for (int i = 0; i < p.argc; i++) {
                uint64_t len = p.argv[i].len;
                if (p.argv[i].ptr[len] != '\0')
                    abort();                 /* the NUL after each argument */
                emit(t, &len, sizeof len);
                emit(t, p.argv[i].ptr, len);
            }
            resp_parser_reset(&p);
        }
        if (rc == RESP_ERROR)
            break;
    }
    if (rc == RESP_ERROR) {
        emit(t, "E", 1);
        emit(t, p.err, strlen(p.err));
    } else {
        emit(t, "A", 1);
    }
    resp_parser_free(&p);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    resp_limits lim = {
        .max_bulk = (data[0] & 1) ? 64 : 512LL * 1024 * 1024,
        .unauthenticated = (data[0] & 2) != 0,
    };
    uint32_t seed = data[0] * 2654435761u + data[1];
    data += 2;
    size -= 2;
    size_t cuts[64], ncuts = 0;
    size_t pos = 0;
    while (ncuts < 64 && size > 0) {
        seed = seed * 1103515245u + 12345u;
        pos += 1 + (seed >> 16) % (size / 8 + 2);
        if (pos >= size)
            break;
        cuts[ncuts++] = pos;
    }
    transcript whole = {0}, split = {0}, bytewise = {0};
    run(data, size, NULL, 0, &lim, &whole);
    run(data, size, cuts, ncuts, &lim, &split);
    if (whole.len != split.len || memcmp(whole.p, split.p, whole.len) != 0) {
        fprintf(stderr, "whole and split parses disagree\n");
        abort();
    }
    if (size <= 256) {                       /* one byte at a time, too */
        size_t every[256];
        for (size_t i = 0; i < size; i++)
            every[i] = i + 1;
        run(data, size, every, size, &lim, &bytewise);
        if (whole.len != bytewise.len || memcmp(whole.p, bytewise.p, whole.len) != 0) {
            fprintf(stderr, "whole and byte-by-byte parses disagree\n");
            abort();
        }
    }
    free(whole.p);
    free(split.p);
    free(bytewise.p);
    return 0;
}
