/*
 * cmd_pubsub.c — the pub/sub commands: SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE
 * PUNSUBSCRIBE PUBLISH PUBSUB (CHANNELS NUMSUB NUMPAT SHARDCHANNELS
 * SHARDNUMSUB HELP). The machinery (channels, patterns, delivery, the
 * slow-subscriber limit, RESP2 subscribed mode) is in pubsub.c.
 *
 * The one idea: a command family is a table of rows and thin handlers;
 * the state (who listens to what) lives in pubsub.c.
 *
 * Left out on purpose: sharded pub/sub (SSUBSCRIBE, SPUBLISH), since
 * Chalk is not a cluster; PUBSUB SHARDCHANNELS and SHARDNUMSUB answer
 * empty.
 *
 * Interview topics: realtime.notifications (pubsub.c, pubsub_publish).
 */
#include "commands.h"
#include "pubsub.h"

static void subscribe_command(client *c) { pubsub_subscribe(c, false); }
static void unsubscribe_command(client *c) { pubsub_unsubscribe(c, false); }
static void psubscribe_command(client *c) { pubsub_subscribe(c, true); }
static void punsubscribe_command(client *c) { pubsub_unsubscribe(c, true); }

static void publish_command(client *c)
{
    reply_long(c, pubsub_publish(c->argv[1].ptr, c->argv[1].len, c->argv[2].ptr, c->argv[2].len));
}

/* Redis's addReplySubcommandSyntaxError, for [pattern] subcommands. */
static bool at_most_one_arg(client *c)
{
    if (c->argc <= 3)
        return true;
    reply_errorf(c, "unknown subcommand or wrong number of arguments for '%.128s'. Try PUBSUB HELP.",
                 c->argv[1].ptr);
    return false;
}

static void pubsub_channels_command(client *c)
{
    if (!at_most_one_arg(c))
        return;
    pubsub_channels_reply(c, c->argc == 3 ? c->argv[2].ptr : NULL, c->argc == 3 ? c->argv[2].len : 0);
}

static void pubsub_numsub_command(client *c) { pubsub_numsub_reply(c, 2); }
static void pubsub_numpat_command(client *c) { reply_long(c, pubsub_numpat()); }
static void pubsub_shardchannels_command(client *c)
{
    if (at_most_one_arg(c))
        reply_array(c, 0);
}

static void pubsub_shardnumsub_command(client *c)
{
    reply_array(c, 2L * (c->argc - 2));
    for (int i = 2; i < c->argc; i++) {
        reply_bulk(c, c->argv[i].ptr, c->argv[i].len);
        reply_long(c, 0);
    }
}

static void pubsub_help_command(client *c)
{
    static const char *const lines[] = {
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    reply_help(c, "PUBSUB", lines);
}

/* Arguments, for COMMAND DOCS (redis-cli's hints). */
static const command_arg channels_args[] = {
    {"channel", ARG_STRING, NULL, ARGF_MULTIPLE, NULL},
    {0}};
static const command_arg opt_channels_args[] = {
    {"channel", ARG_STRING, NULL, ARGF_OPTIONAL | ARGF_MULTIPLE, NULL},
    {0}};
static const command_arg patterns_args[] = {
    {"pattern", ARG_PATTERN, NULL, ARGF_MULTIPLE, NULL},
    {0}};
static const command_arg opt_patterns_args[] = {
    {"pattern", ARG_PATTERN, NULL, ARGF_OPTIONAL | ARGF_MULTIPLE, NULL},
    {0}};
static const command_arg opt_pattern_args[] = {
    {"pattern", ARG_PATTERN, NULL, ARGF_OPTIONAL, NULL},
    {0}};
static const command_arg publish_args[] = {
    {"channel", ARG_STRING, NULL, 0, NULL},
    {"message", ARG_STRING, NULL, 0, NULL},
    {0}};

#define PS CMD_PUBSUB | CMD_LOADING | CMD_STALE

static const command_def pubsub_subs[] = {
    {"channels", pubsub_channels_command, -2, PS, 0, 0, 0, "pubsub", "2.8.0",
     "O(N) where N is the number of active channels, and assuming constant time pattern matching",
     "Returns the active channels.", opt_pattern_args, NULL},
    {"numsub", pubsub_numsub_command, -2, PS, 0, 0, 0, "pubsub", "2.8.0",
     "O(N log C) for the N requested channels among C active ones (binary search)",
     "Returns a count of subscribers to channels.", opt_channels_args, NULL},
    {"numpat", pubsub_numpat_command, 2, PS, 0, 0, 0, "pubsub", "2.8.0", "O(1)",
     "Returns a count of unique pattern subscriptions.", NULL, NULL},
    {"shardchannels", pubsub_shardchannels_command, -2, PS, 0, 0, 0, "pubsub", "7.0.0",
     "O(1) (Chalk is not a cluster: there are no shard channels)",
     "Returns the active shard channels.", opt_pattern_args, NULL},
    {"shardnumsub", pubsub_shardnumsub_command, -2, PS, 0, 0, 0, "pubsub", "7.0.0",
     "O(N) for the N requested shard channels", "Returns the count of subscribers of shard channels.",
     opt_channels_args, NULL},
    {"help", pubsub_help_command, 2, CMD_LOADING | CMD_STALE, 0, 0, 0, "pubsub", "6.2.0", "O(1)",
     "Returns helpful text about the different subcommands.", NULL, NULL},
    {0},
};

const command_def cmd_pubsub_table[] = {
    {"subscribe", subscribe_command, -2, PS | CMD_NOSCRIPT, 0, 0, 0, "pubsub", "2.0.0",
     "O(N) where N is the number of channels to subscribe to (plus O(C) to insert into the sorted channel array)",
     "Listens for messages published to channels.", channels_args, NULL},
    {"unsubscribe", unsubscribe_command, -1, PS | CMD_NOSCRIPT, 0, 0, 0, "pubsub", "2.0.0",
     "O(N) where N is the number of channels to unsubscribe.",
     "Stops listening to messages posted to channels.", opt_channels_args, NULL},
    {"psubscribe", psubscribe_command, -2, PS | CMD_NOSCRIPT, 0, 0, 0, "pubsub", "2.0.0",
     "O(N) where N is the number of patterns to subscribe to.",
     "Listens for messages published to channels that match one or more patterns.", patterns_args, NULL},
    {"punsubscribe", punsubscribe_command, -1, PS | CMD_NOSCRIPT, 0, 0, 0, "pubsub", "2.0.0",
     "O(N) where N is the number of patterns to unsubscribe.",
     "Stops listening to messages published to channels that match one or more patterns.", opt_patterns_args, NULL},
    {"publish", publish_command, 3, PS | CMD_FAST, 0, 0, 0, "pubsub", "2.0.0",
     "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).",
     "Posts a message to a channel.", publish_args, NULL},
    {"pubsub", NULL, -2, 0, 0, 0, 0, "pubsub", "2.8.0", "Depends on subcommand.",
     "A container for Pub/Sub commands.", NULL, pubsub_subs},
    {0},
};
