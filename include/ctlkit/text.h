/* Untrusted text on its way to a log line or a message. */
#ifndef CTLKIT_TEXT_H
#define CTLKIT_TEXT_H

#include <stddef.h>

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

#endif
