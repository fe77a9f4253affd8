/* Signing trust lists on the token. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

#include "p11.h"

/* DER DigestInfo prefixes (RFC 8017 section 9.2, note 1): used when the
 * token only offers raw CKM_RSA_PKCS and the hash is done here. */
static const uint8_t di_sha1[] = {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
                                  0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14};
static const uint8_t di_sha256[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
static const uint8_t di_sha512[] = {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                    0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40};

static bool has_mech(ck_token *t, CK_MECHANISM_TYPE want)
{
    /* CTLKIT_P11_RAW_RSA=1 pretends the token lacks the hash-and-sign
     * mechanisms, so that tests exercise the DigestInfo path too (a test
     * hook: not in a Release build). */
#ifdef CTLKIT_TEST_HOOKS
    const char *raw = getenv("CTLKIT_P11_RAW_RSA");
    if (raw && strcmp(raw, "1") == 0 && want != CKM_RSA_PKCS)
        return false;
#endif
    CK_MECHANISM_INFO mi;
    return t->m->fn->C_GetMechanismInfo(t->info.slot, want, &mi) == CKR_OK && (mi.flags & CKF_SIGN);
}

static int find_key(ck_token *t, ck_err *err)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_ID, t->id, t->id_len}};
    CK_OBJECT_HANDLE objs[2];
    CK_ULONG found = 0;
    CK_RV rv = t->m->fn->C_FindObjectsInit(t->session, tmpl, t->id_len ? 2 : 1);
    if (rv != CKR_OK)
        return ck__p11_fail(err, rv, "searching the token for its private key", &t->info);
    rv = t->m->fn->C_FindObjects(t->session, objs, 2, &found);
    t->m->fn->C_FindObjectsFinal(t->session);
    if (rv != CKR_OK)
        return ck__p11_fail(err, rv, "searching the token for its private key", &t->info);
    if (found == 0)
        return ck_fail(err, CK_ENOTFOUND, "the token %s holds no private key for its certificate%s", t->info.label,
                       t->logged_in ? "" : " (not logged in)");
    if (found > 1 && t->id_len == 0)
        return ck_fail(err, CK_ESTATE,
                       "the token %s holds several private keys and its certificate has no CKA_ID to tell them apart",
                       t->info.label);
    t->key = objs[0];
    return 0;
}

/* One C_SignInit and C_Sign in PKCS#11's two-call form: the length first
 * (NULL buffer), then the signature into a buffer of that length. Calling
 * C_Sign once with a fixed buffer would leave the operation active on the
 * session if the token answered CKR_BUFFER_TOO_SMALL (PKCS#11 2.40, 5.2).
 * sig_max is the certificate's modulus size. */
static int p11_sign(ck_token *t, CK_MECHANISM_TYPE type, const uint8_t *in, size_t inlen, uint8_t *sig,
                    size_t sig_max, size_t *sig_len, ck_err *err)
{
    CK_MECHANISM mech = {type, NULL, 0};
    CK_RV rv = t->m->fn->C_SignInit(t->session, &mech, t->key);
    if (rv != CKR_OK)
        return ck__p11_fail(err, rv, "signing on the token", &t->info);
    CK_ULONG need = 0;
    rv = t->m->fn->C_Sign(t->session, (CK_BYTE *)(uintptr_t)in, (CK_ULONG)inlen, NULL, &need);
    if (rv != CKR_OK)
        return ck__p11_fail(err, rv, "signing on the token", &t->info);
    if (need == 0 || need > 8192)
        return ck_fail(err, CK_ECRYPTO, "the token %s announced a %lu-byte signature", t->info.label,
                       (unsigned long)need);
    uint8_t *buf = malloc(need);
    if (!buf) {
        /* Finish the active operation before giving up. */
        uint8_t scratch[8192];
        CK_ULONG n = sizeof scratch;
        t->m->fn->C_Sign(t->session, (CK_BYTE *)(uintptr_t)in, (CK_ULONG)inlen, scratch, &n);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    CK_ULONG n = need;
    rv = t->m->fn->C_Sign(t->session, (CK_BYTE *)(uintptr_t)in, (CK_ULONG)inlen, buf, &n);
    int rc = 0;
    if (rv != CKR_OK)
        rc = ck__p11_fail(err, rv, "signing on the token", &t->info);
    else if (n > sig_max)
        rc = ck_fail(err, CK_ECRYPTO, "the token %s made a %lu-byte signature; its certificate's key takes %zu",
                     t->info.label, (unsigned long)n, sig_max);
    else {
        memcpy(sig, buf, n);
        *sig_len = n;
    }
    free(buf);
    return rc;
}

/* The token could hold a key that is not its certificate's: a CTL signed
 * with it would strand every phone, so each signature is checked here. */
static int check_sig(X509 *cert, unsigned alg, const uint8_t *data, size_t len, const uint8_t *sig, size_t sig_len,
                     const char *label, ck_err *err)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    int ok = EVP_DigestVerifyInit(ctx, NULL, ck_digest_md(alg), NULL, X509_get0_pubkey(cert)) == 1 &&
             EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return ck_fail_ssl(err, CK_ESIGNATURE,
                           "the signature made by token %s does not verify with its certificate "
                           "(the key on the token is not the certificate's)",
                           label);
    return 0;
}

static int token_sign(void *vctx, unsigned alg, const uint8_t *data, size_t len, uint8_t *sig, size_t sig_max,
                      size_t *sig_len, ck_err *err)
{
    ck_token *t = vctx;
    CK_MECHANISM_TYPE mech;
    const uint8_t *prefix;
    size_t prefix_len;
    switch (alg) {
    case CK_DIGEST_SHA1:
        mech = CKM_SHA1_RSA_PKCS, prefix = di_sha1, prefix_len = sizeof di_sha1;
        break;
    case CK_DIGEST_SHA256:
        mech = CKM_SHA256_RSA_PKCS, prefix = di_sha256, prefix_len = sizeof di_sha256;
        break;
    case CK_DIGEST_SHA512:
        mech = CKM_SHA512_RSA_PKCS, prefix = di_sha512, prefix_len = sizeof di_sha512;
        break;
    default:
        return ck_fail(err, CK_EINVAL, "unknown digest algorithm %u", alg);
    }
    if (!t->logged_in)
        return ck_fail(err, CK_ESTATE, "log in to the token %s before signing", t->info.label);
    int rc;
    if (has_mech(t, mech)) {
        rc = p11_sign(t, mech, data, len, sig, sig_max, sig_len, err);
    } else if (has_mech(t, CKM_RSA_PKCS)) {
        uint8_t di[19 + EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        memcpy(di, prefix, prefix_len);
        if (EVP_Digest(data, len, di + prefix_len, &md_len, ck_digest_md(alg), NULL) != 1)
            return ck_fail_ssl(err, CK_ECRYPTO, "hashing the trust list");
        rc = p11_sign(t, CKM_RSA_PKCS, di, prefix_len + md_len, sig, sig_max, sig_len, err);
    } else {
        return ck_fail(err, CK_ESTATE, "the token %s cannot make RSA PKCS#1 v1.5 signatures", t->info.label);
    }
    if (rc < 0)
        return -1;
    return check_sig(t->cert, alg, data, len, sig, *sig_len, t->info.label, err);
}

int ck_token_signer(ck_token *t, ck_tl_signer *s, ck_err *err)
{
    memset(s, 0, sizeof *s);
    X509 *cert = NULL;
    if (ck_token_cert(t, &cert, err) < 0)
        return -1;
    X509_free(cert); /* t keeps its own reference */
    if (EVP_PKEY_get_base_id(X509_get0_pubkey(t->cert)) != EVP_PKEY_RSA)
        return ck_fail(err, CK_EINVAL, "the certificate on token %s is not RSA; trust lists are signed with RSA",
                       t->info.label);
    if (!t->logged_in)
        return ck_fail(err, CK_ESTATE, "log in to the token %s (token password) before signing", t->info.label);
    if (t->key == CK_INVALID_HANDLE && find_key(t, err) < 0)
        return -1;
    s->cert = t->cert;
    s->sign = token_sign;
    s->ctx = t;
    return 0;
}
