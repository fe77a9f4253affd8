/* Unit tests of signed files (.sgn): the trust-list header followed by the
 * original bytes (lib/trustlist build.c/parse.c/verify.c). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"

static X509 *cert, *other;
static EVP_PKEY *key, *other_key;

static const char config[] = "<device><fullConfig>true</fullConfig><loadInformation>SCCP75.9-3-1SR4-1S"
                             "</loadInformation></device>\n";

static int setup(void **state)
{
    ck_err err = {0};
    ck_cert_params p = {.cn = "cucm-1051-a-pub", .ou = "TAC", .o = "Cisco", .rsa_bits = 1024};
    if (ck_cert_generate(&p, &cert, &key, &err) < 0)
        return -1;
    /* Same subject, another key: a regenerated certificate. */
    if (ck_cert_generate(&p, &other, &other_key, &err) < 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    X509_free(cert);
    X509_free(other);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other_key);
    return 0;
}

static uint8_t *sgn_build(const void *content, size_t n, unsigned digest, const char *filename, size_t *len)
{
    ck_tl_signer s;
    ck_tl_signer_key(&s, cert, key);
    ck_tl_build_opts o = {.digest_alg = digest, .filename = filename, .timestamp = 1425667513u};
    uint8_t *out = NULL;
    ck_err err = {0};
    if (ck_sgn_build(content, n, &s, &o, &out, len, &err) < 0)
        fail_msg("sgn build: %s", err.msg);
    return out;
}

static void test_roundtrip(void **state)
{
    static const unsigned digests[] = {CK_DIGEST_SHA1, CK_DIGEST_SHA256, CK_DIGEST_SHA512};
    for (size_t i = 0; i < 3; i++) {
        size_t n = 0;
        uint8_t *raw = sgn_build(config, sizeof config - 1, digests[i], "SEP001122334455.cnf.xml", &n);
        ck_tl_file *f = NULL;
        ck_err err = {0};
        assert_int_equal(ck_sgn_parse(raw, n, &f, &err), 0);
        /* .sgn headers are version 1.0 */
        assert_int_equal(f->ver_major, 1);
        assert_int_equal(f->ver_minor, 0);
        assert_int_equal(f->header_len % 4, 0);
        assert_int_equal(n, f->header_len + sizeof config - 1);
        assert_int_equal(f->digest_alg, digests[i]);
        assert_int_equal(f->filename.n, strlen("SEP001122334455.cnf.xml"));
        assert_memory_equal(f->filename.p, "SEP001122334455.cnf.xml", f->filename.n);
        assert_int_equal(f->n_records, 0);
        assert_int_equal(f->signer_index, -1);
        /* strip = the content span: exactly the original bytes */
        assert_int_equal(f->content.n, sizeof config - 1);
        assert_memory_equal(f->content.p, config, sizeof config - 1);
        assert_ptr_equal(f->content.p, f->raw + f->header_len);
        assert_int_equal(ck_tl_verify_with(f, cert, &err), 0);
        /* Same name and serial length, another key: invalid. */
        assert_int_equal(ck_tl_verify_with(f, other, &err), -1);
        assert_int_equal(err.code, CK_ESIGNATURE);
        /* There is no signer record inside a .sgn. */
        assert_int_equal(ck_tl_verify(f, &err), -1);
        assert_int_equal(err.code, CK_EFORMAT);
        ck_tl_free(f);
        /* A .sgn is not a trust list. */
        assert_int_equal(ck_tl_parse(raw, n, &f, &err), -1);
        assert_int_equal(err.code, CK_EFORMAT);
        assert_non_null(strstr(err.msg, "record #1"));
        free(raw);
    }
}

static void test_empty_and_binary_content(void **state)
{
    size_t n = 0;
    uint8_t *raw = sgn_build("", 0, CK_DIGEST_SHA1, "empty", &n);
    ck_tl_file *f = NULL;
    ck_err err = {0};
    assert_int_equal(ck_sgn_parse(raw, n, &f, &err), 0);
    assert_int_equal(f->content.n, 0);
    assert_int_equal(ck_tl_verify_with(f, cert, &err), 0);
    ck_tl_free(f);
    free(raw);

    /* Content that itself looks like a trust list stays content. */
    uint8_t bin[600];
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (uint8_t)(i * 7);
    bin[0] = 1;
    raw = sgn_build(bin, sizeof bin, CK_DIGEST_SHA256, "firmware.bin", &n);
    assert_int_equal(ck_sgn_parse(raw, n, &f, &err), 0);
    assert_int_equal(f->content.n, sizeof bin);
    assert_memory_equal(f->content.p, bin, sizeof bin);
    assert_int_equal(ck_tl_verify_with(f, cert, &err), 0);
    ck_tl_free(f);
    free(raw);
}

static void test_default_filename(void **state)
{
    size_t n = 0;
    uint8_t *raw = sgn_build(config, 10, CK_DIGEST_SHA1, NULL, &n);
    ck_tl_file *f = NULL;
    ck_err err = {0};
    assert_int_equal(ck_sgn_parse(raw, n, &f, &err), 0);
    /* The library's default FILENAME (the CLI passes OUT's base name). */
    assert_int_equal(f->filename.n, 11);
    assert_memory_equal(f->filename.p, "CTLFile.tlv", 11);
    ck_tl_free(f);
    free(raw);
}

static void test_tamper_and_truncate(void **state)
{
    size_t n = 0;
    uint8_t *raw = sgn_build(config, sizeof config - 1, CK_DIGEST_SHA1, "SEP.cnf.xml", &n);
    size_t parse_errors = 0, invalid = 0;
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *t = malloc(cut ? cut : 1);
        memcpy(t, raw, cut);
        ck_tl_file *f = NULL;
        ck_err err = {0};
        if (ck_sgn_parse(t, cut, &f, &err) < 0) {
            assert_null(f);
            assert_int_equal(err.code, CK_EFORMAT);
            assert_true(err.msg[0] != '\0');
            parse_errors++;
        } else {
            /* Cut inside the content: the header still parses, the
             * signature no longer matches. */
            assert_int_equal(ck_tl_verify_with(f, cert, &err), -1);
            assert_int_equal(err.code, CK_ESIGNATURE);
            invalid++;
            ck_tl_free(f);
        }
        free(t);
    }
    assert_true(parse_errors > 0);
    assert_int_equal(invalid, sizeof config - 1); /* every cut after the header */

    for (size_t i = 0; i < n; i++) {
        raw[i] ^= 0xff;
        ck_tl_file *f = NULL;
        ck_err err = {0};
        if (ck_sgn_parse(raw, n, &f, &err) == 0) {
            if (ck_tl_verify_with(f, cert, &err) == 0)
                fail_msg("flipped byte %zu still verifies", i);
            assert_int_not_equal(err.code, CK_OK);
            ck_tl_free(f);
        } else {
            assert_int_equal(err.code, CK_EFORMAT);
        }
        raw[i] ^= 0xff;
    }
    /* Appended bytes are content too, and break the signature. */
    uint8_t *longer = malloc(n + 1);
    memcpy(longer, raw, n);
    longer[n] = '\n';
    ck_tl_file *f = NULL;
    ck_err err = {0};
    assert_int_equal(ck_sgn_parse(longer, n + 1, &f, &err), 0);
    assert_int_equal(ck_tl_verify_with(f, cert, &err), -1);
    assert_int_equal(err.code, CK_ESIGNATURE);
    ck_tl_free(f);
    free(longer);
    free(raw);
}

static void test_bad_signer(void **state)
{
    X509 *ec = NULL;
    EVP_PKEY *eck = NULL;
    ck_err err = {0};
    assert_int_equal(ck_cert_generate(&(ck_cert_params){.cn = "ec", .curve = "P-256"}, &ec, &eck, &err), 0);
    ck_tl_signer s;
    ck_tl_signer_key(&s, ec, eck);
    uint8_t *out = NULL;
    size_t n = 0;
    assert_int_equal(ck_sgn_build((const uint8_t *)config, 5, &s, NULL, &out, &n, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
    assert_non_null(strstr(err.msg, "RSA"));
    assert_null(out);
    ck_tl_signer none = {0};
    assert_int_equal(ck_sgn_build((const uint8_t *)config, 5, &none, NULL, &out, &n, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
    X509_free(ec);
    EVP_PKEY_free(eck);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),          cmocka_unit_test(test_empty_and_binary_content),
        cmocka_unit_test(test_default_filename),   cmocka_unit_test(test_tamper_and_truncate),
        cmocka_unit_test(test_bad_signer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
