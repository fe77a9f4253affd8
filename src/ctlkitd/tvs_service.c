/* The TVS service: configuration, listening sockets, worker threads, the
 * trust cache swap and the CTL file watch. Connections are in tvs_conn.c,
 * the TLS context in tvs_tls.c, the cache building in tvs_cache.c. */
/* accept4, pipe2, pthread_setname_np */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "ctlkit/bytes.h"
#include "ctlkit/tls_policy.h"
#include "ctlkit/trustlist.h"
#include "ctlkit/tvs.h"
#include "netaddr.h"
#include "tvs_internal.h"
#include "tvs_log.h"

#define LISTEN_BACKLOG 1024

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

/* Deep copy, so the caller may free its configuration after _new. */
static int config_copy(tvs_config *dst, const tvs_config *src, ck_err *err)
{
    *dst = *src;
    dst->db_certs = NULL;
    dst->n_db_certs = 0;
    dst->listen = strdup(src->listen ? src->listen : "0.0.0.0:2445");
    dst->cert_key_pem = src->cert_key_pem ? strdup(src->cert_key_pem) : NULL;
    dst->ctl_path = src->ctl_path ? strdup(src->ctl_path) : NULL;
    if (!dst->listen || (src->cert_key_pem && !dst->cert_key_pem) || (src->ctl_path && !dst->ctl_path))
        return ck_fail(err, CK_ENOMEM, "out of memory");
    if (src->n_db_certs) {
        dst->db_certs = calloc(src->n_db_certs, sizeof *dst->db_certs);
        if (!dst->db_certs)
            return ck_fail(err, CK_ENOMEM, "out of memory");
        for (size_t i = 0; i < src->n_db_certs; i++) {
            dst->db_certs[i] = src->db_certs[i];
            dst->db_certs[i].path = strdup(src->db_certs[i].path);
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

const ck_trustcache *tvs_worker_cache(tvs_worker *w)
{
    tvs_service *svc = w->svc;
    /* The steady state is one atomic load: the lock is taken once per
     * worker per reload, not per request. */
    if (atomic_load_explicit(&svc->cache_gen, memory_order_acquire) != w->cache_gen) {
        pthread_mutex_lock(&svc->cache_mu);
        ck_trustcache *old = w->cache;
        w->cache = ck_trustcache_ref(svc->cache);
        w->cache_gen = atomic_load_explicit(&svc->cache_gen, memory_order_relaxed);
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

/* One warning per CTL problem: a cluster node rebuilds on every store
 * change, and the same bad CTL must not fill the log. */
static void log_report(tvs_service *svc, const ck_tc_report *rep)
{
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

/* --- listening sockets and workers --- */

/* One listening socket on addr (port 0: the kernel picks one). */
static int listen_socket(const netaddr *addr, ck_err *err)
{
    int fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ck_fail(err, CK_EIO, "TVS socket: %s", strerror(errno));
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0 ||
        bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
        int e = errno;
        close(fd);
        return ck_fail(err, CK_EIO, "TVS cannot listen on port %u: %s", netaddr_port((const struct sockaddr *)&addr->ss),
                       strerror(e));
    }
    /* Hand over a connection only once its ClientHello is there: the worker
     * starts the handshake at once instead of waiting for one more wake-up,
     * and connections that never say anything stay in the kernel. Best
     * effort: without it, accepted sockets simply wait for EV_READ. */
    int defer = 10;
    setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof defer);
    return fd;
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    tvs_worker *w = arg;
    event_add(w->accept_ev, NULL);
}

static bool limit_log_due(tvs_service *svc)
{
    long long now = (long long)time(NULL);
    long long last = atomic_load_explicit(&svc->last_limit_log, memory_order_relaxed);
    return now != last && atomic_compare_exchange_strong(&svc->last_limit_log, &last, now);
}

/* One accept per wake-up: the listener stays readable while more wait, and
 * the loop interleaves them fairly with the handshakes already running. */
static void accept_cb(evutil_socket_t lfd, short what, void *arg)
{
    (void)what;
    tvs_worker *w = arg;
    tvs_service *svc = w->svc;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* Out of descriptors: stop accepting for a moment instead of
             * spinning on a listener that stays readable. */
            if (limit_log_due(svc))
                tvs_log(TVS_LOG_WARNING, "tvs: cannot accept: %s; pausing for 100 ms", strerror(errno));
            struct timeval tv = {0, 100000};
            event_del(w->accept_ev);
            evtimer_add(w->resume_ev, &tv);
        }
        return;
    }
    if (atomic_fetch_add_explicit(&svc->conns, 1, memory_order_relaxed) >= svc->cfg.max_conns) {
        atomic_fetch_sub_explicit(&svc->conns, 1, memory_order_relaxed);
        close(fd);
        if (limit_log_due(svc))
            tvs_log(TVS_LOG_WARNING, "tvs: %d connections open: refusing new ones", svc->cfg.max_conns);
        return;
    }
    tvs_conn_accept(w, fd, (struct sockaddr *)&ss, sl);
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    tvs_worker *w = arg;
    event_base_loopbreak(w->base);
}

static void *worker_main(void *arg)
{
    tvs_worker *w = arg;
    char name[16];
    snprintf(name, sizeof name, "tvs-worker-%d", w->idx);
    pthread_setname_np(pthread_self(), name); /* for top -H and ps -L */
    event_base_dispatch(w->base);
    tvs_conn_close_all(w);
    return NULL;
}

/* The event loop of one worker, created after any fork (an epoll
 * instance must not be shared with a parent that goes away). */
static int worker_init(tvs_worker *w, ck_err *err)
{
    if (pipe2(w->wake, O_CLOEXEC | O_NONBLOCK) < 0)
        return ck_fail(err, CK_EIO, "TVS worker pipe: %s", strerror(errno));
    if (!(w->base = event_base_new()) ||
        !(w->accept_ev = event_new(w->base, w->lfd, EV_READ | EV_PERSIST, accept_cb, w)) ||
        !(w->resume_ev = evtimer_new(w->base, resume_cb, w)) ||
        !(w->wake_ev = event_new(w->base, w->wake[0], EV_READ | EV_PERSIST, wake_cb, w)) ||
        event_add(w->accept_ev, NULL) < 0 || event_add(w->wake_ev, NULL) < 0)
        return ck_fail(err, CK_ENOMEM, "cannot set up a TVS worker's event loop");
    return 0;
}

static void worker_free(tvs_worker *w)
{
    if (w->accept_ev)
        event_free(w->accept_ev);
    if (w->resume_ev)
        event_free(w->resume_ev);
    if (w->wake_ev)
        event_free(w->wake_ev);
    tvs_conn_close_all(w);
    if (w->base)
        event_base_free(w->base);
    if (w->lfd >= 0)
        close(w->lfd);
    for (int i = 0; i < 2; i++)
        if (w->wake[i] >= 0)
            close(w->wake[i]);
    ck_trustcache_free(w->cache);
}

/* One listening socket per worker, all on the same address and port. */
static int bind_workers(tvs_service *svc, ck_err *err)
{
    netaddr addr;
    if (netaddr_parse_listen(svc->cfg.listen, 2445, &addr, err) < 0) {
        ck_err_prefix(err, "TVS");
        return -1;
    }

    long n = svc->cfg.workers > 0 ? svc->cfg.workers : sysconf(_SC_NPROCESSORS_ONLN);
    svc->n_workers = (int)(n < 1 ? 1 : n > TVS_MAX_WORKERS ? TVS_MAX_WORKERS : n);
    svc->workers = calloc((size_t)svc->n_workers, sizeof *svc->workers);
    if (!svc->workers) {
        svc->n_workers = 0;
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    for (int i = 0; i < svc->n_workers; i++) {
        tvs_worker *w = &svc->workers[i];
        w->svc = svc;
        w->idx = i;
        w->lfd = w->wake[0] = w->wake[1] = -1;
    }
    for (int i = 0; i < svc->n_workers; i++) {
        int lfd = listen_socket(&addr, err);
        if (lfd < 0)
            return -1;
        svc->workers[i].lfd = lfd;
        if (i == 0) { /* with port 0 the first socket picks the port, the others join it */
            addr.len = sizeof addr.ss;
            getsockname(lfd, (struct sockaddr *)&addr.ss, &addr.len);
        }
    }
    svc->port = netaddr_port((const struct sockaddr *)&addr.ss);
    return 0;
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
    if (!(svc->ctx = tvs_tls_ctx_new(&svc->cfg, err)))
        goto fail;
    if (svc->cfg.ctl_path)
        ck_file_stamp_take(svc->cfg.ctl_path, &svc->ctl_stamp);
    ck_trustcache *tc = NULL;
    if (tvs_cache_build(&svc->cfg, &tc, &svc->first_report, err) < 0)
        goto fail;
    tvs_service_set_cache(svc, tc);
    if (bind_workers(svc, err) < 0)
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
    for (int i = 0; i < svc->n_workers; i++)
        if (worker_init(&svc->workers[i], err) < 0)
            return -1;
    /* Workers take no signals: the daemon's main loop handles them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    for (int i = 0; i < svc->n_workers; i++) {
        int e = pthread_create(&svc->workers[i].thread, NULL, worker_main, &svc->workers[i]);
        if (e) {
            rc = ck_fail(err, CK_EIO, "cannot start a TVS worker thread: %s", strerror(e));
            break;
        }
        svc->workers[i].started = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0)
        tvs_log(TVS_LOG_INFO, "tvs: listening on %s (port %d), %d worker thread(s), TLS %s and later, TTL %u s",
                svc->cfg.listen, svc->port, svc->n_workers, ck_tls_version_name(svc->cfg.tls_min), svc->cfg.ttl);
    return rc;
}

int tvs_service_port(const tvs_service *svc) { return svc->port; }

void tvs_service_metrics(tvs_service *svc, struct evbuffer *out)
{
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
        "ctlkit_tvs_handshake_failures_total %llu\n",
        (unsigned long long)atomic_load_explicit(&svc->n_valid, memory_order_relaxed),
        (unsigned long long)atomic_load_explicit(&svc->n_invalid, memory_order_relaxed),
        atomic_load_explicit(&svc->conns, memory_order_relaxed),
        (unsigned long long)atomic_load_explicit(&svc->next_conn_id, memory_order_relaxed),
        (unsigned long long)atomic_load_explicit(&svc->n_handshake_failed, memory_order_relaxed));
}

void tvs_service_stats(tvs_service *svc, char *buf, size_t len)
{
    snprintf(buf, len, "%d connections open, %llu accepted, %llu verifications (%llu valid, %llu invalid)",
             atomic_load(&svc->conns), (unsigned long long)atomic_load(&svc->next_conn_id),
             (unsigned long long)(atomic_load(&svc->n_valid) + atomic_load(&svc->n_invalid)),
             (unsigned long long)atomic_load(&svc->n_valid), (unsigned long long)atomic_load(&svc->n_invalid));
}

void tvs_service_free(tvs_service *svc)
{
    if (!svc)
        return;
    if (svc->watch_ev)
        event_free(svc->watch_ev);
    for (int i = 0; i < svc->n_workers; i++) {
        tvs_worker *w = &svc->workers[i];
        if (w->started) {
            ssize_t r = write(w->wake[1], "x", 1);
            (void)r; /* a full pipe already holds a wake-up */
            pthread_join(w->thread, NULL);
        }
        worker_free(w);
    }
    free(svc->workers);
    SSL_CTX_free(svc->ctx);
    ck_trustcache_free(svc->cache);
    config_copy_free(&svc->cfg);
    pthread_mutex_destroy(&svc->cache_mu);
    free(svc);
}

void tvs_service_set_tracker(tvs_service *svc, struct phone_track *t) { svc->track = t; }

unsigned tvs_service_workers(const tvs_service *svc) { return (unsigned)svc->n_workers; }
