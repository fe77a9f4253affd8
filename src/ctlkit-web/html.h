/* Writing HTML safely: every text goes through html_text (escaped), the
 * page frame (head, navigation, logout form) is one function. */
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
/* The hidden CSRF field every form carries. */
void html_csrf(struct evbuffer *b, const web_session *ss);

#endif
