/* How the ctlkit programs show drift (include/ctlkit/drift.h): the admin
 * shell's `show phones trust` and `ctlkit cluster status`'s phones line. */
#ifndef CTLKIT_DRIFT_VIEW_H
#define CTLKIT_DRIFT_VIEW_H

#include <jansson.h>
#include <stdio.h>

#include "ctlkit/drift.h"

json_t *drift_json(const ck_drift *d);
void drift_print(FILE *out, const ck_drift *d);
/* "phones: 180 on the current CTL, 20 on an older one, 0 with none, 0 stranded, 3 aged out" */
void drift_summary_line(const ck_drift *d, char *buf, size_t len);

#endif
