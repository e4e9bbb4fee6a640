/*
 * open311_reply.c — what every Open311 endpoint shares (open311.h): the
 * format of the path, replies and the spec's errors, parameters (an empty one
 * is absent), the jurisdiction, api_key with its rate limit, times and form
 * bodies. Main thread.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "http/open311.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http/open311_xml.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#define XML_CONTENT_TYPE "text/xml; charset=utf-8"
#define FORM_MAX_PAIRS 256

cg_o311_format cg_o311_format_of(struct evhttp_request *req)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    size_t n = path ? strlen(path) : 0;
    return n >= 5 && !strcmp(path + n - 5, ".json") ? CG_O311_JSON : CG_O311_XML;
}

int cg_o311_strip_format(const char *param, char *out, size_t outlen)
{
    size_t n = strlen(param), cut = 0;
    if (n > 4 && !strcmp(param + n - 4, ".xml"))
        cut = 4;
    else if (n > 5 && !strcmp(param + n - 5, ".json"))
        cut = 5;
    if (!cut || n - cut >= outlen)
        return -1;
    memcpy(out, param, n - cut);
    out[n - cut] = '\0';
    return 0;
}

void cg_o311_reply(struct evhttp_request *req, cg_o311_format fmt, int status, const char *root,
                   json_t *body)
{
    if (fmt == CG_O311_JSON) {
        cg_http_reply_json(req, status, body);
        return;
    }
    size_t len = 0;
    char *xml = body ? cg_o311_xml(root, body, &len) : NULL;
    json_decref(body);
    struct evbuffer *buf = evbuffer_new();
    struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
    if (!xml) {
        CG_ERROR("open311", "cannot write an XML reply; sending 500");
        status = 500;
        xml = strdup("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<errors><error><code>500</code>"
                     "<description>cannot write the reply</description></error></errors>\n");
        len = xml ? strlen(xml) : 0;
    }
    evhttp_remove_header(headers, "Content-Type");
    evhttp_add_header(headers, "Content-Type", XML_CONTENT_TYPE);
    if (buf && xml)
        evbuffer_add(buf, xml, len);
    evhttp_send_reply(req, status, NULL, buf);
    if (buf)
        evbuffer_free(buf);
    free(xml);
}

void cg_o311_error(struct evhttp_request *req, cg_o311_format fmt, int status, const char *fmt_msg,
                   ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt_msg);
    vsnprintf(msg, sizeof msg, fmt_msg, ap);
    va_end(ap);
    json_t *errors = json_pack("[{s:i, s:s}]", "code", status, "description", msg);
    cg_o311_reply(req, fmt, status, "errors", errors);
}

const char *cg_o311_param(const cg_o311_params *p, const char *name)
{
    const char *v = NULL;
    if (p->form)
        v = cg_form_get(p->form, name);
    else if (p->query)
        v = evhttp_find_header(p->query, name);
    return v && *v ? v : NULL;
}

int cg_o311_check_jurisdiction(cg_api_ctx *ctx, cg_o311_format fmt, const cg_o311_params *p)
{
    const char *want = ctx->app && ctx->app->config && ctx->app->config->open311_jurisdiction
                           ? ctx->app->config->open311_jurisdiction
                           : CG_O311_DEFAULT_JURISDICTION;
    const char *j = cg_o311_param(p, "jurisdiction_id");
    if (j && strcmp(j, want) != 0) {
        cg_o311_error(ctx->req, fmt, 404, "jurisdiction_id '%.64s' is not served here (this is %s)",
                      j, want);
        return -1;
    }
    return 0;
}

/* ---- keys and their rate ----------------------------------------------------
 * A token bucket per key name, in memory (a restart refills them): capacity
 * one minute's worth, refilled continuously. A small table is enough: keys
 * are a handful of platforms. Kept in memory by design: the limit protects
 * the daemon from a runaway client, not the data, so a restart (an
 * operator's act, not a client's) may hand out one more minute's worth and
 * nothing is accepted that would otherwise be refused for good. What must
 * survive a restart is the inbound replay check, and it does
 * (request_keys, host/inbound.h). */
#define RATE_SLOTS 64
static struct rate_slot {
    char name[CG_O311_NAME_MAX + 1];
    double tokens;
    int64_t at_ms;
} rate_slots[RATE_SLOTS];

static int rate_take(const char *name, int per_minute, int64_t now)
{
    struct rate_slot *slot = NULL, *oldest = &rate_slots[0];
    for (size_t i = 0; i < RATE_SLOTS; i++) {
        if (!strcmp(rate_slots[i].name, name)) {
            slot = &rate_slots[i];
            break;
        }
        if (rate_slots[i].at_ms < oldest->at_ms)
            oldest = &rate_slots[i];
    }
    if (!slot) {
        slot = oldest;
        snprintf(slot->name, sizeof slot->name, "%s", name);
        slot->tokens = per_minute;
        slot->at_ms = now;
    }
    double refill = (double)(now - slot->at_ms) * per_minute / 60000.0;
    slot->tokens = slot->tokens + refill > per_minute ? per_minute : slot->tokens + refill;
    slot->at_ms = now;
    if (slot->tokens < 1.0)
        return -1;
    slot->tokens -= 1.0;
    return 0;
}

int cg_o311_check_key(cg_api_ctx *ctx, cg_o311_format fmt, const cg_o311_params *p, int required,
                      char name[CG_O311_NAME_MAX + 1])
{
    name[0] = '\0';
    const char *key = cg_o311_param(p, "api_key");
    if (!key) {
        if (!required)
            return 0;
        cg_o311_error(ctx->req, fmt, 403, "api_key is required to write; ask the city for one");
        return -1;
    }
    int found = cg_o311_key_lookup(ctx->app->store, key, name);
    if (found < 0) {
        cg_o311_error(ctx->req, fmt, 500, "the key could not be checked");
        return -1;
    }
    if (found == 0) {
        cg_o311_error(ctx->req, fmt, 403, "invalid api_key: unknown or revoked");
        return -1;
    }
    int rate = ctx->app->config && ctx->app->config->open311_rate_per_minute > 0
                   ? ctx->app->config->open311_rate_per_minute
                   : CG_O311_DEFAULT_RATE_PER_MINUTE;
    if (rate_take(name, rate, cg_monotonic_ms()) < 0) {
        evhttp_add_header(evhttp_request_get_output_headers(ctx->req), "Retry-After", "1");
        cg_o311_error(ctx->req, fmt, 429, "key '%s' is over its rate of %d requests a minute",
                      name, rate);
        return -1;
    }
    return 1;
}

int cg_o311_param_time(cg_api_ctx *ctx, cg_o311_format fmt, const cg_o311_params *p,
                       const char *name, int64_t *ms, int *given)
{
    const char *v = cg_o311_param(p, name);
    *given = 0;
    if (!v)
        return 0;
    char buf[64];
    if (strlen(v) >= sizeof buf) {
        cg_o311_error(ctx->req, fmt, 400, "%s is too long for a W3C datetime", name);
        return -1;
    }
    /* An unencoded '+' of "+08:00" arrives as a space (form decoding). */
    snprintf(buf, sizeof buf, "%s", v);
    for (char *c = buf; *c; c++)
        if (*c == ' ')
            *c = '+';
    if (cg_time_parse_iso(buf, ms) < 0) {
        cg_o311_error(ctx->req, fmt, 400,
                      "%s must be a W3C datetime with its zone, e.g. 2026-01-01T00:00:00+08:00", name);
        return -1;
    }
    *given = 1;
    return 0;
}

int cg_o311_read_form(cg_api_ctx *ctx, cg_o311_format fmt, cg_form *form)
{
    memset(form, 0, sizeof *form);
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(ctx->req), "Content-Type");
    if (ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
        cg_o311_error(ctx->req, fmt, 400,
                      "the body must be application/x-www-form-urlencoded, not %.64s", ct);
        return -1;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(ctx->req);
    size_t len = evbuffer_get_length(in), max = cg_api_max_body(ctx->app);
    if (len > max) {
        cg_o311_error(ctx->req, fmt, 413, "the body is larger than %zu bytes", max);
        return -1;
    }
    char *data = (char *)evbuffer_pullup(in, -1);
    char err[128];
    if (cg_form_parse(data ? data : "", data ? len : 0, FORM_MAX_PAIRS, form, err, sizeof err) < 0) {
        cg_form_free(form);
        cg_o311_error(ctx->req, fmt, 400, "malformed form body: %s", err);
        return -1;
    }
    return 0;
}

void cg_o311_base_url(struct evhttp_request *req, char *out, size_t outlen)
{
    const char *host = evhttp_find_header(evhttp_request_get_input_headers(req), "Host");
    int safe = host && *host && strlen(host) < 256;
    for (const char *c = host; safe && *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '.' || *c == '-' || *c == ':' || *c == '[' || *c == ']'))
            safe = 0;
    snprintf(out, outlen, "http://%s", safe ? host : "127.0.0.1");
}
