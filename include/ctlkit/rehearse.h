/* Rehearsal (docs/watching.md, "Rehearsal"): admin commands run on a
 * throw-away copy of the cluster, then the phone trust rules of lib/phone
 * applied to every known phone with the trust lists it is known to hold.
 *
 * The copy lives in a private temporary folder (0700): a single-folder
 * SQLite store copied row by row through the store interface (so a
 * PostgreSQL cluster is rehearsed the same way), and the node folders this
 * host holds (keys copied 0600, wiped and removed afterwards). Commands that
 * need another host's keys fail on the copy and say so; keys the commands
 * make are thrown away with the copy. The real cluster is only read.
 *
 * What a phone holds comes from the store: the phone table (the CTL and
 * ITL it last downloaded, by MD5, matched against the published CTL and
 * each node's ITL) and the devices on record (the model when TVS never
 * named it). A phone whose list is not one the cluster publishes now, or a
 * device never seen, is counted "unknown": nothing can be said for it. A
 * phone of unknown model is judged as one without Security by Default
 * (the worst case: it cannot ask TVS). */
#ifndef CTLKIT_REHEARSE_H
#define CTLKIT_REHEARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlkit/cluster.h"
#include "ctlkit/error.h"

typedef enum ck_rh_outcome {
    CK_RH_DIRECT = 0,  /* installs the new list(s): the signer is one it trusts */
    CK_RH_VIA_TVS,     /* installs after asking TVS (SBD) */
    CK_RH_REJECT,      /* keeps the old list: its CTL must be deleted by hand */
    CK_RH_NO_CHANGE,   /* gets the same bytes it holds */
    CK_RH_UNKNOWN,     /* what it holds is not known */
    CK_RH_N_OUTCOMES
} ck_rh_outcome;

/* "direct", "via-tvs", "reject", "no-change", "unknown" */
const char *ck_rh_outcome_name(ck_rh_outcome o);

typedef struct ck_rh_phone {
    char name[16];       /* SEP<MAC> */
    char model[16];      /* "unknown" when neither TVS nor a device row names it */
    bool sbd;            /* as judged */
    char node[64];       /* the node it last talked to ("" never seen) */
    ck_rh_outcome outcome;
    char reason[24];     /* ck_ph_reason_name of the deciding judgement ("" none) */
    char detail[660];    /* one line: which list, and why */
} ck_rh_phone;

typedef struct ck_rh_model {
    char model[16];      /* "" in the total */
    size_t n[CK_RH_N_OUTCOMES];
} ck_rh_model;

typedef struct ck_rehearsal {
    char ctl_md5_before[33], ctl_md5_after[33]; /* "" none */
    ck_rh_model total;
    ck_rh_model *models; /* sorted by name, "unknown" last */
    size_t n_models;
    ck_rh_phone *phones; /* sorted by name */
    size_t n_phones;
    char **notes;        /* what the rehearsal could not do as the real nodes would */
    size_t n_notes;
} ck_rehearsal;

/* One failed command: its position (1-based) and text in err's message. */
typedef struct ck_rehearse_opts {
    const char *node;      /* the node the commands run on (--node) */
    const char *const *commands;
    size_t n_commands;
    const char *tmp_parent; /* NULL: $TMPDIR or /tmp */
} ck_rehearse_opts;

/* Runs the commands on a copy of c and judges every known phone. The
 * commands are the admin shell's words for the changes that touch trust:
 * set cert regen UNIT [--digest D], utils ctl update CTLFile, utils ctl
 * set-cluster mixed-mode|non-secure-mode, utils ctl reset localkey, utils
 * itl reset localkey|remotekey NODE, set cert import trust PURPOSE FILE
 * [DESCRIPTION], set cert delete trust PURPOSE SERIAL, set param NAME VALUE,
 * utils service restart SERVICE. An unknown command fails with CK_EINVAL
 * before anything is copied; a command that fails on the copy fails the
 * rehearsal naming it. c is never written. */
CK_MUST_USE int ck_rehearse(ck_cluster *c, const ck_rehearse_opts *o, ck_rehearsal *out, ck_err *err);
/* Is the command one ck_rehearse knows (and well formed)? err says why not. */
int ck_rehearse_check_command(const char *command, ck_err *err);
/* Are there known phones at all (phone rows or devices)? A cheap check
 * before rehearsing: -1 on a store error. */
int ck_rehearse_known_phones(ck_cluster *c, size_t *n, ck_err *err);
void ck_rehearsal_free(ck_rehearsal *r);

#endif
