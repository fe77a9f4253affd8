/* ctlkitd's options: one table (options.c) that serves getopt's long
 * options, the --help text (docs/ctlkitd.8 lists the same options, checked
 * by scenarios.daemon_options), and, per option, what the cluster supplies
 * when the command line left the option unset (a node's address, key or
 * folder, or an enterprise parameter), as lib/cluster/params.c's table
 * serves the store, the CLI and the docs. */
#ifndef CTLKITD_OPTIONS_H
#define CTLKITD_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cluster_node.h"
#include "ctlkit/error.h"
#include "log.h"
#include "privdrop.h"
#include "sandbox.h"
#include "service.h"

/* What the command line set: the services' settings in d, the daemon's own
 * flags here, and which options were given (by row index). */
typedef struct daemon_args {
    daemon_ctx *d;
    bool foreground, loose_keys;
    enum dlog_level level;
    privdrop_config priv; /* --user, --allow-root */
    sandbox_mode seccomp; /* --seccomp */
    uint64_t given;
} daemon_args;

/* Parses argv into a. Returns -1 when the daemon should go on, else the
 * exit status (0 after --help, 2 for a usage error, already reported). */
int options_parse(int argc, char **argv, daemon_args *a);
/* The usage text, generated from the table. */
void options_usage(FILE *to);
/* With --cluster: refuses the options that make no sense in a cluster and
 * fills every option the command line left unset from what the cluster
 * says (through the option's own setter, so the same checks apply). */
int options_fill_from_cluster(daemon_args *a, cluster_node *cn, ck_err *err);
/* Refuses, before the cluster is opened, options that are only for a
 * daemon without one (--tvs-ctl, --tvs-db-cert). */
int options_check_cluster_mode(const daemon_args *a, ck_err *err);

#endif
