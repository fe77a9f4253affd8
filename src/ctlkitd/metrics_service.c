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
#include "http_limits.h"
#include "log.h"
#include "log_limit.h"
#include "ctlkit/netaddr.h"
#include "service.h"

/* A scrape is one small GET: anything bigger is not Prometheus. */
#define MAX_HEADERS_BYTES 8192
/* Lines about refused connections a client can cause at will. */
#define REFUSED_LOG_PER_SEC 1

struct metrics_service {
    int fd; /* until start hands it to the listener */
    char listen_text[CK_NETADDR_STRLEN];
    metrics_config cfg;
    struct evhttp *http;
    struct event_base *base;
    daemon_ctx *d;
    time_t last_reload; /* start, or the last SIGHUP */
    unsigned long long n_scrapes, n_other;
    http_limits *limits; /* --metrics-max-conns and --metrics-timeout */
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

/* ---- the connection bounds (lib/ev/http_limits.c): what they log ---- */

static void log_timed_out(void *arg, int timeout_ms)
{
    (void)arg;
    dlog(DLOG_INFO, "metrics: closing a connection that sent no whole request within %d ms (--metrics-timeout)",
         timeout_ms);
}

static void log_refused(void *arg, int max_conns)
{
    metrics_service *m = arg;
    if (dlog_limit_ok(&m->refused_log, DLOG_WARNING, "metrics: %u more refused connections not logged"))
        dlog(DLOG_WARNING, "metrics: %d connections open: refusing a new one (--metrics-max-conns)", max_conns);
}

/* A plain socket; evhttp closes it. */
static struct bufferevent *plain_bev(struct event_base *base, void *arg)
{
    (void)arg;
    return bufferevent_socket_new(base, -1, 0);
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
    http_limits_request(m->limits, req);
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
    if (!(m->http = evhttp_new(base)))
        return ck_fail(err, CK_ENOMEM, "out of memory");
    http_limits_config lc = {.max_conns = m->cfg.max_conns, .timeout_ms = m->cfg.timeout_ms,
                             .new_bev = plain_bev, .refused = log_refused, .timed_out = log_timed_out,
                             .log_arg = m};
    if (!(m->limits = http_limits_new(m->http, base, &lc)))
        return ck_fail(err, CK_ENOMEM, "out of memory");
    evhttp_set_max_headers_size(m->http, MAX_HEADERS_BYTES);
    evhttp_set_max_body_size(m->http, 0);
    /* evhttp's own timeout (idle, per read or write) bounds writing an
     * answer to a client that does not read it; a second later than the
     * deadline, so that a silent client meets the deadline, which counts. */
    evhttp_set_timeout(m->http, (m->cfg.timeout_ms + 999) / 1000 + 1);
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
             m->n_scrapes, m->n_other, m->limits ? http_limits_open(m->limits) : 0,
             m->limits ? http_limits_refused(m->limits) : 0, m->limits ? http_limits_timed_out(m->limits) : 0);
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
                        m->limits ? http_limits_open(m->limits) : 0, m->limits ? http_limits_refused(m->limits) : 0,
                        m->limits ? http_limits_timed_out(m->limits) : 0);
}

void metrics_service_free(metrics_service *m)
{
    if (!m)
        return;
    if (m->http)
        evhttp_free(m->http); /* frees the bound listener and its socket, and every connection */
    http_limits_free(m->limits);
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
