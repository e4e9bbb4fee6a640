/* test_evidence.c — photos as evidence (evidence.c: magic bytes, the upload
 * check, files by SHA-256, records) and likely duplicates (duplicates.c:
 * the indexed radius query, links), against a real SQLite file and state
 * directory in a temporary directory. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "case/cases.h"
#include "people/catalog.h"
#include "conf/config.h"
#include "case/duplicates.h"
#include "case/evidence.h"
#include "store/store.h"
#include "lib/timeutil.h"
#include "support/testutil.h"

#include "support/tiny_images.h"
#include "support/run_suite.h"

/* What a text file renamed photo.jpg holds. */
static const char not_a_photo[] = "Dear grid leader, the stall is back at the corner.\n";

/* ================================================================ bytes */

START_TEST(real_jpeg_and_png_are_recognised)
{
    ck_assert_int_eq(cg_evidence_sniff(tiny_jpg, sizeof tiny_jpg), CG_PHOTO_JPEG);
    ck_assert_int_eq(cg_evidence_sniff(tiny_png, sizeof tiny_png), CG_PHOTO_PNG);
    ck_assert_str_eq(cg_evidence_mime(CG_PHOTO_JPEG), "image/jpeg");
    ck_assert_str_eq(cg_evidence_mime(CG_PHOTO_PNG), "image/png");
    ck_assert_ptr_null(cg_evidence_mime(CG_PHOTO_NONE));
}
END_TEST

START_TEST(text_and_broken_headers_are_not_photos)
{
    ck_assert_int_eq(cg_evidence_sniff(not_a_photo, strlen(not_a_photo)), CG_PHOTO_NONE);
    ck_assert_int_eq(cg_evidence_sniff(NULL, 0), CG_PHOTO_NONE);
    ck_assert_int_eq(cg_evidence_sniff(tiny_jpg, 3), CG_PHOTO_NONE);  /* SOI and a byte */
    ck_assert_int_eq(cg_evidence_sniff(tiny_png, 20), CG_PHOTO_NONE); /* IHDR cut short */

    unsigned char bad[sizeof tiny_png];
    memcpy(bad, tiny_png, sizeof bad);
    memset(bad + 16, 0, 4); /* width 0 */
    ck_assert_int_eq(cg_evidence_sniff(bad, sizeof bad), CG_PHOTO_NONE);
    memcpy(bad, tiny_png, sizeof bad);
    bad[24] = 7; /* bit depth 7 */
    ck_assert_int_eq(cg_evidence_sniff(bad, sizeof bad), CG_PHOTO_NONE);

    unsigned char j[sizeof tiny_jpg];
    memcpy(j, tiny_jpg, sizeof j);
    j[3] = 0xd9; /* SOI then EOI: no image */
    ck_assert_int_eq(cg_evidence_sniff(j, sizeof j), CG_PHOTO_NONE);
    memcpy(j, tiny_jpg, sizeof j);
    j[4] = 0xff; /* first segment longer than the file */
    ck_assert_int_eq(cg_evidence_sniff(j, sizeof j), CG_PHOTO_NONE);
}
END_TEST

START_TEST(content_types_are_read_strictly)
{
    ck_assert_int_eq(cg_evidence_kind_of_mime("image/jpeg"), CG_PHOTO_JPEG);
    ck_assert_int_eq(cg_evidence_kind_of_mime("IMAGE/PNG; foo=bar"), CG_PHOTO_PNG);
    ck_assert_int_eq(cg_evidence_kind_of_mime("image/pngx"), CG_PHOTO_NONE);
    ck_assert_int_eq(cg_evidence_kind_of_mime("image/gif"), CG_PHOTO_NONE);
    ck_assert_int_eq(cg_evidence_kind_of_mime("text/plain"), CG_PHOTO_NONE);
    ck_assert_int_eq(cg_evidence_kind_of_mime(NULL), CG_PHOTO_NONE);
}
END_TEST

START_TEST(the_upload_check_refuses_in_order)
{
    cg_result err;
    cg_photo_kind kind;
    ck_assert_int_eq(cg_evidence_check_upload(tiny_png, sizeof tiny_png, 1024, "image/png", &kind,
                                              &err), CG_OK);
    ck_assert_int_eq(kind, CG_PHOTO_PNG);
    ck_assert_int_eq(cg_evidence_check_upload(tiny_jpg, sizeof tiny_jpg, 1024, "image/jpeg", &kind,
                                              &err), CG_OK);
    ck_assert_int_eq(kind, CG_PHOTO_JPEG);

    /* The size limit: one byte over is too large, exactly at it is fine. */
    ck_assert_int_eq(cg_evidence_check_upload(NULL, 1025, 1024, "image/png", &kind, &err), CG_E_TOO_LARGE);
    ck_assert_str_eq(err.code, "body_too_large");
    ck_assert_int_eq(cg_evidence_check_upload(tiny_png, sizeof tiny_png, sizeof tiny_png,
                                              "image/png", &kind, &err), CG_OK);
    ck_assert_int_eq(cg_evidence_check_upload(tiny_png, sizeof tiny_png, sizeof tiny_png - 1,
                                              "image/png", &kind, &err), CG_E_TOO_LARGE);
    ck_assert_int_eq(cg_evidence_check_upload(tiny_png, 0, 1024, "image/png", &kind, &err), CG_E_INVALID);

    /* A text file renamed .jpg and sent as image/jpeg. */
    ck_assert_int_eq(cg_evidence_check_upload(not_a_photo, strlen(not_a_photo), 1024, "image/jpeg",
                                              &kind, &err), CG_E_UNSUPPORTED);
    ck_assert_str_eq(err.code, "unsupported_media_type");
    ck_assert_int_eq(kind, CG_PHOTO_NONE);
    /* The right bytes under the wrong name, and no image type at all. */
    ck_assert_int_eq(cg_evidence_check_upload(tiny_png, sizeof tiny_png, 1024, "image/jpeg", &kind,
                                              &err), CG_E_UNSUPPORTED);
    ck_assert_int_eq(cg_evidence_check_upload(tiny_png, sizeof tiny_png, 1024,
                                              "application/octet-stream", &kind, &err), CG_E_UNSUPPORTED);
    ck_assert_int_eq(cg_evidence_check_upload(tiny_png, sizeof tiny_png, 1024, NULL, &kind, &err), CG_E_UNSUPPORTED);
}
END_TEST

START_TEST(sha256_names_and_the_path_layout)
{
    char hex[CG_SHA256_HEX_SIZE], path[512];
    cg_evidence_sha256_hex("abc", 3, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ck_assert(cg_evidence_is_sha256_hex(hex));
    ck_assert_int_eq(cg_evidence_path("/var/lib/cg", hex, path, sizeof path), 0);
    ck_assert_str_eq(path, "/var/lib/cg/evidence/ba/"
                           "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* Not a name: refused, so a path can never leave the evidence tree. */
    ck_assert(!cg_evidence_is_sha256_hex("../../etc/passwd"));
    ck_assert(!cg_evidence_is_sha256_hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
    ck_assert(!cg_evidence_is_sha256_hex("ba7816"));
    ck_assert_int_eq(cg_evidence_path("/x", "ba7816", path, sizeof path), -1);
    ck_assert_int_eq(cg_evidence_path("/x", hex, path, 20), -1);
}
END_TEST

/* ================================================================ files */

static char *dir;

static void files_setup(void)
{
    ck_assert_int_ge(sodium_init(), 0);
    dir = tu_tempdir("evidence");
}

static void files_teardown(void)
{
    tu_rmrf(dir);
    free(dir);
}

static int entries_in(const char *path)
{
    DIR *d = opendir(path);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

START_TEST(the_same_photo_is_stored_once)
{
    char hex[CG_SHA256_HEX_SIZE], hex2[CG_SHA256_HEX_SIZE], path[512], err[256] = "";
    int created = -1;
    ck_assert_msg(cg_evidence_save(dir, tiny_png, sizeof tiny_png, hex, &created, err,
                                   sizeof err) == 0, "%s", err);
    ck_assert_int_eq(created, 1);
    ck_assert_int_eq(cg_evidence_path(dir, hex, path, sizeof path), 0);

    /* The file holds exactly the bytes, under evidence/ab/abcdef... */
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char back[256];
    size_t n = fread(back, 1, sizeof back, f);
    fclose(f);
    ck_assert_uint_eq(n, sizeof tiny_png);
    ck_assert(memcmp(back, tiny_png, n) == 0);
    char *sub = tu_sprintf("%s/evidence/%.2s", dir, hex);
    ck_assert_int_eq(entries_in(sub), 1); /* no temporary file left behind */

    /* Again: found, not written; still one file. */
    ck_assert_int_eq(cg_evidence_save(dir, tiny_png, sizeof tiny_png, hex2, &created, err,
                                      sizeof err), 0);
    ck_assert_int_eq(created, 0);
    ck_assert_str_eq(hex, hex2);
    ck_assert_int_eq(entries_in(sub), 1);

    /* Another photo: another name. */
    ck_assert_int_eq(cg_evidence_save(dir, tiny_jpg, sizeof tiny_jpg, hex2, &created, err,
                                      sizeof err), 0);
    ck_assert_int_eq(created, 1);
    ck_assert_str_ne(hex, hex2);
    free(sub);
}
END_TEST

START_TEST(an_unwritable_state_dir_is_an_error)
{
    char hex[CG_SHA256_HEX_SIZE], err[256] = "";
    int created = -1;
    char *file = tu_sprintf("%s/plain-file", dir);
    ck_assert_int_eq(tu_write_file(file, "x"), 0);
    /* evidence/ cannot be made inside a file. */
    ck_assert_int_eq(cg_evidence_save(file, tiny_png, sizeof tiny_png, hex, &created, err,
                                      sizeof err), -1);
    ck_assert_int_eq(created, 0);
    ck_assert(strlen(err) > 0);
    free(file);
}
END_TEST

/* ================================================================ records */

static char *db_path;
static cg_store *st;

static void store_setup(void)
{
    files_setup();
    db_path = tu_sprintf("%s/citygrid.db", dir);
    char err[512] = "";
    ck_assert_msg(cg_store_open(db_path, &st, err, sizeof err) == 0, "open: %s", err);
}

static void store_teardown(void)
{
    cg_store_close(st);
    st = NULL;
    free(db_path);
    files_teardown();
}

static void new_case(const char *category, double lat, double lon, int64_t at, char id[32])
{
    cg_new_case nc = {.category = category, .department = "enforcement", .grid = "",
                      .description = "", .source = "patrol", .reporter = "m1", .lat = lat,
                      .lon = lon, .has_location = 1, .sla_hours = 24};
    cg_dispatch d = {0};
    int dispatched = 0;
    char err[256] = "";
    ck_assert_msg(cg_cases_insert(st, &nc, at, id, &d, &dispatched, err, sizeof err) == 0, "%s",
                  err);
    cg_dispatch_clear(&d);
}

static long long count(const char *sql_fmt, const char *arg)
{
    char *sql = tu_sprintf(sql_fmt, arg);
    sqlite3_stmt *s = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(st->db, sql, -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    long long n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    free(sql);
    return n;
}

START_TEST(a_photo_is_recorded_once_per_case_and_stage_with_history)
{
    char id[32], hex[CG_SHA256_HEX_SIZE], err[256] = "";
    int64_t t0 = cg_now_ms();
    new_case("street_stall", 28.45, 119.92, t0, id);
    cg_evidence_sha256_hex(tiny_png, sizeof tiny_png, hex);
    cg_photo p = {.case_id = id, .stage = "before", .sha256 = hex, .content_type = "image/png",
                  .bytes = sizeof tiny_png, .uploader = "m1"};
    int inserted = -1;
    int64_t at = 0;
    ck_assert_int_eq(cg_evidence_has_after_photo(st, id), 0);
    ck_assert_msg(cg_evidence_record(st, &p, t0 + 5, &inserted, &at, err, sizeof err) == 0, "%s",
                  err);
    ck_assert_int_eq(inserted, 1);
    ck_assert_int_eq(at, t0 + 5);
    ck_assert_int_eq(cg_evidence_has_after_photo(st, id), 0); /* a before photo is not enough */

    /* The same photo at the same stage again: nothing new, the first time kept. */
    ck_assert_int_eq(cg_evidence_record(st, &p, t0 + 9, &inserted, &at, err, sizeof err), 0);
    ck_assert_int_eq(inserted, 0);
    ck_assert_int_eq(at, t0 + 5);

    p.stage = "after";
    p.uploader = "m2";
    ck_assert_int_eq(cg_evidence_record(st, &p, t0 + 10, &inserted, &at, err, sizeof err), 0);
    ck_assert_int_eq(inserted, 1);
    ck_assert_int_eq(cg_evidence_has_after_photo(st, id), 1);
    ck_assert_int_eq(cg_evidence_has_after_photo_tx(st, id), 1);

    ck_assert_int_eq(count("SELECT count(*) FROM case_photos WHERE case_id = '%s'", id), 2);
    ck_assert_int_eq(count("SELECT count(*) FROM case_history WHERE case_id = '%s'"
                           " AND action = 'photo'", id), 2);
    char *note = tu_sprintf("SELECT count(*) FROM case_history WHERE case_id = '%%s' AND actor ="
                            " 'm2' AND note = 'after %s'", hex);
    ck_assert_int_eq(count(note, id), 1);
    free(note);

    json_t *list = cg_evidence_list(st, id);
    ck_assert_uint_eq(json_array_size(list), 2);
    json_t *first = json_array_get(list, 0);
    ck_assert_str_eq(json_string_value(json_object_get(first, "stage")), "before");
    ck_assert_str_eq(json_string_value(json_object_get(first, "sha256")), hex);
    ck_assert_str_eq(json_string_value(json_object_get(first, "content_type")), "image/png");
    ck_assert_int_eq(json_integer_value(json_object_get(first, "bytes")), sizeof tiny_png);
    json_decref(list);
}
END_TEST

START_TEST(a_photo_for_an_unknown_case_or_stage_changes_nothing)
{
    char hex[CG_SHA256_HEX_SIZE], err[256] = "", id[32];
    new_case("graffiti", 28.45, 119.92, cg_now_ms(), id);
    cg_evidence_sha256_hex(tiny_png, sizeof tiny_png, hex);
    cg_photo p = {.case_id = "C99999999", .stage = "before", .sha256 = hex,
                  .content_type = "image/png", .bytes = 1, .uploader = "m1"};
    int inserted = -1;
    int64_t at;
    ck_assert_int_eq(cg_evidence_record(st, &p, 1, &inserted, &at, err, sizeof err), -1);
    ck_assert_int_eq(inserted, 0);
    p.case_id = id;
    p.stage = "during";
    ck_assert_int_eq(cg_evidence_record(st, &p, 1, &inserted, &at, err, sizeof err), -1);
    ck_assert_int_eq(count("SELECT count(*) FROM case_photos%s", ""), 0);
    ck_assert_int_eq(count("SELECT count(*) FROM case_history WHERE action = 'photo'%s", ""), 0);
}
END_TEST

/* ================================================================ duplicates */

#define LAT 28.4517
#define LON 119.9229
#define M_PER_DEG_LAT 111195.08

START_TEST(open_cases_nearby_of_the_category_are_found_nearest_first)
{
    int64_t now = cg_now_ms();
    char near10[32], near30[32], far[32], other[32], old[32], self[32];
    new_case("street_stall", LAT + 30 / M_PER_DEG_LAT, LON, now, near30);
    new_case("street_stall", LAT + 10 / M_PER_DEG_LAT, LON, now, near10);
    new_case("street_stall", LAT + 500 / M_PER_DEG_LAT, LON, now, far);
    new_case("graffiti", LAT, LON, now, other);
    new_case("street_stall", LAT, LON + 0.0001, now - 100LL * 3600 * 1000, old); /* 100 h ago */
    new_case("street_stall", LAT, LON, now, self);

    cg_duplicate d[CG_DUPLICATES_MAX];
    int64_t since = now - 72LL * 3600 * 1000;
    int n = cg_duplicates_find(st, "street_stall", LAT, LON, 50, since, self, d, CG_DUPLICATES_MAX);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(d[0].id, near10);
    ck_assert_str_eq(d[1].id, near30);
    ck_assert(d[0].distance_m > 9.5 && d[0].distance_m < 10.5);
    ck_assert(d[1].distance_m > 29.5 && d[1].distance_m < 30.5);

    /* The old one counts with a longer window; max bounds the answer. */
    n = cg_duplicates_find(st, "street_stall", LAT, LON, 50, 0, self, d, 1);
    ck_assert_int_eq(n, 1);
    n = cg_duplicates_find(st, "street_stall", LAT, LON, 50, 0, self, d, CG_DUPLICATES_MAX);
    ck_assert_int_eq(n, 3);
    /* Radius 0: off. */
    ck_assert_int_eq(cg_duplicates_find(st, "street_stall", LAT, LON, 0, 0, self, d, 10), 0);

    /* A handled, closed or cancelled case is no longer open: not a candidate. */
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(st->db, "UPDATE cases SET status = 'handled' WHERE id = ?1",
                                        -1, &s, NULL), SQLITE_OK);
    sqlite3_bind_text(s, 1, near10, -1, SQLITE_STATIC);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    n = cg_duplicates_find(st, "street_stall", LAT, LON, 50, since, self, d, CG_DUPLICATES_MAX);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(d[0].id, near30);

    /* The 201 body's field. */
    json_t *c = json_pack("{s:s, s:s, s:f, s:f}", "id", self, "category", "street_stall", "lat",
                          LAT, "lon", LON);
    cg_duplicates_annotate(st, c, 50, 72, now);
    json_t *list = json_object_get(c, "likely_duplicate_of");
    ck_assert_uint_eq(json_array_size(list), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")), near30);
    ck_assert(json_is_number(json_object_get(json_array_get(list, 0), "distance_m")));
    json_decref(c);
    c = json_pack("{s:s, s:s, s:n, s:n}", "id", self, "category", "street_stall", "lat", "lon");
    cg_duplicates_annotate(st, c, 50, 72, now);
    ck_assert_uint_eq(json_array_size(json_object_get(c, "likely_duplicate_of")), 0);
    json_decref(c);
    (void)far;
    (void)other;
    (void)old;
}
END_TEST

START_TEST(the_query_uses_the_open_cases_index)
{
    /* INDEXED BY would fail to prepare if the planner could not use it;
     * check the plan too, so a schema change that breaks it is caught. */
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(st->db,
        "EXPLAIN QUERY PLAN SELECT id FROM cases WHERE category = 'x' AND lat BETWEEN 1 AND 2"
        " AND lon BETWEEN 1 AND 2"
        " AND (status = 'reported' OR status = 'dispatched' OR status = 'accepted')",
        -1, &s, NULL), SQLITE_OK);
    int uses = 0;
    while (sqlite3_step(s) == SQLITE_ROW)
        if (strstr((const char *)sqlite3_column_text(s, 3), "cases_open_by_place"))
            uses = 1;
    sqlite3_finalize(s);
    ck_assert(uses);
    cg_duplicate d[1];
    ck_assert_int_eq(cg_duplicates_find(st, "x", 1, 1, 50, 0, NULL, d, 1), 0);
}
END_TEST


/* ================================================================ config */

static cg_config cfg;

static int load(const char *text, char *err, size_t errlen)
{
    char *path = tu_sprintf("%s/citygrid.cfg", dir);
    ck_assert_int_eq(tu_write_file(path, text), 0);
    int rc = cg_config_load(path, &cfg, err, errlen);
    free(path);
    return rc;
}

START_TEST(the_config_sets_limits_radius_and_the_photo_rule)
{
    char err[512] = "";
    ck_assert_msg(load("state_dir = \".\";\n", err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(cfg.evidence.max_photo_bytes, 5242880); /* the defaults */
    ck_assert(cfg.duplicates.radius_m == 50.0 && cfg.duplicates.window_hours == 72.0);
    cg_catalog *cat = cg_catalog_new(&cfg, err, sizeof err);
    ck_assert(cg_catalog_category(cat, "street_stall")->requires_after_photo);
    ck_assert(cg_catalog_category(cat, "illegal_building")->requires_after_photo);
    ck_assert(!cg_catalog_category(cat, "food_hygiene")->requires_after_photo);
    ck_assert(!cg_catalog_category(cat, "traffic_safety")->requires_after_photo);
    cg_catalog_free(cat);
    cg_config_free(&cfg);

    ck_assert_msg(load("evidence = { max_photo_bytes = 100000; };\n"
                       "duplicates = { radius_m = 25; window_hours = 0.5; };\n"
                       "routes = ( { category = \"street_stall\"; requires_after_photo = false; },\n"
                       "  { category = \"food_hygiene\"; requires_after_photo = true; },\n"
                       "  { category = \"noise\"; department = \"eco\"; } );\n",
                       err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(cfg.evidence.max_photo_bytes, 100000);
    ck_assert(cfg.duplicates.radius_m == 25.0 && cfg.duplicates.window_hours == 0.5);
    cat = cg_catalog_new(&cfg, err, sizeof err);
    ck_assert(!cg_catalog_category(cat, "street_stall")->requires_after_photo);
    ck_assert(cg_catalog_category(cat, "food_hygiene")->requires_after_photo);
    ck_assert(!cg_catalog_category(cat, "noise")->requires_after_photo); /* added: no */
    ck_assert(cg_catalog_category(cat, "graffiti")->requires_after_photo); /* untouched */
    cg_catalog_free(cat);
    cg_config_free(&cfg);
}
END_TEST

START_TEST(bad_evidence_and_duplicate_settings_name_file_and_line)
{
    char err[512] = "";
    ck_assert_int_eq(load("listen = \"127.0.0.1:1\";\nduplicates = { radius_m = -1.0; };\n", err,
                          sizeof err), -1);
    ck_assert_msg(strstr(err, "citygrid.cfg:2:") && strstr(err, "radius_m"), "%s", err);
    ck_assert_int_eq(load("evidence = { max_photo_bytes = 10; };\n", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "citygrid.cfg:1:") && strstr(err, "max_photo_bytes"), "%s", err);
    ck_assert_int_eq(load("evidence = { max_photo = 5000; };\n", err, sizeof err), -1);
    ck_assert_msg(strstr(err, "unknown setting 'max_photo'"), "%s", err);
    ck_assert_int_eq(load("routes = ( { category = \"graffiti\";\n requires_after_photo = 1; } );\n",
                          err, sizeof err), -1);
    ck_assert_msg(strstr(err, "citygrid.cfg:2:") && strstr(err, "true or false"), "%s", err);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("evidence");
    TCase *tc = tcase_create("bytes");
    tcase_add_test(tc, real_jpeg_and_png_are_recognised);
    tcase_add_test(tc, text_and_broken_headers_are_not_photos);
    tcase_add_test(tc, content_types_are_read_strictly);
    tcase_add_test(tc, the_upload_check_refuses_in_order);
    tcase_add_test(tc, sha256_names_and_the_path_layout);
    suite_add_tcase(s, tc);
    tc = tcase_create("files");
    tcase_add_checked_fixture(tc, files_setup, files_teardown);
    tcase_add_test(tc, the_same_photo_is_stored_once);
    tcase_add_test(tc, an_unwritable_state_dir_is_an_error);
    tcase_add_test(tc, the_config_sets_limits_radius_and_the_photo_rule);
    tcase_add_test(tc, bad_evidence_and_duplicate_settings_name_file_and_line);
    suite_add_tcase(s, tc);
    tc = tcase_create("records");
    tcase_add_checked_fixture(tc, store_setup, store_teardown);
    tcase_add_test(tc, a_photo_is_recorded_once_per_case_and_stage_with_history);
    tcase_add_test(tc, a_photo_for_an_unknown_case_or_stage_changes_nothing);
    suite_add_tcase(s, tc);
    tc = tcase_create("duplicates");
    tcase_add_checked_fixture(tc, store_setup, store_teardown);
    tcase_add_test(tc, open_cases_nearby_of_the_category_are_found_nearest_first);
    tcase_add_test(tc, the_query_uses_the_open_cases_index);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run_suite(suite());
}
