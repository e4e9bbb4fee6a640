/*
 * http_client.h — a small blocking HTTP/1.1 client for the integration tests.
 *
 * One request per TCP connection to 127.0.0.1 ("Connection: close"), every
 * step bounded by a deadline so a test never hangs on a silent server. Reads
 * Content-Length and chunked bodies, or up to EOF when the server sends
 * neither. If the server answers and closes before the whole request body is
 * written (e.g. an early 413), the answer is still read and returned.
 *
 * Not thread-safe in any interesting way (no shared state; one caller per
 * hc_response). Writes on a closed socket use MSG_NOSIGNAL: no SIGPIPE.
 */
#ifndef CG_TEST_HTTP_CLIENT_H
#define CG_TEST_HTTP_CLIENT_H

#include <stddef.h>

#define HC_DEFAULT_TIMEOUT_MS 5000

typedef struct hc_request {
    const char *method;                /* "GET", "POST", ... */
    const char *path;                  /* "/v1/cases?limit=10", sent as is */
    const char *token;                 /* "Authorization: Bearer TOKEN", or NULL */
    const char *content_type;          /* NULL: "application/json" when there is a body */
    const char *body;                  /* NULL: no body */
    size_t body_len;                   /* 0: strlen(body) */
    const char *const *extra_headers;  /* NULL-terminated "Name: value" lines, or NULL */
    int timeout_ms;                    /* whole exchange; <= 0: HC_DEFAULT_TIMEOUT_MS */
} hc_request;

typedef struct hc_response {
    int status;          /* HTTP status; 0 when no status line arrived */
    char *headers;       /* raw header block (without the status line), NUL-terminated */
    char *location;      /* value of Location, or NULL */
    char *content_type;  /* value of Content-Type, or NULL */
    char *body;          /* de-chunked body, always NUL-terminated ("" if none) */
    size_t body_len;
    char error[128];     /* why status is 0 (connect refused, timeout, ...) */
} hc_response;

/* Send one request to 127.0.0.1:port. Returns 0 when a complete response
 * was read (out->status set), -1 otherwise (out->error says why; out->body
 * holds whatever arrived). Always initialises *out: call hc_response_free. */
int hc_send(int port, const hc_request *req, hc_response *out);
void hc_response_free(hc_response *r);

/* Shorthands (default timeout). token may be NULL. */
int hc_get(int port, const char *path, const char *token, hc_response *out);
int hc_post_json(int port, const char *path, const char *token, const char *json,
                 hc_response *out);

/* Value of a response header (case-insensitive name), malloc'd, or NULL. */
char *hc_header(const hc_response *r, const char *name);

/* Percent-encode s for a query string value. malloc'd. */
char *hc_url_encode(const char *s);

#endif
