/* Unit tests of the CAPF wire codec (lib/proto/capf.c): the byte examples
 * captured from the reference implementation (docs/capf.md), round trips
 * of every message, every truncation, a bit flip in every length field,
 * and the strictness rules. */
#include "testutil.h"

#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/bytes.h"
#include "ctlkit/capf.h"
#include "ctlkit/x509.h"

#define DEV "SEP001122334455"
#define B(tag) CK_CAPF_BIT(CK_CAPF_TAG_##tag)

static uint8_t *cert_der;
static size_t cert_len;

static int setup(void **state)
{
    (void)state;
    ck_err err;
    X509 *x = NULL;
    if (ck_load_pem(tu_vector("ccm.crt.pem"), &x, NULL, false, &err) < 0 ||
        ck_cert_to_der(x, &cert_der, &cert_len, &err) < 0)
        return -1;
    X509_free(x);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(cert_der);
    return 0;
}

static void expect_bad(const uint8_t *p, size_t n, const char *needle)
{
    ck_capf_msg m;
    ck_err err = {0};
    assert_int_equal(ck_capf_parse(p, n, &m, &err), -1);
    if (needle && !strstr(err.msg, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", err.msg, needle);
}

/* Parses p, rebuilds it and expects the very same bytes. */
static void expect_same_rebuilt(const uint8_t *p, size_t n, ck_capf_msg *m)
{
    ck_err err = {0};
    ck_buf b;
    if (ck_capf_parse(p, n, m, &err) != 0)
        fail_msg("parse: %s", err.msg);
    ck_buf_init(&b, 0);
    if (ck_capf_build(m, &b, &err) != 0)
        fail_msg("build: %s", err.msg);
    assert_int_equal(b.len, n);
    assert_memory_equal(b.data, p, n);
    ck_buf_free(&b);
}

/* --- the captured examples --- */

static const uint8_t ex_auth_req[] = {0x55, 0x01, 0, 0, 0, 1, 0x00, 0x08, 0x07, 0x00, 0x01, 0x03, 0x08, 0x00, 0x01, 0x00};
static const uint8_t ex_auth_resp_pw[] = {
    0x55, 0x02, 0, 0, 0, 1, 0x00, 0x25, 0x01, 0x00, 0x01, 0x01, 0x07, 0x00, 0x01, 0x03, 0x0b, 0x00, 0x07,
    '1',  '2',  '3', '4', '5', '6', 0, 0x0d, 0x00, 0x10, 'S', 'E', 'P', '0', '0', '1', '1', '2', '2', '3',
    '3',  '4',  '4', '5', '5', 0};
static const uint8_t ex_auth_resp_null[] = {
    0x55, 0x02, 0, 0, 0, 5, 0x00, 0x1f, 0x01, 0x00, 0x01, 0x01, 0x07, 0x00, 0x01, 0x03, 0x0b, 0x00, 0x01, 0,
    0x0d, 0x00, 0x10, 'S', 'E', 'P', '0', '0', '1', '1', '2', '2', '3', '3', '4', '4', '5', '5', 0};
static const uint8_t ex_keygen_rsa[] = {0x55, 0x03, 0, 0, 0, 1, 0x00, 0x09, 0x0a, 0x00, 0x02, 0x08, 0x00, 0x11, 0x00, 0x01, 0x00};
static const uint8_t ex_keygen_ec[] = {0x55, 0x03, 0, 0, 0, 1, 0x00, 0x08, 0x11, 0x00, 0x01, 0x01, 0x12, 0x00, 0x01, 0x01};
static const uint8_t ex_in_progress[] = {0x55, 0x11, 0, 0, 0, 1, 0x00, 0x00};
static const uint8_t ex_store_resp[] = {0x55, 0x0a, 0, 0, 0, 1, 0x00, 0x04, 0x01, 0x00, 0x01, 0x01};
static const uint8_t ex_end_ok[] = {0x55, 0x0f, 0, 0, 0, 1, 0x00, 0x04, 0x01, 0x00, 0x01, 0x01};
static const uint8_t ex_end_unknown[] = {0x55, 0x0f, 0, 0, 0, 1, 0x00, 0x04, 0x01, 0x00, 0x01, 0x09};
static const uint8_t ex_fetch_req[] = {0x55, 0x0b, 0, 0, 0, 1, 0x00, 0x00};
static const uint8_t ex_delete_req[] = {0x55, 0x0d, 0, 0, 0, 3, 0x00, 0x00};
static const uint8_t ex_delete_fail[] = {0x55, 0x0e, 0, 0, 0, 3, 0x00, 0x04, 0x01, 0x00, 0x01, 0x07};

static void test_examples(void **state)
{
    (void)state;
    ck_capf_msg m;
    expect_same_rebuilt(ex_auth_req, sizeof ex_auth_req, &m);
    assert_int_equal(m.hdr.session, 1);
    assert_int_equal(m.version, 3);
    assert_int_equal(m.auth_type, CK_CAPF_AUTH_NONE);

    expect_same_rebuilt(ex_auth_resp_pw, sizeof ex_auth_resp_pw, &m);
    assert_int_equal(m.password_len, 6);
    assert_memory_equal(m.password, "123456", 6);
    assert_memory_equal(m.device, DEV, 15);
    assert_int_equal(m.present, B(REASON) | B(VERSION) | B(PASSWORD) | B(DEVICE));

    expect_same_rebuilt(ex_auth_resp_null, sizeof ex_auth_resp_null, &m);
    assert_int_equal(m.hdr.session, 5);
    assert_int_equal(m.password_len, 0);

    expect_same_rebuilt(ex_keygen_rsa, sizeof ex_keygen_rsa, &m);
    assert_int_equal(m.key_type, CK_CAPF_KEY_RSA);
    assert_int_equal(m.key_size, 2048);
    expect_same_rebuilt(ex_keygen_ec, sizeof ex_keygen_ec, &m);
    assert_int_equal(m.key_type, CK_CAPF_KEY_EC);
    assert_int_equal(m.curve, CK_CAPF_CURVE_P384);

    expect_same_rebuilt(ex_in_progress, sizeof ex_in_progress, &m);
    expect_same_rebuilt(ex_store_resp, sizeof ex_store_resp, &m);
    expect_same_rebuilt(ex_end_ok, sizeof ex_end_ok, &m);
    assert_int_equal(m.reason, CK_CAPF_REASON_UPDATE);
    expect_same_rebuilt(ex_end_unknown, sizeof ex_end_unknown, &m);
    assert_string_equal(ck_capf_reason_name(m.reason), "UNKNOWN_DEVICE");
    expect_same_rebuilt(ex_fetch_req, sizeof ex_fetch_req, &m);
    expect_same_rebuilt(ex_delete_req, sizeof ex_delete_req, &m);
    assert_int_equal(m.hdr.session, 3);
    expect_same_rebuilt(ex_delete_fail, sizeof ex_delete_fail, &m);
    assert_int_equal(m.reason, CK_CAPF_REASON_INVALID);
}

/* The convenience builders write exactly the captured bytes. */
static void test_server_builders(void **state)
{
    (void)state;
    ck_err err;
    ck_buf b;
    ck_buf_init(&b, 0);
    assert_int_equal(ck_capf_build_auth_request(1, &b, &err), 0);
    assert_int_equal(b.len, sizeof ex_auth_req);
    assert_memory_equal(b.data, ex_auth_req, b.len);
    b.len = 0;
    assert_int_equal(ck_capf_build_keygen_request(1, CK_CAPF_KEY_RSA, 2048, 0, &b, &err), 0);
    assert_memory_equal(b.data, ex_keygen_rsa, sizeof ex_keygen_rsa);
    b.len = 0;
    assert_int_equal(ck_capf_build_keygen_request(1, CK_CAPF_KEY_EC, 0, CK_CAPF_CURVE_P384, &b, &err), 0);
    assert_memory_equal(b.data, ex_keygen_ec, sizeof ex_keygen_ec);
    b.len = 0;
    assert_int_equal(ck_capf_build_end_session(1, CK_CAPF_REASON_UNKNOWN_DEVICE, &b, &err), 0);
    assert_memory_equal(b.data, ex_end_unknown, sizeof ex_end_unknown);
    b.len = 0;
    /* STORE_CERTIFICATE_REQUEST: 03 0001 01 | 04 LLLL | 01 (DER+2) 00 01 | DER */
    assert_int_equal(ck_capf_build_store_request(7, cert_der, cert_len, &b, &err), 0);
    assert_int_equal(b.len, 8 + 4 + 3 + 5 + cert_len);
    assert_int_equal(b.data[12], 4);
    assert_int_equal(b.data[13] << 8 | b.data[14], cert_len + 5);
    assert_int_equal(b.data[15], 1);
    assert_int_equal(b.data[16] << 8 | b.data[17], cert_len + 2);
    assert_int_equal(b.data[18], 0);
    assert_int_equal(b.data[19], 1);
    assert_memory_equal(b.data + 20, cert_der, cert_len);
    /* Unknown key type, bad size: nothing is built. */
    b.len = 0;
    assert_int_equal(ck_capf_build_keygen_request(1, CK_CAPF_KEY_RSA, 2047, 0, &b, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
    assert_int_equal(b.len, 0);
    ck_buf_free(&b);
}

/* --- every message, built from fields --- */

static uint8_t sig256[256], sig64[64], spki[294];

/* All the messages this codec speaks, in a fresh buffer each. */
#define N_SAMPLES 12
static void build_sample(int i, ck_buf *b)
{
    ck_capf_msg m;
    ck_err err = {0};
    static const uint8_t cmds[N_SAMPLES] = {
        CK_CAPF_AUTH_REQ,        CK_CAPF_AUTH_RESP,        CK_CAPF_KEYGEN_REQ,      CK_CAPF_KEYGEN_RESP,
        CK_CAPF_STORE_CERT_REQ,  CK_CAPF_STORE_CERT_RESP,  CK_CAPF_FETCH_CERT_REQ,  CK_CAPF_FETCH_CERT_RESP,
        CK_CAPF_DELETE_CERT_REQ, CK_CAPF_DELETE_CERT_RESP, CK_CAPF_END_SESSION,     CK_CAPF_REQUEST_IN_PROGRESS};
    for (size_t k = 0; k < sizeof sig256; k++)
        sig256[k] = (uint8_t)(k * 7 + 1);
    for (size_t k = 0; k < sizeof sig64; k++)
        sig64[k] = (uint8_t)(k * 5 + 3);
    for (size_t k = 0; k < sizeof spki; k++)
        spki[k] = (uint8_t)(k * 3 + 2);
    ck_capf_msg_init(&m, cmds[i], 0x01020304u + (uint32_t)i);
    switch (cmds[i]) {
    case CK_CAPF_AUTH_REQ:
        m.present = B(VERSION) | B(AUTH_TYPE);
        m.version = 3, m.auth_type = CK_CAPF_AUTH_MIC;
        break;
    case CK_CAPF_AUTH_RESP: /* certificate authentication with SUDI, as capfc sends it */
        m.present = B(REASON) | B(CERT) | B(SIGNED_DATA) | B(VERSION) | B(PASSWORD) | B(DEVICE) | B(SUDI) |
                    B(SHA2_SIGNED_DATA);
        m.reason = 1, m.version = 3, m.device = DEV, m.password = "", m.password_len = 0;
        m.cert = cert_der, m.cert_len = cert_len, m.cert_wrap_type = 1;
        m.signed_data = sig256, m.signed_data_len = sizeof sig256;
        m.sudi.cert = cert_der, m.sudi.cert_len = cert_len;
        m.sudi.proof1 = (ck_capf_sig){CK_CAPF_HASH_SHA1, sig256, sizeof sig256};
        m.sudi.proof2 = (ck_capf_sig){CK_CAPF_HASH_SHA512, sig64, sizeof sig64};
        m.sha2_signed = (ck_capf_sig){CK_CAPF_HASH_SHA512, sig256, sizeof sig256};
        break;
    case CK_CAPF_KEYGEN_REQ:
        m.present = B(KEY_SIZE) | B(KEY_TYPE);
        m.key_size = 4096, m.key_type = CK_CAPF_KEY_RSA;
        break;
    case CK_CAPF_KEYGEN_RESP:
        m.present = B(PUBLIC_KEY);
        m.public_key = spki, m.public_key_len = sizeof spki;
        break;
    case CK_CAPF_STORE_CERT_REQ:
        m.present = B(CERT_TYPE) | B(CERT);
        m.cert_type = 1, m.cert = cert_der, m.cert_len = cert_len, m.cert_wrap_type = 1;
        break;
    case CK_CAPF_FETCH_CERT_REQ:
        m.present = B(CERT_TYPE);
        m.cert_type = CK_CAPF_CERT_MIC;
        break;
    case CK_CAPF_FETCH_CERT_RESP:
        m.present = B(REASON) | B(CERT);
        m.reason = 1, m.cert = cert_der, m.cert_len = cert_len, m.cert_wrap_type = 2;
        break;
    case CK_CAPF_STORE_CERT_RESP:
    case CK_CAPF_DELETE_CERT_RESP:
    case CK_CAPF_END_SESSION:
        m.present = B(REASON) | B(REASON_INFO);
        m.reason = 7, m.reason_info = "no room", m.reason_info_len = 7;
        break;
    }
    ck_buf_init(b, 0);
    if (ck_capf_build(&m, b, &err) != 0)
        fail_msg("build %s: %s", ck_capf_command_name(cmds[i]), err.msg);
}

static void test_round_trips(void **state)
{
    (void)state;
    for (int i = 0; i < N_SAMPLES; i++) {
        ck_buf b;
        ck_capf_msg m;
        build_sample(i, &b);
        expect_same_rebuilt(b.data, b.len, &m);
        assert_int_equal(m.hdr.session, 0x01020304u + (uint32_t)i);
        if (m.present & B(CERT)) {
            assert_int_equal(m.cert_len, cert_len);
            assert_memory_equal(m.cert, cert_der, cert_len);
        }
        if (m.present & B(SUDI)) {
            assert_int_equal(m.sudi.cert_len, cert_len);
            assert_int_equal(m.sudi.proof2.hash_id, CK_CAPF_HASH_SHA512);
            assert_int_equal(m.sudi.proof2.sig_len, sizeof sig64);
            assert_int_equal(m.sha2_signed.sig_len, sizeof sig256);
        }
        if (m.present & B(PUBLIC_KEY))
            assert_memory_equal(m.public_key, spki, sizeof spki);
        /* The streaming check finds the same frame, also with bytes after it. */
        size_t flen = 0;
        ck_err err;
        assert_int_equal(ck_capf_frame_check(b.data, b.len, CK_CAPF_MAX_FRAME, &flen, &err), CK_CAPF_FRAME_READY);
        assert_int_equal(flen, b.len);
        ck_buf_free(&b);
    }
}

/* --- bad input --- */

static void test_every_truncation(void **state)
{
    (void)state;
    for (int i = 0; i < N_SAMPLES; i++) {
        ck_buf b;
        build_sample(i, &b);
        for (size_t n = 0; n < b.len; n++) {
            expect_bad(b.data, n, NULL);
            size_t flen;
            ck_err err;
            assert_int_equal(ck_capf_frame_check(b.data, n, CK_CAPF_MAX_FRAME, &flen, &err), CK_CAPF_FRAME_NEED_MORE);
        }
        /* And one byte too many. */
        uint8_t *more = malloc(b.len + 1);
        memcpy(more, b.data, b.len);
        more[b.len] = 0;
        expect_bad(more, b.len + 1, "trailing");
        free(more);
        ck_buf_free(&b);
    }
}

static void flip_each_bit(uint8_t *p, size_t n, size_t off, size_t width, const char *what)
{
    for (size_t bit = 0; bit < width * 8; bit++) {
        p[off + bit / 8] ^= (uint8_t)(1u << (bit % 8));
        ck_capf_msg m;
        ck_err err;
        if (ck_capf_parse(p, n, &m, &err) == 0)
            fail_msg("%s at offset %zu with bit %zu flipped was accepted", what, off, bit);
        p[off + bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
}

/* The header's body length, every element length, and the lengths inside
 * the certificate wrapper, the SUDI data and the SHA2 signature. */
static void test_length_bit_flips(void **state)
{
    (void)state;
    for (int i = 0; i < N_SAMPLES; i++) {
        ck_buf b;
        build_sample(i, &b);
        flip_each_bit(b.data, b.len, 6, 2, "body length");
        size_t off = CK_CAPF_HEADER_LEN;
        while (off < b.len) {
            uint8_t tag = b.data[off];
            size_t len = (size_t)b.data[off + 1] << 8 | b.data[off + 2];
            flip_each_bit(b.data, b.len, off + 1, 2, "element length");
            size_t v = off + 3;
            if (tag == CK_CAPF_TAG_CERT || tag == CK_CAPF_TAG_SHA2_SIGNED_DATA)
                flip_each_bit(b.data, b.len, v + 1, 2, "wrapped length");
            if (tag == CK_CAPF_TAG_SUDI)
                for (size_t p = v; p < v + len;) {
                    flip_each_bit(b.data, b.len, p + 1, 2, "SUDI part length");
                    p += 3 + ((size_t)b.data[p + 1] << 8 | b.data[p + 2]);
                }
            off = v + len;
        }
        ck_buf_free(&b);
    }
}

/* Body bytes in a header that says AUTH_REQUEST (or cmd), session 1. */
static size_t frame(uint8_t *out, uint8_t cmd, const uint8_t *body, size_t n)
{
    out[0] = 0x55, out[1] = cmd, out[2] = 0, out[3] = 0, out[4] = 0, out[5] = 1;
    out[6] = (uint8_t)(n >> 8), out[7] = (uint8_t)n;
    memcpy(out + 8, body, n);
    return 8 + n;
}

static void test_strictness(void **state)
{
    (void)state;
    uint8_t f[128];
    size_t n;
    static const uint8_t dev_ok[] = {0x07, 0, 1, 3, 0x0d, 0, 16, 'S', 'E', 'P', '0', '0', '1', '1', '2', '2', '3', '3', '4', '4', '5', '5', 0};

    n = frame(f, CK_CAPF_AUTH_RESP, dev_ok, sizeof dev_ok);
    ck_capf_msg m;
    ck_err err;
    assert_int_equal(ck_capf_parse(f, n, &m, &err), 0);
    /* Header. */
    f[0] = 0x57;
    expect_bad(f, n, "protocol id 0x57 at offset 0");
    f[0] = 0x55, f[1] = 0;
    expect_bad(f, n, "unknown CAPF command 0");
    f[1] = 24;
    expect_bad(f, n, "unknown CAPF command 24");
    f[1] = 5;
    expect_bad(f, n, "ENCRYPT_RESPONSE) at offset 1 has no known layout");
    f[1] = CK_CAPF_AUTH_REQ;
    expect_bad(f, n, "unexpected element 13 (DEVICE_NAME) at offset 12 in a CAPF AUTH_REQUEST");

    /* Device name: lower case, short, no NUL, inner NUL. */
    uint8_t body[64];
    memcpy(body, dev_ok, sizeof dev_ok);
    body[10] = 'a';
    expect_bad(f, frame(f, CK_CAPF_AUTH_RESP, body, sizeof dev_ok), "not SEP followed by 12 upper-case hex");
    memcpy(body, dev_ok, sizeof dev_ok);
    body[sizeof dev_ok - 1] = 'X';
    expect_bad(f, frame(f, CK_CAPF_AUTH_RESP, body, sizeof dev_ok), "does not end with a NUL");
    memcpy(body, dev_ok, sizeof dev_ok);
    body[12] = 0;
    expect_bad(f, frame(f, CK_CAPF_AUTH_RESP, body, sizeof dev_ok), "NUL byte inside");

    /* Version other than 3; missing device name; duplicated element. */
    memcpy(body, dev_ok, sizeof dev_ok);
    body[3] = 2;
    expect_bad(f, frame(f, CK_CAPF_AUTH_RESP, body, sizeof dev_ok), "VERSION element at offset 8: value 2");
    expect_bad(f, frame(f, CK_CAPF_AUTH_RESP, dev_ok, 4), "AUTH_RESPONSE has no DEVICE_NAME");
    memcpy(body, dev_ok, 4);
    memcpy(body + 4, dev_ok, 4);
    expect_bad(f, frame(f, CK_CAPF_AUTH_RESP, body, 8), "second CAPF VERSION element at offset 12");

    /* Elements defined without a layout (5, 12, 19) and unknown tags. */
    static const uint8_t t12[] = {0x01, 0, 1, 1, 0x0c, 0, 1, 5};
    expect_bad(f, frame(f, CK_CAPF_END_SESSION, t12, sizeof t12), "unexpected element 12 (unknown) at offset 12");
    static const uint8_t t99[] = {0x63, 0, 0, 0x01, 0, 1, 1};
    expect_bad(f, frame(f, CK_CAPF_END_SESSION, t99, sizeof t99), "unexpected element 99");

    /* A u8 element of length 2; EC with a key size; RSA 1000 bits. */
    static const uint8_t long_reason[] = {0x01, 0, 2, 1, 1};
    expect_bad(f, frame(f, CK_CAPF_END_SESSION, long_reason, sizeof long_reason), "length 2 (expected 1)");
    static const uint8_t ec_size[] = {0x0a, 0, 2, 0x08, 0, 0x11, 0, 1, 1, 0x12, 0, 1, 0};
    expect_bad(f, frame(f, CK_CAPF_KEYGEN_REQ, ec_size, sizeof ec_size), "EC key needs CURVE and no KEY_SIZE");
    static const uint8_t odd_size[] = {0x0a, 0, 2, 0x03, 0xe8, 0x11, 0, 1, 0};
    expect_bad(f, frame(f, CK_CAPF_KEYGEN_REQ, odd_size, sizeof odd_size), "1000 bits");
    static const uint8_t curve3[] = {0x11, 0, 1, 1, 0x12, 0, 1, 3};
    expect_bad(f, frame(f, CK_CAPF_KEYGEN_REQ, curve3, sizeof curve3), "CURVE element at offset 12: value 3");

    /* Fetched without a certificate; a body in a message that has none. */
    static const uint8_t fetched[] = {0x01, 0, 1, 1};
    expect_bad(f, frame(f, CK_CAPF_FETCH_CERT_RESP, fetched, sizeof fetched), "says fetched but has no CERTIFICATE");
    expect_bad(f, frame(f, CK_CAPF_REQUEST_IN_PROGRESS, fetched, sizeof fetched), "unexpected element 1 (REASON)");

    /* Certificate wrapper: first byte, the 00 byte, the type. */
    static const uint8_t wrap[] = {0x01, 0, 1, 1, 0x04, 0, 7, 0x01, 0, 4, 0x00, 0x01, 0x30, 0x00};
    assert_int_equal(ck_capf_parse(f, frame(f, CK_CAPF_FETCH_CERT_RESP, wrap, sizeof wrap), &m, &err), 0);
    assert_int_equal(m.cert_len, 2);
    memcpy(body, wrap, sizeof wrap);
    body[7] = 2;
    expect_bad(f, frame(f, CK_CAPF_FETCH_CERT_RESP, body, sizeof wrap), "starts with 0x02 (expected 0x01)");
    memcpy(body, wrap, sizeof wrap);
    body[10] = 1;
    expect_bad(f, frame(f, CK_CAPF_FETCH_CERT_RESP, body, sizeof wrap), "wrapper byte 0x01 at offset 18");
    memcpy(body, wrap, sizeof wrap);
    body[11] = 3;
    expect_bad(f, frame(f, CK_CAPF_FETCH_CERT_RESP, body, sizeof wrap), "names certificate type 3");

    /* Half a certificate authentication. */
    uint8_t half[64];
    memcpy(half, dev_ok, sizeof dev_ok);
    memcpy(half + sizeof dev_ok, wrap + 4, sizeof wrap - 4);
    expect_bad(f, frame(f, CK_CAPF_AUTH_RESP, half, sizeof dev_ok + sizeof wrap - 4), "part of a certificate authentication");
}

static void test_builder_refusals(void **state)
{
    (void)state;
    ck_capf_msg m;
    ck_err err;
    ck_buf b;
    ck_buf_init(&b, 0);
    ck_capf_msg_init(&m, CK_CAPF_END_SESSION, 1);
    m.present = B(REASON) | B(DEVICE);
    m.device = DEV;
    assert_int_equal(ck_capf_build(&m, &b, &err), -1);
    assert_non_null(strstr(err.msg, "cannot carry element 13 (DEVICE_NAME)"));
    ck_capf_msg_init(&m, CK_CAPF_END_SESSION, 1);
    assert_int_equal(ck_capf_build(&m, &b, &err), -1);
    assert_non_null(strstr(err.msg, "END_SESSION has no REASON"));
    ck_capf_msg_init(&m, 6, 1);
    assert_int_equal(ck_capf_build(&m, &b, &err), -1);
    assert_non_null(strstr(err.msg, "ENCRYPT_REQUEST"));
    ck_capf_msg_init(&m, CK_CAPF_AUTH_RESP, 1);
    m.present = B(VERSION) | B(DEVICE);
    m.version = 3;
    m.device = "SEP00112233445g";
    assert_int_equal(ck_capf_build(&m, &b, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
    assert_int_equal(b.len, 0);
    /* Too big for a 16-bit body length. */
    static uint8_t big[70000];
    ck_capf_msg_init(&m, CK_CAPF_KEYGEN_RESP, 1);
    m.present = B(PUBLIC_KEY);
    m.public_key = big, m.public_key_len = sizeof big;
    assert_int_equal(ck_capf_build(&m, &b, &err), -1);
    assert_int_equal(err.code, CK_ELIMIT);
    assert_int_equal(b.len, 0);
    ck_buf_free(&b);
}

static void test_frame_check(void **state)
{
    (void)state;
    size_t flen;
    ck_err err;
    static const uint8_t junk[] = {0x16, 0x03, 0x01};
    assert_int_equal(ck_capf_frame_check(junk, 1, CK_CAPF_MAX_FRAME, &flen, &err), CK_CAPF_FRAME_BAD);
    static const uint8_t big[] = {0x55, 0x04, 0, 0, 0, 1, 0x40, 0x00};
    assert_int_equal(ck_capf_frame_check(big, sizeof big, 1024, &flen, &err), CK_CAPF_FRAME_BAD);
    assert_int_equal(err.code, CK_ELIMIT);
    assert_int_equal(ck_capf_frame_check(big, sizeof big, CK_CAPF_MAX_FRAME, &flen, &err), CK_CAPF_FRAME_NEED_MORE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples),         cmocka_unit_test(test_server_builders),
        cmocka_unit_test(test_round_trips),      cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_length_bit_flips), cmocka_unit_test(test_strictness),
        cmocka_unit_test(test_builder_refusals), cmocka_unit_test(test_frame_check),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
