/*
 * market.c — the 市场监管 (market regulation) department plugin: farmers'
 * markets, food hygiene, drug safety, the six small trades. When the
 * reporter sent the business's unified social credit code (统一社会信用代码,
 * extra "licence_no"), the case notes the link to the licence registry; an
 * invalid code is noted too, and never fails the case.
 * See README.md beside this file.
 */
#include <citygrid/plugin.h>

#include <string.h>

#include "../common/dept.h"

#define LICENCE_NO_LEN 18

static const char *const market_categories[] = {
    "food_hygiene", "six_small_trades", NULL,
};

static const citygrid_plugin market_plugin;

/* A unified social credit code: 18 characters, digits and capital letters. */
static int licence_no_valid(const char *s)
{
    if (strlen(s) != LICENCE_NO_LEN)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z')))
            return 0;
    return 1;
}

/* Only quote a rejected value when it is short plain ASCII. */
static int quotable(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (s[n] < 0x20 || s[n] > 0x7e || s[n] == '"')
            return 0;
    return n > 0 && n <= 40;
}

static int note_licence(dept *d, const citygrid_case *c)
{
    const char *no = NULL;
    int found = d->host->case_extra_string(d->ctx, c, "licence_no", &no);
    if (found == CITYGRID_E_NOTFOUND)
        return CITYGRID_OK;
    if (found == CITYGRID_OK && licence_no_valid(no)) {
        /* A stored link the case shows as "licence_no" (ABI 1.2). */
        int rc = d->host->case_link(d->ctx, c->id, "licence", no);
        if (rc != CITYGRID_OK)
            return rc;
        return dept_note(d, c, "已关联营业执照（统一社会信用代码 %s）; business licence %s linked",
                         no, no);
    }
    /* Not a string (CITYGRID_E_INVALID), or not a valid code. */
    if (found == CITYGRID_OK && quotable(no))
        return dept_note(d, c, "统一社会信用代码无效，未关联营业执照; licence_no \"%s\" is not a "
                               "valid unified social credit code (18 characters 0-9, A-Z): not linked",
                         no);
    return dept_note(d, c, "统一社会信用代码无效，未关联营业执照; licence_no is not a valid "
                           "unified social credit code (18 characters 0-9, A-Z): not linked");
}

static int market_init(citygrid_plugin_ctx *ctx, const citygrid_host *host)
{
    return dept_init(ctx, host, &market_plugin);
}

static int market_handle(citygrid_plugin_ctx *ctx, const citygrid_case *c)
{
    return dept_handle_taking(ctx, c, note_licence);
}

static const citygrid_plugin market_plugin =
    DEPT_PLUGIN_DESCRIPTOR("market", "市场监管", market_categories, market_init,
                           market_handle, dept_on_event);

CITYGRID_PLUGIN_DEFINE(market_plugin)
