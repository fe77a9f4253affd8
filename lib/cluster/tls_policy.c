#include "ctlkit/tls_policy.h"

#include <string.h>

#include "ctlkit/cluster.h"
#include "ctlkit/params.h"

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
