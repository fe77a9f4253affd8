/* The LSC CAPF issues (capf_server.h, ck_capf_issue_lsc): the profile of
 * the protocol notes (section 1.10), with the issuer taken from the CAPF
 * certificate's subject (the reference copies its issuer, wrong for an
 * intermediate CA). */
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "ctlkit/capf_server.h"
#include "../x509/internal.h"

/* The EC key the phone sent must be on the curve asked for: a phone that
 * answers with another curve is refused, not certified (RSA: rsa_spki). */
static int check_ec_key(EVP_PKEY *pk, uint8_t curve, ck_err *err)
{
    static const char *const groups[] = {"prime256v1", "secp384r1", "secp521r1"};
    char group[64] = "";
    size_t glen = 0;
    if (EVP_PKEY_base_id(pk) != EVP_PKEY_EC ||
        !EVP_PKEY_get_utf8_string_param(pk, "group", group, sizeof group, &glen) || curve > 2 ||
        strcmp(group, groups[curve]) != 0)
        return ck_fail(err, CK_EINVAL, "the phone sent a key that is not on the curve asked for (%s)",
                       curve <= 2 ? groups[curve] : "?");
    return 0;
}

/* An RSA key, read as plain DER rather than with d2i_PUBKEY, and put
 * into the LSC as it came (X509_PUBKEY_set0_param) rather than with
 * X509_set_pubkey. Why: OpenSSL 3.0 decodes a public key through its
 * provider decoders and X509_set_pubkey encodes it again through its
 * encoders; the two took about as much of a CAPF worker's CPU as the
 * LSC's signature itself (docs/benchmarks.md, "CAPF", branch capfcpu2),
 * for a key that is only checked and copied. The checks: a DER
 * SubjectPublicKeyInfo (re-encoded, it gives the same bytes), algorithm
 * rsaEncryption with NULL or no parameters, the key a DER RSAPublicKey
 * of two positive integers, the modulus odd and of the size asked for,
 * the exponent odd and above 1. On success *key_out holds the key
 * (the BIT STRING's content, which the caller owns). */
static int rsa_spki(const uint8_t *spki, size_t len, uint16_t bits, uint8_t **key_out, int *key_len, ck_err *err)
{
    *key_out = NULL;
    const unsigned char *p = spki;
    STACK_OF(ASN1_TYPE) *outer = d2i_ASN1_SEQUENCE_ANY(NULL, &p, (long)len), *inner = NULL;
    X509_ALGOR *alg = NULL;
    BIGNUM *n = NULL, *e = NULL;
    unsigned char *der = NULL;
    int rc = -1, der_len = -1;
    bool format = false; /* the refusal is about the DER, not the key */
    if (!outer || p != spki + len || (der_len = i2d_ASN1_SEQUENCE_ANY(outer, &der)) < 0 || (size_t)der_len != len ||
        memcmp(der, spki, len) != 0 || sk_ASN1_TYPE_num(outer) != 2 ||
        sk_ASN1_TYPE_value(outer, 0)->type != V_ASN1_SEQUENCE ||
        sk_ASN1_TYPE_value(outer, 1)->type != V_ASN1_BIT_STRING) {
        format = true;
        goto done;
    }
    const ASN1_STRING *a = sk_ASN1_TYPE_value(outer, 0)->value.sequence;
    const ASN1_BIT_STRING *bs = sk_ASN1_TYPE_value(outer, 1)->value.bit_string;
    p = ASN1_STRING_get0_data(a);
    if (!(alg = d2i_X509_ALGOR(NULL, &p, ASN1_STRING_length(a))) || p != ASN1_STRING_get0_data(a) + ASN1_STRING_length(a)) {
        format = true;
        goto done;
    }
    const ASN1_OBJECT *oid = NULL;
    int ptype = V_ASN1_UNDEF;
    X509_ALGOR_get0(&oid, &ptype, NULL, alg);
    if (OBJ_obj2nid(oid) != NID_rsaEncryption || (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF)) {
        rc = ck_fail(err, CK_EINVAL, "the phone sent a non-RSA key; RSA-%u was asked for", bits);
        goto done;
    }
    /* Whole bytes only: an RSAPublicKey is DER. */
    if ((bs->flags & ASN1_STRING_FLAG_BITS_LEFT) && (bs->flags & 0x07)) {
        format = true;
        goto done;
    }
    const unsigned char *k = ASN1_STRING_get0_data(bs);
    int klen = ASN1_STRING_length(bs);
    p = k;
    OPENSSL_free(der);
    der = NULL;
    if (klen <= 0 || !(inner = d2i_ASN1_SEQUENCE_ANY(NULL, &p, klen)) || p != k + klen ||
        (der_len = i2d_ASN1_SEQUENCE_ANY(inner, &der)) != klen || memcmp(der, k, (size_t)klen) != 0 ||
        sk_ASN1_TYPE_num(inner) != 2 || sk_ASN1_TYPE_value(inner, 0)->type != V_ASN1_INTEGER ||
        sk_ASN1_TYPE_value(inner, 1)->type != V_ASN1_INTEGER ||
        !(n = ASN1_INTEGER_to_BN(sk_ASN1_TYPE_value(inner, 0)->value.integer, NULL)) ||
        !(e = ASN1_INTEGER_to_BN(sk_ASN1_TYPE_value(inner, 1)->value.integer, NULL))) {
        format = true;
        goto done;
    }
    if (BN_is_negative(n) || BN_is_negative(e) || !BN_is_odd(n) || !BN_is_odd(e) || BN_is_one(e)) {
        rc = ck_fail(err, CK_EINVAL,
                     "the phone's RSA public key is not one (negative or even modulus or exponent, or exponent 1)");
        goto done;
    }
    if (BN_num_bits(n) != bits) {
        rc = ck_fail(err, CK_EINVAL, "the phone sent an RSA-%d key; RSA-%u was asked for", BN_num_bits(n), bits);
        goto done;
    }
    if (!(*key_out = OPENSSL_memdup(k, (size_t)klen))) {
        rc = ck_fail(err, CK_ECRYPTO, "out of memory"); /* ours, not the phone's */
        goto done;
    }
    *key_len = klen;
    rc = 0;
done:
    if (format)
        rc = ck_fail(err, CK_EFORMAT, "the phone's public key is not a DER SubjectPublicKeyInfo");
    ERR_clear_error();
    BN_free(n);
    BN_free(e);
    OPENSSL_free(der);
    X509_ALGOR_free(alg);
    sk_ASN1_TYPE_pop_free(outer, ASN1_TYPE_free);
    sk_ASN1_TYPE_pop_free(inner, ASN1_TYPE_free);
    return rc;
}

/* The phone's key into the LSC: RSA as it came (rsa_spki); EC through
 * d2i_PUBKEY, which also checks that the point is on the curve. */
static int set_phone_key(X509 *cert, const uint8_t *spki, size_t spki_len, uint8_t key_type, uint16_t bits,
                         uint8_t curve, ck_err *err)
{
    if (key_type == CK_CAPF_KEY_RSA) {
        uint8_t *key = NULL;
        int klen = 0;
        if (rsa_spki(spki, spki_len, bits, &key, &klen, err) < 0)
            return -1;
        ASN1_OBJECT *rsa = OBJ_nid2obj(NID_rsaEncryption);
        if (!X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert), rsa, V_ASN1_NULL, NULL, key, klen)) {
            OPENSSL_free(key);
            return ck_fail_ssl(err, CK_ECRYPTO, "cannot put the phone's key into its LSC");
        }
        return 0;
    }
    const unsigned char *p = spki;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)spki_len);
    if (!pk || p != spki + spki_len) {
        EVP_PKEY_free(pk);
        ERR_clear_error();
        return ck_fail(err, CK_EFORMAT, "the phone's public key is not a DER SubjectPublicKeyInfo");
    }
    int rc = check_ec_key(pk, curve, err);
    if (rc == 0 && !X509_set_pubkey(cert, pk))
        rc = ck_fail_ssl(err, CK_ECRYPTO, "cannot put the phone's key into its LSC");
    EVP_PKEY_free(pk);
    return rc;
}

/* CN=<device>, then the CAPF subject's O, OU, L, ST and C in its order. */
static X509_NAME *lsc_subject(const X509 *capf, const char *device)
{
    X509_NAME *name = X509_NAME_new();
    if (!name || !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)device, -1, -1, 0))
        goto fail;
    const X509_NAME *from = X509_get_subject_name(capf);
    for (int i = 0; i < X509_NAME_entry_count(from); i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(from, i);
        int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
        if (nid != NID_organizationName && nid != NID_organizationalUnitName && nid != NID_localityName &&
            nid != NID_stateOrProvinceName && nid != NID_countryName)
            continue;
        if (!X509_NAME_add_entry(name, e, -1, 0))
            goto fail;
    }
    return name;
fail:
    X509_NAME_free(name);
    return NULL;
}

int ck_capf_issue_lsc(const ck_capf_issuer *iss, const char *device, const uint8_t *spki, size_t spki_len,
                      uint8_t key_type, uint16_t bits, uint8_t curve, int64_t now, X509 **out, ck_err *err)
{
    *out = NULL;
    X509 *cert = X509_new();
    if (!cert)
        return ck_fail(err, CK_ECRYPTO, "out of memory"); /* ours, not the phone's */
    if (set_phone_key(cert, spki, spki_len, key_type, bits, curve, err) < 0) {
        X509_free(cert);
        return -1;
    }
    X509_NAME *subject = lsc_subject(iss->cert, device);
    BIGNUM *bn = NULL;
    uint8_t serial[16];
    char san[32];
    int days = iss->lsc_days > 0 ? iss->lsc_days : CK_CAPF_LSC_DAYS;
    if (!subject || RAND_bytes(serial, sizeof serial) != 1)
        goto ssl;
    serial[0] |= 0x80; /* a full 128 bits (DER adds the sign byte) */
    snprintf(san, sizeof san, "URI:%s", device);
    if (!(bn = BN_bin2bn(serial, sizeof serial, NULL)) || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) ||
        !X509_set_version(cert, X509_VERSION_3) || !X509_set_subject_name(cert, subject) ||
        !X509_set_issuer_name(cert, X509_get_subject_name(iss->cert)) ||
        !ASN1_TIME_set(X509_getm_notBefore(cert), (time_t)now) ||
        !ASN1_TIME_set(X509_getm_notAfter(cert), (time_t)(now + (int64_t)days * 86400)) ||
        !ck__x509_add_ext(cert, iss->cert, NID_basic_constraints, "critical,CA:FALSE") ||
        !ck__x509_add_ext(cert, iss->cert, NID_key_usage, "critical,digitalSignature,keyEncipherment") ||
        !ck__x509_add_ext(cert, iss->cert, NID_ext_key_usage, "serverAuth,clientAuth,ipsecEndSystem") ||
        !ck__x509_add_ext(cert, iss->cert, NID_subject_alt_name, san) || !X509_sign(cert, iss->key, EVP_sha256()))
        goto ssl;
    BN_free(bn);
    X509_NAME_free(subject);
    *out = cert;
    return 0;
ssl:
    BN_free(bn);
    X509_NAME_free(subject);
    X509_free(cert);
    return ck_fail_ssl(err, CK_ECRYPTO, "signing the LSC for %s failed", device);
}
