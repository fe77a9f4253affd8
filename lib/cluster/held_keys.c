/* Has a key this process holds in memory (ck_key_hold_start) been replaced
 * in the cluster since it was read? A daemon that left root cannot read the
 * new key file, so it must know to restart (docs/installing.md). */
#include <limits.h>
#include <stdlib.h>

#include <openssl/x509.h>

#include "ctlkit/store.h"
#include "ctlkit/x509.h"
#include "internal.h"


int ck_cluster_hold_keys_here(ck_cluster *c, ck_err *err)
{
    ck_node *nodes = NULL;
    size_t n = 0;
    if (ck_store_list_nodes(ck_cluster_store(c), &nodes, &n, err) < 0)
        return -1;
    ck_key_hold_start();
    for (size_t i = 0; i < n; i++) {
        if (!ck_cluster_node_here(c, nodes[i].name))
            continue;
        for (size_t u = 0; u < CK_N_UNITS; u++) {
            char path[PATH_MAX];
            ck_cluster_key_path(c, nodes[i].name, ck_units[u], path, sizeof path);
            /* A key that cannot be read now (missing, refused) is not held:
             * what needs it later says so. */
            CK_IGNORE(ck_key_hold_load(path, 0, NULL));
        }
    }
    free(nodes);
    return 0;
}

int ck_cluster_held_key_changed(ck_cluster *c, const char *node, const char **unit, ck_err *err)
{
    *unit = NULL;
    if (!ck_key_holding())
        return 0;
    for (size_t i = 0; i < CK_N_UNITS; i++) {
        char path[PATH_MAX];
        ck_cluster_key_path(c, node, ck_units[i], path, sizeof path);
        EVP_PKEY *key = ck_key_held_unreadable(path);
        if (!key)
            continue; /* not held, or readable: its users read the file */
        X509 *cert = NULL;
        int rc = ck__load_unit(c, node, ck_units[i], &cert, NULL, err);
        bool same = rc == 0 && X509_check_private_key(cert, key) == 1;
        X509_free(cert);
        EVP_PKEY_free(key);
        if (rc < 0)
            return -1;
        if (!same) {
            *unit = ck_units[i];
            return 1;
        }
    }
    return 0;
}
