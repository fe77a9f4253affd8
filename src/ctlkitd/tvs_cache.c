/* Building the TVS trust cache from what the daemon is configured with:
 * the CTL file (the CTL cache) and DB certificates (the DB cache; until the
 * cluster store is wired in, given on the command line). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctlkit/fileio.h"
#include "ctlkit/trustcache.h"
#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"
#include "tvs_service.h"

static int add_db_cert(ck_trustcache *tc, const tvs_db_cert *d, ck_err *err)
{
    X509 *x = NULL;
    uint8_t *der = NULL;
    size_t len = 0;
    int rc = -1;
    if (ck_load_pem(d->path, &x, NULL, false, err) < 0 || ck_cert_to_der(x, &der, &len, err) < 0 ||
        ck_trustcache_add_db(tc, der, len, d->roles, d->n_roles, err) < 0) {
        ck_err_prefix(err, "%s", d->path);
        goto out;
    }
    rc = 0;
out:
    free(der);
    X509_free(x);
    return rc;
}

static int add_ctl(ck_trustcache *tc, const char *path, ck_err *err)
{
    struct stat st;
    if (stat(path, &st) < 0 && errno == ENOENT)
        return 0; /* a non-secure cluster has no CTL: an empty CTL cache */
    uint8_t *data = NULL;
    size_t len = 0;
    ck_tl_file *f = NULL;
    int rc = -1;
    if (ck_read_file(path, CK_TL_MAX_PARSE, &data, &len, err) < 0 || ck_tl_parse(data, len, &f, err) < 0)
        goto out;
    /* Habit 3: the file's signature first, then believe its records. */
    if (ck_tl_verify(f, err) < 0) {
        ck_err_prefix(err, "signature");
        goto out;
    }
    rc = ck_trustcache_add_ctl(tc, f, err);
out:
    if (rc < 0)
        ck_err_prefix(err, "%s", path);
    ck_tl_free(f);
    free(data);
    return rc;
}

int tvs_cache_build(const tvs_config *cfg, ck_trustcache **out, ck_err *err)
{
    ck_trustcache *tc = ck_trustcache_new(err);
    if (!tc)
        return -1;
    for (size_t i = 0; i < cfg->n_db_certs; i++)
        if (add_db_cert(tc, &cfg->db_certs[i], err) < 0)
            goto fail;
    if (cfg->ctl_path && add_ctl(tc, cfg->ctl_path, err) < 0)
        goto fail;
    ck_trustcache_seal(tc);
    *out = tc;
    return 0;
fail:
    ck_trustcache_free(tc);
    return -1;
}
