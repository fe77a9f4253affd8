/* `ctlkit device import`: devices from a CSV file, all or none, each row
 * through the same rules and steps as `device add` and `device capf`
 * (devices.c); the file is read by the one CSV reader (ctlkit/text.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ctlkit/device.h"
#include "ctlkit/text.h"
#include "internal.h"

enum { COL_NAME, COL_MODEL, COL_PROFILE, COL_ENCR, COL_OP, COL_AUTH, COL_STRING, COL_KEY, COL_BY, N_COLS };
static const char *const columns[N_COLS] = {"name",   "model", "profile", "encrypted-config", "operation",
                                            "auth",   "string", "key",    "completes-by"};

static int parse_bool(const char *v, bool *out)
{
    if (!*v || strcasecmp(v, "false") == 0 || strcasecmp(v, "no") == 0 || strcmp(v, "0") == 0)
        *out = false;
    else if (strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0 || strcmp(v, "1") == 0)
        *out = true;
    else
        return -1;
    return 0;
}

static int import_row(ck_cluster *c, char **f, const int *map, int days, ck_err *err)
{
    const char *v[N_COLS] = {0};
    for (int k = 0; k < N_COLS; k++)
        v[k] = map[k] >= 0 && *f[map[k]] ? f[map[k]] : NULL;
    ck_device_add a = {.name = v[COL_NAME] ? v[COL_NAME] : "", .model = v[COL_MODEL] ? v[COL_MODEL] : "",
                       .profile = v[COL_PROFILE]};
    if (v[COL_ENCR] && parse_bool(v[COL_ENCR], &a.encrypted_config) < 0)
        return ck_fail(err, CK_EINVAL, "encrypted-config must be true or false");
    ck_device_capf cp = {.operation = v[COL_OP], .auth = v[COL_AUTH], .auth_string = v[COL_STRING],
                         .key = v[COL_KEY], .completes_by = v[COL_BY]};
    ck_device_row d;
    int rc = ck_device_row_make(&a, &d, err) == 0 &&
                     ck_device_row_apply_capf(&d, &cp, days, (int64_t)time(NULL), err) == 0 &&
                     ck__device_add_locked(c, &d, err) == 0
                 ? 0
                 : -1;
    ck_device_row_clear(&d);
    return rc;
}

/* The header line: which field holds which column. */
static void read_header(char **f, int n, int *map, ck_err *err)
{
    bool repeated = false;
    int bad = ck_csv_columns(f, n < 0 ? 0 : n, columns, N_COLS, map, &repeated);
    if (bad >= 0)
        ck_fail(err, CK_EINVAL, "%s column '%.40s' (the header names name, model, profile, "
                                "encrypted-config, operation, auth, string, key, completes-by once each)",
                repeated ? "repeated" : "unknown", f[bad]);
    else if (n < 0)
        ck_fail(err, CK_EINVAL, "more than %d columns", N_COLS);
    else if (map[COL_NAME] < 0 || map[COL_MODEL] < 0)
        ck_fail(err, CK_EINVAL, "the header must name the columns name and model");
}

int ck_cluster_device_import_csv(ck_cluster *c, const char *csv, size_t len, size_t *added, ck_err *err)
{
    *added = 0;
    char *text = malloc(len + 1);
    if (!text)
        return ck_fail(err, CK_ENOMEM, "out of memory");
    memcpy(text, csv, len);
    text[len] = 0;
    if (strlen(text) != len) {
        free(text);
        return ck_fail(err, CK_EINVAL, "the CSV file holds a NUL byte");
    }
    if (ck__op_begin(c, err) < 0) {
        free(text);
        return -1;
    }
    int days = ck__device_expires_days(c);
    int map[N_COLS];
    bool header = false, ok = true;
    ck_csv r;
    ck_csv_init(&r, text);
    char *f[N_COLS];
    for (int n; ok && (n = ck_csv_next(&r, f, N_COLS)) != 0;) {
        ck_err e2 = {0};
        if (!header) {
            read_header(f, n, map, &e2);
            header = true;
        } else if (n < 0)
            ck_fail(&e2, CK_EINVAL, "more fields than the header's columns");
        else {
            int cols = 0;
            for (int k = 0; k < N_COLS; k++)
                cols += map[k] >= 0;
            if (n != cols)
                ck_fail(&e2, CK_EINVAL, "%d fields, the header has %d columns", n, cols);
            else if (import_row(c, f, map, days, &e2) == 0)
                (*added)++;
        }
        if (e2.code) {
            ck_fail(err, e2.code, "line %zu: %s", r.lineno, e2.msg);
            ok = false;
        }
    }
    if (ok && !header)
        ok = ck_fail(err, CK_EINVAL, "the CSV file is empty (a header line, then one phone per line)") == 0;
    ok = ok && ck__audit(c, err, "", "device import %zu device(s)", *added) == 0;
    if (!ok)
        *added = 0;
    free(text);
    return ck__device_op_finish(c, ok, err);
}
