/* The TVS's answer source for one node, from the cluster. */
#include <stdlib.h>
#include <string.h>

#include "ctlkit/fileio.h"
#include "ctlkit/x509.h"
#include "internal.h"

static int add_pem(ck_trustcache *tc, const char *pem, const unsigned *roles, size_t n, ck_err *err)
{
    X509 *cert = NULL;
    uint8_t *der = NULL;
    size_t len = 0;
    if (ck_load_pem_mem(pem, strlen(pem), &cert, NULL, false, err) < 0)
        return -1;
    int rc = ck_cert_to_der(cert, &der, &len, err);
    if (rc == 0)
        rc = ck_trustcache_add_db(tc, der, len, roles, n, err);
    free(der);
    X509_free(cert);
    return rc;
}

/* Roles of a node's own certificate, by unit. The CallManager certificate
 * is SAST and CCM+TFTP, as CUCM's log shows ("rolecount : 2"). */
static size_t unit_roles(const char *unit, unsigned roles[2])
{
    if (strcmp(unit, CK_UNIT_CALLMANAGER) == 0) {
        roles[0] = CK_ROLE_SAST;
        roles[1] = CK_ROLE_CCM_TFTP;
        return 2;
    }
    if (strcmp(unit, CK_UNIT_TVS) == 0)
        roles[0] = CK_ROLE_TVS;
    else if (strcmp(unit, CK_UNIT_CAPF) == 0)
        roles[0] = CK_ROLE_CAPF;
    else if (strcmp(unit, CK_UNIT_ITLRECOVERY) == 0)
        roles[0] = CK_ROLE_SAST;
    else
        return 0;
    return 1;
}

static size_t trust_roles(const char *purpose, unsigned roles[2])
{
    if (strcmp(purpose, CK_TRUST_PHONE_SAST) == 0) {
        roles[0] = CK_ROLE_SAST; /* uploaded eToken certificates (scenario 3) */
        return 1;
    }
    if (strcmp(purpose, CK_TRUST_CALLMANAGER) == 0) {
        roles[0] = CK_ROLE_CCM;
        return 1;
    }
    return 0;
}

int ck_cluster_build_trustcache(ck_cluster *c, const char *node, ck_trustcache **out, ck_err *err)
{
    ck_trustcache *tc = ck_trustcache_new(err);
    ck_cert_row *rows = NULL;
    size_t n = 0;
    unsigned roles[2];
    if (!tc)
        return -1;
    if (ck_store_list_certs(c->store, &rows, &n, err) < 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        size_t nr = unit_roles(rows[i].unit, roles);
        if (nr && add_pem(tc, rows[i].pem, roles, nr, err) < 0)
            goto fail;
    }
    ck_cert_rows_free(rows, n);
    rows = NULL;
    if (ck_store_list_trust(c->store, &rows, &n, err) < 0)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        size_t nr = trust_roles(rows[i].unit, roles);
        if (nr && add_pem(tc, rows[i].pem, roles, nr, err) < 0)
            goto fail;
    }
    ck_cert_rows_free(rows, n);
    rows = NULL;

    /* The CTL cache: only a CTL that verifies speaks for the cluster. */
    char path[PATH_MAX];
    uint8_t *raw = NULL;
    size_t len = 0;
    ck_cluster_node_path(c, node, "tftp", CK_CTL_NAME, path, sizeof path);
    if (ck_read_file(path, CK_TL_MAX_PARSE, &raw, &len, NULL) == 0) {
        ck_tl_file *f = NULL;
        ck_err perr = {0};
        if (ck_tl_parse(raw, len, &f, &perr) == 0 && ck_tl_verify(f, &perr) == 0 &&
            ck_trustcache_add_ctl(tc, f, err) < 0) {
            ck_tl_free(f);
            free(raw);
            goto fail;
        }
        ck_tl_free(f);
        free(raw);
    }
    ck_trustcache_seal(tc);
    *out = tc;
    return 0;
fail:
    ck_cert_rows_free(rows, n);
    ck_trustcache_free(tc);
    return -1;
}
