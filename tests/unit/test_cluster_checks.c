/* Unit tests of the checks that protect the fleet (lib/cluster/checks.c),
 * the "CallManager and TVS regenerated within one TTL" warning of
 * certs.c, and materializing a node's folder (materialize.c), on a real
 * cluster in a temporary folder; `test_cluster_checks pg` runs them on
 * PostgreSQL, each node's folder seen from its own "host" (testutil.c). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctlkit/fileio.h"
#include "ctlkit/params.h"
#include "ctlkit/store.h"

/* The checks' warnings joined by newlines (malloc'd). */
static char *checks(tu_cluster *t, const char *node, size_t *n)
{
    char **w = NULL;
    ck_err err = {0};
    if (ck_cluster_checks(node ? tu_host(t, node) : t->c, node, &w, n, &err) < 0)
        fail_msg("checks: %s", err.msg);
    size_t total = 1;
    for (size_t i = 0; i < *n; i++)
        total += strlen(w[i]) + 1;
    char *all = calloc(1, total);
    assert_non_null(all);
    for (size_t i = 0; i < *n; i++)
        strcat(strcat(all, w[i]), "\n");
    ck_strings_free(w, *n);
    return all;
}

static void expect_warning(tu_cluster *t, const char *node, const char *needle)
{
    size_t n;
    char *all = checks(t, node, &n);
    if (!strstr(all, needle))
        fail_msg("no warning with '%s' in:\n%s", needle, all);
    free(all);
}

/* No warnings on any node (across hosts: each checked on its own host). */
static void expect_clean(tu_cluster *t)
{
    const char *const nodes[] = {NULL, TU_PUB, TU_SUB};
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        size_t n;
        char *all = checks(t, nodes[i], &n);
        if (n)
            fail_msg("unexpected warnings:\n%s", all);
        free(all);
    }
}

static void materialize(tu_cluster *t, const char *node, ck_materialize_report *r)
{
    ck_err err = {0};
    if (ck_cluster_materialize_node(tu_host(t, node), node, r, &err) < 0)
        fail_msg("materialize %s: %s", node, err.msg);
}

static void write_node_file(tu_cluster *t, const char *node, const char *name, const char *text)
{
    char path[PATH_MAX];
    ck_err err = {0};
    ck_cluster_node_path(tu_host(t, node), node, "tftp", name, path, sizeof path);
    if (ck_write_file_atomic(path, text, strlen(text), 0644, &err) < 0)
        fail_msg("%s", err.msg);
}

static void remove_node_file(tu_cluster *t, const char *node, const char *name)
{
    char path[PATH_MAX];
    ck_cluster_node_path(tu_host(t, node), node, "tftp", name, path, sizeof path);
    assert_int_equal(remove(path), 0);
}

static void test_checks_mixed(void **state)
{
    tu_cluster *t = *state;
    ck_materialize_report r = {0};
    /* Across hosts the subscriber's daemon brings its folder to the
     * published state: here, the test does. */
    materialize(t, TU_SUB, &r);
    expect_clean(t);
    /* A node's copy that differs from the published CTL; materializing puts
     * it back. */
    write_node_file(t, TU_SUB, CK_CTL_NAME, "not a CTL");
    expect_warning(t, TU_SUB, TU_SUB ": its CTLFile.tlv differs from the cluster's published CTL");
    expect_warning(t, TU_SUB, TU_SUB ": its CTLFile.tlv does not parse");
    materialize(t, TU_SUB, &r);
    assert_false(r.busy);
    assert_true(r.n >= 1);
    assert_non_null(strstr(r.lines[0], CK_CTL_NAME));
    expect_clean(t);
    /* The same for the ITL, and a missing one. */
    write_node_file(t, TU_PUB, CK_ITL_NAME, "edited by hand");
    expect_warning(t, TU_PUB, TU_PUB ": its ITLFile.tlv differs from the published ITL");
    remove_node_file(t, TU_PUB, CK_ITL_NAME);
    expect_warning(t, TU_PUB, TU_PUB ": no ITL file in its TFTP directory");
    /* Only the named node is checked. */
    size_t n;
    free(checks(t, TU_SUB, &n));
    assert_int_equal(n, 0);
    materialize(t, TU_PUB, &r);
    expect_clean(t);
    /* A CTL missing in mixed mode. */
    remove_node_file(t, TU_SUB, CK_CTL_NAME);
    expect_warning(t, TU_SUB, TU_SUB ": no CTL file while the cluster is in mixed mode");
    materialize(t, TU_SUB, &r);
    expect_clean(t);
}

/* Materializing leaves what an interrupted publish left no longer, and
 * never touches other files. */
static void test_materialize_leftovers(void **state)
{
    tu_cluster *t = *state;
    write_node_file(t, TU_SUB, CK_CTL_NAME ".tmp.12345", "half a CTL");
    write_node_file(t, TU_SUB, CK_ITL_NAME ".prev", "an old ITL");
    write_node_file(t, TU_SUB, "SEP001122334455.cnf.xml", "<device/>");
    ck_materialize_report r = {0};
    materialize(t, TU_SUB, &r);
    size_t len;
    uint8_t *p;
    assert_null(p = tu_node_file(t, TU_SUB, CK_CTL_NAME ".tmp.12345", &len));
    assert_null(p = tu_node_file(t, TU_SUB, CK_ITL_NAME ".prev", &len));
    assert_non_null(p = tu_node_file(t, TU_SUB, "SEP001122334455.cnf.xml", &len));
    free(p);
    /* Nothing to do: no lines. */
    materialize(t, TU_SUB, &r);
    assert_int_equal(r.n, 0);
    expect_warning(t, "no-such-node", ""); /* no node by that name: no warnings, no error */
}

static void test_checks_nonsecure_ctl(void **state)
{
    (void)state;
    tu_cluster *t = tu_cluster_new(2, true);
    assert_non_null(t);
    ck_err err = {0};
    assert_int_equal(ck_cluster_set_nonsecure_mode(t->c, TU_PUB, &err), 0);
    expect_warning(t, TU_PUB, TU_PUB ": a CTL file is present while the cluster is in non-secure mode");
    int found, deleted;
    assert_int_equal(ck_cluster_delete_tftp_file(t->c, TU_PUB, CK_CTL_NAME, &found, &deleted, &err), 0);
    assert_int_equal(ck_cluster_delete_tftp_file(tu_host(t, TU_SUB), TU_SUB, CK_CTL_NAME, &found, &deleted, &err), 0);
    expect_clean(t);
    tu_cluster_free(t);
}

/* Stamps node's UNIT row as changed at `at` (what a regeneration then does). */
static void stamp(tu_cluster *t, const char *node, const char *unit, int64_t at)
{
    ck_cert_row row;
    ck_err err = {0};
    if (ck_store_get_cert(ck_cluster_store(t->c), node, unit, &row, &err) < 0)
        fail_msg("%s", err.msg);
    row.changed_at = at;
    int rc = ck_store_put_cert(ck_cluster_store(t->c), &row, &err);
    ck_cert_row_clear(&row);
    if (rc < 0)
        fail_msg("%s", err.msg);
}

static int64_t changed_at(tu_cluster *t, const char *node, const char *unit)
{
    ck_cert_row row;
    ck_err err = {0};
    if (ck_store_get_cert(ck_cluster_store(t->c), node, unit, &row, &err) < 0)
        fail_msg("%s", err.msg);
    int64_t at = row.changed_at;
    ck_cert_row_clear(&row);
    return at;
}

/* When node came to be: the cluster's init, or its join across hosts. */
static int64_t born(tu_cluster *t, const char *node)
{
    ck_node n;
    ck_err err = {0};
    if (ck_store_get_node(ck_cluster_store(t->c), node, &n, &err) < 0)
        fail_msg("%s", err.msg);
    int64_t created = changed_at(t, TU_PUB, CK_UNIT_ITLRECOVERY);
    return n.joined > created ? n.joined : created;
}

#define TRAP "CallManager and TVS certificates of " TU_SUB " have both changed within one TVS cache TTL"

static void regen(tu_cluster *t, const char *node, const char *unit, char *warning, size_t n)
{
    ck_err err = {0};
    if (ck_cluster_regen_cert(tu_host(t, node), node, unit, NULL, warning, n, &err) < 0)
        fail_msg("regen %s: %s", unit, err.msg);
}

/* The trap is decided from the certificates' changed_at: init is not a
 * regeneration, a regeneration is one however many audit rows follow it,
 * and it counts for one TTL. */
static void test_regen_trap(void **state)
{
    (void)state;
    tu_cluster *t = tu_cluster_new(2, false);
    assert_non_null(t);
    char warning[4096];
    int64_t created = changed_at(t, TU_PUB, CK_UNIT_CALLMANAGER);
    /* Every certificate of init carries the same stamp (across hosts the
     * subscriber's come from its join: test_regen_after_join). */
    if (!tu_pg())
        assert_int_equal(changed_at(t, TU_SUB, CK_UNIT_TVS), created);
    assert_int_equal(changed_at(t, TU_PUB, CK_UNIT_ITLRECOVERY), created);
    /* Right after init: the TVS certificate is the first one, no trap. */
    regen(t, TU_SUB, "CallManager", warning, sizeof warning);
    assert_null(strstr(warning, TRAP));

    /* TVS regenerated (a second after init, stamped so that the test does
     * not wait), then more changes than the audit log's latest 500 rows. */
    regen(t, TU_SUB, "TVS", warning, sizeof warning);
    stamp(t, TU_SUB, CK_UNIT_TVS, born(t, TU_SUB) + 1);
    ck_err err = {0};
    for (int i = 0; i < 510; i++)
        if (ck_cluster_set_param(t->c, TU_PUB, CK_PARAM_TVS_TTL, i % 2 ? "86400" : "86401", &err) < 0)
            fail_msg("%s", err.msg);
    regen(t, TU_SUB, "CallManager", warning, sizeof warning);
    if (!strstr(warning, TRAP))
        fail_msg("no trap warning in:\n%s", warning);

    /* Longer ago than the TTL: no trap. */
    assert_int_equal(ck_cluster_set_param(t->c, TU_PUB, CK_PARAM_TVS_TTL, "60", &err), 0);
    stamp(t, TU_SUB, CK_UNIT_TVS, (int64_t)time(NULL) - 61);
    regen(t, TU_SUB, "CallManager", warning, sizeof warning);
    assert_null(strstr(warning, TRAP));
    /* The other way round: CallManager just regenerated, now TVS. */
    regen(t, TU_SUB, "TVS", warning, sizeof warning);
    if (!strstr(warning, TRAP))
        fail_msg("no trap warning in:\n%s", warning);
    tu_cluster_free(t);
}

static void set_joined(tu_cluster *t, const char *node, int64_t at)
{
    ck_err err = {0};
    if (ck_store_set_node_joined(ck_cluster_store(t->c), node, at, &err) < 0)
        fail_msg("%s", err.msg);
}

/* A node that joined after init: its first certificates carry the join's
 * stamp, which is no regeneration; a regeneration after the join is. */
static void test_regen_after_join(void **state)
{
    (void)state;
    tu_cluster *t = tu_cluster_new(2, false);
    assert_non_null(t);
    ck_node n;
    ck_err err = {0};
    if (tu_pg()) {
        /* The join records its time on the node row, the stamp of the
         * node's certificates. */
        assert_int_equal(ck_store_get_node(ck_cluster_store(t->c), TU_SUB, &n, &err), 0);
        assert_true(n.joined > 0);
        assert_int_equal(changed_at(t, TU_SUB, CK_UNIT_TVS), n.joined);
        assert_int_equal(changed_at(t, TU_SUB, CK_UNIT_CALLMANAGER), n.joined);
    }
    /* Init ten seconds ago, the join five seconds later (stamped so that
     * the test does not wait). */
    int64_t now = (int64_t)time(NULL);
    stamp(t, TU_PUB, CK_UNIT_CALLMANAGER, now - 10);
    set_joined(t, TU_SUB, now - 5);
    stamp(t, TU_SUB, CK_UNIT_TVS, now - 5);
    stamp(t, TU_SUB, CK_UNIT_CALLMANAGER, now - 5);
    char warning[4096];
    regen(t, TU_SUB, "CallManager", warning, sizeof warning);
    if (strstr(warning, TRAP))
        fail_msg("the join taken for a regeneration:\n%s", warning);
    /* The CallManager regeneration counts: TVS now is the trap. */
    regen(t, TU_SUB, "TVS", warning, sizeof warning);
    if (!strstr(warning, TRAP))
        fail_msg("no trap warning in:\n%s", warning);
    tu_cluster_free(t);
}

int main(int argc, char **argv)
{
    if (!tu_backend_from_args(argc, argv))
        return 1;
    const struct CMUnitTest alone[] = {
        cmocka_unit_test(test_regen_after_join),
        cmocka_unit_test(test_checks_nonsecure_ctl),
        cmocka_unit_test(test_regen_trap),
    };
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_checks_mixed),
        cmocka_unit_test(test_materialize_leftovers),
    };
    int failed = cmocka_run_group_tests_name(tu_pg() ? "own cluster on PostgreSQL" : "own cluster", alone, NULL, NULL);
    failed += cmocka_run_group_tests_name(tu_pg() ? "one mixed-mode cluster on PostgreSQL" : "one mixed-mode cluster",
                                          shared, tu_cluster_setup_mixed, tu_cluster_teardown);
    return failed;
}
