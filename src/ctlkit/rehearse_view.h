/* How the ctlkit programs show a rehearsal (include/ctlkit/rehearse.h):
 * `ctlkit rehearse` (text and --json) and the admin shell's warning line. */
#ifndef CTLKIT_REHEARSE_VIEW_H
#define CTLKIT_REHEARSE_VIEW_H

#include <jansson.h>
#include <stdio.h>

#include "ctlkit/rehearse.h"

json_t *rehearsal_json(const ck_rehearsal *r, const char *node, const char *const *commands, size_t n);
void rehearsal_print(FILE *out, const ck_rehearsal *r, const char *node, const char *const *commands, size_t n);
/* "12 known phones will reject the new CTL/ITL (7960: 12); run `ctlkit
 * rehearse` for the list"; "" when none will. */
void rehearsal_reject_line(const ck_rehearsal *r, char *buf, size_t len);

#endif
