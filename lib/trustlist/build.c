/* Builder: writes the header in Cisco's element order (version, header
 * length, [signer version], SIGNERID, SIGNATUREINFO, SIGNATURE, FILENAME,
 * TIMESTAMP, padding to a multiple of 4), then the records in the order
 * given, then signs everything but the SIGNATURE element. */
#include <openssl/err.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctlkit/bytes.h"
#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"
#include "internal.h"
#include "tags.h"

static int key_sign(void *ctx, unsigned digest_alg, const uint8_t *data, size_t len, uint8_t *sig, size_t sig_max,
                    size_t *sig_len, ck_err *err)
{
    EVP_PKEY *key = ctx;
    const EVP_MD *md = ck_digest_md(digest_alg);
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    int rc = -1;
    size_t n = sig_max;
    if (!md)
        return ck_fail(err, CK_EINVAL, "unknown digest %u", digest_alg);
    if (!mctx || EVP_DigestSignInit(mctx, &pctx, md, NULL, key) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
        EVP_DigestSign(mctx, sig, &n, data, len) != 1) {
        ck_fail_ssl(err, CK_ECRYPTO, "signing failed");
        goto out;
    }
    *sig_len = n;
    rc = 0;
out:
    EVP_MD_CTX_free(mctx);
    return rc;
}

void ck_tl_signer_key(ck_tl_signer *s, X509 *cert, EVP_PKEY *key)
{
    s->cert = cert;
    s->sign = key_sign;
    s->ctx = key;
}

/* tag | u16 length | value, refusing values that do not fit a u16. */
static bool put_elem(ck_buf *b, uint8_t tag, const void *p, size_t n)
{
    if (n > 65535)
        return false;
    ck_buf_u8(b, tag);
    ck_buf_u16(b, (uint16_t)n);
    ck_buf_bytes(b, p, n);
    return true;
}

static bool put_str(ck_buf *b, uint8_t tag, const char *s)
{
    return put_elem(b, tag, s, strlen(s) + 1);
}

static int modulus_code(int bits)
{
    switch (bits) {
    case 512: return 0;
    case 1024: return 1;
    case 2048: return 2;
    case 4096: return 3;
    }
    return -1;
}

static char *cert_cn(X509 *cert)
{
    X509_NAME *name = X509_get_subject_name(cert);
    int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    unsigned char *utf8 = NULL;
    if (i < 0 || ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i))) < 0)
        return strdup("");
    char *s = strdup((char *)utf8);
    OPENSSL_free(utf8);
    return s;
}

static int put_record(ck_buf *b, const ck_tl_entry *e, size_t index, ck_err *err)
{
    size_t start = b->len;
    char *dns = NULL, *subject = NULL, *issuer = NULL;
    uint8_t *pub = NULL;
    size_t pub_len = 0;
    int rc = -1;

    ck_buf_u8(b, REC_RECORDLENGTH);
    ck_buf_u16(b, 2);
    ck_buf_u16(b, 0); /* patched below */
    if (e->dns_name)
        dns = strdup(e->dns_name);
    else
        dns = e->cert ? cert_cn(e->cert) : strdup("");
    if (!dns)
        goto nomem;
    uint8_t role[2] = {(uint8_t)(e->role >> 8), (uint8_t)e->role};
    if (!e->cert) {
        /* A blank record: the node's name, its role and address only. */
        put_str(b, REC_DNSNAME, dns);
        put_elem(b, REC_FUNCTION, role, 2);
        put_elem(b, REC_IPADDRESS, e->ip, 4);
    } else {
        subject = e->token_names ? ck_name_ctlclient(X509_get_subject_name(e->cert), true)
                                 : ck_name_cucm(X509_get_subject_name(e->cert));
        issuer = e->token_names ? ck_name_ctlclient(X509_get_issuer_name(e->cert), false)
                                : ck_name_cucm(X509_get_issuer_name(e->cert));
        if (!subject || !issuer)
            goto nomem;
        uint8_t serial[64];
        int serial_len = ck_cert_serial(e->cert, serial, sizeof serial);
        if (serial_len < 0) {
            ck_fail(err, CK_EINVAL, "record #%zu: certificate serial longer than 64 bytes", index + 1);
            goto out;
        }
        EVP_PKEY *key = X509_get0_pubkey(e->cert);
        if (!key || ck_pubkey_tl_bytes(key, &pub, &pub_len, err) < 0) {
            if (!key)
                ck_fail(err, CK_EINVAL, "record #%zu: certificate has no usable public key", index + 1);
            goto out;
        }
        uint8_t *der = NULL;
        size_t der_len = 0;
        if (ck_cert_to_der(e->cert, &der, &der_len, err) < 0)
            goto out;
        const uint8_t *sig = NULL;
        size_t sig_len = 0;
        ck_cert_signature_bytes(e->cert, &sig, &sig_len);
        bool ok = put_str(b, REC_DNSNAME, dns) && put_str(b, REC_SUBJECTNAME, subject) &&
                  put_elem(b, REC_FUNCTION, role, 2) && put_str(b, REC_ISSUERNAME, issuer) &&
                  put_elem(b, REC_SERIALNUMBER, serial, (size_t)serial_len) &&
                  put_elem(b, REC_PUBLICKEY, pub, pub_len) &&
                  (e->no_cert_signature || put_elem(b, REC_SIGNATURE, sig, sig_len)) &&
                  put_elem(b, REC_CERTIFICATE, der, der_len) && put_elem(b, REC_IPADDRESS, e->ip, 4);
        free(der);
        if (!ok) {
            ck_fail(err, CK_ELIMIT, "record #%zu: an element is longer than 65535 bytes", index + 1);
            goto out;
        }
    }
    size_t len = b->len - start;
    if (len > 65535) {
        ck_fail(err, CK_ELIMIT, "record #%zu is %zu bytes, more than a record can hold", index + 1, len);
        goto out;
    }
    ck_buf_set_u16(b, start + 3, (uint16_t)len);
    rc = 0;
    goto out;
nomem:
    ck_fail(err, CK_ENOMEM, "out of memory");
out:
    free(dns);
    free(subject);
    free(issuer);
    free(pub);
    return rc;
}

static bool same_cert_id(X509 *a, X509 *b)
{
    return ASN1_INTEGER_cmp(X509_get0_serialNumber(a), X509_get0_serialNumber(b)) == 0 &&
           X509_NAME_cmp(X509_get_issuer_name(a), X509_get_issuer_name(b)) == 0;
}

/* Writes the header with a zeroed signature; *sig_off gets the SIGNATURE
 * element's offset and *sig_len its value length. */
static int put_header(ck_buf *b, const ck_tl_signer *signer, const ck_tl_build_opts *o, const uint8_t *extra,
                      size_t extra_len, size_t *sig_off, size_t *sig_len, ck_err *err)
{
    EVP_PKEY *key = X509_get0_pubkey(signer->cert);
    int bits = ck_rsa_bits(key);
    int mod = modulus_code(bits);
    if (bits == 0)
        return ck_fail(err, CK_EINVAL, "the signer's key must be RSA (EC certificates may be records, not signers)");
    if (mod < 0)
        return ck_fail(err, CK_EINVAL, "the signer's RSA key is %d-bit; 512, 1024, 2048 or 4096 only", bits);
    unsigned digest = o->digest_alg ? o->digest_alg : CK_DIGEST_SHA1;
    if (!ck_digest_md(digest))
        return ck_fail(err, CK_EINVAL, "unknown digest algorithm %u", digest);

    /* The header names the signer as its record does: a Security Token's
     * record carries the CTL Client's style, so the header does too. */
    char *name = o->token_signer_names ? ck_name_ctlclient(X509_get_subject_name(signer->cert), true)
                                       : ck_name_cucm(X509_get_subject_name(signer->cert));
    char *issuer = o->token_signer_names ? ck_name_ctlclient(X509_get_issuer_name(signer->cert), false)
                                         : ck_name_cucm(X509_get_issuer_name(signer->cert));
    uint8_t serial[64];
    int serial_len = ck_cert_serial(signer->cert, serial, sizeof serial);
    if (!name || !issuer || serial_len < 0) {
        free(name);
        free(issuer);
        return ck_fail(err, CK_EINVAL, "cannot read the signer's name or serial");
    }

    ck_buf_u8(b, HDR_VERSION);
    ck_buf_u16(b, 2);
    ck_buf_u8(b, o->ver_major || o->ver_minor ? o->ver_major : 1);
    ck_buf_u8(b, o->ver_major || o->ver_minor ? o->ver_minor : 2);
    ck_buf_u8(b, HDR_HEADERLENGTH);
    ck_buf_u16(b, 2);
    size_t hlen_off = b->len;
    ck_buf_u16(b, 0);
    if (o->signer_version) {
        ck_buf_u8(b, HDR_SIGNERVERSION);
        ck_buf_u16(b, 2);
        ck_buf_u8(b, (uint8_t)(o->signer_version / 10));
        ck_buf_u8(b, (uint8_t)(o->signer_version % 10));
    }
    size_t name_n = strlen(name) + 1, issuer_n = strlen(issuer) + 1;
    ck_buf_u8(b, HDR_SIGNERID);
    ck_buf_u16(b, (uint16_t)(3 + name_n + 3 + (size_t)serial_len + 3 + issuer_n));
    put_elem(b, HDR_SIGNERNAME, name, name_n);
    put_elem(b, HDR_SERIALNUMBER, serial, (size_t)serial_len);
    put_elem(b, HDR_CANAME, issuer, issuer_n);
    free(name);
    free(issuer);

    ck_buf_u8(b, HDR_SIGNATUREINFO);
    ck_buf_u16(b, 15);
    put_elem(b, HDR_DIGESTALGORITHM, &(uint8_t){(uint8_t)digest}, 1);
    ck_buf_u8(b, HDR_SIGNATUREALGOINFO);
    ck_buf_u16(b, 8);
    put_elem(b, HDR_SIGNATUREALGORITHM, &(uint8_t){0}, 1);
    put_elem(b, HDR_SIGNATUREMODULUS, &(uint8_t){(uint8_t)mod}, 1);

    *sig_off = b->len;
    *sig_len = (size_t)bits / 8;
    ck_buf_u8(b, HDR_SIGNATURE);
    ck_buf_u16(b, (uint16_t)*sig_len);
    ck_buf_zero(b, *sig_len);

    const char *filename = o->filename ? o->filename : "CTLFile.tlv";
    if (!put_str(b, HDR_FILENAME, filename))
        return ck_fail(err, CK_EINVAL, "file name too long");
    uint32_t ts = o->timestamp ? o->timestamp : (uint32_t)time(NULL);
    ck_buf_u8(b, HDR_TIMESTAMP);
    ck_buf_u16(b, 4);
    ck_buf_u32(b, ts);
    ck_buf_bytes(b, extra, extra_len);
    while (b->len % 4)
        ck_buf_u8(b, HDR_PADDING);
    if (b->len > 65535)
        return ck_fail(err, CK_ELIMIT, "header longer than 65535 bytes");
    ck_buf_set_u16(b, hlen_off, (uint16_t)b->len);
    return 0;
}

/* Signs b's bytes without the SIGNATURE element and writes the signature
 * into its place. */
static int sign_in_place(ck_buf *b, const ck_tl_signer *signer, unsigned digest, size_t sig_off, size_t sig_len,
                         ck_err *err)
{
    size_t after = sig_off + 3 + sig_len;
    size_t n = b->len - (3 + sig_len);
    uint8_t *tbs = malloc(n);
    uint8_t *sig = malloc(sig_len);
    int rc = -1;
    if (!tbs || !sig) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(tbs, b->data, sig_off);
    memcpy(tbs + sig_off, b->data + after, b->len - after);
    size_t got = 0;
    if (signer->sign(signer->ctx, digest ? digest : CK_DIGEST_SHA1, tbs, n, sig, sig_len, &got, err) < 0)
        goto out;
    if (got != sig_len) {
        ck_fail(err, CK_ECRYPTO, "signature is %zu bytes, expected %zu", got, sig_len);
        goto out;
    }
    memcpy(b->data + sig_off + 3, sig, sig_len);
    rc = 0;
out:
    free(tbs);
    free(sig);
    return rc;
}

static int finish(ck_buf *b, uint8_t **out, size_t *out_len, const char *what, ck_err *err)
{
    if (b->failed) {
        bool size_limit = b->limit != 0;
        ck_buf_free(b);
        if (size_limit)
            return ck_fail(err, CK_ELIMIT,
                           "the %s would be larger than %u bytes; phones refuse trust lists over 64 KiB "
                           "(remove certificates)", what, CK_TL_MAX_BUILD);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    *out = ck_buf_take(b, out_len);
    return 0;
}

int ck_tl_build(const ck_tl_entry *entries, size_t n, const ck_tl_signer *signer, const ck_tl_build_opts *opts,
                uint8_t **out, size_t *out_len, ck_err *err)
{
    ck_tl_build_opts o = opts ? *opts : (ck_tl_build_opts){0};
    const char *what = o.filename && strncmp(o.filename, "ITL", 3) == 0 ? "ITL" : "CTL";
    size_t sast = 0, signer_matches = 0;
    if (!signer || !signer->cert || !signer->sign)
        return ck_fail(err, CK_EINVAL, "no signer");
    for (size_t i = 0; i < n; i++) {
        if (entries[i].role > 0xffff)
            return ck_fail(err, CK_EINVAL, "record #%zu: role %u out of range", i + 1, entries[i].role);
        if (entries[i].role != CK_ROLE_SAST)
            continue;
        sast++;
        if (entries[i].cert && same_cert_id(entries[i].cert, signer->cert))
            signer_matches++;
    }
    if (sast > CK_TL_MAX_SAST)
        return ck_fail(err, CK_EINVAL, "%zu SAST records; a trust list may carry at most %d", sast, CK_TL_MAX_SAST);
    if (signer_matches != 1)
        return ck_fail(err, CK_EINVAL, signer_matches ? "the signer appears in two SAST records"
                                                      : "the signer must be one of the SAST records (the first --sast)");

    ck_buf b;
    ck_buf_init(&b, CK_TL_MAX_BUILD);
    size_t sig_off = 0, sig_len = 0;
    if (put_header(&b, signer, &o, NULL, 0, &sig_off, &sig_len, err) < 0) {
        ck_buf_free(&b);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (!b.failed && put_record(&b, &entries[i], i, err) < 0) {
            ck_buf_free(&b);
            return -1;
        }
    if (b.failed)
        return finish(&b, out, out_len, what, err);
    if (sign_in_place(&b, signer, o.digest_alg, sig_off, sig_len, err) < 0) {
        ck_buf_free(&b);
        return -1;
    }
    return finish(&b, out, out_len, what, err);
}

int ck_sgn_build(const uint8_t *content, size_t content_len, const ck_tl_signer *signer,
                 const ck_tl_build_opts *opts, uint8_t **out, size_t *out_len, ck_err *err)
{
    return ck__sgn_build_ext(content, content_len, signer, opts, NULL, 0, out, out_len, err);
}

int ck__sgn_build_ext(const uint8_t *content, size_t content_len, const ck_tl_signer *signer,
                      const ck_tl_build_opts *opts, const uint8_t *extra, size_t extra_len, uint8_t **out,
                      size_t *out_len, ck_err *err)
{
    ck_tl_build_opts o = opts ? *opts : (ck_tl_build_opts){0};
    if (!o.ver_major && !o.ver_minor)
        o.ver_major = 1; /* .sgn headers are version 1.0 */
    if (!signer || !signer->cert || !signer->sign)
        return ck_fail(err, CK_EINVAL, "no signer");
    ck_buf b;
    ck_buf_init(&b, 0);
    size_t sig_off = 0, sig_len = 0;
    if (put_header(&b, signer, &o, extra, extra_len, &sig_off, &sig_len, err) < 0) {
        ck_buf_free(&b);
        return -1;
    }
    ck_buf_bytes(&b, content, content_len);
    if (!b.failed && sign_in_place(&b, signer, o.digest_alg, sig_off, sig_len, err) < 0) {
        ck_buf_free(&b);
        return -1;
    }
    return finish(&b, out, out_len, "signed file", err);
}
