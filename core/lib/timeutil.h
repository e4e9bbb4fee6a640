/*
 * timeutil.h — clocks and ISO 8601 text. The city runs on Asia/Shanghai
 * (UTC+08:00, no daylight saving), so times are shown with a fixed +08:00.
 */
#ifndef CG_TIMEUTIL_H
#define CG_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

#define CG_CITY_UTC_OFFSET_SECONDS (8 * 3600)

int64_t cg_now_ms(void);       /* wall clock, unix milliseconds */
int64_t cg_monotonic_ms(void); /* for timeouts and leases       */

/* "2026-11-26T21:56:37.123+08:00"; buf of at least 32 bytes. */
void cg_time_iso(int64_t unix_ms, char *buf, size_t len);
/* Parses "YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm|-hh:mm)"; 0 ok, -1 malformed. */
int cg_time_parse_iso(const char *text, int64_t *unix_ms);

#endif
