/* What the TVS service's files share. Not for the rest of the daemon
 * (tvs_service.h is). Listening, workers and connections are the common
 * TLS model's (tls_conn.h); the TVS adds its frames and its trust cache. */
#ifndef CTLKITD_TVS_INTERNAL_H
#define CTLKITD_TVS_INTERNAL_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>

#include "ctlkit/fileio.h"
#include "tls_conn.h"
#include "tvs_service.h"

/* One worker's reference to the cache, on its own cache line: each worker
 * writes only its own, and only after a reload. */
typedef struct tvs_worker_cache {
    alignas(64) ck_trustcache *cache;
    unsigned gen;
} tvs_worker_cache;

struct tvs_service {
    tvs_config cfg;             /* deep copy */
    tls_srv *srv;               /* listening, workers, connections */
    tvs_worker_cache slots[TLS_SRV_MAX_WORKERS];

    pthread_mutex_t cache_mu;   /* guards cache; readers copy it once per generation */
    ck_trustcache *cache;
    atomic_uint cache_gen;

    atomic_ullong n_valid, n_invalid; /* VERIFY answers given (stats) */

    struct event *watch_ev;     /* CTL file watch, on the caller's base */
    ck_file_stamp ctl_stamp;
    ck_tc_report first_report;  /* of the cache built by _new, logged by _start */
    char ctl_warned[512];       /* the CTL problem last warned about ("" none) */
    uint64_t refused_warned;    /* hash of the refusals last warned about (0 none) */
    struct phone_track *track;  /* set before the workers start, or NULL */
};

/* tvs_tls.c */
SSL_CTX *tvs_tls_ctx_new(const tvs_config *cfg, ck_err *err);

/* tvs_conn.c: the TVS's frames for the TLS model */
extern const tls_srv_ops tvs_conn_ops;

/* tvs_service.c: the cache worker should answer from now (no locks unless
 * the generation changed since its last request). */
const ck_trustcache *tvs_worker_cache_get(tvs_service *svc, int worker);

#endif
