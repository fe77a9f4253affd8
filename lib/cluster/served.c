/* What a node serves, recorded in the store (issue 10): after its daemon
 * brought the TFTP folder to the store's state, each managed file's
 * version and digests, and since when. Only rows that changed are written,
 * so that a daemon that checks its folder every second writes nothing
 * while nothing changes. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctlkit/fileio.h"
#include "ctlkit/trustlist.h"
#include "internal.h"

/* The version of the published file these bytes are; 0 when they are
 * none (a hand edit, or nothing published). */
static int64_t published_version(ck_cluster *c, const char *node, const char *name, const uint8_t *data, size_t len)
{
    ck_file_row pub = {0};
    if (ck_store_get_file(c->store, ck__file_owner(node, name), name, &pub, NULL) < 0)
        return 0;
    int64_t v = ck_cluster_compare_copy(data, len, &pub) == CK_COPY_OK ? pub.version : 0;
    ck_file_row_clear(&pub);
    return v;
}

static const ck_served_row *find(const ck_served_row *rows, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].name, name) == 0)
            return &rows[i];
    return NULL;
}

int ck_cluster_record_served(ck_cluster *c, const char *node, size_t *changed, ck_err *err)
{
    if (changed)
        *changed = 0;
    if (ck__require_here(c, node, "recording what a node serves", err) < 0)
        return -1;
    ck_served_row *had = NULL;
    size_t nhad = 0;
    if (ck_store_list_served(c->store, node, &had, &nhad, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < CK__N_MANAGED; i++) {
        const char *name = ck__managed_files[i];
        const ck_served_row *old = find(had, nhad, name);
        char path[PATH_MAX];
        ck_cluster_node_path(c, node, "tftp", name, path, sizeof path);
        uint8_t *data = NULL;
        size_t len = 0;
        ck_err rerr = {0};
        if (ck_read_file(path, CK_TL_MAX_PARSE, &data, &len, &rerr) < 0) {
            if (rerr.code != CK_ENOTFOUND) {
                *err = rerr;
                rc = -1;
            } else if (old) { /* no longer served */
                rc = ck_store_delete_served(c->store, node, name, err);
                if (rc == 0 && changed)
                    (*changed)++;
            }
            continue;
        }
        ck_served_row now = {.since = (int64_t)time(NULL)};
        snprintf(now.node, sizeof now.node, "%s", node);
        snprintf(now.name, sizeof now.name, "%s", name);
        now.version = published_version(c, node, name, data, len);
        if (ck_store_digests(data, len, now.md5, now.sha1) < 0)
            rc = ck_fail_ssl(err, CK_ECRYPTO, "digests of %s", path);
        free(data);
        if (rc < 0 || (old && old->version == now.version && strcmp(old->md5, now.md5) == 0 &&
                       strcmp(old->sha1, now.sha1) == 0))
            continue;
        rc = ck_store_put_served(c->store, &now, err);
        if (rc == 0 && changed)
            (*changed)++;
    }
    free(had);
    return rc;
}
