/* Requests to answers: who is asking (session cookie), whether a change
 * carries its CSRF token, which view and page. Every answer gets the same
 * security headers. */
#include <sys/queue.h>
#include <sys/stat.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctlkit/bytes.h"
#include "ctlkit/text.h"
#include "ctlkit/users.h"
#include "pages.h"
#include "login.h"
#include "rehearsal.h"
#include "views.h"
#include "views_phones.h"
#include "web.h"

#define FORM_MAX 4096
#define LOGIN_COOKIE "ctlkit_login="

static void security_headers(struct evkeyvalq *h)
{
    /* Nothing inline, nothing from elsewhere: a page can only show what it
     * is given, and an injected script would not run. */
    evhttp_add_header(h, "Content-Security-Policy",
                      "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                      "frame-ancestors 'none'; base-uri 'none'");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(h, "Referrer-Policy", "no-referrer");
    evhttp_add_header(h, "X-Frame-Options", "DENY");
    evhttp_add_header(h, "Strict-Transport-Security", "max-age=31536000");
    evhttp_add_header(h, "Cache-Control", "no-store");
}

static void reply(struct evhttp_request *req, int code, const char *reason, const char *type, struct evbuffer *b)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    security_headers(h);
    if (type)
        evhttp_add_header(h, "Content-Type", type);
    evhttp_send_reply(req, code, reason, b);
}

static void reply_html(struct evhttp_request *req, int code, const char *reason, struct evbuffer *b)
{
    reply(req, code, reason, "text/html; charset=utf-8", b);
}

static void redirect(struct evhttp_request *req, const char *to)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Location", to);
    reply(req, 303, "See Other", NULL, NULL);
}

static void reply_json(struct evhttp_request *req, int code, const char *reason, json_t *j)
{
    struct evbuffer *b = evbuffer_new();
    char *t = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (t)
        evbuffer_add_printf(b, "%s\n", t);
    free(t);
    reply(req, code, reason, "application/json", b);
    evbuffer_free(b);
}

static void json_error(struct evhttp_request *req, int code, const char *reason, const char *msg)
{
    json_t *j = json_pack("{s:s}", "error", msg);
    reply_json(req, code, reason, j);
    json_decref(j);
}

static void message(struct evhttp_request *req, int code, const char *reason, const char *text,
                    const web_session *ss)
{
    struct evbuffer *b = evbuffer_new();
    page_message(b, reason, text, ss);
    reply_html(req, code, reason, b);
    evbuffer_free(b);
}

static const char *peer_addr(struct evhttp_request *req, char *out, size_t outsz)
{
    const char *addr = "?";
    ev_uint16_t port = 0;
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    if (conn)
        evhttp_connection_get_peer(conn, (char **)&addr, &port);
    snprintf(out, outsz, "%s", addr);
    return out;
}

/* The urlencoded body of a POST, at most FORM_MAX bytes. */
static int read_form(struct evhttp_request *req, struct evkeyvalq *form)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if (n > FORM_MAX)
        return -1;
    char body[FORM_MAX + 1];
    evbuffer_copyout(in, body, n);
    body[n] = '\0';
    int rc = evhttp_parse_query_str(body, form);
    OPENSSL_cleanse(body, sizeof body);
    return rc;
}

/* Is the session's user still there, with the role and password it
 * logged in with? */
static bool session_still_valid(const web_session *ss, void *arg)
{
    web *w = arg;
    ck_user_role role;
    uint8_t stamp[CK_USER_STAMP_LEN];
    ck_err err = {0};
    bool ok = ck_users_current(w->users_dir, ss->user, &role, stamp, &err) == 0 && role == ss->role &&
              CRYPTO_memcmp(stamp, ss->stamp, sizeof stamp) == 0;
    if (!ok)
        fprintf(stderr, "ctlkit-web: session of %s ended: %s\n", ss->user,
                err.code ? err.msg : "its password or role changed");
    return ok;
}

/* A user removed (ctlkit user remove) or given a new password must not
 * stay logged in: when the users file changed since the last look (it is
 * replaced by a rename, so its inode changes), every session is checked
 * against it. One stat per request; the file is read only after a change. */
static void users_recheck(web *w)
{
    char path[sizeof w->users_dir + sizeof CK_USERS_FILE + 1];
    snprintf(path, sizeof path, "%s/%s", w->users_dir, CK_USERS_FILE);
    struct stat st;
    if (stat(path, &st) < 0)
        memset(&st, 0, sizeof st);
    if (w->users_seen.known && w->users_seen.dev == st.st_dev && w->users_seen.ino == st.st_ino &&
        w->users_seen.size == st.st_size && w->users_seen.mtim.tv_sec == st.st_mtim.tv_sec &&
        w->users_seen.mtim.tv_nsec == st.st_mtim.tv_nsec)
        return;
    w->users_seen.known = true;
    w->users_seen.dev = st.st_dev;
    w->users_seen.ino = st.st_ino;
    w->users_seen.size = st.st_size;
    w->users_seen.mtim = st.st_mtim;
    web_sessions_recheck(w->sessions, session_still_valid, w);
}

static web_session *session_of(web *w, struct evhttp_request *req)
{
    users_recheck(w);
    const char *cookie = evhttp_find_header(evhttp_request_get_input_headers(req), "Cookie");
    return web_session_from_cookie(w->sessions, cookie, web_now_ms());
}

/* ---- login ---- */

/* The login form's CSRF token: there is no session yet, so the token is a
 * random value both in a cookie and in the form (double submit); a page
 * of another site can set neither. */
static void show_login(struct evhttp_request *req, int code, const char *reason, const char *error)
{
    uint8_t r[32];
    char token[65];
    if (RAND_bytes(r, sizeof r) != 1) {
        message(req, 500, "Internal Server Error", "no random bytes", NULL);
        return;
    }
    ck_hex(r, sizeof r, 0, false, token, sizeof token);
    char cookie[160];
    snprintf(cookie, sizeof cookie, LOGIN_COOKIE "%s; Path=/login; Secure; HttpOnly; SameSite=Strict", token);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie", cookie);
    struct evbuffer *b = evbuffer_new();
    page_login(b, token, error);
    reply_html(req, code, reason, b);
    evbuffer_free(b);
}

static bool login_token_ok(struct evhttp_request *req, const char *token)
{
    const char *cookie = evhttp_find_header(evhttp_request_get_input_headers(req), "Cookie");
    if (!cookie || !token || strlen(token) != 64)
        return false;
    const char *p = strstr(cookie, LOGIN_COOKIE);
    if (!p)
        return false;
    p += strlen(LOGIN_COOKIE);
    return strcspn(p, "; ") == 64 && CRYPTO_memcmp(p, token, 64) == 0;
}

/* The password was checked (login.c, off the loop): the session, or the
 * refusal counted against the source and user. */
static void login_checked(web *w, struct evhttp_request *req, const char *user, const char *addr, int rc,
                          ck_user_role role, const ck_err *err)
{
    if (rc < 0) {
        /* The name is the client's text: it must not forge a log line. */
        char shown[CK_USER_NAME_MAX + 8];
        ck_printable(user, strlen(user), shown, sizeof shown, CK_PRINTABLE_ASCII);
        fprintf(stderr, "ctlkit-web: login of '%s' from %s refused: %s\n", shown, addr, err->msg);
        if (rc == WEB_LOGIN_BACKED_OFF)
            show_login(req, 429, "Too Many Requests", err->msg);
        else
            show_login(req, 403, "Forbidden",
                       err->code == CK_EDENIED ? "Wrong user name or password." : "Logins are not possible now.");
        return;
    }
    /* What the session stands on, read now: a password set since the
     * check would end it at the next request anyway. */
    uint8_t stamp[CK_USER_STAMP_LEN];
    ck_user_role now_role;
    ck_err e = {0};
    if (ck_users_current(w->users_dir, user, &now_role, stamp, &e) < 0 || now_role != role) {
        fprintf(stderr, "ctlkit-web: login of %s from %s refused: the users file changed meanwhile\n", user, addr);
        show_login(req, 403, "Forbidden", "Logins are not possible now.");
        return;
    }
    web_session *ss = web_session_start(w->sessions, user, role, stamp, web_now_ms());
    if (!ss) {
        message(req, 500, "Internal Server Error", "no random bytes for a session", NULL);
        return;
    }
    char cookie[200];
    snprintf(cookie, sizeof cookie, "ctlkit_session=%s; Path=/; Secure; HttpOnly; SameSite=Strict", ss->id);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Set-Cookie", cookie);
    evhttp_add_header(h, "Set-Cookie", LOGIN_COOKIE "; Path=/login; Max-Age=0; Secure; HttpOnly; SameSite=Strict");
    fprintf(stderr, "ctlkit-web: %s (%s) logged in from %s\n", ss->user, ck_user_role_name(role), addr);
    redirect(req, "/cluster");
}

static void do_login(web *w, struct evhttp_request *req)
{
    struct evkeyvalq form = {0};
    TAILQ_INIT(&form);
    if (read_form(req, &form) < 0) {
        evhttp_clear_headers(&form);
        show_login(req, 400, "Bad Request", "The form could not be read.");
        return;
    }
    const char *user = evhttp_find_header(&form, "user");
    const char *pw = evhttp_find_header(&form, "password");
    if (!login_token_ok(req, evhttp_find_header(&form, "csrf"))) {
        evhttp_clear_headers(&form);
        show_login(req, 403, "Forbidden", "The form expired; log in again.");
        return;
    }
    if (!user || !pw) {
        evhttp_clear_headers(&form);
        show_login(req, 400, "Bad Request", "Give a user name and a password.");
        return;
    }
    char addr[64], note[256];
    peer_addr(req, addr, sizeof addr);
    uint64_t now = web_now_ms();
    uint64_t wait = ck_pv_guard_wait(w->guard, addr, user, now);
    if (wait) {
        ck_pv_guard_failed(w->guard, addr, user, false, now, note, sizeof note);
        char msg[128];
        snprintf(msg, sizeof msg, "Too many failed logins: try again in %llu s.",
                 (unsigned long long)((wait + 999) / 1000));
        evhttp_clear_headers(&form);
        show_login(req, 429, "Too Many Requests", msg);
        return;
    }
    /* The check runs on the login worker (PBKDF2 would hold every other
     * request); login_checked answers. The form's copy of the password
     * goes now (libevent's own buffers are freed with the request). */
    ck_err err = {0};
    int rc = web_login_start(w, req, user, pw, strlen(pw), addr, login_checked, &err);
    OPENSSL_cleanse((char *)pw, strlen(pw));
    evhttp_clear_headers(&form);
    if (rc < 0) {
        fprintf(stderr, "ctlkit-web: login from %s not checked: %s\n", addr, err.msg);
        message(req, err.code == CK_ELIMIT ? 503 : 500, err.code == CK_ELIMIT ? "Service Unavailable" : "Internal Server Error",
                err.msg, NULL);
    }
}

/* ---- changes: POST with a session and its CSRF token ---- */

/* The session of a change request, or NULL after answering the refusal
 * (as JSON for the API). */
static web_session *change_allowed(web *w, struct evhttp_request *req, struct evkeyvalq *form, bool need_admin,
                                   bool api)
{
    web_session *ss = session_of(w, req);
    const char *why = NULL;
    int code = 403;
    if (!ss) {
        code = 401;
        why = "Log in first.";
    } else if (read_form(req, form) < 0 || !web_session_csrf_ok(ss, evhttp_find_header(form, "csrf")))
        why = "The form's token is missing or wrong; reload the page.";
    else if (need_admin && ss->role != CK_ROLE_ADMIN)
        why = "Read-only users cannot change the cluster.";
    if (!why)
        return ss;
    const char *reason = code == 401 ? "Unauthorized" : "Forbidden";
    if (api)
        json_error(req, code, reason, why);
    else
        message(req, code, reason, why, ss);
    return NULL;
}

static void do_logout(web *w, struct evhttp_request *req)
{
    struct evkeyvalq form;
    TAILQ_INIT(&form);
    web_session *ss = change_allowed(w, req, &form, false, false);
    evhttp_clear_headers(&form);
    if (!ss)
        return;
    web_session_end(ss);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie",
                      "ctlkit_session=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict");
    redirect(req, "/login");
}

static void show_cluster(web *w, struct evhttp_request *req, web_session *ss, const char *notice);

static void do_materialize(web *w, struct evhttp_request *req)
{
    struct evkeyvalq form;
    TAILQ_INIT(&form);
    web_session *ss = change_allowed(w, req, &form, true, false);
    evhttp_clear_headers(&form);
    if (!ss)
        return;
    ck_node *nodes = NULL;
    size_t nn = 0, done = 0, fixed = 0;
    ck_err err = {0};
    char notice[512];
    if (ck_store_list_nodes(ck_cluster_store(w->c), &nodes, &nn, &err) < 0) {
        message(req, 500, "Internal Server Error", err.msg, ss);
        return;
    }
    for (size_t i = 0; i < nn; i++) {
        if (!ck_cluster_node_here(w->c, nodes[i].name))
            continue;
        ck_materialize_report r = {0};
        if (ck_cluster_materialize_node(w->c, nodes[i].name, &r, &err) < 0) {
            snprintf(notice, sizeof notice, "%s: %s", nodes[i].name, err.msg);
            free(nodes);
            message(req, 500, "Internal Server Error", notice, ss);
            return;
        }
        done++;
        fixed += r.n;
    }
    free(nodes);
    fprintf(stderr, "ctlkit-web: %s repaired node copies (%zu nodes, %zu files fixed)\n", ss->user, done, fixed);
    snprintf(notice, sizeof notice, "Checked %zu node folder(s); %zu file(s) fixed.", done, fixed);
    show_cluster(w, req, ss, notice);
}

/* ---- rehearsal: a POST that changes nothing, so read-only users may
 * run it; it still carries the CSRF token (it costs a key generation). ---- */

static const char *reason_of(int code);

/* A rehearsal's failure as an HTTP status: busy 503, the server's own
 * trouble 500, otherwise the commands do not apply (400). */
static int rehearsal_status(const ck_err *err)
{
    return err->code == CK_ELIMIT ? 503 : err->code == CK_ENOMEM || err->code == CK_EIO ? 500 : 400;
}

static void rehearsal_page(web *w, struct evhttp_request *req, web_session *ss, int code, const json_t *result,
                           const char *error)
{
    ck_err err = {0};
    json_t *f = view_rehearsal_form(w, &err);
    if (!f) {
        message(req, 500, "Internal Server Error", err.msg, ss);
        return;
    }
    struct evbuffer *b = evbuffer_new();
    page_rehearsal(b, f, result, error, ss);
    reply_html(req, code, code == 200 ? "OK" : reason_of(code), b);
    evbuffer_free(b);
    json_decref(f);
}

static void rehearsal_done(web *w, struct evhttp_request *req, bool api, const char *const *cmds, size_t n,
                           json_t *result, const ck_err *err)
{
    int code = result ? 200 : rehearsal_status(err);
    if (api) {
        if (result)
            reply_json(req, 200, "OK", result);
        else
            json_error(req, code, reason_of(code), err->msg);
    } else {
        web_session *ss = session_of(w, req);
        if (!ss)
            message(req, 401, "Unauthorized", "Log in first.", NULL);
        else
            rehearsal_page(w, req, ss, code, result, result ? NULL : err->msg);
    }
    json_decref(result);
}

static void do_rehearse(web *w, struct evhttp_request *req, bool api)
{
    struct evkeyvalq form;
    TAILQ_INIT(&form);
    web_session *ss = change_allowed(w, req, &form, false, api);
    if (!ss) {
        evhttp_clear_headers(&form);
        return;
    }
    char *cmds[WEB_RH_MAX_COMMANDS];
    const char *node = NULL;
    ck_err err = {0};
    int n = web_rh_commands(w, &form, cmds, &node, &err);
    if (n == 0)
        ck_fail(&err, CK_EINVAL, "choose at least one command to rehearse");
    if (n > 0 && web_rh_start(w, req, api, node, cmds, (size_t)n, rehearsal_done, &err) < 0) {
        web_rh_commands_free(cmds, (size_t)n);
        n = -1;
    }
    evhttp_clear_headers(&form);
    if (n > 0) {
        fprintf(stderr, "ctlkit-web: %s rehearses %d command(s)\n", ss->user, n);
        return; /* rehearsal_done answers */
    }
    int code = rehearsal_status(&err);
    if (api)
        json_error(req, code, reason_of(code), err.msg);
    else
        rehearsal_page(w, req, ss, code, NULL, err.msg);
}

/* ---- pages and API ---- */

static size_t page_param(struct evhttp_request *req)
{
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    long long page = 1;
    if (query && evhttp_parse_query_str(query, &q) == 0) {
        const char *p = evhttp_find_header(&q, "page");
        if (p && !ck_parse_ll(p, 1, 1000000, &page))
            page = 1;
    }
    evhttp_clear_headers(&q);
    return (size_t)page;
}

/* The phones list's filters: model=, state=, page=. */
static json_t *phones_view(web *w, struct evhttp_request *req, ck_err *err)
{
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    if (query && evhttp_parse_query_str(query, &q) != 0) {
        evhttp_clear_headers(&q);
        return ck_fail(err, CK_EINVAL, "the query string could not be read"), NULL;
    }
    json_t *v = view_phones(w->c, evhttp_find_header(&q, "model"), evhttp_find_header(&q, "state"),
                            page_param(req), (int64_t)time(NULL), err);
    evhttp_clear_headers(&q);
    return v;
}

static json_t *view_for(web *w, const char *name, struct evhttp_request *req, ck_err *err)
{
    if (strcmp(name, "phones") == 0)
        return phones_view(w, req, err);
    if (strncmp(name, "phones/", 7) == 0)
        return view_phone(w->c, name + 7, (int64_t)time(NULL), err);
    if (strcmp(name, "cluster") == 0)
        return view_cluster(w->c, err);
    if (strcmp(name, "certs") == 0)
        return view_certs(w->c, (int64_t)time(NULL), err);
    if (strcmp(name, "audit") == 0)
        return view_audit(w->c, page_param(req), err);
    if (strcmp(name, "rehearsal") == 0 || strcmp(name, "rehearse") == 0)
        return view_rehearsal_form(w, err);
    return NULL;
}

/* A view's failure as an HTTP status: bad input 400, nothing there 404. */
static int status_of(const ck_err *err)
{
    return err->code == CK_EINVAL ? 400 : err->code == CK_ENOTFOUND ? 404 : 500;
}

static const char *reason_of(int code)
{
    return code == 400   ? "Bad Request"
           : code == 404 ? "Not Found"
           : code == 503 ? "Service Unavailable"
                         : "Internal Server Error";
}

static void show_cluster(web *w, struct evhttp_request *req, web_session *ss, const char *notice)
{
    ck_err err = {0};
    json_t *v = view_cluster(w->c, &err);
    if (!v) {
        message(req, 500, "Internal Server Error", err.msg, ss);
        return;
    }
    struct evbuffer *b = evbuffer_new();
    page_cluster(b, v, ss, notice);
    reply_html(req, 200, "OK", b);
    evbuffer_free(b);
    json_decref(v);
}

static void show_page(web *w, struct evhttp_request *req, const char *name)
{
    web_session *ss = session_of(w, req);
    if (!ss) {
        redirect(req, "/login");
        return;
    }
    if (strcmp(name, "cluster") == 0) {
        show_cluster(w, req, ss, NULL);
        return;
    }
    ck_err err = {0};
    json_t *v = view_for(w, name, req, &err);
    if (!v) {
        int code = status_of(&err);
        message(req, code, reason_of(code), err.msg, ss);
        return;
    }
    struct evbuffer *b = evbuffer_new();
    if (strcmp(name, "certs") == 0)
        page_certs(b, v, ss);
    else if (strcmp(name, "phones") == 0)
        page_phones(b, v, ss);
    else if (strncmp(name, "phones/", 7) == 0)
        page_phone(b, v, ss);
    else if (strcmp(name, "rehearsal") == 0)
        page_rehearsal(b, v, NULL, NULL, ss);
    else
        page_audit(b, v, ss);
    reply_html(req, 200, "OK", b);
    evbuffer_free(b);
    json_decref(v);
}

static void show_api(web *w, struct evhttp_request *req, const char *name)
{
    web_session *ss = session_of(w, req);
    if (!ss) {
        json_error(req, 401, "Unauthorized", "log in first");
        return;
    }
    ck_err err = {0};
    json_t *v = strcmp(name, "rehearsal") == 0 ? NULL : view_for(w, name, req, &err);
    if (!v) {
        int code = err.code ? status_of(&err) : 404;
        json_error(req, code, reason_of(code), err.code ? err.msg : "no such view");
        return;
    }
    /* The token a POST /api/rehearse must carry (another site's page
     * cannot read this answer). */
    if (strcmp(name, "rehearse") == 0)
        json_object_set_new(v, "csrf", json_string(ss->csrf));
    reply_json(req, 200, "OK", v);
    json_decref(v);
}

static void static_file(struct evhttp_request *req, const char *type, const char *body)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, body, strlen(body));
    reply(req, 200, "OK", type, b);
    evbuffer_free(b);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    web *w = arg;
    http_limits_request(w->limits, req); /* arrived whole: its deadline stops until the answer is sent */
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    bool get = cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD, post = cmd == EVHTTP_REQ_POST;
    if (!path)
        path = "/";
    if (get && strcmp(path, "/static/style.css") == 0)
        static_file(req, "text/css", web_style_css);
    else if (get && (strcmp(path, "/static/icon.svg") == 0 || strcmp(path, "/favicon.ico") == 0))
        static_file(req, "image/svg+xml", web_icon_svg);
    else if (get && strcmp(path, "/") == 0)
        redirect(req, session_of(w, req) ? "/cluster" : "/login");
    else if (get && strcmp(path, "/login") == 0)
        show_login(req, 200, "OK", NULL);
    else if (post && strcmp(path, "/login") == 0)
        do_login(w, req);
    else if (post && strcmp(path, "/logout") == 0)
        do_logout(w, req);
    else if (post && strcmp(path, "/cluster/materialize") == 0)
        do_materialize(w, req);
    else if (post && (strcmp(path, "/rehearsal") == 0 || strcmp(path, "/api/rehearse") == 0))
        do_rehearse(w, req, path[1] == 'a');
    else if (get && (strcmp(path, "/cluster") == 0 || strcmp(path, "/certs") == 0 || strcmp(path, "/audit") == 0 ||
                     strcmp(path, "/phones") == 0 || strncmp(path, "/phones/", 8) == 0 ||
                     strcmp(path, "/rehearsal") == 0))
        show_page(w, req, path + 1);
    else if (get && strncmp(path, "/api/", 5) == 0)
        show_api(w, req, path + 5);
    else if (!get && !post)
        message(req, 405, "Method Not Allowed", "Only GET and POST.", NULL);
    else
        message(req, 404, "Not Found", "No such page.", session_of(w, req));
}

void web_routes(web *w) { evhttp_set_gencb(w->http, on_request, w); }
