/*
 * citybody.h — which city body takes a case that reaches level `city`:
 * the city enforcement bureau, the civilisation office, the
 * district government or the Development Zone's committee, chosen by the
 * config group escalation.city (config.h, etc/citygrid.cfg). Pure: no I/O,
 * any thread; unit-tested in tests/unit/test_citybody.c.
 */
#ifndef CG_CITYBODY_H
#define CG_CITYBODY_H

#include <stddef.h>
#include "people/catalog.h"
#include "conf/config.h"

#define CG_CITY_BODY_DEFAULT "city_enforcement_bureau"

/* The Chinese name of a body code (a static string), or NULL for an unknown
 * code: city_enforcement_bureau 市综合行政执法局, civilisation_office 市文明办,
 * district_government 区政府, zone_committee 开发区管委会. */
const char *cg_city_body_zh(const char *code);

/* The codes as a static text for error messages: "a, b, c or d". */
const char *cg_city_body_codes(void);

/* The body for a case of `category` whose grid is in `district` (NULL or ""
 * when the case has no grid): the first route of cfg whose every named key
 * matches, else cfg's default (CG_CITY_BODY_DEFAULT when cfg or its default
 * is NULL). The string is cfg's or static. */
const char *cg_city_body_for(const cg_config *cfg, const char *category, const char *district);

/* At startup: every route's category is one the catalog knows. 0 ok; -1
 * with "FILE:LINE: ..." in err. */
int cg_city_routes_check(const cg_config *cfg, const cg_catalog *cat, char *err, size_t errlen);

#endif
