/*
 * rowid.h — ids as the API shows them: a prefix and a row id. Pure; any thread.
 */
#ifndef CG_ROWID_H
#define CG_ROWID_H

#include <stddef.h>

/* Ids as the API shows them: a prefix and the row id, "CK00000042" (check-ins
 * CK, patrols PT, meetings MT, tasks TK, devices DV). Parse: the row id, or 0
 * when `text` is not prefix + 1..18 digits. */
void cg_row_id_format(const char *prefix, long long id, char *buf, size_t len);
long long cg_row_id_parse(const char *prefix, const char *text);

#endif
