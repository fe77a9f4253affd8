/* ck_trustcache_build: a sealed trust cache from DB certificates and a CTL
 * file, for both TVS modes (standalone and cluster node). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctlkit/fileio.h"
#include "ctlkit/trustcache.h"
#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"

static int add_db_cert(ck_trustcache *tc, const ck_tc_db_cert *d, ck_err *err)
{
    X509 *x = NULL;
    uint8_t *der = NULL, *file = NULL;
    size_t len = 0, file_len = 0;
    const void *data = d->data;
    size_t data_len = d->len;
    int rc = -1;
    if (!data) {
        if (!d->path) {
            ck_fail(err, CK_EINVAL, "a DB certificate without data or path");
            goto out;
        }
        /* ck_load_pem_mem's own limit applies; read a little more so it can say so. */
        if (ck_read_file(d->path, 1024 * 1024 + 1, &file, &file_len, err) < 0)
            goto out;
        data = file;
        data_len = file_len;
    }
    if (ck_load_pem_mem(data, data_len, &x, NULL, false, err) < 0 || ck_cert_to_der(x, &der, &len, err) < 0 ||
        ck_trustcache_add_db(tc, der, len, d->roles, d->n_roles, err) < 0)
        goto out;
    rc = 0;
out:
    if (rc < 0 && (d->label || d->path))
        ck_err_prefix(err, "%s", d->label ? d->label : d->path);
    free(der);
    free(file);
    X509_free(x);
    return rc;
}

/* Reads, parses and verifies the CTL. Returns 1 when there is no file, 0
 * when *out holds a CTL to believe, -1 (err says why, naming the file)
 * when it must not be believed. */
static int load_ctl(const char *path, ck_tl_file **out, ck_err *err)
{
    struct stat st;
    if (stat(path, &st) < 0 && errno == ENOENT)
        return 1; /* a non-secure cluster has no CTL */
    uint8_t *data = NULL;
    size_t len = 0;
    ck_tl_file *f = NULL;
    if (ck_read_file(path, CK_TL_MAX_PARSE, &data, &len, err) < 0)
        return -1; /* the message names the file */
    int rc = ck_tl_parse(data, len, &f, err);
    /* Habit 3: the file's signature first, then believe its records. */
    if (rc == 0 && (rc = ck_tl_verify(f, err)) < 0)
        ck_err_prefix(err, "signature");
    free(data);
    if (rc < 0) {
        ck_err_prefix(err, "%s", path);
        ck_tl_free(f);
        return -1;
    }
    *out = f;
    return 0;
}

static ck_trustcache *build_db(const ck_tc_db_cert *db, size_t n_db, ck_err *err)
{
    ck_trustcache *tc = ck_trustcache_new(err);
    for (size_t i = 0; tc && i < n_db; i++)
        if (add_db_cert(tc, &db[i], err) < 0) {
            ck_trustcache_free(tc);
            tc = NULL;
        }
    return tc;
}

int ck_trustcache_build(const ck_tc_db_cert *db, size_t n_db, const char *ctl_path, ck_trustcache **out,
                        ck_tc_report *rep, ck_err *err)
{
    ck_tc_report scratch;
    if (!rep)
        rep = &scratch;
    memset(rep, 0, sizeof *rep);
    ck_trustcache *tc = build_db(db, n_db, err);
    if (!tc)
        return -1;
    ck_tl_file *f = NULL;
    ck_err cerr = {0};
    int lr = ctl_path ? load_ctl(ctl_path, &f, &cerr) : 1;
    if (lr == 0 && ck_trustcache_add_ctl(tc, f, &cerr) < 0) {
        /* A record the cache refuses rejects the whole CTL, never half of
         * it: start again from the DB certificates alone (a rare path). */
        ck_err_prefix(&cerr, "%s", ctl_path);
        lr = -1;
        ck_trustcache_free(tc);
        if (!(tc = build_db(db, n_db, err))) {
            ck_tl_free(f);
            return -1;
        }
    }
    ck_tl_free(f);
    if (lr == 0)
        rep->ctl = CK_TC_CTL_LOADED;
    else if (lr < 0) {
        rep->ctl = CK_TC_CTL_REJECTED;
        snprintf(rep->ctl_problem, sizeof rep->ctl_problem, "%s", cerr.msg);
    }
    ck_trustcache_seal(tc);
    *out = tc;
    return 0;
}
