/* ctlkitd: the node daemon. Option parsing and wiring only; each service
 * lives in its own file and joins the one libevent loop. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <event2/event.h>

#include "ctlkit/bytes.h"
#include "ctlkit/cluster.h"
#include "ctlkit/conf.h"
#include "ctlkit/error.h"
#include "ctlkit/x509.h"
#include "daemon.h"
#include "log.h"
#include "tftp_service.h"
#include "tvs_service.h"
#include "cluster_node.h"
#include "tls_server.h"
#include "options.h"
#include "privdrop.h"
#include "sandbox_calls.h"
#include "service.h"

/* The services of the table, once made (NULL: not running here). */
static void *svcs[8];

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    daemon_ctx *d = arg;
    if (sig == SIGUSR1) {
        for (unsigned i = 0; i < daemon_n_services; i++)
            if (svcs[i] && daemon_services[i]->stats) {
                char line[256];
                daemon_services[i]->stats(svcs[i], line, sizeof line);
                dlog(DLOG_NOTICE, "stats: %s: %s", daemon_services[i]->name, line);
            }
        return;
    }
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

/* Leaving root: the node's keys are read now, as root, and kept in memory
 * for the services (and the ITL's re-signing) to use after the switch,
 * when keys/ is closed to the account; every other file is opened as the
 * account (docs/installing.md). */
static int hold_node_keys(daemon_ctx *d, daemon_args *a, ck_err *err)
{
    if (!privdrop_switches(&a->priv))
        return 0;
    /* Root reads the keys (through the account's folders: the unit's
     * CAP_DAC_READ_SEARCH, which the switch of user clears). */
    int rc = privdrop_files_as(&a->priv, false, err);
    if (rc == 0)
        rc = cluster_node_hold_keys(d->cluster, d->tftp.sign_key_flags, err);
    if (privdrop_files_as(&a->priv, true, rc < 0 ? NULL : err) < 0)
        rc = -1;
    return rc;
}

/* The cluster's node entry fills what the command line left unset.
 * Returns -2 (-3 with the usage text) for a usage error, -1 otherwise. */
static int open_cluster(daemon_ctx *d, daemon_args *a, char *path, ck_conf *conf, ck_err *err)
{
    /* The host's configuration file names the cluster, folder and node the
     * command line left out; a standalone daemon (--tftp-root without
     * --cluster) does not read it. */
    if (d->cluster_dir || d->node || d->node_dir || !d->tftp.root) {
        if (ck_conf_load(conf, err) < 0)
            return -2;
        if (conf->warning[0])
            fprintf(stderr, "ctlkitd: warning: %s\n", conf->warning);
        ck_conf_apply(conf, &d->cluster_dir, &d->node_dir, &d->node);
    }
    if (!d->cluster_dir != !d->node) {
        ck_fail(err, CK_EINVAL, "--cluster and --node go together");
        return -2;
    }
    /* Leaving root: the cluster's files are the account's, opened as it. */
    if (d->cluster_dir && privdrop_files_as(&a->priv, true, err) < 0)
        return -1;
    /* A cluster's keys live in its private keys/ folders: check those too. */
    tls_server_set_key_flags((d->cluster_dir ? CK_KEY_PRIVATE_DIR : 0) | (a->loose_keys ? CK_KEY_LOOSE_WARN : 0));
    d->tftp.sign_key_flags = (d->cluster_dir ? CK_KEY_PRIVATE_DIR : 0) | (a->loose_keys ? CK_KEY_LOOSE_WARN : 0);
    /* Every service gets the cluster's absolute path: a detached daemon
     * has left the working directory. */
    if (d->cluster_dir && !ck_cluster_address_is_url(d->cluster_dir) && realpath(d->cluster_dir, path))
        d->cluster_dir = path;
    if (d->node_dir && !d->cluster_dir) {
        ck_fail(err, CK_EINVAL, "--dir goes with --cluster and --node");
        return -2;
    }
    if (d->node_dir) {
        if (!realpath(d->node_dir, path + PATH_MAX)) {
            ck_fail(err, CK_ENOTFOUND, "--dir %s: %s", d->node_dir, strerror(errno));
            return -2;
        }
        d->node_dir = path + PATH_MAX;
    }
    if (d->cluster_dir && (options_check_cluster_mode(a, err) < 0 ||
                           !(d->cluster = cluster_node_open(d->cluster_dir, d->node_dir, d->node, err)) ||
                           hold_node_keys(d, a, err) < 0 || options_fill_from_cluster(a, d->cluster, err) < 0))
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

/* After the switch of user: the node's keys are loaded, and should no
 * longer be readable (docs/installing.md says how to lay out the folder). */
static void warn_if_keys_readable(const daemon_ctx *d, const char *user)
{
    const char *key = d->cluster ? cluster_node_value(d->cluster, CLUSTER_NODE_TVS_KEY) : NULL;
    int fd = key ? open(key, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
    if (fd < 0)
        return;
    close(fd);
    fprintf(stderr, "ctlkitd: warning: as %s the node's keys are still readable (%s): give the keys/ folder to root "
                    "(docs/installing.md)\n",
            user, key);
}

/* After detaching: the loop, each service started in table order, the
 * signals, then the seccomp filter over all of it. */
static int run(daemon_ctx *d, sandbox_mode seccomp, struct event *sigs[4], ck_err *err)
{
    d->base = event_base_new();
    if (!d->base || event_base_priority_init(d->base, DLOG_PRIORITIES) != 0 || dlog_attach(d->base) != 0)
        return ck_fail(err, CK_EIO, "cannot create the event loop");
    for (unsigned i = 0; i < daemon_n_services; i++)
        if (svcs[i] && daemon_services[i]->start(svcs[i], d, err) < 0)
            return -1;
    const int signums[4] = {SIGHUP, SIGUSR1, SIGTERM, SIGINT};
    for (int i = 0; i < 4; i++) {
        sigs[i] = evsignal_new(d->base, signums[i], on_signal, d);
        if (!sigs[i] || event_add(sigs[i], NULL) != 0)
            return ck_fail(err, CK_EIO, "cannot catch signal %d", signums[i]);
    }
    if (sandbox_install(seccomp, &ctlkitd_calls, err) < 0)
        return -1;
    dlog(DLOG_NOTICE, "ctlkitd %s started", CTLKIT_VERSION);
    dlog_flush();
    if (event_base_dispatch(d->base) < 0)
        return ck_fail(err, CK_EIO, "event loop failed");
    return 0;
}

int main(int argc, char **argv)
{
    daemon_ctx d = {0};
    daemon_args a = {.d = &d, .level = DLOG_INFO, .priv = {.allow_root_env = "CTLKITD_ALLOW_ROOT"}};
    d.svcs = svcs;
    struct event *sigs[4] = {0};
    char cluster_path[2 * PATH_MAX]; /* the cluster folder's and the node folder's real paths */
    ck_err err = {0};
    int rc = 1, detached = 0;

    privdrop_no_dumps(); /* before any key is read */
    bool secure_heap = privdrop_secure_heap();

    tftp_config_defaults(&d.tftp);
    tvs_config_init(&d.tvs);
    int st = options_parse(argc, argv, &a);
    if (st >= 0) {
        tvs_config_clear(&d.tvs);
        return st;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Bind and load first, so that errors reach the terminal; then leave
     * root, then detach. */
    static ck_conf conf; /* the settings point into it for the daemon's life */
    int opened = privdrop_check(&a.priv, &err) < 0 ? -1 : open_cluster(&d, &a, cluster_path, &conf, &err);
    bool ok = opened == 0;
    for (unsigned i = 0; ok && i < daemon_n_services; i++)
        ok = daemon_services[i]->new_(&d, &svcs[i], &err) == 0;
    const char *dropped_to = NULL;
    if (ok && (ok = privdrop_apply(&a.priv, &dropped_to, &err) == 0) && dropped_to)
        warn_if_keys_readable(&d, dropped_to);
    if (ok && !a.foreground)
        ok = (detached = daemon_detach(&err)) == 0;
    if (ok) {
        dlog_open("ctlkitd", a.foreground, a.level);
        if (!secure_heap)
            dlog(DLOG_WARNING, "OpenSSL's secure heap is not available (RLIMIT_MEMLOCK?): keys on the ordinary heap");
        if (d.tvs_off[0] && !a.foreground)
            dlog(DLOG_ERR, "TVS not started, TFTP starts without it: %s", d.tvs_off);
        rc = run(&d, a.seccomp, sigs, &err) == 0 ? 0 : 1;
        if (rc)
            dlog(DLOG_ERR, "%s", err.msg);
        else if (d.cluster && cluster_node_restart_asked(d.cluster))
            rc = CLUSTER_NODE_EXIT_RESTART;
    } else if (detached > 0) {
        rc = 0; /* the parent of a detached daemon */
    } else {
        fprintf(stderr, "ctlkitd: %s\n", err.msg);
        if (opened == -3)
            options_usage(stderr);
        rc = opened < -1 ? 2 : 1;
    }
    bool cluster_owned = false; /* the cluster service frees the node it was made of */
    for (unsigned i = daemon_n_services; i-- > 0;)
        if (svcs[i]) {
            cluster_owned |= daemon_services[i] == &cluster_service_row;
            daemon_services[i]->free_(svcs[i]);
        }
    if (!cluster_owned)
        cluster_node_free(d.cluster); /* opened, but no service made of it yet */
    tvs_config_clear(&d.tvs);
    ck_key_hold_end();
    for (int i = 0; i < 4; i++)
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
