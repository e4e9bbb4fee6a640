/*
 * http_util.h — small helpers for the HTTP API: JSON replies, the one error
 * shape {"error":{"code","message"}}, request bodies with a size limit and a
 * content-type check, bearer tokens, path patterns and query parameters.
 *
 * The pure parsers (content type, bearer token, path match, JSON body, query
 * values) touch no connection, so the unit tests call them directly. The
 * reply functions write to an evhttp request; like all of evhttp they run on
 * the main (libevent) thread only.
 */
#ifndef CG_HTTP_UTIL_H
#define CG_HTTP_UTIL_H

#include <stddef.h>
#include <jansson.h>

#include "lib/result.h"

struct evhttp_request;
struct evkeyvalq;

#define CG_JSON_CONTENT_TYPE "application/json; charset=utf-8"

/* {"error":{"code":code,"message":message}} (new reference). */
json_t *cg_http_error_json(const char *code, const char *message);

/* Send `body` (stolen; NULL sends {}) with `status` and the JSON content type.
 * Other headers (Location, Allow, ...) are added by the caller before. */
void cg_http_reply_json(struct evhttp_request *req, int status, json_t *body);
/* Send the error shape with an HTTP status the http layer chose itself
 * (routing: 404, 405; a handler's own checks). A 401 also gets
 * WWW-Authenticate: Bearer; a 5xx is logged. */
void cg_http_reply_error(struct evhttp_request *req, int status, const char *code,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The one place a domain status becomes an HTTP status (lib/result.h):
 * CG_E_INVALID 400, CG_E_UNAUTHENTICATED 401, CG_E_FORBIDDEN 403,
 * CG_E_NOT_FOUND 404, CG_E_CONFLICT 409, CG_E_TOO_LARGE 413,
 * CG_E_UNSUPPORTED 415, CG_E_UNPROCESSABLE 422, CG_E_THROTTLED 429,
 * CG_E_UNAVAILABLE 503, CG_E_TIMEOUT 504, CG_E_INTERNAL (and anything
 * unknown) 500; CG_OK 200. */
int cg_http_status_of(cg_status status);
/* Send a refusal (a domain's, or a parser's below): the HTTP status
 * cg_http_status_of gives, its code and message, as cg_http_reply_error. */
void cg_http_reply_result(struct evhttp_request *req, const cg_result *r);

/* 1 if a Content-Type value is application/json (case-insensitive), with
 * optional parameters; a charset other than utf-8 is refused (RFC 8259). */
int cg_http_is_json_content_type(const char *value);

/* Authorization header -> token ("Bearer TOKEN", scheme case-insensitive,
 * token68 characters). 0 ok, -1 absent, malformed or longer than outlen-1. */
int cg_http_bearer_token(const char *header, char *out, size_t outlen);

/* A decoded request path is safe to route: starts with '/', no NUL (len is
 * the decoded length), no "." or ".." segment, no control characters. */
int cg_http_path_is_safe(const char *path, size_t len);

#define CG_PATH_MAX_PARAMS 4
#define CG_PATH_PARAM_MAX 128
typedef struct cg_path_params {
    size_t n;
    char value[CG_PATH_MAX_PARAMS][CG_PATH_PARAM_MAX];
} cg_path_params;
/* Match a path against a pattern like "/v1/members/{id}/tokens": segment by
 * segment, "{name}" takes one non-empty segment. 1 match (params filled in
 * order), 0 no match (also when a parameter is too long). */
int cg_path_match(const char *pattern, const char *path, cg_path_params *params);

/* Parse a request body: at most `max` bytes, valid JSON (no duplicate keys),
 * a JSON object. New reference, or NULL with err (CG_E_TOO_LARGE
 * body_too_large, CG_E_INVALID invalid_json or body_not_object). */
json_t *cg_http_parse_json_body(const char *data, size_t len, size_t max, cg_result *err);

/* The whole check for a request with a JSON body: Content-Type
 * (CG_E_UNSUPPORTED unsupported_media_type), size, parse. An empty body is
 * an error when `required`, else *out = NULL and 0. 0 ok (*out is a new
 * reference), -1 with err. */
int cg_http_read_json_body(struct evhttp_request *req, size_t max, int required, json_t **out,
                           cg_result *err);

/* Query parameters (as parsed by evhttp_parse_query_str). Each returns 0 and
 * the default when the parameter is absent or empty, 0 and the value when it
 * is valid, -1 with err (CG_E_INVALID invalid_field naming the parameter)
 * otherwise. */
int cg_query_long(const struct evkeyvalq *q, const char *name, long def, long min, long max,
                  long *out, cg_result *err);
/* "true"/"false" (also "1"/"0"). */
int cg_query_bool(const struct evkeyvalq *q, const char *name, int def, int *out,
                  cg_result *err);
/* A printable string of at most maxlen bytes; *out NULL when absent. */
int cg_query_string(const struct evkeyvalq *q, const char *name, size_t maxlen, const char **out,
                    cg_result *err);

#endif
