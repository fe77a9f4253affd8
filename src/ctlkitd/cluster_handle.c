/* Reopening a worker's cluster handle after its database went away; see
 * cluster_handle.h. */
#include "cluster_handle.h"

#include <string.h>

#include "ctlkit/store.h"
#include "log.h"

/* The longest wait between two tries to reach the cluster database again. */
#define RECONNECT_MAX_S 30

void cluster_handle_init(cluster_handle *h, const char *label, const char *who, const char *address,
                         const char *node_dir, const char *node)
{
    memset(h, 0, sizeof *h);
    /* Across hosts the node's folder names it; a cluster folder needs neither. */
    h->where = (ck_cluster_where){.address = address, .dir = node_dir, .node = node_dir ? node : NULL};
    h->who = who;
    h->label = label;
}

int cluster_handle_open(cluster_handle *h, ck_err *err)
{
    cluster_handle_close(h);
    if (ck_cluster_open_at(&h->where, h->who, &h->cluster, err) < 0) {
        h->cluster = NULL;
        return -1;
    }
    backoff_reset(&h->reconnect);
    h->lost = false;
    return 0;
}

ck_cluster *cluster_handle_get(cluster_handle *h)
{
    if (h->cluster && ck_cluster_is_url(h->cluster) && ck_store_change_counter(ck_cluster_store(h->cluster)) < 0) {
        dlog(DLOG_ERR, "%s: the cluster database %s is unreachable; reconnecting", h->label,
             ck_cluster_name(h->cluster));
        ck_cluster_close(h->cluster);
        h->cluster = NULL;
        backoff_reset(&h->reconnect); /* try once now: the server may be back already */
        h->lost = true;
    }
    if (h->cluster || !backoff_due(&h->reconnect))
        return h->cluster;
    ck_err err = {0};
    if (ck_cluster_open_at(&h->where, h->who, &h->cluster, &err) < 0) {
        h->cluster = NULL;
        backoff_failed(&h->reconnect, RECONNECT_MAX_S);
        dlog(DLOG_WARNING, "%s: the cluster database %s (next try in %u s): %s", h->label,
             h->lost ? "is still unreachable" : "cannot be opened", h->reconnect.wait_s, err.msg);
        h->lost = true;
        return NULL;
    }
    backoff_reset(&h->reconnect);
    /* A worker's first open (CAPF opens on its first session) is no return. */
    if (h->lost)
        dlog(DLOG_NOTICE, "%s: the cluster database %s is reachable again", h->label, ck_cluster_name(h->cluster));
    h->lost = false;
    return h->cluster;
}

void cluster_handle_close(cluster_handle *h)
{
    ck_cluster_close(h->cluster);
    h->cluster = NULL;
}
