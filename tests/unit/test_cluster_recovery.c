/* Unit tests of the recovery commands (lib/cluster/recovery.c) and of the
 * phone following a recovery as CUCM's phones do: a phone whose trust
 * list holds the ITLRecovery certificate as SAST accepts a file re-signed
 * with that key; one that does not must ask TVS (or, without Security by
 * Default, rejects it). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sqlite3.h>

#include "ctlkit/params.h"
#include "ctlkit/phone.h"
#include "ctlkit/trustlist.h"
#include "ctlkit/x509.h"

/* The parsed file NAME of node's TFTP folder (what a phone would hold). */
static ck_tl_file *held(tu_cluster *t, const char *node, const char *name)
{
    size_t len = 0;
    uint8_t *data = tu_node_file(t, node, name, &len);
    assert_non_null(data);
    ck_tl_file *f = NULL;
    ck_err err = {0};
    assert_int_equal(ck_tl_parse(data, len, &f, &err), 0);
    free(data);
    return f;
}

/* What a phone holding `have` does with node's current NAME. */
static ck_ph_decision judge(tu_cluster *t, const char *node, const char *name, ck_ph_kind kind, const ck_tl_file *have,
                            bool sbd)
{
    size_t len = 0;
    uint8_t *data = tu_node_file(t, node, name, &len);
    assert_non_null(data);
    ck_ph_input in = {.kind = kind, .sbd = sbd, .held = have, .data = data, .len = len, .now = 1000};
    ck_ph_decision d;
    ck_err err = {0};
    assert_int_equal(ck_ph_judge(&in, &d, &err), 0);
    ck_tl_free(d.parsed);
    d.parsed = NULL;
    free(data);
    return d;
}

static bool signed_by_itlrecovery(tu_cluster *t, const char *node, const char *name)
{
    ck_tl_file *f = held(t, node, name);
    X509 *signer = ck_tl_signer_cert(f, NULL);
    char *subject = signer ? ck_name_cucm(X509_get_subject_name(signer)) : NULL;
    bool yes = subject && strstr(subject, "ITLRECOVERY_") != NULL;
    free(subject);
    X509_free(signer);
    ck_tl_free(f);
    return yes;
}

static void signer_param(tu_cluster *t, char *out, size_t n)
{
    assert_int_equal(ck_store_get_param(ck_cluster_store(t->c), CK_PARAM_SIGNER, out, n, NULL), 0);
}

/* The CallManager key is lost: utils ctl reset localkey signs the CTL with
 * ITLRecovery; a phone whose CTL lists ITLRecovery takes it by itself. */
static void test_ctl_reset_after_lost_callmanager_key(void **state)
{
    (void)state;
    tu_cluster *t = tu_cluster_new(2, false);
    assert_non_null(t);
    ck_err err = {0};
    assert_int_equal(ck_cluster_set_param(t->c, TU_PUB, CK_PARAM_SIGNER, CK_UNIT_ITLRECOVERY, &err), 0);
    assert_int_equal(ck_cluster_set_mixed_mode(t->c, TU_PUB, &err), 0);
    ck_tl_file *phone_ctl = held(t, TU_SUB, CK_CTL_NAME);

    char warning[2048];
    assert_int_equal(ck_cluster_regen_cert(t->c, TU_PUB, CK_UNIT_CALLMANAGER, NULL, warning, sizeof warning, &err), 0);
    char key[4096];
    ck_cluster_key_path(t->c, TU_PUB, CK_UNIT_CALLMANAGER, key, sizeof key);
    assert_int_equal(unlink(key), 0);

    /* Refused where it cannot run. */
    assert_int_equal(ck_cluster_ctl_reset_localkey(t->c, TU_SUB, &err), -1);
    assert_non_null(strstr(err.msg, "publisher"));

    assert_int_equal(ck_cluster_ctl_reset_localkey(t->c, TU_PUB, &err), 0);
    assert_true(signed_by_itlrecovery(t, TU_SUB, CK_CTL_NAME));
    ck_ph_decision d = judge(t, TU_SUB, CK_CTL_NAME, CK_PH_CTL, phone_ctl, false);
    assert_int_equal(d.verdict, CK_PH_INSTALL);
    assert_int_equal(d.reason, CK_PH_R_KNOWN_SAST);

    char **warn = NULL;
    size_t nw = 0;
    assert_int_equal(ck_cluster_checks(t->c, NULL, &warn, &nw, &err), 0);
    for (size_t i = 0; i < nw; i++)
        print_message("unexpected warning: %s\n", warn[i]);
    assert_int_equal(nw, 0);
    ck_strings_free(warn, nw);
    ck_tl_free(phone_ctl);
    tu_cluster_free(t);
}

/* The seed's cluster (CallManager signs): the reset CTL's signer is not in
 * the phone's CTL. Without SBD the phone rejects it, with SBD it asks TVS;
 * from then on the cluster signs with ITLRecovery. */
static void test_ctl_reset_unknown_to_callmanager_signed_phones(void **state)
{
    (void)state;
    tu_cluster *t = tu_cluster_new(2, false);
    assert_non_null(t);
    ck_err err = {0};
    assert_int_equal(ck_cluster_ctl_reset_localkey(t->c, TU_PUB, &err), -1);
    assert_non_null(strstr(err.msg, "non-secure"));
    assert_int_equal(ck_cluster_set_mixed_mode(t->c, TU_PUB, &err), 0);
    ck_tl_file *phone_ctl = held(t, TU_PUB, CK_CTL_NAME);
    assert_int_equal(ck_cluster_ctl_reset_localkey(t->c, TU_PUB, &err), 0);
    assert_int_equal(judge(t, TU_PUB, CK_CTL_NAME, CK_PH_CTL, phone_ctl, false).reason, CK_PH_R_UNKNOWN_SIGNER);
    assert_int_equal(judge(t, TU_PUB, CK_CTL_NAME, CK_PH_CTL, phone_ctl, true).verdict, CK_PH_NEED_TVS);
    char v[32];
    signer_param(t, v, sizeof v);
    assert_string_equal(v, CK_UNIT_ITLRECOVERY);
    ck_tl_free(phone_ctl);
    tu_cluster_free(t);
}

/* utils itl reset: every node's ITL signed by the ITLRecovery key until
 * its TFTP restarts; a subscriber without the key is told where it is. */
static void test_itl_reset(void **state)
{
    (void)state;
    tu_cluster *t = tu_cluster_new(2, false);
    assert_non_null(t);
    ck_err err = {0};
    size_t n = 99;
    assert_int_equal(ck_cluster_itl_reset(t->c, TU_SUB, NULL, &n, NULL, 0, &err), -1);
    assert_non_null(strstr(err.msg, "remotekey " TU_PUB));
    assert_int_equal(ck_cluster_itl_reset(t->c, TU_SUB, "no-such-node", &n, NULL, 0, &err), -1);

    /* A phone whose ITL lists ITLRecovery (newer releases' ITL). */
    assert_int_equal(ck_cluster_set_param(t->c, TU_PUB, CK_PARAM_SIGNER, CK_UNIT_ITLRECOVERY, &err), 0);
    assert_int_equal(ck_cluster_rebuild_itl(t->c, TU_SUB, &err), 0);
    ck_tl_file *with_recovery = held(t, TU_SUB, CK_ITL_NAME);
    /* Then the subscriber's CallManager certificate changes (a phone that
     * missed the change no longer trusts the node's ITL signer). */
    assert_int_equal(ck_cluster_set_param(t->c, TU_PUB, CK_PARAM_SIGNER, CK_UNIT_CALLMANAGER, &err), 0);
    char warning[2048];
    assert_int_equal(ck_cluster_regen_cert(t->c, TU_SUB, CK_UNIT_CALLMANAGER, NULL, warning, sizeof warning, &err), 0);
    ck_tl_file *without = held(t, TU_SUB, CK_ITL_NAME);
    assert_false(signed_by_itlrecovery(t, TU_SUB, CK_ITL_NAME));

    assert_int_equal(ck_cluster_itl_reset(t->c, TU_SUB, TU_PUB, &n, NULL, 0, &err), 0);
    assert_int_equal(n, 2);
    assert_true(signed_by_itlrecovery(t, TU_PUB, CK_ITL_NAME));
    assert_true(signed_by_itlrecovery(t, TU_SUB, CK_ITL_NAME));
    ck_ph_decision d = judge(t, TU_SUB, CK_ITL_NAME, CK_PH_ITL, with_recovery, false);
    assert_int_equal(d.verdict, CK_PH_INSTALL);
    assert_int_equal(d.reason, CK_PH_R_KNOWN_SAST);
    assert_int_equal(judge(t, TU_SUB, CK_ITL_NAME, CK_PH_ITL, without, false).reason, CK_PH_R_UNKNOWN_SIGNER);
    /* Across hosts each daemon rebuilds an ITL it finds stale: a reset ITL
     * is not stale (it stays until the node's TFTP restart). */
    bool stale = true;
    assert_int_equal(ck_cluster_itl_stale(t->c, TU_SUB, &stale, &err), 0);
    assert_false(stale);
    assert_int_equal(ck_cluster_itl_stale(t->c, TU_PUB, &stale, &err), 0);
    assert_false(stale);

    /* localkey on the publisher; the parameter is left as it was. */
    assert_int_equal(ck_cluster_itl_reset(t->c, TU_PUB, NULL, &n, NULL, 0, &err), 0);
    char v[32];
    signer_param(t, v, sizeof v);
    assert_string_equal(v, CK_UNIT_CALLMANAGER);
    /* Restarting TFTP builds the usual ITL again. */
    assert_int_equal(ck_cluster_rebuild_itl(t->c, TU_SUB, &err), 0);
    assert_false(signed_by_itlrecovery(t, TU_SUB, CK_ITL_NAME));
    ck_tl_free(with_recovery);
    ck_tl_free(without);
    tu_cluster_free(t);
}

static void test_activelog_names(void **state)
{
    (void)state;
    assert_string_equal(ck_cluster_activelog_tftp_name("cm/tftpdata/CTLFile.tlv"), "CTLFile.tlv");
    assert_null(ck_cluster_activelog_tftp_name("cm/tftpdata/"));
    assert_null(ck_cluster_activelog_tftp_name("cm/tftpdata/../x"));
    assert_null(ck_cluster_activelog_tftp_name("cm/tftpdata/.hidden"));
    assert_null(ck_cluster_activelog_tftp_name("platform/log/x"));
    assert_null(ck_cluster_activelog_tftp_name("cm/tftpdataX"));
}

/* A subscriber that has not joined yet (across hosts: no certificates
 * until `cluster join`) is skipped and named; the others are reset. */
static void test_itl_reset_skips_unjoined(void **state)
{
    (void)state;
    tu_cluster *t = tu_cluster_new(2, false);
    assert_non_null(t);
    char db[PATH_MAX + 16];
    snprintf(db, sizeof db, "%s/cluster.db", t->dir);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "DELETE FROM certificate WHERE node='" TU_SUB "'; "
                                     "DELETE FROM publishedfile WHERE node='" TU_SUB "'", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    ck_err err = {0};
    size_t n = 0;
    char skipped[128];
    if (ck_cluster_itl_reset(t->c, TU_PUB, NULL, &n, skipped, sizeof skipped, &err) != 0)
        fail_msg("itl reset with an unjoined subscriber: %s", err.msg);
    assert_int_equal(n, 1);
    assert_string_equal(skipped, TU_SUB);
    assert_true(signed_by_itlrecovery(t, TU_PUB, CK_ITL_NAME));
    tu_cluster_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctl_reset_after_lost_callmanager_key),
        cmocka_unit_test(test_ctl_reset_unknown_to_callmanager_signed_phones),
        cmocka_unit_test(test_itl_reset),
        cmocka_unit_test(test_itl_reset_skips_unjoined),
        cmocka_unit_test(test_activelog_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
