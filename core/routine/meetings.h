/*
 * meetings.h — grid meetings ("five ones": one study session, briefings, one
 * work report, the problems discussed, a batch of tasks claimed) and the
 * tasks claimed there, each tracked until its assignee (or the grid's
 * leader) closes it.
 *
 * The chair is the grid's leader, or its instructor acting for them. The
 * attendees and every task's claimer serve the grid. These rules are
 * checked inside the write (cg_meeting_store), against the staff as
 * committed.
 *
 * Threading: cg_meeting_store and cg_task_done write with cg_store_stmt in a
 * cg_batch apply; the others read with cg_store_read_stmt (main thread).
 */
#ifndef CG_MEETINGS_H
#define CG_MEETINGS_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "routine/attendance.h"
#include "lib/result.h"
#include "store/store.h"

#define CG_MEETING_MAX_ATTENDEES 200
#define CG_MEETING_MAX_TASKS 100
#define CG_MEETING_MAX_ITEMS 50     /* briefings, problems */
#define CG_MEETING_TEXT_MAX 4000    /* bytes of one text */

typedef struct cg_meeting_task {
    char *title;
    char claimed_by[CG_MEMBER_ID_SIZE];
} cg_meeting_task;

/* Owned by whoever fills it; cg_meeting_new_free releases the strings. */
typedef struct cg_meeting_new {
    char grid[CG_GRID_CODE_SIZE];
    int32_t day;
    char chair[CG_MEMBER_ID_SIZE];
    char created_by[CG_MEMBER_ID_SIZE];
    char *study_topic, *work_report;
    char *briefings, *problems;      /* JSON arrays of strings, serialized */
    char (*attendees)[CG_MEMBER_ID_SIZE];
    size_t n_attendees;
    cg_meeting_task *tasks;
    size_t n_tasks;
    int64_t now_ms;
} cg_meeting_new;
void cg_meeting_new_free(cg_meeting_new *m);

/* Validate and fill from a POST /v1/meetings body: CG_OK, or CG_E_INVALID
 * invalid_field naming the field (CG_E_INTERNAL out of memory) in err, m
 * then freed already. */
cg_status cg_meeting_parse(json_t *body, cg_meeting_new *m, cg_result *err);

/* Store it with its attendees and tasks: CG_OK and *id the meeting, or
 * CG_E_UNPROCESSABLE chair_not_leader, not_in_grid (an attendee or
 * claimer) in why. */
cg_status cg_meeting_store(cg_store *st, const cg_meeting_new *m, long long *id, cg_result *why);

/* The meeting with "attendees" and "tasks" (new reference), or NULL. */
json_t *cg_meeting_get(cg_store *st, long long id);
/* {"items":[meeting without attendees/tasks],"next"} newest first; grid
 * NULL: any; viewer non-NULL: only the grids they serve. NULL on error. */
json_t *cg_meetings_list(cg_store *st, const char *grid, const char *viewer, long long before,
                         int limit);

typedef struct cg_task_filter {
    const char *assignee, *status, *grid; /* NULL: any */
    const char *viewer; /* non-NULL: their grids' tasks and their own */
    long long before;   /* cursor */
    int limit;
} cg_task_filter;
json_t *cg_tasks_list(cg_store *st, const cg_task_filter *f);
json_t *cg_task_get(cg_store *st, long long id);

/* Close a task: CG_E_NOT_FOUND, CG_E_CONFLICT task_done when done already,
 * CG_E_FORBIDDEN unless `by` is its assignee, the grid's leader, or
 * is_admin. */
cg_status cg_task_done(cg_store *st, long long id, const char *by, int is_admin, int64_t now_ms,
                       cg_result *why);

#endif
