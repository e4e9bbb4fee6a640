/*
 * testapi.h — what every integration test does with its daemon's HTTP API:
 * start it, send a request and check the answer, get a member's token,
 * report a case, read a case and wait for it to change, look into case
 * JSON, and run a Check suite.
 *
 * One daemon at a time: ta_start() (or ta_bind()) names the td_daemon the
 * other helpers talk to (its port and admin token). The test still owns
 * that td_daemon and cleans it up with td_cleanup() in its teardown.
 *
 * Failing: a helper that says it "expects" something aborts the test when
 * it does not hold, through EXPECT: the daemon's log is printed first
 * (td_on_failure) and the message carries the request, the HTTP status and
 * the response body (cut to TA_EXCERPT). No helper returns on a failed
 * expectation.
 *
 * Ownership: json_t results are new references (the caller decrefs) unless
 * said to be borrowed; char * results are malloc'd (the caller frees);
 * const char * results point into a JSON value and live as long as it.
 *
 * One test process, one thread: not thread-safe.
 */
#ifndef CG_TEST_TESTAPI_H
#define CG_TEST_TESTAPI_H

#include <check.h>
#include <jansson.h>

#include "integration/daemon.h"
#include "integration/http_client.h"

/* The department plugins of the default config (td_department_plugins),
 * comma-separated as td_options and ta_start take them. */
#define TA_DEPARTMENT_PLUGINS "enforcement,municipal,sanitation,market,police,volunteer"

/* How much of a body a failure message shows. */
#define TA_EXCERPT "%.3000s"

/* Fail the test after printing the daemons' logs (the message should carry
 * the response body where there is one). */
#define EXPECT(cond, ...)              \
    do {                               \
        if (!(cond)) {                 \
            td_on_failure();           \
            ck_abort_msg(__VA_ARGS__); \
        }                              \
    } while (0)

/* ------------------------------------------------------------ the daemon */

/* Make d the daemon the helpers below talk to (for a daemon not started
 * with ta_start). */
void ta_bind(td_daemon *d);

/* Bind d (zeroed by the caller, e.g. in the setup) and start citygridd with
 * opt (may be NULL); expects it up with an admin token. When ready_plugins
 * (comma-separated names) is not NULL, also expects each of them "ready" in
 * /v1/health within ready_timeout_ms. */
void ta_start(td_daemon *d, const td_options *opt, const char *ready_plugins,
              int ready_timeout_ms);

/* ------------------------------------------------------------ time */

/* Monotonic milliseconds, for deadlines. */
long long ta_mono_ms(void);
void ta_sleep_ms(int ms);

/* ------------------------------------------------------------ requests */

/* GET / POST (JSON body) to the bound daemon; token may be NULL. The
 * response is returned as is, unchecked: hc_response_free it. */
hc_response ta_get(const char *path, const char *token);
hc_response ta_post(const char *path, const char *token, const char *json);

/* Expects r to have this status and a JSON body (any JSON value); returns
 * the parsed body. `what` names the request in the failure message. */
json_t *ta_expect_json(hc_response *r, int status, const char *what);

/* One request (body NULL: none). *status gets the HTTP status (0 when no
 * answer came). Returns the parsed body, or the raw body as a JSON string
 * when it is not a JSON object or array; never NULL. Checks nothing. */
json_t *ta_call(const char *method, const char *path, const char *token, const char *body,
                int *status);

/* One request that expects the status `want`; returns the parsed body, or
 * an empty object when it is not JSON; never NULL. */
json_t *ta_expect_call(const char *method, const char *path, const char *token,
                       const char *body, int want);

/* ta_expect_call for the status alone (the body is dropped). */
void ta_expect_status(const char *method, const char *path, const char *token,
                      const char *body, int want);

/* GET path with the admin token; expects 200 and a JSON body. */
json_t *ta_get_json(const char *path);

/* ------------------------------------------------------------ members and cases */

/* A new bearer token for a member: POST /v1/members/{member}/tokens as the
 * admin, expecting 201 and a token. malloc'd. */
char *ta_token_for(const char *member);

/* POST /v1/cases with this JSON body as `token`, expecting `want` (and an
 * id when want is 201). Returns the case id, or "" when the answer has
 * none (a refusal); malloc'd. */
char *ta_report(const char *token, const char *body, int want);

/* GET /v1/cases/{id} as the admin; expects 200 and JSON. */
json_t *ta_get_case(const char *id);

/* Poll the case (every 50 ms) until its string field `key` equals value;
 * returns that case. Expects it within timeout_ms. */
json_t *ta_wait_case(const char *id, const char *key, const char *value, int timeout_ms);

/* Poll the case (every 100 ms) until its history has a row `action`;
 * returns that case. Expects it within timeout_ms. */
json_t *ta_wait_history(const char *id, const char *action, int timeout_ms);

/* ------------------------------------------------------------ reading JSON */

/* The string value of obj.key; NULL when missing or not a string (obj may
 * be NULL). */
const char *ta_str(json_t *obj, const char *key);
/* The same, but "" instead of NULL: safe to strcmp. */
const char *ta_text(json_t *obj, const char *key);
/* The code of an error body {"error":{"code":...}}; "" when none. */
const char *ta_error_code(json_t *body);

/* A list as API.md shows it: a bare array, or the "items" of an object.
 * Borrowed (NULL when neither). */
json_t *ta_as_list(json_t *j);
/* The first element of the array `list` whose string `key` equals value.
 * Borrowed; NULL when none. */
json_t *ta_find(json_t *list, const char *key, const char *value);

/* Rows of a case's history with this action: how many, the first, the
 * last (borrowed; NULL when none). */
int ta_history_count(json_t *c, const char *action);
json_t *ta_history_find(json_t *c, const char *action);
json_t *ta_history_last(json_t *c, const char *action);

/* Compact JSON text of any value, for messages; "(null)" for NULL. Never
 * NULL; malloc'd. */
char *ta_dump(const json_t *j);

/* ------------------------------------------------------------ the suite */

/* A test case in s with a checked fixture (setup/teardown may be NULL) and
 * a timeout in seconds; add tests to the returned TCase. */
TCase *ta_tcase(Suite *s, const char *name, SFun setup, SFun teardown, int timeout_s);
/* A test case holding one test. */
void ta_add_case(Suite *s, const char *name, const TTest *test, SFun setup, SFun teardown,
                 int timeout_s);
/* Run the suite (CK_NORMAL output) and free it: EXIT_SUCCESS when every
 * test passed, else EXIT_FAILURE. For main(). */
int ta_run(Suite *s);

/* `citygridd --check-config --config FILE` on the file `cfg` refuses it:
 * exit 1, and its output names "FILE:LINE: " and contains `needle`. Fails
 * the running Check test otherwise. */
void ta_expect_config_refused(const char *cfg, int line, const char *needle);

/* The admin password the daemon wrote on its first start (state dir's
 * admin.password, without the line end). malloc'd; fails the test if absent. */
char *ta_admin_password(const td_daemon *d);

#endif
