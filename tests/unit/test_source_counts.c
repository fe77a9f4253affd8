/* Unit tests of source_counts (lib/ev/source_counts.c): the connections per
 * address behind ctlkitd's --max-conns-per-source. */
#include "testutil.h"

#include <pthread.h>
#include <string.h>
#include <sys/un.h>

#include "ctlkit/netaddr.h"
#include "source_counts.h"

static ck_netaddr addr(const char *text)
{
    ck_netaddr a;
    assert_int_equal(ck_netaddr_parse(text, 1, &a, NULL), 0);
    return a;
}
#define SA(a) ((const struct sockaddr *)&(a).ss)

static void test_cap_per_address(void **state)
{
    source_counts *t = source_counts_new(2);
    assert_non_null(t);
    ck_netaddr a1 = addr("127.0.2.1:4000"), a1b = addr("127.0.2.1:4001"), a2 = addr("127.0.2.2:4000");
    assert_true(source_counts_take(t, SA(a1)));
    assert_true(source_counts_take(t, SA(a1b))); /* another port, the same address */
    assert_false(source_counts_take(t, SA(a1)));
    assert_int_equal(source_counts_open(t, SA(a1)), 2);
    assert_true(source_counts_take(t, SA(a2)));
    source_counts_release(t, SA(a1));
    assert_int_equal(source_counts_open(t, SA(a1)), 1);
    assert_true(source_counts_take(t, SA(a1)));
    source_counts_release(t, SA(a1));
    source_counts_release(t, SA(a1b));
    assert_int_equal(source_counts_open(t, SA(a1)), 0);
    source_counts_release(t, SA(a1)); /* nothing open: no effect, no negative count */
    assert_true(source_counts_take(t, SA(a1)));
    assert_int_equal(source_counts_open(t, SA(a1)), 1);
    assert_int_equal(source_counts_open(t, SA(a2)), 1);
    source_counts_free(t);
    assert_null(source_counts_new(0));
}

static void test_families(void **state)
{
    source_counts *t = source_counts_new(1);
    ck_netaddr v6 = addr("[::1]:4000"), v4 = addr("127.0.0.1:4000");
    assert_true(source_counts_take(t, SA(v6)));
    assert_false(source_counts_take(t, SA(v6)));
    assert_true(source_counts_take(t, SA(v4))); /* a different family is a different address */
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    assert_true(source_counts_take(t, (struct sockaddr *)&un)); /* not counted */
    assert_true(source_counts_take(t, (struct sockaddr *)&un));
    assert_int_equal(source_counts_open(t, (struct sockaddr *)&un), 0);
    source_counts_free(t); /* with entries left: freed, no leak under ASan */
}

/* Many addresses share buckets: each keeps its own count. */
static void test_many_addresses(void **state)
{
    source_counts *t = source_counts_new(3);
    char text[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(text, sizeof text, "10.%d.%d.1", i / 256, i % 256);
        ck_netaddr a = addr(text);
        for (int k = 0; k < 3; k++)
            assert_true(source_counts_take(t, SA(a)));
        assert_false(source_counts_take(t, SA(a)));
    }
    for (int i = 0; i < 5000; i += 2) {
        snprintf(text, sizeof text, "10.%d.%d.1", i / 256, i % 256);
        ck_netaddr a = addr(text);
        for (int k = 0; k < 3; k++)
            source_counts_release(t, SA(a));
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(text, sizeof text, "10.%d.%d.1", i / 256, i % 256);
        ck_netaddr a = addr(text);
        assert_int_equal(source_counts_open(t, SA(a)), i % 2 ? 3 : 0);
    }
    source_counts_free(t);
}

/* Workers take and release concurrently (the TVS workers share a table). */
static source_counts *shared;
static void *churn(void *arg)
{
    ck_netaddr a = addr(arg);
    for (int i = 0; i < 20000; i++) {
        if (source_counts_take(shared, SA(a)))
            source_counts_release(shared, SA(a));
    }
    return NULL;
}

static void test_threads(void **state)
{
    shared = source_counts_new(2);
    pthread_t th[4];
    const char *who[4] = {"127.0.2.1", "127.0.2.1", "127.0.2.1", "127.0.2.2"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, churn, (void *)who[i]), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    ck_netaddr a = addr("127.0.2.1"), b = addr("127.0.2.2");
    assert_int_equal(source_counts_open(shared, SA(a)), 0);
    assert_int_equal(source_counts_open(shared, SA(b)), 0);
    source_counts_free(shared);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cap_per_address),
        cmocka_unit_test(test_families),
        cmocka_unit_test(test_many_addresses),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
