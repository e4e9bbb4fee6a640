/*
 * market.c — the 市场监管 (market regulation) department plugin: farmers'
 * markets, food hygiene, drug safety, the six small trades. When the
 * reporter sent the business's unified social credit code (统一社会信用代码,
 * extra "licence_no"), the case notes the link to the licence registry and
 * what the business registry (the "companies" data source, asked through
 * the core) says of it; an invalid code is noted too, and never fails the
 * case.
 * See README.md beside this file.
 */
#include <citygrid/plugin.h>

#include <stdio.h>
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

/* What the registry says of the licence: the company row found by code. */
typedef struct company {
    const char *want;
    char name[256], status[32], address[256], legal_rep[64];
    int found;
} company;

static void copy_value(char *dst, size_t cap, const char *v)
{
    snprintf(dst, cap, "%s", v ? v : "");
}

static int take_company(void *arg, size_t n, const char *const *names, const char *const *values)
{
    company *co = arg;
    const char *code = NULL, *licence = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(names[i], "credit_code"))
            code = values[i];
        else if (!strcmp(names[i], "licence_no"))
            licence = values[i];
    }
    /* The search is a substring: only an exact code is this company. */
    if (!((code && !strcmp(code, co->want)) || (licence && !strcmp(licence, co->want))))
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(names[i], "name"))
            copy_value(co->name, sizeof co->name, values[i]);
        else if (!strcmp(names[i], "status"))
            copy_value(co->status, sizeof co->status, values[i]);
        else if (!strcmp(names[i], "address"))
            copy_value(co->address, sizeof co->address, values[i]);
        else if (!strcmp(names[i], "legal_rep"))
            copy_value(co->legal_rep, sizeof co->legal_rep, values[i]);
    }
    co->found = 1;
    return 1;
}

/* Ask the business registry (the "companies" source, served by another
 * plugin, through the core) and note what it says. A registry that is down
 * or absent never fails the case: the note says the check was not made. */
static int note_company(dept *d, const citygrid_case *c, const char *no)
{
    const citygrid_host *h = d->host;
    if (!CITYGRID_HOST_HAS(h, source_query))
        return CITYGRID_OK; /* a core without source queries */
    company co = {.want = no};
    unsigned timeout = (unsigned)h->setting_int(d->ctx, "registry_timeout_ms", 2000);
    int rc = h->source_query(d->ctx, "companies", no, 10, timeout, take_company, &co);
    if (rc == CITYGRID_OK && co.found)
        return dept_note(d, c, "登记主体：%s（%s，法定代表人 %s，地址 %s）; registered company: %s, "
                               "status %s",
                         co.name, co.status, co.legal_rep, co.address, co.name, co.status);
    if (rc == CITYGRID_OK)
        return dept_note(d, c, "企业登记信息中未查到统一社会信用代码 %s; licence %s is not in the "
                               "business registry",
                         no, no);
    return dept_note(d, c, "企业登记信息暂不可查（%s）; business registry not checked (%s)",
                     rc == CITYGRID_E_NOTFOUND ? "无权限或无数据源" : "超时或不可用",
                     rc == CITYGRID_E_NOTFOUND ? "no source or not allowed" : "timeout or down");
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
        rc = dept_note(d, c, "已关联营业执照（统一社会信用代码 %s）; business licence %s linked",
                       no, no);
        return rc == CITYGRID_OK ? note_company(d, c, no) : rc;
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
