/* testutil.c — see testutil.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "testutil.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *tu_sprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    if (!s)
        abort();
    return s;
}

char *tu_tempdir(const char *tag)
{
    const char *tmp = getenv("TMPDIR");
    char *path = tu_sprintf("%s/citygrid-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag ? tag : "test");
    if (!mkdtemp(path))
        abort();
    return path;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    remove(path);
    return 0;
}

void tu_rmrf(const char *path)
{
    if (path)
        nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int tu_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    size_t n = strlen(text);
    int ok = fwrite(text, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

char *tu_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    fclose(f);
    if (buf)
        buf[len] = 0;
    return buf;
}

static char *tree_path(const char *var, const char *rel)
{
    const char *root = getenv(var);
    return tu_sprintf("%s/%s", root && *root ? root : ".", rel);
}

char *tu_build_path(const char *rel) { return tree_path("CG_BUILDDIR", rel); }
char *tu_src_path(const char *rel) { return tree_path("CG_SRCDIR", rel); }

char *tu_plugin_path(const char *dir, const char *name)
{
    char *rel = tu_sprintf("%s/.libs/%s.so", dir, name);
    char *p = tu_build_path(rel);
    free(rel);
    return p;
}

int tu_patience(void)
{
    static int patience;
    if (!patience) {
        const char *env = getenv("CG_TEST_PATIENCE");
        long v = env ? strtol(env, NULL, 10) : 0;
        patience = v >= 1 && v <= 1000 ? (int)v : 10;
    }
    return patience;
}
