/*
 * evidence.h — photos attached to a case: "before" (with the report) and
 * "after" (with the handling report). JPEG or PNG only (checked by magic
 * bytes, not by the client's word), size-limited, stored under
 * STATE_DIR/evidence/ by SHA-256 (the same photo twice is stored once), and
 * recorded per case in the database. Served back only with auth.
 * Main thread for reads; writes through cg_batch.
 *
 * On disk: STATE_DIR/evidence/ab/abcdef... — the first two hex digits of the
 * SHA-256 name a directory (at most 256 of them, so no directory grows
 * huge), the full 64 hex digits name the file. Files are written to a
 * temporary name, fsync'ed, renamed into place and the directory fsync'ed:
 * once cg_evidence_save returns 0 the bytes survive a crash, and a reader
 * never sees half a photo. Content-addressed files are never rewritten, so
 * two uploads of the same photo race harmlessly.
 *
 * In the database: case_photos(case_id, stage, sha256, content_type, bytes,
 * uploader, at), one row per photo, case and stage; attaching writes a
 * history row "photo" (note: "STAGE SHA256") in the same transaction.
 */
#ifndef CG_EVIDENCE_H
#define CG_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "lib/result.h"
#include "store/store.h"

/* 1 when the case has at least one "after" photo, 0 when not, -1 on error.
 * The review verb refuses a pass without one when the case's category
 * requires it (catalog: cg_category.requires_after_photo).
 * Main thread: reads the last COMMIT through the read connection. */
int cg_evidence_has_after_photo(cg_store *st, const char *case_id);
/* The same inside a cg_batch apply (the write connection: sees the
 * transaction's own writes). Do not call it from the main thread while a
 * writer thread runs. */
int cg_evidence_has_after_photo_tx(cg_store *st, const char *case_id);

/* ---- the bytes (pure; any thread) ---------------------------------------- */

typedef enum cg_photo_kind { CG_PHOTO_NONE = 0, CG_PHOTO_JPEG, CG_PHOTO_PNG } cg_photo_kind;

/* What the bytes are. JPEG: SOI (FF D8) followed by a well-formed first
 * marker segment (FF, a marker byte, a length >= 2 that fits). PNG: the
 * 8-byte signature and an IHDR chunk of length 13 with a non-zero width and
 * height, a valid bit depth and colour type. Anything else: CG_PHOTO_NONE. */
cg_photo_kind cg_evidence_sniff(const void *data, size_t len);
/* "image/jpeg", "image/png", NULL for CG_PHOTO_NONE. */
const char *cg_evidence_mime(cg_photo_kind kind);
/* A Content-Type header naming a kind ("image/png; foo=bar" included);
 * CG_PHOTO_NONE for anything else. */
cg_photo_kind cg_evidence_kind_of_mime(const char *content_type);

/* The whole check of an upload's body, in the order the API answers:
 * CG_E_INVALID missing_body (len 0), CG_E_TOO_LARGE body_too_large (len >
 * max; data is not read then, so it may be NULL), CG_E_UNSUPPORTED
 * unsupported_media_type for a Content-Type other than image/jpeg or
 * image/png, or bytes that are not an image of that type. CG_OK and *kind,
 * or the refusal in err. */
cg_status cg_evidence_check_upload(const void *data, size_t len, size_t max,
                                   const char *content_type, cg_photo_kind *kind, cg_result *err);

#define CG_SHA256_HEX_SIZE 65 /* 64 lowercase hex digits + NUL */
void cg_evidence_sha256_hex(const void *data, size_t len, char hex[CG_SHA256_HEX_SIZE]);
/* 1 when s is exactly 64 lowercase hex digits. */
int cg_evidence_is_sha256_hex(const char *s);
/* STATE_DIR/evidence/ab/abcdef... for a valid hex name. 0 ok, -1 (bad hex
 * or too long for out). */
int cg_evidence_path(const char *state_dir, const char *hex, char *out, size_t outlen);

/* Store the bytes under their SHA-256 (see the file comment). hex gets the
 * name; *created = 1 when the file was written now, 0 when it was there.
 * 0 ok, -1 with err. Any thread (touches only the file system). */
int cg_evidence_save(const char *state_dir, const void *data, size_t len,
                     char hex[CG_SHA256_HEX_SIZE], int *created, char *err, size_t errlen);

/* ---- the records ---------------------------------------------------------- */

typedef struct cg_photo {
    const char *case_id;
    const char *stage;        /* "before" | "after" */
    const char *sha256;       /* 64 hex */
    const char *content_type; /* "image/jpeg" | "image/png" */
    size_t bytes;
    const char *uploader;     /* member id */
} cg_photo;

/* Inside a cg_batch apply (or alone: then its own transaction): the
 * case_photos row and the history row "photo". *inserted = 0 (and nothing
 * written) when this photo is already attached to the case at this stage;
 * *at_ms is the time of the (first) attachment. 0 ok, -1 err (unknown case
 * included). */
int cg_evidence_record(cg_store *st, const cg_photo *p, int64_t now_ms, int *inserted,
                       int64_t *at_ms, char *err, size_t errlen);

/* {"sha256","stage","bytes","content_type","at","uploader","url"} */
json_t *cg_evidence_photo_json(const char *sha256, const char *stage, size_t bytes,
                               const char *content_type, int64_t at_ms, const char *uploader);
/* The case's photos, oldest first, as a JSON array (main thread; NULL on a
 * database error). */
json_t *cg_evidence_list(cg_store *st, const char *case_id);

/* GET /v1/photos/{sha256}: calls `sees(arg, grid, department, reporter)` for
 * each case the photo is attached to until one says 1. Returns 1 visible
 * (content_type filled), 0 attached only to cases the caller may not see,
 * -1 attached to no case (unknown), -2 database error. Main thread. */
int cg_evidence_visible(cg_store *st, const char *sha256,
                        int (*sees)(void *arg, const char *grid, const char *department,
                                    const char *reporter),
                        void *arg, char content_type[32]);

#endif
