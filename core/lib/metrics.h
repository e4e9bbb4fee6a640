/*
 * metrics.h — the process's own counters for GET /metrics (Prometheus text
 * format, rendered by http/api_metrics.c). Only what cannot be read at
 * scrape time lives here: HTTP requests by route and status with their
 * latency, group commits and their fsync time, login failures and
 * throttles, escalations, open connections. Gauges that the database or the
 * bus already know (outbox depth, open cases, plugin states) are read when
 * scraped instead.
 *
 * Threads: every function here is lock-free (C11 relaxed atomics), so the
 * main thread, the batch's writer thread and plugin threads may all count.
 * A scrape reads each counter once; counters are monotonic, so a scrape that
 * races an increment sees it now or next time, never a torn value.
 */
#ifndef CG_METRICS_H
#define CG_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Routes are the route table's indexes (http/api.h); one more slot counts
 * requests that matched no route. A table longer than this is refused by
 * the renderer's check, not silently merged. */
#define CG_METRICS_MAX_ROUTES 160

/* HTTP statuses get one slot each from this list; any other status counts
 * under its class (2xx, 3xx, 4xx, 5xx). */
#define CG_METRICS_STATUS_SLOTS 30
/* Latency buckets (seconds, upper bounds, +Inf implied). */
#define CG_METRICS_LATENCY_BUCKETS 13
extern const double cg_metrics_latency_bounds[CG_METRICS_LATENCY_BUCKETS];
/* Group-commit size buckets (items per COMMIT). */
#define CG_METRICS_BATCH_BUCKETS 10
extern const double cg_metrics_batch_bounds[CG_METRICS_BATCH_BUCKETS];
/* COMMIT (= one WAL fsync with synchronous=FULL) duration buckets, seconds. */
#define CG_METRICS_FSYNC_BUCKETS 12
extern const double cg_metrics_fsync_bounds[CG_METRICS_FSYNC_BUCKETS];

/* A monotonic clock in microseconds, for timing what is counted here. */
int64_t cg_metrics_clock_us(void);

/* One finished HTTP request: route index (or CG_METRICS_MAX_ROUTES - 1 for
 * "no route"), its status and how long it took, from arrival to the answer
 * written. */
void cg_metrics_http_request(size_t route, int status, double seconds);
/* A COMMIT of `items` grouped writes that took `seconds` (ok: 1 committed). */
void cg_metrics_group_commit(size_t items, double seconds, int ok);

typedef enum cg_metric_counter {
    CG_M_LOGIN_FAILURES,     /* POST /v1/sessions refused: wrong login or password */
    CG_M_LOGIN_THROTTLED,    /* refused with 429: too many failures */
    CG_M_ESCALATIONS_COMMUNITY, /* cases raised to each level */
    CG_M_ESCALATIONS_JOINT,
    CG_M_ESCALATIONS_CITY,
    CG_M_CONNECTIONS_OPENED, /* HTTP connections seen (with at least one request) */
    CG_M_CONNECTIONS_CLOSED,
    CG_M_COUNTERS
} cg_metric_counter;
void cg_metrics_count(cg_metric_counter c);
/* The escalation counter for a level name ("community", "joint", "city"). */
void cg_metrics_escalation(const char *level);

/* ---- reading (the renderer) ------------------------------------------- */
uint64_t cg_metrics_counter(cg_metric_counter c);
/* Status slot i (0..CG_METRICS_STATUS_SLOTS-1): its label ("201", "4xx"). */
const char *cg_metrics_status_label(size_t slot);
uint64_t cg_metrics_http_count(size_t route, size_t status_slot);
/* Latency of a route: per-bucket counts (NOT cumulative; slot
 * CG_METRICS_LATENCY_BUCKETS is +Inf), the sum in seconds, the count. */
void cg_metrics_http_latency(size_t route, uint64_t buckets[CG_METRICS_LATENCY_BUCKETS + 1],
                             double *sum, uint64_t *count);
typedef struct cg_metrics_commits {
    uint64_t size_buckets[CG_METRICS_BATCH_BUCKETS + 1];   /* not cumulative */
    uint64_t fsync_buckets[CG_METRICS_FSYNC_BUCKETS + 1];  /* not cumulative */
    uint64_t items, commits, failed;
    double fsync_seconds;
} cg_metrics_commits;
void cg_metrics_commit_stats(cg_metrics_commits *out);

#endif
