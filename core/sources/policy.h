/*
 * policy.h — who may query which data source and see which fields whole:
 * rules of role × department × source × fields. The first rule that
 * matches the caller's role and department for that source decides; no
 * rule, no query (403, naming the role, the department and the source).
 *
 * The built-in rules follow the plan (section 6(2)) and issue's examples:
 *   professional, police        vehicles, persons          every field whole
 *   professional, enforcement   companies, offenders,
 *                               property_owners            every field whole
 *   professional, market        companies                  every field whole
 *   fulltime, any department    persons                    masked
 *   leader, any department      cameras (their grids)      every field whole
 * Fields of class "public" are never masked; every other field is masked
 * unless the rule names it (or says "*").
 *
 * The rules point into the config (cg_source_policy_from_conf): keep the
 * config alive as long as the policy. Immutable once built, any thread.
 */
#ifndef CG_POLICY_H
#define CG_POLICY_H

#include <stddef.h>

struct cg_source_rule_conf;

typedef struct cg_source_rule {
    const char *role;        /* leader, instructor, fulltime, professional, optional */
    const char *department;  /* a department code, or "*" for any */
    const char *source;      /* a source name */
    const char *const *whole;/* fields shown unmasked, NULL-terminated; {"*"}: all;
                                NULL: none (masked by class) */
} cg_source_rule;

typedef struct cg_source_policy {
    const cg_source_rule *rules;
    size_t n_rules;
} cg_source_policy;

/* The built-in rules above. */
const cg_source_policy *cg_source_policy_builtin(void);

/* The rules of the config's sources.rules (in order), or the built-in ones
 * when there are none (n == 0). `whole` is split at commas. Free with
 * cg_source_policy_free (the built-in table is never freed). NULL: no
 * memory. */
cg_source_policy *cg_source_policy_from_conf(const struct cg_source_rule_conf *rules, size_t n);
void cg_source_policy_free(cg_source_policy *p);

/* The rule that lets a member of `role` in `department` query `source`, or
 * NULL (refused). */
const cg_source_rule *cg_source_policy_find(const cg_source_policy *p, const char *role,
                                            const char *department, const char *source);

/* 1 when `field` of class `klass` goes out whole under `rule`. */
int cg_source_rule_shows(const cg_source_rule *rule, const char *field, const char *klass);

#endif
