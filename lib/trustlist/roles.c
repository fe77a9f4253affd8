/* Role (FUNCTION) and digest vocabularies of the trust-list format. */
#include <openssl/evp.h>
#include <strings.h>

#include "ctlkit/trustlist.h"

static const struct {
    unsigned code;
    const char *name;
    const char *label; /* as `show ctl` prints FUNCTION */
} roles[] = {
    {CK_ROLE_SAST, "SAST", "System Administrator Security Token"},
    {CK_ROLE_CCM, "CCM", "CCM"},
    {CK_ROLE_CCM_TFTP, "CCM+TFTP", "CCM+TFTP"},
    {CK_ROLE_TFTP, "TFTP", "TFTP"},
    {CK_ROLE_CAPF, "CAPF", "CAPF"},
    {CK_ROLE_APP_SERVER, "APP-SERVER", "APP-SERVER"},
    {CK_ROLE_TVS, "TVS", "TVS"},
};

const char *ck_role_name(unsigned role)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (roles[i].code == role)
            return roles[i].name;
    return NULL;
}

const char *ck_role_label(unsigned role)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (roles[i].code == role)
            return roles[i].label;
    return NULL;
}

int ck_role_parse(const char *s, unsigned *role)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcasecmp(s, roles[i].name) == 0) {
            *role = roles[i].code;
            return 0;
        }
    if (strcasecmp(s, "ccm-tftp") == 0) {
        *role = CK_ROLE_CCM_TFTP;
        return 0;
    }
    if (strcasecmp(s, "app_server") == 0) {
        *role = CK_ROLE_APP_SERVER;
        return 0;
    }
    return -1;
}

const char *ck_digest_name(unsigned alg)
{
    switch (alg) {
    case CK_DIGEST_SHA1: return "SHA1";
    case CK_DIGEST_SHA256: return "SHA256";
    case CK_DIGEST_SHA512: return "SHA512";
    }
    return NULL;
}

const EVP_MD *ck_digest_md(unsigned alg)
{
    switch (alg) {
    case CK_DIGEST_SHA1: return EVP_sha1();
    case CK_DIGEST_SHA256: return EVP_sha256();
    case CK_DIGEST_SHA512: return EVP_sha512();
    }
    return NULL;
}

int ck_digest_parse(const char *s, unsigned *alg)
{
    if (strcasecmp(s, "sha1") == 0 || strcasecmp(s, "sha-1") == 0)
        *alg = CK_DIGEST_SHA1;
    else if (strcasecmp(s, "sha256") == 0 || strcasecmp(s, "sha-256") == 0)
        *alg = CK_DIGEST_SHA256;
    else if (strcasecmp(s, "sha512") == 0 || strcasecmp(s, "sha-512") == 0)
        *alg = CK_DIGEST_SHA512;
    else
        return -1;
    return 0;
}
