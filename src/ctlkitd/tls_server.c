#include "tls_server.h"

#include <limits.h>

#include "ctlkit/tls_policy.h"
#include "ctlkit/x509.h"
#include "log.h"

static unsigned key_flags;

void tls_server_set_key_flags(unsigned flags) { key_flags = flags; }

SSL_CTX *tls_server_ctx_new(const char *pem, const char *what, int min_version, ck_err *err)
{
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    char warning[PATH_MAX + 200];
    if (ck_load_key_pem(pem, key_flags, &cert, &key, warning, sizeof warning, err) < 0) {
        ck_err_prefix(err, "%s certificate and key", what);
        return NULL;
    }
    if (warning[0])
        dlog(DLOG_WARNING, "%s key: %s (started anyway: --allow-loose-key-modes)", what, warning);
    SSL_CTX *ctx = tls_server_ctx_from(cert, key, what, min_version, err);
    if (!ctx)
        ck_err_prefix(err, "%s", pem);
    X509_free(cert);
    EVP_PKEY_free(key); /* the context keeps its own references */
    return ctx;
}

SSL_CTX *tls_server_ctx_from(X509 *cert, EVP_PKEY *key, const char *what, int min_version, ck_err *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        ck_fail_ssl(err, CK_ECRYPTO, "cannot create the %s TLS context", what);
        return NULL;
    }
    char note[512];
    if (ck_tls_fit_security_level(ctx, cert, key, note, sizeof note))
        dlog(DLOG_NOTICE, "%s: %s", what, note);
    if (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        ck_fail_ssl(err, CK_ECRYPTO, "the %s key does not fit its certificate", what);
        goto fail;
    }
    if (ck_tls_policy_apply(ctx, min_version, err) < 0) {
        ck_err_prefix(err, "%s", what);
        goto fail;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    /* A client that closes without close_notify after its answer is
     * normal; the protocols' frames carry their length, so a truncation
     * shows anyway. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* The node certificates are self-signed: there is no chain to build,
     * so do not search the store for one on every handshake. */
    SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}
