/* Private to lib/trustlist: what the .enc.sgn code shares with the .sgn
 * builder and parser. */
#ifndef CTLKIT_TRUSTLIST_INTERNAL_H
#define CTLKIT_TRUSTLIST_INTERNAL_H

#include "ctlkit/bytes.h"
#include "ctlkit/trustlist.h"

/* ck_sgn_build with extra header elements (already encoded) written after
 * TIMESTAMP, before the padding: the .enc.sgn encryption block. */
int ck__sgn_build_ext(const uint8_t *content, size_t content_len, const ck_tl_signer *signer,
                      const ck_tl_build_opts *opts, const uint8_t *extra, size_t extra_len, uint8_t **out,
                      size_t *out_len, ck_err *err);

/* Parses the value of an ENCRYPTIONINFO element (tag 16) into enc. */
int ck__enc_parse_info(ck_cur *c, ck_sgn_enc *enc, ck_err *err);
/* After the whole .sgn is parsed: a version 2.0 header has the complete
 * encryption block and ciphertext that fits it, any other has none. */
int ck__enc_check(const ck_tl_file *f, ck_err *err);

#endif
