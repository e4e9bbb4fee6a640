/*
 * ctl_audit.c — citygridctl audit verify: walk the data-source query
 * audit's hash chain (sources/audit.h) in STATE_DIR/citygrid.db and name the
 * first row that does not follow from the one before it. Exit 0: intact;
 * 1: a row was edited or removed (or the file cannot be read); 2: usage.
 * Opens the database itself, read-only in effect (it runs no write), so it
 * works beside a running daemon (WAL) and on a copy or a backup.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl/ctl.h"
#include "sources/audit.h"
#include "store/store.h"

static int run_audit(const cg_ctl_env *env, int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "verify") != 0) {
        fprintf(stderr, "usage: citygridctl audit verify\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/citygrid.db", env->state_dir);
    struct stat sb;
    if (stat(path, &sb) < 0) {
        fprintf(stderr, "citygridctl: no database at %s: %s\n", path, strerror(errno));
        return 1;
    }
    cg_store *st = NULL;
    char err[1024];
    if (cg_store_open(path, &st, err, sizeof err) < 0) {
        fprintf(stderr, "citygridctl: cannot open %s: %s\n", path, err);
        return 1;
    }
    long long bad = 0, checked = 0;
    cg_result r;
    cg_status rc = cg_audit_verify(st, &bad, &checked, &r);
    cg_store_close(st);
    if (rc != CG_OK) {
        fprintf(stderr, "citygridctl: %s\n", r.message);
        return 1;
    }
    if (bad) {
        printf("audit row %lld does not match the chain: it, or a row before it, was edited or "
               "removed (%lld rows read)\n", bad, checked);
        return 1;
    }
    printf("audit chain intact: %lld rows\n", checked);
    return 0;
}

const cg_ctl_command cg_ctl_audit_commands[] = {
    {"audit", "audit verify",
     "check the data-source query audit's hash chain; exit 1 naming the first row that was "
     "edited or removed",
     run_audit},
    {NULL, NULL, NULL, NULL},
};
