/*
 * locate_inproc.c — in-process lookups per second of cg_grids_locate over
 * the Lishui dataset: imports contrib/lishui into a temporary database, then
 * locates points spread over the city centre for about two seconds.
 *
 *   locate_inproc DATASET_DIR [SECONDS]
 *
 * Prints "locate_inproc_per_s: N" and "locate_inproc_hit_ratio: R".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "people/dataset.h"
#include "people/grids.h"
#include "lib/log.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DATASET_DIR [SECONDS]\n", argv[0]);
        return 2;
    }
    double seconds = argc > 2 ? atof(argv[2]) : 2.0;
    cg_log_set_level(CITYGRID_LOG_WARNING);
    char dir[] = "/tmp/citygrid-locate-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char path[256], err[1024];
    snprintf(path, sizeof path, "%s/citygrid.db", dir);
    cg_store *st = NULL;
    cg_import_report rep;
    int rc = 1;
    if (cg_store_open(path, &st, err, sizeof err) < 0 ||
        cg_dataset_import_dir(st, argv[1], &rep, err, sizeof err) < 0) {
        fprintf(stderr, "locate_inproc: %s\n", err);
        goto out;
    }
    unsigned long long n = 0, hits = 0;
    double t0 = now_s(), t1 = t0;
    char code[CG_GRID_CODE_SIZE];
    while (t1 - t0 < seconds) {
        for (int k = 0; k < 1000; k++, n++) {
            /* The same spread as the bench's POST load: 28.43-28.47 N, 119.90-119.94 E. */
            double lat = 28.43 + (double)(n % 997) * 0.00004;
            double lon = 119.90 + (double)((n / 997) % 991) * 0.00004;
            hits += cg_grids_locate(st, lat, lon, code) == 1;
        }
        t1 = now_s();
    }
    printf("locate_inproc_per_s: %.0f\n", (double)n / (t1 - t0));
    printf("locate_inproc_hit_ratio: %.3f\n", n ? (double)hits / (double)n : 0.0);
    rc = 0;
out:
    cg_grids_invalidate();
    cg_store_close(st);
    unlink(path);
    char side[300];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    rmdir(dir);
    return rc;
}
