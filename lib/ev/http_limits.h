/* Connection bounds for an evhttp server: at most max_conns connections
 * open, and max_per_source from one address (more are closed at once,
 * unanswered), and a deadline for each
 * request to arrive whole (absolute, from the accept or the end of the
 * previous answer; evhttp's own timeout is per read). libevent 2.1's evhttp
 * has neither. Used by ctlkitd's metrics service and ctlkit-web. */
#ifndef CTLKIT_HTTP_LIMITS_H
#define CTLKIT_HTTP_LIMITS_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

typedef struct http_limits http_limits;

typedef struct http_limits_config {
    int max_conns;  /* > 0 */
    /* At most this many of them from one peer address (0: no such bound),
     * so that one client holding connections open cannot keep every other
     * out. */
    int max_per_source;
    int timeout_ms; /* > 0 */
    /* The program's bufferevent for a new connection (plain socket, or
     * OpenSSL): what it would give evhttp_set_bevcb. */
    struct bufferevent *(*new_bev)(struct event_base *base, void *arg);
    void *bev_arg;
    /* For the program's log, on the loop; either may be NULL. */
    void (*refused)(void *arg, int max_conns);
    void (*timed_out)(void *arg, int timeout_ms);
    void (*refused_source)(void *arg, const char *addr, int max_per_source);
    void *log_arg;
} http_limits_config;

/* Takes over http's bufferevent callback (evhttp_set_bevcb). NULL when out
 * of memory. */
http_limits *http_limits_new(struct evhttp *http, struct event_base *base, const http_limits_config *cfg);

/* Call first thing in every request callback: the request has arrived
 * whole, so its deadline stops until the answer is sent (a reply that a
 * worker thread prepares is not cut short); the next request then gets
 * its own. */
void http_limits_request(http_limits *l, struct evhttp_request *req);

/* evhttp keeps one close callback per connection and the bounds use it:
 * a program that wants to know when a connection closes asks here (cb NULL
 * forgets it). Connections that are not bounded get evhttp's own. */
void http_limits_set_closecb(http_limits *l, struct evhttp_connection *evcon,
                             void (*cb)(struct evhttp_connection *, void *), void *arg);

int http_limits_open(const http_limits *l);
unsigned long long http_limits_refused(const http_limits *l);
unsigned long long http_limits_timed_out(const http_limits *l);

/* After evhttp_free, or just before it with no turn of the loop between
 * (evhttp's bufferevent callback still names l): connections still open
 * lose their deadline and get back the program's close callback. */
void http_limits_free(http_limits *l);

#endif
