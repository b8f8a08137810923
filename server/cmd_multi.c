/*
 * cmd_multi.c — the command-table rows of the transactions family (MULTI,
 * EXEC, DISCARD, WATCH, UNWATCH). The handlers and the state they keep are
 * in multi.c; this file exists because server/CMakeLists.txt registers the
 * table of every server/cmd_*.c. Flags, arity and key positions are
 * Redis 7's.
 *
 * The one idea: a command family is a table of rows; the machinery lives
 * next to the state it keeps (multi.c), not next to the table.
 *
 * Left out on purpose: nothing beyond multi.c's own list.
 *
 * Interview topics: tx.acid, tx.isolation, tx.optimistic-locking (multi.c).
 */
#include "commands.h"
#include "multi.h"

static const command_arg watch_args[] = {{"key", ARG_KEY, NULL, ARGF_MULTIPLE, NULL}, {0}};

#define TX CMD_NOSCRIPT | CMD_LOADING | CMD_STALE
const command_def cmd_multi_table[] = {
    {"multi", multi_command, 1, TX | CMD_FAST, 0, 0, 0, "transactions", "1.2.0", "O(1)",
     "Starts a transaction.", NULL, NULL},
    {"exec", exec_command, 1, TX | CMD_SKIP_SLOWLOG, 0, 0, 0, "transactions", "1.2.0",
     "Depends on commands in the transaction", "Executes all commands in a transaction.", NULL, NULL},
    {"discard", discard_command, 1, TX | CMD_FAST, 0, 0, 0, "transactions", "2.0.0",
     "O(N), when N is the number of queued commands", "Discards a transaction.", NULL, NULL},
    {"watch", watch_command, -2, TX | CMD_FAST, 1, -1, 1, "transactions", "2.2.0",
     "O(1) for every key.",
     "Monitors changes to keys to determine the execution of a transaction.", watch_args, NULL},
    {"unwatch", unwatch_command, 1, TX | CMD_FAST, 0, 0, 0, "transactions", "2.2.0", "O(1)",
     "Forgets about watched keys of a transaction.", NULL, NULL},
    {0},
};
