/* CUCM's recovery commands: re-signing the trust lists with the
 * ITLRecovery key when the CallManager key is lost or no longer trusted
 * (`utils ctl reset localkey`, `utils itl reset localkey|remotekey`), and
 * removing a stale CTL from one node (`file delete activelog
 * cm/tftpdata/CTLFile.tlv`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/params.h"
#include "internal.h"

/* Does node hold an ITLRecovery certificate (and so, on its host, the key)? */
static bool holds_recovery_key(ck_cluster *c, const char *node)
{
    ck_cert_row row;
    if (ck_store_get_cert(c->store, node, CK_UNIT_ITLRECOVERY, &row, NULL) < 0)
        return false;
    ck_cert_row_clear(&row);
    return true;
}

int ck_cluster_ctl_reset_localkey(ck_cluster *c, const char *node, ck_err *err)
{
    static const char command[] = "utils ctl reset localkey";
    if (ck__require_publisher(c, node, command, err) < 0)
        return -1;
    if (!holds_recovery_key(c, node))
        return ck_fail(err, CK_ENOTFOUND, "%s has no ITLRecovery certificate to sign the CTL with", node);
    if (ck__op_begin(c, err) < 0)
        return -1;
    /* Under the lock, as utils ctl update CTLFile: a switch to non-secure
     * mode committed meanwhile must not get a mixed-mode CTL over it. */
    if (!ck_cluster_security_mode(c)) {
        ck_fail(err, CK_ESTATE,
                "the cluster is in non-secure mode; there is no CTL to reset (utils ctl set-cluster mixed-mode)");
        return ck__op_end(c, false, NULL);
    }
    /* From here on the cluster signs with ITLRecovery, as CUCM 12.5 does:
     * the next `utils ctl update CTLFile` keeps the signer the phones now
     * trust, and the fleet checks expect it. The CallManager key is not
     * needed (it may be the lost one). */
    uint8_t *ctl = NULL;
    size_t len = 0;
    bool ok = ck_store_set_param(c->store, CK_PARAM_SIGNER, CK_UNIT_ITLRECOVERY, err) == 0 &&
              ck__build_ctl(c, true, &ctl, &len, err) == 0 && ck__publish_ctl_locked(c, ctl, len, err) == 0 &&
              ck__audit(c, err, node, "%s: CTL signed with the ITLRecovery key and published (%zu bytes), %s=%s",
                        command, len, CK_PARAM_SIGNER, CK_UNIT_ITLRECOVERY) == 0;
    free(ctl);
    return ck__op_end(c, ok, err);
}

int ck_cluster_itl_reset(ck_cluster *c, const char *node, const char *key_node, size_t *n_reset, char *skipped,
                         size_t skippedsz, ck_err *err)
{
    *n_reset = 0;
    if (skipped && skippedsz)
        skipped[0] = 0;
    const char *signer = key_node ? key_node : node;
    ck_node kn;
    if (ck_store_get_node(c->store, signer, &kn, err) < 0)
        return -1;
    if (!holds_recovery_key(c, kn.name)) {
        if (key_node)
            return ck_fail(err, CK_ENOTFOUND, "%s has no ITLRecovery certificate", kn.name);
        ck_node pub;
        if (ck_store_publisher(c->store, &pub, err) < 0)
            return -1;
        return ck_fail(err, CK_ENOTFOUND,
                       "%s has no ITLRecovery key; run utils itl reset remotekey %s (the node that holds it)", kn.name,
                       pub.name);
    }
    ck_node *nodes = NULL;
    size_t nn = 0;
    if (ck_store_list_nodes(c->store, &nodes, &nn, err) < 0)
        return -1;
    if (ck__op_begin(c, err) < 0) {
        free(nodes);
        return -1;
    }
    /* CUCM's bulk ITL reset: every TFTP node serves an ITL signed by the
     * ITLRecovery key until its TFTP service restarts and builds the usual
     * one again (which the phones then accept: it is signed by a
     * CallManager certificate the reset ITL listed). */
    bool ok = true;
    for (size_t i = 0; i < nn && ok; i++) {
        /* A subscriber that has not joined has no ITL to reset yet. */
        if (!ck__joined(c, nodes[i].name)) {
            if (skipped && skippedsz) {
                size_t used = strlen(skipped);
                snprintf(skipped + used, skippedsz - used, "%s%s", used ? ", " : "", nodes[i].name);
            }
            continue;
        }
        uint8_t *itl = NULL;
        size_t len = 0;
        ok = ck__build_itl_signed(c, nodes[i].name, kn.name, &itl, &len, err) == 0 &&
             ck_store_put_file(c->store, nodes[i].name, CK_ITL_NAME, itl, len, err) == 0 &&
             ck__publish_to_nodes(c, &nodes[i], 1, CK_ITL_NAME, itl, len, err) == 0;
        free(itl);
        if (ok)
            (*n_reset)++;
    }
    if (ok)
        ok = ck__audit(c, err, node, "utils itl reset %s: %zu ITL files signed with %s's ITLRecovery key",
                       key_node ? "remotekey" : "localkey", *n_reset, kn.name) == 0;
    free(nodes);
    return ck__op_end(c, ok, err);
}

const char *ck_cluster_activelog_tftp_name(const char *path)
{
    static const char prefix[] = "cm/tftpdata/";
    if (strncmp(path, prefix, sizeof prefix - 1) != 0)
        return NULL;
    const char *name = path + sizeof prefix - 1;
    return ck_cluster_tftp_name(name) == CK_REFUSAL_NONE ? name : NULL;
}
