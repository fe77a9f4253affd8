/* `set cert regen` replaces a unit's key file inside its transaction,
 * before the ITL is signed with the new key. A process killed between that
 * write and the commit would leave a node whose key file holds a
 * certificate the store does not have (found by the crash tests, issue 15):
 * TVS and TLS would present a certificate no ITL vouches for. So the old
 * key file is first kept as run/UNIT.key.old and removed after the commit;
 * whoever finds one later (the node's daemon, the next operation, both
 * under the cluster lock) puts it back when the store still holds its
 * certificate, and removes it otherwise. */
#include <errno.h>
#include <limits.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctlkit/fileio.h"
#include "ctlkit/x509.h"
#include "internal.h"


static void backup_path(const ck_cluster *c, const char *node, const char *unit, char *out, size_t outsz)
{
    char file[64];
    snprintf(file, sizeof file, "%s.key.old", unit);
    ck_cluster_node_path(c, node, "run", file, out, outsz);
}

int ck__key_backup_save(ck_cluster *c, const char *node, const char *unit, const uint8_t *data, size_t len,
                        ck_err *err)
{
    char path[PATH_MAX], run[PATH_MAX];
    backup_path(c, node, unit, path, sizeof path);
    ck_cluster_node_path(c, node, "run", NULL, run, sizeof run);
    if (ck_mkdirs(run, 0755, err) < 0 || ck_write_file_atomic(path, data, len, 0600, err) < 0) {
        ck_err_prefix(err, "keeping the old %s key", unit);
        return -1;
    }
    return 0;
}

void ck__key_backup_drop(ck_cluster *c, const char *node, const char *unit)
{
    char path[PATH_MAX];
    backup_path(c, node, unit, path, sizeof path);
    if (unlink(path) == 0)
        ck_fsync_dir_of(path);
}

/* Whether the certificate in the PEM file at path is the store's row. */
static bool holds_row_cert(const char *path, const ck_cert_row *row)
{
    X509 *file_cert = NULL, *row_cert = NULL;
    bool same = ck_load_pem(path, &file_cert, NULL, false, NULL) == 0 &&
                ck_load_pem_mem(row->pem, strlen(row->pem), &row_cert, NULL, false, NULL) == 0 &&
                X509_cmp(file_cert, row_cert) == 0;
    X509_free(file_cert);
    X509_free(row_cert);
    return same;
}

void ck__key_backups_recover(ck_cluster *c, const char *node, ck_materialize_report *r)
{
    for (size_t i = 0; i < CK_N_UNITS; i++) {
        char path[PATH_MAX], key[PATH_MAX];
        backup_path(c, node, ck_units[i], path, sizeof path);
        if (access(path, F_OK) < 0)
            continue;
        ck_cert_row row = {0};
        if (ck_store_get_cert(c->store, node, ck_units[i], &row, NULL) < 0)
            continue; /* the store cannot say: decide on a later pass */
        ck_cluster_key_path(c, node, ck_units[i], key, sizeof key);
        if (holds_row_cert(path, &row) && !holds_row_cert(key, &row)) {
            if (rename(path, key) == 0) {
                ck_fsync_dir_of(key);
                ck__materialize_note(r, "%s key put back: an interrupted set cert regen had replaced it", ck_units[i]);
            }
        } else {
            ck__key_backup_drop(c, node, ck_units[i]);
        }
        ck_cert_row_clear(&row);
    }
}
