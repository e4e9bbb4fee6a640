/*
 * open311.c — GeoReport v2: discovery, services, service definitions,
 * service requests (list, one, create) and tokens (open311.h). Main thread.
 *
 * A service is a category (service_code = the category code, group = its
 * department's Chinese name); a service request is a case
 * (service_request_id = the case id). POST requests answers only after the
 * case's group commit, so the id a client gets is durable; tokens/{token}
 * therefore only ever resolves a case id to itself.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "http/open311.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "host/flow.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "people/catalog.h"
#include "people/grids.h"

#define O311_DESCRIPTION_MAX_CHARS 4000
#define O311_MEDIA_URL_MAX 2048
#define O311_CONTACT_FIELD_MAX 200
#define O311_MAX_IDS 200
#define O311_LIST_MAX 1000
#define O311_WINDOW_MS (90LL * 24 * 3600 * 1000)
#define O311_MAX_ATTRS 8

static const char *const contact_fields[] = {"email", "first_name", "last_name", "phone",
                                             "device_id", "account_id"};
#define N_CONTACT_FIELDS (sizeof contact_fields / sizeof contact_fields[0])

static cg_o311_params get_params(cg_api_ctx *ctx)
{
    return (cg_o311_params){.query = ctx->query, .form = NULL};
}

/* ---- discovery ----------------------------------------------------------- */

void cg_o311_discovery(cg_api_ctx *ctx)
{
    cg_o311_format fmt = cg_o311_format_of(ctx->req);
    cg_o311_params p = get_params(ctx);
    if (cg_o311_check_jurisdiction(ctx, fmt, &p) < 0)
        return;
    char base[300], url[340], changeset[48];
    cg_o311_base_url(ctx->req, base, sizeof base);
    snprintf(url, sizeof url, "%s/open311/v2", base);
    /* The endpoint last changed when this daemon started (its catalog and
     * config are read then). */
    cg_o311_datetime(ctx->app->started_ms ? ctx->app->started_ms : cg_now_ms(), changeset,
                     sizeof changeset);
    json_t *d = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:[s, s]}]}",
        "changeset", changeset,
        "contact", "丽水市城市管理全员网格 citygrid; 接入密钥请联系市综合行政执法局 (api_key: POST /v1/open311/keys)",
        "key_service", "api_key 由管理员通过 POST /v1/open311/keys 或 citygridctl open311 key add 发放",
        "endpoints",
        "specification", "http://wiki.open311.org/GeoReport_v2",
        "url", url,
        "changeset", changeset,
        "type", "production",
        "formats", "text/xml", "application/json");
    cg_o311_reply(ctx->req, fmt, 200, "discovery", d);
}

/* ---- services ------------------------------------------------------------ */

static const char *department_zh(const cg_catalog *cat, const char *code)
{
    const cg_department *d = code ? cg_catalog_department(cat, code) : NULL;
    return d && d->name_zh ? d->name_zh : code ? code : "";
}

static json_t *service_json(const cg_catalog *cat, const cg_category *c)
{
    const char *dept = cg_catalog_route(cat, c->code);
    const cg_o311_attr *attrs[O311_MAX_ATTRS];
    size_t n = cg_o311_attributes(c->code, dept ? dept : "", attrs, O311_MAX_ATTRS);
    char description[256], keywords[256];
    snprintf(description, sizeof description, "%s：由%s处置，处置时限 %g 小时", c->name_zh,
             department_zh(cat, dept), c->sla_hours);
    snprintf(keywords, sizeof keywords, "%s, %s, %s", c->name_zh, c->code, c->name);
    return json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:s}",
        "service_code", c->code,
        "service_name", c->name_zh,
        "description", description,
        "metadata", n > 0,
        "type", "realtime",
        "keywords", keywords,
        "group", department_zh(cat, dept));
}

void cg_o311_services(cg_api_ctx *ctx)
{
    cg_o311_format fmt = cg_o311_format_of(ctx->req);
    cg_o311_params p = get_params(ctx);
    if (cg_o311_check_jurisdiction(ctx, fmt, &p) < 0)
        return;
    const cg_catalog *cat = ctx->app->catalog;
    json_t *list = json_array();
    for (size_t i = 0; list && i < cg_catalog_n_categories(cat); i++) {
        const cg_category *c = cg_catalog_category_at(cat, i);
        if (cg_catalog_route(cat, c->code))
            json_array_append_new(list, service_json(cat, c));
    }
    cg_o311_reply(ctx->req, fmt, 200, "services", list);
}

static json_t *attribute_json(const cg_o311_attr *a, size_t order)
{
    json_t *values = json_array();
    for (size_t i = 0; a->values && a->values[i]; i += 2)
        json_array_append_new(values, json_pack("{s:s, s:s}", "key", a->values[i], "name",
                                                a->values[i + 1]));
    return json_pack("{s:b, s:s, s:s, s:b, s:s, s:I, s:s, s:o}",
        "variable", 1,
        "code", a->code,
        "datatype", a->datatype,
        "required", a->required,
        "datatype_description", a->datatype_description,
        "order", (json_int_t)order,
        "description", a->description,
        "values", values);
}

void cg_o311_service(cg_api_ctx *ctx)
{
    cg_o311_format fmt = cg_o311_format_of(ctx->req);
    cg_o311_params p = get_params(ctx);
    char code[CG_PATH_PARAM_MAX];
    if (cg_o311_strip_format(ctx->params->value[0], code, sizeof code) < 0) {
        cg_o311_error(ctx->req, fmt, 404, "a service definition is services/CODE.xml or CODE.json");
        return;
    }
    if (cg_o311_check_jurisdiction(ctx, fmt, &p) < 0)
        return;
    const cg_catalog *cat = ctx->app->catalog;
    const cg_category *c = cg_catalog_category(cat, code);
    const char *dept = c ? cg_catalog_route(cat, c->code) : NULL;
    if (!c || !dept) {
        cg_o311_error(ctx->req, fmt, 404, "no service '%.64s'", code);
        return;
    }
    const cg_o311_attr *attrs[O311_MAX_ATTRS];
    size_t n = cg_o311_attributes(c->code, dept, attrs, O311_MAX_ATTRS);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, attribute_json(attrs[i], i + 1));
    cg_o311_reply(ctx->req, fmt, 200, "service_definition",
                  json_pack("{s:s, s:o}", "service_code", c->code, "attributes", list));
}

/* ---- requests: reading --------------------------------------------------- */

/* A stored request as the spec shows it: names for codes, and the contact
 * details only for the key that reported it. */
static json_t *shown_request(cg_api_ctx *ctx, json_t *r, const char *key_source)
{
    const cg_catalog *cat = ctx->app->catalog;
    const char *code = json_string_value(json_object_get(r, "service_code"));
    const char *dept = json_string_value(json_object_get(r, "department"));
    const cg_category *c = code ? cg_catalog_category(cat, code) : NULL;
    json_t *out = json_pack("{s:O, s:O, s:O, s:s, s:s, s:O, s:s, s:s, s:O, s:O, s:O, s:O, s:O, s:O}",
        "service_request_id", json_object_get(r, "service_request_id"),
        "status", json_object_get(r, "status"),
        "status_notes", json_object_get(r, "status_notes"),
        "service_name", c && c->name_zh ? c->name_zh : code ? code : "",
        "service_code", code ? code : "",
        "description", json_object_get(r, "description"),
        "agency_responsible", department_zh(cat, dept),
        "service_notice", "",
        "requested_datetime", json_object_get(r, "requested_datetime"),
        "updated_datetime", json_object_get(r, "updated_datetime"),
        "expected_datetime", json_object_get(r, "expected_datetime"),
        "lat", json_object_get(r, "lat"),
        "long", json_object_get(r, "long"),
        "media_url", json_object_get(r, "media_url"));
    const char *source = json_string_value(json_object_get(r, "source"));
    if (out && key_source && source && !strcmp(source, key_source)) {
        json_t *contact = cg_o311_contact(ctx->app->store,
                                          json_string_value(json_object_get(r, "service_request_id")),
                                          key_source);
        for (size_t i = 0; contact && i < N_CONTACT_FIELDS; i++) {
            json_t *v = json_object_get(contact, contact_fields[i]);
            if (json_is_string(v))
                json_object_set(out, contact_fields[i], v);
        }
        json_decref(contact);
    }
    return out;
}

static json_t *shown_requests(cg_api_ctx *ctx, json_t *rows, const char *key_source)
{
    json_t *out = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
        json_array_append_new(out, shown_request(ctx, r, key_source));
    json_decref(rows);
    return out;
}

/* status=open, closed or both (comma list); 0 and *want, or -1 answered. */
static int parse_status(cg_api_ctx *ctx, cg_o311_format fmt, const cg_o311_params *p, int *want)
{
    const char *v = cg_o311_param(p, "status");
    int open = 0, closed = 0;
    *want = CG_O311_ANY;
    if (!v)
        return 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", v);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcasecmp(t, "open"))
            open = 1;
        else if (!strcasecmp(t, "closed"))
            closed = 1;
        else {
            cg_o311_error(ctx->req, fmt, 400, "status must be open, closed or both, not '%.32s'", t);
            return -1;
        }
    }
    *want = open && closed ? CG_O311_ANY : open ? CG_O311_OPEN : closed ? CG_O311_CLOSED : CG_O311_ANY;
    return 0;
}

static int valid_case_id(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 30 || s[0] != 'C')
        return 0;
    for (size_t i = 1; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* The key's source ("open311:NAME") when a valid api_key was given, "" when
 * none; -1 answered (bad key). */
static int optional_key_source(cg_api_ctx *ctx, cg_o311_format fmt, const cg_o311_params *p,
                               char source[CG_O311_SOURCE_MAX])
{
    char name[CG_O311_NAME_MAX + 1];
    int k = cg_o311_check_key(ctx, fmt, p, 0, name);
    source[0] = '\0';
    if (k < 0)
        return -1;
    if (k == 1)
        cg_o311_source_of(name, source, CG_O311_SOURCE_MAX);
    return 0;
}

void cg_o311_requests_get(cg_api_ctx *ctx)
{
    cg_o311_format fmt = cg_o311_format_of(ctx->req);
    cg_o311_params p = get_params(ctx);
    char source[CG_O311_SOURCE_MAX];
    if (cg_o311_check_jurisdiction(ctx, fmt, &p) < 0 || optional_key_source(ctx, fmt, &p, source) < 0)
        return;
    cg_o311_filter f = {0};
    f.limit = O311_LIST_MAX;
    if (parse_status(ctx, fmt, &p, &f.status) < 0)
        return;
    const char *ids_text = cg_o311_param(&p, "service_request_id");
    char *ids_buf = NULL;
    const char *ids[O311_MAX_IDS];
    json_t *rows = NULL;
    if (ids_text) {
        ids_buf = strdup(ids_text);
        char *save = NULL;
        for (char *t = strtok_r(ids_buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
            if (f.n_ids == O311_MAX_IDS) {
                free(ids_buf);
                cg_o311_error(ctx->req, fmt, 400, "at most %d service_request_id values", O311_MAX_IDS);
                return;
            }
            if (!valid_case_id(t)) {
                free(ids_buf);
                cg_o311_error(ctx->req, fmt, 400, "'%.40s' is not a service_request_id", t);
                return;
            }
            ids[f.n_ids++] = t;
        }
        f.ids = ids;
    }
    if (f.n_ids == 0) {
        int64_t start = 0, end = 0;
        int has_start, has_end;
        if (cg_o311_param_time(ctx, fmt, &p, "start_date", &start, &has_start) < 0 ||
            cg_o311_param_time(ctx, fmt, &p, "end_date", &end, &has_end) < 0) {
            free(ids_buf);
            return;
        }
        if (!has_end)
            end = has_start ? start + O311_WINDOW_MS : cg_now_ms() + 1;
        if (!has_start)
            start = end - O311_WINDOW_MS;
        if (end <= start || end - start > O311_WINDOW_MS) {
            free(ids_buf);
            cg_o311_error(ctx->req, fmt, 400,
                          "end_date must be after start_date and at most 90 days later");
            return;
        }
        f.start_ms = start;
        f.end_ms = end;
        f.category = cg_o311_param(&p, "service_code");
    }
    rows = cg_o311_requests(ctx->app->store, &f);
    free(ids_buf);
    if (!rows) {
        cg_o311_error(ctx->req, fmt, 500, "the requests could not be read");
        return;
    }
    cg_o311_reply(ctx->req, fmt, 200, "service_requests",
                  shown_requests(ctx, rows, source[0] ? source : NULL));
}

void cg_o311_request(cg_api_ctx *ctx)
{
    cg_o311_format fmt = cg_o311_format_of(ctx->req);
    cg_o311_params p = get_params(ctx);
    char id[CG_PATH_PARAM_MAX], source[CG_O311_SOURCE_MAX];
    if (cg_o311_strip_format(ctx->params->value[0], id, sizeof id) < 0) {
        cg_o311_error(ctx->req, fmt, 404, "a service request is requests/ID.xml or ID.json");
        return;
    }
    if (cg_o311_check_jurisdiction(ctx, fmt, &p) < 0 || optional_key_source(ctx, fmt, &p, source) < 0)
        return;
    const char *ids[1] = {id};
    cg_o311_filter f = {.ids = ids, .n_ids = 1, .limit = 1};
    json_t *rows = valid_case_id(id) ? cg_o311_requests(ctx->app->store, &f) : json_array();
    if (!rows) {
        cg_o311_error(ctx->req, fmt, 500, "the request could not be read");
        return;
    }
    if (json_array_size(rows) == 0) {
        json_decref(rows);
        cg_o311_error(ctx->req, fmt, 404, "no service request '%.40s'", id);
        return;
    }
    cg_o311_reply(ctx->req, fmt, 200, "service_requests",
                  shown_requests(ctx, rows, source[0] ? source : NULL));
}

void cg_o311_token(cg_api_ctx *ctx)
{
    cg_o311_format fmt = cg_o311_format_of(ctx->req);
    cg_o311_params p = get_params(ctx);
    char token[CG_PATH_PARAM_MAX];
    if (cg_o311_strip_format(ctx->params->value[0], token, sizeof token) < 0) {
        cg_o311_error(ctx->req, fmt, 404, "a token is tokens/TOKEN.xml or TOKEN.json");
        return;
    }
    if (cg_o311_check_jurisdiction(ctx, fmt, &p) < 0)
        return;
    /* Every POST answers the durable id itself; its token is that id. */
    const char *ids[1] = {token};
    cg_o311_filter f = {.ids = ids, .n_ids = 1, .limit = 1};
    json_t *rows = valid_case_id(token) ? cg_o311_requests(ctx->app->store, &f) : json_array();
    if (!rows || json_array_size(rows) == 0) {
        json_decref(rows);
        cg_o311_error(ctx->req, fmt, rows ? 404 : 500, "no token '%.40s'", token);
        return;
    }
    json_decref(rows);
    cg_o311_reply(ctx->req, fmt, 200, "service_requests",
                  json_pack("[{s:s, s:s}]", "service_request_id", token, "token", token));
}

/* ---- requests: creating -------------------------------------------------- */

typedef struct pending_request {
    cg_http_deferred deferred;
    cg_o311_format fmt;
    char account_id[O311_CONTACT_FIELD_MAX + 1];
} pending_request;

static void request_stored(void *arg, int status, const char *case_id, json_t *c, const char *why)
{
    pending_request *p = arg;
    struct evhttp_request *req = cg_http_undefer(&p->deferred);
    cg_o311_format fmt = p->fmt;
    json_t *account = p->account_id[0] ? json_string(p->account_id) : json_null();
    free(p);
    json_decref(c);
    if (!req) {
        json_decref(account);
        return;
    }
    if (status != 0 || !case_id) {
        json_decref(account);
        cg_o311_error(req, fmt, 500, "the request was not stored: %.160s", why ? why : "unknown error");
        return;
    }
    cg_o311_reply(req, fmt, 201, "service_requests",
                  json_pack("[{s:s, s:s, s:o}]", "service_request_id", case_id, "service_notice",
                            "已受理，将按时限处置", "account_id", account));
}

/* One attribute value into the case (nc->needs_penalty or extra). */
static int apply_attribute(cg_api_ctx *ctx, cg_o311_format fmt, const cg_o311_attr *a,
                           const cg_form *form, cg_new_case *nc, json_t *extra)
{
    char single[96], multi[96];
    snprintf(single, sizeof single, "attribute[%s]", a->code);
    snprintf(multi, sizeof multi, "attribute[%s][]", a->code);
    json_t *list = json_array();
    for (size_t i = 0; i < form->n; i++) {
        const cg_form_pair *pr = &form->pairs[i];
        if ((strcmp(pr->name, single) && strcmp(pr->name, multi)) || !*pr->value)
            continue;
        if (a->values) {
            int ok = 0;
            for (size_t k = 0; a->values[k]; k += 2)
                ok |= !strcmp(a->values[k], pr->value);
            if (!ok) {
                json_decref(list);
                cg_o311_error(ctx->req, fmt, 400, "'%.40s' is not a value of attribute %s", pr->value,
                              a->code);
                return -1;
            }
        } else if (strlen(pr->value) > a->max_len) {
            json_decref(list);
            cg_o311_error(ctx->req, fmt, 400, "attribute %s is longer than %zu bytes", a->code,
                          a->max_len);
            return -1;
        }
        json_array_append_new(list, json_string(pr->value));
    }
    size_t n = json_array_size(list);
    if (n == 0) {
        json_decref(list);
        if (a->required) {
            cg_o311_error(ctx->req, fmt, 400, "attribute %s is required", a->code);
            return -1;
        }
        return 0;
    }
    if (n > 1 && a->target != CG_O311_TO_EXTRA_LIST) {
        json_decref(list);
        cg_o311_error(ctx->req, fmt, 400, "attribute %s takes one value", a->code);
        return -1;
    }
    const char *first = json_string_value(json_array_get(list, 0));
    switch (a->target) {
    case CG_O311_TO_NEEDS_PENALTY:
        nc->needs_penalty = !strcmp(first, "true");
        break;
    case CG_O311_TO_EXTRA_BOOL:
        json_object_set_new(extra, a->code, json_boolean(!strcmp(first, "true")));
        break;
    case CG_O311_TO_EXTRA_STRING:
        json_object_set_new(extra, a->code, json_string(first));
        break;
    case CG_O311_TO_EXTRA_LIST:
        json_object_set(extra, a->code, list);
        break;
    }
    json_decref(list);
    return 0;
}

/* Every attribute[...] names an attribute of the service. */
static int check_attribute_names(cg_api_ctx *ctx, cg_o311_format fmt, const cg_form *form,
                                 const cg_o311_attr *const *attrs, size_t n_attrs)
{
    for (size_t i = 0; i < form->n; i++) {
        const char *name = form->pairs[i].name;
        if (strncmp(name, "attribute[", 10) != 0)
            continue;
        const char *code = name + 10, *close = strchr(code, ']');
        size_t len = close ? (size_t)(close - code) : 0;
        int known = 0;
        for (size_t k = 0; close && k < n_attrs; k++)
            known |= strlen(attrs[k]->code) == len && !strncmp(attrs[k]->code, code, len);
        if (!known || (close[1] && strcmp(close + 1, "[]"))) {
            cg_o311_error(ctx->req, fmt, 400, "'%.64s' is not an attribute of this service", name);
            return -1;
        }
    }
    return 0;
}

static int parse_coordinate(const char *text, double min, double max, double *out)
{
    char *end = NULL;
    double v = strtod(text, &end);
    if (end == text || *end || !isfinite(v) || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int is_http_url(const char *s)
{
    if (strncmp(s, "http://", 7) && strncmp(s, "https://", 8))
        return 0;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c <= 0x20 || *c == 0x7f || *c == '"' || *c == '<' || *c == '>')
            return 0;
    return strlen(s) <= O311_MEDIA_URL_MAX;
}

/* Location, description, media and contact of the form into nc and extra. */
static int parse_report(cg_api_ctx *ctx, cg_o311_format fmt, const cg_o311_params *p,
                        cg_new_case *nc, json_t *extra, json_t *contact, char grid[CG_GRID_CODE_SIZE])
{
    const char *lat = cg_o311_param(p, "lat"), *lon = cg_o311_param(p, "long");
    const char *address = cg_o311_param(p, "address_string");
    if (lat || lon) {
        if (!lat || !lon) {
            cg_o311_error(ctx->req, fmt, 400, "lat and long go together; '%s' is missing",
                          lat ? "long" : "lat");
            return -1;
        }
        if (parse_coordinate(lat, -90, 90, &nc->lat) < 0 || parse_coordinate(lon, -180, 180, &nc->lon) < 0) {
            cg_o311_error(ctx->req, fmt, 400, "lat must be a number from -90 to 90, long from -180 to 180");
            return -1;
        }
        nc->has_location = 1;
    } else if (address) {
        cg_o311_error(ctx->req, fmt, 400,
                      "address_string needs a geocoder and none is configured here: send lat and long "
                      "(WGS 84) instead; 未配置地理编码，请提供经纬度 lat/long");
        return -1;
    } else {
        cg_o311_error(ctx->req, fmt, 400, "a location is required: lat and long");
        return -1;
    }
    int found = cg_grids_locate(ctx->app->store, nc->lat, nc->lon, grid);
    if (found < 0) {
        cg_o311_error(ctx->req, fmt, 500, "the location could not be checked");
        return -1;
    }
    if (found == 0) {
        cg_o311_error(ctx->req, fmt, 400, "%.6f, %.6f is in none of the city's grids; 该位置不在网格范围内",
                      nc->lat, nc->lon);
        return -1;
    }
    nc->grid = grid;
    if (address && strlen(address) <= 512)
        json_object_set_new(extra, "address_string", json_string(address));

    const char *description = cg_o311_param(p, "description");
    if (description && cg_utf8_chars(description) > O311_DESCRIPTION_MAX_CHARS) {
        cg_o311_error(ctx->req, fmt, 400, "description is longer than %d characters",
                      O311_DESCRIPTION_MAX_CHARS);
        return -1;
    }
    nc->description = description ? description : "";

    const char *media = cg_o311_param(p, "media_url");
    if (media) {
        if (!is_http_url(media)) {
            cg_o311_error(ctx->req, fmt, 400, "media_url must be an http(s) URL of at most %d bytes",
                          O311_MEDIA_URL_MAX);
            return -1;
        }
        /* Kept as a link: the city does not fetch it. */
        json_object_set_new(extra, "media_url", json_string(media));
    }
    for (size_t i = 0; i < N_CONTACT_FIELDS; i++) {
        const char *v = cg_o311_param(p, contact_fields[i]);
        if (!v)
            continue;
        if (strlen(v) > O311_CONTACT_FIELD_MAX) {
            cg_o311_error(ctx->req, fmt, 400, "%s is longer than %d bytes", contact_fields[i],
                          O311_CONTACT_FIELD_MAX);
            return -1;
        }
        json_object_set_new(contact, contact_fields[i], json_string(v));
    }
    return 0;
}

void cg_o311_requests_post(cg_api_ctx *ctx)
{
    cg_o311_format fmt = cg_o311_format_of(ctx->req);
    cg_form form;
    if (cg_o311_read_form(ctx, fmt, &form) < 0)
        return;
    cg_o311_params p = {.query = NULL, .form = &form};
    char key_name[CG_O311_NAME_MAX + 1], source[CG_O311_SOURCE_MAX], grid[CG_GRID_CODE_SIZE];
    json_t *extra = json_object(), *contact = json_object();
    if (cg_o311_check_jurisdiction(ctx, fmt, &p) < 0 || cg_o311_check_key(ctx, fmt, &p, 1, key_name) < 0)
        goto done;
    const cg_catalog *cat = ctx->app->catalog;
    const char *code = cg_o311_param(&p, "service_code");
    if (!code) {
        cg_o311_error(ctx->req, fmt, 400, "service_code is required (GET services.xml lists them)");
        goto done;
    }
    const cg_category *c = cg_catalog_category(cat, code);
    const char *dept = c ? cg_catalog_route(cat, c->code) : NULL;
    if (!c || !dept) {
        cg_o311_error(ctx->req, fmt, 400, "service_code '%.64s' is not a service here", code);
        goto done;
    }
    cg_new_case nc = {0};
    nc.category = c->code;
    nc.department = dept;
    nc.sla_hours = c->sla_hours;
    cg_o311_source_of(key_name, source, sizeof source);
    nc.source = source;
    const cg_o311_attr *attrs[O311_MAX_ATTRS];
    size_t n_attrs = cg_o311_attributes(c->code, dept, attrs, O311_MAX_ATTRS);
    if (check_attribute_names(ctx, fmt, &form, attrs, n_attrs) < 0)
        goto done;
    for (size_t i = 0; i < n_attrs; i++)
        if (apply_attribute(ctx, fmt, attrs[i], &form, &nc, extra) < 0)
            goto done;
    if (parse_report(ctx, fmt, &p, &nc, extra, contact, grid) < 0)
        goto done;
    nc.extra = json_object_size(extra) ? extra : NULL;
    nc.contact = json_object_size(contact) ? contact : NULL;

    pending_request *pr = calloc(1, sizeof *pr);
    if (!pr) {
        cg_o311_error(ctx->req, fmt, 500, "out of memory");
        goto done;
    }
    pr->fmt = fmt;
    const char *account = cg_o311_param(&p, "account_id");
    if (account)
        snprintf(pr->account_id, sizeof pr->account_id, "%s", account);
    cg_http_defer(ctx->http, &pr->deferred, ctx->req);
    /* May call back before returning: pr belongs to the callback now. */
    cg_flow_submit_case(ctx->app, &nc, request_stored, pr);
done:
    json_decref(extra);
    json_decref(contact);
    cg_form_free(&form);
}
