/*
 * test_evidence.c — integration: citygridd with the
 * Lishui dataset. Members of grid 33110200100101 (contrib/lishui/roster.csv:
 * M00151 leader, M00153 fulltime, M00154 enforcement professional; M00159
 * leads the neighbouring grid 33110200100102) attach before and after
 * photos to a street-stall case, list them and fetch the bytes with auth;
 * non-images and over-size photos are refused and leave nothing behind.
 * Reports of the same category 10 m apart are flagged as likely duplicates;
 * 500 m apart, or of another category, they are not.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "integration/testapi.h"
#include "support/testutil.h"
#include "support/tiny_images.h"

#define EXCERPT "%.2000s"
#define GRID_A "33110200100101"
#define LAT 28.455478
#define LON 119.928065
#define M_PER_DEG_LAT 111195.08
#define MAX_PHOTO 4096

static td_daemon D;

static void setup(void)
{
    memset(&D, 0, sizeof D);
    td_options opt = {.omitted = TA_DEPARTMENT_PLUGINS,
                      .extra_config = "evidence = { max_photo_bytes = 4096; };\n"
                                      "duplicates = { radius_m = 50.0; window_hours = 72.0; };\n"};
    ta_start(&D, &opt, NULL, 0);
}

static void teardown(void)
{
    td_cleanup(&D);
}

/* POST raw bytes as a photo, expecting `want`; the parsed body. */
static json_t *upload(const char *case_id, const char *stage, const char *token,
                      const char *content_type, const void *data, size_t len, int want)
{
    char *path = tu_sprintf("/v1/cases/%s/photos?stage=%s", case_id, stage);
    hc_request rq = {.method = "POST", .path = path, .token = token,
                     .content_type = content_type, .body = data, .body_len = len};
    hc_response r;
    hc_send(D.port, &rq, &r);
    json_t *j = json_loads(r.body, 0, NULL);
    EXPECT(r.status == want, "POST %s (%s, %zu bytes): %d, expected %d: " EXCERPT, path,
           content_type, len, r.status, want, r.body);
    hc_response_free(&r);
    free(path);
    return j ? j : json_object();
}

/* Report a case; its 201 body (caller decrefs). */
static json_t *report(const char *token, const char *category, double lat, double lon)
{
    char *body = tu_sprintf("{\"category\":\"%s\",\"grid\":\"" GRID_A "\",\"lat\":%.7f,"
                            "\"lon\":%.7f,\"description\":\"test\"}", category, lat, lon);
    json_t *c = ta_expect_call("POST", "/v1/cases", token, body, 201);
    free(body);
    return c;
}

/* Regular files under DIR/evidence (recursively), temporary ones included. */
static int count_files(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *sub = tu_sprintf("%s/%s", path, e->d_name);
        if (e->d_type == DT_DIR)
            n += count_files(sub);
        else
            n++;
        free(sub);
    }
    closedir(d);
    return n;
}

static int evidence_files(void)
{
    char *p = tu_sprintf("%s/evidence", D.dir);
    int n = count_files(p);
    free(p);
    return n;
}

START_TEST(photos_are_attached_listed_and_served_with_auth)
{
    char *leader = ta_token_for("M00151"), *fulltime = ta_token_for("M00153"),
         *enforcer = ta_token_for("M00154"), *other_grid = ta_token_for("M00159");
    json_t *c = report(fulltime, "street_stall", LAT, LON);
    const char *id = ta_text(c, "id");

    /* Before: anyone who sees the case. */
    json_t *p = upload(id, "before", fulltime, "image/jpeg", tiny_jpg, sizeof tiny_jpg, 201);
    char *jpg_sha = strdup(ta_text(p, "sha256"));
    EXPECT(strlen(jpg_sha) == 64, "no sha256: %s", jpg_sha);
    EXPECT(!strcmp(ta_text(p, "stage"), "before") &&
               !strcmp(ta_text(p, "content_type"), "image/jpeg") &&
               json_integer_value(json_object_get(p, "bytes")) == (json_int_t)sizeof tiny_jpg &&
               strlen(ta_text(p, "at")) > 0,
           "wrong photo record");
    json_decref(p);

    /* After: the fulltime grid member is not the handler; the department is. */
    p = upload(id, "after", fulltime, "image/png", tiny_png, sizeof tiny_png, 403);
    json_decref(p);
    p = upload(id, "after", enforcer, "image/png", tiny_png, sizeof tiny_png, 201);
    char *png_sha = strdup(ta_text(p, "sha256"));
    json_decref(p);
    /* The same photo again at the same stage: nothing new. */
    p = upload(id, "after", leader, "image/png", tiny_png, sizeof tiny_png, 200);
    EXPECT(!strcmp(ta_text(p, "sha256"), png_sha), "another sha for the same photo");
    json_decref(p);
    /* Not the caller's grid: may not attach at all. */
    json_decref(upload(id, "before", other_grid, "image/png", tiny_png, sizeof tiny_png, 403));
    EXPECT(evidence_files() == 2, "%d files stored, expected 2", evidence_files());

    /* The list, oldest first. */
    char *list_path = tu_sprintf("/v1/cases/%s/photos", id);
    json_t *l = ta_expect_call("GET", list_path, fulltime, NULL, 200);
    json_t *items = json_object_get(l, "items");
    EXPECT(json_array_size(items) == 2, "not 2 photos: " EXCERPT, json_dumps(l, 0));
    EXPECT(!strcmp(ta_text(json_array_get(items, 0), "sha256"), jpg_sha) &&
               !strcmp(ta_text(json_array_get(items, 1), "stage"), "after"),
           "wrong list");
    json_decref(l);
    json_decref(ta_expect_call("GET", list_path, other_grid, NULL, 403));
    json_decref(ta_expect_call("GET", list_path, NULL, NULL, 401));

    /* The bytes, with auth and their type. */
    char *photo_path = tu_sprintf("/v1/photos/%s", jpg_sha);
    hc_response r;
    hc_request rq = {.method = "GET", .path = photo_path, .token = fulltime};
    hc_send(D.port, &rq, &r);
    EXPECT(r.status == 200, "GET photo: %d " EXCERPT, r.status, r.body);
    EXPECT(r.content_type && !strcmp(r.content_type, "image/jpeg"), "content type %s",
           r.content_type ? r.content_type : "(none)");
    EXPECT(r.body_len == sizeof tiny_jpg && !memcmp(r.body, tiny_jpg, sizeof tiny_jpg),
           "other bytes came back (%zu)", r.body_len);
    hc_response_free(&r);
    json_decref(ta_expect_call("GET", photo_path, NULL, NULL, 401));
    json_decref(ta_expect_call("GET", photo_path, other_grid, NULL, 403));
    json_decref(ta_expect_call("GET", "/v1/photos/0000000000000000000000000000000000000000000000000000000000000000",
                               fulltime, NULL, 404));

    /* History: one "photo" row per attachment. */
    char *case_path = tu_sprintf("/v1/cases/%s", id);
    json_t *full = ta_expect_call("GET", case_path, fulltime, NULL, 200);
    int photos = ta_history_count(full, "photo");
    EXPECT(photos == 2, "%d photo rows in the history", photos);
    json_decref(full);

    json_decref(c);
    free(case_path);
    free(photo_path);
    free(list_path);
    free(jpg_sha);
    free(png_sha);
    free(leader);
    free(fulltime);
    free(enforcer);
    free(other_grid);
}
END_TEST

START_TEST(non_images_and_oversize_photos_are_refused_and_nothing_is_stored)
{
    char *fulltime = ta_token_for("M00153");
    json_t *c = report(fulltime, "graffiti", LAT, LON);
    const char *id = ta_text(c, "id");
    static const char text[] = "this is a text file renamed photo.jpg\n";

    json_t *e = upload(id, "before", fulltime, "image/jpeg", text, strlen(text), 415);
    EXPECT(!strcmp(ta_error_code(e), "unsupported_media_type"), "code %s", ta_error_code(e));
    json_decref(e);
    json_decref(upload(id, "before", fulltime, "text/plain", text, strlen(text), 415));
    json_decref(upload(id, "before", fulltime, "image/jpeg", tiny_png, sizeof tiny_png, 415));

    /* A PNG header over the limit. */
    size_t big = MAX_PHOTO + 1;
    unsigned char *data = calloc(1, big);
    memcpy(data, tiny_png, sizeof tiny_png);
    e = upload(id, "before", fulltime, "image/png", data, big, 413);
    EXPECT(!strcmp(ta_error_code(e), "body_too_large"), "code %s", ta_error_code(e));
    json_decref(e);
    free(data);

    json_decref(upload(id, "during", fulltime, "image/png", tiny_png, sizeof tiny_png, 400));
    json_decref(upload("C99999999", "before", fulltime, "image/png", tiny_png, sizeof tiny_png, 404));

    EXPECT(evidence_files() == 0, "%d files stored after refusals", evidence_files());
    char *list_path = tu_sprintf("/v1/cases/%s/photos", id);
    json_t *l = ta_expect_call("GET", list_path, fulltime, NULL, 200);
    EXPECT(json_array_size(json_object_get(l, "items")) == 0, "a refused photo was recorded");
    json_decref(l);
    free(list_path);
    json_decref(c);
    free(fulltime);
}
END_TEST

START_TEST(a_report_near_an_open_case_of_its_category_is_flagged)
{
    char *fulltime = ta_token_for("M00153");
    json_t *first = report(fulltime, "street_stall", LAT, LON);
    json_t *dups = json_object_get(first, "likely_duplicate_of");
    EXPECT(json_is_array(dups) && json_array_size(dups) == 0, "the first is flagged: " EXCERPT,
           json_dumps(first, 0));

    /* 10 m north: flagged with the first's id and the distance. */
    json_t *near = report(fulltime, "street_stall", LAT + 10 / M_PER_DEG_LAT, LON);
    dups = json_object_get(near, "likely_duplicate_of");
    EXPECT(json_array_size(dups) == 1, "not flagged: " EXCERPT, json_dumps(near, 0));
    json_t *d = json_array_get(dups, 0);
    EXPECT(!strcmp(ta_text(d, "id"), ta_text(first, "id")), "flagged as %s", ta_text(d, "id"));
    double m = json_number_value(json_object_get(d, "distance_m"));
    EXPECT(m > 9.0 && m < 11.0, "distance %f", m);

    /* 500 m away: not a duplicate. */
    json_t *far = report(fulltime, "street_stall", LAT + 500 / M_PER_DEG_LAT, LON);
    EXPECT(json_array_size(json_object_get(far, "likely_duplicate_of")) == 0, "500 m flagged: "
           EXCERPT, json_dumps(far, 0));
    /* Another category at the same spot: not a duplicate. */
    json_t *other = report(fulltime, "graffiti", LAT, LON);
    EXPECT(json_array_size(json_object_get(other, "likely_duplicate_of")) == 0,
           "another category flagged: " EXCERPT, json_dumps(other, 0));

    /* A third at the first spot: both earlier ones, nearest first. */
    json_t *third = report(fulltime, "street_stall", LAT, LON);
    dups = json_object_get(third, "likely_duplicate_of");
    EXPECT(json_array_size(dups) == 2 &&
               !strcmp(ta_text(json_array_get(dups, 0), "id"), ta_text(first, "id")) &&
               !strcmp(ta_text(json_array_get(dups, 1), "id"), ta_text(near, "id")),
           "wrong order: " EXCERPT, json_dumps(third, 0));

    json_decref(first);
    json_decref(near);
    json_decref(far);
    json_decref(other);
    json_decref(third);
    free(fulltime);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("evidence (integration)");
    TCase *tc = ta_tcase(s, "photos", setup, teardown, 60);
    tcase_add_test(tc, photos_are_attached_listed_and_served_with_auth);
    tcase_add_test(tc, non_images_and_oversize_photos_are_refused_and_nothing_is_stored);
    ta_add_case(s, "duplicates", a_report_near_an_open_case_of_its_category_is_flagged, setup,
                teardown, 60);
    return s;
}

int main(void)
{
    return ta_run(suite());
}
