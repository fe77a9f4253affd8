/* The .enc.sgn parts of `ctlkit sgn` (cmd_sgn_enc.c). */
#ifndef CTLKIT_SGN_ENC_H
#define CTLKIT_SGN_ENC_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "ctlkit/trustlist.h"

/* sgn build --encrypt-for: OUT (.enc.sgn) and the stub .sgn beside it,
 * both built before either is written. Returns an exit code. */
int sgn_build_encrypted(const uint8_t *content, size_t clen, const ck_tl_signer *signer, const ck_tl_build_opts *o,
                        const char *recipient_path, const char *out);
/* sgn decrypt FILE.enc.sgn --key KEY.pem [-o OUT] */
int sgn_decrypt(int argc, char **argv);
/* The encryption block's lines of `sgn show`, and its --json object. */
void sgn_show_enc_text(FILE *out, const ck_tl_file *f);
json_t *sgn_show_enc_json(const ck_tl_file *f);

#endif
