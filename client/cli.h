/*
 * cli.h — what the files of chalk-cli share (cli.c, cli_format.c,
 * cli_repl.c). Not a public API.
 *
 * The design (the one idea, what is left out and what it costs, the
 * interview topics) is at the top of cli.c.
 */
#ifndef CHALK_CLI_H
#define CHALK_CLI_H

#include <stdio.h>

#include <chalk/client.h>

typedef struct cli_config {
    chalkc_options conn;     /* host, port, socket, auth, protocol, db */
    int raw;                 /* 1: --raw output; 0: redis-cli's TTY format */
    int repeat;              /* -r: run each command this many times */
    double interval;         /* -i: seconds between repeats */
    int stdin_last_arg;      /* -x: read the last argument from stdin */
    int exit_on_error;       /* -e: exit code 1 after an error reply */
    int wire;                /* --wire: print the RESP bytes both ways */
    int time;                /* --time: print each round-trip time */
    int latency;             /* --latency mode */
    int scan;                /* --scan mode */
    const char *pattern;     /* --pattern for --scan */
    int count;               /* --count for --scan (0 = server default) */
    int saw_error;           /* an error reply was printed */
    int interactive;         /* the REPL: reconnect and resend once */
    int in_tx;               /* inside MULTI (the prompt shows (TX)) */
    void *wire_state;        /* --wire tap's state, cli_wire_state_size() */
    chalkc_conn *c;          /* the connection, or NULL when not connected */
} cli_config;

/* cli_format.c */
/* Appends redis-cli's rendering of r to a malloc'd string (*buf, *len);
 * raw selects --raw. Returns 0 or CHALKC_ENOMEM. */
int cli_format_reply(const chalkc_reply *r, int raw, char **buf, size_t *len);
/* redis-cli's quoting of a string ("a\"b\n" → "\"a\\\"b\\n\""), to f. */
void cli_print_repr(FILE *f, const char *s, size_t len);
/* --wire: prints bytes annotated, one RESP line per output line. */
void cli_wire_tap(void *ud, char dir, const char *buf, size_t len);
/* Bytes of zeroed state the tap's ud must point to. */
size_t cli_wire_state_size(void);
/* Splits a line like redis-cli does ("quoted \x41", 'single'), into a
 * malloc'd argv of malloc'd strings with lengths. Returns argc, 0 for an
 * empty line, or -1 for unbalanced quotes. */
int cli_split_args(const char *line, char ***argv, size_t **lens);
void cli_free_args(int argc, char **argv, size_t *lens);

/* cli.c */
/* Connects cfg->c if needed; prints why not on failure. Returns 0 or the
 * connect error. */
int cli_connect(cli_config *cfg);
/* Runs one command (with -r/-i repeats), printing its replies.
 * Returns 0, or a connection error code (the connection is then dropped). */
int cli_run_command(cli_config *cfg, int argc, char **argv, size_t *lens);

/* cli_repl.c */
/* The interactive loop. Returns the process exit code. */
int cli_repl(cli_config *cfg);

#endif
