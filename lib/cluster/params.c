#include "ctlkit/params.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ctlkit/bytes.h"

static const char *const lbm_modes[] = {"Insecure", "Secure", NULL};
static const char *const signers[] = {"CallManager", "ITLRecovery", NULL};
static const char *const tls_versions[] = {"1.0", "1.1", "1.2", "1.3", NULL};

const ck_param_def ck_params[] = {
    {"ClusterSecurityMode", "Cluster Security Mode", CK_PARAM_INT, 0, 1, NULL, "0",
     "0 = non-secure, 1 = mixed mode; changed by utils ctl set-cluster", 0},
    {"LBMSecurityMode", "LBM Security Mode", CK_PARAM_ENUM, 0, 0, lbm_modes, "Insecure",
     "security of the Location Bandwidth Manager links", 1},
    {"CAPFPhonePort", "CAPF Phone Port", CK_PARAM_INT, 1024, 65535, NULL, "3804",
     "TCP port phones use to reach CAPF", 1},
    {"CAPFOperationExpiresInDays", "CAPF Operation Expires in (days)", CK_PARAM_INT, 1, 365, NULL, "10",
     "days a pending CAPF operation stays valid", 1},
    {"EnableCaching", "Enable Caching", CK_PARAM_BOOL, 0, 0, NULL, "True", "phones may cache TVS answers", 1},
    {"TVSCertificateCacheTTL", "TVS Certificate Cache TTL (seconds)", CK_PARAM_INT, 60, 2592000, NULL, "86400",
     "seconds a phone may cache a TVS answer (the TTL element of VERIFY responses)", 1},
    {"TFTPMaxTransfersPerSource", "TFTP Maximum Transfers per Source", CK_PARAM_INT, 0, 1000000, NULL, "16",
     "concurrent TFTP transfers ctlkitd serves one client address (0 = no cap); past it that address is told "
     "Server busy; ctlkitd --max-transfers-per-source overrides it",
     1},
    {"TrustListSigningKey", "CTL/ITL Signing Key", CK_PARAM_ENUM, 0, 0, signers, "CallManager",
     "key that signs the CTL and ITLs: the publisher's CallManager (CUCM 10.x) or ITLRecovery (newer releases)",
     1},
    /* Not CUCM's: CUCM's TFTP and TVS take changed files and certificates
     * only when restarted; True keeps ctlkit's habit of following them. */
    {"TFTPReloadOnChange", "TFTP Reload on Change", CK_PARAM_BOOL, 0, 0, NULL, "True",
     "ctlkitd follows changed files and certificates by itself (True) or, as CUCM, keeps serving what it has until "
     "utils service restart (False)",
     1},
    {"PhoneSeenAgeHours", "Phone Seen Age (hours)", CK_PARAM_INT, 1, 8760, NULL, "24",
     "hours after which a phone the nodes have not heard from no longer counts in show phones trust (ctlkitd's "
     "phone tracking)",
     1},
    /* CUCM keeps it outside the Enterprise Parameters page (`set tls
     * min-version`); 1.0 as CUCM 10.5, where the seed's 7975s worked. */
    {"TLSMinVersion", "TLS Minimum Version", CK_PARAM_ENUM, 0, 0, tls_versions, "1.0",
     "lowest TLS version TVS and the CTL Provider accept; set tls min-version, applied when the services restart",
     1},
};

const size_t ck_params_count = sizeof ck_params / sizeof ck_params[0];

const ck_param_def *ck_param_find(const char *name)
{
    for (size_t i = 0; i < ck_params_count; i++)
        if (strcasecmp(ck_params[i].name, name) == 0)
            return &ck_params[i];
    return NULL;
}

int ck_param_check(const ck_param_def *def, const char *value, char *out, size_t outsz, ck_err *err)
{
    long long v;
    switch (def->type) {
    case CK_PARAM_INT:
        if (!ck_parse_ll(value, def->min, def->max, &v))
            return ck_fail(err, CK_EINVAL, "%s must be a whole number from %lld to %lld, not '%s'", def->name,
                           def->min, def->max, value);
        snprintf(out, outsz, "%lld", v);
        return 0;
    case CK_PARAM_BOOL:
        if (strcasecmp(value, "true") == 0 || strcmp(value, "1") == 0)
            snprintf(out, outsz, "True");
        else if (strcasecmp(value, "false") == 0 || strcmp(value, "0") == 0)
            snprintf(out, outsz, "False");
        else
            return ck_fail(err, CK_EINVAL, "%s must be True or False, not '%s'", def->name, value);
        return 0;
    case CK_PARAM_ENUM:
        for (const char *const *c = def->choices; *c; c++)
            if (strcasecmp(*c, value) == 0) {
                snprintf(out, outsz, "%s", *c);
                return 0;
            }
        {
            char list[256] = "";
            for (const char *const *c = def->choices; *c; c++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", c == def->choices ? "" : ", ", *c);
            return ck_fail(err, CK_EINVAL, "%s must be one of %s, not '%s'", def->name, list, value);
        }
    }
    return ck_fail(err, CK_EINVAL, "bad parameter type");
}
