/* test_cases.c — group commit (batch.c) and cases, history, outbox
 * (cases.c) against a real SQLite file in a temporary directory. */
#include <check.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/batch.h"
#include "case/cases.h"
#include "store/store.h"
#include "lib/timeutil.h"
#include "support/testutil.h"
#include "support/run_suite.h"

static char *dir, *db_path;
static cg_store *st;

static void setup(void)
{
    dir = tu_tempdir("cases");
    db_path = tu_sprintf("%s/citygrid.db", dir);
    char err[512] = "";
    ck_assert_msg(cg_store_open(db_path, &st, err, sizeof err) == 0, "open: %s", err);
}

static void teardown(void)
{
    cg_store_close(st);
    st = NULL;
    tu_rmrf(dir);
    free(dir);
    free(db_path);
}

static long long count(const char *sql_fmt, const char *arg)
{
    char *sql = tu_sprintf(sql_fmt, arg ? arg : "");
    sqlite3_stmt *s = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(st->db, sql, -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    long long n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    free(sql);
    return n;
}

static long long history_count(const char *case_id)
{
    return count("SELECT count(*) FROM case_history WHERE case_id = '%s'", case_id);
}

/* ================================================================ batch */

/* What the second connection sees: only committed rows (WAL snapshot). */
static sqlite3 *reader;

static long long committed_members(void)
{
    sqlite3_stmt *s = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(reader, "SELECT count(*) FROM members", -1, &s, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    long long n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

typedef struct item {
    int index;
    int fail;              /* apply writes, then returns -1 */
    int defer_fk_violation; /* write something COMMIT will refuse */
    int status;            /* from done, -2 = not called */
    char err[128];
    long long seen_committed; /* members visible to another connection at done */
    struct item *submit_from_done;
    cg_batch *batch;
} item;

static int done_order[32], n_done;

static int item_apply(cg_store *s, void *arg, char *err, size_t errlen)
{
    item *it = arg;
    if (it->defer_fk_violation) {
        ck_assert_int_eq(cg_store_exec(s, "PRAGMA defer_foreign_keys=ON"), 0);
        ck_assert_int_eq(cg_store_exec(s, "INSERT INTO tokens(token_hash, member_id, created_at)"
                                          " VALUES ('t', 'nobody', 1)"), 0);
    }
    char *sql = tu_sprintf("INSERT INTO members(id, created_at) VALUES ('m%d', 1)", it->index);
    int rc = cg_store_exec(s, sql);
    free(sql);
    ck_assert_int_eq(rc, 0);
    if (it->fail) {
        snprintf(err, errlen, "item %d refused", it->index);
        return -1;
    }
    return 0;
}

static void item_submit(cg_batch *b, item *it);

static void item_done(void *arg, int status, const char *err)
{
    item *it = arg;
    it->status = status;
    snprintf(it->err, sizeof it->err, "%s", err ? err : "");
    it->seen_committed = committed_members();
    done_order[n_done++] = it->index;
    if (it->submit_from_done)
        item_submit(it->batch, it->submit_from_done);
}

static void item_submit(cg_batch *b, item *it)
{
    it->status = -2;
    it->batch = b;
    cg_batch_submit(b, item_apply, item_done, it);
}

static struct event_base *base;
static cg_batch *batch;

static void batch_setup(void)
{
    setup();
    ck_assert_int_eq(sqlite3_open(db_path, &reader), SQLITE_OK);
    struct event_config *cfg = event_config_new();
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    ck_assert_ptr_nonnull(base);
    ck_assert_int_eq(event_base_priority_init(base, 3), 0);
    batch = cg_batch_new(base, st);
    ck_assert_ptr_nonnull(batch);
    n_done = 0;
}

static void batch_teardown(void)
{
    cg_batch_free(batch);
    event_base_free(base);
    sqlite3_close(reader);
    teardown();
}

static void run_loop_until_quiet(void)
{
    for (int i = 0; i < 10; i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

START_TEST(test_batch_one_commit_in_order)
{
    item items[5] = {{0}};
    for (int i = 0; i < 5; i++) {
        items[i].index = i;
        item_submit(batch, &items[i]);
    }
    ck_assert_int_eq(committed_members(), 0); /* nothing before the loop runs */
    run_loop_until_quiet();
    cg_batch_stats stats;
    cg_batch_get_stats(batch, &stats);
    ck_assert_uint_eq(stats.commits, 1);
    ck_assert_uint_eq(stats.items, 5);
    ck_assert_uint_eq(stats.failed_items, 0);
    ck_assert_uint_eq(stats.largest_batch, 5);
    ck_assert_int_eq(n_done, 5);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(done_order[i], i);
        ck_assert_int_eq(items[i].status, 0);
        /* done runs after COMMIT: another connection already sees all rows */
        ck_assert_int_eq(items[i].seen_committed, 5);
    }
}
END_TEST

START_TEST(test_batch_failing_item_alone)
{
    item items[3] = {{.index = 0}, {.index = 1, .fail = 1}, {.index = 2}};
    for (int i = 0; i < 3; i++)
        item_submit(batch, &items[i]);
    cg_batch_flush(batch);
    ck_assert_int_eq(items[0].status, 0);
    ck_assert_int_eq(items[1].status, -1);
    ck_assert_str_eq(items[1].err, "item 1 refused");
    ck_assert_int_eq(items[2].status, 0);
    ck_assert_int_eq(count("SELECT count(*) FROM members WHERE id IN ('m0','m2')%s", NULL), 2);
    ck_assert_int_eq(count("SELECT count(*) FROM members WHERE id = 'm1'%s", NULL), 0);
    cg_batch_stats stats;
    cg_batch_get_stats(batch, &stats);
    ck_assert_uint_eq(stats.commits, 1);
    ck_assert_uint_eq(stats.failed_items, 1);
    /* the already-activated flush event finds nothing left to do */
    run_loop_until_quiet();
    cg_batch_get_stats(batch, &stats);
    ck_assert_uint_eq(stats.commits, 1);
}
END_TEST

START_TEST(test_batch_submit_from_done_goes_to_next_batch)
{
    item later = {.index = 9};
    item first = {.index = 0, .submit_from_done = &later};
    item_submit(batch, &first);
    cg_batch_flush(batch);
    ck_assert_int_eq(first.status, 0);
    ck_assert_int_eq(later.status, -2); /* not in the batch that was flushing */
    cg_batch_stats stats;
    cg_batch_get_stats(batch, &stats);
    ck_assert_uint_eq(stats.commits, 1);
    run_loop_until_quiet(); /* the submit activated the flush event again */
    ck_assert_int_eq(later.status, 0);
    cg_batch_get_stats(batch, &stats);
    ck_assert_uint_eq(stats.commits, 2);
    ck_assert_uint_eq(stats.largest_batch, 1);
}
END_TEST

/* A normal-priority event that is ready in the same loop turn submits more
 * work: the low-priority flush waits for it, so one commit takes both. */
static void submit_cb(evutil_socket_t fd, short what, void *arg)
{
    item_submit(batch, arg);
}

START_TEST(test_batch_flush_runs_after_other_ready_events)
{
    item a = {.index = 0}, b = {.index = 1};
    struct event *ev = event_new(base, -1, 0, submit_cb, &b);
    event_priority_set(ev, 1);
    item_submit(batch, &a);
    event_active(ev, 0, 1);
    run_loop_until_quiet();
    event_free(ev);
    ck_assert_int_eq(a.status, 0);
    ck_assert_int_eq(b.status, 0);
    cg_batch_stats stats;
    cg_batch_get_stats(batch, &stats);
    ck_assert_uint_eq(stats.commits, 1);
    ck_assert_uint_eq(stats.largest_batch, 2);
}
END_TEST

START_TEST(test_batch_commit_failure)
{
    /* A deferred foreign-key violation is only detected by COMMIT. */
    item items[3] = {{.index = 0}, {.index = 1, .defer_fk_violation = 1}, {.index = 2}};
    for (int i = 0; i < 3; i++)
        item_submit(batch, &items[i]);
    cg_batch_flush(batch);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(items[i].status, -1);
        ck_assert_msg(strstr(items[i].err, "commit failed") != NULL, "err: %s", items[i].err);
    }
    ck_assert_int_eq(count("SELECT count(*) FROM members%s", NULL), 0);
    ck_assert_int_eq(sqlite3_get_autocommit(st->db), 1); /* rolled back, not left open */
    cg_batch_stats stats;
    cg_batch_get_stats(batch, &stats);
    ck_assert_uint_eq(stats.commits, 0);
    ck_assert_uint_eq(stats.failed_items, 3);

    /* and the next batch works */
    item again = {.index = 5};
    item_submit(batch, &again);
    cg_batch_flush(batch);
    ck_assert_int_eq(again.status, 0);
    ck_assert_int_eq(count("SELECT count(*) FROM members%s", NULL), 1);
}
END_TEST

START_TEST(test_batch_free_flushes)
{
    item a = {.index = 0};
    item_submit(batch, &a);
    cg_batch_free(batch);
    batch = NULL;
    ck_assert_int_eq(a.status, 0);
    ck_assert_int_eq(count("SELECT count(*) FROM members%s", NULL), 1);
}
END_TEST

/* ================================================================ cases */

static cg_new_case sample(void)
{
    return (cg_new_case){
        .category = "graffiti", .department = "enforcement", .grid = "LD-YQ-001",
        .description = "paint on the wall", .source = "patrol", .reporter = "m1",
        .lat = 28.4517, .lon = 119.9229, .has_location = 1, .sla_hours = 24,
    };
}

static void insert_ok(const cg_new_case *nc, int64_t now, char id[32], cg_dispatch *d,
                      int *dispatched)
{
    char err[256] = "";
    int rc = cg_cases_insert(st, nc, now, id, d, dispatched, err, sizeof err);
    ck_assert_msg(rc == 0, "insert: %s", err);
}

static const char *const departments[] = {"enforcement", "municipal", "sanitation", "market",
                                          "police"};

static int valid_department(void *arg, const char *code)
{
    (void)arg;
    for (size_t i = 0; i < sizeof departments / sizeof departments[0]; i++)
        if (!strcmp(code, departments[i]))
            return 1;
    return 0;
}

static int apply(const char *dispatch_id, const char *actions_json, int64_t now, cg_dispatch *next,
                 int *has_next, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *actions = json_loads(actions_json, JSON_DECODE_ANY, &jerr);
    ck_assert_msg(actions != NULL, "bad test JSON %s: %s", actions_json, jerr.text);
    int rc = cg_cases_apply_result(st, dispatch_id, "enforcement", actions, now, valid_department,
                                   NULL, next, has_next, err, errlen);
    json_decref(actions);
    return rc;
}

static json_t *get_ok(const char *id)
{
    json_t *c = cg_cases_get(st, id);
    ck_assert_msg(c != NULL, "no case %s", id);
    return c;
}

static const char *str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    ck_assert_msg(json_is_string(v), "%s is not a string", key);
    return json_string_value(v);
}

START_TEST(test_insert_dispatches)
{
    cg_new_case nc = sample();
    json_t *extra = json_pack("{s:s}", "licence_no", "浙K12345");
    nc.extra = extra;
    char id[32];
    cg_dispatch d = {0};
    int dispatched = 0;
    int64_t now = 1764000000123;
    insert_ok(&nc, now, id, &d, &dispatched);
    json_decref(extra);
    ck_assert_str_eq(id, "C00000001");
    ck_assert_int_eq(dispatched, 1);
    ck_assert_str_eq(d.id, "D00000001");
    ck_assert_str_eq(d.case_id, id);
    ck_assert_str_eq(d.department, "enforcement");
    ck_assert_int_eq(cg_outbox_count(st), 1);
    ck_assert_int_eq(cg_cases_count(st), 1);

    json_t *p = json_loads(d.payload, 0, NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(str(p, "id"), id);
    ck_assert_str_eq(str(p, "dispatch_id"), "D00000001");
    ck_assert_str_eq(str(p, "category"), "graffiti");
    ck_assert_str_eq(str(p, "grid"), "LD-YQ-001");
    ck_assert_str_eq(str(p, "level"), "grid");
    ck_assert_str_eq(str(p, "reporter"), "m1");
    ck_assert(json_is_true(json_object_get(p, "has_location")));
    ck_assert_double_eq_tol(json_number_value(json_object_get(p, "lat")), 28.4517, 1e-9);
    ck_assert_int_eq(json_integer_value(json_object_get(p, "reported_at")), 1764000000);
    ck_assert_double_eq(json_number_value(json_object_get(p, "sla_hours")), 24);
    ck_assert(json_is_array(json_object_get(p, "members")));
    ck_assert_str_eq(str(json_object_get(p, "extra"), "licence_no"), "浙K12345");
    json_decref(p);
    cg_dispatch_clear(&d);
    ck_assert_ptr_null(d.payload);

    json_t *c = get_ok(id);
    ck_assert_str_eq(str(c, "status"), "dispatched");
    ck_assert_str_eq(str(c, "level"), "grid");
    ck_assert_str_eq(str(c, "grid"), "LD-YQ-001");
    ck_assert(json_is_null(json_object_get(c, "assignee")));
    /* Issue 4: the core sets the deadline at dispatch (reported + SLA 24 h),
     * long past for this 2025 case, so it is overdue. */
    ck_assert_str_eq(str(c, "expected_at"), "2025-11-26T00:00:00.123+08:00");
    ck_assert(json_is_true(json_object_get(c, "overdue")));
    ck_assert_str_eq(str(c, "reported_at"), "2025-11-25T00:00:00.123+08:00");
    json_t *h = json_object_get(c, "history");
    ck_assert_int_eq(json_array_size(h), 2);
    json_t *h0 = json_array_get(h, 0), *h1 = json_array_get(h, 1);
    ck_assert_str_eq(str(h0, "action"), "report");
    ck_assert_str_eq(str(h0, "actor"), "m1");
    ck_assert(json_is_null(json_object_get(h0, "from")));
    ck_assert_str_eq(str(h0, "to"), "reported");
    ck_assert_str_eq(str(h1, "action"), "dispatch");
    ck_assert_str_eq(str(h1, "actor"), "system");
    ck_assert_str_eq(str(h1, "from"), "reported");
    ck_assert_str_eq(str(h1, "to"), "dispatched");
    ck_assert_str_eq(str(h1, "note"), "enforcement");
    json_decref(c);

    ck_assert_ptr_null(cg_cases_get(st, "C99999999"));
}
END_TEST

START_TEST(test_insert_on_site_and_no_location)
{
    cg_new_case nc = sample();
    nc.handled_on_site = 1;
    nc.has_location = 0;
    nc.grid = "";
    char id[32];
    cg_dispatch d = {0};
    int dispatched = 1;
    insert_ok(&nc, cg_now_ms(), id, &d, &dispatched);
    ck_assert_int_eq(dispatched, 0);
    ck_assert_ptr_null(d.payload);
    ck_assert_int_eq(cg_outbox_count(st), 0);
    json_t *c = get_ok(id);
    ck_assert_str_eq(str(c, "status"), "handled");
    ck_assert(json_is_true(json_object_get(c, "handled_on_site")));
    ck_assert(json_is_null(json_object_get(c, "grid")));
    ck_assert(json_is_null(json_object_get(c, "lat")));
    json_t *h = json_object_get(c, "history");
    ck_assert_int_eq(json_array_size(h), 2);
    ck_assert_str_eq(str(json_array_get(h, 1), "action"), "handle");
    ck_assert_str_eq(str(json_array_get(h, 1), "to"), "handled");
    json_decref(c);
}
END_TEST

/* The reply to POST is built from the report, not read back: it must be
 * exactly what GET /v1/cases/{id} shows. */
START_TEST(test_new_json_matches_stored)
{
    for (int variant = 0; variant < 3; variant++) {
        cg_new_case nc = sample();
        json_t *extra = json_pack("{s:s, s:[i, f]}", "licence_no", "浙K12345", "n", 1, 2.5);
        if (variant == 1) {
            nc.handled_on_site = 1;
            nc.has_location = 0;
            nc.grid = "";
            nc.reporter = "";
            nc.needs_penalty = 1;
        } else if (variant == 2) {
            nc.extra = extra;
            nc.description = NULL;
            nc.source = NULL;
        }
        char id[32];
        cg_dispatch d = {0};
        int dispatched;
        /* Now, not a fixed date: the stored case's "overdue" uses the real
         * clock, and a fresh case is not overdue (the workflow sets expected_at). */
        int64_t now = cg_now_ms() + variant;
        insert_ok(&nc, now, id, &d, &dispatched);
        json_t *made = cg_cases_new_json(&nc, id, now);
        json_t *stored = get_ok(id);
        char *a = json_dumps(made, JSON_COMPACT), *b = json_dumps(stored, JSON_COMPACT);
        ck_assert_msg(json_equal(made, stored), "variant %d:\n built  %s\n stored %s", variant,
                      a, b);
        ck_assert_str_eq(a, b); /* same key order too */
        free(a);
        free(b);
        json_decref(made);
        json_decref(stored);
        json_decref(extra);
        cg_dispatch_clear(&d);
    }
}
END_TEST

/* A case the batch rolls back (its apply fails after inserting) leaves no
 * gap: the next case gets the id it would have had. */
static int insert_then_fail(cg_store *s, void *arg, char *err, size_t errlen)
{
    cg_new_case nc = sample();
    char id[32];
    cg_dispatch d = {0};
    int dispatched;
    ck_assert_int_eq(cg_cases_insert(s, &nc, cg_now_ms(), id, &d, &dispatched, err, errlen), 0);
    cg_dispatch_clear(&d);
    snprintf(err, errlen, "refused after the insert");
    return -1;
}

START_TEST(test_insert_rejects_bad_input)
{
    char id[32], err[256] = "";
    cg_dispatch d = {0};
    int dispatched;
    cg_new_case nc = sample();
    nc.category = "";
    ck_assert_int_eq(cg_cases_insert(st, &nc, 1, id, &d, &dispatched, err, sizeof err), -1);
    ck_assert_str_ne(err, "");
    nc = sample();
    nc.lat = 123;
    ck_assert_int_eq(cg_cases_insert(st, &nc, 1, id, &d, &dispatched, err, sizeof err), -1);
    nc = sample();
    json_t *arr = json_array();
    nc.extra = arr;
    ck_assert_int_eq(cg_cases_insert(st, &nc, 1, id, &d, &dispatched, err, sizeof err), -1);
    json_decref(arr);
    ck_assert_int_eq(cg_cases_count(st), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM case_history%s", NULL), 0);
}
END_TEST

START_TEST(test_apply_accept_assign_deadline)
{
    cg_new_case nc = sample();
    char id[32];
    cg_dispatch d = {0}, next = {0};
    int dispatched, has_next = 7;
    int64_t now = cg_now_ms();
    insert_ok(&nc, now, id, &d, &dispatched);
    char err[256] = "";
    const char *result = "[{\"type\":\"accept\"},{\"type\":\"assign\",\"assignee\":\"m42\"},"
                         "{\"type\":\"deadline\",\"at\":1893456000},"
                         "{\"type\":\"note\",\"text\":\"on our way\"}]";
    ck_assert_int_eq(apply(d.id, result, now + 5000, &next, &has_next, err, sizeof err),
                     CG_APPLY_DONE);
    ck_assert_int_eq(has_next, 0);
    ck_assert_int_eq(cg_outbox_count(st), 0);
    json_t *c = get_ok(id);
    ck_assert_str_eq(str(c, "status"), "accepted");
    ck_assert_str_eq(str(c, "assignee"), "m42");
    ck_assert_str_eq(str(c, "expected_at"), "2030-01-01T08:00:00.000+08:00");
    ck_assert(json_is_false(json_object_get(c, "overdue")));
    json_t *h = json_object_get(c, "history");
    ck_assert_int_eq(json_array_size(h), 6);
    json_t *acc = json_array_get(h, 2);
    ck_assert_str_eq(str(acc, "action"), "accept");
    ck_assert_str_eq(str(acc, "actor"), "plugin:enforcement");
    ck_assert_str_eq(str(acc, "from"), "dispatched");
    ck_assert_str_eq(str(acc, "to"), "accepted");
    ck_assert_str_eq(str(json_array_get(h, 3), "note"), "m42");
    ck_assert_str_eq(str(json_array_get(h, 5), "note"), "on our way");
    char iso[40];
    cg_time_iso(now + 5000, iso, sizeof iso);
    ck_assert_str_eq(str(c, "updated_at"), iso);
    json_decref(c);

    /* the same result again (a redelivery): nothing changes */
    ck_assert_int_eq(apply(d.id, result, now + 9000, &next, &has_next, err, sizeof err),
                     CG_APPLY_DUPLICATE);
    ck_assert_int_eq(has_next, 0);
    ck_assert_int_eq(history_count(id), 6);
    c = get_ok(id);
    ck_assert_str_eq(str(c, "updated_at"), iso);
    json_decref(c);
    cg_dispatch_clear(&d);
}
END_TEST

START_TEST(test_apply_transfer)
{
    cg_new_case nc = sample();
    char id[32];
    cg_dispatch d = {0}, next = {0};
    int dispatched, has_next = 0;
    insert_ok(&nc, cg_now_ms(), id, &d, &dispatched);
    char err[256] = "";
    ck_assert_int_eq(apply(d.id,
                           "[{\"type\":\"assign\",\"assignee\":\"m7\"},"
                           "{\"type\":\"transfer\",\"department\":\"municipal\","
                           "\"reason\":\"a broken lamp, not graffiti\"}]",
                           cg_now_ms(), &next, &has_next, err, sizeof err),
                     CG_APPLY_DONE);
    ck_assert_int_eq(has_next, 1);
    ck_assert_str_ne(next.id, d.id);
    ck_assert_str_eq(next.id, "D00000002");
    ck_assert_str_eq(next.case_id, id);
    ck_assert_str_eq(next.department, "municipal");
    json_t *p = json_loads(next.payload, 0, NULL);
    ck_assert_str_eq(str(p, "dispatch_id"), next.id);
    ck_assert_str_eq(str(p, "department"), "municipal");
    json_decref(p);

    ck_assert_int_eq(cg_outbox_count(st), 1);
    ck_assert_int_eq(count("SELECT count(*) FROM outbox WHERE id = '%s'", next.id), 1);
    json_t *c = get_ok(id);
    ck_assert_str_eq(str(c, "department"), "municipal");
    ck_assert_str_eq(str(c, "status"), "dispatched");
    ck_assert(json_is_null(json_object_get(c, "assignee")));
    json_t *h = json_object_get(c, "history");
    json_t *last = json_array_get(h, json_array_size(h) - 1);
    ck_assert_str_eq(str(last, "action"), "transfer");
    ck_assert_str_eq(str(last, "note"), "enforcement -> municipal: a broken lamp, not graffiti");
    json_decref(c);
    cg_dispatch_clear(&next);
    cg_dispatch_clear(&d);
}
END_TEST

START_TEST(test_apply_bad_actions_change_nothing)
{
    cg_new_case nc = sample();
    char id[32];
    cg_dispatch d = {0}, next = {0};
    int dispatched, has_next = 0;
    insert_ok(&nc, cg_now_ms(), id, &d, &dispatched);
    static const struct {
        const char *actions, *expect;
    } bad[] = {
        {"{\"type\":\"accept\"}", "array"},
        {"[{\"type\":\"accept\"}, 3]", "actions[1]"},
        {"[{\"type\":\"accept\"}, {\"type\":\"fly\"}]", "unknown type"},
        {"[{\"kind\":\"accept\"}]", "type"},
        {"[{\"type\":\"accept\"},{\"type\":\"assign\"}]", "actions[1] (assign): missing"},
        {"[{\"type\":\"assign\",\"assignee\":42}]", "string"},
        {"[{\"type\":\"deadline\"}]", "missing \"at\""},
        {"[{\"type\":\"deadline\",\"at\":\"tomorrow\"}]", "unix seconds"},
        {"[{\"type\":\"transfer\",\"department\":\"nasa\"}]", "unknown department"},
        {"[{\"type\":\"transfer\",\"department\":\"enforcement\"}]", "already"},
        {"[{\"type\":\"transfer\"}]", "missing \"department\""},
        {"[{\"type\":\"transfer\",\"department\":\"police\"},{\"type\":\"accept\"}]", "last"},
        {"[{\"type\":\"note\",\"text\":{}}]", "string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        ck_assert_int_eq(apply(d.id, bad[i].actions, cg_now_ms(), &next, &has_next, err,
                               sizeof err),
                         CG_APPLY_ERROR);
        ck_assert_msg(strstr(err, bad[i].expect) != NULL, "%s: err \"%s\" lacks \"%s\"",
                      bad[i].actions, err, bad[i].expect);
        ck_assert_int_eq(has_next, 0);
        ck_assert_int_eq(history_count(id), 2);
        ck_assert_int_eq(cg_outbox_count(st), 1);
        json_t *c = get_ok(id);
        ck_assert_str_eq(str(c, "status"), "dispatched");
        ck_assert_str_eq(str(c, "department"), "enforcement");
        ck_assert(json_is_null(json_object_get(c, "assignee")));
        json_decref(c);
    }
    ck_assert_int_eq(sqlite3_get_autocommit(st->db), 1);
    cg_dispatch_clear(&d);
}
END_TEST

START_TEST(test_apply_to_cancelled_case_is_ignored)
{
    cg_new_case nc = sample();
    char id[32], err[256] = "";
    cg_dispatch d = {0}, next = {0};
    int dispatched, has_next = 0;
    insert_ok(&nc, cg_now_ms(), id, &d, &dispatched);
    char *sql = tu_sprintf("UPDATE cases SET status = 'cancelled' WHERE id = '%s'", id);
    ck_assert_int_eq(cg_store_exec(st, sql), 0);
    free(sql);
    ck_assert_int_eq(apply(d.id, "[{\"type\":\"accept\"},{\"type\":\"assign\",\"assignee\":\"x\"}]",
                           cg_now_ms(), &next, &has_next, err, sizeof err),
                     CG_APPLY_DONE);
    ck_assert_int_eq(cg_outbox_count(st), 0);
    json_t *c = get_ok(id);
    ck_assert_str_eq(str(c, "status"), "cancelled");
    ck_assert(json_is_null(json_object_get(c, "assignee")));
    json_t *h = json_object_get(c, "history");
    ck_assert_int_eq(json_array_size(h), 3);
    ck_assert_str_eq(str(json_array_get(h, 2), "note"), "result ignored: case is cancelled");
    json_decref(c);
    cg_dispatch_clear(&d);
}
END_TEST

START_TEST(test_ids_never_reused)
{
    cg_new_case nc = sample();
    char id[32], err[256] = "";
    cg_dispatch d = {0}, next = {0};
    int dispatched, has_next;
    insert_ok(&nc, cg_now_ms(), id, &d, &dispatched);
    ck_assert_int_eq(apply(d.id, "[]", cg_now_ms(), &next, &has_next, err, sizeof err),
                     CG_APPLY_DONE);
    ck_assert_int_eq(cg_outbox_count(st), 0); /* the newest outbox row is gone */
    cg_dispatch_clear(&d);
    cg_store_close(st);
    ck_assert_int_eq(cg_store_open(db_path, &st, err, sizeof err), 0);
    insert_ok(&nc, cg_now_ms(), id, &d, &dispatched);
    ck_assert_str_eq(id, "C00000002");
    ck_assert_str_eq(d.id, "D00000002");
    cg_dispatch_clear(&d);
}
END_TEST



/* A case written from a batch item, as flow.c does. */
typedef struct case_job {
    cg_new_case nc;
    char id[32];
    cg_dispatch d;
    int dispatched, status;
} case_job;

static int case_job_apply(cg_store *s, void *arg, char *err, size_t errlen)
{
    case_job *j = arg;
    return cg_cases_insert(s, &j->nc, cg_now_ms(), j->id, &j->d, &j->dispatched, err, errlen);
}

static void case_job_done(void *arg, int status, const char *err)
{
    ((case_job *)arg)->status = status;
}

START_TEST(test_cases_in_batch)
{
    /* a case written through the batch, beside a failing item */
    item bad = {.index = 1, .fail = 1};
    cg_new_case nc = sample();
    char id[32];
    cg_dispatch d = {0};
    int dispatched = 0;
    insert_ok(&nc, cg_now_ms(), id, &d, &dispatched); /* outside any transaction */
    cg_dispatch_clear(&d);
    case_job good = {.nc = sample()}, refused = {.nc = sample()};
    refused.nc.category = ""; /* cg_cases_insert refuses it */
    item_submit(batch, &bad);
    cg_batch_submit(batch, case_job_apply, case_job_done, &good);
    cg_batch_submit(batch, case_job_apply, case_job_done, &refused);
    cg_batch_flush(batch);
    ck_assert_int_eq(bad.status, -1);
    ck_assert_int_eq(good.status, 0);
    ck_assert_int_eq(refused.status, -1);
    ck_assert_str_eq(good.id, "C00000002");
    ck_assert_str_eq(good.d.id, "D00000002");
    ck_assert_int_eq(cg_cases_count(st), 2);
    ck_assert_int_eq(cg_outbox_count(st), 2);
    json_t *c = get_ok(good.id);
    ck_assert_int_eq(json_array_size(json_object_get(c, "history")), 2);
    json_decref(c);
    cg_dispatch_clear(&good.d);
}
END_TEST

START_TEST(test_batch_rollback_leaves_no_gap)
{
    case_job first = {.nc = sample()}, after = {.nc = sample()}, next = {.nc = sample()};
    cg_batch_submit(batch, case_job_apply, case_job_done, &first);
    cg_batch_submit(batch, insert_then_fail, NULL, NULL);
    cg_batch_submit(batch, case_job_apply, case_job_done, &after);
    cg_batch_flush(batch);
    ck_assert_int_eq(first.status, 0);
    ck_assert_int_eq(after.status, 0);
    ck_assert_str_eq(first.id, "C00000001");
    ck_assert_str_eq(first.d.id, "D00000001");
    ck_assert_str_eq(after.id, "C00000002");
    ck_assert_str_eq(after.d.id, "D00000002");
    /* and the next transaction goes on from there */
    cg_batch_submit(batch, case_job_apply, case_job_done, &next);
    cg_batch_flush(batch);
    ck_assert_int_eq(next.status, 0);
    ck_assert_str_eq(next.id, "C00000003");
    ck_assert_str_eq(next.d.id, "D00000003");
    ck_assert_int_eq(cg_cases_count(st), 3);
    ck_assert_int_eq(cg_outbox_count(st), 3);
    cg_dispatch_clear(&first.d);
    cg_dispatch_clear(&after.d);
    cg_dispatch_clear(&next.d);
}
END_TEST

static void insert_at(const char *department, const char *grid, int64_t now, char id[32],
                      cg_dispatch *d)
{
    cg_new_case nc = sample();
    nc.department = department;
    nc.grid = grid;
    int dispatched;
    insert_ok(&nc, now, id, d, &dispatched);
}

static json_t *list(cg_case_filter f)
{
    json_t *l = cg_cases_list(st, &f);
    ck_assert_ptr_nonnull(l);
    return l;
}

static size_t n_items(json_t *l) { return json_array_size(json_object_get(l, "items")); }
static const char *item_id(json_t *l, size_t i)
{
    return str(json_array_get(json_object_get(l, "items"), i), "id");
}

START_TEST(test_list_filters_and_paging)
{
    int64_t t0 = 1764000000000;
    char ids[6][32];
    cg_dispatch ds[6] = {{0}};
    insert_at("enforcement", "G1", t0 + 0, ids[0], &ds[0]);
    insert_at("municipal", "G1", t0 + 1000, ids[1], &ds[1]);
    insert_at("enforcement", "G2", t0 + 2000, ids[2], &ds[2]);
    insert_at("police", "G2", t0 + 3000, ids[3], &ds[3]);
    insert_at("enforcement", "G1", t0 + 4000, ids[4], &ds[4]);
    insert_at("market", "G3", t0 + 5000, ids[5], &ds[5]);

    char err[256] = "";
    cg_dispatch next = {0};
    int has_next;
    /* ids[2]: accepted, assigned, deadline in the past -> overdue */
    ck_assert_int_eq(apply(ds[2].id, "[{\"type\":\"accept\"},{\"type\":\"assign\",\"assignee\":"
                                     "\"m9\"},{\"type\":\"deadline\",\"at\":1764000100}]",
                           t0 + 6000, &next, &has_next, err, sizeof err),
                     CG_APPLY_DONE);
    int64_t now = t0 + 200000;

    json_t *l = list((cg_case_filter){.limit = 100, .now_ms = now});
    ck_assert_int_eq(n_items(l), 6);
    ck_assert_str_eq(item_id(l, 0), ids[5]); /* newest first */
    ck_assert_str_eq(item_id(l, 5), ids[0]);
    ck_assert(json_is_null(json_object_get(l, "next")));
    ck_assert_ptr_null(json_object_get(json_array_get(json_object_get(l, "items"), 0), "history"));
    json_decref(l);

    l = list((cg_case_filter){.department = "enforcement", .limit = 100, .now_ms = now});
    ck_assert_int_eq(n_items(l), 3);
    json_decref(l);
    l = list((cg_case_filter){.grid = "G1", .department = "enforcement", .limit = 100});
    ck_assert_int_eq(n_items(l), 2);
    ck_assert_str_eq(item_id(l, 0), ids[4]);
    json_decref(l);
    l = list((cg_case_filter){.status = "accepted", .limit = 100});
    ck_assert_int_eq(n_items(l), 1);
    ck_assert_str_eq(item_id(l, 0), ids[2]);
    json_decref(l);
    l = list((cg_case_filter){.assignee = "m9", .limit = 100});
    ck_assert_int_eq(n_items(l), 1);
    json_decref(l);
    l = list((cg_case_filter){.level = "city", .limit = 100});
    ck_assert_int_eq(n_items(l), 0);
    json_decref(l);
    l = list((cg_case_filter){.since_ms = t0 + 3000, .limit = 100});
    ck_assert_int_eq(n_items(l), 3);
    json_decref(l);
    l = list((cg_case_filter){.overdue = 1, .now_ms = now, .limit = 100});
    ck_assert_int_eq(n_items(l), 1);
    ck_assert_str_eq(item_id(l, 0), ids[2]);
    ck_assert(json_is_true(json_object_get(json_array_get(json_object_get(l, "items"), 0),
                                           "overdue")));
    json_decref(l);
    l = list((cg_case_filter){.overdue = 1, .now_ms = t0, .limit = 100}); /* not yet due */
    ck_assert_int_eq(n_items(l), 0);
    json_decref(l);

    /* paging: 2 + 2 + 2, then no cursor */
    const char *cursor = NULL;
    char keep[64] = "";
    size_t seen = 0;
    for (int page = 0; page < 3; page++) {
        l = list((cg_case_filter){.limit = 2, .cursor = cursor});
        ck_assert_int_eq(n_items(l), 2);
        for (size_t i = 0; i < 2; i++, seen++)
            ck_assert_str_eq(item_id(l, i), ids[5 - seen]);
        json_t *nx = json_object_get(l, "next");
        if (page < 2) {
            ck_assert(json_is_string(nx));
            snprintf(keep, sizeof keep, "%s", json_string_value(nx));
            cursor = keep;
        } else {
            ck_assert(json_is_null(nx));
        }
        json_decref(l);
    }
    ck_assert_ptr_null(cg_cases_list(st, &(cg_case_filter){.limit = 2, .cursor = "abc"}));
    ck_assert_ptr_null(cg_cases_list(st, &(cg_case_filter){.limit = 2, .cursor = "-5"}));
    ck_assert_ptr_null(
        cg_cases_list(st, &(cg_case_filter){.limit = 2, .cursor = "99999999999999999999999"}));
    for (int i = 0; i < 6; i++)
        cg_dispatch_clear(&ds[i]);
}
END_TEST

typedef struct loaded {
    int n;
    char ids[8][32];
    int payload_ok;
} loaded;

static void on_load(void *arg, cg_dispatch *d)
{
    loaded *l = arg;
    snprintf(l->ids[l->n++], 32, "%s", d->id);
    json_t *p = json_loads(d->payload, 0, NULL);
    if (p && !strcmp(json_string_value(json_object_get(p, "dispatch_id")), d->id))
        l->payload_ok++;
    json_decref(p);
    cg_dispatch_clear(d); /* ours now */
}

START_TEST(test_outbox_load_after_reopen)
{
    char ids[3][32], err[256] = "";
    cg_dispatch ds[3] = {{0}}, next = {0};
    int has_next;
    for (int i = 0; i < 3; i++)
        insert_at("sanitation", "G1", cg_now_ms(), ids[i], &ds[i]);
    ck_assert_int_eq(apply(ds[1].id, "[{\"type\":\"accept\"}]", cg_now_ms(), &next, &has_next, err,
                           sizeof err),
                     CG_APPLY_DONE);
    cg_store_close(st);
    ck_assert_int_eq(cg_store_open(db_path, &st, err, sizeof err), 0);
    loaded l = {0};
    ck_assert_int_eq(cg_outbox_load(st, on_load, &l), 0);
    ck_assert_int_eq(l.n, 2);
    ck_assert_str_eq(l.ids[0], ds[0].id); /* oldest first */
    ck_assert_str_eq(l.ids[1], ds[2].id);
    ck_assert_int_eq(l.payload_ok, 2);
    for (int i = 0; i < 3; i++)
        cg_dispatch_clear(&ds[i]);
}
END_TEST

static Suite *cases_suite(void)
{
    Suite *s = suite_create("cases");
    TCase *tb = tcase_create("batch");
    tcase_add_checked_fixture(tb, batch_setup, batch_teardown);
    tcase_add_test(tb, test_batch_one_commit_in_order);
    tcase_add_test(tb, test_batch_failing_item_alone);
    tcase_add_test(tb, test_batch_submit_from_done_goes_to_next_batch);
    tcase_add_test(tb, test_batch_flush_runs_after_other_ready_events);
    tcase_add_test(tb, test_batch_commit_failure);
    tcase_add_test(tb, test_batch_free_flushes);
    tcase_add_test(tb, test_cases_in_batch);
    tcase_add_test(tb, test_batch_rollback_leaves_no_gap);
    suite_add_tcase(s, tb);

    TCase *tc = tcase_create("cases");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_insert_dispatches);
    tcase_add_test(tc, test_insert_on_site_and_no_location);
    tcase_add_test(tc, test_new_json_matches_stored);
    tcase_add_test(tc, test_insert_rejects_bad_input);
    tcase_add_test(tc, test_apply_accept_assign_deadline);
    tcase_add_test(tc, test_apply_transfer);
    tcase_add_test(tc, test_apply_bad_actions_change_nothing);
    tcase_add_test(tc, test_apply_to_cancelled_case_is_ignored);
    tcase_add_test(tc, test_ids_never_reused);
    tcase_add_test(tc, test_list_filters_and_paging);
    tcase_add_test(tc, test_outbox_load_after_reopen);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(cases_suite());
}
