/*
 * catalog.h — the six data sources the datahub plugin serves: for each, the
 * fields with their sensitivity classes (what the core masks for whom), the
 * table and columns of the plugin's own SQLite file they come from, and the
 * columns the free text `q` is searched in.
 *
 * The field order is the order of the values handed to query_row(); a field
 * is a column of the same name. Static data, any thread.
 */
#ifndef DATAHUB_CATALOG_H
#define DATAHUB_CATALOG_H

#include <citygrid/plugin.h>

typedef struct dh_source {
    const citygrid_source *desc;      /* what the core sees (plugin.h) */
    const char *const *search;        /* columns `q` is looked for in, NULL-terminated */
} dh_source;

/* NULL-terminated, for citygrid_plugin.sources. */
extern const citygrid_source *const dh_source_list[];

/* The source called `name`, or NULL. */
const dh_source *dh_source_find(const char *name);

#endif
