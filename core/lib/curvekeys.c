/*
 * curvekeys.c — read and write CURVE key files (see curvekeys.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "lib/curvekeys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

static const char z85_chars[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

int cg_z85_key_valid(const char *s)
{
    if (!s || strlen(s) != CG_Z85_KEY_LEN)
        return 0;
    for (; *s; s++)
        if (!strchr(z85_chars, *s))
            return 0;
    return 1;
}

/* `name = "value"` -> value into dst (40 chars). 1 found, 0 not this key, -1 bad. */
static int key_line(const char *line, const char *name, char *dst)
{
    size_t n = strlen(name);
    while (*line == ' ' || *line == '\t')
        line++;
    if (strncmp(line, name, n) != 0)
        return 0;
    line += n;
    while (*line == ' ' || *line == '\t' || *line == '=')
        line++;
    if (*line++ != '"')
        return -1;
    const char *end = strchr(line, '"');
    if (!end || end - line != CG_Z85_KEY_LEN)
        return -1;
    char key[CG_Z85_KEY_LEN + 1];
    memcpy(key, line, CG_Z85_KEY_LEN);
    key[CG_Z85_KEY_LEN] = '\0';
    if (!cg_z85_key_valid(key))
        return -1;
    memcpy(dst, key, sizeof key);
    return 1;
}

int cg_curve_keys_read(const char *path, int need_secret, cg_curve_keys *out, char *err,
                       size_t errlen)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read key file: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (need_secret && fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
        snprintf(err, errlen, "%s: secret key file is readable by others (mode %03o; "
                 "chmod 600 it)", path, (unsigned)(st.st_mode & 0777));
        fclose(f);
        return -1;
    }
    char line[512];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\r\n")] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            continue;
        int a = key_line(p, "public-key", out->public_key);
        int b = a ? 0 : key_line(p, "secret-key", out->secret_key);
        if (a == 0 && b == 0 && cg_z85_key_valid(p) && !out->public_key[0]) {
            memcpy(out->public_key, p, CG_Z85_KEY_LEN + 1);
            continue;
        }
        if (a < 0 || b < 0 || (a == 0 && b == 0)) {
            snprintf(err, errlen, "%s:%d: not a key line (expected public-key = \"Z85\" or "
                     "secret-key = \"Z85\", 40 characters)", path, lineno);
            rc = -1;
        }
    }
    fclose(f);
    if (rc < 0)
        return -1;
    if (need_secret && !out->secret_key[0]) {
        snprintf(err, errlen, "%s: no secret-key in this file (a keypair file from "
                 "`citygridctl keygen` ends in .key)", path);
        return -1;
    }
    if (out->secret_key[0] && !out->public_key[0]) {
        char pub[CG_Z85_KEY_LEN + 1];
        if (zmq_curve_public(pub, out->secret_key) != 0) {
            snprintf(err, errlen, "%s: cannot derive the public key: %s", path,
                     zmq_strerror(errno));
            return -1;
        }
        memcpy(out->public_key, pub, sizeof pub);
    }
    if (!out->public_key[0]) {
        snprintf(err, errlen, "%s: no public-key in this file", path);
        return -1;
    }
    return 0;
}

static int write_new(const char *path, mode_t mode, const char *text, char *err, size_t errlen)
{
    /* O_EXCL: never overwrite a key; the mode is set at open, so the secret
     * is never readable by others, not even for a moment. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(err, errlen, "%s: write failed: %s", path, strerror(errno));
            close(fd);
            unlink(path);
            return -1;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        unlink(path);
        return -1;
    }
    return 0;
}

int cg_curve_keys_generate(const char *out_prefix, char *err, size_t errlen)
{
    if (!zmq_has("curve")) {
        snprintf(err, errlen, "this libzmq has no CURVE support");
        return -1;
    }
    char pub[CG_Z85_KEY_LEN + 1], sec[CG_Z85_KEY_LEN + 1];
    if (zmq_curve_keypair(pub, sec) != 0) {
        snprintf(err, errlen, "cannot make a keypair: %s", zmq_strerror(errno));
        return -1;
    }
    char pub_path[4096], key_path[4096], text[512];
    snprintf(pub_path, sizeof pub_path, "%s.pub", out_prefix);
    snprintf(key_path, sizeof key_path, "%s.key", out_prefix);
    snprintf(text, sizeof text, "# citygrid CURVE keypair: SECRET, keep it mode 0600\n"
             "public-key = \"%s\"\nsecret-key = \"%s\"\n", pub, sec);
    if (write_new(key_path, 0600, text, err, errlen) < 0)
        return -1;
    snprintf(text, sizeof text, "# citygrid CURVE public key (give this one away)\n"
             "public-key = \"%s\"\n", pub);
    if (write_new(pub_path, 0644, text, err, errlen) < 0) {
        unlink(key_path);
        return -1;
    }
    return 0;
}
