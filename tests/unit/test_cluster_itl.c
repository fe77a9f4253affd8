/* The ITL size a cluster's nodes get, measured before init creates
 * anything: CUCM's largest cluster (a publisher and 20 subscribers) fits
 * with 2048-bit keys, with the names CUCM's own technote uses. */
#include <stdio.h>
#include <string.h>

#include "ctlkit/cluster.h"
#include "testutil.h"

static void fill(ck_node_spec *nodes, char names[][40], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof names[i], i == 0 ? "cucm-1051-a-pub" : "cucm-1051-a-sub%02zu", i);
        nodes[i] = (ck_node_spec){.name = names[i], .ip = "10.48.47.1"};
    }
}

static void test_21_nodes_2048_fit(void **state)
{
    (void)state;
    ck_node_spec nodes[21];
    char names[21][40];
    fill(nodes, names, 21);
    ck_cluster_init_opts o = {.nodes = nodes, .n_nodes = 21, .ou = "TAC", .o = "Cisco", .l = "Krakow",
                              .st = "Malopolska", .c = "PL", .rsa_bits = 2048};
    size_t len = 0;
    ck_err err = {0};
    assert_int_equal(ck_cluster_itl_size(&o, &len, &err), 0);
    /* Before: every node's CallManager too, about 70 KB. */
    assert_true(len > 30000 && len <= 65535);
}

static void test_too_large_is_named(void **state)
{
    (void)state;
    ck_node_spec nodes[32];
    char names[32][40];
    fill(nodes, names, 32);
    ck_cluster_init_opts o = {.nodes = nodes, .n_nodes = 32, .o = "Cisco", .rsa_bits = 4096};
    size_t len = 0;
    ck_err err = {0};
    assert_int_equal(ck_cluster_itl_size(&o, &len, &err), -1);
    assert_int_equal(err.code, CK_ELIMIT);
    assert_non_null(strstr(err.msg, "32 nodes with 4096-bit keys: the ITL would be larger than"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_21_nodes_2048_fit),
        cmocka_unit_test(test_too_large_is_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
