/* Logged-in sessions: a fixed table, random 256-bit ids and CSRF tokens,
 * an idle timeout. Nothing is stored on disk: a restart logs everyone out. */
#ifndef CTLKIT_WEB_SESSIONS_H
#define CTLKIT_WEB_SESSIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "ctlkit/users.h"

#define WEB_SESSION_ID_HEX 64
#define WEB_SESSION_IDLE_MS (30u * 60u * 1000u)
#define WEB_SESSIONS_MAX 256
/* Live sessions one user may hold: more logins end that user's oldest, so
 * that one account (a read-only one too) cannot push everyone else's
 * sessions out of the table by logging in WEB_SESSIONS_MAX times. */
#define WEB_SESSIONS_PER_USER 16

typedef struct web_session {
    bool used;
    char id[WEB_SESSION_ID_HEX + 1];
    char csrf[WEB_SESSION_ID_HEX + 1];
    char user[CK_USER_NAME_MAX + 1];
    ck_user_role role;
    uint8_t stamp[CK_USER_STAMP_LEN]; /* ck_users_current's at login: a new password ends the session */
    uint64_t last_ms;
} web_session;

typedef struct web_sessions web_sessions;

web_sessions *web_sessions_new(void);
void web_sessions_free(web_sessions *s);
/* A new session (the user's oldest gives way when the user holds
 * WEB_SESSIONS_PER_USER, else the oldest of all when the table is full);
 * NULL when no random bytes could be had. */
web_session *web_session_start(web_sessions *s, const char *user, ck_user_role role,
                               const uint8_t stamp[CK_USER_STAMP_LEN], uint64_t now_ms);
/* The live session whose id the Cookie header names, NULL if none; a hit
 * refreshes its idle timer. */
web_session *web_session_from_cookie(web_sessions *s, const char *cookie_header, uint64_t now_ms);
/* Does token (a form's csrf field) match the session's? Constant time. */
bool web_session_csrf_ok(const web_session *ss, const char *token);
void web_session_end(web_session *ss);
/* Ends every session for which keep says false (the users file changed:
 * a user removed, or given a new password or role). */
void web_sessions_recheck(web_sessions *s, bool (*keep)(const web_session *ss, void *arg), void *arg);

#endif
