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
#include "ctlkit/error.h"
#include "ctlkit/x509.h"
#include "daemon.h"
#include "log.h"
#include "tftp_service.h"
#include "tvs_service.h"
#include "cluster_node.h"
#include "tls_server.h"
#include "provider_service.h" /* ---- CTL PROVIDER ---- */

static void usage(FILE *to)
{
    fputs("usage: ctlkitd --cluster DIR --node NAME [options]\n"
          "       ctlkitd --tftp-root DIR [options]\n"
          "  --cluster DIR        the cluster (ctlkit cluster init); with --node, serves that node:\n"
          "  --node NAME          TFTP from its directory on its IP and port, TVS with its key,\n"
          "                       answers from the cluster's CTL and certificates (followed on change)\n"
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

struct loop_ctx {
    struct event_base *base;
    struct tftp_service *tftp;
    struct tvs_service *tvs;
    cluster_node *cluster;
};

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct loop_ctx *ctx = arg;
    if (sig == SIGHUP) {
        dlog(DLOG_NOTICE, "SIGHUP: reloading");
        tftp_service_reload(ctx->tftp);
        if (ctx->cluster)
            cluster_node_reload(ctx->cluster, "SIGHUP: Recaching CTL and DB Certificate Caches");
        else if (ctx->tvs)
            tvs_service_reload(ctx->tvs, "SIGHUP: reload requested", NULL);
        return;
    }
    dlog(DLOG_NOTICE, "%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    event_base_loopbreak(ctx->base);
}

int main(int argc, char **argv)
{
    enum { OPT_TFTP = 256, OPT_ROOT, OPT_MAX, OPT_LEVEL, OPT_TVS, OPT_CLUSTER, OPT_NODE, OPT_PROVIDER, OPT_BACKOFF,
           OPT_PER_SOURCE, OPT_LOOSE_KEYS };
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
    struct tftp_config tcfg;
    bool foreground = false;
    enum dlog_level level = DLOG_INFO;
    struct loop_ctx ctx = {0};
    struct event *sigs[3] = {0};
    ck_err err;
    long long n;
    int rc = 1, c, li = 0;
    tvs_config vcfg;
    const char *cluster_dir = NULL, *node = NULL;
    const char *provider_listen = NULL; /* ---- CTL PROVIDER ---- */
    long long provider_backoff = 0;     /* ---- CTL PROVIDER ---- */
    bool tftp_set = false, tvs_set = false, loose_keys = false;
    cluster_node *cluster = NULL;

    tftp_config_defaults(&tcfg);
    tvs_config_init(&vcfg);
    while ((c = getopt_long(argc, argv, "fh", longopts, &li)) != -1) {
        switch (c) {
        case OPT_CLUSTER:
            cluster_dir = optarg;
            break;
        case OPT_NODE:
            node = optarg;
            break;
        case OPT_PROVIDER: /* ---- CTL PROVIDER ---- */
            provider_listen = optarg;
            break;
        case OPT_BACKOFF: /* ---- CTL PROVIDER ---- */
            if (!ck_parse_ll(optarg, 1, 300000, &provider_backoff)) {
                fprintf(stderr, "ctlkitd: --provider-backoff must be a number of ms from 1 to 300000\n");
                return 2;
            }
            break;
        case OPT_LOOSE_KEYS:
            loose_keys = true;
            break;
        case OPT_TFTP:
            tftp_set = true;
            if (netaddr_parse(optarg, 69, &tcfg.listen, &err) < 0) {
                fprintf(stderr, "ctlkitd: --tftp: %s\n", err.msg);
                return 2;
            }
            break;
        case OPT_ROOT:
            tcfg.root = optarg;
            break;
        case OPT_MAX:
            if (!ck_parse_ll(optarg, 1, 1000000, &n)) {
                fprintf(stderr, "ctlkitd: --max-transfers must be a number from 1 to 1000000\n");
                return 2;
            }
            tcfg.max_transfers = (unsigned)n;
            break;
        case OPT_PER_SOURCE:
            if (!ck_parse_ll(optarg, 0, 1000000, &n)) {
                fprintf(stderr, "ctlkitd: --max-transfers-per-source must be a number from 0 (no cap) to 1000000\n");
                return 2;
            }
            tcfg.max_per_source = (unsigned)n;
            break;
        case 'f':
            foreground = true;
            break;
        case OPT_LEVEL:
            if (!dlog_parse_level(optarg, &level)) {
                fprintf(stderr, "ctlkitd: --log-level must be error, warning, notice, info or debug\n");
                return 2;
            }
            break;
        case OPT_TVS:
            tvs_set = tvs_set || strcmp(longopts[li].name, "tvs") == 0;
            if (tvs_config_set(&vcfg, longopts[li].name, optarg, &err) < 0) {
                fprintf(stderr, "ctlkitd: %s\n", err.msg);
                tvs_config_clear(&vcfg);
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

    /* ---- CLUSTER: the node's entry fills what the options left unset. ---- */
    if (!cluster_dir != !node) {
        fprintf(stderr, "ctlkitd: --cluster and --node go together\n");
        tvs_config_clear(&vcfg);
        return 2;
    }
    /* A cluster's keys live in its private keys/ folders: check those too. */
    tls_server_set_key_flags((cluster_dir ? CK_KEY_PRIVATE_DIR : 0) | (loose_keys ? CK_KEY_LOOSE_WARN : 0));
    /* Every service gets the cluster's absolute path: a detached daemon
     * has left the working directory. */
    char cluster_path[PATH_MAX];
    if (cluster_dir && realpath(cluster_dir, cluster_path))
        cluster_dir = cluster_path;
    if (cluster_dir && !(cluster = cluster_node_open(cluster_dir, node, &tcfg, tftp_set, &vcfg, tvs_set, &err))) {
        fprintf(stderr, "ctlkitd: %s\n", err.msg);
        tvs_config_clear(&vcfg);
        return 1;
    }
    if (!tcfg.root) {
        fprintf(stderr, "ctlkitd: --cluster DIR --node NAME, or --tftp-root DIR, is required\n");
        usage(stderr);
        return 2;
    }

    /* One socket per transfer: make room, and keep the limit coherent. */
    long fds = daemon_raise_fd_limit();
    if (fds > 0 && (long)tcfg.max_transfers + 64 > fds) {
        fprintf(stderr, "ctlkitd: --max-transfers lowered from %u to %ld (open file limit %ld)\n",
                tcfg.max_transfers, fds - 64 > 1 ? fds - 64 : 1, fds);
        tcfg.max_transfers = (unsigned)(fds - 64 > 1 ? fds - 64 : 1);
    }
    signal(SIGPIPE, SIG_IGN);

    /* Bind and load first, so that errors reach the terminal; then detach. */
    struct tftp_service *tftp = tftp_service_new(&tcfg, &err);
    if (!tftp) {
        fprintf(stderr, "ctlkitd: %s\n", err.msg);
        cluster_node_free(cluster);
        tvs_config_clear(&vcfg);
        return 1;
    }
    /* ---- TVS: load its certificate, key and trust cache and bind, before detaching. ---- */
    struct tvs_service *tvs = NULL;
    if (vcfg.listen && !(tvs = tvs_service_new(&vcfg, &err))) {
        fprintf(stderr, "ctlkitd: %s\n", err.msg);
        tftp_service_free(tftp);
        tvs_config_clear(&vcfg);
        cluster_node_free(cluster);
        return 1;
    }
    /* ---- CTL PROVIDER: on the publisher, load its TLS identity and bind before detaching. ---- */
    struct provider_service *provider = NULL;
    if (provider_for_node(cluster_dir, node, provider_listen, &provider, &err) < 0) {
        fprintf(stderr, "ctlkitd: %s\n", err.msg);
        tftp_service_free(tftp);
        tvs_service_free(tvs);
        tvs_config_clear(&vcfg);
        cluster_node_free(cluster);
        return 1;
    }
    if (provider && provider_backoff)
        provider_service_set_backoff(provider, (unsigned)provider_backoff);
    /* ---- end CTL PROVIDER ---- */
    if (!foreground) {
        int d = daemon_detach(&err);
        if (d != 0) {
            if (d < 0)
                fprintf(stderr, "ctlkitd: %s\n", err.msg);
            provider_service_free(provider); /* ---- CTL PROVIDER ---- */
            tftp_service_free(tftp);
            tvs_service_free(tvs);
            tvs_config_clear(&vcfg);
            cluster_node_free(cluster);
            return d > 0 ? 0 : 1;
        }
    }
    dlog_open("ctlkitd", foreground, level);

    ctx.tftp = tftp;
    ctx.base = event_base_new();
    if (!ctx.base || event_base_priority_init(ctx.base, DLOG_PRIORITIES) != 0 || dlog_attach(ctx.base) != 0) {
        dlog(DLOG_ERR, "cannot create the event loop");
        goto out;
    }
    if (tftp_service_start(tftp, ctx.base, &err) < 0) {
        dlog(DLOG_ERR, "%s", err.msg);
        goto out;
    }
    /* ---- TVS: its worker threads start now (after any fork); the loop watches its CTL. ---- */
    ctx.tvs = tvs;
    if (tvs && tvs_service_start(tvs, ctx.base, &err) < 0) {
        dlog(DLOG_ERR, "%s", err.msg);
        goto out;
    }
    /* ---- CLUSTER: the cluster's trust cache, the pid file, the change watch. ---- */
    ctx.cluster = cluster;
    if (cluster && cluster_node_start(cluster, ctx.base, tvs, &err) < 0) {
        dlog(DLOG_ERR, "%s", err.msg);
        goto out;
    }
    /* ---- CTL PROVIDER: opens the cluster (after any fork) and accepts on the loop. ---- */
    if (provider && provider_service_start(provider, ctx.base, &err) < 0) {
        dlog(DLOG_ERR, "%s", err.msg);
        goto out;
    }

    const int signums[3] = {SIGHUP, SIGTERM, SIGINT};
    for (int i = 0; i < 3; i++) {
        sigs[i] = evsignal_new(ctx.base, signums[i], on_signal, &ctx);
        if (!sigs[i] || event_add(sigs[i], NULL) != 0) {
            dlog(DLOG_ERR, "cannot catch signal %d", signums[i]);
            goto out;
        }
    }
    dlog(DLOG_NOTICE, "ctlkitd %s started", CTLKIT_VERSION);
    dlog_flush();
    if (event_base_dispatch(ctx.base) < 0) {
        dlog(DLOG_ERR, "event loop failed");
        goto out;
    }
    rc = 0;
out:
    provider_service_free(provider); /* ---- CTL PROVIDER ---- */
    cluster_node_free(cluster); /* ---- CLUSTER ---- */
    tvs_service_free(tvs); /* ---- TVS ---- */
    tvs_config_clear(&vcfg);
    tftp_service_free(tftp);
    for (int i = 0; i < 3; i++)
        if (sigs[i])
            event_free(sigs[i]);
    dlog_detach();
    if (ctx.base)
        event_base_free(ctx.base);
    dlog(DLOG_NOTICE, "ctlkitd stopped");
    dlog_close();
    return rc;
}
