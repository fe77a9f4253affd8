/* The admin: shell (CUCM's CLI): one session on one node of a cluster. */
#ifndef CTLKIT_ADMIN_H
#define CTLKIT_ADMIN_H

#include <stdbool.h>
#include <stdio.h>

#include "ctlkit/cluster.h"

typedef struct admin {
    ck_cluster *c;
    char node[64];
    bool publisher;
    bool yes;         /* --yes: answers every confirmation */
    bool interactive; /* a terminal is attached: confirmations may be asked */
    bool json;        /* --json given (also accepted per command) */
} admin;

/* Command results: CMD_OK, CMD_FAILED (the command ran and refused or
 * failed: exit 1), CMD_USAGE (not a valid command: exit 2). */
enum { CMD_OK = 0, CMD_FAILED = 1, CMD_USAGE = 2 };

/* A handler gets the words after the command's own words. */
typedef int (*admin_fn)(admin *a, int argc, char **argv);

/* Asks CUCM's "(y/n):" question. With --yes it prints the answer "y";
 * without a terminal and without --yes it refuses rather than guessing. */
bool admin_confirm(admin *a, const char *question);
/* A prompt of the command's own ("Proceed with regeneration (yes|no)? "). */
bool admin_ask(admin *a, const char *prompt);
/* CUCM's "Enter "y" followed by return to continue:" variant. */
bool admin_confirm_enter_y(admin *a, const char *question);
/* Prints a failure CUCM-style: "Executed command unsuccessfully" + reason. */
int admin_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Before a change: "N known phones will reject the new CTL/ITL (...)" when
 * the rehearsal of command predicts rejects; nothing when no phone is known. */
void admin_warn_strands(admin *a, const char *command);
/* Removes a "--json" word from argv (returns true when it was there). */
bool admin_take_json(admin *a, int *argc, char **argv);

int admin_show_ctl(admin *a, int argc, char **argv);
int admin_show_itl(admin *a, int argc, char **argv);
int admin_set_mixed(admin *a, int argc, char **argv);
int admin_set_nonsecure(admin *a, int argc, char **argv);
int admin_update_ctl(admin *a, int argc, char **argv);
int admin_file_delete(admin *a, int argc, char **argv);
int admin_file_list(admin *a, int argc, char **argv);
int admin_run_sql(admin *a, int argc, char **argv);
int admin_show_cert_own(admin *a, int argc, char **argv);
int admin_show_cert_list_own(admin *a, int argc, char **argv);
int admin_show_cert_list_trust(admin *a, int argc, char **argv);
int admin_cert_regen(admin *a, int argc, char **argv);
int admin_cert_import(admin *a, int argc, char **argv);
int admin_cert_delete(admin *a, int argc, char **argv);
int admin_show_params(admin *a, int argc, char **argv);
int admin_set_param(admin *a, int argc, char **argv);
int admin_service_restart(admin *a, int argc, char **argv);
int admin_show_status(admin *a, int argc, char **argv);
int admin_show_audit(admin *a, int argc, char **argv);
int admin_show_phones_trust(admin *a, int argc, char **argv);
int admin_ctl_reset_localkey(admin *a, int argc, char **argv);
int admin_itl_reset(admin *a, int argc, char **argv);
int admin_file_delete_activelog(admin *a, int argc, char **argv);
int admin_show_tls_min(admin *a, int argc, char **argv);
int admin_set_tls_min(admin *a, int argc, char **argv);

#endif
