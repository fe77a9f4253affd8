/* Building the eToken CTL on the admin's side, as the CTL Client does:
 * the cluster's certificates from GET_CLUSTER, the Security Tokens'
 * certificates, signed by the first token. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "ctlclient.h"
#include "ctlkit/bytes.h"
#include "ctlkit/x509.h"

static X509 *der_cert(const ck_span *s)
{
    return s->p ? ck_cert_from_der(s->p, s->n, NULL) : NULL;
}

static const ck_pv_node *publisher(const ck_pv_msg *view)
{
    for (size_t i = 0; i < view->n_nodes; i++)
        if (view->nodes[i].publisher)
            return &view->nodes[i];
    return NULL;
}

static ck_tl_entry token_entry(X509 *cert)
{
    return (ck_tl_entry){.role = CK_ROLE_SAST, .cert = cert, .dns_name = "", .no_cert_signature = true,
                         .token_names = true};
}

int cc_build_ctl(const ck_pv_msg *view, const cc_entries *entries, ck_tl_signer *signer, uint8_t **out, size_t *len,
                 ck_err *err)
{
    const cc_sast *tokens = entries->tokens;
    size_t n_tokens = entries->n_tokens;
    const ck_pv_node *pub = publisher(view);
    if (!pub || !pub->capf_cert.p)
        return ck_fail(err, CK_EFORMAT, "the cluster view names no publisher with a CAPF certificate");
    size_t cap = 1 + view->n_nodes + entries->n_extras + n_tokens;
    ck_tl_entry *e = calloc(cap, sizeof *e);
    X509 **owned = calloc(cap, sizeof *owned);
    size_t n = 0, n_owned = 0;
    int rc = -1;
    if (!e || !owned) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        goto out;
    }
    /* The CTL Client's records (the seed's 5728-byte CTL): the Security
     * Tokens that do not sign first, then CAPF and each CCM+TFTP, the
     * signing token (tokens[0]) last. Server records carry the server's IP
     * address as DNSNAME and no certificate SIGNATURE element; token
     * records an empty DNSNAME (a lone NUL), no SIGNATURE element and
     * their names in the CTL Client's style. */
    for (size_t i = 1; i < n_tokens; i++)
        e[n++] = token_entry(tokens[i].cert);
    X509 *capf = der_cert(&pub->capf_cert);
    if (!capf) {
        ck_fail(err, CK_EFORMAT, "the publisher's CAPF certificate from the server does not parse");
        goto out;
    }
    owned[n_owned++] = capf;
    e[n] = (ck_tl_entry){.role = CK_ROLE_CAPF, .cert = capf, .dns_name = pub->ip, .no_cert_signature = true};
    inet_pton(AF_INET, pub->ip, e[n++].ip);
    for (size_t i = 0; i < view->n_nodes; i++) {
        X509 *x = der_cert(&view->nodes[i].ccm_cert);
        if (!x) {
            ck_fail(err, CK_EFORMAT, "node %s's CallManager certificate from the server does not parse",
                    view->nodes[i].name);
            goto out;
        }
        owned[n_owned++] = x;
        e[n] = (ck_tl_entry){.role = CK_ROLE_CCM_TFTP, .cert = x, .dns_name = view->nodes[i].ip,
                             .no_cert_signature = true};
        inet_pton(AF_INET, view->nodes[i].ip, e[n++].ip);
    }
    for (size_t i = 0; i < entries->n_extras; i++) {
        const cc_extra *x = &entries->extras[i];
        e[n] = (ck_tl_entry){.role = x->kind == CC_EXTRA_TFTP ? CK_ROLE_TFTP : CK_ROLE_CCM_TFTP, .cert = x->cert,
                             .dns_name = x->ip, .no_cert_signature = true};
        inet_pton(AF_INET, x->ip, e[n++].ip);
    }
    if (n_tokens)
        e[n++] = token_entry(tokens[0].cert);
    /* SHA-1: what CUCM 10.5's CTL Client writes and every phone verifies. */
    ck_tl_build_opts o = {.filename = "CTLFile.tlv", .digest_alg = CK_DIGEST_SHA1, .token_signer_names = true};
    rc = ck_tl_build(e, n, signer, &o, out, len, err);
out:
    for (size_t i = 0; i < n_owned; i++)
        X509_free(owned[i]);
    free(owned);
    free(e);
    return rc;
}

static bool is_node_cert(const ck_pv_msg *view, const ck_span *der)
{
    for (size_t i = 0; i < view->n_nodes; i++)
        if (ck_bytes_equal(view->nodes[i].ccm_cert.p, view->nodes[i].ccm_cert.n, der->p, der->n))
            return true;
    return false;
}

size_t cc_ctl_tokens(const ck_pv_msg *view, X509 **out, size_t max)
{
    if (!view->ctl.p)
        return 0;
    ck_tl_file *f = NULL;
    if (ck_tl_parse(view->ctl.p, view->ctl.n, &f, NULL) < 0)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < f->n_records && n < max; i++) {
        const ck_tl_record *r = &f->records[i];
        if (r->has_function && r->function == CK_ROLE_SAST && r->cert.p && !is_node_cert(view, &r->cert)) {
            X509 *x = ck_cert_from_der(r->cert.p, r->cert.n, NULL);
            if (x)
                out[n++] = x;
        }
    }
    ck_tl_free(f);
    return n;
}

size_t cc_ctl_extras(const ck_pv_msg *view, cc_extra *out, size_t max)
{
    if (!view->ctl.p)
        return 0;
    ck_tl_file *f = NULL;
    if (ck_tl_parse(view->ctl.p, view->ctl.n, &f, NULL) < 0)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < f->n_records && n < max; i++) {
        const ck_tl_record *r = &f->records[i];
        if (!r->has_function || !r->has_ip || !r->cert.p)
            continue;
        bool tftp = r->function == CK_ROLE_TFTP;
        bool firewall = r->function == CK_ROLE_CCM_TFTP && !is_node_cert(view, &r->cert);
        if (!tftp && !firewall)
            continue;
        X509 *x = ck_cert_from_der(r->cert.p, r->cert.n, NULL);
        if (!x)
            continue;
        out[n].kind = tftp ? CC_EXTRA_TFTP : CC_EXTRA_FIREWALL;
        inet_ntop(AF_INET, r->ip, out[n].ip, sizeof out[n].ip);
        out[n++].cert = x;
    }
    ck_tl_free(f);
    return n;
}

bool cc_in_ctl(const ck_pv_msg *view, X509 *cert)
{
    if (!view->ctl.p)
        return false;
    ck_tl_file *f = NULL;
    if (ck_tl_parse(view->ctl.p, view->ctl.n, &f, NULL) < 0)
        return false;
    uint8_t *der = NULL;
    size_t dl = 0;
    bool found = false;
    if (ck_cert_to_der(cert, &der, &dl, NULL) == 0)
        for (size_t i = 0; i < f->n_records && !found; i++)
            found = f->records[i].has_function && f->records[i].function == CK_ROLE_SAST &&
                    ck_bytes_equal(f->records[i].cert.p, f->records[i].cert.n, der, dl);
    free(der);
    ck_tl_free(f);
    return found;
}

static void add_row(cc_row *rows, size_t max, size_t *n, enum cc_row_kind kind, size_t index)
{
    if (*n < max)
        rows[*n] = (cc_row){.kind = kind, .index = index};
    (*n)++;
}

size_t cc_entry_rows(const ck_pv_msg *view, const cc_entries *entries, cc_row *rows, size_t max)
{
    size_t n = 0;
    if (publisher(view))
        add_row(rows, max, &n, CC_ROW_CAPF, 0);
    /* The seed's screens list the subscriber before the publisher. */
    for (size_t i = 0; i < view->n_nodes; i++)
        if (!view->nodes[i].publisher)
            add_row(rows, max, &n, CC_ROW_NODE, i);
    for (size_t i = 0; i < view->n_nodes; i++)
        if (view->nodes[i].publisher)
            add_row(rows, max, &n, CC_ROW_NODE, i);
    for (size_t i = 0; i < entries->n_extras; i++)
        add_row(rows, max, &n, CC_ROW_EXTRA, i);
    for (size_t i = 0; i < entries->n_tokens; i++)
        add_row(rows, max, &n, CC_ROW_TOKEN, i);
    return n;
}

static void row(FILE *out, size_t num, const char *type, const char *host, X509 *x)
{
    char *iss = x ? ck_name_cucm(X509_get_issuer_name(x)) : NULL;
    char *sub = x ? ck_name_cucm(X509_get_subject_name(x)) : NULL;
    fprintf(out, "  %-2zu %-16s %-18s %-44s %s\n", num, type, host, iss ? iss : "?", sub ? sub : "?");
    free(iss);
    free(sub);
}

void cc_show_entries(FILE *out, const ck_pv_msg *view, const cc_entries *entries)
{
    fprintf(out, "CTL Entries\n  %-2s %-16s %-18s %-44s %s\n", "#", "Type", "Hostname/IP", "Issuer Name",
            "Subject Name");
    cc_row rows[64];
    size_t n = cc_entry_rows(view, entries, rows, sizeof rows / sizeof rows[0]);
    for (size_t r = 0; r < n && r < sizeof rows / sizeof rows[0]; r++) {
        size_t i = rows[r].index;
        X509 *x = NULL;
        switch (rows[r].kind) {
        case CC_ROW_CAPF: {
            const ck_pv_node *pub = publisher(view);
            x = der_cert(&pub->capf_cert);
            row(out, r + 1, "CAPF", pub->ip, x);
            X509_free(x);
            break;
        }
        case CC_ROW_NODE:
            x = der_cert(&view->nodes[i].ccm_cert);
            row(out, r + 1, "CCM+TFTP", view->nodes[i].ip, x);
            X509_free(x);
            break;
        case CC_ROW_EXTRA:
            row(out, r + 1, entries->extras[i].kind == CC_EXTRA_TFTP ? "TFTP" : "Firewall", entries->extras[i].ip,
                entries->extras[i].cert);
            break;
        case CC_ROW_TOKEN:
            row(out, r + 1, "Security Token", "-- No Hostname --", entries->tokens[i].cert);
            break;
        }
    }
}
