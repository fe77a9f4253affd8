/* admin: show ctl / show itl, utils ctl ..., file delete|list tftp. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "tlvfile.h"

static const char restart_hint[] =
    "Please Restart the TFTP and Cisco CallManager services on all nodes in the cluster that run these services\n";

static void node_file(admin *a, const char *name, char *out, size_t n)
{
    ck_cluster_node_path(a->c, a->node, "tftp", name, out, n);
}

static int show_trustlist(admin *a, int argc, char **argv, const char *name, const char *kind)
{
    bool json = admin_take_json(a, &argc, argv);
    if (argc)
        return admin_fail("Unexpected argument '%s'", argv[0]);
    char path[4096];
    node_file(a, name, path, sizeof path);
    /* After CUCM's output, what the status view says about this node (its
     * copy against what the publisher published, among the checks). */
    ck_cluster_status st = {0};
    if (strcmp(kind, "CTL") == 0 && ck_cluster_status_read(a->c, a->node, &st, NULL) < 0)
        memset(&st, 0, sizeof st);
    char **warn = st.warnings;
    size_t nw = st.n_warnings;
    tlv_loaded t;
    ck_err err = {0};
    bool present = tlv_load(path, &t, &err) == 0;
    if (json) {
        json_t *root = json_object();
        json_object_set_new(root, "node", json_string(a->node));
        if (present) {
            char *s = ck_tl_show_json(t.raw, t.len, t.file, &t.info, t.file ? NULL : t.parse_error.msg);
            json_object_set_new(root, "file", s ? json_loads(s, 0, NULL) : json_null());
            free(s);
        } else {
            json_object_set_new(root, "file", json_null());
        }
        json_t *jw = json_array();
        for (size_t i = 0; i < nw; i++)
            json_array_append_new(jw, json_string(warn[i]));
        json_object_set_new(root, "warnings", jw);
        char *txt = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", txt ? txt : "{}");
        free(txt);
        json_decref(root);
    } else {
        if (present)
            tlv_print(stdout, &t, false, kind);
        else
            ck_tl_show_missing(stdout, kind);
        for (size_t i = 0; i < nw; i++)
            printf("WARNING: %s\n", warn[i]);
    }
    if (present)
        tlv_unload(&t);
    ck_cluster_status_free(&st);
    return CMD_OK;
}

int admin_show_ctl(admin *a, int argc, char **argv) { return show_trustlist(a, argc, argv, CK_CTL_NAME, "CTL"); }
int admin_show_itl(admin *a, int argc, char **argv) { return show_trustlist(a, argc, argv, CK_ITL_NAME, "ITL"); }

/* CUCM's words for the library's refusals. */
static int refused(admin *a, ck_cluster_refusal why, const ck_err *err)
{
    switch (why) {
    case CK_REFUSAL_NONE:
        return 0;
    case CK_REFUSAL_SUBSCRIBER:
        return admin_fail("This command can only be run on the publisher; %s is a subscriber.", a->node);
    case CK_REFUSAL_NONSECURE:
        return admin_fail("The cluster is in non-secure mode: there is no CTL to update. Run utils ctl set-cluster "
                          "mixed-mode first.");
    default:
        return admin_fail("%s", err->msg);
    }
}

static int publisher_only(admin *a)
{
    ck_err err = {0};
    return refused(a, ck_cluster_publisher_only(a->c, a->node, &err), &err);
}

int admin_set_mixed(admin *a, int argc, char **argv)
{
    if (publisher_only(a))
        return CMD_FAILED;
    if (ck_cluster_security_mode(a->c)) {
        printf("The cluster is already in Mixed Mode\n");
        return CMD_OK;
    }
    admin_warn_strands(a, "utils ctl set-cluster mixed-mode");
    if (!admin_confirm(a, "This operation will set the cluster to Mixed mode. Do you want to continue?"))
        return CMD_FAILED;
    printf("Moving Cluster to Mixed Mode\n");
    fflush(stdout);
    ck_err err = {0};
    if (ck_cluster_set_mixed_mode(a->c, a->node, &err) < 0)
        return admin_fail("%s", err.msg);
    printf("Cluster set to Mixed Mode\n%s", restart_hint);
    return CMD_OK;
}

int admin_set_nonsecure(admin *a, int argc, char **argv)
{
    if (publisher_only(a))
        return CMD_FAILED;
    if (!ck_cluster_security_mode(a->c)) {
        printf("The cluster is already in Non Secure Mode\n");
        return CMD_OK;
    }
    admin_warn_strands(a, "utils ctl set-cluster non-secure-mode");
    if (!admin_confirm(a, "This operation will set the cluster to non secure mode. Do you want to continue?"))
        return CMD_FAILED;
    printf("Moving Cluster to Non Secure Mode\n");
    fflush(stdout);
    ck_err err = {0};
    if (ck_cluster_set_nonsecure_mode(a->c, a->node, &err) < 0)
        return admin_fail("%s", err.msg);
    printf("Cluster set to Non Secure Mode\n%s", restart_hint);
    return CMD_OK;
}

int admin_update_ctl(admin *a, int argc, char **argv)
{
    ck_err err = {0};
    if (refused(a, ck_cluster_ctl_updatable(a->c, a->node, &err), &err))
        return CMD_FAILED;
    admin_warn_strands(a, "utils ctl update CTLFile");
    if (!admin_confirm(a, "This operation will update the CTLFile. Do you want to continue?"))
        return CMD_FAILED;
    printf("Updating CTL file\n");
    fflush(stdout);
    if (ck_cluster_update_ctl(a->c, a->node, &err) < 0)
        return admin_fail("%s", err.msg);
    printf("CTL file Updated\n%s", restart_hint);
    return CMD_OK;
}

int admin_file_delete(admin *a, int argc, char **argv)
{
    char q[256];
    snprintf(q, sizeof q, "Delete the File %s?", argv[0]);
    if (ck_cluster_tftp_name(argv[0]) != CK_REFUSAL_NONE)
        return admin_fail("'%s' is not a file name in the TFTP directory", argv[0]);
    if (!admin_confirm_enter_y(a, q))
        return CMD_FAILED;
    int found = 0, deleted = 0;
    ck_err err = {0};
    if (ck_cluster_delete_tftp_file(a->c, a->node, argv[0], &found, &deleted, &err) < 0)
        return admin_fail("%s", err.msg);
    printf("files: found = %d, deleted = %d\n", found, deleted);
    return CMD_OK;
}

int admin_file_list(admin *a, int argc, char **argv)
{
    bool json = admin_take_json(a, &argc, argv);
    if (argc)
        return admin_fail("Unexpected argument '%s'", argv[0]);
    ck_tftp_entry *files = NULL;
    size_t n = 0;
    if (ck_cluster_tftp_list(a->c, a->node, &files, &n, NULL) < 0)
        return admin_fail("Cannot read the TFTP directory of %s", a->node);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        if (json)
            json_array_append_new(arr, json_pack("{s:s,s:I}", "name", files[i].name, "size", (json_int_t)files[i].size));
        else
            printf("%-40s %lld\n", files[i].name, files[i].size);
    }
    if (json) {
        char *txt = json_dumps(arr, JSON_INDENT(2));
        printf("%s\n", txt ? txt : "[]");
        free(txt);
    } else {
        printf("dir count = 0, file count = %zu\n", n);
    }
    json_decref(arr);
    free(files);
    return CMD_OK;
}
