/*
 * n_plus_one.c — the N+1 problem, measured: reading N keys with N round
 * trips, with one MGET, and with one pipelined batch of N GETs.
 *
 * The one idea: on a network the cost of a request is mostly the round
 * trip, not the work. N sequential GETs pay N round trips (the "N" of N+1,
 * after the "1" query that listed the ids); MGET pays one; pipelining pays
 * one for any mix of commands. The server does the same work each time.
 *
 * Left out on purpose: a real ORM. The "1" query is a list of ids (LRANGE);
 * the "N" are the per-item GETs an ORM's lazy loading would issue.
 *
 * Run: chalk-example-n-plus-one -p 6379 [-n 1000]
 * Interview topics: query.n-plus-one.
 */
#include "example.h"

static double ms_since(double t0) { return ex_now_ms_precise() - t0; }

/* Setup: N items and the list of their ids (what the "1" query reads),
 * written pipelined. */
static void setup(chalkc_conn *c, int n)
{
    chalkc_reply_free(ex_cmd(c, "DEL n1:ids"));
    for (int i = 0; i < n; i++) {
        chalkc_appendf(c, "SET n1:item:%d value-%d", i, i);
        chalkc_appendf(c, "RPUSH n1:ids %d", i);
    }
    for (int i = 0; i < 2 * n; i++) {
        chalkc_reply *r;
        chalkc_get_reply(c, &r);
        chalkc_reply_free(r);
    }
}

/* 1. The N+1 way: one query for the ids, then one GET per id, each
 * waiting for its reply. Returns the bytes read; *ids receives the ids. */
static long long read_n_plus_one(chalkc_conn *c, chalkc_reply **ids)
{
    double t0 = ex_now_ms_precise();
    long long bytes = 0;
    *ids = ex_cmd(c, "LRANGE n1:ids 0 -1");
    for (size_t i = 0; i < (*ids)->elements; i++) {
        chalkc_reply *r = ex_cmd(c, "GET n1:item:%s", (*ids)->element[i]->str);
        bytes += (long long)r->len;
        chalkc_reply_free(r);
    }
    printf("  %-28s %8.2f ms  (%zu round trips)\n", "N+1 separate GETs:",
           ms_since(t0), (*ids)->elements + 1);
    return bytes;
}

/* 2. One MGET of every key: the batch query. */
static long long read_mget(chalkc_conn *c, size_t n, const char **argv)
{
    double t0 = ex_now_ms_precise();
    chalkc_reply *m;
    long long bytes = 0;
    chalkc_command_argv(c, (int)n + 1, argv, NULL, &m);
    for (size_t i = 0; m && i < m->elements; i++)
        bytes += (long long)m->element[i]->len;
    chalkc_reply_free(m);
    printf("  %-28s %8.2f ms  (1 round trip, ids already known)\n", "one MGET:",
           ms_since(t0));
    return bytes;
}

/* 3. Pipelining: the same N GETs, sent together, read together. */
static long long read_pipelined(chalkc_conn *c, size_t n, const char **keys)
{
    double t0 = ex_now_ms_precise();
    long long bytes = 0;
    for (size_t i = 0; i < n; i++)
        chalkc_appendf(c, "GET %s", keys[i]);
    for (size_t i = 0; i < n; i++) {
        chalkc_reply *r;
        if (chalkc_get_reply(c, &r) == 0)
            bytes += (long long)r->len;
        chalkc_reply_free(r);
    }
    printf("  %-28s %8.2f ms  (1 round trip, ids already known)\n",
           "pipelined GETs:", ms_since(t0));
    return bytes;
}

/* @interview(query.n-plus-one): What is the N+1 problem and how do you fix
 * it? One query fetches N ids, then N more queries fetch each item: N+1
 * round trips, so latency grows with N even though each query is cheap.
 * Fix it by batching (MGET, SQL's WHERE id IN (...), a DataLoader) or by
 * pipelining: this program measures all three on the same data. */
int main(int argc, char **argv)
{
    ex_args a = ex_parse(argc, argv);
    int n = 1000;
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "-n"))
            n = atoi(argv[i + 1]);
    chalkc_conn *c = ex_connect(&a, 0, 0);
    setup(c, n);
    printf("N+1: reading %d items whose ids come from one list\n", n);
    chalkc_reply *ids;
    long long bytes1 = read_n_plus_one(c, &ids);
    /* argv[0] = "MGET", argv[1..n] = the keys; the pipeline reuses them. */
    const char **argv2 = malloc((ids->elements + 1) * sizeof(*argv2));
    char *keys = malloc(ids->elements * 32);
    argv2[0] = "MGET";
    for (size_t i = 0; i < ids->elements; i++) {
        snprintf(keys + 32 * i, 32, "n1:item:%s", ids->element[i]->str);
        argv2[i + 1] = keys + 32 * i;
    }
    long long bytes2 = read_mget(c, ids->elements, argv2);
    long long bytes3 = read_pipelined(c, ids->elements, argv2 + 1);
    int failed = ex_check(bytes1 == bytes2 && bytes2 == bytes3 && bytes1 > 0,
                          "all three read the same bytes");
    printf("  the work is the same; the difference is round trips\n");
    free(keys);
    free(argv2);
    chalkc_reply_free(ids);
    chalkc_close(c);
    return failed;
}
