/* Unit tests of the CTL Provider: the wire codec (round trips and strict
 * parsing negatives, truncation and byte flips) and its decisions on a
 * real cluster in a temporary folder (users file, CTL checks, publishing,
 * the request handler). Token certificates here are made in software and
 * issued by a test CA, as an eToken's are; tests/unit/test_token.c covers
 * signing on a PKCS#11 token. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctlkit/cluster.h"
#include "ctlkit/fileio.h"
#include "ctlkit/provider.h"
#include "ctlkit/provider_ops.h"
#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"

/* ---------- codec ---------- */

static uint8_t *build(const ck_pv_msg *m, size_t *len)
{
    uint8_t *out = NULL;
    ck_err err = {0};
    if (ck_pv_build(m, &out, len, &err) < 0)
        fail_msg("build: %s", err.msg);
    return out;
}

static void expect_bad(const uint8_t *p, size_t n, const char *needle)
{
    ck_pv_msg m;
    ck_err err = {0};
    assert_int_equal(ck_pv_parse(p, n, &m, &err), -1);
    if (needle && !strstr(err.msg, needle))
        fail_msg("error '%s' lacks '%s'", err.msg, needle);
}

/* A frame from raw body bytes. */
static size_t frame(uint8_t *out, uint8_t type, const uint8_t *body, size_t n)
{
    memcpy(out, "CTLP\x01", 5);
    out[5] = type;
    out[6] = out[7] = 0;
    out[8] = (uint8_t)(n >> 24), out[9] = (uint8_t)(n >> 16), out[10] = (uint8_t)(n >> 8), out[11] = (uint8_t)n;
    if (n)
        memcpy(out + 12, body, n); /* body may be NULL for an empty frame */
    return 12 + n;
}

static size_t elem(uint8_t *out, uint8_t tag, const void *v, size_t n)
{
    out[0] = tag;
    out[1] = (uint8_t)(n >> 24), out[2] = (uint8_t)(n >> 16), out[3] = (uint8_t)(n >> 8), out[4] = (uint8_t)n;
    if (n)
        memcpy(out + 5, v, n);
    return 5 + n;
}

static void test_roundtrip(void **state)
{
    ck_pv_msg m = {.type = CK_PV_LOGIN};
    strcpy(m.user, "admin");
    strcpy(m.password, "s3cret:pass word");
    size_t n = 0;
    uint8_t *f = build(&m, &n);
    ck_pv_msg p;
    ck_err err = {0};
    assert_int_equal(ck_pv_parse(f, n, &p, &err), 0);
    assert_string_equal(p.user, "admin");
    assert_string_equal(p.password, "s3cret:pass word");
    ck_pv_msg_clear(&p);
    assert_int_equal(p.password[0], 0);
    free(f);

    static const uint8_t ctl[] = {1, 2, 3, 4};
    ck_pv_msg s = {.type = CK_PV_SUBMIT_CTL, .action = CK_PV_ACTION_UPDATE, .ctl = {ctl, 4}};
    f = build(&s, &n);
    assert_int_equal(ck_pv_parse(f, n, &p, &err), 0);
    assert_int_equal(p.action, CK_PV_ACTION_UPDATE);
    assert_memory_equal(p.ctl.p, ctl, 4);
    ck_pv_msg_clear(&p);
    free(f);

    static const uint8_t der[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    ck_pv_msg r = {.type = CK_PV_RESPONSE | CK_PV_GET_CLUSTER, .status = CK_PV_OK, .has_mode = true, .mode = 1};
    ck_pv_node nd = {.publisher = true, .ccm_cert = {der, 5}, .capf_cert = {der, 5}};
    strcpy(nd.name, "cucm-1051-a-pub");
    strcpy(nd.ip, "10.48.47.155");
    assert_int_equal(ck_pv_add_node(&r, &nd, &err), 0);
    strcpy(nd.name, "cucm-1051-a-sub1");
    strcpy(nd.ip, "10.48.47.156");
    nd.publisher = false;
    nd.capf_cert = (ck_span){0};
    assert_int_equal(ck_pv_add_node(&r, &nd, &err), 0);
    f = build(&r, &n);
    assert_int_equal(ck_pv_parse(f, n, &p, &err), 0);
    assert_int_equal(p.n_nodes, 2);
    assert_true(p.has_mode);
    assert_int_equal(p.mode, 1);
    assert_null(p.ctl.p);
    assert_string_equal(p.nodes[1].name, "cucm-1051-a-sub1");
    assert_true(p.nodes[0].publisher);
    assert_non_null(p.nodes[0].capf_cert.p);
    assert_null(p.nodes[1].capf_cert.p);
    ck_pv_msg_clear(&p);
    ck_pv_msg_clear(&r);
    free(f);

    ck_pv_msg q = {.type = CK_PV_RESPONSE | CK_PV_SUBMIT_CTL, .status = CK_PV_OK};
    strcpy(q.message, "CTL file written to 1 of 1 server(s)");
    ck_pv_result res = {.passed = true};
    strcpy(res.name, "cucm-1051-a-pub");
    strcpy(res.location, "/usr/local/cm/tftp/CTLFile.tlv");
    assert_int_equal(ck_pv_add_result(&q, &res, &err), 0);
    f = build(&q, &n);
    assert_int_equal(ck_pv_parse(f, n, &p, &err), 0);
    assert_int_equal(p.n_results, 1);
    assert_true(p.results[0].passed);
    assert_string_equal(p.results[0].location, "/usr/local/cm/tftp/CTLFile.tlv");
    assert_string_equal(p.message, "CTL file written to 1 of 1 server(s)");
    ck_pv_msg_clear(&p);
    ck_pv_msg_clear(&q);
    free(f);
}

static void test_header_negatives(void **state)
{
    uint8_t f[64];
    size_t n = frame(f, CK_PV_GET_CLUSTER, NULL, 0);
    uint8_t t;
    uint32_t body;
    ck_err err = {0};
    assert_int_equal(ck_pv_header(f, n, &t, &body, &err), 0);
    assert_int_equal(ck_pv_header(f, 11, &t, &body, &err), -1);
    f[0] = 'X';
    expect_bad(f, n, "bad magic");
    f[0] = 'C';
    f[4] = 2;
    expect_bad(f, n, "version 2");
    f[4] = 1;
    f[5] = 9;
    expect_bad(f, n, "unknown CTL Provider message type 9");
    f[5] = CK_PV_GET_CLUSTER;
    f[7] = 1;
    expect_bad(f, n, "reserved");
    f[7] = 0;
    /* A body length past the cap is refused from the header alone. */
    f[8] = 0x7f;
    assert_int_equal(ck_pv_header(f, 12, &t, &body, &err), -1);
    assert_int_equal(err.code, CK_ELIMIT);
    f[8] = 0;
    f[11] = 3; /* says 3 body bytes, holds 0 */
    expect_bad(f, n, "header says 3 body bytes");
    f[11] = 0;
    /* GET_CLUSTER carries nothing. */
    uint8_t b[32];
    size_t bn = elem(b, CK_PV_T_USER, "x", 1);
    n = frame(f, CK_PV_GET_CLUSTER, b, bn);
    expect_bad(f, n, "element tag 1 (USER) is not allowed here");
}

static void test_body_negatives(void **state)
{
    uint8_t b[1024], f[1100];
    size_t bn, n;
    char big[300];
    memset(big, 'a', sizeof big);

    bn = elem(b, CK_PV_T_USER, "admin", 5);
    n = frame(f, CK_PV_LOGIN, b, bn);
    expect_bad(f, n, "has no PASSWORD");

    bn = elem(b, CK_PV_T_USER, "admin", 5);
    bn += elem(b + bn, CK_PV_T_USER, "admin", 5);
    bn += elem(b + bn, CK_PV_T_PASSWORD, "pw", 2);
    n = frame(f, CK_PV_LOGIN, b, bn);
    expect_bad(f, n, "USER appears twice");

    /* LOGIN frames with one bad USER or PASSWORD each. */
    const struct {
        const char *user;
        size_t user_len;
        const char *password;
        size_t password_len;
        const char *want;
    } logins[] = {
        {"", 0, "pw", 2, "USER is empty"},
        {big, 65, "pw", 2, "USER is 65 bytes, at most 64"},
        {"ad\nmin", 6, "pw", 2, "control character"},
        {"ad\xc2\x9b" "2Jmin", 9, "pw", 2, "USER holds a control character at byte 2"},
        {"admin", 5, "p\0w", 3, "PASSWORD holds a control character"},
        {"admin", 5, big, 257, "PASSWORD is 257 bytes"},
    };
    for (size_t i = 0; i < sizeof logins / sizeof logins[0]; i++) {
        bn = elem(b, CK_PV_T_USER, logins[i].user, logins[i].user_len);
        bn += elem(b + bn, CK_PV_T_PASSWORD, logins[i].password, logins[i].password_len);
        n = frame(f, CK_PV_LOGIN, b, bn);
        expect_bad(f, n, logins[i].want);
    }

    /* An element whose length runs past the body. */
    bn = elem(b, CK_PV_T_USER, "admin", 5);
    b[4] = 50;
    n = frame(f, CK_PV_LOGIN, b, bn);
    expect_bad(f, n, "only 5 remain");

    /* A cut element header. */
    b[0] = CK_PV_T_USER;
    b[1] = 0;
    n = frame(f, CK_PV_LOGIN, b, 2);
    expect_bad(f, n, "cut short");

    bn = elem(b, CK_PV_T_ACTION, "\x04", 1);
    bn += elem(b + bn, CK_PV_T_CTL, "x", 1);
    n = frame(f, CK_PV_SUBMIT_CTL, b, bn);
    expect_bad(f, n, "ACTION is 4, must be 1 to 3");

    bn = elem(b, CK_PV_T_ACTION, "\x01\x01", 2);
    bn += elem(b + bn, CK_PV_T_CTL, "x", 1);
    n = frame(f, CK_PV_SUBMIT_CTL, b, bn);
    expect_bad(f, n, "ACTION must be 1 byte");

    bn = elem(b, CK_PV_T_ACTION, "\x01", 1);
    n = frame(f, CK_PV_SUBMIT_CTL, b, bn);
    expect_bad(f, n, "has no CTL");

    bn = elem(b, CK_PV_T_ACTION, "\x01", 1);
    bn += elem(b + bn, CK_PV_T_CTL, "", 0);
    n = frame(f, CK_PV_SUBMIT_CTL, b, bn);
    expect_bad(f, n, "CTL is 0 bytes");

    bn = elem(b, 99, "x", 1);
    n = frame(f, CK_PV_SUBMIT_CTL, b, bn);
    expect_bad(f, n, "element tag 99 (unknown)");

    /* A node without its certificate, and one with a bad address. */
    uint8_t nb[256];
    size_t nn = elem(nb, CK_PV_T_NAME, "pub", 3);
    nn += elem(nb + nn, CK_PV_T_IP, "127.0.0.1", 9);
    nn += elem(nb + nn, CK_PV_T_PUBLISHER, "\x01", 1);
    bn = elem(b, CK_PV_T_STATUS, "\x00", 1);
    bn += elem(b + bn, CK_PV_T_MESSAGE, "", 0);
    bn += elem(b + bn, CK_PV_T_MODE, "\x01", 1);
    bn += elem(b + bn, CK_PV_T_NODE, nb, nn);
    n = frame(f, CK_PV_RESPONSE | CK_PV_GET_CLUSTER, b, bn);
    expect_bad(f, n, "NODE has no CCM_CERT");

    nn = elem(nb, CK_PV_T_NAME, "pub", 3);
    nn += elem(nb + nn, CK_PV_T_IP, "127.0.0.300", 11);
    bn = elem(b, CK_PV_T_STATUS, "\x00", 1);
    bn += elem(b + bn, CK_PV_T_MESSAGE, "", 0);
    bn += elem(b + bn, CK_PV_T_NODE, nb, nn);
    n = frame(f, CK_PV_RESPONSE | CK_PV_GET_CLUSTER, b, bn);
    expect_bad(f, n, "not a dotted IPv4 address");

    /* An OK cluster view must hold the mode and the nodes. */
    bn = elem(b, CK_PV_T_STATUS, "\x00", 1);
    bn += elem(b + bn, CK_PV_T_MESSAGE, "", 0);
    n = frame(f, CK_PV_RESPONSE | CK_PV_GET_CLUSTER, b, bn);
    expect_bad(f, n, "the cluster view has no MODE");

    /* A NODE in a SUBMIT response is out of place. */
    nn = elem(nb, CK_PV_T_NAME, "pub", 3);
    bn = elem(b, CK_PV_T_STATUS, "\x00", 1);
    bn += elem(b + bn, CK_PV_T_MESSAGE, "", 0);
    bn += elem(b + bn, CK_PV_T_NODE, nb, nn);
    n = frame(f, CK_PV_RESPONSE | CK_PV_SUBMIT_CTL, b, bn);
    expect_bad(f, n, "NODE) is not allowed here");
}

static void test_too_many_nodes(void **state)
{
    static const uint8_t der[] = {0x30, 0x00};
    ck_pv_msg r = {.type = CK_PV_RESPONSE | CK_PV_GET_CLUSTER, .has_mode = true};
    ck_pv_node nd = {.ccm_cert = {der, 2}};
    strcpy(nd.ip, "127.0.0.1");
    ck_err err = {0};
    for (int i = 0; i < CK_PV_MAX_NODES; i++) {
        snprintf(nd.name, sizeof nd.name, "n%d", i);
        assert_int_equal(ck_pv_add_node(&r, &nd, &err), 0);
    }
    assert_int_equal(ck_pv_add_node(&r, &nd, &err), -1);
    assert_int_equal(err.code, CK_ELIMIT);
    /* Build one node more by hand: the parser refuses it. */
    size_t n = 0;
    uint8_t *f = build(&r, &n);
    uint8_t *g = malloc(n + 64);
    memcpy(g, f, n);
    uint8_t nb[64];
    size_t nn = elem(nb, CK_PV_T_NAME, "x", 1);
    nn += elem(nb + nn, CK_PV_T_IP, "127.0.0.1", 9);
    nn += elem(nb + nn, CK_PV_T_PUBLISHER, "\x00", 1);
    nn += elem(nb + nn, CK_PV_T_CCM_CERT, der, 2);
    size_t extra = elem(g + n, CK_PV_T_NODE, nb, nn);
    uint32_t body = (uint32_t)(n + extra - 12);
    g[8] = (uint8_t)(body >> 24), g[9] = (uint8_t)(body >> 16), g[10] = (uint8_t)(body >> 8), g[11] = (uint8_t)body;
    ck_pv_msg p;
    assert_int_equal(ck_pv_parse(g, n + extra, &p, &err), -1);
    assert_int_equal(err.code, CK_ELIMIT);
    free(f);
    free(g);
    ck_pv_msg_clear(&r);
}

static void test_truncation_and_flips(void **state)
{
    static const uint8_t der[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    ck_pv_msg r = {.type = CK_PV_RESPONSE | CK_PV_GET_CLUSTER, .has_mode = true, .mode = 1, .ctl = {der, 5}};
    ck_pv_node nd = {.publisher = true, .ccm_cert = {der, 5}, .capf_cert = {der, 5}};
    strcpy(nd.name, "pub");
    strcpy(nd.ip, "127.0.0.1");
    ck_err err = {0};
    assert_int_equal(ck_pv_add_node(&r, &nd, &err), 0);
    size_t n = 0;
    uint8_t *f = build(&r, &n);
    ck_pv_msg p;
    for (size_t cut = 0; cut < n; cut++)
        assert_int_equal(ck_pv_parse(f, cut, &p, &err), -1);
    /* Flipped bytes either parse or fail cleanly (ASan watches). */
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit++) {
            f[i] ^= (uint8_t)(1 << bit);
            if (ck_pv_parse(f, n, &p, &err) == 0)
                ck_pv_msg_clear(&p);
            f[i] ^= (uint8_t)(1 << bit);
        }
    free(f);
    ck_pv_msg_clear(&r);
}

/* ---------- decisions, on a real cluster ---------- */

static tu_cluster *tc; /* the shared fixture (testutil.h) */
static const char *dir;
static ck_cluster *cl;
static X509 *ca, *tok1, *tok2, *selfsigned;
static EVP_PKEY *ca_key, *tok1_key, *tok2_key, *self_key;
/* Counterfeit tokens: a home-made CA that calls itself Cisco Manufacturing
 * CA, and two tokens from it shaped like the real ones. */
static X509 *fake_ca, *fake1, *fake2;
static EVP_PKEY *fake_ca_key, *fake1_key, *fake2_key;

#define PUB TU_PUB
#define SUB TU_SUB

static int setup_cluster(void **state)
{
    if (!(tc = tu_cluster_new(2, true)))
        return -1;
    dir = tc->dir;
    cl = tc->c;
    ck_err err = {0};
    ck_cert_params cap = {.cn = "Cisco Manufacturing CA", .o = "Cisco Systems", .rsa_bits = 1024};
    if (ck_cert_generate(&cap, &ca, &ca_key, &err) < 0)
        return -1;
    static const uint8_t s1[] = {0x83, 0xE9, 0x08, 0, 0, 0, 0x55, 0x45, 0xAF, 0x31};
    static const uint8_t s2[] = {0x3C, 0xF9, 0x27, 0, 0, 0, 0xAF, 0xA2, 0xDA, 0x45};
    ck_cert_params t1 = {.cn = "SAST-ADN008580ef ", .ou = "IPCBU", .o = "Cisco Systems", .rsa_bits = 1024,
                         .serial = s1, .serial_len = 10, .issuer_cert = ca, .issuer_key = ca_key,
                         .key_usage = "digitalSignature,keyEncipherment", .ext_key_usage = "clientAuth"};
    ck_cert_params t2 = t1;
    t2.cn = "SAST-ADN0054f509 ";
    t2.serial = s2;
    ck_cert_params ss = {.cn = "SAST-selfmade", .ou = "IPCBU", .o = "Cisco Systems", .rsa_bits = 1024};
    if (ck_cert_generate(&t1, &tok1, &tok1_key, &err) < 0 || ck_cert_generate(&t2, &tok2, &tok2_key, &err) < 0 ||
        ck_cert_generate(&ss, &selfsigned, &self_key, &err) < 0) {
        fprintf(stderr, "certs: %s\n", err.msg);
        return -1;
    }
    if (ck_cert_generate(&cap, &fake_ca, &fake_ca_key, &err) < 0)
        return -1;
    t1.issuer_cert = t2.issuer_cert = fake_ca;
    t1.issuer_key = t2.issuer_key = fake_ca_key;
    if (ck_cert_generate(&t1, &fake1, &fake1_key, &err) < 0 || ck_cert_generate(&t2, &fake2, &fake2_key, &err) < 0)
        return -1;
    return 0;
}

static int teardown_cluster(void **state)
{
    tu_cluster_free(tc);
    X509_free(ca), X509_free(tok1), X509_free(tok2), X509_free(selfsigned);
    EVP_PKEY_free(ca_key), EVP_PKEY_free(tok1_key), EVP_PKEY_free(tok2_key), EVP_PKEY_free(self_key);
    X509_free(fake_ca), X509_free(fake1), X509_free(fake2);
    EVP_PKEY_free(fake_ca_key), EVP_PKEY_free(fake1_key), EVP_PKEY_free(fake2_key);
    return 0;
}

static X509 *node_cert(const char *node, const char *unit)
{
    ck_cert_row row;
    ck_err err = {0};
    if (ck_store_get_cert(ck_cluster_store(cl), node, unit, &row, &err) < 0)
        fail_msg("%s", err.msg);
    X509 *x = NULL;
    ck_load_pem_mem(row.pem, strlen(row.pem), &x, NULL, false, &err);
    ck_cert_row_clear(&row);
    return x;
}

enum { F_GOOD, F_ONE_TOKEN, F_SELFSIGNED, F_NODE_AS_SAST, F_NO_SUB, F_STALE_SUB, F_EXTRA_TVS, F_WRONG_DNS, F_SIGN_TOK2,
       F_SAME_KEY, F_COUNTERFEIT, F_ONE_COUNTERFEIT, F_WRONG_IP, F_WRONG_CAPF_IP };

/* tok1's key in a second certificate from the same CA (another serial):
 * still one token. */
static X509 *tok1_again(void)
{
    X509 *x = X509_dup(tok1);
    ASN1_INTEGER *sn = ASN1_INTEGER_new();
    if (!x || !sn || !ASN1_INTEGER_set(sn, 4242) || !X509_set_serialNumber(x, sn) ||
        !X509_sign(x, ca_key, EVP_sha256()))
        fail_msg("re-issuing tok1 failed");
    ASN1_INTEGER_free(sn);
    return x;
}

/* An eToken CTL as the CTL Client builds it, with one fault. */
static uint8_t *etoken_ctl(int fault, size_t *len)
{
    X509 *pub = node_cert(PUB, CK_UNIT_CALLMANAGER), *sub = node_cert(SUB, CK_UNIT_CALLMANAGER);
    X509 *capf = node_cert(PUB, CK_UNIT_CAPF), *tvs = node_cert(PUB, CK_UNIT_TVS);
    X509 *other = NULL;
    EVP_PKEY *other_key = NULL;
    ck_err err = {0};
    ck_cert_params op = {.cn = SUB, .ou = "TAC", .o = "Cisco", .rsa_bits = 1024};
    ck_cert_generate(&op, &other, &other_key, &err);
    ck_tl_entry e[8];
    size_t n = 0;
    X509 *again = fault == F_SAME_KEY ? tok1_again() : NULL;
    X509 *second = fault == F_SELFSIGNED ? selfsigned : fault == F_NODE_AS_SAST ? pub : again ? again : tok2;
    X509 *first = tok1;
    if (fault == F_COUNTERFEIT)
        first = fake1, second = fake2;
    else if (fault == F_ONE_COUNTERFEIT)
        second = fake2;
    e[n++] = (ck_tl_entry){.role = CK_ROLE_SAST, .cert = first, .dns_name = "", .no_cert_signature = true};
    if (fault != F_ONE_TOKEN)
        e[n++] = (ck_tl_entry){.role = CK_ROLE_SAST, .cert = second, .dns_name = "", .no_cert_signature = true};
    /* Addresses as the CTL Client writes them: the nodes' own. */
    static const uint8_t pub_ip[4] = {127, 0, 0, 11}, sub_ip[4] = {127, 0, 0, 12}, evil_ip[4] = {10, 6, 6, 6};
    e[n] = (ck_tl_entry){.role = CK_ROLE_CAPF, .cert = capf, .dns_name = PUB};
    memcpy(e[n++].ip, fault == F_WRONG_CAPF_IP ? evil_ip : pub_ip, 4);
    e[n] = (ck_tl_entry){.role = CK_ROLE_CCM_TFTP, .cert = pub, .dns_name = fault == F_WRONG_DNS ? SUB : PUB};
    memcpy(e[n++].ip, pub_ip, 4);
    if (fault != F_NO_SUB) {
        e[n] = (ck_tl_entry){.role = CK_ROLE_CCM_TFTP, .cert = fault == F_STALE_SUB ? other : sub, .dns_name = SUB};
        memcpy(e[n++].ip, fault == F_WRONG_IP ? evil_ip : sub_ip, 4);
    }
    if (fault == F_EXTRA_TVS)
        e[n++] = (ck_tl_entry){.role = CK_ROLE_TVS, .cert = tvs, .dns_name = PUB};
    ck_tl_signer s;
    if (fault == F_SIGN_TOK2)
        ck_tl_signer_key(&s, tok2, tok2_key);
    else if (fault == F_COUNTERFEIT)
        ck_tl_signer_key(&s, fake1, fake1_key);
    else
        ck_tl_signer_key(&s, tok1, tok1_key);
    ck_tl_build_opts o = {.filename = CK_CTL_NAME, .digest_alg = CK_DIGEST_SHA1};
    uint8_t *out = NULL;
    if (ck_tl_build(e, n, &s, &o, &out, len, &err) < 0)
        fail_msg("build: %s", err.msg);
    X509_free(pub), X509_free(sub), X509_free(capf), X509_free(tvs), X509_free(other), X509_free(again);
    EVP_PKEY_free(other_key);
    return out;
}

static void expect_refused(int fault, unsigned action, const char *needle)
{
    size_t len = 0;
    uint8_t *ctl = etoken_ctl(fault, &len);
    ck_err err = {0};
    assert_int_equal(ck_provider_check_ctl(cl, ctl, len, action, &err), -1);
    if (!strstr(err.msg, needle))
        fail_msg("error '%s' lacks '%s'", err.msg, needle);
    free(ctl);
}

static void test_users(void **state)
{
    ck_err err = {0};
    assert_int_equal(ck_provider_auth(dir, "admin", "whatever1", 9, &err), -1);
    assert_int_equal(err.code, CK_ENOTFOUND);
    assert_non_null(strstr(err.msg, "ctlkit provider passwd"));
    assert_int_equal(ck_provider_passwd(dir, "admin", "short", 5, &err), -1);
    assert_int_equal(ck_provider_passwd(dir, "ad min", "long enough", 11, &err), -1);
    assert_int_equal(ck_provider_passwd(dir, "admin", "Cisco12345", 10, &err), 0);
    assert_int_equal(ck_provider_passwd(dir, "ccmadmin", "Other-pass1", 11, &err), 0);
    assert_int_equal(ck_provider_auth(dir, "admin", "Cisco12345", 10, &err), 0);
    assert_int_equal(ck_provider_auth(dir, "ccmadmin", "Other-pass1", 11, &err), 0);
    assert_int_equal(ck_provider_auth(dir, "admin", "Cisco12346", 10, &err), -1);
    assert_int_equal(err.code, CK_EDENIED);
    assert_string_equal(err.msg, "wrong user name or password");
    assert_int_equal(ck_provider_auth(dir, "nobody", "Cisco12345", 10, &err), -1);
    assert_string_equal(err.msg, "wrong user name or password");
    /* Replacing a password keeps the other users. */
    assert_int_equal(ck_provider_passwd(dir, "admin", "NewPassword9", 12, &err), 0);
    assert_int_equal(ck_provider_auth(dir, "admin", "Cisco12345", 10, &err), -1);
    assert_int_equal(ck_provider_auth(dir, "admin", "NewPassword9", 12, &err), 0);
    assert_int_equal(ck_provider_auth(dir, "ccmadmin", "Other-pass1", 11, &err), 0);
    /* The file never holds the password, and must stay private. */
    char path[400];
    snprintf(path, sizeof path, "%s/provider-users", dir);
    size_t n = 0;
    uint8_t *text = tu_read_file(path, &n);
    assert_null(memmem(text, n, "NewPassword9", 12));
    assert_non_null(memmem(text, n, "pbkdf2-sha256:200000:", 21));
    free(text);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    chmod(path, 0644);
    assert_int_equal(ck_provider_auth(dir, "admin", "NewPassword9", 12, &err), -1);
    assert_non_null(strstr(err.msg, "readable by others"));
    chmod(path, 0600);
}

static void import_issuer(X509 *x)
{
    char *pem = ck_cert_to_pem(x);
    ck_err err = {0};
    if (ck_cluster_import_trust(cl, PUB, CK_TRUST_ETOKEN_ISSUER, pem, "test", &err) < 0)
        fail_msg("import: %s", err.msg);
    free(pem);
}

/* Tokens count only when they chain to an issuer the admin imported into
 * CTL-eToken-issuer-trust; that store holds CAs, not tokens. */
static void test_issuer_store(void **state)
{
    expect_refused(F_GOOD, CK_PV_ACTION_MIXED, "no eToken issuer is trusted; import the token manufacturer's CA");
    expect_refused(F_GOOD, CK_PV_ACTION_MIXED, "set cert import trust CTL-eToken-issuer-trust FILE.pem");
    /* A token's own certificate is no issuer. */
    char *pem = ck_cert_to_pem(tok1);
    ck_err err = {0};
    assert_int_equal(ck_cluster_import_trust(cl, PUB, "ctl-etoken-issuer-trust", pem, "", &err), -1);
    assert_non_null(strstr(err.msg, "is not a CA certificate"));
    free(pem);
    import_issuer(ca);
    /* Two tokens from a home-made "Cisco Manufacturing CA" (same name,
     * other key), or one of the two: refused before anything else. */
    expect_refused(F_COUNTERFEIT, CK_PV_ACTION_MIXED, "The Security Token you have inserted is not a trusted eToken");
    expect_refused(F_COUNTERFEIT, CK_PV_ACTION_MIXED,
                   "CTL record #1 (Security Token CN=SAST-ADN008580ef ;OU=IPCBU;O=Cisco Systems, issued by CN=Cisco "
                   "Manufacturing CA;O=Cisco Systems)");
    expect_refused(F_COUNTERFEIT, CK_PV_ACTION_MIXED, "does not chain to a CA in CTL-eToken-issuer-trust");
    expect_refused(F_ONE_COUNTERFEIT, CK_PV_ACTION_MIXED, "CTL record #2 (Security Token CN=SAST-ADN0054f509 ;");
    /* The genuine tokens pass the token checks (the published tokenless
     * CTL then stops them: test_check_good_and_faults). */
    expect_refused(F_GOOD, CK_PV_ACTION_UPDATE, "The Security Token you have inserted does not exist in the CTL File");
}

static void test_check_good_and_faults(void **state)
{
    size_t len = 0;
    uint8_t *ctl = etoken_ctl(F_GOOD, &len);
    ck_err err = {0};
    /* Scenario 3: the tokenless CTL is published; updating with a token it
     * does not hold is refused with CUCM's words, and so is choosing
     * "mixed" or "non-secure" instead: phones could not verify it either. */
    const unsigned acts[] = {CK_PV_ACTION_UPDATE, CK_PV_ACTION_MIXED, CK_PV_ACTION_NONSECURE};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(ck_provider_check_ctl(cl, ctl, len, acts[i], &err), -1);
        if (!strstr(err.msg, "The Security Token you have inserted does not exist in the CTL File"))
            fail_msg("action %u: %s", acts[i], err.msg);
    }
    /* A flipped signature byte. */
    ctl[200] ^= 0x55;
    assert_int_equal(ck_provider_check_ctl(cl, ctl, len, CK_PV_ACTION_MIXED, &err), -1);
    assert_non_null(strstr(err.msg, "signature does not verify"));
    free(ctl);
    assert_int_equal(ck_provider_check_ctl(cl, (const uint8_t *)"garbage", 7, CK_PV_ACTION_MIXED, &err), -1);
    assert_non_null(strstr(err.msg, "malformed"));

    expect_refused(F_ONE_TOKEN, CK_PV_ACTION_MIXED, "at least two are needed");
    expect_refused(F_SAME_KEY, CK_PV_ACTION_MIXED, "is the same Security Token (same key) as record #1");
    expect_refused(F_SELFSIGNED, CK_PV_ACTION_MIXED, "is self-signed");
    expect_refused(F_NODE_AS_SAST, CK_PV_ACTION_MIXED, "CallManager certificate, not a Security Token");
    expect_refused(F_NO_SUB, CK_PV_ACTION_MIXED, "no CCM+TFTP record for node " SUB);
    expect_refused(F_STALE_SUB, CK_PV_ACTION_MIXED, "not the current CallManager certificate of any node");
    expect_refused(F_EXTRA_TVS, CK_PV_ACTION_MIXED, "has role TVS");
    expect_refused(F_WRONG_DNS, CK_PV_ACTION_MIXED, "names host '" SUB "' but holds node " PUB);
    expect_refused(F_WRONG_IP, CK_PV_ACTION_MIXED,
                   "CTL record #5 (CCM+TFTP, host '" SUB "') gives IP address 10.6.6.6, but node " SUB
                   " is at 127.0.0.12");
    expect_refused(F_WRONG_CAPF_IP, CK_PV_ACTION_MIXED, "(CAPF, host '" PUB "') gives IP address 10.6.6.6");
}

static uint8_t *node_file(const char *node, size_t *len) { return tu_node_file(tc, node, CK_CTL_NAME, len); }

static void test_submit(void **state)
{
    size_t before_len = 0, len = 0, n = 0;
    uint8_t *before = node_file(SUB, &before_len);
    assert_non_null(before);
    ck_pv_result *res = NULL;
    ck_err err = {0};
    /* Refused: nothing changes, no results. */
    uint8_t *bad = etoken_ctl(F_STALE_SUB, &len);
    assert_int_equal(ck_provider_submit(cl, "admin", bad, len, CK_PV_ACTION_UPDATE, &res, &n, &err), -1);
    assert_int_equal(n, 0);
    free(bad);
    size_t after_len = 0;
    uint8_t *after = node_file(SUB, &after_len);
    assert_true(after_len == before_len && memcmp(after, before, before_len) == 0);
    free(after);
    /* Accepted (scenario 3 after the CTL was deleted): every node Passed. */
    int found = 0, deleted = 0;
    assert_int_equal(ck_cluster_delete_tftp_file(cl, PUB, CK_CTL_NAME, &found, &deleted, &err), 0);
    uint8_t *ctl = etoken_ctl(F_GOOD, &len);
    if (ck_provider_submit(cl, "admin", ctl, len, CK_PV_ACTION_UPDATE, &res, &n, &err) < 0)
        fail_msg("submit: %s", err.msg);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_true(res[i].passed);
        size_t fl = 0;
        uint8_t *f = node_file(res[i].name, &fl);
        assert_true(fl == len && memcmp(f, ctl, len) == 0);
        assert_non_null(strstr(res[i].location, "/tftp/CTLFile.tlv"));
        free(f);
    }
    free(res);
    /* Now an update signed by the second token (in the CTL) is fine, and
     * one signed by a token not in it is refused. */
    uint8_t *ctl2 = etoken_ctl(F_SIGN_TOK2, &len);
    assert_int_equal(ck_provider_check_ctl(cl, ctl2, len, CK_PV_ACTION_UPDATE, &err), 0);
    free(ctl2);
    /* Non-secure through the provider: mode 0, then "update" is refused. */
    uint8_t *ctl3 = etoken_ctl(F_GOOD, &len);
    assert_int_equal(ck_provider_submit(cl, "admin", ctl3, len, CK_PV_ACTION_NONSECURE, &res, &n, &err), 0);
    free(res);
    assert_int_equal(ck_cluster_security_mode(cl), 0);
    assert_int_equal(ck_provider_check_ctl(cl, ctl3, len, CK_PV_ACTION_UPDATE, &err), -1);
    assert_non_null(strstr(err.msg, "non-secure mode"));
    assert_int_equal(ck_provider_submit(cl, "admin", ctl3, len, CK_PV_ACTION_MIXED, &res, &n, &err), 0);
    free(res);
    assert_int_equal(ck_cluster_security_mode(cl), 1);
    /* A published CTL that cannot be read fails closed: no signer check
     * can pass against it. */
    ck_store *st = ck_cluster_store(cl);
    assert_int_equal(ck_store_begin(st, &err), 0);
    assert_int_equal(ck_store_put_file(st, "", CK_CTL_NAME, (const uint8_t *)"not a CTL", 9, &err), 0);
    assert_int_equal(ck_store_commit(st, &err), 0);
    assert_int_equal(ck_provider_check_ctl(cl, ctl3, len, CK_PV_ACTION_UPDATE, &err), -1);
    assert_non_null(strstr(err.msg, "the published CTL cannot be read"));
    free(ctl3);
    free(ctl);
    free(before);
}

static uint8_t *request(ck_provider_session *s, const ck_pv_msg *req, ck_pv_msg *resp, unsigned *delay, bool *close)
{
    size_t n = 0, rn = 0;
    uint8_t *f = build(req, &n), *r = NULL;
    assert_int_equal(ck_provider_handle(cl, s, f, n, &r, &rn, delay, close), 0);
    free(f);
    ck_err err = {0};
    if (ck_pv_parse(r, rn, resp, &err) < 0)
        fail_msg("response: %s", err.msg);
    return r;
}

static void test_handle(void **state)
{
    ck_provider_session s = {.peer = "127.0.0.1:5555"};
    ck_pv_msg get = {.type = CK_PV_GET_CLUSTER}, login = {.type = CK_PV_LOGIN}, resp;
    unsigned delay = 0;
    bool close = false;
    uint8_t *r = request(&s, &get, &resp, &delay, &close);
    assert_int_equal(resp.status, CK_PV_DENIED);
    assert_non_null(strstr(resp.message, "log in first"));
    ck_pv_msg_clear(&resp);
    free(r);

    strcpy(login.user, "admin");
    strcpy(login.password, "wrong-password");
    r = request(&s, &login, &resp, &delay, &close);
    assert_int_equal(resp.type, CK_PV_RESPONSE | CK_PV_LOGIN);
    assert_int_equal(resp.status, CK_PV_DENIED);
    assert_int_equal(delay, CK_PROVIDER_FAIL_DELAY_MS);
    assert_false(close);
    assert_non_null(strstr(s.log, "failed login for 'admin'"));
    assert_null(strstr(s.log, "wrong-password"));
    ck_pv_msg_clear(&resp);
    free(r);

    strcpy(login.password, "NewPassword9");
    r = request(&s, &login, &resp, &delay, &close);
    assert_int_equal(resp.status, CK_PV_OK);
    assert_int_equal(delay, 0);
    ck_pv_msg_clear(&resp);
    free(r);

    r = request(&s, &get, &resp, &delay, &close);
    assert_int_equal(resp.status, CK_PV_OK);
    assert_int_equal(resp.n_nodes, 2);
    assert_string_equal(resp.nodes[0].name, PUB);
    assert_true(resp.nodes[0].publisher);
    assert_non_null(resp.nodes[0].capf_cert.p);
    assert_true(resp.has_mode);
    assert_non_null(resp.ctl.p);
    ck_pv_msg_clear(&resp);
    free(r);

    /* A garbage frame: an ERROR response, then the server closes. */
    uint8_t *er = NULL;
    size_t en = 0;
    assert_int_equal(ck_provider_handle(cl, &s, (const uint8_t *)"GET / HTTP/1.0\r\n\r\n", 18, &er, &en, &delay, &close),
                     0);
    assert_true(close);
    ck_err err = {0};
    assert_int_equal(ck_pv_parse(er, en, &resp, &err), 0);
    assert_int_equal(resp.type, CK_PV_ERROR);
    assert_int_equal(resp.status, CK_PV_BADREQ);
    assert_non_null(strstr(resp.message, "bad magic"));
    ck_pv_msg_clear(&resp);
    free(er);

    /* Three failed logins close the connection. */
    ck_provider_session t = {.peer = "127.0.0.1:6666"};
    strcpy(login.password, "nope-nope");
    for (int i = 0; i < CK_PROVIDER_MAX_FAILURES; i++) {
        r = request(&t, &login, &resp, &delay, &close);
        ck_pv_msg_clear(&resp);
        free(r);
    }
    assert_true(close);
    OPENSSL_cleanse(login.password, sizeof login.password);
}

int main(void)
{
    const struct CMUnitTest codec[] = {
        cmocka_unit_test(test_roundtrip),       cmocka_unit_test(test_header_negatives),
        cmocka_unit_test(test_body_negatives),  cmocka_unit_test(test_too_many_nodes),
        cmocka_unit_test(test_truncation_and_flips),
    };
    const struct CMUnitTest ops[] = {
        cmocka_unit_test(test_users),
        cmocka_unit_test(test_issuer_store),
        cmocka_unit_test(test_check_good_and_faults),
        cmocka_unit_test(test_submit),
        cmocka_unit_test(test_handle),
    };
    int failed = cmocka_run_group_tests_name("codec", codec, NULL, NULL);
    failed += cmocka_run_group_tests_name("decisions", ops, setup_cluster, teardown_cluster);
    return failed;
}
