/*
 * dispatch.h — one delivery as the bus carries it: the outbox row that the
 * case layer writes and the bus sends. Plain data; whoever holds it owns it.
 */
#ifndef CG_DISPATCH_H
#define CG_DISPATCH_H

#include <stdint.h>

/* One delivery in the outbox. `payload` is the JSON the plugin receives. */
typedef struct cg_dispatch {
    int64_t seq;              /* outbox row id */
    char id[32];              /* "D00000042": the idempotency key */
    char case_id[32];
    char department[32];
    char *payload;            /* malloc'd, owned by whoever holds the struct */
    unsigned attempts;
} cg_dispatch;
void cg_dispatch_clear(cg_dispatch *d); /* frees payload */

#endif
