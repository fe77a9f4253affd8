/* ctlkit-web's session table (src/ctlkit-web/sessions.c): ids, expiry,
 * the cookie, and who gives way when the table fills. The clock is a
 * number passed in: no test sleeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sessions.h"
#include "testutil.h"

static const uint8_t stamp[CK_USER_STAMP_LEN];

static web_session *find(web_sessions *s, const char *id, uint64_t now)
{
    char cookie[128];
    snprintf(cookie, sizeof cookie, "other=1; ctlkit_session=%s", id);
    return web_session_from_cookie(s, cookie, now);
}

static void test_cookie_and_idle(void **state)
{
    (void)state;
    web_sessions *s = web_sessions_new();
    assert_non_null(s);
    web_session *a = web_session_start(s, "alice", CK_ROLE_ADMIN, stamp, 1000);
    assert_non_null(a);
    char id[WEB_SESSION_ID_HEX + 1];
    memcpy(id, a->id, sizeof id);
    assert_ptr_equal(find(s, id, 2000), a);
    /* Another cookie whose name ends in ours is not ours. */
    char cookie[128];
    snprintf(cookie, sizeof cookie, "xctlkit_session=%s", id);
    assert_null(web_session_from_cookie(s, cookie, 2000));
    assert_null(find(s, id, 2000 + WEB_SESSION_IDLE_MS));
    assert_true(web_session_csrf_ok(a, a->csrf));
    assert_false(web_session_csrf_ok(a, "00"));
    web_sessions_free(s);
}

/* One user logging in again and again ends its own oldest sessions, not
 * the other users'. */
static void test_one_user_cannot_fill_the_table(void **state)
{
    (void)state;
    web_sessions *s = web_sessions_new();
    assert_non_null(s);
    uint64_t t = 1000;
    web_session *a = web_session_start(s, "alice", CK_ROLE_ADMIN, stamp, t++);
    char alice[WEB_SESSION_ID_HEX + 1];
    memcpy(alice, a->id, sizeof alice);
    char first_bob[WEB_SESSION_ID_HEX + 1] = "";
    for (int i = 0; i < 2 * WEB_SESSIONS_MAX; i++) {
        web_session *b = web_session_start(s, "bob", CK_ROLE_READONLY, stamp, t++);
        assert_non_null(b);
        if (i == 0)
            memcpy(first_bob, b->id, sizeof first_bob);
    }
    web_session *still = find(s, alice, t);
    assert_non_null(still);
    assert_string_equal(still->user, "alice");
    assert_null(find(s, first_bob, t));
    web_sessions_free(s);
}

/* Many users: the table stays bounded, the oldest gives way. */
static void test_full_table(void **state)
{
    (void)state;
    web_sessions *s = web_sessions_new();
    assert_non_null(s);
    uint64_t t = 1000;
    char first[WEB_SESSION_ID_HEX + 1], user[32];
    for (int i = 0; i <= WEB_SESSIONS_MAX; i++) {
        snprintf(user, sizeof user, "u%d", i);
        web_session *ss = web_session_start(s, user, CK_ROLE_ADMIN, stamp, t++);
        assert_non_null(ss);
        if (i == 0)
            memcpy(first, ss->id, sizeof first);
    }
    assert_null(find(s, first, t));
    web_sessions_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cookie_and_idle),
        cmocka_unit_test(test_one_user_cannot_fill_the_table),
        cmocka_unit_test(test_full_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
