/* Loading and saving certificates and keys (PEM or DER). */
#include "ctlkit/x509.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctlkit/fileio.h"

int ck_load_pem_mem(const void *data, size_t len, X509 **cert, EVP_PKEY **key, bool need_key, ck_err *err)
{
    X509 *c = NULL;
    EVP_PKEY *k = NULL;
    int rc = -1;

    if (len > 1024 * 1024)
        return ck_fail(err, CK_ELIMIT, "file too large for a certificate (%zu bytes)", len);
    bool is_pem = len >= 11 && memmem(data, len, "-----BEGIN ", 11) != NULL;
    if (!is_pem) {
        const unsigned char *p = data;
        c = d2i_X509(NULL, &p, (long)len);
        if (!c || p != (const unsigned char *)data + len) {
            ck_fail_ssl(err, CK_EFORMAT, "neither PEM nor a DER certificate");
            goto out;
        }
    } else {
        /* A PEM may hold key and certificate in any order: read it twice. */
        BIO *bio = BIO_new_mem_buf(data, (int)len);
        if (!bio)
            goto nomem;
        if (cert)
            c = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        ERR_clear_error();
        if (key || need_key) {
            BIO_free(bio);
            bio = BIO_new_mem_buf(data, (int)len);
            if (!bio)
                goto nomem;
            k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
            ERR_clear_error();
        }
        BIO_free(bio);
    }
    if (cert && !c) {
        ck_fail(err, CK_EFORMAT, "no certificate in it");
        goto out;
    }
    if (need_key && !k) {
        ck_fail(err, CK_EFORMAT, "no private key in it (a signer's PEM must hold the key)");
        goto out;
    }
    if (c && k && X509_check_private_key(c, k) != 1) {
        ck_fail_ssl(err, CK_EFORMAT, "the private key does not belong to the certificate");
        goto out;
    }
    if (cert) {
        *cert = c;
        c = NULL;
    }
    if (key) {
        *key = k;
        k = NULL;
    }
    rc = 0;
    goto out;
nomem:
    ck_fail(err, CK_ENOMEM, "out of memory");
out:
    X509_free(c);
    EVP_PKEY_free(k);
    return rc;
}

int ck_load_pem(const char *path, X509 **cert, EVP_PKEY **key, bool need_key, ck_err *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (ck_read_file(path, 1024 * 1024, &data, &len, err) < 0)
        return -1;
    int rc = ck_load_pem_mem(data, len, cert, key, need_key, err);
    if (rc < 0)
        ck_err_prefix(err, "%s", path);
    OPENSSL_cleanse(data, len); /* may have held a private key */
    free(data);
    return rc;
}

X509 *ck_cert_from_der(const uint8_t *der, size_t len, ck_err *err)
{
    const unsigned char *p = der;
    if (len == 0 || len > 65535) {
        ck_fail(err, CK_EFORMAT, "certificate length %zu out of range", len);
        return NULL;
    }
    X509 *c = d2i_X509(NULL, &p, (long)len);
    if (!c) {
        ck_fail_ssl(err, CK_EFORMAT, "certificate does not parse");
        return NULL;
    }
    if (p != der + len) {
        X509_free(c);
        ck_fail(err, CK_EFORMAT, "%zu bytes after the certificate", (size_t)(der + len - p));
        return NULL;
    }
    return c;
}

int ck_cert_to_der(X509 *cert, uint8_t **der, size_t *len, ck_err *err)
{
    unsigned char *p = NULL;
    int n = i2d_X509(cert, &p);
    if (n <= 0)
        return ck_fail_ssl(err, CK_ECRYPTO, "cannot encode certificate");
    *der = malloc((size_t)n);
    if (!*der) {
        OPENSSL_free(p);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    memcpy(*der, p, (size_t)n);
    OPENSSL_free(p);
    *len = (size_t)n;
    return 0;
}

static char *bio_to_string(BIO *bio)
{
    char *mem = NULL;
    long n = BIO_get_mem_data(bio, &mem);
    char *s = malloc((size_t)n + 1);
    if (s) {
        memcpy(s, mem, (size_t)n);
        s[n] = '\0';
    }
    return s;
}

char *ck_cert_to_pem(X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *s = NULL;
    if (bio && PEM_write_bio_X509(bio, cert))
        s = bio_to_string(bio);
    BIO_free(bio);
    return s;
}

static int write_pem(const char *path, EVP_PKEY *key, X509 *cert, ck_err *err)
{
    BIO *bio = BIO_new(BIO_s_mem());
    int rc = -1;
    if (!bio)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    if ((key && !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) ||
        (cert && !PEM_write_bio_X509(bio, cert))) {
        ck_fail_ssl(err, CK_ECRYPTO, "cannot encode PEM");
        goto out;
    }
    char *mem = NULL;
    long n = BIO_get_mem_data(bio, &mem);
    rc = ck_write_file_atomic(path, mem, (size_t)n, key ? 0600 : 0644, err);
    OPENSSL_cleanse(mem, (size_t)n);
out:
    BIO_free(bio);
    return rc;
}

int ck_write_key_cert_pem(const char *path, EVP_PKEY *key, X509 *cert, ck_err *err)
{
    return write_pem(path, key, cert, err);
}

int ck_write_cert_pem(const char *path, X509 *cert, ck_err *err)
{
    return write_pem(path, NULL, cert, err);
}
