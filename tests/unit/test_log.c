/* test_log.c — log lines: the plain format, and "<N>" priorities with no
 * timestamp when stderr is journald's stream (JOURNAL_STREAM matches it). */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"

/* Point stderr at a fresh file; returns its fd for reading back. */
static int capture_stderr(char *path, size_t len)
{
    snprintf(path, len, "/tmp/cg_test_log_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
    return fd;
}

static void read_back(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, len - 1, f);
    buf[n] = 0;
    fclose(f);
    unlink(path);
}

/* Each test runs in its own forked process (Check's default), so the
 * once-per-process journal decision starts fresh in each. */
START_TEST(journal_stream_gets_priorities)
{
    char path[64], buf[4096];
    capture_stderr(path, sizeof path);
    struct stat st;
    ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
    char js[64];
    snprintf(js, sizeof js, "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", js, 1);
    cg_log_set_level(CITYGRID_LOG_DEBUG);
    CG_ERROR("core", "disk %s", "full");
    CG_WARN("bus", "slow");
    CG_DEBUG("http", "detail %d", 7);
    ck_assert_int_eq(cg_log_to_journal(), 1);
    read_back(path, buf, sizeof buf);
    ck_assert_str_eq(buf, "<3>[error] core: disk full\n<4>[warning] bus: slow\n<7>[debug] http: detail 7\n");
}
END_TEST

START_TEST(other_stream_keeps_timestamps)
{
    char path[64], buf[4096];
    capture_stderr(path, sizeof path);
    /* Inherited from a parent whose stderr was the journal: not ours. */
    setenv("JOURNAL_STREAM", "1:1", 1);
    cg_log_set_level(CITYGRID_LOG_INFO);
    CG_NOTICE("core", "hello");
    CG_DEBUG("core", "filtered out");
    ck_assert_int_eq(cg_log_to_journal(), 0);
    read_back(path, buf, sizeof buf);
    ck_assert_msg(buf[0] >= '2' && buf[0] <= '9' && buf[4] == '-', "no timestamp: %s", buf);
    ck_assert_ptr_nonnull(strstr(buf, " [notice] core: hello\n"));
    ck_assert_ptr_null(strstr(buf, "filtered"));
    ck_assert_ptr_null(strchr(buf, '<'));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("format");
    tcase_add_test(tc, journal_stream_gets_priorities);
    tcase_add_test(tc, other_stream_keeps_timestamps);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
