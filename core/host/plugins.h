/*
 * plugins.h — the registry of configured plugins: loads the enabled ones
 * (opt-in), refuses duplicates, runs each in its mode, records what happened
 * for /v1/plugins, and hands a plugin over to a new build (hot release).
 *
 * Modes (config `mode`):
 *   thread   the .so runs on a runtime thread in citygridd (inproc);
 *   process  citygridd starts citygrid-plugind for it (ipc) and the
 *            supervisor restarts it when it dies; the core opens the .so once
 *            to check its ABI and read its descriptor (only the two entry
 *            points run in the core), then closes it;
 *   remote   citygrid-plugind runs on the department's host (tcp + CURVE);
 *            the core only knows the configured name and department.
 *
 * Each start of a plugin is an INSTANCE ("NAME#N", told to the bus in READY).
 * Reload starts a new instance beside the old one; the bus sends new work to
 * the newest READY instance and the old one drains; a timer stops the old
 * one once it holds nothing (thread: cg_runtime_stop + dlclose; process:
 * SIGTERM). A thread-mode reload dlopens a COPY of the .so made under
 * STATE_DIR/plugins/ with a unique name, because dlopen of a path already
 * open returns the same (old) handle; the copy is deleted when that
 * instance is unloaded. (dlmopen was the other option; it gives each copy a
 * new link-map namespace, but glibc has only 16 of them and libraries the
 * plugin pulls in would be loaded again per namespace.)
 *
 * Main thread only.
 */
#ifndef CG_PLUGINS_H
#define CG_PLUGINS_H

#include <jansson.h>
#include "conf/config.h"
#include "people/catalog.h"
#include "lib/result.h"

struct cg_bus;
struct cg_store;
struct cg_supervisor;
struct event_base;
typedef struct cg_plugins cg_plugins;

/* Load and start every enabled plugin of cfg in thread mode, connecting to
 * cfg->bus.endpoint in zmq_ctx. A plugin that fails is logged and skipped,
 * unless `required`: then -1 with err. Tells the catalog which department
 * each running plugin serves. (No process mode, no reload: see _ex.) */
int cg_plugins_start(const cg_config *cfg, void *zmq_ctx, cg_catalog *catalog,
                     cg_plugins **out, char *err, size_t errlen);

/* What the full registry needs (all borrowed; they outlive it). */
typedef struct cg_plugins_env {
    const cg_config *cfg;
    void *zmq_ctx;
    cg_catalog *catalog;
    struct event_base *base;          /* drain timer */
    struct cg_bus *bus;               /* hand-over state, instance deaths */
    struct cg_supervisor *supervisor; /* process mode (may be NULL: none allowed) */
    struct cg_store *store;           /* dead-letter counts (may be NULL) */
    const char *plugind_path;         /* citygrid-plugind to exec */
    const char *ipc_endpoint;         /* where process-mode hosts connect */
    const char *state_dir;            /* reload copies */
} cg_plugins_env;
int cg_plugins_start_ex(const cg_plugins_env *env, cg_plugins **out, char *err, size_t errlen);

/* Stop every runtime (DISCONNECT, shutdown()) and dlclose. Process-mode
 * hosts are stopped by the supervisor's own shutdown. */
void cg_plugins_stop(cg_plugins *ps);

/* [{"name","version","abi","mode","state","department","queue",...}] merged
 * with the bus's live figures. */
json_t *cg_plugins_json(const cg_plugins *ps, const struct cg_bus *bus);
/* Name of the plugin configured for a department's cases, or NULL. */
const char *cg_plugins_for_department(const cg_plugins *ps, const char *department);

/* Hot release: load the configured .so again as a new instance (see above).
 * Also starts a plugin that is stopped or failed. CG_OK (*instance gets the
 * new instance id), or the refusal in r: CG_E_NOT_FOUND not_found (no such
 * name), CG_E_CONFLICT conflict (a remote plugin), CG_E_INTERNAL
 * plugin_failed (it did not start: the old instance keeps running). */
cg_status cg_plugins_reload(cg_plugins *ps, const char *name, char instance[64], cg_result *r);
/* Stop sending it work and unload it once it holds nothing (until enable or
 * restart; not written to the config). Refused as reload. */
cg_status cg_plugins_disable(cg_plugins *ps, const char *name, cg_result *r);
/* Start a plugin disabled at run time (or in the config): like reload. */
cg_status cg_plugins_enable(cg_plugins *ps, const char *name, char instance[64], cg_result *r);

/* The bus dropped a peer of `instance_id` for silence (cg_bus_handlers
 * on_peer_silent). If it is a process-mode host of ours and `pid` is its
 * running process, that process hangs: kill it so the supervisor restarts
 * it. Thread-mode and remote plugins are left alone. ps may be NULL. */
void cg_plugins_peer_silent(cg_plugins *ps, const char *instance_id, long pid, const char *reason);

/* Where citygrid-plugind is: `configured` (config `plugind`) when given;
 * else next to this executable (/proc/self/exe), also when that is libtool's
 * real binary in .libs/ (then the wrapper beside .libs/ is used; libtool's
 * wrapper of citygrid-plugind itself works from the build tree too).
 * malloc'd path of an executable file, or NULL with err naming what was
 * tried. */
char *cg_plugins_find_plugind(const char *configured, char *err, size_t errlen);

#endif
