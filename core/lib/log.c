/* log.c — see log.h. One snprintf into a line buffer, one write(2): lines
 * from plugin threads never interleave mid-line. */
#include "lib/log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static volatile int current_level = CITYGRID_LOG_INFO;

static const char *const level_names[] = {
    [CITYGRID_LOG_ERROR] = "error", [CITYGRID_LOG_WARNING] = "warning",
    [CITYGRID_LOG_NOTICE] = "notice", [CITYGRID_LOG_INFO] = "info",
    [CITYGRID_LOG_DEBUG] = "debug",
};

void cg_log_set_level(int level) { current_level = level; }
int cg_log_level(void) { return current_level; }

int cg_log_level_parse(const char *name)
{
    for (int l = CITYGRID_LOG_ERROR; l <= CITYGRID_LOG_DEBUG; l++)
        if (name && strcasecmp(name, level_names[l]) == 0)
            return l;
    return -1;
}

const char *cg_log_level_name(int level)
{
    if (level < CITYGRID_LOG_ERROR || level > CITYGRID_LOG_DEBUG)
        return "?";
    return level_names[level];
}

void cg_vlog(int level, const char *component, const char *fmt, va_list ap)
{
    if (level > current_level)
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    int n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n += snprintf(line + n, sizeof line - (size_t)n, ".%03ld [%s] %s: ", ts.tv_nsec / 1000000L,
                  cg_log_level_name(level), component ? component : "core");
    if (n < (int)sizeof line - 1) {
        int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
        n = m < 0 ? n : (n + m >= (int)sizeof line - 1 ? (int)sizeof line - 2 : n + m);
    }
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

void cg_log(int level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cg_vlog(level, component, fmt, ap);
    va_end(ap);
}
