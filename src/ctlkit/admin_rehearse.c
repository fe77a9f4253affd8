/* admin: before a real change, how many known phones it strands (the
 * rehearsal engine, lib/cluster/rehearse.c, on this one command). CUCM
 * only warns in general terms; here the count comes from the phones the
 * nodes have seen and the devices on record. */
#include <stdio.h>

#include "admin.h"
#include "ctlkit/rehearse.h"
#include "rehearse_view.h"

void admin_warn_strands(admin *a, const char *command)
{
    size_t known = 0;
    ck_err err = {0};
    /* No known phones: nothing to say, and no copy made. */
    if (ck_rehearse_known_phones(a->c, &known, &err) < 0 || known == 0)
        return;
    const char *cmds[1] = {command};
    ck_rehearse_opts o = {.node = a->node, .commands = cmds, .n_commands = 1};
    ck_rehearsal r;
    if (ck_rehearse(a->c, &o, &r, &err) < 0) {
        printf("(could not rehearse this change on the known phones: %s)\n", err.msg);
        return;
    }
    char line[1024];
    rehearsal_reject_line(&r, line, sizeof line);
    if (line[0])
        printf("%s\n", line);
    ck_rehearsal_free(&r);
    fflush(stdout);
}
