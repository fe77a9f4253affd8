/* CTL Provider: the CTL Client's requests over the common TLS model
 * (tls_conn.h) on one worker thread of its own; see provider_service.h. */
#include <errno.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "cluster_handle.h"
#include "ctlkit/cluster.h"
#include "ctlkit/provider.h"
#include "ctlkit/provider_ops.h"
#include "ctlkit/tls_policy.h"
#include "log.h"
#include "ctlkit/netaddr.h"
#include "provider_service.h"
#include "service.h"
#include "tls_conn.h"
#include "tls_server.h"

struct provider_service {
    provider_config cfg;
    char *cluster_dir;
    char *node_dir, *node;       /* NULL for a cluster folder */
    tls_srv *srv;
    unsigned backoff_ms;         /* the first login back-off (0: the guard's default) */
    /* The worker's only (the model runs one worker for this service):
     * the cluster handle, reopened with back-off when its database went
     * away, and the failed-login guard. */
    cluster_handle cluster;
    ck_pv_guard *guard;
    atomic_ullong n_ok, n_refused, n_error; /* answered requests by outcome (metrics) */
};

void provider_config_init(provider_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_conns = 16;
    cfg->timeout_ms = 30000;
    cfg->tls_min = TLS1_2_VERSION;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The answer while the database is unreachable: the request's response
 * with FAILED (nothing changed), or ERROR for a frame that is not one. */
static int answer_unreachable(const uint8_t *frame, size_t len, tls_reply *r)
{
    ck_pv_msg m;
    memset(&m, 0, sizeof m);
    uint8_t type;
    uint32_t body;
    if (ck_pv_header(frame, len, &type, &body, NULL) < 0 || (type & CK_PV_RESPONSE)) {
        m.type = CK_PV_ERROR;
        r->close_after = true;
    } else {
        m.type = (uint8_t)(CK_PV_RESPONSE | type);
    }
    m.status = CK_PV_FAILED;
    snprintf(m.message, sizeof m.message, "the cluster database is unreachable; nothing changed, try again later");
    uint8_t *resp = NULL;
    size_t resp_len = 0;
    ck_err err;
    if (ck_pv_build(&m, &resp, &resp_len, &err) < 0)
        return -1;
    ck_buf_bytes(r->out, resp, resp_len);
    free(resp);
    return 0;
}

/* A frame's length from its header. An unreadable header is a frame of its
 * own: the handler names the problem and closes. */
static tls_frame frame_len(tls_conn *c, const uint8_t *in, size_t len, size_t *flen)
{
    (void)c;
    if (len < CK_PV_HDR_LEN)
        return TLS_FRAME_MORE;
    uint8_t type;
    uint32_t body;
    if (ck_pv_header(in, CK_PV_HDR_LEN, &type, &body, NULL) < 0) {
        *flen = CK_PV_HDR_LEN;
        return TLS_FRAME_READY;
    }
    *flen = CK_PV_HDR_LEN + (size_t)body;
    return len >= *flen ? TLS_FRAME_READY : TLS_FRAME_MORE;
}

/* One request, on the provider's worker thread: a login's PBKDF2, a
 * SUBMIT's wait for cluster.lock, its store transaction and publishing
 * block only this service's connections. */
static int handle(tls_conn *c, const uint8_t *frame, size_t len, tls_reply *r)
{
    provider_service *svc = tls_conn_arg(c);
    ck_provider_session *sess = tls_conn_data(c);
    /* One cheap probe of a database per request (the provider's requests are few). */
    ck_cluster *cl = cluster_handle_get(&svc->cluster);
    if (!cl) {
        atomic_fetch_add_explicit(&svc->n_error, 1, memory_order_relaxed);
        dlog(DLOG_WARNING, "CTL Provider: %s: request refused, the cluster database is unreachable", sess->peer);
        return answer_unreachable(frame, len, r);
    }
    sess->guard = svc->guard;
    sess->now_ms = now_ms();
    uint8_t *resp = NULL;
    size_t resp_len = 0;
    int rc = ck_provider_handle(cl, sess, frame, len, &resp, &resp_len, &r->delay_ms, &r->close_after);
    /* A warning marks a refusal (a bad login, a CTL turned down). */
    atomic_fetch_add_explicit(rc < 0 ? &svc->n_error : sess->log_warning ? &svc->n_refused : &svc->n_ok, 1,
                              memory_order_relaxed);
    if (rc < 0) {
        dlog(DLOG_ERR, "CTL Provider: out of memory answering %s", sess->peer);
        return -1;
    }
    if (sess->log[0])
        dlog(sess->log_warning ? DLOG_WARNING : DLOG_NOTICE, "%s", sess->log);
    if (sess->log_summary[0])
        dlog(DLOG_WARNING, "%s", sess->log_summary);
    ck_buf_bytes(r->out, resp, resp_len);
    free(resp);
    return 0;
}

static void on_open(tls_conn *c)
{
    ck_provider_session *sess = tls_conn_data(c);
    snprintf(sess->peer, sizeof sess->peer, "%s", tls_conn_peer(c));
    dlog(DLOG_INFO, "CTL Provider: connection from %s", sess->peer);
}

static void on_close(tls_conn *c)
{
    ck_provider_session *sess = tls_conn_data(c);
    OPENSSL_cleanse(sess, sizeof *sess); /* the user name, the login state */
}

/* Summaries of failed logins that came due: written to the audit and
 * logged, once a second on the worker. */
static void on_tick(void *arg, int worker)
{
    (void)worker;
    provider_service *svc = arg;
    char line[256];
    ck_cluster *cl = cluster_handle_peek(&svc->cluster);
    while (cl && ck_provider_audit_due(cl, svc->guard, now_ms(), line, sizeof line))
        dlog(DLOG_WARNING, "%s", line);
}

static const tls_srv_ops provider_ops = {
    .frame_len = frame_len, .handle = handle, .open = on_open, .close = on_close, .tick = on_tick};

void provider_service_set_backoff(provider_service *svc, unsigned first_ms) { svc->backoff_ms = first_ms; }

provider_service *provider_service_new(const provider_config *cfg, ck_err *err)
{
    provider_service *svc = calloc(1, sizeof *svc);
    if (!svc) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        return NULL;
    }
    svc->cfg = *cfg;
    if (svc->cfg.max_conns <= 0)
        svc->cfg.max_conns = 16;
    if (svc->cfg.timeout_ms <= 0)
        svc->cfg.timeout_ms = 30000;
    svc->cluster_dir = cfg->cluster_dir ? strdup(cfg->cluster_dir) : NULL;
    if (!svc->cluster_dir) {
        ck_fail(err, CK_EINVAL, "the CTL Provider needs the cluster folder");
        goto fail;
    }
    if ((cfg->node_dir && !(svc->node_dir = strdup(cfg->node_dir))) || (cfg->node && !(svc->node = strdup(cfg->node)))) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        goto fail;
    }
    /* The cluster as this service sees it: across hosts, from the
     * publisher's node folder. */
    cluster_handle_init(&svc->cluster, "CTL Provider", "ctl-provider", svc->cluster_dir, svc->node_dir, svc->node);
    /* Fail now, in the terminal, if the cluster cannot be opened; the
     * worker's handle opens at start, after any fork. */
    if (cluster_handle_open(&svc->cluster, err) < 0)
        goto fail;
    cluster_handle_close(&svc->cluster);
    SSL_CTX *ctx = tls_server_ctx_new(cfg->cert_key_pem, "CTL Provider", cfg->tls_min, err);
    if (!ctx)
        goto fail;
    tls_srv_config tc = {
        .name = "CTL Provider",
        .thread_name = "provider",
        .listen = cfg->listen,
        .default_port = CK_PV_PORT,
        .ctx = ctx,
        .ops = &provider_ops,
        .arg = svc,
        .workers = 1, /* the cluster handle and the guard are one thread's */
        .max_conns = svc->cfg.max_conns,
        .timeout_ms = svc->cfg.timeout_ms,
        .idle_ms = svc->cfg.timeout_ms,
        .max_frame = CK_PV_HDR_LEN + CK_PV_MAX_BODY,
        .conn_data_size = sizeof(ck_provider_session),
        .secret_input = true, /* LOGIN carries the password */
        .tick_ms = 1000,
    };
    if (!(svc->srv = tls_srv_new(&tc, err)))
        goto fail;
    /* Only the copies this service owns stay reachable. */
    svc->cfg.cert_key_pem = NULL;
    svc->cfg.cluster_dir = svc->cluster_dir;
    svc->cfg.node_dir = svc->node_dir;
    svc->cfg.node = svc->node;
    svc->cfg.listen = tls_srv_address(svc->srv);
    return svc;
fail:
    provider_service_free(svc);
    return NULL;
}

int provider_service_start(provider_service *svc, struct event_base *base, ck_err *err)
{
    (void)base; /* the service runs on its own worker */
    if (cluster_handle_open(&svc->cluster, err) < 0)
        return -1;
    ck_pv_guard_cfg gcfg;
    ck_pv_guard_cfg_init(&gcfg);
    if (svc->backoff_ms)
        gcfg.backoff_ms = svc->backoff_ms;
    if (!(svc->guard = ck_pv_guard_new(&gcfg)))
        return ck_fail(err, CK_ENOMEM, "out of memory");
    if (tls_srv_start(svc->srv, err) < 0)
        return -1;
    dlog(DLOG_NOTICE, "CTL Provider listening on %s (TLS %s and later), cluster %s", tls_srv_address(svc->srv),
         ck_tls_version_name(svc->cfg.tls_min), ck_cluster_name(cluster_handle_peek(&svc->cluster)));
    return 0;
}

void provider_service_metrics(const provider_service *svc, struct evbuffer *out)
{
    tls_srv_counts n;
    tls_srv_counts_get(svc->srv, &n);
    evbuffer_add_printf(out,
                        "# HELP ctlkit_provider_requests_total CTL Provider requests answered, by outcome.\n"
                        "# TYPE ctlkit_provider_requests_total counter\n"
                        "ctlkit_provider_requests_total{result=\"ok\"} %llu\n"
                        "ctlkit_provider_requests_total{result=\"refused\"} %llu\n"
                        "ctlkit_provider_requests_total{result=\"error\"} %llu\n"
                        "# HELP ctlkit_provider_connections_active CTL Provider connections open.\n"
                        "# TYPE ctlkit_provider_connections_active gauge\n"
                        "ctlkit_provider_connections_active %d\n",
                        (unsigned long long)atomic_load(&svc->n_ok), (unsigned long long)atomic_load(&svc->n_refused),
                        (unsigned long long)atomic_load(&svc->n_error), n.active);
}

void provider_service_stats(const provider_service *svc, char *buf, size_t len)
{
    tls_srv_counts n;
    tls_srv_counts_get(svc->srv, &n);
    snprintf(buf, len, "%d connections open, %llu accepted, %llu requests", n.active, n.accepted, n.requests);
}

int provider_service_port(const provider_service *svc) { return tls_srv_port(svc->srv); }

void provider_service_free(provider_service *svc)
{
    if (!svc)
        return;
    /* The worker finishes the request in hand (a publish is not cut in
     * two), then every connection closes. */
    tls_srv_free(svc->srv);
    ck_pv_guard_free(svc->guard);
    cluster_handle_close(&svc->cluster);
    free(svc->cluster_dir);
    free(svc->node_dir);
    free(svc->node);
    free(svc);
}

int provider_for_node(const char *cluster_dir, const char *node_dir, const char *node, const char *listen,
                      provider_service **out, ck_err *err)
{
    *out = NULL;
    if (!cluster_dir || !node) {
        if (listen)
            return ck_fail(err, CK_EINVAL, "--provider needs --cluster DIR --node NAME");
        return 0;
    }
    ck_cluster *c = NULL;
    ck_node n;
    ck_cluster_where where = {.address = cluster_dir, .dir = node_dir, .node = node_dir ? node : NULL};
    if (ck_cluster_open_at(&where, "ctlkitd", &c, err) < 0)
        return -1;
    int rc = ck_store_get_node(ck_cluster_store(c), node, &n, err);
    char pem[PATH_MAX], addr[CK_NETADDR_STRLEN];
    /* CUCM runs the CTL Provider on the publisher only: that is where the
     * cluster's CTL is decided. */
    ck_cluster_refusal why = rc == 0 ? ck_cluster_publisher_only(c, node, err) : CK_REFUSAL_NO_NODE;
    if (rc == 0)
        ck_cluster_key_path(c, node, CK_UNIT_CALLMANAGER, pem, sizeof pem);
    int tls_min = ck_cluster_tls_min_version(c);
    ck_cluster_close(c);
    if (why == CK_REFUSAL_NO_NODE)
        return -1;
    if (why == CK_REFUSAL_SUBSCRIBER) {
        if (listen)
            return ck_fail(err, CK_EINVAL, "--provider: %s is a subscriber; the CTL Provider runs on the publisher",
                           node);
        return 0;
    }
    snprintf(addr, sizeof addr, "%s:%d", n.ip, n.provider_port > 0 ? n.provider_port : CK_PV_PORT);
    provider_config cfg;
    provider_config_init(&cfg);
    cfg.listen = listen ? listen : addr;
    cfg.cluster_dir = cluster_dir;
    cfg.node_dir = node_dir;
    cfg.node = node;
    cfg.cert_key_pem = pem;
    cfg.tls_min = tls_min;
    *out = provider_service_new(&cfg, err);
    return *out ? 0 : -1;
}

/* The row of ctlkitd's service table (service.h). */

static int provider_new(daemon_ctx *d, void **out, ck_err *err)
{
    provider_service *p = NULL;
    if (provider_for_node(d->cluster_dir, d->node_dir, d->node, d->provider_listen, &p, err) < 0)
        return -1;
    if (p && d->provider_backoff_ms)
        provider_service_set_backoff(p, d->provider_backoff_ms);
    *out = p;
    return 0;
}

static int provider_start(void *svc, daemon_ctx *d, ck_err *err)
{
    return provider_service_start(svc, d->base, err);
}

static void provider_reload(void *svc, daemon_ctx *d)
{
    (void)svc;
    (void)d; /* reads the cluster afresh on every request */
}

static void provider_stats(void *svc, char *buf, size_t len) { provider_service_stats(svc, buf, len); }

static void provider_free(void *svc) { provider_service_free(svc); }

static void provider_metrics(void *svc, struct evbuffer *out) { provider_service_metrics(svc, out); }

const daemon_service provider_service_row = {"CTL Provider", provider_new,  provider_start,  provider_reload,
                                            provider_stats, provider_free, provider_metrics};
