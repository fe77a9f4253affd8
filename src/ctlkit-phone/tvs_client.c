/* TVS client on a libevent OpenSSL bufferevent. The TLS layer does not
 * check the server against any CA: a phone's only trust anchor for TVS is
 * the ITL, so the check is "is this exact certificate a TVS record of my
 * ITL", done once the handshake is complete and before anything is sent. */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlkit/bytes.h"
#include "ctlkit/phone.h"
#include "ctlkit/tvs.h"
#include "source.h"
#include "tvs_client.h"

struct ph_tvs_query {
    struct bufferevent *bev;
    struct event *deadline;
    unsigned deadline_ms;
    const ck_tl_file *itl;
    ph_addr server;
    uint32_t session;
    ck_buf req;
    ph_tvs_cb cb;
    void *arg;
    char tls_text[32]; /* what the model speaks, "TLS 1.0" */
    bool connected;    /* the handshake completed */
};

/* libssl would build and check the server's chain itself (a signature
 * check of its self-signed certificate on every handshake) and, under
 * SSL_VERIFY_NONE, throw the verdict away: the ITL decides instead
 * (on_connected), so that work is skipped. */
static int itl_decides(X509_STORE_CTX *store, void *arg)
{
    (void)store;
    (void)arg;
    return 1;
}

static SSL_CTX *client_ctx(ck_err *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        ck_fail_ssl(err, CK_ECRYPTO, "cannot create the TLS context");
        return NULL;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* checked against the ITL instead */
    SSL_CTX_set_cert_verify_callback(ctx, itl_decides, NULL);
    return ctx;
}

/* Each model speaks its own versions and suites (models.c). Setting them on
 * every connection parsed the suite list once per query; a fleet's few
 * models get a context each, made on first use and kept with the shared
 * one (freed with it). */
#define MODEL_CTXS 16
typedef struct model_ctxs {
    size_t n;
    const ph_model *model[MODEL_CTXS];
    SSL_CTX *ctx[MODEL_CTXS];
} model_ctxs;
static int model_ctxs_index = -1;

static void model_ctxs_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    model_ctxs *m = ptr;
    for (size_t i = 0; m && i < m->n; i++)
        SSL_CTX_free(m->ctx[i]);
    free(m);
}

SSL_CTX *ph_tvs_ssl_ctx(ck_err *err)
{
    if (model_ctxs_index < 0 &&
        (model_ctxs_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, model_ctxs_free)) < 0) {
        ck_fail_ssl(err, CK_ECRYPTO, "cannot create the TLS context");
        return NULL;
    }
    SSL_CTX *ctx = client_ctx(err);
    model_ctxs *m = ctx ? calloc(1, sizeof(*m)) : NULL;
    if (ctx && (!m || !SSL_CTX_set_ex_data(ctx, model_ctxs_index, m))) {
        free(m);
        SSL_CTX_free(ctx);
        ck_fail(err, CK_ENOMEM, "out of memory for the TLS contexts");
        return NULL;
    }
    return ctx;
}

/* The context that speaks model's TLS; NULL (err set) if it cannot be made. */
static SSL_CTX *model_ctx(SSL_CTX *shared, const ph_model *model, const char *tls_text, ck_err *err)
{
    model_ctxs *m = SSL_CTX_get_ex_data(shared, model_ctxs_index);
    if (!m) {
        ck_fail(err, CK_EINVAL, "the TLS context was not made by ph_tvs_ssl_ctx");
        return NULL;
    }
    for (size_t i = 0; i < m->n; i++)
        if (m->model[i] == model)
            return m->ctx[i];
    if (m->n == MODEL_CTXS) {
        ck_fail(err, CK_ELIMIT, "more than %d phone models in one process", MODEL_CTXS);
        return NULL;
    }
    SSL_CTX *ctx = client_ctx(err);
    if (!ctx)
        return NULL;
    if (model->tls_min < TLS1_2_VERSION)
        SSL_CTX_set_security_level(ctx, 0);
    if (SSL_CTX_set_min_proto_version(ctx, model->tls_min) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, model->tls_max) != 1 ||
        (model->tls_suites && SSL_CTX_set_cipher_list(ctx, model->tls_suites) != 1)) {
        SSL_CTX_free(ctx);
        ck_fail_ssl(err, CK_ECRYPTO, "cannot set the %s TLS of a %s", tls_text, model->label);
        return NULL;
    }
    m->model[m->n] = model;
    m->ctx[m->n++] = ctx;
    return ctx;
}

static void query_free(ph_tvs_query *q)
{
    if (q->bev)
        bufferevent_free(q->bev); /* BEV_OPT_CLOSE_ON_FREE frees the SSL and the socket */
    if (q->deadline)
        event_free(q->deadline);
    ck_buf_free(&q->req);
    free(q);
}

void ph_tvs_cancel(ph_tvs_query *q)
{
    if (q)
        query_free(q);
}

static void finish(ph_tvs_query *q, ph_tvs_result *r)
{
    ph_tvs_cb cb = q->cb;
    void *arg = q->arg;
    query_free(q);
    cb(arg, r);
}

static void fail(ph_tvs_query *q, ph_tvs_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(ph_tvs_query *q, ph_tvs_status st, const char *fmt, ...)
{
    ph_tvs_result r;
    memset(&r, 0, sizeof(r));
    r.status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r.msg, sizeof(r.msg), fmt, ap);
    va_end(ap);
    finish(q, &r);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    ph_tvs_query *q = arg;
    fail(q, PH_TVS_NETWORK, "TVS %s did not answer within the %u ms deadline", q->server.text, q->deadline_ms);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    ph_tvs_query *q = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t have = evbuffer_get_length(in);
    if (have == 0)
        return;
    const uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)have);
    size_t flen = 0;
    ck_err e;
    ck_tvs_frame fr = ck_tvs_frame_check(p, have, CK_TVS_HEADER_LEN + CK_TVS_MAX_BODY, &flen, &e);
    if (fr == CK_TVS_FRAME_NEED_MORE)
        return;
    if (fr == CK_TVS_FRAME_BAD) {
        fail(q, PH_TVS_NETWORK, "malformed answer from TVS %s: %s", q->server.text, e.msg);
        return;
    }
    ck_tvs_response resp;
    if (ck_tvs_parse_response(p, flen, &resp, &e) < 0) {
        fail(q, PH_TVS_NETWORK, "malformed answer from TVS %s: %s", q->server.text, e.msg);
        return;
    }
    if (resp.hdr.command != CK_TVS_VERIFY_RESP || resp.hdr.session != q->session) {
        fail(q, PH_TVS_NETWORK, "TVS %s answered %s for session %u, not VERIFY session %u", q->server.text,
             ck_tvs_command_name(resp.hdr.command), resp.hdr.session, q->session);
        return;
    }
    ph_tvs_result r;
    memset(&r, 0, sizeof(r));
    r.status = PH_TVS_ANSWERED;
    r.valid = resp.status == CK_TVS_STATUS_VALID;
    r.n_roles = resp.n_roles > sizeof(r.roles) ? sizeof(r.roles) : resp.n_roles;
    if (r.n_roles)
        memcpy(r.roles, resp.roles, r.n_roles);
    r.ttl = resp.has_ttl ? resp.ttl : 0;
    snprintf(r.msg, sizeof(r.msg), "TVS %s: %s", q->server.text, r.valid ? "valid" : "invalid");
    finish(q, &r);
}

/* The handshake is done: is this server one the ITL names as TVS? */
static void on_connected(ph_tvs_query *q)
{
    SSL *ssl = bufferevent_openssl_get_ssl(q->bev);
    X509 *peer = ssl ? SSL_get1_peer_certificate(ssl) : NULL;
    if (!peer) {
        fail(q, PH_TVS_NETWORK, "TVS %s presented no certificate", q->server.text);
        return;
    }
    uint8_t *der = NULL;
    int n = i2d_X509(peer, &der);
    X509_free(peer);
    if (n <= 0) {
        ERR_clear_error();
        fail(q, PH_TVS_NETWORK, "cannot encode the certificate of TVS %s", q->server.text);
        return;
    }
    bool ok = ck_ph_itl_trusts_tvs(q->itl, der, (size_t)n);
    OPENSSL_free(der);
    if (!ok) {
        fail(q, PH_TVS_UNTRUSTED, "TVS %s presented a certificate that is not a TVS record of the installed ITL",
             q->server.text);
        return;
    }
    if (bufferevent_write(q->bev, q->req.data, q->req.len) < 0)
        fail(q, PH_TVS_NETWORK, "cannot send to TVS %s", q->server.text);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    ph_tvs_query *q = arg;
    if (what & BEV_EVENT_CONNECTED) {
        q->connected = true;
        on_connected(q);
        return;
    }
    unsigned long ssl_err = bufferevent_get_openssl_error(bev);
    char reason[160] = "";
    if (ssl_err)
        ERR_error_string_n(ssl_err, reason, sizeof(reason));
    ERR_clear_error();
    if (what & BEV_EVENT_TIMEOUT)
        fail(q, PH_TVS_NETWORK, "TVS %s timed out", q->server.text);
    else if (what & BEV_EVENT_EOF)
        fail(q, PH_TVS_NETWORK, "TVS %s closed the connection without an answer", q->server.text);
    else if (!q->connected && ssl_err)
        /* As a real phone: no common version or suite ends the query. */
        fail(q, PH_TVS_NETWORK, "TVS %s refused the phone's TLS (it speaks %s): %s", q->server.text, q->tls_text,
             reason);
    else
        fail(q, PH_TVS_NETWORK, "TVS %s: connection failed%s%s", q->server.text, reason[0] ? ": " : "", reason);
}

ph_tvs_query *ph_tvs_verify(struct event_base *base, SSL_CTX *ctx, const ph_model *model, const ph_addr *server,
                            const ck_netaddr *source,
                            const ck_tl_file *itl, const char *device, const uint8_t *cert, size_t cert_len, unsigned timeout_ms,
                            unsigned deadline_ms, ph_tvs_cb cb, void *arg, ck_err *err)
{
    static uint32_t next_session = 0x1000;
    ph_tvs_query *q = calloc(1, sizeof(*q));
    if (!q) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        return NULL;
    }
    q->itl = itl;
    q->server = *server;
    q->cb = cb;
    q->arg = arg;
    q->session = next_session++;
    q->deadline_ms = deadline_ms;
    ck_buf_init(&q->req, CK_TVS_HEADER_LEN + CK_TVS_MAX_BODY);
    if (ck_tvs_build_request(CK_TVS_VERIFY_REQ, q->session, device, cert, cert_len, &q->req, err) < 0)
        goto fail;
    ph_model_tls_text(model, q->tls_text, sizeof q->tls_text);
    SSL_CTX *mctx = model_ctx(ctx, model, q->tls_text, err);
    if (!mctx)
        goto fail;
    SSL *ssl = SSL_new(mctx);
    if (!ssl) {
        ck_fail_ssl(err, CK_ECRYPTO, "cannot create a TLS session");
        goto fail;
    }
    /* the phone's own address when it has one: made and bound here,
     * connected (and owned from now on) by the bufferevent */
    int fd = -1;
    if (source && (fd = ph_source_socket(source, server, SOCK_STREAM | SOCK_NONBLOCK, err)) < 0) {
        SSL_free(ssl);
        goto fail;
    }
    q->bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
    if (!q->bev) {
        if (fd >= 0)
            close(fd);
        SSL_free(ssl);
        ck_fail(err, CK_ENOMEM, "cannot create a TLS connection");
        goto fail;
    }
    /* a phone that got its answer just goes away: no close_notify dance */
    bufferevent_openssl_set_allow_dirty_shutdown(q->bev, 1);
    bufferevent_setcb(q->bev, on_read, NULL, on_event, q);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    bufferevent_set_timeouts(q->bev, &tv, &tv);
    bufferevent_enable(q->bev, EV_READ | EV_WRITE);
    if (deadline_ms) {
        struct timeval dl = {deadline_ms / 1000, (deadline_ms % 1000) * 1000};
        if (!(q->deadline = evtimer_new(base, on_deadline, q)) || evtimer_add(q->deadline, &dl) < 0) {
            ck_fail(err, CK_ENOMEM, "cannot set up events");
            goto fail;
        }
    }
    if (bufferevent_socket_connect(q->bev, (const struct sockaddr *)&server->ss, (int)server->len) < 0) {
        ck_fail(err, CK_EIO, "cannot connect to TVS %s", server->text);
        goto fail;
    }
    return q;
fail:
    query_free(q);
    return NULL;
}
