/* Unit tests of the decisions the CLI and lib/cluster share
 * (lib/cluster/decisions.c, layout.c): publisher-only, non-secure, what a
 * TFTP file name is, whether a node's copy differs, the TFTP listing. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/cluster.h"
#include "ctlkit/fileio.h"

static char dir[4200];
static ck_cluster *c;

static int setup(void **state)
{
    ck_node_spec nodes[2] = {{.name = "pub", .ip = "127.0.0.1"}, {.name = "sub", .ip = "127.0.0.2"}};
    ck_cluster_init_opts o = {.nodes = nodes, .n_nodes = 2, .o = "ctlkit", .rsa_bits = 2048, .who = "test"};
    ck_err err = {0};
    snprintf(dir, sizeof dir, "%s/cluster", tu_tmpdir());
    if (ck_cluster_create(dir, &o, &err) < 0 || ck_cluster_open(dir, "test", &c, &err) < 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    ck_cluster_close(c);
    tu_rmtree(dir);
    return 0;
}

static void test_publisher_only(void **state)
{
    ck_err err = {0};
    assert_int_equal(ck_cluster_publisher_only(c, "pub", &err), CK_REFUSAL_NONE);
    assert_int_equal(ck_cluster_publisher_only(c, "sub", &err), CK_REFUSAL_SUBSCRIBER);
    assert_int_equal(ck_cluster_publisher_only(c, "nosuch", &err), CK_REFUSAL_NO_NODE);
    assert_true(err.msg[0] != '\0');
}

static void test_ctl_updatable_only_in_mixed_mode(void **state)
{
    ck_err err = {0};
    assert_int_equal(ck_cluster_ctl_updatable(c, "pub", &err), CK_REFUSAL_NONSECURE);
    assert_int_equal(ck_cluster_ctl_updatable(c, "sub", &err), CK_REFUSAL_SUBSCRIBER);
    assert_int_equal(ck_cluster_update_ctl(c, "pub", &err), -1);
    assert_int_equal(err.code, CK_ESTATE);
    assert_int_equal(ck_cluster_set_mixed_mode(c, "pub", &err), 0);
    assert_int_equal(ck_cluster_ctl_updatable(c, "pub", &err), CK_REFUSAL_NONE);
    assert_int_equal(ck_cluster_update_ctl(c, "pub", &err), 0);
}

/* One rule for both callers. The CLI used to refuse "a/b", ".." and ".x"
 * (and let "" and 200-character names through to the library, which
 * refused them after the confirmation prompt); the library refused all
 * of these. Every old input keeps its answer. */
static void test_tftp_name_rule(void **state)
{
    char longname[200];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    const char *bad[] = {"", ".", "..", ".hidden", "a/b", "/etc/passwd", "../x", longname};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ck_cluster_tftp_name(bad[i]), CK_REFUSAL_BAD_NAME);
    assert_int_equal(ck_cluster_tftp_name("CTLFile.tlv"), CK_REFUSAL_NONE);
    assert_int_equal(ck_cluster_tftp_name("a..b"), CK_REFUSAL_NONE);
    int found = 0, deleted = 0;
    ck_err err = {0};
    assert_int_equal(ck_cluster_delete_tftp_file(c, "pub", longname, &found, &deleted, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
}

static void test_copy_state(void **state)
{
    char md5[33], path[4400];
    /* Every node's ITL is its published one; the CTL (published by the
     * mixed-mode test before) is the cluster's on every node. */
    assert_int_equal(ck_cluster_copy_state(c, "sub", CK_ITL_NAME, md5), CK_COPY_OK);
    assert_int_equal(strlen(md5), 32);
    assert_int_equal(ck_cluster_copy_state(c, "sub", CK_CTL_NAME, md5), CK_COPY_OK);
    assert_int_equal(ck_cluster_copy_state(c, "sub", "nosuch.cnf.xml", md5), CK_COPY_ABSENT);
    assert_string_equal(md5, "");
    /* A hand-edited copy differs; a missing one is missing. */
    ck_cluster_node_path(c, "sub", "tftp", CK_ITL_NAME, path, sizeof path);
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputc('x', f);
    fclose(f);
    assert_int_equal(ck_cluster_copy_state(c, "sub", CK_ITL_NAME, NULL), CK_COPY_DIFFERS);
    remove(path);
    assert_int_equal(ck_cluster_copy_state(c, "sub", CK_ITL_NAME, md5), CK_COPY_MISSING);
    /* The same decision on bytes in hand. */
    ck_file_row row = {.data = (uint8_t *)"abc", .len = 3};
    assert_int_equal(ck_cluster_compare_copy((const uint8_t *)"abc", 3, &row), CK_COPY_OK);
    assert_int_equal(ck_cluster_compare_copy((const uint8_t *)"abd", 3, &row), CK_COPY_DIFFERS);
    assert_int_equal(ck_cluster_compare_copy((const uint8_t *)"ab", 2, &row), CK_COPY_DIFFERS);
    assert_int_equal(ck_cluster_compare_copy((const uint8_t *)"ab", 2, NULL), CK_COPY_UNPUBLISHED);
    assert_int_equal(ck_cluster_compare_copy(NULL, 0, NULL), CK_COPY_ABSENT);
    ck_materialize_report r;
    ck_err err = {0};
    assert_int_equal(ck_cluster_materialize_node(c, "sub", &r, &err), 0);
}

static void test_tftp_list_and_paths(void **state)
{
    char path[4400];
    ck_cluster_node_path(c, "pub", "tftp", "ITLFile.tlv.tmp.123", path, sizeof path);
    assert_int_equal(ck_write_file_atomic(path, (const uint8_t *)"x", 1, 0644, NULL), 0);
    ck_cluster_node_path(c, "pub", "tftp", "SEP001.cnf.xml", path, sizeof path);
    assert_int_equal(ck_write_file_atomic(path, (const uint8_t *)"xyz", 3, 0644, NULL), 0);
    ck_tftp_entry *v = NULL;
    size_t n = 0;
    ck_err err = {0};
    assert_int_equal(ck_cluster_tftp_list(c, "pub", &v, &n, &err), 0);
    assert_true(n >= 2);
    bool seen_xml = false;
    for (size_t i = 0; i < n; i++) {
        assert_null(strstr(v[i].name, ".tmp."));
        if (i)
            assert_true(strcmp(v[i - 1].name, v[i].name) < 0);
        if (strcmp(v[i].name, "SEP001.cnf.xml") == 0) {
            seen_xml = true;
            assert_int_equal(v[i].size, 3);
        }
    }
    assert_true(seen_xml);
    free(v);
    assert_int_equal(ck_cluster_tftp_list(c, "nosuch", &v, &n, &err), -1);
    char want[4400];
    ck_cluster_key_path(c, "pub", "TVS", path, sizeof path);
    snprintf(want, sizeof want, "%s/nodes/pub/keys/TVS.pem", dir);
    assert_string_equal(path, want);
    ck_cluster_pid_path(c, "pub", path, sizeof path);
    snprintf(want, sizeof want, "%s/nodes/pub/run/ctlkitd.pid", dir);
    assert_string_equal(path, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publisher_only),
        cmocka_unit_test(test_ctl_updatable_only_in_mixed_mode),
        cmocka_unit_test(test_tftp_name_rule),
        cmocka_unit_test(test_copy_state),
        cmocka_unit_test(test_tftp_list_and_paths),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
