/*
 * workers.h — a small pool of threads for CPU-heavy work that must not run
 * on the event loop (today: argon2id, for logins and password changes, at
 * 0.2 to 0.4 s and 64 MiB each). A job's `work` runs on a pool thread; its
 * `done` then runs on the main thread, from the loop, in completion order.
 *
 * Threads:
 *  - cg_workers_new, cg_workers_submit, cg_workers_free and every `done`:
 *    the main thread (the loop's thread).
 *  - `work`: one of the pool's threads. It may touch only its own `arg`
 *    (never the store or the loop; logging is fine) and must not wait for
 *    the main thread.
 * A finished job is handed back through a pipe whose read end is a
 * persistent event on the loop: the worker writes one byte when the done
 * list goes from empty to non-empty, so a burst costs one wake-up.
 *
 * The queue is bounded (`max_queued`): at the cap cg_workers_submit refuses
 * at once, so a flood of requests costs memory and CPU only up to the cap
 * and the caller can answer 503 cheaply.
 */
#ifndef CG_WORKERS_H
#define CG_WORKERS_H

#include <stddef.h>

struct event_base;
typedef struct cg_workers cg_workers;

/* Runs on a pool thread. */
typedef void (*cg_work_fn)(void *arg);
/* Runs on the main thread after `work` (ran = 1), or at cg_workers_free for
 * a job that never started (ran = 0); it owns arg from then on. */
typedef void (*cg_work_done_fn)(void *arg, int ran);

/* `threads` pool threads (1..64), at most `max_queued` jobs waiting or
 * running (>= threads). NULL on failure (no memory, no thread, no pipe). */
cg_workers *cg_workers_new(struct event_base *base, int threads, size_t max_queued);

/* Queue a job. 0 queued (done will be called exactly once); -1 refused:
 * the queue is full or the pool is stopping (done is NOT called). A NULL
 * pool runs work and done at once, here (tests and tools without a loop). */
int cg_workers_submit(cg_workers *w, cg_work_fn work, cg_work_done_fn done, void *arg);

/* Jobs waiting or running now (0 for NULL). */
size_t cg_workers_pending(const cg_workers *w);

/* Stops the threads after the jobs they are running, then calls done for
 * every job (finished: ran = 1; never started: ran = 0), and frees. NULL
 * is fine. */
void cg_workers_free(cg_workers *w);

#endif
