/* The TVS service: configuration, the trust cache swap and the CTL file
 * watch. Listening, workers and connections are the common TLS model's
 * (tls_conn.h); the TVS's frames are in tvs_conn.c, the TLS context in
 * tvs_tls.c, the cache building in tvs_cache.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "ctlkit/bytes.h"
#include "ctlkit/fileio.h"
#include "ctlkit/tls_policy.h"
#include "ctlkit/trustlist.h"
#include "ctlkit/tvs.h"
#include "ctlkit/netaddr.h"
#include "phone_track.h"
#include "tvs_internal.h"
#include "service.h"
#include "tvs_log.h"

struct log_limit tvs_bad_input_limit = LOG_LIMIT_INIT(TVS_BAD_INPUT_LOG_PER_SEC);

void tvs_config_init(tvs_config *cfg)
{
    memset(cfg, 0, sizeof *cfg); /* listen NULL: the daemon runs no TVS unless asked */
    cfg->ttl = CK_TVS_DEFAULT_TTL;
    cfg->max_conns = 1024;
    cfg->timeout_ms = 10000;
    cfg->idle_ms = 10000;
    cfg->watch_ms = CK_TC_WATCH_MS;
    cfg->tls_min = TLS1_2_VERSION; /* no cluster, no TLSMinVersion: what OpenSSL deems safe */
}

void tvs_config_clear(tvs_config *cfg)
{
    for (size_t i = 0; i < cfg->n_db_certs; i++)
        free(cfg->db_certs[i].path);
    free(cfg->db_certs);
    cfg->db_certs = NULL;
    cfg->n_db_certs = 0;
}

int tvs_config_add_db_cert(tvs_config *cfg, const char *spec, ck_err *err)
{
    const char *colon = strrchr(spec, ':');
    if (!colon || colon == spec || !colon[1])
        return ck_fail(err, CK_EINVAL, "\"%s\": expected PEM:ROLE[,ROLE...], e.g. CallManager.pem:SAST,CCM+TFTP",
                       spec);
    tvs_db_cert d;
    memset(&d, 0, sizeof d);
    char roles[256];
    snprintf(roles, sizeof roles, "%s", colon + 1);
    char *save = NULL;
    for (char *tok = strtok_r(roles, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        unsigned role;
        long long num;
        if (ck_parse_ll(tok, 0, 255, &num))
            role = (unsigned)num;
        else if (ck_role_parse(tok, &role) < 0)
            return ck_fail(err, CK_EINVAL, "\"%s\": unknown role \"%s\"", spec, tok);
        if (d.n_roles == CK_TC_MAX_ROLES)
            return ck_fail(err, CK_ELIMIT, "\"%s\": more than %d roles", spec, CK_TC_MAX_ROLES);
        d.roles[d.n_roles++] = role;
    }
    if (d.n_roles == 0)
        return ck_fail(err, CK_EINVAL, "\"%s\": no role given", spec);
    d.path = strndup(spec, (size_t)(colon - spec));
    tvs_db_cert *p = d.path ? realloc(cfg->db_certs, (cfg->n_db_certs + 1) * sizeof *p) : NULL;
    if (!p) {
        free(d.path);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    cfg->db_certs = p;
    cfg->db_certs[cfg->n_db_certs++] = d;
    return 0;
}

/* Deep copy, so the caller may free its configuration after _new. The
 * paths are made absolute here: a detached daemon leaves its working
 * directory, and the CTL is watched and every file read again on reload,
 * long after (a relative --tvs-ctl went "missing" within a second, and its
 * CTL cache with it). */
static int config_copy(tvs_config *dst, const tvs_config *src, ck_err *err)
{
    *dst = *src;
    dst->db_certs = NULL;
    dst->n_db_certs = 0;
    dst->listen = strdup(src->listen ? src->listen : "0.0.0.0:2445");
    dst->cert_key_pem = src->cert_key_pem ? ck_path_absolute(src->cert_key_pem) : NULL;
    dst->ctl_path = src->ctl_path ? ck_path_absolute(src->ctl_path) : NULL;
    if (!dst->listen || (src->cert_key_pem && !dst->cert_key_pem) || (src->ctl_path && !dst->ctl_path))
        return ck_fail(err, CK_ENOMEM, "out of memory");
    if (src->n_db_certs) {
        dst->db_certs = calloc(src->n_db_certs, sizeof *dst->db_certs);
        if (!dst->db_certs)
            return ck_fail(err, CK_ENOMEM, "out of memory");
        for (size_t i = 0; i < src->n_db_certs; i++) {
            dst->db_certs[i] = src->db_certs[i];
            dst->db_certs[i].path = ck_path_absolute(src->db_certs[i].path);
            dst->n_db_certs++;
            if (!dst->db_certs[i].path)
                return ck_fail(err, CK_ENOMEM, "out of memory");
        }
    }
    return 0;
}

static void config_copy_free(tvs_config *c)
{
    free((char *)c->listen);
    free((char *)c->cert_key_pem);
    free((char *)c->ctl_path);
    tvs_config_clear(c);
}

/* --- the cache swap --- */

void tvs_service_set_cache(tvs_service *svc, ck_trustcache *cache)
{
    ck_trustcache_seal(cache);
    pthread_mutex_lock(&svc->cache_mu);
    ck_trustcache *old = svc->cache;
    svc->cache = cache;
    atomic_fetch_add_explicit(&svc->cache_gen, 1, memory_order_release);
    pthread_mutex_unlock(&svc->cache_mu);
    ck_trustcache_free(old); /* workers still holding it keep it alive */
}

const ck_trustcache *tvs_worker_cache_get(tvs_service *svc, int worker)
{
    tvs_worker_cache *w = &svc->slots[worker];
    /* The steady state is one atomic load: the lock is taken once per
     * worker per reload, not per request. */
    if (atomic_load_explicit(&svc->cache_gen, memory_order_acquire) != w->gen) {
        pthread_mutex_lock(&svc->cache_mu);
        ck_trustcache *old = w->cache;
        w->cache = ck_trustcache_ref(svc->cache);
        w->gen = atomic_load_explicit(&svc->cache_gen, memory_order_relaxed);
        pthread_mutex_unlock(&svc->cache_mu);
        ck_trustcache_free(old);
    }
    return w->cache;
}

static void log_cache(const ck_trustcache *tc)
{
    static const char *const key_line[2] = {"tvs_sql_get_all_DB_certificate", "tvs_sql_get_all_CTL_certificate"};
    if (tvs_log_enabled(TVS_LOG_DEBUG))
        for (int src = CK_TC_DB; src <= CK_TC_CTL; src++)
            for (size_t i = 0; i < ck_trustcache_count(tc, (ck_tc_source)src); i++) {
                const ck_tc_entry *e = ck_trustcache_entry(tc, (ck_tc_source)src, i);
                tvs_log(TVS_LOG_DEBUG, "%s - Unique Key used for Caching :: %s, length : %zu", key_line[src],
                        e->map_id, strlen(e->map_id));
            }
    tvs_log(TVS_LOG_INFO, "tvs: trust cache: %zu certificate(s) in CertificateDBCache, %zu in CertificateCTLCache",
            ck_trustcache_count(tc, CK_TC_DB), ck_trustcache_count(tc, CK_TC_CTL));
}

/* A store change can bring many untrusted Phone-SAST-trust uploads at once:
 * their lines share this cap, as bad input does. */
static struct log_limit tvs_refused_limit = LOG_LIMIT_INIT(TVS_BAD_INPUT_LOG_PER_SEC);

static uint64_t refused_hash(const ck_tc_report *rep)
{
    uint64_t h = 1469598103934665603ULL ^ rep->n_refused; /* FNV-1a */
    for (size_t i = 0; i < rep->n_refused && i < CK_TC_MAX_REFUSED; i++)
        for (const char *p = rep->refused[i]; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h ? h : 1;
}

/* The Phone-SAST-trust certificates left out of the cache, once per set:
 * a cluster node rebuilds on every store change. */
static void log_refused(tvs_service *svc, const ck_tc_report *rep)
{
    if (!rep->n_refused) {
        svc->refused_warned = 0;
        return;
    }
    uint64_t h = refused_hash(rep);
    if (h == svc->refused_warned)
        return;
    svc->refused_warned = h;
    for (size_t i = 0; i < rep->n_refused && i < CK_TC_MAX_REFUSED; i++)
        if (dlog_limit_ok(&tvs_refused_limit, DLOG_WARNING, "tvs: %u more untrusted-certificate lines not logged"))
            tvs_log(TVS_LOG_WARNING, "tvs: %s", rep->refused[i]);
    if (rep->n_refused > CK_TC_MAX_REFUSED)
        tvs_log(TVS_LOG_WARNING, "tvs: %zu more certificates are not vouched for as SAST (not trusted eTokens)",
                rep->n_refused - CK_TC_MAX_REFUSED);
}

/* One warning per CTL problem: a cluster node rebuilds on every store
 * change, and the same bad CTL must not fill the log. */
static void log_report(tvs_service *svc, const ck_tc_report *rep)
{
    log_refused(svc, rep);
    if (rep->ctl != CK_TC_CTL_REJECTED) {
        svc->ctl_warned[0] = '\0';
        return;
    }
    if (strcmp(svc->ctl_warned, rep->ctl_problem) == 0)
        return;
    snprintf(svc->ctl_warned, sizeof svc->ctl_warned, "%s", rep->ctl_problem);
    tvs_log(TVS_LOG_WARNING, "tvs: the CTL is not believed, CertificateCTLCache is empty until it changes: %s",
            rep->ctl_problem);
}

void tvs_service_install(tvs_service *svc, ck_trustcache *cache, const ck_tc_report *rep)
{
    log_report(svc, rep);
    log_cache(cache);
    tvs_service_set_cache(svc, cache);
}

int tvs_service_reload(tvs_service *svc, const char *why, ck_err *err)
{
    if (why)
        tvs_log(TVS_LOG_INFO, "CertificateCache::localCTLCacheMonitor - %s. Recaching CTL Certificate Cache", why);
    tvs_log(TVS_LOG_DEBUG, "updateLocalCTLCache : Refreshing the local CTL certificate cache");
    ck_trustcache *tc = NULL;
    ck_tc_report rep;
    if (tvs_cache_build(&svc->cfg, &tc, &rep, err) < 0) {
        tvs_log(TVS_LOG_ERROR, "tvs: keeping the previous trust cache: %s", err ? err->msg : "error");
        return -1;
    }
    tvs_service_install(svc, tc, &rep);
    return 0;
}

/* --- CTL watch (on the caller's event loop) --- */

static void watch_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    tvs_service *svc = arg;
    ck_file_stamp now;
    ck_file_stamp_take(svc->cfg.ctl_path, &now);
    if (ck_file_stamp_same(&now, &svc->ctl_stamp))
        return;
    svc->ctl_stamp = now;
    const char *base = strrchr(svc->cfg.ctl_path, '/');
    base = base ? base + 1 : svc->cfg.ctl_path;
    char why[256];
    snprintf(why, sizeof why, "%s has been %s", base, now.present ? "modified" : "deleted");
    ck_err err;
    tvs_service_reload(svc, why, &err);
}

tvs_service *tvs_service_new(const tvs_config *cfg, ck_err *err)
{
    tvs_service *svc = calloc(1, sizeof *svc);
    if (!svc) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&svc->cache_mu, NULL);
    if (config_copy(&svc->cfg, cfg, err) < 0)
        goto fail;
    if (!svc->cfg.cert_key_pem) {
        ck_fail(err, CK_EINVAL, "the TVS needs its certificate and key (--tvs-cert)");
        goto fail;
    }
    if (svc->cfg.max_conns < 1 || svc->cfg.timeout_ms < 1 || svc->cfg.idle_ms < 1) {
        ck_fail(err, CK_EINVAL, "TVS limits must be positive");
        goto fail;
    }
    SSL_CTX *ctx = tvs_tls_ctx_new(&svc->cfg, err);
    if (!ctx)
        goto fail;
    if (svc->cfg.ctl_path)
        ck_file_stamp_take(svc->cfg.ctl_path, &svc->ctl_stamp);
    ck_trustcache *tc = NULL;
    if (tvs_cache_build(&svc->cfg, &tc, &svc->first_report, err) < 0) {
        SSL_CTX_free(ctx); /* not yet the model's */
        goto fail;
    }
    tvs_service_set_cache(svc, tc);
    tls_srv_config tc_cfg = {
        .name = "tvs",
        .thread_name = "tvs-worker",
        .listen = svc->cfg.listen,
        .default_port = 2445,
        .ctx = ctx,
        .ops = &tvs_conn_ops,
        .arg = svc,
        .workers = svc->cfg.workers,
        .max_conns = svc->cfg.max_conns,
        .max_per_source = svc->cfg.max_per_source,
        .timeout_ms = svc->cfg.timeout_ms,
        .idle_ms = svc->cfg.idle_ms,
        .max_frame = CK_TVS_MAX_REQUEST,
    };
    if (!(svc->srv = tls_srv_new(&tc_cfg, err)))
        goto fail;
    return svc;
fail:
    tvs_service_free(svc);
    return NULL;
}

int tvs_service_start(tvs_service *svc, struct event_base *base, ck_err *err)
{
    log_report(svc, &svc->first_report);
    log_cache(svc->cache);
    if (base && svc->cfg.ctl_path && svc->cfg.watch_ms > 0) {
        struct timeval tv = {svc->cfg.watch_ms / 1000, (svc->cfg.watch_ms % 1000) * 1000};
        if (!(svc->watch_ev = event_new(base, -1, EV_PERSIST, watch_cb, svc)) || event_add(svc->watch_ev, &tv) < 0)
            return ck_fail(err, CK_ENOMEM, "cannot watch the CTL file");
    }
    if (tls_srv_start(svc->srv, err) < 0)
        return -1;
    tvs_log(TVS_LOG_INFO, "tvs: listening on %s (port %d), %d worker thread(s), TLS %s and later, TTL %u s",
            svc->cfg.listen, tls_srv_port(svc->srv), tls_srv_workers(svc->srv), ck_tls_version_name(svc->cfg.tls_min),
            svc->cfg.ttl);
    return 0;
}

int tvs_service_port(const tvs_service *svc) { return tls_srv_port(svc->srv); }

void tvs_service_metrics(tvs_service *svc, struct evbuffer *out)
{
    tls_srv_counts n;
    tls_srv_counts_get(svc->srv, &n);
    evbuffer_add_printf(
        out,
        "# HELP ctlkit_tvs_verifications_total TVS certificate verifications answered, by answer.\n"
        "# TYPE ctlkit_tvs_verifications_total counter\n"
        "ctlkit_tvs_verifications_total{result=\"valid\"} %llu\n"
        "ctlkit_tvs_verifications_total{result=\"invalid\"} %llu\n"
        "# HELP ctlkit_tvs_connections_active TVS connections open.\n"
        "# TYPE ctlkit_tvs_connections_active gauge\n"
        "ctlkit_tvs_connections_active %d\n"
        "# HELP ctlkit_tvs_connections_total TVS connections accepted.\n"
        "# TYPE ctlkit_tvs_connections_total counter\n"
        "ctlkit_tvs_connections_total %llu\n"
        "# HELP ctlkit_tvs_handshake_failures_total TVS connections closed before the TLS handshake ended.\n"
        "# TYPE ctlkit_tvs_handshake_failures_total counter\n"
        "ctlkit_tvs_handshake_failures_total %llu\n"
        "# HELP ctlkit_tvs_connections_refused_total TVS connections closed at accept, by limit reached.\n"
        "# TYPE ctlkit_tvs_connections_refused_total counter\n"
        "ctlkit_tvs_connections_refused_total{reason=\"max_conns\"} %llu\n"
        "ctlkit_tvs_connections_refused_total{reason=\"per_source\"} %llu\n",
        (unsigned long long)atomic_load_explicit(&svc->n_valid, memory_order_relaxed),
        (unsigned long long)atomic_load_explicit(&svc->n_invalid, memory_order_relaxed),
        n.active, n.accepted, n.handshake_failed, n.refused_full, n.refused_source);
}

void tvs_service_stats(tvs_service *svc, char *buf, size_t len)
{
    tls_srv_counts n;
    tls_srv_counts_get(svc->srv, &n);
    snprintf(buf, len, "%d connections open, %llu accepted, %llu verifications (%llu valid, %llu invalid)", n.active,
             n.accepted,
             (unsigned long long)(atomic_load(&svc->n_valid) + atomic_load(&svc->n_invalid)),
             (unsigned long long)atomic_load(&svc->n_valid), (unsigned long long)atomic_load(&svc->n_invalid));
}

void tvs_service_free(tvs_service *svc)
{
    if (!svc)
        return;
    if (svc->watch_ev)
        event_free(svc->watch_ev);
    tls_srv_free(svc->srv);
    for (int i = 0; i < TLS_SRV_MAX_WORKERS; i++)
        ck_trustcache_free(svc->slots[i].cache);
    ck_trustcache_free(svc->cache);
    config_copy_free(&svc->cfg);
    pthread_mutex_destroy(&svc->cache_mu);
    free(svc);
}

/* The row of ctlkitd's service table (service.h). */

static int tvs_new(daemon_ctx *d, void **out, ck_err *err)
{
    if (!d->tvs.listen)
        return 0; /* no cluster and no --tvs */
    /* The cluster row supplies the trust cache (cluster_node_reload); the
     * TVS's own CTL watch stays off so that it never rebuilds without the
     * database's certificates. */
    if (d->cluster)
        d->tvs.watch_ms = 0;
    d->tvs.max_per_source = d->max_per_source; /* one option for TVS and CAPF */
    d->tvs_svc = tvs_service_new(&d->tvs, err);
    *out = d->tvs_svc;
    if (*out && d->track) {
        if (phone_track_set_workers(d->track, tvs_service_workers(d->tvs_svc), err) < 0)
            return -1;
        tvs_service_set_tracker(d->tvs_svc, d->track);
    }
    /* A TVS whose certificate and key cannot make a TLS context stays off;
     * TFTP serves anyway (phones without SBD, and the files, need no TVS).
     * A refused key mode or a port in use still stops the daemon. */
    if (!*out && (err->code == CK_ECRYPTO || err->code == CK_EFORMAT)) {
        snprintf(d->tvs_off, sizeof d->tvs_off, "%s", err->msg);
        fprintf(stderr, "ctlkitd: TVS not started, TFTP starts without it: %s\n", d->tvs_off);
        return 0;
    }
    return *out ? 0 : -1;
}

static int tvs_start(void *svc, daemon_ctx *d, ck_err *err) { return tvs_service_start(svc, d->base, err); }

static void tvs_reload(void *svc, daemon_ctx *d)
{
    /* With a cluster, the cluster row rebuilds the TVS's cache. */
    if (!d->cluster)
        tvs_service_reload(svc, "SIGHUP: reload requested", NULL);
}

static void tvs_stats(void *svc, char *buf, size_t len) { tvs_service_stats(svc, buf, len); }

static void tvs_free(void *svc) { tvs_service_free(svc); }

static void tvs_metrics(void *svc, struct evbuffer *out) { tvs_service_metrics(svc, out); }

const daemon_service tvs_service_row = {"TVS", tvs_new, tvs_start, tvs_reload, tvs_stats, tvs_free, tvs_metrics};

void tvs_service_set_tracker(tvs_service *svc, struct phone_track *t) { svc->track = t; }

unsigned tvs_service_workers(const tvs_service *svc) { return (unsigned)tls_srv_workers(svc->srv); }
