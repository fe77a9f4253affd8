/* The part of a server TLS context that every ctlkitd service shares: the
 * node's certificate and key from one PEM, the cluster's TLS minimum
 * (ctlkit/tls_policy.h), no client
 * certificate, no renegotiation (it would let one connection demand RSA
 * operations for free), no compression. Each service adds its own. */
#ifndef CTLKITD_TLS_SERVER_H
#define CTLKITD_TLS_SERVER_H

#include <openssl/ssl.h>

#include "ctlkit/error.h"

/* How every service's key file is checked (CK_KEY_* of ck_load_key_pem):
 * main sets it once, before any service starts. */
void tls_server_set_key_flags(unsigned flags);

/* what names the service in messages ("TVS", "CTL Provider"); min_version
 * is a TLS1_*_VERSION (the cluster's TLSMinVersion). */
SSL_CTX *tls_server_ctx_new(const char *cert_key_pem, const char *what, int min_version, ck_err *err);
/* The same from a certificate and key already loaded (and checked against
 * the cluster: a regenerated certificate, capf_service.c); the context
 * takes its own references. */
SSL_CTX *tls_server_ctx_from(X509 *cert, EVP_PKEY *key, const char *what, int min_version, ck_err *err);

#endif
