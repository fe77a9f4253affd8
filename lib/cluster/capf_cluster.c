/* The cluster as the CAPF session sees it (capf_server.h): the issuer
 * (the publisher's CAPF unit and the CAPF-trust store) and the device
 * table over the store. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "ctlkit/capf_server.h"
#include "ctlkit/x509.h"
#include "internal.h"

int ck_cluster_capf_issuer(ck_cluster *c, const char *node, unsigned key_flags, ck_capf_issuer *out, ck_err *err)
{
    memset(out, 0, sizeof *out);
    char path[PATH_MAX], warning[256];
    X509 *key_cert = NULL;
    if (ck__load_unit(c, node, CK_UNIT_CAPF, &out->cert, NULL, err) < 0)
        return -1;
    ck_cluster_key_path(c, node, CK_UNIT_CAPF, path, sizeof path);
    if (ck_load_key_pem(path, key_flags, &key_cert, &out->key, warning, sizeof warning, err) < 0)
        goto fail_nolist;
    X509_free(key_cert);
    /* The key file must belong to the certificate the cluster publishes. */
    if (X509_check_private_key(out->cert, out->key) != 1) {
        ck_fail(err, CK_ESTATE, "%s: the CAPF key file %s does not match the CAPF certificate of the cluster", node,
                path);
        goto fail_nolist;
    }
    ck_cert_row *rows = NULL;
    size_t n = 0;
    if (ck_store_list_trust(c->store, &rows, &n, err) < 0)
        goto fail;
    if (n && !(out->mic_roots = calloc(n, sizeof *out->mic_roots))) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        X509 *x = NULL;
        if (strcmp(rows[i].unit, "CAPF-trust") != 0)
            continue;
        if (ck_load_pem_mem(rows[i].pem, strlen(rows[i].pem), &x, NULL, false, err) < 0)
            goto fail;
        out->mic_roots[out->n_mic_roots++] = x;
    }
    ck_cert_rows_free(rows, n);
    return 0;
fail:
    ck_cert_rows_free(rows, n);
fail_nolist:
    ck_capf_issuer_clear(out);
    ERR_clear_error();
    return -1;
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
