/*
 * plugins.c — the configured plugins, from config entry to running instance,
 * and the hand-over between instances (see plugins.h). Loading is opt-in:
 * only `enabled` entries are opened.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "host/plugins.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire/bus.h"
#include "host/deadletter.h"
#include "wire/loader.h"
#include "lib/log.h"
#include "wire/runtime.h"
#include "host/supervisor.h"

#define MAX_RETIRING 8
#define DRAIN_CHECK_MS 200

/* One start of a plugin. */
typedef struct instance {
    char id[64];               /* "NAME#N" */
    cg_loaded_plugin loaded;   /* thread mode */
    char *copy_path;           /* thread-mode reload: the .so copy to delete at unload */
    cg_runtime *runtime;       /* thread mode */
    cg_child *child;           /* process mode */
} instance;

typedef struct plugin_entry {
    struct cg_plugins *ps;
    const cg_plugin_conf *conf;   /* borrowed from the config, which outlives us */
    const char *state;            /* "running", "failed", "disabled" */
    char error[640];
    char name[64], version[32], department[32];
    citygrid_abi abi;
    int known;                    /* name/department/abi are filled */
    instance *current;            /* NULL when not running */
    instance *retiring[MAX_RETIRING];
    size_t n_retiring;
    unsigned generation;
    unsigned restarts_before;     /* restarts of hosts already replaced */
    char last_exit[128];
} plugin_entry;

struct cg_plugins {
    cg_plugins_env env;
    plugin_entry *entries;
    size_t n;
    struct event *drain_ev;
    char *copy_dir;               /* STATE_DIR/plugins */
};

static const plugin_entry *find_running(const cg_plugins *ps, const char *name,
                                        const char *department)
{
    for (size_t i = 0; i < ps->n; i++) {
        const plugin_entry *e = &ps->entries[i];
        if (!e->current && e->conf->mode != CG_MODE_REMOTE)
            continue;
        if (!e->known)
            continue;
        if ((name && strcmp(e->name, name) == 0) ||
            (department && strcmp(e->department, department) == 0))
            return e;
    }
    return NULL;
}

static plugin_entry *find_entry(cg_plugins *ps, const char *name)
{
    for (size_t i = 0; i < ps->n; i++)
        if (strcmp(ps->entries[i].conf->name, name) == 0 ||
            (ps->entries[i].known && strcmp(ps->entries[i].name, name) == 0))
            return &ps->entries[i];
    return NULL;
}

/* ------------------------------------------------------------- .so copies */

/* Copy src to a new unique file in dir; the path is malloc'd. */
static char *copy_so(const char *src, const char *dir, const char *name, unsigned gen,
                     char *err, size_t errlen)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: cannot create: %s", dir, strerror(errno));
        return NULL;
    }
    char *path = NULL;
    if (asprintf(&path, "%s/%s-%u-%ld-XXXXXX.so", dir, name, gen, (long)getpid()) < 0)
        return NULL;
    int out = mkstemps(path, 3);
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (out < 0 || in < 0) {
        snprintf(err, errlen, "%s: cannot copy for reload: %s", out < 0 ? path : src,
                 strerror(errno));
        if (out >= 0) {
            close(out);
            unlink(path);
        }
        if (in >= 0)
            close(in);
        free(path);
        return NULL;
    }
    char buf[65536];
    ssize_t n;
    int ok = 1;
    while ((n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || write(out, buf, (size_t)n) != n) {
            ok = 0;
            break;
        }
    }
    close(in);
    if (close(out) != 0 || !ok) {
        snprintf(err, errlen, "%s: copy failed: %s", path, strerror(errno));
        unlink(path);
        free(path);
        return NULL;
    }
    chmod(path, 0700);
    return path;
}

/* ------------------------------------------------------------- instances */

static void instance_unload(plugin_entry *e, instance *in)
{
    if (in->runtime)
        cg_runtime_stop(in->runtime);
    in->runtime = NULL;
    cg_loader_close(&in->loaded);
    if (in->copy_path) {
        unlink(in->copy_path);
        free(in->copy_path);
    }
    if (in->child) {
        e->restarts_before += cg_child_restarts(in->child);
        cg_child_stop(in->child, 3000); /* freed by the supervisor once reaped */
    }
    free(in);
}

static void on_child_exit(void *arg, cg_child *child, pid_t pid, const char *how)
{
    plugin_entry *e = arg;
    snprintf(e->last_exit, sizeof e->last_exit, "pid %ld %s", (long)pid, how);
    instance *in = NULL;
    if (e->current && e->current->child == child)
        in = e->current;
    for (size_t i = 0; !in && i < e->n_retiring; i++)
        if (e->retiring[i]->child == child)
            in = e->retiring[i];
    if (!in)
        return; /* stopped on purpose and already forgotten */
    char why[160];
    snprintf(why, sizeof why, "its process %s", e->last_exit);
    /* Do not wait 3 heartbeats: what it held goes back to the queue now. */
    cg_bus_instance_died(e->ps->env.bus, in->id, why);
}

void cg_plugins_peer_silent(cg_plugins *ps, const char *instance_id, long pid, const char *reason)
{
    if (!ps || !instance_id || pid <= 0)
        return;
    for (size_t i = 0; i < ps->n; i++) {
        plugin_entry *e = &ps->entries[i];
        instance *in = e->current && strcmp(e->current->id, instance_id) == 0 ? e->current : NULL;
        for (size_t j = 0; !in && j < e->n_retiring; j++)
            if (strcmp(e->retiring[j]->id, instance_id) == 0)
                in = e->retiring[j];
        /* Only our own child, and only the process that said READY: not a
         * restarted one, not a remote host, not the core (thread mode). */
        if (!in || !in->child || (long)cg_child_pid(in->child) != pid)
            continue;
        char why[160];
        snprintf(why, sizeof why, "of instance %s runs but its bus peer was lost (%s)",
                 instance_id, reason ? reason : "silent");
        cg_child_kill(in->child, why);
        return;
    }
}

/* Check the .so and remember who it is. A reload must be the same plugin. */
static int check_descriptor(plugin_entry *e, const cg_loaded_plugin *lp, char *err, size_t errlen)
{
    const citygrid_plugin *d = lp->desc;
    if (e->known && (strcmp(e->name, d->name) != 0 || strcmp(e->department, d->department) != 0)) {
        snprintf(err, errlen, "%s: refused: the new build is plugin '%s' for department '%s', "
                 "not '%s' for '%s'", e->conf->path, d->name, d->department, e->name,
                 e->department);
        return -1;
    }
    const plugin_entry *other = find_running(e->ps, d->name, NULL);
    if (other && other != e) {
        snprintf(err, errlen, "%s: refused: duplicate plugin name '%s' (already loaded from %s)",
                 e->conf->path, d->name, other->conf->path);
        return -1;
    }
    other = find_running(e->ps, NULL, d->department);
    if (other && other != e) {
        snprintf(err, errlen, "%s: refused: department '%s' is already served by plugin '%s'",
                 e->conf->path, d->department, other->name);
        return -1;
    }
    snprintf(e->name, sizeof e->name, "%s", d->name);
    snprintf(e->version, sizeof e->version, "%s", d->version);
    snprintf(e->department, sizeof e->department, "%s", d->department);
    e->abi = lp->abi;
    e->known = 1;
    return 0;
}

static instance *start_thread(plugin_entry *e, const char *id, char *err, size_t errlen)
{
    const cg_plugins_env *env = &e->ps->env;
    instance *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(in->id, sizeof in->id, "%s", id);
    const char *path = e->conf->path;
    if (e->current || e->generation > 1) {
        /* A second dlopen of an open path would return the old code. */
        in->copy_path = e->ps->copy_dir
                            ? copy_so(path, e->ps->copy_dir, e->conf->name, e->generation, err,
                                      errlen)
                            : NULL;
        if (!in->copy_path) {
            if (!e->ps->copy_dir)
                snprintf(err, errlen, "reload needs a state directory for the .so copy");
            free(in);
            return NULL;
        }
        path = in->copy_path;
    }
    char why[512];
    if (cg_loader_open(path, &in->loaded, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s", why);
        goto fail;
    }
    if (check_descriptor(e, &in->loaded, err, errlen) < 0)
        goto fail;
    cg_runtime_options opt = {
        .zmq_ctx = env->zmq_ctx,
        .endpoint = env->cfg->bus.endpoint,
        .plugin = in->loaded.desc,
        .abi = in->loaded.abi,
        .settings_json = e->conf->settings_json,
        .mode = "thread",
        .credit = (unsigned)env->cfg->bus.plugin_credit,
        .heartbeat_ms = env->cfg->bus.heartbeat_ms,
        .instance = in->id,
    };
    in->runtime = cg_runtime_start(&opt, why, sizeof why);
    if (!in->runtime) {
        snprintf(err, errlen, "%.250s: plugin '%.48s' did not start: %.300s", e->conf->path,
                 in->loaded.desc->name, why);
        goto fail;
    }
    snprintf(e->version, sizeof e->version, "%s", in->loaded.desc->version);
    return in;
fail:
    cg_loader_close(&in->loaded);
    if (in->copy_path) {
        unlink(in->copy_path);
        free(in->copy_path);
    }
    free(in);
    return NULL;
}

static instance *start_process(plugin_entry *e, const char *id, char *err, size_t errlen)
{
    const cg_plugins_env *env = &e->ps->env;
    if (!env->supervisor || !env->plugind_path || !env->ipc_endpoint) {
        snprintf(err, errlen, "%s: mode 'process' needs citygrid-plugind and the bus's ipc "
                 "endpoint (not available here)", e->conf->path);
        return NULL;
    }
    /* Read the descriptor from a copy: the real path may be open already. */
    char *copy = env->state_dir ? copy_so(e->conf->path, e->ps->copy_dir, e->conf->name,
                                          e->generation, err, errlen)
                                : NULL;
    cg_loaded_plugin lp;
    char why[512];
    int rc = cg_loader_open(copy ? copy : e->conf->path, &lp, why, sizeof why);
    if (copy) {
        unlink(copy);
        free(copy);
    }
    if (rc < 0) {
        /* Name the configured file, not the copy. */
        const char *reason = strstr(why, ": ");
        snprintf(err, errlen, "%s%s", e->conf->path, reason ? reason : why);
        return NULL;
    }
    rc = check_descriptor(e, &lp, err, errlen);
    cg_loader_close(&lp);
    if (rc < 0)
        return NULL;
    instance *in = calloc(1, sizeof *in);
    if (!in) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    snprintf(in->id, sizeof in->id, "%s", id);
    char credit[16], heartbeat[16];
    snprintf(credit, sizeof credit, "%d", env->cfg->bus.plugin_credit);
    snprintf(heartbeat, sizeof heartbeat, "%d", env->cfg->bus.heartbeat_ms);
    char *argv[] = {(char *)env->plugind_path, "--plugin", e->conf->path, "--endpoint",
                    (char *)env->ipc_endpoint, "--name", e->conf->name, "--settings",
                    e->conf->settings_json ? e->conf->settings_json : "{}", "--credit", credit,
                    "--heartbeat-ms", heartbeat, "--instance", in->id, "--log-level",
                    (char *)cg_log_level_name(cg_log_level()), NULL};
    in->child = cg_supervisor_spawn(env->supervisor, e->conf->name, argv, on_child_exit, e, err,
                                    errlen);
    if (!in->child) {
        free(in);
        return NULL;
    }
    return in;
}

static instance *start_instance(plugin_entry *e, char *err, size_t errlen)
{
    char id[64];
    e->generation++;
    snprintf(id, sizeof id, "%.48s#%u", e->conf->name, e->generation);
    return e->conf->mode == CG_MODE_PROCESS ? start_process(e, id, err, errlen)
                                            : start_thread(e, id, err, errlen);
}

/* ------------------------------------------------------------- hand-over */

static void arm_drain(cg_plugins *ps)
{
    if (!ps->drain_ev || evtimer_pending(ps->drain_ev, NULL))
        return;
    struct timeval tv = {0, DRAIN_CHECK_MS * 1000};
    evtimer_add(ps->drain_ev, &tv);
}

/* Unload retiring instances that hold nothing any more. */
static void on_drain_check(evutil_socket_t fd, short what, void *arg)
{
    cg_plugins *ps = arg;
    cg_bus *bus = ps->env.bus;
    int more = 0;
    for (size_t i = 0; i < ps->n; i++) {
        plugin_entry *e = &ps->entries[i];
        int new_active = 0;
        if (e->current)
            cg_bus_instance_state(bus, e->current->id, NULL, &new_active);
        for (size_t j = 0; j < e->n_retiring;) {
            instance *old = e->retiring[j];
            size_t held = 0;
            int active = 0;
            int alive = cg_bus_instance_state(bus, old->id, &held, &active);
            if (new_active || !e->current)
                cg_bus_retire(bus, old->id); /* also if it reconnects */
            if (!alive || (!active && held == 0 && (new_active || !e->current))) {
                CG_NOTICE("plugins", "%s: instance %s drained: unloading it", e->name, old->id);
                e->retiring[j] = e->retiring[--e->n_retiring];
                instance_unload(e, old);
                continue;
            }
            more = 1;
            j++;
        }
    }
    if (more)
        arm_drain(ps);
}

static void retire_current(plugin_entry *e)
{
    if (!e->current)
        return;
    if (e->n_retiring == MAX_RETIRING) { /* too many at once: drop the oldest now */
        CG_WARN("plugins", "%s: too many instances draining; unloading %s now", e->name,
                e->retiring[0]->id);
        instance_unload(e, e->retiring[0]);
        memmove(e->retiring, e->retiring + 1, (MAX_RETIRING - 1) * sizeof *e->retiring);
        e->n_retiring--;
    }
    e->retiring[e->n_retiring++] = e->current;
    e->current = NULL;
    arm_drain(e->ps);
}

/* ------------------------------------------------------------- start/stop */

static void entry_started(plugin_entry *e)
{
    e->state = "running";
    e->error[0] = '\0';
    cg_catalog_set_plugin(e->ps->env.catalog, e->department, e->name);
    CG_NOTICE("plugins", "%s %s (ABI %u.%u, %s mode, instance %s) serves department %s", e->name,
              e->version, e->abi.major, e->abi.minor, cg_plugin_mode_name(e->conf->mode),
              e->current ? e->current->id : "-", e->department);
}

int cg_plugins_start_ex(const cg_plugins_env *env, cg_plugins **out, char *err, size_t errlen)
{
    const cg_config *cfg = env->cfg;
    cg_plugins *ps = calloc(1, sizeof *ps);
    ps->entries = calloc(cfg->n_plugins ? cfg->n_plugins : 1, sizeof *ps->entries);
    ps->env = *env;
    if (env->state_dir && asprintf(&ps->copy_dir, "%s/plugins", env->state_dir) < 0)
        ps->copy_dir = NULL;
    if (env->base && env->bus)
        ps->drain_ev = evtimer_new(env->base, on_drain_check, ps);
    *out = ps;
    for (size_t i = 0; i < cfg->n_plugins; i++) {
        plugin_entry *e = &ps->entries[ps->n++];
        e->ps = ps;
        e->conf = &cfg->plugins[i];
        if (!e->conf->enabled) {
            e->state = "disabled";
            CG_INFO("plugins", "%s: disabled in %s:%d", e->conf->name, e->conf->file, e->conf->line);
            continue;
        }
        if (e->conf->mode == CG_MODE_REMOTE) {
            /* Runs on the department's host; the bus checks its key. */
            snprintf(e->name, sizeof e->name, "%s", e->conf->name);
            snprintf(e->department, sizeof e->department, "%s", e->conf->department);
            e->known = 1;
            e->state = "running";
            cg_catalog_set_plugin(env->catalog, e->department, e->name);
            CG_NOTICE("plugins", "%s: remote plugin for department %s (waits for its host to "
                      "connect)", e->name, e->department);
            continue;
        }
        e->current = start_instance(e, e->error, sizeof e->error);
        if (!e->current) {
            e->state = "failed";
            if (e->conf->required) {
                snprintf(err, errlen, "required plugin '%s' (%s:%d) failed: %s", e->conf->name,
                         e->conf->file, e->conf->line, e->error);
                return -1;
            }
            CG_ERROR("plugins", "%s (running on without it)", e->error);
            continue;
        }
        entry_started(e);
    }
    return 0;
}

int cg_plugins_start(const cg_config *cfg, void *zmq_ctx, cg_catalog *catalog, cg_plugins **out,
                     char *err, size_t errlen)
{
    cg_plugins_env env = {.cfg = cfg, .zmq_ctx = zmq_ctx, .catalog = catalog};
    return cg_plugins_start_ex(&env, out, err, errlen);
}

void cg_plugins_stop(cg_plugins *ps)
{
    if (!ps)
        return;
    for (size_t i = 0; i < ps->n; i++) {
        plugin_entry *e = &ps->entries[i];
        if (e->current)
            instance_unload(e, e->current);
        e->current = NULL;
        for (size_t j = 0; j < e->n_retiring; j++)
            instance_unload(e, e->retiring[j]);
        e->n_retiring = 0;
    }
    if (ps->drain_ev)
        event_free(ps->drain_ev);
    free(ps->copy_dir);
    free(ps->entries);
    free(ps);
}

const char *cg_plugins_for_department(const cg_plugins *ps, const char *department)
{
    const plugin_entry *e = find_running(ps, NULL, department);
    return e ? e->name : NULL;
}

/* ------------------------------------------------------------- run-time control */

static cg_status control_target(cg_plugins *ps, const char *name, plugin_entry **out,
                                cg_result *r)
{
    plugin_entry *e = find_entry(ps, name);
    if (!e)
        return cg_fail(r, CG_E_NOT_FOUND, "not_found", "no plugin named '%s' in the config", name);
    if (e->conf->mode == CG_MODE_REMOTE)
        return cg_fail(r, CG_E_CONFLICT, "conflict",
                       "'%s' is a remote plugin: its department releases a new version by "
                       "connecting it (the same hand-over applies)", name);
    *out = e;
    return CG_OK;
}

cg_status cg_plugins_reload(cg_plugins *ps, const char *name, char instance_id[64], cg_result *r)
{
    plugin_entry *e;
    cg_status st = control_target(ps, name, &e, r);
    if (st != CG_OK)
        return st;
    char err[640] = "";
    instance *in = start_instance(e, err, sizeof err);
    if (!in) {
        CG_ERROR("plugins", "%s: reload failed (%s); %s", e->conf->name, err,
                 e->current ? "the running instance keeps serving" : "not running");
        return cg_fail(r, CG_E_INTERNAL, "plugin_failed", "%s", err);
    }
    if (e->current)
        CG_NOTICE("plugins", "%s: reloaded as %s; %s drains once %s is ready", e->name, in->id,
                  e->current->id, in->id);
    retire_current(e);
    e->current = in;
    entry_started(e);
    snprintf(instance_id, 64, "%s", in->id);
    return CG_OK;
}

cg_status cg_plugins_enable(cg_plugins *ps, const char *name, char instance_id[64], cg_result *r)
{
    plugin_entry *e;
    cg_status st = control_target(ps, name, &e, r);
    if (st != CG_OK)
        return st;
    if (e->current) {
        snprintf(instance_id, 64, "%s", e->current->id);
        return CG_OK;
    }
    return cg_plugins_reload(ps, name, instance_id, r);
}

cg_status cg_plugins_disable(cg_plugins *ps, const char *name, cg_result *r)
{
    plugin_entry *e;
    cg_status st = control_target(ps, name, &e, r);
    if (st != CG_OK)
        return st;
    if (e->current) {
        cg_bus_retire(ps->env.bus, e->current->id);
        CG_NOTICE("plugins", "%s: disabled at run time; %s finishes what it holds", e->name,
                  e->current->id);
        retire_current(e);
    }
    e->state = "disabled";
    return CG_OK;
}

/* ------------------------------------------------------------- /v1/plugins */

/* The peer of this instance (prefer a live one), else of this name. */
static const cg_bus_peer_stats *peer_of(const cg_bus_peer_stats *peers, size_t n,
                                        const char *name, const char *instance_id)
{
    const cg_bus_peer_stats *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const cg_bus_peer_stats *p = &peers[i];
        if (instance_id ? strcmp(p->instance, instance_id) != 0 : strcmp(p->name, name) != 0)
            continue;
        int live = strcmp(p->state, "ready") == 0;
        if (!best || (live && strcmp(best->state, "ready") != 0))
            best = p;
    }
    return best;
}

json_t *cg_plugins_json(const cg_plugins *ps, const struct cg_bus *bus)
{
    cg_bus_peer_stats peers[64];
    size_t n_peers = bus ? cg_bus_stats(bus, peers, 64) : 0;
    if (n_peers > 64)
        n_peers = 64;
    json_t *arr = json_array();
    for (size_t i = 0; ps && i < ps->n; i++) {
        const plugin_entry *e = &ps->entries[i];
        json_t *o = json_object();
        int remote = e->conf->mode == CG_MODE_REMOTE;
        json_object_set_new(o, "name", json_string(e->conf->name));
        json_object_set_new(o, "path", json_string(e->conf->path));
        json_object_set_new(o, "mode", json_string(cg_plugin_mode_name(e->conf->mode)));
        json_object_set_new(o, "required", json_boolean(e->conf->required));
        const instance *cur = e->current;
        if (!cur && !(remote && e->conf->enabled)) {
            json_object_set_new(o, "state", json_string(e->state));
            json_object_set_new(o, "version", e->known && e->version[0] ? json_string(e->version) : json_null());
            json_object_set_new(o, "abi", json_null());
            if (e->error[0])
                json_object_set_new(o, "error", json_string(e->error));
            json_object_set_new(o, "draining", json_integer((json_int_t)e->n_retiring));
            json_array_append_new(arr, o);
            continue;
        }
        const cg_bus_peer_stats *p = peer_of(peers, n_peers, e->name, cur ? cur->id : NULL);
        char abi[16] = "";
        if (!remote)
            snprintf(abi, sizeof abi, "%u.%u", e->abi.major, e->abi.minor);
        else if (p)
            snprintf(abi, sizeof abi, "%s", p->abi);
        const char *version = p && p->version[0] ? p->version : e->version;
        json_object_set_new(o, "name", json_string(e->name));
        json_object_set_new(o, "version", version[0] ? json_string(version) : json_null());
        json_object_set_new(o, "abi", abi[0] ? json_string(abi) : json_null());
        json_object_set_new(o, "department", json_string(e->department));
        json_object_set_new(o, "instance", cur ? json_string(cur->id) : json_null());
        const char *state = p ? p->state : "starting";
        if (cur && cur->child && cg_child_pid(cur->child) == 0)
            state = "restarting";
        json_object_set_new(o, "state", json_string(state));
        json_object_set_new(o, "queue", json_integer(bus ? (json_int_t)cg_bus_pending(bus, e->department) : 0));
        long pid = p && strcmp(p->state, "lost") != 0 ? p->pid : 0;
        if (cur && cur->child)
            pid = cg_child_pid(cur->child);
        if (pid > 0)
            json_object_set_new(o, "pid", json_integer(pid));
        unsigned restarts = e->restarts_before + (cur && cur->child ? cg_child_restarts(cur->child) : 0);
        json_object_set_new(o, "restarts", json_integer(restarts));
        json_object_set_new(o, "draining", json_integer((json_int_t)e->n_retiring));
        long long dead = ps->env.store ? cg_deadletter_count(ps->env.store, e->department) : -1;
        if (dead < 0)
            dead = p ? (long long)p->dead_letters : 0;
        json_object_set_new(o, "dead_letters", json_integer(dead));
        if (p) {
            json_object_set_new(o, "in_flight", json_integer((json_int_t)p->in_flight));
            json_object_set_new(o, "delivered", json_integer((json_int_t)p->delivered));
            json_object_set_new(o, "handled", json_integer((json_int_t)p->completed));
            json_object_set_new(o, "redelivered", json_integer((json_int_t)p->redelivered));
            json_object_set_new(o, "failures", json_integer((json_int_t)p->failures));
            json_object_set_new(o, "latency_ms", json_pack("{s:f, s:f, s:i}", "p50",
                                                           p->latency_p50_ms, "mean",
                                                           p->latency_mean_ms, "window",
                                                           CG_BUS_LATENCY_WINDOW));
        }
        const char *last = p && p->last_error[0] ? p->last_error : e->last_exit[0] ? e->last_exit : NULL;
        json_object_set_new(o, "last_error", last ? json_string(last) : json_null());
        if (e->last_exit[0])
            json_object_set_new(o, "last_exit", json_string(e->last_exit));
        json_array_append_new(arr, o);
    }
    return arr;
}

/* ------------------------------------------------------------- citygrid-plugind */

char *cg_plugins_find_plugind(const char *configured, char *err, size_t errlen)
{
    if (configured) {
        if (access(configured, X_OK) == 0)
            return strdup(configured);
        snprintf(err, errlen, "plugind = \"%s\": not an executable file: %s", configured,
                 strerror(errno));
        return NULL;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(err, errlen, "cannot read /proc/self/exe (%s): set `plugind` in the config",
                 strerror(errno));
        return NULL;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = '\0';
    char *tried[3] = {NULL, NULL, NULL};
    size_t n_tried = 0;
    if (asprintf(&tried[n_tried], "%s/citygrid-plugind", exe) >= 0)
        n_tried++;
    size_t len = strlen(exe);
    if (len >= 6 && strcmp(exe + len - 6, "/.libs") == 0 &&
        asprintf(&tried[n_tried], "%.*s/citygrid-plugind", (int)(len - 6), exe) >= 0)
        n_tried++;
    char *found = NULL;
    for (size_t i = 0; i < n_tried; i++) {
        if (!found && access(tried[i], X_OK) == 0)
            found = tried[i];
        else
            free(tried[i]);
    }
    if (!found)
        snprintf(err, errlen, "citygrid-plugind not found next to citygridd in %s (install it "
                 "there, or set `plugind = \"PATH\";` in the config)", exe);
    return found;
}
