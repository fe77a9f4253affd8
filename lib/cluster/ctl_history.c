/* Phones per CTL over time (ck_ctl_history_build in drift.h), derived from
 * the phone rows: the store keeps each phone's last download, not a log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlkit/drift.h"

typedef struct held {
    const char *md5;
    int64_t at;
} held;

typedef struct group {
    const char *md5;
    size_t first, n; /* a run of the sorted held[] */
} group;

static int by_md5_then_time(const void *a, const void *b)
{
    const held *x = a, *y = b;
    int c = strcmp(x->md5, y->md5);
    return c ? c : (x->at > y->at) - (x->at < y->at);
}

static int by_size(const void *a, const void *b)
{
    const group *x = a, *y = b;
    if (x->n != y->n)
        return x->n > y->n ? -1 : 1;
    return strcmp(x->md5, y->md5);
}

/* Adds the downloads of g to s: a phone counts from the first point at
 * or after its download. */
static void add_group(ck_ctl_series *s, const held *h, const group *g, const int64_t *times)
{
    size_t delta[CK_HISTORY_POINTS] = {0};
    for (size_t k = g->first; k < g->first + g->n; k++) {
        size_t i = 0;
        while (i < CK_HISTORY_POINTS - 1 && times[i] < h[k].at)
            i++;
        delta[i]++;
    }
    size_t sum = 0;
    for (size_t i = 0; i < CK_HISTORY_POINTS; i++) {
        sum += delta[i];
        s->phones[i] += sum;
    }
}

int ck_ctl_history_build(const ck_phone_row *rows, size_t n, const char *ctl_md5, int64_t now, ck_ctl_history *out,
                         ck_err *err)
{
    memset(out, 0, sizeof *out);
    held *h = calloc(n ? n : 1, sizeof *h);
    group *g = calloc(n ? n : 1, sizeof *g);
    if (!h || !g) {
        free(h);
        free(g);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    size_t nh = 0, ng = 0;
    int64_t first = now, last = now;
    for (size_t i = 0; i < n; i++) {
        if (!rows[i].ctl_md5[0])
            continue;
        h[nh++] = (held){rows[i].ctl_md5, rows[i].ctl_at};
        if (rows[i].ctl_at < first)
            first = rows[i].ctl_at;
        if (rows[i].ctl_at > last)
            last = rows[i].ctl_at;
    }
    if (last <= first)
        first = last - 1;
    for (size_t i = 0; i < CK_HISTORY_POINTS; i++)
        out->times[i] = first + (int64_t)((double)(last - first) * (double)i / (CK_HISTORY_POINTS - 1));
    out->times[CK_HISTORY_POINTS - 1] = last;
    if (nh)
        qsort(h, nh, sizeof *h, by_md5_then_time);
    for (size_t i = 0; i < nh; i++) {
        if (ng && strcmp(g[ng - 1].md5, h[i].md5) == 0)
            g[ng - 1].n++;
        else
            g[ng++] = (group){h[i].md5, i, 1};
    }
    if (ng)
        qsort(g, ng, sizeof *g, by_size);
    /* The current CTL gets the first series whatever its size. */
    for (size_t i = 0; ctl_md5 && *ctl_md5 && i < ng; i++)
        if (strcmp(g[i].md5, ctl_md5) == 0) {
            group cur = g[i];
            memmove(&g[1], &g[0], i * sizeof *g);
            g[0] = cur;
            break;
        }
    for (size_t i = 0; i < ng; i++) {
        bool own = i < CK_HISTORY_MAX_SERIES - 1 || ng == CK_HISTORY_MAX_SERIES;
        ck_ctl_series *s = &out->series[own ? i : CK_HISTORY_MAX_SERIES - 1];
        if (own) {
            snprintf(s->md5, sizeof s->md5, "%s", g[i].md5);
            s->current = ctl_md5 && strcmp(g[i].md5, ctl_md5) == 0;
        }
        add_group(s, h, &g[i], out->times);
    }
    out->n_series = ng < CK_HISTORY_MAX_SERIES ? ng : CK_HISTORY_MAX_SERIES;
    free(h);
    free(g);
    return 0;
}
