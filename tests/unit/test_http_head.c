/* test_http_head.c — the strict request-head reader of the connection gate
 * (core/http/http_head.h). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_head.h"
#include "support/run_suite.h"

static cg_head_problem parse(const char *text, cg_http_head *h)
{
    return cg_http_head_parse(text, strlen(text), h);
}

START_TEST(good_heads)
{
    cg_http_head h;
    ck_assert_int_eq(parse("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n", &h), CG_HEAD_OK);
    ck_assert_int_eq((int)h.method_len, 3);
    ck_assert(strncmp(h.target, "/v1/health", h.target_len) == 0 && h.target_len == 10);
    ck_assert(h.content_length == -1 && !h.authorization);
    ck_assert_int_eq(parse("POST /v1/cases?x=1 HTTP/1.0\r\nContent-Length:  12 \r\n"
                           "Authorization: Bearer abc\r\nExpect: 100-continue\r\n\r\n", &h),
                     CG_HEAD_OK);
    ck_assert(h.content_length == 12 && h.expect_continue);
    ck_assert(h.authorization_len == 10 && strncmp(h.authorization, "Bearer abc", 10) == 0);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\n\r\n", &h), CG_HEAD_OK);
}
END_TEST

START_TEST(refused_heads)
{
    cg_http_head h;
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", &h),
                     CG_HEAD_DUPLICATE_LENGTH);
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
                           &h), CG_HEAD_LENGTH_AND_CHUNKED);
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &h),
                     CG_HEAD_CHUNKED);
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", &h), CG_HEAD_BAD_LENGTH);
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", &h), CG_HEAD_BAD_LENGTH);
    ck_assert_int_eq(parse("POST / HTTP/1.1\r\nContent-Length: 9999999999999999999\r\n\r\n", &h),
                     CG_HEAD_BAD_LENGTH);
    ck_assert_int_eq(parse("GET / HTTP/1.1\nHost: x\r\n\r\n", &h), CG_HEAD_MALFORMED);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: x\n\r\n", &h), CG_HEAD_MALFORMED);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: x\r\r\n\r\n", &h), CG_HEAD_MALFORMED);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", &h), CG_HEAD_MALFORMED);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nHost : x\r\n\r\n", &h), CG_HEAD_MALFORMED);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nX: a\x01" "b\r\n\r\n", &h), CG_HEAD_MALFORMED);
    ck_assert_int_eq(parse("GET http://x/ HTTP/1.1\r\n\r\n", &h), CG_HEAD_MALFORMED);
    ck_assert_int_eq(parse("GET /a b HTTP/1.1\r\n\r\n", &h), CG_HEAD_MALFORMED);
    ck_assert_int_eq(parse("GET / HTTP/2.0\r\n\r\n", &h), CG_HEAD_VERSION);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nX-Citygrid-Gate: 1\r\n\r\n", &h),
                     CG_HEAD_RESERVED_FIELD);
    ck_assert_int_eq(parse("GET / HTTP/1.1\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n", &h),
                     CG_HEAD_MALFORMED);
    const char nul[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
    ck_assert_int_eq(cg_http_head_parse(nul, sizeof nul - 1, &h), CG_HEAD_MALFORMED);
    ck_assert_int_eq(cg_head_problem_status(CG_HEAD_CHUNKED), 411);
    ck_assert_int_eq(cg_head_problem_status(CG_HEAD_DUPLICATE_LENGTH), 400);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_head");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, good_heads);
    tcase_add_test(tc, refused_heads);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
