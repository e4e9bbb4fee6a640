/*
 * report.c — see report.h.
 */
#include "case/report.h"

#include <stdio.h>
#include <string.h>

static const char *const case_sources[] = {"patrol", "citizen", "camera", "hotline", "platform",
                                           "inspection"};
/* Keys the report itself defines; every other key is kept in `extra`. */
static const char *const report_keys[] = {"category", "lat", "lon", "grid", "description",
                                          "source", "handled_on_site", "needs_penalty"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define GRID_CODE_DIGITS 14

static int in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

/* A present, non-null member (JSON null counts as absent). */
static json_t *field(json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    return v && !json_is_null(v) ? v : NULL;
}

static int is_grid_code(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (s[n] < '0' || s[n] > '9')
            return 0;
    return n == GRID_CODE_DIGITS;
}

/* Nesting depth of a value (a scalar is 1), counting no further than limit+1. */
static int json_depth(json_t *v, int limit)
{
    int deepest = 0;
    if (limit < 0)
        return 1;
    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        json_object_foreach(v, k, child) {
            int d = json_depth(child, limit - 1);
            if (d > deepest)
                deepest = d;
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child) {
            int d = json_depth(child, limit - 1);
            if (d > deepest)
                deepest = d;
        }
    }
    return 1 + deepest;
}

static cg_status parse_location(json_t *body, cg_new_case *out, cg_result *err)
{
    json_t *lat = field(body, "lat"), *lon = field(body, "lon"), *grid = field(body, "grid");
    if (lat || lon) {
        if (!lat || !lon)
            return cg_fail(err, CG_E_INVALID, "missing_field", "'%s' is required together with '%s'",
                           lat ? "lon" : "lat", lat ? "lat" : "lon");
        if (!json_is_number(lat) || !(json_number_value(lat) >= -90 && json_number_value(lat) <= 90))
            return cg_fail(err, CG_E_INVALID, "invalid_field", "'lat' must be a number from -90 to 90");
        if (!json_is_number(lon) || !(json_number_value(lon) >= -180 && json_number_value(lon) <= 180))
            return cg_fail(err, CG_E_INVALID, "invalid_field", "'lon' must be a number from -180 to 180");
        out->lat = json_number_value(lat);
        out->lon = json_number_value(lon);
        out->has_location = 1;
    }
    if (grid) {
        if (!json_is_string(grid) || !is_grid_code(json_string_value(grid)))
            return cg_fail(err, CG_E_INVALID, "invalid_field", "'grid' must be a %d-digit grid code string",
                           GRID_CODE_DIGITS);
        out->grid = json_string_value(grid);
    }
    if (!out->has_location && !grid)
        return cg_fail(err, CG_E_INVALID, "missing_field", "a report needs 'lat/lon or grid'");
    return CG_OK;
}

static cg_status parse_optional(json_t *body, cg_new_case *out, cg_result *err)
{
    json_t *v;
    if ((v = field(body, "description"))) {
        if (!json_is_string(v) || json_string_length(v) > CG_DESCRIPTION_MAX)
            return cg_fail(err, CG_E_INVALID, "invalid_field",
                           "'description' must be a string of at most %d bytes", CG_DESCRIPTION_MAX);
        out->description = json_string_value(v);
    }
    if ((v = field(body, "source"))) {
        if (!json_is_string(v) || !in_list(json_string_value(v), case_sources, COUNT(case_sources)))
            return cg_fail(err, CG_E_INVALID, "invalid_field",
                           "'source' must be one of patrol, citizen, camera, hotline, platform, inspection");
        out->source = json_string_value(v);
    }
    if ((v = field(body, "handled_on_site"))) {
        if (!json_is_boolean(v))
            return cg_fail(err, CG_E_INVALID, "invalid_field", "'handled_on_site' must be true or false");
        out->handled_on_site = json_is_true(v);
    }
    if ((v = field(body, "needs_penalty"))) {
        if (!json_is_boolean(v))
            return cg_fail(err, CG_E_INVALID, "invalid_field", "'needs_penalty' must be true or false");
        out->needs_penalty = json_is_true(v);
    }
    return CG_OK;
}

/* Everything the report does not define, within bounds; NULL if none. */
static cg_status collect_extra(json_t *body, json_t **extra, cg_result *err)
{
    const char *key;
    json_t *v;
    size_t n = 0;
    cg_status st;
    *extra = NULL;
    json_object_foreach(body, key, v) {
        if (in_list(key, report_keys, COUNT(report_keys)))
            continue;
        if (++n > CG_EXTRA_MAX_KEYS) {
            st = cg_fail(err, CG_E_INVALID, "invalid_field",
                         "at most %d extra fields are kept; '%.64s' is one too many", CG_EXTRA_MAX_KEYS, key);
            goto fail;
        }
        if (json_depth(v, CG_EXTRA_MAX_DEPTH) > CG_EXTRA_MAX_DEPTH) {
            st = cg_fail(err, CG_E_INVALID, "invalid_field", "'%.64s' is nested more than %d levels deep", key,
                         CG_EXTRA_MAX_DEPTH);
            goto fail;
        }
        if (!*extra && !(*extra = json_object()))
            goto nomem;
        if (json_object_set(*extra, key, v) < 0)
            goto nomem;
    }
    if (*extra && json_dumpb(*extra, NULL, 0, JSON_COMPACT) > CG_EXTRA_MAX_BYTES) {
        st = cg_fail(err, CG_E_INVALID, "invalid_field", "the extra fields take more than %d bytes",
                     CG_EXTRA_MAX_BYTES);
        goto fail;
    }
    return CG_OK;
nomem:
    st = cg_fail(err, CG_E_INTERNAL, "internal_error", "out of memory");
fail:
    json_decref(*extra);
    *extra = NULL;
    return st;
}

cg_status cg_case_report_parse(json_t *body, const cg_catalog *cat, cg_new_case *out,
                               cg_result *err)
{
    memset(out, 0, sizeof *out);
    out->grid = "";
    out->description = "";
    out->source = "patrol";
    if (!json_is_object(body))
        return cg_fail(err, CG_E_INVALID, "body_not_object", "request body must be a JSON object");
    json_t *category = field(body, "category");
    if (!category)
        return cg_fail(err, CG_E_INVALID, "missing_field", "missing field 'category'");
    if (!json_is_string(category))
        return cg_fail(err, CG_E_INVALID, "invalid_field", "'category' must be a string");
    cg_status st = parse_location(body, out, err);
    if (st == CG_OK)
        st = parse_optional(body, out, err);
    if (st != CG_OK)
        return st;

    /* Shape first (CG_E_INVALID), then meaning (CG_E_UNPROCESSABLE). */
    const char *code = json_string_value(category);
    const cg_category *c = cat ? cg_catalog_category(cat, code) : NULL;
    const char *department = c ? cg_catalog_route(cat, code) : NULL;
    if (!c || !department)
        return cg_fail(err, CG_E_UNPROCESSABLE, "unknown_category", "unknown category '%.64s'", code);
    out->category = c->code;
    out->department = department;
    out->sla_hours = c->sla_hours;
    return collect_extra(body, &out->extra, err);
}

