/*
 * commands.h — the command table's shapes and the helpers every command
 * handler uses. How to add a command: see the top of commands.c.
 *
 * The table's design and how to add a command: the top of commands.c; the
 * path of a request through it: docs/server.md.
 */
#ifndef CHALK_COMMANDS_H
#define CHALK_COMMANDS_H

#include <stdbool.h>
#include <stdint.h>

#include "reply.h"
#include "server.h"

typedef void command_proc(client *c);

/* Command flags, Redis's names (COMMAND INFO prints them). */
enum {
    CMD_WRITE     = 1 << 0,   /* changes data: refused by CLIENT PAUSE WRITE */
    CMD_READONLY  = 1 << 1,   /* reads data only */
    CMD_FAST      = 1 << 2,   /* O(1) or O(log n): never slow */
    CMD_ADMIN     = 1 << 3,   /* server administration */
    CMD_NOSCRIPT  = 1 << 4,
    CMD_LOADING   = 1 << 5,   /* allowed while the data set loads */
    CMD_STALE     = 1 << 6,   /* allowed on a replica with a broken link */
    CMD_NO_AUTH   = 1 << 7,   /* allowed before AUTH (AUTH, HELLO, QUIT) */
    CMD_DENYOOM   = 1 << 8,   /* may use more memory */
    CMD_PUBSUB    = 1 << 9,
    CMD_BLOCKING  = 1 << 10,
    CMD_PROTECTED = 1 << 11,  /* DEBUG: needs enable-debug-command */
    CMD_NO_MULTI  = 1 << 12,
    CMD_SKIP_MONITOR = 1 << 13, /* not shown by MONITOR (AUTH, HELLO) */
    CMD_SKIP_SLOWLOG = 1 << 14,
};

/* Argument types and flags, for COMMAND DOCS (redis-cli's hints). */
typedef enum {
    ARG_STRING, ARG_INTEGER, ARG_DOUBLE, ARG_KEY, ARG_PATTERN, ARG_UNIX_TIME,
    ARG_PURE_TOKEN, ARG_ONEOF, ARG_BLOCK,
} arg_type;
enum { ARGF_OPTIONAL = 1, ARGF_MULTIPLE = 2, ARGF_MULTIPLE_TOKEN = 4 };

typedef struct command_arg {
    const char *name;                   /* NULL ends a list */
    arg_type type;
    const char *token;                  /* "EX", "NX", ... or NULL */
    unsigned flags;                     /* ARGF_* */
    const struct command_arg *sub;      /* ARG_ONEOF / ARG_BLOCK members */
} command_arg;

/* A hint for the pipelined-request look ahead (networking.c prefetch_keys),
 * for a command whose lookups go past its first key's main record (HGET's
 * field record): from a request's first n arguments a[0..n) (a[0] the
 * name, a[1] the first key; n <= CMD_PREFETCH_ARGS, fewer if the request
 * has fewer), prepare (chalk_key_prepare: hash and length, bucket
 * prefetched) up to max engine keys the command will look up, in out[],
 * and return how many. Only k->hash and k->klen of them are used
 * afterwards (the key bytes may be freed). Cannot fail and changes
 * nothing: a guess that misses costs a hash and a prefetch. */
#define CMD_PREFETCH_ARGS 4
typedef int command_prefetch(int db, const resp_slice *a, int n, chalk_key *out, int max);
/* A family's prefetch hints by command name, ending with a NULL name;
 * commands_init() sets command.prefetch from them (the hints live with
 * their commands, the table rows stay as they are). */
typedef struct command_prefetch_hook {
    const char *name;
    command_prefetch *fn;
} command_prefetch_hook;
extern const command_prefetch_hook cmd_hash_prefetch_hooks[];  /* cmd_hash.c */
extern const command_prefetch_hook cmd_zset_prefetch_hooks[];  /* cmd_zset.c */

typedef struct command_def {
    const char *name;                   /* lower case; NULL ends a table */
    command_proc *proc;                 /* NULL for a container (CONFIG) */
    int arity;                          /* N: exactly N words with the name;
                                           -N: at least N */
    uint32_t flags;                     /* CMD_* */
    int first_key, last_key, key_step;  /* last_key -1 = up to the end */
    const char *group;                  /* "string", "generic", "server", ... */
    const char *since;                  /* Redis version that added it */
    const char *complexity;
    const char *summary;
    const command_arg *args;            /* NULL-name terminated, or NULL */
    const struct command_def *subcommands; /* CONFIG GET, CLIENT LIST, ... */
} command_def;

/* A command's run-time record (one per table row, one per subcommand). */
typedef struct command {
    const command_def *def;
    char fullname[64];                  /* "get", "config|get" */
    size_t name_len;                    /* strlen(def->name) */
    uint64_t calls, usec, rejected_calls, failed_calls;
    struct command *subs;               /* sorted by name */
    int nsubs;
    struct command *parent;
    command_prefetch *prefetch;         /* NULL: the first key's record only */
    bool blind_write;                   /* never reads its key's old record
                                           (SET, DEL): prefetch_keys stops at
                                           the index entry */
} command;

/* Argument lists that many commands share (COMMAND DOCS), defined once in
 * commands.c; a family file declares only the lists of its own commands. */
extern const command_arg args_key[];          /* key */
extern const command_arg args_keys[];         /* key [key ...] */
extern const command_arg args_key_member[];   /* key member */
extern const command_arg args_key_members[];  /* key member [member ...] */
extern const command_arg args_key_count[];    /* key [count] */

/* ---- the table ----------------------------------------------------------- */
int  commands_init(void);               /* build the run-time table; 0/-1 */
void commands_free(void);
command *command_lookup(const char *name, size_t len);
void commands_reset_stats(void);
/* Visit every command and subcommand (INFO commandstats). */
void commands_foreach(void (*fn)(command *cmd, void *arg), void *arg);
size_t commands_count(void);

enum { PC_DONE = 0, PC_WAIT = 1 };
/* Run c->argv: look up, check, call, account. PC_WAIT: the command must
 * wait (CLIENT PAUSE, too many held replies); argv is kept for later. */
int process_command(client *c);
/* Run an already resolved command with call()'s accounting (EXEC). */
void command_call(client *c, command *cmd);

/* ---- argument helpers: on failure they reply Redis's error and return
 * false, so a handler just returns. ------------------------------------ */
bool arg_is(const resp_arg *a, const char *word);          /* no case */
bool arg_ll(client *c, const resp_arg *a, long long *out); /* ERR_NOT_INT */
bool arg_ll_range(client *c, const resp_arg *a, long long min, long long max,
                  const char *err, long long *out);
bool arg_double(client *c, const resp_arg *a, double *out);/* ERR_NOT_FLOAT */

/* ---- writing to the engine from a command ------------------------------ */
/* Apply a batch for client c. Under appendfsync always, the reply the
 * handler writes AFTER this call is held until the batch is durable (group
 * commit), while other clients go on being served; under everysec / no it
 * is sent at once. Returns CHALK_OK, or a CHALK_E* error: nothing was
 * applied, reply with reply_engine_error(). Keys are engine keys
 * (keyspace.h). Bumps server.dirty by the batch's operation count. */
int server_write(client *c, const chalk_batch *b);
/* One put / one delete through server_write. */
int server_put(client *c, const void *key, size_t klen, const void *val, size_t vlen,
               int64_t expire_at_ms);
int server_del(client *c, const void *key, size_t klen);
void reply_engine_error(client *c, int err);

#endif /* CHALK_COMMANDS_H */
