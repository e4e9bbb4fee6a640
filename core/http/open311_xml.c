/*
 * open311_xml.c — JSON to GeoReport v2 XML (open311_xml.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "http/open311_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const singulars[][2] = {
    {"services", "service"},       {"service_requests", "request"},
    {"errors", "error"},           {"service_request_updates", "request_update"},
    {"attributes", "attribute"},   {"values", "value"},
    {"endpoints", "endpoint"},     {"formats", "format"},
    {"keys", "key"},
};

const char *cg_o311_xml_singular(const char *plural)
{
    for (size_t i = 0; i < sizeof singulars / sizeof singulars[0]; i++)
        if (!strcmp(plural, singulars[i][0]))
            return singulars[i][1];
    return "item";
}

static void put_text(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&apos;", f); break;
        default:
            if (*p >= 0x20 || *p == '\t' || *p == '\n' || *p == '\r')
                fputc(*p, f);
        }
    }
}

static void put_value(FILE *f, const char *name, json_t *v);

static void put_children(FILE *f, const char *name, json_t *v)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        json_object_foreach(v, k, child)
            put_value(f, k, child);
    } else if (json_is_array(v)) {
        const char *item = cg_o311_xml_singular(name);
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child)
            put_value(f, item, child);
    }
}

static void put_value(FILE *f, const char *name, json_t *v)
{
    char num[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT:
    case JSON_ARRAY:
        fprintf(f, "<%s>", name);
        put_children(f, name, v);
        fprintf(f, "</%s>", name);
        return;
    case JSON_STRING:
        if (json_string_length(v) == 0)
            break;
        fprintf(f, "<%s>", name);
        put_text(f, json_string_value(v));
        fprintf(f, "</%s>", name);
        return;
    case JSON_INTEGER:
        fprintf(f, "<%s>%" JSON_INTEGER_FORMAT "</%s>", name, json_integer_value(v), name);
        return;
    case JSON_REAL:
        snprintf(num, sizeof num, "%.15g", json_real_value(v));
        fprintf(f, "<%s>%s</%s>", name, num, name);
        return;
    case JSON_TRUE:
    case JSON_FALSE:
        fprintf(f, "<%s>%s</%s>", name, json_is_true(v) ? "true" : "false", name);
        return;
    case JSON_NULL:
    default:
        break;
    }
    fprintf(f, "<%s/>", name);
}

char *cg_o311_xml(const char *root, json_t *value, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (!f)
        return NULL;
    fputs("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n", f);
    put_value(f, root, value);
    fputc('\n', f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    if (len)
        *len = n;
    return buf;
}
