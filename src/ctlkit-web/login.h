/* Password checks off the event loop. A login's PBKDF2 takes about 0.1 s;
 * on the loop it would hold every other request (and a burst of logins
 * would hold them for seconds). One worker thread checks the passwords in
 * order and hands each verdict back to the loop through a pipe, as the
 * rehearsal does (rehearsal.h), so libevent needs no thread support and
 * the sessions stay the loop's alone. The worker asks the login guard
 * (thread-safe) and records each verdict in it, in order, so that logins
 * queued together cannot all pass one back-off. */
#ifndef CTLKIT_WEB_LOGIN_H
#define CTLKIT_WEB_LOGIN_H

#include <event2/http.h>
#include <stddef.h>

#include "ctlkit/users.h"
#include "web.h"

/* Checks waiting or running at once; more are refused (503). */
#define WEB_LOGIN_MAX_QUEUED 32

/* rc of a login the back-off refused unchecked (err says how long). */
#define WEB_LOGIN_BACKED_OFF (-2)

/* On the loop, once the password is checked and the client is still
 * there: rc and err as ck_users_auth's (already recorded in w->guard), or
 * WEB_LOGIN_BACKED_OFF. user and addr are the job's. */
typedef void (*web_login_done_fn)(web *w, struct evhttp_request *req, const char *user, const char *addr, int rc,
                                  ck_user_role role, const ck_err *err);

int web_login_init(web *w);
/* Stops the worker after the check it is running; answers nobody. */
void web_login_fini(web *w);

/* Queues a check of user's password (copied here; the copy is wiped after
 * the check). -1 and CK_ELIMIT when too many are waiting. */
int web_login_start(web *w, struct evhttp_request *req, const char *user, const char *pw, size_t pwlen,
                    const char *addr, web_login_done_fn done, ck_err *err);

#endif
