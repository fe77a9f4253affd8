/* The cluster as the CAPF session sees it (capf_server.h): the issuer
 * (the publisher's CAPF unit and the CAPF-trust store) and the device
 * table over the store. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "ctlkit/bytes.h"
#include "ctlkit/capf_server.h"
#include "ctlkit/x509.h"
#include "internal.h"

/* The CAPF-trust roots, decoded again only when the rows' PEM texts
 * differ from those the handle's copies were decoded from (the same rule
 * as unit_cache.c); out gets references. */
static int capf_roots(ck_cluster *c, ck_capf_issuer *out, ck_err *err)
{
    ck_cert_row *rows = NULL;
    size_t n = 0, n_capf = 0;
    if (ck_store_list_trust(c->store, &rows, &n, err) < 0)
        return -1;
    ck_buf all;
    ck_buf_init(&all, 0);
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].unit, "CAPF-trust") == 0) {
            ck_buf_bytes(&all, rows[i].pem, strlen(rows[i].pem) + 1); /* with its NUL: a separator */
            n_capf++;
        }
    ck_buf_u8(&all, 0);
    int rc = 0;
    if (all.failed) {
        rc = ck_fail(err, CK_ENOMEM, "out of memory");
        goto done;
    }
    bool same = c->capf_roots_pem && c->capf_roots_len == all.len &&
                memcmp(c->capf_roots_pem, all.data, all.len) == 0 && c->n_capf_roots == n_capf;
    if (!same) {
        X509 **roots = n_capf ? calloc(n_capf, sizeof *roots) : NULL;
        char *pem = malloc(all.len);
        size_t got = 0;
        if ((n_capf && !roots) || !pem) {
            free(roots);
            free(pem);
            rc = ck_fail(err, CK_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; rc == 0 && i < n; i++) {
            if (strcmp(rows[i].unit, "CAPF-trust") != 0)
                continue;
            if (ck_load_pem_mem(rows[i].pem, strlen(rows[i].pem), &roots[got], NULL, false, err) < 0)
                rc = -1;
            else
                got++;
        }
        if (rc < 0) {
            for (size_t i = 0; i < got; i++)
                X509_free(roots[i]);
            free(roots);
            free(pem);
            goto done;
        }
        for (size_t i = 0; i < c->n_capf_roots; i++)
            X509_free(c->capf_roots[i]);
        free(c->capf_roots);
        free(c->capf_roots_pem);
        memcpy(pem, all.data, all.len);
        c->capf_roots_pem = pem;
        c->capf_roots_len = all.len;
        c->capf_roots = roots;
        c->n_capf_roots = got;
    }
    if (c->n_capf_roots && !(out->mic_roots = calloc(c->n_capf_roots, sizeof *out->mic_roots))) {
        rc = ck_fail(err, CK_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < c->n_capf_roots; i++)
        if (X509_up_ref(c->capf_roots[i]) == 1)
            out->mic_roots[out->n_mic_roots++] = c->capf_roots[i];
done:
    ck_buf_free(&all);
    ck_cert_rows_free(rows, n);
    return rc;
}

/* Per phone connection in ctlkitd (capf_service.c), so that a regenerated
 * CAPF certificate or a new CAPF-trust root counts from the next phone on;
 * the decoding is done once per handle and change (unit_cache.c). */
int ck_cluster_capf_issuer(ck_cluster *c, const char *node, unsigned key_flags, ck_capf_issuer *out, ck_err *err)
{
    memset(out, 0, sizeof *out);
    if (ck__load_unit_flags(c, node, CK_UNIT_CAPF, key_flags, &out->cert, &out->key, err) < 0 ||
        capf_roots(c, out, err) < 0) {
        ck_capf_issuer_clear(out);
        ERR_clear_error();
        return -1;
    }
    return 0;
}

void ck_capf_issuer_clear(ck_capf_issuer *iss)
{
    X509_free(iss->cert);
    EVP_PKEY_free(iss->key);
    for (size_t i = 0; i < iss->n_mic_roots; i++)
        X509_free(iss->mic_roots[i]);
    free(iss->mic_roots);
    memset(iss, 0, sizeof *iss);
}

static int get(void *arg, const char *name, ck_device_row *out, ck_err *err)
{
    ck_cluster *c = arg;
    return ck_store_get_device(c->store, name, out, err);
}

static int update(void *arg, const char *name, const ck_capf_update *u, ck_err *err)
{
    ck_cluster *c = arg;
    if (ck__op_begin(c, err) < 0)
        return -1;
    ck__op_device(c, name); /* only this row changes: only its files are rebuilt */
    ck_device_row d = {0};
    bool ok = ck_store_get_device(c->store, name, &d, err) == 0;
    if (ok) {
        ck_capf_update_apply(&d, u);
        ok = ck_store_put_device(c->store, &d, err) == 0 &&
             ck__audit(c, err, "", "CAPF %s: %s", name, u->result[0] ? u->result : "updated") == 0;
    }
    ck_device_row_clear(&d);
    return ck__op_end(c, ok, err) < 0 || !ok ? -1 : 0;
}

void ck_cluster_capf_devices(ck_cluster *c, ck_capf_devices *out)
{
    out->arg = c;
    out->get = get;
    out->update = update;
}
