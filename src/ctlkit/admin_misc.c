/* admin: run sql, show/set params, utils service restart, show status, show audit. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "admin.h"
#include "drift_view.h"
#include "ctlkit/params.h"
#include "ctlkit/text.h"

/* A bound on the rows one `run sql` prints (the store bounds the bytes). */
#define SQL_MAX_ROWS 100000

/* Collects a query's rows so that columns can be sized as CUCM prints them:
 * header, a rule of '=' under each column, then the rows. */
typedef struct table {
    int ncols;
    char **names;
    char ***rows;
    size_t nrows, cap;
    bool json;
} table;

static int collect(void *ctx, int ncols, const char *const *names, const char *const *values)
{
    table *t = ctx;
    if (!t->names) {
        t->ncols = ncols;
        t->names = calloc((size_t)ncols + 1, sizeof *t->names);
        for (int i = 0; t->names && i < ncols; i++)
            t->names[i] = strdup(names[i] ? names[i] : "");
    }
    if (!values)
        return 0;
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char ***p = realloc(t->rows, cap * sizeof *p);
        if (!p)
            return 1;
        t->rows = p;
        t->cap = cap;
    }
    char **r = calloc((size_t)ncols + 1, sizeof *r);
    for (int i = 0; r && i < ncols; i++)
        r[i] = strdup(values[i] ? values[i] : "NULL");
    t->rows[t->nrows++] = r;
    return t->nrows >= SQL_MAX_ROWS; /* stop: the store reports whether rows were left out */
}

/* The last column ends the line without trailing blanks. */
static void print_cell(const char *s, size_t width, bool last)
{
    if (last)
        printf("%s\n", s);
    else
        printf("%-*s ", (int)width, s);
}

static void print_table(table *t)
{
    if (!t->names)
        return;
    if (t->json) {
        json_t *arr = json_array();
        for (size_t r = 0; r < t->nrows; r++) {
            json_t *o = json_object();
            for (int c = 0; c < t->ncols; c++)
                json_object_set_new(o, t->names[c], json_string(t->rows[r][c] ? t->rows[r][c] : ""));
            json_array_append_new(arr, o);
        }
        char *txt = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", txt ? txt : "[]");
        free(txt);
        json_decref(arr);
        return;
    }
    size_t *w = calloc((size_t)t->ncols + 1, sizeof *w);
    for (int c = 0; w && c < t->ncols; c++) {
        w[c] = strlen(t->names[c]);
        for (size_t r = 0; r < t->nrows; r++)
            if (t->rows[r][c] && strlen(t->rows[r][c]) > w[c])
                w[c] = strlen(t->rows[r][c]);
    }
    for (int c = 0; w && c < t->ncols; c++)
        print_cell(t->names[c], w[c], c + 1 == t->ncols);
    for (int c = 0; w && c < t->ncols; c++) {
        for (size_t k = 0; k < w[c]; k++)
            putchar('=');
        putchar(c + 1 < t->ncols ? ' ' : '\n');
    }
    for (size_t r = 0; w && r < t->nrows; r++)
        for (int c = 0; c < t->ncols; c++)
            print_cell(t->rows[r][c] ? t->rows[r][c] : "", w[c], c + 1 == t->ncols);
    free(w);
}

static void free_table(table *t)
{
    for (size_t r = 0; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++)
            free(t->rows[r][c]);
        free(t->rows[r]);
    }
    for (int c = 0; t->names && c < t->ncols; c++)
        free(t->names[c]);
    free(t->names);
    free(t->rows);
}

int admin_run_sql(admin *a, int argc, char **argv)
{
    char sql[4096] = "";
    for (int i = 0; i < argc; i++)
        snprintf(sql + strlen(sql), sizeof sql - strlen(sql), "%s%s", i ? " " : "", argv[i]);
    table t = {.json = a->json};
    ck_err err = {0};
    int rc = CMD_OK;
    ck_sql_outcome out;
    if (ck_store_query_readonly(ck_cluster_store(a->c), sql, collect, &t, &out, &err) < 0)
        rc = admin_fail("%s", err.msg);
    else
        print_table(&t);
    /* Say so when rows were left out; on stderr with --json so that the
     * output stays one JSON document. */
    if (rc == CMD_OK && out.truncated)
        fprintf(t.json ? stderr : stdout,
                "output truncated after %zu rows (%zu bytes): run sql returns at most %d rows and %d bytes\n",
                out.rows, out.bytes, SQL_MAX_ROWS, CK_SQL_MAX_BYTES);
    free_table(&t);
    return rc;
}

int admin_show_params(admin *a, int argc, char **argv)
{
    bool json = admin_take_json(a, &argc, argv);
    if (argc)
        return admin_fail("Unexpected argument '%s'", argv[0]);
    json_t *arr = json_array();
    if (!json)
        printf("%-28s %-12s %-24s %s\n", "Parameter", "Value", "Allowed", "Meaning");
    for (size_t i = 0; i < ck_params_count; i++) {
        const ck_param_def *d = &ck_params[i];
        char value[128] = "?", allowed[128] = "";
        ck_store_get_param(ck_cluster_store(a->c), d->name, value, sizeof value, NULL);
        if (d->type == CK_PARAM_INT)
            snprintf(allowed, sizeof allowed, "%lld..%lld", d->min, d->max);
        else if (d->type == CK_PARAM_BOOL)
            snprintf(allowed, sizeof allowed, "True|False");
        else
            for (const char *const *c = d->choices; *c; c++)
                snprintf(allowed + strlen(allowed), sizeof allowed - strlen(allowed), "%s%s",
                         c == d->choices ? "" : "|", *c);
        if (json)
            json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "name", d->name, "label", d->label,
                                                 "value", value, "allowed", allowed, "default", d->default_value,
                                                 "settable", d->admin_settable));
        else
            printf("%-28s %-12s %-24s %s\n", d->name, value, allowed, d->description);
    }
    if (json) {
        char *txt = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", txt ? txt : "[]");
        free(txt);
    }
    json_decref(arr);
    return CMD_OK;
}

int admin_set_param(admin *a, int argc, char **argv)
{
    const ck_param_def *d = ck_param_find(argv[0]);
    char canon[128];
    ck_err err = {0};
    if (!d)
        return admin_fail("No enterprise parameter named '%s' (show params lists them)", argv[0]);
    if (!d->admin_settable)
        return admin_fail("%s is changed by its own command (utils ctl set-cluster ...), not set param", d->name);
    if (ck_param_check(d, argv[1], canon, sizeof canon, &err) < 0)
        return admin_fail("%s", err.msg);
    char q[256];
    snprintf(q, sizeof q, "This operation will set %s to %s. Do you want to continue?", d->name, canon);
    if (!admin_confirm(a, q))
        return CMD_FAILED;
    if (ck_cluster_set_param(a->c, a->node, d->name, canon, &err) < 0)
        return admin_fail("%s", err.msg);
    printf("%s set to %s\n", d->name, canon);
    return CMD_OK;
}

int admin_service_restart(admin *a, int argc, char **argv)
{
    const char *name = ck_cluster_service_name(argv[0]);
    if (!name)
        return admin_fail("Unknown service '%s' (\"%s\" or \"%s\")", argv[0], CK_SERVICE_TFTP, CK_SERVICE_TVS);
    printf("Do not press Ctrl+C while the service is restarting. If the service has not restarted properly, execute "
           "the same command again.\nService Manager is running\n%s[STOPPING]\n%s[STARTING]\n",
           name, name);
    fflush(stdout); /* the node's daemon may take a moment to answer */
    ck_err err = {0};
    char result[160] = "";
    /* The node's daemon, on whatever host, restarts it: its TFTP rebuilds
     * and signs the node's ITL, both reload their caches. */
    if (ck_cluster_restart_service(a->c, a->node, name, CK_RESTART_WAIT_MS, result, sizeof result, &err) < 0) {
        printf("%s[NOT RUNNING]\n", name);
        return admin_fail("%s", err.msg);
    }
    if (strcmp(result, "STARTED") != 0) {
        printf("%s[NOT STARTED]\n", name);
        return admin_fail("the node daemon of %s: %s", a->node, result);
    }
    printf("%s[STARTED]\n", name);
    return CMD_OK;
}

int admin_show_status(admin *a, int argc, char **argv)
{
    bool json = admin_take_json(a, &argc, argv);
    ck_cluster_status st;
    ck_err err = {0};
    if (ck_cluster_status_read(a->c, a->node, &st, &err) < 0)
        return admin_fail("%s", err.msg);
    char **warn = st.warnings;
    size_t n = st.n_warnings;
    int mode = st.security_mode;
    if (json) {
        json_t *jw = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(jw, json_string(warn[i]));
        json_t *j = json_pack("{s:s,s:s,s:i,s:o}", "node", a->node, "role", a->publisher ? "publisher" : "subscriber",
                              "security_mode", mode, "warnings", jw);
        char *txt = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", txt ? txt : "{}");
        free(txt);
        json_decref(j);
    } else {
        printf("Node %s (%s), cluster security mode %d (%s)\n", a->node, a->publisher ? "publisher" : "subscriber",
               mode, mode ? "mixed" : "non-secure");
        if (n == 0)
            printf("No warnings.\n");
        for (size_t i = 0; i < n; i++)
            printf("WARNING: %s\n", warn[i]);
    }
    ck_cluster_status_free(&st);
    return CMD_OK;
}

int admin_show_audit(admin *a, int argc, char **argv)
{
    bool json = admin_take_json(a, &argc, argv);
    ck_audit_row *rows = NULL;
    size_t n = 0;
    ck_err err = {0};
    if (ck_store_list_audit(ck_cluster_store(a->c), 20, &rows, &n, &err) < 0)
        return admin_fail("%s", err.msg);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char when[32];
        ck_utc(rows[i].at, CK_UTC_ISO, when, sizeof when);
        if (json)
            json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s}", "at", when, "who", rows[i].who, "node",
                                                 rows[i].node, "action", rows[i].action));
        else {
            /* Audit text can come from the network (a user name that
             * failed to log in): no escape reaches the terminal. */
            char who[sizeof rows[i].who], node[sizeof rows[i].node];
            size_t an = strlen(rows[i].action);
            char *action = malloc(an + 1); /* never longer than its input */
            if (!action) {
                ck_audit_rows_free(rows, n);
                json_decref(arr);
                return admin_fail("out of memory");
            }
            printf("%s %-20s %-16s %s\n", when, ck_printable(rows[i].who, strlen(rows[i].who), who, sizeof who, 0),
                   ck_printable(rows[i].node, strlen(rows[i].node), node, sizeof node, 0),
                   ck_printable(rows[i].action, an, action, an + 1, 0));
            free(action);
        }
    }
    if (json) {
        char *txt = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", txt ? txt : "[]");
        free(txt);
    }
    json_decref(arr);
    ck_audit_rows_free(rows, n);
    return CMD_OK;
}

/* show phones trust: which phones hold which CTL, from the nodes' phone
 * tracking (docs/watching.md). */
int admin_show_phones_trust(admin *a, int argc, char **argv)
{
    bool json = admin_take_json(a, &argc, argv);
    if (argc)
        return admin_fail("Usage: show phones trust [--json]");
    ck_drift d;
    ck_err err = {0};
    if (ck_cluster_drift(a->c, (int64_t)time(NULL), &d, &err) < 0)
        return admin_fail("%s", err.msg);
    if (json) {
        json_t *o = drift_json(&d);
        char *txt = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", txt ? txt : "{}");
        free(txt);
        json_decref(o);
    } else
        drift_print(stdout, &d);
    ck_drift_free(&d);
    return CMD_OK;
}
