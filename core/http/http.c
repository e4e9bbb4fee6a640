/*
 * http.c — the evhttp server: binds, routes every request through one
 * generic callback (cg_api_routes in api_*.c), checks method and bearer
 * token, and hands the handler a cg_api_ctx. Main (libevent) thread only.
 *
 * evhttp is told to pass every method we name on to us, so that wrong
 * methods get our JSON 405 instead of its HTML page. Every connection goes
 * through the gate (http_gate.h) first: it reads each request head strictly,
 * refuses a body over its route's limit from the Content-Length, keeps the
 * head, body and idle timeouts, and caps the number of connections; evhttp's
 * own body cap is only the largest route limit, as a second line.
 *
 * With a tls group in the config every connection is TLS (1.2 and newer):
 * evhttp's bufferevent callback makes an OpenSSL bufferevent in accepting
 * state under the gate, so the gate and evhttp see plain HTTP either way.
 * SIGHUP builds a new context from the (re-read) files; connections already
 * open keep the old one, which OpenSSL frees with the last of them.
 *
 * Accept errors (EMFILE when descriptors run out) are logged at most once a
 * second, and the listener pauses briefly after one, so that a full
 * descriptor table cannot make the loop spin on accept().
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "http/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include <openssl/ssl.h>

#include "http/api.h"
#include "http/open311.h"
#include "people/auth.h"
#include "http/http_gate.h"
#include "http/http_util.h"
#include "host/workers.h"
#include "http/metrics_listen.h"
#include "lib/log.h"
#include "lib/tls.h"

#define HTTP_TIMEOUT_SECONDS 30
#define HTTP_MAX_HEADERS_BYTES 16384
#define HTTP_MAX_PATH 1024
#define HTTP_FD_RESERVE 64          /* descriptors kept for the database, the bus, plugins */
#define ACCEPT_PAUSE_MS 100         /* after EMFILE and the like */
#define PASSWORD_JOBS_PER_WORKER 32 /* queued argon2id jobs: ~10 s of work at most */

struct cg_http {
    cg_app *app;
    struct evhttp *evh;
    struct evhttp_bound_socket *socket;
    cg_gate *gate;
    cg_tls_ctx *tls;                /* NULL: plain HTTP */
    cg_metrics_listen *metrics;     /* the config's metrics_listen, or NULL */
    struct event *accept_pause;     /* re-enables the listener */
    int port;
    int draining;                   /* cg_http_drain() was called */
    cg_http_deferred deferred;      /* list head of parked requests */
    cg_workers *workers;            /* argon2id off the loop (logins, passwords) */
};

/* ---- the routes -------------------------------------------------------- */

const cg_route cg_api_routes[] = {
    {EVHTTP_REQ_GET, "/v1/health", cg_api_health, 0},
    {EVHTTP_REQ_GET, "/metrics", cg_api_metrics, 1},
    {EVHTTP_REQ_POST, "/v1/sessions", cg_api_sessions_create, 0},
    {EVHTTP_REQ_DELETE, "/v1/sessions", cg_api_sessions_delete, 1},
    {EVHTTP_REQ_GET, "/v1/plugins", cg_api_plugins, 1},
    {EVHTTP_REQ_POST, "/v1/plugins/{name}/reload", cg_api_plugin_reload, 1},
    {EVHTTP_REQ_POST, "/v1/plugins/{name}/enable", cg_api_plugin_enable, 1},
    {EVHTTP_REQ_POST, "/v1/plugins/{name}/disable", cg_api_plugin_disable, 1},
    {EVHTTP_REQ_GET, "/v1/categories", cg_api_categories, 1},
    {EVHTTP_REQ_GET, "/v1/departments", cg_api_departments, 1},
    {EVHTTP_REQ_POST, "/v1/members/{id}/tokens", cg_api_member_token, 1},
    {EVHTTP_REQ_DELETE, "/v1/members/{id}/tokens", cg_api_member_tokens_delete, 1},
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
    /* Evidence: photos of a case, and their bytes. */
    {EVHTTP_REQ_POST, "/v1/cases/{id}/photos", cg_api_photos_upload, 1},
    {EVHTTP_REQ_GET, "/v1/cases/{id}/photos", cg_api_photos_list, 1},
    {EVHTTP_REQ_GET, "/v1/photos/{sha256}", cg_api_photo_get, 1},
    /* Attendance. compliance before {id}: the first match wins. */
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
    /* Data sources and the query audit (api_sources.c). */
    {EVHTTP_REQ_GET, "/v1/sources", cg_api_sources_list, 1},
    {EVHTTP_REQ_POST, "/v1/sources/{name}/query", cg_api_sources_query, 1},
    {EVHTTP_REQ_GET, "/v1/audit/queries", cg_api_audit_queries, 1},
    /* The web console (static.c) and its map. */
    {EVHTTP_REQ_GET, "/v1/grids.geojson", cg_api_grids_geojson, 1},
    {EVHTTP_REQ_GET, "/", cg_api_console_index, 0},
    {EVHTTP_REQ_GET, "/console/settings.json", cg_api_console_settings, 0},
    {EVHTTP_REQ_GET, "/console/{file}", cg_api_console_file, 0},
    {EVHTTP_REQ_GET, "/console/{dir}/{file}", cg_api_console_file, 0},
    {EVHTTP_REQ_GET, "/javascript/{lib}/{file}", cg_api_javascript_file, 0},
    {EVHTTP_REQ_GET, "/javascript/{lib}/{dir}/{file}", cg_api_javascript_file, 0},
    /* Open311 GeoReport v2 (open311*.c): a platform's api_key, no bearer
     * token. Each format its own row; {code}, {id} and {token} end in it. */
    {EVHTTP_REQ_GET, "/open311/v2/discovery.xml", cg_o311_discovery, 0},
    {EVHTTP_REQ_GET, "/open311/v2/services.xml", cg_o311_services, 0},
    {EVHTTP_REQ_GET, "/open311/v2/requests.xml", cg_o311_requests_get, 0},
    {EVHTTP_REQ_POST, "/open311/v2/requests.xml", cg_o311_requests_post, 0},
    {EVHTTP_REQ_GET, "/open311/v2/servicerequestupdates.xml", cg_o311_updates_get, 0},
    {EVHTTP_REQ_POST, "/open311/v2/servicerequestupdates.xml", cg_o311_updates_post, 0},
    {EVHTTP_REQ_GET, "/open311/v2/discovery.json", cg_o311_discovery, 0},
    {EVHTTP_REQ_GET, "/open311/v2/services.json", cg_o311_services, 0},
    {EVHTTP_REQ_GET, "/open311/v2/requests.json", cg_o311_requests_get, 0},
    {EVHTTP_REQ_POST, "/open311/v2/requests.json", cg_o311_requests_post, 0},
    {EVHTTP_REQ_GET, "/open311/v2/servicerequestupdates.json", cg_o311_updates_get, 0},
    {EVHTTP_REQ_POST, "/open311/v2/servicerequestupdates.json", cg_o311_updates_post, 0},
    {EVHTTP_REQ_GET, "/open311/v2/services/{code}", cg_o311_service, 0},
    {EVHTTP_REQ_GET, "/open311/v2/requests/{id}", cg_o311_request, 0},
    {EVHTTP_REQ_GET, "/open311/v2/tokens/{token}", cg_o311_token, 0},
    /* Signed reports of other platforms (api_inbound.c): no bearer token. */
    {EVHTTP_REQ_POST, "/v1/inbound/{source}", cg_api_inbound, 0},
    {EVHTTP_REQ_POST, "/v1/open311/keys", cg_api_open311_keys_create, 1},
    {EVHTTP_REQ_GET, "/v1/open311/keys", cg_api_open311_keys_list, 1},
    {EVHTTP_REQ_DELETE, "/v1/open311/keys/{name}", cg_api_open311_keys_revoke, 1},
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
    /* The gate's answer-complete hook first: metrics' own (which calls the
     * gate's too, cg_gate_complete) replaces it. */
    cg_gate_track(http->gate, req);
    cg_api_metrics_watch(req, (size_t)-1); /* counted as "no route" until one matches */
    /* Every answer says what it is; browsers must not guess (a JSON error
     * or a CSV sniffed as HTML would run in the API's origin). */
    evhttp_add_header(evhttp_request_get_output_headers(req), "X-Content-Type-Options", "nosniff");
    if (cg_gate_answer(req))
        return;
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
    /* evhttp decodes %00 into a NUL that silently cuts the value short
     * (?grid=%00 would drop the filter): refuse it. */
    if (qs && strstr(qs, "%00")) {
        cg_http_reply_error(req, 400, "invalid_field", "the query string holds a NUL (%%00)");
        free(path);
        return;
    }
    if (qs && *qs && evhttp_parse_query_str(qs, &query) < 0) {
        cg_http_reply_error(req, 400, "invalid_field", "the query string is malformed");
        free(path);
        return;
    }
    dispatch(http, req, path, &query);
    evhttp_clear_headers(&query);
    free(path);
}

/* ---- the gate's questions ------------------------------------------------ */

static const cg_route *route_for(const char *method, size_t mlen, const char *path)
{
    static const struct { const char *name; int m; } methods[] = {
        {"GET", EVHTTP_REQ_GET}, {"HEAD", EVHTTP_REQ_GET}, {"POST", EVHTTP_REQ_POST},
        {"PUT", EVHTTP_REQ_PUT}, {"DELETE", EVHTTP_REQ_DELETE}, {"PATCH", EVHTTP_REQ_PATCH},
        {"OPTIONS", EVHTTP_REQ_OPTIONS}};
    int m = -1;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strlen(methods[i].name) == mlen && memcmp(methods[i].name, method, mlen) == 0)
            m = methods[i].m;
    cg_path_params params;
    for (size_t i = 0; m >= 0 && i < cg_api_n_routes; i++)
        if (cg_api_routes[i].method == m && cg_path_match(cg_api_routes[i].pattern, path, &params))
            return &cg_api_routes[i];
    return NULL;
}

/* The routes whose bodies may be larger than a JSON body: photos. */
static const struct {
    int method;
    const char *pattern;
} large_bodies[] = {
    {EVHTTP_REQ_POST, "/v1/cases/{id}/photos"},
};

size_t cg_http_route_body_limit(const cg_app *app, const cg_route *r)
{
    int photo = 0;
    for (size_t i = 0; r && i < sizeof large_bodies / sizeof large_bodies[0]; i++)
        photo |= r->method == large_bodies[i].method && strcmp(r->pattern, large_bodies[i].pattern) == 0;
    if (photo)
        return app->config->evidence.max_photo_bytes;
    return cg_api_max_body(app);
}

/* A head the gate found well-formed: is its body within its route's limit,
 * and does a body larger than a JSON one come with a valid token? Routing
 * itself (404, 405) is left to dispatch. */
static int judge_head(void *arg, const cg_http_head *head, int64_t *limit)
{
    cg_http *http = arg;
    if (head->content_length <= 0)
        return 0;
    char raw[HTTP_MAX_PATH + 1];
    size_t n = 0;
    while (n < head->target_len && head->target[n] != '?')
        n++;
    const cg_route *r = NULL;
    if (n <= HTTP_MAX_PATH) {
        memcpy(raw, head->target, n);
        raw[n] = 0;
        size_t len = 0;
        char *path = evhttp_uridecode(raw, 0, &len);
        if (path && strlen(path) == len)
            r = route_for(head->method, head->method_len, path);
        free(path);
    }
    size_t json_max = cg_api_max_body(http->app);
    *limit = (int64_t)cg_http_route_body_limit(http->app, r);
    if (head->content_length > *limit)
        return 413;
    if (r && r->needs_auth && (size_t)head->content_length > json_max) {
        char header[CG_TOKEN_HEX_LEN + 64], token[CG_TOKEN_HEX_LEN + 64];
        cg_principal who;
        if (!head->authorization || head->authorization_len >= sizeof header)
            return 401;
        memcpy(header, head->authorization, head->authorization_len);
        header[head->authorization_len] = 0;
        if (cg_http_bearer_token(header, token, sizeof token) < 0 ||
            cg_auth_token_lookup(http->app->store, token, &who) < 0)
            return 401;
    }
    return 0;
}

static struct bufferevent *new_connection(struct event_base *base, void *arg)
{
    cg_http *http = arg;
    struct bufferevent *under;
    /* NULL would make evhttp fall back to a plain socket bufferevent; that
     * only happens out of memory, and a TLS client then gets no answer it
     * can read. */
    if (http->tls) {
        SSL *ssl = SSL_new(http->tls);
        if (!ssl)
            return NULL;
        /* evhttp sets the fd; the handshake starts then. */
        under = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                               BEV_OPT_CLOSE_ON_FREE);
        if (!under) {
            SSL_free(ssl);
            return NULL;
        }
        /* A client that closes without close_notify has still had its
         * whole answer (HTTP framing says where it ends). */
        bufferevent_openssl_set_allow_dirty_shutdown(under, 1);
    } else {
        under = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    }
    return cg_gate_wrap(http->gate, under);
}

static time_t monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static void on_accept_pause_end(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cg_http *http = arg;
    if (http->socket && !http->draining)
        evconnlistener_enable(evhttp_bound_socket_get_listener(http->socket));
}

/* Out of descriptors (or memory) the listening socket stays readable and
 * libevent would call accept() again at once, forever: pause the listener
 * and log at most one line a second. */
static struct {
    struct evconnlistener *listener;
    cg_http *http;
} accept_owners[8]; /* evhttp owns the listener's callback argument */

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    (void)arg; /* evhttp's own struct */
    cg_http *http = NULL;
    for (size_t i = 0; i < sizeof accept_owners / sizeof accept_owners[0]; i++)
        if (accept_owners[i].listener == l)
            http = accept_owners[i].http;
    int e = EVUTIL_SOCKET_ERROR();
    time_t now = monotonic_seconds();
    static time_t logged_at;
    static unsigned long errors;
    errors++;
    if (now != logged_at) {
        CG_WARN("http", "accept: %s (%lu accept errors in the last second)",
                evutil_socket_error_to_string(e), errors);
        logged_at = now;
        errors = 0;
    }
    if (!http)
        return;
    if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        evconnlistener_disable(l);
        struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
        evtimer_add(http->accept_pause, &tv);
    }
}

/* Connections must fit in the descriptor limit with room to spare, or
 * accept() fails first: raise the soft limit as far as allowed, else lower
 * the cap. */
static unsigned fit_connections(unsigned want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return want;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)want + HTTP_FD_RESERVE &&
        rl.rlim_max > rl.rlim_cur) {
        rlim_t need = (rlim_t)want + HTTP_FD_RESERVE;
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)want + HTTP_FD_RESERVE) {
        unsigned fit = rl.rlim_cur > 2 * HTTP_FD_RESERVE ? (unsigned)(rl.rlim_cur - HTTP_FD_RESERVE)
                                                         : HTTP_FD_RESERVE;
        CG_WARN("http", "max_connections %u does not fit the descriptor limit %llu: using %u",
                want, (unsigned long long)rl.rlim_cur, fit);
        return fit;
    }
    return want;
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
    if (app->config && (app->config->tls.cert || app->config->tls.key)) {
        char why[1024];
        http->tls = cg_tls_ctx_new(app->config->tls.cert, app->config->tls.key, NULL, why,
                                   sizeof why);
        if (!http->tls) {
            snprintf(err, errlen, "tls: %s", why);
            free(http);
            return NULL;
        }
    }
    http->evh = evhttp_new(app->base);
    if (!http->evh) {
        snprintf(err, errlen, "cannot create the HTTP server");
        cg_tls_ctx_free(http->tls);
        free(http);
        return NULL;
    }
    size_t max_body = cg_api_max_body(app);
    cg_gate_conf gc = {0};
    if (app->config)
        cg_auth_set_lifetimes((int64_t)app->config->http.session_ttl * 1000,
                              (int64_t)app->config->http.terminal_token_ttl * 1000);
    if (app->config) {
        gc.max_connections = (unsigned)app->config->http.max_connections;
        gc.header_timeout_ms = (unsigned)app->config->http.header_timeout * 1000;
        gc.body_timeout_ms = (unsigned)app->config->http.body_timeout * 1000;
        gc.idle_timeout_ms = (unsigned)app->config->http.idle_timeout * 1000;
    }
    gc.max_header_bytes = HTTP_MAX_HEADERS_BYTES;
    gc.max_connections = fit_connections(gc.max_connections ? gc.max_connections : 512);
    http->gate = cg_gate_new(app->base, &gc, judge_head, http);
    http->accept_pause = evtimer_new(app->base, on_accept_pause_end, http);
    int threads = app->config ? app->config->http.password_workers : 2;
    http->workers = cg_workers_new(app->base, threads > 0 ? threads : 2,
                                   (size_t)PASSWORD_JOBS_PER_WORKER * (threads > 0 ? threads : 2));
    if (!http->gate || !http->accept_pause || !http->workers) {
        snprintf(err, errlen, "out of memory");
        cg_http_free(http);
        return NULL;
    }
    evhttp_set_bevcb(http->evh, new_connection, http);
    evhttp_set_allowed_methods(http->evh, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PATCH |
                                              EVHTTP_REQ_DELETE | EVHTTP_REQ_PUT |
                                              EVHTTP_REQ_HEAD | EVHTTP_REQ_OPTIONS);
    /* The gate holds every route to its own limit before evhttp reads a
     * body; evhttp's single cap is the largest of them, as a second line. */
    size_t hard_cap = max_body;
    for (size_t i = 0; i < cg_api_n_routes; i++)
        if (cg_http_route_body_limit(app, &cg_api_routes[i]) > hard_cap)
            hard_cap = cg_http_route_body_limit(app, &cg_api_routes[i]);
    evhttp_set_max_body_size(http->evh, (ev_ssize_t)hard_cap);
    evhttp_set_max_headers_size(http->evh, HTTP_MAX_HEADERS_BYTES + 1024);
    evhttp_set_timeout(http->evh, HTTP_TIMEOUT_SECONDS);
    evhttp_set_gencb(http->evh, on_request, http);

    errno = 0;
    http->socket = evhttp_bind_socket_with_handle(http->evh, host, (ev_uint16_t)port);
    if (!http->socket) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", host, port,
                 errno ? strerror(errno) : "bind failed");
        cg_http_free(http);
        return NULL;
    }
    struct evconnlistener *listener = evhttp_bound_socket_get_listener(http->socket);
    for (size_t i = 0; i < sizeof accept_owners / sizeof accept_owners[0]; i++)
        if (!accept_owners[i].listener) {
            accept_owners[i].listener = listener;
            accept_owners[i].http = http;
            break;
        }
    evconnlistener_set_error_cb(listener, on_accept_error);
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
    if (app->config && app->config->metrics_host) {
        http->metrics = cg_metrics_listen_start(app, app->config->metrics_host,
                                                app->config->metrics_port, err, errlen);
        if (!http->metrics) {
            cg_http_free(http);
            return NULL;
        }
    }
    CG_NOTICE("http", "listening on %s:%d (%s, JSON bodies up to %zu bytes, %u connections)",
              host, http->port, http->tls ? "TLS 1.2 and newer" : "plain HTTP", max_body,
              gc.max_connections);
    return http;
}

int cg_http_port(const cg_http *http)
{
    return http ? http->port : 0;
}

int cg_http_is_tls(const cg_http *http)
{
    return http && http->tls;
}

int cg_http_tls_reload(cg_http *http, const char *cert, const char *key, char *err,
                       size_t errlen)
{
    if (!http->tls) {
        snprintf(err, errlen, "this listener speaks plain HTTP: turning TLS on needs a restart");
        return -1;
    }
    if (!cert && !key) {
        snprintf(err, errlen, "the tls group is gone: turning TLS off needs a restart");
        return -1;
    }
    cg_tls_ctx *fresh = cg_tls_ctx_new(cert, key, NULL, err, errlen);
    if (!fresh)
        return -1;
    cg_tls_ctx_free(http->tls); /* open connections hold their own reference */
    http->tls = fresh;
    return 0;
}

void cg_http_drain(cg_http *http)
{
    if (!http || http->draining)
        return;
    http->draining = 1;
    cg_metrics_listen_free(http->metrics);
    http->metrics = NULL;
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
    for (size_t i = 0; i < sizeof accept_owners / sizeof accept_owners[0]; i++)
        if (accept_owners[i].http == http)
            accept_owners[i].listener = NULL, accept_owners[i].http = NULL;
    /* evhttp first: freeing its connections frees their gate state. */
    if (http->evh)
        evhttp_free(http->evh);
    if (http->accept_pause)
        event_free(http->accept_pause);
    cg_gate_free(http->gate);
    cg_metrics_listen_free(http->metrics);
    cg_tls_ctx_free(http->tls);
    /* Last: a job finishing now finds its request undeferred (NULL) and
     * only frees itself. */
    cg_workers_free(http->workers);
    free(http);
}

cg_workers *cg_http_workers(const cg_http *http)
{
    return http ? http->workers : NULL;
}
