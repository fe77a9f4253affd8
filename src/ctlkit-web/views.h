/* What each page shows, as JSON: the API returns it as it is, the HTML
 * pages are rendered from it, so the two cannot disagree. Built from the
 * same library calls as `ctlkit cluster status --json`, `show ctl --json`
 * and `show audit --json`, with their field names. */
#ifndef CTLKIT_WEB_VIEWS_H
#define CTLKIT_WEB_VIEWS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ctlkit/cluster.h"

#define WEB_AUDIT_PER_PAGE 50

/* Mode, published CTL, its records, nodes and their copies, warnings. */
json_t *view_cluster(ck_cluster *c, ck_err *err);
/* Every unit of every node and every trust store entry, with expiry. */
json_t *view_certs(ck_cluster *c, int64_t now, ck_err *err);
/* One page (1-based) of the audit log, newest first. */
json_t *view_audit(ck_cluster *c, size_t page, ck_err *err);

#endif
