#include "ctlkit/tls_policy.h"

#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/cluster.h"
#include "ctlkit/params.h"
#include "ctlkit/x509.h"

static const struct {
    const char *name;
    int version;
} versions[] = {{"1.0", TLS1_VERSION}, {"1.1", TLS1_1_VERSION}, {"1.2", TLS1_2_VERSION}, {"1.3", TLS1_3_VERSION}};
#define N_VERSIONS (sizeof versions / sizeof versions[0])

int ck_tls_version_parse(const char *text)
{
    for (size_t i = 0; text && i < N_VERSIONS; i++)
        if (strcmp(text, versions[i].name) == 0)
            return versions[i].version;
    return 0;
}

const char *ck_tls_version_name(int version)
{
    for (size_t i = 0; i < N_VERSIONS; i++)
        if (versions[i].version == version)
            return versions[i].name;
    return "?";
}

int ck_cluster_tls_min_version(ck_cluster *c)
{
    char value[16];
    int v = 0;
    if (ck_store_get_param(ck_cluster_store(c), CK_PARAM_TLS_MIN, value, sizeof value, NULL) == 0)
        v = ck_tls_version_parse(value);
    return v ? v : ck_tls_version_parse(ck_param_find(CK_PARAM_TLS_MIN)->default_value);
}

/* What 79xx phones offer (RSA key exchange, CBC with SHA-1), after
 * OpenSSL's own list so that modern clients still get its choice. */
#define LEGACY_CIPHERS "DEFAULT:AES128-SHA:AES256-SHA:DES-CBC3-SHA:@SECLEVEL=0"

int ck_tls_policy_apply(SSL_CTX *ctx, int min_version, ck_err *err)
{
    if (!ck_tls_version_parse(ck_tls_version_name(min_version)))
        return ck_fail(err, CK_EINVAL, "unknown TLS minimum version 0x%x", (unsigned)min_version);
    if (min_version < TLS1_2_VERSION) {
        SSL_CTX_set_security_level(ctx, 0);
        if (SSL_CTX_set_cipher_list(ctx, LEGACY_CIPHERS) != 1)
            return ck_fail_ssl(err, CK_ECRYPTO, "cannot allow the TLS 1.0/1.1 cipher suites");
    }
    if (SSL_CTX_set_min_proto_version(ctx, min_version) != 1)
        return ck_fail_ssl(err, CK_ECRYPTO, "cannot set the TLS minimum version %s", ck_tls_version_name(min_version));
    return 0;
}

/* OpenSSL's security levels by the bits of security they demand. */
static int level_for_bits(int bits)
{
    static const int floor[] = {80, 112, 128, 192, 256}; /* levels 1..5 */
    int level = 0;
    while (level < 5 && bits >= floor[level])
        level++;
    return level;
}

bool ck_tls_fit_security_level(SSL_CTX *ctx, X509 *cert, EVP_PKEY *key, char *note, size_t notesz)
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
        return false;
    SSL_CTX_set_security_level(ctx, need);
    if (note && notesz) {
        char *subject = ck_name_cucm(X509_get_subject_name(cert));
        snprintf(note, notesz, "TLS security level lowered from %d to %d for the node's %d-bit %s key and %s certificate (%s)",
                 have, need, EVP_PKEY_get_bits(key), EVP_PKEY_get0_type_name(key), ck_cert_sigalg_name(cert),
                 subject ? subject : "?");
        free(subject);
    }
    return true;
}
