/*
 * raw_sqlite.c — the storage ceiling for `make bench`: plain SQLite inserts of
 * rows shaped like a case (about ten columns, about 300 bytes) into a WAL
 * database, one row per commit and 100 rows per commit, with
 * synchronous=FULL (what citygridd promises: a 201 is on disk) and NORMAL
 * (for reference). Nothing else happens per row, so citygridd's intake rate
 * can be read against what the disk allows.
 *
 *   raw_sqlite [--dir DIR] [--seconds S]
 *
 * Each figure runs on a fresh database in a temporary directory under DIR
 * (default $TMPDIR or /tmp; put it on the disk citygridd uses) for at most S
 * seconds (default 2) and at most a fixed number of rows; the directory is
 * removed afterwards. Prints "name: value" lines (rows/s).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define MAX_ROWS_PER_RUN 5000000LL

static const char *SCHEMA =
    "CREATE TABLE cases ("
    " seq INTEGER PRIMARY KEY,"
    " category TEXT NOT NULL, department TEXT NOT NULL, grid TEXT NOT NULL,"
    " lat REAL, lon REAL, description TEXT NOT NULL, source TEXT NOT NULL,"
    " reporter TEXT NOT NULL, status TEXT NOT NULL, level TEXT NOT NULL,"
    " reported_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, extra TEXT NOT NULL)";

static const char *INSERT =
    "INSERT INTO cases (category, department, grid, lat, lon, description, source,"
    " reporter, status, level, reported_at, updated_at, extra)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12)";

/* About 160 bytes of description, like a patrol member's note. */
static const char *DESCRIPTION =
    "Street stall blocking the pavement outside the market gate on the east side; "
    "vendor has been asked before. Photo taken, owner present, about 3 m2 occupied.";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int exec_or_fail(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "raw_sqlite: %s: %s\n", sql, msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int insert_row(sqlite3_stmt *ins, long long n)
{
    char grid[32], extra[64];
    snprintf(grid, sizeof grid, "331102%06lld", n % 2000);
    snprintf(extra, sizeof extra, "{\"licence_no\":\"ZJ%08lld\"}", n);
    sqlite3_bind_text(ins, 1, "street_stall", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 2, "enforcement", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, grid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(ins, 4, 28.43 + (double)(n % 997) * 0.00005);
    sqlite3_bind_double(ins, 5, 119.90 + (double)(n % 991) * 0.00005);
    sqlite3_bind_text(ins, 6, DESCRIPTION, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 7, "patrol", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 8, "M00000042", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 9, "dispatched", -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 10, "grid", -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 11, now_ms());
    sqlite3_bind_text(ins, 12, extra, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Inserts for `seconds` (and at most MAX_ROWS_PER_RUN rows), `per_commit`
 * rows per transaction. Returns rows/s, or -1 on error. */
static double run_one(const char *dir, const char *sync, int per_commit, double seconds,
                      int *row_bytes)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/raw-%s-%d.db", dir, sync, per_commit);
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL, *begin = NULL, *commit = NULL;
    double rate = -1;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        fprintf(stderr, "raw_sqlite: cannot open %s: %s\n", path, sqlite3_errmsg(db));
        goto out;
    }
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA synchronous=%s", sync);
    if (exec_or_fail(db, "PRAGMA journal_mode=WAL") < 0 || exec_or_fail(db, pragma) < 0 ||
        exec_or_fail(db, SCHEMA) < 0)
        goto out;
    if (sqlite3_prepare_v2(db, INSERT, -1, &ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "BEGIN", -1, &begin, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "COMMIT", -1, &commit, NULL) != SQLITE_OK) {
        fprintf(stderr, "raw_sqlite: prepare: %s\n", sqlite3_errmsg(db));
        goto out;
    }
    long long rows = 0;
    double start = now_s(), elapsed = 0;
    while (elapsed < seconds && rows < MAX_ROWS_PER_RUN) {
        sqlite3_step(begin);
        sqlite3_reset(begin);
        for (int i = 0; i < per_commit; i++)
            if (insert_row(ins, rows + i) < 0) {
                fprintf(stderr, "raw_sqlite: insert: %s\n", sqlite3_errmsg(db));
                goto out;
            }
        if (sqlite3_step(commit) != SQLITE_DONE) {
            fprintf(stderr, "raw_sqlite: commit: %s\n", sqlite3_errmsg(db));
            goto out;
        }
        sqlite3_reset(commit);
        rows += per_commit;
        elapsed = now_s() - start;
    }
    rate = (double)rows / elapsed;

    /* How big a row really is, to show the table is the promised shape. */
    sqlite3_stmt *size = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT avg(length(category)+length(department)+length(grid)+16+"
                           "length(description)+length(source)+length(reporter)+length(status)+"
                           "length(level)+16+length(extra)+8) FROM cases",
                           -1, &size, NULL) == SQLITE_OK &&
        sqlite3_step(size) == SQLITE_ROW)
        *row_bytes = sqlite3_column_int(size, 0);
    sqlite3_finalize(size);
out:
    sqlite3_finalize(ins);
    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
    sqlite3_close(db);
    const char *suffix[] = { "", "-wal", "-shm" };
    for (int i = 0; i < 3; i++) {
        char f[1200];
        snprintf(f, sizeof f, "%s%s", path, suffix[i]);
        unlink(f);
    }
    return rate;
}

int main(int argc, char **argv)
{
    const char *parent = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    double seconds = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
            parent = argv[++i];
        } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--dir DIR] [--seconds S]\n", argv[0]);
            return 2;
        }
    }
    if (!(seconds > 0 && seconds <= 600)) {
        fprintf(stderr, "raw_sqlite: --seconds must be in (0, 600]\n");
        return 2;
    }
    char dir[1024];
    if ((size_t)snprintf(dir, sizeof dir, "%s/raw_sqlite.XXXXXX", parent) >= sizeof dir) {
        fprintf(stderr, "raw_sqlite: directory name too long: %s\n", parent);
        return 2;
    }
    if (!mkdtemp(dir)) {
        fprintf(stderr, "raw_sqlite: cannot create a directory under %s: %s\n", parent,
                strerror(errno));
        return 1;
    }
    static const struct {
        const char *name, *sync;
        int per_commit;
    } runs[] = {
        { "raw_sqlite_full_rows_per_s", "FULL", 1 },
        { "raw_sqlite_full_batch100_rows_per_s", "FULL", 100 },
        { "raw_sqlite_normal_rows_per_s", "NORMAL", 1 },
        { "raw_sqlite_normal_batch100_rows_per_s", "NORMAL", 100 },
    };
    int status = 0, row_bytes = 0;
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        double rate = run_one(dir, runs[i].sync, runs[i].per_commit, seconds, &row_bytes);
        if (rate < 0) {
            status = 1;
            printf("%s: error\n", runs[i].name);
        } else {
            printf("%s: %.0f\n", runs[i].name, rate);
        }
        fflush(stdout);
    }
    printf("raw_sqlite_row_bytes: %d\n", row_bytes);
    printf("raw_sqlite_sqlite_version: %s\n", sqlite3_libversion());
    rmdir(dir);
    return status;
}
