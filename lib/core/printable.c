#include "ctlkit/text.h"

#include <stdint.h>
#include <string.h>

/* One character of output for the input at p (rem bytes left); *used says
 * how many input bytes it stands for. */
static char shown_char(const uint8_t *p, size_t rem, unsigned flags, size_t *used)
{
    *used = 1;
    if (p[0] >= 0x20 && p[0] < 0x7f)
        return (char)p[0];
    if (p[0] < 0x20 || p[0] == 0x7f || (flags & CK_PRINTABLE_ASCII))
        return '?';
    if (p[0] == 0xC2 && rem > 1 && p[1] >= 0x80 && p[1] <= 0x9F) {
        *used = 2; /* a C1 control spelt in UTF-8 */
        return '?';
    }
    return (char)p[0];
}

const char *ck_printable(const void *in, size_t n, char *out, size_t outsz, unsigned flags)
{
    if (outsz == 0)
        return out;
    const uint8_t *p = in;
    size_t cap = outsz - 1, o = 0, i = 0;
    while (i < n && o < cap) {
        size_t used;
        out[o++] = shown_char(p + i, n - i, flags, &used);
        i += used;
    }
    if (i < n && cap >= 3) {
        /* Cut short: say so in the last three places. */
        memcpy(out + cap - 3, "...", 3);
        o = cap;
    }
    out[o] = '\0';
    return out;
}
