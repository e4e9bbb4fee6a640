/*
 * ctl_open311.c — citygridctl's Open311 keys, through the daemon's admin API
 * (open311.h): `open311 key add NAME` prints the new api_key (shown this
 * once), `open311 key list`, `open311 key revoke NAME`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl/ctl.h"
#include "ctl/ctl_http.h"

static const char *str(json_t *o, const char *key, const char *def)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : def;
}

static int key_add(const cg_ctl_env *env, const char *name)
{
    json_t *body = json_pack("{s:s}", "name", name);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    cg_ctl_response r;
    int status = cg_ctl_api(env, "POST", "/v1/open311/keys", text, &r);
    free(text);
    int rc = 1;
    if (status == 201) {
        json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
        printf("%s\n", str(j, "api_key", ""));
        fprintf(stderr, "key '%s' made (source %s); it is shown only now: hand it to the platform\n",
                name, str(j, "source", "?"));
        json_decref(j);
        rc = 0;
    } else if (status > 0) {
        cg_ctl_print_api_error("open311 key add", &r);
    }
    cg_ctl_response_free(&r);
    return rc;
}

static int key_list(const cg_ctl_env *env)
{
    cg_ctl_response r;
    int status = cg_ctl_api(env, "GET", "/v1/open311/keys", NULL, &r);
    int rc = 1;
    if (status == 200) {
        json_t *j = json_loadb(r.body, r.body_len, 0, NULL);
        json_t *items = json_object_get(j, "items");
        size_t i;
        json_t *k;
        printf("%-24s %-32s %-30s %s\n", "名称 name", "来源 source", "创建 created", "吊销 revoked");
        json_array_foreach(items, i, k)
            printf("%-24s %-32s %-30s %s\n", str(k, "name", "?"), str(k, "source", "?"),
                   str(k, "created_at", "-"), str(k, "revoked_at", "-"));
        json_decref(j);
        rc = 0;
    } else if (status > 0) {
        cg_ctl_print_api_error("open311 key list", &r);
    }
    cg_ctl_response_free(&r);
    return rc;
}

static int key_revoke(const cg_ctl_env *env, const char *name)
{
    char *enc = cg_ctl_url_encode(name);
    char path[256];
    snprintf(path, sizeof path, "/v1/open311/keys/%s", enc ? enc : name);
    free(enc);
    cg_ctl_response r;
    int status = cg_ctl_api(env, "DELETE", path, NULL, &r);
    int rc = 1;
    if (status == 204) {
        printf("key '%s' revoked\n", name);
        rc = 0;
    } else if (status > 0) {
        cg_ctl_print_api_error("open311 key revoke", &r);
    }
    cg_ctl_response_free(&r);
    return rc;
}

static int run_open311(const cg_ctl_env *env, int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "key") && !strcmp(argv[2], "add"))
        return key_add(env, argv[3]);
    if (argc == 3 && !strcmp(argv[1], "key") && !strcmp(argv[2], "list"))
        return key_list(env);
    if (argc == 4 && !strcmp(argv[1], "key") && !strcmp(argv[2], "revoke"))
        return key_revoke(env, argv[3]);
    fprintf(stderr, "usage: citygridctl open311 key add NAME | key list | key revoke NAME\n");
    return 2;
}

const cg_ctl_command cg_ctl_open311_commands[] = {
    {"open311", "open311 key add NAME | open311 key list | open311 key revoke NAME",
     "Open311 GeoReport v2 api_keys: one per platform, a named source", run_open311},
    {NULL, NULL, NULL, NULL},
};
