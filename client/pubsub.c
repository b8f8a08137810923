/*
 * pubsub.c — subscribing and reading pub/sub messages, in both protocols.
 *
 * The one idea: a subscriber is a connection that stops asking and starts
 * listening. In RESP2, SUBSCRIBE switches the connection into "subscribed
 * mode": only (P)SUBSCRIBE/(P)UNSUBSCRIBE/PING are allowed and messages
 * arrive as plain arrays ["message", channel, payload]. In RESP3 messages
 * are PUSH replies (">3 ...") that can interleave with ordinary replies on
 * the same connection, so one connection can both command and listen.
 * chalkc_message_parse() reads either shape.
 *
 * Left out on purpose: sharded pub/sub (SSUBSCRIBE), a callback dispatcher
 * per channel. Cost: the caller switches on m.channel itself.
 *
 * Interview topics: realtime.notifications (fan-out in the example
 * client/examples/pubsub_fanout.c).
 */
#include <chalk/client.h>

#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"

int chalkc_subscribe(chalkc_conn *c, int pattern, int n,
                     const char *const *channels)
{
    if (n < 1 || !channels)
        return CHALKC_EINVAL;
    const char **argv = malloc(((size_t)n + 1) * sizeof(*argv));
    if (!argv)
        return CHALKC_ENOMEM;
    argv[0] = pattern ? "PSUBSCRIBE" : "SUBSCRIBE";
    for (int i = 0; i < n; i++)
        argv[i + 1] = channels[i];
    int rc = chalkc_append_argv(c, n + 1, argv, NULL);
    free(argv);
    if (rc == 0)
        rc = chalkc_flush(c);
    c->subscribed = 1; /* confirmations and messages now arrive unasked */
    return rc;
}

static int is_text(const chalkc_reply *r)
{
    return r->type == CHALKC_REPLY_STRING || r->type == CHALKC_REPLY_STATUS;
}

int chalkc_message_parse(const chalkc_reply *r, chalkc_message *m)
{
    memset(m, 0, sizeof(*m));
    if ((r->type != CHALKC_REPLY_ARRAY && r->type != CHALKC_REPLY_PUSH) ||
        r->elements < 3 || !is_text(r->element[0]))
        return CHALKC_EPROTOCOL;
    chalkc_reply *const *e = r->element;
    m->kind = e[0]->str;
    if (strcmp(m->kind, "pmessage") == 0) {
        if (r->elements != 4 || !is_text(e[1]) || !is_text(e[2]) ||
            !is_text(e[3]))
            return CHALKC_EPROTOCOL;
        m->pattern = e[1]->str;
        m->channel = e[2]->str;
        m->payload = e[3]->str;
        m->payload_len = e[3]->len;
        return 0;
    }
    if (r->elements != 3)
        return CHALKC_EPROTOCOL;
    if (strcmp(m->kind, "message") == 0 && is_text(e[1]) && is_text(e[2])) {
        m->channel = e[1]->str;
        m->payload = e[2]->str;
        m->payload_len = e[2]->len;
        return 0;
    }
    if (e[2]->type == CHALKC_REPLY_INTEGER &&
        (is_text(e[1]) || e[1]->type == CHALKC_REPLY_NIL)) {
        m->channel = e[1]->str; /* NULL for "unsubscribe from nothing" */
        m->count = e[2]->integer;
        return 0;
    }
    return CHALKC_EPROTOCOL;
}
