/* Unit tests of encrypted configuration files (.enc.sgn) and their stub
 * .sgn (lib/trustlist encsgn*.c), against the byte facts of
 * the shared CAPF reference (§3), as docs/capf.md restates them. */
#include "testutil.h"

#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/encsgn.h"
#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"

static X509 *tftp, *phone, *other_phone, *big_phone;
static EVP_PKEY *tftp_key, *phone_key, *other_key, *big_key;

static const char config[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<device xsi:type=\"axl:XIPPhone\" ctiid=\"94\">\n"
    "  <fullConfig>true</fullConfig>\n"
    "  <deviceProtocol>SIP</deviceProtocol>\n"
    "  <ipAddressMode>0</ipAddressMode>\n"
    "  <loadInformation>SCCP75.9-3-1SR4-1S</loadInformation>\n"
    "  <capfAuthMode>1</capfAuthMode>\n"
    "  <capfList>\n"
    "    <capf><phonePort>3804</phonePort><processNodeName>127.0.0.11</processNodeName></capf>\n"
    "  </capfList>\n"
    "  <certHash></certHash>\n"
    "  <encrConfig>false</encrConfig>\n"
    "  <sipProfile><sipProxies><registerWithProxy>true</registerWithProxy></sipProxies></sipProfile>\n"
    "</device>\n";

static int setup(void **state)
{
    ck_err err = {0};
    ck_cert_params p = {.cn = "tftp", .o = "TFTP", .rsa_bits = 1024};
    ck_cert_params ph = {.cn = "SEP001122334455", .o = "CAPF", .ou = "CAPF", .rsa_bits = 1024};
    ck_cert_params big = {.cn = "SEP001122334455", .rsa_bits = 2048};
    if (ck_cert_generate(&p, &tftp, &tftp_key, &err) < 0 || ck_cert_generate(&ph, &phone, &phone_key, &err) < 0 ||
        ck_cert_generate(&ph, &other_phone, &other_key, &err) < 0 ||
        ck_cert_generate(&big, &big_phone, &big_key, &err) < 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    X509_free(tftp);
    X509_free(phone);
    X509_free(other_phone);
    X509_free(big_phone);
    EVP_PKEY_free(tftp_key);
    EVP_PKEY_free(phone_key);
    EVP_PKEY_free(other_key);
    EVP_PKEY_free(big_key);
    return 0;
}

static uint8_t *enc_build(const void *content, size_t n, unsigned digest, X509 *to, size_t *len)
{
    ck_tl_signer s;
    ck_tl_signer_key(&s, tftp, tftp_key);
    ck_tl_build_opts o = {.digest_alg = digest, .filename = "SEP001122334455.cnf.xml.enc.sgn",
                          .timestamp = 1425667513u};
    uint8_t *out = NULL;
    ck_err err = {0};
    if (ck_encsgn_build(content, n, &s, &o, to, &out, len, &err) < 0)
        fail_msg("enc.sgn build: %s", err.msg);
    return out;
}

static void test_roundtrip(void **state)
{
    static const unsigned digests[] = {CK_DIGEST_SHA1, CK_DIGEST_SHA256, CK_DIGEST_SHA512};
    static const size_t sizes[] = {0, 1, 15, 16, 17, 32, sizeof config - 1};
    for (size_t d = 0; d < 3; d++)
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            size_t n = 0, m = 0;
            uint8_t *raw = enc_build(config, sizes[k], digests[d], phone, &n);
            ck_tl_file *f = NULL;
            ck_err err = {0};
            assert_int_equal(ck_sgn_parse(raw, n, &f, &err), 0);
            assert_int_equal(f->ver_major, 2);
            assert_int_equal(f->ver_minor, 0);
            assert_true(f->enc.present);
            assert_int_equal(f->header_len % 4, 0);
            /* 1..16 bytes of 0x0D, never PKCS#7's 0 */
            assert_int_equal(f->enc.pad_len, 16 - sizes[k] % 16);
            assert_int_equal(f->content.n, sizes[k] + f->enc.pad_len);
            assert_int_equal(f->enc.key_bits, 1024);
            assert_int_equal(f->enc.key_alg, 1);
            assert_int_equal(f->enc.digest_alg, digests[d]);
            assert_int_equal(f->digest_alg, digests[d]);
            assert_int_equal(ck_tl_verify_with(f, tftp, &err), 0);
            uint8_t *plain = NULL;
            assert_int_equal(ck_encsgn_decrypt(f, phone_key, &plain, &m, &err), 0);
            assert_int_equal(m, sizes[k]);
            if (m)
                assert_memory_equal(plain, config, m);
            free(plain);
            ck_tl_free(f);
            free(raw);
        }
}

/* Offsets as observed for an RSA-2048 TFTP key, an RSA-2048 device and
 * SHA-1, with the signer CN=TFTP,O=TFTP,OU=TFTP and a 16-byte serial. */
static void test_doc_layout(void **state)
{
    static const uint8_t serial[16] = {0x3c, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    X509 *signer = NULL;
    EVP_PKEY *skey = NULL;
    ck_err err = {0};
    ck_cert_params p = {.cn = "TFTP", .o = "TFTP", .ou = "TFTP", .rsa_bits = 2048, .serial = serial,
                        .serial_len = sizeof serial};
    assert_int_equal(ck_cert_generate(&p, &signer, &skey, &err), 0);
    ck_tl_signer s;
    ck_tl_signer_key(&s, signer, skey);

    /* The plain .sgn: 1@0, 2@5 (=400), 3@10 (len 71), 7@84, 8@87, 9@91,
     * 10@94, 11@98 (=02), 12@102 (len 256), 14@361, 15@392, pad@399. */
    ck_tl_build_opts o = {.digest_alg = CK_DIGEST_SHA1, .filename = "SEP001122334455.cnf.xml.sgn", .timestamp = 1};
    uint8_t *raw = NULL;
    size_t n = 0;
    assert_int_equal(ck_sgn_build((const uint8_t *)config, sizeof config - 1, &s, &o, &raw, &n, &err), 0);
    static const struct {
        size_t off;
        uint8_t tag;
    } sgn_at[] = {{0, 1}, {5, 2}, {10, 3}, {84, 7}, {87, 8}, {91, 9}, {94, 10}, {98, 11}, {102, 12}, {361, 14},
                  {392, 15}, {399, 13}};
    for (size_t i = 0; i < sizeof sgn_at / sizeof sgn_at[0]; i++)
        assert_int_equal(raw[sgn_at[i].off], sgn_at[i].tag);
    assert_int_equal(raw[8] << 8 | raw[9], 400);
    assert_int_equal(raw[11] << 8 | raw[12], 71);
    assert_int_equal(raw[101], 2);
    free(raw);

    /* The .enc.sgn: 12@102, 14@361, 15@396, 16@403 (len 306), 17@406
     * (len 28), 18@409, 19@413, 20@432, 21@437 (len 272), 22@440, 23@444
     * (=0x0800), 24@449, 25@453 (len 256), 26@712, 27@716, pad@739,
     * header length 740. */
    o.filename = "SEP001122334455.cnf.xml.enc.sgn";
    assert_int_equal(ck_encsgn_build((const uint8_t *)config, sizeof config - 1, &s, &o, big_phone, &raw, &n, &err),
                     0);
    static const struct {
        size_t off;
        uint8_t tag;
        int len; /* -1: not checked */
    } enc_at[] = {{0, 1, 2},     {102, 12, 256}, {361, 14, 32}, {396, 15, 4},  {403, 16, 306}, {406, 17, 28},
                  {409, 18, 1},  {413, 19, 16},  {432, 20, 2},  {437, 21, 272}, {440, 22, 1},  {444, 23, 2},
                  {449, 24, 1},  {453, 25, 256}, {712, 26, 1},  {716, 27, 20}};
    for (size_t i = 0; i < sizeof enc_at / sizeof enc_at[0]; i++) {
        assert_int_equal(raw[enc_at[i].off], enc_at[i].tag);
        assert_int_equal(raw[enc_at[i].off + 1] << 8 | raw[enc_at[i].off + 2], enc_at[i].len);
    }
    assert_int_equal(raw[739], 0x0d);
    assert_int_equal(raw[8] << 8 | raw[9], 740);
    assert_int_equal(raw[447] << 8 | raw[448], 0x0800);
    assert_int_equal(raw[1 + 3], 0); /* version 2.0 */
    assert_int_equal(raw[3], 2);
    assert_int_equal(raw[412], 0); /* tag 18 */
    assert_int_equal(raw[443], 0); /* tag 22 */
    assert_int_equal(raw[452], 1); /* tag 24 */
    assert_int_equal(raw[715], 1); /* tag 26: SHA-1 */

    /* What plain OpenSSL sees: tag 25 unwraps (PKCS#1 v1.5) to 16 bytes,
     * and AES-128-CBC without padding gives the XML then 0x0D bytes. */
    uint8_t key[512];
    size_t kn = sizeof key;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(big_key, NULL);
    assert_int_equal(EVP_PKEY_decrypt_init(c), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING), 1);
    assert_int_equal(EVP_PKEY_decrypt(c, key, &kn, raw + 456, 256), 1);
    EVP_PKEY_CTX_free(c);
    assert_int_equal(kn, 16);
    size_t cn = n - 740;
    uint8_t *plain = malloc(cn);
    int l1 = 0, l2 = 0;
    EVP_CIPHER_CTX *cc = EVP_CIPHER_CTX_new();
    assert_int_equal(EVP_DecryptInit_ex(cc, EVP_aes_128_cbc(), NULL, key, raw + 416), 1);
    EVP_CIPHER_CTX_set_padding(cc, 0);
    assert_int_equal(EVP_DecryptUpdate(cc, plain, &l1, raw + 740, (int)cn), 1);
    assert_int_equal(EVP_DecryptFinal_ex(cc, plain + l1, &l2), 1);
    EVP_CIPHER_CTX_free(cc);
    size_t pad = raw[435] << 8 | raw[436];
    assert_int_equal(pad, 16 - (sizeof config - 1) % 16);
    assert_int_equal(cn, sizeof config - 1 + pad);
    assert_memory_equal(plain, config, sizeof config - 1);
    for (size_t i = sizeof config - 1; i < cn; i++)
        assert_int_equal(plain[i], 0x0d);
    uint8_t sha1[20];
    EVP_Digest(config, sizeof config - 1, sha1, NULL, EVP_sha1(), NULL);
    assert_memory_equal(raw + 719, sha1, 20);
    free(plain);
    free(raw);

    /* With SHA-512, tag 27 grows to 64 bytes and the header to 784. */
    o.digest_alg = CK_DIGEST_SHA512;
    assert_int_equal(ck_encsgn_build((const uint8_t *)config, sizeof config - 1, &s, &o, big_phone, &raw, &n, &err),
                     0);
    assert_int_equal(raw[8] << 8 | raw[9], 784);
    ck_tl_file *f = NULL;
    assert_int_equal(ck_sgn_parse(raw, n, &f, &err), 0);
    assert_int_equal(f->enc.digest.n, 64);
    assert_int_equal(ck_tl_verify_with(f, signer, &err), 0);
    ck_tl_free(f);
    free(raw);
    X509_free(signer);
    EVP_PKEY_free(skey);
}

/* Every cut is refused: by the parser (with a message), or, on a block
 * boundary inside the ciphertext, by the signature and by decryption. */
static void test_truncate(void **state)
{
    size_t n = 0;
    uint8_t *raw = enc_build(config, sizeof config - 1, CK_DIGEST_SHA1, phone, &n);
    size_t parse_errors = 0, later = 0;
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
            assert_int_equal(ck_tl_verify_with(f, tftp, &err), -1);
            assert_int_equal(err.code, CK_ESIGNATURE);
            uint8_t *p = NULL;
            size_t m = 0;
            assert_int_equal(ck_encsgn_decrypt(f, phone_key, &p, &m, &err), -1);
            assert_int_equal(err.code, CK_EDENIED);
            assert_null(p);
            later++;
            ck_tl_free(f);
        }
        free(t);
    }
    assert_true(parse_errors > 0);
    assert_true(later > 0);
    free(raw);
}

/* Every single-bit flip: refused by the parser, or the signature no longer
 * verifies; where it hits what decryption reads, decryption refuses too. */
static void test_bit_flips(void **state)
{
    size_t n = 0;
    uint8_t *raw = enc_build(config, sizeof config - 1, CK_DIGEST_SHA1, phone, &n);
    ck_tl_file *g = NULL;
    ck_err err = {0};
    assert_int_equal(ck_sgn_parse(raw, n, &g, &err), 0);
    size_t key_off = (size_t)(g->enc.wrapped_key.p - g->raw), key_end = key_off + g->enc.wrapped_key.n;
    size_t dig_off = (size_t)(g->enc.digest.p - g->raw), dig_end = dig_off + g->enc.digest.n;
    size_t hdr = g->header_len;
    ck_tl_free(g);
    size_t format = 0, denied = 0;
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit++) {
            raw[i] ^= (uint8_t)(1u << bit);
            ck_tl_file *f = NULL;
            if (ck_sgn_parse(raw, n, &f, &err) == 0) {
                if (ck_tl_verify_with(f, tftp, &err) == 0)
                    fail_msg("flipped bit %d of byte %zu still verifies", bit, i);
                assert_int_not_equal(err.code, CK_OK);
                uint8_t *p = NULL;
                size_t m = 0;
                int rc = ck_encsgn_decrypt(f, phone_key, &p, &m, &err);
                if ((i >= key_off && i < key_end) || (i >= dig_off && i < dig_end) || i >= hdr) {
                    if (rc == 0)
                        fail_msg("flipped bit %d of byte %zu still decrypts", bit, i);
                    assert_true(err.code == CK_EDENIED || err.code == CK_EINVAL);
                    denied++;
                }
                free(p);
                ck_tl_free(f);
            } else {
                assert_int_equal(err.code, CK_EFORMAT);
                format++;
            }
            raw[i] ^= (uint8_t)(1u << bit);
        }
    assert_true(format > 0);
    assert_true(denied > 0);
    free(raw);
}

static void test_wrong_key(void **state)
{
    size_t n = 0, m = 0;
    uint8_t *raw = enc_build(config, sizeof config - 1, CK_DIGEST_SHA1, phone, &n);
    ck_tl_file *f = NULL;
    ck_err err = {0};
    uint8_t *p = NULL;
    assert_int_equal(ck_sgn_parse(raw, n, &f, &err), 0);
    /* Another phone's key of the same size. */
    assert_int_equal(ck_encsgn_decrypt(f, other_key, &p, &m, &err), -1);
    assert_int_equal(err.code, CK_EDENIED);
    assert_non_null(strstr(err.msg, "key"));
    assert_null(p);
    /* Another size. */
    assert_int_equal(ck_encsgn_decrypt(f, big_key, &p, &m, &err), -1);
    assert_int_equal(err.code, CK_EDENIED);
    assert_non_null(strstr(err.msg, "1024-bit"));
    /* Not RSA. */
    X509 *ec = NULL;
    EVP_PKEY *eck = NULL;
    assert_int_equal(ck_cert_generate(&(ck_cert_params){.cn = "ec", .curve = "P-256"}, &ec, &eck, &err), 0);
    assert_int_equal(ck_encsgn_decrypt(f, eck, &p, &m, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
    ck_tl_free(f);
    free(raw);

    /* An EC recipient is refused when building, clearly. */
    ck_tl_signer s;
    ck_tl_signer_key(&s, tftp, tftp_key);
    assert_int_equal(ck_encsgn_build((const uint8_t *)config, 10, &s, NULL, ec, &raw, &n, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
    assert_non_null(strstr(err.msg, "RSA"));
    /* A plain .sgn is not encrypted. */
    assert_int_equal(ck_sgn_build((const uint8_t *)config, 10, &s, NULL, &raw, &n, &err), 0);
    assert_int_equal(ck_sgn_parse(raw, n, &f, &err), 0);
    assert_false(f->enc.present);
    assert_int_equal(ck_encsgn_decrypt(f, phone_key, &p, &m, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
    assert_non_null(strstr(err.msg, "not an encrypted file"));
    ck_tl_free(f);
    free(raw);
    X509_free(ec);
    EVP_PKEY_free(eck);
}

/* A 2.0 header without its block, and the block in a 1.0 header or in a
 * trust list, are refused. */
static void test_version_and_block(void **state)
{
    ck_tl_signer s;
    ck_tl_signer_key(&s, tftp, tftp_key);
    ck_tl_build_opts o = {.ver_major = 2, .filename = "x"};
    uint8_t *raw = NULL;
    size_t n = 0;
    ck_err err = {0};
    ck_tl_file *f = NULL;
    assert_int_equal(ck_sgn_build((const uint8_t *)config, 16, &s, &o, &raw, &n, &err), 0);
    assert_int_equal(ck_sgn_parse(raw, n, &f, &err), -1);
    assert_non_null(strstr(err.msg, "lacks its ENCRYPTIONINFO"));
    free(raw);

    raw = enc_build(config, 40, CK_DIGEST_SHA1, phone, &n);
    raw[4] = 0; /* version 2.0 -> 1.0... */
    raw[3] = 1;
    assert_int_equal(ck_sgn_parse(raw, n, &f, &err), -1);
    assert_non_null(strstr(err.msg, "carries encryption elements"));
    raw[3] = 2;
    raw[4] = 1;
    assert_int_equal(ck_sgn_parse(raw, n, &f, &err), -1);
    assert_non_null(strstr(err.msg, "2.1"));
    raw[4] = 0;
    assert_int_equal(ck_tl_parse(raw, n, &f, &err), -1);
    assert_non_null(strstr(err.msg, "unknown header tag 16"));
    free(raw);
}

static void test_stub(void **state)
{
    char *stub = NULL;
    size_t n = 0;
    ck_err err = {0};
    assert_int_equal(ck_encsgn_stub((const uint8_t *)config, sizeof config - 1, phone, &stub, &n, &err), 0);
    assert_int_equal(strlen(stub), n);
    uint8_t md5[16];
    unsigned ml = 0;
    char want[200], hex[33];
    assert_int_equal(ck_cert_fingerprint(phone, "md5", md5, &ml), 0);
    for (size_t i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", md5[i]);
    snprintf(want,
             sizeof want, "%s", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<device>\n  <fullConfig>false</fullConfig>\n"
                                "  <ipAddressMode>0</ipAddressMode>\n");
    assert_memory_equal(stub, want, strlen(want));
    assert_non_null(strstr(stub, "  <loadInformation>SCCP75.9-3-1SR4-1S</loadInformation>\n"
                                 "  <capfAuthMode>1</capfAuthMode>\n  <capfList>\n    <capf><phonePort>3804"));
    snprintf(want, sizeof want, "</capfList>\n  <certHash>%s</certHash>\n  <encrConfig>true</encrConfig>\n</device>\n",
             hex);
    assert_non_null(strstr(stub, want));
    assert_null(strstr(stub, "sipProfile"));
    assert_null(strstr(stub, "deviceProtocol"));
    free(stub);

    /* Only what is there; a self-closed element as it is. */
    static const char small[] = "<device><capfAuthMode/><capfListed>1</capfListed></device>";
    assert_int_equal(ck_encsgn_stub((const uint8_t *)small, sizeof small - 1, phone, &stub, &n, &err), 0);
    assert_non_null(strstr(stub, "  <capfAuthMode/>\n  <certHash>"));
    assert_null(strstr(stub, "capfListed"));
    free(stub);

    static const char not_device[] = "<?xml version=\"1.0\"?><devices><device/></devices>";
    assert_int_equal(ck_encsgn_stub((const uint8_t *)not_device, sizeof not_device - 1, phone, &stub, &n, &err), -1);
    assert_int_equal(err.code, CK_EFORMAT);
    assert_non_null(strstr(err.msg, "<device>"));
    static const char open[] = "<device><capfList><capf></capf></device>";
    assert_int_equal(ck_encsgn_stub((const uint8_t *)open, sizeof open - 1, phone, &stub, &n, &err), -1);
    assert_non_null(strstr(err.msg, "<capfList> element is not closed"));
    assert_null(stub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),  cmocka_unit_test(test_doc_layout),
        cmocka_unit_test(test_truncate),   cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_wrong_key),  cmocka_unit_test(test_version_and_block),
        cmocka_unit_test(test_stub),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
