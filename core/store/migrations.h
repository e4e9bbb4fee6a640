/*
 * migrations.h — the database schema as an ordered list of steps. Step i
 * (0-based) takes the schema from version i to version i+1 (PRAGMA
 * user_version). store.c applies each pending step in its own transaction.
 *
 * To change the schema, append one entry to the array in migrations.c; never
 * edit a step that has shipped (databases in the field already ran it).
 */
#ifndef CG_MIGRATIONS_H
#define CG_MIGRATIONS_H

#include <stddef.h>

typedef struct cg_migration {
    const char *name; /* for log lines and errors */
    const char *sql;  /* one or more statements, run with sqlite3_exec */
} cg_migration;

extern const cg_migration cg_migrations[];
extern const size_t cg_migrations_count; /* == the latest schema version */

#endif
