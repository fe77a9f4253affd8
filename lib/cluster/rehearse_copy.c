/* The rehearsal's throw-away cluster (include/ctlkit/rehearse.h): a
 * private folder with a SQLite copy of the store and the node folders this
 * host holds; removed with its keys wiped when the rehearsal ends. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../x509/internal.h"
#include "ctlkit/fileio.h"
#include "ctlkit/x509.h"
#include "internal.h"
#include "rehearse_internal.h"

/* Largest file copied from a node folder (TFTP files and keys are small). */
#define COPY_MAX (4u << 20)

/* Copies the regular files of src into dst (made with dmode), each with fmode. */
static int copy_dir(const char *src, const char *dst, mode_t dmode, mode_t fmode, bool secret, ck_err *err)
{
    if (ck_mkdirs(dst, dmode, err) < 0)
        return -1;
    DIR *d = opendir(src);
    if (!d)
        return errno == ENOENT ? 0 : ck_fail(err, CK_EIO, "%s: %s", src, strerror(errno));
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char from[PATH_MAX], to[PATH_MAX];
        struct stat st;
        snprintf(from, sizeof from, "%s/%s", src, e->d_name);
        snprintf(to, sizeof to, "%s/%s", dst, e->d_name);
        if (lstat(from, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        uint8_t *data = NULL;
        size_t len = 0;
        if (ck_read_file(from, COPY_MAX, &data, &len, err) < 0) {
            rc = -1;
            break;
        }
        rc = ck_write_file_atomic(to, data, len, fmode, err);
        if (secret)
            OPENSSL_cleanse(data, len);
        free(data);
    }
    closedir(d);
    return rc;
}

/* Overwrites a key file with zeros before it is unlinked: the copy's keys
 * (the real ones and any the commands made) leave nothing readable behind
 * in the file's blocks that a later reader of the folder could find. */
static void wipe_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        static const uint8_t zeros[4096];
        for (off_t left = st.st_size; left > 0;) {
            ssize_t w = write(fd, zeros, left > (off_t)sizeof zeros ? sizeof zeros : (size_t)left);
            if (w <= 0)
                break;
            left -= w;
        }
        (void)fsync(fd);
    }
    close(fd);
}

static void remove_tree(const char *path, bool wipe)
{
    DIR *d = opendir(path);
    if (d) {
        for (struct dirent *e; (e = readdir(d));) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char sub[PATH_MAX];
            struct stat st;
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            if (lstat(sub, &st) < 0)
                continue;
            if (S_ISDIR(st.st_mode)) {
                remove_tree(sub, wipe || strcmp(e->d_name, "keys") == 0);
            } else {
                if (wipe && S_ISREG(st.st_mode))
                    wipe_file(sub);
                unlink(sub);
            }
        }
        closedir(d);
    }
    rmdir(path);
}

void ck__rh_copy_remove(ck__rh_copy *cp)
{
    if (cp->c) {
        ck_cluster_close(cp->c);
        cp->c = NULL;
    }
    if (cp->dir[0]) {
        remove_tree(cp->dir, false);
        cp->dir[0] = '\0';
    }
}

/* keys/ refused to a process that left root (ctlkit-web) but whose keys
 * it holds in memory (ck_cluster_hold_keys_here): the copy gets those. */
static int copy_held_keys(ck_cluster *real, const char *node, const char *dst, ck_err *err)
{
    if (ck_mkdirs(dst, 0700, err) < 0)
        return -1;
    for (size_t i = 0; i < CK_N_UNITS; i++) {
        char path[PATH_MAX], to[PATH_MAX + 80];
        X509 *cert = NULL;
        EVP_PKEY *key = NULL;
        ck_cluster_key_path(real, node, ck_units[i], path, sizeof path);
        if (!ck__key_hold_take(path, &cert, &key))
            continue;
        const char *slash = strrchr(path, '/');
        snprintf(to, sizeof to, "%s/%s", dst, slash ? slash + 1 : path);
        int rc = ck_write_key_cert_pem(to, key, cert, err);
        X509_free(cert);
        EVP_PKEY_free(key);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int copy_node_folder(ck_cluster *real, const char *node, const char *dst_root, ck_err *err)
{
    char src[PATH_MAX], from[PATH_MAX + 8], to[PATH_MAX + 80];
    ck_cluster_node_path(real, node, NULL, NULL, src, sizeof src);
    snprintf(to, sizeof to, "%s/nodes/%s/keys", dst_root, node);
    snprintf(from, sizeof from, "%s/keys", src);
    if (access(from, R_OK | X_OK) != 0 && (errno == EACCES || errno == EPERM) && ck_key_holding()) {
        if (copy_held_keys(real, node, to, err) < 0)
            return -1;
    } else if (copy_dir(from, to, 0700, 0600, true, err) < 0) {
        return -1;
    }
    snprintf(to, sizeof to, "%s/nodes/%s/tftp", dst_root, node);
    snprintf(from, sizeof from, "%s/tftp", src);
    if (copy_dir(from, to, 0755, 0644, false, err) < 0)
        return -1;
    snprintf(to, sizeof to, "%s/nodes/%s/run", dst_root, node);
    return ck_mkdirs(to, 0700, err);
}

int ck__rh_copy_make(ck_cluster *real, const char *node, const char *tmp_parent, ck__rh_copy *cp, ck_err *err)
{
    memset(cp, 0, sizeof *cp);
    const char *parent = tmp_parent ? tmp_parent : getenv("TMPDIR");
    if (!parent || !*parent)
        parent = "/tmp";
    snprintf(cp->dir, sizeof cp->dir, "%s/ctlkit-rehearse-XXXXXX", parent);
    if (!mkdtemp(cp->dir)) { /* mkdtemp makes it 0700 */
        int e = errno;
        cp->dir[0] = '\0';
        return ck_fail(err, CK_EIO, "cannot make the rehearsal's folder in %s: %s", parent, strerror(e));
    }
    char db[PATH_MAX + 16];
    snprintf(db, sizeof db, "%s/cluster.db", cp->dir);
    ck_store *dst = NULL;
    ck_node *nodes = NULL;
    size_t n = 0;
    int rc = ck_store_open(db, true, &dst, err);
    if (rc == 0)
        rc = ck_store_copy(ck_cluster_store(real), dst, err);
    ck_store_close(dst);
    if (rc == 0)
        rc = ck_store_list_nodes(ck_cluster_store(real), &nodes, &n, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (ck_cluster_node_here(real, nodes[i].name))
            rc = copy_node_folder(real, nodes[i].name, cp->dir, err);
    free(nodes);
    if (rc == 0)
        rc = ck_cluster_open(cp->dir, "rehearsal", &cp->c, err);
    if (rc == 0 && real->url) {
        /* As on the real cluster, only this host's node folder is here:
         * the copy's other nodes are "on their own hosts". */
        cp->c->url = true;
        snprintf(cp->c->here, sizeof cp->c->here, "%s", node);
        snprintf(cp->c->here_dir, sizeof cp->c->here_dir, "%s/nodes/%s", cp->dir, node);
    }
    if (rc < 0)
        ck__rh_copy_remove(cp);
    return rc;
}
