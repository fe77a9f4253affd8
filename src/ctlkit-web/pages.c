/* The dashboard's pages (pages.h). Every value comes from the view JSON;
 * ids and data-field attributes name the JSON fields so that tests and
 * readers can match the page against the API. */
#include "pages.h"

#include <string.h>

#include "html.h"

static void warnings(struct evbuffer *b, const json_t *w)
{
    size_t i;
    const json_t *s;
    if (!json_array_size(w))
        return;
    evbuffer_add_printf(b, "<ul class=\"warnings\">");
    json_array_foreach(w, i, s)
    {
        evbuffer_add_printf(b, "<li class=\"warning\">");
        html_json(b, s);
        evbuffer_add_printf(b, "</li>");
    }
    evbuffer_add_printf(b, "</ul>\n");
}

static void ctl_records(struct evbuffer *b, const json_t *file)
{
    evbuffer_add_printf(b, "<h2>CTL records</h2>\n");
    const json_t *recs = json_object_get(file, "records");
    if (!json_is_array(recs)) {
        evbuffer_add_printf(b, "<p id=\"no-ctl\">No CTL is published.</p>\n");
        return;
    }
    html_table_head(b, "ctl-records", "#", "Function", "Subject", "Issuer", "Serial", "IP", NULL);
    size_t i;
    const json_t *r;
    json_array_foreach(recs, i, r)
    {
        evbuffer_add_printf(b, "<tr class=\"record\"><td>%zu</td>", i + 1);
        html_cells(b, r, "role", "subject", NULL);
        html_cell(b, NULL, json_object_get(r, "issuer"));
        html_cell(b, "serial", json_object_get(r, "serial"));
        html_cell(b, NULL, json_object_get(r, "ip_address"));
        evbuffer_add_printf(b, "</tr>\n");
    }
    html_table_end(b);
}

void page_cluster(struct evbuffer *b, const json_t *v, const web_session *ss, const char *notice)
{
    html_begin(b, "Cluster", "/cluster", ss);
    if (notice)
        html_message(b, "notice", notice);
    warnings(b, json_object_get(v, "warnings"));
    const json_t *ctl = json_object_get(v, "ctl");
    evbuffer_add_printf(b, "<table class=\"facts\">\n");
    html_fact(b, "Cluster", "cluster", json_object_get(v, "cluster"));
    html_fact(b, "Security mode", "security_mode_name", json_object_get(v, "security_mode_name"));
    html_fact(b, "TLS minimum version", "tls_min_version", json_object_get(v, "tls_min_version"));
    html_fact(b, "CTL MD5", "ctl_md5", json_object_get(ctl, "md5"));
    html_fact(b, "CTL version", "ctl_version", json_object_get(ctl, "version"));
    html_table_end(b);
    ctl_records(b, json_object_get(v, "ctl_file"));
    evbuffer_add_printf(b, "<h2>Nodes</h2>\n");
    html_table_head(b, "nodes", "Node", "Role", "IP", "TFTP", "TVS", "CTL copy", "ITL copy", NULL);
    size_t i;
    const json_t *n;
    json_array_foreach(json_object_get(v, "nodes"), i, n)
    {
        evbuffer_add_printf(b, "<tr class=\"node\">");
        html_cells(b, n, "name", "role", "ip", NULL);
        html_cell(b, NULL, json_object_get(n, "tftp_port"));
        html_cell(b, NULL, json_object_get(n, "tvs_port"));
        html_cell(b, "ctl", json_object_get(json_object_get(n, "ctl"), "state"));
        html_cell(b, "itl", json_object_get(json_object_get(n, "itl"), "state"));
        evbuffer_add_printf(b, "</tr>\n");
    }
    html_table_end(b);
    if (ss->role == CK_ROLE_ADMIN) {
        evbuffer_add_printf(b, "<h2>Repair</h2>\n<form class=\"change\" id=\"materialize\" method=\"post\" "
                               "action=\"/cluster/materialize\"><p>Bring every node copy on this host back to what "
                               "the store published (what each ctlkitd does on its own every 30 s).</p>");
        html_csrf(b, ss);
        evbuffer_add_printf(b, "<button type=\"submit\">Repair node copies</button></form>\n");
    }
    html_end(b);
}

void page_certs(struct evbuffer *b, const json_t *v, const web_session *ss)
{
    html_begin(b, "Certificates", "/certs", ss);
    evbuffer_add_printf(b, "<p>Expiring within 30 days: <span id=\"expiring\">");
    html_json(b, json_object_get(v, "expiring"));
    evbuffer_add_printf(b, "</span></p>\n");
    html_table_head(b, "certs", "Node", "Unit or trust store", "Serial", "Subject", "Expires", "Days left", "Warning",
                    NULL);
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(v, "certificates"), i, c)
    {
        const json_t *w = json_object_get(c, "warning");
        const char *cls = !json_is_string(w) ? "" : strcmp(json_string_value(w), "30 days") == 0 ? " warn30" : " warn7";
        evbuffer_add_printf(b, "<tr class=\"cert%s\">", cls);
        html_cells(b, c, "node", "unit", "serial", NULL);
        html_cell(b, NULL, json_object_get(c, "subject"));
        html_cell(b, "expires", json_object_get(c, "expires"));
        html_cell(b, NULL, json_object_get(c, "days_left"));
        html_cell(b, "warning", w);
        evbuffer_add_printf(b, "</tr>\n");
    }
    html_table_end(b);
    html_end(b);
}

void page_audit(struct evbuffer *b, const json_t *v, const web_session *ss)
{
    html_begin(b, "Audit log", "/audit", ss);
    long long page = (long long)json_integer_value(json_object_get(v, "page"));
    html_table_head(b, "audit", "When (UTC)", "Who", "Node", "Action", NULL);
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(v, "entries"), i, e)
    {
        html_row(b, "entry", e, "at", "who", "node", "action", NULL);
    }
    html_table_end(b);
    evbuffer_add_printf(b, "<p class=\"pager\">Page <span id=\"page\">%lld</span> ", page);
    if (page > 1)
        evbuffer_add_printf(b, "<a id=\"prev\" href=\"/audit?page=%lld\">newer</a> ", page - 1);
    if (json_is_true(json_object_get(v, "has_next")))
        evbuffer_add_printf(b, "<a id=\"next\" href=\"/audit?page=%lld\">older</a>", page + 1);
    evbuffer_add_printf(b, "</p>\n");
    html_end(b);
}

void page_login(struct evbuffer *b, const char *token, const char *error)
{
    html_begin(b, "Log in", "/login", NULL);
    if (error)
        html_message(b, "error", error);
    evbuffer_add_printf(b, "<form id=\"login\" method=\"post\" action=\"/login\">");
    html_hidden(b, "csrf", token);
    evbuffer_add_printf(b, "<label>User <input name=\"user\" id=\"user\" autocomplete=\"username\" required></label>"
                           "<label>Password <input name=\"password\" id=\"password\" type=\"password\" "
                           "autocomplete=\"current-password\" required></label>"
                           "<button type=\"submit\" id=\"submit\">Log in</button></form>\n");
    html_end(b);
}

void page_message(struct evbuffer *b, const char *title, const char *text, const web_session *ss)
{
    html_begin(b, title, "", ss);
    html_message(b, "error", text);
    html_end(b);
}

const char web_icon_svg[] = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\">"
                            "<rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#1f5f8b\"/></svg>\n";

const char web_style_css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#f6f7f9}\n"
    "header{display:flex;gap:1.5em;align-items:center;background:#1f5f8b;color:#fff;padding:.5em 1em}\n"
    "header a,header span{color:#fff;text-decoration:none}.brand{font-weight:bold}\n"
    "nav{display:flex;gap:1em;flex:1}nav a.active{text-decoration:underline}nav .later{opacity:.5}\n"
    "main{padding:1em 1.5em}table{border-collapse:collapse;background:#fff;margin:.5em 0}\n"
    "th,td{border:1px solid #ccd;padding:.25em .5em;text-align:left}th{background:#eef}\n"
    "tr.warn30 td{background:#fff6d5}tr.warn7 td{background:#fdd}\n"
    ".warning,.error{color:#a00}.notice{color:#060}form.change{background:#fff;padding:.5em 1em;border:1px solid #ccd}\n"
    "form#login label{display:block;margin:.5em 0}\n"
    "td.progress{white-space:nowrap}progress{width:8em;vertical-align:middle}\n"
    "figure.chart{background:#fff;border:1px solid #ccd;margin:.5em 0;padding:.5em;display:inline-block}\n"
    "svg .axis{stroke:#555;fill:none}svg .grid{stroke:#ddd;fill:none}svg .label{font-size:11px;fill:#444}\n"
    "svg polyline{fill:none;stroke-width:2}svg polyline.current{stroke-width:3.5}\n"
    ".s0{stroke:#1f77b4;fill:#1f77b4}.s1{stroke:#ff7f0e;fill:#ff7f0e}.s2{stroke:#2ca02c;fill:#2ca02c}\n"
    ".s3{stroke:#d62728;fill:#d62728}.s4{stroke:#9467bd;fill:#9467bd}.s5{stroke:#8c564b;fill:#8c564b}\n"
    "svg polyline.s0,svg polyline.s1,svg polyline.s2,svg polyline.s3,svg polyline.s4,svg polyline.s5{fill:none}\n"
    "ul.legend{list-style:none;padding:0;margin:.25em 0}ul.legend li{display:inline-block;margin-right:1.5em}\n"
    "form#filter{margin:.5em 0}\n";
