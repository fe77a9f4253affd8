/* ctlkit rehearse: admin commands on a throw-away copy of the cluster, and
 * what every known phone will do with the result (lib/cluster/rehearse.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ctlkit/conf.h"
#include "ctlkit/rehearse.h"
#include "ctlkit/rehearse_json.h"
#include "rehearse_view.h"

static const char usage[] =
    "usage: ctlkit rehearse --cluster DIR --node NAME [--json] -- 'COMMAND' ...\n"
    "       ctlkit rehearse --cluster postgresql://... --dir DIR --node NAME [--json] -- 'COMMAND' ...\n"
    "\n"
    "Runs the admin: commands (each one argument, in order) on a throw-away copy\n"
    "of the cluster, as node NAME would, then applies the phones' trust rules to\n"
    "every known phone (phones the nodes have seen, devices on record) with the\n"
    "CTL and ITL each is known to hold: per model, how many will install the new\n"
    "lists directly, through TVS, reject them (their CTL must be deleted by hand)\n"
    "or see no change. The real cluster is not touched; keys the commands make\n"
    "are thrown away. Known commands: set cert regen UNIT, utils ctl update\n"
    "CTLFile, utils ctl set-cluster mixed-mode|non-secure-mode, utils ctl reset\n"
    "localkey, utils itl reset localkey|remotekey NODE, set cert import|delete\n"
    "trust, set param NAME VALUE, utils service restart SERVICE.\n"
    "Exit: 0 done (whatever the phones will do), 2 an error.\n";

int cmd_rehearse(int argc, char **argv)
{
    const char *address = NULL, *dir = NULL, *node = NULL;
    bool json = false;
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (strcmp(argv[i], "--cluster") == 0 && i + 1 < argc)
            address = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--node") == 0 && i + 1 < argc)
            node = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else {
            char shown[512]; /* it may be a cluster URL with its password */
            ck_store_mask_address(argv[i], shown, sizeof shown);
            cli_err("rehearse: unexpected argument '%s' (the commands go after --; see --help)", shown);
            return EXIT_ERROR;
        }
    }
    const char *const *commands = (const char *const *)argv + i;
    size_t n = (size_t)(argc - i);
    if (n == 0) {
        cli_err("rehearse: no command to rehearse: give them after -- (see --help)");
        return EXIT_ERROR;
    }
    ck_conf conf;
    ck_err err = {0};
    if (ck_conf_load(&conf, &err) < 0) {
        cli_err_ck(&err, "rehearse");
        return EXIT_ERROR;
    }
    if (conf.warning[0])
        fprintf(stderr, "ctlkit: warning: %s\n", conf.warning);
    ck_conf_apply(&conf, &address, &dir, &node);
    if (!address || !node) {
        cli_err("rehearse: needs --cluster DIR and --node NAME, or a configuration file that gives them (see --help)");
        return EXIT_ERROR;
    }
    if (ck_cluster_address_is_url(address) && !dir) {
        cli_err("rehearse: a postgresql:// cluster needs --dir DIR, this node's folder on this host (see --help)");
        return EXIT_ERROR;
    }
    for (size_t k = 0; k < n; k++)
        if (ck_rehearse_check_command(commands[k], &err) < 0) {
            cli_err_ck(&err, "rehearse");
            return EXIT_ERROR;
        }
    ck_cluster *c = NULL;
    ck_cluster_where where = {.address = address, .dir = dir, .node = node};
    if (ck_cluster_open_at(&where, "rehearsal", &c, &err) < 0) {
        cli_err_ck(&err, "rehearse");
        return EXIT_ERROR;
    }
    ck_rehearsal r;
    ck_rehearse_opts o = {.node = node, .commands = commands, .n_commands = n};
    int rc = EXIT_OK;
    if (ck_rehearse(c, &o, &r, &err) < 0) {
        cli_err_ck(&err, "rehearse");
        rc = EXIT_ERROR;
    } else {
        if (json) {
            json_t *j = ck_rehearsal_json(&r, node, commands, n);
            char *txt = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            printf("%s\n", txt ? txt : "{}");
            free(txt);
            json_decref(j);
        } else {
            rehearsal_print(stdout, &r, node, commands, n);
        }
        ck_rehearsal_free(&r);
    }
    ck_cluster_close(c);
    return rc;
}
