/*
 * test_sources.c — the data-source rules of core/sources/: masking by class
 * (a masked value keeps its length), the role × department × source matrix
 * (refused, masked, whole), and the audit's hash chain (an edited, dropped
 * or reordered row is found); the audit table itself (rows appended and
 * chained, the retention purge anchored so the rest still verifies, an edit
 * behind the triggers' back found); rules from the config.
 */
#include <check.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"
#include "sources/audit.h"
#include "sources/chain.h"
#include "sources/mask.h"
#include "sources/policy.h"
#include "store/store.h"
#include "support/run_suite.h"
#include "support/testutil.h"

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

/* ---- the audit table ---------------------------------------------------- */

static cg_store *open_temp_store(char **dir)
{
    *dir = tu_tempdir("sources");
    char *path = tu_sprintf("%s/citygrid.db", *dir);
    cg_store *st = NULL;
    char err[256];
    ck_assert_msg(cg_store_open(path, &st, err, sizeof err) == 0, "open: %s", err);
    free(path);
    return st;
}

static long long append(cg_store *st, int64_t at, const char *member, const char *reason)
{
    cg_audit_entry e = {.at = at, .kind = "query", .member_id = member, .role = "professional",
                        .department = "police", .source = "vehicles",
                        .params = "{\"q\":\"浙K\"}", .reason = reason, .case_id = NULL,
                        .outcome = "ok", .rows = 1, .unmasked = "[\"owner_id_number\"]",
                        .instance = "i1"};
    long long seq = 0;
    cg_result r;
    ck_assert_int_eq(cg_store_exec(st, "BEGIN"), 0);
    ck_assert_msg(cg_audit_append(st, &e, &seq, &r) == CG_OK, "append: %s", r.message);
    ck_assert_int_eq(cg_store_exec(st, "COMMIT"), 0);
    return seq;
}

static long long verify(cg_store *st, long long *checked)
{
    long long bad = -1;
    cg_result r;
    ck_assert_msg(cg_audit_verify(st, &bad, checked, &r) == CG_OK, "verify: %s", r.message);
    return bad;
}

START_TEST(audit_appends_purges_and_verifies)
{
    char *dir;
    cg_store *st = open_temp_store(&dir);
    long long checked;
    ck_assert_int_eq(verify(st, &checked), 0);
    ck_assert_int_eq(checked, 0);
    for (int i = 1; i <= 5; i++)
        ck_assert_int_eq(append(st, 1000 * i, "M1", "核查"), i);
    ck_assert_int_eq(verify(st, &checked), 0);
    ck_assert_int_eq(checked, 5);
    /* The code's own statements cannot change a row. */
    ck_assert_int_ne(cg_store_exec(st, "UPDATE query_audit SET reason = 'x' WHERE seq = 2"), 0);
    ck_assert_int_ne(cg_store_exec(st, "DELETE FROM query_audit WHERE seq = 2"), 0);
    /* Purge what is older than 3500: rows 1-3 go, a purge row is added,
     * and the rest still verifies from the purge's anchor. */
    long purged = -1;
    cg_result r;
    ck_assert_int_eq(cg_store_exec(st, "BEGIN"), 0);
    ck_assert_msg(cg_audit_purge(st, 3500, 9000, &purged, &r) == CG_OK, "purge: %s", r.message);
    ck_assert_int_eq(cg_store_exec(st, "COMMIT"), 0);
    ck_assert_int_eq(purged, 3);
    ck_assert_int_eq(verify(st, &checked), 0);
    ck_assert_int_eq(checked, 3); /* rows 4, 5 and the purge row 6 */
    ck_assert_int_eq(append(st, 10000, "M2", "再查"), 7);
    ck_assert_int_eq(verify(st, &checked), 0);
    /* Nothing left to purge: nothing written. */
    ck_assert_int_eq(cg_store_exec(st, "BEGIN"), 0);
    ck_assert_int_eq(cg_audit_purge(st, 3500, 11000, &purged, &r), CG_OK);
    ck_assert_int_eq(cg_store_exec(st, "COMMIT"), 0);
    ck_assert_int_eq(purged, 0);
    ck_assert_int_eq(verify(st, &checked), 0);
    ck_assert_int_eq(checked, 4);
    /* Behind the trigger's back: an edit is found at its row, a removed row
     * at the row after it. */
    ck_assert_int_eq(cg_store_exec(st, "DROP TRIGGER query_audit_no_update;"
                                       "UPDATE query_audit SET rows = 9 WHERE seq = 5"), 0);
    ck_assert_int_eq(verify(st, &checked), 5);
    ck_assert_int_eq(cg_store_exec(st, "UPDATE query_audit SET rows = 1 WHERE seq = 5"), 0);
    ck_assert_int_eq(verify(st, &checked), 0);
    ck_assert_int_eq(cg_store_exec(st, "DROP TRIGGER query_audit_no_delete;"
                                       "DELETE FROM query_audit WHERE seq = 6"), 0);
    ck_assert_int_eq(verify(st, &checked), 7);
    cg_store_close(st);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

START_TEST(policy_from_the_config)
{
    cg_source_rule_conf rules[] = {
        {.role = "fulltime", .department = "*", .source = "persons", .whole = "name, phone"},
        {.role = "professional", .department = "police", .source = "vehicles", .whole = "*"},
        {.role = "leader", .department = "*", .source = "cameras", .whole = ""},
    };
    cg_source_policy *p = cg_source_policy_from_conf(rules, 3);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->n_rules, 3);
    const cg_source_rule *r = cg_source_policy_find(p, "fulltime", "", "persons");
    ck_assert_ptr_nonnull(r);
    ck_assert(cg_source_rule_shows(r, "name", "name"));
    ck_assert(cg_source_rule_shows(r, "phone", "phone"));
    ck_assert(!cg_source_rule_shows(r, "id_number", "id_number"));
    r = cg_source_policy_find(p, "professional", "police", "vehicles");
    ck_assert(r && cg_source_rule_shows(r, "owner_id_number", "id_number"));
    ck_assert_ptr_null(cg_source_policy_find(p, "professional", "market", "vehicles"));
    r = cg_source_policy_find(p, "leader", "", "cameras");
    ck_assert(r && !cg_source_rule_shows(r, "x", "address") && cg_source_rule_shows(r, "lat", "public"));
    /* The config's rules replace the built-in ones. */
    ck_assert_ptr_null(cg_source_policy_find(p, "professional", "market", "companies"));
    cg_source_policy_free(p);
    ck_assert_ptr_eq(cg_source_policy_from_conf(NULL, 0), cg_source_policy_builtin());
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
    tcase_add_test(tc, audit_appends_purges_and_verifies);
    tcase_add_test(tc, policy_from_the_config);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
