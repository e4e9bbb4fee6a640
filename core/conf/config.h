/*
 * config.h — the admin's libconfig file, read into plain structs: one struct
 * per module (the bus's, the HTTP server's, attendance, evidence, duplicates,
 * escalation, the assessment, the console), each a member of cg_config that the module
 * reads and nothing else fills. Every key, its type, range, default and
 * description is declared once, in config.c's schema table (schema.h); the
 * reader, the defaults and citygrid.cfg(5) come from that table.
 *
 * The keys, their ranges and defaults: citygrid.cfg(5) (contrib/man), or
 * `citygridd --config-schema=scdoc`; an example: etc/citygrid.cfg.
 *
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
#include <stdio.h>

#include "lib/netaddr.h"

#define CG_ASSESS_N_WEIGHTS 7 /* the assessment's indicators (assessment.h) */

typedef enum cg_plugin_mode { CG_MODE_THREAD = 0, CG_MODE_PROCESS, CG_MODE_REMOTE } cg_plugin_mode;
const char *cg_plugin_mode_name(cg_plugin_mode mode);

typedef struct cg_plugin_conf {
    char *name;
    char *path;          /* absolute after loading ("" for a remote plugin) */
    int enabled;
    int required;        /* startup fails if this plugin cannot load */
    cg_plugin_mode mode;
    char *settings_json; /* the `settings` group as a JSON object ("{}" if none) */
    char *department;    /* remote mode: the department it serves (else NULL) */
    /* Which workflow events of OTHER departments' cases this plugin also
     * gets (subscribe.h). Each term is "all", an event kind ("transition",
     * "escalation"), a level ("grid", "community", "joint", "city") or a
     * department code. NULL/0: none. */
    char **subscribe;
    size_t n_subscribe;
    int subscribe_line;  /* where `subscribe` is, for messages */
    char *file;          /* where it was defined, for messages */
    int line;
} cg_plugin_conf;

/* bus.clients: a remote department's public key (allow-list of the ZAP handler). */
typedef struct cg_client_key_conf {
    char *department;
    char *key_file;      /* absolute */
    char public_key[41]; /* Z85, read from key_file at load */
    char *file;
    int line;
} cg_client_key_conf;

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
 * `city` (case/citybody.h). A route matches when every key it names matches. */
typedef struct cg_city_route_conf {
    char *category;      /* NULL: any category */
    char *district;      /* the case grid's district (grids.district, e.g.
                            "devzone" for the Development Zone); NULL: any */
    char *body;          /* one of cg_city_body_codes_allowed */
    char *file;
    int line;
} cg_city_route_conf;

/* The city bodies a case at level `city` may go to (case/citybody.h names
 * them in Chinese), NULL-terminated. */
extern const char *const cg_city_body_codes_allowed[];

/* bus = { ... }: the bus (wire/bus.h) and how plugins reach it. */
typedef struct cg_bus_conf {
    char *endpoint;          /* where the ROUTER binds for in-process plugins */
    int heartbeat_ms;
    int lease_ms;            /* how long a delivery may stay unanswered */
    int retry_base_ms;       /* first re-delivery delay, doubled each attempt */
    int retry_max_ms;
    int plugin_credit;       /* dispatches a plugin may hold at once */
    int max_attempts;        /* failed deliveries before dead letter */
    char *ipc_endpoint;      /* NULL: ipc://STATE_DIR/bus.ipc */
    char *remote_bind;       /* tcp://ADDR:PORT; NULL: no remote link */
    char *server_key;        /* the core's keypair file (absolute) */
    cg_client_key_conf *clients;
    size_t n_clients;
} cg_bus_conf;

/* http = { ... }: the HTTP server (http/). */
typedef struct cg_http_conf {
    size_t max_body_bytes;   /* JSON request bodies */
    int max_connections;     /* open connections (http_gate.h) */
    int header_timeout;      /* seconds for a whole request head */
    int body_timeout;        /* seconds for a body */
    int idle_timeout;        /* seconds a kept-alive connection may idle */
    int session_ttl;         /* seconds a login's token lives (people/auth.h) */
    int terminal_token_ttl;  /* seconds any other token lives */
    /* Reverse proxies whose header names the client (http/client_addr.h);
     * none: the socket's address is the client's. */
    cg_netrange *trusted_proxies;
    size_t n_trusted_proxies;
    int proxy_header;        /* CG_PROXY_HEADER_*: which header they set */
    int password_workers;    /* argon2id threads (host/workers.h) */
} cg_http_conf;

enum { CG_PROXY_HEADER_XFF = 0, CG_PROXY_HEADER_REAL_IP = 1 };

/* tls = { ... }: HTTPS on the listener (http/http.c, lib/tls.h). Both NULL:
 * plain HTTP. The files are checked when the config is read. */
typedef struct cg_tls_conf {
    char *cert;              /* PEM certificate chain (absolute) */
    char *key;               /* PEM private key, unencrypted (absolute) */
} cg_tls_conf;

/* attendance = { ... }: check-ins and patrols (routine/attendance.h, patrols.h). */
typedef struct cg_attendance_conf {
    double checkin_radius_m;   /* a check-in counts this close to the grid office */
    int patrol_min_minutes;    /* time inside a grid that makes a patrol day */
    int patrol_days_per_week;  /* patrol days required per grid and ISO week */
    int patrol_max_gap_minutes;/* two track points further apart are not joined */
} cg_attendance_conf;

/* evidence = { ... }: photos attached to cases (case/evidence.h). */
typedef struct cg_evidence_conf {
    size_t max_photo_bytes;
} cg_evidence_conf;

/* duplicates = { ... } (case/duplicates.h): a new report this close to an
 * open case of its category, reported within the window, is flagged as a
 * likely duplicate. radius_m = 0 turns it off. */
typedef struct cg_duplicates_conf {
    double radius_m;
    double window_hours;
} cg_duplicates_conf;

/* escalation = { city = { ... }; } (case/citybody.h): the body a case at
 * level `city` goes to: the first route that matches, else the default. */
typedef struct cg_escalation_conf {
    char *city_default;
    cg_city_route_conf *city_routes;
    size_t n_city_routes;
} cg_escalation_conf;

/* assessment = { ... } (routine/assessment.h): the indicators' weights in
 * the order of cg_assess_keys, the share of a member's score taken from
 * their grids', how many are commended per role and year. */
typedef struct cg_assessment_conf {
    double weights[CG_ASSESS_N_WEIGHTS];
    double grid_share;
    int commend_top;
} cg_assessment_conf;

/* inbound.sources: a platform that posts signed reports (host/inbound.h). */
typedef struct cg_inbound_source_conf {
    char *name;          /* [a-z0-9_-]: the URL's {source}, the case's "inbound:NAME" */
    char *key;           /* the HMAC key: `key`, or the first line of `key_file` */
    char *file;
    int line;
} cg_inbound_source_conf;

/* sources.rules: who may query a data source (sources/policy.h). */
typedef struct cg_source_rule_conf {
    char *role;          /* leader, instructor, fulltime, professional, optional */
    char *department;    /* a department code; "*" (the default): any */
    char *source;        /* a source name */
    char *whole;         /* fields shown unmasked, comma-separated; "*": all; "": none */
    char *file;
    int line;
} cg_source_rule_conf;

/* sources = { ... }: data-source queries and their audit (sources/query.h). */
typedef struct cg_sources_conf {
    int timeout_ms;          /* how long a caller waits for a source plugin */
    int max_rows;            /* rows per query */
    int daily_limit;         /* queries per member per city day */
    int retention_days;      /* audit rows kept this long; 0: forever */
    cg_source_rule_conf *rules; /* NULL/0: the built-in rules (policy.h) */
    size_t n_rules;
} cg_sources_conf;

/* console = { ... }: the web console (http/static.c). */
typedef struct cg_console_conf {
    char *dir;               /* its files (absolute) */
    char *javascript_dir;    /* Debian's libjs-leaflet and libjs-chart.js (absolute) */
    char *tiles;             /* a map tile URL template; NULL: no tiles */
} cg_console_conf;

typedef struct cg_config {
    char *path;              /* the main file, absolute */
    char *listen_host;       /* from `listen` */
    int listen_port;
    char *metrics_host;      /* from `metrics_listen`; NULL: /metrics only on listen */
    int metrics_port;
    char *state_dir;         /* absolute */
    int log_level;           /* citygrid_log_level */
    char *dataset_dir;       /* grids + roster imported on first start (absolute);
                                NULL: none */
    char *plugind_path;      /* `plugind`; NULL: citygrid-plugind next to citygridd */
    cg_route_conf *routes;
    size_t n_routes;
    cg_plugin_conf *plugins; /* the `plugins` list, then plugin_conf_dir's files */
    size_t n_plugins;
    cg_bus_conf bus;
    cg_http_conf http;
    cg_tls_conf tls;
    cg_attendance_conf attendance;
    cg_evidence_conf evidence;
    cg_duplicates_conf duplicates;
    cg_escalation_conf escalation;
    cg_assessment_conf assessment;
    cg_console_conf console;
    cg_sources_conf sources;
    /* open311 = { ... } (http/open311.h): the jurisdiction a client may
     * name (NULL: the built-in one), each api_key's rate (0: built-in). */
    char *open311_jurisdiction;
    int open311_rate_per_minute;
    /* inbound = { ... } (host/inbound.h): platforms that post signed
     * reports, and the replay window of their timestamps (0: built-in). */
    int inbound_window_s;
    cg_inbound_source_conf *inbound_sources;
    size_t n_inbound_sources;
} cg_config;

/* Does any enabled plugin use this mode? */
int cg_config_uses_mode(const cg_config *cfg, cg_plugin_mode mode);

/* Load and validate. On error returns -1 and writes "file:line: reason" to
 * err (out is then freed). */
int cg_config_load(const char *path, cg_config *out, char *err, size_t errlen);
/* Every key at its default, as for an empty file (no path). For tests and
 * tools that build a config without a file; free with cg_config_free. */
void cg_config_defaults(cg_config *cfg);
void cg_config_free(cg_config *cfg);

/* "host:port" -> parts. 0 ok, -1 malformed. *host is malloc'd. */
int cg_config_parse_listen(const char *text, char **host, int *port);

/* The key reference of citygrid.cfg(5), from the schema: "scdoc". 0 ok, -1
 * for an unknown format. */
int cg_config_print_schema(const char *format, FILE *out);

#endif
