/*
 * supervisor.c — start, watch and restart child processes (see supervisor.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "host/supervisor.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/timeutil.h"

#define RESTART_BASE_MS 100
#define RESTART_MAX_MS 30000
#define STABLE_AFTER_MS 10000 /* up this long: the next crash restarts quickly again */
#define REAP_TICK_MS 1000
#define FREE_GRACE_MS 3000

struct cg_child {
    struct cg_child *next;
    cg_supervisor *sv;
    char name[64];
    char **argv;
    pid_t pid;
    int64_t started_at;
    int restart_delay_ms;
    unsigned restarts;
    int stopping;
    struct event *restart_ev, *kill_ev;
    cg_child_exit_fn on_exit;
    void *arg;
    char last_exit[96];
};

struct cg_supervisor {
    struct event_base *base;
    struct event *sigchld_ev, *tick_ev;
    cg_child *children;
};

/* ------------------------------------------------------------- fork + exec */

/* Between fork and exec only async-signal-safe calls (the parent has threads). */
static void exec_child(char *const argv[], int devnull)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL); /* SIGPIPE was ignored in the daemon */
    if (devnull >= 0)
        dup2(devnull, 0);
    /* Nothing of the parent's ZeroMQ context, sockets, database or HTTP
     * listener survives into the plugin host. */
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
#endif
        for (int fd = 3; fd < 65536; fd++)
            close(fd);
    execv(argv[0], argv);
    static const char msg[] = "citygridd supervisor: exec of the plugin host failed\n";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
    _exit(127);
}

static int start_child(cg_child *c)
{
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pid_t pid = fork();
    if (pid == 0)
        exec_child(c->argv, devnull);
    int e = errno;
    if (devnull >= 0)
        close(devnull);
    if (pid < 0) {
        errno = e;
        return -1;
    }
    c->pid = pid;
    c->started_at = cg_monotonic_ms();
    CG_INFO("supervisor", "%s: started %s as pid %ld", c->name, c->argv[0], (long)pid);
    return 0;
}

/* ------------------------------------------------------------- children */

static void child_free(cg_child *c)
{
    cg_supervisor *sv = c->sv;
    for (cg_child **pp = &sv->children; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    if (c->restart_ev)
        event_free(c->restart_ev);
    if (c->kill_ev)
        event_free(c->kill_ev);
    for (char **a = c->argv; a && *a; a++)
        free(*a);
    free(c->argv);
    free(c);
}

static void on_restart(evutil_socket_t fd, short what, void *arg)
{
    cg_child *c = arg;
    if (c->stopping || c->pid > 0)
        return;
    c->restarts++;
    if (start_child(c) < 0) {
        CG_ERROR("supervisor", "%s: cannot fork: %s; trying again", c->name, strerror(errno));
        struct timeval tv = {.tv_sec = 1};
        evtimer_add(c->restart_ev, &tv);
    }
}

static void describe_status(int st, char *out, size_t len)
{
    if (WIFEXITED(st))
        snprintf(out, len, "exited with status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(out, len, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else
        snprintf(out, len, "ended (wait status %d)", st);
}

/* The child exited: tell the owner, then restart it later (or forget it). */
static void child_exited(cg_child *c, int st)
{
    pid_t pid = c->pid;
    c->pid = 0;
    describe_status(st, c->last_exit, sizeof c->last_exit);
    if (c->kill_ev)
        event_del(c->kill_ev);
    if (c->stopping) {
        CG_INFO("supervisor", "%s: pid %ld stopped (%s)", c->name, (long)pid, c->last_exit);
        if (c->on_exit)
            c->on_exit(c->arg, c, pid, c->last_exit);
        child_free(c);
        return;
    }
    int64_t ran = cg_monotonic_ms() - c->started_at;
    if (ran >= STABLE_AFTER_MS)
        c->restart_delay_ms = RESTART_BASE_MS;
    CG_WARN("supervisor", "%s: pid %ld %s after %lld ms; restarting in %d ms", c->name,
            (long)pid, c->last_exit, (long long)ran, c->restart_delay_ms);
    if (c->on_exit)
        c->on_exit(c->arg, c, pid, c->last_exit);
    struct timeval tv = {.tv_sec = c->restart_delay_ms / 1000,
                         .tv_usec = (c->restart_delay_ms % 1000) * 1000};
    evtimer_add(c->restart_ev, &tv);
    c->restart_delay_ms = c->restart_delay_ms * 2 > RESTART_MAX_MS ? RESTART_MAX_MS
                                                                   : c->restart_delay_ms * 2;
}

static void reap(cg_supervisor *sv)
{
    for (cg_child *c = sv->children, *next; c; c = next) {
        next = c->next; /* child_exited may free c */
        if (c->pid <= 0)
            continue;
        int st = 0;
        pid_t r = waitpid(c->pid, &st, WNOHANG);
        if (r == c->pid)
            child_exited(c, st);
        else if (r < 0 && errno == ECHILD) /* reaped elsewhere: treat as gone */
            child_exited(c, 0);
    }
}

static void on_sigchld(evutil_socket_t sig, short what, void *arg) { reap(arg); }
static void on_tick(evutil_socket_t fd, short what, void *arg) { reap(arg); }

static void on_kill_deadline(evutil_socket_t fd, short what, void *arg)
{
    cg_child *c = arg;
    if (c->pid > 0) {
        CG_WARN("supervisor", "%s: pid %ld did not stop in time: SIGKILL", c->name, (long)c->pid);
        kill(c->pid, SIGKILL);
    }
}

/* ------------------------------------------------------------- public API */

cg_supervisor *cg_supervisor_new(struct event_base *base, char *err, size_t errlen)
{
    cg_supervisor *sv = calloc(1, sizeof *sv);
    if (!sv) {
        snprintf(err, errlen, "supervisor: out of memory");
        return NULL;
    }
    sv->base = base;
    sv->sigchld_ev = evsignal_new(base, SIGCHLD, on_sigchld, sv);
    sv->tick_ev = event_new(base, -1, EV_PERSIST, on_tick, sv);
    struct timeval tv = {.tv_sec = REAP_TICK_MS / 1000, .tv_usec = (REAP_TICK_MS % 1000) * 1000};
    if (!sv->sigchld_ev || !sv->tick_ev || evsignal_add(sv->sigchld_ev, NULL) != 0 ||
        event_add(sv->tick_ev, &tv) != 0) {
        snprintf(err, errlen, "supervisor: cannot watch SIGCHLD");
        cg_supervisor_free(sv);
        return NULL;
    }
    return sv;
}

void cg_supervisor_free(cg_supervisor *sv)
{
    if (!sv)
        return;
    for (cg_child *c = sv->children; c; c = c->next) {
        c->stopping = 1;
        if (c->pid > 0)
            kill(c->pid, SIGTERM);
    }
    int64_t deadline = cg_monotonic_ms() + FREE_GRACE_MS;
    while (sv->children) {
        cg_child *c = sv->children;
        if (c->pid <= 0) {
            c->on_exit = NULL;
            child_free(c);
            continue;
        }
        int st = 0;
        pid_t r = waitpid(c->pid, &st, WNOHANG);
        if (r == c->pid || (r < 0 && errno == ECHILD)) {
            c->on_exit = NULL; /* the owner is shutting down too */
            child_exited(c, st);
            continue;
        }
        if (cg_monotonic_ms() >= deadline) {
            CG_WARN("supervisor", "%s: pid %ld still running at shutdown: SIGKILL", c->name,
                    (long)c->pid);
            kill(c->pid, SIGKILL);
            waitpid(c->pid, &st, 0);
            c->on_exit = NULL;
            child_exited(c, st);
            continue;
        }
        usleep(20 * 1000);
    }
    if (sv->sigchld_ev)
        event_free(sv->sigchld_ev);
    if (sv->tick_ev)
        event_free(sv->tick_ev);
    free(sv);
}

cg_child *cg_supervisor_spawn(cg_supervisor *sv, const char *name, char *const argv[],
                              cg_child_exit_fn on_exit, void *arg, char *err, size_t errlen)
{
    size_t n = 0;
    while (argv[n])
        n++;
    cg_child *c = calloc(1, sizeof *c);
    char **copy = calloc(n + 1, sizeof *copy);
    if (!c || !copy) {
        free(c);
        free(copy);
        snprintf(err, errlen, "supervisor: out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        copy[i] = strdup(argv[i]);
    c->argv = copy;
    c->sv = sv;
    snprintf(c->name, sizeof c->name, "%s", name);
    c->restart_delay_ms = RESTART_BASE_MS;
    c->on_exit = on_exit;
    c->arg = arg;
    c->restart_ev = evtimer_new(sv->base, on_restart, c);
    c->kill_ev = evtimer_new(sv->base, on_kill_deadline, c);
    c->next = sv->children;
    sv->children = c;
    if (!c->restart_ev || !c->kill_ev || start_child(c) < 0) {
        snprintf(err, errlen, "%s: cannot start %s: %s", name, argv[0], strerror(errno));
        child_free(c);
        return NULL;
    }
    return c;
}

void cg_child_stop(cg_child *c, int grace_ms)
{
    if (!c)
        return;
    c->stopping = 1;
    event_del(c->restart_ev);
    if (c->pid <= 0) {
        child_free(c);
        return;
    }
    kill(c->pid, SIGTERM);
    struct timeval tv = {.tv_sec = grace_ms / 1000, .tv_usec = (grace_ms % 1000) * 1000};
    evtimer_add(c->kill_ev, &tv);
}

void cg_child_kill(cg_child *c, const char *why)
{
    if (!c || c->stopping || c->pid <= 0)
        return;
    /* pid is not reaped yet (we reap), so it cannot name another process. */
    CG_WARN("supervisor", "%s: pid %ld %s: SIGKILL", c->name, (long)c->pid, why);
    kill(c->pid, SIGKILL);
}

pid_t cg_child_pid(const cg_child *c) { return c ? c->pid : 0; }
unsigned cg_child_restarts(const cg_child *c) { return c ? c->restarts : 0; }
const char *cg_child_last_exit(const cg_child *c) { return c ? c->last_exit : ""; }
