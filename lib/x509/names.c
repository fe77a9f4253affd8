/* Certificate facts as CUCM prints them: names, serials, fingerprints,
 * public-key bytes. */
#include "ctlkit/x509.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/bytes.h"

/* CUCM's order: CN, OU, O, L, ST, C (format page, "Names"). */
static const int cucm_order[] = {NID_commonName, NID_organizationalUnitName, NID_organizationName,
                                 NID_localityName, NID_stateOrProvinceName, NID_countryName};

static void append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (!*buf)
        return;
    if (*len + n + 1 > *cap) {
        size_t ncap = (*cap + n + 1) * 2;
        char *p = realloc(*buf, ncap);
        if (!p) {
            free(*buf);
            *buf = NULL;
            return;
        }
        *buf = p;
        *cap = ncap;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = '\0';
}

static void append_entry(char **buf, size_t *len, size_t *cap, const X509_NAME_ENTRY *e)
{
    int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
    const char *sn = nid != NID_undef ? OBJ_nid2sn(nid) : "UNKNOWN";
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    if (*len)
        append(buf, len, cap, ";", 1);
    append(buf, len, cap, sn, strlen(sn));
    append(buf, len, cap, "=", 1);
    if (n > 0)
        append(buf, len, cap, (const char *)utf8, (size_t)n);
    OPENSSL_free(utf8);
}

char *ck_name_cucm(const X509_NAME *name)
{
    size_t len = 0, cap = 128;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    buf[0] = '\0';
    int count = X509_NAME_entry_count(name);
    bool *used = calloc((size_t)(count > 0 ? count : 1), sizeof *used);
    if (!used) {
        free(buf);
        return NULL;
    }
    for (size_t k = 0; k < sizeof cucm_order / sizeof cucm_order[0]; k++)
        for (int i = 0; i < count; i++) {
            const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
            if (OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) == cucm_order[k]) {
                append_entry(&buf, &len, &cap, e);
                used[i] = true;
            }
        }
    for (int i = 0; i < count; i++)
        if (!used[i])
            append_entry(&buf, &len, &cap, X509_NAME_get_entry(name, i));
    free(used);
    return buf;
}

char *ck_name_ctlclient(const X509_NAME *name, bool quote_spaces)
{
    size_t len = 0, cap = 128;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    buf[0] = '\0';
    for (int i = 0; i < X509_NAME_entry_count(name) && buf; i++) {
        const X509_NAME_ENTRY *e = X509_NAME_get_entry(name, i);
        int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(e));
        char key[32];
        snprintf(key, sizeof key, "%s", nid != NID_undef ? OBJ_nid2sn(nid) : "unknown");
        for (char *k = key; *k; k++)
            *k = (char)tolower((unsigned char)*k);
        unsigned char *utf8 = NULL;
        int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
        bool quote = quote_spaces && n > 0 && memchr(utf8, ' ', (size_t)n);
        if (len)
            append(&buf, &len, &cap, ";", 1);
        append(&buf, &len, &cap, key, strlen(key));
        append(&buf, &len, &cap, quote ? "=\"" : "=", quote ? 2 : 1);
        if (n > 0)
            append(&buf, &len, &cap, (const char *)utf8, (size_t)n);
        if (quote)
            append(&buf, &len, &cap, "\"", 1);
        OPENSSL_free(utf8);
    }
    return buf;
}

char *ck_name_oneline(const X509_NAME *name)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *s = NULL;
    if (!bio)
        return NULL;
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_SEP_COMMA_PLUS | ASN1_STRFLGS_UTF8_CONVERT) >= 0) {
        char *mem = NULL;
        long n = BIO_get_mem_data(bio, &mem);
        s = malloc((size_t)n + 1);
        if (s) {
            memcpy(s, mem, (size_t)n);
            s[n] = '\0';
        }
    }
    BIO_free(bio);
    return s;
}

int ck_cert_serial(const X509 *cert, uint8_t *out, size_t outsz)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    if (!bn)
        return -1;
    int n = BN_num_bytes(bn);
    if (n == 0) { /* serial 0 is stored as one zero byte */
        BN_free(bn);
        if (outsz < 1)
            return -1;
        out[0] = 0;
        return 1;
    }
    if ((size_t)n > outsz) {
        BN_free(bn);
        return -1;
    }
    BN_bn2bin(bn, out);
    BN_free(bn);
    return n;
}

void ck_cert_serial_hex(const X509 *cert, char *out, size_t outsz)
{
    uint8_t serial[64];
    int n = ck_cert_serial(cert, serial, sizeof serial);
    if (n < 0) {
        snprintf(out, outsz, "?");
        return;
    }
    ck_hex(serial, (size_t)n, 0, true, out, outsz);
}

int ck_cert_fingerprint(X509 *cert, const char *md, uint8_t *out, unsigned *outlen)
{
    const EVP_MD *type = EVP_get_digestbyname(md);
    if (!type || X509_digest(cert, type, out, outlen) != 1)
        return -1;
    return 0;
}

int ck_rsa_bits(EVP_PKEY *pkey)
{
    if (!pkey || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA)
        return 0;
    return EVP_PKEY_get_bits(pkey);
}

int ck_pubkey_tl_bytes(EVP_PKEY *pkey, uint8_t **out, size_t *len, ck_err *err)
{
    unsigned char *der = NULL;
    int n;
    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
        /* i2d_PublicKey writes PKCS#1 RSAPublicKey for RSA keys. */
        n = i2d_PublicKey(pkey, &der);
    } else if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
        /* For EC, i2d_PublicKey gives the X9.62 point (uncompressed by default). */
        n = i2d_PublicKey(pkey, &der);
    } else {
        return ck_fail(err, CK_EINVAL, "unsupported key type (RSA or EC only)");
    }
    if (n <= 0)
        return ck_fail_ssl(err, CK_ECRYPTO, "cannot encode public key");
    *out = malloc((size_t)n);
    if (!*out) {
        OPENSSL_free(der);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    memcpy(*out, der, (size_t)n);
    OPENSSL_free(der);
    *len = (size_t)n;
    return 0;
}

int ck_cert_signature_bytes(const X509 *cert, const uint8_t **sig, size_t *len)
{
    const ASN1_BIT_STRING *bits = NULL;
    X509_get0_signature(&bits, NULL, cert);
    if (!bits)
        return -1;
    *sig = ASN1_STRING_get0_data(bits);
    *len = (size_t)ASN1_STRING_length(bits);
    return 0;
}

int ck_hex_decode(const char *hex, uint8_t *out, size_t outsz, size_t *outlen)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        int v;
        if (*p == ':' || *p == ' ')
            continue;
        if (*p >= '0' && *p <= '9')
            v = *p - '0';
        else if (*p >= 'a' && *p <= 'f')
            v = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F')
            v = *p - 'A' + 10;
        else
            return -1;
        if (hi < 0) {
            hi = v;
        } else {
            if (n >= outsz)
                return -1;
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0 || n == 0)
        return -1;
    *outlen = n;
    return 0;
}
