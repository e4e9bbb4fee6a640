/* log.c — see log.h. One snprintf into a line buffer, one write(2): lines
 * from plugin threads never interleave mid-line.
 *
 * Under systemd, stderr is a stream to journald and JOURNAL_STREAM holds its
 * "device:inode". Then each line starts with "<N>" (N the syslog level, as
 * sd-daemon.h's SD_ERR ...) so that journald files it at the right priority,
 * and carries no timestamp of its own (the journal stamps every line). The
 * check compares stderr's fstat with JOURNAL_STREAM, as systemd.exec(5)
 * advises: a child that inherited the variable but writes elsewhere keeps the
 * plain format. */
#include "lib/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile int current_level = CITYGRID_LOG_INFO;

static const char *const level_names[] = {
    [CITYGRID_LOG_ERROR] = "error", [CITYGRID_LOG_WARNING] = "warning",
    [CITYGRID_LOG_NOTICE] = "notice", [CITYGRID_LOG_INFO] = "info",
    [CITYGRID_LOG_DEBUG] = "debug",
};

static pthread_once_t journal_once = PTHREAD_ONCE_INIT;
static int journal_stream;

static void detect_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
        (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino)
        journal_stream = 1;
}

int cg_log_to_journal(void)
{
    pthread_once(&journal_once, detect_journal);
    return journal_stream;
}

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
    int n;
    if (cg_log_to_journal()) {
        n = snprintf(line, sizeof line, "<%d>[%s] %s: ", level, cg_log_level_name(level),
                     component ? component : "core");
    } else {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        localtime_r(&ts.tv_sec, &tm);
        n = (int)strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
        n += snprintf(line + n, sizeof line - (size_t)n, ".%03ld [%s] %s: ", ts.tv_nsec / 1000000L,
                      cg_log_level_name(level), component ? component : "core");
    }
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
