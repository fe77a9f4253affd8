/* Prometheus metrics over HTTP (metrics_service.h). */
#include "metrics_service.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <openssl/evp.h>

#include "ctlkit/cluster.h"
#include "log.h"
#include "log_limit.h"
#include "ctlkit/netaddr.h"
#include "service.h"

/* A scrape is one small GET: anything bigger is not Prometheus. */
#define MAX_HEADERS_BYTES 8192
/* Lines about refused connections a client can cause at will. */
#define REFUSED_LOG_PER_SEC 1

/* One open HTTP connection: its deadline, on the service's list. */
typedef struct metrics_conn {
    metrics_service *m;
    struct evhttp_connection *evcon;
    struct event *deadline;
    struct metrics_conn *prev, *next;
} metrics_conn;

struct metrics_service {
    int fd; /* until start hands it to the listener */
    char listen_text[CK_NETADDR_STRLEN];
    metrics_config cfg;
    struct evhttp *http;
    struct event_base *base;
    daemon_ctx *d;
    time_t last_reload; /* start, or the last SIGHUP */
    unsigned long long n_scrapes, n_other, n_refused, n_timed_out;
    /* Connections accepted since the loop last ran adopt_cb (see new_bev). */
    struct bufferevent **pending;
    size_t n_pending, cap_pending;
    struct event *adopt_ev;
    metrics_conn *conns; /* open connections, n_conns of them */
    int n_conns;
    struct log_limit refused_log;
};

metrics_service *metrics_service_new(const metrics_config *cfg, ck_err *err)
{
    ck_netaddr addr;
    if (ck_netaddr_parse_listen(cfg->listen, 9100, &addr, err) < 0) {
        ck_err_prefix(err, "--metrics");
        return NULL;
    }
    metrics_service *m = calloc(1, sizeof *m);
    if (!m) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        return NULL;
    }
    m->cfg = *cfg;
    if (m->cfg.max_conns <= 0)
        m->cfg.max_conns = METRICS_DEFAULT_MAX_CONNS;
    if (m->cfg.timeout_ms <= 0)
        m->cfg.timeout_ms = METRICS_DEFAULT_TIMEOUT_MS;
    m->refused_log = (struct log_limit)LOG_LIMIT_INIT(REFUSED_LOG_PER_SEC);
    m->fd = socket(addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(m->fd, (struct sockaddr *)&addr.ss, addr.len) < 0 || listen(m->fd, 16) < 0) {
        ck_fail(err, CK_EIO, "--metrics: cannot listen on %s: %s", cfg->listen, strerror(errno));
        metrics_service_free(m);
        return NULL;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(m->fd, (struct sockaddr *)&ss, &sl);
    ck_netaddr_format((struct sockaddr *)&ss, m->listen_text, sizeof m->listen_text);
    m->last_reload = time(NULL);
    return m;
}

/* ---- the connection bounds ----------------------------------------------
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

static void arm_deadline(metrics_conn *c)
{
    struct timeval tv = {c->m->cfg.timeout_ms / 1000, (c->m->cfg.timeout_ms % 1000) * 1000};
    event_add(c->deadline, &tv);
}

/* evhttp frees a connection (closed, timed out, refused an oversized
 * request, or the service stops): its count ends here. */
static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    metrics_conn *c = arg;
    metrics_service *m = c->m;
    if (c->prev)
        c->prev->next = c->next;
    else
        m->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    m->n_conns--;
    event_free(c->deadline);
    free(c);
}

/* The request did not arrive whole in time: the connection goes (its close
 * callback frees c, this event with it; libevent no longer touches a
 * non-persistent timer once its callback runs). */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    metrics_conn *c = arg;
    c->m->n_timed_out++;
    dlog(DLOG_INFO, "metrics: closing a connection that sent no whole request within %d ms (--metrics-timeout)",
         c->m->cfg.timeout_ms);
    evhttp_connection_free(c->evcon);
}

static void refuse(metrics_service *m, struct evhttp_connection *evcon)
{
    m->n_refused++;
    if (dlog_limit_ok(&m->refused_log, DLOG_WARNING, "metrics: %u more refused connections not logged"))
        dlog(DLOG_WARNING, "metrics: %d connections open: refusing a new one (--metrics-max-conns)",
             m->cfg.max_conns);
    evhttp_connection_free(evcon);
}

static void adopt(metrics_service *m, struct bufferevent *bev)
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
    if (m->n_conns >= m->cfg.max_conns) {
        refuse(m, evcon);
        return;
    }
    metrics_conn *c = calloc(1, sizeof *c);
    if (!c || !(c->deadline = evtimer_new(m->base, on_deadline, c))) {
        free(c);
        refuse(m, evcon); /* out of memory: it could not be bounded */
        return;
    }
    c->m = m;
    c->evcon = evcon;
    c->next = m->conns;
    if (m->conns)
        m->conns->prev = c;
    m->conns = c;
    m->n_conns++;
    evhttp_connection_set_closecb(evcon, on_conn_close, c);
    arm_deadline(c);
}

static void adopt_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    metrics_service *m = arg;
    for (size_t i = 0; i < m->n_pending; i++) {
        adopt(m, m->pending[i]);
        bufferevent_decref(m->pending[i]);
    }
    m->n_pending = 0;
}

/* evhttp's bufferevent callback: one per accepted connection (see above).
 * Without memory for the note, evhttp's own idle timeout still holds. */
static struct bufferevent *new_bev(struct event_base *base, void *arg)
{
    metrics_service *m = arg;
    struct bufferevent *bev = bufferevent_socket_new(base, -1, 0); /* evhttp closes the socket */
    if (!bev)
        return NULL;
    if (m->n_pending == m->cap_pending) {
        size_t cap = m->cap_pending ? 2 * m->cap_pending : 16;
        struct bufferevent **p = realloc(m->pending, cap * sizeof *p);
        if (!p)
            return bev;
        m->pending = p;
        m->cap_pending = cap;
    }
    bufferevent_incref(bev);
    m->pending[m->n_pending++] = bev;
    event_active(m->adopt_ev, EV_TIMEOUT, 0);
    return bev;
}

/* A request arrived whole: the next one has its own time, from now. */
static void request_arrived(metrics_service *m, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    for (metrics_conn *c = m->conns; c; c = c->next)
        if (c->evcon == evcon) {
            arm_deadline(c);
            return;
        }
}

/* Label values are file names here; escape what the format reserves. */
static void add_label_value(struct evbuffer *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            evbuffer_add_printf(out, "\\%c", *s);
        else if (*s == '\n')
            evbuffer_add(out, "\\n", 2);
        else
            evbuffer_add(out, s, 1);
    }
}

/* One info series per trust file TFTP serves: its MD5 (what a phone's
 * screen shows) and, in a cluster, the store's publish version. */
static void add_trust_files(metrics_service *m, struct evbuffer *out)
{
    static const char *const names[] = {CK_CTL_NAME, CK_ITL_NAME};
    evbuffer_add_printf(out, "# HELP ctlkit_trust_file_info A trust file served over TFTP, by MD5 and publish "
                             "version.\n# TYPE ctlkit_trust_file_info gauge\n");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const uint8_t *data;
        size_t len;
        if (!m->d->tftp_svc || !tftp_service_file(m->d->tftp_svc, names[i], &data, &len))
            continue;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        char hex[2 * EVP_MAX_MD_SIZE + 1] = "";
        if (EVP_Digest(data, len, md, &mdlen, EVP_md5(), NULL))
            for (unsigned k = 0; k < mdlen; k++)
                snprintf(hex + 2 * k, 3, "%02x", md[k]);
        evbuffer_add_printf(out, "ctlkit_trust_file_info{file=\"");
        add_label_value(out, names[i]);
        evbuffer_add_printf(out, "\",md5=\"%s\"", hex);
        long long version = m->d->cluster ? cluster_node_file_version(m->d->cluster, names[i]) : -1;
        if (version >= 0)
            evbuffer_add_printf(out, ",version=\"%lld\"", version);
        evbuffer_add_printf(out, "} 1\n");
    }
}

static void on_request(struct evhttp_request *req, void *arg)
{
    metrics_service *m = arg;
    request_arrived(m, req);
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET || !path || strcmp(path, "/metrics") != 0) {
        m->n_other++;
        evhttp_send_error(req, HTTP_NOTFOUND, "only GET /metrics is served here");
        return;
    }
    m->n_scrapes++;
    struct evbuffer *out = evbuffer_new();
    if (!out) {
        evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
        return;
    }
    for (unsigned i = 0; i < daemon_n_services; i++)
        if (m->d->svcs[i] && daemon_services[i]->metrics)
            daemon_services[i]->metrics(m->d->svcs[i], out);
    add_trust_files(m, out);
    time_t last = m->last_reload;
    if (m->d->cluster && cluster_node_last_reload(m->d->cluster) > last)
        last = cluster_node_last_reload(m->d->cluster);
    evbuffer_add_printf(out,
                        "# HELP ctlkit_last_reload_timestamp_seconds When the daemon last reloaded its trust "
                        "lists and caches (start, SIGHUP or a cluster change).\n"
                        "# TYPE ctlkit_last_reload_timestamp_seconds gauge\n"
                        "ctlkit_last_reload_timestamp_seconds %lld\n",
                        (long long)last);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    evhttp_send_reply(req, HTTP_OK, "OK", out);
    evbuffer_free(out);
}

int metrics_service_start(metrics_service *m, struct event_base *base, daemon_ctx *d, ck_err *err)
{
    m->d = d;
    m->base = base;
    if (!(m->adopt_ev = event_new(base, -1, 0, adopt_cb, m)) || !(m->http = evhttp_new(base)))
        return ck_fail(err, CK_ENOMEM, "out of memory");
    evhttp_set_max_headers_size(m->http, MAX_HEADERS_BYTES);
    evhttp_set_max_body_size(m->http, 0);
    /* evhttp's own timeout (idle, per read or write) bounds writing an
     * answer to a client that does not read it; a second later than the
     * deadline, so that a silent client meets the deadline, which counts. */
    evhttp_set_timeout(m->http, (m->cfg.timeout_ms + 999) / 1000 + 1);
    evhttp_set_bevcb(m->http, new_bev, m);
    evhttp_set_allowed_methods(m->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(m->http, on_request, m);
    struct evconnlistener *l = evconnlistener_new(base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE, -1, m->fd);
    if (!l || !evhttp_bind_listener(m->http, l)) {
        if (l)
            evconnlistener_free(l);
        else
            close(m->fd);
        m->fd = -1;
        return ck_fail(err, CK_EIO, "--metrics: cannot accept on %s", m->listen_text);
    }
    m->fd = -1; /* the listener owns it now */
    dlog(DLOG_NOTICE, "metrics: serving Prometheus metrics on http://%s/metrics (up to %d connections, %d s each)",
         m->listen_text, m->cfg.max_conns, (m->cfg.timeout_ms + 999) / 1000);
    return 0;
}

void metrics_service_reloaded(metrics_service *m) { m->last_reload = time(NULL); }

void metrics_service_stats(const metrics_service *m, char *buf, size_t len)
{
    snprintf(buf, len, "%llu scrapes, %llu other requests, %d connections open, %llu refused, %llu timed out",
             m->n_scrapes, m->n_other, m->n_conns, m->n_refused, m->n_timed_out);
}

void metrics_service_metrics(const metrics_service *m, struct evbuffer *out)
{
    evbuffer_add_printf(out,
                        "# HELP ctlkit_metrics_connections_active Metrics (HTTP) connections open.\n"
                        "# TYPE ctlkit_metrics_connections_active gauge\n"
                        "ctlkit_metrics_connections_active %d\n"
                        "# HELP ctlkit_metrics_connections_refused_total Metrics connections closed at once because "
                        "--metrics-max-conns were open.\n"
                        "# TYPE ctlkit_metrics_connections_refused_total counter\n"
                        "ctlkit_metrics_connections_refused_total %llu\n"
                        "# HELP ctlkit_metrics_connections_timed_out_total Metrics connections closed because no "
                        "whole request came within --metrics-timeout.\n"
                        "# TYPE ctlkit_metrics_connections_timed_out_total counter\n"
                        "ctlkit_metrics_connections_timed_out_total %llu\n",
                        m->n_conns, m->n_refused, m->n_timed_out);
}

void metrics_service_free(metrics_service *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_pending; i++)
        bufferevent_decref(m->pending[i]); /* evhttp still holds its own reference */
    free(m->pending);
    if (m->http)
        evhttp_free(m->http); /* frees the bound listener and its socket, and every connection (on_conn_close) */
    if (m->adopt_ev)
        event_free(m->adopt_ev);
    if (m->fd >= 0)
        close(m->fd);
    free(m);
}

/* The row of ctlkitd's service table (service.h). */

static int metrics_new(daemon_ctx *d, void **out, ck_err *err)
{
    if (!d->metrics.listen)
        return 0;
    *out = metrics_service_new(&d->metrics, err);
    return *out ? 0 : -1;
}

static int metrics_start(void *svc, daemon_ctx *d, ck_err *err) { return metrics_service_start(svc, d->base, d, err); }

static void metrics_reload(void *svc, daemon_ctx *d)
{
    (void)d;
    metrics_service_reloaded(svc);
}

static void metrics_stats(void *svc, char *buf, size_t len) { metrics_service_stats(svc, buf, len); }

static void metrics_free(void *svc) { metrics_service_free(svc); }

static void metrics_self(void *svc, struct evbuffer *out) { metrics_service_metrics(svc, out); }

const daemon_service metrics_service_row = {"metrics",     metrics_new,  metrics_start, metrics_reload,
                                           metrics_stats, metrics_free, metrics_self};
