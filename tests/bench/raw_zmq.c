/*
 * raw_zmq.c — the bus ceiling for `make bench`: plain ZeroMQ DEALER <-> ROUTER
 * (the pattern citygridd's bus uses) with 300-byte messages, nothing else.
 *
 *   raw_zmq [--roundtrips N] [--messages N] [--transports inproc,ipc,tcp]
 *
 * For each transport (inproc; ipc and tcp over 127.0.0.1 for reference):
 *   round trip: the DEALER sends, a thread owning the ROUTER echoes it back;
 *               median and p99 over N round trips (default 20000), µs;
 *   one way:    the DEALER sends up to N messages (default 1000000, at most
 *               5 s), the ROUTER thread counts them and answers once at the end;
 *               msgs/s from the first send to that answer.
 * Prints "name: value" lines. Every receive has a timeout: nothing hangs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#define PAYLOAD_BYTES 300
#define RECV_TIMEOUT_MS 5000
#define SEND_LIMIT_S 5.0
#define WARMUP_ROUNDTRIPS 1000

/* One-byte control messages; data messages are PAYLOAD_BYTES long. */
#define MARK_ECHO_DONE 'S'
#define MARK_SINK_DONE 'E'

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The ROUTER side, owned by its own thread once started: echo until told to
 * stop, then count until the end marker and answer with the count. */
typedef struct peer_thread {
    void *router;
    int failed;
} peer_thread;

static void *router_main(void *arg)
{
    peer_thread *pt = arg;
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    zmq_msg_init(&body);
    /* Phase 1: echo. */
    for (;;) {
        if (zmq_msg_recv(&id, pt->router, 0) < 0 || zmq_msg_recv(&body, pt->router, 0) < 0)
            goto fail;
        int stop = zmq_msg_size(&body) == 1 && *(char *)zmq_msg_data(&body) == MARK_ECHO_DONE;
        if (zmq_msg_send(&id, pt->router, ZMQ_SNDMORE) < 0 || zmq_msg_send(&body, pt->router, 0) < 0)
            goto fail;
        if (stop)
            break;
    }
    /* Phase 2: sink. */
    unsigned long long count = 0;
    for (;;) {
        if (zmq_msg_recv(&id, pt->router, 0) < 0 || zmq_msg_recv(&body, pt->router, 0) < 0)
            goto fail;
        if (zmq_msg_size(&body) == 1 && *(char *)zmq_msg_data(&body) == MARK_SINK_DONE)
            break;
        count++;
    }
    if (zmq_msg_send(&id, pt->router, ZMQ_SNDMORE) < 0 ||
        zmq_send(pt->router, &count, sizeof count, 0) < 0)
        goto fail;
    zmq_msg_close(&id);
    zmq_msg_close(&body);
    return NULL;
fail:
    fprintf(stderr, "raw_zmq: router: %s\n", zmq_strerror(errno));
    pt->failed = 1;
    zmq_msg_close(&id);
    zmq_msg_close(&body);
    return NULL;
}

static void set_int(void *sock, int option, int value)
{
    zmq_setsockopt(sock, option, &value, sizeof value);
}

typedef struct result {
    double rtt_median_us, rtt_p99_us, msgs_per_s;
} result;

static int bench_transport(void *ctx, const char *transport, int roundtrips,
                           unsigned long long messages, result *r)
{
    char endpoint[256];
    if (!strcmp(transport, "inproc"))
        snprintf(endpoint, sizeof endpoint, "inproc://raw-zmq-bench");
    else if (!strcmp(transport, "ipc"))
        snprintf(endpoint, sizeof endpoint, "ipc://%s/raw_zmq.%ld.sock",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
    else
        snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:*");

    int rc = -1;
    uint64_t *samples = NULL;
    peer_thread pt = { zmq_socket(ctx, ZMQ_ROUTER), 0 };
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    int thread_started = 0;
    pthread_t thread;
    if (!pt.router || !dealer)
        goto out;
    set_int(pt.router, ZMQ_LINGER, 0);
    set_int(dealer, ZMQ_LINGER, 0);
    set_int(pt.router, ZMQ_RCVTIMEO, RECV_TIMEOUT_MS);
    set_int(pt.router, ZMQ_SNDTIMEO, RECV_TIMEOUT_MS);
    set_int(dealer, ZMQ_RCVTIMEO, RECV_TIMEOUT_MS);
    set_int(dealer, ZMQ_SNDTIMEO, RECV_TIMEOUT_MS);
    if (zmq_bind(pt.router, endpoint) < 0) {
        fprintf(stderr, "raw_zmq: bind %s: %s\n", endpoint, zmq_strerror(errno));
        goto out;
    }
    size_t elen = sizeof endpoint;
    zmq_getsockopt(pt.router, ZMQ_LAST_ENDPOINT, endpoint, &elen);
    /* The socket moves to the thread; pthread_create is the memory barrier
     * ZeroMQ asks for when a socket changes threads. */
    if (pthread_create(&thread, NULL, router_main, &pt) != 0)
        goto out;
    thread_started = 1;
    if (zmq_connect(dealer, endpoint) < 0) {
        fprintf(stderr, "raw_zmq: connect %s: %s\n", endpoint, zmq_strerror(errno));
        goto out;
    }

    char payload[PAYLOAD_BYTES], back[PAYLOAD_BYTES];
    memset(payload, 'x', sizeof payload);
    samples = malloc(sizeof *samples * (size_t)roundtrips);
    if (!samples)
        goto out;
    for (int i = -WARMUP_ROUNDTRIPS; i < roundtrips; i++) {
        uint64_t t0 = now_ns();
        if (zmq_send(dealer, payload, sizeof payload, 0) < 0 ||
            zmq_recv(dealer, back, sizeof back, 0) != PAYLOAD_BYTES) {
            fprintf(stderr, "raw_zmq: %s round trip: %s\n", transport, zmq_strerror(errno));
            goto out;
        }
        if (i >= 0)
            samples[i] = now_ns() - t0;
    }
    qsort(samples, (size_t)roundtrips, sizeof *samples, cmp_u64);
    r->rtt_median_us = (double)samples[roundtrips / 2] / 1000.0;
    r->rtt_p99_us = (double)samples[(size_t)((double)roundtrips * 0.99)] / 1000.0;

    char mark = MARK_ECHO_DONE;
    if (zmq_send(dealer, &mark, 1, 0) < 0 || zmq_recv(dealer, back, sizeof back, 0) != 1)
        goto out;

    uint64_t t0 = now_ns();
    unsigned long long sent = 0;
    while (sent < messages) {
        if (zmq_send(dealer, payload, sizeof payload, 0) < 0) {
            fprintf(stderr, "raw_zmq: %s send: %s\n", transport, zmq_strerror(errno));
            goto out;
        }
        sent++;
        if ((sent & 4095) == 0 && (double)(now_ns() - t0) / 1e9 > SEND_LIMIT_S)
            break;
    }
    mark = MARK_SINK_DONE;
    unsigned long long counted = 0;
    if (zmq_send(dealer, &mark, 1, 0) < 0 ||
        zmq_recv(dealer, &counted, sizeof counted, 0) != (int)sizeof counted) {
        fprintf(stderr, "raw_zmq: %s: no count from the router: %s\n", transport, zmq_strerror(errno));
        goto out;
    }
    double elapsed = (double)(now_ns() - t0) / 1e9;
    if (counted != sent) {
        fprintf(stderr, "raw_zmq: %s: sent %llu, router counted %llu\n", transport, sent, counted);
        goto out;
    }
    r->msgs_per_s = (double)counted / elapsed;
    rc = 0;
out:
    if (thread_started)
        pthread_join(thread, NULL); /* bounded: every router receive times out */
    if (pt.failed)
        rc = -1;
    free(samples);
    if (dealer)
        zmq_close(dealer);
    if (pt.router)
        zmq_close(pt.router);
    if (!strncmp(endpoint, "ipc://", 6))
        unlink(endpoint + 6); /* libzmq 4.3 leaves the socket file behind */
    return rc;
}

int main(int argc, char **argv)
{
    int roundtrips = 20000;
    unsigned long long messages = 1000000;
    char transports_buf[64] = "inproc,ipc,tcp";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--roundtrips") && i + 1 < argc) {
            roundtrips = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--messages") && i + 1 < argc) {
            messages = strtoull(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--transports") && i + 1 < argc) {
            snprintf(transports_buf, sizeof transports_buf, "%s", argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--roundtrips N] [--messages N] [--transports inproc,ipc,tcp]\n",
                    argv[0]);
            return 2;
        }
    }
    if (roundtrips < 100 || roundtrips > 10000000 || messages < 1 || messages > 100000000ULL) {
        fprintf(stderr, "raw_zmq: --roundtrips must be 100..10000000, --messages 1..100000000\n");
        return 2;
    }
    void *ctx = zmq_ctx_new();
    if (!ctx) {
        fprintf(stderr, "raw_zmq: zmq_ctx_new: %s\n", zmq_strerror(errno));
        return 1;
    }
    int status = 0;
    char *save = NULL;
    for (char *t = strtok_r(transports_buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "inproc") && strcmp(t, "ipc") && strcmp(t, "tcp")) {
            fprintf(stderr, "raw_zmq: unknown transport \"%s\"\n", t);
            status = 2;
            continue;
        }
        result r;
        if (bench_transport(ctx, t, roundtrips, messages, &r) < 0) {
            printf("raw_zmq_%s_rtt_us: error\n", t);
            status = 1;
            continue;
        }
        printf("raw_zmq_%s_rtt_us: %.1f\n", t, r.rtt_median_us);
        printf("raw_zmq_%s_rtt_p99_us: %.1f\n", t, r.rtt_p99_us);
        printf("raw_zmq_%s_msgs_per_s: %.0f\n", t, r.msgs_per_s);
        fflush(stdout);
    }
    printf("raw_zmq_payload_bytes: %d\n", PAYLOAD_BYTES);
    int major, minor, patch;
    zmq_version(&major, &minor, &patch);
    printf("raw_zmq_version: %d.%d.%d\n", major, minor, patch);
    zmq_ctx_term(ctx);
    return status;
}
