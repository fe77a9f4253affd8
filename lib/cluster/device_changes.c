/* Device-only changes for the daemons. A CAPF session's update changes one
 * device row; without a record of that, every node's daemon that sees the
 * change counter move rebuilds and checks every device's files (CPU per
 * enrolment growing with the number of devices, docs/benchmarks.md
 * "CAPF"). The record is a processconfig row (CK_DEVICE_CHANGES_PARAM,
 * no schema change): "FIRST LAST NAME:AT...", where every commit that
 * moved the change counter from FIRST to LAST changed only the named
 * devices' rows (and this row), and AT is the counter after the last
 * commit that changed that device (entries in the order of AT). A daemon
 * that has seen the counter at SEEN (FIRST <= SEEN < LAST) needs only the
 * devices with AT > SEEN. An operation of another kind leaves the row
 * alone and so moves the counter past LAST: the record then no longer
 * matches and the daemons do the full pass, as before.
 *
 * The record keeps the latest CK_DEVICE_CHANGES_MAX devices: a new one
 * beyond that drops the oldest entry and moves FIRST up to its AT. That
 * keeps the rule: every commit after that AT ended later, so its device's
 * own AT is later and that device is still listed. (Before, a run that
 * reached the limit was dropped whole, and every daemon did a full pass
 * over every device once every 64 enrolments.) A name without ":AT" (a
 * row written by an older version) counts as changed at LAST. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/device.h"
#include "internal.h"

typedef struct record {
    int64_t first, last;
    ck_device_changes d;
    int64_t at[CK_DEVICE_CHANGES_MAX]; /* ascending */
} record;

/* The longest value: two counters and the names with theirs, each with a
 * space. */
#define RECORD_MAX (2 * 24 + CK_DEVICE_CHANGES_MAX * (16 + 1 + 21) + 1)

static bool record_read(ck_cluster *c, record *out)
{
    char v[RECORD_MAX + 2];
    memset(out, 0, sizeof *out);
    /* A value as long as the buffer may have been cut short (the store
     * copies what fits): it would leave devices out. */
    if (ck_store_get_param(c->store, CK_DEVICE_CHANGES_PARAM, v, sizeof v, NULL) != 0 || strlen(v) > RECORD_MAX)
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
        int64_t at = out->last;
        char *colon = strchr(name, ':');
        if (colon) {
            *colon = '\0';
            at = strtoll(colon + 1, &end, 10);
            if (end == colon + 1 || *end || at <= out->first || at > out->last ||
                (out->d.n && at < out->at[out->d.n - 1]))
                return false;
        }
        if (out->d.n == CK_DEVICE_CHANGES_MAX || ck_device_check_name(name, NULL) < 0)
            return false;
        out->at[out->d.n] = at;
        snprintf(out->d.names[out->d.n++], sizeof out->d.names[0], "%s", name);
    }
    return out->d.n > 0;
}

static int record_write(ck_cluster *c, const record *r, ck_err *err)
{
    char v[RECORD_MAX + 1];
    int len = snprintf(v, sizeof v, "%" PRId64 " %" PRId64, r->first, r->last);
    for (size_t i = 0; i < r->d.n; i++)
        len += snprintf(v + len, sizeof v - (size_t)len, " %s:%" PRId64, r->d.names[i], r->at[i]);
    return ck_store_set_param(c->store, CK_DEVICE_CHANGES_PARAM, v, err);
}

/* FIRST is read inside the operation's transaction, where no other commit
 * can come between it and the operation's own writes (the store locks the
 * counter row on PostgreSQL, BEGIN IMMEDIATE on SQLite). */
void ck__op_device(ck_cluster *c, const char *name)
{
    snprintf(c->op_device, sizeof c->op_device, "%s", name);
    c->op_counter = ck_store_change_counter(c->store);
    /* Test hook (tests/scenarios/hosts_pg_device_run.test): stopped here,
     * the operation has read FIRST and written nothing yet. */
    ck_test_stop_point("device-op-begun");
}

/* Takes entry i out of the record, keeping the others in order. */
static void record_drop(record *r, size_t i)
{
    memmove(&r->d.names[i], &r->d.names[i + 1], (r->d.n - i - 1) * sizeof r->d.names[0]);
    memmove(&r->at[i], &r->at[i + 1], (r->d.n - i - 1) * sizeof r->at[0]);
    r->d.n--;
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
    for (size_t i = 0; i < r.d.n; i++)
        if (strcmp(r.d.names[i], c->op_device) == 0) {
            record_drop(&r, i); /* listed again below, as the latest */
            break;
        }
    if (r.d.n == CK_DEVICE_CHANGES_MAX) {
        /* The oldest goes; what it covered is before the new FIRST. */
        r.first = r.at[0];
        record_drop(&r, 0);
    }
    size_t me = r.d.n++;
    snprintf(r.d.names[me], sizeof r.d.names[0], "%s", c->op_device);
    /* LAST (and this device's AT) is the counter after this row's own
     * write, which moves it by what the backend's triggers count for one
     * write (SQLite 1 a row, PostgreSQL 1 a statement and event): measured
     * by a first write. */
    r.at[me] = r.last;
    int64_t before = ck_store_change_counter(c->store);
    if (record_write(c, &r, err) < 0)
        return -1;
    int64_t after = ck_store_change_counter(c->store);
    if (before < 0 || after < 0 || r.first < 0) {
        /* What the row says now matches no counter: full passes. */
        r.first = r.last = -1;
        r.d.n = 0;
        return record_write(c, &r, err);
    }
    r.last = r.at[me] = after + (after - before);
    return record_write(c, &r, err);
}

bool ck_cluster_device_changes_since(ck_cluster *c, int64_t seen, int64_t now, ck_device_changes *out)
{
    record r;
    memset(out, 0, sizeof *out);
    if (seen < 0 || now <= seen) {
        snprintf(out->why, sizeof out->why, "nothing seen yet or no change (seen %" PRId64 ", counter %" PRId64 ")",
                 seen, now);
        return false;
    }
    if (!record_read(c, &r)) {
        snprintf(out->why, sizeof out->why, "no device-change record (or one that does not parse)");
        return false;
    }
    if (r.first < 0 || seen < r.first || r.last != now) {
        snprintf(out->why, sizeof out->why,
                 "the record covers %" PRId64 "..%" PRId64 " (%zu devices), seen %" PRId64 ", counter %" PRId64,
                 r.first, r.last, r.d.n, seen, now);
        return false;
    }
    /* The row may have changed since now was read: a counter still at now
     * says it did not. */
    int64_t again = ck_store_change_counter(c->store);
    if (again != now) {
        snprintf(out->why, sizeof out->why, "the counter moved from %" PRId64 " to %" PRId64 " while reading the record",
                 now, again);
        return false;
    }
    /* Only what changed after seen (the list is in the order of AT). */
    out->upto = now;
    for (size_t i = 0; i < r.d.n; i++)
        if (r.at[i] > seen) {
            out->at[out->n] = r.at[i];
            memcpy(out->names[out->n++], r.d.names[i], sizeof out->names[0]);
        }
    return true;
}
