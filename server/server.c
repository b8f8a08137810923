/*
 * server.c — the server's life: start-up (listeners, engine, event loop),
 * the loop itself with its before-sleep step and its cron, and shutdown.
 *
 * The one idea: a loop iteration is
 *
 *     poll (sockets + the engine's event fd)
 *       → read, parse, run commands; replies queue up per client
 *     server_before_sleep:
 *       → run clients that may go on (released holds, pause ended)
 *       → gc_flush() → chalk_flush(): every write queued so far becomes ONE
 *         group (one write, and under appendfsync always one fdatasync)
 *         issued in the background; we do not wait for it. Under always it
 *         is issued only when no group is in flight, and right after a
 *         completion only once the clients it released wrote again
 *         (group_commit.c: why groups split otherwise)
 *       → send every queued reply (one send per client)
 *       → free clients marked for closing
 *     ... and when the engine's fd becomes readable, chalk_poll() runs the
 *     callbacks that release replies held for durability.
 *
 * The backend is chosen in ONE place, loop_choose(). Shutdown (SIGINT,
 * SIGTERM, SHUTDOWN): stop accepting, flush the replies we can, close the
 * engine (which fsyncs and delivers pending callbacks), exit 0.
 *
 * Left out on purpose: daemonizing (run it under systemd or a terminal),
 * background saving (there is no snapshot to save: the log is the data).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "commands.h"
#include "expire.h"
#include "loop.h"
#include "multi.h"
#include "repl_hooks.h"
#include "reply.h"
#include "server.h"

struct server server;

/* ---- the event loop backend: chosen here and nowhere else -------------- */

static int loop_choose(void)
{
    int want = server.cfg.io_backend;
    int rc = -1;
    if (want == IO_URING || want == IO_AUTO) {
        rc = loop_uring_backend.create(&server.loop, (int)server.cfg.maxclients);
        if (rc == 0) {
            server.io = &loop_uring_backend;
            return 0;
        }
        if (want == IO_URING) {
            server_log(LL_WARNING, "io-backend uring requested but io_uring is unavailable: %s",
                       strerror(-rc));
            return rc;
        }
        server_log(LL_NOTICE, "io_uring unavailable (%s), falling back to epoll", strerror(-rc));
    }
    rc = loop_epoll_backend.create(&server.loop, (int)server.cfg.maxclients);
    if (rc == 0)
        server.io = &loop_epoll_backend;
    return rc;
}

const char *server_io_backend_name(void) { return server.io ? server.io->name : "none"; }

/* ---- listeners --------------------------------------------------------- */

static int listen_tcp(const char *addr, bool optional)
{
    char port[16];
    snprintf(port, sizeof port, "%lld", server.cfg.port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST};
    struct addrinfo *res;
    const char *host = strcmp(addr, "*") == 0 ? NULL : addr;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return optional ? 0 : -1;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int yes = 1;
    if (fd >= 0 && res->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &yes, sizeof yes);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) < 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
        listen(fd, (int)server.cfg.tcp_backlog) < 0) {
        int err = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        if (optional)
            return 0;
        server_log(LL_WARNING, "Failed listening on port %lld (tcp), aborting: %s %s",
                   server.cfg.port, addr, strerror(err));
        return -1;
    }
    freeaddrinfo(res);
    server.listen_unix[server.nlisten] = false;
    server.listen_fds[server.nlisten++] = fd;
    return 0;
}

static int listen_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        server_log(LL_WARNING, "unixsocket path too long: %s", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    unlink(path);              /* a stale socket file from a previous run */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        listen(fd, (int)server.cfg.tcp_backlog) < 0) {
        server_log(LL_WARNING, "Failed opening Unix socket %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (server.cfg.unixsocketperm)
        chmod(path, (mode_t)server.cfg.unixsocketperm);
    server.listen_unix[server.nlisten] = true;
    server.listen_fds[server.nlisten++] = fd;
    return 0;
}

/* `bind` holds addresses separated by spaces; "-addr" means "skip it if it
 * is unavailable" (Redis 7's syntax, e.g. -::1 on hosts without IPv6). */
static int open_listeners(void)
{
    char *copy = strdup(server.cfg.bind);
    int rc = 0;
    if (!copy)
        return -1;
    for (char *save, *tok = strtok_r(copy, " ", &save); tok && rc == 0;
         tok = strtok_r(NULL, " ", &save)) {
        if (server.nlisten >= MAX_LISTENERS - 1)
            break;
        bool optional = tok[0] == '-';
        rc = listen_tcp(optional ? tok + 1 : tok, optional);
    }
    free(copy);
    if (rc == 0 && server.cfg.unixsocket[0])
        rc = listen_unix(server.cfg.unixsocket);
    if (rc == 0 && server.nlisten == 0) {
        server_log(LL_WARNING, "Configured to not listen anywhere, exiting.");
        rc = -1;
    }
    return rc;
}

/* ---- the engine ---------------------------------------------------------- */

int server_open_engine(void)
{
    chalk_options opt;
    chalk_options_init(&opt);
    opt.fsync = (enum chalk_fsync)server.cfg.appendfsync;
    opt.segment_size = (uint64_t)server.cfg.segment_size;
    opt.log = server_log_engine;
    int64_t t0 = now_ms();
    int rc = chalk_open(server.cfg.dir, &opt, &server.db);
    if (rc != CHALK_OK) {
        server_log(LL_WARNING, "Can't open the data directory %s: %s", server.cfg.dir,
                   chalk_strerror(rc));
        return -1;
    }
    server.engine_fd = chalk_event_fd(server.db);
    if (server.engine_fd >= 0 && server.io->add_fd(server.loop, server.engine_fd) < 0)
        return -1;
    chalk_stats st;
    chalk_stats_get(server.db, &st);
    server_log(LL_NOTICE, "DB loaded from disk: %.3f seconds, %llu keys, %llu segments, log I/O %s",
               (double)(now_ms() - t0) / 1000, (unsigned long long)st.keys,
               (unsigned long long)st.segments, st.io_path ? st.io_path : "?");
    return 0;
}

/* The engine's event fd is readable: run the callbacks of batches that
 * became durable. They release held replies (hold_reply_release). */
void server_on_engine_event(void)
{
    if (!server.db)
        return;
    int rc = chalk_poll(server.db);
    if (rc < 0)
        server_log(LL_WARNING, "engine: chalk_poll: %s", chalk_strerror(rc));
    gc_after_poll(rc);            /* gather the released clients' next writes */
}

/* ---- start-up ------------------------------------------------------------ */

static void on_signal(int sig) { server.shutdown_signal = sig; }

static void make_run_id(void)
{
    unsigned char raw[20];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, raw, sizeof raw) : -1;
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; i < sizeof raw; i++) {
        unsigned v = n == (ssize_t)sizeof raw ? raw[i] : (unsigned)((now_us() >> (i % 8)) ^ i * 131);
        snprintf(server.run_id + i * 2, 3, "%02x", v & 0xff);
    }
}

/* Each client is a file descriptor: raise the soft limit to what
 * maxclients needs (plus room for listeners and log segments), up to the
 * hard limit, as redis-server does; lower maxclients if we cannot. */
static void adjust_open_files_limit(void)
{
    rlim_t want = (rlim_t)server.cfg.maxclients + 64;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
        return;
    rlim_t target = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
    rl.rlim_cur = target;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0 && target >= want)
        return;
    getrlimit(RLIMIT_NOFILE, &rl);
    long long fit = (long long)rl.rlim_cur - 64;
    server_log(LL_WARNING, "You requested maxclients of %lld requiring at least %llu max file "
               "descriptors. Current maximum open files is %llu: maxclients has been reduced to %lld.",
               server.cfg.maxclients, (unsigned long long)want, (unsigned long long)rl.rlim_cur,
               fit > 1 ? fit : 1);
    server.cfg.maxclients = fit > 1 ? fit : 1;
}

static void install_signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);      /* a peer gone mid-send is an EPIPE, not death */
}

int server_init(void)
{
    server.pid = getpid();
    server.start_ms = now_ms();
    server.engine_fd = -1;
    server.last_save_s = server.start_ms / 1000;
    make_run_id();
    install_signals();
    adjust_open_files_limit();
    server_log(LL_NOTICE, "oO0OoO0OoO0Oo Chalk is starting oO0OoO0OoO0Oo");
    server_log(LL_NOTICE, "Chalk version=%s, redis_version=%s, git_sha1=%s, bits=%d, pid=%d, just started",
               CHALK_VERSION, CHALK_REDIS_VERSION, CHALK_GIT_SHA, (int)(sizeof(void *) * 8),
               (int)server.pid);
    if (server.config_file[0])
        server_log(LL_NOTICE, "Configuration loaded from %s", server.config_file);
    else
        server_log(LL_NOTICE, "No config file specified, using the default config. In order to "
                   "specify a config file use %s /path/to/chalk.conf", server.exec_path);
    if (commands_init() < 0 || loop_choose() < 0 || open_listeners() < 0)
        return -1;
    for (int i = 0; i < server.nlisten; i++)
        if (server.io->add_listener(server.loop, server.listen_fds[i]) < 0)
            return -1;
    server_log(LL_NOTICE, "Running mode=standalone, port=%lld, io-backend=%s.", server.cfg.port,
               server.io->name);
    if (mkdir(server.cfg.dir, 0755) < 0 && errno != EEXIST) {
        server_log(LL_WARNING, "Can't create the data directory %s: %s", server.cfg.dir, strerror(errno));
        return -1;
    }
    server_log(LL_NOTICE, "Data directory %s, appendfsync %s", server.cfg.dir,
               server.cfg.appendfsync == FSYNC_ALWAYS ? "always"
               : server.cfg.appendfsync == FSYNC_EVERYSEC ? "everysec" : "no");
    if (server_open_engine() < 0 || repl_init() < 0)
        return -1;
    server_log(LL_NOTICE, "Ready to accept connections tcp");
    if (server.cfg.unixsocket[0])
        server_log(LL_NOTICE, "Ready to accept connections unix");
    return 0;
}

/* ---- the loop ------------------------------------------------------------ */

void server_before_sleep(void)
{
    process_ready_clients();
    gc_flush();                   /* the group commit: non-blocking, paced
                                     under always (group_commit.c) */
    repl_before_sleep();          /* end the tick's unit, full-sync steps (repl_hooks.c) */
    handle_pending_writes();
    free_closing_clients();
}

/* Sample ops/sec the way Redis does: a ring of (time, counter) pairs. */
static void sample_ops(int64_t now)
{
    int i = server.ops_sample_idx;
    server.ops_sample_ms[i] = now;
    server.ops_sample_cmds[i] = server.stat_commands;
    server.ops_sample_in[i] = server.stat_net_in;
    server.ops_sample_out[i] = server.stat_net_out;
    server.ops_sample_idx = (i + 1) % 16;
}

static void server_cron(int64_t now)
{
    clients_cron(now);
    sample_ops(now);
    expire_cycle(now);            /* active expiry, bounded (expire.c) */
    repl_cron(now);               /* ACKs, pings, timeouts, reconnects (repl_hooks.c) */
    if (server.pause_end_ms && now >= server.pause_end_ms)
        server.pause_end_ms = 0;
}

int server_run(void)
{
    int64_t next_cron = now_ms();
    while (!server.shutdown_signal && !server.shutdown_asap) {
        int64_t now = now_ms();
        if (now >= next_cron) {
            server_cron(now);
            next_cron = now + 1000 / server.cfg.hz;
        }
        server_before_sleep();
        int timeout = gc_poll_timeout((int)(next_cron - now_ms()));
        int rc = server.io->poll(server.loop, timeout < 0 ? 0 : timeout);
        if (rc < 0) {
            server_log(LL_WARNING, "event loop: %s", strerror(-rc));
            return -1;
        }
    }
    return 0;
}

/* Stop accepting, send what can be sent, close the engine (which makes
 * every write durable and delivers pending callbacks), free everything. */
void server_shutdown(void)
{
    if (server.shutdown_signal)
        server_log(LL_WARNING, "Received %s scheduling shutdown...",
                   server.shutdown_signal == SIGINT ? "SIGINT" : "SIGTERM");
    server_log(LL_WARNING, "User requested shutdown...");
    for (int i = 0; i < server.nlisten; i++) {
        /* shutdown() first: an io_uring accept in flight holds a reference
         * to the socket, so close() alone would leave the port listening
         * until the ring is torn down; shutdown stops it now. */
        shutdown(server.listen_fds[i], SHUT_RDWR);
        close(server.listen_fds[i]);
        if (server.listen_unix[i])
            unlink(server.cfg.unixsocket);
    }
    server.nlisten = 0;
    repl_shutdown();              /* snapshots released before the engine closes */
    if (server.db) {
        server_log(LL_NOTICE, "Syncing the log to disk before exiting.");
        int rc = chalk_close(server.db);   /* runs the last callbacks */
        server.db = NULL;
        if (rc != CHALK_OK)
            server_log(LL_WARNING, "Error closing the engine: %s", chalk_strerror(rc));
    }
    /* No process_ready_clients() here: the engine is closed, so a waiting
     * command must not run now. Replies released by chalk_close's last
     * callbacks are sent, best effort. */
    handle_pending_writes();
    for (client *c = server.clients; c; c = c->next)
        client_close_async(c);
    free_closing_clients();
    if (server.io && server.loop) {
        int64_t deadline = now_ms() + 5000;   /* io_uring: let in-flight I/O drain */
        while (server.clients && now_ms() < deadline && server.io->poll(server.loop, 10) == 0)
            free_closing_clients();
        server.io->destroy(server.loop);
    }
    commands_free();
    multi_free_all();
    slowlog_free_all();
    chalk_batch_free(server.scratch);
    server_log(LL_WARNING, "Chalk is now ready to exit, bye bye...");
    config_free(&server.cfg);
}
