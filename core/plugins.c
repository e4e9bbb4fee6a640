/*
 * plugins.c — the configured plugins, from config entry to running runtime
 * (see plugins.h). Loading is opt-in: only `enabled` entries are opened.
 */
#include "plugins.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "loader.h"
#include "log.h"
#include "runtime.h"

typedef struct plugin_entry {
    const cg_plugin_conf *conf;   /* borrowed from the config, which outlives us */
    cg_loaded_plugin loaded;
    cg_runtime *runtime;
    const char *state;            /* "running", "failed", "disabled" */
    char error[640];
} plugin_entry;

struct cg_plugins {
    plugin_entry *entries;
    size_t n;
};

static const plugin_entry *find_running(const cg_plugins *ps, const char *name,
                                        const char *department)
{
    for (size_t i = 0; i < ps->n; i++) {
        const plugin_entry *e = &ps->entries[i];
        if (!e->runtime)
            continue;
        if ((name && strcmp(e->loaded.desc->name, name) == 0) ||
            (department && strcmp(e->loaded.desc->department, department) == 0))
            return e;
    }
    return NULL;
}

/* Load, check and start one entry; on failure e->error says why. */
static int start_one(cg_plugins *ps, plugin_entry *e, const cg_config *cfg, void *zmq_ctx)
{
    char err[512];
    if (cg_loader_open(e->conf->path, &e->loaded, err, sizeof err) < 0) {
        snprintf(e->error, sizeof e->error, "%s", err);
        return -1;
    }
    const citygrid_plugin *d = e->loaded.desc;
    const plugin_entry *other = find_running(ps, d->name, NULL);
    if (other) {
        snprintf(e->error, sizeof e->error, "%s: refused: duplicate plugin name '%s' (already "
                 "loaded from %s)", e->conf->path, d->name, other->conf->path);
        goto fail;
    }
    other = find_running(ps, NULL, d->department);
    if (other) {
        snprintf(e->error, sizeof e->error, "%s: refused: department '%s' is already served "
                 "by plugin '%s'", e->conf->path, d->department, other->loaded.desc->name);
        goto fail;
    }
    cg_runtime_options opt = {
        .zmq_ctx = zmq_ctx,
        .endpoint = cfg->bus_endpoint,
        .plugin = d,
        .abi = e->loaded.abi,
        .settings_json = e->conf->settings_json,
        .mode = cg_plugin_mode_name(e->conf->mode),
        .credit = (unsigned)cfg->plugin_credit,
        .heartbeat_ms = cfg->heartbeat_ms,
    };
    char why[200];
    e->runtime = cg_runtime_start(&opt, why, sizeof why);
    if (!e->runtime) {
        snprintf(e->error, sizeof e->error, "%.250s: plugin '%.48s' did not start: %s",
                 e->conf->path, d->name, why);
        goto fail;
    }
    return 0;
fail:
    cg_loader_close(&e->loaded);
    return -1;
}

int cg_plugins_start(const cg_config *cfg, void *zmq_ctx, cg_catalog *catalog, cg_plugins **out,
                     char *err, size_t errlen)
{
    cg_plugins *ps = calloc(1, sizeof *ps);
    ps->entries = calloc(cfg->n_plugins ? cfg->n_plugins : 1, sizeof *ps->entries);
    *out = ps;
    for (size_t i = 0; i < cfg->n_plugins; i++) {
        plugin_entry *e = &ps->entries[ps->n++];
        e->conf = &cfg->plugins[i];
        if (!e->conf->enabled) {
            e->state = "disabled";
            CG_INFO("plugins", "%s: disabled in %s:%d", e->conf->name, e->conf->file, e->conf->line);
            continue;
        }
        if (start_one(ps, e, cfg, zmq_ctx) < 0) {
            e->state = "failed";
            if (e->conf->required) {
                snprintf(err, errlen, "required plugin '%s' (%s:%d) failed: %s", e->conf->name,
                         e->conf->file, e->conf->line, e->error);
                return -1;
            }
            CG_ERROR("plugins", "%s (running on without it)", e->error);
            continue;
        }
        e->state = "running";
        const citygrid_plugin *d = e->loaded.desc;
        cg_catalog_set_plugin(catalog, d->department, d->name);
        CG_NOTICE("plugins", "%s %s (ABI %u.%u, %s mode) serves department %s", d->name,
                  d->version, e->loaded.abi.major, e->loaded.abi.minor,
                  cg_plugin_mode_name(e->conf->mode), d->department);
    }
    return 0;
}

void cg_plugins_stop(cg_plugins *ps)
{
    if (!ps)
        return;
    for (size_t i = 0; i < ps->n; i++) {
        plugin_entry *e = &ps->entries[i];
        if (e->runtime)
            cg_runtime_stop(e->runtime);
        e->runtime = NULL;
        cg_loader_close(&e->loaded);
    }
    free(ps->entries);
    free(ps);
}

const char *cg_plugins_for_department(const cg_plugins *ps, const char *department)
{
    const plugin_entry *e = find_running(ps, NULL, department);
    return e ? e->loaded.desc->name : NULL;
}

static const cg_bus_peer_stats *peer_of(const cg_bus_peer_stats *peers, size_t n, const char *name)
{
    const cg_bus_peer_stats *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(peers[i].name, name) == 0 && (!best || strcmp(peers[i].state, "ready") == 0))
            best = &peers[i];
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
        json_object_set_new(o, "name", json_string(e->conf->name));
        json_object_set_new(o, "path", json_string(e->conf->path));
        json_object_set_new(o, "mode", json_string(cg_plugin_mode_name(e->conf->mode)));
        json_object_set_new(o, "required", json_boolean(e->conf->required));
        if (!e->runtime) {
            json_object_set_new(o, "state", json_string(e->state));
            json_object_set_new(o, "version", json_null());
            json_object_set_new(o, "abi", json_null());
            if (e->error[0])
                json_object_set_new(o, "error", json_string(e->error));
            json_array_append_new(arr, o);
            continue;
        }
        const citygrid_plugin *d = e->loaded.desc;
        char abi[16];
        snprintf(abi, sizeof abi, "%u.%u", e->loaded.abi.major, e->loaded.abi.minor);
        const cg_bus_peer_stats *p = peer_of(peers, n_peers, d->name);
        json_object_set_new(o, "name", json_string(d->name));
        json_object_set_new(o, "version", json_string(d->version));
        json_object_set_new(o, "abi", json_string(abi));
        json_object_set_new(o, "department", json_string(d->department));
        json_object_set_new(o, "state", json_string(p ? p->state : "starting"));
        json_object_set_new(o, "queue", json_integer(bus ? (json_int_t)cg_bus_pending(bus, d->department) : 0));
        if (p) {
            json_object_set_new(o, "pid", json_integer(p->pid));
            json_object_set_new(o, "in_flight", json_integer((json_int_t)p->in_flight));
            json_object_set_new(o, "delivered", json_integer((json_int_t)p->delivered));
            json_object_set_new(o, "handled", json_integer((json_int_t)p->completed));
            json_object_set_new(o, "redelivered", json_integer((json_int_t)p->redelivered));
            json_object_set_new(o, "failures", json_integer((json_int_t)p->failures));
            json_object_set_new(o, "last_error", p->last_error[0] ? json_string(p->last_error) : json_null());
        }
        json_array_append_new(arr, o);
    }
    return arr;
}
