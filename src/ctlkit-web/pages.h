/* The HTML pages, each rendered from its view's JSON (views.h). */
#ifndef CTLKIT_WEB_PAGES_H
#define CTLKIT_WEB_PAGES_H

#include <event2/buffer.h>
#include <jansson.h>

#include "sessions.h"

void page_cluster(struct evbuffer *b, const json_t *v, const web_session *ss, const char *notice);
void page_certs(struct evbuffer *b, const json_t *v, const web_session *ss);
void page_audit(struct evbuffer *b, const json_t *v, const web_session *ss);
/* The phones page and one phone's page (pages_phones.c). */
void page_phones(struct evbuffer *b, const json_t *v, const web_session *ss);
void page_phone(struct evbuffer *b, const json_t *v, const web_session *ss);
/* The rehearsal page (pages_rehearsal.c): f the form's view, r NULL or
 * the result (`ctlkit rehearse --json`), error NULL or why it failed. */
void page_rehearsal(struct evbuffer *b, const json_t *f, const json_t *r, const char *error, const web_session *ss);
/* The login form; token: the login form's CSRF token; error: NULL or why
 * the last attempt failed. */
void page_login(struct evbuffer *b, const char *token, const char *error);
/* A short page for refusals and failures. */
void page_message(struct evbuffer *b, const char *title, const char *text, const web_session *ss);

extern const char web_style_css[];
extern const char web_icon_svg[];

#endif
