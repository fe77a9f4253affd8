/* TLS for ctlkit-web (tls.h). */
#include "tls.h"

#include <limits.h>
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>

#include "ctlkit/store.h"
#include "ctlkit/tls_policy.h"
#include "ctlkit/x509.h"

/* The publisher's CallManager certificate as the store has it. */
static X509 *publisher_cert(ck_cluster *c, char *key_path, size_t keysz, ck_err *err)
{
    ck_node pub;
    if (ck_store_publisher(ck_cluster_store(c), &pub, err) < 0)
        return NULL;
    if (!ck_cluster_node_here(c, pub.name)) {
        ck_fail(err, CK_ESTATE, "the publisher's folder is not on this host: give --tls-cert and --tls-key");
        return NULL;
    }
    ck_cluster_key_path(c, pub.name, "CallManager", key_path, keysz);
    ck_cert_row row = {0};
    if (ck_store_get_cert(ck_cluster_store(c), pub.name, "CallManager", &row, err) < 0)
        return NULL;
    X509 *x = NULL;
    int rc = ck_load_pem_mem(row.pem, strlen(row.pem), &x, NULL, false, err);
    ck_cert_row_clear(&row);
    return rc < 0 ? NULL : x;
}

SSL_CTX *web_tls_new(ck_cluster *c, const char *cert_path, const char *key_path, ck_err *err)
{
    X509 *cert = NULL, *from_key = NULL;
    EVP_PKEY *key = NULL;
    char default_key[PATH_MAX];
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        ck_fail_ssl(err, CK_ECRYPTO, "cannot create the TLS context");
        return NULL;
    }
    if (!key_path) {
        cert = publisher_cert(c, default_key, sizeof default_key, err);
        if (!cert)
            goto fail;
        key_path = default_key;
    } else if (cert_path && ck_load_pem(cert_path, &cert, NULL, false, err) < 0) {
        goto fail;
    }
    char warning[PATH_MAX + 200];
    if (ck_load_key_pem(key_path, 0, &from_key, &key, warning, sizeof warning, err) < 0)
        goto fail;
    if (!cert) {
        cert = from_key;
        from_key = NULL;
    }
    if (!cert) {
        ck_fail(err, CK_EINVAL, "%s holds no certificate: give --tls-cert", key_path);
        goto fail;
    }
    /* A 1024-bit cluster's key: the level it needs (ctlkitd's rule). */
    char note[512];
    if (ck_tls_fit_security_level(ctx, cert, key, note, sizeof note))
        fprintf(stderr, "ctlkit-web: %s; key %s\n", note, key_path);
    if (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        ck_fail_ssl(err, CK_ECRYPTO, "%s: the key does not fit the certificate", key_path);
        goto fail;
    }
    if (ck_tls_policy_apply(ctx, ck_cluster_tls_min_version(c), err) < 0)
        goto fail;
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    X509_free(cert);
    X509_free(from_key);
    EVP_PKEY_free(key);
    return ctx;
fail:
    X509_free(cert);
    X509_free(from_key);
    EVP_PKEY_free(key);
    SSL_CTX_free(ctx);
    return NULL;
}
