/* ctlkitd as a table of services. Each row adapts one service (TFTP, TVS,
 * the cluster-node watcher, the CTL Provider) to one life cycle that main
 * walks: new (load and bind, before detaching, so that errors reach the
 * terminal), start (after any fork, on the daemon's loop), reload (SIGHUP),
 * stats (SIGUSR1: one line of counters), free (in reverse order), metrics
 * (GET /metrics: Prometheus families). Each service's file exports its row
 * (declared below); services.c lists them. A new service is its file plus
 * one row in services.c (a TCP service: tls_conn.h). */
#ifndef CTLKITD_SERVICE_H
#define CTLKITD_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "cluster_node.h"
#include "ctlkit/error.h"
#include "metrics_service.h"
#include "tftp_service.h"
#include "tvs_service.h"

struct event_base;
struct evbuffer;

/* What the services share: the settings main parsed (and the cluster
 * filled in), the loop, and the services that others wire to. */
typedef struct daemon_ctx {
    struct event_base *base;
    const char *cluster_dir, *node; /* both or neither (cluster_dir: a folder or a postgresql:// URL) */
    const char *node_dir;           /* --dir: this host's node folder (required with a URL) */
    struct tftp_config tftp;
    tvs_config tvs;
    const char *provider_listen;
    const char *capf_listen;      /* --capf ADDR:PORT, or NULL: the node's IP and CAPFPhonePort */
    int capf_timeout_ms;          /* --capf-timeout; 0: CAPF's default */
    int max_per_source;           /* --max-conns-per-source: TVS and CAPF connections per address (0: no cap) */
    metrics_config metrics;       /* --metrics ADDR:PORT (listen NULL: off), its bounds */
    bool track_phones_off;        /* --track-phones off */
    struct phone_track *track;    /* set once the phone-tracking row made it */
    unsigned provider_backoff_ms; /* 0: the provider's default */
    cluster_node *cluster;        /* set with --cluster */
    struct tvs_service *tvs_svc;  /* set once the TVS row made it */
    struct tftp_service *tftp_svc; /* set once the TFTP row made it */
    void *const *svcs;            /* the table's services, for the metrics (NULL: not running) */
    char tvs_off[256];            /* why the TVS stayed off while TFTP serves ("" when it runs) */
} daemon_ctx;

typedef struct daemon_service {
    const char *name;
    /* *out stays NULL when the service does not run on this daemon. */
    int (*new_)(daemon_ctx *d, void **out, ck_err *err);
    int (*start)(void *svc, daemon_ctx *d, ck_err *err);
    void (*reload)(void *svc, daemon_ctx *d);
    /* One line of counters, e.g. "2 transfers active, 40 started"; NULL
     * for a service that counts nothing. */
    void (*stats)(void *svc, char *buf, size_t len);
    void (*free_)(void *svc);
    /* Appends the service's metric families (Prometheus text: HELP, TYPE,
     * samples) on the loop's thread; NULL for none. Reads counters only. */
    void (*metrics)(void *svc, struct evbuffer *out);
} daemon_service;

/* The rows, each defined in its service's file. */
extern const daemon_service phone_track_service_row, tftp_service_row, tvs_service_row, cluster_service_row,
    provider_service_row, capf_service_row, metrics_service_row;

extern const daemon_service *const daemon_services[];
extern const unsigned daemon_n_services;

#endif
