/*
 * config.c — citygrid.cfg's schema, and the reader that fills cg_config from
 * it (config.h, schema.h).
 *
 * The tables below are the one place a key is declared: its type, range or
 * allowed values, default, a line of description, and the field it fills.
 * What a table cannot say is a group's check hook here. Every error names
 * the file and line: libconfig gives them for syntax errors,
 * config_setting_source_line() for settings we refuse. Unknown keys are
 * refused too: a typo in a city's config should stop startup, not be
 * silently ignored.
 */
#include "conf/config.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <libconfig.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/schema.h"
#include "lib/curvekeys.h"
#include "lib/log.h"
#include "lib/tls.h"

static const char *const mode_names[] = {"thread", "process", "remote", NULL};
static const char *const log_levels[] = {"error", "warning", "notice", "info", "debug", NULL};
const char *const cg_city_body_codes_allowed[] = {
    "city_enforcement_bureau", "civilisation_office", "district_government", "zone_committee",
    NULL};

const char *cg_plugin_mode_name(cg_plugin_mode mode)
{
    return (unsigned)mode < 3 ? mode_names[mode] : "?";
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

static int valid_name(const char *s)
{
    if (!s || !*s || strlen(s) > 48)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}


/* ---------------------------------------------------------------- plugins */

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

static int read_settings(cg_conf_cx *cx, const config_setting_t *s, const char *def, void *obj)
{
    cg_plugin_conf *p = obj;
    free(p->settings_json);
    p->settings_json = NULL;
    if (!s)
        return (p->settings_json = strdup(def)) ? 0 : -1;
    if (config_setting_type(s) != CONFIG_TYPE_GROUP)
        return cg_conf_fail(cx, s, "plugin '%s': 'settings' must be a group { ... }",
                            p->name ? p->name : "?");
    json_t *js = setting_to_json(s);
    p->settings_json = json_dumps(js, JSON_COMPACT);
    json_decref(js);
    return 0;
}

static void release_settings(void *obj)
{
    cg_plugin_conf *p = obj;
    free(p->settings_json);
    p->settings_json = NULL;
}

static void release_subscribe(void *obj)
{
    cg_plugin_conf *p = obj;
    for (size_t i = 0; i < p->n_subscribe; i++)
        free(p->subscribe[i]);
    free(p->subscribe);
    p->subscribe = NULL;
    p->n_subscribe = 0;
}

/* subscribe = [ "all" | "transition" | "escalation" | a level | a department
 * code, ... ] (subscribe.h). Department codes are checked against the
 * catalog at startup (cg_subscribe_check); here only their shape. */
static int read_subscribe(cg_conf_cx *cx, const config_setting_t *s, const char *def, void *obj)
{
    cg_plugin_conf *p = obj;
    (void)def;
    if (!s)
        return 0;
    const char *name = p->name ? p->name : "?";
    p->subscribe_line = (int)config_setting_source_line(s);
    int t = config_setting_type(s);
    int n = (t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST) ? config_setting_length(s) : 0;
    if (n == 0)
        return cg_conf_fail(cx, s, "plugin '%s': 'subscribe' must be a non-empty list of "
                            "strings, e.g. [ \"all\" ] or [ \"escalation\", \"joint\", \"city\" ]",
                            name);
    p->subscribe = calloc((size_t)n, sizeof *p->subscribe);
    for (int i = 0; p->subscribe && i < n; i++) {
        config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *term = config_setting_type(e) == CONFIG_TYPE_STRING
                               ? config_setting_get_string(e) : NULL;
        if (!term || !valid_name(term) || strlen(term) >= 32)
            return cg_conf_fail(cx, s, "plugin '%s': subscribe[%d] must be \"all\", "
                                "\"transition\", \"escalation\", a level or a department code "
                                "(a-z, 0-9, '_', '-')", name, i);
        for (size_t k = 0; k < p->n_subscribe; k++)
            if (!strcmp(p->subscribe[k], term))
                return cg_conf_fail(cx, s, "plugin '%s': subscribe lists '%s' twice", name, term);
        if (!strcmp(term, "all") && n > 1)
            return cg_conf_fail(cx, s, "plugin '%s': subscribe: \"all\" takes no other terms",
                                name);
        p->subscribe[p->n_subscribe++] = strdup(term);
    }
    return 0;
}

static int check_plugin(cg_conf_cx *cx, const config_setting_t *g, void *obj)
{
    cg_plugin_conf *p = obj;
    if (!p->name)
        return cg_conf_fail(cx, g, "plugin without a 'name'");
    if (!valid_name(p->name))
        return cg_conf_fail(cx, g, "plugin name '%s' must be 1-48 characters of a-z, 0-9, '_' "
                            "or '-'", p->name);
    if ((!p->path || !*p->path) && p->mode != CG_MODE_REMOTE)
        return cg_conf_fail(cx, g, "plugin '%s' has no 'path' to its .so", p->name);
    if (!p->path && !(p->path = strdup("")))
        return cg_conf_fail(cx, g, "out of memory");
    if (p->mode == CG_MODE_REMOTE && (!p->department || !valid_name(p->department)))
        return cg_conf_fail(cx, g, "plugin '%s': mode 'remote' needs the 'department' it "
                            "serves (a-z, 0-9, '_' or '-'): its .so runs on the department's "
                            "host", p->name);
    if (p->mode != CG_MODE_REMOTE && p->department)
        return cg_conf_fail(cx, config_setting_get_member(g, "department"), "plugin '%s': "
                            "'department' is only for mode 'remote' (a local plugin's .so names "
                            "its department)", p->name);
    return 0;
}

static const cg_conf_key plugin_keys[] = {
    {.name = "name", .type = CG_CONF_STRING, .offset = offsetof(cg_plugin_conf, name),
     .doc = "The plugin's name (1-48 characters of a-z, 0-9, _ or -); required."},
    {.name = "path", .type = CG_CONF_PATH, .offset = offsetof(cg_plugin_conf, path),
     .doc = "Its .so file; required unless mode is remote."},
    {.name = "enabled", .type = CG_CONF_BOOL, .offset = offsetof(cg_plugin_conf, enabled),
     .def = "true", .doc = "false keeps the plugin defined but not started."},
    {.name = "required", .type = CG_CONF_BOOL, .offset = offsetof(cg_plugin_conf, required),
     .def = "false", .doc = "true: citygridd refuses to start when this plugin cannot load."},
    {.name = "mode", .type = CG_CONF_ENUM, .offset = offsetof(cg_plugin_conf, mode),
     .def = "thread", .allowed = mode_names,
     .doc = "thread runs it inside citygridd; process in a supervised citygrid-plugind; "
            "remote on the department's own host, over tcp with CURVE."},
    {.name = "department", .type = CG_CONF_STRING, .offset = offsetof(cg_plugin_conf, department),
     .doc = "Mode remote only, and required there: the department code it serves."},
    {.name = "settings", .type = CG_CONF_CUSTOM, .read = read_settings,
     .release = release_settings, .def = "{}", .type_doc = "group { ... }",
     .doc = "The plugin's own settings, handed to it as a JSON object."},
    {.name = "subscribe", .type = CG_CONF_CUSTOM, .read = read_subscribe,
     .release = release_subscribe, .type_doc = "list of strings",
     .doc = "Workflow events of other departments' cases it also gets: all, transition, "
            "escalation, a level (grid, community, joint, city) or a department code."},
    {0}};

static const cg_conf_group plugin_group = {
    .name = "a plugin group", .path = "plugins[]", .keys = plugin_keys,
    .size = sizeof(cg_plugin_conf), .file_offset = offsetof(cg_plugin_conf, file),
    .line_offset = offsetof(cg_plugin_conf, line), .check = check_plugin,
    .doc = "Each file in plugin_conf_dir holds one such group as plugin = { ... };."};

static int cfg_file_filter(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return d->d_name[0] != '.' && n > 4 && strcmp(d->d_name + n - 4, ".cfg") == 0;
}

/* One plugins.d file: `plugin = { ... };` and nothing else. */
static int read_plugin_file(cg_conf_cx *parent, cg_config *cfg, const char *path)
{
    config_t lc;
    config_init(&lc);
    cg_conf_cx cx = {.file = path, .dir = dir_of(path), .err = parent->err,
                     .errlen = parent->errlen};
    int rc = -1;
    if (config_read_file(&lc, path) != CONFIG_TRUE) {
        snprintf(cx.err, cx.errlen, "%s:%d: %s",
                 config_error_file(&lc) ? config_error_file(&lc) : path,
                 config_error_line(&lc), config_error_text(&lc));
    } else {
        static const cg_conf_key file_keys[] = {
            {.name = "plugin", .type = CG_CONF_GROUP, .group = &plugin_group}, {0}};
        static const cg_conf_group file_group = {.name = "a plugins.d file", .keys = file_keys};
        config_setting_t *root = config_root_setting(&lc);
        config_setting_t *g = config_setting_get_member(root, "plugin");
        /* Only its key list: the plugin itself goes into cfg->plugins. */
        int n = config_setting_length(root);
        rc = 0;
        for (int i = 0; i < n && rc == 0; i++) {
            config_setting_t *m = config_setting_get_elem(root, (unsigned)i);
            const char *name = config_setting_name(m);
            if (!name || strcmp(name, file_keys[0].name) != 0)
                rc = cg_conf_fail(&cx, m, "unknown setting '%s' in %s", name ? name : "?",
                                  file_group.name);
        }
        if (rc == 0 && !g)
            rc = cg_conf_fail(&cx, NULL, "no 'plugin = { ... };' group in this file");
        if (rc == 0) {
            cg_plugin_conf *grown = realloc(cfg->plugins, (cfg->n_plugins + 1) * sizeof *grown);
            if (!grown) {
                rc = cg_conf_fail(&cx, g, "out of memory");
            } else {
                cfg->plugins = grown;
                cg_plugin_conf *p = &cfg->plugins[cfg->n_plugins++];
                memset(p, 0, sizeof *p);
                cg_conf_defaults(&plugin_group, p);
                p->file = strdup(path);
                p->line = (int)config_setting_source_line(g);
                rc = cg_conf_read_group(&cx, &plugin_group, g, p);
            }
        }
    }
    config_destroy(&lc);
    free(cx.dir);
    return rc;
}

/* plugin_conf_dir: each *.cfg in it, in name order, adds one plugin. */
static int read_plugin_dir(cg_conf_cx *cx, const config_setting_t *s, const char *def, void *obj)
{
    cg_config *cfg = obj;
    (void)def;
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return cg_conf_fail(cx, s, "'plugin_conf_dir' must be a string");
    char *dir = cg_conf_resolve(cx->dir, config_setting_get_string(s));
    struct dirent **names = NULL;
    int n = scandir(dir, &names, cfg_file_filter, alphasort);
    if (n < 0) {
        snprintf(cx->err, cx->errlen, "%s:%d: cannot read plugin_conf_dir %s: %s", cx->file,
                 (int)config_setting_source_line(s), dir, strerror(errno));
        free(dir);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        char *path = cg_conf_resolve(dir, names[i]->d_name);
        rc = read_plugin_file(cx, cfg, path);
        free(path);
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(dir);
    return rc;
}

/* ---------------------------------------------------------------- routes */

static int read_after_photo(cg_conf_cx *cx, const config_setting_t *s, const char *def, void *obj)
{
    cg_route_conf *r = obj;
    (void)def;
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_BOOL)
        return cg_conf_fail(cx, s, "'requires_after_photo' must be true or false");
    r->requires_after_photo = config_setting_get_bool(s) ? 1 : -1;
    return 0;
}

static int check_route(cg_conf_cx *cx, const config_setting_t *g, void *obj)
{
    const cg_route_conf *r = obj;
    if (!r->category || !valid_name(r->category))
        return cg_conf_fail(cx, g, "a route needs a 'category' code of a-z, 0-9, '_' or '-'");
    return 0;
}

static const cg_conf_key route_keys[] = {
    {.name = "category", .type = CG_CONF_STRING, .offset = offsetof(cg_route_conf, category),
     .doc = "The category code to change or add; required."},
    {.name = "department", .type = CG_CONF_STRING,
     .offset = offsetof(cg_route_conf, department),
     .doc = "The department that gets its cases; required for a new category."},
    {.name = "sla_hours", .type = CG_CONF_DOUBLE, .offset = offsetof(cg_route_conf, sla_hours),
     .def = "-1", .min = 0, .flags = CG_CONF_ABOVE_MIN | CG_CONF_NO_MAX,
     .doc = "Hours (fractions allowed) a case has before it is overdue; -1 keeps the built-in "
            "deadline (24 for a new category)."},
    {.name = "name", .type = CG_CONF_STRING, .offset = offsetof(cg_route_conf, name),
     .doc = "English name of a new category."},
    {.name = "name_zh", .type = CG_CONF_STRING, .offset = offsetof(cg_route_conf, name_zh),
     .doc = "Chinese name of a new category."},
    {.name = "requires_after_photo", .type = CG_CONF_CUSTOM, .read = read_after_photo,
     .type_doc = "true or false",
     .doc = "Whether a review needs an \"after\" photo; unset keeps the category's rule."},
    {0}};

static const cg_conf_group route_group = {
    .name = "a route", .path = "routes[]", .keys = route_keys, .size = sizeof(cg_route_conf),
    .file_offset = offsetof(cg_route_conf, file), .line_offset = offsetof(cg_route_conf, line),
    .check = check_route};

/* ---------------------------------------------------------------- bus */

static int check_client(cg_conf_cx *cx, const config_setting_t *g, void *obj)
{
    cg_client_key_conf *c = obj;
    if (!c->department || !valid_name(c->department) || !c->key_file || !*c->key_file)
        return cg_conf_fail(cx, g, "a bus client needs a 'department' code and the 'key' file "
                            "with its public key");
    cg_curve_keys k;
    char why[512];
    if (cg_curve_keys_read(c->key_file, 0, &k, why, sizeof why) < 0)
        return cg_conf_fail(cx, config_setting_get_member(g, "key"), "%s", why);
    memcpy(c->public_key, k.public_key, sizeof c->public_key);
    return 0;
}

static const cg_conf_key client_keys[] = {
    {.name = "department", .type = CG_CONF_STRING,
     .offset = offsetof(cg_client_key_conf, department),
     .doc = "The department whose plugin host uses this key; required."},
    {.name = "key", .type = CG_CONF_PATH, .offset = offsetof(cg_client_key_conf, key_file),
     .doc = "Its public key file (citygridctl keygen writes NAME.pub); required."},
    {0}};

static const cg_conf_group client_group = {
    .name = "a bus client", .path = "bus.clients[]", .keys = client_keys,
    .size = sizeof(cg_client_key_conf), .file_offset = offsetof(cg_client_key_conf, file),
    .line_offset = offsetof(cg_client_key_conf, line), .check = check_client,
    .doc = "Each key maps to exactly one department."};

static int check_bus(cg_conf_cx *cx, const config_setting_t *g, void *obj)
{
    const cg_bus_conf *b = obj;
    if (strncmp(b->endpoint ? b->endpoint : "", "inproc://", 9) != 0)
        return cg_conf_fail(cx, config_setting_get_member(g, "endpoint"),
                            "bus endpoint must be inproc://NAME for thread-mode plugins");
    if (b->ipc_endpoint && (strncmp(b->ipc_endpoint, "ipc://", 6) != 0 ||
                            strlen(b->ipc_endpoint) > 6 + 100))
        return cg_conf_fail(cx, config_setting_get_member(g, "ipc_endpoint"),
                            "ipc_endpoint must be ipc://PATH (a path of at most 100 bytes) for "
                            "process-mode plugins");
    if (b->remote_bind && strncmp(b->remote_bind, "tcp://", 6) != 0)
        return cg_conf_fail(cx, config_setting_get_member(g, "remote_bind"),
                            "remote_bind must be tcp://ADDRESS:PORT (remote plugins use tcp + "
                            "CURVE)");
    if (b->server_key) {
        cg_curve_keys k;
        char why[512];
        int rc = cg_curve_keys_read(b->server_key, 1, &k, why, sizeof why);
        explicit_bzero(&k, sizeof k);
        if (rc < 0)
            return cg_conf_fail(cx, config_setting_get_member(g, "server_key"), "%s", why);
    }
    if (b->remote_bind && !b->server_key)
        return cg_conf_fail(cx, config_setting_get_member(g, "remote_bind"),
                            "remote_bind needs server_key = \"FILE\" (the core's keypair from "
                            "`citygridctl keygen`): remote links are always encrypted");
    for (size_t i = 0; i < b->n_clients; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(b->clients[j].public_key, b->clients[i].public_key) == 0) {
                snprintf(cx->err, cx->errlen, "%s:%d: the key in %s is already listed for "
                         "department '%s' (%s:%d): a key maps to exactly one department",
                         b->clients[i].file, b->clients[i].line, b->clients[i].key_file,
                         b->clients[j].department, b->clients[j].file, b->clients[j].line);
                return -1;
            }
    return 0;
}

static const cg_conf_key bus_keys[] = {
    {.name = "endpoint", .type = CG_CONF_STRING, .offset = offsetof(cg_bus_conf, endpoint),
     .def = "inproc://citygrid-bus",
     .doc = "Where in-process (thread-mode) plugins connect: inproc://NAME."},
    {.name = "heartbeat_ms", .type = CG_CONF_INT, .offset = offsetof(cg_bus_conf, heartbeat_ms),
     .def = "1000", .min = 20, .max = 60000,
     .doc = "Heartbeat interval; a plugin silent for 3 beats is taken for dead."},
    {.name = "lease_ms", .type = CG_CONF_INT, .offset = offsetof(cg_bus_conf, lease_ms),
     .def = "10000", .min = 50, .max = 3600000,
     .doc = "How long a delivery may stay unanswered before it is sent again."},
    {.name = "retry_base_ms", .type = CG_CONF_INT, .offset = offsetof(cg_bus_conf, retry_base_ms),
     .def = "500", .min = 1, .max = 600000,
     .doc = "First re-delivery delay, doubled with each failed attempt."},
    {.name = "retry_max_ms", .type = CG_CONF_INT, .offset = offsetof(cg_bus_conf, retry_max_ms),
     .def = "30000", .min = 1, .max = 3600000,
     .doc = "The longest re-delivery delay (raised to retry_base_ms if below it)."},
    {.name = "plugin_credit", .type = CG_CONF_INT, .offset = offsetof(cg_bus_conf, plugin_credit),
     .def = "64", .min = 1, .max = 100000,
     .doc = "Deliveries a plugin may hold unanswered at once."},
    {.name = "max_attempts", .type = CG_CONF_INT, .offset = offsetof(cg_bus_conf, max_attempts),
     .def = "5", .min = 1, .max = 1000,
     .doc = "Failed deliveries of a case before it becomes a dead letter."},
    {.name = "ipc_endpoint", .type = CG_CONF_STRING, .offset = offsetof(cg_bus_conf, ipc_endpoint),
     .doc = "Where process-mode plugin hosts connect, ipc://PATH (at most 100 bytes); "
            "unset: ipc://STATE_DIR/bus.ipc."},
    {.name = "remote_bind", .type = CG_CONF_STRING, .offset = offsetof(cg_bus_conf, remote_bind),
     .doc = "tcp://ADDRESS:PORT where remote plugin hosts connect with CURVE; needs "
            "server_key and a clients entry per remote department. Unset: no remote link."},
    {.name = "server_key", .type = CG_CONF_PATH, .offset = offsetof(cg_bus_conf, server_key),
     .doc = "The core's CURVE keypair file (from citygridctl keygen, mode 0600)."},
    {.name = "clients", .type = CG_CONF_LIST, .offset = offsetof(cg_bus_conf, clients),
     .count_offset = offsetof(cg_bus_conf, n_clients), .group = &client_group,
     .doc = "The allow-list of remote departments' public keys."},
    {0}};

static const cg_conf_group bus_group = {
    .name = "bus", .path = "bus", .keys = bus_keys, .check = check_bus};

/* ---------------------------------------------------------------- routine, evidence */

static void release_trusted_proxies(void *obj)
{
    cg_http_conf *h = obj;
    free(h->trusted_proxies);
    h->trusted_proxies = NULL;
    h->n_trusted_proxies = 0;
}

/* trusted_proxies = [ "127.0.0.1", "10.0.0.0/8", "::1" ]: addresses or
 * ranges (lib/netaddr.h). */
static int read_trusted_proxies(cg_conf_cx *cx, const config_setting_t *s, const char *def,
                                void *obj)
{
    cg_http_conf *h = obj;
    (void)def;
    if (!s)
        return 0;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
        return cg_conf_fail(cx, s, "'trusted_proxies' must be a list of addresses or ranges, "
                            "e.g. [ \"127.0.0.1\", \"10.0.0.0/8\" ]");
    int n = config_setting_length(s);
    release_trusted_proxies(h);
    h->trusted_proxies = n ? calloc((size_t)n, sizeof *h->trusted_proxies) : NULL;
    if (n && !h->trusted_proxies)
        return cg_conf_fail(cx, s, "out of memory");
    for (int i = 0; i < n; i++) {
        config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *text = config_setting_type(e) == CONFIG_TYPE_STRING
                               ? config_setting_get_string(e) : NULL;
        if (!text || cg_netrange_parse(text, &h->trusted_proxies[i]) < 0)
            return cg_conf_fail(cx, s, "trusted_proxies[%d] must be an IP address or a range "
                                "ADDRESS/BITS without host bits (got %s%s%s)", i,
                                text ? "'" : "", text ? text : "a non-string",
                                text ? "'" : "");
        h->n_trusted_proxies++;
    }
    return 0;
}

static const char *const proxy_headers[] = {"X-Forwarded-For", "X-Real-IP", NULL};

static const cg_conf_key http_keys[] = {
    {.name = "max_body_bytes", .type = CG_CONF_SIZE, .offset = offsetof(cg_http_conf, max_body_bytes),
     .def = "65536", .min = 1024, .max = 64 * 1024 * 1024,
     .doc = "The largest JSON request body accepted (photos have their own limit)."},
    {.name = "max_connections", .type = CG_CONF_INT, .offset = offsetof(cg_http_conf, max_connections),
     .def = "512", .min = 1, .max = 1000000,
     .doc = "Open connections; one more gets 503 at once (lowered to what the descriptor "
            "limit allows)."},
    {.name = "header_timeout", .type = CG_CONF_INT, .offset = offsetof(cg_http_conf, header_timeout),
     .def = "10", .min = 1, .max = 3600,
     .doc = "Seconds a client has to send a whole request head."},
    {.name = "body_timeout", .type = CG_CONF_INT, .offset = offsetof(cg_http_conf, body_timeout),
     .def = "120", .min = 1, .max = 86400, .doc = "Seconds a client has to send a body."},
    {.name = "idle_timeout", .type = CG_CONF_INT, .offset = offsetof(cg_http_conf, idle_timeout),
     .def = "60", .min = 1, .max = 86400,
     .doc = "Seconds a kept-alive connection may stay idle."},
    {.name = "session_ttl", .type = CG_CONF_INT, .offset = offsetof(cg_http_conf, session_ttl),
     .def = "43200", .min = 1, .max = 366 * 86400,
     .doc = "Seconds a login's token (POST /v1/sessions) lives."},
    {.name = "terminal_token_ttl", .type = CG_CONF_INT,
     .offset = offsetof(cg_http_conf, terminal_token_ttl), .def = "7776000", .min = 1,
     .max = 2 * 366 * 86400, .doc = "Seconds any other token (a terminal's) lives."},
    {.name = "trusted_proxies", .type = CG_CONF_CUSTOM, .read = read_trusted_proxies,
     .release = release_trusted_proxies, .type_doc = "list of strings",
     .doc = "Reverse proxies (addresses or ADDRESS/BITS ranges) whose proxy_header names the "
            "client, for the login throttle and the logs; unset: the socket's address, and "
            "the header is ignored."},
    {.name = "proxy_header", .type = CG_CONF_ENUM, .offset = offsetof(cg_http_conf, proxy_header),
     .def = "X-Forwarded-For", .allowed = proxy_headers,
     .doc = "The header a trusted proxy sets: X-Forwarded-For (the client is the last "
            "address not itself a trusted proxy) or X-Real-IP (one address)."},
    {.name = "password_workers", .type = CG_CONF_INT,
     .offset = offsetof(cg_http_conf, password_workers), .def = "2", .min = 1, .max = 16,
     .doc = "Threads that check and hash passwords (argon2id, about 0.3 s and 64 MiB each), "
            "so that logins never hold up the event loop."},
    {0}};
static const cg_conf_group http_group = {.name = "http", .path = "http", .keys = http_keys};

/* Both files or neither; and they must make a working context (the same
 * lib/tls.c builds the one the server uses), so a bad certificate or key is
 * refused here, with the line of the key at fault. */
static int check_tls(cg_conf_cx *cx, const config_setting_t *g, void *obj)
{
    const cg_tls_conf *t = obj;
    if (!t->cert && !t->key)
        return cg_conf_fail(cx, g, "tls needs cert = \"FILE\"; and key = \"FILE\"; (or leave "
                            "the group out for plain HTTP)");
    cg_tls_culprit culprit = CG_TLS_CERT;
    char why[1024];
    cg_tls_ctx *ctx = cg_tls_ctx_new(t->cert, t->key, &culprit, why, sizeof why);
    if (!ctx) {
        const config_setting_t *at =
            config_setting_get_member(g, culprit == CG_TLS_KEY ? "key" : "cert");
        return cg_conf_fail(cx, at ? at : g, "%s", why);
    }
    cg_tls_ctx_free(ctx);
    return 0;
}

static const cg_conf_key tls_keys[] = {
    {.name = "cert", .type = CG_CONF_PATH, .offset = offsetof(cg_tls_conf, cert),
     .doc = "The server's certificate, PEM, followed by any intermediate certificates."},
    {.name = "key", .type = CG_CONF_PATH, .offset = offsetof(cg_tls_conf, key),
     .doc = "Its private key, PEM without a passphrase, not readable by others; re-read with "
            "the certificate on SIGHUP."},
    {0}};
static const cg_conf_group tls_group = {
    .name = "tls", .path = "tls", .keys = tls_keys, .check = check_tls,
    .doc = "HTTPS on the listen address, TLS 1.2 and newer. Without this group citygridd "
           "speaks plain HTTP: keep listen on loopback behind a TLS-terminating proxy then."};

static const cg_conf_key attendance_keys[] = {
    {.name = "checkin_radius_m", .type = CG_CONF_DOUBLE,
     .offset = offsetof(cg_attendance_conf, checkin_radius_m), .def = "200", .min = 0,
     .max = 100000, .flags = CG_CONF_ABOVE_MIN,
     .doc = "Metres from the grid office within which a check-in counts."},
    {.name = "patrol_min_minutes", .type = CG_CONF_INT,
     .offset = offsetof(cg_attendance_conf, patrol_min_minutes), .def = "30", .min = 1,
     .max = 24 * 60, .doc = "Minutes inside a grid that make a patrol day."},
    {.name = "patrol_days_per_week", .type = CG_CONF_INT,
     .offset = offsetof(cg_attendance_conf, patrol_days_per_week), .def = "2", .min = 0, .max = 7,
     .doc = "Patrol days required per grid and ISO week."},
    {.name = "patrol_max_gap_minutes", .type = CG_CONF_INT,
     .offset = offsetof(cg_attendance_conf, patrol_max_gap_minutes), .def = "10", .min = 1,
     .max = 12 * 60, .doc = "Two track points further apart than this are not joined."},
    {0}};
static const cg_conf_group attendance_group = {
    .name = "attendance", .path = "attendance", .keys = attendance_keys};

static const cg_conf_key evidence_keys[] = {
    {.name = "max_photo_bytes", .type = CG_CONF_SIZE,
     .offset = offsetof(cg_evidence_conf, max_photo_bytes), .def = "5242880", .min = 1024,
     .max = 64 * 1024 * 1024, .doc = "The largest photo a case may carry."},
    {0}};
static const cg_conf_group evidence_group = {
    .name = "evidence", .path = "evidence", .keys = evidence_keys};

static const cg_conf_key duplicates_keys[] = {
    {.name = "radius_m", .type = CG_CONF_DOUBLE, .offset = offsetof(cg_duplicates_conf, radius_m),
     .def = "50", .min = 0, .max = 10000,
     .doc = "A new report this many metres from an open case of its category is flagged as a "
            "likely duplicate; 0 turns the check off."},
    {.name = "window_hours", .type = CG_CONF_DOUBLE,
     .offset = offsetof(cg_duplicates_conf, window_hours), .def = "72", .min = 0,
     .max = 24 * 366, .flags = CG_CONF_ABOVE_MIN,
     .doc = "... if that case was reported within this many hours."},
    {0}};
static const cg_conf_group duplicates_group = {
    .name = "duplicates", .path = "duplicates", .keys = duplicates_keys};

/* ---------------------------------------------------------------- escalation */

static int check_city_route(cg_conf_cx *cx, const config_setting_t *g, void *obj)
{
    const cg_city_route_conf *r = obj;
    if (!r->category && !r->district)
        return cg_conf_fail(cx, g, "an escalation.city route needs a 'category', a 'district' "
                            "or both");
    if ((r->category && !valid_name(r->category)) || (r->district && !valid_name(r->district)))
        return cg_conf_fail(cx, g, "an escalation.city route's 'category' and 'district' are "
                            "codes (a-z, 0-9, '_', '-')");
    return 0;
}

static const cg_conf_key city_route_keys[] = {
    {.name = "category", .type = CG_CONF_STRING, .offset = offsetof(cg_city_route_conf, category),
     .doc = "Matches cases of this category (checked against the catalog at start)."},
    {.name = "district", .type = CG_CONF_STRING, .offset = offsetof(cg_city_route_conf, district),
     .doc = "Matches cases whose grid is in this district (devzone: the Development Zone)."},
    {.name = "body", .type = CG_CONF_STRING, .offset = offsetof(cg_city_route_conf, body),
     .allowed = cg_city_body_codes_allowed, .flags = CG_CONF_REQUIRED,
     .doc = "The city body the matching cases go to."},
    {0}};
static const cg_conf_group city_route_group = {
    .name = "an escalation.city route", .path = "escalation.city.routes[]",
    .keys = city_route_keys, .size = sizeof(cg_city_route_conf),
    .file_offset = offsetof(cg_city_route_conf, file),
    .line_offset = offsetof(cg_city_route_conf, line), .check = check_city_route,
    .doc = "A route needs a category, a district or both; the first whose every key matches "
           "wins."};

static const cg_conf_key city_keys[] = {
    {.name = "default", .type = CG_CONF_STRING, .offset = offsetof(cg_escalation_conf, city_default),
     .def = "city_enforcement_bureau", .allowed = cg_city_body_codes_allowed,
     .doc = "The body of a case no route matches."},
    {.name = "routes", .type = CG_CONF_LIST, .offset = offsetof(cg_escalation_conf, city_routes),
     .count_offset = offsetof(cg_escalation_conf, n_city_routes), .group = &city_route_group,
     .doc = "Which body takes which cases."},
    {0}};
static const cg_conf_group city_group = {
    .name = "escalation.city", .path = "escalation.city", .keys = city_keys};

static const cg_conf_key escalation_keys[] = {
    {.name = "city", .type = CG_CONF_GROUP, .offset = 0, .group = &city_group,
     .doc = "The city body a case goes to when it reaches level city: city_enforcement_bureau "
            "(市综合行政执法局), civilisation_office (市文明办), district_government (区政府) or "
            "zone_committee (开发区管委会)."},
    {0}};
static const cg_conf_group escalation_group = {
    .name = "escalation", .path = "escalation", .keys = escalation_keys};

/* ---------------------------------------------------------------- assessment */

static int check_weights(cg_conf_cx *cx, const config_setting_t *g, void *obj)
{
    const double *w = obj;
    double sum = 0;
    for (int i = 0; i < CG_ASSESS_N_WEIGHTS; i++)
        sum += w[i];
    return sum > 0 ? 0 : cg_conf_fail(cx, g, "at least one assessment weight must be above 0");
}

#define WEIGHT(key, i, what)                                                                    \
    {.name = key, .type = CG_CONF_DOUBLE, .offset = (i) * sizeof(double), .def = "1",           \
     .min = 0, .max = 1000, .doc = "Weight of " what " in a row's score (0 leaves it out)."}
static const cg_conf_key weight_keys[] = {
    WEIGHT("patrol_discovery_rate", 0, "the share of cases found by patrols"),
    WEIGHT("timely_disposal_rate", 1, "the share of cases handled in time"),
    WEIGHT("closure_rate", 2, "the share of cases closed"),
    WEIGHT("satisfaction", 3, "the mean rating"),
    WEIGHT("attendance_rate", 4, "attendance at duty and patrols"),
    WEIGHT("coordination", 5, "joint work"),
    WEIGHT("effectiveness", 6, "cases closed without rework or reopening"),
    {0}};
static const cg_conf_group weights_group = {
    .name = "assessment.weights", .path = "assessment.weights", .keys = weight_keys,
    .check = check_weights, .doc = "Not all 0."};

static const cg_conf_key assessment_keys[] = {
    {.name = "weights", .type = CG_CONF_GROUP, .offset = offsetof(cg_assessment_conf, weights),
     .group = &weights_group, .doc = "Each indicator's weight in a row's own score."},
    {.name = "grid_share", .type = CG_CONF_DOUBLE,
     .offset = offsetof(cg_assessment_conf, grid_share), .def = "0.3", .min = 0, .max = 1,
     .doc = "The share of a member's score that comes from their grids' scores."},
    {.name = "commend_top", .type = CG_CONF_INT, .offset = offsetof(cg_assessment_conf, commend_top),
     .def = "3", .min = 1, .max = 1000,
     .doc = "How many members per role the yearly commendation list names."},
    {0}};
static const cg_conf_group assessment_group = {
    .name = "assessment", .path = "assessment", .keys = assessment_keys};

/* ---------------------------------------------------------------- console */

static const cg_conf_key console_keys[] = {
    {.name = "dir", .type = CG_CONF_PATH, .offset = offsetof(cg_console_conf, dir),
#ifdef CG_CONSOLE_DIR
     .def = CG_CONSOLE_DIR,
#else
     .def = "/usr/share/citygrid/console",
#endif
     .doc = "The web console's files (index.html and its modules), served at /."},
    {.name = "javascript_dir", .type = CG_CONF_PATH,
     .offset = offsetof(cg_console_conf, javascript_dir), .def = "/usr/share/javascript",
     .doc = "Where Debian's libjs-leaflet and libjs-chart.js are."},
    {.name = "tiles", .type = CG_CONF_STRING, .offset = offsetof(cg_console_conf, tiles),
     .flags = CG_CONF_EMPTY_NULL,
     .doc = "A map tile URL template (https://.../{z}/{x}/{y}.png); unset or \"\": no tiles, "
            "the grids alone."},
    {0}};
static const cg_conf_group console_group = {
    .name = "console", .path = "console", .keys = console_keys};

/* ---------------------------------------------------------------- open311, inbound */

static int check_open311(cg_conf_cx *cx, const config_setting_t *g, void *obj)
{
    const cg_config *cfg = obj;
    const char *j = cfg->open311_jurisdiction;
    if (j && (!*j || strlen(j) > 128))
        return cg_conf_fail(cx, config_setting_get_member(g, "jurisdiction_id"),
                            "'jurisdiction_id' must be 1 to 128 characters, e.g. \"lishui.gov.cn\"");
    return 0;
}

static const cg_conf_key open311_keys[] = {
    {.name = "jurisdiction_id", .type = CG_CONF_STRING,
     .offset = offsetof(cg_config, open311_jurisdiction),
     .doc = "The jurisdiction_id a client may name (1 to 128 characters); unset: lishui.gov.cn."},
    {.name = "rate_per_minute", .type = CG_CONF_INT,
     .offset = offsetof(cg_config, open311_rate_per_minute), .min = 1, .max = 1000000,
     .doc = "Requests per minute each Open311 api_key may make; unset: the built-in rate."},
    {0}};
/* Fills cg_config itself (offset 0): its fields predate the module structs. */
static const cg_conf_group open311_group = {
    .name = "open311", .path = "open311", .keys = open311_keys, .check = check_open311};

static void release_inbound_key(void *obj)
{
    cg_inbound_source_conf *c = obj;
    if (c->key)
        explicit_bzero(c->key, strlen(c->key));
    free(c->key);
    c->key = NULL;
}

static int read_inbound_key(cg_conf_cx *cx, const config_setting_t *s, const char *def, void *obj)
{
    cg_inbound_source_conf *c = obj;
    (void)def;
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return cg_conf_fail(cx, s, "'key' must be a string");
    release_inbound_key(c);
    c->key = strdup(config_setting_get_string(s));
    return 0;
}

/* key_file: the first line of the file, unless `key` is given. */
static int read_inbound_key_file(cg_conf_cx *cx, const config_setting_t *s, const char *def,
                                 void *obj)
{
    cg_inbound_source_conf *c = obj;
    (void)def;
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return cg_conf_fail(cx, s, "'key_file' must be a string");
    if (c->key)
        return 0;
    char *path = cg_conf_resolve(cx->dir, config_setting_get_string(s));
    FILE *f = path ? fopen(path, "r") : NULL;
    free(path);
    char buf[512];
    if (f && fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\r\n")] = '\0';
        c->key = strdup(buf);
    }
    explicit_bzero(buf, sizeof buf);
    if (f)
        fclose(f);
    return 0;
}

static int check_inbound_source(cg_conf_cx *cx, const config_setting_t *g, void *obj)
{
    const cg_inbound_source_conf *c = obj;
    if (!c->name || !valid_name(c->name))
        return cg_conf_fail(cx, g, "an inbound source needs a 'name' (a-z, 0-9, '_', '-')");
    if (!c->key || strlen(c->key) < 16)
        return cg_conf_fail(cx, g, "inbound source '%s' needs a 'key' or a readable 'key_file' "
                            "of at least 16 bytes", c->name);
    return 0;
}

static const cg_conf_key inbound_source_keys[] = {
    {.name = "name", .type = CG_CONF_STRING, .offset = offsetof(cg_inbound_source_conf, name),
     .doc = "The platform's name (a-z, 0-9, _ or -): the URL's {source}; required."},
    {.name = "key", .type = CG_CONF_CUSTOM, .read = read_inbound_key,
     .release = release_inbound_key, .type_doc = "string",
     .doc = "The HMAC-SHA256 key (at least 16 bytes); or key_file."},
    {.name = "key_file", .type = CG_CONF_CUSTOM, .read = read_inbound_key_file,
     .type_doc = "path (relative to this file)",
     .doc = "A file whose first line is the key, when key is not given."},
    {0}};
static const cg_conf_group inbound_source_group = {
    .name = "an inbound source", .path = "inbound.sources[]", .keys = inbound_source_keys,
    .size = sizeof(cg_inbound_source_conf), .file_offset = offsetof(cg_inbound_source_conf, file),
    .line_offset = offsetof(cg_inbound_source_conf, line), .check = check_inbound_source};

static int check_inbound(cg_conf_cx *cx, const config_setting_t *g, void *obj)
{
    const cg_config *cfg = obj;
    (void)g;
    for (size_t i = 0; i < cfg->n_inbound_sources; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(cfg->inbound_sources[i].name, cfg->inbound_sources[j].name)) {
                snprintf(cx->err, cx->errlen, "%s:%d: inbound source '%s' is named twice",
                         cfg->inbound_sources[i].file, cfg->inbound_sources[i].line,
                         cfg->inbound_sources[i].name);
                return -1;
            }
    return 0;
}

static const cg_conf_key inbound_keys[] = {
    {.name = "window_s", .type = CG_CONF_INT, .offset = offsetof(cg_config, inbound_window_s),
     .min = 10, .max = 86400,
     .doc = "Seconds a signed report's timestamp may differ from now (the replay window); "
            "unset: the built-in window."},
    {.name = "sources", .type = CG_CONF_LIST, .offset = offsetof(cg_config, inbound_sources),
     .count_offset = offsetof(cg_config, n_inbound_sources), .group = &inbound_source_group,
     .doc = "The platforms that may post signed reports to POST /v1/inbound/{source}."},
    {0}};
/* Fills cg_config itself (offset 0), like open311. */
static const cg_conf_group inbound_group = {
    .name = "inbound", .path = "inbound", .keys = inbound_keys, .check = check_inbound};

/* ---------------------------------------------------------------- sources */

static const char *const source_roles[] = {"leader", "instructor", "fulltime", "professional",
                                           "optional", NULL};

static int check_source_rule(cg_conf_cx *cx, const config_setting_t *g, void *obj)
{
    const cg_source_rule_conf *r = obj;
    if (!r->role || !r->source)
        return cg_conf_fail(cx, g, "a sources rule needs a 'role' and a 'source'");
    for (const char *p = r->source; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return cg_conf_fail(cx, g, "source '%s': a name is a-z, 0-9 and '_'", r->source);
    return 0;
}

static const cg_conf_key source_rule_keys[] = {
    {.name = "role", .type = CG_CONF_STRING, .offset = offsetof(cg_source_rule_conf, role),
     .allowed = source_roles, .flags = CG_CONF_REQUIRED,
     .doc = "The role in a grid the rule is for."},
    {.name = "department", .type = CG_CONF_STRING,
     .offset = offsetof(cg_source_rule_conf, department), .def = "*",
     .doc = "The department of that assignment (a professional's); \"*\": any."},
    {.name = "source", .type = CG_CONF_STRING, .offset = offsetof(cg_source_rule_conf, source),
     .flags = CG_CONF_REQUIRED, .doc = "The source it may query (persons, vehicles, ...)."},
    {.name = "whole", .type = CG_CONF_STRING, .offset = offsetof(cg_source_rule_conf, whole),
     .def = "",
     .doc = "The fields shown unmasked, comma-separated; \"*\": all; \"\": every field not of "
            "class public is masked."},
    {0}};
static const cg_conf_group source_rule_group = {
    .name = "a sources rule", .path = "sources.rules[]", .keys = source_rule_keys,
    .size = sizeof(cg_source_rule_conf), .file_offset = offsetof(cg_source_rule_conf, file),
    .line_offset = offsetof(cg_source_rule_conf, line), .check = check_source_rule};

static const cg_conf_key sources_keys[] = {
    {.name = "timeout_ms", .type = CG_CONF_INT, .offset = offsetof(cg_sources_conf, timeout_ms),
     .def = "5000", .min = 50, .max = 120000,
     .doc = "How long a query waits for its source plugin; then the caller gets 504."},
    {.name = "max_rows", .type = CG_CONF_INT, .offset = offsetof(cg_sources_conf, max_rows),
     .def = "50", .min = 1, .max = 1000, .doc = "The most rows one query returns."},
    {.name = "daily_limit", .type = CG_CONF_INT, .offset = offsetof(cg_sources_conf, daily_limit),
     .def = "200", .min = 1, .max = 1000000,
     .doc = "Queries per member per day (Asia/Shanghai), counted from the audit; then 429."},
    {.name = "retention_days", .type = CG_CONF_INT,
     .offset = offsetof(cg_sources_conf, retention_days), .def = "1095", .min = 0,
     .max = 36500,
     .doc = "Audit rows older than this are purged (the purge is itself an audit row); 0 keeps "
            "them forever."},
    {.name = "rules", .type = CG_CONF_LIST, .offset = offsetof(cg_sources_conf, rules),
     .count_offset = offsetof(cg_sources_conf, n_rules), .group = &source_rule_group,
     .doc = "Who may query what (role x department x source x fields); the first match "
            "decides. Unset: the built-in rules (README, \"Data sources\")."},
    {0}};
static const cg_conf_group sources_group = {
    .name = "sources", .path = "sources", .keys = sources_keys};

/* ---------------------------------------------------------------- top level */

static int read_listen(cg_conf_cx *cx, const config_setting_t *s, const char *def, void *obj)
{
    cg_config *cfg = obj;
    if (s && config_setting_type(s) != CONFIG_TYPE_STRING)
        return cg_conf_fail(cx, s, "'listen' must be a string");
    const char *text = s ? config_setting_get_string(s) : def;
    char *host = NULL;
    int port;
    if (cg_config_parse_listen(text, &host, &port) < 0)
        return cx ? cg_conf_fail(cx, s, "'listen' must be HOST:PORT with a port 0-65535 (got "
                                 "'%s')", text) : -1;
    free(cfg->listen_host);
    cfg->listen_host = host;
    cfg->listen_port = port;
    return 0;
}

static void release_listen(void *obj)
{
    cg_config *cfg = obj;
    free(cfg->listen_host);
    cfg->listen_host = NULL;
}

/* metrics_listen = "HOST:PORT": GET /metrics without a token, there only. */
static int read_metrics_listen(cg_conf_cx *cx, const config_setting_t *s, const char *def,
                               void *obj)
{
    cg_config *cfg = obj;
    (void)def;
    if (!s)
        return 0;
    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return cg_conf_fail(cx, s, "'metrics_listen' must be a string");
    char *host = NULL;
    int port;
    if (cg_config_parse_listen(config_setting_get_string(s), &host, &port) < 0)
        return cg_conf_fail(cx, s, "'metrics_listen' must be HOST:PORT with a port 0-65535 "
                            "(got '%s')", config_setting_get_string(s));
    free(cfg->metrics_host);
    cfg->metrics_host = host;
    cfg->metrics_port = port;
    return 0;
}

static void release_metrics_listen(void *obj)
{
    cg_config *cfg = obj;
    free(cfg->metrics_host);
    cfg->metrics_host = NULL;
}

static int read_log_level(cg_conf_cx *cx, const config_setting_t *s, const char *def, void *obj)
{
    cg_config *cfg = obj;
    if (s && config_setting_type(s) != CONFIG_TYPE_STRING)
        return cg_conf_fail(cx, s, "'log_level' must be a string");
    const char *text = s ? config_setting_get_string(s) : def;
    int level = cg_log_level_parse(text);
    if (level < 0)
        return cx ? cg_conf_fail(cx, s, "log_level '%s' is not one of error, warning, notice, "
                                 "info, debug", text) : -1;
    cfg->log_level = level;
    return 0;
}

/* Once every file is read: a remote plugin's bus link, and plugin names. */
static int check_config(cg_conf_cx *cx, const config_setting_t *g, void *obj)
{
    cg_config *cfg = obj;
    (void)g;
    for (size_t i = 0; i < cfg->n_plugins; i++) {
        const cg_plugin_conf *p = &cfg->plugins[i];
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->plugins[j].name, p->name) == 0) {
                snprintf(cx->err, cx->errlen, "%s:%d: plugin '%s' is defined twice (first at "
                         "%s:%d)", p->file, p->line, p->name, cfg->plugins[j].file,
                         cfg->plugins[j].line);
                return -1;
            }
        if (p->mode != CG_MODE_REMOTE)
            continue;
        int keyed = 0;
        for (size_t j = 0; j < cfg->bus.n_clients; j++)
            if (strcmp(cfg->bus.clients[j].department, p->department) == 0)
                keyed = 1;
        const char *missing = !cfg->bus.remote_bind ? "bus.remote_bind (tcp://ADDRESS:PORT)"
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

static const cg_conf_key top_keys[] = {
    {.name = "listen", .type = CG_CONF_CUSTOM, .read = read_listen, .release = release_listen,
     .def = "127.0.0.1:8080", .type_doc = "string HOST:PORT",
     .doc = "The HTTP address; [::1]:8080 for IPv6. citygridd --listen overrides it."},
    {.name = "metrics_listen", .type = CG_CONF_CUSTOM, .read = read_metrics_listen,
     .release = release_metrics_listen, .type_doc = "string HOST:PORT",
     .doc = "A second, plain-HTTP address that serves only GET /metrics, without a token (for "
            "Prometheus; keep it on loopback or an internal network). Unset: /metrics only on "
            "listen, with the admin token."},
    {.name = "state_dir", .type = CG_CONF_PATH, .offset = offsetof(cg_config, state_dir),
     .def = "/var/lib/citygrid",
     .doc = "The database (citygrid.db), photos and admin.token; created 0700 if missing. "
            "citygridd --state-dir overrides it."},
    {.name = "log_level", .type = CG_CONF_CUSTOM, .read = read_log_level, .def = "info",
     .allowed = log_levels, .type_doc = "string",
     .doc = "The least severe level logged; re-read on SIGHUP. citygridd --log-level overrides "
            "it."},
    {.name = "dataset_dir", .type = CG_CONF_PATH, .offset = offsetof(cg_config, dataset_dir),
#ifdef CG_DATASET_DIR
     .def = CG_DATASET_DIR,
#endif
     .flags = CG_CONF_EMPTY_NULL,
     .doc = "places.csv, grids.geojson and roster.csv imported on the first start (an empty "
            "database); \"\" imports nothing."},
    {.name = "plugind", .type = CG_CONF_PATH, .offset = offsetof(cg_config, plugind_path),
     .doc = "The citygrid-plugind that hosts process-mode plugins; unset: the one next to "
            "citygridd."},
    {.name = "bus", .type = CG_CONF_GROUP, .offset = offsetof(cg_config, bus), .group = &bus_group,
     .doc = "How plugins reach citygridd, and how deliveries are retried."},
    {.name = "http", .type = CG_CONF_GROUP, .offset = offsetof(cg_config, http),
     .group = &http_group, .doc = "The HTTP server."},
    {.name = "tls", .type = CG_CONF_GROUP, .offset = offsetof(cg_config, tls),
     .group = &tls_group, .doc = "TLS on the listener (both keys, or no group)."},
    {.name = "attendance", .type = CG_CONF_GROUP, .offset = offsetof(cg_config, attendance),
     .group = &attendance_group,
     .doc = "The grid routine: check-ins at the grid office and patrol days."},
    {.name = "evidence", .type = CG_CONF_GROUP, .offset = offsetof(cg_config, evidence),
     .group = &evidence_group, .doc = "Photos attached to cases."},
    {.name = "duplicates", .type = CG_CONF_GROUP, .offset = offsetof(cg_config, duplicates),
     .group = &duplicates_group, .doc = "Likely-duplicate reports."},
    {.name = "assessment", .type = CG_CONF_GROUP, .offset = offsetof(cg_config, assessment),
     .group = &assessment_group, .doc = "The monthly assessment and yearly commendations."},
    {.name = "console", .type = CG_CONF_GROUP, .offset = offsetof(cg_config, console),
     .group = &console_group, .doc = "The web console citygridd serves at /."},
    {.name = "sources", .type = CG_CONF_GROUP, .offset = offsetof(cg_config, sources),
     .group = &sources_group, .doc = "Data-source queries (persons, vehicles, ...) and their audit."},
    {.name = "open311", .type = CG_CONF_GROUP, .offset = 0, .group = &open311_group,
     .doc = "Open311 GeoReport v2 clients."},
    {.name = "inbound", .type = CG_CONF_GROUP, .offset = 0, .group = &inbound_group,
     .doc = "Signed reports posted by other platforms."},
    {.name = "escalation", .type = CG_CONF_GROUP, .offset = offsetof(cg_config, escalation),
     .group = &escalation_group,
     .doc = "An overdue case climbs grid, community, joint, city by itself."},
    {.name = "routes", .type = CG_CONF_LIST, .offset = offsetof(cg_config, routes),
     .count_offset = offsetof(cg_config, n_routes), .group = &route_group,
     .doc = "Re-route a built-in category, change its deadline, or add a category."},
    {.name = "plugins", .type = CG_CONF_LIST, .offset = offsetof(cg_config, plugins),
     .count_offset = offsetof(cg_config, n_plugins), .group = &plugin_group,
     .doc = "The department plugins, inline; see also plugin_conf_dir."},
    {.name = "plugin_conf_dir", .type = CG_CONF_CUSTOM, .read = read_plugin_dir,
     .type_doc = "path (relative to this file)",
     .doc = "A directory whose *.cfg files each hold one plugin = { ... }; group, read in name "
            "order after the plugins list."},
    {0}};

static const cg_conf_group top_group = {
    .name = "the top level", .path = "", .keys = top_keys, .check = check_config};

/* ---------------------------------------------------------------- load */

int cg_config_uses_mode(const cg_config *cfg, cg_plugin_mode mode)
{
    for (size_t i = 0; cfg && i < cfg->n_plugins; i++)
        if (cfg->plugins[i].enabled && cfg->plugins[i].mode == mode)
            return 1;
    return 0;
}

void cg_config_defaults(cg_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cg_conf_defaults(&top_group, cfg);
}

int cg_config_load(const char *path, cg_config *out, char *err, size_t errlen)
{
    cg_config_defaults(out);
    char abs[PATH_MAX];
    if (!realpath(path, abs)) {
        snprintf(err, errlen, "%s:0: cannot open the config file: %s", path, strerror(errno));
        cg_config_free(out);
        return -1;
    }
    out->path = strdup(abs);
    cg_conf_cx cx = {.file = out->path, .dir = dir_of(out->path), .err = err, .errlen = errlen};
    config_t lc;
    config_init(&lc);
    config_set_include_dir(&lc, cx.dir);
    int rc = -1;
    if (config_read_file(&lc, out->path) != CONFIG_TRUE)
        snprintf(err, errlen, "%s:%d: %s",
                 config_error_file(&lc) ? config_error_file(&lc) : out->path,
                 config_error_line(&lc), config_error_text(&lc));
    else
        rc = cg_conf_read_group(&cx, &top_group, config_root_setting(&lc), out);
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
    cg_conf_release(&top_group, cfg);
    free(cfg->path);
    memset(cfg, 0, sizeof *cfg);
}

int cg_config_print_schema(const char *format, FILE *out)
{
    if (!format || strcmp(format, "scdoc") != 0)
        return -1;
    cg_conf_print_scdoc(&top_group, out);
    return 0;
}
