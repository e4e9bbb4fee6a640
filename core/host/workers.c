/*
 * workers.c — the thread pool of workers.h: one mutex, one condition for
 * the threads, a FIFO of waiting jobs, a FIFO of finished ones, and a pipe
 * that wakes the loop. libevent's own cross-thread event_active would need
 * evthread_use_pthreads() before the base exists; a pipe needs nothing.
 */
#include "host/workers.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/log.h"

#define MAX_THREADS 64

typedef struct job {
    cg_work_fn work;
    cg_work_done_fn done;
    void *arg;
    struct job *next;
} job;

typedef struct fifo {
    job *head, *tail;
} fifo;

struct cg_workers {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    fifo waiting, finished;
    size_t pending; /* waiting + running + finished not yet handed back */
    size_t max_queued;
    int stopping;
    int wake[2]; /* [0] read end (loop), [1] write end (workers) */
    struct event *wake_ev;
    pthread_t threads[MAX_THREADS];
    int n_threads;
};

static void push(fifo *f, job *j)
{
    j->next = NULL;
    if (f->tail)
        f->tail->next = j;
    else
        f->head = j;
    f->tail = j;
}

static job *take_all(fifo *f)
{
    job *all = f->head;
    f->head = f->tail = NULL;
    return all;
}

static void *worker_main(void *arg)
{
    cg_workers *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stopping && !w->waiting.head)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stopping)
            break; /* what still waits is handed back unstarted by cg_workers_free */
        job *j = w->waiting.head;
        w->waiting.head = j->next;
        if (!w->waiting.head)
            w->waiting.tail = NULL;
        pthread_mutex_unlock(&w->mu);
        j->work(j->arg);
        pthread_mutex_lock(&w->mu);
        int was_empty = w->finished.head == NULL;
        push(&w->finished, j);
        if (was_empty) {
            /* Non-blocking: a full pipe already holds a wake-up. */
            char b = 1;
            ssize_t n = write(w->wake[1], &b, 1);
            (void)n;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Call done for every finished job (main thread). */
static void hand_back(cg_workers *w)
{
    pthread_mutex_lock(&w->mu);
    job *j = take_all(&w->finished);
    pthread_mutex_unlock(&w->mu);
    while (j) {
        job *next = j->next;
        pthread_mutex_lock(&w->mu);
        w->pending--;
        pthread_mutex_unlock(&w->mu);
        j->done(j->arg, 1);
        free(j);
        j = next;
    }
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    char buf[64];
    while (read(fd, buf, sizeof buf) > 0) {
    }
    hand_back(arg);
}

static int pipe_nonblocking(int fds[2])
{
    if (pipe(fds) < 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        int fl = fcntl(fds[i], F_GETFL);
        if (fl < 0 || fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) < 0 ||
            fcntl(fds[i], F_SETFD, FD_CLOEXEC) < 0) {
            close(fds[0]);
            close(fds[1]);
            return -1;
        }
    }
    return 0;
}

cg_workers *cg_workers_new(struct event_base *base, int threads, size_t max_queued)
{
    if (!base || threads < 1 || threads > MAX_THREADS)
        return NULL;
    cg_workers *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->max_queued = max_queued < (size_t)threads ? (size_t)threads : max_queued;
    w->wake[0] = w->wake[1] = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    if (pipe_nonblocking(w->wake) < 0 ||
        !(w->wake_ev = event_new(base, w->wake[0], EV_READ | EV_PERSIST, on_wake, w)) ||
        event_add(w->wake_ev, NULL) < 0) {
        CG_ERROR("workers", "cannot set up the worker pool's wake-up: %s", strerror(errno));
        cg_workers_free(w);
        return NULL;
    }
    for (; w->n_threads < threads; w->n_threads++) {
        int rc = pthread_create(&w->threads[w->n_threads], NULL, worker_main, w);
        if (rc != 0) {
            CG_ERROR("workers", "cannot start a worker thread: %s", strerror(rc));
            cg_workers_free(w);
            return NULL;
        }
    }
    return w;
}

int cg_workers_submit(cg_workers *w, cg_work_fn work, cg_work_done_fn done, void *arg)
{
    if (!w) {
        work(arg);
        done(arg, 1);
        return 0;
    }
    job *j = malloc(sizeof *j);
    if (!j)
        return -1;
    j->work = work;
    j->done = done;
    j->arg = arg;
    pthread_mutex_lock(&w->mu);
    if (w->stopping || w->pending >= w->max_queued) {
        pthread_mutex_unlock(&w->mu);
        free(j);
        return -1;
    }
    w->pending++;
    push(&w->waiting, j);
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

size_t cg_workers_pending(const cg_workers *w)
{
    if (!w)
        return 0;
    pthread_mutex_lock((pthread_mutex_t *)&w->mu);
    size_t n = w->pending;
    pthread_mutex_unlock((pthread_mutex_t *)&w->mu);
    return n;
}

void cg_workers_free(cg_workers *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < w->n_threads; i++)
        pthread_join(w->threads[i], NULL);
    hand_back(w);
    job *j = take_all(&w->waiting);
    while (j) {
        job *next = j->next;
        j->done(j->arg, 0);
        free(j);
        j = next;
    }
    if (w->wake_ev)
        event_free(w->wake_ev);
    for (int i = 0; i < 2; i++)
        if (w->wake[i] >= 0)
            close(w->wake[i]);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
