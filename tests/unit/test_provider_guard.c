/* Unit tests of the CTL Provider login back-off and its audit summaries
 * (lib/cluster/provider_guard.c). The clock is a number passed in: no
 * test sleeps. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "ctlkit/provider_guard.h"

static ck_pv_guard *guard(size_t slots)
{
    ck_pv_guard_cfg cfg;
    ck_pv_guard_cfg_init(&cfg);
    cfg.slots = slots;
    ck_pv_guard *g = ck_pv_guard_new(&cfg);
    assert_non_null(g);
    return g;
}

static bool fail_at(ck_pv_guard *g, const char *addr, const char *user, uint64_t now)
{
    char audit[256];
    return ck_pv_guard_failed(g, addr, user, true, now, audit, sizeof audit);
}

/* Three free failures, then 1 s, 2 s, 4 s ... capped at 5 min. */
static void test_backoff_doubles_and_caps(void **state)
{
    ck_pv_guard *g = guard(64);
    uint64_t t = 1000000;
    for (int i = 0; i < 2; i++) {
        fail_at(g, "10.0.0.1", "admin", t);
        assert_int_equal(ck_pv_guard_wait(g, "10.0.0.1", "admin", t), 0);
    }
    fail_at(g, "10.0.0.1", "admin", t);
    assert_int_equal(ck_pv_guard_wait(g, "10.0.0.1", "admin", t), 1000);
    assert_int_equal(ck_pv_guard_wait(g, "10.0.0.1", "admin", t + 400), 600);
    assert_int_equal(ck_pv_guard_wait(g, "10.0.0.1", "admin", t + 1000), 0);
    t += 1000;
    fail_at(g, "10.0.0.1", "admin", t);
    assert_int_equal(ck_pv_guard_wait(g, "10.0.0.1", "admin", t), 2000);
    t += 2000;
    fail_at(g, "10.0.0.1", "admin", t);
    assert_int_equal(ck_pv_guard_wait(g, "10.0.0.1", "admin", t), 4000);
    for (int i = 0; i < 20; i++)
        fail_at(g, "10.0.0.1", "admin", t);
    assert_int_equal(ck_pv_guard_wait(g, "10.0.0.1", "admin", t), 300000);
    ck_pv_guard_free(g);
}

/* Per source across users, per user across sources. */
static void test_source_and_user(void **state)
{
    ck_pv_guard *g = guard(64);
    uint64_t t = 5000;
    fail_at(g, "10.0.0.1", "a", t);
    fail_at(g, "10.0.0.1", "b", t);
    fail_at(g, "10.0.0.1", "c", t);
    /* The source is backed off whatever name it tries next. */
    assert_int_equal(ck_pv_guard_wait(g, "10.0.0.1", "d", t), 1000);
    assert_int_equal(ck_pv_guard_wait(g, "10.0.0.2", "d", t), 0);
    /* A user guessed at from several sources is backed off everywhere. */
    fail_at(g, "10.0.1.1", "admin", t);
    fail_at(g, "10.0.1.2", "admin", t);
    fail_at(g, "10.0.1.3", "admin", t);
    assert_int_equal(ck_pv_guard_wait(g, "10.0.1.9", "admin", t), 1000);
    ck_pv_guard_free(g);
}

/* Refused-unchecked attempts do not extend the back-off; a success and a
 * quiet spell forget the failures. */
static void test_refused_success_and_quiet(void **state)
{
    ck_pv_guard *g = guard(64);
    char audit[256];
    uint64_t t = 0;
    for (int i = 0; i < 3; i++)
        fail_at(g, "10.0.0.1", "admin", t);
    for (int i = 0; i < 10; i++)
        ck_pv_guard_failed(g, "10.0.0.1", "admin", false, t + 500, audit, sizeof audit);
    assert_int_equal(ck_pv_guard_wait(g, "10.0.0.1", "admin", t + 500), 500);
    assert_int_equal(ck_pv_guard_wait(g, "10.0.0.1", "admin", t + 1000), 0);
    ck_pv_guard_succeeded(g, "10.0.0.1", "admin", t + 1000);
    fail_at(g, "10.0.0.1", "admin", t + 1000);
    assert_int_equal(ck_pv_guard_wait(g, "10.0.0.1", "admin", t + 1000), 0);
    /* Quiet for the longest back-off: the count starts again. */
    for (int i = 0; i < 10; i++)
        fail_at(g, "10.0.0.2", "root", t);
    assert_true(ck_pv_guard_wait(g, "10.0.0.2", "root", t) > 0);
    assert_int_equal(ck_pv_guard_wait(g, "10.0.0.2", "root", t + 300000), 0);
    fail_at(g, "10.0.0.2", "root", t + 300000);
    assert_int_equal(ck_pv_guard_wait(g, "10.0.0.2", "root", t + 300000), 0);
    ck_pv_guard_free(g);
}

/* 50 failures: one row for the first, then a summary once per minute. */
static void test_audit_summary(void **state)
{
    ck_pv_guard *g = guard(64);
    char audit[256];
    uint64_t t = 10000;
    int rows = 0;
    for (int i = 0; i < 50; i++) {
        if (ck_pv_guard_failed(g, "10.0.0.1", "admin", true, t + (uint64_t)i * 100, audit, sizeof audit)) {
            rows++;
            assert_string_equal(audit, "CTL Provider: failed login for 'admin' from 10.0.0.1");
        }
    }
    assert_int_equal(rows, 1);
    assert_false(ck_pv_guard_flush(g, t + 59999, audit, sizeof audit));
    assert_true(ck_pv_guard_flush(g, t + 60000, audit, sizeof audit));
    assert_string_equal(audit, "CTL Provider: 49 failed logins for 'admin' from 10.0.0.1 in the last 60 s");
    assert_false(ck_pv_guard_flush(g, t + 60000, audit, sizeof audit));
    /* A failure after the interval writes its summary at once. */
    assert_false(ck_pv_guard_failed(g, "10.0.0.1", "root", true, t + 70000, audit, sizeof audit));
    assert_true(ck_pv_guard_failed(g, "10.0.0.1", "oper", true, t + 120000, audit, sizeof audit));
    assert_string_equal(audit,
                        "CTL Provider: 2 failed logins for several users (last 'oper') from 10.0.0.1 in the last 60 s");
    ck_pv_guard_free(g);
}

/* A full table evicts the least recently seen entry not backed off:
 * memory stays fixed, and a running back-off stays. */
static void test_bounded_table(void **state)
{
    ck_pv_guard *g = guard(4);
    uint64_t t = 0;
    for (int i = 0; i < 3; i++)
        fail_at(g, "10.0.0.1", "admin", t);
    assert_int_equal(ck_pv_guard_wait(g, "10.0.0.1", "admin", t), 1000);
    char addr[32], user[32];
    for (int i = 0; i < 100; i++) {
        snprintf(addr, sizeof addr, "10.9.0.%d", i);
        snprintf(user, sizeof user, "u%d", i);
        fail_at(g, addr, user, t + 1 + (uint64_t)i);
    }
    /* The newer entries took each other's slots, not the backed-off ones. */
    assert_int_equal(ck_pv_guard_wait(g, "10.0.0.1", "admin", t + 200), 800);
    assert_int_equal(ck_pv_guard_wait(g, "10.9.0.99", "u99", t + 200), 0);
    /* Every slot backed off: the least recently seen gives way after all. */
    for (int i = 0; i < 3; i++)
        fail_at(g, "10.1.0.1", "root", t + 300);
    for (int i = 0; i < 3; i++)
        fail_at(g, "10.1.0.2", "oper", t + 301);
    assert_true(ck_pv_guard_wait(g, "10.1.0.2", "oper", t + 302) > 0);
    assert_int_equal(ck_pv_guard_wait(g, "10.0.0.1", "admin", t + 302), 0);
    ck_pv_guard_free(g);
}

/* Attempts refused unchecked cost an attacker nothing: a flood of them,
 * under new names from a backed-off source or for a backed-off user from
 * new sources, must not push the back-off out of the table. */
static void test_flood_keeps_backoff(void **state)
{
    ck_pv_guard *g = guard(16);
    char audit[256], addr[64], user[32];
    uint64_t t = 1000;
    for (int i = 0; i < 3; i++)
        fail_at(g, "10.0.0.1", "admin", t);
    for (int i = 0; i < 1000; i++) {
        snprintf(user, sizeof user, "u%d", i);
        assert_true(ck_pv_guard_wait(g, "10.0.0.1", user, t) > 0);
        ck_pv_guard_failed(g, "10.0.0.1", user, false, t, audit, sizeof audit);
        snprintf(addr, sizeof addr, "fd00::%x", i);
        assert_true(ck_pv_guard_wait(g, addr, "admin", t) > 0);
        ck_pv_guard_failed(g, addr, "admin", false, t, audit, sizeof audit);
    }
    /* The user is still backed off from a source never seen, the source
     * under a name never tried. */
    assert_int_equal(ck_pv_guard_wait(g, "10.0.0.2", "admin", t + 1), 999);
    assert_int_equal(ck_pv_guard_wait(g, "10.0.0.1", "nobody", t + 1), 999);
    ck_pv_guard_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_doubles_and_caps), cmocka_unit_test(test_source_and_user),
        cmocka_unit_test(test_refused_success_and_quiet), cmocka_unit_test(test_audit_summary),
        cmocka_unit_test(test_bounded_table), cmocka_unit_test(test_flood_keeps_backoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
