/* The phones pages' data, as JSON (views.h explains why JSON): the drift
 * of `show phones trust --json` unchanged under "trust", one page of the
 * phone list, the CTL history for the chart; and one phone. */
#ifndef CTLKIT_WEB_VIEWS_PHONES_H
#define CTLKIT_WEB_VIEWS_PHONES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlkit/cluster.h"

#define WEB_PHONES_PER_PAGE 100

/* model: NULL any, "unknown" the phones TVS never named; state: NULL or a
 * ck_phone_state name; page 1-based. A bad state is CK_EINVAL. */
json_t *view_phones(ck_cluster *c, const char *model, const char *state, size_t page, int64_t now, ck_err *err);
/* One phone by its name SEP<12 hex digits> (or the bare MAC): CK_EINVAL
 * for another name, CK_ENOTFOUND when the cluster never saw it. */
json_t *view_phone(ck_cluster *c, const char *name, int64_t now, ck_err *err);

#endif
