/*
 * auth.h — members' credentials and bearer tokens. Passwords are argon2id
 * (libsodium crypto_pwhash_str); tokens are 32 random bytes shown once as hex
 * and stored only as their SHA-256. Main thread only (uses the store).
 */
#ifndef CG_AUTH_H
#define CG_AUTH_H

#include <stddef.h>
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
 * credentials (same answer for unknown login and wrong password). */
int cg_auth_login(cg_store *st, const char *login, const char *password, cg_principal *who,
                  char token[CG_TOKEN_HEX_LEN + 1]);
/* Hash a password for storage (argon2id). 0 ok. out >= 128 bytes. */
int cg_auth_hash_password(const char *password, char *out, size_t outlen);

#endif
