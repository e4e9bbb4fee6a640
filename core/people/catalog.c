/*
 * catalog.c — the built-in departments and categories of the Lishui plan
 * (BRIEF.md, API.md) and the config's changes to them (see catalog.h).
 *
 * SLA hours are this project's defaults, not the plan's (it names none):
 * admins set their own per category in etc/ (`routes`).
 */
#include "people/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

struct cg_catalog {
    cg_department *departments;
    size_t n_departments;
    cg_category *categories;
    size_t n_categories;
};

static const struct {
    const char *code, *name, *name_zh;
    int mandatory;
} builtin_departments[] = {
    {"enforcement", "Comprehensive administrative enforcement", "综合行政执法", 1},
    {"municipal", "Municipal works and landscaping", "市政和园林", 1},
    {"sanitation", "Environmental sanitation", "环卫", 1},
    {"market", "Market regulation", "市场监管", 1},
    {"police", "Police and traffic police", "公安/交警", 1},
    {"health", "Health enforcement", "卫生健康执法", 0},
    {"eco", "Eco-environment enforcement", "生态环境执法", 0},
    {"culture", "Culture market enforcement", "文化市场执法", 0},
    {"volunteer", "Party-member volunteers", "党员志愿者", 0},
    {"partner", "Partner-unit staff", "共建单位", 0},
    {"outsourced", "Outsourced service staff", "外包服务人员", 0},
};

static const struct {
    const char *code, *name, *name_zh, *department;
    double sla_hours;
} builtin_categories[] = {
    {"municipal_facility", "Municipal facilities", "市政设施", "municipal", 24},
    {"landscaping", "Landscaping and greening", "园林绿化", "municipal", 48},
    {"sanitation", "Environmental sanitation", "环境卫生", "sanitation", 4},
    {"traffic_safety", "Traffic safety", "交通安全", "police", 2},
    {"eco_environment", "Eco-environment", "生态环境", "eco", 24},
    {"food_hygiene", "Food hygiene", "食品卫生", "market", 24},
    {"six_small_trades", "The six small trades", "六小行业", "market", 72},
    {"street_stall", "Street stalls on the road", "占道摆摊", "enforcement", 2},
    {"outside_shop_trading", "Trading outside the shopfront", "店外经营", "enforcement", 4},
    {"posting", "Illegal posting", "乱贴", "enforcement", 24},
    {"graffiti", "Graffiti", "乱画", "enforcement", 24},
    {"splashing", "Splashing", "乱泼", "enforcement", 24},
    {"dumping", "Dumping", "乱倒", "enforcement", 4},
    {"stringing", "Stringing lines", "乱拉", "enforcement", 24},
    {"hanging", "Hanging", "乱挂", "enforcement", 24},
    {"illegal_structure", "Illegal structures", "乱搭", "enforcement", 72},
    {"illegal_building", "Illegal building", "乱建", "enforcement", 168},
    {"illegal_parking", "Illegal parking", "乱停", "police", 2},
    {"illegal_placement", "Illegal placement", "乱放", "enforcement", 8},
};

#define FALLBACK_DEPARTMENT "enforcement"

/* Built-in categories whose review needs no "after" photo (see catalog.h). */
static const char *const no_after_photo[] = {"traffic_safety", "food_hygiene", "six_small_trades"};

static int builtin_requires_after_photo(const char *code)
{
    for (size_t i = 0; i < sizeof no_after_photo / sizeof *no_after_photo; i++)
        if (strcmp(code, no_after_photo[i]) == 0)
            return 0;
    return 1;
}

static char *dup_or(const char *s, const char *fallback)
{
    return strdup(s ? s : fallback);
}

static cg_department *add_department(cg_catalog *cat, const char *code, const char *name,
                                     const char *name_zh, int mandatory)
{
    cat->departments = realloc(cat->departments, (cat->n_departments + 1) * sizeof *cat->departments);
    cg_department *d = &cat->departments[cat->n_departments++];
    d->code = strdup(code);
    d->name = dup_or(name, code);
    d->name_zh = dup_or(name_zh, code);
    d->mandatory = mandatory;
    d->plugin = NULL;
    return d;
}

static cg_category *find_category(const cg_catalog *cat, const char *code)
{
    for (size_t i = 0; code && i < cat->n_categories; i++)
        if (strcmp(cat->categories[i].code, code) == 0)
            return &cat->categories[i];
    return NULL;
}

static cg_department *find_department(const cg_catalog *cat, const char *code)
{
    for (size_t i = 0; code && i < cat->n_departments; i++)
        if (strcmp(cat->departments[i].code, code) == 0)
            return &cat->departments[i];
    return NULL;
}

static cg_category *add_category(cg_catalog *cat, const char *code, const char *name,
                                 const char *name_zh, const char *department, double sla)
{
    cat->categories = realloc(cat->categories, (cat->n_categories + 1) * sizeof *cat->categories);
    cg_category *c = &cat->categories[cat->n_categories++];
    c->code = strdup(code);
    c->name = dup_or(name, code);
    c->name_zh = dup_or(name_zh, code);
    c->department = strdup(department);
    c->sla_hours = sla;
    c->requires_after_photo = 0;
    return c;
}

/* A route may re-route a built-in category, change its SLA, or add one. A
 * department the catalog does not know yet is added as an optional one: an
 * integrator's plugin (loaded later) may serve it. */
static int apply_route(cg_catalog *cat, const cg_route_conf *r, char *err, size_t errlen)
{
    cg_category *c = find_category(cat, r->category);
    if (!c && !r->department) {
        snprintf(err, errlen, "%s:%d: route adds category '%s' but names no 'department'",
                 r->file ? r->file : "?", r->line, r->category);
        return -1;
    }
    if (r->department && !find_department(cat, r->department))
        add_department(cat, r->department, NULL, NULL, 0);
    if (!c) {
        c = add_category(cat, r->category, r->name, r->name_zh, r->department,
                         r->sla_hours > 0 ? r->sla_hours : 24);
        c->requires_after_photo = r->requires_after_photo > 0;
        return 0;
    }
    if (r->requires_after_photo)
        c->requires_after_photo = r->requires_after_photo > 0;
    if (r->department) {
        free(c->department);
        c->department = strdup(r->department);
    }
    if (r->sla_hours > 0)
        c->sla_hours = r->sla_hours;
    if (r->name) {
        free(c->name);
        c->name = strdup(r->name);
    }
    if (r->name_zh) {
        free(c->name_zh);
        c->name_zh = strdup(r->name_zh);
    }
    return 0;
}

cg_catalog *cg_catalog_new(const cg_config *cfg, char *err, size_t errlen)
{
    cg_catalog *cat = calloc(1, sizeof *cat);
    for (size_t i = 0; i < sizeof builtin_departments / sizeof *builtin_departments; i++)
        add_department(cat, builtin_departments[i].code, builtin_departments[i].name,
                       builtin_departments[i].name_zh, builtin_departments[i].mandatory);
    for (size_t i = 0; i < sizeof builtin_categories / sizeof *builtin_categories; i++) {
        cg_category *c = add_category(cat, builtin_categories[i].code, builtin_categories[i].name,
                                      builtin_categories[i].name_zh,
                                      builtin_categories[i].department,
                                      builtin_categories[i].sla_hours);
        c->requires_after_photo = builtin_requires_after_photo(c->code);
    }
    for (size_t i = 0; cfg && i < cfg->n_routes; i++)
        if (apply_route(cat, &cfg->routes[i], err, errlen) < 0) {
            cg_catalog_free(cat);
            return NULL;
        }
    return cat;
}

void cg_catalog_free(cg_catalog *cat)
{
    if (!cat)
        return;
    for (size_t i = 0; i < cat->n_departments; i++) {
        cg_department *d = &cat->departments[i];
        free(d->code); free(d->name); free(d->name_zh); free(d->plugin);
    }
    for (size_t i = 0; i < cat->n_categories; i++) {
        cg_category *c = &cat->categories[i];
        free(c->code); free(c->name); free(c->name_zh); free(c->department);
    }
    free(cat->departments);
    free(cat->categories);
    free(cat);
}

size_t cg_catalog_n_categories(const cg_catalog *cat) { return cat->n_categories; }

const cg_category *cg_catalog_category_at(const cg_catalog *cat, size_t i)
{
    return i < cat->n_categories ? &cat->categories[i] : NULL;
}

const cg_category *cg_catalog_category(const cg_catalog *cat, const char *code)
{
    return find_category(cat, code);
}

size_t cg_catalog_n_departments(const cg_catalog *cat) { return cat->n_departments; }

const cg_department *cg_catalog_department_at(const cg_catalog *cat, size_t i)
{
    return i < cat->n_departments ? &cat->departments[i] : NULL;
}

const cg_department *cg_catalog_department(const cg_catalog *cat, const char *code)
{
    return find_department(cat, code);
}

void cg_catalog_set_plugin(cg_catalog *cat, const char *department, const char *plugin)
{
    cg_department *d = find_department(cat, department);
    if (!d)
        d = add_department(cat, department, NULL, NULL, 0);
    free(d->plugin);
    d->plugin = plugin ? strdup(plugin) : NULL;
}

const char *cg_catalog_route(const cg_catalog *cat, const char *category)
{
    const cg_category *c = find_category(cat, category);
    if (!c)
        return NULL;
    const cg_department *d = find_department(cat, c->department);
    if (d && !d->mandatory && !d->plugin)
        return FALLBACK_DEPARTMENT;
    return c->department;
}
