/*
 * test_health.c — unit tests of the health plugin with a tiny mock host.
 *
 * It needs nothing from citygrid but the installed <citygrid/plugin.h>:
 * src/health.c is compiled into this program, and the host table below
 * implements the contract's rules that matter here (case actions only
 * inside handle() and only for that case; settings with defaults) and
 * records every action. Plain C, no test framework: a failed CHECK prints
 * the line and the program exits non-zero, which `make check` reports.
 */
#include <citygrid/plugin.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                          \
        }                                                                        \
    } while (0)

/* ------------------------------------------------------------ the mock host */

#define MAX_ACTIONS 16

typedef struct action {
    char type[16];
    char arg[600];       /* assignee, note text, or the deadline as digits */
} action;

/* The ctx is opaque to the plugin; the host defines it. */
struct citygrid_plugin_ctx {
    const char *queue_setting;      /* NULL: not set */
    double deadline_hours_setting;  /* < 0: not set */
    long long deadline_hours_int;   /* < 0: not set */
    const char *current_case;       /* inside handle(): its id */
    int refuse_assign;              /* make case_assign fail */
    action actions[MAX_ACTIONS];
    int n_actions;
    int log_lines;
    int debug_lines;
    int log_level;
};

static void mock_log(citygrid_plugin_ctx *ctx, int level, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (level > ctx->log_level)
        return;
    ctx->log_lines++;
    ctx->debug_lines += level == CITYGRID_LOG_DEBUG;
    if (getenv("HEALTH_TEST_LOG"))
        fprintf(stderr, "[health] %s\n", line);
}

static int mock_log_enabled(citygrid_plugin_ctx *ctx, int level) { return level <= ctx->log_level; }

static const char *mock_setting_string(citygrid_plugin_ctx *ctx, const char *key, const char *def)
{
    return strcmp(key, "queue") == 0 && ctx->queue_setting ? ctx->queue_setting : def;
}

static long long mock_setting_int(citygrid_plugin_ctx *ctx, const char *key, long long def)
{
    return strcmp(key, "deadline_hours") == 0 && ctx->deadline_hours_int >= 0
               ? ctx->deadline_hours_int : def;
}

static double mock_setting_double(citygrid_plugin_ctx *ctx, const char *key, double def)
{
    return strcmp(key, "deadline_hours") == 0 && ctx->deadline_hours_setting >= 0
               ? ctx->deadline_hours_setting : def;
}

static int mock_setting_bool(citygrid_plugin_ctx *ctx, const char *key, int def) { return def; }

static int record(citygrid_plugin_ctx *ctx, const char *case_id, const char *type, const char *arg)
{
    if (!ctx->current_case)
        return CITYGRID_E_STATE;
    if (!case_id || !*case_id)
        return CITYGRID_E_INVALID;
    if (strcmp(case_id, ctx->current_case) != 0)
        return CITYGRID_E_STATE;
    if (ctx->n_actions == MAX_ACTIONS)
        return CITYGRID_E_NOMEM;
    action *a = &ctx->actions[ctx->n_actions++];
    snprintf(a->type, sizeof a->type, "%s", type);
    snprintf(a->arg, sizeof a->arg, "%s", arg ? arg : "");
    return CITYGRID_OK;
}

static int mock_accept(citygrid_plugin_ctx *ctx, const char *id) { return record(ctx, id, "accept", NULL); }

static int mock_assign(citygrid_plugin_ctx *ctx, const char *id, const char *who)
{
    if (!who || !*who || strlen(who) > 63)
        return CITYGRID_E_INVALID;
    return ctx->refuse_assign ? CITYGRID_E_INVALID : record(ctx, id, "assign", who);
}

static int mock_deadline(citygrid_plugin_ctx *ctx, const char *id, int64_t at)
{
    char digits[32];
    snprintf(digits, sizeof digits, "%lld", (long long)at);
    return at > 0 ? record(ctx, id, "deadline", digits) : CITYGRID_E_INVALID;
}

static int mock_transfer(citygrid_plugin_ctx *ctx, const char *id, const char *dept, const char *why)
{
    return record(ctx, id, "transfer", dept);
}

static int mock_note(citygrid_plugin_ctx *ctx, const char *id, const char *text)
{
    return text && *text ? record(ctx, id, "note", text) : CITYGRID_E_INVALID;
}

static long long mock_timer_add(citygrid_plugin_ctx *ctx, unsigned ms, int repeat,
                                citygrid_timer_fn fn, void *arg)
{
    return CITYGRID_E_INVALID; /* the plugin uses no timers */
}

static int mock_timer_cancel(citygrid_plugin_ctx *ctx, long long id) { return CITYGRID_E_NOTFOUND; }
static void mock_set_user_data(citygrid_plugin_ctx *ctx, void *data) {}
static void *mock_user_data(citygrid_plugin_ctx *ctx) { return NULL; }
static int64_t mock_now(citygrid_plugin_ctx *ctx) { return 1700000000; }

static const citygrid_host host = {
    .size = sizeof(citygrid_host),
    .abi = {CITYGRID_ABI_MAJOR, CITYGRID_ABI_MINOR},
    .log = mock_log,
    .setting_string = mock_setting_string,
    .setting_int = mock_setting_int,
    .setting_double = mock_setting_double,
    .setting_bool = mock_setting_bool,
    .case_accept = mock_accept,
    .case_assign = mock_assign,
    .case_set_deadline = mock_deadline,
    .case_transfer = mock_transfer,
    .case_note = mock_note,
    .timer_add = mock_timer_add,
    .timer_cancel = mock_timer_cancel,
    .set_user_data = mock_set_user_data,
    .user_data = mock_user_data,
    .now = mock_now,
    .log_enabled = mock_log_enabled,
};

/* ------------------------------------------------------------ helpers */

/* The two entry points CITYGRID_PLUGIN_DEFINE wrote in src/health.c. */
citygrid_abi citygrid_plugin_abi(size_t n_offered, const citygrid_abi *offered);
const citygrid_plugin *citygrid_plugin_describe(void);

static const citygrid_plugin *plugin(void) { return citygrid_plugin_describe(); }

static void ctx_reset(citygrid_plugin_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->deadline_hours_setting = -1;
    ctx->deadline_hours_int = -1;
    ctx->log_level = CITYGRID_LOG_INFO;
}

static int handle(citygrid_plugin_ctx *ctx, const citygrid_case *c)
{
    ctx->n_actions = 0;
    ctx->current_case = c->id;
    int rc = plugin()->handle(ctx, c);
    ctx->current_case = NULL;
    return rc;
}

static citygrid_case a_case(const char *id, const citygrid_member *members, size_t n)
{
    return (citygrid_case){
        .struct_size = sizeof(citygrid_case), .id = id, .dispatch_id = "D00000001",
        .category = "public_toilet_hygiene", .department = "health", .grid = "33110200100101",
        .description = "公厕无人保洁", .source = "citizen", .level = "grid", .reporter = "M001",
        .sla_hours = 24, .reported_at = 1700000000, .attempt = 1, .members = members,
        .n_members = n, .json = "{}"};
}

static const char *arg_of(const citygrid_plugin_ctx *ctx, const char *type)
{
    for (int i = 0; i < ctx->n_actions; i++)
        if (strcmp(ctx->actions[i].type, type) == 0)
            return ctx->actions[i].arg;
    return NULL;
}

/* ------------------------------------------------------------ tests */

static void test_descriptor_and_abi(void)
{
    const citygrid_plugin *p = plugin();
    CHECK(p->struct_size == sizeof(citygrid_plugin));
    CHECK(strcmp(p->name, "health") == 0);
    CHECK(strcmp(p->department, "health") == 0);
    CHECK(strcmp(p->department_zh, "卫生健康执法") == 0);
    CHECK(p->categories && p->categories[0] == NULL); /* owns none by default */
    CHECK(p->init && p->handle && p->shutdown);
    citygrid_abi offered = {CITYGRID_ABI_MAJOR, CITYGRID_ABI_MINOR};
    citygrid_abi mine = citygrid_plugin_abi(1, &offered);
    CHECK(mine.major == CITYGRID_ABI_MAJOR && mine.minor == CITYGRID_ABI_MINOR);
}

static void test_assigns_least_busy_professional(void)
{
    citygrid_plugin_ctx ctx;
    ctx_reset(&ctx);
    CHECK(plugin()->init(&ctx, &host) == CITYGRID_OK);
    const citygrid_member members[] = {
        {"M010", "王芳", "fulltime", 0},
        {"M012", "李强", "professional", 3},
        {"M011", "陈静", "professional", 1},
        {"M009", "赵敏", "professional", 1},
    };
    citygrid_case c = a_case("C00000001", members, 4);
    CHECK(handle(&ctx, &c) == CITYGRID_OK);
    CHECK(ctx.n_actions == 4);
    CHECK(strcmp(ctx.actions[0].type, "accept") == 0);
    CHECK(arg_of(&ctx, "assign") && strcmp(arg_of(&ctx, "assign"), "M009") == 0);
    CHECK(arg_of(&ctx, "deadline") && strcmp(arg_of(&ctx, "deadline"), "1700086400") == 0);
    CHECK(arg_of(&ctx, "note") &&
          strcmp(arg_of(&ctx, "note"), "卫生健康执法 accepted; assigned to M009 赵敏") == 0);
    plugin()->shutdown(&ctx);
}

static void test_queue_and_settings(void)
{
    citygrid_plugin_ctx ctx;
    ctx_reset(&ctx);
    ctx.queue_setting = "queue:health-night";
    ctx.deadline_hours_setting = 0.1;
    CHECK(plugin()->init(&ctx, &host) == CITYGRID_OK);
    citygrid_case c = a_case("C00000002", NULL, 0);
    c.reported_at = 0; /* unknown: the deadline counts from now() */
    c.needs_penalty = 1;
    CHECK(handle(&ctx, &c) == CITYGRID_OK);
    CHECK(arg_of(&ctx, "assign") && strcmp(arg_of(&ctx, "assign"), "queue:health-night") == 0);
    CHECK(arg_of(&ctx, "deadline") && strcmp(arg_of(&ctx, "deadline"), "1700000360") == 0);
    CHECK(ctx.n_actions == 5); /* accept, assign, deadline, note, penalty note */
    CHECK(strstr(ctx.actions[4].arg, "penalty due") != NULL);
    plugin()->shutdown(&ctx);

    /* deadline_hours written as an integer in the config works too. */
    ctx_reset(&ctx);
    ctx.deadline_hours_int = 2;
    CHECK(plugin()->init(&ctx, &host) == CITYGRID_OK);
    c = a_case("C00000003", NULL, 0);
    CHECK(handle(&ctx, &c) == CITYGRID_OK);
    CHECK(arg_of(&ctx, "deadline") && strcmp(arg_of(&ctx, "deadline"), "1700007200") == 0);
    CHECK(arg_of(&ctx, "assign") && strcmp(arg_of(&ctx, "assign"), "queue:health") == 0);
    plugin()->shutdown(&ctx);
}

static void test_bad_settings_refuse_init(void)
{
    citygrid_plugin_ctx ctx;
    ctx_reset(&ctx);
    ctx.deadline_hours_setting = 1e9;
    CHECK(plugin()->init(&ctx, &host) == CITYGRID_E_INVALID);
    ctx_reset(&ctx);
    ctx.queue_setting = "";
    CHECK(plugin()->init(&ctx, &host) == CITYGRID_E_INVALID);
    /* A host table smaller than this header's is refused, not trusted. */
    citygrid_host old = host;
    old.size = offsetof(citygrid_host, log_enabled);
    ctx_reset(&ctx);
    CHECK(plugin()->init(&ctx, &old) == CITYGRID_E_INVALID);
}

static void test_errors_are_returned(void)
{
    citygrid_plugin_ctx ctx;
    ctx_reset(&ctx);
    CHECK(plugin()->init(&ctx, &host) == CITYGRID_OK);
    citygrid_case c = a_case("", NULL, 0);
    CHECK(handle(&ctx, &c) == CITYGRID_E_INVALID);
    CHECK(ctx.n_actions == 0);
    ctx.refuse_assign = 1;
    c = a_case("C00000004", NULL, 0);
    CHECK(handle(&ctx, &c) == CITYGRID_E_INVALID); /* the host's refusal, passed on */
    plugin()->shutdown(&ctx);

    /* handle() on a ctx that was never initialised (or already shut down). */
    c = a_case("C00000005", NULL, 0);
    CHECK(handle(&ctx, &c) == CITYGRID_E_STATE);
}

static void test_instances_are_independent(void)
{
    citygrid_plugin_ctx a, b;
    ctx_reset(&a);
    ctx_reset(&b);
    b.queue_setting = "queue:health-b";
    CHECK(plugin()->init(&a, &host) == CITYGRID_OK);
    CHECK(plugin()->init(&b, &host) == CITYGRID_OK); /* a reload: two at once */
    CHECK(plugin()->init(&a, &host) == CITYGRID_E_STATE);
    citygrid_case c = a_case("C00000006", NULL, 0);
    CHECK(handle(&a, &c) == CITYGRID_OK);
    CHECK(strcmp(arg_of(&a, "assign"), "queue:health") == 0);
    plugin()->shutdown(&a);
    CHECK(handle(&b, &c) == CITYGRID_OK);
    CHECK(strcmp(arg_of(&b, "assign"), "queue:health-b") == 0);
    plugin()->shutdown(&b);
}

static void test_debug_line_only_when_enabled(void)
{
    citygrid_plugin_ctx ctx;
    ctx_reset(&ctx);
    CHECK(plugin()->init(&ctx, &host) == CITYGRID_OK);
    citygrid_case c = a_case("C00000007", NULL, 0);
    CHECK(handle(&ctx, &c) == CITYGRID_OK);
    CHECK(ctx.debug_lines == 0);
    ctx.log_level = CITYGRID_LOG_DEBUG;
    CHECK(handle(&ctx, &c) == CITYGRID_OK);
    CHECK(ctx.debug_lines == 1);
    plugin()->shutdown(&ctx);
}

int main(void)
{
    test_descriptor_and_abi();
    test_assigns_least_busy_professional();
    test_queue_and_settings();
    test_bad_settings_refuse_init();
    test_errors_are_returned();
    test_instances_are_independent();
    test_debug_line_only_when_enabled();
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    else
        printf("health plugin: all checks passed\n");
    return failures ? 1 : 0;
}
