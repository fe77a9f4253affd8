/* Unit tests of certificate loading, CUCM-style names, serials,
 * fingerprints and generation (lib/x509). */
#include "testutil.h"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctlkit/bytes.h"
#include "ctlkit/fileio.h"
#include "ctlkit/x509.h"

/* One RSA-1024 and one P-256 certificate shared by the tests. */
static X509 *rsa_cert, *ec_cert, *other_cert;
static EVP_PKEY *rsa_key, *ec_key, *other_key;
static char *rsa_pem_cert, *rsa_pem_key; /* PEM texts */

static char *key_pem(EVP_PKEY *k)
{
    BIO *bio = BIO_new(BIO_s_mem());
    assert_true(PEM_write_bio_PrivateKey(bio, k, NULL, NULL, 0, NULL, NULL));
    char *mem = NULL;
    long n = BIO_get_mem_data(bio, &mem);
    char *s = malloc((size_t)n + 1);
    memcpy(s, mem, (size_t)n);
    s[n] = '\0';
    BIO_free(bio);
    return s;
}

static int setup(void **state)
{
    ck_err err = {0};
    ck_cert_params p = {.cn = "cucm-1051-a-pub", .ou = "TAC", .o = "Cisco", .l = "Krakow", .st = "Malopolska",
                        .c = "PL", .rsa_bits = 1024, .digest = "sha1"};
    if (ck_cert_generate(&p, &rsa_cert, &rsa_key, &err) < 0)
        return -1;
    ck_cert_params e = {.cn = "tvs-ec", .curve = "P-256"};
    if (ck_cert_generate(&e, &ec_cert, &ec_key, &err) < 0)
        return -1;
    ck_cert_params o = {.cn = "other", .rsa_bits = 1024};
    if (ck_cert_generate(&o, &other_cert, &other_key, &err) < 0)
        return -1;
    rsa_pem_cert = ck_cert_to_pem(rsa_cert);
    rsa_pem_key = key_pem(rsa_key);
    return 0;
}

static int teardown(void **state)
{
    X509_free(rsa_cert);
    X509_free(ec_cert);
    X509_free(other_cert);
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(ec_key);
    EVP_PKEY_free(other_key);
    free(rsa_pem_cert);
    free(rsa_pem_key);
    return 0;
}

static bool same_cert(X509 *a, X509 *b) { return a && b && X509_cmp(a, b) == 0; }

static void expect_msg(const ck_err *err, ck_code code, const char *needle)
{
    if (err->code != code)
        fail_msg("code %s, expected %s (%s)", ck_code_name(err->code), ck_code_name(code), err->msg);
    if (!strstr(err->msg, needle))
        fail_msg("message '%s' does not contain '%s'", err->msg, needle);
}

static char *concat(const char *a, const char *b)
{
    char *s = malloc(strlen(a) + strlen(b) + 1);
    strcpy(s, a);
    strcat(s, b);
    return s;
}

static void test_load_pem_orders(void **state)
{
    const char *orders[2][2] = {{rsa_pem_key, rsa_pem_cert}, {rsa_pem_cert, rsa_pem_key}};
    for (int i = 0; i < 2; i++) {
        char *pem = concat(orders[i][0], orders[i][1]);
        X509 *c = NULL;
        EVP_PKEY *k = NULL;
        ck_err err = {0};
        assert_int_equal(ck_load_pem_mem(pem, strlen(pem), &c, &k, true, &err), 0);
        assert_true(same_cert(c, rsa_cert));
        assert_non_null(k);
        assert_int_equal(EVP_PKEY_eq(k, rsa_key), 1);
        X509_free(c);
        EVP_PKEY_free(k);
        free(pem);
    }
}

static void test_load_cert_only(void **state)
{
    X509 *c = NULL;
    EVP_PKEY *k = (EVP_PKEY *)1;
    ck_err err = {0};
    /* A certificate alone: fine when the key is not needed. */
    assert_int_equal(ck_load_pem_mem(rsa_pem_cert, strlen(rsa_pem_cert), &c, &k, false, &err), 0);
    assert_true(same_cert(c, rsa_cert));
    assert_null(k);
    X509_free(c);
    c = NULL;
    assert_int_equal(ck_load_pem_mem(rsa_pem_cert, strlen(rsa_pem_cert), &c, &k, true, &err), -1);
    expect_msg(&err, CK_EFORMAT, "no private key");
    assert_null(c);
    /* A key alone, when no certificate is wanted. */
    k = NULL;
    assert_int_equal(ck_load_pem_mem(rsa_pem_key, strlen(rsa_pem_key), NULL, &k, true, &err), 0);
    assert_int_equal(EVP_PKEY_eq(k, rsa_key), 1);
    EVP_PKEY_free(k);
    /* ... but a wanted certificate that is absent is an error. */
    assert_int_equal(ck_load_pem_mem(rsa_pem_key, strlen(rsa_pem_key), &c, NULL, false, &err), -1);
    expect_msg(&err, CK_EFORMAT, "no certificate");
}

static void test_load_separate_files(void **state)
{
    const char *dir = tu_tmpdir();
    char cpath[512], kpath[512], both[512];
    ck_err err = {0};
    snprintf(cpath, sizeof cpath, "%s/c.pem", dir);
    snprintf(kpath, sizeof kpath, "%s/k.pem", dir);
    snprintf(both, sizeof both, "%s/both.pem", dir);
    assert_int_equal(ck_write_cert_pem(cpath, rsa_cert, &err), 0);
    assert_int_equal(ck_write_key_cert_pem(kpath, rsa_key, NULL, &err), 0);
    assert_int_equal(ck_write_key_cert_pem(both, rsa_key, rsa_cert, &err), 0);
    struct stat st;
    assert_int_equal(stat(cpath, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(stat(kpath, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* keys are private */
    assert_int_equal(stat(both, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    X509 *c = NULL;
    EVP_PKEY *k = NULL;
    assert_int_equal(ck_load_pem(cpath, &c, NULL, false, &err), 0);
    assert_int_equal(ck_load_pem(kpath, NULL, &k, true, &err), 0);
    assert_true(same_cert(c, rsa_cert));
    assert_int_equal(X509_check_private_key(c, k), 1);
    X509_free(c);
    EVP_PKEY_free(k);
    c = NULL;
    k = NULL;
    assert_int_equal(ck_load_pem(both, &c, &k, true, &err), 0);
    assert_true(same_cert(c, rsa_cert));
    X509_free(c);
    EVP_PKEY_free(k);

    /* A missing file names the path. */
    char missing[512];
    snprintf(missing, sizeof missing, "%s/nope.pem", dir);
    assert_int_equal(ck_load_pem(missing, &c, NULL, false, &err), -1);
    assert_non_null(strstr(err.msg, "nope.pem"));
    tu_rmtree(dir);
}

static void test_load_der(void **state)
{
    uint8_t *der = NULL;
    size_t n = 0;
    ck_err err = {0};
    assert_int_equal(ck_cert_to_der(rsa_cert, &der, &n, &err), 0);
    X509 *c = NULL;
    assert_int_equal(ck_load_pem_mem(der, n, &c, NULL, false, &err), 0);
    assert_true(same_cert(c, rsa_cert));
    X509_free(c);
    c = ck_cert_from_der(der, n, &err);
    assert_true(same_cert(c, rsa_cert));
    X509_free(c);
    /* Exactly len bytes: a trailing byte or a missing one is refused. */
    uint8_t *longer = malloc(n + 1);
    memcpy(longer, der, n);
    longer[n] = 0;
    assert_null(ck_cert_from_der(longer, n + 1, &err));
    expect_msg(&err, CK_EFORMAT, "1 bytes after the certificate");
    assert_int_equal(ck_load_pem_mem(longer, n + 1, &c, NULL, false, &err), -1);
    assert_int_equal(err.code, CK_EFORMAT);
    assert_null(ck_cert_from_der(der, n - 1, &err));
    assert_int_equal(err.code, CK_EFORMAT);
    assert_null(ck_cert_from_der(der, 0, &err));
    expect_msg(&err, CK_EFORMAT, "out of range");
    free(longer);
    free(der);
}

static void test_load_garbage(void **state)
{
    X509 *c = NULL;
    EVP_PKEY *k = NULL;
    ck_err err = {0};
    static const char junk[] = "this is not a certificate at all";
    assert_int_equal(ck_load_pem_mem(junk, sizeof junk - 1, &c, &k, false, &err), -1);
    expect_msg(&err, CK_EFORMAT, "neither PEM nor a DER certificate");
    static const char bad_pem[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert_int_equal(ck_load_pem_mem(bad_pem, sizeof bad_pem - 1, &c, &k, false, &err), -1);
    expect_msg(&err, CK_EFORMAT, "no certificate");
    assert_int_equal(ck_load_pem_mem("", 0, &c, &k, false, &err), -1);
    assert_int_equal(err.code, CK_EFORMAT);
    assert_null(c);
    assert_null(k);
}

static void test_load_key_mismatch(void **state)
{
    char *okey = key_pem(other_key);
    char *pem = concat(rsa_pem_cert, okey);
    X509 *c = NULL;
    EVP_PKEY *k = NULL;
    ck_err err = {0};
    assert_int_equal(ck_load_pem_mem(pem, strlen(pem), &c, &k, true, &err), -1);
    expect_msg(&err, CK_EFORMAT, "does not belong to the certificate");
    assert_null(c);
    assert_null(k);
    free(pem);
    free(okey);
}

static X509_NAME *name_of(const char *const *pairs)
{
    X509_NAME *n = X509_NAME_new();
    for (; pairs[0]; pairs += 2)
        assert_true(X509_NAME_add_entry_by_txt(n, pairs[0], MBSTRING_UTF8, (const unsigned char *)pairs[1], -1, -1,
                                               0));
    return n;
}

static void test_name_cucm(void **state)
{
    /* The seed's name comes out exactly as CUCM prints it: 61 characters. */
    char *s = ck_name_cucm(X509_get_subject_name(rsa_cert));
    assert_string_equal(s, "CN=cucm-1051-a-pub;OU=TAC;O=Cisco;L=Krakow;ST=Malopolska;C=PL");
    assert_int_equal(strlen(s), 61);
    free(s);

    /* Any input order gives CN;OU;O;L;ST;C, then the rest in input order. */
    static const char *const scrambled[] = {"C", "PL", "emailAddress", "a@b.c", "ST", "Malopolska", "L", "Krakow",
                                            "O", "Cisco", "serialNumber", "42", "OU", "TAC", "CN", "x", NULL};
    X509_NAME *n = name_of(scrambled);
    s = ck_name_cucm(n);
    assert_string_equal(s, "CN=x;OU=TAC;O=Cisco;L=Krakow;ST=Malopolska;C=PL;emailAddress=a@b.c;serialNumber=42");
    free(s);
    X509_NAME_free(n);

    /* Missing attributes are skipped; repeated ones all appear; UTF-8 kept. */
    static const char *const partial[] = {"OU", "B", "CN", "k\xc3\xb3" "d", "OU", "A", "1.2.3.4", "v", NULL};
    n = name_of(partial);
    s = ck_name_cucm(n);
    assert_string_equal(s, "CN=k\xc3\xb3" "d;OU=B;OU=A;UNKNOWN=v");
    free(s);
    X509_NAME_free(n);

    n = X509_NAME_new();
    s = ck_name_cucm(n);
    assert_string_equal(s, "");
    free(s);
    X509_NAME_free(n);

    s = ck_name_oneline(X509_get_subject_name(rsa_cert));
    assert_non_null(strstr(s, "CN=cucm-1051-a-pub"));
    free(s);
}

static X509 *cert_with_serial(const uint8_t *serial, size_t n)
{
    X509 *c = NULL;
    EVP_PKEY *k = NULL;
    ck_err err = {0};
    ck_cert_params p = {.cn = "serial", .curve = "P-256", .serial = serial, .serial_len = n};
    if (ck_cert_generate(&p, &c, &k, &err) < 0)
        fail_msg("%s", err.msg);
    EVP_PKEY_free(k);
    return c;
}

static void test_serials(void **state)
{
    uint8_t out[64];
    char hex[80];
    static const uint8_t seed[16] = {0x70, 0xCA, 0xF6, 0x4E, 0x09, 0x07, 0x51, 0xB9,
                                     0xDF, 0x22, 0xF4, 0x9F, 0x75, 0x4F, 0xC5, 0xBB};
    X509 *c = cert_with_serial(seed, 16);
    assert_int_equal(ck_cert_serial(c, out, sizeof out), 16);
    assert_memory_equal(out, seed, 16);
    ck_cert_serial_hex(c, hex, sizeof hex);
    assert_string_equal(hex, "70CAF64E090751B9DF22F49F754FC5BB");
    assert_int_equal(ck_cert_serial(c, out, 15), -1); /* does not fit */
    X509_free(c);

    /* High bit set: DER adds a 0x00 sign byte, the trust list does not. */
    static const uint8_t high[16] = {0xBF, 0x30, 0x88, 0x97, 0x6B, 0xB5, 0x38, 0x7A,
                                     0xB3, 0xC1, 0x81, 0x13, 0xA3, 0x84, 0xB9, 0x7D};
    c = cert_with_serial(high, 16);
    const ASN1_INTEGER *ai = X509_get0_serialNumber(c);
    unsigned char *der = NULL;
    int dn = i2d_ASN1_INTEGER((ASN1_INTEGER *)ai, &der);
    assert_int_equal(dn, 2 + 17); /* tag, length, 0x00, 16 bytes */
    assert_int_equal(der[2], 0x00);
    OPENSSL_free(der);
    assert_int_equal(ck_cert_serial(c, out, sizeof out), 16);
    assert_memory_equal(out, high, 16);
    X509_free(c);

    /* Leading zero bytes are not part of the magnitude; zero is one byte. */
    static const uint8_t lead[3] = {0x00, 0x00, 0x05};
    c = cert_with_serial(lead, 3);
    assert_int_equal(ck_cert_serial(c, out, sizeof out), 1);
    assert_int_equal(out[0], 5);
    X509_free(c);
    static const uint8_t zero[1] = {0};
    c = cert_with_serial(zero, 1);
    assert_int_equal(ck_cert_serial(c, out, sizeof out), 1);
    assert_int_equal(out[0], 0);
    ck_cert_serial_hex(c, hex, sizeof hex);
    assert_string_equal(hex, "00");
    X509_free(c);

    /* Random serials: 16 bytes, positive. */
    assert_int_equal(ck_cert_serial(rsa_cert, out, sizeof out), 16);
    assert_true(out[0] < 0x80 && out[0] >= 0x40);
}

/* The fingerprint `openssl x509 -fingerprint -<md>` prints for a PEM file. */
static void openssl_fingerprint(const char *path, const char *md, char *out, size_t outsz)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "openssl x509 -in '%s' -noout -fingerprint -%s", path, md);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[512] = "";
    assert_non_null(fgets(line, sizeof line, p));
    assert_int_equal(pclose(p), 0);
    char *eq = strchr(line, '=');
    assert_non_null(eq);
    snprintf(out, outsz, "%s", eq + 1);
    out[strcspn(out, "\r\n")] = '\0';
}

static void check_fingerprints(X509 *c, const char *path)
{
    static const struct {
        const char *md;
        unsigned len;
    } mds[] = {{"md5", 16}, {"sha1", 20}, {"sha256", 32}};
    for (size_t i = 0; i < 3; i++) {
        uint8_t d[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        char mine[200], theirs[200];
        assert_int_equal(ck_cert_fingerprint(c, mds[i].md, d, &n), 0);
        assert_int_equal(n, mds[i].len);
        ck_hex(d, n, ':', true, mine, sizeof mine);
        openssl_fingerprint(path, mds[i].md, theirs, sizeof theirs);
        assert_string_equal(mine, theirs);
    }
}

static void test_fingerprints(void **state)
{
    const char *dir = tu_tmpdir();
    char path[512];
    ck_err err = {0};
    snprintf(path, sizeof path, "%s/c.pem", dir);
    X509 *certs[] = {rsa_cert, ec_cert};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(ck_write_cert_pem(path, certs[i], &err), 0);
        check_fingerprints(certs[i], path);
    }
    /* And a certificate written by someone else (the vectors). */
    X509 *sast = NULL;
    assert_int_equal(ck_load_pem(tu_vector("sast.crt.pem"), &sast, NULL, false, &err), 0);
    check_fingerprints(sast, tu_vector("sast.crt.pem"));
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    char hex[100];
    assert_int_equal(ck_cert_fingerprint(sast, "sha1", d, &n), 0);
    ck_hex(d, n, ':', true, hex, sizeof hex);
    assert_string_equal(hex, "18:83:72:11:BD:EF:FA:D9:3B:21:78:9A:AA:50:E6:43:23:8F:EE:BC");
    assert_int_equal(ck_cert_fingerprint(sast, "no-such-digest", d, &n), -1);
    X509_free(sast);
    tu_rmtree(dir);
}

static void check_generated(const ck_cert_params *p, int want_bits, size_t want_pub, int want_type)
{
    X509 *c = NULL;
    EVP_PKEY *k = NULL;
    ck_err err = {0};
    if (ck_cert_generate(p, &c, &k, &err) < 0)
        fail_msg("%s", err.msg);
    EVP_PKEY *pub = X509_get0_pubkey(c);
    assert_int_equal(EVP_PKEY_get_base_id(pub), want_type);
    assert_int_equal(EVP_PKEY_get_bits(pub), want_bits);
    assert_int_equal(ck_rsa_bits(pub), want_type == EVP_PKEY_RSA ? want_bits : 0);
    assert_int_equal(X509_check_private_key(c, k), 1);
    /* Self-signed: subject = issuer, and the signature checks. */
    assert_int_equal(X509_NAME_cmp(X509_get_subject_name(c), X509_get_issuer_name(c)), 0);
    assert_int_equal(X509_verify(c, pub), 1);
    assert_int_equal(X509_get_version(c), 2);
    uint8_t *tl = NULL;
    size_t n = 0;
    assert_int_equal(ck_pubkey_tl_bytes(pub, &tl, &n, &err), 0);
    assert_int_equal(n, want_pub);
    if (want_type == EVP_PKEY_EC)
        assert_int_equal(tl[0], 0x04); /* uncompressed point */
    else
        assert_int_equal(tl[0], 0x30); /* DER SEQUENCE (PKCS#1) */
    free(tl);
    const uint8_t *sig = NULL;
    size_t sig_len = 0;
    assert_int_equal(ck_cert_signature_bytes(c, &sig, &sig_len), 0);
    if (want_type == EVP_PKEY_RSA)
        assert_int_equal(sig_len, (size_t)want_bits / 8);
    /* Five years by default, ending one second before the last day does
     * (CUCM: From 18:31:39, To 18:31:38 five years on). */
    int days = 0, secs = 0;
    assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(c), X509_get0_notAfter(c)), 1);
    assert_int_equal(days, (p->days ? p->days : 1825) - 1);
    assert_int_equal(secs, 86399);
    uint32_t ku = X509_get_key_usage(c);
    assert_true(ku & KU_DIGITAL_SIGNATURE);
    assert_true(ku & KU_KEY_CERT_SIGN);
    X509_free(c);
    EVP_PKEY_free(k);
}

static void test_generate_rsa(void **state)
{
    int sizes[] = {1024, 2048, 4096};
    size_t pub[] = {140, 270, 526};
    for (int i = 0; i < 3; i++) {
        ck_cert_params p = {.cn = "n", .rsa_bits = sizes[i], .days = i == 1 ? 30 : 0};
        check_generated(&p, sizes[i], pub[i], EVP_PKEY_RSA);
    }
    ck_cert_params d = {.cn = "default"}; /* RSA-2048 by default */
    check_generated(&d, 2048, 270, EVP_PKEY_RSA);
}

static void test_generate_ec(void **state)
{
    ck_cert_params p256 = {.cn = "e", .curve = "P-256"};
    check_generated(&p256, 256, 65, EVP_PKEY_EC);
    ck_cert_params p384 = {.cn = "e", .curve = "P-384", .digest = "sha384"};
    check_generated(&p384, 384, 97, EVP_PKEY_EC);
}

static void test_generate_issued(void **state)
{
    X509 *c = NULL;
    EVP_PKEY *k = NULL;
    ck_err err = {0};
    ck_cert_params p = {.cn = "leaf", .rsa_bits = 1024, .issuer_cert = rsa_cert, .issuer_key = rsa_key};
    assert_int_equal(ck_cert_generate(&p, &c, &k, &err), 0);
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(c), X509_get_subject_name(rsa_cert)), 0);
    assert_int_equal(X509_verify(c, rsa_key), 1);
    assert_int_equal(X509_verify(c, k), 0);
    char *issuer = ck_name_cucm(X509_get_issuer_name(c));
    assert_string_equal(issuer, "CN=cucm-1051-a-pub;OU=TAC;O=Cisco;L=Krakow;ST=Malopolska;C=PL");
    free(issuer);
    X509_free(c);
    EVP_PKEY_free(k);
}

static void test_generate_bad(void **state)
{
    static const uint8_t s21[21] = {1};
    const struct {
        ck_cert_params p;
        const char *needle;
    } bad[] = {
        {{.cn = "x", .rsa_bits = 3000}, "RSA key size 3000"},
        {{.cn = "x", .rsa_bits = 512}, "RSA key size 512"},
        {{.cn = "x", .curve = "P-521"}, "unknown curve 'P-521'"},
        {{.cn = NULL}, "common name"},
        {{.cn = ""}, "common name"},
        {{.cn = "x", .digest = "md17"}, "unknown digest 'md17'"},
        {{.cn = "x", .curve = "P-256", .serial = s21, .serial_len = 21}, "serial must be 1 to 20 bytes"},
        {{.cn = "x", .curve = "P-256", .serial = s21, .serial_len = 0}, "serial must be 1 to 20 bytes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        X509 *c = NULL;
        EVP_PKEY *k = NULL;
        ck_err err = {0};
        assert_int_equal(ck_cert_generate(&bad[i].p, &c, &k, &err), -1);
        expect_msg(&err, CK_EINVAL, bad[i].needle);
        assert_null(c);
        assert_null(k);
    }
}

static void test_hex_decode(void **state)
{
    uint8_t out[8];
    size_t n = 0;
    assert_int_equal(ck_hex_decode("70CAf6", out, sizeof out, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(out[1], 0xca);
    assert_int_equal(ck_hex_decode("70:CA:F6:0e", out, sizeof out, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(out[3], 0x0e);
    assert_int_equal(ck_hex_decode("7", out, sizeof out, &n), -1);     /* odd */
    assert_int_equal(ck_hex_decode("", out, sizeof out, &n), -1);      /* empty */
    assert_int_equal(ck_hex_decode("zz", out, sizeof out, &n), -1);    /* not hex */
    assert_int_equal(ck_hex_decode("0x12", out, sizeof out, &n), -1);  /* no prefix */
    assert_int_equal(ck_hex_decode("000102030405060708", out, sizeof out, &n), -1); /* 9 > 8 */
    assert_int_equal(ck_hex_decode("0001020304050607", out, sizeof out, &n), 0);
    assert_int_equal(n, 8);
}

static void test_pubkey_other_type(void **state)
{
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    assert_non_null(ed);
    uint8_t *p = NULL;
    size_t n = 0;
    ck_err err = {0};
    assert_int_equal(ck_pubkey_tl_bytes(ed, &p, &n, &err), -1);
    expect_msg(&err, CK_EINVAL, "RSA or EC");
    assert_int_equal(ck_rsa_bits(ed), 0);
    assert_int_equal(ck_rsa_bits(NULL), 0);
    EVP_PKEY_free(ed);
}

/* The expiry warning's edges: 30 days, 7 days, the second of expiry. */
static void test_expiry_warning(void **state)
{
    (void)state;
    const int64_t now = 1800000000, day = 86400;
    long days = 99;
    assert_null(ck_cert_expiry_warning(now + 30 * day, now, &days));
    assert_int_equal(days, 30);
    assert_string_equal(ck_cert_expiry_warning(now + 30 * day - 1, now, &days), "30 days");
    assert_int_equal(days, 29);
    assert_string_equal(ck_cert_expiry_warning(now + 7 * day, now, &days), "30 days");
    assert_string_equal(ck_cert_expiry_warning(now + 7 * day - 1, now, &days), "7 days");
    assert_int_equal(days, 6);
    assert_string_equal(ck_cert_expiry_warning(now, now, &days), "7 days");
    assert_int_equal(days, 0);
    assert_string_equal(ck_cert_expiry_warning(now - 1, now, &days), "expired");
    assert_int_equal(days, -1);
    assert_string_equal(ck_cert_expiry_warning(now - day, now, &days), "expired");
    assert_int_equal(days, -1);
    assert_string_equal(ck_cert_expiry_warning(now - day - 1, now, NULL), "expired");
    assert_null(ck_cert_expiry_warning(now + 3650 * day, now, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_pem_orders),  cmocka_unit_test(test_load_cert_only),
        cmocka_unit_test(test_load_separate_files), cmocka_unit_test(test_load_der),
        cmocka_unit_test(test_load_garbage),     cmocka_unit_test(test_load_key_mismatch),
        cmocka_unit_test(test_name_cucm),        cmocka_unit_test(test_serials),
        cmocka_unit_test(test_fingerprints),     cmocka_unit_test(test_generate_rsa),
        cmocka_unit_test(test_generate_ec),      cmocka_unit_test(test_generate_issued),
        cmocka_unit_test(test_generate_bad),     cmocka_unit_test(test_hex_decode),
        cmocka_unit_test(test_pubkey_other_type), cmocka_unit_test(test_expiry_warning),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
