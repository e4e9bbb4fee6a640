/*
 * members.h — the people who serve the grids: their records (members),
 * their places in the grids (assignments), and who may read or change them.
 * Every read, write and refusal about a member lives here; the HTTP layer
 * (api_members.c, api_auth.c) parses the request, calls these and answers.
 *
 * Who may do what to a member (also in README.md, "Members: who may do what"):
 *  - an admin: everything;
 *  - the member themself: read their record, change their own name and
 *    password (not deactivate themself);
 *  - a manager (the leader or instructor of a grid) acts on a member only
 *    for the grids the manager manages:
 *      read: any member who shares a grid with them;
 *      create: a member whose assignments are all in grids they manage,
 *        in the roles fulltime, professional or optional;
 *      the record (name, name_pinyin, department, login, terminal_id,
 *        active): only of a member all of whose grids they manage;
 *      assignments: rows in grids they manage; a member's rows in other
 *        grids must be sent back unchanged (not rewritten, not dropped);
 *      a token (POST /v1/members/{id}/tokens): a leader only, and only for a
 *        member all of whose grids they lead, so that the credential reaches
 *        no further than the issuer does;
 *      a device (POST, PATCH /v1/devices): issue to or take back from a
 *        member all of whose grids they manage;
 *  - nobody but an admin: sets someone else's password, sets
 *    department_account or auditor, appoints a leader or an instructor, or
 *    changes a leader's or an instructor's record, password, assignments,
 *    tokens or devices;
 *  - anyone else: 403.
 * The grids a person serves, manages and leads come from the member_grids
 * view (store/migrations.c): the one place that rule is written.
 *
 * Refusals are lib/result.h statuses with the API's codes and messages.
 * Deactivating a member ("active": false) keeps the row and its history but
 * ends every token of theirs and refuses their logins; true lets them log in
 * again (with a new login or token: the old ones stay revoked).
 *
 * Threads: all on the main thread with the read connection, except
 * cg_members_apply, which runs inside a cg_batch item (maybe the batch's
 * writer thread) and touches only its cg_member_write and the store, and
 * cg_members_hash_password, which runs on the worker pool (host/workers.h)
 * and touches only its cg_member_write.
 */
#ifndef CG_MEMBERS_H
#define CG_MEMBERS_H

#include <stddef.h>
#include <jansson.h>

#include "lib/result.h"
#include "people/auth.h"
#include "people/catalog.h"
#include "people/grids.h"
#include "store/store.h"

#define CG_MEMBER_ID_MAX 63
#define CG_MEMBER_NAME_MAX 128

typedef struct cg_member_assignment {
    char grid[CG_GRID_CODE_SIZE];
    char role[16];       /* leader, instructor, fulltime, professional, optional */
    char department[32]; /* "" for leader, instructor, fulltime */
} cg_member_assignment;

/* One POST or PATCH of a member, from the first check to the commit. It owns
 * its arrays; cg_member_write_free() clears the password hash too. A field
 * is written when its has_ flag is set. */
typedef struct cg_member_write {
    int create;
    char id[CG_MEMBER_ID_MAX + 1]; /* "" on create: the next M-number */
    int has_name, has_pinyin, has_department, has_login, has_password, has_terminal,
        has_account, has_assignments, has_active;
    char name[CG_MEMBER_NAME_MAX + 1], pinyin[CG_MEMBER_NAME_MAX + 1], department[32],
        login[CG_MEMBER_ID_MAX + 1], terminal[CG_MEMBER_ID_MAX + 1];
    char password_hash[160];
    char password[1025]; /* between parse and hash only; then zeroed */
    int department_account;
    int has_auditor, auditor;  /* members.auditor: reads the query audit (admin sets it) */
    int active;
    cg_member_assignment *assignments;
    size_t n_assignments;
    /* What cg_members_write_begin learnt (PATCH): the target's department
     * and assignments as stored, the caller's grids. */
    int target_exists;
    char current_department[32];
    cg_member_assignment *current;
    size_t n_current;
    struct cg_member_grid *caller_grids;
    size_t n_caller_grids;
} cg_member_write;

/* A new write for `id` (PATCH) or a new member (create, id ignored). NULL
 * on no memory. */
cg_member_write *cg_member_write_new(int create, const char *id);
void cg_member_write_free(cg_member_write *w);

/* Before the body is read: may `who` write this member at all? Loads the
 * caller's grids and the target. CG_OK; CG_E_NOT_FOUND (an id too long, or
 * an unknown member for an admin), CG_E_FORBIDDEN (not a manager and not
 * themself; a member outside the caller's grids), CG_E_INTERNAL. */
cg_status cg_members_write_begin(cg_store *st, const cg_principal *who, cg_member_write *w,
                                 cg_result *r);

/* The body: every field checked (CG_E_INVALID "invalid_field" /
 * "missing_field", CG_E_UNPROCESSABLE "unknown_department" /
 * "unknown_grid", naming the field), then the rules above for what the body
 * changes (CG_E_FORBIDDEN). After CG_OK, cg_members_hash_password (off the
 * loop), then submit cg_members_apply. On a refusal the password is wiped. */
cg_status cg_members_write_prepare(cg_store *st, const cg_catalog *cat, const cg_principal *who,
                                   json_t *body, cg_member_write *w, cg_result *r);

/* When the write sets a password: argon2id into w->password_hash (slow on
 * purpose: 0.2 s and more). The plain password is wiped either way. 0 ok,
 * -1 hashing failed (no memory). Any thread; touches only w. */
int cg_members_hash_password(cg_member_write *w);

/* Inside the transaction: the row, then (when given) the assignments as a
 * whole. CG_E_CONFLICT for an id, login or terminal in use or a grid that
 * has a leader already ("grid_has_leader"), CG_E_NOT_FOUND for a member
 * gone meanwhile, CG_E_INTERNAL. A refusal leaves the item to roll back. */
cg_status cg_members_apply(cg_store *st, cg_member_write *w, cg_result *r);

/* The member as the API shows it ({"id","name",...,"assignments":[...]}),
 * read from the last commit; NULL when unknown. */
json_t *cg_members_get_json(cg_store *st, const char *id);

/* GET /v1/members/{id} for `who`: *out the member (new reference), or
 * CG_E_NOT_FOUND (an admin asking for an unknown id), CG_E_FORBIDDEN (not
 * themself and no shared grid), CG_E_INTERNAL. */
cg_status cg_members_read(cg_store *st, const cg_principal *who, const char *id, json_t **out,
                          cg_result *r);

/* May `who` issue a token for `member`? CG_OK (an admin, always: whether
 * the member exists is the caller's next question), CG_E_FORBIDDEN with the
 * reason, CG_E_INTERNAL. */
cg_status cg_members_may_issue_token(cg_store *st, const cg_principal *who, const char *member,
                                     cg_result *r);

/* May `who` issue a device to `member` or take one back from them (the
 * rules above)? CG_OK (an admin, always), CG_E_FORBIDDEN with the reason,
 * CG_E_INTERNAL. */
cg_status cg_members_may_equip(cg_store *st, const cg_principal *who, const char *member,
                               cg_result *r);

#endif
