/* Untrusted text on its way to a log line or a message. */
#ifndef CTLKIT_TEXT_H
#define CTLKIT_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    /* Every byte outside printable ASCII becomes '?' (for JSON strings, TFTP
     * error packets and terminals that must not see foreign bytes). Without
     * it, other bytes (UTF-8 letters) pass. */
    CK_PRINTABLE_ASCII = 1u << 0,
};

/* Copies n bytes of untrusted text (a file name from a packet, a subject
 * from a client's certificate; NULs included) into out, so that it cannot
 * forge or garble a log line: C0 controls, DEL and the C1 controls in UTF-8
 * (C2 80..C2 9F, which some terminals obey as escapes) each become one '?'.
 * At most outsz - 1 characters are written and out is always terminated;
 * text that does not fit ends in "...". Returns out. */
const char *ck_printable(const void *in, size_t n, char *out, size_t outsz, unsigned flags);

/* Splits a command line into words, in place: blanks separate words and
 * "double quotes" group them (CUCM's service names have spaces). Returns
 * the count, -1 on an open quote, -2 when there are more than max words. */
int ck_split_words(char *line, char **argv, int max);

/* Comma-separated text as the device CSV has it (`ctlkit device import`,
 * and `ctlkit-phone fleet --auth-strings` reading the same file): a header
 * line naming the columns, then one row per line; fields split at commas
 * (no quoting: no value holds a comma) and trimmed of blanks; blank lines
 * and lines starting with '#' skipped; a CR before the LF ignored. One
 * reader, so that both read a file the same way (lib/core/csv.c). */
typedef struct ck_csv {
    char *next;    /* the text not read yet; NULL at the end */
    size_t lineno; /* the line (from 1) ck_csv_next returned last */
} ck_csv;

/* Reads text (NUL-terminated; split in place, so it must outlive the
 * fields) from its first line. */
void ck_csv_init(ck_csv *r, char *text);
/* The next line that holds something, split into f (at most max fields):
 * the field count, 0 at the end of the text, or -1 when the line has more
 * than max fields (f then holds the first max). */
int ck_csv_next(ck_csv *r, char **f, int max);
/* A header line's n fields as columns: map[k] is the field naming names[k]
 * (case-insensitive; a column named twice counts at its last place), -1
 * when none does. Returns the first field that names no column of names or
 * one named before (*repeated says which; may be NULL), or -1 when every
 * field names a column once. */
int ck_csv_columns(char *const *f, int n, const char *const *names, int nnames, int *map, bool *repeated);

/* A moment (seconds since 1970) in UTC, the shapes ctlkit prints:
 * CK_UTC_DAY "2026-12-03", CK_UTC_SECONDS "2026-12-03 08:02:12", CK_UTC_ISO
 * "2026-12-03T08:02:12Z" (JSON), CK_UTC_MINUTES "2026-12-03 08:02 UTC".
 * Writes "?" for a time that cannot be shown; returns out. */
typedef enum ck_utc_style { CK_UTC_DAY, CK_UTC_SECONDS, CK_UTC_ISO, CK_UTC_MINUTES } ck_utc_style;
const char *ck_utc(int64_t t, ck_utc_style style, char *out, size_t outsz);

#endif
