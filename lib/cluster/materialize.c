/* Bringing a node's TFTP folder to the state the cluster database holds
 * (issue 10: the database is the truth, each node materializes its own
 * files). The managed names are CTLFile.tlv (the cluster's row) and
 * ITLFile.tlv (the node's row); any other file in the folder belongs to the
 * admin and is never touched. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctlkit/fileio.h"
#include "internal.h"

const char *const ck__managed_files[CK__N_MANAGED] = {CK_CTL_NAME, CK_ITL_NAME};

#define note ck__materialize_note

static void marker_path(const ck_cluster *c, const char *node, const char *name, char *out, size_t outsz)
{
    char file[160];
    snprintf(file, sizeof file, "%s.deleted", name);
    ck_cluster_node_path(c, node, "run", file, out, outsz);
}

/* The version of NAME the admin deleted on this node, or -1. */
static int64_t deleted_version(const ck_cluster *c, const char *node, const char *name)
{
    char path[PATH_MAX];
    uint8_t *data = NULL;
    size_t len = 0;
    marker_path(c, node, name, path, sizeof path);
    if (ck_read_file(path, 64, &data, &len, NULL) < 0)
        return -1;
    char buf[65];
    memcpy(buf, data, len);
    buf[len] = '\0';
    free(data);
    char *end;
    long long v = strtoll(buf, &end, 10);
    return end != buf ? (int64_t)v : -1;
}

int ck__mark_deleted(ck_cluster *c, const char *node, const char *name, ck_err *err)
{
    ck_file_row row = {0};
    ck_err e2 = {0};
    const char *owner = strcmp(name, CK_CTL_NAME) == 0 ? "" : node;
    if (ck_store_get_file(c->store, owner, name, &row, &e2) < 0)
        return e2.code == CK_ENOTFOUND ? 0 : (*err = e2, -1);
    char path[PATH_MAX], text[32];
    marker_path(c, node, name, path, sizeof path);
    snprintf(text, sizeof text, "%" PRId64 "\n", row.version);
    ck_file_row_clear(&row);
    return ck_write_file_atomic(path, text, strlen(text), 0644, err);
}

void ck__materialize_note(ck_materialize_report *r, const char *fmt, ...)
{
    if (!r || r->n >= CK_MATERIALIZE_LINES)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->lines[r->n++], sizeof r->lines[0], fmt, ap);
    va_end(ap);
}

int ck__bring_file(ck_cluster *c, const char *node, const char *name, const uint8_t *data, size_t len, bool *changed,
                   ck_err *err)
{
    return ck__bring_file_flags(c, node, name, data, len, 0, changed, err);
}

int ck__bring_file_flags(ck_cluster *c, const char *node, const char *name, const uint8_t *data, size_t len,
                         unsigned flags, bool *changed, ck_err *err)
{
    char path[PATH_MAX];
    ck_cluster_node_path(c, node, "tftp", name, path, sizeof path);
    uint8_t *disk = NULL;
    size_t dl = 0;
    *changed = false;
    bool same = ck_read_file(path, len, &disk, &dl, NULL) == 0 && dl == len && memcmp(disk, data, dl) == 0;
    free(disk);
    if (same)
        return 0;
    char tmp[PATH_MAX], run[PATH_MAX];
    ck__stage_path(c, node, name, tmp, sizeof tmp);
    ck_cluster_node_path(c, node, "run", NULL, run, sizeof run);
    if (ck_mkdirs(run, 0755, err) < 0 || ck_write_file_staged_flags(path, tmp, data, len, 0644, flags, err) < 0)
        return -1;
    ck__test_kill_point("materialize-staged");
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return ck_fail(err, CK_EIO, "%s: cannot replace: %s", path, strerror(e));
    }
    ck__test_kill_point("materialize-renamed");
    if (!(flags & CK_WRITE_NO_SYNC))
        ck_fsync_dir_of(path);
    *changed = true;
    return 0;
}

/* One managed name: write the row's bytes, or remove the file. */
static int materialize_one(ck_cluster *c, const char *node, const char *name, ck_materialize_report *r,
                           ck_err *err)
{
    ck_file_row row = {0};
    ck_err e2 = {0};
    const char *owner = strcmp(name, CK_CTL_NAME) == 0 ? "" : node;
    bool have = ck_store_get_file(c->store, owner, name, &row, &e2) == 0;
    if (!have && e2.code != CK_ENOTFOUND) {
        *err = e2;
        return -1;
    }
    char path[PATH_MAX], marker[PATH_MAX];
    ck_cluster_node_path(c, node, "tftp", name, path, sizeof path);
    marker_path(c, node, name, marker, sizeof marker);
    int64_t deleted = deleted_version(c, node, name);
    bool want = have && deleted != row.version;
    if (deleted >= 0 && (!have || deleted != row.version))
        unlink(marker); /* a newer publish (or none at all) supersedes it */
    int rc = 0;
    struct stat st;
    if (want) {
        bool changed = false;
        rc = ck__bring_file(c, node, name, row.data, row.len, &changed, err);
        if (rc == 0 && changed)
            note(r, "%s brought to version %" PRId64 " from the cluster database", name, row.version);
    } else if (have && lstat(path, &st) == 0) {
        /* Without a row the copy stays as the admin left it: the
         * publisher's `file delete tftp CTLFile.tlv` removes the cluster's
         * CTL and the publisher's copy only; each other node's copy goes
         * with `file delete tftp` there (CUCM's procedure, kept). */
        if (unlink(path) < 0)
            rc = ck_fail(err, CK_EIO, "%s: cannot remove: %s", path, strerror(errno));
        else
            note(r, "%s removed: deleted on this node (file delete tftp) until the next publish", name);
    }
    ck_file_row_clear(&row);
    return rc;
}

/* NAME.tmp.* and NAME.prev of a managed name: what older versions of the
 * publish (or a killed one) leave behind. */
static bool leftover(const char *entry, bool in_run)
{
    size_t dn = ck__device_file_base(entry);
    if (dn && strncmp(entry + dn, ".tmp.", 5) == 0)
        return true;
    for (size_t i = 0; i < CK__N_MANAGED; i++) {
        size_t n = strlen(ck__managed_files[i]);
        if (strncmp(entry, ck__managed_files[i], n) != 0 || entry[n] != '.')
            continue;
        if (strncmp(entry + n, ".tmp.", 5) == 0 || (!in_run && strcmp(entry + n, ".prev") == 0))
            return true;
    }
    return false;
}

static void remove_leftovers(ck_cluster *c, const char *node, const char *sub, ck_materialize_report *r)
{
    char dir[PATH_MAX];
    ck_cluster_node_path(c, node, sub, NULL, dir, sizeof dir);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    size_t removed = 0;
    while ((de = readdir(d)) != NULL)
        if (leftover(de->d_name, strcmp(sub, "run") == 0) && unlinkat(dirfd(d), de->d_name, 0) == 0)
            removed++;
    closedir(d);
    if (removed)
        note(r, "%zu file%s left by an interrupted publish removed from %s/", removed, removed == 1 ? "" : "s", sub);
}

static int materialize_locked(ck_cluster *c, const char *node, bool devices, ck_materialize_report *r, ck_err *err)
{
    int rc = 0;
    ck__key_backups_recover(c, node, r);
    for (size_t i = 0; i < CK__N_MANAGED; i++) {
        ck_err e2 = {0};
        if (materialize_one(c, node, ck__managed_files[i], r, &e2) < 0 && rc == 0) {
            *err = e2;
            rc = -1;
        }
    }
    ck_err e3 = {0};
    if (devices && ck__materialize_devices(c, node, r, &e3) < 0 && rc == 0) {
        *err = e3;
        rc = -1;
    }
    /* Only the lock holder stages, so whatever is in run/ now is stale. */
    remove_leftovers(c, node, "tftp", r);
    remove_leftovers(c, node, "run", r);
    return rc;
}

/* What a pass does to one node under the lock: the whole folder (names
 * NULL), or only the files of the n named devices. */
static int node_locked(ck_cluster *c, const char *node, const char *const *names, size_t n,
                       ck_materialize_report *r, ck_err *err)
{
    if (!names)
        return materialize_locked(c, node, true, r, err);
    return ck__materialize_named_devices(c, node, names, n, r, err);
}

/* What materialize_pass is given for a pass without the device files. */
static const ck_device_changes no_devices;

static int pass_locked(ck_cluster *c, const char *node, const ck_device_changes *d, ck_materialize_report *r,
                       ck_err *err)
{
    if (d == &no_devices)
        return materialize_locked(c, node, false, r, err);
    if (!d)
        return node_locked(c, node, NULL, 0, r, err);
    const char *names[CK_DEVICE_CHANGES_MAX];
    for (size_t i = 0; i < d->n; i++)
        names[i] = d->names[i];
    return node_locked(c, node, names, d->n, r, err);
}

static int materialize_pass(ck_cluster *c, const char *node, const ck_device_changes *d, ck_materialize_report *r,
                            ck_err *err)
{
    memset(r, 0, sizeof *r);
    ck_node n;
    if (ck_store_get_node(c->store, node, &n, err) < 0)
        return -1;
    if (c->in_op) /* inside an operation of this process */
        return pass_locked(c, node, d, r, err);
    if (ck__require_here(c, node, "materializing a node's folder", err) < 0)
        return -1;
    /* Never wait for an admin's operation (a daemon's loop would stall):
     * the caller tries again later. */
    char path[PATH_MAX + 16];
    if (!ck__lock_path(c, path, sizeof path))
        return pass_locked(c, node, d, r, err);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return ck_fail(err, CK_EIO, "%s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK) {
            r->busy = true;
            return 0;
        }
        return ck_fail(err, CK_EIO, "cannot lock the cluster: %s", strerror(e));
    }
    c->lock_fd = fd;
    int rc = pass_locked(c, node, d, r, err);
    c->lock_fd = -1;
    close(fd);
    return rc;
}

int ck_cluster_materialize_node(ck_cluster *c, const char *node, ck_materialize_report *r, ck_err *err)
{
    return materialize_pass(c, node, NULL, r, err);
}

int ck_cluster_materialize_node_files(ck_cluster *c, const char *node, ck_materialize_report *r, ck_err *err)
{
    return materialize_pass(c, node, &no_devices, r, err);
}

/* The counter after device's last change as far as the record says, for
 * a record read at d->upto and what later holds (the record read again at
 * the current counter), 0 when unknown. */
static int64_t changed_at(const ck_device_changes *d, size_t i, const ck_device_changes *later)
{
    for (size_t k = 0; later && k < later->n; k++)
        if (strcmp(later->names[k], d->names[i]) == 0)
            return later->at[k];
    return d->at[i];
}

int ck_cluster_materialize_devices(ck_cluster *c, const char *node, ck_device_changes *d, ck_materialize_report *r,
                                   ck_err *err)
{
    /* Devices whose files this process brought up to date after its own
     * commit, with nothing committed since or only device-only changes
     * the record covers (at, up to upto; when the counter moved on since,
     * the record read again says what came after), are left as they are:
     * why that is safe is in device_written.c. Under a steady stream of
     * CAPF sessions the counter often moves between the watcher's look at
     * the record and this one. */
    int64_t now = ck_store_change_counter(c->store);
    ck_device_changes later;
    bool covered = d->upto > 0 && (d->upto == now || ck_cluster_device_changes_since(c, d->upto, now, &later));
    const ck_device_changes *since = covered && d->upto != now ? &later : NULL;
    ck_device_changes left = {.upto = d->upto};
    for (size_t i = 0; i < d->n; i++) {
        int64_t w = ck__device_written_last(c, node, d->names[i]), at = changed_at(d, i, since);
        if (w >= 0 && (w == now || (covered && at > 0 && w >= at)))
            continue;
        left.at[left.n] = at;
        memcpy(left.names[left.n++], d->names[i], sizeof left.names[0]);
    }
    memset(r, 0, sizeof *r);
    int rc = left.n ? materialize_pass(c, node, &left, r, err) : 0;
    /* Busy: what is still to do, for the caller to try again. */
    if (rc == 0 && r->busy)
        *d = left;
    return rc;
}

size_t ck_cluster_devices_materialized(const ck_cluster *c)
{
    return c->devices_done;
}

void ck__materialize_here_locked(ck_cluster *c, const char *const *names, size_t n)
{
    ck_node *nodes = NULL;
    size_t nn = 0;
    if (ck_store_list_nodes(c->store, &nodes, &nn, NULL) < 0)
        return;
    for (size_t i = 0; i < nn; i++) {
        ck_err e2 = {0};
        /* A node elsewhere: its own daemon brings it to the committed
         * state. Errors here too: the daemons retry. */
        if (ck_cluster_node_here(c, nodes[i].name))
            CK_IGNORE(node_locked(c, nodes[i].name, names, n, NULL, &e2));
    }
    free(nodes);
}
