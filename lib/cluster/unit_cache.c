/* A node's unit certificates and private keys, kept decoded in the
 * cluster handle across operations (internal.h, ck__load_unit).
 *
 * Why: a CAPF worker and a daemon's watcher keep one handle for their
 * life and sign with the same CAPF and CallManager keys over and over;
 * decoding the PEM certificate (~0.13 ms) and the RSA private key (~0.5
 * ms, plus the OpenSSL 3.0 decoder's locks) for every enrolment was most
 * of the CAPF workers' CPU beside the signatures themselves
 * (docs/benchmarks.md, "CAPF").
 *
 * When a kept copy is used: the certificate only while the store's row
 * holds the very PEM text it was decoded from (read on every call: one
 * query, no decode), the key only while that holds and the key file is the
 * same file in the same state (stat: device, inode, size, mtime and ctime
 * to the nanosecond, mode, owner; `set cert regen` and every key write
 * replace the file by rename, a new inode). The comparison is by content,
 * not by the change counter, so that it needs no reasoning about who
 * committed what: a rolled-back regen puts the old row back and the old
 * key file back (a new inode), and both are noticed. A key file that
 * cannot be stat'ed (a daemon that left root: keyhold.c) is never kept
 * here; ck_load_key_pem then hands out the held copy without decoding.
 * The key directory's mode is checked when the key is read, not on every
 * use. Freeing a slot frees the key (OpenSSL wipes its private numbers). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>

#include "ctlkit/x509.h"
#include "internal.h"

static void slot_clear(ck__unit_slot *s)
{
    free(s->pem);
    X509_free(s->cert);
    EVP_PKEY_free(s->key);
    memset(s, 0, sizeof *s);
}

void ck__unit_cache_clear(ck_cluster *c)
{
    for (size_t i = 0; i < CK__UNIT_SLOTS; i++)
        slot_clear(&c->units[i]);
}

static ck__unit_slot *slot_for(ck_cluster *c, const char *node, const char *unit)
{
    ck__unit_slot *empty = NULL;
    for (size_t i = 0; i < CK__UNIT_SLOTS; i++) {
        ck__unit_slot *s = &c->units[i];
        if (s->pem && strcmp(s->node, node) == 0 && strcmp(s->unit, unit) == 0)
            return s;
        if (!s->pem && !empty)
            empty = s;
    }
    /* Full: a handle signs with two or three units; take turns. */
    ck__unit_slot *s = empty ? empty : &c->units[c->unit_next++ % CK__UNIT_SLOTS];
    slot_clear(s);
    return s;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec &&
           a->st_mode == b->st_mode && a->st_uid == b->st_uid;
}

/* Reads the key file at path (flags: ck_load_key_pem's) and checks that it
 * belongs to cert. */
static int read_key(ck_cluster *c, const char *node, const char *unit, const char *path, unsigned flags, X509 *cert,
                    EVP_PKEY **key, ck_err *err)
{
    X509 *key_cert = NULL;
    *key = NULL;
    if (ck_load_key_pem(path, flags, &key_cert, key, NULL, 0, err) < 0) {
        if (err && err->code == CK_ENOTFOUND)
            return ck_fail(err, CK_ENOTFOUND, "%s: the %s private key is not on this node (%s)", node, unit, path);
        return -1;
    }
    X509_free(key_cert);
    c->keys_loaded++;
    /* The key file must belong to the certificate the cluster publishes. */
    if (X509_check_private_key(cert, *key) != 1) {
        EVP_PKEY_free(*key);
        *key = NULL;
        ERR_clear_error();
        return ck_fail(err, CK_ESTATE, "%s: the %s key on disk does not match the certificate in the database", node,
                       unit);
    }
    return 0;
}

int ck__load_unit_flags(ck_cluster *c, const char *node, const char *unit, unsigned key_flags, X509 **cert,
                        EVP_PKEY **key, ck_err *err)
{
    *cert = NULL;
    if (key)
        *key = NULL;
    ck_cert_row row;
    if (ck_store_get_cert(c->store, node, unit, &row, err) < 0)
        return -1;
    ck__unit_slot *s = slot_for(c, node, unit);
    if (!s->pem || strcmp(s->pem, row.pem) != 0) {
        slot_clear(s);
        X509 *x = NULL;
        if (ck_load_pem_mem(row.pem, strlen(row.pem), &x, NULL, false, err) < 0) {
            ck_cert_row_clear(&row);
            return -1;
        }
        s->pem = row.pem; /* taken from the row */
        row.pem = NULL;
        s->cert = x;
        snprintf(s->node, sizeof s->node, "%s", node);
        snprintf(s->unit, sizeof s->unit, "%s", unit);
    }
    ck_cert_row_clear(&row);
    if (key) {
        if (ck__require_here(c, node, "signing", err) < 0)
            return -1;
        char path[PATH_MAX];
        ck_cluster_key_path(c, node, unit, path, sizeof path);
        struct stat st;
        if (stat(path, &st) < 0) {
            /* Not kept: missing (the message below) or held (keyhold.c). */
            if (read_key(c, node, unit, path, key_flags, s->cert, key, err) < 0)
                return -1;
        } else {
            if (!s->key || s->key_flags != key_flags || !same_file(&st, &s->key_st)) {
                EVP_PKEY_free(s->key);
                s->key = NULL;
                /* Stat'ed before the read: a file replaced in between is
                 * noticed as changed on the next call. */
                if (read_key(c, node, unit, path, key_flags, s->cert, &s->key, err) < 0)
                    return -1;
                s->key_st = st;
                s->key_flags = key_flags;
            }
            if (EVP_PKEY_up_ref(s->key) != 1)
                return ck_fail(err, CK_ECRYPTO, "cannot take a reference to the %s key", unit);
            *key = s->key;
        }
    }
    if (X509_up_ref(s->cert) != 1) {
        if (key) {
            EVP_PKEY_free(*key);
            *key = NULL;
        }
        return ck_fail(err, CK_ECRYPTO, "cannot take a reference to the %s certificate", unit);
    }
    *cert = s->cert;
    return 0;
}

int ck__load_unit(ck_cluster *c, const char *node, const char *unit, X509 **cert, EVP_PKEY **key, ck_err *err)
{
    return ck__load_unit_flags(c, node, unit, CK_KEY_PRIVATE_DIR, cert, key, err);
}

size_t ck_cluster_keys_loaded(const ck_cluster *c) { return c->keys_loaded; }
