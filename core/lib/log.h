/*
 * log.h — one logging family for the core and the plugins' hosts.
 * Thread-safe: each line is written whole with one locked write to stderr.
 * Levels are syslog's (citygrid_log_level in citygrid/plugin.h).
 */
#ifndef CG_LOG_H
#define CG_LOG_H

#include <stdarg.h>
#include <citygrid/plugin.h>

void cg_log_set_level(int level);
int cg_log_level(void);
/* "error", "warning", "notice", "info", "debug" -> level, or -1. */
int cg_log_level_parse(const char *name);
const char *cg_log_level_name(int level);
/* 1 when stderr is journald's stream (JOURNAL_STREAM matches it): lines then
 * start with "<N>" and carry no timestamp. Decided once per process. */
int cg_log_to_journal(void);

/* `component` names who speaks: "core", "http", "bus", or a plugin's name. */
void cg_log(int level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cg_vlog(int level, const char *component, const char *fmt, va_list ap);

#define CG_ERROR(comp, ...) cg_log(CITYGRID_LOG_ERROR, (comp), __VA_ARGS__)
#define CG_WARN(comp, ...) cg_log(CITYGRID_LOG_WARNING, (comp), __VA_ARGS__)
#define CG_NOTICE(comp, ...) cg_log(CITYGRID_LOG_NOTICE, (comp), __VA_ARGS__)
#define CG_INFO(comp, ...) cg_log(CITYGRID_LOG_INFO, (comp), __VA_ARGS__)
#define CG_DEBUG(comp, ...) cg_log(CITYGRID_LOG_DEBUG, (comp), __VA_ARGS__)

#endif
