/* Writing HTML safely: every text goes through html_text (escaped), the
 * page frame (head, navigation, logout form) is one function, and the
 * pieces the pages share (table heads, cells, facts, options, hidden
 * fields, messages) are written once, here. */
#ifndef CTLKIT_WEB_HTML_H
#define CTLKIT_WEB_HTML_H

#include <event2/buffer.h>
#include <jansson.h>

#include "sessions.h"

void html_text(struct evbuffer *b, const char *s);
/* A JSON value as text: strings escaped, numbers printed, null as "-". */
void html_json(struct evbuffer *b, const json_t *v);
/* <!doctype>, head, navigation (active: the page's path), header. */
void html_begin(struct evbuffer *b, const char *title, const char *active, const web_session *ss);
void html_end(struct evbuffer *b);
/* A hidden form field (value escaped). */
void html_hidden(struct evbuffer *b, const char *name, const char *value);
/* The hidden CSRF field every form carries. */
void html_csrf(struct evbuffer *b, const web_session *ss);
/* <p class="cls" id="cls">text</p>: a page's one error or notice. */
void html_message(struct evbuffer *b, const char *cls, const char *text);

/* Labels, ids, classes and fields below are the program's own constants,
 * written as they are; values and texts are escaped. */

/* <table id="id"> and its head row, one <th> per label up to NULL. */
void html_table_head(struct evbuffer *b, const char *id, ...) __attribute__((sentinel));
void html_table_end(struct evbuffer *b);
/* A cell of a JSON value; field, unless NULL, its data-field attribute
 * (the JSON field it shows, for tests and readers). */
void html_cell(struct evbuffer *b, const char *field, const json_t *v);
/* A cell of a text (a label, not a value). */
void html_text_cell(struct evbuffer *b, const char *field, const char *text);
/* One cell per key up to NULL: o's value at key, data-field key. */
void html_cells(struct evbuffer *b, const json_t *o, ...) __attribute__((sentinel));
/* <tr class="cls">, html_cells, </tr>. */
void html_row(struct evbuffer *b, const char *cls, const json_t *o, ...) __attribute__((sentinel));
/* A facts table's row: <th>label</th>, the value in <td id="id">. */
void html_fact(struct evbuffer *b, const char *label, const char *id, const json_t *v);

/* <option value="value">label</option>, selected when chosen equals
 * value; html_option_open writes only the start tag (the caller writes
 * its label, then </option>). */
void html_option(struct evbuffer *b, const char *value, const char *label, const char *chosen);
void html_option_open(struct evbuffer *b, const char *value, const char *chosen);

#endif
