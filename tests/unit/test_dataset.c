/* test_dataset.c — the shipped Lishui dataset (contrib/lishui) matches the
 * plan: 273 grids (180 community, 93 village) with valid unique codes under
 * 331102, the per-zone counts, offices inside their own grid only, no two
 * grids overlapping, 1-3 sites per village grid; and a roster that fills
 * 1+1+1+5 in every grid with some members serving several grids. */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/geo.h"
#include "lib/gridcode.h"
#include "support/testutil.h"
#include "support/run_suite.h"

static const char *const liandu[] = {"331102", NULL};

/* For checks inside big loops: Check records every passing ck_assert (a
 * write to its pipe), which would make the loops slow. */
#define EXPECT(cond, ...)                  \
    do {                                   \
        if (!(cond))                       \
            ck_abort_msg(__VA_ARGS__);     \
    } while (0)

typedef struct grid {
    const char *code, *type, *district, *subdistrict, *community;
    cg_geo_shape shape;
    double lon, lat; /* office */
} grid;

static json_t *doc;
static grid *grids;
static size_t n_grids;

static int by_code(const void *a, const void *b)
{
    return strcmp(((const grid *)a)->code, ((const grid *)b)->code);
}

static grid *find_grid(const char *code)
{
    grid key = {.code = code};
    return bsearch(&key, grids, n_grids, sizeof *grids, by_code);
}

static const char *prop_str(json_t *props, const char *key, size_t feature)
{
    const char *v = json_string_value(json_object_get(props, key));
    EXPECT(v && *v, "feature %zu: property \"%s\" is not a non-empty string", feature, key);
    return v;
}

static void load(void)
{
    char *path = tu_src_path("contrib/lishui/grids.geojson");
    json_error_t jerr;
    doc = json_load_file(path, 0, &jerr);
    EXPECT(doc != NULL, "%s:%d: %s", path, jerr.line, jerr.text);
    free(path);
    ck_assert_str_eq(json_string_value(json_object_get(doc, "type")), "FeatureCollection");
    json_t *features = json_object_get(doc, "features");
    n_grids = json_array_size(features);
    grids = calloc(n_grids ? n_grids : 1, sizeof *grids);
    for (size_t i = 0; i < n_grids; i++) {
        json_t *f = json_array_get(features, i);
        json_t *props = json_object_get(f, "properties");
        grid *g = &grids[i];
        g->code = prop_str(props, "code", i + 1);
        g->type = prop_str(props, "type", i + 1);
        g->district = prop_str(props, "district", i + 1);
        g->subdistrict = prop_str(props, "subdistrict", i + 1);
        g->community = prop_str(props, "community", i + 1);
        prop_str(props, "name", i + 1);
        json_t *ext = json_object_get(props, "external_id");
        EXPECT(ext && (json_is_null(ext) || json_is_string(ext)),
                      "feature %zu: external_id must be null or a string", i + 1);
        json_t *office = json_object_get(props, "office");
        EXPECT(json_array_size(office) == 2, "feature %zu: office is not [lon, lat]", i + 1);
        g->lon = json_number_value(json_array_get(office, 0));
        g->lat = json_number_value(json_array_get(office, 1));
        char err[256] = "";
        EXPECT(cg_geo_shape_from_geojson(json_object_get(f, "geometry"), &g->shape, err,
                                                sizeof err) == 0,
                      "feature %zu (%s): %s", i + 1, g->code, err);
    }
    qsort(grids, n_grids, sizeof *grids, by_code);
}

static void unload(void)
{
    for (size_t i = 0; i < n_grids; i++)
        cg_geo_shape_free(&grids[i].shape);
    free(grids);
    grids = NULL;
    n_grids = 0;
    json_decref(doc);
    doc = NULL;
}

START_TEST(counts_match_the_plan)
{
    ck_assert_int_eq(n_grids, 273);
    size_t community = 0, village = 0, in[2][2] = {{0}}; /* [zone][village?] */
    for (size_t i = 0; i < n_grids; i++) {
        grid *g = &grids[i];
        int is_village = strcmp(g->type, "village") == 0;
        EXPECT(is_village || strcmp(g->type, "community") == 0, "%s: type %s", g->code,
                      g->type);
        if (is_village)
            village++;
        else
            community++;
        int zone = strcmp(g->district, "devzone") == 0;
        EXPECT(zone || strcmp(g->district, "liandu") == 0, "%s: district %s", g->code,
                      g->district);
        in[zone][is_village]++;
    }
    ck_assert_int_eq(community, 180);
    ck_assert_int_eq(village, 93);
    ck_assert_int_eq(in[0][0], 141); /* Liandu community grids */
    ck_assert_int_eq(in[0][1], 66);  /* Liandu village grids */
    ck_assert_int_eq(in[1][0], 39);  /* Development Zone community grids */
    ck_assert_int_eq(in[1][1], 27);  /* Development Zone village grids */

    /* Distinct communities, villages and subdistricts per zone; one grid per village. */
    size_t comm[2] = {0}, vil[2] = {0}, sub[2] = {0};
    for (size_t i = 0; i < n_grids; i++) {
        grid *g = &grids[i];
        int zone = strcmp(g->district, "devzone") == 0;
        int first_of_comm = i == 0 || strcmp(grids[i - 1].community, g->community) != 0;
        int first_of_sub = i == 0 || strcmp(grids[i - 1].subdistrict, g->subdistrict) != 0;
        if (strcmp(g->type, "village") == 0) {
            EXPECT(first_of_comm, "village %s has more than one grid", g->community);
            vil[zone]++;
        } else if (first_of_comm) {
            comm[zone]++;
        }
        sub[zone] += first_of_sub;
    }
    ck_assert_int_eq(comm[0], 30);
    ck_assert_int_eq(vil[0], 66);
    ck_assert_int_eq(sub[0], 5);
    ck_assert_int_eq(comm[1], 4);
    ck_assert_int_eq(vil[1], 27);
    ck_assert_int_eq(sub[1], 1);
}
END_TEST

START_TEST(codes_are_valid_unique_and_consistent)
{
    for (size_t i = 0; i < n_grids; i++) {
        grid *g = &grids[i];
        char reason[160] = "";
        EXPECT(cg_gridcode_validate(g->code, liandu, reason, sizeof reason) == 0, "%s",
                      reason);
        if (i > 0)
            EXPECT(strcmp(grids[i - 1].code, g->code) != 0, "duplicate code %s", g->code);
        cg_gridcode_parts p;
        EXPECT(cg_gridcode_split(g->code, &p) == 0, "%s does not split", g->code);
        EXPECT(strcmp(p.subdistrict_code, g->subdistrict) == 0, "%s: subdistrict %s", g->code,
               g->subdistrict);
        EXPECT(strcmp(p.community_code, g->community) == 0, "%s: community %s", g->code,
               g->community);
        EXPECT(strcmp(g->type, "village") != 0 || p.grid_no == 1, "%s: village grid number",
               g->code);
    }
}
END_TEST

/* Every community, village and subdistrict the grids name is in places.csv. */
START_TEST(places_name_every_unit)
{
    char *path = tu_src_path("contrib/lishui/places.csv");
    char *text = tu_read_file(path);
    EXPECT(text != NULL, "cannot read %s", path);
    ck_assert(strncmp(text, "level,code,parent,name_zh,name_en\n", 34) == 0);
    for (size_t i = 0; i < n_grids; i++) {
        grid *g = &grids[i];
        const char *level = strcmp(g->type, "village") == 0 ? "village" : "community";
        char *row = tu_sprintf("\n%s,%s,%s,", level, g->community, g->subdistrict);
        EXPECT(strstr(text, row) != NULL, "places.csv lacks %s", row + 1);
        free(row);
        row = tu_sprintf("\nsubdistrict,%s,%s,", g->subdistrict, g->district);
        EXPECT(strstr(text, row) != NULL, "places.csv lacks %s", row + 1);
        free(row);
    }
    free(text);
    free(path);
}
END_TEST

START_TEST(geometry_has_the_right_shape)
{
    size_t sites[4] = {0};
    for (size_t i = 0; i < n_grids; i++) {
        grid *g = &grids[i];
        if (strcmp(g->type, "village") == 0) {
            EXPECT(g->shape.multi, "%s: a village grid is a MultiPolygon", g->code);
            EXPECT(g->shape.n_polys >= 1 && g->shape.n_polys <= 3, "%s has %zu sites",
                          g->code, g->shape.n_polys);
            sites[g->shape.n_polys]++;
        } else {
            EXPECT(!g->shape.multi && g->shape.n_polys == 1, "%s: one Polygon", g->code);
        }
        /* Exterior rings counter-clockwise (RFC 7946), no holes in this dataset. */
        for (size_t k = 0; k < g->shape.n_polys; k++) {
            const cg_geo_ring *r = &g->shape.polys[k].rings[0];
            EXPECT(g->shape.polys[k].n_rings == 1, "%s has holes", g->code);
            long double a2 = 0;
            for (size_t j = 0; j + 1 < r->n; j++)
                a2 += (long double)r->pts[j].x * r->pts[j + 1].y -
                      (long double)r->pts[j + 1].x * r->pts[j].y;
            EXPECT(a2 > 0, "%s part %zu is clockwise", g->code, k + 1);
        }
    }
    /* Multi-site villages really occur. */
    ck_assert_int_gt(sites[1], 0);
    ck_assert_int_gt(sites[2], 0);
    ck_assert_int_gt(sites[3], 0);
}
END_TEST

START_TEST(offices_locate_to_their_own_grid_only)
{
    for (size_t i = 0; i < n_grids; i++) {
        grid *g = &grids[i];
        cg_geo_pt p;
        EXPECT(cg_geo_snap(g->lon, g->lat, &p) == 0, "%s: office out of range", g->code);
        EXPECT(cg_geo_polygon_contains_pt(&g->shape.polys[0], p),
                      "%s: office [%.6f, %.6f] is not inside its (first) polygon", g->code, g->lon,
                      g->lat);
        for (size_t j = 0; j < n_grids; j++)
            if (j != i && cg_geo_bbox_contains(&grids[j].shape.bbox, g->lon, g->lat))
                EXPECT(!cg_geo_shape_contains(&grids[j].shape, g->lon, g->lat),
                              "office of %s is also in %s", g->code, grids[j].code);
    }
}
END_TEST

START_TEST(no_two_grids_overlap)
{
    size_t candidates = 0, shared_vertex_pairs = 0;
    for (size_t i = 0; i < n_grids; i++)
        for (size_t j = i + 1; j < n_grids; j++) {
            if (!cg_geo_bbox_intersects(&grids[i].shape.bbox, &grids[j].shape.bbox))
                continue;
            candidates++;
            EXPECT(cg_geo_shapes_overlap(&grids[i].shape, &grids[j].shape) == 0,
                          "%s and %s overlap", grids[i].code, grids[j].code);
            /* Neighbours share vertices exactly (a tiling, not near-misses). */
            const cg_geo_ring *a = &grids[i].shape.polys[0].rings[0];
            const cg_geo_ring *b = &grids[j].shape.polys[0].rings[0];
            int shared = 0;
            for (size_t x = 0; x + 1 < a->n; x++)
                for (size_t y = 0; y + 1 < b->n; y++)
                    shared += a->pts[x].x == b->pts[y].x && a->pts[x].y == b->pts[y].y;
            shared_vertex_pairs += shared >= 2;
        }
    /* The bbox pre-filter leaves the real neighbours: the test is not empty.
     * A 12 x 15 tiling has 12*14 + 11*15 = 333 shared edges. */
    ck_assert_int_ge(candidates, 333);
    ck_assert_int_eq(shared_vertex_pairs, 333);
}
END_TEST

/* ---------------------------------------------------------------- roster */

enum { C_ID, C_LOGIN, C_NAME, C_DEPT, C_GRID, C_ROLE, N_COLS };
static const char *const col_names[N_COLS] = {"member_id", "login", "name", "department",
                                               "grid", "role"};

/* Split a line at commas in place (the shipped roster needs no quoting). */
static size_t split(char *line, char **fields, size_t max)
{
    size_t n = 0;
    fields[n++] = line;
    for (char *c = line; *c && n < max; c++)
        if (*c == ',') {
            *c = '\0';
            fields[n++] = c + 1;
        }
    return n;
}

static int dept_index(const char *d)
{
    static const char *const five[] = {"enforcement", "municipal", "sanitation", "market",
                                       "police"};
    for (int i = 0; i < 5; i++)
        if (strcmp(d, five[i]) == 0)
            return i;
    return -1;
}

typedef struct member {
    char *id, *login, *name, *dept;
    int n_grids;
    char *last_grid;
} member;

static int member_cmp(const void *a, const void *b)
{
    return strcmp(((const member *)a)->id, ((const member *)b)->id);
}

static int login_cmp(const void *a, const void *b)
{
    return strcmp(((const member *)a)->login, ((const member *)b)->login);
}

START_TEST(roster_fills_every_mandatory_role)
{
    char *path = tu_src_path("contrib/lishui/roster.csv");
    char *text = tu_read_file(path);
    EXPECT(text != NULL, "cannot read %s", path);
    EXPECT(strchr(text, '"') == NULL, "roster.csv uses quoting");

    /* Header: find our columns by name. */
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    char *f[16];
    size_t nf = split(line, f, 16);
    int col[N_COLS];
    for (int c = 0; c < N_COLS; c++) {
        col[c] = -1;
        for (size_t k = 0; k < nf; k++)
            if (strcmp(f[k], col_names[c]) == 0)
                col[c] = (int)k;
        EXPECT(col[c] >= 0, "roster.csv has no column %s", col_names[c]);
    }

    /* counts[grid][0..4 = the five departments, 5 leader, 6 instructor, 7 fulltime] */
    int (*counts)[8] = calloc(n_grids, sizeof *counts);
    member *members = NULL;
    size_t n_members = 0, cap = 0, rows = 0, optional_rows = 0;
    for (line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        rows++;
        EXPECT(split(line, f, 16) == nf, "roster line %zu: wrong number of fields", rows + 1);
        const char *id = f[col[C_ID]], *g = f[col[C_GRID]], *role = f[col[C_ROLE]];
        const char *dept = f[col[C_DEPT]];
        grid *gr = find_grid(g);
        EXPECT(gr != NULL, "roster line %zu: unknown grid %s", rows + 1, g);
        EXPECT(*id && *f[col[C_LOGIN]] && (unsigned char)f[col[C_NAME]][0] >= 0xE4,
                      "roster line %zu: id, login and a Chinese name are required", rows + 1);
        int *c = counts[gr - grids];
        if (strcmp(role, "leader") == 0)
            c[5]++;
        else if (strcmp(role, "instructor") == 0)
            c[6]++;
        else if (strcmp(role, "fulltime") == 0)
            c[7]++;
        else if (strcmp(role, "professional") == 0) {
            int d = dept_index(dept);
            EXPECT(d >= 0, "roster line %zu: professional of department '%s'", rows + 1,
                          dept);
            c[d]++;
        } else {
            EXPECT(strcmp(role, "optional") == 0, "roster line %zu: role '%s'", rows + 1,
                          role);
            EXPECT(dept_index(dept) < 0 && *dept, "roster line %zu: optional member of '%s'",
                          rows + 1, dept);
            optional_rows++;
        }
        /* One person, one name, one login, one department, however many rows. */
        member *m = NULL;
        for (size_t k = n_members; k-- > 0 && !m;)
            if (strcmp(members[k].id, id) == 0)
                m = &members[k];
        if (!m) {
            if (n_members == cap) {
                cap = cap ? cap * 2 : 256;
                members = realloc(members, cap * sizeof *members);
            }
            m = &members[n_members++];
            *m = (member){f[col[C_ID]], f[col[C_LOGIN]], f[col[C_NAME]], f[col[C_DEPT]], 0, NULL};
        } else {
            EXPECT(strcmp(m->login, f[col[C_LOGIN]]) == 0 && strcmp(m->name, f[col[C_NAME]]) == 0 &&
                       strcmp(m->dept, dept) == 0,
                   "roster line %zu: member %s differs from its earlier rows", rows + 1, id);
        }
        if (!m->last_grid || strcmp(m->last_grid, g) != 0)
            m->n_grids++;
        m->last_grid = f[col[C_GRID]];
    }
    for (size_t i = 0; i < n_grids; i++)
        for (int k = 0; k < 8; k++)
            EXPECT(counts[i][k] == 1, "grid %s has %d of mandatory slot %d (0-4 the five "
                          "departments, 5 leader, 6 instructor, 7 fulltime)",
                          grids[i].code, counts[i][k], k);

    /* Some members serve several (2-3) grids; logins are unique per person. */
    size_t multi = 0;
    for (size_t k = 0; k < n_members; k++) {
        EXPECT(members[k].n_grids <= 3, "%s serves %d grids", members[k].id, members[k].n_grids);
        multi += members[k].n_grids > 1;
    }
    ck_assert_int_gt(multi, 10);
    ck_assert_int_gt(optional_rows, 0);
    qsort(members, n_members, sizeof *members, member_cmp);
    for (size_t k = 1; k < n_members; k++)
        EXPECT(strcmp(members[k - 1].id, members[k].id) != 0, "member %s listed apart",
                      members[k].id);
    qsort(members, n_members, sizeof *members, login_cmp);
    for (size_t k = 1; k < n_members; k++)
        EXPECT(strcmp(members[k - 1].login, members[k].login) != 0, "login %s twice",
               members[k].login);
    fprintf(stderr, "roster: %zu rows, %zu members, %zu serve several grids, %zu optional rows\n",
            rows, n_members, multi, optional_rows);
    free(members);
    free(counts);
    free(text);
    free(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dataset");
    TCase *tc = tcase_create("lishui");
    tcase_add_checked_fixture(tc, load, unload);
    tcase_add_test(tc, counts_match_the_plan);
    tcase_add_test(tc, codes_are_valid_unique_and_consistent);
    tcase_add_test(tc, places_name_every_unit);
    tcase_add_test(tc, geometry_has_the_right_shape);
    tcase_add_test(tc, offices_locate_to_their_own_grid_only);
    tcase_add_test(tc, no_two_grids_overlap);
    tcase_add_test(tc, roster_fills_every_mandatory_role);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
