/* Unit tests of the drift view model (lib/cluster/drift.c,
 * ctlkit/drift.h): current, older and no CTL per model, the older CTLs by
 * MD5, stranded phones, and aging out of "current". */
#include "testutil.h"

#include <string.h>

#include "ctlkit/drift.h"

#define NOW 1000000
#define AGE 3600

static ck_phone_row phone(const char *mac, const char *model, const char *ctl, int64_t ctl_at, int64_t seen)
{
    ck_phone_row p;
    memset(&p, 0, sizeof p);
    snprintf(p.mac, sizeof p.mac, "%s", mac);
    snprintf(p.model, sizeof p.model, "%s", model);
    snprintf(p.ctl_md5, sizeof p.ctl_md5, "%s", ctl);
    p.ctl_at = ctl_at;
    p.last_seen = seen;
    return p;
}

static const ck_drift_counts *model(const ck_drift *d, const char *name)
{
    for (size_t i = 0; i < d->n_models; i++)
        if (strcmp(d->models[i].model, name) == 0)
            return &d->models[i];
    fail_msg("no model %s", name);
    return NULL;
}

static void test_classify(void **state)
{
    (void)state;
    ck_phone_row rows[8] = {
        phone("000000000001", "7975", "NEW", NOW - 10, NOW - 10),
        phone("000000000002", "7975", "OLD1", NOW - 10, NOW - 10),
        phone("000000000003", "8865", "NEW", NOW - 10, NOW - 5),
        phone("000000000004", "", "OLD1", NOW - 10, NOW - 10),
        phone("000000000005", "", "OLD2", NOW - 10, NOW - 10),
        phone("000000000006", "", "", 0, NOW - 10),
        phone("000000000007", "7975", "OLD1", NOW - AGE - 50, NOW - AGE - 1), /* aged out */
        phone("000000000008", "8865", "NEW", NOW - 20, NOW - 1),
    };
    /* 3 asked TVS after fetching the new CTL and was refused: stranded;
     * 8 was refused before its download (an old question): not stranded. */
    snprintf(rows[2].tvs_last, sizeof rows[2].tvs_last, "invalid");
    rows[2].tvs_at = NOW - 5;
    snprintf(rows[7].tvs_last, sizeof rows[7].tvs_last, "invalid");
    rows[7].tvs_at = NOW - 30;
    ck_drift d;
    ck_err err = {0};
    assert_int_equal(ck_drift_build(rows, 8, "NEW", NOW, AGE, &d, &err), 0);
    assert_int_equal(d.total.current, 3);
    assert_int_equal(d.total.older, 3);
    assert_int_equal(d.total.none, 1);
    assert_int_equal(d.total.stale, 1);
    assert_int_equal(d.total.stranded, 1);
    assert_int_equal(d.n_stranded, 1);
    assert_string_equal(d.stranded[0], "000000000003");

    assert_int_equal(d.n_models, 3);
    assert_string_equal(d.models[0].model, "7975"); /* by name, unknown last */
    assert_string_equal(d.models[2].model, CK_DRIFT_UNKNOWN_MODEL);
    const ck_drift_counts *m = model(&d, "7975");
    assert_int_equal(m->current, 1);
    assert_int_equal(m->older, 1);
    assert_int_equal(m->stale, 1);
    m = model(&d, "8865");
    assert_int_equal(m->current, 2);
    assert_int_equal(m->stranded, 1);
    m = model(&d, CK_DRIFT_UNKNOWN_MODEL);
    assert_int_equal(m->older, 2);
    assert_int_equal(m->none, 1);

    assert_int_equal(d.n_older, 2);
    assert_string_equal(d.older[0].md5, "OLD1"); /* most phones first; the aged-out one not counted */
    assert_int_equal(d.older[0].phones, 2);
    assert_string_equal(d.older[1].md5, "OLD2");
    ck_drift_free(&d);
}

/* Without a published CTL every phone that holds one holds an older one. */
static void test_no_ctl(void **state)
{
    (void)state;
    ck_phone_row rows[1] = {phone("000000000001", "7975", "X", NOW, NOW)};
    ck_drift d;
    assert_int_equal(ck_drift_build(rows, 1, "", NOW, AGE, &d, NULL), 0);
    assert_int_equal(d.total.older, 1);
    assert_int_equal(d.total.current, 0);
    ck_drift_free(&d);
    assert_int_equal(ck_drift_build(NULL, 0, "X", NOW, AGE, &d, NULL), 0);
    assert_int_equal(d.n_models, 0);
    ck_drift_free(&d);
}

/* Phones per CTL over time: a curve per CTL that rises at each download,
 * the current CTL first, the smallest CTLs summed in the last series. */
static void test_history(void **state)
{
    (void)state;
    ck_phone_row rows[13];
    size_t n = 0;
    rows[n++] = phone("000000000001", "7975", "NEW", NOW - 100, NOW);
    rows[n++] = phone("000000000002", "7975", "NEW", NOW - 50, NOW);
    rows[n++] = phone("000000000003", "7975", "NEW", NOW, NOW);
    rows[n++] = phone("000000000004", "7975", "OLD", NOW - 1000, NOW);
    rows[n++] = phone("000000000005", "7975", "OLD", NOW - 900, NOW);
    rows[n++] = phone("000000000006", "7975", "OLD", NOW - 800, NOW);
    rows[n++] = phone("000000000007", "7975", "OLD", NOW - 700, NOW);
    rows[n++] = phone("000000000008", "7975", "", 0, NOW); /* no CTL: not drawn */
    const char *small[] = {"A", "B", "C", "D", "E"};
    for (size_t i = 0; i < 5; i++) {
        char mac[13];
        snprintf(mac, sizeof mac, "00000000001%zu", i);
        rows[n++] = phone(mac, "8865", small[i], NOW - 500, NOW);
    }
    ck_ctl_history h;
    assert_int_equal(ck_ctl_history_build(rows, n, "NEW", NOW, &h, NULL), 0);
    assert_int_equal(h.times[0], NOW - 1000);
    assert_int_equal(h.times[CK_HISTORY_POINTS - 1], NOW);
    assert_int_equal(h.n_series, CK_HISTORY_MAX_SERIES);
    assert_string_equal(h.series[0].md5, "NEW");
    assert_true(h.series[0].current);
    assert_int_equal(h.series[0].phones[0], 0);
    assert_int_equal(h.series[0].phones[CK_HISTORY_POINTS - 1], 3);
    assert_string_equal(h.series[1].md5, "OLD");
    assert_int_equal(h.series[1].phones[0], 1);
    assert_int_equal(h.series[1].phones[CK_HISTORY_POINTS - 1], 4);
    /* NEW, OLD, A, B, C get their own series; D and E are "the rest". */
    assert_string_equal(h.series[CK_HISTORY_MAX_SERIES - 1].md5, "");
    assert_int_equal(h.series[CK_HISTORY_MAX_SERIES - 1].phones[CK_HISTORY_POINTS - 1], 2);
    for (size_t s = 0; s < h.n_series; s++)
        for (size_t i = 1; i < CK_HISTORY_POINTS; i++)
            assert_true(h.series[s].phones[i] >= h.series[s].phones[i - 1]);
    /* No phone at all: no series, still a time axis. */
    assert_int_equal(ck_ctl_history_build(NULL, 0, "NEW", NOW, &h, NULL), 0);
    assert_int_equal(h.n_series, 0);
    assert_true(h.times[0] < h.times[CK_HISTORY_POINTS - 1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_no_ctl),
        cmocka_unit_test(test_history),
    };
    return cmocka_run_group_tests_name("drift", tests, NULL, NULL);
}
