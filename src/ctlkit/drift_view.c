#include "drift_view.h"

#include <string.h>

static json_t *counts_json(const ck_drift_counts *c)
{
    json_t *o = json_object();
    if (c->model[0])
        json_object_set_new(o, "model", json_string(c->model));
    json_object_set_new(o, "current", json_integer((json_int_t)c->current));
    json_object_set_new(o, "older", json_integer((json_int_t)c->older));
    json_object_set_new(o, "none", json_integer((json_int_t)c->none));
    json_object_set_new(o, "stranded", json_integer((json_int_t)c->stranded));
    json_object_set_new(o, "aged_out", json_integer((json_int_t)c->stale));
    return o;
}

json_t *drift_json(const ck_drift *d)
{
    json_t *o = json_object(), *nodes = json_array(), *models = json_array(), *older = json_array(),
           *stranded = json_array();
    json_object_set_new(o, "ctl_md5", json_string(d->ctl_md5));
    json_object_set_new(o, "max_age_hours", json_integer((json_int_t)(d->max_age_s / 3600)));
    for (size_t i = 0; i < d->n_nodes; i++) {
        const ck_drift_node *n = &d->nodes[i];
        json_array_append_new(nodes, json_pack("{s:s,s:s,s:I,s:s,s:I,s:I}", "name", n->name, "ctl_md5", n->ctl_md5,
                                               "ctl_version", (json_int_t)n->ctl_version, "itl_md5", n->itl_md5,
                                               "itl_version", (json_int_t)n->itl_version, "phones",
                                               (json_int_t)n->phones));
    }
    for (size_t i = 0; i < d->n_models; i++)
        json_array_append_new(models, counts_json(&d->models[i]));
    for (size_t i = 0; i < d->n_older; i++)
        json_array_append_new(older, json_pack("{s:s,s:I}", "md5", d->older[i].md5, "phones",
                                               (json_int_t)d->older[i].phones));
    for (size_t i = 0; i < d->n_stranded; i++) {
        char name[16];
        snprintf(name, sizeof name, "SEP%s", d->stranded[i]);
        json_array_append_new(stranded, json_string(name));
    }
    json_object_set_new(o, "nodes", nodes);
    json_object_set_new(o, "models", models);
    json_object_set_new(o, "total", counts_json(&d->total));
    json_object_set_new(o, "older_ctls", older);
    json_object_set_new(o, "stranded", stranded);
    return o;
}

static void counts_line(FILE *out, const char *name, const ck_drift_counts *c)
{
    fprintf(out, "%-10s %8zu %8zu %8zu %9zu %9zu\n", name, c->current, c->older, c->none, c->stranded, c->stale);
}

void drift_print(FILE *out, const ck_drift *d)
{
    fprintf(out, "Phones seen by the cluster's TFTP and TVS (current: heard from within %lld hours)\n",
            (long long)(d->max_age_s / 3600));
    fprintf(out, "Current CTL MD5: %s\n\n", d->ctl_md5[0] ? d->ctl_md5 : "(none published)");
    fprintf(out, "%-16s %-32s %4s %-32s %4s %7s\n", "Node", "CTLFile.tlv MD5", "Ver", "ITLFile.tlv MD5", "Ver",
            "Phones");
    for (size_t i = 0; i < d->n_nodes; i++) {
        const ck_drift_node *n = &d->nodes[i];
        fprintf(out, "%-16s %-32s %4lld %-32s %4lld %7zu\n", n->name, n->ctl_md5[0] ? n->ctl_md5 : "-",
                (long long)n->ctl_version, n->itl_md5[0] ? n->itl_md5 : "-", (long long)n->itl_version, n->phones);
    }
    fprintf(out, "\n%-10s %8s %8s %8s %9s %9s\n", "Model", "Current", "Older", "None", "Stranded", "Aged out");
    for (size_t i = 0; i < d->n_models; i++)
        counts_line(out, d->models[i].model, &d->models[i]);
    counts_line(out, "Total", &d->total);
    if (d->n_older) {
        fprintf(out, "\nOlder CTLs still held:\n");
        for (size_t i = 0; i < d->n_older; i++)
            fprintf(out, "  %s  %zu phone%s\n", d->older[i].md5, d->older[i].phones, d->older[i].phones == 1 ? "" : "s");
    }
    if (d->n_stranded) {
        fprintf(out, "\nStranded (fetched the current CTL, then TVS answered invalid):\n");
        for (size_t i = 0; i < d->n_stranded; i++)
            fprintf(out, "  SEP%s\n", d->stranded[i]);
    }
}

void drift_summary_line(const ck_drift *d, char *buf, size_t len)
{
    snprintf(buf, len, "%zu on the current CTL, %zu on an older one, %zu with none, %zu stranded, %zu aged out",
             d->total.current, d->total.older, d->total.none, d->total.stranded, d->total.stale);
}
