/*
 * login_flood.c — what a login flood and oversized bodies do to citygridd
 * (tests/bench/login_flood.sh runs it; not a test).
 *
 *   login_flood --port P --mode health      --seconds S
 *   login_flood --port P --mode flood       --seconds S --clients N [--spread]
 *   login_flood --port P --mode bodies      --clients N --body-bytes B
 *
 * health: one keep-alive connection sends GET /v1/health, one request at a
 *   time, for S seconds, and prints the latency p50, p99 and max (ms).
 * flood: the same probe, while N keep-alive connections each post wrong
 *   passwords to /v1/sessions, one in flight each, a different login each
 *   time ("flood0001", ...). Without --spread every connection comes from
 *   127.0.0.1, so the login throttle shapes the flood (429s); with --spread
 *   each request comes from a new source address in 127.64.0.0/10 and a new
 *   login, so no throttle rule ever holds it and every request costs an
 *   argon2id check: the pool's full load. Prints the probe's figures and
 *   the flood's answers by status.
 * bodies: N connections at once each send the head of a POST /v1/sessions
 *   with Content-Length B, then the body as fast as the server takes it,
 *   until the server answers or closes. Prints the answers by status and
 *   how many bytes of body the server took before answering.
 * Single thread, poll(). Exit 1 when nothing was answered.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONN 512
#define MAX_SAMPLES 1000000

typedef struct conn {
    int fd;
    int probe;             /* the /v1/health connection */
    char out[1024];
    size_t out_len, out_off;
    long long body_left;   /* bodies mode: bytes of body still to send */
    long long body_sent;
    char in[8192];
    size_t in_len;
    double sent_at;
    int done;
} conn;

static int port;
static unsigned next_login, next_addr;
static double *samples;
static size_t n_samples;
static unsigned long status_count[600], errors;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int open_conn(int spread)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (spread) {
        /* 127.64.0.1 and up: a new address for every connection. */
        unsigned a = ++next_addr;
        struct sockaddr_in src = {.sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(0x7F400000u | (a & 0x3FFFFF))};
        if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
            close(fd);
            return -1;
        }
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void prepare_request(conn *c)
{
    if (c->probe) {
        c->out_len = (size_t)snprintf(c->out, sizeof c->out,
                                      "GET /v1/health HTTP/1.1\r\nHost: bench\r\n\r\n");
    } else {
        char body[160];
        unsigned k = ++next_login;
        int n = snprintf(body, sizeof body, "{\"login\":\"flood%06u\",\"password\":\"wrong password %u\"}",
                         k, k);
        c->out_len = (size_t)snprintf(c->out, sizeof c->out,
                                      "POST /v1/sessions HTTP/1.1\r\nHost: bench\r\n"
                                      "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                                      n, body);
    }
    c->out_off = 0;
    c->in_len = 0;
    c->sent_at = now_ms();
}

/* A whole response in c->in? Its status (0: not yet). Consumes it. */
static int take_response(conn *c)
{
    c->in[c->in_len < sizeof c->in ? c->in_len : sizeof c->in - 1] = 0;
    char *end = strstr(c->in, "\r\n\r\n");
    if (!end)
        return 0;
    int status = 0;
    if (sscanf(c->in, "HTTP/1.%*d %d", &status) != 1)
        status = 999;
    long long clen = 0;
    for (char *h = strstr(c->in, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n"))
        if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
            clen = atoll(h + 17);
    size_t total = (size_t)(end + 4 - c->in) + (size_t)clen;
    if (c->in_len < total)
        return 0;
    memmove(c->in, c->in + total, c->in_len - total);
    c->in_len -= total;
    return status;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void print_status_counts(const char *prefix)
{
    for (int s = 100; s < 600; s++)
        if (status_count[s])
            printf("%s_status_%d: %lu\n", prefix, s, status_count[s]);
    printf("%s_errors: %lu\n", prefix, errors);
}

static int run_flood(int seconds, int clients, int spread)
{
    conn *cs = calloc((size_t)clients + 1, sizeof *cs);
    struct pollfd *pfd = calloc((size_t)clients + 1, sizeof *pfd);
    unsigned long flood_answers = 0;
    int n = clients + 1;
    for (int i = 0; i < n; i++) {
        cs[i].probe = i == 0;
        cs[i].fd = open_conn(!cs[i].probe && spread);
        if (cs[i].fd < 0) {
            fprintf(stderr, "login_flood: cannot connect: %s\n", strerror(errno));
            return 1;
        }
        prepare_request(&cs[i]);
    }
    double end = now_ms() + seconds * 1000.0;
    while (now_ms() < end) {
        for (int i = 0; i < n; i++) {
            pfd[i].fd = cs[i].fd;
            pfd[i].events = cs[i].out_off < cs[i].out_len ? POLLOUT : POLLIN;
        }
        if (poll(pfd, (nfds_t)n, 100) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            conn *c = &cs[i];
            if (!pfd[i].revents)
                continue;
            if (c->out_off < c->out_len) {
                ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
                if (w > 0)
                    c->out_off += (size_t)w;
                else if (errno != EAGAIN)
                    goto reconnect;
                continue;
            }
            ssize_t r = recv(c->fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len, 0);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN)
                    continue;
                goto reconnect;
            }
            c->in_len += (size_t)r;
            int status = take_response(c);
            if (!status)
                continue;
            if (c->probe) {
                if (n_samples < MAX_SAMPLES)
                    samples[n_samples++] = now_ms() - c->sent_at;
            } else {
                flood_answers++;
                status_count[status < 600 ? status : 599]++;
            }
            if (!c->probe && spread) {
                /* A new source address for the next attempt. */
                close(c->fd);
                c->fd = open_conn(1);
                if (c->fd < 0)
                    goto reconnect;
            }
            prepare_request(c);
            continue;
        reconnect:
            errors++;
            close(c->fd);
            c->fd = open_conn(!c->probe && spread);
            if (c->fd < 0) {
                fprintf(stderr, "login_flood: cannot reconnect: %s\n", strerror(errno));
                return 1;
            }
            prepare_request(c);
        }
    }
    qsort(samples, n_samples, sizeof *samples, cmp_double);
    printf("health_requests: %zu\n", n_samples);
    if (n_samples) {
        printf("health_p50_ms: %.2f\n", samples[n_samples / 2]);
        printf("health_p99_ms: %.2f\n", samples[(size_t)(n_samples * 0.99)]);
        printf("health_max_ms: %.2f\n", samples[n_samples - 1]);
    }
    if (clients) {
        printf("flood_answers: %lu\n", flood_answers);
        printf("flood_per_s: %.1f\n", flood_answers / (double)seconds);
        print_status_counts("flood");
    }
    for (int i = 0; i < n; i++)
        close(cs[i].fd);
    free(cs);
    free(pfd);
    return n_samples ? 0 : 1;
}

static int run_bodies(int clients, long long body_bytes)
{
    conn *cs = calloc((size_t)clients, sizeof *cs);
    struct pollfd *pfd = calloc((size_t)clients, sizeof *pfd);
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    for (int i = 0; i < clients; i++) {
        cs[i].fd = open_conn(0);
        if (cs[i].fd < 0) {
            fprintf(stderr, "login_flood: cannot connect: %s\n", strerror(errno));
            return 1;
        }
        cs[i].out_len = (size_t)snprintf(cs[i].out, sizeof cs[i].out,
                                         "POST /v1/sessions HTTP/1.1\r\nHost: bench\r\n"
                                         "Content-Type: application/json\r\nContent-Length: %lld\r\n\r\n",
                                         body_bytes);
        cs[i].body_left = body_bytes;
    }
    int open_n = clients;
    double end = now_ms() + 120000;
    long long taken = 0;
    while (open_n > 0 && now_ms() < end) {
        for (int i = 0; i < clients; i++) {
            pfd[i].fd = cs[i].done ? -1 : cs[i].fd;
            pfd[i].events = POLLIN | (cs[i].out_off < cs[i].out_len || cs[i].body_left ? POLLOUT : 0);
        }
        if (poll(pfd, (nfds_t)clients, 200) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < clients; i++) {
            conn *c = &cs[i];
            if (c->done || !pfd[i].revents)
                continue;
            if (pfd[i].revents & POLLIN) {
                ssize_t r = recv(c->fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len, 0);
                if (r > 0)
                    c->in_len += (size_t)r;
                int status = r > 0 ? take_response(c) : 0;
                if (status || r == 0 || (r < 0 && errno != EAGAIN)) {
                    if (status)
                        status_count[status < 600 ? status : 599]++;
                    else
                        errors++;
                    taken += c->body_sent;
                    c->done = 1;
                    open_n--;
                    continue;
                }
            }
            if (pfd[i].revents & POLLOUT) {
                ssize_t w;
                if (c->out_off < c->out_len)
                    w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
                else
                    w = send(c->fd, chunk,
                             (size_t)(c->body_left < (long long)sizeof chunk ? c->body_left
                                                                             : (long long)sizeof chunk),
                             MSG_NOSIGNAL);
                if (w > 0 && c->out_off < c->out_len)
                    c->out_off += (size_t)w;
                else if (w > 0)
                    c->body_left -= w, c->body_sent += w;
                else if (w < 0 && errno != EAGAIN) {
                    /* The server closed after answering: read the answer. */
                    c->body_left = 0;
                }
            }
        }
    }
    printf("bodies_clients: %d\n", clients);
    printf("bodies_body_bytes: %lld\n", body_bytes);
    print_status_counts("bodies");
    printf("bodies_unanswered: %d\n", open_n);
    printf("bodies_mean_body_bytes_sent_before_answer: %lld\n", clients ? taken / clients : 0);
    for (int i = 0; i < clients; i++)
        close(cs[i].fd);
    free(cs);
    free(pfd);
    return open_n == clients ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *mode = "health";
    int seconds = 10, clients = 8, spread = 0;
    long long body_bytes = 9961472; /* 9.5 MiB */
    signal(SIGPIPE, SIG_IGN);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--mode") && i + 1 < argc)
            mode = argv[++i];
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--clients") && i + 1 < argc)
            clients = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--body-bytes") && i + 1 < argc)
            body_bytes = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--spread"))
            spread = 1;
        else {
            fprintf(stderr, "usage: login_flood --port P --mode health|flood|bodies [--seconds S] "
                            "[--clients N] [--spread] [--body-bytes B]\n");
            return 2;
        }
    }
    if (port <= 0 || clients < 0 || clients > MAX_CONN - 1 || seconds < 1) {
        fprintf(stderr, "login_flood: bad arguments\n");
        return 2;
    }
    samples = malloc(MAX_SAMPLES * sizeof *samples);
    if (!strcmp(mode, "health"))
        return run_flood(seconds, 0, 0);
    if (!strcmp(mode, "flood"))
        return run_flood(seconds, clients, spread);
    if (!strcmp(mode, "bodies"))
        return run_bodies(clients, body_bytes);
    fprintf(stderr, "login_flood: unknown mode %s\n", mode);
    return 2;
}
