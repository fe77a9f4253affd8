/* The rehearsal's JSON (include/ctlkit/rehearse_json.h). */
#include "ctlkit/rehearse_json.h"

static json_t *counts_json(const ck_rh_model *m)
{
    json_t *o = json_object();
    if (m->model[0])
        json_object_set_new(o, "model", json_string(m->model));
    json_object_set_new(o, "direct", json_integer((json_int_t)m->n[CK_RH_DIRECT]));
    json_object_set_new(o, "via_tvs", json_integer((json_int_t)m->n[CK_RH_VIA_TVS]));
    json_object_set_new(o, "reject", json_integer((json_int_t)m->n[CK_RH_REJECT]));
    json_object_set_new(o, "no_change", json_integer((json_int_t)m->n[CK_RH_NO_CHANGE]));
    json_object_set_new(o, "unknown", json_integer((json_int_t)m->n[CK_RH_UNKNOWN]));
    return o;
}

json_t *ck_rehearsal_json(const ck_rehearsal *r, const char *node, const char *const *commands, size_t n)
{
    json_t *o = json_object(), *cmds = json_array(), *models = json_array(), *phones = json_array(),
           *notes = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(cmds, json_string(commands[i]));
    for (size_t i = 0; i < r->n_models; i++)
        json_array_append_new(models, counts_json(&r->models[i]));
    for (size_t i = 0; i < r->n_phones; i++) {
        const ck_rh_phone *p = &r->phones[i];
        json_array_append_new(phones, json_pack("{s:s,s:s,s:b,s:s,s:s,s:s,s:s}", "name", p->name, "model", p->model,
                                                "sbd", p->sbd, "node", p->node, "outcome", ck_rh_outcome_name(p->outcome),
                                                "reason", p->reason, "detail", p->detail));
    }
    for (size_t i = 0; i < r->n_notes; i++)
        json_array_append_new(notes, json_string(r->notes[i]));
    json_object_set_new(o, "node", json_string(node));
    json_object_set_new(o, "commands", cmds);
    json_object_set_new(o, "ctl_md5_before", json_string(r->ctl_md5_before));
    json_object_set_new(o, "ctl_md5_after", json_string(r->ctl_md5_after));
    json_object_set_new(o, "models", models);
    json_object_set_new(o, "total", counts_json(&r->total));
    json_object_set_new(o, "phones", phones);
    json_object_set_new(o, "notes", notes);
    return o;
}
