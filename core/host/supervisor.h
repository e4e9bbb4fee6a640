/*
 * supervisor.h — keeps child processes (citygrid-plugind, one per
 * process-mode plugin) running: starts them, notices an exit or a kill
 * within moments (SIGCHLD through a libevent signal event, then waitpid on
 * each child; a 1 s timer reaps too, in case a signal was merged), and
 * starts them again after a backoff that doubles from 100 ms to 30 s (back
 * to 100 ms once a child stayed up 10 s).
 *
 * A child closes every inherited descriptor but 0-2 and execs at once: it
 * never touches the parent's ZeroMQ context or event loop (neither is
 * fork-safe). It gets PR_SET_PDEATHSIG = SIGTERM, so it does not outlive
 * citygridd. stdout/stderr stay the daemon's (one log).
 *
 * Owns the SIGCHLD disposition of its event base. Main thread only.
 */
#ifndef CG_SUPERVISOR_H
#define CG_SUPERVISOR_H

#include <stddef.h>
#include <sys/types.h>

struct event_base;
typedef struct cg_supervisor cg_supervisor;
typedef struct cg_child cg_child;

/* Called after a child exited and was reaped (before any restart is
 * planned). `how`: "exited with status 1", "killed by signal 9 (Killed)". */
typedef void (*cg_child_exit_fn)(void *arg, cg_child *child, pid_t pid, const char *how);

cg_supervisor *cg_supervisor_new(struct event_base *base, char *err, size_t errlen);
/* SIGTERM to every child, wait up to 3 s, SIGKILL what is left, reap, free. */
void cg_supervisor_free(cg_supervisor *sv);

/* Start argv[0] (a path) with argv (NULL-terminated; copied) and keep it
 * running. `name` is for log lines. NULL with err if the first fork fails. */
cg_child *cg_supervisor_spawn(cg_supervisor *sv, const char *name, char *const argv[],
                              cg_child_exit_fn on_exit, void *arg, char *err, size_t errlen);
/* No more restarts: SIGTERM now, SIGKILL after grace_ms; the handle is freed
 * by the supervisor once the child is reaped (do not use it after this). */
void cg_child_stop(cg_child *c, int grace_ms);
/* The child is alive but useless (e.g. hung): SIGKILL it now, logging why;
 * it is then reaped and restarted with backoff like any crash. No effect
 * while it is waiting to restart or being stopped. */
void cg_child_kill(cg_child *c, const char *why);

pid_t cg_child_pid(const cg_child *c);          /* 0 while waiting to restart */
unsigned cg_child_restarts(const cg_child *c);  /* restarts so far */
const char *cg_child_last_exit(const cg_child *c); /* "" if it never exited */

#endif
