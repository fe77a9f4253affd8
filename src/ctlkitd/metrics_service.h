/* ctlkitd --metrics ADDR:PORT: Prometheus text exposition over HTTP on the
 * daemon's loop (libevent's evhttp). GET /metrics answers with what each
 * service row's metrics hook writes, plus the served trust files and the
 * last reload; any other path is 404, any other method refused. Requests
 * are bounded (header size, no body, a timeout), and the answer is built
 * from counters only: no lock is taken on TFTP's or TVS's paths. */
#ifndef CTLKITD_METRICS_SERVICE_H
#define CTLKITD_METRICS_SERVICE_H

#include <stddef.h>

#include "ctlkit/error.h"

struct event_base;
struct daemon_ctx;
typedef struct metrics_service metrics_service;

/* Binds listen ("ADDR:PORT"), so that errors show before detaching. */
metrics_service *metrics_service_new(const char *listen, ck_err *err);
/* Serves on base; d gives the services to ask (it outlives the service). */
int metrics_service_start(metrics_service *m, struct event_base *base, struct daemon_ctx *d, ck_err *err);
/* SIGHUP: the daemon reloaded (ctlkit_last_reload_timestamp_seconds). */
void metrics_service_reloaded(metrics_service *m);
void metrics_service_stats(const metrics_service *m, char *buf, size_t len);
void metrics_service_free(metrics_service *m);

#endif
