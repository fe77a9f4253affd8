/* Checks that protect the fleet: conditions CUCM admins learn about from
 * stranded phones, reported before the phones find them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/x509v3.h>

#include "ctlkit/bytes.h"
#include "ctlkit/fileio.h"
#include "ctlkit/params.h"
#include "ctlkit/tls_policy.h"
#include "ctlkit/x509.h"
#include "internal.h"

typedef struct list {
    char **v;
    size_t n, cap;
} list;

static void add(list *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(list *l, const char *fmt, ...)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **p = realloc(l->v, cap * sizeof *p);
        if (!p)
            return;
        l->v = p;
        l->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&l->v[l->n], fmt, ap) >= 0)
        l->n++;
    va_end(ap);
}

/* A CTL signed by a USB eToken: its signer certificate was issued by a CA
 * (Cisco Manufacturing CA), or the cluster trusts it as Phone-SAST-trust.
 * Node certificates are self-signed. */
static bool etoken_signed(ck_cluster *c, const ck_tl_file *f, const char *serial)
{
    X509 *signer = ck_tl_signer_cert(f, NULL);
    bool token = signer && X509_check_issued(signer, signer) != X509_V_OK;
    X509_free(signer);
    ck_cert_row *trust = NULL;
    size_t nt = 0;
    if (!token && ck_store_list_trust(c->store, &trust, &nt, NULL) == 0) {
        for (size_t i = 0; i < nt && !token; i++)
            token = strcmp(trust[i].unit, CK_TRUST_PHONE_SAST) == 0 && strcasecmp(trust[i].serial, serial) == 0;
        ck_cert_rows_free(trust, nt);
    }
    return token;
}

/* In eToken mode the CTL Client wrote the node records: each CCM+TFTP and
 * CAPF record must still be the node's current certificate. */
static void check_etoken_records(ck_cluster *c, const char *node, const ck_tl_file *f, list *out)
{
    ck_cert_row *certs = NULL;
    size_t nc = 0;
    if (ck_store_list_certs(c->store, &certs, &nc, NULL) < 0)
        return;
    for (size_t k = 0; k < nc; k++) {
        bool cm = strcmp(certs[k].unit, CK_UNIT_CALLMANAGER) == 0, capf = strcmp(certs[k].unit, CK_UNIT_CAPF) == 0;
        if (!cm && !capf)
            continue;
        bool found = false;
        for (size_t i = 0; i < f->n_records && !found; i++) {
            const ck_tl_record *r = &f->records[i];
            char serial[200];
            ck_hex(r->serial.p, r->serial.n, 0, true, serial, sizeof serial);
            found = r->function == (cm ? CK_ROLE_CCM_TFTP : CK_ROLE_CAPF) && strcasecmp(serial, certs[k].serial) == 0;
        }
        if (!found)
            add(out, "%s: the eToken-signed CTL lacks %s's current %s certificate (serial %s); run the CTL Client "
                     "(Update CTL File) with the tokens, or 'utils ctl update CTLFile' to go tokenless",
                node, certs[k].node, certs[k].unit, certs[k].serial);
    }
    ck_cert_rows_free(certs, nc);
}

/* Every Security Token record (a SAST certificate issued by a CA; the
 * nodes' own SAST certificates are self-signed) must chain to an eToken
 * issuer the cluster trusts: whoever holds a token from another CA can
 * sign CTLs the phones install. */
static void check_token_issuers(ck_cluster *c, const char *node, const ck_tl_file *f, list *out)
{
    for (size_t i = 0; i < f->n_records; i++) {
        const ck_tl_record *r = &f->records[i];
        if (!r->has_function || r->function != CK_ROLE_SAST || !r->cert.p)
            continue;
        X509 *x = ck_cert_from_der(r->cert.p, r->cert.n, NULL);
        if (!x)
            continue;
        char why[384];
        ck_err err = {0};
        int rc = X509_check_issued(x, x) == X509_V_OK ? 0 : ck__etoken_issuer_verify(c, x, why, sizeof why, &err);
        if (rc != 0) {
            char *subj = ck_name_cucm(X509_get_subject_name(x)), *iss = ck_name_cucm(X509_get_issuer_name(x));
            add(out, "%s: the CTL's Security Token record #%zu (%s, issued by %s) is not a trusted eToken: %s",
                node, i + 1, subj ? subj : "?", iss ? iss : "?", rc < 0 ? err.msg : why);
            free(subj);
            free(iss);
        }
        X509_free(x);
    }
}

/* Is the CTL's signer the publisher's current signing certificate? (An
 * eToken-signed CTL is checked for stale node records instead.) */
static void check_signer(ck_cluster *c, const char *node, const ck_tl_file *f, list *out)
{
    ck_node pub;
    char want_unit[32] = CK_UNIT_CALLMANAGER;
    ck_store_get_param(c->store, CK_PARAM_SIGNER, want_unit, sizeof want_unit, NULL);
    if (ck_store_publisher(c->store, &pub, NULL) < 0)
        return;
    ck_cert_row row;
    if (ck_store_get_cert(c->store, pub.name, want_unit, &row, NULL) < 0)
        return;
    char serial[200];
    ck_hex(f->signer_serial.p, f->signer_serial.n, 0, true, serial, sizeof serial);
    if (etoken_signed(c, f, serial))
        check_etoken_records(c, node, f, out);
    else if (strcasecmp(serial, row.serial) != 0)
        add(out, "%s: the CTL is signed by serial %s, not by the publisher's current %s certificate (serial %s); "
                 "run 'utils ctl update CTLFile' on the publisher",
            node, serial, want_unit, row.serial);
    ck_cert_row_clear(&row);
}

static void check_node(ck_cluster *c, const ck_node *n, bool mixed, list *out)
{
    char path[PATH_MAX];
    ck_cluster_node_path(c, n->name, "tftp", CK_CTL_NAME, path, sizeof path);
    uint8_t *raw = NULL;
    size_t len = 0;
    ck_err err = {0};
    if (ck_read_file(path, CK_TL_MAX_PARSE, &raw, &len, &err) < 0) {
        if (err.code != CK_ENOTFOUND)
            add(out, "%s: cannot read %s: %s", n->name, CK_CTL_NAME, err.msg);
        else if (mixed)
            add(out, "%s: no CTL file while the cluster is in mixed mode; run 'utils ctl update CTLFile' on the "
                     "publisher",
                n->name);
    } else {
        if (!mixed)
            add(out, "%s: a CTL file is present while the cluster is in non-secure mode (the cluster was in mixed "
                     "mode once); once phones have taken it, delete it on each node with 'file delete tftp "
                     "CTLFile.tlv'",
                n->name);
        ck_file_row pub;
        if (ck_store_get_file(c->store, "", CK_CTL_NAME, &pub, NULL) == 0) {
            char md5[33] = "?", sha1[41];
            if (ck_cluster_compare_copy(raw, len, &pub) == CK_COPY_DIFFERS) {
                ck_store_digests(raw, len, md5, sha1);
                add(out, "%s: its CTLFile.tlv differs from the cluster's published CTL (version %lld, MD5 %s); "
                         "this copy's MD5 is %s",
                    n->name, (long long)pub.version, pub.md5, md5);
            }
            ck_file_row_clear(&pub);
        }
        ck_tl_file *f = NULL;
        if (ck_tl_parse(raw, len, &f, &err) < 0)
            add(out, "%s: its CTLFile.tlv does not parse: %s", n->name, err.msg);
        else if (ck_tl_verify(f, &err) < 0)
            add(out, "%s: its CTLFile.tlv does not verify: %s", n->name, err.msg);
        else {
            check_token_issuers(c, n->name, f, out);
            if (mixed)
                check_signer(c, n->name, f, out);
        }
        ck_tl_free(f);
        free(raw);
    }
    ck_file_row itl;
    ck_cluster_node_path(c, n->name, "tftp", CK_ITL_NAME, path, sizeof path);
    if (ck_read_file(path, CK_TL_MAX_PARSE, &raw, &len, &err) < 0) {
        add(out, "%s: no ITL file in its TFTP directory; restart Cisco Tftp on it", n->name);
    } else {
        if (ck_store_get_file(c->store, n->name, CK_ITL_NAME, &itl, NULL) == 0) {
            if (itl.len != len || memcmp(itl.data, raw, len) != 0)
                add(out, "%s: its ITLFile.tlv differs from the published ITL", n->name);
            ck_file_row_clear(&itl);
        }
        free(raw);
    }
}

/* The phone models known to speak nothing newer than TLS 1.1 (docs/phones.md). */
static const char tls10_models[] = "7940, 7945, 7960, 7965, 7975 (TLS 1.0 only)";

bool ck_cluster_tls_warning(ck_cluster *c, char *out, size_t outsz)
{
    int min = ck_cluster_tls_min_version(c);
    if (min >= TLS1_2_VERSION)
        return false;
    snprintf(out, outsz,
             "the TLS minimum version is %s: TVS and the CTL Provider accept TLS %s and its legacy suites "
             "(RSA key exchange, CBC-SHA); the known phone models that need it: %s. "
             "Once they are gone: set tls min-version 1.2",
             ck_tls_version_name(min), ck_tls_version_name(min), tls10_models);
    return true;
}

int ck_cluster_checks(ck_cluster *c, const char *node, char ***warnings, size_t *n, ck_err *err)
{
    ck_node *nodes = NULL;
    size_t nn = 0;
    list out = {0};
    if (ck_store_list_nodes(c->store, &nodes, &nn, err) < 0)
        return -1;
    bool mixed = ck_cluster_security_mode(c);
    for (size_t i = 0; i < nn; i++)
        /* Another host's folder is checked there (its daemon keeps it). */
        if ((!node || strcmp(nodes[i].name, node) == 0) && ck_cluster_node_here(c, nodes[i].name))
            check_node(c, &nodes[i], mixed, &out);
    free(nodes);
    *warnings = out.v;
    *n = out.n;
    return 0;
}
