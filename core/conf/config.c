/*
 * config.c — read the admin's libconfig file into cg_config (see config.h).
 *
 * Every error names the file and line: libconfig gives them for syntax
 * errors, config_setting_source_line() for settings we refuse. Unknown keys
 * are refused too: a typo in a city's config should stop startup, not be
 * silently ignored.
 */
#include "conf/config.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "case/citybody.h"
#include "lib/curvekeys.h"
#include "lib/log.h"

static const char *const mode_names[] = {"thread", "process", "remote"};

const char *cg_plugin_mode_name(cg_plugin_mode mode)
{
    return (unsigned)mode < 3 ? mode_names[mode] : "?";
}

/* Error reporting: "file:line: message". */
typedef struct cfg_ctx {
    const char *file;   /* the file being read */
    char *dir;          /* its directory, for relative paths */
    char *err;
    size_t errlen;
} cfg_ctx;

__attribute__((format(printf, 3, 4)))
static int fail_at(cfg_ctx *cx, const config_setting_t *s, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *file = s && config_setting_source_file(s) ? config_setting_source_file(s) : cx->file;
    int line = s ? (int)config_setting_source_line(s) : 0;
    snprintf(cx->err, cx->errlen, "%s:%d: %s", file, line, msg);
    return -1;
}

static char *dir_of(const char *path)
{
    char *copy = strdup(path);
    char *slash = strrchr(copy, '/');
    if (!slash) {
        free(copy);
        return strdup(".");
    }
    if (slash == copy)
        slash[1] = 0;
    else
        *slash = 0;
    return copy;
}

/* Resolve `path` against `dir` unless it is absolute. */
static char *resolve(const char *dir, const char *path)
{
    if (path[0] == '/')
        return strdup(path);
    size_t n = strlen(dir) + strlen(path) + 2;
    char *out = malloc(n);
    snprintf(out, n, "%s/%s", dir, path);
    return out;
}

int cg_config_parse_listen(const char *text, char **host, int *port)
{
    const char *colon = text ? strrchr(text, ':') : NULL;
    if (!colon || colon == text)
        return -1;
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || p < 0 || p > 65535)
        return -1;
    const char *h = text;
    size_t hlen = (size_t)(colon - text);
    if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') { /* [::1]:8080 */
        h++;
        hlen -= 2;
    }
    *host = strndup(h, hlen);
    *port = (int)p;
    return 0;
}

/* ---------------------------------------------------------------- helpers */

static int check_keys(cfg_ctx *cx, const config_setting_t *group, const char *const *allowed,
                      const char *where)
{
    int n = config_setting_length(group);
    for (int i = 0; i < n; i++) {
        config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(s);
        int known = 0;
        for (const char *const *a = allowed; *a; a++)
            if (name && strcmp(name, *a) == 0)
                known = 1;
        if (!known)
            return fail_at(cx, s, "unknown setting '%s' in %s", name ? name : "?", where);
    }
    return 0;
}

/* Optional string member; returns -1 (error set) if present with another type. */
static int get_string(cfg_ctx *cx, const config_setting_t *group, const char *key, char **out)
{
    config_setting_t *s = config_setting_get_member(group, key);
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return fail_at(cx, s, "'%s' must be a string", key);
    free(*out);
    *out = strdup(config_setting_get_string(s));
    return 0;
}

static int get_int(cfg_ctx *cx, const config_setting_t *group, const char *key, int *out,
                   int min, int max)
{
    config_setting_t *s = config_setting_get_member(group, key);
    if (!s)
        return 0;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
        return fail_at(cx, s, "'%s' must be an integer", key);
    long long v = config_setting_get_int64(s);
    if (v < min || v > max)
        return fail_at(cx, s, "'%s' must be between %d and %d (got %lld)", key, min, max, v);
    *out = (int)v;
    return 0;
}

static int get_bool(cfg_ctx *cx, const config_setting_t *group, const char *key, int *out)
{
    config_setting_t *s = config_setting_get_member(group, key);
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_BOOL)
        return fail_at(cx, s, "'%s' must be true or false", key);
    *out = config_setting_get_bool(s);
    return 0;
}

static int get_double(cfg_ctx *cx, const config_setting_t *group, const char *key, double *out)
{
    config_setting_t *s = config_setting_get_member(group, key);
    if (!s)
        return 0;
    int t = config_setting_type(s);
    if (t == CONFIG_TYPE_FLOAT)
        *out = config_setting_get_float(s);
    else if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64)
        *out = (double)config_setting_get_int64(s);
    else
        return fail_at(cx, s, "'%s' must be a number", key);
    return 0;
}

/* A libconfig setting as JSON, for plugin settings (the runtime reads JSON). */
static json_t *setting_to_json(const config_setting_t *s)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return json_integer(config_setting_get_int64(s));
    case CONFIG_TYPE_FLOAT:
        return json_real(config_setting_get_float(s));
    case CONFIG_TYPE_STRING:
        return json_string(config_setting_get_string(s));
    case CONFIG_TYPE_BOOL:
        return json_boolean(config_setting_get_bool(s));
    case CONFIG_TYPE_GROUP: {
        json_t *obj = json_object();
        for (int i = 0; i < config_setting_length(s); i++) {
            config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
            json_object_set_new(obj, config_setting_name(m), setting_to_json(m));
        }
        return obj;
    }
    case CONFIG_TYPE_ARRAY:
    case CONFIG_TYPE_LIST: {
        json_t *arr = json_array();
        for (int i = 0; i < config_setting_length(s); i++)
            json_array_append_new(arr, setting_to_json(config_setting_get_elem(s, (unsigned)i)));
        return arr;
    }
    default:
        return json_null();
    }
}

/* ---------------------------------------------------------------- plugins */

static int valid_name(const char *s)
{
    if (!s || !*s || strlen(s) > 48)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

static void free_subscribe(cg_plugin_conf *p)
{
    for (size_t i = 0; i < p->n_subscribe; i++)
        free(p->subscribe[i]);
    free(p->subscribe);
    p->subscribe = NULL;
    p->n_subscribe = 0;
}

/* subscribe = [ "all" | "transition" | "escalation" | a level | a department
 * code, ... ] (subscribe.h). Department codes are checked against the
 * catalog at startup (cg_subscribe_check); here only their shape. */
static int read_subscribe(cfg_ctx *cx, const config_setting_t *g, cg_plugin_conf *p)
{
    config_setting_t *s = config_setting_get_member(g, "subscribe");
    if (!s)
        return 0;
    p->subscribe_line = (int)config_setting_source_line(s);
    int t = config_setting_type(s);
    int n = (t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST) ? config_setting_length(s) : 0;
    if (n == 0)
        return fail_at(cx, s, "plugin '%s': 'subscribe' must be a non-empty list of strings, "
                       "e.g. [ \"all\" ] or [ \"escalation\", \"joint\", \"city\" ]", p->name);
    p->subscribe = calloc((size_t)n, sizeof *p->subscribe);
    for (int i = 0; p->subscribe && i < n; i++) {
        config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *term = config_setting_type(e) == CONFIG_TYPE_STRING
                               ? config_setting_get_string(e) : NULL;
        if (!term || !valid_name(term) || strlen(term) >= 32)
            return fail_at(cx, s, "plugin '%s': subscribe[%d] must be \"all\", \"transition\", "
                           "\"escalation\", a level or a department code (a-z, 0-9, '_', '-')",
                           p->name, i);
        for (size_t k = 0; k < p->n_subscribe; k++)
            if (!strcmp(p->subscribe[k], term))
                return fail_at(cx, s, "plugin '%s': subscribe lists '%s' twice", p->name, term);
        if (!strcmp(term, "all") && n > 1)
            return fail_at(cx, s, "plugin '%s': subscribe: \"all\" takes no other terms",
                           p->name);
        p->subscribe[p->n_subscribe++] = strdup(term);
    }
    return 0;
}

static int parse_plugin(cfg_ctx *cx, const config_setting_t *g, cg_plugin_conf *p)
{
    static const char *const keys[] = {"name", "path", "enabled", "required", "mode",
                                       "settings", "department", "subscribe", NULL};
    memset(p, 0, sizeof *p);
    if (config_setting_type(g) != CONFIG_TYPE_GROUP)
        return fail_at(cx, g, "a plugin must be a group { name = ...; path = ...; }");
    if (check_keys(cx, g, keys, "a plugin group") < 0)
        return -1;
    p->enabled = 1;
    p->file = strdup(config_setting_source_file(g) ? config_setting_source_file(g) : cx->file);
    p->line = (int)config_setting_source_line(g);
    char *mode = NULL, *path = NULL;
    if (get_string(cx, g, "name", &p->name) < 0 || get_string(cx, g, "path", &path) < 0 ||
        get_bool(cx, g, "enabled", &p->enabled) < 0 ||
        get_bool(cx, g, "required", &p->required) < 0 || get_string(cx, g, "mode", &mode) < 0 ||
        get_string(cx, g, "department", &p->department) < 0)
        goto bad;
    if (!p->name) {
        fail_at(cx, g, "plugin without a 'name'");
        goto bad;
    }
    if (!valid_name(p->name)) {
        fail_at(cx, g, "plugin name '%s' must be 1-48 characters of a-z, 0-9, '_' or '-'",
                p->name);
        goto bad;
    }
    int remote = mode && strcmp(mode, "remote") == 0;
    if ((!path || !*path) && !remote) {
        fail_at(cx, g, "plugin '%s' has no 'path' to its .so", p->name);
        goto bad;
    }
    p->path = path && *path ? resolve(cx->dir, path) : strdup("");
    p->mode = CG_MODE_THREAD;
    if (mode) {
        int found = -1;
        for (int m = 0; m < 3; m++)
            if (strcmp(mode, mode_names[m]) == 0)
                found = m;
        if (found < 0) {
            fail_at(cx, config_setting_get_member(g, "mode"),
                    "plugin '%s': mode '%s' is not one of thread, process, remote", p->name, mode);
            goto bad;
        }
        p->mode = (cg_plugin_mode)found;
    }
    if (p->mode == CG_MODE_REMOTE && (!p->department || !valid_name(p->department))) {
        fail_at(cx, g, "plugin '%s': mode 'remote' needs the 'department' it serves (a-z, 0-9, "
                "'_' or '-'): its .so runs on the department's host", p->name);
        goto bad;
    }
    if (p->mode != CG_MODE_REMOTE && p->department) {
        fail_at(cx, config_setting_get_member(g, "department"), "plugin '%s': 'department' is "
                "only for mode 'remote' (a local plugin's .so names its department)", p->name);
        goto bad;
    }
    config_setting_t *settings = config_setting_get_member(g, "settings");
    if (settings && config_setting_type(settings) != CONFIG_TYPE_GROUP) {
        fail_at(cx, settings, "plugin '%s': 'settings' must be a group { ... }", p->name);
        goto bad;
    }
    json_t *js = settings ? setting_to_json(settings) : json_object();
    p->settings_json = json_dumps(js, JSON_COMPACT);
    json_decref(js);
    if (read_subscribe(cx, g, p) < 0)
        goto bad;
    free(mode);
    free(path);
    return 0;
bad:
    free(mode);
    free(path);
    return -1;
}

static int add_plugin(cfg_ctx *cx, cg_config *cfg, const config_setting_t *g)
{
    cg_plugin_conf p;
    if (parse_plugin(cx, g, &p) < 0) {
        free(p.name); free(p.path); free(p.file); free(p.settings_json); free(p.department);
        free_subscribe(&p);
        return -1;
    }
    for (size_t i = 0; i < cfg->n_plugins; i++)
        if (strcmp(cfg->plugins[i].name, p.name) == 0) {
            fail_at(cx, g, "plugin '%s' is defined twice (first at %s:%d)", p.name,
                    cfg->plugins[i].file, cfg->plugins[i].line);
            free(p.name); free(p.path); free(p.file); free(p.settings_json); free(p.department);
            free_subscribe(&p);
            return -1;
        }
    cfg->plugins = realloc(cfg->plugins, (cfg->n_plugins + 1) * sizeof *cfg->plugins);
    cfg->plugins[cfg->n_plugins++] = p;
    return 0;
}

static int read_plugin_list(cfg_ctx *cx, cg_config *cfg, const config_setting_t *list)
{
    int t = config_setting_type(list);
    if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY)
        return fail_at(cx, list, "'plugins' must be a list ( { ... }, { ... } )");
    for (int i = 0; i < config_setting_length(list); i++)
        if (add_plugin(cx, cfg, config_setting_get_elem(list, (unsigned)i)) < 0)
            return -1;
    return 0;
}

static int cfg_file_filter(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 4 && strcmp(d->d_name + n - 4, ".cfg") == 0;
}

/* Each *.cfg in the directory holds one `plugin = { ... };` group. */
static int read_plugin_dir(cfg_ctx *parent, cg_config *cfg, const char *dir)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, cfg_file_filter, alphasort);
    if (n < 0) {
        snprintf(parent->err, parent->errlen, "%s: cannot read plugin_conf_dir %s: %s",
                 parent->file, dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        char *path = resolve(dir, names[i]->d_name);
        config_t lc;
        config_init(&lc);
        cfg_ctx cx = {.file = path, .dir = dir_of(path), .err = parent->err, .errlen = parent->errlen};
        if (config_read_file(&lc, path) != CONFIG_TRUE) {
            snprintf(cx.err, cx.errlen, "%s:%d: %s",
                     config_error_file(&lc) ? config_error_file(&lc) : path,
                     config_error_line(&lc), config_error_text(&lc));
            rc = -1;
        } else {
            static const char *const keys[] = {"plugin", NULL};
            config_setting_t *root = config_root_setting(&lc);
            config_setting_t *g = config_setting_get_member(root, "plugin");
            if (check_keys(&cx, root, keys, path) < 0)
                rc = -1;
            else if (!g)
                rc = fail_at(&cx, NULL, "no 'plugin = { ... };' group in this file");
            else
                rc = add_plugin(&cx, cfg, g);
        }
        config_destroy(&lc);
        free(cx.dir);
        free(path);
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* ---------------------------------------------------------------- routes */

static int read_routes(cfg_ctx *cx, cg_config *cfg, const config_setting_t *list)
{
    static const char *const keys[] = {"category", "department", "sla_hours", "name", "name_zh",
                                       "requires_after_photo", NULL};
    int t = config_setting_type(list);
    if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY)
        return fail_at(cx, list, "'routes' must be a list ( { category = ...; }, ... )");
    int n = config_setting_length(list);
    cfg->routes = calloc((size_t)n + 1, sizeof *cfg->routes);
    for (int i = 0; i < n; i++) {
        config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        if (config_setting_type(g) != CONFIG_TYPE_GROUP)
            return fail_at(cx, g, "a route must be a group { category = ...; }");
        cg_route_conf *r = &cfg->routes[cfg->n_routes++];
        r->sla_hours = -1;
        int after_photo = -1;
        r->file = strdup(config_setting_source_file(g) ? config_setting_source_file(g) : cx->file);
        r->line = (int)config_setting_source_line(g);
        if (check_keys(cx, g, keys, "a route") < 0 ||
            get_string(cx, g, "category", &r->category) < 0 ||
            get_string(cx, g, "department", &r->department) < 0 ||
            get_double(cx, g, "sla_hours", &r->sla_hours) < 0 ||
            get_string(cx, g, "name", &r->name) < 0 || get_string(cx, g, "name_zh", &r->name_zh) < 0 ||
            get_bool(cx, g, "requires_after_photo", &after_photo) < 0)
            return -1;
        if (after_photo >= 0)
            r->requires_after_photo = after_photo ? 1 : -1;
        if (!r->category || !valid_name(r->category))
            return fail_at(cx, g, "a route needs a 'category' code of a-z, 0-9, '_' or '-'");
        if (config_setting_get_member(g, "sla_hours") && !(r->sla_hours > 0))
            return fail_at(cx, config_setting_get_member(g, "sla_hours"),
                           "'sla_hours' must be above 0 (fractions allowed)");
    }
    return 0;
}

/* ---------------------------------------------------------------- main file */

/* bus.clients = ( { department = "..."; key = "FILE"; }, ... ) */
static int read_clients(cfg_ctx *cx, cg_config *cfg, const config_setting_t *list)
{
    static const char *const keys[] = {"department", "key", NULL};
    int t = config_setting_type(list);
    if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY)
        return fail_at(cx, list, "'clients' must be a list ( { department = ...; key = ...; } )");
    int n = config_setting_length(list);
    cfg->clients = calloc((size_t)n + 1, sizeof *cfg->clients);
    for (int i = 0; i < n; i++) {
        config_setting_t *g = config_setting_get_elem(list, (unsigned)i);
        if (config_setting_type(g) != CONFIG_TYPE_GROUP)
            return fail_at(cx, g, "a bus client must be a group { department = ...; key = ...; }");
        cg_client_key_conf *c = &cfg->clients[cfg->n_clients++];
        c->file = strdup(config_setting_source_file(g) ? config_setting_source_file(g) : cx->file);
        c->line = (int)config_setting_source_line(g);
        char *key = NULL;
        if (check_keys(cx, g, keys, "a bus client") < 0 ||
            get_string(cx, g, "department", &c->department) < 0 || get_string(cx, g, "key", &key) < 0)
            return free(key), -1;
        if (!c->department || !valid_name(c->department) || !key || !*key) {
            free(key);
            return fail_at(cx, g, "a bus client needs a 'department' code and the 'key' file "
                           "with its public key");
        }
        c->key_file = resolve(cx->dir, key);
        free(key);
        cg_curve_keys k;
        char why[512];
        if (cg_curve_keys_read(c->key_file, 0, &k, why, sizeof why) < 0)
            return fail_at(cx, config_setting_get_member(g, "key"), "%s", why);
        memcpy(c->public_key, k.public_key, sizeof c->public_key);
        for (size_t j = 0; j + 1 < cfg->n_clients; j++)
            if (strcmp(cfg->clients[j].public_key, c->public_key) == 0)
                return fail_at(cx, g, "the key in %s is already listed for department '%s' "
                               "(%s:%d): a key maps to exactly one department", c->key_file,
                               cfg->clients[j].department, cfg->clients[j].file,
                               cfg->clients[j].line);
    }
    return 0;
}

static int read_bus(cfg_ctx *cx, cg_config *cfg, const config_setting_t *g)
{
    static const char *const keys[] = {"endpoint", "heartbeat_ms", "lease_ms", "retry_base_ms",
                                       "retry_max_ms", "plugin_credit", "ipc_endpoint",
                                       "remote_bind", "server_key", "clients", "max_attempts",
                                       NULL};
    if (config_setting_type(g) != CONFIG_TYPE_GROUP)
        return fail_at(cx, g, "'bus' must be a group { ... }");
    if (check_keys(cx, g, keys, "bus") < 0 || get_string(cx, g, "endpoint", &cfg->bus_endpoint) < 0 ||
        get_int(cx, g, "heartbeat_ms", &cfg->heartbeat_ms, 20, 60000) < 0 ||
        get_int(cx, g, "lease_ms", &cfg->lease_ms, 50, 3600000) < 0 ||
        get_int(cx, g, "retry_base_ms", &cfg->retry_base_ms, 1, 600000) < 0 ||
        get_int(cx, g, "retry_max_ms", &cfg->retry_max_ms, 1, 3600000) < 0 ||
        get_int(cx, g, "plugin_credit", &cfg->plugin_credit, 1, 100000) < 0 ||
        get_int(cx, g, "max_attempts", &cfg->max_attempts, 1, 1000) < 0 ||
        get_string(cx, g, "ipc_endpoint", &cfg->bus_ipc_endpoint) < 0 ||
        get_string(cx, g, "remote_bind", &cfg->remote_bind) < 0)
        return -1;
    if (strncmp(cfg->bus_endpoint, "inproc://", 9) != 0)
        return fail_at(cx, config_setting_get_member(g, "endpoint"),
                       "bus endpoint must be inproc://NAME for thread-mode plugins");
    if (cfg->bus_ipc_endpoint && (strncmp(cfg->bus_ipc_endpoint, "ipc://", 6) != 0 ||
                                  strlen(cfg->bus_ipc_endpoint) > 6 + 100))
        return fail_at(cx, config_setting_get_member(g, "ipc_endpoint"),
                       "ipc_endpoint must be ipc://PATH (a path of at most 100 bytes) for "
                       "process-mode plugins");
    if (cfg->remote_bind && strncmp(cfg->remote_bind, "tcp://", 6) != 0)
        return fail_at(cx, config_setting_get_member(g, "remote_bind"),
                       "remote_bind must be tcp://ADDRESS:PORT (remote plugins use tcp + CURVE)");
    char *server_key = NULL;
    if (get_string(cx, g, "server_key", &server_key) < 0)
        return -1;
    if (server_key) {
        free(cfg->server_key_file);
        cfg->server_key_file = resolve(cx->dir, server_key);
        free(server_key);
        cg_curve_keys k;
        char why[512];
        int rc = cg_curve_keys_read(cfg->server_key_file, 1, &k, why, sizeof why);
        explicit_bzero(&k, sizeof k);
        if (rc < 0)
            return fail_at(cx, config_setting_get_member(g, "server_key"), "%s", why);
    }
    if (cfg->remote_bind && !cfg->server_key_file)
        return fail_at(cx, config_setting_get_member(g, "remote_bind"),
                       "remote_bind needs server_key = \"FILE\" (the core's keypair from "
                       "`citygridctl keygen`): remote links are always encrypted");
    config_setting_t *clients = config_setting_get_member(g, "clients");
    if (clients && read_clients(cx, cfg, clients) < 0)
        return -1;
    return 0;
}

/* attendance = { ... } (issue 6): check-in radius and the patrol rule. */
static int read_attendance(cfg_ctx *cx, cg_config *cfg, const config_setting_t *g)
{
    static const char *const keys[] = {"checkin_radius_m", "patrol_min_minutes",
                                       "patrol_days_per_week", "patrol_max_gap_minutes", NULL};
    if (config_setting_type(g) != CONFIG_TYPE_GROUP)
        return fail_at(cx, g, "'attendance' must be a group { ... }");
    double radius = cfg->checkin_radius_m;
    if (check_keys(cx, g, keys, "attendance") < 0 ||
        get_double(cx, g, "checkin_radius_m", &radius) < 0 ||
        get_int(cx, g, "patrol_min_minutes", &cfg->patrol_min_minutes, 1, 24 * 60) < 0 ||
        get_int(cx, g, "patrol_days_per_week", &cfg->patrol_days_per_week, 0, 7) < 0 ||
        get_int(cx, g, "patrol_max_gap_minutes", &cfg->patrol_max_gap_minutes, 1, 12 * 60) < 0)
        return -1;
    if (!(radius > 0 && radius <= 100000))
        return fail_at(cx, config_setting_get_member(g, "checkin_radius_m"),
                       "'checkin_radius_m' must be above 0 and at most 100000 metres");
    cfg->checkin_radius_m = radius;
    return 0;
}

/* evidence = { max_photo_bytes = N; } (issue 4). */
static int read_evidence(cfg_ctx *cx, cg_config *cfg, const config_setting_t *g)
{
    static const char *const keys[] = {"max_photo_bytes", NULL};
    if (config_setting_type(g) != CONFIG_TYPE_GROUP)
        return fail_at(cx, g, "'evidence' must be a group { ... }");
    int max = (int)cfg->max_photo_bytes;
    if (check_keys(cx, g, keys, "evidence") < 0 ||
        get_int(cx, g, "max_photo_bytes", &max, 1024, 64 * 1024 * 1024) < 0)
        return -1;
    cfg->max_photo_bytes = (size_t)max;
    return 0;
}

/* open311 = { jurisdiction_id = "..."; rate_per_minute = N; } */
static int read_open311(cfg_ctx *cx, cg_config *cfg, const config_setting_t *g)
{
    static const char *const keys[] = {"jurisdiction_id", "rate_per_minute", NULL};
    if (config_setting_type(g) != CONFIG_TYPE_GROUP)
        return fail_at(cx, g, "'open311' must be a group { ... }");
    if (check_keys(cx, g, keys, "open311") < 0 ||
        get_string(cx, g, "jurisdiction_id", &cfg->open311_jurisdiction) < 0 ||
        get_int(cx, g, "rate_per_minute", &cfg->open311_rate_per_minute, 1, 1000000) < 0)
        return -1;
    if (cfg->open311_jurisdiction && (!*cfg->open311_jurisdiction || strlen(cfg->open311_jurisdiction) > 128))
        return fail_at(cx, config_setting_get_member(g, "jurisdiction_id"),
                       "'jurisdiction_id' must be 1 to 128 characters, e.g. \"lishui.gov.cn\"");
    return 0;
}

/* The first line of a key file (at least 16 bytes). */
static char *read_key_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char buf[512];
    if (!f)
        return NULL;
    char *line = fgets(buf, sizeof buf, f);
    fclose(f);
    if (!line)
        return NULL;
    buf[strcspn(buf, "\r\n")] = '\0';
    return strdup(buf);
}

/* inbound = { window_s = N; sources = ( { name; key | key_file; } ); } */
static int read_inbound(cfg_ctx *cx, cg_config *cfg, const config_setting_t *g)
{
    static const char *const keys[] = {"window_s", "sources", NULL};
    static const char *const skeys[] = {"name", "key", "key_file", NULL};
    if (config_setting_type(g) != CONFIG_TYPE_GROUP)
        return fail_at(cx, g, "'inbound' must be a group { ... }");
    if (check_keys(cx, g, keys, "inbound") < 0 ||
        get_int(cx, g, "window_s", &cfg->inbound_window_s, 10, 86400) < 0)
        return -1;
    config_setting_t *list = config_setting_get_member(g, "sources");
    if (!list)
        return 0;
    if (config_setting_type(list) != CONFIG_TYPE_LIST)
        return fail_at(cx, list, "'inbound.sources' must be a list ( { name = ...; key_file = ...; } )");
    for (int i = 0; i < config_setting_length(list); i++) {
        config_setting_t *e = config_setting_get_elem(list, (unsigned)i);
        cg_inbound_source_conf c = {0};
        char *key_file = NULL;
        c.line = (int)config_setting_source_line(e);
        if (config_setting_type(e) != CONFIG_TYPE_GROUP)
            return fail_at(cx, e, "an inbound source must be a group { name = ...; key_file = ...; }");
        if (check_keys(cx, e, skeys, "an inbound source") < 0 || get_string(cx, e, "name", &c.name) < 0 ||
            get_string(cx, e, "key", &c.key) < 0 || get_string(cx, e, "key_file", &key_file) < 0)
            goto fail;
        if (!c.name || !valid_name(c.name)) {
            fail_at(cx, e, "an inbound source needs a 'name' (a-z, 0-9, '_', '-')");
            goto fail;
        }
        if (key_file && !c.key) {
            char *abs = resolve(cx->dir, key_file);
            c.key = abs ? read_key_file(abs) : NULL;
            free(abs);
        }
        if (!c.key || strlen(c.key) < 16) {
            fail_at(cx, e, "inbound source '%s' needs a 'key' or a readable 'key_file' of at least 16 bytes",
                    c.name);
            goto fail;
        }
        for (size_t k = 0; k < cfg->n_inbound_sources; k++)
            if (!strcmp(cfg->inbound_sources[k].name, c.name)) {
                fail_at(cx, e, "inbound source '%s' is named twice", c.name);
                goto fail;
            }
        free(key_file);
        c.file = strdup(cx->file);
        cg_inbound_source_conf *n = realloc(cfg->inbound_sources, (cfg->n_inbound_sources + 1) * sizeof c);
        if (!n) {
            free(c.file);
            free(c.name);
            free(c.key);
            return fail_at(cx, e, "out of memory");
        }
        cfg->inbound_sources = n;
        cfg->inbound_sources[cfg->n_inbound_sources++] = c;
        continue;
    fail:
        free(key_file);
        free(c.name);
        free(c.key);
        return -1;
    }
    return 0;
}

/* duplicates = { radius_m = 50.0; window_hours = 72.0; } (issue 4). */
static int read_duplicates(cfg_ctx *cx, cg_config *cfg, const config_setting_t *g)
{
    static const char *const keys[] = {"radius_m", "window_hours", NULL};
    if (config_setting_type(g) != CONFIG_TYPE_GROUP)
        return fail_at(cx, g, "'duplicates' must be a group { ... }");
    double radius = cfg->duplicate_radius_m, window = cfg->duplicate_window_hours;
    if (check_keys(cx, g, keys, "duplicates") < 0 || get_double(cx, g, "radius_m", &radius) < 0 ||
        get_double(cx, g, "window_hours", &window) < 0)
        return -1;
    if (!(radius >= 0 && radius <= 10000))
        return fail_at(cx, config_setting_get_member(g, "radius_m"),
                       "'radius_m' must be from 0 (off) to 10000 metres");
    if (!(window > 0 && window <= 24 * 366))
        return fail_at(cx, config_setting_get_member(g, "window_hours"),
                       "'window_hours' must be above 0 and at most 8784 (a year)");
    cfg->duplicate_radius_m = radius;
    cfg->duplicate_window_hours = window;
    return 0;
}

/* One escalation.city.routes entry. Categories are checked against the
 * catalog at startup (cg_catalog_new does not know routes of bodies). */
static int read_city_route(cfg_ctx *cx, cg_config *cfg, const config_setting_t *g)
{
    static const char *const keys[] = {"category", "district", "body", NULL};
    if (config_setting_type(g) != CONFIG_TYPE_GROUP)
        return fail_at(cx, g, "an escalation.city route must be a group { body = ...; }");
    cg_city_route_conf r = {0};
    r.line = (int)config_setting_source_line(g);
    int rc = -1;
    if (check_keys(cx, g, keys, "an escalation.city route") < 0 ||
        get_string(cx, g, "category", &r.category) < 0 ||
        get_string(cx, g, "district", &r.district) < 0 || get_string(cx, g, "body", &r.body) < 0)
        goto out;
    if (!r.category && !r.district) {
        fail_at(cx, g, "an escalation.city route needs a 'category', a 'district' or both");
        goto out;
    }
    if ((r.category && !valid_name(r.category)) || (r.district && !valid_name(r.district))) {
        fail_at(cx, g, "an escalation.city route's 'category' and 'district' are codes "
                "(a-z, 0-9, '_', '-')");
        goto out;
    }
    if (!r.body || !cg_city_body_zh(r.body)) {
        fail_at(cx, r.body ? config_setting_get_member(g, "body") : g,
                "an escalation.city route needs a 'body': one of %s", cg_city_body_codes());
        goto out;
    }
    r.file = strdup(config_setting_source_file(g) ? config_setting_source_file(g) : cx->file);
    cfg->city_routes = realloc(cfg->city_routes, (cfg->n_city_routes + 1) * sizeof r);
    cfg->city_routes[cfg->n_city_routes++] = r;
    return 0;
out:
    free(r.category); free(r.district); free(r.body);
    return rc;
}

/* escalation = { city = { default = "..."; routes = ( ... ); }; } (issue 4,
 * citybody.h). */
static int read_escalation(cfg_ctx *cx, cg_config *cfg, const config_setting_t *g)
{
    static const char *const keys[] = {"city", NULL}, *const city_keys[] = {"default", "routes", NULL};
    if (config_setting_type(g) != CONFIG_TYPE_GROUP)
        return fail_at(cx, g, "'escalation' must be a group { city = { ... }; }");
    if (check_keys(cx, g, keys, "escalation") < 0)
        return -1;
    config_setting_t *city = config_setting_get_member(g, "city");
    if (!city)
        return 0;
    if (config_setting_type(city) != CONFIG_TYPE_GROUP)
        return fail_at(cx, city, "'escalation.city' must be a group { default = ...; routes = ...; }");
    if (check_keys(cx, city, city_keys, "escalation.city") < 0 ||
        get_string(cx, city, "default", &cfg->city_default_body) < 0)
        return -1;
    if (!cg_city_body_zh(cfg->city_default_body))
        return fail_at(cx, config_setting_get_member(city, "default"),
                       "escalation.city.default must be one of %s", cg_city_body_codes());
    config_setting_t *routes = config_setting_get_member(city, "routes");
    if (!routes)
        return 0;
    int t = config_setting_type(routes);
    if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY)
        return fail_at(cx, routes, "escalation.city.routes must be a list ( { ... }, { ... } )");
    for (int i = 0; i < config_setting_length(routes); i++)
        if (read_city_route(cx, cfg, config_setting_get_elem(routes, (unsigned)i)) < 0)
            return -1;
    return 0;
}

/* assessment = { weights = { KEY = N; ... }; grid_share = 0.3; commend_top = 3; }
 * (issue 6). The weight keys are assessment.h's cg_assess_keys, in order. */
static int read_assessment(cfg_ctx *cx, cg_config *cfg, const config_setting_t *g)
{
    static const char *const keys[] = {"weights", "grid_share", "commend_top", NULL};
    static const char *const weight_keys[CG_ASSESS_N_WEIGHTS + 1] = {
        "patrol_discovery_rate", "timely_disposal_rate", "closure_rate", "satisfaction",
        "attendance_rate", "coordination", "effectiveness", NULL};
    if (config_setting_type(g) != CONFIG_TYPE_GROUP)
        return fail_at(cx, g, "'assessment' must be a group { ... }");
    double share = cfg->assessment_grid_share;
    if (check_keys(cx, g, keys, "assessment") < 0 || get_double(cx, g, "grid_share", &share) < 0 ||
        get_int(cx, g, "commend_top", &cfg->assessment_commend_top, 1, 1000) < 0)
        return -1;
    if (!(share >= 0 && share <= 1))
        return fail_at(cx, config_setting_get_member(g, "grid_share"),
                       "'grid_share' must be from 0 to 1");
    cfg->assessment_grid_share = share;
    config_setting_t *w = config_setting_get_member(g, "weights");
    if (!w)
        return 0;
    if (config_setting_type(w) != CONFIG_TYPE_GROUP)
        return fail_at(cx, w, "'weights' must be a group { patrol_discovery_rate = 1.0; ... }");
    if (check_keys(cx, w, weight_keys, "assessment.weights") < 0)
        return -1;
    double sum = 0;
    for (int i = 0; i < CG_ASSESS_N_WEIGHTS; i++) {
        double v = cfg->assessment_weights[i];
        if (get_double(cx, w, weight_keys[i], &v) < 0)
            return -1;
        if (!(v >= 0 && v <= 1000))
            return fail_at(cx, config_setting_get_member(w, weight_keys[i]),
                           "'%s' must be a weight from 0 to 1000", weight_keys[i]);
        cfg->assessment_weights[i] = v;
        sum += v;
    }
    if (!(sum > 0))
        return fail_at(cx, w, "at least one assessment weight must be above 0");
    return 0;
}

/* Cross-checks once every file is read: what a remote plugin needs. */
static int check_remote_plugins(cfg_ctx *cx, cg_config *cfg)
{
    for (size_t i = 0; i < cfg->n_plugins; i++) {
        const cg_plugin_conf *p = &cfg->plugins[i];
        if (p->mode != CG_MODE_REMOTE)
            continue;
        int keyed = 0;
        for (size_t j = 0; j < cfg->n_clients; j++)
            if (strcmp(cfg->clients[j].department, p->department) == 0)
                keyed = 1;
        const char *missing = !cfg->remote_bind ? "bus.remote_bind (tcp://ADDRESS:PORT)"
                              : !keyed ? "a bus.clients entry with its department's public key"
                                       : NULL;
        if (missing) {
            snprintf(cx->err, cx->errlen, "%s:%d: plugin '%s': mode 'remote' needs %s",
                     p->file, p->line, p->name, missing);
            return -1;
        }
    }
    return 0;
}

/* console = { dir = "..."; javascript_dir = "..."; tiles = "..."; }: where
 * the web console's files and Debian's browser libraries are (static.c). */
static int read_console(cfg_ctx *cx, cg_config *cfg, const config_setting_t *s)
{
    static const char *const keys[] = {"dir", "javascript_dir", "tiles", NULL};
    if (config_setting_type(s) != CONFIG_TYPE_GROUP)
        return fail_at(cx, s, "'console' must be a group { ... }");
    char *dir = NULL, *js = NULL;
    int rc = -1;
    if (check_keys(cx, s, keys, "console") < 0 || get_string(cx, s, "dir", &dir) < 0 ||
        get_string(cx, s, "javascript_dir", &js) < 0 ||
        get_string(cx, s, "tiles", &cfg->console_tiles) < 0)
        goto out;
    if (dir) {
        free(cfg->console_dir);
        cfg->console_dir = resolve(cx->dir, dir);
    }
    if (js) {
        free(cfg->javascript_dir);
        cfg->javascript_dir = resolve(cx->dir, js);
    }
    rc = 0;
out:
    free(dir);
    free(js);
    return rc;
}

static int read_main(cfg_ctx *cx, cg_config *cfg, config_t *lc)
{
    static const char *const keys[] = {"listen", "state_dir", "log_level", "bus", "http",
                                       "routes", "plugins", "plugin_conf_dir", "plugind", "dataset_dir",
                                       "attendance", "evidence", "duplicates", "escalation",
                                       "assessment", "console", "open311",
                                       "inbound", NULL};
    config_setting_t *root = config_root_setting(lc);
    if (check_keys(cx, root, keys, "the top level") < 0)
        return -1;

    char *listen = NULL, *state_dir = NULL, *level = NULL, *plugin_dir = NULL, *dataset = NULL;
    int rc = -1;
    char *plugind = NULL;
    if (get_string(cx, root, "plugind", &plugind) < 0)
        goto out;
    if (plugind) {
        free(cfg->plugind_path);
        cfg->plugind_path = resolve(cx->dir, plugind);
    }
    if (get_string(cx, root, "listen", &listen) < 0 || get_string(cx, root, "state_dir", &state_dir) < 0 ||
        get_string(cx, root, "log_level", &level) < 0 ||
        get_string(cx, root, "plugin_conf_dir", &plugin_dir) < 0 ||
        get_string(cx, root, "dataset_dir", &dataset) < 0)
        goto out;
    if (dataset) {
        free(cfg->dataset_dir);
        cfg->dataset_dir = *dataset ? resolve(cx->dir, dataset) : NULL;
    }
    if (listen) {
        free(cfg->listen_host);
        cfg->listen_host = NULL;
        if (cg_config_parse_listen(listen, &cfg->listen_host, &cfg->listen_port) < 0) {
            fail_at(cx, config_setting_get_member(root, "listen"),
                    "'listen' must be HOST:PORT with a port 0-65535 (got '%s')", listen);
            goto out;
        }
    }
    if (state_dir) {
        free(cfg->state_dir);
        cfg->state_dir = resolve(cx->dir, state_dir);
    }
    if (level) {
        cfg->log_level = cg_log_level_parse(level);
        if (cfg->log_level < 0) {
            fail_at(cx, config_setting_get_member(root, "log_level"),
                    "log_level '%s' is not one of error, warning, notice, info, debug", level);
            goto out;
        }
    }
    config_setting_t *s;
    if ((s = config_setting_get_member(root, "bus")) && read_bus(cx, cfg, s) < 0)
        goto out;
    if ((s = config_setting_get_member(root, "console")) && read_console(cx, cfg, s) < 0)
        goto out;
    if ((s = config_setting_get_member(root, "http"))) {
        static const char *const hkeys[] = {"max_body_bytes", "max_connections", "header_timeout",
                                            "body_timeout", "idle_timeout", "session_ttl",
                                            "terminal_token_ttl", NULL};
        int max_body = (int)cfg->max_body_bytes, max_conn = (int)cfg->http_max_connections;
        int head_s = (int)(cfg->http_header_timeout_ms / 1000);
        int body_s = (int)(cfg->http_body_timeout_ms / 1000);
        int idle_s = (int)(cfg->http_idle_timeout_ms / 1000);
        int session_s = (int)cfg->session_ttl_s, terminal_s = (int)cfg->terminal_token_ttl_s;
        if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
            fail_at(cx, s, "'http' must be a group { ... }");
            goto out;
        }
        if (check_keys(cx, s, hkeys, "http") < 0 ||
            get_int(cx, s, "max_body_bytes", &max_body, 1024, 64 * 1024 * 1024) < 0 ||
            get_int(cx, s, "max_connections", &max_conn, 1, 1000000) < 0 ||
            get_int(cx, s, "header_timeout", &head_s, 1, 3600) < 0 ||
            get_int(cx, s, "body_timeout", &body_s, 1, 86400) < 0 ||
            get_int(cx, s, "idle_timeout", &idle_s, 1, 86400) < 0 ||
            get_int(cx, s, "session_ttl", &session_s, 1, 366 * 86400) < 0 ||
            get_int(cx, s, "terminal_token_ttl", &terminal_s, 1, 2 * 366 * 86400) < 0)
            goto out;
        cfg->max_body_bytes = (size_t)max_body;
        cfg->http_max_connections = (unsigned)max_conn;
        cfg->http_header_timeout_ms = (unsigned)head_s * 1000;
        cfg->http_body_timeout_ms = (unsigned)body_s * 1000;
        cfg->http_idle_timeout_ms = (unsigned)idle_s * 1000;
        cfg->session_ttl_s = session_s;
        cfg->terminal_token_ttl_s = terminal_s;
    }
    if ((s = config_setting_get_member(root, "attendance")) && read_attendance(cx, cfg, s) < 0)
        goto out;
    if ((s = config_setting_get_member(root, "evidence")) && read_evidence(cx, cfg, s) < 0)
        goto out;
    if ((s = config_setting_get_member(root, "duplicates")) && read_duplicates(cx, cfg, s) < 0)
        goto out;
    if ((s = config_setting_get_member(root, "open311")) && read_open311(cx, cfg, s) < 0)
        goto out;
    if ((s = config_setting_get_member(root, "inbound")) && read_inbound(cx, cfg, s) < 0)
        goto out;
    if ((s = config_setting_get_member(root, "assessment")) && read_assessment(cx, cfg, s) < 0)
        goto out;
    if ((s = config_setting_get_member(root, "escalation")) && read_escalation(cx, cfg, s) < 0)
        goto out;
    if ((s = config_setting_get_member(root, "routes")) && read_routes(cx, cfg, s) < 0)
        goto out;
    if ((s = config_setting_get_member(root, "plugins")) && read_plugin_list(cx, cfg, s) < 0)
        goto out;
    if (plugin_dir) {
        char *abs = resolve(cx->dir, plugin_dir);
        int r = read_plugin_dir(cx, cfg, abs);
        free(abs);
        if (r < 0)
            goto out;
    }
    if (check_remote_plugins(cx, cfg) < 0)
        goto out;
    rc = 0;
out:
    free(plugind);
    free(listen);
    free(state_dir);
    free(level);
    free(plugin_dir);
    free(dataset);
    return rc;
}

static void set_defaults(cg_config *cfg)
{
    cfg->listen_host = strdup("127.0.0.1");
    cfg->listen_port = 8080;
    cfg->state_dir = strdup("/var/lib/citygrid");
    cfg->log_level = CITYGRID_LOG_INFO;
    cfg->bus_endpoint = strdup("inproc://citygrid-bus");
    cfg->heartbeat_ms = 1000;
    cfg->lease_ms = 10000;
    cfg->retry_base_ms = 500;
    cfg->retry_max_ms = 30000;
    cfg->plugin_credit = 64;
    cfg->max_body_bytes = 65536;
    cfg->http_max_connections = 512;
    cfg->http_header_timeout_ms = 10000;
    cfg->http_body_timeout_ms = 120000;
    cfg->http_idle_timeout_ms = 60000;
    cfg->session_ttl_s = 43200;
    cfg->terminal_token_ttl_s = 7776000;
    cfg->max_attempts = 5;
    cfg->checkin_radius_m = 200.0;
    cfg->patrol_min_minutes = 30;
    cfg->patrol_days_per_week = 2;
    cfg->patrol_max_gap_minutes = 10;
    cfg->max_photo_bytes = 5242880;
    cfg->duplicate_radius_m = 50.0;
    cfg->duplicate_window_hours = 72.0;
    for (int i = 0; i < CG_ASSESS_N_WEIGHTS; i++)
        cfg->assessment_weights[i] = 1.0;
    cfg->assessment_grid_share = 0.3;
    cfg->assessment_commend_top = 3;
    cfg->city_default_body = strdup(CG_CITY_BODY_DEFAULT);
#ifdef CG_DATASET_DIR
    cfg->dataset_dir = strdup(CG_DATASET_DIR); /* the installed Lishui dataset */
#endif
#ifdef CG_CONSOLE_DIR
    cfg->console_dir = strdup(CG_CONSOLE_DIR); /* the installed console */
#else
    cfg->console_dir = strdup("/usr/share/citygrid/console");
#endif
    cfg->javascript_dir = strdup("/usr/share/javascript"); /* Debian's libjs-* packages */
}

int cg_config_uses_mode(const cg_config *cfg, cg_plugin_mode mode)
{
    for (size_t i = 0; cfg && i < cfg->n_plugins; i++)
        if (cfg->plugins[i].enabled && cfg->plugins[i].mode == mode)
            return 1;
    return 0;
}

int cg_config_load(const char *path, cg_config *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    set_defaults(out);
    char abs[PATH_MAX];
    if (!realpath(path, abs)) {
        snprintf(err, errlen, "%s:0: cannot open the config file: %s", path, strerror(errno));
        cg_config_free(out);
        return -1;
    }
    out->path = strdup(abs);
    cfg_ctx cx = {.file = out->path, .dir = dir_of(out->path), .err = err, .errlen = errlen};
    config_t lc;
    config_init(&lc);
    config_set_include_dir(&lc, cx.dir);
    int rc = -1;
    if (config_read_file(&lc, out->path) != CONFIG_TRUE)
        snprintf(err, errlen, "%s:%d: %s",
                 config_error_file(&lc) ? config_error_file(&lc) : out->path,
                 config_error_line(&lc), config_error_text(&lc));
    else
        rc = read_main(&cx, out, &lc);
    config_destroy(&lc);
    free(cx.dir);
    if (rc < 0)
        cg_config_free(out);
    return rc;
}

void cg_config_free(cg_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_plugins; i++) {
        cg_plugin_conf *p = &cfg->plugins[i];
        free(p->name); free(p->path); free(p->settings_json); free(p->file); free(p->department);
        free_subscribe(p);
    }
    for (size_t i = 0; i < cfg->n_clients; i++) {
        cg_client_key_conf *c = &cfg->clients[i];
        free(c->department); free(c->key_file); free(c->file);
    }
    free(cfg->clients);
    free(cfg->plugind_path);
    free(cfg->bus_ipc_endpoint);
    free(cfg->remote_bind);
    free(cfg->server_key_file);
    for (size_t i = 0; i < cfg->n_routes; i++) {
        cg_route_conf *r = &cfg->routes[i];
        free(r->category); free(r->department); free(r->name); free(r->name_zh); free(r->file);
    }
    free(cfg->routes);
    for (size_t i = 0; i < cfg->n_city_routes; i++) {
        cg_city_route_conf *r = &cfg->city_routes[i];
        free(r->category); free(r->district); free(r->body); free(r->file);
    }
    free(cfg->city_routes);
    free(cfg->city_default_body);
    free(cfg->open311_jurisdiction);
    for (size_t i = 0; i < cfg->n_inbound_sources; i++) {
        cg_inbound_source_conf *c = &cfg->inbound_sources[i];
        free(c->name);
        if (c->key)
            memset(c->key, 0, strlen(c->key));
        free(c->key);
        free(c->file);
    }
    free(cfg->inbound_sources);
    free(cfg->plugins);
    free(cfg->path);
    free(cfg->listen_host);
    free(cfg->state_dir);
    free(cfg->bus_endpoint);
    free(cfg->dataset_dir);
    free(cfg->console_dir);
    free(cfg->javascript_dir);
    free(cfg->console_tiles);
    memset(cfg, 0, sizeof *cfg);
}
