/* The cluster store: nodes, certificates, trust, parameters, published
 * files, audit, read-only SQL, transactions, schema upgrades.
 *
 * One suite, two backends: without arguments it runs on SQLite; with
 * "pg" on the throw-away PostgreSQL that tests/tools/pg_server.sh started
 * (CTLKIT_TEST_PG_STATE names its state file), one fresh database per test. */
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/cert_facts.h"
#include "ctlkit/drift.h"
#include "ctlkit/params.h"
#include "ctlkit/store.h"
#include "ctlkit/x509.h"
#include "testutil.h"

static bool use_pg;
static char pg_admin_url[512];

/* Where one test's store lives: a folder (SQLite) or a database (PG). */
typedef struct where {
    char address[600];
    char dir[512];
    char dbname[64];
} where;

static void pg_admin(const char *sql)
{
    PGconn *c = PQconnectdb(pg_admin_url);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

/* The admin URL with another database name in place of /postgres. */
static void pg_url_for(const char *db, char *out, size_t outsz)
{
    const char *slash = strrchr(pg_admin_url, '/');
    snprintf(out, outsz, "%.*s/%s", (int)(slash - pg_admin_url), pg_admin_url, db);
}

static int setup_where(void **state)
{
    static int seq;
    where *w = calloc(1, sizeof *w);
    if (use_pg) {
        snprintf(w->dbname, sizeof w->dbname, "ck_store_%d_%d", (int)getpid(), ++seq);
        char sql[128];
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", w->dbname);
        pg_admin(sql);
        pg_url_for(w->dbname, w->address, sizeof w->address);
    } else {
        snprintf(w->dir, sizeof w->dir, "%s", tu_tmpdir());
        snprintf(w->address, sizeof w->address, "%s/cluster.db", w->dir);
    }
    *state = w;
    return 0;
}

static int teardown_where(void **state)
{
    where *w = *state;
    if (use_pg) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", w->dbname);
        pg_admin(sql);
    } else
        tu_rmtree(w->dir);
    free(w);
    return 0;
}

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

static ck_store *open_new(void **state)
{
    ck_store *s = NULL;
    ck_err err = {0};
    if (ck_store_open(((where *)*state)->address, true, &s, &err) != 0)
        fail_msg("open: %s", err.msg);
    return s;
}

static int put_cert(ck_store *s, const char *node, const char *unit, const char *pem, ck_err *err)
{
    ck_cert_row row;
    if (ck_cert_row_from_pem(pem, node, unit, &row, err) < 0)
        return -1;
    int rc = ck_store_put_cert(s, &row, err);
    ck_cert_row_clear(&row);
    return rc;
}

static int add_trust(ck_store *s, const char *purpose, const char *pem, const char *description, ck_err *err)
{
    ck_cert_row row;
    if (ck_cert_row_from_pem(pem, "", purpose, &row, err) < 0)
        return -1;
    row.description = strdup(description);
    int rc = ck_store_add_trust(s, &row, err);
    ck_cert_row_clear(&row);
    return rc;
}

static void test_nodes(void **state)
{
    ck_store *s = open_new(state);
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
    assert_int_equal(all[1].joined, 0);
    free(all);
    /* A node that joins later: its join time on its row. */
    assert_int_equal(ck_store_set_node_joined(s, "sub", 1700000000, &err), 0);
    assert_int_equal(ck_store_get_node(s, "sub", &got, &err), 0);
    assert_int_equal(got.joined, 1700000000);
    assert_int_equal(ck_store_set_node_joined(s, "nobody", 1, &err), -1);
    assert_int_equal(err.code, CK_ENOTFOUND);
    ck_store_close(s);
}

static void test_certs_and_trust(void **state)
{
    ck_store *s = open_new(state);
    ck_err err = {0};
    char *pem = make_pem("pub"), *tok = make_pem("SAST-ADN0054f509 ");
    assert_int_equal(put_cert(s, "pub", "CallManager", pem, &err), 0);
    ck_cert_row row;
    assert_int_equal(ck_store_get_cert(s, "pub", "CallManager", &row, &err), 0);
    assert_string_equal(row.subject, "CN=pub;O=Cisco");
    assert_int_equal(strlen(row.serial), 32);
    assert_true(row.not_after > 0);
    ck_cert_row_clear(&row);
    assert_int_equal(ck_store_get_cert(s, "pub", "TVS", &row, &err), -1);
    assert_int_equal(err.code, CK_ENOTFOUND);
    /* Garbage is not a certificate. */
    assert_int_equal(put_cert(s, "pub", "TVS", "not a pem", &err), -1);

    assert_int_equal(add_trust(s, "Phone-SAST-trust", tok, "1st eToken Cert", &err), 0);
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
}

static void test_params_files_audit(void **state)
{
    ck_store *s = open_new(state);
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
}

static ck_device_row sample_device(const char *name)
{
    ck_device_row d = {.encrypted_config = true, .key_size = 384, .completes_by = 1900000000,
                       .lsc_not_before = 1800000000, .lsc_not_after = 1900000000, .last_result_at = 1800000001};
    snprintf(d.name, sizeof d.name, "%s", name);
    snprintf(d.model, sizeof d.model, "8865");
    snprintf(d.profile, sizeof d.profile, "encrypted");
    snprintf(d.operation, sizeof d.operation, "install");
    snprintf(d.auth_mode, sizeof d.auth_mode, "string");
    snprintf(d.auth_string, sizeof d.auth_string, "123456");
    snprintf(d.key_type, sizeof d.key_type, "ec");
    snprintf(d.lsc_serial, sizeof d.lsc_serial, "0A1B");
    snprintf(d.last_result, sizeof d.last_result, "Installed certificate");
    return d;
}

/* Device rows: every field comes back, NULL stays NULL, put replaces,
 * the list is sorted, delete counts, and a change moves the counter. */
static void test_devices(void **state)
{
    ck_store *s = open_new(state);
    ck_err err = {0};
    ck_device_row d = sample_device("SEP00112233AABB"), got;
    d.template_xml = "<device>x</device>";
    d.lsc_pem = "-----BEGIN CERTIFICATE-----\n";
    assert_int_equal(ck_store_get_device(s, d.name, &got, &err), -1);
    assert_int_equal(err.code, CK_ENOTFOUND);
    int64_t before = ck_store_change_counter(s);
    assert_int_equal(ck_store_put_device(s, &d, &err), 0);
    assert_true(ck_store_change_counter(s) != before);
    assert_int_equal(ck_store_get_device(s, d.name, &got, &err), 0);
    assert_string_equal(got.name, d.name);
    assert_string_equal(got.model, "8865");
    assert_string_equal(got.profile, "encrypted");
    assert_true(got.encrypted_config);
    assert_string_equal(got.template_xml, d.template_xml);
    assert_string_equal(got.operation, "install");
    assert_string_equal(got.auth_mode, "string");
    assert_string_equal(got.auth_string, "123456");
    assert_string_equal(got.key_type, "ec");
    assert_int_equal(got.key_size, 384);
    assert_int_equal(got.completes_by, 1900000000);
    assert_string_equal(got.lsc_serial, "0A1B");
    assert_int_equal(got.lsc_not_before, 1800000000);
    assert_int_equal(got.lsc_not_after, 1900000000);
    assert_string_equal(got.lsc_pem, d.lsc_pem);
    assert_string_equal(got.last_result, "Installed certificate");
    assert_int_equal(got.last_result_at, 1800000001);
    assert_true(got.changed_at > 0);
    ck_device_row_clear(&got);

    /* Replacing: NULL template and LSC come back NULL. */
    d.template_xml = NULL;
    d.lsc_pem = NULL;
    snprintf(d.operation, sizeof d.operation, "none");
    assert_int_equal(ck_store_put_device(s, &d, &err), 0);
    ck_device_row e = sample_device("SEP000000000001");
    assert_int_equal(ck_store_put_device(s, &e, &err), 0);
    ck_device_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(ck_store_list_devices(s, &rows, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].name, "SEP000000000001");
    assert_string_equal(rows[1].name, "SEP00112233AABB");
    assert_null(rows[1].template_xml);
    assert_null(rows[1].lsc_pem);
    assert_string_equal(rows[1].operation, "none");
    ck_device_rows_free(rows, n);

    /* An incomplete row is refused before the backend sees it. */
    ck_device_row bad = sample_device("SEP000000000002");
    bad.model[0] = 0;
    assert_int_equal(ck_store_put_device(s, &bad, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);

    int deleted = -1;
    assert_int_equal(ck_store_delete_device(s, "SEP000000000001", &deleted, &err), 0);
    assert_int_equal(deleted, 1);
    assert_int_equal(ck_store_delete_device(s, "SEP000000000001", &deleted, &err), 0);
    assert_int_equal(deleted, 0);
    /* A rolled-back add leaves nothing. */
    assert_int_equal(ck_store_begin(s, &err), 0);
    assert_int_equal(ck_store_put_device(s, &e, &err), 0);
    ck_store_rollback(s);
    assert_int_equal(ck_store_get_device(s, e.name, &got, &err), -1);
    ck_store_close(s);
}

static int count_rows(void *ctx, int ncols, const char *const *names, const char *const *values)
{
    if (values)
        ++*(int *)ctx;
    return 0;
}

static void test_readonly_sql(void **state)
{
    ck_store *s = open_new(state);
    ck_err err = {0};
    int rows = 0;
    assert_int_equal(ck_store_set_param(s, "ClusterSecurityMode", "0", &err), 0);
    assert_int_equal(ck_store_query_readonly(s, "select paramname,paramvalue from processconfig", count_rows, &rows, NULL, &err), 0);
    assert_int_equal(rows, 1);
    const char *writes[] = {"delete from processconfig", "update processconfig set paramvalue='1'",
                            "insert into processconfig values('x','y')", "drop table processconfig",
                            "attach database '/tmp/x.db' as x", "create table t(a)"};
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        assert_int_equal(ck_store_query_readonly(s, writes[i], count_rows, &rows, NULL, &err), -1);
        assert_true(err.code == CK_EDENIED || err.code == CK_EINVAL);
    }
    assert_int_equal(ck_store_query_readonly(s, "select 1; delete from processconfig", count_rows, &rows, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "one statement"));
    assert_int_equal(ck_store_query_readonly(s, "", count_rows, &rows, NULL, &err), -1);
    assert_int_equal(ck_store_query_readonly(s, "select * from nowhere", count_rows, &rows, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "nowhere"));
    /* Nothing above wrote. */
    char v[8];
    assert_int_equal(ck_store_get_param(s, "ClusterSecurityMode", v, sizeof v, &err), 0);
    assert_string_equal(v, "0");
    ck_store_close(s);
}

static void test_transactions(void **state)
{
    ck_store *s = open_new(state);
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
    const char *path = ((where *)*state)->address;
    assert_int_equal(ck_store_open(path, false, &other, &err), 0);
    assert_int_equal(ck_store_get_param(other, "EnableCaching", v, sizeof v, &err), 0);
    assert_string_equal(v, "True");
    ck_store_close(other);
    ck_store_close(s);
    /* Opening a database that does not exist without create fails clearly. */
    char none[700];
    if (use_pg)
        pg_url_for("ck_no_such_database", none, sizeof none);
    else
        snprintf(none, sizeof none, "%s/none/cluster.db", ((where *)*state)->dir);
    assert_int_equal(ck_store_open(none, false, &other, &err), -1);
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

/* Counts rows and stops after `stop_after` when that is set. */
typedef struct counter {
    int rows, ends, stop_after;
} counter;

static int count_and_stop(void *ctx, int ncols, const char *const *names, const char *const *values)
{
    counter *c = ctx;
    if (!values) {
        c->ends++;
        return 0;
    }
    return ++c->rows == c->stop_after;
}

/* Issue 16 item 7: `run sql` output is bounded in bytes, says when it was
 * cut, and refuses a value larger than the bound instead of building it. */
static void test_sql_bounds(void **state)
{
    ck_store *s = open_new(state);
    ck_err err = {0};
    ck_sql_outcome out;
    counter c = {0};
    /* 20000 rows of ~100 bytes: more than the 1 MiB bound. */
    const char *many = "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM r WHERE i<20000) "
                       "SELECT i, '0123456789012345678901234567890123456789012345678901234567890123456789"
                       "012345678901234567890123456789' AS pad FROM r";
    assert_int_equal(ck_store_query_readonly(s, many, count_and_stop, &c, &out, &err), 0);
    assert_true(out.truncated);
    assert_true(out.bytes <= CK_SQL_MAX_BYTES);
    assert_true(c.rows > 5000 && c.rows < 20000);
    assert_int_equal((size_t)c.rows, out.rows);
    assert_int_equal(c.ends, 1);

    /* The caller's own stop (the CLI's row bound) also counts as cut... */
    c = (counter){.stop_after = 10};
    assert_int_equal(ck_store_query_readonly(s, many, count_and_stop, &c, &out, &err), 0);
    assert_int_equal(c.rows, 10);
    assert_true(out.truncated);
    /* ...but not when the last row was exactly the bound. */
    c = (counter){.stop_after = 3};
    assert_int_equal(ck_store_query_readonly(s, "SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3", count_and_stop, &c,
                                             &out, &err),
                     0);
    assert_false(out.truncated);

    /* One value of 2 MB is refused with a clear message. */
    const char *huge = use_pg ? "SELECT repeat('x', 2000000)" : "SELECT printf('%900000d', 1) || printf('%900000d', 1)";
    c = (counter){0};
    assert_int_equal(ck_store_query_readonly(s, huge, count_and_stop, &c, &out, &err), -1);
    assert_int_equal(err.code, CK_ELIMIT);
    assert_non_null(strstr(err.msg, "larger than"));
    assert_int_equal(c.rows, 0);
    /* The connection is still fine afterwards. */
    c = (counter){0};
    assert_int_equal(ck_store_query_readonly(s, "SELECT 1", count_and_stop, &c, &out, &err), 0);
    assert_int_equal(c.rows, 1);
    assert_false(out.truncated);
    ck_store_close(s);
}

/* Only an explicit list of functions: Debian's SQLite has fts3_tokenizer,
 * which changes connection state and returns a memory address. */
static void test_sql_function_allowlist(void **state)
{
    ck_store *s = open_new(state);
    ck_err err = {0};
    counter c = {0};
    const char *refused[] = {"SELECT fts3_tokenizer('simple')", "SELECT hex(zeroblob(200000000))",
                             "SELECT load_extension('x')", "SELECT randomblob(10)", "SELECT sqlite_version()"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        assert_int_equal(ck_store_query_readonly(s, refused[i], count_and_stop, &c, NULL, &err), -1);
        assert_int_equal(err.code, CK_EDENIED);
        assert_non_null(strstr(err.msg, "not allowed"));
    }
    assert_int_equal(c.rows, 0);
    const char *allowed = "SELECT count(*), max(length(upper('a'))), coalesce(NULL, substr('abc', 2)), hex('A')";
    assert_int_equal(ck_store_query_readonly(s, allowed, count_and_stop, &c, NULL, &err), 0);
    assert_int_equal(c.rows, 1);
    ck_store_close(s);
}

static void test_change_counter(void **state)
{
    ck_store *s = open_new(state);
    ck_err err = {0};
    ck_store *other = NULL;
    assert_int_equal(ck_store_open(((where *)*state)->address, false, &other, &err), 0);
    int64_t before = ck_store_change_counter(other);
    assert_true(before >= 0);
    assert_int_equal(ck_store_set_param(s, "EnableCaching", "True", &err), 0);
    int64_t after = ck_store_change_counter(other);
    assert_true(after != before);
    /* The writer sees its own change too. */
    assert_int_equal(ck_store_change_counter(s), after);
    /* A rolled-back change leaves the number as it was. */
    assert_int_equal(ck_store_begin(s, &err), 0);
    assert_int_equal(ck_store_set_param(s, "EnableCaching", "False", &err), 0);
    ck_store_rollback(s);
    assert_int_equal(ck_store_change_counter(other), after);
    ck_store_close(other);
    ck_store_close(s);
}

static int sqlite_user_version(const char *path);
static int first_value_of(void *ctx, int ncols, const char *const *names, const char *const *values)
{
    (void)ncols, (void)names;
    if (values)
        snprintf(ctx, 32, "%s", values[0] ? values[0] : "NULL");
    return 0;
}

/* What the daemons report they serve: replaced per (node, name), listed
 * per node or for all, deleted; not counted as a change of the cluster. */
static void test_served(void **state)
{
    ck_store *s = open_new(state);
    ck_err err = {0};
    ck_node pub = {.name = "pub", .publisher = true, .ip = "127.0.0.1", .position = 0};
    ck_node sub = {.name = "sub", .ip = "127.0.0.2", .position = 1};
    assert_int_equal(ck_store_add_node(s, &pub, &err), 0);
    assert_int_equal(ck_store_add_node(s, &sub, &err), 0);
    int64_t changes = ck_store_change_counter(s);
    ck_served_row r = {.node = "sub", .name = "ITLFile.tlv", .version = 3, .md5 = "aa", .sha1 = "bb", .since = 100};
    assert_int_equal(ck_store_put_served(s, &r, &err), 0);
    ck_served_row r2 = {.node = "pub", .name = "CTLFile.tlv", .version = 1, .md5 = "cc", .sha1 = "dd", .since = 50};
    assert_int_equal(ck_store_put_served(s, &r2, &err), 0);
    r.version = 4;
    snprintf(r.md5, sizeof r.md5, "ee");
    r.since = 200;
    assert_int_equal(ck_store_put_served(s, &r, &err), 0);
    assert_int_equal(ck_store_change_counter(s), changes);

    ck_served_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(ck_store_list_served(s, NULL, &rows, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].node, "pub"); /* the publisher first */
    assert_string_equal(rows[1].node, "sub");
    assert_int_equal(rows[1].version, 4);
    assert_string_equal(rows[1].md5, "ee");
    assert_string_equal(rows[1].sha1, "bb");
    assert_int_equal(rows[1].since, 200);
    free(rows);
    assert_int_equal(ck_store_list_served(s, "pub", &rows, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].name, "CTLFile.tlv");
    assert_int_equal(rows[0].since, 50);
    free(rows);

    assert_int_equal(ck_store_delete_served(s, "pub", "CTLFile.tlv", &err), 0);
    assert_int_equal(ck_store_list_served(s, "pub", &rows, &n, &err), 0);
    assert_int_equal(n, 0);
    free(rows);
    ck_served_row bad = {.node = "pub", .name = ""};
    assert_int_equal(ck_store_put_served(s, &bad, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
    ck_store_close(s);
}

/* Runs sql in the test's database directly (as an older ctlkit would
 * have left it). */
static void raw_exec(const where *w, const char *sql)
{
    if (use_pg) {
        PGconn *c = PQconnectdb(w->address);
        assert_int_equal(PQstatus(c), CONNECTION_OK);
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            fail_msg("%s: %s", sql, PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        return;
    }
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(w->address, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* A database of schema version 1 (before servedfile, device and the
 * node's join time) opens, upgrades and keeps its rows; a node that had
 * joined gets the time of its join's audit row. */
static void test_upgrade_v1(void **state)
{
    const where *w = *state;
    ck_store *s = open_new(state);
    ck_err err = {0};
    assert_int_equal(ck_store_set_param(s, "ClusterSecurityMode", "1", &err), 0);
    ck_node pub = {.name = "pub", .publisher = true, .ip = "127.0.0.11"}, sub = {.name = "sub", .ip = "127.0.0.12"};
    assert_int_equal(ck_store_add_node(s, &pub, &err), 0);
    assert_int_equal(ck_store_add_node(s, &sub, &err), 0);
    assert_int_equal(ck_store_audit(s, "test", "sub", "node sub joined the cluster", &err), 0);
    ck_audit_row *audit = NULL;
    size_t n_audit = 0;
    assert_int_equal(ck_store_list_audit(s, 1, &audit, &n_audit, &err), 0);
    assert_int_equal(n_audit, 1);
    int64_t joined_at = audit[0].at;
    ck_audit_rows_free(audit, n_audit);
    ck_store_close(s);
    raw_exec(w, use_pg ? "DROP TABLE servedfile; DROP TABLE device; DROP TABLE servicerestart; DROP TABLE phone;"
                         " ALTER TABLE node DROP COLUMN joined; UPDATE ctlkit_schema SET version=1"
                       : "DROP TABLE servedfile; DROP TABLE device; DROP TABLE servicerestart; DROP TABLE phone;"
                         " ALTER TABLE node DROP COLUMN joined; PRAGMA user_version=1");
    assert_int_equal(ck_store_open(w->address, false, &s, &err), 0);
    char v[8];
    assert_int_equal(ck_store_get_param(s, "ClusterSecurityMode", v, sizeof v, &err), 0);
    assert_string_equal(v, "1");
    ck_node node;
    assert_int_equal(ck_store_get_node(s, "pub", &node, &err), 0);
    assert_int_equal(node.joined, 0);
    assert_int_equal(ck_store_get_node(s, "sub", &node, &err), 0);
    assert_int_equal(node.joined, joined_at);
    ck_served_row r = {.node = "pub", .name = "CTLFile.tlv", .version = 1, .md5 = "aa", .sha1 = "bb", .since = 1};
    assert_int_equal(ck_store_put_served(s, &r, &err), 0);
    ck_served_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(ck_store_list_served(s, NULL, &rows, &n, &err), 0);
    assert_int_equal(n, 1);
    free(rows);
    /* run sql reads the new table like the others. */
    char got[32] = "";
    assert_int_equal(ck_store_query_readonly(s, "SELECT md5 FROM servedfile", first_value_of, got, NULL, &err), 0);
    assert_string_equal(got, "aa");
    ck_store_close(s);
    if (!use_pg)
        assert_int_equal(sqlite_user_version(w->address), CK_STORE_SCHEMA_VERSION);
}

/* A restart request: added by one connection, seen (counter moved) and
 * answered by another; an answer is final; try_begin does not wait. */
static void test_restart_requests(void **state)
{
    ck_store *s = open_new(state);
    ck_err err = {0};
    ck_store *daemon = NULL;
    assert_int_equal(ck_store_open(((where *)*state)->address, false, &daemon, &err), 0);
    int64_t before = ck_store_change_counter(daemon);
    int64_t id = 0, other_id = 0;
    assert_int_equal(ck_store_request_restart(s, "sub", "Cisco Tftp", "admin", &id, &err), 0);
    assert_int_equal(ck_store_request_restart(s, "pub", "Cisco Tftp", "admin", &other_id, &err), 0);
    assert_true(ck_store_change_counter(daemon) != before);
    ck_restart_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(ck_store_pending_restarts(daemon, "sub", &rows, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].id, id);
    assert_string_equal(rows[0].service, "Cisco Tftp");
    assert_string_equal(rows[0].who, "admin");
    assert_int_equal(rows[0].done, 0);
    free(rows);
    assert_int_equal(ck_store_finish_restart(daemon, id, "STARTED", &err), 0);
    assert_int_equal(ck_store_finish_restart(s, id, "given up", &err), 0); /* too late: the first answer stays */
    ck_restart_row r;
    assert_int_equal(ck_store_get_restart(s, id, &r, &err), 0);
    assert_true(r.done != 0);
    assert_string_equal(r.result, "STARTED");
    assert_int_equal(ck_store_pending_restarts(daemon, "sub", &rows, &n, &err), 0);
    assert_int_equal(n, 0);
    free(rows);
    assert_int_equal(ck_store_get_restart(s, id + 1000, &r, &err), -1);
    assert_int_equal(err.code, CK_ENOTFOUND);
    /* try_begin: 1 while another connection holds the write lock. */
    assert_int_equal(ck_store_begin(s, &err), 0);
    assert_int_equal(ck_store_try_begin(daemon, &err), 1);
    ck_store_rollback(s);
    assert_int_equal(ck_store_try_begin(daemon, &err), 0);
    ck_store_rollback(daemon);
    ck_store_close(daemon);
    ck_store_close(s);
}

/* The schema of the first ctlkit, exactly as it created it (version 0). */
static const char schema_v0[] =
    "CREATE TABLE IF NOT EXISTS node("
    "  name TEXT PRIMARY KEY, role TEXT NOT NULL CHECK(role IN ('publisher','subscriber')),"
    "  ipaddress TEXT NOT NULL, tftp_port INTEGER NOT NULL, tvs_port INTEGER NOT NULL,"
    "  provider_port INTEGER NOT NULL, position INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS certificate("
    "  node TEXT NOT NULL, unit TEXT NOT NULL, serial TEXT NOT NULL, subject TEXT NOT NULL,"
    "  issuer TEXT NOT NULL, notafter INTEGER NOT NULL, changed INTEGER NOT NULL, pem TEXT NOT NULL,"
    "  PRIMARY KEY(node, unit));"
    "CREATE TABLE IF NOT EXISTS trust("
    "  id INTEGER PRIMARY KEY, purpose TEXT NOT NULL, serial TEXT NOT NULL, subject TEXT NOT NULL,"
    "  issuer TEXT NOT NULL, notafter INTEGER NOT NULL, changed INTEGER NOT NULL, description TEXT NOT NULL,"
    "  pem TEXT NOT NULL, UNIQUE(purpose, serial, issuer));"
    "CREATE TABLE IF NOT EXISTS processconfig(paramname TEXT PRIMARY KEY, paramvalue TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS publishedfile("
    "  node TEXT NOT NULL, name TEXT NOT NULL, data BLOB NOT NULL, md5 TEXT NOT NULL, sha1 TEXT NOT NULL,"
    "  version INTEGER NOT NULL, modified INTEGER NOT NULL, PRIMARY KEY(node, name));"
    "CREATE TABLE IF NOT EXISTS auditlog("
    "  id INTEGER PRIMARY KEY, at INTEGER NOT NULL, who TEXT NOT NULL, node TEXT NOT NULL, action TEXT NOT NULL);"
    "INSERT INTO processconfig VALUES('ClusterSecurityMode', '1');";

static int sqlite_user_version(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* A database made by the code before schema versions opens and upgrades;
 * one from a newer ctlkit is refused. */
static void test_sqlite_upgrade_v0(void **state)
{
    const char *path = ((where *)*state)->address;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, schema_v0, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(sqlite_user_version(path), 0);

    ck_store *s = NULL;
    ck_err err = {0};
    assert_int_equal(ck_store_open(path, false, &s, &err), 0);
    char v[8];
    assert_int_equal(ck_store_get_param(s, "ClusterSecurityMode", v, sizeof v, &err), 0);
    assert_string_equal(v, "1");
    int64_t before = ck_store_change_counter(s);
    assert_true(before >= 0);
    assert_int_equal(ck_store_set_param(s, "ClusterSecurityMode", "0", &err), 0);
    assert_true(ck_store_change_counter(s) != before);
    /* The upgraded database holds devices. */
    ck_device_row d = sample_device("SEP00112233AABB"), got;
    assert_int_equal(ck_store_put_device(s, &d, &err), 0);
    assert_int_equal(ck_store_get_device(s, d.name, &got, &err), 0);
    ck_device_row_clear(&got);
    ck_store_close(s);
    assert_int_equal(sqlite_user_version(path), CK_STORE_SCHEMA_VERSION);
    /* Opening again changes nothing. */
    assert_int_equal(ck_store_open(path, false, &s, &err), 0);
    ck_store_close(s);

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(ck_store_open(path, false, &s, &err), -1);
    assert_non_null(strstr(err.msg, "newer"));
}

/* Phone sightings from two nodes merge into one row per MAC: counts add,
 * the newer download wins, empty fields keep what is stored, and no flush
 * bumps the change counter the daemons recache on. */
static void test_phones(void **state)
{
    ck_store *s = open_new(state);
    ck_err err = {0};
    int64_t before = ck_store_change_counter(s);
    ck_phone_row a[2] = {
        {.mac = "0CC0AA000001", .ip = "10.0.0.5", .node = "pub", .ctl_md5 = "11", .ctl_at = 100, .last_seen = 100},
        {.mac = "0CC0AA000002", .model = "7975", .node = "pub", .tvs_invalid = 1, .tvs_last = "invalid",
         .tvs_at = 90, .last_seen = 90},
    };
    if (ck_store_merge_phones(s, a, 2, &err) != 0)
        fail_msg("merge: %s", err.msg);
    ck_phone_row b[2] = {
        {.mac = "0CC0AA000001", .model = "8865", .node = "sub1", .ctl_md5 = "00", .ctl_at = 50, .itl_md5 = "22",
         .itl_at = 101, .tvs_valid = 2, .tvs_last = "valid", .tvs_at = 101, .last_seen = 101},
        {.mac = "0CC0AA000002", .node = "sub1", .tvs_valid = 1, .tvs_last = "valid", .tvs_at = 95, .last_seen = 95},
    };
    if (ck_store_merge_phones(s, b, 2, &err) != 0)
        fail_msg("merge: %s", err.msg);
    assert_int_equal(ck_store_change_counter(s), before);
    ck_phone_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(ck_store_list_phones(s, &rows, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].mac, "0CC0AA000001");
    assert_string_equal(rows[0].model, "8865");
    assert_string_equal(rows[0].ip, "10.0.0.5");
    assert_string_equal(rows[0].node, "sub1");
    assert_string_equal(rows[0].ctl_md5, "11"); /* the older download does not win */
    assert_int_equal(rows[0].ctl_at, 100);
    assert_string_equal(rows[0].itl_md5, "22");
    assert_int_equal(rows[0].tvs_valid, 2);
    assert_int_equal(rows[0].last_seen, 101);
    assert_string_equal(rows[1].model, "7975");
    assert_int_equal(rows[1].tvs_valid, 1);
    assert_int_equal(rows[1].tvs_invalid, 1);
    assert_string_equal(rows[1].tvs_last, "valid");
    assert_int_equal(rows[1].tvs_at, 95);
    free(rows);
    ck_store_close(s);
}

/* The phones page's query: pages of 100 walk every phone once in MAC
 * order, and each state and model filter selects exactly the phones
 * ck_drift_phone_state puts there (the SQL and the C rules agree). */
static void test_phone_pages(void **state)
{
    ck_store *s = open_new(state);
    ck_err err = {0};
    enum { N = 1000 };
    static const char *const models[] = {"", "7960", "8865"};
    static const char *const md5s[] = {"", "c0", "c1"};
    const int64_t now = 100000, age = 1000;
    ck_phone_row *rows = calloc(N, sizeof *rows);
    assert_non_null(rows);
    for (int i = 0; i < N; i++) {
        ck_phone_row *p = &rows[i];
        /* Written in a scrambled order: the pages must not depend on it. */
        snprintf(p->mac, sizeof p->mac, "0CC0%08X", (unsigned)((i * 7919) % N));
        snprintf(p->model, sizeof p->model, "%s", models[i % 3]);
        snprintf(p->node, sizeof p->node, "pub");
        snprintf(p->ctl_md5, sizeof p->ctl_md5, "%s", md5s[(i / 3) % 3]);
        p->ctl_at = p->ctl_md5[0] ? now - 500 + i % 7 : 0;
        if (i % 5 == 0) {
            snprintf(p->tvs_last, sizeof p->tvs_last, "invalid");
            p->tvs_invalid = 1;
            p->tvs_at = now - 500 + i % 3 * 3; /* before, at or after the download */
        }
        p->last_seen = i % 11 == 0 ? now - age - 1 : now - i % 17;
    }
    if (ck_store_merge_phones(s, rows, N, &err) != 0)
        fail_msg("merge: %s", err.msg);

    /* Every phone once, in MAC order, 100 a page. */
    ck_phone_query all = {.ctl_md5 = "c1", .since = now - age};
    char prev[13] = "";
    size_t seen = 0;
    for (size_t page = 0;; page++) {
        ck_phone_row *got = NULL;
        size_t n = 0, total = 0;
        assert_int_equal(ck_store_page_phones(s, &all, page * 100, 100, &got, &n, &total, &err), 0);
        assert_int_equal(total, N);
        for (size_t k = 0; k < n; k++) {
            assert_true(strcmp(prev, got[k].mac) < 0);
            snprintf(prev, sizeof prev, "%s", got[k].mac);
        }
        seen += n;
        free(got);
        if (n < 100)
            break;
    }
    assert_int_equal(seen, N);

    for (int st = CK_PHONE_ANY; st <= CK_PHONE_AGED_OUT; st++)
        for (int m = -1; m < 3; m++) {
            ck_phone_query q = {.model = m < 0 ? NULL : models[m], .state = (ck_phone_state)st, .ctl_md5 = "c1",
                                .since = now - age};
            size_t want = 0;
            for (int i = 0; i < N; i++) {
                ck_phone_state is = ck_drift_phone_state(&rows[i], "c1", now, age);
                bool in = st == CK_PHONE_ANY || (ck_phone_state)st == is ||
                          (st == CK_PHONE_CURRENT && is == CK_PHONE_STRANDED);
                want += in && (m < 0 || strcmp(rows[i].model, models[m]) == 0);
            }
            ck_phone_row *got = NULL;
            size_t n = 0, total = 0;
            assert_int_equal(ck_store_page_phones(s, &q, 0, N, &got, &n, &total, &err), 0);
            if (total != want || n != want)
                fail_msg("state %s model '%s': %zu/%zu phones, want %zu", ck_phone_state_name((ck_phone_state)st),
                         m < 0 ? "*" : models[m], total, n, want);
            for (size_t k = 0; k < n; k++) {
                ck_phone_state is = ck_drift_phone_state(&got[k], "c1", now, age);
                assert_true(st == CK_PHONE_ANY || (ck_phone_state)st == is ||
                            (st == CK_PHONE_CURRENT && is == CK_PHONE_STRANDED));
            }
            free(got);
            assert_true(want > 0);
        }

    /* A page past the end is empty; one phone by MAC. */
    ck_phone_row *got = NULL;
    size_t n = 1, total = 0;
    assert_int_equal(ck_store_page_phones(s, &all, N, 100, &got, &n, &total, &err), 0);
    assert_int_equal(n, 0);
    free(got);
    ck_phone_row one;
    assert_int_equal(ck_store_get_phone(s, rows[42].mac, &one, &err), 0);
    assert_string_equal(one.mac, rows[42].mac);
    assert_string_equal(one.ctl_md5, rows[42].ctl_md5);
    assert_int_equal(one.last_seen, rows[42].last_seen);
    assert_int_equal(ck_store_get_phone(s, "0CC0FFFFFFFF", &one, &err), -1);
    assert_int_equal(err.code, CK_ENOTFOUND);
    free(rows);
    ck_store_close(s);
}

static void test_mask_address(void **state)
{
    char out[256];
    ck_store_mask_address("postgresql://ctlkit:s3cret@db.example:5432/cluster?sslmode=verify-full", out, sizeof out);
    assert_string_equal(out, "postgresql://ctlkit:***@db.example:5432/cluster?sslmode=verify-full");
    ck_store_mask_address("postgresql://db/cluster?user=a&password=s3cret&sslmode=require", out, sizeof out);
    assert_string_equal(out, "postgresql://db/cluster?user=a&password=***&sslmode=require");
    ck_store_mask_address("postgresql://ctlkit@db/cluster", out, sizeof out);
    assert_string_equal(out, "postgresql://ctlkit@db/cluster");
    ck_store_mask_address("/var/lib/ctlkit/cluster.db", out, sizeof out);
    assert_string_equal(out, "/var/lib/ctlkit/cluster.db");
    /* sslpassword is not the password; every password= is masked. */
    ck_store_mask_address("postgresql://db/c?sslpassword=x&password=s3cret&password=again", out, sizeof out);
    assert_string_equal(out, "postgresql://db/c?sslpassword=x&password=***&password=***");
    /* A short password grows into "***": the result stays within the buffer. */
    char small[24];
    ck_store_mask_address("postgresql://db/c?password=", small, sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1);
    ck_store_mask_address("postgresql://db/c?a=b&password=x", small, sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_null(strstr(small, "=x"));
}

/* A wrong password is refused, and no message shows the one given. */
static void test_pg_wrong_password_masked(void **state)
{
    const char *url = ((where *)*state)->address;
    char bad[700];
    const char *at = strchr(url, '@');
    const char *colon = strchr(url + strlen("postgresql://"), ':');
    snprintf(bad, sizeof bad, "%.*sWrongPassw0rdXYZ%s", (int)(colon + 1 - url), url, at);
    ck_store *s = NULL;
    ck_err err = {0};
    assert_int_equal(ck_store_open(bad, false, &s, &err), -1);
    assert_null(strstr(err.msg, "WrongPassw0rdXYZ"));
    assert_non_null(strstr(err.msg, "***"));
    assert_non_null(strstr(err.msg, "password authentication failed"));
    /* Nor the right one, when something else fails. */
    char pw[128];
    snprintf(pw, sizeof pw, "%.*s", (int)(at - colon - 1), colon + 1);
    char nodb[700];
    snprintf(nodb, sizeof nodb, "%.*s/ck_no_such_database", (int)(strrchr(url, '/') - url), url);
    assert_int_equal(ck_store_open(nodb, false, &s, &err), -1);
    assert_null(strstr(err.msg, pw));
}

static int first_value(void *ctx, int ncols, const char *const *names, const char *const *values)
{
    if (values)
        snprintf(ctx, 32, "%s", values[0] ? values[0] : "NULL");
    return 0;
}

/* Admin transactions hold the cluster's advisory lock; a commit notifies
 * listening connections; run sql cannot write even through a function. */
static void test_pg_lock_notify_readonly(void **state)
{
    ck_store *s = open_new(state);
    ck_err err = {0};
    ck_store *other = NULL;
    assert_int_equal(ck_store_open(((where *)*state)->address, false, &other, &err), 0);
    char v[32] = "";
    /* This database's locks only: other tests share the server. */
    const char *locks = "SELECT count(*) FROM pg_locks WHERE locktype='advisory' AND database = "
                        "(SELECT oid FROM pg_database WHERE datname = current_database())";
    assert_int_equal(ck_store_begin(s, &err), 0);
    assert_int_equal(ck_store_query_readonly(other, locks, first_value, v, NULL, &err), 0);
    assert_string_equal(v, "1");
    assert_int_equal(ck_store_set_param(s, "EnableCaching", "True", &err), 0);
    int fd = ck_store_notify_fd(other);
    assert_true(fd >= 0);
    ck_store_drain_notifications(other);
    assert_int_equal(ck_store_commit(s, &err), 0);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 30000), 1); /* a bound against hanging, not a timing claim */
    ck_store_drain_notifications(other);
    assert_int_equal(ck_store_query_readonly(other, locks, first_value, v, NULL, &err), 0);
    assert_string_equal(v, "0");

    const char *writes[] = {"SELECT nextval('trust_id_seq')", "WITH d AS (DELETE FROM processconfig RETURNING 1) SELECT 1",
                            "SET statement_timeout = 0", "SELECT pg_read_file('/etc/passwd')"};
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        assert_int_equal(ck_store_query_readonly(other, writes[i], first_value, v, NULL, &err), -1);
        assert_int_equal(err.code, CK_EDENIED);
    }
    assert_int_equal(ck_store_get_param(s, "EnableCaching", v, sizeof v, &err), 0);
    assert_string_equal(v, "True");
    ck_store_close(other);
    ck_store_close(s);
}

/* A server that stops answering on an open connection: the statement ends
 * at its deadline (CTLKIT_PG_TIMEOUT) with a message naming the database
 * and the deadline, and the connection is given up: later calls fail at
 * once instead of waiting again. Here the silence is a lock another
 * session holds; to the client it looks the same as a stopped server. */
static void test_pg_statement_deadline(void **state)
{
    const char *url = ((where *)*state)->address;
    ck_store *s = open_new(state);
    ck_store_close(s);
    s = NULL;
    ck_err err = {0};
    setenv("CTLKIT_PG_TIMEOUT", "soon", 1);
    assert_int_equal(ck_store_open(url, false, &s, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
    assert_non_null(strstr(err.msg, "CTLKIT_PG_TIMEOUT must be a number of seconds"));
    setenv("CTLKIT_PG_TIMEOUT", "1", 1);
    assert_int_equal(ck_store_open(url, false, &s, &err), 0);

    PGconn *locker = PQconnectdb(url);
    assert_int_equal(PQstatus(locker), CONNECTION_OK);
    PGresult *r = PQexec(locker, "BEGIN; LOCK TABLE changecounter IN ACCESS EXCLUSIVE MODE");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);

    assert_int_equal(ck_store_read_change_counter(s, &err), -1);
    assert_int_equal(err.code, CK_EIO);
    assert_non_null(strstr(err.msg, ((where *)*state)->dbname));
    assert_non_null(strstr(err.msg, "did not answer within 1 s"));
    assert_null(strchr(err.msg, '\n'));
    char v[32];
    assert_int_equal(ck_store_get_param(s, "EnableCaching", v, sizeof v, &err), -1);
    assert_non_null(strstr(err.msg, "the connection was given up"));
    ck_store_close(s);

    r = PQexec(locker, "ROLLBACK");
    PQclear(r);
    PQfinish(locker);
    /* Once the server answers again, a new connection works. */
    assert_int_equal(ck_store_open(url, false, &s, &err), 0);
    assert_true(ck_store_read_change_counter(s, &err) >= 0);
    ck_store_close(s);
    unsetenv("CTLKIT_PG_TIMEOUT");
}

/* Phone sightings from two nodes' flushers at once (a review in the ninth
 * session): each merges its batch in one transaction, in the order the
 * sightings came. Two batches holding the same phones in opposite orders
 * locked each other's first row and waited for the other's second: a
 * deadlock, which PostgreSQL breaks by failing one batch (the flusher
 * warns, reconnects and sends it again later). The rows are merged in MAC
 * order now, so both wait in the same order. Here the other flusher is a
 * session that has updated phone ...01 and, once the batch (...02, ...01)
 * waits, updates ...02. */
typedef struct merge_job {
    const char *url;
    ck_phone_row rows[2];
    int rc;
    ck_err err;
} merge_job;

static void *merge_thread(void *arg)
{
    merge_job *j = arg;
    ck_store *s = NULL;
    j->rc = ck_store_open(j->url, false, &s, &j->err);
    if (j->rc == 0)
        j->rc = ck_store_merge_phones(s, j->rows, 2, &j->err);
    ck_store_close(s);
    return NULL;
}

static bool pg_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(c));
    PQclear(r);
    return ok;
}

static void test_pg_phone_merge_order(void **state)
{
    const char *url = ((where *)*state)->address;
    ck_store *s = open_new(state);
    ck_err err = {0};
    ck_phone_row seed[2] = {{.mac = "0CC0AA000001", .node = "pub", .last_seen = 1},
                            {.mac = "0CC0AA000002", .node = "pub", .last_seen = 1}};
    assert_int_equal(ck_store_merge_phones(s, seed, 2, &err), 0);

    PGconn *other = PQconnectdb(url), *look = PQconnectdb(url);
    assert_int_equal(PQstatus(other), CONNECTION_OK);
    assert_int_equal(PQstatus(look), CONNECTION_OK);
    assert_true(pg_ok(other, "BEGIN"));
    assert_true(pg_ok(other, "UPDATE phone SET tvsvalid = tvsvalid + 1 WHERE mac = '0CC0AA000001'"));

    merge_job j = {.url = url,
                   .rows = {{.mac = "0CC0AA000002", .node = "sub", .tvs_valid = 1, .last_seen = 2},
                            {.mac = "0CC0AA000001", .node = "sub", .tvs_valid = 1, .last_seen = 2}}};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, merge_thread, &j), 0);
    /* Until the batch waits for a row lock (bounded against hanging). */
    bool waits = false;
    for (int i = 0; i < 3000 && !waits; i++) {
        PGresult *r = PQexec(look, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
                                   "wait_event_type = 'Lock' AND query LIKE 'INSERT INTO phone%'");
        waits = PQresultStatus(r) == PGRES_TUPLES_OK && strcmp(PQgetvalue(r, 0, 0), "1") == 0;
        PQclear(r);
        if (!waits)
            usleep(10000);
    }
    assert_true(waits);
    bool second = pg_ok(other, "UPDATE phone SET tvsvalid = tvsvalid + 1 WHERE mac = '0CC0AA000002'");
    bool committed = pg_ok(other, second ? "COMMIT" : "ROLLBACK") && second;
    pthread_join(t, NULL);
    PQfinish(other);
    PQfinish(look);
    if (j.rc != 0)
        fail_msg("the batch failed: %s", j.err.msg);
    assert_true(committed);
    ck_phone_row *rows = NULL;
    size_t n = 0;
    assert_int_equal(ck_store_list_phones(s, &rows, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].tvs_valid, 2);
    assert_int_equal(rows[1].tvs_valid, 2);
    free(rows);
    ck_store_close(s);
}

#define BOTH(t) cmocka_unit_test_setup_teardown(t, setup_where, teardown_where)

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "pg") == 0) {
        const char *state = getenv("CTLKIT_TEST_PG_STATE");
        FILE *f = state ? fopen(state, "r") : NULL;
        char line[600];
        while (f && fgets(line, sizeof line, f))
            if (strncmp(line, "url=", 4) == 0)
                snprintf(pg_admin_url, sizeof pg_admin_url, "%.*s", (int)strcspn(line + 4, "\n"), line + 4);
        if (f)
            fclose(f);
        if (!*pg_admin_url) {
            fprintf(stderr, "test_store pg: no server (CTLKIT_TEST_PG_STATE from tests/tools/pg_server.sh)\n");
            return 1;
        }
        use_pg = true;
        const struct CMUnitTest pg_tests[] = {
            BOTH(test_nodes),           BOTH(test_certs_and_trust), BOTH(test_params_files_audit),
            BOTH(test_readonly_sql),    BOTH(test_transactions),    BOTH(test_sql_bounds),
            BOTH(test_change_counter),  BOTH(test_pg_wrong_password_masked),
            BOTH(test_pg_lock_notify_readonly), BOTH(test_served), BOTH(test_upgrade_v1), BOTH(test_devices), BOTH(test_restart_requests), BOTH(test_phones),
            BOTH(test_phone_pages),     BOTH(test_pg_statement_deadline), BOTH(test_pg_phone_merge_order),
        };
        return cmocka_run_group_tests_name("store on PostgreSQL", pg_tests, NULL, NULL);
    }
    const struct CMUnitTest tests[] = {
        BOTH(test_nodes),          BOTH(test_certs_and_trust),        BOTH(test_params_files_audit),
        BOTH(test_readonly_sql),   BOTH(test_transactions),           BOTH(test_sql_bounds),
        BOTH(test_change_counter), BOTH(test_sql_function_allowlist), BOTH(test_sqlite_upgrade_v0),
        BOTH(test_served),         BOTH(test_upgrade_v1), BOTH(test_devices), BOTH(test_restart_requests), BOTH(test_phones),
            BOTH(test_phone_pages),
        cmocka_unit_test(test_mask_address), cmocka_unit_test(test_param_table),
    };
    return cmocka_run_group_tests_name("store on SQLite", tests, NULL, NULL);
}
