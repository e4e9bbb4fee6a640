/*
 * citydate.h — calendar days in the city's time zone (Asia/Shanghai, a fixed
 * UTC+08:00 with no daylight saving: timeutil.h). Attendance counts days
 * ("a patrol day", "a duty day"), months (the rota) and ISO weeks (the
 * patrol rule), always by the city's wall clock, never the server's.
 *
 * A day is an integer: days since 1970-01-01 in city time (so day + 1 is the
 * next date, and day % 2 alternates across month ends). Pure functions,
 * reentrant, no allocation.
 */
#ifndef CG_CITYDATE_H
#define CG_CITYDATE_H

#include <stddef.h>
#include <stdint.h>

#define CG_DATE_SIZE 11 /* "YYYY-MM-DD" + NUL */
#define CG_DAY_MS (86400LL * 1000)

/* The city day of a unix time in milliseconds (floor, also before 1970). */
int32_t cg_city_day(int64_t unix_ms);
/* Unix ms of the day's 00:00 city time. */
int64_t cg_city_day_start_ms(int32_t day);

/* Day <-> proleptic Gregorian date. */
int32_t cg_day_from_civil(int year, int month, int mday);
void cg_day_to_civil(int32_t day, int *year, int *month, int *mday);
/* ISO weekday: 1 Monday .. 7 Sunday. */
int cg_day_weekday(int32_t day);

/* "YYYY-MM-DD" (buf >= CG_DATE_SIZE). */
void cg_day_format(int32_t day, char *buf, size_t len);
/* "YYYY-MM-DD", a real date (years 1970..9999). 0 ok, -1 malformed. */
int cg_day_parse(const char *text, int32_t *day);
/* "YYYY-MM": its first day and number of days. 0 ok, -1 malformed. */
int cg_month_parse(const char *text, int32_t *first_day, int *n_days);
/* "YYYY-Www" (ISO 8601 week, W01..W52/W53 as the year has): its Monday.
 * 0 ok, -1 malformed or no such week. */
int cg_iso_week_parse(const char *text, int32_t *monday);
/* The ISO week of a day: *iso_year (may differ from the calendar year at
 * the turn of the year) and *week 1..53. */
void cg_iso_week_of(int32_t day, int *iso_year, int *week);

#endif
