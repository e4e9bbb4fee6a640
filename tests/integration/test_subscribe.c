/*
 * test_subscribe.c — integration: workflow events reach
 * subscribing plugins besides the owner, and escalations record what they
 * convene (joint_departments) and which city body takes the case
 * (city_body), on the real daemon with the six department plugins and the
 * Lishui dataset.
 *
 * The volunteer plugin is configured as in etc/plugins.d/volunteer.cfg
 * (subscribe = [ "escalation", "joint", "city" ]); its on_event answers an
 * escalation of another department's case to joint or city with a note,
 * which the core writes into that case's history as "plugin:volunteer": the
 * observable that the copy arrived, and how many times.
 *
 * Grid A (33110200100101): M00151 leader, M00153 fulltime, market's case
 * owner is the market plugin. Grid Z (33110200600101, district devzone, the
 * Development Zone): M01615 leader.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/testapi.h"
#include "support/testutil.h"

#define GRID_A "33110200100101"
#define GRID_Z "33110200600101"
#define LEADER_A "M00151"
#define FULLTIME_A "M00153"
#define LEADER_Z "M01615"
#define WAIT_MS 15000
#define ALL_PLUGINS "enforcement,municipal,sanitation,market,police,volunteer"

#define VOLUNTEER_SUBSCRIBED                                                              \
    "{ name = \"volunteer\"; path = \"%s\"; mode = \"thread\";"                          \
    " subscribe = [ \"escalation\", \"joint\", \"city\" ]; settings = { }; }"

/* The city bodies as a test city configures them. */
#define CITY_ROUTES                                                                      \
    "escalation = { city = { default = \"city_enforcement_bureau\"; routes = (\n"        \
    "  { category = \"food_hygiene\"; body = \"civilisation_office\"; },\n"             \
    "  { district = \"devzone\"; body = \"zone_committee\"; } ); }; };\n"
/* posting: SLA 0.0002 h = 0.72 s, so each level is overdue within seconds. */
#define FAST_POSTING                                                                     \
    "routes = ( { category = \"posting\"; department = \"enforcement\"; sla_hours = 0.0002; } );\n"

static td_daemon D;

static void teardown(void)
{
    td_cleanup(&D);
}

static void start(const char *extra_config)
{
    memset(&D, 0, sizeof D);
    char *path = tu_plugin_path("plugins/volunteer", "volunteer");
    char *volunteer = tu_sprintf(VOLUNTEER_SUBSCRIBED, path);
    td_options opt = {.omitted = "volunteer", .extra_plugins = volunteer,
                      .extra_config = extra_config};
    ta_start(&D, &opt, ALL_PLUGINS, WAIT_MS);
    free(volunteer);
    free(path);
}

/* History rows by `actor` whose note contains `needle`. */
static int notes_by(json_t *c, const char *actor, const char *needle)
{
    int n = 0;
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(c, "history"), i, h)
        n += !strcmp(ta_text(h, "actor"), actor) && !strcmp(ta_text(h, "action"), "note") &&
             strstr(ta_text(h, "note"), needle) != NULL;
    return n;
}

/* Poll until the case has a note by actor containing needle. */
static json_t *wait_note(const char *id, const char *actor, const char *needle)
{
    long long deadline = td_deadline(WAIT_MS);
    for (;;) {
        json_t *c = ta_get_case(id);
        if (notes_by(c, actor, needle) > 0)
            return c;
        char *dump = ta_dump(c);
        EXPECT(ta_mono_ms() < deadline, "case %s: no note by %s with '%s': " TA_EXCERPT, id,
               actor, needle, dump);
        free(dump);
        json_decref(c);
        ta_sleep_ms(50);
    }
}

static json_t *act(const char *token, const char *id, const char *body, int want)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/cases/%s/actions", id);
    return ta_expect_call("POST", path, token, body, want);
}

/* ["a","b"] of the case's joint_departments as "a,b" ("null" when null). */
static void joint_text(json_t *c, char *out, size_t n)
{
    json_t *a = json_object_get(c, "joint_departments");
    if (!json_is_array(a)) {
        snprintf(out, n, "%s", json_is_null(a) ? "null" : "missing");
        return;
    }
    out[0] = 0;
    size_t i;
    json_t *d;
    json_array_foreach(a, i, d) {
        size_t len = strlen(out);
        snprintf(out + len, n - len, "%s%s", i ? "," : "", json_string_value(d));
    }
}

#define FOOD "{\"category\":\"food_hygiene\",\"grid\":\"" GRID_A "\",\"description\":\"kitchen\"}"

START_TEST(a_subscriber_sees_another_departments_escalations_once)
{
    start(CITY_ROUTES);
    char *leader = ta_token_for(LEADER_A), *fulltime = ta_token_for(FULLTIME_A);
    char *id = ta_report(fulltime, FOOD, 201);
    json_t *c = ta_wait_case(id, "status", "accepted", WAIT_MS);
    EXPECT(json_is_null(json_object_get(c, "joint_departments")) &&
               json_is_null(json_object_get(c, "city_body")),
           "a new case convenes nobody and has no city body");
    json_decref(c);

    /* to community: not what the volunteers follow */
    json_decref(act(leader, id, "{\"action\":\"escalate\",\"reason\":\"big\"}", 200));

    /* to joint: bad department lists are refused and change nothing */
    json_t *before = ta_get_case(id);
    json_decref(act(leader, id, "{\"action\":\"escalate\",\"reason\":\"r\",\"departments\":"
                                "[\"market\",\"nowhere\"]}", 422));
    json_decref(act(leader, id, "{\"action\":\"escalate\",\"reason\":\"r\",\"departments\":"
                                "\"market\"}", 400));
    json_t *now = ta_get_case(id);
    EXPECT(!strcmp(ta_text(now, "level"), "community") &&
               json_array_size(json_object_get(now, "history")) ==
                   json_array_size(json_object_get(before, "history")),
           "a refused escalation changed the case");
    json_decref(now);
    json_decref(before);

    json_t *e = act(leader, id, "{\"action\":\"escalate\",\"reason\":\"several departments\","
                                "\"departments\":[\"market\",\"police\",\"market\"]}", 200);
    char joint[128];
    joint_text(e, joint, sizeof joint);
    EXPECT(!strcmp(joint, "market,police"), "joint_departments %s", joint);
    EXPECT(strstr(ta_text(ta_history_last(e, "escalate"), "note"), "convened: market,police"),
           "escalate note lacks the convened departments");
    json_decref(e);
    c = wait_note(id, "plugin:volunteer", "raised to joint");

    /* to city: the configured body for food hygiene, in the case and its history */
    e = act(leader, id, "{\"action\":\"escalate\",\"reason\":\"the city must act\"}", 200);
    EXPECT(!strcmp(ta_text(e, "city_body"), "civilisation_office"), "city_body %s",
           ta_text(e, "city_body"));
    const char *note = ta_text(ta_history_last(e, "escalate"), "note");
    EXPECT(strstr(note, "civilisation_office") && strstr(note, "市文明办"), "city note: %s", note);
    joint_text(e, joint, sizeof joint);
    EXPECT(!strcmp(joint, "market,police"), "joint_departments kept: %s", joint);
    json_decref(e);
    json_decref(c);
    c = wait_note(id, "plugin:volunteer", "raised to city");

    /* exactly once each: the joint copy was answered before the city one */
    EXPECT(notes_by(c, "plugin:volunteer", "raised to joint") == 1 &&
               notes_by(c, "plugin:volunteer", "raised to city") == 1 &&
               notes_by(c, "plugin:volunteer", "") == 2,
           "volunteer notes: joint %d, city %d, all %d",
           notes_by(c, "plugin:volunteer", "raised to joint"),
           notes_by(c, "plugin:volunteer", "raised to city"), notes_by(c, "plugin:volunteer", ""));
    /* the subscriber noted; the case stays market's */
    EXPECT(!strcmp(ta_text(c, "department"), "market") && !strcmp(ta_text(c, "level"), "city"),
           "the subscriber moved the case");
    json_decref(c);

    /* a joint task a plugin raises (police: injuries) convenes police and
     * enforcement, as the timer would */
    char *crash = ta_report(leader, "{\"category\":\"traffic_safety\",\"grid\":\"" GRID_A
                                    "\",\"injuries\":true}", 201);
    c = ta_wait_case(crash, "level", "joint", WAIT_MS);
    joint_text(c, joint, sizeof joint);
    EXPECT(!strcmp(joint, "police,enforcement"), "police's joint task convenes %s", joint);
    json_decref(c);
    /* ... and the volunteers are told of it, once, like any escalation */
    c = wait_note(crash, "plugin:volunteer", "raised to joint");
    EXPECT(notes_by(c, "plugin:volunteer", "") == 1, "volunteer notes on %s: %d", crash,
           notes_by(c, "plugin:volunteer", ""));
    json_decref(c);
    free(crash);
    free(id);
    free(leader);
    free(fulltime);
}
END_TEST

START_TEST(the_timer_convenes_and_picks_the_body_by_district)
{
    start(FAST_POSTING CITY_ROUTES);
    char *leader_a = ta_token_for(LEADER_A), *leader_z = ta_token_for(LEADER_Z);
    char *zone = ta_report(leader_z, "{\"category\":\"posting\",\"grid\":\"" GRID_Z "\"}", 201);
    char *town = ta_report(leader_a, "{\"category\":\"posting\",\"grid\":\"" GRID_A "\"}", 201);
    json_t *z = ta_wait_case(zone, "level", "city", WAIT_MS);
    json_t *t = ta_wait_case(town, "level", "city", WAIT_MS);
    char joint[128];
    joint_text(z, joint, sizeof joint);
    EXPECT(!strcmp(joint, "enforcement"), "timer's joint_departments %s", joint);
    EXPECT(!strcmp(ta_text(z, "city_body"), "zone_committee"), "devzone body %s",
           ta_text(z, "city_body"));
    EXPECT(strstr(ta_text(ta_history_last(z, "escalate"), "note"), "开发区管委会"),
           "city note names the zone committee");
    EXPECT(!strcmp(ta_text(t, "city_body"), "city_enforcement_bureau"), "default body %s",
           ta_text(t, "city_body"));
    json_decref(z);
    json_decref(t);
    /* the volunteers were told of each case's joint and city escalations */
    json_t *c = wait_note(zone, "plugin:volunteer", "raised to city");
    EXPECT(notes_by(c, "plugin:volunteer", "raised to joint") == 1, "joint note on %s", zone);
    json_decref(c);
    c = wait_note(town, "plugin:volunteer", "raised to city");
    EXPECT(notes_by(c, "plugin:volunteer", "raised to joint") == 1, "joint note on %s", town);
    json_decref(c);
    free(zone);
    free(town);
    free(leader_a);
    free(leader_z);
}
END_TEST

START_TEST(an_unknown_department_in_subscribe_stops_startup)
{
    memset(&D, 0, sizeof D);
    char *path = tu_plugin_path("plugins/volunteer", "volunteer");
    char *volunteer = tu_sprintf("{ name = \"volunteer\"; path = \"%s\";\n"
                                 "  subscribe = [ \"nowhere\" ]; }", path);
    td_options opt = {.omitted = "volunteer", .extra_plugins = volunteer,
                      .start_timeout_ms = 5000};
    EXPECT(td_start(&D, &opt) == -1, "citygridd started with subscribe = [ \"nowhere\" ]");
    char *log = td_log(&D);
    D.failed = 0; /* expected: the state dir need not be kept */
    EXPECT(strstr(log, "citygrid.cfg:") && strstr(log, "subscribe") && strstr(log, "'nowhere'"),
           "no file:line error in the log: %.2000s", log);
    free(log);
    free(volunteer);
    free(path);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("subscribe");
    ta_add_case(s, "subscriber", a_subscriber_sees_another_departments_escalations_once, NULL,
                teardown, 60);
    ta_add_case(s, "timer", the_timer_convenes_and_picks_the_body_by_district, NULL, teardown,
                60);
    ta_add_case(s, "bad_config", an_unknown_department_in_subscribe_stops_startup, NULL,
                teardown, 30);
    return ta_run(s);
}
