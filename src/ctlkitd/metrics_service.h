/* ctlkitd --metrics ADDR:PORT: Prometheus text exposition over HTTP on the
 * daemon's loop (libevent's evhttp). GET /metrics answers with what each
 * service row's metrics hook writes, plus the served trust files and the
 * last reload; any other path is 404, any other method refused. Requests
 * are bounded (header size, no body), and so are connections, as the TCP
 * services bound theirs (tls_conn.h): at most max_conns open (one more is
 * accepted and closed at once, and counted), and each request must have
 * arrived whole within timeout_ms of accept or of the previous answer (an
 * absolute deadline: a client trickling bytes is cut off as surely as a
 * silent one). The answer is built from counters only: no lock is taken
 * on TFTP's or TVS's paths. */
#ifndef CTLKITD_METRICS_SERVICE_H
#define CTLKITD_METRICS_SERVICE_H

#include <stddef.h>

#include "ctlkit/error.h"

struct event_base;
struct evbuffer;
struct daemon_ctx;
typedef struct metrics_service metrics_service;

#define METRICS_DEFAULT_MAX_CONNS 16
#define METRICS_DEFAULT_TIMEOUT_MS 10000

typedef struct metrics_config {
    const char *listen; /* --metrics ADDR:PORT, or NULL: no metrics service */
    int max_conns;      /* --metrics-max-conns: connections at once (0: METRICS_DEFAULT_MAX_CONNS) */
    int timeout_ms;     /* --metrics-timeout: from accept or an answer to the end of the next
                           request (0: METRICS_DEFAULT_TIMEOUT_MS) */
} metrics_config;

/* Binds cfg->listen ("ADDR:PORT"), so that errors show before detaching. */
metrics_service *metrics_service_new(const metrics_config *cfg, ck_err *err);
/* Serves on base; d gives the services to ask (it outlives the service). */
int metrics_service_start(metrics_service *m, struct event_base *base, struct daemon_ctx *d, ck_err *err);
/* SIGHUP: the daemon reloaded (ctlkit_last_reload_timestamp_seconds). */
void metrics_service_reloaded(metrics_service *m);
void metrics_service_stats(const metrics_service *m, char *buf, size_t len);
/* Its own families: connections open, refused over the cap, timed out. */
void metrics_service_metrics(const metrics_service *m, struct evbuffer *out);
void metrics_service_free(metrics_service *m);

#endif
