/* daemon.c — see daemon.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http_client.h"
#include "support/testutil.h"

const char *const td_department_plugins[TD_N_DEPARTMENT_PLUGINS] = {
    "enforcement", "municipal", "sanitation", "market", "police", "volunteer"};

#define TD_STOP_TIMEOUT_MS 10000
#define TD_DEFAULT_START_TIMEOUT_MS 15000
#define TD_POLL_MS 50
#define TD_LOG_TAIL_LINES 80

/* Daemons started by this process, for td_on_failure(). */
#define TD_MAX_LIVE 8
static td_daemon *live[TD_MAX_LIVE];

static void register_daemon(td_daemon *d)
{
    if (d->registered)
        return;
    for (int i = 0; i < TD_MAX_LIVE; i++)
        if (!live[i]) {
            live[i] = d;
            d->registered = 1;
            return;
        }
}

static void unregister_daemon(td_daemon *d)
{
    for (int i = 0; i < TD_MAX_LIVE; i++)
        if (live[i] == d)
            live[i] = NULL;
    d->registered = 0;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int td_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

char *td_daemon_path(void)
{
    return tu_build_path("core/citygridd");
}

/* Is `name` in the comma-separated `list`? */
static int in_list(const char *list, const char *name)
{
    if (!list)
        return 0;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        while (len && *p == ' ')
            p++, len--;
        while (len && p[len - 1] == ' ')
            len--;
        if (len == n && strncmp(p, name, n) == 0)
            return 1;
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

static char *config_text(const td_daemon *d, const td_options *opt)
{
    td_options none = {0};
    if (!opt)
        opt = &none;
    char *plugins = strdup("");
    for (int i = 0; i < TD_N_DEPARTMENT_PLUGINS; i++) {
        const char *name = td_department_plugins[i];
        if (in_list(opt->omitted, name))
            continue;
        char *subdir = tu_sprintf("plugins/%s", name);
        char *path = tu_plugin_path(subdir, name);
        free(subdir);
        char *next = tu_sprintf("%s%s  { name = \"%s\"; path = \"%s\"; enabled = %s; "
                                "mode = \"thread\"; required = false; settings = { }; }",
                                plugins, *plugins ? ",\n" : "", name, path,
                                in_list(opt->disabled, name) ? "false" : "true");
        free(path);
        free(plugins);
        plugins = next;
    }
    if (opt->extra_plugins && *opt->extra_plugins) {
        char *next = tu_sprintf("%s%s  %s", plugins, *plugins ? ",\n" : "", opt->extra_plugins);
        free(plugins);
        plugins = next;
    }
    /* The daemon under test starts with the real Lishui grids and roster. */
    char *dataset = tu_src_path("contrib/lishui");
    char *text = tu_sprintf(
        "# written by tests/integration/daemon.c\n"
        "listen = \"127.0.0.1:%d\";\n"
        "state_dir = \"%s\";\n"
        "dataset_dir = \"%s\";\n"
        "log_level = \"info\";\n"
        "bus = { heartbeat_ms = %d; lease_ms = 10000; retry_base_ms = 500; "
        "retry_max_ms = 30000; %s};\n"
        "plugins = (\n%s\n);\n"
        "%s\n",
        d->port, d->dir, dataset, opt->heartbeat_ms > 0 ? opt->heartbeat_ms : 1000,
        opt->extra_bus ? opt->extra_bus : "", plugins,
        opt->extra_config ? opt->extra_config : "");
    free(plugins);
    free(dataset);
    return text;
}

int td_rewrite_config(td_daemon *d, const td_options *opt)
{
    char *text = config_text(d, opt);
    int rc = tu_write_file(d->config_path, text);
    free(text);
    return rc;
}

/* Child side of fork: never returns. */
static void exec_daemon(const char *bin, char *const argv[], const char *log_path, pid_t parent)
{
    /* Die with the test process, even if it dies without a teardown. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    int in = open("/dev/null", O_RDONLY);
    int out = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || out < 0)
        _exit(127);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
    /* Check's runner may have changed dispositions and masks: reset them. */
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGALRM, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    execv(bin, argv);
    dprintf(2, "exec %s: %s\n", bin, strerror(errno));
    _exit(127);
}

static pid_t spawn(const char *bin, char *const argv[], const char *log_path)
{
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        exec_daemon(bin, argv, log_path, parent);
    return pid;
}

int td_running(td_daemon *d, int *status)
{
    if (d->pid <= 0)
        return 0;
    int st = 0;
    pid_t r = waitpid(d->pid, &st, WNOHANG);
    if (r == 0)
        return 1;
    if (status)
        *status = st;
    d->pid = 0;
    return 0;
}

char *td_log(const td_daemon *d)
{
    char *text = d->log_path ? tu_read_file(d->log_path) : NULL;
    return text ? text : strdup("");
}

static void print_log_tail(const td_daemon *d, const char *why)
{
    char *text = td_log(d);
    const char *start = text + strlen(text);
    int lines = 0;
    while (start > text && lines <= TD_LOG_TAIL_LINES)
        if (*--start == '\n')
            lines++;
    if (*start == '\n')
        start++;
    fprintf(stderr, "---- %s: citygridd on port %d, state dir %s, log %s (tail) ----\n%s"
                    "---- end of log ----\n",
            why, d->port, d->dir ? d->dir : "?", d->log_path ? d->log_path : "?", start);
    free(text);
}

static char *read_token(const char *dir)
{
    char *path = tu_sprintf("%s/admin.token", dir);
    char *text = tu_read_file(path);
    free(path);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
        text[--n] = 0;
    return text;
}

long long td_deadline(int timeout_ms)
{
    return mono_ms() + (long long)timeout_ms * tu_patience();
}

/* Wait until /v1/health answers 200. 1 ready; 0 the process exited; -1 timed out. */
static int wait_healthy(td_daemon *d, int timeout_ms)
{
    long long deadline = td_deadline(timeout_ms);
    while (mono_ms() < deadline) {
        int st = 0;
        if (!td_running(d, &st)) {
            if (WIFEXITED(st))
                fprintf(stderr, "citygridd exited with status %d before it was healthy\n",
                        WEXITSTATUS(st));
            else if (WIFSIGNALED(st))
                fprintf(stderr, "citygridd died of signal %d before it was healthy\n",
                        WTERMSIG(st));
            return 0;
        }
        if (d->ready) {
            if (d->ready(d))
                return 1;
            sleep_ms(TD_POLL_MS);
            continue;
        }
        hc_response r;
        hc_request req = {.method = "GET", .path = "/v1/health", .timeout_ms = 1000};
        hc_send(d->port, &req, &r);
        int status = r.status;
        hc_response_free(&r);
        if (status == 200)
            return 1;
        sleep_ms(TD_POLL_MS);
    }
    return -1;
}

/* Launch on d->port and wait for health. 1 up; 0 exited (maybe a port
 * clash: *port_clash); -1 failed otherwise. */
static int launch(td_daemon *d, int timeout_ms, int *port_clash)
{
    char *bin = td_daemon_path();
    char *listen = tu_sprintf("127.0.0.1:%d", d->port);
    char *argv[] = {bin, "--config", d->config_path, "--listen", listen,
                    "--state-dir", d->dir, NULL};
    *port_clash = 0;
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "td_start: %s is not an executable (set CG_BUILDDIR?)\n", bin);
        free(bin);
        free(listen);
        return -1;
    }
    d->pid = spawn(bin, argv, d->log_path);
    free(bin);
    free(listen);
    if (d->pid < 0) {
        d->pid = 0;
        fprintf(stderr, "td_start: fork: %s\n", strerror(errno));
        return -1;
    }
    register_daemon(d);
    int up = wait_healthy(d, timeout_ms);
    if (up == 1)
        return 1;
    if (up == 0) {
        char *log = td_log(d);
        *port_clash = strcasestr(log, "address already in use") != NULL ||
                      strcasestr(log, "cannot bind") != NULL ||
                      strcasestr(log, "could not bind") != NULL;
        free(log);
        return 0;
    }
    fprintf(stderr, "td_start: no 200 from GET /v1/health within %d ms\n", timeout_ms);
    td_kill9(d);
    return -1;
}

static int start_on(td_daemon *d, const td_options *opt, int keep_port)
{
    int timeout = opt && opt->start_timeout_ms > 0 ? opt->start_timeout_ms
                                                    : TD_DEFAULT_START_TIMEOUT_MS;
    if (opt)
        d->ready = opt->ready;
    for (int attempt = 0; attempt < 5; attempt++) {
        if (!keep_port) {
            d->port = td_free_port();
            if (td_rewrite_config(d, opt) < 0) {
                fprintf(stderr, "td_start: cannot write %s\n", d->config_path);
                return -1;
            }
        }
        int clash = 0;
        int up = launch(d, timeout, &clash);
        if (up == 1) {
            free(d->token);
            d->token = read_token(d->dir);
            if (!d->token) {
                fprintf(stderr, "td_start: no %s/admin.token after start\n", d->dir);
                print_log_tail(d, "no admin.token");
            }
            return 0;
        }
        if (up == 0 && clash) {
            /* Someone took the port between our probe and the daemon's bind
             * (or, on restart, the old socket lingers): try again. */
            sleep_ms(keep_port ? 200 : 10);
            continue;
        }
        break;
    }
    print_log_tail(d, "citygridd did not come up");
    /* Printed once here; keep the dir, and td_on_failure need not repeat it. */
    d->failed = 1;
    unregister_daemon(d);
    return -1;
}

int td_start(td_daemon *d, const td_options *opt)
{
    memset(d, 0, sizeof *d);
    d->dir = tu_tempdir("itest");
    d->config_path = tu_sprintf("%s/citygrid.cfg", d->dir);
    d->log_path = tu_sprintf("%s/daemon.log", d->dir);
    return start_on(d, opt, 0);
}

int td_restart(td_daemon *d)
{
    if (td_running(d, NULL)) {
        fprintf(stderr, "td_restart: the daemon is still running\n");
        return -1;
    }
    FILE *f = fopen(d->log_path, "a");
    if (f) {
        fputs("---- tests/integration: restarting citygridd ----\n", f);
        fclose(f);
    }
    return start_on(d, NULL, 1);
}

int td_stop(td_daemon *d)
{
    if (d->pid <= 0)
        return -1;
    pid_t pid = d->pid;
    kill(pid, SIGTERM);
    long long deadline = mono_ms() + TD_STOP_TIMEOUT_MS;
    int st = 0;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            break;
        if (mono_ms() >= deadline) {
            fprintf(stderr, "td_stop: citygridd (pid %d) did not exit within %d ms of "
                            "SIGTERM; killing it\n", (int)pid, TD_STOP_TIMEOUT_MS);
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            d->pid = 0;
            return -1;
        }
        sleep_ms(20);
    }
    d->pid = 0;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return -1;
}

void td_kill9(td_daemon *d)
{
    if (d->pid <= 0)
        return;
    kill(d->pid, SIGKILL);
    while (waitpid(d->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    d->pid = 0;
}

void td_cleanup(td_daemon *d)
{
    if (!d)
        return;
    td_kill9(d);
    unregister_daemon(d);
    if (d->dir && !d->failed)
        tu_rmrf(d->dir);
    else if (d->dir)
        fprintf(stderr, "kept state dir %s for inspection\n", d->dir);
    free(d->dir);
    free(d->config_path);
    free(d->log_path);
    free(d->token);
    memset(d, 0, sizeof *d);
}

void td_on_failure(void)
{
    for (int i = 0; i < TD_MAX_LIVE; i++) {
        td_daemon *d = live[i];
        if (!d)
            continue;
        print_log_tail(d, "test failed");
        td_kill9(d);
        d->failed = 1;
        fprintf(stderr, "state dir kept: %s\n", d->dir);
    }
}

int td_run_once(const char *const *args, int timeout_ms, int *wstatus, char **output)
{
    char *dir = tu_tempdir("itest-run");
    char *out_path = tu_sprintf("%s/output.log", dir);
    char *bin = td_daemon_path();
    size_t n = 0;
    while (args && args[n])
        n++;
    char **argv = calloc(n + 2, sizeof *argv);
    argv[0] = bin;
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];

    int exited = 0;
    pid_t pid = spawn(bin, argv, out_path);
    if (pid > 0) {
        long long deadline = td_deadline(timeout_ms);
        for (;;) {
            pid_t r = waitpid(pid, wstatus, WNOHANG);
            if (r == pid) {
                exited = 1;
                break;
            }
            if (r < 0 && errno != EINTR)
                break;
            if (mono_ms() >= deadline) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                break;
            }
            sleep_ms(20);
        }
    }
    if (output) {
        *output = tu_read_file(out_path);
        if (!*output)
            *output = strdup("");
    }
    free(argv);
    free(bin);
    free(out_path);
    tu_rmrf(dir);
    free(dir);
    return exited;
}

int td_wait_plugins_ready(const td_daemon *d, const char *names, int timeout_ms,
                          char **last_body)
{
    long long deadline = td_deadline(timeout_ms);
    if (last_body)
        *last_body = NULL;
    for (;;) {
        hc_response r;
        hc_get(d->port, "/v1/health", NULL, &r);
        int all_ready = r.status == 200;
        json_t *root = all_ready ? json_loads(r.body, 0, NULL) : NULL;
        json_t *plugins = json_object_get(root, "plugins");
        if (!json_is_array(plugins))
            all_ready = 0;
        for (const char *p = names; all_ready && p && *p;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            int ready = 0;
            size_t i;
            json_t *pl;
            json_array_foreach(plugins, i, pl) {
                const char *name = json_string_value(json_object_get(pl, "name"));
                const char *state = json_string_value(json_object_get(pl, "state"));
                if (name && strlen(name) == len && strncmp(name, p, len) == 0 && state &&
                    strcmp(state, "ready") == 0)
                    ready = 1;
            }
            all_ready = ready;
            p = comma ? comma + 1 : p + len;
        }
        json_decref(root);
        if (all_ready || mono_ms() >= deadline) {
            if (last_body) {
                free(*last_body);
                *last_body = strdup(r.body);
            }
            hc_response_free(&r);
            return all_ready ? 0 : -1;
        }
        hc_response_free(&r);
        sleep_ms(TD_POLL_MS);
    }
}
