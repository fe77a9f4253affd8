/* ctlkit-web: the dashboard's shared state. One event loop, one thread;
 * only a rehearsal (rehearsal.h) and the logins' password checks
 * (login.h) run on worker threads. */
#ifndef CTLKIT_WEB_H
#define CTLKIT_WEB_H

#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "ctlkit/cluster.h"
#include "ctlkit/provider_guard.h"
#include "http_limits.h"
#include "sessions.h"

struct web_rh_job;
struct web_login;

typedef struct web {
    ck_cluster *c;
    ck_cluster_where where;      /* how c was opened: a rehearsal opens its own handle */
    const char *node;            /* --node, or NULL */
    char users_dir[4096];        /* where the users file lives */
    struct {                     /* the users file as the sessions were last checked against it (routes.c) */
        bool known;
        dev_t dev;
        ino_t ino;
        off_t size;
        struct timespec mtim;
    } users_seen;
    struct event_base *base;
    struct evhttp *http;
    http_limits *limits;         /* --max-conns and --timeout; connections' close callbacks go through it */
    SSL_CTX *tls;
    web_sessions *sessions;
    ck_pv_guard *guard;          /* failed logins per source and user */
    struct web_rh_job *rh_job;   /* the rehearsal running on its thread (rehearsal.c), or NULL */
    int rh_pipe[2];              /* its "done" signal to the event loop */
    struct event *rh_done;
    struct web_login *login;     /* the password-check worker (login.c) */
} web;

/* Milliseconds of a monotonic clock. */
uint64_t web_now_ms(void);

/* Registers every route on w->http (routes.c). */
void web_routes(web *w);

#endif
