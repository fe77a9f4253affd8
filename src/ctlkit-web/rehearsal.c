/* The rehearsal page's work (rehearsal.h). The worker thread gets its own
 * cluster handle (opened and closed on the event loop) so that no handle
 * is ever used by two threads; it tells the loop it is done through a
 * pipe, so libevent needs no thread support. */
#include "rehearsal.h"

#include <sys/queue.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ctlkit/rehearse.h"
#include "ctlkit/rehearse_json.h"
#include "ctlkit/store.h"
#include "ctlkit/text.h"
#include "web.h"

const web_rh_operation web_rh_operations[] = {
    {"set cert regen", "UNIT [--digest sha256|sha1]"},
    {"utils ctl update CTLFile", ""},
    {"utils ctl set-cluster mixed-mode", ""},
    {"utils ctl set-cluster non-secure-mode", ""},
    {"utils ctl reset localkey", ""},
    {"utils itl reset localkey", ""},
    {"utils itl reset remotekey", "NODE"},
    {"set cert delete trust", "PURPOSE SERIAL"},
    {"set param", "NAME VALUE"},
    {"utils service restart", "SERVICE"},
};
const size_t web_rh_n_operations = sizeof web_rh_operations / sizeof web_rh_operations[0];

typedef struct web_rh_job {
    struct web *w;
    struct evhttp_request *req; /* NULL once the client has gone */
    struct evhttp_connection *conn; /* req's, to know it when it closes */
    bool api;
    char node[64];
    char *cmds[WEB_RH_MAX_COMMANDS];
    size_t n;
    web_rh_done_fn done;
    ck_cluster *c; /* the worker's own handle */
    pthread_t thread;
    json_t *result;
    ck_err err;
} web_rh_job;

/* The node a rehearsal runs on unless the form names one: --node, or the
 * publisher. */
static int default_node(struct web *w, char *out, size_t outsz, ck_node **nodes, size_t *nn, ck_err *err)
{
    if (ck_store_list_nodes(ck_cluster_store(w->c), nodes, nn, err) < 0)
        return -1;
    out[0] = '\0';
    if (w->node)
        snprintf(out, outsz, "%s", w->node);
    for (size_t i = 0; i < *nn && !out[0]; i++)
        if ((*nodes)[i].publisher)
            snprintf(out, outsz, "%s", (*nodes)[i].name);
    return 0;
}

json_t *view_rehearsal_form(struct web *w, ck_err *err)
{
    ck_node *nodes = NULL;
    size_t nn = 0;
    char node[64];
    if (default_node(w, node, sizeof node, &nodes, &nn, err) < 0)
        return NULL;
    json_t *v = json_object(), *here = json_array(), *ops = json_array();
    for (size_t i = 0; i < nn; i++)
        if (ck_cluster_node_here(w->c, nodes[i].name))
            json_array_append_new(here, json_string(nodes[i].name));
    free(nodes);
    for (size_t i = 0; i < web_rh_n_operations; i++)
        json_array_append_new(ops, json_pack("{s:s,s:s}", "command", web_rh_operations[i].command, "argument",
                                             web_rh_operations[i].argument));
    json_object_set_new(v, "node", json_string(node));
    json_object_set_new(v, "nodes", here);
    json_object_set_new(v, "operations", ops);
    json_object_set_new(v, "rows", json_integer(WEB_RH_ROWS));
    return v;
}

static bool is_operation(const char *op)
{
    for (size_t i = 0; i < web_rh_n_operations; i++)
        if (strcmp(op, web_rh_operations[i].command) == 0)
            return true;
    return false;
}

void web_rh_commands_free(char **cmds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(cmds[i]);
}

/* Does command (as ck_rehearse reads it: words, case aside) start with
 * the words of one of the operations the form offers? The API takes whole
 * commands, and ck_rehearse knows more than the dashboard may run: `set
 * cert import trust PURPOSE FILE` would read FILE on this host, as this
 * server, for whoever is logged in (read-only users included). */
static bool offered(const char *command)
{
    char line[4096], *argv[32];
    if (snprintf(line, sizeof line, "%s", command) >= (int)sizeof line)
        return false;
    int argc = ck_split_words(line, argv, 32);
    for (size_t i = 0; argc > 0 && i < web_rh_n_operations; i++) {
        char words[128], *op[8], *save = NULL;
        int k = 0;
        snprintf(words, sizeof words, "%s", web_rh_operations[i].command);
        for (char *t = strtok_r(words, " ", &save); t && k < 8; t = strtok_r(NULL, " ", &save))
            op[k++] = t;
        int j = 0;
        while (j < k && j < argc && strcasecmp(op[j], argv[j]) == 0)
            j++;
        if (j == k)
            return true;
    }
    return false;
}

static int add_command(char **cmds, size_t *n, const char *op, const char *arg, ck_err *err)
{
    if (*n == WEB_RH_MAX_COMMANDS)
        return ck_fail(err, CK_EINVAL, "too many commands (at most %d)", WEB_RH_MAX_COMMANDS);
    size_t len = strlen(op) + (arg && *arg ? strlen(arg) + 1 : 0) + 1;
    char *s = malloc(len);
    if (!s)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    snprintf(s, len, "%s%s%s", op, arg && *arg ? " " : "", arg && *arg ? arg : "");
    if (ck_rehearse_check_command(s, err) < 0) {
        free(s);
        return -1;
    }
    if (!offered(s)) {
        ck_fail(err, CK_EINVAL, "'%.60s': not a command the dashboard offers (a file to import would be read on the "
                                "server: use ctlkit rehearse)", s);
        free(s);
        return -1;
    }
    cmds[(*n)++] = s;
    return 0;
}

int web_rh_commands(struct web *w, const struct evkeyvalq *form, char **cmds, const char **node, ck_err *err)
{
    size_t n = 0;
    const struct evkeyval *kv;
    TAILQ_FOREACH(kv, form, next)
    {
        if (strcmp(kv->key, "command") == 0 && add_command(cmds, &n, kv->value, NULL, err) < 0)
            goto fail;
    }
    for (int row = 1; row <= WEB_RH_ROWS; row++) {
        char opk[16], argk[16];
        snprintf(opk, sizeof opk, "op%d", row);
        snprintf(argk, sizeof argk, "arg%d", row);
        const char *op = evhttp_find_header(form, opk), *arg = evhttp_find_header(form, argk);
        if (!op || !*op)
            continue;
        if (!is_operation(op)) {
            ck_fail(err, CK_EINVAL, "row %d: '%.60s' is not a command the form offers", row, op);
            goto fail;
        }
        if (add_command(cmds, &n, op, arg, err) < 0)
            goto fail;
    }
    *node = evhttp_find_header(form, "node");
    if (*node && !**node)
        *node = NULL;
    return (int)n;
fail:
    web_rh_commands_free(cmds, n);
    return -1;
}

static void *worker(void *arg)
{
    web_rh_job *j = arg;
    ck_rehearse_opts o = {.node = j->node, .commands = (const char *const *)j->cmds, .n_commands = j->n};
    ck_rehearsal r;
    if (ck_rehearse(j->c, &o, &r, &j->err) == 0) {
        j->result = ck_rehearsal_json(&r, j->node, (const char *const *)j->cmds, j->n);
        ck_rehearsal_free(&r);
        if (!j->result)
            ck_fail(&j->err, CK_ENOMEM, "out of memory");
    }
    char one = 1;
    while (write(j->w->rh_pipe[1], &one, 1) < 0 && errno == EINTR)
        ;
    return NULL;
}

static void on_client_gone(struct evhttp_connection *conn, void *arg)
{
    struct web *w = arg;
    /* libevent may have freed the request already: compare connections. */
    if (w->rh_job && w->rh_job->conn == conn)
        w->rh_job->req = NULL;
}

/* Back on the event loop: the worker is done. */
static void on_done(evutil_socket_t fd, short what, void *arg)
{
    struct web *w = arg;
    char buf[16];
    while (read(fd, buf, sizeof buf) > 0)
        ;
    web_rh_job *j = w->rh_job;
    if (!j)
        return;
    pthread_join(j->thread, NULL);
    w->rh_job = NULL;
    ck_cluster_close(j->c);
    if (j->req) {
        http_limits_set_closecb(w->limits, j->conn, NULL, NULL);
        j->done(w, j->req, j->api, (const char *const *)j->cmds, j->n, j->result, &j->err);
    } else {
        fprintf(stderr, "ctlkit-web: a rehearsal ended after its client had gone\n");
        json_decref(j->result);
    }
    web_rh_commands_free(j->cmds, j->n);
    free(j);
}

int web_rh_start(struct web *w, struct evhttp_request *req, bool api, const char *node, char **cmds, size_t n,
                 web_rh_done_fn done, ck_err *err)
{
    if (w->rh_job)
        return ck_fail(err, CK_ELIMIT, "a rehearsal is already running; try again in a moment");
    web_rh_job *j = calloc(1, sizeof *j);
    if (!j)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    ck_node *nodes = NULL;
    size_t nn = 0;
    if (default_node(w, j->node, sizeof j->node, &nodes, &nn, err) < 0) {
        free(j);
        return -1;
    }
    free(nodes);
    if (node)
        snprintf(j->node, sizeof j->node, "%s", node);
    if (ck_cluster_open_at(&w->where, "web-rehearsal", &j->c, err) < 0) {
        free(j);
        return -1;
    }
    j->w = w;
    j->req = req;
    j->api = api;
    j->done = done;
    memcpy(j->cmds, cmds, n * sizeof *cmds);
    j->n = n;
    if (pthread_create(&j->thread, NULL, worker, j) != 0) {
        ck_cluster_close(j->c);
        free(j);
        return ck_fail(err, CK_ENOMEM, "no thread for the rehearsal");
    }
    w->rh_job = j;
    j->conn = evhttp_request_get_connection(req);
    http_limits_set_closecb(w->limits, j->conn, on_client_gone, w);
    return 0;
}

int web_rh_init(struct web *w)
{
    if (pipe2(w->rh_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return -1;
    w->rh_done = event_new(w->base, w->rh_pipe[0], EV_READ | EV_PERSIST, on_done, w);
    return w->rh_done && event_add(w->rh_done, NULL) == 0 ? 0 : -1;
}

void web_rh_fini(struct web *w)
{
    if (w->rh_job) {
        /* Serving stopped mid-rehearsal: wait for it, answer nobody. */
        w->rh_job->req = NULL;
        pthread_join(w->rh_job->thread, NULL);
        ck_cluster_close(w->rh_job->c);
        json_decref(w->rh_job->result);
        web_rh_commands_free(w->rh_job->cmds, w->rh_job->n);
        free(w->rh_job);
        w->rh_job = NULL;
    }
    if (w->rh_done)
        event_free(w->rh_done);
    w->rh_done = NULL;
    for (int i = 0; i < 2; i++)
        if (w->rh_pipe[i] > 0)
            close(w->rh_pipe[i]);
}
