/* Fidelity to the seed (/work/shared/seed, the Cisco technote), checked
 * against the seed's own printed numbers, never against lengths derived
 * from ctlkit's certificates: a cluster made as the technote's was
 * (cucm-1051-a-pub / cucm-1051-a-sub1, TAC/Cisco/Krakow/Malopolska/PL,
 * RSA-1024, SHA1withRSA) gives its 4947-byte tokenless CTL, and after
 * `set cert regen CallManager` (2048-bit, SHA256withRSA) and
 * `utils ctl update CTLFile` its 6113-byte one. The node certificates carry
 * the extensions CUCM's carry for their unit (docs/admin-guide.md,
 * "Certificate shapes"). */
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/cluster.h"
#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"
#include "testutil.h"

#define PUB "cucm-1051-a-pub"
#define SUB "cucm-1051-a-sub1"

typedef struct fixture {
    char root[256], dir[300];
    ck_cluster *c;
} fixture;

static int setup(void **state)
{
    fixture *x = calloc(1, sizeof *x);
    snprintf(x->root, sizeof x->root, "%s", tu_tmpdir());
    snprintf(x->dir, sizeof x->dir, "%s/cluster", x->root);
    ck_node_spec nodes[] = {{.name = PUB, .ip = "10.48.47.155"}, {.name = SUB, .ip = "10.48.47.156"}};
    ck_cluster_init_opts o = {.nodes = nodes, .n_nodes = 2, .ou = "TAC", .o = "Cisco", .l = "Krakow",
                              .st = "Malopolska", .c = "PL", .rsa_bits = 1024, .digest = "sha1", .who = "test"};
    ck_err err = {0};
    if (ck_cluster_create(x->dir, &o, &err) < 0 || ck_cluster_open(x->dir, "test", &x->c, &err) < 0)
        fail_msg("%s", err.msg);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    fixture *x = *state;
    ck_cluster_close(x->c);
    tu_rmtree(x->root);
    free(x);
    return 0;
}

/* The publisher's CTLFile.tlv as its TFTP folder holds it. */
static ck_tl_file *read_ctl(fixture *x, size_t *len)
{
    char path[4096];
    ck_cluster_node_path(x->c, PUB, "tftp", CK_CTL_NAME, path, sizeof path);
    uint8_t *raw = tu_read_file(path, len);
    ck_tl_file *f = NULL;
    ck_err err = {0};
    if (ck_tl_parse(raw, *len, &f, &err) < 0)
        fail_msg("%s", err.msg);
    free(raw);
    return f;
}

static X509 *unit_cert(fixture *x, const char *node, const char *unit)
{
    char path[4096], file[64];
    snprintf(file, sizeof file, "%s.pem", unit);
    ck_cluster_node_path(x->c, node, "keys", file, path, sizeof path);
    X509 *cert = NULL;
    ck_err err = {0};
    if (ck_load_pem(path, &cert, NULL, false, &err) < 0)
        fail_msg("%s", err.msg);
    return cert;
}

static void test_tokenless_ctl_is_the_seeds(void **state)
{
    fixture *x = *state;
    ck_err err = {0};
    assert_int_equal(ck_cluster_set_mixed_mode(x->c, PUB, &err), 0);
    size_t len = 0;
    ck_tl_file *f = read_ctl(x, &len);
    /* show ctl: "Length of CTL file: 4947", HeaderLength 336, records
     * 1156 / 1156 / 1138 / 1161 with certificates of 694 / 694 / 680 / 696. */
    assert_int_equal(len, 4947);
    assert_int_equal(f->header_len, 336);
    assert_int_equal(f->n_records, 4);
    static const size_t rec[] = {1156, 1156, 1138, 1161}, cert[] = {694, 694, 680, 696};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(f->records[i].length, rec[i]);
        assert_int_equal(f->records[i].cert.n, cert[i]);
        assert_int_equal(f->records[i].serial.n, 16);
        assert_int_equal(f->records[i].pubkey.n, 140);
        assert_int_equal(f->records[i].cert_signature.n, 128);
    }
    /* SUBJECTNAME 60 and 63: the name and its NUL. */
    assert_int_equal(f->records[2].subject.n + 1, 60); /* CN=CAPF-xxxxxxxx;... */
    assert_int_equal(f->records[3].subject.n + 1, 63);
    ck_tl_free(f);
}

static void test_regenerated_ctl_is_the_seeds(void **state)
{
    fixture *x = *state;
    char warning[2048];
    ck_err err = {0};
    assert_int_equal(ck_cluster_regen_cert(x->c, PUB, "CallManager", NULL, warning, sizeof warning, &err), 0);
    assert_int_equal(ck_cluster_update_ctl(x->c, PUB, &err), 0);
    size_t len = 0;
    ck_tl_file *f = read_ctl(x, &len);
    /* show ctl after the regeneration: 6113 bytes, the publisher's two
     * records 1675 with a 955-byte certificate, PUBLICKEY 270, SIGNATURE 256;
     * the CAPF and subscriber records unchanged. */
    assert_int_equal(len, 6113);
    assert_int_equal(f->n_records, 4);
    static const size_t rec[] = {1675, 1675, 1138, 1161}, cert[] = {955, 955, 680, 696};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(f->records[i].length, rec[i]);
        assert_int_equal(f->records[i].cert.n, cert[i]);
    }
    assert_int_equal(f->records[0].pubkey.n, 270);
    assert_int_equal(f->records[0].cert_signature.n, 256);
    ck_tl_free(f);
    /* The seed's regenerated certificate is SHA256withRSA. */
    X509 *c = unit_cert(x, PUB, "CallManager");
    assert_string_equal(ck_cert_sigalg_name(c), "SHA256withRSA");
    X509_free(c);
}

/* Which of serverAuth, clientAuth, ipsecEndSystem the certificate's EKU
 * lists, as bits 1, 2, 4; -1 when it has no EKU. */
static int eku_bits(X509 *cert)
{
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(cert, NID_ext_key_usage, NULL, NULL);
    if (!eku)
        return -1;
    int bits = 0;
    for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
        int nid = OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, i));
        bits |= nid == NID_server_auth ? 1 : nid == NID_client_auth ? 2 : nid == NID_ipsecEndSystem ? 4 : 8;
    }
    EXTENDED_KEY_USAGE_free(eku);
    return bits;
}

static void test_unit_shapes(void **state)
{
    fixture *x = *state;
    static const struct {
        const char *node, *unit;
        int eku;
    } units[] = {
        {PUB, "CallManager", 7}, {SUB, "CallManager", 7}, {PUB, "ITLRecovery", 7},
        {PUB, "TVS", 3},         {SUB, "TVS", 3},         {PUB, "CAPF", 3},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        X509 *c = unit_cert(x, units[i].node, units[i].unit);
        /* "Extensions: 3 present": key usage, extended key usage, SKI. */
        assert_int_equal(X509_get_ext_count(c), 3);
        assert_true(X509_get_ext_by_NID(c, NID_key_usage, -1) >= 0);
        assert_true(X509_get_ext_by_NID(c, NID_subject_key_identifier, -1) >= 0);
        if (eku_bits(c) != units[i].eku)
            fail_msg("%s %s: EKU bits %d, want %d", units[i].node, units[i].unit, eku_bits(c), units[i].eku);
        /* The seed's originals: SHA1withRSA, 16-byte serial, valid from
         * Thu Jun 05 18:31:39 2014 to Tue Jun 04 18:31:38 2019. */
        assert_string_equal(ck_cert_sigalg_name(c), "SHA1withRSA");
        uint8_t serial[20];
        assert_int_equal(ck_cert_serial(c, serial, sizeof serial), 16);
        int days = 0, secs = 0;
        assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(c), X509_get0_notAfter(c)), 1);
        assert_int_equal(days, 1824);
        assert_int_equal(secs, 86399);
        X509_free(c);
    }
}

static void test_digest_refused(void **state)
{
    fixture *x = *state;
    char warning[512];
    ck_err err = {0};
    assert_int_equal(ck_cluster_regen_cert(x->c, PUB, "TVS", "md5", warning, sizeof warning, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
    assert_non_null(strstr(err.msg, "sha1 (SHA1withRSA) or sha256"));
    assert_null(ck_cluster_digest_problem(NULL));
    assert_null(ck_cluster_digest_problem("sha1"));
    assert_non_null(ck_cluster_digest_problem("sha512"));
}

int main(void)
{
    /* In order: the regeneration follows the first CTL, as in the seed. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unit_shapes),
        cmocka_unit_test(test_tokenless_ctl_is_the_seeds),
        cmocka_unit_test(test_regenerated_ctl_is_the_seeds),
        cmocka_unit_test(test_digest_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
