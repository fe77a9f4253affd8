/* The rehearsal page (pages.h): the form (a node, rows of command and
 * argument), then, after a POST, the result as `ctlkit rehearse` shows it:
 * counts per model and the phones that would reject. Values come from the
 * views' JSON; data-field attributes name its fields. */
#include <string.h>

#include "html.h"
#include "pages.h"

static void form(struct evbuffer *b, const json_t *f, const web_session *ss)
{
    evbuffer_add_printf(b, "<form id=\"rehearse\" class=\"rehearse\" method=\"post\" action=\"/rehearsal\">");
    html_csrf(b, ss);
    evbuffer_add_printf(b, "<p><label>Node <select name=\"node\" id=\"rh-node\">");
    const char *node = json_string_value(json_object_get(f, "node"));
    size_t i;
    const json_t *n;
    json_array_foreach(json_object_get(f, "nodes"), i, n)
    {
        html_option(b, json_string_value(n), json_string_value(n), node);
    }
    evbuffer_add_printf(b, "</select></label></p>\n");
    html_table_head(b, "rh-rows", "#", "Command", "Argument", NULL);
    long long rows = json_integer_value(json_object_get(f, "rows"));
    for (long long r = 1; r <= rows; r++) {
        evbuffer_add_printf(b, "<tr><td>%lld</td><td><select name=\"op%lld\" id=\"op%lld\">", r, r, r);
        html_option(b, "", "(none)", NULL);
        const json_t *op;
        json_array_foreach(json_object_get(f, "operations"), i, op)
        {
            const char *command = json_string_value(json_object_get(op, "command"));
            html_option_open(b, command, NULL);
            html_text(b, command);
            const char *arg = json_string_value(json_object_get(op, "argument"));
            if (arg && *arg) {
                evbuffer_add_printf(b, " ");
                html_text(b, arg);
            }
            evbuffer_add_printf(b, "</option>");
        }
        evbuffer_add_printf(b, "</select></td><td><input name=\"arg%lld\" id=\"arg%lld\" size=\"32\" "
                               "maxlength=\"200\"></td></tr>\n",
                            r, r);
    }
    html_table_end(b);
    evbuffer_add_printf(b, "<p><button type=\"submit\" id=\"rehearse-go\">Rehearse</button> "
                           "(on a throw-away copy: the cluster is not changed)</p></form>\n");
}

static void counts_row(struct evbuffer *b, const json_t *m, const char *cls, const char *label)
{
    static const char *const outcomes[] = {"direct", "via_tvs", "reject", "no_change", "unknown"};
    evbuffer_add_printf(b, "<tr class=\"%s\">", cls);
    html_text_cell(b, "model", label);
    for (size_t k = 0; k < sizeof outcomes / sizeof outcomes[0]; k++)
        html_cell(b, outcomes[k], json_object_get(m, outcomes[k]));
    evbuffer_add_printf(b, "</tr>\n");
}

static void result(struct evbuffer *b, const json_t *r)
{
    evbuffer_add_printf(b, "<section id=\"result\"><h2>Result</h2>\n<p>On node <span id=\"rh-ran-on\">");
    html_json(b, json_object_get(r, "node"));
    evbuffer_add_printf(b, "</span>, in order:</p>\n<ol id=\"rh-commands\">");
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(r, "commands"), i, v)
    {
        evbuffer_add_printf(b, "<li>");
        html_json(b, v);
        evbuffer_add_printf(b, "</li>");
    }
    evbuffer_add_printf(b, "</ol>\n<table class=\"facts\"><tr><th>CTL MD5 now</th><td id=\"ctl_md5_before\">");
    html_json(b, json_object_get(r, "ctl_md5_before"));
    evbuffer_add_printf(b, "</td></tr><tr><th>CTL MD5 after</th><td id=\"ctl_md5_after\">");
    html_json(b, json_object_get(r, "ctl_md5_after"));
    evbuffer_add_printf(b, "</td></tr></table>\n");
    json_array_foreach(json_object_get(r, "notes"), i, v)
    {
        evbuffer_add_printf(b, "<p class=\"note\">");
        html_json(b, v);
        evbuffer_add_printf(b, "</p>\n");
    }
    evbuffer_add_printf(b, "<h3>Known phones at their next reset</h3>\n");
    html_table_head(b, "rh-models", "Model", "Direct", "Via TVS", "Reject", "No change", "Unknown", NULL);
    json_array_foreach(json_object_get(r, "models"), i, v)
    {
        const char *name = json_string_value(json_object_get(v, "model"));
        counts_row(b, v, "model", name ? name : "-");
    }
    counts_row(b, json_object_get(r, "total"), "total", "Total");
    html_table_end(b);
    evbuffer_add_printf(b, "<h3>Phones that would reject (delete their CTL by hand, then reset them)</h3>\n");
    html_table_head(b, "rh-rejects", "Phone", "Model", "Node", "Reason", "Detail", NULL);
    json_array_foreach(json_object_get(r, "phones"), i, v)
    {
        const char *outcome = json_string_value(json_object_get(v, "outcome"));
        if (!outcome || strcmp(outcome, "reject") != 0)
            continue;
        html_row(b, "reject", v, "name", "model", "node", "reason", "detail", NULL);
    }
    html_table_end(b);
    evbuffer_add_printf(b, "</section>\n");
}

void page_rehearsal(struct evbuffer *b, const json_t *f, const json_t *r, const char *error, const web_session *ss)
{
    html_begin(b, "Rehearsal", "/rehearsal", ss);
    evbuffer_add_printf(b, "<p>Admin commands run on a throw-away copy of the cluster, then every known phone "
                           "judged with the trust lists it holds: what it will do at its next reset. The cluster "
                           "itself is only read, so read-only users may rehearse too. A rehearsal takes a second "
                           "or two (new keys are made on the copy).</p>\n");
    if (error)
        html_message(b, "error", error);
    form(b, f, ss);
    if (r)
        result(b, r);
    html_end(b);
}
