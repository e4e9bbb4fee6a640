/*
 * ctl.h — citygridctl, the admin command line. Each area of commands lives
 * in its own file and exports one NULL-terminated table; citygridctl.c looks
 * a command up across the tables.
 *
 *   citygridctl [--config FILE] [--state-dir DIR] [--url http://HOST:PORT] COMMAND [ARGS]
 *
 * Commands that change data while the daemon runs go through its HTTP API
 * (with the admin token from STATE_DIR/admin.token); imports open the
 * database directly in one all-or-nothing transaction.
 */
#ifndef CG_CTL_H
#define CG_CTL_H

/* What every command gets: the global options, resolved. */
typedef struct cg_ctl_env {
    const char *config_path;   /* may be NULL */
    const char *state_dir;     /* from --state-dir, else the config, else /var/lib/citygrid */
    const char *url;           /* from --url, else http://LISTEN of the config */
    const char *token;         /* admin token read from STATE_DIR/admin.token (may be NULL) */
} cg_ctl_env;

typedef struct cg_ctl_command {
    const char *name;          /* "grids", "plugin", "keygen", ... (first word) */
    const char *usage;         /* "grids import FILE.geojson | grids export FILE" */
    const char *help;          /* one line */
    /* argv[0] is the command's name. Returns the exit status (0 ok, 1 refused
     * or failed with a message on stderr, 2 usage). */
    int (*run)(const cg_ctl_env *env, int argc, char **argv);
} cg_ctl_command;

/* The tables (each NULL-name terminated), one per file. */
extern const cg_ctl_command cg_ctl_grid_commands[];   /* ctl_grids.c: grids, roster, gaps, member */
extern const cg_ctl_command cg_ctl_plugin_commands[]; /* ctl_plugins.c: plugin, status, keygen */
extern const cg_ctl_command cg_ctl_backup_commands[]; /* ctl_backup.c: backup, restore */
extern const cg_ctl_command cg_ctl_open311_commands[]; /* ctl_open311.c: open311 key */
extern const cg_ctl_command cg_ctl_audit_commands[];   /* ctl_audit.c: audit verify */

#endif
