/* Certificate authentication of a phone to CAPF (capf_server.h): the
 * certificate's issuer, name and dates, and the proofs of possession of its
 * key (protocol notes, section 1.8). RSA proofs are the raw PKCS#1 type-1 form around
 * the bare hash (no DigestInfo), as phones make them; EC proofs are ECDSA. */
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/capf_server.h"
#include "ctlkit/text.h"
#include "ctlkit/x509.h"

/* device || 00 || DER, the bytes both proofs cover. */
static uint8_t *auth_data(const char *device, const uint8_t *der, size_t der_len, size_t *len)
{
    size_t n = strlen(device);
    uint8_t *b = malloc(n + 1 + der_len);
    if (!b)
        return NULL;
    memcpy(b, device, n);
    b[n] = 0;
    memcpy(b + n + 1, der, der_len);
    *len = n + 1 + der_len;
    return b;
}

static const EVP_MD *hash_md(int hash_id)
{
    return hash_id == CK_CAPF_HASH_SHA1 ? EVP_sha1() : hash_id == CK_CAPF_HASH_SHA512 ? EVP_sha512() : NULL;
}

int ck_capf_prove(EVP_PKEY *key, const char *device, const uint8_t *cert_der, size_t cert_len, int hash_id,
                  uint8_t *sig, size_t *sig_len, ck_err *err)
{
    const EVP_MD *md = hash_md(hash_id);
    size_t dlen = 0;
    uint8_t *data = auth_data(device, cert_der, cert_len, &dlen);
    if (!md || !data) {
        free(data);
        return ck_fail(err, md ? CK_ENOMEM : CK_EINVAL, md ? "out of memory" : "proofs are SHA-1 or SHA-512");
    }
    int ok = 0;
    if (EVP_PKEY_base_id(key) == EVP_PKEY_RSA) {
        uint8_t h[EVP_MAX_MD_SIZE];
        unsigned hlen = 0;
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
        ok = EVP_Digest(data, dlen, h, &hlen, md, NULL) && ctx && EVP_PKEY_sign_init(ctx) > 0 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 && EVP_PKEY_sign(ctx, sig, sig_len, h, hlen) > 0;
        EVP_PKEY_CTX_free(ctx);
    } else {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        ok = ctx && EVP_DigestSignInit(ctx, NULL, md, NULL, key) > 0 &&
             EVP_DigestSign(ctx, sig, sig_len, data, dlen) > 0;
        EVP_MD_CTX_free(ctx);
    }
    free(data);
    return ok ? 0 : ck_fail_ssl(err, CK_ECRYPTO, "making the proof of possession failed");
}

/* One proof: 1 good, 0 not. */
static int proof_ok(EVP_PKEY *pk, const uint8_t *data, size_t dlen, int hash_id, const uint8_t *sig, size_t sig_len)
{
    const EVP_MD *md = hash_md(hash_id);
    int ok = 0;
    if (EVP_PKEY_base_id(pk) == EVP_PKEY_RSA) {
        uint8_t h[EVP_MAX_MD_SIZE], rec[1024];
        unsigned hlen = 0;
        size_t rlen = sizeof rec;
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pk, NULL);
        /* The whole padding is checked (stricter than the reference, which
         * compares the trailing bytes only, and still compatible). */
        ok = EVP_Digest(data, dlen, h, &hlen, md, NULL) && ctx && EVP_PKEY_verify_recover_init(ctx) > 0 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0 &&
             EVP_PKEY_verify_recover(ctx, rec, &rlen, sig, sig_len) > 0 && rlen == hlen && memcmp(rec, h, hlen) == 0;
        EVP_PKEY_CTX_free(ctx);
    } else if (EVP_PKEY_base_id(pk) == EVP_PKEY_EC) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        ok = ctx && EVP_DigestVerifyInit(ctx, NULL, md, NULL, pk) > 0 &&
             EVP_DigestVerify(ctx, sig, sig_len, data, dlen) == 1;
        EVP_MD_CTX_free(ctx);
    }
    ERR_clear_error();
    return ok;
}

/* The CAPF certificate or a CAPF-trust root whose subject is cert's issuer
 * and whose key signed it; NULL for none. One level, as the reference. */
static X509 *vouching_root(const ck_capf_issuer *iss, X509 *cert)
{
    X509 *cands[1 + 64];
    size_t n = 0;
    cands[n++] = iss->cert;
    for (size_t i = 0; i < iss->n_mic_roots && n < sizeof cands / sizeof cands[0]; i++)
        cands[n++] = iss->mic_roots[i];
    for (size_t i = 0; i < n; i++) {
        if (X509_NAME_cmp(X509_get_subject_name(cands[i]), X509_get_issuer_name(cert)) != 0)
            continue;
        EVP_PKEY *pk = X509_get0_pubkey(cands[i]);
        int ok = pk && X509_verify(cert, pk) == 1;
        ERR_clear_error();
        if (ok)
            return cands[i];
    }
    return NULL;
}

/* The certificate's CN names the device: an LSC's CN is the name, a MIC's
 * holds it ("CP-7975G-SEP001122334455"). (choice: the reference does not
 * look; without it one phone's certificate would authenticate another.) */
static bool cn_names(X509 *cert, const char *device)
{
    char cn[256];
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    return n > 0 && strstr(cn, device) != NULL;
}

/* The certificate is within its dates at now. (choice: the reference does
 * not look. An expired LSC or MIC, or a stolen key whose certificate ran
 * out, must not start an operation; the admin's way for a phone whose MIC
 * expired is the authentication string, as on CUCM.) A certificate that
 * begins up to CK_CAPF_CLOCK_SKEW_S in the future passes: the nodes' clocks
 * may differ that much when another publisher issued it. */
static int dates_ok(X509 *cert, int64_t now, ck_err *err)
{
    int64_t nb = 0, na = 0;
    char day[32];
    if (!ck_asn1_time_seconds(X509_get0_notBefore(cert), &nb) || !ck_asn1_time_seconds(X509_get0_notAfter(cert), &na))
        return ck_fail(err, CK_EDENIED, "the certificate's dates cannot be read");
    if (now > na)
        return ck_fail(err, CK_EDENIED, "the certificate expired on %s", ck_utc(na, CK_UTC_DAY, day, sizeof day));
    if (nb > now + CK_CAPF_CLOCK_SKEW_S)
        return ck_fail(err, CK_EDENIED, "the certificate is not valid before %s", ck_utc(nb, CK_UTC_DAY, day, sizeof day));
    return 0;
}

int ck_capf_check_cert_auth(const ck_capf_issuer *iss, const ck_capf_msg *m, int64_t now, ck_err *err)
{
    if (!(m->present & CK_CAPF_BIT(CK_CAPF_TAG_CERT)))
        return ck_fail(err, CK_EDENIED, "no certificate to authenticate with");
    if (m->sha2_signed.hash_id != CK_CAPF_HASH_SHA512)
        return ck_fail(err, CK_EDENIED, "the SHA-2 proof is not SHA-512");
    char device[CK_CAPF_DEVICE_LEN + 1];
    memcpy(device, m->device, CK_CAPF_DEVICE_LEN);
    device[CK_CAPF_DEVICE_LEN] = 0;
    const unsigned char *p = m->cert;
    X509 *cert = d2i_X509(NULL, &p, (long)m->cert_len);
    if (!cert || p != m->cert + m->cert_len) {
        X509_free(cert);
        ERR_clear_error();
        return ck_fail(err, CK_EDENIED, "the certificate is not DER X.509");
    }
    int rc = -1;
    size_t dlen = 0;
    uint8_t *data = NULL;
    EVP_PKEY *pk = X509_get0_pubkey(cert);
    if (!pk || (EVP_PKEY_base_id(pk) != EVP_PKEY_RSA && EVP_PKEY_base_id(pk) != EVP_PKEY_EC))
        ck_fail(err, CK_EDENIED, "the certificate's key is neither RSA nor EC");
    else if (!vouching_root(iss, cert))
        ck_fail(err, CK_EDENIED, "the certificate is not issued by the CAPF certificate or a CAPF-trust certificate");
    else if (!cn_names(cert, device))
        ck_fail(err, CK_EDENIED, "the certificate's CN does not name %s", device);
    else if (dates_ok(cert, now, err) < 0)
        ;
    else if (!(data = auth_data(device, m->cert, m->cert_len, &dlen)))
        ck_fail(err, CK_ENOMEM, "out of memory");
    else if (!proof_ok(pk, data, dlen, CK_CAPF_HASH_SHA1, m->signed_data, m->signed_data_len) ||
             !proof_ok(pk, data, dlen, CK_CAPF_HASH_SHA512, m->sha2_signed.sig, m->sha2_signed.sig_len))
        ck_fail(err, CK_EDENIED, "the proof of possession of the certificate's key does not verify");
    else
        rc = 0;
    free(data);
    X509_free(cert);
    ERR_clear_error();
    return rc;
}
