/*
 * saga.c — a saga: one business transaction (place an order) spread over
 * two services that each own their data, made consistent by compensating
 * actions instead of a distributed lock or two-phase commit.
 *
 * The one idea: each service commits its own step locally and at once; if
 * a later step fails, the saga runs the earlier steps' compensations
 * (semantic undo) in reverse order. The saga's progress is written to a log
 * before each step, so a crashed orchestrator can resume or compensate.
 *
 *   order #1:  reserve stock (inventory) → charge card (payments) → done
 *   order #2:  reserve stock (inventory) → charge card FAILS
 *              → compensate: release stock (inventory)         → aborted
 *
 * Each "service" is its own server when two -p are given (its own
 * database, as microservices should have), else two key prefixes on one.
 * A step is a local ACID transaction on its service (WATCH + MULTI/EXEC
 * check-and-decrement), and idempotent by order id (a retried step or
 * compensation is a no-op the second time).
 *
 * Left out on purpose: the recovery process that scans saga logs after a
 * crash, timeouts, and choreography (services reacting to each other's
 * events instead of one orchestrator). Cost: see docs/client.md.
 *
 * Run: chalk-example-saga -p 6379 [-p 6380]
 * Interview topics: tx.saga, arch.microservices.
 */
#include "example.h"

/* A service's local transaction: take `amount` from key if it has that
 * much, once per order (the done-marker makes it idempotent).
 * Returns 1 done (now or before), 0 refused. */
static int take_once(chalkc_conn *c, const char *key, const char *order,
                     long long amount)
{
    for (;;) {
        chalkc_reply_free(ex_cmd(c, "WATCH %s done:%s:%s", key, key, order));
        chalkc_reply *r = ex_cmd(c, "MGET %s done:%s:%s", key, key, order);
        long long have = r->element[0]->str ? atoll(r->element[0]->str) : 0;
        int already = r->element[1]->type == CHALKC_REPLY_STRING;
        chalkc_reply_free(r);
        if (already || have < amount) {
            chalkc_reply_free(ex_cmd(c, "UNWATCH"));
            return already;
        }
        chalkc_appendf(c, "MULTI");
        chalkc_appendf(c, "DECRBY %s %lld", key, amount);
        chalkc_appendf(c, "SET done:%s:%s 1", key, order);
        chalkc_appendf(c, "EXEC");
        int ok = 0;
        for (int i = 0; i < 4; i++) {
            chalkc_get_reply(c, &r);
            if (i == 3)
                ok = r && r->type == CHALKC_REPLY_ARRAY;
            chalkc_reply_free(r);
        }
        if (ok)
            return 1; /* else a concurrent change: read again */
    }
}

/* The compensation: give it back, once (only if it was taken). */
static void give_back_once(chalkc_conn *c, const char *key, const char *order,
                           long long amount)
{
    chalkc_reply *r = ex_cmd(c, "DEL done:%s:%s", key, order);
    int was_taken = r->integer == 1;
    chalkc_reply_free(r);
    if (was_taken) /* DEL returned 1 exactly once: a retry gives back nothing */
        chalkc_reply_free(ex_cmd(c, "INCRBY %s %lld", key, amount));
}

typedef struct services {
    chalkc_conn *inventory;  /* owns stock:<sku> */
    chalkc_conn *payments;   /* owns wallet:<user> */
    chalkc_conn *log;        /* the orchestrator's saga log */
} services;

static void saga_log(services *s, const char *order, const char *event)
{
    chalkc_reply_free(ex_cmd(s->log, "RPUSH saga:%s %s", order, event));
    printf("    saga %s: %s\n", order, event);
}

/* @interview(tx.saga): How do you keep data consistent across services
 * without a distributed transaction? A saga: run each service's step as a
 * local transaction, log progress, and when a step fails run the
 * compensations of the completed steps in reverse (release the stock that
 * was reserved). Steps and compensations must be idempotent because the
 * orchestrator retries them after crashes; isolation is lost (others can
 * see the reserved-then-released stock). */
static int place_order(services *s, const char *order, const char *user,
                       long long qty, long long price)
{
    saga_log(s, order, "started");
    if (!take_once(s->inventory, "stock:widget", order, qty)) {
        saga_log(s, order, "aborted: out of stock");
        return 0;
    }
    saga_log(s, order, "stock reserved");
    char wallet[64];
    snprintf(wallet, sizeof(wallet), "wallet:%s", user);
    if (!take_once(s->payments, wallet, order, qty * price)) {
        saga_log(s, order, "payment refused: compensating");
        give_back_once(s->inventory, "stock:widget", order, qty);
        give_back_once(s->inventory, "stock:widget", order, qty); /* a retry: no-op */
        saga_log(s, order, "stock released; aborted");
        return 0;
    }
    saga_log(s, order, "paid; completed");
    return 1;
}

static long long get_int(chalkc_conn *c, const char *key)
{
    chalkc_reply *r = ex_cmd(c, "GET %s", key);
    long long v = r->str ? atoll(r->str) : 0;
    chalkc_reply_free(r);
    return v;
}

/* @interview(arch.microservices): Why does a microservice own its data, and
 * what does that cost? Owning its store lets a service change schema,
 * scale and fail independently; the cost is that a business transaction
 * spanning services (order = stock + payment) can no longer be one ACID
 * transaction, so it becomes a saga of local transactions plus
 * compensations, and reads across services are eventually consistent. */
int main(int argc, char **argv)
{
    ex_args a = ex_parse(argc, argv);
    services s;
    s.inventory = ex_connect(&a, 0, 0);
    s.payments = ex_connect(&a, a.nports > 1 ? 1 : 0, 0);
    s.log = s.inventory;
    int failed = 0;
    printf("two services, %s\n", a.nports > 1 ? "two servers" : "one server");
    chalkc_reply_free(ex_cmd(s.inventory, "DEL saga:o1 saga:o2 done:stock:widget:o1 "
                             "done:stock:widget:o2"));
    chalkc_reply_free(ex_cmd(s.payments, "DEL done:wallet:ann:o1 done:wallet:ann:o2"));
    chalkc_reply_free(ex_cmd(s.inventory, "SET stock:widget 10"));
    chalkc_reply_free(ex_cmd(s.payments, "SET wallet:ann 100"));
    printf("  stock 10 widgets, ann's wallet 100\n  order o1: 3 widgets at 20\n");
    failed |= ex_check(place_order(&s, "o1", "ann", 3, 20) == 1, "o1 completed");
    printf("  order o2: 4 widgets at 20 (ann has 40 left)\n");
    failed |= ex_check(place_order(&s, "o2", "ann", 4, 20) == 0, "o2 aborted");
    long long stock = get_int(s.inventory, "stock:widget");
    long long wallet = get_int(s.payments, "wallet:ann");
    printf("  after: stock %lld, wallet %lld\n", stock, wallet);
    failed |= ex_check(stock == 7, "o2's reservation was compensated exactly once");
    failed |= ex_check(wallet == 40, "only o1 was charged");
    failed |= ex_check(take_once(s.payments, "wallet:ann", "o1", 60) == 1 &&
                       get_int(s.payments, "wallet:ann") == 40,
                       "a retried step is idempotent (o1 is not charged twice)");
    chalkc_close(s.payments);
    chalkc_close(s.inventory);
    return failed;
}
