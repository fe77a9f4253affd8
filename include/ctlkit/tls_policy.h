/* CUCM's TLS policy: the cluster-wide minimum TLS version (`set tls
 * min-version`, the parameter TLSMinVersion) that every TLS service of a
 * node obeys (TVS, CTL Provider; CAPF once it exists). The decision lives
 * here; the daemons apply it to their SSL_CTX and the phone simulator
 * compares it with what each model speaks. docs/admin-guide.md, "TLS". */
#ifndef CTLKIT_TLS_POLICY_H
#define CTLKIT_TLS_POLICY_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

#include "ctlkit/error.h"

/* "1.0" -> TLS1_VERSION ... "1.3" -> TLS1_3_VERSION; 0 when text is none
 * of CUCM's four values. */
int ck_tls_version_parse(const char *text);
/* TLS1_VERSION -> "1.0" ...; "?" for anything else. */
const char *ck_tls_version_name(int version);

struct ck_cluster;
/* The cluster's minimum (TLSMinVersion) as a TLS1_*_VERSION; the table's
 * default (1.0) for a cluster made before the parameter existed. */
int ck_cluster_tls_min_version(struct ck_cluster *c);
/* `cluster status`'s warning while the minimum is below 1.2, naming the
 * phone models that need it; false (out untouched) from 1.2 on. */
bool ck_cluster_tls_warning(struct ck_cluster *c, char *out, size_t outsz);

/* Makes ctx accept exactly what the minimum allows. Below 1.2 (79xx
 * phones: TLS 1.0, RSA key exchange, CBC-SHA suites, SHA-1 and MD5+SHA-1
 * handshake signatures) it also lowers OpenSSL's security level to 0 and
 * adds the legacy suites, which Debian's default level 2 refuses; from
 * 1.2 on the context keeps OpenSSL's defaults and level. */
CK_MUST_USE int ck_tls_policy_apply(SSL_CTX *ctx, int min_version, ck_err *err);

/* A cluster made with --bits 1024, or imported from a CUCM of that era,
 * has 1024-bit keys (80 bits of security) and may have SHA1withRSA
 * certificates from a CA (63 bits), which Debian's default level 2
 * refuses. A server's own identity is what it is: this lowers ctx's
 * security level to exactly what cert and key need, never raises it.
 * Returns true when it lowered it, with a sentence for the caller's log in
 * note ("TLS security level lowered from 2 to 1 for the node's 1024-bit
 * RSA key and SHA256withRSA certificate (CN=...)"). Every TLS server of
 * ctlkit (ctlkitd's services, ctlkit-web) calls it before loading the key. */
bool ck_tls_fit_security_level(SSL_CTX *ctx, X509 *cert, EVP_PKEY *key, char *note, size_t notesz);

#endif
