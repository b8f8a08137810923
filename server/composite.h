/*
 * composite.h — how a hash, list, set or sorted set is stored in the
 * engine's flat key space, and the helpers every such type shares
 * (composite.c). THE one place the sub-record encoding is defined;
 * keyspace.h defines the main record it hangs off.
 *
 * A collection is ONE main record (kind 'k', keyspace.h) holding its type
 * and member count, plus ONE sub-record per member, whose engine key
 * starts with the same db byte, a kind byte per type, and the Redis key
 * with its length in front (so that key "a" + field "bc" and key "ab" +
 * field "c" differ):
 *
 * Sub-record engine key:
 *   offset      size  meaning
 *   0           1     database number (as the main record)
 *   1           1     kind: 'h' hash field, 's' set member, 'l' list item,
 *                     'm' sorted-set member→score, 'z' sorted-set score
 *                     index, 'g' grave
 *   2           4     klen: length of the Redis key, u32 big-endian
 *   6           klen  the Redis key
 *   6+klen      n     the suffix, by kind:
 *                       'h'  field bytes              value: field's value
 *                       's'  member bytes             value: empty
 *                       'l'  8-byte position (pos_encode, score.h)
 *                                                     value: the item
 *                       'm'  member bytes             value: 8-byte score
 *                                                     (score_encode)
 *                       'z'  8-byte score (score_encode) then member bytes
 *                                                     value: empty
 *                       'g'  (none): a "grave", the key was deleted or
 *                            expired with sub-records left to remove
 *                                                     value: empty
 *
 * Main record value of a collection (after keyspace.h's type byte):
 *   offset  size  meaning
 *   0       1     type: 1 list, 2 set, 3 zset, 4 hash (keyspace.h)
 *   1       8     count: members, u64 little-endian
 *   9       8     list only: head, position of the first item, i64 LE
 *   17      8     list only: tail, position one past the last item, i64 LE
 * So a collection's main value is 9 bytes, a list's 25: keyops.c relies on
 * these sizes (a string SET over a key reads the old type only when its
 * value has one of them).
 *
 * A collection is valid iff count equals the number of its sub-records of
 * its kind(s) (a zset has count 'm' AND count 'z' records, one pair per
 * member, with equal scores), a list's items sit at every position of
 * [head, tail) and count = tail - head, and count > 0 (an emptied
 * collection is deleted, Redis's rule).
 *
 * Because the ordered index sorts by memcmp, the sub-records of one key
 * and kind are one contiguous range: iterating a hash is a seek to
 * [db]['h'][klen][key] and a walk while the prefix matches; a list's items
 * come out in position order, a zset's score index in score order.
 *
 * Expiry lives on the main record only. Sub-records never expire: every
 * access goes through the main record first, so an expired collection is
 * invisible as a whole, at once.
 *
 * Deleting a big collection (lazy free). DEL / UNLINK / expiry delete the
 * main record at once; the sub-records go in the same batch only while
 * there are at most CP_SYNC_DELETE of them. Beyond that the batch also
 * writes a grave [db]['g'][klen][key], and cp_reap(), called from the
 * server tick, removes the rest in slices of CP_REAP_SLICE deletes per
 * tick, then the grave. The key is gone for every reader at the first
 * batch; other clients wait at most one slice. The queue of work is IN
 * the engine (the graves), so it survives a restart and needs no global
 * state. A key created again while its grave exists first purges the
 * leftovers in its own first batch (cp_begin; RENAME / COPY / *STORE onto
 * it likewise): the one case where the full cost is paid synchronously. A
 * grave whose name is a live collection again is stale and dropped.
 *
 * The one idea, and what is left out and what it costs: the top of
 * composite.c (a collection is a range of the ordered index; no
 * small-collection encoding, so every member pays a record and an index
 * entry). Interview topics: db.sql-vs-nosql, perf.single-thread (tagged in
 * composite.c).
 */
#ifndef CHALK_COMPOSITE_H
#define CHALK_COMPOSITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <chalk/engine.h>

#include "keyspace.h"
#include "resp_parse.h"

typedef struct client client;

enum {
    CP_HASH = 'h', CP_SET = 's', CP_LIST = 'l', CP_ZMEMBER = 'm', CP_ZSCORE = 'z',
    CP_GRAVE = 'g',         /* a deleted key whose sub-records the reaper
                               still has to remove (see cp_reap) */
};

/* The decoded main record of a collection. */
typedef struct cp_meta {
    int db;
    const char *key;        /* the Redis key (points into c->argv) */
    size_t klen;
    bool exists;            /* false: a new collection (count 0) */
    int type;               /* KS_LIST ... KS_HASH */
    uint64_t count;
    int64_t head, tail;     /* list only */
    int64_t expire_at_ms;   /* 0 = none; kept on every rewrite */
    bool loaded;            /* read by cp_lookup*: the three below hold */
    uint64_t count0;        /* count, head and tail as read, so that */
    int64_t head0, tail0;   /* cp_meta_store can skip an unchanged record */
} cp_meta;

/* Look up key (db of client c) expecting `type`. Returns 1 (m filled from
 * the main record), 0 (no such key: m is an empty collection of `type`),
 * or -1 after replying the error (WRONGTYPE, an engine error). */
int cp_lookup(client *c, int db, const resp_arg *key, int type, cp_meta *m);
/* Same, without replying: 1, 0, CHALK_E* < 0, or -100 for wrong type. */
int cp_lookup_quiet(int db, const void *key, size_t klen, int type, cp_meta *m);
enum { CP_WRONGTYPE = -100 };

/* First call of a writing command on batch b: for a key that does not
 * exist yet, add deletes of any leftover sub-records (see top), BEFORE the
 * command adds its own puts. Commands treat every sub-record of a key
 * that does not exist as absent. CHALK_OK or an error. */
int cp_begin(chalk_batch *b, const cp_meta *m);
/* Last call: add to b the put of m's main record (count > 0), or its
 * delete (count 0 and it existed). Nothing is added when m was read by
 * cp_lookup* and count, head and tail are what was read (an overwritten
 * field, a new score): the record on disk already says it, and rewriting
 * it would cost a log record and an index update per command. WATCH and
 * replication do not need it: the sub-records' writes touch the key
 * (multi.c) and travel in the same batch. CHALK_OK or an error. */
int cp_meta_store(chalk_batch *b, const cp_meta *m);

/* The engine key of a sub-record: prefix for (db, kind, key) then the
 * suffix parts s1 (n1 bytes) and s2 (n2 bytes). 0 or -1 (ENOMEM). */
int cp_subkey(ks_buf *out, int db, int kind, const void *key, size_t klen,
              const void *s1, size_t n1, const void *s2, size_t n2);
/* *base = the engine-wide rank (chalk_rank) of the first `kind` sub-record
 * of m: a seek by rank to base + i lands on its i-th one (sub-records never
 * expire, so the ranks are exact). CHALK_OK or an error. */
int cp_kind_base(const cp_meta *m, int kind, uint64_t *base);
/* Length of the prefix of a sub-record key of a Redis key of klen bytes. */
static inline size_t cp_prefix_len(size_t klen) { return KS_HDR + 4 + klen; }

/* Add to b the deletes of every sub-record of (db, key), of every kind.
 * Returns the number added or a CHALK_E* error. */
long cp_purge(chalk_batch *b, int db, const void *key, size_t klen);

enum { CP_SYNC_DELETE = 1024, CP_REAP_SLICE = 8192 };

/* Lazy-free: one slice of background deletion (see top). Call from the
 * server tick. Returns the number of records deleted (0: nothing to do),
 * or an error. */
long cp_reap(void);
/* Expiry's hook: the main record ek (an engine key of kind 'k') is being
 * deleted by expiry in batch b (active) or was deleted alone (b NULL:
 * lazy, a batch of our own is written). Adds a grave if it owns
 * sub-records. CHALK_OK or an error. */
int cp_expired(chalk_batch *b, const void *ek, size_t eklen);

/* keyops.c's hook: add to b a put of every sub-record of (db, key) re-keyed
 * under (dstdb, dst) when dst is non-NULL, and a delete of each when del.
 * CHALK_OK or an error. */
int cp_members(chalk_batch *b, int db, const void *key, size_t klen,
               int dstdb, const void *dst, size_t dstlen, bool del);

/* ---- walking one key's sub-records of one kind -------------------------- */
typedef struct cp_iter {
    chalk_iter *it;
    ks_buf prefix;
    const char *suffix;     /* the current sub-record's suffix */
    size_t slen;
} cp_iter;

/* Start at the first sub-record whose suffix is >= (from, flen) (from NULL:
 * the first). 0 or CHALK_ENOMEM. */
int cp_iter_open(cp_iter *ci, int db, int kind, const void *key, size_t klen,
                 const void *from, size_t flen);
bool cp_iter_valid(cp_iter *ci);           /* on a sub-record of the prefix */
/* Same, without comparing the prefix: for a step strictly between two keys
 * that were seen to carry it (memcmp order keeps everything between them
 * inside the range; zset.c's slices of ranks). */
bool cp_iter_valid_inside(cp_iter *ci);
void cp_iter_next(cp_iter *ci);
int cp_iter_value(cp_iter *ci, chalk_value *out); /* CHALK_OK or error */
void cp_iter_close(cp_iter *ci);

/* A sub-record key built and hashed once (chalk_key_prepare). Prepared
 * BEFORE the main record's lookup (cp_lookup), its hash-index bucket is
 * fetched into the cache while that lookup runs; the lookup of the member
 * and its put then reuse the hash. Holds no engine state, but must not be
 * copied (buf.p may point into buf.small); free with cp_key_free. */
typedef struct cp_key {
    ks_buf buf;
    chalk_key ck;
} cp_key;
/* Build, hash and prefetch (db, kind, key) + suffix s. 0 or CHALK_ENOMEM. */
int cp_key_prepare(cp_key *pk, int db, int kind, const void *key, size_t klen, const void *s,
                   size_t slen);
void cp_key_free(cp_key *pk);
int cp_key_get(const cp_key *pk, chalk_value *out);   /* as cp_get */
int cp_key_has(const cp_key *pk);                      /* as cp_has */
/* Add a put / delete of the sub-record to b. CHALK_OK or an error. */
int cp_key_put(chalk_batch *b, const cp_key *pk, const void *val, size_t vlen);
int cp_key_del(chalk_batch *b, const cp_key *pk);
/* A prefetch hint (commands.h command_prefetch): prepare the engine key of
 * sub-record sub of key (kind as cp_key_prepare) into out[0] when max >= 1,
 * keeping only its hash and length (its bytes are freed). Returns how many
 * keys it prepared: 1, or 0 (no room, or no memory: a hint may miss). */
int cp_key_hint(int db, int kind, const resp_slice *key, const resp_slice *sub, chalk_key *out,
                int max);

/* Read one sub-record's value: CHALK_OK, CHALK_ENOTFOUND or an error. */
int cp_get(int db, int kind, const void *key, size_t klen, const void *s, size_t slen,
           chalk_value *out);
/* 1 if the sub-record exists, 0 if not. */
int cp_has(int db, int kind, const void *key, size_t klen, const void *s, size_t slen);
/* Add a put / delete of one sub-record to b. CHALK_OK or an error. */
int cp_put(chalk_batch *b, int db, int kind, const void *key, size_t klen,
           const void *s1, size_t n1, const void *s2, size_t n2, const void *val, size_t vlen);
int cp_del(chalk_batch *b, int db, int kind, const void *key, size_t klen,
           const void *s1, size_t n1, const void *s2, size_t n2);

/* ---- shared by the command families ------------------------------------ */
/* Apply b for c (server_write); on error reply it and return false. */
bool cp_commit(client *c, chalk_batch *b);
/* prev[i] = index j < i of the previous argument equal to argv[first +
 * i*step], or -1; n = how many. malloc'd (free it), NULL on ENOMEM. */
long *cp_prev_dups(client *c, int first, int step, long n);
/* After a successful change of m: publish keyspace event `event` of
 * class `type` (notify.h), and "del" if the change emptied (deleted) it. */
void cp_notify(int type, const char *event, const cp_meta *m);
/* The end of a command that changed n members of m through b and replies
 * how many (HDEL SADD SREM ZREM ZREMRANGEBY* LREM): rc != CHALK_OK is
 * replied as the error; else, when n > 0, b is committed (cp_commit) and
 * `event` published (cp_notify); then n is replied. */
void cp_reply_changed(client *c, chalk_batch *b, int rc, long n, int type, const char *event,
                      const cp_meta *m);
/* The whole of HLEN / LLEN / SCARD / ZCARD key: the member count of
 * argv[1], a collection of `type` (0 when absent; WRONGTYPE replied). The
 * count lives in the main record, so this is O(1). */
void cp_card_command(client *c, int type);
/* The first step of a *STORE command (SINTERSTORE ... ZUNIONSTORE
 * ZRANGESTORE): key dst of db, whatever its type, is deleted in b with all
 * of its sub-records (ks_delete_key, cp_purge), and *m describes the new
 * collection of `type` and n members the caller then puts. Returns 1 if
 * dst existed, 0 if not, or an error. */
int cp_store_begin(chalk_batch *b, int db, const resp_arg *dst, int type, long n, cp_meta *m);
/* The keyspace event of a *STORE into dst: `event` of class `type` when
 * the result has n > 0 members, "del" when an empty result deleted a key
 * that existed, nothing otherwise (Redis's rules). */
void cp_notify_stored(int type, const char *event, int db, const resp_arg *dst, long n,
                      bool existed);
/* Parse a RANDMEMBER-style count (Redis: -LONG_MAX..LONG_MAX, its error
 * text). false: replied. */
bool cp_random_count(client *c, const resp_arg *a, long long *count);
/* A pseudo-random 64-bit number (libc random(), seeded per process). */
uint64_t cp_random(void);


/* ---- HSCAN / SSCAN / ZSCAN ----------------------------------------------- */
enum { CP_SCAN_KEYS = 0, CP_SCAN_VALUES = 1, CP_SCAN_SCORES = 2 };
/* The whole of HSCAN / SSCAN / ZSCAN key cursor [MATCH p] [COUNT n], in
 * Redis's order: parse the cursor, look up argv[1] expecting `type`
 * (WRONGTYPE; a missing key is an empty scan), parse the options, reply
 * one page of its `kind` sub-records. `mode`: keys only, key + raw
 * value, or key + score. */
void cp_scan_command(client *c, int type, int kind, int mode);
/* Reply the value of ci's current sub-record: raw bytes (CP_SCAN_VALUES)
 * or a score formatted as text (CP_SCAN_SCORES); null if unreadable. */
void cp_reply_value(client *c, cp_iter *ci, int mode);

/* Reply a sorted-set score: a RESP3 double, or in RESP2 a bulk string in
 * Redis's format (score_format, score.h). */
void cp_reply_score(client *c, double score);

/* ---- random members (HRANDFIELD, SRANDMEMBER, SPOP, ZRANDMEMBER) -------- */
typedef struct cp_item {
    char *s;                /* suffix (field / member), malloc'd */
    size_t slen;
    char *v;                /* its value, malloc'd (NULL unless asked) */
    size_t vlen;
} cp_item;
/* Pick k sub-records of `kind` of the existing collection m at random:
 * distinct ones (k > count: all of them) or with repeats. Few picks
 * (count > 16 k) are one seek by rank each, O(k log n); more, one walk of
 * the collection, O(count + k log k). *out is malloc'd (cp_items_free).
 * Returns CHALK_OK or an error. */
int cp_random_items(const cp_meta *m, int kind, long k, bool distinct, bool values,
                    cp_item **out, long *n);
void cp_items_free(cp_item *items, long n);
/* The reply of HRANDFIELD / SRANDMEMBER / ZRANDMEMBER: `single` (no count
 * argument) is one bulk or null; else count > 0 distinct members, count < 0
 * |count| members with repeats; mode adds values or scores. The caller
 * parsed count with cp_random_count. */
void cp_random_reply(client *c, const cp_meta *m, int kind, long long count, bool single,
                     int mode);
/* The whole of HRANDFIELD / ZRANDMEMBER key [count [`with`]]: parse count
 * (cp_random_count), then the optional token `with` ("withvalues",
 * "withscores") which selects `with_mode`, look up argv[1] expecting
 * `type`, reply with cp_random_reply. (SRANDMEMBER checks its arity
 * first, as Redis does, so it has its own.) */
void cp_randmember_command(client *c, int type, int kind, const char *with, int with_mode);

#endif /* CHALK_COMPOSITE_H */
