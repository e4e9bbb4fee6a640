/*
 * welcome.c — the body of the HEARTBEAT that takes a plugin (welcome.h).
 */
#include "host/welcome.h"

#include <jansson.h>

char *cg_welcome_json(const cg_catalog *cat)
{
    json_t *deps = json_object();
    json_t *o = json_pack("{s:o}", "departments", deps);
    if (!o)
        return NULL;
    size_t n = cg_catalog_n_departments(cat);
    for (size_t i = 0; i < n; i++) {
        const cg_department *d = cg_catalog_department_at(cat, i);
        json_object_set_new(deps, d->code,
                            json_pack("{s:s, s:s}", "name", d->name ? d->name : d->code,
                                      "name_zh", d->name_zh ? d->name_zh : d->code));
    }
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}
