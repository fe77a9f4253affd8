/* The drift view model (include/ctlkit/drift.h). */
#include "ctlkit/drift.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/bytes.h"
#include "ctlkit/cluster.h"
#include "ctlkit/params.h"

#define DEFAULT_AGE_HOURS 24

static ck_drift_counts *model_counts(ck_drift *d, const char *model, size_t *cap)
{
    const char *name = *model ? model : CK_DRIFT_UNKNOWN_MODEL;
    for (size_t i = 0; i < d->n_models; i++)
        if (strcmp(d->models[i].model, name) == 0)
            return &d->models[i];
    if (d->n_models == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        ck_drift_counts *p = realloc(d->models, ncap * sizeof *p);
        if (!p)
            return NULL;
        d->models = p;
        *cap = ncap;
    }
    ck_drift_counts *m = &d->models[d->n_models++];
    memset(m, 0, sizeof *m);
    snprintf(m->model, sizeof m->model, "%s", name);
    return m;
}

static int add_older(ck_drift *d, const char *md5, size_t *cap)
{
    for (size_t i = 0; i < d->n_older; i++)
        if (strcmp(d->older[i].md5, md5) == 0) {
            d->older[i].phones++;
            return 0;
        }
    if (d->n_older == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        ck_drift_older *p = realloc(d->older, ncap * sizeof *p);
        if (!p)
            return -1;
        d->older = p;
        *cap = ncap;
    }
    ck_drift_older *o = &d->older[d->n_older++];
    snprintf(o->md5, sizeof o->md5, "%s", md5);
    o->phones = 1;
    return 0;
}

static int by_model(const void *a, const void *b)
{
    const ck_drift_counts *x = a, *y = b;
    bool xu = strcmp(x->model, CK_DRIFT_UNKNOWN_MODEL) == 0, yu = strcmp(y->model, CK_DRIFT_UNKNOWN_MODEL) == 0;
    if (xu != yu)
        return xu ? 1 : -1;
    return strcmp(x->model, y->model);
}

static int by_phones(const void *a, const void *b)
{
    const ck_drift_older *x = a, *y = b;
    if (x->phones != y->phones)
        return x->phones > y->phones ? -1 : 1;
    return strcmp(x->md5, y->md5);
}

ck_phone_state ck_drift_phone_state(const ck_phone_row *p, const char *ctl_md5, int64_t now, int64_t max_age_s)
{
    if (p->last_seen < now - max_age_s)
        return CK_PHONE_AGED_OUT;
    if (!p->ctl_md5[0])
        return CK_PHONE_NONE;
    if (!ctl_md5 || !ctl_md5[0] || strcmp(p->ctl_md5, ctl_md5) != 0)
        return CK_PHONE_OLDER;
    /* The download came first, then TVS said no: the phone cannot verify
     * what the new CTL asks it to trust. */
    if (strcmp(p->tvs_last, "invalid") == 0 && p->tvs_at >= p->ctl_at)
        return CK_PHONE_STRANDED;
    return CK_PHONE_CURRENT;
}

static const char *const state_names[] = {
    [CK_PHONE_ANY] = "any",       [CK_PHONE_CURRENT] = "current",   [CK_PHONE_OLDER] = "older",
    [CK_PHONE_NONE] = "none",     [CK_PHONE_STRANDED] = "stranded", [CK_PHONE_AGED_OUT] = "aged_out",
};

const char *ck_phone_state_name(ck_phone_state st)
{
    return (size_t)st < sizeof state_names / sizeof state_names[0] ? state_names[st] : "?";
}

bool ck_phone_state_parse(const char *name, ck_phone_state *out)
{
    for (size_t i = 0; name && i < sizeof state_names / sizeof state_names[0]; i++)
        if (strcmp(name, state_names[i]) == 0) {
            *out = (ck_phone_state)i;
            return true;
        }
    return false;
}

static void count(ck_drift_counts *c, ck_phone_state st)
{
    switch (st) {
    case CK_PHONE_AGED_OUT: c->stale++; break;
    case CK_PHONE_NONE: c->none++; break;
    case CK_PHONE_OLDER: c->older++; break;
    case CK_PHONE_STRANDED: c->stranded++; c->current++; break;
    default: c->current++; break;
    }
}

int ck_drift_build(const ck_phone_row *rows, size_t n, const char *ctl_md5, int64_t now, int64_t max_age_s,
                   ck_drift *out, ck_err *err)
{
    memset(out, 0, sizeof *out);
    snprintf(out->ctl_md5, sizeof out->ctl_md5, "%s", ctl_md5 ? ctl_md5 : "");
    out->now = now;
    out->max_age_s = max_age_s;
    size_t mcap = 0, ocap = 0;
    out->stranded = calloc(n ? n : 1, sizeof *out->stranded);
    if (!out->stranded)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        const ck_phone_row *p = &rows[i];
        ck_drift_counts *m = model_counts(out, p->model, &mcap);
        if (!m)
            goto oom;
        ck_phone_state st = ck_drift_phone_state(p, out->ctl_md5, now, max_age_s);
        count(m, st);
        count(&out->total, st);
        if (st == CK_PHONE_STRANDED)
            snprintf(out->stranded[out->n_stranded++], sizeof out->stranded[0], "%s", p->mac);
        if (st == CK_PHONE_OLDER && add_older(out, p->ctl_md5, &ocap) < 0)
            goto oom;
    }
    if (out->n_models)
        qsort(out->models, out->n_models, sizeof *out->models, by_model);
    if (out->n_older)
        qsort(out->older, out->n_older, sizeof *out->older, by_phones);
    return 0;
oom:
    ck_drift_free(out);
    return ck_fail(err, CK_ENOMEM, "out of memory");
}

static void file_md5(ck_store *s, const char *node, const char *name, char *md5, size_t md5sz, int64_t *version)
{
    ck_file_row f;
    md5[0] = 0;
    *version = 0;
    if (ck_store_get_file(s, node, name, &f, NULL) == 0) {
        snprintf(md5, md5sz, "%s", f.md5);
        *version = f.version;
        ck_file_row_clear(&f);
    }
}

int ck_cluster_drift(ck_cluster *c, int64_t now, ck_drift *out, ck_err *err)
{
    return ck_cluster_drift_history(c, now, out, NULL, err);
}

int ck_cluster_drift_history(ck_cluster *c, int64_t now, ck_drift *out, ck_ctl_history *history, ck_err *err)
{
    ck_store *s = ck_cluster_store(c);
    char ctl_md5[33], v[32];
    int64_t ctl_version;
    file_md5(s, "", CK_CTL_NAME, ctl_md5, sizeof ctl_md5, &ctl_version);
    long long hours = DEFAULT_AGE_HOURS;
    const ck_param_def *def = ck_param_find("PhoneSeenAgeHours");
    if (ck_store_get_param(s, "PhoneSeenAgeHours", v, sizeof v, NULL) != 0 && def)
        snprintf(v, sizeof v, "%s", def->default_value);
    if (def && !ck_parse_ll(v, def->min, def->max, &hours))
        hours = DEFAULT_AGE_HOURS;
    ck_phone_row *rows = NULL;
    size_t n = 0;
    ck_node *nodes = NULL;
    size_t n_nodes = 0;
    if (ck_store_list_phones(s, &rows, &n, err) < 0)
        return -1;
    int rc = ck_drift_build(rows, n, ctl_md5, now, (int64_t)hours * 3600, out, err);
    if (rc == 0 && history && ck_ctl_history_build(rows, n, ctl_md5, now, history, err) < 0)
        rc = -1;
    if (rc == 0 && ck_store_list_nodes(s, &nodes, &n_nodes, err) < 0)
        rc = -1;
    if (rc == 0 && !(out->nodes = calloc(n_nodes ? n_nodes : 1, sizeof *out->nodes)))
        rc = ck_fail(err, CK_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < n_nodes; i++) {
        ck_drift_node *dn = &out->nodes[out->n_nodes++];
        snprintf(dn->name, sizeof dn->name, "%s", nodes[i].name);
        /* One CTL for the cluster (every node's folder holds it), one ITL per node. */
        snprintf(dn->ctl_md5, sizeof dn->ctl_md5, "%s", ctl_md5);
        dn->ctl_version = ctl_version;
        file_md5(s, nodes[i].name, CK_ITL_NAME, dn->itl_md5, sizeof dn->itl_md5, &dn->itl_version);
        for (size_t k = 0; k < n; k++)
            if (rows[k].last_seen >= now - out->max_age_s && strcmp(rows[k].node, dn->name) == 0)
                dn->phones++;
    }
    free(nodes);
    free(rows);
    if (rc < 0)
        ck_drift_free(out);
    return rc;
}

void ck_drift_free(ck_drift *d)
{
    free(d->models);
    free(d->older);
    free(d->nodes);
    free(d->stranded);
    memset(d, 0, sizeof *d);
}
