/*
 * testutil.h — small helpers shared by the Check tests: temporary
 * directories, files, and paths into the build and source trees (set by
 * `make check` as CG_BUILDDIR and CG_SRCDIR; "." when run by hand).
 * All returned strings are malloc'd; the caller frees them.
 */
#ifndef CG_TESTUTIL_H
#define CG_TESTUTIL_H

/* A fresh directory under $TMPDIR (or /tmp). */
/* How many times its nominal timeout a test's wait FOR something may take
 * (CG_TEST_PATIENCE, 1..1000, default 10): timeouts only catch hangs, so a
 * machine whose cores are busy makes a test slower, never red. */
int tu_patience(void);

char *tu_tempdir(const char *tag);
/* Remove a directory tree (best effort). */
void tu_rmrf(const char *path);
/* Write text to a file (created 0644, truncated). 0 ok. */
int tu_write_file(const char *path, const char *text);
/* Read a whole file, NUL-terminated; NULL if unreadable. */
char *tu_read_file(const char *path);
/* printf into a new string. */
char *tu_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* $CG_BUILDDIR/rel and $CG_SRCDIR/rel. */
char *tu_build_path(const char *rel);
char *tu_src_path(const char *rel);
/* Path of a libtool-built plugin: "$CG_BUILDDIR/DIR/.libs/NAME.so". */
char *tu_plugin_path(const char *dir, const char *name);

#endif
