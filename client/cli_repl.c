/*
 * cli_repl.c — chalk-cli's interactive loop: libedit line editing, history
 * in ~/.chalkcli_history, tab completion of command names, argument hints,
 * the (TX) prompt inside MULTI, and reconnecting after a server restart.
 *
 * The one idea: the server describes itself. Command names come from
 * COMMAND DOCS (or COMMAND), and so do the hints (each command's argument
 * syntax, rendered like redis-cli's "key value [NX|XX] ..."), so the REPL
 * knows a new command the day the server adds it. When the server is
 * gone, the prompt says "not connected>" and the next command reconnects.
 *
 * The hint is shown as a grey right-hand prompt (libedit's RPROMPT),
 * refreshed when space or TAB is pressed — libedit has no linenoise-style
 * hint callback, so we bind those two keys.
 *
 * Left out on purpose: completion of arguments (key names, subcommands),
 * "help @group". Cost: type them; `help <command>` prints the syntax.
 *
 * Interview topics: none.
 */
#include "cli.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What the REPL learned from the server: names and their syntax. */
typedef struct repl_cmd {
    char *name;     /* lower case */
    char *syntax;   /* rendered arguments, may be "" */
    char *summary;  /* one line, may be "" */
} repl_cmd;

typedef struct repl_state {
    cli_config *cfg;
    repl_cmd *cmds;
    size_t ncmds;
    char prompt[256];
    char hint[512];
} repl_state;

/* ---- learning the commands -------------------------------------------- */

/* Looks up a field of a RESP3 map or a RESP2 flat [k, v, k, v] array. */
static const chalkc_reply *doc_get(const chalkc_reply *r, const char *field)
{
    if (!r || (r->type != CHALKC_REPLY_MAP && r->type != CHALKC_REPLY_ARRAY))
        return NULL;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->str && !strcmp(r->element[i]->str, field))
            return r->element[i + 1];
    return NULL;
}

static int has_flag(const chalkc_reply *arg, const char *flag)
{
    const chalkc_reply *f = doc_get(arg, "flags");
    for (size_t i = 0; f && i < f->elements; i++)
        if (f->element[i]->str && !strcmp(f->element[i]->str, flag))
            return 1;
    return 0;
}

/* Appends s to the string in dst (cap bytes), truncating. */
static void cat(char *dst, size_t cap, const char *s)
{
    size_t l = strlen(dst), n = strlen(s);
    if (l + 1 >= cap)
        return;
    if (n > cap - l - 1)
        n = cap - l - 1;
    memcpy(dst + l, s, n);
    dst[l + n] = '\0';
}

/* One argument as redis-cli shows it: [optional], a|b, name [name ...]. */
static void render_arg(const chalkc_reply *arg, char *out, size_t cap)
{
    const chalkc_reply *type = doc_get(arg, "type"), *name = doc_get(arg, "name"),
                       *token = doc_get(arg, "token"), *sub = doc_get(arg, "arguments");
    char s[512] = "";
    const char *t = type && type->str ? type->str : "";
    if (token && token->str)
        cat(s, sizeof(s), token->str);
    if (!strcmp(t, "oneof") || !strcmp(t, "block")) {
        for (size_t i = 0; sub && i < sub->elements; i++) {
            char one[256] = "";
            render_arg(sub->element[i], one, sizeof(one));
            if (s[0])
                cat(s, sizeof(s), !strcmp(t, "oneof") && i > 0 ? "|" : " ");
            cat(s, sizeof(s), one);
        }
    } else if (strcmp(t, "pure-token") != 0 && name && name->str) {
        if (s[0])
            cat(s, sizeof(s), " ");
        cat(s, sizeof(s), name->str);
    }
    if (has_flag(arg, "multiple")) {
        char rep[1100];
        snprintf(rep, sizeof(rep), "%s [%s ...]", s, s);
        s[0] = '\0';
        cat(s, sizeof(s), rep);
    }
    out[0] = '\0';
    int optional = has_flag(arg, "optional");
    if (optional)
        cat(out, cap, "[");
    cat(out, cap, s);
    if (optional)
        cat(out, cap, "]");
}

static char *lowercase_dup(const char *s)
{
    char *d = strdup(s ? s : "");
    for (char *p = d; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

static void repl_add_cmd(repl_state *st, const char *name, const chalkc_reply *doc)
{
    repl_cmd *n = realloc(st->cmds, (st->ncmds + 1) * sizeof(*n));
    if (!n)
        return;
    st->cmds = n;
    char syntax[1024] = "";
    const chalkc_reply *args = doc_get(doc, "arguments");
    for (size_t i = 0; args && i < args->elements; i++) {
        char one[512] = "";
        render_arg(args->element[i], one, sizeof(one));
        if (i > 0)
            cat(syntax, sizeof(syntax), " ");
        cat(syntax, sizeof(syntax), one);
    }
    const chalkc_reply *sum = doc_get(doc, "summary");
    repl_cmd *c = &st->cmds[st->ncmds++];
    c->name = lowercase_dup(name);
    c->syntax = strdup(syntax);
    c->summary = strdup(sum && sum->str ? sum->str : "");
}

/* COMMAND DOCS gives names, syntax and summaries; a server without it
 * still lists names with COMMAND. Failures just mean no completion. */
static void repl_learn(repl_state *st)
{
    chalkc_reply *r = NULL;
    if (!st->cfg->c || st->ncmds > 0)
        return;
    if (chalkc_command(st->cfg->c, &r, "COMMAND DOCS") == 0 &&
        (r->type == CHALKC_REPLY_MAP || r->type == CHALKC_REPLY_ARRAY)) {
        for (size_t i = 0; i + 1 < r->elements; i += 2)
            if (r->element[i]->str)
                repl_add_cmd(st, r->element[i]->str, r->element[i + 1]);
    }
    chalkc_reply_free(r);
    r = NULL;
    if (st->ncmds == 0 && chalkc_command(st->cfg->c, &r, "COMMAND") == 0 &&
        r->type == CHALKC_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements; i++)
            if (r->element[i]->elements > 0 && r->element[i]->element[0]->str)
                repl_add_cmd(st, r->element[i]->element[0]->str, NULL);
    }
    chalkc_reply_free(r);
}

static const repl_cmd *repl_find(const repl_state *st, const char *name, size_t len)
{
    for (size_t i = 0; i < st->ncmds; i++)
        if (strlen(st->cmds[i].name) == len &&
            !strncasecmp(st->cmds[i].name, name, len))
            return &st->cmds[i];
    return NULL;
}

/* The hint for the line so far: the syntax of its first word's command. */
__attribute__((unused)) /* only libedit can show hints */
static void repl_update_hint(repl_state *st, const char *line, size_t len)
{
    size_t w = 0;
    while (w < len && line[w] == ' ')
        w++;
    size_t e = w;
    while (e < len && line[e] != ' ')
        e++;
    const repl_cmd *c = repl_find(st, line + w, e - w);
    st->hint[0] = '\0';
    /* libedit hides a right prompt that does not fit: keep it short. */
    if (c && c->syntax[0])
        snprintf(st->hint, sizeof(st->hint), "\1\033[90m\1%.56s%s\1\033[0m\1",
                 c->syntax, strlen(c->syntax) > 56 ? "..." : "");
}

static void repl_prompt(repl_state *st)
{
    const cli_config *cfg = st->cfg;
    char where[200];
    if (!cfg->c) {
        snprintf(st->prompt, sizeof(st->prompt), "not connected> ");
        return;
    }
    if (cfg->conn.unix_path)
        snprintf(where, sizeof(where), "chalk %s", cfg->conn.unix_path);
    else
        snprintf(where, sizeof(where), "%s:%d", cfg->conn.host, cfg->conn.port);
    char db[32] = "";
    if (cfg->conn.db > 0)
        snprintf(db, sizeof(db), "[%d]", cfg->conn.db);
    snprintf(st->prompt, sizeof(st->prompt), "%s%s%s> ", where, db,
             cfg->in_tx ? "(TX)" : "");
}

static void repl_help(repl_state *st, int argc, char **argv)
{
    if (argc < 2) {
        printf("chalk-cli %s\nTo get help about a command: \"help <command>\" "
               "(TAB completes command names)\nTo quit: \"quit\"\n", CHALK_VERSION);
        return;
    }
    const repl_cmd *c = repl_find(st, argv[1], strlen(argv[1]));
    if (!c) {
        printf("No help for '%s'\n", argv[1]);
        return;
    }
    printf("\n  %s %s\n  summary: %s\n\n", c->name, c->syntax, c->summary);
}

/* Handles one line; returns 1 to quit. */
static int repl_line(repl_state *st, const char *line)
{
    char **argv;
    size_t *lens;
    int argc = cli_split_args(line, &argv, &lens);
    if (argc < 0) {
        puts("Invalid argument(s)");
        return 0;
    }
    int quit = 0;
    if (argc > 0 && (!strcasecmp(argv[0], "quit") || !strcasecmp(argv[0], "exit")))
        quit = 1;
    else if (argc > 0 && !strcasecmp(argv[0], "clear"))
        printf("\033[H\033[2J");
    else if (argc > 0 && !strcasecmp(argv[0], "help"))
        repl_help(st, argc, argv);
    else if (argc > 0 && cli_run_command(st->cfg, argc, argv, lens) == 0)
        repl_learn(st); /* after a reconnect, or the first success */
    cli_free_args(argc, argv, lens);
    fflush(stdout);
    return quit;
}

static void repl_free(repl_state *st)
{
    for (size_t i = 0; i < st->ncmds; i++) {
        free(st->cmds[i].name);
        free(st->cmds[i].syntax);
        free(st->cmds[i].summary);
    }
    free(st->cmds);
}

/* ---- the line editor: libedit when built with it, stdio otherwise ---- */
#ifdef CHALK_HAVE_LIBEDIT
#include <histedit.h>

static repl_state *state_of(EditLine *el)
{
    void *p = NULL;
    el_get(el, EL_CLIENTDATA, &p);
    return p;
}

static char *prompt_fn(EditLine *el) { return state_of(el)->prompt; }
static char *rprompt_fn(EditLine *el) { return state_of(el)->hint; }

/* Space: insert it, then show the hint for the command typed so far. */
static unsigned char space_fn(EditLine *el, int ch)
{
    (void)ch;
    el_insertstr(el, " ");
    const LineInfo *li = el_line(el);
    repl_update_hint(state_of(el), li->buffer, (size_t)(li->lastchar - li->buffer));
    return CC_REDISPLAY;
}

/* TAB: complete the command name (the first word) from what the server
 * listed; several matches are printed and their common prefix inserted. */
static unsigned char complete_fn(EditLine *el, int ch)
{
    (void)ch;
    repl_state *st = state_of(el);
    const LineInfo *li = el_line(el);
    size_t len = (size_t)(li->cursor - li->buffer);
    if (memchr(li->buffer, ' ', len))
        return CC_ERROR; /* arguments are not completed */
    const char *first = NULL;
    size_t nmatch = 0, common = 0;
    for (size_t i = 0; i < st->ncmds; i++) {
        const char *n = st->cmds[i].name;
        if (strncasecmp(n, li->buffer, len) != 0 || strchr(n, '|'))
            continue;
        if (!first) {
            first = n;
            common = strlen(n);
        }
        size_t k = 0;
        while (k < common && n[k] == first[k])
            k++;
        common = k;
        nmatch++;
    }
    if (nmatch == 0)
        return CC_ERROR;
    int upper = len > 0 && isupper((unsigned char)li->buffer[0]);
    char add[128];
    size_t an = 0;
    for (size_t k = len; k < common && an + 2 < sizeof(add); k++)
        add[an++] = upper ? (char)toupper((unsigned char)first[k]) : first[k];
    if (nmatch == 1)
        add[an++] = ' ';
    add[an] = '\0';
    if (an > 0)
        el_insertstr(el, add);
    if (nmatch > 1 && an == 0) {
        putchar('\n');
        for (size_t i = 0; i < st->ncmds; i++)
            if (!strncasecmp(st->cmds[i].name, li->buffer, len) &&
                !strchr(st->cmds[i].name, '|'))
                printf("%s ", st->cmds[i].name);
        putchar('\n');
    }
    li = el_line(el);
    repl_update_hint(st, li->buffer, (size_t)(li->lastchar - li->buffer));
    return CC_REDISPLAY;
}

/* Enter: take the hint away and redraw, then replay the key as ^X^M, which
 * is bound to libedit's own ed-newline (so accepted lines keep no hint). */
static unsigned char enter_fn(EditLine *el, int ch)
{
    (void)ch;
    state_of(el)->hint[0] = '\0';
    el_push(el, "\030\r");
    return CC_REDISPLAY;
}

static void history_path(char *out, size_t cap)
{
    const char *env = getenv("CHALKCLI_HISTFILE");
    const char *home = getenv("HOME");
    if (env)
        snprintf(out, cap, "%s", env);
    else
        snprintf(out, cap, "%s/.chalkcli_history", home ? home : ".");
}

static int repl_edit_loop(repl_state *st)
{
    EditLine *el = el_init("chalk-cli", stdin, stdout, stderr);
    History *hist = history_init();
    HistEvent ev;
    char path[512];
    if (!el || !hist)
        return 1;
    history_path(path, sizeof(path));
    history(hist, &ev, H_SETSIZE, 1000);
    history(hist, &ev, H_SETUNIQUE, 1);
    history(hist, &ev, H_LOAD, path);
    el_set(el, EL_CLIENTDATA, st);
    el_set(el, EL_EDITOR, "emacs");
    el_set(el, EL_HIST, history, hist);
    el_set(el, EL_PROMPT_ESC, prompt_fn, '\1');
    el_set(el, EL_RPROMPT_ESC, rprompt_fn, '\1');
    el_set(el, EL_ADDFN, "chalk-complete", "complete a command name", complete_fn);
    el_set(el, EL_ADDFN, "chalk-space", "insert a space, show the hint", space_fn);
    el_set(el, EL_BIND, "^I", "chalk-complete", NULL);
    el_set(el, EL_ADDFN, "chalk-enter", "hide the hint, accept the line", enter_fn);
    el_set(el, EL_BIND, " ", "chalk-space", NULL);
    el_set(el, EL_BIND, "^M", "chalk-enter", NULL);
    el_set(el, EL_BIND, "^J", "chalk-enter", NULL);
    el_set(el, EL_BIND, "^X^M", "ed-newline", NULL);
    el_source(el, NULL);
    for (;;) {
        int n;
        repl_prompt(st);
        const char *line = el_gets(el, &n);
        st->hint[0] = '\0';
        if (!line || n <= 0)
            break;
        char *copy = strndup(line, (size_t)n);
        if (!copy)
            break;
        copy[strcspn(copy, "\r\n")] = '\0';
        if (copy[0]) {
            history(hist, &ev, H_ENTER, copy);
            history(hist, &ev, H_SAVE, path);
        }
        int quit = repl_line(st, copy);
        free(copy);
        if (quit)
            break;
    }
    history_end(hist);
    el_end(el);
    return 0;
}
#else
static int repl_edit_loop(repl_state *st)
{
    char *line = NULL;
    size_t cap = 0;
    for (;;) {
        repl_prompt(st);
        fputs(st->prompt, stdout);
        fflush(stdout);
        if (getline(&line, &cap, stdin) < 0)
            break;
        line[strcspn(line, "\r\n")] = '\0';
        if (repl_line(st, line))
            break;
    }
    free(line);
    return 0;
}
#endif

int cli_repl(cli_config *cfg)
{
    repl_state st = {.cfg = cfg};
    cfg->interactive = 1;
    cli_connect(cfg); /* failure is fine: "not connected>" */
    cfg->in_tx = 0;
    repl_learn(&st);
    int rc = repl_edit_loop(&st);
    repl_free(&st);
    return rc;
}
