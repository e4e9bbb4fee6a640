/*
 * protocol.c — CGBP/1 framing (see protocol.h and core/wire/PROTOCOL.md).
 *
 * Receiving always takes a whole message off the socket, even a malformed
 * one: ZeroMQ delivers multipart messages atomically, so once the first frame
 * is in, the rest is there too, and leaving any of it behind would make the
 * next read start in the middle of a message.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "wire/protocol.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define CG_PROTOCOL_FRAMES 4

static const char *const type_names[] = {
    [CG_MSG_INVALID] = "INVALID",   [CG_MSG_READY] = "READY",
    [CG_MSG_DISPATCH] = "DISPATCH", [CG_MSG_RESULT] = "RESULT",
    [CG_MSG_ACK] = "ACK",           [CG_MSG_HEARTBEAT] = "HEARTBEAT",
    [CG_MSG_DISCONNECT] = "DISCONNECT", [CG_MSG_QUERY] = "QUERY",
    [CG_MSG_ANSWER] = "ANSWER",
};

const char *cg_msg_type_name(cg_msg_type t)
{
    if ((int)t < 0 || t > CG_MSG_LAST)
        return "INVALID";
    return type_names[t];
}

cg_msg_type cg_msg_type_parse(const char *word, size_t len)
{
    if (!word)
        return CG_MSG_INVALID;
    for (int t = CG_MSG_READY; t <= CG_MSG_LAST; t++)
        if (strlen(type_names[t]) == len && memcmp(type_names[t], word, len) == 0)
            return (cg_msg_type)t;
    return CG_MSG_INVALID;
}

void cg_msg_clear(cg_msg *m)
{
    if (!m)
        return;
    free(m->body);
    memset(m, 0, sizeof *m);
}

static int send_frame(void *socket, const void *data, size_t len, int flags)
{
    return zmq_send(socket, data, len, flags) < 0 ? -1 : 0;
}

int cg_msg_send(void *socket, const void *identity, size_t identity_len, cg_msg_type type,
                const char *id, const char *body, size_t body_len, int flags)
{
    if (!socket || type <= CG_MSG_INVALID || type > CG_MSG_LAST) {
        errno = EINVAL;
        return -1;
    }
    if (!id)
        id = "";
    if (!body) {
        body = "";
        body_len = 0;
    }
    const char *word = type_names[type];
    int more = flags | ZMQ_SNDMORE;
    /* With ROUTER_MANDATORY the routing decision (and the HWM check) is made
     * on the first frame: if it fails nothing was queued. Later frames of an
     * accepted message are always accepted. */
    if (identity && send_frame(socket, identity, identity_len, more) < 0)
        return -1;
    if (send_frame(socket, CG_PROTOCOL_HEADER, strlen(CG_PROTOCOL_HEADER), more) < 0)
        return -1;
    if (send_frame(socket, word, strlen(word), more) < 0)
        return -1;
    if (send_frame(socket, id, strlen(id), more) < 0)
        return -1;
    return send_frame(socket, body, body_len, flags);
}

int cg_msg_decode(const void *const frames[], const size_t lens[], size_t n_frames, cg_msg *out,
                  const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    memset(out, 0, sizeof *out);
    if (n_frames != CG_PROTOCOL_FRAMES) {
        *why = "wrong frame count (CGBP/1 has 4 frames: header, command, id, body)";
        return -1;
    }
    size_t hlen = strlen(CG_PROTOCOL_HEADER);
    if (lens[0] != hlen || memcmp(frames[0], CG_PROTOCOL_HEADER, hlen) != 0) {
        *why = "wrong protocol header (expected CGBP/1)";
        return -1;
    }
    cg_msg_type type = cg_msg_type_parse(frames[1], lens[1]);
    if (type == CG_MSG_INVALID) {
        *why = "unknown command";
        return -1;
    }
    if (lens[2] >= sizeof out->id) {
        *why = "id longer than 63 bytes";
        return -1;
    }
    if (lens[2] && memchr(frames[2], '\0', lens[2])) {
        *why = "id contains a NUL byte";
        return -1;
    }
    if (lens[2] == 0 &&
        (type == CG_MSG_DISPATCH || type == CG_MSG_RESULT || type == CG_MSG_ACK ||
         type == CG_MSG_QUERY || type == CG_MSG_ANSWER)) {
        *why = "missing id (DISPATCH, RESULT and ACK carry the dispatch id, QUERY and ANSWER "
               "the query id)";
        return -1;
    }
    char *body = malloc(lens[3] + 1);
    if (!body) {
        *why = "out of memory";
        return -1;
    }
    if (lens[3])
        memcpy(body, frames[3], lens[3]);
    body[lens[3]] = '\0';
    out->type = type;
    if (lens[2])
        memcpy(out->id, frames[2], lens[2]);
    out->id[lens[2]] = '\0';
    out->body = body;
    out->body_len = lens[3];
    return 0;
}

int cg_msg_recv(void *socket, void *identity, size_t *identity_len, cg_msg *out, int flags,
                const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    memset(out, 0, sizeof *out);

    /* Keep at most identity + 4 frames; count (and drop) the rest. */
    enum { KEEP = CG_PROTOCOL_FRAMES + 1 };
    zmq_msg_t parts[KEEP];
    size_t kept = 0, total = 0;
    int more = 1;
    while (more) {
        zmq_msg_t scratch;
        zmq_msg_t *part = kept < KEEP ? &parts[kept] : &scratch;
        zmq_msg_init(part);
        /* Only the first frame may be "not there yet"; the others of an
         * arrived message are already queued, so a blocking read is safe. */
        int rc = zmq_msg_recv(part, socket, total == 0 ? flags : 0);
        if (rc < 0) {
            int e = errno;
            zmq_msg_close(part);
            for (size_t i = 0; i < kept; i++)
                zmq_msg_close(&parts[i]);
            if (total == 0) {
                errno = e;
                return -1;
            }
            /* Interrupted mid-message (context terminated): report malformed. */
            *why = "message truncated";
            return -2;
        }
        more = zmq_msg_more(part);
        total++;
        if (part == &scratch)
            zmq_msg_close(part);
        else
            kept++;
    }

    size_t first = 0;
    if (identity) {
        size_t ilen = zmq_msg_size(&parts[0]);
        if (ilen > 255)
            ilen = 255;
        memcpy(identity, zmq_msg_data(&parts[0]), ilen);
        if (identity_len)
            *identity_len = ilen;
        first = 1;
    }

    int rc;
    size_t n_frames = total - first;
    if (n_frames != CG_PROTOCOL_FRAMES) {
        *why = "wrong frame count (CGBP/1 has 4 frames: header, command, id, body)";
        rc = -2;
    } else {
        const void *frames[CG_PROTOCOL_FRAMES];
        size_t lens[CG_PROTOCOL_FRAMES];
        for (size_t i = 0; i < CG_PROTOCOL_FRAMES; i++) {
            frames[i] = zmq_msg_data(&parts[first + i]);
            lens[i] = zmq_msg_size(&parts[first + i]);
        }
        rc = cg_msg_decode(frames, lens, CG_PROTOCOL_FRAMES, out, why) == 0 ? 0 : -2;
        /* Metadata comes with the frames read from the connection. */
        const char *uid = rc == 0 ? zmq_msg_gets(&parts[first], "User-Id") : NULL;
        if (uid)
            snprintf(out->user_id, sizeof out->user_id, "%s", uid);
    }
    for (size_t i = 0; i < kept; i++)
        zmq_msg_close(&parts[i]);
    return rc;
}
