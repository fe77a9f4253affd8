/* One connection of a TLS service (tls_conn.h): handshake, then frames
 * answered in order until the client closes, sends something malformed,
 * or misses its deadline.
 *
 * The socket is driven directly with SSL_read/SSL_write on a persistent
 * libevent event (no bufferevents): per connection there is one SSL, one
 * input buffer capped at max_frame, and one output buffer. One timer holds
 * either an absolute deadline, which only a complete answered request
 * moves, or the hold-back of an answer (delay_ms). */
#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tls_internal.h"

enum conn_state { ST_HANDSHAKE, ST_READ, ST_DELAY, ST_WRITE };

#define IN_FIRST 4096u

struct tls_conn {
    tls_worker *w;
    LIST_ENTRY(tls_conn) link; /* in the worker's conns */
    unsigned long long id;
    int fd;
    SSL *ssl;
    struct event *ev;   /* persistent I/O event */
    struct event *timer;
    short armed;        /* EV_READ or EV_WRITE: what ev waits for */
    bool readable;      /* ev reported readable since the last WANT_READ */
    bool close_after;   /* close once out is written */
    enum conn_state state;
    unsigned requests;
    uint8_t *in;
    size_t in_len, in_cap;
    ck_buf out;
    size_t out_off;
    char peer[CK_NETADDR_STRLEN];
    struct sockaddr_storage peer_sa; /* for handlers that key on the address (phone tracking) */
    /* the service's per-connection data follows (conn_data_size) */
    max_align_t data[];
};

static void conn_cb(evutil_socket_t fd, short what, void *arg);
static void timer_cb(evutil_socket_t fd, short what, void *arg);
static void drive(tls_conn *c);

void *tls_conn_arg(const tls_conn *c) { return c->w->srv->cfg.arg; }
void *tls_conn_data(tls_conn *c) { return c->data; }
const char *tls_conn_peer(const tls_conn *c) { return c->peer; }
const struct sockaddr *tls_conn_peer_addr(const tls_conn *c) { return (const struct sockaddr *)&c->peer_sa; }
unsigned long long tls_conn_id(const tls_conn *c) { return c->id; }
int tls_conn_worker(const tls_conn *c) { return c->w->idx; }
unsigned tls_conn_requests(const tls_conn *c) { return c->requests; }

static void conn_free(tls_conn *c)
{
    tls_srv *s = c->w->srv;
    if (c->state == ST_HANDSHAKE)
        atomic_fetch_add_explicit(&s->handshake_failed, 1, memory_order_relaxed);
    if (s->cfg.ops->close)
        s->cfg.ops->close(c);
    LIST_REMOVE(c, link);
    if (c->ev)
        event_free(c->ev);
    if (c->timer)
        event_free(c->timer);
    /* No close_notify of our own: either the client closed first (and is
     * no longer reading) or we are dropping a client that misbehaved. The
     * frames carry their length, so nothing is ambiguous. */
    SSL_free(c->ssl);
    if (c->fd >= 0)
        close(c->fd);
    if (s->cfg.secret_input && c->in)
        OPENSSL_cleanse(c->in, c->in_cap);
    free(c->in);
    ck_buf_free(&c->out);
    if (s->sources)
        source_counts_release(s->sources, (struct sockaddr *)&c->peer_sa);
    free(c);
    atomic_fetch_sub_explicit(&s->conns, 1, memory_order_relaxed);
    ERR_clear_error(); /* the queue is per thread: leave it clean for the next connection */
}

void tls_conn_close_all(tls_worker *w)
{
    tls_conn *c;
    while ((c = LIST_FIRST(&w->conns)))
        conn_free(c);
}

static void set_timer(tls_conn *c, unsigned ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(c->timer, &tv);
}

static int arm(tls_conn *c, short what)
{
    if (c->armed == what)
        return 0;
    if (c->armed)
        event_del(c->ev);
    c->armed = 0;
    if (!what)
        return 0;
    if (event_assign(c->ev, c->w->base, c->fd, what | EV_PERSIST, conn_cb, c) < 0 || event_add(c->ev, NULL) < 0)
        return -1;
    c->armed = what;
    return 0;
}

void tls_conn_accept(tls_worker *w, int fd, const struct sockaddr *sa, unsigned long long id)
{
    tls_srv *s = w->srv;
    tls_conn *c = calloc(1, sizeof *c + s->cfg.conn_data_size);
    if (!c) {
        dlog(DLOG_ERR, "%s: out of memory accepting a connection", s->name);
        close(fd);
        if (s->sources)
            source_counts_release(s->sources, sa);
        atomic_fetch_sub_explicit(&s->conns, 1, memory_order_relaxed);
        return;
    }
    c->w = w;
    c->fd = fd;
    c->id = id;
    ck_buf_init(&c->out, 0);
    ck_netaddr_format(sa, c->peer, sizeof c->peer);
    memcpy(&c->peer_sa, sa, sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    LIST_INSERT_HEAD(&w->conns, c, link);
    /* Before the SSL is made: open may change the context (tls_srv_set_ctx),
     * and this connection already gets the new one. */
    if (s->cfg.ops->open)
        s->cfg.ops->open(c);

    /* TCP_NODELAY comes from the listener (tls_srv.c). */
    c->ssl = SSL_new(tls_worker_ctx(w));
    c->ev = event_new(w->base, -1, 0, NULL, NULL);
    c->timer = evtimer_new(w->base, timer_cb, c);
    c->state = ST_HANDSHAKE;
    if (!c->ssl || !c->ev || !c->timer || SSL_set_fd(c->ssl, fd) != 1) {
        dlog(DLOG_ERR, "%s: cannot set up connection %llu from %s: out of memory", s->name, c->id, c->peer);
        conn_free(c);
        return;
    }
    SSL_set_accept_state(c->ssl);
    set_timer(c, (unsigned)s->cfg.timeout_ms);
    /* The listener defers accept until the ClientHello has arrived
     * (TCP_DEFER_ACCEPT), so start the handshake now; if it is not there
     * after all, the handshake asks to wait for EV_READ. */
    drive(c);
}

/* Makes room for the next read; frame_len has already refused any frame
 * larger than max_frame, so the buffer never grows past it. Growing moves
 * the bytes and, for a service whose frames hold secrets, wipes the old
 * block (realloc would leave the copy in freed memory). */
static int make_room(tls_conn *c)
{
    if (c->in_cap - c->in_len > 0)
        return 0;
    size_t max = c->w->srv->cfg.max_frame;
    size_t cap = c->in_cap ? c->in_cap * 2 : IN_FIRST;
    if (cap > max)
        cap = max;
    if (cap <= c->in_len)
        return -1;
    uint8_t *p = malloc(cap);
    if (!p)
        return -1;
    if (c->in_len)
        memcpy(p, c->in, c->in_len);
    if (c->in && c->w->srv->cfg.secret_input)
        OPENSSL_cleanse(c->in, c->in_cap);
    free(c->in);
    c->in = p;
    c->in_cap = cap;
    return 0;
}

/* After a failed SSL call: 1 = wait (event armed), 0 = connection freed. */
static int ssl_wait(tls_conn *c, int r, const char *doing)
{
    const char *name = c->w->srv->name;
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
            dlog(DLOG_INFO, "%s: %s closed the connection in the middle of a request", name, c->peer);
        else
            dlog(DLOG_DEBUG, "%s: %s closed the connection after %u request(s)", name, c->peer, c->requests);
        break;
    case SSL_ERROR_SYSCALL:
        if (errno && errno != ECONNRESET && errno != EPIPE)
            dlog(DLOG_INFO, "%s: %s: %s failed: %s", name, c->peer, doing, strerror(errno));
        else
            dlog(DLOG_DEBUG, "%s: %s went away during %s after %u request(s)", name, c->peer, doing, c->requests);
        break;
    default: {
        unsigned long ec = ERR_peek_last_error();
        const char *why = ec ? ERR_reason_error_string(ec) : NULL;
        dlog(DLOG_INFO, "%s: %s: %s failed: %s", name, c->peer, doing, why ? why : "TLS error");
        break;
    }
    }
    conn_free(c);
    return 0;
}

/* Hands one whole frame to the service: 0 = an answer (or none) is ready,
 * -1 = connection freed. */
static int handle(tls_conn *c, size_t flen)
{
    tls_srv *s = c->w->srv;
    c->out.len = 0;
    c->out.failed = false;
    c->out_off = 0;
    tls_reply r = {.out = &c->out};
    int rc = s->cfg.ops->handle(c, c->in, flen, &r);
    atomic_fetch_add_explicit(&s->requests, 1, memory_order_relaxed);
    c->requests++;
    /* The frame is answered: drop it (and wipe it, if it may hold a
     * password) before anything else is read. */
    memmove(c->in, c->in + flen, c->in_len - flen);
    c->in_len -= flen;
    if (s->cfg.secret_input)
        OPENSSL_cleanse(c->in + c->in_len, flen);
    if (rc < 0 || c->out.failed) {
        if (c->out.failed)
            dlog(DLOG_ERR, "%s: %s: out of memory answering", s->name, c->peer);
        conn_free(c);
        return -1;
    }
    c->close_after = r.close_after;
    if (r.delay_ms) {
        /* Hold the answer back: neither read nor write meanwhile, and the
         * wait is the server's, not the client's time. */
        if (arm(c, 0) < 0) {
            conn_free(c);
            return -1;
        }
        c->state = ST_DELAY;
        set_timer(c, r.delay_ms);
        return 0;
    }
    c->state = ST_WRITE;
    return 0;
}

/* The server's first frame (ops->greet), written as an answer is:
 * 0 = on its way (or none), -1 = connection freed. */
static int greet(tls_conn *c)
{
    c->out.len = 0;
    c->out.failed = false;
    c->out_off = 0;
    tls_reply r = {.out = &c->out};
    c->w->srv->cfg.ops->greet(c, &r);
    if (c->out.failed) {
        dlog(DLOG_ERR, "%s: %s: out of memory greeting", c->w->srv->name, c->peer);
        conn_free(c);
        return -1;
    }
    c->close_after = r.close_after;
    if (c->out.len)
        c->state = ST_WRITE;
    return 0;
}

/* Answers one connection may give in one go before the worker turns to
 * its other connections: a client that pipelines requests while reading
 * the answers would otherwise keep the worker to itself (and keep its
 * other connections' timers from running). */
#define DRIVE_BUDGET 32

static void drive(tls_conn *c)
{
    tls_srv *s = c->w->srv;
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
            dlog(DLOG_DEBUG, "%s: %s: %s with %s", s->name, c->peer, SSL_get_version(c->ssl),
                 SSL_get_cipher_name(c->ssl));
            c->state = ST_READ;
            c->readable = false;
            if (s->cfg.ops->greet && greet(c) < 0)
                return;
            break;

        case ST_READ: {
            size_t flen = 0;
            tls_frame f = s->cfg.ops->frame_len(c, c->in, c->in_len, &flen);
            if (f == TLS_FRAME_BAD || (f == TLS_FRAME_READY && (flen == 0 || flen > c->in_len))) {
                conn_free(c);
                return;
            }
            if (f == TLS_FRAME_READY) {
                if (handle(c, flen) < 0)
                    return;
                ERR_clear_error(); /* the handler's own errors are not the next SSL call's */
                if (c->state == ST_DELAY)
                    return;
                break;
            }
            /* Nothing buffered in OpenSSL and no readiness reported: wait
             * instead of paying for a read(2) that says EAGAIN. */
            if (!c->readable && !SSL_has_pending(c->ssl)) {
                if (arm(c, EV_READ) < 0)
                    conn_free(c);
                return;
            }
            if (make_room(c) < 0) {
                dlog(DLOG_ERR, "%s: %s: out of memory reading a request", s->name, c->peer);
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

        case ST_DELAY:
            return; /* the timer moves on */

        case ST_WRITE:
            if (c->out_off < c->out.len) {
                r = SSL_write(c->ssl, c->out.data + c->out_off, (int)(c->out.len - c->out_off));
                if (r <= 0) {
                    ssl_wait(c, r, "writing an answer");
                    return;
                }
                c->out_off += (size_t)r;
                if (c->out_off < c->out.len)
                    break;
            }
            if (c->close_after) {
                conn_free(c);
                return;
            }
            /* Answered: the next request has the idle time from now. */
            set_timer(c, (unsigned)s->cfg.idle_ms);
            c->state = ST_READ;
            /* Wait for the poll to report the next request (or the close)
             * instead of reading at once: a one-shot client has not sent
             * anything yet, so that read(2) would only say EAGAIN. Nothing
             * is missed: the event is level-triggered, so bytes already in
             * the socket are reported on the next turn, and bytes OpenSSL
             * has already taken in are seen by SSL_has_pending. */
            c->readable = false;
            if (c->armed != EV_READ && arm(c, EV_READ) < 0) {
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
    tls_conn *c = arg;
    if (what & EV_READ)
        c->readable = true;
    drive(c);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    tls_conn *c = arg;
    tls_srv *s = c->w->srv;
    if (c->state == ST_DELAY) {
        /* The hold-back is over: the client has the time from now. */
        c->state = ST_WRITE;
        set_timer(c, (unsigned)s->cfg.idle_ms);
        drive(c);
        return;
    }
    const char *phase = c->state == ST_HANDSHAKE ? "in the TLS handshake"
                        : c->in_len              ? "in the middle of a request"
                        : c->state == ST_WRITE   ? "not reading its answer"
                        : c->requests            ? "idle after its last answer"
                                                 : "silent after the handshake";
    dlog(DLOG_INFO, "%s: %s timed out %s (%u request(s) answered): closing", s->name, c->peer, phase, c->requests);
    conn_free(c);
}
