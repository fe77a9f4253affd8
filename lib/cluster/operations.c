/* The admin operations of the seed: security mode, CTL update, ITL
 * rebuild, TFTP file deletion, parameters. Each runs under the cluster
 * lock and one store transaction; files are published to the nodes before
 * the transaction commits, and a failure anywhere leaves both the
 * database and every node's files as they were. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlkit/params.h"
#include "internal.h"

int ck__publish_ctl_locked(ck_cluster *c, const uint8_t *data, size_t len, ck_err *err)
{
    ck_node *nodes = NULL;
    size_t nn = 0;
    if (ck_store_list_nodes(c->store, &nodes, &nn, err) < 0)
        return -1;
    int rc = ck_store_put_file(c->store, "", CK_CTL_NAME, data, len, err);
    if (rc == 0)
        rc = ck__publish_to_nodes(c, nodes, nn, CK_CTL_NAME, data, len, err);
    free(nodes);
    return rc;
}

static int set_mode(ck_cluster *c, const char *node, bool mixed, const char *command, ck_err *err)
{
    if (ck__require_publisher(c, node, command, err) < 0)
        return -1;
    if (ck__op_begin(c, err) < 0)
        return -1;
    uint8_t *ctl = NULL;
    size_t len = 0;
    bool ok = ck_store_set_param(c->store, CK_PARAM_SECURITY_MODE, mixed ? "1" : "0", err) == 0 &&
              ck__build_ctl(c, mixed, &ctl, &len, err) == 0 && ck__publish_ctl_locked(c, ctl, len, err) == 0 &&
              ck__audit(c, err, node, "%s: ClusterSecurityMode=%d, CTL published (%zu bytes)", command, mixed, len) == 0;
    free(ctl);
    return ck__op_end(c, ok, err);
}

int ck_cluster_set_mixed_mode(ck_cluster *c, const char *node, ck_err *err)
{
    return set_mode(c, node, true, "utils ctl set-cluster mixed-mode", err);
}

int ck_cluster_set_nonsecure_mode(ck_cluster *c, const char *node, ck_err *err)
{
    return set_mode(c, node, false, "utils ctl set-cluster non-secure-mode", err);
}

int ck_cluster_update_ctl(ck_cluster *c, const char *node, ck_err *err)
{
    if (ck__require_publisher(c, node, "utils ctl update CTLFile", err) < 0)
        return -1;
    if (ck__op_begin(c, err) < 0)
        return -1;
    /* The mode is read under the lock: read before it, a switch to
     * non-secure mode that held the lock meanwhile would get a mixed-mode
     * CTL published over its own (tests/scenarios/ctl_update_race.test). */
    if (!ck_cluster_security_mode(c)) {
        ck_fail(err, CK_ESTATE,
                "the cluster is in non-secure mode; set mixed mode first with utils ctl set-cluster mixed-mode");
        return ck__op_end(c, false, NULL);
    }
    uint8_t *ctl = NULL;
    size_t len = 0;
    bool ok = ck__build_ctl(c, true, &ctl, &len, err) == 0 && ck__publish_ctl_locked(c, ctl, len, err) == 0 &&
              ck__audit(c, err, node, "utils ctl update CTLFile: tokenless CTL published (%zu bytes)", len) == 0;
    free(ctl);
    return ck__op_end(c, ok, err);
}

/* Rebuilds node's ITL inside an open operation. */
int ck__rebuild_itl_locked(ck_cluster *c, const char *node, ck_err *err)
{
    ck_node n;
    uint8_t *itl = NULL;
    size_t len = 0;
    if (ck_store_get_node(c->store, node, &n, err) < 0 || ck__build_itl(c, node, &itl, &len, err) < 0)
        return -1;
    int rc = ck_store_put_file(c->store, node, CK_ITL_NAME, itl, len, err);
    if (rc == 0)
        rc = ck__publish_to_nodes(c, &n, 1, CK_ITL_NAME, itl, len, err);
    free(itl);
    return rc;
}

int ck_cluster_rebuild_itl(ck_cluster *c, const char *node, ck_err *err)
{
    if (ck__op_begin(c, err) < 0)
        return -1;
    bool ok = ck__rebuild_itl_locked(c, node, err) == 0 && ck__audit(c, err, node, "ITL rebuilt") == 0;
    return ck__op_end(c, ok, err);
}

int ck_cluster_try_rebuild_itl(ck_cluster *c, const char *node, bool *busy, ck_err *err)
{
    *busy = false;
    int rc = ck__op_try_begin(c, err);
    if (rc != 0) {
        *busy = rc == 1;
        return rc == 1 ? 0 : -1;
    }
    bool ok = ck__rebuild_itl_locked(c, node, err) == 0 && ck__audit(c, err, node, "ITL rebuilt") == 0;
    return ck__op_end(c, ok, err);
}

int ck_cluster_delete_tftp_file(ck_cluster *c, const char *node, const char *name, int *found, int *deleted,
                                ck_err *err)
{
    *found = *deleted = 0;
    if (ck_cluster_tftp_name(name) != CK_REFUSAL_NONE)
        return ck_fail(err, CK_EINVAL, "'%s' is not a file name in the TFTP directory", name);
    ck_node n;
    if (ck_store_get_node(c->store, node, &n, err) < 0 || ck__require_here(c, node, "file delete tftp", err) < 0)
        return -1;
    char path[PATH_MAX];
    ck_cluster_node_path(c, node, "tftp", name, path, sizeof path);
    if (ck__op_begin(c, err) < 0)
        return -1;
    bool ok = true;
    if (access(path, F_OK) == 0) {
        *found = 1;
        if (unlink(path) < 0) {
            ck_fail(err, CK_EIO, "%s: %s", path, strerror(errno));
            ok = false;
        } else {
            *deleted = 1;
            /* The publisher's copy is the cluster's: without it there is no
             * published CTL (scenario 3 relies on this). */
            if (n.publisher && strcmp(name, CK_CTL_NAME) == 0)
                ok = ck_store_delete_file(c->store, "", CK_CTL_NAME, err) == 0;
            /* Elsewhere the row stays: remember the deletion so that the
             * node's folder keeps matching the database's wish (no file
             * here until the next publish of it). */
            else if (strcmp(name, CK_CTL_NAME) == 0 || strcmp(name, CK_ITL_NAME) == 0)
                ok = ck__mark_deleted(c, node, name, err) == 0;
        }
    }
    if (ok)
        ok = ck__audit(c, err, node, "file delete tftp %s: found=%d deleted=%d", name, *found, *deleted) == 0;
    return ck__op_end(c, ok, err);
}

int ck_cluster_set_param(ck_cluster *c, const char *node, const char *name, const char *value, ck_err *err)
{
    const ck_param_def *def = ck_param_find(name);
    char canon[128];
    if (!def)
        return ck_fail(err, CK_ENOTFOUND, "no enterprise parameter named '%s' (show params lists them)", name);
    if (!def->admin_settable)
        return ck_fail(err, CK_EDENIED, "%s is changed by its own command (utils ctl set-cluster ...), not set param",
                       def->name);
    if (ck_param_check(def, value, canon, sizeof canon, err) < 0)
        return -1;
    if (ck__op_begin(c, err) < 0)
        return -1;
    bool ok = ck_store_set_param(c->store, def->name, canon, err) == 0 &&
              ck__audit(c, err, node, "set param %s %s", def->name, canon) == 0;
    return ck__op_end(c, ok, err);
}
