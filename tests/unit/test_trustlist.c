/* Unit tests of the CTL/ITL codec (lib/trustlist): the independent test
 * vectors, build -> parse -> verify round trips, the builder's refusals,
 * strict parsing (each malformed case names its offset), robustness under
 * truncation and byte flips, fidelity to the seed's `show ctl` numbers, and
 * the `show ctl` text and JSON renderings. */
#include "testutil.h"

#include <jansson.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/bytes.h"
#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"

#define TS 1425667513u /* Fri Mar 06 19:45:13 CET 2015, the seed's CTL */

typedef tu_keypair keypair;

/* Generated once for the whole program (RSA-4096 takes a while). */
static keypair seed_pub, seed_capf, seed_sub1; /* the seed's cluster, RSA-1024 SHA1withRSA */
static keypair tok_a, tok_b;                   /* two "eTokens", RSA-1024 */
static keypair rsa2048, rsa4096, ec256;

static void gen(keypair *kp, const ck_cert_params *p) { tu_keypair_gen(kp, p); }

static void gen_seed(keypair *kp, const char *cn, const char *serial_hex)
{
    uint8_t serial[20];
    size_t n = 0;
    if (ck_hex_decode(serial_hex, serial, sizeof serial, &n) < 0)
        fail_msg("bad serial %s", serial_hex);
    ck_cert_params p = {.cn = cn, .ou = "TAC", .o = "Cisco", .l = "Krakow", .st = "Malopolska", .c = "PL",
                        .rsa_bits = 1024, .digest = "sha1", .serial = serial, .serial_len = n};
    gen(kp, &p);
}

static int setup(void **state)
{
    gen_seed(&seed_pub, "cucm-1051-a-pub", "70CAF64E090751B9DF22F49F754FC5BB");
    gen_seed(&seed_capf, "CAPF-e41e7d87", "744B4999770496E799E91E81D3C8109B");
    gen_seed(&seed_sub1, "cucm-1051-a-sub1", "6BEBFDCDCD8CA277CB2FD1D183A60E72");
    gen(&tok_a, &(ck_cert_params){.cn = "SAST-ADN008580ef", .ou = "IPCBU", .o = "Cisco Systems", .rsa_bits = 1024});
    gen(&tok_b, &(ck_cert_params){.cn = "SAST-ADN0054f509", .ou = "IPCBU", .o = "Cisco Systems", .rsa_bits = 1024});
    gen(&rsa2048, &(ck_cert_params){.cn = "cucm-2048", .rsa_bits = 2048});
    gen(&rsa4096, &(ck_cert_params){.cn = "cucm-4096", .rsa_bits = 4096});
    gen(&ec256, &(ck_cert_params){.cn = "tvs-ec", .curve = "P-256"});
    return 0;
}

static int teardown(void **state)
{
    keypair *const all[] = {&seed_pub, &seed_capf, &seed_sub1, &tok_a, &tok_b, &rsa2048, &rsa4096, &ec256};
    tu_keypairs_free(all, sizeof all / sizeof all[0]);
    return 0;
}

/* ---------- helpers ---------- */

static void expect_err(const ck_err *err, ck_code code, const char *needle)
{
    if (err->code != code)
        fail_msg("error code %s, expected %s: %s", ck_code_name(err->code), ck_code_name(code), err->msg);
    if (needle && !strstr(err->msg, needle))
        fail_msg("message '%s' does not contain '%s'", err->msg, needle);
}

static int build(const ck_tl_entry *e, size_t n, const keypair *signer, const ck_tl_build_opts *o, uint8_t **out,
                 size_t *len, ck_err *err)
{
    ck_tl_signer s;
    ck_tl_signer_key(&s, signer->cert, signer->key);
    ck_err_clear(err);
    return ck_tl_build(e, n, &s, o, out, len, err);
}

static uint8_t *build_ok(const ck_tl_entry *e, size_t n, const keypair *signer, const ck_tl_build_opts *o,
                         size_t *len)
{
    uint8_t *out = NULL;
    ck_err err;
    if (build(e, n, signer, o, &out, len, &err) < 0)
        fail_msg("build: %s", err.msg);
    return out;
}

static ck_tl_file *parse_ok(const uint8_t *p, size_t n) { return tu_tl_parse(p, n); }

static ck_tl_file *parse_verify_ok(const uint8_t *p, size_t n)
{
    ck_tl_file *f = parse_ok(p, n);
    ck_err err = {0};
    if (ck_tl_verify(f, &err) < 0)
        fail_msg("verify: %s", err.msg);
    return f;
}

/* Offset of the first element with tag in the header (rec < 0) or in
 * record rec (0-based). */
static size_t elem_off(const ck_tl_file *f, int rec, unsigned tag)
{
    size_t first = rec < 0 ? 0 : f->records[rec].elem_first;
    size_t count = rec < 0 ? f->header_elem_count : f->records[rec].elem_count;
    for (size_t i = first; i < first + count; i++)
        if (f->elems[i].tag == tag)
            return f->elems[i].off;
    fail_msg("no tag %u in %s %d", tag, rec < 0 ? "header" : "record", rec + 1);
    return 0;
}

static uint16_t elem_len(const ck_tl_file *f, int rec, unsigned tag)
{
    size_t off = elem_off(f, rec, tag);
    return (uint16_t)(f->raw[off + 1] << 8 | f->raw[off + 2]);
}

static bool rec_has_tag(const ck_tl_file *f, int rec, unsigned tag)
{
    const ck_tl_record *r = &f->records[rec];
    for (size_t i = r->elem_first; i < r->elem_first + r->elem_count; i++)
        if (f->elems[i].tag == tag)
            return true;
    return false;
}

static void cert_sha1(X509 *c, uint8_t out[20])
{
    unsigned n = 0;
    assert_int_equal(ck_cert_fingerprint(c, "sha1", out, &n), 0);
    assert_int_equal(n, 20);
}

static size_t der_len(X509 *c) { return (size_t)i2d_X509(c, NULL); }

/* Re-signs a (modified) file in place with key, over everything but the
 * SIGNATURE element, as the format page says. */
static void resign(uint8_t *buf, size_t len, EVP_PKEY *key, unsigned digest)
{
    ck_tl_file *f = parse_ok(buf, len);
    size_t off = f->sig_elem_off, n = f->signature.n, after = off + 3 + n;
    ck_tl_free(f);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    size_t sig_len = n;
    assert_int_equal(EVP_DigestSignInit(ctx, &pctx, ck_digest_md(digest), NULL, key), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING), 1);
    assert_int_equal(EVP_DigestSignUpdate(ctx, buf, off), 1);
    assert_int_equal(EVP_DigestSignUpdate(ctx, buf + after, len - after), 1);
    assert_int_equal(EVP_DigestSignFinal(ctx, buf + off + 3, &sig_len), 1);
    assert_int_equal(sig_len, n);
    EVP_MD_CTX_free(ctx);
}

/* The seed's tokenless CTL: SAST(pub), CCM+TFTP(pub), CAPF, CCM+TFTP(sub1). */
static uint8_t *build_seed(size_t *len)
{
    ck_tl_entry e[] = {
        {.role = CK_ROLE_SAST, .cert = seed_pub.cert},
        {.role = CK_ROLE_CCM_TFTP, .cert = seed_pub.cert},
        {.role = CK_ROLE_CAPF, .cert = seed_capf.cert, .dns_name = "cucm-1051-a-pub"},
        {.role = CK_ROLE_CCM_TFTP, .cert = seed_sub1.cert},
    };
    ck_tl_build_opts o = {.filename = "CTLFile.tlv", .digest_alg = CK_DIGEST_SHA1, .timestamp = TS};
    return build_ok(e, 4, &seed_pub, &o, len);
}

/* noinline: GCC otherwise warns of a dangling pointer through the
 * memstream's buffer pointer. */
__attribute__((noinline)) static char *show_text(const uint8_t *raw, size_t n, const ck_tl_file *f,
                                                 const ck_tl_show_info *info, const char *perr)
{
    char *s = NULL;
    size_t sn = 0;
    FILE *m = open_memstream(&s, &sn);
    assert_non_null(m);
    ck_tl_show_text(m, raw, n, f, info, perr);
    fclose(m);
    return s;
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("output does not contain '%s':\n%s", needle, hay);
}

/* ---------- the independent vectors ---------- */

static X509 *vector_cert(const char *name)
{
    X509 *c = NULL;
    ck_err err = {0};
    if (ck_load_pem(tu_vector(name), &c, NULL, false, &err) < 0)
        fail_msg("%s", err.msg);
    return c;
}

static void assert_record_cert(const ck_tl_record *r, const char *pem)
{
    X509 *c = vector_cert(pem);
    uint8_t want[20], got[20];
    cert_sha1(c, want);
    SHA1(r->cert.p, r->cert.n, got);
    assert_memory_equal(got, want, 20);
    X509_free(c);
}

static void test_vector_fingerprints(void **state)
{
    static const struct {
        const char *pem, *sha1;
    } v[] = {
        {"sast.crt.pem", "18:83:72:11:BD:EF:FA:D9:3B:21:78:9A:AA:50:E6:43:23:8F:EE:BC"},
        {"ccm.crt.pem", "C8:50:0B:D0:90:02:1A:95:C4:95:4D:05:34:14:F0:62:CA:0A:0B:C9"},
        {"tvs.crt.pem", "D8:95:3A:8A:4C:5B:E9:B2:4F:67:C2:D9:6D:91:73:B1:A1:B3:B7:1F"},
        {"tvs-ec.crt.pem", "89:C8:04:68:D1:53:F8:2E:A9:37:93:A1:FA:B9:53:B1:62:2D:4F:31"},
    };
    for (size_t i = 0; i < 4; i++) {
        X509 *c = vector_cert(v[i].pem);
        uint8_t d[20];
        char hex[80];
        cert_sha1(c, d);
        ck_hex(d, 20, ':', true, hex, sizeof hex);
        assert_string_equal(hex, v[i].sha1);
        X509_free(c);
    }
}

/* What a seed vector holds: its size, signer version 1.sv_minor, digest
 * and records (role, length, the certificate's PEM in tests/data/vectors). */
typedef struct vector_shape {
    const char *file;
    size_t size;
    unsigned sv_minor, digest;
    size_t n_records;
    const unsigned *roles, *lens;
    const char *const *pems;
} vector_shape;

/* Reads, parses and verifies the vector, checks its shape; *raw is the
 * file (free it), the result ck_tl_free'd. */
static ck_tl_file *load_vector(const vector_shape *v, uint8_t **raw)
{
    size_t n = 0;
    *raw = tu_read_file(tu_vector(v->file), &n);
    assert_int_equal(n, v->size);
    ck_tl_file *f = parse_verify_ok(*raw, n);
    assert_int_equal(f->header_len, 388);
    assert_true(f->has_signer_version);
    assert_int_equal(f->sv_major, 1);
    assert_int_equal(f->sv_minor, v->sv_minor);
    assert_int_equal(f->digest_alg, v->digest);
    assert_int_equal(f->n_records, v->n_records);
    for (size_t i = 0; i < v->n_records; i++) {
        assert_int_equal(f->records[i].function, v->roles[i]);
        assert_int_equal(f->records[i].length, v->lens[i]);
        assert_record_cert(&f->records[i], v->pems[i]);
    }
    assert_int_equal(f->signer_index, 0);
    return f;
}

static void test_vector_ctl(void **state)
{
    static const unsigned roles[] = {CK_ROLE_SAST, CK_ROLE_CCM_TFTP, CK_ROLE_TVS, CK_ROLE_CAPF};
    static const unsigned lens[] = {1485, 1506, 723, 1472};
    static const char *const pems[] = {"sast.crt.pem", "ccm.crt.pem", "tvs-ec.crt.pem", "tvs.crt.pem"};
    static const vector_shape shape = {"CTLFile-sha1.tlv", 5574, 0, CK_DIGEST_SHA1, 4, roles, lens, pems};
    uint8_t *raw = NULL;
    ck_tl_file *f = load_vector(&shape, &raw);
    assert_int_equal(f->ver_major, 1);
    assert_int_equal(f->ver_minor, 2);
    assert_int_equal(f->signature.n, 256);
    char serial[64];
    ck_hex(f->signer_serial.p, f->signer_serial.n, 0, true, serial, sizeof serial);
    assert_string_equal(serial, "BF3088976BB5387AB3C18113A384B97D");
    assert_int_equal(f->signer_name.n, strlen("CN=SAST,O=SAST,OU=SAST"));
    assert_memory_equal(f->signer_name.p, "CN=SAST,O=SAST,OU=SAST", f->signer_name.n);
    assert_false(ck_tl_is_itl(f));
    size_t total = f->header_len;
    for (size_t i = 0; i < 4; i++) {
        const ck_tl_record *r = &f->records[i];
        assert_int_equal(r->offset, total);
        /* This writer leaves out DNS names and IP addresses. */
        assert_null(r->dns_name.p);
        assert_false(r->has_ip);
        total += r->length;
    }
    assert_int_equal(total, shape.size);
    /* The EC record's key is an X9.62 uncompressed P-256 point. */
    assert_int_equal(f->records[2].pubkey.n, 65);
    assert_int_equal(f->records[2].pubkey.p[0], 0x04);
    X509 *signer = ck_tl_signer_cert(f, NULL);
    assert_non_null(signer);
    X509 *sast = vector_cert("sast.crt.pem");
    assert_int_equal(X509_cmp(signer, sast), 0);
    X509_free(signer);
    X509_free(sast);
    ck_tl_free(f);
    free(raw);
}

static void test_vector_itl(void **state)
{
    static const unsigned roles[] = {CK_ROLE_SAST, CK_ROLE_CCM, CK_ROLE_TVS};
    static const unsigned lens[] = {1485, 1506, 1472};
    static const char *const pems[] = {"sast.crt.pem", "ccm.crt.pem", "tvs.crt.pem"};
    static const vector_shape shape = {"ITLFile-sha512-v1.1.tlv", 4851, 1, CK_DIGEST_SHA512, 3, roles, lens, pems};
    uint8_t *raw = NULL;
    ck_tl_file *f = load_vector(&shape, &raw);
    assert_true(ck_tl_is_itl(f));
    ck_tl_free(f);
    free(raw);
}

static void test_vector_tampered(void **state)
{
    size_t n = 0, gn = 0;
    uint8_t *raw = tu_read_file(tu_vector("CTLFile-sha1-tampered.tlv"), &n);
    uint8_t *good = tu_read_file(tu_vector("CTLFile-sha1.tlv"), &gn);
    assert_int_equal(n, gn);
    for (size_t i = 0; i < n; i++)
        if (i == 1500) {
            assert_int_equal(raw[i], 0);
            assert_int_not_equal(good[i], 0);
        } else {
            assert_int_equal(raw[i], good[i]);
        }
    ck_tl_file *f = parse_ok(raw, n);
    ck_err err = {0};
    assert_int_equal(ck_tl_verify(f, &err), -1);
    expect_err(&err, CK_ESIGNATURE, "does not match");
    ck_tl_free(f);
    free(raw);
    free(good);
}

/* ---------- round trips ---------- */

static void test_roundtrip_digests(void **state)
{
    static const unsigned digests[] = {CK_DIGEST_SHA1, CK_DIGEST_SHA256, CK_DIGEST_SHA512, 0};
    for (size_t i = 0; i < 4; i++) {
        ck_tl_entry e[] = {{.role = CK_ROLE_SAST, .cert = seed_pub.cert},
                           {.role = CK_ROLE_CCM_TFTP, .cert = seed_pub.cert},
                           {.role = CK_ROLE_CAPF, .cert = seed_capf.cert}};
        ck_tl_build_opts o = {.digest_alg = digests[i], .timestamp = TS};
        size_t n = 0;
        uint8_t *raw = build_ok(e, 3, &seed_pub, &o, &n);
        ck_tl_file *f = parse_verify_ok(raw, n);
        assert_int_equal(f->digest_alg, digests[i] ? digests[i] : CK_DIGEST_SHA1);
        assert_int_equal(f->sig_modulus, 1);
        assert_int_equal(f->n_records, 3);
        assert_int_equal(f->timestamp, TS);
        assert_int_equal(f->header_len % 4, 0);
        assert_memory_equal(f->filename.p, "CTLFile.tlv", 11); /* the default */
        /* Verifying with another certificate fails. */
        ck_err err = {0};
        assert_int_equal(ck_tl_verify_with(f, seed_sub1.cert, &err), -1);
        expect_err(&err, CK_ESIGNATURE, "does not match");
        assert_int_equal(ck_tl_verify_with(f, rsa2048.cert, &err), -1);
        expect_err(&err, CK_ESIGNATURE, "2048-bit");
        ck_tl_free(f);
        free(raw);
    }
}

static void test_roundtrip_rsa_sizes(void **state)
{
    const keypair *signers[] = {&seed_pub, &rsa2048, &rsa4096};
    static const size_t sig[] = {128, 256, 512};
    static const uint8_t code[] = {1, 2, 3};
    for (size_t i = 0; i < 3; i++) {
        ck_tl_entry e[] = {{.role = CK_ROLE_SAST, .cert = signers[i]->cert},
                           {.role = CK_ROLE_CCM_TFTP, .cert = signers[i]->cert}};
        ck_tl_build_opts o = {.digest_alg = CK_DIGEST_SHA256, .timestamp = TS};
        size_t n = 0;
        uint8_t *raw = build_ok(e, 2, signers[i], &o, &n);
        ck_tl_file *f = parse_verify_ok(raw, n);
        assert_int_equal(f->signature.n, sig[i]);
        assert_int_equal(f->sig_modulus, code[i]);
        assert_int_equal(elem_len(f, 0, 7), sig[i] == 128 ? 140 : sig[i] == 256 ? 270 : 526);
        ck_tl_free(f);
        free(raw);
    }
}

static void test_ec_records_not_signers(void **state)
{
    ck_tl_entry e[] = {{.role = CK_ROLE_SAST, .cert = rsa2048.cert}, {.role = CK_ROLE_TVS, .cert = ec256.cert}};
    size_t n = 0;
    uint8_t *raw = build_ok(e, 2, &rsa2048, &(ck_tl_build_opts){.filename = "ITLFile.tlv"}, &n);
    ck_tl_file *f = parse_verify_ok(raw, n);
    assert_true(ck_tl_is_itl(f));
    assert_int_equal(f->records[1].pubkey.n, 65);
    assert_int_equal(f->records[1].pubkey.p[0], 0x04);
    ck_tl_free(f);
    free(raw);

    ck_tl_entry ec[] = {{.role = CK_ROLE_SAST, .cert = ec256.cert}};
    ck_err err;
    uint8_t *out = NULL;
    assert_int_equal(build(ec, 1, &ec256, NULL, &out, &n, &err), -1);
    expect_err(&err, CK_EINVAL, "must be RSA");
    assert_null(out);
}

static void test_signer_version(void **state)
{
    static const unsigned sv[] = {0, 10, 11};
    for (size_t i = 0; i < 3; i++) {
        ck_tl_entry e[] = {{.role = CK_ROLE_SAST, .cert = seed_pub.cert}};
        size_t n = 0;
        uint8_t *raw = build_ok(e, 1, &seed_pub, &(ck_tl_build_opts){.signer_version = sv[i], .timestamp = TS}, &n);
        ck_tl_file *f = parse_verify_ok(raw, n);
        assert_int_equal(f->has_signer_version, sv[i] != 0);
        /* Cisco's order: version, header length, [signer version], SIGNERID ... */
        assert_int_equal(f->elems[0].tag, 1);
        assert_int_equal(f->elems[1].tag, 2);
        assert_int_equal(f->elems[2].tag, sv[i] ? 28 : 3);
        if (sv[i]) {
            assert_int_equal(f->sv_major, 1);
            assert_int_equal(f->sv_minor, sv[i] % 10);
            assert_int_equal(f->elems[2].off, 10);
            assert_int_equal(f->elems[2].len, 2);
        }
        /* 333 + 5 = 338 -> padded to 340; the seed's 333 -> 336. */
        assert_int_equal(f->header_len, sv[i] ? 340 : 336);
        ck_tl_free(f);
        free(raw);
    }
}

static void test_dns_and_ip(void **state)
{
    ck_tl_entry e[] = {
        {.role = CK_ROLE_SAST, .cert = seed_pub.cert, .ip = {10, 48, 47, 155}},
        {.role = CK_ROLE_CCM_TFTP, .cert = seed_sub1.cert, .dns_name = "sub1.example.com", .ip = {10, 48, 47, 156}},
        {.role = CK_ROLE_TFTP, .cert = seed_capf.cert},
    };
    size_t n = 0;
    uint8_t *raw = build_ok(e, 3, &seed_pub, NULL, &n);
    ck_tl_file *f = parse_verify_ok(raw, n);
    const ck_tl_record *r = f->records;
    assert_int_equal(r[0].dns_name.n, 15);
    assert_memory_equal(r[0].dns_name.p, "cucm-1051-a-pub", 15); /* the CN */
    assert_int_equal(elem_len(f, 0, 2), 16);                     /* NUL counted */
    assert_int_equal(r[0].dns_name.p[15], 0);
    assert_memory_equal(r[1].dns_name.p, "sub1.example.com", 16);
    assert_memory_equal(r[2].dns_name.p, "CAPF-e41e7d87", 13);
    assert_true(r[0].has_ip && r[1].has_ip && r[2].has_ip);
    assert_memory_equal(r[0].ip, ((uint8_t[]){10, 48, 47, 155}), 4);
    assert_memory_equal(r[1].ip, ((uint8_t[]){10, 48, 47, 156}), 4);
    assert_memory_equal(r[2].ip, ((uint8_t[]){0, 0, 0, 0}), 4);
    assert_int_equal(r[2].function, CK_ROLE_TFTP);
    /* Subject and issuer in CUCM style, serial as raw bytes. */
    assert_memory_equal(r[1].subject.p, "CN=cucm-1051-a-sub1;OU=TAC;O=Cisco;L=Krakow;ST=Malopolska;C=PL", 62);
    assert_int_equal(r[1].serial.n, 16);
    assert_int_equal(r[1].serial.p[0], 0x6B);
    ck_tl_free(f);
    free(raw);
}

/* Two USB eTokens (one signs) plus a node: the eToken records carry no
 * SIGNATURE element and a lone-NUL DNS name. */
static void test_etoken_records(void **state)
{
    ck_tl_entry e[] = {
        {.role = CK_ROLE_SAST, .cert = tok_a.cert, .dns_name = "", .no_cert_signature = true},
        {.role = CK_ROLE_SAST, .cert = tok_b.cert, .dns_name = "", .no_cert_signature = true},
        {.role = CK_ROLE_CCM_TFTP, .cert = seed_pub.cert},
    };
    size_t n = 0;
    uint8_t *raw = build_ok(e, 3, &tok_b, NULL, &n);
    ck_tl_file *f = parse_verify_ok(raw, n);
    assert_int_equal(f->signer_index, 1);
    for (int i = 0; i < 2; i++) {
        assert_false(rec_has_tag(f, i, 8));
        assert_null(f->records[i].cert_signature.p);
        assert_int_equal(elem_len(f, i, 2), 1);
        assert_int_equal(f->raw[elem_off(f, i, 2) + 3], 0);
        assert_int_equal(f->records[i].dns_name.n, 0);
        assert_non_null(f->records[i].cert.p);
    }
    assert_true(rec_has_tag(f, 2, 8));
    assert_int_equal(elem_len(f, 2, 8), 128);
    /* show ctl tells which token signed. */
    ck_tl_show_info info = {.verified = true};
    char *s = show_text(raw, n, f, &info, NULL);
    const char *used = strstr(s, "This etoken was used to sign the CTL file.");
    const char *unused = strstr(s, "This etoken was not used to sign the CTL file.");
    assert_non_null(used);
    assert_non_null(unused);
    assert_true(unused < used); /* record 1 did not sign, record 2 did */
    free(s);
    ck_tl_free(f);
    free(raw);
}

/* A signer record with PUBLICKEY but no CERTIFICATE (old eToken style):
 * verification falls back to the PKCS#1 key. */
static void test_verify_publickey_only(void **state)
{
    ck_tl_entry e[] = {{.role = CK_ROLE_SAST, .cert = tok_a.cert}};
    size_t n = 0;
    uint8_t *raw = build_ok(e, 1, &tok_a, NULL, &n);
    ck_tl_file *f = parse_ok(raw, n);
    size_t off = elem_off(f, 0, 9);
    ck_tl_free(f);
    raw[off] = 11; /* CERTIFICATE -> CERTHASH */
    resign(raw, n, tok_a.key, CK_DIGEST_SHA1);
    f = parse_ok(raw, n);
    assert_null(f->records[0].cert.p);
    assert_non_null(f->records[0].cert_hash.p);
    ck_err err = {0};
    assert_int_equal(ck_tl_verify(f, &err), 0);
    assert_null(ck_tl_signer_cert(f, &err));
    expect_err(&err, CK_EFORMAT, "no certificate");
    ck_tl_free(f);
    /* A broken PUBLICKEY cannot check anything. */
    f = parse_ok(raw, n);
    size_t pk = elem_off(f, 0, 7);
    ck_tl_free(f);
    raw[pk + 3] = 0xff;
    f = parse_ok(raw, n);
    assert_int_equal(ck_tl_verify(f, &err), -1);
    expect_err(&err, CK_EFORMAT, "PUBLICKEY does not parse");
    ck_tl_free(f);
    free(raw);
}

static void test_blank_records(void **state)
{
    ck_tl_entry e[] = {
        {.role = CK_ROLE_SAST, .cert = seed_pub.cert},
        {.role = CK_ROLE_CCM_TFTP, .cert = NULL, .dns_name = "cucm-node-01", .ip = {192, 0, 2, 7}},
        {.role = CK_ROLE_CCM_TFTP, .cert = NULL, .dns_name = "cucm-node-001"},
    };
    size_t n = 0;
    uint8_t *raw = build_ok(e, 3, &seed_pub, NULL, &n);
    ck_tl_file *f = parse_verify_ok(raw, n);
    for (int i = 1; i < 3; i++) {
        const ck_tl_record *r = &f->records[i];
        assert_int_equal(r->elem_count, 4);
        static const uint8_t tags[] = {1, 2, 4, 10};
        for (size_t k = 0; k < 4; k++)
            assert_int_equal(f->elems[r->elem_first + k].tag, tags[k]);
        assert_null(r->cert.p);
        assert_null(r->subject.p);
    }
    /* 5 + (3 + 13) + 5 + 7: the format page's 33 bytes for a 12-character
     * name (13 bytes with its NUL); one more character, one more byte. */
    assert_int_equal(f->records[1].length, 33);
    assert_int_equal(f->records[2].length, 34);
    assert_memory_equal(f->records[1].ip, ((uint8_t[]){192, 0, 2, 7}), 4);
    ck_tl_free(f);
    free(raw);
}

static void test_build_refusals(void **state)
{
    uint8_t *out = NULL;
    size_t n = 0;
    ck_err err;

    ck_tl_entry three[] = {{.role = CK_ROLE_SAST, .cert = tok_a.cert},
                           {.role = CK_ROLE_SAST, .cert = tok_b.cert},
                           {.role = CK_ROLE_SAST, .cert = seed_pub.cert}};
    assert_int_equal(build(three, 3, &tok_a, NULL, &out, &n, &err), -1);
    expect_err(&err, CK_EINVAL, "3 SAST records; a trust list may carry at most 2");

    ck_tl_entry not_signer[] = {{.role = CK_ROLE_SAST, .cert = tok_a.cert},
                                {.role = CK_ROLE_CCM_TFTP, .cert = seed_pub.cert}};
    assert_int_equal(build(not_signer, 2, &seed_pub, NULL, &out, &n, &err), -1);
    expect_err(&err, CK_EINVAL, "the signer must be one of the SAST records");

    ck_tl_entry twice[] = {{.role = CK_ROLE_SAST, .cert = tok_a.cert}, {.role = CK_ROLE_SAST, .cert = tok_a.cert}};
    assert_int_equal(build(twice, 2, &tok_a, NULL, &out, &n, &err), -1);
    expect_err(&err, CK_EINVAL, "two SAST records");

    assert_int_equal(build(NULL, 0, &tok_a, NULL, &out, &n, &err), -1);
    expect_err(&err, CK_EINVAL, "the signer must be one of the SAST records");

    ck_tl_signer none = {0};
    ck_err_clear(&err);
    assert_int_equal(ck_tl_build(not_signer, 2, &none, NULL, &out, &n, &err), -1);
    expect_err(&err, CK_EINVAL, "no signer");

    ck_tl_entry bad_role[] = {{.role = CK_ROLE_SAST, .cert = tok_a.cert}, {.role = 0x10000, .cert = tok_b.cert}};
    assert_int_equal(build(bad_role, 2, &tok_a, NULL, &out, &n, &err), -1);
    expect_err(&err, CK_EINVAL, "record #2: role 65536 out of range");
    assert_null(out);
}

/* More than ~39 certificates push a trust list past 64 KiB: refused. */
static void test_build_too_large(void **state)
{
    enum { N = 41 };
    ck_tl_entry e[N];
    e[0] = (ck_tl_entry){.role = CK_ROLE_SAST, .cert = rsa4096.cert};
    for (size_t i = 1; i < N; i++)
        e[i] = (ck_tl_entry){.role = CK_ROLE_CCM_TFTP, .cert = rsa4096.cert};
    uint8_t *out = NULL;
    size_t n = 0;
    ck_err err;
    assert_int_equal(build(e, N, &rsa4096, &(ck_tl_build_opts){.filename = "ITLFile.tlv"}, &out, &n, &err), -1);
    expect_err(&err, CK_ELIMIT, "64 KiB");
    assert_non_null(strstr(err.msg, "ITL"));
    assert_null(out);

    /* The largest that fits is accepted and stays under the cap. */
    size_t fit = 0;
    for (size_t k = N; k > 1; k--) {
        if (build(e, k, &rsa4096, NULL, &out, &n, &err) == 0) {
            fit = k;
            break;
        }
        expect_err(&err, CK_ELIMIT, "64 KiB");
    }
    assert_true(fit > 10);
    assert_true(n <= CK_TL_MAX_BUILD);
    ck_tl_file *f = parse_verify_ok(out, n);
    assert_int_equal(f->n_records, fit);
    ck_tl_free(f);
    free(out);
}

/* ck_tl_verify keeps recent signer certificates keyed by their DER bytes:
 * a changed certificate is never mistaken for a cached one, and more
 * signers than the cache holds still verify. */
static void test_verify_signer_cache(void **state)
{
    size_t n = 0;
    uint8_t *raw = build_seed(&n);
    for (int i = 0; i < 3; i++) {
        ck_tl_file *f = parse_verify_ok(raw, n);
        ck_tl_free(f);
    }
    /* A regenerated certificate: same names, same serial, same DER
     * length, another key. Each file verifies with its own, never with
     * the other's cached certificate. */
    keypair twin;
    gen_seed(&twin, "cucm-1051-a-pub", "70CAF64E090751B9DF22F49F754FC5BB");
    assert_int_equal(der_len(twin.cert), der_len(seed_pub.cert));
    ck_tl_entry te[] = {{.role = CK_ROLE_SAST, .cert = twin.cert}, {.role = CK_ROLE_CCM_TFTP, .cert = twin.cert}};
    size_t tn = 0;
    uint8_t *traw = build_ok(te, 2, &twin, &(ck_tl_build_opts){.timestamp = TS}, &tn);
    ck_err err = {0};
    for (int i = 0; i < 2; i++) {
        ck_tl_file *f = parse_verify_ok(traw, tn);
        ck_tl_free(f);
        f = parse_verify_ok(raw, n);
        ck_tl_free(f);
    }
    /* Swap the twin's certificate bytes into the seed file's signer
     * record: same serial and issuer, so it parses, but the key is wrong. */
    ck_tl_file *f = parse_ok(raw, n), *t = parse_ok(traw, tn);
    memcpy((uint8_t *)raw + (f->records[0].cert.p - f->raw), t->records[0].cert.p, t->records[0].cert.n);
    ck_tl_free(f);
    ck_tl_free(t);
    f = parse_ok(raw, n);
    assert_int_equal(ck_tl_verify(f, &err), -1);
    expect_err(&err, CK_ESIGNATURE, "does not match");
    ck_tl_free(f);
    free(raw);
    raw = build_seed(&n);
    free(traw);
    X509_free(twin.cert);
    EVP_PKEY_free(twin.key);
    /* Ten other signers push the seed's out of the cache; all verify. */
    for (int i = 0; i < 10; i++) {
        keypair kp;
        gen(&kp, &(ck_cert_params){.cn = "churn", .rsa_bits = 1024});
        ck_tl_entry e[] = {{.role = CK_ROLE_SAST, .cert = kp.cert}};
        size_t m = 0;
        uint8_t *other = build_ok(e, 1, &kp, NULL, &m);
        f = parse_verify_ok(other, m);
        /* The wrong key still fails through the cache. */
        assert_int_equal(ck_tl_verify_with(f, seed_pub.cert, &err), -1);
        ck_tl_free(f);
        free(other);
        X509_free(kp.cert);
        EVP_PKEY_free(kp.key);
    }
    f = parse_verify_ok(raw, n);
    ck_tl_free(f);
    free(raw);
}

/* ---------- the seed, byte for byte ---------- */

/* Record length by the format page: RECORDLENGTH 5, then 3 + value for
 * DNSNAME, SUBJECTNAME, FUNCTION(2), ISSUERNAME, SERIALNUMBER, PUBLICKEY,
 * SIGNATURE, CERTIFICATE, IPADDRESS(4). */
static size_t record_len(size_t dns, size_t subject, size_t issuer, size_t serial, size_t pub, size_t sig,
                         size_t cert)
{
    return 5 + (3 + dns) + (3 + subject) + (3 + 2) + (3 + issuer) + (3 + serial) + (3 + pub) + (3 + sig) +
           (3 + cert) + (3 + 4);
}

static void test_seed_fidelity(void **state)
{
    /* The seed's arithmetic first: its printed lengths come out exactly. */
    size_t base_pub = record_len(16, 62, 62, 16, 140, 128, 0);
    size_t base_capf = record_len(16, 60, 60, 16, 140, 128, 0);
    size_t base_sub1 = record_len(17, 63, 63, 16, 140, 128, 0);
    assert_int_equal(base_pub, 462);
    assert_int_equal(base_capf, 458);
    assert_int_equal(base_sub1, 465);
    assert_int_equal(base_pub + 694, 1156);
    assert_int_equal(base_capf + 680, 1138);
    assert_int_equal(base_sub1 + 696, 1161);
    assert_int_equal(336 + 1156 + 1156 + 1138 + 1161, 4947);

    size_t n = 0;
    uint8_t *raw = build_seed(&n);
    ck_tl_file *f = parse_verify_ok(raw, n);
    assert_int_equal(f->header_len, 336);
    assert_false(f->has_signer_version);
    assert_int_equal(elem_len(f, -1, 3), 149); /* SIGNERID = 3+62 + 3+16 + 3+62 */
    assert_int_equal(elem_len(f, -1, 7), 15);
    assert_int_equal(elem_len(f, -1, 9), 8);
    assert_int_equal(elem_len(f, -1, 14), 12); /* "CTLFile.tlv\0" */
    assert_int_equal(f->signature.n, 128);
    assert_int_equal(f->timestamp, TS);
    /* 333 bytes of elements + 3 padding bytes. */
    size_t pads = 0;
    for (size_t i = 0; i < f->header_elem_count; i++)
        pads += f->elems[i].tag == 13;
    assert_int_equal(pads, 3);
    assert_memory_equal(f->signer_name.p, "CN=cucm-1051-a-pub;OU=TAC;O=Cisco;L=Krakow;ST=Malopolska;C=PL", 61);

    X509 *certs[] = {seed_pub.cert, seed_pub.cert, seed_capf.cert, seed_sub1.cert};
    size_t bases[] = {base_pub, base_pub, base_capf, base_sub1};
    static const unsigned roles[] = {CK_ROLE_SAST, CK_ROLE_CCM_TFTP, CK_ROLE_CAPF, CK_ROLE_CCM_TFTP};
    static const char *serials[] = {"70:CA:F6:4E:09:07:51:B9:DF:22:F4:9F:75:4F:C5:BB",
                                    "70:CA:F6:4E:09:07:51:B9:DF:22:F4:9F:75:4F:C5:BB",
                                    "74:4B:49:99:77:04:96:E7:99:E9:1E:81:D3:C8:10:9B",
                                    "6B:EB:FD:CD:CD:8C:A2:77:CB:2F:D1:D1:83:A6:0E:72"};
    size_t total = 336;
    assert_int_equal(f->n_records, 4);
    for (int i = 0; i < 4; i++) {
        const ck_tl_record *r = &f->records[i];
        assert_int_equal(r->function, roles[i]);
        assert_int_equal(r->length, bases[i] + der_len(certs[i]));
        assert_int_equal(elem_len(f, i, 2), i == 3 ? 17 : 16);
        assert_int_equal(elem_len(f, i, 3), i == 2 ? 60 : i == 3 ? 63 : 62);
        assert_int_equal(elem_len(f, i, 6), 16);
        assert_int_equal(elem_len(f, i, 7), 140);
        assert_int_equal(elem_len(f, i, 8), 128);
        assert_int_equal(elem_len(f, i, 9), der_len(certs[i]));
        char serial[64];
        ck_hex(r->serial.p, r->serial.n, ':', true, serial, sizeof serial);
        assert_string_equal(serial, serials[i]);
        uint8_t want[20], got[20];
        cert_sha1(certs[i], want);
        SHA1(r->cert.p, r->cert.n, got);
        assert_memory_equal(got, want, 20);
        total += r->length;
    }
    assert_memory_equal(f->records[2].dns_name.p, "cucm-1051-a-pub", 15);
    assert_int_equal(total, n);

    ck_tl_show_info info = {.verified = true};
    char *s = show_text(raw, n, f, &info, NULL);
    contains(s, "HeaderLength: 336 (BYTES)");
    contains(s, "\n3       SIGNERID            2       149\n");
    contains(s, "\n6       SERIALNUMBER        16      70:CA:F6:4E:09:07:51:B9:DF:22:F4:9F:75:4F:C5:BB\n");
    contains(s, "\n3       SUBJECTNAME         60      CN=CAPF-e41e7d87;OU=TAC;O=Cisco;L=Krakow;ST=Malopolska;C=PL\n");
    contains(s, "\n2       DNSNAME             17      cucm-1051-a-sub1\n");
    free(s);
    ck_tl_free(f);
    free(raw);
}

/* ---------- strict parsing: each malformed case names where ---------- */

static void expect_parse_fail(const uint8_t *p, size_t n, ck_code code, const char *needle1, const char *needle2)
{
    ck_tl_file *f = (ck_tl_file *)1;
    ck_err err = {0};
    assert_int_equal(ck_tl_parse(p, n, &f, &err), -1);
    assert_null(f);
    expect_err(&err, code, needle1);
    if (needle2 && !strstr(err.msg, needle2))
        fail_msg("message '%s' does not contain '%s'", err.msg, needle2);
}

/* A fresh copy of the seed file and its parse, for surgery. */
typedef struct fixture {
    uint8_t *raw;
    size_t n;
    ck_tl_file *f;
} fixture;

static fixture seed_fixture(void)
{
    fixture x;
    x.raw = build_seed(&x.n);
    x.f = parse_ok(x.raw, x.n);
    return x;
}

static void fixture_free(fixture *x)
{
    ck_tl_free(x->f);
    free(x->raw);
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* One element's tag byte replaced in the seed CTL, and what the parser
 * then says after "offset N: " (N the element's offset). */
typedef struct tag_case {
    int rec;      /* -1: the header */
    unsigned elem; /* the element, by its tag in the seed */
    uint8_t tag;  /* the tag it gets */
    const char *says;
} tag_case;

static void expect_tag_cases(const tag_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char want[160];
        fixture x = seed_fixture();
        size_t off = elem_off(x.f, cases[i].rec, cases[i].elem);
        x.raw[off] = cases[i].tag;
        snprintf(want, sizeof want, "offset %zu: %s", off, cases[i].says);
        expect_parse_fail(x.raw, x.n, CK_EFORMAT, want, NULL);
        fixture_free(&x);
    }
}

static void test_parse_unknown_tags(void **state)
{
    static const tag_case cases[] = {
        {-1, 14, 99, "unknown header tag 99"},
        {0, 10, 48, "unknown tag 48 in record #1"},
        {-1, 5, 7, "unknown tag 7 inside SIGNERID"},             /* SERIALNUMBER inside SIGNERID */
        {-1, 11, 12, "unknown tag 12 inside SIGNATUREALGOINFO"}, /* SIGNATUREMODULUS inside it */
    };
    expect_tag_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_parse_length_past_container(void **state)
{
    char want[160];
    fixture x = seed_fixture();
    size_t off = elem_off(x.f, 0, 3);
    put16(x.raw + off + 1, 62 + 2000);
    snprintf(want, sizeof want, "offset %zu: record #1 element tag 3 length 2062 runs past its container", off);
    expect_parse_fail(x.raw, x.n, CK_EFORMAT, want, NULL);
    fixture_free(&x);

    /* Inside SIGNERID: the name claims one byte more than SIGNERID holds. */
    x = seed_fixture();
    off = elem_off(x.f, -1, 6); /* CANAME, the last one */
    put16(x.raw + off + 1, 63);
    snprintf(want, sizeof want, "offset %zu: SIGNERID element tag 6 length 63 runs past its container", off);
    expect_parse_fail(x.raw, x.n, CK_EFORMAT, want, NULL);
    fixture_free(&x);

    /* RECORDLENGTH of the last record past the end of the file. */
    x = seed_fixture();
    off = x.f->records[3].offset;
    put16(x.raw + off + 3, x.f->records[3].length + 10);
    snprintf(want, sizeof want, "offset %zu: record #4 RECORDLENGTH", off);
    expect_parse_fail(x.raw, x.n, CK_EFORMAT, want, "runs past the end of the file");
    fixture_free(&x);

    /* RECORDLENGTH shorter than its own element. */
    x = seed_fixture();
    off = x.f->records[0].offset;
    put16(x.raw + off + 3, 4);
    snprintf(want, sizeof want, "offset %zu: record #1 RECORDLENGTH 4 is shorter than its own 5-byte element", off);
    expect_parse_fail(x.raw, x.n, CK_EFORMAT, want, NULL);
    fixture_free(&x);

    /* RECORDLENGTH shorter than the element inside it. */
    x = seed_fixture();
    off = x.f->records[0].offset;
    put16(x.raw + off + 3, 10);
    expect_parse_fail(x.raw, x.n, CK_EFORMAT, "record #1 element tag 2 length 16 runs past its container", NULL);
    fixture_free(&x);
}

static void test_parse_headerlength(void **state)
{
    fixture x = seed_fixture();
    put16(x.raw + 8, 8); /* smaller than VERSION + HEADERLENGTH themselves */
    expect_parse_fail(x.raw, x.n, CK_EFORMAT, "offset 5: HEADERLENGTH 8 is shorter than the header elements before it",
                      NULL);
    put16(x.raw + 8, 200); /* cuts SIGNATURE (at 180, 131 bytes) in half */
    expect_parse_fail(x.raw, x.n, CK_EFORMAT, "offset 180: header element tag 12 length 128 runs past its container",
                      NULL);
    put16(x.raw + 8, 340); /* the first record's bytes read as header */
    expect_parse_fail(x.raw, x.n, CK_EFORMAT, "offset 336:", NULL);
    put16(x.raw + 8, 0xffff);
    expect_parse_fail(x.raw, x.n, CK_EFORMAT, "offset 5: HEADERLENGTH 65535 is past the end of the file", NULL);
    /* A header that is all there is. */
    put16(x.raw + 8, 336);
    expect_parse_fail(x.raw, 336, CK_EFORMAT, "offset 336: no records after the header", NULL);
    fixture_free(&x);
}

static void test_parse_signer_records(void **state)
{
    /* No SAST record at all: the signer is missing. */
    fixture x = seed_fixture();
    put16(x.raw + elem_off(x.f, 0, 4) + 3, CK_ROLE_CCM_TFTP);
    expect_parse_fail(x.raw, x.n, CK_EFORMAT, "no SAST record matches the signer",
                      "serial 70:CA:F6:4E:09:07:51:B9:DF:22:F4:9F:75:4F:C5:BB");
    fixture_free(&x);

    /* A SAST record, but not the signer's (another serial). */
    x = seed_fixture();
    x.raw[elem_off(x.f, 0, 6) + 3] ^= 0x01;
    expect_parse_fail(x.raw, x.n, CK_EFORMAT, "no SAST record matches the signer", NULL);
    fixture_free(&x);

    /* Records 1 and 2 carry the same certificate: both SAST = ambiguous. */
    x = seed_fixture();
    put16(x.raw + elem_off(x.f, 1, 4) + 3, CK_ROLE_SAST);
    expect_parse_fail(x.raw, x.n, CK_EFORMAT, "two SAST records match the signer", NULL);
    fixture_free(&x);

    x = seed_fixture();
    put16(x.raw + elem_off(x.f, 2, 4) + 3, CK_ROLE_SAST);
    put16(x.raw + elem_off(x.f, 3, 4) + 3, CK_ROLE_SAST);
    expect_parse_fail(x.raw, x.n, CK_EFORMAT, "3 SAST records; a trust list may carry at most 2", NULL);
    fixture_free(&x);

    /* Two SAST records, only one matching: fine (eToken CTLs). */
    x = seed_fixture();
    put16(x.raw + elem_off(x.f, 2, 4) + 3, CK_ROLE_SAST);
    ck_tl_file *f = parse_ok(x.raw, x.n);
    assert_int_equal(f->signer_index, 0);
    ck_tl_free(f);
    fixture_free(&x);
}

static void test_parse_trailing_and_record_start(void **state)
{
    char want[160];
    fixture x = seed_fixture();
    uint8_t *longer = malloc(x.n + 3);
    memcpy(longer, x.raw, x.n);
    memcpy(longer + x.n, "\xde\xad\xbe", 3);
    snprintf(want, sizeof want, "offset %zu: record #5 does not start with a 2-byte RECORDLENGTH", x.n);
    expect_parse_fail(longer, x.n + 3, CK_EFORMAT, want, NULL);
    /* Even a stray byte that looks like a RECORDLENGTH tag. */
    longer[x.n] = 1;
    expect_parse_fail(longer, x.n + 1, CK_EFORMAT, want, NULL);
    longer[x.n] = 0;
    expect_parse_fail(longer, x.n + 1, CK_EFORMAT, want, NULL);
    free(longer);

    size_t off = x.f->records[1].offset;
    x.raw[off] = 2; /* record #2 starts with DNSNAME's tag */
    snprintf(want, sizeof want, "offset %zu: record #2 does not start with a 2-byte RECORDLENGTH", off);
    expect_parse_fail(x.raw, x.n, CK_EFORMAT, want, NULL);
    x.raw[off] = 1;
    put16(x.raw + off + 1, 4); /* RECORDLENGTH with length 4 */
    expect_parse_fail(x.raw, x.n, CK_EFORMAT, want, NULL);
    fixture_free(&x);
}

static void test_parse_duplicates(void **state)
{
    /* Each case turns one element's tag into a tag the same section already
     * has; the parser must name the second one. */
    static const tag_case cases[] = {
        {0, 10, 4, "second FUNCTION element in record #1"},      /* IPADDRESS */
        {-1, 15, 14, "second FILENAME element in the header"}, /* TIMESTAMP */
        {-1, 6, 4, "second SIGNERNAME element"},                /* CANAME */
        {2, 5, 3, "second SUBJECTNAME element in record #3"},   /* ISSUERNAME */
    };
    expect_tag_cases(cases, sizeof cases / sizeof cases[0]);
}

static void test_parse_bad_values(void **state)
{
    char want[160];
    fixture x = seed_fixture();
    size_t off = elem_off(x.f, -1, 8);
    x.raw[off + 3] = 7;
    snprintf(want, sizeof want, "offset %zu: unknown DIGESTALGORTITHM 7", off);
    expect_parse_fail(x.raw, x.n, CK_EFORMAT, want, NULL);
    x.raw[off + 3] = 0;
    expect_parse_fail(x.raw, x.n, CK_EFORMAT, "unknown DIGESTALGORTITHM 0", NULL);
    fixture_free(&x);

    x = seed_fixture();
    off = elem_off(x.f, -1, 10);
    x.raw[off + 3] = 1; /* not RSA */
    expect_parse_fail(x.raw, x.n, CK_EFORMAT, "SIGNATUREALGORTITHM 1 is not RSA", NULL);
    fixture_free(&x);

    x = seed_fixture();
    off = elem_off(x.f, 0, 4);
    put16(x.raw + off + 1, 3); /* FUNCTION must be 2 bytes */
    snprintf(want, sizeof want, "offset %zu: FUNCTION has length 3, expected 2", off);
    /* The extra byte is taken from the next element, so the record breaks
     * there first or the length check fires; either way it names FUNCTION
     * or the offset right after it. */
    ck_tl_file *f = NULL;
    ck_err err = {0};
    assert_int_equal(ck_tl_parse(x.raw, x.n, &f, &err), -1);
    expect_err(&err, CK_EFORMAT, want);
    fixture_free(&x);

    static const uint8_t empty[1] = {0};
    expect_parse_fail(empty, 0, CK_EFORMAT, "empty file", NULL);
    expect_parse_fail(empty, 1, CK_EFORMAT, "offset 0", NULL);

    uint8_t *big = calloc(1, CK_TL_MAX_PARSE + 1);
    expect_parse_fail(big, CK_TL_MAX_PARSE + 1, CK_ELIMIT, "larger than any trust list", NULL);
    free(big);
}

/* ---------- robustness: every truncation, every flipped byte ---------- */

typedef struct robust_stats {
    size_t parse_errors, invalid, total;
} robust_stats;

static void robust_one(const uint8_t *p, size_t n, robust_stats *st, const char *what, size_t where)
{
    ck_tl_file *f = NULL;
    ck_err err = {.code = CK_OK, .msg = ""};
    st->total++;
    if (ck_tl_parse(p, n, &f, &err) < 0) {
        if (f)
            fail_msg("%s at %zu: failed parse left a file", what, where);
        if (err.code != CK_EFORMAT && err.code != CK_ELIMIT)
            fail_msg("%s at %zu: parse error code %s (%s)", what, where, ck_code_name(err.code), err.msg);
        if (!err.msg[0])
            fail_msg("%s at %zu: parse error without a message", what, where);
        st->parse_errors++;
        return;
    }
    ck_err verr = {.code = CK_OK, .msg = ""};
    if (ck_tl_verify(f, &verr) == 0)
        fail_msg("%s at %zu: a modified file verified as valid", what, where);
    if (verr.code == CK_OK || !verr.msg[0])
        fail_msg("%s at %zu: verification failed without a code or message", what, where);
    st->invalid++;
    /* Rendering whatever parsed must not crash either. */
    ck_tl_show_info info = {.verified = false, .verify_error = verr.msg};
    FILE *null = fopen("/dev/null", "w");
    ck_tl_show_text(null, p, n, f, &info, NULL);
    fclose(null);
    free(ck_tl_show_json(p, n, f, &info, NULL));
    ck_tl_free(f);
}

static void robust_file(const uint8_t *orig, size_t n, robust_stats *st)
{
    uint8_t *buf = malloc(n);
    /* Truncations: every proper prefix, through a fresh allocation so that
     * ASan/valgrind see any read past the end. */
    for (size_t cut = 0; cut < n; cut++) {
        uint8_t *t = malloc(cut ? cut : 1);
        memcpy(t, orig, cut);
        robust_one(t, cut, st, "truncation", cut);
        free(t);
    }
    static const struct {
        uint8_t x;
        bool set;
    } pat[] = {{0xff, false}, {0x01, false}, {0x80, false}, {0x00, true}};
    for (size_t k = 0; k < sizeof pat / sizeof pat[0]; k++)
        for (size_t i = 0; i < n; i++) {
            memcpy(buf, orig, n);
            uint8_t v = pat[k].set ? pat[k].x : (uint8_t)(orig[i] ^ pat[k].x);
            if (v == orig[i])
                continue; /* not a modification */
            buf[i] = v;
            robust_one(buf, n, st, pat[k].set ? "set to zero" : "flip", i);
        }
    free(buf);
}

static void test_robustness(void **state)
{
    robust_stats st = {0};
    size_t n = 0;
    /* A built file with every kind of record: signer, EC, blank, eToken. */
    ck_tl_entry e[] = {
        {.role = CK_ROLE_SAST, .cert = seed_pub.cert, .ip = {10, 0, 0, 1}},
        {.role = CK_ROLE_CCM_TFTP, .cert = seed_sub1.cert},
        {.role = CK_ROLE_TVS, .cert = ec256.cert},
        {.role = CK_ROLE_SAST, .cert = tok_a.cert, .dns_name = "", .no_cert_signature = true},
        {.role = CK_ROLE_TFTP, .cert = NULL, .dns_name = "tftp-only"},
    };
    uint8_t *raw = build_ok(e, 5, &seed_pub, &(ck_tl_build_opts){.signer_version = 11, .timestamp = TS}, &n);
    ck_tl_file *f = parse_verify_ok(raw, n);
    ck_tl_free(f);
    robust_file(raw, n, &st);
    free(raw);

    const char *vectors[] = {"CTLFile-sha1.tlv", "ITLFile-sha512-v1.1.tlv"};
    for (size_t i = 0; i < 2; i++) {
        raw = tu_read_file(tu_vector(vectors[i]), &n);
        robust_file(raw, n, &st);
        free(raw);
    }
    /* Both outcomes happened many times: the test exercised both paths. */
    assert_true(st.parse_errors > 1000);
    assert_true(st.invalid > 1000);
    print_message("robustness: %zu modified files, %zu parse errors, %zu parsed but invalid\n", st.total,
                  st.parse_errors, st.invalid);
}

/* ---------- show ctl text and JSON ---------- */

static void test_show_text(void **state)
{
    size_t n = 0;
    uint8_t *raw = build_seed(&n);
    ck_tl_file *f = parse_verify_ok(raw, n);
    ck_tl_show_info info = {.verified = true};
    char *s = show_text(raw, n, f, &info, NULL);
    uint8_t d[20];
    char md5[33], sha1[41], line[128];
    unsigned dn = 0;
    EVP_Digest(raw, n, d, &dn, EVP_md5(), NULL);
    ck_hex(d, dn, 0, false, md5, sizeof md5);
    EVP_Digest(raw, n, d, &dn, EVP_sha1(), NULL);
    ck_hex(d, dn, 0, false, sha1, sizeof sha1);
    snprintf(line, sizeof line, "The checksum value of the CTL file:\n%s(MD5)\n%s(SHA1)\nLength of CTL file: %zu\n",
             md5, sha1, n);
    assert_true(strncmp(s, line, strlen(line)) == 0);
    contains(s, "Parse CTL File");
    contains(s, "Version: 1.2\nHeaderLength: 336 (BYTES)\n");
    contains(s, "\n8       DIGESTALGORTITHM    1\n");
    contains(s, "\n10      SIGNATUREALGORTITHM 1\n");
    contains(s, "\n4       SIGNERNAME          62      CN=cucm-1051-a-pub;OU=TAC;O=Cisco;L=Krakow;ST=Malopolska;C=PL\n");
    contains(s, "\nCTL Record #:1\n----\n");
    contains(s, "\nCTL Record #:4\n----\n");
    contains(s, "\n4       FUNCTION            2       System Administrator Security Token\n");
    contains(s, "\n4       FUNCTION            2       CCM+TFTP\n");
    contains(s, "\n4       FUNCTION            2       CAPF\n");
    contains(s, "This etoken was used to sign the CTL file.");
    contains(s, "(SHA1 Hash HEX)");
    /* The certificate hash as CUCM prints it: upper-case bytes with blanks. */
    uint8_t c1[20];
    char hash_line[100] = "";
    cert_sha1(seed_capf.cert, c1);
    for (int i = 0; i < 20; i++)
        snprintf(hash_line + strlen(hash_line), sizeof hash_line - strlen(hash_line), "%02X ", c1[i]);
    contains(s, hash_line);
    assert_non_null(strstr(s, "\nThe CTL file was verified successfully.\n"));
    assert_null(strstr(s, "ITL"));
    /* No modification time given, no such line. */
    assert_null(strstr(s, "last modified"));
    /* Exactly one "used" line: only record 1 is a SAST. */
    assert_int_equal(count_of(s, "This etoken"), 1);
    free(s);

    /* Not verified: says why. */
    info = (ck_tl_show_info){.verified = false, .verify_error = "the signature does not match the file",
                             .mtime = 1425667513};
    s = show_text(raw, n, f, &info, NULL);
    contains(s, "The CTL file could not be verified: the signature does not match the file.\n");
    contains(s, "The CTL File was last modified on ");
    assert_null(strstr(s, "verified successfully"));
    free(s);

    /* Parse error: the header lines, then the reason. */
    s = show_text(raw, 5, NULL, NULL, "offset 0: broken");
    contains(s, "Length of CTL file: 5\n");
    contains(s, "Error parsing the CTL File: offset 0: broken\n");
    free(s);
    ck_tl_free(f);
    free(raw);
}

static void test_show_itl(void **state)
{
    size_t n = 0;
    uint8_t *raw = tu_read_file(tu_vector("ITLFile-sha512-v1.1.tlv"), &n);
    ck_tl_file *f = parse_verify_ok(raw, n);
    ck_tl_show_info info = {.verified = true};
    char *s = show_text(raw, n, f, &info, NULL);
    contains(s, "The checksum value of the ITL file:");
    contains(s, "Length of ITL file: 4851");
    contains(s, "Parse ITL File");
    contains(s, "HeaderLength: 388 (BYTES)");
    contains(s, "\n28      SIGNERVERSION       2       1.1\n");
    contains(s, "ITL Record #:3");
    contains(s, "\n4       FUNCTION            2       TVS\n");
    contains(s, "This etoken was used to sign the ITL file.");
    contains(s, "The ITL file was verified successfully.");
    assert_null(strstr(s, "CTL"));
    free(s);
    /* The caller may force the kind. */
    info.kind = "CTL";
    s = show_text(raw, n, f, &info, NULL);
    contains(s, "Parse CTL File");
    free(s);
    ck_tl_free(f);
    free(raw);
}

static void test_show_missing(void **state)
{
    char *s = NULL;
    size_t sn = 0;
    FILE *m = open_memstream(&s, &sn);
    ck_tl_show_missing(m, "CTL");
    fclose(m);
    assert_string_equal(s, "Length of CTL file: 0\n"
                           "CTL File not found. Please run CTLClient plugin or run the CLI - utils ctl.. to "
                           "generate the CTL file.\n"
                           "Error parsing the CTL File.\n");
    free(s);
    m = open_memstream(&s, &sn);
    ck_tl_show_missing(m, "ITL");
    fclose(m);
    contains(s, "Length of ITL file: 0\n");
    contains(s, "utils itl.. to generate the ITL file.");
    free(s);
}

static json_t *json_of(const char *s)
{
    json_error_t je;
    json_t *j = json_loads(s, 0, &je);
    if (!j)
        fail_msg("JSON does not parse: %s (line %d)", je.text, je.line);
    return j;
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        fail_msg("key '%s' is not a string", key);
    return json_string_value(v);
}

static json_int_t jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        fail_msg("key '%s' is not an integer", key);
    return json_integer_value(v);
}

static void test_show_json(void **state)
{
    size_t n = 0;
    uint8_t *raw = build_seed(&n);
    ck_tl_file *f = parse_verify_ok(raw, n);
    ck_tl_show_info info = {.verified = true, .mtime = TS};
    char *s = ck_tl_show_json(raw, n, f, &info, NULL);
    json_t *j = json_of(s);
    static const char *top[] = {"kind", "length", "md5", "sha1", "modified", "parsed", "parse_error",
                                "header", "records", "signer_record", "verified", "verify_error"};
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
        if (!json_object_get(j, top[i]))
            fail_msg("no key '%s'", top[i]);
    assert_int_equal(json_object_size(j), sizeof top / sizeof top[0]);
    assert_string_equal(jstr(j, "kind"), "CTL");
    assert_int_equal(jint(j, "length"), n);
    assert_int_equal(strlen(jstr(j, "md5")), 32);
    assert_int_equal(strlen(jstr(j, "sha1")), 40);
    assert_string_equal(jstr(j, "modified"), "2015-03-06T18:45:13Z");
    assert_true(json_is_true(json_object_get(j, "parsed")));
    assert_true(json_is_null(json_object_get(j, "parse_error")));
    assert_true(json_is_true(json_object_get(j, "verified")));
    assert_true(json_is_null(json_object_get(j, "verify_error")));
    assert_int_equal(jint(j, "signer_record"), 1);

    json_t *h = json_object_get(j, "header");
    assert_string_equal(jstr(h, "version"), "1.2");
    assert_int_equal(jint(h, "header_length"), 336);
    assert_true(json_is_null(json_object_get(h, "signer_version")));
    assert_string_equal(jstr(h, "signer_name"), "CN=cucm-1051-a-pub;OU=TAC;O=Cisco;L=Krakow;ST=Malopolska;C=PL");
    assert_string_equal(jstr(h, "signer_serial"), "70:CA:F6:4E:09:07:51:B9:DF:22:F4:9F:75:4F:C5:BB");
    assert_string_equal(jstr(h, "signer_issuer"), jstr(h, "signer_name"));
    assert_string_equal(jstr(h, "digest"), "SHA1");
    assert_string_equal(jstr(h, "signature_algorithm"), "RSA");
    assert_int_equal(jint(h, "signature_length"), 128);
    assert_string_equal(jstr(h, "filename"), "CTLFile.tlv");
    assert_int_equal(jint(h, "timestamp"), TS);

    json_t *recs = json_object_get(j, "records");
    assert_int_equal(json_array_size(recs), 4);
    json_t *r = json_array_get(recs, 2);
    assert_int_equal(jint(r, "index"), 3);
    assert_int_equal(jint(r, "offset"), f->records[2].offset);
    assert_int_equal(jint(r, "length"), f->records[2].length);
    assert_int_equal(jint(r, "function"), 4);
    assert_string_equal(jstr(r, "role"), "CAPF");
    assert_string_equal(jstr(r, "dns_name"), "cucm-1051-a-pub");
    assert_string_equal(jstr(r, "subject"), "CN=CAPF-e41e7d87;OU=TAC;O=Cisco;L=Krakow;ST=Malopolska;C=PL");
    assert_string_equal(jstr(r, "serial"), "74:4B:49:99:77:04:96:E7:99:E9:1E:81:D3:C8:10:9B");
    assert_int_equal(jint(r, "public_key_length"), 140);
    assert_int_equal(jint(r, "signature_length"), 128);
    assert_int_equal(jint(r, "certificate_length"), der_len(seed_capf.cert));
    uint8_t d[20];
    char hex[80];
    cert_sha1(seed_capf.cert, d);
    ck_hex(d, 20, ':', true, hex, sizeof hex);
    assert_string_equal(jstr(r, "certificate_sha1"), hex);
    assert_string_equal(jstr(r, "ip_address"), "0.0.0.0");
    assert_true(json_is_false(json_object_get(r, "signer")));
    assert_true(json_is_true(json_object_get(json_array_get(recs, 0), "signer")));
    json_decref(j);
    free(s);

    /* Unparsed: no header/records; the reason instead. */
    s = ck_tl_show_json(raw, 3, NULL, NULL, "offset 0: broken");
    j = json_of(s);
    assert_true(json_is_false(json_object_get(j, "parsed")));
    assert_string_equal(jstr(j, "parse_error"), "offset 0: broken");
    assert_null(json_object_get(j, "header"));
    assert_null(json_object_get(j, "records"));
    assert_true(json_is_false(json_object_get(j, "verified")));
    assert_true(json_is_null(json_object_get(j, "modified")));
    json_decref(j);
    free(s);

    /* Parsed, not verified. */
    info = (ck_tl_show_info){.verified = false, .verify_error = "bad"};
    s = ck_tl_show_json(raw, n, f, &info, NULL);
    j = json_of(s);
    assert_string_equal(jstr(j, "verify_error"), "bad");
    json_decref(j);
    free(s);
    ck_tl_free(f);
    free(raw);

    /* A blank record: no certificate facts, and the vector's absent IPs. */
    ck_tl_entry e[] = {{.role = CK_ROLE_SAST, .cert = seed_pub.cert},
                       {.role = 99, .cert = NULL, .dns_name = "x"}};
    raw = build_ok(e, 2, &seed_pub, &(ck_tl_build_opts){.filename = "ITLFile.tlv"}, &n);
    f = parse_ok(raw, n);
    s = ck_tl_show_json(raw, n, f, NULL, NULL);
    j = json_of(s);
    assert_string_equal(jstr(j, "kind"), "ITL");
    r = json_array_get(json_object_get(j, "records"), 1);
    assert_true(json_is_null(json_object_get(r, "role")));
    assert_int_equal(jint(r, "function"), 99);
    assert_true(json_is_null(json_object_get(r, "subject")));
    assert_true(json_is_null(json_object_get(r, "certificate_sha1")));
    assert_int_equal(jint(r, "certificate_length"), 0);
    json_decref(j);
    free(s);
    char *t = show_text(raw, n, f, NULL, NULL);
    contains(t, "FUNCTION            2       Unknown (99)");
    contains(t, "The ITL file could not be verified: not checked.");
    free(t);
    ck_tl_free(f);
    free(raw);

    raw = tu_read_file(tu_vector("CTLFile-sha1.tlv"), &n);
    f = parse_ok(raw, n);
    s = ck_tl_show_json(raw, n, f, NULL, NULL);
    j = json_of(s);
    assert_string_equal(jstr(json_object_get(j, "header"), "signer_version"), "1.0");
    r = json_array_get(json_object_get(j, "records"), 0);
    assert_true(json_is_null(json_object_get(r, "dns_name")));
    assert_true(json_is_null(json_object_get(r, "ip_address")));
    assert_string_equal(jstr(r, "certificate_sha1"), "18:83:72:11:BD:EF:FA:D9:3B:21:78:9A:AA:50:E6:43:23:8F:EE:BC");
    json_decref(j);
    free(s);
    ck_tl_free(f);
    free(raw);
}

static void test_vocabularies(void **state)
{
    unsigned v = 0;
    assert_string_equal(ck_role_label(CK_ROLE_SAST), "System Administrator Security Token");
    assert_string_equal(ck_role_name(CK_ROLE_CCM_TFTP), "CCM+TFTP");
    assert_null(ck_role_name(5));
    assert_int_equal(ck_role_parse("ccm-tftp", &v), 0);
    assert_int_equal(v, CK_ROLE_CCM_TFTP);
    assert_int_equal(ck_role_parse("tvs", &v), 0);
    assert_int_equal(v, CK_ROLE_TVS);
    assert_int_equal(ck_role_parse("nope", &v), -1);
    assert_int_equal(ck_digest_parse("SHA-256", &v), 0);
    assert_int_equal(v, CK_DIGEST_SHA256);
    assert_int_equal(ck_digest_parse("md5", &v), -1);
    assert_string_equal(ck_digest_name(CK_DIGEST_SHA512), "SHA512");
    assert_null(ck_digest_name(4));
    assert_null(ck_digest_md(0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_fingerprints),
        cmocka_unit_test(test_vector_ctl),
        cmocka_unit_test(test_vector_itl),
        cmocka_unit_test(test_vector_tampered),
        cmocka_unit_test(test_roundtrip_digests),
        cmocka_unit_test(test_roundtrip_rsa_sizes),
        cmocka_unit_test(test_ec_records_not_signers),
        cmocka_unit_test(test_signer_version),
        cmocka_unit_test(test_dns_and_ip),
        cmocka_unit_test(test_etoken_records),
        cmocka_unit_test(test_verify_publickey_only),
        cmocka_unit_test(test_blank_records),
        cmocka_unit_test(test_build_refusals),
        cmocka_unit_test(test_build_too_large),
        cmocka_unit_test(test_verify_signer_cache),
        cmocka_unit_test(test_seed_fidelity),
        cmocka_unit_test(test_parse_unknown_tags),
        cmocka_unit_test(test_parse_length_past_container),
        cmocka_unit_test(test_parse_headerlength),
        cmocka_unit_test(test_parse_signer_records),
        cmocka_unit_test(test_parse_trailing_and_record_start),
        cmocka_unit_test(test_parse_duplicates),
        cmocka_unit_test(test_parse_bad_values),
        cmocka_unit_test(test_robustness),
        cmocka_unit_test(test_show_text),
        cmocka_unit_test(test_show_itl),
        cmocka_unit_test(test_show_missing),
        cmocka_unit_test(test_show_json),
        cmocka_unit_test(test_vocabularies),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
