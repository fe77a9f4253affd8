/* libFuzzer target for the .sgn parser: any bytes through ck_sgn_parse;
 * what parses must split exactly into header and content, must survive a
 * signature check against a fixed certificate, and its content re-signed
 * must parse back to the same bytes and verify. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"

static X509 *cert;
static EVP_PKEY *key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ck_err err = {0};
    static const uint8_t serial[] = {0x70, 0xca, 0xf6, 0x4e};
    ck_cert_params p = {.cn = "fuzz", .rsa_bits = 1024, .serial = serial, .serial_len = sizeof serial};
    if (ck_cert_generate(&p, &cert, &key, &err) < 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ck_tl_file *f = NULL;
    ck_err err = {0};
    if (ck_sgn_parse(data, size, &f, &err) < 0) {
        if (f || !err.msg[0] || (err.code != CK_EFORMAT && err.code != CK_ELIMIT))
            abort();
        return 0;
    }
    if (f->header_len + f->content.n != size || f->content.p != f->raw + f->header_len ||
        memcmp(f->content.p, data + f->header_len, f->content.n) != 0)
        abort();
    /* Random bytes are not signed by this key. */
    if (ck_tl_verify_with(f, cert, &err) == 0)
        abort();
    if (err.code == CK_OK)
        abort();

    if (f->content.n <= 4096) {
        ck_tl_signer s;
        ck_tl_signer_key(&s, cert, key);
        ck_tl_build_opts o = {.digest_alg = ck_digest_md(f->digest_alg) ? f->digest_alg : CK_DIGEST_SHA1,
                              .filename = "fuzz.cnf.xml", .timestamp = 1};
        uint8_t *out = NULL;
        size_t out_len = 0;
        ck_tl_file *g = NULL;
        if (ck_sgn_build(f->content.p, f->content.n, &s, &o, &out, &out_len, &err) < 0 ||
            ck_sgn_parse(out, out_len, &g, &err) < 0 || ck_tl_verify_with(g, cert, &err) < 0 ||
            g->content.n != f->content.n || memcmp(g->content.p, f->content.p, f->content.n) != 0)
            abort();
        ck_tl_free(g);
        free(out);
    }
    ck_tl_free(f);
    return 0;
}
