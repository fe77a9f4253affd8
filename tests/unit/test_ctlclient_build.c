/* The eToken CTL as CUCM's CTL Client writes it, checked against the seed's
 * own numbers (/work/shared/seed, the 5728-byte CTL): HeaderLength 304,
 * two Security Token records of 1186 bytes (empty DNSNAME, 10-byte serial,
 * no SIGNATURE element, the CTL Client's name style), three server records
 * with the server's IP address as DNSNAME and no SIGNATURE element, the
 * token that did not sign first and the signing token last. The cluster is
 * the seed's (RSA-1024, SHA1withRSA: certificates of 680 / 694 / 696
 * bytes), the tokens are shaped like the seed's eTokens (1024-bit key,
 * 902-byte certificate). */
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlclient.h"
#include "ctlkit/cluster.h"
#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"
#include "testutil.h"

#define PUB "cucm-1051-a-pub"
#define SUB "cucm-1051-a-sub1"

static EVP_PKEY *rsa_key(int bits)
{
    EVP_PKEY *k = EVP_RSA_gen((unsigned)bits);
    assert_non_null(k);
    return k;
}

/* A test eToken certificate: subject CN=<label + padding>,OU=IPCBU,
 * O=Cisco Systems, issuer CN=Cisco Manufacturing CA,O=Cisco Systems, a
 * 10-byte serial, grown to exactly 902 bytes with a comment extension. The
 * seed's SUBJECTNAME is 56 bytes; with the CTL Client's quoting that is a
 * 23-character CN (the label and its trailing spaces). */
static X509 *etoken_cert(const char *label, const uint8_t serial[10], EVP_PKEY *key, EVP_PKEY *ca_key)
{
    char cn[32];
    snprintf(cn, sizeof cn, "%-23s", label);
    for (size_t pad = 0; pad < 400; pad++) {
        X509 *x = X509_new();
        X509_set_version(x, 2);
        BIGNUM *bn = BN_bin2bn(serial, 10, NULL);
        BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
        BN_free(bn);
        X509_NAME *s = X509_get_subject_name(x), *i = X509_get_issuer_name(x);
        X509_NAME_add_entry_by_txt(s, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
        X509_NAME_add_entry_by_txt(s, "OU", MBSTRING_ASC, (const unsigned char *)"IPCBU", -1, -1, 0);
        X509_NAME_add_entry_by_txt(s, "O", MBSTRING_ASC, (const unsigned char *)"Cisco Systems", -1, -1, 0);
        X509_NAME_add_entry_by_txt(i, "CN", MBSTRING_ASC, (const unsigned char *)"Cisco Manufacturing CA", -1, -1, 0);
        X509_NAME_add_entry_by_txt(i, "O", MBSTRING_ASC, (const unsigned char *)"Cisco Systems", -1, -1, 0);
        X509_gmtime_adj(X509_getm_notBefore(x), 0);
        X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 3650);
        X509_set_pubkey(x, key);
        char comment[420];
        memset(comment, 'x', pad);
        comment[pad] = '\0';
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_netscape_comment, pad ? comment : "x");
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
        assert_true(X509_sign(x, ca_key, EVP_sha1()) > 0);
        int n = i2d_X509(x, NULL);
        if (n == 902)
            return x;
        X509_free(x);
        if (n > 902)
            break;
    }
    fail_msg("could not shape a 902-byte certificate");
    return NULL;
}

static X509 *unit_cert(ck_cluster *c, const char *node, const char *unit)
{
    char path[4096], file[64];
    snprintf(file, sizeof file, "%s.pem", unit);
    ck_cluster_node_path(c, node, "keys", file, path, sizeof path);
    X509 *cert = NULL;
    ck_err err = {0};
    if (ck_load_pem(path, &cert, NULL, false, &err) < 0)
        fail_msg("%s", err.msg);
    return cert;
}

static ck_span der_span(X509 *x)
{
    uint8_t *der = NULL;
    size_t n = 0;
    assert_int_equal(ck_cert_to_der(x, &der, &n, NULL), 0);
    return (ck_span){der, n};
}

static void test_etoken_ctl_is_the_seeds(void **state)
{
    (void)state;
    char root[256], dir[300];
    snprintf(root, sizeof root, "%s", tu_tmpdir());
    snprintf(dir, sizeof dir, "%s/cluster", root);
    ck_node_spec nodes[] = {{.name = PUB, .ip = "10.48.47.155"}, {.name = SUB, .ip = "10.48.47.156"}};
    ck_cluster_init_opts o = {.nodes = nodes, .n_nodes = 2, .ou = "TAC", .o = "Cisco", .l = "Krakow",
                              .st = "Malopolska", .c = "PL", .rsa_bits = 1024, .digest = "sha1", .who = "test"};
    ck_err err = {0};
    ck_cluster *c = NULL;
    if (ck_cluster_create(dir, &o, &err) < 0 || ck_cluster_open(dir, "test", &c, &err) < 0)
        fail_msg("%s", err.msg);
    X509 *capf = unit_cert(c, PUB, "CAPF"), *ccm_pub = unit_cert(c, PUB, "CallManager"),
         *ccm_sub = unit_cert(c, SUB, "CallManager");

    /* GET_CLUSTER's view, as the CTL Provider sends it. */
    ck_pv_node pv[2] = {{.name = PUB, .ip = "10.48.47.155", .publisher = true},
                        {.name = SUB, .ip = "10.48.47.156"}};
    pv[0].ccm_cert = der_span(ccm_pub);
    pv[0].capf_cert = der_span(capf);
    pv[1].ccm_cert = der_span(ccm_sub);
    ck_pv_msg view = {.nodes = pv, .n_nodes = 2};

    EVP_PKEY *ca_key = rsa_key(2048), *k1 = rsa_key(1024), *k2 = rsa_key(1024);
    static const uint8_t s1[10] = {0x83, 0xE9, 0x08, 0x00, 0x00, 0x00, 0x55, 0x45, 0xAF, 0x31};
    static const uint8_t s2[10] = {0x3C, 0xF9, 0x27, 0x00, 0x00, 0x00, 0xAF, 0xA2, 0xDA, 0x45};
    /* tokens[0] is the one logged in: it signs. */
    cc_sast tokens[2] = {{.cert = etoken_cert("SAST-ADN008580ef", s1, k1, ca_key)},
                         {.cert = etoken_cert("SAST-ADN0054f509", s2, k2, ca_key)}};
    ck_tl_signer signer;
    ck_tl_signer_key(&signer, tokens[0].cert, k1);
    uint8_t *ctl = NULL;
    size_t len = 0;
    cc_entries en = {.tokens = tokens, .n_tokens = 2};
    if (cc_build_ctl(&view, &en, &signer, &ctl, &len, &err) < 0)
        fail_msg("%s", err.msg);

    ck_tl_file *f = NULL;
    if (ck_tl_parse(ctl, len, &f, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(ck_tl_verify(f, &err), 0);
    /* show ctl: "Length of CTL file: 5728", HeaderLength 304. */
    assert_int_equal(len, 5728);
    assert_int_equal(f->header_len, 304);
    assert_int_equal(f->signer_name.n + 1, 56);
    assert_int_equal(f->signer_issuer.n + 1, 42);
    assert_int_equal(f->n_records, 5);
    /* 304 + 2 x 1186 + CAPF, CCM+TFTP pub, CCM+TFTP sub1 (the tokenless
     * 1138 / 1156 / 1161, less the SIGNATURE element, with the IP address
     * for the host name). */
    static const size_t rec[] = {1186, 1004, 1022, 1026, 1186};
    static const unsigned role[] = {CK_ROLE_SAST, CK_ROLE_CAPF, CK_ROLE_CCM_TFTP, CK_ROLE_CCM_TFTP, CK_ROLE_SAST};
    for (size_t i = 0; i < 5; i++) {
        const ck_tl_record *r = &f->records[i];
        assert_int_equal(r->length, rec[i]);
        assert_int_equal(r->function, role[i]);
        assert_null(r->cert_signature.p);
    }
    for (size_t i = 0; i < 5; i += 4) {
        const ck_tl_record *r = &f->records[i];
        assert_int_equal(r->dns_name.n, 0); /* DNSNAME 1: the NUL alone */
        assert_int_equal(r->subject.n + 1, 56);
        assert_int_equal(r->issuer.n + 1, 42);
        assert_memory_equal(r->issuer.p, "cn=Cisco Manufacturing CA;o=Cisco Systems", 41);
        assert_memory_equal(r->subject.p, "cn=\"SAST-ADN", 12);
        assert_memory_equal(r->subject.p + r->subject.n - 28, "\";ou=IPCBU;o=\"Cisco Systems\"", 28);
        assert_int_equal(r->serial.n, 10);
        assert_int_equal(r->pubkey.n, 140);
        assert_int_equal(r->cert.n, 902);
    }
    /* Record 1 is the token that did not sign; the signer is last. */
    assert_memory_equal(f->records[0].serial.p, s2, 10);
    assert_memory_equal(f->records[4].serial.p, s1, 10);
    assert_int_equal(f->signer_index, 4);
    assert_int_equal(f->records[1].dns_name.n, strlen("10.48.47.155"));
    assert_memory_equal(f->records[1].dns_name.p, "10.48.47.155", 12);
    assert_memory_equal(f->records[3].dns_name.p, "10.48.47.156", 12);

    ck_tl_free(f);
    free(ctl);

    /* The CTL Entries screen in the seed's order (steps 16 and 18): CAPF,
     * the subscriber's CCM+TFTP before the publisher's, then the tokens
     * in the order inserted. */
    char *screen = NULL;
    size_t screen_len = 0;
    FILE *mem = open_memstream(&screen, &screen_len);
    assert_non_null(mem);
    cc_show_entries(mem, &view, &en);
    fclose(mem);
    const char *order[] = {"CAPF ", "10.48.47.155", "CCM+TFTP ", "10.48.47.156", "CCM+TFTP ", "10.48.47.155",
                           "Security Token", "SAST-ADN008580ef", "Security Token", "SAST-ADN0054f509"};
    const char *at = screen;
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const char *hit = strstr(at, order[i]);
        if (!hit)
            fail_msg("CTL Entries: '%s' missing or out of the seed's order in:\n%s", order[i], screen);
        at = hit + strlen(order[i]);
    }
    free(screen);

    /* Add TFTP and Add Firewall: a TFTP record and a CCM+TFTP record
     * with the address as DNSNAME, before the signing token. */
    cc_extra extra[2] = {{.kind = CC_EXTRA_TFTP, .ip = "10.48.47.160", .cert = ccm_sub},
                         {.kind = CC_EXTRA_FIREWALL, .ip = "10.48.47.1", .cert = capf}};
    en.extras = extra;
    en.n_extras = 2;
    ctl = NULL;
    if (cc_build_ctl(&view, &en, &signer, &ctl, &len, &err) < 0 || ck_tl_parse(ctl, len, &f, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(f->n_records, 7);
    assert_int_equal(f->records[4].function, CK_ROLE_TFTP);
    assert_memory_equal(f->records[4].dns_name.p, "10.48.47.160", 12);
    assert_int_equal(f->records[5].function, CK_ROLE_CCM_TFTP);
    assert_memory_equal(f->records[5].dns_name.p, "10.48.47.1", 10);
    assert_int_equal(f->signer_index, 6);
    assert_int_equal(ck_tl_verify(f, &err), 0);
    ck_tl_free(f);
    free(ctl);

    for (size_t i = 0; i < 2; i++) {
        free((void *)pv[i].ccm_cert.p);
        X509_free(tokens[i].cert);
    }
    free((void *)pv[0].capf_cert.p);
    X509_free(capf);
    X509_free(ccm_pub);
    X509_free(ccm_sub);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
    ck_cluster_close(c);
    tu_rmtree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_etoken_ctl_is_the_seeds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
