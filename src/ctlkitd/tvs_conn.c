/* One TVS connection: TLS handshake, then requests answered in order until
 * the phone closes, sends something malformed, or misses its deadline.
 *
 * The socket is driven directly with SSL_read/SSL_write on a persistent
 * libevent event (no bufferevents): per connection there is one SSL, one
 * input buffer capped at CK_TVS_MAX_REQUEST, and a fixed response buffer.
 * A separate timer holds an absolute deadline, which only a complete
 * answered request moves, so a client trickling bytes is cut off as surely
 * as a silent one (docs/tvs-protocol.md, "Bad input"). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctlkit/text.h"
#include "ctlkit/trustcache.h"
#include "ctlkit/tvs.h"
#include "ctlkit/x509.h"
#include "netaddr.h"
#include "phone_track.h"
#include "tvs_internal.h"
#include "tvs_log.h"

enum conn_state { ST_HANDSHAKE, ST_READ, ST_WRITE };

/* Large enough for any response: header, status, CK_TVS_MAX_ROLES roles, TTL. */
#define OUT_MAX (CK_TVS_HEADER_LEN + 4 + 3 + CK_TVS_MAX_ROLES + 7)
#define IN_FIRST 4096u

struct tvs_conn {
    tvs_worker *w;
    LIST_ENTRY(tvs_conn) link; /* in the worker's conns */
    unsigned long long id;
    int fd;
    SSL *ssl;
    struct event *ev;   /* persistent I/O event */
    struct event *timer;
    short armed;        /* EV_READ or EV_WRITE: what ev waits for */
    bool readable;      /* ev reported readable since the last WANT_READ */
    enum conn_state state;
    unsigned requests;
    uint8_t *in;
    size_t in_len, in_cap;
    uint8_t out[OUT_MAX];
    size_t out_len, out_off;
    char peer[64];
    struct sockaddr_storage peer_sa; /* for phone tracking */
};

static void conn_cb(evutil_socket_t fd, short what, void *arg);
static void timer_cb(evutil_socket_t fd, short what, void *arg);
static void drive(tvs_conn *c);

static void conn_free(tvs_conn *c)
{
    tvs_worker *w = c->w;
    if (c->state == ST_HANDSHAKE)
        atomic_fetch_add_explicit(&w->svc->n_handshake_failed, 1, memory_order_relaxed);
    LIST_REMOVE(c, link);
    if (c->ev)
        event_free(c->ev);
    if (c->timer)
        event_free(c->timer);
    /* No close_notify of our own: either the phone closed first (and is no
     * longer reading) or we are dropping a client that misbehaved. The
     * response frames carry their length, so nothing is ambiguous. */
    SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    free(c->in);
    free(c);
    atomic_fetch_sub_explicit(&w->svc->conns, 1, memory_order_relaxed);
    ERR_clear_error(); /* the queue is per thread: leave it clean for the next connection */
}

void tvs_conn_close_all(tvs_worker *w)
{
    tvs_conn *c;
    while ((c = LIST_FIRST(&w->conns)))
        conn_free(c);
}

static void set_deadline(tvs_conn *c, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
}

static int arm(tvs_conn *c, short what)
{
    if (c->armed == what)
        return 0;
    if (c->armed)
        event_del(c->ev);
    if (event_assign(c->ev, c->w->base, c->fd, what | EV_PERSIST, conn_cb, c) < 0 || event_add(c->ev, NULL) < 0)
        return -1;
    c->armed = what;
    return 0;
}

void tvs_conn_accept(tvs_worker *w, int fd, const struct sockaddr *sa, socklen_t salen)
{
    tvs_conn *c = calloc(1, sizeof *c);
    if (!c) {
        tvs_log(TVS_LOG_ERROR, "tvs: out of memory accepting a connection");
        close(fd);
        atomic_fetch_sub_explicit(&w->svc->conns, 1, memory_order_relaxed);
        return;
    }
    c->w = w;
    c->fd = fd;
    c->id = atomic_fetch_add_explicit(&w->svc->next_conn_id, 1, memory_order_relaxed) + 1;
    netaddr_format(sa, c->peer, sizeof c->peer);
    if (salen <= sizeof c->peer_sa)
        memcpy(&c->peer_sa, sa, salen);
    LIST_INSERT_HEAD(&w->conns, c, link);

    /* Responses are whole frames written at once: never wait for an ACK. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    c->ssl = SSL_new(w->svc->ctx);
    c->ev = event_new(w->base, -1, 0, NULL, NULL);
    c->timer = evtimer_new(w->base, timer_cb, c);
    if (!c->ssl || !c->ev || !c->timer || SSL_set_fd(c->ssl, fd) != 1) {
        tvs_log(TVS_LOG_ERROR, "tvs: cannot set up connection %llu from %s: out of memory", c->id, c->peer);
        conn_free(c);
        return;
    }
    SSL_set_accept_state(c->ssl);
    c->state = ST_HANDSHAKE;
    set_deadline(c, w->svc->cfg.timeout_ms);
    tvs_log(TVS_LOG_DEBUG, "tvsHandleNewPhConnection : connection %llu from %s", c->id, c->peer);
    /* The listener defers accept until the ClientHello has arrived
     * (TCP_DEFER_ACCEPT), so start the handshake now; if it is not there
     * after all, the handshake asks to wait for EV_READ. */
    drive(c);
}

/* The fallback for names ck_tvs_name_text leaves alone: decode just the
 * Name, not the certificate. */
static char *name_from_der(const uint8_t *p, size_t n, int style)
{
    const unsigned char *q = p;
    X509_NAME *name = d2i_X509_NAME(NULL, &q, (long)n);
    /* style 0: CUCM's; 1 and 2: the CTL Client's (subject, issuer), in
     * which the seed's TVS logs an eToken's names */
    char *s = !name ? NULL : style ? ck_name_ctlclient(name, style == 1) : ck_name_cucm(name);
    X509_NAME_free(name);
    /* A refused name leaves errors in this thread's queue, which the next
     * SSL_get_error would read as a fatal TLS error. */
    ERR_clear_error();
    return s;
}

static void log_lookup_debug(const char *subject, const char *issuer, const char *serial_hex, const ck_tc_entry *db,
                             const ck_tc_entry *ctl)
{
    static const char *const cls[2] = {"CertificateDBCache", "CertificateCTLCache"};
    tvs_log(TVS_LOG_DEBUG, "tvsHandleQueryCertReq : Subject Name is: %s", subject);
    tvs_log(TVS_LOG_DEBUG, "tvsHandleQueryCertReq : Issuer Name is: %s", issuer);
    /* The seed's log for an eToken: its names match the eToken pattern
     * (SAST-... by Cisco Manufacturing CA) before the lookup. */
    if (strstr(issuer, "Cisco Manufacturing CA")) {
        if (strstr(subject, "SAST-"))
            tvs_log(TVS_LOG_DEBUG, "tvsHandleQueryCertReq :subjectName and issuerName matches for eToken certificate");
        tvs_log(TVS_LOG_DEBUG, "tvsHandleQueryCertReq : SAST Issuer Name is: %s", issuer);
        tvs_log(TVS_LOG_DEBUG, "tvsHandleQueryCertReq : This is SAST eToken cert");
    }
    tvs_log(TVS_LOG_DEBUG, "tvsHandleQueryCertReq : Serial Number is: %s", serial_hex);
    const ck_tc_entry *found[2] = {db, ctl};
    for (int s = 0; s < 2; s++) {
        /* As in the seed, only the CTL cache's line gives the ID's length. */
        size_t idlen = strlen(serial_hex) + strlen(issuer);
        if (s == 0)
            tvs_log(TVS_LOG_DEBUG,
                    "%s::getCertificateInformation - Looking up the certificate cache using Unique MAP ID : %s%s",
                    cls[s], serial_hex, issuer);
        else
            tvs_log(TVS_LOG_DEBUG,
                    "%s::getCertificateInformation - Looking up the certificate cache using Unique MAP ID : %s%s, len : "
                    "%zu",
                    cls[s], serial_hex, issuer, idlen);
        if (!found[s]) {
            tvs_log(TVS_LOG_DEBUG, "ERROR:%s::getCertificateInformation - Cannot find the certificate in the cache",
                    cls[s]);
            continue;
        }
        tvs_log(TVS_LOG_DEBUG, "%s::getCertificateInformation - Found entry {rolecount : %zu}", cls[s],
                found[s]->n_roles);
        for (size_t i = 0; i < found[s]->n_roles; i++)
            tvs_log(TVS_LOG_DEBUG, "%s::getCertificateInformation - {role : %u}", cls[s], found[s]->roles[i]);
        break; /* CUCM stops at the first cache that knows the certificate */
    }
}

static void roles_text(const ck_tc_entry *e, char *out, size_t outsz)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < e->n_roles && o < outsz; i++) {
        const char *name = ck_role_name(e->roles[i]);
        int n = name ? snprintf(out + o, outsz - o, "%s%s(%u)", i ? "," : "", name, e->roles[i])
                     : snprintf(out + o, outsz - o, "%s%u", i ? "," : "", e->roles[i]);
        if (n < 0)
            break;
        o += (size_t)n;
    }
}

/* Answers a VERIFY: one SHA-1 of the DER and at most two hash probes. The
 * certificate is parsed only as far as ck_tvs_cert_peek goes; a known
 * certificate's names come from the cache, an unknown one's are rendered
 * from its DER by ck_tvs_name_text (about a microsecond), so an unknown
 * certificate costs no more than a known one. */
static int answer_verify(tvs_conn *c, const uint8_t *frame, const ck_tvs_request *req, ck_buf *out)
{
    ck_err err;
    ck_tvs_cert_view view;
    if (ck_tvs_cert_peek(req->cert, req->cert_len, &view, &err) < 0) {
        tvs_log_bad_input(
                "tvs: %s: %.*s: bad input, closing the connection: certificate element value at offset %zu: %s",
                c->peer, (int)req->device.name_len, req->device.name, (size_t)(req->cert - frame), err.msg);
        return -1;
    }
    const ck_trustcache *tc = tvs_worker_cache(c->w);
    const ck_tc_entry *e = tc ? ck_trustcache_lookup(tc, req->cert, req->cert_len, NULL) : NULL;
    uint32_t ttl = c->w->svc->cfg.ttl;
    atomic_fetch_add_explicit(e ? &c->w->svc->n_valid : &c->w->svc->n_invalid, 1, memory_order_relaxed);
    if (c->w->svc->track)
        phone_track_tvs(c->w->svc->track, (unsigned)c->w->idx, (const struct sockaddr *)&c->peer_sa,
                        req->device.model, req->device.model_len, req->device.mac, e != NULL);

    int rc = e ? ck_tvs_build_response(CK_TVS_VERIFY_RESP, req->hdr.session, CK_TVS_STATUS_VALID, e->roles,
                                       e->n_roles, ttl, out, &err)
               : ck_tvs_build_response(CK_TVS_VERIFY_RESP, req->hdr.session, CK_TVS_STATUS_INVALID, NULL, 0, 0,
                                       out, &err);
    if (rc < 0) {
        tvs_log(TVS_LOG_ERROR, "tvs: %s: cannot build the answer: %s", c->peer, err.msg);
        return -1;
    }
    if (!tvs_log_enabled(TVS_LOG_INFO))
        return 0;

    char serial_hex[2 * CK_TC_MAX_SERIAL + 1];
    char *subj = NULL, *iss = NULL, subj_text[512], iss_text[512];
    const char *subject, *issuer;
    if (e) {
        subject = e->subject;
        issuer = e->issuer;
        memcpy(serial_hex, e->serial_hex, sizeof serial_hex);
    } else {
        /* The cheap renderer covers the names certificates carry; anything
         * else goes through OpenSSL (about ten times the cost). */
        if (ck_tvs_name_text(view.subject, view.subject_len, subj_text, sizeof subj_text) == 0)
            subject = subj_text;
        else
            subject = (subj = name_from_der(view.subject, view.subject_len, 0)) ? subj : "(undecodable)";
        if (ck_tvs_name_text(view.issuer, view.issuer_len, iss_text, sizeof iss_text) == 0)
            issuer = iss_text;
        else
            issuer = (iss = name_from_der(view.issuer, view.issuer_len, 0)) ? iss : "(undecodable)";
        size_t sn = view.serial_len > CK_TC_MAX_SERIAL ? CK_TC_MAX_SERIAL : view.serial_len;
        ck_hex(view.serial, sn, 0, true, serial_hex, sizeof serial_hex);
    }
    char subject_buf[512], issuer_buf[512];
    subject = ck_printable(subject, strlen(subject), subject_buf, sizeof subject_buf, 0); /* the client's names */
    issuer = ck_printable(issuer, strlen(issuer), issuer_buf, sizeof issuer_buf, 0);
    if (tvs_log_enabled(TVS_LOG_DEBUG)) {
        char *tsubj = NULL, *tiss = NULL, tsubj_buf[512], tiss_buf[512];
        const char *dsubj = subject, *diss = issuer;
        if (strstr(issuer, "Cisco Manufacturing CA") && (tsubj = name_from_der(view.subject, view.subject_len, 1)) &&
            (tiss = name_from_der(view.issuer, view.issuer_len, 2))) {
            dsubj = ck_printable(tsubj, strlen(tsubj), tsubj_buf, sizeof tsubj_buf, 0);
            diss = ck_printable(tiss, strlen(tiss), tiss_buf, sizeof tiss_buf, 0);
        }
        tvs_log(TVS_LOG_DEBUG, "tvsHandleQueryCertReq");
        log_lookup_debug(dsubj, diss, serial_hex, e && e->source == CK_TC_DB ? e : NULL,
                         e && e->source == CK_TC_CTL ? e : NULL);
        free(tsubj);
        free(tiss);
    }
    if (e) {
        char roles[256];
        roles_text(e, roles, sizeof roles);
        tvs_log(TVS_LOG_INFO,
                "tvsHandleQueryCertReq : %.*s from %s: Subject Name is: %s; Issuer Name is: %s; Serial Number is: %s; "
                "%s::getCertificateInformation - Found entry {rolecount : %zu} roles %s: status valid, TTL %u",
                (int)req->device.name_len, req->device.name, c->peer, subject, issuer, serial_hex,
                ck_tc_source_name(e->source), e->n_roles, roles, ttl);
    } else {
        tvs_log(TVS_LOG_INFO,
                "tvsHandleQueryCertReq : %.*s from %s: Subject Name is: %s; Issuer Name is: %s; Serial Number is: %s; "
                "Cannot find the certificate in CertificateDBCache nor CertificateCTLCache: status invalid",
                (int)req->device.name_len, req->device.name, c->peer, subject, issuer, serial_hex);
    }
    free(subj);
    free(iss);
    return 0;
}

/* One whole frame: a response goes to c->out, -1 means bad input. */
static int handle_frame(tvs_conn *c, const uint8_t *frame, size_t len)
{
    ck_err err;
    ck_tvs_request req;
    if (ck_tvs_parse_request(frame, len, &req, &err) < 0) {
        tvs_log_bad_input("tvs: %s: bad input, closing the connection: %s", c->peer, err.msg);
        return -1;
    }
    ck_buf out;
    ck_buf_init(&out, sizeof c->out);
    int rc;
    if (req.hdr.command == CK_TVS_QUERY_REQ) {
        /* QUERY's layout is not public: answer "invalid" cleanly rather than
         * guess (docs/tvs-protocol.md, "Framing"). */
        tvs_log(TVS_LOG_INFO, "tvsHandleQueryCertReq : %.*s from %s: QUERY request is not supported: status invalid",
                req.has_device ? (int)req.device.name_len : 1, req.has_device ? req.device.name : "?", c->peer);
        rc = ck_tvs_build_response(CK_TVS_QUERY_RESP, req.hdr.session, CK_TVS_STATUS_INVALID, NULL, 0, 0, &out,
                                   &err);
        if (rc < 0)
            tvs_log(TVS_LOG_ERROR, "tvs: %s: cannot build the answer: %s", c->peer, err.msg);
    } else {
        rc = answer_verify(c, frame, &req, &out);
    }
    if (rc == 0) {
        memcpy(c->out, out.data, out.len);
        c->out_len = out.len;
        c->out_off = 0;
    }
    ck_buf_free(&out);
    return rc;
}

/* Makes room for the next read; the frame check has already refused any
 * frame larger than CK_TVS_MAX_REQUEST, so the buffer never grows past it. */
static int make_room(tvs_conn *c)
{
    if (c->in_cap - c->in_len > 0)
        return 0;
    size_t cap = c->in_cap ? c->in_cap * 2 : IN_FIRST;
    if (cap > CK_TVS_MAX_REQUEST)
        cap = CK_TVS_MAX_REQUEST;
    if (cap <= c->in_len)
        return -1;
    uint8_t *p = realloc(c->in, cap);
    if (!p)
        return -1;
    c->in = p;
    c->in_cap = cap;
    return 0;
}

/* After a failed SSL call: 1 = wait (event armed), 0 = connection freed. */
static int ssl_wait(tvs_conn *c, int r, const char *doing)
{
    int e = SSL_get_error(c->ssl, r);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        c->readable = false;
        if (arm(c, EV_READ) == 0)
            return 1;
        break;
    case SSL_ERROR_WANT_WRITE:
        if (arm(c, EV_WRITE) == 0)
            return 1;
        break;
    case SSL_ERROR_ZERO_RETURN:
        if (c->in_len)
            tvs_log(TVS_LOG_INFO, "tvs: %s closed the connection in the middle of a request", c->peer);
        else
            tvs_log(TVS_LOG_DEBUG, "tvs: %s closed the connection after %u request(s)", c->peer, c->requests);
        break;
    case SSL_ERROR_SYSCALL:
        if (errno && errno != ECONNRESET && errno != EPIPE)
            tvs_log(TVS_LOG_INFO, "tvs: %s: %s failed: %s", c->peer, doing, strerror(errno));
        else
            tvs_log(TVS_LOG_DEBUG, "tvs: %s went away during %s after %u request(s)", c->peer, doing, c->requests);
        break;
    default: {
        unsigned long ec = ERR_peek_last_error();
        const char *why = ec ? ERR_reason_error_string(ec) : NULL;
        tvs_log(TVS_LOG_INFO, "tvs: %s: %s failed: %s", c->peer, doing, why ? why : "TLS error");
        break;
    }
    }
    conn_free(c);
    return 0;
}

/* Answers one connection may give in one go before the worker turns to
 * its other connections: a client that pipelines requests while reading
 * the answers would otherwise keep the worker to itself (and keep its
 * other connections' timers from running). */
#define DRIVE_BUDGET 32

static void drive(tvs_conn *c)
{
    unsigned answered = 0;
    /* SSL_get_error reads the thread's error queue: it must be empty before
     * each SSL call (SSL_get_error(3)). */
    ERR_clear_error();
    for (;;) {
        int r;
        switch (c->state) {
        case ST_HANDSHAKE:
            r = SSL_do_handshake(c->ssl);
            if (r != 1) {
                ssl_wait(c, r, "TLS handshake");
                return;
            }
            tvs_log(TVS_LOG_DEBUG, "tvs: %s: %s with %s", c->peer, SSL_get_version(c->ssl),
                    SSL_get_cipher_name(c->ssl));
            c->state = ST_READ;
            c->readable = false;
            break;

        case ST_READ: {
            size_t flen = 0;
            ck_err err;
            ck_tvs_frame f = ck_tvs_frame_check(c->in, c->in_len, CK_TVS_MAX_REQUEST, &flen, &err);
            if (f == CK_TVS_FRAME_BAD) {
                tvs_log_bad_input("tvs: %s: bad input, closing the connection: %s", c->peer, err.msg);
                conn_free(c);
                return;
            }
            if (f == CK_TVS_FRAME_READY) {
                if (handle_frame(c, c->in, flen) < 0) {
                    conn_free(c);
                    return;
                }
                c->requests++;
                memmove(c->in, c->in + flen, c->in_len - flen);
                c->in_len -= flen;
                c->state = ST_WRITE;
                break;
            }
            /* Nothing buffered in OpenSSL and no readiness reported: wait
             * instead of paying for a read(2) that says EAGAIN. */
            if (!c->readable && !SSL_has_pending(c->ssl)) {
                if (arm(c, EV_READ) < 0) {
                    conn_free(c);
                    return;
                }
                return;
            }
            if (make_room(c) < 0) {
                tvs_log(TVS_LOG_ERROR, "tvs: %s: out of memory reading a request", c->peer);
                conn_free(c);
                return;
            }
            r = SSL_read(c->ssl, c->in + c->in_len, (int)(c->in_cap - c->in_len));
            if (r <= 0) {
                ssl_wait(c, r, "reading a request");
                return;
            }
            c->in_len += (size_t)r;
            break;
        }

        case ST_WRITE:
            r = SSL_write(c->ssl, c->out + c->out_off, (int)(c->out_len - c->out_off));
            if (r <= 0) {
                ssl_wait(c, r, "writing an answer");
                return;
            }
            c->out_off += (size_t)r;
            if (c->out_off < c->out_len)
                break;
            /* Answered: the next request has the idle time from now. */
            set_deadline(c, c->w->svc->cfg.idle_ms);
            c->state = ST_READ;
            if (c->armed == EV_WRITE && arm(c, EV_READ) < 0) {
                conn_free(c);
                return;
            }
            if (++answered == DRIVE_BUDGET) {
                /* Come back after the others: the event fires again on
                 * the next turn of the loop as if readable. */
                event_active(c->ev, EV_READ, 0);
                return;
            }
            break;
        }
    }
}

static void conn_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    tvs_conn *c = arg;
    if (what & EV_READ)
        c->readable = true;
    drive(c);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    tvs_conn *c = arg;
    const char *phase = c->state == ST_HANDSHAKE ? "in the TLS handshake"
                        : c->in_len              ? "in the middle of a request"
                        : c->requests            ? "idle after its last answer"
                                                 : "silent after the handshake";
    tvs_log(TVS_LOG_INFO, "tvs: %s timed out %s (%u request(s) answered): closing", c->peer, phase, c->requests);
    conn_free(c);
}
