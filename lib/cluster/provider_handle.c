/* One CTL Provider request in, one response out: login, the cluster view,
 * a submitted CTL. The daemon moves the frames; everything decided about
 * them is here. */
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/provider_ops.h"
#include "ctlkit/text.h"
#include "internal.h"

static void logf_(ck_provider_session *s, bool warning, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void logf_(ck_provider_session *s, bool warning, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->log, sizeof s->log, fmt, ap);
    va_end(ap);
    s->log_warning = warning;
}

static void say(ck_pv_msg *r, uint8_t status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(ck_pv_msg *r, uint8_t status, const char *fmt, ...)
{
    /* MESSAGE may hold no control character (the client refuses the
     * answer otherwise), and err.msg can quote a certificate's subject. */
    char text[sizeof r->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    ck_printable(text, strlen(text), r->message, sizeof r->message, 0);
    r->status = status;
}

/* The address part of "ADDR:PORT" or "[ADDR]:PORT": back-off and audit
 * summaries are per source, whatever port a connection came from. */
static void source_addr(const char *peer, char *out, size_t n)
{
    const char *colon = strrchr(peer, ':');
    size_t len = colon ? (size_t)(colon - peer) : strlen(peer);
    if (len >= 2 && peer[0] == '[' && peer[len - 1] == ']') {
        peer++;
        len -= 2;
    }
    snprintf(out, n, "%.*s", (int)len, peer);
}

/* A failed login: the same answer whatever the reason, one audit row for
 * the first failure from a source and summaries after (provider_guard.h). */
static void login_failed(ck_cluster *c, ck_provider_session *s, const char *addr, const char *user, bool checked,
                         unsigned *delay_ms, bool *close_after)
{
    s->authed = false;
    s->failures++;
    *delay_ms = CK_PROVIDER_FAIL_DELAY_MS;
    if (s->failures >= CK_PROVIDER_MAX_FAILURES)
        *close_after = true;
    char audit_msg[256];
    bool row = true;
    if (s->guard)
        row = ck_pv_guard_failed(s->guard, addr, user, checked, s->now_ms, audit_msg, sizeof audit_msg);
    else
        snprintf(audit_msg, sizeof audit_msg, "CTL Provider: failed login for '%s' from %s", user, s->peer);
    if (!row)
        return;
    /* The first failure keeps the daemon's own line; a summary gets one. */
    s->log_warning = true;
    if (s->guard && strstr(audit_msg, " in the last "))
        snprintf(s->log_summary, sizeof s->log_summary, "%s", audit_msg);
    /* The login fails either way; a row the store refuses is not worth a
     * different answer (the daemon still logs the failure). */
    CK_IGNORE(ck_store_audit(ck_cluster_store(c), user, "", audit_msg, NULL));
}

static void do_login(ck_cluster *c, ck_provider_session *s, ck_pv_msg *req, ck_pv_msg *r, unsigned *delay_ms,
                     bool *close_after)
{
    ck_err err = {0};
    char addr[64];
    source_addr(s->peer, addr, sizeof addr);
    uint64_t wait = s->guard ? ck_pv_guard_wait(s->guard, addr, req->user, s->now_ms) : 0;
    if (wait) {
        /* Backed off: refused without spending a hash on it, in the words
         * of a wrong password, so that a guesser learns nothing. */
        say(r, CK_PV_DENIED, "wrong user name or password");
        logf_(s, false, "CTL Provider: login for '%s' from %s refused unchecked (backed off for %llu ms more)",
              req->user, s->peer, (unsigned long long)wait);
        login_failed(c, s, addr, req->user, false, delay_ms, close_after);
        return;
    }
    if (ck_provider_auth(ck_cluster_dir(c), req->user, req->password, strlen(req->password), &err) == 0) {
        s->authed = true;
        snprintf(s->user, sizeof s->user, "%s", req->user);
        if (s->guard)
            ck_pv_guard_succeeded(s->guard, addr, req->user, s->now_ms);
        say(r, CK_PV_OK, "logged in as %s", req->user);
        logf_(s, false, "CTL Provider: %s logged in from %s", req->user, s->peer);
        return;
    }
    /* A missing or unsafe users file is the admin's to fix: say so. A
     * wrong name or password gets the same words whichever it was. */
    say(r, CK_PV_DENIED, "%s", err.code == CK_EDENIED ? "wrong user name or password" : err.msg);
    logf_(s, false, "CTL Provider: failed login for '%s' from %s: %s", req->user, s->peer, err.msg);
    login_failed(c, s, addr, req->user, err.code == CK_EDENIED, delay_ms, close_after);
}

static int do_submit(ck_cluster *c, ck_provider_session *s, ck_pv_msg *req, ck_pv_msg *r, ck_pv_result **res)
{
    ck_err err = {0};
    size_t n = 0;
    int rc = ck_provider_submit(c, s->user, req->ctl.p, req->ctl.n, req->action, res, &n, &err);
    for (size_t i = 0; i < n; i++)
        if (ck_pv_add_result(r, &(*res)[i], NULL) < 0)
            return -1;
    r->has_mode = true;
    r->mode = (uint8_t)ck_cluster_security_mode(c);
    if (rc == 0) {
        size_t passed = 0;
        for (size_t i = 0; i < n; i++)
            passed += (*res)[i].passed;
        say(r, passed == n ? CK_PV_OK : CK_PV_FAILED, "CTL file written to %zu of %zu server(s)", passed, n);
        logf_(s, passed != n, "CTL Provider: %s submitted a CTL (%s, %zu bytes): written to %zu of %zu node(s)",
              s->user, ck_pv_action_name(req->action), req->ctl.n, passed, n);
    } else if (n == 0) {
        /* The check refused it: nothing was touched. */
        /* A CTL that fails a check is refused; a server that could not even
         * check (lock, database, memory) failed. */
        bool refused = err.code == CK_EINVAL || err.code == CK_EFORMAT || err.code == CK_ESIGNATURE ||
                       err.code == CK_ESTATE || err.code == CK_ELIMIT;
        say(r, refused ? CK_PV_REFUSED : CK_PV_FAILED, "%s", err.msg);
        logf_(s, true, "CTL Provider: refused a CTL from %s (%s): %s", s->user, s->peer, err.msg);
    } else {
        say(r, CK_PV_FAILED, "the CTL file was not published (every node keeps its old file): %s", err.msg);
        logf_(s, true, "CTL Provider: publishing a CTL from %s failed: %s", s->user, err.msg);
    }
    return 0;
}

int ck_provider_handle(ck_cluster *c, ck_provider_session *s, const uint8_t *frame, size_t len, uint8_t **resp,
                       size_t *resp_len, unsigned *delay_ms, bool *close_after)
{
    *resp = NULL;
    *resp_len = 0;
    *delay_ms = 0;
    *close_after = false;
    s->log[0] = '\0';
    s->log_warning = false;
    s->log_summary[0] = '\0';
    ck_pv_msg req, r;
    memset(&r, 0, sizeof r);
    ck_err err = {0};
    uint8_t *hold = NULL;
    ck_pv_result *res = NULL;
    int rc = -1;
    if (ck_pv_parse(frame, len, &req, &err) < 0) {
        r.type = CK_PV_ERROR;
        say(&r, CK_PV_BADREQ, "%s", err.msg);
        logf_(s, true, "CTL Provider: bad request from %s: %s", s->peer, err.msg);
        *close_after = true;
        goto build;
    }
    r.type = (uint8_t)(CK_PV_RESPONSE | req.type);
    if (req.type & CK_PV_RESPONSE) {
        r.type = CK_PV_ERROR;
        say(&r, CK_PV_BADREQ, "a CTL Client sends requests; %s is a response", ck_pv_type_name(req.type));
        *close_after = true;
        goto build;
    }
    if (req.type == CK_PV_LOGIN) {
        do_login(c, s, &req, &r, delay_ms, close_after);
        goto build;
    }
    if (!s->authed) {
        say(&r, CK_PV_DENIED, "log in first (LOGIN with the admin user and password)");
        logf_(s, true, "CTL Provider: %s from %s before logging in", ck_pv_type_name(req.type), s->peer);
        goto build;
    }
    if (req.type == CK_PV_GET_CLUSTER) {
        if (ck_provider_cluster_view(c, &r, &hold, &err) < 0)
            say(&r, CK_PV_FAILED, "%s", err.msg);
        else
            say(&r, CK_PV_OK, "%s", r.ctl.p ? "" : "no CTL file on the server");
        logf_(s, false, "CTL Provider: %s read the cluster's certificates", s->user);
    } else if (do_submit(c, s, &req, &r, &res) < 0) {
        goto out;
    }
build:
    if (ck_pv_build(&r, resp, resp_len, &err) == 0)
        rc = 0;
out:
    free(res);
    free(hold);
    ck_pv_msg_clear(&req);
    ck_pv_msg_clear(&r);
    return rc;
}

bool ck_provider_audit_due(ck_cluster *c, ck_pv_guard *g, uint64_t now_ms, char *line, size_t line_size)
{
    if (!ck_pv_guard_flush(g, now_ms, line, line_size))
        return false;
    /* Best effort: the daemon logs the line whether or not the row is written. */
    CK_IGNORE(ck_store_audit(ck_cluster_store(c), "", "", line, NULL));
    return true;
}
