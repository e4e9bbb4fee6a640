/*
 * subscribe.c — matching workflow events to subscribing plugins
 * (subscribe.h).
 */
#include "case/subscribe.h"

#include <stdio.h>
#include <string.h>

enum { SORT_ALL, SORT_KIND, SORT_LEVEL, SORT_DEPARTMENT, N_SORTS };

int cg_subscribe_term_sort(const char *term)
{
    static const char *const kinds[] = {"transition", "escalation"};
    static const char *const levels[] = {"grid", "community", "joint", "city"};
    if (!strcmp(term, "all"))
        return SORT_ALL;
    for (size_t i = 0; i < 2; i++)
        if (!strcmp(term, kinds[i]))
            return SORT_KIND;
    for (size_t i = 0; i < 4; i++)
        if (!strcmp(term, levels[i]))
            return SORT_LEVEL;
    return SORT_DEPARTMENT;
}

int cg_subscribe_matches(const cg_plugin_conf *p, const char *department, const char *kind,
                         const char *level)
{
    if (!p || !p->n_subscribe)
        return 0;
    /* Per sort: was it named, and did one of its terms match? */
    int named[N_SORTS] = {0}, hit[N_SORTS] = {0};
    for (size_t i = 0; i < p->n_subscribe; i++) {
        const char *t = p->subscribe[i];
        int sort = cg_subscribe_term_sort(t);
        if (sort == SORT_ALL)
            return 1;
        const char *have = sort == SORT_KIND ? kind : sort == SORT_LEVEL ? level : department;
        named[sort] = 1;
        hit[sort] |= have && !strcmp(t, have);
    }
    for (int s = SORT_KIND; s < N_SORTS; s++)
        if (named[s] && !hit[s])
            return 0;
    return 1;
}

int cg_subscribe_any(const cg_config *cfg)
{
    for (size_t i = 0; cfg && i < cfg->n_plugins; i++)
        if (cfg->plugins[i].enabled && cfg->plugins[i].n_subscribe)
            return 1;
    return 0;
}

/* The department the catalog says `plugin` serves now, or NULL. */
static const char *served_by(const cg_catalog *cat, const char *plugin)
{
    for (size_t i = 0; i < cg_catalog_n_departments(cat); i++) {
        const cg_department *d = cg_catalog_department_at(cat, i);
        if (d->plugin && !strcmp(d->plugin, plugin))
            return d->code;
    }
    return NULL;
}

size_t cg_subscribers(const cg_config *cfg, const cg_catalog *cat, const char *department,
                      const char *kind, const char *level, const char **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; cfg && cat && i < cfg->n_plugins && n < max; i++) {
        const cg_plugin_conf *p = &cfg->plugins[i];
        if (!p->enabled || !cg_subscribe_matches(p, department, kind, level))
            continue;
        const char *dep = served_by(cat, p->name);
        if (!dep || (department && !strcmp(dep, department)))
            continue;
        int seen = 0;
        for (size_t k = 0; k < n; k++)
            seen |= !strcmp(out[k], dep);
        if (!seen)
            out[n++] = dep;
    }
    return n;
}

int cg_subscribe_check(const cg_config *cfg, const cg_catalog *cat, char *err, size_t errlen)
{
    for (size_t i = 0; cfg && i < cfg->n_plugins; i++) {
        const cg_plugin_conf *p = &cfg->plugins[i];
        for (size_t k = 0; k < p->n_subscribe; k++) {
            const char *t = p->subscribe[k];
            if (cg_subscribe_term_sort(t) == SORT_DEPARTMENT && !cg_catalog_department(cat, t)) {
                snprintf(err, errlen, "%s:%d: plugin '%s': subscribe: '%s' is not \"all\", "
                         "\"transition\", \"escalation\", a level (grid, community, joint, city) "
                         "or a known department code", p->file, p->subscribe_line, p->name, t);
                return -1;
            }
        }
    }
    return 0;
}
