/*
 * log_psync.c — the fallback log backend: one background thread performs
 * each group with pwrite (looping over short writes) and fdatasync, through
 * the vfs, then signals the log's eventfd.
 *
 * The one idea: the caller's thread must never wait for the disk, so the
 * blocking syscalls run on a thread of their own; the hand-off is a single
 * slot (at most one group is in flight, log.h rule 1) under a mutex.
 *
 * Left out on purpose: a pool of I/O threads. One log, one file, one group
 * at a time: a second thread would have nothing to do.
 *
 * Interview topics: tx.durability (the policy: log.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "log.h"
#include "segment.h"
#include "vfs.h"

struct psync_state {
    pthread_t       thread;
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    struct log_group *job;      /* submitted, not yet taken by the thread */
    struct log_group *finished; /* performed, not yet reaped */
    int             stop;
};

static void *psync_thread(void *arg)
{
    struct log *lg = arg;
    struct psync_state *s = lg->be_state;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->job && !s->stop) pthread_cond_wait(&s->cv, &s->mu);
        if (!s->job) break;                       /* stop, nothing left */
        struct log_group *g = s->job;
        s->job = NULL;
        pthread_mutex_unlock(&s->mu);
        log_perform(lg, g);
        pthread_mutex_lock(&s->mu);
        s->finished = g;
        log_signal(lg);   /* after `finished` is visible: see log_drain */
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int psync_start(struct log *lg)
{
    struct psync_state *s = calloc(1, sizeof *s);
    if (!s) return CHALK_ENOMEM;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    lg->be_state = s;
    if (pthread_create(&s->thread, NULL, psync_thread, lg) != 0) {
        free(s);
        lg->be_state = NULL;
        return CHALK_EIO;
    }
    return 0;
}

static void psync_submit(struct log *lg, struct log_group *g)
{
    struct psync_state *s = lg->be_state;
    pthread_mutex_lock(&s->mu);
    s->job = g;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static struct log_group *psync_reap(struct log *lg)
{
    struct psync_state *s = lg->be_state;
    pthread_mutex_lock(&s->mu);
    struct log_group *g = s->finished;
    s->finished = NULL;
    pthread_mutex_unlock(&s->mu);
    return g;
}

static void psync_stop(struct log *lg)
{
    struct psync_state *s = lg->be_state;
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
    lg->be_state = NULL;
}

const struct log_backend log_backend_psync = {
    .name = "pwrite+fdatasync",
    .start = psync_start,
    .submit = psync_submit,
    .reap = psync_reap,
    .stop = psync_stop,
};
