/* The TVS's one SSL_CTX (docs/tvs-protocol.md, "Transport").
 *
 * Everything that can be decided once is decided here, so that a
 * connection costs one SSL_new and its handshake: the certificate and key
 * are loaded once, the client is never asked for a certificate, and the
 * cheapest safe key exchange (X25519) comes first. */
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "ctlkit/x509.h"
#include "tls_server.h"
#include "tvs_internal.h"
#include "tvs_log.h"

SSL_CTX *tvs_tls_ctx_new(const tvs_config *cfg, ck_err *err)
{
    /* The versions and suites follow the cluster's TLS minimum
     * (tls_server.c, ctlkit/tls_policy.h). */
    SSL_CTX *ctx = tls_server_ctx_new(cfg->cert_key_pem, "TVS", cfg->tls_min, err);
    if (!ctx)
        return NULL;
    /* X25519 first: the cheapest ECDHE here (52 us to generate and derive
     * against 79 us for P-256), and what OpenSSL clients send a key share
     * for. */
    if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384:P-521") != 1) {
        ck_fail_ssl(err, CK_ECRYPTO, "cannot set the TVS key exchange groups");
        goto fail;
    }
    /* TLS 1.3: AES-128-GCM-SHA256 first (every TLS 1.3 client must offer
     * it). Against OpenSSL's default, AES-256-GCM-SHA384, it takes about
     * 16 us (5 %) off each server handshake here: a SHA-256 transcript
     * and key schedule instead of SHA-384 (bench/tools/tlsfloor.c).
     * The other two suites stay, after it. */
    if (SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256") !=
        1) {
        ck_fail_ssl(err, CK_ECRYPTO, "cannot set the TVS TLS 1.3 cipher suites");
        goto fail;
    }
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
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
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}
