/* metrics.c — see metrics.h. Every cell is an _Atomic uint64_t bumped with
 * relaxed ordering: counters need atomicity, not ordering. Sums of seconds
 * are kept in whole microseconds so that they stay integers. */
#include "lib/metrics.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>

int64_t cg_metrics_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const double cg_metrics_latency_bounds[CG_METRICS_LATENCY_BUCKETS] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};
const double cg_metrics_batch_bounds[CG_METRICS_BATCH_BUCKETS] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 1024};
const double cg_metrics_fsync_bounds[CG_METRICS_FSYNC_BUCKETS] = {
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5};

static const int status_codes[] = {200, 201, 202, 204, 301, 302, 304, 400, 401, 403, 404, 405,
                                   406, 409, 410, 413, 415, 422, 429, 500, 502, 503, 504};
#define N_CODES (sizeof status_codes / sizeof status_codes[0])
/* After the codes: the classes 1xx..5xx, then "other" (outside 100..599). */
_Static_assert(N_CODES + 6 <= CG_METRICS_STATUS_SLOTS, "status slots");
static const char *const class_labels[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
static char code_labels[N_CODES][4];

typedef _Atomic uint64_t counter;

static counter http_count[CG_METRICS_MAX_ROUTES][CG_METRICS_STATUS_SLOTS];
static counter http_latency[CG_METRICS_MAX_ROUTES][CG_METRICS_LATENCY_BUCKETS + 1];
static counter http_latency_us[CG_METRICS_MAX_ROUTES];
static counter batch_size[CG_METRICS_BATCH_BUCKETS + 1];
static counter fsync_time[CG_METRICS_FSYNC_BUCKETS + 1];
static counter batch_items, batch_commits, batch_failed, fsync_us;
static counter simple[CG_M_COUNTERS];

static void bump(counter *c, uint64_t by) { atomic_fetch_add_explicit(c, by, memory_order_relaxed); }
static uint64_t get(counter *c) { return atomic_load_explicit(c, memory_order_relaxed); }

static size_t bucket_of(const double *bounds, size_t n, double v)
{
    size_t i = 0;
    while (i < n && v > bounds[i])
        i++;
    return i;
}

static size_t status_slot(int status)
{
    for (size_t i = 0; i < N_CODES; i++)
        if (status_codes[i] == status)
            return i;
    if (status >= 100 && status <= 599)
        return N_CODES + (size_t)(status / 100 - 1);
    return N_CODES + 5;
}

static uint64_t micros(double seconds)
{
    return seconds > 0 ? (uint64_t)(seconds * 1e6 + 0.5) : 0;
}

void cg_metrics_http_request(size_t route, int status, double seconds)
{
    if (route >= CG_METRICS_MAX_ROUTES)
        route = CG_METRICS_MAX_ROUTES - 1;
    bump(&http_count[route][status_slot(status)], 1);
    bump(&http_latency[route][bucket_of(cg_metrics_latency_bounds, CG_METRICS_LATENCY_BUCKETS, seconds)], 1);
    bump(&http_latency_us[route], micros(seconds));
}

void cg_metrics_group_commit(size_t items, double seconds, int ok)
{
    bump(&batch_size[bucket_of(cg_metrics_batch_bounds, CG_METRICS_BATCH_BUCKETS, (double)items)], 1);
    bump(&batch_items, items);
    if (!ok) {
        bump(&batch_failed, 1);
        return;
    }
    bump(&batch_commits, 1);
    bump(&fsync_time[bucket_of(cg_metrics_fsync_bounds, CG_METRICS_FSYNC_BUCKETS, seconds)], 1);
    bump(&fsync_us, micros(seconds));
}

void cg_metrics_count(cg_metric_counter c)
{
    if ((unsigned)c < CG_M_COUNTERS)
        bump(&simple[c], 1);
}

void cg_metrics_escalation(const char *level)
{
    if (!level)
        return;
    if (strcmp(level, "community") == 0)
        cg_metrics_count(CG_M_ESCALATIONS_COMMUNITY);
    else if (strcmp(level, "joint") == 0)
        cg_metrics_count(CG_M_ESCALATIONS_JOINT);
    else if (strcmp(level, "city") == 0)
        cg_metrics_count(CG_M_ESCALATIONS_CITY);
}

uint64_t cg_metrics_counter(cg_metric_counter c)
{
    return (unsigned)c < CG_M_COUNTERS ? get(&simple[c]) : 0;
}

const char *cg_metrics_status_label(size_t slot)
{
    if (slot < N_CODES) {
        /* Filled on first use; the same bytes every time, so a race between
         * two readers writes identical values. */
        if (!code_labels[slot][0]) {
            int c = status_codes[slot];
            code_labels[slot][0] = (char)('0' + c / 100);
            code_labels[slot][1] = (char)('0' + c / 10 % 10);
            code_labels[slot][2] = (char)('0' + c % 10);
        }
        return code_labels[slot];
    }
    slot -= N_CODES;
    return slot < 6 ? class_labels[slot] : NULL;
}

uint64_t cg_metrics_http_count(size_t route, size_t status_slot_index)
{
    if (route >= CG_METRICS_MAX_ROUTES || status_slot_index >= CG_METRICS_STATUS_SLOTS)
        return 0;
    return get(&http_count[route][status_slot_index]);
}

void cg_metrics_http_latency(size_t route, uint64_t buckets[CG_METRICS_LATENCY_BUCKETS + 1],
                             double *sum, uint64_t *count)
{
    *count = 0;
    for (size_t i = 0; i <= CG_METRICS_LATENCY_BUCKETS; i++) {
        buckets[i] = route < CG_METRICS_MAX_ROUTES ? get(&http_latency[route][i]) : 0;
        *count += buckets[i];
    }
    *sum = route < CG_METRICS_MAX_ROUTES ? (double)get(&http_latency_us[route]) / 1e6 : 0;
}

void cg_metrics_commit_stats(cg_metrics_commits *out)
{
    for (size_t i = 0; i <= CG_METRICS_BATCH_BUCKETS; i++)
        out->size_buckets[i] = get(&batch_size[i]);
    for (size_t i = 0; i <= CG_METRICS_FSYNC_BUCKETS; i++)
        out->fsync_buckets[i] = get(&fsync_time[i]);
    out->items = get(&batch_items);
    out->commits = get(&batch_commits);
    out->failed = get(&batch_failed);
    out->fsync_seconds = (double)get(&fsync_us) / 1e6;
}
