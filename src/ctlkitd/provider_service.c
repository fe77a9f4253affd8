/* CTL Provider transport: TLS connections carrying one request at a time
 * (see provider_service.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2 */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "ctlkit/cluster.h"
#include "ctlkit/provider.h"
#include "ctlkit/provider_ops.h"
#include "ctlkit/tls_policy.h"
#include "ctlkit/x509.h"
#include "log.h"
#include "netaddr.h"
#include "provider_service.h"
#include "tls_server.h"

typedef struct pconn pconn;
typedef struct pjob pjob;

/* One request handed to the worker thread, or (pc NULL) an audit summary
 * the worker wrote, coming back for the daemon's log. */
struct pjob {
    pconn *pc;
    uint8_t *frame;              /* wiped and freed by the worker */
    size_t len;
    ck_provider_session sess;    /* the worker's copy; pc->sess is not touched meanwhile */
    uint8_t *resp;
    size_t resp_len;
    unsigned delay_ms;
    bool close_after;
    int rc;
    char line[256];
    STAILQ_ENTRY(pjob) link;
};

STAILQ_HEAD(jobq, pjob);
typedef struct jobq jobq;

struct provider_service {
    provider_config cfg;
    char listen_text[NETADDR_STRLEN];
    char *cluster_dir;
    char *node_dir, *node;       /* NULL for a cluster folder */
    SSL_CTX *ctx;
    int fd;                      /* bound listening socket until the listener owns it */
    int port;
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *resume;        /* re-enables accepting after EMFILE */
    ck_cluster *cluster;
    unsigned backoff_ms;         /* the first login back-off (0: the guard's default) */
    LIST_HEAD(pconn_list, pconn) conns; /* open connections */
    int n_conns;
    unsigned long long n_accepted, n_requests; /* stats, on the loop's thread */
    unsigned long long n_ok, n_refused, n_error; /* answered requests by outcome (metrics) */
    ck_pv_guard *guard;          /* failed logins across connections: the worker's only */
    /* The worker thread: password hashes, the cluster lock, the store and
     * publishing run there, never on the loop that TFTP shares. */
    pthread_t worker;
    bool worker_running;
    pthread_mutex_t mu;          /* guards todo, done, stopping */
    pthread_cond_t cv;
    jobq todo, done;
    bool stopping;
    int wake[2];                 /* the worker writes a byte when done has jobs */
    struct event *wake_ev;
};

struct pconn {
    provider_service *svc;
    struct bufferevent *bev;
    struct event *delay;         /* holds back the answer to a failed login */
    struct event *deadline;      /* end of the handshake or of the next request */
    uint8_t *pending;            /* the response waiting for delay */
    size_t pending_len;
    bool close_after;            /* close once the response is written */
    bool busy;                   /* a job for this connection is with the worker */
    bool dead;                   /* closed while busy: the job's return frees it */
    ck_provider_session sess;
    LIST_ENTRY(pconn) link;      /* in the service's conns */
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

static void jobq_push(jobq *q, pjob *j) { STAILQ_INSERT_TAIL(q, j, link); }

static pjob *jobq_pop(jobq *q)
{
    pjob *j = STAILQ_FIRST(q);
    if (j)
        STAILQ_REMOVE_HEAD(q, link);
    return j;
}

static void job_free(pjob *j)
{
    if (!j)
        return;
    if (j->frame) {
        OPENSSL_cleanse(j->frame, j->len);
        free(j->frame);
    }
    free(j->resp);
    free(j);
}

/* Closes the connection. While its job is with the worker only the socket
 * and timers go: the connection stays counted (a client that hangs up
 * cannot queue work without bound) and the job's return frees it. */
static void conn_free(pconn *pc)
{
    provider_service *svc = pc->svc;
    if (pc->delay)
        event_free(pc->delay);
    if (pc->deadline)
        event_free(pc->deadline);
    pc->delay = pc->deadline = NULL;
    free(pc->pending);
    pc->pending = NULL;
    if (pc->bev) {
        SSL *ssl = bufferevent_openssl_get_ssl(pc->bev);
        if (ssl)
            SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN); /* no close_notify wait on a dead peer */
        bufferevent_free(pc->bev);
        pc->bev = NULL;
    }
    if (pc->busy) {
        pc->dead = true;
        return;
    }
    LIST_REMOVE(pc, link);
    svc->n_conns--;
    free(pc);
}

static void on_read(struct bufferevent *bev, void *arg);

/* An absolute deadline: the bufferevent's read timeout restarts on every
 * byte, so a client trickling its request would never meet it. */
static void set_deadline(pconn *pc)
{
    int ms = pc->svc->cfg.timeout_ms;
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    evtimer_add(pc->deadline, &tv);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    pconn *pc = arg;
    dlog(DLOG_INFO, "CTL Provider: %s timed out", pc->sess.peer);
    conn_free(pc);
}

static void send_response(pconn *pc)
{
    struct evbuffer *out = bufferevent_get_output(pc->bev);
    if (evbuffer_add(out, pc->pending, pc->pending_len) != 0) {
        dlog(DLOG_ERR, "CTL Provider: out of memory answering %s", pc->sess.peer);
        pc->close_after = true;
    }
    free(pc->pending);
    pc->pending = NULL;
    pc->pending_len = 0;
    set_deadline(pc); /* answered: the next request has the time from now */
    /* The next request is read once this answer is written (on_write):
     * a client that sends without reading must not make us buffer
     * answers without bound. */
}

static void on_delay(evutil_socket_t fd, short what, void *arg)
{
    pconn *pc = arg;
    send_response(pc);
}

/* The worker's answer to one request, back on the loop. */
static void finish_job(pconn *pc, pjob *j)
{
    pc->busy = false;
    pc->sess = j->sess;
    /* A warning marks a refusal (a bad login, a CTL turned down). */
    if (j->rc < 0)
        pc->svc->n_error++;
    else if (j->sess.log_warning)
        pc->svc->n_refused++;
    else
        pc->svc->n_ok++;
    if (j->rc < 0) {
        dlog(DLOG_ERR, "CTL Provider: out of memory answering %s", pc->sess.peer);
        conn_free(pc);
        return;
    }
    if (pc->sess.log[0])
        dlog(pc->sess.log_warning ? DLOG_WARNING : DLOG_NOTICE, "%s", pc->sess.log);
    if (pc->sess.log_summary[0])
        dlog(DLOG_WARNING, "%s", pc->sess.log_summary);
    pc->pending = j->resp;
    pc->pending_len = j->resp_len;
    j->resp = NULL;
    pc->close_after = j->close_after;
    if (j->delay_ms) {
        struct timeval tv = {.tv_sec = j->delay_ms / 1000, .tv_usec = (j->delay_ms % 1000) * 1000};
        if (evtimer_add(pc->delay, &tv) == 0)
            return;
    }
    send_response(pc);
}

/* Hands the frame (malloc'd; the job owns it now) to the worker. One
 * request at a time: nothing is read from this peer until it is answered. */
static void handle_frame(pconn *pc, uint8_t *frame, size_t len)
{
    provider_service *svc = pc->svc;
    pjob *j = calloc(1, sizeof *j);
    if (!j) {
        OPENSSL_cleanse(frame, len);
        free(frame);
        dlog(DLOG_ERR, "CTL Provider: out of memory reading from %s", pc->sess.peer);
        conn_free(pc);
        return;
    }
    j->pc = pc;
    j->frame = frame;
    j->len = len;
    j->sess = pc->sess;
    j->sess.guard = svc->guard;
    bufferevent_disable(pc->bev, EV_READ);
    /* The worker may wait for the cluster lock: its time is not the
     * client's (send_response sets the deadline again). */
    evtimer_del(pc->deadline);
    pc->busy = true;
    svc->n_requests++;
    pthread_mutex_lock(&svc->mu);
    jobq_push(&svc->todo, j);
    pthread_cond_signal(&svc->cv);
    pthread_mutex_unlock(&svc->mu);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    pconn *pc = arg;
    if (pc->pending || pc->busy)
        return;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t have = evbuffer_get_length(in);
    if (have < CK_PV_HDR_LEN)
        return;
    uint8_t hdr[CK_PV_HDR_LEN], type;
    uint32_t body;
    evbuffer_copyout(in, hdr, sizeof hdr);
    if (ck_pv_header(hdr, sizeof hdr, &type, &body, NULL) < 0) {
        /* Answer from the header alone: the handler names the problem and
         * asks to close; nothing more is read from this peer. */
        evbuffer_drain(in, have);
        uint8_t *h = malloc(sizeof hdr);
        if (!h) {
            dlog(DLOG_ERR, "CTL Provider: out of memory reading from %s", pc->sess.peer);
            conn_free(pc);
            return;
        }
        memcpy(h, hdr, sizeof hdr);
        handle_frame(pc, h, sizeof hdr);
        return;
    }
    size_t need = CK_PV_HDR_LEN + (size_t)body;
    if (have < need) {
        /* Wait for the rest, reading no more than this frame. */
        bufferevent_setwatermark(bev, EV_READ, need, need);
        return;
    }
    bufferevent_setwatermark(bev, EV_READ, 0, CK_PV_HDR_LEN + CK_PV_MAX_BODY);
    uint8_t *frame = evbuffer_pullup(in, (ssize_t)need);
    if (!frame) {
        dlog(DLOG_ERR, "CTL Provider: out of memory reading from %s", pc->sess.peer);
        conn_free(pc);
        return;
    }
    /* The frame may hold a password: wipe it in the buffer, then drain it,
     * before answering (which may read the next request). */
    uint8_t *copy = malloc(need);
    if (!copy) {
        dlog(DLOG_ERR, "CTL Provider: out of memory reading from %s", pc->sess.peer);
        conn_free(pc);
        return;
    }
    memcpy(copy, frame, need);
    OPENSSL_cleanse(frame, need);
    evbuffer_drain(in, need);
    handle_frame(pc, copy, need);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    pconn *pc = arg;
    if (pc->pending || pc->busy || evbuffer_get_length(bufferevent_get_output(bev)) != 0)
        return;
    if (pc->close_after) {
        conn_free(pc);
        return;
    }
    bufferevent_enable(bev, EV_READ); /* the next request */
    /* A request that arrived while this one was answered is already
     * buffered: no new bytes will wake on_read for it. */
    if (evbuffer_get_length(bufferevent_get_input(bev)) >= CK_PV_HDR_LEN)
        on_read(bev, pc);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    pconn *pc = arg;
    if (what & BEV_EVENT_CONNECTED)
        return;
    if (what & BEV_EVENT_TIMEOUT)
        dlog(DLOG_INFO, "CTL Provider: %s timed out", pc->sess.peer);
    else if (what & BEV_EVENT_ERROR) {
        unsigned long e = bufferevent_get_openssl_error(bev);
        char buf[160] = "";
        if (e)
            ERR_error_string_n(e, buf, sizeof buf);
        dlog(DLOG_INFO, "CTL Provider: connection from %s failed%s%s", pc->sess.peer, e ? ": " : "", buf);
    }
    conn_free(pc);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
    provider_service *svc = arg;
    char peer[NETADDR_STRLEN];
    netaddr_format(sa, peer, sizeof peer);
    if (svc->n_conns >= svc->cfg.max_conns) {
        dlog(DLOG_WARNING, "CTL Provider: refusing %s: %d connections already", peer, svc->n_conns);
        evutil_closesocket(fd);
        return;
    }
    pconn *pc = calloc(1, sizeof *pc);
    SSL *ssl = SSL_new(svc->ctx);
    if (!pc || !ssl) {
        dlog(DLOG_ERR, "CTL Provider: out of memory accepting %s", peer);
        free(pc);
        SSL_free(ssl);
        evutil_closesocket(fd);
        return;
    }
    pc->svc = svc;
    snprintf(pc->sess.peer, sizeof pc->sess.peer, "%s", peer);
    pc->bev = bufferevent_openssl_socket_new(svc->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    pc->delay = evtimer_new(svc->base, on_delay, pc);
    pc->deadline = evtimer_new(svc->base, on_deadline, pc);
    LIST_INSERT_HEAD(&svc->conns, pc, link);
    svc->n_accepted++;
    svc->n_conns++;
    if (!pc->bev || !pc->delay || !pc->deadline) {
        if (!pc->bev) {
            SSL_free(ssl);
            evutil_closesocket(fd);
        }
        dlog(DLOG_ERR, "CTL Provider: cannot set up the connection from %s", peer);
        conn_free(pc);
        return;
    }
    struct timeval tv = {.tv_sec = svc->cfg.timeout_ms / 1000, .tv_usec = (svc->cfg.timeout_ms % 1000) * 1000};
    bufferevent_set_timeouts(pc->bev, &tv, &tv);
    set_deadline(pc);
    bufferevent_setwatermark(pc->bev, EV_READ, 0, CK_PV_HDR_LEN + CK_PV_MAX_BODY);
    bufferevent_setcb(pc->bev, on_read, on_write, on_event, pc);
    bufferevent_enable(pc->bev, EV_READ | EV_WRITE);
    dlog(DLOG_INFO, "CTL Provider: connection from %s", peer);
}

/* Loop side: the worker's finished jobs. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    provider_service *svc = arg;
    char buf[64];
    while (read(fd, buf, sizeof buf) > 0)
        ;
    pthread_mutex_lock(&svc->mu);
    jobq done = STAILQ_HEAD_INITIALIZER(done);
    STAILQ_CONCAT(&done, &svc->done);
    pthread_mutex_unlock(&svc->mu);
    for (pjob *j; (j = jobq_pop(&done));) {
        pconn *pc = j->pc;
        if (!pc)
            dlog(DLOG_WARNING, "%s", j->line);
        else if (pc->dead) {
            pc->busy = false;
            conn_free(pc);
        } else
            finish_job(pc, j);
        job_free(j);
    }
}

static void worker_done(provider_service *svc, pjob *j)
{
    pthread_mutex_lock(&svc->mu);
    jobq_push(&svc->done, j);
    pthread_mutex_unlock(&svc->mu);
    ssize_t w = write(svc->wake[1], "", 1);
    (void)w; /* a full pipe already holds a wake-up */
}

/* Summaries of failed logins that came due: written to the audit here,
 * logged by the loop. */
static void worker_tick(provider_service *svc)
{
    char line[256];
    while (ck_provider_audit_due(svc->cluster, svc->guard, now_ms(), line, sizeof line)) {
        pjob *j = calloc(1, sizeof *j);
        if (!j)
            return;
        snprintf(j->line, sizeof j->line, "%s", line);
        worker_done(svc, j);
    }
}

static void *worker_main(void *arg)
{
    provider_service *svc = arg;
    uint64_t last_tick = now_ms();
    pthread_mutex_lock(&svc->mu);
    while (!svc->stopping) {
        pjob *j = jobq_pop(&svc->todo);
        if (!j) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&svc->cv, &svc->mu, &until);
        }
        pthread_mutex_unlock(&svc->mu);
        if (j) {
            j->sess.now_ms = now_ms();
            j->rc = ck_provider_handle(svc->cluster, &j->sess, j->frame, j->len, &j->resp, &j->resp_len,
                                       &j->delay_ms, &j->close_after);
            OPENSSL_cleanse(j->frame, j->len);
            free(j->frame);
            j->frame = NULL;
            ERR_clear_error(); /* the queue is per thread: leave it clean for the next request */
            worker_done(svc, j);
        }
        if (now_ms() - last_tick >= 1000) {
            last_tick = now_ms();
            worker_tick(svc);
        }
        pthread_mutex_lock(&svc->mu);
    }
    pthread_mutex_unlock(&svc->mu);
    return NULL;
}

void provider_service_set_backoff(provider_service *svc, unsigned first_ms)
{
    svc->backoff_ms = first_ms;
}

/* The cluster as this service sees it: across hosts, from the
 * publisher's node folder. */
static int open_cluster(const provider_service *svc, ck_cluster **out, ck_err *err)
{
    ck_cluster_where where = {.address = svc->cluster_dir, .dir = svc->node_dir, .node = svc->node_dir ? svc->node : NULL};
    return ck_cluster_open_at(&where, "ctl-provider", out, err);
}

provider_service *provider_service_new(const provider_config *cfg, ck_err *err)
{
    provider_service *svc = calloc(1, sizeof *svc);
    if (!svc) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        return NULL;
    }
    svc->cfg = *cfg;
    svc->fd = -1;
    svc->wake[0] = svc->wake[1] = -1;
    pthread_mutex_init(&svc->mu, NULL);
    pthread_cond_init(&svc->cv, NULL);
    STAILQ_INIT(&svc->todo);
    STAILQ_INIT(&svc->done);
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
    /* Fail now, in the terminal, if the cluster cannot be opened. */
    ck_cluster *probe = NULL;
    if (open_cluster(svc, &probe, err) < 0)
        goto fail;
    ck_cluster_close(probe);
    if (!(svc->ctx = tls_server_ctx_new(cfg->cert_key_pem, "CTL Provider", cfg->tls_min, err)))
        goto fail;
    /* Only the copies this service owns stay reachable. */
    svc->cfg.cert_key_pem = NULL;
    svc->cfg.cluster_dir = svc->cluster_dir;
    svc->cfg.node_dir = svc->node_dir;
    svc->cfg.node = svc->node;
    netaddr addr;
    if (netaddr_parse(cfg->listen, CK_PV_PORT, &addr, err) < 0) {
        ck_err_prefix(err, "CTL Provider address");
        goto fail;
    }
    svc->fd = socket(addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (svc->fd < 0 || setsockopt(svc->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(svc->fd, (struct sockaddr *)&addr.ss, addr.len) < 0 || listen(svc->fd, 16) < 0) {
        ck_fail(err, CK_EIO, "CTL Provider: cannot listen on %s: %s", cfg->listen, strerror(errno));
        goto fail;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(svc->fd, (struct sockaddr *)&ss, &sl);
    netaddr_format((struct sockaddr *)&ss, svc->listen_text, sizeof svc->listen_text);
    svc->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    svc->cfg.listen = svc->listen_text;
    return svc;
fail:
    provider_service_free(svc);
    return NULL;
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    provider_service *svc = arg;
    evconnlistener_enable(svc->listener);
}

/* Out of file descriptors (or another accept error): the listening socket
 * stays readable, so accepting again at once would spin the loop. Pause
 * for a moment instead; the connections in flight free descriptors. */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
    provider_service *svc = arg;
    int e = EVUTIL_SOCKET_ERROR();
    dlog(DLOG_WARNING, "CTL Provider: cannot accept (%s); pausing for 100 ms", evutil_socket_error_to_string(e));
    evconnlistener_disable(l);
    struct timeval tv = {0, 100000};
    if (svc->resume)
        event_add(svc->resume, &tv);
}

int provider_service_start(provider_service *svc, struct event_base *base, ck_err *err)
{
    svc->base = base;
    if (open_cluster(svc, &svc->cluster, err) < 0)
        return -1;
    ck_pv_guard_cfg gcfg;
    ck_pv_guard_cfg_init(&gcfg);
    if (svc->backoff_ms)
        gcfg.backoff_ms = svc->backoff_ms;
    if (!(svc->guard = ck_pv_guard_new(&gcfg)))
        return ck_fail(err, CK_ENOMEM, "out of memory");
    if (pipe2(svc->wake, O_CLOEXEC | O_NONBLOCK) < 0)
        return ck_fail(err, CK_EIO, "CTL Provider worker pipe: %s", strerror(errno));
    svc->wake_ev = event_new(base, svc->wake[0], EV_READ | EV_PERSIST, on_wake, svc);
    if (!svc->wake_ev || event_add(svc->wake_ev, NULL) < 0)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    /* Signals belong to the loop's thread. */
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGSYS); /* --seccomp=trap reports a refused call on the thread that made it */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int e = pthread_create(&svc->worker, NULL, worker_main, svc);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0)
        return ck_fail(err, CK_EIO, "cannot start the CTL Provider's worker thread: %s", strerror(e));
    svc->worker_running = true;
    svc->listener = evconnlistener_new(base, on_accept, svc, LEV_OPT_CLOSE_ON_FREE, -1, svc->fd);
    if (!svc->listener)
        return ck_fail(err, CK_EIO, "CTL Provider: cannot accept on %s", svc->listen_text);
    svc->fd = -1; /* the listener owns it now */
    evconnlistener_set_error_cb(svc->listener, on_accept_error);
    svc->resume = evtimer_new(base, on_resume, svc);
    dlog(DLOG_NOTICE, "CTL Provider listening on %s (TLS %s and later), cluster %s", svc->listen_text,
         ck_tls_version_name(svc->cfg.tls_min), ck_cluster_name(svc->cluster));
    return 0;
}

void provider_service_metrics(const provider_service *svc, struct evbuffer *out)
{
    evbuffer_add_printf(out,
                        "# HELP ctlkit_provider_requests_total CTL Provider requests answered, by outcome.\n"
                        "# TYPE ctlkit_provider_requests_total counter\n"
                        "ctlkit_provider_requests_total{result=\"ok\"} %llu\n"
                        "ctlkit_provider_requests_total{result=\"refused\"} %llu\n"
                        "ctlkit_provider_requests_total{result=\"error\"} %llu\n"
                        "# HELP ctlkit_provider_connections_active CTL Provider connections open.\n"
                        "# TYPE ctlkit_provider_connections_active gauge\n"
                        "ctlkit_provider_connections_active %d\n",
                        svc->n_ok, svc->n_refused, svc->n_error, svc->n_conns);
}

void provider_service_stats(const provider_service *svc, char *buf, size_t len)
{
    snprintf(buf, len, "%d connections open, %llu accepted, %llu requests", svc->n_conns, svc->n_accepted,
             svc->n_requests);
}

int provider_service_port(const provider_service *svc) { return svc->port; }

void provider_service_free(provider_service *svc)
{
    if (!svc)
        return;
    if (svc->worker_running) {
        /* The request in hand is finished (a publish is not cut in two);
         * the queued ones are dropped with their connections. */
        pthread_mutex_lock(&svc->mu);
        svc->stopping = true;
        pthread_cond_signal(&svc->cv);
        pthread_mutex_unlock(&svc->mu);
        pthread_join(svc->worker, NULL);
    }
    for (jobq *q = &svc->todo; q; q = q == &svc->todo ? &svc->done : NULL)
        for (pjob *j; (j = jobq_pop(q));) {
            if (j->pc)
                j->pc->busy = false;
            if (j->pc && j->pc->dead)
                conn_free(j->pc);
            job_free(j);
        }
    pconn *pc;
    while ((pc = LIST_FIRST(&svc->conns)))
        conn_free(pc);
    if (svc->wake_ev)
        event_free(svc->wake_ev);
    for (int i = 0; i < 2; i++)
        if (svc->wake[i] >= 0)
            close(svc->wake[i]);
    ck_pv_guard_free(svc->guard);
    pthread_cond_destroy(&svc->cv);
    pthread_mutex_destroy(&svc->mu);
    if (svc->resume)
        event_free(svc->resume);
    if (svc->listener)
        evconnlistener_free(svc->listener);
    if (svc->fd >= 0)
        close(svc->fd);
    SSL_CTX_free(svc->ctx);
    ck_cluster_close(svc->cluster);
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
    char pem[PATH_MAX], addr[NETADDR_STRLEN];
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
