/*
 * test_workflow.c — the transition table, the permission rules and the
 * escalation ladder of core/case/workflow.c (pure: no store, no daemon).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "case/workflow.h"
#include "support/run_suite.h"

static const char *const statuses[] = {"reported", "dispatched", "accepted",
                                       "handled",  "closed",     "cancelled"};

/* The whole table: expected next status per verb and status ("" = 409). */
static const char *const table[CG_WF_N_VERBS][6] = {
    /*            reported      dispatched    accepted      handled      closed        cancelled */
    [CG_WF_DISPATCH] = {"dispatched", "dispatched", "", "", "", ""},
    [CG_WF_ACCEPT] = {"", "accepted", "", "", "", ""},
    [CG_WF_HANDLE] = {"", "", "handled", "", "", ""},
    [CG_WF_REVIEW] = {"", "", "", "closed", "", ""},
    [CG_WF_TRANSFER] = {"", "dispatched", "dispatched", "", "", ""},
    [CG_WF_ESCALATE] = {"reported", "dispatched", "accepted", "", "", ""},
    [CG_WF_POSTPONE] = {"reported", "dispatched", "accepted", "", "", ""},
    [CG_WF_CANCEL] = {"cancelled", "cancelled", "cancelled", "cancelled", "", ""},
    [CG_WF_REOPEN] = {"", "", "", "", "dispatched", "dispatched"},
    [CG_WF_RATE] = {"", "", "", "", "closed", ""},
};

START_TEST(every_verb_in_every_status)
{
    cg_wf_choice pass = {.review_pass = 1, .has_department = 1};
    for (int v = 0; v < CG_WF_N_VERBS; v++)
        for (int s = 0; s < 6; s++) {
            const char *next = cg_wf_next_status(statuses[s], (cg_wf_verb)v, &pass);
            const char *want = table[v][s];
            if (!*want)
                ck_assert_msg(next == NULL, "%s on %s gave %s, expected 409",
                              cg_wf_verb_name((cg_wf_verb)v), statuses[s], next);
            else
                ck_assert_msg(next && !strcmp(next, want), "%s on %s gave %s, expected %s",
                              cg_wf_verb_name((cg_wf_verb)v), statuses[s], next ? next : "409",
                              want);
        }
}
END_TEST

START_TEST(choices_pick_the_outcome)
{
    cg_wf_choice reject = {.review_pass = 0};
    ck_assert_str_eq(cg_wf_next_status("handled", CG_WF_REVIEW, &reject), "accepted");
    cg_wf_choice back_to_grid = {.has_department = 0};
    ck_assert_str_eq(cg_wf_next_status("accepted", CG_WF_TRANSFER, &back_to_grid), "reported");
    cg_wf_choice low = {.reopen_by_rating = 1};
    ck_assert_str_eq(cg_wf_next_status("closed", CG_WF_RATE, &low), "dispatched");
    ck_assert_ptr_null(cg_wf_next_status("nonsense", CG_WF_ACCEPT, NULL));
    ck_assert_ptr_null(cg_wf_next_status(NULL, CG_WF_ACCEPT, NULL));
    ck_assert_ptr_null(cg_wf_next_status("dispatched", CG_WF_N_VERBS, NULL));
}
END_TEST

START_TEST(verb_names_round_trip)
{
    for (int v = 0; v < CG_WF_N_VERBS; v++)
        ck_assert_int_eq(cg_wf_verb_parse(cg_wf_verb_name((cg_wf_verb)v)), v);
    ck_assert_int_eq(cg_wf_verb_parse("close"), -1);
    ck_assert_int_eq(cg_wf_verb_parse(NULL), -1);
    ck_assert_int_eq(cg_wf_verb_parse("Accept"), -1);
}
END_TEST

START_TEST(who_may_do_what)
{
    cg_wf_actor nobody = {0}, admin = {.admin = 1}, leader = {.manages_grid = 1},
                dept = {.of_department = 1}, assignee = {.is_assignee = 1},
                reporter = {.is_reporter = 1}, citizen = {.is_citizen = 1},
                leader_handler = {.manages_grid = 1, .is_handler = 1};
    for (int v = 0; v < CG_WF_N_VERBS; v++) {
        ck_assert(cg_wf_allowed((cg_wf_verb)v, &admin));
        ck_assert(!cg_wf_allowed((cg_wf_verb)v, &nobody));
    }
    /* the leader's verbs */
    cg_wf_verb leaders[] = {CG_WF_DISPATCH, CG_WF_ESCALATE, CG_WF_POSTPONE, CG_WF_CANCEL,
                            CG_WF_REOPEN, CG_WF_REVIEW};
    for (size_t i = 0; i < sizeof leaders / sizeof *leaders; i++) {
        ck_assert(cg_wf_allowed(leaders[i], &leader));
        ck_assert(!cg_wf_allowed(leaders[i], &dept));
        ck_assert(!cg_wf_allowed(leaders[i], &assignee));
        ck_assert(!cg_wf_allowed(leaders[i], &reporter));
    }
    /* the department's verbs */
    ck_assert(cg_wf_allowed(CG_WF_ACCEPT, &dept) && cg_wf_allowed(CG_WF_ACCEPT, &assignee));
    ck_assert(cg_wf_allowed(CG_WF_HANDLE, &dept) && cg_wf_allowed(CG_WF_HANDLE, &assignee));
    ck_assert(!cg_wf_allowed(CG_WF_HANDLE, &leader) && !cg_wf_allowed(CG_WF_HANDLE, &reporter));
    ck_assert(cg_wf_allowed(CG_WF_TRANSFER, &dept) && cg_wf_allowed(CG_WF_TRANSFER, &leader));
    ck_assert(!cg_wf_allowed(CG_WF_TRANSFER, &reporter));
    /* the handler never reviews their own case */
    ck_assert(!cg_wf_allowed(CG_WF_REVIEW, &leader_handler));
    /* rating */
    ck_assert(cg_wf_allowed(CG_WF_RATE, &reporter) && cg_wf_allowed(CG_WF_RATE, &citizen));
    ck_assert(!cg_wf_allowed(CG_WF_RATE, &leader) && !cg_wf_allowed(CG_WF_RATE, &dept));
    ck_assert(!cg_wf_allowed(CG_WF_RATE, NULL));
}
END_TEST

START_TEST(the_ladder)
{
    ck_assert_str_eq(cg_wf_next_level("grid"), "community");
    ck_assert_str_eq(cg_wf_next_level("community"), "joint");
    ck_assert_str_eq(cg_wf_next_level("joint"), "city");
    ck_assert_ptr_null(cg_wf_next_level("city"));
    ck_assert_ptr_null(cg_wf_next_level("province"));
    ck_assert_int_eq(cg_wf_level_rank("grid"), 0);
    ck_assert_int_eq(cg_wf_level_rank("city"), 3);
    ck_assert_int_eq(cg_wf_level_rank(NULL), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("workflow");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, every_verb_in_every_status);
    tcase_add_test(tc, choices_pick_the_outcome);
    tcase_add_test(tc, verb_names_round_trip);
    tcase_add_test(tc, who_may_do_what);
    tcase_add_test(tc, the_ladder);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
