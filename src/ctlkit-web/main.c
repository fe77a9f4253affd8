/* ctlkit-web: the cluster's dashboard over HTTPS (docs/web.md). Parses
 * the command line, opens the cluster, serves until SIGINT/SIGTERM. */
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctlkit/bytes.h"
#include "ctlkit/users.h"
#include "ctlkit/x509.h"
#include "log_limit.h"
#include "login.h"
#include "privdrop.h"
#include "rehearsal.h"
#include "sandbox_calls.h"
#include "tls.h"
#include "web.h"

static const char usage[] =
    "usage: ctlkit-web --cluster C [--dir DIR --node NAME] --listen ADDR:PORT\n"
    "                  [--tls-cert FILE --tls-key FILE]\n"
    "                  [--user NAME | --allow-root] [--seccomp off|log|trap|kill]\n"
    "                  [--max-conns N] [--max-conns-per-source N] [--timeout SECONDS]\n"
    "\n"
    "The cluster's dashboard, HTTPS only: cluster (mode, CTL records, nodes\n"
    "and their copies), certificates (expiry), phones, rehearsals of admin\n"
    "commands on a throw-away copy, audit log, and a JSON API behind each\n"
    "page (/api/cluster, /api/certs, /api/phones, /api/rehearse, /api/audit).\n"
    "Log in with a cluster user (ctlkit user add). C is the cluster folder\n"
    "or its postgresql:// URL (then --dir and --node name this host's node\n"
    "folder).\n"
    "Without --tls-key the publisher's CallManager certificate and key serve\n"
    "TLS. Started as root, it binds and loads its key, then runs as --user\n"
    "(default " PRIVDROP_DEFAULT_USER "; --allow-root keeps root).\n"
    "At most --max-conns connections are open at once (default 64), at most\n"
    "--max-conns-per-source from one address (default 16; more are closed\n"
    "unanswered), and each request must arrive whole within --timeout\n"
    "seconds (default 10). See docs/web.md.\n";

#define DEFAULT_MAX_CONNS 64
#define DEFAULT_MAX_PER_SOURCE 16
#define DEFAULT_TIMEOUT_S 10

uint64_t web_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct bufferevent *tls_bev(struct event_base *base, void *arg)
{
    web *w = arg;
    SSL *ssl = SSL_new(w->tls);
    if (!ssl)
        return NULL;
    return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

/* The connection bounds' log lines (lib/ev/http_limits.c). A client can
 * cause refusals at will: at most one line a second about them. */
static void log_refused(void *arg, int max_conns)
{
    static struct log_limit limit = LOG_LIMIT_INIT(1);
    unsigned held;
    (void)arg;
    bool ok = log_limit_ok(&limit, &held);
    if (held)
        fprintf(stderr, "ctlkit-web: %u more refused connections not logged\n", held);
    if (ok)
        fprintf(stderr, "ctlkit-web: %d connections open: refusing a new one (--max-conns)\n", max_conns);
}

static void log_refused_source(void *arg, const char *addr, int max)
{
    static struct log_limit limit = LOG_LIMIT_INIT(1);
    unsigned held;
    (void)arg;
    bool ok = log_limit_ok(&limit, &held);
    if (held)
        fprintf(stderr, "ctlkit-web: %u more refused connections not logged\n", held);
    if (ok)
        fprintf(stderr, "ctlkit-web: %d connections open from %s: refusing a new one (--max-conns-per-source)\n", max,
                addr);
}

static void log_timed_out(void *arg, int timeout_ms)
{
    (void)arg;
    fprintf(stderr, "ctlkit-web: closing a connection that sent no whole request within %d ms (--timeout)\n",
            timeout_ms);
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    event_base_loopbreak(arg);
}

/* The TLS key is read as root (the publisher's keys/ folder is root's,
 * docs/installing.md) and kept in memory, with the other keys of this
 * host's node folders for the rehearsals; every other file is opened as
 * the account the server will become. */
static SSL_CTX *load_tls(web *w, const privdrop_config *priv, const char *cert, const char *key, ck_err *err)
{
    if (privdrop_files_as(priv, false, err) < 0)
        return NULL;
    SSL_CTX *ctx = web_tls_new(w->c, cert, key, err);
    /* A rehearsal copies this host's node folders, keys/ included, which
     * will be closed to the account: it gets the keys held now. */
    if (ctx && privdrop_switches(priv) && ck_cluster_hold_keys_here(w->c, err) < 0) {
        SSL_CTX_free(ctx);
        ctx = NULL;
    }
    if (privdrop_files_as(priv, true, ctx ? err : NULL) < 0) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* "ADDR:PORT" into its parts. */
static int split_listen(const char *text, char *addr, size_t addrsz, uint16_t *port)
{
    const char *colon = strrchr(text, ':');
    long long p;
    if (!colon || colon == text || (size_t)(colon - text) >= addrsz || !ck_parse_ll(colon + 1, 1, 65535, &p))
        return -1;
    memcpy(addr, text, (size_t)(colon - text));
    addr[colon - text] = '\0';
    *port = (uint16_t)p;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"cluster", required_argument, 0, 'c'}, {"dir", required_argument, 0, 'd'},
                                         {"node", required_argument, 0, 'n'},    {"listen", required_argument, 0, 'l'},
                                         {"tls-cert", required_argument, 0, 'C'}, {"tls-key", required_argument, 0, 'K'},
                                         {"user", required_argument, 0, 'u'},    {"allow-root", no_argument, 0, 'R'},
                                         {"seccomp", required_argument, 0, 'S'}, {"help", no_argument, 0, 'h'},
                                         {"max-conns", required_argument, 0, 'M'}, {"timeout", required_argument, 0, 'T'},
                                         {"max-conns-per-source", required_argument, 0, 'P'},
                                         {0, 0, 0, 0}};
    const char *cluster = NULL, *dir = NULL, *node = NULL, *listen = NULL, *cert = NULL, *key = NULL;
    privdrop_config priv = {.allow_root_env = "CTLKIT_WEB_ALLOW_ROOT"};
    sandbox_mode seccomp = SANDBOX_OFF;
    long long max_conns = DEFAULT_MAX_CONNS, timeout_s = DEFAULT_TIMEOUT_S, max_per_source = DEFAULT_MAX_PER_SOURCE;
    int ch;
    privdrop_no_dumps(); /* before the TLS key is read */
    bool secure_heap = privdrop_secure_heap();
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': cluster = optarg; break;
        case 'd': dir = optarg; break;
        case 'n': node = optarg; break;
        case 'l': listen = optarg; break;
        case 'C': cert = optarg; break;
        case 'K': key = optarg; break;
        case 'u':
            if (!*optarg) {
                fprintf(stderr, "ctlkit-web: --user needs an account name\n");
                return 2;
            }
            priv.user = optarg;
            break;
        case 'R': priv.allow_root = true; break;
        case 'S':
            if (!sandbox_parse_mode(optarg, &seccomp)) {
                fprintf(stderr, "ctlkit-web: --seccomp must be off, log, trap or kill\n");
                return 2;
            }
            break;
        case 'M':
            if (!ck_parse_ll(optarg, 1, 10000, &max_conns)) {
                fprintf(stderr, "ctlkit-web: --max-conns must be a number from 1 to 10000\n");
                return 2;
            }
            break;
        case 'P':
            if (!ck_parse_ll(optarg, 1, 10000, &max_per_source)) {
                fprintf(stderr, "ctlkit-web: --max-conns-per-source must be a number from 1 to 10000\n");
                return 2;
            }
            break;
        case 'T':
            if (!ck_parse_ll(optarg, 1, 3600, &timeout_s)) {
                fprintf(stderr, "ctlkit-web: --timeout must be a number of seconds from 1 to 3600\n");
                return 2;
            }
            break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind != argc || !cluster || !listen) {
        fprintf(stderr, "ctlkit-web: %s\n", optind != argc ? "unexpected argument" : "--cluster and --listen are needed");
        return 2;
    }
    if (cert && !key) {
        fprintf(stderr, "ctlkit-web: --tls-cert needs --tls-key\n");
        return 2;
    }
    char addr[64];
    uint16_t port = 0;
    if (split_listen(listen, addr, sizeof addr, &port) < 0) {
        fprintf(stderr, "ctlkit-web: --listen '%s': give ADDR:PORT\n", listen);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    web w = {0};
    w.node = node;
    ck_err err = {0};
    w.where = (ck_cluster_where){cluster, dir, node};
    /* Leaving root: a --user that cannot be applied is refused now; the
     * cluster's files are the account's, opened as it (files_as). */
    if (privdrop_check(&priv, &err) < 0 || privdrop_files_as(&priv, true, &err) < 0) {
        fprintf(stderr, "ctlkit-web: %s\n", err.msg);
        return 1;
    }
    if (ck_cluster_open_at(&w.where, "web", &w.c, &err) < 0) {
        fprintf(stderr, "ctlkit-web: %s\n", err.msg);
        return 2;
    }
    int rc = 2;
    const char *udir = ck_cluster_dir(w.c);
    if (!udir || !*udir) {
        fprintf(stderr, "ctlkit-web: %s: give --dir and --node (this host's node folder holds the users file)\n",
                ck_cluster_name(w.c));
        goto out;
    }
    snprintf(w.users_dir, sizeof w.users_dir, "%s", udir);
    w.tls = load_tls(&w, &priv, cert, key, &err);
    if (!w.tls) {
        fprintf(stderr, "ctlkit-web: TLS: %s\n", err.msg);
        goto out;
    }
    ck_pv_guard_cfg gcfg;
    ck_pv_guard_cfg_init(&gcfg);
    w.guard = ck_pv_guard_new(&gcfg);
    w.sessions = web_sessions_new();
    w.base = event_base_new();
    w.http = w.base ? evhttp_new(w.base) : NULL;
    http_limits_config lc = {.max_conns = (int)max_conns, .max_per_source = (int)max_per_source,
                             .timeout_ms = (int)timeout_s * 1000, .new_bev = tls_bev, .bev_arg = &w,
                             .refused = log_refused, .timed_out = log_timed_out,
                             .refused_source = log_refused_source};
    w.limits = w.http ? http_limits_new(w.http, w.base, &lc) : NULL;
    if (!w.guard || !w.sessions || !w.http || !w.limits) {
        fprintf(stderr, "ctlkit-web: out of memory\n");
        goto out;
    }
    evhttp_set_max_body_size(w.http, 16 * 1024);
    evhttp_set_max_headers_size(w.http, 16 * 1024);
    /* evhttp's own timeout (idle, per read or write) bounds writing an
     * answer to a client that does not read it; longer than the deadline,
     * so that a silent client meets the deadline, which counts. */
    evhttp_set_timeout(w.http, timeout_s + 1 > 30 ? (int)timeout_s + 1 : 30);
    evhttp_set_allowed_methods(w.http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST);
    web_routes(&w);
    if (!evhttp_bind_socket_with_handle(w.http, addr, port)) {
        fprintf(stderr, "ctlkit-web: cannot listen on %s\n", listen);
        goto out;
    }
    /* Bound and loaded: leave root before the worker threads start. */
    const char *dropped_to = NULL;
    if (privdrop_apply(&priv, &dropped_to, &err) < 0) {
        fprintf(stderr, "ctlkit-web: %s\n", err.msg);
        rc = 1;
        goto out;
    }
    if (web_rh_init(&w) < 0 || web_login_init(&w) < 0) {
        fprintf(stderr, "ctlkit-web: out of memory\n");
        goto out;
    }
    struct event *sigint = evsignal_new(w.base, SIGINT, on_signal, w.base);
    struct event *sigterm = evsignal_new(w.base, SIGTERM, on_signal, w.base);
    event_add(sigint, NULL);
    event_add(sigterm, NULL);
    /* Last: everything the loop and the workers need is open or started. */
    if (sandbox_install(seccomp, &web_calls, &err) < 0) {
        fprintf(stderr, "ctlkit-web: %s\n", err.msg);
        rc = 1;
        event_free(sigint);
        event_free(sigterm);
        goto out;
    }
    if (!secure_heap)
        fprintf(stderr, "ctlkit-web: warning: OpenSSL's secure heap is not available (RLIMIT_MEMLOCK?): the TLS key "
                        "is on the ordinary heap\n");
    if (dropped_to) /* stderr: the first line on stdout is "serving" (tests/web/webtest.py reads it) */
        fprintf(stderr, "ctlkit-web: running as %s\n", dropped_to);
    printf("ctlkit-web: serving %s on https://%s/\n", ck_cluster_name(w.c), listen);
    fflush(stdout);
    event_base_dispatch(w.base);
    event_free(sigint);
    event_free(sigterm);
    rc = 0;
out:
    web_rh_fini(&w);
    web_login_fini(&w);
    if (w.http)
        evhttp_free(w.http);
    http_limits_free(w.limits); /* after: the connections evhttp_free closes end their count */
    if (w.base)
        event_base_free(w.base);
    web_sessions_free(w.sessions);
    ck_pv_guard_free(w.guard);
    SSL_CTX_free(w.tls);
    ck_key_hold_end(); /* the held keys: OpenSSL wipes their numbers */
    ck_cluster_close(w.c);
    return rc;
}
