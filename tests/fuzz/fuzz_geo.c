/*
 * fuzz_geo.c — fuzz target for the GeoJSON geometry parser
 * (cg_geo_shape_from_geojson). Input: JSON text of a geometry object. A shape
 * that parses is then queried (point-in-polygon, bounding box, overlap with
 * itself) to exercise the integer predicates on whatever it holds.
 */
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "lib/geo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) /* overlap checks are quadratic: keep each input cheap */
        return 0;
    json_error_t jerr;
    json_t *geom = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
    if (!geom)
        return 0;
    cg_geo_shape s;
    memset(&s, 0, sizeof s);
    char err[256] = "";
    if (cg_geo_shape_from_geojson(geom, &s, err, sizeof err) == 0) {
        FUZZ_REQUIRE(s.n_polys >= 1);
        for (size_t p = 0; p < s.n_polys; p++) {
            FUZZ_REQUIRE(s.polys[p].n_rings >= 1);
            for (size_t r = 0; r < s.polys[p].n_rings; r++)
                FUZZ_REQUIRE(s.polys[p].rings[r].n >= 4);
        }
        double cx = (s.bbox.min_lon + s.bbox.max_lon) / 2;
        double cy = (s.bbox.min_lat + s.bbox.max_lat) / 2;
        /* Outside the box means outside the shape. */
        if (cg_geo_shape_contains(&s, cx, cy))
            FUZZ_REQUIRE(cg_geo_bbox_contains(&s.bbox, cx, cy));
        (void)cg_geo_shape_contains(&s, s.bbox.min_lon, s.bbox.min_lat);
        FUZZ_REQUIRE(!cg_geo_shape_contains(&s, s.bbox.max_lon + 1, cy));
        (void)cg_geo_shapes_overlap(&s, &s);
        cg_geo_shape_free(&s);
    } else {
        FUZZ_REQUIRE(err[0] != '\0');
        FUZZ_REQUIRE(s.polys == NULL && s.n_polys == 0);
    }
    json_decref(geom);
    return 0;
}
