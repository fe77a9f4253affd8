/* What tls_srv.c (listeners, workers) and tls_conn.c (one connection)
 * share. Not for the services: tls_conn.h is. */
#ifndef CTLKITD_TLS_INTERNAL_H
#define CTLKITD_TLS_INTERNAL_H

#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "ctlkit/netaddr.h"
#include "source_counts.h"
#include "tls_conn.h"

typedef struct tls_worker {
    struct tls_srv *srv;
    int idx;
    pthread_t thread;
    bool started;
    struct event_base *base;
    int lfd;                 /* this worker's listening socket */
    struct event *accept_ev;
    struct event *resume_ev; /* re-enables accepting after EMFILE */
    int wake[2];             /* a byte here stops the worker */
    struct event *wake_ev;
    struct event *tick_ev;
    SSL_CTX *ctx;            /* this worker's reference to the context new connections get */
    unsigned ctx_gen;        /* which of tls_srv's contexts it is */
    LIST_HEAD(tls_conn_list, tls_conn) conns; /* open connections, to close them on stop */
} tls_worker;

struct tls_srv {
    tls_srv_config cfg;      /* name, thread_name and listen point into the copies below;
                              * cfg.ctx is the current context, under ctx_lock */
    pthread_mutex_t ctx_lock;
    atomic_uint ctx_gen;     /* bumped by tls_srv_set_ctx: workers take the new context at their next accept */
    char name[32], thread_name[11];
    char address[CK_NETADDR_STRLEN];
    tls_worker *workers;
    int n_workers;
    int port;
    atomic_int conns;
    source_counts *sources;  /* connections per address, when cfg.max_per_source is set */
    atomic_ullong accepted, requests, handshake_failed;
    atomic_ullong refused_full, refused_source; /* closed at accept: max_conns open, max_per_source from the address */
    atomic_llong last_limit_log; /* rate limit for "too many connections" */
};

/* tls_srv.c: the context for a connection this worker accepts now. */
SSL_CTX *tls_worker_ctx(tls_worker *w);

/* tls_conn.c */
void tls_conn_accept(tls_worker *w, int fd, const struct sockaddr *sa, unsigned long long id);
void tls_conn_close_all(tls_worker *w);

#endif
