/* Unit tests of the TVS wire codec (lib/proto/tvs.c, tvs_cert.c):
 * header, streaming frame check, requests, responses, the DER certificate
 * walk, and many malformed inputs (docs/tvs-protocol.md, "Bad input"). */
#include "testutil.h"

#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/bytes.h"
#include "ctlkit/tvs.h"
#include "ctlkit/x509.h"

#define DEV "CP-7975-SEP001122334455"

static uint8_t *cert_der[4];
static size_t cert_len[4];
static X509 *cert_x[4];
static const char *const cert_files[4] = {"sast.crt.pem", "ccm.crt.pem", "tvs.crt.pem", "tvs-ec.crt.pem"};

static int setup(void **state)
{
    ck_err err;
    for (int i = 0; i < 4; i++)
        if (ck_load_pem(tu_vector(cert_files[i]), &cert_x[i], NULL, false, &err) < 0 ||
            ck_cert_to_der(cert_x[i], &cert_der[i], &cert_len[i], &err) < 0)
            return -1;
    return 0;
}

static int teardown(void **state)
{
    for (int i = 0; i < 4; i++) {
        free(cert_der[i]);
        X509_free(cert_x[i]);
    }
    return 0;
}

/* A VERIFY request for certificate i, in a fresh ck_buf. */
static void build_verify(ck_buf *b, int i, uint32_t session)
{
    ck_err err;
    ck_buf_init(b, 0);
    assert_int_equal(ck_tvs_build_request(CK_TVS_VERIFY_REQ, session, DEV, cert_der[i], cert_len[i], b, &err), 0);
}

/* Parses raw bytes as a request and expects a failure mentioning `needle`. */
static void expect_bad_request(const uint8_t *p, size_t n, const char *needle)
{
    ck_tvs_request req;
    ck_err err = {0};
    assert_int_equal(ck_tvs_parse_request(p, n, &req, &err), -1);
    if (!strstr(err.msg, needle))
        fail_msg("error \"%s\" does not mention \"%s\"", err.msg, needle);
}

/* Header + body from element bytes. */
static size_t frame(uint8_t *out, uint8_t cmd, const uint8_t *body, size_t n)
{
    out[0] = 0x57, out[1] = 1, out[2] = cmd, out[3] = 0;
    out[4] = 0, out[5] = 0, out[6] = 0x12, out[7] = 0x34;
    out[8] = (uint8_t)(n >> 8), out[9] = (uint8_t)n;
    memcpy(out + 10, body, n);
    return 10 + n;
}

static size_t dev_elem(uint8_t *out, const char *name)
{
    size_t n = strlen(name);
    out[0] = 1, out[1] = (uint8_t)((n + 1) >> 8), out[2] = (uint8_t)(n + 1), out[3] = 1;
    memcpy(out + 4, name, n);
    return 4 + n;
}

static size_t cert_elem(uint8_t *out, int i)
{
    out[0] = 2, out[1] = (uint8_t)(cert_len[i] >> 8), out[2] = (uint8_t)cert_len[i];
    memcpy(out + 3, cert_der[i], cert_len[i]);
    return 3 + cert_len[i];
}

static void test_header(void **state)
{
    ck_tvs_header h;
    ck_err err;
    const uint8_t ok[10] = {0x57, 1, 1, 0, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02};
    assert_int_equal(ck_tvs_parse_header(ok, sizeof ok, &h, &err), 0);
    assert_int_equal(h.command, 1);
    assert_int_equal(h.session, 0xdeadbeef);
    assert_int_equal(h.body_len, 0x0102);

    assert_int_equal(ck_tvs_parse_header(ok, 9, &h, &err), -1);
    assert_non_null(strstr(err.msg, "shorter than its 10-byte header"));
    uint8_t bad[10];
    memcpy(bad, ok, 10);
    bad[0] = 0x58;
    assert_int_equal(ck_tvs_parse_header(bad, 10, &h, &err), -1);
    assert_non_null(strstr(err.msg, "protocol id 0x58 at offset 0"));
    memcpy(bad, ok, 10);
    bad[1] = 2;
    assert_int_equal(ck_tvs_parse_header(bad, 10, &h, &err), -1);
    assert_non_null(strstr(err.msg, "version 2 at offset 1"));
    for (unsigned c = 0; c < 256; c++) {
        memcpy(bad, ok, 10);
        bad[2] = (uint8_t)c;
        int rc = ck_tvs_parse_header(bad, 10, &h, &err);
        assert_int_equal(rc, (c >= 1 && c <= 4) ? 0 : -1);
    }
    /* The reserved byte: 0 in requests (docs/tvs-protocol.md); a response's
     * is not checked. */
    for (unsigned r = 1; r < 256; r++) {
        memcpy(bad, ok, 10);
        bad[3] = (uint8_t)r;
        assert_int_equal(ck_tvs_parse_header(bad, 10, &h, &err), -1);
        assert_non_null(strstr(err.msg, "reserved byte"));
        assert_non_null(strstr(err.msg, "at offset 3 (must be 0)"));
        bad[2] = CK_TVS_QUERY_REQ;
        assert_int_equal(ck_tvs_parse_header(bad, 10, &h, &err), -1);
        bad[2] = CK_TVS_VERIFY_RESP;
        assert_int_equal(ck_tvs_parse_header(bad, 10, &h, &err), 0);
    }
    memcpy(bad, ok, 10);
    bad[3] = 0xff;
    assert_int_equal(ck_tvs_parse_header(bad, 10, &h, &err), -1);
    assert_string_equal(err.msg, "TVS VERIFY request with reserved byte 0xff at offset 3 (must be 0)");
    assert_string_equal(ck_tvs_command_name(1), "VERIFY");
    assert_string_equal(ck_tvs_command_name(4), "QUERY response");
    assert_string_equal(ck_tvs_command_name(9), "unknown");
}

static void test_frame_check(void **state)
{
    ck_buf b;
    build_verify(&b, 1, 7);
    size_t flen = 0;
    ck_err err;
    /* Every proper prefix needs more; the whole frame is ready. */
    for (size_t n = 0; n < b.len; n++)
        assert_int_equal(ck_tvs_frame_check(b.data, n, CK_TVS_MAX_REQUEST, &flen, &err), CK_TVS_FRAME_NEED_MORE);
    assert_int_equal(ck_tvs_frame_check(b.data, b.len, CK_TVS_MAX_REQUEST, &flen, &err), CK_TVS_FRAME_READY);
    assert_int_equal(flen, b.len);

    /* Two frames back to back (pipelining): the first is reported. */
    size_t one = b.len;
    uint8_t *copy = malloc(one);
    memcpy(copy, b.data, one);
    ck_buf_bytes(&b, copy, one); /* not b.data itself: the append may move it */
    free(copy);
    assert_int_equal(ck_tvs_frame_check(b.data, b.len, CK_TVS_MAX_REQUEST, &flen, &err), CK_TVS_FRAME_READY);
    assert_int_equal(flen, one);

    /* Garbage is refused from its first byte (an HTTP request, a TLS record). */
    assert_int_equal(ck_tvs_frame_check((const uint8_t *)"G", 1, CK_TVS_MAX_REQUEST, &flen, &err), CK_TVS_FRAME_BAD);
    assert_non_null(strstr(err.msg, "offset 0"));
    const uint8_t v2[2] = {0x57, 2};
    assert_int_equal(ck_tvs_frame_check(v2, 2, CK_TVS_MAX_REQUEST, &flen, &err), CK_TVS_FRAME_BAD);
    const uint8_t c9[3] = {0x57, 1, 9};
    assert_int_equal(ck_tvs_frame_check(c9, 3, CK_TVS_MAX_REQUEST, &flen, &err), CK_TVS_FRAME_BAD);
    assert_non_null(strstr(err.msg, "command 9 at offset 2"));

    /* A body over the cap is refused as soon as the length is known. */
    const uint8_t big[10] = {0x57, 1, 1, 0, 0, 0, 0, 1, 0xff, 0xff};
    assert_int_equal(ck_tvs_frame_check(big, 10, CK_TVS_MAX_REQUEST, &flen, &err), CK_TVS_FRAME_BAD);
    assert_int_equal(err.code, CK_ELIMIT);
    assert_non_null(strstr(err.msg, "65535"));
    /* ... and accepted with a larger cap (a client reading responses). */
    assert_int_equal(ck_tvs_frame_check(big, 10, CK_TVS_HEADER_LEN + CK_TVS_MAX_BODY, &flen, &err),
                     CK_TVS_FRAME_NEED_MORE);
    ck_buf_free(&b);
}

static void test_request_roundtrip(void **state)
{
    for (int i = 0; i < 4; i++) {
        ck_buf b;
        build_verify(&b, i, 0x01020304u + (uint32_t)i);
        ck_tvs_request req;
        ck_err err;
        assert_int_equal(ck_tvs_parse_request(b.data, b.len, &req, &err), 0);
        assert_int_equal(req.hdr.command, CK_TVS_VERIFY_REQ);
        assert_int_equal(req.hdr.session, 0x01020304u + (uint32_t)i);
        assert_true(req.has_device);
        assert_int_equal(req.device.name_len, strlen(DEV));
        assert_memory_equal(req.device.name, DEV, strlen(DEV));
        assert_int_equal(req.device.model_len, 4);
        assert_memory_equal(req.device.model, "7975", 4);
        assert_memory_equal(req.device.mac, "001122334455", 12);
        assert_int_equal(req.cert_len, cert_len[i]);
        assert_memory_equal(req.cert, cert_der[i], cert_len[i]);
        /* The wire layout of the docs: 0x01 prefix, device then certificate. */
        assert_int_equal(b.data[10], CK_TVS_TAG_DEVICE);
        assert_int_equal(b.data[13], 0x01);
        ck_buf_free(&b);
    }
}

static void test_request_bad_framing(void **state)
{
    ck_buf b;
    build_verify(&b, 0, 1);
    /* Every truncation is refused: a body length past what arrived. */
    for (size_t n = 10; n < b.len; n++)
        expect_bad_request(b.data, n, "runs past");
    expect_bad_request(b.data, 5, "shorter than");
    /* A trailing byte. */
    ck_buf_u8(&b, 0);
    expect_bad_request(b.data, b.len, "1 trailing bytes after the TVS message at offset");
    ck_buf_free(&b);

    /* A whole, otherwise valid VERIFY with the reserved byte set (issue 16):
     * refused by the parser and already by the streaming frame check. */
    build_verify(&b, 0, 1);
    b.data[3] = 0xff;
    expect_bad_request(b.data, b.len, "TVS VERIFY request with reserved byte 0xff at offset 3 (must be 0)");
    size_t flen = 0;
    ck_err ferr;
    assert_int_equal(ck_tvs_frame_check(b.data, 4, CK_TVS_MAX_REQUEST, &flen, &ferr), CK_TVS_FRAME_BAD);
    assert_int_equal(ck_tvs_frame_check(b.data, b.len, CK_TVS_MAX_REQUEST, &flen, &ferr), CK_TVS_FRAME_BAD);
    ck_buf_free(&b);

    uint8_t body[64], msg[128];
    /* Element header cut: 1 and 2 bytes left in the body. */
    size_t n = dev_elem(body, DEV);
    body[n] = 2;
    expect_bad_request(msg, frame(msg, 1, body, n + 1), "element header at offset 37");
    body[n + 1] = 0;
    expect_bad_request(msg, frame(msg, 1, body, n + 2), "element header at offset 37");
    /* Element length past the body. */
    body[n + 2] = 5;
    body[n + 3] = 0x30;
    expect_bad_request(msg, frame(msg, 1, body, n + 4), "element 2 at offset 37: length 5 runs past");
    /* Not a request. */
    expect_bad_request(msg, frame(msg, 2, body, n), "is not a request");
    expect_bad_request(msg, frame(msg, 4, body, n), "is not a request");
}

static void test_request_bad_elements(void **state)
{
    uint8_t body[4096], msg[4200];
    size_t n;
    /* Missing elements. */
    n = dev_elem(body, DEV);
    expect_bad_request(msg, frame(msg, 1, body, n), "no certificate element");
    n = cert_elem(body, 0);
    expect_bad_request(msg, frame(msg, 1, body, n), "no device name element");
    expect_bad_request(msg, frame(msg, 1, body, 0), "no device name element");
    /* Duplicates. */
    n = dev_elem(body, DEV);
    n += dev_elem(body + n, DEV);
    expect_bad_request(msg, frame(msg, 1, body, n), "second TVS device name element at offset 37");
    n = dev_elem(body, DEV);
    n += cert_elem(body + n, 0);
    size_t second = n + 10;
    n += cert_elem(body + n, 0);
    char want[64];
    snprintf(want, sizeof want, "second TVS certificate element at offset %zu", second);
    expect_bad_request(msg, frame(msg, 1, body, n), want);
    /* An element VERIFY does not have. */
    n = dev_elem(body, DEV);
    n += cert_elem(body + n, 0);
    body[n] = 7, body[n + 1] = 0, body[n + 2] = 1, body[n + 3] = 0;
    expect_bad_request(msg, frame(msg, 1, body, n + 4), "unexpected element 7");
    /* An empty certificate. */
    n = dev_elem(body, DEV);
    body[n] = 2, body[n + 1] = 0, body[n + 2] = 0;
    expect_bad_request(msg, frame(msg, 1, body, n + 3), "empty TVS certificate element at offset 37");
    /* A device name element without its 0x01 byte, or empty. */
    n = dev_elem(body, DEV);
    body[3] = 0x02;
    n += cert_elem(body + n, 0);
    expect_bad_request(msg, frame(msg, 1, body, n), "does not start with byte 0x01");
    body[0] = 1, body[1] = 0, body[2] = 0;
    n = 3 + cert_elem(body + 3, 0);
    expect_bad_request(msg, frame(msg, 1, body, n), "does not start with byte 0x01");
}

static void test_request_cert_cap(void **state)
{
    /* A certificate element over 16 KiB inside an otherwise fine body. */
    size_t big = CK_TVS_MAX_CERT + 1;
    uint8_t *body = calloc(1, big + 64), *msg = calloc(1, big + 128);
    size_t n = dev_elem(body, DEV);
    body[n] = 2, body[n + 1] = (uint8_t)(big >> 8), body[n + 2] = (uint8_t)big;
    n += 3 + big;
    expect_bad_request(msg, frame(msg, 1, body, n), "over the 16384-byte limit");
    ck_buf b;
    ck_buf_init(&b, 0);
    ck_err err;
    assert_int_equal(ck_tvs_build_request(CK_TVS_VERIFY_REQ, 1, DEV, body, big, &b, &err), -1);
    assert_int_equal(err.code, CK_ELIMIT);
    ck_buf_free(&b);
    free(body);
    free(msg);
}

static void test_device_names(void **state)
{
    static const char *const good[] = {"CP-7975-SEP001122334455", "CP-8865-SEPaabbccddeeff", "CP-7942G-SEP00AA00BB00CC",
                                       "CP-8845-3PCC-SEP001122334455", "CP-X-SEP000000000000"};
    static const struct {
        const char *name, *why;
    } bad[] = {
        {"", "does not start with \"CP-\""},
        {"SEP001122334455", "does not start with \"CP-\""},
        {"cp-7975-SEP001122334455", "does not start with \"CP-\""},
        {"CP-7975-001122334455", "does not end with -SEP"},
        {"CP--SEP001122334455", "does not end with -SEP"},
        {"CP-7975-SEP00112233445", "does not end with -SEP"},
        {"CP-7975-SEP0011223344556", "does not end with -SEP"},
        {"CP-7975-SEP00112233445G", "non-hex character at position 22"},
        {"CP-79 75-SEP001122334455", "bad character 0x20 at position 5"},
        {"CP-7975-sep001122334455", "does not end with -SEP"},
        {"CP-7975/x-SEP001122334455", "bad character 0x2f"},
        {"CP-0123456789012345678901234567890123456789012345678-SEP001122334455", "over the 64-byte limit"},
    };
    ck_err err;
    ck_tvs_device d;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (ck_tvs_parse_device(good[i], strlen(good[i]), &d, &err) < 0)
            fail_msg("%s refused: %s", good[i], err.msg);
    assert_int_equal(ck_tvs_parse_device(good[3], strlen(good[3]), &d, &err), 0);
    assert_int_equal(d.model_len, 9);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = '\0';
        if (ck_tvs_parse_device(bad[i].name, strlen(bad[i].name), &d, &err) == 0)
            fail_msg("%s accepted", bad[i].name);
        if (!strstr(err.msg, bad[i].why))
            fail_msg("%s: \"%s\" does not say \"%s\"", bad[i].name, err.msg, bad[i].why);
    }
    /* A NUL inside the name is a bad character, not an end. */
    assert_int_equal(ck_tvs_parse_device("CP-79\0" "5-SEP001122334455", 23, &d, &err), -1);
    /* And in a request, with the element's offset. */
    uint8_t body[128], msg[160];
    size_t n = dev_elem(body, "CP-7975-SEPXX1122334455");
    expect_bad_request(msg, frame(msg, 1, body, n), "device name element at offset 10: device name: MAC");
}

static void test_query(void **state)
{
    uint8_t body[256], msg[300];
    ck_tvs_request req;
    ck_err err;
    /* Device plus undocumented subject/issuer/serial elements: skipped. */
    size_t n = dev_elem(body, DEV);
    const uint8_t extra[] = {3, 0, 2, 'C', 'N', 4, 0, 1, 'X', 5, 0, 3, 1, 2, 3, 2, 0, 1, 0x30};
    memcpy(body + n, extra, sizeof extra);
    n += sizeof extra;
    assert_int_equal(ck_tvs_parse_request(msg, frame(msg, 3, body, n), &req, &err), 0);
    assert_int_equal(req.hdr.command, CK_TVS_QUERY_REQ);
    assert_true(req.has_device);
    assert_null(req.cert);
    /* Without a device name: still answerable (with an error status). */
    assert_int_equal(ck_tvs_parse_request(msg, frame(msg, 3, extra, sizeof extra), &req, &err), 0);
    assert_false(req.has_device);
    /* Its elements must still be well-formed. */
    uint8_t cut[] = {3, 0, 9, 'C'};
    expect_bad_request(msg, frame(msg, 3, cut, sizeof cut), "runs past the end of the body");
    n = dev_elem(body, "CP-7975-SEP0011");
    expect_bad_request(msg, frame(msg, 3, body, n), "device name");
    /* Builder: QUERY without a certificate. */
    ck_buf b;
    ck_buf_init(&b, 0);
    assert_int_equal(ck_tvs_build_request(CK_TVS_QUERY_REQ, 9, DEV, NULL, 0, &b, &err), 0);
    assert_int_equal(ck_tvs_parse_request(b.data, b.len, &req, &err), 0);
    assert_int_equal(req.hdr.session, 9);
    ck_buf_free(&b);
}

static void test_build_request_refusals(void **state)
{
    ck_buf b;
    ck_buf_init(&b, 0);
    ck_err err;
    assert_int_equal(ck_tvs_build_request(CK_TVS_VERIFY_RESP, 1, DEV, cert_der[0], cert_len[0], &b, &err), -1);
    assert_int_equal(ck_tvs_build_request(CK_TVS_VERIFY_REQ, 1, NULL, cert_der[0], cert_len[0], &b, &err), -1);
    assert_int_equal(ck_tvs_build_request(CK_TVS_VERIFY_REQ, 1, "SEP001122334455", cert_der[0], cert_len[0], &b, &err),
                     -1);
    assert_int_equal(ck_tvs_build_request(CK_TVS_VERIFY_REQ, 1, DEV, NULL, 0, &b, &err), -1);
    assert_int_equal(b.len, 0);
    /* A builder over its limit reports it instead of writing half a frame. */
    ck_buf small;
    ck_buf_init(&small, 20);
    assert_int_equal(ck_tvs_build_request(CK_TVS_VERIFY_REQ, 1, DEV, cert_der[0], cert_len[0], &small, &err), -1);
    ck_buf_free(&small);
    ck_buf_free(&b);
}

static void test_response_roundtrip(void **state)
{
    ck_buf b;
    ck_buf_init(&b, 0);
    ck_err err;
    ck_tvs_response r;
    const uint8_t roles[2] = {0, 2};
    assert_int_equal(ck_tvs_build_response(CK_TVS_VERIFY_RESP, 77, CK_TVS_STATUS_VALID, roles, 2, 86400, &b, &err), 0);
    /* 10 header + status(4) + roles(5) + TTL(7) */
    assert_int_equal(b.len, 26);
    assert_int_equal(b.data[8], 0);
    assert_int_equal(b.data[9], 16);
    assert_int_equal(ck_tvs_parse_response(b.data, b.len, &r, &err), 0);
    assert_int_equal(r.hdr.session, 77);
    assert_int_equal(r.status, CK_TVS_STATUS_VALID);
    assert_int_equal(r.n_roles, 2);
    assert_memory_equal(r.roles, roles, 2);
    assert_true(r.has_ttl);
    assert_int_equal(r.ttl, 86400);

    ck_buf_free(&b);
    ck_buf_init(&b, 0);
    assert_int_equal(ck_tvs_build_response(CK_TVS_QUERY_RESP, 5, CK_TVS_STATUS_INVALID, NULL, 0, 0, &b, &err), 0);
    assert_int_equal(b.len, 14);
    assert_int_equal(ck_tvs_parse_response(b.data, b.len, &r, &err), 0);
    assert_int_equal(r.hdr.command, CK_TVS_QUERY_RESP);
    assert_int_equal(r.status, CK_TVS_STATUS_INVALID);
    assert_null(r.roles);
    assert_false(r.has_ttl);
    ck_buf_free(&b);
}

static void test_response_refusals(void **state)
{
    ck_buf b;
    ck_buf_init(&b, 0);
    ck_err err;
    uint8_t roles[40] = {0};
    assert_int_equal(ck_tvs_build_response(CK_TVS_VERIFY_REQ, 1, 0, roles, 1, 1, &b, &err), -1);
    assert_int_equal(ck_tvs_build_response(CK_TVS_VERIFY_RESP, 1, 2, roles, 1, 1, &b, &err), -1);
    assert_int_equal(ck_tvs_build_response(CK_TVS_VERIFY_RESP, 1, 0, NULL, 0, 1, &b, &err), -1);
    assert_int_equal(ck_tvs_build_response(CK_TVS_VERIFY_RESP, 1, 0, roles, 0, 1, &b, &err), -1);
    assert_int_equal(ck_tvs_build_response(CK_TVS_VERIFY_RESP, 1, 0, roles, 33, 1, &b, &err), -1);
    assert_int_equal(ck_tvs_build_response(CK_TVS_VERIFY_RESP, 1, 0, roles, 32, 1, &b, &err), 0);
    ck_buf_free(&b);

    static const struct {
        uint8_t body[24];
        size_t n;
        const char *why;
    } bad[] = {
        {{0}, 0, "no status element"},
        {{7, 0, 2, 0, 0}, 5, "has length 2 (expected 1)"},
        {{7, 0, 1, 5}, 4, "unknown TVS status 5 at offset 13"},
        {{7, 0, 1, 1, 7, 0, 1, 1}, 8, "second TVS status element at offset 14"},
        {{7, 0, 1, 0}, 4, "lacks its roles element"},
        {{7, 0, 1, 0, 8, 0, 1, 0}, 8, "lacks its TTL element"},
        {{7, 0, 1, 0, 8, 0, 1, 0, 9, 0, 3, 0, 0, 1}, 14, "TTL element at offset 18 has length 3"},
        {{7, 0, 1, 0, 8, 0, 0}, 7, "has 0 roles"},
        {{7, 0, 1, 0, 8, 0, 1, 0, 8, 0, 1, 2}, 12, "second TVS roles element"},
        {{7, 0, 1, 0, 8, 0, 1, 0, 9, 0, 4, 0, 0, 0, 1, 9, 0, 4, 0, 0, 0, 1}, 22, "second TVS TTL element"},
        {{7, 0, 1, 1, 2, 0, 1, 0x30}, 8, "unexpected element 2 at offset 14"},
        {{7, 0, 1}, 3, "length 1 runs past"},
    };
    uint8_t msg[64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_tvs_response r;
        err.msg[0] = '\0';
        if (ck_tvs_parse_response(msg, frame(msg, 2, bad[i].body, bad[i].n), &r, &err) == 0)
            fail_msg("case %zu accepted", i);
        if (!strstr(err.msg, bad[i].why))
            fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err.msg, bad[i].why);
    }
    /* A request is not a response. */
    ck_tvs_response r;
    const uint8_t st[] = {7, 0, 1, 0};
    assert_int_equal(ck_tvs_parse_response(msg, frame(msg, 1, st, 4), &r, &err), -1);
    assert_non_null(strstr(err.msg, "is not a response"));
}

static void test_cert_peek_good(void **state)
{
    for (int i = 0; i < 4; i++) {
        ck_tvs_cert_view v;
        ck_err err;
        if (ck_tvs_cert_peek(cert_der[i], cert_len[i], &v, &err) < 0)
            fail_msg("%s: %s", cert_files[i], err.msg);
        uint8_t serial[64];
        int sn = ck_cert_serial(cert_x[i], serial, sizeof serial);
        assert_int_equal(v.serial_len, (size_t)sn);
        assert_memory_equal(v.serial, serial, (size_t)sn);
        const unsigned char *p = v.issuer;
        X509_NAME *iss = d2i_X509_NAME(NULL, &p, (long)v.issuer_len);
        assert_non_null(iss);
        assert_int_equal(X509_NAME_cmp(iss, X509_get_issuer_name(cert_x[i])), 0);
        X509_NAME_free(iss);
        p = v.subject;
        X509_NAME *sub = d2i_X509_NAME(NULL, &p, (long)v.subject_len);
        assert_non_null(sub);
        assert_int_equal(X509_NAME_cmp(sub, X509_get_subject_name(cert_x[i])), 0);
        X509_NAME_free(sub);
    }
    /* A generated certificate with extensions and a high-bit serial. */
    const uint8_t serial[] = {0x80, 1, 2, 3};
    ck_cert_params prm = {.cn = "peek", .rsa_bits = 1024, .serial = serial, .serial_len = sizeof serial};
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    ck_err err;
    assert_int_equal(ck_cert_generate(&prm, &x, &k, &err), 0);
    uint8_t *der = NULL;
    size_t len = 0;
    assert_int_equal(ck_cert_to_der(x, &der, &len, &err), 0);
    ck_tvs_cert_view v;
    assert_int_equal(ck_tvs_cert_peek(der, len, &v, &err), 0);
    assert_int_equal(v.serial_len, 4); /* DER sign byte dropped */
    assert_memory_equal(v.serial, serial, 4);
    free(der);
    X509_free(x);
    EVP_PKEY_free(k);
}

static void expect_bad_cert(const uint8_t *p, size_t n, const char *needle)
{
    ck_err err = {0};
    ck_tvs_cert_view v;
    assert_int_equal(ck_tvs_cert_peek(p, n, &v, &err), -1);
    if (needle && !strstr(err.msg, needle))
        fail_msg("\"%s\" does not say \"%s\"", err.msg, needle);
}

static void test_cert_peek_bad(void **state)
{
    const uint8_t *d = cert_der[1];
    size_t n = cert_len[1];
    uint8_t *c = malloc(n + 8);
    /* Every truncation fails. */
    for (size_t k = 0; k < n; k++)
        expect_bad_cert(d, k, NULL);
    /* A trailing byte. */
    memcpy(c, d, n);
    c[n] = 0;
    expect_bad_cert(c, n + 1, "1 unexpected bytes at offset");
    /* Not a SEQUENCE. */
    memcpy(c, d, n);
    c[0] = 0x31;
    expect_bad_cert(c, n, "has tag 0x31 (expected 0x30)");
    /* Indefinite length (BER, not DER). */
    const uint8_t indef[] = {0x30, 0x80, 0, 0};
    expect_bad_cert(indef, sizeof indef, "indefinite length");
    /* Long form where short would do, and a leading zero length byte. */
    const uint8_t longform[] = {0x30, 0x81, 0x05, 0, 0, 0, 0, 0};
    expect_bad_cert(longform, sizeof longform, "long form for a short length");
    const uint8_t lead0[] = {0x30, 0x82, 0x00, 0x85};
    expect_bad_cert(lead0, sizeof lead0, "leading zero");
    const uint8_t huge[] = {0x30, 0x84, 1, 0, 0, 0};
    expect_bad_cert(huge, sizeof huge, "4-byte length");
    /* Not even a certificate: a bare INTEGER, the empty input, text. */
    const uint8_t integer[] = {0x02, 0x01, 0x05};
    expect_bad_cert(integer, sizeof integer, "has tag 0x02");
    expect_bad_cert((const uint8_t *)"", 0, "missing at offset 0");
    expect_bad_cert((const uint8_t *)"-----BEGIN CERTIFICATE-----", 27, "tag 0x2d");
    /* Flipping single bytes never crashes; most flips are refused. */
    size_t refused = 0, tries = 0;
    for (size_t k = 0; k < n; k += 3) {
        memcpy(c, d, n);
        c[k] ^= 0xff;
        ck_err err;
        ck_tvs_cert_view v;
        tries++;
        refused += ck_tvs_cert_peek(c, n, &v, &err) < 0;
    }
    assert_true(refused > 0);
    assert_true(refused < tries); /* flips inside key or signature bytes are not ours to see */
    free(c);
}

/* The serial-number INTEGER must be minimal; the version must be 0..2. */
static void test_cert_peek_integers(void **state)
{
    /* Find the serial: 30 82 LL LL 30 82 LL LL A0 03 02 01 02 02 <len> ... */
    uint8_t *c = malloc(cert_len[1]);
    memcpy(c, cert_der[1], cert_len[1]);
    assert_int_equal(c[8], 0xa0);
    c[12] = 9; /* version 10 */
    expect_bad_cert(c, cert_len[1], "unknown version");
    memcpy(c, cert_der[1], cert_len[1]);
    assert_int_equal(c[13], 0x02);
    size_t sl = c[14];
    if (sl >= 2 && !(c[16] & 0x80)) {
        c[15] = 0x00; /* a leading zero before a byte without its top bit */
        expect_bad_cert(c, cert_len[1], "not minimally encoded");
    }
    free(c);
}

/* The cheap name renderer agrees with ck_name_cucm (what known entries log). */
static void expect_same_name(X509_NAME *name)
{
    uint8_t *der = NULL;
    int len = i2d_X509_NAME(name, &der);
    assert_true(len > 0);
    char fast[512];
    char *slow = ck_name_cucm(name);
    if (ck_tvs_name_text(der, (size_t)len, fast, sizeof fast) < 0)
        fail_msg("not rendered: %s", slow);
    if (strcmp(fast, slow) != 0)
        fail_msg("\"%s\" != ck_name_cucm \"%s\"", fast, slow);
    free(slow);
    OPENSSL_free(der);
}

static void add(X509_NAME *n, int nid, int type, const char *v, int vlen)
{
    assert_int_equal(X509_NAME_add_entry_by_NID(n, nid, type, (const unsigned char *)v, vlen, -1, 0), 1);
}

static void test_name_text(void **state)
{
    for (int i = 0; i < 4; i++) {
        expect_same_name(X509_get_subject_name(cert_x[i]));
        expect_same_name(X509_get_issuer_name(cert_x[i]));
    }
    /* The seed's names, in certificate order C..CN: printed CN first. */
    X509_NAME *n = X509_NAME_new();
    add(n, NID_countryName, MBSTRING_ASC, "PL", -1);
    add(n, NID_stateOrProvinceName, MBSTRING_ASC, "Malopolska", -1);
    add(n, NID_localityName, MBSTRING_ASC, "Krakow", -1);
    add(n, NID_organizationName, MBSTRING_ASC, "Cisco", -1);
    add(n, NID_organizationalUnitName, MBSTRING_ASC, "TAC", -1);
    add(n, NID_commonName, MBSTRING_ASC, "cucm-1051-a-pub", -1);
    add(n, NID_pkcs9_emailAddress, MBSTRING_ASC, "admin@example.com", -1);
    add(n, NID_domainComponent, MBSTRING_ASC, "example", -1);
    add(n, NID_organizationalUnitName, MBSTRING_UTF8, "Z\xc3\xbcrich", -1); /* second OU, UTF-8 */
    expect_same_name(n);
    char buf[512];
    uint8_t *der = NULL;
    int len = i2d_X509_NAME(n, &der);
    assert_int_equal(ck_tvs_name_text(der, (size_t)len, buf, sizeof buf), 0);
    assert_string_equal(buf, "CN=cucm-1051-a-pub;OU=TAC;OU=Z\xc3\xbcrich;O=Cisco;L=Krakow;ST=Malopolska;C=PL;"
                             "emailAddress=admin@example.com;DC=example");
    /* Too small a buffer: refused, not cut. */
    assert_int_equal(ck_tvs_name_text(der, (size_t)len, buf, 20), -1);
    /* Not a Name, or trailing bytes. */
    assert_int_equal(ck_tvs_name_text(der, (size_t)len - 1, buf, sizeof buf), -1);
    assert_int_equal(ck_tvs_name_text(der + 1, (size_t)len - 1, buf, sizeof buf), -1);
    OPENSSL_free(der);
    X509_NAME_free(n);

    /* T61 (Latin-1), BMP and IA5 strings convert as OpenSSL converts them. */
    n = X509_NAME_new();
    add(n, NID_commonName, V_ASN1_T61STRING, "Gr\xfc\xdf" "e", -1);
    add(n, NID_organizationName, V_ASN1_BMPSTRING, "\x00S\x00A\x00S\x00T\x20\xac", 10);
    add(n, NID_organizationalUnitName, V_ASN1_IA5STRING, "IPCBU", -1);
    add(n, NID_serialNumber, V_ASN1_PRINTABLESTRING, "ADN0054f509", -1);
    expect_same_name(n);
    X509_NAME_free(n);

    /* An attribute outside the table: left to OpenSSL. */
    n = X509_NAME_new();
    add(n, NID_commonName, MBSTRING_ASC, "x", -1);
    assert_int_equal(X509_NAME_add_entry_by_txt(n, "1.2.3.4", MBSTRING_ASC, (const unsigned char *)"y", -1, -1, 0), 1);
    der = NULL;
    len = i2d_X509_NAME(n, &der);
    assert_int_equal(ck_tvs_name_text(der, (size_t)len, buf, sizeof buf), -1);
    OPENSSL_free(der);
    X509_NAME_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_frame_check),
        cmocka_unit_test(test_request_roundtrip),
        cmocka_unit_test(test_request_bad_framing),
        cmocka_unit_test(test_request_bad_elements),
        cmocka_unit_test(test_request_cert_cap),
        cmocka_unit_test(test_device_names),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_build_request_refusals),
        cmocka_unit_test(test_response_roundtrip),
        cmocka_unit_test(test_response_refusals),
        cmocka_unit_test(test_cert_peek_good),
        cmocka_unit_test(test_cert_peek_bad),
        cmocka_unit_test(test_cert_peek_integers),
        cmocka_unit_test(test_name_text),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
