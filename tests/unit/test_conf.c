/* The host's configuration file (lib/core/conf.c): the three settings,
 * comments and quotes, an error naming file and line for each bad line,
 * flags winning over the file, and the world-readable password warning. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "ctlkit/conf.h"
#include "testutil.h"

static int parse(const char *text, ck_conf *c, ck_err *err)
{
    return ck_conf_parse(text, strlen(text), "/etc/ctlkit/ctlkit.conf", c, err);
}

static void test_good_file(void **state)
{
    (void)state;
    ck_conf c;
    ck_err err = {0};
    assert_int_equal(parse("# the subscriber's host\n\n"
                           "cluster = postgresql://ctlkit:p#ss@db/cluster1\n"
                           "  dir=\"/var/lib/ctlkit/node\"  \r\n"
                           "node\t= cucm-sub1",
                           &c, &err),
                     0);
    assert_string_equal(c.cluster, "postgresql://ctlkit:p#ss@db/cluster1"); /* '#' inside a value stays */
    assert_string_equal(c.dir, "/var/lib/ctlkit/node");
    assert_string_equal(c.node, "cucm-sub1");
}

static void bad(const char *text, const char *want)
{
    ck_conf c;
    ck_err err = {0};
    assert_int_equal(parse(text, &c, &err), -1);
    if (!strstr(err.msg, want))
        fail_msg("'%s': got '%s', wanted '%s'", text, err.msg, want);
}

static void test_bad_lines(void **state)
{
    (void)state;
    bad("cluster = /srv/c\nnode cucm-sub1\n", "/etc/ctlkit/ctlkit.conf:2: expected NAME = VALUE");
    bad("\n\nport = 69\n", "/etc/ctlkit/ctlkit.conf:3: unknown setting 'port' (cluster, dir or node)");
    bad("node =\n", "/etc/ctlkit/ctlkit.conf:1: node has no value");
    bad("node = a\nnode = b\n", "/etc/ctlkit/ctlkit.conf:2: node is given twice");
}

static void test_flags_win(void **state)
{
    (void)state;
    ck_conf c;
    ck_err err = {0};
    assert_int_equal(parse("cluster = /srv/c\ndir = /srv/d\nnode = pub\n", &c, &err), 0);
    const char *cluster = NULL, *dir = NULL, *node = "sub";
    ck_conf_apply(&c, &cluster, &dir, &node);
    assert_string_equal(cluster, "/srv/c");
    assert_string_equal(dir, "/srv/d");
    assert_string_equal(node, "sub");
    /* Another cluster on the command line: the file's folder and node are
     * its own cluster's, so none of the file applies. */
    cluster = "/srv/other", dir = NULL, node = NULL;
    ck_conf_apply(&c, &cluster, &dir, &node);
    assert_string_equal(cluster, "/srv/other");
    assert_null(dir);
    assert_null(node);
}

static void write_conf(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_load_and_warning(void **state)
{
    (void)state;
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s", tu_tmpdir());
    snprintf(path, sizeof path, "%s/ctlkit.conf", dir);
    setenv(CK_CONF_ENV, path, 1);
    ck_conf c;
    ck_err err = {0};
    /* $CTLKIT_CONF naming no file is an error (the default path is not). */
    assert_int_equal(ck_conf_load(&c, &err), -1);
    assert_non_null(strstr(err.msg, path));
    write_conf(path, "cluster = postgresql://ctlkit:secret@db/c1\nnode = pub\n", 0644);
    assert_int_equal(ck_conf_load(&c, &err), 0);
    assert_string_equal(c.node, "pub");
    assert_non_null(strstr(c.warning, "readable by every user"));
    assert_null(strstr(c.warning, "secret"));
    write_conf(path, "cluster = postgresql://ctlkit:secret@db/c1\n", 0600);
    assert_int_equal(ck_conf_load(&c, &err), 0);
    assert_string_equal(c.warning, "");
    /* World-readable without a password: nothing secret, no warning. */
    write_conf(path, "cluster = postgresql://ctlkit@db/c1\n", 0644);
    assert_int_equal(ck_conf_load(&c, &err), 0);
    assert_string_equal(c.warning, "");
    write_conf(path, "cluster = /srv/c\nbogus\n", 0600);
    assert_int_equal(ck_conf_load(&c, &err), -1);
    assert_non_null(strstr(err.msg, "ctlkit.conf:2: expected NAME = VALUE"));
    unsetenv(CK_CONF_ENV);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_file),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_flags_win),
        cmocka_unit_test(test_load_and_warning),
    };
    return cmocka_run_group_tests_name("configuration file", tests, NULL, NULL);
}
