/*
 * policy.c — the data-source rules (policy.h).
 */
#include "sources/policy.h"

#include <string.h>

#include "sources/mask.h"

static const char *const all_fields[] = {"*", NULL};

static const cg_source_rule builtin_rules[] = {
    {"professional", "police", "vehicles", all_fields},
    {"professional", "police", "persons", all_fields},
    {"professional", "enforcement", "companies", all_fields},
    {"professional", "enforcement", "offenders", all_fields},
    {"professional", "enforcement", "property_owners", all_fields},
    {"professional", "market", "companies", all_fields},
    {"fulltime", "*", "persons", NULL},
    {"leader", "*", "cameras", all_fields},
};

static const cg_source_policy builtin = {builtin_rules,
                                         sizeof builtin_rules / sizeof builtin_rules[0]};

const cg_source_policy *cg_source_policy_builtin(void) { return &builtin; }

const cg_source_rule *cg_source_policy_find(const cg_source_policy *p, const char *role,
                                            const char *department, const char *source)
{
    if (!p || !role || !source)
        return NULL;
    for (size_t i = 0; i < p->n_rules; i++) {
        const cg_source_rule *r = &p->rules[i];
        if (strcmp(r->role, role) != 0 || strcmp(r->source, source) != 0)
            continue;
        if (strcmp(r->department, "*") == 0 ||
            (department && strcmp(r->department, department) == 0))
            return r;
    }
    return NULL;
}

int cg_source_rule_shows(const cg_source_rule *rule, const char *field, const char *klass)
{
    if (cg_mask_is_public(klass))
        return 1;
    if (!rule || !rule->whole || !field)
        return 0;
    for (const char *const *w = rule->whole; *w; w++)
        if (strcmp(*w, "*") == 0 || strcmp(*w, field) == 0)
            return 1;
    return 0;
}
