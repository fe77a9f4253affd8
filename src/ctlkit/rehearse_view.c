#include "rehearse_view.h"

#include <string.h>

static void counts_line(FILE *out, const char *name, const ck_rh_model *m)
{
    fprintf(out, "%-10s %8zu %8zu %8zu %9zu %8zu\n", name, m->n[CK_RH_DIRECT], m->n[CK_RH_VIA_TVS],
            m->n[CK_RH_REJECT], m->n[CK_RH_NO_CHANGE], m->n[CK_RH_UNKNOWN]);
}

void rehearsal_print(FILE *out, const ck_rehearsal *r, const char *node, const char *const *commands, size_t n)
{
    fprintf(out, "Rehearsal on a throw-away copy of the cluster (the real cluster is untouched), node %s:\n", node);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "  %zu. %s\n", i + 1, commands[i]);
    fprintf(out, "CTL MD5 now:   %s\n", r->ctl_md5_before[0] ? r->ctl_md5_before : "(none published)");
    fprintf(out, "CTL MD5 after: %s\n", r->ctl_md5_after[0] ? r->ctl_md5_after : "(none published)");
    for (size_t i = 0; i < r->n_notes; i++)
        fprintf(out, "NOTE: %s\n", r->notes[i]);
    fprintf(out, "\nKnown phones at their next reset:\n");
    fprintf(out, "%-10s %8s %8s %8s %9s %8s\n", "Model", "Direct", "Via TVS", "Reject", "No change", "Unknown");
    for (size_t i = 0; i < r->n_models; i++)
        counts_line(out, r->models[i].model, &r->models[i]);
    counts_line(out, "Total", &r->total);
    if (r->total.n[CK_RH_REJECT]) {
        fprintf(out, "\nPhones that will reject (delete their CTL by hand, then reset them):\n");
        for (size_t i = 0; i < r->n_phones; i++)
            if (r->phones[i].outcome == CK_RH_REJECT)
                fprintf(out, "  %-15s %-8s %s\n", r->phones[i].name, r->phones[i].model, r->phones[i].detail);
    }
    if (r->n_phones) {
        fprintf(out, "\nPhones:\n");
        for (size_t i = 0; i < r->n_phones; i++)
            fprintf(out, "  %-15s %-8s %-9s %s\n", r->phones[i].name, r->phones[i].model,
                    ck_rh_outcome_name(r->phones[i].outcome), r->phones[i].reason[0] ? r->phones[i].reason : "-");
    }
}

void rehearsal_reject_line(const ck_rehearsal *r, char *buf, size_t len)
{
    buf[0] = '\0';
    if (!r->total.n[CK_RH_REJECT])
        return;
    size_t used = (size_t)snprintf(buf, len, "%zu known phone%s will reject the new CTL/ITL (", r->total.n[CK_RH_REJECT],
                                   r->total.n[CK_RH_REJECT] == 1 ? "" : "s");
    bool first = true;
    for (size_t i = 0; i < r->n_models && used < len; i++) {
        if (!r->models[i].n[CK_RH_REJECT])
            continue;
        used += (size_t)snprintf(buf + used, len - used, "%s%s: %zu", first ? "" : ", ", r->models[i].model,
                                 r->models[i].n[CK_RH_REJECT]);
        first = false;
    }
    if (used < len)
        snprintf(buf + used, len - used, "); run `ctlkit rehearse` for the list");
}
