/* Unit tests of lib/token: PKCS#11 eTokens played by SoftHSM2 (made by
 * tests/tokens/make-tokens in a private folder): list, find, export, sign
 * and verify, wrong password, missing token, empty token. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlkit/token.h"
#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"

#define T1 "SAST-ADN008580ef"
#define T2 "SAST-ADN0054f509"

static char dir[256];
static char module[256];
static ck_p11 *mod;

static const char *find_module(void)
{
    static const char *const paths[] = {"/usr/lib/softhsm/libsofthsm2.so",
                                        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
                                        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (access(paths[i], R_OK) == 0)
            return paths[i];
    return NULL;
}

static int setup(void **state)
{
    const char *m = find_module();
    if (!m) {
        fprintf(stderr, "libsofthsm2.so not found\n");
        return -1;
    }
    snprintf(module, sizeof module, "%s", m);
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    char cmd[1024];
    /* 1024-bit keys as the seed's tokens, and quicker to make. */
    snprintf(cmd, sizeof cmd,
             "TOKEN_BITS=1024 CTLKIT_P11_MODULE=%s bash %s/../tokens/make-tokens %s >/dev/null 2>&1 && "
             "SOFTHSM2_CONF=%s/softhsm2.conf softhsm2-util --init-token --free --label EMPTY --pin Cisco123 "
             "--so-pin 12345678 >/dev/null 2>&1",
             module, getenv("CTLKIT_TEST_DATA") ? getenv("CTLKIT_TEST_DATA") : "tests/data", dir, dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "make-tokens failed: %s\n", cmd);
        return -1;
    }
    char conf[300];
    snprintf(conf, sizeof conf, "%s/softhsm2.conf", dir);
    setenv("SOFTHSM2_CONF", conf, 1);
    ck_err err = {0};
    if (ck_p11_load(module, &mod, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    ck_p11_free(mod);
    tu_rmtree(dir);
    return 0;
}

static void test_bad_module(void **state)
{
    ck_p11 *m = NULL;
    ck_err err = {0};
    assert_int_equal(ck_p11_load("/nonexistent/libnothing.so", &m, &err), -1);
    assert_int_equal(err.code, CK_ENOTFOUND);
    assert_non_null(strstr(err.msg, "cannot load the PKCS#11 module"));
    /* A shared library that is not a PKCS#11 module. */
    assert_int_equal(ck_p11_load("libz.so.1", &m, &err), -1);
    assert_non_null(strstr(err.msg, "not a PKCS#11 module"));
    assert_int_equal(ck_p11_load(NULL, &m, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
}

static void test_list(void **state)
{
    ck_token_info *v = NULL;
    size_t n = 0;
    ck_err err = {0};
    assert_int_equal(ck_p11_list(mod, &v, &n, &err), 0);
    assert_int_equal(n, 3);
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(v[i].present);
        assert_string_equal(v[i].manufacturer, "SoftHSM project");
        assert_true(strlen(v[i].serial) > 0);
        assert_false(v[i].locked);
        if (strcmp(v[i].label, T1) == 0)
            seen |= 1;
        if (strcmp(v[i].label, T2) == 0)
            seen |= 2;
    }
    assert_int_equal(seen, 3);
    free(v);
}

static void test_find_and_cert(void **state)
{
    ck_token *t = NULL;
    ck_err err = {0};
    /* Trailing blanks in the label are ignored, as PKCS#11 pads labels. */
    assert_int_equal(ck_token_open(mod, T1 "  ", -1, &t, &err), 0);
    assert_string_equal(ck_token_get_info(t)->label, T1);
    X509 *c = NULL;
    assert_int_equal(ck_token_cert(t, &c, &err), 0);
    char *subj = ck_name_cucm(X509_get_subject_name(c));
    char *iss = ck_name_cucm(X509_get_issuer_name(c));
    assert_string_equal(subj, "CN=" T1 " ;OU=IPCBU;O=Cisco Systems");
    assert_string_equal(iss, "CN=Cisco Manufacturing CA;O=Cisco Systems");
    uint8_t serial[32];
    assert_int_equal(ck_cert_serial(c, serial, sizeof serial), 10);
    assert_int_equal(serial[0], 0x83);
    assert_int_equal(serial[9], 0x31);
    /* The exported certificate is the one make-tokens issued. */
    char path[400];
    snprintf(path, sizeof path, "%s/certs/%s.pem", dir, T1);
    X509 *file = NULL;
    assert_int_equal(ck_load_pem(path, &file, NULL, false, &err), 0);
    assert_int_equal(X509_cmp(file, c), 0);
    free(subj);
    free(iss);
    X509_free(c);
    X509_free(file);
    ck_token_close(t);
}

static void test_missing_token(void **state)
{
    ck_token *t = NULL;
    ck_err err = {0};
    assert_int_equal(ck_token_open(mod, "SAST-ADN00nothere", -1, &t, &err), -1);
    assert_int_equal(err.code, CK_ENOTFOUND);
    assert_non_null(strstr(err.msg, "'SAST-ADN00nothere' is not present"));
    assert_non_null(strstr(err.msg, T1));
    /* Several tokens and none named: ask which. */
    assert_int_equal(ck_token_open(mod, NULL, -1, &t, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
    assert_non_null(strstr(err.msg, "--token"));
    assert_int_equal(ck_token_open(mod, NULL, 987654, &t, &err), -1);
    assert_int_equal(err.code, CK_ENOTFOUND);
}

static void test_no_certificate(void **state)
{
    ck_token *t = NULL;
    ck_err err = {0};
    assert_int_equal(ck_token_open(mod, "EMPTY", -1, &t, &err), 0);
    X509 *c = NULL;
    assert_int_equal(ck_token_cert(t, &c, &err), -1);
    assert_int_equal(err.code, CK_ENOTFOUND);
    assert_string_equal(err.msg, "no certificate on the token EMPTY");
    assert_int_equal(ck_token_login(t, "Cisco123", 8, &err), 0);
    ck_tl_signer s;
    assert_int_equal(ck_token_signer(t, &s, &err), -1);
    assert_non_null(strstr(err.msg, "no certificate on the token"));
    ck_token_close(t);
}

static void test_wrong_pin(void **state)
{
    ck_token *t = NULL;
    ck_err err = {0};
    assert_int_equal(ck_token_open(mod, T2, -1, &t, &err), 0);
    assert_int_equal(ck_token_login(t, "Cisco124", 8, &err), -1);
    assert_int_equal(err.code, CK_EDENIED);
    assert_non_null(strstr(err.msg, "wrong token password"));
    assert_int_equal(ck_token_login(t, "", 0, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
    /* Signing needs a login. */
    ck_tl_signer s;
    assert_int_equal(ck_token_signer(t, &s, &err), -1);
    assert_int_equal(err.code, CK_ESTATE);
    /* The right password still works after a wrong one. */
    assert_int_equal(ck_token_login(t, "Cisco123", 8, &err), 0);
    ck_token_close(t);
}

/* Builds an eToken CTL (two token SAST records and a node record) signed
 * by the first token, then parses and verifies it. */
static void sign_and_verify(unsigned digest)
{
    ck_token *t1 = NULL, *t2 = NULL;
    ck_err err = {0};
    assert_int_equal(ck_token_open(mod, T1, -1, &t1, &err), 0);
    assert_int_equal(ck_token_open(mod, T2, -1, &t2, &err), 0);
    X509 *c1 = NULL, *c2 = NULL, *node = NULL;
    EVP_PKEY *node_key = NULL;
    assert_int_equal(ck_token_cert(t1, &c1, &err), 0);
    assert_int_equal(ck_token_cert(t2, &c2, &err), 0);
    ck_cert_params p = {.cn = "cucm-1051-a-pub", .ou = "TAC", .o = "Cisco", .rsa_bits = 1024};
    assert_int_equal(ck_cert_generate(&p, &node, &node_key, &err), 0);
    static const char pin[] = "Cisco123";
    assert_int_equal(ck_token_login(t1, pin, strlen(pin), &err), 0);
    ck_tl_signer s;
    assert_int_equal(ck_token_signer(t1, &s, &err), 0);
    ck_tl_entry e[] = {
        {.role = CK_ROLE_SAST, .cert = c2, .dns_name = "", .no_cert_signature = true},
        {.role = CK_ROLE_CCM_TFTP, .cert = node},
        {.role = CK_ROLE_SAST, .cert = c1, .dns_name = "", .no_cert_signature = true},
    };
    ck_tl_build_opts o = {.filename = "CTLFile.tlv", .digest_alg = digest};
    uint8_t *raw = NULL;
    size_t len = 0;
    if (ck_tl_build(e, 3, &s, &o, &raw, &len, &err) < 0)
        fail_msg("build: %s", err.msg);
    ck_tl_file *f = NULL;
    assert_int_equal(ck_tl_parse(raw, len, &f, &err), 0);
    assert_int_equal(f->signer_index, 2);
    assert_int_equal(f->records[0].dns_name.n, 0);
    assert_null(f->records[0].cert_signature.p);
    if (ck_tl_verify(f, &err) < 0)
        fail_msg("verify: %s", err.msg);
    /* One flipped byte and the token's signature no longer verifies. */
    raw[len - 10] ^= 1;
    ck_tl_file *g = NULL;
    assert_int_equal(ck_tl_parse(raw, len, &g, &err), 0);
    assert_int_equal(ck_tl_verify(g, &err), -1);
    ck_tl_free(g);
    ck_tl_free(f);
    free(raw);
    X509_free(c1);
    X509_free(c2);
    X509_free(node);
    EVP_PKEY_free(node_key);
    ck_token_close(t1);
    ck_token_close(t2);
}

static void test_sign_mechanisms(void **state)
{
    sign_and_verify(CK_DIGEST_SHA1);
    sign_and_verify(CK_DIGEST_SHA256);
    sign_and_verify(CK_DIGEST_SHA512);
}

static void test_sign_digestinfo(void **state)
{
    /* A token with raw CKM_RSA_PKCS only: the hash is made here. */
#ifndef CTLKIT_TEST_HOOKS
    skip(); /* the mechanism is hidden by a test hook */
#endif
    setenv("CTLKIT_P11_RAW_RSA", "1", 1);
    sign_and_verify(CK_DIGEST_SHA1);
    sign_and_verify(CK_DIGEST_SHA256);
    sign_and_verify(CK_DIGEST_SHA512);
    unsetenv("CTLKIT_P11_RAW_RSA");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_module),     cmocka_unit_test(test_list),
        cmocka_unit_test(test_find_and_cert),  cmocka_unit_test(test_missing_token),
        cmocka_unit_test(test_no_certificate), cmocka_unit_test(test_wrong_pin),
        cmocka_unit_test(test_sign_mechanisms), cmocka_unit_test(test_sign_digestinfo),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
