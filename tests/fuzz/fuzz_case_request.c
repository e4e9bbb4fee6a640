/*
 * fuzz_case_request.c — fuzz target for the POST /v1/cases validation
 * (cg_case_report_parse) on whatever JSON the input decodes to, against the
 * built-in catalog. Input: the request body, as the HTTP layer receives it.
 */
#include <string.h>

#include <jansson.h>

#include "case/report.h"
#include "people/catalog.h"
#include "case/cases.h"
#include "fuzz.h"

static cg_catalog *catalog;

static void free_catalog(void)
{
    cg_catalog_free(catalog);
    catalog = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!catalog) { /* built once: it is the same for every input */
        char err[256];
        catalog = cg_catalog_new(NULL, err, sizeof err);
        if (!catalog) {
            fprintf(stderr, "fuzz_case_request: catalog: %s\n", err);
            abort();
        }
        atexit(free_catalog);
    }
    json_error_t jerr;
    json_t *body = json_loadb((const char *)data, size, JSON_DECODE_ANY, &jerr);
    if (!body)
        return 0;
    cg_new_case nc;
    cg_result err;
    memset(&err, 0, sizeof err);
    cg_status rc = cg_case_report_parse(body, catalog, &nc, &err);
    if (rc == CG_OK) {
        FUZZ_REQUIRE(nc.category && nc.department && nc.grid && nc.description && nc.source);
        FUZZ_REQUIRE(nc.extra == NULL || json_is_object(nc.extra));
        json_decref(nc.extra);
    } else {
        FUZZ_REQUIRE(rc == CG_E_INVALID || rc == CG_E_UNPROCESSABLE);
        FUZZ_REQUIRE(nc.extra == NULL);
        FUZZ_REQUIRE(err.code[0] != '\0');
    }
    json_decref(body);
    return 0;
}
