/*
 * http.c — the evhttp server: binds, routes every request through one
 * generic callback (cg_api_routes in api_*.c), checks method and bearer
 * token, and hands the handler a cg_api_ctx. Main (libevent) thread only.
 *
 * evhttp is told to pass every method we name on to us, so that wrong
 * methods get our JSON 405 instead of its HTML page; its own body cap is set
 * well above config->max_body_bytes for the same reason (we answer the JSON
 * 413 ourselves; only absurd bodies meet evhttp's page).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "http/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http/api.h"
#include "people/auth.h"
#include "http/http_util.h"
#include "lib/log.h"

#define HTTP_TIMEOUT_SECONDS 30
#define HTTP_MAX_HEADERS_BYTES 16384
#define HTTP_HARD_BODY_FACTOR 8
#define HTTP_MAX_PATH 1024

struct cg_http {
    cg_app *app;
    struct evhttp *evh;
    struct evhttp_bound_socket *socket;
    int port;
    int draining;                   /* cg_http_drain() was called */
    cg_http_deferred deferred;      /* list head of parked requests */
};

/* ---- the routes -------------------------------------------------------- */

const cg_route cg_api_routes[] = {
    {EVHTTP_REQ_GET, "/v1/health", cg_api_health, 0},
    {EVHTTP_REQ_GET, "/metrics", cg_api_metrics, 1},
    {EVHTTP_REQ_POST, "/v1/sessions", cg_api_sessions_create, 0},
    {EVHTTP_REQ_GET, "/v1/plugins", cg_api_plugins, 1},
    {EVHTTP_REQ_POST, "/v1/plugins/{name}/reload", cg_api_plugin_reload, 1},
    {EVHTTP_REQ_POST, "/v1/plugins/{name}/enable", cg_api_plugin_enable, 1},
    {EVHTTP_REQ_POST, "/v1/plugins/{name}/disable", cg_api_plugin_disable, 1},
    {EVHTTP_REQ_GET, "/v1/categories", cg_api_categories, 1},
    {EVHTTP_REQ_GET, "/v1/departments", cg_api_departments, 1},
    {EVHTTP_REQ_POST, "/v1/members/{id}/tokens", cg_api_member_token, 1},
    {EVHTTP_REQ_POST, "/v1/members", cg_api_members_create, 1},
    {EVHTTP_REQ_GET, "/v1/members/{id}", cg_api_members_get, 1},
    {EVHTTP_REQ_PATCH, "/v1/members/{id}", cg_api_members_patch, 1},
    /* locate before {code}: the first matching pattern wins. */
    {EVHTTP_REQ_GET, "/v1/grids/locate", cg_api_grids_locate, 1},
    {EVHTTP_REQ_GET, "/v1/grids", cg_api_grids_list, 1},
    {EVHTTP_REQ_GET, "/v1/grids/{code}", cg_api_grids_get, 1},
    {EVHTTP_REQ_GET, "/v1/staffing/gaps", cg_api_staffing_gaps, 1},
    {EVHTTP_REQ_POST, "/v1/cases", cg_api_cases_create, 1},
    {EVHTTP_REQ_GET, "/v1/cases", cg_api_cases_list, 1},
    {EVHTTP_REQ_GET, "/v1/cases/{id}", cg_api_cases_get, 1},
    {EVHTTP_REQ_POST, "/v1/cases/{id}/actions", cg_api_cases_action, 1},
    /* Evidence (issue 4): photos of a case, and their bytes. */
    {EVHTTP_REQ_POST, "/v1/cases/{id}/photos", cg_api_photos_upload, 1},
    {EVHTTP_REQ_GET, "/v1/cases/{id}/photos", cg_api_photos_list, 1},
    {EVHTTP_REQ_GET, "/v1/photos/{sha256}", cg_api_photo_get, 1},
    /* Attendance (issue 6). compliance before {id}: the first match wins. */
    {EVHTTP_REQ_POST, "/v1/checkins", cg_api_checkins_create, 1},
    {EVHTTP_REQ_GET, "/v1/checkins", cg_api_checkins_list, 1},
    {EVHTTP_REQ_POST, "/v1/grids/{code}/rota", cg_api_rota_generate, 1},
    {EVHTTP_REQ_GET, "/v1/grids/{code}/rota", cg_api_rota_get, 1},
    {EVHTTP_REQ_PATCH, "/v1/grids/{code}/rota/{date}", cg_api_rota_patch, 1},
    {EVHTTP_REQ_GET, "/v1/patrols/compliance", cg_api_patrols_compliance, 1},
    {EVHTTP_REQ_POST, "/v1/patrols", cg_api_patrols_start, 1},
    {EVHTTP_REQ_GET, "/v1/patrols/{id}", cg_api_patrols_get, 1},
    {EVHTTP_REQ_POST, "/v1/patrols/{id}/points", cg_api_patrols_points, 1},
    {EVHTTP_REQ_POST, "/v1/patrols/{id}/end", cg_api_patrols_end, 1},
    {EVHTTP_REQ_POST, "/v1/meetings", cg_api_meetings_create, 1},
    {EVHTTP_REQ_GET, "/v1/meetings", cg_api_meetings_list, 1},
    {EVHTTP_REQ_GET, "/v1/meetings/{id}", cg_api_meetings_get, 1},
    {EVHTTP_REQ_GET, "/v1/tasks", cg_api_tasks_list, 1},
    {EVHTTP_REQ_POST, "/v1/tasks/{id}/done", cg_api_tasks_done, 1},
    {EVHTTP_REQ_POST, "/v1/devices", cg_api_devices_create, 1},
    {EVHTTP_REQ_GET, "/v1/devices", cg_api_devices_list, 1},
    {EVHTTP_REQ_GET, "/v1/devices/{id}", cg_api_devices_get, 1},
    {EVHTTP_REQ_PATCH, "/v1/devices/{id}", cg_api_devices_patch, 1},
    {EVHTTP_REQ_GET, "/v1/reports/monthly", cg_api_reports_monthly, 1},
    {EVHTTP_REQ_GET, "/v1/reports/annual", cg_api_reports_annual, 1},
    {EVHTTP_REQ_GET, "/v1/reports/commendations", cg_api_reports_commendations, 1},
    /* The web console (static.c) and its map. */
    {EVHTTP_REQ_GET, "/v1/grids.geojson", cg_api_grids_geojson, 1},
    {EVHTTP_REQ_GET, "/", cg_api_console_index, 0},
    {EVHTTP_REQ_GET, "/console/settings.json", cg_api_console_settings, 0},
    {EVHTTP_REQ_GET, "/console/{file}", cg_api_console_file, 0},
    {EVHTTP_REQ_GET, "/console/{dir}/{file}", cg_api_console_file, 0},
    {EVHTTP_REQ_GET, "/javascript/{lib}/{file}", cg_api_javascript_file, 0},
    {EVHTTP_REQ_GET, "/javascript/{lib}/{dir}/{file}", cg_api_javascript_file, 0},
};
const size_t cg_api_n_routes = sizeof cg_api_routes / sizeof cg_api_routes[0];

/* ---- deferred answers -------------------------------------------------- */

void cg_http_defer(cg_http *http, cg_http_deferred *d, struct evhttp_request *req)
{
    d->req = req;
    d->http = http;
    d->prev = &http->deferred;
    d->next = http->deferred.next;
    if (d->next)
        d->next->prev = d;
    http->deferred.next = d;
}

struct evhttp_request *cg_http_undefer(cg_http_deferred *d)
{
    struct evhttp_request *req = d->req;
    if (d->prev)
        d->prev->next = d->next;
    if (d->next)
        d->next->prev = d->prev;
    d->prev = d->next = NULL;
    d->req = NULL;
    d->http = NULL;
    return req;
}

/* ---- dispatch ---------------------------------------------------------- */

static const char *method_name(int m)
{
    switch (m) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_PATCH: return "PATCH";
    default: return "?";
    }
}

/* Append a method to an Allow list once ("GET, HEAD, POST"). */
static void allow_add(char *allow, size_t len, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = strstr(allow, name); p; p = strstr(p + 1, name))
        if ((p == allow || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
            return;
    size_t used = strlen(allow);
    snprintf(allow + used, len - used, "%s%s", used ? ", " : "", name);
}

/* 0 and *who filled, or -1 after answering 401. */
static int authenticate(cg_http *http, struct evhttp_request *req, cg_principal *who)
{
    char token[CG_TOKEN_HEX_LEN + 64];
    const char *h = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!h) {
        cg_http_reply_error(req, 401, "unauthorized", "this endpoint needs Authorization: Bearer TOKEN");
        return -1;
    }
    memset(who, 0, sizeof *who);
    if (cg_http_bearer_token(h, token, sizeof token) < 0 ||
        cg_auth_token_lookup(http->app->store, token, who) < 0) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Bearer realm=\"citygrid\", error=\"invalid_token\"");
        cg_http_reply_json(req, 401, cg_http_error_json("unauthorized", "unknown or malformed token"));
        return -1;
    }
    return 0;
}

static void dispatch(cg_http *http, struct evhttp_request *req, const char *path,
                     const struct evkeyvalq *query)
{
    int method = (int)evhttp_request_get_command(req);
    /* HEAD is GET without the body (evhttp leaves the body out). */
    int match_method = method == EVHTTP_REQ_HEAD ? EVHTTP_REQ_GET : method;
    char allow[96] = "";
    cg_path_params params;

    for (size_t i = 0; i < cg_api_n_routes; i++) {
        const cg_route *r = &cg_api_routes[i];
        if (!cg_path_match(r->pattern, path, &params))
            continue;
        if (r->method != match_method) {
            allow_add(allow, sizeof allow, method_name(r->method));
            if (r->method == EVHTTP_REQ_GET)
                allow_add(allow, sizeof allow, "HEAD");
            continue;
        }
        cg_api_metrics_watch(req, i);
        cg_principal who;
        if (r->needs_auth && authenticate(http, req, &who) < 0)
            return;
        cg_api_ctx ctx = {.app = http->app, .http = http, .req = req, .params = &params,
                          .query = query, .who = r->needs_auth ? &who : NULL};
        r->handler(&ctx);
        return;
    }
    if (allow[0]) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
        cg_http_reply_error(req, 405, "method_not_allowed", "%s is not allowed here (allowed: %s)",
                            method_name(method), allow);
        return;
    }
    cg_http_reply_error(req, 404, "not_found", "no such endpoint: %.200s", path);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    cg_http *http = arg;
    cg_api_metrics_watch(req, (size_t)-1); /* counted as "no route" until one matches */
    if (http->draining) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        cg_http_reply_error(req, 503, "shutting_down", "the server is shutting down; try again shortly");
        return;
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *raw = uri ? evhttp_uri_get_path(uri) : NULL;
    size_t len = 0;
    char *path = raw && strlen(raw) <= HTTP_MAX_PATH ? evhttp_uridecode(raw, 0, &len) : NULL;

    if (!path || !cg_http_path_is_safe(path, len)) {
        cg_http_reply_error(req, 400, "invalid_path", "the request path is malformed or too long");
        free(path);
        return;
    }
    struct evkeyvalq query;
    TAILQ_INIT(&query);
    const char *qs = evhttp_uri_get_query(uri);
    if (qs && *qs && evhttp_parse_query_str(qs, &query) < 0) {
        cg_http_reply_error(req, 400, "invalid_field", "the query string is malformed");
        free(path);
        return;
    }
    dispatch(http, req, path, &query);
    evhttp_clear_headers(&query);
    free(path);
}

/* ---- lifecycle --------------------------------------------------------- */

cg_http *cg_http_start(cg_app *app, const char *host, int port, char *err, size_t errlen)
{
    cg_http *http = calloc(1, sizeof *http);
    if (!http) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    http->app = app;
    http->evh = evhttp_new(app->base);
    if (!http->evh) {
        snprintf(err, errlen, "cannot create the HTTP server");
        free(http);
        return NULL;
    }
    size_t max_body = cg_api_max_body(app);
    evhttp_set_allowed_methods(http->evh, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PATCH |
                                              EVHTTP_REQ_DELETE | EVHTTP_REQ_PUT |
                                              EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS);
    /* One cap for every route: photo uploads (their own limit,
     * evidence.max_photo_bytes, answered as JSON 413 by their handler) need
     * it above JSON bodies'; JSON handlers still enforce max_body_bytes. */
    size_t hard_cap = max_body * HTTP_HARD_BODY_FACTOR;
    if (app->config && app->config->max_photo_bytes * 2 > hard_cap)
        hard_cap = app->config->max_photo_bytes * 2;
    evhttp_set_max_body_size(http->evh, (ev_ssize_t)hard_cap);
    evhttp_set_max_headers_size(http->evh, HTTP_MAX_HEADERS_BYTES);
    evhttp_set_timeout(http->evh, HTTP_TIMEOUT_SECONDS);
    evhttp_set_gencb(http->evh, on_request, http);

    errno = 0;
    http->socket = evhttp_bind_socket_with_handle(http->evh, host, (ev_uint16_t)port);
    if (!http->socket) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port,
                 errno ? strerror(errno) : "bind failed");
        evhttp_free(http->evh);
        free(http);
        return NULL;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    evutil_socket_t fd = evhttp_bound_socket_get_fd(http->socket);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            http->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            http->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    if (http->port == 0)
        http->port = port;
    CG_NOTICE("http", "listening on %s:%d (bodies up to %zu bytes)", host, http->port, max_body);
    return http;
}

int cg_http_port(const cg_http *http)
{
    return http ? http->port : 0;
}

void cg_http_drain(cg_http *http)
{
    if (!http || http->draining)
        return;
    http->draining = 1;
    if (http->socket) {
        evhttp_del_accept_socket(http->evh, http->socket);
        http->socket = NULL;
    }
}

size_t cg_http_pending(const cg_http *http)
{
    size_t n = 0;
    for (const cg_http_deferred *d = http ? http->deferred.next : NULL; d; d = d->next)
        n++;
    return n;
}

void cg_http_free(cg_http *http)
{
    if (!http)
        return;
    /* evhttp_free() frees requests still waiting for an answer: make sure
     * no late callback answers one of them. */
    while (http->deferred.next)
        cg_http_undefer(http->deferred.next);
    evhttp_free(http->evh);
    free(http);
}
