/* Splitting a command line into words (include/ctlkit/text.h): the admin:
 * shell and the rehearsal read the same commands, so they split them the
 * same way. */
#include <string.h>

#include "ctlkit/text.h"

int ck_split_words(char *line, char **argv, int max)
{
    int n = 0;
    char *p = line;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            break;
        if (n == max)
            return -2;
        if (*p == '"') {
            argv[n++] = ++p;
            char *q = strchr(p, '"');
            if (!q)
                return -1;
            *q = '\0';
            p = q + 1;
        } else {
            argv[n++] = p;
            while (*p && *p != ' ' && *p != '\t')
                p++;
            if (*p)
                *p++ = '\0';
        }
    }
    return n;
}
