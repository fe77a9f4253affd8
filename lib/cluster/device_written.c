/* Device files this process brought up to date right after its own
 * commit, and the change counter they were derived at, so that the same
 * process's daemon watcher need not derive them again (docs/benchmarks.md,
 * "CAPF"; ck_cluster_materialize_devices).
 *
 * Why skipping is correct. A device's files are a function of the store's
 * state (the device row, the template, the node's certificates, the mode,
 * the parameters) and of the node's keys, which only change with the
 * certificate rows. The writer (ck__op_end, after the commit) reads the
 * counter first and everything else after it, so what it wrote was
 * derived from a state at or after the one that counter value names; the
 * counter moves with every commit, so when a watcher later reads the same
 * value nothing was committed since: the state is that one, and the files
 * are what a watcher's pass would make of it. Any other commit in between
 * (on any host) moves the counter, and the device is done as before,
 * unless the record of device-only changes (device_changes.c) covers
 * them: when it lists the device with AT, the counter after its last
 * change, and the files were written at W >= AT, then every commit after
 * W is one the record covers (AT is after its FIRST), each changed
 * another device's row only, and the files are still the ones a pass
 * would make. Without that, a watcher that came a few enrolments late
 * rebuilt (and had to lock the cluster for) every device the CAPF
 * workers of its own process had just written; under a steady stream of
 * enrolments the lock was often held, the watcher fell further behind
 * and ended in a full pass (docs/benchmarks.md, "Watcher's full passes").
 * What the counter cannot say (a file removed or edited by hand in the folder)
 * the daemon's periodic full pass repairs, as it did for devices that did
 * not change. The record is keyed by the node's folder path (one cluster
 * per folder) and kept in process memory only: a daemon started later
 * knows nothing and does its full pass. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Enough for the devices one watcher check looks at (a run of device
 * changes is at most CK_DEVICE_CHANGES_MAX), twice over. */
#define WRITTEN_MAX (4 * CK_DEVICE_CHANGES_MAX)

typedef struct written {
    char folder[PATH_MAX];
    char device[16];
    int64_t counter;
} written;

static pthread_mutex_t written_lock = PTHREAD_MUTEX_INITIALIZER;
static written table[WRITTEN_MAX];
static size_t next_slot;

static void folder_of(ck_cluster *c, const char *node, char *out, size_t outsz)
{
    ck_cluster_node_path(c, node, "tftp", NULL, out, outsz);
}

void ck__device_written(ck_cluster *c, const char *node, const char *device, int64_t counter)
{
    char folder[PATH_MAX];
    folder_of(c, node, folder, sizeof folder);
    pthread_mutex_lock(&written_lock);
    written *w = NULL;
    for (size_t i = 0; i < WRITTEN_MAX && !w; i++)
        if (strcmp(table[i].device, device) == 0 && strcmp(table[i].folder, folder) == 0)
            w = &table[i];
    if (!w)
        w = &table[next_slot++ % WRITTEN_MAX];
    snprintf(w->folder, sizeof w->folder, "%s", folder);
    snprintf(w->device, sizeof w->device, "%s", device);
    w->counter = counter;
    pthread_mutex_unlock(&written_lock);
}

int64_t ck__device_written_last(ck_cluster *c, const char *node, const char *device)
{
    char folder[PATH_MAX];
    folder_of(c, node, folder, sizeof folder);
    int64_t counter = -1;
    pthread_mutex_lock(&written_lock);
    for (size_t i = 0; i < WRITTEN_MAX; i++)
        if (strcmp(table[i].device, device) == 0 && strcmp(table[i].folder, folder) == 0) {
            counter = table[i].counter; /* one entry per device and folder */
            break;
        }
    pthread_mutex_unlock(&written_lock);
    return counter;
}

