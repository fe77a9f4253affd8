/* Unit tests of ck_mkdirs (lib/core/fileio.c): the modes of the folders it
 * makes and of the one it finds. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "ctlkit/fileio.h"

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static void test_made_folder_gets_mode_whatever_the_umask(void **state)
{
    char root[512], path[600];
    snprintf(root, sizeof root, "%s", tu_tmpdir());
    snprintf(path, sizeof path, "%s/a/b/keys", root);
    mode_t old = umask(0077);
    ck_err err = {0};
    assert_int_equal(ck_mkdirs(path, 0755, &err), 0);
    umask(old);
    assert_int_equal(mode_of(path), 0755);
    tu_rmtree(root);
}

/* The mode of an existing folder NAME, made with mode BEFORE, after
 * ck_mkdirs asked for ASKED. */
static mode_t mode_after_mkdirs(const char *name, mode_t before, mode_t asked)
{
    char root[512], path[600];
    snprintf(root, sizeof root, "%s", tu_tmpdir());
    snprintf(path, sizeof path, "%s/%s", root, name);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(chmod(path, before), 0);
    ck_err err = {0};
    assert_int_equal(ck_mkdirs(path, asked, &err), 0);
    mode_t after = mode_of(path);
    tu_rmtree(root);
    return after;
}

/* cluster init /var/lib/ctlkit/cluster makes its parent with 0755: the
 * package's 0750 /var/lib/ctlkit must stay 0750 (it became 0755). */
static void test_existing_folder_is_never_opened_wider(void **state)
{
    assert_int_equal(mode_after_mkdirs("var-lib-ctlkit", 0750, 0755), 0750);
}

/* ... but is still closed to what mode does not grant (a keys/ folder left
 * readable is made 0700). */
static void test_existing_folder_loses_what_mode_does_not_grant(void **state)
{
    assert_int_equal(mode_after_mkdirs("keys", 0755, 0700), 0700);
}

static void test_a_file_in_the_way_is_an_error(void **state)
{
    char root[512], path[600];
    snprintf(root, sizeof root, "%s", tu_tmpdir());
    snprintf(path, sizeof path, "%s/file", root);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    ck_err err = {0};
    assert_int_equal(ck_mkdirs(path, 0755, &err), -1);
    assert_non_null(strstr(err.msg, "not a folder"));
    tu_rmtree(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_made_folder_gets_mode_whatever_the_umask),
        cmocka_unit_test(test_existing_folder_is_never_opened_wider),
        cmocka_unit_test(test_existing_folder_loses_what_mode_does_not_grant),
        cmocka_unit_test(test_a_file_in_the_way_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
