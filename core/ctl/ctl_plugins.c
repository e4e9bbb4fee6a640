/*
 * ctl_plugins.c — citygridctl's plugin commands (ctl.h):
 *
 *   plugin list                     GET /v1/plugins, one line per plugin
 *   plugin reload|enable|disable NAME   POST /v1/plugins/NAME/ACTION (admin)
 *   status                          GET /v1/health and /v1/plugins
 *   keygen OUT                      write OUT.pub and OUT.key (CURVE keypair
 *                                   for a remote plugin link; OUT.key 0600)
 *
 * Everything that touches the daemon goes through its HTTP API; keygen
 * needs no daemon.
 */
#include "ctl/ctl.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl_http.h"
#include "lib/curvekeys.h"

/* GET path as JSON; NULL after printing why. */
static json_t *api_get(const cg_ctl_env *env, const char *path)
{
    cg_ctl_response r;
    int status = cg_ctl_api(env, "GET", path, NULL, &r);
    json_t *j = NULL;
    if (status == 200)
        j = json_loadb(r.body, r.body_len, 0, NULL);
    else if (status > 0)
        cg_ctl_print_api_error(path, &r);
    if (status == 200 && !j)
        fprintf(stderr, "citygridctl: %s: the answer is not JSON\n", path);
    cg_ctl_response_free(&r);
    return j;
}

static const char *str(json_t *o, const char *key, const char *def)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : def;
}

static long long num(json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static void print_plugins(json_t *list)
{
    if (json_is_object(list)) /* {"items": [...]} */
        list = json_object_get(list, "items");
    printf("%-14s %-8s %-10s %-9s %-5s %-14s %7s %6s %8s %7s %8s %5s %9s %s\n", "NAME", "MODE",
           "STATE", "VERSION", "ABI", "DEPARTMENT", "PID", "QUEUE", "INFLIGHT", "HANDLED",
           "FAILURES", "DEAD", "RESTARTS", "LAST ERROR");
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p) {
        char pid[16] = "-";
        if (num(p, "pid") > 0)
            snprintf(pid, sizeof pid, "%lld", num(p, "pid"));
        printf("%-14s %-8s %-10s %-9s %-5s %-14s %7s %6lld %8lld %7lld %8lld %5lld %9lld %s\n",
               str(p, "name", "?"), str(p, "mode", "?"), str(p, "state", "?"),
               str(p, "version", "-"), str(p, "abi", "-"), str(p, "department", "-"), pid,
               num(p, "queue"), num(p, "in_flight"), num(p, "handled"), num(p, "failures"),
               num(p, "dead_letters"), num(p, "restarts"),
               str(p, "last_error", str(p, "error", "")));
    }
}

static int plugin_list(const cg_ctl_env *env)
{
    json_t *list = api_get(env, "/v1/plugins");
    if (!list)
        return 1;
    print_plugins(list);
    json_decref(list);
    return 0;
}

static int plugin_action(const cg_ctl_env *env, const char *action, const char *name)
{
    char *enc = cg_ctl_url_encode(name);
    char path[512];
    snprintf(path, sizeof path, "/v1/plugins/%s/%s", enc ? enc : name, action);
    free(enc);
    cg_ctl_response r;
    int status = cg_ctl_api(env, "POST", path, "{}", &r);
    int rc = 1;
    if (status == 200) {
        json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
        const char *instance = str(j, "instance", NULL);
        printf("%s: %s%s%s\n", name, str(j, "result", action), instance ? " as instance " : "",
               instance ? instance : "");
        if (strcmp(action, "disable") != 0)
            printf("(the previous instance finishes what it holds; `citygridctl plugin list` "
                   "shows the hand-over)\n");
        json_decref(j);
        rc = 0;
    } else if (status > 0) {
        char what[600];
        snprintf(what, sizeof what, "plugin %s %s", action, name);
        cg_ctl_print_api_error(what, &r);
    }
    cg_ctl_response_free(&r);
    return rc;
}

static int run_plugin(const cg_ctl_env *env, int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "list") == 0)
        return plugin_list(env);
    if (argc == 3 && (strcmp(argv[1], "reload") == 0 || strcmp(argv[1], "enable") == 0 ||
                      strcmp(argv[1], "disable") == 0))
        return plugin_action(env, argv[1], argv[2]);
    fprintf(stderr, "usage: citygridctl plugin list | plugin reload|enable|disable NAME\n");
    return 2;
}

static int run_status(const cg_ctl_env *env, int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: citygridctl status\n");
        return 2;
    }
    json_t *health = api_get(env, "/v1/health");
    if (!health)
        return 1;
    printf("citygridd %s at %s: %s\n", str(health, "version", "?"), env->url,
           str(health, "status", "?"));
    json_decref(health);
    json_t *list = api_get(env, "/v1/plugins");
    if (!list)
        return 1;
    print_plugins(list);
    json_decref(list);
    return 0;
}

static int run_keygen(const cg_ctl_env *env, int argc, char **argv)
{
    if (argc != 2 || !argv[1][0]) {
        fprintf(stderr, "usage: citygridctl keygen OUT   (writes OUT.pub and OUT.key)\n");
        return 2;
    }
    char err[4200];
    if (cg_curve_keys_generate(argv[1], err, sizeof err) < 0) {
        fprintf(stderr, "citygridctl: keygen: %s\n", err);
        return 1;
    }
    printf("wrote %s.pub (public: give it to the other side) and %s.key (secret, mode 0600)\n",
           argv[1], argv[1]);
    return 0;
}

const cg_ctl_command cg_ctl_plugin_commands[] = {
    {"plugin", "plugin list | plugin reload NAME | plugin enable NAME | plugin disable NAME",
     "list the plugins with their live figures; reload loads the configured .so again beside "
     "the running one (hot release, nothing lost); enable/disable switch one at run time "
     "(not written to the config)",
     run_plugin},
    {"status", "status", "the daemon's health and every plugin's state", run_status},
    {"keygen", "keygen OUT",
     "write a CURVE keypair for a remote plugin link: OUT.pub (public) and OUT.key (secret, "
     "created mode 0600); refuses to overwrite",
     run_keygen},
    {NULL, NULL, NULL, NULL},
};
