/* Unit tests of the status view model (lib/cluster/status.c) and of
 * recording what a node serves (lib/cluster/served.c), on a real cluster
 * in a temporary folder (SQLite). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctlkit/fileio.h"
#include "ctlkit/store.h"

static void read_status(tu_cluster *t, const char *node, ck_cluster_status *st)
{
    ck_err err = {0};
    if (ck_cluster_status_read(t->c, node, st, &err) < 0)
        fail_msg("status: %s", err.msg);
}

static size_t record(tu_cluster *t, const char *node)
{
    size_t changed = 99;
    ck_err err = {0};
    if (ck_cluster_record_served(t->c, node, &changed, &err) < 0)
        fail_msg("record served: %s", err.msg);
    return changed;
}

static bool has_warning(const ck_cluster_status *st, const char *needle)
{
    for (size_t i = 0; i < st->n_warnings; i++)
        if (strstr(st->warnings[i], needle))
            return true;
    return false;
}

/* A fresh mixed-mode cluster: every node joined with its copies the
 * published ones, no daemon report yet, and one warnings list that starts
 * with the TLS minimum's (1.0 by default). */
static void test_fresh_cluster(void **state)
{
    tu_cluster *t = *state;
    ck_cluster_status st;
    read_status(t, NULL, &st);
    assert_int_equal(st.security_mode, 1);
    assert_true(st.ctl.version >= 1);
    assert_null(st.ctl.data);
    assert_int_equal(st.n_nodes, 2);
    assert_string_equal(st.nodes[0].node.name, TU_PUB);
    assert_string_equal(st.nodes[1].node.name, TU_SUB);
    for (size_t i = 0; i < st.n_nodes; i++) {
        assert_true(st.nodes[i].joined);
        assert_int_equal(st.nodes[i].ctl.copy, CK_COPY_OK);
        assert_int_equal(st.nodes[i].itl.copy, CK_COPY_OK);
        assert_true(st.nodes[i].ctl.published);
        assert_string_equal(st.nodes[i].ctl.published_md5, st.ctl.md5);
        assert_string_equal(st.nodes[i].ctl.copy_md5, st.ctl.md5);
        assert_false(st.nodes[i].ctl.served);
    }
    assert_true(st.n_certs >= 6);
    assert_int_equal(st.n_warnings, 1);
    assert_non_null(strstr(st.warnings[0], "the TLS minimum version is 1.0"));
    assert_string_equal(st.warnings[0], st.tls_warning);
    ck_cluster_status_free(&st);

    /* A node's view: that node only, without the cluster-wide TLS warning
     * (`show status` prints what it always printed). */
    read_status(t, TU_SUB, &st);
    assert_int_equal(st.n_nodes, 1);
    assert_string_equal(st.nodes[0].node.name, TU_SUB);
    assert_int_equal(st.n_warnings, 0);
    ck_cluster_status_free(&st);
}

/* What a daemon records: both files once, then nothing while nothing
 * changes; the view shows them as the published versions. */
static void test_record_served(void **state)
{
    tu_cluster *t = *state;
    assert_int_equal(record(t, TU_PUB), 2);
    assert_int_equal(record(t, TU_SUB), 2);
    assert_int_equal(record(t, TU_PUB), 0);
    assert_int_equal(record(t, TU_SUB), 0);

    ck_cluster_status st;
    read_status(t, NULL, &st);
    for (size_t i = 0; i < st.n_nodes; i++) {
        const ck_status_file *f = &st.nodes[i].ctl;
        assert_true(f->served);
        assert_false(f->served_differs);
        assert_int_equal(f->served_version, f->published_version);
        assert_string_equal(f->served_md5, st.ctl.md5);
        assert_string_equal(f->served_sha1, st.ctl.sha1);
        assert_true(f->served_since > 0);
        assert_true(st.nodes[i].itl.served);
        assert_false(st.nodes[i].itl.served_differs);
    }
    ck_cluster_status_free(&st);

    /* A new CTL: the next report carries its version. */
    ck_err err = {0};
    assert_int_equal(ck_cluster_update_ctl(t->c, TU_PUB, &err), 0);
    assert_int_equal(record(t, TU_SUB), 1);
    read_status(t, NULL, &st);
    assert_int_equal(st.nodes[1].ctl.served_version, st.ctl.version);
    assert_false(st.nodes[1].ctl.served_differs);
    ck_cluster_status_free(&st);
}

/* A copy altered by hand: the folder's copy and the daemon's report both
 * differ from the published CTL, and the warning names both MD5s. */
static void test_altered_copy(void **state)
{
    tu_cluster *t = *state;
    char path[PATH_MAX];
    ck_err err = {0};
    ck_cluster_node_path(t->c, TU_SUB, "tftp", CK_CTL_NAME, path, sizeof path);
    assert_int_equal(ck_write_file_atomic(path, "altered", 7, 0644, &err), 0);
    assert_int_equal(record(t, TU_SUB), 1);

    ck_cluster_status st;
    read_status(t, TU_SUB, &st);
    const ck_status_file *f = &st.nodes[0].ctl;
    assert_int_equal(f->copy, CK_COPY_DIFFERS);
    assert_true(f->served);
    assert_true(f->served_differs);
    assert_int_equal(f->served_version, 0);
    assert_string_equal(f->served_md5, f->copy_md5);
    char want[200];
    snprintf(want, sizeof want, "its CTLFile.tlv differs from the cluster's published CTL (version %lld, MD5 %s); "
                                "this copy's MD5 is %s",
             (long long)f->published_version, f->published_md5, f->copy_md5);
    if (!has_warning(&st, want))
        fail_msg("no warning '%s'", want);
    ck_cluster_status_free(&st);

    /* Gone from the folder: the report goes too. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(record(t, TU_SUB), 1);
    read_status(t, TU_SUB, &st);
    assert_false(st.nodes[0].ctl.served);
    assert_int_equal(st.nodes[0].ctl.copy, CK_COPY_MISSING);
    ck_cluster_status_free(&st);
}

/* Sets the not_after of node's unit certificate row (as the store keeps
 * it: the view reads the row, not the PEM). */
static void set_not_after(tu_cluster *t, const char *node, const char *unit, int64_t not_after)
{
    ck_err err = {0};
    ck_cert_row r;
    if (ck_store_get_cert(ck_cluster_store(t->c), node, unit, &r, &err) < 0)
        fail_msg("get cert: %s", err.msg);
    r.not_after = not_after;
    if (ck_store_put_cert(ck_cluster_store(t->c), &r, &err) < 0)
        fail_msg("put cert: %s", err.msg);
    ck_cert_row_clear(&r);
}

/* CUCM's certificate monitor: a node certificate within 30 days of its
 * end, or past it, is a warning of the cluster's view (not of a node's
 * own, whose warnings `show status` prints as before) that says what to
 * run; one with years left is not. */
static void test_expiry_warnings(void **state)
{
    tu_cluster *t = *state;
    ck_cluster_status st;
    ck_err err = {0};
    ck_cert_row keep;
    if (ck_store_get_cert(ck_cluster_store(t->c), TU_SUB, "TVS", &keep, &err) < 0)
        fail_msg("get cert: %s", err.msg);
    int64_t now = (int64_t)time(NULL);

    set_not_after(t, TU_SUB, "TVS", now + 10 * 86400 + 3600);
    read_status(t, NULL, &st);
    assert_true(has_warning(&st, TU_SUB ": the TVS certificate expires on "));
    assert_true(has_warning(&st, "(10 days left): set cert regen TVS on " TU_SUB
                                 " before then, then utils ctl update CTLFile"));
    assert_false(has_warning(&st, TU_PUB ": the"));
    ck_cluster_status_free(&st);
    read_status(t, TU_SUB, &st);
    assert_false(has_warning(&st, "certificate expires"));
    ck_cluster_status_free(&st);

    set_not_after(t, TU_SUB, "TVS", now - 3600);
    read_status(t, NULL, &st);
    assert_true(has_warning(&st, TU_SUB ": the TVS certificate expired on "));
    assert_true(has_warning(&st, ": set cert regen TVS on " TU_SUB ", then utils ctl update CTLFile"));
    ck_cluster_status_free(&st);

    set_not_after(t, TU_SUB, "TVS", now + 31 * 86400);
    read_status(t, NULL, &st);
    assert_false(has_warning(&st, "certificate expire"));
    ck_cluster_status_free(&st);

    if (ck_store_put_cert(ck_cluster_store(t->c), &keep, &err) < 0)
        fail_msg("put cert: %s", err.msg);
    ck_cert_row_clear(&keep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_cluster),
        cmocka_unit_test(test_record_served),
        cmocka_unit_test(test_altered_copy),
        cmocka_unit_test(test_expiry_warnings),
    };
    return cmocka_run_group_tests_name("cluster status", tests, tu_cluster_setup_mixed, tu_cluster_teardown);
}
