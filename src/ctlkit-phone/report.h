/* What the simulator prints: one phone's boot, the trust-list screen, the
 * fleet summary (text and JSON, docs/phones.md "Output"), and a progress
 * bar for terminals. */
#ifndef PHONE_REPORT_H
#define PHONE_REPORT_H

#include <jansson.h>
#include <stdio.h>

#include "boot.h"
#include "state.h"

void ph_report_boot_text(FILE *out, const ph_phone *p, const ph_boot_report *r);
json_t *ph_report_boot_json(const ph_phone *p, const ph_boot_report *r);

/* Settings > Security > Trust List. */
void ph_show_text(FILE *out, const ph_phone *p);
json_t *ph_show_json(const ph_phone *p);

#define PH_MAX_MODELS 32
#define PH_MAX_REASONS 16

typedef struct ph_summary {
    unsigned total;
    unsigned by[PH_MAX_MODELS][4];                    /* model index x ph_outcome */
    unsigned reasons[PH_MAX_MODELS][PH_MAX_REASONS];  /* model x ck_ph_reason of rejections */
    unsigned tvs_queries;
    double boot_ms_sum, boot_ms_max;
    double wall_ms;
    /* configurations read (verified or loaded), and the CAPF sessions they asked for */
    unsigned cfg_encrypted, cfg_plain;
    unsigned lsc_issued, lsc_refused, capf_failed, capf_waiting;
} ph_summary;

void ph_summary_add(ph_summary *s, const ph_phone *p, const ph_boot_report *r);
void ph_summary_text(FILE *out, const ph_summary *s);
json_t *ph_summary_json(const ph_summary *s);

/* A one-line progress bar on stderr, drawn only when it is a terminal. */
typedef struct ph_progress {
    bool on;
    unsigned total, done;
    unsigned last_pct;
} ph_progress;

void ph_progress_init(ph_progress *pg, unsigned total);
void ph_progress_step(ph_progress *pg, const ph_summary *s);
void ph_progress_end(ph_progress *pg);

#endif
