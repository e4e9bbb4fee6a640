/*
 * load_plugin.c — load one plugin .so the way citygridd does, for
 * tests/sdk/test_skeleton.sh (a plugin built out of tree must pass the same
 * gate as ours):
 *
 *   load_plugin PLUGIN.so [DISPATCH_JSON]
 *
 * 1. the real loader (cg_loader_open): file, entry points, ABI, descriptor;
 * 2. the real runtime (cg_runtime_start): init() on the daemon's host table,
 *    on a thread of its own, then shutdown();
 * 3. with DISPATCH_JSON, the mock host (tests/support/plugin_mock.c):
 *    init() and handle() of that case, printing the actions.
 *
 * Prints "loaded NAME VERSION department DEPT abi MAJOR.MINOR", "init ok",
 * then "handle rc N" and one "action TYPE ARG" line per action. Exits 0 when
 * every step succeeded, 1 (with the reason on stderr) otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <zmq.h>

#include "wire/loader.h"
#include "wire/runtime.h"
#include "support/plugin_mock.h"

static int run_on_real_host(const cg_loaded_plugin *p)
{
    char err[1024] = "";
    void *zctx = zmq_ctx_new();
    if (!zctx) {
        fprintf(stderr, "zmq_ctx_new failed\n");
        return -1;
    }
    /* Nobody binds the endpoint: init() runs all the same, and READY waits
     * in the socket until stop. */
    cg_runtime_options o = {.zmq_ctx = zctx, .endpoint = "inproc://load-plugin",
                            .plugin = p->desc, .abi = p->abi, .settings_json = "{}",
                            .mode = "thread", .credit = 1, .heartbeat_ms = 1000};
    cg_runtime *rt = cg_runtime_start(&o, err, sizeof err);
    if (rt)
        cg_runtime_stop(rt);
    else
        fprintf(stderr, "%s: init() on the real host failed: %s\n", p->path, err);
    zmq_ctx_term(zctx);
    return rt ? 0 : -1;
}

static int handle_on_mock_host(const char *path, const char *dispatch_json)
{
    char err[1024] = "";
    plugin_mock *m = pm_open(path, err, sizeof err);
    if (!m) {
        fprintf(stderr, "mock host: %s\n", err);
        return -1;
    }
    int rc = pm_init(m, NULL);
    if (rc != CITYGRID_OK) {
        fprintf(stderr, "%s: init() on the mock host returned %d\n", path, rc);
        pm_close(m);
        return -1;
    }
    rc = pm_handle_json(m, dispatch_json, 1);
    printf("handle rc %d\n", rc);
    for (size_t i = 0; i < pm_n_actions(m); i++) {
        const pm_action *a = pm_action_at(m, i);
        const char *arg = a->assignee ? a->assignee : a->department ? a->department
                        : a->text ? a->text : "";
        if (a->at)
            printf("action %s %lld\n", a->type, (long long)a->at);
        else
            printf("action %s%s%s\n", a->type, *arg ? " " : "", arg);
    }
    pm_close(m);
    return rc == CITYGRID_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s PLUGIN.so [DISPATCH_JSON]\n", argv[0]);
        return 2;
    }
    cg_loaded_plugin p;
    char err[1024] = "";
    if (cg_loader_open(argv[1], &p, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("loaded %s %s department %s abi %u.%u\n", p.desc->name, p.desc->version,
           p.desc->department, (unsigned)p.abi.major, (unsigned)p.abi.minor);
    int failed = run_on_real_host(&p) != 0;
    if (!failed)
        printf("init ok\n");
    cg_loader_close(&p);
    if (!failed && argc == 3)
        failed = handle_on_mock_host(argv[1], argv[2]) != 0;
    fflush(stdout);
    return failed ? 1 : 0;
}
