/* service.c — see service.h. sd_notify() returns 0 and does nothing when
 * NOTIFY_SOCKET is unset (not under systemd), so the calls need no guard of
 * their own; sd_watchdog_enabled() reads WATCHDOG_USEC/WATCHDOG_PID the same
 * way. We ping at half the interval, as sd_watchdog_enabled(3) recommends. */
#include "daemon/service.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/log.h"

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

struct cg_service {
    struct event *watchdog;
};

int cg_service_has_systemd(void)
{
#ifdef HAVE_LIBSYSTEMD
    return 1;
#else
    return 0;
#endif
}

#ifdef HAVE_LIBSYSTEMD
static void watchdog_ping(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    sd_notify(0, "WATCHDOG=1");
}
#endif

cg_service *cg_service_ready(struct event_base *base, const char *status)
{
    cg_service *svc = calloc(1, sizeof *svc);
    if (!svc)
        return NULL;
#ifdef HAVE_LIBSYSTEMD
    char msg[512];
    snprintf(msg, sizeof msg, "READY=1\nSTATUS=%s", status ? status : "serving");
    int told = sd_notify(0, msg);
    if (told < 0)
        CG_WARN("core", "cannot tell systemd we are ready (sd_notify: %d)", told);
    uint64_t usec = 0;
    if (told > 0 && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        svc->watchdog = event_new(base, -1, EV_PERSIST, watchdog_ping, svc);
        uint64_t half = usec / 2;
        struct timeval tv = {(time_t)(half / 1000000u), (suseconds_t)(half % 1000000u)};
        if (svc->watchdog && event_add(svc->watchdog, &tv) == 0)
            CG_INFO("core", "systemd watchdog: pinging every %llu ms",
                    (unsigned long long)(half / 1000u));
        sd_notify(0, "WATCHDOG=1");
    }
#else
    (void)base;
    (void)status;
#endif
    return svc;
}

void cg_service_status(cg_service *svc, const char *fmt, ...)
{
#ifdef HAVE_LIBSYSTEMD
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(line, sizeof line, "STATUS=");
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    sd_notify(0, line);
#else
    (void)fmt;
#endif
    (void)svc;
}

void cg_service_stopping(cg_service *svc)
{
#ifdef HAVE_LIBSYSTEMD
    sd_notify(0, "STOPPING=1\nSTATUS=shutting down: draining answers and the bus");
#endif
    (void)svc;
}

void cg_service_free(cg_service *svc)
{
    if (!svc)
        return;
    if (svc->watchdog)
        event_free(svc->watchdog);
    free(svc);
}
