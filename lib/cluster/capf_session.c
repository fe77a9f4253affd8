/* The CAPF server's session state machine (capf_server.h): what to answer
 * to each frame a phone sends, and what the device row learns. */
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctlkit/capf_server.h"
#include "ctlkit/text.h"
#include "ctlkit/x509.h"
#include "internal.h"

static const char *const outcome_names[CK_CAPF_OUT_N] = {"none",    "issued",  "deleted",   "fetched",
                                                         "no_operation", "refused", "bad_input", "error"};

const char *ck_capf_outcome_name(ck_capf_outcome o)
{
    return o < CK_CAPF_OUT_N ? outcome_names[o] : "unknown";
}

void ck_capf_update_apply(ck_device_row *d, const ck_capf_update *u)
{
    if (u->clear_operation && (!u->if_operation || strcmp(d->operation, u->if_operation) == 0)) {
        snprintf(d->operation, sizeof d->operation, "none");
        d->completes_by = 0;
    }
    if (u->set_lsc || u->clear_lsc) {
        free(d->lsc_pem);
        d->lsc_pem = u->set_lsc && u->lsc_pem ? strdup(u->lsc_pem) : NULL;
        snprintf(d->lsc_serial, sizeof d->lsc_serial, "%s", u->set_lsc ? u->lsc_serial : "");
        d->lsc_not_before = u->set_lsc ? u->lsc_not_before : 0;
        d->lsc_not_after = u->set_lsc ? u->lsc_not_after : 0;
    }
    if (u->result[0]) {
        snprintf(d->last_result, sizeof d->last_result, "%s", u->result);
        d->last_result_at = u->at;
    }
}

static void say(ck_capf_session *s, bool warning, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(ck_capf_session *s, bool warning, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->log, sizeof s->log, fmt, ap);
    va_end(ap);
    s->log_warning = warning;
}

/* END_SESSION with reason; the session is over. */
static int end(ck_capf_session *s, uint8_t reason, ck_capf_outcome o, ck_buf *out, ck_err *err)
{
    s->state = CK_CAPF_ST_DONE;
    s->outcome = o;
    return ck_capf_build_end_session(s->id, reason, out, err) < 0 ? -1 : 0;
}

/* Records the outcome in the row (best effort on a refusal: the answer to
 * the phone does not depend on it). */
static int record(ck_capf_session *s, const ck_capf_devices *db, ck_capf_update *u, ck_err *err)
{
    u->at = s->now;
    u->if_operation = s->operation; /* not one the admin scheduled meanwhile */
    return db->update(db->arg, s->device, u, err);
}

static void record_refusal(ck_capf_session *s, const ck_capf_devices *db, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void record_refusal(ck_capf_session *s, const ck_capf_devices *db, const char *fmt, ...)
{
    ck_capf_update u = {0};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u.result, sizeof u.result, fmt, ap);
    va_end(ap);
    ck_err e = {0};
    if (record(s, db, &u, &e) < 0)
        say(s, true, "CAPF %s: %s; recording it failed: %s", s->device, u.result, e.msg);
}

/* A refusal that is not an authentication's (those are auth_refused's):
 * written as record_refusal does, but with a refusals guard only the
 * first from a source and then summaries, so that a flood of sessions for
 * an expired operation (no authentication needed) does not become a flood
 * of store transactions and audit rows. */
static void refusal(ck_capf_session *s, const ck_capf_devices *db, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void refusal(ck_capf_session *s, const ck_capf_devices *db, const char *fmt, ...)
{
    char result[128], audit[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(result, sizeof result, fmt, ap);
    va_end(ap);
    if (!s->refusals) {
        record_refusal(s, db, "%s", result);
        return;
    }
    const char *src = s->source[0] ? s->source : "?";
    if (!ck_pv_guard_failed(s->refusals, src, s->device, false, s->now_ms, audit, sizeof audit))
        return;
    if (strstr(audit, " in the last "))
        record_refusal(s, db, "%.50s; %.75s", result, audit + strlen("CAPF: "));
    else
        record_refusal(s, db, "%s", result);
}

void ck_capf_refusal_cfg_init(ck_pv_guard_cfg *cfg)
{
    ck_pv_guard_cfg_init(cfg);
    cfg->label = "CAPF";
    cfg->failure = "refused session";
    cfg->failures = "refused sessions";
    cfg->accounts = "devices";
}

void ck_capf_guard_cfg_init(ck_pv_guard_cfg *cfg)
{
    ck_pv_guard_cfg_init(cfg);
    cfg->label = "CAPF";
    cfg->failure = "wrong authentication";
    cfg->failures = "wrong authentications";
    cfg->accounts = "devices";
}

/* A refused authentication (checked: it was checked and wrong; false:
 * refused unchecked while backed off). Without a guard every refusal is
 * recorded in the row and audited; with one, only the first from a source
 * and then summaries, so that a flood of guesses does not become a flood
 * of store transactions. */
static void auth_refused(ck_capf_session *s, const ck_capf_devices *db, const ck_device_row *d, bool checked,
                         const char *why)
{
    char audit[256];
    if (!s->guard) {
        record_refusal(s, db, "%s refused: authentication failed: %s", d->operation, why);
        return;
    }
    const char *src = s->source[0] ? s->source : "?";
    if (!ck_pv_guard_failed(s->guard, src, s->device, checked, s->now_ms, audit, sizeof audit))
        return;
    if (strstr(audit, " in the last "))
        record_refusal(s, db, "%s refused: %.80s", d->operation, audit + strlen("CAPF: "));
    else
        record_refusal(s, db, "%s refused: authentication failed: %s", d->operation, why);
}

static int authenticate(const ck_capf_issuer *iss, const ck_device_row *d, const ck_capf_msg *m, int64_t now,
                        ck_err *err)
{
    if (strcmp(d->auth_mode, "null") == 0)
        return 0;
    if (strcmp(d->auth_mode, "string") == 0) {
        size_t n = strlen(d->auth_string);
        bool ok = (m->present & CK_CAPF_BIT(CK_CAPF_TAG_PASSWORD)) && m->password_len == n && n > 0 &&
                  CRYPTO_memcmp(m->password, d->auth_string, n) == 0;
        return ok ? 0 : ck_fail(err, CK_EDENIED, "the authentication string does not match");
    }
    return ck_capf_check_cert_auth(iss, m, now, err);
}

static int start_operation(ck_capf_session *s, const ck_device_row *d, ck_buf *out, ck_err *err)
{
    ck_capf_msg m;
    snprintf(s->operation, sizeof s->operation, "%s", d->operation);
    if (strcmp(d->operation, "install") == 0) {
        bool ec = strcmp(d->key_type, "ec") == 0;
        s->key_type = ec ? CK_CAPF_KEY_EC : CK_CAPF_KEY_RSA;
        s->key_size = ec ? 0 : (uint16_t)d->key_size;
        s->curve = d->key_size == 521 ? CK_CAPF_CURVE_P521 : d->key_size == 384 ? CK_CAPF_CURVE_P384 : CK_CAPF_CURVE_P256;
        s->state = CK_CAPF_ST_KEYGEN;
        s->keygen_since_ms = s->now_ms;
        say(s, false, "CAPF %s: authenticated (%s); install: asking for a %s key", s->device, d->auth_mode,
            ec ? (s->curve == 0 ? "EC P-256" : s->curve == 1 ? "EC P-384" : "EC P-521")
               : (d->key_size == 1024 ? "RSA-1024" : d->key_size == 4096 ? "RSA-4096" : "RSA-2048"));
        return ck_capf_build_keygen_request(s->id, s->key_type, s->key_size, s->curve, out, err);
    }
    bool del = strcmp(d->operation, "delete") == 0;
    ck_capf_msg_init(&m, del ? CK_CAPF_DELETE_CERT_REQ : CK_CAPF_FETCH_CERT_REQ, s->id);
    s->state = del ? CK_CAPF_ST_DELETE : CK_CAPF_ST_FETCH;
    say(s, false, "CAPF %s: authenticated (%s); %s", s->device, d->auth_mode,
        del ? "delete: asking the phone to delete its LSC" : "troubleshoot: asking for the phone's certificate");
    return ck_capf_build(&m, out, err);
}

static int on_auth(ck_capf_session *s, const ck_capf_issuer *iss, const ck_capf_devices *db, const ck_capf_msg *m,
                   ck_buf *out, ck_err *err)
{
    memcpy(s->device, m->device, CK_CAPF_DEVICE_LEN);
    s->device[CK_CAPF_DEVICE_LEN] = 0;
    ck_device_row d = {0};
    ck_err e = {0};
    if (db->get(db->arg, s->device, &d, &e) < 0) {
        if (e.code == CK_ENOTFOUND) {
            say(s, true, "CAPF %s: unknown device, session ended (UNKNOWN_DEVICE)", s->device);
            return end(s, CK_CAPF_REASON_UNKNOWN_DEVICE, CK_CAPF_OUT_REFUSED, out, err);
        }
        say(s, true, "CAPF %s: the device table cannot be read: %s", s->device, e.msg);
        return end(s, CK_CAPF_REASON_INVALID, CK_CAPF_OUT_ERROR, out, err);
    }
    int rc;
    /* The null string proves nothing and so has nothing to guess. */
    bool guarded = s->guard && strcmp(d.auth_mode, "null") != 0;
    const char *src = s->source[0] ? s->source : "?";
    uint64_t wait = 0;
    if (strcmp(d.operation, "none") == 0) {
        say(s, false, "CAPF %s: no operation pending, session ended (NO_ACTION)", s->device);
        rc = end(s, CK_CAPF_REASON_NO_ACTION, CK_CAPF_OUT_NO_OPERATION, out, err);
    } else if (d.completes_by > 0 && s->now > d.completes_by) {
        say(s, true, "CAPF %s: the %s operation expired, session ended (INVALID_ELEMENT)", s->device, d.operation);
        refusal(s, db, "%s refused: the operation expired", d.operation);
        rc = end(s, CK_CAPF_REASON_INVALID, CK_CAPF_OUT_REFUSED, out, err);
    } else if (guarded && (wait = ck_pv_guard_wait(s->guard, src, s->device, s->now_ms)) > 0) {
        /* Backed off: refused without looking, in the words of a wrong
         * string (END_SESSION 7), so that a guesser learns nothing. */
        say(s, true, "CAPF %s: authentication refused unchecked (%s): backed off for %llu ms more after wrong "
            "authentications; the %s operation stays pending", s->device, d.auth_mode, (unsigned long long)wait,
            d.operation);
        auth_refused(s, db, &d, false, "backed off");
        rc = end(s, CK_CAPF_REASON_INVALID, CK_CAPF_OUT_REFUSED, out, err);
    } else if (authenticate(iss, &d, m, s->now, &e) < 0) {
        say(s, true, "CAPF %s: authentication failed (%s): %s; the %s operation stays pending", s->device, d.auth_mode,
            e.msg, d.operation);
        auth_refused(s, db, &d, true, e.msg);
        rc = end(s, CK_CAPF_REASON_INVALID, CK_CAPF_OUT_REFUSED, out, err);
    } else {
        if (guarded)
            ck_pv_guard_succeeded(s->guard, src, s->device, s->now_ms);
        rc = start_operation(s, &d, out, err);
    }
    ck_device_row_clear(&d);
    return rc;
}

static int on_public_key(ck_capf_session *s, const ck_capf_issuer *iss, const ck_capf_devices *db,
                         const ck_capf_msg *m, ck_buf *out, ck_err *err)
{
    if (!(m->present & CK_CAPF_BIT(CK_CAPF_TAG_PUBLIC_KEY))) {
        say(s, true, "CAPF %s: the phone could not make its key (reason %u, %s); install stays pending", s->device,
            m->reason, ck_capf_reason_name(m->reason));
        refusal(s, db, "install failed: the phone could not make its key");
        return end(s, CK_CAPF_REASON_INVALID, CK_CAPF_OUT_REFUSED, out, err);
    }
    X509 *lsc = NULL;
    ck_err e = {0};
    if (ck_capf_issue_lsc(iss, s->device, m->public_key, m->public_key_len, s->key_type, s->key_size, s->curve, s->now,
                          &lsc, &e) < 0) {
        bool ours = e.code == CK_ECRYPTO;
        say(s, true, "CAPF %s: no LSC issued: %s", s->device, e.msg);
        if (!ours)
            refusal(s, db, "install failed: %s", e.msg);
        return end(s, CK_CAPF_REASON_INVALID, ours ? CK_CAPF_OUT_ERROR : CK_CAPF_OUT_REFUSED, out, err);
    }
    /* Crash tests: the LSC signed, nothing recorded yet (the operation
     * must stay pending for the phone's retry). */
    ck__test_kill_point("capf-lsc-signed");
    ck_capf_update u = {.clear_operation = true, .set_lsc = true};
    uint8_t *der = NULL;
    size_t der_len = 0;
    char *pem = ck_cert_to_pem(lsc);
    int rc = -1;
    if (!pem || ck_cert_to_der(lsc, &der, &der_len, &e) < 0) {
        say(s, true, "CAPF %s: no LSC issued: out of memory", s->device);
        rc = end(s, CK_CAPF_REASON_INVALID, CK_CAPF_OUT_ERROR, out, err);
        goto done;
    }
    u.lsc_pem = pem;
    ck_cert_serial_hex(lsc, u.lsc_serial, sizeof u.lsc_serial);
    u.lsc_not_before = s->now;
    u.lsc_not_after = s->now + (int64_t)(iss->lsc_days > 0 ? iss->lsc_days : CK_CAPF_LSC_DAYS) * 86400;
    snprintf(u.result, sizeof u.result, "install: LSC issued, serial %.40s", u.lsc_serial);
    /* Stored before the phone gets it (as the reference): an LSC the phone
     * then fails to store is on record, and the operation is done. */
    if (record(s, db, &u, &e) < 0) {
        say(s, true, "CAPF %s: the LSC could not be stored, nothing issued: %s", s->device, e.msg);
        rc = end(s, CK_CAPF_REASON_INVALID, CK_CAPF_OUT_ERROR, out, err);
        goto done;
    }
    char until[32];
    say(s, false, "CAPF %s: LSC issued, serial %s, valid until %s UTC (%u REQUEST_IN_PROGRESS)", s->device,
        u.lsc_serial, ck_utc(u.lsc_not_after, CK_UTC_SECONDS, until, sizeof until), s->in_progress);
    s->state = CK_CAPF_ST_STORE;
    rc = ck_capf_build_store_request(s->id, der, der_len, out, err);
done:
    free(der);
    free(pem);
    X509_free(lsc);
    return rc;
}

static int on_fetched(ck_capf_session *s, const ck_capf_issuer *iss, const ck_capf_devices *db,
                      const ck_capf_msg *m, ck_buf *out, ck_err *err)
{
    if (m->reason != CK_CAPF_REASON_UPDATE || !(m->present & CK_CAPF_BIT(CK_CAPF_TAG_CERT))) {
        say(s, true, "CAPF %s: troubleshoot: the phone sent no certificate (reason %u); it stays pending", s->device,
            m->reason);
        refusal(s, db, "troubleshoot: the phone sent no certificate");
        return end(s, CK_CAPF_REASON_NO_ACTION, CK_CAPF_OUT_REFUSED, out, err);
    }
    const unsigned char *p = m->cert;
    X509 *cert = d2i_X509(NULL, &p, (long)m->cert_len);
    if (!cert || p != m->cert + m->cert_len) {
        X509_free(cert);
        ERR_clear_error();
        say(s, true, "CAPF %s: troubleshoot: the phone's certificate is not DER X.509", s->device);
        return end(s, CK_CAPF_REASON_INVALID, CK_CAPF_OUT_BAD_INPUT, out, err);
    }
    ck_capf_update u = {.clear_operation = true};
    char serial[80], *issuer = ck_name_oneline(X509_get_issuer_name(cert));
    ck_cert_serial_hex(cert, serial, sizeof serial);
    /* An LSC of this CAPF is put on record (it may predate the row); any
     * other certificate (a MIC) is only reported. */
    EVP_PKEY *capf_pk = X509_get0_pubkey(iss->cert);
    bool issued_here = capf_pk && X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(iss->cert)) == 0 &&
                       X509_verify(cert, capf_pk) == 1;
    ERR_clear_error();
    /* Only this device's own LSC (CN = its name, as ck_capf_issue_lsc
     * makes it): the configuration is encrypted for the LSC on record, so
     * a phone that answers with another device's LSC (public, and signed
     * here) must not make this device's configuration readable with that
     * other device's key. */
    char cn[64] = "";
    bool ours = issued_here &&
                X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) ==
                    CK_CAPF_DEVICE_LEN &&
                strcmp(cn, s->device) == 0;
    if (issued_here && !ours)
        say(s, true, "CAPF %s: troubleshoot: the phone answered with an LSC of this CAPF for another device (CN %s); "
            "reported, not put on record", s->device, cn[0] ? cn : "?");
    char *pem = ours ? ck_cert_to_pem(cert) : NULL;
    if (pem) {
        u.set_lsc = true;
        u.lsc_pem = pem;
        snprintf(u.lsc_serial, sizeof u.lsc_serial, "%s", serial);
        u.lsc_not_before = 0;
        u.lsc_not_after = 0;
        ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
        int days = 0, secs = 0;
        if (epoch && ASN1_TIME_diff(&days, &secs, epoch, X509_get0_notBefore(cert)))
            u.lsc_not_before = (int64_t)days * 86400 + secs;
        if (epoch && ASN1_TIME_diff(&days, &secs, epoch, X509_get0_notAfter(cert)))
            u.lsc_not_after = (int64_t)days * 86400 + secs;
        ASN1_TIME_free(epoch);
    }
    snprintf(u.result, sizeof u.result, "troubleshoot: the phone holds %.30s serial %.40s",
             ours ? "an LSC" : issued_here ? "another device's LSC" : "a certificate", serial);
    ck_err e = {0};
    int rc;
    if (record(s, db, &u, &e) < 0) {
        say(s, true, "CAPF %s: troubleshoot: recording the certificate failed: %s", s->device, e.msg);
        rc = end(s, CK_CAPF_REASON_NO_ACTION, CK_CAPF_OUT_ERROR, out, err);
    } else {
        if (!issued_here || ours)
            say(s, false, "CAPF %s: troubleshoot: the phone holds %s issued by %s, serial %s", s->device,
                ours ? "an LSC" : "a certificate", issuer ? issuer : "?", serial);
        rc = end(s, CK_CAPF_REASON_NO_ACTION, CK_CAPF_OUT_FETCHED, out, err);
    }
    free(pem);
    free(issuer);
    X509_free(cert);
    return rc;
}

static int on_deleted(ck_capf_session *s, const ck_capf_devices *db, const ck_capf_msg *m, ck_buf *out, ck_err *err)
{
    if (m->reason != CK_CAPF_REASON_UPDATE) {
        say(s, true, "CAPF %s: delete: the phone reported failure (reason %u, %s); it stays pending", s->device,
            m->reason, ck_capf_reason_name(m->reason));
        refusal(s, db, "delete: the phone reported failure (reason %u)", m->reason);
        return end(s, CK_CAPF_REASON_UPDATE, CK_CAPF_OUT_REFUSED, out, err);
    }
    ck_capf_update u = {.clear_operation = true, .clear_lsc = true};
    snprintf(u.result, sizeof u.result, "delete: LSC deleted");
    ck_err e = {0};
    if (record(s, db, &u, &e) < 0) {
        say(s, true, "CAPF %s: delete: recording it failed: %s", s->device, e.msg);
        return end(s, CK_CAPF_REASON_UPDATE, CK_CAPF_OUT_ERROR, out, err);
    }
    say(s, false, "CAPF %s: delete: the phone deleted its LSC", s->device);
    return end(s, CK_CAPF_REASON_UPDATE, CK_CAPF_OUT_DELETED, out, err);
}

int ck_capf_session_begin(ck_capf_session *s, uint32_t id, ck_buf *out, ck_err *err)
{
    memset(s, 0, sizeof *s);
    s->id = id;
    s->state = CK_CAPF_ST_AUTH;
    return ck_capf_build_auth_request(id, out, err);
}

/* The command each state waits for. */
static uint8_t expected(ck_capf_state st)
{
    switch (st) {
    case CK_CAPF_ST_AUTH:
        return CK_CAPF_AUTH_RESP;
    case CK_CAPF_ST_KEYGEN:
        return CK_CAPF_KEYGEN_RESP;
    case CK_CAPF_ST_STORE:
        return CK_CAPF_STORE_CERT_RESP;
    case CK_CAPF_ST_FETCH:
        return CK_CAPF_FETCH_CERT_RESP;
    case CK_CAPF_ST_DELETE:
        return CK_CAPF_DELETE_CERT_RESP;
    default:
        return 0;
    }
}

int ck_capf_session_feed(ck_capf_session *s, const ck_capf_issuer *iss, const ck_capf_devices *db,
                         const uint8_t *frame, size_t len, ck_buf *out, ck_err *err)
{
    s->log[0] = 0;
    s->log_warning = false;
    if (!s->now)
        s->now = (int64_t)time(NULL);
    const char *who = s->device[0] ? s->device : "(no device yet)";
    if (s->state == CK_CAPF_ST_DONE) {
        say(s, true, "CAPF %s: a frame after END_SESSION ignored", who);
        return 0;
    }
    ck_capf_msg m;
    ck_err e = {0};
    if (ck_capf_parse(frame, len, &m, &e) < 0) {
        say(s, true, "CAPF %s: malformed message: %s; session ended (INVALID_ELEMENT)", who, e.msg);
        return end(s, CK_CAPF_REASON_INVALID, CK_CAPF_OUT_BAD_INPUT, out, err);
    }
    if (m.hdr.session != s->id) {
        say(s, true, "CAPF %s: session id %u where %u was expected; session ended (INVALID_ELEMENT)", who,
            m.hdr.session, s->id);
        return end(s, CK_CAPF_REASON_INVALID, CK_CAPF_OUT_BAD_INPUT, out, err);
    }
    if (s->state == CK_CAPF_ST_KEYGEN && m.hdr.command == CK_CAPF_REQUEST_IN_PROGRESS) {
        /* The phone is still making its key: wait, but not for ever (the
         * connection's time-out restarts with every frame). */
        if (s->now_ms > s->keygen_since_ms && s->now_ms - s->keygen_since_ms > CK_CAPF_KEYGEN_MAX_MS) {
            say(s, true, "CAPF %s: still no key after %u REQUEST_IN_PROGRESS and %u s; session ended "
                "(INVALID_ELEMENT), install stays pending", s->device, s->in_progress, CK_CAPF_KEYGEN_MAX_MS / 1000);
            refusal(s, db, "install failed: the phone made no key within %u s", CK_CAPF_KEYGEN_MAX_MS / 1000);
            return end(s, CK_CAPF_REASON_INVALID, CK_CAPF_OUT_REFUSED, out, err);
        }
        s->in_progress++;
        return 0;
    }
    if (m.hdr.command != expected(s->state)) {
        say(s, true, "CAPF %s: %s where %s was expected; session ended (INVALID_ELEMENT)", who,
            ck_capf_command_name(m.hdr.command), ck_capf_command_name(expected(s->state)));
        return end(s, CK_CAPF_REASON_INVALID, CK_CAPF_OUT_BAD_INPUT, out, err);
    }
    switch (s->state) {
    case CK_CAPF_ST_AUTH:
        return on_auth(s, iss, db, &m, out, err);
    case CK_CAPF_ST_KEYGEN:
        return on_public_key(s, iss, db, &m, out, err);
    case CK_CAPF_ST_STORE:
        /* Crash tests: the phone holds its LSC, END_SESSION not sent. */
        ck__test_kill_point("capf-phone-answered");
        if (m.reason != CK_CAPF_REASON_UPDATE)
            say(s, true, "CAPF %s: the phone did not store its LSC (reason %u, %s); the LSC stays on record",
                s->device, m.reason, ck_capf_reason_name(m.reason));
        else
            say(s, false, "CAPF %s: the phone stored its LSC; install done", s->device);
        return end(s, CK_CAPF_REASON_UPDATE, CK_CAPF_OUT_ISSUED, out, err);
    case CK_CAPF_ST_FETCH:
        return on_fetched(s, iss, db, &m, out, err);
    case CK_CAPF_ST_DELETE:
        return on_deleted(s, db, &m, out, err);
    default:
        return 0;
    }
}
