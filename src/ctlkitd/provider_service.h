/* The CTL Provider of the publisher's node daemon (docs/ctl-provider.md):
 * a TLS server (port 2444) where the CTL Client logs in with an admin's
 * credentials, reads the cluster's certificates and submits the CTL it
 * signed with USB eTokens. Frames go to ck_provider_handle (lib/cluster),
 * which decides everything; this file only says how long a frame is and
 * passes it on, over the common TLS model (tls_conn.h: bounded buffers,
 * deadlines, a connection limit).
 *
 * The model runs the provider on one worker thread of its own: a login's
 * PBKDF2, a SUBMIT's wait for cluster.lock, its store transaction and
 * publishing never stall the loop that TFTP shares. That worker owns the
 * cluster handle (reopened with back-off when its database went away) and
 * the failed-login guard (provider_guard.h), and writes the audit
 * summaries that come due. */
#ifndef CTLKITD_PROVIDER_SERVICE_H
#define CTLKITD_PROVIDER_SERVICE_H

#include <stddef.h>

#include "ctlkit/error.h"

struct event_base;

typedef struct provider_config {
    const char *listen;        /* "ADDR:PORT"; port 0 picks one */
    const char *cluster_dir;   /* the cluster folder (cluster.db, nodes/, provider-users), or a postgresql:// URL */
    const char *node_dir, *node; /* across hosts: the publisher's node folder on this host, and its name */
    const char *cert_key_pem;  /* the publisher's CallManager certificate and key, one PEM */
    int tls_min;               /* TLS1_*_VERSION: the cluster's TLSMinVersion (1.2 until set) */
    int max_conns;             /* connections at once (16) */
    int timeout_ms;            /* from accept or a response to the end of the next request (30000) */
} provider_config;

void provider_config_init(provider_config *cfg);

typedef struct provider_service provider_service;

/* Loads the TLS identity, checks the cluster folder and binds, so that
 * configuration errors show before the daemon detaches. */
provider_service *provider_service_new(const provider_config *cfg, ck_err *err);
/* Opens the cluster (after any fork) and starts accepting on base. */
int provider_service_start(provider_service *svc, struct event_base *base, ck_err *err);
int provider_service_port(const provider_service *svc);
/* One line of counters for SIGUSR1: connections, requests. */
void provider_service_stats(const provider_service *svc, char *buf, size_t len);
/* Prometheus families: requests by outcome, connections (the loop's thread). */
struct evbuffer;
void provider_service_metrics(const provider_service *svc, struct evbuffer *out);
/* The first back-off after repeated failed logins (doubling up to 5 min;
 * default 1000 ms). Before provider_service_start. */
void provider_service_set_backoff(provider_service *svc, unsigned first_ms);
/* Closes every connection and the listener. NULL ok. */
void provider_service_free(provider_service *svc);

/* For `ctlkitd --cluster DIR --node NAME [--provider ADDR:PORT]`: on the
 * publisher, a provider on listen (default: the node's IP and provider
 * port) with the node's CallManager certificate and key; *out stays NULL
 * on a subscriber, and without a cluster. --provider without a cluster,
 * or on a subscriber, is an error. */
int provider_for_node(const char *cluster_dir, const char *node_dir, const char *node, const char *listen,
                      provider_service **out, ck_err *err);

#endif
