/* The TVS's frames (docs/tvs-protocol.md) for the common TLS model
 * (tls_conn.h): how long a request is, and its answer. The model bounds
 * the input at CK_TVS_MAX_REQUEST and enforces the deadlines, so a client
 * trickling bytes is cut off as surely as a silent one
 * (docs/tvs-protocol.md, "Bad input"). */
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/text.h"
#include "ctlkit/trustcache.h"
#include "ctlkit/tvs.h"
#include "ctlkit/x509.h"
#include "phone_track.h"
#include "tvs_internal.h"
#include "tvs_log.h"

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
static int answer_verify(tls_conn *c, const uint8_t *frame, const ck_tvs_request *req, ck_buf *out)
{
    ck_err err;
    ck_tvs_cert_view view;
    if (ck_tvs_cert_peek(req->cert, req->cert_len, &view, &err) < 0) {
        tvs_log_bad_input(
                "tvs: %s: %.*s: bad input, closing the connection: certificate element value at offset %zu: %s",
                tls_conn_peer(c), (int)req->device.name_len, req->device.name, (size_t)(req->cert - frame), err.msg);
        return -1;
    }
    tvs_service *svc = tls_conn_arg(c);
    const ck_trustcache *tc = tvs_worker_cache_get(svc, tls_conn_worker(c));
    const ck_tc_entry *e = tc ? ck_trustcache_lookup(tc, req->cert, req->cert_len, NULL) : NULL;
    uint32_t ttl = svc->cfg.ttl;
    atomic_fetch_add_explicit(e ? &svc->n_valid : &svc->n_invalid, 1, memory_order_relaxed);
    if (svc->track)
        phone_track_tvs(svc->track, (unsigned)tls_conn_worker(c), tls_conn_peer_addr(c), req->device.model,
                        req->device.model_len, req->device.mac, e != NULL);

    int rc = e ? ck_tvs_build_response(CK_TVS_VERIFY_RESP, req->hdr.session, CK_TVS_STATUS_VALID, e->roles,
                                       e->n_roles, ttl, out, &err)
               : ck_tvs_build_response(CK_TVS_VERIFY_RESP, req->hdr.session, CK_TVS_STATUS_INVALID, NULL, 0, 0,
                                       out, &err);
    if (rc < 0) {
        tvs_log(TVS_LOG_ERROR, "tvs: %s: cannot build the answer: %s", tls_conn_peer(c), err.msg);
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
                (int)req->device.name_len, req->device.name, tls_conn_peer(c), subject, issuer, serial_hex,
                ck_tc_source_name(e->source), e->n_roles, roles, ttl);
    } else {
        tvs_log(TVS_LOG_INFO,
                "tvsHandleQueryCertReq : %.*s from %s: Subject Name is: %s; Issuer Name is: %s; Serial Number is: %s; "
                "Cannot find the certificate in CertificateDBCache nor CertificateCTLCache: status invalid",
                (int)req->device.name_len, req->device.name, tls_conn_peer(c), subject, issuer, serial_hex);
    }
    free(subj);
    free(iss);
    return 0;
}

/* One whole frame: the answer goes to r->out, -1 means bad input. */
static int handle_frame(tls_conn *c, const uint8_t *frame, size_t len, tls_reply *r)
{
    ck_err err;
    ck_tvs_request req;
    if (ck_tvs_parse_request(frame, len, &req, &err) < 0) {
        tvs_log_bad_input("tvs: %s: bad input, closing the connection: %s", tls_conn_peer(c), err.msg);
        return -1;
    }
    if (req.hdr.command != CK_TVS_QUERY_REQ)
        return answer_verify(c, frame, &req, r->out);
    /* QUERY's layout is not public: answer "invalid" cleanly rather than
     * guess (docs/tvs-protocol.md, "Framing"). */
    tvs_log(TVS_LOG_INFO, "tvsHandleQueryCertReq : %.*s from %s: QUERY request is not supported: status invalid",
            req.has_device ? (int)req.device.name_len : 1, req.has_device ? req.device.name : "?", tls_conn_peer(c));
    if (ck_tvs_build_response(CK_TVS_QUERY_RESP, req.hdr.session, CK_TVS_STATUS_INVALID, NULL, 0, 0, r->out, &err) <
        0) {
        tvs_log(TVS_LOG_ERROR, "tvs: %s: cannot build the answer: %s", tls_conn_peer(c), err.msg);
        return -1;
    }
    return 0;
}

static tls_frame frame_len(tls_conn *c, const uint8_t *in, size_t len, size_t *flen)
{
    ck_err err;
    ck_tvs_frame f = ck_tvs_frame_check(in, len, CK_TVS_MAX_REQUEST, flen, &err);
    if (f == CK_TVS_FRAME_BAD) {
        tvs_log_bad_input("tvs: %s: bad input, closing the connection: %s", tls_conn_peer(c), err.msg);
        return TLS_FRAME_BAD;
    }
    return f == CK_TVS_FRAME_READY ? TLS_FRAME_READY : TLS_FRAME_MORE;
}

static void on_open(tls_conn *c)
{
    tvs_log(TVS_LOG_DEBUG, "tvsHandleNewPhConnection : connection %llu from %s", tls_conn_id(c), tls_conn_peer(c));
}

const tls_srv_ops tvs_conn_ops = {.frame_len = frame_len, .handle = handle_frame, .open = on_open};
