/*
 * ctl_http.c — see ctl_http.h. Plain sockets and poll(): citygridctl runs
 * one request at a time and needs no event loop.
 */
#include "ctl/ctl_http.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/errbuf.h"

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cg_ctl_url_parse(const char *url, char **host, int *port, char *err, size_t errlen)
{
    *host = NULL;
    *port = 0;
    if (strncasecmp(url, "https://", 8) == 0) {
        cg_set_err(err, errlen, "'%s': https is not supported (citygridd speaks plain HTTP; "
                "use http://HOST:PORT)", url);
        return -1;
    }
    if (strncasecmp(url, "http://", 7) != 0) {
        cg_set_err(err, errlen, "'%s' is not http://HOST:PORT", url);
        return -1;
    }
    const char *p = url + 7, *h_start, *h_end;
    if (*p == '[') { /* [IPv6]:port */
        h_start = p + 1;
        h_end = strchr(h_start, ']');
        if (!h_end) {
            cg_set_err(err, errlen, "'%s': no ']' after the IPv6 address", url);
            return -1;
        }
        p = h_end + 1;
    } else {
        h_start = p;
        h_end = p + strcspn(p, ":/");
        p = h_end;
    }
    if (h_end == h_start) {
        cg_set_err(err, errlen, "'%s' names no host", url);
        return -1;
    }
    long portnum = 80;
    if (*p == ':') {
        char *end;
        errno = 0;
        portnum = strtol(p + 1, &end, 10);
        if (end == p + 1 || !isdigit((unsigned char)p[1]) || errno || portnum < 1 ||
            portnum > 65535) {
            cg_set_err(err, errlen, "'%s': the port must be 1-65535", url);
            return -1;
        }
        p = end;
    }
    if (*p && strcmp(p, "/") != 0) {
        cg_set_err(err, errlen, "'%s': give only http://HOST:PORT (no path)", url);
        return -1;
    }
    *host = strndup(h_start, (size_t)(h_end - h_start));
    *port = (int)portnum;
    return *host ? 0 : -1;
}

/* Wait until fd is ready for `events` or the deadline passes. 1 ready, 0 timed out. */
static int wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - mono_ms();
        if (left <= 0)
            return 0;
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, (int)(left > 60000 ? 60000 : left));
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return 1; /* let the following call report the error */
    }
}

static int connect_to(const char *host, int port, long long deadline, int timeout_ms,
                      char *err, size_t errlen)
{
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, service, &hints, &res);
    if (gai != 0) {
        cg_set_err(err, errlen, "cannot resolve '%s': %s", host, gai_strerror(gai));
        return -1;
    }
    int fd = -1, timed_out = 0;
    char why[256] = "no address";
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    ai->ai_protocol);
        if (fd < 0)
            continue;
        int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc < 0 && errno == EINPROGRESS) {
            if (!wait_fd(fd, POLLOUT, deadline)) {
                timed_out = 1;
                close(fd);
                fd = -1;
                break;
            }
            int soerr = 0;
            socklen_t len = sizeof soerr;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
            rc = soerr ? -1 : 0;
            errno = soerr;
        }
        if (rc < 0) {
            snprintf(why, sizeof why, "%s", strerror(errno));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0 && timed_out)
        cg_set_err(err, errlen, "connect %s:%d: timed out after %d ms", host, port, timeout_ms);
    else if (fd < 0)
        cg_set_err(err, errlen, "connect %s:%d: %s", host, port, why);
    return fd;
}

/* Send all of buf. 0 ok; -1 when the peer closed (it may have answered
 * early, e.g. 413); -2 timed out. */
static int send_all(int fd, const char *buf, size_t len, long long deadline)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_fd(fd, POLLOUT, deadline))
                return -2;
            continue;
        }
        return -1;
    }
    return 0;
}

typedef struct buf {
    char *data;
    size_t len, cap;
} buf;

static int buf_reserve(buf *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

/* The value of header `name` in the header block [hdr, end), or NULL. */
static const char *find_header(const char *hdr, const char *end, const char *name,
                               size_t *vlen)
{
    size_t nlen = strlen(name);
    for (const char *line = hdr; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol)
            eol = end;
        if ((size_t)(eol - line) > nlen && strncasecmp(line, name, nlen) == 0 &&
            line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            const char *ve = eol;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        line = eol + 1;
    }
    return NULL;
}

/* Decode a chunked body in [p, end). 1 complete (body in *out), 0 more
 * bytes needed, -1 malformed. */
static int dechunk(const char *p, const char *end, buf *out)
{
    out->len = 0;
    for (;;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            return 0;
        char *num_end;
        errno = 0;
        unsigned long long size = strtoull(p, &num_end, 16);
        if (num_end == p || errno || size > CG_CTL_HTTP_MAX_RESPONSE)
            return -1;
        p = eol + 1;
        if (size == 0)
            return 1; /* trailers, if any, do not matter here */
        if ((size_t)(end - p) < size + 2)
            return 0;
        if (buf_reserve(out, (size_t)size) < 0)
            return -1;
        memcpy(out->data + out->len, p, (size_t)size);
        out->len += (size_t)size;
        out->data[out->len] = 0;
        p += size;
        if (*p == '\r')
            p++;
        if (*p != '\n')
            return -1;
        p++;
    }
}

/* What has arrived so far: 1 a whole response (filled in), 0 need more,
 * -1 malformed. At EOF (`eof`), a body without a length ends there. */
static int parse_response(buf *in, int eof, cg_ctl_response *out, char *err, size_t errlen)
{
    if (!in->data)
        return 0;
    in->data[in->len] = 0;
    char *hdr_end = strstr(in->data, "\r\n\r\n");
    size_t sep = 4;
    if (!hdr_end) {
        hdr_end = strstr(in->data, "\n\n");
        sep = 2;
    }
    if (!hdr_end)
        return 0;
    int major, minor, status;
    if (sscanf(in->data, "HTTP/%d.%d %d", &major, &minor, &status) != 3 || status < 100 ||
        status > 999) {
        cg_set_err(err, errlen, "not an HTTP answer: '%.40s'", in->data);
        return -1;
    }
    const char *headers = strchr(in->data, '\n') + 1;
    const char *body = hdr_end + sep;
    size_t have = in->len - (size_t)(body - in->data);
    size_t vlen;
    const char *te = find_header(headers, hdr_end, "Transfer-Encoding", &vlen);
    const char *cl = find_header(headers, hdr_end, "Content-Length", &vlen);
    buf out_body = {0};
    int done;
    if (status == 204 || status == 304 || status < 200) {
        done = 1;
    } else if (te && strncasecmp(te, "chunked", 7) == 0) {
        /* Decode only once the last chunk may be there: no quadratic re-decoding. */
        const char *end = in->data + in->len;
        int last_seen = eof || (have >= 5 && memcmp(end - 5, "0\r\n\r\n", 5) == 0);
        done = last_seen ? dechunk(body, end, &out_body) : 0;
        if (done < 0)
            cg_set_err(err, errlen, "malformed chunked body");
    } else if (cl) {
        unsigned long long want = strtoull(cl, NULL, 10);
        if (want > CG_CTL_HTTP_MAX_RESPONSE) {
            cg_set_err(err, errlen, "answer too large (%llu bytes)", want);
            return -1;
        }
        done = have >= want;
        if (done && buf_reserve(&out_body, (size_t)want) == 0) {
            memcpy(out_body.data, body, (size_t)want);
            out_body.len = (size_t)want;
        }
    } else {
        done = eof;
        if (done && buf_reserve(&out_body, have) == 0) {
            memcpy(out_body.data, body, have);
            out_body.len = have;
        }
    }
    if (done == 1) {
        out->status = status;
        if (out_body.data) {
            out_body.data[out_body.len] = 0;
            free(out->body);
            out->body = out_body.data;
            out->body_len = out_body.len;
        }
        return 1;
    }
    free(out_body.data);
    return done;
}

int cg_ctl_http(const char *url, const char *method, const char *path, const char *token,
                const char *json, int timeout_ms, cg_ctl_response *out, char *err,
                size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->body = strdup("");
    if (timeout_ms <= 0)
        timeout_ms = CG_CTL_HTTP_TIMEOUT_MS;
    long long deadline = mono_ms() + timeout_ms;
    char *host;
    int port;
    if (cg_ctl_url_parse(url, &host, &port, err, errlen) < 0)
        return -1;
    int fd = connect_to(host, port, deadline, timeout_ms, err, errlen);
    if (fd < 0) {
        free(host);
        return -1;
    }
    /* The request: head and body in one buffer, one send loop. */
    int v6 = strchr(host, ':') != NULL;
    char auth[512] = "", content[128] = "";
    if (token)
        snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
    if (json)
        snprintf(content, sizeof content,
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n", strlen(json));
    char *head = NULL;
    int n = asprintf(&head,
                     "%s %s HTTP/1.1\r\nHost: %s%s%s:%d\r\nUser-Agent: citygridctl\r\n"
                     "Accept: application/json\r\nConnection: close\r\n%s%s\r\n%s",
                     method, path, v6 ? "[" : "", host, v6 ? "]" : "", port, auth, content,
                     json ? json : "");
    free(host);
    if (n < 0) {
        close(fd);
        cg_set_err(err, errlen, "out of memory");
        return -1;
    }
    int rc;
    rc = send_all(fd, head, (size_t)n, deadline);
    free(head);
    if (rc == -2) {
        close(fd);
        cg_set_err(err, errlen, "%s %s: timed out sending after %d ms", method, path, timeout_ms);
        return -1;
    }
    /* rc == -1: the server closed early; it may still have answered. */

    buf in = {0};
    int parsed = 0, eof = 0;
    while (!parsed) {
        if (buf_reserve(&in, 16384) < 0) {
            cg_set_err(err, errlen, "out of memory");
            parsed = -1;
            break;
        }
        ssize_t got = recv(fd, in.data + in.len, in.cap - in.len - 1, 0);
        if (got > 0) {
            in.len += (size_t)got;
            if (in.len > CG_CTL_HTTP_MAX_RESPONSE + 65536) {
                cg_set_err(err, errlen, "answer too large");
                parsed = -1;
                break;
            }
        } else if (got == 0) {
            eof = 1;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!wait_fd(fd, POLLIN, deadline)) {
                cg_set_err(err, errlen, "%s %s: no whole answer within %d ms", method, path,
                        timeout_ms);
                parsed = -1;
                break;
            }
            continue;
        } else {
            eof = 1; /* ECONNRESET after an early answer: parse what came */
        }
        parsed = parse_response(&in, eof, out, err, errlen);
        if (parsed == 0 && eof) {
            cg_set_err(err, errlen, "%s %s: the connection closed before a whole answer%s",
                    method, path, in.len ? "" : " (no bytes)");
            parsed = -1;
        }
    }
    free(in.data);
    close(fd);
    return parsed == 1 ? 0 : -1;
}

void cg_ctl_response_free(cg_ctl_response *r)
{
    if (!r)
        return;
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
}

/* ---------------------------------------------------------------- for commands */

int cg_ctl_api(const cg_ctl_env *env, const char *method, const char *path, const char *json,
               cg_ctl_response *out)
{
    memset(out, 0, sizeof *out);
    out->body = strdup("");
    if (!env->token) {
        fprintf(stderr, "citygridctl: no admin token: cannot read %s/admin.token (run as the "
                        "daemon's user, or give --state-dir or --config)\n", env->state_dir);
        return -1;
    }
    char err[512];
    cg_ctl_response_free(out);
    if (cg_ctl_http(env->url, method, path, env->token, json, 0, out, err, sizeof err) < 0) {
        fprintf(stderr, "citygridctl: no answer from citygridd at %s: %s (is it running? "
                        "--url or --config name where it listens)\n", env->url, err);
        return -1;
    }
    return out->status;
}

void cg_ctl_print_api_error(const char *what, const cg_ctl_response *r)
{
    json_t *root = json_loadb(r->body, r->body_len, 0, NULL);
    json_t *e = json_object_get(root, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    if (code || msg)
        fprintf(stderr, "citygridctl: %s: %d %s: %s\n", what, r->status, code ? code : "error",
                msg ? msg : "");
    else
        fprintf(stderr, "citygridctl: %s: HTTP %d %.500s\n", what, r->status, r->body);
    if (r->status == 401)
        fprintf(stderr, "citygridctl: the daemon does not know this token: is --state-dir the "
                        "daemon's state directory?\n");
    json_decref(root);
}

char *cg_ctl_url_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = 0;
    return out;
}
