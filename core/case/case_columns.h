/*
 * case_columns.h — what cases.c (writes) and case_read.c (reads) share: the
 * column list both read a case row with, the definition of "open", and the
 * small helpers that turn a row into the API's case JSON (API.md). Internal
 * to the core; not a public header.
 */
#ifndef CG_CASE_COLUMNS_H
#define CG_CASE_COLUMNS_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>
#include <string.h>

#include "lib/timeutil.h"

/* The columns case_json() and payload reading expect, in this order. */
#define CASE_COLUMNS                                                                         \
    "seq, id, category, department, grid, lat, lon, has_location, description, source, "  \
    "reporter, status, level, assignee, needs_penalty, handled_on_site, sla_hours, rework, " \
    "created_at, updated_at, expected_at, extra, postponed, misroutes, satisfaction, "        \
    "licence_no, requires, handled_by, city_body, joint_departments"
enum {
    C_SEQ, C_ID, C_CATEGORY, C_DEPARTMENT, C_GRID, C_LAT, C_LON, C_HAS_LOCATION, C_DESCRIPTION,
    C_SOURCE, C_REPORTER, C_STATUS, C_LEVEL, C_ASSIGNEE, C_NEEDS_PENALTY, C_HANDLED_ON_SITE,
    C_SLA_HOURS, C_REWORK, C_CREATED_AT, C_UPDATED_AT, C_EXPECTED_AT, C_EXTRA, C_POSTPONED,
    C_MISROUTES, C_SATISFACTION, C_LICENCE_NO, C_REQUIRES, C_HANDLED_BY, C_CITY_BODY,
    C_JOINT_DEPARTMENTS
};

/* "Open" = work still to do; must be the WHERE of the partial index
 * cases_open_by_expected in migrations.c, exactly. */
#define OPEN_STATUS_TERM "(status = 'reported' OR status = 'dispatched' OR status = 'accepted')"

static inline const char *col_text(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

static inline json_t *text_or_null(sqlite3_stmt *s, int i)
{
    const char *t = col_text(s, i);
    return t ? json_string(t) : json_null();
}

static inline json_t *iso_or_null(sqlite3_stmt *s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return json_null();
    char buf[40];
    cg_time_iso(sqlite3_column_int64(s, i), buf, sizeof buf);
    return json_string(buf);
}

static inline int is_open_status(const char *status)
{
    return status && (!strcmp(status, "reported") || !strcmp(status, "dispatched") ||
                      !strcmp(status, "accepted"));
}

/* "requires" as a JSON array from the stored comma list. */
static inline json_t *requires_json(const char *list)
{
    json_t *a = json_array();
    while (a && list && *list) {
        const char *comma = strchr(list, ',');
        size_t n = comma ? (size_t)(comma - list) : strlen(list);
        if (n)
            json_array_append_new(a, json_stringn(list, n));
        list = comma ? comma + 1 : list + n;
    }
    return a;
}

/* The workflow's fields, after "extra", in this order in both
 * case_json() and cg_cases_new_json(). */
static inline void add_workflow_fields(json_t *c, int postponed, int64_t misroutes,
                                       int satisfaction, const char *licence_no,
                                       const char *requires, const char *handled_by)
{
    json_object_set_new(c, "postponed", json_boolean(postponed));
    json_object_set_new(c, "misroutes", json_integer(misroutes));
    json_object_set_new(c, "satisfaction", satisfaction > 0 ? json_integer(satisfaction)
                                                            : json_null());
    json_object_set_new(c, "licence_no", licence_no ? json_string(licence_no) : json_null());
    json_object_set_new(c, "requires", requires_json(requires));
    json_object_set_new(c, "handled_by", handled_by ? json_string(handled_by) : json_null());
}

/* Escalation details, after the workflow's fields: "city_body"
 * (a code, or null) and "joint_departments" (an array, or null until a
 * joint task convenes departments). `joint` is the stored JSON text. */
static inline void add_escalation_fields(json_t *c, const char *city_body, const char *joint)
{
    json_t *deps = joint ? json_loads(joint, 0, NULL) : NULL;
    json_object_set_new(c, "city_body", city_body ? json_string(city_body) : json_null());
    json_object_set_new(c, "joint_departments", json_is_array(deps) ? deps : json_null());
    if (deps && !json_is_array(deps))
        json_decref(deps);
}

#endif
