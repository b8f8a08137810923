/*
 * loop.h — the event loop's interface: two backends, one shape.
 *
 * The loop owns the sockets' I/O; the rest of the server owns the bytes.
 * A backend reads into the buffer client_read_space() offers and reports
 * with client_on_read(); it sends what client_out_iov() lists and reports
 * with client_on_sent(); it accepts on listeners (accept_on_listener) and
 * tells the server when the engine's event fd is readable
 * (server_on_engine_event). The backend is chosen in ONE place:
 * loop_choose() in server.c, from the `io-backend` setting.
 *
 * @interview(perf.io-model): What is the difference between readiness and
 * completion I/O? With epoll (readiness) the kernel says "this socket can
 * be read now" and we then call read(): one syscall to learn, one per
 * socket to act. With io_uring (completion) we hand the kernel the buffer
 * in advance ("receive into here") and later reap "done, n bytes": many
 * operations on many sockets are submitted with one io_uring_enter, and the
 * buffer must stay put until the completion arrives, which is why our
 * reply blocks never move (reply.c).
 */
#ifndef CHALK_LOOP_H
#define CHALK_LOOP_H

#include <stdbool.h>

typedef struct loop loop;
typedef struct client client;

struct loop_backend {
    const char *name;                             /* "io_uring", "epoll" */
    int  (*create)(loop **out, int max_clients);  /* 0 or -errno */
    void (*destroy)(loop *l);
    int  (*add_listener)(loop *l, int fd);
    int  (*add_fd)(loop *l, int fd);              /* the engine's event fd */
    int  (*add_client)(loop *l, client *c);       /* start reading it */
    void (*set_read)(loop *l, client *c, bool on);/* pause/resume reading */
    void (*send)(loop *l, client *c);             /* send what it has queued */
    /* Stop I/O on c. Returns true if it can be freed now, false if I/O is
     * in flight: the backend then calls client_free_now() when it drains. */
    bool (*close_client)(loop *l, client *c);
    /* Wait up to timeout_ms for events and handle them. 0 or -errno. */
    int  (*poll)(loop *l, int timeout_ms);
};

extern const struct loop_backend loop_epoll_backend;
extern const struct loop_backend loop_uring_backend;

#endif /* CHALK_LOOP_H */
