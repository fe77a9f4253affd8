/* Phones as devices of the cluster (issue 12; docs/phones-capf.md): the
 * rules for a device row (name, model, security profile, CAPF settings),
 * the operations `ctlkit device add|capf|remove|import` run, and the
 * configuration file (SEP<MAC>.cnf.xml, and its .sgn in mixed mode) each
 * node's TFTP folder gets for each device.
 *
 * Decisions live here; the store only keeps the rows (ck_device_row in
 * store.h) and the programs parse arguments and print. */
#ifndef CTLKIT_DEVICE_H
#define CTLKIT_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlkit/cluster.h"
#include "ctlkit/error.h"
#include "ctlkit/store.h"

/* The longest configuration template accepted (cluster-wide or per device). */
#define CK_DEVICE_TEMPLATE_MAX (64 * 1024)
/* The processconfig row holding the cluster-wide template (not an
 * enterprise parameter of the table: it is a document, set with `device
 * template`). */
#define CK_DEVICE_TEMPLATE_PARAM "DeviceConfigTemplate"

/* Checks of single values, each failing with CK_EINVAL and a one-line
 * message naming the value and what is allowed. */
/* "SEP" + 12 upper-case hex digits. */
int ck_device_check_name(const char *name, ck_err *err);
/* A Cisco model that supports a security profile ("7975", "Cisco 7975"):
 * *canonical gets the table's spelling ("7975"). */
int ck_device_check_model(const char *model, const char **canonical, ck_err *err);
/* A template: not over CK_DEVICE_TEMPLATE_MAX, no NUL, one <device ...>
 * element that wraps the rest. */
int ck_device_check_template(const char *xml, ck_err *err);

/* `device add`: the row's defaults are profile non-secure, no encrypted
 * config, no CAPF operation, authentication by null string, RSA 2048. */
typedef struct ck_device_add {
    const char *name, *model;
    const char *profile;       /* NULL: non-secure */
    bool encrypted_config;     /* only with the encrypted profile */
    const char *template_xml;  /* NULL: the cluster's template */
} ck_device_add;

/* `device capf`: each NULL keeps what the row holds (operation: none). */
typedef struct ck_device_capf {
    const char *operation;     /* install, delete, troubleshoot, none */
    const char *auth;          /* string, null, lsc, mic */
    const char *auth_string;   /* 4-10 digits; with auth string and none given, a random one is made */
    const char *key;           /* rsa:1024|2048|4096, ec:256|384|521 */
    const char *completes_by;  /* YYYY-MM-DD (the end of that day, UTC); NULL: today + the
                                * "CAPF Operation Expires in (days)" parameter */
} ck_device_capf;

/* Fills a row from the arguments (every check, every default) without
 * touching the store; `now` is the time the defaults count from. */
int ck_device_row_make(const ck_device_add *a, ck_device_row *out, ck_err *err);
int ck_device_row_apply_capf(ck_device_row *d, const ck_device_capf *cp, int expires_days, int64_t now,
                             ck_err *err);

/* The operations: one transaction each, audited; the node folders on this
 * host get the new configuration files before they return. */
CK_MUST_USE int ck_cluster_device_add(ck_cluster *c, const ck_device_add *a, ck_err *err);
CK_MUST_USE int ck_cluster_device_capf(ck_cluster *c, const char *name, const ck_device_capf *cp, ck_err *err);
CK_MUST_USE int ck_cluster_device_remove(ck_cluster *c, const char *name, ck_err *err);
/* Bulk add from CSV text (as CUCM's BAT): a header line naming the columns
 * (name, model, profile, encrypted-config, operation, auth, string, key,
 * completes-by; name and model required), then one phone per line. All or
 * nothing: the first bad row fails everything with "line N: ...". *added
 * gets the row count. */
CK_MUST_USE int ck_cluster_device_import_csv(ck_cluster *c, const char *csv, size_t len, size_t *added, ck_err *err);
/* The cluster-wide template: set (xml NULL: back to the built-in one) and
 * get (malloc'd; the built-in one when none is set). */
CK_MUST_USE int ck_cluster_device_template_set(ck_cluster *c, const char *xml, ck_err *err);
int ck_cluster_device_template_get(ck_cluster *c, char **xml, ck_err *err);

/* What a device's configuration file says about the cluster; filled by
 * ck_device_config_context from the store (one read for every device). */
typedef struct ck_device_config_ctx {
    bool mixed;                /* cluster security mode */
    char capf_host[16];        /* the publisher's address */
    int capf_port;             /* CAPFPhonePort */
    ck_node *nodes;            /* CallManager and TVS lists, in order */
    size_t n_nodes;
    char *cluster_template;    /* the cluster-wide template */
} ck_device_config_ctx;
int ck_device_config_context(ck_cluster *c, ck_device_config_ctx *ctx, ck_err *err);
void ck_device_config_ctx_clear(ck_device_config_ctx *ctx);

/* deviceSecurityMode: 1 non-secure, 2 authenticated, 3 encrypted; a
 * non-secure cluster gives every phone 1. capfAuthMode: 0 with no
 * operation pending, else 1 string, 2 null string, 3 LSC (MIC fallback),
 * 4 MIC. */
int ck_device_security_mode(const ck_device_row *d, bool mixed);
int ck_device_capf_auth_mode(const ck_device_row *d);

/* SEP<MAC>.cnf.xml for d: its template (or the cluster's) with the
 * security elements ctlkit owns put in (docs/phones-capf.md lists them).
 * *xml is malloc'd and NUL-terminated; *len excludes the NUL. */
int ck_device_config_xml(const ck_device_config_ctx *ctx, const ck_device_row *d, char **xml, size_t *len,
                         ck_err *err);

#endif
