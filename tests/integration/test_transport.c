/*
 * test_transport.c — integration: what the connection gate (core/http/
 * http_gate.h) refuses and how it ends connections, on the real daemon,
 * over raw sockets so that the exact bytes (two Content-Length headers, a
 * bare LF, a slow head) reach it:
 *   - ambiguous or malformed heads get 400 (411 for a chunked body), a NUL
 *     in the query 400, and every answer says X-Content-Type-Options: nosniff;
 *   - a Content-Length over the route's limit gets 413 from the headers,
 *     without the body being sent; a large body for a route that needs a
 *     token, without a valid one, gets 401 the same way;
 *   - a client that sends one header line at a time is cut off at the
 *     header timeout; an idle connection at the idle timeout;
 *   - beyond max_connections a new connection gets 503 at once, and is
 *     served again when one closes.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "integration/testapi.h"
#include "support/testutil.h"

static td_daemon D;

static void setup(void)
{
    memset(&D, 0, sizeof D);
    td_options opt = {.omitted = TA_DEPARTMENT_PLUGINS,
                      .extra_config = "http = { max_connections = 4; header_timeout = 2;"
                                      " idle_timeout = 3; };\n"};
    ta_start(&D, &opt, NULL, 0);
}

static void teardown(void)
{
    td_cleanup(&D);
}

static int connect_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT(connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "connect: %s", strerror(errno));
    return fd;
}

static void send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return; /* the server may close first: its answer is still read */
        data += n;
        len -= (size_t)n;
    }
}

/* Read until the server closes or timeout_ms pass; malloc'd, NUL-ended.
 * *closed tells which. */
static char *read_until_close(int fd, int timeout_ms, int *closed)
{
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    long long deadline = ta_mono_ms() + timeout_ms;
    *closed = 0;
    for (;;) {
        long long left = deadline - ta_mono_ms();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        if (len + 4096 > cap)
            buf = realloc(buf, cap *= 2);
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        if (n <= 0) {
            *closed = 1;
            break;
        }
        len += (size_t)n;
    }
    buf[len] = 0;
    return buf;
}

/* Send raw bytes on a new connection; the whole answer (until close). */
static char *exchange(const char *raw)
{
    int fd = connect_port(D.port), closed;
    send_all(fd, raw, strlen(raw));
    char *answer = read_until_close(fd, 10000, &closed);
    EXPECT(closed, "the server did not close after answering [%s]: %s", raw, answer);
    close(fd);
    return answer;
}

static void expect_refused(const char *raw, const char *status_line, const char *code)
{
    char *a = exchange(raw);
    EXPECT(strncmp(a, status_line, strlen(status_line)) == 0 && strstr(a, code) &&
               strstr(a, "X-Content-Type-Options: nosniff"),
           "[%s]: expected %s %s, got: %.2000s", raw, status_line, code, a);
    free(a);
}

START_TEST(ambiguous_heads_refused)
{
    const char *json = "{\"login\":\"admin\",\"password\":\"x\"}";
    char *two_lengths = tu_sprintf("POST /v1/sessions HTTP/1.1\r\nHost: t\r\nContent-Type: "
                                   "application/json\r\nContent-Length: %zu\r\nContent-Length: 5\r\n"
                                   "\r\n%s", strlen(json), json);
    char *two_lengths_swapped = tu_sprintf("POST /v1/sessions HTTP/1.1\r\nHost: t\r\nContent-Type: "
                                           "application/json\r\nContent-Length: 5\r\n"
                                           "Content-Length: %zu\r\n\r\n%s", strlen(json), json);
    expect_refused(two_lengths, "HTTP/1.1 400", "malformed_request");
    expect_refused(two_lengths_swapped, "HTTP/1.1 400", "malformed_request");
    expect_refused("POST /v1/sessions HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                   "HTTP/1.1 400", "malformed_request");
    expect_refused("POST /v1/sessions HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "0\r\n\r\n", "HTTP/1.1 411", "length_required");
    expect_refused("GET /v1/health HTTP/1.1\r\nHost: t\nX-Bare: lf\r\n\r\n", "HTTP/1.1 400",
                   "malformed_request");
    expect_refused("GET /v1/health HTTP/1.1\nHost: t\n\n", "HTTP/1.1 400", "malformed_request");
    expect_refused("GET /v1/health HTTP/1.1\r\nHost: t\r\n folded\r\n\r\n", "HTTP/1.1 400",
                   "malformed_request");
    expect_refused("GET /v1/health HTTP/1.1\r\nX-Citygrid-Gate: 200 0 0\r\n\r\n", "HTTP/1.1 400",
                   "malformed_request");
    /* A NUL in the query would silently drop the filter. */
    char *nul = tu_sprintf("GET /v1/grids?district=%%00 HTTP/1.1\r\nHost: t\r\nAuthorization: "
                           "Bearer %s\r\nConnection: close\r\n\r\n", D.token);
    expect_refused(nul, "HTTP/1.1 400", "invalid_field");
    /* A well-formed request still works, nosniff included, on a kept
     * connection and after it. */
    hc_response r;
    hc_get(D.port, "/v1/health", NULL, &r);
    char *nosniff = hc_header(&r, "X-Content-Type-Options");
    EXPECT(r.status == 200 && nosniff && strcmp(nosniff, "nosniff") == 0, "health: %d %s",
           r.status, r.headers);
    free(nosniff);
    hc_response_free(&r);
    free(two_lengths);
    free(two_lengths_swapped);
    free(nul);
}
END_TEST

/* 413 comes from the Content-Length alone: the body is never sent. */
START_TEST(body_limit_from_headers)
{
    int fd = connect_port(D.port), closed;
    const char *head = "POST /v1/sessions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                       "Content-Length: 9500000\r\n\r\n";
    send_all(fd, head, strlen(head));
    char *a = read_until_close(fd, 10000, &closed);
    EXPECT(strncmp(a, "HTTP/1.1 413", 12) == 0 && strstr(a, "body_too_large") && strstr(a, "65536"),
           "expected 413 before the body: %s", a);
    close(fd);
    free(a);
    /* A photo-sized body without a token: 401 from the headers. */
    expect_refused("POST /v1/cases/C00000001/photos?stage=before HTTP/1.1\r\nHost: t\r\n"
                   "Content-Type: image/jpeg\r\nContent-Length: 1000000\r\n\r\n",
                   "HTTP/1.1 401", "unauthorized");
    /* With a valid token the photo route takes more than a JSON body (then
     * answers 404 for the unknown case, not 413). */
    char *photo = tu_sprintf("POST /v1/cases/C09999999/photos?stage=before HTTP/1.1\r\nHost: t\r\n"
                             "Authorization: Bearer %s\r\nContent-Type: image/jpeg\r\n"
                             "Content-Length: 70000\r\nConnection: close\r\n\r\n", D.token);
    fd = connect_port(D.port);
    send_all(fd, photo, strlen(photo));
    char *zeros = calloc(1, 70000);
    send_all(fd, zeros, 70000);
    a = read_until_close(fd, 10000, &closed);
    EXPECT(strncmp(a, "HTTP/1.1 413", 12) != 0 && strncmp(a, "HTTP/1.1 4", 10) == 0,
           "a 70000-byte photo with a token: %.1000s", a);
    close(fd);
    free(a);
    free(zeros);
    free(photo);
}
END_TEST

/* One header line a second: cut at the 2 s header timeout, long before the
 * 30 lines are out. */
START_TEST(slow_head_cut_off)
{
    int fd = connect_port(D.port), closed = 0;
    send_all(fd, "GET /v1/health HTTP/1.1\r\n", 25);
    int lines = 0;
    for (; lines < 30 && !closed; lines++) {
        char line[64];
        int n = snprintf(line, sizeof line, "X-Slow-%d: a\r\n", lines);
        send_all(fd, line, (size_t)n);
        free(read_until_close(fd, 1000, &closed));
    }
    EXPECT(closed && lines < 30, "a head trickling in was not cut off (%d lines sent)", lines);
    close(fd);
    /* An idle connection is closed too (idle_timeout = 3 s). */
    fd = connect_port(D.port);
    send_all(fd, "GET /v1/health HTTP/1.1\r\nHost: t\r\n\r\n", 37);
    char *a = read_until_close(fd, 20000, &closed);
    EXPECT(closed && strncmp(a, "HTTP/1.1 200", 12) == 0, "idle connection kept: %.300s", a);
    free(a);
    close(fd);
}
END_TEST

/* max_connections = 4: the fifth gets 503 at once; after one closes, new
 * connections are served again. */
START_TEST(connection_cap)
{
    int held[4];
    for (int i = 0; i < 4; i++)
        held[i] = connect_port(D.port);
    /* Let the daemon accept them all. */
    int closed;
    int fd = -1;
    char *a = NULL;
    long long deadline = ta_mono_ms() + 10000;
    do {
        free(a);
        if (fd >= 0)
            close(fd);
        fd = connect_port(D.port);
        send_all(fd, "GET /v1/health HTTP/1.1\r\nHost: t\r\n\r\n", 37);
        a = read_until_close(fd, 5000, &closed);
    } while (strncmp(a, "HTTP/1.1 503", 12) != 0 && ta_mono_ms() < deadline);
    EXPECT(strstr(a, "too_many_connections") && strstr(a, "Retry-After"),
           "no 503 at the cap: %.500s", a);
    free(a);
    close(fd);
    for (int i = 0; i < 4; i++)
        close(held[i]);
    deadline = ta_mono_ms() + 10000;
    int status = 0;
    while (status != 200 && ta_mono_ms() < deadline) {
        hc_response r;
        hc_get(D.port, "/v1/health", NULL, &r);
        status = r.status;
        hc_response_free(&r);
        if (status != 200)
            ta_sleep_ms(50);
    }
    EXPECT(status == 200, "not served again after the held connections closed: %d", status);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("transport");
    ta_add_case(s, "strict", ambiguous_heads_refused, setup, teardown, 60);
    ta_add_case(s, "body_limit", body_limit_from_headers, setup, teardown, 60);
    ta_add_case(s, "slow", slow_head_cut_off, setup, teardown, 90);
    ta_add_case(s, "cap", connection_cap, setup, teardown, 60);
    return ta_run(s);
}
