/*
 * dataset.h — import and export of the grid registry (places, grids with
 * their boundaries and offices) and the roster (members and who serves
 * where). Formats: contrib/lishui/README.md (GeoJSON + UTF-8 CSV).
 *
 * Every import is all-or-nothing: it runs in one transaction, validates
 * everything before it writes, and a refused import changes nothing. A
 * refusal names the file, the row (CSV: line number, the header is line 1)
 * or the feature (1-based), and the reason: unknown grid code, malformed
 * code, overlapping polygons, an office outside its grid, a role that does
 * not exist, two leaders in one grid, ...
 *
 * Runs on the thread that owns `st`, outside any cg_batch transaction: the
 * daemon calls it before its loop starts (first start), citygridctl from its
 * main with its own cg_store.
 */
#ifndef CG_DATASET_H
#define CG_DATASET_H

#include <stddef.h>
#include <stdio.h>
#include "store/store.h"

typedef struct cg_import_report {
    size_t places, grids, members, assignments;
} cg_import_report;

/* 1 when the registry holds no grid yet (a first start). */
int cg_dataset_is_empty(cg_store *st);

/* DIR/places.csv + DIR/grids.geojson + DIR/roster.csv, in one transaction. */
int cg_dataset_import_dir(cg_store *st, const char *dir, cg_import_report *rep, char *err,
                          size_t errlen);
/* The grids (and their places, when places_csv is not NULL). */
int cg_dataset_import_grids(cg_store *st, const char *geojson_path, const char *places_csv,
                            cg_import_report *rep, char *err, size_t errlen);
/* The roster: members and their assignments. */
int cg_dataset_import_roster(cg_store *st, const char *csv_path, cg_import_report *rep,
                             char *err, size_t errlen);

/* Write the registry back in the import formats (UTF-8). 0 ok, -1 err. */
int cg_dataset_export_grids(cg_store *st, FILE *out, char *err, size_t errlen);
int cg_dataset_export_roster(cg_store *st, FILE *out, char *err, size_t errlen);
/* places.csv (parents before children). */
int cg_dataset_export_places(cg_store *st, FILE *out, char *err, size_t errlen);

#endif
