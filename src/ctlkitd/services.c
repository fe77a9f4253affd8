/* The rows of ctlkitd's service table (service.h): thin adapters from each
 * service's own interface to the common life cycle. */
#include <stdio.h>

#include "service.h"

#include "metrics_service.h"
#include "phone_track.h"
#include "provider_service.h"

/* ---- phone tracking (a cluster node, unless --track-phones off) ---- */

static int track_new(daemon_ctx *d, void **out, ck_err *err)
{
    if (!d->cluster || d->track_phones_off)
        return 0;
    /* First in the table: TFTP and TVS wire themselves to it, and it is
     * freed after them (their threads write into it until then). */
    *out = d->track = phone_track_new(d->cluster_dir, d->node_dir, d->node, err);
    return *out ? 0 : -1;
}

static int track_start(void *svc, daemon_ctx *d, ck_err *err) { return phone_track_start(svc, d->base, err); }

static void track_reload(void *svc, daemon_ctx *d)
{
    (void)svc;
    (void)d;
}

static void track_stats(void *svc, char *buf, size_t len) { phone_track_stats(svc, buf, len); }

static void track_free(void *svc) { phone_track_free(svc); }

static void track_metrics(void *svc, struct evbuffer *out) { phone_track_metrics(svc, out); }

static const daemon_service track_row = {"phone tracking", track_new,  track_start,  track_reload,
                                         track_stats,      track_free, track_metrics};

/* ---- TFTP ---- */

static int tftp_new(daemon_ctx *d, void **out, ck_err *err)
{
    *out = d->tftp_svc = tftp_service_new(&d->tftp, err);
    if (*out && d->track)
        tftp_service_set_tracker(*out, d->track);
    return *out ? 0 : -1;
}

static int tftp_start(void *svc, daemon_ctx *d, ck_err *err) { return tftp_service_start(svc, d->base, err); }

static void tftp_reload(void *svc, daemon_ctx *d)
{
    (void)d;
    tftp_service_reload(svc);
}

static void tftp_stats(void *svc, char *buf, size_t len) { tftp_service_stats(svc, buf, len); }

static void tftp_free(void *svc) { tftp_service_free(svc); }

static void tftp_metrics(void *svc, struct evbuffer *out) { tftp_service_metrics(svc, out); }

static const daemon_service tftp_row = {"TFTP",    tftp_new,  tftp_start,  tftp_reload,
                                        tftp_stats, tftp_free, tftp_metrics};

/* ---- TVS ---- */

static int tvs_new(daemon_ctx *d, void **out, ck_err *err)
{
    if (!d->tvs.listen)
        return 0; /* no cluster and no --tvs */
    /* The cluster row supplies the trust cache (cluster_node_reload); the
     * TVS's own CTL watch stays off so that it never rebuilds without the
     * database's certificates. */
    if (d->cluster)
        d->tvs.watch_ms = 0;
    d->tvs_svc = tvs_service_new(&d->tvs, err);
    *out = d->tvs_svc;
    /* Before any worker starts: they read the pointer without a lock. */
    if (*out && d->track) {
        if (phone_track_set_workers(d->track, tvs_service_workers(d->tvs_svc), err) < 0)
            return -1;
        tvs_service_set_tracker(d->tvs_svc, d->track);
    }
    /* A TVS whose certificate and key cannot make a TLS context stays off;
     * TFTP serves anyway (phones without SBD, and the files, need no TVS).
     * A refused key mode or a port in use still stops the daemon. */
    if (!*out && (err->code == CK_ECRYPTO || err->code == CK_EFORMAT)) {
        snprintf(d->tvs_off, sizeof d->tvs_off, "%s", err->msg);
        fprintf(stderr, "ctlkitd: TVS not started, TFTP starts without it: %s\n", d->tvs_off);
        return 0;
    }
    return *out ? 0 : -1;
}

static int tvs_start(void *svc, daemon_ctx *d, ck_err *err) { return tvs_service_start(svc, d->base, err); }

static void tvs_reload(void *svc, daemon_ctx *d)
{
    /* With a cluster, the cluster row rebuilds the TVS's cache. */
    if (!d->cluster)
        tvs_service_reload(svc, "SIGHUP: reload requested", NULL);
}

static void tvs_stats(void *svc, char *buf, size_t len) { tvs_service_stats(svc, buf, len); }

static void tvs_free(void *svc) { tvs_service_free(svc); }

static void tvs_metrics(void *svc, struct evbuffer *out) { tvs_service_metrics(svc, out); }

static const daemon_service tvs_row = {"TVS", tvs_new, tvs_start, tvs_reload, tvs_stats, tvs_free, tvs_metrics};

/* ---- the cluster-node watcher (opened by main: it fills the settings) ---- */

static int cluster_new(daemon_ctx *d, void **out, ck_err *err)
{
    (void)err;
    *out = d->cluster;
    return 0;
}

static int cluster_start(void *svc, daemon_ctx *d, ck_err *err)
{
    return cluster_node_start(svc, d->base, d->tvs_svc, err);
}

static void cluster_reload(void *svc, daemon_ctx *d)
{
    (void)d;
    cluster_node_reload(svc, "SIGHUP: Recaching CTL and DB Certificate Caches");
}

static void cluster_free(void *svc) { cluster_node_free(svc); }

static void cluster_metrics(void *svc, struct evbuffer *out) { cluster_node_metrics(svc, out); }

static const daemon_service cluster_row = {"cluster node", cluster_new,  cluster_start,  cluster_reload, NULL,
                                           cluster_free,   cluster_metrics};

/* ---- CTL Provider (the publisher only) ---- */

static int provider_new(daemon_ctx *d, void **out, ck_err *err)
{
    provider_service *p = NULL;
    if (provider_for_node(d->cluster_dir, d->node_dir, d->node, d->provider_listen, &p, err) < 0)
        return -1;
    if (p && d->provider_backoff_ms)
        provider_service_set_backoff(p, d->provider_backoff_ms);
    *out = p;
    return 0;
}

static int provider_start(void *svc, daemon_ctx *d, ck_err *err)
{
    return provider_service_start(svc, d->base, err);
}

static void provider_reload(void *svc, daemon_ctx *d)
{
    (void)svc;
    (void)d; /* reads the cluster afresh on every request */
}

static void provider_stats(void *svc, char *buf, size_t len) { provider_service_stats(svc, buf, len); }

static void provider_free(void *svc) { provider_service_free(svc); }

static void provider_metrics(void *svc, struct evbuffer *out) { provider_service_metrics(svc, out); }

static const daemon_service provider_row = {"CTL Provider", provider_new,  provider_start,  provider_reload,
                                            provider_stats, provider_free, provider_metrics};

/* ---- Prometheus metrics (--metrics) ---- */

static int metrics_new(daemon_ctx *d, void **out, ck_err *err)
{
    if (!d->metrics_listen)
        return 0;
    *out = metrics_service_new(d->metrics_listen, err);
    return *out ? 0 : -1;
}

static int metrics_start(void *svc, daemon_ctx *d, ck_err *err) { return metrics_service_start(svc, d->base, d, err); }

static void metrics_reload(void *svc, daemon_ctx *d)
{
    (void)d;
    metrics_service_reloaded(svc);
}

static void metrics_stats(void *svc, char *buf, size_t len) { metrics_service_stats(svc, buf, len); }

static void metrics_free(void *svc) { metrics_service_free(svc); }

static const daemon_service metrics_row = {"metrics",     metrics_new,  metrics_start, metrics_reload,
                                           metrics_stats, metrics_free, NULL};

/* Started in this order, freed in the reverse one. */
const daemon_service *const daemon_services[] = {&track_row, &tftp_row, &tvs_row, &cluster_row,
                                                 &provider_row, &metrics_row};
const unsigned daemon_n_services = sizeof daemon_services / sizeof daemon_services[0];
