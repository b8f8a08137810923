/*
 * keyspace.c — whole-database operations over the encoding of keyspace.h:
 * counting a database's keys and flushing one or all databases.
 *
 * The one idea: a database is a prefix range of the engine's ordered index,
 * so both are a seek to the prefix and a walk while the prefix matches.
 * Left out: per-database counters maintained on every write (O(1) DBSIZE);
 * the cost is that DBSIZE and INFO keyspace walk the keys.
 *
 * Interview topics: arch.multi-tenancy, tagged in keyspace.h (numbered
 * databases as key prefixes).
 */
#include "keyspace.h"

#include "commands.h"
#include "server.h"

uint64_t ks_db_size(int db)
{
    if (!server.db)
        return 0;
    char prefix[KS_HDR];
    ks_prefix(prefix, db);
    chalk_iter *it = chalk_iter_new(server.db, NULL);
    if (!it)
        return 0;
    uint64_t n = 0;
    for (chalk_iter_seek(it, prefix, KS_HDR); chalk_iter_valid(it); chalk_iter_next(it)) {
        size_t klen;
        const char *k = chalk_iter_key(it, &klen);
        if (klen < KS_HDR || memcmp(k, prefix, KS_HDR) != 0)
            break;
        n++;
    }
    chalk_iter_free(it);
    return n;
}

void ks_count_all(uint64_t *keys, uint64_t *expires, int ndb)
{
    memset(keys, 0, (size_t)ndb * sizeof *keys);
    memset(expires, 0, (size_t)ndb * sizeof *expires);
    if (!server.db)
        return;
    chalk_iter *it = chalk_iter_new(server.db, NULL);
    if (!it)
        return;
    for (chalk_iter_seek_first(it); chalk_iter_valid(it); chalk_iter_next(it)) {
        size_t klen;
        const unsigned char *k = chalk_iter_key(it, &klen);
        if (klen < KS_HDR || k[1] != KS_KIND_KEY || k[0] >= ndb)
            continue;
        keys[k[0]]++;
        if (chalk_iter_expiry(it))
            expires[k[0]]++;
    }
    chalk_iter_free(it);
}

/* Collect up to 1024 keys of the range, then delete them in one batch
 * (deleting while iterating is allowed by the engine, but collecting first
 * keeps the iterator's view simple). */
long long ks_flush(client *c, int db)
{
    if (!server.db)
        return 0;
    long long deleted = 0;
    unsigned char prefix = (unsigned char)(db < 0 ? 0 : db);
    for (;;) {
        chalk_iter *it = chalk_iter_new(server.db, NULL);
        chalk_batch *b = chalk_batch_new();
        if (!it || !b) {
            chalk_iter_free(it);
            chalk_batch_free(b);
            return CHALK_ENOMEM;
        }
        if (db < 0)
            chalk_iter_seek_first(it);
        else
            chalk_iter_seek(it, &prefix, 1);
        size_t n = 0;
        for (; chalk_iter_valid(it) && n < 1024; chalk_iter_next(it)) {
            size_t klen;
            const unsigned char *k = chalk_iter_key(it, &klen);
            if (db >= 0 && (klen < 1 || k[0] != prefix))
                break;
            if (chalk_batch_delete(b, k, klen) == CHALK_OK) {
                n++;
                deleted += klen >= KS_HDR && k[1] == KS_KIND_KEY;
            }
        }
        chalk_iter_free(it);
        int rc = n ? server_write(c, b) : CHALK_OK;
        chalk_batch_free(b);
        if (rc != CHALK_OK)
            return rc;
        if (n < 1024)
            return deleted;
    }
}
