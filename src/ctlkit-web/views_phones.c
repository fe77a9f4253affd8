/* The phones pages' data (views_phones.h). */
#include "views_phones.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "../ctlkit/drift_view.h"
#include "ctlkit/drift.h"
#include "ctlkit/store.h"
#include "ctlkit/text.h"

/* A time as ISO 8601 UTC; null for 0 (never). */
static json_t *when_json(int64_t t)
{
    if (!t)
        return json_null();
    char out[32];
    return json_string(ck_utc(t, CK_UTC_ISO, out, sizeof out));
}

static json_t *text_or_null(const char *s) { return *s ? json_string(s) : json_null(); }

static json_t *phone_json(const ck_phone_row *p, const ck_drift *d)
{
    char name[16];
    snprintf(name, sizeof name, "SEP%s", p->mac);
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "mac", json_string(p->mac));
    json_object_set_new(o, "model", json_string(p->model[0] ? p->model : CK_DRIFT_UNKNOWN_MODEL));
    json_object_set_new(o, "ip", text_or_null(p->ip));
    json_object_set_new(o, "node", text_or_null(p->node));
    json_object_set_new(
        o, "state", json_string(ck_phone_state_name(ck_drift_phone_state(p, d->ctl_md5, d->now, d->max_age_s))));
    json_object_set_new(o, "ctl_md5", text_or_null(p->ctl_md5));
    json_object_set_new(o, "ctl_at", when_json(p->ctl_at));
    json_object_set_new(o, "itl_md5", text_or_null(p->itl_md5));
    json_object_set_new(o, "itl_at", when_json(p->itl_at));
    json_object_set_new(o, "tvs_valid", json_integer((json_int_t)p->tvs_valid));
    json_object_set_new(o, "tvs_invalid", json_integer((json_int_t)p->tvs_invalid));
    json_object_set_new(o, "tvs_last", text_or_null(p->tvs_last));
    json_object_set_new(o, "tvs_at", when_json(p->tvs_at));
    json_object_set_new(o, "last_seen", when_json(p->last_seen));
    return o;
}

static json_t *history_json(const ck_ctl_history *h)
{
    json_t *times = json_array(), *series = json_array();
    for (size_t i = 0; i < CK_HISTORY_POINTS; i++)
        json_array_append_new(times, when_json(h->times[i]));
    for (size_t s = 0; s < h->n_series; s++) {
        json_t *counts = json_array();
        for (size_t i = 0; i < CK_HISTORY_POINTS; i++)
            json_array_append_new(counts, json_integer((json_int_t)h->series[s].phones[i]));
        json_array_append_new(series, json_pack("{s:o,s:b,s:o}", "ctl_md5", text_or_null(h->series[s].md5),
                                                "current", h->series[s].current, "phones", counts));
    }
    return json_pack("{s:o,s:o}", "times", times, "series", series);
}

json_t *view_phones(ck_cluster *c, const char *model, const char *state, size_t page, int64_t now, ck_err *err)
{
    ck_phone_state st = CK_PHONE_ANY;
    if (state && *state && !ck_phone_state_parse(state, &st))
        return ck_fail(err, CK_EINVAL, "unknown phone state '%.32s' (any, current, older, none, stranded, aged_out)",
                       state),
               NULL;
    if (model && strlen(model) >= sizeof ((ck_phone_row *)0)->model)
        return ck_fail(err, CK_EINVAL, "model name too long"), NULL;
    if (model && !*model)
        model = NULL;
    if (page < 1)
        page = 1;
    ck_drift d;
    ck_ctl_history h;
    if (ck_cluster_drift_history(c, now, &d, &h, err) < 0)
        return NULL;
    ck_phone_query q = {.model = !model ? NULL : strcmp(model, CK_DRIFT_UNKNOWN_MODEL) == 0 ? "" : model,
                        .state = st,
                        .ctl_md5 = d.ctl_md5,
                        .since = now - d.max_age_s};
    ck_phone_row *rows = NULL;
    size_t n = 0, total = 0;
    if (ck_store_page_phones(ck_cluster_store(c), &q, (page - 1) * WEB_PHONES_PER_PAGE, WEB_PHONES_PER_PAGE, &rows,
                             &n, &total, err) < 0) {
        ck_drift_free(&d);
        return NULL;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, phone_json(&rows[i], &d));
    size_t pages = (total + WEB_PHONES_PER_PAGE - 1) / WEB_PHONES_PER_PAGE;
    json_t *root = json_pack("{s:o,s:{s:s?,s:s},s:I,s:I,s:I,s:I,s:b,s:o,s:o}", "trust", drift_json(&d), "filter",
                             "model", model, "state", ck_phone_state_name(st), "page", (json_int_t)page, "per_page",
                             (json_int_t)WEB_PHONES_PER_PAGE, "pages", (json_int_t)pages, "total", (json_int_t)total,
                             "has_next", page < pages, "phones", list, "history", history_json(&h));
    free(rows);
    ck_drift_free(&d);
    return root;
}

json_t *view_phone(ck_cluster *c, const char *name, int64_t now, ck_err *err)
{
    char mac[13];
    const char *hex = strncmp(name, "SEP", 3) == 0 ? name + 3 : name;
    size_t len = strlen(hex);
    for (size_t i = 0; i < len && i < 12; i++)
        mac[i] = (char)toupper((unsigned char)hex[i]);
    if (len != 12 || strspn(hex, "0123456789abcdefABCDEF") != 12)
        return ck_fail(err, CK_EINVAL, "not a phone name: give SEP and 12 hex digits"), NULL;
    mac[12] = '\0';
    ck_drift d;
    if (ck_cluster_drift(c, now, &d, err) < 0)
        return NULL;
    ck_phone_row p;
    json_t *o = NULL;
    if (ck_store_get_phone(ck_cluster_store(c), mac, &p, err) == 0) {
        o = phone_json(&p, &d);
        json_object_set_new(o, "cluster_ctl_md5", text_or_null(d.ctl_md5));
        json_object_set_new(o, "max_age_hours", json_integer((json_int_t)(d.max_age_s / 3600)));
    }
    ck_drift_free(&d);
    return o;
}
