/*
 * plugind.c — citygrid-plugind: hosts ONE plugin .so outside citygridd and
 * connects it to the core's bus. The same runtime as thread mode
 * (core/wire/runtime.c) runs it, so plugin code cannot tell the modes apart.
 *
 *   citygrid-plugind --plugin PATH --endpoint URL [--name NAME]
 *                    [--settings JSON | --settings-file FILE] [--credit N]
 *                    [--server-key FILE --key FILE] [--heartbeat-ms N]
 *                    [--instance ID] [--log-level LEVEL]
 *
 * Process mode: citygridd starts it with an ipc:// endpoint and supervises
 * it (restarts it when it dies). Remote mode: a department runs it on its own
 * host with a tcp:// endpoint and CURVE keys: --server-key is the core's
 * public key file, --key this host's keypair file (`citygridctl keygen`).
 * SIGTERM/SIGINT stop it cleanly (DISCONNECT, shutdown(), exit 0).
 * Exit status: 0 clean stop, 1 the plugin could not be loaded or started,
 * 2 usage.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/curvekeys.h"
#include "wire/loader.h"
#include "lib/log.h"
#include "wire/runtime.h"

#ifndef CITYGRID_VERSION
#define CITYGRID_VERSION "0.0.0"
#endif

static volatile sig_atomic_t stop_signal;
static volatile int stop_flag;

static void on_signal(int sig)
{
    stop_signal = sig;
    stop_flag = 1;
}

static void usage(FILE *to)
{
    fprintf(to,
            "usage: citygrid-plugind --plugin PATH --endpoint URL [options]\n"
            "  --plugin PATH          the plugin .so to host\n"
            "  --endpoint URL         the core's bus: ipc://... (process mode) or\n"
            "                         tcp://HOST:PORT (remote mode, needs the keys)\n"
            "  --name NAME            name for log lines (default: the plugin's)\n"
            "  --settings JSON        the plugin's settings object\n"
            "  --settings-file FILE   ... or read it from a file\n"
            "  --credit N             dispatches it may hold at once (default 64)\n"
            "  --server-key FILE      the core's public key file (remote mode)\n"
            "  --key FILE             this host's keypair file (remote mode)\n"
            "  --heartbeat-ms N       heartbeat interval (default 1000)\n"
            "  --instance ID          which start this is (set by citygridd)\n"
            "  --log-level LEVEL      error, warning, notice, info, debug\n"
            "  --version\n");
}

typedef struct plugind_options {
    const char *plugin, *endpoint, *name, *settings, *settings_file, *server_key, *key;
    const char *instance, *log_level;
    long credit, heartbeat_ms;
} plugind_options;

static int parse_long(const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || !*text || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_cli(int argc, char **argv, plugind_options *o)
{
    static const struct option longopts[] = {
        {"plugin", required_argument, NULL, 'p'},      {"endpoint", required_argument, NULL, 'e'},
        {"name", required_argument, NULL, 'n'},        {"settings", required_argument, NULL, 's'},
        {"settings-file", required_argument, NULL, 'S'},
        {"credit", required_argument, NULL, 'c'},      {"server-key", required_argument, NULL, 'k'},
        {"key", required_argument, NULL, 'K'},         {"heartbeat-ms", required_argument, NULL, 'H'},
        {"instance", required_argument, NULL, 'i'},    {"log-level", required_argument, NULL, 'L'},
        {"version", no_argument, NULL, 'V'},           {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    o->credit = 64;
    o->heartbeat_ms = 1000;
    while ((c = getopt_long(argc, argv, "p:e:n:s:S:c:k:K:H:i:L:Vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'p': o->plugin = optarg; break;
        case 'e': o->endpoint = optarg; break;
        case 'n': o->name = optarg; break;
        case 's': o->settings = optarg; break;
        case 'S': o->settings_file = optarg; break;
        case 'k': o->server_key = optarg; break;
        case 'K': o->key = optarg; break;
        case 'i': o->instance = optarg; break;
        case 'L': o->log_level = optarg; break;
        case 'c':
            if (parse_long(optarg, 1, 100000, &o->credit) < 0) {
                fprintf(stderr, "citygrid-plugind: --credit must be 1..100000\n");
                return -1;
            }
            break;
        case 'H':
            if (parse_long(optarg, 20, 60000, &o->heartbeat_ms) < 0) {
                fprintf(stderr, "citygrid-plugind: --heartbeat-ms must be 20..60000\n");
                return -1;
            }
            break;
        case 'V': printf("citygrid-plugind %s\n", CITYGRID_VERSION); exit(0);
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "citygrid-plugind: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (!o->plugin || !o->endpoint) {
        fprintf(stderr, "citygrid-plugind: --plugin and --endpoint are required\n");
        usage(stderr);
        return -1;
    }
    if (o->settings && o->settings_file) {
        fprintf(stderr, "citygrid-plugind: give --settings or --settings-file, not both\n");
        return -1;
    }
    int tcp = strncmp(o->endpoint, "tcp://", 6) == 0;
    if (!tcp && strncmp(o->endpoint, "ipc://", 6) != 0) {
        fprintf(stderr, "citygrid-plugind: --endpoint must be ipc://PATH or tcp://HOST:PORT\n");
        return -1;
    }
    if (tcp && (!o->server_key || !o->key)) {
        fprintf(stderr, "citygrid-plugind: a tcp:// endpoint needs --server-key (the core's "
                        "public key) and --key (this host's keypair): links to a remote core "
                        "are always encrypted and authenticated\n");
        return -1;
    }
    if (!tcp && (o->server_key || o->key)) {
        fprintf(stderr, "citygrid-plugind: --server-key/--key are for tcp:// endpoints only\n");
        return -1;
    }
    if (o->log_level && cg_log_level_parse(o->log_level) < 0) {
        fprintf(stderr, "citygrid-plugind: --log-level '%s' is not one of error, warning, "
                        "notice, info, debug\n", o->log_level);
        return -1;
    }
    return 0;
}

/* The settings as compact JSON object text (malloc'd), or NULL with a message. */
static char *load_settings(const plugind_options *o)
{
    json_error_t jerr;
    json_t *v;
    if (o->settings_file)
        v = json_load_file(o->settings_file, 0, &jerr);
    else if (o->settings)
        v = json_loads(o->settings, 0, &jerr);
    else
        v = json_object();
    if (!json_is_object(v)) {
        fprintf(stderr, "citygrid-plugind: %s: settings must be a JSON object%s%s\n",
                o->settings_file ? o->settings_file : "--settings", v ? "" : ": ",
                v ? "" : jerr.text);
        json_decref(v);
        return NULL;
    }
    char *text = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    return text;
}

int main(int argc, char **argv)
{
    plugind_options o = {0};
    if (parse_cli(argc, argv, &o) < 0)
        return 2;
    if (o.log_level)
        cg_log_set_level(cg_log_level_parse(o.log_level));
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    char *settings = load_settings(&o);
    if (!settings)
        return 1;
    cg_curve_keys server, mine;
    memset(&server, 0, sizeof server);
    memset(&mine, 0, sizeof mine);
    char err[640];
    if (o.server_key && (cg_curve_keys_read(o.server_key, 0, &server, err, sizeof err) < 0 ||
                         cg_curve_keys_read(o.key, 1, &mine, err, sizeof err) < 0)) {
        fprintf(stderr, "citygrid-plugind: %s\n", err);
        free(settings);
        return 1;
    }
    cg_loaded_plugin lp;
    if (cg_loader_open(o.plugin, &lp, err, sizeof err) < 0) {
        CG_ERROR("plugind", "%s", err);
        free(settings);
        return 1;
    }
    const char *name = o.name ? o.name : lp.desc->name;
    int remote = strncmp(o.endpoint, "tcp://", 6) == 0;
    cg_runtime_options ro = {
        .endpoint = o.endpoint,
        .plugin = lp.desc,
        .abi = lp.abi,
        .settings_json = settings,
        .mode = remote ? "remote" : "process",
        .credit = (unsigned)o.credit,
        .heartbeat_ms = (int)o.heartbeat_ms,
        .instance = o.instance,
        .curve_server_key = remote ? server.public_key : NULL,
        .curve_public_key = remote ? mine.public_key : NULL,
        .curve_secret_key = remote ? mine.secret_key : NULL,
    };
    CG_NOTICE("plugind", "%s %s (ABI %u.%u, department %s) pid %ld connecting to %s", name,
              lp.desc->version, lp.abi.major, lp.abi.minor, lp.desc->department, (long)getpid(),
              o.endpoint);
    int rc = cg_runtime_run(&ro, &stop_flag, err, sizeof err);
    explicit_bzero(&mine, sizeof mine);
    if (rc < 0)
        CG_ERROR("plugind", "%s: %s", name, err);
    else
        CG_NOTICE("plugind", "%s stopped (%s)", name,
                  stop_signal ? strsignal((int)stop_signal) : "done");
    cg_loader_close(&lp);
    free(settings);
    return rc < 0 ? 1 : 0;
}
