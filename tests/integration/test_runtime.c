/*
 * test_runtime.c — the plugin runtime end to end, with the real citygridd
 * and citygrid-plugind:
 *   crash     a plugin in process mode that segfaults on a "poison" case: the
 *             core stays up, other departments keep flowing, the plugin is
 *             restarted (new pid), and the poison case ends in dead letter
 *             after bus.max_attempts attempts (visible in the case and in
 *             /v1/plugins);
 *   kill9     sanitation in process mode, kill -9 of its host while 50 cases
 *             arrive: all 50 end accepted, none twice, a new pid;
 *   hang      a process-mode host that hangs (SIGSTOP) is killed once the bus
 *             loses it, restarted, and the case sent to it is accepted once;
 *   reload    POST /v1/plugins/enforcement/reload under load: no case left
 *             unaccepted or accepted twice, a new instance serves;
 *   remote    a remote plugin host with an unknown CURVE key is refused (and
 *             logged); with the department's key it is taken.
 * Each case starts its own daemon.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/curvekeys.h"
#include "integration/testapi.h"
#include "support/testutil.h"

#define BODY_EXCERPT "%.3000s"
#define READY_TIMEOUT_MS 20000

static td_daemon D;
static pid_t helper = 0; /* a citygrid-plugind the test started itself */

static void stop_helper(void)
{
    if (helper > 0) {
        kill(helper, SIGKILL);
        waitpid(helper, NULL, 0);
        helper = 0;
    }
}

static void setup(void) { memset(&D, 0, sizeof D); }
static void teardown(void)
{
    stop_helper();
    td_cleanup(&D);
}

/* ------------------------------------------------------------ helpers */

/* The /v1/plugins entry of a plugin (new reference). */
static json_t *plugin_info(const char *name)
{
    json_t *list = ta_get_json("/v1/plugins");
    json_t *found = json_incref(ta_find(ta_as_list(list), "name", name));
    json_decref(list);
    EXPECT(found != NULL, "plugin %s not in /v1/plugins", name);
    return found;
}

static long plugin_pid(const char *name)
{
    json_t *p = plugin_info(name);
    long pid = (long)json_integer_value(json_object_get(p, "pid"));
    json_decref(p);
    return pid;
}

/* Wait until the plugin reports state ready with a pid other than `not_pid`. */
static long wait_ready_pid(const char *name, long not_pid, int timeout_ms)
{
    long long deadline = td_deadline(timeout_ms);
    for (;;) {
        json_t *p = plugin_info(name);
        long pid = (long)json_integer_value(json_object_get(p, "pid"));
        const char *state = ta_str(p, "state");
        int ok = pid > 0 && pid != not_pid && state && strcmp(state, "ready") == 0;
        char *text = ta_dump(p);
        json_decref(p);
        if (ok) {
            free(text);
            return pid;
        }
        EXPECT(ta_mono_ms() < deadline,
               "plugin %s not ready with a new pid (old %ld) within %d ms: " BODY_EXCERPT, name,
               not_pid, timeout_ms, text);
        free(text);
        ta_sleep_ms(100);
    }
}

/* Every case accepted exactly once within timeout_ms. */
static void expect_all_accepted_once(char **ids, int n, int timeout_ms)
{
    long long deadline = td_deadline(timeout_ms);
    for (int i = 0; i < n; i++) {
        json_t *c = ta_wait_history(ids[i], "accept", (int)(deadline - ta_mono_ms() > 1000
                                                                ? deadline - ta_mono_ms() : 1000));
        int accepts = ta_history_count(c, "accept");
        const char *status = ta_str(c, "status");
        char *text = ta_dump(c);
        EXPECT(accepts == 1, "case %s (%d of %d) accepted %d times: " BODY_EXCERPT, ids[i], i + 1,
               n, accepts, text);
        EXPECT(status && strcmp(status, "accepted") == 0, "case %s is %s: " BODY_EXCERPT, ids[i],
               status ? status : "?", text);
        free(text);
        json_decref(c);
    }
}

static char *plugin_cfg(const char *name, const char *mode)
{
    char *subdir = tu_sprintf("plugins/%s", name);
    char *path = tu_plugin_path(subdir, name);
    char *text = tu_sprintf("{ name = \"%s\"; path = \"%s\"; mode = \"%s\"; settings = { }; }",
                            name, path, mode);
    free(subdir);
    free(path);
    return text;
}

/* ------------------------------------------------------------ crash */

START_TEST(test_poison_case_dead_letters_while_core_runs_on)
{
    char *crash = tu_plugin_path("tests/plugins", "crash");
    char *extra = tu_sprintf("{ name = \"crash\"; path = \"%s\"; mode = \"process\"; }", crash);
    td_options opt = {
        .extra_plugins = extra,
        .extra_config = "routes = ( { category = \"graffiti\"; department = \"crash-test\"; } );",
        .extra_bus = "max_attempts = 3;",
    };
    ta_start(&D, &opt, "crash,enforcement", READY_TIMEOUT_MS);
    long pid1 = plugin_pid("crash");
    EXPECT(pid1 > 0, "crash (process mode) has no pid in /v1/plugins");
    json_t *info = plugin_info("crash");
    EXPECT(strcmp(ta_str(info, "mode"), "process") == 0, "crash is not in process mode");
    json_decref(info);

    char *poison = ta_report(D.token, "{\"category\":\"graffiti\",\"lat\":28.45,\"lon\":119.92,"
                                      "\"description\":\"poison pill on the wall\"}", 201);
    /* Other departments keep flowing while it crashes. */
    char *stall = ta_report(D.token, "{\"category\":\"street_stall\",\"lat\":28.45,\"lon\":119.92,"
                                     "\"description\":\"stall on the pavement\"}", 201);
    char *good = ta_report(D.token, "{\"category\":\"graffiti\",\"lat\":28.45,\"lon\":119.92,"
                                    "\"description\":\"ordinary graffiti\"}", 201);
    json_t *c = ta_wait_history(stall, "accept", 10000);
    json_decref(c);

    c = ta_wait_history(poison, "dead_letter", 30000);
    const char *status = ta_str(c, "status");
    EXPECT(status && strcmp(status, "dispatched") == 0, "poison case is %s, not dispatched",
           status ? status : "?");
    EXPECT(ta_history_count(c, "accept") == 0, "the poison case was accepted");
    json_decref(c);
    EXPECT(td_running(&D, NULL), "citygridd died");

    /* The good case of the same plugin is handled by a restarted host. */
    c = ta_wait_history(good, "accept", 15000);
    json_decref(c);
    long pid2 = wait_ready_pid("crash", pid1, 15000);
    EXPECT(pid2 != pid1, "crash was not restarted");
    info = plugin_info("crash");
    char *text = ta_dump(info);
    EXPECT(json_integer_value(json_object_get(info, "restarts")) >= 2,
           "crash restarts < 2 after 3 crashes: " BODY_EXCERPT, text);
    EXPECT(json_integer_value(json_object_get(info, "dead_letters")) == 1,
           "dead_letters is not 1: " BODY_EXCERPT, text);
    free(text);
    json_decref(info);

    /* Still nothing for the poison case after a while: it is not re-sent. */
    char *log = td_log(&D);
    int crashes = 0;
    for (const char *p = log; (p = strstr(p, "is poison: crashing")); p++)
        crashes++;
    /* Three counted attempts. A crash while the good graffiti case was in
     * flight too is not counted against either case (both become suspects
     * and are re-sent alone), so one extra crash may come first. Any more
     * would mean the dead letter is re-sent. */
    EXPECT(crashes == 3 || crashes == 4,
           "the poison case crashed the plugin %d times, expected 3 (or 4 when the first "
           "crash hit it together with the good case)", crashes);
    free(log);
    /* A clean exit (sanitizers included) that also stops the plugin host. */
    long host = plugin_pid("crash");
    EXPECT(td_stop(&D) == 0, "citygridd did not exit cleanly on SIGTERM");
    EXPECT(kill((pid_t)host, 0) < 0, "citygrid-plugind %ld outlived citygridd", host);
    free(poison);
    free(stall);
    free(good);
    free(extra);
    free(crash);
}
END_TEST

/* ------------------------------------------------------------ kill -9 */

START_TEST(test_kill9_of_process_plugin_loses_nothing)
{
    char *extra = plugin_cfg("sanitation", "process");
    td_options opt = {.omitted = "sanitation", .extra_plugins = extra};
    ta_start(&D, &opt, "sanitation,enforcement", READY_TIMEOUT_MS);
    long pid1 = plugin_pid("sanitation");
    EXPECT(pid1 > 0, "sanitation (process mode) has no pid");
    enum { N = 50 };
    char *ids[N];
    for (int i = 0; i < N; i++) {
        char *json = tu_sprintf("{\"category\":\"sanitation\",\"lat\":28.45,\"lon\":119.92,"
                                "\"description\":\"rubbish %d\"}", i);
        ids[i] = ta_report(D.token, json, 201);
        free(json);
        if (i == 15)
            EXPECT(kill((pid_t)pid1, SIGKILL) == 0, "kill -9 %ld: %s", pid1, strerror(errno));
    }
    expect_all_accepted_once(ids, N, 30000);
    long pid2 = wait_ready_pid("sanitation", pid1, 15000);
    EXPECT(pid2 != pid1, "no new pid");
    json_t *info = plugin_info("sanitation");
    EXPECT(json_integer_value(json_object_get(info, "restarts")) >= 1, "restarts not counted");
    json_decref(info);
    for (int i = 0; i < N; i++)
        free(ids[i]);
    free(extra);
}
END_TEST

/* ------------------------------------------------------------ hang */

/* A host that is alive but silent (SIGSTOPped, as if stuck in handle()): the
 * bus drops it after 3 missed heartbeats and the core kills it, so the
 * supervisor restarts it; a case sent to the hung host is handled once, by
 * the new one. */
START_TEST(test_hung_process_plugin_is_killed_and_restarted)
{
    char *crash = tu_plugin_path("tests/plugins", "crash");
    char *extra = tu_sprintf("{ name = \"crash\"; path = \"%s\"; mode = \"process\"; }", crash);
    td_options opt = {
        .extra_plugins = extra,
        .extra_config = "routes = ( { category = \"graffiti\"; department = \"crash-test\"; } );",
        .heartbeat_ms = 200, /* lost after 3 missed: 600 ms */
    };
    ta_start(&D, &opt, "crash", READY_TIMEOUT_MS);
    long pid1 = plugin_pid("crash");
    EXPECT(pid1 > 0, "crash (process mode) has no pid in /v1/plugins");
    EXPECT(kill((pid_t)pid1, SIGSTOP) == 0, "SIGSTOP %ld: %s", pid1, strerror(errno));
    char *id = ta_report(D.token, "{\"category\":\"graffiti\",\"lat\":28.45,\"lon\":119.92,"
                                  "\"description\":\"graffiti while the host hangs\"}", 201);

    long pid2 = wait_ready_pid("crash", pid1, 15000);
    EXPECT(pid2 != pid1, "the hung host was not replaced");
    char *ids[1] = {id};
    expect_all_accepted_once(ids, 1, 15000);
    json_t *c = ta_get_case(id);
    json_t *note = ta_history_last(c, "note");
    char *want = tu_sprintf("pid %ld)", pid2);
    char *text = ta_dump(c);
    EXPECT(note && strstr(ta_text(note, "note"), want), "case %s not handled by the new host "
           "%ld: " BODY_EXCERPT, id, pid2, text);
    free(text);
    free(want);
    json_decref(c);
    /* The stopped process is gone (reaped), not left behind. */
    EXPECT(kill((pid_t)pid1, 0) < 0 && errno == ESRCH, "hung host %ld still exists", pid1);
    char *log = td_log(&D);
    EXPECT(log && strstr(log, "its bus peer was lost"), "the kill is not logged");
    free(log);
    EXPECT(td_running(&D, NULL), "citygridd died");
    free(id);
    free(extra);
    free(crash);
}
END_TEST

/* ------------------------------------------------------------ reload */

static void reload_under_load(const char *name, const char *category)
{
    json_t *before = plugin_info(name);
    char *instance1 = strdup(ta_str(before, "instance") ? ta_str(before, "instance") : "");
    json_decref(before);
    enum { N = 40 };
    char *ids[N];
    for (int i = 0; i < N; i++) {
        char *json = tu_sprintf("{\"category\":\"%s\",\"lat\":28.45,\"lon\":119.92,"
                                "\"description\":\"reload load %d\"}", category, i);
        ids[i] = ta_report(D.token, json, 201);
        free(json);
        if (i == 20) {
            char *path = tu_sprintf("/v1/plugins/%s/reload", name);
            hc_response r;
            hc_post_json(D.port, path, D.token, "{}", &r);
            EXPECT(r.status == 200, "POST %s: %d " BODY_EXCERPT, path, r.status, r.body);
            hc_response_free(&r);
            free(path);
        }
    }
    expect_all_accepted_once(ids, N, 30000);
    long long deadline = td_deadline(10000);
    for (;;) {
        json_t *p = plugin_info(name);
        const char *inst = ta_str(p, "instance");
        int drained = json_integer_value(json_object_get(p, "draining")) == 0;
        int fresh = inst && strcmp(inst, instance1) != 0 &&
                    strcmp(ta_str(p, "state") ? ta_str(p, "state") : "", "ready") == 0;
        char *text = ta_dump(p);
        json_decref(p);
        if (drained && fresh) {
            free(text);
            break;
        }
        EXPECT(ta_mono_ms() < deadline, "%s: old instance %s not handed over: " BODY_EXCERPT, name,
               instance1, text);
        free(text);
        ta_sleep_ms(100);
    }
    for (int i = 0; i < N; i++)
        free(ids[i]);
    free(instance1);
}

START_TEST(test_reload_under_load_thread_mode)
{
    ta_start(&D, NULL, "enforcement", READY_TIMEOUT_MS);
    reload_under_load("enforcement", "street_stall");
    /* The reload copy of the .so is gone once the old instance is unloaded. */
    char *copies = tu_sprintf("%s/plugins", D.dir);
    DIR *dp = opendir(copies);
    int n_so = 0;
    for (struct dirent *de; dp && (de = readdir(dp));)
        n_so += strstr(de->d_name, ".so") != NULL;
    if (dp)
        closedir(dp);
    EXPECT(n_so == 1, "%d .so copies in %s, expected the one in use", n_so, copies);
    free(copies);
    /* The same through citygridctl (the HTTP API with the admin token). */
    char *ctl = tu_build_path("core/citygridctl");
    const char *cmds[] = {"plugin reload enforcement", "plugin list", "status",
                          "plugin disable volunteer", "plugin enable volunteer"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char *cmd = tu_sprintf("%s --url http://127.0.0.1:%d --state-dir %s %s 2>&1", ctl, D.port,
                               D.dir, cmds[i]);
        FILE *f = popen(cmd, "r");
        char out[8192] = "";
        size_t n = f ? fread(out, 1, sizeof out - 1, f) : 0;
        out[n] = '\0';
        int st = f ? pclose(f) : -1;
        EXPECT(st == 0, "`citygridctl %s` failed (%d): %s", cmds[i], st, out);
        EXPECT(strstr(out, i == 3 || i == 4 ? "volunteer" : "enforcement"),
               "`citygridctl %s` did not name the plugin: %s", cmds[i], out);
        free(cmd);
    }
    free(ctl);
    wait_ready_pid("volunteer", -1, 10000);
    /* Unknown plugin and a non-admin answer are refused. */
    hc_response r;
    hc_post_json(D.port, "/v1/plugins/nosuch/reload", D.token, "{}", &r);
    EXPECT(r.status == 404, "reload of an unknown plugin: %d", r.status);
    hc_response_free(&r);
}
END_TEST

START_TEST(test_reload_under_load_process_mode)
{
    char *extra = plugin_cfg("sanitation", "process");
    td_options opt = {.omitted = "sanitation", .extra_plugins = extra};
    ta_start(&D, &opt, "sanitation", READY_TIMEOUT_MS);
    long pid1 = plugin_pid("sanitation");
    reload_under_load("sanitation", "sanitation");
    EXPECT(plugin_pid("sanitation") != pid1, "the reloaded host has the old pid");
    EXPECT(td_stop(&D) == 0, "citygridd did not exit cleanly on SIGTERM");
    free(extra);
}
END_TEST

/* ------------------------------------------------------------ remote */

static void run_plugind(const char *so, const char *endpoint, const char *server_pub,
                        const char *key, const char *log_path)
{
    char *bin = tu_build_path("core/citygrid-plugind");
    pid_t parent = getpid();
    helper = fork();
    if (helper == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int out = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(out, 1);
        dup2(out, 2);
        execl(bin, bin, "--plugin", so, "--endpoint", endpoint, "--server-key", server_pub,
              "--key", key, "--heartbeat-ms", "200", (char *)NULL);
        _exit(127);
    }
    free(bin);
}

static int log_has(const char *path, const char *needle, int timeout_ms)
{
    long long deadline = td_deadline(timeout_ms);
    do {
        char *text = tu_read_file(path);
        int found = text && strstr(text, needle);
        free(text);
        if (found)
            return 1;
        ta_sleep_ms(100);
    } while (ta_mono_ms() < deadline);
    return 0;
}

START_TEST(test_remote_unknown_key_refused_known_key_taken)
{
    char *dir = tu_tempdir("keys");
    char err[512];
    char *core = tu_sprintf("%s/core", dir), *market = tu_sprintf("%s/market", dir),
         *rogue = tu_sprintf("%s/rogue", dir);
    ck_assert_msg(cg_curve_keys_generate(core, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(cg_curve_keys_generate(market, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(cg_curve_keys_generate(rogue, err, sizeof err) == 0, "%s", err);
    int port = td_free_port();
    char *endpoint = tu_sprintf("tcp://127.0.0.1:%d", port);
    char *bus = tu_sprintf("remote_bind = \"%s\"; server_key = \"%s.key\"; "
                           "clients = ( { department = \"market\"; key = \"%s.pub\"; } );",
                           endpoint, core, market);
    /* sanitation in process mode beside it: the ipc endpoint stays plain
     * while the tcp one is CURVE (security options are per bind). */
    char *sanitation = plugin_cfg("sanitation", "process");
    char *plugins = tu_sprintf("%s,\n { name = \"market\"; mode = \"remote\"; "
                               "department = \"market\"; }", sanitation);
    td_options opt = {
        .omitted = "market,sanitation",
        .extra_plugins = plugins,
        .extra_bus = bus,
    };
    ta_start(&D, &opt, "enforcement,sanitation", READY_TIMEOUT_MS);
    char *so = tu_plugin_path("plugins/market", "market");
    char *core_pub = tu_sprintf("%s.pub", core), *rogue_key = tu_sprintf("%s.key", rogue),
         *market_key = tu_sprintf("%s.key", market);
    char *plog = tu_sprintf("%s/plugind.log", dir);

    /* An unknown key: refused by the ZAP handler, logged, never ready. */
    run_plugind(so, endpoint, core_pub, rogue_key, plog);
    EXPECT(log_has(D.log_path, "unknown public key", 10000),
           "the daemon did not log the refused key");
    /* ... and the plugin host says so on its own side, naming its key
     * (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH from its socket monitor). */
    cg_curve_keys rogue_pub;
    ck_assert_msg(cg_curve_keys_read(rogue_key, 1, &rogue_pub, err, sizeof err) == 0, "%s", err);
    char *refusal = tu_sprintf("REFUSED this host's key (ZAP status 400): its bus.clients does "
                               "not admit public key %s for department market",
                               rogue_pub.public_key);
    EXPECT(log_has(plog, refusal, 10000), "citygrid-plugind did not say its key was refused");
    free(refusal);
    json_t *p = plugin_info("market");
    const char *state = ta_str(p, "state");
    EXPECT(!state || strcmp(state, "ready") != 0, "market is ready with a rogue key");
    json_decref(p);
    stop_helper();

    /* The market key, but a plugin of another department: refused at READY. */
    char *other_so = tu_plugin_path("plugins/police", "police");
    run_plugind(other_so, endpoint, core_pub, market_key, plog);
    EXPECT(log_has(D.log_path, "cannot serve department 'police'", 10000),
           "a READY for another department than the key's was not refused");
    stop_helper();
    free(other_so);

    /* The department's key: taken, and cases flow to it. */
    run_plugind(so, endpoint, core_pub, market_key, plog);
    wait_ready_pid("market", 0, 15000);
    p = plugin_info("market");
    EXPECT(strcmp(ta_str(p, "mode"), "remote") == 0, "market mode is not remote");
    json_decref(p);
    char *id = ta_report(D.token, "{\"category\":\"food_hygiene\",\"lat\":28.45,\"lon\":119.92,"
                                  "\"description\":\"kitchen\"}", 201);
    json_t *c = ta_wait_history(id, "accept", 15000);
    json_decref(c);
    char *id2 = ta_report(D.token, "{\"category\":\"sanitation\",\"lat\":28.45,\"lon\":119.92,"
                                   "\"description\":\"rubbish\"}", 201);
    c = ta_wait_history(id2, "accept", 15000);
    json_decref(c);
    free(id2);
    stop_helper();

    tu_rmrf(dir);
    free(id); free(plog); free(so); free(core_pub); free(rogue_key); free(market_key);
    free(bus); free(endpoint); free(core); free(market); free(rogue); free(dir);
    free(sanitation); free(plugins);
}
END_TEST

START_TEST(test_keygen_secret_mode_and_no_overwrite)
{
    char *dir = tu_tempdir("keygen");
    char *out = tu_sprintf("%s/dept", dir);
    char err[512];
    ck_assert_msg(cg_curve_keys_generate(out, err, sizeof err) == 0, "%s", err);
    char *key = tu_sprintf("%s.key", out), *pub = tu_sprintf("%s.pub", out);
    struct stat st;
    ck_assert_int_eq(stat(key, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    cg_curve_keys k;
    ck_assert_msg(cg_curve_keys_read(key, 1, &k, err, sizeof err) == 0, "%s", err);
    cg_curve_keys p;
    ck_assert_msg(cg_curve_keys_read(pub, 0, &p, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(k.public_key, p.public_key);
    ck_assert_int_eq((int)strlen(k.secret_key), 40);
    ck_assert_int_eq(p.secret_key[0], 0);
    /* Never overwrite; a public file is no keypair. */
    ck_assert_int_eq(cg_curve_keys_generate(out, err, sizeof err), -1);
    ck_assert_int_eq(cg_curve_keys_read(pub, 1, &p, err, sizeof err), -1);
    chmod(key, 0644);
    ck_assert_int_eq(cg_curve_keys_read(key, 1, &k, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "readable by others"));
    tu_rmrf(dir);
    free(key); free(pub); free(out); free(dir);
}
END_TEST

static Suite *runtime_suite(void)
{
    Suite *s = suite_create("runtime");
    ta_add_case(s, "crash", test_poison_case_dead_letters_while_core_runs_on, setup, teardown, 90);
    ta_add_case(s, "kill9", test_kill9_of_process_plugin_loses_nothing, setup, teardown, 90);
    ta_add_case(s, "hang", test_hung_process_plugin_is_killed_and_restarted, setup, teardown, 90);
    ta_add_case(s, "reload", test_reload_under_load_thread_mode, setup, teardown, 90);
    ta_add_case(s, "reload_process", test_reload_under_load_process_mode, setup, teardown, 90);
    ta_add_case(s, "remote", test_remote_unknown_key_refused_known_key_taken, setup, teardown, 90);
    ta_add_case(s, "keygen", test_keygen_secret_mode_and_no_overwrite, setup, teardown, 90);
    return s;
}

int main(void)
{
    return ta_run(runtime_suite());
}
