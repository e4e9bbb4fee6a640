/*
 * grid_map.h — the grid map's data: every grid of the city as a GeoJSON
 * Feature with its open and overdue case counts (GET
 * /v1/grids.geojson, the console's map). Main thread: reads through the
 * read connection (cg_store_read_stmt).
 */
#ifndef CG_GRID_MAP_H
#define CG_GRID_MAP_H

#include <stdint.h>
#include <jansson.h>
#include "case/scope.h"
#include "store/store.h"

/* A FeatureCollection, one Feature per grid of the city, by code, for
 * every signed-in caller (grid_map.c says why). Properties: code, name,
 * type, district, subdistrict, community, office [lon, lat], open (cases
 * reported, dispatched or accepted) and overdue (open, past expected_at at
 * now_ms), counted over every case of the grid (a department account: its
 * department's only); mine (the caller serves the grid) and may_open (the
 * caller may read the grid's page, GET /v1/grids/{code}: an admin or a
 * department account every grid, a member the grids they serve). The
 * geometry is the grid's as imported. New reference; NULL on a database
 * error. */
json_t *cg_grid_map_geojson(cg_store *st, const cg_scope *sc, int64_t now_ms);

#endif
