/* The TVS's one SSL_CTX (docs/tvs-protocol.md, "Transport").
 *
 * Everything that can be decided once is decided here, so that a
 * connection costs one SSL_new and its handshake: the certificate and key
 * are loaded once, the client is never asked for a certificate, and the
 * cheapest safe key exchange (X25519) comes first. */
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "ctlkit/x509.h"
#include "tvs_internal.h"
#include "tvs_log.h"

SSL_CTX *tvs_tls_ctx_new(const tvs_config *cfg, ck_err *err)
{
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        ck_fail_ssl(err, CK_ECRYPTO, "cannot create the TVS TLS context");
        return NULL;
    }
    if (ck_load_pem(cfg->cert_key_pem, &cert, &key, true, err) < 0) {
        ck_err_prefix(err, "TVS certificate and key");
        goto fail;
    }
    if (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        ck_fail_ssl(err, CK_ECRYPTO, "%s: the TVS key does not fit its certificate", cfg->cert_key_pem);
        goto fail;
    }

    if (cfg->legacy_tls) {
        /* 79xx phones: TLS 1.0, RSA key exchange, CBC-SHA1 suites, SHA-1 /
         * MD5+SHA-1 handshake signatures, which security level 0 allows. */
        SSL_CTX_set_security_level(ctx, 0);
        if (SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION) != 1 ||
            SSL_CTX_set_cipher_list(ctx, "DEFAULT:AES128-SHA:AES256-SHA:DES-CBC3-SHA:@SECLEVEL=0") != 1) {
            ck_fail_ssl(err, CK_ECRYPTO, "cannot enable legacy TLS for the TVS");
            goto fail;
        }
    } else if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        ck_fail_ssl(err, CK_ECRYPTO, "cannot set the TVS TLS version");
        goto fail;
    }
    /* X25519 first: the cheapest ECDHE here (about 24 us against 31 us for
     * P-256), and what OpenSSL clients send a key share for. */
    if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384:P-521") != 1) {
        ck_fail_ssl(err, CK_ECRYPTO, "cannot set the TVS key exchange groups");
        goto fail;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* the protocol asks for no client certificate */
    /* Client-initiated renegotiation would let one connection demand RSA
     * operations for free. */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
    /* A phone that closes without close_notify after its answer is normal;
     * our frames carry their length, so truncation shows anyway. */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* Idle connections give their 17 KiB buffers back; read_ahead lets one
     * read(2) take the client's Finished and its request together. */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_read_ahead(ctx, 1);
    if (cfg->session_tickets) {
        /* Stateless tickets: a phone that resumes skips the RSA operation. */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_num_tickets(ctx, 1);
    } else {
        /* Phones seldom resume; issuing tickets nobody uses costs every
         * connection an encryption and a write. */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(ctx, 0);
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    return ctx;
fail:
    X509_free(cert);
    EVP_PKEY_free(key);
    SSL_CTX_free(ctx);
    return NULL;
}
