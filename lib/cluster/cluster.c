/* Opening, creating and locking a cluster; node key material. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctlkit/fileio.h"
#include "ctlkit/params.h"
#include "ctlkit/x509.h"
#include "cert_facts.h"
#include "internal.h"

bool ck_cluster_address_is_url(const char *address)
{
    return strncmp(address, "postgresql://", 13) == 0 || strncmp(address, "postgres://", 11) == 0;
}

bool ck_cluster_node_here(const ck_cluster *c, const char *node)
{
    return !c->url || (c->here_dir[0] && strcmp(node, c->here) == 0);
}

void ck_cluster_node_path(const ck_cluster *c, const char *node, const char *sub, const char *file, char *out,
                          size_t outsz)
{
    const char *sep = sub ? "/" : "", *fsep = file ? "/" : "";
    if (c->here_dir[0] && strcmp(node, c->here) == 0)
        snprintf(out, outsz, "%s%s%s%s%s", c->here_dir, sep, sub ? sub : "", fsep, file ? file : "");
    else if (!c->url)
        snprintf(out, outsz, "%s/nodes/%s%s%s%s%s", c->dir, node, sep, sub ? sub : "", fsep, file ? file : "");
    else
        snprintf(out, outsz, "%s", ""); /* on its own host: callers ask ck_cluster_node_here first */
}

int ck__require_here(const ck_cluster *c, const char *node, const char *what, ck_err *err)
{
    if (ck_cluster_node_here(c, node))
        return 0;
    return ck_fail(err, CK_ESTATE, "%s: %s happens on that node's own host (its keys never leave it); run it there with "
                   "--dir and --node %s", node, what, node);
}

const char *ck_cluster_dir(const ck_cluster *c) { return c->url ? c->here_dir : c->dir; }
const char *ck_cluster_name(const ck_cluster *c) { return c->name; }
bool ck_cluster_is_url(const ck_cluster *c) { return c->url; }
ck_store *ck_cluster_store(ck_cluster *c) { return c->store; }

static int open_db(ck_cluster *c, const char *address, bool create, ck_err *err)
{
    if (c->url)
        return ck_store_open(address, create, &c->store, err);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/cluster.db", c->dir);
    /* stat, not access: it asks as the file-system user (a daemon leaving
     * root opens the cluster as its account: privdrop.h). */
    struct stat st;
    if (!create && stat(path, &st) != 0)
        return ck_fail(err, CK_ENOTFOUND, "%s: no cluster here (no cluster.db); create one with 'ctlkit cluster init'",
                       c->dir);
    return ck_store_open(path, create, &c->store, err);
}

/* Across hosts a node folder names its node (NODE_FILE, written by init
 * and join), so that --dir and --node cannot disagree: with another node's
 * folder, the wrong keys would sign and the wrong TFTP folder be served. */
#define NODE_FILE "node.name"

static int check_owner(const ck_cluster *c, ck_err *err)
{
    char path[PATH_MAX + 16];
    uint8_t *data = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/" NODE_FILE, c->here_dir);
    if (ck_read_file(path, 128, &data, &len, NULL) < 0)
        return ck_fail(err, CK_ENOTFOUND, "%s is not a node folder (no %s; made by 'cluster init' or 'cluster join')",
                       c->here_dir, NODE_FILE);
    char owner[129];
    memcpy(owner, data, len);
    owner[len] = '\0';
    free(data);
    owner[strcspn(owner, "\n")] = '\0';
    if (strcmp(owner, c->here) != 0)
        return ck_fail(err, CK_EINVAL, "%s is the folder of node %s, not of %s", c->here_dir, owner, c->here);
    return 0;
}

/* Fills the places of c from w (without opening the store). */
static int place(ck_cluster *c, const ck_cluster_where *w, const char *who, bool new_folder, ck_err *err)
{
    c->lock_fd = -1;
    snprintf(c->who, sizeof c->who, "%s", who ? who : "admin");
    if (!w->address || !*w->address)
        return ck_fail(err, CK_EINVAL, "no cluster named (a cluster folder or a postgresql:// URL)");
    if (w->dir && !w->node)
        return ck_fail(err, CK_EINVAL, "--dir names a node's folder: give the node with --node");
    c->url = ck_cluster_address_is_url(w->address);
    if (c->url) {
        ck_store_mask_address(w->address, c->name, sizeof c->name);
    } else if (!realpath(w->address, c->dir)) {
        int e = errno;
        if (e == ENOENT)
            return ck_fail(err, CK_ENOTFOUND,
                           "%s: no cluster here (no such directory); create one with 'ctlkit cluster init'", w->address);
        return ck_fail(err, CK_EIO, "%s: %s", w->address, strerror(e));
    } else {
        snprintf(c->name, sizeof c->name, "%s", c->dir);
    }
    if (w->dir) {
        if (!realpath(w->dir, c->here_dir)) {
            int e = errno;
            c->here_dir[0] = '\0';
            return ck_fail(err, e == ENOENT ? CK_ENOTFOUND : CK_EIO,
                           "%s: %s (a node's folder is made by 'ctlkit cluster init' or 'ctlkit cluster join')", w->dir,
                           strerror(e));
        }
        snprintf(c->here, sizeof c->here, "%s", w->node);
        if (c->url && !new_folder && check_owner(c, err) < 0)
            return -1;
    }
    return 0;
}

int ck_cluster_open_at(const ck_cluster_where *w, const char *who, ck_cluster **out, ck_err *err)
{
    ck_cluster *c = calloc(1, sizeof *c);
    if (!c)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    if (place(c, w, who, false, err) < 0 || open_db(c, w->address, false, err) < 0) {
        free(c);
        return -1;
    }
    c->written_at = -1;
    *out = c;
    return 0;
}

int ck_cluster_open(const char *dir, const char *who, ck_cluster **out, ck_err *err)
{
    ck_cluster_where w = {.address = dir};
    return ck_cluster_open_at(&w, who, out, err);
}

void ck_cluster_close(ck_cluster *c)
{
    if (!c)
        return;
    if (c->lock_fd >= 0)
        close(c->lock_fd);
    ck__staged_discard(c);
    ck_store_close(c->store);
    ck__unit_cache_clear(c);
    for (size_t i = 0; i < c->n_capf_roots; i++)
        X509_free(c->capf_roots[i]);
    free(c->capf_roots);
    free(c->capf_roots_pem);
    free(c->lsc_pem);
    X509_free(c->lsc_cert);
    free(c);
}

bool ck__lock_path(const ck_cluster *c, char *out, size_t outsz)
{
    if (!c->url)
        snprintf(out, outsz, "%s/cluster.lock", c->dir);
    else if (c->here_dir[0])
        snprintf(out, outsz, "%s/run/node.lock", c->here_dir);
    else
        return false;
    return true;
}

/* wait: block on the locks (an admin), or give up at once with 1 when
 * another process holds one (a daemon's loop, which tries again later). */
static int op_begin(ck_cluster *c, bool wait, ck_err *err)
{
    /* Across hosts the cluster-wide lock is the store's advisory lock
     * (ck_store_begin); the local flock only keeps this host's daemon from
     * materializing the node's folder while an admin publishes into it. */
    char path[PATH_MAX + 16];
    if (ck__lock_path(c, path, sizeof path)) {
        c->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (c->lock_fd < 0)
            return ck_fail(err, CK_EIO, "%s: %s", path, strerror(errno));
        if (flock(c->lock_fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
            int e = errno;
            close(c->lock_fd);
            c->lock_fd = -1;
            if (!wait && e == EWOULDBLOCK)
                return 1;
            return ck_fail(err, CK_EIO, "cannot lock the cluster: %s", strerror(e));
        }
    }
    int rc = wait ? ck_store_begin(c->store, err) : ck_store_try_begin(c->store, err);
    if (rc != 0) {
        if (c->lock_fd >= 0)
            close(c->lock_fd);
        c->lock_fd = -1;
        return rc;
    }
    c->in_op = true;
    return 0;
}

int ck__op_begin(ck_cluster *c, ck_err *err)
{
    return op_begin(c, true, err);
}

int ck__op_try_begin(ck_cluster *c, ck_err *err)
{
    return op_begin(c, false, err);
}

int ck__op_end(ck_cluster *c, bool ok, ck_err *err)
{
    int rc = 0;
    if (ok)
        ck__test_kill_point(c->n_staged ? "after-stage" : "before-commit");
    /* A device-only change is recorded as such for the daemons. */
    if (ok && c->op_device[0] && ck__device_change_record(c, err) < 0)
        ok = false;
    if (ok)
        rc = ck_store_commit(c->store, err);
    if (!ok || rc < 0) {
        ck_store_rollback(c->store);
        ck__staged_discard(c);
    } else {
        ck__test_kill_point(c->n_staged ? "after-commit" : "after-commit-nofiles");
        ck__staged_install(c);
    }
    /* Still under the lock: every folder this process can see gets the
     * committed state, and what an interrupted publish left is removed. */
    if (c->in_op && c->op_device[0] && ok && rc == 0) {
        const char *name = c->op_device;
        /* Read before the pass reads anything (device_written.c). */
        c->written_at = ck_store_change_counter(c->store);
        ck__materialize_here_locked(c, &name, 1); /* nothing else changed */
        c->written_at = -1;
    } else if (c->in_op) {
        ck__materialize_here_locked(c, NULL, 0);
    }
    c->op_device[0] = '\0';
    if (c->in_op)
        ck__test_kill_point("after-materialize");
    c->in_op = false;
    if (c->lock_fd >= 0) {
        close(c->lock_fd); /* releases the flock */
        c->lock_fd = -1;
    }
    return ok ? rc : -1;
}

int ck__audit(ck_cluster *c, ck_err *err, const char *node, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ck_store_audit(c->store, c->who, node, msg, err) < 0) {
        ck_err_prefix(err, "cannot write the audit row");
        return -1;
    }
    return 0;
}

int ck_cluster_security_mode(ck_cluster *c)
{
    char v[16];
    if (ck_store_get_param(c->store, CK_PARAM_SECURITY_MODE, v, sizeof v, NULL) < 0)
        return 0;
    return strcmp(v, "1") == 0;
}

int ck__require_publisher(ck_cluster *c, const char *node, const char *command, ck_err *err)
{
    switch (ck_cluster_publisher_only(c, node, err)) {
    case CK_REFUSAL_NONE:
        return 0;
    case CK_REFUSAL_SUBSCRIBER:
        return ck_fail(err, CK_ESTATE, "%s can only be run on the publisher; %s is a subscriber", command, node);
    default:
        return -1; /* err says why */
    }
}

static void unit_cn(const ck_node *n, const char *unit, X509 *seed, char *out, size_t outsz)
{
    if (strcmp(unit, CK_UNIT_CAPF) == 0) {
        /* CUCM names CAPF "CAPF-" and eight hex digits. */
        unsigned char d[4] = {0};
        unsigned len = 0;
        EVP_Digest(n->name, strlen(n->name), d, &len, EVP_md5(), NULL);
        snprintf(out, outsz, "CAPF-%02x%02x%02x%02x", d[0], d[1], d[2], d[3]);
    } else if (strcmp(unit, CK_UNIT_ITLRECOVERY) == 0) {
        snprintf(out, outsz, "ITLRECOVERY_%s", n->name);
    } else {
        snprintf(out, outsz, "%s", n->name);
    }
    (void)seed;
}

/* The extended key usages CUCM 10.5 gives each unit: CallManager (and
 * ITLRecovery, made by the same certificate manager for signing) adds IPsec
 * End System; TVS and CAPF carry server and client authentication only.
 * Every unit has the same key usage and a subject key identifier
 * (ck_cert_generate's defaults): "Extensions: 3 present". */
static const char *unit_eku(const char *unit)
{
    return strcmp(unit, CK_UNIT_CALLMANAGER) == 0 || strcmp(unit, CK_UNIT_ITLRECOVERY) == 0 ? CK_EKU_CALLMANAGER
                                                                                           : "serverAuth,clientAuth";
}

const char *ck_cluster_digest_problem(const char *digest)
{
    if (!digest || strcmp(digest, "sha1") == 0 || strcmp(digest, "sha256") == 0)
        return NULL;
    return "the certificate digest must be sha1 (SHA1withRSA) or sha256 (SHA256withRSA)";
}

int ck__make_unit(ck_cluster *c, const ck_node *n, const char *unit, const char *ou, const char *o, const char *l,
                  const char *st, const char *country, int bits, const char *digest, int64_t changed_at, ck_err *err)
{
    char cn[96], path[PATH_MAX];
    if (ck__require_here(c, n->name, "making a key", err) < 0)
        return -1;
    unit_cn(n, unit, NULL, cn, sizeof cn);
    if (ck_cluster_digest_problem(digest))
        return ck_fail(err, CK_EINVAL, "%s, not '%s'", ck_cluster_digest_problem(digest), digest);
    ck_cert_params p = {.cn = cn, .ou = ou, .o = o, .l = l, .st = st, .c = country, .rsa_bits = bits,
                        .digest = digest ? digest : "sha256", .days = 1825, .ext_key_usage = unit_eku(unit)};
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    int rc = -1;
    if (ck_cert_generate(&p, &cert, &key, err) < 0)
        return -1;
    ck_cluster_key_path(c, n->name, unit, path, sizeof path);
    char *pem = ck_cert_to_pem(cert);
    if (!pem) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        goto out;
    }
    /* Database first (inside the caller's transaction), then the key file:
     * if writing the key fails, the transaction rolls back. */
    ck_cert_row row;
    if (ck_cert_row_from_pem(pem, n->name, unit, &row, err) < 0)
        goto out;
    row.changed_at = changed_at;
    int stored = ck_store_put_cert(c->store, &row, err);
    ck_cert_row_clear(&row);
    if (stored < 0 || ck_write_key_cert_pem(path, key, cert, err) < 0)
        goto out;
    ck__test_kill_point("key-written");
    rc = 0;
out:
    free(pem);
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

/* Removes what a failed init built (never following symbolic links). */
static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    remove(path);
    return 0;
}

/* DIR must be new, or an empty folder: the finished cluster replaces it. */
static int check_target(const char *dir, ck_err *err)
{
    struct stat st;
    if (lstat(dir, &st) < 0)
        return errno == ENOENT ? 0 : ck_fail(err, CK_EIO, "%s: %s", dir, strerror(errno));
    char db[PATH_MAX + 16];
    snprintf(db, sizeof db, "%s/cluster.db", dir);
    if (access(db, F_OK) == 0)
        return ck_fail(err, CK_ESTATE, "%s already holds a cluster (cluster.db exists)", dir);
    if (!S_ISDIR(st.st_mode))
        return ck_fail(err, CK_ESTATE, "%s exists and is not a folder", dir);
    DIR *d = opendir(dir);
    if (!d)
        return ck_fail(err, CK_EIO, "%s: %s", dir, strerror(errno));
    struct dirent *de;
    bool empty = true;
    while (empty && (de = readdir(d)))
        empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
    closedir(d);
    if (!empty)
        return ck_fail(err, CK_ESTATE, "%s is not empty; cluster init needs a new or empty folder", dir);
    return 0;
}

/* Has node made its certificates (a subscriber across hosts has none
 * until it joins)? */
bool ck__joined(ck_cluster *c, const char *node)
{
    ck_cert_row row;
    if (ck_store_get_cert(c->store, node, CK_UNIT_CALLMANAGER, &row, NULL) < 0)
        return false;
    ck_cert_row_clear(&row);
    return true;
}

/* Makes node's folders, keys, certificates and ITL inside an open
 * operation. */
static int make_node(ck_cluster *c, const ck_node *n, const char *ou, const char *o, const char *l, const char *st,
                     const char *country, int bits, const char *digest, int64_t created, ck_err *err)
{
    char path[PATH_MAX];
    ck_cluster_node_path(c, n->name, "tftp", NULL, path, sizeof path);
    if (ck_mkdirs(path, 0755, err) < 0)
        return -1;
    ck_cluster_node_path(c, n->name, "keys", NULL, path, sizeof path);
    if (ck_mkdirs(path, 0700, err) < 0)
        return -1;
    ck_cluster_node_path(c, n->name, "run", NULL, path, sizeof path);
    if (ck_mkdirs(path, 0755, err) < 0)
        return -1;
    if (c->url) {
        char owner[80];
        snprintf(owner, sizeof owner, "%s\n", n->name);
        ck_cluster_node_path(c, n->name, NODE_FILE, NULL, path, sizeof path);
        if (ck_write_file_atomic(path, owner, strlen(owner), 0644, err) < 0)
            return -1;
    }
    size_t nunits = n->publisher ? 4 : 2;
    for (size_t u = 0; u < nunits; u++)
        if (ck__make_unit(c, n, ck_units[u], ou, o, l, st, country, bits, digest, created, err) < 0)
            return -1;
    return 0;
}

static int publish_itl(ck_cluster *c, const ck_node *n, ck_err *err)
{
    uint8_t *itl = NULL;
    size_t len = 0;
    if (ck__build_itl(c, n->name, &itl, &len, err) < 0)
        return -1;
    int prc = ck_store_put_file(c->store, n->name, CK_ITL_NAME, itl, len, err);
    if (prc == 0)
        prc = ck__publish_to_nodes(c, n, 1, CK_ITL_NAME, itl, len, err);
    free(itl);
    return prc;
}

/* Fills the new cluster c (database, folders, keys, ITLs) in one store
 * transaction. Across hosts only the publisher's folder is here: the
 * subscribers make theirs when they join. */
static int populate(ck_cluster *c, const ck_cluster_init_opts *o, ck_err *err)
{
    int rc = -1;
    /* One stamp for every certificate init makes: a later changed_at is a
     * regeneration (certs.c tells the two apart by it). */
    int64_t created = (int64_t)time(NULL);
    if (ck__op_begin(c, err) < 0)
        return -1;
    ck_node *existing = NULL;
    size_t n_existing = 0;
    if (ck_store_list_nodes(c->store, &existing, &n_existing, err) < 0)
        goto end;
    free(existing);
    if (n_existing) {
        ck_fail(err, CK_ESTATE, "%s already holds a cluster (%zu node(s))", c->name, n_existing);
        goto end;
    }
    for (size_t i = 0; i < ck_params_count; i++)
        if (ck_store_set_param(c->store, ck_params[i].name, ck_params[i].default_value, err) < 0)
            goto end;
    if (o->capf_port) {
        char port[16];
        snprintf(port, sizeof port, "%d", o->capf_port);
        if (ck_store_set_param(c->store, "CAPFPhonePort", port, err) < 0)
            goto end;
    }
    for (size_t i = 0; i < o->n_nodes; i++) {
        const ck_node_spec *s = &o->nodes[i];
        ck_node n = {.publisher = i == 0, .position = (int)i,
                     .tftp_port = s->tftp_port ? s->tftp_port : 69,
                     .tvs_port = s->tvs_port ? s->tvs_port : 2445,
                     .provider_port = s->provider_port ? s->provider_port : 2444};
        snprintf(n.name, sizeof n.name, "%s", s->name);
        snprintf(n.ip, sizeof n.ip, "%s", s->ip);
        if (ck_store_add_node(c->store, &n, err) < 0)
            goto end;
        if (ck_cluster_node_here(c, n.name) &&
            make_node(c, &n, o->ou, o->o, o->l, o->st, o->c, o->rsa_bits ? o->rsa_bits : 2048, o->digest, created,
                      err) < 0)
            goto end;
    }
    /* Every node has an ITL, even in non-secure mode. */
    for (size_t i = 0; i < o->n_nodes; i++) {
        ck_node n;
        if (!ck_cluster_node_here(c, o->nodes[i].name))
            continue;
        if (ck_store_get_node(c->store, o->nodes[i].name, &n, err) < 0 || publish_itl(c, &n, err) < 0)
            goto end;
    }
    if (ck__audit(c, err, o->nodes[0].name, "cluster created with %zu node(s), non-secure mode", o->n_nodes) < 0)
        goto end;
    rc = 0;
end:
    return ck__op_end(c, rc == 0, err);
}

/* A folder made in a hidden sibling of dir and renamed into place at the
 * end, so that a failure (a full disk, a bad name) leaves nothing behind. */
typedef struct new_folder {
    char dir[PATH_MAX];
    char tmp[PATH_MAX + 64];
    char real[PATH_MAX];
} new_folder;

static int folder_begin(new_folder *f, const char *dir_arg, ck_err *err)
{
    if (snprintf(f->dir, sizeof f->dir, "%s", dir_arg) >= (int)sizeof f->dir - 32)
        return ck_fail(err, CK_EINVAL, "%s: path too long", dir_arg);
    for (size_t n = strlen(f->dir); n > 1 && f->dir[n - 1] == '/'; n--)
        f->dir[n - 1] = '\0';
    if (check_target(f->dir, err) < 0)
        return -1;
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", f->dir);
    char *slash = strrchr(parent, '/');
    const char *base = slash ? slash + 1 : f->dir;
    if (!slash)
        snprintf(parent, sizeof parent, ".");
    else if (slash == parent)
        parent[1] = '\0';
    else
        *slash = '\0';
    if (ck_mkdirs(parent, 0755, err) < 0)
        return -1;
    snprintf(f->tmp, sizeof f->tmp, "%s/.%s.init-XXXXXX", parent, base);
    if (!mkdtemp(f->tmp))
        return ck_fail(err, CK_EIO, "%s: cannot create a folder in it: %s", parent, strerror(errno));
    if (chmod(f->tmp, 0755) < 0 || !realpath(f->tmp, f->real)) {
        ck_fail(err, CK_EIO, "%s: %s", f->tmp, strerror(errno));
        nftw(f->tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
        return -1;
    }
    return 0;
}

static int folder_end(new_folder *f, int rc, ck_err *err)
{
    if (rc == 0 && rename(f->tmp, f->dir) < 0)
        rc = ck_fail(err, CK_EIO, "%s: cannot move the new folder into place: %s", f->dir, strerror(errno));
    if (rc == 0)
        ck_fsync_dir_of(f->dir);
    else
        nftw(f->tmp, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}

/* A cluster handle over a new folder being made (folder_begin); on failure
 * the folder is already undone and the result is folder_end's. */
static int cluster_in_new_folder(new_folder *f, const char *dir, ck_cluster **c, ck_err *err)
{
    if (folder_begin(f, dir, err) < 0)
        return -1;
    if (!(*c = calloc(1, sizeof **c))) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        return folder_end(f, -1, err);
    }
    (*c)->lock_fd = -1;
    (*c)->written_at = -1;
    return 0;
}

/* address NULL: a cluster folder at dir; else dir is the publisher's node
 * folder. */
static int create(const char *address, const char *dir_arg, const ck_cluster_init_opts *o, ck_err *err)
{
    if (o->n_nodes == 0)
        return ck_fail(err, CK_EINVAL, "a cluster needs a publisher");
    size_t itl_len = 0;
    if (ck_cluster_digest_problem(o->digest))
        return ck_fail(err, CK_EINVAL, "%s, not '%s'", ck_cluster_digest_problem(o->digest), o->digest);
    if (ck_cluster_itl_size(o, &itl_len, err) < 0)
        return -1;
    new_folder f;
    ck_cluster *c = NULL;
    if (cluster_in_new_folder(&f, dir_arg, &c, err) < 0)
        return -1;
    int rc = -1;
    snprintf(c->who, sizeof c->who, "%s", o->who ? o->who : "admin");
    if (address) {
        c->url = true;
        ck_store_mask_address(address, c->name, sizeof c->name);
        snprintf(c->here_dir, sizeof c->here_dir, "%s", f.real);
        snprintf(c->here, sizeof c->here, "%s", o->nodes[0].name);
    } else {
        snprintf(c->dir, sizeof c->dir, "%s", f.real);
        snprintf(c->name, sizeof c->name, "%s", f.dir);
    }
    if (c->url) {
        /* The node lock lives in run/, made before the operation starts. */
        char run[PATH_MAX + 8];
        snprintf(run, sizeof run, "%s/run", f.real);
        if (ck_mkdirs(run, 0755, err) < 0)
            goto out;
    }
    rc = open_db(c, address, true, err) == 0 && populate(c, o, err) == 0 ? 0 : -1;
out:
    ck_cluster_close(c);
    return folder_end(&f, rc, err);
}

int ck_cluster_create(const char *dir, const ck_cluster_init_opts *o, ck_err *err)
{
    return create(NULL, dir, o, err);
}

int ck_cluster_create_at(const char *address, const char *dir, const ck_cluster_init_opts *o, ck_err *err)
{
    if (!ck_cluster_address_is_url(address))
    {
        char shown[512]; /* not a URL we know, but it may still hold a password */
        ck_store_mask_address(address, shown, sizeof shown);
        return ck_fail(err, CK_EINVAL, "%s is not a postgresql:// URL; a cluster folder is made with 'cluster init DIR'",
                       shown);
    }
    return create(address, dir, o, err);
}

/* A subject field of the publisher's certificate ("" when absent). */
static void subject_field(X509 *cert, int nid, char *out, size_t outsz)
{
    out[0] = '\0';
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), nid, out, (int)outsz) < 0)
        out[0] = '\0';
}

static int join_locked(ck_cluster *c, const char *node, ck_err *err)
{
    ck_node n;
    ck_err e2 = {0};
    if (ck_store_get_node(c->store, node, &n, &e2) < 0)
        return e2.code == CK_ENOTFOUND
                   ? ck_fail(err, CK_ENOTFOUND, "%s is not a node of the cluster %s (cluster status lists them)", node,
                             c->name)
                   : (*err = e2, -1);
    if (ck__joined(c, node))
        return ck_fail(err, CK_ESTATE, "%s has already joined the cluster (it has certificates); its keys are on its host",
                       node);
    ck_node pub;
    X509 *pcert = NULL;
    if (ck_store_publisher(c->store, &pub, err) < 0 ||
        ck__load_unit(c, pub.name, CK_UNIT_CALLMANAGER, &pcert, NULL, err) < 0)
        return -1;
    /* Shaped as the publisher's: the same subject fields, size and digest. */
    char ou[128], o[128], l[128], st[128], cc[8];
    subject_field(pcert, NID_organizationalUnitName, ou, sizeof ou);
    subject_field(pcert, NID_organizationName, o, sizeof o);
    subject_field(pcert, NID_localityName, l, sizeof l);
    subject_field(pcert, NID_stateOrProvinceName, st, sizeof st);
    subject_field(pcert, NID_countryName, cc, sizeof cc);
    int bits = EVP_PKEY_get_bits(X509_get0_pubkey(pcert));
    const char *digest = X509_get_signature_nid(pcert) == NID_sha1WithRSAEncryption ? "sha1" : "sha256";
    X509_free(pcert);
    /* The join's stamp on the node row too: certificates with this
     * changed_at are the join, not a regeneration (certs.c). */
    int64_t joined = (int64_t)time(NULL);
    if (make_node(c, &n, ou, o, l, st, cc, bits, digest, joined, err) < 0 ||
        ck_store_set_node_joined(c->store, node, joined, err) < 0 || publish_itl(c, &n, err) < 0)
        return -1;
    return ck__audit(c, err, node, "node %s joined the cluster", node);
}

int ck_cluster_join(const char *address, const char *dir, const char *node, const char *who, ck_err *err)
{
    if (!ck_cluster_address_is_url(address))
    {
        char shown[512]; /* not a URL we know, but it may still hold a password */
        ck_store_mask_address(address, shown, sizeof shown);
        return ck_fail(err, CK_EINVAL, "%s is not a postgresql:// URL: the nodes of a cluster folder are made by "
                       "'cluster init'", shown);
    }
    new_folder f;
    ck_cluster *c = NULL;
    if (cluster_in_new_folder(&f, dir, &c, err) < 0)
        return -1;
    int rc = -1;
    char run[PATH_MAX + 8];
    snprintf(run, sizeof run, "%s/run", f.real);
    ck_cluster_where w = {.address = address, .dir = f.real, .node = node};
    if (place(c, &w, who, true, err) == 0 && ck_mkdirs(run, 0755, err) == 0 && open_db(c, address, false, err) == 0 &&
        ck__op_begin(c, err) == 0)
        rc = ck__op_end(c, join_locked(c, node, err) == 0, err);
    ck_cluster_close(c);
    return folder_end(&f, rc, err);
}

void ck_strings_free(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}
