/* Private to the rehearsal (lib/cluster/rehearse*.c). */
#ifndef CTLKIT_REHEARSE_INTERNAL_H
#define CTLKIT_REHEARSE_INTERNAL_H

#include <limits.h>

#include "ctlkit/rehearse.h"

typedef struct ck__rh_copy {
    char dir[PATH_MAX];   /* the private folder ("" once removed) */
    ck_cluster *c;        /* the copy, open */
} ck__rh_copy;

/* Makes the copy of real in a new 0700 folder under tmp_parent. */
int ck__rh_copy_make(ck_cluster *real, const char *node, const char *tmp_parent, ck__rh_copy *cp, ck_err *err);
/* Closes the copy and removes its folder, keys overwritten first. */
void ck__rh_copy_remove(ck__rh_copy *cp);
/* Runs one admin command on the copy (node: --node). */
int ck__rh_run_command(ck_cluster *c, const char *node, const char *command, ck_err *err);

#endif
