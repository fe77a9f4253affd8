/* Times as ctlkit writes them (include/ctlkit/text.h): always UTC, in one
 * of four shapes, so that `cluster status`, `show audit`, the JSON, the
 * web pages and the logs of refusals agree on a moment. */
#include <stdio.h>
#include <time.h>

#include "ctlkit/text.h"

/* strftime with each shape's format as a literal, so that the compiler
 * checks them; 0 for an unknown style. */
static size_t format(char *out, size_t outsz, ck_utc_style style, const struct tm *tm)
{
    switch (style) {
    case CK_UTC_DAY: return strftime(out, outsz, "%Y-%m-%d", tm);
    case CK_UTC_SECONDS: return strftime(out, outsz, "%Y-%m-%d %H:%M:%S", tm);
    case CK_UTC_ISO: return strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", tm);
    case CK_UTC_MINUTES: return strftime(out, outsz, "%Y-%m-%d %H:%M UTC", tm);
    }
    return 0;
}

const char *ck_utc(int64_t t, ck_utc_style style, char *out, size_t outsz)
{
    if (!out || !outsz)
        return out;
    time_t tt = (time_t)t;
    struct tm tm;
    /* A time gmtime cannot represent (a corrupt row; past 2038 with a
     * 32-bit time_t) prints as "?" rather than garbage. */
    if ((int64_t)tt != t || !gmtime_r(&tt, &tm) || !format(out, outsz, style, &tm))
        snprintf(out, outsz, "?");
    return out;
}
