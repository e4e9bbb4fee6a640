/*
 * daemon.h — run the real citygridd for an integration test.
 *
 * td_start() makes a temporary state directory, writes a libconfig file into
 * it (the department plugins the build made, plus what the test adds), picks
 * a free port, starts $CG_BUILDDIR/core/citygridd with stderr and stdout in
 * DIR/daemon.log, waits until GET /v1/health answers 200 and reads
 * DIR/admin.token.
 *
 * No process is ever left behind: the daemon is started with
 * PR_SET_PDEATHSIG = SIGKILL, so it dies with the test process even when a
 * failed Check assertion _exit()s the test before its teardown runs; and
 * td_cleanup() (call it from the teardown) kills what is still running.
 * On a failure (td_on_failure, called by the tests' assertion macros) the
 * log of every running daemon is printed, the daemons are killed, and their
 * state directories are kept for a look.
 *
 * Every wait is bounded. One test process, one thread: not thread-safe.
 */
#ifndef CG_TEST_DAEMON_H
#define CG_TEST_DAEMON_H

#include <sys/types.h>

/* The department plugins a default config loads, in this order. */
#define TD_N_DEPARTMENT_PLUGINS 6
extern const char *const td_department_plugins[TD_N_DEPARTMENT_PLUGINS];

struct td_daemon;

typedef struct td_options {
    /* Department plugins to write with `enabled = false;` (comma-separated
     * names, e.g. "enforcement"), or NULL. */
    const char *disabled;
    /* Department plugins to leave out of the config entirely, or NULL. */
    const char *omitted;
    /* More plugin groups, libconfig text appended to the `plugins` list
     * (without a leading comma), e.g. "{ name = \"echo\"; path = ...; }". */
    const char *extra_plugins;
    /* libconfig text appended at the top level, e.g. a `routes` list. */
    const char *extra_config;
    /* Health wait; <= 0: 15000 ms. */
    int start_timeout_ms;
    /* libconfig settings appended inside the `bus = { ... }` group, e.g.
     * "max_attempts = 3;", or NULL. */
    const char *extra_bus;
    /* bus.heartbeat_ms (it is written already: not in extra_bus); <= 0: 1000. */
    int heartbeat_ms;
    /* Whether the daemon serves yet, asked until it says 1 (e.g. over TLS);
     * NULL: GET /v1/health in plain HTTP answers 200. Kept for td_restart. */
    int (*ready)(const struct td_daemon *d);
} td_options;

typedef struct td_daemon {
    char *dir;           /* the state dir (temporary, removed by td_cleanup) */
    char *config_path;   /* DIR/citygrid.cfg */
    char *log_path;      /* DIR/daemon.log (appended across restarts) */
    int port;
    pid_t pid;           /* 0 when not running */
    char *token;         /* contents of DIR/admin.token, trimmed; NULL if none */
    int failed;          /* keep dir on cleanup */
    int registered;
    int (*ready)(const struct td_daemon *d); /* td_options.ready */
} td_daemon;

/* Start a daemon. 0 ok; -1 on failure, after printing why and the log to
 * stderr (the daemon is then not running). opt may be NULL. */
int td_start(td_daemon *d, const td_options *opt);

/* Write d->config_path again with new options (same port and state dir),
 * e.g. to enable a plugin before td_restart. */
int td_rewrite_config(td_daemon *d, const td_options *opt);

/* SIGTERM, wait up to 10 s, then SIGKILL. Returns the exit status (0: clean
 * exit), or -1 if it was killed by a signal or had to be SIGKILLed. */
int td_stop(td_daemon *d);

/* kill -9 and reap. */
void td_kill9(td_daemon *d);

/* Start again on the same state dir, config and port (after td_stop or
 * td_kill9). 0 ok, -1 as td_start. */
int td_restart(td_daemon *d);

/* Still running? (reaps it if it exited; *status gets its wait status). */
int td_running(td_daemon *d, int *status);

/* Stop (kill) if running, remove the state dir unless d->failed, free. */
void td_cleanup(td_daemon *d);

/* The whole log (malloc'd, "" if none). */
char *td_log(const td_daemon *d);

/* Print the tail of every live daemon's log, kill them, keep their dirs.
 * Call before failing a test. */
void td_on_failure(void);

/* A free TCP port on 127.0.0.1 (bound then released). */
int td_free_port(void);

/* Path of citygridd: $CG_BUILDDIR/core/citygridd. malloc'd. */
char *td_daemon_path(void);

/* Run citygridd once with these arguments (argv[0] is filled in; the list is
 * NULL-terminated, without the program) and wait up to timeout_ms for it to
 * exit. Returns 1 if it exited (*wstatus set), 0 if it was still running at
 * the deadline (then it is killed). *output gets its stderr+stdout
 * (malloc'd). */
/* Every wait in the integration tests is a wait FOR something, bounded only
 * to catch a hang: the CLOCK_MONOTONIC ms to give up at is now + the nominal
 * timeout times tu_patience() (support/testutil.h). */
long long td_deadline(int timeout_ms);

int td_run_once(const char *const *args, int timeout_ms, int *wstatus, char **output);

/* GET /v1/health until every named plugin (comma-separated) reports state
 * "ready", up to timeout_ms. Returns 0 when all are ready; -1 otherwise,
 * with the last body in *last_body (malloc'd, may be NULL). */
int td_wait_plugins_ready(const td_daemon *d, const char *names, int timeout_ms,
                          char **last_body);

#endif
