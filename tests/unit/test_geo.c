/* test_geo.c — grid geometry: point in polygon with the half-open border rule
 * (a point on a shared edge or vertex belongs to exactly one grid, always the
 * same one), multi-site grids and holes, the import overlap test, bounding
 * boxes, GeoJSON validation and the haversine distance. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/geo.h"
#include "support/run_suite.h"

/* For checks inside big loops: Check records every passing ck_assert (a
 * write to its pipe), which would make the loops slow. */
#define EXPECT(cond, ...)              \
    do {                               \
        if (!(cond))                   \
            ck_abort_msg(__VA_ARGS__); \
    } while (0)

/* A shape from GeoJSON text; the test fails if it does not parse. */
static cg_geo_shape shape(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    ck_assert_msg(j != NULL, "bad test JSON: %s", jerr.text);
    cg_geo_shape s;
    char err[256] = "";
    ck_assert_msg(cg_geo_shape_from_geojson(j, &s, err, sizeof err) == 0, "%s: %s", text, err);
    json_decref(j);
    return s;
}

/* An axis-parallel rectangle as a Polygon, counter-clockwise. */
static cg_geo_shape rect(double x0, double y0, double x1, double y1)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"type\":\"Polygon\",\"coordinates\":[[[%.6f,%.6f],[%.6f,%.6f],[%.6f,%.6f],"
             "[%.6f,%.6f],[%.6f,%.6f]]]}",
             x0, y0, x1, y0, x1, y1, x0, y1, x0, y0);
    return shape(buf);
}

/* How many of the shapes claim the point? */
static int claims(const cg_geo_shape *s, size_t n, double lon, double lat)
{
    int c = 0;
    for (size_t i = 0; i < n; i++)
        c += cg_geo_shape_contains(&s[i], lon, lat);
    return c;
}

static void free_all(cg_geo_shape *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cg_geo_shape_free(&s[i]);
}

START_TEST(inside_and_outside)
{
    cg_geo_shape s = rect(119.90, 28.44, 119.91, 28.45);
    ck_assert_int_eq(cg_geo_shape_contains(&s, 119.905, 28.445), 1);
    ck_assert_int_eq(cg_geo_shape_contains(&s, 119.915, 28.445), 0);
    ck_assert_int_eq(cg_geo_shape_contains(&s, 119.905, 28.455), 0);
    ck_assert_int_eq(cg_geo_shape_contains(&s, 119.899999, 28.445), 0);
    /* A concave polygon (an L): the notch is outside. */
    cg_geo_shape l = shape("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[2,0],[2,1],[1,1],"
                           "[1,2],[0,2],[0,0]]]}");
    ck_assert_int_eq(cg_geo_shape_contains(&l, 0.5, 1.5), 1);
    ck_assert_int_eq(cg_geo_shape_contains(&l, 1.5, 0.5), 1);
    ck_assert_int_eq(cg_geo_shape_contains(&l, 1.5, 1.5), 0);
    /* Nonsense points are in nothing. */
    ck_assert_int_eq(cg_geo_shape_contains(&s, NAN, 28.445), 0);
    ck_assert_int_eq(cg_geo_shape_contains(&s, 200.0, 28.445), 0);
    cg_geo_shape_free(&s);
    cg_geo_shape_free(&l);
}
END_TEST

START_TEST(rectangle_border_rule)
{
    /* West and south edges and the south-west corner are in; the rest out. */
    cg_geo_shape s = rect(1, 1, 2, 2);
    ck_assert_int_eq(cg_geo_shape_contains(&s, 1.0, 1.5), 1);
    ck_assert_int_eq(cg_geo_shape_contains(&s, 1.5, 1.0), 1);
    ck_assert_int_eq(cg_geo_shape_contains(&s, 1.0, 1.0), 1);
    ck_assert_int_eq(cg_geo_shape_contains(&s, 2.0, 1.5), 0);
    ck_assert_int_eq(cg_geo_shape_contains(&s, 1.5, 2.0), 0);
    ck_assert_int_eq(cg_geo_shape_contains(&s, 2.0, 1.0), 0);
    ck_assert_int_eq(cg_geo_shape_contains(&s, 1.0, 2.0), 0);
    ck_assert_int_eq(cg_geo_shape_contains(&s, 2.0, 2.0), 0);
    cg_geo_shape_free(&s);
}
END_TEST

START_TEST(shared_edge_claimed_once)
{
    /* West square counter-clockwise, east square clockwise and starting at
     * another vertex: the answer must not depend on how a ring is written. */
    cg_geo_shape sq[2];
    sq[0] = rect(119.90, 28.44, 119.91, 28.45);
    sq[1] = shape("{\"type\":\"Polygon\",\"coordinates\":[[[119.92,28.45],[119.92,28.44],"
                  "[119.91,28.44],[119.91,28.45],[119.92,28.45]]]}");
    /* The north end (28.45) is the outer boundary's north edge: no one's. */
    for (int k = 0; k < 10000; k++) {
        double lat = 28.44 + k * 1e-6;
        int c0 = cg_geo_shape_contains(&sq[0], 119.91, lat);
        int c1 = cg_geo_shape_contains(&sq[1], 119.91, lat);
        EXPECT(c0 + c1 == 1, "lat %.6f claimed by %d squares", lat, c0 + c1);
        EXPECT(c1 == 1, "lat %.6f: the east square must win", lat);
        EXPECT(cg_geo_shape_contains(&sq[1], 119.91, lat) == c1, "not the same every time");
    }
    ck_assert_int_eq(claims(sq, 2, 119.91, 28.45), 0);
    free_all(sq, 2);

    /* A sloped shared edge, from (1, 0) to (1.3, 1): the east side wins. */
    cg_geo_shape q[2];
    q[0] = shape("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1.3,1],[0,1],[0,0]]]}");
    q[1] = shape("{\"type\":\"Polygon\",\"coordinates\":[[[1,0],[2,0],[2,1],[1.3,1],[1,0]]]}");
    for (int k = 0; k < 100; k++) {
        double lat = k * 0.01, lon = 1.0 + 0.003 * k; /* exactly on the edge */
        ck_assert_msg(claims(q, 2, lon, lat) == 1, "(%.6f, %.6f)", lon, lat);
        ck_assert_int_eq(cg_geo_shape_contains(&q[1], lon, lat), 1);
        /* A micro-degree either side goes to that side. */
        ck_assert_int_eq(cg_geo_shape_contains(&q[0], lon - 1e-6, lat + (k ? 0 : 1e-6)), 1);
    }
    free_all(q, 2);
}
END_TEST

START_TEST(vertex_of_four_squares_claimed_once)
{
    cg_geo_shape sq[4] = {rect(0, 0, 1, 1), rect(1, 0, 2, 1), rect(0, 1, 1, 2), rect(1, 1, 2, 2)};
    for (int round = 0; round < 3; round++) {
        ck_assert_int_eq(claims(sq, 4, 1.0, 1.0), 1);
        ck_assert_int_eq(cg_geo_shape_contains(&sq[3], 1.0, 1.0), 1); /* the north-east one */
    }
    /* Every lattice point and every edge point of the 2 x 2 block that is not
     * on its outer boundary is claimed by exactly one square. */
    for (int i = 1; i < 2000; i++)
        for (int j = 1; j < 2000; j += (i % 100 == 0) ? 1 : 333) {
            double x = i * 1e-3, y = j * 1e-3;
            EXPECT(claims(sq, 4, x, y) == 1, "(%.3f, %.3f) claimed %d times", x, y,
                          claims(sq, 4, x, y));
        }
    free_all(sq, 4);
}
END_TEST

/* Irregular quadrilaterals from a jittered lattice (like the Lishui cells):
 * every vertex and every on-lattice point of a shared edge is claimed once. */
START_TEST(jittered_tiling_claims_every_border_point_once)
{
    enum { N = 4 };
    long vx[N + 1][N + 1], vy[N + 1][N + 1];
    unsigned seed = 7;
    for (int i = 0; i <= N; i++)
        for (int j = 0; j <= N; j++) {
            seed = seed * 1103515245u + 12345u;
            /* Jitter in steps of 100 micro-degrees, so that every edge has
             * lattice points strictly between its ends. */
            vx[i][j] = 119900000 + i * 4000 + ((long)(seed >> 16) % 9 - 4) * 100;
            seed = seed * 1103515245u + 12345u;
            vy[i][j] = 28440000 + j * 3600 + ((long)(seed >> 16) % 9 - 4) * 100;
        }
    cg_geo_shape cell[N * N];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            char buf[512];
            long xs[5] = {vx[i][j], vx[i + 1][j], vx[i + 1][j + 1], vx[i][j + 1], vx[i][j]};
            long ys[5] = {vy[i][j], vy[i + 1][j], vy[i + 1][j + 1], vy[i][j + 1], vy[i][j]};
            int len = snprintf(buf, sizeof buf, "{\"type\":\"Polygon\",\"coordinates\":[[");
            for (int k = 0; k < 5; k++)
                len += snprintf(buf + len, sizeof buf - len, "%s[%ld.%06ld,%ld.%06ld]",
                                k ? "," : "", xs[k] / 1000000, xs[k] % 1000000, ys[k] / 1000000,
                                ys[k] % 1000000);
            snprintf(buf + len, sizeof buf - len, "]]}");
            cell[i * N + j] = shape(buf);
        }
    /* Inner vertices. */
    for (int i = 1; i < N; i++)
        for (int j = 1; j < N; j++)
            ck_assert_int_eq(claims(cell, N * N, vx[i][j] / 1e6, vy[i][j] / 1e6), 1);
    /* Points of inner edges that lie exactly on the micro-degree lattice:
     * a = p + t (q - p) with t = k/g, g = gcd of the edge's steps. */
    int tested = 0;
    for (int i = 0; i <= N; i++)
        for (int j = 0; j <= N; j++)
            for (int dir = 0; dir < 2; dir++) {
                int i2 = i + (dir == 0), j2 = j + (dir == 1);
                if (i2 > N || j2 > N)
                    continue;
                int inner = dir == 0 ? (j > 0 && j < N) : (i > 0 && i < N);
                if (!inner)
                    continue;
                long dx = vx[i2][j2] - vx[i][j], dy = vy[i2][j2] - vy[i][j];
                long a = labs(dx), b = labs(dy);
                while (b) {
                    long t = a % b;
                    a = b;
                    b = t;
                }
                for (long k = 1; k < a; k++) {
                    double x = (vx[i][j] + dx / a * k) / 1e6, y = (vy[i][j] + dy / a * k) / 1e6;
                    EXPECT(claims(cell, N * N, x, y) == 1, "(%.6f, %.6f)", x, y);
                    tested++;
                }
            }
    /* And a dense sweep of the inner area. */
    for (long x = vx[1][1] + 600; x < vx[N - 1][1] - 600; x += 37)
        for (long y = vy[1][1] + 600; y < vy[1][N - 1] - 600; y += 41)
            EXPECT(claims(cell, N * N, x / 1e6, y / 1e6) == 1, "(%ld, %ld)", x, y);
    ck_assert_int_ge(tested, 24 * 99);
    free_all(cell, N * N);
}
END_TEST

START_TEST(multi_polygon_sites)
{
    cg_geo_shape v = shape("{\"type\":\"MultiPolygon\",\"coordinates\":["
                           "[[[0,0],[1,0],[1,1],[0,1],[0,0]]],"
                           "[[[3,0],[4,0],[4,1],[3,1],[3,0]]],"
                           "[[[0,3],[1,3],[0.5,4],[0,3]]]]}");
    ck_assert_int_eq(v.n_polys, 3);
    ck_assert_int_eq(v.multi, 1);
    ck_assert_int_eq(cg_geo_shape_contains(&v, 0.5, 0.5), 1);
    ck_assert_int_eq(cg_geo_shape_contains(&v, 3.5, 0.5), 1);
    ck_assert_int_eq(cg_geo_shape_contains(&v, 0.5, 3.5), 1);
    ck_assert_int_eq(cg_geo_shape_contains(&v, 2.0, 0.5), 0); /* between the sites */
    ck_assert_int_eq(cg_geo_shape_contains(&v, 0.9, 3.9), 0); /* in the box, not the triangle */
    cg_geo_pt p;
    ck_assert_int_eq(cg_geo_snap(3.5, 0.5, &p), 0);
    ck_assert_int_eq(cg_geo_polygon_contains_pt(&v.polys[0], p), 0);
    ck_assert_int_eq(cg_geo_polygon_contains_pt(&v.polys[1], p), 1);
    ck_assert(v.bbox.min_lon == 0 && v.bbox.min_lat == 0 && v.bbox.max_lon == 4 &&
              v.bbox.max_lat == 4);
    cg_geo_shape_free(&v);
}
END_TEST

START_TEST(polygon_with_hole)
{
    cg_geo_shape s[2];
    s[0] = shape("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[4,0],[4,4],[0,4],[0,0]],"
                 "[[1,1],[1,3],[3,3],[3,1],[1,1]]]}");
    s[1] = rect(1, 1, 3, 3); /* an island grid filling the hole */
    ck_assert_int_eq(cg_geo_shape_contains(&s[0], 0.5, 0.5), 1);
    ck_assert_int_eq(cg_geo_shape_contains(&s[0], 2.0, 2.0), 0);
    ck_assert_int_eq(cg_geo_shape_contains(&s[0], 3.5, 2.0), 1);
    /* The hole's west edge is the ring's east side: out; its east edge: in. */
    ck_assert_int_eq(cg_geo_shape_contains(&s[0], 1.0, 2.0), 0);
    ck_assert_int_eq(cg_geo_shape_contains(&s[0], 3.0, 2.0), 1);
    for (int k = 0; k <= 200; k++) {
        double t = 1.0 + k * 0.01;
        ck_assert_int_eq(claims(s, 2, 1.0, t), 1);
        ck_assert_int_eq(claims(s, 2, 3.0, t), 1);
        ck_assert_int_eq(claims(s, 2, t, 1.0), 1);
        ck_assert_int_eq(claims(s, 2, t, 3.0), 1);
    }
    ck_assert_int_eq(cg_geo_shapes_overlap(&s[0], &s[1]), 0);
    cg_geo_shape part = rect(2, 2, 3.5, 3.5); /* half in the hole, half on the ring */
    ck_assert_int_eq(cg_geo_shapes_overlap(&s[0], &part), 1);
    cg_geo_shape_free(&part);
    free_all(s, 2);
}
END_TEST

static int overlap_both_ways(const cg_geo_shape *a, const cg_geo_shape *b)
{
    int ab = cg_geo_shapes_overlap(a, b), ba = cg_geo_shapes_overlap(b, a);
    ck_assert_int_eq(ab, ba);
    return ab;
}

START_TEST(overlap_cases)
{
    cg_geo_shape a = rect(0, 0, 2, 2);
    struct {
        cg_geo_shape s;
        int want;
        const char *what;
    } c[] = {
        {rect(1, 1, 3, 3), 1, "overlapping corner"},
        {rect(2, 0, 4, 2), 0, "touching edge"},
        {rect(2, 0.5, 3, 1.5), 0, "touching part of an edge"},
        {rect(2, 2, 3, 3), 0, "touching corner"},
        {rect(0.5, 0.5, 1.5, 1.5), 1, "contained"},
        {rect(-1, -1, 3, 3), 1, "containing"},
        {rect(0, 0, 1, 1), 1, "contained, sharing two edges"},
        {rect(0, 0, 2, 2), 1, "identical"},
        {rect(5, 5, 6, 6), 0, "disjoint"},
        {rect(2.5, 0, 3, 2), 0, "disjoint, boxes apart"},
        {rect(-1, 0.5, 3, 1.5), 1, "crossing like a plus"},
        {rect(1, -1, 3, 1), 1, "overlapping edge-on"},
        {shape("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[2,0],[0,2],[0,0]]]}"), 1,
         "a triangle on the diagonal, vertices on the boundary"},
        {shape("{\"type\":\"Polygon\",\"coordinates\":[[[2,0],[3,1],[2,2],[2,0]]]}"), 0,
         "a triangle on the east edge, outside"},
        {shape("{\"type\":\"Polygon\",\"coordinates\":[[[2,0],[2,2],[1,1],[2,0]]]}"), 1,
         "a triangle on the east edge, inside"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        ck_assert_msg(overlap_both_ways(&a, &c[i].s) == c[i].want, "%s: expected %d", c[i].what,
                      c[i].want);
        cg_geo_shape_free(&c[i].s);
    }
    /* Multi-site shapes overlap if any pair of sites does. */
    cg_geo_shape m = shape("{\"type\":\"MultiPolygon\",\"coordinates\":["
                           "[[[5,5],[6,5],[6,6],[5,6],[5,5]]],[[[1,1],[3,1],[3,3],[1,3],[1,1]]]]}");
    ck_assert_int_eq(overlap_both_ways(&a, &m), 1);
    cg_geo_shape_free(&m);
    cg_geo_shape_free(&a);
}
END_TEST

START_TEST(bounding_boxes)
{
    cg_geo_shape s = shape("{\"type\":\"Polygon\",\"coordinates\":[[[119.9,28.4],[119.95,28.41],"
                           "[119.93,28.47],[119.9,28.4]]]}");
    ck_assert(fabs(s.bbox.min_lon - 119.9) < 1e-9 && fabs(s.bbox.max_lon - 119.95) < 1e-9);
    ck_assert(fabs(s.bbox.min_lat - 28.4) < 1e-9 && fabs(s.bbox.max_lat - 28.47) < 1e-9);
    cg_geo_bbox touching = {119.95, 28.47, 120.0, 28.5}, apart = {119.96, 28.3, 120.0, 28.5};
    ck_assert_int_eq(cg_geo_bbox_intersects(&s.bbox, &touching), 1);
    ck_assert_int_eq(cg_geo_bbox_intersects(&s.bbox, &apart), 0);
    ck_assert_int_eq(cg_geo_bbox_contains(&s.bbox, 119.91, 28.46), 1);
    ck_assert_int_eq(cg_geo_bbox_contains(&s.bbox, 119.91, 28.48), 0);
    cg_geo_shape_free(&s);
}
END_TEST

START_TEST(refuses_bad_geometry_with_a_reason)
{
    static const struct {
        const char *json, *needle;
    } bad[] = {
        {"{\"type\":\"Point\",\"coordinates\":[1,2]}", "not Polygon or MultiPolygon"},
        {"{\"coordinates\":[]}", "no \"type\""},
        {"{\"type\":\"Polygon\"}", "non-empty array"},
        {"{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,1],[0,1]]]}", "not closed"},
        {"{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[0,0]]]}", "at least 4"},
        {"{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,\"a\"],[0,0]]]}", "position 3"},
        {"{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[181,0],[1,1],[0,0]]]}",
         "not a valid longitude"},
        {"{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]}",
         "self-intersecting"},
        {"{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[2,0],[0,0]]]}", "self-intersecting"},
        {"{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,0],[1,1],[0,0]]]}",
         "repeats the previous point"},
        {"{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[4,0],[4,4],[0,4],[0,0]],"
         "[[5,5],[6,5],[6,6],[5,5]]]}",
         "outside the exterior"},
        {"{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[4,0],[4,4],[0,4],[0,0]],"
         "[[1,1],[5,1],[5,2],[1,1]]]}",
         "ring 2"},
        {"{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[4,0],[4,4],[0,4],[0,0]],"
         "[[1,1],[2,1],[2,2],[1,2],[1,1]],[[1.2,1.2],[1.8,1.2],[1.8,1.8],[1.2,1.2]]]}",
         "overlaps hole"},
        {"{\"type\":\"MultiPolygon\",\"coordinates\":[[[[0,0],[2,0],[2,2],[0,2],[0,0]]],"
         "[[[1,1],[3,1],[3,3],[1,3],[1,1]]]]}",
         "parts 1 and 2 overlap"},
        {"{\"type\":\"MultiPolygon\",\"coordinates\":[[[[0,0],[2,0],[2,2],[0,2],[0,0]]],"
         "[[[5,5],[6,5],[6,6],[5,5]]],[[[0,0],[1,0]]]]}",
         "part 3, ring 1"},
        {"{\"type\":\"MultiPolygon\",\"coordinates\":[[[[0,0],[2,0],[2,2],[0,2],[0,0]]], 7]}",
         "part 2"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = json_loads(bad[i].json, 0, NULL);
        ck_assert_ptr_nonnull(j);
        cg_geo_shape s;
        char err[256] = "";
        ck_assert_msg(cg_geo_shape_from_geojson(j, &s, err, sizeof err) == -1, "accepted %s",
                      bad[i].json);
        ck_assert_msg(strstr(err, bad[i].needle) != NULL, "error for %s is '%s'", bad[i].json, err);
        ck_assert_ptr_null(s.polys);
        ck_assert_int_eq(s.n_polys, 0);
        json_decref(j);
    }
    /* Clockwise rings and a third (altitude) number are accepted. */
    cg_geo_shape s = shape("{\"type\":\"Polygon\",\"coordinates\":[[[0,0,5],[0,1,5],[1,1,5],"
                           "[1,0,5],[0,0,5]]]}");
    ck_assert_int_eq(cg_geo_shape_contains(&s, 0.5, 0.5), 1);
    cg_geo_shape_free(&s);
}
END_TEST

START_TEST(haversine_known_distances)
{
    /* Big Ben to the Statue of Liberty: 5574.8 km on a 6371 km sphere. */
    double d = cg_geo_haversine_m(51.5007, 0.1246, 40.6892, 74.0445);
    ck_assert_msg(fabs(d - 5574.8e3) < 1e3, "got %.1f m", d);
    /* One degree of latitude on the mean sphere: 111 195.08 m. */
    d = cg_geo_haversine_m(28.0, 119.92, 29.0, 119.92);
    ck_assert_msg(fabs(d - 111195.08) < 0.5, "got %.2f m", d);
    ck_assert(cg_geo_haversine_m(28.45, 119.92, 28.45, 119.92) == 0.0);
    /* Antipodes: half the circumference, no NaN from rounding. */
    d = cg_geo_haversine_m(0, 0, 0, 180);
    ck_assert_msg(fabs(d - M_PI * 6371008.8) < 1.0, "got %.1f m", d);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("geo");
    TCase *tc = tcase_create("geometry");
    tcase_add_test(tc, inside_and_outside);
    tcase_add_test(tc, rectangle_border_rule);
    tcase_add_test(tc, shared_edge_claimed_once);
    tcase_add_test(tc, vertex_of_four_squares_claimed_once);
    tcase_add_test(tc, jittered_tiling_claims_every_border_point_once);
    tcase_add_test(tc, multi_polygon_sites);
    tcase_add_test(tc, polygon_with_hole);
    tcase_add_test(tc, overlap_cases);
    tcase_add_test(tc, bounding_boxes);
    tcase_add_test(tc, refuses_bad_geometry_with_a_reason);
    tcase_add_test(tc, haversine_known_distances);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
