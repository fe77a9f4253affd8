/* The SQLite cluster store: nodes, certificates, trust, parameters,
 * published files, audit, read-only SQL, transactions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/params.h"
#include "ctlkit/store.h"
#include "ctlkit/x509.h"
#include "testutil.h"

static char *make_pem(const char *cn)
{
    ck_cert_params p = {.cn = cn, .o = "Cisco", .rsa_bits = 1024};
    X509 *c = NULL;
    EVP_PKEY *k = NULL;
    assert_int_equal(ck_cert_generate(&p, &c, &k, NULL), 0);
    char *pem = ck_cert_to_pem(c);
    X509_free(c);
    EVP_PKEY_free(k);
    return pem;
}

static ck_store *open_new(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/cluster.db", dir);
    ck_store *s = NULL;
    ck_err err = {0};
    assert_int_equal(ck_store_open(path, true, &s, &err), 0);
    return s;
}

static void test_nodes(void **state)
{
    const char *dir = tu_tmpdir();
    ck_store *s = open_new(dir);
    ck_node pub = {.name = "pub", .publisher = true, .ip = "127.0.0.11", .tftp_port = 69, .tvs_port = 2445,
                   .provider_port = 2444, .position = 0};
    ck_node sub = {.name = "sub", .ip = "127.0.0.12", .tftp_port = 69, .tvs_port = 2445, .provider_port = 2444,
                   .position = 1};
    ck_err err = {0};
    assert_int_equal(ck_store_add_node(s, &pub, &err), 0);
    assert_int_equal(ck_store_add_node(s, &sub, &err), 0);
    /* A second node of the same name is refused. */
    assert_int_equal(ck_store_add_node(s, &sub, &err), -1);
    ck_node got;
    assert_int_equal(ck_store_get_node(s, "sub", &got, &err), 0);
    assert_string_equal(got.ip, "127.0.0.12");
    assert_false(got.publisher);
    assert_int_equal(ck_store_get_node(s, "nobody", &got, &err), -1);
    assert_int_equal(err.code, CK_ENOTFOUND);
    assert_non_null(strstr(err.msg, "nobody"));
    assert_int_equal(ck_store_publisher(s, &got, &err), 0);
    assert_string_equal(got.name, "pub");
    ck_node *all = NULL;
    size_t n = 0;
    assert_int_equal(ck_store_list_nodes(s, &all, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(all[0].name, "pub");
    free(all);
    ck_store_close(s);
    tu_rmtree(dir);
}

static void test_certs_and_trust(void **state)
{
    const char *dir = tu_tmpdir();
    ck_store *s = open_new(dir);
    ck_err err = {0};
    char *pem = make_pem("pub"), *tok = make_pem("SAST-ADN0054f509 ");
    assert_int_equal(ck_store_put_cert(s, "pub", "CallManager", pem, &err), 0);
    ck_cert_row row;
    assert_int_equal(ck_store_get_cert(s, "pub", "CallManager", &row, &err), 0);
    assert_string_equal(row.subject, "CN=pub;O=Cisco");
    assert_int_equal(strlen(row.serial), 32);
    assert_true(row.not_after > 0);
    ck_cert_row_clear(&row);
    assert_int_equal(ck_store_get_cert(s, "pub", "TVS", &row, &err), -1);
    assert_int_equal(err.code, CK_ENOTFOUND);
    /* Garbage is not a certificate. */
    assert_int_equal(ck_store_put_cert(s, "pub", "TVS", "not a pem", &err), -1);

    assert_int_equal(ck_store_add_trust(s, "Phone-SAST-trust", tok, "1st eToken Cert", &err), 0);
    ck_cert_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(ck_store_list_trust(s, &rows, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].unit, "Phone-SAST-trust");
    assert_string_equal(rows[0].description, "1st eToken Cert");
    char serial[80];
    snprintf(serial, sizeof serial, "%s", rows[0].serial);
    ck_cert_rows_free(rows, n);
    int deleted = -1;
    assert_int_equal(ck_store_delete_trust(s, "Phone-SAST-trust", "00", &deleted, &err), 0);
    assert_int_equal(deleted, 0);
    assert_int_equal(ck_store_delete_trust(s, "Phone-SAST-trust", serial, &deleted, &err), 0);
    assert_int_equal(deleted, 1);
    free(pem);
    free(tok);
    ck_store_close(s);
    tu_rmtree(dir);
}

static void test_params_files_audit(void **state)
{
    const char *dir = tu_tmpdir();
    ck_store *s = open_new(dir);
    ck_err err = {0};
    char v[64];
    assert_int_equal(ck_store_get_param(s, "ClusterSecurityMode", v, sizeof v, &err), -1);
    assert_int_equal(ck_store_set_param(s, "ClusterSecurityMode", "1", &err), 0);
    assert_int_equal(ck_store_get_param(s, "ClusterSecurityMode", v, sizeof v, &err), 0);
    assert_string_equal(v, "1");

    const uint8_t data[] = "CTL bytes";
    ck_file_row f;
    assert_int_equal(ck_store_get_file(s, "", "CTLFile.tlv", &f, &err), -1);
    assert_int_equal(err.code, CK_ENOTFOUND);
    assert_int_equal(ck_store_put_file(s, "", "CTLFile.tlv", data, sizeof data, &err), 0);
    assert_int_equal(ck_store_put_file(s, "", "CTLFile.tlv", data, sizeof data, &err), 0);
    assert_int_equal(ck_store_get_file(s, "", "CTLFile.tlv", &f, &err), 0);
    assert_int_equal(f.len, sizeof data);
    assert_memory_equal(f.data, data, sizeof data);
    assert_int_equal(f.version, 2); /* every publish counts */
    assert_int_equal(strlen(f.md5), 32);
    ck_file_row_clear(&f);
    assert_int_equal(ck_store_delete_file(s, "", "CTLFile.tlv", &err), 0);
    assert_int_equal(ck_store_get_file(s, "", "CTLFile.tlv", &f, &err), -1);

    assert_int_equal(ck_store_audit(s, "admin@pub", "pub", "first", &err), 0);
    assert_int_equal(ck_store_audit(s, "admin@pub", "pub", "second", &err), 0);
    ck_audit_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(ck_store_list_audit(s, 1, &rows, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].action, "second");
    ck_audit_rows_free(rows, n);
    ck_store_close(s);
    tu_rmtree(dir);
}

static int count_rows(void *ctx, int ncols, const char *const *names, const char *const *values)
{
    if (values)
        ++*(int *)ctx;
    return 0;
}

static void test_readonly_sql(void **state)
{
    const char *dir = tu_tmpdir();
    ck_store *s = open_new(dir);
    ck_err err = {0};
    int rows = 0;
    assert_int_equal(ck_store_set_param(s, "ClusterSecurityMode", "0", &err), 0);
    assert_int_equal(ck_store_query_readonly(s, "select paramname,paramvalue from processconfig", count_rows, &rows, &err), 0);
    assert_int_equal(rows, 1);
    const char *writes[] = {"delete from processconfig", "update processconfig set paramvalue='1'",
                            "insert into processconfig values('x','y')", "drop table processconfig",
                            "attach database '/tmp/x.db' as x", "create table t(a)"};
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        assert_int_equal(ck_store_query_readonly(s, writes[i], count_rows, &rows, &err), -1);
        assert_true(err.code == CK_EDENIED || err.code == CK_EINVAL);
    }
    assert_int_equal(ck_store_query_readonly(s, "select 1; delete from processconfig", count_rows, &rows, &err), -1);
    assert_non_null(strstr(err.msg, "one statement"));
    assert_int_equal(ck_store_query_readonly(s, "", count_rows, &rows, &err), -1);
    assert_int_equal(ck_store_query_readonly(s, "select * from nowhere", count_rows, &rows, &err), -1);
    assert_non_null(strstr(err.msg, "nowhere"));
    /* Nothing above wrote. */
    char v[8];
    assert_int_equal(ck_store_get_param(s, "ClusterSecurityMode", v, sizeof v, &err), 0);
    assert_string_equal(v, "0");
    ck_store_close(s);
    tu_rmtree(dir);
}

static void test_transactions(void **state)
{
    const char *dir = tu_tmpdir();
    ck_store *s = open_new(dir);
    ck_err err = {0};
    char v[8];
    assert_int_equal(ck_store_begin(s, &err), 0);
    assert_int_equal(ck_store_begin(s, &err), -1); /* no nesting */
    assert_int_equal(ck_store_set_param(s, "EnableCaching", "False", &err), 0);
    ck_store_rollback(s);
    assert_int_equal(ck_store_get_param(s, "EnableCaching", v, sizeof v, &err), -1);
    assert_int_equal(ck_store_begin(s, &err), 0);
    assert_int_equal(ck_store_set_param(s, "EnableCaching", "True", &err), 0);
    assert_int_equal(ck_store_commit(s, &err), 0);
    /* A second connection sees the commit. */
    ck_store *other = NULL;
    char path[512];
    snprintf(path, sizeof path, "%s/cluster.db", dir);
    assert_int_equal(ck_store_open(path, false, &other, &err), 0);
    assert_int_equal(ck_store_get_param(other, "EnableCaching", v, sizeof v, &err), 0);
    assert_string_equal(v, "True");
    ck_store_close(other);
    ck_store_close(s);
    /* Opening a database that does not exist without create fails clearly. */
    snprintf(path, sizeof path, "%s/none/cluster.db", dir);
    assert_int_equal(ck_store_open(path, false, &other, &err), -1);
    tu_rmtree(dir);
}

static void test_param_table(void **state)
{
    ck_err err = {0};
    char out[64];
    const ck_param_def *d = ck_param_find("capfphoneport");
    assert_non_null(d);
    assert_string_equal(d->name, "CAPFPhonePort");
    assert_int_equal(ck_param_check(d, "3804", out, sizeof out, &err), 0);
    assert_string_equal(out, "3804");
    const char *bad[] = {"", "80", "65536", "38x", " 3804", "+3804", "3804 ", "-1", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ck_param_check(d, bad[i], out, sizeof out, &err), -1);
    d = ck_param_find("EnableCaching");
    assert_int_equal(ck_param_check(d, "false", out, sizeof out, &err), 0);
    assert_string_equal(out, "False");
    assert_int_equal(ck_param_check(d, "maybe", out, sizeof out, &err), -1);
    d = ck_param_find("TrustListSigningKey");
    assert_int_equal(ck_param_check(d, "itlrecovery", out, sizeof out, &err), 0);
    assert_string_equal(out, "ITLRecovery");
    assert_int_equal(ck_param_check(d, "Tomcat", out, sizeof out, &err), -1);
    assert_non_null(strstr(err.msg, "CallManager, ITLRecovery"));
    assert_null(ck_param_find("NoSuchParam"));
    /* Every default passes its own check. */
    for (size_t i = 0; i < ck_params_count; i++)
        assert_int_equal(ck_param_check(&ck_params[i], ck_params[i].default_value, out, sizeof out, &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nodes),          cmocka_unit_test(test_certs_and_trust),
        cmocka_unit_test(test_params_files_audit), cmocka_unit_test(test_readonly_sql),
        cmocka_unit_test(test_transactions),   cmocka_unit_test(test_param_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
