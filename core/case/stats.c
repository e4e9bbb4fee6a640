/* stats.c — see stats.h. Both queries read only what indexes cover or the
 * (small) set of open cases: a scrape stays cheap as closed cases pile up. */
#include "case/stats.h"

#include "lib/log.h"

int cg_stats_outbox(cg_store *st, int64_t now_ms, cg_outbox_stat_fn row, void *arg)
{
    sqlite3_stmt *s = cg_store_read_stmt(
        st, "SELECT department, count(*), min(created_at) FROM outbox GROUP BY department");
    if (!s)
        return -1;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *dept = (const char *)sqlite3_column_text(s, 0);
        long long oldest = sqlite3_column_int64(s, 2);
        row(arg, dept ? dept : "", sqlite3_column_int64(s, 1), oldest > 0 ? now_ms - oldest : 0);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        CG_ERROR("store", "outbox stats: %s", sqlite3_errstr(rc));
        return -1;
    }
    return 0;
}

int cg_stats_open_cases(cg_store *st, int64_t now_ms, cg_open_stat_fn row, void *arg)
{
    sqlite3_stmt *s = cg_store_read_stmt(
        st, "SELECT level, department, count(*),"
            " sum(status <> 'handled' AND expected_at IS NOT NULL AND expected_at < ?1)"
            " FROM cases"
            " WHERE status = 'reported' OR status = 'dispatched' OR status = 'accepted'"
            "  OR status = 'handled'"
            " GROUP BY level, department");
    if (!s)
        return -1;
    sqlite3_bind_int64(s, 1, now_ms);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *level = (const char *)sqlite3_column_text(s, 0);
        const char *dept = (const char *)sqlite3_column_text(s, 1);
        row(arg, level ? level : "", dept ? dept : "", sqlite3_column_int64(s, 2),
            sqlite3_column_int64(s, 3));
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE) {
        CG_ERROR("store", "open case stats: %s", sqlite3_errstr(rc));
        return -1;
    }
    return 0;
}
