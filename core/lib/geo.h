/*
 * geo.h — the plane geometry of grid boundaries: GeoJSON (Multi)Polygons,
 * point-in-polygon with a deterministic border rule, bounding boxes, the
 * overlap test used to validate an import, and a haversine distance.
 *
 * Exactness. Coordinates are snapped to micro-degrees (1e-6 degree, about
 * 0.1 m; GeoJSON files with six decimals are represented exactly) and every
 * predicate is then evaluated in 64-bit integer arithmetic. Lon/lat are
 * treated as plane x/y, which is fine at the size of a city.
 *
 * The border rule (half-open, like [x0, x1) x [y0, y1)): a point is tested as
 * if moved an infinitesimal step east and an even smaller step north. So a
 * point on an edge belongs to the polygon east of it (for a horizontal edge:
 * north of it), and a vertex belongs to the polygon that holds the direction
 * "due east, turning north". For a rectangle: its west and south edges and
 * its south-west corner are in, its east and north edges and its other
 * corners are out. Polygons that tile the plane without overlapping thus
 * claim every point of their union exactly once, every time, whatever order
 * they are tested in. Holes follow the same rule (the hole's west edge is the
 * polygon's east edge, so it is out).
 *
 * Ownership: a cg_geo_shape owns its arrays; free it with cg_geo_shape_free.
 * All functions are reentrant; a shape may be read from several threads.
 */
#ifndef CG_GEO_H
#define CG_GEO_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define CG_GEO_E6 1000000 /* micro-degrees per degree */

typedef struct cg_geo_pt {
    int64_t x, y; /* longitude, latitude in micro-degrees */
} cg_geo_pt;

typedef struct cg_geo_ring {
    cg_geo_pt *pts; /* closed: pts[n - 1] == pts[0]; n >= 4 */
    size_t n;
} cg_geo_ring;

typedef struct cg_geo_bbox {
    double min_lon, min_lat, max_lon, max_lat; /* degrees, closed box */
} cg_geo_bbox;

typedef struct cg_geo_polygon {
    cg_geo_ring *rings; /* rings[0] the exterior, the others holes */
    size_t n_rings;
    cg_geo_bbox bbox;
} cg_geo_polygon;

/* A Polygon (n_polys == 1, multi == 0) or a MultiPolygon (parts that do not
 * overlap each other; a village grid's separate sites). */
typedef struct cg_geo_shape {
    cg_geo_polygon *polys;
    size_t n_polys;
    int multi;
    cg_geo_bbox bbox;
} cg_geo_shape;

/* Degrees to micro-degrees. -1 if not finite or outside [-180, 180] x [-90, 90]. */
int cg_geo_snap(double lon, double lat, cg_geo_pt *out);

/* Parse a GeoJSON geometry object of type Polygon or MultiPolygon into *out
 * and validate it: every position two numbers (a third, altitude, is
 * ignored) within range; every ring closed, at least 4 positions, no
 * repeated consecutive point, non-zero area, not self-intersecting; holes
 * inside their exterior ring, not crossing it or each other; parts of a
 * MultiPolygon not overlapping. Ring orientation is not required (RFC 7946
 * says counter-clockwise exteriors; the rules above do not depend on it).
 * 0 ok; -1 with a reason in err ("part 2, ring 1, position 5: ...") and *out
 * left empty (nothing to free). */
int cg_geo_shape_from_geojson(const json_t *geometry, cg_geo_shape *out, char *err,
                              size_t errlen);
void cg_geo_shape_free(cg_geo_shape *s);

/* The border rule above. A point outside the valid lon/lat range is in nothing. */
int cg_geo_shape_contains(const cg_geo_shape *s, double lon, double lat);
int cg_geo_shape_contains_pt(const cg_geo_shape *s, cg_geo_pt p);
int cg_geo_polygon_contains_pt(const cg_geo_polygon *poly, cg_geo_pt p);

/* Closed boxes: touching boxes intersect (they are a pre-filter). */
int cg_geo_bbox_intersects(const cg_geo_bbox *a, const cg_geo_bbox *b);
int cg_geo_bbox_contains(const cg_geo_bbox *b, double lon, double lat);

/* Do the interiors intersect? Edges crossing, one inside the other, or the
 * same area twice: yes. Sharing an edge or a corner exactly: no.
 * 1 overlap, 0 not, -1 out of memory. */
int cg_geo_polygons_overlap(const cg_geo_polygon *a, const cg_geo_polygon *b);
int cg_geo_shapes_overlap(const cg_geo_shape *a, const cg_geo_shape *b);

/* Great-circle distance in metres on a sphere of radius 6 371 008.8 m (the
 * IUGG mean radius). Arguments in degrees. */
double cg_geo_haversine_m(double lat1, double lon1, double lat2, double lon2);

#endif
