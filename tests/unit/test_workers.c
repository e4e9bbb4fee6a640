/* test_workers.c — the worker pool (core/host/workers.h): work runs on a
 * pool thread, done on the loop's thread, each exactly once; the queue
 * refuses past its cap; freeing hands back finished and unstarted jobs. */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "host/workers.h"
#include "support/run_suite.h"

typedef struct job {
    pthread_t worked_on, done_on;
    int worked, done, ran;
    pthread_mutex_t *gate; /* work waits here while the test holds it (NULL: no wait) */
} job;

static int n_done;

static void work(void *arg)
{
    job *j = arg;
    if (j->gate) {
        pthread_mutex_lock(j->gate);
        pthread_mutex_unlock(j->gate);
    }
    j->worked_on = pthread_self();
    j->worked++;
}

static void done(void *arg, int ran)
{
    job *j = arg;
    j->done_on = pthread_self();
    j->done++;
    j->ran = ran;
    n_done++;
}

/* Run the loop until `want` jobs are done, at most 30 s. */
static void run_until(struct event_base *base, int want)
{
    time_t end = time(NULL) + 30;
    while (n_done < want && time(NULL) < end) {
        struct timeval tv = {0, 10000};
        event_base_loopexit(base, &tv);
        event_base_loop(base, EVLOOP_ONCE);
    }
}

START_TEST(work_off_the_loop_done_on_it)
{
    struct event_base *base = event_base_new();
    cg_workers *w = cg_workers_new(base, 2, 64);
    ck_assert_ptr_nonnull(w);
    job jobs[40];
    memset(jobs, 0, sizeof jobs);
    n_done = 0;
    for (int i = 0; i < 40; i++)
        ck_assert_int_eq(cg_workers_submit(w, work, done, &jobs[i]), 0);
    run_until(base, 40);
    ck_assert_int_eq(n_done, 40);
    ck_assert_uint_eq(cg_workers_pending(w), 0);
    for (int i = 0; i < 40; i++) {
        ck_assert_int_eq(jobs[i].worked, 1);
        ck_assert_int_eq(jobs[i].done, 1);
        ck_assert_int_eq(jobs[i].ran, 1);
        ck_assert(!pthread_equal(jobs[i].worked_on, pthread_self()));
        ck_assert(pthread_equal(jobs[i].done_on, pthread_self()));
    }
    cg_workers_free(w);
    ck_assert_int_eq(n_done, 40); /* nothing handed back twice */
    event_base_free(base);
}
END_TEST

START_TEST(queue_cap_and_free)
{
    struct event_base *base = event_base_new();
    cg_workers *w = cg_workers_new(base, 1, 3);
    ck_assert_ptr_nonnull(w);
    pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&gate); /* the first job blocks the only thread */
    job jobs[4];
    memset(jobs, 0, sizeof jobs);
    for (int i = 0; i < 4; i++)
        jobs[i].gate = &gate;
    n_done = 0;
    ck_assert_int_eq(cg_workers_submit(w, work, done, &jobs[0]), 0);
    ck_assert_int_eq(cg_workers_submit(w, work, done, &jobs[1]), 0);
    ck_assert_int_eq(cg_workers_submit(w, work, done, &jobs[2]), 0);
    ck_assert_int_eq(cg_workers_submit(w, work, done, &jobs[3]), -1); /* full */
    ck_assert_uint_eq(cg_workers_pending(w), 3);
    pthread_mutex_unlock(&gate);
    run_until(base, 1);
    ck_assert_int_ge(n_done, 1);
    /* Free while the rest may be waiting: each is handed back once, run or not. */
    cg_workers_free(w);
    ck_assert_int_eq(n_done, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(jobs[i].done, 1);
        ck_assert_int_eq(jobs[i].worked, jobs[i].ran);
    }
    ck_assert_int_eq(jobs[3].done, 0);
    event_base_free(base);
}
END_TEST

START_TEST(no_pool_runs_inline)
{
    job j;
    memset(&j, 0, sizeof j);
    n_done = 0;
    ck_assert_int_eq(cg_workers_submit(NULL, work, done, &j), 0);
    ck_assert_int_eq(j.worked, 1);
    ck_assert_int_eq(j.done, 1);
    ck_assert_ptr_null(cg_workers_new(NULL, 1, 1));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("workers");
    TCase *tc = tcase_create("pool");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, work_off_the_loop_done_on_it);
    tcase_add_test(tc, queue_cap_and_free);
    tcase_add_test(tc, no_pool_runs_inline);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
