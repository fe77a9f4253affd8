/* Unit tests of the cluster's admin operations (lib/cluster/operations.c,
 * certs.c) on a real cluster in a temporary folder: security modes, CTL
 * update, ITL rebuild, parameters, TFTP file deletion, trust import and
 * delete, certificate regeneration; each with what it refuses, and that
 * a failed step leaves the cluster as it was. */
#include "testutil.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/params.h"
#include "ctlkit/store.h"
#include "ctlkit/trustcache.h"
#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"

static ck_store *store_of(tu_cluster *t) { return ck_cluster_store(t->c); }

static void param(tu_cluster *t, const char *name, char *out, size_t outsz)
{
    ck_err err = {0};
    if (ck_store_get_param(store_of(t), name, out, outsz, &err) < 0)
        fail_msg("%s: %s", name, err.msg);
}

/* The newest audit row's action (static buffer). */
static const char *last_audit(tu_cluster *t)
{
    static char action[512];
    ck_audit_row *rows = NULL;
    size_t n = 0;
    ck_err err = {0};
    if (ck_store_list_audit(store_of(t), 1, &rows, &n, &err) < 0 || n == 0)
        fail_msg("no audit row: %s", err.msg);
    snprintf(action, sizeof action, "%s", rows[0].action);
    ck_audit_rows_free(rows, n);
    return action;
}

static void expect_fail(int rc, const ck_err *err, ck_code code, const char *needle)
{
    if (rc != -1)
        fail_msg("succeeded, expected %s with '%s'", ck_code_name(code), needle);
    if (err->code != code || !strstr(err->msg, needle))
        fail_msg("got %s '%s', expected %s with '%s'", ck_code_name(err->code), err->msg, ck_code_name(code), needle);
}

/* Makes the cluster database refuse audit rows, as a full disk or a
 * broken connection would, behind the library's back. */
static void refuse_audit(tu_cluster *t)
{
    char db[PATH_MAX + 16];
    snprintf(db, sizeof db, "%s/cluster.db", t->dir);
    sqlite3 *h = NULL;
    char *msg = NULL;
    if (sqlite3_open(db, &h) != SQLITE_OK ||
        sqlite3_exec(h,
                     "CREATE TRIGGER no_audit BEFORE INSERT ON auditlog BEGIN SELECT RAISE(ABORT, 'audit refused'); "
                     "END;",
                     NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("trigger: %s", msg ? msg : "?");
    sqlite3_close(h);
}

static void test_modes(void **state)
{
    (void)state;
    tu_cluster *t = tu_cluster_new(2, false);
    assert_non_null(t);
    ck_err err = {0};
    size_t len;
    /* Non-secure after init: an ITL on every node, no CTL. */
    assert_int_equal(ck_cluster_security_mode(t->c), 0);
    assert_null(tu_node_file(t, TU_PUB, CK_CTL_NAME, &len));
    uint8_t *itl = tu_node_file(t, TU_SUB, CK_ITL_NAME, &len);
    assert_non_null(itl);
    free(itl);
    /* Publisher only. */
    expect_fail(ck_cluster_set_mixed_mode(t->c, TU_SUB, &err), &err, CK_ESTATE, "can only be run on the publisher");
    assert_int_equal(ck_cluster_security_mode(t->c), 0);

    assert_int_equal(ck_cluster_set_mixed_mode(t->c, TU_PUB, &err), 0);
    assert_int_equal(ck_cluster_security_mode(t->c), 1);
    assert_non_null(strstr(last_audit(t), "ClusterSecurityMode=1"));
    size_t n_pub, n_sub;
    uint8_t *ctl_pub = tu_node_file(t, TU_PUB, CK_CTL_NAME, &n_pub), *ctl_sub = tu_node_file(t, TU_SUB, CK_CTL_NAME, &n_sub);
    assert_non_null(ctl_pub);
    assert_non_null(ctl_sub);
    assert_memory_equal(ctl_pub, ctl_sub, n_pub < n_sub ? n_pub : n_sub);
    assert_int_equal(n_pub, n_sub);
    ck_tl_file *f = NULL;
    assert_int_equal(ck_tl_parse(ctl_pub, n_pub, &f, &err), 0);
    assert_int_equal(ck_tl_verify(f, &err), 0);
    ck_tl_free(f);

    /* Non-secure again: a new CTL (blank records), still published. */
    assert_int_equal(ck_cluster_set_nonsecure_mode(t->c, TU_PUB, &err), 0);
    assert_int_equal(ck_cluster_security_mode(t->c), 0);
    uint8_t *blank = tu_node_file(t, TU_SUB, CK_CTL_NAME, &len);
    assert_non_null(blank);
    assert_true(len != n_pub || memcmp(blank, ctl_pub, len) != 0);
    free(blank), free(ctl_pub), free(ctl_sub);
    tu_cluster_free(t);
}

static void test_update_ctl(void **state)
{
    (void)state;
    tu_cluster *t = tu_cluster_new(2, false);
    assert_non_null(t);
    ck_err err = {0};
    expect_fail(ck_cluster_update_ctl(t->c, TU_PUB, &err), &err, CK_ESTATE, "non-secure mode");
    assert_int_equal(ck_cluster_set_mixed_mode(t->c, TU_PUB, &err), 0);
    expect_fail(ck_cluster_update_ctl(t->c, TU_SUB, &err), &err, CK_ESTATE, "can only be run on the publisher");
    /* After a new CallManager certificate the update carries its serial. */
    char warning[2048];
    assert_int_equal(ck_cluster_regen_cert(t->c, TU_PUB, "callmanager", NULL, warning, sizeof warning, &err), 0);
    char **w = NULL;
    size_t nw = 0;
    assert_int_equal(ck_cluster_checks(t->c, NULL, &w, &nw, &err), 0);
    assert_true(nw > 0 && strstr(w[0], "not by the publisher's current CallManager certificate"));
    ck_strings_free(w, nw);
    assert_int_equal(ck_cluster_update_ctl(t->c, TU_PUB, &err), 0);
    assert_non_null(strstr(last_audit(t), "tokenless CTL published"));
    assert_int_equal(ck_cluster_checks(t->c, NULL, &w, &nw, &err), 0);
    assert_int_equal(nw, 0);
    ck_strings_free(w, nw);
    tu_cluster_free(t);
}

static void test_rebuild_itl(void **state)
{
    tu_cluster *t = *state;
    ck_err err = {0};
    ck_file_row before, after;
    assert_int_equal(ck_store_get_file(store_of(t), TU_SUB, CK_ITL_NAME, &before, &err), 0);
    assert_int_equal(ck_cluster_rebuild_itl(tu_host(t, TU_SUB), TU_SUB, &err), 0);
    assert_int_equal(ck_store_get_file(store_of(t), TU_SUB, CK_ITL_NAME, &after, &err), 0);
    assert_true(after.version > before.version);
    assert_string_equal(last_audit(t), "ITL rebuilt");
    ck_file_row_clear(&before), ck_file_row_clear(&after);
    expect_fail(ck_cluster_rebuild_itl(t->c, "no-such-node", &err), &err, CK_ENOTFOUND, "no-such-node");
}

static void test_set_param(void **state)
{
    tu_cluster *t = *state;
    ck_err err = {0};
    char v[64];
    assert_int_equal(ck_cluster_set_param(t->c, TU_PUB, CK_PARAM_TVS_TTL, "3600", &err), 0);
    param(t, CK_PARAM_TVS_TTL, v, sizeof v);
    assert_string_equal(v, "3600");
    assert_non_null(strstr(last_audit(t), "set param " CK_PARAM_TVS_TTL " 3600"));
    expect_fail(ck_cluster_set_param(t->c, TU_PUB, "NoSuchParam", "1", &err), &err, CK_ENOTFOUND, "NoSuchParam");
    expect_fail(ck_cluster_set_param(t->c, TU_PUB, CK_PARAM_SECURITY_MODE, "0", &err), &err, CK_EDENIED,
                "utils ctl set-cluster");
    assert_int_equal(ck_cluster_set_param(t->c, TU_PUB, CK_PARAM_TVS_TTL, "not-a-number", &err), -1);
    param(t, CK_PARAM_TVS_TTL, v, sizeof v);
    assert_string_equal(v, "3600");
}

/* A failed audit write fails the operation with a reason, and the change
 * is rolled back with it. */
static void test_audit_failure_is_reported(void **state)
{
    (void)state;
    tu_cluster *t = tu_cluster_new(1, false);
    assert_non_null(t);
    refuse_audit(t);
    ck_err err = {0};
    char v[64];
    param(t, CK_PARAM_TVS_TTL, v, sizeof v);
    expect_fail(ck_cluster_set_param(t->c, TU_PUB, CK_PARAM_TVS_TTL, "3600", &err), &err, CK_EIO,
                "cannot write the audit row");
    assert_non_null(strstr(err.msg, "audit refused"));
    char after[64];
    param(t, CK_PARAM_TVS_TTL, after, sizeof after);
    assert_string_equal(after, v);
    /* The same for an operation that publishes: the nodes keep their files. */
    size_t len;
    expect_fail(ck_cluster_set_mixed_mode(t->c, TU_PUB, &err), &err, CK_EIO, "cannot write the audit row");
    assert_int_equal(ck_cluster_security_mode(t->c), 0);
    assert_null(tu_node_file(t, TU_PUB, CK_CTL_NAME, &len));
    int found = 0, deleted = 0;
    expect_fail(ck_cluster_delete_tftp_file(t->c, TU_PUB, CK_ITL_NAME, &found, &deleted, &err), &err, CK_EIO,
                "cannot write the audit row");
    tu_cluster_free(t);
}

static void test_delete_tftp_file(void **state)
{
    tu_cluster *t = *state;
    ck_err err = {0};
    int found = 0, deleted = 0;
    size_t len;
    if (ck_cluster_delete_tftp_file(tu_host(t, TU_SUB), TU_SUB, CK_ITL_NAME, &found, &deleted, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(found, 1);
    assert_int_equal(deleted, 1);
    assert_null(tu_node_file(t, TU_SUB, CK_ITL_NAME, &len));
    /* Materializing does not bring it back until the next publish. */
    ck_materialize_report r = {0};
    assert_int_equal(ck_cluster_materialize_node(tu_host(t, TU_SUB), TU_SUB, &r, &err), 0);
    assert_null(tu_node_file(t, TU_SUB, CK_ITL_NAME, &len));
    assert_int_equal(ck_cluster_rebuild_itl(tu_host(t, TU_SUB), TU_SUB, &err), 0);
    uint8_t *itl = tu_node_file(t, TU_SUB, CK_ITL_NAME, &len);
    assert_non_null(itl);
    free(itl);
    /* A missing file: found 0, nothing deleted, not an error. */
    found = deleted = 1;
    assert_int_equal(ck_cluster_delete_tftp_file(tu_host(t, TU_SUB), TU_SUB, "nothing.cnf.xml", &found, &deleted, &err), 0);
    assert_int_equal(found, 0);
    assert_int_equal(deleted, 0);
    /* Names, never paths. */
    assert_int_equal(ck_cluster_delete_tftp_file(tu_host(t, TU_SUB), TU_SUB, "../keys/CallManager.pem", &found, &deleted, &err), -1);
    assert_int_equal(ck_cluster_delete_tftp_file(tu_host(t, TU_SUB), TU_SUB, ".hidden", &found, &deleted, &err), -1);
}

/* A leaf certificate (no keyCertSign: not a CA). */
static char *make_pem(const char *cn, X509 **keep)
{
    ck_cert_params p = {.cn = cn, .o = "Test", .rsa_bits = 1024, .key_usage = "digitalSignature,keyEncipherment"};
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    ck_err err = {0};
    if (ck_cert_generate(&p, &x, &k, &err) < 0)
        fail_msg("%s", err.msg);
    EVP_PKEY_free(k);
    char *pem = ck_cert_to_pem(x);
    if (keep)
        *keep = x;
    else
        X509_free(x);
    return pem;
}

static size_t count_trust(tu_cluster *t, const char *purpose)
{
    ck_cert_row *rows = NULL;
    size_t n = 0, hits = 0;
    ck_err err = {0};
    if (ck_store_list_trust(store_of(t), &rows, &n, &err) < 0)
        fail_msg("%s", err.msg);
    for (size_t i = 0; i < n; i++)
        hits += strcmp(rows[i].unit, purpose) == 0;
    ck_cert_rows_free(rows, n);
    return hits;
}

static void test_trust_import_delete(void **state)
{
    tu_cluster *t = *state;
    ck_err err = {0};
    X509 *x = NULL;
    char *pem = make_pem("server.example", &x);
    size_t before = count_trust(t, CK_TRUST_CALLMANAGER);
    assert_int_equal(ck_cluster_import_trust(t->c, TU_PUB, "callmanager-trust", pem, "a test", &err), 0);
    assert_int_equal(count_trust(t, CK_TRUST_CALLMANAGER), before + 1);
    assert_non_null(strstr(last_audit(t), "set cert import trust " CK_TRUST_CALLMANAGER));
    expect_fail(ck_cluster_import_trust(t->c, TU_PUB, "no-such-trust", pem, NULL, &err), &err, CK_EINVAL,
                "no-such-trust");
    /* The eToken issuer store takes CAs only. */
    expect_fail(ck_cluster_import_trust(t->c, TU_PUB, CK_TRUST_ETOKEN_ISSUER, pem, NULL, &err), &err, CK_EINVAL,
                "not a CA certificate");
    assert_int_equal(ck_cluster_import_trust(t->c, TU_PUB, CK_TRUST_CALLMANAGER, "not a PEM", NULL, &err), -1);

    char serial[80];
    ck_cert_serial_hex(x, serial, sizeof serial);
    int deleted = -1;
    assert_int_equal(ck_cluster_delete_trust(t->c, TU_PUB, CK_TRUST_CALLMANAGER, serial, &deleted, &err), 0);
    assert_int_equal(deleted, 1);
    assert_int_equal(count_trust(t, CK_TRUST_CALLMANAGER), before);
    assert_int_equal(ck_cluster_delete_trust(t->c, TU_PUB, CK_TRUST_CALLMANAGER, serial, &deleted, &err), 0);
    assert_int_equal(deleted, 0);
    expect_fail(ck_cluster_delete_trust(t->c, TU_PUB, "nope", serial, &deleted, &err), &err, CK_EINVAL, "nope");
    X509_free(x);
    free(pem);
}

/* TVS vouches for a Phone-SAST-trust upload as SAST only when it is a
 * trusted eToken (chains to CTL-eToken-issuer-trust, the CTL Provider's
 * check); a counterfeit from a home-made CA of the same name is left out
 * of the cache and named in the report. */
static X509 *issued_by(const char *cn, X509 *ca, EVP_PKEY *ca_key, EVP_PKEY **key)
{
    ck_cert_params p = {.cn = cn, .ou = "IPCBU", .o = "Cisco Systems", .rsa_bits = 1024, .issuer_cert = ca,
                        .issuer_key = ca_key, .key_usage = "digitalSignature,keyEncipherment"};
    X509 *x = NULL;
    ck_err err = {0};
    if (ck_cert_generate(&p, &x, key, &err) < 0)
        fail_msg("%s", err.msg);
    return x;
}

static const ck_tc_entry *db_entry(const ck_trustcache *tc, X509 *x)
{
    uint8_t *der = NULL;
    size_t len = 0;
    ck_err err = {0};
    assert_int_equal(ck_cert_to_der(x, &der, &len, &err), 0);
    ck_tc_source src = CK_TC_CTL;
    const ck_tc_entry *e = ck_trustcache_lookup(tc, der, len, &src);
    free(der);
    return e && src == CK_TC_DB ? e : NULL;
}

static void test_tvs_sast_trust_needs_issuer(void **state)
{
    tu_cluster *t = *state;
    ck_err err = {0};
    ck_cert_params cap = {.cn = "Cisco Manufacturing CA", .o = "Cisco Systems", .rsa_bits = 1024};
    X509 *ca = NULL, *fake_ca = NULL;
    EVP_PKEY *ca_key = NULL, *fake_key = NULL, *k1 = NULL, *k2 = NULL;
    assert_int_equal(ck_cert_generate(&cap, &ca, &ca_key, &err), 0);
    assert_int_equal(ck_cert_generate(&cap, &fake_ca, &fake_key, &err), 0);
    X509 *genuine = issued_by("SAST-ADN-genuine", ca, ca_key, &k1);
    X509 *fake = issued_by("SAST-ADN-counterfeit", fake_ca, fake_key, &k2);
    char *ca_pem = ck_cert_to_pem(ca), *g_pem = ck_cert_to_pem(genuine), *f_pem = ck_cert_to_pem(fake);
    assert_int_equal(ck_cluster_import_trust(t->c, TU_PUB, CK_TRUST_PHONE_SAST, g_pem, "genuine", &err), 0);
    assert_int_equal(ck_cluster_import_trust(t->c, TU_PUB, CK_TRUST_PHONE_SAST, f_pem, "counterfeit", &err), 0);

    /* No issuer trusted yet: neither is vouched for. */
    ck_trustcache *tc = NULL;
    ck_tc_report rep;
    assert_int_equal(ck_cluster_build_trustcache(tu_host(t, TU_SUB), TU_SUB, &tc, &rep, &err), 0);
    assert_null(db_entry(tc, genuine));
    assert_null(db_entry(tc, fake));
    assert_int_equal(rep.n_refused, 2);
    assert_non_null(strstr(rep.refused[0], "no eToken issuer is trusted"));
    ck_trustcache_free(tc);

    /* The genuine CA trusted: the genuine token is SAST, the counterfeit
     * (same issuer name, another key) stays out and is named. */
    assert_int_equal(ck_cluster_import_trust(t->c, TU_PUB, CK_TRUST_ETOKEN_ISSUER, ca_pem, "issuer", &err), 0);
    assert_int_equal(ck_cluster_build_trustcache(tu_host(t, TU_SUB), TU_SUB, &tc, &rep, &err), 0);
    const ck_tc_entry *e = db_entry(tc, genuine);
    assert_non_null(e);
    assert_int_equal(e->n_roles, 1);
    assert_int_equal(e->roles[0], CK_ROLE_SAST);
    assert_null(db_entry(tc, fake));
    assert_int_equal(rep.n_refused, 1);
    assert_non_null(strstr(rep.refused[0], "SAST-ADN-counterfeit"));
    assert_non_null(strstr(rep.refused[0], "does not chain to a CA in " CK_TRUST_ETOKEN_ISSUER));
    ck_trustcache_free(tc);
    /* NULL report: the same cache. */
    assert_int_equal(ck_cluster_build_trustcache(tu_host(t, TU_SUB), TU_SUB, &tc, NULL, &err), 0);
    assert_null(db_entry(tc, fake));
    ck_trustcache_free(tc);

    /* Leave the shared cluster's trust stores as they were. */
    char serial[80];
    int deleted = 0;
    ck_cert_serial_hex(genuine, serial, sizeof serial);
    assert_int_equal(ck_cluster_delete_trust(t->c, TU_PUB, CK_TRUST_PHONE_SAST, serial, &deleted, &err), 0);
    ck_cert_serial_hex(fake, serial, sizeof serial);
    assert_int_equal(ck_cluster_delete_trust(t->c, TU_PUB, CK_TRUST_PHONE_SAST, serial, &deleted, &err), 0);
    ck_cert_serial_hex(ca, serial, sizeof serial);
    assert_int_equal(ck_cluster_delete_trust(t->c, TU_PUB, CK_TRUST_ETOKEN_ISSUER, serial, &deleted, &err), 0);
    free(ca_pem), free(g_pem), free(f_pem);
    X509_free(ca), X509_free(fake_ca), X509_free(genuine), X509_free(fake);
    EVP_PKEY_free(ca_key), EVP_PKEY_free(fake_key), EVP_PKEY_free(k1), EVP_PKEY_free(k2);
}

static void test_regen(void **state)
{
    tu_cluster *t = *state;
    ck_err err = {0};
    char warning[2048];
    ck_cert_row before, after;
    ck_file_row itl0, itl1;
    assert_int_equal(ck_store_get_cert(store_of(t), TU_SUB, CK_UNIT_TVS, &before, &err), 0);
    assert_int_equal(ck_store_get_file(store_of(t), TU_SUB, CK_ITL_NAME, &itl0, &err), 0);
    assert_int_equal(ck_cluster_regen_cert(tu_host(t, TU_SUB), TU_SUB, "tvs", NULL, warning, sizeof warning, &err), 0);
    assert_int_equal(ck_store_get_cert(store_of(t), TU_SUB, CK_UNIT_TVS, &after, &err), 0);
    assert_int_equal(ck_store_get_file(store_of(t), TU_SUB, CK_ITL_NAME, &itl1, &err), 0);
    assert_string_not_equal(before.serial, after.serial);
    assert_true(itl1.version > itl0.version);
    assert_non_null(strstr(warning, "new serial"));
    assert_non_null(strstr(warning, "Restart Cisco Tftp"));
    assert_non_null(strstr(last_audit(t), "set cert regen TVS"));
    ck_cert_row_clear(&before), ck_cert_row_clear(&after);
    ck_file_row_clear(&itl0), ck_file_row_clear(&itl1);
    expect_fail(ck_cluster_regen_cert(tu_host(t, TU_SUB), TU_SUB, "nonsense", NULL, warning, sizeof warning, &err), &err, CK_EINVAL,
                "unknown certificate unit");
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "pg") == 0) {
        /* The same operations on PostgreSQL, the subscriber on its own
         * "host" (tests/unit/testutil.c); the audit failure is made with
         * an SQLite trigger and stays SQLite's. */
        if (!tu_use_pg(getenv("CTLKIT_TEST_PG_STATE"))) {
            fprintf(stderr, "test_cluster_ops pg: no server (CTLKIT_TEST_PG_STATE from tests/tools/pg_server.sh)\n");
            return 1;
        }
        const struct CMUnitTest pg_alone[] = {
            cmocka_unit_test(test_modes),
            cmocka_unit_test(test_update_ctl),
        };
        const struct CMUnitTest pg_shared[] = {
            cmocka_unit_test(test_rebuild_itl),        cmocka_unit_test(test_set_param),
            cmocka_unit_test(test_delete_tftp_file),   cmocka_unit_test(test_trust_import_delete),
            cmocka_unit_test(test_regen),              cmocka_unit_test(test_tvs_sast_trust_needs_issuer),
        };
        int failed = cmocka_run_group_tests_name("own cluster on PostgreSQL", pg_alone, NULL, NULL);
        failed += cmocka_run_group_tests_name("one mixed-mode cluster on PostgreSQL", pg_shared, tu_cluster_setup_mixed,
                                              tu_cluster_teardown);
        return failed;
    }
    const struct CMUnitTest alone[] = {
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_update_ctl),
        cmocka_unit_test(test_audit_failure_is_reported),
    };
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_rebuild_itl),        cmocka_unit_test(test_set_param),
        cmocka_unit_test(test_delete_tftp_file),   cmocka_unit_test(test_trust_import_delete),
        cmocka_unit_test(test_regen),              cmocka_unit_test(test_tvs_sast_trust_needs_issuer),
    };
    int failed = cmocka_run_group_tests_name("own cluster", alone, NULL, NULL);
    failed += cmocka_run_group_tests_name("one mixed-mode cluster", shared, tu_cluster_setup_mixed, tu_cluster_teardown);
    return failed;
}
