/*
 * citybody.c — the city bodies and the choice between them (citybody.h).
 */
#include "case/citybody.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *code, *zh;
} bodies[] = {
    {"city_enforcement_bureau", "市综合行政执法局"},
    {"civilisation_office", "市文明办"},
    {"district_government", "区政府"},
    {"zone_committee", "开发区管委会"},
};

const char *cg_city_body_zh(const char *code)
{
    for (size_t i = 0; code && i < sizeof bodies / sizeof *bodies; i++)
        if (!strcmp(code, bodies[i].code))
            return bodies[i].zh;
    return NULL;
}

const char *cg_city_body_codes(void)
{
    return "city_enforcement_bureau, civilisation_office, district_government or zone_committee";
}

static int key_matches(const char *want, const char *have)
{
    return !want || (have && !strcmp(want, have));
}

const char *cg_city_body_for(const cg_config *cfg, const char *category, const char *district)
{
    if (!cfg)
        return CG_CITY_BODY_DEFAULT;
    for (size_t i = 0; i < cfg->escalation.n_city_routes; i++) {
        const cg_city_route_conf *r = &cfg->escalation.city_routes[i];
        if (key_matches(r->category, category) && key_matches(r->district, district))
            return r->body;
    }
    return cfg->escalation.city_default ? cfg->escalation.city_default : CG_CITY_BODY_DEFAULT;
}

int cg_city_routes_check(const cg_config *cfg, const cg_catalog *cat, char *err, size_t errlen)
{
    for (size_t i = 0; cfg && i < cfg->escalation.n_city_routes; i++) {
        const cg_city_route_conf *r = &cfg->escalation.city_routes[i];
        if (r->category && !cg_catalog_category(cat, r->category)) {
            snprintf(err, errlen, "%s:%d: escalation.city route: no category '%s'", r->file,
                     r->line, r->category);
            return -1;
        }
    }
    return 0;
}
