/*
 * test_protocol.c — CGBP/1 framing: round trips of every command over a real
 * inproc DEALER/ROUTER pair, every rejection of cg_msg_decode, and malformed
 * multi-frame messages that must be consumed whole so the next one reads clean.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "wire/protocol.h"
#include "support/run_suite.h"

static void *ctx, *router, *dealer;

static void setup(void)
{
    ctx = zmq_ctx_new();
    ck_assert_ptr_nonnull(ctx);
    router = zmq_socket(ctx, ZMQ_ROUTER);
    dealer = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, timeout = 2000;
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(router, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(dealer, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(dealer, ZMQ_ROUTING_ID, "peer-1", 6);
    ck_assert_int_eq(zmq_bind(router, "inproc://test-protocol"), 0);
    ck_assert_int_eq(zmq_connect(dealer, "inproc://test-protocol"), 0);
}

static void teardown(void)
{
    zmq_close(dealer);
    zmq_close(router);
    zmq_ctx_term(ctx);
}

/* Send raw frames (no identity) from the dealer. */
static void send_raw(void *sock, const char *const *frames, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_int_ge(zmq_send(sock, frames[i], strlen(frames[i]), i + 1 < n ? ZMQ_SNDMORE : 0),
                         0);
}

static const cg_msg_type all_types[] = {CG_MSG_READY, CG_MSG_DISPATCH, CG_MSG_RESULT,
                                        CG_MSG_ACK, CG_MSG_HEARTBEAT, CG_MSG_DISCONNECT};

START_TEST(type_names_round_trip)
{
    for (size_t i = 0; i < sizeof all_types / sizeof *all_types; i++) {
        const char *w = cg_msg_type_name(all_types[i]);
        ck_assert_int_eq(cg_msg_type_parse(w, strlen(w)), all_types[i]);
    }
    ck_assert_int_eq(cg_msg_type_parse("READYX", 6), CG_MSG_INVALID);
    ck_assert_int_eq(cg_msg_type_parse("READY", 4), CG_MSG_INVALID);
    ck_assert_int_eq(cg_msg_type_parse("ready", 5), CG_MSG_INVALID);
    ck_assert_int_eq(cg_msg_type_parse("INVALID", 7), CG_MSG_INVALID);
    ck_assert_int_eq(cg_msg_type_parse(NULL, 0), CG_MSG_INVALID);
}
END_TEST

START_TEST(round_trip_every_command_both_ways)
{
    for (size_t i = 0; i < sizeof all_types / sizeof *all_types; i++) {
        cg_msg_type t = all_types[i];
        const char *id = (t == CG_MSG_DISPATCH || t == CG_MSG_RESULT || t == CG_MSG_ACK)
                             ? "D00000042" : "";
        const char *body = t == CG_MSG_HEARTBEAT ? "" : "{\"k\":\"值\"}";

        /* dealer -> router: the router sees the identity */
        ck_assert_int_eq(cg_msg_send(dealer, NULL, 0, t, id, body, strlen(body), 0), 0);
        unsigned char ident[256];
        size_t ilen = 0;
        cg_msg m;
        const char *why = NULL;
        ck_assert_int_eq(cg_msg_recv(router, ident, &ilen, &m, 0, &why), 0);
        ck_assert_int_eq(m.type, t);
        ck_assert_str_eq(m.id, id);
        ck_assert_str_eq(m.body, body);
        ck_assert_uint_eq(m.body_len, strlen(body));
        ck_assert_uint_eq(ilen, 6);
        ck_assert(memcmp(ident, "peer-1", 6) == 0);
        cg_msg_clear(&m);
        ck_assert_ptr_null(m.body);

        /* router -> dealer, addressed by that identity */
        ck_assert_int_eq(cg_msg_send(router, ident, ilen, t, id, body, strlen(body), ZMQ_DONTWAIT),
                         0);
        ck_assert_int_eq(cg_msg_recv(dealer, NULL, NULL, &m, 0, &why), 0);
        ck_assert_int_eq(m.type, t);
        ck_assert_str_eq(m.id, id);
        ck_assert_str_eq(m.body, body);
        cg_msg_clear(&m);
    }
}
END_TEST

START_TEST(null_body_and_id_are_empty)
{
    ck_assert_int_eq(cg_msg_send(dealer, NULL, 0, CG_MSG_HEARTBEAT, NULL, NULL, 99, 0), 0);
    cg_msg m;
    unsigned char ident[256];
    size_t ilen;
    ck_assert_int_eq(cg_msg_recv(router, ident, &ilen, &m, 0, NULL), 0);
    ck_assert_int_eq(m.type, CG_MSG_HEARTBEAT);
    ck_assert_str_eq(m.id, "");
    ck_assert_str_eq(m.body, "");
    ck_assert_uint_eq(m.body_len, 0);
    cg_msg_clear(&m);
}
END_TEST

START_TEST(send_refuses_invalid_type)
{
    errno = 0;
    ck_assert_int_eq(cg_msg_send(dealer, NULL, 0, CG_MSG_INVALID, "", "", 0, 0), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(router_mandatory_unknown_peer_is_ehostunreach)
{
    int one = 1;
    zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    errno = 0;
    ck_assert_int_eq(cg_msg_send(router, "nobody", 6, CG_MSG_HEARTBEAT, "", "", 0, ZMQ_DONTWAIT),
                     -1);
    ck_assert_int_eq(errno, EHOSTUNREACH);
}
END_TEST

START_TEST(recv_nothing_waiting_is_eagain)
{
    cg_msg m;
    errno = 0;
    ck_assert_int_eq(cg_msg_recv(dealer, NULL, NULL, &m, ZMQ_DONTWAIT, NULL), -1);
    ck_assert_int_eq(errno, EAGAIN);
}
END_TEST

/* ---- decode rejections ---- */

static int decode4(const char *h, const char *c, const void *id, size_t idlen, const char *b,
                   cg_msg *m, const char **why)
{
    const void *frames[4] = {h, c, id, b};
    size_t lens[4] = {strlen(h), strlen(c), idlen, strlen(b)};
    return cg_msg_decode(frames, lens, 4, m, why);
}

START_TEST(decode_accepts_good)
{
    cg_msg m;
    const char *why = NULL;
    ck_assert_int_eq(decode4("CGBP/1", "RESULT", "D1", 2, "{}", &m, &why), 0);
    ck_assert_int_eq(m.type, CG_MSG_RESULT);
    ck_assert_str_eq(m.id, "D1");
    ck_assert_str_eq(m.body, "{}");
    cg_msg_clear(&m);
    /* 63 bytes is the longest id */
    char id63[64];
    memset(id63, 'x', 63);
    id63[63] = '\0';
    ck_assert_int_eq(decode4("CGBP/1", "ACK", id63, 63, "", &m, &why), 0);
    ck_assert_str_eq(m.id, id63);
    cg_msg_clear(&m);
}
END_TEST

START_TEST(decode_rejects_wrong_header)
{
    cg_msg m;
    const char *why = NULL;
    ck_assert_int_eq(decode4("CGBP/2", "READY", "", 0, "{}", &m, &why), -1);
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "header"));
    ck_assert_int_eq(m.type, CG_MSG_INVALID);
    ck_assert_ptr_null(m.body);
    ck_assert_int_eq(decode4("MDPW01", "READY", "", 0, "{}", &m, &why), -1);
    ck_assert_int_eq(decode4("CGBP/10", "READY", "", 0, "{}", &m, &why), -1);
    ck_assert_int_eq(decode4("CGBP/", "READY", "", 0, "{}", &m, &why), -1);
    ck_assert_int_eq(decode4("", "READY", "", 0, "{}", &m, &why), -1);
}
END_TEST

START_TEST(decode_rejects_unknown_command)
{
    cg_msg m;
    const char *why = NULL;
    ck_assert_int_eq(decode4("CGBP/1", "HELLO", "", 0, "", &m, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "command"));
    ck_assert_int_eq(decode4("CGBP/1", "", "", 0, "", &m, &why), -1);
    ck_assert_int_eq(decode4("CGBP/1", "ready", "", 0, "", &m, &why), -1);
}
END_TEST

START_TEST(decode_rejects_wrong_frame_count)
{
    cg_msg m;
    const char *why = NULL;
    const void *frames[5] = {"CGBP/1", "READY", "", "{}", "extra"};
    size_t lens[5] = {6, 5, 0, 2, 5};
    ck_assert_int_eq(cg_msg_decode(frames, lens, 3, &m, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "frame count"));
    ck_assert_int_eq(cg_msg_decode(frames, lens, 5, &m, &why), -1);
    ck_assert_int_eq(cg_msg_decode(frames, lens, 0, &m, &why), -1);
}
END_TEST

START_TEST(decode_rejects_long_id)
{
    cg_msg m;
    const char *why = NULL;
    char id[65];
    memset(id, 'D', 64);
    id[64] = '\0';
    ck_assert_int_eq(decode4("CGBP/1", "DISPATCH", id, 64, "{}", &m, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "63"));
    ck_assert_int_eq(decode4("CGBP/1", "ACK", "D\0x", 3, "", &m, &why), -1);
}
END_TEST

START_TEST(decode_rejects_missing_id)
{
    cg_msg m;
    const char *why = NULL;
    ck_assert_int_eq(decode4("CGBP/1", "DISPATCH", "", 0, "{}", &m, &why), -1);
    ck_assert_ptr_nonnull(strstr(why, "id"));
    ck_assert_int_eq(decode4("CGBP/1", "RESULT", "", 0, "{}", &m, &why), -1);
    ck_assert_int_eq(decode4("CGBP/1", "ACK", "", 0, "", &m, &why), -1);
    /* the others need none */
    ck_assert_int_eq(decode4("CGBP/1", "HEARTBEAT", "", 0, "", &m, &why), 0);
    cg_msg_clear(&m);
    ck_assert_int_eq(decode4("CGBP/1", "DISCONNECT", "", 0, "", &m, &why), 0);
    cg_msg_clear(&m);
}
END_TEST

/* ---- malformed messages on a real socket ---- */

static void expect_malformed_then_clean(void *rx, int with_identity, const char *needle)
{
    unsigned char ident[256];
    size_t ilen = 0;
    cg_msg m;
    const char *why = NULL;
    ck_assert_int_eq(cg_msg_recv(rx, with_identity ? ident : NULL, &ilen, &m, 0, &why), -2);
    ck_assert_ptr_nonnull(why);
    ck_assert_msg(strstr(why, needle), "why = %s", why);
    ck_assert_ptr_null(m.body);
    if (with_identity) {
        ck_assert_uint_eq(ilen, 6); /* the identity is kept for the DISCONNECT answer */
        ck_assert(memcmp(ident, "peer-1", 6) == 0);
    }
    /* the next message starts clean */
    ck_assert_int_eq(cg_msg_recv(rx, with_identity ? ident : NULL, &ilen, &m, 0, &why), 0);
    ck_assert_int_eq(m.type, CG_MSG_ACK);
    ck_assert_str_eq(m.id, "D2");
    cg_msg_clear(&m);
}

START_TEST(recv_consumes_all_frames_of_too_long_message)
{
    const char *frames[] = {"CGBP/1", "READY", "", "{}", "x", "y", "z", "w"};
    send_raw(dealer, frames, 8);
    ck_assert_int_eq(cg_msg_send(dealer, NULL, 0, CG_MSG_ACK, "D2", "", 0, 0), 0);
    expect_malformed_then_clean(router, 1, "frame count");
}
END_TEST

START_TEST(recv_consumes_bad_header_message)
{
    const char *frames[] = {"HTTP/1.1", "READY", "", "{}"};
    send_raw(dealer, frames, 4);
    ck_assert_int_eq(cg_msg_send(dealer, NULL, 0, CG_MSG_ACK, "D2", "", 0, 0), 0);
    expect_malformed_then_clean(router, 1, "header");
}
END_TEST

START_TEST(recv_consumes_short_message)
{
    const char *frames[] = {"CGBP/1", "READY"};
    send_raw(dealer, frames, 2);
    ck_assert_int_eq(cg_msg_send(dealer, NULL, 0, CG_MSG_ACK, "D2", "", 0, 0), 0);
    expect_malformed_then_clean(router, 1, "frame count");
}
END_TEST

START_TEST(recv_dealer_side_rejects_and_continues)
{
    /* router -> dealer: identity + 6 frames with an unknown command */
    zmq_send(router, "peer-1", 6, ZMQ_SNDMORE);
    const char *frames[] = {"CGBP/1", "NOPE", "", "", "a", "b"};
    send_raw(router, frames, 6);
    ck_assert_int_eq(cg_msg_send(router, "peer-1", 6, CG_MSG_ACK, "D2", "", 0, 0), 0);
    expect_malformed_then_clean(dealer, 0, "frame count");
    /* unknown command, right frame count */
    zmq_send(router, "peer-1", 6, ZMQ_SNDMORE);
    const char *frames2[] = {"CGBP/1", "NOPE", "", ""};
    send_raw(router, frames2, 4);
    ck_assert_int_eq(cg_msg_send(router, "peer-1", 6, CG_MSG_ACK, "D2", "", 0, 0), 0);
    expect_malformed_then_clean(dealer, 0, "command");
}
END_TEST

static Suite *protocol_suite(void)
{
    Suite *s = suite_create("protocol");
    TCase *tc = tcase_create("framing");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, type_names_round_trip);
    tcase_add_test(tc, round_trip_every_command_both_ways);
    tcase_add_test(tc, null_body_and_id_are_empty);
    tcase_add_test(tc, send_refuses_invalid_type);
    tcase_add_test(tc, router_mandatory_unknown_peer_is_ehostunreach);
    tcase_add_test(tc, recv_nothing_waiting_is_eagain);
    tcase_add_test(tc, decode_accepts_good);
    tcase_add_test(tc, decode_rejects_wrong_header);
    tcase_add_test(tc, decode_rejects_unknown_command);
    tcase_add_test(tc, decode_rejects_wrong_frame_count);
    tcase_add_test(tc, decode_rejects_long_id);
    tcase_add_test(tc, decode_rejects_missing_id);
    tcase_add_test(tc, recv_consumes_all_frames_of_too_long_message);
    tcase_add_test(tc, recv_consumes_bad_header_message);
    tcase_add_test(tc, recv_consumes_short_message);
    tcase_add_test(tc, recv_dealer_side_rejects_and_continues);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(protocol_suite());
}
