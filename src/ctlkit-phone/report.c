/* Output. Words follow the phone's own: "Trust List Update Failed" is
 * what the handset shows, and admins search for it. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlkit/x509.h"
#include "report.h"

static unsigned model_index(const ph_model *m)
{
    for (unsigned i = 0; ph_model_at(i); i++)
        if (ph_model_at(i) == m)
            return i;
    return 0;
}

static void file_line(FILE *out, const char *what, const ph_file_report *f)
{
    if (f->status == PH_F_SKIPPED && !f->file[0])
        return;
    fprintf(out, "  %-28s ", f->file[0] ? f->file : what);
    switch (f->status) {
    case PH_F_REJECTED:
        if (strcmp(what, "config") == 0)
            fprintf(out, "rejected: %s\n", f->detail);
        else
            fprintf(out, "Trust List Update Failed (%s): %s\n", ck_ph_reason_name(f->reason), f->detail);
        break;
    case PH_F_INSTALLED:
        fprintf(out, "installed (%s): %s\n", ck_ph_reason_name(f->reason), f->detail);
        break;
    default:
        fprintf(out, "%s%s%s\n", ph_file_status_name(f->status), f->detail[0] ? ": " : "", f->detail);
    }
    if (f->tvs_asked)
        fprintf(out, "  %-28s TVS %s%s\n", "", f->tvs_server[0] ? f->tvs_server : "", f->tvs_cached ? " (cached answer)" : "");
}

static void list_line(FILE *out, const char *label, const ph_list *l, const ph_model *m)
{
    if (!l)
        fprintf(out, "%s: Not Installed\n", label);
    else
        fprintf(out, "%s: %s(%s)\n", label, ph_list_sum(l, m->checksum), ph_checksum_name(m->checksum));
}

void ph_report_boot_text(FILE *out, const ph_phone *p, const ph_boot_report *r)
{
    fprintf(out, "SEP%s (%s, %s)\n", p->mac, p->model->label, p->model->sbd ? "Security by Default" : "no SBD");
    file_line(out, "CTL", &r->ctl);
    if (p->model->sbd)
        file_line(out, "ITL", &r->itl);
    file_line(out, "config", &r->cnf);
    list_line(out, "CTL File", p->ctl, p->model);
    if (p->model->sbd)
        list_line(out, "ITL File", p->itl, p->model);
    fprintf(out, "Result: %s%s%s\n", ph_outcome_name(r->outcome), r->outcome == PH_OUT_REJECTED ? " " : "",
            r->outcome == PH_OUT_REJECTED ? ck_ph_reason_name(r->reason) : "");
}

static json_t *file_json(const ph_file_report *f)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "file", f->file, "status", ph_file_status_name(f->status), "detail",
                          f->detail, "size", (json_int_t)f->size);
    if (!o)
        return NULL;
    if (f->server[0])
        json_object_set_new(o, "server", json_string(f->server));
    if (f->reason != CK_PH_R_NONE)
        json_object_set_new(o, "reason", json_string(ck_ph_reason_name(f->reason)));
    if (f->tvs_asked) {
        json_object_set_new(o, "tvs_server", json_string(f->tvs_server));
        json_object_set_new(o, "tvs_cached", json_boolean(f->tvs_cached));
    }
    return o;
}

static json_t *sum_json(const ph_list *l, const ph_model *m)
{
    if (!l)
        return json_null();
    return json_pack("{s:s, s:s, s:s, s:I}", "checksum", ph_list_sum(l, m->checksum), "algorithm",
                     ph_checksum_name(m->checksum), "sha1", l->sha1hex, "length", (json_int_t)l->len);
}

json_t *ph_report_boot_json(const ph_phone *p, const ph_boot_report *r)
{
    json_t *o = json_pack("{s:s, s:s, s:b, s:s, s:o, s:o, s:o, s:o, s:o, s:i, s:f}", "mac", p->mac, "model",
                          p->model->name, "sbd", p->model->sbd, "outcome", ph_outcome_name(r->outcome), "ctl",
                          file_json(&r->ctl), "itl", file_json(&r->itl), "config", file_json(&r->cnf),
                          "installed_ctl", sum_json(p->ctl, p->model), "installed_itl", sum_json(p->itl, p->model),
                          "tvs_queries", (int)r->tvs_queries, "ms", r->ms);
    if (o && r->outcome == PH_OUT_REJECTED)
        json_object_set_new(o, "reason", json_string(ck_ph_reason_name(r->reason)));
    if (o) /* what the configuration said: security mode, encrypted, CAPF */
        json_object_set_new(o, "security", ph_cnf_to_json(&p->cnf));
    return o;
}

/* ---- the trust-list screen ---- */

static void span_str(const ck_span *s, char *out, size_t outsz)
{
    size_t n = s->p ? (s->n < outsz - 1 ? s->n : outsz - 1) : 0;
    if (n)
        memcpy(out, s->p, n);
    out[n] = '\0';
}

static void records_text(FILE *out, const ph_list *l)
{
    const ck_tl_file *f = l->parsed;
    for (size_t i = 0; i < f->n_records; i++) {
        const ck_tl_record *r = &f->records[i];
        char subj[256], iss[256], dns[128];
        span_str(&r->subject, subj, sizeof(subj));
        span_str(&r->issuer, iss, sizeof(iss));
        span_str(&r->dns_name, dns, sizeof(dns));
        const char *role = r->has_function ? ck_role_name(r->function) : NULL;
        fprintf(out, "    %2zu  %-9s %s%s%s\n", i + 1, role ? role : "?", subj[0] ? subj : "(no certificate)",
                dns[0] ? "  host " : "", dns);
        if (iss[0])
            fprintf(out, "        %-9s issuer %s\n", "", iss);
    }
}

void ph_show_text(FILE *out, const ph_phone *p)
{
    const ph_model *m = p->model;
    fprintf(out, "SEP%s  %s\n", p->mac[0] ? p->mac : "????????????", m ? m->label : "(model unknown)");
    fprintf(out, "Settings > Security > Trust List\n");
    if (!m)
        return;
    list_line(out, "  CTL File", p->ctl, m);
    if (p->ctl)
        records_text(out, p->ctl);
    if (m->sbd) {
        list_line(out, "  ITL File", p->itl, m);
        if (p->itl)
            records_text(out, p->itl);
    } else {
        fprintf(out, "  ITL File: Not Supported (no Security by Default)\n");
    }
    fprintf(out, "  TVS cache: %zu answer(s)\n", p->cache.n);
    if (p->cnf.known)
        fprintf(out, "Configuration: security mode %d (%s), encrypted %s\n", p->cnf.security_mode,
                ph_cnf_mode_name(p->cnf.security_mode), p->cnf.encrypted ? "yes" : "no");
    else
        fprintf(out, "Configuration: none read yet\n");
}

static json_t *records_json(const ph_list *l)
{
    json_t *a = json_array();
    const ck_tl_file *f = l->parsed;
    for (size_t i = 0; a && i < f->n_records; i++) {
        const ck_tl_record *r = &f->records[i];
        char subj[256], iss[256], dns[128];
        span_str(&r->subject, subj, sizeof(subj));
        span_str(&r->issuer, iss, sizeof(iss));
        span_str(&r->dns_name, dns, sizeof(dns));
        const char *role = r->has_function ? ck_role_name(r->function) : NULL;
        json_array_append_new(a, json_pack("{s:i, s:s, s:s, s:s, s:s}", "function", r->has_function ? (int)r->function : -1,
                                           "role", role ? role : "?", "subject", subj, "issuer", iss, "dns_name", dns));
    }
    return a;
}

json_t *ph_show_json(const ph_phone *p)
{
    const ph_model *m = p->model;
    json_t *o = json_pack("{s:s, s:s, s:b}", "mac", p->mac, "model", m ? m->name : "", "sbd", m ? m->sbd : false);
    if (!o || !m)
        return o;
    json_t *ctl = sum_json(p->ctl, m), *itl = sum_json(p->itl, m);
    if (p->ctl && ctl)
        json_object_set_new(ctl, "records", records_json(p->ctl));
    if (p->itl && itl)
        json_object_set_new(itl, "records", records_json(p->itl));
    json_object_set_new(o, "ctl", ctl);
    json_object_set_new(o, "itl", itl);
    json_object_set_new(o, "tvs_cache", ph_cache_to_json(&p->cache));
    json_object_set_new(o, "config", ph_cnf_to_json(&p->cnf));
    return o;
}

/* ---- fleet summary ---- */

void ph_summary_add(ph_summary *s, const ph_phone *p, const ph_boot_report *r)
{
    unsigned mi = model_index(p->model);
    if (mi >= PH_MAX_MODELS)
        mi = 0;
    s->total++;
    s->by[mi][r->outcome]++;
    if (r->outcome == PH_OUT_REJECTED && (unsigned)r->reason < PH_MAX_REASONS)
        s->reasons[mi][r->reason]++;
    if (r->cnf.status == PH_F_VERIFIED || r->cnf.status == PH_F_LOADED) {
        if (p->cnf.encrypted)
            s->cfg_encrypted++;
        else
            s->cfg_plain++;
    }
    s->tvs_queries += r->tvs_queries;
    s->boot_ms_sum += r->ms;
    if (r->ms > s->boot_ms_max)
        s->boot_ms_max = r->ms;
}

void ph_summary_text(FILE *out, const ph_summary *s)
{
    fprintf(out, "%-8s %7s %10s %10s %9s %7s\n", "model", "phones", "installed", "unchanged", "rejected", "failed");
    unsigned tot[4] = {0};
    for (unsigned i = 0; i < PH_MAX_MODELS && ph_model_at(i); i++) {
        unsigned n = s->by[i][0] + s->by[i][1] + s->by[i][2] + s->by[i][3];
        if (!n)
            continue;
        fprintf(out, "%-8s %7u %10u %10u %9u %7u\n", ph_model_at(i)->name, n, s->by[i][0], s->by[i][1], s->by[i][2],
                s->by[i][3]);
        for (int k = 0; k < 4; k++)
            tot[k] += s->by[i][k];
    }
    fprintf(out, "%-8s %7u %10u %10u %9u %7u\n", "total", s->total, tot[0], tot[1], tot[2], tot[3]);
    for (unsigned i = 0; i < PH_MAX_MODELS && ph_model_at(i); i++)
        for (unsigned r = 0; r < PH_MAX_REASONS; r++)
            if (s->reasons[i][r])
                fprintf(out, "rejected: %u x %s: Trust List Update Failed (%s)\n", s->reasons[i][r],
                        ph_model_at(i)->name, ck_ph_reason_name((ck_ph_reason)r));
    /* only fleets that deal in CAPF or encrypted configurations: the others' output stays as it was */
    if (s->cfg_encrypted || s->lsc_issued || s->lsc_refused || s->capf_failed || s->capf_waiting)
        fprintf(out, "CAPF: %u LSCs issued, %u refused, %u failed, %u waiting for the authentication string; "
                     "configurations: %u encrypted, %u plain\n",
                s->lsc_issued, s->lsc_refused, s->capf_failed, s->capf_waiting, s->cfg_encrypted, s->cfg_plain);
    fprintf(out, "%u phones in %.1f s (%.0f phones/s), %u TVS queries, boot time mean %.1f ms, max %.1f ms\n",
            s->total, s->wall_ms / 1e3, s->wall_ms > 0 ? s->total / (s->wall_ms / 1e3) : 0.0, s->tvs_queries,
            s->total ? s->boot_ms_sum / s->total : 0.0, s->boot_ms_max);
}

json_t *ph_summary_json(const ph_summary *s)
{
    json_t *models = json_array();
    for (unsigned i = 0; models && i < PH_MAX_MODELS && ph_model_at(i); i++) {
        unsigned n = s->by[i][0] + s->by[i][1] + s->by[i][2] + s->by[i][3];
        if (!n)
            continue;
        json_t *reasons = json_object();
        for (unsigned r = 0; reasons && r < PH_MAX_REASONS; r++)
            if (s->reasons[i][r])
                json_object_set_new(reasons, ck_ph_reason_name((ck_ph_reason)r), json_integer(s->reasons[i][r]));
        json_array_append_new(models, json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:o}", "model", ph_model_at(i)->name,
                                                "phones", (int)n, "installed", (int)s->by[i][0], "unchanged",
                                                (int)s->by[i][1], "rejected", (int)s->by[i][2], "failed",
                                                (int)s->by[i][3], "reasons", reasons));
    }
    return json_pack("{s:i, s:o, s:i, s:f, s:f, s:f, s:{s:i, s:i, s:i, s:i}, s:{s:i, s:i}}", "phones",
                     (int)s->total, "models", models, "tvs_queries", (int)s->tvs_queries, "wall_ms", s->wall_ms,
                     "boot_ms_mean", s->total ? s->boot_ms_sum / s->total : 0.0, "boot_ms_max", s->boot_ms_max,
                     "capf", "lsc_issued", (int)s->lsc_issued, "lsc_refused", (int)s->lsc_refused, "failed",
                     (int)s->capf_failed, "waiting", (int)s->capf_waiting, "configs", "encrypted",
                     (int)s->cfg_encrypted, "plain", (int)s->cfg_plain);
}

/* ---- progress ---- */

void ph_progress_init(ph_progress *pg, unsigned total)
{
    memset(pg, 0, sizeof(*pg));
    pg->total = total;
    pg->on = isatty(STDERR_FILENO) && total > 1;
    pg->last_pct = 101;
}

void ph_progress_step(ph_progress *pg, const ph_summary *s)
{
    pg->done++;
    if (!pg->on)
        return;
    unsigned pct = pg->total ? pg->done * 100 / pg->total : 100;
    if (pct == pg->last_pct && pg->done != pg->total)
        return; /* redraw only when the percentage moves */
    pg->last_pct = pct;
    char bar[41];
    unsigned fill = pct * 40 / 100;
    memset(bar, '#', fill);
    memset(bar + fill, '.', 40 - fill);
    bar[40] = '\0';
    unsigned rej = 0, fail = 0;
    for (unsigned i = 0; i < PH_MAX_MODELS; i++) {
        rej += s->by[i][PH_OUT_REJECTED];
        fail += s->by[i][PH_OUT_FAILED];
    }
    fprintf(stderr, "\r[%s] %3u%% %u/%u  rejected %u  failed %u", bar, pct, pg->done, pg->total, rej, fail);
    fflush(stderr);
}

void ph_progress_end(ph_progress *pg)
{
    if (pg->on)
        fputs("\n", stderr);
}
