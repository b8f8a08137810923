/*
 * pubsub_fanout.c — real-time notifications fanned out with pub/sub:
 * one publisher, several subscribers (RESP2 subscribed mode, RESP3 pushes,
 * and a pattern subscriber), each receiving every message.
 *
 * The one idea: PUBLISH delivers a message to every connection subscribed
 * to the channel at that moment — fan-out is the server's job, and the
 * publisher does not know who listens. It is fire-and-forget: a subscriber
 * that is disconnected when a message is published never sees it.
 *
 *   web servers (subscribers)          notify:user:42  ─┬─► ws #1 (RESP2)
 *   a service (publisher) ── PUBLISH ─►                 ├─► ws #2 (RESP3 push)
 *                                      notify:*        └─► audit (PSUBSCRIBE)
 *
 * Left out on purpose: durable delivery (a stream or list per user that a
 * reconnecting client reads from its last id), presence, WebSockets.
 * Cost: at-most-once — docs/client.md says when that is not enough.
 *
 * Run: chalk-example-pubsub-fanout -p 6379
 * Interview topics: realtime.notifications.
 */
#include <pthread.h>

#include "example.h"

#define MESSAGES 5

typedef struct subscriber {
    const ex_args *args;
    const char *name;
    int protocol;          /* 2 or 3 */
    int pattern;           /* PSUBSCRIBE notify:* instead */
    int received;
    pthread_mutex_t *mu;
    pthread_cond_t *ready;
    int *nready;
} subscriber;

static void *listen_main(void *arg)
{
    subscriber *s = arg;
    chalkc_conn *c = ex_connect(s->args, 0, s->protocol);
    const char *chan = s->pattern ? "notify:*" : "notify:user:42";
    chalkc_message m;
    chalkc_reply *r;
    chalkc_subscribe(c, s->pattern, 1, &chan);
    /* The confirmation comes first; then we are listening. */
    if (chalkc_get_reply(c, &r) == 0 && chalkc_message_parse(r, &m) == 0) {
        pthread_mutex_lock(s->mu);
        ++*s->nready;
        pthread_cond_signal(s->ready);
        pthread_mutex_unlock(s->mu);
    }
    chalkc_reply_free(r);
    while (s->received < MESSAGES && chalkc_get_reply(c, &r) == 0) {
        if (chalkc_message_parse(r, &m) == 0 && m.payload) {
            s->received++;
            printf("  %-22s got on %s: %s\n", s->name, m.channel, m.payload);
            fflush(stdout);
        }
        chalkc_reply_free(r);
    }
    chalkc_close(c);
    return NULL;
}

/* @interview(realtime.notifications): How do you push notifications to
 * many connected clients? Each web server holding user connections
 * subscribes to the users' channels; a service PUBLISHes once and the
 * server fans the message out to every subscriber. Pub/sub is
 * fire-and-forget, so offline users need a durable inbox (a list or stream)
 * read on reconnect; pub/sub is only the "you have something new" signal. */
int main(int argc, char **argv)
{
    ex_args a = ex_parse(argc, argv);
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
    int nready = 0, failed = 0;
    subscriber subs[3] = {
        {&a, "ws-1 (RESP2 array)", 2, 0, 0, &mu, &ready, &nready},
        {&a, "ws-2 (RESP3 push)", 3, 0, 0, &mu, &ready, &nready},
        {&a, "audit (notify:*)", 2, 1, 0, &mu, &ready, &nready},
    };
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, listen_main, &subs[i]);
    pthread_mutex_lock(&mu);
    while (nready < 3)
        pthread_cond_wait(&ready, &mu);
    pthread_mutex_unlock(&mu);

    chalkc_conn *pub = ex_connect(&a, 0, 0);
    long long total = 0;
    for (int i = 1; i <= MESSAGES; i++)
        total += ex_int(pub, "PUBLISH notify:user:42 %s", i == 1 ? "order-shipped"
                        : i == 2 ? "new-message" : i == 3 ? "friend-request"
                        : i == 4 ? "price-drop" : "goodbye");
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    printf("published %d messages, %lld deliveries\n", MESSAGES, total);
    failed |= ex_check(total == 3 * MESSAGES, "PUBLISH reached 3 subscribers each time");
    for (int i = 0; i < 3; i++)
        failed |= ex_check(subs[i].received == MESSAGES, subs[i].name);
    long long none = -1;
    for (int i = 0; i < 200 && none != 0; i++) {
        if (i > 0)
            ex_sleep_ms(10); /* the server notices the closed sockets soon */
        none = ex_int(pub, "PUBLISH notify:user:42 %s", "nobody-listens");
    }
    failed |= ex_check(none == 0, "with no subscriber left, a message is simply dropped");
    chalkc_close(pub);
    return failed;
}
