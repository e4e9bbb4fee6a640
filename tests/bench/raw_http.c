/*
 * raw_http.c — the HTTP ceiling for `make bench`: the least a libevent evhttp
 * server can do per POST (one thread, one event loop). Its handler reads the
 * body and answers 201 with a small JSON, so the ratio citygridd / raw_http
 * measures what the daemon's own work costs, not what libevent costs.
 *
 *   raw_http --listen 127.0.0.1:PORT     (PORT 0: the OS picks one)
 *
 * Prints "listening PORT" on stdout once it accepts connections; runs until
 * SIGTERM or SIGINT; then prints "requests: N" on stdout.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

static unsigned long long requests_served;

static void handle_request(struct evhttp_request *req, void *arg)
{
    (void)arg;
    if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
        /* The trivial GET handler: the ceiling for GET /v1/grids/locate. */
        struct evbuffer *reply = evbuffer_new();
        if (!reply) {
            evhttp_send_error(req, 500, "out of memory");
            return;
        }
        requests_served++;
        evbuffer_add_printf(reply, "{\"grid\":\"33110200100101\",\"n\":%llu}", requests_served);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "application/json");
        evhttp_send_reply(req, 200, "OK", reply);
        evbuffer_free(reply);
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_send_error(req, 405, "only POST and GET");
        return;
    }
    /* Read the body out of the buffer, as a real handler that parses it would. */
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    char body[4096];
    size_t take = len < sizeof body ? len : sizeof body;
    evbuffer_remove(in, body, take);
    evbuffer_drain(in, evbuffer_get_length(in));

    requests_served++;
    struct evbuffer *out = evbuffer_new();
    if (!out) {
        evhttp_send_error(req, 500, "out of memory");
        return;
    }
    evbuffer_add_printf(out, "{\"id\":\"C%08llu\",\"status\":\"dispatched\",\"bytes\":%zu}",
                        requests_served, len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evhttp_send_reply(req, 201, "Created", out);
    evbuffer_free(out);
}

static void on_signal(evutil_socket_t sig, short events, void *arg)
{
    (void)sig;
    (void)events;
    event_base_loopbreak(arg);
}

/* "HOST:PORT" -> parts; -1 when malformed. */
static int parse_listen(const char *text, char *host, size_t hostlen, int *port)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text || (size_t)(colon - text) >= hostlen)
        return -1;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end || end == colon + 1 || p < 0 || p > 65535)
        return -1;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    *port = (int)p;
    return 0;
}

int main(int argc, char **argv)
{
    const char *listen_arg = "127.0.0.1:0";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--listen") && i + 1 < argc) {
            listen_arg = argv[++i];
        } else {
            fprintf(stderr, "usage: %s [--listen HOST:PORT]\n", argv[0]);
            return 2;
        }
    }
    char host[256];
    int port;
    if (parse_listen(listen_arg, host, sizeof host, &port) < 0) {
        fprintf(stderr, "raw_http: --listen wants HOST:PORT, got \"%s\"\n", listen_arg);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    struct event_base *base = event_base_new();
    struct evhttp *http = base ? evhttp_new(base) : NULL;
    if (!http) {
        fprintf(stderr, "raw_http: cannot create the event loop\n");
        return 1;
    }
    evhttp_set_gencb(http, handle_request, NULL);
    struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(http, host, (ev_uint16_t)port);
    if (!bound) {
        fprintf(stderr, "raw_http: cannot listen on %s: %s\n", listen_arg, strerror(errno));
        return 1;
    }
    /* With port 0 the OS chose: ask the socket which. */
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &sl) < 0) {
        fprintf(stderr, "raw_http: getsockname: %s\n", strerror(errno));
        return 1;
    }
    int actual = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                          : ntohs(((struct sockaddr_in *)&ss)->sin_port);

    struct event *term = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *intr = evsignal_new(base, SIGINT, on_signal, base);
    if (!term || !intr || event_add(term, NULL) < 0 || event_add(intr, NULL) < 0) {
        fprintf(stderr, "raw_http: cannot watch signals\n");
        return 1;
    }
    printf("listening %d\n", actual);
    fflush(stdout);

    event_base_dispatch(base);

    printf("requests: %llu\n", requests_served);
    event_free(term);
    event_free(intr);
    evhttp_free(http);
    event_base_free(base);
    return 0;
}
