/*
 * backup.h — a consistent copy of the database while the daemon writes, and
 * putting one back while it does not (citygridctl backup / restore).
 *
 * Backup uses SQLite's online backup API from a separate read-only
 * connection, copying every page in one step: that one step is one read
 * transaction, so the copy is the database as of one commit (WAL lets the
 * daemon keep committing meanwhile; it never waits on the copy). Whatever was
 * committed before the backup started is in it.
 *
 * Any thread or process; each call opens and closes its own connections.
 */
#ifndef CG_STORE_BACKUP_H
#define CG_STORE_BACKUP_H

#include <stddef.h>

/* Copy the database at db_path into a NEW file dest (refused if it exists),
 * mode 0600. *pages gets the pages copied. 0 ok, -1 with err. */
int cg_store_backup(const char *db_path, const char *dest, long long *pages, char *err, size_t errlen);

/* 1 if some process has db_path open through SQLite's WAL (the daemon runs),
 * 0 if not, -1 with err when that cannot be told. Reads the lock SQLite's
 * unix VFS keeps on the "-shm" file's DMS byte while a connection is open. */
int cg_store_in_use(const char *db_path, char *err, size_t errlen);

/* Replace the database at db_path with the copy `src` (checked first: it
 * must be a citygrid database this build can open, schema not newer than
 * this build's). Refused while the database is in use. The file keeps its
 * owner and mode. 0 ok, -1 with err. */
int cg_store_restore(const char *src, const char *db_path, char *err, size_t errlen);

#endif
