/* Signature check: the signature covers the whole file with the SIGNATURE
 * element itself (its 3 + N bytes) cut out; the key is the certificate of
 * the SAST record whose serial and issuer match the header's. */
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <stdlib.h>

#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"

static int verify_key(const ck_tl_file *f, EVP_PKEY *key, ck_err *err)
{
    const EVP_MD *md = ck_digest_md(f->digest_alg);
    if (!md)
        return ck_fail(err, CK_EFORMAT, "unknown digest algorithm %u", f->digest_alg);
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA)
        return ck_fail(err, CK_EFORMAT, "the signer's key is not RSA");
    if ((size_t)EVP_PKEY_get_size(key) != f->signature.n)
        return ck_fail(err, CK_ESIGNATURE, "signature is %zu bytes but the signer's key is %d-bit",
                       f->signature.n, EVP_PKEY_get_bits(key));
    size_t cut = f->sig_elem_off, after = f->sig_elem_off + 3 + f->signature.n;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int rc = -1;
    if (!ctx || EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
        EVP_DigestVerifyUpdate(ctx, f->raw, cut) != 1 ||
        EVP_DigestVerifyUpdate(ctx, f->raw + after, f->raw_len - after) != 1) {
        ck_fail_ssl(err, CK_ECRYPTO, "cannot set up signature check");
        goto out;
    }
    if (EVP_DigestVerifyFinal(ctx, f->signature.p, f->signature.n) != 1) {
        ERR_clear_error();
        ck_fail(err, CK_ESIGNATURE, "the signature does not match the file (altered, or signed by another key)");
        goto out;
    }
    rc = 0;
out:
    EVP_MD_CTX_free(ctx);
    return rc;
}

int ck_tl_verify_with(const ck_tl_file *f, X509 *signer, ck_err *err)
{
    EVP_PKEY *key = X509_get0_pubkey(signer);
    if (!key)
        return ck_fail_ssl(err, CK_EFORMAT, "the signer's certificate has no usable public key");
    return verify_key(f, key, err);
}

X509 *ck_tl_signer_cert(const ck_tl_file *f, ck_err *err)
{
    if (f->signer_index < 0) {
        ck_fail(err, CK_ENOTFOUND, "no signer record");
        return NULL;
    }
    const ck_tl_record *r = &f->records[f->signer_index];
    if (!r->cert.p) {
        ck_fail(err, CK_EFORMAT, "the signer record has no certificate");
        return NULL;
    }
    X509 *c = ck_cert_from_der(r->cert.p, r->cert.n, err);
    if (!c)
        ck_err_prefix(err, "signer record #%d", f->signer_index + 1);
    return c;
}

int ck_tl_verify(const ck_tl_file *f, ck_err *err)
{
    if (f->signer_index < 0)
        return ck_fail(err, CK_EFORMAT, "no signer record");
    const ck_tl_record *r = &f->records[f->signer_index];
    if (r->cert.p) {
        X509 *c = ck_tl_signer_cert(f, err);
        if (!c)
            return -1;
        int rc = ck_tl_verify_with(f, c, err);
        X509_free(c);
        return rc;
    }
    /* eToken-style records without a certificate: PUBLICKEY is PKCS#1. */
    if (!r->pubkey.p)
        return ck_fail(err, CK_EFORMAT, "the signer record has neither CERTIFICATE nor PUBLICKEY");
    const unsigned char *p = r->pubkey.p;
    EVP_PKEY *key = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)r->pubkey.n);
    if (!key)
        return ck_fail_ssl(err, CK_EFORMAT, "the signer record's PUBLICKEY does not parse");
    int rc = verify_key(f, key, err);
    EVP_PKEY_free(key);
    return rc;
}
