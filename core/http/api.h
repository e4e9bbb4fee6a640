/*
 * api.h — the HTTP API's handlers and the route table that http.c dispatches
 * on (API.md). One api_*.c file per area, grouped below by file. A handler
 * parses, authenticates, calls the domain and answers; a domain refusal (a
 * cg_result) goes out with cg_http_reply_result. Main (libevent) thread only.
 *
 * A handler gets a cg_api_ctx with the route's decoded path parameters, the
 * parsed query and (on routes that need it) the caller's principal, all valid
 * for the call only. It answers exactly once, either before it returns or
 * later through a cg_http_deferred (see below).
 */
#ifndef CG_API_H
#define CG_API_H

#include <stddef.h>
#include <jansson.h>
#include "host/app.h"
#include "people/auth.h"
#include "case/cases.h"
#include "people/catalog.h"
#include "http/http_util.h"

struct evhttp_request;
struct evkeyvalq;
struct cg_http;

typedef struct cg_api_ctx {
    cg_app *app;
    struct cg_http *http;
    struct evhttp_request *req;
    const cg_path_params *params;   /* in pattern order */
    const struct evkeyvalq *query;  /* never NULL (maybe empty) */
    const cg_principal *who;        /* NULL on routes without auth */
} cg_api_ctx;

typedef void (*cg_api_handler)(cg_api_ctx *ctx);

/* Methods as evhttp's enum evhttp_cmd_type bits (EVHTTP_REQ_GET, ...). */
typedef struct cg_route {
    int method;
    const char *pattern;            /* "/v1/cases/{id}" */
    cg_api_handler handler;
    int needs_auth;
} cg_route;

/* Request body limits per route, enforced from the Content-Length before the
 * body is read (http_gate.h): JSON bodies up to http.max_body_bytes (64 KiB)
 * on every route, except those that http.c's large_bodies table names
 * (photos, up to evidence.max_photo_bytes). NULL: no route, the JSON limit. */
size_t cg_http_route_body_limit(const cg_app *app, const cg_route *r);

/* The table (in http.c): first a matching pattern and method wins; a path
 * that matches only with other methods gets 405 with Allow. */
extern const cg_route cg_api_routes[];
extern const size_t cg_api_n_routes;

/* The request body limit the handlers enforce (config http.max_body_bytes). */
static inline size_t cg_api_max_body(const cg_app *app)
{
    return app->config->http.max_body_bytes;
}

/* The request's JSON object body, required, within cg_api_max_body. NULL
 * when it is missing, too large or not a JSON object: the request has then
 * been answered (4xx, what is wrong) and the handler just returns. The
 * caller owns the body (json_decref). */
static inline json_t *cg_api_body(cg_api_ctx *ctx)
{
    cg_result err;
    json_t *body = NULL;
    if (cg_http_read_json_body(ctx->req, cg_api_max_body(ctx->app), 1, &body, &err) < 0) {
        cg_http_reply_result(ctx->req, &err);
        return NULL;
    }
    return body;
}

/* ---- answers that come after a commit ------------------------------------
 * A handler that must wait (POST /v1/cases waits for the group commit) parks
 * its request with cg_http_defer() and answers when its callback runs, after
 * taking the request back with cg_http_undefer().
 *
 * Why this is safe in libevent 2.1: a client that disconnects meanwhile does
 * not free the request (evhttp detaches it, evcon = NULL, because the user
 * has not answered yet), and the eventual evhttp_send_reply() on a detached
 * request just frees it. The one thing that does free pending requests is
 * evhttp_free(): cg_http_free() therefore first clears every deferred's req,
 * so a callback arriving after shutdown finds NULL and answers nothing. */
typedef struct cg_http_deferred {
    struct evhttp_request *req;
    struct cg_http *http;
    struct cg_http_deferred *prev, *next;
} cg_http_deferred;
void cg_http_defer(struct cg_http *http, cg_http_deferred *d, struct evhttp_request *req);
/* The request to answer now, or NULL when the server is gone. Unlinks d. */
struct evhttp_request *cg_http_undefer(cg_http_deferred *d);

/* ---- handlers ----------------------------------------------------------- */
/* api_cases.c (api_workflow.c: the actions) */
void cg_api_cases_create(cg_api_ctx *ctx);      /* POST /v1/cases */
void cg_api_cases_list(cg_api_ctx *ctx);        /* GET  /v1/cases */
void cg_api_cases_get(cg_api_ctx *ctx);         /* GET  /v1/cases/{id} */
void cg_api_cases_action(cg_api_ctx *ctx);      /* POST /v1/cases/{id}/actions (api_workflow.c) */
/* api_evidence.c: photos attached to a case. */
void cg_api_photos_upload(cg_api_ctx *ctx);     /* POST /v1/cases/{id}/photos?stage= */
void cg_api_photos_list(cg_api_ctx *ctx);       /* GET  /v1/cases/{id}/photos */
void cg_api_photo_get(cg_api_ctx *ctx);         /* GET  /v1/photos/{sha256} */
/* api_catalog.c */
void cg_api_categories(cg_api_ctx *ctx);        /* GET  /v1/categories */
void cg_api_departments(cg_api_ctx *ctx);       /* GET  /v1/departments */
/* api_system.c */
void cg_api_health(cg_api_ctx *ctx);            /* GET  /v1/health (no auth) */
void cg_api_plugins(cg_api_ctx *ctx);           /* GET  /v1/plugins */
/* api_metrics.c: Prometheus text format (admin), and the per-request
 * observation http.c makes as a request arrives (route (size_t)-1) and
 * again once its route index is known. */
void cg_api_metrics(cg_api_ctx *ctx);           /* GET  /metrics */
void cg_api_metrics_watch(struct evhttp_request *req, size_t route);
/* api_auth.c */
void cg_api_sessions_create(cg_api_ctx *ctx);   /* POST /v1/sessions (no auth) */
void cg_api_member_token(cg_api_ctx *ctx);      /* POST /v1/members/{id}/tokens */
void cg_api_sessions_delete(cg_api_ctx *ctx);   /* DELETE /v1/sessions (own token) */
void cg_api_member_tokens_delete(cg_api_ctx *ctx); /* DELETE /v1/members/{id}/tokens */
/* api_grids.c */
void cg_api_grids_list(cg_api_ctx *ctx);        /* GET  /v1/grids */
void cg_api_grids_get(cg_api_ctx *ctx);         /* GET  /v1/grids/{code} */
void cg_api_grids_locate(cg_api_ctx *ctx);      /* GET  /v1/grids/locate */
void cg_api_staffing_gaps(cg_api_ctx *ctx);     /* GET  /v1/staffing/gaps */
/* api_members.c */
void cg_api_members_create(cg_api_ctx *ctx);    /* POST  /v1/members */
void cg_api_members_get(cg_api_ctx *ctx);       /* GET   /v1/members/{id} */
void cg_api_members_patch(cg_api_ctx *ctx);     /* PATCH /v1/members/{id} */
/* api_plugins.c (admin only): hot release and run-time switch of a plugin. */
void cg_api_plugin_reload(cg_api_ctx *ctx);     /* POST /v1/plugins/{name}/reload */
void cg_api_plugin_enable(cg_api_ctx *ctx);     /* POST /v1/plugins/{name}/enable */
void cg_api_plugin_disable(cg_api_ctx *ctx);    /* POST /v1/plugins/{name}/disable */
/* api_attendance.c: check-ins at the grid office, the duty rota. */
void cg_api_checkins_create(cg_api_ctx *ctx);   /* POST  /v1/checkins */
void cg_api_checkins_list(cg_api_ctx *ctx);     /* GET   /v1/checkins */
void cg_api_rota_generate(cg_api_ctx *ctx);     /* POST  /v1/grids/{code}/rota?month= */
void cg_api_rota_get(cg_api_ctx *ctx);          /* GET   /v1/grids/{code}/rota?month= */
void cg_api_rota_patch(cg_api_ctx *ctx);        /* PATCH /v1/grids/{code}/rota/{date} */
/* api_patrols.c: patrols, track points, the weekly rule. */
void cg_api_patrols_start(cg_api_ctx *ctx);     /* POST /v1/patrols */
void cg_api_patrols_points(cg_api_ctx *ctx);    /* POST /v1/patrols/{id}/points */
void cg_api_patrols_end(cg_api_ctx *ctx);       /* POST /v1/patrols/{id}/end */
void cg_api_patrols_get(cg_api_ctx *ctx);       /* GET  /v1/patrols/{id} */
void cg_api_patrols_compliance(cg_api_ctx *ctx);/* GET  /v1/patrols/compliance?week= */
/* api_meetings.c: grid meetings and the tasks claimed there. */
void cg_api_meetings_create(cg_api_ctx *ctx);   /* POST /v1/meetings */
void cg_api_meetings_list(cg_api_ctx *ctx);     /* GET  /v1/meetings?grid= */
void cg_api_meetings_get(cg_api_ctx *ctx);      /* GET  /v1/meetings/{id} */
void cg_api_tasks_list(cg_api_ctx *ctx);        /* GET  /v1/tasks?assignee=&status= */
void cg_api_tasks_done(cg_api_ctx *ctx);        /* POST /v1/tasks/{id}/done */
/* api_devices.c: terminals and body cameras, who holds what. */
void cg_api_devices_create(cg_api_ctx *ctx);    /* POST  /v1/devices */
void cg_api_devices_list(cg_api_ctx *ctx);      /* GET   /v1/devices?holder= */
void cg_api_devices_get(cg_api_ctx *ctx);       /* GET   /v1/devices/{id} */
void cg_api_devices_patch(cg_api_ctx *ctx);     /* PATCH /v1/devices/{id} */
/* api_reports.c: the assessment (assessment.h). */
void cg_api_reports_monthly(cg_api_ctx *ctx);   /* GET /v1/reports/monthly?month=&by=&format= */
void cg_api_reports_annual(cg_api_ctx *ctx);    /* GET /v1/reports/annual?year=&by=member */
void cg_api_reports_commendations(cg_api_ctx *ctx); /* GET /v1/reports/commendations?year= */
/* api_sources.c: data sources and the query audit (sources/query.h). */
void cg_api_sources_list(cg_api_ctx *ctx);      /* GET  /v1/sources */
void cg_api_sources_query(cg_api_ctx *ctx);     /* POST /v1/sources/{name}/query */
void cg_api_audit_queries(cg_api_ctx *ctx);     /* GET  /v1/audit/queries?format=json|csv */
/* static.c: the web console and the browser libraries it loads. */
void cg_api_console_index(cg_api_ctx *ctx);     /* GET /  */
void cg_api_console_settings(cg_api_ctx *ctx);  /* GET /console/settings.json */
void cg_api_console_file(cg_api_ctx *ctx);      /* GET /console/{file}, /console/{dir}/{file} */
void cg_api_javascript_file(cg_api_ctx *ctx);   /* GET /javascript/{lib}/{file}[/...] */
/* api_geojson.c: every grid of the city, with its case counts. */
void cg_api_grids_geojson(cg_api_ctx *ctx);     /* GET /v1/grids.geojson */

/* api_inbound.c: a signed report of another platform (host/inbound.h). */
void cg_api_inbound(cg_api_ctx *ctx);           /* POST /v1/inbound/{source} (no auth) */

#endif
