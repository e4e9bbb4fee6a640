/*
 * assessment.h — the monthly assessment: seven
 * indicators per month in city time (Asia/Shanghai), per member (with their
 * role), grid and department, each with the counts it is made of, a score
 * per row with bundled scoring for members, the annual evaluation and the
 * commendation list. The formulas and every edge are in README.md,
 * "Assessment"; this header names them.
 *
 * Sources, all read with indexed range queries (no rescan of every case):
 *  - cases due in the month and the month before (cases_by_due: a case is
 *    due at its deadline expected_at, or when reported if it has none;
 *    cancelled cases are never due), with the per-case facts the workflow
 *    keeps (handled_at, reopens, duplicates: migration "assessment",
 *    written by cg_cases_apply_change);
 *  - cases reported in the month (cases_by_created) for patrol discovery;
 *  - the duty rota with its check-ins, and patrol_days (attendance.h,
 *    patrols.h), against the assignments of members to grids.
 *
 * Threading: reads with cg_store_read_stmt, so the main thread only (or a
 * tool that owns its store). Results are new JSON references.
 */
#ifndef CG_ASSESSMENT_H
#define CG_ASSESSMENT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "conf/config.h"
#include "store/store.h"

enum {
    CG_IND_DISCOVERY,     /* patrol_discovery_rate */
    CG_IND_TIMELY,        /* timely_disposal_rate */
    CG_IND_CLOSURE,       /* closure_rate */
    CG_IND_SATISFACTION,  /* satisfaction (mean rating 1..5) */
    CG_IND_ATTENDANCE,    /* attendance_rate */
    CG_IND_COORDINATION,  /* coordination */
    CG_IND_EFFECTIVENESS, /* effectiveness */
    CG_IND_N
};
/* The API keys of the indicators, in the order above. */
extern const char *const cg_assess_keys[CG_IND_N];

typedef struct cg_assess_conf {
    double weights[CG_IND_N]; /* >= 0; a row's own score is the weighted mean */
    double grid_share;        /* 0..1: the share of a member's score from their grids */
    int commend_top;          /* commended per role and year */
    int patrol_days_per_week; /* attendance.patrol_days_per_week */
    int patrol_min_minutes;   /* attendance.patrol_min_minutes */
} cg_assess_conf;

/* The config's assessment and patrol rule; cfg NULL: the schema's defaults. */
void cg_assess_conf_init(cg_assess_conf *c, const cg_config *cfg);

typedef enum cg_assess_by {
    CG_ASSESS_BY_MEMBER,
    CG_ASSESS_BY_GRID,
    CG_ASSESS_BY_DEPARTMENT
} cg_assess_by;
/* "member" | "grid" | "department"; -1 otherwise. */
int cg_assess_by_parse(const char *text);
const char *cg_assess_by_name(cg_assess_by by);

/* The whole city's report for the month of days [first_day, first_day +
 * n_days) (citydate.h); `today` is the current city day: rota days and ISO
 * weeks are required only once they are over (before today).
 * {"month":"YYYY-MM","by":..., "items":[row...]} with rows sorted by their
 * id (member id, grid code, department code). A member row also carries
 * "name", "role" (the highest of "roles"), "roles", "grids" and
 * "departments" (whom they serve for), so that the caller can filter rows by
 * scope. NULL with err on a database error. */
json_t *cg_assess_monthly(cg_store *st, const cg_assess_conf *c, int32_t first_day, int n_days,
                          cg_assess_by by, int32_t today, char *err, size_t errlen);

/* The annual evaluation by member: the monthly member reports of the
 * year's months that have begun by `today`; per member the mean of the
 * months' non-null scores and how many months counted:
 * {"year":Y,"by":"member","months":[...],"items":[{"member","name","role",
 *  "roles","grids","departments","months_counted","score"|null,
 *  "monthly":[{"month","score"}]}]}. NULL with err. */
json_t *cg_assess_annual(cg_store *st, const cg_assess_conf *c, int year, int32_t today,
                         char *err, size_t errlen);

/* The commendation list from an annual evaluation (borrowed): per role, the
 * commend_top members with the highest annual score (ties: more months
 * counted, then member id), members without a score left out:
 * {"year","top":N,"items":[{"role","rank","member","name","score",
 *  "months_counted","grids","departments"}]} in role order leader,
 * instructor, fulltime, professional, optional. */
json_t *cg_assess_commendations(const json_t *annual, int top);

/* The rows of a report (`items`) as CSV, UTF-8 with a byte order mark so
 * that spreadsheet programs show Chinese names: one header line, the keys in
 * Chinese (巡查发现率 for patrol_discovery_rate; a key without a label as it
 * is), then the rows (lists joined with ';', null empty), CRLF line ends.
 * malloc'd, *len set; NULL on no memory. */
char *cg_assess_csv(const json_t *items, size_t *len);

#endif
