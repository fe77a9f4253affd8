/* Signature check: the signature covers the whole file with the SIGNATURE
 * element itself (its 3 + N bytes) cut out; the key is the certificate of
 * the SAST record whose serial and issuer match the header's. */
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/bytes.h"
#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"

/* Decoding a certificate costs ~90 us with OpenSSL 3.0 (its public-key
 * decoder framework runs on every d2i_X509), several times the RSA-2048
 * check itself, while servers verify the same few signers over and over.
 * So ck_tl_verify keeps the last few signer certificates, keyed by their
 * exact DER bytes: same bytes, same certificate (docs/benchmarks.md). */
#define SIGNER_CACHE 8
static struct {
    uint8_t *der;
    size_t n;
    X509 *cert;
} signer_cache[SIGNER_CACHE];
static size_t signer_cache_next;
static pthread_mutex_t signer_cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* A reference the caller frees, as ck_cert_from_der. */
static X509 *cert_from_der_cached(const uint8_t *der, size_t n, ck_err *err)
{
    X509 *c = NULL;
    pthread_mutex_lock(&signer_cache_lock);
    for (size_t i = 0; i < SIGNER_CACHE && !c; i++)
        if (signer_cache[i].cert && ck_bytes_equal(signer_cache[i].der, signer_cache[i].n, der, n) &&
            X509_up_ref(signer_cache[i].cert))
            c = signer_cache[i].cert;
    pthread_mutex_unlock(&signer_cache_lock);
    if (c || !(c = ck_cert_from_der(der, n, err)))
        return c;
    uint8_t *copy = malloc(n);
    if (!copy || !X509_up_ref(c)) {
        free(copy);
        return c; /* not cached, still fine */
    }
    memcpy(copy, der, n);
    pthread_mutex_lock(&signer_cache_lock);
    size_t slot = signer_cache_next++ % SIGNER_CACHE;
    uint8_t *old_der = signer_cache[slot].der;
    X509 *old = signer_cache[slot].cert;
    signer_cache[slot].der = copy;
    signer_cache[slot].n = n;
    signer_cache[slot].cert = c;
    pthread_mutex_unlock(&signer_cache_lock);
    free(old_der);
    X509_free(old);
    return c;
}

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
        X509 *c = cert_from_der_cached(r->cert.p, r->cert.n, err);
        if (!c) {
            ck_err_prefix(err, "signer record #%d", f->signer_index + 1);
            return -1;
        }
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
