/* The CTL Client's TLS connection to the CTL Provider: one request, one
 * response, blocking with timeouts (an admin waits at the screen). */
#include <errno.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "ctlclient.h"
#include "ctlkit/bytes.h"
#include "ctlkit/x509.h"

static int split_host(const char *arg, char *host, size_t hsz, char *port, size_t psz, ck_err *err)
{
    const char *colon;
    if (arg[0] == '[') {
        const char *end = strchr(arg, ']');
        if (!end)
            return ck_fail(err, CK_EINVAL, "--host '%s': missing ']'", arg);
        snprintf(host, hsz, "%.*s", (int)(end - arg - 1), arg + 1);
        colon = end[1] == ':' ? end + 1 : NULL;
    } else {
        colon = strrchr(arg, ':');
        if (colon && strchr(arg, ':') != colon)
            colon = NULL; /* a bare IPv6 address */
        snprintf(host, hsz, "%.*s", colon ? (int)(colon - arg) : (int)strlen(arg), arg);
    }
    long long p = CK_PV_PORT;
    if (colon && !ck_parse_ll(colon + 1, 1, 65535, &p))
        return ck_fail(err, CK_EINVAL, "--host '%s': the port must be 1 to 65535", arg);
    snprintf(port, psz, "%lld", p);
    return 0;
}

static int tcp_connect(const char *host, const char *port, int timeout_s, ck_err *err)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0)
        return ck_fail(err, CK_ENOTFOUND, "%s: %s", host, gai_strerror(rc));
    int fd = -1;
    char why[128] = "no address";
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        struct timeval tv = {.tv_sec = timeout_s};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
            snprintf(why, sizeof why, "%s", strerror(errno));
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        return ck_fail(err, CK_EIO, "cannot connect to the CTL Provider at %s port %s: %s", host, port, why);
    return fd;
}

int cc_connect(const char *hostarg, const char *pin_pem, int timeout_s, cc_conn *c, ck_err *err)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    char host[256], port[8];
    if (split_host(hostarg, host, sizeof host, port, sizeof port, err) < 0)
        return -1;
    X509 *pin = NULL;
    if (pin_pem && ck_load_pem(pin_pem, &pin, NULL, false, err) < 0)
        return -1;
    c->fd = tcp_connect(host, port, timeout_s, err);
    if (c->fd < 0) {
        X509_free(pin);
        return -1;
    }
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx || !SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION) || !(c->ssl = SSL_new(c->ctx)) ||
        !SSL_set_fd(c->ssl, c->fd)) {
        X509_free(pin);
        cc_close(c);
        return ck_fail_ssl(err, CK_ECRYPTO, "TLS set-up failed");
    }
    /* The CTL Provider presents the publisher's self-signed CallManager
     * certificate: no CA can vouch for it, so it is pinned (--server-cert)
     * or shown to the admin by fingerprint. */
    SSL_set_verify(c->ssl, SSL_VERIFY_NONE, NULL);
    if (SSL_connect(c->ssl) != 1) {
        X509_free(pin);
        cc_close(c);
        return ck_fail_ssl(err, CK_EIO, "TLS handshake with the CTL Provider at %s failed", hostarg);
    }
    X509 *peer = SSL_get1_peer_certificate(c->ssl);
    if (!peer) {
        X509_free(pin);
        cc_close(c);
        return ck_fail(err, CK_ECRYPTO, "the CTL Provider at %s sent no certificate", hostarg);
    }
    uint8_t fp[32];
    unsigned fpl = 0;
    ck_cert_fingerprint(peer, "sha256", fp, &fpl);
    ck_hex(fp, fpl, ':', true, c->fingerprint, sizeof c->fingerprint);
    char *subj = ck_name_cucm(X509_get_subject_name(peer));
    snprintf(c->subject, sizeof c->subject, "%s", subj ? subj : "?");
    free(subj);
    bool mismatch = pin && X509_cmp(pin, peer) != 0;
    X509_free(peer);
    X509_free(pin);
    if (mismatch) {
        ck_fail(err, CK_EDENIED,
                "the CTL Provider at %s presented a certificate (%s, SHA-256 %s) that is not the one given "
                "with --server-cert; not sending the password",
                hostarg, c->subject, c->fingerprint);
        cc_close(c);
        return -1;
    }
    return 0;
}

static int read_full(cc_conn *c, uint8_t *p, size_t n, ck_err *err)
{
    size_t got = 0;
    while (got < n) {
        int r = SSL_read(c->ssl, p + got, (int)(n - got));
        if (r <= 0) {
            /* A provider that dies (its host crashed, kill -9) leaves a
             * TLS stream without close_notify: OpenSSL 3 reports that as
             * an error, not as a zero return; it is the same closing. */
            int e = SSL_get_error(c->ssl, r);
            bool eof = e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL ||
                       (e == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING);
            bool late = e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
            ERR_clear_error();
            return ck_fail(err, CK_EIO, "%s",
                           eof    ? "the CTL Provider closed the connection"
                           : late ? "the CTL Provider did not answer in time"
                                  : "reading from the CTL Provider failed");
        }
        got += (size_t)r;
    }
    return 0;
}

int cc_call(cc_conn *c, const ck_pv_msg *req, ck_pv_msg *resp, uint8_t **hold, ck_err *err)
{
    *hold = NULL;
    memset(resp, 0, sizeof *resp);
    uint8_t *f = NULL;
    size_t n = 0;
    if (ck_pv_build(req, &f, &n, err) < 0)
        return -1;
    int w = SSL_write(c->ssl, f, (int)n);
    OPENSSL_cleanse(f, n); /* a LOGIN frame holds the password */
    free(f);
    if (w != (int)n) {
        ERR_clear_error();
        return ck_fail(err, CK_EIO, "sending to the CTL Provider failed");
    }
    uint8_t hdr[CK_PV_HDR_LEN], type;
    uint32_t body;
    if (read_full(c, hdr, sizeof hdr, err) < 0 || ck_pv_header(hdr, sizeof hdr, &type, &body, err) < 0)
        return -1;
    uint8_t *frame = malloc(CK_PV_HDR_LEN + (size_t)body);
    if (!frame)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    memcpy(frame, hdr, sizeof hdr);
    if (read_full(c, frame + CK_PV_HDR_LEN, body, err) < 0 ||
        ck_pv_parse(frame, CK_PV_HDR_LEN + (size_t)body, resp, err) < 0) {
        free(frame);
        return -1;
    }
    if (resp->type != (CK_PV_RESPONSE | req->type) && resp->type != CK_PV_ERROR) {
        ck_pv_msg_clear(resp);
        free(frame);
        return ck_fail(err, CK_EFORMAT, "the CTL Provider answered %s with a %s", ck_pv_type_name(req->type),
                       ck_pv_type_name(type));
    }
    *hold = frame;
    return 0;
}

int cc_login(cc_conn *c, const char *user, const char *password, ck_err *err)
{
    ck_pv_msg req = {.type = CK_PV_LOGIN}, resp;
    if (strlen(user) > CK_PV_USER_MAX || strlen(password) > CK_PV_PASSWORD_MAX)
        return ck_fail(err, CK_EINVAL, "user name or password too long");
    snprintf(req.user, sizeof req.user, "%s", user);
    snprintf(req.password, sizeof req.password, "%s", password);
    uint8_t *hold = NULL;
    int rc = cc_call(c, &req, &resp, &hold, err);
    OPENSSL_cleanse(req.password, sizeof req.password);
    if (rc < 0)
        return -1;
    rc = 0;
    if (resp.status != CK_PV_OK)
        rc = ck_fail(err, CK_EDENIED, "login refused by the CTL Provider: %s", resp.message);
    ck_pv_msg_clear(&resp);
    free(hold);
    return rc;
}

void cc_close(cc_conn *c)
{
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    SSL_CTX_free(c->ctx);
    if (c->fd >= 0)
        close(c->fd);
    memset(c, 0, sizeof *c);
    c->fd = -1;
}
