/* Least privilege for ctlkit's servers (ctlkitd, ctlkit-web): no core
 * dumps from the start, and, when started as root, a switch to an
 * unprivileged account once every socket is bound and every key loaded
 * (docs/installing.md). Part of libctlkit_os, which only the programs link:
 * a library loaded by someone else's process has no business changing its
 * user. */
#ifndef CTLKIT_OS_PRIVDROP_H
#define CTLKIT_OS_PRIVDROP_H

#include <stdbool.h>

#include "ctlkit/error.h"

/* The account a server becomes when started as root without --user. */
#define PRIVDROP_DEFAULT_USER "ctlkit"

typedef struct privdrop_config {
    const char *user; /* --user, or NULL */
    bool allow_root;  /* --allow-root */
    /* An environment variable that, set to 1, is the same as --allow-root
     * (the test suites and the demo, which run the servers as whoever runs
     * them): CTLKITD_ALLOW_ROOT, CTLKIT_WEB_ALLOW_ROOT. NULL: none. */
    const char *allow_root_env;
} privdrop_config;

/* No core dump and no ptrace by other processes of the same user: the
 * process holds private keys. Call first thing. */
void privdrop_no_dumps(void);
/* OpenSSL's secure heap for the private keys the server loads (out of core
 * dumps and swap). Call before any key is read. False when the system
 * refused it (the keys then live on the ordinary heap). */
bool privdrop_secure_heap(void);
/* Before anything is loaded: refuses a --user that cannot be applied (not
 * root and another account; an unknown account), so that the mistake is
 * reported before the sockets are bound. */
int privdrop_check(const privdrop_config *c, ck_err *err);
/* Whether privdrop_apply will switch to another account. */
bool privdrop_switches(const privdrop_config *c);
/* Until the switch, files are opened as the account (account true: the
 * cluster's folder and database are its own, and what is written there is
 * its) and only the keys as root (false): the file-system ids alone change
 * (setfsuid), the process stays root for binding. Nothing when it will not
 * switch. */
int privdrop_files_as(const privdrop_config *c, bool account, ck_err *err);
/* After binding and loading: as root, becomes c->user (or ctlkit) with its
 * groups, and checks that root cannot be regained; stays root only with
 * allow_root and no --user; sets no_new_privs after a switch. Not root:
 * nothing to do. Sets *dropped_to to the account's name when it switched
 * (NULL otherwise). */
int privdrop_apply(const privdrop_config *c, const char **dropped_to, ck_err *err);

#endif /* CTLKIT_OS_PRIVDROP_H */
