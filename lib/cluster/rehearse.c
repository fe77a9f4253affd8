/* The rehearsal engine (include/ctlkit/rehearse.h): copy, run, judge.
 *
 * Each known phone is booted in thought as ctlkit-phone boots (lib/phone's
 * rules, the same order): the CTL first; then, for a model with Security
 * by Default, its node's ITL. A signer the held list does not name sends an
 * SBD phone to TVS: the TVS of its node first, then the others in the
 * cluster's order, each only when the phone's held ITL names that TVS's
 * certificate as the rehearsed cluster will present it; the answer is the
 * rehearsed cluster's trust cache's. A phone's TVS cache is taken as empty
 * (a reset phone's answers have mostly expired). */
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/phone.h"
#include "ctlkit/trustcache.h"
#include "ctlkit/x509.h"
#include "internal.h"
#include "rehearse_internal.h"

#define UNKNOWN_MODEL "unknown"

const char *ck_rh_outcome_name(ck_rh_outcome o)
{
    switch (o) {
    case CK_RH_DIRECT: return "direct";
    case CK_RH_VIA_TVS: return "via-tvs";
    case CK_RH_REJECT: return "reject";
    case CK_RH_NO_CHANGE: return "no-change";
    case CK_RH_UNKNOWN: return "unknown";
    case CK_RH_N_OUTCOMES: break;
    }
    return "?";
}

/* A published list, before or after: its bytes, MD5 and parse. */
typedef struct rh_list {
    ck_file_row row;
    bool present;
    ck_tl_file *parsed;
} rh_list;

typedef struct rh_node {
    char name[64];
    rh_list itl_before, itl_after;
    uint8_t *tvs_der; /* the rehearsed TVS certificate; NULL: none */
    int tvs_len;
} rh_node;

typedef struct rh_ctx {
    rh_list ctl_before, ctl_after;
    rh_node *nodes;
    size_t n_nodes;
    ck_trustcache *tc; /* the rehearsed TVS answers */
} rh_ctx;

static void list_load(ck_store *s, const char *node, const char *name, rh_list *l)
{
    memset(l, 0, sizeof *l);
    if (ck_store_get_file(s, node, name, &l->row, NULL) != 0)
        return;
    l->present = true;
    if (ck_tl_parse(l->row.data, l->row.len, &l->parsed, NULL) < 0)
        l->parsed = NULL;
}

static void list_clear(rh_list *l)
{
    if (l->present)
        ck_file_row_clear(&l->row);
    ck_tl_free(l->parsed);
    memset(l, 0, sizeof *l);
}

static void ctx_free(rh_ctx *x)
{
    list_clear(&x->ctl_before);
    list_clear(&x->ctl_after);
    for (size_t i = 0; i < x->n_nodes; i++) {
        list_clear(&x->nodes[i].itl_before);
        list_clear(&x->nodes[i].itl_after);
        OPENSSL_free(x->nodes[i].tvs_der);
    }
    free(x->nodes);
    ck_trustcache_free(x->tc);
    memset(x, 0, sizeof *x);
}

static int add_note(ck_rehearsal *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add_note(ck_rehearsal *r, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    char **p = realloc(r->notes, (r->n_notes + 1) * sizeof *p);
    if (!p)
        return -1;
    r->notes = p;
    if (!(p[r->n_notes] = strdup(line)))
        return -1;
    r->n_notes++;
    return 0;
}

static void tvs_cert(ck_store *s, rh_node *n)
{
    ck_cert_row row;
    X509 *x = NULL;
    if (ck_store_get_cert(s, n->name, CK_UNIT_TVS, &row, NULL) != 0)
        return;
    if (ck_load_pem_mem(row.pem, strlen(row.pem), &x, NULL, false, NULL) == 0) {
        n->tvs_len = i2d_X509(x, &n->tvs_der);
        if (n->tvs_len <= 0)
            n->tvs_der = NULL;
    }
    X509_free(x);
    ck_cert_row_clear(&row);
}

/* ---- judging one phone ---- */

static const rh_list *held_by_md5(const rh_list *l, const char *md5)
{
    return l->present && l->parsed && strcmp(l->row.md5, md5) == 0 ? l : NULL;
}

/* What the phone's TVS says about the signer (fills fresh), or why no
 * TVS answers (fills why). */
static bool ask_tvs(const rh_ctx *x, const ck_tl_file *held_itl, const char *phone_node, const uint8_t *der,
                    size_t der_len, const uint8_t sha1[20], ck_ph_cache_entry *fresh, char *why, size_t whysz)
{
    if (!held_itl) {
        snprintf(why, whysz, "no ITL installed, so no TVS is trusted");
        return false;
    }
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < x->n_nodes; i++) {
            const rh_node *n = &x->nodes[i];
            /* the phone's own node first, then the others in order */
            if ((pass == 0) != (strcmp(n->name, phone_node) == 0) || !n->tvs_der)
                continue;
            if (!ck_ph_itl_trusts_tvs(held_itl, n->tvs_der, (size_t)n->tvs_len))
                continue;
            memset(fresh, 0, sizeof *fresh);
            memcpy(fresh->sha1, sha1, 20);
            ck_tc_source src;
            const ck_tc_entry *e = x->tc ? ck_trustcache_lookup(x->tc, der, der_len, &src) : NULL;
            if (e) {
                fresh->valid = true;
                fresh->n_roles = e->n_roles > CK_PH_CACHE_MAX_ROLES ? CK_PH_CACHE_MAX_ROLES : e->n_roles;
                memcpy(fresh->roles, e->roles, fresh->n_roles);
            }
            return true;
        }
    snprintf(why, whysz, "no TVS whose certificate the installed ITL names");
    return false;
}

/* Judges one list to the end (asking TVS in thought when the rules ask). */
static int judge_list(const rh_ctx *x, ck_ph_kind kind, bool sbd, const ck_tl_file *held, const rh_list *next,
                      const ck_tl_file *held_itl, const char *phone_node, ck_ph_decision *d, ck_err *err)
{
    ck_ph_cache_entry fresh;
    char why[160] = "";
    ck_ph_input in = {.kind = kind, .sbd = sbd, .held = held, .data = next->row.data, .len = next->row.len};
    for (int round = 0; round < 2; round++) {
        if (ck_ph_judge(&in, d, err) < 0)
            return -1;
        if (d->verdict != CK_PH_NEED_TVS || round == 1)
            break;
        if (ask_tvs(x, held_itl, phone_node, d->need_cert, d->need_cert_len, d->need_sha1, &fresh, why, sizeof why))
            in.fresh = &fresh;
        else
            in.tvs_error = why;
        ck_tl_free(d->parsed);
        d->parsed = NULL;
    }
    ck_tl_free(d->parsed);
    d->parsed = NULL;
    return 0;
}

static ck_rh_outcome outcome_of(const ck_ph_decision *d)
{
    if (d->verdict == CK_PH_INSTALL)
        return d->via_tvs ? CK_RH_VIA_TVS : CK_RH_DIRECT;
    if (d->verdict == CK_PH_UNCHANGED)
        return CK_RH_NO_CHANGE;
    return CK_RH_REJECT;
}

/* A worse outcome wins: reject, then via TVS, then direct, then no change. */
static int severity(ck_rh_outcome o)
{
    switch (o) {
    case CK_RH_REJECT: return 3;
    case CK_RH_VIA_TVS: return 2;
    case CK_RH_DIRECT: return 1;
    default: return 0;
    }
}

static const rh_node *node_of(const rh_ctx *x, const char *name)
{
    for (size_t i = 0; i < x->n_nodes; i++)
        if (strcmp(x->nodes[i].name, name) == 0)
            return &x->nodes[i];
    return x->n_nodes ? &x->nodes[0] : NULL; /* never seen on a node: the publisher's lists */
}

static int judge_phone(const rh_ctx *x, const ck_phone_row *p, ck_rh_phone *out, ck_err *err)
{
    out->outcome = CK_RH_NO_CHANGE;
    if (!p) {
        out->outcome = CK_RH_UNKNOWN;
        snprintf(out->detail, sizeof out->detail, "never seen by the cluster's TFTP or TVS: what it holds is not known");
        return 0;
    }
    snprintf(out->node, sizeof out->node, "%s", p->node);
    const rh_node *n = node_of(x, p->node);
    const ck_tl_file *held_ctl = NULL, *held_itl = NULL;
    if (p->ctl_md5[0]) {
        const rh_list *l = held_by_md5(&x->ctl_before, p->ctl_md5);
        if (!l) {
            out->outcome = CK_RH_UNKNOWN;
            snprintf(out->detail, sizeof out->detail, "holds a CTL (MD5 %s) the cluster does not publish now",
                     p->ctl_md5);
            return 0;
        }
        held_ctl = l->parsed;
    }
    if (p->itl_md5[0]) {
        for (size_t i = 0; i < x->n_nodes && !held_itl; i++) {
            const rh_list *l = held_by_md5(&x->nodes[i].itl_before, p->itl_md5);
            held_itl = l ? l->parsed : NULL;
        }
        if (!held_itl && out->sbd) {
            out->outcome = CK_RH_UNKNOWN;
            snprintf(out->detail, sizeof out->detail, "holds an ITL (MD5 %s) no node publishes now", p->itl_md5);
            return 0;
        }
    }
    char details[2][328] = {"", ""};
    ck_ph_decision d;
    /* The CTL: a phone that finds none keeps what it holds. */
    if (x->ctl_after.present) {
        if (judge_list(x, CK_PH_CTL, out->sbd, held_ctl, &x->ctl_after, held_itl, p->node, &d, err) < 0)
            return -1;
        out->outcome = outcome_of(&d);
        snprintf(out->reason, sizeof out->reason, "%s", ck_ph_reason_name(d.reason));
        snprintf(details[0], sizeof details[0], "CTL: %s", d.detail);
    }
    /* The ITL, only on SBD models, against the phone's own node's list. */
    if (out->sbd && n && n->itl_after.present) {
        if (judge_list(x, CK_PH_ITL, true, held_itl, &n->itl_after, held_itl, p->node, &d, err) < 0)
            return -1;
        ck_rh_outcome o = outcome_of(&d);
        snprintf(details[1], sizeof details[1], "ITL: %s", d.detail);
        if (severity(o) > severity(out->outcome)) {
            out->outcome = o;
            snprintf(out->reason, sizeof out->reason, "%s", ck_ph_reason_name(d.reason));
        }
    }
    snprintf(out->detail, sizeof out->detail, "%s%s%s", details[0], details[0][0] && details[1][0] ? "; " : "",
             details[1]);
    return 0;
}

/* ---- the tables ---- */

static ck_rh_model *model_row(ck_rehearsal *r, const char *model)
{
    for (size_t i = 0; i < r->n_models; i++)
        if (strcmp(r->models[i].model, model) == 0)
            return &r->models[i];
    ck_rh_model *p = realloc(r->models, (r->n_models + 1) * sizeof *p);
    if (!p)
        return NULL;
    r->models = p;
    ck_rh_model *m = &p[r->n_models++];
    memset(m, 0, sizeof *m);
    snprintf(m->model, sizeof m->model, "%s", model);
    return m;
}

static int by_model(const void *a, const void *b)
{
    const ck_rh_model *x = a, *y = b;
    bool xu = strcmp(x->model, UNKNOWN_MODEL) == 0, yu = strcmp(y->model, UNKNOWN_MODEL) == 0;
    if (xu != yu)
        return xu ? 1 : -1;
    return strcmp(x->model, y->model);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const ck_rh_phone *)a)->name, ((const ck_rh_phone *)b)->name);
}

static int judge_all(const rh_ctx *x, ck_store *real, ck_rehearsal *r, ck_err *err)
{
    ck_phone_row *rows = NULL;
    ck_device_row *devs = NULL;
    size_t n_rows = 0, n_devs = 0;
    int rc = -1;
    if (ck_store_list_phones(real, &rows, &n_rows, err) < 0 || ck_store_list_devices(real, &devs, &n_devs, err) < 0)
        goto out;
    if (!(r->phones = calloc(n_rows + n_devs + 1, sizeof *r->phones))) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        goto out;
    }
    /* Phones seen, each with the model of its device row when TVS never named it. */
    for (size_t i = 0; i < n_rows + n_devs; i++) {
        const ck_phone_row *p = i < n_rows ? &rows[i] : NULL;
        const ck_device_row *dev = NULL;
        char name[16];
        if (p) {
            snprintf(name, sizeof name, "SEP%s", p->mac);
            for (size_t k = 0; k < n_devs && !dev; k++)
                dev = strcmp(devs[k].name, name) == 0 ? &devs[k] : NULL;
        } else {
            dev = &devs[i - n_rows];
            bool seen = false;
            for (size_t k = 0; k < n_rows && !seen; k++)
                seen = strcmp(dev->name + 3, rows[k].mac) == 0;
            if (seen)
                continue;
            snprintf(name, sizeof name, "%s", dev->name);
        }
        ck_rh_phone *ph = &r->phones[r->n_phones++];
        snprintf(ph->name, sizeof ph->name, "%s", name);
        const char *model = p && p->model[0] ? p->model : dev ? dev->model : "";
        snprintf(ph->model, sizeof ph->model, "%s", *model ? model : UNKNOWN_MODEL);
        /* A model TVS never named (7940/7960 never ask TVS; SBD phones
         * that trusted the new list at once had no need to): only phones
         * with Security by Default fetch ITLFile.tlv, so a phone seen
         * downloading one has it. */
        int sbd = ck_ph_model_sbd(model);
        ph->sbd = sbd == 1 || (sbd < 0 && p && p->itl_md5[0]);
        if (judge_phone(x, p, ph, err) < 0)
            goto out;
        ck_rh_model *m = model_row(r, ph->model);
        if (!m) {
            ck_fail(err, CK_ENOMEM, "out of memory");
            goto out;
        }
        m->n[ph->outcome]++;
        r->total.n[ph->outcome]++;
    }
    qsort(r->phones, r->n_phones, sizeof *r->phones, by_name);
    if (r->n_models)
        qsort(r->models, r->n_models, sizeof *r->models, by_model);
    rc = 0;
out:
    free(rows);
    ck_device_rows_free(devs, n_devs);
    return rc;
}

/* ---- the whole ---- */

static int load_lists(ck_store *s, rh_ctx *x, bool after)
{
    list_load(s, "", CK_CTL_NAME, after ? &x->ctl_after : &x->ctl_before);
    for (size_t i = 0; i < x->n_nodes; i++) {
        rh_node *n = &x->nodes[i];
        list_load(s, n->name, CK_ITL_NAME, after ? &n->itl_after : &n->itl_before);
        if (after)
            tvs_cert(s, n);
    }
    return 0;
}

/* What the nodes' daemons do after a change: a node's stale ITL is rebuilt
 * on its own host. Here that happens for the nodes whose folder the copy
 * has; the others keep their ITL, and a note says so. */
static int rebuild_stale_itls(ck__rh_copy *cp, rh_ctx *x, ck_rehearsal *r, ck_err *err)
{
    for (size_t i = 0; i < x->n_nodes; i++) {
        bool stale = false;
        if (ck_cluster_itl_stale(cp->c, x->nodes[i].name, &stale, err) < 0)
            return -1;
        if (!stale)
            continue;
        if (ck_cluster_node_here(cp->c, x->nodes[i].name)) {
            if (ck_cluster_rebuild_itl(cp->c, x->nodes[i].name, err) < 0)
                return -1;
        } else if (add_note(r, "%s's ITL would be rebuilt on its own host: rehearsed with its current ITL",
                            x->nodes[i].name) < 0) {
            return ck_fail(err, CK_ENOMEM, "out of memory");
        }
    }
    return 0;
}

int ck_rehearse(ck_cluster *c, const ck_rehearse_opts *o, ck_rehearsal *out, ck_err *err)
{
    memset(out, 0, sizeof *out);
    if (!o || !o->node || (o->n_commands && !o->commands))
        return ck_fail(err, CK_EINVAL, "ck_rehearse: missing input");
    for (size_t i = 0; i < o->n_commands; i++)
        if (ck_rehearse_check_command(o->commands[i], err) < 0)
            return -1;
    ck_store *real = ck_cluster_store(c);
    ck_node node, *nodes = NULL;
    size_t n_nodes = 0;
    if (ck_store_get_node(real, o->node, &node, err) < 0 || ck_store_list_nodes(real, &nodes, &n_nodes, err) < 0)
        return -1;
    rh_ctx x = {0};
    ck__rh_copy cp = {0};
    int rc = -1;
    bool muted = false;
    if (!(x.nodes = calloc(n_nodes ? n_nodes : 1, sizeof *x.nodes))) {
        ck_fail(err, CK_ENOMEM, "out of memory");
        goto out;
    }
    x.n_nodes = n_nodes;
    for (size_t i = 0; i < n_nodes; i++)
        snprintf(x.nodes[i].name, sizeof x.nodes[i].name, "%s", nodes[i].name);
    load_lists(real, &x, false);
    snprintf(out->ctl_md5_before, sizeof out->ctl_md5_before, "%s", x.ctl_before.present ? x.ctl_before.row.md5 : "");
    ck__test_points_mute(true);
    muted = true;
    if (ck__rh_copy_make(c, o->node, o->tmp_parent, &cp, err) < 0)
        goto out;
    for (size_t i = 0; i < o->n_commands; i++) {
        ck_err cerr = {0};
        if (ck__rh_run_command(cp.c, o->node, o->commands[i], &cerr) < 0) {
            ck_fail(err, cerr.code ? cerr.code : CK_EIO, "command %zu '%s' failed on the copy: %s (the real cluster is "
                    "untouched)", i + 1, o->commands[i], cerr.msg);
            goto out;
        }
    }
    if (rebuild_stale_itls(&cp, &x, out, err) < 0)
        goto out;
    load_lists(ck_cluster_store(cp.c), &x, true);
    snprintf(out->ctl_md5_after, sizeof out->ctl_md5_after, "%s", x.ctl_after.present ? x.ctl_after.row.md5 : "");
    /* Every TVS answers from the same database; the CTL part is the
     * cluster's one CTL, which the node here holds. */
    if (ck_cluster_build_trustcache(cp.c, o->node, &x.tc, NULL, err) < 0)
        goto out;
    rc = judge_all(&x, real, out, err);
out:
    ck__rh_copy_remove(&cp);
    if (muted)
        ck__test_points_mute(false);
    ctx_free(&x);
    free(nodes);
    if (rc < 0)
        ck_rehearsal_free(out);
    return rc;
}

int ck_rehearse_known_phones(ck_cluster *c, size_t *n, ck_err *err)
{
    ck_phone_row *rows = NULL;
    ck_device_row *devs = NULL;
    size_t n_rows = 0, n_devs = 0;
    *n = 0;
    if (ck_store_list_phones(ck_cluster_store(c), &rows, &n_rows, err) < 0)
        return -1;
    free(rows);
    if (ck_store_list_devices(ck_cluster_store(c), &devs, &n_devs, err) < 0)
        return -1;
    ck_device_rows_free(devs, n_devs);
    *n = n_rows + n_devs;
    return 0;
}

void ck_rehearsal_free(ck_rehearsal *r)
{
    free(r->models);
    free(r->phones);
    for (size_t i = 0; i < r->n_notes; i++)
        free(r->notes[i]);
    free(r->notes);
    memset(r, 0, sizeof *r);
}
