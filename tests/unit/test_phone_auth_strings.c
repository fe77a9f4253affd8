/* A fleet's authentication strings from the device import CSV
 * (src/ctlkit-phone/auth_strings.c). */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "fleet.h"

static char dir[256];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    return 0;
}

static int remove_dir(void **state)
{
    (void)state;
    tu_rmtree(dir);
    return 0;
}

static const char *write_csv(const char *text)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/devices.csv", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_columns_in_any_order(void **state)
{
    (void)state;
    ph_auth_strings a;
    ck_err err = {0};
    const char *csv = write_csv("# the import's file\n"
                                "model, string ,name,auth\r\n"
                                "\n"
                                "7975,123456,SEP0CC000000001,string\n"
                                "8865,,SEP0CC000000002,null\n"
                                "8865,0042,sep0cc000000003,\n");
    assert_int_equal(ph_auth_strings_load(csv, &a, &err), 0);
    assert_int_equal(a.n, 2); /* the null-string row has nothing to type */
    assert_string_equal(ph_auth_strings_find(&a, "SEP0CC000000001"), "123456");
    assert_string_equal(ph_auth_strings_find(&a, "SEP0CC000000003"), "0042");
    assert_null(ph_auth_strings_find(&a, "SEP0CC000000002"));
    assert_null(ph_auth_strings_find(&a, "SEP0CC000000009"));
    ph_auth_strings_free(&a);
}

static void test_bad_files(void **state)
{
    (void)state;
    ph_auth_strings a;
    ck_err err = {0};
    assert_int_equal(ph_auth_strings_load(write_csv("name,model\nSEP0CC000000001,7975\n"), &a, &err), -1);
    assert_non_null(strstr(err.msg, "the header must name the columns name and string"));
    assert_int_equal(ph_auth_strings_load(write_csv("name,string\nSEP0CC000000001,12a4\n"), &a, &err), -1);
    assert_non_null(strstr(err.msg, "line 2"));
    assert_int_equal(ph_auth_strings_load(write_csv("name,model,string\nSEP0CC000000001\n"), &a, &err), -1);
    assert_non_null(strstr(err.msg, "line 2"));
    assert_null(a.e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_columns_in_any_order, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_bad_files, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
