/* The phone's side of a CAPF session (capf_client.h). */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "capf_client.h"
#include "ctlkit/bytes.h"
#include "ctlkit/capf.h"
#include "ctlkit/capf_server.h"
#include "keypool.h"
#include "source.h"

/* The certificates of trust_pem (or trust_certs) as the only anchors; the server's name is
 * not checked (phones check the certificate against their trust list). */
static SSL_CTX *client_ctx(const ph_capf_cfg *cfg, ck_err *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        ck_fail_ssl(err, CK_ENOMEM, "cannot make a TLS context");
        return NULL;
    }
    if (cfg->trust_pem && SSL_CTX_load_verify_locations(ctx, cfg->trust_pem, NULL) != 1) {
        SSL_CTX_free(ctx);
        ck_fail_ssl(err, CK_EINVAL, "cannot load the CAPF certificate %s", cfg->trust_pem);
        return NULL;
    }
    if (!cfg->trust_pem && !cfg->n_trust_certs) {
        SSL_CTX_free(ctx);
        ck_fail(err, CK_EINVAL, "no CAPF certificate to trust (no CAPF record in the phone's CTL or ITL)");
        return NULL;
    }
    for (size_t i = 0; !cfg->trust_pem && i < cfg->n_trust_certs; i++)
        if (X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), cfg->trust_certs[i]) != 1) {
            SSL_CTX_free(ctx);
            ck_fail_ssl(err, CK_ECRYPTO, "cannot trust the CAPF certificate");
            return NULL;
        }
    X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (cfg->model->tls_min < TLS1_2_VERSION)
        SSL_CTX_set_security_level(ctx, 0);
    if (SSL_CTX_set_min_proto_version(ctx, cfg->model->tls_min) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, cfg->model->tls_max) != 1 ||
        (cfg->model->tls_suites && SSL_CTX_set_cipher_list(ctx, cfg->model->tls_suites) != 1)) {
        SSL_CTX_free(ctx);
        ck_fail_ssl(err, CK_ECRYPTO, "cannot set the %s's TLS versions", cfg->model->name);
        return NULL;
    }
    return ctx;
}

/* The session's deadline on a blocking socket. SO_RCVTIMEO alone bounds
 * each recv, so a server sending a byte just before each timeout would
 * keep the phone for ever; so before every recv and send of the TLS
 * connection (a BIO callback: a single SSL_read may make many) the socket's
 * timeout becomes the shorter of the per-read one and the time left, and
 * once none is left no recv or send is tried. */
typedef struct limit {
    int fd;
    unsigned timeout_ms;
    int64_t end_ms; /* CLOCK_MONOTONIC; 0: no deadline */
    bool expired;
} limit;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sets the socket's timeouts for the next call; -1 when the deadline has passed. */
static int limit_next(limit *l)
{
    int64_t ms = l->timeout_ms;
    if (l->end_ms) {
        /* +1: the wait ends at or after the deadline, never just before
         * it (whole milliseconds), so that a time-out there is the deadline's. */
        int64_t left = l->end_ms - now_ms();
        if (left <= 0) {
            l->expired = true;
            return -1;
        }
        if (left + 1 < ms)
            ms = left + 1;
    }
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    return setsockopt(l->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
                   setsockopt(l->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0
               ? -1
               : 0;
}

static bool limit_passed(limit *l)
{
    return l->expired || (l->end_ms && now_ms() >= l->end_ms);
}

static long on_bio(BIO *b, int oper, const char *argp, size_t len, int argi, long argl, int ret, size_t *processed)
{
    if (oper != BIO_CB_READ && oper != BIO_CB_WRITE) /* before the call; not its return (BIO_CB_RETURN) */
        return ret;
    return limit_next((limit *)BIO_get_callback_arg(b)) < 0 ? -1 : ret;
}

/* Puts the TLS connection's every recv and send under l. */
static bool limit_tls(SSL *ssl, limit *l)
{
    BIO *b = SSL_get_rbio(ssl); /* SSL_set_fd: one socket BIO reads and writes */
    BIO_set_callback_ex(b, on_bio);
    BIO_set_callback_arg(b, (char *)l);
    return true;
}

static int read_full(SSL *ssl, uint8_t *p, size_t n, ck_err *err)
{
    while (n) {
        int r = SSL_read(ssl, p, (int)n);
        if (r <= 0)
            return ck_fail(err, CK_EIO, "the CAPF server closed the connection or went silent");
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* One frame from the server into buf (at least CK_CAPF_MAX_FRAME bytes), parsed into m. */
static int recv_msg(SSL *ssl, uint8_t *buf, ck_capf_msg *m, ck_err *err)
{
    ck_capf_header h;
    if (read_full(ssl, buf, CK_CAPF_HEADER_LEN, err) < 0 || ck_capf_parse_header(buf, CK_CAPF_HEADER_LEN, &h, err) < 0 ||
        read_full(ssl, buf + CK_CAPF_HEADER_LEN, h.body_len, err) < 0)
        return -1;
    return ck_capf_parse(buf, CK_CAPF_HEADER_LEN + (size_t)h.body_len, m, err);
}

/* Builds m and sends it as one TLS record (phones and servers expect the
 * header and body together). */
static int send_msg(SSL *ssl, const ck_capf_msg *m, ck_err *err)
{
    ck_buf b;
    ck_buf_init(&b, 0);
    int rc = ck_capf_build(m, &b, err);
    if (rc == 0 && SSL_write(ssl, b.data, (int)b.len) != (int)b.len)
        rc = ck_fail(err, CK_EIO, "writing to the CAPF server failed");
    ck_buf_free(&b);
    return rc;
}

static int send_auth(SSL *ssl, const ph_capf_cfg *cfg, uint32_t id, ck_err *err)
{
    ck_capf_msg m;
    ck_capf_msg_init(&m, CK_CAPF_AUTH_RESP, id);
    m.present = CK_CAPF_BIT(CK_CAPF_TAG_REASON) | CK_CAPF_BIT(CK_CAPF_TAG_VERSION) | CK_CAPF_BIT(CK_CAPF_TAG_DEVICE) |
                CK_CAPF_BIT(CK_CAPF_TAG_PASSWORD);
    m.reason = CK_CAPF_REASON_UPDATE;
    m.version = CK_CAPF_VERSION;
    m.device = cfg->device;
    m.password = cfg->auth_string ? cfg->auth_string : "";
    m.password_len = strlen(m.password);
    /* Precedence to the LSC, then the MIC: the server's mode decides
     * whether it looks at them. */
    X509 *cert = cfg->lsc ? cfg->lsc : cfg->mic;
    EVP_PKEY *key = cfg->lsc ? cfg->lsc_key : cfg->mic_key;
    uint8_t *der = NULL, sig1[1024], sig2[1024];
    size_t l1 = sizeof sig1, l2 = sizeof sig2;
    int n = cert && key ? i2d_X509(cert, &der) : 0;
    if (n > 0) {
        if (ck_capf_prove(key, cfg->device, der, (size_t)n, CK_CAPF_HASH_SHA1, sig1, &l1, err) < 0 ||
            ck_capf_prove(key, cfg->device, der, (size_t)n, CK_CAPF_HASH_SHA512, sig2, &l2, err) < 0) {
            OPENSSL_free(der);
            return -1;
        }
        m.present |= CK_CAPF_BIT(CK_CAPF_TAG_CERT) | CK_CAPF_BIT(CK_CAPF_TAG_SIGNED_DATA) |
                     CK_CAPF_BIT(CK_CAPF_TAG_SHA2_SIGNED_DATA);
        m.cert = der;
        m.cert_len = (size_t)n;
        m.cert_wrap_type = CK_CAPF_CERT_LSC;
        m.signed_data = sig1;
        m.signed_data_len = l1;
        m.sha2_signed = (ck_capf_sig){CK_CAPF_HASH_SHA512, sig2, l2};
    }
    int rc = send_msg(ssl, &m, err);
    OPENSSL_free(der);
    return rc;
}

/* The key KEY_GENERATE_REQUEST asks for: the given (pool) key when there
 * is one, which must be of that kind, else a new one. */
static EVP_PKEY *key_for(const ph_capf_cfg *cfg, const ck_capf_msg *req, ck_err *err)
{
    static const unsigned curve_bits[] = {256, 384, 521};
    ph_keyspec k = {.ec = req->key_type == CK_CAPF_KEY_EC,
                    .bits = req->key_type == CK_CAPF_KEY_EC ? curve_bits[req->curve % 3] : req->key_size};
    if (!cfg->given_key)
        return ph_keyspec_generate(&k, err);
    char name[16];
    if (!ph_keyspec_matches(&k, cfg->given_key)) {
        ck_fail(err, CK_EINVAL, "the server asked for a %s key; the one given with --key is not one",
                ph_keyspec_name(&k, name, sizeof name));
        return NULL;
    }
    EVP_PKEY_up_ref(cfg->given_key);
    return cfg->given_key;
}

/* KEY_GENERATE_REQUEST: makes the key (saying REQUEST_IN_PROGRESS first,
 * as phones do), answers with its SubjectPublicKeyInfo. */
static int on_keygen(SSL *ssl, const ph_capf_cfg *cfg, const ck_capf_msg *req, ph_capf_result *r, ck_err *err)
{
    ck_capf_msg m;
    ck_capf_msg_init(&m, CK_CAPF_REQUEST_IN_PROGRESS, req->hdr.session);
    if (send_msg(ssl, &m, err) < 0)
        return -1;
    EVP_PKEY *key = key_for(cfg, req, err);
    if (!key)
        return -1;
    uint8_t *spki = NULL;
    int n = i2d_PUBKEY(key, &spki);
    if (n <= 0) {
        EVP_PKEY_free(key);
        return ck_fail_ssl(err, CK_ECRYPTO, "encoding the public key failed");
    }
    ck_capf_msg_init(&m, CK_CAPF_KEYGEN_RESP, req->hdr.session);
    m.present = CK_CAPF_BIT(CK_CAPF_TAG_PUBLIC_KEY);
    m.public_key = spki;
    m.public_key_len = (size_t)n;
    int rc = send_msg(ssl, &m, err);
    OPENSSL_free(spki);
    EVP_PKEY_free(r->new_key);
    r->new_key = key;
    return rc;
}

/* STORE_CERTIFICATE_REQUEST: keeps the LSC when it is for the key made. */
static int on_store(SSL *ssl, const ck_capf_msg *req, ph_capf_result *r, ck_err *err)
{
    const unsigned char *p = req->cert;
    X509 *lsc = d2i_X509(NULL, &p, (long)req->cert_len);
    bool ok = lsc && r->new_key && EVP_PKEY_eq(X509_get0_pubkey(lsc), r->new_key) == 1;
    ERR_clear_error();
    ck_capf_msg m;
    ck_capf_msg_init(&m, CK_CAPF_STORE_CERT_RESP, req->hdr.session);
    m.present = CK_CAPF_BIT(CK_CAPF_TAG_REASON);
    m.reason = ok ? CK_CAPF_REASON_UPDATE : CK_CAPF_REASON_INVALID;
    if (ok) {
        X509_free(r->new_lsc);
        r->new_lsc = lsc;
    } else {
        X509_free(lsc);
    }
    return send_msg(ssl, &m, err);
}

static int on_fetch(SSL *ssl, const ph_capf_cfg *cfg, const ck_capf_msg *req, ck_err *err)
{
    X509 *cert = cfg->lsc ? cfg->lsc : cfg->mic;
    uint8_t *der = NULL;
    int n = cert ? i2d_X509(cert, &der) : 0;
    ck_capf_msg m;
    ck_capf_msg_init(&m, CK_CAPF_FETCH_CERT_RESP, req->hdr.session);
    m.present = CK_CAPF_BIT(CK_CAPF_TAG_REASON);
    m.reason = n > 0 ? CK_CAPF_REASON_UPDATE : CK_CAPF_REASON_INVALID;
    if (n > 0) {
        m.present |= CK_CAPF_BIT(CK_CAPF_TAG_CERT);
        m.cert = der;
        m.cert_len = (size_t)n;
        m.cert_wrap_type = cfg->lsc ? CK_CAPF_CERT_LSC : CK_CAPF_CERT_MIC;
    }
    int rc = send_msg(ssl, &m, err);
    OPENSSL_free(der);
    return rc;
}

static int on_delete(SSL *ssl, const ph_capf_cfg *cfg, const ck_capf_msg *req, ph_capf_result *r, ck_err *err)
{
    ck_capf_msg m;
    ck_capf_msg_init(&m, CK_CAPF_DELETE_CERT_RESP, req->hdr.session);
    m.present = CK_CAPF_BIT(CK_CAPF_TAG_REASON);
    r->deleted = cfg->lsc != NULL;
    m.reason = r->deleted ? CK_CAPF_REASON_UPDATE : CK_CAPF_REASON_INVALID;
    return send_msg(ssl, &m, err);
}

static int converse(SSL *ssl, const ph_capf_cfg *cfg, ph_capf_result *r, ck_err *err)
{
    uint8_t *buf = malloc(CK_CAPF_MAX_FRAME);
    if (!buf)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    ck_capf_msg m;
    int rc = recv_msg(ssl, buf, &m, err);
    if (rc == 0 && m.hdr.command != CK_CAPF_AUTH_REQ)
        rc = ck_fail(err, CK_EFORMAT, "the server began with %s, not AUTH_REQUEST", ck_capf_command_name(m.hdr.command));
    uint32_t id = m.hdr.session;
    r->session = id;
    if (rc == 0)
        rc = send_auth(ssl, cfg, id, err);
    while (rc == 0) {
        if ((rc = recv_msg(ssl, buf, &m, err)) < 0)
            break;
        if (m.hdr.session != id) {
            rc = ck_fail(err, CK_EFORMAT, "the server changed the session id");
            break;
        }
        /* One operation a session: a second request (a second key, or a
         * delete after an install) would leave the result describing two
         * (a new key with the LSC of the first, which the phone would then
         * save as a pair that does not match). */
        bool starts = m.hdr.command == CK_CAPF_KEYGEN_REQ || m.hdr.command == CK_CAPF_FETCH_CERT_REQ ||
                      m.hdr.command == CK_CAPF_DELETE_CERT_REQ;
        if (starts && strcmp(r->operation, "none") != 0) {
            rc = ck_fail(err, CK_EFORMAT, "the server sent %s after starting %s in the same session",
                         ck_capf_command_name(m.hdr.command), r->operation);
            break;
        }
        switch (m.hdr.command) {
        case CK_CAPF_KEYGEN_REQ:
            r->operation = "install";
            rc = on_keygen(ssl, cfg, &m, r, err);
            break;
        case CK_CAPF_STORE_CERT_REQ:
            rc = on_store(ssl, &m, r, err);
            break;
        case CK_CAPF_FETCH_CERT_REQ:
            r->operation = "troubleshoot";
            rc = on_fetch(ssl, cfg, &m, err);
            break;
        case CK_CAPF_DELETE_CERT_REQ:
            r->operation = "delete";
            rc = on_delete(ssl, cfg, &m, r, err);
            break;
        case CK_CAPF_END_SESSION:
            r->end_reason = m.reason;
            free(buf);
            return 0;
        default:
            rc = ck_fail(err, CK_EFORMAT, "unexpected %s from the server", ck_capf_command_name(m.hdr.command));
        }
    }
    free(buf);
    return -1;
}

int ph_capf_run(const ph_capf_cfg *cfg, ph_capf_result *r, ck_err *err)
{
    memset(r, 0, sizeof *r);
    r->end_reason = -1;
    r->operation = "none";
    SSL_CTX *ctx = client_ctx(cfg, err);
    if (!ctx)
        return -1;
    int rc = -1;
    SSL *ssl = NULL;
    limit l = {.timeout_ms = cfg->timeout_ms, .end_ms = cfg->deadline_ms ? now_ms() + cfg->deadline_ms : 0};
    int fd = l.fd = ph_source_socket(cfg->source, cfg->server, SOCK_STREAM, err);
    if (fd < 0)
        goto out;
    if (limit_next(&l) < 0 || connect(fd, (const struct sockaddr *)&cfg->server->ss, cfg->server->len) < 0) {
        if (!limit_passed(&l))
            ck_fail(err, CK_EIO, "cannot connect to CAPF %s: %s", cfg->server->text, strerror(errno));
        goto out;
    }
    if (!(ssl = SSL_new(ctx)) || SSL_set_fd(ssl, fd) != 1 || !limit_tls(ssl, &l) || SSL_connect(ssl) != 1) {
        long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
        if (v != X509_V_OK)
            ck_fail(err, CK_EDENIED, "CAPF %s: the server's certificate is not the trusted CAPF certificate (%s)",
                    cfg->server->text, X509_verify_cert_error_string(v));
        else
            ck_fail_ssl(err, CK_EIO, "CAPF %s: TLS handshake failed", cfg->server->text);
        goto out;
    }
    rc = converse(ssl, cfg, r, err);
out:
    if (rc < 0 && fd >= 0 && limit_passed(&l))
        ck_fail(err, CK_EIO, "CAPF %s did not end the session within the %u ms deadline", cfg->server->text,
                cfg->deadline_ms);
    SSL_free(ssl);
    if (fd >= 0)
        close(fd);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}
