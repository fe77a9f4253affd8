/* Reading the device CSV (include/ctlkit/text.h): `ctlkit device import`
 * and `ctlkit-phone fleet --auth-strings` read the same file, so one
 * reader decides what a line, a field and a header are. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "ctlkit/text.h"

void ck_csv_init(ck_csv *r, char *text)
{
    r->next = text;
    r->lineno = 0;
}

/* Splits a line at commas in place, trimming blanks; the field count, or
 * -1 past max. */
static int split(char *line, char **f, int max)
{
    int n = 0;
    for (char *p = line;;) {
        if (n == max)
            return -1;
        char *end = p + strcspn(p, ",");
        bool last = *end == 0;
        *end = 0;
        while (isspace((unsigned char)*p))
            p++;
        for (char *e = p + strlen(p); e > p && isspace((unsigned char)e[-1]);)
            *--e = 0;
        f[n++] = p;
        if (last)
            return n;
        p = end + 1;
    }
}

int ck_csv_next(ck_csv *r, char **f, int max)
{
    while (r->next) {
        char *line = r->next;
        r->lineno++;
        if ((r->next = strchr(line, '\n')))
            *r->next++ = 0;
        line[strcspn(line, "\r")] = 0;
        if (line[strspn(line, " \t")] == 0 || line[0] == '#')
            continue;
        return split(line, f, max);
    }
    return 0;
}

int ck_csv_columns(char *const *f, int n, const char *const *names, int nnames, int *map, bool *repeated)
{
    int bad = -1;
    for (int k = 0; k < nnames; k++)
        map[k] = -1;
    for (int i = 0; i < n; i++) {
        int k = 0;
        while (k < nnames && strcasecmp(names[k], f[i]) != 0)
            k++;
        if (bad < 0 && (k == nnames || map[k] >= 0)) {
            bad = i;
            if (repeated)
                *repeated = k < nnames;
        }
        if (k < nnames)
            map[k] = i;
    }
    return bad;
}
