/*
 * plugin_mock.h — a host for unit-testing a plugin .so without the daemon
 * (after collectd's plugin_mock.c). It dlopens the plugin, checks its ABI
 * answer and descriptor, implements the citygrid_host table in-process with
 * the same rules as the real host (case actions only inside handle() and
 * only for that case, else CITYGRID_E_STATE; empty, over-long or non-UTF-8
 * arguments CITYGRID_E_INVALID, with the daemon's limits: assignee 63 bytes,
 * department 31, note or reason 4000), and records every action handle()
 * asks for.
 *
 * Settings come as a JSON object (the same text the core gives its
 * runtime), cases as the dispatch JSON of COMMON.md, so a test writes what
 * the core would send; ABI 1.3's case_extra_* read that JSON's "extra" and
 * department_names answers from the core's built-in departments. Timers are recorded and fired only on request.
 *
 * Ownership: everything returned points into the mock and lives until the
 * next pm_handle*() (actions) or pm_close() (the rest). Threading: one
 * thread, except that the host's log() may be called from any thread.
 */
#ifndef CG_PLUGIN_MOCK_H
#define CG_PLUGIN_MOCK_H

#include <stddef.h>
#include <stdint.h>
#include <citygrid/plugin.h>

typedef struct plugin_mock plugin_mock;

/* One action handle() asked for, in order. */
typedef struct pm_action {
    char *type;        /* "accept", "assign", "deadline", "transfer", "note" */
    char *case_id;
    char *assignee;    /* assign */
    int64_t at;        /* deadline: unix seconds */
    char *department;  /* transfer */
    char *text;        /* note text, or the transfer's reason */
} pm_action;

/* dlopen `so_path`, ask its ABI (offering the header's), read its
 * descriptor. NULL with err set when the file or an entry point is missing,
 * the ABI is incompatible, or the descriptor is unusable. */
plugin_mock *pm_open(const char *so_path, char *err, size_t errlen);
/* Calls shutdown() if init() succeeded, dlcloses, frees. NULL is fine. */
void pm_close(plugin_mock *m);

const citygrid_plugin *pm_descriptor(const plugin_mock *m);
citygrid_abi pm_plugin_abi(const plugin_mock *m);
/* The host table and ctx the plugin gets, to call host functions directly. */
const citygrid_host *pm_host(const plugin_mock *m);
citygrid_plugin_ctx *pm_ctx(plugin_mock *m);
/* Look up a symbol in the plugin (to prove what it does not export). */
void *pm_symbol(const plugin_mock *m, const char *name);

/* init() with the settings object (NULL: "{}"). Returns init()'s code, or
 * CITYGRID_E_INVALID if settings_json is not a JSON object. */
int pm_init(plugin_mock *m, const char *settings_json);

/* The department catalog host->department_names() (ABI 1.3) answers from,
 * as {CODE:{"name","name_zh"}} JSON text (default: the core's built-in
 * departments); NULL: none, so it answers CITYGRID_E_STATE as the daemon
 * does before it took the plugin. -1 when the text is not a JSON object. */
int pm_set_departments(plugin_mock *m, const char *departments_json);

/* ABI 1.4: what host->source_query() answers for `source`, as JSON text
 * {"fields":["name",...],"rows":[["value",...],...]} (values strings or
 * null); a source never set answers CITYGRID_E_NOTFOUND, as when no plugin
 * serves it. -1 when the text is not of that shape. */
int pm_set_source_answer(plugin_mock *m, const char *source, const char *answer_json);

/* The time host->now() answers (default: the real clock). */
void pm_set_now(plugin_mock *m, int64_t unix_seconds);

/* Lines above `level` are dropped and host->log_enabled() (ABI 1.1) says so,
 * as the daemon does with its log level. Default CITYGRID_LOG_DEBUG: every
 * line is recorded. Any thread. */
void pm_set_log_level(plugin_mock *m, int level);

/* handle() one case given as dispatch JSON (COMMON.md's payload); `attempt`
 * is the delivery number (1 first). Missing fields are empty/0. Returns
 * handle()'s code, or CITYGRID_E_INVALID when the text is not a JSON object
 * (handle() is then not called). Clears the previous actions first. */
int pm_handle_json(plugin_mock *m, const char *dispatch_json, unsigned attempt);
/* handle() a case built by the caller. Clears the previous actions first. */
int pm_handle(plugin_mock *m, const citygrid_case *c);

/* The actions of the last handle() (recorded even when it failed: the real
 * host would then discard them). */
size_t pm_n_actions(const plugin_mock *m);
const pm_action *pm_action_at(const plugin_mock *m, size_t i);
size_t pm_count(const plugin_mock *m, const char *type);
/* The first action of that type, NULL if none. */
const pm_action *pm_find(const plugin_mock *m, const char *type);

/* ABI 1.4: run query() for `source` with params {"q": q}; the rows it added
 * with query_row() (at most max_rows) are kept until the next pm_query().
 * Returns query()'s code, or CITYGRID_E_NOTFOUND when the plugin does not
 * serve that source. */
int pm_query(plugin_mock *m, const char *source, const char *q, unsigned max_rows);
size_t pm_n_rows(const plugin_mock *m);
/* The value of field `field` (the source's order) in row `row`; NULL if none. */
const char *pm_row_value(const plugin_mock *m, size_t row, size_t field);

/* 1 if some logged line contains `needle`. */
int pm_log_contains(plugin_mock *m, const char *needle);
/* Number of timers currently registered; fire one by id (0 ok, -1 none). */
size_t pm_n_timers(const plugin_mock *m);
int pm_fire_timer(plugin_mock *m, long long timer_id);

#endif
