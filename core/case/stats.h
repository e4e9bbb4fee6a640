/*
 * stats.h — gauges the database knows, read when /metrics is scraped: the
 * outbox per department and the open and overdue cases by level and
 * department. Main thread (they read through cg_store_read_stmt, the last
 * commit). Each walks one GROUP BY and calls `row` once per group.
 */
#ifndef CG_CASE_STATS_H
#define CG_CASE_STATS_H

#include <stdint.h>
#include "store/store.h"

/* department, dispatches waiting for an acknowledgement, age in ms of the
 * oldest of them. */
typedef void (*cg_outbox_stat_fn)(void *arg, const char *department, long long depth,
                                  long long oldest_age_ms);
int cg_stats_outbox(cg_store *st, int64_t now_ms, cg_outbox_stat_fn row, void *arg);

/* level, department, open cases (reported, dispatched, accepted, handled),
 * overdue ones (open, not yet handled, past expected_at, as GET /v1/cases
 * ?overdue=1 counts them). */
typedef void (*cg_open_stat_fn)(void *arg, const char *level, const char *department,
                                long long open, long long overdue);
int cg_stats_open_cases(cg_store *st, int64_t now_ms, cg_open_stat_fn row, void *arg);

#endif
