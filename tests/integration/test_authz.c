/*
 * test_authz.c — the generated route × role × target test: every row of the
 * route table (cg_api_routes) is called by every kind of caller against a
 * resource of the caller's own grid and department, of another department,
 * of another grid, and of a member shared with another grid, on one real
 * daemon with the Lishui dataset. Any 2xx that the authorization matrix
 * (core/http/route_access.c, docs/authz.md) does not allow fails the test,
 * and so does a 500, or any 5xx to a caller the matrix forbids (one it
 * allows may meet a 503 or 504 from a plugin that is not running). A route without a row in the matrix, a matrix row
 * without a route, or a route docs/authz.md does not name fails it too: a
 * new route is covered the day it is added.
 *
 * How a request is made from a route: each {param} of the pattern is filled
 * with the target's resource of the kind the path names (a case id after
 * /v1/cases/, a grid code after /v1/grids/, ...), a GET carries the target's
 * grid, member and dates in its query, and a POST or PATCH the body the
 * `bodies` table gives (with the target's grid, member, category). A list cut
 * to the caller (CG_AX_FILTERED) may answer 2xx to a forbidden target as
 * long as the target's resource does not appear in it.
 *
 * Callers go from the least to the most privileged, so that a change one
 * allowed caller makes (an escalation, a device returned) is made by the
 * least privileged one allowed, after every forbidden attempt of those
 * below. A caller whose token stops working (401) is a bug of the test
 * (its tokens are minted again after a DELETE that succeeded).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>

#include "http/api.h"
#include "http/route_access.h"
#include "integration/testapi.h"
#include "support/testutil.h"
#include "support/tiny_images.h"

#define GRID_A "33110200100101" /* every staff caller serves it (only it) */
#define GRID_B "33110200100102" /* the shared member's other grid */
#define GRID_C "33110200100103" /* nobody of the callers serves it */
#define SHARED "M00001"         /* market professional of GRID_A and GRID_B */

enum { G_A, G_B, G_C, N_G };
static const char *const grid_code[N_G] = {GRID_A, GRID_B, GRID_C};
static const char *const grid_leader[N_G] = {"M00151", "M00159", "M00166"};

#define N_DEPT 5
static const char *const depts[N_DEPT] = {"enforcement", "municipal", "sanitation", "market",
                                          "police"};
/* A category each department owns (API.md's default owners). */
static const char *const dept_category[N_DEPT] = {"street_stall", "landscaping", "sanitation",
                                                  "food_hygiene", "illegal_parking"};

static td_daemon D;

/* ---- the fixtures: one of each resource per (grid, department) --------- */

typedef struct res {
    char member[16];   /* a professional of that department serving only that grid */
    char *token;       /* theirs */
    char *case_id, *photo, *patrol, *checkin, *device, *task, *meeting;
} res;
static res R[N_G][N_DEPT];
static double office_lat[N_G], office_lon[N_G];
static char month[8], year[8], today[16], week[12];

static int dept_index(const char *d)
{
    for (int i = 0; i < N_DEPT; i++)
        if (!strcmp(depts[i], d))
            return i;
    return 0;
}

/* ---- the callers -------------------------------------------------------- */

typedef struct caller {
    const char *label;
    unsigned bit;
    const char *member; /* NULL: anonymous; filled in for created callers */
    const char *dept;   /* the department whose resources are its own */
    char *token;
    char made[16];
} caller;

/* Least privileged first (see the top). */
static caller callers[] = {
    {"anonymous", CG_AX_ANON, NULL, "enforcement", NULL, ""},
    {"optional M00158", CG_AX_OPTIONAL, "M00158", "enforcement", NULL, ""},
    {"professional enforcement M00154", CG_AX_PRO, "M00154", "enforcement", NULL, ""},
    {"professional municipal M00155", CG_AX_PRO, "M00155", "municipal", NULL, ""},
    {"professional sanitation M00156", CG_AX_PRO, "M00156", "sanitation", NULL, ""},
    {"professional market (made)", CG_AX_PRO, NULL, "market", NULL, ""},
    {"professional police M00157", CG_AX_PRO, "M00157", "police", NULL, ""},
    {"fulltime M00153", CG_AX_FULLTIME, "M00153", "enforcement", NULL, ""},
    {"department account enforcement (made)", CG_AX_DEPT, NULL, "enforcement", NULL, ""},
    {"auditor (made)", CG_AX_AUDITOR, NULL, "enforcement", NULL, ""},
    {"instructor M00152", CG_AX_INSTRUCTOR, "M00152", "enforcement", NULL, ""},
    {"leader M00151", CG_AX_LEADER, "M00151", "enforcement", NULL, ""},
    {"admin", CG_AX_ADMIN, "admin", "enforcement", NULL, ""},
};
#define N_CALLERS (sizeof callers / sizeof callers[0])

static const char *const target_name[CG_AX_N_TARGETS] = {"own grid", "other department",
                                                          "other grid", "shared member"};

/* ---- helpers ------------------------------------------------------------ */

static char *str_dup_field(json_t *j, const char *key)
{
    const char *s = ta_str(j, key);
    EXPECT(s && *s, "no '%s' in %s", key, ta_dump(j));
    return strdup(s);
}

static void mint(caller *c)
{
    free(c->token);
    c->token = c->member ? ta_token_for(c->member) : NULL;
}

static void mint_all(void)
{
    for (size_t i = 0; i < N_CALLERS; i++)
        mint(&callers[i]);
}

/* A new professional of `dept` in `grid` (as the admin); its id into out. */
static void make_member(const char *grid, const char *dept, int account, char out[16])
{
    static int n;
    char *body = account
        ? tu_sprintf("{\"name\":\"授权测试%d\",\"login\":\"authzfix%d\",\"department\":\"%s\","
                     "\"department_account\":true,\"assignments\":[]}", n, n, dept)
        : tu_sprintf("{\"name\":\"授权测试%d\",\"login\":\"authzfix%d\",\"department\":\"%s\","
                     "\"terminal_id\":\"TAZ%04d\","
                     "\"assignments\":[{\"grid\":\"%s\",\"role\":\"professional\"}]}",
                     n, n, dept, n, grid);
    n++;
    json_t *m = ta_expect_call("POST", "/v1/members", D.token, body, 201);
    snprintf(out, 16, "%s", ta_text(m, "id"));
    json_decref(m);
    free(body);
}

/* An auditor: a member without grids whose `auditor` flag the admin sets.
 * Left out (c->member stays NULL) while the daemon has no such flag. */
static void make_auditor(caller *c)
{
    json_t *m = ta_expect_call("POST", "/v1/members", D.token,
                               "{\"name\":\"审计员\",\"login\":\"authzaudit\","
                               "\"department\":\"enforcement\"}", 201);
    char id[16];
    snprintf(id, sizeof id, "%s", ta_text(m, "id"));
    json_decref(m);
    char *path = tu_sprintf("/v1/members/%s", id);
    int status;
    json_decref(ta_call("PATCH", path, D.token, "{\"auditor\":true}", &status));
    m = ta_expect_call("GET", path, D.token, NULL, 200);
    if (status == 200 && json_is_true(json_object_get(m, "auditor"))) {
        snprintf(c->made, sizeof c->made, "%s", id);
        c->member = c->made;
    } else {
        fprintf(stderr, "test_authz: note: no auditor flag on members yet, no auditor caller\n");
    }
    json_decref(m);
    free(path);
}

static void dates(void)
{
    time_t now = time(NULL) + 8 * 3600; /* Asia/Shanghai */
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(month, sizeof month, "%Y-%m", &tm);
    strftime(year, sizeof year, "%Y", &tm);
    strftime(today, sizeof today, "%Y-%m-%d", &tm);
    strftime(week, sizeof week, "%G-W%V", &tm);
}

static void office_of(int g)
{
    char path[64];
    snprintf(path, sizeof path, "/v1/grids/%s", grid_code[g]);
    json_t *j = ta_get_json(path);
    json_t *o = json_object_get(j, "office");
    office_lat[g] = json_number_value(json_object_get(o, "lat"));
    office_lon[g] = json_number_value(json_object_get(o, "lon"));
    EXPECT(office_lat[g] != 0.0, "grid %s has no office: %s", grid_code[g], ta_dump(j));
    json_decref(j);
}

/* A photo of case `id` whose bytes no other photo has. */
static char *upload_photo(const char *id, const char *token, int n)
{
    unsigned char buf[sizeof tiny_jpg + 16];
    memcpy(buf, tiny_jpg, sizeof tiny_jpg);
    int extra = snprintf((char *)buf + sizeof tiny_jpg, 16, "authz%d", n);
    char *path = tu_sprintf("/v1/cases/%s/photos?stage=before", id);
    hc_request rq = {.method = "POST", .path = path, .token = token,
                     .content_type = "image/jpeg", .body = (const char *)buf,
                     .body_len = sizeof tiny_jpg + (size_t)extra};
    hc_response r;
    hc_send(D.port, &rq, &r);
    json_t *j = json_loads(r.body, 0, NULL);
    EXPECT(r.status == 201 && j, "photo upload: %d " TA_EXCERPT, r.status, r.body);
    char *sha = str_dup_field(j, "sha256");
    json_decref(j);
    hc_response_free(&r);
    free(path);
    return sha;
}

static void make_fixtures(void)
{
    dates();
    for (int g = 0; g < N_G; g++)
        office_of(g);
    int n = 0;
    for (int g = 0; g < N_G; g++)
        for (int d = 0; d < N_DEPT; d++) {
            res *x = &R[g][d];
            if (g == G_B) /* grid B is reached only through the shared member */
                snprintf(x->member, sizeof x->member, "%s", SHARED);
            else
                make_member(grid_code[g], depts[d], 0, x->member);
            x->token = ta_token_for(x->member);
            char *body = tu_sprintf("{\"category\":\"%s\",\"grid\":\"%s\",\"lat\":%.7f,"
                                    "\"lon\":%.7f,\"description\":\"授权测试\"}",
                                    dept_category[g == G_B ? 3 : d], grid_code[g],
                                    office_lat[g], office_lon[g]);
            json_t *c = ta_expect_call("POST", "/v1/cases", x->token, body, 201);
            x->case_id = str_dup_field(c, "id");
            json_decref(c);
            free(body);
            x->photo = upload_photo(x->case_id, x->token, n++);
            body = tu_sprintf("{\"grid\":\"%s\",\"lat\":%.7f,\"lon\":%.7f}", grid_code[g],
                              office_lat[g], office_lon[g]);
            c = ta_expect_call("POST", "/v1/checkins", x->token, body, 201);
            x->checkin = str_dup_field(c, "id");
            json_decref(c);
            free(body);
            body = tu_sprintf("{\"grid\":\"%s\"}", grid_code[g]);
            c = ta_expect_call("POST", "/v1/patrols", x->token, body, 201);
            x->patrol = str_dup_field(c, "id");
            json_decref(c);
            free(body);
            body = tu_sprintf("{\"type\":\"terminal\",\"serial\":\"AUTHZ-%d\",\"holder\":\"%s\"}",
                              n++, x->member);
            c = ta_expect_call("POST", "/v1/devices", D.token, body, 201);
            x->device = str_dup_field(c, "id");
            json_decref(c);
            free(body);
            if (g == G_B) { /* one of each for the shared member is enough */
                for (int e = 1; e < N_DEPT; e++)
                    R[g][e] = *x;
                break;
            }
        }
    /* A meeting per grid, as the admin, with a task for each fixture member. */
    for (int g = 0; g < N_G; g++) {
        char tasks[2048] = "";
        int dn = g == G_B ? 1 : N_DEPT;
        for (int d = 0; d < dn; d++) {
            char one[128];
            snprintf(one, sizeof one, "%s{\"title\":\"任务%d\",\"claimed_by\":\"%.15s\"}",
                     d ? "," : "", d, R[g][d].member);
            strcat(tasks, one);
        }
        char *body = tu_sprintf("{\"grid\":\"%s\",\"date\":\"%s\",\"chair\":\"%s\","
                                "\"study_topic\":\"条例\",\"work_report\":\"巡查\","
                                "\"tasks\":[%s]}",
                                grid_code[g], today, grid_leader[g], tasks);
        json_t *m = ta_expect_call("POST", "/v1/meetings", D.token, body, 201);
        free(body);
        json_t *t = json_object_get(m, "tasks");
        for (int d = 0; d < N_DEPT; d++) {
            R[g][d].meeting = str_dup_field(m, "id");
            R[g][d].task = str_dup_field(json_array_get(t, g == G_B ? 0 : (size_t)d), "id");
        }
        json_decref(m);
    }
    /* An Open311 key for DELETE /v1/open311/keys/{name} to remove. */
    ta_expect_status("POST", "/v1/open311/keys", D.token, "{\"name\":\"authzkey\"}", 201);
    /* The callers this dataset lacks: a market professional of grid A
     * alone (the dataset's serves grid B too), a department account. */
    for (size_t i = 0; i < N_CALLERS; i++) {
        caller *c = &callers[i];
        if (c->bit == CG_AX_PRO && !c->member) {
            make_member(GRID_A, c->dept, 0, c->made);
            c->member = c->made;
        } else if (c->bit == CG_AX_DEPT) {
            make_member(NULL, c->dept, 1, c->made);
            c->member = c->made;
        } else if (c->bit == CG_AX_AUDITOR) {
            make_auditor(c);
        }
    }
    mint_all();
}

/* ---- building a request from a route ------------------------------------ */

typedef struct target {
    int g, d;            /* the fixture's grid and department */
    const char *member;  /* the member it concerns */
} target;

static target target_for(const caller *c, int t)
{
    int own = dept_index(c->dept);
    int other = own == 2 ? 1 : 2; /* sanitation, or municipal for sanitation */
    switch (t) {
    case CG_AX_OWN: return (target){G_A, own, R[G_A][own].member};
    case CG_AX_OTHER_DEPT: return (target){G_A, other, R[G_A][other].member};
    case CG_AX_OTHER_GRID: return (target){G_C, own, R[G_C][own].member};
    default: return (target){G_B, 3, SHARED};
    }
}

/* The value of path parameter `name` met after `prefix` (the pattern up to
 * it) for target x. Unknown parameters get "x": the route is still walked
 * for every role, without a resource of its own. */
static const char *param_value(const char *prefix, const char *name, const target *x)
{
    const res *r = &R[x->g][x->d];
    if (strstr(prefix, "/v1/members/"))
        return x->member;
    if (strstr(prefix, "/v1/cases/"))
        return r->case_id;
    if (strstr(prefix, "/v1/photos/"))
        return r->photo;
    if (strstr(prefix, "/v1/patrols/"))
        return r->patrol;
    if (strstr(prefix, "/v1/meetings/"))
        return r->meeting;
    if (strstr(prefix, "/v1/tasks/"))
        return r->task;
    if (strstr(prefix, "/v1/devices/"))
        return r->device;
    if (!strcmp(name, "date"))
        return today;
    if (strstr(prefix, "/v1/grids/"))
        return grid_code[x->g];
    if (strstr(prefix, "/v1/sources/"))
        return "persons";
    if (strstr(prefix, "/v1/plugins/"))
        return "enforcement";
    if (strstr(prefix, "/v1/open311/keys/"))
        return "authzkey";
    if (strstr(prefix, "/open311/v2/services/"))
        return "street_stall.json";
    if (strstr(prefix, "/open311/v2/requests/"))
        return "x.json";
    if (strstr(prefix, "/javascript/"))
        return !strcmp(name, "lib") ? "leaflet" : "leaflet.js";
    if (strstr(prefix, "/console/"))
        return !strcmp(name, "dir") ? "js" : "app.js";
    return "x";
}

/* The id a list would show of target x, for a route under `path`. */
static const char *marker(const char *pattern, const target *x)
{
    const res *r = &R[x->g][x->d];
    if (!strncmp(pattern, "/v1/cases", 9))
        return r->case_id;
    if (!strncmp(pattern, "/v1/checkins", 12))
        return r->checkin;
    if (!strncmp(pattern, "/v1/meetings", 12))
        return r->meeting;
    if (!strncmp(pattern, "/v1/tasks", 9))
        return r->task;
    if (!strncmp(pattern, "/v1/devices", 11))
        return r->device;
    if (!strncmp(pattern, "/v1/patrols", 11) || !strncmp(pattern, "/v1/reports", 11))
        return x->member;
    return grid_code[x->g];
}

/* The body sent to a POST or PATCH route; {grid}, {member}, {category},
 * {lat}, {lon}, {today}, {uniq} filled in. NULL: no body. */
static const struct {
    const char *method, *pattern, *body;
} bodies[] = {
    {"POST", "/v1/sessions", "{}"},
    {"POST", "/v1/members", "{\"name\":\"授权{uniq}\",\"login\":\"authz{uniq}\",\"department\":"
                            "\"{dept}\",\"assignments\":[{\"grid\":\"{grid}\",\"role\":\"professional\"}]}"},
    {"PATCH", "/v1/members/{id}", "{\"name\":\"改名{uniq}\"}"},
    {"POST", "/v1/cases", "{\"category\":\"{category}\",\"grid\":\"{grid}\",\"lat\":{lat},"
                          "\"lon\":{lon},\"description\":\"授权测试\"}"},
    {"POST", "/v1/cases/{id}/actions", "{\"action\":\"escalate\",\"note\":\"授权测试\"}"},
    {"POST", "/v1/checkins", "{\"grid\":\"{grid}\",\"lat\":{lat},\"lon\":{lon}}"},
    {"PATCH", "/v1/grids/{code}/rota/{date}", "{\"member\":\"{member}\"}"},
    {"POST", "/v1/patrols", "{\"grid\":\"{grid}\"}"},
    {"POST", "/v1/patrols/{id}/points", "{\"points\":[{\"lat\":{lat},\"lon\":{lon}}]}"},
    {"POST", "/v1/meetings", "{\"grid\":\"{grid}\",\"date\":\"{today}\",\"chair\":\"{leader}\",\"study_topic\":\"条例\","
                             "\"work_report\":\"巡查\"}"},
    {"POST", "/v1/devices", "{\"type\":\"terminal\",\"serial\":\"AZ{uniq}\",\"holder\":\"{member}\"}"},
    {"PATCH", "/v1/devices/{id}", "{\"returned\":true}"},
    {"POST", "/v1/open311/keys", "{\"name\":\"authz{uniq}\"}"},
    {"POST", "/v1/sources/{name}/query", "{\"reason\":\"授权测试\",\"params\":{\"q\":\"张\"}}"},
};

static void put(char **out, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *out = realloc(*out, *cap);
    }
    memcpy(*out + *len, s, n + 1);
    *len += n;
}

static char *fill(const char *tmpl, const caller *c, const target *x)
{
    static int uniq;
    char *out = NULL;
    size_t len = 0, cap = 0;
    put(&out, &len, &cap, "");
    for (const char *p = tmpl; *p;) {
        const char *close = *p == '{' ? strchr(p, '}') : NULL;
        char key[32] = "", val[64] = "";
        if (close && (size_t)(close - p) < sizeof key)
            snprintf(key, sizeof key, "%.*s", (int)(close - p - 1), p + 1);
        if (!strcmp(key, "grid"))
            snprintf(val, sizeof val, "%s", grid_code[x->g]);
        else if (!strcmp(key, "member"))
            snprintf(val, sizeof val, "%s", x->member);
        else if (!strcmp(key, "dept"))
            snprintf(val, sizeof val, "%s", depts[x->d]);
        else if (!strcmp(key, "category"))
            snprintf(val, sizeof val, "%s", dept_category[x->d]);
        else if (!strcmp(key, "lat"))
            snprintf(val, sizeof val, "%.7f", office_lat[x->g]);
        else if (!strcmp(key, "lon"))
            snprintf(val, sizeof val, "%.7f", office_lon[x->g]);
        else if (!strcmp(key, "leader"))
            snprintf(val, sizeof val, "%s", grid_leader[x->g]);
        else if (!strcmp(key, "today"))
            snprintf(val, sizeof val, "%s", today);
        else if (!strcmp(key, "uniq"))
            snprintf(val, sizeof val, "%d", uniq++);
        else
            key[0] = 0;
        if (key[0]) {
            put(&out, &len, &cap, val);
            p = close + 1;
        } else {
            char one[2] = {*p++, 0};
            put(&out, &len, &cap, one);
        }
    }
    (void)c;
    return out;
}

static const char *method_name(int m)
{
    switch (m) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_PATCH: return "PATCH";
    case EVHTTP_REQ_HEAD: return "HEAD";
    default: return "OTHER";
    }
}

/* The path of route `rt` for target x: parameters filled, and on a GET (or
 * a rota POST) the query every listing may read. malloc'd. */
static char *path_for(const cg_route *rt, const target *x)
{
    char *out = NULL;
    size_t len = 0, cap = 0;
    put(&out, &len, &cap, "");
    for (const char *p = rt->pattern; *p;) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            char name[32];
            snprintf(name, sizeof name, "%.*s", (int)(close - p - 1), p + 1);
            char *prefix = strndup(rt->pattern, (size_t)(p - rt->pattern));
            put(&out, &len, &cap, param_value(prefix, name, x));
            free(prefix);
            p = close + 1;
        } else {
            char one[2] = {*p++, 0};
            put(&out, &len, &cap, one);
        }
    }
    if (rt->method == EVHTTP_REQ_POST && strstr(rt->pattern, "/photos"))
        put(&out, &len, &cap, "?stage=before");
    else if (rt->method == EVHTTP_REQ_GET || strstr(rt->pattern, "/rota")) {
        char *q = tu_sprintf("?grid=%s&member=%s&holder=%s&assignee=%s&month=%s&year=%s"
                             "&week=%s&lat=%.7f&lon=%.7f",
                             grid_code[x->g], x->member, x->member, x->member, month, year,
                             week, office_lat[x->g], office_lon[x->g]);
        if (strncmp(rt->pattern, "/console", 8) && strncmp(rt->pattern, "/javascript", 11) &&
            strcmp(rt->pattern, "/"))
            put(&out, &len, &cap, q);
        free(q);
    }
    return out;
}

static const char *body_for(const cg_route *rt)
{
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        if (!strcmp(bodies[i].method, method_name(rt->method)) &&
            !strcmp(bodies[i].pattern, rt->pattern))
            return bodies[i].body;
    return rt->method == EVHTTP_REQ_GET || rt->method == EVHTTP_REQ_DELETE ? NULL : "{}";
}

/* ---- the walk ------------------------------------------------------------ */

static char *failures;
static size_t failures_len, failures_cap;
static int n_failures;

static void failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void failure(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    put(&failures, &failures_len, &failures_cap, line);
    put(&failures, &failures_len, &failures_cap, "\n");
    n_failures++;
}

START_TEST(every_route_is_in_the_matrix_and_the_docs)
{
    char *docs_path = tu_src_path("docs/authz.md");
    FILE *f = fopen(docs_path, "r");
    EXPECT(f, "cannot open %s", docs_path);
    char *docs = NULL;
    size_t dlen = 0;
    FILE *mem = open_memstream(&docs, &dlen);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, mem);
    fclose(mem);
    fclose(f);
    for (size_t i = 0; i < cg_api_n_routes; i++) {
        const cg_route *rt = &cg_api_routes[i];
        if (!cg_route_access_find(rt->method, rt->pattern))
            failure("route %s %s has no row in the authorization matrix: add one to "
                    "core/http/route_access.c (who may call it, per target) and a line to "
                    "docs/authz.md", method_name(rt->method), rt->pattern);
        char *needle = tu_sprintf("`%s %s`", method_name(rt->method), rt->pattern);
        if (!strstr(docs, needle))
            failure("docs/authz.md does not name the route %s: add it to the matrix there",
                    needle);
        free(needle);
    }
    for (size_t i = 0; i < cg_route_access_n; i++) {
        const cg_route_access *a = &cg_route_access_table[i];
        int found = 0;
        for (size_t j = 0; j < cg_api_n_routes && !found; j++)
            found = cg_api_routes[j].method == a->method &&
                    !strcmp(cg_api_routes[j].pattern, a->pattern);
        if (!found)
            failure("core/http/route_access.c has a row for %s %s, which is no route: "
                    "remove it", method_name(a->method), a->pattern);
    }
    free(docs);
    free(docs_path);
    if (n_failures)
        fprintf(stderr, "%s", failures);
    ck_assert_msg(n_failures == 0, "%d routes missing from the matrix or the docs (listed above)",
                  n_failures);
}
END_TEST

static caller *caller_of(unsigned bit, const char *dept)
{
    for (size_t i = 0; i < N_CALLERS; i++)
        if (callers[i].bit == bit && (!dept || !strcmp(callers[i].dept, dept)))
            return &callers[i];
    ck_abort_msg("no caller %#x", bit);
    return NULL;
}

/* The decisions docs/authz.md writes down, from the allowed side: the walk
 * above only sees what must not succeed. */
static void decisions(void)
{
    mint_all();
    const char *dept = caller_of(CG_AX_DEPT, NULL)->token;
    const char *leader = caller_of(CG_AX_LEADER, NULL)->token;
    const char *pro = caller_of(CG_AX_PRO, "police")->token;
    /* A department account: its department's cases in every grid, no
     * other department's, and none of a grid's routine records. */
    char *p = tu_sprintf("/v1/cases/%s", R[G_C][0].case_id);
    ta_expect_status("GET", p, dept, NULL, 200);
    free(p);
    p = tu_sprintf("/v1/cases/%s", R[G_A][2].case_id);
    ta_expect_status("GET", p, dept, NULL, 403);
    free(p);
    const char *routine[] = {"/v1/checkins", "/v1/meetings", "/v1/tasks", "/v1/devices",
                             "/v1/patrols/compliance", "/v1/grids/" GRID_A "/rota"};
    for (size_t i = 0; i < sizeof routine / sizeof routine[0]; i++) {
        json_t *e = ta_expect_call("GET", routine[i], dept, NULL, 403);
        EXPECT(strstr(ta_text(json_object_get(e, "error"), "message"), "department account"),
               "GET %s: %s", routine[i], ta_dump(e));
        json_decref(e);
    }
    p = tu_sprintf("/v1/patrols/%s", R[G_A][0].patrol);
    ta_expect_status("GET", p, dept, NULL, 403);
    ta_expect_status("GET", p, pro, NULL, 200);
    free(p);
    /* The honour roll: every signed-in caller, nobody else. */
    p = tu_sprintf("/v1/reports/commendations?year=%s", year);
    ta_expect_status("GET", p, pro, NULL, 200);
    ta_expect_status("GET", p, dept, NULL, 200);
    ta_expect_status("GET", p, NULL, NULL, 401);
    free(p);
    /* Devices: a manager equips a member all of whose grids they manage,
     * not the member shared with grid B, not a fellow manager. */
    char *body = tu_sprintf("{\"type\":\"terminal\",\"serial\":\"DEC-1\",\"holder\":\"%s\"}",
                            R[G_A][0].member);
    ta_expect_status("POST", "/v1/devices", leader, body, 201);
    free(body);
    json_t *e = ta_expect_call("POST", "/v1/devices", leader,
                               "{\"type\":\"terminal\",\"serial\":\"DEC-2\",\"holder\":\"" SHARED "\"}",
                               403);
    EXPECT(strstr(ta_text(json_object_get(e, "error"), "message"), GRID_B), "%s", ta_dump(e));
    json_decref(e);
    ta_expect_status("POST", "/v1/devices", leader,
                     "{\"type\":\"terminal\",\"serial\":\"DEC-3\",\"holder\":\"M00152\"}", 403);
    ta_expect_status("POST", "/v1/devices", D.token,
                     "{\"type\":\"terminal\",\"serial\":\"DEC-4\",\"holder\":\"" SHARED "\"}", 201);
}

static void setup(void)
{
    memset(&D, 0, sizeof D);
    td_options opt = {.omitted = TA_DEPARTMENT_PLUGINS};
    ta_start(&D, &opt, NULL, 0);
}

static void teardown(void)
{
    td_cleanup(&D);
}

START_TEST(no_route_answers_a_caller_the_matrix_forbids)
{
    /* CG_AUTHZ_VERBOSE=1: every answer's status, to review the matrix. */
    int verbose = getenv("CG_AUTHZ_VERBOSE") != NULL;
    make_fixtures();
    long long t0 = ta_mono_ms();
    int requests = 0, successes = 0;
    for (size_t i = 0; i < cg_api_n_routes; i++) {
        const cg_route *rt = &cg_api_routes[i];
        const cg_route_access *acc = cg_route_access_find(rt->method, rt->pattern);
        if (!acc)
            continue; /* the other test says so */
        const char *method = method_name(rt->method);
        int route_2xx = 0;
        for (size_t ci = 0; ci < N_CALLERS; ci++) {
            caller *c = &callers[ci];
            if (c->bit != CG_AX_ANON && !c->member)
                continue; /* a kind of caller this daemon does not have */
            char *last = NULL;
            for (int t = 0; t < CG_AX_N_TARGETS; t++) {
                target x = target_for(c, t);
                char *path = path_for(rt, &x);
                const char *tmpl = body_for(rt);
                char *body = tmpl ? fill(tmpl, c, &x) : NULL;
                /* The same request for every target (a route without a
                 * resource): once is enough. */
                char *key = tu_sprintf("%s %s", path, body ? body : "");
                int same = last && !strcmp(last, key) && !strstr(tmpl ? tmpl : "", "{uniq}");
                free(last);
                last = key;
                if (same && (acc->allow[t] & c->bit) == (acc->allow[t - 1] & c->bit)) {
                    free(path);
                    free(body);
                    continue;
                }
                hc_request rq = {.method = method, .path = path, .token = c->token, .body = body};
                unsigned char jpg[sizeof tiny_jpg + 16];
                if (rt->method == EVHTTP_REQ_POST && strstr(rt->pattern, "/photos")) {
                    /* a photo: a real JPEG, its own bytes each time */
                    static int shot;
                    memcpy(jpg, tiny_jpg, sizeof tiny_jpg);
                    int extra = snprintf((char *)jpg + sizeof tiny_jpg, 16, "walk%d", shot++);
                    rq.content_type = "image/jpeg";
                    rq.body = (const char *)jpg;
                    rq.body_len = sizeof tiny_jpg + (size_t)extra;
                }
                hc_response r;
                hc_send(D.port, &rq, &r);
                requests++;
                int allowed = (acc->allow[t] & c->bit) != 0;
                int ok2xx = r.status >= 200 && r.status < 300;
                successes += ok2xx;
                route_2xx += ok2xx;
                if (verbose)
                    fprintf(stderr, "%d %s %s as %s (%s)\n", r.status, method, path, c->label,
                            target_name[t]);
                if (r.status == 0)
                    failure("%s %s as %s: no answer (%s)", method, path, c->label, r.error);
                else if (r.status == 500 || (r.status > 500 && !allowed))
                    failure("%s %s as %s (%s): %d " "%.300s", method, path, c->label,
                            target_name[t], r.status, r.body);
                else if (r.status == 401 && c->token && rt->needs_auth)
                    failure("%s %s as %s: 401 with a live token (the test lost it?): %.200s",
                            method, path, c->label, r.body);
                else if (ok2xx && !allowed) {
                    const char *m = marker(rt->pattern, &x);
                    if (!(acc->flags & CG_AX_FILTERED) || strstr(r.body, m))
                        failure("FORBIDDEN SUCCESS: %s %s as %s on %s's resource: %d "
                                "(the matrix, core/http/route_access.c, allows it to no "
                                "such caller): %.300s",
                                method, path, c->label, target_name[t], r.status, r.body);
                }
                if (ok2xx && rt->method == EVHTTP_REQ_DELETE)
                    mint_all(); /* a token may have gone with it */
                hc_response_free(&r);
                free(path);
                free(body);
            }
            free(last);
        }
        /* Said, not failed: a route nobody got through is checked only as
         * far as its first refusal (a body this test cannot make). */
        if (!route_2xx)
            fprintf(stderr, "test_authz: note: %s %s answered no caller 2xx\n", method,
                    rt->pattern);
    }
    long long ms = ta_mono_ms() - t0;
    fprintf(stderr, "test_authz: %zu routes, %zu callers, %d requests (%d answered 2xx) in %lld ms\n",
            cg_api_n_routes, N_CALLERS, requests, successes, ms);
    if (!n_failures)
        decisions();
    if (n_failures) {
        td_on_failure();
        fprintf(stderr, "%s", failures);
    }
    ck_assert_msg(n_failures == 0, "%d answers the matrix forbids (listed above)", n_failures);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("authz");
    ta_add_case(s, "matrix", every_route_is_in_the_matrix_and_the_docs, NULL, NULL, 30);
    ta_add_case(s, "walk", no_route_answers_a_caller_the_matrix_forbids, setup, teardown, 600);
    return ta_run(s);
}
