/*
 * meetings.c — see meetings.h.
 */
#include "routine/meetings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/citydate.h"
#include "store/paging.h"
#include "lib/timeutil.h"

void cg_meeting_new_free(cg_meeting_new *m)
{
    for (size_t i = 0; i < m->n_tasks; i++)
        free(m->tasks[i].title);
    free(m->tasks);
    free(m->attendees);
    free(m->study_topic);
    free(m->work_report);
    free(m->briefings);
    free(m->problems);
    memset(m, 0, sizeof *m);
}

/* ---------------------------------------------------------------- parse */

static int id_field(json_t *v, char *out, size_t len)
{
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= len)
        return -1;
    snprintf(out, len, "%s", json_string_value(v));
    return 0;
}

/* Optional text (absent: ""), at most CG_MEETING_TEXT_MAX bytes. */
static cg_status text_field(json_t *body, const char *key, char **out, cg_result *err)
{
    json_t *v = json_object_get(body, key);
    if (v && !json_is_null(v) &&
        (!json_is_string(v) || json_string_length(v) > CG_MEETING_TEXT_MAX))
        return cg_fail(err, CG_E_INVALID, "invalid_field", "'%s' must be a text of at most %d bytes",
                       key, CG_MEETING_TEXT_MAX);
    *out = strdup(json_is_string(v) ? json_string_value(v) : "");
    return *out ? CG_OK : cg_fail(err, CG_E_INTERNAL, "internal_error", "out of memory");
}

/* Optional list of texts, stored as JSON. */
static cg_status list_field(json_t *body, const char *key, char **out, cg_result *err)
{
    json_t *v = json_object_get(body, key);
    int ok = !v || json_is_null(v) || (json_is_array(v) && json_array_size(v) <= CG_MEETING_MAX_ITEMS);
    for (size_t i = 0; ok && v && i < json_array_size(v); i++) {
        json_t *x = json_array_get(v, i);
        ok = json_is_string(x) && json_string_length(x) <= CG_MEETING_TEXT_MAX;
    }
    if (!ok)
        return cg_fail(err, CG_E_INVALID, "invalid_field", "'%s' must be a list of at most %d texts",
                       key, CG_MEETING_MAX_ITEMS);
    *out = json_is_array(v) ? json_dumps(v, JSON_COMPACT) : strdup("[]");
    return *out ? CG_OK : cg_fail(err, CG_E_INTERNAL, "internal_error", "out of memory");
}

static cg_status parse(json_t *body, cg_meeting_new *m, cg_result *err)
{
    const char *date = json_string_value(json_object_get(body, "date"));
    json_t *att = json_object_get(body, "attendees"), *tasks = json_object_get(body, "tasks");
    if (id_field(json_object_get(body, "grid"), m->grid, sizeof m->grid) < 0 || strlen(m->grid) != 14)
        return cg_fail(err, CG_E_INVALID, "invalid_field", "'grid' must be a 14-digit grid code");
    if (!date || cg_day_parse(date, &m->day) < 0)
        return cg_fail(err, CG_E_INVALID, "invalid_field", "'date' must be a date YYYY-MM-DD");
    if (id_field(json_object_get(body, "chair"), m->chair, sizeof m->chair) < 0)
        return cg_fail(err, CG_E_INVALID, "invalid_field", "'chair' must be a member id");
    cg_status rc = text_field(body, "study_topic", &m->study_topic, err);
    if (rc == CG_OK)
        rc = text_field(body, "work_report", &m->work_report, err);
    if (rc == CG_OK)
        rc = list_field(body, "briefings", &m->briefings, err);
    if (rc == CG_OK)
        rc = list_field(body, "problems", &m->problems, err);
    if (rc != CG_OK)
        return rc;
    if (att && !json_is_null(att) &&
        (!json_is_array(att) || json_array_size(att) > CG_MEETING_MAX_ATTENDEES))
        return cg_fail(err, CG_E_INVALID, "invalid_field",
                       "'attendees' must be a list of at most %d member ids", CG_MEETING_MAX_ATTENDEES);
    m->attendees = calloc(json_array_size(att) + 1, sizeof *m->attendees);
    for (size_t i = 0; m->attendees && i < json_array_size(att); i++) {
        if (id_field(json_array_get(att, i), m->attendees[i], sizeof m->attendees[i]) < 0)
            return cg_fail(err, CG_E_INVALID, "invalid_field", "'attendees[%zu]' must be a member id", i);
        m->n_attendees++;
    }
    if (tasks && !json_is_null(tasks) &&
        (!json_is_array(tasks) || json_array_size(tasks) > CG_MEETING_MAX_TASKS))
        return cg_fail(err, CG_E_INVALID, "invalid_field", "'tasks' must be a list of at most %d "
                       "{\"title\",\"claimed_by\"}", CG_MEETING_MAX_TASKS);
    m->tasks = calloc(json_array_size(tasks) + 1, sizeof *m->tasks);
    for (size_t i = 0; m->tasks && i < json_array_size(tasks); i++) {
        json_t *t = json_array_get(tasks, i), *title = json_object_get(t, "title");
        if (!json_is_string(title) || json_string_length(title) == 0 ||
            json_string_length(title) > CG_MEETING_TEXT_MAX ||
            id_field(json_object_get(t, "claimed_by"), m->tasks[i].claimed_by,
                     sizeof m->tasks[i].claimed_by) < 0)
            return cg_fail(err, CG_E_INVALID, "invalid_field", "'tasks[%zu]' must be {\"title\": text, "
                           "\"claimed_by\": member id}", i);
        m->tasks[i].title = strdup(json_string_value(title));
        m->n_tasks++;
    }
    if (!m->attendees || !m->tasks || !m->study_topic || !m->work_report)
        return cg_fail(err, CG_E_INTERNAL, "internal_error", "out of memory");
    return CG_OK;
}

cg_status cg_meeting_parse(json_t *body, cg_meeting_new *m, cg_result *err)
{
    memset(m, 0, sizeof *m);
    cg_status rc = parse(body, m, err);
    if (rc != CG_OK)
        cg_meeting_new_free(m);
    return rc;
}

/* ---------------------------------------------------------------- writes */

/* The member's roles in the grid as a bit set (1 leader, 2 instructor, 4
 * any), -1 on error. */
static int roles_in(cg_store *st, const char *member, const char *grid)
{
    sqlite3_stmt *s = cg_store_stmt(st, "SELECT role FROM assignments WHERE member_id = ?1 AND grid = ?2");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, member, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, grid, -1, SQLITE_STATIC);
    int bits = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *role = (const char *)sqlite3_column_text(s, 0);
        bits |= 4 | (strcmp(role, "leader") == 0 ? 1 : 0) | (strcmp(role, "instructor") == 0 ? 2 : 0);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? bits : -1;
}

cg_status cg_meeting_store(cg_store *st, const cg_meeting_new *m, long long *id, cg_result *why)
{
    int r = roles_in(st, m->chair, m->grid);
    if (r < 0)
        return cg_fail(why, CG_E_INTERNAL, "internal_error", "cannot read the grid's staff");
    if (!(r & 3))
        return cg_fail(why, CG_E_UNPROCESSABLE, "chair_not_leader",
                       "'chair': %s is neither the leader nor the instructor of grid %s",
                       m->chair, m->grid);
    for (size_t i = 0; i < m->n_attendees + m->n_tasks; i++) {
        const char *who = i < m->n_attendees ? m->attendees[i] : m->tasks[i - m->n_attendees].claimed_by;
        if ((r = roles_in(st, who, m->grid)) > 0)
            continue;
        if (i < m->n_attendees)
            return cg_fail(why, CG_E_UNPROCESSABLE, "not_in_grid",
                           "'attendees[%zu]': %s does not serve grid %s", i, who, m->grid);
        return cg_fail(why, CG_E_UNPROCESSABLE, "not_in_grid",
                       "'tasks[%zu].claimed_by': %s does not serve grid %s", i - m->n_attendees, who,
                       m->grid);
    }
    char date[CG_DATE_SIZE];
    cg_day_format(m->day, date, sizeof date);
    sqlite3_stmt *s = cg_store_stmt(st,
        "INSERT INTO meetings(grid, day, chair, study_topic, briefings, work_report, problems,"
        " created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (s) {
        sqlite3_bind_text(s, 1, m->grid, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, date, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, m->chair, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, m->study_topic, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, m->briefings, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 6, m->work_report, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 7, m->problems, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 8, m->created_by, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 9, m->now_ms);
    }
    cg_status rc = cg_store_step(st, s, "the meeting", why);
    if (rc != CG_OK)
        return rc;
    *id = sqlite3_last_insert_rowid(st->db);
    for (size_t i = 0; i < m->n_attendees; i++) {
        s = cg_store_stmt(st, "INSERT OR IGNORE INTO meeting_attendees(meeting, member) VALUES (?1, ?2)");
        if (s) {
            sqlite3_bind_int64(s, 1, *id);
            sqlite3_bind_text(s, 2, m->attendees[i], -1, SQLITE_STATIC);
        }
        rc = cg_store_step(st, s, "the attendees", why);
        if (rc != CG_OK)
            return rc;
    }
    for (size_t i = 0; i < m->n_tasks; i++) {
        s = cg_store_stmt(st, "INSERT INTO tasks(meeting, grid, title, claimed_by, created_at)"
                              " VALUES (?1, ?2, ?3, ?4, ?5)");
        if (s) {
            sqlite3_bind_int64(s, 1, *id);
            sqlite3_bind_text(s, 2, m->grid, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 3, m->tasks[i].title, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 4, m->tasks[i].claimed_by, -1, SQLITE_STATIC);
            sqlite3_bind_int64(s, 5, m->now_ms);
        }
        rc = cg_store_step(st, s, "the tasks", why);
        if (rc != CG_OK)
            return rc;
    }
    return CG_OK;
}

cg_status cg_task_done(cg_store *st, long long id, const char *by, int is_admin, int64_t now_ms,
                       cg_result *why)
{
    char tid[32];
    cg_row_id_format("TK", id, tid, sizeof tid);
    sqlite3_stmt *s = cg_store_stmt(st, "SELECT grid, claimed_by, status FROM tasks WHERE id = ?1");
    if (!s)
        return cg_fail(why, CG_E_INTERNAL, "internal_error", "cannot read the task");
    sqlite3_bind_int64(s, 1, id);
    char grid[CG_GRID_CODE_SIZE] = "", assignee[CG_MEMBER_ID_SIZE] = "";
    int found = sqlite3_step(s) == SQLITE_ROW, done = 0;
    if (found) {
        snprintf(grid, sizeof grid, "%s", (const char *)sqlite3_column_text(s, 0));
        snprintf(assignee, sizeof assignee, "%s", (const char *)sqlite3_column_text(s, 1));
        done = strcmp((const char *)sqlite3_column_text(s, 2), "done") == 0;
    }
    sqlite3_reset(s);
    if (!found)
        return cg_fail(why, CG_E_NOT_FOUND, "not_found", "no task %s", tid);
    int roles = is_admin || strcmp(by, assignee) == 0 ? 0 : roles_in(st, by, grid);
    if (roles < 0)
        return cg_fail(why, CG_E_INTERNAL, "internal_error", "cannot read the grid's staff");
    if (!is_admin && strcmp(by, assignee) != 0 && !(roles & 1))
        return cg_fail(why, CG_E_FORBIDDEN, "forbidden",
                       "only %s (who claimed task %s) or the leader of grid %s closes it",
                       assignee, tid, grid);
    if (done)
        return cg_fail(why, CG_E_CONFLICT, "task_done", "task %s is done already", tid);
    s = cg_store_stmt(st, "UPDATE tasks SET status = 'done', done_at = ?2, done_by = ?3 WHERE id = ?1");
    if (s) {
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, now_ms);
        sqlite3_bind_text(s, 3, by, -1, SQLITE_STATIC);
    }
    return cg_store_step(st, s, "the task", why);
}

/* ---------------------------------------------------------------- reads */

#define TASK_COLUMNS "id, meeting, grid, title, claimed_by, status, created_at, done_at, done_by"

static json_t *task_row(sqlite3_stmt *s)
{
    char id[32], meeting[32], created[40], done_at[40];
    cg_row_id_format("TK", sqlite3_column_int64(s, 0), id, sizeof id);
    int has_meeting = sqlite3_column_type(s, 1) != SQLITE_NULL;
    cg_row_id_format("MT", sqlite3_column_int64(s, 1), meeting, sizeof meeting);
    cg_time_iso(sqlite3_column_int64(s, 6), created, sizeof created);
    int done = sqlite3_column_type(s, 7) != SQLITE_NULL;
    if (done)
        cg_time_iso(sqlite3_column_int64(s, 7), done_at, sizeof done_at);
    return json_pack("{s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "id", id, "meeting",
                     has_meeting ? json_string(meeting) : json_null(), "grid",
                     (const char *)sqlite3_column_text(s, 2), "title",
                     (const char *)sqlite3_column_text(s, 3), "claimed_by",
                     (const char *)sqlite3_column_text(s, 4), "status",
                     (const char *)sqlite3_column_text(s, 5), "created_at", created, "done_at",
                     done ? json_string(done_at) : json_null(), "done_by",
                     sqlite3_column_type(s, 8) == SQLITE_NULL
                         ? json_null()
                         : json_string((const char *)sqlite3_column_text(s, 8)));
}

#define MEETING_COLUMNS "id, grid, day, chair, study_topic, briefings, work_report, problems," \
                        " created_by, created_at"

static json_t *meeting_row(sqlite3_stmt *s)
{
    char id[32], created[40];
    cg_row_id_format("MT", sqlite3_column_int64(s, 0), id, sizeof id);
    cg_time_iso(sqlite3_column_int64(s, 9), created, sizeof created);
    json_t *briefings = json_loads((const char *)sqlite3_column_text(s, 5), 0, NULL);
    json_t *problems = json_loads((const char *)sqlite3_column_text(s, 7), 0, NULL);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:s, s:s}", "id", id, "grid",
                     (const char *)sqlite3_column_text(s, 1), "date",
                     (const char *)sqlite3_column_text(s, 2), "chair",
                     (const char *)sqlite3_column_text(s, 3), "study_topic",
                     (const char *)sqlite3_column_text(s, 4), "briefings",
                     briefings ? briefings : json_array(), "work_report",
                     (const char *)sqlite3_column_text(s, 6), "problems",
                     problems ? problems : json_array(), "created_by",
                     (const char *)sqlite3_column_text(s, 8), "created_at", created);
}

json_t *cg_meeting_get(cg_store *st, long long id)
{
    json_t *m = cg_row_by_id(st, "SELECT " MEETING_COLUMNS " FROM meetings WHERE id = ?1", id,
                             meeting_row);
    if (!m)
        return NULL;
    json_t *att = json_array(), *tasks = json_array();
    sqlite3_stmt *s =
        cg_store_read_stmt(st, "SELECT member FROM meeting_attendees WHERE meeting = ?1 ORDER BY member");
    if (s) {
        sqlite3_bind_int64(s, 1, id);
        while (sqlite3_step(s) == SQLITE_ROW)
            json_array_append_new(att, json_string((const char *)sqlite3_column_text(s, 0)));
        sqlite3_reset(s);
    }
    s = cg_store_read_stmt(st, "SELECT " TASK_COLUMNS " FROM tasks WHERE meeting = ?1 ORDER BY id");
    if (s) {
        sqlite3_bind_int64(s, 1, id);
        while (sqlite3_step(s) == SQLITE_ROW)
            json_array_append_new(tasks, task_row(s));
        sqlite3_reset(s);
    }
    json_object_set_new(m, "attendees", att);
    json_object_set_new(m, "tasks", tasks);
    return m;
}

json_t *cg_meetings_list(cg_store *st, const char *grid, const char *viewer, long long before,
                         int limit)
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT " MEETING_COLUMNS " FROM meetings WHERE (?1 IS NULL OR grid = ?1)"
        " AND (?2 IS NULL OR grid IN (SELECT grid FROM member_grids WHERE member_id = ?2))"
        " AND id < ?3 ORDER BY id DESC LIMIT ?4");
    if (!s)
        return NULL;
    if (grid)
        sqlite3_bind_text(s, 1, grid, -1, SQLITE_STATIC);
    if (viewer)
        sqlite3_bind_text(s, 2, viewer, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, before > 0 ? before : INT64_MAX);
    sqlite3_bind_int(s, 4, limit + 1);
    return cg_page_collect(s, limit, meeting_row, 0, "MT");
}

json_t *cg_tasks_list(cg_store *st, const cg_task_filter *f)
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT " TASK_COLUMNS " FROM tasks WHERE (?1 IS NULL OR claimed_by = ?1)"
        " AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR grid = ?3)"
        " AND (?4 IS NULL OR claimed_by = ?4"
        "      OR grid IN (SELECT grid FROM member_grids WHERE member_id = ?4))"
        " AND id < ?5 ORDER BY id DESC LIMIT ?6");
    if (!s)
        return NULL;
    if (f->assignee)
        sqlite3_bind_text(s, 1, f->assignee, -1, SQLITE_STATIC);
    if (f->status)
        sqlite3_bind_text(s, 2, f->status, -1, SQLITE_STATIC);
    if (f->grid)
        sqlite3_bind_text(s, 3, f->grid, -1, SQLITE_STATIC);
    if (f->viewer)
        sqlite3_bind_text(s, 4, f->viewer, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, f->before > 0 ? f->before : INT64_MAX);
    sqlite3_bind_int(s, 6, f->limit + 1);
    return cg_page_collect(s, f->limit, task_row, 0, "TK");
}

json_t *cg_task_get(cg_store *st, long long id)
{
    return cg_row_by_id(st, "SELECT " TASK_COLUMNS " FROM tasks WHERE id = ?1", id, task_row);
}
