/* What goes into the cluster's CTL and each node's ITL
 * (docs/trustlist-format.md, "What goes into each file"). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/params.h"
#include "ctlkit/x509.h"
#include "internal.h"

#define MAX_ENTRIES 64

typedef struct entry_set {
    ck_tl_entry e[MAX_ENTRIES];
    X509 *owned[MAX_ENTRIES];
    char dns[MAX_ENTRIES][64]; /* the records' names, owned: nodes are looked up and freed */
    size_t n, n_owned;
} entry_set;

static void set_free(entry_set *s)
{
    for (size_t i = 0; i < s->n_owned; i++)
        X509_free(s->owned[i]);
}

static int add_cert(entry_set *s, ck_cluster *c, const ck_node *n, const char *unit, unsigned role,
                    const char *dns, ck_err *err)
{
    if (s->n == MAX_ENTRIES)
        return ck_fail(err, CK_ELIMIT, "too many records");
    X509 *cert = NULL;
    if (ck__load_unit(c, n->name, unit, &cert, NULL, err) < 0)
        return -1;
    s->owned[s->n_owned++] = cert;
    ck_tl_entry *e = &s->e[s->n++];
    snprintf(s->dns[s->n - 1], sizeof s->dns[0], "%s", dns ? dns : n->name);
    *e = (ck_tl_entry){.role = role, .cert = cert, .dns_name = s->dns[s->n - 1]};
    inet_pton(AF_INET, n->ip, e->ip);
    return 0;
}

static int add_blank(entry_set *s, const ck_node *n, unsigned role)
{
    ck_tl_entry *e = &s->e[s->n++];
    snprintf(s->dns[s->n - 1], sizeof s->dns[0], "%s", n->name);
    *e = (ck_tl_entry){.role = role, .cert = NULL, .dns_name = s->dns[s->n - 1]};
    inet_pton(AF_INET, n->ip, e->ip);
    return 0;
}

static bool itlrecovery_signs(ck_cluster *c)
{
    char v[32] = "";
    ck_store_get_param(c->store, CK_PARAM_SIGNER, v, sizeof v, NULL);
    return strcmp(v, CK_UNIT_ITLRECOVERY) == 0;
}

static int sign_and_build(ck_cluster *c, const char *signer_node, const char *signer_unit, entry_set *s,
                          const char *filename, uint8_t **out, size_t *len, ck_err *err)
{
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    if (ck__load_unit(c, signer_node, signer_unit, &cert, &key, err) < 0)
        return -1;
    ck_tl_signer signer;
    ck_tl_signer_key(&signer, cert, key);
    /* CUCM 10.5 writes SHA-1 trust lists; older phones verify nothing else. */
    ck_tl_build_opts o = {.filename = filename, .digest_alg = CK_DIGEST_SHA1};
    int rc = ck_tl_build(s->e, s->n, &signer, &o, out, len, err);
    X509_free(cert);
    EVP_PKEY_free(key); /* OpenSSL wipes key material when freeing */
    return rc;
}

int ck__build_ctl(ck_cluster *c, bool mixed, uint8_t **out, size_t *len, ck_err *err)
{
    ck_node pub, *nodes = NULL;
    size_t nn = 0;
    entry_set s = {0};
    int rc = -1;
    bool recovery = itlrecovery_signs(c);
    if (ck_store_publisher(c->store, &pub, err) < 0 || ck_store_list_nodes(c->store, &nodes, &nn, err) < 0)
        return -1;
    if (recovery && add_cert(&s, c, &pub, CK_UNIT_ITLRECOVERY, CK_ROLE_SAST, NULL, err) < 0)
        goto out;
    if (add_cert(&s, c, &pub, CK_UNIT_CALLMANAGER, CK_ROLE_SAST, NULL, err) < 0)
        goto out;
    if (mixed) {
        /* Scenario 1: publisher CallManager as SAST and as CCM+TFTP, CAPF,
         * then every subscriber's CallManager as CCM+TFTP. */
        if (add_cert(&s, c, &pub, CK_UNIT_CALLMANAGER, CK_ROLE_CCM_TFTP, NULL, err) < 0 ||
            add_cert(&s, c, &pub, CK_UNIT_CAPF, CK_ROLE_CAPF, pub.name, err) < 0)
            goto out;
        for (size_t i = 0; i < nn; i++)
            if (!nodes[i].publisher && ck__joined(c, nodes[i].name) &&
                add_cert(&s, c, &nodes[i], CK_UNIT_CALLMANAGER, CK_ROLE_CCM_TFTP, NULL, err) < 0)
                goto out;
    } else {
        /* Non-secure: the signer stays (phones that hold the old CTL must be
         * able to verify this one), every node is a blank record. */
        for (size_t i = 0; i < nn; i++)
            add_blank(&s, &nodes[i], CK_ROLE_CCM_TFTP);
    }
    rc = sign_and_build(c, pub.name, recovery ? CK_UNIT_ITLRECOVERY : CK_UNIT_CALLMANAGER, &s, CK_CTL_NAME, out, len,
                        err);
out:
    set_free(&s);
    free(nodes);
    return rc;
}

/* The records of node's ITL; *signer and *signer_unit get who signs.
 * recovery_node: NULL, signed with node's own CallManager key; "" the
 * publisher's ITLRecovery key; a node's name, that node's ITLRecovery key
 * (`utils itl reset localkey|remotekey`). */
static int itl_entries(ck_cluster *c, const char *node, const char *recovery_node, entry_set *s, ck_node *signer,
                       const char **signer_unit, ck_err *err)
{
    ck_node self, pub, keyn, *nodes = NULL;
    size_t nn = 0;
    int rc = -1;
    bool recovery = recovery_node != NULL;
    *signer_unit = recovery ? CK_UNIT_ITLRECOVERY : CK_UNIT_CALLMANAGER;
    if (ck_store_get_node(c->store, node, &self, err) < 0 || ck_store_publisher(c->store, &pub, err) < 0 ||
        ck_store_list_nodes(c->store, &nodes, &nn, err) < 0)
        return -1;
    keyn = pub;
    if (recovery && *recovery_node && ck_store_get_node(c->store, recovery_node, &keyn, err) < 0)
        goto out;
    *signer = recovery ? keyn : self;
    if (recovery && add_cert(s, c, &keyn, CK_UNIT_ITLRECOVERY, CK_ROLE_SAST, NULL, err) < 0)
        goto out;
    if (add_cert(s, c, &self, CK_UNIT_CALLMANAGER, CK_ROLE_SAST, NULL, err) < 0 ||
        add_cert(s, c, &self, CK_UNIT_CALLMANAGER, CK_ROLE_CCM_TFTP, NULL, err) < 0)
        goto out;
    /* Across hosts a subscriber has no certificates until it joins. */
    for (size_t i = 0; i < nn; i++)
        if (ck__joined(c, nodes[i].name) && add_cert(s, c, &nodes[i], CK_UNIT_TVS, CK_ROLE_TVS, NULL, err) < 0)
            goto out;
    /* As CUCM's ITL: no other node's CallManager certificate. Phones reach
     * those through TVS, and 21 nodes' worth would not fit in 64 KiB. */
    if (add_cert(s, c, &pub, CK_UNIT_CAPF, CK_ROLE_CAPF, pub.name, err) < 0)
        goto out;
    rc = 0;
out:
    free(nodes);
    return rc;
}

int ck__build_itl(ck_cluster *c, const char *node, uint8_t **out, size_t *len, ck_err *err)
{
    return ck__build_itl_signed(c, node, itlrecovery_signs(c) ? "" : NULL, out, len, err);
}

int ck__build_itl_signed(ck_cluster *c, const char *node, const char *recovery_node, uint8_t **out, size_t *len,
                         ck_err *err)
{
    entry_set s = {0};
    ck_node signer;
    const char *unit;
    int rc = itl_entries(c, node, recovery_node, &s, &signer, &unit, err);
    if (rc == 0)
        rc = sign_and_build(c, signer.name, unit, &s, CK_ITL_NAME, out, len, err);
    set_free(&s);
    return rc;
}

/* Does the record hold the entry's certificate in the entry's role? */
static bool same_record(const ck_tl_record *r, const ck_tl_entry *e)
{
    unsigned char *der = NULL;
    int n = i2d_X509(e->cert, &der);
    bool same = n > 0 && r->has_function && r->function == e->role && r->cert.p && r->cert.n == (size_t)n &&
                memcmp(r->cert.p, der, (size_t)n) == 0;
    OPENSSL_free(der);
    return same;
}

/* Is the record a SAST record holding one of the cluster's ITLRecovery
 * certificates (the signer of a reset ITL)? */
static bool is_itlrecovery_record(ck_cluster *c, const ck_tl_record *r)
{
    if (!r->has_function || r->function != CK_ROLE_SAST || !r->cert.p)
        return false;
    ck_cert_row *rows = NULL;
    size_t n = 0;
    bool found = false;
    if (ck_store_list_certs(c->store, &rows, &n, NULL) < 0)
        return false;
    for (size_t i = 0; !found && i < n; i++) {
        if (strcmp(rows[i].unit, CK_UNIT_ITLRECOVERY) != 0)
            continue;
        X509 *x = NULL;
        if (ck_load_pem_mem(rows[i].pem, strlen(rows[i].pem), &x, NULL, false, NULL) < 0)
            continue;
        unsigned char *der = NULL;
        int len = i2d_X509(x, &der);
        found = len > 0 && r->cert.n == (size_t)len && memcmp(r->cert.p, der, (size_t)len) == 0;
        OPENSSL_free(der);
        X509_free(x);
    }
    ck_cert_rows_free(rows, n);
    return found;
}

int ck_cluster_itl_stale(ck_cluster *c, const char *node, bool *stale, ck_err *err)
{
    *stale = true;
    entry_set s = {0};
    ck_node signer;
    const char *unit;
    ck_file_row row = {0};
    ck_err e2 = {0};
    if (itl_entries(c, node, itlrecovery_signs(c) ? "" : NULL, &s, &signer, &unit, err) < 0) {
        set_free(&s);
        return -1;
    }
    int rc = 0;
    if (ck_store_get_file(c->store, node, CK_ITL_NAME, &row, &e2) < 0) {
        if (e2.code != CK_ENOTFOUND)
            rc = (*err = e2, -1);
        set_free(&s);
        return rc;
    }
    ck_tl_file *f = NULL;
    if (ck_tl_parse(row.data, row.len, &f, NULL) == 0) {
        /* An ITL that `utils itl reset` signed carries an ITLRecovery SAST
         * record first and stays until the node's TFTP restart: it is
         * current as long as the rest is. */
        size_t skip = f->n_records == s.n + 1 && is_itlrecovery_record(c, &f->records[0]) ? 1 : 0;
        if (f->n_records == s.n + skip) {
            bool same = true;
            for (size_t i = 0; same && i < s.n; i++)
                same = same_record(&f->records[i + skip], &s.e[i]);
            *stale = !same;
        }
    }
    ck_tl_free(f);
    ck_file_row_clear(&row);
    set_free(&s);
    return rc;
}

int ck_cluster_itl_size(const ck_cluster_init_opts *o, size_t *itl_len, ck_err *err)
{
    /* The longest names make the largest records: every certificate here
     * gets the longest common name and usages a unit of this cluster can
     * have. */
    const char *longest = "";
    for (size_t i = 0; i < o->n_nodes; i++)
        if (strlen(o->nodes[i].name) > strlen(longest))
            longest = o->nodes[i].name;
    char cn[160];
    snprintf(cn, sizeof cn, "ITLRECOVERY_%s", longest);
    int bits = o->rsa_bits ? o->rsa_bits : 2048;
    ck_cert_params p = {.cn = cn, .ou = o->ou, .o = o->o, .l = o->l, .st = o->st, .c = o->c, .rsa_bits = bits,
                        .digest = "sha256", .days = 1825, .ext_key_usage = CK_EKU_CALLMANAGER};
    X509 *cert = NULL, *rcert = NULL;
    EVP_PKEY *key = NULL, *rkey = NULL;
    ck_tl_entry *e = NULL;
    int rc = -1;
    /* Two SAST records must be two certificates: a second one stands for
     * ITLRecovery. */
    if (ck_cert_generate(&p, &cert, &key, err) < 0 || ck_cert_generate(&p, &rcert, &rkey, err) < 0)
        goto out;
    /* The largest ITL ck__build_itl can make: ITLRecovery and CallManager as
     * SAST, CallManager as CCM+TFTP, every node's TVS, the CAPF. */
    size_t n = 0, max = o->n_nodes + 4;
    e = calloc(max, sizeof *e);
    if (!e) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        goto out;
    }
    e[n++] = (ck_tl_entry){.role = CK_ROLE_SAST, .cert = rcert, .dns_name = longest};
    e[n++] = (ck_tl_entry){.role = CK_ROLE_SAST, .cert = cert, .dns_name = longest};
    e[n++] = (ck_tl_entry){.role = CK_ROLE_CCM_TFTP, .cert = cert, .dns_name = longest};
    for (size_t i = 0; i < o->n_nodes; i++)
        e[n++] = (ck_tl_entry){.role = CK_ROLE_TVS, .cert = cert, .dns_name = longest};
    e[n++] = (ck_tl_entry){.role = CK_ROLE_CAPF, .cert = cert, .dns_name = longest};
    ck_tl_signer signer;
    ck_tl_signer_key(&signer, cert, key);
    ck_tl_build_opts bo = {.filename = CK_ITL_NAME, .digest_alg = CK_DIGEST_SHA1};
    uint8_t *itl = NULL;
    rc = ck_tl_build(e, n, &signer, &bo, &itl, itl_len, err);
    if (rc < 0)
        ck_err_prefix(err, "%zu nodes with %d-bit keys", o->n_nodes, bits);
    free(itl);
out:
    free(e);
    X509_free(cert);
    X509_free(rcert);
    EVP_PKEY_free(key);
    EVP_PKEY_free(rkey);
    return rc;
}
