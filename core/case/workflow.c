/*
 * workflow.c — the transition table and the permission rules (workflow.h).
 */
#include "case/workflow.h"

#include <stddef.h>
#include <string.h>

static const char *const verb_names[CG_WF_N_VERBS] = {
    "dispatch", "accept", "handle", "review", "transfer",
    "escalate", "postpone", "cancel", "reopen", "rate",
};

int cg_wf_verb_parse(const char *name)
{
    for (int i = 0; name && i < CG_WF_N_VERBS; i++)
        if (strcmp(name, verb_names[i]) == 0)
            return i;
    return -1;
}

const char *cg_wf_verb_name(cg_wf_verb v)
{
    return (unsigned)v < CG_WF_N_VERBS ? verb_names[v] : "?";
}

enum { S_REPORTED, S_DISPATCHED, S_ACCEPTED, S_HANDLED, S_CLOSED, S_CANCELLED, S_N };
static const char *const status_names[S_N] = {"reported", "dispatched", "accepted",
                                              "handled",  "closed",     "cancelled"};

static int status_index(const char *s)
{
    for (int i = 0; s && i < S_N; i++)
        if (strcmp(s, status_names[i]) == 0)
            return i;
    return -1;
}

/* Which statuses each verb starts from (bit i = status i). */
#define B(s) (1u << (s))
static const unsigned verb_from[CG_WF_N_VERBS] = {
    [CG_WF_DISPATCH] = B(S_REPORTED) | B(S_DISPATCHED),
    [CG_WF_ACCEPT] = B(S_DISPATCHED),
    [CG_WF_HANDLE] = B(S_ACCEPTED),
    [CG_WF_REVIEW] = B(S_HANDLED),
    [CG_WF_TRANSFER] = B(S_DISPATCHED) | B(S_ACCEPTED),
    [CG_WF_ESCALATE] = B(S_REPORTED) | B(S_DISPATCHED) | B(S_ACCEPTED),
    [CG_WF_POSTPONE] = B(S_REPORTED) | B(S_DISPATCHED) | B(S_ACCEPTED),
    [CG_WF_CANCEL] = B(S_REPORTED) | B(S_DISPATCHED) | B(S_ACCEPTED) | B(S_HANDLED),
    [CG_WF_REOPEN] = B(S_CLOSED) | B(S_CANCELLED),
    [CG_WF_RATE] = B(S_CLOSED),
};
#undef B

const char *cg_wf_next_status(const char *status, cg_wf_verb verb, const cg_wf_choice *choice)
{
    static const cg_wf_choice none;
    int s = status_index(status);
    if (s < 0 || (unsigned)verb >= CG_WF_N_VERBS || !(verb_from[verb] & (1u << s)))
        return NULL;
    if (!choice)
        choice = &none;
    switch (verb) {
    case CG_WF_DISPATCH:
    case CG_WF_REOPEN:
        return "dispatched";
    case CG_WF_ACCEPT:
        return "accepted";
    case CG_WF_HANDLE:
        return "handled";
    case CG_WF_REVIEW:
        return choice->review_pass ? "closed" : "accepted";
    case CG_WF_TRANSFER:
        return choice->has_department ? "dispatched" : "reported";
    case CG_WF_CANCEL:
        return "cancelled";
    case CG_WF_RATE:
        return choice->reopen_by_rating ? "dispatched" : "closed";
    case CG_WF_ESCALATE:
    case CG_WF_POSTPONE:
    default:
        return status_names[s];
    }
}

int cg_wf_allowed(cg_wf_verb verb, const cg_wf_actor *who)
{
    if (!who)
        return 0;
    if (who->admin)
        return 1;
    switch (verb) {
    case CG_WF_DISPATCH:
    case CG_WF_ESCALATE:
    case CG_WF_POSTPONE:
    case CG_WF_CANCEL:
    case CG_WF_REOPEN:
        return who->manages_grid;
    case CG_WF_ACCEPT:
    case CG_WF_HANDLE:
        return who->is_assignee || who->of_department;
    case CG_WF_REVIEW:
        return who->manages_grid && !who->is_handler;
    case CG_WF_TRANSFER:
        return who->is_assignee || who->of_department || who->manages_grid;
    case CG_WF_RATE:
        return who->is_reporter || who->is_citizen;
    default:
        return 0;
    }
}

static const char *const levels[] = {"grid", "community", "joint", "city"};

int cg_wf_level_rank(const char *level)
{
    for (int i = 0; level && i < 4; i++)
        if (strcmp(level, levels[i]) == 0)
            return i;
    return -1;
}

const char *cg_wf_next_level(const char *level)
{
    int r = cg_wf_level_rank(level);
    return r >= 0 && r < 3 ? levels[r + 1] : NULL;
}
