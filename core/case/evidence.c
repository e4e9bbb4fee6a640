/*
 * evidence.c — photo bytes on disk by SHA-256 and their records per case
 * (see evidence.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "case/evidence.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "lib/errbuf.h"
#include "lib/log.h"
#include "lib/timeutil.h"

/* ---------------------------------------------------------------- bytes */

static unsigned be16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }
static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int looks_like_jpeg(const unsigned char *b, size_t len)
{
    /* SOI, then a marker segment: FF, a marker that carries a length (not
     * a fill byte, RSTn, SOI or EOI), and a length that fits. */
    if (len < 6 || b[0] != 0xFF || b[1] != 0xD8 || b[2] != 0xFF)
        return 0;
    unsigned m = b[3];
    if (m < 0xC0 || m == 0xFF || (m >= 0xD0 && m <= 0xD9))
        return 0;
    unsigned seglen = be16(b + 4);
    return seglen >= 2 && 4 + (size_t)seglen <= len;
}

static int looks_like_png(const unsigned char *b, size_t len)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (len < 8 + 8 + 13 + 4 || memcmp(b, sig, 8) != 0)
        return 0;
    const unsigned char *ihdr = b + 8;
    if (be32(ihdr) != 13 || memcmp(ihdr + 4, "IHDR", 4) != 0)
        return 0;
    uint32_t w = be32(ihdr + 8), h = be32(ihdr + 12);
    unsigned depth = ihdr[16], colour = ihdr[17];
    if (w == 0 || h == 0 || w > 0x7FFFFFFFu || h > 0x7FFFFFFFu)
        return 0;
    if (depth != 1 && depth != 2 && depth != 4 && depth != 8 && depth != 16)
        return 0;
    return colour == 0 || colour == 2 || colour == 3 || colour == 4 || colour == 6;
}

cg_photo_kind cg_evidence_sniff(const void *data, size_t len)
{
    const unsigned char *b = data;
    if (!b)
        return CG_PHOTO_NONE;
    if (looks_like_jpeg(b, len))
        return CG_PHOTO_JPEG;
    if (looks_like_png(b, len))
        return CG_PHOTO_PNG;
    return CG_PHOTO_NONE;
}

const char *cg_evidence_mime(cg_photo_kind kind)
{
    switch (kind) {
    case CG_PHOTO_JPEG: return "image/jpeg";
    case CG_PHOTO_PNG: return "image/png";
    default: return NULL;
    }
}

cg_photo_kind cg_evidence_kind_of_mime(const char *ct)
{
    if (!ct)
        return CG_PHOTO_NONE;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strcspn(ct, "; \t");
    if (n == 10 && strncasecmp(ct, "image/jpeg", 10) == 0)
        return CG_PHOTO_JPEG;
    if (n == 9 && strncasecmp(ct, "image/png", 9) == 0)
        return CG_PHOTO_PNG;
    return CG_PHOTO_NONE;
}

cg_status cg_evidence_check_upload(const void *data, size_t len, size_t max,
                                   const char *content_type, cg_photo_kind *kind, cg_result *err)
{
    *kind = CG_PHOTO_NONE;
    if (len == 0)
        return cg_fail(err, CG_E_INVALID, "missing_body", "the request body must be the photo");
    if (len > max)
        return cg_fail(err, CG_E_TOO_LARGE, "body_too_large",
                       "the photo has %zu bytes; at most %zu are accepted", len, max);
    cg_photo_kind declared = cg_evidence_kind_of_mime(content_type);
    if (declared == CG_PHOTO_NONE)
        return cg_fail(err, CG_E_UNSUPPORTED, "unsupported_media_type",
                       "a photo must be sent as image/jpeg or image/png, not '%.64s'",
                       content_type ? content_type : "(none)");
    cg_photo_kind actual = cg_evidence_sniff(data, len);
    if (actual == CG_PHOTO_NONE)
        return cg_fail(err, CG_E_UNSUPPORTED, "unsupported_media_type", "the body is not a %s image",
                       cg_evidence_mime(declared));
    if (actual != declared)
        return cg_fail(err, CG_E_UNSUPPORTED, "unsupported_media_type",
                       "the body is %s, not the %s its Content-Type says",
                       cg_evidence_mime(actual), cg_evidence_mime(declared));
    *kind = actual;
    return CG_OK;
}

void cg_evidence_sha256_hex(const void *data, size_t len, char hex[CG_SHA256_HEX_SIZE])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, data, len);
    sodium_bin2hex(hex, CG_SHA256_HEX_SIZE, digest, sizeof digest);
}

int cg_evidence_is_sha256_hex(const char *s)
{
    size_t n = 0;
    for (; s && s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return 0;
    return n == 64;
}

int cg_evidence_path(const char *state_dir, const char *hex, char *out, size_t outlen)
{
    if (!cg_evidence_is_sha256_hex(hex))
        return -1;
    int n = snprintf(out, outlen, "%s/evidence/%.2s/%s", state_dir, hex, hex);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* ---------------------------------------------------------------- files */

static int mkdir_if_missing(const char *path, char *err, size_t errlen)
{
    if (mkdir(path, 0750) == 0 || errno == EEXIST)
        return 0;
    cg_set_err(err, errlen, "cannot create %s: %s", path, strerror(errno));
    return -1;
}

static int fsync_dir(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0) {
        cg_set_err(err, errlen, "cannot sync %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* An existing file of the right size is the photo: its name is its hash,
 * and it only ever got that name after a complete, synced write. */
static int already_stored(const char *path, size_t len)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (size_t)sb.st_size == len;
}

int cg_evidence_save(const char *state_dir, const void *data, size_t len,
                     char hex[CG_SHA256_HEX_SIZE], int *created, char *err, size_t errlen)
{
    char root[4096], dir[4200], path[4300], tmp[4400];
    *created = 0;
    cg_evidence_sha256_hex(data, len, hex);
    snprintf(root, sizeof root, "%s/evidence", state_dir);
    snprintf(dir, sizeof dir, "%s/%.2s", root, hex);
    if (cg_evidence_path(state_dir, hex, path, sizeof path) < 0) {
        cg_set_err(err, errlen, "the state directory path is too long");
        return -1;
    }
    if (already_stored(path, len))
        return 0;
    if (mkdir_if_missing(root, err, errlen) < 0 || mkdir_if_missing(dir, err, errlen) < 0)
        return -1;
    /* A unique temporary name in the same directory (rename is atomic
     * within a file system); mkstemp makes it 0600, photos need no more. */
    snprintf(tmp, sizeof tmp, "%s/.%s.XXXXXX", dir, hex);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        cg_set_err(err, errlen, "cannot create a file in %s: %s", dir, strerror(errno));
        return -1;
    }
    if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        cg_set_err(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        cg_set_err(err, errlen, "cannot store %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    /* The new name (and, the first time, the new ab/ directory) must be
     * durable too before anyone is told the photo is stored. */
    if (fsync_dir(dir, err, errlen) < 0 || fsync_dir(root, err, errlen) < 0)
        return -1;
    *created = 1;
    return 0;
}

/* ---------------------------------------------------------------- records */

static int exists_after(sqlite3_stmt *s, const char *case_id)
{
    if (!s)
        return -1;
    sqlite3_bind_text(s, 1, case_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    int found = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) != 0 : -1;
    sqlite3_reset(s);
    return found;
}

#define HAS_AFTER_SQL \
    "SELECT EXISTS (SELECT 1 FROM case_photos WHERE case_id = ?1 AND stage = 'after')"

int cg_evidence_has_after_photo(cg_store *st, const char *case_id)
{
    return exists_after(cg_store_read_stmt(st, HAS_AFTER_SQL), case_id);
}

int cg_evidence_has_after_photo_tx(cg_store *st, const char *case_id)
{
    return exists_after(cg_store_stmt(st, HAS_AFTER_SQL), case_id);
}

static int exec_cached(cg_store *st, const char *sql, char *err, size_t errlen)
{
    return cg_store_step_text(st, cg_store_stmt(st, sql), sql, err, errlen);
}

static int record_rows(cg_store *st, const cg_photo *p, int64_t now_ms, int *inserted,
                       int64_t *at_ms, char *err, size_t errlen)
{
    /* The case must exist (the foreign key says so too, but only this
     * gives a clear message). */
    sqlite3_stmt *s = cg_store_stmt(st, "SELECT 1 FROM cases WHERE id = ?1");
    if (!s) {
        cg_set_err(err, errlen, "cannot prepare a case lookup: %s", sqlite3_errmsg(st->db));
        return -1;
    }
    sqlite3_bind_text(s, 1, p->case_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW) {
        cg_set_err(err, errlen, "no case '%.64s'", p->case_id);
        return -1;
    }
    s = cg_store_stmt(st,
        "INSERT INTO case_photos(case_id, stage, sha256, content_type, bytes, uploader, at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (case_id, stage, sha256) DO NOTHING");
    if (s) {
        sqlite3_bind_text(s, 1, p->case_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, p->stage, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, p->sha256, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, p->content_type, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 5, (sqlite3_int64)p->bytes);
        sqlite3_bind_text(s, 6, p->uploader, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 7, now_ms);
    }
    if (cg_store_step_text(st, s, "photo insert", err, errlen) < 0)
        return -1;
    *inserted = sqlite3_changes(st->db) > 0;
    *at_ms = now_ms;
    if (!*inserted) {
        s = cg_store_stmt(st, "SELECT at FROM case_photos WHERE case_id = ?1 AND stage = ?2"
                              " AND sha256 = ?3");
        if (s) {
            sqlite3_bind_text(s, 1, p->case_id, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 2, p->stage, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 3, p->sha256, -1, SQLITE_STATIC);
            if (sqlite3_step(s) == SQLITE_ROW)
                *at_ms = sqlite3_column_int64(s, 0);
            sqlite3_reset(s);
        }
        return 0;
    }
    char note[80];
    snprintf(note, sizeof note, "%s %s", p->stage, p->sha256);
    s = cg_store_stmt(st, "INSERT INTO case_history(case_id, at, actor, action, note)"
                          " VALUES (?1, ?2, ?3, 'photo', ?4)");
    if (s) {
        sqlite3_bind_text(s, 1, p->case_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, now_ms);
        sqlite3_bind_text(s, 3, p->uploader, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, note, -1, SQLITE_STATIC);
    }
    return cg_store_step_text(st, s, "history insert", err, errlen);
}

int cg_evidence_record(cg_store *st, const cg_photo *p, int64_t now_ms, int *inserted,
                       int64_t *at_ms, char *err, size_t errlen)
{
    *inserted = 0;
    if (!p->case_id || !p->uploader || !cg_evidence_is_sha256_hex(p->sha256) || !p->stage ||
        (strcmp(p->stage, "before") != 0 && strcmp(p->stage, "after") != 0) ||
        !p->content_type) {
        cg_set_err(err, errlen, "invalid photo record");
        return -1;
    }
    /* Inside a batch item its SAVEPOINT makes the two rows atomic; alone,
     * this savepoint does (the same rule as cases.c). */
    int own = !st->in_batch_item;
    if (own && exec_cached(st, "SAVEPOINT evidence_write", err, errlen) < 0)
        return -1;
    int rc = record_rows(st, p, now_ms, inserted, at_ms, err, errlen);
    if (own && rc == 0 && exec_cached(st, "RELEASE evidence_write", err, errlen) < 0)
        rc = -1;
    if (own && rc < 0 && !sqlite3_get_autocommit(st->db)) {
        char ignored[64]; /* err already says why */
        exec_cached(st, "ROLLBACK TO evidence_write", ignored, sizeof ignored);
        exec_cached(st, "RELEASE evidence_write", ignored, sizeof ignored);
    }
    if (rc < 0)
        *inserted = 0;
    return rc;
}

json_t *cg_evidence_photo_json(const char *sha256, const char *stage, size_t bytes,
                               const char *content_type, int64_t at_ms, const char *uploader)
{
    char at[40], url[96];
    cg_time_iso(at_ms, at, sizeof at);
    snprintf(url, sizeof url, "/v1/photos/%s", sha256);
    return json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s}", "sha256", sha256, "stage", stage,
                     "bytes", (json_int_t)bytes, "content_type", content_type, "at", at,
                     "uploader", uploader ? uploader : "", "url", url);
}

static const char *col(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    return t ? t : "";
}

json_t *cg_evidence_list(cg_store *st, const char *case_id)
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT sha256, stage, bytes, content_type, at, uploader FROM case_photos"
        " WHERE case_id = ?1 ORDER BY id");
    if (!s)
        return NULL;
    sqlite3_bind_text(s, 1, case_id, -1, SQLITE_STATIC);
    json_t *items = json_array();
    int rc;
    while (items && (rc = sqlite3_step(s)) == SQLITE_ROW)
        json_array_append_new(items, cg_evidence_photo_json(col(s, 0), col(s, 1),
                                                            (size_t)sqlite3_column_int64(s, 2),
                                                            col(s, 3), sqlite3_column_int64(s, 4),
                                                            col(s, 5)));
    sqlite3_reset(s);
    if (!items || rc != SQLITE_DONE) {
        CG_ERROR("evidence", "%s: reading the photos of %s: %s", st->path, case_id,
                 sqlite3_errmsg(st->rdb));
        json_decref(items);
        return NULL;
    }
    return items;
}

int cg_evidence_visible(cg_store *st, const char *sha256,
                        int (*sees)(void *arg, const char *grid, const char *department,
                                    const char *reporter),
                        void *arg, char content_type[32])
{
    sqlite3_stmt *s = cg_store_read_stmt(st,
        "SELECT p.content_type, c.grid, c.department, c.reporter FROM case_photos p"
        " JOIN cases c ON c.id = p.case_id WHERE p.sha256 = ?1 ORDER BY p.id");
    if (!s)
        return -2;
    sqlite3_bind_text(s, 1, sha256, -1, SQLITE_STATIC);
    int found = -1, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        found = 0;
        const char *grid = (const char *)sqlite3_column_text(s, 1);
        const char *dep = (const char *)sqlite3_column_text(s, 2);
        const char *reporter = (const char *)sqlite3_column_text(s, 3);
        if (sees(arg, grid, dep, reporter)) {
            snprintf(content_type, 32, "%s", col(s, 0));
            found = 1;
            break;
        }
    }
    sqlite3_reset(s);
    if (found < 1 && rc != SQLITE_DONE)
        return -2;
    return found;
}
