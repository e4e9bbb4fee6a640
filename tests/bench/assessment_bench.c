/*
 * assessment_bench.c — how long the monthly assessment (core/routine/assessment.c)
 * takes over a city-sized store: the Lishui dataset (grids, members and
 * their assignments) and N synthetic cases (default 1 000 000) spread over
 * every grid, its members, the six departments and four months
 * (2026-01..04; reported in seq order, as the intake writes them), with a mix of sources, statuses, postponements, ratings,
 * transfers, rework, reopens and duplicates, and a month of patrol days.
 *
 * The cases are written with a fast direct INSERT of the same cases columns
 * the real write paths leave (cases.c insert + cg_cases_apply_change,
 * including handled_at / reopens / duplicates and every index), in one
 * transaction; their history and outbox rows are left out (the report does
 * not read them). Then it times cg_assess_monthly for March, whole city,
 * by member and by grid (best of 3 runs each), and prints:
 *   monthly_report_1m_ms: N
 *   monthly_report_by_grid_1m_ms: N
 * Usage: assessment_bench DATASET_DIR [N_CASES] [WORK_DIR]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "routine/assessment.h"
#include "lib/citydate.h"
#include "people/dataset.h"
#include "lib/log.h"
#include "store/store.h"
#include "lib/timeutil.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

typedef struct slot {
    char grid[16];
    char member[64];
} slot;

static uint64_t rng = 88172645463325252ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DATASET_DIR [N_CASES] [WORK_DIR]\n", argv[0]);
        return 2;
    }
    long n_cases = argc > 2 ? atol(argv[2]) : 1000000;
    const char *work = argc > 3 ? argv[3] : "/tmp";
    cg_log_set_level(CITYGRID_LOG_WARNING);
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/assessment-bench-%d.db", work, (int)getpid());
    cg_store *st;
    if (cg_store_open(path, &st, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    cg_import_report rep;
    if (cg_dataset_import_dir(st, argv[1], &rep, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    /* Every (grid, member) assignment: a case goes to one of them. */
    slot *slots = NULL;
    size_t n_slots = 0;
    sqlite3_stmt *s;
    sqlite3_prepare_v2(st->db, "SELECT grid, member_id FROM assignments ORDER BY grid", -1, &s,
                       NULL);
    while (sqlite3_step(s) == SQLITE_ROW) {
        slots = realloc(slots, (n_slots + 1) * sizeof *slots);
        snprintf(slots[n_slots].grid, sizeof slots[n_slots].grid, "%s", sqlite3_column_text(s, 0));
        snprintf(slots[n_slots].member, sizeof slots[n_slots].member, "%s",
                 sqlite3_column_text(s, 1));
        n_slots++;
    }
    sqlite3_finalize(s);
    if (!n_slots) {
        fprintf(stderr, "no assignments in %s\n", argv[1]);
        return 1;
    }
    static const char *const deps[] = {"enforcement", "municipal", "sanitation",
                                       "market",      "police",    "volunteer"};
    static const char *const sources[] = {"patrol", "patrol", "citizen", "camera", "hotline"};
    static const char *const statuses[] = {"closed", "closed", "closed", "handled", "accepted",
                                           "dispatched", "cancelled"};
    int64_t start = cg_city_day_start_ms(cg_day_from_civil(2026, 1, 1));
    int64_t span = cg_city_day_start_ms(cg_day_from_civil(2026, 5, 1)) - start;

    double t0 = now_ms();
    sqlite3_exec(st->db, "PRAGMA synchronous = OFF; BEGIN", NULL, NULL, NULL);
    sqlite3_prepare_v2(st->db,
        "INSERT INTO cases(seq, id, category, department, grid, source, reporter, status, level,"
        " assignee, created_at, updated_at, expected_at, escalate_at, handled_at, postponed,"
        " satisfaction, misroutes, rework, reopens, duplicates, sla_hours, handled_by, extra)"
        " VALUES (?1, printf('C%08d', ?1), 'road_damage', ?2, ?3, ?4, ?5, ?6, ?7, ?5, ?8, ?8,"
        " ?9, CASE WHEN ?6 IN ('accepted','dispatched') THEN ?9 END, ?10, ?11, ?12, ?13, ?14,"
        " ?15, ?16, 24, CASE WHEN ?10 IS NOT NULL THEN ?5 END, '{}')", -1, &s, NULL);
    for (long i = 1; i <= n_cases; i++) {
        const slot *sl = &slots[next_rand() % n_slots];
        uint64_t r = next_rand();
        /* Reported in seq order, as the intake writes them. */
        int64_t created = start + (int64_t)((double)(span - 3 * CG_DAY_MS) * i / n_cases);
        int64_t deadline = created + 24 * 3600 * 1000LL;
        const char *status = statuses[r % 7];
        int handled = !strcmp(status, "closed") || !strcmp(status, "handled");
        sqlite3_bind_int64(s, 1, i);
        sqlite3_bind_text(s, 2, deps[(r >> 3) % 6], -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, sl->grid, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, sources[(r >> 6) % 5], -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 5, sl->member, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 6, status, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 7, (r >> 9) % 20 == 0 ? "joint" : "grid", -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 8, created);
        sqlite3_bind_int64(s, 9, deadline + ((r >> 14) % 30 == 0 ? 5 * CG_DAY_MS : 0));
        if (handled)
            sqlite3_bind_int64(s, 10, created + (int64_t)((r >> 20) % (36 * 3600)) * 1000);
        else
            sqlite3_bind_null(s, 10);
        sqlite3_bind_int(s, 11, (r >> 14) % 30 == 0);
        if (!strcmp(status, "closed") && (r >> 30) % 2)
            sqlite3_bind_int(s, 12, 1 + (int)((r >> 32) % 5));
        else
            sqlite3_bind_null(s, 12);
        sqlite3_bind_int(s, 13, (r >> 36) % 15 == 0);
        sqlite3_bind_int(s, 14, (r >> 40) % 12 == 0);
        sqlite3_bind_int(s, 15, (r >> 44) % 25 == 0);
        sqlite3_bind_int(s, 16, (r >> 48) % 40 == 0);
        if (sqlite3_step(s) != SQLITE_DONE) {
            fprintf(stderr, "insert: %s\n", sqlite3_errmsg(st->db));
            return 1;
        }
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    /* A month of patrol days: each assignment, about 3 days a week in March. */
    sqlite3_prepare_v2(st->db, "INSERT OR IGNORE INTO patrol_days(member, grid, day, inside_ms)"
                               " VALUES (?1, ?2, ?3, 2400000)", -1, &s, NULL);
    int32_t march = cg_day_from_civil(2026, 3, 1);
    for (size_t i = 0; i < n_slots; i++)
        for (int d = 0; d < 31; d++) {
            if (next_rand() % 7 >= 3)
                continue;
            char day[CG_DATE_SIZE];
            cg_day_format(march + d, day, sizeof day);
            sqlite3_bind_text(s, 1, slots[i].member, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 2, slots[i].grid, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 3, day, -1, SQLITE_TRANSIENT);
            sqlite3_step(s);
            sqlite3_reset(s);
        }
    sqlite3_finalize(s);
    sqlite3_exec(st->db, "COMMIT; PRAGMA synchronous = FULL", NULL, NULL, NULL);
    fprintf(stderr, "built %ld cases over %zu assignments in %.0f ms\n", n_cases, n_slots,
            now_ms() - t0);

    cg_assess_conf conf;
    cg_assess_conf_init(&conf, NULL);
    int32_t today = cg_day_from_civil(2026, 5, 1);
    double best[2] = {1e18, 1e18};
    size_t rows[2] = {0, 0};
    for (int run = 0; run < 3; run++)
        for (int k = 0; k < 2; k++) {
            double a = now_ms();
            json_t *r = cg_assess_monthly(st, &conf, march, 31,
                                          k ? CG_ASSESS_BY_GRID : CG_ASSESS_BY_MEMBER, today, err,
                                          sizeof err);
            double ms = now_ms() - a;
            if (!r) {
                fprintf(stderr, "report: %s\n", err);
                return 1;
            }
            rows[k] = json_array_size(json_object_get(r, "items"));
            json_decref(r);
            if (ms < best[k])
                best[k] = ms;
        }
    fprintf(stderr, "by member: %zu rows, by grid: %zu rows\n", rows[0], rows[1]);
    printf("monthly_report_1m_ms: %.0f\n", best[0]);
    printf("monthly_report_by_grid_1m_ms: %.0f\n", best[1]);
    cg_store_close(st);
    if (getenv("CG_BENCH_KEEP_DB")) { /* to look at query plans */
        fprintf(stderr, "kept %s\n", path);
        return 0;
    }
    unlink(path);
    char side[4200];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    return 0;
}
