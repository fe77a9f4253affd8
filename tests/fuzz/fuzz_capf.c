/* libFuzzer target for the CAPF codec: any bytes through the streaming
 * frame check (growing prefixes, as a server reads them) and the message
 * parser. What parses must rebuild to the very same bytes (the builder
 * writes elements in one fixed order, so only inputs in that order compare
 * byte for byte; the others must at least parse back to the same facts). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/capf.h"

static void same_span(const void *a, size_t an, const void *b, size_t bn)
{
    if (an != bn || (an && memcmp(a, b, an) != 0))
        abort();
}

static void same_facts(const ck_capf_msg *a, const ck_capf_msg *b)
{
    if (a->hdr.command != b->hdr.command || a->hdr.session != b->hdr.session || a->hdr.body_len != b->hdr.body_len ||
        a->present != b->present || a->reason != b->reason || a->cert_type != b->cert_type ||
        a->cert_wrap_type != b->cert_wrap_type || a->version != b->version || a->auth_type != b->auth_type ||
        a->key_size != b->key_size || a->key_type != b->key_type || a->curve != b->curve ||
        a->sudi.proof1.hash_id != b->sudi.proof1.hash_id || a->sudi.proof2.hash_id != b->sudi.proof2.hash_id ||
        a->sha2_signed.hash_id != b->sha2_signed.hash_id)
        abort();
    same_span(a->reason_info, a->reason_info_len, b->reason_info, b->reason_info_len);
    same_span(a->cert, a->cert_len, b->cert, b->cert_len);
    same_span(a->signed_data, a->signed_data_len, b->signed_data, b->signed_data_len);
    same_span(a->public_key, a->public_key_len, b->public_key, b->public_key_len);
    same_span(a->password, a->password_len, b->password, b->password_len);
    same_span(a->device, a->device ? CK_CAPF_DEVICE_LEN : 0, b->device, b->device ? CK_CAPF_DEVICE_LEN : 0);
    same_span(a->sudi.cert, a->sudi.cert_len, b->sudi.cert, b->sudi.cert_len);
    same_span(a->sudi.proof1.sig, a->sudi.proof1.sig_len, b->sudi.proof1.sig, b->sudi.proof1.sig_len);
    same_span(a->sudi.proof2.sig, a->sudi.proof2.sig_len, b->sudi.proof2.sig, b->sudi.proof2.sig_len);
    same_span(a->sha2_signed.sig, a->sha2_signed.sig_len, b->sha2_signed.sig, b->sha2_signed.sig_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ck_err err;
    size_t flen = 0;
    ck_capf_frame whole = ck_capf_frame_check(data, size, CK_CAPF_MAX_FRAME, &flen, &err);
    if (whole == CK_CAPF_FRAME_READY && (flen > size || flen < CK_CAPF_HEADER_LEN))
        abort();
    for (size_t n = 0; n <= size && n <= 12; n++) {
        size_t f2 = 0;
        ck_capf_frame part = ck_capf_frame_check(data, n, CK_CAPF_MAX_FRAME, &f2, &err);
        if (part == CK_CAPF_FRAME_READY && (whole != CK_CAPF_FRAME_READY || f2 != flen))
            abort();
        if (part == CK_CAPF_FRAME_BAD && whole != CK_CAPF_FRAME_BAD)
            abort();
    }

    ck_capf_msg m;
    if (ck_capf_parse(data, size, &m, &err) != 0)
        return 0;
    /* A whole message is exactly one frame. */
    if (whole != CK_CAPF_FRAME_READY || flen != size)
        abort();
    ck_buf b;
    ck_buf_init(&b, 0);
    if (ck_capf_build(&m, &b, &err) != 0 || b.len != size)
        abort();
    ck_capf_msg again;
    if (ck_capf_parse(b.data, b.len, &again, &err) != 0)
        abort();
    same_facts(&m, &again);
    ck_buf_free(&b);
    return 0;
}
