/* Connection bounds for an evhttp server (http_limits.h).
 *
 * evhttp (libevent 2.1) accepts by itself and tells nobody: there is no
 * hook at accept that names the connection. What it does call is the
 * bufferevent callback (new_bev), just before it makes the connection
 * around that bufferevent and sets the bufferevent's callbacks with the
 * connection as their argument. So new_bev notes the bufferevent (holding a
 * reference, so that it cannot vanish meanwhile) and wakes adopt_cb, which
 * runs on the same loop before any byte of that connection is read: it
 * finds the connection through the callbacks' argument (checked against
 * evhttp_connection_get_bufferevent), then refuses it (over the cap) or
 * gives it its deadline and a close callback that ends its count. */
#include "http_limits.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source_counts.h"

/* One open connection: its deadline, on the list of open ones. */
typedef struct limited_conn {
    http_limits *l;
    struct evhttp_connection *evcon;
    struct event *deadline;
    struct sockaddr_storage peer; /* counted in sources while open (family 0: not counted) */
    void (*closecb)(struct evhttp_connection *, void *); /* the program's (http_limits_set_closecb) */
    void *closecb_arg;
    struct limited_conn *prev, *next;
} limited_conn;

struct http_limits {
    http_limits_config cfg;
    struct event_base *base;
    /* Connections accepted since the loop last ran adopt_cb (see new_bev). */
    struct bufferevent **pending;
    size_t n_pending, cap_pending;
    struct event *adopt_ev;
    limited_conn *conns; /* open connections, n_conns of them */
    source_counts *sources; /* open connections per address, when max_per_source is set */
    int n_conns;
    unsigned long long n_refused, n_timed_out;
};

static void arm_deadline(limited_conn *c)
{
    struct timeval tv = {c->l->cfg.timeout_ms / 1000, (c->l->cfg.timeout_ms % 1000) * 1000};
    event_add(c->deadline, &tv);
}

static void unlink_conn(limited_conn *c)
{
    http_limits *l = c->l;
    if (c->prev)
        c->prev->next = c->next;
    else
        l->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    l->n_conns--;
    if (l->sources && c->peer.ss_family)
        source_counts_release(l->sources, (struct sockaddr *)&c->peer);
    event_free(c->deadline);
    free(c);
}

/* evhttp frees a connection (closed, timed out, refused an oversized
 * request, or the server stops): its count ends here, after the program's
 * own close callback. */
static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
    limited_conn *c = arg;
    if (c->closecb)
        c->closecb(evcon, c->closecb_arg);
    unlink_conn(c);
}

/* The request did not arrive whole in time: the connection goes (its close
 * callback frees c, this event with it; libevent no longer touches a
 * non-persistent timer once its callback runs). */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    limited_conn *c = arg;
    http_limits *l = c->l;
    l->n_timed_out++;
    if (l->cfg.timed_out)
        l->cfg.timed_out(l->cfg.log_arg, l->cfg.timeout_ms);
    evhttp_connection_free(c->evcon);
}

static void refuse(http_limits *l, struct evhttp_connection *evcon, const char *from)
{
    l->n_refused++;
    if (from && l->cfg.refused_source)
        l->cfg.refused_source(l->cfg.log_arg, from, l->cfg.max_per_source);
    else if (!from && l->cfg.refused)
        l->cfg.refused(l->cfg.log_arg, l->cfg.max_conns);
    evhttp_connection_free(evcon);
}

/* The peer's address as evhttp noted it at the accept ("" if none). */
static void peer_of(struct evhttp_connection *evcon, char *out, size_t outsz)
{
    char *addr = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(evcon, &addr, &port);
    snprintf(out, outsz, "%s", addr ? addr : "");
}

static void adopt(http_limits *l, struct bufferevent *bev)
{
    bufferevent_data_cb rd, wr;
    bufferevent_event_cb ev;
    void *arg = NULL;
    bufferevent_getcb(bev, &rd, &wr, &ev, &arg);
    struct evhttp_connection *evcon = arg;
    /* Freed meanwhile (bufferevent_free clears the callbacks), or not what
     * this file expects of evhttp: leave it to evhttp's own timeout. */
    if (!evcon || evhttp_connection_get_bufferevent(evcon) != bev)
        return;
    if (l->n_conns >= l->cfg.max_conns) {
        refuse(l, evcon, NULL);
        return;
    }
    /* The peer as evhttp noted it at the accept (NULL: not counted). */
    const struct sockaddr *sa = evhttp_connection_get_addr(evcon);
    bool counted = l->sources && sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6);
    if (counted && !source_counts_take(l->sources, sa)) {
        char addr[64];
        peer_of(evcon, addr, sizeof addr);
        refuse(l, evcon, addr);
        return;
    }
    limited_conn *c = calloc(1, sizeof *c);
    if (!c || !(c->deadline = evtimer_new(l->base, on_deadline, c))) {
        free(c);
        if (counted)
            source_counts_release(l->sources, sa);
        refuse(l, evcon, NULL); /* out of memory: it could not be bounded */
        return;
    }
    if (counted)
        memcpy(&c->peer, sa, sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
    c->l = l;
    c->evcon = evcon;
    c->next = l->conns;
    if (l->conns)
        l->conns->prev = c;
    l->conns = c;
    l->n_conns++;
    evhttp_connection_set_closecb(evcon, on_conn_close, c);
    arm_deadline(c);
}

static void adopt_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    http_limits *l = arg;
    for (size_t i = 0; i < l->n_pending; i++) {
        adopt(l, l->pending[i]);
        bufferevent_decref(l->pending[i]);
    }
    l->n_pending = 0;
}

/* evhttp's bufferevent callback: one per accepted connection (see above).
 * Without memory for the note, evhttp's own idle timeout still holds. */
static struct bufferevent *new_bev(struct event_base *base, void *arg)
{
    http_limits *l = arg;
    struct bufferevent *bev = l->cfg.new_bev(base, l->cfg.bev_arg);
    if (!bev)
        return NULL;
    if (l->n_pending == l->cap_pending) {
        size_t cap = l->cap_pending ? 2 * l->cap_pending : 16;
        struct bufferevent **p = realloc(l->pending, cap * sizeof *p);
        if (!p)
            return bev;
        l->pending = p;
        l->cap_pending = cap;
    }
    bufferevent_incref(bev);
    l->pending[l->n_pending++] = bev;
    event_active(l->adopt_ev, EV_TIMEOUT, 0);
    return bev;
}

http_limits *http_limits_new(struct evhttp *http, struct event_base *base, const http_limits_config *cfg)
{
    http_limits *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->cfg = *cfg;
    l->base = base;
    if (cfg->max_per_source > 0 && !(l->sources = source_counts_new(cfg->max_per_source))) {
        free(l);
        return NULL;
    }
    if (!(l->adopt_ev = event_new(base, -1, 0, adopt_cb, l))) {
        source_counts_free(l->sources);
        free(l);
        return NULL;
    }
    evhttp_set_bevcb(http, new_bev, l);
    return l;
}

static limited_conn *find(http_limits *l, struct evhttp_connection *evcon)
{
    for (limited_conn *c = l->conns; c; c = c->next)
        if (c->evcon == evcon)
            return c;
    return NULL;
}

/* The answer is sent (evhttp_send_done): the next request's time starts. */
static void on_answered(struct evhttp_request *req, void *arg)
{
    (void)req;
    arm_deadline(arg);
}

void http_limits_request(http_limits *l, struct evhttp_request *req)
{
    limited_conn *c = find(l, evhttp_request_get_connection(req));
    if (!c)
        return;
    event_del(c->deadline);
    evhttp_request_set_on_complete_cb(req, on_answered, c);
}

void http_limits_set_closecb(http_limits *l, struct evhttp_connection *evcon,
                             void (*cb)(struct evhttp_connection *, void *), void *arg)
{
    limited_conn *c = find(l, evcon);
    if (!c) {
        evhttp_connection_set_closecb(evcon, cb, arg);
        return;
    }
    c->closecb = cb;
    c->closecb_arg = arg;
}

int http_limits_open(const http_limits *l) { return l->n_conns; }
unsigned long long http_limits_refused(const http_limits *l) { return l->n_refused; }
unsigned long long http_limits_timed_out(const http_limits *l) { return l->n_timed_out; }

void http_limits_free(http_limits *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n_pending; i++)
        bufferevent_decref(l->pending[i]); /* evhttp still holds its own reference */
    free(l->pending);
    /* Connections evhttp has not freed yet keep the program's callback. */
    while (l->conns) {
        limited_conn *c = l->conns;
        evhttp_connection_set_closecb(c->evcon, c->closecb, c->closecb_arg);
        unlink_conn(c);
    }
    event_free(l->adopt_ev);
    source_counts_free(l->sources);
    free(l);
}
