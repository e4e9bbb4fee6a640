/*
 * devices.c — see devices.h.
 */
#include "routine/devices.h"

#include <stdio.h>
#include <string.h>

#include "store/paging.h"
#include "lib/timeutil.h"

int cg_device_camera_allowed(const char *department)
{
    return department && (strcmp(department, "enforcement") == 0 || strcmp(department, "police") == 0);
}

/* May `holder` hold a device of this type? CG_OK yes, else the refusal in why. */
static cg_status check_holder(cg_store *st, const char *type, const char *holder, cg_result *why)
{
    sqlite3_stmt *s = cg_store_stmt(st, "SELECT coalesce(department, '') FROM members WHERE id = ?1");
    if (!s)
        return cg_fail(why, CG_E_INTERNAL, "internal_error", "cannot read members");
    sqlite3_bind_text(s, 1, holder, -1, SQLITE_STATIC);
    char dept[32] = "";
    int found = sqlite3_step(s) == SQLITE_ROW;
    if (found)
        snprintf(dept, sizeof dept, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_reset(s);
    if (!found)
        return cg_fail(why, CG_E_UNPROCESSABLE, "unknown_member", "'holder': no member '%s'", holder);
    if (strcmp(type, "body_camera") == 0 && !cg_device_camera_allowed(dept)) {
        return cg_fail(why, CG_E_UNPROCESSABLE, "body_camera_not_allowed",
                       "'holder': body cameras are for enforcement assistants and police "
                       "auxiliaries; %s is in department '%s'", holder, dept[0] ? dept : "(none)");
    }
    return CG_OK;
}

/* Keep members.terminal_id in step with who holds a terminal. */
static cg_status register_terminal(cg_store *st, const char *serial, const char *holder,
                                   cg_result *why)
{
    sqlite3_stmt *s = cg_store_stmt(st, "UPDATE members SET terminal_id = NULL WHERE terminal_id = ?1");
    if (s)
        sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
    cg_status rc = cg_store_step(st, s, "the terminal", why);
    if (rc != CG_OK)
        return rc;
    if (!holder)
        return CG_OK;
    s = cg_store_stmt(st, "UPDATE members SET terminal_id = ?1 WHERE id = ?2");
    if (s) {
        sqlite3_bind_text(s, 1, serial, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, holder, -1, SQLITE_STATIC);
    }
    return cg_store_step(st, s, "the terminal", why);
}

cg_status cg_device_store(cg_store *st, cg_device_change *c, long long *id, cg_result *why)
{
    const char *holder = c->has_holder && c->holder[0] ? c->holder : NULL;
    cg_status rc = holder ? check_holder(st, c->type, holder, why) : CG_OK;
    if (rc != CG_OK)
        return rc;
    sqlite3_stmt *s = cg_store_stmt(st,
        "INSERT INTO devices(type, serial, holder, issued_at, created_at, updated_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?5)");
    if (s) {
        sqlite3_bind_text(s, 1, c->type, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, c->serial, -1, SQLITE_STATIC);
        if (holder) {
            sqlite3_bind_text(s, 3, holder, -1, SQLITE_STATIC);
            sqlite3_bind_int64(s, 4, c->now_ms);
        }
        sqlite3_bind_int64(s, 5, c->now_ms);
    }
    rc = cg_store_step(st, s, "the device", why);
    if (rc == CG_E_CONFLICT)
        return cg_fail(why, CG_E_CONFLICT, "conflict",
                       "'serial': a device '%s' is registered already", c->serial);
    if (rc != CG_OK)
        return rc;
    *id = sqlite3_last_insert_rowid(st->db);
    if (holder && strcmp(c->type, "terminal") == 0)
        return register_terminal(st, c->serial, holder, why);
    return CG_OK;
}

cg_status cg_device_update(cg_store *st, const cg_device_change *c, cg_result *why)
{
    sqlite3_stmt *s = cg_store_stmt(st,
        "SELECT type, serial, holder IS NOT NULL AND returned_at IS NULL FROM devices WHERE id = ?1");
    if (!s)
        return cg_fail(why, CG_E_INTERNAL, "internal_error", "cannot read devices");
    sqlite3_bind_int64(s, 1, c->id);
    char type[16] = "", serial[CG_SERIAL_MAX + 1] = "";
    int found = sqlite3_step(s) == SQLITE_ROW, held = 0;
    if (found) {
        snprintf(type, sizeof type, "%s", (const char *)sqlite3_column_text(s, 0));
        snprintf(serial, sizeof serial, "%s", (const char *)sqlite3_column_text(s, 1));
        held = sqlite3_column_int(s, 2);
    }
    sqlite3_reset(s);
    char did[32];
    cg_row_id_format("DV", c->id, did, sizeof did);
    if (!found)
        return cg_fail(why, CG_E_NOT_FOUND, "not_found", "no device %s", did);
    const char *holder = c->has_holder && c->holder[0] ? c->holder : NULL;
    if (holder) {
        cg_status rc = check_holder(st, type, holder, why);
        if (rc != CG_OK)
            return rc;
        s = cg_store_stmt(st, "UPDATE devices SET holder = ?2, issued_at = ?3, returned_at = NULL,"
                              " updated_at = ?3 WHERE id = ?1");
        if (s) {
            sqlite3_bind_int64(s, 1, c->id);
            sqlite3_bind_text(s, 2, holder, -1, SQLITE_STATIC);
            sqlite3_bind_int64(s, 3, c->now_ms);
        }
    } else {
        if (!held)
            return cg_fail(why, CG_E_CONFLICT, "not_held", "device %s is not held by anyone", did);
        s = cg_store_stmt(st, "UPDATE devices SET returned_at = ?2, updated_at = ?2 WHERE id = ?1");
        if (s) {
            sqlite3_bind_int64(s, 1, c->id);
            sqlite3_bind_int64(s, 2, c->now_ms);
        }
    }
    cg_status rc = cg_store_step(st, s, "the device", why);
    if (rc != CG_OK)
        return rc;
    return strcmp(type, "terminal") == 0 ? register_terminal(st, serial, holder, why) : CG_OK;
}

#define DEVICE_COLUMNS "id, type, serial, holder, issued_at, returned_at"

static json_t *device_row(sqlite3_stmt *s)
{
    char id[32], issued[40], returned[40];
    cg_row_id_format("DV", sqlite3_column_int64(s, 0), id, sizeof id);
    int has_issued = sqlite3_column_type(s, 4) != SQLITE_NULL;
    int has_returned = sqlite3_column_type(s, 5) != SQLITE_NULL;
    if (has_issued)
        cg_time_iso(sqlite3_column_int64(s, 4), issued, sizeof issued);
    if (has_returned)
        cg_time_iso(sqlite3_column_int64(s, 5), returned, sizeof returned);
    int has_holder = sqlite3_column_type(s, 3) != SQLITE_NULL;
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:b}", "id", id, "type",
                     (const char *)sqlite3_column_text(s, 1), "serial",
                     (const char *)sqlite3_column_text(s, 2), "holder",
                     has_holder ? json_string((const char *)sqlite3_column_text(s, 3)) : json_null(),
                     "issued_at", has_issued ? json_string(issued) : json_null(), "returned_at",
                     has_returned ? json_string(returned) : json_null(), "held",
                     has_holder && !has_returned);
}

json_t *cg_device_get(cg_store *st, long long id)
{
    return cg_row_by_id(st, "SELECT " DEVICE_COLUMNS " FROM devices WHERE id = ?1", id, device_row);
}

json_t *cg_devices_list(cg_store *st, const char *holder, const char *type, const char *viewer,
                        long long after, int limit)
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT " DEVICE_COLUMNS " FROM devices WHERE (?1 IS NULL OR holder = ?1)"
        " AND (?2 IS NULL OR type = ?2)"
        " AND (?3 IS NULL OR holder = ?3 OR holder IN (SELECT member_id FROM assignments"
        "      WHERE grid IN (SELECT grid FROM member_grids WHERE member_id = ?3)))"
        " AND id > ?4 ORDER BY id LIMIT ?5");
    if (!s)
        return NULL;
    if (holder)
        sqlite3_bind_text(s, 1, holder, -1, SQLITE_STATIC);
    if (type)
        sqlite3_bind_text(s, 2, type, -1, SQLITE_STATIC);
    if (viewer)
        sqlite3_bind_text(s, 3, viewer, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, after);
    sqlite3_bind_int(s, 5, limit + 1);
    return cg_page_collect(s, limit, device_row, 0, "DV");
}
