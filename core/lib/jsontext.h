/*
 * jsontext.h — json_dumps() without jansson's encoder, for the hot paths
 * (every 201, every dispatch payload, every plugin result).
 *
 * cg_json_dumps(v, flags) returns exactly the text json_dumps(v, flags)
 * returns for the flags the core uses: JSON_COMPACT, optionally with
 * JSON_ENCODE_ANY and JSON_REAL_PRECISION(n); object keys in insertion order,
 * the same escapes (\" \\ \b \f \n \r \t, \u00XX for the other control
 * characters, nothing else escaped), integers with JSON_INTEGER_FORMAT, reals
 * as "%.<n>g" with jansson's touches (a ".0" when it would read as an
 * integer, no '+' or leading zeros in the exponent). Any other flag
 * (indenting, sorted keys, ASCII only, escaped slashes) is handed to
 * json_dumps(). Why: jansson's encoder goes through a callback per piece and
 * a UTF-8 decode per character, about ten times the work of this one.
 *
 * The string values are written as they are: like json_dumps() for strings
 * made with json_string() (jansson checks their UTF-8 then). Returns a
 * malloc'd string (free() it) or NULL (out of memory, a value nested more
 * than 2048 deep, or not an object or array without JSON_ENCODE_ANY).
 * Pure: any thread, no shared state.
 */
#ifndef CG_JSONTEXT_H
#define CG_JSONTEXT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

char *cg_json_dumps(const json_t *v, size_t flags);

/* A JSON text written piece by piece, with no json_t built first (the
 * dispatch payload): the same encoding as cg_json_dumps(v, JSON_COMPACT).
 * Start from `cg_jbuf b = {0}`; a failure (out of memory, a NULL string or
 * value, a non-finite real) sticks, and cg_jbuf_finish then returns NULL.
 * The caller writes the punctuation and "key": parts with cg_jbuf_raw. */
typedef struct cg_jbuf {
    char *p;
    size_t n, cap;
    int failed;
} cg_jbuf;

void cg_jbuf_raw(cg_jbuf *b, const char *text);   /* as it is */
void cg_jbuf_string(cg_jbuf *b, const char *s);   /* quoted and escaped */
void cg_jbuf_int(cg_jbuf *b, int64_t v);
void cg_jbuf_real(cg_jbuf *b, double v);          /* as json_dumps' default precision */
void cg_jbuf_bool(cg_jbuf *b, int v);
void cg_jbuf_value(cg_jbuf *b, const json_t *v);  /* any json_t, as cg_json_dumps */
/* The text (malloc'd, free() it) or NULL; b is empty afterwards. */
char *cg_jbuf_finish(cg_jbuf *b);
void cg_jbuf_discard(cg_jbuf *b);

#endif
