/*
 * cmd_lcs.c — LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]:
 * the longest common subsequence of two strings, Redis 7's reply shapes.
 *
 * The one idea: the textbook dynamic program. T[i][j] is the LCS length
 * of the first i bytes of a and the first j bytes of b; a match extends
 * T[i-1][j-1], a mismatch takes the better of T[i-1][j] and T[i][j-1].
 * Walking back from T[alen][blen] spells the subsequence (backwards) and,
 * for IDX, the matching ranges, emitted from the end as Redis does.
 *
 * Left out on purpose: Hirschberg's linear-space variant. The table costs
 * 4 × (alen+1) × (blen+1) bytes, so, as in Redis, it is refused when that
 * exceeds proto-max-bulk-len (before allocating), rather than being
 * computed in less memory and more time.
 *
 * Interview topics: none; a Redis 7 string command kept for parity.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "keyops.h"
#include "server.h"

typedef struct lcs_opts {
    bool len, idx, withmatchlen;
    long long minmatchlen;
} lcs_opts;

static bool parse_lcs(client *c, lcs_opts *o)
{
    memset(o, 0, sizeof *o);
    for (int j = 3; j < c->argc; j++) {
        const resp_arg *a = &c->argv[j];
        if (arg_is(a, "idx")) {
            o->idx = true;
        } else if (arg_is(a, "len")) {
            o->len = true;
        } else if (arg_is(a, "withmatchlen")) {
            o->withmatchlen = true;
        } else if (arg_is(a, "minmatchlen") && j + 1 < c->argc) {
            if (!arg_ll(c, &c->argv[++j], &o->minmatchlen))
                return false;
            if (o->minmatchlen < 0)
                o->minmatchlen = 0;
        } else {
            reply_error(c, ERR_SYNTAX);
            return false;
        }
    }
    if (o->idx && o->len) {
        reply_error(c, "If you want both the length and indexes, please just use IDX.");
        return false;
    }
    return true;
}

/* Both keys, as strings ("" when absent). false: an error was replied. */
static bool load_pair(client *c, chalk_value *a, chalk_value *b)
{
    memset(a, 0, sizeof *a);
    memset(b, 0, sizeof *b);
    int ra = ks_lookup_read(c->db, c->argv[1].ptr, c->argv[1].len, a);
    int rb = ks_lookup_read(c->db, c->argv[2].ptr, c->argv[2].len, b);
    int bad = (ra != CHALK_OK && ra != CHALK_ENOTFOUND) ? ra : (rb != CHALK_OK && rb != CHALK_ENOTFOUND) ? rb : 0;
    if (!bad && ((ra == CHALK_OK && ks_type_of(a) != KS_STRING) ||
                 (rb == CHALK_OK && ks_type_of(b) != KS_STRING))) {
        reply_error(c, "The specified keys must contain string values");
        bad = 1;
    } else if (bad) {
        reply_engine_error(c, bad);
    }
    if (bad) {
        chalk_value_free(a);
        chalk_value_free(b);
    }
    return !bad;
}

#define T(i, j) tab[(size_t)(j) + (size_t)(i) * (blen + 1)]

static void fill_table(uint32_t *tab, const char *a, size_t alen, const char *b, size_t blen)
{
    for (size_t i = 0; i <= alen; i++)
        for (size_t j = 0; j <= blen; j++) {
            if (i == 0 || j == 0)
                T(i, j) = 0;
            else if (a[i - 1] == b[j - 1])
                T(i, j) = T(i - 1, j - 1) + 1;
            else
                T(i, j) = T(i - 1, j) > T(i, j - 1) ? T(i - 1, j) : T(i, j - 1);
        }
}

static void reply_range(client *c, const lcs_opts *o, size_t as, size_t ae, size_t bs, size_t be)
{
    reply_array(c, 2 + o->withmatchlen);
    reply_array(c, 2);
    reply_long(c, (long long)as);
    reply_long(c, (long long)ae);
    reply_array(c, 2);
    reply_long(c, (long long)bs);
    reply_long(c, (long long)be);
    if (o->withmatchlen)
        reply_long(c, (long long)(ae - as + 1));
}

/* Walk back from (alen, blen): write the subsequence into out (which has
 * room for T(alen, blen) bytes) and, with IDX, reply each contiguous match
 * of at least minmatchlen bytes. Returns the number of ranges replied. */
static long walk_back(client *c, const lcs_opts *o, const uint32_t *tab, const char *a,
                      size_t alen, const char *b, size_t blen, char *out)
{
    size_t i = alen, j = blen, k = tab[(size_t)blen + alen * (blen + 1)];
    size_t as = alen, ae = 0, bs = 0, be = 0;    /* as == alen: no open range */
    long ranges = 0;
    while (i > 0 && j > 0) {
        bool emit = false;
        if (a[i - 1] == b[j - 1]) {
            out[--k] = a[i - 1];
            if (as == alen) {
                as = ae = i - 1;
                bs = be = j - 1;
            } else if (as == i && bs == j) {
                as--, bs--;                  /* extend the range backwards */
            } else {
                emit = true;
            }
            emit |= as == 0 || bs == 0;
            i--, j--;
        } else {
            if (T(i - 1, j) > T(i, j - 1))
                i--;
            else
                j--;
            emit = as != alen;
        }
        if (emit) {
            if (o->idx && (o->minmatchlen == 0 || (long long)(ae - as + 1) >= o->minmatchlen)) {
                reply_range(c, o, as, ae, bs, be);
                ranges++;
            }
            as = alen;
        }
    }
    return ranges;
}

static void lcs_command(client *c)
{
    lcs_opts o;
    chalk_value va, vb;
    if (!load_pair(c, &va, &vb))
        return;
    if (!parse_lcs(c, &o))
        goto done;
    const char *a = va.len ? ks_payload(&va) : "", *b = vb.len ? ks_payload(&vb) : "";
    size_t alen = ks_payload_len(&va), blen = ks_payload_len(&vb);
    /* (alen+1)(blen+1) fits: each is <= 512 MB. Refuse before allocating. */
    unsigned long long cells = (unsigned long long)(alen + 1) * (blen + 1);
    if (cells * sizeof(uint32_t) > (unsigned long long)server.cfg.proto_max_bulk_len) {
        reply_error(c, "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
        goto done;
    }
    uint32_t *tab = malloc(cells * sizeof *tab);
    char *out = malloc(alen + 1);
    if (!tab || !out) {
        reply_error(c, "Insufficient memory, failed allocating transient memory for LCS");
        free(tab);
        free(out);
        goto done;
    }
    fill_table(tab, a, alen, b, blen);
    size_t total = tab[cells - 1];
    if (o.idx) {
        reply_map(c, 2);
        reply_bulk_cstr(c, "matches");
        void *slot = reply_deferred(c);
        long n = walk_back(c, &o, tab, a, alen, b, blen, out);
        reply_bulk_cstr(c, "len");
        reply_long(c, (long long)total);
        if (slot)
            reply_set_deferred_array(c, slot, n);
    } else if (o.len) {
        reply_long(c, (long long)total);
    } else {
        walk_back(c, &o, tab, a, alen, b, blen, out);
        reply_bulk(c, out, total);
    }
    free(tab);
    free(out);
done:
    chalk_value_free(&va);
    chalk_value_free(&vb);
}

static const command_arg lcs_args[] = {
    {"key1", ARG_KEY, NULL, 0, NULL}, {"key2", ARG_KEY, NULL, 0, NULL},
    {"len", ARG_PURE_TOKEN, "LEN", ARGF_OPTIONAL, NULL},
    {"idx", ARG_PURE_TOKEN, "IDX", ARGF_OPTIONAL, NULL},
    {"min-match-len", ARG_INTEGER, "MINMATCHLEN", ARGF_OPTIONAL, NULL},
    {"withmatchlen", ARG_PURE_TOKEN, "WITHMATCHLEN", ARGF_OPTIONAL, NULL}, {0}};

const command_def cmd_lcs_table[] = {
    {"lcs", lcs_command, -3, CMD_READONLY, 1, 2, 1, "string", "7.0.0",
     "O(N*M) where N and M are the lengths of s1 and s2, respectively",
     "Finds the longest common substring.", lcs_args, NULL},
    {0},
};
