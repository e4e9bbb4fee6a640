/*
 * test_sources.c — the data-source rules of core/sources/: masking by class
 * (a masked value keeps its length), the role × department × source matrix
 * (refused, masked, whole), and the audit's hash chain (an edited, dropped
 * or reordered row is found).
 */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "sources/chain.h"
#include "sources/mask.h"
#include "sources/policy.h"
#include "support/run_suite.h"

static size_t chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void mask_is(const char *klass, const char *value, const char *want)
{
    char *got = cg_mask_value(klass, value);
    ck_assert_ptr_nonnull(got);
    ck_assert_msg(strcmp(got, want) == 0, "%s %s: got %s, want %s", klass, value, got, want);
    ck_assert_uint_eq(chars(got), chars(value));
    free(got);
}

START_TEST(masking_by_class_keeps_the_length)
{
    mask_is("id_number", "331102199001011234", "3311**********1234");
    mask_is("id_number", "33110219900101123X", "3311**********123X");
    mask_is("phone", "13812345678", "138****5678");
    mask_is("name", "张三丰", "张**");
    mask_is("name", "李四", "李*");
    mask_is("name", "王", "*");
    mask_is("plate", "浙K12345", "浙K***45");
    mask_is("address", "丽水市莲都区岩泉街道城中社区3号", "丽水市莲都区**********");
    mask_is("address", "城中社区", "城中**");
    mask_is("public", "91331102MA2A1B2C3D", "91331102MA2A1B2C3D");
    mask_is("secret_unknown_class", "abc", "***");
    mask_is(NULL, "甲乙", "**");
    mask_is("phone", "", "");
    ck_assert_ptr_null(cg_mask_value("phone", NULL));
}
END_TEST

/* The matrix: each role × source is refused, masked or whole. */
typedef struct expect {
    const char *role, *department, *source;
    int outcome; /* 0 refused, 1 masked, 2 whole */
} expect;

static const expect matrix[] = {
    {"professional", "police", "vehicles", 2},
    {"professional", "police", "persons", 2},
    {"professional", "police", "companies", 0},
    {"professional", "police", "cameras", 0},
    {"professional", "market", "companies", 2},
    {"professional", "market", "vehicles", 0},
    {"professional", "market", "persons", 0},
    {"professional", "enforcement", "companies", 2},
    {"professional", "enforcement", "offenders", 2},
    {"professional", "enforcement", "property_owners", 2},
    {"professional", "enforcement", "vehicles", 0},
    {"professional", "sanitation", "persons", 0},
    {"fulltime", "", "persons", 1},
    {"fulltime", "", "vehicles", 0},
    {"leader", "", "cameras", 2},
    {"leader", "", "persons", 0},
    {"instructor", "enforcement", "offenders", 0},
    {"optional", "health", "companies", 0},
};

START_TEST(role_source_matrix)
{
    const cg_source_policy *p = cg_source_policy_builtin();
    for (size_t i = 0; i < sizeof matrix / sizeof matrix[0]; i++) {
        const expect *e = &matrix[i];
        const cg_source_rule *r = cg_source_policy_find(p, e->role, e->department, e->source);
        int outcome = !r ? 0 : cg_source_rule_shows(r, "id_number", "id_number") ? 2 : 1;
        ck_assert_msg(outcome == e->outcome, "%s/%s on %s: %d, want %d", e->role, e->department,
                      e->source, outcome, e->outcome);
        /* public fields are never masked for whoever may query */
        if (r)
            ck_assert(cg_source_rule_shows(r, "grid", "public"));
    }
    ck_assert_ptr_null(cg_source_policy_find(p, NULL, "police", "persons"));
    ck_assert_ptr_null(cg_source_policy_find(p, "professional", NULL, "persons"));
}
END_TEST

START_TEST(chain_finds_an_edited_row)
{
    const char *text[4] = {"[1,\"M001\",\"persons\",\"找车主\"]", "[2,\"M002\",\"vehicles\",\"x\"]",
                           "[3,\"M001\",\"companies\",\"y\"]", "[4,\"M003\",\"cameras\",\"z\"]"};
    char h[4][CG_CHAIN_HEX];
    const char *prev = NULL;
    for (int i = 0; i < 4; i++) {
        cg_chain_hash(prev, text[i], h[i]);
        ck_assert_uint_eq(strlen(h[i]), 64);
        prev = h[i];
    }
    const char *hash[4] = {h[0], h[1], h[2], h[3]};
    ck_assert_uint_eq(cg_chain_verify(text, hash, 4), 0);
    /* The same text after another row gives another hash. */
    char alone[CG_CHAIN_HEX];
    cg_chain_hash(NULL, text[1], alone);
    ck_assert_str_ne(alone, h[1]);
    /* An edited row (its text changed, its hash kept) is row 3. */
    const char *edited[4] = {text[0], text[1], "[3,\"M001\",\"companies\",\"Y\"]", text[3]};
    ck_assert_uint_eq(cg_chain_verify(edited, hash, 4), 3);
    /* Re-hashing the edited row alone is found at the next row. */
    char forged[CG_CHAIN_HEX];
    cg_chain_hash(h[1], edited[2], forged);
    const char *rehashed[4] = {h[0], h[1], forged, h[3]};
    ck_assert_uint_eq(cg_chain_verify(edited, rehashed, 4), 4);
    /* A deleted row breaks the chain where it was. */
    const char *dropped_text[3] = {text[0], text[2], text[3]};
    const char *dropped_hash[3] = {h[0], h[2], h[3]};
    ck_assert_uint_eq(cg_chain_verify(dropped_text, dropped_hash, 3), 2);
}
END_TEST

int main(void)
{
    if (sodium_init() < 0)
        return EXIT_FAILURE;
    Suite *s = suite_create("sources");
    TCase *tc = tcase_create("sources");
    tcase_add_test(tc, masking_by_class_keeps_the_length);
    tcase_add_test(tc, role_source_matrix);
    tcase_add_test(tc, chain_finds_an_edited_row);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
