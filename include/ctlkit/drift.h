/* Drift: which phones hold which trust list, as the nodes saw them
 * (ctlkitd's phone tracking, the store's phone table). A view model for
 * `show phones trust`, `ctlkit cluster status` and whatever else shows a
 * migration's progress: numbers only, no formatting.
 *
 * The nodes see downloads, not installations: "on the current CTL" means
 * the phone last downloaded the cluster's current CTL completely. A phone
 * that downloads it and rejects it (a 7960 facing an unknown signer) looks
 * current here; a phone that downloads it and then keeps getting "invalid"
 * from TVS (asking about a signer TVS does not know) is counted stranded.
 * The model comes from TVS's device name (CP-<model>-SEP<MAC>): phones
 * that never asked TVS (no SBD, or nothing to ask yet) are "unknown". */
#ifndef CTLKIT_DRIFT_H
#define CTLKIT_DRIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlkit/error.h"
#include "ctlkit/store.h"

typedef struct ck_cluster ck_cluster;

#define CK_DRIFT_UNKNOWN_MODEL "unknown"

typedef struct ck_drift_counts {
    char model[16];   /* CK_DRIFT_UNKNOWN_MODEL when TVS never named it */
    size_t current;   /* heard from within the age, last downloaded the current CTL */
    size_t older;     /* ... an older CTL */
    size_t none;      /* ... no CTL (never downloaded one completely) */
    size_t stranded;  /* among current: TVS's last answer since the download was "invalid" */
    size_t stale;     /* not heard from within the age (not in the three above) */
} ck_drift_counts;

typedef struct ck_drift_older {
    char md5[33];
    size_t phones;    /* current phones whose last CTL is this one */
} ck_drift_older;

typedef struct ck_drift_node {
    char name[64];
    char ctl_md5[33]; /* the CTL and ITL the node serves ("" none) */
    int64_t ctl_version;
    char itl_md5[33];
    int64_t itl_version;
    size_t phones;    /* current phones this node heard last */
} ck_drift_node;

typedef struct ck_drift {
    char ctl_md5[33];        /* the cluster's current CTL ("" none published) */
    int64_t now, max_age_s;  /* "current" means last_seen >= now - max_age_s */
    ck_drift_counts total;   /* model "" */
    ck_drift_counts *models; /* by model name, unknown last */
    size_t n_models;
    ck_drift_older *older;   /* by phones, most first */
    size_t n_older;
    ck_drift_node *nodes;    /* in the cluster's order */
    size_t n_nodes;
    char (*stranded)[13];    /* MACs of the stranded phones, sorted */
    size_t n_stranded;
} ck_drift;

/* Classifies rows against the current CTL's MD5 (nodes are left empty). */
CK_MUST_USE int ck_drift_build(const ck_phone_row *rows, size_t n, const char *ctl_md5, int64_t now,
                               int64_t max_age_s, ck_drift *out, ck_err *err);
/* The cluster's drift now: the store's phones, its published CTL, each
 * node's files and the PhoneSeenAgeHours parameter. */
CK_MUST_USE int ck_cluster_drift(ck_cluster *c, int64_t now, ck_drift *out, ck_err *err);
void ck_drift_free(ck_drift *d);

/* One phone's state: CK_PHONE_STRANDED, CK_PHONE_CURRENT, CK_PHONE_OLDER,
 * CK_PHONE_NONE or CK_PHONE_AGED_OUT, by the rules ck_drift_build counts
 * with (a stranded phone is also counted current there). */
ck_phone_state ck_drift_phone_state(const ck_phone_row *p, const char *ctl_md5, int64_t now, int64_t max_age_s);
/* "any", "current", "older", "none", "stranded", "aged_out" (the names of
 * `show phones trust --json`'s counts). */
const char *ck_phone_state_name(ck_phone_state st);
/* The state a name says; false when the name is none of them. */
bool ck_phone_state_parse(const char *name, ck_phone_state *out);

/* Phones per CTL over time, derived from what each phone row records:
 * the CTL it holds and when it downloaded it. A phone that moved from an
 * older CTL to the current one shows in the current one's curve from its
 * download on; its earlier CTL is not recorded, so older CTLs' curves
 * count only the phones still on them (they never fall). Aged-out phones
 * count too: the chart is about downloads, not about who is still here. */
#define CK_HISTORY_MAX_SERIES 6 /* the last one sums the rest */
#define CK_HISTORY_POINTS 25

typedef struct ck_ctl_series {
    char md5[33];      /* "" for the sum of the CTLs that did not get their own series */
    bool current;      /* the cluster's current CTL */
    size_t phones[CK_HISTORY_POINTS]; /* phones holding it, downloaded by times[i] */
} ck_ctl_series;

typedef struct ck_ctl_history {
    int64_t times[CK_HISTORY_POINTS]; /* evenly spaced, the first download to now */
    ck_ctl_series series[CK_HISTORY_MAX_SERIES]; /* the current CTL first, then by phones */
    size_t n_series;
} ck_ctl_history;

/* From rows (phones without a CTL do not count). */
CK_MUST_USE int ck_ctl_history_build(const ck_phone_row *rows, size_t n, const char *ctl_md5, int64_t now,
                                     ck_ctl_history *out, ck_err *err);
/* ck_cluster_drift and the history of the same phones, read once. */
CK_MUST_USE int ck_cluster_drift_history(ck_cluster *c, int64_t now, ck_drift *out, ck_ctl_history *history,
                                         ck_err *err);

#endif
