/*
 * auth.h — members' credentials and bearer tokens. Passwords are argon2id
 * (libsodium crypto_pwhash_str); tokens are 32 random bytes shown once as hex
 * and stored only as their SHA-256. Main thread only (uses the store),
 * except cg_auth_login_verify and cg_auth_hash_password, which touch no
 * shared state and run on the worker pool (host/workers.h) so that argon2id
 * never holds up the event loop.
 */
#ifndef CG_AUTH_H
#define CG_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "lib/result.h"
#include "store/store.h"

#define CG_TOKEN_HEX_LEN 64

typedef struct cg_principal {
    char member_id[64];
    char name[128];
    char department[32];
    int is_admin;
} cg_principal;

/* First start: create the `admin` member and write a fresh token to
 * STATE_DIR/admin.token (mode 0600) — logging where. Later starts: nothing
 * (an existing admin.token is left alone). -1 with err on failure. */
int cg_auth_bootstrap(cg_store *st, const char *state_dir, char *err, size_t errlen);

/* Who holds this token? 0 found, -1 unknown. */
int cg_auth_token_lookup(cg_store *st, const char *token, cg_principal *out);
/* A new token for an existing member: 0 ok (token is NUL-terminated hex),
 * -1 unknown member. Writes in its own transaction. */
int cg_auth_issue_token(cg_store *st, const char *member_id, const char *label,
                        char token[CG_TOKEN_HEX_LEN + 1]);
/* Check login and password; on success issue a session token. 0 ok, -1 bad
 * credentials (same answer for unknown login, wrong password and a
 * deactivated member). All three steps below at once, on the calling thread. */
int cg_auth_login(cg_store *st, const char *login, const char *password, cg_principal *who,
                  char token[CG_TOKEN_HEX_LEN + 1]);

/* ---- a login in three steps, so that argon2id runs off the loop ----------
 * begin (main thread, read connection): the member's stored hash and
 *   principal, and a private copy of the password;
 * verify (any thread; touches only the attempt): argon2id, then the copy of
 *   the password is wiped. An unknown login is verified against a dummy
 *   hash, so both failures take the same time;
 * finish (main thread): the hash must still be the member's (a password
 *   changed or a member deactivated meanwhile fails), then the session token
 *   is issued.
 * cg_auth_attempt_clear wipes and frees what the attempt holds; call it
 * after finish, or instead of it. */
typedef struct cg_auth_attempt {
    int found;               /* an active member has this login and a password */
    int verified;            /* set by verify */
    char hash[128];          /* crypto_pwhash_STRBYTES */
    cg_principal who;
    char *password;          /* a copy, wiped before it is freed */
    size_t password_len;
} cg_auth_attempt;
/* 0 ready for verify; -1 no memory or the store failed (attempt cleared). */
int cg_auth_login_begin(cg_store *st, const char *login, const char *password,
                        cg_auth_attempt *a);
void cg_auth_login_verify(cg_auth_attempt *a);
/* 0 and the token (and *who) when the password was right and still is; -1
 * otherwise. Does not clear the attempt. */
int cg_auth_login_finish(cg_store *st, cg_auth_attempt *a, cg_principal *who,
                         char token[CG_TOKEN_HEX_LEN + 1]);
void cg_auth_attempt_clear(cg_auth_attempt *a);
/* ---- lifetimes and revocation ---------------------------------------------
 * A token lives session_ttl_ms from its issue when its label is "session"
 * (POST /v1/sessions), terminal_ttl_ms otherwise (terminal tokens, the
 * bootstrap admin token); an expired token is unknown to
 * cg_auth_token_lookup. Defaults 12 h and 90 days; set once at start (main
 * thread, before requests). Expired rows are purged by cg_auth_purge_expired
 * (cg_auth_login calls it at most once a minute). */
void cg_auth_set_lifetimes(int64_t session_ttl_ms, int64_t terminal_ttl_ms);
/* Revoke one token (as presented). 1 revoked, 0 unknown, -1 storage error.
 * Own transaction. */
int cg_auth_revoke_token(cg_store *st, const char *token);
/* Revoke every token of a member. The number revoked, or -1. Own
 * transaction (a SAVEPOINT, so it also nests in a caller's). */
int cg_auth_revoke_member(cg_store *st, const char *member_id);
/* The same inside the caller's transaction on the write connection (the
 * members domain calls it when a password changes or a member is
 * deactivated): CG_OK, or the storage failure in r. */
cg_status cg_auth_revoke_member_tx(cg_store *st, const char *member_id, cg_result *r);
/* Delete expired token rows. The number deleted, or -1. */
int cg_auth_purge_expired(cg_store *st);

/* Hash a password for storage (argon2id). 0 ok. out >= 128 bytes. Any
 * thread (slow on purpose: the HTTP layer calls it on the worker pool). */
int cg_auth_hash_password(const char *password, char *out, size_t outlen);

#endif
