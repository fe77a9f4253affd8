/* The phones pages (pages.h): the drift, a progress bar per model, the
 * chart, the filtered and paged phone list, one phone. Every value comes
 * from the view JSON (views_phones.h); data-field attributes name its
 * fields. Bars are <progress> elements: no inline style under the CSP. */
#include <event2/http.h>
#include <stdlib.h>

#include "chart.h"
#include "html.h"
#include "pages.h"

/* A query string value, percent-encoded, then HTML-escaped. */
static void query_value(struct evbuffer *b, const char *v)
{
    char *enc = evhttp_encode_uri(v ? v : "");
    html_text(b, enc ? enc : "");
    free(enc);
}

/* A link to the list filtered by model (NULL any) and state. */
static void list_link(struct evbuffer *b, const char *model, const char *state, long long page)
{
    evbuffer_add_printf(b, "/phones?model=");
    query_value(b, model);
    evbuffer_add_printf(b, "&amp;state=");
    query_value(b, state);
    if (page > 1)
        evbuffer_add_printf(b, "&amp;page=%lld", page);
}

static long long num(const json_t *o, const char *k) { return (long long)json_integer_value(json_object_get(o, k)); }

/* current of the phones heard from within the age (aged-out ones are not
 * known any more: they may have left). */
static void progress(struct evbuffer *b, const json_t *counts)
{
    long long cur = num(counts, "current"), known = cur + num(counts, "older") + num(counts, "none");
    evbuffer_add_printf(b, "<td class=\"progress\"><progress max=\"%lld\" value=\"%lld\"></progress> "
                           "<span data-field=\"progress\">%lld/%lld</span></td>",
                        known ? known : 1, cur, cur, known);
}

static const char *const states[] = {"current", "older", "none", "stranded", "aged_out"};

static void counts_row(struct evbuffer *b, const json_t *c, const char *model, const char *label)
{
    evbuffer_add_printf(b, "<tr class=\"%s\">", model ? "model" : "total");
    html_text_cell(b, "model", label);
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        evbuffer_add_printf(b, "<td data-field=\"%s\"><a href=\"", states[i]);
        list_link(b, model, states[i], 1);
        evbuffer_add_printf(b, "\">%lld</a></td>", num(c, states[i][0] == 'a' ? "aged_out" : states[i]));
    }
    progress(b, c);
    evbuffer_add_printf(b, "</tr>\n");
}

static void nodes_table(struct evbuffer *b, const json_t *trust)
{
    evbuffer_add_printf(b, "<h2>What each node serves</h2>\n");
    html_table_head(b, "phone-nodes", "Node", "CTLFile.tlv MD5", "Version", "ITLFile.tlv MD5", "Version",
                    "Phones heard last", NULL);
    size_t i;
    const json_t *n;
    json_array_foreach(json_object_get(trust, "nodes"), i, n)
    {
        html_row(b, "node", n, "name", "ctl_md5", "ctl_version", "itl_md5", "itl_version", "phones", NULL);
    }
    html_table_end(b);
}

static void models_table(struct evbuffer *b, const json_t *trust)
{
    evbuffer_add_printf(b, "<h2>Migration by model</h2>\n");
    html_table_head(b, "phone-models", "Model", "Current", "Older", "None", "Stranded", "Aged out",
                    "On the current CTL", NULL);
    size_t i;
    const json_t *m;
    json_array_foreach(json_object_get(trust, "models"), i, m)
    {
        const char *name = json_string_value(json_object_get(m, "model"));
        counts_row(b, m, name ? name : "", name ? name : "-");
    }
    counts_row(b, json_object_get(trust, "total"), NULL, "Total");
    html_table_end(b);
    const json_t *older = json_object_get(trust, "older_ctls");
    if (json_array_size(older)) {
        evbuffer_add_printf(b, "<h3>Older CTLs still held</h3>\n");
        html_table_head(b, "older-ctls", "CTL MD5", "Phones", NULL);
        const json_t *o;
        json_array_foreach(older, i, o)
        {
            html_row(b, "older", o, "md5", "phones", NULL);
        }
        html_table_end(b);
    }
}

/* A GET form: it changes nothing, so it needs no CSRF token. */
static void filter_form(struct evbuffer *b, const json_t *v)
{
    const json_t *f = json_object_get(v, "filter");
    const char *model = json_string_value(json_object_get(f, "model"));
    const char *state = json_string_value(json_object_get(f, "state"));
    evbuffer_add_printf(b, "<form id=\"filter\" method=\"get\" action=\"/phones\"><label>Model <select name=\"model\" "
                           "id=\"filter-model\">");
    html_option(b, "", "any", NULL);
    size_t i;
    const json_t *m;
    json_array_foreach(json_object_get(json_object_get(v, "trust"), "models"), i, m)
    {
        const char *name = json_string_value(json_object_get(m, "model"));
        html_option(b, name, name, model);
    }
    evbuffer_add_printf(b, "</select></label> <label>State <select name=\"state\" id=\"filter-state\">");
    html_option(b, "any", "any", NULL);
    for (size_t k = 0; k < sizeof states / sizeof states[0]; k++)
        html_option(b, states[k], states[k], state);
    evbuffer_add_printf(b, "</select></label> <button type=\"submit\" id=\"filter-go\">Show</button></form>\n");
}

static void phone_list(struct evbuffer *b, const json_t *v)
{
    const json_t *f = json_object_get(v, "filter");
    const char *model = json_string_value(json_object_get(f, "model"));
    const char *state = json_string_value(json_object_get(f, "state"));
    long long page = num(v, "page"), pages = num(v, "pages");
    evbuffer_add_printf(b, "<p><span id=\"total\">%lld</span> phone(s) match.</p>\n", num(v, "total"));
    html_table_head(b, "phones", "Phone", "Model", "IP", "Node", "State", "CTL MD5", "CTL fetched (UTC)", "ITL MD5",
                    "Last seen (UTC)", NULL);
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(v, "phones"), i, p)
    {
        const char *name = json_string_value(json_object_get(p, "name"));
        evbuffer_add_printf(b, "<tr class=\"phone\"><td data-field=\"name\"><a href=\"/phones/");
        html_text(b, name);
        evbuffer_add_printf(b, "\">");
        html_text(b, name);
        evbuffer_add_printf(b, "</a></td>");
        html_cells(b, p, "model", "ip", "node", "state", "ctl_md5", "ctl_at", "itl_md5", "last_seen", NULL);
        evbuffer_add_printf(b, "</tr>\n");
    }
    html_table_end(b);
    evbuffer_add_printf(b, "<p class=\"pager\">Page <span id=\"page\">%lld</span> of "
                           "<span id=\"pages\">%lld</span> ",
                        page, pages ? pages : 1);
    if (page > 1) {
        evbuffer_add_printf(b, "<a id=\"prev\" href=\"");
        list_link(b, model, state, page - 1);
        evbuffer_add_printf(b, "\">previous</a> ");
    }
    if (json_is_true(json_object_get(v, "has_next"))) {
        evbuffer_add_printf(b, "<a id=\"next\" href=\"");
        list_link(b, model, state, page + 1);
        evbuffer_add_printf(b, "\">next</a>");
    }
    evbuffer_add_printf(b, "</p>\n");
}

void page_phones(struct evbuffer *b, const json_t *v, const web_session *ss)
{
    html_begin(b, "Phones", "/phones", ss);
    const json_t *trust = json_object_get(v, "trust");
    evbuffer_add_printf(b, "<table class=\"facts\"><tr><th>Current CTL MD5</th><td id=\"ctl_md5\">");
    html_json(b, json_object_get(trust, "ctl_md5"));
    evbuffer_add_printf(b, "</td></tr><tr><th>Counted as heard from within</th><td><span id=\"max_age_hours\">");
    html_json(b, json_object_get(trust, "max_age_hours"));
    evbuffer_add_printf(b, "</span> hours</td></tr></table>\n");
    models_table(b, trust);
    nodes_table(b, trust);
    evbuffer_add_printf(b, "<h2>Phones per CTL over time</h2>\n");
    chart_ctl_history(b, json_object_get(v, "history"));
    evbuffer_add_printf(b, "<h2>Phones</h2>\n");
    filter_form(b, v);
    phone_list(b, v);
    html_end(b);
}

void page_phone(struct evbuffer *b, const json_t *v, const web_session *ss)
{
    const char *name = json_string_value(json_object_get(v, "name"));
    html_begin(b, name ? name : "Phone", "/phones", ss);
    static const struct {
        const char *label, *field;
    } rows[] = {
        {"MAC", "mac"},
        {"Model", "model"},
        {"IP address", "ip"},
        {"Node heard last", "node"},
        {"State", "state"},
        {"CTL held (MD5)", "ctl_md5"},
        {"CTL downloaded (UTC)", "ctl_at"},
        {"Cluster's current CTL", "cluster_ctl_md5"},
        {"ITL held (MD5)", "itl_md5"},
        {"ITL downloaded (UTC)", "itl_at"},
        {"TVS answers valid", "tvs_valid"},
        {"TVS answers invalid", "tvs_invalid"},
        {"TVS's last answer", "tvs_last"},
        {"TVS's last answer at (UTC)", "tvs_at"},
        {"Last seen (UTC)", "last_seen"},
    };
    evbuffer_add_printf(b, "<table class=\"facts\" id=\"phone\">\n");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        html_fact(b, rows[i].label, rows[i].field, json_object_get(v, rows[i].field));
    evbuffer_add_printf(b, "</table>\n<p>The nodes record each phone's last complete CTL and ITL download and the "
                           "TVS answers it got (counts, and the last one); earlier downloads are not kept.</p>\n"
                           "<p><a id=\"back\" href=\"/phones\">All phones</a></p>\n");
    html_end(b);
}
