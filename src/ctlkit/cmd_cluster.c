/* ctlkit cluster: placeholder until the cluster store lands (issue 3). */
#include "cli.h"

int cmd_cluster(int argc, char **argv)
{
    cli_err("cluster: not implemented yet");
    return EXIT_ERROR;
}

int cmd_admin(int argc, char **argv)
{
    cli_err("admin: not implemented yet");
    return EXIT_ERROR;
}
