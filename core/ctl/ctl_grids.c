/*
 * ctl_grids.c — citygridctl's commands for the grid registry and the people:
 * grids and roster import/export, staffing gaps, members.
 *
 * Imports and exports open STATE_DIR/citygrid.db themselves (their own
 * connection: SQLite's locking makes that safe while citygridd runs; an
 * import is one all-or-nothing transaction in cg_dataset_import_*). A running
 * daemon sees an import at once: it reads the registry from the database,
 * and its geometry cache is keyed by polygon-part ids that every import
 * renews (grids.h). `gaps` and `member` go through the daemon's HTTP API as
 * the admin, so the daemon must run for them.
 */
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "ctl/ctl_http.h"
#include "people/dataset.h"
#include "store/store.h"

#define MAX_PASSWORD_BYTES 1024
#define MAX_PAGES 1000 /* of gaps: a server repeating its cursor cannot loop us */

/* ---------------------------------------------------------------- helpers */

/* Open the daemon's database; it must exist already (a wrong --state-dir
 * must not quietly create a new, empty one). NULL after printing why. */
static cg_store *open_store(const cg_ctl_env *env)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/citygrid.db", env->state_dir);
    struct stat sb;
    if (stat(path, &sb) < 0) {
        fprintf(stderr, "citygridctl: no database at %s: %s (give --state-dir or --config; "
                        "citygridd creates it on its first start)\n", path, strerror(errno));
        return NULL;
    }
    cg_store *st = NULL;
    char err[1024];
    if (cg_store_open(path, &st, err, sizeof err) < 0) {
        fprintf(stderr, "citygridctl: cannot open %s: %s\n", path, err);
        return NULL;
    }
    return st;
}

static int readable(const char *path)
{
    if (access(path, R_OK) == 0)
        return 1;
    fprintf(stderr, "citygridctl: cannot read %s: %s\n", path, strerror(errno));
    return 0;
}

/* "--name VALUE" or "--name=VALUE" at argv[*i]: the value (advancing *i),
 * NULL when argv[*i] is not that option. *missing is set when the option
 * is there without its value. */
static const char *option_value(int argc, char **argv, int *i, const char *name, int *missing)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] != 0)
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

static void print_import_report(const char *what, const cg_import_report *rep,
                                const char *state_dir)
{
    if (rep->places || rep->grids)
        printf("imported %zu grid(s) and %zu place(s)", rep->grids, rep->places);
    if (rep->members || rep->assignments)
        printf("%simported %zu member(s) and %zu assignment(s)",
               rep->places || rep->grids ? "; " : "", rep->members, rep->assignments);
    if (!rep->places && !rep->grids && !rep->members && !rep->assignments)
        printf("imported nothing (the %s was empty)", what);
    printf(" into %s/citygrid.db\n", state_dir);
}

/* Export into `dest` ("-": stdout). A file is written beside its final
 * name and renamed into place, so a failed export leaves no half file. */
static int export_to(const cg_ctl_env *env, const char *dest,
                     int (*export_fn)(cg_store *, FILE *, char *, size_t))
{
    cg_store *st = open_store(env);
    if (!st)
        return 1;
    char err[1024] = "";
    int rc = 1;
    if (strcmp(dest, "-") == 0) {
        if (export_fn(st, stdout, err, sizeof err) == 0 && fflush(stdout) == 0 &&
            !ferror(stdout))
            rc = 0;
        else
            fprintf(stderr, "citygridctl: export failed: %s\n", *err ? err : strerror(errno));
        cg_store_close(st);
        return rc;
    }
    size_t n = strlen(dest) + 16;
    char *tmp = malloc(n);
    snprintf(tmp, n, "%s.tmp.XXXXXX", dest);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        fprintf(stderr, "citygridctl: cannot write beside %s: %s\n", dest, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        free(tmp);
        cg_store_close(st);
        return 1;
    }
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask); /* mkstemp made it 0600 */
    if (export_fn(st, f, err, sizeof err) < 0) {
        fprintf(stderr, "citygridctl: export failed: %s\n", err);
    } else if (fflush(f) != 0 || fsync(fd) != 0 || ferror(f)) {
        fprintf(stderr, "citygridctl: writing %s: %s\n", tmp, strerror(errno));
    } else {
        rc = 0;
    }
    if (fclose(f) != 0 && rc == 0) {
        fprintf(stderr, "citygridctl: writing %s: %s\n", tmp, strerror(errno));
        rc = 1;
    }
    if (rc == 0 && rename(tmp, dest) != 0) {
        fprintf(stderr, "citygridctl: rename %s -> %s: %s\n", tmp, dest, strerror(errno));
        rc = 1;
    }
    if (rc != 0)
        unlink(tmp);
    else
        fprintf(stderr, "wrote %s\n", dest);
    free(tmp);
    cg_store_close(st);
    return rc;
}

/* ---------------------------------------------------------------- grids */

static int grids_import(const cg_ctl_env *env, int argc, char **argv)
{
    const char *geojson = NULL, *places = NULL;
    for (int i = 2; i < argc; i++) {
        int missing = 0;
        const char *v = option_value(argc, argv, &i, "--places", &missing);
        if (missing) {
            fprintf(stderr, "citygridctl: --places needs a file\n");
            return 2;
        }
        if (v) {
            places = v;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "citygridctl: grids import: unknown option '%s'\n", argv[i]);
            return 2;
        } else if (!geojson) {
            geojson = argv[i];
        } else {
            fprintf(stderr, "citygridctl: grids import: one GeoJSON file only\n");
            return 2;
        }
    }
    if (!geojson) {
        fprintf(stderr, "usage: citygridctl grids import FILE.geojson [--places places.csv]\n");
        return 2;
    }
    if (!readable(geojson) || (places && !readable(places)))
        return 1;
    cg_store *st = open_store(env);
    if (!st)
        return 1;
    cg_import_report rep = {0};
    char err[2048] = "";
    int rc = cg_dataset_import_grids(st, geojson, places, &rep, err, sizeof err);
    cg_store_close(st);
    if (rc < 0) {
        fprintf(stderr, "citygridctl: grids import refused, nothing changed: %s\n", err);
        return 1;
    }
    print_import_report("file", &rep, env->state_dir);
    return 0;
}

static int run_grids(const cg_ctl_env *env, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "import") == 0)
        return grids_import(env, argc, argv);
    if (argc == 3 && strcmp(argv[1], "export") == 0)
        return export_to(env, argv[2], cg_dataset_export_grids);
    fprintf(stderr, "usage: citygridctl grids import FILE.geojson [--places places.csv]\n"
                    "       citygridctl grids export FILE|-\n");
    return 2;
}

/* ---------------------------------------------------------------- roster */

static int run_roster(const cg_ctl_env *env, int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "export") == 0)
        return export_to(env, argv[2], cg_dataset_export_roster);
    if (argc != 3 || strcmp(argv[1], "import") != 0 ||
        (argv[2][0] == '-' && argv[2][1])) {
        fprintf(stderr, "usage: citygridctl roster import FILE.csv\n"
                        "       citygridctl roster export FILE|-\n");
        return 2;
    }
    if (!readable(argv[2]))
        return 1;
    cg_store *st = open_store(env);
    if (!st)
        return 1;
    cg_import_report rep = {0};
    char err[2048] = "";
    int rc = cg_dataset_import_roster(st, argv[2], &rep, err, sizeof err);
    cg_store_close(st);
    if (rc < 0) {
        fprintf(stderr, "citygridctl: roster import refused, nothing changed: %s\n", err);
        return 1;
    }
    print_import_report("roster", &rep, env->state_dir);
    return 0;
}

/* ---------------------------------------------------------------- gaps */

/* One missing role: "leader", or "professional:market" for an object. */
static void print_missing(json_t *m)
{
    if (json_is_string(m)) {
        fputs(json_string_value(m), stdout);
        return;
    }
    const char *role = json_string_value(json_object_get(m, "role"));
    const char *dept = json_string_value(json_object_get(m, "department"));
    if (role) {
        printf("%s%s%s", role, dept ? ":" : "", dept ? dept : "");
        return;
    }
    char *text = json_dumps(m, JSON_COMPACT);
    fputs(text ? text : "?", stdout);
    free(text);
}

/* One gap row: "CODE  NAME  missing: a, b". The row's shape is the
 * daemon's; unknown shapes are printed as compact JSON. */
static void print_gap(json_t *item)
{
    json_t *grid = json_object_get(item, "grid");
    const char *code = json_string_value(grid);
    if (!code)
        code = json_string_value(json_object_get(grid, "code"));
    if (!code)
        code = json_string_value(json_object_get(item, "code"));
    const char *name = json_string_value(json_object_get(item, "name"));
    if (!name)
        name = json_string_value(json_object_get(grid, "name"));
    json_t *missing = json_object_get(item, "missing");
    if (!code || !json_is_array(missing)) {
        char *text = json_dumps(item, JSON_COMPACT);
        printf("%s\n", text ? text : "?");
        free(text);
        return;
    }
    printf("%s%s%s  missing: ", code, name ? "  " : "", name ? name : "");
    size_t i;
    json_t *m;
    json_array_foreach(missing, i, m) {
        if (i)
            fputs(", ", stdout);
        print_missing(m);
    }
    putchar('\n');
}

static int run_gaps(const cg_ctl_env *env, int argc, char **argv)
{
    int as_json = argc == 2 && strcmp(argv[1], "--json") == 0;
    if (argc > 2 || (argc == 2 && !as_json)) {
        fprintf(stderr, "usage: citygridctl gaps [--json]\n");
        return 2;
    }
    json_t *all = json_array();
    char *cursor = NULL;
    int rc = 0, pages = 0;
    do {
        char path[1024];
        char *enc = cursor ? cg_ctl_url_encode(cursor) : NULL;
        snprintf(path, sizeof path, "/v1/staffing/gaps%s%s", enc ? "?cursor=" : "",
                 enc ? enc : "");
        free(enc);
        free(cursor);
        cursor = NULL;
        cg_ctl_response r;
        int status = cg_ctl_api(env, "GET", path, NULL, &r);
        if (status != 200) {
            if (status > 0)
                cg_ctl_print_api_error("GET /v1/staffing/gaps", &r);
            cg_ctl_response_free(&r);
            rc = 1;
            break;
        }
        json_error_t jerr;
        json_t *root = json_loadb(r.body, r.body_len, 0, &jerr);
        cg_ctl_response_free(&r);
        /* {"items": [...], "next": ...} as API.md's lists; a bare array too. */
        json_t *items = json_is_array(root) ? root : json_object_get(root, "items");
        if (!json_is_array(items)) {
            fprintf(stderr, "citygridctl: GET /v1/staffing/gaps: not a list: %s\n",
                    root ? "no \"items\"" : jerr.text);
            json_decref(root);
            rc = 1;
            break;
        }
        json_array_extend(all, items);
        const char *next = json_string_value(json_object_get(root, "next"));
        cursor = next && *next ? strdup(next) : NULL;
        json_decref(root);
    } while (cursor && ++pages < MAX_PAGES);
    free(cursor);
    if (rc == 0) {
        if (as_json) {
            char *text = json_dumps(all, JSON_INDENT(2));
            printf("%s\n", text ? text : "[]");
            free(text);
        } else if (json_array_size(all) == 0) {
            printf("no gaps: every grid has its leader, instructor, full-time member and "
                   "five professionals\n");
        } else {
            size_t i;
            json_t *item;
            json_array_foreach(all, i, item)
                print_gap(item);
            printf("%zu grid(s) lack mandatory roles\n", json_array_size(all));
        }
    }
    json_decref(all);
    return rc;
}

/* ---------------------------------------------------------------- member */

/* The password: the file's first line ("-": stdin), without its newline.
 * NULL after printing why. */
static char *read_password(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(stderr, "citygridctl: cannot read %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *line = calloc(1, MAX_PASSWORD_BYTES + 2);
    if (line && !fgets(line, MAX_PASSWORD_BYTES + 2, f))
        line[0] = 0;
    if (f != stdin)
        fclose(f);
    if (!line)
        return NULL;
    size_t n = strlen(line);
    if (n > MAX_PASSWORD_BYTES) {
        fprintf(stderr, "citygridctl: %s: the password is longer than %d bytes\n", path,
                MAX_PASSWORD_BYTES);
        free(line);
        return NULL;
    }
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = 0;
    if (!n) {
        fprintf(stderr, "citygridctl: %s: the password is empty\n", path);
        free(line);
        return NULL;
    }
    return line;
}

#define MEMBER_ADD_USAGE                                                                    \
    "usage: citygridctl member add --id ID --name NAME --login LOGIN --password-file F|-\n" \
    "                              [--department D] [--grid CODE --role ROLE]...\n"

/* The body of POST /v1/members from the options; NULL (after a message)
 * on a usage error. */
static json_t *member_from_args(int argc, char **argv, const char **password_file)
{
    json_t *m = json_object(), *assignments = json_array();
    const char *pending_grid = NULL;
    int ok = 1;
    static const char *const fields[] = {"--id", "--name", "--login", "--department"};
    for (int i = 2; ok && i < argc; i++) {
        int missing = 0, matched = 0;
        const char *v;
        for (size_t k = 0; k < sizeof fields / sizeof fields[0] && !matched && !missing; k++)
            if ((v = option_value(argc, argv, &i, fields[k], &missing))) {
                json_t *text = json_string(v);
                if (!text) {
                    fprintf(stderr, "citygridctl: %s: not valid UTF-8\n", fields[k]);
                    ok = 0;
                }
                json_object_set_new(m, fields[k] + 2, text);
                matched = 1;
            }
        if (!matched && !missing && (v = option_value(argc, argv, &i, "--password-file",
                                                      &missing))) {
            *password_file = v;
            matched = 1;
        }
        if (!matched && !missing && (v = option_value(argc, argv, &i, "--grid", &missing))) {
            if (pending_grid) {
                fprintf(stderr, "citygridctl: --grid %s has no --role\n", pending_grid);
                ok = 0;
            }
            pending_grid = v;
            matched = 1;
        }
        if (!matched && !missing && (v = option_value(argc, argv, &i, "--role", &missing))) {
            if (!pending_grid) {
                fprintf(stderr, "citygridctl: --role %s: give --grid CODE before it\n", v);
                ok = 0;
            } else {
                json_t *a = json_pack("{s:s, s:s}", "grid", pending_grid, "role", v);
                if (!a) {
                    fprintf(stderr, "citygridctl: --grid/--role: not valid UTF-8\n");
                    ok = 0;
                }
                json_array_append_new(assignments, a);
                pending_grid = NULL;
            }
            matched = 1;
        }
        if (missing) {
            fprintf(stderr, "citygridctl: %s needs a value\n", argv[i]);
            ok = 0;
        } else if (!matched && ok) {
            fprintf(stderr, "citygridctl: member add: unknown argument '%s'\n", argv[i]);
            ok = 0;
        }
    }
    if (ok && pending_grid) {
        fprintf(stderr, "citygridctl: --grid %s has no --role\n", pending_grid);
        ok = 0;
    }
    static const char *const required[] = {"id", "name", "login"};
    for (size_t k = 0; ok && k < 3; k++)
        if (!json_string_length(json_object_get(m, required[k]))) {
            fprintf(stderr, "citygridctl: member add needs --%s\n", required[k]);
            ok = 0;
        }
    if (ok && !*password_file) {
        fprintf(stderr, "citygridctl: member add needs --password-file (\"-\": stdin)\n");
        ok = 0;
    }
    if (!ok) {
        fputs(MEMBER_ADD_USAGE, stderr);
        json_decref(assignments);
        json_decref(m);
        return NULL;
    }
    json_object_set_new(m, "assignments", assignments);
    return m;
}

static int member_add(const cg_ctl_env *env, int argc, char **argv)
{
    const char *password_file = NULL;
    json_t *m = member_from_args(argc, argv, &password_file);
    if (!m)
        return 2;
    char *password = read_password(password_file);
    if (!password) {
        json_decref(m);
        return 1;
    }
    json_object_set_new(m, "password", json_string(password));
    sodium_memzero(password, strlen(password));
    free(password);
    char *body = json_dumps(m, JSON_COMPACT);
    char id[128];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(m, "id")));
    size_t n_assign = json_array_size(json_object_get(m, "assignments"));
    json_decref(m);
    if (!body) {
        fprintf(stderr, "citygridctl: out of memory\n");
        return 1;
    }
    cg_ctl_response r;
    int status = cg_ctl_api(env, "POST", "/v1/members", body, &r);
    sodium_memzero(body, strlen(body)); /* it held the password */
    free(body);
    int rc = 1;
    if (status == 200 || status == 201) {
        /* The daemon's answer names the member as stored. */
        json_t *ans = json_loadb(r.body, r.body_len, 0, NULL);
        const char *stored = json_string_value(json_object_get(ans, "id"));
        printf("member %s added with %zu assignment(s)\n", stored ? stored : id, n_assign);
        json_decref(ans);
        rc = 0;
    } else if (status > 0) {
        cg_ctl_print_api_error("POST /v1/members", &r);
    }
    cg_ctl_response_free(&r);
    return rc;
}

static int member_show(const cg_ctl_env *env, const char *id)
{
    char *enc = cg_ctl_url_encode(id);
    char path[512];
    snprintf(path, sizeof path, "/v1/members/%s", enc ? enc : "");
    free(enc);
    cg_ctl_response r;
    int status = cg_ctl_api(env, "GET", path, NULL, &r);
    int rc = 1;
    if (status == 200) {
        json_t *root = json_loadb(r.body, r.body_len, 0, NULL);
        char *text = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
        printf("%s\n", text ? text : r.body);
        free(text);
        json_decref(root);
        rc = 0;
    } else if (status > 0) {
        cg_ctl_print_api_error(path, &r);
    }
    cg_ctl_response_free(&r);
    return rc;
}

static int run_member(const cg_ctl_env *env, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "add") == 0)
        return member_add(env, argc, argv);
    if (argc == 3 && strcmp(argv[1], "show") == 0)
        return member_show(env, argv[2]);
    fputs(MEMBER_ADD_USAGE "       citygridctl member show ID\n", stderr);
    return 2;
}

/* ---------------------------------------------------------------- the table */

const cg_ctl_command cg_ctl_grid_commands[] = {
    {"grids",
     "grids import FILE.geojson [--places places.csv] | grids export FILE|-",
     "import the grids straight into STATE_DIR/citygrid.db: the file is the whole registry "
     "(grids not in it are removed with their staff; all or nothing, a refusal names the "
     "feature and why), or export them as GeoJSON (without the places); a running citygridd "
     "sees an import at once",
     run_grids},
    {"roster", "roster import FILE.csv | roster export FILE|-",
     "import the roster CSV into STATE_DIR/citygrid.db: the members it names get these rows "
     "as their assignments, others keep theirs (all or nothing, a refusal names the line and "
     "why), or export it; a running citygridd sees an import at once",
     run_roster},
    {"gaps", "gaps [--json]",
     "list the grids missing a mandatory role (1+1+1+5), through the running daemon's "
     "GET /v1/staffing/gaps",
     run_gaps},
    {"member",
     "member add --id ID --name NAME --login LOGIN --password-file F|- [--department D] "
     "[--grid CODE --role ROLE]... | member show ID",
     "add a member (password from the file's first line) or show one, through the running "
     "daemon's /v1/members",
     run_member},
    {NULL, NULL, NULL, NULL},
};
