/* http_util.c — see http_util.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "http/http_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "lib/log.h"
#include "lib/jsontext.h"

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static size_t utf8_seq_len(const unsigned char *s)
{
    size_t n;
    unsigned int cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

json_t *cg_http_error_json(const char *code, const char *message)
{
    /* Messages may quote what the client sent (a path, a query value) and
     * may have been cut mid-character by snprintf: JSON needs valid UTF-8,
     * so anything else becomes '?'. */
    char clean[512];
    const unsigned char *m = (const unsigned char *)(message ? message : "");
    size_t o = 0;
    while (*m && o + 5 < sizeof clean) {
        size_t n = utf8_seq_len(m);
        if (n == 0) {
            clean[o++] = '?';
            m++;
        } else {
            memcpy(clean + o, m, n);
            o += n;
            m += n;
        }
    }
    clean[o] = '\0';
    return json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", clean);
}

void cg_http_reply_json(struct evhttp_request *req, int status, json_t *body)
{
    /* 15 significant digits: a coordinate sent as 28.45 comes back as 28.45,
     * not jansson's default 28.449999999999999. */
    char *text = body ? cg_json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15))
                      : strdup("{}");
    struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
    struct evbuffer *buf = evbuffer_new();

    json_decref(body);
    if (!text) {
        /* Only out of memory gets here (or a value jansson cannot encode). */
        CG_ERROR("http", "cannot encode a %d reply; sending 500", status);
        status = 500;
        text = strdup("{\"error\":{\"code\":\"internal_error\",\"message\":\"cannot encode reply\"}}");
    }
    evhttp_remove_header(headers, "Content-Type");
    evhttp_add_header(headers, "Content-Type", CG_JSON_CONTENT_TYPE);
    if (buf && text)
        evbuffer_add(buf, text, strlen(text));
    /* evhttp knows no phrase for 422 and would say "Client Error". */
    evhttp_send_reply(req, status, status == 422 ? "Unprocessable Entity" : NULL, buf);
    if (buf)
        evbuffer_free(buf);
    free(text);
}

/* The error shape with an HTTP status: every refusal goes out here. */
static void reply_refusal(struct evhttp_request *req, int status, const char *code,
                          const char *message)
{
    if (status == 401)
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Bearer realm=\"citygrid\"");
    if (status >= 500)
        CG_ERROR("http", "%d %s: %s", status, code, message);
    cg_http_reply_json(req, status, cg_http_error_json(code, message));
}

int cg_http_status_of(cg_status status)
{
    switch (status) {
    case CG_OK: return 200;
    case CG_E_INVALID: return 400;
    case CG_E_UNAUTHENTICATED: return 401;
    case CG_E_FORBIDDEN: return 403;
    case CG_E_NOT_FOUND: return 404;
    case CG_E_CONFLICT: return 409;
    case CG_E_TOO_LARGE: return 413;
    case CG_E_UNSUPPORTED: return 415;
    case CG_E_UNPROCESSABLE: return 422;
    case CG_E_THROTTLED: return 429;
    case CG_E_UNAVAILABLE: return 503;
    case CG_E_TIMEOUT: return 504;
    case CG_E_INTERNAL:
    default: return 500;
    }
}

void cg_http_reply_result(struct evhttp_request *req, const cg_result *r)
{
    reply_refusal(req, cg_http_status_of(r->status), r->code[0] ? r->code : cg_status_name(r->status),
                  r->message);
}

void cg_http_reply_error(struct evhttp_request *req, int status, const char *code,
                         const char *fmt, ...)
{
    char message[CG_RESULT_MESSAGE_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    reply_refusal(req, status, code, message);
}

/* ---- header parsing ---------------------------------------------------- */

static const char *skip_ws(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

int cg_http_is_json_content_type(const char *value)
{
    static const char media[] = "application/json";
    if (!value)
        return 0;
    const char *p = skip_ws(value);
    if (strncasecmp(p, media, sizeof media - 1) != 0)
        return 0;
    p = skip_ws(p + sizeof media - 1);
    while (*p == ';') {
        p = skip_ws(p + 1);
        if (!*p)
            break;
        size_t name_len = strcspn(p, "=; \t");
        const char *name = p;
        p = skip_ws(p + name_len);
        if (name_len == 0 || *p != '=')
            return 0;
        p = skip_ws(p + 1);
        const char *val = p;
        size_t val_len;
        if (*p == '"') {
            const char *end = strchr(p + 1, '"');
            if (!end)
                return 0;
            val = p + 1;
            val_len = (size_t)(end - val);
            p = end + 1;
        } else {
            val_len = strcspn(p, "; \t");
            p += val_len;
        }
        /* JSON is UTF-8 (RFC 8259): any other declared charset is a lie we
         * would misread. */
        if (name_len == 7 && strncasecmp(name, "charset", 7) == 0 &&
            !((val_len == 5 && strncasecmp(val, "utf-8", 5) == 0) ||
              (val_len == 4 && strncasecmp(val, "utf8", 4) == 0)))
            return 0;
        p = skip_ws(p);
    }
    return *p == '\0';
}

int cg_http_bearer_token(const char *header, char *out, size_t outlen)
{
    static const char token68[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/";
    if (!header || !out || outlen == 0)
        return -1;
    const char *p = skip_ws(header);
    if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
        return -1;
    p = skip_ws(p + 6);
    size_t n = strspn(p, token68);
    size_t total = n + strspn(p + n, "=");
    if (n == 0 || total >= outlen || *skip_ws(p + total) != '\0')
        return -1;
    memcpy(out, p, total);
    out[total] = '\0';
    return 0;
}

/* ---- paths ------------------------------------------------------------- */

int cg_http_path_is_safe(const char *path, size_t len)
{
    if (!path || len == 0 || path[0] != '/' || strlen(path) != len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
    }
    for (const char *seg = path; seg; seg = strchr(seg + 1, '/')) {
        size_t n = strcspn(seg + 1, "/");
        if ((n == 1 && seg[1] == '.') || (n == 2 && seg[1] == '.' && seg[2] == '.'))
            return 0;
    }
    return 1;
}

int cg_path_match(const char *pattern, const char *path, cg_path_params *params)
{
    const char *p = pattern, *s = path;
    params->n = 0;
    if (!p || !s)
        return 0;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return 0;
        p++;
        s++;
        size_t plen = strcspn(p, "/"), slen = strcspn(s, "/");
        if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
            if (slen == 0 || slen >= CG_PATH_PARAM_MAX || params->n >= CG_PATH_MAX_PARAMS)
                return 0;
            memcpy(params->value[params->n], s, slen);
            params->value[params->n][slen] = '\0';
            params->n++;
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return 0;
        }
        p += plen;
        s += slen;
    }
    return *p == '\0' && *s == '\0';
}

/* ---- bodies ------------------------------------------------------------ */

json_t *cg_http_parse_json_body(const char *data, size_t len, size_t max, cg_result *err)
{
    if (len > max) {
        cg_fail(err, CG_E_TOO_LARGE, "body_too_large", "request body is larger than %zu bytes", max);
        return NULL;
    }
    if (len == 0 || !data) {
        cg_fail(err, CG_E_INVALID, "invalid_json", "request body is empty");
        return NULL;
    }
    json_error_t je;
    /* DECODE_ANY so that a valid scalar is told "not an object" rather than
     * "invalid JSON"; jansson caps nesting depth and rejects \u0000. */
    json_t *v = json_loadb(data, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!v) {
        cg_fail(err, CG_E_INVALID, "invalid_json", "invalid JSON at line %d, column %d: %s",
                je.line, je.column, je.text);
        return NULL;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        cg_fail(err, CG_E_INVALID, "body_not_object", "request body must be a JSON object");
        return NULL;
    }
    return v;
}

int cg_http_read_json_body(struct evhttp_request *req, size_t max, int required, json_t **out,
                           cg_result *err)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = in ? evbuffer_get_length(in) : 0;
    *out = NULL;
    if (len == 0) {
        if (!required)
            return 0;
        cg_fail(err, CG_E_INVALID, "invalid_json", "request body is empty");
        return -1;
    }
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
    if (!cg_http_is_json_content_type(ct)) {
        cg_fail(err, CG_E_UNSUPPORTED, "unsupported_media_type",
                "request body must be application/json (got %.64s)", ct ? ct : "none");
        return -1;
    }
    if (len > max) {
        cg_fail(err, CG_E_TOO_LARGE, "body_too_large", "request body is larger than %zu bytes", max);
        return -1;
    }
    const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
    if (!data) {
        cg_fail(err, CG_E_INTERNAL, "internal_error", "cannot read the request body");
        return -1;
    }
    *out = cg_http_parse_json_body(data, len, max, err);
    return *out ? 0 : -1;
}

/* ---- query parameters -------------------------------------------------- */

static const char *query_value(const struct evkeyvalq *q, const char *name)
{
    const char *v = q ? evhttp_find_header(q, name) : NULL;
    return v && *v ? v : NULL;
}

int cg_query_long(const struct evkeyvalq *q, const char *name, long def, long min, long max,
                  long *out, cg_result *err)
{
    const char *v = query_value(q, name);
    *out = def;
    if (!v)
        return 0;
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    /* strtol would also take leading spaces and '+': a query value should
     * be just the number. */
    if (!((v[0] >= '0' && v[0] <= '9') || v[0] == '-') || errno || !end || *end || n < min ||
        n > max) {
        cg_fail(err, CG_E_INVALID, "invalid_field", "'%s' must be an integer from %ld to %ld",
                name, min, max);
        return -1;
    }
    *out = n;
    return 0;
}

int cg_query_bool(const struct evkeyvalq *q, const char *name, int def, int *out,
                  cg_result *err)
{
    const char *v = query_value(q, name);
    *out = def;
    if (!v)
        return 0;
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
        *out = 1;
    } else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) {
        *out = 0;
    } else {
        cg_fail(err, CG_E_INVALID, "invalid_field", "'%s' must be true or false", name);
        return -1;
    }
    return 0;
}

int cg_query_string(const struct evkeyvalq *q, const char *name, size_t maxlen, const char **out,
                    cg_result *err)
{
    const char *v = query_value(q, name);
    *out = NULL;
    if (!v)
        return 0;
    size_t len = strlen(v);
    int printable = 1;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            printable = 0;
    if (len > maxlen || !printable) {
        cg_fail(err, CG_E_INVALID, "invalid_field",
                "'%s' must be printable text of at most %zu bytes", name, maxlen);
        return -1;
    }
    *out = v;
    return 0;
}
