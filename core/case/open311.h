/*
 * open311.h — what Open311 GeoReport v2 (http/open311*.c) needs of the
 * domain: the API keys of the platforms that report through it, the
 * mapping of case statuses onto Open311's, the service requests a client
 * may list, the contact details a key may see, and FixMyStreet's updates
 * feed (servicerequestupdates). No HTTP here: refusals are cg_results.
 *
 * A key is a named source: its cases are stored with source "open311:NAME"
 * (CG_O311_SOURCE_PREFIX), which is how the updates feed and the contact
 * details find "this key's cases". Only the SHA-256 of a key is stored; the
 * key itself is shown once, when it is made.
 *
 * Threads: the key writes take the store lock (cg_store_lock) for their own
 * small transaction, like cg_auth_issue_token; everything else reads on the
 * read connection. Main thread only.
 */
#ifndef CG_OPEN311_H
#define CG_OPEN311_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "lib/result.h"
#include "store/store.h"

#define CG_O311_SOURCE_PREFIX "open311:"
#define CG_O311_KEY_HEX_LEN 64
#define CG_O311_NAME_MAX 48         /* a key's name: [a-z0-9_-], 1..48 */
#define CG_O311_SOURCE_MAX (sizeof CG_O311_SOURCE_PREFIX + CG_O311_NAME_MAX)

/* 1 if `name` is a valid key name. */
int cg_o311_name_valid(const char *name);
/* "open311:NAME" into out (>= CG_O311_SOURCE_MAX). */
void cg_o311_source_of(const char *name, char *out, size_t outlen);

/* A new key for `name`: CG_OK and api_key (hex, NUL-terminated), or
 * CG_E_INVALID (bad name), CG_E_CONFLICT (the name exists, even revoked:
 * a name is a source and is never reused), CG_E_INTERNAL. */
cg_status cg_o311_key_create(cg_store *st, const char *name, char api_key[CG_O311_KEY_HEX_LEN + 1],
                             cg_result *r);
/* Revoke: CG_OK, CG_E_NOT_FOUND (unknown or already revoked), CG_E_INTERNAL. */
cg_status cg_o311_key_revoke(cg_store *st, const char *name, cg_result *r);
/* {"items":[{"name","source","created_at","revoked_at"}]} oldest first;
 * NULL on a database error. Never the keys themselves. */
json_t *cg_o311_keys_list(cg_store *st);
/* Whose key is this? 1 and name filled (a live key), 0 unknown or revoked,
 * -1 database error. */
int cg_o311_key_lookup(cg_store *st, const char *api_key, char name[CG_O311_NAME_MAX + 1]);

/* Open311's status of a case status: "open" or "closed" (closed, cancelled). */
const char *cg_o311_status(const char *case_status);
/* FixMyStreet's extended status of one history row: open, action_scheduled,
 * in_progress, fixed, duplicate or closed (from the action, its target status
 * and note; case_status is the case's status now, for rows that change none). */
const char *cg_o311_update_status(const char *action, const char *to_status, const char *note,
                                  const char *case_status);

/* GET requests. ids (n_ids > 0) selects those cases and ignores the other
 * filters but the status; else category (NULL: any), created in
 * [start_ms, end_ms), status 0 any, 1 open, 2 closed, newest first, at most
 * limit. */
typedef struct cg_o311_filter {
    const char *const *ids;
    size_t n_ids;
    const char *category;
    int64_t start_ms, end_ms;
    int status;
    int limit;
} cg_o311_filter;
enum { CG_O311_ANY = 0, CG_O311_OPEN = 1, CG_O311_CLOSED = 2 };

/* The requests, each {"service_request_id","status","status_notes",
 * "service_code","description","department","requested_datetime",
 * "updated_datetime","expected_datetime","lat","long","media_url",
 * "source"} (times as W3C datetimes with +08:00; null where unknown;
 * "department" is the code, for the caller to name). NULL on a database
 * error. Only cases reported through Open311 (source "open311:NAME") are
 * public: the grid's own reports never appear in the feed. */
json_t *cg_o311_requests(cg_store *st, const cg_o311_filter *f);

/* The contact details stored with case_id when its source is `source`
 * (the asking key's), as an object; NULL when none or another source's. */
json_t *cg_o311_contact(cg_store *st, const char *case_id, const char *source);

/* FixMyStreet's servicerequestupdates: every status change and public note
 * (staff's reason on a status change, a citizen's `comment`) of the cases of
 * `source`, at in [start_ms, end_ms), oldest first, at most limit. Each
 * {"update_id","service_request_id","status","updated_datetime",
 * "description","media_url"}. NULL on a database error. */
json_t *cg_o311_updates(cg_store *st, const char *source, int64_t start_ms, int64_t end_ms,
                        int limit);

/* The source of case_id into out: 1, 0 no such case, -1 database error. */
int cg_o311_case_source(cg_store *st, const char *case_id, char *out, size_t outlen);
/* The id of the newest history row `actor` wrote on case_id (after a
 * commit: the update a POST servicerequestupdates made); 0 when none. */
int64_t cg_o311_last_update_id(cg_store *st, const char *case_id, const char *actor);

/* ---- service definitions ------------------------------------------------ */

/* Where an attribute's value goes in the case. */
typedef enum {
    CG_O311_TO_NEEDS_PENALTY,   /* the case's needs_penalty ("true"/"false") */
    CG_O311_TO_EXTRA_BOOL,      /* extra[code] = true/false */
    CG_O311_TO_EXTRA_STRING,    /* extra[code] = the text */
    CG_O311_TO_EXTRA_LIST,      /* extra[code] = [keys...] (multivaluelist) */
} cg_o311_target;

/* One attribute of a service (GeoReport v2 service definition): datatype is
 * string, number, datetime, text, singlevaluelist or multivaluelist; values
 * (key, name pairs, NULL-terminated) for the lists. */
typedef struct cg_o311_attr {
    const char *code;
    const char *datatype;
    int required;
    const char *description;            /* Chinese, as the form shows it */
    const char *datatype_description;
    const char *const *values;          /* {"true", "是", "false", "否", NULL} */
    cg_o311_target target;
    size_t max_len;                     /* strings: at most this many bytes */
} cg_o311_attr;

/* The attributes of a category routed to `department`, in their order;
 * returns how many (at most max). The category's extra fields: a penalty
 * for what enforcement acts on (municipal and sanitation transfer it), the
 * business licence of market matters, injuries in police matters, the trade
 * of the six small trades. */
size_t cg_o311_attributes(const char *category, const char *department, const cg_o311_attr **out,
                          size_t max);

/* A W3C datetime without fractions, "2026-11-26T21:56:37+08:00". */
void cg_o311_datetime(int64_t unix_ms, char *buf, size_t len);

#endif
