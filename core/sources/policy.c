/*
 * policy.c — the data-source rules (policy.h).
 */
#include "sources/policy.h"

#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
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

/* A policy built from the config owns one block per rule: the rule's field
 * list and the strings it points into. */
typedef struct owned_policy {
    cg_source_policy p;
    cg_source_rule *rules;
    char **blocks;
} owned_policy;

/* "a, b,c" -> {"a","b","c",NULL} in one malloc'd block; "" -> NULL (none). */
static char *split_fields(const char *text, const char *const **out)
{
    *out = NULL;
    if (!text || !*text)
        return NULL;
    size_t n = 1;
    for (const char *p = text; *p; p++)
        n += *p == ',';
    size_t len = strlen(text) + 1;
    char *block = malloc((n + 1) * sizeof(char *) + len);
    if (!block)
        return NULL;
    const char **list = (const char **)block;
    char *copy = block + (n + 1) * sizeof(char *);
    memcpy(copy, text, len);
    size_t k = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        char *end = tok + strlen(tok);
        while (end > tok && end[-1] == ' ')
            *--end = '\0';
        if (*tok)
            list[k++] = tok;
    }
    list[k] = NULL;
    *out = list;
    return block;
}

cg_source_policy *cg_source_policy_from_conf(const cg_source_rule_conf *rules, size_t n)
{
    if (n == 0)
        return (cg_source_policy *)&builtin;
    owned_policy *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->rules = calloc(n, sizeof *o->rules);
    o->blocks = calloc(n, sizeof *o->blocks);
    if (!o->rules || !o->blocks) {
        free(o->rules);
        free(o->blocks);
        free(o);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        o->rules[i].role = rules[i].role;
        o->rules[i].department = rules[i].department ? rules[i].department : "*";
        o->rules[i].source = rules[i].source;
        o->blocks[i] = split_fields(rules[i].whole, &o->rules[i].whole);
    }
    o->p.rules = o->rules;
    o->p.n_rules = n;
    return &o->p;
}

void cg_source_policy_free(cg_source_policy *p)
{
    if (!p || p == &builtin)
        return;
    owned_policy *o = (owned_policy *)p;
    for (size_t i = 0; i < o->p.n_rules; i++)
        free(o->blocks[i]);
    free(o->blocks);
    free(o->rules);
    free(o);
}
