/* The rows of ctlkitd's options table (options.h). A new option is one row
 * and, when it takes a value, one small setter that checks it. */
#include "options.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/bytes.h"
#include "ctlkit/params.h"
#include "ctlkit/store.h"
#include "ctlkit/tftp.h"
#include "ctlkit/tls_policy.h"
#include "tftp_xfer.h" /* XFER_MAX_WINDOW */

typedef struct daemon_option {
    const char *name;     /* the long name, without "--" */
    char short_name;      /* 0: none */
    const char *metavar;  /* NULL: a flag without a value */
    const char *help;     /* --help's text; each "\n" continues at the help column */
    /* With --cluster, what fills the option when the command line left it
     * unset: a cluster_node source (CLUSTER_NODE_*) or an enterprise
     * parameter's name. NULL: nothing. */
    const char *from_cluster;
    /* Why the option is refused with --cluster (NULL: it is not). */
    const char *not_with_cluster;
    int (*set)(daemon_args *a, const char *arg, ck_err *err);
} daemon_option;

/* ---- setters ---- */

static int set_number(const char *arg, long long lo, long long hi, long long *out, const char *what, ck_err *err)
{
    if (!arg || !ck_parse_ll(arg, lo, hi, out))
        return ck_fail(err, CK_EINVAL, "%s", what);
    return 0;
}

static int set_cluster(daemon_args *a, const char *arg, ck_err *err)
{
    (void)err;
    a->d->cluster_dir = arg;
    return 0;
}

static int set_node(daemon_args *a, const char *arg, ck_err *err)
{
    (void)err;
    a->d->node = arg;
    return 0;
}

static int set_node_dir(daemon_args *a, const char *arg, ck_err *err)
{
    (void)err;
    a->d->node_dir = arg;
    return 0;
}

static int set_tftp(daemon_args *a, const char *arg, ck_err *err)
{
    if (ck_netaddr_parse(arg, 69, &a->d->tftp.listen, err) < 0) {
        ck_err_prefix(err, "--tftp");
        return -1;
    }
    return 0;
}

static int set_tftp_root(daemon_args *a, const char *arg, ck_err *err)
{
    (void)err;
    a->d->tftp.root = arg;
    return 0;
}

static int set_tftp_sign_cert(daemon_args *a, const char *arg, ck_err *err)
{
    (void)err;
    a->d->tftp.sign_pem = arg;
    return 0;
}

static int set_max_transfers(daemon_args *a, const char *arg, ck_err *err)
{
    long long n;
    if (set_number(arg, 1, 1000000, &n, "--max-transfers must be a number from 1 to 1000000", err) < 0)
        return -1;
    a->d->tftp.max_transfers = (unsigned)n;
    return 0;
}

static int set_tftp_max_blksize(daemon_args *a, const char *arg, ck_err *err)
{
    long long n;
    if (set_number(arg, CK_TFTP_BLKSIZE_MIN, CK_TFTP_BLKSIZE_MAX, &n,
                   "--tftp-max-blksize must be a number from 8 to 65464", err) < 0)
        return -1;
    a->d->tftp.max_blksize = (unsigned)n;
    return 0;
}

static int set_tftp_max_window(daemon_args *a, const char *arg, ck_err *err)
{
    long long n;
    if (set_number(arg, 1, XFER_MAX_WINDOW, &n, "--tftp-max-window must be a number from 1 to 64", err) < 0)
        return -1;
    a->d->tftp.max_window = (unsigned)n;
    return 0;
}

static int set_max_per_source(daemon_args *a, const char *arg, ck_err *err)
{
    long long n;
    if (set_number(arg, 0, 1000000, &n, "--max-transfers-per-source must be a number from 0 (no cap) to 1000000",
                   err) < 0)
        return -1;
    a->d->tftp.max_per_source = (unsigned)n;
    return 0;
}

static int set_provider(daemon_args *a, const char *arg, ck_err *err)
{
    (void)err;
    a->d->provider_listen = arg;
    return 0;
}

static int set_capf(daemon_args *a, const char *arg, ck_err *err)
{
    (void)err;
    a->d->capf_listen = arg;
    return 0;
}

static int set_capf_timeout(daemon_args *a, const char *arg, ck_err *err)
{
    long long n;
    if (set_number(arg, 1, 3600, &n, "--capf-timeout must be a number of seconds from 1 to 3600", err) < 0)
        return -1;
    a->d->capf_timeout_ms = (int)n * 1000;
    return 0;
}

static int set_provider_backoff(daemon_args *a, const char *arg, ck_err *err)
{
    long long n;
    if (set_number(arg, 1, 300000, &n, "--provider-backoff must be a number of ms from 1 to 300000", err) < 0)
        return -1;
    a->d->provider_backoff_ms = (unsigned)n;
    return 0;
}

static int set_metrics(daemon_args *a, const char *arg, ck_err *err)
{
    ck_netaddr check;
    if (ck_netaddr_parse_listen(arg, 9100, &check, err) < 0) {
        ck_err_prefix(err, "--metrics");
        return -1;
    }
    a->d->metrics.listen = arg;
    return 0;
}

static int set_track_phones(daemon_args *a, const char *arg, ck_err *err)
{
    if (strcmp(arg, "on") != 0 && strcmp(arg, "off") != 0)
        return ck_fail(err, CK_EINVAL, "--track-phones must be on or off, not '%s'", arg);
    a->d->track_phones_off = strcmp(arg, "off") == 0;
    return 0;
}

static int set_loose_keys(daemon_args *a, const char *arg, ck_err *err)
{
    (void)arg;
    (void)err;
    a->loose_keys = true;
    return 0;
}

static int set_foreground(daemon_args *a, const char *arg, ck_err *err)
{
    (void)arg;
    (void)err;
    a->foreground = true;
    return 0;
}

static int set_log_level(daemon_args *a, const char *arg, ck_err *err)
{
    if (!dlog_parse_level(arg, &a->level))
        return ck_fail(err, CK_EINVAL, "--log-level must be error, warning, notice, info or debug");
    return 0;
}

static int set_user(daemon_args *a, const char *arg, ck_err *err)
{
    if (!*arg)
        return ck_fail(err, CK_EINVAL, "--user needs an account name");
    a->priv.user = arg;
    return 0;
}

static int set_allow_root(daemon_args *a, const char *arg, ck_err *err)
{
    (void)arg;
    (void)err;
    a->priv.allow_root = true;
    return 0;
}

static int set_seccomp(daemon_args *a, const char *arg, ck_err *err)
{
    if (!sandbox_parse_mode(arg, &a->seccomp))
        return ck_fail(err, CK_EINVAL, "--seccomp must be off, log, trap or kill");
    return 0;
}

static int set_tvs(daemon_args *a, const char *arg, ck_err *err)
{
    ck_netaddr check;
    if (ck_netaddr_parse_listen(arg, 2445, &check, err) < 0) {
        ck_err_prefix(err, "--tvs");
        return -1;
    }
    a->d->tvs.listen = arg;
    return 0;
}

static int set_tvs_cert(daemon_args *a, const char *arg, ck_err *err)
{
    (void)err;
    a->d->tvs.cert_key_pem = arg;
    return 0;
}

static int set_tvs_ctl(daemon_args *a, const char *arg, ck_err *err)
{
    (void)err;
    a->d->tvs.ctl_path = arg;
    return 0;
}

static int set_tvs_db_cert(daemon_args *a, const char *arg, ck_err *err)
{
    return tvs_config_add_db_cert(&a->d->tvs, arg, err);
}

static int set_tvs_ttl(daemon_args *a, const char *arg, ck_err *err)
{
    long long n;
    char what[80];
    snprintf(what, sizeof what, "--tvs-ttl must be a number of seconds from 0 to %u", UINT32_MAX);
    if (set_number(arg, 0, UINT32_MAX, &n, what, err) < 0)
        return -1;
    a->d->tvs.ttl = (uint32_t)n;
    return 0;
}

/* The TVS's TLS minimum: the cluster's TLSMinVersion (arg, filled by the
 * table), or 1.0 when the deprecated --tvs-legacy-tls flag is given (arg
 * NULL), which then wins over the cluster, as it always did. */
static int set_tvs_tls_min(daemon_args *a, const char *arg, ck_err *err)
{
    int v = arg ? ck_tls_version_parse(arg) : TLS1_VERSION;
    if (!v)
        return ck_fail(err, CK_EINVAL, "TLS minimum version '%s' is not 1.0, 1.1, 1.2 or 1.3", arg);
    if (!arg)
        fprintf(stderr, "ctlkitd: --tvs-legacy-tls is deprecated: TVS accepts TLS 1.0 whatever TLSMinVersion "
                        "says (ctlkit admin -c 'set tls min-version 1.0' sets it for the cluster)\n");
    a->d->tvs.tls_min = v;
    return 0;
}

static int set_tvs_timeout(daemon_args *a, const char *arg, ck_err *err)
{
    long long n;
    if (set_number(arg, 1, 3600, &n, "--tvs-timeout must be a number of seconds from 1 to 3600", err) < 0)
        return -1;
    a->d->tvs.timeout_ms = a->d->tvs.idle_ms = (int)n * 1000;
    return 0;
}

static int set_metrics_timeout(daemon_args *a, const char *arg, ck_err *err)
{
    long long n;
    if (set_number(arg, 1, 3600, &n, "--metrics-timeout must be a number of seconds from 1 to 3600", err) < 0)
        return -1;
    a->d->metrics.timeout_ms = (int)n * 1000;
    return 0;
}

static int set_metrics_max_conns(daemon_args *a, const char *arg, ck_err *err)
{
    long long n;
    if (set_number(arg, 1, 10000, &n, "--metrics-max-conns must be a number from 1 to 10000", err) < 0)
        return -1;
    a->d->metrics.max_conns = (int)n;
    return 0;
}

static int set_tvs_workers(daemon_args *a, const char *arg, ck_err *err)
{
    long long n;
    char what[64];
    snprintf(what, sizeof what, "--tvs-workers must be a number from 1 to %d", TVS_MAX_WORKERS);
    if (set_number(arg, 1, TVS_MAX_WORKERS, &n, what, err) < 0)
        return -1;
    a->d->tvs.workers = (int)n;
    return 0;
}

static int set_max_conns_per_source(daemon_args *a, const char *arg, ck_err *err)
{
    long long n;
    if (set_number(arg, 0, 1000000, &n, "--max-conns-per-source must be a number from 0 (no cap) to 1000000", err) < 0)
        return -1;
    a->d->max_per_source = (int)n; /* TVS and CAPF each take it when made */
    return 0;
}

static int set_tvs_max_conns(daemon_args *a, const char *arg, ck_err *err)
{
    long long n;
    if (set_number(arg, 1, 1000000, &n, "--tvs-max-conns must be a number from 1 to 1000000", err) < 0)
        return -1;
    a->d->tvs.max_conns = (int)n;
    return 0;
}

/* ---- the table ---- */

#define TVS_TRUSTS_CLUSTER                                                                                       \
    "is for a TVS without a cluster: with --cluster the TVS trusts the node's CTL and the cluster's certificates"

/* A row without a name is a heading of --help. */
static const daemon_option options[] = {
    {"cluster", 0, "DIR", "the cluster (ctlkit cluster init); with --node, serves that node:", NULL, NULL,
     set_cluster},
    {"node", 0, "NAME",
     "TFTP from its directory on its IP and port, TVS with its key,\n"
     "answers from the cluster's CTL and certificates (followed on change)",
     NULL, NULL, set_node},
    {"dir", 0, "DIR",
     "this host's node folder (keys/, tftp/, run/); needed with a\npostgresql:// cluster (docs/cluster-across-hosts.md)",
     NULL, NULL, set_node_dir},
    {"tftp", 0, "ADDR:PORT", "TFTP address (default the node's, or 0.0.0.0:69; [::1]:69 for IPv6)",
     CLUSTER_NODE_TFTP, NULL, set_tftp},
    {"tftp-root", 0, "DIR", "directory served over TFTP (read into memory, followed on change)",
     CLUSTER_NODE_TFTP_ROOT, NULL, set_tftp_root},
    {"tftp-sign-cert", 0, "PEM",
     "RSA key and certificate that sign any file asked for as NAME.sgn\n"
     "(default: the node's CallManager key; none without a cluster)",
     CLUSTER_NODE_TFTP_SIGN, NULL, set_tftp_sign_cert},
    {"max-transfers", 0, "N", "concurrent TFTP transfers (default 4000)", NULL, NULL, set_max_transfers},
    {"tftp-max-blksize", 0, "N",
     "largest TFTP blksize granted (RFC 2348; default 65464): with\n"
     "--tftp-max-window, bounds what one ACK makes the server send",
     NULL, NULL, set_tftp_max_blksize},
    {"tftp-max-window", 0, "N", "largest TFTP windowsize granted (RFC 7440; default 64)", NULL, NULL,
     set_tftp_max_window},
    {"max-transfers-per-source", 0, "N",
     "concurrent TFTP transfers per client address\n"
     "(default: the cluster's TFTPMaxTransfersPerSource, or 16; 0 = no cap)",
     CK_PARAM_TFTP_PER_SOURCE, NULL, set_max_per_source},
    {"provider", 0, "ADDR:PORT",
     "CTL Provider address, publisher only (default: the node's IP and\n"
     "provider port; the CTL Client's TLS port, docs/ctl-provider.md)",
     NULL, NULL, set_provider},
    {"provider-backoff", 0, "MS",
     "first back-off after 3 failed CTL Provider logins (default 1000;\n"
     "doubles per failure up to 5 min)",
     NULL, NULL, set_provider_backoff},
    {"capf", 0, "ADDR:PORT",
     "CAPF address, publisher only (default: the node's IP and the\n"
     "CAPFPhonePort parameter, 3804; phones enrol LSCs, docs/capf.md)",
     NULL, NULL, set_capf},
    {"capf-timeout", 0, "SECONDS",
     "close a CAPF connection whose phone sends nothing for this long\n"
     "(default 120: phones take seconds to make a key)",
     NULL, NULL, set_capf_timeout},
    {"metrics", 0, "ADDR:PORT",
     "serve Prometheus metrics over HTTP at /metrics (e.g. 127.0.0.1:9469;\n"
     "off by default; docs/watching.md)",
     NULL, NULL, set_metrics},
    {"metrics-max-conns", 0, "N", "metrics connections at once; one more is closed (default 16)", NULL, NULL,
     set_metrics_max_conns},
    {"metrics-timeout", 0, "SECONDS",
     "close a metrics connection that has not sent a whole request this long\n"
     "after it opened or got its last answer (default 10)",
     NULL, NULL, set_metrics_timeout},
    {"track-phones", 0, "on|off",
     "with --cluster: note what each phone fetched and asked TVS, for\n"
     "show phones trust (default on; docs/watching.md)",
     NULL, NULL, set_track_phones},
    {"allow-loose-key-modes", 0, NULL,
     "start even when a key file is not 0600 or the cluster's keys/\n"
     "folder not 0700 (warns instead of refusing)",
     NULL, NULL, set_loose_keys},
    {"foreground", 'f', NULL, "stay in the foreground and log to stderr (default: detach, syslog)", NULL, NULL,
     set_foreground},
    {"log-level", 0, "LEVEL", "error, warning, notice, info (default: one line per transfer), debug", NULL, NULL,
     set_log_level},
    {"user", 0, "NAME",
     "started as root: become NAME once the sockets are bound and the keys\n"
     "loaded (default " PRIVDROP_DEFAULT_USER "; docs/installing.md)",
     NULL, NULL, set_user},
    {"allow-root", 0, NULL, "started as root without --user: keep running as root", NULL, NULL, set_allow_root},
    {"seccomp", 0, "MODE",
     "system calls outside the services' list once started: off (default),\n"
     "log (kernel audit log), trap (fail, named on stderr), kill",
     NULL, NULL, set_seccomp},
    {"help", 'h', NULL, "this text", NULL, NULL, NULL},
    {NULL, 0, NULL,
     "TVS (Trust Verification Service: with --cluster on the node's address and port;\n"
     "     without a cluster only with --tvs):",
     NULL, NULL, NULL},
    {"tvs", 0, "ADDR:PORT", "serve the Trust Verification Service (phones use port 2445)", CLUSTER_NODE_TVS, NULL,
     set_tvs},
    {"tvs-cert", 0, "PEM", "the node's TVS private key and certificate, one PEM file", CLUSTER_NODE_TVS_KEY, NULL,
     set_tvs_cert},
    {"tvs-ctl", 0, "FILE", "without a cluster: CTLFile.tlv whose certificates the TVS vouches for\n(followed on change)",
     NULL, TVS_TRUSTS_CLUSTER, set_tvs_ctl},
    {"tvs-db-cert", 0, "PEM:ROLES",
     "without a cluster: a certificate and its roles, e.g.\nCallManager.pem:SAST,CCM+TFTP (repeatable)", NULL,
     TVS_TRUSTS_CLUSTER, set_tvs_db_cert},
    {"tvs-ttl", 0, "SECONDS",
     "how long phones may cache a \"valid\" answer (default: the cluster's\nTVSCertificateCacheTTL, or 86400)",
     CK_PARAM_TVS_TTL, NULL, set_tvs_ttl},
    {"tvs-legacy-tls", 0, NULL,
     "deprecated: TLS minimum 1.0 (79xx phones) whatever the cluster's\nTLSMinVersion says (use: ctlkit admin -c 'set tls min-version 1.0')",
     CK_PARAM_TLS_MIN, NULL, set_tvs_tls_min},
    {"tvs-timeout", 0, "SECONDS", "close a connection that has not sent a whole request by then (default 10)", NULL,
     NULL, set_tvs_timeout},
    {"tvs-workers", 0, "N", "TVS threads (default: one per CPU)", NULL, NULL, set_tvs_workers},
    {"tvs-max-conns", 0, "N", "TVS connections at once (default 1024)", NULL, NULL, set_tvs_max_conns},
    {"max-conns-per-source", 0, "N",
     "TVS and CAPF connections at once from one address; one more is\n"
     "closed (default 0: no cap, as phones behind a NAT or an ASA phone\n"
     "proxy share one address; docs/tvs-protocol.md)",
     NULL, NULL, set_max_conns_per_source},
};

#define N_OPTIONS (sizeof options / sizeof options[0])
_Static_assert(N_OPTIONS <= 64, "daemon_args.given has one bit per row");

/* The column where help text starts, as in the man page's habit. */
#define HELP_COLUMN 23

void options_usage(FILE *to)
{
    fputs("usage: ctlkitd --cluster DIR --node NAME [options]\n"
          "       ctlkitd --cluster postgresql://USER@HOST:PORT/DB --dir DIR --node NAME [options]\n"
          "       ctlkitd --tftp-root DIR [options]\n",
          to);
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const daemon_option *o = &options[i];
        if (!o->name) {
            fprintf(to, "%s\n", o->help);
            continue;
        }
        char head[64];
        int n = snprintf(head, sizeof head, "  --%s%s%s", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "");
        if (o->short_name)
            n += snprintf(head + n, sizeof head - (size_t)n, ", -%c", o->short_name);
        fprintf(to, "%-*s", HELP_COLUMN - 1, head);
        /* At least two spaces between a long head and its text. */
        fputs(n >= HELP_COLUMN - 2 ? "  " : " ", to);
        for (const char *p = o->help; *p;) {
            const char *nl = strchr(p, '\n');
            size_t len = nl ? (size_t)(nl - p) : strlen(p);
            fprintf(to, "%.*s\n", (int)len, p);
            if (!nl)
                break;
            p = nl + 1;
            fprintf(to, "%*s", HELP_COLUMN, "");
        }
    }
    fputs("Signals: SIGHUP reloads every service (re-reads the TFTP root, recaches the TVS\n"
          "         certificates), SIGUSR1 logs each service's counters, SIGTERM and SIGINT stop.\n",
          to);
}

int options_parse(int argc, char **argv, daemon_args *a)
{
    struct option longopts[N_OPTIONS + 1];
    char shortopts[2 * N_OPTIONS + 1];
    size_t nl = 0, ns = 0;
    for (size_t i = 0; i < N_OPTIONS; i++) {
        if (!options[i].name)
            continue;
        longopts[nl++] = (struct option){options[i].name, options[i].metavar ? required_argument : no_argument,
                                         NULL, (int)(256 + i)};
        if (options[i].short_name) {
            shortopts[ns++] = options[i].short_name;
            if (options[i].metavar)
                shortopts[ns++] = ':';
        }
    }
    longopts[nl] = (struct option){NULL, 0, NULL, 0};
    shortopts[ns] = '\0';

    int c;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        size_t i = N_OPTIONS;
        if (c >= 256)
            i = (size_t)c - 256;
        else
            for (size_t k = 0; k < N_OPTIONS; k++)
                if (options[k].name && options[k].short_name == c)
                    i = k;
        if (i == N_OPTIONS) { /* getopt has said what was wrong */
            options_usage(stderr);
            return 2;
        }
        if (!options[i].set) { /* --help */
            options_usage(stdout);
            return 0;
        }
        ck_err err = {0};
        if (options[i].set(a, optarg, &err) < 0) {
            fprintf(stderr, "ctlkitd: %s\n", err.msg);
            return 2;
        }
        a->given |= UINT64_C(1) << i;
    }
    if (optind < argc) {
        char shown[512]; /* a cluster URL without --cluster may carry a password */
        ck_store_mask_address(argv[optind], shown, sizeof shown);
        fprintf(stderr, "ctlkitd: unexpected argument '%s'\n", shown);
        options_usage(stderr);
        return 2;
    }
    return -1;
}

int options_check_cluster_mode(const daemon_args *a, ck_err *err)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if ((a->given >> i & 1) && options[i].not_with_cluster)
            return ck_fail(err, CK_EINVAL, "--%s %s", options[i].name, options[i].not_with_cluster);
    return 0;
}

int options_fill_from_cluster(daemon_args *a, cluster_node *cn, ck_err *err)
{
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const daemon_option *o = &options[i];
        if (!o->from_cluster || (a->given >> i & 1))
            continue;
        const char *v = cluster_node_value(cn, o->from_cluster);
        if (v && o->set(a, v, err) < 0) {
            ck_err_prefix(err, "the cluster's %s for --%s", o->from_cluster, o->name);
            return -1;
        }
    }
    return 0;
}
