/*
 * citygridctl.c — the admin command line: resolves the global options into
 * a cg_ctl_env and runs one command from the tables of ctl.h.
 *
 *   citygridctl [--config FILE] [--state-dir DIR] [--url http://HOST:PORT] COMMAND [ARGS]
 *
 * State dir: --state-dir, else `state_dir` of --config, else
 * /var/lib/citygrid. URL: --url, else http://LISTEN of --config, else
 * http://127.0.0.1:8080. The admin token is STATE_DIR/admin.token when it
 * is readable. Exit status: the command's (0 ok, 1 refused or failed, 2
 * usage); 2 for an unknown command.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
#include "ctl/ctl.h"
#include "lib/log.h"

#ifndef CITYGRID_VERSION
#define CITYGRID_VERSION "0.0.0"
#endif

#define DEFAULT_STATE_DIR "/var/lib/citygrid"
#define DEFAULT_URL "http://127.0.0.1:8080"

static const cg_ctl_command *const tables[] = {cg_ctl_grid_commands, cg_ctl_plugin_commands,
                                               cg_ctl_backup_commands,
                                               cg_ctl_open311_commands,
                                               cg_ctl_audit_commands};
#define N_TABLES (sizeof tables / sizeof tables[0])

/* A usage line may hold several forms "a | b": one per line. */
static void print_usage_forms(FILE *to, const char *usage)
{
    const char *p = usage;
    for (;;) {
        const char *bar = strstr(p, " | ");
        int len = bar ? (int)(bar - p) : (int)strlen(p);
        fprintf(to, "  citygridctl %.*s\n", len, p);
        if (!bar)
            break;
        p = bar + 3;
    }
}

/* The help text, wrapped at about 80 columns under the usage. */
static void print_help_text(FILE *to, const char *help)
{
    enum { INDENT = 6, WIDTH = 80 };
    const char *p = help;
    while (*p) {
        size_t len = strlen(p);
        if (len > WIDTH - INDENT) {
            len = WIDTH - INDENT;
            while (len > 0 && p[len] != ' ')
                len--;
            if (len == 0) /* one long word */
                len = strcspn(p, " ");
        }
        fprintf(to, "%*s%.*s\n", INDENT, "", (int)len, p);
        p += len;
        while (*p == ' ')
            p++;
    }
}

static void print_command(FILE *to, const cg_ctl_command *c)
{
    print_usage_forms(to, c->usage);
    print_help_text(to, c->help);
}

static void usage(FILE *to)
{
    fprintf(to,
            "usage: citygridctl [--config FILE] [--state-dir DIR] [--url http://HOST:PORT] "
            "COMMAND [ARGS]\n"
            "  --config FILE     citygridd's libconfig file: its state_dir and listen\n"
            "  --state-dir DIR   the daemon's state dir (citygrid.db, admin.token);\n"
            "                    default: the config's, else " DEFAULT_STATE_DIR "\n"
            "  --url URL         where citygridd listens; default: http://LISTEN of the\n"
            "                    config, else " DEFAULT_URL "\n"
            "  --version         print the version\n"
            "\ncommands:\n");
    for (size_t t = 0; t < N_TABLES; t++)
        for (const cg_ctl_command *c = tables[t]; c->name; c++)
            print_command(to, c);
    fprintf(to, "  citygridctl help [COMMAND]\n      this list, or one command's usage\n");
}

static const cg_ctl_command *find_command(const char *name)
{
    for (size_t t = 0; t < N_TABLES; t++)
        for (const cg_ctl_command *c = tables[t]; c->name; c++)
            if (strcmp(c->name, name) == 0)
                return c;
    return NULL;
}

/* STATE_DIR/admin.token, trimmed; NULL when unreadable or implausible. */
static char *read_token(const char *state_dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/admin.token", state_dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char line[256] = "";
    char *ok = fgets(line, sizeof line, f);
    fclose(f);
    if (!ok)
        return NULL;
    size_t n = strcspn(line, " \t\r\n");
    line[n] = 0;
    return n ? strdup(line) : NULL;
}

/* "http://HOST:PORT" for a listen address (a wildcard host means this machine). */
static char *url_for_listen(const char *host, int port)
{
    const char *h = host;
    if (!*h || strcmp(h, "0.0.0.0") == 0 || strcmp(h, "*") == 0)
        h = "127.0.0.1";
    else if (strcmp(h, "::") == 0)
        h = "::1";
    char *url = NULL;
    int v6 = strchr(h, ':') != NULL;
    if (asprintf(&url, "http://%s%s%s:%d", v6 ? "[" : "", h, v6 ? "]" : "", port) < 0)
        return NULL;
    return url;
}

typedef struct global_options {
    const char *config_path, *state_dir, *url;
} global_options;

/* The env from the options; strings the env points to are owned by *owned
 * (freed by the caller). 0 ok, -1 with a message printed. */
static int resolve_env(const global_options *o, cg_ctl_env *env, char **owned)
{
    memset(env, 0, sizeof *env);
    env->config_path = o->config_path;
    cg_config cfg;
    int have_cfg = 0;
    if (o->config_path) {
        char err[1024];
        if (cg_config_load(o->config_path, &cfg, err, sizeof err) < 0) {
            fprintf(stderr, "citygridctl: %s\n", err);
            return -1;
        }
        have_cfg = 1;
    }
    owned[0] = strdup(o->state_dir ? o->state_dir
                      : have_cfg   ? cfg.state_dir
                                   : DEFAULT_STATE_DIR);
    owned[1] = o->url       ? strdup(o->url)
               : have_cfg   ? url_for_listen(cfg.listen_host, cfg.listen_port)
                            : strdup(DEFAULT_URL);
    if (have_cfg)
        cg_config_free(&cfg);
    if (!owned[0] || !owned[1]) {
        fprintf(stderr, "citygridctl: out of memory\n");
        return -1;
    }
    owned[2] = read_token(owned[0]);
    env->state_dir = owned[0];
    env->url = owned[1];
    env->token = owned[2];
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"state-dir", required_argument, NULL, 's'},
        {"url", required_argument, NULL, 'u'},    {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    global_options o = {0};
    int c;
    /* "+": stop at the command, so its own --options are left to it. */
    while ((c = getopt_long(argc, argv, "+c:s:u:Vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o.config_path = optarg; break;
        case 's': o.state_dir = optarg; break;
        case 'u': o.url = optarg; break;
        case 'V': printf("citygridctl %s\n", CITYGRID_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc || strcmp(argv[optind], "help") == 0) {
        const char *which = optind + 1 < argc ? argv[optind + 1] : NULL;
        const cg_ctl_command *cmd = which ? find_command(which) : NULL;
        if (which && !cmd) {
            fprintf(stderr, "citygridctl: unknown command '%s'\n", which);
            usage(stderr);
            return 2;
        }
        if (cmd)
            print_command(stdout, cmd);
        else
            usage(stdout);
        return 0;
    }
    const cg_ctl_command *cmd = find_command(argv[optind]);
    if (!cmd) {
        fprintf(stderr, "citygridctl: unknown command '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    /* `citygridctl COMMAND ... --help` (or -h) anywhere after the command
     * asks for its usage: never an argument (keygen --help once wrote key
     * files named --help.pub and --help.key). */
    for (int i = optind + 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_command(stdout, cmd);
            return 0;
        }
    }

    /* The library logs to stderr; an admin tool shows warnings and errors only. */
    cg_log_set_level(CITYGRID_LOG_WARNING);
    cg_ctl_env env;
    char *owned[3] = {NULL, NULL, NULL};
    int rc = resolve_env(&o, &env, owned);
    if (rc == 0)
        rc = cmd->run(&env, argc - optind, argv + optind);
    else
        rc = 1;
    for (int i = 0; i < 3; i++)
        free(owned[i]);
    return rc;
}
