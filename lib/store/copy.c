/* ck_store_copy: one store's rows into another through the public
 * interface only, so that it works from either backend to either (a
 * rehearsal copies a PostgreSQL cluster into a throw-away SQLite file). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/store.h"
#include "ctlkit/trustlist.h"

/* The CTL is the cluster's (node ""); each node has its ITL. */

typedef struct param_copy {
    ck_store *dst;
    ck_err *err;
    int rc;
} param_copy;

static int copy_param(void *ctx, int ncols, const char *const *names, const char *const *values)
{
    param_copy *pc = ctx;
    (void)names;
    if (!values || ncols != 2 || pc->rc < 0)
        return 0;
    if (values[0] && strcmp(values[0], CK_DEVICE_CHANGES_PARAM) == 0)
        return 0; /* counter values of the source store */
    if (ck_store_set_param(pc->dst, values[0], values[1] ? values[1] : "", pc->err) < 0) {
        pc->rc = -1;
        return 1;
    }
    return 0;
}

static int copy_file(ck_store *src, ck_store *dst, const char *node, const char *name, ck_err *err)
{
    ck_file_row f;
    ck_err gerr = {0};
    if (ck_store_get_file(src, node, name, &f, &gerr) < 0) {
        if (gerr.code == CK_ENOTFOUND)
            return 0;
        *err = gerr;
        return -1;
    }
    int rc = ck_store_put_file(dst, node, name, f.data, f.len, err);
    ck_file_row_clear(&f);
    return rc;
}

static int copy_rows(ck_store *src, ck_store *dst, ck_err *err)
{
    ck_node *nodes = NULL;
    ck_cert_row *certs = NULL, *trust = NULL;
    ck_device_row *devs = NULL;
    ck_phone_row *phones = NULL;
    size_t n_nodes = 0, n_certs = 0, n_trust = 0, n_devs = 0, n_phones = 0;
    int rc = -1;
    if (ck_store_list_nodes(src, &nodes, &n_nodes, err) < 0 || ck_store_list_certs(src, &certs, &n_certs, err) < 0 ||
        ck_store_list_trust(src, &trust, &n_trust, err) < 0 || ck_store_list_devices(src, &devs, &n_devs, err) < 0 ||
        ck_store_list_phones(src, &phones, &n_phones, err) < 0)
        goto out;
    for (size_t i = 0; i < n_nodes; i++)
        if (ck_store_add_node(dst, &nodes[i], err) < 0 ||
            (nodes[i].joined && ck_store_set_node_joined(dst, nodes[i].name, nodes[i].joined, err) < 0))
            goto out;
    for (size_t i = 0; i < n_certs; i++)
        if (ck_store_put_cert(dst, &certs[i], err) < 0)
            goto out;
    for (size_t i = 0; i < n_trust; i++)
        if (ck_store_add_trust(dst, &trust[i], err) < 0)
            goto out;
    /* Parameters have no list call: the read-only query reads the one
     * table both backends name alike. */
    param_copy pc = {dst, err, 0};
    if (ck_store_query_readonly(src, "SELECT paramname, paramvalue FROM processconfig", copy_param, &pc, NULL, err) < 0 ||
        pc.rc < 0)
        goto out;
    if (copy_file(src, dst, "", CK_CTL_NAME, err) < 0)
        goto out;
    for (size_t i = 0; i < n_nodes; i++)
        if (copy_file(src, dst, nodes[i].name, CK_ITL_NAME, err) < 0)
            goto out;
    for (size_t i = 0; i < n_devs; i++)
        if (ck_store_put_device(dst, &devs[i], err) < 0)
            goto out;
    rc = 0;
out:
    free(nodes);
    ck_cert_rows_free(certs, n_certs);
    ck_cert_rows_free(trust, n_trust);
    ck_device_rows_free(devs, n_devs);
    /* Phones merge in a transaction of their own (store.h): after the rest. */
    if (rc == 0 && n_phones && ck_store_merge_phones(dst, phones, n_phones, err) < 0)
        rc = -2;
    free(phones);
    return rc;
}

int ck_store_copy(ck_store *src, ck_store *dst, ck_err *err)
{
    if (ck_store_begin(dst, err) < 0)
        return -1;
    int rc = copy_rows(src, dst, err);
    if (rc == -1) {
        ck_store_rollback(dst);
        return -1;
    }
    if (rc == -2)
        return -1; /* the transaction is over; the phones failed on their own */
    return ck_store_commit(dst, err);
}
