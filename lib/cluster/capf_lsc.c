/* The LSC CAPF issues (capf_server.h, ck_capf_issue_lsc): the profile of
 * the protocol notes (section 1.10), with the issuer taken from the CAPF
 * certificate's subject (the reference copies its issuer, wrong for an
 * intermediate CA). */
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "ctlkit/capf_server.h"
#include "../x509/internal.h"

/* The key the phone sent must be the one asked for: a phone that answers
 * an EC request with RSA (or the wrong size) is refused, not certified. */
static int check_key(EVP_PKEY *pk, uint8_t key_type, uint16_t bits, uint8_t curve, ck_err *err)
{
    if (key_type == CK_CAPF_KEY_RSA) {
        if (EVP_PKEY_base_id(pk) != EVP_PKEY_RSA)
            return ck_fail(err, CK_EINVAL, "the phone sent a non-RSA key; RSA-%u was asked for", bits);
        if (EVP_PKEY_get_bits(pk) != bits)
            return ck_fail(err, CK_EINVAL, "the phone sent an RSA-%d key; RSA-%u was asked for", EVP_PKEY_get_bits(pk),
                           bits);
        return 0;
    }
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
    const unsigned char *p = spki;
    EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)spki_len);
    if (!pk || p != spki + spki_len) {
        EVP_PKEY_free(pk);
        ERR_clear_error();
        return ck_fail(err, CK_EFORMAT, "the phone's public key is not a DER SubjectPublicKeyInfo");
    }
    if (check_key(pk, key_type, bits, curve, err) < 0) {
        EVP_PKEY_free(pk);
        return -1;
    }
    X509 *cert = X509_new();
    X509_NAME *subject = lsc_subject(iss->cert, device);
    BIGNUM *bn = NULL;
    uint8_t serial[16];
    char san[32];
    int days = iss->lsc_days > 0 ? iss->lsc_days : CK_CAPF_LSC_DAYS;
    if (!cert || !subject || RAND_bytes(serial, sizeof serial) != 1)
        goto ssl;
    serial[0] |= 0x80; /* a full 128 bits (DER adds the sign byte) */
    snprintf(san, sizeof san, "URI:%s", device);
    if (!(bn = BN_bin2bn(serial, sizeof serial, NULL)) || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) ||
        !X509_set_version(cert, X509_VERSION_3) || !X509_set_subject_name(cert, subject) ||
        !X509_set_issuer_name(cert, X509_get_subject_name(iss->cert)) ||
        !ASN1_TIME_set(X509_getm_notBefore(cert), (time_t)now) ||
        !ASN1_TIME_set(X509_getm_notAfter(cert), (time_t)(now + (int64_t)days * 86400)) || !X509_set_pubkey(cert, pk) ||
        !ck__x509_add_ext(cert, iss->cert, NID_basic_constraints, "critical,CA:FALSE") ||
        !ck__x509_add_ext(cert, iss->cert, NID_key_usage, "critical,digitalSignature,keyEncipherment") ||
        !ck__x509_add_ext(cert, iss->cert, NID_ext_key_usage, "serverAuth,clientAuth,ipsecEndSystem") ||
        !ck__x509_add_ext(cert, iss->cert, NID_subject_alt_name, san) || !X509_sign(cert, iss->key, EVP_sha256()))
        goto ssl;
    BN_free(bn);
    X509_NAME_free(subject);
    EVP_PKEY_free(pk);
    *out = cert;
    return 0;
ssl:
    BN_free(bn);
    X509_NAME_free(subject);
    X509_free(cert);
    EVP_PKEY_free(pk);
    return ck_fail_ssl(err, CK_ECRYPTO, "signing the LSC for %s failed", device);
}
