/*
 * open311.h — Open311 GeoReport v2 at /open311/v2/ (API.md; the spec's
 * GeoReport/v2, Service_Discovery and FixMyStreet's servicerequestupdates
 * extension), and the admin endpoints of its keys. Main (libevent) thread.
 *
 * Every endpoint answers in the format its path ends with (.xml or .json);
 * errors are the spec's <errors><error><code/><description/></error></errors>
 * (JSON: [{"code","description"}]) with 400, 403 (a missing or bad api_key
 * where one is needed), 404, 413 or 429. The GeoReport routes take no bearer
 * token: a platform is known by its api_key alone.
 *
 * Files: open311.c (discovery, services, requests, tokens), open311_updates.c
 * (servicerequestupdates), open311_keys.c (the admin API of keys),
 * open311_reply.c (formats, errors, keys, jurisdiction, rate limit: what the
 * endpoints share), open311_xml.c (the XML writer), open311_form.c (the form
 * parser).
 */
#ifndef CG_HTTP_OPEN311_H
#define CG_HTTP_OPEN311_H

#include <stdint.h>
#include <jansson.h>
#include "http/api.h"
#include "http/open311_form.h"
#include "case/open311.h"

/* The configured jurisdiction when the config names none. */
#define CG_O311_DEFAULT_JURISDICTION "lishui.gov.cn"
/* Requests a key may make per minute (a token bucket, refilled evenly). */
#define CG_O311_DEFAULT_RATE_PER_MINUTE 600

/* ---- handlers (routes in http.c) ---------------------------------------- */
void cg_o311_discovery(cg_api_ctx *ctx);        /* GET  discovery.{xml,json} */
void cg_o311_services(cg_api_ctx *ctx);         /* GET  services.{xml,json} */
void cg_o311_service(cg_api_ctx *ctx);          /* GET  services/{code}.{xml,json} */
void cg_o311_requests_get(cg_api_ctx *ctx);     /* GET  requests.{xml,json} */
void cg_o311_requests_post(cg_api_ctx *ctx);    /* POST requests.{xml,json} */
void cg_o311_request(cg_api_ctx *ctx);          /* GET  requests/{id}.{xml,json} */
void cg_o311_token(cg_api_ctx *ctx);            /* GET  tokens/{token}.{xml,json} */
void cg_o311_updates_get(cg_api_ctx *ctx);      /* GET  servicerequestupdates.{xml,json} */
void cg_o311_updates_post(cg_api_ctx *ctx);     /* POST servicerequestupdates.{xml,json} */
void cg_api_open311_keys_create(cg_api_ctx *ctx);      /* POST   /v1/open311/keys (admin) */
void cg_api_open311_keys_list(cg_api_ctx *ctx);        /* GET    /v1/open311/keys (admin) */
void cg_api_open311_keys_revoke(cg_api_ctx *ctx);      /* DELETE /v1/open311/keys/{name} (admin) */

/* ---- what the endpoints share (open311_reply.c) -------------------------- */

typedef enum { CG_O311_XML = 0, CG_O311_JSON = 1 } cg_o311_format;

/* The format the request's path ends with. */
cg_o311_format cg_o311_format_of(struct evhttp_request *req);
/* A path parameter without its ".xml"/".json" (into out); 0, or -1 when it
 * has neither ending or is empty. */
int cg_o311_strip_format(const char *param, char *out, size_t outlen);

/* Send `body` (stolen): JSON as is, XML under the root element `root`. */
void cg_o311_reply(struct evhttp_request *req, cg_o311_format fmt, int status, const char *root,
                   json_t *body);
/* Send the spec's error list with one error (code = the HTTP status). */
void cg_o311_error(struct evhttp_request *req, cg_o311_format fmt, int status, const char *fmt_msg,
                   ...) __attribute__((format(printf, 4, 5)));

/* A request's parameters: the query for GET, the form body for POST. */
typedef struct cg_o311_params {
    const struct evkeyvalq *query;  /* GET */
    const cg_form *form;            /* POST */
} cg_o311_params;
/* A parameter's value; an empty one counts as absent (NULL). */
const char *cg_o311_param(const cg_o311_params *p, const char *name);

/* jurisdiction_id, when given, must be the configured one: 0, or -1 after
 * answering 404. */
int cg_o311_check_jurisdiction(cg_api_ctx *ctx, cg_o311_format fmt, const cg_o311_params *p);
/* The caller's key: 1 and name filled (live key, within its rate), 0 when no
 * api_key was given and `required` is 0, or -1 after answering (403 missing
 * or bad key, 429 over the rate, 500). */
int cg_o311_check_key(cg_api_ctx *ctx, cg_o311_format fmt, const cg_o311_params *p, int required,
                      char name[CG_O311_NAME_MAX + 1]);
/* A W3C datetime parameter ('+' decoded to ' ' is put back): 0 and *ms
 * (untouched when absent), or -1 after answering 400. */
int cg_o311_param_time(cg_api_ctx *ctx, cg_o311_format fmt, const cg_o311_params *p,
                       const char *name, int64_t *ms, int *given);
/* Read a form-urlencoded POST body: 0, or -1 after answering (400, 413). */
int cg_o311_read_form(cg_api_ctx *ctx, cg_o311_format fmt, cg_form *form);

/* "http://HOST" of this request (Host header; 127.0.0.1 when none). */
void cg_o311_base_url(struct evhttp_request *req, char *out, size_t outlen);

#endif
