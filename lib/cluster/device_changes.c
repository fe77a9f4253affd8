/* Device-only changes for the daemons. A CAPF session's update changes one
 * device row; without a record of that, every node's daemon that sees the
 * change counter move rebuilds and checks every device's files (CPU per
 * enrolment growing with the number of devices, docs/benchmarks.md
 * "CAPF"). The record is a processconfig row (CK_DEVICE_CHANGES_PARAM,
 * no schema change): "FIRST LAST NAME...", where every commit that moved
 * the change counter from FIRST to LAST changed only the named devices'
 * rows (and this row). An operation of another kind leaves the row alone
 * and so moves the counter past LAST: the record then no longer matches
 * and the daemons do the full pass, as before. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/device.h"
#include "internal.h"

typedef struct record {
    int64_t first, last;
    ck_device_changes d;
} record;

/* The longest value: two counters and the names, each with a space. */
#define RECORD_MAX (2 * 24 + CK_DEVICE_CHANGES_MAX * 16 + 1)

static bool record_read(ck_cluster *c, record *out)
{
    char v[RECORD_MAX + 1];
    memset(out, 0, sizeof *out);
    if (ck_store_get_param(c->store, CK_DEVICE_CHANGES_PARAM, v, sizeof v, NULL) != 0)
        return false;
    char *save = NULL, *tok[2];
    tok[0] = strtok_r(v, " ", &save);
    tok[1] = tok[0] ? strtok_r(NULL, " ", &save) : NULL;
    if (!tok[1])
        return false;
    char *end;
    out->first = strtoll(tok[0], &end, 10);
    if (*end)
        return false;
    out->last = strtoll(tok[1], &end, 10);
    if (*end || out->last < out->first)
        return false;
    for (char *name; (name = strtok_r(NULL, " ", &save)) != NULL;) {
        if (out->d.n == CK_DEVICE_CHANGES_MAX || ck_device_check_name(name, NULL) < 0)
            return false;
        snprintf(out->d.names[out->d.n++], sizeof out->d.names[0], "%s", name);
    }
    return out->d.n > 0;
}

static int record_write(ck_cluster *c, const record *r, ck_err *err)
{
    char v[RECORD_MAX + 1];
    int len = snprintf(v, sizeof v, "%" PRId64 " %" PRId64, r->first, r->last);
    for (size_t i = 0; i < r->d.n; i++)
        len += snprintf(v + len, sizeof v - (size_t)len, " %s", r->d.names[i]);
    return ck_store_set_param(c->store, CK_DEVICE_CHANGES_PARAM, v, err);
}

void ck__op_device(ck_cluster *c, const char *name)
{
    snprintf(c->op_device, sizeof c->op_device, "%s", name);
    c->op_counter = ck_store_change_counter(c->store);
}

int ck__device_change_record(ck_cluster *c, ck_err *err)
{
    record r;
    /* The run goes on when nothing else was committed since its last
     * change; otherwise this change starts a new one. */
    bool extend = c->op_counter >= 0 && record_read(c, &r) && r.last == c->op_counter;
    if (!extend) {
        memset(&r, 0, sizeof r);
        r.first = c->op_counter;
    }
    bool listed = false;
    for (size_t i = 0; i < r.d.n && !listed; i++)
        listed = strcmp(r.d.names[i], c->op_device) == 0;
    if (!listed && r.d.n == CK_DEVICE_CHANGES_MAX)
        r.first = r.last = -1; /* too long a run: the daemons do a full pass */
    else if (!listed)
        snprintf(r.d.names[r.d.n++], sizeof r.d.names[0], "%s", c->op_device);
    /* LAST is the counter after this row's own write, which moves it by
     * what the backend's triggers count for one write (SQLite 1 a row,
     * PostgreSQL 1 a statement and event): measured by a first write. */
    int64_t before = ck_store_change_counter(c->store);
    if (record_write(c, &r, err) < 0)
        return -1;
    int64_t after = ck_store_change_counter(c->store);
    if (before < 0 || after < 0 || r.first < 0)
        return 0; /* what the row says now matches no counter: full passes */
    r.last = after + (after - before);
    return record_write(c, &r, err);
}

bool ck_cluster_device_changes_since(ck_cluster *c, int64_t seen, int64_t now, ck_device_changes *out)
{
    record r;
    memset(out, 0, sizeof *out);
    if (seen < 0 || now <= seen || !record_read(c, &r) || r.first < 0 || seen < r.first || r.last != now)
        return false;
    /* The row may have changed since now was read: a counter still at now
     * says it did not. */
    if (ck_store_change_counter(c->store) != now)
        return false;
    *out = r.d;
    return true;
}
