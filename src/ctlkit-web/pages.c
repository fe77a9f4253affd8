/* The dashboard's pages (pages.h). Every value comes from the view JSON;
 * ids and data-field attributes name the JSON fields so that tests and
 * readers can match the page against the API. */
#include "pages.h"

#include <string.h>

#include "html.h"

static void field(struct evbuffer *b, const char *label, const char *id, const json_t *v)
{
    evbuffer_add_printf(b, "<tr><th>%s</th><td id=\"%s\">", label, id);
    html_json(b, v);
    evbuffer_add_printf(b, "</td></tr>\n");
}

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
    evbuffer_add_printf(b, "<table id=\"ctl-records\"><tr><th>#</th><th>Function</th><th>Subject</th>"
                           "<th>Issuer</th><th>Serial</th><th>IP</th></tr>\n");
    size_t i;
    const json_t *r;
    json_array_foreach(recs, i, r)
    {
        evbuffer_add_printf(b, "<tr class=\"record\"><td>%zu</td><td data-field=\"role\">", i + 1);
        html_json(b, json_object_get(r, "role"));
        evbuffer_add_printf(b, "</td><td data-field=\"subject\">");
        html_json(b, json_object_get(r, "subject"));
        evbuffer_add_printf(b, "</td><td>");
        html_json(b, json_object_get(r, "issuer"));
        evbuffer_add_printf(b, "</td><td data-field=\"serial\">");
        html_json(b, json_object_get(r, "serial"));
        evbuffer_add_printf(b, "</td><td>");
        html_json(b, json_object_get(r, "ip_address"));
        evbuffer_add_printf(b, "</td></tr>\n");
    }
    evbuffer_add_printf(b, "</table>\n");
}

void page_cluster(struct evbuffer *b, const json_t *v, const web_session *ss, const char *notice)
{
    html_begin(b, "Cluster", "/cluster", ss);
    if (notice) {
        evbuffer_add_printf(b, "<p class=\"notice\" id=\"notice\">");
        html_text(b, notice);
        evbuffer_add_printf(b, "</p>\n");
    }
    warnings(b, json_object_get(v, "warnings"));
    const json_t *ctl = json_object_get(v, "ctl");
    evbuffer_add_printf(b, "<table class=\"facts\">\n");
    field(b, "Cluster", "cluster", json_object_get(v, "cluster"));
    field(b, "Security mode", "security_mode_name", json_object_get(v, "security_mode_name"));
    field(b, "TLS minimum version", "tls_min_version", json_object_get(v, "tls_min_version"));
    field(b, "CTL MD5", "ctl_md5", json_object_get(ctl, "md5"));
    field(b, "CTL version", "ctl_version", json_object_get(ctl, "version"));
    evbuffer_add_printf(b, "</table>\n");
    ctl_records(b, json_object_get(v, "ctl_file"));
    evbuffer_add_printf(b, "<h2>Nodes</h2>\n<table id=\"nodes\"><tr><th>Node</th><th>Role</th><th>IP</th>"
                           "<th>TFTP</th><th>TVS</th><th>CTL copy</th><th>ITL copy</th></tr>\n");
    size_t i;
    const json_t *n;
    json_array_foreach(json_object_get(v, "nodes"), i, n)
    {
        const json_t *c = json_object_get(n, "ctl"), *t = json_object_get(n, "itl");
        evbuffer_add_printf(b, "<tr class=\"node\"><td data-field=\"name\">");
        html_json(b, json_object_get(n, "name"));
        evbuffer_add_printf(b, "</td><td data-field=\"role\">");
        html_json(b, json_object_get(n, "role"));
        evbuffer_add_printf(b, "</td><td data-field=\"ip\">");
        html_json(b, json_object_get(n, "ip"));
        evbuffer_add_printf(b, "</td><td>");
        html_json(b, json_object_get(n, "tftp_port"));
        evbuffer_add_printf(b, "</td><td>");
        html_json(b, json_object_get(n, "tvs_port"));
        evbuffer_add_printf(b, "</td><td data-field=\"ctl\">");
        html_json(b, json_object_get(c, "state"));
        evbuffer_add_printf(b, "</td><td data-field=\"itl\">");
        html_json(b, json_object_get(t, "state"));
        evbuffer_add_printf(b, "</td></tr>\n");
    }
    evbuffer_add_printf(b, "</table>\n");
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
    evbuffer_add_printf(b, "</span></p>\n<table id=\"certs\"><tr><th>Node</th><th>Unit or trust store</th>"
                           "<th>Serial</th><th>Subject</th><th>Expires</th><th>Days left</th><th>Warning</th></tr>\n");
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(v, "certificates"), i, c)
    {
        const json_t *w = json_object_get(c, "warning");
        const char *cls = !json_is_string(w) ? "" : strcmp(json_string_value(w), "30 days") == 0 ? " warn30" : " warn7";
        evbuffer_add_printf(b, "<tr class=\"cert%s\"><td data-field=\"node\">", cls);
        html_json(b, json_object_get(c, "node"));
        evbuffer_add_printf(b, "</td><td data-field=\"unit\">");
        html_json(b, json_object_get(c, "unit"));
        evbuffer_add_printf(b, "</td><td data-field=\"serial\">");
        html_json(b, json_object_get(c, "serial"));
        evbuffer_add_printf(b, "</td><td>");
        html_json(b, json_object_get(c, "subject"));
        evbuffer_add_printf(b, "</td><td data-field=\"expires\">");
        html_json(b, json_object_get(c, "expires"));
        evbuffer_add_printf(b, "</td><td>");
        html_json(b, json_object_get(c, "days_left"));
        evbuffer_add_printf(b, "</td><td data-field=\"warning\">");
        html_json(b, w);
        evbuffer_add_printf(b, "</td></tr>\n");
    }
    evbuffer_add_printf(b, "</table>\n");
    html_end(b);
}

void page_audit(struct evbuffer *b, const json_t *v, const web_session *ss)
{
    html_begin(b, "Audit log", "/audit", ss);
    long long page = (long long)json_integer_value(json_object_get(v, "page"));
    evbuffer_add_printf(b, "<table id=\"audit\"><tr><th>When (UTC)</th><th>Who</th><th>Node</th><th>Action</th></tr>\n");
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(v, "entries"), i, e)
    {
        evbuffer_add_printf(b, "<tr class=\"entry\"><td data-field=\"at\">");
        html_json(b, json_object_get(e, "at"));
        evbuffer_add_printf(b, "</td><td data-field=\"who\">");
        html_json(b, json_object_get(e, "who"));
        evbuffer_add_printf(b, "</td><td data-field=\"node\">");
        html_json(b, json_object_get(e, "node"));
        evbuffer_add_printf(b, "</td><td data-field=\"action\">");
        html_json(b, json_object_get(e, "action"));
        evbuffer_add_printf(b, "</td></tr>\n");
    }
    evbuffer_add_printf(b, "</table>\n<p class=\"pager\">Page <span id=\"page\">%lld</span> ", page);
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
    if (error) {
        evbuffer_add_printf(b, "<p class=\"error\" id=\"error\">");
        html_text(b, error);
        evbuffer_add_printf(b, "</p>\n");
    }
    evbuffer_add_printf(b, "<form id=\"login\" method=\"post\" action=\"/login\">"
                           "<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
                           "<label>User <input name=\"user\" id=\"user\" autocomplete=\"username\" required></label>"
                           "<label>Password <input name=\"password\" id=\"password\" type=\"password\" "
                           "autocomplete=\"current-password\" required></label>"
                           "<button type=\"submit\" id=\"submit\">Log in</button></form>\n",
                        token);
    html_end(b);
}

void page_message(struct evbuffer *b, const char *title, const char *text, const web_session *ss)
{
    html_begin(b, title, "", ss);
    evbuffer_add_printf(b, "<p class=\"error\" id=\"error\">");
    html_text(b, text);
    evbuffer_add_printf(b, "</p>\n");
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
