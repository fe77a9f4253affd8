/* What the TVS service's files share: the service, its workers and
 * connections. Not for the rest of the daemon (tvs_service.h is). */
#ifndef CTLKITD_TVS_INTERNAL_H
#define CTLKITD_TVS_INTERNAL_H

#include <event2/event.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/queue.h>

#include "ctlkit/fileio.h"
#include "tvs_service.h"

typedef struct tvs_conn tvs_conn;

typedef struct tvs_worker {
    struct tvs_service *svc;
    int idx;
    pthread_t thread;
    bool started;
    struct event_base *base;
    int lfd;                    /* this worker's listening socket */
    struct event *accept_ev;
    struct event *resume_ev;    /* re-enables accepting after EMFILE */
    int wake[2];                /* a byte here stops the worker */
    struct event *wake_ev;
    ck_trustcache *cache;       /* this worker's reference ... */
    unsigned cache_gen;         /* ... and which generation it is */
    LIST_HEAD(tvs_conn_list, tvs_conn) conns; /* open connections, to close them on stop */
} tvs_worker;

struct tvs_service {
    tvs_config cfg;             /* deep copy */
    SSL_CTX *ctx;               /* one for all connections and workers */
    tvs_worker *workers;
    int n_workers;
    int port;

    pthread_mutex_t cache_mu;   /* guards cache; readers copy it once per generation */
    ck_trustcache *cache;
    atomic_uint cache_gen;

    atomic_int conns;           /* open connections over all workers */
    atomic_ullong next_conn_id; /* also: connections accepted so far */
    atomic_ullong n_valid, n_invalid; /* VERIFY answers given (stats) */
    atomic_ullong n_handshake_failed; /* connections closed before their TLS handshake ended */
    atomic_llong last_limit_log;/* rate limit for "too many connections" */

    struct event *watch_ev;     /* CTL file watch, on the caller's base */
    ck_file_stamp ctl_stamp;
    ck_tc_report first_report;  /* of the cache built by _new, logged by _start */
    char ctl_warned[512];       /* the CTL problem last warned about ("" none) */
    struct phone_track *track;  /* set before the workers start, or NULL */
};

/* tvs_tls.c */
SSL_CTX *tvs_tls_ctx_new(const tvs_config *cfg, ck_err *err);

/* tvs_conn.c */
void tvs_conn_accept(tvs_worker *w, int fd, const struct sockaddr *sa, socklen_t salen);
void tvs_conn_close_all(tvs_worker *w);

/* tvs_service.c: the cache a worker should answer from now (no locks unless
 * the generation changed since its last request). */
const ck_trustcache *tvs_worker_cache(tvs_worker *w);

#endif
