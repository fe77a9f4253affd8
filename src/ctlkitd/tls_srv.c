/* A TLS service's listening sockets and worker threads (tls_conn.h); the
 * connections themselves are in tls_conn.c. */
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
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "tls_internal.h"

#define LISTEN_BACKLOG 1024

/* One listening socket on addr (port 0: the kernel picks one). Several
 * workers share the address through SO_REUSEPORT; with one worker the port
 * stays exclusive (a second daemon on it fails to start). */
static int listen_socket(const tls_srv *s, const ck_netaddr *addr, ck_err *err)
{
    int fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ck_fail(err, CK_EIO, "%s socket: %s", s->name, strerror(errno));
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        (s->n_workers > 1 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) ||
        bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
        int e = errno;
        close(fd);
        return ck_fail(err, CK_EIO, "%s cannot listen on %s: %s", s->name, s->cfg.listen, strerror(e));
    }
    /* Hand over a connection only once its ClientHello is there: the worker
     * starts the handshake at once instead of waiting for one more wake-up,
     * and connections that never say anything stay in the kernel. Best
     * effort: without it, accepted sockets simply wait for EV_READ. */
    int defer = 10;
    setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof defer);
    /* Answers are whole frames written at once: never wait for an ACK.
     * Set here, the accepted sockets inherit it (Linux copies the
     * listener's TCP options), which saves a setsockopt per connection. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    tls_worker *w = arg;
    event_add(w->accept_ev, NULL);
}

static bool limit_log_due(tls_srv *s)
{
    long long now = (long long)time(NULL);
    long long last = atomic_load_explicit(&s->last_limit_log, memory_order_relaxed);
    return now != last && atomic_compare_exchange_strong(&s->last_limit_log, &last, now);
}

/* One accept per wake-up: the listener stays readable while more wait, and
 * the loop interleaves them fairly with the handshakes already running. */
static void accept_cb(evutil_socket_t lfd, short what, void *arg)
{
    (void)what;
    tls_worker *w = arg;
    tls_srv *s = w->srv;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* Out of descriptors: stop accepting for a moment instead of
             * spinning on a listener that stays readable. */
            if (limit_log_due(s))
                dlog(DLOG_WARNING, "%s: cannot accept: %s; pausing for 100 ms", s->name, strerror(errno));
            struct timeval tv = {0, 100000};
            event_del(w->accept_ev);
            evtimer_add(w->resume_ev, &tv);
        }
        return;
    }
    if (atomic_fetch_add_explicit(&s->conns, 1, memory_order_relaxed) >= s->cfg.max_conns) {
        atomic_fetch_sub_explicit(&s->conns, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->refused_full, 1, memory_order_relaxed);
        close(fd);
        if (limit_log_due(s))
            dlog(DLOG_WARNING, "%s: %d connections open: refusing new ones", s->name, s->cfg.max_conns);
        return;
    }
    if (s->sources && !source_counts_take(s->sources, (struct sockaddr *)&ss)) {
        atomic_fetch_sub_explicit(&s->conns, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->refused_source, 1, memory_order_relaxed);
        close(fd);
        if (limit_log_due(s)) {
            char from[CK_NETADDR_STRLEN];
            ck_netaddr_format((struct sockaddr *)&ss, from, sizeof from);
            dlog(DLOG_WARNING, "%s: %d connections open from %s: refusing a new one (--max-conns-per-source)",
                 s->name, s->cfg.max_per_source, from);
        }
        return;
    }
    unsigned long long id = atomic_fetch_add_explicit(&s->accepted, 1, memory_order_relaxed) + 1;
    tls_conn_accept(w, fd, (struct sockaddr *)&ss, id);
}

/* The lock is taken only when the context changed since this worker's
 * last accept (a regenerated certificate): the accept path stays free of
 * locks. Connections keep the context they were made with (SSL_new takes
 * a reference), so the old one lives until its last connection ends. */
SSL_CTX *tls_worker_ctx(tls_worker *w)
{
    tls_srv *s = w->srv;
    unsigned gen = atomic_load_explicit(&s->ctx_gen, memory_order_acquire);
    if (gen != w->ctx_gen || !w->ctx) {
        pthread_mutex_lock(&s->ctx_lock);
        SSL_CTX *now = s->cfg.ctx;
        if (SSL_CTX_up_ref(now) == 1) {
            SSL_CTX_free(w->ctx);
            w->ctx = now;
            w->ctx_gen = atomic_load_explicit(&s->ctx_gen, memory_order_relaxed);
        }
        pthread_mutex_unlock(&s->ctx_lock);
    }
    return w->ctx; /* NULL only if no reference could be taken: SSL_new fails, the connection is closed */
}

void tls_srv_set_ctx(tls_srv *s, SSL_CTX *ctx)
{
    pthread_mutex_lock(&s->ctx_lock);
    SSL_CTX *old = s->cfg.ctx;
    s->cfg.ctx = ctx;
    atomic_fetch_add_explicit(&s->ctx_gen, 1, memory_order_release);
    pthread_mutex_unlock(&s->ctx_lock);
    SSL_CTX_free(old); /* the workers' and connections' references keep it while they need it */
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    tls_worker *w = arg;
    event_base_loopbreak(w->base);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    tls_worker *w = arg;
    w->srv->cfg.ops->tick(w->srv->cfg.arg, w->idx);
}

static void *worker_main(void *arg)
{
    tls_worker *w = arg;
    char name[16];
    snprintf(name, sizeof name, "%s-%d", w->srv->thread_name, w->idx);
    pthread_setname_np(pthread_self(), name); /* for top -H and ps -L */
    /* Log lines wait for the end of the loop's turn: the answers go out
     * first, and one write(2) takes the lines of every connection served
     * in that turn. Without it (out of memory) they go out one by one. */
    bool batched = dlog_attach(w->base) == 0;
    event_base_dispatch(w->base);
    tls_conn_close_all(w);
    if (batched)
        dlog_detach();
    return NULL;
}

/* The event loop of one worker, created after any fork (an epoll
 * instance must not be shared with a parent that goes away). */
static int worker_init(tls_worker *w, ck_err *err)
{
    tls_srv *s = w->srv;
    if (pipe2(w->wake, O_CLOEXEC | O_NONBLOCK) < 0)
        return ck_fail(err, CK_EIO, "%s worker pipe: %s", s->name, strerror(errno));
    if (!(w->base = event_base_new()) ||
        !(w->accept_ev = event_new(w->base, w->lfd, EV_READ | EV_PERSIST, accept_cb, w)) ||
        !(w->resume_ev = evtimer_new(w->base, resume_cb, w)) ||
        !(w->wake_ev = event_new(w->base, w->wake[0], EV_READ | EV_PERSIST, wake_cb, w)) ||
        event_add(w->accept_ev, NULL) < 0 || event_add(w->wake_ev, NULL) < 0)
        return ck_fail(err, CK_ENOMEM, "cannot set up a %s worker's event loop", s->name);
    if (s->cfg.tick_ms && s->cfg.ops->tick) {
        struct timeval tv = {s->cfg.tick_ms / 1000, (s->cfg.tick_ms % 1000) * 1000};
        if (!(w->tick_ev = event_new(w->base, -1, EV_PERSIST, tick_cb, w)) || event_add(w->tick_ev, &tv) < 0)
            return ck_fail(err, CK_ENOMEM, "cannot set up a %s worker's event loop", s->name);
    }
    return 0;
}

static void worker_free(tls_worker *w)
{
    if (w->accept_ev)
        event_free(w->accept_ev);
    if (w->resume_ev)
        event_free(w->resume_ev);
    if (w->wake_ev)
        event_free(w->wake_ev);
    if (w->tick_ev)
        event_free(w->tick_ev);
    tls_conn_close_all(w);
    SSL_CTX_free(w->ctx);
    w->ctx = NULL;
    if (w->base)
        event_base_free(w->base);
    if (w->lfd >= 0)
        close(w->lfd);
    for (int i = 0; i < 2; i++)
        if (w->wake[i] >= 0)
            close(w->wake[i]);
}

/* One listening socket per worker, all on the same address and port. */
static int bind_workers(tls_srv *s, ck_err *err)
{
    ck_netaddr addr;
    if (ck_netaddr_parse_listen(s->cfg.listen, s->cfg.default_port, &addr, err) < 0) {
        ck_err_prefix(err, "%s", s->name);
        return -1;
    }
    long n = s->cfg.workers > 0 ? s->cfg.workers : sysconf(_SC_NPROCESSORS_ONLN);
    s->n_workers = (int)(n < 1 ? 1 : n > TLS_SRV_MAX_WORKERS ? TLS_SRV_MAX_WORKERS : n);
    s->workers = calloc((size_t)s->n_workers, sizeof *s->workers);
    if (!s->workers) {
        s->n_workers = 0;
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    for (int i = 0; i < s->n_workers; i++) {
        tls_worker *w = &s->workers[i];
        w->srv = s;
        w->idx = i;
        w->lfd = w->wake[0] = w->wake[1] = -1;
        LIST_INIT(&w->conns);
    }
    for (int i = 0; i < s->n_workers; i++) {
        int lfd = listen_socket(s, &addr, err);
        if (lfd < 0)
            return -1;
        s->workers[i].lfd = lfd;
        if (i == 0) { /* with port 0 the first socket picks the port, the others join it */
            addr.len = sizeof addr.ss;
            getsockname(lfd, (struct sockaddr *)&addr.ss, &addr.len);
        }
    }
    s->port = ck_netaddr_port((const struct sockaddr *)&addr.ss);
    ck_netaddr_format((const struct sockaddr *)&addr.ss, s->address, sizeof s->address);
    return 0;
}

tls_srv *tls_srv_new(const tls_srv_config *cfg, ck_err *err)
{
    tls_srv *s = calloc(1, sizeof *s);
    if (!s) {
        SSL_CTX_free(cfg->ctx);
        ck_fail(err, CK_ENOMEM, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    pthread_mutex_init(&s->ctx_lock, NULL);
    snprintf(s->name, sizeof s->name, "%s", cfg->name);
    snprintf(s->thread_name, sizeof s->thread_name, "%s", cfg->thread_name ? cfg->thread_name : "tls");
    s->cfg.name = s->name;
    s->cfg.thread_name = s->thread_name;
    if (!cfg->ops || !cfg->ops->frame_len || !cfg->ops->handle || !cfg->ctx || cfg->max_conns < 1 ||
        cfg->timeout_ms < 1 || cfg->idle_ms < 1 || cfg->max_frame < 1) {
        ck_fail(err, CK_EINVAL, "%s limits must be positive", s->name);
        goto fail;
    }
    if (cfg->max_per_source < 0) {
        ck_fail(err, CK_EINVAL, "%s: connections per source cannot be negative", s->name);
        goto fail;
    }
    if (cfg->max_per_source > 0 && !(s->sources = source_counts_new(cfg->max_per_source))) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        goto fail;
    }
    if (bind_workers(s, err) < 0)
        goto fail;
    s->cfg.listen = s->address; /* the caller's text is not kept */
    return s;
fail:
    tls_srv_free(s);
    return NULL;
}

int tls_srv_start(tls_srv *s, ck_err *err)
{
    for (int i = 0; i < s->n_workers; i++)
        if (worker_init(&s->workers[i], err) < 0)
            return -1;
    /* Workers take no signals: the daemon's main loop handles them. */
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGSYS); /* --seccomp=trap reports a refused call on the thread that made it */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = 0;
    for (int i = 0; i < s->n_workers; i++) {
        int e = pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]);
        if (e) {
            rc = ck_fail(err, CK_EIO, "cannot start a %s worker thread: %s", s->name, strerror(e));
            break;
        }
        s->workers[i].started = true;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int tls_srv_port(const tls_srv *s) { return s->port; }

int tls_srv_workers(const tls_srv *s) { return s->n_workers; }

const char *tls_srv_address(const tls_srv *s) { return s->address; }

void tls_srv_counts_get(const tls_srv *s, tls_srv_counts *out)
{
    /* The atomics are not modified here: reading through a const pointer. */
    tls_srv *m = (tls_srv *)s;
    out->active = atomic_load_explicit(&m->conns, memory_order_relaxed);
    out->accepted = atomic_load_explicit(&m->accepted, memory_order_relaxed);
    out->requests = atomic_load_explicit(&m->requests, memory_order_relaxed);
    out->handshake_failed = atomic_load_explicit(&m->handshake_failed, memory_order_relaxed);
    out->refused_full = atomic_load_explicit(&m->refused_full, memory_order_relaxed);
    out->refused_source = atomic_load_explicit(&m->refused_source, memory_order_relaxed);
}

void tls_srv_free(tls_srv *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n_workers; i++) {
        tls_worker *w = &s->workers[i];
        if (w->started) {
            ssize_t r = write(w->wake[1], "x", 1);
            (void)r; /* a full pipe already holds a wake-up */
            pthread_join(w->thread, NULL);
        }
        worker_free(w);
    }
    free(s->workers);
    source_counts_free(s->sources); /* after the workers: closing their connections releases counts */
    SSL_CTX_free(s->cfg.ctx);
    pthread_mutex_destroy(&s->ctx_lock);
    free(s);
}
