/* Publishing one file to several nodes' TFTP directories so that phones
 * never see a mix: every node ends with the new bytes, or every node keeps
 * its previous file.
 *
 * Phase 1 writes and fsyncs NAME.tmp.PID beside each node's file; any
 * failure there removes the temporaries and changes nothing. Phase 2 keeps
 * a hard link to each old file (NAME.prev) and renames the temporaries
 * into place; a rename failure puts the old files back. Phase 3 drops the
 * links. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlkit/fileio.h"
#include "internal.h"

typedef struct slot {
    char path[PATH_MAX];
    char tmp[PATH_MAX + 32];
    char prev[PATH_MAX + 8];
    bool had_old, written, switched;
} slot;

static void undo(slot *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i].switched) {
            if (s[i].had_old)
                rename(s[i].prev, s[i].path);
            else
                unlink(s[i].path);
        } else if (s[i].had_old) {
            unlink(s[i].prev);
        }
        if (s[i].written && !s[i].switched)
            unlink(s[i].tmp);
    }
}

int publish_to_nodes(ck_cluster *c, const ck_node *nodes, size_t n, const char *name, const uint8_t *data,
                     size_t len, ck_err *err)
{
    slot *s = calloc(n ? n : 1, sizeof *s);
    if (!s)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    int rc = -1;
    for (size_t i = 0; i < n; i++) {
        ck_cluster_node_path(c, nodes[i].name, "tftp", name, s[i].path, sizeof s[i].path);
        if (ck_write_file_temp(s[i].path, data, len, 0644, s[i].tmp, sizeof s[i].tmp, err) < 0) {
            ck_err_prefix(err, "publishing %s to %s", name, nodes[i].name);
            goto out;
        }
        s[i].written = true;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(s[i].prev, sizeof s[i].prev, "%s.prev", s[i].path);
        unlink(s[i].prev);
        s[i].had_old = link(s[i].path, s[i].prev) == 0;
        if (!s[i].had_old && errno != ENOENT) {
            ck_fail(err, CK_EIO, "publishing %s to %s: cannot keep the old file: %s", name, nodes[i].name,
                    strerror(errno));
            goto out;
        }
        if (rename(s[i].tmp, s[i].path) < 0) {
            ck_fail(err, CK_EIO, "publishing %s to %s: %s", name, nodes[i].name, strerror(errno));
            goto out;
        }
        s[i].switched = true;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i].had_old)
            unlink(s[i].prev);
        ck_fsync_dir_of(s[i].path);
    }
    rc = 0;
out:
    if (rc < 0)
        undo(s, n);
    free(s);
    return rc;
}
