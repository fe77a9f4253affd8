/* The eToken issuers the cluster trusts (CTL-eToken-issuer-trust): a
 * Security Token certificate counts only when it chains to one of them,
 * as CUCM's CTL Client accepts only tokens issued by Cisco Manufacturing
 * CA. Without this, anyone with the admin password could make two tokens
 * from a home-made CA and become a CTL signer every phone trusts. */
#include <stdio.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "ctlkit/x509.h"
#include "internal.h"

/* The issuer store as an OpenSSL store, from the trust rows; *n gets how
 * many CAs it holds. */
static X509_STORE *issuer_store(const ck_cert_row *rows, size_t nr, size_t *n, ck_err *err)
{
    *n = 0;
    X509_STORE *st = X509_STORE_new();
    if (!st) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < nr; i++) {
        if (strcmp(rows[i].unit, CK_TRUST_ETOKEN_ISSUER) != 0)
            continue;
        X509 *x = NULL;
        if (ck_load_pem_mem(rows[i].pem, strlen(rows[i].pem), &x, NULL, false, NULL) < 0)
            continue; /* the import checked it; a damaged row trusts nothing */
        if (X509_STORE_add_cert(st, x) == 1)
            (*n)++;
        X509_free(x);
    }
    /* Any CA in the store is an anchor (an admin may import Cisco
     * Manufacturing CA without Cisco Root CA 2048 above it). Dates are not
     * checked: real eTokens were issued years ago and their certificates
     * may have expired while the tokens stay in use; phones do not check
     * the dates of CTL records either (docs/etokens.md). */
    X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME);
    return st;
}

int ck__etoken_issuer_verify(ck_cluster *c, X509 *token, char *why, size_t whysz, ck_err *err)
{
    ck_cert_row *rows = NULL;
    size_t nr = 0;
    why[0] = '\0';
    if (ck_store_list_trust(c->store, &rows, &nr, err) < 0)
        return -1;
    int rc = ck__etoken_issuer_verify_rows(rows, nr, token, why, whysz, err);
    ck_cert_rows_free(rows, nr);
    return rc;
}

int ck__etoken_issuer_verify_rows(const ck_cert_row *trust, size_t n_trust, X509 *token, char *why, size_t whysz,
                                  ck_err *err)
{
    why[0] = '\0';
    size_t n = 0;
    X509_STORE *st = issuer_store(trust, n_trust, &n, err);
    if (!st)
        return -1;
    int rc = 0;
    if (n == 0) {
        snprintf(why, whysz,
                 "no eToken issuer is trusted; import the token manufacturer's CA (Cisco Manufacturing CA) with "
                 "'set cert import trust %s FILE.pem' on the publisher",
                 CK_TRUST_ETOKEN_ISSUER);
        rc = 1;
        goto out;
    }
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (!ctx || X509_STORE_CTX_init(ctx, st, token, NULL) != 1) {
        X509_STORE_CTX_free(ctx);
        rc = ck_fail(err, CK_ENOMEM, "out of memory");
        goto out;
    }
    if (X509_verify_cert(ctx) != 1) {
        snprintf(why, whysz, "it does not chain to a CA in %s (%s)", CK_TRUST_ETOKEN_ISSUER,
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        rc = 1;
    } else if (sk_X509_num(X509_STORE_CTX_get0_chain(ctx)) < 2) {
        /* The token's own certificate sits in the issuer store: trusting
         * a token is not trusting its issuer. */
        snprintf(why, whysz, "it is itself in %s, which holds issuer CAs, not tokens", CK_TRUST_ETOKEN_ISSUER);
        rc = 1;
    }
    X509_STORE_CTX_free(ctx);
out:
    X509_STORE_free(st);
    return rc;
}
