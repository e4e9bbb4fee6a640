/*
 * fuzz_dataset.c — fuzz target for the dataset importers
 * (core/people/dataset.h): places.csv, grids.geojson and roster.csv, as
 * `citygridctl grids import` and `roster import` and the daemon's first
 * start read them. One store, made on the first input with the Lishui
 * dataset imported, so that rows can refer to grids and places that exist.
 *
 * Input: the first byte chooses the importer, the rest is the file:
 *   'r' (or any byte % 3 == 0 but 'g'/'p'): the roster, cg_dataset_import_roster;
 *   'g' (or % 3 == 1): the grids alone, cg_dataset_import_grids(geojson, NULL);
 *   'p' (or % 3 == 2): places then grids, split at the first line "@@":
 *       cg_dataset_import_grids(geojson, places).
 * What must hold (dataset.h): 0 or -1; a refusal says why; a refused import
 * changes nothing (the counts of places, grids, members and assignments are
 * as before); after any import no foreign key is broken.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "people/dataset.h"
#include "store/store.h"
#include "fuzz.h"

static cg_store *st;
static char dir[64];
static char roster_path[128], grids_path[128], places_path[128];

static const char *dataset_dir(void)
{
    static char d[4096];
    const char *src = getenv("CG_SRCDIR");
    if (src && *src) {
        snprintf(d, sizeof d, "%s/contrib/lishui", src);
        return d;
    }
#ifdef CG_DATASET_DIR
    return CG_DATASET_DIR;
#else
    return "contrib/lishui";
#endif
}

static void setup(void)
{
    char err[1024];
    snprintf(dir, sizeof dir, "/tmp/cg-fuzz-dataset.XXXXXX");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "fuzz_dataset: mkdtemp: %s\n", strerror(errno));
        abort();
    }
    cg_log_set_level(CITYGRID_LOG_ERROR);
    char db[128];
    snprintf(db, sizeof db, "%s/citygrid.db", dir);
    snprintf(roster_path, sizeof roster_path, "%s/roster.csv", dir);
    snprintf(grids_path, sizeof grids_path, "%s/grids.geojson", dir);
    snprintf(places_path, sizeof places_path, "%s/places.csv", dir);
    cg_import_report rep;
    if (cg_store_open(db, &st, err, sizeof err) < 0 ||
        cg_dataset_import_dir(st, dataset_dir(), &rep, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz_dataset: setup: %s\n", err);
        abort();
    }
}

static void write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    FUZZ_REQUIRE(f != NULL);
    if (len)
        FUZZ_REQUIRE(fwrite(data, 1, len, f) == len);
    FUZZ_REQUIRE(fclose(f) == 0);
}

static long long count(const char *sql)
{
    sqlite3_stmt *s = cg_store_stmt(st, sql);
    FUZZ_REQUIRE(s != NULL);
    FUZZ_REQUIRE(sqlite3_step(s) == SQLITE_ROW);
    long long n = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return n;
}

/* Every table the importers write, as one figure per table. */
typedef struct counts {
    long long places, grids, parts, members, assignments;
} counts;

static counts take_counts(void)
{
    counts c = {count("SELECT count(*) FROM places"), count("SELECT count(*) FROM grids"),
                count("SELECT count(*) FROM grid_parts"), count("SELECT count(*) FROM members"),
                count("SELECT count(*) FROM assignments")};
    return c;
}

/* libFuzzer calls this once before the first input, outside the per-input
 * timeout (the setup imports the whole dataset); replay.c does not, so the
 * first input builds it then. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    if (!st)
        setup();
    int mode = data[0] == 'r' ? 0 : data[0] == 'g' ? 1 : data[0] == 'p' ? 2 : data[0] % 3;
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    counts before = take_counts();
    char err[1024] = "";
    cg_import_report rep = {0};
    int rc;
    if (mode == 0) {
        write_file(roster_path, body, len);
        rc = cg_dataset_import_roster(st, roster_path, &rep, err, sizeof err);
    } else if (mode == 1) {
        write_file(grids_path, body, len);
        rc = cg_dataset_import_grids(st, grids_path, NULL, &rep, err, sizeof err);
    } else {
        const uint8_t *cut = NULL;
        for (size_t i = 0; i + 3 <= len && !cut; i++)
            if ((i == 0 || body[i - 1] == '\n') && body[i] == '@' && body[i + 1] == '@' &&
                (i + 2 == len || body[i + 2] == '\n'))
                cut = body + i;
        size_t places_len = cut ? (size_t)(cut - body) : len;
        const uint8_t *geo = cut ? cut + (cut + 2 < body + len ? 3 : 2) : body + len;
        write_file(places_path, body, places_len);
        write_file(grids_path, geo, (size_t)(body + len - geo));
        rc = cg_dataset_import_grids(st, grids_path, places_path, &rep, err, sizeof err);
    }
    FUZZ_REQUIRE(rc == 0 || rc == -1);
    if (rc < 0) {
        counts after = take_counts();
        FUZZ_REQUIRE(err[0] != '\0');
        FUZZ_REQUIRE(memcmp(&before, &after, sizeof before) == 0);
    }
    FUZZ_REQUIRE(count("SELECT count(*) FROM pragma_foreign_key_check") == 0);
    return 0;
}
