/*
 * batch.c — group commit (see batch.h).
 *
 * Items collect in `pending`. The first submit of a batch activates a
 * lowest-priority event, so the flush runs once the loop has handled the
 * other ready events (more requests, more bus messages) and they are all in
 * the same transaction. The flush takes the pending list for itself first:
 * anything submitted while it runs (from an apply or a done callback) lands
 * in a fresh list and a fresh activation, i.e. the next batch.
 *
 * With a writer thread (cg_batch_start_writer) the flush only hands the list
 * to the writer's queue. The writer takes everything queued, applies and
 * commits it, and passes the list back through `finished` and a pipe that
 * wakes the main loop, which calls the done callbacks. While it commits, the
 * main thread goes on taking requests, so the next transaction takes all
 * that arrived meanwhile: natural group commit, one fsync per group.
 */
#include "store/batch.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/metrics.h"

typedef struct batch_item {
    cg_batch_apply_fn apply;
    cg_batch_done_fn done;
    void *arg;
    int status;
    char err[256];
} batch_item;

typedef struct item_list {
    batch_item *v;
    size_t n, cap;
} item_list;

/* The writer thread's side; everything below `mu` is guarded by it. */
typedef struct writer {
    pthread_t thread;
    int wake[2];               /* pipe: the writer -> the main loop */
    struct event *done_ev;
    pthread_mutex_t mu;
    pthread_cond_t work_cv;    /* queue not empty, or stop */
    pthread_cond_t idle_cv;    /* queue empty and not busy */
    item_list queue;           /* handed over, not yet taken */
    item_list finished;        /* committed (or failed), done not yet called */
    int busy, stop;
} writer;

struct cg_batch {
    struct event_base *base;
    cg_store *st;
    struct event *flush_ev;
    item_list pending;
    int flushing;
    cg_batch_stats stats;      /* with a writer: guarded by w->mu */
    writer *w;                 /* NULL: apply and commit on the main thread */
};

static void set_error(batch_item *it, const char *fmt, const char *what, const char *msg)
{
    it->status = -1;
    snprintf(it->err, sizeof it->err, fmt, what, msg);
}

/* Run a transaction-control statement (cached: one per item adds up). On
 * failure msg holds SQLite's message for the items' done callbacks. */
static int run(cg_store *st, const char *sql, char *msg, size_t msglen)
{
    sqlite3_stmt *s = cg_store_stmt(st, sql);
    int rc = s ? sqlite3_step(s) : SQLITE_ERROR;
    if (rc != SQLITE_DONE)
        snprintf(msg, msglen, "%s", sqlite3_errmsg(st->db));
    if (s)
        sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The transaction is lost or cannot be trusted: undo it all. Items that had
 * failed on their own keep their reason. */
static void abort_all(cg_store *st, item_list *items, const char *what, const char *msg)
{
    CG_ERROR("store", "%s: %s, %zu items not written: %s", st->path, what, items->n, msg);
    char rb[200];
    if (!sqlite3_get_autocommit(st->db) && run(st, "ROLLBACK", rb, sizeof rb) < 0)
        CG_ERROR("store", "%s: ROLLBACK failed: %s", st->path, rb);
    for (size_t i = 0; i < items->n; i++)
        if (items->v[i].status == 0)
            set_error(&items->v[i], "%s: %s", what, msg);
}

/* Apply every item in one transaction; sets each item's status/err.
 * 0 committed, -1 nothing written. */
static int apply_all(cg_store *st, item_list *items)
{
    char msg[200];
    if (run(st, "BEGIN IMMEDIATE", msg, sizeof msg) < 0) {
        abort_all(st, items, "cannot start a transaction", msg);
        return -1;
    }
    st->write_epoch++;
    for (size_t i = 0; i < items->n; i++) {
        batch_item *it = &items->v[i];
        if (run(st, "SAVEPOINT batch_item", msg, sizeof msg) < 0) {
            abort_all(st, items, "savepoint failed", msg);
            return -1;
        }
        st->in_batch_item = 1;
        int rc = it->apply(st, it->arg, it->err, sizeof it->err);
        st->in_batch_item = 0;
        if (rc != 0) {
            it->status = -1;
            if (!it->err[0])
                snprintf(it->err, sizeof it->err, "not written");
        }
        /* Some errors (SQLITE_FULL, IOERR, NOMEM) roll back the whole
         * transaction by themselves. */
        if (sqlite3_get_autocommit(st->db)) {
            snprintf(msg, sizeof msg, "%s", sqlite3_errmsg(st->db));
            abort_all(st, items, "transaction aborted", msg);
            return -1;
        }
        if (it->status == 0 && run(st, "RELEASE batch_item", msg, sizeof msg) == 0)
            continue;
        if (it->status == 0)
            set_error(it, "%s: %s", "release failed", msg);
        /* If the item cannot be undone alone, undo everything rather than
         * commit writes its caller will be told did not happen. */
        st->write_epoch++; /* what the store's writers cached may be undone */
        if (run(st, "ROLLBACK TO batch_item", msg, sizeof msg) < 0 ||
            run(st, "RELEASE batch_item", msg, sizeof msg) < 0) {
            abort_all(st, items, "cannot roll back a failed item", msg);
            return -1;
        }
    }
    int64_t t0 = cg_metrics_clock_us();
    if (run(st, "COMMIT", msg, sizeof msg) < 0) {
        abort_all(st, items, "commit failed", msg);
        cg_metrics_group_commit(items->n, 0, 0);
        return -1;
    }
    cg_metrics_group_commit(items->n, (double)(cg_metrics_clock_us() - t0) / 1e6, 1);
    return 0;
}

/* Apply and commit one list; counts it. Runs where the store is written. */
static void commit_items(cg_batch *b, item_list *items)
{
    cg_store_lock(b->st);
    int rc = apply_all(b->st, items);
    cg_store_unlock(b->st);
    if (b->w)
        pthread_mutex_lock(&b->w->mu);
    if (rc == 0)
        b->stats.commits++;
    b->stats.items += items->n;
    if (items->n > b->stats.largest_batch)
        b->stats.largest_batch = items->n;
    for (size_t i = 0; i < items->n; i++)
        if (items->v[i].status < 0)
            b->stats.failed_items++;
    if (b->w)
        pthread_mutex_unlock(&b->w->mu);
}

/* Main thread: done() may submit again: those items go to b->pending (the
 * next batch). Frees the list. */
static void call_done(item_list *items)
{
    for (size_t i = 0; i < items->n; i++) {
        batch_item *it = &items->v[i];
        if (it->done)
            it->done(it->arg, it->status, it->status < 0 ? it->err : NULL);
    }
    free(items->v);
    memset(items, 0, sizeof *items);
}

static int list_append(item_list *to, item_list *from)
{
    if (to->n + from->n > to->cap) {
        size_t ncap = to->cap ? to->cap : 64;
        while (ncap < to->n + from->n)
            ncap *= 2;
        batch_item *nv = realloc(to->v, ncap * sizeof *nv);
        if (!nv)
            return -1;
        to->v = nv;
        to->cap = ncap;
    }
    memcpy(to->v + to->n, from->v, from->n * sizeof *from->v);
    to->n += from->n;
    from->n = 0;
    return 0;
}

/* Main thread, with a writer: hand pending over (in order, after what is
 * already queued). */
static void hand_over(cg_batch *b)
{
    writer *w = b->w;
    if (b->pending.n == 0)
        return;
    pthread_mutex_lock(&w->mu);
    int rc;
    if (w->queue.n == 0) {
        /* The common case: give the whole list, no copy. */
        item_list t = w->queue;
        w->queue = b->pending;
        b->pending = t;
        rc = 0;
    } else {
        rc = list_append(&w->queue, &b->pending);
    }
    if (rc == 0)
        pthread_cond_signal(&w->work_cv);
    pthread_mutex_unlock(&w->mu);
    if (rc < 0) {
        /* Out of memory: write them here rather than lose them. */
        CG_ERROR("store", "out of memory handing writes to the writer; committing inline");
        pthread_mutex_lock(&w->mu);
        while (w->busy || w->queue.n)
            pthread_cond_wait(&w->idle_cv, &w->mu);
        pthread_mutex_unlock(&w->mu);
        item_list items = b->pending;
        memset(&b->pending, 0, sizeof b->pending);
        commit_items(b, &items);
        call_done(&items);
    }
}

/* Main thread: call done for everything the writer finished. */
static void collect_finished_list(writer *w)
{
    pthread_mutex_lock(&w->mu);
    item_list items = w->finished;
    memset(&w->finished, 0, sizeof w->finished);
    pthread_mutex_unlock(&w->mu);
    call_done(&items);
}

static void collect_finished(cg_batch *b) { collect_finished_list(b->w); }

static void flush_now(cg_batch *b)
{
    if (b->flushing || b->pending.n == 0)
        return;
    b->flushing = 1;
    if (b->w) {
        hand_over(b);
    } else {
        item_list items = b->pending;
        memset(&b->pending, 0, sizeof b->pending);
        commit_items(b, &items);
        call_done(&items);
    }
    b->flushing = 0;
}

static void *writer_main(void *arg)
{
    cg_batch *b = arg;
    writer *w = b->w;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->queue.n == 0 && !w->stop)
            pthread_cond_wait(&w->work_cv, &w->mu);
        if (w->queue.n == 0)
            break; /* stop, and nothing left */
        item_list items = w->queue;
        memset(&w->queue, 0, sizeof w->queue);
        w->busy = 1;
        pthread_mutex_unlock(&w->mu);

        commit_items(b, &items);

        pthread_mutex_lock(&w->mu);
        int wake = 0;
        for (;;) {
            if (w->finished.n == 0) {
                free(w->finished.v);
                w->finished = items;
                wake = 1; /* the main loop takes all there is when it wakes */
                break;
            }
            if (list_append(&w->finished, &items) == 0) {
                free(items.v);
                break;
            }
            /* Out of memory: wait for the main loop to take what is there. */
            pthread_mutex_unlock(&w->mu);
            usleep(1000);
            pthread_mutex_lock(&w->mu);
        }
        w->busy = 0;
        if (w->queue.n == 0)
            pthread_cond_broadcast(&w->idle_cv);
        pthread_mutex_unlock(&w->mu);
        /* A full pipe already means "wake up". */
        if (wake) {
            char c = 1;
            while (write(w->wake[1], &c, 1) < 0 && errno == EINTR)
                ;
        }
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void on_writer_done(evutil_socket_t fd, short what, void *arg)
{
    char buf[64];
    while (read(fd, buf, sizeof buf) > 0)
        ;
    collect_finished(arg);
}

static void on_flush_event(evutil_socket_t fd, short what, void *arg)
{
    flush_now(arg);
}

cg_batch *cg_batch_new(struct event_base *base, cg_store *st)
{
    cg_batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->base = base;
    b->st = st;
    b->flush_ev = event_new(base, -1, 0, on_flush_event, b);
    if (!b->flush_ev ||
        event_priority_set(b->flush_ev, event_base_get_npriorities(base) - 1) < 0) {
        CG_ERROR("store", "cannot create the group-commit event");
        if (b->flush_ev)
            event_free(b->flush_ev);
        free(b);
        return NULL;
    }
    return b;
}

/* Main thread: hand everything over and wait until the writer has
 * committed it, then call the done callbacks. */
static void flush_and_wait(cg_batch *b)
{
    writer *w = b->w;
    flush_now(b);
    pthread_mutex_lock(&w->mu);
    while (w->busy || w->queue.n > 0)
        pthread_cond_wait(&w->idle_cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
    collect_finished(b);
}

static void stop_writer(cg_batch *b)
{
    writer *w = b->w;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->work_cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    b->w = NULL; /* from here on the main thread writes (nothing is left) */
    collect_finished_list(w);
    event_free(w->done_ev);
    close(w->wake[0]);
    close(w->wake[1]);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->work_cv);
    pthread_cond_destroy(&w->idle_cv);
    free(w->queue.v);
    free(w);
}

int cg_batch_start_writer(cg_batch *b, char *err, size_t errlen)
{
    if (b->w)
        return 0;
    writer *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    w->wake[0] = w->wake[1] = -1;
    if (pipe2(w->wake, O_NONBLOCK | O_CLOEXEC) < 0) {
        snprintf(err, errlen, "cannot create the writer's pipe: %s", strerror(errno));
        free(w);
        return -1;
    }
    w->done_ev = event_new(b->base, w->wake[0], EV_READ | EV_PERSIST, on_writer_done, b);
    if (!w->done_ev || event_add(w->done_ev, NULL) < 0) {
        snprintf(err, errlen, "cannot watch the writer's pipe");
        goto fail;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work_cv, NULL);
    pthread_cond_init(&w->idle_cv, NULL);
    /* Anything pending is committed before the thread takes over. */
    while (b->pending.n > 0 && !b->flushing)
        flush_now(b);
    b->w = w;
    int rc = pthread_create(&w->thread, NULL, writer_main, b);
    if (rc != 0) {
        b->w = NULL;
        snprintf(err, errlen, "cannot start the writer thread: %s", strerror(rc));
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->work_cv);
        pthread_cond_destroy(&w->idle_cv);
        goto fail;
    }
    return 0;
fail:
    if (w->done_ev)
        event_free(w->done_ev);
    close(w->wake[0]);
    close(w->wake[1]);
    free(w);
    return -1;
}

void cg_batch_free(cg_batch *b)
{
    if (!b)
        return;
    /* Done callbacks may submit follow-ups: keep going until quiet. */
    while (b->pending.n > 0 && !b->flushing) {
        if (b->w)
            flush_and_wait(b);
        else
            flush_now(b);
    }
    if (b->w)
        stop_writer(b);
    event_free(b->flush_ev);
    free(b->pending.v);
    free(b);
}

void cg_batch_submit(cg_batch *b, cg_batch_apply_fn apply, cg_batch_done_fn done, void *arg)
{
    item_list *p = &b->pending;
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 64;
        batch_item *nv = realloc(p->v, ncap * sizeof *nv);
        if (!nv) {
            CG_ERROR("store", "out of memory queueing a write");
            if (done)
                done(arg, -1, "out of memory");
            return;
        }
        p->v = nv;
        p->cap = ncap;
    }
    p->v[p->n++] = (batch_item){.apply = apply, .done = done, .arg = arg};
    if (p->n == 1)
        event_active(b->flush_ev, EV_TIMEOUT, 1);
}

void cg_batch_flush(cg_batch *b)
{
    if (b->w)
        flush_and_wait(b);
    else
        flush_now(b);
}

void cg_batch_get_stats(const cg_batch *b, cg_batch_stats *out)
{
    if (b->w)
        pthread_mutex_lock(&b->w->mu);
    *out = b->stats;
    if (b->w)
        pthread_mutex_unlock(&b->w->mu);
}
