/* Unit tests of the TLS policy (lib/cluster/tls_policy.c): CUCM's four
 * minimum versions, what each does to a context, and the security level
 * fitted to a server's own certificate and key (the rule ctlkitd's
 * services and ctlkit-web share). */
#include "testutil.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <string.h>

#include "ctlkit/tls_policy.h"
#include "ctlkit/x509.h"

static void test_versions(void **state)
{
    (void)state;
    assert_int_equal(ck_tls_version_parse("1.0"), TLS1_VERSION);
    assert_int_equal(ck_tls_version_parse("1.1"), TLS1_1_VERSION);
    assert_int_equal(ck_tls_version_parse("1.2"), TLS1_2_VERSION);
    assert_int_equal(ck_tls_version_parse("1.3"), TLS1_3_VERSION);
    assert_int_equal(ck_tls_version_parse("1.4"), 0);
    assert_int_equal(ck_tls_version_parse("TLSv1.2"), 0);
    assert_int_equal(ck_tls_version_parse(""), 0);
    assert_int_equal(ck_tls_version_parse(NULL), 0);
    assert_string_equal(ck_tls_version_name(TLS1_2_VERSION), "1.2");
    assert_string_equal(ck_tls_version_name(SSL3_VERSION), "?");
}

/* Below 1.2 the context takes the 79xx suites at level 0; from 1.2 on it
 * keeps the level it had. An unknown version is refused. */
static void test_apply(void **state)
{
    (void)state;
    ck_err err = {0};
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_security_level(ctx, 2);
    assert_int_equal(ck_tls_policy_apply(ctx, TLS1_2_VERSION, &err), 0);
    assert_int_equal(SSL_CTX_get_security_level(ctx), 2);
    assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
    SSL_CTX_free(ctx);

    ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_security_level(ctx, 2);
    assert_int_equal(ck_tls_policy_apply(ctx, TLS1_VERSION, &err), 0);
    assert_int_equal(SSL_CTX_get_security_level(ctx), 0);
    assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_VERSION);
    bool aes128_sha = false;
    STACK_OF(SSL_CIPHER) *ciphers = SSL_CTX_get_ciphers(ctx);
    for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); i++)
        if (strcmp(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(ciphers, i)), "AES128-SHA") == 0)
            aes128_sha = true;
    assert_true(aes128_sha);
    assert_int_equal(ck_tls_policy_apply(ctx, 0x0305, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
    SSL_CTX_free(ctx);
}

static void make(const char *cn, int bits, const char *digest, X509 *issuer, EVP_PKEY *issuer_key, X509 **cert,
                 EVP_PKEY **key)
{
    ck_err err = {0};
    ck_cert_params p = {.cn = cn, .o = "Example", .rsa_bits = bits, .digest = digest,
                        .issuer_cert = issuer, .issuer_key = issuer_key};
    assert_int_equal(ck_cert_generate(&p, cert, key, &err), 0);
}

/* The level is lowered to what the key and a CA's signature need, never
 * raised, and a context so fitted takes the certificate that the default
 * level refused. */
static void test_fit_security_level(void **state)
{
    (void)state;
    char note[512];
    X509 *c2048 = NULL, *c1024 = NULL, *ca = NULL, *sha1 = NULL;
    EVP_PKEY *k2048 = NULL, *k1024 = NULL, *kca = NULL, *ksha1 = NULL;
    make("cucm-pub", 2048, NULL, NULL, NULL, &c2048, &k2048);
    make("cucm-pub", 1024, NULL, NULL, NULL, &c1024, &k1024);
    make("Example CA", 2048, NULL, NULL, NULL, &ca, &kca);
    make("cucm-pub", 2048, "sha1", ca, kca, &sha1, &ksha1);

    /* A 2048-bit self-signed identity: level 2 stays. */
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_security_level(ctx, 2);
    note[0] = 0;
    assert_false(ck_tls_fit_security_level(ctx, c2048, k2048, note, sizeof note));
    assert_int_equal(SSL_CTX_get_security_level(ctx), 2);
    assert_string_equal(note, "");
    SSL_CTX_free(ctx);

    /* A 1024-bit one: refused at level 2, taken at the fitted level 1. */
    ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_security_level(ctx, 2);
    assert_int_not_equal(SSL_CTX_use_certificate(ctx, c1024), 1);
    ERR_clear_error();
    assert_true(ck_tls_fit_security_level(ctx, c1024, k1024, note, sizeof note));
    assert_int_equal(SSL_CTX_get_security_level(ctx), 1);
    assert_non_null(strstr(note, "lowered from 2 to 1 for the node's 1024-bit RSA key"));
    assert_non_null(strstr(note, "CN=cucm-pub"));
    assert_int_equal(SSL_CTX_use_certificate(ctx, c1024), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(ctx, k1024), 1);
    SSL_CTX_free(ctx);

    /* A CA's SHA-1 signature (63 bits) needs level 0; a self-signed SHA-1
     * certificate would not (its own signature is not relied on). */
    ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_security_level(ctx, 2);
    assert_true(ck_tls_fit_security_level(ctx, sha1, ksha1, note, sizeof note));
    assert_int_equal(SSL_CTX_get_security_level(ctx), 0);
    assert_non_null(strstr(note, "SHA1withRSA certificate"));
    SSL_CTX_free(ctx);

    /* Never raised: a context at level 0 stays there for a 2048-bit key. */
    ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_security_level(ctx, 0);
    assert_false(ck_tls_fit_security_level(ctx, c2048, k2048, NULL, 0));
    assert_int_equal(SSL_CTX_get_security_level(ctx), 0);
    SSL_CTX_free(ctx);

    X509_free(c2048);
    X509_free(c1024);
    X509_free(ca);
    X509_free(sha1);
    EVP_PKEY_free(k2048);
    EVP_PKEY_free(k1024);
    EVP_PKEY_free(kca);
    EVP_PKEY_free(ksha1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_apply),
        cmocka_unit_test(test_fit_security_level),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
