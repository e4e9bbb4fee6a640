/*
 * citydate.c — see citydate.h. The civil-date conversion is the well-known
 * era-based algorithm (400-year cycles of 146097 days), exact for every
 * proleptic Gregorian date.
 */
#include "lib/citydate.h"

#include <stdio.h>
#include <string.h>

#include "lib/timeutil.h"

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int32_t cg_city_day(int64_t unix_ms)
{
    return (int32_t)floor_div(unix_ms + (int64_t)CG_CITY_UTC_OFFSET_SECONDS * 1000, CG_DAY_MS);
}

int64_t cg_city_day_start_ms(int32_t day)
{
    return (int64_t)day * CG_DAY_MS - (int64_t)CG_CITY_UTC_OFFSET_SECONDS * 1000;
}

int32_t cg_day_from_civil(int year, int month, int mday)
{
    int64_t y = year - (month <= 2);
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t mp = (month + 9) % 12; /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + mday - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

void cg_day_to_civil(int32_t day, int *year, int *month, int *mday)
{
    int64_t z = (int64_t)day + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = (int)(yoe + era * 400 + (m <= 2));
    *month = m;
    *mday = d;
}

int cg_day_weekday(int32_t day)
{
    /* 1970-01-01 was a Thursday (4). */
    int64_t r = ((int64_t)day + 3) % 7;
    return (int)(r < 0 ? r + 7 : r) + 1;
}

void cg_day_format(int32_t day, char *buf, size_t len)
{
    int y, m, d;
    cg_day_to_civil(day, &y, &m, &d);
    snprintf(buf, len, "%04d-%02d-%02d", y, m, d);
}

static int days_in_month(int y, int m)
{
    static const int n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : n[m - 1];
}

/* Exactly `n` decimal digits at s; the value, or -1. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int cg_day_parse(const char *text, int32_t *day)
{
    if (!text || strlen(text) != 10 || text[4] != '-' || text[7] != '-')
        return -1;
    int y = digits(text, 4), m = digits(text + 5, 2), d = digits(text + 8, 2);
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return -1;
    *day = cg_day_from_civil(y, m, d);
    return 0;
}

int cg_month_parse(const char *text, int32_t *first_day, int *n_days)
{
    if (!text || strlen(text) != 7 || text[4] != '-')
        return -1;
    int y = digits(text, 4), m = digits(text + 5, 2);
    if (y < 1970 || m < 1 || m > 12)
        return -1;
    *first_day = cg_day_from_civil(y, m, 1);
    *n_days = days_in_month(y, m);
    return 0;
}

/* Monday of ISO week 1: the week holding 4 January. */
static int32_t week1_monday(int iso_year)
{
    int32_t jan4 = cg_day_from_civil(iso_year, 1, 4);
    return jan4 - (cg_day_weekday(jan4) - 1);
}

void cg_iso_week_of(int32_t day, int *iso_year, int *week)
{
    int y, m, d;
    /* The Thursday of the day's week decides its ISO year. */
    int32_t thursday = day - (cg_day_weekday(day) - 1) + 3;
    cg_day_to_civil(thursday, &y, &m, &d);
    *iso_year = y;
    *week = (int)((thursday - week1_monday(y)) / 7) + 1;
}

int cg_iso_week_parse(const char *text, int32_t *monday)
{
    if (!text || strlen(text) != 8 || text[4] != '-' || text[5] != 'W')
        return -1;
    int y = digits(text, 4), w = digits(text + 6, 2);
    if (y < 1970 || w < 1)
        return -1;
    int last_year, last_week;
    cg_iso_week_of(cg_day_from_civil(y, 12, 28), &last_year, &last_week); /* always the last week */
    if (w > last_week)
        return -1;
    *monday = week1_monday(y) + 7 * (w - 1);
    return 0;
}
