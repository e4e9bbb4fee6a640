/*
 * service.h — telling the service manager how citygridd is doing: systemd's
 * sd_notify protocol (READY=1, STATUS=..., STOPPING=1, WATCHDOG=1) when
 * built with libsystemd (configure: HAVE_LIBSYSTEMD) and started by systemd
 * with Type=notify; without either, every call here does nothing.
 *
 * Main (libevent) thread only. The watchdog is a timer on the daemon's own
 * event loop, so a loop that hangs stops the pings and systemd restarts the
 * service (WatchdogSec= in contrib/systemd/citygridd.service).
 */
#ifndef CG_SERVICE_H
#define CG_SERVICE_H

struct event_base;

typedef struct cg_service cg_service;

/* Serving: READY=1 with a STATUS line, and the watchdog timer when systemd
 * asked for one (WATCHDOG_USEC). Returns a handle for the calls below (NULL
 * only when out of memory; the calls accept NULL). */
cg_service *cg_service_ready(struct event_base *base, const char *status);
/* A STATUS=... line that `systemctl status` shows. */
void cg_service_status(cg_service *svc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Shutting down: STOPPING=1 (systemd then waits for the exit, TimeoutStopSec). */
void cg_service_stopping(cg_service *svc);
/* Stops the watchdog timer and frees the handle. */
void cg_service_free(cg_service *svc);

/* 1 when this build talks to systemd (libsystemd found at configure time). */
int cg_service_has_systemd(void);

#endif
