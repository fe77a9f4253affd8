/* The CAPF service of the publisher's node daemon (docs/capf.md, "The
 * service"): phones enrol their Locally Significant Certificates over TLS
 * (port CAPFPhonePort, 3804) with the publisher's CAPF certificate. Frames
 * go to the CAPF session of lib/cluster (capf_server.h), which decides
 * everything; this file says how long a frame is, greets (the server
 * speaks first), logs and counts, over the common TLS model (tls_conn.h).
 *
 * The model's worker threads are the off-loop mechanism: an LSC's RSA
 * signature, the store transaction that records it and a phone's slow key
 * generation hold up only the CAPF workers' connections, never TFTP or
 * the TVS. Each worker has its own cluster handle, reopened after its
 * database went away (cluster_handle.h). */
#ifndef CTLKITD_CAPF_SERVICE_H
#define CTLKITD_CAPF_SERVICE_H

#include "ctlkit/error.h"

typedef struct capf_config {
    const char *listen;          /* "ADDR:PORT"; port 0 picks one */
    const char *cluster_dir;     /* the cluster folder or a postgresql:// URL */
    const char *node_dir, *node; /* the publisher's node (and its folder across hosts) */
    const char *cert_key_pem;    /* the publisher's CAPF certificate and key */
    int tls_min;                 /* TLS1_*_VERSION: the cluster's TLSMinVersion */
    int workers;                 /* threads (2) */
    int max_conns;               /* connections at once (100) */
    int max_per_source;          /* connections at once from one address (0: no cap) */
    int timeout_ms;              /* for each next frame from the phone (120000: phones make keys slowly) */
    unsigned key_flags;          /* how the CAPF key file is checked (CK_KEY_*, as every service's) */
} capf_config;

void capf_config_init(capf_config *cfg);

typedef struct capf_service capf_service;

struct evbuffer;
capf_service *capf_service_new(const capf_config *cfg, ck_err *err);
int capf_service_start(capf_service *svc, ck_err *err);
int capf_service_port(const capf_service *svc);
void capf_service_stats(const capf_service *svc, char *buf, size_t len);
void capf_service_metrics(const capf_service *svc, struct evbuffer *out);
void capf_service_free(capf_service *svc);

/* On the publisher of `ctlkitd --cluster DIR --node NAME`: a CAPF service
 * on listen (default: the node's IP and CAPFPhonePort); *out stays NULL on
 * a subscriber and without a cluster (--capf there is an error).
 * timeout_ms 0: the default. */
int capf_for_node(const char *cluster_dir, const char *node_dir, const char *node, const char *listen, int timeout_ms,
                  int max_per_source,
                  unsigned key_flags, capf_service **out, ck_err *err);

#endif
