/* Unit tests of the CAPF server's session (lib/cluster/capf_session.c,
 * capf_lsc.c, capf_auth.c): fed the byte sequences recorded from the
 * reference phone (docs/capf.md, the protocol notes' section 1.14), it
 * answers with the recorded server bytes; the LSC has the profile; every
 * refusal (unknown device, no operation, expired, wrong string, bad
 * certificate or proof, malformed frames) ends the session with the
 * protocol's reason and leaves the operation pending. */
#include "testutil.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctlkit/capf.h"
#include "ctlkit/capf_server.h"
#include "ctlkit/x509.h"

#define DEV "SEP001122334455"
/* The sessions' clock: the real time, since the test certificates
 * (ck_cert_generate) begin now and authentication checks their dates. */
static long long NOW;

/* ---------- a device table of one row ---------- */

static ck_device_row row;
static bool row_exists;
static int n_updates;

static int fake_get(void *arg, const char *name, ck_device_row *out, ck_err *err)
{
    (void)arg;
    if (!row_exists || strcmp(name, row.name) != 0)
        return ck_fail(err, CK_ENOTFOUND, "no device named '%s'", name);
    *out = row;
    out->template_xml = NULL;
    out->lsc_pem = row.lsc_pem ? strdup(row.lsc_pem) : NULL;
    return 0;
}

static int fake_update(void *arg, const char *name, const ck_capf_update *u, ck_err *err)
{
    (void)arg;
    (void)err;
    assert_string_equal(name, row.name);
    ck_capf_update_apply(&row, u);
    n_updates++;
    return 0;
}

static const ck_capf_devices db = {NULL, fake_get, fake_update};
static ck_capf_issuer iss;
static X509 *mfg_cert;
static EVP_PKEY *mfg_key;

static void reset_row(const char *op, const char *auth, const char *string, const char *key_type, int key_size)
{
    ck_device_row_clear(&row);
    memset(&row, 0, sizeof row);
    snprintf(row.name, sizeof row.name, DEV);
    snprintf(row.model, sizeof row.model, "7975");
    snprintf(row.profile, sizeof row.profile, "encrypted");
    snprintf(row.operation, sizeof row.operation, "%s", op);
    snprintf(row.auth_mode, sizeof row.auth_mode, "%s", auth);
    snprintf(row.auth_string, sizeof row.auth_string, "%s", string);
    snprintf(row.key_type, sizeof row.key_type, "%s", key_type);
    row.key_size = key_size;
    row.completes_by = NOW + 86400;
    row_exists = true;
    n_updates = 0;
}

static int setup(void **state)
{
    (void)state;
    NOW = (long long)time(NULL);
    ck_err err;
    ck_cert_params capf = {.cn = "CAPF-0a1b2c3d", .ou = "CAPF", .o = "Example", .l = "Lisbon", .st = "Lisboa",
                           .c = "PT", .rsa_bits = 2048, .key_usage = "digitalSignature,keyCertSign"};
    ck_cert_params mfg = {.cn = "Test Manufacturing CA", .o = "ctlkit tests", .rsa_bits = 2048,
                          .key_usage = "digitalSignature,keyCertSign"};
    if (ck_cert_generate(&capf, &iss.cert, &iss.key, &err) < 0 || ck_cert_generate(&mfg, &mfg_cert, &mfg_key, &err) < 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    X509_free(iss.cert);
    EVP_PKEY_free(iss.key);
    X509_free(mfg_cert);
    EVP_PKEY_free(mfg_key);
    ck_device_row_clear(&row);
    return 0;
}

/* ---------- helpers ---------- */

/* Feeds a frame; the answer (possibly empty) goes to *out (freed by the caller). */
static void feed(ck_capf_session *s, const uint8_t *f, size_t n, ck_buf *out)
{
    ck_err err = {0};
    ck_buf_init(out, 0);
    s->now = NOW;
    assert_int_equal(ck_capf_session_feed(s, &iss, &db, f, n, out, &err), 0);
}

static void expect_bytes(const ck_buf *b, const uint8_t *want, size_t n)
{
    assert_int_equal(b->len, n);
    assert_memory_equal(b->data, want, n);
}

static void begin(ck_capf_session *s, uint32_t id)
{
    ck_err err = {0};
    ck_buf b;
    ck_buf_init(&b, 0);
    assert_int_equal(ck_capf_session_begin(s, id, &b, &err), 0);
    if (id == 1) {
        static const uint8_t auth_req[] = {0x55, 0x01, 0, 0, 0, 1, 0, 8, 0x07, 0, 1, 3, 0x08, 0, 1, 0};
        expect_bytes(&b, auth_req, sizeof auth_req);
    }
    ck_buf_free(&b);
}

/* END_SESSION with reason, session id. */
static void expect_end(const ck_buf *b, uint32_t id, uint8_t reason)
{
    const uint8_t want[] = {0x55, 0x0f, (uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id,
                            0, 4, 0x01, 0, 1, reason};
    expect_bytes(b, want, sizeof want);
}

/* The phone's FETCH_CERTIFICATE answer (session 1) carrying cert, fed to
 * the session, which must end it (END_SESSION 1); out is left empty. */
static void answer_fetch(ck_capf_session *s, X509 *cert, ck_buf *out)
{
    ck_err err = {0};
    uint8_t *der = NULL;
    size_t der_len = 0;
    assert_int_equal(ck_cert_to_der(cert, &der, &der_len, &err), 0);
    ck_capf_msg m;
    ck_capf_msg_init(&m, CK_CAPF_FETCH_CERT_RESP, 1);
    m.present = CK_CAPF_BIT(CK_CAPF_TAG_REASON) | CK_CAPF_BIT(CK_CAPF_TAG_CERT);
    m.reason = 1;
    m.cert = der;
    m.cert_len = der_len;
    m.cert_wrap_type = 1;
    ck_buf f;
    ck_buf_init(&f, 0);
    assert_int_equal(ck_capf_build(&m, &f, &err), 0);
    feed(s, f.data, f.len, out);
    expect_end(out, 1, 0);
    ck_buf_free(out);
    ck_buf_free(&f);
    free(der);
}

/* Recorded: AUTH_RESPONSE with the string "123456", session 1. */
static const uint8_t auth_123456[] = {0x55, 0x02, 0, 0, 0, 1, 0x00, 0x25, 0x01, 0, 1, 1, 0x07, 0, 1, 3,
                                      0x0b, 0, 7, '1', '2', '3', '4', '5', '6', 0, 0x0d, 0, 0x10,
                                      'S', 'E', 'P', '0', '0', '1', '1', '2', '2', '3', '3', '4', '4', '5', '5', 0};
/* Recorded: AUTH_RESPONSE with the null string, session 5. */
static const uint8_t auth_null5[] = {0x55, 0x02, 0, 0, 0, 5, 0x00, 0x1f, 0x01, 0, 1, 1, 0x07, 0, 1, 3, 0x0b, 0, 1, 0,
                                     0x0d, 0, 0x10, 'S', 'E', 'P', '0', '0', '1', '1', '2', '2', '3', '3', '4', '4',
                                     '5', '5', 0};
static const uint8_t in_progress1[] = {0x55, 0x11, 0, 0, 0, 1, 0, 0};
static const uint8_t store_ok1[] = {0x55, 0x0a, 0, 0, 0, 1, 0, 4, 0x01, 0, 1, 1};

static void keygen_response(uint32_t id, EVP_PKEY *key, ck_buf *frame)
{
    ck_err err = {0};
    uint8_t *spki = NULL;
    int n = i2d_PUBKEY(key, &spki);
    assert_true(n > 0);
    ck_capf_msg m;
    ck_capf_msg_init(&m, CK_CAPF_KEYGEN_RESP, id);
    m.present = CK_CAPF_BIT(CK_CAPF_TAG_PUBLIC_KEY);
    m.public_key = spki;
    m.public_key_len = (size_t)n;
    ck_buf_init(frame, 0);
    assert_int_equal(ck_capf_build(&m, frame, &err), 0);
    OPENSSL_free(spki);
}

/* ---------- enrolment ---------- */

static void test_install_by_string(void **state)
{
    (void)state;
    reset_row("install", "string", "123456", "rsa", 2048);
    ck_capf_session s;
    ck_buf out;
    begin(&s, 1);
    feed(&s, auth_123456, sizeof auth_123456, &out);
    static const uint8_t keygen_rsa2048[] = {0x55, 0x03, 0, 0, 0, 1, 0, 9, 0x0a, 0, 2, 0x08, 0x00, 0x11, 0, 1, 0};
    expect_bytes(&out, keygen_rsa2048, sizeof keygen_rsa2048);
    ck_buf_free(&out);
    /* Any number of REQUEST_IN_PROGRESS: no answer, still waiting. */
    for (int i = 0; i < 5; i++) {
        feed(&s, in_progress1, sizeof in_progress1, &out);
        assert_int_equal(out.len, 0);
        ck_buf_free(&out);
    }
    assert_int_equal(s.state, CK_CAPF_ST_KEYGEN);

    EVP_PKEY *phone = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    ck_buf kg;
    keygen_response(1, phone, &kg);
    feed(&s, kg.data, kg.len, &out);
    ck_buf_free(&kg);
    ck_capf_msg m;
    ck_err err = {0};
    assert_int_equal(ck_capf_parse(out.data, out.len, &m, &err), 0);
    assert_int_equal(m.hdr.command, CK_CAPF_STORE_CERT_REQ);
    assert_int_equal(m.cert_type, CK_CAPF_CERT_LSC);
    const unsigned char *p = m.cert;
    X509 *lsc = d2i_X509(NULL, &p, (long)m.cert_len);
    assert_non_null(lsc);
    ck_buf_free(&out);

    /* The profile. */
    char *subj = ck_name_oneline(X509_get_subject_name(lsc));
    assert_string_equal(subj, "CN=SEP001122334455,OU=CAPF,O=Example,L=Lisbon,ST=Lisboa,C=PT");
    free(subj);
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(lsc), X509_get_subject_name(iss.cert)), 0);
    assert_int_equal(X509_verify(lsc, iss.key), 1);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(lsc), phone), 1);
    uint8_t serial[32];
    assert_int_equal(ck_cert_serial(lsc, serial, sizeof serial), 16);
    assert_true(serial[0] & 0x80);
    assert_int_equal(X509_get_extension_flags(lsc) & EXFLAG_CA, 0);
    assert_int_equal(X509_get_key_usage(lsc), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
    uint32_t xku = X509_get_extended_key_usage(lsc);
    assert_true((xku & XKU_SSL_SERVER) && (xku & XKU_SSL_CLIENT));
    int crit = -1;
    EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(lsc, NID_ext_key_usage, &crit, NULL);
    assert_int_equal(sk_ASN1_OBJECT_num(eku), 3);
    assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 2)), NID_ipsecEndSystem);
    sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
    GENERAL_NAMES *san = X509_get_ext_d2i(lsc, NID_subject_alt_name, &crit, NULL);
    assert_int_equal(sk_GENERAL_NAME_num(san), 1);
    GENERAL_NAME *g = sk_GENERAL_NAME_value(san, 0);
    assert_int_equal(g->type, GEN_URI);
    assert_string_equal((const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier), DEV);
    GENERAL_NAMES_free(san);
    assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notBefore(lsc), (time_t)NOW), 0);

    /* Stored in the row, operation cleared, before the phone confirms. */
    assert_string_equal(row.operation, "none");
    assert_int_equal(row.completes_by, 0);
    assert_non_null(row.lsc_pem);
    char hex[80];
    ck_cert_serial_hex(lsc, hex, sizeof hex);
    assert_string_equal(row.lsc_serial, hex);
    assert_int_equal(row.lsc_not_before, NOW);
    assert_int_equal(row.lsc_not_after, NOW + 365 * 86400LL);
    assert_non_null(strstr(row.last_result, "LSC issued"));

    feed(&s, store_ok1, sizeof store_ok1, &out);
    expect_end(&out, 1, 1);
    ck_buf_free(&out);
    assert_int_equal(s.state, CK_CAPF_ST_DONE);
    assert_int_equal(s.outcome, CK_CAPF_OUT_ISSUED);
    X509_free(lsc);
    EVP_PKEY_free(phone);
}

static void test_install_null_string_ec(void **state)
{
    (void)state;
    reset_row("install", "null", "", "ec", 384);
    ck_capf_session s;
    ck_buf out;
    begin(&s, 5);
    feed(&s, auth_null5, sizeof auth_null5, &out);
    static const uint8_t keygen_ec384[] = {0x55, 0x03, 0, 0, 0, 5, 0, 8, 0x11, 0, 1, 1, 0x12, 0, 1, 1};
    expect_bytes(&out, keygen_ec384, sizeof keygen_ec384);
    ck_buf_free(&out);
    /* The wrong key (P-256 for P-384) is refused, nothing issued. */
    EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    ck_buf kg;
    keygen_response(5, p256, &kg);
    feed(&s, kg.data, kg.len, &out);
    expect_end(&out, 5, 7);
    ck_buf_free(&out);
    ck_buf_free(&kg);
    assert_string_equal(row.operation, "install");
    assert_null(row.lsc_pem);
    EVP_PKEY_free(p256);

    /* Again with the right key. */
    begin(&s, 5);
    feed(&s, auth_null5, sizeof auth_null5, &out);
    ck_buf_free(&out);
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    keygen_response(5, p384, &kg);
    feed(&s, kg.data, kg.len, &out);
    ck_capf_msg m;
    ck_err err = {0};
    assert_int_equal(ck_capf_parse(out.data, out.len, &m, &err), 0);
    assert_int_equal(m.hdr.command, CK_CAPF_STORE_CERT_REQ);
    ck_buf_free(&out);
    ck_buf_free(&kg);
    assert_string_equal(row.operation, "none");
    assert_non_null(row.lsc_pem);
    EVP_PKEY_free(p384);
}

/* ---------- refusals ---------- */

static void test_refusals(void **state)
{
    (void)state;
    ck_capf_session s;
    ck_buf out;

    /* A wrong string: END_SESSION 7, nothing issued, still pending. */
    reset_row("install", "string", "654321", "rsa", 2048);
    begin(&s, 1);
    feed(&s, auth_123456, sizeof auth_123456, &out);
    expect_end(&out, 1, 7);
    ck_buf_free(&out);
    assert_int_equal(s.outcome, CK_CAPF_OUT_REFUSED);
    assert_true(s.log_warning);
    assert_non_null(strstr(s.log, "authentication failed"));
    assert_string_equal(row.operation, "install");
    assert_null(row.lsc_pem);
    assert_non_null(strstr(row.last_result, "authentication failed"));

    /* The null string where a string is wanted. */
    begin(&s, 5);
    feed(&s, auth_null5, sizeof auth_null5, &out);
    expect_end(&out, 5, 7);
    ck_buf_free(&out);

    /* An expired operation. */
    reset_row("install", "string", "123456", "rsa", 2048);
    row.completes_by = NOW - 1;
    begin(&s, 1);
    feed(&s, auth_123456, sizeof auth_123456, &out);
    expect_end(&out, 1, 7);
    ck_buf_free(&out);
    assert_non_null(strstr(s.log, "expired"));
    assert_string_equal(row.operation, "install");

    /* No operation pending: END_SESSION 0. */
    reset_row("none", "null", "", "rsa", 2048);
    row.completes_by = 0;
    begin(&s, 1);
    feed(&s, auth_123456, sizeof auth_123456, &out);
    expect_end(&out, 1, 0);
    ck_buf_free(&out);
    assert_int_equal(s.outcome, CK_CAPF_OUT_NO_OPERATION);

    /* Unknown device: END_SESSION 9. */
    row_exists = false;
    begin(&s, 1);
    feed(&s, auth_123456, sizeof auth_123456, &out);
    expect_end(&out, 1, 9);
    ck_buf_free(&out);
    assert_int_equal(n_updates, 0);
}

static void test_bad_input(void **state)
{
    (void)state;
    ck_capf_session s;
    ck_buf out;
    reset_row("install", "string", "123456", "rsa", 2048);
    /* Every truncation of the recorded AUTH_RESPONSE (the service hands
     * the session whole frames; a short one must still be refused). */
    for (size_t n = 0; n < sizeof auth_123456; n++) {
        begin(&s, 1);
        feed(&s, auth_123456, n, &out);
        expect_end(&out, 1, 7);
        ck_buf_free(&out);
        assert_int_equal(s.outcome, CK_CAPF_OUT_BAD_INPUT);
    }
    /* Every bit flip: refused, or (a flip in the password) a wrong string;
     * never an operation started. */
    uint8_t f[sizeof auth_123456];
    for (size_t bit = 0; bit < sizeof f * 8; bit++) {
        memcpy(f, auth_123456, sizeof f);
        f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        begin(&s, 1);
        feed(&s, f, sizeof f, &out);
        ck_buf_free(&out);
        /* The REASON element (bytes 8-11) means nothing to the server: a
         * flip there may leave a good frame (another reason, or tag 3, a
         * CERTIFICATE_TYPE of 1). */
        if (bit / 8 >= 8 && bit / 8 <= 11 && s.state == CK_CAPF_ST_KEYGEN)
            continue;
        assert_int_equal(s.state, CK_CAPF_ST_DONE);
        assert_true(s.outcome == CK_CAPF_OUT_BAD_INPUT || s.outcome == CK_CAPF_OUT_REFUSED);
    }
    assert_string_equal(row.operation, "install");
    assert_null(row.lsc_pem);
    /* Another session's id. */
    begin(&s, 2);
    feed(&s, auth_123456, sizeof auth_123456, &out);
    expect_end(&out, 2, 7);
    ck_buf_free(&out);
    /* The wrong command for the state: STORE_CERTIFICATE_RESPONSE first. */
    begin(&s, 1);
    feed(&s, store_ok1, sizeof store_ok1, &out);
    expect_end(&out, 1, 7);
    ck_buf_free(&out);
    /* After END_SESSION: ignored, no answer. */
    feed(&s, auth_123456, sizeof auth_123456, &out);
    assert_int_equal(out.len, 0);
    ck_buf_free(&out);
}

/* ---------- delete and troubleshoot ---------- */

static void give_lsc(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    uint8_t *spki = NULL;
    int n = i2d_PUBKEY(k, &spki);
    X509 *lsc = NULL;
    ck_err err = {0};
    assert_int_equal(ck_capf_issue_lsc(&iss, DEV, spki, (size_t)n, CK_CAPF_KEY_RSA, 1024, 0, NOW, &lsc, &err), 0);
    row.lsc_pem = ck_cert_to_pem(lsc);
    ck_cert_serial_hex(lsc, row.lsc_serial, sizeof row.lsc_serial);
    OPENSSL_free(spki);
    EVP_PKEY_free(k);
    X509_free(lsc);
}

/* The phone's RSA key is checked as DER, not decoded (capf_lsc.c): what
 * it must refuse, and the key it copies is the phone's. */
static void test_lsc_rsa_key_checks(void **state)
{
    (void)state;
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    uint8_t *spki = NULL;
    int n = i2d_PUBKEY(k, &spki);
    X509 *lsc = NULL;
    ck_err err = {0};
    /* The right key: the LSC, once encoded and read back, carries it. */
    assert_int_equal(ck_capf_issue_lsc(&iss, DEV, spki, (size_t)n, CK_CAPF_KEY_RSA, 1024, 0, NOW, &lsc, &err), 0);
    uint8_t *der = NULL;
    size_t der_len = 0;
    assert_int_equal(ck_cert_to_der(lsc, &der, &der_len, &err), 0);
    X509_free(lsc);
    const unsigned char *p = der;
    X509 *back = d2i_X509(NULL, &p, (long)der_len);
    assert_non_null(back);
    assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(back), k), 1);
    assert_int_equal(X509_verify(back, iss.key), 1);
    X509_free(back);
    free(der);
    /* The wrong size. */
    lsc = NULL;
    assert_int_equal(ck_capf_issue_lsc(&iss, DEV, spki, (size_t)n, CK_CAPF_KEY_RSA, 2048, 0, NOW, &lsc, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
    assert_non_null(strstr(err.msg, "RSA-1024 key; RSA-2048"));
    assert_null(lsc);
    /* Ends "02 03 01 00 01": the exponent 65537, the modulus's last byte
     * before it. An even modulus is no RSA key. */
    assert_memory_equal(spki + n - 5, "\x02\x03\x01\x00\x01", 5);
    spki[n - 6] ^= 1;
    err = (ck_err){0};
    assert_int_equal(ck_capf_issue_lsc(&iss, DEV, spki, (size_t)n, CK_CAPF_KEY_RSA, 1024, 0, NOW, &lsc, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
    assert_null(lsc);
    spki[n - 6] ^= 1;
    /* Neither is an even exponent (65536). */
    spki[n - 1] = 0;
    err = (ck_err){0};
    assert_int_equal(ck_capf_issue_lsc(&iss, DEV, spki, (size_t)n, CK_CAPF_KEY_RSA, 1024, 0, NOW, &lsc, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
    spki[n - 1] = 1;
    /* Nor a negative one (DER INTEGER 0x810001: odd, not 1, but below
     * zero; BN_is_odd looks at the magnitude only). */
    spki[n - 3] = 0x81;
    err = (ck_err){0};
    assert_int_equal(ck_capf_issue_lsc(&iss, DEV, spki, (size_t)n, CK_CAPF_KEY_RSA, 1024, 0, NOW, &lsc, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
    assert_null(lsc);
    spki[n - 3] = 0x01;
    /* Cut short, or a byte more: not DER. */
    for (int cut = 1; cut < n; cut += 37) {
        err = (ck_err){0};
        assert_int_equal(ck_capf_issue_lsc(&iss, DEV, spki, (size_t)(n - cut), CK_CAPF_KEY_RSA, 1024, 0, NOW, &lsc, &err),
                         -1);
        assert_int_equal(err.code, CK_EFORMAT);
    }
    uint8_t *longer = malloc((size_t)n + 1);
    memcpy(longer, spki, (size_t)n);
    longer[n] = 0;
    assert_int_equal(ck_capf_issue_lsc(&iss, DEV, longer, (size_t)n + 1, CK_CAPF_KEY_RSA, 1024, 0, NOW, &lsc, &err), -1);
    assert_int_equal(err.code, CK_EFORMAT);
    free(longer);
    OPENSSL_free(spki);
    EVP_PKEY_free(k);
    /* An EC key where RSA was asked for. */
    k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    spki = NULL;
    n = i2d_PUBKEY(k, &spki);
    err = (ck_err){0};
    assert_int_equal(ck_capf_issue_lsc(&iss, DEV, spki, (size_t)n, CK_CAPF_KEY_RSA, 2048, 0, NOW, &lsc, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
    assert_non_null(strstr(err.msg, "non-RSA"));
    assert_null(lsc);
    OPENSSL_free(spki);
    EVP_PKEY_free(k);
}

static void test_delete(void **state)
{
    (void)state;
    ck_capf_session s;
    ck_buf out;
    reset_row("delete", "null", "", "rsa", 2048);
    give_lsc();
    begin(&s, 3);
    uint8_t auth3[sizeof auth_null5];
    memcpy(auth3, auth_null5, sizeof auth3);
    auth3[5] = 3;
    feed(&s, auth3, sizeof auth3, &out);
    static const uint8_t del_req3[] = {0x55, 0x0d, 0, 0, 0, 3, 0, 0};
    expect_bytes(&out, del_req3, sizeof del_req3);
    ck_buf_free(&out);
    /* Recorded: the phone fails to delete. END_SESSION 1, still pending. */
    static const uint8_t del_fail3[] = {0x55, 0x0e, 0, 0, 0, 3, 0, 4, 0x01, 0, 1, 7};
    feed(&s, del_fail3, sizeof del_fail3, &out);
    expect_end(&out, 3, 1);
    ck_buf_free(&out);
    assert_string_equal(row.operation, "delete");
    assert_non_null(row.lsc_pem);
    /* Then it succeeds. */
    begin(&s, 3);
    feed(&s, auth3, sizeof auth3, &out);
    ck_buf_free(&out);
    static const uint8_t del_ok3[] = {0x55, 0x0e, 0, 0, 0, 3, 0, 4, 0x01, 0, 1, 1};
    feed(&s, del_ok3, sizeof del_ok3, &out);
    expect_end(&out, 3, 1);
    ck_buf_free(&out);
    assert_int_equal(s.outcome, CK_CAPF_OUT_DELETED);
    assert_string_equal(row.operation, "none");
    assert_null(row.lsc_pem);
    assert_string_equal(row.lsc_serial, "");
}

static void test_troubleshoot(void **state)
{
    (void)state;
    ck_capf_session s;
    ck_buf out;
    reset_row("troubleshoot", "null", "", "rsa", 2048);
    give_lsc();
    char serial[80];
    snprintf(serial, sizeof serial, "%s", row.lsc_serial);
    X509 *lsc = NULL;
    ck_err err = {0};
    assert_int_equal(ck_load_pem_mem(row.lsc_pem, strlen(row.lsc_pem), &lsc, NULL, false, &err), 0);
    /* The row forgot it; troubleshoot brings it back. */
    free(row.lsc_pem);
    row.lsc_pem = NULL;
    row.lsc_serial[0] = 0;
    begin(&s, 1);
    uint8_t auth1[sizeof auth_null5];
    memcpy(auth1, auth_null5, sizeof auth1);
    auth1[5] = 1;
    feed(&s, auth1, sizeof auth1, &out);
    static const uint8_t fetch_req1[] = {0x55, 0x0b, 0, 0, 0, 1, 0, 0};
    expect_bytes(&out, fetch_req1, sizeof fetch_req1);
    ck_buf_free(&out);
    answer_fetch(&s, lsc, &out);
    assert_int_equal(s.outcome, CK_CAPF_OUT_FETCHED);
    assert_string_equal(row.operation, "none");
    assert_string_equal(row.lsc_serial, serial);
    assert_non_null(row.lsc_pem);
    assert_int_equal(row.lsc_not_before, NOW);
    X509_free(lsc);
}

/* A phone whose troubleshoot answer is another device's LSC (signed by
 * this CAPF, so "ours" by issuer and signature; any phone can hold a copy:
 * certificates are public) is reported, not put on record as this
 * device's LSC: the configuration is encrypted for the LSC on record. */
static void test_troubleshoot_other_device(void **state)
{
    (void)state;
    ck_capf_session s;
    ck_buf out;
    ck_err err = {0};
    reset_row("troubleshoot", "null", "", "rsa", 2048);
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    uint8_t *spki = NULL;
    int n = i2d_PUBKEY(k, &spki);
    X509 *other = NULL;
    assert_int_equal(ck_capf_issue_lsc(&iss, "SEP00AABBCCDDEE", spki, (size_t)n, CK_CAPF_KEY_RSA, 1024, 0, NOW, &other,
                                       &err), 0);
    OPENSSL_free(spki);
    EVP_PKEY_free(k);
    begin(&s, 1);
    uint8_t auth1[sizeof auth_null5];
    memcpy(auth1, auth_null5, sizeof auth1);
    auth1[5] = 1;
    feed(&s, auth1, sizeof auth1, &out);
    assert_int_equal(out.data[1], CK_CAPF_FETCH_CERT_REQ);
    ck_buf_free(&out);
    answer_fetch(&s, other, &out);
    assert_null(row.lsc_pem);
    assert_string_equal(row.lsc_serial, "");
    assert_non_null(strstr(row.last_result, "another device's LSC"));
    assert_non_null(strstr(s.log, "another device"));
    X509_free(other);
}

/* REQUEST_IN_PROGRESS restarts the connection's time-out, so the session
 * bounds the key generation itself: within CK_CAPF_KEYGEN_MAX_MS of the
 * request any number are fine; past it the session ends (7) and the
 * install stays pending. */
static void test_keygen_bounded(void **state)
{
    (void)state;
    reset_row("install", "string", "123456", "rsa", 2048);
    ck_capf_session s;
    ck_buf out;
    begin(&s, 1);
    s.now_ms = 5000;
    feed(&s, auth_123456, sizeof auth_123456, &out);
    assert_int_equal(out.data[1], CK_CAPF_KEYGEN_REQ);
    ck_buf_free(&out);
    for (uint64_t t = 5000; t <= 5000 + CK_CAPF_KEYGEN_MAX_MS; t += 100000) {
        s.now_ms = t;
        feed(&s, in_progress1, sizeof in_progress1, &out);
        assert_int_equal(out.len, 0);
        ck_buf_free(&out);
    }
    s.now_ms = 5000 + CK_CAPF_KEYGEN_MAX_MS;
    feed(&s, in_progress1, sizeof in_progress1, &out);
    assert_int_equal(out.len, 0);
    ck_buf_free(&out);
    assert_int_equal(s.state, CK_CAPF_ST_KEYGEN);
    s.now_ms = 5000 + CK_CAPF_KEYGEN_MAX_MS + 1;
    feed(&s, in_progress1, sizeof in_progress1, &out);
    expect_end(&out, 1, 7);
    ck_buf_free(&out);
    assert_int_equal(s.state, CK_CAPF_ST_DONE);
    assert_int_equal(s.outcome, CK_CAPF_OUT_REFUSED);
    assert_string_equal(row.operation, "install");
    assert_non_null(strstr(row.last_result, "made no key"));
}

/* An admin who schedules another operation while a session runs keeps
 * it: the session records what happened (the LSC it issued) but clears
 * only the operation it carried out, not the one scheduled meanwhile. */
static void test_operation_changed_meanwhile(void **state)
{
    (void)state;
    reset_row("install", "string", "123456", "rsa", 1024);
    ck_capf_session s;
    ck_buf out;
    begin(&s, 1);
    feed(&s, auth_123456, sizeof auth_123456, &out);
    assert_int_equal(out.data[1], CK_CAPF_KEYGEN_REQ);
    ck_buf_free(&out);
    /* Meanwhile: device capf SEP... --operation delete. */
    snprintf(row.operation, sizeof row.operation, "delete");
    EVP_PKEY *phone = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
    ck_buf kg;
    keygen_response(1, phone, &kg);
    feed(&s, kg.data, kg.len, &out);
    ck_buf_free(&kg);
    assert_int_equal(out.data[1], CK_CAPF_STORE_CERT_REQ);
    ck_buf_free(&out);
    assert_non_null(row.lsc_pem);               /* what happened is on record */
    assert_string_equal(row.operation, "delete"); /* what the admin wants next stays */
    assert_int_not_equal(row.completes_by, 0);
    EVP_PKEY_free(phone);
}

/* ---------- authentication by certificate ---------- */

/* The dates of the certificate mic_auth made last. */
static int64_t mic_not_before, mic_not_after;

/* A MIC for DEV from the test manufacturing CA, and the AUTH_RESPONSE
 * proving it; flip > 0 spoils a proof. */
static void mic_auth(uint32_t id, ck_buf *frame, X509 *issuer, EVP_PKEY *issuer_key, bool spoil, const char *cn)
{
    ck_err err = {0};
    X509 *mic = NULL;
    EVP_PKEY *key = NULL;
    ck_cert_params p = {.cn = cn, .o = "Cisco Systems Inc.", .rsa_bits = 1024, .issuer_cert = issuer,
                        .issuer_key = issuer_key};
    assert_int_equal(ck_cert_generate(&p, &mic, &key, &err), 0);
    assert_true(ck_asn1_time_seconds(X509_get0_notBefore(mic), &mic_not_before));
    assert_true(ck_asn1_time_seconds(X509_get0_notAfter(mic), &mic_not_after));
    uint8_t *der = NULL;
    size_t der_len = 0;
    assert_int_equal(ck_cert_to_der(mic, &der, &der_len, &err), 0);
    uint8_t sig1[512], sig2[512];
    size_t l1 = sizeof sig1, l2 = sizeof sig2;
    assert_int_equal(ck_capf_prove(key, DEV, der, der_len, CK_CAPF_HASH_SHA1, sig1, &l1, &err), 0);
    assert_int_equal(ck_capf_prove(key, DEV, der, der_len, CK_CAPF_HASH_SHA512, sig2, &l2, &err), 0);
    if (spoil)
        sig2[l2 / 2] ^= 1;
    ck_capf_msg m;
    ck_capf_msg_init(&m, CK_CAPF_AUTH_RESP, id);
    m.present = CK_CAPF_BIT(CK_CAPF_TAG_REASON) | CK_CAPF_BIT(CK_CAPF_TAG_VERSION) | CK_CAPF_BIT(CK_CAPF_TAG_DEVICE) |
                CK_CAPF_BIT(CK_CAPF_TAG_PASSWORD) | CK_CAPF_BIT(CK_CAPF_TAG_CERT) |
                CK_CAPF_BIT(CK_CAPF_TAG_SIGNED_DATA) | CK_CAPF_BIT(CK_CAPF_TAG_SHA2_SIGNED_DATA);
    m.reason = 1;
    m.version = CK_CAPF_VERSION;
    m.device = DEV;
    m.password = "";
    m.password_len = 0;
    m.cert = der;
    m.cert_len = der_len;
    m.cert_wrap_type = 1;
    m.signed_data = sig1;
    m.signed_data_len = l1;
    m.sha2_signed.hash_id = CK_CAPF_HASH_SHA512;
    m.sha2_signed.sig = sig2;
    m.sha2_signed.sig_len = l2;
    ck_buf_init(frame, 0);
    assert_int_equal(ck_capf_build(&m, frame, &err), 0);
    free(der);
    X509_free(mic);
    EVP_PKEY_free(key);
}

static void run_auth(ck_buf *frame, uint8_t want_cmd)
{
    ck_capf_session s;
    ck_buf out;
    begin(&s, 1);
    feed(&s, frame->data, frame->len, &out);
    assert_int_equal(out.data[1], want_cmd);
    ck_buf_free(&out);
    ck_buf_free(frame);
}

static void test_auth_by_mic(void **state)
{
    (void)state;
    reset_row("install", "mic", "", "rsa", 2048);
    ck_buf f;
    /* Not trusted yet: refused. */
    mic_auth(1, &f, mfg_cert, mfg_key, false, "CP-7975G-" DEV);
    run_auth(&f, CK_CAPF_END_SESSION);
    assert_string_equal(row.operation, "install");
    /* With the manufacturing CA in CAPF-trust: a key generation request. */
    X509 *roots[] = {mfg_cert};
    iss.mic_roots = roots;
    iss.n_mic_roots = 1;
    mic_auth(1, &f, mfg_cert, mfg_key, false, "CP-7975G-" DEV);
    run_auth(&f, CK_CAPF_KEYGEN_REQ);
    /* A bad proof, another phone's certificate, a self-signed one: refused. */
    mic_auth(1, &f, mfg_cert, mfg_key, true, "CP-7975G-" DEV);
    run_auth(&f, CK_CAPF_END_SESSION);
    mic_auth(1, &f, mfg_cert, mfg_key, false, "CP-7975G-SEP00112233AAAA");
    run_auth(&f, CK_CAPF_END_SESSION);
    mic_auth(1, &f, NULL, NULL, false, "CP-7975G-" DEV);
    run_auth(&f, CK_CAPF_END_SESSION);
    iss.mic_roots = NULL;
    iss.n_mic_roots = 0;
    /* An LSC of this CAPF authenticates too (mode lsc). */
    reset_row("install", "lsc", "", "rsa", 2048);
    mic_auth(1, &f, iss.cert, iss.key, false, DEV);
    run_auth(&f, CK_CAPF_KEYGEN_REQ);
}

/* One AUTH_RESPONSE by certificate at the session time now; the answer's
 * command, and the session's log line. */
static uint8_t run_auth_at(ck_buf *frame, int64_t now, char *log, size_t logsz)
{
    ck_capf_session s;
    ck_buf out;
    ck_err err = {0};
    begin(&s, 1);
    ck_buf_init(&out, 0);
    s.now = now;
    assert_int_equal(ck_capf_session_feed(&s, &iss, &db, frame->data, frame->len, &out, &err), 0);
    uint8_t cmd = out.len > 1 ? out.data[1] : 0;
    snprintf(log, logsz, "%s", s.log);
    ck_buf_free(&out);
    ck_buf_free(frame);
    return cmd;
}

/* A certificate outside its dates does not authenticate (the reference does
 * not look): an expired MIC or LSC, and one that begins later than the
 * clock skew allows; the operation stays pending and the row says why. */
static void test_auth_dates(void **state)
{
    (void)state;
    char log[320];
    ck_buf f;
    X509 *roots[] = {mfg_cert};
    iss.mic_roots = roots;
    iss.n_mic_roots = 1;
    /* Each case at the edges of the dates of the certificate it sends
     * (mic_not_before, mic_not_after: made now, valid 1825 days), so that
     * the time taken to make the keys does not matter. */
    reset_row("install", "mic", "", "rsa", 2048);
    row.completes_by = NOW + 1900LL * 86400;
    mic_auth(1, &f, mfg_cert, mfg_key, false, "CP-7975G-" DEV);
    assert_int_equal(run_auth_at(&f, mic_not_after + 1, log, sizeof log), CK_CAPF_END_SESSION);
    assert_non_null(strstr(log, "the certificate expired on "));
    assert_string_equal(row.operation, "install");
    assert_non_null(strstr(row.last_result, "expired on"));
    /* Its last second still counts. */
    mic_auth(1, &f, mfg_cert, mfg_key, false, "CP-7975G-" DEV);
    assert_int_equal(run_auth_at(&f, mic_not_after, log, sizeof log), CK_CAPF_KEYGEN_REQ);
    /* Begins later than the clock skew allows: refused; just within it:
     * accepted. */
    reset_row("install", "mic", "", "rsa", 2048);
    mic_auth(1, &f, mfg_cert, mfg_key, false, "CP-7975G-" DEV);
    assert_int_equal(run_auth_at(&f, mic_not_before - CK_CAPF_CLOCK_SKEW_S - 1, log, sizeof log),
                     CK_CAPF_END_SESSION);
    assert_non_null(strstr(log, "the certificate is not valid before "));
    mic_auth(1, &f, mfg_cert, mfg_key, false, "CP-7975G-" DEV);
    assert_int_equal(run_auth_at(&f, mic_not_before - CK_CAPF_CLOCK_SKEW_S, log, sizeof log), CK_CAPF_KEYGEN_REQ);
    iss.mic_roots = NULL;
    iss.n_mic_roots = 0;
    /* An expired LSC of this CAPF. */
    reset_row("delete", "lsc", "", "rsa", 2048);
    row.completes_by = NOW + 1900LL * 86400;
    mic_auth(1, &f, iss.cert, iss.key, false, DEV);
    assert_int_equal(run_auth_at(&f, mic_not_after + 1, log, sizeof log), CK_CAPF_END_SESSION);
    assert_non_null(strstr(log, "expired on"));
    assert_string_equal(row.operation, "delete");
}

/* One AUTH_RESPONSE "123456" for DEV from source at now_ms; the command
 * of the answer (15: END_SESSION, 3: KEY_GENERATE_REQUEST). */
static uint8_t auth_from(ck_pv_guard *g, const char *source, uint64_t now_ms, char *log, size_t logsz)
{
    ck_capf_session s;
    ck_buf out;
    begin(&s, 1);
    s.guard = g;
    snprintf(s.source, sizeof s.source, "%s", source);
    s.now_ms = now_ms;
    feed(&s, auth_123456, sizeof auth_123456, &out);
    uint8_t cmd = out.len > 1 ? out.data[1] : 0;
    if (cmd == CK_CAPF_END_SESSION)
        assert_int_equal(out.data[out.len - 1], 7);
    snprintf(log, logsz, "%s", s.log);
    ck_buf_free(&out);
    return cmd;
}

/* Wrong strings back off the device across connections and sources; the
 * operation stays pending; only the first refusal and then summaries reach
 * the row and the audit; the right string works after the back-off. */
static void test_backoff(void **state)
{
    (void)state;
    ck_pv_guard_cfg cfg;
    ck_capf_guard_cfg_init(&cfg);
    cfg.free_failures = 3;
    cfg.backoff_ms = 1000;
    cfg.summary_ms = 60000;
    ck_pv_guard *g = ck_pv_guard_new(&cfg);
    assert_non_null(g);
    char log[320];

    reset_row("install", "string", "654321", "rsa", 2048);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(auth_from(g, "10.0.0.7", 1000 + (uint64_t)i, log, sizeof log), CK_CAPF_END_SESSION);
        assert_non_null(strstr(log, "authentication failed"));
    }
    assert_int_equal(n_updates, 1); /* the first refusal only */
    assert_non_null(strstr(row.last_result, "authentication failed"));

    /* Now even the right string is refused unchecked, from any source,
     * with the same END_SESSION 7, and nothing is written. */
    snprintf(row.auth_string, sizeof row.auth_string, "123456");
    assert_int_equal(auth_from(g, "10.0.0.7", 1500, log, sizeof log), CK_CAPF_END_SESSION);
    assert_non_null(strstr(log, "refused unchecked"));
    assert_int_equal(n_updates, 1);
    assert_int_equal(auth_from(g, "10.0.0.8", 1600, log, sizeof log), CK_CAPF_END_SESSION);
    assert_non_null(strstr(log, "refused unchecked"));
    assert_int_equal(n_updates, 2); /* the first from that source */
    assert_string_equal(row.operation, "install");
    assert_null(row.lsc_pem);

    /* After the back-off the right string goes on to the key request. */
    assert_int_equal(auth_from(g, "10.0.0.8", 1002 + 1000, log, sizeof log), CK_CAPF_KEYGEN_REQ);

    /* A wrong string a minute later: the source's refusals so far come
     * as one summary row. */
    snprintf(row.auth_string, sizeof row.auth_string, "654321");
    assert_int_equal(auth_from(g, "10.0.0.7", 70000, log, sizeof log), CK_CAPF_END_SESSION);
    assert_int_equal(n_updates, 3);
    assert_non_null(strstr(row.last_result, "install refused: 4 wrong authentications for '" DEV "' from 10.0.0.7"));

    /* Without a guard every refusal is recorded (as before). */
    n_updates = 0;
    for (int i = 0; i < 5; i++)
        assert_int_equal(auth_from(NULL, "10.0.0.7", 1000, log, sizeof log), CK_CAPF_END_SESSION);
    assert_int_equal(n_updates, 5);
    ck_pv_guard_free(g);
}

/* A flood of sessions for an expired operation (no authentication needed
 * to cause one) from one source: with the refusals guard the first
 * writes the row's result and its audit row, the rest are counted into
 * one summary a minute later; the count is every refusal since the first
 * row. The guard backs nothing off. Without it every refusal is written. */
static void test_refusal_flood(void **state)
{
    (void)state;
    ck_pv_guard_cfg cfg;
    ck_capf_refusal_cfg_init(&cfg);
    cfg.summary_ms = 60000;
    ck_pv_guard *g = ck_pv_guard_new(&cfg);
    assert_non_null(g);
    reset_row("install", "string", "123456", "rsa", 2048);
    row.completes_by = NOW - 60;
    for (int i = 0; i < 40; i++) {
        ck_capf_session s;
        ck_buf out;
        begin(&s, 1);
        s.refusals = g;
        snprintf(s.source, sizeof s.source, "10.0.0.7");
        s.now_ms = 1000 + (uint64_t)i;
        feed(&s, auth_123456, sizeof auth_123456, &out);
        expect_end(&out, 1, 7);
        assert_non_null(strstr(s.log, "expired"));
        ck_buf_free(&out);
    }
    assert_int_equal(n_updates, 1);
    assert_string_equal(row.last_result, "install refused: the operation expired");

    /* A minute on, the next refusal brings the summary of the 39 held
     * back plus itself. */
    ck_capf_session s;
    ck_buf out;
    begin(&s, 1);
    s.refusals = g;
    snprintf(s.source, sizeof s.source, "10.0.0.7");
    s.now_ms = 70000;
    feed(&s, auth_123456, sizeof auth_123456, &out);
    ck_buf_free(&out);
    assert_int_equal(n_updates, 2);
    assert_non_null(strstr(row.last_result, "install refused: the operation expired; 40 refused sessions for '" DEV
                                            "' from 10.0.0.7 in the last"));
    /* Refused unchecked never: the guard backs nothing off. */
    assert_int_equal(ck_pv_guard_wait(g, "10.0.0.7", DEV, 70001), 0);

    /* Summaries that come due after the flood stopped are flushed. */
    begin(&s, 1);
    s.refusals = g;
    snprintf(s.source, sizeof s.source, "10.0.0.7");
    s.now_ms = 70500;
    feed(&s, auth_123456, sizeof auth_123456, &out);
    ck_buf_free(&out);
    assert_int_equal(n_updates, 2);
    char line[256];
    assert_false(ck_pv_guard_flush(g, 71000, line, sizeof line));
    assert_true(ck_pv_guard_flush(g, 131000, line, sizeof line));
    assert_non_null(strstr(line, "CAPF: 1 refused session for '" DEV "' from 10.0.0.7"));

    /* Without the guard every refusal is written (as before). */
    n_updates = 0;
    for (int i = 0; i < 5; i++) {
        begin(&s, 1);
        feed(&s, auth_123456, sizeof auth_123456, &out);
        ck_buf_free(&out);
    }
    assert_int_equal(n_updates, 5);
    ck_pv_guard_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_install_by_string), cmocka_unit_test(test_install_null_string_ec),
        cmocka_unit_test(test_lsc_rsa_key_checks),
        cmocka_unit_test(test_refusals),          cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_delete),            cmocka_unit_test(test_troubleshoot),
        cmocka_unit_test(test_auth_by_mic),       cmocka_unit_test(test_auth_dates),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_refusal_flood),     cmocka_unit_test(test_troubleshoot_other_device),
        cmocka_unit_test(test_keygen_bounded),    cmocka_unit_test(test_operation_changed_meanwhile),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
