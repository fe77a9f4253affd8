/* ctlkitd: the node daemon. Option parsing and wiring only; each service
 * lives in its own file and joins the one libevent loop. */
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "ctlkit/bytes.h"
#include "ctlkit/cluster.h"
#include "ctlkit/error.h"
#include "ctlkit/x509.h"
#include "daemon.h"
#include "log.h"
#include "tftp_service.h"
#include "tvs_service.h"
#include "cluster_node.h"
#include "tls_server.h"
#include "service.h"

static void usage(FILE *to)
{
    fputs("usage: ctlkitd --cluster DIR --node NAME [options]\n"
          "       ctlkitd --cluster postgresql://USER@HOST:PORT/DB --dir DIR --node NAME [options]\n"
          "       ctlkitd --tftp-root DIR [options]\n"
          "  --cluster DIR        the cluster (ctlkit cluster init); with --node, serves that node:\n"
          "  --node NAME          TFTP from its directory on its IP and port, TVS with its key,\n"
          "                       answers from the cluster's CTL and certificates (followed on change)\n"
          "  --dir DIR            this host's node folder (keys/, tftp/, run/); needed with a\n"
          "                       postgresql:// cluster (docs/cluster-across-hosts.md)\n"
          "  --tftp ADDR:PORT     TFTP address (default 0.0.0.0:69; [::1]:69 for IPv6)\n"
          "  --tftp-root DIR      directory served over TFTP (read into memory, followed on change)\n"
          "  --max-transfers N    concurrent TFTP transfers (default 4000)\n"
          "  --max-transfers-per-source N  concurrent TFTP transfers per client address\n"
          "                       (default 16; 0 = no cap)\n"
          "  --provider ADDR:PORT CTL Provider address, publisher only (default: the node's IP and\n"
          "                       provider port; the CTL Client's TLS port, docs/ctl-provider.md)\n"
          "  --provider-backoff MS first back-off after 3 failed CTL Provider logins (default 1000;\n"
          "                       doubles per failure up to 5 min)\n"
          "  --allow-loose-key-modes  start even when a key file is not 0600 or the cluster's keys/\n"
          "                       folder not 0700 (warns instead of refusing)\n"
          "  --foreground, -f     stay in the foreground and log to stderr (default: detach, syslog)\n"
          "  --log-level LEVEL    error, warning, notice, info (default: one line per transfer), debug\n"
          "  --help, -h           this text\n"
          "Signals: SIGHUP reloads every service (re-reads the TFTP root, recaches the TVS\n"
          "         certificates), SIGTERM and SIGINT stop.\n",
          to);
    fputs("TVS (Trust Verification Service: with --cluster on the node's address and port;\n"
          "     without a cluster only with --tvs):\n",
          to);
    fputs(tvs_usage, to);
}

/* The services of the table, once made (NULL: not running here). */
static void *svcs[8];

/* Flags of the command line that are not a service's setting. */
struct args {
    bool foreground, loose_keys, tftp_set, tvs_set;
    enum dlog_level level;
};

/* Returns -1 when parsed, else the exit status (0 after --help). */
static int parse_args(int argc, char **argv, daemon_ctx *d, struct args *a)
{
    enum { OPT_TFTP = 256, OPT_ROOT, OPT_MAX, OPT_LEVEL, OPT_TVS, OPT_CLUSTER, OPT_NODE, OPT_PROVIDER, OPT_BACKOFF,
           OPT_PER_SOURCE, OPT_LOOSE_KEYS, OPT_DIR };
    static const struct option longopts[] = {
        {"tftp", required_argument, NULL, OPT_TFTP},
        {"tftp-root", required_argument, NULL, OPT_ROOT},
        {"max-transfers", required_argument, NULL, OPT_MAX},
        {"max-transfers-per-source", required_argument, NULL, OPT_PER_SOURCE},
        {"foreground", no_argument, NULL, 'f'},
        {"log-level", required_argument, NULL, OPT_LEVEL},
        {"help", no_argument, NULL, 'h'},
        {"cluster", required_argument, NULL, OPT_CLUSTER},
        {"node", required_argument, NULL, OPT_NODE},
        {"dir", required_argument, NULL, OPT_DIR},
        {"provider", required_argument, NULL, OPT_PROVIDER}, /* ---- CTL PROVIDER ---- */
        {"provider-backoff", required_argument, NULL, OPT_BACKOFF}, /* ---- CTL PROVIDER ---- */
        {"allow-loose-key-modes", no_argument, NULL, OPT_LOOSE_KEYS},
        /* ---- TVS options: all handled by tvs_config_set() by name. ---- */
        {"tvs", required_argument, NULL, OPT_TVS},
        {"tvs-cert", required_argument, NULL, OPT_TVS},
        {"tvs-ctl", required_argument, NULL, OPT_TVS},
        {"tvs-db-cert", required_argument, NULL, OPT_TVS},
        {"tvs-ttl", required_argument, NULL, OPT_TVS},
        {"tvs-legacy-tls", no_argument, NULL, OPT_TVS},
        {"tvs-timeout", required_argument, NULL, OPT_TVS},
        {"tvs-workers", required_argument, NULL, OPT_TVS},
        {"tvs-max-conns", required_argument, NULL, OPT_TVS},
        {NULL, 0, NULL, 0},
    };
    ck_err err;
    long long n;
    int c, li = 0;
    while ((c = getopt_long(argc, argv, "fh", longopts, &li)) != -1) {
        switch (c) {
        case OPT_CLUSTER:
            d->cluster_dir = optarg;
            break;
        case OPT_NODE:
            d->node = optarg;
            break;
        case OPT_DIR:
            d->node_dir = optarg;
            break;
        case OPT_PROVIDER: /* ---- CTL PROVIDER ---- */
            d->provider_listen = optarg;
            break;
        case OPT_BACKOFF: /* ---- CTL PROVIDER ---- */
            if (!ck_parse_ll(optarg, 1, 300000, &n)) {
                fprintf(stderr, "ctlkitd: --provider-backoff must be a number of ms from 1 to 300000\n");
                return 2;
            }
            d->provider_backoff_ms = (unsigned)n;
            break;
        case OPT_LOOSE_KEYS:
            a->loose_keys = true;
            break;
        case OPT_TFTP:
            a->tftp_set = true;
            if (netaddr_parse(optarg, 69, &d->tftp.listen, &err) < 0) {
                fprintf(stderr, "ctlkitd: --tftp: %s\n", err.msg);
                return 2;
            }
            break;
        case OPT_ROOT:
            d->tftp.root = optarg;
            break;
        case OPT_MAX:
            if (!ck_parse_ll(optarg, 1, 1000000, &n)) {
                fprintf(stderr, "ctlkitd: --max-transfers must be a number from 1 to 1000000\n");
                return 2;
            }
            d->tftp.max_transfers = (unsigned)n;
            break;
        case OPT_PER_SOURCE:
            if (!ck_parse_ll(optarg, 0, 1000000, &n)) {
                fprintf(stderr, "ctlkitd: --max-transfers-per-source must be a number from 0 (no cap) to 1000000\n");
                return 2;
            }
            d->tftp.max_per_source = (unsigned)n;
            break;
        case 'f':
            a->foreground = true;
            break;
        case OPT_LEVEL:
            if (!dlog_parse_level(optarg, &a->level)) {
                fprintf(stderr, "ctlkitd: --log-level must be error, warning, notice, info or debug\n");
                return 2;
            }
            break;
        case OPT_TVS:
            a->tvs_set = a->tvs_set || strcmp(longopts[li].name, "tvs") == 0;
            if (tvs_config_set(&d->tvs, longopts[li].name, optarg, &err) < 0) {
                fprintf(stderr, "ctlkitd: %s\n", err.msg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ctlkitd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    return -1;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    daemon_ctx *d = arg;
    if (sig == SIGHUP) {
        dlog(DLOG_NOTICE, "SIGHUP: reloading");
        for (unsigned i = 0; i < daemon_n_services; i++)
            if (svcs[i])
                daemon_services[i]->reload(svcs[i], d);
        return;
    }
    dlog(DLOG_NOTICE, "%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    event_base_loopbreak(d->base);
}

/* The cluster's node entry fills what the command line left unset.
 * Returns -2 (-3 with the usage text) for a usage error, -1 otherwise. */
static int open_cluster(daemon_ctx *d, const struct args *a, char *path, ck_err *err)
{
    if (!d->cluster_dir != !d->node) {
        ck_fail(err, CK_EINVAL, "--cluster and --node go together");
        return -2;
    }
    /* A cluster's keys live in its private keys/ folders: check those too. */
    tls_server_set_key_flags((d->cluster_dir ? CK_KEY_PRIVATE_DIR : 0) | (a->loose_keys ? CK_KEY_LOOSE_WARN : 0));
    /* Every service gets the cluster's absolute path: a detached daemon
     * has left the working directory. */
    if (d->cluster_dir && !ck_cluster_address_is_url(d->cluster_dir) && realpath(d->cluster_dir, path))
        d->cluster_dir = path;
    if (d->node_dir && realpath(d->node_dir, path + PATH_MAX))
        d->node_dir = path + PATH_MAX;
    if (d->cluster_dir && !(d->cluster = cluster_node_open(d->cluster_dir, d->node_dir, d->node, &d->tftp, a->tftp_set,
                                                           &d->tvs, a->tvs_set, err)))
        return -1;
    if (!d->tftp.root) {
        ck_fail(err, CK_EINVAL, "--cluster DIR --node NAME, or --tftp-root DIR, is required");
        return -3;
    }
    /* One socket per transfer: make room, and keep the limit coherent. */
    long fds = daemon_raise_fd_limit();
    if (fds > 0 && (long)d->tftp.max_transfers + 64 > fds) {
        fprintf(stderr, "ctlkitd: --max-transfers lowered from %u to %ld (open file limit %ld)\n",
                d->tftp.max_transfers, fds - 64 > 1 ? fds - 64 : 1, fds);
        d->tftp.max_transfers = (unsigned)(fds - 64 > 1 ? fds - 64 : 1);
    }
    return 0;
}

/* After detaching: the loop, each service started in table order, the signals. */
static int run(daemon_ctx *d, struct event *sigs[3], ck_err *err)
{
    d->base = event_base_new();
    if (!d->base || event_base_priority_init(d->base, DLOG_PRIORITIES) != 0 || dlog_attach(d->base) != 0)
        return ck_fail(err, CK_EIO, "cannot create the event loop");
    for (unsigned i = 0; i < daemon_n_services; i++)
        if (svcs[i] && daemon_services[i]->start(svcs[i], d, err) < 0)
            return -1;
    const int signums[3] = {SIGHUP, SIGTERM, SIGINT};
    for (int i = 0; i < 3; i++) {
        sigs[i] = evsignal_new(d->base, signums[i], on_signal, d);
        if (!sigs[i] || event_add(sigs[i], NULL) != 0)
            return ck_fail(err, CK_EIO, "cannot catch signal %d", signums[i]);
    }
    dlog(DLOG_NOTICE, "ctlkitd %s started", CTLKIT_VERSION);
    dlog_flush();
    if (event_base_dispatch(d->base) < 0)
        return ck_fail(err, CK_EIO, "event loop failed");
    return 0;
}

int main(int argc, char **argv)
{
    daemon_ctx d = {0};
    struct args a = {.level = DLOG_INFO};
    struct event *sigs[3] = {0};
    char cluster_path[2 * PATH_MAX]; /* the cluster folder's and the node folder's real paths */
    ck_err err = {0};
    int rc = 1, detached = 0;

    tftp_config_defaults(&d.tftp);
    tvs_config_init(&d.tvs);
    int st = parse_args(argc, argv, &d, &a);
    if (st >= 0) {
        tvs_config_clear(&d.tvs);
        return st;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Bind and load first, so that errors reach the terminal; then detach. */
    int opened = open_cluster(&d, &a, cluster_path, &err);
    bool ok = opened == 0;
    for (unsigned i = 0; ok && i < daemon_n_services; i++)
        ok = daemon_services[i]->new_(&d, &svcs[i], &err) == 0;
    if (ok && !a.foreground)
        ok = (detached = daemon_detach(&err)) == 0;
    if (ok) {
        dlog_open("ctlkitd", a.foreground, a.level);
        if (d.tvs_off[0] && !a.foreground)
            dlog(DLOG_ERR, "TVS not started, TFTP starts without it: %s", d.tvs_off);
        rc = run(&d, sigs, &err) == 0 ? 0 : 1;
        if (rc)
            dlog(DLOG_ERR, "%s", err.msg);
    } else if (detached > 0) {
        rc = 0; /* the parent of a detached daemon */
    } else {
        fprintf(stderr, "ctlkitd: %s\n", err.msg);
        if (opened == -3)
            usage(stderr);
        rc = opened < -1 ? 2 : 1;
    }
    for (unsigned i = daemon_n_services; i-- > 0;)
        if (svcs[i])
            daemon_services[i]->free_(svcs[i]);
    if (!svcs[2])
        cluster_node_free(d.cluster); /* opened, but no service made of it yet */
    tvs_config_clear(&d.tvs);
    for (int i = 0; i < 3; i++)
        if (sigs[i])
            event_free(sigs[i]);
    dlog_detach();
    if (d.base)
        event_base_free(d.base);
    if (ok) {
        dlog(DLOG_NOTICE, "ctlkitd stopped");
        dlog_close();
    }
    return rc;
}
