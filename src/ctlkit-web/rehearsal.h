/* The rehearsal page's work (docs/web.md, "The rehearsal page"): the form's
 * fields into admin commands, and ck_rehearse run on a worker thread so
 * the one event loop keeps answering other requests for the second or two
 * a rehearsal takes (a key generation). One rehearsal at a time; the
 * worker has its own handle on the cluster, which it only reads. */
#ifndef CTLKIT_WEB_REHEARSAL_H
#define CTLKIT_WEB_REHEARSAL_H

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdbool.h>

#include "ctlkit/error.h"

#define WEB_RH_ROWS 4          /* command rows on the form */
#define WEB_RH_MAX_COMMANDS 16 /* commands per rehearsal */

struct web;

/* What the form offers: the commands `ctlkit rehearse` knows except `set
 * cert import trust` (its FILE would be a path on the server), each with
 * the argument it takes ("" none). */
typedef struct web_rh_operation {
    const char *command, *argument;
} web_rh_operation;
extern const web_rh_operation web_rh_operations[];
extern const size_t web_rh_n_operations;

/* The form's view: the default node, the nodes held here, the operations. */
json_t *view_rehearsal_form(struct web *w, ck_err *err);

/* The commands of a form, in order: every "command" field (a whole
 * command, as the API takes them), then rows opN + argN (N 1..4; an empty
 * op skips the row); each checked with ck_rehearse_check_command. node:
 * the "node" field or the default. Returns the count (0 none) or -1. The
 * strings are malloc'd: free with web_rh_commands_free. */
int web_rh_commands(struct web *w, const struct evkeyvalq *form, char **cmds, const char **node, ck_err *err);
void web_rh_commands_free(char **cmds, size_t n);

/* Called on the event loop when the rehearsal is over: result is the
 * `ctlkit rehearse --json` object (owned by the callee) or NULL and err. */
typedef void (*web_rh_done_fn)(struct web *w, struct evhttp_request *req, bool api, const char *const *cmds,
                               size_t n, json_t *result, const ck_err *err);

/* Starts one rehearsal (takes the commands). -1 with CK_EBUSY when one is
 * already running. If the client goes away meanwhile, done is not called. */
int web_rh_start(struct web *w, struct evhttp_request *req, bool api, const char *node, char **cmds, size_t n,
                 web_rh_done_fn done, ck_err *err);

/* Event-loop plumbing: set up before serving, torn down after (waits for a
 * running rehearsal to end). */
int web_rh_init(struct web *w);
void web_rh_fini(struct web *w);

#endif
