/* `utils service restart` through the store: the admin adds a request row
 * naming the node, that node's daemon (on whatever host) sees it through
 * the store's change notification, restarts and answers in the row. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "internal.h"

const char *ck_cluster_service_name(const char *service)
{
    if (strcasecmp(service, CK_SERVICE_TFTP) == 0)
        return CK_SERVICE_TFTP;
    if (strcasecmp(service, CK_SERVICE_TVS) == 0)
        return CK_SERVICE_TVS;
    return NULL;
}

int ck_cluster_daemon_running(ck_cluster *c, const char *node)
{
    if (!ck_cluster_node_here(c, node))
        return -1;
    char path[PATH_MAX];
    ck_cluster_pid_path(c, node, path, sizeof path);
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (f) {
        if (fscanf(f, "%ld", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    return pid > 1 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int ck_cluster_restart_service(ck_cluster *c, const char *node, const char *service, unsigned wait_ms,
                               char *result, size_t resultsz, ck_err *err)
{
    const char *name = ck_cluster_service_name(service);
    ck_node n;
    if (!name)
        return ck_fail(err, CK_EINVAL, "Unknown service '%s' (\"%s\" or \"%s\")", service, CK_SERVICE_TFTP,
                       CK_SERVICE_TVS);
    if (ck_store_get_node(c->store, node, &n, err) < 0)
        return -1;
    /* On the node's own host its pid file says at once whether a daemon
     * runs; a stopped TFTP service still builds the node's ITL when it
     * is restarted, as CUCM's does, so the admin does that part here. */
    if (ck_cluster_daemon_running(c, node) == 0) {
        if (strcmp(name, CK_SERVICE_TFTP) == 0 && ck_cluster_rebuild_itl(c, node, err) < 0)
            return -1;
        return ck_fail(err, CK_ENOTFOUND,
                       "the node daemon is not running on %s (start it with: ctlkitd --cluster %s%s%s --node %s)", node,
                       c->name, c->here_dir[0] ? " --dir " : "", c->here_dir[0] ? c->here_dir : "", node);
    }
    int64_t id;
    if (ck_store_request_restart(c->store, node, name, c->who, &id, err) < 0)
        return -1;
    for (unsigned waited = 0;; waited += 100) {
        ck_restart_row r;
        if (ck_store_get_restart(c->store, id, &r, err) < 0)
            return -1;
        if (r.done) {
            snprintf(result, resultsz, "%s", r.result);
            return 0;
        }
        if (waited >= wait_ms)
            break;
        sleep_ms(100);
    }
    /* Nobody answered: withdraw the request so that a daemon starting
     * later does not take it for a new one. */
    static const char given_up[] = "given up: no daemon answered";
    ck_test_stop_point("restart-give-up");
    CK_IGNORE(ck_store_finish_restart(c->store, id, given_up, NULL));
    /* The withdrawal changes only an unanswered row: an answer committed
     * since the last look stays, and is the one to report
     * (tests/scenarios/restart_give_up_race.test). */
    ck_restart_row r;
    if (ck_store_get_restart(c->store, id, &r, NULL) == 0 && r.done && strcmp(r.result, given_up) != 0) {
        snprintf(result, resultsz, "%s", r.result);
        return 0;
    }
    return ck_fail(err, CK_ENOTFOUND,
                   "no node daemon of %s answered within %u s (is ctlkitd --node %s running on its host?)", node,
                   wait_ms / 1000, node);
}
