/*
 * config.h — the admin's libconfig file, read into plain structs.
 *
 * Layout of the file (see etc/citygrid.cfg):
 *   listen = "127.0.0.1:8080"; state_dir = "..."; log_level = "info";
 *   bus = { endpoint = "inproc://citygrid-bus"; heartbeat_ms = 1000; ... };
 *   http = { max_body_bytes = 65536; };
 *   routes = ( { category = "landscaping"; department = "municipal"; sla_hours = 24.0;
 *                requires_after_photo = false; } );
 *   evidence = { max_photo_bytes = 5242880; };
 *   duplicates = { radius_m = 50.0; window_hours = 72.0; };
 *   plugins = ( { name = "..."; path = "..."; enabled = true; mode = "thread"; settings = {...}; } );
 *   plugin_conf_dir = "plugins.d";   // each *.cfg in it holds one `plugin = { ... };`
 *   dataset_dir = "../contrib/lishui"; // places.csv, grids.geojson, roster.csv ("" = none)
 *   plugind = "/usr/bin/citygrid-plugind";  // optional: default next to citygridd
 *   console = { dir = "../contrib/console"; javascript_dir = "/usr/share/javascript"; tiles = ""; };
 * Process and remote mode (plugin `mode`):
 *   process: citygridd starts citygrid-plugind for the plugin; it connects to
 *     bus.ipc_endpoint (default ipc://STATE_DIR/bus.ipc).
 *   remote: citygrid-plugind runs on the department's host and connects to
 *     bus.remote_bind over tcp with CURVE; the plugin group names its
 *     `department` (no path needed), and bus needs server_key (the core's
 *     keypair file, mode 0600) and a `clients` allow-list entry
 *     { department = "market"; key = "keys/market.pub"; } for it. Each key
 *     maps to exactly one department.
 * Relative paths (state_dir, plugin paths, plugin_conf_dir) are resolved
 * against the directory of the file that names them.
 *
 * Errors carry "FILE:LINE: what is wrong". Owned by the caller; main thread.
 */
#ifndef CG_CONFIG_H
#define CG_CONFIG_H

#include <stddef.h>

#define CG_ASSESS_N_WEIGHTS 7 /* the assessment's indicators (assessment.h) */

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
    char *department;    /* remote mode: the department it serves (else NULL) */
    /* `subscribe = [ ... ]` (issue 4): which workflow events of OTHER
     * departments' cases this plugin also gets (subscribe.h). Each term is
     * "all", an event kind ("transition", "escalation"), a level ("grid",
     * "community", "joint", "city") or a department code. NULL/0: none. */
    char **subscribe;
    size_t n_subscribe;
    int subscribe_line;  /* where `subscribe` is, for messages */
} cg_plugin_conf;

/* bus.clients: a remote department's public key (allow-list of the ZAP handler). */
typedef struct cg_client_key_conf {
    char *department;
    char *key_file;      /* absolute */
    char public_key[41]; /* Z85, read from key_file at load */
    char *file;
    int line;
} cg_client_key_conf;

/* inbound.sources: a platform that posts signed reports (host/inbound.h). */
typedef struct cg_inbound_source_conf {
    char *name;          /* [a-z0-9_-]: the URL's {source}, the case's "inbound:NAME" */
    char *key;           /* the HMAC key: `key`, or the first line of `key_file` */
    char *file;
    int line;
} cg_inbound_source_conf;

typedef struct cg_route_conf {
    char *category;
    char *department;    /* NULL: keep the built-in owner */
    double sla_hours;    /* < 0: keep the built-in SLA */
    char *name, *name_zh;/* for categories the config adds (may be NULL) */
    int requires_after_photo; /* review needs an "after" photo: 1 yes, -1 no, 0 keep the default */
    char *file;
    int line;
} cg_route_conf;

/* escalation.city.routes: which city body takes a case that reaches level
 * `city` (citybody.h). A route matches when every key it names matches. */
typedef struct cg_city_route_conf {
    char *category;      /* NULL: any category */
    char *district;      /* the case grid's district (grids.district, e.g.
                            "devzone" for the Development Zone); NULL: any */
    char *body;          /* city_enforcement_bureau, civilisation_office,
                            district_government, zone_committee */
    char *file;
    int line;
} cg_city_route_conf;

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
    /* http = { max_connections = 512; header_timeout = 10; body_timeout = 120;
     *   idle_timeout = 60; } (seconds; http_gate.h) */
    unsigned http_max_connections;
    unsigned http_header_timeout_ms;
    unsigned http_body_timeout_ms;
    unsigned http_idle_timeout_ms;
    /* http = { session_ttl = 43200; terminal_token_ttl = 7776000; } (seconds):
     * how long a login's token lives, and a terminal's (people/auth.h). */
    long long session_ttl_s;
    long long terminal_token_ttl_s;
    char *dataset_dir;       /* grids + roster imported on first start (absolute),
                                NULL: none. Default: the installed Lishui dataset */
    cg_plugin_conf *plugins;
    size_t n_plugins;
    cg_route_conf *routes;
    size_t n_routes;
    /* Process and remote mode. */
    char *plugind_path;      /* `plugind`; NULL: citygrid-plugind next to citygridd */
    char *bus_ipc_endpoint;  /* bus.ipc_endpoint; NULL: ipc://STATE_DIR/bus.ipc */
    char *remote_bind;       /* bus.remote_bind, tcp://ADDR:PORT; NULL: no remote link */
    char *server_key_file;   /* bus.server_key: the core's keypair file (absolute) */
    cg_client_key_conf *clients; /* bus.clients */
    size_t n_clients;
    int max_attempts;        /* bus.max_attempts: failed deliveries before dead letter: 5 */
    /* attendance = { checkin_radius_m = 200.0; patrol_min_minutes = 30;
     *   patrol_days_per_week = 2; patrol_max_gap_minutes = 10; } (issue 6) */
    double checkin_radius_m;   /* a check-in counts this close to the grid office: 200 */
    int patrol_min_minutes;    /* time inside a grid that makes a patrol day: 30 */
    int patrol_days_per_week;  /* patrol days required per grid and ISO week: 2 */
    int patrol_max_gap_minutes;/* two track points further apart are not joined: 10 */
    /* evidence = { max_photo_bytes = 5242880; } (issue 4): the photo upload limit. */
    size_t max_photo_bytes;
    /* duplicates = { radius_m = 50.0; window_hours = 72.0; } (issue 4): a new
     * report this close to an open case of its category, reported within the
     * window, is flagged as a likely duplicate. radius_m = 0 turns it off. */
    double duplicate_radius_m;
    double duplicate_window_hours;
    /* escalation = { city = { default = "city_enforcement_bureau";
     *   routes = ( { category = "..."; district = "..."; body = "..."; } ); }; }
     * (issue 4): the body a case at level `city` goes to; the first route
     * that matches, else the default. */
    char *city_default_body;   /* "city_enforcement_bureau" */
    cg_city_route_conf *city_routes;
    size_t n_city_routes;
    /* assessment = { weights = { patrol_discovery_rate = 1.0; ... };
     *   grid_share = 0.3; commend_top = 3; } (issue 6, assessment.h): the
     * indicators' weights in the order of cg_assess_keys (each 0..1000, not
     * all 0; default 1), the share of a member's score taken from their
     * grids' (0..1), how many are commended per role and year. */
    double assessment_weights[CG_ASSESS_N_WEIGHTS];
    double assessment_grid_share;
    int assessment_commend_top;
    /* console = { dir = "..."; javascript_dir = "/usr/share/javascript";
     * tiles = ""; } (static.c): the web console's files (default: the
     * installed $(datadir)/citygrid/console), where Debian's libjs-leaflet
     * and libjs-chart.js live, and an optional map tile URL template
     * ("" or absent: no tiles, the grids alone). */
    char *console_dir;
    char *javascript_dir;
    char *console_tiles;     /* NULL: none */
    /* open311 = { jurisdiction_id = "lishui.gov.cn"; rate_per_minute = 600; }
     * (http/open311.h): the jurisdiction a client may name, and each api_key's
     * rate. */
    char *open311_jurisdiction;
    int open311_rate_per_minute;
    /* inbound = { window_s = 300; sources = ( { name = "ilishui";
     *   key_file = "keys/ilishui.key"; } ); } (host/inbound.h): platforms
     * that post signed reports, and the replay window of their timestamps. */
    int inbound_window_s;
    cg_inbound_source_conf *inbound_sources;
    size_t n_inbound_sources;
} cg_config;

/* Does any enabled plugin use this mode? */
int cg_config_uses_mode(const cg_config *cfg, cg_plugin_mode mode);

/* Load and validate. On error returns -1 and writes "file:line: reason" to err. */
int cg_config_load(const char *path, cg_config *out, char *err, size_t errlen);
void cg_config_free(cg_config *cfg);

/* "host:port" -> parts. 0 ok, -1 malformed. *host is malloc'd. */
int cg_config_parse_listen(const char *text, char **host, int *port);

#endif
