/* The cluster-node watcher's row of ctlkitd's service table (service.h).
 * main opens the node itself (it fills in the settings the other rows read),
 * so "new" only hands it over. */
#include "service.h"


static int cluster_new(daemon_ctx *d, void **out, ck_err *err)
{
    (void)err;
    *out = d->cluster;
    return 0;
}

static int cluster_start(void *svc, daemon_ctx *d, ck_err *err)
{
    return cluster_node_start(svc, d->base, d->tvs_svc, d->tftp_svc, err);
}

static void cluster_reload(void *svc, daemon_ctx *d)
{
    (void)d;
    cluster_node_reload(svc, "SIGHUP: Recaching CTL and DB Certificate Caches");
}

static void cluster_free(void *svc) { cluster_node_free(svc); }

static void cluster_metrics(void *svc, struct evbuffer *out) { cluster_node_metrics(svc, out); }

const daemon_service cluster_service_row = {"cluster node", cluster_new,  cluster_start,  cluster_reload, NULL,
                                           cluster_free,   cluster_metrics};
