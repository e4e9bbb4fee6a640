/*
 * config.h — the admin's libconfig file, read into plain structs.
 *
 * Layout of the file (see etc/citygrid.cfg):
 *   listen = "127.0.0.1:8080"; state_dir = "..."; log_level = "info";
 *   bus = { endpoint = "inproc://citygrid-bus"; heartbeat_ms = 1000; ... };
 *   http = { max_body_bytes = 65536; };
 *   routes = ( { category = "landscaping"; department = "municipal"; sla_hours = 24.0; } );
 *   plugins = ( { name = "..."; path = "..."; enabled = true; mode = "thread"; settings = {...}; } );
 *   plugin_conf_dir = "plugins.d";   // each *.cfg in it holds one `plugin = { ... };`
 * Relative paths (state_dir, plugin paths, plugin_conf_dir) are resolved
 * against the directory of the file that names them.
 *
 * Errors carry "FILE:LINE: what is wrong". Owned by the caller; main thread.
 */
#ifndef CG_CONFIG_H
#define CG_CONFIG_H

#include <stddef.h>

typedef enum cg_plugin_mode { CG_MODE_THREAD = 0, CG_MODE_PROCESS, CG_MODE_REMOTE } cg_plugin_mode;
const char *cg_plugin_mode_name(cg_plugin_mode mode);

typedef struct cg_plugin_conf {
    char *name;
    char *path;          /* absolute after loading */
    int enabled;
    int required;        /* startup fails if this plugin cannot load */
    cg_plugin_mode mode;
    char *settings_json; /* the `settings` group as a JSON object ("{}" if none) */
    char *file;          /* where it was defined, for messages */
    int line;
} cg_plugin_conf;

typedef struct cg_route_conf {
    char *category;
    char *department;    /* NULL: keep the built-in owner */
    double sla_hours;    /* < 0: keep the built-in SLA */
    char *name, *name_zh;/* for categories the config adds (may be NULL) */
    char *file;
    int line;
} cg_route_conf;

typedef struct cg_config {
    char *path;              /* the main file, absolute */
    char *listen_host;       /* "127.0.0.1" */
    int listen_port;         /* 8080 */
    char *state_dir;         /* absolute */
    int log_level;           /* citygrid_log_level */
    char *bus_endpoint;      /* where the ROUTER binds for in-process plugins */
    int heartbeat_ms;        /* 1000 */
    int lease_ms;            /* how long a delivery may stay unanswered: 10000 */
    int retry_base_ms;       /* first re-delivery delay, doubled each attempt: 500 */
    int retry_max_ms;        /* 30000 */
    int plugin_credit;       /* dispatches a plugin may hold at once: 64 */
    size_t max_body_bytes;   /* HTTP request bodies: 65536 */
    cg_plugin_conf *plugins;
    size_t n_plugins;
    cg_route_conf *routes;
    size_t n_routes;
} cg_config;

/* Load and validate. On error returns -1 and writes "file:line: reason" to err. */
int cg_config_load(const char *path, cg_config *out, char *err, size_t errlen);
void cg_config_free(cg_config *cfg);

/* "host:port" -> parts. 0 ok, -1 malformed. *host is malloc'd. */
int cg_config_parse_listen(const char *text, char **host, int *port);

#endif
