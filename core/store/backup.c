/* backup.c — see backup.h. */
#include "store/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/errbuf.h"
#include "store/store.h"

#define BUSY_MS 10000

/* SQLite's unix VFS (os_unix.c): the -shm file's lock bytes start at 120
 * (UNIX_SHM_BASE), 8 of them, then the "DMS" byte at 128 that every
 * connection holds a shared lock on while it has the WAL index mapped. This
 * is part of SQLite's cross-process locking protocol, so it does not move. */
#define SHM_DMS_OFFSET 128

int cg_store_in_use(const char *db_path, char *err, size_t errlen)
{
    char shm[4096];
    snprintf(shm, sizeof shm, "%s-shm", db_path);
    int fd = open(shm, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0; /* no WAL index: nobody has it open in WAL mode */
        cg_set_err(err, errlen, "%s: %s", shm, strerror(errno));
        return -1;
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = SHM_DMS_OFFSET, .l_len = 1};
    int rc = fcntl(fd, F_GETLK, &fl);
    int saved = errno;
    close(fd);
    if (rc < 0) {
        cg_set_err(err, errlen, "%s: cannot test its lock: %s", shm, strerror(saved));
        return -1;
    }
    return fl.l_type != F_UNLCK;
}

/* The whole copy in one step, retried while the source is busy. */
static int copy_db(sqlite3 *from, sqlite3 *to, long long *pages, char *err, size_t errlen)
{
    sqlite3_backup *b = sqlite3_backup_init(to, "main", from, "main");
    if (!b) {
        cg_set_err(err, errlen, "cannot start the copy: %s", sqlite3_errmsg(to));
        return -1;
    }
    int rc;
    for (int tries = 0; tries < 200; tries++) {
        rc = sqlite3_backup_step(b, -1);
        if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
            break;
        sqlite3_sleep(50);
    }
    if (pages)
        *pages = sqlite3_backup_pagecount(b);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        cg_set_err(err, errlen, "copy failed: %s", sqlite3_errstr(rc));
        return -1;
    }
    return 0;
}

int cg_store_backup(const char *db_path, const char *dest, long long *pages, char *err, size_t errlen)
{
    if (access(db_path, R_OK) != 0) {
        cg_set_err(err, errlen, "%s: %s", db_path, strerror(errno));
        return -1;
    }
    /* Created here, 0600, and never over an existing file. */
    int fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        cg_set_err(err, errlen, "%s: %s", dest, errno == EEXIST ? "exists already (not overwritten)"
                                                                 : strerror(errno));
        return -1;
    }
    close(fd);
    sqlite3 *from = NULL, *to = NULL;
    int rc = -1;
    if (sqlite3_open_v2(db_path, &from, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        cg_set_err(err, errlen, "%s: %s", db_path, from ? sqlite3_errmsg(from) : "out of memory");
    } else if (sqlite3_open_v2(dest, &to, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        cg_set_err(err, errlen, "%s: %s", dest, to ? sqlite3_errmsg(to) : "out of memory");
    } else {
        sqlite3_busy_timeout(from, BUSY_MS);
        rc = copy_db(from, to, pages, err, errlen);
        /* A backup is one self-contained file: no -wal beside it. */
        if (rc == 0 && sqlite3_exec(to, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK) {
            cg_set_err(err, errlen, "%s: %s", dest, sqlite3_errmsg(to));
            rc = -1;
        }
    }
    sqlite3_close(from);
    if (to && sqlite3_close(to) != SQLITE_OK && rc == 0) {
        cg_set_err(err, errlen, "%s: close: %s", dest, sqlite3_errmsg(to));
        rc = -1;
    }
    if (rc == 0) {
        fd = open(dest, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0) {
            cg_set_err(err, errlen, "%s: fsync: %s", dest, strerror(errno));
            rc = -1;
        }
        if (fd >= 0)
            close(fd);
    }
    if (rc < 0)
        unlink(dest);
    return rc;
}

/* The copy's schema version, or -1 (not a database, or not ours). */
static int copy_version(const char *src, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    int version = -1;
    if (sqlite3_open_v2(src, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        cg_set_err(err, errlen, "%s: %s", src, db ? sqlite3_errmsg(db) : "out of memory");
    } else {
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM sqlite_master WHERE name = 'cases'"
                                   " AND type = 'table'), user_version FROM pragma_user_version",
                               -1, &s, NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW) {
            cg_set_err(err, errlen, "%s: not a database: %s", src, sqlite3_errmsg(db));
        } else if (sqlite3_column_int(s, 0) != 1) {
            cg_set_err(err, errlen, "%s: not a citygrid database (no cases table)", src);
        } else {
            version = sqlite3_column_int(s, 1);
        }
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    return version;
}

int cg_store_restore(const char *src, const char *db_path, char *err, size_t errlen)
{
    int version = copy_version(src, err, errlen);
    if (version < 0)
        return -1;
    if (version > cg_store_latest_version()) {
        cg_set_err(err, errlen, "%s: schema version %d is newer than this build's %d: restore it "
                   "with the citygrid that made it", src, version, cg_store_latest_version());
        return -1;
    }
    int busy = cg_store_in_use(db_path, err, errlen);
    if (busy != 0) {
        if (busy > 0)
            cg_set_err(err, errlen, "%s is in use: stop citygridd first (systemctl stop citygridd)",
                       db_path);
        return -1;
    }
    sqlite3 *from = NULL, *to = NULL;
    int rc = -1;
    if (sqlite3_open_v2(src, &from, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        cg_set_err(err, errlen, "%s: %s", src, from ? sqlite3_errmsg(from) : "out of memory");
    } else if (sqlite3_open_v2(db_path, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        cg_set_err(err, errlen, "%s: %s", db_path, to ? sqlite3_errmsg(to) : "out of memory");
    } else {
        /* Exclusive for the whole copy: a daemon starting meanwhile waits. */
        sqlite3_busy_timeout(to, BUSY_MS);
        if (sqlite3_exec(to, "PRAGMA locking_mode=EXCLUSIVE", NULL, NULL, NULL) != SQLITE_OK)
            cg_set_err(err, errlen, "%s: %s", db_path, sqlite3_errmsg(to));
        else
            rc = copy_db(from, to, NULL, err, errlen);
        /* The daemon runs in WAL mode; the copy says DELETE. */
        if (rc == 0 && sqlite3_exec(to, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK) {
            cg_set_err(err, errlen, "%s: %s", db_path, sqlite3_errmsg(to));
            rc = -1;
        }
    }
    sqlite3_close(from);
    sqlite3_close(to);
    if (rc == 0)
        chmod(db_path, 0600);
    return rc;
}
