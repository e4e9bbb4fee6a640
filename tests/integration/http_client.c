/* http_client.c — see http_client.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "http_client.h"
#include "support/testutil.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A growable byte buffer, always NUL-terminated. */
typedef struct buf {
    char *data;
    size_t len, cap;
} buf;

static int buf_reserve(buf *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

static int buf_add(buf *b, const char *data, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

static int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int buf_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    int rc = buf_add(b, s, (size_t)n);
    free(s);
    return rc;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_error(hc_response *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(hc_response *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
}

/* Wait for `events` on fd until the deadline. 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - mono_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return 1;
        if (n == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

static int connect_local(int port, long long deadline, hc_response *r)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        set_error(r, "socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        if (errno != EINPROGRESS) {
            set_error(r, "connect 127.0.0.1:%d: %s", port, strerror(errno));
            close(fd);
            return -1;
        }
        if (wait_fd(fd, POLLOUT, deadline) != 1) {
            set_error(r, "connect 127.0.0.1:%d: timed out", port);
            close(fd);
            return -1;
        }
        int soerr = 0;
        socklen_t len = sizeof soerr;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
        if (soerr) {
            set_error(r, "connect 127.0.0.1:%d: %s", port, strerror(soerr));
            close(fd);
            return -1;
        }
    }
    return fd;
}

/* Write everything. 0 done; 1 the peer closed early (go read its answer);
 * -1 timeout or error. */
static int send_all(int fd, const char *data, size_t len, long long deadline, hc_response *r)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, data + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* The server may already be answering (and not reading). */
            struct pollfd p = {.fd = fd, .events = POLLOUT | POLLIN};
            long long left = deadline - mono_ms();
            if (left <= 0) {
                set_error(r, "send: timed out after %zu of %zu bytes", off, len);
                return -1;
            }
            if (poll(&p, 1, (int)left) > 0 && (p.revents & POLLIN) && !(p.revents & POLLOUT))
                return 1;
            continue;
        }
        if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
            return 1;
        set_error(r, "send: %s", n < 0 ? strerror(errno) : "wrote nothing");
        return -1;
    }
    return 0;
}

/* Decode a chunked body from src[0..len). 1 complete (out filled), 0 needs
 * more data, -1 malformed. */
static int dechunk(const char *src, size_t len, buf *out)
{
    size_t pos = 0;
    out->len = 0;
    if (out->data)
        out->data[0] = 0;
    for (;;) {
        const char *eol = memmem(src + pos, len - pos, "\r\n", 2);
        if (!eol)
            return 0;
        char *end = NULL;
        errno = 0;
        unsigned long size = strtoul(src + pos, &end, 16);
        if (end == src + pos || errno)
            return -1;
        pos = (size_t)(eol - src) + 2;
        if (size == 0) {
            /* Trailers (usually none), then an empty line. */
            for (;;) {
                const char *tl = memmem(src + pos, len - pos, "\r\n", 2);
                if (!tl)
                    return 0;
                if (tl == src + pos)
                    return 1;
                pos = (size_t)(tl - src) + 2;
            }
        }
        if (len - pos < size + 2)
            return 0;
        if (buf_add(out, src + pos, size) < 0)
            return -1;
        pos += size + 2;
    }
}

char *hc_header(const hc_response *r, const char *name)
{
    if (!r->headers)
        return NULL;
    size_t nlen = strlen(name);
    const char *line = r->headers;
    while (*line) {
        const char *eol = strstr(line, "\r\n");
        size_t llen = eol ? (size_t)(eol - line) : strlen(line);
        if (llen > nlen && line[nlen] == ':' && strncasecmp(line, name, nlen) == 0) {
            const char *v = line + nlen + 1;
            const char *vend = line + llen;
            while (v < vend && (*v == ' ' || *v == '\t'))
                v++;
            while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
                vend--;
            return strndup(v, (size_t)(vend - v));
        }
        if (!eol)
            break;
        line = eol + 2;
    }
    return NULL;
}

/* Parse the status line and headers in raw[0..head_len). 0 ok, -1 bad. */
static int parse_head(const char *raw, size_t head_len, hc_response *r)
{
    int major, minor, status;
    if (sscanf(raw, "HTTP/%d.%d %d", &major, &minor, &status) != 3)
        return -1;
    const char *eol = memmem(raw, head_len, "\r\n", 2);
    if (!eol)
        return -1;
    size_t hstart = (size_t)(eol - raw) + 2;
    /* Keep the trailing CRLF of the last header so every line ends in CRLF. */
    size_t hlen = head_len >= hstart + 2 ? head_len - hstart - 2 : 0;
    r->headers = strndup(raw + hstart, hlen);
    r->status = status;
    r->location = hc_header(r, "Location");
    r->content_type = hc_header(r, "Content-Type");
    return r->headers ? 0 : -1;
}

/* Read the response until it is complete, the peer closes, or the deadline. */
static int read_response(int fd, const hc_request *req, long long deadline, hc_response *r)
{
    buf raw = {0}, body = {0};
    size_t head_len = 0;   /* through the blank line, once seen */
    long long content_length = -1;
    int chunked = 0, no_body = 0, complete = 0, eof = 0, rc = -1;

    for (;;) {
        if (head_len) {
            size_t have = raw.len - head_len;
            if (no_body) {
                complete = 1;
            } else if (chunked) {
                int d = dechunk(raw.data + head_len, have, &body);
                if (d < 0) {
                    set_error(r, "malformed chunked body");
                    goto out;
                }
                complete = d == 1;
            } else if (content_length >= 0) {
                complete = (long long)have >= content_length;
            } else {
                complete = eof;
            }
            if (complete)
                break;
        }
        if (eof) {
            set_error(r, head_len ? "connection closed before the body was complete"
                                  : "connection closed before a response");
            goto out;
        }
        int w = wait_fd(fd, POLLIN, deadline);
        if (w != 1) {
            set_error(r, "%s waiting for the response (%zu bytes so far)",
                      w == 0 ? "timed out" : "poll failed", raw.len);
            goto out;
        }
        if (buf_reserve(&raw, 16384) < 0) {
            set_error(r, "out of memory");
            goto out;
        }
        ssize_t n = recv(fd, raw.data + raw.len, raw.cap - raw.len - 1, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n < 0 && errno != ECONNRESET) {
            set_error(r, "recv: %s", strerror(errno));
            goto out;
        }
        if (n <= 0) {
            eof = 1;   /* a reset after the answer counts as the end */
        } else {
            raw.len += (size_t)n;
            raw.data[raw.len] = 0;
        }
        if (!head_len) {
            const char *hend = raw.data ? memmem(raw.data, raw.len, "\r\n\r\n", 4) : NULL;
            if (!hend)
                continue;
            head_len = (size_t)(hend - raw.data) + 4;
            if (parse_head(raw.data, head_len, r) < 0) {
                set_error(r, "malformed status line or headers");
                goto out;
            }
            char *te = hc_header(r, "Transfer-Encoding");
            char *cl = hc_header(r, "Content-Length");
            chunked = te && strcasestr(te, "chunked");
            if (cl)
                content_length = strtoll(cl, NULL, 10);
            free(te);
            free(cl);
            no_body = strcmp(req->method, "HEAD") == 0 || r->status == 204 ||
                      r->status == 304 || (r->status >= 100 && r->status < 200);
        }
    }
    if (!chunked) {
        size_t n = raw.len - head_len;
        if (no_body)
            n = 0;
        else if (content_length >= 0 && (long long)n > content_length)
            n = (size_t)content_length;
        buf_add(&body, raw.data + head_len, n);
    }
    rc = 0;
out:
    if (rc < 0 && !r->headers && raw.data) {
        /* Keep what arrived: it helps to diagnose a broken answer. */
        buf_add(&body, raw.data, raw.len);
    }
    if (rc < 0 && r->headers && !body.len && raw.len > head_len)
        buf_add(&body, raw.data + head_len, raw.len - head_len);
    free(raw.data);
    free(r->body);
    r->body = body.data ? body.data : strdup("");
    r->body_len = body.len;
    if (rc < 0)
        r->status = r->status && complete ? r->status : 0;
    return rc;
}

int hc_send(int port, const hc_request *req, hc_response *out)
{
    memset(out, 0, sizeof *out);
    out->body = strdup("");
    int timeout = (req->timeout_ms > 0 ? req->timeout_ms : HC_DEFAULT_TIMEOUT_MS) * tu_patience();
    long long deadline = mono_ms() + timeout;
    size_t body_len = req->body ? (req->body_len ? req->body_len : strlen(req->body)) : 0;

    buf msg = {0};
    buf_printf(&msg, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n",
               req->method, req->path, port);
    if (req->token)
        buf_printf(&msg, "Authorization: Bearer %s\r\n", req->token);
    if (req->body) {
        buf_printf(&msg, "Content-Type: %s\r\n",
                   req->content_type ? req->content_type : "application/json");
        buf_printf(&msg, "Content-Length: %zu\r\n", body_len);
    } else if (strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0) {
        buf_printf(&msg, "Content-Length: 0\r\n");
    }
    for (const char *const *h = req->extra_headers; h && *h; h++)
        buf_printf(&msg, "%s\r\n", *h);
    buf_printf(&msg, "\r\n");
    if (body_len)
        buf_add(&msg, req->body, body_len);
    if (!msg.data) {
        set_error(out, "out of memory");
        return -1;
    }

    int rc = -1;
    int fd = connect_local(port, deadline, out);
    if (fd >= 0) {
        if (send_all(fd, msg.data, msg.len, deadline, out) >= 0) {
            /* No shutdown(SHUT_WR): some servers treat a half-close as the
             * client going away and never answer. */
            rc = read_response(fd, req, deadline, out);
        }
        close(fd);
    }
    free(msg.data);
    return rc;
}

void hc_response_free(hc_response *r)
{
    if (!r)
        return;
    free(r->headers);
    free(r->location);
    free(r->content_type);
    free(r->body);
    memset(r, 0, sizeof *r);
}

int hc_get(int port, const char *path, const char *token, hc_response *out)
{
    hc_request req = {.method = "GET", .path = path, .token = token};
    return hc_send(port, &req, out);
}

int hc_post_json(int port, const char *path, const char *token, const char *json,
                 hc_response *out)
{
    hc_request req = {.method = "POST", .path = path, .token = token, .body = json};
    return hc_send(port, &req, out);
}

char *hc_url_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *o = malloc(3 * n + 1), *p = o;
    if (!o)
        return NULL;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (isalnum(*c) || *c == '-' || *c == '_' || *c == '.' || *c == '~') {
            *p++ = (char)*c;
        } else {
            *p++ = '%';
            *p++ = hex[*c >> 4];
            *p++ = hex[*c & 15];
        }
    }
    *p = 0;
    return o;
}
