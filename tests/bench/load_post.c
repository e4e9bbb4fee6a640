/*
 * load_post.c — the HTTP load generator for `make bench`: many keep-alive
 * connections, one POST in flight on each, for a fixed time (and at most a
 * fixed number of requests). The same program loads raw_http and citygridd,
 * so their ratio compares servers, not clients.
 *
 *   load_post --url http://127.0.0.1:PORT/v1/cases [--connections 64]
 *             [--seconds 10] [--requests N] [--header 'Name: value']...
 *             [--body-file F | --categories street_stall,sanitation,...]
 *   load_post --free-port      prints a TCP port on 127.0.0.1 that is free now
 *
 * Without --body-file each request carries a case report with slightly
 * different coordinates around Lishui. Prints "name: value" lines: requests,
 * req_per_s, status_NNN counts, errors, latency percentiles. Exits 1 when not
 * a single response came back.
 *
 * One thread, one libevent loop; the client is written by hand (not evhttp's
 * client) because it has to be cheaper than the server it measures.
 */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include "mix.h"

#define MAX_CONNECTIONS 4096
#define MAX_HEADERS 16
#define MAX_HEAD_BYTES 65536
#define MAX_CATEGORIES 32
#define REQUEST_TIMEOUT_S 30

/* ---------------------------------------------------------------- latency histogram */
/* Log-linear buckets in microseconds: exact below 128, then 64 per power of
 * two (under 1.6% error), which is plenty for p50/p99 and fixed in size. */
#define HIST_SUB 64
#define HIST_BUCKETS (128 + 40 * HIST_SUB)

static unsigned long long hist[HIST_BUCKETS];

static int hist_index(uint64_t us)
{
    if (us < 128)
        return (int)us;
    int msb = 63 - __builtin_clzll(us);
    int octave = msb - 7;
    if (octave >= 40)
        return HIST_BUCKETS - 1;
    int top = (int)(us >> (msb - 6)); /* 64..127 */
    return 128 + octave * HIST_SUB + (top - 64);
}

/* The middle of a bucket, in microseconds. */
static double hist_value(int idx)
{
    if (idx < 128)
        return idx;
    int octave = (idx - 128) / HIST_SUB;
    int top = (idx - 128) % HIST_SUB + 64;
    int shift = octave + 1;
    return ((double)top + 0.5) * (double)(1ULL << shift);
}

static double hist_percentile(unsigned long long total, double pct)
{
    if (total == 0)
        return 0;
    unsigned long long want = (unsigned long long)((double)total * pct / 100.0);
    if (want >= total)
        want = total - 1;
    unsigned long long seen = 0;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        seen += hist[i];
        if (seen > want)
            return hist_value(i);
    }
    return hist_value(HIST_BUCKETS - 1);
}

/* ---------------------------------------------------------------- settings */
static struct {
    char host[256];
    char port[16];
    char path[1024];
    int connections;
    double seconds;
    unsigned long long max_requests; /* 0: no count limit, only the time limit */
    const char *headers[MAX_HEADERS];
    int n_headers;
    char *fixed_body;                /* --body-file, or NULL */
    size_t fixed_body_len;
    const char *categories[MAX_CATEGORIES];
    int n_categories;
    int mix;                         /* --mix FILE loaded: bodies from mix.c */
} opt = { .connections = 64, .seconds = 10 };

/* ---------------------------------------------------------------- run state */
enum parse_state { WAIT_HEAD, WAIT_BODY, WAIT_EOF };

typedef struct conn {
    struct bufferevent *bev;
    int index;
    int in_flight;
    enum parse_state state;
    int status;
    long long content_length;
    int close_after;
    uint64_t sent_ns;
} conn;

static struct event_base *base;
static conn conns[MAX_CONNECTIONS];
static struct sockaddr_storage server_addr;
static socklen_t server_addrlen;
static char *request_head;          /* request line and fixed headers */
static size_t request_head_len;
static int stopping;
static uint64_t started_ns, stopped_ns;
static unsigned long long sent, completed, errors, timeouts, reconnects;
static unsigned long long status_counts[600];

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void conn_open(conn *c);

static void stop_now(void)
{
    if (!stopping) {
        stopping = 1;
        stopped_ns = now_ns();
        event_base_loopbreak(base);
    }
}

static void on_deadline(evutil_socket_t fd, short events, void *arg)
{
    stop_now();
}

static void on_signal(evutil_socket_t fd, short events, void *arg)
{
    stop_now();
}

/* Append one request to the connection's output. */
static void send_request(conn *c)
{
    if (stopping || (opt.max_requests && sent >= opt.max_requests))
        return;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add(out, request_head, request_head_len);
    if (opt.fixed_body) {
        evbuffer_add_printf(out, "Content-Length: %zu\r\n\r\n", opt.fixed_body_len);
        evbuffer_add(out, opt.fixed_body, opt.fixed_body_len);
    } else if (opt.mix) {
        char body[512];
        int len = mix_body(sent, body, sizeof body);
        if (len < 0)
            len = 0;
        evbuffer_add_printf(out, "Content-Length: %d\r\n\r\n", len);
        evbuffer_add(out, body, (size_t)len);
    } else {
        /* Points spread over a few km around central Lishui, all inside
         * the Lishui dataset's community grids (28.43-28.47 N,
         * 119.90-119.94 E): a point outside every grid is refused (422). */
        unsigned long long n = sent;
        double lat = 28.43 + (double)(n % 997) * 0.00004;
        double lon = 119.90 + (double)((n / 997) % 991) * 0.00004;
        const char *cat = opt.categories[n % (unsigned)opt.n_categories];
        char body[512];
        int len = snprintf(body, sizeof body,
                           "{\"category\":\"%s\",\"lat\":%.6f,\"lon\":%.6f,"
                           "\"description\":\"bench %llu\",\"source\":\"patrol\"}",
                           cat, lat, lon, n);
        evbuffer_add_printf(out, "Content-Length: %d\r\n\r\n", len);
        evbuffer_add(out, body, (size_t)len);
    }
    sent++;
    c->in_flight = 1;
    c->state = WAIT_HEAD;
    c->sent_ns = now_ns();
}

static void conn_close(conn *c)
{
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
    c->in_flight = 0;
}

static void on_reconnect_timer(evutil_socket_t fd, short events, void *arg)
{
    conn_open(arg);
}

/* Drop the connection and open a new one; after an error wait a little so a
 * server that refuses connections does not turn this into a busy loop. */
static void conn_restart(conn *c, int after_error)
{
    conn_close(c);
    if (stopping)
        return;
    reconnects++;
    struct timeval delay = { 0, after_error ? 20000 : 0 };
    event_base_once(base, -1, EV_TIMEOUT, on_reconnect_timer, c, &delay);
}

static void response_done(conn *c)
{
    uint64_t t = now_ns();
    completed++;
    hist[hist_index((t - c->sent_ns) / 1000)]++;
    if (c->status >= 100 && c->status < 600)
        status_counts[c->status]++;
    c->in_flight = 0;
    if (opt.max_requests && completed >= opt.max_requests) {
        stop_now();
        return;
    }
    if (c->close_after)
        conn_restart(c, 0);
    else
        send_request(c);
}

/* Parse the status line and the headers we care about. -1: not HTTP. */
static int parse_head(conn *c, const char *head, size_t len)
{
    if (len < 12 || strncmp(head, "HTTP/1.", 7) != 0)
        return -1;
    int minor = head[7] - '0';
    c->status = atoi(head + 9);
    c->content_length = -1;
    c->close_after = minor == 0;
    const char *p = memchr(head, '\n', len);
    const char *end = head + len;
    while (p && p + 1 < end) {
        const char *line = p + 1;
        p = memchr(line, '\n', (size_t)(end - line));
        if (!strncasecmp(line, "Content-Length:", 15)) {
            c->content_length = atoll(line + 15);
        } else if (!strncasecmp(line, "Connection:", 11)) {
            const char *v = line + 11;
            while (*v == ' ')
                v++;
            if (!strncasecmp(v, "close", 5))
                c->close_after = 1;
            else if (!strncasecmp(v, "keep-alive", 10))
                c->close_after = 0;
        } else if (!strncasecmp(line, "Transfer-Encoding:", 18)) {
            return -1; /* chunked replies: not something these servers send */
        }
    }
    return 0;
}

static void on_read(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (c->in_flight) {
        if (c->state == WAIT_HEAD) {
            struct evbuffer_ptr pos = evbuffer_search(in, "\r\n\r\n", 4, NULL);
            if (pos.pos < 0) {
                if (evbuffer_get_length(in) > MAX_HEAD_BYTES)
                    goto broken;
                return;
            }
            size_t head_len = (size_t)pos.pos + 4;
            const char *head = (const char *)evbuffer_pullup(in, (ev_ssize_t)head_len);
            if (!head || parse_head(c, head, head_len) < 0)
                goto broken;
            evbuffer_drain(in, head_len);
            if (c->status == 204 || c->status == 304 || c->status < 200)
                c->content_length = 0;
            if (c->content_length >= 0) {
                c->state = WAIT_BODY;
            } else {
                c->state = WAIT_EOF; /* body ends when the server closes */
                c->close_after = 1;
                return;
            }
        }
        if (c->state == WAIT_BODY) {
            if ((long long)evbuffer_get_length(in) < c->content_length)
                return;
            evbuffer_drain(in, (size_t)c->content_length);
            response_done(c);
            if (!c->bev)
                return;
        } else {
            return;
        }
    }
    /* Bytes nobody asked for: the connection is out of step. */
    if (c->bev && evbuffer_get_length(in) > 0)
        goto broken;
    return;
broken:
    errors++;
    conn_restart(c, 1);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        int one = 1;
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        send_request(c);
        return;
    }
    if ((what & BEV_EVENT_EOF) && c->in_flight && c->state == WAIT_EOF) {
        evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
        response_done(c);
        if (c->bev)
            conn_restart(c, 0);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT)
        timeouts++;
    else if (c->in_flight || (what & BEV_EVENT_ERROR))
        errors++;
    conn_restart(c, (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) != 0);
}

static void conn_open(conn *c)
{
    if (stopping)
        return;
    c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        errors++;
        stop_now();
        return;
    }
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    struct timeval rt = { REQUEST_TIMEOUT_S, 0 };
    bufferevent_set_timeouts(c->bev, &rt, &rt);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&server_addr, (int)server_addrlen) < 0) {
        errors++;
        conn_restart(c, 1);
    }
}

/* ---------------------------------------------------------------- setup */
static int parse_url(const char *url)
{
    if (strncmp(url, "http://", 7) != 0) {
        fprintf(stderr, "load_post: only http:// URLs, got \"%s\"\n", url);
        return -1;
    }
    const char *h = url + 7;
    const char *slash = strchr(h, '/');
    const char *hostport_end = slash ? slash : h + strlen(h);
    const char *colon = memchr(h, ':', (size_t)(hostport_end - h));
    const char *host_end = colon ? colon : hostport_end;
    if (host_end == h || (size_t)(host_end - h) >= sizeof opt.host) {
        fprintf(stderr, "load_post: no host in \"%s\"\n", url);
        return -1;
    }
    memcpy(opt.host, h, (size_t)(host_end - h));
    opt.host[host_end - h] = '\0';
    if (colon) {
        size_t plen = (size_t)(hostport_end - colon - 1);
        if (plen == 0 || plen >= sizeof opt.port) {
            fprintf(stderr, "load_post: bad port in \"%s\"\n", url);
            return -1;
        }
        memcpy(opt.port, colon + 1, plen);
        opt.port[plen] = '\0';
    } else {
        strcpy(opt.port, "80");
    }
    snprintf(opt.path, sizeof opt.path, "%s", slash ? slash : "/");
    return 0;
}

static int resolve_server(void)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
    int rc = getaddrinfo(opt.host, opt.port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "load_post: cannot resolve %s:%s: %s\n", opt.host, opt.port, gai_strerror(rc));
        return -1;
    }
    memcpy(&server_addr, res->ai_addr, res->ai_addrlen);
    server_addrlen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int read_body_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "load_post: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            if (cap >= (1u << 24)) {
                fprintf(stderr, "load_post: %s is larger than 16 MiB\n", path);
                free(buf);
                fclose(f);
                return -1;
            }
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger)
                free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "load_post: out of memory reading %s\n", path);
        return -1;
    }
    opt.fixed_body = buf;
    opt.fixed_body_len = len;
    return 0;
}

/* Splits "a,b,c" in place into opt.categories. */
static int parse_categories(char *list)
{
    opt.n_categories = 0;
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (opt.n_categories == MAX_CATEGORIES)
            return -1;
        for (const char *p = tok; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || *p == '_' || (*p >= '0' && *p <= '9')))
                return -1;
        opt.categories[opt.n_categories++] = tok;
    }
    return opt.n_categories > 0 ? 0 : -1;
}

static int build_request_head(void)
{
    size_t cap = 2048 + strlen(opt.path);
    for (int i = 0; i < opt.n_headers; i++)
        cap += strlen(opt.headers[i]) + 2;
    request_head = malloc(cap);
    if (!request_head)
        return -1;
    int n = snprintf(request_head, cap,
                     "POST %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\n",
                     opt.path, opt.host, opt.port);
    for (int i = 0; i < opt.n_headers; i++)
        n += snprintf(request_head + n, cap - (size_t)n, "%s\r\n", opt.headers[i]);
    request_head_len = (size_t)n;
    return 0;
}

/* Binds port 0 and reports what the OS gave: a port that is free right now. */
static int print_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sa;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
        fprintf(stderr, "load_post: cannot find a free port: %s\n", strerror(errno));
        return 1;
    }
    printf("%d\n", ntohs(sa.sin_port));
    close(fd);
    return 0;
}

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s --url http://HOST:PORT/PATH [--connections N] [--seconds S]\n"
            "          [--requests N] [--header 'Name: value']... [--body-file F]\n"
            "          [--categories a,b,... | --mix FILE]\n"
            "       %s --free-port\n",
            prog, prog);
}

int main(int argc, char **argv)
{
    const char *url = NULL;
    static char default_categories[] = "street_stall";
    char *categories = default_categories;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "--free-port")) {
            return print_free_port();
        } else if (!strcmp(a, "--url") && has_value) {
            url = argv[++i];
        } else if (!strcmp(a, "--connections") && has_value) {
            opt.connections = atoi(argv[++i]);
        } else if (!strcmp(a, "--seconds") && has_value) {
            opt.seconds = atof(argv[++i]);
        } else if (!strcmp(a, "--requests") && has_value) {
            opt.max_requests = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(a, "--header") && has_value) {
            if (opt.n_headers == MAX_HEADERS) {
                fprintf(stderr, "load_post: at most %d headers\n", MAX_HEADERS);
                return 2;
            }
            opt.headers[opt.n_headers++] = argv[++i];
        } else if (!strcmp(a, "--body-file") && has_value) {
            if (read_body_file(argv[++i]) < 0)
                return 2;
        } else if (!strcmp(a, "--categories") && has_value) {
            categories = argv[++i];
        } else if (!strcmp(a, "--mix") && has_value) {
            if (mix_load(argv[++i]) < 0)
                return 2;
            opt.mix = 1;
        } else {
            usage(argv[0]);
            return 2;
        }
    }
    if (!url) {
        usage(argv[0]);
        return 2;
    }
    if (opt.connections < 1 || opt.connections > MAX_CONNECTIONS) {
        fprintf(stderr, "load_post: --connections must be 1..%d\n", MAX_CONNECTIONS);
        return 2;
    }
    if (!(opt.seconds > 0 && opt.seconds <= 3600)) {
        fprintf(stderr, "load_post: --seconds must be in (0, 3600]\n");
        return 2;
    }
    if (parse_categories(categories) < 0) {
        fprintf(stderr, "load_post: --categories wants up to %d codes like street_stall,sanitation\n",
                MAX_CATEGORIES);
        return 2;
    }
    for (int i = 0; i < opt.n_headers; i++)
        if (!strchr(opt.headers[i], ':') || strpbrk(opt.headers[i], "\r\n")) {
            fprintf(stderr, "load_post: a header is 'Name: value', got \"%s\"\n", opt.headers[i]);
            return 2;
        }
    if (parse_url(url) < 0 || resolve_server() < 0 || build_request_head() < 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);

    base = event_base_new();
    if (!base) {
        fprintf(stderr, "load_post: cannot create the event loop\n");
        return 1;
    }
    struct timeval limit = { (time_t)opt.seconds,
                             (suseconds_t)((opt.seconds - (double)(time_t)opt.seconds) * 1e6) };
    struct event *deadline = evtimer_new(base, on_deadline, NULL);
    struct event *term = evsignal_new(base, SIGTERM, on_signal, NULL);
    struct event *intr = evsignal_new(base, SIGINT, on_signal, NULL);
    if (!deadline || !term || !intr || evtimer_add(deadline, &limit) < 0 ||
        event_add(term, NULL) < 0 || event_add(intr, NULL) < 0) {
        fprintf(stderr, "load_post: cannot set up timers\n");
        return 1;
    }
    started_ns = now_ns();
    for (int i = 0; i < opt.connections; i++) {
        conns[i].index = i;
        conn_open(&conns[i]);
    }
    event_base_dispatch(base);
    if (!stopping)
        stopped_ns = now_ns();

    double elapsed = (double)(stopped_ns - started_ns) / 1e9;
    printf("url: %s\n", url);
    printf("connections: %d\n", opt.connections);
    printf("seconds: %.2f\n", elapsed);
    printf("requests: %llu\n", completed);
    printf("req_per_s: %.0f\n", elapsed > 0 ? (double)completed / elapsed : 0.0);
    unsigned long long ok = 0;
    for (int s = 100; s < 600; s++)
        if (status_counts[s]) {
            printf("status_%d: %llu\n", s, status_counts[s]);
            if (s >= 200 && s < 300)
                ok += status_counts[s];
        }
    printf("non_2xx: %llu\n", completed - ok);
    printf("errors: %llu\n", errors);
    printf("timeouts: %llu\n", timeouts);
    printf("reconnects: %llu\n", reconnects);
    printf("latency_p50_ms: %.3f\n", hist_percentile(completed, 50) / 1000.0);
    printf("latency_p99_ms: %.3f\n", hist_percentile(completed, 99) / 1000.0);
    printf("latency_max_ms: %.3f\n", hist_percentile(completed, 100) / 1000.0);

    for (int i = 0; i < opt.connections; i++)
        conn_close(&conns[i]);
    event_free(deadline);
    event_free(term);
    event_free(intr);
    event_base_free(base);
    free(request_head);
    free(opt.fixed_body);
    mix_free();
    return completed > 0 ? 0 : 1;
}
