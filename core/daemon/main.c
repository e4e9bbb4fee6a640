/*
 * main.c — citygridd: read the config, open the store, start the bus and the
 * plugins, serve HTTP, and shut all of it down in order on SIGTERM/SIGINT.
 *
 *   citygridd --config FILE [--listen ADDR:PORT] [--state-dir DIR] [--log-level L]
 *   citygridd --check-config --config FILE     validate, do not start
 *   citygridd --config-schema=scdoc            the key reference of citygrid.cfg(5)
 *   citygridd --help | --version
 *
 * Flags override the file. SIGHUP re-reads the file and applies what can
 * change live (log_level, the TLS certificate and key), logging what
 * changed and what needs a restart.
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "host/app.h"
#include "daemon/service.h"
#include "people/auth.h"
#include "store/batch.h"
#include "host/deadlines.h"
#include "wire/bus.h"
#include "people/catalog.h"
#include "host/welcome.h"
#include "case/citybody.h"
#include "conf/config.h"
#include "people/dataset.h"
#include "lib/curvekeys.h"
#include "host/deadletter.h"
#include "host/flow.h"
#include "http/http.h"
#include "lib/log.h"
#include "host/plugins.h"
#include "store/store.h"
#include "case/subscribe.h"
#include "host/supervisor.h"
#include "sources/policy.h"
#include "sources/query.h"
#include "lib/timeutil.h"
#include "wire/zap.h"

#ifndef CITYGRID_VERSION
#define CITYGRID_VERSION "0.0.0"
#endif

/* How long a shutdown waits for plugins to answer what they hold. */
#define DRAIN_LIMIT_MS 3000

typedef struct cli_options {
    const char *config_path;
    int check_only;          /* --check-config: validate and exit */
    const char *listen;
    const char *state_dir;
    const char *log_level;
} cli_options;

static void usage(FILE *to)
{
    fprintf(to,
            "usage: citygridd --config FILE [--listen ADDR:PORT] [--state-dir DIR] [--log-level LEVEL]\n"
            "       citygridd --check-config --config FILE\n"
            "       citygridd --config-schema=scdoc\n"
            "       citygridd --help | --version\n"
            "\n"
            "The urban-management grid server: HTTP API, case store, plugin bus.\n"
            "\n"
            "  --config FILE        libconfig file (citygrid.cfg(5), see etc/citygrid.cfg)\n"
            "  --listen ADDR:PORT   HTTP address, overrides `listen`\n"
            "  --state-dir DIR      database and admin token, overrides `state_dir`\n"
            "  --log-level LEVEL    error, warning, notice, info or debug\n"
            "  --check-config       validate the config, its plugins.d files, key files and\n"
            "                       routes without starting: prints \"FILE: ok\" and exits 0,\n"
            "                       or prints FILE:LINE: what is wrong and exits 1\n"
            "  --config-schema=scdoc  print every config key (type, range, default, meaning)\n"
            "                       as scdoc text: the key reference of citygrid.cfg(5)\n"
            "  --help               print this help\n"
            "  --version            print the version\n");
}

static int parse_cli(int argc, char **argv, cli_options *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},   {"listen", required_argument, NULL, 'l'},
        {"state-dir", required_argument, NULL, 's'}, {"log-level", required_argument, NULL, 'L'},
        {"version", no_argument, NULL, 'V'},         {"help", no_argument, NULL, 'h'},
        {"check-config", no_argument, NULL, 'C'},
        {"config-schema", required_argument, NULL, 'S'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "c:l:s:L:VhC", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config_path = optarg; break;
        case 'l': o->listen = optarg; break;
        case 's': o->state_dir = optarg; break;
        case 'L': o->log_level = optarg; break;
        case 'C': o->check_only = 1; break;
        case 'S':
            if (cg_config_print_schema(optarg, stdout) < 0) {
                fprintf(stderr, "citygridd: --config-schema=%s: the only format is scdoc\n", optarg);
                exit(2);
            }
            exit(fflush(stdout) == 0 ? 0 : 1);
        case 'V': printf("citygridd %s\n", CITYGRID_VERSION); exit(0);
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "citygridd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    if (!o->config_path) {
        fprintf(stderr, "citygridd: --config FILE is required\n");
        usage(stderr);
        return -1;
    }
    return 0;
}

/* Command-line flags win over the file. */
static int apply_overrides(const cli_options *o, cg_config *cfg)
{
    if (o->listen) {
        char *host;
        int port;
        if (cg_config_parse_listen(o->listen, &host, &port) < 0) {
            fprintf(stderr, "citygridd: --listen '%s' is not HOST:PORT\n", o->listen);
            return -1;
        }
        free(cfg->listen_host);
        cfg->listen_host = host;
        cfg->listen_port = port;
    }
    if (o->state_dir) {
        free(cfg->state_dir);
        cfg->state_dir = strdup(o->state_dir);
    }
    if (o->log_level) {
        int level = cg_log_level_parse(o->log_level);
        if (level < 0) {
            fprintf(stderr, "citygridd: --log-level '%s' is not one of error, warning, notice, "
                            "info, debug\n", o->log_level);
            return -1;
        }
        cfg->log_level = level;
    }
    return 0;
}

static int make_state_dir(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

/* ---------------------------------------------------------------- signals */

typedef struct daemon_state {
    cg_app app;
    cli_options cli;
    char *plugind_path;      /* with process-mode plugins */
    char *ipc_endpoint;      /* with process-mode plugins */
    struct event *sigterm, *sigint, *sighup, *drain_timer;
    cg_service *service;     /* systemd's READY/STATUS/STOPPING/WATCHDOG */
    int64_t drain_deadline;
    int stopping;
} daemon_state;

static size_t deliveries_in_flight(const cg_bus *bus)
{
    cg_bus_peer_stats peers[64];
    size_t n = cg_bus_stats(bus, peers, 64), total = 0;
    for (size_t i = 0; i < n && i < 64; i++)
        total += peers[i].in_flight;
    return total;
}

/* Let plugins finish what they hold (their results get committed and
 * acknowledged) before the loop stops; anything left stays in the outbox. */
static void drain_tick(evutil_socket_t fd, short what, void *arg)
{
    daemon_state *ds = arg;
    size_t left = deliveries_in_flight(ds->app.bus) + cg_http_pending(ds->app.http);
    if (left == 0 || cg_monotonic_ms() >= ds->drain_deadline) {
        if (left)
            CG_NOTICE("core", "%zu delivery(ies) or answer(s) still pending: dispatches stay in "
                      "the outbox for the next start", left);
        /* A short grace so that answers already queued get written; the cache
         * update makes the 100 ms count from now, not from before the flush. */
        event_base_update_cache_time(ds->app.base);
        event_base_loopexit(ds->app.base, &(struct timeval){0, 100 * 1000});
        return;
    }
    struct timeval tv = {0, 50 * 1000};
    evtimer_add(ds->drain_timer, &tv);
}

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
    daemon_state *ds = arg;
    if (ds->stopping++) {
        CG_WARN("core", "second signal: stopping now");
        event_base_loopbreak(ds->app.base);
        return;
    }
    CG_NOTICE("core", "%s: shutting down (no new requests, draining answers and the bus)",
              strsignal((int)sig));
    cg_service_stopping(ds->service);
    cg_batch_flush(ds->app.batch); /* answer requests already taken in */
    cg_http_drain(ds->app.http);
    ds->drain_deadline = cg_monotonic_ms() + DRAIN_LIMIT_MS;
    ds->drain_timer = evtimer_new(ds->app.base, drain_tick, ds);
    drain_tick(-1, 0, ds);
}

static void on_sighup(evutil_socket_t sig, short what, void *arg)
{
    daemon_state *ds = arg;
    cg_config fresh;
    char err[1024];
    if (cg_config_load(ds->app.config->path, &fresh, err, sizeof err) < 0) {
        CG_ERROR("core", "SIGHUP: config not reloaded: %s", err);
        return;
    }
    /* The command line still wins over the file. */
    if (ds->cli.log_level)
        fresh.log_level = ds->app.config->log_level;
    if (fresh.log_level != ds->app.config->log_level) {
        CG_NOTICE("core", "SIGHUP: log_level %s -> %s", cg_log_level_name(ds->app.config->log_level),
                  cg_log_level_name(fresh.log_level));
        ds->app.config->log_level = fresh.log_level;
        cg_log_set_level(fresh.log_level);
    } else {
        CG_NOTICE("core", "SIGHUP: config re-read, log_level unchanged");
    }
    if (cg_http_is_tls(ds->app.http) || fresh.tls.cert) {
        if (cg_http_tls_reload(ds->app.http, fresh.tls.cert, fresh.tls.key, err, sizeof err) < 0)
            CG_ERROR("core", "SIGHUP: TLS certificate not reloaded: %s", err);
        else
            CG_NOTICE("core", "SIGHUP: TLS certificate %s reloaded for new connections",
                      fresh.tls.cert);
    }
    if (fresh.n_plugins != ds->app.config->n_plugins || fresh.n_routes != ds->app.config->n_routes)
        CG_NOTICE("core", "SIGHUP: plugin and route changes take effect after a restart");
    cg_service_status(ds->service, "serving; config re-read (log_level %s)",
                      cg_log_level_name(ds->app.config->log_level));
    cg_config_free(&fresh);
}

/* ---------------------------------------------------------------- start/stop */

/* A plugin host stopped answering heartbeats: if it is our child, kill it
 * (the bus is made before the plugins: app->plugins may still be NULL). */
static void on_peer_silent(void *arg, const char *instance, long pid, const char *reason)
{
    cg_app *app = arg;
    cg_plugins_peer_silent(app->plugins, instance, pid, reason);
}

/* Process mode: where the bus listens for citygrid-plugind (the
 * unix-socket path must fit sun_path) and which citygrid-plugind to run. */
static int process_mode_paths(const cg_config *cfg, char **ipc_endpoint, char **plugind_path,
                              char *err, size_t errlen)
{
    char *ipc = NULL;
    if (cfg->bus.ipc_endpoint)
        ipc = strdup(cfg->bus.ipc_endpoint);
    else if (asprintf(&ipc, "ipc://%s/bus.ipc", cfg->state_dir) < 0)
        ipc = NULL;
    if (!ipc || strlen(ipc) > 6 + 100) {
        snprintf(err, errlen, "the bus's ipc endpoint %s is too long for a unix socket: "
                 "set bus.ipc_endpoint = \"ipc:///SHORT/PATH\"", ipc ? ipc : "?");
        free(ipc);
        return -1;
    }
    *plugind_path = cg_plugins_find_plugind(cfg->plugind_path, err, errlen);
    if (!*plugind_path) {
        free(ipc);
        return -1;
    }
    *ipc_endpoint = ipc;
    return 0;
}

/* The bus: inproc for thread mode, ipc for process mode (with the
 * supervisor that starts citygrid-plugind), tcp + CURVE for remote mode. */
static int start_bus(daemon_state *ds, char *err, size_t errlen)
{
    cg_app *app = &ds->app;
    const cg_config *cfg = app->config;
    const char *endpoints[2] = {cfg->bus.endpoint, NULL};
    size_t n_endpoints = 1;
    if (cg_config_uses_mode(cfg, CG_MODE_PROCESS)) {
        if (process_mode_paths(cfg, &ds->ipc_endpoint, &ds->plugind_path, err, errlen) < 0)
            return -1;
        endpoints[n_endpoints++] = ds->ipc_endpoint;
        app->supervisor = cg_supervisor_new(app->base, err, errlen);
        if (!app->supervisor)
            return -1;
        CG_INFO("core", "process-mode plugins connect to %s, hosted by %s", ds->ipc_endpoint,
                ds->plugind_path);
    }
    cg_bus_options bopt = {
        .endpoints = endpoints,
        .n_endpoints = n_endpoints,
        .heartbeat_ms = cfg->bus.heartbeat_ms,
        .heartbeat_misses = 3,
        .lease_ms = cfg->bus.lease_ms,
        .retry_base_ms = cfg->bus.retry_base_ms,
        .retry_max_ms = cfg->bus.retry_max_ms,
        .max_attempts = cfg->bus.max_attempts,
    };
    cg_curve_keys server;
    memset(&server, 0, sizeof server);
    cg_zap_client *clients = NULL;
    if (cfg->bus.remote_bind) {
        if (cg_curve_keys_read(cfg->bus.server_key, 1, &server, err, errlen) < 0)
            return -1;
        clients = calloc(cfg->bus.n_clients ? cfg->bus.n_clients : 1, sizeof *clients);
        for (size_t i = 0; clients && i < cfg->bus.n_clients; i++)
            clients[i] = (cg_zap_client){.public_key = cfg->bus.clients[i].public_key,
                                         .department = cfg->bus.clients[i].department};
        bopt.remote_endpoint = cfg->bus.remote_bind;
        bopt.curve_secret_key = server.secret_key;
        bopt.clients = clients;
        bopt.n_clients = clients ? cfg->bus.n_clients : 0;
    }
    /* The flow's handlers, plus where dead letters are written. */
    static cg_bus_handlers handlers;
    handlers = cg_flow_bus_handlers;
    handlers.on_dead_letter = cg_deadletter_on_bus;
    handlers.on_peer_silent = on_peer_silent;
    char *welcome = cg_welcome_json(app->catalog);
    bopt.welcome_json = welcome;
    app->bus = cg_bus_new(app->base, app->zmq_ctx, &bopt, &handlers, app, err, errlen);
    explicit_bzero(&server, sizeof server);
    free(clients);
    free(welcome);
    return app->bus ? 0 : -1;
}

/* First start: load the grid registry and roster from dataset_dir. A
 * refused dataset stops the start (nothing of it was written). */
static int import_first_dataset(cg_app *app, char *err, size_t errlen)
{
    const char *dir = app->config->dataset_dir;
    if (!dir || !*dir || !cg_dataset_is_empty(app->store))
        return 0;
#ifdef CG_DATASET_DIR
    /* The built-in default points at the installed dataset: a daemon run from
     * an uninstalled build without `dataset_dir` starts with no grids rather
     * than not at all. A dataset_dir the admin names must exist. */
    if (strcmp(dir, CG_DATASET_DIR) == 0 && access(dir, R_OK) != 0) {
        CG_WARN("core", "no dataset at %s (not installed?): starting with no grids; set "
                "dataset_dir in the config", dir);
        return 0;
    }
#endif
    cg_import_report rep;
    char why[1024];
    if (cg_dataset_import_dir(app->store, dir, &rep, why, sizeof why) < 0) {
        snprintf(err, errlen, "dataset_dir %.200s refused: %.760s", dir, why);
        return -1;
    }
    CG_NOTICE("core", "first start: imported %s: %zu places, %zu grids, %zu members, %zu assignments",
              dir, rep.places, rep.grids, rep.members, rep.assignments);
    return 0;
}

static int start(daemon_state *ds, char *err, size_t errlen)
{
    cg_app *app = &ds->app;
    if (make_state_dir(app->config->state_dir) < 0) {
        snprintf(err, errlen, "cannot create state directory %s: %s", app->config->state_dir,
                 strerror(errno));
        return -1;
    }
    app->catalog = cg_catalog_new(app->config, err, errlen);
    if (!app->catalog)
        return -1;
    /* Codes in `subscribe` lists and escalation.city routes must exist. */
    if (cg_subscribe_check(app->config, app->catalog, err, errlen) < 0 ||
        cg_city_routes_check(app->config, app->catalog, err, errlen) < 0)
        return -1;
    char db_path[4096];
    snprintf(db_path, sizeof db_path, "%s/citygrid.db", app->config->state_dir);
    if (cg_store_open(db_path, &app->store, err, errlen) < 0)
        return -1;
    if (cg_auth_bootstrap(app->store, app->config->state_dir, err, errlen) < 0)
        return -1;
    if (import_first_dataset(app, err, errlen) < 0)
        return -1;

    app->base = event_base_new();
    if (!app->base || event_base_priority_init(app->base, 3) < 0) {
        snprintf(err, errlen, "cannot create the event loop");
        return -1;
    }
    app->batch = cg_batch_new(app->base, app->store);
    app->zmq_ctx = zmq_ctx_new();
    if (start_bus(ds, err, errlen) < 0)
        return -1;
    cg_plugins_env penv = {
        .cfg = app->config,
        .zmq_ctx = app->zmq_ctx,
        .catalog = app->catalog,
        .base = app->base,
        .bus = app->bus,
        .supervisor = app->supervisor,
        .store = app->store,
        .plugind_path = ds->plugind_path,
        .ipc_endpoint = ds->ipc_endpoint,
        .state_dir = app->config->state_dir,
    };
    if (cg_plugins_start_ex(&penv, &app->plugins, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < app->config->n_routes; i++) {
        const cg_route_conf *r = &app->config->routes[i];
        if (r->department && !cg_plugins_for_department(app->plugins, r->department))
            CG_WARN("core", "%s:%d: route %s -> %s: no running plugin serves %s%s", r->file, r->line,
                    r->category, r->department, r->department,
                    cg_catalog_department(app->catalog, r->department)->mandatory
                        ? ": cases wait in the outbox until one does"
                        : ": its cases go to enforcement");
    }
    if (cg_flow_resume(app) < 0) {
        snprintf(err, errlen, "cannot read the outbox");
        return -1;
    }
    /* Overdue cases escalate by themselves; the timer comes from the table. */
    app->deadlines = cg_deadlines_new(app);
    if (!app->deadlines) {
        snprintf(err, errlen, "cannot arm the deadline timer");
        return -1;
    }
    app->source_policy = cg_source_policy_from_conf(app->config->sources.rules,
                                                    app->config->sources.n_rules);
    app->sources = app->source_policy
                       ? cg_sourceq_new(app->base, app->store, app->batch, app->bus,
                                        app->source_policy, &app->config->sources)
                       : NULL;
    if (!app->sources) {
        snprintf(err, errlen, "cannot start the data sources");
        return -1;
    }
    cg_sourceq_purge(app->sources); /* the audit's retention, now and daily */
    app->http = cg_http_start(app, app->config->listen_host, app->config->listen_port, err, errlen);
    if (!app->http)
        return -1;
    CG_NOTICE("core", "citygridd %s serving %s://%s:%d (state in %s; admin token in %s/admin.token)",
              CITYGRID_VERSION, cg_http_is_tls(app->http) ? "https" : "http",
              app->config->listen_host, cg_http_port(app->http), app->config->state_dir,
              app->config->state_dir);
    return 0;
}

static void stop(daemon_state *ds)
{
    cg_app *app = &ds->app;
    /* Replies and bus deliveries wait on the batch: flush it while both exist. */
    if (app->batch)
        cg_batch_flush(app->batch);
    cg_http_free(app->http);
    cg_plugins_stop(app->plugins);
    cg_supervisor_free(app->supervisor); /* SIGTERM, wait, reap the plugin hosts */
    cg_sourceq_close(app->sources);    /* before the batch: late answers are not audited */
    cg_batch_free(app->batch);
    cg_deadlines_free(app->deadlines); /* after the batch: its callbacks use it */
    cg_bus_free(app->bus);
    cg_sourceq_free(app->sources);     /* after the bus: it calls back what it held */
    cg_source_policy_free(app->source_policy);
    if (app->zmq_ctx)
        zmq_ctx_term(app->zmq_ctx);
    cg_store_close(app->store);
    cg_catalog_free(app->catalog);
    cg_service_free(ds->service);
    if (ds->drain_timer)
        event_free(ds->drain_timer);
    if (ds->sigterm) event_free(ds->sigterm);
    if (ds->sigint) event_free(ds->sigint);
    if (ds->sighup) event_free(ds->sighup);
    if (app->base)
        event_base_free(app->base);
    free(ds->plugind_path);
    free(ds->ipc_endpoint);
}

/* --check-config: everything start() checks that needs no running service
 * (no database, bus or listener): the catalog with the config's routes,
 * the codes named in subscribe lists and escalation.city routes, the .so of
 * every enabled local plugin and, with process mode, citygrid-plugind.
 * cg_config_load has already read plugins.d and the key files. A plugin
 * that is not `required` and cannot be found only warns: start-up skips it. */
static int check_config(const cg_config *cfg, char *err, size_t errlen)
{
    cg_catalog *cat = cg_catalog_new(cfg, err, errlen);
    if (!cat)
        return -1;
    int rc = cg_subscribe_check(cfg, cat, err, errlen) < 0 ||
             cg_city_routes_check(cfg, cat, err, errlen) < 0 ? -1 : 0;
    cg_catalog_free(cat);
    if (rc < 0)
        return -1;
    for (size_t i = 0; i < cfg->n_plugins; i++) {
        const cg_plugin_conf *p = &cfg->plugins[i];
        struct stat st;
        if (!p->enabled || p->mode == CG_MODE_REMOTE)
            continue;
        const char *why = stat(p->path, &st) < 0 ? strerror(errno)
                          : !S_ISREG(st.st_mode) ? "not a regular file"
                          : access(p->path, R_OK) < 0 ? strerror(errno) : NULL;
        if (!why)
            continue;
        if (p->required) {
            snprintf(err, errlen, "%s:%d: plugin '%s': %s: %s", p->file, p->line, p->name,
                     p->path, why);
            return -1;
        }
        fprintf(stderr, "%s:%d: warning: plugin '%s': %s: %s (start-up will skip it)\n",
                p->file, p->line, p->name, p->path, why);
    }
    if (cg_config_uses_mode(cfg, CG_MODE_PROCESS)) {
        char *ipc = NULL, *plugind = NULL;
        char why[768];
        if (process_mode_paths(cfg, &ipc, &plugind, why, sizeof why) < 0) {
            snprintf(err, errlen, "%s:0: %s", cfg->path, why);
            return -1;
        }
        free(ipc);
        free(plugind);
    }
    return 0;
}

int main(int argc, char **argv)
{
    static daemon_state ds;
    static cg_config config;
    if (parse_cli(argc, argv, &ds.cli) < 0)
        return 2;
    char err[1024] = "";
    if (cg_config_load(ds.cli.config_path, &config, err, sizeof err) < 0) {
        if (ds.cli.check_only) /* file:line first, for editors and scripts */
            fprintf(stderr, "%s\n", err);
        else
            fprintf(stderr, "citygridd: config error: %s\n", err);
        return 1;
    }
    if (apply_overrides(&ds.cli, &config) < 0) {
        cg_config_free(&config);
        return 1;
    }
    if (ds.cli.check_only) {
        int bad = check_config(&config, err, sizeof err) < 0;
        if (bad)
            fprintf(stderr, "%s\n", err);
        else
            printf("%s: ok\n", ds.cli.config_path);
        cg_config_free(&config);
        return bad;
    }
    cg_log_set_level(config.log_level);
    signal(SIGPIPE, SIG_IGN);
    ds.app.config = &config;
    ds.app.version = CITYGRID_VERSION;
    ds.app.started_ms = cg_now_ms();

    int rc = 0;
    if (start(&ds, err, sizeof err) < 0) {
        CG_ERROR("core", "cannot start: %s", err);
        fprintf(stderr, "citygridd: cannot start: %s\n", err);
        rc = 1;
    } else {
        ds.sigterm = evsignal_new(ds.app.base, SIGTERM, on_stop_signal, &ds);
        ds.sigint = evsignal_new(ds.app.base, SIGINT, on_stop_signal, &ds);
        ds.sighup = evsignal_new(ds.app.base, SIGHUP, on_sighup, &ds);
        evsignal_add(ds.sigterm, NULL);
        evsignal_add(ds.sigint, NULL);
        evsignal_add(ds.sighup, NULL);
        char status[256];
        snprintf(status, sizeof status, "serving %s://%s:%d",
                 cg_http_is_tls(ds.app.http) ? "https" : "http", config.listen_host,
                 cg_http_port(ds.app.http));
        ds.service = cg_service_ready(ds.app.base, status);
        event_base_dispatch(ds.app.base);
        CG_NOTICE("core", "stopped serving; closing plugins, bus and database");
    }
    stop(&ds);
    cg_config_free(&config);
    if (rc == 0)
        CG_NOTICE("core", "shut down cleanly");
    return rc;
}
