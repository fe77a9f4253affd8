/* Each phone's authentication string for a fleet (fleet.h): the users'
 * part of an enrolment by string, read from the same CSV the devices were
 * imported from, so that the fleet types what the administrator set. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "ctlkit/fileio.h"
#include "ctlkit/text.h"
#include "fleet.h"

#define MAX_FIELDS 16

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
    /* The import's other columns are no business of the fleet's. */
    static const char *const columns[] = {"name", "string"};
    int col[2] = {-1, -1}, rc = 0, n;
    bool header = false;
    ck_csv r;
    ck_csv_init(&r, text);
    char *f[MAX_FIELDS];
    while (rc == 0 && (n = ck_csv_next(&r, f, MAX_FIELDS)) != 0) {
        if (n < 0) {
            rc = ck_fail(err, CK_EFORMAT, "%s: line %zu: more than %d fields", file, r.lineno, MAX_FIELDS);
        } else if (!header) {
            header = true;
            ck_csv_columns(f, n, columns, 2, col, NULL);
            if (col[0] < 0 || col[1] < 0)
                rc = ck_fail(err, CK_EFORMAT, "%s: the header must name the columns name and string", file);
        } else if (n <= col[0] || n <= col[1]) {
            rc = ck_fail(err, CK_EFORMAT, "%s: line %zu: %d fields, fewer than the header's", file, r.lineno, n);
        } else if (!*f[col[1]]) {
            continue; /* null string or no operation: nothing to type */
        } else if (strlen(f[col[0]]) != 15 || strlen(f[col[1]]) > 16 ||
                   strspn(f[col[1]], "0123456789") != strlen(f[col[1]])) {
            rc = ck_fail(err, CK_EFORMAT, "%s: line %zu: a name SEP + 12 hex digits and a string of digits, please",
                         file, r.lineno);
        } else {
            rc = add(a, &cap, f[col[0]], f[col[1]], err);
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
