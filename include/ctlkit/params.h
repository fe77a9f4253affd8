/* The enterprise parameters: one table that describes each parameter
 * (name, type, range, default, meaning) and serves the store (defaults at
 * cluster creation), the CLI (`show params`, `set param`, range checks)
 * and the docs (`ctlkit admin -c 'show params'` prints it). Architecture
 * habit 10, after Redis's config.c. */
#ifndef CTLKIT_PARAMS_H
#define CTLKIT_PARAMS_H

#include <stddef.h>

#include "ctlkit/error.h"

typedef enum ck_param_type { CK_PARAM_INT, CK_PARAM_BOOL, CK_PARAM_ENUM } ck_param_type;

typedef struct ck_param_def {
    const char *name;           /* processconfig.paramname */
    const char *label;          /* as the Enterprise Parameters page shows it */
    ck_param_type type;
    long long min, max;         /* CK_PARAM_INT */
    const char *const *choices; /* CK_PARAM_ENUM, NULL-terminated */
    const char *default_value;
    const char *description;
    int admin_settable;         /* 0 when only an operation may change it (ClusterSecurityMode) */
} ck_param_def;

extern const ck_param_def ck_params[];
extern const size_t ck_params_count;

const ck_param_def *ck_param_find(const char *name); /* case-insensitive */
/* Checks value against the definition; writes the canonical form
 * (True/False for booleans) into out. */
int ck_param_check(const ck_param_def *def, const char *value, char *out, size_t outsz, ck_err *err);

#define CK_PARAM_SECURITY_MODE "ClusterSecurityMode"
#define CK_PARAM_TVS_TTL "TVSCertificateCacheTTL"
#define CK_PARAM_TFTP_PER_SOURCE "TFTPMaxTransfersPerSource"
#define CK_PARAM_SIGNER "TrustListSigningKey"
#define CK_PARAM_TLS_MIN "TLSMinVersion"
#define CK_PARAM_TFTP_RELOAD "TFTPReloadOnChange"

#endif
