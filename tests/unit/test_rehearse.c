/* Unit tests of the rehearsal (lib/cluster/rehearse*.c, ctlkit/rehearse.h)
 * and of ck_store_copy under it: the copy holds what the cluster holds;
 * scenario 4 rehearsed predicts, per phone, what lib/phone's rules say
 * (7960s reject, SBD phones install through TVS, a phone with nothing
 * installed takes the new CTL, unknown lists and unseen devices are
 * "unknown") while the real cluster stays as it was; unknown and failing
 * commands are refused naming them, and the private folder is gone after. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ctlkit/device.h"
#include "ctlkit/rehearse.h"
#include "ctlkit/store.h"

static void md5_of(ck_store *s, const char *node, const char *name, char out[33])
{
    ck_file_row f;
    ck_err err = {0};
    assert_int_equal(ck_store_get_file(s, node, name, &f, &err), 0);
    snprintf(out, 33, "%s", f.md5);
    ck_file_row_clear(&f);
}

static ck_phone_row phone(const char *mac, const char *model, const char *ctl, const char *itl)
{
    ck_phone_row p;
    memset(&p, 0, sizeof p);
    snprintf(p.mac, sizeof p.mac, "%s", mac);
    snprintf(p.model, sizeof p.model, "%s", model);
    snprintf(p.node, sizeof p.node, "%s", TU_PUB);
    snprintf(p.ip, sizeof p.ip, "127.0.0.99");
    snprintf(p.ctl_md5, sizeof p.ctl_md5, "%s", ctl);
    snprintf(p.itl_md5, sizeof p.itl_md5, "%s", itl);
    p.ctl_at = *ctl ? 100 : 0;
    p.itl_at = *itl ? 100 : 0;
    p.last_seen = (int64_t)time(NULL);
    return p;
}

/* The known fleet: a 7960 and a phone of unknown model on the CTL, a 7975
 * (TVS named it) and an 8865 (a device row names it) on the CTL and the
 * publisher's ITL, a 7975 with nothing installed, one holding a CTL the
 * cluster never published, and a device never seen. */
static void add_fleet(tu_cluster *t)
{
    ck_store *s = ck_cluster_store(t->c);
    char ctl[33], itl[33];
    md5_of(s, "", CK_CTL_NAME, ctl);
    md5_of(s, TU_PUB, CK_ITL_NAME, itl);
    ck_phone_row rows[] = {
        phone("000000000001", "", ctl, ""),       phone("000000000002", "7975", ctl, itl),
        phone("000000000003", "", ctl, itl),      phone("000000000004", "7975", "", ""),
        phone("000000000005", "7975", "0123456789abcdef0123456789abcdef", itl),
    };
    ck_err err = {0};
    assert_int_equal(ck_store_merge_phones(s, rows, 5, &err), 0);
    ck_device_add a3 = {.name = "SEP000000000003", .model = "8865"};
    ck_device_add a9 = {.name = "SEP000000000009", .model = "7975"};
    assert_int_equal(ck_cluster_device_add(t->c, &a3, &err), 0);
    assert_int_equal(ck_cluster_device_add(t->c, &a9, &err), 0);
}

static const ck_rh_phone *find_phone(const ck_rehearsal *r, const char *name)
{
    for (size_t i = 0; i < r->n_phones; i++)
        if (strcmp(r->phones[i].name, name) == 0)
            return &r->phones[i];
    fail_msg("no phone %s in the rehearsal", name);
    return NULL;
}

static const ck_rh_model *find_model(const ck_rehearsal *r, const char *model)
{
    for (size_t i = 0; i < r->n_models; i++)
        if (strcmp(r->models[i].model, model) == 0)
            return &r->models[i];
    fail_msg("no model %s in the rehearsal", model);
    return NULL;
}

static size_t audit_rows(ck_store *s)
{
    ck_audit_row *rows = NULL;
    size_t n = 0;
    ck_err err = {0};
    assert_int_equal(ck_store_list_audit(s, 100000, &rows, &n, &err), 0);
    ck_audit_rows_free(rows, n);
    return n;
}

static bool folder_empty(const char *path)
{
    DIR *d = opendir(path);
    assert_non_null(d);
    bool empty = true;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            empty = false;
    closedir(d);
    return empty;
}

static void test_store_copy(void **state)
{
    tu_cluster *t = *state;
    ck_store *s = ck_cluster_store(t->c), *dst = NULL;
    ck_err err = {0};
    add_fleet(t);
    assert_int_equal(ck_store_set_param(s, "PhoneSeenAgeHours", "48", &err), 0);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/copy.db", t->root);
    assert_int_equal(ck_store_open(path, true, &dst, &err), 0);
    assert_int_equal(ck_store_copy(s, dst, &err), 0);

    ck_node *na = NULL, *nb = NULL;
    size_t nna = 0, nnb = 0;
    assert_int_equal(ck_store_list_nodes(s, &na, &nna, &err), 0);
    assert_int_equal(ck_store_list_nodes(dst, &nb, &nnb, &err), 0);
    assert_int_equal(nna, nnb);
    for (size_t i = 0; i < nna; i++) {
        assert_string_equal(na[i].name, nb[i].name);
        assert_int_equal(na[i].publisher, nb[i].publisher);
        assert_int_equal(na[i].joined, nb[i].joined);
        char m1[33], m2[33];
        md5_of(s, na[i].name, CK_ITL_NAME, m1);
        md5_of(dst, na[i].name, CK_ITL_NAME, m2);
        assert_string_equal(m1, m2);
    }
    free(na);
    free(nb);
    ck_cert_row *ca = NULL, *cb = NULL;
    size_t nca = 0, ncb = 0;
    assert_int_equal(ck_store_list_certs(s, &ca, &nca, &err), 0);
    assert_int_equal(ck_store_list_certs(dst, &cb, &ncb, &err), 0);
    assert_int_equal(nca, ncb);
    for (size_t i = 0; i < nca; i++) {
        assert_string_equal(ca[i].serial, cb[i].serial);
        assert_int_equal(ca[i].changed_at, cb[i].changed_at);
    }
    ck_cert_rows_free(ca, nca);
    ck_cert_rows_free(cb, ncb);
    char c1[33], c2[33], v[16];
    md5_of(s, "", CK_CTL_NAME, c1);
    md5_of(dst, "", CK_CTL_NAME, c2);
    assert_string_equal(c1, c2);
    assert_int_equal(ck_store_get_param(dst, "PhoneSeenAgeHours", v, sizeof v, &err), 0);
    assert_string_equal(v, "48");
    ck_phone_row *pa = NULL;
    ck_device_row *da = NULL;
    size_t npa = 0, nda = 0;
    assert_int_equal(ck_store_list_phones(dst, &pa, &npa, &err), 0);
    assert_int_equal(npa, 5);
    assert_string_equal(pa[1].model, "7975");
    assert_string_equal(pa[2].itl_md5, pa[1].itl_md5);
    free(pa);
    assert_int_equal(ck_store_list_devices(dst, &da, &nda, &err), 0);
    assert_int_equal(nda, 2);
    assert_string_equal(da[0].model, "8865");
    ck_device_rows_free(da, nda);
    assert_int_equal(audit_rows(dst), 0); /* the audit log stays with the cluster */
    ck_store_close(dst);
}

static void test_scenario4(void **state)
{
    tu_cluster *t = *state;
    ck_store *s = ck_cluster_store(t->c);
    ck_err err = {0};
    char ctl_before[33], itl_before[33], tmp[PATH_MAX];
    add_fleet(t);
    md5_of(s, "", CK_CTL_NAME, ctl_before);
    md5_of(s, TU_PUB, CK_ITL_NAME, itl_before);
    ck_cert_row cm;
    assert_int_equal(ck_store_get_cert(s, TU_PUB, CK_UNIT_CALLMANAGER, &cm, &err), 0);
    size_t audits = audit_rows(s);
    snprintf(tmp, sizeof tmp, "%s/rehearse-tmp", t->root);
    assert_int_equal(mkdir(tmp, 0700), 0);

    const char *cmds[] = {"set cert regen CallManager", "utils ctl update CTLFile"};
    ck_rehearse_opts o = {.node = TU_PUB, .commands = cmds, .n_commands = 2, .tmp_parent = tmp};
    ck_rehearsal r;
    if (ck_rehearse(t->c, &o, &r, &err) < 0)
        fail_msg("rehearse: %s", err.msg);
    assert_string_equal(r.ctl_md5_before, ctl_before);
    assert_string_not_equal(r.ctl_md5_after, ctl_before);
    assert_int_equal(r.n_phones, 6);
    assert_int_equal(find_phone(&r, "SEP000000000001")->outcome, CK_RH_REJECT);
    assert_string_equal(find_phone(&r, "SEP000000000001")->reason, "unknown-signer");
    assert_string_equal(find_phone(&r, "SEP000000000001")->model, "unknown");
    assert_int_equal(find_phone(&r, "SEP000000000002")->outcome, CK_RH_VIA_TVS);
    assert_string_equal(find_phone(&r, "SEP000000000003")->model, "8865");
    assert_int_equal(find_phone(&r, "SEP000000000003")->outcome, CK_RH_VIA_TVS);
    assert_int_equal(find_phone(&r, "SEP000000000004")->outcome, CK_RH_DIRECT);
    assert_string_equal(find_phone(&r, "SEP000000000004")->reason, "leap-of-faith");
    assert_int_equal(find_phone(&r, "SEP000000000005")->outcome, CK_RH_UNKNOWN);
    assert_int_equal(find_phone(&r, "SEP000000000009")->outcome, CK_RH_UNKNOWN);
    assert_int_equal(find_model(&r, "7975")->n[CK_RH_VIA_TVS], 1);
    assert_int_equal(find_model(&r, "7975")->n[CK_RH_UNKNOWN], 2);
    assert_int_equal(find_model(&r, "unknown")->n[CK_RH_REJECT], 1);
    assert_string_equal(r.models[r.n_models - 1].model, "unknown");
    assert_int_equal(r.total.n[CK_RH_REJECT], 1);
    ck_rehearsal_free(&r);

    /* The real cluster is as it was, and the private folder is gone. */
    char ctl_after[33], itl_after[33];
    md5_of(s, "", CK_CTL_NAME, ctl_after);
    md5_of(s, TU_PUB, CK_ITL_NAME, itl_after);
    assert_string_equal(ctl_after, ctl_before);
    assert_string_equal(itl_after, itl_before);
    ck_cert_row cm2;
    assert_int_equal(ck_store_get_cert(s, TU_PUB, CK_UNIT_CALLMANAGER, &cm2, &err), 0);
    assert_string_equal(cm.serial, cm2.serial);
    assert_string_equal(cm.pem, cm2.pem);
    ck_cert_row_clear(&cm);
    ck_cert_row_clear(&cm2);
    assert_int_equal(audit_rows(s), audits);
    assert_true(folder_empty(tmp));

    /* Nothing changed: every phone whose lists are known sees no change. */
    o.n_commands = 0;
    assert_int_equal(ck_rehearse(t->c, &o, &r, &err), 0);
    assert_int_equal(find_phone(&r, "SEP000000000001")->outcome, CK_RH_NO_CHANGE);
    assert_int_equal(find_phone(&r, "SEP000000000002")->outcome, CK_RH_NO_CHANGE);
    assert_int_equal(r.total.n[CK_RH_REJECT], 0);
    ck_rehearsal_free(&r);
    size_t known = 0;
    assert_int_equal(ck_rehearse_known_phones(t->c, &known, &err), 0);
    assert_true(known >= 6);
    assert_true(folder_empty(tmp));
}

static void test_refusals(void **state)
{
    tu_cluster *t = *state;
    ck_err err = {0};
    ck_rehearsal r;
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/rehearse-tmp2", t->root);
    assert_int_equal(mkdir(tmp, 0700), 0);
    const char *unknown[] = {"utils ctl update CTLFile", "delete everything"};
    ck_rehearse_opts o = {.node = TU_PUB, .commands = unknown, .n_commands = 2, .tmp_parent = tmp};
    assert_int_equal(ck_rehearse(t->c, &o, &r, &err), -1);
    assert_int_equal(err.code, CK_EINVAL);
    assert_non_null(strstr(err.msg, "'delete everything' is not a command a rehearsal knows"));
    assert_int_equal(ck_rehearse_check_command("set cert regen", &err), -1);
    assert_non_null(strstr(err.msg, "wrong number of arguments"));
    assert_int_equal(ck_rehearse_check_command("utils service restart \"Cisco Tftp\"", &err), 0);

    /* The CTL is the publisher's to update: on the subscriber the command
     * fails on the copy, named, and nothing is left behind. */
    const char *update[] = {"set param PhoneSeenAgeHours 12", "utils ctl update CTLFile"};
    ck_rehearse_opts os = {.node = TU_SUB, .commands = update, .n_commands = 2, .tmp_parent = tmp};
    assert_int_equal(ck_rehearse(tu_host(t, TU_SUB), &os, &r, &err), -1);
    assert_non_null(strstr(err.msg, "command 2 'utils ctl update CTLFile' failed on the copy"));
    assert_non_null(strstr(err.msg, "subscriber"));
    assert_non_null(strstr(err.msg, "the real cluster is untouched"));
    assert_true(folder_empty(tmp));
    char v[16] = "";
    ck_err gerr = {0};
    if (ck_store_get_param(ck_cluster_store(t->c), "PhoneSeenAgeHours", v, sizeof v, &gerr) == 0)
        assert_string_not_equal(v, "12");
}

static int setup(void **state)
{
    tu_cluster *t = tu_cluster_new(2, true);
    *state = t;
    return t ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (!tu_backend_from_args(argc, argv))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_copy, setup, tu_cluster_teardown),
        cmocka_unit_test_setup_teardown(test_scenario4, setup, tu_cluster_teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, tu_cluster_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
