/*
 * catalog.c — the datahub's six sources (see catalog.h). The classes follow
 * the data, not the reader: an ID number is "id_number" wherever it appears
 * (a vehicle's owner, a building's owner, a penalised person), so a role
 * that may not see ID numbers never sees one through another source. What a
 * business registry publishes anyway (a company's name, code and address)
 * is "public". A camera's stream URL has a class of its own, "stream", which
 * the core treats as fully hidden unless a rule names the field.
 */
#include "catalog.h"

#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SOURCE(var, nm, title, flds, sp)                                           \
    static const citygrid_source var = {.struct_size = sizeof(citygrid_source),  \
                                        .name = nm,                               \
                                        .title_zh = title,                        \
                                        .fields = flds,                           \
                                        .n_fields = N(flds),                      \
                                        .spatial = sp}

static const citygrid_source_field persons_fields[] = {
    {"id_number", "id_number"}, {"name", "name"},           {"gender", "public"},
    {"phone", "phone"},         {"household_no", "id_number"}, {"relation", "public"},
    {"address", "address"},     {"grid", "public"},
};
static const char *const persons_search[] = {"id_number", "name", "phone", "household_no",
                                             "address", NULL};
SOURCE(persons, "persons", "人口信息", persons_fields, 0);

static const citygrid_source_field vehicles_fields[] = {
    {"plate", "plate"},           {"vehicle_type", "public"},
    {"brand", "public"},          {"color", "public"},
    {"owner_name", "name"},       {"owner_id_number", "id_number"},
    {"owner_phone", "phone"},     {"registered_on", "public"},
    {"address", "address"},       {"grid", "public"},
};
static const char *const vehicles_search[] = {"plate", "owner_name", "owner_id_number",
                                              "owner_phone", NULL};
SOURCE(vehicles, "vehicles", "车辆信息", vehicles_fields, 0);

static const citygrid_source_field companies_fields[] = {
    {"credit_code", "public"},     {"name", "public"},          {"kind", "public"},
    {"licence_no", "public"},      {"legal_rep", "name"},       {"legal_rep_phone", "phone"},
    {"business_scope", "public"},  {"trade", "public"},         {"registered_on", "public"},
    {"status", "public"},          {"address", "public"},       {"grid", "public"},
    {"lat", "public"},             {"lon", "public"},
};
static const char *const companies_search[] = {"credit_code", "name", "licence_no", "legal_rep",
                                               "address", NULL};
SOURCE(companies, "companies", "法人信息", companies_fields, 0);

static const citygrid_source_field offenders_fields[] = {
    {"decision_no", "public"},     {"party_name", "name"},     {"party_id_number", "id_number"},
    {"party_type", "public"},      {"violation", "public"},    {"category", "public"},
    {"penalty", "public"},         {"decided_on", "public"},   {"address", "address"},
    {"grid", "public"},
};
static const char *const offenders_search[] = {"decision_no", "party_name", "party_id_number",
                                               "violation", "address", NULL};
SOURCE(offenders, "offenders", "违法当事人", offenders_fields, 0);

static const citygrid_source_field property_fields[] = {
    {"building_id", "public"},     {"cert_no", "id_number"},   {"address", "address"},
    {"use", "public"},             {"floors", "public"},       {"owner_name", "name"},
    {"owner_id_number", "id_number"}, {"owner_phone", "phone"}, {"illegal_structure", "public"},
    {"grid", "public"},            {"lat", "public"},          {"lon", "public"},
};
static const char *const property_search[] = {"building_id", "cert_no", "address", "owner_name",
                                              "owner_id_number", NULL};
SOURCE(property_owners, "property_owners", "房屋产权人", property_fields, 1);

static const citygrid_source_field cameras_fields[] = {
    {"camera_id", "public"}, {"name", "public"}, {"kind", "public"},
    {"stream_url", "stream"}, {"grid", "public"}, {"lat", "public"}, {"lon", "public"},
};
static const char *const cameras_search[] = {"camera_id", "name", NULL};
SOURCE(cameras, "cameras", "视频监控", cameras_fields, 1);

const citygrid_source *const dh_source_list[] = {
    &persons, &vehicles, &companies, &offenders, &property_owners, &cameras, NULL,
};

static const dh_source sources[] = {
    {&persons, persons_search},     {&vehicles, vehicles_search},
    {&companies, companies_search}, {&offenders, offenders_search},
    {&property_owners, property_search}, {&cameras, cameras_search},
};

const dh_source *dh_source_find(const char *name)
{
    for (size_t i = 0; name && i < N(sources); i++)
        if (strcmp(sources[i].desc->name, name) == 0)
            return &sources[i];
    return NULL;
}
