/* How the ctlkit programs show a rehearsal (include/ctlkit/rehearse.h):
 * `ctlkit rehearse` as text and the admin shell's warning line (--json is
 * ck_rehearsal_json in the library, shared with ctlkit-web). */
#ifndef CTLKIT_REHEARSE_VIEW_H
#define CTLKIT_REHEARSE_VIEW_H

#include <stdio.h>

#include "ctlkit/rehearse.h"

void rehearsal_print(FILE *out, const ck_rehearsal *r, const char *node, const char *const *commands, size_t n);
/* "12 known phones will reject the new CTL/ITL (7960: 12); run `ctlkit
 * rehearse` for the list"; "" when none will. */
void rehearsal_reject_line(const ck_rehearsal *r, char *buf, size_t len);

#endif
