/*
 * login_throttle.h — how often POST /v1/sessions may fail before it is
 * refused with 429 and Retry-After, without running argon2id at all.
 *
 * Three counters, each a failure count with a growing delay (doubling from
 * 1 s) once its free attempts are used up; a success clears all three:
 *   - the address (5 free failures; delays up to 15 min): one client
 *     guessing many logins;
 *   - the login from that address (5 free; up to 15 min);
 *   - the login from anywhere (20 free; delays capped at 60 s): many
 *     addresses guessing one login. The cap is what keeps an attacker from
 *     turning the throttle into a lock-out: the real person waits at most a
 *     minute between attempts, and never while their own address and login
 *     pair is clean enough to log in.
 * Entries are forgotten 30 min after their last failure; the table is
 * bounded (entries are evicted oldest-first when it is full).
 *
 * argon2id runs on a worker pool, so several attempts can be under way at
 * once and a failure is only counted when its check ends. So that parallel
 * connections cannot buy extra guesses before the counters catch up, an
 * attempt also waits (1 s) while the same login from the same address has
 * one under way, or the address has MAX_INFLIGHT_ADDRESS (4) under way.
 *
 * Main (libevent) thread only. Times in milliseconds (monotonic).
 */
#ifndef CG_LOGIN_THROTTLE_H
#define CG_LOGIN_THROTTLE_H

#include <stdint.h>

/* 0 when an attempt may go ahead now, else the seconds to wait (>= 1). */
int cg_login_throttle_check(const char *login, const char *address, int64_t now_ms);
/* cg_login_throttle_check, and when the attempt may go ahead, count it as
 * under way until cg_login_throttle_failed, _succeeded or _abandoned. 0 go
 * ahead; else the seconds to wait (>= 1). */
int cg_login_throttle_begin(const char *login, const char *address, int64_t now_ms);
/* Record the outcome of an attempt that went ahead. */
void cg_login_throttle_failed(const char *login, const char *address, int64_t now_ms);
void cg_login_throttle_succeeded(const char *login, const char *address);
/* An attempt that began and was never checked (the pool was full, the
 * server stopped): no longer under way, and no failure. */
void cg_login_throttle_abandoned(const char *login, const char *address);
/* Forget everything (tests). */
void cg_login_throttle_reset(void);

#endif
