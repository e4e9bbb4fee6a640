/*
 * citygrid/plugin.h — the contract between citygridd and a department plugin.
 *
 * A plugin is a shared object that exports exactly two symbols (everything
 * else should be hidden):
 *
 *   citygrid_abi citygrid_plugin_abi(size_t n_offered, const citygrid_abi *offered);
 *   const citygrid_plugin *citygrid_plugin_describe(void);
 *
 * The CITYGRID_PLUGIN_DEFINE() macro below writes both for you.
 *
 * ABI rule: the core offers the versions it speaks (today one: its own).
 * The plugin answers with the version it was built against. It loads when the
 * majors are equal and the plugin's minor is <= the core's minor; anything
 * else is refused and the log names both versions. New host functions and
 * descriptor fields are only ever appended, and `struct_size` / `size`
 * fields tell each side how much of the other's struct exists.
 *
 * What each minor added (a minor only ever appends):
 *   1.0  the host table from `log` to `now`; citygrid_case; citygrid_plugin.
 *   1.1  citygrid_host.log_enabled.
 *   1.2  citygrid_host.case_escalate, case_require, case_link;
 *        citygrid_plugin.on_event (taken from the reserved room, so the
 *        descriptor keeps its size) and citygrid_event: the plugin sees the
 *        workflow's transitions and escalations. The core calls on_event
 *        only for a plugin answering 1.2 or newer.
 *   1.3  citygrid_host.case_extra_string, case_extra_number, case_extra_bool
 *        (a dispatched case's extra fields, so a plugin needs no JSON
 *        parser) and department_names (a department code's English and
 *        Chinese names, as the core's catalog has them).
 *   1.4  data sources: citygrid_source, citygrid_query;
 *        citygrid_plugin.sources and citygrid_plugin.query (two pointers
 *        taken from the reserved room, so the descriptor keeps its size);
 *        citygrid_host.query_row. The core reads sources and calls query
 *        only for a plugin answering 1.4 or newer. Appended later in 1.4:
 *        citygrid_host.source_query (a plugin asks a source through the
 *        core; check CITYGRID_HOST_HAS before calling it).
 *
 * What this means for a plugin, precisely:
 *   - A plugin answering 1.N runs on every core 1.M with M >= N, and may call
 *     every host function of minors <= N without checking: the core only
 *     loads it when its table has them (host->size >= the 1.N table's size).
 *     So a 1.0 plugin runs unchanged on a 1.1 core; it never sees the
 *     functions appended after its header, and needs no rebuild.
 *   - A 1.1 plugin is refused by a 1.0 core (it could call log_enabled,
 *     which a 1.0 table lacks). CITYGRID_PLUGIN_DEFINE answers the minor of
 *     the header you build with, so rebuilding with a newer header raises
 *     your requirement.
 *   - To build with a newer header and still run on older cores, answer the
 *     oldest minor you need with CITYGRID_PLUGIN_DEFINE_ABI(desc, 0) and
 *     guard every call to a newer function with CITYGRID_HOST_HAS(host, fn)
 *     (it compares host->size with offsetof + sizeof of that member).
 *
 * Threading: each plugin instance runs on ONE thread of its own (a thread of
 * citygridd in `thread` mode, the main thread of citygrid-plugind in
 * `process` and `remote` mode). Every callback below is called on that
 * thread, one at a time, never concurrently; host functions must be called
 * from that thread too (they are not thread-safe) except `log`, which may be
 * called from any thread. The plugin cannot tell which mode it runs in.
 *
 * Ownership: every pointer the host passes in (the case, strings, the host
 * table) is owned by the host. Strings inside a citygrid_case are valid only
 * until the callback returns: copy what you keep. The host table and the
 * context pointer stay valid from init() until shutdown() returns. Strings the
 * plugin passes to host functions are copied by the host before it returns.
 *
 * No libevent, ZeroMQ, SQLite or libconfig type appears here on purpose: a
 * department can build its plugin with nothing but a C compiler and this file.
 */
#ifndef CITYGRID_PLUGIN_H
#define CITYGRID_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI this header describes. */
#define CITYGRID_ABI_MAJOR 1
#define CITYGRID_ABI_MINOR 4

typedef struct citygrid_abi {
    uint16_t major;
    uint16_t minor;
} citygrid_abi;

/* Return codes of host functions and plugin callbacks. */
enum citygrid_status {
    CITYGRID_OK = 0,
    CITYGRID_E_INVALID = -1,  /* an argument is NULL, empty or malformed      */
    CITYGRID_E_STATE = -2,    /* not allowed now (e.g. a case action outside
                                 handle() for that case)                        */
    CITYGRID_E_NOMEM = -3,    /* out of memory                                  */
    CITYGRID_E_NOTFOUND = -4, /* no such setting, timer or department           */
    CITYGRID_E_RETRY = -5     /* plugin: "cannot handle it now, deliver again
                                 later" (the core backs off and re-delivers)    */
};

/* Log levels, as in syslog. */
enum citygrid_log_level {
    CITYGRID_LOG_ERROR = 3,
    CITYGRID_LOG_WARNING = 4,
    CITYGRID_LOG_NOTICE = 5,
    CITYGRID_LOG_INFO = 6,
    CITYGRID_LOG_DEBUG = 7
};

/* Opaque per-instance context, created by the host. */
typedef struct citygrid_plugin_ctx citygrid_plugin_ctx;

/* A member the plugin may assign (filled once the staff registry knows the
 * grid's members of the plugin's department; may be empty). */
typedef struct citygrid_member {
    const char *id;
    const char *name;
    const char *role;        /* leader, instructor, fulltime, professional, optional */
    int open_cases;          /* cases open for this member in all the grids they serve */
} citygrid_member;

/* A case handed to handle(). Owned by the host; valid during the call only.
 * Strings are UTF-8 and never NULL (empty when unknown). */
typedef struct citygrid_case {
    size_t struct_size;        /* sizeof as the host built it: check before
                                  reading fields added after ABI 1.0 */
    const char *id;            /* case id, e.g. "C00000042"                     */
    const char *dispatch_id;   /* the delivery's id: re-deliveries repeat it   */
    const char *category;      /* e.g. "street_stall"                          */
    const char *department;    /* department the case is dispatched to         */
    const char *grid;          /* 14-digit grid code, or ""                    */
    const char *description;
    const char *source;        /* "patrol", "citizen", "camera", ...           */
    const char *level;         /* grid, community, joint, city                 */
    const char *reporter;      /* member id of the reporter                    */
    double lat, lon;           /* WGS84; valid when has_location               */
    int has_location;
    int needs_penalty;         /* reporter says an administrative penalty is due */
    double sla_hours;          /* the category's deadline, hours               */
    int64_t reported_at;       /* unix seconds                                 */
    unsigned attempt;          /* 1 on first delivery, 2+ on re-delivery       */
    const citygrid_member *members; /* candidates of this department in the grid */
    size_t n_members;
    const char *json;          /* the whole dispatched case as JSON text, for
                                  fields this struct does not name (ABI 1.3:
                                  read its "extra" with case_extra_*)          */
} citygrid_case;

typedef void (*citygrid_timer_fn)(citygrid_plugin_ctx *ctx, void *arg);

/* ABI 1.2: something happened to a case of this department that the plugin
 * did not do itself: a workflow verb by a person (accept, handle, review,
 * escalate, postpone, cancel, ...) or an automatic escalation of an overdue
 * case. Owned by the host; valid during on_event() only. Strings never NULL. */
typedef struct citygrid_event {
    size_t struct_size;
    const char *kind;          /* "transition" or "escalation"                 */
    const char *verb;          /* the verb, or "escalate" / "overdue" (timer)  */
    const char *from, *to;     /* statuses before and after                     */
    const char *actor;         /* member id, or "system"                        */
    const char *level;         /* the case's level after the step               */
    const char *note;
    int64_t at;                /* unix seconds                                  */
} citygrid_event;

/* ABI 1.4: one field of a data source's rows, and how sensitive it is. The
 * core masks a field by its class for a role that may not see it whole:
 * "id_number" (3311**********1234), "phone" (138****5678), "name" (the
 * given name hidden), "address", "plate", "public" (never masked). Names and
 * classes are [a-z0-9_]{1,31}. Static data, owned by the plugin. */
typedef struct citygrid_source_field {
    const char *name;          /* e.g. "id_number", "owner_name", "lat"        */
    const char *sensitivity;   /* the class, e.g. "id_number", "public"        */
} citygrid_source_field;

/* ABI 1.4: a data source the plugin serves (persons, vehicles, companies,
 * offenders, property_owners, cameras, or the city's own). Static data,
 * owned by the plugin, valid while the .so is loaded. */
typedef struct citygrid_source {
    size_t struct_size;        /* sizeof(citygrid_source) as the plugin built it */
    const char *name;          /* [a-z0-9_]{1,31}: the URL's {name}            */
    const char *title_zh;      /* e.g. "人口信息"                                */
    const citygrid_source_field *fields; /* the columns of every row, in order */
    size_t n_fields;           /* 1..64                                          */
    int spatial;               /* 1: rows have "lat" and "lon" fields and the
                                  query may carry a point and a radius; the core
                                  keeps only rows inside the caller's grids    */
} citygrid_source;

/* ABI 1.4: one query, handed to query(). Owned by the host; valid during the
 * call only. The core has already decided that the caller may ask it and
 * will mask and audit the answer: the plugin only finds rows. Strings are
 * UTF-8 and never NULL. */
typedef struct citygrid_query {
    size_t struct_size;
    const char *id;            /* the query's id (logs; not an idempotency key:
                                  a query is never re-sent)                   */
    const char *source;        /* the name of one of this plugin's sources    */
    const char *q;             /* free text: a name, a plate, an ID number, a
                                  company's name or code, an address ("" if none) */
    double lat, lon, radius_m; /* spatial sources: valid when has_point        */
    int has_point;
    const char *params_json;   /* every parameter as a JSON object's text     */
    unsigned max_rows;         /* query_row() takes at most this many rows     */
    int64_t deadline_ms;       /* unix ms: after it nobody waits for the answer */
} citygrid_query;

/*
 * The host API table. Handed to init(); valid until shutdown() returns.
 * Only ever grows at the end; each function added after 1.0 is marked with
 * the minor that added it (see the ABI rule at the top for when to check
 * `size`).
 */
typedef struct citygrid_host {
    size_t size;               /* sizeof(citygrid_host) as the host built it */
    citygrid_abi abi;          /* the ABI the host speaks                     */

    /* Log a line tagged with the plugin's name. Any thread. */
    void (*log)(citygrid_plugin_ctx *ctx, int level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

    /* Settings from the plugin's `settings = { ... }` group in the config.
     * Return the default when the key is missing or of another type. The
     * returned string is owned by the host, valid until shutdown(). */
    const char *(*setting_string)(citygrid_plugin_ctx *ctx, const char *key, const char *def);
    long long (*setting_int)(citygrid_plugin_ctx *ctx, const char *key, long long def);
    double (*setting_double)(citygrid_plugin_ctx *ctx, const char *key, double def);
    int (*setting_bool)(citygrid_plugin_ctx *ctx, const char *key, int def);

    /* Acting on a case. Valid only inside handle() and only for the case being
     * handled (else CITYGRID_E_STATE). The actions are collected and committed
     * by the core, in order, in one transaction, after handle() returns
     * CITYGRID_OK; if handle() returns an error none of them happen. */
    int (*case_accept)(citygrid_plugin_ctx *ctx, const char *case_id);
    int (*case_assign)(citygrid_plugin_ctx *ctx, const char *case_id, const char *assignee);
    int (*case_set_deadline)(citygrid_plugin_ctx *ctx, const char *case_id, int64_t unix_seconds);
    int (*case_transfer)(citygrid_plugin_ctx *ctx, const char *case_id,
                         const char *department, const char *reason);
    int (*case_note)(citygrid_plugin_ctx *ctx, const char *case_id, const char *text);

    /* Timers, run on the plugin's thread. Returns a timer id > 0, or an error
     * code < 0. A non-repeating timer is removed after it fires. */
    long long (*timer_add)(citygrid_plugin_ctx *ctx, unsigned milliseconds, int repeat,
                           citygrid_timer_fn fn, void *arg);
    int (*timer_cancel)(citygrid_plugin_ctx *ctx, long long timer_id);

    /* One pointer of plugin state per instance (NULL until set). */
    void (*set_user_data)(citygrid_plugin_ctx *ctx, void *data);
    void *(*user_data)(citygrid_plugin_ctx *ctx);

    /* The current time as the core sees it, unix seconds. */
    int64_t (*now)(citygrid_plugin_ctx *ctx);

    /* ---- ABI 1.1 ---- */

    /* 1 if log() at `level` would write a line now, else 0: lets a plugin
     * skip building an expensive line that would be dropped. The answer can
     * change while the plugin runs (the admin may change the level live).
     * Any thread. */
    int (*log_enabled)(citygrid_plugin_ctx *ctx, int level);

    /* ---- ABI 1.2 ---- (valid inside handle() and on_event(), for that case) */

    /* Raise the case to `level` ("community", "joint" or "city"; never
     * down) with a reason; it gets the category's SLA again from now. */
    int (*case_escalate)(citygrid_plugin_ctx *ctx, const char *case_id, const char *level,
                         const char *reason);
    /* The handle verb must carry the field `what` ([a-z0-9_]{1,47}, e.g.
     * "penalty_decision"): the core refuses to mark the case handled (HTTP
     * 422) until the request records it (kept in the case's extra). */
    int (*case_require)(citygrid_plugin_ctx *ctx, const char *case_id, const char *what);
    /* Link the case to an external record. kind: "licence" (a business
     * licence, the case shows it as "licence_no"); ref: 1..64 bytes. */
    int (*case_link)(citygrid_plugin_ctx *ctx, const char *case_id, const char *kind,
                     const char *ref);

    /* ---- ABI 1.3 ---- */

    /* Read the member `key` of the case's "extra" object: what the report or
     * a workflow verb carried beyond the fixed fields of citygrid_case (e.g.
     * "licence_no", "injuries"). Only members of "extra" itself are seen,
     * never nested ones. Valid inside handle() and on_event(), and only for
     * the case `c` that the callback was given.
     * Returns CITYGRID_OK with *out set;
     *   CITYGRID_E_NOTFOUND  no such member (or it is null): *out untouched;
     *   CITYGRID_E_INVALID   the member has another type (a number where a
     *                        string was asked, ...), or ctx/c/key/out is NULL;
     *   CITYGRID_E_STATE     outside handle()/on_event(), or another case.
     * The string is UTF-8, owned by the host, valid until the callback
     * returns: copy what you keep. A number is any JSON number (integers
     * too); a bool only the literals true and false (*out 1 or 0). */
    int (*case_extra_string)(citygrid_plugin_ctx *ctx, const citygrid_case *c, const char *key,
                             const char **out);
    int (*case_extra_number)(citygrid_plugin_ctx *ctx, const citygrid_case *c, const char *key,
                             double *out);
    int (*case_extra_bool)(citygrid_plugin_ctx *ctx, const citygrid_case *c, const char *key,
                           int *out);

    /* The display names of the department `code` as the core's catalog has
     * them (built-in departments and those the config adds), e.g.
     * "market" -> "Market regulation", "市场监管". Either out pointer may be
     * NULL. The strings are owned by the host and stay valid until
     * shutdown() returns. Any callback on the plugin's thread, from the
     * first handle()/on_event() on (the core sends its catalog when it
     * takes the plugin, after init()).
     * Returns CITYGRID_OK; CITYGRID_E_NOTFOUND for a code the core does not
     * know; CITYGRID_E_INVALID for a NULL ctx or code; CITYGRID_E_STATE
     * before the core has sent its catalog (e.g. inside init()). */
    int (*department_names)(citygrid_plugin_ctx *ctx, const char *code, const char **name,
                            const char **name_zh);

    /* ---- ABI 1.4 ---- (valid inside query(), for that query) */

    /* Add one row to the answer of `q`: `values` holds one UTF-8 string per
     * field of the source, in the order of its `fields` (NULL: no value).
     * The host copies them before it returns.
     * Returns CITYGRID_OK; CITYGRID_E_STATE outside query(), for another
     * query, or when the answer already has q->max_rows rows (stop: the row
     * is not taken); CITYGRID_E_INVALID for NULL values or a value that is
     * not UTF-8 or longer than 4000 bytes; CITYGRID_E_NOMEM. */
    int (*query_row)(citygrid_plugin_ctx *ctx, const citygrid_query *q,
                     const char *const *values);

    /* ---- ABI 1.4, appended after query_row: a plugin built with this
     * header that runs on a 1.4 core built before it must check
     * CITYGRID_HOST_HAS(host, source_query) ---- */

    /* Ask a data source served by another plugin (e.g. the market plugin
     * asks "companies" for the licence of the case it handles). Valid
     * inside handle() and on_event() only. The core decides as for a
     * professional member of the plugin's department (the source rules of
     * the config), masks what that member may not see, and logs the
     * question with the case; the plugin waits here, on its own thread,
     * at most timeout_ms (100..5000). `q` is the free text (params.q);
     * fn is called once per row, before source_query returns, with the
     * field names and values (NULL: no value), valid during the call only;
     * return non-zero from fn to skip the rest.
     * Returns CITYGRID_OK (0 or more rows went to fn);
     *   CITYGRID_E_NOTFOUND  no live plugin serves the source, or the
     *                        department may not ask it;
     *   CITYGRID_E_RETRY     the source did not answer in time or is down;
     *   CITYGRID_E_STATE     outside handle()/on_event();
     *   CITYGRID_E_INVALID   NULL or malformed arguments. */
    int (*source_query)(citygrid_plugin_ctx *ctx, const char *source, const char *q,
                        unsigned max_rows, unsigned timeout_ms,
                        int (*fn)(void *arg, size_t n_fields, const char *const *names,
                                  const char *const *values),
                        void *arg);
} citygrid_host;

/* 1 if the host table `host` has the member `fn` (a function added in some
 * minor), else 0. Needed only by a plugin that answers an older minor than
 * the header it was built with (see CITYGRID_PLUGIN_DEFINE_ABI). */
#define CITYGRID_HOST_HAS(host, fn) \
    ((host)->size >= offsetof(citygrid_host, fn) + sizeof((host)->fn))

/*
 * The plugin's descriptor: static data, returned by citygrid_plugin_describe().
 * Owned by the plugin; must stay valid while the .so is loaded.
 */
typedef struct citygrid_plugin {
    size_t struct_size;          /* sizeof(citygrid_plugin) as the plugin built it */
    const char *name;            /* unique, [a-z0-9_-]+, e.g. "sanitation"          */
    const char *version;         /* the plugin's own release, e.g. "1.2.0"          */
    const char *department;      /* department code it handles, e.g. "sanitation"   */
    const char *department_zh;   /* display name, e.g. "环卫"                        */
    const char *const *categories; /* NULL-terminated list of category codes it
                                      owns by default (config may re-route)         */

    /* Called once on the plugin's thread before anything else. Return
     * CITYGRID_OK to start; any error refuses the plugin (logged with the
     * code). */
    int (*init)(citygrid_plugin_ctx *ctx, const citygrid_host *host);

    /* Handle one dispatched case. Use the host's case_* functions to act on
     * it, then return CITYGRID_OK (the actions are committed), CITYGRID_E_RETRY
     * (deliver again later) or another error (counted as a failed attempt).
     * The same dispatch_id may arrive again after a crash or restart: the
     * host answers duplicates it has seen itself, but a plugin that keeps its
     * own store should treat dispatch_id as an idempotency key. */
    int (*handle)(citygrid_plugin_ctx *ctx, const citygrid_case *c);

    /* Called once on the plugin's thread, last. Free what init() made. */
    void (*shutdown)(citygrid_plugin_ctx *ctx);

    /* ABI 1.2, optional (NULL: events are acknowledged and ignored): the
     * case `c` (as dispatched, with its current status in c->json) had the
     * event `ev`. Act with case_note / case_escalate / case_require /
     * case_link (accept, assign, deadline and transfer are for handle()).
     * Return codes as for handle(). Called only when the plugin answers
     * ABI 1.2 or newer. */
    int (*on_event)(citygrid_plugin_ctx *ctx, const citygrid_case *c, const citygrid_event *ev);

    /* ABI 1.4, optional (NULL: none): the data sources this plugin serves,
     * NULL-terminated. A plugin may serve sources as well as, or instead of,
     * a department (then `categories` is empty and `department` names the
     * bureau, e.g. "datahub"). Read only from plugins answering 1.4+. */
    const citygrid_source *const *sources;

    /* ABI 1.4, required with `sources`: answer the query `q` by calling the
     * host's query_row() once per row, then return CITYGRID_OK (the rows go
     * out), CITYGRID_E_RETRY (the source is down now: the caller gets 503) or
     * another error (502). Called on the plugin's thread like handle(), so a
     * slow query delays the plugin's other work: keep it short; the core
     * stops waiting at q->deadline_ms whatever the plugin does. */
    int (*query)(citygrid_plugin_ctx *ctx, const citygrid_query *q);

    void *reserved[5];           /* room to grow without breaking ABI 1.x */
} citygrid_plugin;

/* The two exported entry points, and their names for dlsym. */
#define CITYGRID_PLUGIN_ABI_SYMBOL "citygrid_plugin_abi"
#define CITYGRID_PLUGIN_DESCRIBE_SYMBOL "citygrid_plugin_describe"
typedef citygrid_abi (*citygrid_plugin_abi_fn)(size_t n_offered, const citygrid_abi *offered);
typedef const citygrid_plugin *(*citygrid_plugin_describe_fn)(void);

#if defined(__GNUC__)
#define CITYGRID_EXPORT __attribute__((visibility("default")))
#else
#define CITYGRID_EXPORT
#endif

/*
 * Define the two entry points for the descriptor DESC (a static
 * citygrid_plugin). The plugin answers with the ABI it was compiled against;
 * the core decides whether that is compatible.
 */
#define CITYGRID_PLUGIN_DEFINE(DESC) CITYGRID_PLUGIN_DEFINE_ABI(DESC, CITYGRID_ABI_MINOR)

/*
 * The same, answering the older minor MINOR (<= CITYGRID_ABI_MINOR) of this
 * major: the plugin then also loads in cores of that minor, and must check
 * CITYGRID_HOST_HAS() before calling any host function newer than MINOR.
 */
#define CITYGRID_PLUGIN_DEFINE_ABI(DESC, MINOR)                                   \
    CITYGRID_EXPORT citygrid_abi citygrid_plugin_abi(size_t n_offered,            \
                                                     const citygrid_abi *offered); \
    CITYGRID_EXPORT citygrid_abi citygrid_plugin_abi(size_t n_offered,            \
                                                     const citygrid_abi *offered)  \
    {                                                                             \
        (void)n_offered;                                                          \
        (void)offered;                                                            \
        /* fails to compile when MINOR is newer than this header */              \
        (void)sizeof(char[(MINOR) <= CITYGRID_ABI_MINOR ? 1 : -1]);               \
        citygrid_abi mine = {CITYGRID_ABI_MAJOR, (MINOR)};                        \
        return mine;                                                              \
    }                                                                             \
    CITYGRID_EXPORT const citygrid_plugin *citygrid_plugin_describe(void);        \
    CITYGRID_EXPORT const citygrid_plugin *citygrid_plugin_describe(void)         \
    {                                                                             \
        return &(DESC);                                                           \
    }

#ifdef __cplusplus
}
#endif

#endif /* CITYGRID_PLUGIN_H */
