/* Each phone's authentication string for a fleet (fleet.h): the users'
 * part of an enrolment by string, read from the same CSV the devices were
 * imported from, so that the fleet types what the administrator set. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "ctlkit/fileio.h"
#include "fleet.h"

#define MAX_FIELDS 16

/* Splits a line at commas in place, trimming blanks (no quoting, as the
 * import: no value holds a comma); the field count, or -1 past max. */
static int fields(char *line, char **f, int max)
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

static int by_name(const void *a, const void *b)
{
    return strcasecmp(((const struct ph_auth_entry *)a)->name, ((const struct ph_auth_entry *)b)->name);
}

static int add(ph_auth_strings *a, size_t *cap, const char *name, const char *string, ck_err *err)
{
    if (a->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        struct ph_auth_entry *e = realloc(a->e, ncap * sizeof *e);
        if (!e)
            return ck_fail(err, CK_ENOMEM, "out of memory");
        a->e = e;
        *cap = ncap;
    }
    snprintf(a->e[a->n].name, sizeof a->e[a->n].name, "%s", name);
    snprintf(a->e[a->n].string, sizeof a->e[a->n].string, "%s", string);
    a->n++;
    return 0;
}

int ph_auth_strings_load(const char *file, ph_auth_strings *a, ck_err *err)
{
    memset(a, 0, sizeof *a);
    uint8_t *data = NULL;
    size_t len = 0, cap = 0;
    if (ck_read_file(file, 64u << 20, &data, &len, err) < 0)
        return -1;
    char *text = realloc(data, len + 1);
    if (!text) {
        free(data);
        return ck_fail(err, CK_ENOMEM, "out of memory");
    }
    text[len] = 0;
    int col_name = -1, col_string = -1, rc = 0;
    size_t lineno = 0;
    char *next = NULL;
    for (char *line = text; rc == 0 && line; line = next) {
        lineno++;
        if ((next = strchr(line, '\n')))
            *next++ = 0;
        line[strcspn(line, "\r")] = 0;
        if (line[strspn(line, " \t")] == 0 || line[0] == '#')
            continue;
        char *f[MAX_FIELDS];
        int n = fields(line, f, MAX_FIELDS);
        if (n < 0) {
            rc = ck_fail(err, CK_EFORMAT, "%s: line %zu: more than %d fields", file, lineno, MAX_FIELDS);
        } else if (col_name < 0) {
            for (int i = 0; i < n; i++) {
                if (strcasecmp(f[i], "name") == 0)
                    col_name = i;
                else if (strcasecmp(f[i], "string") == 0)
                    col_string = i;
            }
            if (col_name < 0 || col_string < 0)
                rc = ck_fail(err, CK_EFORMAT, "%s: the header must name the columns name and string", file);
        } else if (n <= col_name || n <= col_string) {
            rc = ck_fail(err, CK_EFORMAT, "%s: line %zu: %d fields, fewer than the header's", file, lineno, n);
        } else if (!*f[col_string]) {
            continue; /* null string or no operation: nothing to type */
        } else if (strlen(f[col_name]) != 15 || strlen(f[col_string]) > 16 ||
                   strspn(f[col_string], "0123456789") != strlen(f[col_string])) {
            rc = ck_fail(err, CK_EFORMAT, "%s: line %zu: a name SEP + 12 hex digits and a string of digits, please",
                         file, lineno);
        } else {
            rc = add(a, &cap, f[col_name], f[col_string], err);
        }
    }
    free(text);
    if (rc < 0) {
        ph_auth_strings_free(a);
        return -1;
    }
    if (a->n)
        qsort(a->e, a->n, sizeof *a->e, by_name);
    return 0;
}

const char *ph_auth_strings_find(const ph_auth_strings *a, const char *name)
{
    struct ph_auth_entry key;
    snprintf(key.name, sizeof key.name, "%s", name);
    const struct ph_auth_entry *e = a->n ? bsearch(&key, a->e, a->n, sizeof *a->e, by_name) : NULL;
    return e ? e->string : NULL;
}

void ph_auth_strings_free(ph_auth_strings *a)
{
    if (a->e)
        OPENSSL_cleanse(a->e, a->n * sizeof *a->e);
    free(a->e);
    memset(a, 0, sizeof *a);
}
