/*
 * test_open311.c — Open311's pure parts: the form parser (repeated names,
 * '+', %-escapes, what it refuses), the XML writer (escaping, the spec's
 * singular names, empty values) and the mapping of case statuses.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "case/open311.h"
#include "http/open311_form.h"
#include "http/open311_xml.h"
#include "support/run_suite.h"

static int parse(const char *text, cg_form *f)
{
    char err[128];
    return cg_form_parse(text, strlen(text), 16, f, err, sizeof err);
}

START_TEST(form_pairs)
{
    cg_form f;
    ck_assert_int_eq(parse("a=1&attribute%5Bt%5D%5B%5D=x&attribute[t][]=y+z&empty=&bare&&c=%E5%8D%A0", &f), 0);
    ck_assert_uint_eq(f.n, 6);
    ck_assert_str_eq(cg_form_get(&f, "a"), "1");
    ck_assert_str_eq(f.pairs[1].name, "attribute[t][]");
    ck_assert_str_eq(f.pairs[1].value, "x");
    ck_assert_str_eq(f.pairs[2].value, "y z");
    ck_assert_str_eq(cg_form_get(&f, "empty"), "");
    ck_assert_ptr_null(cg_form_value(&f, "empty"));   /* empty = absent */
    ck_assert_str_eq(cg_form_get(&f, "bare"), "");
    ck_assert_str_eq(cg_form_get(&f, "c"), "占");
    ck_assert_ptr_null(cg_form_get(&f, "missing"));
    cg_form_free(&f);
}
END_TEST

START_TEST(form_refusals)
{
    cg_form f;
    ck_assert_int_eq(parse("a=%zz", &f), -1);
    cg_form_free(&f);
    ck_assert_int_eq(parse("a=%4", &f), -1);
    cg_form_free(&f);
    ck_assert_int_eq(parse("a=x%00y", &f), -1);
    cg_form_free(&f);
    ck_assert_int_eq(parse("a=%C3%28", &f), -1);      /* not UTF-8 */
    cg_form_free(&f);
    ck_assert_int_eq(parse("a=%E5%8D", &f), -1);      /* cut short */
    cg_form_free(&f);
    ck_assert_int_eq(parse("1&2&3&4&5&6&7&8&9&10&11&12&13&14&15&16&17", &f), -1);
    cg_form_free(&f);
    ck_assert_int_eq(parse("", &f), 0);
    ck_assert_uint_eq(f.n, 0);
    cg_form_free(&f);
    ck_assert_uint_eq(cg_utf8_chars("占道a"), 3);
}
END_TEST

START_TEST(xml_writer)
{
    json_t *v = json_pack("[{s:s, s:n, s:s, s:b, s:f, s:[{s:s}, {s:s}]}]", "service_code", "a<b&\"c'",
                          "status_notes", "description", "", "metadata", 1, "lat", 28.45,
                          "values", "key", "x", "key", "y\x01z");
    size_t len = 0;
    char *xml = cg_o311_xml("services", v, &len);
    ck_assert_ptr_nonnull(xml);
    ck_assert_uint_eq(len, strlen(xml));
    ck_assert_str_eq(xml, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<services><service>"
                          "<service_code>a&lt;b&amp;&quot;c&apos;</service_code><status_notes/>"
                          "<description/><metadata>true</metadata><lat>28.45</lat><values>"
                          "<value><key>x</key></value><value><key>yz</key></value></values>"
                          "</service></services>\n");
    free(xml);
    json_decref(v);
    ck_assert_str_eq(cg_o311_xml_singular("service_request_updates"), "request_update");
    ck_assert_str_eq(cg_o311_xml_singular("errors"), "error");
    ck_assert_str_eq(cg_o311_xml_singular("whatever"), "item");
}
END_TEST

START_TEST(statuses)
{
    ck_assert_str_eq(cg_o311_status("dispatched"), "open");
    ck_assert_str_eq(cg_o311_status("handled"), "open");
    ck_assert_str_eq(cg_o311_status("closed"), "closed");
    ck_assert_str_eq(cg_o311_status("cancelled"), "closed");
    ck_assert_str_eq(cg_o311_update_status("report", "reported", NULL, NULL), "open");
    ck_assert_str_eq(cg_o311_update_status("accept", "accepted", NULL, NULL), "action_scheduled");
    ck_assert_str_eq(cg_o311_update_status("review", "accepted", "reject: redo", NULL), "in_progress");
    ck_assert_str_eq(cg_o311_update_status("handle", "handled", NULL, NULL), "in_progress");
    ck_assert_str_eq(cg_o311_update_status("review", "closed", NULL, NULL), "fixed");
    ck_assert_str_eq(cg_o311_update_status("cancel", "cancelled", "duplicate of C00000001", NULL), "duplicate");
    ck_assert_str_eq(cg_o311_update_status("cancel", "cancelled", "no longer there", NULL), "closed");
    ck_assert_str_eq(cg_o311_update_status("reopen", "dispatched", NULL, NULL), "open");
    char buf[48];
    cg_o311_datetime(1764763200123LL, buf, sizeof buf);
    ck_assert_str_eq(buf, "2025-12-03T20:00:00+08:00");
    ck_assert(cg_o311_name_valid("four-platforms"));
    ck_assert(!cg_o311_name_valid("Four"));
    ck_assert(!cg_o311_name_valid(""));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("open311");
    TCase *tc = tcase_create("pure");
    tcase_add_test(tc, form_pairs);
    tcase_add_test(tc, form_refusals);
    tcase_add_test(tc, xml_writer);
    tcase_add_test(tc, statuses);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
