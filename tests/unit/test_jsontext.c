/*
 * test_jsontext.c — cg_json_dumps writes, byte for byte, what jansson's
 * json_dumps writes with the same flags: hand-picked values (escapes, reals
 * at the edges of %g, nesting, insertion order) and a few thousand random
 * trees; other flags go to jansson; what jansson refuses, it refuses.
 */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jsontext.h"
#include "support/run_suite.h"

static const size_t flag_sets[] = {
    JSON_COMPACT,
    JSON_COMPACT | JSON_ENCODE_ANY,
    JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15),
    JSON_COMPACT | JSON_REAL_PRECISION(6),
    JSON_COMPACT | JSON_PRESERVE_ORDER,
    JSON_INDENT(2),
    JSON_COMPACT | JSON_SORT_KEYS,
    JSON_COMPACT | JSON_ENSURE_ASCII,
    JSON_COMPACT | JSON_ESCAPE_SLASH,
};

static void expect_same(json_t *v)
{
    for (size_t f = 0; f < sizeof flag_sets / sizeof flag_sets[0]; f++) {
        char *want = json_dumps(v, flag_sets[f]);
        char *got = cg_json_dumps(v, flag_sets[f]);
        if (!want)
            ck_assert_msg(got == NULL, "flags %#zx: jansson refused, got [%s]", flag_sets[f], got);
        else
            ck_assert_msg(got && strcmp(got, want) == 0, "flags %#zx: got [%s], want [%s]",
                          flag_sets[f], got ? got : "(null)", want);
        free(want);
        free(got);
    }
}

START_TEST(scalars_and_escapes)
{
    static const double reals[] = {0.0, -0.0, 1.0, -1.0, 28.45, 119.92, 0.1, 1e21, 1e22, 1e-7,
                                   123456789012345678.0, 3.0, 100.0, 1.5e300, -2.5e-300,
                                   4.9e-324, 1.7976931348623157e308, 12.3456789012345678,
                                   1e15, 1e16, 1e17, 0.000123};
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        json_t *v = json_pack("{s:f, s:[f]}", "x", reals[i], "y", reals[i]);
        expect_same(v);
        json_t *r = json_real(reals[i]);
        expect_same(r);
        json_decref(r);
        json_decref(v);
    }
    json_t *v = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:b, s:b, s:n, s:s}",
                          "plain", "stall on the pavement",
                          "escapes", "q\"b\\s/n\nr\rt\tb\bf\f",
                          "controls", "\x01\x02\x1f\x7f end",
                          "chinese", "占道经营 丽水",
                          "zero", (json_int_t)0, "big", (json_int_t)9223372036854775807LL,
                          "neg", (json_int_t)(-9223372036854775807LL - 1),
                          "t", 1, "f", 0, "nothing",
                          "emoji", "\xf0\x9f\x98\x80");
    expect_same(v);
    /* A string with a NUL inside, and a key with quotes. */
    json_object_set_new(v, "nul", json_stringn("a\0b", 3));
    json_object_set_new(v, "k\"ey\n", json_string("v"));
    expect_same(v);
    json_decref(v);
    json_t *s = json_string("alone");
    expect_same(s);
    json_decref(s);
}
END_TEST

START_TEST(containers_keep_insertion_order)
{
    json_t *v = json_pack("{s:{}, s:[], s:[{}, [], [[1]]], s:{s:{s:[1, 2.5, \"x\"]}}}",
                          "z", "a", "m", "nested", "deeper", "list");
    json_object_set_new(v, "b", json_integer(2));
    json_object_set_new(v, "a", json_integer(1));
    json_object_del(v, "z");
    json_object_set_new(v, "z", json_null()); /* re-added: now last */
    expect_same(v);
    json_decref(v);
    json_t *arr = json_pack("[s, i, f, b, n]", "x", 1, 2.0, 1);
    expect_same(arr);
    json_decref(arr);
}
END_TEST

static unsigned seed = 12345;
static unsigned next_rand(void)
{
    seed = seed * 1103515245u + 12345u;
    return (seed >> 16) & 0x7fff;
}

static json_t *random_value(int depth)
{
    static const char *const words[] = {"", "a", "street_stall", "\"", "\\", "\n\t", "张三",
                                        "\x01", "/v1/cases", "é", "attempt"};
    unsigned k = next_rand() % (depth > 4 ? 6 : 8);
    switch (k) {
    case 0: return json_null();
    case 1: return json_boolean(next_rand() & 1);
    case 2: return json_integer((json_int_t)next_rand() * (json_int_t)next_rand() - 500000000);
    case 3: {
        double d = ((double)next_rand() - 16384.0) / (double)(next_rand() + 1);
        d *= pow(10.0, (double)((int)(next_rand() % 40) - 20));
        return json_real(d);
    }
    case 4:
    case 5: return json_string(words[next_rand() % (sizeof words / sizeof words[0])]);
    case 6: {
        json_t *a = json_array();
        for (unsigned i = next_rand() % 5; i > 0; i--)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        char key[16];
        for (unsigned i = next_rand() % 6; i > 0; i--) {
            snprintf(key, sizeof key, "k%u", next_rand() % 50);
            json_object_set_new(o, key, random_value(depth + 1));
        }
        return o;
    }
    }
}

START_TEST(random_trees)
{
    for (int i = 0; i < 3000; i++) {
        json_t *v = random_value(0);
        expect_same(v);
        json_decref(v);
    }
}
END_TEST

START_TEST(refuses_what_jansson_refuses)
{
    json_t *n = json_integer(3);
    ck_assert_ptr_null(cg_json_dumps(n, JSON_COMPACT)); /* not a container, no ENCODE_ANY */
    char *t = cg_json_dumps(n, JSON_COMPACT | JSON_ENCODE_ANY);
    ck_assert_str_eq(t, "3");
    free(t);
    json_decref(n);
    ck_assert_ptr_null(cg_json_dumps(NULL, JSON_COMPACT));
}
END_TEST

/* The piecewise writer gives the text json_dumps gives for the same object
 * (the dispatch payload is written with it). */
START_TEST(builder_matches_json_dumps)
{
    json_t *extra = json_pack("{s:s, s:[i, f]}", "plate", "浙K·12345\n", "xs", 1, 0.5);
    static const double reals[] = {28.45, 119.92, 0.0, 72.0, 1e21, -0.000123};
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        json_t *o = json_pack("{s:s, s:f, s:b, s:b, s:I, s:O, s:[]}", "id", "C00000001\"x",
                              "lat", reals[i], "on", 1, "off", 0,
                              "at", (json_int_t)-1767225600, "extra", extra, "members");
        char *want = json_dumps(o, JSON_COMPACT);
        cg_jbuf b = {0};
        cg_jbuf_raw(&b, "{\"id\":");
        cg_jbuf_string(&b, "C00000001\"x");
        cg_jbuf_raw(&b, ",\"lat\":");
        cg_jbuf_real(&b, reals[i]);
        cg_jbuf_raw(&b, ",\"on\":");
        cg_jbuf_bool(&b, 1);
        cg_jbuf_raw(&b, ",\"off\":");
        cg_jbuf_bool(&b, 0);
        cg_jbuf_raw(&b, ",\"at\":");
        cg_jbuf_int(&b, -1767225600);
        cg_jbuf_raw(&b, ",\"extra\":");
        cg_jbuf_value(&b, extra);
        cg_jbuf_raw(&b, ",\"members\":[]}");
        char *got = cg_jbuf_finish(&b);
        ck_assert_msg(got && strcmp(got, want) == 0, "got [%s], want [%s]", got, want);
        free(got);
        free(want);
        json_decref(o);
    }
    json_decref(extra);
    /* A NULL string fails the whole text, as json_pack("s", NULL) does. */
    cg_jbuf b = {0};
    cg_jbuf_raw(&b, "{\"id\":");
    cg_jbuf_string(&b, NULL);
    cg_jbuf_raw(&b, "}");
    ck_assert_ptr_null(cg_jbuf_finish(&b));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jsontext");
    TCase *tc = tcase_create("same_as_jansson");
    tcase_add_test(tc, scalars_and_escapes);
    tcase_add_test(tc, containers_keep_insertion_order);
    tcase_add_test(tc, random_trees);
    tcase_add_test(tc, refuses_what_jansson_refuses);
    tcase_add_test(tc, builder_matches_json_dumps);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
