/*
 * grid_map.h — the grid map's data: every grid the caller may see as a
 * GeoJSON Feature with its open and overdue case counts (GET
 * /v1/grids.geojson, the console's map). Main thread: reads through the
 * read connection (cg_store_read_stmt).
 */
#ifndef CG_GRID_MAP_H
#define CG_GRID_MAP_H

#include <stdint.h>
#include <jansson.h>
#include "case/scope.h"
#include "store/store.h"

/* A FeatureCollection, one Feature per grid in the scope, by code: an admin
 * and a department account get every grid, a member the grids they serve.
 * Properties: code, name, type, district, subdistrict, community, office
 * [lon, lat], open (cases reported, dispatched or accepted) and overdue
 * (open, past expected_at at now_ms); a department account counts its
 * department's cases only. The geometry is the grid's as imported. New
 * reference; NULL on a database error. */
json_t *cg_grid_map_geojson(cg_store *st, const cg_scope *sc, int64_t now_ms);

#endif
