/*
 * curvekeys.h — CURVE key files for remote plugin links (ZeroMQ's Z85 text,
 * 40 characters per 32-byte key).
 *
 * A key file is text with lines `public-key = "Z85"` and, in a keypair (the
 * secret) file, `secret-key = "Z85"`; '#' starts a comment. `citygridctl
 * keygen OUT` writes OUT.pub (public key only, 0644) and OUT.key (both keys,
 * created 0600 at open). A file holding just a bare 40-character Z85 line is
 * read as a public key, for keys made by other tools.
 *
 * Pure file helpers; any thread.
 */
#ifndef CG_CURVEKEYS_H
#define CG_CURVEKEYS_H

#include <stddef.h>

#define CG_Z85_KEY_LEN 40

typedef struct cg_curve_keys {
    char public_key[CG_Z85_KEY_LEN + 1];   /* "" when the file has none */
    char secret_key[CG_Z85_KEY_LEN + 1];   /* "" when the file has none */
} cg_curve_keys;

/* Read a key file. need_secret: refuse a file without a secret key, and a
 * secret file that others can read (mode & 077). 0 ok; -1 with
 * "PATH: reason" in err. */
int cg_curve_keys_read(const char *path, int need_secret, cg_curve_keys *out, char *err,
                       size_t errlen);

/* Make a new keypair and write OUT.pub and OUT.key (refusing to overwrite
 * either). The secret file is created with mode 0600. 0 ok; -1 with err. */
int cg_curve_keys_generate(const char *out_prefix, char *err, size_t errlen);

/* 1 if s is 40 characters of the Z85 alphabet. */
int cg_z85_key_valid(const char *s);

#endif
