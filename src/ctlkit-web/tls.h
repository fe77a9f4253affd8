/* The dashboard's TLS: a server context from a certificate and its key. */
#ifndef CTLKIT_WEB_TLS_H
#define CTLKIT_WEB_TLS_H

#include <openssl/ssl.h>

#include "ctlkit/cluster.h"

/* cert_path and key_path given: those files (the key file 0600, it may also
 * hold the certificate). Else the publisher's CallManager key and
 * certificate from the cluster (ctlkit has no tomcat unit yet). NULL with
 * err on failure. */
SSL_CTX *web_tls_new(ck_cluster *c, const char *cert_path, const char *key_path, ck_err *err);

#endif
