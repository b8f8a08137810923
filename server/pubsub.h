/*
 * pubsub.h — publish / subscribe (pubsub.c): channels, patterns, the
 * messages pushed to subscribers, and the hooks other files call. The
 * commands' table is in cmd_pubsub.c.
 *
 * Hooks (each a single call in someone else's file):
 *   process_command  pubsub_command_allowed(): RESP2 subscribed mode
 *   client_free_now  pubsub_client_free()
 *
 * The design (the one idea, what is left out and what it costs, the
 * interview topics) is at the top of pubsub.c.
 */
#ifndef CHALK_PUBSUB_H
#define CHALK_PUBSUB_H

#include <stdbool.h>
#include <stddef.h>

typedef struct client client;
struct command;

/* Deliver msg on channel to every subscriber (channel and pattern).
 * Returns the number of clients that received it. */
long pubsub_publish(const void *channel, size_t clen, const void *msg, size_t mlen);

/* False (error replied) when c is in RESP2 subscribed mode and cmd is not
 * one of (P|S)SUBSCRIBE (P|S)UNSUBSCRIBE PING QUIT RESET. */
bool pubsub_command_allowed(client *c, const struct command *cmd);

/* Subscriptions of c (channels + patterns); 0 when not subscribed. */
long pubsub_client_count(const client *c);
/* For CLIENT LIST (sub=, psub=) and INFO (pubsub_channels,
 * pubsub_patterns): c's channels, c's patterns, the server's channels. */
long pubsub_client_channels(const client *c);
long pubsub_client_patterns(const client *c);
long pubsub_numchannels(void);

/* Drop every subscription of c (disconnect, RESET), without replies. */
void pubsub_client_free(client *c);

/* The handlers (cmd_pubsub.c registers them). */
void pubsub_subscribe(client *c, bool pattern);
void pubsub_unsubscribe(client *c, bool pattern);
void pubsub_channels_reply(client *c, const void *pat, size_t plen);
void pubsub_numsub_reply(client *c, int first);
long pubsub_numpat(void);

#endif /* CHALK_PUBSUB_H */
