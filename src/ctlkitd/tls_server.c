#include "tls_server.h"

#include <limits.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdlib.h>

#include "ctlkit/tls_policy.h"
#include "ctlkit/x509.h"
#include "log.h"

static unsigned key_flags;

void tls_server_set_key_flags(unsigned flags) { key_flags = flags; }

/* OpenSSL's security levels by the bits of security they demand. */
static int level_for_bits(int bits)
{
    static const int floor[] = {80, 112, 128, 192, 256}; /* levels 1..5 */
    int level = 0;
    while (level < 5 && bits >= floor[level])
        level++;
    return level;
}

/* A cluster made with --bits 1024, or imported from a CUCM of that era,
 * has 1024-bit keys (80 bits of security) and may have SHA1withRSA
 * certificates from a CA (63 bits): Debian's default level 2 refuses both.
 * The node's own identity is what it is, so the level is lowered to exactly
 * what this certificate and key need, never raised, and the log says so. */
static void fit_security_level(SSL_CTX *ctx, X509 *cert, EVP_PKEY *key, const char *what)
{
    int need = level_for_bits(EVP_PKEY_get_security_bits(key));
    int sig_bits = 0;
    uint32_t sig_flags = 0;
    /* A self-signed certificate's own signature is not checked by
     * OpenSSL's security level (nobody relies on it). */
    bool self_signed = (X509_get_extension_flags(cert) & EXFLAG_SS) != 0;
    if (!self_signed && X509_get_signature_info(cert, NULL, NULL, &sig_bits, &sig_flags) == 1 &&
        level_for_bits(sig_bits) < need)
        need = level_for_bits(sig_bits);
    int have = SSL_CTX_get_security_level(ctx);
    if (need >= have)
        return;
    SSL_CTX_set_security_level(ctx, need);
    char *subject = ck_name_cucm(X509_get_subject_name(cert));
    dlog(DLOG_NOTICE,
         "%s: TLS security level lowered from %d to %d for the node's %d-bit %s key and %s certificate (%s)", what,
         have, need, EVP_PKEY_get_bits(key), EVP_PKEY_get0_type_name(key), ck_cert_sigalg_name(cert),
         subject ? subject : "?");
    free(subject);
}

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
    fit_security_level(ctx, cert, key, what);
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
