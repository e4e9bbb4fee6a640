/*
 * grids.h — the grid registry at run time: which grid holds a point
 * (locate), a grid as the API shows it, the filtered list, the staffing
 * gaps, and the members a dispatch carries.
 *
 * locate: the R*Tree grid_boxes gives the candidate polygon parts, then the
 * exact point-in-polygon test of geo.h decides (its border rule makes a point
 * on a shared border resolve to the same grid every time). Each grid's
 * geometry is parsed once and kept in memory, keyed by its grid_parts ids;
 * an import gives every part a new id (dataset.c), so a cache can never
 * answer with a boundary that was replaced, even by another process.
 *
 * Threading: everything except cg_grids_dispatch_members runs on the main
 * (libevent) thread and reads through cg_store_read_stmt; the cache is not
 * locked. cg_grids_dispatch_members uses cg_store_stmt on the store it is
 * given, so it may run inside a cg_batch apply on the writer connection.
 */
#ifndef CG_GRIDS_H
#define CG_GRIDS_H

#include <stddef.h>
#include <jansson.h>
#include "lib/jsontext.h"
#include "store/store.h"

#define CG_GRID_CODE_SIZE 15 /* 14 digits + NUL */

/* The grid containing (lat, lon). 1 found (code filled), 0 in no grid (or
 * not a valid coordinate), -1 database error. */
int cg_grids_locate(cg_store *st, double lat, double lon, char code[CG_GRID_CODE_SIZE]);

/* Forget the parsed geometries (after an import; tests). */
void cg_grids_invalidate(void);

/* Does a grid with this code exist? 1 yes, 0 no, -1 error. */
int cg_grids_exists(cg_store *st, const char *code);

/* One grid: {"code","name","type","hierarchy":{"city":{code,name_zh,name_en},
 * "district":..., "subdistrict":..., "community":...},"office":{"lat","lon"},
 * "external_id","staff":[{"id","name","role","department"}]} (new
 * reference), or NULL when unknown. */
json_t *cg_grids_get(cg_store *st, const char *code);

typedef struct cg_grid_filter {
    const char *district, *subdistrict, *community, *type; /* NULL: any */
    const char *const *only; /* NULL, or the grids the caller may see */
    size_t n_only;
    int limit;               /* 1..1000 */
    const char *cursor;      /* the last code of the previous page */
} cg_grid_filter;
/* {"items":[grid without staff, ...],"next":cursor|null}, by code. NULL on error. */
json_t *cg_grids_list(cg_store *st, const cg_grid_filter *f);

/* The mandatory roles: leader, instructor, fulltime, and a professional of
 * each of the five mandatory departments ("professional:market"). */
#define CG_MANDATORY_ROLES 8
extern const char *const cg_mandatory_roles[CG_MANDATORY_ROLES];

/* {"items":[{"grid","name","missing":["leader","professional:police",...]}],
 * "grids": grids examined, "next": null} for the grids lacking a mandatory
 * role; `only` as in the filter (NULL: all). NULL on error. */
json_t *cg_grids_gaps(cg_store *st, const char *const *only, size_t n_only);

/* The members of `department` in `grid` a dispatch carries: its
 * professional members of that department, or its optional members of it
 * for an optional department; [{"id","name","role","open_cases"}] by id,
 * open_cases counted over all grids (cases assigned to them and not handled,
 * closed or cancelled). An empty array for an unknown grid; NULL on a
 * database error. Uses cg_store_stmt(st, ...): call it on the thread that
 * owns st (inside a cg_batch apply is fine). */
json_t *cg_grids_dispatch_members(cg_store *st, const char *grid, const char *department);
/* The same array written as JSON text into out (the dispatch payload's
 * encoder): 0, or -1 on a database error (out then holds a partial text). */
int cg_grids_dispatch_members_write(cg_store *st, const char *grid, const char *department,
                                    cg_jbuf *out);

#endif
