/*
 * mask.h — hiding what a role may not see of a data source's row, by the
 * field's sensitivity class (plugin.h citygrid_source_field). A masked value
 * keeps its length in characters and shows '*' where it is hidden, so a
 * reader still sees that there is a value and how long it is:
 *
 *   id_number  3311**********1234   first 4 and last 4 kept
 *   phone      138****5678          first 3 and last 4 kept
 *   name       张**                 the family name (first character) kept
 *   plate      浙K***45             first 2 and last 2 kept
 *   address    丽水市莲都区******    the first 6 characters (city, district)
 *                                   kept, at most half of the value
 *   public     unchanged
 *   any other class: every character hidden (an unknown class is treated
 *   as the most sensitive).
 *
 * Pure functions, any thread. Values are UTF-8; characters are code points.
 */
#ifndef CG_MASK_H
#define CG_MASK_H

/* 1 when a value of this class is shown unchanged to everyone. */
int cg_mask_is_public(const char *klass);

/* The masked copy of `value` (malloc'd; NULL only when out of memory).
 * NULL value: NULL. */
char *cg_mask_value(const char *klass, const char *value);

#endif
