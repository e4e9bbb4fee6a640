/*
 * protocol.h — CGBP/1, the framed protocol between the core's ROUTER and a
 * plugin host's DEALER. The same frames in thread (inproc), process (ipc)
 * and remote (tcp+CURVE) mode. Full description: core/wire/PROTOCOL.md.
 *
 * A message is 4 frames (after the ROUTER's identity frame, on the core side):
 *   [ "CGBP/1" ] [ command ] [ id ] [ body ]
 * command: READY, DISPATCH, RESULT, ACK, HEARTBEAT, DISCONNECT, QUERY, ANSWER
 * id: the dispatch id for DISPATCH/RESULT/ACK, the query id for QUERY/ANSWER,
 * else empty
 * body: JSON text (may be empty)
 * A message whose first frame is not "CGBP/1" (other protocol or version) is
 * answered with DISCONNECT and a reason, and otherwise ignored.
 *
 * Pure encoding helpers; each socket is used only by the thread that owns it.
 */
#ifndef CG_PROTOCOL_H
#define CG_PROTOCOL_H

#include <stddef.h>

#define CG_PROTOCOL_HEADER "CGBP/1"

typedef enum cg_msg_type {
    CG_MSG_INVALID = 0,
    CG_MSG_READY,
    CG_MSG_DISPATCH,
    CG_MSG_RESULT,
    CG_MSG_ACK,
    CG_MSG_HEARTBEAT,
    CG_MSG_DISCONNECT,
    /* Data sources (ABI 1.4): a question and its answer, matched by the
     * query id; never stored, never re-sent (the asker has a deadline). */
    CG_MSG_QUERY,
    CG_MSG_ANSWER,
    CG_MSG_LAST = CG_MSG_ANSWER
} cg_msg_type;

const char *cg_msg_type_name(cg_msg_type t);
cg_msg_type cg_msg_type_parse(const char *word, size_t len);

typedef struct cg_msg {
    cg_msg_type type;
    char id[64];
    char *body;        /* malloc'd, NUL-terminated (may be ""); free with cg_msg_clear */
    size_t body_len;
    /* Set by cg_msg_recv: the "User-Id" the ZAP handler gave the sending
     * connection (remote plugins: their key's department); "" if none. */
    char user_id[64];
} cg_msg;

void cg_msg_clear(cg_msg *m);

/* Send [identity?] + the 4 frames. identity may be NULL (DEALER side).
 * flags: ZMQ_DONTWAIT or 0. Returns 0, or -1 with errno from zmq_send
 * (EAGAIN / EHOSTUNREACH mean "not delivered, try later"). */
int cg_msg_send(void *socket, const void *identity, size_t identity_len, cg_msg_type type,
                const char *id, const char *body, size_t body_len, int flags);

/* Receive one whole message (all frames). On the ROUTER side pass an
 * identity buffer (>= 256 bytes) and get its length; on the DEALER side pass
 * NULL. Returns 0 ok; -1 with errno EAGAIN when nothing is waiting; -2 when a
 * message arrived but is malformed (all its frames are consumed; *why says
 * what was wrong, a static string). */
int cg_msg_recv(void *socket, void *identity, size_t *identity_len, cg_msg *out, int flags,
                const char **why);

/* Decode from already-received frames (used by cg_msg_recv and the tests).
 * frames/lens: the 4 protocol frames. 0 ok, -1 with *why. */
int cg_msg_decode(const void *const frames[], const size_t lens[], size_t n_frames,
                  cg_msg *out, const char **why);

#endif
