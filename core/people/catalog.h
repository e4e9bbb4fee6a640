/*
 * catalog.h — departments and problem categories: the built-in set from the
 * plan (API.md) plus what the config adds or re-routes. Immutable after
 * cg_catalog_new() except for cg_catalog_set_plugin(); main thread only.
 */
#ifndef CG_CATALOG_H
#define CG_CATALOG_H

#include <stddef.h>
#include "conf/config.h"

typedef struct cg_department {
    char *code;         /* enforcement, municipal, sanitation, market, police,
                           health, eco, culture, volunteer, partner, outsourced */
    char *name;         /* English display name */
    char *name_zh;
    int mandatory;      /* one of the five professional departments */
    char *plugin;       /* name of the enabled plugin serving it, or NULL */
} cg_department;

typedef struct cg_category {
    char *code;
    char *name;
    char *name_zh;
    char *department;   /* configured owner */
    double sla_hours;
    /* A review may pass only when the case has an "after" photo (evidence.h).
     * Built in: yes for what a photo shows fixed (the ten disorders, street
     * stalls, trading outside shops, facilities, greening, sanitation,
     * eco-environment); no for traffic safety, food hygiene and the six small
     * trades (their outcome is a decision, not a sight); no for categories the
     * config adds. A route's `requires_after_photo` overrides either. */
    int requires_after_photo;
} cg_category;

typedef struct cg_catalog cg_catalog;

/* Built-ins plus cfg->routes; a route naming an unknown department is an error
 * ("file:line: ..."). */
cg_catalog *cg_catalog_new(const cg_config *cfg, char *err, size_t errlen);
void cg_catalog_free(cg_catalog *cat);

size_t cg_catalog_n_categories(const cg_catalog *cat);
const cg_category *cg_catalog_category_at(const cg_catalog *cat, size_t i);
const cg_category *cg_catalog_category(const cg_catalog *cat, const char *code);

size_t cg_catalog_n_departments(const cg_catalog *cat);
const cg_department *cg_catalog_department_at(const cg_catalog *cat, size_t i);
const cg_department *cg_catalog_department(const cg_catalog *cat, const char *code);

/* Record which plugin serves a department (NULL clears it). */
void cg_catalog_set_plugin(cg_catalog *cat, const char *department, const char *plugin);

/* The department a new case of this category goes to: its configured owner,
 * or enforcement when the owner is an optional department without an enabled
 * plugin (the plan's default: eco_environment goes to eco only when eco runs).
 * NULL for an unknown category. */
const char *cg_catalog_route(const cg_catalog *cat, const char *category);

#endif
