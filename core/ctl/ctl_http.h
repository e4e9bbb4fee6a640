/*
 * ctl_http.h — the small blocking HTTP/1.1 client citygridctl uses to talk
 * to a running citygridd.
 *
 * One request per connection ("Connection: close"). Every step (resolve,
 * connect, send, receive) is bounded by one deadline, so the tool never
 * hangs on a silent server. Bodies are read by Content-Length, chunked
 * transfer coding, or up to EOF. Writes use MSG_NOSIGNAL (no SIGPIPE).
 * No global state: any thread may call it, one caller per response.
 */
#ifndef CG_CTL_HTTP_H
#define CG_CTL_HTTP_H

#include <stddef.h>

#include "ctl/ctl.h"

#define CG_CTL_HTTP_TIMEOUT_MS 10000
/* Answers larger than this are refused (the API pages its lists). */
#define CG_CTL_HTTP_MAX_RESPONSE (64u * 1024 * 1024)

/* "http://HOST:PORT[/]" -> host (malloc'd; IPv6 without brackets) and port.
 * The port defaults to 80. 0 ok, -1 with a message in err. */
int cg_ctl_url_parse(const char *url, char **host, int *port, char *err, size_t errlen);

typedef struct cg_ctl_response {
    int status;      /* HTTP status of the answer */
    char *body;      /* de-chunked body, NUL-terminated ("" if none); malloc'd */
    size_t body_len;
} cg_ctl_response;

/* Send METHOD PATH (path with its query, sent as is) to the server of `url`,
 * with "Authorization: Bearer TOKEN" when token is not NULL and the JSON
 * body when json is not NULL. timeout_ms <= 0: CG_CTL_HTTP_TIMEOUT_MS.
 * Returns 0 when a whole answer arrived (whatever its status); -1 when
 * none did, with the reason in err ("connect 127.0.0.1:8080: Connection
 * refused", "timed out after 10000 ms", ...). Always initialises *out: call
 * cg_ctl_response_free. */
int cg_ctl_http(const char *url, const char *method, const char *path, const char *token,
                const char *json, int timeout_ms, cg_ctl_response *out, char *err,
                size_t errlen);
void cg_ctl_response_free(cg_ctl_response *r);

/* For citygridctl's commands: call the daemon at env->url as the admin
 * (env->token). Returns the HTTP status with *out filled in; -1 when there
 * is no token or no answer, after printing why to stderr (with a hint:
 * is citygridd running, --url, --state-dir). Call cg_ctl_response_free. */
int cg_ctl_api(const cg_ctl_env *env, const char *method, const char *path, const char *json,
               cg_ctl_response *out);
/* Print a refusal of the API to stderr: "citygridctl: WHAT: 409 code: message"
 * from {"error":{"code","message"}}, or the raw body when it is not that. */
void cg_ctl_print_api_error(const char *what, const cg_ctl_response *r);
/* Percent-encode s for a path segment or query value. malloc'd. */
char *cg_ctl_url_encode(const char *s);

#endif
