/* The status view model (ck_cluster_status): everything `cluster status`
 * and the admin's `show` commands report about nodes and their copies,
 * gathered once so that the text and the JSON are built from the same
 * data. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctlkit/text.h"
#include "ctlkit/tls_policy.h"
#include "ctlkit/x509.h"
#include "internal.h"

static int add_warning(ck_cluster_status *st, ck_err *err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int add_warning(ck_cluster_status *st, ck_err *err, const char *fmt, ...)
{
    char **v = realloc(st->warnings, (st->n_warnings + 1) * sizeof *v);
    if (!v)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    st->warnings = v;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&v[st->n_warnings], fmt, ap);
    va_end(ap);
    if (n < 0)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    st->n_warnings++;
    return 0;
}

static void fill_file(ck_cluster *c, const ck_node *n, const char *name, const ck_served_row *served, size_t ns,
                      ck_status_file *f)
{
    ck_file_row pub = {0};
    if (ck_store_get_file(c->store, ck__file_owner(n->name, name), name, &pub, NULL) == 0) {
        f->published = true;
        f->published_version = pub.version;
        snprintf(f->published_md5, sizeof f->published_md5, "%s", pub.md5);
        ck_file_row_clear(&pub);
    }
    f->copy = ck_cluster_copy_state(c, n->name, name, f->copy_md5);
    for (size_t i = 0; i < ns; i++)
        if (strcmp(served[i].node, n->name) == 0 && strcmp(served[i].name, name) == 0) {
            f->served = true;
            f->served_version = served[i].version;
            f->served_since = served[i].since;
            snprintf(f->served_md5, sizeof f->served_md5, "%s", served[i].md5);
            snprintf(f->served_sha1, sizeof f->served_sha1, "%s", served[i].sha1);
            f->served_differs = !f->published || strcmp(f->served_md5, f->published_md5) != 0;
        }
}

/* A daemon on another host serving other bytes than the published ones
 * (a folder on this host is checked directly by ck_cluster_checks). */
static int served_warning(ck_cluster_status *st, const ck_status_node *sn, const char *name, const ck_status_file *f,
                          ck_err *err)
{
    if (!f->served_differs || f->copy != CK_COPY_ELSEWHERE)
        return 0;
    if (!f->published)
        return add_warning(st, err, "%s: its daemon serves a %s (MD5 %s) that is not published", sn->node.name, name,
                           f->served_md5);
    char what[48] = "bytes that are no published version";
    if (f->served_version)
        snprintf(what, sizeof what, "version %lld", (long long)f->served_version);
    return add_warning(st, err, "%s: its daemon serves %s %s (MD5 %s), not the published version %lld (MD5 %s)",
                       sn->node.name, name, what, f->served_md5, (long long)f->published_version, f->published_md5);
}

/* CUCM's certificate monitor, as warnings: a node's certificate that
 * expires within 30 days, or has expired, with what the admin does: the
 * regeneration, and in mixed mode the CTL update that carries the new
 * certificate to the phones (the seed's scenario 4). */
static int expiry_warnings(ck_cluster_status *st, int64_t now, ck_err *err)
{
    for (size_t i = 0; i < st->n_certs; i++) {
        const ck_cert_row *r = &st->certs[i];
        long days = 0;
        const char *w = r->not_after ? ck_cert_expiry_warning(r->not_after, now, &days) : NULL;
        if (!w)
            continue;
        char day[32];
        ck_utc(r->not_after, CK_UTC_DAY, day, sizeof day);
        /* Every unit's certificate is in the mixed-mode CTL. */
        const char *then = st->security_mode == 1 ? ", then utils ctl update CTLFile" : "";
        int rc = days < 0 ? add_warning(st, err, "%s: the %s certificate expired on %s: set cert regen %s on %s%s",
                                        r->node, r->unit, day, r->unit, r->node, then)
                          : add_warning(st, err,
                                        "%s: the %s certificate expires on %s (%ld day%s left): set cert regen %s on "
                                        "%s before then%s",
                                        r->node, r->unit, day, days, days == 1 ? "" : "s", r->unit, r->node, then);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int ck_cluster_status_read(ck_cluster *c, const char *node, ck_cluster_status *out, ck_err *err)
{
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", ck_cluster_name(c));
    out->url = ck_cluster_is_url(c);
    out->security_mode = ck_cluster_security_mode(c);
    out->tls_min_version = ck_cluster_tls_min_version(c);
    if (!ck_cluster_tls_warning(c, out->tls_warning, sizeof out->tls_warning))
        out->tls_warning[0] = '\0';
    if (ck_store_get_file(c->store, "", CK_CTL_NAME, &out->ctl, NULL) == 0) {
        free(out->ctl.data);
        out->ctl.data = NULL;
    } else
        memset(&out->ctl, 0, sizeof out->ctl);

    ck_node *nodes = NULL;
    size_t nn = 0;
    ck_served_row *served = NULL;
    size_t ns = 0;
    char **checks = NULL;
    size_t nw = 0;
    int rc = -1;
    if (ck_store_list_nodes(c->store, &nodes, &nn, err) < 0 ||
        ck_store_list_served(c->store, NULL, &served, &ns, err) < 0 ||
        ck_store_list_certs(c->store, &out->certs, &out->n_certs, err) < 0 ||
        ck_cluster_checks(c, node, &checks, &nw, err) < 0)
        goto out;
    out->nodes = calloc(nn ? nn : 1, sizeof *out->nodes);
    if (!out->nodes) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nn; i++) {
        if (node && strcmp(nodes[i].name, node) != 0)
            continue;
        ck_status_node *sn = &out->nodes[out->n_nodes++];
        sn->node = nodes[i];
        sn->joined = ck__joined(c, nodes[i].name);
        fill_file(c, &nodes[i], CK_CTL_NAME, served, ns, &sn->ctl);
        fill_file(c, &nodes[i], CK_ITL_NAME, served, ns, &sn->itl);
    }
    if (!node && out->tls_warning[0] && add_warning(out, err, "%s", out->tls_warning) < 0)
        goto out;
    for (size_t i = 0; i < nw; i++)
        if (add_warning(out, err, "%s", checks[i]) < 0)
            goto out;
    if (!node && expiry_warnings(out, (int64_t)time(NULL), err) < 0)
        goto out;
    for (size_t i = 0; i < out->n_nodes; i++)
        if (served_warning(out, &out->nodes[i], CK_CTL_NAME, &out->nodes[i].ctl, err) < 0 ||
            served_warning(out, &out->nodes[i], CK_ITL_NAME, &out->nodes[i].itl, err) < 0)
            goto out;
    rc = 0;
out:
    free(nodes);
    free(served);
    ck_strings_free(checks, nw);
    if (rc < 0)
        ck_cluster_status_free(out);
    return rc;
}

void ck_cluster_status_free(ck_cluster_status *st)
{
    ck_cert_rows_free(st->certs, st->n_certs);
    ck_strings_free(st->warnings, st->n_warnings);
    free(st->nodes);
    memset(st, 0, sizeof *st);
}
