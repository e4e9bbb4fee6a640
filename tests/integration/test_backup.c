/*
 * test_backup.c — citygridctl backup while citygridd takes reports, and
 * restore: every case acknowledged (201) before the backup began, and its
 * photo, is in the restored copy; restore is refused while the daemon runs.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "integration/testapi.h"
#include "support/testutil.h"
#include "support/tiny_images.h"

#define BEFORE 40
#define REPORT "{\"category\":\"street_stall\",\"lat\":28.45,\"lon\":119.92,\"description\":\"stall\"}"

static td_daemon D;
static pid_t loader;

static void teardown(void)
{
    if (loader > 0) {
        kill(loader, SIGKILL);
        waitpid(loader, NULL, 0);
        loader = 0;
    }
    td_cleanup(&D);
}

/* citygridctl --state-dir DIR ARGS; its exit status, its output in *out. */
static int ctl(const char *args, char **out)
{
    const char *build = getenv("CG_BUILDDIR") ? getenv("CG_BUILDDIR") : ".";
    char *cmd = tu_sprintf("%s/core/citygridctl --state-dir %s %s 2>&1", build, D.dir, args);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char buf[4096] = "";
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = 0;
    int st = pclose(p);
    free(cmd);
    if (out)
        *out = strdup(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A child that reports cases as fast as it can until it is killed. */
static pid_t start_load(void)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives the test */
        for (;;) {
            hc_response r;
            hc_post_json(D.port, "/v1/cases", D.token, REPORT, &r);
            hc_response_free(&r);
        }
    }
    return pid;
}

START_TEST(backup_under_load_keeps_every_acknowledged_case)
{
    memset(&D, 0, sizeof D);
    ta_start(&D, NULL, NULL, 0);
    char *ids[BEFORE];
    for (int i = 0; i < BEFORE; i++)
        ids[i] = ta_report(D.token, REPORT, 201);
    /* A photo of the first case. */
    char *path = tu_sprintf("/v1/cases/%s/photos?stage=before", ids[0]);
    hc_request rq = {.method = "POST", .path = path, .token = D.token, .content_type = "image/png",
                     .body = (const char *)tiny_png, .body_len = sizeof tiny_png};
    hc_response r;
    hc_send(D.port, &rq, &r);
    json_t *photo = json_loads(r.body, 0, NULL);
    EXPECT(r.status == 201, "photo upload: %d %s", r.status, r.body);
    hc_response_free(&r);
    free(path);
    char *photo_url = strdup(ta_text(photo, "url"));
    EXPECT(*photo_url, "the photo has no url");
    json_decref(photo);

    /* Under load: reports keep arriving while the copy is taken. */
    loader = start_load();
    long long deadline = ta_mono_ms() + 30000;
    json_t *list = NULL;
    do { /* until the load has visibly started */
        json_decref(list);
        ta_sleep_ms(20);
        list = ta_get_json("/v1/cases?limit=1");
    } while (!strcmp(ta_text(json_array_get(ta_as_list(list), 0), "id"), ids[BEFORE - 1]) &&
             ta_mono_ms() < deadline);
    json_decref(list);
    char *backup = tu_sprintf("%s/../%s-backup.db", D.dir, strrchr(D.dir, '/') + 1);
    char *out = NULL;
    char *args = tu_sprintf("backup %s", backup);
    int rc = ctl(args, &out);
    EXPECT(rc == 0, "backup: exit %d: %s", rc, out);
    free(out);
    free(args);

    /* Refused while the daemon runs, and nothing changed. */
    args = tu_sprintf("restore %s", backup);
    rc = ctl(args, &out);
    EXPECT(rc == 1 && strstr(out, "stop citygridd"), "restore while running: exit %d: %s", rc, out);
    free(out);

    kill(loader, SIGKILL);
    waitpid(loader, NULL, 0);
    loader = 0;
    EXPECT(td_stop(&D) == 0, "the daemon did not stop cleanly");
    /* Lose the state: the database and the photos. */
    char *rm = tu_sprintf("rm -rf %s/citygrid.db %s/citygrid.db-wal %s/citygrid.db-shm %s/evidence",
                          D.dir, D.dir, D.dir, D.dir);
    ck_assert_int_eq(system(rm), 0);
    free(rm);
    rc = ctl(args, &out);
    EXPECT(rc == 0, "restore: exit %d: %s", rc, out);
    free(out);
    free(args);
    struct stat st;
    char *db = tu_sprintf("%s/citygrid.db", D.dir);
    EXPECT(stat(db, &st) == 0 && (st.st_mode & 0777) == 0600, "restored database mode %o",
           st.st_mode & 0777);
    free(db);

    EXPECT(td_restart(&D) == 0, "restart after restore");
    for (int i = 0; i < BEFORE; i++) {
        json_t *c = ta_get_case(ids[i]);
        EXPECT(!strcmp(ta_text(c, "id"), ids[i]), "case %s lost", ids[i]);
        json_decref(c);
        free(ids[i]);
    }
    ta_expect_status("GET", photo_url, D.token, NULL, 200);
    free(photo_url);
    char *b2 = tu_sprintf("rm -rf %s %s.evidence", backup, backup);
    ck_assert_int_eq(system(b2), 0);
    free(b2);
    free(backup);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("backup");
    ta_add_case(s, "backup", backup_under_load_keeps_every_acknowledged_case, NULL, teardown, 120);
    return ta_run(s);
}
