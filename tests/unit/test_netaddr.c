/* Unit tests of ck_netaddr and ck_netrange (lib/core/netaddr.c): the one
 * address parser, and the ranges a simulated fleet takes its phones'
 * source addresses from. */
#include "testutil.h"

#include <arpa/inet.h>
#include <string.h>

#include "ctlkit/netaddr.h"

static const char *host_of(const ck_netaddr *a)
{
    static char buf[CK_NETADDR_STRLEN];
    return ck_netaddr_format((const struct sockaddr *)&a->ss, buf, sizeof buf);
}

static void test_parse_and_format(void **state)
{
    ck_netaddr a;
    ck_err err = {0};
    assert_int_equal(ck_netaddr_parse("127.0.0.11:16969", 69, &a, &err), 0);
    assert_string_equal(host_of(&a), "127.0.0.11:16969");
    assert_int_equal(ck_netaddr_parse("[::1]", 69, &a, &err), 0);
    assert_string_equal(host_of(&a), "[::1]:69");
    assert_int_equal(ck_netaddr_parse("localhost:69", 69, &a, &err), -1);
    assert_int_equal(ck_netaddr_parse("127.0.0.1:0", 69, &a, &err), -1);
    assert_int_equal(ck_netaddr_parse_listen("127.0.0.1:0", 69, &a, &err), 0);
}

static void test_loopback(void **state)
{
    ck_netaddr a;
    const char *yes[] = {"127.0.0.1", "127.64.3.7", "[::1]", "[::ffff:127.0.0.2]"};
    const char *no[] = {"10.0.0.1", "128.0.0.1", "[::2]", "[::ffff:10.0.0.1]", "0.0.0.0"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        assert_int_equal(ck_netaddr_parse(yes[i], 1, &a, NULL), 0);
        assert_true(ck_netaddr_is_loopback((const struct sockaddr *)&a.ss));
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        assert_int_equal(ck_netaddr_parse(no[i], 1, &a, NULL), 0);
        assert_false(ck_netaddr_is_loopback((const struct sockaddr *)&a.ss));
    }
}

static const char *at(const ck_netrange *r, uint64_t i)
{
    static char buf[INET_ADDRSTRLEN];
    ck_netaddr a;
    if (ck_netrange_at(r, i, &a) < 0)
        return "past the end";
    inet_ntop(AF_INET, &((const struct sockaddr_in *)&a.ss)->sin_addr, buf, sizeof buf);
    return buf;
}

static void test_range_skips_0_and_255(void **state)
{
    ck_netrange r;
    ck_err err = {0};
    /* the host bits given are dropped: the range starts at 127.64.0.0 */
    assert_int_equal(ck_netrange_parse("127.64.9.9/10", &r, &err), 0);
    assert_int_equal(ck_netrange_count(&r), (uint64_t)(1u << 14) * 254);
    assert_string_equal(at(&r, 0), "127.64.0.1");
    assert_string_equal(at(&r, 253), "127.64.0.254");
    assert_string_equal(at(&r, 254), "127.64.1.1");
    assert_string_equal(at(&r, ck_netrange_count(&r) - 1), "127.127.255.254");
    assert_string_equal(at(&r, ck_netrange_count(&r)), "past the end");

    assert_int_equal(ck_netrange_parse("10.1.2.0/24", &r, &err), 0);
    assert_int_equal(ck_netrange_count(&r), 254);
    assert_int_equal(ck_netrange_parse("10.1.2.128/25", &r, &err), 0);
    assert_int_equal(ck_netrange_count(&r), 127);
    assert_string_equal(at(&r, 0), "10.1.2.128");
    assert_string_equal(at(&r, 126), "10.1.2.254");
    assert_int_equal(ck_netrange_parse("10.1.2.7/32", &r, &err), 0);
    assert_int_equal(ck_netrange_count(&r), 1);
    assert_string_equal(at(&r, 0), "10.1.2.7");
    assert_int_equal(ck_netrange_parse("10.1.2.255/32", &r, &err), 0);
    assert_int_equal(ck_netrange_count(&r), 0);
    assert_int_equal(ck_netrange_parse("0.0.0.0/0", &r, &err), 0);
    assert_string_equal(at(&r, ck_netrange_count(&r) - 1), "255.255.255.254");
}

static void test_range_errors(void **state)
{
    ck_netrange r;
    const char *bad[] = {"127.64.0.0", "127.64.0.0/33", "127.64.0.0/x", "::1/128", "host/8", "127.0.0.1:69/8"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_err err = {0};
        assert_int_equal(ck_netrange_parse(bad[i], &r, &err), -1);
        assert_int_equal(err.code, CK_EINVAL);
        assert_non_null(strstr(err.msg, bad[i]));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_format),
        cmocka_unit_test(test_loopback),
        cmocka_unit_test(test_range_skips_0_and_255),
        cmocka_unit_test(test_range_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
