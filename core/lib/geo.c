/*
 * geo.c — grid boundaries: GeoJSON parsing and validation, point in polygon,
 * overlap, haversine (see geo.h for the border rule and exactness).
 *
 * Overflow bound: coordinates are |x| <= 1.8e8, |y| <= 9e7 micro-degrees;
 * the overlap test doubles them (to hold segment midpoints exactly), so a
 * coordinate difference is < 2^30 and a cross product < 2^61: int64 is exact.
 */
#include "lib/geo.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- predicates */

static int sign64(int64_t v) { return (v > 0) - (v < 0); }

/* > 0 if c is left of the directed line a->b, < 0 right, 0 on it. */
static int orient(cg_geo_pt a, cg_geo_pt b, cg_geo_pt c)
{
    return sign64((b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x));
}

static int pt_eq(cg_geo_pt a, cg_geo_pt b) { return a.x == b.x && a.y == b.y; }

/* p on the closed segment a-b. */
static int on_segment(cg_geo_pt a, cg_geo_pt b, cg_geo_pt p)
{
    return orient(a, b, p) == 0 &&
           p.x >= (a.x < b.x ? a.x : b.x) && p.x <= (a.x < b.x ? b.x : a.x) &&
           p.y >= (a.y < b.y ? a.y : b.y) && p.y <= (a.y < b.y ? b.y : a.y);
}

/* The segments cross at one point interior to both. */
static int cross_properly(cg_geo_pt a, cg_geo_pt b, cg_geo_pt c, cg_geo_pt d)
{
    return orient(a, b, c) * orient(a, b, d) < 0 && orient(c, d, a) * orient(c, d, b) < 0;
}

/* The closed segments share at least one point. */
static int segments_meet(cg_geo_pt a, cg_geo_pt b, cg_geo_pt c, cg_geo_pt d)
{
    return cross_properly(a, b, c, d) || on_segment(a, b, c) || on_segment(a, b, d) ||
           on_segment(c, d, a) || on_segment(c, d, b);
}

static cg_geo_pt dbl(cg_geo_pt p) { return (cg_geo_pt){2 * p.x, 2 * p.y}; }

/* ---------------------------------------------------------------- point in polygon */

/* Parity of the edges of r crossed by the ray from p due east, under the
 * border rule: an edge counts if it spans p.y half-open (one end above p, the
 * other at or below) and p is strictly left of it. The edge is oriented
 * upward first, so the two polygons sharing an edge compute the same value. */
static int ring_parity(const cg_geo_ring *r, cg_geo_pt p, int scale2)
{
    int odd = 0;
    for (size_t i = 0; i + 1 < r->n; i++) {
        cg_geo_pt a = r->pts[i], b = r->pts[i + 1];
        if (scale2) {
            a = dbl(a);
            b = dbl(b);
        }
        if ((a.y > p.y) == (b.y > p.y))
            continue;
        cg_geo_pt lo = a.y < b.y ? a : b, hi = a.y < b.y ? b : a;
        if (orient(lo, hi, p) > 0)
            odd ^= 1;
    }
    return odd;
}

int cg_geo_polygon_contains_pt(const cg_geo_polygon *poly, cg_geo_pt p)
{
    int odd = 0;
    for (size_t k = 0; k < poly->n_rings; k++)
        odd ^= ring_parity(&poly->rings[k], p, 0);
    return odd;
}

int cg_geo_snap(double lon, double lat, cg_geo_pt *out)
{
    if (!isfinite(lon) || !isfinite(lat) || lon < -180.0 || lon > 180.0 || lat < -90.0 ||
        lat > 90.0)
        return -1;
    out->x = llround(lon * CG_GEO_E6);
    out->y = llround(lat * CG_GEO_E6);
    return 0;
}

int cg_geo_shape_contains_pt(const cg_geo_shape *s, cg_geo_pt p)
{
    for (size_t i = 0; i < s->n_polys; i++)
        if (cg_geo_polygon_contains_pt(&s->polys[i], p))
            return 1;
    return 0;
}

int cg_geo_shape_contains(const cg_geo_shape *s, double lon, double lat)
{
    cg_geo_pt p;
    /* The box test uses the snapped point too, so it agrees with the exact test. */
    if (cg_geo_snap(lon, lat, &p) != 0 ||
        !cg_geo_bbox_contains(&s->bbox, (double)p.x / CG_GEO_E6, (double)p.y / CG_GEO_E6))
        return 0;
    return cg_geo_shape_contains_pt(s, p);
}

/* ---------------------------------------------------------------- boxes */

int cg_geo_bbox_intersects(const cg_geo_bbox *a, const cg_geo_bbox *b)
{
    return a->min_lon <= b->max_lon && b->min_lon <= a->max_lon && a->min_lat <= b->max_lat &&
           b->min_lat <= a->max_lat;
}

int cg_geo_bbox_contains(const cg_geo_bbox *b, double lon, double lat)
{
    return lon >= b->min_lon && lon <= b->max_lon && lat >= b->min_lat && lat <= b->max_lat;
}

static cg_geo_bbox ring_bbox(const cg_geo_ring *r)
{
    int64_t x0 = r->pts[0].x, x1 = x0, y0 = r->pts[0].y, y1 = y0;
    for (size_t i = 1; i < r->n; i++) {
        x0 = r->pts[i].x < x0 ? r->pts[i].x : x0;
        x1 = r->pts[i].x > x1 ? r->pts[i].x : x1;
        y0 = r->pts[i].y < y0 ? r->pts[i].y : y0;
        y1 = r->pts[i].y > y1 ? r->pts[i].y : y1;
    }
    return (cg_geo_bbox){(double)x0 / CG_GEO_E6, (double)y0 / CG_GEO_E6, (double)x1 / CG_GEO_E6,
                         (double)y1 / CG_GEO_E6};
}

static void bbox_grow(cg_geo_bbox *into, const cg_geo_bbox *b, int first)
{
    if (first) {
        *into = *b;
        return;
    }
    into->min_lon = fmin(into->min_lon, b->min_lon);
    into->min_lat = fmin(into->min_lat, b->min_lat);
    into->max_lon = fmax(into->max_lon, b->max_lon);
    into->max_lat = fmax(into->max_lat, b->max_lat);
}

/* ---------------------------------------------------------------- overlap */

/* Twice the signed area of a closed ring, relative to its first point so the
 * terms stay small; long double only for the sum (each term is exact). */
static long double ring_area2(const cg_geo_ring *r)
{
    long double sum = 0;
    cg_geo_pt o = r->pts[0];
    for (size_t i = 1; i + 2 < r->n; i++) {
        cg_geo_pt a = r->pts[i], b = r->pts[i + 1];
        sum += (long double)((a.x - o.x) * (b.y - o.y) - (b.x - o.x) * (a.y - o.y));
    }
    return sum;
}

/* Is the polygon's interior left of the edges of ring k (as they are stored)? */
static int interior_left(const cg_geo_polygon *p, size_t k)
{
    return (k == 0) == (ring_area2(&p->rings[k]) > 0);
}

enum { OUTSIDE, BOUNDARY, INSIDE };

/* Where is q (doubled coordinates) relative to polygon p? If on the boundary,
 * (*ring, *edge) say which edge holds it. */
static int classify2(const cg_geo_polygon *p, cg_geo_pt q, size_t *ring, size_t *edge)
{
    for (size_t k = 0; k < p->n_rings; k++) {
        const cg_geo_ring *r = &p->rings[k];
        for (size_t i = 0; i + 1 < r->n; i++)
            if (on_segment(dbl(r->pts[i]), dbl(r->pts[i + 1]), q)) {
                *ring = k;
                *edge = i;
                return BOUNDARY;
            }
    }
    int odd = 0;
    for (size_t k = 0; k < p->n_rings; k++)
        odd ^= ring_parity(&p->rings[k], q, 1);
    return odd ? INSIDE : OUTSIDE;
}

typedef struct split_pt {
    int64_t key; /* position along the edge: dot(v - a, b - a) */
    cg_geo_pt p;
} split_pt;

static int by_key(const void *x, const void *y)
{
    int64_t a = ((const split_pt *)x)->key, b = ((const split_pt *)y)->key;
    return (a > b) - (a < b);
}

static size_t vertex_count(const cg_geo_polygon *p)
{
    size_t n = 0;
    for (size_t k = 0; k < p->n_rings; k++)
        n += p->rings[k].n;
    return n;
}

/* Assuming no two edges of a and b cross properly: is some piece of a's
 * boundary inside b, or shared with b with both interiors on the same side?
 * Each edge of a is cut at b's vertices lying on it; every piece then lies
 * wholly inside b, outside b, or along one edge of b, so its midpoint tells.
 * 1 yes, 0 no, -1 out of memory. */
static int boundary_enters(const cg_geo_polygon *a, const cg_geo_polygon *b)
{
    split_pt *cut = malloc((vertex_count(b) + 2) * sizeof *cut);
    if (!cut)
        return -1;
    int found = 0;
    for (size_t k = 0; k < a->n_rings && !found; k++) {
        const cg_geo_ring *r = &a->rings[k];
        int a_left = interior_left(a, k);
        for (size_t i = 0; i + 1 < r->n && !found; i++) {
            cg_geo_pt s = r->pts[i], e = r->pts[i + 1];
            cg_geo_pt dir = {e.x - s.x, e.y - s.y};
            size_t n = 0;
            cut[n++] = (split_pt){0, s};
            cut[n++] = (split_pt){dir.x * dir.x + dir.y * dir.y, e};
            for (size_t m = 0; m < b->n_rings; m++)
                for (size_t j = 0; j + 1 < b->rings[m].n; j++) {
                    cg_geo_pt v = b->rings[m].pts[j];
                    if (on_segment(s, e, v))
                        cut[n++] = (split_pt){(v.x - s.x) * dir.x + (v.y - s.y) * dir.y, v};
                }
            qsort(cut, n, sizeof *cut, by_key);
            for (size_t c = 0; c + 1 < n && !found; c++) {
                if (cut[c].key == cut[c + 1].key)
                    continue;
                cg_geo_pt mid = {cut[c].p.x + cut[c + 1].p.x, cut[c].p.y + cut[c + 1].p.y};
                size_t bk = 0, bj = 0;
                int where = classify2(b, mid, &bk, &bj);
                if (where == INSIDE) {
                    found = 1;
                } else if (where == BOUNDARY) {
                    const cg_geo_ring *br = &b->rings[bk];
                    cg_geo_pt f = {br->pts[bj + 1].x - br->pts[bj].x,
                                   br->pts[bj + 1].y - br->pts[bj].y};
                    int same_dir = f.x * dir.x + f.y * dir.y > 0;
                    int b_left = interior_left(b, bk) == same_dir;
                    found = a_left == b_left;
                }
            }
        }
    }
    free(cut);
    return found;
}

static int any_proper_crossing(const cg_geo_polygon *a, const cg_geo_polygon *b)
{
    for (size_t k = 0; k < a->n_rings; k++)
        for (size_t i = 0; i + 1 < a->rings[k].n; i++)
            for (size_t m = 0; m < b->n_rings; m++)
                for (size_t j = 0; j + 1 < b->rings[m].n; j++)
                    if (cross_properly(a->rings[k].pts[i], a->rings[k].pts[i + 1],
                                       b->rings[m].pts[j], b->rings[m].pts[j + 1]))
                        return 1;
    return 0;
}

int cg_geo_polygons_overlap(const cg_geo_polygon *a, const cg_geo_polygon *b)
{
    if (!cg_geo_bbox_intersects(&a->bbox, &b->bbox))
        return 0;
    if (any_proper_crossing(a, b))
        return 1;
    int r = boundary_enters(a, b);
    return r != 0 ? r : boundary_enters(b, a);
}

int cg_geo_shapes_overlap(const cg_geo_shape *a, const cg_geo_shape *b)
{
    if (!cg_geo_bbox_intersects(&a->bbox, &b->bbox))
        return 0;
    for (size_t i = 0; i < a->n_polys; i++)
        for (size_t j = 0; j < b->n_polys; j++) {
            int r = cg_geo_polygons_overlap(&a->polys[i], &b->polys[j]);
            if (r != 0)
                return r;
        }
    return 0;
}

/* ---------------------------------------------------------------- GeoJSON */

static int fail(char *err, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t len, const char *fmt, ...)
{
    if (err && len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, len, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static void polygon_free(cg_geo_polygon *p)
{
    for (size_t k = 0; k < p->n_rings; k++)
        free(p->rings[k].pts);
    free(p->rings);
    p->rings = NULL;
    p->n_rings = 0;
}

void cg_geo_shape_free(cg_geo_shape *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_polys; i++)
        polygon_free(&s->polys[i]);
    free(s->polys);
    memset(s, 0, sizeof *s);
}

/* "part 2, ring 1" (1-based; "part" only for a MultiPolygon). */
static void where(char *buf, size_t len, int multi, size_t part, size_t ring)
{
    if (multi)
        snprintf(buf, len, "part %zu, ring %zu", part + 1, ring + 1);
    else
        snprintf(buf, len, "ring %zu", ring + 1);
}

/* A ring is simple: no zero-length edge, adjacent edges do not fold back on
 * each other, other edges do not meet at all. */
static int ring_check_simple(const cg_geo_ring *r, const char *at, char *err, size_t errlen)
{
    size_t m = r->n - 1; /* edges */
    for (size_t i = 0; i < m; i++)
        if (pt_eq(r->pts[i], r->pts[i + 1]))
            return fail(err, errlen, "%s, position %zu: repeats the previous point", at, i + 2);
    for (size_t i = 0; i < m; i++)
        for (size_t j = i + 1; j < m; j++) {
            cg_geo_pt a = r->pts[i], b = r->pts[i + 1], c = r->pts[j], d = r->pts[j + 1];
            int bad;
            if (j == i + 1)          /* share b == c */
                bad = on_segment(a, b, d) || on_segment(c, d, a);
            else if (i == 0 && j == m - 1) /* share a == d */
                bad = on_segment(a, b, c) || on_segment(c, d, b);
            else
                bad = segments_meet(a, b, c, d);
            if (bad)
                return fail(err, errlen, "%s: edges %zu and %zu intersect (self-intersecting ring)",
                            at, i + 1, j + 1);
        }
    if (ring_area2(r) == 0)
        return fail(err, errlen, "%s: has zero area", at);
    return 0;
}

static int parse_ring(const json_t *jring, cg_geo_ring *out, const char *at, char *err,
                      size_t errlen)
{
    if (!json_is_array(jring))
        return fail(err, errlen, "%s: is not an array of positions", at);
    size_t n = json_array_size(jring);
    if (n < 4)
        return fail(err, errlen, "%s: has %zu positions, a closed ring needs at least 4", at, n);
    out->pts = calloc(n, sizeof *out->pts);
    if (!out->pts)
        return fail(err, errlen, "%s: out of memory", at);
    out->n = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *pos = json_array_get(jring, i);
        if (!json_is_array(pos) || json_array_size(pos) < 2 ||
            !json_is_number(json_array_get(pos, 0)) || !json_is_number(json_array_get(pos, 1)))
            return fail(err, errlen, "%s, position %zu: is not [longitude, latitude]", at, i + 1);
        double lon = json_number_value(json_array_get(pos, 0));
        double lat = json_number_value(json_array_get(pos, 1));
        if (cg_geo_snap(lon, lat, &out->pts[i]) != 0)
            return fail(err, errlen,
                        "%s, position %zu: [%g, %g] is not a valid longitude, latitude", at,
                        i + 1, lon, lat);
    }
    if (!pt_eq(out->pts[0], out->pts[n - 1]))
        return fail(err, errlen, "%s: is not closed (the last position must equal the first)", at);
    return ring_check_simple(out, at, err, errlen);
}

/* Holes: inside the exterior (no vertex strictly outside it), no edge of two
 * different rings crossing, holes not overlapping each other. */
static int check_holes(const cg_geo_polygon *p, int multi, size_t part, char *err, size_t errlen)
{
    char at[64];
    cg_geo_polygon ext = {.rings = p->rings, .n_rings = 1};
    for (size_t k = 1; k < p->n_rings; k++) {
        where(at, sizeof at, multi, part, k);
        const cg_geo_ring *h = &p->rings[k];
        for (size_t i = 0; i + 1 < h->n; i++) {
            size_t rk, re;
            if (classify2(&ext, dbl(h->pts[i]), &rk, &re) == OUTSIDE)
                return fail(err, errlen,
                            "%s (a hole), position %zu: lies outside the exterior ring", at, i + 1);
        }
        for (size_t m = 0; m < k; m++) {
            cg_geo_polygon hk = {.rings = &p->rings[k], .n_rings = 1, .bbox = ring_bbox(h)};
            cg_geo_polygon hm = {.rings = &p->rings[m], .n_rings = 1,
                                 .bbox = ring_bbox(&p->rings[m])};
            if (any_proper_crossing(&hk, &hm))
                return fail(err, errlen, "%s (a hole): crosses ring %zu", at, m + 1);
            if (m > 0 && cg_geo_polygons_overlap(&hk, &hm) != 0)
                return fail(err, errlen, "%s (a hole): overlaps hole ring %zu", at, m + 1);
        }
    }
    return 0;
}

static int parse_polygon(const json_t *coords, cg_geo_polygon *out, int multi, size_t part,
                         char *err, size_t errlen)
{
    char at[64];
    if (!json_is_array(coords) || json_array_size(coords) == 0) {
        if (multi)
            return fail(err, errlen, "part %zu: a polygon needs an array of rings", part + 1);
        return fail(err, errlen, "polygon: needs an array of rings");
    }
    size_t n = json_array_size(coords);
    out->rings = calloc(n, sizeof *out->rings);
    if (!out->rings)
        return fail(err, errlen, "out of memory");
    out->n_rings = n;
    for (size_t k = 0; k < n; k++) {
        where(at, sizeof at, multi, part, k);
        if (parse_ring(json_array_get(coords, k), &out->rings[k], at, err, errlen) != 0)
            return -1;
    }
    out->bbox = ring_bbox(&out->rings[0]);
    return check_holes(out, multi, part, err, errlen);
}

int cg_geo_shape_from_geojson(const json_t *geometry, cg_geo_shape *out, char *err,
                              size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(geometry))
        return fail(err, errlen, "geometry is not an object");
    const char *type = json_string_value(json_object_get(geometry, "type"));
    const json_t *coords = json_object_get(geometry, "coordinates");
    if (!type)
        return fail(err, errlen, "geometry has no \"type\"");
    int multi;
    if (strcmp(type, "Polygon") == 0)
        multi = 0;
    else if (strcmp(type, "MultiPolygon") == 0)
        multi = 1;
    else
        return fail(err, errlen, "geometry type \"%s\" is not Polygon or MultiPolygon", type);
    if (!json_is_array(coords) || json_array_size(coords) == 0)
        return fail(err, errlen, "geometry \"coordinates\" must be a non-empty array");

    size_t n = multi ? json_array_size(coords) : 1;
    out->polys = calloc(n, sizeof *out->polys);
    if (!out->polys)
        return fail(err, errlen, "out of memory");
    out->n_polys = n;
    out->multi = multi;
    for (size_t i = 0; i < n; i++) {
        const json_t *pc = multi ? json_array_get(coords, i) : coords;
        if (parse_polygon(pc, &out->polys[i], multi, i, err, errlen) != 0)
            goto bad;
        bbox_grow(&out->bbox, &out->polys[i].bbox, i == 0);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            int r = cg_geo_polygons_overlap(&out->polys[i], &out->polys[j]);
            if (r < 0)
                fail(err, errlen, "out of memory");
            if (r > 0)
                fail(err, errlen, "parts %zu and %zu overlap", i + 1, j + 1);
            if (r != 0)
                goto bad;
        }
    return 0;
bad:
    cg_geo_shape_free(out);
    return -1;
}

/* ---------------------------------------------------------------- distance */

double cg_geo_haversine_m(double lat1, double lon1, double lat2, double lon2)
{
    const double r = 6371008.8, rad = M_PI / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double h = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * r * asin(fmin(1.0, sqrt(h)));
}
