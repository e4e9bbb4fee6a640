/*
 * api_catalog.c — GET /v1/categories and GET /v1/departments: what can be
 * reported and who handles it, straight from the catalog. Main thread only.
 */
#include "http/api.h"

#include "people/catalog.h"

/* [{"code","name","name_zh","department","sla_hours","requires_after_photo"}];
 * department is where a new case of the category goes now (cg_catalog_route), which may differ
 * from the configured owner while an optional department's plugin is off. */
void cg_api_categories(cg_api_ctx *ctx)
{
    const cg_catalog *cat = ctx->app->catalog;
    json_t *list = json_array();
    size_t n = cat ? cg_catalog_n_categories(cat) : 0;
    for (size_t i = 0; i < n && list; i++) {
        const cg_category *c = cg_catalog_category_at(cat, i);
        const char *dept = cg_catalog_route(cat, c->code);
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:f, s:b}", "code", c->code,
                                              "name", c->name ? c->name : c->code,
                                              "name_zh", c->name_zh ? c->name_zh : "",
                                              "department", dept ? dept : c->department,
                                              "sla_hours", c->sla_hours,
                                              "requires_after_photo",
                                              c->requires_after_photo));
    }
    if (!list) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "out of memory");
        return;
    }
    cg_http_reply_json(ctx->req, 200, list);
}

/* [{"code","name","name_zh","mandatory","plugin"}]; plugin is the enabled
 * plugin serving the department, or null. */
void cg_api_departments(cg_api_ctx *ctx)
{
    const cg_catalog *cat = ctx->app->catalog;
    json_t *list = json_array();
    size_t n = cat ? cg_catalog_n_departments(cat) : 0;
    for (size_t i = 0; i < n && list; i++) {
        const cg_department *d = cg_catalog_department_at(cat, i);
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:b, s:o}", "code", d->code,
                                              "name", d->name ? d->name : d->code,
                                              "name_zh", d->name_zh ? d->name_zh : "",
                                              "mandatory", d->mandatory,
                                              "plugin", d->plugin ? json_string(d->plugin) : json_null()));
    }
    if (!list) {
        cg_http_reply_error(ctx->req, 500, "internal_error", "out of memory");
        return;
    }
    cg_http_reply_json(ctx->req, 200, list);
}
