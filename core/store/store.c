/*
 * store.c — see store.h. A write connection (WAL + synchronous=FULL: a
 * COMMIT is on disk when it returns; foreign keys enforced; migrations from
 * migrations.c) and a read connection for the main thread, each with a small
 * pointer-keyed cache of prepared statements (the SQL texts are string
 * literals, so the pointer is a stable, cheap key).
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "store/migrations.h"

#define BUSY_TIMEOUT_MS 5000

/* Open addressing on the SQL pointer; grows at 50% load. */
typedef struct stmt_slot {
    const char *sql;
    sqlite3_stmt *stmt;
} stmt_slot;

struct cg_stmt_cache {
    stmt_slot *slots;
    size_t cap, used;
};

static size_t slot_index(const char *sql, size_t cap)
{
    uintptr_t h = (uintptr_t)sql;
    h ^= h >> 17;
    h *= (uintptr_t)0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 7) & (cap - 1);
}

static stmt_slot *cache_find(struct cg_stmt_cache *c, const char *sql)
{
    size_t i = slot_index(sql, c->cap);
    while (c->slots[i].sql && c->slots[i].sql != sql)
        i = (i + 1) & (c->cap - 1);
    return &c->slots[i];
}

static int cache_grow(struct cg_stmt_cache *c)
{
    size_t ncap = c->cap ? c->cap * 2 : 64;
    stmt_slot *old = c->slots;
    size_t ocap = c->cap;
    c->slots = calloc(ncap, sizeof *c->slots);
    if (!c->slots) {
        c->slots = old;
        return -1;
    }
    c->cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].sql)
            *cache_find(c, old[i].sql) = old[i];
    free(old);
    return 0;
}

static void cache_free(struct cg_stmt_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->cap; i++)
        sqlite3_finalize(c->slots[i].stmt);
    free(c->slots);
    free(c);
}

static sqlite3_stmt *cached_stmt(cg_store *st, sqlite3 *db, struct cg_stmt_cache *c,
                                 const char *sql)
{
    stmt_slot *slot = cache_find(c, sql);
    if (slot->sql) {
        sqlite3_reset(slot->stmt);
        sqlite3_clear_bindings(slot->stmt);
        return slot->stmt;
    }
    if ((c->used + 1) * 2 > c->cap) {
        if (cache_grow(c) < 0)
            return NULL;
        slot = cache_find(c, sql);
    }
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK) {
        CG_ERROR("store", "%s: cannot prepare \"%s\": %s", st->path, sql, sqlite3_errmsg(db));
        sqlite3_finalize(stmt);
        return NULL;
    }
    slot->sql = sql;
    slot->stmt = stmt;
    c->used++;
    return stmt;
}

sqlite3_stmt *cg_store_stmt(cg_store *st, const char *sql)
{
    return cached_stmt(st, st->db, st->stmts, sql);
}

sqlite3_stmt *cg_store_read_stmt(cg_store *st, const char *sql)
{
    return cached_stmt(st, st->rdb, st->read_stmts, sql);
}

void cg_store_lock(cg_store *st) { pthread_mutex_lock(&st->write_lock); }
void cg_store_unlock(cg_store *st) { pthread_mutex_unlock(&st->write_lock); }

int cg_store_exec(cg_store *st, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        CG_ERROR("store", "%s: \"%s\" failed: %s", st->path, sql, msg ? msg : sqlite3_errmsg(st->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

cg_status cg_store_step(cg_store *st, sqlite3_stmt *s, const char *what, cg_result *r)
{
    int rc = s ? sqlite3_step(s) : SQLITE_ERROR;
    if (s)
        sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return CG_OK;
    /* With extended result codes on, every constraint code shares the low byte. */
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return cg_fail(r, CG_E_CONFLICT, "conflict", "cannot store %s: %s", what,
                       sqlite3_errmsg(st->db));
    return cg_fail(r, CG_E_INTERNAL, "internal_error", "cannot store %s: %s", what,
                   sqlite3_errmsg(st->db)); /* also a failed prepare's reason */
}

int cg_store_step_text(cg_store *st, sqlite3_stmt *s, const char *what, char *err, size_t errlen)
{
    cg_result r;
    if (cg_store_step(st, s, what, &r) == CG_OK)
        return 0;
    if (err && errlen)
        snprintf(err, errlen, "%s", r.message);
    return -1;
}

static int read_int_pragma(sqlite3 *db, const char *sql, int *out)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = sqlite3_column_int(s, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_OK ? 0 : -1;
}

int cg_store_schema_version(cg_store *st)
{
    int v = -1;
    if (read_int_pragma(st->db, "PRAGMA user_version", &v) < 0)
        return -1;
    return v;
}

int cg_store_latest_version(void) { return (int)cg_migrations_count; }

/* WAL is what lets group commit reach its rates; refuse to run without it
 * (e.g. a filesystem without shared memory) rather than silently degrade. */
static int set_pragmas(cg_store *st, char *err, size_t errlen)
{
    sqlite3_stmt *s = NULL;
    const char *mode = NULL;
    int ok = sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1, &s, NULL) == SQLITE_OK &&
             sqlite3_step(s) == SQLITE_ROW && (mode = (const char *)sqlite3_column_text(s, 0)) &&
             strcmp(mode, "wal") == 0;
    if (!ok) {
        snprintf(err, errlen, "%s: cannot switch to WAL journal mode (got %s): %s", st->path,
                 mode ? mode : "nothing", sqlite3_errmsg(st->db));
        sqlite3_finalize(s);
        return -1;
    }
    sqlite3_finalize(s);
    /* temp_store=MEMORY: every batch item runs in a SAVEPOINT, whose
     * sub-journal would otherwise be a temporary file (measured here: about
     * twice the throughput of case inserts in batches). */
    char *msg = NULL;
    if (sqlite3_exec(st->db,
                     "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot set pragmas: %s", st->path, msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* Each step and its user_version bump commit together: a crash leaves the
 * database at a version whose steps all ran. */
static int run_migrations(cg_store *st, char *err, size_t errlen)
{
    int current = cg_store_schema_version(st);
    int latest = cg_store_latest_version();
    if (current < 0) {
        snprintf(err, errlen, "%s: cannot read the schema version: %s", st->path,
                 sqlite3_errmsg(st->db));
        return -1;
    }
    if (current > latest) {
        snprintf(err, errlen,
                 "%s: schema version %d is newer than this build of citygrid knows (%d); "
                 "run a newer citygridd or restore a matching backup",
                 st->path, current, latest);
        return -1;
    }
    for (int v = current + 1; v <= latest; v++) {
        const cg_migration *m = &cg_migrations[v - 1];
        char *msg = NULL;
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version=%d", v);
        if (sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(st->db, m->sql, NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(st->db, bump, NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(st->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(err, errlen, "%s: migration %d (%s) failed: %s", st->path, v, m->name,
                     msg ? msg : sqlite3_errmsg(st->db));
            sqlite3_free(msg);
            if (!sqlite3_get_autocommit(st->db))
                sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        CG_INFO("store", "%s: schema migrated to version %d (%s)", st->path, v, m->name);
    }
    return 0;
}

/* The main thread's read connection, opened after the migrations so that it
 * starts with the current schema. query_only: it can never write. */
static int open_reader(cg_store *st, int flags, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_open_v2(st->path, &st->rdb, flags & ~SQLITE_OPEN_CREATE, NULL) != SQLITE_OK ||
        sqlite3_exec(st->rdb, "PRAGMA query_only=1; PRAGMA foreign_keys=ON;", NULL, NULL, &msg) !=
            SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot open the read connection: %s", st->path,
                 msg ? msg : st->rdb ? sqlite3_errmsg(st->rdb) : "out of memory");
        sqlite3_free(msg);
        return -1;
    }
    sqlite3_extended_result_codes(st->rdb, 1);
    sqlite3_busy_timeout(st->rdb, BUSY_TIMEOUT_MS);
    return 0;
}

/* The database holds password and token hashes: its files are the
 * daemon's alone, whatever the umask or the directory's mode. SQLite gives
 * the -wal and -shm files the mode of the database file, so making that file
 * 0600 before SQLite opens it covers all three; files left 0644 by an older
 * version are put right. A directory that others may write to is refused:
 * anyone could swap the database (or plant a symlink) there. */
static int secure_files(const char *path, char *err, size_t errlen)
{
    char *dir = strdup(path);
    if (!dir) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, strlen(dir) + 1, ".");
    else if (slash == dir)
        slash[1] = 0;
    else
        *slash = 0;
    struct stat sd;
    int bad_dir = stat(dir, &sd) == 0 && S_ISDIR(sd.st_mode) && (sd.st_mode & S_IWOTH);
    if (bad_dir)
        snprintf(err, errlen, "%s: the state directory is writable by others (mode %04o); "
                 "refusing to keep the database there (chmod o-w %s)", dir,
                 (unsigned)(sd.st_mode & 07777), dir);
    free(dir);
    if (bad_dir)
        return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open database: %s", path, strerror(errno));
        return -1;
    }
    struct stat sf;
    int rc = fstat(fd, &sf) == 0 && ((sf.st_mode & 077) == 0 || fchmod(fd, 0600) == 0) ? 0 : -1;
    if (rc < 0)
        snprintf(err, errlen, "%s: cannot make the database mode 0600: %s", path, strerror(errno));
    close(fd);
    static const char *const sidecars[] = {"-wal", "-shm", "-journal"};
    for (size_t i = 0; rc == 0 && i < sizeof sidecars / sizeof sidecars[0]; i++) {
        char side[4096];
        snprintf(side, sizeof side, "%s%s", path, sidecars[i]);
        struct stat ss;
        if (lstat(side, &ss) == 0 && S_ISREG(ss.st_mode) && (ss.st_mode & 077) &&
            chmod(side, 0600) < 0) {
            snprintf(err, errlen, "%s: cannot make it mode 0600: %s", side, strerror(errno));
            rc = -1;
        }
    }
    return rc;
}

int cg_store_open(const char *path, cg_store **out, char *err, size_t errlen)
{
    *out = NULL;
    cg_store *st = calloc(1, sizeof *st);
    if (st)
        pthread_mutex_init(&st->write_lock, NULL);
    if (!st || !(st->path = strdup(path)) || !(st->stmts = calloc(1, sizeof *st->stmts)) ||
        cache_grow(st->stmts) < 0 || !(st->read_stmts = calloc(1, sizeof *st->read_stmts)) ||
        cache_grow(st->read_stmts) < 0) {
        snprintf(err, errlen, "%s: out of memory", path);
        cg_store_close(st);
        return -1;
    }
    if (strcmp(path, ":memory:") != 0 && secure_files(path, err, errlen) < 0) {
        cg_store_close(st);
        return -1;
    }
    /* NOMUTEX: one thread at a time uses each connection (store.h). */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot open database: %s", path,
                 st->db ? sqlite3_errmsg(st->db) : "out of memory");
        cg_store_close(st);
        return -1;
    }
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
    if (set_pragmas(st, err, errlen) < 0 || run_migrations(st, err, errlen) < 0 ||
        open_reader(st, flags, err, errlen) < 0) {
        cg_store_close(st);
        return -1;
    }
    *out = st;
    return 0;
}

void cg_store_close(cg_store *st)
{
    if (!st)
        return;
    cache_free(st->read_stmts);
    if (st->rdb && sqlite3_close(st->rdb) != SQLITE_OK)
        CG_ERROR("store", "%s: close (reader): %s", st->path, sqlite3_errmsg(st->rdb));
    cache_free(st->stmts);
    if (st->db && sqlite3_close(st->db) != SQLITE_OK)
        CG_ERROR("store", "%s: close: %s", st->path, sqlite3_errmsg(st->db));
    pthread_mutex_destroy(&st->write_lock);
    free(st->path);
    free(st);
}

