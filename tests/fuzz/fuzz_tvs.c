/* libFuzzer target for the TVS codec: any bytes through the streaming frame
 * check (fed in chunks, as a server reads them), the request and response
 * parsers and the DER certificate walk. What parses must rebuild and parse
 * back to the same facts; the frame check must agree with the parsers on
 * where a frame ends. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "ctlkit/tvs.h"
#include "ctlkit/x509.h"

/* Any well-formed frame, QUERYs with large undocumented elements too. */
#define MAX_FRAME (CK_TVS_HEADER_LEN + CK_TVS_MAX_BODY)

static void check_request(const ck_tvs_request *req)
{
    ck_buf b;
    ck_err err;
    ck_tvs_request again;
    char dev[CK_TVS_MAX_DEVICE + 1];
    if (!req->has_device)
        return;
    memcpy(dev, req->device.name, req->device.name_len);
    dev[req->device.name_len] = '\0';
    ck_buf_init(&b, 0);
    if (ck_tvs_build_request(req->hdr.command, req->hdr.session, dev, req->cert, req->cert_len, &b, &err) != 0)
        abort();
    if (ck_tvs_parse_request(b.data, b.len, &again, &err) != 0 || again.hdr.session != req->hdr.session ||
        again.cert_len != req->cert_len || again.device.name_len != req->device.name_len ||
        (req->cert && memcmp(again.cert, req->cert, req->cert_len) != 0))
        abort();
    ck_buf_free(&b);
}

static void check_response(const ck_tvs_response *r)
{
    ck_buf b;
    ck_err err;
    ck_tvs_response again;
    ck_buf_init(&b, 0);
    if (ck_tvs_build_response(r->hdr.command, r->hdr.session, r->status, r->roles, r->n_roles, r->ttl, &b, &err) != 0)
        abort();
    if (ck_tvs_parse_response(b.data, b.len, &again, &err) != 0 || again.status != r->status ||
        (r->status == CK_TVS_STATUS_VALID && (again.n_roles != r->n_roles || again.ttl != r->ttl ||
                                              memcmp(again.roles, r->roles, r->n_roles) != 0)))
        abort();
    ck_buf_free(&b);
}

/* The cheap name renderer must agree with OpenSSL + ck_name_cucm whenever
 * both render the name. */
static void check_name(const uint8_t *der, size_t len)
{
    char fast[512];
    if (ck_tvs_name_text(der, len, fast, sizeof fast) != 0)
        return;
    const unsigned char *p = der;
    X509_NAME *name = d2i_X509_NAME(NULL, &p, (long)len);
    if (!name)
        return;
    char *slow = p == der + len ? ck_name_cucm(name) : NULL;
    if (slow && strcmp(fast, slow) != 0)
        abort();
    free(slow);
    X509_NAME_free(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ck_err err;
    size_t flen = 0;
    /* Streaming: growing prefixes must never report a frame before the
     * whole-input check does, and never one longer than what is there. */
    ck_tvs_frame whole = ck_tvs_frame_check(data, size, MAX_FRAME, &flen, &err);
    if (whole == CK_TVS_FRAME_READY && (flen > size || flen < CK_TVS_HEADER_LEN))
        abort();
    for (size_t n = 0; n <= size && n <= 16; n++) {
        size_t f2 = 0;
        ck_tvs_frame part = ck_tvs_frame_check(data, n, MAX_FRAME, &f2, &err);
        if (part == CK_TVS_FRAME_READY && (whole != CK_TVS_FRAME_READY || f2 != flen))
            abort();
        if (part == CK_TVS_FRAME_BAD && whole != CK_TVS_FRAME_BAD)
            abort();
    }

    ck_tvs_request req;
    if (ck_tvs_parse_request(data, size, &req, &err) == 0) {
        /* A whole request is exactly one frame. */
        if (whole != CK_TVS_FRAME_READY || flen != size)
            abort();
        check_request(&req);
        if (req.cert) {
            ck_tvs_cert_view v;
            if (ck_tvs_cert_peek(req.cert, req.cert_len, &v, &err) == 0 &&
                (v.serial_len == 0 || v.issuer < req.cert || v.subject + v.subject_len > req.cert + req.cert_len))
                abort();
        }
    }
    ck_tvs_response resp;
    if (ck_tvs_parse_response(data, size, &resp, &err) == 0)
        check_response(&resp);
    /* The certificate walk on its own, on the raw input. */
    ck_tvs_cert_view v;
    if (ck_tvs_cert_peek(data, size, &v, &err) == 0) {
        if (v.issuer < data || v.issuer + v.issuer_len > data + size)
            abort();
        check_name(v.issuer, v.issuer_len);
        check_name(v.subject, v.subject_len);
    }
    check_name(data, size);
    return 0;
}
