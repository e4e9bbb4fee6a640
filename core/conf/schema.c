/*
 * schema.c — the engine behind the config schema (schema.h): defaults, the
 * typed reader with file:line errors, release, and the scdoc key reference.
 * It knows types, not keys: the keys are config.c's table.
 */
#include "conf/schema.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FIELD(obj, off, type) ((type *)(void *)((char *)(obj) + (off)))

int cg_conf_fail(cg_conf_cx *cx, const config_setting_t *s, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *file = s && config_setting_source_file(s) ? config_setting_source_file(s) : cx->file;
    int line = s ? (int)config_setting_source_line(s) : 0;
    snprintf(cx->err, cx->errlen, "%s:%d: %s", file, line, msg);
    return -1;
}

char *cg_conf_resolve(const char *dir, const char *path)
{
    if (path[0] == '/')
        return strdup(path);
    size_t n = strlen(dir) + strlen(path) + 2;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s/%s", dir, path);
    return out;
}

/* ---------------------------------------------------------------- defaults */

void cg_conf_defaults(const cg_conf_group *g, void *obj)
{
    for (const cg_conf_key *k = g->keys; k->name; k++) {
        void *f = (char *)obj + k->offset;
        switch (k->type) {
        case CG_CONF_INT:
            *(int *)f = k->def ? atoi(k->def) : 0;
            break;
        case CG_CONF_SIZE:
            *(size_t *)f = k->def ? (size_t)strtoull(k->def, NULL, 10) : 0;
            break;
        case CG_CONF_DOUBLE:
            *(double *)f = k->def ? strtod(k->def, NULL) : 0;
            break;
        case CG_CONF_BOOL:
            *(int *)f = k->def && strcmp(k->def, "true") == 0;
            break;
        case CG_CONF_ENUM: {
            int i = 0;
            while (k->def && k->allowed[i] && strcmp(k->allowed[i], k->def) != 0)
                i++;
            *(int *)f = k->def && k->allowed[i] ? i : 0;
            break;
        }
        case CG_CONF_STRING:
        case CG_CONF_PATH: /* a PATH default is already absolute */
            *(char **)f = k->def && *k->def ? strdup(k->def) : NULL;
            break;
        case CG_CONF_GROUP:
            cg_conf_defaults(k->group, f);
            break;
        case CG_CONF_LIST:
            *(void **)f = NULL;
            *FIELD(obj, k->count_offset, size_t) = 0;
            break;
        case CG_CONF_CUSTOM:
            if (k->def)
                k->read(NULL, NULL, k->def, obj);
            break;
        }
    }
}

/* ---------------------------------------------------------------- release */

void cg_conf_release(const cg_conf_group *g, void *obj)
{
    for (const cg_conf_key *k = g->keys; k->name; k++) {
        void *f = (char *)obj + k->offset;
        switch (k->type) {
        case CG_CONF_STRING:
        case CG_CONF_PATH:
            free(*(char **)f);
            *(char **)f = NULL;
            break;
        case CG_CONF_GROUP:
            cg_conf_release(k->group, f);
            break;
        case CG_CONF_LIST: {
            char *items = *(char **)f;
            size_t *n = FIELD(obj, k->count_offset, size_t);
            for (size_t i = 0; items && i < *n; i++) {
                char *item = items + i * k->group->size;
                cg_conf_release(k->group, item);
                if (k->group->file_offset != (size_t)-1)
                    free(*FIELD(item, k->group->file_offset, char *));
            }
            free(items);
            *(void **)f = NULL;
            *n = 0;
            break;
        }
        case CG_CONF_CUSTOM:
            if (k->release)
                k->release(obj);
            break;
        default:
            break;
        }
    }
}

/* ---------------------------------------------------------------- reading */

static const cg_conf_key *find_key(const cg_conf_group *g, const char *name)
{
    for (const cg_conf_key *k = g->keys; name && k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

/* "a, b, c" for messages. */
static void join_allowed(const char *const *allowed, char *out, size_t len)
{
    size_t used = 0;
    out[0] = 0;
    for (const char *const *a = allowed; *a && used < len; a++)
        used += (size_t)snprintf(out + used, len - used, "%s%s", a == allowed ? "" : ", ", *a);
}

/* A bound as the admin wrote it: 3600000, not 3.6e+06. */
static const char *num(double v, char *buf, size_t len)
{
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%g", v);
    return buf;
}

static int out_of_range(const cg_conf_key *k, double v)
{
    if (isnan(v))
        return 1;
    if (k->flags & CG_CONF_ABOVE_MIN ? !(v > k->min) : !(v >= k->min))
        return 1;
    return !(k->flags & CG_CONF_NO_MAX) && !(v <= k->max);
}

static int range_error(cg_conf_cx *cx, const config_setting_t *s, const cg_conf_key *k,
                       const char *got)
{
    char lo[32], hi[32];
    num(k->min, lo, sizeof lo);
    num(k->max, hi, sizeof hi);
    if (k->flags & CG_CONF_NO_MAX)
        return cg_conf_fail(cx, s, "'%s' must be %s %s (got %s)", k->name,
                            k->flags & CG_CONF_ABOVE_MIN ? "above" : "at least", lo, got);
    if (k->flags & CG_CONF_ABOVE_MIN)
        return cg_conf_fail(cx, s, "'%s' must be above %s and at most %s (got %s)", k->name, lo,
                            hi, got);
    return cg_conf_fail(cx, s, "'%s' must be between %s and %s (got %s)", k->name, lo, hi, got);
}

static int read_list(cg_conf_cx *cx, const cg_conf_key *k, const config_setting_t *s, void *obj);

static int read_key(cg_conf_cx *cx, const cg_conf_key *k, const config_setting_t *s, void *obj)
{
    void *f = (char *)obj + k->offset;
    int t = config_setting_type(s);
    int is_int = t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64;
    switch (k->type) {
    case CG_CONF_INT:
    case CG_CONF_SIZE: {
        if (!is_int)
            return cg_conf_fail(cx, s, "'%s' must be an integer", k->name);
        long long v = config_setting_get_int64(s);
        if (out_of_range(k, (double)v)) {
            char got[32];
            snprintf(got, sizeof got, "%lld", v);
            return range_error(cx, s, k, got);
        }
        if (k->type == CG_CONF_INT)
            *(int *)f = (int)v;
        else
            *(size_t *)f = (size_t)v;
        return 0;
    }
    case CG_CONF_DOUBLE: {
        double v;
        if (t == CONFIG_TYPE_FLOAT)
            v = config_setting_get_float(s);
        else if (is_int)
            v = (double)config_setting_get_int64(s);
        else
            return cg_conf_fail(cx, s, "'%s' must be a number", k->name);
        if (out_of_range(k, v)) {
            char got[32];
            snprintf(got, sizeof got, "%g", v);
            return range_error(cx, s, k, got);
        }
        *(double *)f = v;
        return 0;
    }
    case CG_CONF_BOOL:
        if (t != CONFIG_TYPE_BOOL)
            return cg_conf_fail(cx, s, "'%s' must be true or false", k->name);
        *(int *)f = config_setting_get_bool(s);
        return 0;
    case CG_CONF_STRING:
    case CG_CONF_ENUM:
    case CG_CONF_PATH: {
        if (t != CONFIG_TYPE_STRING)
            return cg_conf_fail(cx, s, "'%s' must be a string", k->name);
        const char *v = config_setting_get_string(s);
        if (k->allowed) {
            const char *const *a = k->allowed;
            while (*a && strcmp(*a, v) != 0)
                a++;
            if (!*a) {
                char list[512];
                join_allowed(k->allowed, list, sizeof list);
                return cg_conf_fail(cx, s, "%s '%s' is not one of %s", k->name, v, list);
            }
            if (k->type == CG_CONF_ENUM) {
                *(int *)f = (int)(a - k->allowed);
                return 0;
            }
        }
        char **out = f;
        free(*out);
        if (!*v && (k->flags & CG_CONF_EMPTY_NULL))
            *out = NULL;
        else
            *out = k->type == CG_CONF_PATH && *v ? cg_conf_resolve(cx->dir, v) : strdup(v);
        return 0;
    }
    case CG_CONF_GROUP:
        return cg_conf_read_group(cx, k->group, s, f);
    case CG_CONF_LIST:
        return read_list(cx, k, s, obj);
    case CG_CONF_CUSTOM:
        return k->read(cx, s, NULL, obj);
    }
    return -1;
}

static int read_list(cg_conf_cx *cx, const cg_conf_key *k, const config_setting_t *s, void *obj)
{
    const cg_conf_group *eg = k->group;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY)
        return cg_conf_fail(cx, s, "'%s' must be a list ( { ... }, { ... } )", k->name);
    char **items = (char **)((char *)obj + k->offset);
    size_t *n = FIELD(obj, k->count_offset, size_t);
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        char *grown = realloc(*items, (*n + 1) * eg->size);
        if (!grown)
            return cg_conf_fail(cx, e, "out of memory");
        *items = grown;
        char *item = grown + *n * eg->size;
        memset(item, 0, eg->size);
        cg_conf_defaults(eg, item);
        if (eg->file_offset != (size_t)-1) {
            const char *file = config_setting_source_file(e);
            *FIELD(item, eg->file_offset, char *) = strdup(file ? file : cx->file);
        }
        if (eg->line_offset != (size_t)-1)
            *FIELD(item, eg->line_offset, int) = (int)config_setting_source_line(e);
        (*n)++; /* counted at once: a refused item is released with the rest */
        if (cg_conf_read_group(cx, eg, e, item) < 0)
            return -1;
    }
    return 0;
}

int cg_conf_read_group(cg_conf_cx *cx, const cg_conf_group *g, const config_setting_t *s,
                       void *obj)
{
    if (config_setting_type(s) != CONFIG_TYPE_GROUP)
        return cg_conf_fail(cx, s, "%s must be a group { ... }", g->name);
    int n = config_setting_length(s);
    for (int i = 0; i < n; i++) {
        const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
        const char *name = config_setting_name(m);
        if (!find_key(g, name))
            return cg_conf_fail(cx, m, "unknown setting '%s' in %s", name ? name : "?", g->name);
    }
    for (const cg_conf_key *k = g->keys; k->name; k++) {
        const config_setting_t *m = config_setting_get_member(s, k->name);
        if (!m) {
            if (!(k->flags & CG_CONF_REQUIRED))
                continue;
            char list[512] = "";
            if (k->allowed) {
                char joined[480];
                join_allowed(k->allowed, joined, sizeof joined);
                snprintf(list, sizeof list, ": one of %s", joined);
            }
            return cg_conf_fail(cx, s, "%s needs a '%s'%s", g->name, k->name, list);
        }
        if (read_key(cx, k, m, obj) < 0)
            return -1;
    }
    return g->check ? g->check(cx, s, obj) : 0;
}

/* ---------------------------------------------------------------- manual */

/* scdoc treats these at the start of a word or line as markup. */
static void put_escaped(const char *text, FILE *out)
{
    for (const char *p = text; *p; p++) {
        if (*p == '*' || *p == '_' || *p == '\\')
            fputc('\\', out);
        fputc(*p, out);
    }
}

static void type_text(const cg_conf_key *k, FILE *out)
{
    static const char *const names[] = {
        [CG_CONF_INT] = "integer", [CG_CONF_SIZE] = "integer (bytes)",
        [CG_CONF_DOUBLE] = "number", [CG_CONF_BOOL] = "true or false",
        [CG_CONF_STRING] = "string", [CG_CONF_ENUM] = "string", [CG_CONF_PATH] = "path (relative to this file)",
        [CG_CONF_GROUP] = "group { ... }", [CG_CONF_LIST] = "list ( { ... }, ... )",
        [CG_CONF_CUSTOM] = "string"};
    put_escaped(k->type == CG_CONF_CUSTOM && k->type_doc ? k->type_doc : names[k->type], out);
    if (k->type == CG_CONF_INT || k->type == CG_CONF_SIZE || k->type == CG_CONF_DOUBLE) {
        char lo[32], hi[32];
        num(k->min, lo, sizeof lo);
        num(k->max, hi, sizeof hi);
        if (k->flags & CG_CONF_NO_MAX)
            fprintf(out, ", %s %s", k->flags & CG_CONF_ABOVE_MIN ? "above" : "at least", lo);
        else if (k->flags & CG_CONF_ABOVE_MIN)
            fprintf(out, ", above %s and at most %s", lo, hi);
        else
            fprintf(out, ", %s to %s", lo, hi);
    }
    if (k->allowed) {
        fputs(", one of:", out);
        for (const char *const *a = k->allowed; *a; a++) {
            fputs(a == k->allowed ? " " : ", ", out);
            fputc('*', out);
            put_escaped(*a, out);
            fputc('*', out);
        }
    }
    if (k->flags & CG_CONF_REQUIRED)
        fputs(", required", out);
}

/* Print text at most WRAP bytes a line (mandoc -T lint asks for under 80
 * once scdoc has added its escapes), breaking at spaces, each line after
 * `indent`. Markup never holds a space, so it is never broken. */
#define WRAP 60
static void put_wrapped(const char *text, const char *indent, FILE *out)
{
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *end = p, *cut = NULL;
        size_t width = 0; /* scdoc writes a non-ASCII character as \[uXXXX] */
        while (*end && width <= WRAP) {
            unsigned char c = (unsigned char)*end;
            width += c < 0x80 ? 1 : c >= 0xC0 ? 8 : 0;
            if (*end == ' ')
                cut = end;
            end++;
        }
        if (!*end || !cut)
            for (cut = end; *cut && *cut != ' '; cut++)
                ;
        fprintf(out, "%s%.*s\n", indent, (int)(cut - p), p);
        p = cut;
    }
}

static void print_group(const cg_conf_group *g, const char *prefix, FILE *out)
{
    for (const cg_conf_key *k = g->keys; k->name; k++) {
        if (k->type == CG_CONF_GROUP || k->type == CG_CONF_LIST)
            continue; /* after the plain keys, in their own section */
        char path[256];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", k->name);
        fputs("*", out);
        put_escaped(path, out);
        fputs("*\n", out);
        char *text = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);
        if (!mem)
            continue;
        type_text(k, mem);
        if (k->def && *k->def) {
            fputs("; default: ", mem);
            int quoted = k->type == CG_CONF_STRING || k->type == CG_CONF_PATH ||
                         k->type == CG_CONF_ENUM || (k->type == CG_CONF_CUSTOM && k->type_doc &&
                                                     strstr(k->type_doc, "string"));
            fputs(quoted ? "\"" : "", mem);
            put_escaped(k->def, mem);
            fputs(quoted ? "\"" : "", mem);
        }
        fputs(". ", mem);
        put_escaped(k->doc ? k->doc : "", mem);
        fclose(mem);
        put_wrapped(text, "\t", out);
        fputs("\n", out);
        free(text);
    }
    for (const cg_conf_key *k = g->keys; k->name; k++) {
        if (k->type != CG_CONF_GROUP && k->type != CG_CONF_LIST)
            continue;
        char path[256];
        snprintf(path, sizeof path, "%s%s%s%s", prefix, *prefix ? "." : "", k->name,
                 k->type == CG_CONF_LIST ? "[]" : "");
        fprintf(out, "## %s\n\n", path);
        char *text = NULL;
        size_t len = 0;
        FILE *mem = open_memstream(&text, &len);
        if (!mem)
            continue;
        put_escaped(k->doc ? k->doc : "", mem);
        if (k->group->doc) {
            fputs(" ", mem);
            put_escaped(k->group->doc, mem);
        }
        fclose(mem);
        put_wrapped(text, "", out);
        fputs("\n", out);
        free(text);
        print_group(k->group, path, out);
    }
}

void cg_conf_print_scdoc(const cg_conf_group *g, FILE *out)
{
    print_group(g, "", out);
}
