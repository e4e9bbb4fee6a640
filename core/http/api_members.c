/*
 * api_members.c — POST /v1/members, GET /v1/members/{id},
 * PATCH /v1/members/{id}. Main thread only.
 *
 * Validation (400/422, naming the field) and the password hash happen here;
 * the write goes through cg_batch (group commit) and the answer is sent from
 * the done callback, after COMMIT. The apply function may run on the batch's
 * writer thread: it touches only its own `member_write` and the store.
 *
 * Scope: an admin may do everything; a leader or instructor may create and
 * edit members of the grids they manage (assignments only there, no
 * department-level accounts); a member may read themselves and the people
 * of the grids they serve, and change their own name and password.
 */
#include "http/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "store/batch.h"
#include "people/grids.h"
#include "case/scope.h"

#define NAME_MAX_BYTES 128
#define ID_MAX_BYTES 63
#define PASSWORD_MIN 8
#define PASSWORD_MAX 1024
#define ASSIGNMENTS_MAX 64

static const char *const roles[] = {"leader", "instructor", "fulltime", "professional", "optional"};

typedef struct assignment {
    char grid[CG_GRID_CODE_SIZE];
    char role[16];
    char department[32]; /* "" for leader, instructor, fulltime */
} assignment;

/* Everything the apply needs, owned; a field is written when its has_ flag is set. */
typedef struct member_write {
    cg_http_deferred deferred;
    cg_app *app;
    int create;
    char id[ID_MAX_BYTES + 1];
    int has_name, has_pinyin, has_department, has_login, has_password, has_terminal,
        has_account, has_assignments;
    char name[NAME_MAX_BYTES + 1], pinyin[NAME_MAX_BYTES + 1], department[32],
        login[ID_MAX_BYTES + 1], terminal[ID_MAX_BYTES + 1];
    char password_hash[160];
    int department_account;
    char current_department[32]; /* PATCH: the member's department before */
    assignment *assignments;
    size_t n_assignments;
    /* Why the apply refused, for the reply. */
    int status;
    char code[48];
    char message[256];
} member_write;

static void write_free(member_write *w)
{
    free(w->assignments);
    memset(w->password_hash, 0, sizeof w->password_hash);
    free(w);
}

/* ---------------------------------------------------------------- reads */

/* The member as the API shows it, or NULL when unknown. */
static json_t *member_json(cg_store *st, const char *id)
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT id, name, name_pinyin, login, department, terminal_id, department_account,"
        " is_admin, password_hash IS NOT NULL FROM members WHERE id = ?1");
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    json_t *m = NULL;
#define TEXT_OR_NULL(i)                                                                 \
    (sqlite3_column_type(s, (i)) == SQLITE_NULL ? json_null()                           \
                                                : json_string((const char *)sqlite3_column_text(s, (i))))
    if (sqlite3_step(s) == SQLITE_ROW)
        m = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:b, s:b, s:b}", "id",
                      (const char *)sqlite3_column_text(s, 0), "name",
                      (const char *)sqlite3_column_text(s, 1), "name_pinyin", TEXT_OR_NULL(2),
                      "login", TEXT_OR_NULL(3), "department", TEXT_OR_NULL(4), "terminal_id",
                      TEXT_OR_NULL(5), "department_account", sqlite3_column_int(s, 6),
                      "is_admin", sqlite3_column_int(s, 7), "has_password",
                      sqlite3_column_int(s, 8));
    sqlite3_reset(s);
    if (!m)
        return NULL;
    s = cg_store_read_stmt(st,
        "SELECT grid, role, department FROM assignments WHERE member_id = ?1 ORDER BY grid, role");
    json_t *list = json_array();
    if (s) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        while (sqlite3_step(s) == SQLITE_ROW)
            json_array_append_new(list, json_pack("{s:s, s:s, s:o}", "grid",
                                                  (const char *)sqlite3_column_text(s, 0), "role",
                                                  (const char *)sqlite3_column_text(s, 1),
                                                  "department", TEXT_OR_NULL(2)));
        sqlite3_reset(s);
    }
#undef TEXT_OR_NULL
    json_object_set_new(m, "assignments", list);
    return m;
}

/* The grids a member serves, as codes in a JSON array (for scope checks). */
static const char **grids_of(json_t *member, size_t *n)
{
    json_t *list = json_object_get(member, "assignments");
    const char **g = calloc(json_array_size(list) + 1, sizeof *g);
    *n = 0;
    for (size_t i = 0; g && i < json_array_size(list); i++)
        g[(*n)++] = json_string_value(json_object_get(json_array_get(list, i), "grid"));
    return g;
}

/* ---------------------------------------------------------------- validation */

static int valid_id_text(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > ID_MAX_BYTES)
        return 0;
    for (; *s; s++)
        if (*s <= ' ' || *s > '~' || *s == ',' || *s == '"' || *s == '\'' || *s == '/')
            return 0;
    return 1;
}

/* A string field: absent (0), present (1, copied into out), or -1 with err. */
static int str_field(json_t *body, const char *key, char *out, size_t outlen, int id_like,
                     cg_http_error *err)
{
    json_t *v = json_object_get(body, key);
    if (!v)
        return 0;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= outlen ||
        strlen(json_string_value(v)) != json_string_length(v) ||
        (id_like && !valid_id_text(json_string_value(v)))) {
        cg_http_error_set(err, 400, "invalid_field", "'%s' must be a non-empty string of at most "
                          "%zu bytes%s", key, outlen - 1,
                          id_like ? " without spaces, commas, quotes or slashes" : "");
        return -1;
    }
    snprintf(out, outlen, "%s", json_string_value(v));
    return 1;
}

static int parse_assignments(cg_api_ctx *ctx, json_t *list, member_write *w, cg_http_error *err)
{
    if (!json_is_array(list) || json_array_size(list) > ASSIGNMENTS_MAX) {
        cg_http_error_set(err, 400, "invalid_field", "'assignments' must be an array of at most %d "
                          "{\"grid\",\"role\",\"department\"?}", ASSIGNMENTS_MAX);
        return -1;
    }
    size_t n = json_array_size(list);
    w->assignments = calloc(n ? n : 1, sizeof *w->assignments);
    if (!w->assignments) {
        cg_http_error_set(err, 500, "internal_error", "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(list, i);
        assignment *as = &w->assignments[i];
        const char *grid = json_string_value(json_object_get(a, "grid"));
        const char *role = json_string_value(json_object_get(a, "role"));
        json_t *dv = json_object_get(a, "department");
        const char *dept = json_string_value(dv);
        /* A professional or optional row serves the member's own department
         * unless it names another. */
        if (!dept && (!dv || json_is_null(dv)))
            dept = w->has_department ? w->department
                   : w->current_department[0] ? w->current_department : NULL;
        if (!json_is_object(a) || !grid || strlen(grid) != 14 || strspn(grid, "0123456789") != 14) {
            cg_http_error_set(err, 400, "invalid_field",
                              "'assignments[%zu].grid' must be a 14-digit grid code", i);
            return -1;
        }
        int known_role = 0;
        for (size_t k = 0; role && k < sizeof roles / sizeof roles[0]; k++)
            known_role |= strcmp(role, roles[k]) == 0;
        if (!known_role) {
            cg_http_error_set(err, 400, "invalid_field", "'assignments[%zu].role' must be one of "
                              "leader, instructor, fulltime, professional, optional", i);
            return -1;
        }
        if (dv && !json_is_null(dv) && !dept) {
            cg_http_error_set(err, 400, "invalid_field", "'assignments[%zu].department' must be a string", i);
            return -1;
        }
        int needs_dept = strcmp(role, "professional") == 0 || strcmp(role, "optional") == 0;
        const cg_department *d = dept ? cg_catalog_department(ctx->app->catalog, dept) : NULL;
        if (needs_dept && (!d || (strcmp(role, "professional") == 0 && !d->mandatory))) {
            cg_http_error_set(err, 422, "unknown_department", "'assignments[%zu].department' must "
                              "name %s department", i,
                              strcmp(role, "professional") == 0 ? "one of the five mandatory" : "a known");
            return -1;
        }
        int exists = cg_grids_exists(ctx->app->store, grid);
        if (exists != 1) {
            cg_http_error_set(err, exists < 0 ? 500 : 422, exists < 0 ? "internal_error" : "unknown_grid",
                              "'assignments[%zu].grid': no grid %s", i, grid);
            return -1;
        }
        snprintf(as->grid, sizeof as->grid, "%s", grid);
        snprintf(as->role, sizeof as->role, "%s", role);
        snprintf(as->department, sizeof as->department, "%s", needs_dept ? dept : "");
        for (size_t k = 0; k < i; k++) {
            if (strcmp(w->assignments[k].grid, grid) == 0 && strcmp(w->assignments[k].role, role) == 0) {
                cg_http_error_set(err, 400, "invalid_field",
                                  "'assignments[%zu]' repeats %s of grid %s", i, role, grid);
                return -1;
            }
        }
    }
    w->n_assignments = n;
    w->has_assignments = 1;
    return 0;
}

/* Fill w from the body. 0 ok, -1 with err. */
static int parse_body(cg_api_ctx *ctx, json_t *body, member_write *w, cg_http_error *err)
{
    static const char *const known[] = {"id", "name", "name_pinyin", "department", "login",
                                        "password", "terminal_id", "department_account",
                                        "assignments"};
    const char *key;
    json_t *v;
    json_object_foreach(body, key, v) {
        int ok = 0;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            ok |= strcmp(key, known[i]) == 0;
        if (!ok) {
            cg_http_error_set(err, 400, "invalid_field", "unknown field '%.64s'", key);
            return -1;
        }
    }
    int r;
    char password[PASSWORD_MAX + 1];
    if ((w->create && str_field(body, "id", w->id, sizeof w->id, 1, err) < 0) ||
        (!w->create && json_object_get(body, "id")))
        return w->create ? -1
                         : (cg_http_error_set(err, 400, "invalid_field", "'id' cannot be changed"), -1);
    if ((r = str_field(body, "name", w->name, sizeof w->name, 0, err)) < 0)
        return -1;
    w->has_name = r;
    if (w->create && !w->has_name) {
        cg_http_error_set(err, 400, "missing_field", "missing field 'name'");
        return -1;
    }
    if ((r = str_field(body, "name_pinyin", w->pinyin, sizeof w->pinyin, 0, err)) < 0)
        return -1;
    w->has_pinyin = r;
    if ((r = str_field(body, "department", w->department, sizeof w->department, 1, err)) < 0)
        return -1;
    if ((w->has_department = r) && !cg_catalog_department(ctx->app->catalog, w->department)) {
        cg_http_error_set(err, 422, "unknown_department", "'department': no department '%s'",
                          w->department);
        return -1;
    }
    if ((r = str_field(body, "login", w->login, sizeof w->login, 1, err)) < 0)
        return -1;
    w->has_login = r;
    if ((r = str_field(body, "terminal_id", w->terminal, sizeof w->terminal, 1, err)) < 0)
        return -1;
    w->has_terminal = r;
    if ((r = str_field(body, "password", password, sizeof password, 0, err)) < 0)
        return -1;
    if (r) {
        if (strlen(password) < PASSWORD_MIN) {
            cg_http_error_set(err, 400, "invalid_field", "'password' must have at least %d characters",
                              PASSWORD_MIN);
            return -1;
        }
        if (!w->has_login && w->create) {
            cg_http_error_set(err, 400, "missing_field", "'password' needs a 'login'");
            return -1;
        }
        /* argon2id: slow on purpose, once per change. */
        if (cg_auth_hash_password(password, w->password_hash, sizeof w->password_hash) < 0) {
            memset(password, 0, sizeof password);
            cg_http_error_set(err, 500, "internal_error", "cannot hash the password");
            return -1;
        }
        memset(password, 0, sizeof password);
        w->has_password = 1;
    }
    if ((v = json_object_get(body, "department_account"))) {
        if (!json_is_boolean(v)) {
            cg_http_error_set(err, 400, "invalid_field", "'department_account' must be true or false");
            return -1;
        }
        w->has_account = 1;
        w->department_account = json_is_true(v);
    }
    if ((v = json_object_get(body, "assignments")) && parse_assignments(ctx, v, w, err) < 0)
        return -1;
    return 0;
}

/* ---------------------------------------------------------------- apply */

static int refuse(member_write *w, int status, const char *code, const char *msg, char *err,
                  size_t errlen)
{
    w->status = status;
    snprintf(w->code, sizeof w->code, "%s", code);
    snprintf(w->message, sizeof w->message, "%s", msg);
    snprintf(err, errlen, "%s", msg);
    return -1;
}

/* The owner of a login or terminal other than w->id, or 0. */
static int taken(cg_store *st, const char *sql_is_login, const char *value, const char *id)
{
    sqlite3_stmt *s = cg_store_stmt(st, sql_is_login);
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, value, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int step_ok(cg_store *st, sqlite3_stmt *s, member_write *w, char *err, size_t errlen)
{
    int rc = s ? sqlite3_step(s) : SQLITE_ERROR;
    if (s)
        sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return 0;
    char msg[256];
    snprintf(msg, sizeof msg, "cannot store member %s: %s", w->id, sqlite3_errmsg(st->db));
    return refuse(w, rc == SQLITE_CONSTRAINT_UNIQUE ? 409 : 500,
                  rc == SQLITE_CONSTRAINT_UNIQUE ? "conflict" : "internal_error", msg, err, errlen);
}

static int apply_member(cg_store *st, void *arg, char *err, size_t errlen)
{
    member_write *w = arg;
    char msg[256];
    sqlite3_stmt *s;
    if (w->create && !w->id[0]) {
        /* The next M-number after the largest in use (imported M00001...). */
        s = cg_store_stmt(st, "SELECT 'M' || printf('%05d', coalesce(max(CAST(substr(id, 2) AS INTEGER)), 0) + 1)"
                              " FROM members WHERE id GLOB 'M[0-9]*'");
        if (!s || sqlite3_step(s) != SQLITE_ROW)
            return refuse(w, 500, "internal_error", "cannot choose a member id", err, errlen);
        snprintf(w->id, sizeof w->id, "%s", (const char *)sqlite3_column_text(s, 0));
        sqlite3_reset(s);
    }
    s = cg_store_stmt(st, "SELECT 1 FROM members WHERE id = ?1");
    if (!s)
        return refuse(w, 500, "internal_error", "cannot read members", err, errlen);
    sqlite3_bind_text(s, 1, w->id, -1, SQLITE_STATIC);
    int exists = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_reset(s);
    if (w->create && exists) {
        snprintf(msg, sizeof msg, "'id': member %s exists already", w->id);
        return refuse(w, 409, "conflict", msg, err, errlen);
    }
    if (!w->create && !exists) {
        snprintf(msg, sizeof msg, "no member '%s'", w->id);
        return refuse(w, 404, "not_found", msg, err, errlen);
    }
    if (w->has_login && taken(st, "SELECT 1 FROM members WHERE login = ?1 AND id <> ?2", w->login, w->id)) {
        snprintf(msg, sizeof msg, "'login': '%s' belongs to another member", w->login);
        return refuse(w, 409, "conflict", msg, err, errlen);
    }
    if (w->has_terminal &&
        taken(st, "SELECT 1 FROM members WHERE terminal_id = ?1 AND id <> ?2", w->terminal, w->id)) {
        snprintf(msg, sizeof msg, "'terminal_id': '%s' belongs to another member", w->terminal);
        return refuse(w, 409, "conflict", msg, err, errlen);
    }
    if (w->create) {
        s = cg_store_stmt(st, "INSERT INTO members(id, name, created_at, updated_at)"
                              " VALUES (?1, ?2, strftime('%s','now') * 1000, strftime('%s','now') * 1000)");
        if (s) {
            sqlite3_bind_text(s, 1, w->id, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 2, w->name, -1, SQLITE_STATIC);
        }
        if (step_ok(st, s, w, err, errlen) < 0)
            return -1;
    }
    /* One UPDATE: each column keeps its value unless its flag is set. */
    s = cg_store_stmt(st,
        "UPDATE members SET name = CASE WHEN ?2 THEN ?3 ELSE name END,"
        " name_pinyin = CASE WHEN ?4 THEN ?5 ELSE name_pinyin END,"
        " department = CASE WHEN ?6 THEN ?7 ELSE department END,"
        " login = CASE WHEN ?8 THEN ?9 ELSE login END,"
        " password_hash = CASE WHEN ?10 THEN ?11 ELSE password_hash END,"
        " terminal_id = CASE WHEN ?12 THEN ?13 ELSE terminal_id END,"
        " department_account = CASE WHEN ?14 THEN ?15 ELSE department_account END,"
        " updated_at = strftime('%s','now') * 1000 WHERE id = ?1");
    if (s) {
        sqlite3_bind_text(s, 1, w->id, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, w->has_name);
        sqlite3_bind_text(s, 3, w->name, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 4, w->has_pinyin);
        sqlite3_bind_text(s, 5, w->pinyin, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 6, w->has_department);
        sqlite3_bind_text(s, 7, w->department, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 8, w->has_login);
        sqlite3_bind_text(s, 9, w->login, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 10, w->has_password);
        sqlite3_bind_text(s, 11, w->password_hash, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 12, w->has_terminal);
        sqlite3_bind_text(s, 13, w->terminal, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 14, w->has_account);
        sqlite3_bind_int(s, 15, w->department_account);
    }
    if (step_ok(st, s, w, err, errlen) < 0)
        return -1;
    if (!w->has_assignments)
        return 0;
    s = cg_store_stmt(st, "DELETE FROM assignments WHERE member_id = ?1");
    if (s)
        sqlite3_bind_text(s, 1, w->id, -1, SQLITE_STATIC);
    if (step_ok(st, s, w, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < w->n_assignments; i++) {
        const assignment *a = &w->assignments[i];
        if (strcmp(a->role, "leader") == 0) {
            s = cg_store_stmt(st, "SELECT member_id FROM assignments WHERE grid = ?1 AND role = 'leader'");
            if (!s)
                return refuse(w, 500, "internal_error", "cannot read assignments", err, errlen);
            sqlite3_bind_text(s, 1, a->grid, -1, SQLITE_STATIC);
            if (sqlite3_step(s) == SQLITE_ROW) {
                snprintf(msg, sizeof msg, "'assignments[%zu]': grid %s already has a leader (%s)", i,
                         a->grid, (const char *)sqlite3_column_text(s, 0));
                sqlite3_reset(s);
                return refuse(w, 409, "grid_has_leader", msg, err, errlen);
            }
            sqlite3_reset(s);
        }
        s = cg_store_stmt(st, "INSERT INTO assignments(member_id, grid, role, department)"
                              " VALUES (?1, ?2, ?3, ?4)");
        if (s) {
            sqlite3_bind_text(s, 1, w->id, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 2, a->grid, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 3, a->role, -1, SQLITE_STATIC);
            if (a->department[0])
                sqlite3_bind_text(s, 4, a->department, -1, SQLITE_STATIC);
        }
        if (step_ok(st, s, w, err, errlen) < 0)
            return -1;
    }
    return 0;
}

static void member_written(void *arg, int status, const char *why)
{
    member_write *w = arg;
    struct evhttp_request *req = cg_http_undefer(&w->deferred);
    if (req) {
        if (status != 0) {
            if (w->status)
                cg_http_reply_error(req, w->status, w->code, "%s", w->message);
            else
                cg_http_reply_error(req, 500, "internal_error", "not stored: %.200s", why ? why : "?");
        } else {
            json_t *m = member_json(w->app->store, w->id);
            if (!m)
                m = json_pack("{s:s}", "id", w->id);
            if (w->create) {
                char location[128];
                snprintf(location, sizeof location, "/v1/members/%s", w->id);
                evhttp_add_header(evhttp_request_get_output_headers(req), "Location", location);
            }
            cg_http_reply_json(req, w->create ? 201 : 200, m);
        }
    }
    write_free(w);
}

/* ---------------------------------------------------------------- handlers */

/* May the caller write these fields and assignments? 0 yes, -1 after 403. */
static int check_write_scope(cg_api_ctx *ctx, const cg_scope *sc, const member_write *w,
                             json_t *target)
{
    if (sc->admin)
        return 0;
    int self = !w->create && strcmp(w->id, sc->member_id) == 0;
    int only_own_fields = !w->has_department && !w->has_login && !w->has_terminal &&
                          !w->has_account && !w->has_assignments && !w->has_pinyin;
    if (self && only_own_fields)
        return 0; /* name and password */
    if (w->has_account) {
        cg_http_reply_error(ctx->req, 403, "forbidden", "only an administrator sets 'department_account'");
        return -1;
    }
    /* A manager: the member must be in a grid they manage (or be new), and
     * every new assignment must be in one. */
    int manages_target = w->create;
    size_t n = 0;
    const char **grids = target ? grids_of(target, &n) : NULL;
    for (size_t i = 0; i < n; i++)
        manages_target |= cg_scope_manages(sc, grids[i]);
    free(grids);
    if (!manages_target) {
        cg_http_reply_error(ctx->req, 403, "forbidden",
                            "only an administrator or a leader or instructor of the member's grid may do this");
        return -1;
    }
    if (w->create && (!w->has_assignments || w->n_assignments == 0)) {
        cg_http_reply_error(ctx->req, 403, "forbidden",
                            "a leader or instructor adds members to the grids they manage: give 'assignments'");
        return -1;
    }
    for (size_t i = 0; w->has_assignments && i < w->n_assignments; i++) {
        if (!cg_scope_manages(sc, w->assignments[i].grid)) {
            cg_http_reply_error(ctx->req, 403, "forbidden",
                                "'assignments[%zu]': you do not manage grid %s", i,
                                w->assignments[i].grid);
            return -1;
        }
    }
    return 0;
}

static void submit_write(cg_api_ctx *ctx, int create)
{
    cg_http_error err;
    json_t *body = NULL, *target = NULL;
    cg_scope sc;
    member_write *w = calloc(1, sizeof *w);
    if (!w) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "out of memory");
        return;
    }
    w->app = ctx->app;
    w->create = create;
    if (!create) {
        if (strlen(ctx->params->value[0]) > ID_MAX_BYTES) {
            write_free(w);
            cg_http_reply_error(ctx->req, 404, "not_found", "no such member");
            return;
        }
        snprintf(w->id, sizeof w->id, "%.63s", ctx->params->value[0]);
    }
    if (cg_scope_load(ctx->app->store, ctx->who, &sc) < 0) {
        write_free(w);
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the caller's grids");
        return;
    }
    if (!create) {
        target = member_json(ctx->app->store, w->id);
        if (!target && sc.admin) {
            cg_http_reply_error(ctx->req, 404, "not_found", "no member '%.64s'", w->id);
            goto done;
        }
    }
    if (!sc.admin && !cg_scope_manages_any(&sc) &&
        (create || strcmp(w->id, sc.member_id) != 0)) {
        cg_http_reply_error(ctx->req, 403, "forbidden",
                            "only administrators, leaders and instructors manage members");
        goto done;
    }
    if (!target && !create) {
        cg_http_reply_error(ctx->req, 403, "forbidden", "member '%.64s' is not in your grids", w->id);
        goto done;
    }
    if (target)
        snprintf(w->current_department, sizeof w->current_department, "%s",
                 json_string_value(json_object_get(target, "department")) ?: "");
    if (cg_http_read_json_body(ctx->req, cg_api_max_body(ctx->app), 1, &body, &err) < 0 ||
        parse_body(ctx, body, w, &err) < 0) {
        cg_http_reply_err(ctx->req, &err);
        goto done;
    }
    if (check_write_scope(ctx, &sc, w, target) < 0)
        goto done;
    cg_http_defer(ctx->http, &w->deferred, ctx->req);
    cg_batch_submit(ctx->app->batch, apply_member, member_written, w);
    w = NULL; /* the callback's now */
done:
    if (w)
        write_free(w);
    json_decref(body);
    json_decref(target);
    cg_scope_free(&sc);
}

void cg_api_members_create(cg_api_ctx *ctx)
{
    submit_write(ctx, 1);
}

void cg_api_members_patch(cg_api_ctx *ctx)
{
    submit_write(ctx, 0);
}

void cg_api_members_get(cg_api_ctx *ctx)
{
    const char *id = ctx->params->value[0];
    cg_scope sc;
    if (cg_scope_load(ctx->app->store, ctx->who, &sc) < 0) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "cannot read the caller's grids");
        return;
    }
    json_t *m = member_json(ctx->app->store, id);
    size_t n = 0;
    const char **grids = m ? grids_of(m, &n) : NULL;
    int allowed = m && cg_scope_sees_member(&sc, id, grids, n);
    free(grids);
    int admin = sc.admin;
    cg_scope_free(&sc);
    if (!allowed) {
        json_decref(m);
        if (!m && admin)
            cg_http_reply_error(ctx->req, 404, "not_found", "no member '%.64s'", id);
        else
            cg_http_reply_error(ctx->req, 403, "forbidden", "member '%.64s' is not in your grids", id);
        return;
    }
    cg_http_reply_json(ctx->req, 200, m);
}
