/* Sessions of ctlkit-web (sessions.h). */
#include "sessions.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/bytes.h"

#define COOKIE_NAME "ctlkit_session="

struct web_sessions {
    web_session slot[WEB_SESSIONS_MAX];
};

web_sessions *web_sessions_new(void) { return calloc(1, sizeof(web_sessions)); }

void web_sessions_free(web_sessions *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s, sizeof *s);
    free(s);
}

static bool random_hex(char out[WEB_SESSION_ID_HEX + 1])
{
    uint8_t b[WEB_SESSION_ID_HEX / 2];
    if (RAND_bytes(b, sizeof b) != 1)
        return false;
    ck_hex(b, sizeof b, 0, false, out, WEB_SESSION_ID_HEX + 1);
    OPENSSL_cleanse(b, sizeof b);
    return true;
}

static bool live(const web_session *ss, uint64_t now_ms)
{
    return ss->used && now_ms - ss->last_ms < WEB_SESSION_IDLE_MS;
}

web_session *web_session_start(web_sessions *s, const char *user, ck_user_role role,
                               const uint8_t stamp[CK_USER_STAMP_LEN], uint64_t now_ms)
{
    web_session *pick = &s->slot[0], *free_slot = NULL, *own_oldest = NULL;
    size_t own = 0;
    for (size_t i = 0; i < WEB_SESSIONS_MAX; i++) {
        web_session *ss = &s->slot[i];
        if (!live(ss, now_ms)) {
            if (!free_slot)
                free_slot = ss;
            continue;
        }
        if (strcmp(ss->user, user) == 0) {
            own++;
            if (!own_oldest || ss->last_ms < own_oldest->last_ms)
                own_oldest = ss;
        }
        if (ss->last_ms < pick->last_ms)
            pick = ss;
    }
    if (own >= WEB_SESSIONS_PER_USER)
        pick = own_oldest;
    else if (free_slot)
        pick = free_slot;
    web_session_end(pick);
    if (!random_hex(pick->id) || !random_hex(pick->csrf)) {
        web_session_end(pick);
        return NULL;
    }
    snprintf(pick->user, sizeof pick->user, "%s", user);
    pick->role = role;
    memcpy(pick->stamp, stamp, CK_USER_STAMP_LEN);
    pick->last_ms = now_ms;
    pick->used = true;
    return pick;
}

web_session *web_session_from_cookie(web_sessions *s, const char *cookie_header, uint64_t now_ms)
{
    if (!cookie_header)
        return NULL;
    const char *p = cookie_header;
    /* Cookie: a=b; ctlkit_session=HEX; c=d */
    while ((p = strstr(p, COOKIE_NAME)) != NULL) {
        if (p == cookie_header || p[-1] == ' ' || p[-1] == ';')
            break;
        p++;
    }
    if (!p)
        return NULL;
    p += strlen(COOKIE_NAME);
    size_t n = strcspn(p, "; ");
    if (n != WEB_SESSION_ID_HEX)
        return NULL;
    web_session *hit = NULL;
    for (size_t i = 0; i < WEB_SESSIONS_MAX; i++) {
        web_session *ss = &s->slot[i];
        /* Compare with every slot, in constant time per slot. */
        if (ss->used && CRYPTO_memcmp(ss->id, p, WEB_SESSION_ID_HEX) == 0 && live(ss, now_ms))
            hit = ss;
    }
    if (hit)
        hit->last_ms = now_ms;
    return hit;
}

bool web_session_csrf_ok(const web_session *ss, const char *token)
{
    return token && strlen(token) == WEB_SESSION_ID_HEX && CRYPTO_memcmp(ss->csrf, token, WEB_SESSION_ID_HEX) == 0;
}

void web_session_end(web_session *ss) { OPENSSL_cleanse(ss, sizeof *ss); }

void web_sessions_recheck(web_sessions *s, bool (*keep)(const web_session *ss, void *arg), void *arg)
{
    for (size_t i = 0; i < WEB_SESSIONS_MAX; i++)
        if (s->slot[i].used && !keep(&s->slot[i], arg))
            web_session_end(&s->slot[i]);
}
