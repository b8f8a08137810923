/*
 * config.h — every setting of chalk-server, in one struct, described by one
 * table (config.c) that serves the config file, the command line, CONFIG
 * GET / SET / REWRITE and the defaults.
 *
 * The design (the one idea, what is left out and what it costs, the
 * interview topics) is at the top of config.c.
 */
#ifndef CHALK_CONFIG_H
#define CHALK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum { IO_AUTO = 0, IO_URING, IO_EPOLL };
enum { FSYNC_NO = 0, FSYNC_EVERYSEC, FSYNC_ALWAYS };   /* = enum chalk_fsync */
enum { PROT_NO = 0, PROT_YES, PROT_LOCAL };           /* enable-*-command */
enum { OBUF_NORMAL = 0, OBUF_REPLICA, OBUF_PUBSUB };  /* output limit classes */
enum { OBUF_HARD = 0, OBUF_SOFT, OBUF_SOFT_SECS };

typedef struct chalk_config {
    long long port;
    char *bind;                       /* space-separated addresses */
    char *unixsocket;                 /* path, "" = none */
    long long unixsocketperm;         /* octal, e.g. 700 */
    char *dir;                        /* the engine's data directory */
    int appendfsync;                  /* FSYNC_* */
    long long databases;
    long long maxclients;
    long long timeout;                /* idle seconds before close, 0 = never */
    bool protected_mode;
    char *requirepass;                /* "" = none */
    int loglevel;                     /* LL_* */
    char *logfile;                    /* "" = stdout */
    int io_backend;                   /* IO_* */
    long long proto_max_bulk_len;
    long long client_query_buffer_limit;
    long long obuf[3][3];             /* client-output-buffer-limit: per class
                                         (OBUF_*): hard, soft, soft seconds */
    char *obuf_spec;                  /* the whole client-output-buffer-limit */
    long long slowlog_log_slower_than;/* microseconds, -1 = off */
    long long slowlog_max_len;
    long long latency_monitor_threshold; /* ms, 0 = off */
    int enable_debug_command;         /* PROT_* */
    int enable_protected_configs;     /* PROT_* */
    long long tcp_backlog;
    long long tcp_keepalive;
    long long hz;
    long long segment_size;           /* chalk-segment-size: engine option */
    char *save;                       /* accepted for redis-benchmark; unused */
    bool appendonly;                  /* always yes in spirit: the log */
    char *pidfile;
    long long maxmemory;              /* accepted, reported; not enforced */
    char *maxmemory_policy;
    long long active_expire_effort;
    char *notify_keyspace_events;     /* "KEA"...: notify.c; "" = off */
    char *replicaof;                  /* "host port" or "": repl_follower.c */
    char *masterauth, *masteruser;    /* the follower's AUTH to its leader */
    bool replica_read_only;           /* -READONLY for writes on a follower */
    long long repl_backlog_size;      /* bytes of stream kept for PSYNC */
    long long repl_timeout;           /* seconds without data: link is dead */
    long long repl_ping_replica_period; /* seconds between PINGs in the stream */
} chalk_config;

/* Set every field to its default. */
void config_init_defaults(chalk_config *cfg);
void config_free(chalk_config *cfg);

/* Load a config file in redis.conf syntax. Returns 0, or -1 with *err set
 * to a static/allocated message naming the line (printed, then exit). */
int config_load_file(chalk_config *cfg, const char *path, char *err, size_t errlen);
/* Apply text in redis.conf syntax (the command line is turned into it). */
int config_load_string(chalk_config *cfg, const char *text, char *err, size_t errlen);

/* Set one setting by name from string values (CONFIG SET, a config line).
 * at_runtime: refuse immutable settings. Returns 0 or -1 with err. */
int config_set(chalk_config *cfg, const char *name, const char *value,
               bool at_runtime, char *err, size_t errlen);
/* The current value of a setting as CONFIG GET prints it; 0 or -1. */
int config_get(const chalk_config *cfg, const char *name, char *out, size_t outlen);
/* 1 if the setting is a protected (path-like) one, 0 otherwise. */
int config_is_protected(const char *name);

/* Iterate over setting names (CONFIG GET with patterns, REWRITE).
 * Returns the i-th canonical name, or NULL past the end. */
const char *config_name_at(size_t i);

/* Rewrite `path` with the current values (CONFIG REWRITE): lines of known
 * settings are replaced in place, changed settings appended. 0 or -1. */
int config_rewrite(const chalk_config *cfg, const char *path);

/* Parse "1gb", "512mb", "100k", "42" (Redis's memtoull). 0 or -1. */
int config_parse_memory(const char *s, long long *out);

#endif /* CHALK_CONFIG_H */
