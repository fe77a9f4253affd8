/* libFuzzer target for the .enc.sgn parser: any bytes through
 * ck_sgn_parse; what parses with an encryption block must hold the
 * parser's promises (padding 1..16, key bits = 8 x wrapped key, a whole
 * number of AES blocks, a digest of its algorithm's size), must not open
 * with a key it was not made for, and a file built for our key from the
 * same bytes must parse, verify and decrypt back to them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/encsgn.h"
#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"

static X509 *signer, *phone;
static EVP_PKEY *signer_key, *phone_key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ck_err err = {0};
    if (ck_cert_generate(&(ck_cert_params){.cn = "fuzz-tftp", .rsa_bits = 1024}, &signer, &signer_key, &err) < 0 ||
        ck_cert_generate(&(ck_cert_params){.cn = "SEP001122334455", .rsa_bits = 1024}, &phone, &phone_key, &err) < 0)
        abort();
    return 0;
}

static void roundtrip(const uint8_t *content, size_t n, unsigned digest)
{
    ck_tl_signer s;
    ck_tl_signer_key(&s, signer, signer_key);
    ck_tl_build_opts o = {.digest_alg = digest, .filename = "fuzz.cnf.xml", .timestamp = 1};
    uint8_t *out = NULL, *plain = NULL;
    size_t out_len = 0, plain_len = 0;
    ck_tl_file *g = NULL;
    ck_err err = {0};
    if (ck_encsgn_build(content, n, &s, &o, phone, &out, &out_len, &err) < 0 ||
        ck_sgn_parse(out, out_len, &g, &err) < 0 || !g->enc.present || ck_tl_verify_with(g, signer, &err) < 0 ||
        ck_encsgn_decrypt(g, phone_key, &plain, &plain_len, &err) < 0 || plain_len != n ||
        (n && memcmp(plain, content, n) != 0))
        abort();
    free(plain);
    ck_tl_free(g);
    free(out);
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
    const ck_sgn_enc *e = &f->enc;
    if (f->header_len + f->content.n != size)
        abort();
    if (!e->present) {
        if (f->ver_major == 2)
            abort();
        ck_tl_free(f);
        return 0;
    }
    if (f->ver_major != 2 || f->ver_minor != 0 || e->pad_len < 1 || e->pad_len > 16 ||
        e->key_bits != 8 * e->wrapped_key.n || e->key_alg != 1 || !ck_digest_md(e->digest_alg) ||
        e->digest.n != (size_t)EVP_MD_get_size(ck_digest_md(e->digest_alg)) || f->content.n == 0 ||
        f->content.n % 16 != 0)
        abort();
    /* Not made for this key: refused, nothing handed out. */
    uint8_t *plain = (uint8_t *)1;
    size_t plain_len = 1;
    if (ck_encsgn_decrypt(f, phone_key, &plain, &plain_len, &err) == 0 || plain || plain_len || err.code == CK_OK)
        abort();
    if (ck_tl_verify_with(f, signer, &err) == 0)
        abort();
    roundtrip(f->content.p, f->content.n > 512 ? 512 : f->content.n - e->pad_len, e->digest_alg);
    ck_tl_free(f);
    return 0;
}
