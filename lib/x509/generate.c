/* Key and certificate creation, CUCM style: RSA (or EC) key, self-signed
 * or issued, v3 with the usages CUCM's self-signed certificates carry, valid
 * until one second before the last day ends (CUCM's "To:" is From + 1825
 * days - 1 s). */
#include "internal.h"
#include "ctlkit/x509.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <string.h>

static EVP_PKEY *make_key(const ck_cert_params *p, ck_err *err)
{
    EVP_PKEY *key = NULL;
    if (p->curve) {
        const char *group = strcmp(p->curve, "P-256") == 0 ? "P-256"
                            : strcmp(p->curve, "P-384") == 0 ? "P-384" : NULL;
        if (!group) {
            ck_fail(err, CK_EINVAL, "unknown curve '%s' (P-256 or P-384)", p->curve);
            return NULL;
        }
        key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", group);
    } else {
        int bits = p->rsa_bits ? p->rsa_bits : 2048;
        if (bits != 1024 && bits != 2048 && bits != 4096) {
            ck_fail(err, CK_EINVAL, "RSA key size %d not supported (1024, 2048 or 4096)", bits);
            return NULL;
        }
        key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
    }
    if (!key)
        ck_fail_ssl(err, CK_ECRYPTO, "key generation failed");
    return key;
}

static int add_name(X509_NAME *name, const char *field, const char *value)
{
    if (!value || !*value)
        return 1;
    return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, (const unsigned char *)value, -1, -1, 0);
}

int ck__x509_add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return 0;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

int ck_cert_generate(const ck_cert_params *p, X509 **out_cert, EVP_PKEY **out_key, ck_err *err)
{
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    BIGNUM *bn = NULL;
    int rc = -1;

    if (!p->cn || !*p->cn)
        return ck_fail(err, CK_EINVAL, "a certificate needs a common name (--cn)");
    const EVP_MD *md = EVP_get_digestbyname(p->digest ? p->digest : "sha256");
    if (!md)
        return ck_fail(err, CK_EINVAL, "unknown digest '%s'", p->digest);
    if (!(key = make_key(p, err)))
        goto out;
    if (!(cert = X509_new()))
        goto ssl;

    uint8_t serial[20];
    size_t serial_len = 16;
    if (p->serial) {
        if (p->serial_len == 0 || p->serial_len > 20) {
            ck_fail(err, CK_EINVAL, "serial must be 1 to 20 bytes");
            goto out;
        }
        memcpy(serial, p->serial, p->serial_len);
        serial_len = p->serial_len;
    } else {
        if (RAND_bytes(serial, (int)serial_len) != 1)
            goto ssl;
        serial[0] = (uint8_t)((serial[0] & 0x7f) | 0x40); /* positive, and 16 bytes long */
    }
    bn = BN_bin2bn(serial, (int)serial_len, NULL);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)))
        goto ssl;

    X509_NAME *name = X509_get_subject_name(cert);
    if (!add_name(name, "CN", p->cn) || !add_name(name, "OU", p->ou) || !add_name(name, "O", p->o) ||
        !add_name(name, "L", p->l) || !add_name(name, "ST", p->st) || !add_name(name, "C", p->c))
        goto ssl;
    X509 *issuer = p->issuer_cert ? p->issuer_cert : cert;
    EVP_PKEY *issuer_key = p->issuer_key ? p->issuer_key : key;
    if (!X509_set_version(cert, 2) || !X509_set_issuer_name(cert, X509_get_subject_name(issuer)) ||
        !X509_gmtime_adj(X509_getm_notBefore(cert), 0) ||
        !X509_gmtime_adj(X509_getm_notAfter(cert), 86400L * (p->days > 0 ? p->days : 1825) - 1) ||
        !X509_set_pubkey(cert, key))
        goto ssl;
    if (!ck__x509_add_ext(cert, issuer, NID_key_usage,
                 p->key_usage ? p->key_usage
                              : "digitalSignature,keyEncipherment,dataEncipherment,keyCertSign") ||
        !ck__x509_add_ext(cert, issuer, NID_ext_key_usage, p->ext_key_usage ? p->ext_key_usage : "serverAuth,clientAuth") ||
        !ck__x509_add_ext(cert, issuer, NID_subject_key_identifier, "hash"))
        goto ssl;
    if (!X509_sign(cert, issuer_key, md))
        goto ssl;
    *out_cert = cert;
    *out_key = key;
    cert = NULL;
    key = NULL;
    rc = 0;
    goto out;
ssl:
    ck_fail_ssl(err, CK_ECRYPTO, "certificate creation failed");
out:
    BN_free(bn);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}
