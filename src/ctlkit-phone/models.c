/* The model table. SBD and checksum per model follow the seed and Cisco's
 * field notes: 7940/7960 and Jabber predate Security by Default; 7945,
 * 7965, 7975 and the 88xx have it. The 79xx firmware shows the CTL as MD5,
 * the 88xx and Jabber as SHA1 (a choice written down in docs/phones.md).
 * TLS: the 79xx speak TLS 1.0 only, with RSA key exchange and AES-CBC-SHA
 * (TLS_RSA_WITH_AES_128_CBC_SHA), as public sources describe; the 88xx TLS
 * 1.2 with ECDHE-RSA and AES-GCM; Jabber TLS 1.2 and 1.3 with OpenSSL's
 * defaults. @SECLEVEL=0: Debian's OpenSSL refuses TLS 1.0 otherwise. */
#include <stddef.h>
#include <stdio.h>
#include <strings.h>

#include <openssl/ssl.h>

#include "ctlkit/tls_policy.h"
#include "models.h"

#define TLS_79XX TLS1_VERSION, TLS1_VERSION, "AES128-SHA:AES256-SHA:@SECLEVEL=0"
#define TLS_88XX TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256"
#define TLS_JABBER TLS1_2_VERSION, TLS1_3_VERSION, NULL

static const ph_model models[] = {
    {"7940", "7940", "Cisco IP Phone 7940", false, PH_SUM_MD5, TLS_79XX},
    {"7960", "7960", "Cisco IP Phone 7960", false, PH_SUM_MD5, TLS_79XX},
    {"jabber", "Jabber", "Cisco Jabber (softphone)", false, PH_SUM_SHA1, TLS_JABBER},
    {"7945", "7945", "Cisco IP Phone 7945", true, PH_SUM_MD5, TLS_79XX},
    {"7965", "7965", "Cisco IP Phone 7965", true, PH_SUM_MD5, TLS_79XX},
    {"7975", "7975", "Cisco IP Phone 7975", true, PH_SUM_MD5, TLS_79XX},
    {"8841", "8841", "Cisco IP Phone 8841", true, PH_SUM_SHA1, TLS_88XX},
    {"8845", "8845", "Cisco IP Phone 8845", true, PH_SUM_SHA1, TLS_88XX},
    {"8865", "8865", "Cisco IP Phone 8865", true, PH_SUM_SHA1, TLS_88XX},
};

void ph_model_tls_text(const ph_model *m, char *out, size_t outsz)
{
    if (m->tls_min == m->tls_max)
        snprintf(out, outsz, "TLS %s", ck_tls_version_name(m->tls_min));
    else
        snprintf(out, outsz, "TLS %s to %s", ck_tls_version_name(m->tls_min), ck_tls_version_name(m->tls_max));
}

const ph_model *ph_model_at(unsigned i) { return i < sizeof(models) / sizeof(models[0]) ? &models[i] : NULL; }

const ph_model *ph_model_find(const char *name)
{
    if (!name)
        return NULL;
    if (strncasecmp(name, "CP-", 3) == 0)
        name += 3;
    for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
        if (strcasecmp(name, models[i].name) == 0)
            return &models[i];
    return NULL;
}

const char *ph_checksum_name(ph_checksum c) { return c == PH_SUM_SHA1 ? "SHA1" : "MD5"; }
