/* `set tls min-version` and `show tls min-version`: CUCM's TLS policy, a
 * cluster-wide parameter (TLSMinVersion) that TVS and the CTL Provider
 * apply when they (re)start. docs/admin-guide.md, "TLS minimum version". */
#include <stdio.h>

#include "admin.h"
#include "ctlkit/params.h"
#include "ctlkit/tls_policy.h"

int admin_show_tls_min(admin *a, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("Configured TLS minimum version: %s\n", ck_tls_version_name(ck_cluster_tls_min_version(a->c)));
    return CMD_OK;
}

int admin_set_tls_min(admin *a, int argc, char **argv)
{
    (void)argc;
    int want = ck_tls_version_parse(argv[0]);
    if (!want)
        return admin_fail("Invalid TLS version '%s': use 1.0, 1.1, 1.2 or 1.3", argv[0]);
    int now = ck_cluster_tls_min_version(a->c);
    if (want == now) {
        printf("The minimum TLS version is already %s\n", ck_tls_version_name(want));
        return CMD_OK;
    }
    if (want < now)
        printf("**WARNING** If you are lowering the TLS version it can lead to security issues **WARNING**\n");
    else if (want >= TLS1_2_VERSION)
        printf("**WARNING** Phones that speak only TLS 1.0 (79xx) will fail their TVS queries **WARNING**\n");
    char q[256];
    snprintf(q, sizeof q,
             "This will set the minimum TLS version to %s on every node of the cluster; TVS and the CTL Provider "
             "use it once they restart. Do you want to continue?",
             ck_tls_version_name(want));
    if (!admin_confirm(a, q))
        return CMD_FAILED;
    ck_err err = {0};
    if (ck_cluster_set_param(a->c, a->node, CK_PARAM_TLS_MIN, ck_tls_version_name(want), &err) < 0)
        return admin_fail("%s", err.msg);
    printf("Successfully set the minimum TLS version to %s\n", ck_tls_version_name(want));
    printf("Restart ctlkitd on every node for the change to take effect\n");
    return CMD_OK;
}
