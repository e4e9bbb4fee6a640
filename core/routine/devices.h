/*
 * devices.h — the registry of members' devices: each member's
 * data-collection terminal, and body cameras, which only enforcement
 * assistants and police auxiliaries (members of the enforcement and police
 * departments) may hold. A device has at most one holder at a time, with
 * issued_at; a return sets returned_at (the last holder stays on record).
 *
 * Issuing a terminal also registers it as the holder's terminal
 * (members.terminal_id, which check-ins require: attendance.h), taking it
 * from whoever had it; returning it unregisters it.
 *
 * Threading: cg_device_store / cg_device_update write with cg_store_stmt in
 * a cg_batch apply; the reads use cg_store_read_stmt (main thread).
 */
#ifndef CG_DEVICES_H
#define CG_DEVICES_H

#include <stdint.h>
#include <jansson.h>

#include "routine/attendance.h"
#include "lib/result.h"
#include "store/store.h"

#define CG_SERIAL_MAX 64

/* Is this department allowed a body camera? */
int cg_device_camera_allowed(const char *department);

typedef struct cg_device_change {
    long long id;                  /* update: the device */
    char type[16];                 /* create: "terminal" | "body_camera" */
    char serial[CG_SERIAL_MAX + 1];/* create */
    int has_holder;                /* create/update: set holder ("" = none) */
    char holder[CG_MEMBER_ID_SIZE];
    int returned;                  /* update: the holder gives it back */
    int64_t now_ms;
} cg_device_change;

/* New device, inside a cg_batch apply: CG_OK and *id its row, or the
 * refusal in why (CG_E_CONFLICT conflict for a serial in use;
 * CG_E_UNPROCESSABLE unknown_member, body_camera_not_allowed). */
cg_status cg_device_store(cg_store *st, cg_device_change *c, long long *id, cg_result *why);
/* Hand over (has_holder) or return (returned): CG_E_NOT_FOUND, the
 * refusals above, CG_E_CONFLICT not_held when returning a device nobody
 * holds. */
cg_status cg_device_update(cg_store *st, const cg_device_change *c, cg_result *why);

json_t *cg_device_get(cg_store *st, long long id);
/* {"items","next"} by id; holder/type NULL: any; viewer non-NULL: devices
 * held by them or by members of the grids they serve. */
json_t *cg_devices_list(cg_store *st, const char *holder, const char *type, const char *viewer,
                        long long after, int limit);

#endif
