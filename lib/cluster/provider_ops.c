/* The CTL Provider's decisions about a submitted CTL: check it against the
 * cluster, publish it, and say per node whether the file arrived. */
#include <arpa/inet.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/bytes.h"
#include "ctlkit/fileio.h"
#include "ctlkit/params.h"
#include "ctlkit/provider_ops.h"
#include "ctlkit/x509.h"
#include "internal.h"

/* The cluster's current certificates as DER, for exact comparison. */
typedef struct node_certs {
    ck_node *nodes;
    size_t n;
    uint8_t **ccm;       /* per node: CallManager DER */
    size_t *ccm_len;
    uint8_t *capf;       /* publisher's CAPF DER */
    size_t capf_len;
    ck_cert_row *all;    /* every node's every certificate (TVS, ITLRecovery ...) */
    size_t n_all;
} node_certs;

static void certs_free(node_certs *nc)
{
    for (size_t i = 0; nc->ccm && i < nc->n; i++)
        free(nc->ccm[i]);
    free(nc->ccm);
    free(nc->ccm_len);
    free(nc->capf);
    free(nc->nodes);
    ck_cert_rows_free(nc->all, nc->n_all);
    memset(nc, 0, sizeof *nc);
}

static int unit_der(ck_cluster *c, const char *node, const char *unit, uint8_t **der, size_t *len, ck_err *err)
{
    X509 *x = NULL;
    if (ck__load_unit(c, node, unit, &x, NULL, err) < 0)
        return -1;
    int rc = ck_cert_to_der(x, der, len, err);
    X509_free(x);
    return rc;
}

static int certs_load(ck_cluster *c, node_certs *nc, ck_err *err)
{
    memset(nc, 0, sizeof *nc);
    if (ck_store_list_nodes(c->store, &nc->nodes, &nc->n, err) < 0)
        return -1;
    nc->ccm = calloc(nc->n ? nc->n : 1, sizeof *nc->ccm);
    nc->ccm_len = calloc(nc->n ? nc->n : 1, sizeof *nc->ccm_len);
    if (!nc->ccm || !nc->ccm_len) {
        certs_free(nc);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < nc->n; i++) {
        if (unit_der(c, nc->nodes[i].name, CK_UNIT_CALLMANAGER, &nc->ccm[i], &nc->ccm_len[i], err) < 0)
            goto fail;
        if (nc->nodes[i].publisher && unit_der(c, nc->nodes[i].name, CK_UNIT_CAPF, &nc->capf, &nc->capf_len, err) < 0)
            goto fail;
    }
    if (!nc->capf) {
        ck_fail(err, CK_ESTATE, "the cluster has no publisher with a CAPF certificate");
        goto fail;
    }
    if (ck_store_list_certs(c->store, &nc->all, &nc->n_all, err) < 0)
        goto fail;
    return 0;
fail:
    certs_free(nc);
    return -1;
}

/* The node certificate (any unit) whose DER is der, or NULL. */
static const ck_cert_row *node_cert_of(const node_certs *nc, const ck_span *der)
{
    for (size_t i = 0; i < nc->n_all; i++) {
        X509 *x = NULL;
        if (ck_load_pem_mem(nc->all[i].pem, strlen(nc->all[i].pem), &x, NULL, false, NULL) < 0)
            continue;
        uint8_t *d = NULL;
        size_t dl = 0;
        bool same = ck_cert_to_der(x, &d, &dl, NULL) == 0 && ck_bytes_equal(d, dl, der->p, der->n);
        free(d);
        X509_free(x);
        if (same)
            return &nc->all[i];
    }
    return NULL;
}

static void span_str(const ck_span *s, char *out, size_t outsz)
{
    size_t n = s->p ? (s->n < outsz - 1 ? s->n : outsz - 1) : 0;
    if (n)
        memcpy(out, s->p, n);
    out[n] = '\0';
}

/* A Security Token certificate: parses, was issued by someone else (so it
 * is neither a node's self-signed certificate nor anything the cluster
 * made), and chains to an eToken issuer the cluster trusts: a token from
 * a home-made CA would make its holder a signer every phone accepts. */
static int check_token_record(ck_cluster *c, const node_certs *nc, const ck_tl_record *r, size_t idx, ck_err *err)
{
    char subj[160];
    span_str(&r->subject, subj, sizeof subj);
    if (!r->cert.p)
        return ck_fail(err, CK_EINVAL, "CTL record #%zu (Security Token %s) holds no certificate", idx + 1, subj);
    const ck_cert_row *own = node_cert_of(nc, &r->cert);
    if (own)
        return ck_fail(err, CK_EINVAL,
                       "CTL record #%zu (SAST) is node %s's %s certificate, not a Security Token; a tokenless CTL "
                       "comes from 'utils ctl update CTLFile' on the publisher",
                       idx + 1, own->node, own->unit);
    X509 *x = ck_cert_from_der(r->cert.p, r->cert.n, err);
    if (!x) {
        ck_err_prefix(err, "CTL record #%zu (Security Token %s)", idx + 1, subj);
        return -1;
    }
    bool self = X509_check_issued(x, x) == X509_V_OK;
    if (self) {
        X509_free(x);
        return ck_fail(err, CK_EINVAL,
                       "CTL record #%zu (SAST %s) is self-signed; a Security Token certificate is issued by the "
                       "token manufacturer's CA",
                       idx + 1, subj);
    }
    char why[384];
    int rc = ck__etoken_issuer_verify(c, x, why, sizeof why, err);
    X509_free(x);
    if (rc == 1) {
        char issuer[160];
        span_str(&r->issuer, issuer, sizeof issuer);
        return ck_fail(err, CK_EINVAL,
                       "The Security Token you have inserted is not a trusted eToken: CTL record #%zu (Security "
                       "Token %s, issued by %s): %s",
                       idx + 1, subj, issuer[0] ? issuer : "?", why);
    }
    return rc;
}

/* The address a CTL record gives for node n must be n's: phones reach
 * CallManager and TFTP at the record's address. */
static int check_record_ip(const ck_tl_record *r, size_t idx, const char *role, const ck_node *n, ck_err *err)
{
    char got[INET_ADDRSTRLEN] = "none";
    if (r->has_ip)
        inet_ntop(AF_INET, r->ip, got, sizeof got);
    if (r->has_ip && strcmp(got, n->ip) == 0)
        return 0;
    return ck_fail(err, CK_EINVAL, "CTL record #%zu (%s, host '%s') gives IP address %s, but node %s is at %s", idx + 1,
                   role, n->name, got, n->name, n->ip);
}

/* A record the admin added on the CTL Client's CTL Entries screen (Add
 * TFTP, Add Firewall) names a host outside the cluster, by address, and
 * carries a certificate; a record naming one of the nodes must hold that
 * node's own certificate, so a stale node record is never taken for one. */
static int check_added_record(const node_certs *nc, const ck_tl_record *r, size_t idx, const char *role,
                              const char *dns, ck_err *err)
{
    char ip[INET_ADDRSTRLEN] = "";
    if (r->has_ip)
        inet_ntop(AF_INET, r->ip, ip, sizeof ip);
    for (size_t j = 0; j < nc->n; j++)
        if (strcmp(dns, nc->nodes[j].name) == 0 || strcmp(dns, nc->nodes[j].ip) == 0 ||
            strcmp(ip, nc->nodes[j].ip) == 0)
            return -1; /* the caller's message: a node record that is not current */
    if (!r->has_ip || strcmp(dns, ip) != 0 || !r->cert.p)
        return ck_fail(err, CK_EINVAL,
                       "CTL record #%zu (%s, host '%s') is neither a node of the cluster nor a server added by address "
                       "with its certificate",
                       idx + 1, role, dns);
    X509 *x = ck_cert_from_der(r->cert.p, r->cert.n, NULL);
    if (!x)
        return ck_fail(err, CK_EINVAL, "CTL record #%zu (%s %s): its certificate does not parse", idx + 1, role, dns);
    X509_free(x);
    return 0;
}

/* Two SAST records are two tokens only when their keys differ: the same
 * token's certificate twice (or re-issued for the same key) is one token. */
static bool same_key(const ck_tl_record *a, const ck_tl_record *b)
{
    X509 *x = ck_cert_from_der(a->cert.p, a->cert.n, NULL), *y = ck_cert_from_der(b->cert.p, b->cert.n, NULL);
    bool same = x && y && EVP_PKEY_eq(X509_get0_pubkey(x), X509_get0_pubkey(y)) == 1;
    X509_free(x);
    X509_free(y);
    return same;
}

static bool in_sast_of(const ck_tl_file *f, const ck_span *cert)
{
    for (size_t i = 0; i < f->n_records; i++)
        if (f->records[i].has_function && f->records[i].function == CK_ROLE_SAST &&
            ck_bytes_equal(f->records[i].cert.p, f->records[i].cert.n, cert->p, cert->n))
            return true;
    return false;
}

/* The new CTL's signer must be a Security Token of the CTL the phones hold
 * now, or they cannot verify the new one. "Update" needs a mixed cluster;
 * every action on a mixed cluster with a published CTL is chained to it
 * (otherwise choosing "mixed" again would skip the check). */
static int check_update(ck_cluster *c, const ck_tl_file *f, unsigned action, ck_err *err)
{
    if (!ck_cluster_security_mode(c)) {
        if (action != CK_PV_ACTION_UPDATE)
            return 0;
        return ck_fail(err, CK_ESTATE,
                       "the cluster is in non-secure mode: there is no CTL to update; choose 'Set Cisco Unified "
                       "CallManager Cluster to Mixed Mode'");
    }
    ck_file_row row;
    ck_err e2 = {0};
    if (ck_store_get_file(c->store, "", CK_CTL_NAME, &row, &e2) < 0) {
        if (e2.code == CK_ENOTFOUND)
            return 0; /* scenario 3: CTL deleted on purpose, nothing to chain from */
        *err = e2;
        return -1;
    }
    ck_tl_file *cur = NULL;
    int rc = 0;
    ck_err perr = {0};
    if (ck_tl_parse(row.data, row.len, &cur, &perr) < 0) {
        /* Fail closed: without a readable published CTL nobody can say
         * whether phones would accept the new signer. */
        rc = ck_fail(err, CK_ESTATE,
                     "the published CTL cannot be read (%s); delete it first (file delete tftp CTLFile.tlv on "
                     "the publisher) to start a new one",
                     perr.msg);
    } else if (!in_sast_of(cur, &f->records[f->signer_index].cert)) {
        char signer[160];
        span_str(&cur->signer_name, signer, sizeof signer);
        rc = ck_fail(err, CK_ESTATE,
                     "The Security Token you have inserted does not exist in the CTL File. Please insert a "
                     "Security Token that is in the CTL File (the published CTL is signed by %s)",
                     signer[0] ? signer : "an unknown signer");
    }
    ck_tl_free(cur);
    ck_file_row_clear(&row);
    return rc;
}

int ck_provider_check_ctl(ck_cluster *c, const uint8_t *ctl, size_t len, unsigned action, ck_err *err)
{
    if (!ck_pv_action_name((uint8_t)action))
        return ck_fail(err, CK_EINVAL, "unknown CTL Provider action %u", action);
    ck_tl_file *f = NULL;
    if (ck_tl_parse(ctl, len, &f, err) < 0) {
        ck_err_prefix(err, "the submitted CTL is malformed");
        return -1;
    }
    node_certs nc;
    bool *ccm_seen = NULL;
    int rc = -1;
    char fname[64];
    span_str(&f->filename, fname, sizeof fname);
    if (ck_tl_is_itl(f) || strcmp(fname, CK_CTL_NAME) != 0) {
        ck_fail(err, CK_EINVAL, "the submitted file is not a CTL (its FILENAME is '%s', not %s)", fname, CK_CTL_NAME);
        ck_tl_free(f);
        return -1;
    }
    if (ck_tl_verify(f, err) < 0) {
        ck_err_prefix(err, "the submitted CTL's signature does not verify");
        ck_tl_free(f);
        return -1;
    }
    if (certs_load(c, &nc, err) < 0) {
        ck_tl_free(f);
        return -1;
    }
    ccm_seen = calloc(nc.n ? nc.n : 1, sizeof *ccm_seen);
    if (!ccm_seen) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        goto out;
    }
    size_t sast = 0, capf = 0;
    for (size_t i = 0; i < f->n_records; i++) {
        const ck_tl_record *r = &f->records[i];
        char subj[160], dns[80];
        span_str(&r->subject, subj, sizeof subj);
        span_str(&r->dns_name, dns, sizeof dns);
        unsigned role = r->has_function ? r->function : 0xFFFF;
        if (role == CK_ROLE_SAST) {
            if (check_token_record(c, &nc, r, i, err) < 0)
                goto out;
            sast++;
            for (size_t j = 0; j < i; j++)
                if (f->records[j].has_function && f->records[j].function == CK_ROLE_SAST &&
                    same_key(&f->records[j], r)) {
                    ck_fail(err, CK_EINVAL,
                            "CTL record #%zu (SAST %s) is the same Security Token (same key) as record #%zu; two "
                            "different tokens are needed",
                            i + 1, subj, j + 1);
                    goto out;
                }
        } else if (role == CK_ROLE_CCM_TFTP) {
            size_t k = nc.n;
            for (size_t j = 0; j < nc.n; j++)
                if (r->cert.p && ck_bytes_equal(r->cert.p, r->cert.n, nc.ccm[j], nc.ccm_len[j]))
                    k = j;
            if (k == nc.n) {
                ck_err e2 = {0};
                int added = check_added_record(&nc, r, i, "CCM+TFTP", dns, &e2);
                if (added == 0)
                    continue; /* a firewall (Add Firewall) */
                if (e2.code) {
                    *err = e2;
                    goto out;
                }
                ck_fail(err, CK_EINVAL,
                        "CTL record #%zu (CCM+TFTP %s, host '%s') is not the current CallManager certificate of "
                        "any node; get the cluster's certificates again and rebuild the CTL",
                        i + 1, subj, dns);
                goto out;
            }
            if (ccm_seen[k]) {
                ck_fail(err, CK_EINVAL, "CTL record #%zu: node %s's CallManager certificate appears twice", i + 1,
                        nc.nodes[k].name);
                goto out;
            }
            /* The CTL Client writes the server's IP address as DNSNAME. */
            if (strcmp(dns, nc.nodes[k].name) != 0 && strcmp(dns, nc.nodes[k].ip) != 0) {
                ck_fail(err, CK_EINVAL, "CTL record #%zu names host '%s' but holds node %s's certificate", i + 1, dns,
                        nc.nodes[k].name);
                goto out;
            }
            if (check_record_ip(r, i, "CCM+TFTP", &nc.nodes[k], err) < 0)
                goto out;
            ccm_seen[k] = true;
        } else if (role == CK_ROLE_CAPF) {
            if (!r->cert.p || !ck_bytes_equal(r->cert.p, r->cert.n, nc.capf, nc.capf_len)) {
                ck_fail(err, CK_EINVAL, "CTL record #%zu (CAPF %s) is not the publisher's current CAPF certificate",
                        i + 1, subj);
                goto out;
            }
            if (++capf > 1) {
                ck_fail(err, CK_EINVAL, "CTL record #%zu: the CAPF certificate appears twice", i + 1);
                goto out;
            }
            for (size_t j = 0; j < nc.n; j++)
                if (nc.nodes[j].publisher && check_record_ip(r, i, "CAPF", &nc.nodes[j], err) < 0)
                    goto out;
        } else if (role == CK_ROLE_TFTP) {
            /* an alternate TFTP server (Add TFTP) */
            ck_err e2 = {0};
            if (check_added_record(&nc, r, i, "TFTP", dns, &e2) < 0) {
                if (e2.code)
                    *err = e2;
                else
                    ck_fail(err, CK_EINVAL,
                            "CTL record #%zu (TFTP, host '%s') names a node of the cluster, which the CTL holds as "
                            "CCM+TFTP",
                            i + 1, dns);
                goto out;
            }
        } else {
            const char *name = r->has_function ? ck_role_name(role) : NULL;
            ck_fail(err, CK_EINVAL,
                    "CTL record #%zu has role %s; a CTL from the CTL Client carries only Security Tokens, CAPF, "
                    "CCM+TFTP and TFTP records",
                    i + 1, name ? name : r->has_function ? "unknown" : "none");
            goto out;
        }
    }
    for (size_t j = 0; j < nc.n; j++)
        if (!ccm_seen[j]) {
            ck_fail(err, CK_EINVAL, "the CTL has no CCM+TFTP record for node %s (its current CallManager certificate)",
                    nc.nodes[j].name);
            goto out;
        }
    if (capf == 0) {
        ck_fail(err, CK_EINVAL, "the CTL has no CAPF record");
        goto out;
    }
    if (sast < 2) {
        ck_fail(err, CK_EINVAL, "the CTL holds %zu Security Token%s; at least two are needed (add a second token)", sast,
                sast == 1 ? "" : "s");
        goto out;
    }
    if (check_update(c, f, action, err) < 0)
        goto out;
    rc = 0;
out:
    free(ccm_seen);
    certs_free(&nc);
    ck_tl_free(f);
    return rc;
}

/* Reads each node's TFTP copy back: Passed when it holds exactly the CTL. */
static int report(ck_cluster *c, const uint8_t *ctl, size_t len, ck_pv_result **results, size_t *n_results,
                  ck_err *err)
{
    ck_node *nodes = NULL;
    size_t nn = 0;
    if (ck_store_list_nodes(c->store, &nodes, &nn, err) < 0)
        return -1;
    ck_pv_result *v = calloc(nn ? nn : 1, sizeof *v);
    if (!v) {
        free(nodes);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < nn; i++) {
        snprintf(v[i].name, sizeof v[i].name, "%s", nodes[i].name);
        if (!ck_cluster_node_here(c, nodes[i].name)) {
            /* Committed: that node's daemon materializes it on its host. */
            snprintf(v[i].location, sizeof v[i].location, "%s:tftp/%s (its daemon)", nodes[i].name, CK_CTL_NAME);
            v[i].passed = true;
            continue;
        }
        ck_cluster_node_path(c, nodes[i].name, "tftp", CK_CTL_NAME, v[i].location, sizeof v[i].location);
        uint8_t *disk = NULL;
        size_t dl = 0;
        v[i].passed = ck_read_file(v[i].location, CK_TL_MAX_PARSE, &disk, &dl, NULL) == 0 &&
                      ck_bytes_equal(disk, dl, ctl, len);
        free(disk);
    }
    free(nodes);
    *results = v;
    *n_results = nn;
    return 0;
}

int ck_provider_submit(ck_cluster *c, const char *user, const uint8_t *ctl, size_t len, unsigned action,
                       ck_pv_result **results, size_t *n_results, ck_err *err)
{
    *results = NULL;
    *n_results = 0;
    /* Check, mode, database row and every node's file in one cluster
     * operation (lock + transaction): no certificate can change between
     * the check and the publish, and everything changes together or not at
     * all (the one publish path of the admin commands: files staged
     * before the commit, installed after it). */
    if (ck__op_begin(c, err) < 0)
        return -1;
    ck_node pub;
    if (ck_provider_check_ctl(c, ctl, len, action, err) < 0 || ck_store_publisher(c->store, &pub, err) < 0) {
        CK_IGNORE(ck__op_end(c, false, NULL)); /* a rollback; err says why already */
        return -1;
    }
    /* A crash here, the CTL accepted but nothing written, must change
     * nothing (the open transaction dies with the process). */
    ck__test_kill_point("provider-checked");
    bool ok = true;
    if (action == CK_PV_ACTION_MIXED || action == CK_PV_ACTION_NONSECURE)
        ok = ck_store_set_param(c->store, CK_PARAM_SECURITY_MODE, action == CK_PV_ACTION_MIXED ? "1" : "0", err) == 0;
    ok = ok && ck__publish_ctl_locked(c, ctl, len, err) == 0;
    if (ok) {
        char msg[256];
        snprintf(msg, sizeof msg, "CTL Client via CTL Provider (%s): eToken-signed CTL published (%zu bytes)",
                 ck_pv_action_name((uint8_t)action), len);
        ok = ck_store_audit(c->store, user, pub.name, msg, err) == 0;
    }
    int rc = ck__op_end(c, ok, err);
    /* Report what is on disk either way: after a failure every node keeps
     * its old file, so each shows Failed. */
    ck_err rep = {0};
    if (report(c, ctl, len, results, n_results, &rep) < 0 && rc == 0) {
        *err = rep;
        return -1;
    }
    return rc;
}

int ck_provider_cluster_view(ck_cluster *c, ck_pv_msg *resp, uint8_t **hold, ck_err *err)
{
    *hold = NULL;
    node_certs nc;
    if (certs_load(c, &nc, err) < 0)
        return -1;
    ck_file_row row = {0};
    ck_err e2 = {0};
    bool have_ctl = ck_store_get_file(c->store, "", CK_CTL_NAME, &row, &e2) == 0;
    if (!have_ctl && e2.code != CK_ENOTFOUND) {
        *err = e2;
        certs_free(&nc);
        return -1;
    }
    /* One buffer holds every byte the response points at. */
    size_t total = nc.capf_len + (have_ctl ? row.len : 0);
    for (size_t i = 0; i < nc.n; i++)
        total += nc.ccm_len[i];
    uint8_t *buf = malloc(total ? total : 1);
    int rc = -1;
    if (!buf) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        goto out;
    }
    size_t at = 0;
    resp->has_mode = true;
    resp->mode = (uint8_t)ck_cluster_security_mode(c);
    if (have_ctl) {
        memcpy(buf, row.data, row.len);
        resp->ctl = (ck_span){buf, row.len};
        at += row.len;
    }
    memcpy(buf + at, nc.capf, nc.capf_len);
    ck_span capf = {buf + at, nc.capf_len};
    at += nc.capf_len;
    for (size_t i = 0; i < nc.n; i++) {
        ck_pv_node nd = {.publisher = nc.nodes[i].publisher};
        snprintf(nd.name, sizeof nd.name, "%s", nc.nodes[i].name);
        snprintf(nd.ip, sizeof nd.ip, "%s", nc.nodes[i].ip);
        memcpy(buf + at, nc.ccm[i], nc.ccm_len[i]);
        nd.ccm_cert = (ck_span){buf + at, nc.ccm_len[i]};
        at += nc.ccm_len[i];
        if (nd.publisher)
            nd.capf_cert = capf;
        if (ck_pv_add_node(resp, &nd, err) < 0)
            goto out;
    }
    *hold = buf;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    ck_file_row_clear(&row);
    certs_free(&nc);
    return rc;
}
