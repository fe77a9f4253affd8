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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_no_ctl),
    };
    return cmocka_run_group_tests_name("drift", tests, NULL, NULL);
}
