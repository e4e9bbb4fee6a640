/* timeutil.c — see timeutil.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "lib/timeutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t cg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cg_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cg_time_iso(int64_t unix_ms, char *buf, size_t len)
{
    int64_t ms = unix_ms % 1000;
    if (ms < 0)
        ms += 1000;
    time_t local = (time_t)((unix_ms - ms) / 1000) + CG_CITY_UTC_OFFSET_SECONDS;
    struct tm tm;
    gmtime_r(&local, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+08:00", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
}

int cg_time_parse_iso(const char *text, int64_t *unix_ms)
{
    int y, mo, d, h, mi, s, consumed = 0;
    if (!text || sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &consumed) != 6 ||
        consumed != 19)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        return -1;
    const char *p = text + consumed;
    int frac_ms = 0;
    if (*p == '.') {
        int digits = 0, scale = 100;
        for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
            frac_ms += (*p - '0') * scale;
            scale /= 10;
        }
        if (digits == 0)
            return -1;
    }
    int offset = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om, n = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || n != 5 || oh > 23 || om > 59)
            return -1;
        offset = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
                    .tm_hour = h, .tm_min = mi, .tm_sec = s};
    time_t t = timegm(&tm);
    *unix_ms = ((int64_t)t - offset) * 1000 + frac_ms;
    return 0;
}
