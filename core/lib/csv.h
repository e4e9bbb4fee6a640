/*
 * csv.h — a strict reader for the UTF-8 CSV files of the dataset (RFC 4180:
 * comma-separated, fields optionally in double quotes with "" for a quote,
 * quoted fields may hold commas and line breaks; LF or CRLF line ends; an
 * optional UTF-8 byte-order mark). Every record remembers the line it starts
 * on, so that an import can name the row it refuses.
 *
 * Pure: no global state, any thread. A cg_csv owns everything it points to.
 */
#ifndef CG_CSV_H
#define CG_CSV_H

#include <stddef.h>

typedef struct cg_csv_row {
    size_t line;   /* 1-based line the record starts on (the header is line 1) */
    size_t n;      /* fields */
    char **f;      /* NUL-terminated, valid UTF-8 */
} cg_csv_row;

typedef struct cg_csv {
    cg_csv_row *rows; /* rows[0] is the header; blank lines are skipped */
    size_t n;
} cg_csv;

/* Parse a buffer. Refuses invalid UTF-8, NUL bytes, a quote inside an
 * unquoted field, text after a closing quote, an unterminated quote, and a
 * record whose field count differs from the header's. 0 ok; -1 with
 * "line N: reason" in err and *out empty. */
int cg_csv_parse(const char *data, size_t len, cg_csv *out, char *err, size_t errlen);
/* Read and parse a file; the error is prefixed with the path. */
int cg_csv_load(const char *path, cg_csv *out, char *err, size_t errlen);
void cg_csv_free(cg_csv *c);

/* Index of a header column by name, or -1. */
int cg_csv_column(const cg_csv *c, const char *name);

/* ---- writing --------------------------------------------------------------
 * Every CSV the project writes (the assessment CSV, roster and places
 * exports) makes its string cells with cg_csv_cell, so that no cell can be
 * read by a spreadsheet as a formula ("CSV injection", OWASP): a cell that
 * starts with '=', '+', '-', '@', TAB or CR gets a leading apostrophe, which
 * Excel, LibreOffice and Google Sheets show as text and hide. The cell is
 * then quoted (RFC 4180) when it holds a comma, a quote or a line end, or
 * was neutralised. Numbers written as numbers are not strings: a negative
 * number stays a number.
 *
 * A new malloc'd string (NULL when out of memory); the caller frees it. */
char *cg_csv_cell(const char *s);
/* Would a spreadsheet read this cell as a formula? */
int cg_csv_is_formula(const char *s);

/* Is s (len bytes) valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF)? */
int cg_utf8_valid(const char *s, size_t len);

#endif
