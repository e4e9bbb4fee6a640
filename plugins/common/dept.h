/*
 * dept.h — what the department plugins share: per-instance state, the
 * common "take the case" step (accept, choose an assignee, set the deadline,
 * say who took it), the penalty hand-over to enforcement, safe reading of
 * settings. A case's extra fields and the departments' names come from the
 * host (ABI 1.3: case_extra_*, department_names), not from a parser here.
 *
 * Compiled into every department .so with -fvisibility=hidden: nothing here
 * is exported, each plugin keeps its own copy. Only <citygrid/plugin.h> and
 * libc are used, so a department can build its plugin with a C compiler alone.
 *
 * Threading: an instance's functions run on that instance's thread (see
 * plugin.h). The ctx -> state registry is the only shared data and is locked,
 * because two instances of one .so (hot reload) run on two threads.
 */
#ifndef CITYGRID_DEPT_H
#define CITYGRID_DEPT_H

#include <stddef.h>
#include <stdint.h>
#include <citygrid/plugin.h>

/* The host refuses longer values (an assignee of 63 bytes, a transfer's
 * department of 31), so settings are checked against them at init. */
#define DEPT_CODE_MAX 32      /* department code + NUL */
#define DEPT_ASSIGNEE_MAX 64  /* "queue:NAME" + NUL */

/* One plugin instance. Created by dept_init(), freed by dept_shutdown(). */
typedef struct dept {
    citygrid_plugin_ctx *ctx;
    const citygrid_host *host;
    const citygrid_plugin *desc;
    char queue[DEPT_ASSIGNEE_MAX];              /* "queue:CODE", or setting "queue" */
    char penalty_department[DEPT_CODE_MAX];     /* setting "penalty_department" */
    void *own;                                  /* the department's own settings */
    void (*own_free)(void *own);
    struct dept *next;                          /* registry link */
} dept;

/* ------------------------------------------------------------ lifecycle */

/* Check the host, read the common setting "queue", register the instance.
 * CITYGRID_E_INVALID (logged) for a host too old or a bad setting;
 * CITYGRID_E_STATE if ctx is already initialised; CITYGRID_E_NOMEM. */
int dept_init(citygrid_plugin_ctx *ctx, const citygrid_host *host,
              const citygrid_plugin *desc);
/* Read setting "penalty_department" (default "enforcement"): a department
 * code ([a-z0-9_-]{1,31}) other than our own, else CITYGRID_E_INVALID
 * (logged). */
int dept_read_penalty_department(dept *d);
/* The instance for ctx, or NULL before init / after shutdown. */
dept *dept_of(citygrid_plugin_ctx *ctx);
/* Give the instance its department's own settings; `own_free` (may be NULL)
 * is called on them at shutdown. */
void dept_set_own(dept *d, void *own, void (*own_free)(void *own));
/* Unregister and free. Safe to call for an unknown ctx. */
void dept_shutdown(citygrid_plugin_ctx *ctx);

/* ------------------------------------------------------------ handling */

/* Start handle(): the instance and a sanity check of the case.
 * CITYGRID_OK with *out set; CITYGRID_E_STATE (not initialised) or
 * CITYGRID_E_INVALID (no case, no id, a struct older than ABI 1.0). */
int dept_begin(citygrid_plugin_ctx *ctx, const citygrid_case *c, dept **out);

/* The member with the fewest open cases (ties: the smallest id by strcmp);
 * NULL when there is none with an id. */
const citygrid_member *dept_pick_member(const citygrid_case *c);

/* The case's deadline: reported_at + hours*3600, rounded up to the second.
 * 0 when hours is not a positive finite number (no deadline is set). When
 * reported_at is unknown (<= 0) the host's now() is the start. */
int64_t dept_deadline_after(const dept *d, const citygrid_case *c, double hours);

/* Take the case: accept, assign (dept_pick_member or the queue), set the
 * deadline (skipped when 0) and note who took it, e.g.
 * "综合行政执法 accepted; assigned to queue:enforcement". The first host
 * error stops and is returned (handle() must return it: nothing commits). */
int dept_take(dept *d, const citygrid_case *c, int64_t deadline);

/* Municipal and sanitation: a violation that needs an administrative
 * penalty goes to d->penalty_department. Returns 1 when it applies (the case
 * must then not be accepted), 0 when not; *rc gets the host's answer. */
int dept_transfer_for_penalty(dept *d, const citygrid_case *c, int *rc);

/* The whole of init() and handle() for a department that passes penalty
 * matters on (municipal, sanitation): init also reads "penalty_department";
 * handle transfers a needs_penalty case there, else takes it with the
 * category's SLA. */
int dept_init_passing_penalties(citygrid_plugin_ctx *ctx, const citygrid_host *host,
                                const citygrid_plugin *desc);
int dept_handle_passing_penalties(citygrid_plugin_ctx *ctx, const citygrid_case *c);

/* The common handle(): begin, take the case with the category's SLA, then
 * `after` (may be NULL) for what the department adds (a penalty to decide,
 * a licence to link). The first error stops and is returned. */
int dept_handle_taking(citygrid_plugin_ctx *ctx, const citygrid_case *c,
                       int (*after)(dept *d, const citygrid_case *c));

/* Add a note; returns the host's code. printf-style, truncated at 1 KiB. */
int dept_note(dept *d, const citygrid_case *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* on_event() for every department (ABI 1.2): log what happened to one of
 * our cases (a verb by a person, or an automatic escalation) at info level
 * (escalations at notice), so the department's log shows every step. */
int dept_on_event(citygrid_plugin_ctx *ctx, const citygrid_case *c, const citygrid_event *ev);

/* ------------------------------------------------------------ descriptor */

/* The descriptor of a department plugin: the plugin's name is its
 * department's code; what differs is the Chinese name, the categories,
 * init, handle and on_event; shutdown is always dept_shutdown. Use:
 *   static const citygrid_plugin x_plugin =
 *       DEPT_PLUGIN_DESCRIPTOR("x", "名称", x_categories, x_init, x_handle, dept_on_event);
 *   CITYGRID_PLUGIN_DEFINE(x_plugin) */
#define DEPT_PLUGIN_VERSION "1.0.0"
#define DEPT_PLUGIN_DESCRIPTOR(code, name_zh, category_list, init_fn, handle_fn, event_fn) \
    {                                                                                    \
        .struct_size = sizeof(citygrid_plugin), .name = (code),                          \
        .version = DEPT_PLUGIN_VERSION, .department = (code), .department_zh = (name_zh), \
        .categories = (category_list), .init = (init_fn), .handle = (handle_fn),         \
        .shutdown = dept_shutdown, .on_event = (event_fn),                               \
    }

/* ------------------------------------------------------------ settings */

/* A number setting written either as an integer or as a real ("2" or "2.5"
 * in the config); `def` when missing or of another type. */
double dept_setting_number(const dept *d, const char *key, double def);

#endif
