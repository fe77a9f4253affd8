/* The dashboard's data (views.h). */
#include "views.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctlkit/store.h"
#include "ctlkit/text.h"
#include "ctlkit/tls_policy.h"
#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"


static json_t *strings_json(char **v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

/* The published CTL as `show ctl --json` describes it (file: null when
 * none). */
static json_t *ctl_records(ck_store *s)
{
    ck_file_row row = {0};
    if (ck_store_get_file(s, "", CK_CTL_NAME, &row, NULL) < 0)
        return json_null();
    ck_tl_file *f = NULL;
    ck_err perr = {0}, verr = {0};
    ck_tl_show_info info = {.kind = "CTL", .mtime = (time_t)row.modified};
    if (ck_tl_parse(row.data, row.len, &f, &perr) == 0) {
        info.verified = ck_tl_verify(f, &verr) == 0;
        info.verify_error = info.verified ? NULL : verr.msg;
    }
    char *txt = ck_tl_show_json(row.data, row.len, f, &info, f ? NULL : perr.msg);
    json_t *j = txt ? json_loads(txt, 0, NULL) : NULL;
    free(txt);
    ck_tl_free(f);
    ck_file_row_clear(&row);
    return j ? j : json_null();
}

json_t *view_cluster(ck_cluster *c, ck_err *err)
{
    ck_store *s = ck_cluster_store(c);
    ck_node *nodes = NULL;
    size_t nn = 0;
    char **warn = NULL;
    size_t nw = 0;
    if (ck_store_list_nodes(s, &nodes, &nn, err) < 0)
        return NULL;
    if (ck_cluster_checks(c, NULL, &warn, &nw, err) < 0) {
        free(nodes);
        return NULL;
    }
    int mode = ck_cluster_security_mode(c);
    ck_file_row ctl = {0};
    bool have_ctl = ck_store_get_file(s, "", CK_CTL_NAME, &ctl, NULL) == 0;
    json_t *root = json_object();
    json_object_set_new(root, "cluster", json_string(ck_cluster_name(c)));
    json_object_set_new(root, "security_mode", json_integer(mode));
    json_object_set_new(root, "security_mode_name", json_string(mode ? "mixed" : "non-secure"));
    json_object_set_new(root, "tls_min_version", json_string(ck_tls_version_name(ck_cluster_tls_min_version(c))));
    json_object_set_new(root, "ctl", have_ctl ? json_pack("{s:s,s:s,s:I,s:I}", "md5", ctl.md5, "sha1", ctl.sha1,
                                                         "length", (json_int_t)ctl.len, "version",
                                                         (json_int_t)ctl.version)
                                             : json_null());
    json_object_set_new(root, "ctl_file", ctl_records(s));
    json_t *jn = json_array();
    for (size_t i = 0; i < nn; i++) {
        char cm[33], im[33];
        const char *cs = ck_copy_state_word(ck_cluster_copy_state(c, nodes[i].name, CK_CTL_NAME, cm));
        const char *is = ck_copy_state_word(ck_cluster_copy_state(c, nodes[i].name, CK_ITL_NAME, im));
        json_array_append_new(jn, json_pack("{s:s,s:s,s:s,s:i,s:i,s:{s:s,s:s?},s:{s:s,s:s?}}", "name", nodes[i].name,
                                            "role", nodes[i].publisher ? "publisher" : "subscriber", "ip",
                                            nodes[i].ip, "tftp_port", nodes[i].tftp_port, "tvs_port",
                                            nodes[i].tvs_port, "ctl", "state", cs, "md5", *cm ? cm : NULL, "itl",
                                            "state", is, "md5", *im ? im : NULL));
    }
    json_object_set_new(root, "nodes", jn);
    json_object_set_new(root, "warnings", strings_json(warn, nw));
    ck_file_row_clear(&ctl);
    ck_strings_free(warn, nw);
    free(nodes);
    return root;
}

static json_t *cert_json(const ck_cert_row *r, const char *kind, int64_t now)
{
    char exp[32];
    ck_utc(r->not_after, CK_UTC_DAY, exp, sizeof exp);
    long days = 0;
    const char *w = ck_cert_expiry_warning(r->not_after, now, &days);
    return json_pack("{s:s,s:s?,s:s,s:s,s:s,s:s,s:I,s:s?}", "kind", kind, "node", *r->node ? r->node : NULL, "unit",
                     r->unit, "serial", r->serial, "subject", r->subject ? r->subject : "", "expires", exp,
                     "days_left", (json_int_t)days, "warning", w);
}

json_t *view_certs(ck_cluster *c, int64_t now, ck_err *err)
{
    ck_store *s = ck_cluster_store(c);
    ck_cert_row *own = NULL, *trust = NULL;
    size_t no = 0, nt = 0;
    if (ck_store_list_certs(s, &own, &no, err) < 0)
        return NULL;
    if (ck_store_list_trust(s, &trust, &nt, err) < 0) {
        ck_cert_rows_free(own, no);
        return NULL;
    }
    json_t *root = json_object(), *jc = json_array();
    size_t warnings = 0;
    for (size_t i = 0; i < no; i++) {
        json_t *j = cert_json(&own[i], "unit", now);
        warnings += json_is_string(json_object_get(j, "warning"));
        json_array_append_new(jc, j);
    }
    for (size_t i = 0; i < nt; i++) {
        json_t *j = cert_json(&trust[i], "trust", now);
        warnings += json_is_string(json_object_get(j, "warning"));
        json_array_append_new(jc, j);
    }
    json_object_set_new(root, "certificates", jc);
    json_object_set_new(root, "expiring", json_integer((json_int_t)warnings));
    ck_cert_rows_free(own, no);
    ck_cert_rows_free(trust, nt);
    return root;
}

json_t *view_audit(ck_cluster *c, size_t page, ck_err *err)
{
    if (page < 1)
        page = 1;
    ck_audit_row *rows = NULL;
    size_t n = 0;
    /* The store lists the newest `limit` rows; one more than the page
     * needs says whether a next page exists. */
    size_t first = (page - 1) * WEB_AUDIT_PER_PAGE;
    if (ck_store_list_audit(ck_cluster_store(c), first + WEB_AUDIT_PER_PAGE + 1, &rows, &n, err) < 0)
        return NULL;
    json_t *arr = json_array();
    for (size_t i = first; i < n && i < first + WEB_AUDIT_PER_PAGE; i++) {
        char when[32];
        ck_utc(rows[i].at, CK_UTC_ISO, when, sizeof when);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s}", "at", when, "who", rows[i].who, "node",
                                             rows[i].node, "action", rows[i].action ? rows[i].action : ""));
    }
    json_t *root = json_pack("{s:I,s:I,s:b,s:o}", "page", (json_int_t)page, "per_page",
                             (json_int_t)WEB_AUDIT_PER_PAGE, "has_next", n > first + WEB_AUDIT_PER_PAGE, "entries",
                             arr);
    ck_audit_rows_free(rows, n);
    return root;
}
