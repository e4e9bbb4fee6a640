/*
 * attendance.c — see attendance.h.
 */
#include "routine/attendance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/geo.h"
#include "store/paging.h"
#include "lib/timeutil.h"

/* ---------------------------------------------------------------- pure */

int cg_checkin_within(double office_lat, double office_lon, double lat, double lon,
                      double radius_m, double *distance_m)
{
    double d = cg_geo_haversine_m(office_lat, office_lon, lat, lon);
    *distance_m = d;
    return d <= radius_m;
}

const char *cg_rota_person(int32_t day, const char *leader, const char *instructor)
{
    int has_leader = leader && *leader, has_instructor = instructor && *instructor;
    if (has_leader && has_instructor)
        return (day % 2 == 0) ? leader : instructor;
    return has_leader ? leader : has_instructor ? instructor : NULL;
}


/* ---------------------------------------------------------------- reads */

int cg_grid_office(cg_store *st, const char *grid, double *lat, double *lon)
{
    sqlite3_stmt *s = cg_store_read_stmt(st, "SELECT office_lat, office_lon FROM grids WHERE code = ?1");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, grid, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s), found = 0;
    if (rc == SQLITE_ROW) {
        *lat = sqlite3_column_double(s, 0);
        *lon = sqlite3_column_double(s, 1);
        found = 1;
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? found : -1;
}

int cg_member_serves(cg_store *st, const char *member, const char *grid)
{
    sqlite3_stmt *s = cg_store_read_stmt(st, "SELECT 1 FROM assignments WHERE member_id = ?1 AND grid = ?2");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, grid, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int cg_member_terminal(cg_store *st, const char *member, char *buf, size_t len)
{
    sqlite3_stmt *s = cg_store_read_stmt(st, "SELECT terminal_id FROM members WHERE id = ?1");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, member, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    buf[0] = 0;
    if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        snprintf(buf, len, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

#define CHECKIN_COLUMNS "id, member, grid, at, day, lat, lon, distance_m, terminal"

static json_t *checkin_row(sqlite3_stmt *s)
{
    char id[32], at[40];
    cg_row_id_format("CK", sqlite3_column_int64(s, 0), id, sizeof id);
    cg_time_iso(sqlite3_column_int64(s, 3), at, sizeof at);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:f, s:f, s:f, s:o}", "id", id, "member",
                     (const char *)sqlite3_column_text(s, 1), "grid",
                     (const char *)sqlite3_column_text(s, 2), "at", at, "date",
                     (const char *)sqlite3_column_text(s, 4), "lat", sqlite3_column_double(s, 5),
                     "lon", sqlite3_column_double(s, 6), "distance_m",
                     sqlite3_column_double(s, 7), "terminal",
                     sqlite3_column_type(s, 8) == SQLITE_NULL
                         ? json_null()
                         : json_string((const char *)sqlite3_column_text(s, 8)));
}

json_t *cg_checkins_list(cg_store *st, const cg_checkin_filter *f)
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT " CHECKIN_COLUMNS " FROM checkins"
        " WHERE (?1 IS NULL OR grid = ?1) AND (?2 IS NULL OR member = ?2)"
        " AND at >= ?3 AND at < ?4"
        " AND (?5 IS NULL OR grid IN (SELECT grid FROM member_grids WHERE member_id = ?5))"
        " AND id < ?6 ORDER BY id DESC LIMIT ?7");
    if (!s)
        return NULL;
    if (f->grid)
        sqlite3_bind_text(s, 1, f->grid, -1, SQLITE_STATIC);
    if (f->member)
        sqlite3_bind_text(s, 2, f->member, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, f->since_ms);
    sqlite3_bind_int64(s, 4, f->until_ms);
    if (f->viewer)
        sqlite3_bind_text(s, 5, f->viewer, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, f->before_id > 0 ? f->before_id : INT64_MAX);
    sqlite3_bind_int(s, 7, f->limit + 1); /* one more: is there a next page? */
    return cg_page_collect(s, f->limit, checkin_row, 0, "CK");
}

json_t *cg_checkin_get(cg_store *st, long long id)
{
    return cg_row_by_id(st, "SELECT " CHECKIN_COLUMNS " FROM checkins WHERE id = ?1", id, checkin_row);
}

json_t *cg_rota_list(cg_store *st, const char *grid, int32_t first_day, int n_days, int32_t today)
{
    char from[CG_DATE_SIZE], to[CG_DATE_SIZE];
    cg_day_format(first_day, from, sizeof from);
    cg_day_format(first_day + n_days - 1, to, sizeof to);
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT r.day, r.member, coalesce(m.name, ''),"
        " EXISTS (SELECT 1 FROM checkins c WHERE c.member = r.member AND c.grid = r.grid"
        "         AND c.day = r.day)"
        " FROM duty_rota r LEFT JOIN members m ON m.id = r.member"
        " WHERE r.grid = ?1 AND r.day >= ?2 AND r.day <= ?3 ORDER BY r.day");
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, grid, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, from, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, to, -1, SQLITE_STATIC);
    json_t *items = json_array();
    int rc, missed = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *date = (const char *)sqlite3_column_text(s, 0);
        int32_t day = 0;
        cg_day_parse(date, &day);
        int checked = sqlite3_column_int(s, 3) != 0;
        int is_missed = !checked && day < today;
        missed += is_missed;
        json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:b, s:b}", "date", date, "member",
                                               (const char *)sqlite3_column_text(s, 1), "name",
                                               (const char *)sqlite3_column_text(s, 2),
                                               "checked_in", checked, "missed", is_missed));
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(items);
        return NULL;
    }
    return json_pack("{s:s, s:s, s:s, s:i, s:o}", "grid", grid, "from", from, "to", to, "missed",
                     missed, "items", items);
}

/* ---------------------------------------------------------------- writes */

cg_status cg_checkin_store(cg_store *st, const cg_checkin *c, long long *id, cg_result *why)
{
    char day[CG_DATE_SIZE];
    cg_day_format(cg_city_day(c->at_ms), day, sizeof day);
    sqlite3_stmt *s = cg_store_stmt(st,
        "INSERT INTO checkins(member, grid, at, day, lat, lon, distance_m, terminal)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
    if (s) {
        sqlite3_bind_text(s, 1, c->member, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, c->grid, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, c->at_ms);
        sqlite3_bind_text(s, 4, day, -1, SQLITE_STATIC);
        sqlite3_bind_double(s, 5, c->lat);
        sqlite3_bind_double(s, 6, c->lon);
        sqlite3_bind_double(s, 7, c->distance_m);
        if (c->terminal[0])
            sqlite3_bind_text(s, 8, c->terminal, -1, SQLITE_STATIC);
    }
    cg_status rc = cg_store_step(st, s, "the check-in", why);
    if (rc != CG_OK)
        return rc;
    *id = sqlite3_last_insert_rowid(st->db);
    return CG_OK;
}

cg_status cg_rota_fill(cg_store *st, const char *grid, int32_t first_day, int n_days,
                       const char *by, int64_t now_ms, int *created, cg_result *why)
{
    char leader[CG_MEMBER_ID_SIZE] = "", instructor[CG_MEMBER_ID_SIZE] = "";
    /* The lowest id when a grid has several instructors: stable across runs. */
    sqlite3_stmt *s = cg_store_stmt(st,
        "SELECT role, min(member_id) FROM assignments WHERE grid = ?1"
        " AND role IN ('leader','instructor') GROUP BY role");
    if (!s)
        return cg_fail(why, CG_E_INTERNAL, "internal_error", "cannot read the grid's staff");
    sqlite3_bind_text(s, 1, grid, -1, SQLITE_STATIC);
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *role = (const char *)sqlite3_column_text(s, 0);
        snprintf(strcmp(role, "leader") == 0 ? leader : instructor, CG_MEMBER_ID_SIZE, "%s",
                 (const char *)sqlite3_column_text(s, 1));
    }
    sqlite3_reset(s);
    if (!leader[0] && !instructor[0])
        return cg_fail(why, CG_E_UNPROCESSABLE, "no_duty_staff",
                       "grid %s has neither a leader nor an instructor to put on duty", grid);
    *created = 0;
    for (int i = 0; i < n_days; i++) {
        char day[CG_DATE_SIZE];
        cg_day_format(first_day + i, day, sizeof day);
        s = cg_store_stmt(st, "INSERT OR IGNORE INTO duty_rota(grid, day, member, updated_by, updated_at)"
                              " VALUES (?1, ?2, ?3, ?4, ?5)");
        if (s) {
            sqlite3_bind_text(s, 1, grid, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 2, day, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 3, cg_rota_person(first_day + i, leader, instructor), -1,
                              SQLITE_STATIC);
            sqlite3_bind_text(s, 4, by, -1, SQLITE_STATIC);
            sqlite3_bind_int64(s, 5, now_ms);
        }
        cg_status rc = cg_store_step(st, s, "the rota", why);
        if (rc != CG_OK)
            return rc;
        *created += sqlite3_changes(st->db);
    }
    return CG_OK;
}

cg_status cg_rota_set(cg_store *st, const char *grid, int32_t day, const char *member,
                      const char *by, int64_t now_ms, cg_result *why)
{
    sqlite3_stmt *s = cg_store_stmt(st, "SELECT 1 FROM assignments WHERE member_id = ?1 AND grid = ?2");
    if (!s)
        return cg_fail(why, CG_E_INTERNAL, "internal_error", "cannot read assignments");
    sqlite3_bind_text(s, 1, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, grid, -1, SQLITE_STATIC);
    int serves = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_reset(s);
    if (!serves)
        return cg_fail(why, CG_E_UNPROCESSABLE, "not_in_grid", "'member': %s does not serve grid %s",
                       member, grid);
    char date[CG_DATE_SIZE];
    cg_day_format(day, date, sizeof date);
    s = cg_store_stmt(st, "INSERT INTO duty_rota(grid, day, member, updated_by, updated_at)"
                          " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(grid, day) DO UPDATE SET"
                          " member = excluded.member, updated_by = excluded.updated_by,"
                          " updated_at = excluded.updated_at");
    if (s) {
        sqlite3_bind_text(s, 1, grid, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, date, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, member, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, by, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 5, now_ms);
    }
    return cg_store_step(st, s, "the rota", why);
}
