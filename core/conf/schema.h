/*
 * schema.h — the config schema: every key of citygrid.cfg declared once, with
 * its type, its range or allowed values, its default, a one-line description
 * and the struct field it fills (modelled on Knot DNS's conf/schema.c and
 * nginx's ngx_command_t). config.c's table (cg_config_schema) is the one
 * source of truth: the reader (cg_conf_read_group), the defaults
 * (cg_conf_defaults) and the key reference in citygrid.cfg(5)
 * (cg_conf_print_scdoc, `citygridd --config-schema=scdoc`) all walk it.
 *
 * A group's keys fill one struct: the key's `offset` is a field of the struct
 * the group fills. A nested group (CG_CONF_GROUP) fills the struct at
 * `offset` inside its parent's; a list of groups (CG_CONF_LIST) fills a
 * malloc'd array at `offset` whose length is the size_t at `count_offset`.
 * What a table cannot say (a key that needs another, a file to read, a name
 * defined twice) is a group's `check` hook, called once its keys are read.
 *
 * Errors are "FILE:LINE: what is wrong" in the reader's err buffer. Main
 * thread; the tables are static and immutable.
 */
#ifndef CG_CONF_SCHEMA_H
#define CG_CONF_SCHEMA_H

#include <stddef.h>
#include <stdio.h>
#include <libconfig.h>

typedef enum cg_conf_type {
    CG_CONF_INT,    /* int, within [min, max] */
    CG_CONF_SIZE,   /* size_t from an integer, within [min, max] */
    CG_CONF_DOUBLE, /* double from a number, within the range (see flags) */
    CG_CONF_BOOL,   /* int: 1 true, 0 false */
    CG_CONF_STRING, /* char * (malloc'd), one of `allowed` when that is set */
    CG_CONF_ENUM,   /* int: the index of the string value in `allowed` */
    CG_CONF_PATH,   /* char * (malloc'd), made absolute against the file's directory */
    CG_CONF_GROUP,  /* { ... }: the keys of `group`, filling the struct at offset */
    CG_CONF_LIST,   /* ( { ... }, ... ): an array of `group`'s struct at offset */
    CG_CONF_CUSTOM, /* read by `read` (a value the table cannot type, e.g. HOST:PORT) */
} cg_conf_type;

enum {
    CG_CONF_ABOVE_MIN = 1 << 0, /* numbers: must be above min, not equal to it */
    CG_CONF_NO_MAX = 1 << 1,    /* numbers: no upper bound (max is ignored) */
    CG_CONF_REQUIRED = 1 << 2,  /* the group is refused without this key */
    CG_CONF_EMPTY_NULL = 1 << 3,/* STRING/PATH: "" stores NULL ("none") */
};

typedef struct cg_conf_cx cg_conf_cx;
typedef struct cg_conf_group cg_conf_group;

/* A CUSTOM key's reader, filling the group's struct obj: from the setting s,
 * or, when s is NULL, from the key's default text `def` (cx is then NULL and
 * def is never NULL). Keys are read in table order, so a reader may use the
 * fields of keys before it. */
typedef int (*cg_conf_read_fn)(cg_conf_cx *cx, const config_setting_t *s, const char *def,
                               void *obj);
/* A group's check: obj is the struct just filled from g. */
typedef int (*cg_conf_check_fn)(cg_conf_cx *cx, const config_setting_t *g, void *obj);
/* A CUSTOM key's release of what its reader allocated in obj (optional). */
typedef void (*cg_conf_release_fn)(void *obj);

typedef struct cg_conf_key {
    const char *name;            /* the key in its group; NULL ends a table */
    cg_conf_type type;
    size_t offset;               /* the field it fills, in the group's struct
                                    (CUSTOM: unused, its reader knows) */
    const char *def;             /* the default as text ("1000", "inproc://citygrid-bus",
                                    "thread"); NULL: none (0 or NULL) */
    double min, max;             /* INT, SIZE, DOUBLE: the range */
    unsigned flags;              /* CG_CONF_* above */
    const char *const *allowed;  /* STRING, ENUM: the only values (NULL-terminated);
                                    CUSTOM: for the manual only */
    const char *doc;             /* one line for citygrid.cfg(5) */
    const cg_conf_group *group;  /* GROUP, LIST: the keys inside */
    size_t count_offset;         /* LIST: the size_t that counts the array */
    cg_conf_read_fn read;        /* CUSTOM: reads the setting (or the default) */
    cg_conf_release_fn release;  /* CUSTOM: frees what read allocated */
    const char *type_doc;        /* CUSTOM: what the value looks like, for the manual */
} cg_conf_key;

struct cg_conf_group {
    const char *name;            /* as errors name it: "bus", "a plugin group" */
    const char *path;            /* as the manual names it: "bus", "plugins[]" */
    const char *doc;             /* a paragraph for the manual (may be NULL) */
    const cg_conf_key *keys;     /* ended by a key whose name is NULL */
    size_t size;                 /* LIST element: sizeof the struct */
    size_t file_offset, line_offset; /* LIST element: char *file and int line
                                        (where it was defined); (size_t)-1: none */
    cg_conf_check_fn check;      /* after the keys (may be NULL) */
};

/* Where errors point and relative paths resolve (the file being read). */
struct cg_conf_cx {
    const char *file;
    char *dir;
    char *err;
    size_t errlen;
};

/* "FILE:LINE: message" into cx->err for setting s (the file if s is NULL).
 * Returns -1. */
__attribute__((format(printf, 3, 4)))
int cg_conf_fail(cg_conf_cx *cx, const config_setting_t *s, const char *fmt, ...);

/* Set every key of g in obj to its default (nested groups too; lists empty). */
void cg_conf_defaults(const cg_conf_group *g, void *obj);

/* Read setting s (a group) into obj, which holds the defaults: unknown keys,
 * wrong types, values out of range and missing required keys are refused
 * with FILE:LINE. Then g->check. 0 ok, -1 with cx->err set. */
int cg_conf_read_group(cg_conf_cx *cx, const cg_conf_group *g, const config_setting_t *s,
                       void *obj);

/* Free what g's keys allocated in obj (strings, lists, CUSTOM release). */
void cg_conf_release(const cg_conf_group *g, void *obj);

/* path made absolute against dir (a copy; malloc'd). */
char *cg_conf_resolve(const char *dir, const char *path);

/* The key reference of g and every group inside, as scdoc(5) text. */
void cg_conf_print_scdoc(const cg_conf_group *g, FILE *out);

#endif
