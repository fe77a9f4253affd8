/* The on-disk layout of a node's folder, for the programs: where keys,
 * the pid file and the TFTP files are (include/ctlkit/cluster.h). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

/* Most names a TFTP listing shows (the admin's view is for people). */
#define TFTP_LIST_MAX 4096

void ck_cluster_key_path(const ck_cluster *c, const char *node, const char *unit, char *out, size_t outsz)
{
    char file[80];
    snprintf(file, sizeof file, "%s.pem", unit);
    ck_cluster_node_path(c, node, "keys", file, out, outsz);
}

void ck_cluster_pid_path(const ck_cluster *c, const char *node, char *out, size_t outsz)
{
    ck_cluster_node_path(c, node, "run", "ctlkitd.pid", out, outsz);
}

/* Hidden files and what a publish stages next to a file are not the
 * node's TFTP files. */
static bool listed(const char *name)
{
    return name[0] != '.' && !strstr(name, ".tmp.") && !strstr(name, ".prev");
}

static int by_name(const void *x, const void *y)
{
    return strcmp(((const ck_tftp_entry *)x)->name, ((const ck_tftp_entry *)y)->name);
}

int ck_cluster_tftp_list(ck_cluster *c, const char *node, ck_tftp_entry **out, size_t *n, ck_err *err)
{
    *out = NULL;
    *n = 0;
    if (ck__require_here(c, node, "listing a node's TFTP folder", err) < 0)
        return -1;
    char dir[PATH_MAX];
    ck_cluster_node_path(c, node, "tftp", NULL, dir, sizeof dir);
    DIR *d = opendir(dir);
    if (!d)
        return ck_fail(err, CK_EIO, "cannot read the TFTP directory of %s (%s)", node, dir);
    ck_tftp_entry *v = NULL;
    size_t nv = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) && nv < TFTP_LIST_MAX) {
        if (!listed(e->d_name))
            continue;
        if (nv == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            ck_tftp_entry *nvp = realloc(v, ncap * sizeof *v);
            if (!nvp) {
                closedir(d);
                free(v);
                return ck_fail(err, CK_ENOMEM, "out of memory");
            }
            v = nvp;
            cap = ncap;
        }
        snprintf(v[nv].name, sizeof v[nv].name, "%s", e->d_name);
        char path[PATH_MAX + 256];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        v[nv].size = stat(path, &st) == 0 ? (long long)st.st_size : -1;
        nv++;
    }
    closedir(d);
    if (nv)
        qsort(v, nv, sizeof *v, by_name);
    *out = v;
    *n = nv;
    return 0;
}
