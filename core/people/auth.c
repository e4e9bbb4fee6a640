/*
 * auth.c — members' credentials and bearer tokens (see auth.h).
 *
 * A token is 32 random bytes shown once as 64 hex characters; the database
 * keeps only the hex SHA-256 of that text, so a copy of the database does
 * not let anyone in. Passwords are argon2id strings from crypto_pwhash_str.
 *
 * Writes use a SAVEPOINT, which is a transaction of its own between batches
 * and nests harmlessly if a caller is already inside one.
 */
#include "people/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/timeutil.h"

#define ADMIN_ID "admin"
#define TOKEN_FILE "admin.token"
#define PASSWORD_FILE "admin.password"

static int crypto_ready(void)
{
    return sodium_init() < 0 ? -1 : 0; /* 1 = already initialised */
}

/* Hex SHA-256 of the token text as the client presents it. */
static void token_digest(const char *token, char out[crypto_hash_sha256_BYTES * 2 + 1])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
    sodium_bin2hex(out, crypto_hash_sha256_BYTES * 2 + 1, h, sizeof h);
}

static void new_token(char token[CG_TOKEN_HEX_LEN + 1])
{
    unsigned char raw[CG_TOKEN_HEX_LEN / 2];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(token, CG_TOKEN_HEX_LEN + 1, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
}

static int exec_quiet(cg_store *st, const char *sql)
{
    sqlite3_stmt *s = cg_store_stmt(st, sql);
    int rc = s ? sqlite3_step(s) : SQLITE_ERROR;
    if (s)
        sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* The write connection may belong to cg_batch's writer thread: hold the
 * store lock from savepoint_begin (even when it fails) until savepoint_end
 * succeeds or savepoint_abort runs; every begin is followed by one of them. */
static int savepoint_begin(cg_store *st)
{
    cg_store_lock(st);
    return exec_quiet(st, "SAVEPOINT auth_write");
}

static int savepoint_end(cg_store *st)
{
    if (exec_quiet(st, "RELEASE auth_write") < 0)
        return -1; /* still locked: the caller aborts */
    cg_store_unlock(st);
    return 0;
}

static void savepoint_abort(cg_store *st)
{
    if (!sqlite3_get_autocommit(st->db)) {
        exec_quiet(st, "ROLLBACK TO auth_write");
        exec_quiet(st, "RELEASE auth_write");
    }
    cg_store_unlock(st);
}

static int member_exists(cg_store *st, const char *member_id)
{
    sqlite3_stmt *s = cg_store_stmt(st, "SELECT 1 FROM members WHERE id = ?1");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, member_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Insert the token row (no transaction of its own). */
static int store_token(cg_store *st, const char *member_id, const char *label, const char *token)
{
    char digest[crypto_hash_sha256_BYTES * 2 + 1];
    token_digest(token, digest);
    sqlite3_stmt *s = cg_store_stmt(st,
        "INSERT INTO tokens(token_hash, member_id, label, created_at) VALUES (?1, ?2, ?3, ?4)");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, digest, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, member_id, -1, SQLITE_STATIC);
    if (label)
        sqlite3_bind_text(s, 3, label, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, cg_now_ms());
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        CG_ERROR("auth", "%s: storing a token for %s: %s", st->path, member_id,
                 sqlite3_errmsg(st->db));
        return -1;
    }
    return 0;
}

int cg_auth_hash_password(const char *password, char *out, size_t outlen)
{
    if (!password || outlen < crypto_pwhash_STRBYTES || crypto_ready() < 0)
        return -1;
    return crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                             crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0 ? 0 : -1;
}

int cg_auth_issue_token(cg_store *st, const char *member_id, const char *label,
                        char token[CG_TOKEN_HEX_LEN + 1])
{
    token[0] = 0;
    if (!member_id || crypto_ready() < 0)
        return -1;
    if (savepoint_begin(st) < 0) {
        savepoint_abort(st);
        return -1;
    }
    char fresh[CG_TOKEN_HEX_LEN + 1];
    new_token(fresh);
    if (member_exists(st, member_id) != 1 || store_token(st, member_id, label, fresh) < 0 ||
        savepoint_end(st) < 0) {
        savepoint_abort(st);
        sodium_memzero(fresh, sizeof fresh);
        return -1;
    }
    memcpy(token, fresh, sizeof fresh);
    sodium_memzero(fresh, sizeof fresh);
    return 0;
}

static void fill_principal(sqlite3_stmt *s, int first_col, cg_principal *out)
{
    const char *id = (const char *)sqlite3_column_text(s, first_col);
    const char *name = (const char *)sqlite3_column_text(s, first_col + 1);
    const char *dep = (const char *)sqlite3_column_text(s, first_col + 2);
    memset(out, 0, sizeof *out);
    snprintf(out->member_id, sizeof out->member_id, "%s", id ? id : "");
    snprintf(out->name, sizeof out->name, "%s", name ? name : "");
    snprintf(out->department, sizeof out->department, "%s", dep ? dep : "");
    out->is_admin = sqlite3_column_int(s, first_col + 3) != 0;
}

/* ---------------------------------------------------------------- lifetimes */

#define DEFAULT_SESSION_TTL_MS (12LL * 3600 * 1000)
#define DEFAULT_TERMINAL_TTL_MS (90LL * 24 * 3600 * 1000)
#define PURGE_EVERY_MS 60000

static int64_t session_ttl_ms = DEFAULT_SESSION_TTL_MS;
static int64_t terminal_ttl_ms = DEFAULT_TERMINAL_TTL_MS;

void cg_auth_set_lifetimes(int64_t session_ttl, int64_t terminal_ttl)
{
    session_ttl_ms = session_ttl > 0 ? session_ttl : DEFAULT_SESSION_TTL_MS;
    terminal_ttl_ms = terminal_ttl > 0 ? terminal_ttl : DEFAULT_TERMINAL_TTL_MS;
}

/* A token is alive while created_at is after its label's cut-off: ?A for
 * sessions, ?B for the rest. */
#define TOKEN_ALIVE(T, A, B) \
    T ".created_at > CASE WHEN " T ".label = 'session' THEN " A " ELSE " B " END"

int cg_auth_token_lookup(cg_store *st, const char *token, cg_principal *out)
{
    if (!token || strlen(token) != CG_TOKEN_HEX_LEN || crypto_ready() < 0)
        return -1;
    char digest[crypto_hash_sha256_BYTES * 2 + 1];
    token_digest(token, digest);
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT m.id, m.name, m.department, m.is_admin FROM tokens t"
        " JOIN members m ON m.id = t.member_id WHERE t.token_hash = ?1 AND m.active AND "
        TOKEN_ALIVE("t", "?2", "?3"));
    if (!s)
        return -1;
    int64_t now = cg_now_ms();
    sqlite3_bind_text(s, 1, digest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now - session_ttl_ms);
    sqlite3_bind_int64(s, 3, now - terminal_ttl_ms);
    int found = sqlite3_step(s) == SQLITE_ROW;
    if (found && out)
        fill_principal(s, 0, out);
    sqlite3_reset(s);
    return found ? 0 : -1;
}

int cg_auth_revoke_token(cg_store *st, const char *token)
{
    if (!token || strlen(token) != CG_TOKEN_HEX_LEN || crypto_ready() < 0)
        return 0;
    char digest[crypto_hash_sha256_BYTES * 2 + 1];
    token_digest(token, digest);
    if (savepoint_begin(st) < 0) {
        savepoint_abort(st);
        return -1;
    }
    sqlite3_stmt *s = cg_store_stmt(st, "DELETE FROM tokens WHERE token_hash = ?1");
    int rc = s ? (sqlite3_bind_text(s, 1, digest, -1, SQLITE_STATIC), sqlite3_step(s)) : SQLITE_ERROR;
    if (s)
        sqlite3_reset(s);
    int n = rc == SQLITE_DONE ? sqlite3_changes(st->db) : -1;
    if (n < 0 || savepoint_end(st) < 0) {
        savepoint_abort(st);
        return -1;
    }
    return n > 0;
}

cg_status cg_auth_revoke_member_tx(cg_store *st, const char *member_id, cg_result *r)
{
    sqlite3_stmt *s = cg_store_stmt(st, "DELETE FROM tokens WHERE member_id = ?1");
    if (s)
        sqlite3_bind_text(s, 1, member_id, -1, SQLITE_STATIC);
    cg_status rc = cg_store_step(st, s, "revoking a member's tokens", r);
    if (rc == CG_OK)
        CG_NOTICE("auth", "revoked every token of %s", member_id);
    return rc;
}

int cg_auth_revoke_member(cg_store *st, const char *member_id)
{
    cg_result r;
    cg_result_clear(&r);
    if (savepoint_begin(st) < 0) {
        savepoint_abort(st);
        return -1;
    }
    int n = -1;
    if (cg_auth_revoke_member_tx(st, member_id, &r) == CG_OK)
        n = sqlite3_changes(st->db);
    if (n < 0 || savepoint_end(st) < 0) {
        savepoint_abort(st);
        return -1;
    }
    return n;
}

int cg_auth_purge_expired(cg_store *st)
{
    if (savepoint_begin(st) < 0) {
        savepoint_abort(st);
        return -1;
    }
    sqlite3_stmt *s = cg_store_stmt(st, "DELETE FROM tokens WHERE NOT (" TOKEN_ALIVE("tokens", "?1", "?2") ")");
    int64_t now = cg_now_ms();
    int rc = SQLITE_ERROR;
    if (s) {
        sqlite3_bind_int64(s, 1, now - session_ttl_ms);
        sqlite3_bind_int64(s, 2, now - terminal_ttl_ms);
        rc = sqlite3_step(s);
        sqlite3_reset(s);
    }
    int n = rc == SQLITE_DONE ? sqlite3_changes(st->db) : -1;
    if (n < 0 || savepoint_end(st) < 0) {
        savepoint_abort(st);
        return -1;
    }
    if (n > 0)
        CG_INFO("auth", "purged %d expired tokens", n);
    return n;
}

/* Verifying against this when the login is unknown makes both failures take
 * the same time, so logins cannot be probed. Computed once, by whichever
 * thread needs it first. */
static char dummy[crypto_pwhash_STRBYTES];
static void make_dummy(void)
{
    if (cg_auth_hash_password("citygrid: no such login", dummy, sizeof dummy) < 0)
        dummy[0] = 0;
}
static const char *dummy_hash(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_dummy);
    return dummy;
}

/* The member behind a login, when active and with a password: 1 found
 * (hash and principal filled), 0 not, -1 storage error. */
static int read_credentials(cg_store *st, const char *login, char hash[crypto_pwhash_STRBYTES],
                            cg_principal *p)
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT password_hash, id, name, department, is_admin FROM members"
        " WHERE login = ?1 AND active AND password_hash IS NOT NULL AND password_hash <> ''");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, login, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const char *h = (const char *)sqlite3_column_text(s, 0);
        snprintf(hash, crypto_pwhash_STRBYTES, "%s", h ? h : "");
        fill_principal(s, 1, p);
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

void cg_auth_attempt_clear(cg_auth_attempt *a)
{
    if (a->password) {
        sodium_memzero(a->password, a->password_len + 1);
        free(a->password);
    }
    sodium_memzero(a, sizeof *a);
}

int cg_auth_login_begin(cg_store *st, const char *login, const char *password,
                        cg_auth_attempt *a)
{
    memset(a, 0, sizeof *a);
    if (!login || !password || crypto_ready() < 0)
        return -1;
    int found = read_credentials(st, login, a->hash, &a->who);
    if (found < 0)
        return -1;
    a->found = found;
    a->password_len = strlen(password);
    if (!(a->password = malloc(a->password_len + 1))) {
        cg_auth_attempt_clear(a);
        return -1;
    }
    memcpy(a->password, password, a->password_len + 1);
    return 0;
}

void cg_auth_login_verify(cg_auth_attempt *a)
{
    const char *against = a->found ? a->hash : dummy_hash();
    a->verified = a->password && against[0] &&
                  crypto_pwhash_str_verify(against, a->password, a->password_len) == 0 &&
                  a->found;
    if (a->password) {
        sodium_memzero(a->password, a->password_len + 1);
        free(a->password);
        a->password = NULL;
    }
}

int cg_auth_login_finish(cg_store *st, cg_auth_attempt *a, cg_principal *who,
                         char token[CG_TOKEN_HEX_LEN + 1])
{
    token[0] = 0;
    if (!a->found || !a->verified)
        return -1;
    /* argon2 took a while: the member may have been deactivated or given a
     * new password meanwhile (which revoked their tokens). Then the old
     * password opens nothing. */
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT password_hash = ?2 FROM members WHERE id = ?1 AND active");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, a->who.member_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, a->hash, -1, SQLITE_STATIC);
    int same = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int(s, 0) == 1;
    sqlite3_reset(s);
    if (!same)
        return -1;
    static int64_t purged_at;
    if (cg_now_ms() - purged_at > PURGE_EVERY_MS) {
        purged_at = cg_now_ms();
        (void)cg_auth_purge_expired(st);
    }
    if (cg_auth_issue_token(st, a->who.member_id, "session", token) < 0)
        return -1;
    if (who)
        *who = a->who;
    return 0;
}

int cg_auth_login(cg_store *st, const char *login, const char *password, cg_principal *who,
                  char token[CG_TOKEN_HEX_LEN + 1])
{
    token[0] = 0;
    cg_auth_attempt a;
    if (cg_auth_login_begin(st, login, password, &a) < 0)
        return -1;
    cg_auth_login_verify(&a);
    int rc = cg_auth_login_finish(st, &a, who, token);
    cg_auth_attempt_clear(&a);
    return rc;
}

/* ---------------------------------------------------------------- bootstrap */

/* Create a secret file: O_EXCL so nothing existing (or a planted symlink) is
 * followed or overwritten, mode 0600 from the start so it is never readable
 * by others, fsync'd before the database commit that makes it valid. */
static int write_secret(const char *path, const char *secret, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[CG_TOKEN_HEX_LEN * 2 + 2];
    int n = snprintf(line, sizeof line, "%s\n", secret);
    int ok = write(fd, line, (size_t)n) == n && fsync(fd) == 0;
    int saved = errno;
    sodium_memzero(line, sizeof line);
    if (close(fd) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    if (!ok) {
        snprintf(err, errlen, "%s: %s", path, strerror(saved));
        unlink(path);
        return -1;
    }
    return 0;
}

static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Files left by a start that crashed before its commit, or by a database that
 * was deleted: they hold credentials nothing accepts, so they go. */
static int remove_stale(const char *path, char *err, size_t errlen)
{
    if (unlink(path) == 0) {
        CG_WARN("auth", "removed %s: it belonged to an admin account that is not in the database",
                path);
        return 0;
    }
    if (errno == ENOENT)
        return 0;
    snprintf(err, errlen, "%s: cannot remove stale file: %s", path, strerror(errno));
    return -1;
}

static int insert_admin(cg_store *st, const char *password_hash)
{
    sqlite3_stmt *s = cg_store_stmt(st,
        "INSERT INTO members(id, login, name, name_zh, department, password_hash, is_admin,"
        " created_at) VALUES ('" ADMIN_ID "', '" ADMIN_ID "', 'Administrator', '管理员', NULL,"
        " ?1, 1, ?2)");
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, password_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, cg_now_ms());
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

int cg_auth_bootstrap(cg_store *st, const char *state_dir, char *err, size_t errlen)
{
    if (crypto_ready() < 0) {
        snprintf(err, errlen, "libsodium failed to initialise");
        return -1;
    }
    int exists = member_exists(st, ADMIN_ID);
    if (exists < 0) {
        snprintf(err, errlen, "%s: cannot read members: %s", st->path, sqlite3_errmsg(st->db));
        return -1;
    }
    if (exists)
        return 0;

    char token_path[4096], password_path[4096];
    snprintf(token_path, sizeof token_path, "%s/%s", state_dir, TOKEN_FILE);
    snprintf(password_path, sizeof password_path, "%s/%s", state_dir, PASSWORD_FILE);
    if (remove_stale(token_path, err, errlen) < 0 || remove_stale(password_path, err, errlen) < 0)
        return -1;

    char password[CG_TOKEN_HEX_LEN + 1], token[CG_TOKEN_HEX_LEN + 1];
    char hash[crypto_pwhash_STRBYTES];
    new_token(password); /* 32 random bytes as hex */
    new_token(token);
    int rc = -1;
    if (cg_auth_hash_password(password, hash, sizeof hash) < 0) {
        snprintf(err, errlen, "cannot hash the admin password (out of memory?)");
        goto out;
    }
    /* Rows first, files next, commit last: the files exist only if the
     * commit happens (a crash in between leaves stale files, removed above). */
    if (savepoint_begin(st) < 0 || insert_admin(st, hash) < 0 ||
        store_token(st, ADMIN_ID, "bootstrap", token) < 0) {
        snprintf(err, errlen, "%s: cannot create the admin account: %s", st->path,
                 sqlite3_errmsg(st->db));
        savepoint_abort(st);
        goto out;
    }
    if (write_secret(password_path, password, err, errlen) < 0) {
        savepoint_abort(st);
        goto out;
    }
    if (write_secret(token_path, token, err, errlen) < 0) {
        unlink(password_path);
        savepoint_abort(st);
        goto out;
    }
    if (savepoint_end(st) < 0) {
        snprintf(err, errlen, "%s: cannot commit the admin account: %s", st->path,
                 sqlite3_errmsg(st->db));
        savepoint_abort(st);
        unlink(token_path);
        unlink(password_path);
        goto out;
    }
    sync_dir(state_dir);
    CG_NOTICE("auth", "created the admin account; its token is in %s and its password in %s "
              "(mode 0600)", token_path, password_path);
    rc = 0;
out:
    sodium_memzero(password, sizeof password);
    sodium_memzero(token, sizeof token);
    return rc;
}
