/* CAPF: phones' certificate enrolment over the common TLS model
 * (tls_conn.h); see capf_service.h. */
#include <limits.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "capf_service.h"
#include "cluster_handle.h"
#include "ctlkit/capf.h"
#include "ctlkit/capf_server.h"
#include "ctlkit/cluster.h"
#include "ctlkit/tls_policy.h"
#include "ctlkit/x509.h"
#include "log.h"
#include "log_limit.h"
#include "ctlkit/netaddr.h"
#include "service.h"
#include "tls_conn.h"
#include "tls_server.h"

#define CAPF_DEFAULT_PORT 3804
/* Lines about refused sessions (any client can cause them at will): at
 * most this many a second, as the TVS caps its bad input (tvs_log.h); the
 * first line of a later second is preceded by the number held back. */
#define CAPF_REFUSAL_LOG_PER_SEC 20
#define CAPF_STR_(x) #x
#define CAPF_STR(x) CAPF_STR_(x)

struct capf_service {
    capf_config cfg;
    char *cluster_dir, *node_dir, *node;
    tls_srv *srv;
    /* Each worker's cluster handle, opened on its first session (a handle
     * is one thread's) and reopened after its database went away. */
    cluster_handle cluster[TLS_SRV_MAX_WORKERS];
    atomic_uint next_session;                 /* session ids: 1, 2, ... */
    atomic_ullong outcomes[CK_CAPF_OUT_N];    /* finished sessions by outcome (metrics) */
    atomic_ullong abandoned;                  /* connections closed before END_SESSION */
    ck_pv_guard *guard;                       /* wrong authentications, across connections */
    ck_pv_guard *refusals;                    /* the other refusals' rows (capf_server.h) */
    struct log_limit refusal_log;
    /* The certificate the TLS context presents, and one that could not be
     * made a context (not tried again); under tls_mu, which only a
     * connection whose issuer differs from tls_cert holds for long. */
    pthread_mutex_t tls_mu;
    X509 *tls_cert, *tls_failed;
};

/* One connection's state. */
typedef struct capf_conn {
    ck_capf_session sess;
    ck_capf_issuer iss;
    bool have_issuer;
    char peer[64];
} capf_conn;

void capf_config_init(capf_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->workers = 2;
    cfg->max_conns = 100;
    cfg->timeout_ms = 120000;
    cfg->tls_min = TLS1_2_VERSION;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The peer's address without its port: back-off is per source. */
static void source_of(tls_conn *c, char *out, size_t n)
{
    const struct sockaddr *sa = tls_conn_peer_addr(c);
    socklen_t len = sa && sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (!sa || getnameinfo(sa, len, out, (socklen_t)n, NULL, 0, NI_NUMERICHOST) != 0)
        snprintf(out, n, "%s", tls_conn_peer(c));
}

/* The TLS certificate follows the CAPF certificate (`set cert regen
 * CAPF`): a connection whose issuer is not the certificate the context
 * presents makes a new context from that issuer's certificate and key (the
 * ones its LSC will be signed with, read the one way: unit_cache.c, or
 * the copy held after leaving root, which must still match the row) and
 * swaps it in for every new connection, this one included (called before
 * its SSL is made). Connections already open keep the old one. */
static void follow_certificate(capf_service *svc, X509 *cert, EVP_PKEY *key)
{
    pthread_mutex_lock(&svc->tls_mu);
    if (X509_cmp(svc->tls_cert, cert) == 0 || (svc->tls_failed && X509_cmp(svc->tls_failed, cert) == 0)) {
        pthread_mutex_unlock(&svc->tls_mu);
        return;
    }
    ck_err err = {0};
    SSL_CTX *ctx = tls_server_ctx_from(cert, key, "CAPF", svc->cfg.tls_min, &err);
    X509 **keep = ctx ? &svc->tls_cert : &svc->tls_failed;
    if (X509_up_ref(cert) == 1) {
        X509_free(*keep);
        *keep = cert;
    }
    if (ctx)
        tls_srv_set_ctx(svc->srv, ctx);
    pthread_mutex_unlock(&svc->tls_mu);
    char serial[80];
    ck_cert_serial_hex(cert, serial, sizeof serial);
    if (ctx)
        dlog(DLOG_NOTICE, "CAPF: TLS certificate replaced by the regenerated CAPF certificate (serial %s) for new "
             "connections", serial);
    else
        dlog(DLOG_ERR, "CAPF: the regenerated CAPF certificate (serial %s) cannot serve TLS, connections keep the "
             "old one: %s", serial, err.msg);
}

/* Whether a line about a refused session may be logged now. */
static bool refusal_log_ok(capf_service *svc, enum dlog_level level)
{
    return dlog_limit_ok(&svc->refusal_log, level,
                         "CAPF: %u similar messages suppressed (refused sessions: at most " CAPF_STR(
                             CAPF_REFUSAL_LOG_PER_SEC) " lines a second)");
}

static int open_cluster(const capf_service *svc, ck_cluster **out, ck_err *err)
{
    ck_cluster_where where = {.address = svc->cluster_dir, .dir = svc->node_dir, .node = svc->node_dir ? svc->node : NULL};
    return ck_cluster_open_at(&where, "capf", out, err);
}

/* The frame at in: a bad header is a frame of its own (what is buffered),
 * which the session refuses with END_SESSION. */
static tls_frame frame_len(tls_conn *c, const uint8_t *in, size_t len, size_t *flen)
{
    (void)c;
    ck_err err = {0};
    switch (ck_capf_frame_check(in, len, CK_CAPF_MAX_FRAME, flen, &err)) {
    case CK_CAPF_FRAME_READY:
        return TLS_FRAME_READY;
    case CK_CAPF_FRAME_NEED_MORE:
        return TLS_FRAME_MORE;
    default:
        *flen = len;
        return TLS_FRAME_READY;
    }
}

static void greet(tls_conn *c, tls_reply *r)
{
    capf_service *svc = tls_conn_arg(c);
    capf_conn *cc = tls_conn_data(c);
    uint32_t id = atomic_fetch_add_explicit(&svc->next_session, 1, memory_order_relaxed) + 1;
    ck_err err = {0};
    if (ck_capf_session_begin(&cc->sess, id, r->out, &err) < 0) {
        dlog(DLOG_ERR, "CAPF: %s: %s", cc->peer, err.msg);
        r->close_after = true;
        return;
    }
    cc->sess.guard = svc->guard;
    cc->sess.refusals = svc->refusals;
    source_of(c, cc->sess.source, sizeof cc->sess.source);
    dlog(DLOG_INFO, "CAPF: %s: session %u: AUTH_REQUEST sent", cc->peer, id);
}

/* The issuer and the device table for this connection's session, on its
 * worker; -1 (logged) when the cluster cannot be read. */
static int session_env(capf_service *svc, tls_conn *c, capf_conn *cc, ck_capf_devices *db)
{
    int w = tls_conn_worker(c);
    ck_err err = {0};
    /* The connection's open probed the database (one query) and
     * reconnected after an outage; when it could not load the issuer, the
     * first frame probes and tries again; later frames take the handle as is. */
    ck_cluster *cl = cc->sess.state == CK_CAPF_ST_AUTH && !cc->have_issuer ? cluster_handle_get(&svc->cluster[w])
                                                                           : cluster_handle_peek(&svc->cluster[w]);
    if (!cl) {
        if (refusal_log_ok(svc, DLOG_WARNING))
            dlog(DLOG_WARNING, "CAPF: %s: session refused, the cluster database is unreachable", cc->peer);
        return -1;
    }
    /* Normally loaded in on_open already; again here when that failed. */
    if (!cc->have_issuer) {
        if (ck_cluster_capf_issuer(cl, svc->node, svc->cfg.key_flags, &cc->iss, &err) < 0) {
            dlog(DLOG_ERR, "CAPF: %s: the CAPF certificate and key cannot be loaded: %s", cc->peer, err.msg);
            return -1;
        }
        cc->have_issuer = true;
    }
    ck_cluster_capf_devices(cl, db);
    return 0;
}

static int handle(tls_conn *c, const uint8_t *frame, size_t len, tls_reply *r)
{
    capf_service *svc = tls_conn_arg(c);
    capf_conn *cc = tls_conn_data(c);
    ck_capf_devices db;
    ck_err err = {0};
    if (cc->sess.state != CK_CAPF_ST_DONE && session_env(svc, c, cc, &db) < 0) {
        cc->sess.state = CK_CAPF_ST_DONE;
        cc->sess.outcome = CK_CAPF_OUT_ERROR;
        atomic_fetch_add_explicit(&svc->outcomes[CK_CAPF_OUT_ERROR], 1, memory_order_relaxed);
        r->close_after = true;
        return ck_capf_build_end_session(cc->sess.id, CK_CAPF_REASON_INVALID, r->out, &err) < 0 ? -1 : 0;
    }
    cc->sess.now = 0; /* the session reads the clock */
    cc->sess.now_ms = now_ms();
    if (ck_capf_session_feed(&cc->sess, &cc->iss, &db, frame, len, r->out, &err) < 0) {
        dlog(DLOG_ERR, "CAPF: %s: %s", cc->peer, err.msg);
        return -1;
    }
    if (cc->sess.log[0] && (!cc->sess.log_warning || refusal_log_ok(svc, DLOG_WARNING)))
        dlog(cc->sess.log_warning ? DLOG_WARNING : DLOG_NOTICE, "%s (from %s, session %u)", cc->sess.log, cc->peer,
             cc->sess.id);
    if (cc->sess.state == CK_CAPF_ST_DONE) {
        atomic_fetch_add_explicit(&svc->outcomes[cc->sess.outcome], 1, memory_order_relaxed);
        r->close_after = true;
    }
    return 0;
}

/* Before the TLS handshake: the session's issuer, and the TLS context
 * following it (follow_certificate). Asked per connection: a regenerated
 * CAPF certificate (set cert regen CAPF) or a new CAPF-trust root counts
 * from the next phone on, for its handshake and its LSC alike. The
 * worker's handle keeps them decoded while the store's rows and the key
 * file stay the same (lib/cluster/unit_cache.c): the session gets
 * references, freed (the key wiped with its last one) in on_close. A
 * failure here is left to session_env, which tries again at the first
 * frame and refuses the session (logged there). */
static void on_open(tls_conn *c)
{
    capf_service *svc = tls_conn_arg(c);
    capf_conn *cc = tls_conn_data(c);
    snprintf(cc->peer, sizeof cc->peer, "%s", tls_conn_peer(c));
    cc->sess.state = CK_CAPF_ST_AUTH;
    ck_cluster *cl = cluster_handle_get(&svc->cluster[tls_conn_worker(c)]);
    ck_err err = {0};
    if (!cl || ck_cluster_capf_issuer(cl, svc->node, svc->cfg.key_flags, &cc->iss, &err) < 0)
        return;
    cc->have_issuer = true;
    follow_certificate(svc, cc->iss.cert, cc->iss.key);
}

static void on_close(tls_conn *c)
{
    capf_service *svc = tls_conn_arg(c);
    capf_conn *cc = tls_conn_data(c);
    if (cc->sess.id && cc->sess.state != CK_CAPF_ST_DONE) {
        atomic_fetch_add_explicit(&svc->abandoned, 1, memory_order_relaxed);
        if (refusal_log_ok(svc, DLOG_INFO))
            dlog(DLOG_INFO, "CAPF %s: session %u from %s closed before its end", cc->sess.device[0] ? cc->sess.device : "-",
             cc->sess.id, cc->peer);
    }
    if (cc->have_issuer)
        ck_capf_issuer_clear(&cc->iss); /* frees the CAPF key */
    OPENSSL_cleanse(cc, sizeof *cc);
}

/* Summaries of wrong authentications and other refusals whose flood
 * stopped: audited and
 * logged once a second, by the first worker. */
static void on_tick(void *arg, int worker)
{
    capf_service *svc = arg;
    char line[256];
    if (worker != 0) /* the handle is worker 0's */
        return;
    ck_cluster *cl = cluster_handle_peek(&svc->cluster[0]);
    if (!cl)
        return;
    for (ck_pv_guard *g = svc->guard; g; g = g == svc->guard ? svc->refusals : NULL)
        while (ck_pv_guard_flush(g, now_ms(), line, sizeof line)) {
            dlog(DLOG_WARNING, "%s", line);
            /* A row the store refuses is not worth more than the log line. */
            CK_IGNORE(ck_store_audit(ck_cluster_store(cl), "", "", line, NULL));
        }
}

static const tls_srv_ops capf_ops = {.frame_len = frame_len, .handle = handle, .open = on_open, .close = on_close,
                                     .greet = greet, .tick = on_tick};

capf_service *capf_service_new(const capf_config *cfg, ck_err *err)
{
    capf_service *svc = calloc(1, sizeof *svc);
    if (!svc) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        return NULL;
    }
    svc->cfg = *cfg;
    pthread_mutex_init(&svc->tls_mu, NULL);
    if (svc->cfg.workers <= 0 || svc->cfg.workers > TLS_SRV_MAX_WORKERS)
        svc->cfg.workers = 2;
    if (svc->cfg.max_conns <= 0)
        svc->cfg.max_conns = 100;
    if (svc->cfg.timeout_ms <= 0)
        svc->cfg.timeout_ms = 120000;
    if (!cfg->cluster_dir || !cfg->node) {
        ck_fail(err, CK_EINVAL, "CAPF needs the cluster and the publisher's node");
        goto fail;
    }
    if (!(svc->cluster_dir = strdup(cfg->cluster_dir)) || !(svc->node = strdup(cfg->node)) ||
        (cfg->node_dir && !(svc->node_dir = strdup(cfg->node_dir)))) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < TLS_SRV_MAX_WORKERS; i++)
        cluster_handle_init(&svc->cluster[i], "CAPF", "capf", svc->cluster_dir, svc->node_dir, svc->node);
    ck_pv_guard_cfg gcfg;
    ck_capf_guard_cfg_init(&gcfg);
    svc->guard = ck_pv_guard_new(&gcfg);
    ck_capf_refusal_cfg_init(&gcfg);
    svc->refusals = ck_pv_guard_new(&gcfg);
    svc->refusal_log = (struct log_limit)LOG_LIMIT_INIT(CAPF_REFUSAL_LOG_PER_SEC);
    if (!svc->guard || !svc->refusals) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        goto fail;
    }
    /* Fail now, in the terminal, if the CAPF key cannot be used. */
    ck_cluster *probe = NULL;
    ck_capf_issuer iss;
    if (open_cluster(svc, &probe, err) < 0)
        goto fail;
    int rc = ck_cluster_capf_issuer(probe, svc->node, svc->cfg.key_flags, &iss, err);
    ck_cluster_close(probe);
    if (rc < 0)
        goto fail;
    ck_capf_issuer_clear(&iss);
    SSL_CTX *ctx = tls_server_ctx_new(cfg->cert_key_pem, "CAPF", cfg->tls_min, err);
    if (!ctx)
        goto fail;
    svc->tls_cert = SSL_CTX_get0_certificate(ctx);
    if (svc->tls_cert && X509_up_ref(svc->tls_cert) != 1)
        svc->tls_cert = NULL; /* then the first connection makes a context again */
    tls_srv_config tc = {
        .name = "CAPF",
        .thread_name = "capf",
        .listen = cfg->listen,
        .default_port = CAPF_DEFAULT_PORT,
        .ctx = ctx,
        .ops = &capf_ops,
        .arg = svc,
        .workers = svc->cfg.workers,
        .max_conns = svc->cfg.max_conns,
        .max_per_source = svc->cfg.max_per_source,
        .timeout_ms = svc->cfg.timeout_ms,
        .idle_ms = svc->cfg.timeout_ms,
        .max_frame = CK_CAPF_MAX_FRAME,
        .conn_data_size = sizeof(capf_conn),
        .secret_input = true, /* AUTH_RESPONSE carries the authentication string */
        .tick_ms = 1000,
    };
    if (!(svc->srv = tls_srv_new(&tc, err)))
        goto fail;
    svc->cfg.cert_key_pem = NULL;
    svc->cfg.cluster_dir = svc->cluster_dir;
    svc->cfg.node_dir = svc->node_dir;
    svc->cfg.node = svc->node;
    svc->cfg.listen = tls_srv_address(svc->srv);
    return svc;
fail:
    capf_service_free(svc);
    return NULL;
}

int capf_service_start(capf_service *svc, ck_err *err)
{
    if (tls_srv_start(svc->srv, err) < 0)
        return -1;
    dlog(DLOG_NOTICE, "CAPF listening on %s (TLS %s and later, %d workers, at most %d phones at once)",
         tls_srv_address(svc->srv), ck_tls_version_name(svc->cfg.tls_min), tls_srv_workers(svc->srv),
         svc->cfg.max_conns);
    return 0;
}

int capf_service_port(const capf_service *svc) { return tls_srv_port(svc->srv); }

void capf_service_stats(const capf_service *svc, char *buf, size_t len)
{
    tls_srv_counts n;
    tls_srv_counts_get(svc->srv, &n);
    snprintf(buf, len, "%d connections open, %llu accepted, %llu LSCs issued, %llu refused", n.active, n.accepted,
             (unsigned long long)atomic_load(&svc->outcomes[CK_CAPF_OUT_ISSUED]),
             (unsigned long long)atomic_load(&svc->outcomes[CK_CAPF_OUT_REFUSED]));
}

void capf_service_metrics(const capf_service *svc, struct evbuffer *out)
{
    tls_srv_counts n;
    tls_srv_counts_get(svc->srv, &n);
    evbuffer_add_printf(out, "# HELP ctlkit_capf_sessions_total CAPF sessions ended, by result.\n"
                             "# TYPE ctlkit_capf_sessions_total counter\n");
    for (int o = CK_CAPF_OUT_ISSUED; o < CK_CAPF_OUT_N; o++)
        evbuffer_add_printf(out, "ctlkit_capf_sessions_total{result=\"%s\"} %llu\n", ck_capf_outcome_name(o),
                            (unsigned long long)atomic_load(&svc->outcomes[o]));
    evbuffer_add_printf(out,
                        "ctlkit_capf_sessions_total{result=\"abandoned\"} %llu\n"
                        "# HELP ctlkit_capf_connections_active CAPF connections open.\n"
                        "# TYPE ctlkit_capf_connections_active gauge\n"
                        "ctlkit_capf_connections_active %d\n"
                        "# HELP ctlkit_capf_connections_refused_total CAPF connections closed at accept, by limit reached.\n"
                        "# TYPE ctlkit_capf_connections_refused_total counter\n"
                        "ctlkit_capf_connections_refused_total{reason=\"max_conns\"} %llu\n"
                        "ctlkit_capf_connections_refused_total{reason=\"per_source\"} %llu\n",
                        (unsigned long long)atomic_load(&svc->abandoned), n.active, n.refused_full, n.refused_source);
}

void capf_service_free(capf_service *svc)
{
    if (!svc)
        return;
    tls_srv_free(svc->srv); /* the workers stop first: then their handles are free to close */
    for (int i = 0; i < TLS_SRV_MAX_WORKERS; i++)
        cluster_handle_close(&svc->cluster[i]);
    free(svc->cluster_dir);
    free(svc->node_dir);
    free(svc->node);
    ck_pv_guard_free(svc->guard);
    ck_pv_guard_free(svc->refusals);
    X509_free(svc->tls_cert);
    X509_free(svc->tls_failed);
    pthread_mutex_destroy(&svc->tls_mu);
    free(svc);
}

int capf_for_node(const char *cluster_dir, const char *node_dir, const char *node, const char *listen, int timeout_ms,
                  int max_per_source,
                  unsigned key_flags, capf_service **out, ck_err *err)
{
    *out = NULL;
    if (!cluster_dir || !node) {
        if (listen)
            return ck_fail(err, CK_EINVAL, "--capf needs --cluster DIR --node NAME");
        return 0;
    }
    ck_cluster *c = NULL;
    ck_node n;
    ck_cluster_where where = {.address = cluster_dir, .dir = node_dir, .node = node_dir ? node : NULL};
    if (ck_cluster_open_at(&where, "ctlkitd", &c, err) < 0)
        return -1;
    int rc = ck_store_get_node(ck_cluster_store(c), node, &n, err);
    char pem[PATH_MAX], addr[CK_NETADDR_STRLEN], port[16] = "";
    /* CUCM runs CAPF on the publisher: there the LSCs are issued. */
    ck_cluster_refusal why = rc == 0 ? ck_cluster_publisher_only(c, node, err) : CK_REFUSAL_NO_NODE;
    if (rc == 0)
        ck_cluster_key_path(c, node, CK_UNIT_CAPF, pem, sizeof pem);
    ck_err e2 = {0};
    if (ck_store_get_param(ck_cluster_store(c), "CAPFPhonePort", port, sizeof port, &e2) < 0 || !port[0])
        snprintf(port, sizeof port, "%d", CAPF_DEFAULT_PORT);
    int tls_min = ck_cluster_tls_min_version(c);
    ck_cluster_close(c);
    if (why == CK_REFUSAL_NO_NODE)
        return -1;
    if (why == CK_REFUSAL_SUBSCRIBER) {
        if (listen)
            return ck_fail(err, CK_EINVAL, "--capf: %s is a subscriber; CAPF runs on the publisher", node);
        return 0;
    }
    snprintf(addr, sizeof addr, "%s:%s", n.ip, port);
    capf_config cfg;
    capf_config_init(&cfg);
    cfg.listen = listen ? listen : addr;
    cfg.cluster_dir = cluster_dir;
    cfg.node_dir = node_dir;
    cfg.node = node;
    cfg.cert_key_pem = pem;
    cfg.tls_min = tls_min;
    cfg.key_flags = key_flags;
    cfg.max_per_source = max_per_source;
    if (timeout_ms > 0)
        cfg.timeout_ms = timeout_ms;
    *out = capf_service_new(&cfg, err);
    return *out ? 0 : -1;
}

/* The row of ctlkitd's service table (service.h). */

static int capf_new(daemon_ctx *d, void **out, ck_err *err)
{
    capf_service *s = NULL;
    if (capf_for_node(d->cluster_dir, d->node_dir, d->node, d->capf_listen, d->capf_timeout_ms, d->max_per_source,
                      d->tftp.sign_key_flags, &s, err) < 0)
        return -1;
    *out = s;
    return 0;
}

static int capf_start(void *svc, daemon_ctx *d, ck_err *err)
{
    (void)d;
    return capf_service_start(svc, err);
}

static void capf_reload(void *svc, daemon_ctx *d)
{
    (void)svc;
    (void)d; /* the CAPF certificate and the devices are checked per session */
}

static void capf_stats(void *svc, char *buf, size_t len) { capf_service_stats(svc, buf, len); }
static void capf_free(void *svc) { capf_service_free(svc); }
static void capf_metrics(void *svc, struct evbuffer *out) { capf_service_metrics(svc, out); }

const daemon_service capf_service_row = {"CAPF", capf_new, capf_start, capf_reload, capf_stats, capf_free, capf_metrics};
