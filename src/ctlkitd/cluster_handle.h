/* A service worker's cluster handle that survives its database going away
 * (a PostgreSQL restart): the CTL Provider's and each CAPF worker's.
 * cluster_handle_get probes a database handle with one cheap query
 * (ck_store_change_counter); when the connection died it closes the
 * handle, tries to reopen at once (the server may be back already), then
 * with back-off (backoff.h: 1 s doubling up to 30 s), logging the outage,
 * each failed try and the return under the service's label. A cluster
 * folder never goes away and is not probed. Not thread-safe: one worker
 * owns each handle. */
#ifndef CTLKITD_CLUSTER_HANDLE_H
#define CTLKITD_CLUSTER_HANDLE_H

#include <stdbool.h>

#include "backoff.h"
#include "ctlkit/cluster.h"
#include "ctlkit/error.h"

typedef struct cluster_handle {
    ck_cluster *cluster;    /* NULL until opened, and while the database is unreachable */
    ck_cluster_where where; /* where to open it; the strings are the service's, which outlive the handle */
    const char *who;        /* the opener's name for the store ("ctl-provider", "capf") */
    const char *label;      /* the service in log lines ("CTL Provider", "CAPF") */
    backoff reconnect;
    bool lost;              /* the database went away or could not be opened: its return is logged */
} cluster_handle;

/* Nothing opened yet: the first cluster_handle_get (or cluster_handle_open) opens. */
void cluster_handle_init(cluster_handle *h, const char *label, const char *who, const char *address,
                         const char *node_dir, const char *node);
/* Opens now, reporting a failure in err (a service's start, where the
 * error reaches the terminal). */
int cluster_handle_open(cluster_handle *h, ck_err *err);
/* The usable handle for the next request: the open one when its database
 * answers, else reopened when the back-off allows; NULL (logged) while the
 * database stays unreachable. */
ck_cluster *cluster_handle_get(cluster_handle *h);
/* The handle as it is, without a probe or a reconnect (NULL while
 * unreachable): for work that may fail quietly, and for a request's later
 * steps after cluster_handle_get. */
static inline ck_cluster *cluster_handle_peek(const cluster_handle *h) { return h->cluster; }
void cluster_handle_close(cluster_handle *h);

#endif
