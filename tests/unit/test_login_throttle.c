/* test_login_throttle.c — the login throttle (core/http/login_throttle.h):
 * delays grow per address and per login, a success clears them, and an
 * attacker spread over many addresses cannot hold one login off for more
 * than a minute at a time. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "http/login_throttle.h"
#include "support/run_suite.h"

START_TEST(one_address_slowed_down)
{
    cg_login_throttle_reset();
    int64_t t = 1000000;
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(cg_login_throttle_check("admin", "10.0.0.1", t), 0);
        cg_login_throttle_failed("admin", "10.0.0.1", t);
    }
    ck_assert_int_eq(cg_login_throttle_check("admin", "10.0.0.1", t), 0);
    cg_login_throttle_failed("admin", "10.0.0.1", t);
    ck_assert_int_eq(cg_login_throttle_check("admin", "10.0.0.1", t), 1);
    /* Growing: the 8th failure waits 4 s. */
    t += 1000;
    cg_login_throttle_failed("admin", "10.0.0.1", t);
    t += 2000;
    cg_login_throttle_failed("admin", "10.0.0.1", t);
    ck_assert_int_eq(cg_login_throttle_check("admin", "10.0.0.1", t), 4);
    /* The same address guessing other logins is held too. */
    ck_assert_int_gt(cg_login_throttle_check("someone", "10.0.0.1", t), 0);
    /* Another address, same login: not held (the login's own rule allows 20). */
    ck_assert_int_eq(cg_login_throttle_check("admin", "10.0.0.2", t), 0);
    /* Delays stop growing at 15 minutes. */
    for (int i = 0; i < 40; i++)
        cg_login_throttle_failed("admin", "10.0.0.1", t);
    ck_assert_int_eq(cg_login_throttle_check("admin", "10.0.0.1", t), 900);
    /* A success clears them. */
    cg_login_throttle_succeeded("admin", "10.0.0.1");
    ck_assert_int_eq(cg_login_throttle_check("admin", "10.0.0.1", t), 0);
}
END_TEST

START_TEST(many_addresses_cannot_lock_out)
{
    cg_login_throttle_reset();
    int64_t t = 5000000;
    char addr[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(addr, sizeof addr, "192.0.2.%d", i % 250);
        cg_login_throttle_failed("leader1", addr, t);
    }
    /* The real person, from a clean address: at most a minute's wait. */
    int wait = cg_login_throttle_check("leader1", "198.51.100.7", t);
    ck_assert_int_gt(wait, 0);
    ck_assert_int_le(wait, 60);
    ck_assert_int_eq(cg_login_throttle_check("leader1", "198.51.100.7", t + 60000), 0);
    /* Other logins are untouched from a clean address. */
    ck_assert_int_eq(cg_login_throttle_check("leader2", "198.51.100.7", t), 0);
}
END_TEST

/* Attempts under way (argon2 on the worker pool) count: one at a time for
 * a login from an address, four at a time for an address; each ends with
 * its outcome, or abandoned (no failure counted). */
START_TEST(attempts_under_way_limited)
{
    cg_login_throttle_reset();
    int64_t t = 5000000;
    ck_assert_int_eq(cg_login_throttle_begin("admin", "10.0.0.1", t), 0);
    ck_assert_int_eq(cg_login_throttle_begin("admin", "10.0.0.1", t), 1);
    ck_assert_int_eq(cg_login_throttle_begin("admin", "10.0.0.2", t), 0);
    ck_assert_int_eq(cg_login_throttle_begin("b", "10.0.0.1", t), 0);
    ck_assert_int_eq(cg_login_throttle_begin("c", "10.0.0.1", t), 0);
    ck_assert_int_eq(cg_login_throttle_begin("d", "10.0.0.1", t), 0);
    ck_assert_int_eq(cg_login_throttle_begin("e", "10.0.0.1", t), 1); /* 4 under way */
    cg_login_throttle_failed("admin", "10.0.0.1", t);
    cg_login_throttle_abandoned("b", "10.0.0.1");
    ck_assert_int_eq(cg_login_throttle_begin("admin", "10.0.0.1", t), 0);
    ck_assert_int_eq(cg_login_throttle_begin("e", "10.0.0.1", t), 0);
    /* A success while others are under way keeps counting them. */
    cg_login_throttle_succeeded("c", "10.0.0.1");
    ck_assert_int_eq(cg_login_throttle_begin("f", "10.0.0.1", t), 0);
    ck_assert_int_eq(cg_login_throttle_begin("g", "10.0.0.1", t), 1);
    /* Abandoned attempts are no failures: five of them, and still free. */
    cg_login_throttle_reset();
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq(cg_login_throttle_begin("admin", "10.0.0.3", t), 0);
        cg_login_throttle_abandoned("admin", "10.0.0.3");
    }
    ck_assert_int_eq(cg_login_throttle_check("admin", "10.0.0.3", t), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("login_throttle");
    TCase *tc = tcase_create("throttle");
    tcase_add_test(tc, one_address_slowed_down);
    tcase_add_test(tc, many_addresses_cannot_lock_out);
    tcase_add_test(tc, attempts_under_way_limited);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
