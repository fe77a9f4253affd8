/* admin: the recovery commands (utils ctl reset localkey, utils itl reset
 * localkey|remotekey) and file delete activelog. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "admin.h"

static const char restart_hint[] =
    "Please Restart the TFTP and Cisco CallManager services on all nodes in the cluster that run these services\n";

int admin_ctl_reset_localkey(admin *a, int argc, char **argv)
{
    ck_err err = {0};
    if (ck_cluster_publisher_only(a->c, a->node, &err) == CK_REFUSAL_SUBSCRIBER)
        return admin_fail("This command can only be run on the publisher; %s is a subscriber.", a->node);
    if (!ck_cluster_security_mode(a->c))
        return admin_fail("The cluster is in non-secure mode: there is no CTL to reset. Run utils ctl set-cluster "
                          "mixed-mode first.");
    admin_warn_strands(a, "utils ctl reset localkey");
    if (!admin_confirm(a, "This operation will reset the CTLFile using the ITLRecovery key. Do you want to continue?"))
        return CMD_FAILED;
    printf("Resetting the CTL file using the ITLRecovery key\n");
    fflush(stdout);
    if (ck_cluster_ctl_reset_localkey(a->c, a->node, &err) < 0)
        return admin_fail("%s", err.msg);
    printf("CTL file Updated\n%s", restart_hint);
    return CMD_OK;
}

static int itl_reset(admin *a, const char *key_node)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "utils itl reset %s%s", key_node ? "remotekey " : "localkey", key_node ? key_node : "");
    admin_warn_strands(a, cmd);
    if (!admin_confirm(a, "This operation will reset the ITL file of every node using the ITLRecovery key. Do you "
                          "want to continue?"))
        return CMD_FAILED;
    printf("Locating the ITLRecovery certificate.....\nResetting the ITL file using the ITLRecovery certificate.....\n");
    fflush(stdout);
    size_t n = 0;
    char skipped[512];
    ck_err err = {0};
    if (ck_cluster_itl_reset(a->c, a->node, key_node, &n, skipped, sizeof skipped, &err) < 0)
        return admin_fail("%s", err.msg);
    if (skipped[0])
        printf("Skipped %s: not joined to the cluster yet (no certificates, no ITL file).\n", skipped);
    printf("The ITL file was reset on %zu node(s).\n"
           "Reset the phones; once they have the reset ITL, restart Cisco Tftp on every node "
           "(utils service restart \"Cisco Tftp\") so that each serves its usual ITL again.\n",
           n);
    return CMD_OK;
}

int admin_itl_reset(admin *a, int argc, char **argv)
{
    if (strcasecmp(argv[0], "localkey") == 0 && argc == 1)
        return itl_reset(a, NULL);
    if (strcasecmp(argv[0], "remotekey") == 0 && argc == 2)
        return itl_reset(a, argv[1]);
    printf("Executed command unsuccessfully\nUsage: utils itl reset localkey | utils itl reset remotekey NODE\n");
    return CMD_USAGE;
}

int admin_file_delete_activelog(admin *a, int argc, char **argv)
{
    /* ctlkit models one part of CUCM's activelog: the TFTP directory. */
    const char *name = ck_cluster_activelog_tftp_name(argv[0]);
    if (!name)
        return admin_fail("'%s' is not a file of cm/tftpdata/ (the only part of activelog ctlkit models)", argv[0]);
    /* ctlkit's addition: the seed says to use it only outside mixed mode. */
    if (strcmp(name, CK_CTL_NAME) == 0 && ck_cluster_security_mode(a->c))
        printf("WARNING: the cluster is in mixed mode: phones that boot while %s has no CTL cannot download one "
               "from it (utils ctl update CTLFile publishes it again)\n",
               a->node);
    char q[256];
    snprintf(q, sizeof q, "Delete the File %s?", argv[0]);
    if (!admin_confirm_enter_y(a, q))
        return CMD_FAILED;
    int found = 0, deleted = 0;
    ck_err err = {0};
    if (ck_cluster_delete_tftp_file(a->c, a->node, name, &found, &deleted, &err) < 0)
        return admin_fail("%s", err.msg);
    printf("files: found = %d, deleted = %d\n", found, deleted);
    return CMD_OK;
}
