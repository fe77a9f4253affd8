#include "cluster_node.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "ctlkit/bytes.h"
#include "ctlkit/cluster.h"
#include "ctlkit/fileio.h"
#include "ctlkit/params.h"
#include "ctlkit/tls_policy.h"
#include "ctlkit/x509.h"
#include "backoff.h"
#include "log.h"

/* How often to look for a changed CTL or certificate store: a stat and a
 * PRAGMA data_version, both cheap; the same interval as a standalone TVS. */
#define WATCH_MS CK_TC_WATCH_MS
/* The slow safety net: the folder is compared with the store this often
 * even when nothing seems to have changed (a hand edit of ITLFile.tlv),
 * the device files only at every DEVICE_CHECK_EVERY-th time: each costs a
 * read and a signature check (about 60 us a device, 0.3 s of CPU at 5,000
 * devices; docs/benchmarks.md, "Watcher's full passes"), and nothing but
 * a hand edit in the folder makes them differ from the store. Ticks that
 * saw the store move do not count. */
#define MATERIALIZE_EVERY 30
#define DEVICE_CHECK_EVERY 10

/* Across hosts: the safety-net poll (the store's notifications wake the
 * daemon at once) and the reconnect back-off's ceiling. */
#define URL_POLL_TICKS 10
#define RECONNECT_MAX_S 30

/* What the database thread asks the loop to do (TFTP and the TVS's cache
 * belong to the loop's thread). */
enum loop_job { JOB_NONE, JOB_FOLLOW_ROOT, JOB_TFTP_RELOAD, JOB_TVS_INSTALL, JOB_RESTART };

/* The database thread: every store call (reconnect, the change counter,
 * catch-up, materialize, restart requests) may block for seconds when the
 * database hangs (libpq's connect_timeout, a query to a stopped server),
 * so it runs on a thread of its own with its own event loop (the watch
 * timer, the notification socket). The TFTP/TVS loop never touches the
 * store: it only runs the few jobs this thread hands it through a pipe,
 * one at a time, and the thread waits for each to be done, so the order
 * of steps stays the one a single thread had (a restart request is
 * answered after TFTP reread its folder). */
typedef struct db_thread {
    pthread_t thread;
    bool started;
    struct event_base *base;   /* the thread's own loop */
    struct event *wake_ev;     /* on base: SIGHUP's recache request or stop */
    int wake[2];               /* loop -> thread */
    struct event *job_ev;      /* on the daemon's loop: a job is posted */
    int job_pipe[2];           /* thread -> loop */
    pthread_mutex_t mu;        /* guards everything below */
    pthread_cond_t cv;
    bool stopping;
    enum loop_job job;
    bool job_done;
    bool follow;
    ck_trustcache *tc;
    ck_tc_report rep;
    char reload_why[160];      /* SIGHUP: "" none asked */
    bool reload_asked;
    bool db_up;                /* for the metrics, as of the thread's last look */
    long long version[2];      /* CTLFile.tlv, ITLFile.tlv */
    int64_t not_after[CK_N_UNITS]; /* the node's certificates (ck_units), 0: none */
    long long certs_counter;   /* the change counter they were read at (-1: not yet) */
} db_thread;


struct cluster_node {
    ck_cluster *c; /* the database thread's alone once it runs */
    char dir[PATH_MAX];      /* the cluster folder, or the URL (password and all: reconnecting needs it) */
    char node_dir[PATH_MAX]; /* "" : the folder cluster's nodes/NAME */
    bool url;
    struct event *notify;    /* the store's notification socket, when it has one */
    struct event_base *base; /* the database thread's loop (before it runs: the daemon's) */
    struct event_base *loop; /* the daemon's TFTP/TVS loop */
    db_thread db;
    bool down;               /* the database is unreachable: serving the last files */
    backoff reconnect;       /* while down */
    unsigned ticks;
    char node[64];
    char tftp_root[PATH_MAX];
    char tftp_listen[64];
    char tvs_listen[64];
    char tvs_key[PATH_MAX];
    char callmanager_key[PATH_MAX]; /* signs X.sgn on request */
    char itlrecovery_key[PATH_MAX], capf_key[PATH_MAX];
    bool restart_asked;             /* a held key was regenerated: the loop stopped (the loop's thread) */
    bool restarting;                /* the same, as the database thread knows it */
    char ctl_path[PATH_MAX];
    char pid_path[PATH_MAX];
    struct {
        char name[48], value[64];
    } params[32]; /* the enterprise parameters the store holds, read at open */
    size_t n_params;
    struct tvs_service *tvs;
    struct tftp_service *tftp;
    /* TFTPReloadOnChange is False: TFTP and TVS keep what they have until
     * a restart request (the folder is still brought to the database's
     * state, TFTP just does not look). */
    bool hold;
    bool restart_pending; /* a restart request waits for the cluster lock */
    bool itl_pending;     /* a stale ITL waits for the cluster lock */
    struct event *watch;
    ck_file_stamp ctl_seen;
    bool ctl_recheck; /* CTLFile.tlv changed during the last tick: its files are looked at once more */
    int64_t store_seen;
    bool materialize_pending; /* the last try found the cluster lock held */
    unsigned periodic_checks; /* the safety net's, counted for DEVICE_CHECK_EVERY */
    ck_device_changes owed;   /* devices whose files a device-only pass could not bring up to date (lock held) */
    time_t last_reload;       /* when the TVS caches were last rebuilt (metrics; set and read on the loop) */
    unsigned ticks_since_materialize;
};

static void materialize(cluster_node *cn);

static int open_store(cluster_node *cn, ck_err *err)
{
    ck_cluster_where w = {.address = cn->dir, .dir = cn->node_dir[0] ? cn->node_dir : NULL, .node = cn->node};
    return ck_cluster_open_at(&w, "ctlkitd", &cn->c, err);
}

cluster_node *cluster_node_open(const char *address, const char *node_dir, const char *node, ck_err *err)
{
    cluster_node *cn = calloc(1, sizeof *cn);
    if (!cn) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&cn->db.mu, NULL);
    pthread_cond_init(&cn->db.cv, NULL);
    cn->db.wake[0] = cn->db.wake[1] = cn->db.job_pipe[0] = cn->db.job_pipe[1] = -1;
    cn->db.version[0] = cn->db.version[1] = -1;
    cn->db.certs_counter = -1;
    ck_node n;
    cn->url = ck_cluster_address_is_url(address);
    if (cn->url && !node_dir) {
        ck_fail(err, CK_EINVAL, "a postgresql:// cluster needs --dir DIR, this node's folder on this host");
        cluster_node_free(cn);
        return NULL;
    }
    snprintf(cn->dir, sizeof cn->dir, "%s", address);
    snprintf(cn->node_dir, sizeof cn->node_dir, "%s", node_dir ? node_dir : "");
    snprintf(cn->node, sizeof cn->node, "%s", node);
    if (open_store(cn, err) < 0 || ck_store_get_node(ck_cluster_store(cn->c), node, &n, err) < 0) {
        cluster_node_free(cn);
        return NULL;
    }
    snprintf(cn->node, sizeof cn->node, "%s", n.name);
    /* The resolved path: a detached daemon has left the working directory. */
    if (!cn->url)
        snprintf(cn->dir, sizeof cn->dir, "%s", ck_cluster_dir(cn->c));
    ck_cluster_node_path(cn->c, n.name, "tftp", NULL, cn->tftp_root, sizeof cn->tftp_root);
    ck_cluster_node_path(cn->c, n.name, "tftp", CK_CTL_NAME, cn->ctl_path, sizeof cn->ctl_path);
    ck_cluster_key_path(cn->c, n.name, CK_UNIT_TVS, cn->tvs_key, sizeof cn->tvs_key);
    ck_cluster_key_path(cn->c, n.name, CK_UNIT_CALLMANAGER, cn->callmanager_key, sizeof cn->callmanager_key);
    ck_cluster_key_path(cn->c, n.name, CK_UNIT_ITLRECOVERY, cn->itlrecovery_key, sizeof cn->itlrecovery_key);
    ck_cluster_key_path(cn->c, n.name, CK_UNIT_CAPF, cn->capf_key, sizeof cn->capf_key);
    ck_cluster_pid_path(cn->c, n.name, cn->pid_path, sizeof cn->pid_path);
    snprintf(cn->tftp_listen, sizeof cn->tftp_listen, "%s:%d", n.ip, n.tftp_port);
    snprintf(cn->tvs_listen, sizeof cn->tvs_listen, "%s:%d", n.ip, n.tvs_port);
    for (size_t i = 0; i < ck_params_count && cn->n_params < sizeof cn->params / sizeof cn->params[0]; i++) {
        char v[sizeof cn->params[0].value];
        /* A cluster made before the parameter existed has no row: the
         * table's default is what every other reader of it assumes. */
        if (ck_store_get_param(ck_cluster_store(cn->c), ck_params[i].name, v, sizeof v, NULL) != 0)
            snprintf(v, sizeof v, "%s", ck_params[i].default_value ? ck_params[i].default_value : "");
        if (!v[0])
            continue;
        snprintf(cn->params[cn->n_params].name, sizeof cn->params[0].name, "%s", ck_params[i].name);
        snprintf(cn->params[cn->n_params].value, sizeof cn->params[0].value, "%s", v);
        cn->n_params++;
    }
    /* Before TFTP loads its cache: the folder holds the database's files
     * and nothing an interrupted publish left behind. */
    materialize(cn);
    /* SQLite connections must not cross fork(): the daemon may detach
     * between now and cluster_node_start, which opens the cluster again. */
    ck_cluster_close(cn->c);
    cn->c = NULL;
    return cn;
}

const char *cluster_node_value(const cluster_node *cn, const char *source)
{
    if (strcmp(source, CLUSTER_NODE_TFTP) == 0)
        return cn->tftp_listen;
    if (strcmp(source, CLUSTER_NODE_TFTP_ROOT) == 0)
        return cn->tftp_root;
    if (strcmp(source, CLUSTER_NODE_TVS) == 0)
        return cn->tvs_listen;
    if (strcmp(source, CLUSTER_NODE_TVS_KEY) == 0)
        return cn->tvs_key;
    if (strcmp(source, CLUSTER_NODE_TFTP_SIGN) == 0)
        return cn->callmanager_key;
    for (size_t i = 0; i < cn->n_params; i++)
        if (strcmp(cn->params[i].name, source) == 0)
            return cn->params[i].value;
    return NULL;
}

int cluster_node_hold_keys(cluster_node *cn, unsigned flags, ck_err *err)
{
    const char *const paths[] = {cn->callmanager_key, cn->tvs_key, cn->capf_key, cn->itlrecovery_key};
    ck_key_hold_start();
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (paths[i][0] && ck_key_hold_load(paths[i], flags, err) < 0 &&
            err->code != CK_ENOTFOUND) /* a subscriber has no CAPF or ITLRecovery key */
            return -1;
    return 0;
}

bool cluster_node_restart_asked(const cluster_node *cn) { return cn->restart_asked; }

/* Runs a job on the daemon's loop: the TFTP service and the TVS's cache
 * are the loop's. Before the database thread runs (cluster_node_start) we
 * are on the loop's thread and do it at once; after, the thread posts it
 * and waits until the loop has done it (or the daemon stops). */
static void run_on_loop(cluster_node *cn, enum loop_job job, bool follow, ck_trustcache *tc,
                        const ck_tc_report *rep);

static void do_job(cluster_node *cn, enum loop_job job, bool follow, ck_trustcache *tc, const ck_tc_report *rep)
{
    switch (job) {
    case JOB_FOLLOW_ROOT:
        if (cn->tftp)
            tftp_service_follow_root(cn->tftp, follow);
        break;
    case JOB_TFTP_RELOAD:
        if (cn->tftp)
            tftp_service_reload(cn->tftp);
        break;
    case JOB_TVS_INSTALL:
        tvs_service_install(cn->tvs, tc, rep);
        cn->last_reload = time(NULL);
        break;
    case JOB_RESTART:
        cn->restart_asked = true;
        event_base_loopbreak(cn->loop);
        break;
    case JOB_NONE:
        break;
    }
}

static void run_on_loop(cluster_node *cn, enum loop_job job, bool follow, ck_trustcache *tc,
                        const ck_tc_report *rep)
{
    db_thread *t = &cn->db;
    if (!t->started) {
        do_job(cn, job, follow, tc, rep);
        return;
    }
    pthread_mutex_lock(&t->mu);
    if (t->stopping) { /* the loop has stopped: nobody would run it */
        pthread_mutex_unlock(&t->mu);
        if (job == JOB_TVS_INSTALL)
            ck_trustcache_free(tc);
        return;
    }
    t->job = job;
    t->follow = follow;
    t->tc = tc;
    if (rep)
        t->rep = *rep;
    t->job_done = false;
    pthread_mutex_unlock(&t->mu);
    ssize_t w = write(t->job_pipe[1], "j", 1);
    (void)w; /* a full pipe already holds a wake-up */
    pthread_mutex_lock(&t->mu);
    while (!t->job_done && !t->stopping)
        pthread_cond_wait(&t->cv, &t->mu);
    if (!t->job_done && t->job == JOB_TVS_INSTALL) /* stopped before the loop took it */
        ck_trustcache_free(t->tc);
    t->job = JOB_NONE;
    t->tc = NULL;
    pthread_mutex_unlock(&t->mu);
}

/* On the daemon's loop: the job the database thread posted. */
static void on_job(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    cluster_node *cn = arg;
    db_thread *t = &cn->db;
    char buf[16];
    while (read(fd, buf, sizeof buf) > 0)
        ;
    pthread_mutex_lock(&t->mu);
    if (t->job != JOB_NONE && !t->job_done) {
        do_job(cn, t->job, t->follow, t->tc, &t->rep);
        t->tc = NULL; /* the TVS owns it now */
        t->job_done = true;
        pthread_cond_broadcast(&t->cv);
    }
    pthread_mutex_unlock(&t->mu);
}

/* Builds the TVS's cache from the store (the database thread, or the
 * loop before that thread runs) and hands it to the TVS. */
static void recache(cluster_node *cn, const char *why)
{
    ck_trustcache *tc = NULL;
    ck_tc_report rep;
    ck_err err = {0};
    if (!cn->tvs || !cn->c) /* the TVS stayed off (its TLS set-up failed), or the database is down: keep the cache */
        return;
    if (why)
        dlog(DLOG_NOTICE, "%s", why);
    if (ck_cluster_build_trustcache(cn->c, cn->node, &tc, &rep, &err) < 0) {
        dlog(DLOG_ERR, "TVS: cannot rebuild the certificate caches, keeping the old ones: %s", err.msg);
        return;
    }
    run_on_loop(cn, JOB_TVS_INSTALL, false, tc, &rep);
}

void cluster_node_reload(cluster_node *cn, const char *why)
{
    db_thread *t = &cn->db;
    if (!t->started) {
        recache(cn, why);
        return;
    }
    /* SIGHUP on the loop: the store is the database thread's. */
    pthread_mutex_lock(&t->mu);
    snprintf(t->reload_why, sizeof t->reload_why, "%s", why ? why : "");
    t->reload_asked = true;
    pthread_mutex_unlock(&t->mu);
    ssize_t w = write(t->wake[1], "r", 1);
    (void)w;
}

/* Brings this node's TFTP folder to what the cluster database says,
 * logging each thing it fixed; TFTP reloads what changed by itself.
 * periodic: the safety net's check of a folder nothing has changed, with
 * or without the device files. */
static void materialize_pass(cluster_node *cn, bool periodic, bool devices)
{
    ck_materialize_report r;
    ck_err err = {0};
    cn->ticks_since_materialize = 0;
    /* What a full pass costs (the database thread's CPU), for the debug
     * log: it checks every device's files. */
    size_t work = ck_cluster_devices_materialized(cn->c);
    struct timespec t0, t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    int rc = devices ? ck_cluster_materialize_node(cn->c, cn->node, &r, &err)
                     : ck_cluster_materialize_node_files(cn->c, cn->node, &r, &err);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    if (rc == 0 && !r.busy)
        dlog(DLOG_DEBUG, "%s: %zu device(s) checked, %.1f ms CPU", devices ? "full pass" : "pass without the devices",
             ck_cluster_devices_materialized(cn->c) - work,
             (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    if (rc < 0) {
        dlog(DLOG_ERR, "cannot bring the TFTP folder to the cluster database's state (will retry): %s", err.msg);
        cn->materialize_pending = true;
        return;
    }
    if (r.busy && periodic) {
        /* Nothing changed: the next quiet tick tries again. Making it
         * pending would turn the next device-only change into a full
         * pass, and under a stream of CAPF sessions the lock is often
         * held: one full pass after another. */
        dlog(DLOG_DEBUG, "periodic check not made: another process holds the cluster lock (will retry)");
        cn->ticks_since_materialize = MATERIALIZE_EVERY - 1;
        if (devices)
            cn->periodic_checks--; /* the device check too */
        return;
    }
    cn->materialize_pending = r.busy;
    if (r.busy)
        dlog(DLOG_DEBUG, "full pass not made: another process holds the cluster lock (will retry)");
    else if (devices)
        cn->owed.n = 0; /* every device's files were checked */
    for (size_t i = 0; i < r.n; i++)
        dlog(DLOG_NOTICE, "%s", r.lines[i]);
    /* What the folder now serves, for `cluster status`; the database away
     * or busy: serve on and try again at the next check. */
    if (!r.busy && ck_cluster_record_served(cn->c, cn->node, NULL, &err) < 0) {
        dlog(DLOG_DEBUG, "cannot record what this node serves (will retry): %s", err.msg);
        cn->materialize_pending = true;
    }
}

static void materialize(cluster_node *cn)
{
    materialize_pass(cn, false, true);
}

/* On the database thread: what the metrics show (the loop must not ask a
 * database that may hang). */
static void note_for_metrics(cluster_node *cn)
{
    static const char *const names[] = {CK_CTL_NAME, CK_ITL_NAME};
    long long v[2] = {-1, -1};
    long long counter = cn->c ? ck_store_change_counter(ck_cluster_store(cn->c)) : -1;
    bool up = counter >= 0;
    for (int i = 0; up && i < 2; i++) {
        ck_file_row row;
        const char *owner = i == 0 ? "" : cn->node;
        if (ck_store_get_file(ck_cluster_store(cn->c), owner, names[i], &row, NULL) == 0) {
            v[i] = row.version;
            ck_file_row_clear(&row);
        }
    }
    /* The certificates change only with a commit: read again only when the
     * counter moved (a regeneration or an import is one). */
    bool certs = up && counter != cn->db.certs_counter;
    int64_t na[CK_N_UNITS] = {0};
    for (size_t i = 0; certs && i < CK_N_UNITS; i++) {
        ck_cert_row row;
        if (ck_store_get_cert(ck_cluster_store(cn->c), cn->node, ck_units[i], &row, NULL) == 0) {
            na[i] = row.not_after;
            ck_cert_row_clear(&row);
        }
    }
    pthread_mutex_lock(&cn->db.mu);
    cn->db.db_up = up;
    cn->db.version[0] = v[0];
    cn->db.version[1] = v[1];
    if (certs) {
        memcpy(cn->db.not_after, na, sizeof na);
        cn->db.certs_counter = counter;
    }
    pthread_mutex_unlock(&cn->db.mu);
}

/* The database went away: keep serving what the folder and the trust
 * cache hold, say so once, and try again with back-off. */
static void went_down(cluster_node *cn, const char *why)
{
    if (!cn->down)
        dlog(DLOG_ERR, "the cluster database %s is unreachable; serving the last materialized files and trust cache, "
             "reconnecting: %s", ck_cluster_name(cn->c), why);
    cn->down = true;
    if (cn->notify) {
        event_free(cn->notify);
        cn->notify = NULL;
    }
    ck_cluster_close(cn->c);
    cn->c = NULL;
    backoff_failed(&cn->reconnect, RECONNECT_MAX_S);
    note_for_metrics(cn);
}

/* A key the daemon holds in memory was regenerated and, having left
 * root, it cannot read the new file: the loop stops and main exits with
 * CLUSTER_NODE_EXIT_RESTART, for the unit to start it again as root. true
 * when that is under way (nothing else to do). */
static bool held_key_changed(cluster_node *cn)
{
    const char *unit = NULL;
    ck_err err = {0};
    if (cn->restarting)
        return true;
    int rc = ck_cluster_held_key_changed(cn->c, cn->node, &unit, &err);
    if (rc < 0)
        dlog(DLOG_DEBUG, "cannot compare the held keys with the cluster's certificates (will retry): %s", err.msg);
    if (rc <= 0)
        return false;
    dlog(DLOG_NOTICE, "key for %s changed; restarting to load it (exit status %d)", unit, CLUSTER_NODE_EXIT_RESTART);
    cn->restarting = true;
    run_on_loop(cn, JOB_RESTART, false, NULL, NULL);
    return true;
}

static void check(cluster_node *cn, bool poll_store);

static void on_notify(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    cluster_node *cn = arg;
    if (!cn->c)
        return;
    ck_store_drain_notifications(ck_cluster_store(cn->c));
    check(cn, true);
}

/* Wakes the daemon when another host commits (PostgreSQL's NOTIFY). */
static void watch_notify(cluster_node *cn)
{
    int fd = ck_store_notify_fd(ck_cluster_store(cn->c));
    if (fd < 0 || !cn->base)
        return;
    cn->notify = event_new(cn->base, fd, EV_READ | EV_PERSIST, on_notify, cn);
    if (cn->notify && event_add(cn->notify, NULL) != 0) {
        event_free(cn->notify);
        cn->notify = NULL;
    }
}

static void try_reconnect(cluster_node *cn)
{
    if (!backoff_due(&cn->reconnect))
        return;
    ck_err err = {0};
    if (open_store(cn, &err) < 0) {
        backoff_failed(&cn->reconnect, RECONNECT_MAX_S);
        dlog(DLOG_DEBUG, "cluster database still unreachable (next try in %u s): %s", cn->reconnect.wait_s, err.msg);
        return;
    }
    dlog(DLOG_NOTICE, "the cluster database %s is reachable again; catching up", ck_cluster_name(cn->c));
    cn->down = false;
    backoff_reset(&cn->reconnect);
    cn->store_seen = -2; /* whatever changed meanwhile: materialize and recache */
    watch_notify(cn);
}

/* Rebuilds and signs this node's ITL without waiting for the cluster
 * lock (the database thread also answers notifications and restart
 * requests): false when another process holds it and the caller should
 * try again on a later tick. */
static bool rebuild_itl(cluster_node *cn, const char *why)
{
    bool busy = false;
    ck_err err = {0};
    if (ck_cluster_try_rebuild_itl(cn->c, cn->node, &busy, &err) < 0)
        dlog(DLOG_ERR, "this node's ITL cannot be rebuilt (%s): %s", why, err.msg);
    else if (!busy)
        dlog(DLOG_NOTICE, "ITLFile.tlv rebuilt and signed on this node: %s", why);
    return !busy;
}

/* Across hosts only this node can sign its ITL: when another node's join
 * or regeneration changed the certificates it lists, rebuild it here. */
static void refresh_itl(cluster_node *cn)
{
    bool stale = false;
    ck_err err = {0};
    cn->itl_pending = false;
    if (ck_cluster_itl_stale(cn->c, cn->node, &stale, &err) < 0 || !stale)
        return;
    cn->itl_pending = !rebuild_itl(cn, "the cluster's certificates changed"); /* busy: the next tick */
}

/* TFTPReloadOnChange, as the store says now (a cluster made before the
 * parameter has no row: the table's default, True). */
static void read_hold(cluster_node *cn)
{
    char v[16] = "True";
    ck_store_get_param(ck_cluster_store(cn->c), CK_PARAM_TFTP_RELOAD, v, sizeof v, NULL);
    bool hold = strcasecmp(v, "False") == 0;
    if (hold == cn->hold)
        return;
    cn->hold = hold;
    run_on_loop(cn, JOB_FOLLOW_ROOT, !hold, NULL, NULL);
    dlog(DLOG_NOTICE, hold ? "TFTPReloadOnChange is False: TFTP and TVS keep serving what they have until "
                             "utils service restart"
                           : "TFTPReloadOnChange is True: TFTP and TVS follow the cluster's changes again");
    if (!hold) {
        if (cn->url)
            refresh_itl(cn);
        recache(cn, "CertificateCache - following the cluster again. Recaching CTL and DB Certificate "
                                "Caches");
    }
}

/* `utils service restart` from any host: what a restart of the node's
 * service does (TFTP builds and signs the node's ITL and rereads its
 * folder; TVS recaches), then the requests are answered. */
static void serve_restarts(cluster_node *cn)
{
    ck_restart_row *rows = NULL;
    size_t n = 0;
    ck_err err = {0};
    cn->restart_pending = false;
    if (ck_store_pending_restarts(ck_cluster_store(cn->c), cn->node, &rows, &n, &err) < 0) {
        dlog(DLOG_ERR, "cannot read the restart requests: %s", err.msg);
        return;
    }
    bool tftp = false, tvs = false;
    for (size_t i = 0; i < n; i++) {
        tftp |= strcmp(rows[i].service, CK_SERVICE_TFTP) == 0;
        tvs |= strcmp(rows[i].service, CK_SERVICE_TVS) == 0;
    }
    if (tftp && !rebuild_itl(cn, "Cisco Tftp restarted")) {
        cn->restart_pending = true; /* the cluster lock is held: next tick */
        free(rows);
        return;
    }
    for (size_t i = 0; i < n; i++)
        dlog(DLOG_NOTICE, "utils service restart \"%s\" (requested by %s): restarting", rows[i].service,
             rows[i].who);
    if (tftp) {
        materialize(cn);
        run_on_loop(cn, JOB_TFTP_RELOAD, false, NULL, NULL);
    }
    if (tvs)
        recache(cn, "CertificateCache - Cisco Trust Verification Service restarted. Recaching CTL and DB "
                                "Certificate Caches");
    for (size_t i = 0; i < n; i++)
        if (ck_store_finish_restart(ck_cluster_store(cn->c), rows[i].id, "STARTED", &err) < 0)
            dlog(DLOG_ERR, "cannot answer the restart request: %s", err.msg);
    free(rows);
}

/* Adds to d the devices an earlier pass could not do (the cluster lock
 * was held), keeping d's entry for one listed in both (the later change);
 * false when they do not all fit. */
static bool add_owed(ck_device_changes *d, const ck_device_changes *owed)
{
    for (size_t i = 0; i < owed->n; i++) {
        bool listed = false;
        for (size_t k = 0; k < d->n && !listed; k++)
            listed = strcmp(d->names[k], owed->names[i]) == 0;
        if (listed)
            continue;
        if (d->n == CK_DEVICE_CHANGES_MAX)
            return false;
        d->at[d->n] = owed->at[i];
        memcpy(d->names[d->n++], owed->names[i], sizeof d->names[0]);
    }
    return true;
}

/* When everything since the last check was a device-only change (a CAPF
 * session's update, lib/cluster/device_changes.c), brings only the files
 * of the devices changed since then up to date: no full pass over every
 * device, and no recache (the TVS caches hold no device). true when that
 * was all. Each reason to fall back to the full pass is logged (debug). */
static bool devices_only(cluster_node *cn, int64_t now)
{
    ck_device_changes d;
    bool moved = now != cn->store_seen;
    if (!moved && (cn->materialize_pending || cn->restart_pending || cn->itl_pending))
        return false; /* the full pass those wait for does the owed devices too */
    if (cn->materialize_pending || cn->restart_pending || cn->itl_pending) {
        dlog(DLOG_DEBUG, "full pass: %s",
             cn->materialize_pending ? "the last full pass did not finish (materialize pending)"
             : cn->restart_pending   ? "a restart request waits for the cluster lock"
                                     : "a stale ITL waits for the cluster lock");
        return false;
    }
    if (!moved) {
        /* Nothing committed since the last pass, but devices it owes:
         * the commit that would bring them may never come (the process
         * that held the lock died before writing anyone's files), and the
         * safety net's device check is minutes away
         * (tests/scenarios/watch_owed.test). */
        memset(&d, 0, sizeof d);
        d.upto = now;
    } else if (!ck_cluster_device_changes_since(cn->c, cn->store_seen, now, &d)) {
        /* While CAPF sessions commit one after another, one often lands
         * between our read of the counter and of the record (which then
         * names a later counter): look again once rather than fall back
         * to the full pass over every device. */
        int64_t again = ck_store_change_counter(ck_cluster_store(cn->c));
        if (again <= now) {
            dlog(DLOG_DEBUG, "full pass: not only device changes: %s", d.why);
            return false;
        }
        if (!ck_cluster_device_changes_since(cn->c, cn->store_seen, again, &d)) {
            dlog(DLOG_DEBUG, "full pass: not only device changes (second look): %s", d.why);
            return false;
        }
        now = again;
    }
    size_t changed = d.n, owed = cn->owed.n;
    if (!add_owed(&d, &cn->owed)) {
        dlog(DLOG_DEBUG, "full pass: %zu device(s) changed and %zu still owed are more than %d", changed,
             cn->owed.n, CK_DEVICE_CHANGES_MAX);
        return false;
    }
    ck_file_stamp st;
    ck_file_stamp_take(cn->ctl_path, &st);
    if (!ck_file_stamp_same(&st, &cn->ctl_seen)) {
        dlog(DLOG_DEBUG, "full pass: CTLFile.tlv's stamp changed");
        return false; /* the CTL was touched: the full check */
    }
    ck_materialize_report r;
    ck_err err = {0};
    size_t work = ck_cluster_devices_materialized(cn->c);
    if (ck_cluster_materialize_devices(cn->c, cn->node, &d, &r, &err) < 0) {
        dlog(DLOG_DEBUG, "full pass: bringing %zu device(s) up to date failed: %s", d.n, err.msg);
        return false;
    }
    /* The lock was held (an admin's operation, or a CAPF session between
     * its commit and its own device pass): the devices still to do are
     * owed to the next pass, and what the counter says now is seen.
     * Keeping the counter instead (as before) left the watcher behind
     * while CAPF sessions held the lock in turn, until the record no
     * longer covered what it had seen: a full pass. */
    if (r.busy)
        cn->owed = d;
    else
        cn->owed.n = 0;
    dlog(DLOG_DEBUG, "device-only changes up to %" PRId64 ": %zu device(s) changed, %zu were owed, %zu rebuilt or "
         "checked; %zu owed to the next pass (cluster lock held)",
         now, changed, owed, ck_cluster_devices_materialized(cn->c) - work, cn->owed.n);
    for (size_t i = 0; i < r.n; i++)
        dlog(DLOG_NOTICE, "%s", r.lines[i]);
    cn->store_seen = now;
    return true;
}

static void check(cluster_node *cn, bool poll_store)
{
    /* Store first: what it says decides what the folder must hold. */
    ck_err err = {0};
    int64_t now = poll_store ? ck_store_read_change_counter(ck_cluster_store(cn->c), &err) : cn->store_seen;
    if (now < 0 && cn->url) {
        went_down(cn, err.msg[0] ? err.msg : "cannot read the change counter");
        return;
    }
    bool store_moved = now != cn->store_seen;
    if (cn->restarting || (store_moved && held_key_changed(cn)))
        return;
    if ((store_moved || cn->owed.n) && devices_only(cn, now))
        return;
    if (store_moved)
        read_hold(cn);
    if ((store_moved || cn->itl_pending) && cn->url && !cn->hold)
        refresh_itl(cn);
    ck_file_stamp st;
    ck_file_stamp_take(cn->ctl_path, &st);
    /* Why a full pass, for the debug log: "" none, NULL devices_only said
     * why; or the periodic check. */
    const char *why = "";
    bool periodic = false, recheck = false;
    if (store_moved)
        why = NULL;
    else if (cn->materialize_pending)
        why = "the last full pass did not finish (materialize pending)";
    else if (!ck_file_stamp_same(&st, &cn->ctl_seen))
        why = "CTLFile.tlv's stamp changed";
    else if (cn->ctl_recheck)
        recheck = true;
    else
        periodic = ++cn->ticks_since_materialize >= MATERIALIZE_EVERY;
    if (periodic) {
        bool devices = ++cn->periodic_checks % DEVICE_CHECK_EVERY == 0;
        dlog(DLOG_DEBUG, "%s", devices ? "full pass: the periodic check, device files included"
                                       : "the periodic check, without the device files");
        materialize_pass(cn, true, devices);
    } else if (recheck) {
        dlog(DLOG_DEBUG, "CTLFile.tlv changed during the last tick: the node's files looked at again");
        materialize_pass(cn, false, false);
    } else if (!why || why[0]) {
        if (why)
            dlog(DLOG_DEBUG, "full pass: %s", why);
        materialize(cn);
    }
    ck_test_stop_point("watch-pass-done");
    /* The stamp after the pass is the one seen next, so a change made after
     * the pass looked at the file (a hand edit, while a pass for a commit
     * ran) would pass for seen and wait for the safety net (30 ticks):
     * when the stamp moved during this tick, the next one looks at the
     * node's files once more (not the devices'; nothing to do when the
     * move was this pass's own write). tests/scenarios/watch_race.test. */
    ck_file_stamp_take(cn->ctl_path, &st);
    bool ctl_changed = !ck_file_stamp_same(&st, &cn->ctl_seen);
    cn->ctl_recheck = ctl_changed;
    /* Seen is what this pass brought in: the counter read before it. A
     * commit that landed while it ran (another host's, an admin's, or
     * this daemon's own answers and ITL below) moves the counter past
     * `now`, and the next tick makes one more pass for it. Reading the
     * counter afresh here marked such a commit seen without taking it in
     * (no parameter read, no restart request answered, the folder left
     * to the 30-tick safety net; tests/scenarios/watch_race.test). */
    cn->ctl_seen = st;
    cn->store_seen = now;
    if (cn->hold)
        ; /* CUCM's order: the caches change when the services restart */
    else if (ctl_changed)
        recache(cn, st.present ? "CertificateCache::localCTLCacheMonitor - CTLFile.tlv has been modified. "
                                          "Recaching CTL Certificate Cache"
                                        : "CertificateCache::localCTLCacheMonitor - CTLFile.tlv has been removed. "
                                          "Recaching CTL Certificate Cache");
    else if (store_moved)
        recache(cn, "CertificateCache - the cluster database changed. Recaching DB Certificate Cache");
    /* Its answers are commits too: the next tick sees them and makes one
     * more pass (and recache), which finds nothing new; skipping that pass
     * would need to tell its own commits from a commit that landed beside
     * them, which the counter alone cannot. */
    if (store_moved || cn->restart_pending)
        serve_restarts(cn);
    if (poll_store)
        note_for_metrics(cn);
}

static void on_watch(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    cluster_node *cn = arg;
    if (cn->down) {
        try_reconnect(cn);
        if (cn->down)
            return;
    }
    /* A cluster folder's counter is a cheap local read; across hosts the
     * notifications wake us and the store is polled only as a safety net. */
    bool poll = !cn->url || cn->store_seen == -2 || ++cn->ticks >= URL_POLL_TICKS || cn->materialize_pending ||
                cn->restart_pending || cn->itl_pending;
    /* A notification that came in while our own queries ran on the same
     * connection was read with their answers and never made the socket
     * readable: it waits in libpq. Without this look it waited for the
     * safety-net poll, 10 ticks (pg.hosts_pg_faults failed once in CI: a
     * publish not taken in within 10 s). */
    if (cn->url && ck_store_drain_notifications(ck_cluster_store(cn->c)))
        poll = true;
    if (poll)
        cn->ticks = 0;
    check(cn, poll);
}

/* On the database thread's loop: SIGHUP's recache request, or stop. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    cluster_node *cn = arg;
    db_thread *t = &cn->db;
    char buf[16], why[sizeof t->reload_why];
    while (read(fd, buf, sizeof buf) > 0)
        ;
    pthread_mutex_lock(&t->mu);
    bool stop = t->stopping, reload = t->reload_asked;
    t->reload_asked = false;
    snprintf(why, sizeof why, "%s", t->reload_why);
    pthread_mutex_unlock(&t->mu);
    if (stop)
        event_base_loopbreak(t->base);
    else if (reload && cn->c && !held_key_changed(cn))
        recache(cn, why[0] ? why : NULL);
}

static void *db_thread_main(void *arg)
{
    cluster_node *cn = arg;
    pthread_setname_np(pthread_self(), "cluster-db"); /* for top -H and ps -L */
    event_base_dispatch(cn->db.base);
    return NULL;
}

static int make_pipe(int p[2], ck_err *err)
{
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
        return ck_fail(err, CK_EIO, "cluster node pipe: %s", strerror(errno));
    return 0;
}

/* The database thread's loop and the pipes both ways; the watch and the
 * notification socket go on the thread's loop. */
static int db_thread_init(cluster_node *cn, struct event_base *loop, ck_err *err)
{
    db_thread *t = &cn->db;
    if (make_pipe(t->wake, err) < 0 || make_pipe(t->job_pipe, err) < 0)
        return -1;
    if (!(t->base = event_base_new()) ||
        !(t->wake_ev = event_new(t->base, t->wake[0], EV_READ | EV_PERSIST, on_wake, cn)) ||
        !(t->job_ev = event_new(loop, t->job_pipe[0], EV_READ | EV_PERSIST, on_job, cn)) ||
        event_add(t->wake_ev, NULL) != 0 || event_add(t->job_ev, NULL) != 0)
        return ck_fail(err, CK_EIO, "cannot set up the cluster node's database thread");
    return 0;
}

static int db_thread_start(cluster_node *cn, ck_err *err)
{
    /* The thread takes no signals: the daemon's main loop handles them. */
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGSYS); /* --seccomp=trap reports a refused call on the thread that made it */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    /* Set before the thread exists: it reads it (run_on_loop). */
    cn->db.started = true;
    int e = pthread_create(&cn->db.thread, NULL, db_thread_main, cn);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e) {
        cn->db.started = false;
        return ck_fail(err, CK_EIO, "cannot start the cluster node's database thread: %s", strerror(e));
    }
    return 0;
}

int cluster_node_start(cluster_node *cn, struct event_base *base, struct tvs_service *tvs,
                       struct tftp_service *tftp, ck_err *err)
{
    if (open_store(cn, err) < 0)
        return -1;
    cn->tvs = tvs;
    cn->tftp = tftp;
    cn->loop = base;
    if (db_thread_init(cn, base, err) < 0)
        return -1;
    cn->base = cn->db.base;
    /* Seen is what the start-up below takes in: the counter read before it
     * reads anything (as check() does). Read after the first pass, it
     * marked a commit that landed meanwhile seen without taking it in
     * (tests/scenarios/watch_start_race.test); this daemon's own ITL
     * commit below only makes the first tick pass once more. */
    cn->store_seen = ck_store_change_counter(ck_cluster_store(cn->c));
    /* Until the thread starts, all of this runs here, in order, as before:
     * the daemon serves nothing yet. */
    read_hold(cn);
    /* Before the first cache is built: what an interrupted publish left is
     * gone and the folder holds what the database says. */
    if (cn->url)
        refresh_itl(cn);
    materialize(cn);
    ck_test_stop_point("start-pass-done");
    ck_file_stamp_take(cn->ctl_path, &cn->ctl_seen);
    cn->ctl_recheck = true; /* an edit after the pass looked at the CTL (check()) */
    recache(cn, NULL);
    note_for_metrics(cn);
    FILE *f = fopen(cn->pid_path, "w");
    if (!f)
        return ck_fail(err, CK_EIO, "%s: cannot write the pid file", cn->pid_path);
    fprintf(f, "%ld\n", (long)getpid());
    fclose(f);
    watch_notify(cn);
    cn->watch = event_new(cn->base, -1, EV_PERSIST, on_watch, cn);
    struct timeval tv = {WATCH_MS / 1000, (WATCH_MS % 1000) * 1000};
    if (!cn->watch || event_add(cn->watch, &tv) != 0)
        return ck_fail(err, CK_EIO, "cannot start the cluster watch");
    dlog(DLOG_NOTICE, "node %s of cluster %s", cn->node, ck_cluster_name(cn->c));
    /* Starting is a restart: answer what an admin asked meanwhile. */
    serve_restarts(cn);
    return db_thread_start(cn, err);
}

/* Stops the database thread: it may be inside a store call that waits for
 * a hung database (at most libpq's connect_timeout for a connect). */
static void db_thread_stop(cluster_node *cn)
{
    db_thread *t = &cn->db;
    if (t->started) {
        pthread_mutex_lock(&t->mu);
        t->stopping = true;
        pthread_cond_broadcast(&t->cv); /* a job the loop will no longer run */
        pthread_mutex_unlock(&t->mu);
        ssize_t w = write(t->wake[1], "x", 1);
        (void)w;
        pthread_join(t->thread, NULL);
        t->started = false;
    }
    if (t->wake_ev)
        event_free(t->wake_ev);
    if (t->job_ev)
        event_free(t->job_ev);
    for (int i = 0; i < 2; i++) {
        if (t->wake[i] >= 0)
            close(t->wake[i]);
        if (t->job_pipe[i] >= 0)
            close(t->job_pipe[i]);
    }
}

void cluster_node_free(cluster_node *cn)
{
    if (!cn)
        return;
    db_thread_stop(cn);
    if (cn->watch)
        event_free(cn->watch);
    if (cn->notify)
        event_free(cn->notify);
    if (cn->db.base)
        event_base_free(cn->db.base);
    pthread_mutex_destroy(&cn->db.mu);
    pthread_cond_destroy(&cn->db.cv);
    if (cn->pid_path[0]) {
        /* Only the daemon that wrote the pid file removes it. */
        FILE *f = fopen(cn->pid_path, "r");
        long pid = 0;
        if (f) {
            if (fscanf(f, "%ld", &pid) != 1)
                pid = 0;
            fclose(f);
        }
        if (pid == (long)getpid())
            unlink(cn->pid_path);
    }
    ck_cluster_close(cn->c);
    free(cn);
}

time_t cluster_node_last_reload(const cluster_node *cn) { return cn->last_reload; }

long long cluster_node_file_version(cluster_node *cn, const char *name)
{
    /* As the database thread last read it; -1 while the database is away. */
    pthread_mutex_lock(&cn->db.mu);
    long long v = cn->db.version[strcmp(name, CK_CTL_NAME) == 0 ? 0 : 1];
    pthread_mutex_unlock(&cn->db.mu);
    return v;
}

void cluster_node_metrics(cluster_node *cn, struct evbuffer *out)
{
    /* As the database thread last saw it (its every poll). */
    pthread_mutex_lock(&cn->db.mu);
    bool up = cn->db.db_up;
    int64_t na[CK_N_UNITS];
    memcpy(na, cn->db.not_after, sizeof na);
    pthread_mutex_unlock(&cn->db.mu);
    evbuffer_add_printf(out,
                        "# HELP ctlkit_database_up Whether the cluster's database answers (1) or not (0).\n"
                        "# TYPE ctlkit_database_up gauge\n"
                        "ctlkit_database_up %d\n",
                        up ? 1 : 0);
    /* For an alert before CUCM's certificate monitor would warn
     * (docs/watching.md); the last values read while the database is away. */
    evbuffer_add_printf(out, "# HELP ctlkit_certificate_not_after_timestamp_seconds When each of this node's "
                             "certificates expires (Unix seconds).\n"
                             "# TYPE ctlkit_certificate_not_after_timestamp_seconds gauge\n");
    for (size_t i = 0; i < CK_N_UNITS; i++)
        if (na[i])
            evbuffer_add_printf(out, "ctlkit_certificate_not_after_timestamp_seconds{unit=\"%s\"} %lld\n", ck_units[i],
                                (long long)na[i]);
}
