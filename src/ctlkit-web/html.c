/* HTML helpers (html.h). */
#include "html.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void html_text(struct evbuffer *b, const char *s)
{
    if (!s)
        return;
    for (const char *p = s; *p; p++) {
        switch (*p) {
        case '<': evbuffer_add(b, "&lt;", 4); break;
        case '>': evbuffer_add(b, "&gt;", 4); break;
        case '&': evbuffer_add(b, "&amp;", 5); break;
        case '"': evbuffer_add(b, "&quot;", 6); break;
        case '\'': evbuffer_add(b, "&#39;", 5); break;
        default: evbuffer_add(b, p, 1);
        }
    }
}

void html_json(struct evbuffer *b, const json_t *v)
{
    if (!v || json_is_null(v))
        evbuffer_add(b, "-", 1);
    else if (json_is_string(v))
        html_text(b, json_string_value(v));
    else if (json_is_integer(v))
        evbuffer_add_printf(b, "%lld", (long long)json_integer_value(v));
    else if (json_is_true(v))
        evbuffer_add(b, "yes", 3);
    else if (json_is_false(v))
        evbuffer_add(b, "no", 2);
    else {
        char *t = json_dumps(v, JSON_COMPACT);
        html_text(b, t);
        free(t);
    }
}

/* The navigation: pages of later work are listed, not linked, so the
 * layout does not move when they arrive. */
static const struct {
    const char *path, *label;
    bool ready;
} nav[] = {{"/cluster", "Cluster", true},   {"/certs", "Certificates", true}, {"/phones", "Phones", true},
           {"/rehearsal", "Rehearsal", true}, {"/audit", "Audit log", true}};

void html_begin(struct evbuffer *b, const char *title, const char *active, const web_session *ss)
{
    evbuffer_add_printf(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                           "<meta name=\"viewport\" content=\"width=device-width\">"
                           "<link rel=\"icon\" href=\"/static/icon.svg\" type=\"image/svg+xml\">"
                           "<link rel=\"stylesheet\" href=\"/static/style.css\"><title>");
    html_text(b, title);
    evbuffer_add_printf(b, " - ctlkit</title></head>\n<body>\n<header><span class=\"brand\">ctlkit</span>");
    if (ss) {
        evbuffer_add_printf(b, "<nav>");
        for (size_t i = 0; i < sizeof nav / sizeof nav[0]; i++) {
            if (!nav[i].ready)
                evbuffer_add_printf(b, "<span class=\"later\" title=\"not yet\">%s</span>", nav[i].label);
            else
                evbuffer_add_printf(b, "<a href=\"%s\"%s>%s</a>", nav[i].path,
                                    strcmp(nav[i].path, active) == 0 ? " class=\"active\"" : "", nav[i].label);
        }
        evbuffer_add_printf(b, "</nav><form class=\"logout\" method=\"post\" action=\"/logout\">"
                               "<span id=\"who\">");
        html_text(b, ss->user);
        evbuffer_add_printf(b, " (%s)</span> ", ck_user_role_name(ss->role));
        html_csrf(b, ss);
        evbuffer_add_printf(b, "<button type=\"submit\">Log out</button></form>");
    }
    evbuffer_add_printf(b, "</header>\n<main>\n<h1>");
    html_text(b, title);
    evbuffer_add_printf(b, "</h1>\n");
}

void html_end(struct evbuffer *b) { evbuffer_add_printf(b, "</main>\n</body></html>\n"); }

void html_hidden(struct evbuffer *b, const char *name, const char *value)
{
    evbuffer_add_printf(b, "<input type=\"hidden\" name=\"");
    html_text(b, name);
    evbuffer_add_printf(b, "\" value=\"");
    html_text(b, value);
    evbuffer_add_printf(b, "\">");
}

void html_csrf(struct evbuffer *b, const web_session *ss) { html_hidden(b, "csrf", ss->csrf); }

void html_message(struct evbuffer *b, const char *cls, const char *text)
{
    evbuffer_add_printf(b, "<p class=\"%s\" id=\"%s\">", cls, cls);
    html_text(b, text);
    evbuffer_add_printf(b, "</p>\n");
}

void html_table_head(struct evbuffer *b, const char *id, ...)
{
    evbuffer_add_printf(b, "<table id=\"%s\"><tr>", id);
    va_list ap;
    va_start(ap, id);
    for (const char *label; (label = va_arg(ap, const char *)) != NULL;)
        evbuffer_add_printf(b, "<th>%s</th>", label);
    va_end(ap);
    evbuffer_add_printf(b, "</tr>\n");
}

void html_table_end(struct evbuffer *b) { evbuffer_add_printf(b, "</table>\n"); }

static void td_open(struct evbuffer *b, const char *field)
{
    if (field)
        evbuffer_add_printf(b, "<td data-field=\"%s\">", field);
    else
        evbuffer_add_printf(b, "<td>");
}

void html_cell(struct evbuffer *b, const char *field, const json_t *v)
{
    td_open(b, field);
    html_json(b, v);
    evbuffer_add_printf(b, "</td>");
}

void html_text_cell(struct evbuffer *b, const char *field, const char *text)
{
    td_open(b, field);
    html_text(b, text);
    evbuffer_add_printf(b, "</td>");
}

static void cells(struct evbuffer *b, const json_t *o, va_list ap)
{
    for (const char *key; (key = va_arg(ap, const char *)) != NULL;)
        html_cell(b, key, json_object_get(o, key));
}

void html_cells(struct evbuffer *b, const json_t *o, ...)
{
    va_list ap;
    va_start(ap, o);
    cells(b, o, ap);
    va_end(ap);
}

void html_row(struct evbuffer *b, const char *cls, const json_t *o, ...)
{
    evbuffer_add_printf(b, "<tr class=\"%s\">", cls);
    va_list ap;
    va_start(ap, o);
    cells(b, o, ap);
    va_end(ap);
    evbuffer_add_printf(b, "</tr>\n");
}

void html_fact(struct evbuffer *b, const char *label, const char *id, const json_t *v)
{
    evbuffer_add_printf(b, "<tr><th>%s</th><td id=\"%s\">", label, id);
    html_json(b, v);
    evbuffer_add_printf(b, "</td></tr>\n");
}

void html_option_open(struct evbuffer *b, const char *value, const char *chosen)
{
    evbuffer_add_printf(b, "<option value=\"");
    html_text(b, value);
    evbuffer_add_printf(b, "\"%s>", chosen && value && strcmp(chosen, value) == 0 ? " selected" : "");
}

void html_option(struct evbuffer *b, const char *value, const char *label, const char *chosen)
{
    html_option_open(b, value, chosen);
    html_text(b, label);
    evbuffer_add_printf(b, "</option>");
}
