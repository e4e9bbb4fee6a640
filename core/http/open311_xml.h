/*
 * open311_xml.h — the XML side of Open311 GeoReport v2: a JSON value written
 * as the spec's XML, so that every endpoint builds one JSON answer and shows
 * it in either format. Pure (no I/O), any thread.
 *
 * Mapping: an object is an element whose children are its members in order;
 * an array is an element holding one child per item, named by the spec's
 * singular of the array's name (services/service, service_requests/request,
 * errors/error, service_request_updates/request_update, attributes/attribute,
 * values/value, endpoints/endpoint, formats/format; else "item"); a string or
 * number is escaped text; true/false are "true"/"false"; null is an empty
 * element. Characters XML 1.0 cannot carry (controls other than tab, CR, LF)
 * are dropped.
 */
#ifndef CG_OPEN311_XML_H
#define CG_OPEN311_XML_H

#include <stddef.h>
#include <jansson.h>

/* The document "<?xml version="1.0" encoding="utf-8"?>\n<root>...</root>\n"
 * (malloc'd, *len set), or NULL when out of memory. */
char *cg_o311_xml(const char *root, json_t *value, size_t *len);

/* The element name of one item of an array named `plural`. */
const char *cg_o311_xml_singular(const char *plural);

#endif
