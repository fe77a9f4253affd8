/* The TVS's answer source for one node, from the cluster: the store's
 * certificates with their roles and the node's CTL, given to the one
 * builder (ck_trustcache_build) that standalone TVS uses too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/trustcache.h"
#include "ctlkit/x509.h"
#include "internal.h"

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

/* Appends one store row to the builder's input when its unit gives roles. */
static int add_row(ck_tc_db_cert **v, size_t *n, const ck_cert_row *row, size_t (*roles_of)(const char *, unsigned[2]),
                   ck_err *err)
{
    unsigned roles[2];
    size_t nr = roles_of(row->unit, roles);
    if (!nr)
        return 0;
    ck_tc_db_cert *p = realloc(*v, (*n + 1) * sizeof *p);
    if (!p)
        return ck_fail(err, CK_ENOMEM, "out of memory building the trust cache");
    *v = p;
    ck_tc_db_cert *d = &p[(*n)++];
    memset(d, 0, sizeof *d);
    d->label = row->unit;
    d->data = row->pem;
    d->len = strlen(row->pem);
    memcpy(d->roles, roles, nr * sizeof roles[0]);
    d->n_roles = nr;
    return 0;
}

/* Is a Phone-SAST-trust row a trusted eToken (it chains to
 * CTL-eToken-issuer-trust, the CTL Provider's check)? 0 yes; 1 no, with a
 * line for the report in why; -1 on a store error. A row that does not
 * load is left to the builder, which names it. */
static int sast_row_trusted(const ck_cert_row *row, const ck_cert_row *trust, size_t n_trust, char *why, size_t whysz,
                            ck_err *err)
{
    X509 *x = NULL;
    if (ck_load_pem_mem(row->pem, strlen(row->pem), &x, NULL, false, NULL) < 0)
        return 0;
    char because[384];
    int rc = ck__etoken_issuer_verify_rows(trust, n_trust, x, because, sizeof because, err);
    X509_free(x);
    if (rc == 1)
        snprintf(why, whysz, "%s certificate %s (serial %s, issued by %s) is not vouched for as SAST: %s",
                 CK_TRUST_PHONE_SAST, row->subject ? row->subject : "?", row->serial,
                 row->issuer ? row->issuer : "?", because);
    return rc;
}

int ck_cluster_build_trustcache(ck_cluster *c, const char *node, ck_trustcache **out, ck_tc_report *rep,
                                ck_err *err)
{
    ck_cert_row *certs = NULL, *trust = NULL;
    size_t n_certs = 0, n_trust = 0, n = 0;
    ck_tc_db_cert *db = NULL;
    /* ck_trustcache_build clears its report: the refusals wait here. */
    size_t n_refused = 0;
    char (*refused)[sizeof rep->refused[0]] = calloc(CK_TC_MAX_REFUSED, sizeof *refused);
    int rc = -1;
    if (!refused) {
        ck_fail(err, CK_ENOMEM, "out of memory building the trust cache");
        goto out;
    }
    if (ck_store_list_certs(c->store, &certs, &n_certs, err) < 0 ||
        ck_store_list_trust(c->store, &trust, &n_trust, err) < 0)
        goto out;
    for (size_t i = 0; i < n_certs; i++)
        if (add_row(&db, &n, &certs[i], unit_roles, err) < 0)
            goto out;
    for (size_t i = 0; i < n_trust; i++) {
        if (strcmp(trust[i].unit, CK_TRUST_PHONE_SAST) == 0) {
            char why[sizeof rep->refused[0]];
            int t = sast_row_trusted(&trust[i], trust, n_trust, why, sizeof why, err);
            if (t < 0)
                goto out;
            if (t == 1) {
                if (n_refused < CK_TC_MAX_REFUSED)
                    memcpy(refused[n_refused], why, sizeof why);
                n_refused++;
                continue;
            }
        }
        if (add_row(&db, &n, &trust[i], trust_roles, err) < 0)
            goto out;
    }
    char ctl[PATH_MAX];
    ck_cluster_node_path(c, node, "tftp", CK_CTL_NAME, ctl, sizeof ctl);
    rc = ck_trustcache_build(db, n, ctl, out, rep, err);
    if (rc == 0 && rep) {
        rep->n_refused = n_refused;
        for (size_t i = 0; i < n_refused && i < CK_TC_MAX_REFUSED; i++)
            memcpy(rep->refused[i], refused[i], sizeof rep->refused[i]);
    }
out:
    free(refused);
    free(db);
    ck_cert_rows_free(certs, n_certs);
    ck_cert_rows_free(trust, n_trust);
    return rc;
}
