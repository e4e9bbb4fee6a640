/* test_grids.c — the grid registry: importing the shipped Lishui dataset
 * (counts, offices that locate to their own grid, deterministic borders),
 * refusing bad imports whole with the row or feature number, the staffing
 * gaps, members serving several grids, dispatch members, and export. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "people/dataset.h"
#include "lib/geo.h"
#include "people/grids.h"
#include "store/store.h"
#include "support/testutil.h"
#include "support/run_suite.h"

static char *dir;       /* temp dir for the whole suite */
static char *db_path;   /* the dataset imported once (unchecked fixture) */
static cg_store *st;    /* each test's own connection to it */

static char *src(const char *name)
{
    char *rel = tu_sprintf("contrib/lishui/%s", name);
    char *p = tu_src_path(rel);
    free(rel);
    return p;
}

static void suite_setup(void)
{
    char err[1024];
    dir = tu_tempdir("grids");
    db_path = tu_sprintf("%s/citygrid.db", dir);
    cg_store *s = NULL;
    if (cg_store_open(db_path, &s, err, sizeof err) < 0) {
        fprintf(stderr, "open: %s\n", err);
        exit(1);
    }
    char *ds = tu_src_path("contrib/lishui");
    cg_import_report rep;
    if (cg_dataset_import_dir(s, ds, &rep, err, sizeof err) < 0) {
        fprintf(stderr, "import: %s\n", err);
        exit(1);
    }
    free(ds);
    cg_store_close(s);
}

static void suite_teardown(void)
{
    tu_rmrf(dir);
    free(dir);
    free(db_path);
}

static void setup(void)
{
    char err[512];
    cg_grids_invalidate();
    ck_assert_msg(cg_store_open(db_path, &st, err, sizeof err) == 0, "open: %s", err);
}

static void teardown(void)
{
    cg_grids_invalidate();
    cg_store_close(st);
    st = NULL;
}

static long long count(const char *sql)
{
    sqlite3_stmt *s = NULL;
    long long v = -1;
    ck_assert_int_eq(sqlite3_prepare_v2(st->db, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static json_t *load_geojson(void)
{
    char *p = src("grids.geojson");
    json_t *doc = json_load_file(p, 0, NULL);
    free(p);
    ck_assert_ptr_nonnull(doc);
    return doc;
}

/* ---------------------------------------------------------------- import */

START_TEST(fresh_import_has_the_plans_counts)
{
    char err[1024];
    char *d = tu_tempdir("grids-fresh");
    char *path = tu_sprintf("%s/citygrid.db", d);
    cg_store *s2 = NULL;
    ck_assert_int_eq(cg_store_open(path, &s2, err, sizeof err), 0);
    ck_assert_int_eq(cg_dataset_is_empty(s2), 1);
    char *ds = tu_src_path("contrib/lishui");
    cg_import_report rep = {0};
    ck_assert_msg(cg_dataset_import_dir(s2, ds, &rep, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(rep.grids, 273);
    ck_assert_int_eq(rep.places, 136);
    ck_assert_int_eq(rep.members, 2074);
    ck_assert_int_eq(rep.assignments, 2290);
    ck_assert_int_eq(cg_dataset_is_empty(s2), 0);
    /* Importing the same directory again changes nothing in the counts. */
    ck_assert_msg(cg_dataset_import_dir(s2, ds, &rep, err, sizeof err) == 0, "%s", err);
    cg_store_close(s2);
    free(ds);
    tu_rmrf(d);
    free(d);
    free(path);

    ck_assert_int_eq(count("SELECT count(*) FROM grids"), 273);
    ck_assert_int_eq(count("SELECT count(*) FROM grids WHERE type = 'community'"), 180);
    ck_assert_int_eq(count("SELECT count(*) FROM grids WHERE type = 'village'"), 93);
    ck_assert_int_eq(count("SELECT count(*) FROM grids WHERE code NOT LIKE '331102%'"), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM grid_boxes"),
                     count("SELECT count(*) FROM grid_parts"));
    ck_assert_int_eq(count("SELECT count(*) FROM members WHERE password_hash IS NOT NULL"
                           " AND id <> 'admin'"), 0);
}
END_TEST

START_TEST(every_office_locates_to_its_own_grid)
{
    sqlite3_stmt *s = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(st->db, "SELECT code, office_lat, office_lon FROM grids",
                                        -1, &s, NULL), SQLITE_OK);
    int n = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        char code[CG_GRID_CODE_SIZE];
        const char *want = (const char *)sqlite3_column_text(s, 0);
        int rc = cg_grids_locate(st, sqlite3_column_double(s, 1), sqlite3_column_double(s, 2), code);
        if (rc != 1 || strcmp(code, want) != 0)
            ck_abort_msg("office of %s locates to %s (rc %d)", want, rc == 1 ? code : "nothing", rc);
        n++;
    }
    sqlite3_finalize(s);
    ck_assert_int_eq(n, 273);
}
END_TEST

START_TEST(borders_and_vertices_resolve_the_same_way_every_time)
{
    json_t *doc = load_geojson();
    json_t *features = json_object_get(doc, "features");
    size_t checked = 0, inside = 0;
    /* Every vertex of the first 40 grids (community grids of the lattice:
     * most vertices are shared by 2-4 grids), and the midpoints of their
     * edges snapped to micro-degrees. */
    for (size_t i = 0; i < 40; i++) {
        json_t *ring = json_array_get(json_object_get(json_object_get(json_array_get(features, i),
                                                                      "geometry"), "coordinates"), 0);
        for (size_t k = 0; k + 1 < json_array_size(ring); k++) {
            json_t *a = json_array_get(ring, k), *b = json_array_get(ring, k + 1);
            double pts[2][2] = {
                {json_number_value(json_array_get(a, 0)), json_number_value(json_array_get(a, 1))},
                {(json_number_value(json_array_get(a, 0)) + json_number_value(json_array_get(b, 0))) / 2,
                 (json_number_value(json_array_get(a, 1)) + json_number_value(json_array_get(b, 1))) / 2}};
            for (int p = 0; p < 2; p++) {
                char first[CG_GRID_CODE_SIZE], again[CG_GRID_CODE_SIZE], cold[CG_GRID_CODE_SIZE];
                int r1 = cg_grids_locate(st, pts[p][1], pts[p][0], first);
                int r2 = cg_grids_locate(st, pts[p][1], pts[p][0], again);
                cg_grids_invalidate();
                int r3 = cg_grids_locate(st, pts[p][1], pts[p][0], cold);
                if (r1 != r2 || r1 != r3 || (r1 == 1 && (strcmp(first, again) || strcmp(first, cold))))
                    ck_abort_msg("point %.6f,%.6f: %s / %s / %s", pts[p][0], pts[p][1],
                                 r1 == 1 ? first : "-", r2 == 1 ? again : "-", r3 == 1 ? cold : "-");
                checked++;
                inside += r1 == 1;
            }
        }
    }
    ck_assert_uint_eq(checked, 40 * 4 * 2);
    /* The lattice's inner vertices and edges are all claimed by some grid. */
    ck_assert_uint_gt(inside, checked * 3 / 4);

    /* A vertex shared by grids 01 and 02 of the first community: the border
     * rule gives it to the grid east of it, 02. */
    char code[CG_GRID_CODE_SIZE];
    ck_assert_int_eq(cg_grids_locate(st, 28.455000, 119.930000, code), 1);
    ck_assert_str_eq(code, "33110200100101");
    ck_assert_int_eq(cg_grids_locate(st, 28.453448, 119.930268, code), 1);
    ck_assert_str_eq(code, "33110200100102");
    json_decref(doc);
}
END_TEST

START_TEST(a_point_far_away_is_in_no_grid)
{
    char code[CG_GRID_CODE_SIZE] = "x";
    ck_assert_int_eq(cg_grids_locate(st, 0.0, 0.0, code), 0);
    ck_assert_str_eq(code, "");
    ck_assert_int_eq(cg_grids_locate(st, 30.25, 120.17, code), 0); /* Hangzhou */
    ck_assert_int_eq(cg_grids_locate(st, 95.0, 119.92, code), 0);  /* not a latitude */
}
END_TEST

/* ---------------------------------------------------------------- refusals */

/* A copy of the dataset in a fresh dir, with one file replaced. */
static char *dataset_copy(const char *name, const char *text)
{
    static const char *const files[] = {"places.csv", "grids.geojson", "roster.csv"};
    char *d = tu_tempdir("grids-bad");
    for (int i = 0; i < 3; i++) {
        char *to = tu_sprintf("%s/%s", d, files[i]);
        if (strcmp(files[i], name) == 0) {
            ck_assert_int_eq(tu_write_file(to, text), 0);
        } else {
            char *from = src(files[i]);
            char *body = tu_read_file(from);
            ck_assert_int_eq(tu_write_file(to, body), 0);
            free(body);
            free(from);
        }
        free(to);
    }
    return d;
}

static char *roster_with_line(int line, const char *replacement)
{
    char *p = src("roster.csv");
    char *text = tu_read_file(p);
    free(p);
    char *start = text;
    for (int l = 1; l < line; l++)
        start = strchr(start, '\n') + 1;
    char *end = strchr(start, '\n');
    *start = 0;
    char *out = tu_sprintf("%s%s%s", text, replacement, end);
    free(text);
    return out;
}

/* The import is refused, the error names `where` and `why`, nothing changed. */
static void expect_refused(const char *file, char *text, const char *where, const char *why)
{
    char *d = dataset_copy(file, text);
    free(text);
    long long before = count("SELECT total_changes()");
    long long grids = count("SELECT count(*) FROM grids"),
              asg = count("SELECT count(*) FROM assignments"),
              members = count("SELECT count(*) FROM members");
    char err[1024] = "";
    cg_import_report rep = {0};
    ck_assert_int_eq(cg_dataset_import_dir(st, d, &rep, err, sizeof err), -1);
    ck_assert_msg(strstr(err, where) && strstr(err, why), "error '%s' should name '%s' and '%s'",
                  err, where, why);
    ck_assert_int_eq(count("SELECT count(*) FROM grids"), grids);
    ck_assert_int_eq(count("SELECT count(*) FROM assignments"), asg);
    ck_assert_int_eq(count("SELECT count(*) FROM members"), members);
    ck_assert_int_eq(count("SELECT count(*) FROM grid_boxes"), count("SELECT count(*) FROM grid_parts"));
    ck_assert_int_eq(sqlite3_get_autocommit(st->db), 1);
    (void)before;
    /* Still the original registry: an office still locates. */
    char code[CG_GRID_CODE_SIZE];
    ck_assert_int_eq(cg_grids_locate(st, 28.455478, 119.928065, code), 1);
    ck_assert_str_eq(code, "33110200100101");
    tu_rmrf(d);
    free(d);
}

START_TEST(refuses_an_unknown_grid_in_the_roster)
{
    expect_refused("roster.csv",
                   roster_with_line(5, "M00154,zhengtingwen0154,郑婷文,Zheng Tingwen,T00154,"
                                       "enforcement,33110200100199,professional"),
                   "line 5", "unknown grid code 33110200100199");
}
END_TEST

START_TEST(refuses_an_unknown_role)
{
    expect_refused("roster.csv",
                   roster_with_line(3, "M00152,maomingli0152,毛明丽,Mao Mingli,T00152,enforcement,"
                                       "33110200100101,boss"),
                   "line 3", "unknown role 'boss'");
}
END_TEST

START_TEST(refuses_two_leaders_in_one_grid)
{
    expect_refused("roster.csv",
                   roster_with_line(3, "M00152,maomingli0152,毛明丽,Mao Mingli,T00152,enforcement,"
                                       "33110200100101,leader"),
                   "line 3", "two leaders");
}
END_TEST

START_TEST(refuses_a_broken_csv)
{
    expect_refused("roster.csv",
                   roster_with_line(7, "M00157,\"unclosed,x,x,T1,,33110200100101,fulltime"),
                   "line 7", "not closed");
}
END_TEST

static char *geojson_with(void (*edit)(json_t *features))
{
    json_t *doc = load_geojson();
    edit(json_object_get(doc, "features"));
    char *text = json_dumps(doc, JSON_REAL_PRECISION(15));
    json_decref(doc);
    return text;
}

static json_t *props(json_t *features, size_t i)
{
    return json_object_get(json_array_get(features, i), "properties");
}

static void malformed_code(json_t *f) { json_object_set_new(props(f, 2), "code", json_string("3311020010010X")); }
static void wrong_county(json_t *f) { json_object_set_new(props(f, 2), "code", json_string("33110300100103")); }
static void office_outside(json_t *f)
{
    json_object_set(props(f, 4), "office", json_object_get(props(f, 5), "office"));
}
static void overlapping(json_t *f)
{
    /* Grid 3 takes grid 2's polygon and office: same area twice. */
    json_object_set(json_array_get(f, 2), "geometry", json_object_get(json_array_get(f, 1), "geometry"));
    json_object_set(props(f, 2), "office", json_object_get(props(f, 1), "office"));
}

START_TEST(refuses_a_malformed_code)
{
    expect_refused("grids.geojson", geojson_with(malformed_code), "feature 3", "3311020010010X");
}
END_TEST

START_TEST(refuses_a_code_outside_the_county)
{
    expect_refused("grids.geojson", geojson_with(wrong_county), "feature 3", "33110300100103");
}
END_TEST

START_TEST(refuses_an_office_outside_its_grid)
{
    expect_refused("grids.geojson", geojson_with(office_outside), "feature 5", "office");
}
END_TEST

START_TEST(refuses_overlapping_polygons)
{
    expect_refused("grids.geojson", geojson_with(overlapping), "feature 3", "overlaps grid 33110200100102");
}
END_TEST

START_TEST(refuses_a_place_without_its_parent)
{
    char *p = src("places.csv");
    char *text = tu_read_file(p);
    free(p);
    char *out = tu_sprintf("%s%s", text, "community,331102009001,331102009,无名社区,Nowhere\n");
    free(text);
    expect_refused("places.csv", out, "line 138", "parent '331102009'");
}
END_TEST

/* ---------------------------------------------------------------- staff */

START_TEST(gaps_are_empty_for_the_demo_roster_and_show_a_missing_leader)
{
    json_t *g = cg_grids_gaps(st, NULL, 0);
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(json_array_size(json_object_get(g, "items")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(g, "grids")), 273);
    json_decref(g);

    /* Committed (reads see the last commit), and put back at the end: the
     * suite's tests share the database file. */
    ck_assert_int_eq(sqlite3_exec(st->db, "CREATE TEMP TABLE gone AS SELECT * FROM assignments"
                                  " WHERE grid = '33110200100102' AND role IN ('leader', 'professional')"
                                  " AND coalesce(department, '') IN ('', 'police');"
                                  "DELETE FROM assignments WHERE rowid IN (SELECT a.rowid FROM"
                                  " assignments a JOIN gone g USING (member_id, grid, role))",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_changes(st->db), 2);
    g = cg_grids_gaps(st, NULL, 0);
    json_t *items = json_object_get(g, "items");
    ck_assert_int_eq(json_array_size(items), 1);
    json_t *gap = json_array_get(items, 0);
    ck_assert_str_eq(json_string_value(json_object_get(gap, "grid")), "33110200100102");
    json_t *missing = json_object_get(gap, "missing");
    ck_assert_int_eq(json_array_size(missing), 2);
    ck_assert_str_eq(json_string_value(json_array_get(missing, 0)), "leader");
    ck_assert_str_eq(json_string_value(json_array_get(missing, 1)), "professional:police");
    json_decref(g);
    /* Restricted to other grids: none. */
    const char *only[] = {"33110200100101"};
    g = cg_grids_gaps(st, only, 1);
    ck_assert_int_eq(json_array_size(json_object_get(g, "items")), 0);
    json_decref(g);
    ck_assert_int_eq(sqlite3_exec(st->db, "INSERT INTO assignments SELECT * FROM gone", NULL,
                                  NULL, NULL), SQLITE_OK);
}
END_TEST

START_TEST(some_members_serve_several_grids)
{
    long long shared = count("SELECT count(*) FROM (SELECT member_id FROM assignments"
                             " GROUP BY member_id HAVING count(DISTINCT grid) > 1)");
    ck_assert_int_gt(shared, 100);
    ck_assert_int_eq(count("SELECT count(*) FROM (SELECT grid FROM assignments WHERE role = 'leader'"
                           " GROUP BY grid HAVING count(*) > 1)"), 0);
}
END_TEST

START_TEST(a_grid_as_the_api_shows_it)
{
    json_t *g = cg_grids_get(st, "33110200100101");
    ck_assert_ptr_nonnull(g);
    ck_assert_str_eq(json_string_value(json_object_get(g, "type")), "community");
    json_t *h = json_object_get(g, "hierarchy");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(h, "subdistrict"), "name_zh")),
                     "岩泉街道");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(h, "district"), "code")), "liandu");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(h, "city"), "code")), "lishui");
    ck_assert(json_is_null(json_object_get(g, "external_id")));
    json_t *staff = json_object_get(g, "staff");
    ck_assert_int_ge(json_array_size(staff), 8);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(staff, 0), "role")), "leader");
    json_decref(g);
    ck_assert_ptr_null(cg_grids_get(st, "33110200100199"));

    cg_grid_filter f = {.type = "village", .limit = 50};
    json_t *page = cg_grids_list(st, &f);
    ck_assert_int_eq(json_array_size(json_object_get(page, "items")), 50);
    size_t total = 50;
    while (json_is_string(json_object_get(page, "next"))) {
        char cursor[32];
        snprintf(cursor, sizeof cursor, "%s", json_string_value(json_object_get(page, "next")));
        json_decref(page);
        f.cursor = cursor;
        page = cg_grids_list(st, &f);
        total += json_array_size(json_object_get(page, "items"));
        f.cursor = NULL; /* the buffer dies with this iteration */
        if (json_is_string(json_object_get(page, "next")))
            f.cursor = NULL;
    }
    json_decref(page);
    ck_assert_uint_eq(total, 93);
    cg_grid_filter sub = {.subdistrict = "331102006", .limit = 1000};
    page = cg_grids_list(st, &sub);
    ck_assert_int_eq(json_array_size(json_object_get(page, "items")), 66);
    json_decref(page);
}
END_TEST

START_TEST(dispatch_members_are_the_departments_people_in_the_grid)
{
    json_t *m = cg_grids_dispatch_members(st, "33110200100101", "market");
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(json_array_size(m), 1);
    json_t *one = json_array_get(m, 0);
    ck_assert_str_eq(json_string_value(json_object_get(one, "role")), "professional");
    ck_assert_int_eq(json_integer_value(json_object_get(one, "open_cases")), 0);
    json_decref(m);
    m = cg_grids_dispatch_members(st, "33110200100199", "market");
    ck_assert_int_eq(json_array_size(m), 0);
    json_decref(m);
}
END_TEST

START_TEST(export_writes_what_import_reads)
{
    char *d = tu_tempdir("grids-export");
    static const char *const names[] = {"places.csv", "grids.geojson", "roster.csv"};
    int (*fns[])(cg_store *, FILE *, char *, size_t) = {cg_dataset_export_places,
                                                       cg_dataset_export_grids,
                                                       cg_dataset_export_roster};
    char err[1024];
    for (int i = 0; i < 3; i++) {
        char *p = tu_sprintf("%s/%s", d, names[i]);
        FILE *f = fopen(p, "w");
        ck_assert_ptr_nonnull(f);
        ck_assert_msg(fns[i](st, f, err, sizeof err) == 0, "%s", err);
        fclose(f);
        free(p);
    }
    char *path = tu_sprintf("%s/copy.db", d);
    cg_store *s2 = NULL;
    ck_assert_int_eq(cg_store_open(path, &s2, err, sizeof err), 0);
    cg_import_report rep;
    ck_assert_msg(cg_dataset_import_dir(s2, d, &rep, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(rep.grids, 273);
    ck_assert_int_eq(rep.places, 136);
    ck_assert_int_eq(rep.assignments, 2290);
    char a[CG_GRID_CODE_SIZE];
    ck_assert_int_eq(cg_grids_locate(s2, 28.453448, 119.930268, a), 1);
    ck_assert_str_eq(a, "33110200100102");
    cg_grids_invalidate();
    cg_store_close(s2);
    tu_rmrf(d);
    free(d);
    free(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("grids");
    TCase *tc = tcase_create("import");
    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, fresh_import_has_the_plans_counts);
    tcase_add_test(tc, every_office_locates_to_its_own_grid);
    tcase_add_test(tc, borders_and_vertices_resolve_the_same_way_every_time);
    tcase_add_test(tc, a_point_far_away_is_in_no_grid);
    tcase_add_test(tc, refuses_an_unknown_grid_in_the_roster);
    tcase_add_test(tc, refuses_an_unknown_role);
    tcase_add_test(tc, refuses_two_leaders_in_one_grid);
    tcase_add_test(tc, refuses_a_broken_csv);
    tcase_add_test(tc, refuses_a_malformed_code);
    tcase_add_test(tc, refuses_a_code_outside_the_county);
    tcase_add_test(tc, refuses_an_office_outside_its_grid);
    tcase_add_test(tc, refuses_overlapping_polygons);
    tcase_add_test(tc, refuses_a_place_without_its_parent);
    tcase_add_test(tc, gaps_are_empty_for_the_demo_roster_and_show_a_missing_leader);
    tcase_add_test(tc, some_members_serve_several_grids);
    tcase_add_test(tc, a_grid_as_the_api_shows_it);
    tcase_add_test(tc, dispatch_members_are_the_departments_people_in_the_grid);
    tcase_add_test(tc, export_writes_what_import_reads);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
