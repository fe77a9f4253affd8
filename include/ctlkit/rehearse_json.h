/* A rehearsal (rehearse.h) as the JSON object of `ctlkit rehearse --json`
 * (docs/json.md): one builder, so the CLI and the dashboard's rehearsal
 * page (ctlkit-web) print the same thing. Apart from rehearse.h because it
 * hands back a jansson object: only programs that use jansson include it. */
#ifndef CTLKIT_REHEARSE_JSON_H
#define CTLKIT_REHEARSE_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "ctlkit/rehearse.h"

/* node and commands as given to ck_rehearse; a new reference, NULL when
 * out of memory. */
json_t *ck_rehearsal_json(const ck_rehearsal *r, const char *node, const char *const *commands, size_t n);

#endif
