/* Certificate regeneration and trust-store changes, with the warnings an
 * admin needs before phones find out the hard way. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/x509v3.h>

#include "ctlkit/fileio.h"
#include "ctlkit/params.h"
#include "ctlkit/x509.h"
#include "cert_facts.h"
#include "internal.h"

static const char *const trust_purposes[] = {CK_TRUST_CALLMANAGER, CK_TRUST_PHONE_SAST, "Phone-trust", "CAPF-trust",
                                             "TVS-trust", CK_TRUST_ETOKEN_ISSUER, NULL};

const char *ck_cluster_trust_purpose(const char *p)
{
    for (const char *const *t = trust_purposes; *t; t++)
        if (strcasecmp(*t, p) == 0)
            return *t;
    return NULL;
}

const char *const ck_units[CK_N_UNITS] = {CK_UNIT_CALLMANAGER, CK_UNIT_TVS, CK_UNIT_CAPF, CK_UNIT_ITLRECOVERY};

const char *ck_cluster_unit_name(const char *u)
{
    for (size_t i = 0; i < CK_N_UNITS; i++)
        if (strcasecmp(ck_units[i], u) == 0)
            return ck_units[i];
    return NULL;
}

/* Reads the subject fields of the current certificate so that a
 * regenerated one keeps them (CUCM keeps the subject, changes the key). */
static char *field(X509_NAME *name, int nid)
{
    int i = X509_NAME_get_index_by_NID(name, nid, -1);
    unsigned char *u = NULL;
    if (i < 0 || ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i))) < 0)
        return NULL;
    char *s = strdup((char *)u);
    OPENSSL_free(u);
    return s;
}

/* True when node's OTHER certificate was regenerated within ttl: its row
 * changed after the node came to be and less than ttl ago. A node came to
 * be when the cluster was created (init stamps every certificate with one
 * time, the earliest changed_at of all) or, when it joined later, at its
 * join (the node row's `joined`, the stamp of its first certificates). A
 * regeneration within the second of init or join is taken for it. */
static bool regenerated_recently(ck_cluster *c, const ck_node *node_row, const char *other, int64_t ttl)
{
    const char *node = node_row->name;
    ck_cert_row *rows = NULL;
    size_t n = 0;
    if (ck_store_list_certs(c->store, &rows, &n, NULL) < 0)
        return false;
    int64_t created = INT64_MAX, changed = 0;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].changed_at < created)
            created = rows[i].changed_at;
        if (strcmp(rows[i].node, node) == 0 && strcmp(rows[i].unit, other) == 0)
            changed = rows[i].changed_at;
    }
    ck_cert_rows_free(rows, n);
    int64_t born = node_row->joined > created ? node_row->joined : created;
    return changed > born && (int64_t)time(NULL) - changed < ttl;
}

int ck_cluster_regen_cert(ck_cluster *c, const char *node, const char *unit_arg, const char *digest, char *warning,
                          size_t warnsz, ck_err *err)
{
    const char *unit = ck_cluster_unit_name(unit_arg);
    warning[0] = '\0';
    if (!unit)
        return ck_fail(err, CK_EINVAL, "unknown certificate unit '%s' (CallManager, TVS, CAPF, ITLRecovery)", unit_arg);
    if (ck_cluster_digest_problem(digest))
        return ck_fail(err, CK_EINVAL, "%s, not '%s'", ck_cluster_digest_problem(digest), digest);
    ck_node n;
    X509 *old = NULL;
    if (ck_store_get_node(c->store, node, &n, err) < 0 || ck__load_unit(c, node, unit, &old, NULL, err) < 0)
        return -1;
    X509_NAME *name = X509_get_subject_name(old);
    char *ou = field(name, NID_organizationalUnitName), *o = field(name, NID_organizationName),
         *l = field(name, NID_localityName), *st = field(name, NID_stateOrProvinceName),
         *country = field(name, NID_countryName);
    int bits = ck_rsa_bits(X509_get0_pubkey(old));
    X509_free(old);

    char ttl_s[32] = "86400";
    ck_store_get_param(c->store, CK_PARAM_TVS_TTL, ttl_s, sizeof ttl_s, NULL);
    int64_t ttl = atoll(ttl_s);
    const char *pair = strcmp(unit, CK_UNIT_CALLMANAGER) == 0 ? CK_UNIT_TVS
                       : strcmp(unit, CK_UNIT_TVS) == 0        ? CK_UNIT_CALLMANAGER
                                                               : NULL;
    bool trap = pair && regenerated_recently(c, &n, pair, ttl);

    /* The key file is replaced before the ITL is signed with it; keep the
     * old one so that a failure later puts it back with the old row. */
    char key_path[PATH_MAX];
    ck_cluster_key_path(c, node, unit, key_path, sizeof key_path);
    uint8_t *old_key = NULL;
    size_t old_key_len = 0;
    bool ok = ck__op_begin(c, err) == 0 && ck_read_file(key_path, 1u << 20, &old_key, &old_key_len, err) == 0 &&
              ck__key_backup_save(c, node, unit, old_key, old_key_len, err) == 0;
    if (ok)
        ok = ck__make_unit(c, &n, unit, ou, o, l, st, country, bits >= 2048 ? bits : 2048, digest, 0, err) == 0 &&
             ck__rebuild_itl_locked(c, node, err) == 0 && ck__audit(c, err, node, "set cert regen %s", unit) == 0;
    int rc = ok ? ck__op_end(c, true, err) : (c->lock_fd >= 0 ? ck__op_end(c, false, err) : -1);
    if (rc < 0 && old_key) {
        ck_err put_back = {0};
        if (ck_write_file_atomic(key_path, old_key, old_key_len, 0600, &put_back) < 0 && err) {
            /* The row is the old one again, the key file is not: say so. */
            size_t used = strlen(err->msg);
            snprintf(err->msg + used, sizeof err->msg - used, "; the old key could not be put back: %s",
                     put_back.msg);
        }
    }
    /* Committed, or put back above: the kept copy has served its turn. */
    if (old_key)
        ck__key_backup_drop(c, node, unit);
    if (old_key) {
        OPENSSL_cleanse(old_key, old_key_len);
        free(old_key);
    }
    free(ou);
    free(o);
    free(l);
    free(st);
    free(country);
    if (rc < 0)
        return -1;

    ck_cert_row row;
    char serial[80] = "?";
    if (ck_store_get_cert(c->store, node, unit, &row, NULL) == 0) {
        snprintf(serial, sizeof serial, "%s", row.serial);
        ck_cert_row_clear(&row);
    }
    bool mixed = ck_cluster_security_mode(c);
    size_t w = 0;
#define SAY(...) (w += (size_t)snprintf(warning + w, w < warnsz ? warnsz - w : 0, __VA_ARGS__))
    SAY("The %s certificate of %s was regenerated (new serial %s); %s's ITL was rebuilt.\n", unit, node, serial,
        node);
    if (strcmp(unit, CK_UNIT_CALLMANAGER) == 0 && n.publisher && mixed)
        SAY("WARNING: the CTL is still signed by the old CallManager certificate. Run 'utils ctl update CTLFile' now, "
            "then restart Cisco Tftp on every node.\n"
            "Phones with Security by Default will take the new CTL after asking TVS; phones without it (7940, 7960, "
            "Cisco Jabber) will reject it until their CTL is deleted by hand.\n");
    else if (strcmp(unit, CK_UNIT_CALLMANAGER) == 0 || strcmp(unit, CK_UNIT_TVS) == 0 ||
             strcmp(unit, CK_UNIT_CAPF) == 0)
        SAY("Restart Cisco Tftp on every node (utils service restart \"Cisco Tftp\") so that every ITL carries the "
            "new certificate%s.\n",
            mixed && strcmp(unit, CK_UNIT_TVS) != 0 ? ", then run 'utils ctl update CTLFile' on the publisher" : "");
    if (trap)
        SAY("WARNING: the CallManager and TVS certificates of %s have both changed within one TVS cache TTL (%s s). "
            "Phones with Security by Default cannot verify the new trust lists through a TVS they trust and will be "
            "stranded until their CTL/ITL is deleted by hand.\n",
            node, ttl_s);
#undef SAY
    return 0;
}

int ck_cluster_import_trust(ck_cluster *c, const char *node, const char *purpose_arg, const char *pem,
                            const char *description, ck_err *err)
{
    const char *purpose = ck_cluster_trust_purpose(purpose_arg);
    if (!purpose)
        return ck_fail(err, CK_EINVAL, "unknown trust store '%s' (" CK_TRUST_PURPOSE_NAMES ")", purpose_arg);
    X509 *cert = NULL;
    if (ck_load_pem_mem(pem, strlen(pem), &cert, NULL, false, err) < 0)
        return -1;
    /* An issuer store of token certificates would make each token its own
     * anchor; it holds the CAs that issue tokens. */
    if (strcmp(purpose, CK_TRUST_ETOKEN_ISSUER) == 0 && X509_check_ca(cert) == 0) {
        X509_free(cert);
        return ck_fail(err, CK_EINVAL,
                       "the certificate is not a CA certificate; %s holds the CAs that issue eTokens (Cisco "
                       "Manufacturing CA), not the tokens' own certificates (those go to %s)",
                       CK_TRUST_ETOKEN_ISSUER, CK_TRUST_PHONE_SAST);
    }
    char *subject = ck_name_cucm(X509_get_subject_name(cert));
    char *clean = ck_cert_to_pem(cert); /* stores the certificate only, never a key that came along */
    X509_free(cert);
    bool ok = subject && clean && ck__op_begin(c, err) == 0;
    ck_cert_row row = {0};
    if (ok && (ok = ck_cert_row_from_pem(clean, "", purpose, &row, err) == 0))
        if (description && !(row.description = strdup(description)))
            ok = ck_fail(err, CK_ENOMEM, "out of memory") == 0;
    if (ok)
        ok = ck_store_add_trust(c->store, &row, err) == 0 &&
             ck__audit(c, err, node, "set cert import trust %s %s", purpose, subject) == 0;
    ck_cert_row_clear(&row);
    int rc = ok ? ck__op_end(c, true, err) : (c->lock_fd >= 0 ? ck__op_end(c, false, err) : -1);
    if (!subject || !clean)
        rc = ck_fail(err, CK_ENOMEM, "out of memory");
    free(subject);
    free(clean);
    return rc;
}

int ck_cluster_delete_trust(ck_cluster *c, const char *node, const char *purpose_arg, const char *serial,
                            int *deleted, ck_err *err)
{
    const char *purpose = ck_cluster_trust_purpose(purpose_arg);
    if (!purpose)
        return ck_fail(err, CK_EINVAL, "unknown trust store '%s'", purpose_arg);
    if (ck__op_begin(c, err) < 0)
        return -1;
    bool ok = ck_store_delete_trust(c->store, purpose, serial, deleted, err) == 0 &&
              ck__audit(c, err, node, "set cert delete trust %s %s (%d deleted)", purpose, serial, *deleted) == 0;
    return ck__op_end(c, ok, err);
}
