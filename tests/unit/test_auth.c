/* test_auth.c — the admin bootstrap, tokens and password logins. */
#include <check.h>
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "people/auth.h"
#include "store/store.h"
#include "support/testutil.h"
#include "support/run_suite.h"

static char *dir, *db_path, *token_path, *password_path;
static cg_store *st;

static void setup(void)
{
    dir = tu_tempdir("auth");
    db_path = tu_sprintf("%s/citygrid.db", dir);
    token_path = tu_sprintf("%s/admin.token", dir);
    password_path = tu_sprintf("%s/admin.password", dir);
    char err[512] = "";
    ck_assert_msg(cg_store_open(db_path, &st, err, sizeof err) == 0, "open: %s", err);
}

static void teardown(void)
{
    cg_store_close(st);
    tu_rmrf(dir);
    free(dir);
    free(db_path);
    free(token_path);
    free(password_path);
}

static void bootstrap_ok(void)
{
    char err[512] = "";
    ck_assert_msg(cg_auth_bootstrap(st, dir, err, sizeof err) == 0, "bootstrap: %s", err);
}

/* The file's single line, without its newline (malloc'd). */
static char *read_secret(const char *path)
{
    char *text = tu_read_file(path);
    ck_assert_ptr_nonnull(text);
    size_t n = strlen(text);
    ck_assert_msg(n > 0 && text[n - 1] == '\n', "%s: not one line", path);
    text[n - 1] = 0;
    return text;
}

static long long count(const char *sql)
{
    sqlite3_stmt *s = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(st->db, sql, -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    long long n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

static void assert_mode_0600(const char *path)
{
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_msg((sb.st_mode & 0777) == 0600, "%s has mode %o", path, sb.st_mode & 0777);
    ck_assert(S_ISREG(sb.st_mode));
}

static int is_hex64(const char *s)
{
    if (strlen(s) != 64)
        return 0;
    for (; *s; s++)
        if (!isxdigit((unsigned char)*s) || isupper((unsigned char)*s))
            return 0;
    return 1;
}

START_TEST(test_bootstrap_creates_admin)
{
    bootstrap_ok();
    assert_mode_0600(token_path);
    assert_mode_0600(password_path);
    char *token = read_secret(token_path);
    ck_assert_msg(is_hex64(token), "token \"%s\"", token);
    cg_principal who;
    ck_assert_int_eq(cg_auth_token_lookup(st, token, &who), 0);
    ck_assert_str_eq(who.member_id, "admin");
    ck_assert_int_eq(who.is_admin, 1);
    /* only the hash is stored */
    ck_assert_int_eq(count("SELECT count(*) FROM tokens"), 1);
    char *sql = tu_sprintf("SELECT count(*) FROM tokens WHERE token_hash = '%s'", token);
    ck_assert_int_eq(count(sql), 0);
    free(sql);
    ck_assert_int_eq(count("SELECT count(*) FROM members WHERE id = 'admin' AND login = 'admin'"
                           " AND is_admin = 1 AND password_hash LIKE '$argon2id$%'"), 1);
    free(token);
}
END_TEST

START_TEST(test_second_bootstrap_changes_nothing)
{
    bootstrap_ok();
    char *token = read_secret(token_path), *password = read_secret(password_path);
    bootstrap_ok();
    char *token2 = read_secret(token_path), *password2 = read_secret(password_path);
    ck_assert_str_eq(token, token2);
    ck_assert_str_eq(password, password2);
    ck_assert_int_eq(count("SELECT count(*) FROM tokens"), 1);
    ck_assert_int_eq(count("SELECT count(*) FROM members"), 1);

    /* also across a restart, and with the token file deleted by the operator */
    unlink(token_path);
    cg_store_close(st);
    char err[512];
    ck_assert_int_eq(cg_store_open(db_path, &st, err, sizeof err), 0);
    bootstrap_ok();
    ck_assert_int_ne(access(token_path, F_OK), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM tokens"), 1);
    cg_principal who;
    ck_assert_int_eq(cg_auth_token_lookup(st, token, &who), 0);
    free(token);
    free(token2);
    free(password);
    free(password2);
}
END_TEST

START_TEST(test_bootstrap_replaces_stale_files)
{
    /* files from an earlier database that no longer exists */
    ck_assert_int_eq(tu_write_file(token_path, "stale\n"), 0);
    ck_assert_int_eq(tu_write_file(password_path, "stale\n"), 0);
    chmod(token_path, 0644);
    bootstrap_ok();
    assert_mode_0600(token_path);
    char *token = read_secret(token_path);
    ck_assert(is_hex64(token));
    ck_assert_int_eq(cg_auth_token_lookup(st, token, NULL), 0);
    free(token);
}
END_TEST

START_TEST(test_bootstrap_bad_dir)
{
    char err[512] = "";
    char *missing = tu_sprintf("%s/missing", dir);
    ck_assert_int_eq(cg_auth_bootstrap(st, missing, err, sizeof err), -1);
    ck_assert_msg(strstr(err, missing) != NULL, "err: %s", err);
    /* nothing half-made */
    ck_assert_int_eq(count("SELECT count(*) FROM members"), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM tokens"), 0);
    ck_assert_int_eq(sqlite3_get_autocommit(st->db), 1);
    free(missing);
    bootstrap_ok(); /* and it works once the directory is right */
}
END_TEST

START_TEST(test_login)
{
    bootstrap_ok();
    char *password = read_secret(password_path);
    ck_assert(is_hex64(password));
    char token[CG_TOKEN_HEX_LEN + 1];
    cg_principal who;
    memset(&who, 0, sizeof who);
    ck_assert_int_eq(cg_auth_login(st, "admin", password, &who, token), 0);
    ck_assert_str_eq(who.member_id, "admin");
    ck_assert_int_eq(who.is_admin, 1);
    ck_assert(is_hex64(token));
    cg_principal again;
    ck_assert_int_eq(cg_auth_token_lookup(st, token, &again), 0);
    ck_assert_str_eq(again.member_id, "admin");

    ck_assert_int_eq(cg_auth_login(st, "admin", "wrong", &who, token), -1);
    ck_assert_str_eq(token, "");
    ck_assert_int_eq(cg_auth_login(st, "nobody", password, &who, token), -1);
    ck_assert_int_eq(cg_auth_login(st, "admin", "", &who, token), -1);
    ck_assert_int_eq(count("SELECT count(*) FROM tokens"), 2);
    free(password);
}
END_TEST

START_TEST(test_member_login_and_tokens)
{
    char hash[128];
    ck_assert_int_eq(cg_auth_hash_password("correct horse", hash, sizeof hash), 0);
    ck_assert_int_eq(strncmp(hash, "$argon2id$", 10), 0);
    sqlite3_stmt *s = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(st->db,
                         "INSERT INTO members(id, login, name, department, password_hash,"
                         " created_at) VALUES ('m7', 'wang', '王芳', 'sanitation', ?1, 1)",
                         -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);

    char token[CG_TOKEN_HEX_LEN + 1], token2[CG_TOKEN_HEX_LEN + 1];
    cg_principal who;
    ck_assert_int_eq(cg_auth_login(st, "wang", "correct horse", &who, token), 0);
    ck_assert_str_eq(who.member_id, "m7");
    ck_assert_str_eq(who.name, "王芳");
    ck_assert_str_eq(who.department, "sanitation");
    ck_assert_int_eq(who.is_admin, 0);

    ck_assert_int_eq(cg_auth_issue_token(st, "m7", "terminal", token2), 0);
    ck_assert_str_ne(token, token2);
    ck_assert_int_eq(cg_auth_token_lookup(st, token2, &who), 0);
    ck_assert_str_eq(who.member_id, "m7");

    ck_assert_int_eq(cg_auth_issue_token(st, "ghost", "terminal", token2), -1);
    ck_assert_int_eq(count("SELECT count(*) FROM tokens WHERE member_id = 'ghost'"), 0);
    ck_assert_int_eq(sqlite3_get_autocommit(st->db), 1);

    /* lookups of things that are not our tokens */
    ck_assert_int_eq(cg_auth_token_lookup(st, "", &who), -1);
    ck_assert_int_eq(cg_auth_token_lookup(st, "abc", &who), -1);
    char flipped[CG_TOKEN_HEX_LEN + 1];
    memcpy(flipped, token, sizeof flipped);
    flipped[0] = flipped[0] == 'a' ? 'b' : 'a';
    ck_assert_int_eq(cg_auth_token_lookup(st, flipped, &who), -1);
}
END_TEST

static Suite *auth_suite(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("auth");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_bootstrap_creates_admin);
    tcase_add_test(tc, test_second_bootstrap_changes_nothing);
    tcase_add_test(tc, test_bootstrap_replaces_stale_files);
    tcase_add_test(tc, test_bootstrap_bad_dir);
    tcase_add_test(tc, test_login);
    tcase_add_test(tc, test_member_login_and_tokens);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(auth_suite());
}
