/* The standalone TVS's trust cache: the DB certificates and the CTL file
 * given on the command line, handed to the one builder (lib/cluster,
 * ck_trustcache_build) that a cluster node uses too. */
#include <stdlib.h>
#include <string.h>

#include "ctlkit/trustcache.h"
#include "tvs_service.h"

int tvs_cache_build(const tvs_config *cfg, ck_trustcache **out, ck_tc_report *rep, ck_err *err)
{
    ck_tc_db_cert *db = cfg->n_db_certs ? calloc(cfg->n_db_certs, sizeof *db) : NULL;
    if (cfg->n_db_certs && !db)
        return ck_fail(err, CK_ENOMEM, "out of memory building the trust cache");
    for (size_t i = 0; i < cfg->n_db_certs; i++) {
        db[i].path = cfg->db_certs[i].path;
        memcpy(db[i].roles, cfg->db_certs[i].roles, sizeof db[i].roles);
        db[i].n_roles = cfg->db_certs[i].n_roles;
    }
    int rc = ck_trustcache_build(db, cfg->n_db_certs, cfg->ctl_path, out, rep, err);
    free(db);
    return rc;
}
