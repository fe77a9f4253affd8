/* libFuzzer target for the TFTP codec: any bytes through ck_tftp_parse and
 * ck_tftp_parse_ack; what parses must rebuild and parse back the same, and
 * netascii must round-trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/tftp.h"

static void check_roundtrip(const ck_tftp_packet *pk)
{
    ck_buf b;
    ck_err err;
    ck_tftp_packet again;
    ck_buf_init(&b, 0);
    switch (pk->opcode) {
    case CK_TFTP_RRQ:
    case CK_TFTP_WRQ:
        /* Unknown options were dropped, so the rebuilt request may be
         * shorter; a lowered blksize must still parse to itself. */
        if (ck_tftp_build_request(&b, pk->opcode, pk->u.req.filename, pk->u.req.mode, &pk->u.req.opts,
                                  &err) == 0) {
            if (ck_tftp_parse(b.data, b.len, &again, &err) != 0)
                abort();
            if (again.u.req.opts.present != pk->u.req.opts.present ||
                again.u.req.opts.blksize != pk->u.req.opts.blksize ||
                again.u.req.filename_len != pk->u.req.filename_len)
                abort();
        }
        break;
    case CK_TFTP_OACK:
        if (ck_tftp_build_oack(&b, &pk->u.oack, &err) != 0)
            abort();
        if (ck_tftp_parse(b.data, b.len, &again, &err) != 0 || again.u.oack.present != pk->u.oack.present)
            abort();
        break;
    case CK_TFTP_DATA:
        if (ck_tftp_build_data(&b, pk->u.data.block, pk->u.data.data, pk->u.data.len, &err) != 0)
            abort();
        break;
    default:
        break;
    }
    ck_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ck_tftp_packet pk;
    ck_err err;
    uint16_t block;
    if (ck_tftp_parse(data, size, &pk, &err) == 0)
        check_roundtrip(&pk);
    else if (err.msg[0] == '\0')
        abort(); /* every failure must say why */
    (void)ck_tftp_parse_ack(data, size, &block, &err);

    ck_buf enc, dec;
    ck_buf_init(&enc, 0);
    ck_buf_init(&dec, 0);
    if (ck_tftp_netascii_encode(data, size, &enc, &err) != 0 || enc.len != ck_tftp_netascii_len(data, size) ||
        ck_tftp_netascii_decode(enc.data, enc.len, &dec, &err) != 0 || dec.len != size ||
        (size && memcmp(dec.data, data, size) != 0))
        abort();
    ck_buf_free(&enc);
    ck_buf_free(&dec);
    (void)ck_tftp_netascii_decode(data, size, &dec, &err);
    ck_buf_free(&dec);
    return 0;
}
