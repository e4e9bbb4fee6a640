/*
 * ctl_backup.c — citygridctl's backup commands (ctl.h):
 *
 *   backup FILE     a consistent copy of STATE_DIR/citygrid.db in FILE (new,
 *                   mode 0600) while the daemon serves, then the evidence
 *                   photos in FILE.evidence/
 *   restore FILE    put FILE (and FILE.evidence/) back into STATE_DIR; only
 *                   while the daemon is stopped
 *
 * Order matters for the photos: a photo's file is written (and fsynced)
 * before the row that names it commits (case/evidence.c), so photos copied
 * AFTER the database snapshot include every photo the snapshot names.
 * Photo files are immutable (named by their SHA-256): an existing copy is
 * kept, a missing one copied.
 *
 * Run it as the daemon's user (e.g. `sudo -u citygrid citygridctl backup
 * FILE`): the database is mode 0600.
 */
#include "ctl/ctl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/timeutil.h"
#include "store/backup.h"

typedef struct photo_count {
    size_t copied, kept;
} photo_count;

/* Copy one file to a new file (0600) through a temporary name. */
static int copy_file(const char *from, const char *to, char *err, size_t errlen)
{
    char tmp[4900];
    snprintf(tmp, sizeof tmp, "%s.tmp", to);
    int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, rc = -1;
    if (in < 0) {
        snprintf(err, errlen, "%.900s: %s", from, strerror(errno));
        return -1;
    }
    out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) {
        snprintf(err, errlen, "%.900s: %s", tmp, strerror(errno));
        close(in);
        return -1;
    }
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        if (write(out, buf, (size_t)n) != n)
            break;
    }
    if (n == 0 && fsync(out) == 0)
        rc = 0;
    else
        snprintf(err, errlen, "copying %.900s: %s", from, strerror(errno));
    close(in);
    if (close(out) < 0)
        rc = -1;
    if (rc == 0 && rename(tmp, to) < 0) {
        snprintf(err, errlen, "%.900s: %s", to, strerror(errno));
        rc = -1;
    }
    if (rc < 0)
        unlink(tmp);
    return rc;
}

/* from/XX/HASH -> to/XX/HASH for every regular file two levels down. */
static int copy_photos(const char *from, const char *to, photo_count *count, char *err, size_t errlen)
{
    DIR *top = opendir(from);
    if (!top) {
        if (errno == ENOENT)
            return 0; /* no photos yet */
        snprintf(err, errlen, "%.900s: %s", from, strerror(errno));
        return -1;
    }
    int rc = 0;
    if (mkdir(to, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "%.900s: %s", to, strerror(errno));
        rc = -1;
    }
    struct dirent *d;
    while (rc == 0 && (d = readdir(top))) {
        if (d->d_name[0] == '.')
            continue;
        char sub_from[4500], sub_to[4500];
        snprintf(sub_from, sizeof sub_from, "%s/%s", from, d->d_name);
        snprintf(sub_to, sizeof sub_to, "%s/%s", to, d->d_name);
        DIR *sub = opendir(sub_from);
        if (!sub)
            continue; /* not a directory */
        if (mkdir(sub_to, 0700) < 0 && errno != EEXIST) {
            snprintf(err, errlen, "%.900s: %s", sub_to, strerror(errno));
            rc = -1;
        }
        struct dirent *f;
        while (rc == 0 && (f = readdir(sub))) {
            if (f->d_name[0] == '.')
                continue; /* ".HASH.XXXXXX": an upload in progress (evidence.c) */
            char a[4800], b[4800];
            snprintf(a, sizeof a, "%s/%s", sub_from, f->d_name);
            snprintf(b, sizeof b, "%s/%s", sub_to, f->d_name);
            struct stat sa, sb;
            if (stat(a, &sa) < 0 || !S_ISREG(sa.st_mode))
                continue;
            if (stat(b, &sb) == 0 && sb.st_size == sa.st_size) {
                count->kept++;
                continue;
            }
            rc = copy_file(a, b, err, errlen);
            count->copied += rc == 0;
        }
        closedir(sub);
    }
    closedir(top);
    return rc;
}

static int run_backup(const cg_ctl_env *env, int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: citygridctl backup FILE\n");
        return 2;
    }
    const char *file = argv[1];
    char db[4096], photos_from[4096], photos_to[4200], err[1024] = "";
    snprintf(db, sizeof db, "%s/citygrid.db", env->state_dir);
    snprintf(photos_from, sizeof photos_from, "%s/evidence", env->state_dir);
    snprintf(photos_to, sizeof photos_to, "%s.evidence", file);
    long long pages = 0;
    int64_t t0 = cg_monotonic_ms();
    if (cg_store_backup(db, file, &pages, err, sizeof err) < 0) {
        fprintf(stderr, "citygridctl: backup: %s\n", err);
        return 1;
    }
    photo_count pc = {0, 0};
    if (copy_photos(photos_from, photos_to, &pc, err, sizeof err) < 0) {
        fprintf(stderr, "citygridctl: backup: the database is in %s, but the photos are not: %s\n",
                file, err);
        return 1;
    }
    printf("backup: %s (%lld pages) and %zu photo(s) in %s, in %lld ms\n", file, pages,
           pc.copied + pc.kept, photos_to, (long long)(cg_monotonic_ms() - t0));
    return 0;
}

static int run_restore(const cg_ctl_env *env, int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: citygridctl restore FILE\n");
        return 2;
    }
    const char *file = argv[1];
    char db[4096], photos_from[4200], photos_to[4096], err[1024] = "";
    snprintf(db, sizeof db, "%s/citygrid.db", env->state_dir);
    snprintf(photos_from, sizeof photos_from, "%s.evidence", file);
    snprintf(photos_to, sizeof photos_to, "%s/evidence", env->state_dir);
    if (access(env->state_dir, W_OK) != 0) {
        fprintf(stderr, "citygridctl: restore: state directory %s: %s\n", env->state_dir,
                strerror(errno));
        return 1;
    }
    /* Photos first: a database whose photos are missing would be worse than
     * extra photo files nothing names. */
    photo_count pc = {0, 0};
    int busy = cg_store_in_use(db, err, sizeof err);
    if (busy > 0) {
        fprintf(stderr, "citygridctl: restore: %s is in use: stop citygridd first "
                        "(systemctl stop citygridd); nothing was changed\n", db);
        return 1;
    }
    if (busy < 0 || copy_photos(photos_from, photos_to, &pc, err, sizeof err) < 0 ||
        cg_store_restore(file, db, err, sizeof err) < 0) {
        fprintf(stderr, "citygridctl: restore: %s\n", err);
        return 1;
    }
    printf("restored: %s into %s, %zu photo(s) copied (%zu already there)\n", file, db, pc.copied,
           pc.kept);
    return 0;
}

const cg_ctl_command cg_ctl_backup_commands[] = {
    {"backup", "backup FILE",
     "copy the database consistently into FILE (new, mode 0600) while citygridd serves, and "
     "the evidence photos into FILE.evidence/; run it as the daemon's user",
     run_backup},
    {"restore", "restore FILE",
     "put the database FILE and its photos FILE.evidence/ back into the state directory; "
     "citygridd must be stopped (refused otherwise)",
     run_restore},
    {NULL, NULL, NULL, NULL},
};
