/* Cluster users (users.h): roles, add/passwd/remove/list, and the CTL
 * Provider accepting only admins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "ctlkit/provider_ops.h"
#include "ctlkit/users.h"
#include "testutil.h"

static void test_roles_and_lifecycle(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    ck_err err = {0};
    ck_user_role role = CK_ROLE_ADMIN;
    assert_int_equal(ck_user_role_parse("superuser", &role, &err), -1);
    assert_non_null(strstr(err.msg, "admin or read-only"));

    assert_int_equal(ck_users_put(dir, "alice", "Admin-pass1", 11, CK_ROLE_ADMIN, CK_USER_ADD, &err), 0);
    assert_int_equal(ck_users_put(dir, "bob", "Reader-pass1", 12, CK_ROLE_READONLY, CK_USER_ADD, &err), 0);
    /* add refuses an existing user, passwd a missing one. */
    assert_int_equal(ck_users_put(dir, "bob", "Other-pass1", 11, CK_ROLE_ADMIN, CK_USER_ADD, &err), -1);
    assert_int_equal(err.code, CK_ESTATE);
    assert_int_equal(ck_users_put(dir, "carol", "Other-pass1", 11, CK_ROLE_ADMIN, CK_USER_PASSWD, &err), -1);
    assert_int_equal(err.code, CK_ENOTFOUND);

    assert_int_equal(ck_users_auth(dir, "bob", "Reader-pass1", 12, &role, &err), 0);
    assert_int_equal(role, CK_ROLE_READONLY);
    assert_int_equal(ck_users_auth(dir, "alice", "Admin-pass1", 11, &role, &err), 0);
    assert_int_equal(role, CK_ROLE_ADMIN);
    assert_int_equal(ck_users_auth(dir, "bob", "Reader-pass2", 12, &role, &err), -1);
    assert_int_equal(err.code, CK_EDENIED);

    /* A new password keeps the role (even through provider passwd). */
    assert_int_equal(ck_users_put(dir, "bob", "Reader-pass3", 12, CK_ROLE_ADMIN, CK_USER_PASSWD, &err), 0);
    assert_int_equal(ck_provider_passwd(dir, "bob", "Reader-pass4", 12, &err), 0);
    assert_int_equal(ck_users_auth(dir, "bob", "Reader-pass4", 12, &role, &err), 0);
    assert_int_equal(role, CK_ROLE_READONLY);
    /* The CTL Provider lets admins in, not read-only users. */
    assert_int_equal(ck_provider_auth(dir, "alice", "Admin-pass1", 11, &err), 0);
    assert_int_equal(ck_provider_auth(dir, "bob", "Reader-pass4", 12, &err), -1);
    assert_int_equal(err.code, CK_EDENIED);
    assert_non_null(strstr(err.msg, "read-only"));

    ck_user_info *u = NULL;
    size_t n = 0;
    assert_int_equal(ck_users_list(dir, &u, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(u[0].name, "alice");
    assert_int_equal(u[1].role, CK_ROLE_READONLY);
    free(u);

    assert_int_equal(ck_users_remove(dir, "alice", &err), 0);
    assert_int_equal(ck_users_remove(dir, "alice", &err), -1);
    assert_int_equal(err.code, CK_ENOTFOUND);
    assert_int_equal(ck_users_auth(dir, "alice", "Admin-pass1", 11, &role, &err), -1);
    assert_int_equal(ck_users_list(dir, &u, &n, &err), 0);
    assert_int_equal(n, 1);
    free(u);
    tu_rmtree(dir);
}

/* What a session stands on: the role, and a stamp that a new password
 * changes and another user's does not; a removed user is not found. */
static void test_current(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    ck_err err = {0};
    ck_user_role role = CK_ROLE_ADMIN;
    uint8_t a1[CK_USER_STAMP_LEN], a2[CK_USER_STAMP_LEN], b1[CK_USER_STAMP_LEN], b2[CK_USER_STAMP_LEN];
    assert_int_equal(ck_users_current(dir, "alice", &role, a1, &err), -1);
    assert_int_equal(err.code, CK_ENOTFOUND);
    assert_int_equal(ck_users_put(dir, "alice", "Admin-pass1", 11, CK_ROLE_ADMIN, CK_USER_ADD, &err), 0);
    assert_int_equal(ck_users_put(dir, "bob", "Reader-pass1", 12, CK_ROLE_READONLY, CK_USER_ADD, &err), 0);
    assert_int_equal(ck_users_current(dir, "alice", &role, a1, &err), 0);
    assert_int_equal(role, CK_ROLE_ADMIN);
    assert_int_equal(ck_users_current(dir, "bob", &role, b1, &err), 0);
    assert_int_equal(role, CK_ROLE_READONLY);
    assert_int_equal(ck_users_put(dir, "alice", "Admin-pass2", 11, CK_ROLE_ADMIN, CK_USER_PASSWD, &err), 0);
    assert_int_equal(ck_users_current(dir, "alice", &role, a2, &err), 0);
    assert_int_equal(ck_users_current(dir, "bob", &role, b2, &err), 0);
    assert_memory_not_equal(a1, a2, CK_USER_STAMP_LEN);
    assert_memory_equal(b1, b2, CK_USER_STAMP_LEN);
    assert_int_equal(ck_users_remove(dir, "bob", &err), 0);
    assert_int_equal(ck_users_current(dir, "bob", &role, b2, &err), -1);
    assert_int_equal(err.code, CK_ENOTFOUND);
    tu_rmtree(dir);
}

/* A line written before roles existed (five fields) is an admin. */
static void test_old_line_is_admin(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    ck_err err = {0};
    assert_int_equal(ck_users_put(dir, "old", "Old-password1", 13, CK_ROLE_READONLY, CK_USER_ADD, &err), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, CK_USERS_FILE);
    size_t len = 0;
    uint8_t *text = tu_read_file(path, &len);
    char *role = memmem(text, len, ":read-only\n", 11);
    assert_non_null(role);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fwrite(text, 1, (size_t)(role - (char *)text), f);
    fputc('\n', f);
    fclose(f);
    free(text);
    ck_user_role r = CK_ROLE_READONLY;
    assert_int_equal(ck_users_auth(dir, "old", "Old-password1", 13, &r, &err), 0);
    assert_int_equal(r, CK_ROLE_ADMIN);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roles_and_lifecycle),
        cmocka_unit_test(test_old_line_is_admin),
        cmocka_unit_test(test_current),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
