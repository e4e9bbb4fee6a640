/*
 * test_ctl.c — integration tests of citygridctl, the admin command line:
 * its help and usage errors, grid and roster import/export against a real
 * state dir (all or nothing: a refused import names the line and changes
 * nothing), and the commands that go through a running citygridd's API
 * (gaps, member add).
 *
 * Runs $CG_BUILDDIR/core/citygridctl as a child process (stdout and stderr
 * captured apart, every run bounded by a deadline) beside a real citygridd
 * started by tests/integration/daemon.h (without department plugins), whose
 * config names contrib/lishui as dataset_dir: test `first_start` checks that
 * the daemon imported it. The other tests import it again with citygridctl
 * (a re-import of the same data, which must succeed), so that they exercise
 * the import path themselves.
 *
 * Run alone:  CG_BUILDDIR=$PWD CK_RUN_CASE=roster_refused tests/integration/test_ctl
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "integration/testapi.h"
#include "support/testutil.h"

#define CTL_TIMEOUT_MS 30000
#define EXCERPT "%.2000s"
#define ROSTER_HEADER "member_id,login,name,name_pinyin,terminal_id,department,grid,role\n"
#define FIRST_GRID "33110200100101" /* led by M00151 alone in the demo roster */

static td_daemon D;

static void setup(void)
{
    memset(&D, 0, sizeof D);
}

static void teardown(void)
{
    td_cleanup(&D);
}

/* ------------------------------------------------------------ running citygridctl */

typedef struct ctl_run {
    int status;  /* exit status; -1 killed by a signal or the deadline */
    char *out;   /* stdout */
    char *err;   /* stderr */
} ctl_run;

static void ctl_run_free(ctl_run *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}

/* Run citygridctl with these arguments (NULL-terminated, without the
 * program), stdin from /dev/null. */
static ctl_run ctl(const char *const *args)
{
    char *bin = tu_build_path("core/citygridctl");
    EXPECT(access(bin, X_OK) == 0, "%s is not an executable (set CG_BUILDDIR?)", bin);
    char *dir = tu_tempdir("ctl-run");
    char *out_path = tu_sprintf("%s/stdout", dir), *err_path = tu_sprintf("%s/stderr", dir);
    size_t n = 0;
    while (args[n])
        n++;
    char **argv = calloc(n + 2, sizeof *argv);
    argv[0] = bin;
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int in = open("/dev/null", O_RDONLY);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0 || err < 0)
            _exit(127);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        signal(SIGPIPE, SIG_DFL);
        execv(bin, argv);
        dprintf(2, "exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    ctl_run r = {.status = -1};
    long long deadline = td_deadline(CTL_TIMEOUT_MS);
    int st = 0;
    while (pid > 0) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) {
            r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            break;
        }
        if ((w < 0 && errno != EINTR) || ta_mono_ms() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            break;
        }
        ta_sleep_ms(10);
    }
    r.out = tu_read_file(out_path);
    r.err = tu_read_file(err_path);
    if (!r.out)
        r.out = strdup("");
    if (!r.err)
        r.err = strdup("");
    tu_rmrf(dir);
    free(dir);
    free(out_path);
    free(err_path);
    free(argv);
    free(bin);
    return r;
}

/* citygridctl --state-dir DIR --url URL ARGS... against the test's daemon. */
#define CTL_D(...)                                                                    \
    ({                                                                                \
        char *url_ = tu_sprintf("http://127.0.0.1:%d", D.port);                      \
        const char *args_[] = {"--state-dir", D.dir, "--url", url_, __VA_ARGS__, NULL}; \
        ctl_run r_ = ctl(args_);                                                      \
        free(url_);                                                                   \
        r_;                                                                           \
    })

static void expect_status(const ctl_run *r, int status, const char *what)
{
    /* Say so plainly when the daemon lacks an endpoint the command needs. */
    const char *missing = strstr(r->err, "no such endpoint")
                              ? "\n(citygridd lacks the endpoint this command needs)" : "";
    EXPECT(r->status == status, "%s: exit status %d, expected %d\nstdout: " EXCERPT
           "\nstderr: " EXCERPT "%s", what, r->status, status, r->out, r->err, missing);
}

/* ------------------------------------------------------------ helpers */

static void start_daemon(void)
{
    td_options opt = {.omitted = TA_DEPARTMENT_PLUGINS};
    ta_start(&D, &opt, NULL, 0);
}

/* Import contrib/lishui with citygridctl. */
static void import_lishui(void)
{
    char *g = tu_src_path("contrib/lishui/grids.geojson");
    char *p = tu_src_path("contrib/lishui/places.csv");
    char *roster = tu_src_path("contrib/lishui/roster.csv");
    ctl_run r = CTL_D("grids", "import", g, "--places", p);
    expect_status(&r, 0, "grids import contrib/lishui");
    EXPECT(strstr(r.out, "273 grid(s)") != NULL, "grids import: no '273 grid(s)': " EXCERPT,
           r.out);
    ctl_run_free(&r);
    r = CTL_D("roster", "import", roster);
    expect_status(&r, 0, "roster import contrib/lishui");
    EXPECT(strstr(r.out, "2290 assignment(s)") != NULL,
           "roster import: no '2290 assignment(s)': " EXCERPT, r.out);
    ctl_run_free(&r);
    free(g);
    free(p);
    free(roster);
}

/* `citygridctl roster export -`, checked; malloc'd. */
static char *roster_export(void)
{
    ctl_run r = CTL_D("roster", "export", "-");
    expect_status(&r, 0, "roster export -");
    char *text = r.out;
    r.out = NULL;
    ctl_run_free(&r);
    return text;
}

/* The grids export as JSON, checked to be a FeatureCollection of `n` features. */
static json_t *load_feature_collection(const char *text, size_t n, const char *what)
{
    json_error_t e;
    json_t *doc = json_loads(text, 0, &e);
    EXPECT(doc != NULL, "%s: not JSON (line %d: %s): " EXCERPT, what, e.line, e.text, text);
    EXPECT(json_is_string(json_object_get(doc, "type")) &&
               strcmp(json_string_value(json_object_get(doc, "type")), "FeatureCollection") == 0,
           "%s: not a FeatureCollection", what);
    json_t *features = json_object_get(doc, "features");
    EXPECT(json_array_size(features) == n, "%s: %zu features, expected %zu", what,
           json_array_size(features), n);
    size_t i;
    json_t *f;
    json_array_foreach(features, i, f) {
        json_t *props = json_object_get(f, "properties");
        const char *code = json_string_value(json_object_get(props, "code"));
        EXPECT(code && strlen(code) == 14 && strncmp(code, "331102", 6) == 0,
               "%s: feature %zu has no 14-digit code under 331102", what, i + 1);
        EXPECT(json_is_object(json_object_get(f, "geometry")), "%s: feature %zu (%s) has no "
               "geometry", what, i + 1, code);
    }
    return doc;
}

/* ------------------------------------------------------------ tests */

START_TEST(test_help_lists_every_command)
{
    static const char *const forms[] = {"grids import", "grids export", "roster import",
                                        "roster export", "gaps", "member add"};
    const char *const help[] = {"help", NULL};
    const char *const none[] = {NULL};
    for (int k = 0; k < 2; k++) {
        ctl_run r = ctl(k ? none : help);
        expect_status(&r, 0, k ? "citygridctl (no arguments)" : "citygridctl help");
        for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
            EXPECT(strstr(r.out, forms[i]) != NULL, "help lacks '%s': " EXCERPT, forms[i], r.out);
        ctl_run_free(&r);
    }
    const char *const one[] = {"help", "roster", NULL};
    ctl_run r = ctl(one);
    expect_status(&r, 0, "citygridctl help roster");
    EXPECT(strstr(r.out, "roster import FILE.csv") && !strstr(r.out, "grids import"),
           "help roster: " EXCERPT, r.out);
    ctl_run_free(&r);
}
END_TEST

START_TEST(test_unknown_command_is_a_usage_error)
{
    const char *const args[] = {"frobnicate", "now", NULL};
    ctl_run r = ctl(args);
    expect_status(&r, 2, "citygridctl frobnicate");
    EXPECT(strstr(r.err, "unknown command 'frobnicate'") && strstr(r.err, "roster import"),
           "no message with the list of commands: " EXCERPT, r.err);
    ctl_run_free(&r);
    /* A known command with bad arguments is a usage error too. */
    const char *const bad[] = {"--state-dir", "/nonexistent", "grids", "frob", NULL};
    r = ctl(bad);
    expect_status(&r, 2, "citygridctl grids frob");
    ctl_run_free(&r);
}
END_TEST

START_TEST(test_no_database_no_daemon)
{
    /* A wrong state dir does not create a database. */
    char *dir = tu_tempdir("ctl-empty");
    const char *const args[] = {"--state-dir", dir, "roster", "export", "-", NULL};
    ctl_run r = ctl(args);
    expect_status(&r, 1, "roster export with an empty state dir");
    EXPECT(strstr(r.err, "no database"), "stderr: " EXCERPT, r.err);
    char *db = tu_sprintf("%s/citygrid.db", dir);
    EXPECT(access(db, F_OK) != 0, "%s was created", db);
    ctl_run_free(&r);
    /* An API command with nobody listening: a message, exit 1, no hang. */
    char *url = tu_sprintf("http://127.0.0.1:%d", td_free_port());
    char *token_path = tu_sprintf("%s/admin.token", dir);
    tu_write_file(token_path, "0123456789abcdef\n");
    const char *const gaps[] = {"--state-dir", dir, "--url", url, "gaps", NULL};
    r = ctl(gaps);
    expect_status(&r, 1, "gaps without a daemon");
    EXPECT(strstr(r.err, "no answer from citygridd"), "stderr: " EXCERPT, r.err);
    ctl_run_free(&r);
    tu_rmrf(dir);
    free(token_path);
    free(url);
    free(db);
    free(dir);
}
END_TEST

START_TEST(test_import_export_round_trip)
{
    start_daemon();
    import_lishui();

    char *file = tu_sprintf("%s/export.geojson", D.dir);
    ctl_run r = CTL_D("grids", "export", file);
    expect_status(&r, 0, "grids export FILE");
    ctl_run_free(&r);
    char *text = tu_read_file(file);
    EXPECT(text != NULL, "grids export wrote no %s", file);
    json_t *doc = load_feature_collection(text, 273, "grids export FILE");
    r = CTL_D("grids", "export", "-");
    expect_status(&r, 0, "grids export -");
    EXPECT(strcmp(r.out, text) == 0, "grids export - differs from grids export FILE");
    ctl_run_free(&r);
    char *roster1 = roster_export();
    EXPECT(strncmp(roster1, ROSTER_HEADER, strlen(ROSTER_HEADER)) == 0,
           "roster export: header: " EXCERPT, roster1);

    /* Import what was exported: accepted, and the registry stays the same. */
    char *roster_file = tu_sprintf("%s/export.csv", D.dir);
    tu_write_file(roster_file, roster1);
    r = CTL_D("grids", "import", file);
    expect_status(&r, 0, "grids import of the export");
    ctl_run_free(&r);
    r = CTL_D("roster", "import", roster_file);
    expect_status(&r, 0, "roster import of the export");
    ctl_run_free(&r);
    r = CTL_D("grids", "export", "-");
    expect_status(&r, 0, "grids export - after the round trip");
    json_t *again = load_feature_collection(r.out, 273, "grids export after the round trip");
    EXPECT(json_equal(doc, again), "the grids changed in an export/import round trip");
    ctl_run_free(&r);
    char *roster2 = roster_export();
    EXPECT(strcmp(roster1, roster2) == 0, "the roster changed in an export/import round trip");

    json_decref(doc);
    json_decref(again);
    free(roster1);
    free(roster2);
    free(roster_file);
    free(text);
    free(file);
}
END_TEST

START_TEST(test_bad_roster_refused_whole_with_its_line)
{
    start_daemon();
    import_lishui();
    char *before = roster_export();

    /* Line 2 is fine; line 3 names a role that does not exist. */
    char *bad_role = tu_sprintf("%s/bad-role.csv", D.dir);
    tu_write_file(bad_role, ROSTER_HEADER
                  "M99001,ctlnew1,新人,Xin Ren,T99001,market," FIRST_GRID ",professional\n"
                  "M99002,ctlnew2,新人二,Xin Ren Er,T99002,market," FIRST_GRID ",boss\n");
    ctl_run r = CTL_D("roster", "import", bad_role);
    expect_status(&r, 1, "roster import with an unknown role");
    EXPECT(strstr(r.err, "bad-role.csv") && strstr(r.err, "line 3") && strstr(r.err, "boss"),
           "the refusal does not name the file, line 3 and the role: " EXCERPT, r.err);
    ctl_run_free(&r);

    /* Two leaders in one grid, both new in this file. */
    char *two = tu_sprintf("%s/two-leaders.csv", D.dir);
    tu_write_file(two, ROSTER_HEADER
                  "M99001,ctlnew1,新人,Xin Ren,T99001,,33110200100102,leader\n"
                  "M99002,ctlnew2,新人二,Xin Ren Er,T99002,,33110200100102,leader\n");
    r = CTL_D("roster", "import", two);
    expect_status(&r, 1, "roster import with two leaders in a grid");
    EXPECT(strstr(r.err, "two-leaders.csv") && strstr(r.err, "line 3") &&
               strstr(r.err, "leader"),
           "the refusal does not name the file, line 3 and the leaders: " EXCERPT, r.err);
    ctl_run_free(&r);

    /* A grid that does not exist. */
    char *unknown = tu_sprintf("%s/unknown-grid.csv", D.dir);
    tu_write_file(unknown, ROSTER_HEADER
                  "M99001,ctlnew1,新人,Xin Ren,T99001,market,33110200900101,professional\n");
    r = CTL_D("roster", "import", unknown);
    expect_status(&r, 1, "roster import with an unknown grid");
    EXPECT(strstr(r.err, "line 2") && strstr(r.err, "33110200900101"), "stderr: " EXCERPT,
           r.err);
    ctl_run_free(&r);

    char *after = roster_export();
    EXPECT(strcmp(before, after) == 0, "a refused import changed the roster");
    EXPECT(!strstr(after, "M99001"), "member M99001 of a refused import exists");

    free(before);
    free(after);
    free(bad_role);
    free(two);
    free(unknown);
}
END_TEST

START_TEST(test_grids_import_refusal_changes_nothing)
{
    start_daemon();
    import_lishui();
    ctl_run r = CTL_D("grids", "export", "-");
    expect_status(&r, 0, "grids export -");
    char *before = r.out;
    r.out = NULL;
    ctl_run_free(&r);

    char *bad = tu_sprintf("%s/bad.geojson", D.dir);
    tu_write_file(bad, "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\","
                       "\"properties\":{\"code\":\"123\"},\"geometry\":null}]}");
    r = CTL_D("grids", "import", bad);
    expect_status(&r, 1, "grids import of a malformed code");
    EXPECT(strstr(r.err, "bad.geojson") && strstr(r.err, "feature 1"),
           "the refusal does not name the file and the feature: " EXCERPT, r.err);
    ctl_run_free(&r);

    r = CTL_D("grids", "export", "-");
    expect_status(&r, 0, "grids export - after the refusal");
    EXPECT(strcmp(before, r.out) == 0, "a refused grids import changed the grids");
    ctl_run_free(&r);
    free(before);
    free(bad);
}
END_TEST

START_TEST(test_first_start_imports_the_dataset)
{
    /* daemon.c's config names contrib/lishui as dataset_dir. */
    start_daemon();
    ctl_run r = CTL_D("grids", "export", "-");
    expect_status(&r, 0, "grids export - after the first start");
    json_decref(load_feature_collection(r.out, 273, "grids export after the first start"));
    ctl_run_free(&r);
    char *roster = roster_export();
    EXPECT(strstr(roster, "M00151,"), "the demo roster was not imported: " EXCERPT, roster);
    free(roster);
}
END_TEST

START_TEST(test_gaps_through_the_api)
{
    start_daemon();
    import_lishui(); /* while the daemon runs: it must see the import at once */
    ctl_run r = CTL_D("gaps");
    expect_status(&r, 0, "gaps with the demo roster");
    EXPECT(strstr(r.out, "no gaps"), "the demo roster has gaps: " EXCERPT, r.out);
    ctl_run_free(&r);

    /* M00151, the only leader of FIRST_GRID, becomes an optional member there. */
    char *csv = tu_sprintf("%s/demote.csv", D.dir);
    tu_write_file(csv, ROSTER_HEADER "M00151,xujianjun0151,徐建军,Xu Jianjun,T00151,volunteer,"
                       FIRST_GRID ",optional\n");
    r = CTL_D("roster", "import", csv);
    expect_status(&r, 0, "roster import demoting a leader");
    ctl_run_free(&r);
    r = CTL_D("gaps");
    expect_status(&r, 0, "gaps after the demotion");
    EXPECT(strstr(r.out, FIRST_GRID) && strstr(r.out, "leader"),
           "gaps does not show " FIRST_GRID " without its leader: " EXCERPT, r.out);
    ctl_run_free(&r);
    free(csv);
}
END_TEST

START_TEST(test_member_add_through_the_api)
{
    start_daemon();
    import_lishui();
    char *pw = tu_sprintf("%s/pw.txt", D.dir);
    tu_write_file(pw, "s3cret-ctl-pass\n");
    /* Through --config: the state dir and the url come from the daemon's file. */
    const char *const args[] = {"--config", D.config_path, "member", "add", "--id", "M99010",
                                "--name", "测试员", "--login", "ctltester", "--password-file", pw,
                                "--department", "market", "--grid", FIRST_GRID, "--role",
                                "professional", "--grid", "33110200100102", "--role",
                                "professional", NULL};
    ctl_run r = ctl(args);
    expect_status(&r, 0, "member add");
    ctl_run_free(&r);

    hc_response h = ta_get("/v1/members/M99010", D.token);
    EXPECT(h.status == 200, "GET /v1/members/M99010: %d %s " EXCERPT, h.status, h.error,
           h.body);
    json_t *m = json_loads(h.body, 0, NULL);
    EXPECT(m && strcmp(json_string_value(json_object_get(m, "name")) ?: "", "测试员") == 0,
           "GET /v1/members/M99010: " EXCERPT, h.body);
    EXPECT(json_array_size(json_object_get(m, "assignments")) == 2 &&
               strstr(h.body, FIRST_GRID) && strstr(h.body, "33110200100102"),
           "GET /v1/members/M99010: not both assignments: " EXCERPT, h.body);
    json_decref(m);
    hc_response_free(&h);

    /* The password from the file works (without its newline). */
    h = ta_post("/v1/sessions", NULL, "{\"login\":\"ctltester\",\"password\":\"s3cret-ctl-pass\"}");
    EXPECT(h.status == 200 || h.status == 201, "POST /v1/sessions: %d " EXCERPT, h.status,
           h.body);
    hc_response_free(&h);

    /* Refused by the API (the same id again): exit 1 with the API's message. */
    r = ctl(args);
    expect_status(&r, 1, "member add of an existing id");
    EXPECT(strstr(r.err, "POST /v1/members"), "stderr: " EXCERPT, r.err);
    ctl_run_free(&r);
    free(pw);
}
END_TEST

/* ------------------------------------------------------------ suite */

static void add(Suite *s, const char *name, const TTest *test)
{
    ta_add_case(s, name, test, setup, teardown, 60);
}

static Suite *ctl_suite(void)
{
    Suite *s = suite_create("ctl");
    add(s, "help", test_help_lists_every_command);
    add(s, "unknown", test_unknown_command_is_a_usage_error);
    add(s, "no_database", test_no_database_no_daemon);
    add(s, "round_trip", test_import_export_round_trip);
    add(s, "roster_refused", test_bad_roster_refused_whole_with_its_line);
    add(s, "grids_refused", test_grids_import_refusal_changes_nothing);
    /* These three need the daemon side: `dataset_dir` and the first-start
     * import, GET /v1/staffing/gaps, POST and GET /v1/members. */
    add(s, "first_start", test_first_start_imports_the_dataset);
    add(s, "gaps", test_gaps_through_the_api);
    add(s, "member_add", test_member_add_through_the_api);
    return s;
}

int main(void)
{
    return ta_run(ctl_suite());
}
