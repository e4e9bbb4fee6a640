/*
 * tls.c — see tls.h.
 *
 * Files are opened here first (fopen, stat) so that a missing or unreadable
 * one is named with the system's reason; OpenSSL's own errors then only
 * speak of the contents. An encrypted key gets a passphrase callback that
 * refuses, or OpenSSL would ask for it on the terminal.
 */
#include "lib/tls.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

__attribute__((format(printf, 5, 6)))
static cg_tls_ctx *fail(cg_tls_culprit *culprit, cg_tls_culprit who, char *err, size_t errlen,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    if (culprit)
        *culprit = who;
    ERR_clear_error();
    return NULL;
}

/* OpenSSL's reason for the last failure ("no start line", "key values
 * mismatch"), or a fallback. */
static const char *openssl_reason(char *buf, size_t len, const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    snprintf(buf, len, "%s", r ? r : fallback);
    return buf;
}

/* A readable regular file? NULL yes, else why not. */
static const char *unreadable(const char *path, int *others_read)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return strerror(errno);
    if (!S_ISREG(st.st_mode))
        return "not a regular file";
    FILE *f = fopen(path, "r");
    if (!f)
        return strerror(errno);
    fclose(f);
    if (others_read)
        *others_read = (st.st_mode & S_IROTH) != 0;
    return NULL;
}

static int no_passphrase(char *buf, int size, int rwflag, void *arg)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)arg;
    return 0;
}

cg_tls_ctx *cg_tls_ctx_new(const char *cert, const char *key, cg_tls_culprit *culprit,
                           char *err, size_t errlen)
{
    char why[256];
    const char *no;
    int others = 0;
    if (!cert || !*cert)
        return fail(culprit, CG_TLS_CERT, err, errlen, "tls needs cert = \"FILE\"");
    if (!key || !*key)
        return fail(culprit, CG_TLS_KEY, err, errlen, "tls needs key = \"FILE\"");
    if ((no = unreadable(cert, NULL)))
        return fail(culprit, CG_TLS_CERT, err, errlen, "cannot read the certificate %s: %s",
                    cert, no);
    if ((no = unreadable(key, &others)))
        return fail(culprit, CG_TLS_KEY, err, errlen, "cannot read the private key %s: %s", key,
                    no);
    if (others)
        return fail(culprit, CG_TLS_KEY, err, errlen, "the private key %s is readable by "
                    "everyone: chmod o-r it (0600, or 0640 with a group such as ssl-cert)", key);

    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx)
        return fail(culprit, CG_TLS_CERT, err, errlen, "cannot make a TLS context: %s",
                    openssl_reason(why, sizeof why, "out of memory"));
    /* TLS 1.0 and 1.1 are deprecated (RFC 8996). */
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    /* Idle connections keep no read and write buffers (many terminals idle). */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
    static const unsigned char sid[] = "citygrid";
    SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);

    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        openssl_reason(why, sizeof why, "not a PEM certificate");
        SSL_CTX_free(ctx);
        return fail(culprit, CG_TLS_CERT, err, errlen, "%s is not a usable certificate: %s",
                    cert, why);
    }
    int key_ok = SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1;
    /* A key of the certificate's type but of another pair fails there
     * already; one of another type fails the check after it. */
    int mismatch = key_ok ? SSL_CTX_check_private_key(ctx) != 1
                          : ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
    if (!key_ok || mismatch) {
        openssl_reason(why, sizeof why, mismatch ? "key values mismatch" : "not a PEM private key");
        SSL_CTX_free(ctx);
        if (mismatch)
            return fail(culprit, CG_TLS_KEY, err, errlen, "the private key %s does not belong "
                        "to the certificate %s: %s", key, cert, why);
        return fail(culprit, CG_TLS_KEY, err, errlen, "%s is not a usable private key (PEM, "
                    "without a passphrase): %s", key, why);
    }
    ERR_clear_error();
    return ctx;
}

void cg_tls_ctx_free(cg_tls_ctx *ctx)
{
    SSL_CTX_free(ctx);
}
